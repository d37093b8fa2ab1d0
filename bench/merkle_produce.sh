#!/usr/bin/env bash
# Produce throughput of `pyralog server` with merkle.enable=true vs false: 100-byte records,
# acks=1, 1 partition, bench/kafka_load (librdkafka) on this machine; the two settings alternate
# ROUNDS times on fresh servers (free ports, temp data dirs, stopped by PID).
# usage: bench/merkle_produce.sh [BUILD_DIR] [COUNT] [ROUNDS]    (defaults: build 1000000 3)
set -euo pipefail
BUILD=${1:-build}
COUNT=${2:-1000000}
ROUNDS=${3:-3}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() { # merkle.enable value → prints records/s
  local DATA; DATA=$(mktemp -d /tmp/pyralog-bench-merkle-XXXXXX)
  local B=127.0.0.1:$(free_port) H=127.0.0.1:$(free_port)
  "$BUILD/pyralog" server --data-dir "$DATA/data" --kafka-listen "$B" --http-listen "$H" \
    --set merkle.enable="$1" 2>"$DATA/log" &
  local SPID=$!
  for _ in $(seq 200); do grep -q "pyralog server ready" "$DATA/log" && break; sleep 0.05; done
  "$BUILD/kafka_load" --mode produce --bootstrap "$B" --topic m --partitions 1 --count "$COUNT" \
    --size 100 --acks 1 | sed -n 's/^RESULT.* records_per_s=\([^ ]*\).*/\1/p'
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  rm -rf "$DATA"
}
echo "| round | merkle.enable=false rec/s | merkle.enable=true rec/s |"
echo "| --- | --- | --- |"
for r in $(seq "$ROUNDS"); do
  off=$(run false); on=$(run true)
  echo "| $r | $off | $on |"
done
