#!/usr/bin/env bash
# chaos-table: every backend and mode under every fault it can have, one
# chaos run each (memory: node-kill; redis, rabbitmq and rabbitmq
# --amqp-guarantee: broker-restart, broker-pause, node-kill, conn-drop),
# then the reliability claims judged from the results.
#
# Usage: scripts/chaos-table.sh [OUTDIR]   (about 10 minutes; brokers are
# started by chaos on their own ports and directories, never the ones on
# 6379/5672)
set -euo pipefail
out=${1:-chaos-$(date -u +%Y%m%dT%H%M%SZ)}
[ -e "$out" ] && { echo "chaos-table: $out exists: give a new directory" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd) # where it was asked, before moving to the repository
cd "$(dirname "$0")/.."
go build -o "$out/chatbench" .
cb=$out/chatbench
all=(--fault broker-restart --fault broker-pause --fault node-kill --fault conn-drop)
run() {
	local name=$1; shift
	echo "== $name: chatbench chaos $* --duration 20s" >&2
	"$cb" chaos "$@" --duration 20s --out "$out/$name.json" --html "$out/$name.html" | tee "$out/$name.txt"
}
rc=0
run memory --backend memory --fault node-kill || rc=1
run redis --backend redis "${all[@]}" || rc=1
run rabbitmq --backend rabbitmq "${all[@]}" || rc=1
run rabbitmq-guarantee --backend rabbitmq --amqp-guarantee "${all[@]}" || rc=1
echo "== the reliability claims (9, 10) from these runs" >&2
if "$cb" estimate --from "$out/redis.json" --from "$out/rabbitmq.json" --from "$out/rabbitmq-guarantee.json" >"$out/claims.txt"; then
	sed -n '/^THE BLOG.S CLAIMS/,$p' "$out/claims.txt" | grep -E '^(#|9 |10 |THE)'
else
	rc=1
	echo "chaos-table: estimate failed (see above)" >&2
fi
exit $rc
