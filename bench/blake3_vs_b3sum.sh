#!/usr/bin/env bash
# BLAKE3 single-thread throughput: Pyralog (bench_blake3, in memory, each op init+update+final)
# next to `b3sum --num-threads 1` in the same run. b3sum is timed on a 256 MiB file in the page
# cache (its throughput without process start-up) and on a 1 MiB file (start-up included).
# usage: bench/blake3_vs_b3sum.sh [BUILD_DIR] [ROUNDS]      (defaults: build 3)
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-3}
TMP=$(mktemp -d /tmp/pyralog-b3bench-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
head -c $((256 << 20)) /dev/urandom >"$TMP/big"
head -c $((1 << 20)) /dev/urandom >"$TMP/1m"
b3sum --num-threads 1 "$TMP/big" >/dev/null # warm the page cache
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
for r in $(seq "$ROUNDS"); do
  echo "round $r"
  "$BUILD/bench_blake3" --seconds 1 | grep -E "impl=|size=64 |size=1024 |size=1048576 "
  for mode in "" "--no-mmap"; do
    t=$(secs b3sum --num-threads 1 $mode "$TMP/big")
    printf "b3sum --num-threads 1 %s 256 MiB: %.3f GB/s\n" "$mode" "$(echo "268435456 / $t / 1000000000" | bc -l)"
  done
  t=$(secs b3sum --num-threads 1 "$TMP/1m")
  printf "b3sum --num-threads 1 1 MiB file (with process start): %.3f GB/s\n" "$(echo "1048576 / $t / 1000000000" | bc -l)"
done
