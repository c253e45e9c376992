#!/usr/bin/env bash
# Installs (from Debian packages) and starts on loopback what the integration
# tests need: redis-server, rabbitmq-server, chromium, python3-fastapi +
# python3-uvicorn + python3-redis + python3-aio-pika (the blog's three
# stacks), prometheus, python3-junitparser (reads swarm --junit as CI
# reporters do), mosquitto (the MQTT adapter's tests start their own).
#
#   scripts/services.sh start   install what is missing, start, wait until ready
#   scripts/services.sh stop    stop what start started
#
# Ports: Redis 6379, RabbitMQ 5672 (and its Web-STOMP plugin 15674, for the
# stomp adapter's tests). Everything binds to 127.0.0.1.
set -euo pipefail

STATE=${CHATBENCH_SERVICES_STATE:-/tmp/chatbench-services}
mkdir -p "$STATE"

need_pkgs() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
  /usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null || missing+=(python3-fastapi python3-uvicorn)
  /usr/bin/python3 -c 'import redis.asyncio' 2>/dev/null || missing+=(python3-redis)
  /usr/bin/python3 -c 'import aio_pika' 2>/dev/null || missing+=(python3-aio-pika)
  /usr/bin/python3 -c 'import junitparser' 2>/dev/null || missing+=(python3-junitparser)
  if ((${#missing[@]})); then
    echo "services: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "services: redis already answering on 127.0.0.1:6379"; return
  fi
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
    --daemonize yes --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log"
  for _ in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && { echo "services: redis ready"; return; }
    sleep 0.1
  done
  echo "services: redis did not start; see $STATE/redis.log" >&2; exit 1
}

rabbit_env() {
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1
  # Web-STOMP on loopback only and no plain STOMP listener, for a node
  # that boots with the plugin already enabled.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} $WEB_STOMP_ERL_ARGS"
}

WEB_STOMP_ERL_ARGS="-rabbitmq_stomp tcp_listeners [] -rabbitmq_web_stomp tcp_config [{ip,{127,0,0,1}},{port,15674}]"

# Web-STOMP (the stomp adapter's tests) is enabled on the running node,
# online: a shared node is never restarted for it. Its listener is set to
# loopback first (the same settings as WEB_STOMP_ERL_ARGS).
start_web_stomp() {
  rabbit_env
  if (exec 3<>/dev/tcp/127.0.0.1/15674) 2>/dev/null; then
    echo "services: rabbitmq web-stomp already on 127.0.0.1:15674"; return
  fi
  rabbitmqctl -q eval 'application:set_env(rabbitmq_stomp, tcp_listeners, []), application:set_env(rabbitmq_web_stomp, tcp_config, [{ip,{127,0,0,1}},{port,15674}]).' >/dev/null
  rabbitmq-plugins -q enable rabbitmq_web_stomp >/dev/null
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/15674) 2>/dev/null && { echo "services: rabbitmq web-stomp ready"; return; }
    sleep 0.1
  done
  echo "services: rabbitmq web-stomp did not listen on 127.0.0.1:15674" >&2; exit 1
}

start_rabbitmq() {
  rabbit_env
  if rabbitmqctl -q await_startup --timeout 1 >/dev/null 2>&1; then
    echo "services: rabbitmq already running"; return
  fi
  # rabbitmq-server switches to its own user through su, whose PAM limits
  # reset the open-files limit (1,024 here: too few for the 1,000-socket
  # STOMP runs); give that user the machine's hard limit first.
  if [[ $(id -u) == 0 && -d /etc/security/limits.d ]]; then
    echo "rabbitmq - nofile $(ulimit -Hn)" > /etc/security/limits.d/chatbench-rabbitmq.conf
  fi
  rabbitmq-server -detached
  local deadline=$((SECONDS + 120))
  until rabbitmqctl -q await_startup >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "services: rabbitmq did not start in 120s" >&2; exit 1; }
    sleep 0.25
  done
  echo started > "$STATE/rabbitmq.started"
  echo "services: rabbitmq ready"
}

stop_all() {
  if [[ -f $STATE/redis.pid ]]; then
    kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true
    rm -f "$STATE/redis.pid"
  fi
  if [[ -f $STATE/rabbitmq.started ]]; then
    rabbit_env
    rabbitmqctl -q stop >/dev/null 2>&1 || pkill -f beam.smp || true
    pkill -x epmd 2>/dev/null || true
    rm -f "$STATE/rabbitmq.started"
  fi
}

case "${1:-start}" in
  start) need_pkgs; start_redis; start_rabbitmq; start_web_stomp ;;
  stop) stop_all ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
