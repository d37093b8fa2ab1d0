#!/usr/bin/env bash
# Produce latency on a long-lived server: RUNS back-to-back runs of 4 s at RATE records/s
# (100 B records, 1 partition, linger 1 ms, a new topic per run) against ONE server, printing
# each run's p50/p99 and the server's CPU time for it. On this VM the server's CPU per run
# grew 2-3x and p99 went from 2 ms to 10-45 ms after ~2 GB had been written when the page
# cache only grew (log.cache.keep.bytes=0); the default drop-behind keeps it flat
# (BENCHMARKS.md, third session).
# usage: bench/longrun_latency.sh [BUILD_DIR] [RUNS] [RATE]     (defaults: build 6 1500000)
#        ACKS=all SERVER_ARGS="--set log.cache.keep.bytes=0" bench/longrun_latency.sh
#        ACKS="1 all" TOPIC=t bench/longrun_latency.sh   (each run once per acks setting, all
#                                   into topic t-<acks>: long-lived topics that roll segments)
# The last column is the machine's page cache (Cached in /proc/meminfo) after the run.
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-6}
RATE=${3:-1500000}
ACKS=${ACKS:-1}
# shellcheck source=bench/server_lib.sh
. "$(dirname "$0")/server_lib.sh"
start_server "$BUILD"/pyralog
echo "| run | acks | records/s | p50 ms | p99 ms | p999 ms | server CPU ms | written so far | page cache |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
n=0
for r in $(seq "$RUNS"); do
  for acks in $ACKS; do
    n=$((n + 1))
    topic=${TOPIC:+$TOPIC-$acks}
    t0=$(server_cpu_ms)
    out=$("$BUILD"/kafka_load --bootstrap "$B" --topic "${topic:-run$r-$acks}" --partitions 1 \
      --count $((RATE * 4)) --acks "$acks" --rate "$RATE" --linger-ms 1 | grep '^RESULT')
    t1=$(server_cpu_ms)
    f() { echo "$out" | field "$1"; }
    echo "| $r | $acks | $(f records_per_s) | $(f p50_ms) | $(f p99_ms) | $(f p999_ms) | $((t1 - t0)) | $((RATE * 4 * n / 10000)) MB | $(page_cache_mb) MB |"
  done
done
echo
echo "server flags: ${SERVER_ARGS:-(defaults)}; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
