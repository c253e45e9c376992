#!/usr/bin/python3
"""Side-by-side cost of the memory, redis and rabbitmq backends on this machine.

Backend rabbitmq-guarantee is rabbitmq with --amqp-guarantee (each node
gets a --node-id; its durable queue is deleted after the run).

For each backend: start NODES `chatbench serve` processes (memory: one node,
it cannot span nodes), run `chatbench swarm` with its clients spread over the
nodes, and read around the run:
  - server CPU per delivery: the nodes' CPU time (/proc) / their deliveries
    (chatbench_deliveries_total),
  - broker CPU: redis-server's or RabbitMQ's (beam.smp) CPU time, as a share
    of one core,
  - latency p50/p99 from the due time (swarm),
  - the broker's message rate: publishes in (chatbench_messages_received_total)
    and messages out to nodes (chatbench_remote_messages_total), per second.
Load goes to loopback only; every run is bounded by swarm's --duration.

Usage: scripts/bench-backends.py [--clients 2000] [--senders 100] [--rate 1/s]
       [--room-size 0] [--nodes 2] [--duration 10s]
       [--backends memory,redis,rabbitmq[,rabbitmq-guarantee]]
--room-size 0 puts every client in one room; N spreads them over rooms of N.
Needs Redis and RabbitMQ running (scripts/services.sh start).
"""
import argparse, json, os, re, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin", "chatbench")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def metric(addr, name):
    body = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
    m = re.search(rf"^{name} (\S+)$", body, re.M)
    return float(m.group(1)) if m else 0.0


def metric_sum(addr, name):
    """Sum of every series of name, whatever its labels (0 when absent)."""
    body = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.M))


def broker_pid(backend):
    if backend == "redis":
        out = subprocess.run(["pgrep", "-f", "redis-server 127.0.0.1:6379"], capture_output=True, text=True).stdout.split()
    elif backend.startswith("rabbitmq"):
        # The shared node (the one on 5672) says its own OS pid: tests start
        # other beam.smp processes of the same user on other ports.
        out = subprocess.run(["rabbitmqctl", "-q", "eval", "os:getpid()."], capture_output=True, text=True).stdout.strip().strip('"').split()
    else:
        return None
    if not out:
        sys.exit(f"bench-backends: no {backend} server running; start it with scripts/services.sh start")
    return int(out[0])


def start_node(backend, tag, i):
    args = [BIN, "serve", "--addr", "127.0.0.1:0", "--backend", backend.removesuffix("-guarantee"), "--log-level", "warn",
            "--redis-prefix", f"bench-{tag}:", "--amqp-exchange", f"bench-{tag}"]
    if backend == "rabbitmq-guarantee":
        args += ["--amqp-guarantee", "--node-id", f"n{i}"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"http://(\S+)", line)
    if not m:
        p.kill()
        sys.exit(f"bench-backends: {backend} node did not start: {line!r}")
    return p, m.group(1)


def run(backend, a):
    tag = f"{os.getpid()}-{backend}"
    nodes = [start_node(backend, tag, i) for i in range(1 if backend == "memory" else a.nodes)]
    bpid = broker_pid(backend)
    try:
        out = tempfile.mktemp(suffix=".json")
        cmd = [BIN, "swarm", "-n", str(a.clients), "--senders", str(a.senders), "--rate", a.rate,
               "--size", "100", "--warmup", "2s", "--duration", a.duration, "--metrics-url", "none",
               "--settle", "0", "--out", out, "--room-size", str(a.room_size)]
        room = "{{room}}" if a.room_size else "bench"
        for _, addr in nodes:
            cmd += ["--url", f"ws://{addr}/ws?room={room}&user={{{{user}}}}"]
        cpu0 = sum(cpu_seconds(p.pid) for p, _ in nodes)
        b0 = cpu_seconds(bpid) if bpid else 0
        d0 = sum(metric(addr, "chatbench_deliveries_total") for _, addr in nodes)
        pub0 = sum(metric(addr, "chatbench_messages_received_total") for _, addr in nodes)
        rem0 = sum(metric(addr, "chatbench_remote_messages_total") for _, addr in nodes)
        rc0 = sum(metric_sum(addr, "chatbench_backend_reconnects_total") for _, addr in nodes)
        dr0 = sum(metric_sum(addr, "chatbench_backend_dropped_total") for _, addr in nodes)
        t0 = time.time()
        swarm = subprocess.run(cmd, capture_output=True, text=True)
        el = time.time() - t0
        cpu1 = sum(cpu_seconds(p.pid) for p, _ in nodes)
        b1 = cpu_seconds(bpid) if bpid else 0
        d1 = sum(metric(addr, "chatbench_deliveries_total") for _, addr in nodes)
        pub1 = sum(metric(addr, "chatbench_messages_received_total") for _, addr in nodes)
        rem1 = sum(metric(addr, "chatbench_remote_messages_total") for _, addr in nodes)
        rc1 = sum(metric_sum(addr, "chatbench_backend_reconnects_total") for _, addr in nodes)
        dr1 = sum(metric_sum(addr, "chatbench_backend_dropped_total") for _, addr in nodes)
        if not os.path.exists(out):
            sys.exit(f"bench-backends: swarm against {backend} wrote no results:\n{swarm.stderr}")
        res = json.load(open(out))
        os.unlink(out)
        s = res["summary"]
        send_s = res["config"]["warmup_s"] + res["config"]["duration_s"]  # when messages flow
        return {
            "backend": backend, "nodes": len(nodes),
            "delivered": s["delivered"], "lost": s["lost"], "expected": s["expected"],
            "deliveries_per_s": s["deliveries_per_s"],
            "server_us_per_delivery": (cpu1 - cpu0) * 1e6 / max(d1 - d0, 1),
            "broker_cpu_pct": (b1 - b0) * 100 / el if bpid else None,
            "p50": s["latency_ms"]["p50"], "p99": s["latency_ms"]["p99"],
            "broker_in_per_s": (pub1 - pub0) / send_s if bpid else None,
            "broker_out_per_s": (rem1 - rem0) / send_s if bpid else None,
            "swarm_exit": swarm.returncode,
            "reconnects": rc1 - rc0 if bpid else None, "broker_dropped": dr1 - dr0 if bpid else None,
        }
    finally:
        for p, _ in nodes:
            p.terminate()
            p.wait(timeout=20)
        if backend == "rabbitmq-guarantee":  # durable queues outlive the nodes
            for i in range(len(nodes)):
                subprocess.run(["rabbitmqctl", "-q", "delete_queue", f"bench-{tag}.n{i}"], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--senders", type=int, default=100)
    ap.add_argument("--rate", default="1/s")
    ap.add_argument("--room-size", type=int, default=0)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--backends", default="memory,redis,rabbitmq")
    a = ap.parse_args()
    subprocess.run(["go", "build", "-o", BIN, "."], cwd=ROOT, check=True)
    rows = [run(b, a) for b in a.backends.split(",")]
    rooms = f"rooms of {a.room_size}" if a.room_size else "one room"
    print(f"\n{a.clients} clients in {rooms}, {a.senders} senders x {a.rate}, 100 B; "
          f"{a.nodes} nodes for redis/rabbitmq; one machine (2 cores) for nodes, broker and swarm\n")
    hdr = ["backend", "nodes", "deliveries/s", "lost", "server µs/delivery", "broker CPU", "p50 ms", "p99 ms", "broker msgs/s: published → to other nodes", "reconnects", "dropped between nodes"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        broker = f"{r['broker_cpu_pct']:.0f}% of a core" if r["broker_cpu_pct"] is not None else "-"
        rate = f"{r['broker_in_per_s']:.0f} → {r['broker_out_per_s']:.0f}" if r["broker_in_per_s"] is not None else "-"
        links = f"{r['reconnects']:.0f} | {r['broker_dropped']:.0f}" if r["reconnects"] is not None else "- | -"
        print(f"| {r['backend']} | {r['nodes']} | {r['deliveries_per_s']/1000:.1f}k | {r['lost']} of {r['expected']} | "
              f"{r['server_us_per_delivery']:.2f} | {broker} | {r['p50']:.1f} | {r['p99']:.1f} | {rate} | {links} |")


if __name__ == "__main__":
    main()
