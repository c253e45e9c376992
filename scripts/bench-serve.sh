#!/usr/bin/env bash
# Reproduces the serve issue's figures on this machine:
#   1. fan-out allocations (go test -bench Broadcast)
#   2. server RSS per idle connection at 10,000 connections (server in its own process)
#   3. deliveries/s, p99 and server CPU per delivery at a 1,000-member room,
#      100-byte messages, 300 messages/s into the room (300,000 deliveries/s),
#      measured by chatbench swarm against chatbench serve in another process.
# Figures on a shared machine are noisy: compare within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/chatbench .

echo "== fan-out path: allocations per delivery"
go test -run '^$' -bench 'Broadcast' -benchmem ./server/ | grep -E '^Benchmark'

echo "== idle memory per connection (10,000 connections)"
go test -run '^$' -bench 'IdleConnectionMemory' -benchtime 1x ./server/ | grep -E 'Benchmark|RSS'

echo "== throughput: 1,000 clients in one room, 100 senders x 3/s, 100 B"
bin/chatbench swarm -n 1000 --senders 100 --rate 3/s --size 100 --warmup 2s --duration 10s \
  --slo 'p99<100ms,loss<0.0001%' "$@"
