#!/usr/bin/env bash
# obelisk_bench.sh — Obelisk/Scarab benchmark: in-process rows (bench/obelisk_bench.c), then IDs
# over loopback from a `pyralog obelisk` node through the binary protocol with batches of 1000,
# next to Redis INCR and INCRBY pipelined (redis-benchmark -c 50 -P 16) in the same run.
#
# usage: bench/obelisk_bench.sh [BUILD_DIR] [SECONDS]
# Everything runs on 127.0.0.1 with ports picked at run time and temp dirs; every server is
# stopped by its PID. redis-server/redis-benchmark come from the redis-server package (installed
# here when missing).
set -euo pipefail
BUILD=${1:-build}
SECS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BUILD/pyralog
TMP=$(mktemp -d /tmp/pyralog-obl-bench-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
free_pair() {
  python3 - <<'PY'
import socket
for _ in range(200):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    try:
        b = socket.socket(); b.bind(("127.0.0.1", p + 1)); b.close(); a.close(); print(p); break
    except OSError:
        a.close()
PY
}

echo "# obelisk bench $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -r)"
echo "## in-process ($SECS s per row, files in $TMP)"
mkdir -p "$TMP/inproc"
"$BUILD/obelisk_bench" "$TMP/inproc" "$SECS"

echo "## network: pyralog obelisk, binary protocol, batches of 1000"
P=$(free_pair)
mkdir -p "$TMP/node"
"$BIN" obelisk --node-id 1 --data-dir "$TMP/node" --listen 127.0.0.1:$P 2>"$TMP/node.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q "ready" "$TMP/node.log" && break; sleep 0.05; done
for clients in 1 4; do
  outs=()
  for c in $(seq "$clients"); do
    "$BUILD/obelisk_client" 127.0.0.1:$P "$SECS" 1000 > "$TMP/c$c.out" &
    outs+=($!)
  done
  for p in "${outs[@]}"; do wait "$p"; done
  total=$(cat "$TMP"/c*.out | sed -n 's/.*ids_per_s=\([0-9]*\).*/\1/p' | paste -sd+ | bc)
  echo "name=obelisk_binary_batch1000 clients=$clients ids_per_s=$total"
  rm -f "$TMP"/c*.out
done
echo "## network: JSON-RPC HTTP POST id.next count=1000, wrk 1 thread, 4 connections"
if command -v wrk >/dev/null; then
  cat > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"id.next","params":{"count":1000}}'
wrk.headers["Content-Type"] = "application/json"
LUA
  rps=$(wrk -t1 -c4 -d"${SECS}s" -s "$TMP/post.lua" http://127.0.0.1:$P/rpc | awk '/Requests\/sec/ {print $2}')
  echo "name=obelisk_jsonrpc_http_count1000 connections=4 requests_per_s=$rps ids_per_s=$(echo "$rps*1000/1" | bc)"
fi

echo "## peer: Redis INCR / INCRBY, redis-benchmark -c 50 -P 16"
command -v redis-server >/dev/null || "$ROOT/scripts/deps.sh"
RP=$(free_port)
mkdir -p "$TMP/redis"
redis-server --port "$RP" --bind 127.0.0.1 --dir "$TMP/redis" --save '' --appendonly no \
  --daemonize no >"$TMP/redis.log" 2>&1 &
RPID=$!
PIDS+=($RPID)
for _ in $(seq 100); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.05; done
for cmd in "INCR idgen" "INCRBY idgen 1000"; do
  r=$(redis-benchmark -h 127.0.0.1 -p "$RP" -q -c 50 -P 16 -n 2000000 $cmd | tr '\r' '\n' |
      sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
  echo "name=redis_$(echo "$cmd" | cut -d' ' -f1) pipelined=16 clients=50 ops_per_s=$r"
done
