#!/usr/bin/env bash
# JSON-RPC benchmarks against a fresh `pyralog server` (data in a temp dir, fsync per the server
# default): (1) log.append over ONE WebSocket with 100 requests in flight (bench/rpc_ws_bench),
# (2) log.append over HTTP POST /rpc with keep-alive, driven by wrk (bench/rpc_post.lua).
# Usage: bench/rpc_bench.sh [BUILD_DIR] — prints one line per benchmark.
set -euo pipefail
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(mktemp -d /tmp/pyralog-rpcbench-XXXXXX)
LOG=$DATA/server.log
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
KPORT=$(port); HPORT=$(port)
"$BUILD/pyralog" server --data-dir "$DATA/d" --kafka-listen 127.0.0.1:$KPORT \
  --http-listen 127.0.0.1:$HPORT 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do grep -q "pyralog server ready" "$LOG" && break; sleep 0.1; done
grep -q "pyralog server ready" "$LOG" || { cat "$LOG"; exit 1; }
# Server CPU seconds (user + system) so far: the machine is shared, so CPU per operation is the
# figure that does not depend on what else runs.
cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' /proc/$PID/stat; }
N=${RPC_BENCH_COUNT:-300000}
c0=$(cpu)
"$BUILD/rpc_ws_bench" --http 127.0.0.1:$HPORT --topic bench-ws --create --count $N \
  --inflight 100 --size 100
c1=$(cpu)
python3 -c "print('  server CPU per WebSocket log.append: %.1f us' % (($c1 - $c0) / $N * 1e6))"
curl -s -X POST -d '{"jsonrpc":"2.0","id":1,"method":"topic.create","params":{"name":"bench-http"}}' \
  http://127.0.0.1:$HPORT/rpc >/dev/null
c0=$(cpu)
OUT=$(RPC_TOPIC=bench-http wrk -t1 -c32 -d10s -s "$SRC/bench/rpc_post.lua" \
  http://127.0.0.1:$HPORT/rpc)
c1=$(cpu)
echo "$OUT" | grep -E "Requests/sec|rpc_post|Non-2xx"
REQS=$(echo "$OUT" | sed -n 's/^rpc_post: requests=\([0-9]*\).*/\1/p')
python3 -c "print('  server CPU per HTTP log.append: %.1f us' % (($c1 - $c0) / $REQS * 1e6))"
