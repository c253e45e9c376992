#!/usr/bin/env bash
# knee-recovery: does sweep's recovery wait between steps find the knee a
# long cool-down finds? The blog's in-memory server (scripts/blog/memory.py,
# a fresh process per sweep) is swept at 1 msg/s per user, one room of
# everyone, --repeat 3, alternately with sweep's default recovery wait
# (CPU idle and a test message answered) and with a fixed 20 s cool-down
# before every step, ROUNDS times (default 2), so a busy moment on this
# shared machine does not land on one way only. Prints each sweep's knee
# with its spread, its CPU per delivery and claim 5's verdict.
#
# Usage: scripts/knee-recovery.sh [--rounds N] [--out DIR]
#   (about 15 minutes a round; Debian's python3-fastapi and python3-uvicorn)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=2 out="knee-recovery-$(date -u +%Y%m%dT%H%M%SZ)"
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "knee-recovery: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ -e "$out" ] && { echo "knee-recovery: --out $out exists: give a new directory" >&2; exit 2; }
/usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null ||
	{ echo "knee-recovery: apt-get install python3-fastapi python3-uvicorn" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cb=$out/chatbench
(cd "$repo" && go build -o "$cb" .)

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=""; }
trap cleanup EXIT
trap 'exit 130' INT TERM

for round in $(seq "$rounds"); do
	for way in default cooldown; do
		name=$way-$round
		/usr/bin/python3 "$repo/scripts/blog/memory.py" --port 0 >"$out/$name.srv.out" 2>"$out/$name.srv.err" &
		pid=$!
		line=""
		for _ in $(seq 300); do
			line=$(head -n1 "$out/$name.srv.out" 2>/dev/null || true)
			[ -n "$line" ] && break
			sleep 0.1
		done
		case "$line" in
		*"listening on http://"*) ;;
		*) echo "knee-recovery: memory.py printed no address: $(tail -n3 "$out/$name.srv.err")" >&2; exit 1 ;;
		esac
		addr=${line#*listening on http://}
		wait_args=()
		[ "$way" = cooldown ] && wait_args=(--cooldown 20s)
		start=$(date +%s)
		"$cb" sweep --url "ws://${addr%% *}/ws" --server-pid "$pid" --hello '{{user}}' \
			--server-name "the blog's in-memory server (FastAPI)" --server-backend memory \
			--rate 1/s --start 100 --max 3000 --duration 5s --budget 30m --repeat 3 "${wait_args[@]}" \
			--out "$out/$name.json" >"$out/$name.txt" 2>"$out/$name.err"
		echo "$name: $(($(date +%s) - start)) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
		"$cb" estimate --from "$out/$name.json" | grep -E '^(5 |CPU per delivery)' | tr -s ' ' | cut -c1-200
		cleanup
	done
done
