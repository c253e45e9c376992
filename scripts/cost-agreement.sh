#!/usr/bin/env bash
# cost-agreement: does server CPU per delivery come out the same whichever way
# swarm reads it? One load (-n 1000 in rooms of 100, 10% talkers at 3/s:
# 30,000 deliveries/s, each socket 30 frames/s, far from serve's 10 ms write-delay batching threshold), the same `chatbench serve` process, measured as
#   pid       one swarm process, --server-pid        (the reference)
#   metrics   one swarm process, the server's /metrics
#   procs2    --procs 2, --server-pid
#   shards    two swarm processes --shard 0/2 and 1/2 sharing --start-at,
#             then `report merge` (the server counted once)
# and, on two serve nodes over Redis,
#   2n-pid    --url A --url B --server-pid A --server-pid B
#   2n-metr   the same two nodes read from their /metrics
# Variants run interleaved, ROUNDS times (default 5), and each is reported
# as its median and its ratio to the reference's median, so a busy moment
# on this shared machine does not land on one variant only.
#
# Usage: scripts/cost-agreement.sh [ROUNDS]   (about 2 minutes a round)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
go build -o bin/chatbench .
cb=bin/chatbench
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# serve_node LOG ARGS...: start a serve node; set node_pid and node_url
# (not in a subshell, so cleanup knows the pid).
serve_node() {
	local log=$1; shift
	"$cb" serve --addr 127.0.0.1:0 "$@" >"$log" 2>&1 &
	node_pid=$!
	pids+=("$node_pid")
	local i u=""
	for i in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
	u=$(sed -n 's/^chatbench serve: listening on \(http[^ ]*\).*/\1/p' "$log" | head -n1)
	[ -n "$u" ] || { echo "serve did not start: $(cat "$log")" >&2; exit 1; }
	node_url="${u/http/ws}/ws?room={{room}}&user={{user}}"
}

load=(-n 1000 --room-size 100 --senders 10% --rate 3/s --warmup 2s --duration 8s --grace 2s --progress never)
cpu() { python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["server_cost"]["cpu_us_per_message"]; print(f.get("value", "nan"))' "$1"; }

serve_node "$tmp/serve.log"; spid=$node_pid surl=$node_url
serve_node "$tmp/a.log" --backend redis --redis-prefix "costagree$$:"; apid=$node_pid aurl=$node_url
serve_node "$tmp/b.log" --backend redis --redis-prefix "costagree$$:"; bpid=$node_pid burl=$node_url
metrics=${surl%/ws*}/metrics; metrics=${metrics/ws:/http:}
ametrics=${aurl%/ws*}/metrics; ametrics=${ametrics/ws:/http:}
bmetrics=${burl%/ws*}/metrics; bmetrics=${bmetrics/ws:/http:}

declare -A vals
for r in $(seq "$rounds"); do
	"$cb" swarm "${load[@]}" --url "$surl" --server-pid "$spid" --out "$tmp/pid.json" >/dev/null
	vals[pid]+=" $(cpu "$tmp/pid.json")"
	"$cb" swarm "${load[@]}" --url "$surl" --metrics-url "$metrics" --out "$tmp/metrics.json" >/dev/null
	vals[metrics]+=" $(cpu "$tmp/metrics.json")"
	"$cb" swarm "${load[@]}" --url "$surl" --server-pid "$spid" --procs 2 --out "$tmp/procs2.json" >/dev/null
	vals[procs2]+=" $(cpu "$tmp/procs2.json")"
	at=$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)
	rm -f "$tmp"/s0.json "$tmp"/s1.json "$tmp"/shards.json
	"$cb" swarm "${load[@]}" --url "$surl" --server-pid "$spid" --shard 0/2 --start-at "$at" --out "$tmp/s0.json" >/dev/null &
	s0=$!
	"$cb" swarm "${load[@]}" --url "$surl" --server-pid "$spid" --shard 1/2 --start-at "$at" --out "$tmp/s1.json" >/dev/null
	wait "$s0"
	"$cb" report merge "$tmp/s0.json" "$tmp/s1.json" -o "$tmp/shards.json" >/dev/null
	vals[shards]+=" $(cpu "$tmp/shards.json")"
	"$cb" swarm "${load[@]}" --url "$aurl" --url "$burl" --server-pid "$apid" --server-pid "$bpid" --out "$tmp/2n-pid.json" >/dev/null
	vals[2n-pid]+=" $(cpu "$tmp/2n-pid.json")"
	"$cb" swarm "${load[@]}" --url "$aurl" --url "$burl" --metrics-url "$ametrics" --metrics-url "$bmetrics" --out "$tmp/2n-metr.json" >/dev/null
	vals[2n-metr]+=" $(cpu "$tmp/2n-metr.json")"
	echo "round $r: $(for k in pid metrics procs2 shards 2n-pid 2n-metr; do printf '%s=%s ' "$k" "${vals[$k]##* }"; done)" >&2
done

python3 - "$(for k in pid metrics procs2 shards 2n-pid 2n-metr; do printf '%s:%s;' "$k" "${vals[$k]}"; done)" <<'EOF'
import statistics, sys
rows = [kv.split(":") for kv in sys.argv[1].strip(";").split(";")]
med = {k: statistics.median(float(x) for x in v.split()) for k, v in rows}
print(f"{'variant':10} {'median µs/delivery':>20} {'vs reference':>13}  runs")
for k, v in rows:
    ref = med["2n-pid"] if k.startswith("2n") else med["pid"]
    print(f"{k:10} {med[k]:20.2f} {med[k]/ref:12.2f}x  {v.strip()}")
EOF
