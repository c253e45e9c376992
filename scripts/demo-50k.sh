#!/usr/bin/env bash
# 50,000 WebSocket clients on one machine: three `chatbench serve` nodes
# sharing rooms through Redis, and one `chatbench swarm --procs auto` whose
# worker processes (each under the 20,000 open-files limit, each with its
# own loopback source address) hold the sockets. Prints swarm's summary and
# writes the merged results to $OUT. Server cost is not read (--metrics-url
# none): one node's /metrics would be divided by all 50k connections.
#
#   scripts/demo-50k.sh                     # needs Redis on 127.0.0.1:6379 (scripts/services.sh start)
#   N=20000 SENDERS=400 scripts/demo-50k.sh # a smaller run
#
# The load is light on purpose (rooms of 100, 1% of the clients send 1
# message/s: 50k deliveries/s): the point is holding 50k sockets with
# nothing lost, on two cores shared by the nodes, Redis and swarm.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-50000}
NODES=${NODES:-3}
ROOM_SIZE=${ROOM_SIZE:-100}
SENDERS=${SENDERS:-500}
RATE=${RATE:-1/s}
RAMP=${RAMP:-2500}
WARMUP=${WARMUP:-5s}
DURATION=${DURATION:-20s}
GRACE=${GRACE:-10s}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
OUT=${OUT:-demo-50k.json}
# The nodes ping a silent socket after this long and drop it 10 s later
# without an answer. The 50k sockets are silent through the ramp, and a
# swarm worker starved of CPU on a shared two-core box can answer late:
# a long interval keeps the check for dead peers without counting a busy
# machine as lost sockets.
PING_INTERVAL=${PING_INTERVAL:-60s}

if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  echo "demo-50k: Redis is not answering at $REDIS_URL; start it with scripts/services.sh start" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/chatbench-demo.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/chatbench" .

# The nodes: redis backend, a prefix of this run's own, --max-conns left at
# its default (the open-files limit less a reserve: 19,936 here).
PREFIX="chatbench-demo-$$:"
URLS=()
for i in $(seq 1 "$NODES"); do
  "$WORK/chatbench" serve --addr 127.0.0.1:0 --backend redis --redis-url "$REDIS_URL" \
    --redis-prefix "$PREFIX" --ping-interval "$PING_INTERVAL" --log-level warn >"$WORK/node$i.out" 2>"$WORK/node$i.err" &
  PIDS+=($!)
done
for i in $(seq 1 "$NODES"); do
  for _ in $(seq 1 100); do
    grep -q 'listening on' "$WORK/node$i.out" 2>/dev/null && break
    sleep 0.1
  done
  addr=$(sed -n 's/.*listening on http:\/\/\([^ /]*\).*/\1/p' "$WORK/node$i.out" | head -1)
  if [ -z "$addr" ]; then
    echo "demo-50k: node $i did not start:" >&2; cat "$WORK/node$i.err" >&2; exit 1
  fi
  URLS+=(--url "ws://$addr/ws?room={{room}}&user={{user}}")
  echo "node $i: $addr (pid ${PIDS[$((i-1))]})"
done

# What each node closed or dropped (non-zero counters), after swarm's summary.
node_report() {
  for i in $(seq 1 "$NODES"); do
    addr=${URLS[$((2*i-1))]#ws://}; addr=${addr%%/*}
    echo "node $i: $(curl -s "http://$addr/metrics" | grep -E '^chatbench_(disconnects|dropped|backend_dropped|messages_rejected|publish_errors)_total' | grep -v ' 0$' | tr '\n' ' ')"
  done
}

set +e
set -x
"$WORK/chatbench" swarm -n "$N" --procs auto --room-size "$ROOM_SIZE" --senders "$SENDERS" --rate "$RATE" \
  --ramp "$RAMP" --warmup "$WARMUP" --duration "$DURATION" --grace "$GRACE" "${URLS[@]}" \
  --ping-interval "$PING_INTERVAL" --metrics-url none --out "$OUT" --slo 'loss<0.0001%,connect-errors=0'
rc=$?
set +x
node_report
exit $rc
