#!/usr/bin/python3
"""Soak: serve + swarm for a long run with client churn; nothing may leak.

One `chatbench serve` (memory backend), one measuring `chatbench swarm`
(--clients in one room, every client sending --rate) for --duration, and
--churners loops that each run short `chatbench swarm --rate 0` processes
(--churn-clients idle sockets in the same room, held --churn-hold, then
closed) back to back: connections constantly open and close while the room is
busy. The churning sockets are receivers in the room from another swarm run
id, so the measuring swarm's accounting (expected receivers, loss) counts only
its own clients; every churn process must exit 0 (all connected, none lost).

Every --sample seconds it records the server's RSS (/proc), go_goroutines and
chatbench_connections (/metrics). At the end it prints the samples and a
verdict. PASS needs: zero loss in the measuring swarm and exit 0; no failed
churn process; RSS flat after the warm-up (mean of the last third of the
samples within --rss-margin of the first third's); goroutines in every sample
at most the fixed ones + 2 per connection (a reader, and a writer while frames
are queued) + --goroutine-slack; after the load, no connection left and the
goroutine count back to the one before the load, ±2.

Not run in CI (10 minutes by default). Load goes to loopback only, and every
process is bounded by its own --duration.

Usage: scripts/soak.py [--clients 260] [--rate 1/s] [--duration 10m]
       [--churners 2] [--churn-clients 20] [--churn-hold 1s] [--sample 10]
"""
import argparse, json, os, re, signal, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metrics(addr):
    body = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
    out = {"disc": dict(re.findall(r'^chatbench_disconnects_total\{reason="(\w+)"\} (\S+)$', body, re.M))}
    for name in ("go_goroutines", "chatbench_connections", "chatbench_connections_accepted_total",
                 "go_memstats_heap_inuse_bytes"):
        m = re.search(rf"^{name} (\S+)$", body, re.M)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def seconds(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", s)
    if not m:
        sys.exit(f"soak: bad duration {s!r} (e.g. 10m, 30s)")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="", help="chatbench binary (default: go build into a temp dir)")
    ap.add_argument("--clients", type=int, default=260)
    ap.add_argument("--rate", default="1/s")
    ap.add_argument("--duration", default="10m")
    ap.add_argument("--warmup", default="30s", help="swarm warm-up; samples before its end are not judged")
    ap.add_argument("--churners", type=int, default=2)
    ap.add_argument("--churn-clients", type=int, default=20)
    ap.add_argument("--churn-hold", default="1s")
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--rss-margin", type=float, default=0.15, help="allowed RSS change, share of the warm sample")
    ap.add_argument("--goroutine-slack", type=int, default=-1,
                    help="goroutines allowed beyond the fixed ones + 2 per connection (a reader, and a writer while frames are queued) "
                         "in any sample (default: 2 per churning socket, since a batch closing between the reads of the two "
                         "gauges is counted in one and not the other)")
    ap.add_argument("--serve-args", default="--send-queue 2048",
                    help="extra serve flags (default: a send queue of 2048 frames, about 8 s of this room's traffic, "
                         "so that a stall of a shared machine does not cut clients off as slow consumers)")
    ap.add_argument("--out", default="", help="also write the samples and verdict as JSON here")
    a = ap.parse_args()
    if a.goroutine_slack < 0:
        a.goroutine_slack = 2 * a.churners * a.churn_clients

    tmp = tempfile.mkdtemp(prefix="chatbench-soak-")
    binp = a.bin
    if not binp:
        binp = os.path.join(tmp, "chatbench")
        subprocess.run(["go", "build", "-o", binp, "."], cwd=ROOT, check=True)

    serve = subprocess.Popen([binp, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn"] + a.serve_args.split(),
                             stdout=subprocess.PIPE, text=True)
    m = re.search(r"http://(\S+)", serve.stdout.readline())
    if not m:
        serve.kill()
        sys.exit("soak: serve did not start")
    addr = m.group(1)
    url = f"ws://{addr}/ws?room=soak&user={{{{user}}}}"
    churn_url = f"ws://{addr}/ws?room=soak&user=churn{{{{client}}}}"
    dur, warm = seconds(a.duration), seconds(a.warmup)
    base0 = metrics(addr)  # before any connection: the fixed goroutines
    base0_rss = rss_kb(serve.pid)
    res_path = os.path.join(tmp, "soak.json")
    swarm = subprocess.Popen([binp, "swarm", "-n", str(a.clients), "--rate", a.rate, "--warmup", a.warmup,
                              "--duration", a.duration, "--grace", "5s", "--url", url, "--out", res_path,
                              "--progress", "never"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    stop = threading.Event()
    churn = {"runs": 0, "failed": 0, "fail_lines": []}
    lock = threading.Lock()

    def churner(k):
        time.sleep(k * seconds(a.churn_hold) / max(1, a.churners))
        while not stop.is_set():
            p = subprocess.run([binp, "swarm", "-n", str(a.churn_clients), "--rate", "0", "--duration", a.churn_hold,
                                "--settle", "0", "--metrics-url", "none", "--progress", "never", "--url", churn_url],
                               capture_output=True, text=True, timeout=60)
            with lock:
                churn["runs"] += 1
                if p.returncode != 0:
                    churn["failed"] += 1
                    if len(churn["fail_lines"]) < 5:
                        churn["fail_lines"].append((p.stdout + p.stderr).strip().splitlines()[-1:])

    threads = [threading.Thread(target=churner, args=(k,), daemon=True) for k in range(a.churners)]
    t0 = time.time()
    for t in threads:
        t.start()

    samples = []
    print(f"soak: serve {addr} pid {serve.pid}; swarm -n {a.clients} --rate {a.rate} for {a.duration}; "
          f"{a.churners} churners × {a.churn_clients} sockets held {a.churn_hold}; serve {a.serve_args}", flush=True)
    print(f"{'t (s)':>6} {'RSS MB':>8} {'heap MB':>8} {'goroutines':>10} {'conns':>6} {'accepted':>9}", flush=True)
    while swarm.poll() is None:
        time.sleep(a.sample)
        if swarm.poll() is not None:
            break
        try:
            mm = metrics(addr)
        except OSError as e:
            print(f"soak: scrape failed: {e}", flush=True)
            continue
        s = {"t": round(time.time() - t0), "rss_kb": rss_kb(serve.pid), "heap_b": mm["go_memstats_heap_inuse_bytes"],
             "goroutines": int(mm["go_goroutines"]), "conns": int(mm["chatbench_connections"]),
             "accepted": int(mm["chatbench_connections_accepted_total"])}
        samples.append(s)
        print(f"{s['t']:>6} {s['rss_kb']/1024:>8.1f} {s['heap_b']/2**20:>8.1f} {s['goroutines']:>10} {s['conns']:>6} {s['accepted']:>9}", flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=90)
    out = swarm.stdout.read()
    swarm_rc = swarm.wait()
    # After the load: every connection gone, goroutines back to the idle count.
    time.sleep(3)
    idle = metrics(addr)
    idle_rss = rss_kb(serve.pid)
    serve.send_signal(signal.SIGTERM)
    serve_rc = serve.wait(timeout=30)

    res = json.load(open(res_path)) if os.path.exists(res_path) else {}
    summ = res.get("summary", {})
    lost, expected = summ.get("lost", -1), summ.get("expected", 0)
    judged = [s for s in samples if s["t"] >= warm + 10] or samples
    base = judged[0] if judged else None
    verdict = []
    ok = True
    if base:
        third = max(1, len(judged) // 3)
        first = sum(s["rss_kb"] for s in judged[:third]) / third
        last = sum(s["rss_kb"] for s in judged[-third:]) / third
        rss_min, rss_max = min(s["rss_kb"] for s in judged), max(s["rss_kb"] for s in judged)
        drift = (last - first) / first
        verdict.append(f"RSS mean of the first third {first/1024:.1f} MB, of the last third {last/1024:.1f} MB "
                       f"({drift*100:+.1f}%; margin ±{a.rss_margin*100:.0f}%), range {rss_min/1024:.1f}-{rss_max/1024:.1f} MB")
        # Goroutines: one reader per connection, plus a writer while frames
        # are queued for it, plus the fixed ones.
        fixed = base0["go_goroutines"]
        worst = max(s["goroutines"] - fixed - 2 * s["conns"] for s in judged)
        gfirst = sum(s["goroutines"] / max(1, s["conns"]) for s in judged[:third]) / third
        glast = sum(s["goroutines"] / max(1, s["conns"]) for s in judged[-third:]) / third
        verdict.append(f"goroutines per connection, mean of the first third {gfirst:.2f}, of the last {glast:.2f} "
                       f"({glast-gfirst:+.2f}: writers come and go with the traffic); "
                       f"at most {fixed:.0f} fixed + 2 per connection + {a.goroutine_slack} (worst sample: {worst:+.0f})")
        ok &= abs(drift) <= a.rss_margin and worst <= a.goroutine_slack
    verdict.append(f"before the load: {base0['go_goroutines']:.0f} goroutines, RSS {base0_rss/1024:.1f} MB")
    ok &= abs(idle["go_goroutines"] - base0["go_goroutines"]) <= 2 and idle["chatbench_connections"] == 0
    verdict.append(f"after the load: {idle['chatbench_connections']:.0f} connections, {idle['go_goroutines']:.0f} goroutines, RSS {idle_rss/1024:.1f} MB")
    verdict.append(f"swarm: exit {swarm_rc}, lost {lost} of {expected} deliveries; p50/p99 {summ.get('latency_ms', {}).get('p50', '?')}/"
                   f"{summ.get('latency_ms', {}).get('p99', '?')} ms")
    verdict.append(f"churn: {churn['runs']} swarm processes of {a.churn_clients} sockets, {churn['failed']} failed {churn['fail_lines']}; "
                   f"{samples[-1]['accepted'] if samples else 0} connections accepted by the server in all")
    verdict.append(f"serve: exit {serve_rc}; disconnects {idle['disc']}")
    ok &= lost == 0 and expected > 0 and swarm_rc == 0 and churn["failed"] == 0 and serve_rc == 0
    print()
    print(out.strip())
    print()
    for v in verdict:
        print("soak:", v)
    print("soak:", "PASS" if ok else "FAIL")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"samples": samples, "verdict": verdict, "ok": ok, "summary": summ}, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
