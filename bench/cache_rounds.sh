#!/usr/bin/env bash
# Page cache on a long-lived server: ROUNDS rounds of (produce COUNT records with kafka_load,
# acks=1, into a new topic of PARTITIONS partitions, then consume them) on one `pyralog server`,
# printing per round the produce rate, the server CPU the produce took, the consume rate and the
# machine's page cache ("Cached" in /proc/meminfo). With every partition under its
# log.cache.keep.bytes window, only log.cache.total.bytes bounds what written data stays cached;
# on this VM the server pays a host fault per fresh page-cache page once the memory freed before
# it started is used up, which shows as a jump in server CPU (BENCHMARKS.md, fifth session).
# usage: bench/cache_rounds.sh [BUILD_DIR] [ROUNDS] [COUNT]      (defaults: build 8 2000000)
#        PARTITIONS=3 SERVER_ARGS="--set log.cache.total.bytes=0" bench/cache_rounds.sh
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-8}
COUNT=${3:-2000000}
PARTITIONS=${PARTITIONS:-3}
# shellcheck source=bench/server_lib.sh
. "$(dirname "$0")/server_lib.sh"

start_server "$BUILD/pyralog"
echo "| round | produce records/s | server CPU ms (produce) | consume records/s | page cache MB |"
echo "| --- | --- | --- | --- | --- |"
for r in $(seq "$ROUNDS"); do
  t0=$(server_cpu_ms)
  p=$("$BUILD/kafka_load" --bootstrap "$B" --topic "round$r" --partitions "$PARTITIONS" \
    --count "$COUNT" --acks 1 | grep '^RESULT' | field records_per_s)
  t1=$(server_cpu_ms)
  c=$("$BUILD/kafka_load" --mode consume --bootstrap "$B" --topic "round$r" --count "$COUNT" |
    grep '^RESULT' | field records_per_s)
  echo "| $r | $p | $((t1 - t0)) | $c | $(page_cache_mb) |"
done
