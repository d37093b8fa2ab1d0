#!/usr/bin/env bash
# `make bench`: every module benchmark once, on this machine, printing each one's figures.
# Figures and the reasoning behind them are recorded in BENCHMARKS.md. Set BENCH_QUICK=1 for a
# short pass (smaller counts). The peer comparison is `make bench-compare` (bench/compare.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${PYRALOG_BUILD_DIR:-build}
quick=${BENCH_QUICK:-0}
secs=3 count=2000000 merkle=300000
if [ "$quick" = 1 ]; then secs=1 count=200000 merkle=50000; fi
tmp=$(mktemp -d /tmp/pyralog-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

section() { printf '\n## %s\n' "$1"; }

echo "# pyralog benchmarks $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
section "storage (bench/storage_bench.c)"
mkdir -p "$tmp/storage" "$tmp/merkle"
"$B"/storage_bench --dir "$tmp/storage" --seconds "$secs"
section "BLAKE3 vs b3sum (bench/blake3_vs_b3sum.sh)"
bench/blake3_vs_b3sum.sh "$B" 1
section "Merkle tree (bench/bench_merkle.c)"
"$B"/bench_merkle --records "$merkle" --rounds 1 --dir "$tmp/merkle"
section "Kafka codec (bench/kafka_codec_bench.c)"
"$B"/kafka_codec_bench --seconds "$secs"
section "Kafka path with librdkafka (bench/kafka_bench.sh)"
bench/kafka_bench.sh "$B" "$count"
section "JSON-RPC (bench/rpc_bench.sh)"
bench/rpc_bench.sh "$B"
section "Obelisk and Scarab IDs (bench/obelisk_bench.sh)"
bench/obelisk_bench.sh "$B" "$secs"
