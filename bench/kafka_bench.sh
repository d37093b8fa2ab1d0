#!/usr/bin/env bash
# Kafka-path benchmark of `pyralog server` with bench/kafka_load (librdkafka), client and server
# on this machine: idle RSS, produce throughput and latency (100 B records, acks=1 and all,
# 1 and 3 partitions), consumer throughput, and produce latency at half of the measured peak.
# usage: bench/kafka_bench.sh [BUILD_DIR] [COUNT]      (defaults: build 2000000)
#        SERVER_ARGS="--set merkle.enable=false" bench/kafka_bench.sh   (extra server flags)
#        ROUNDS=3 bench/kafka_bench.sh                  (rounds of the paired sections, default 5)
#        BENCH_TMP=DIR                                  (where the temp data dirs go, default /tmp)
#
# Three sections, each on a fresh server (free ports, empty temp data dir, stopped by PID and
# removed afterwards):
#   1. throughput: produce COUNT records acks=1/all on 1 and 3 partitions, then consume the
#      acks=1 topics (consumer rates run from the first record received to the last, see
#      bench/kafka_load.c);
#   2. latency at half of peak: half the records/s that section 1 measured for the same acks
#      setting on 1 partition, for 4 s, ROUNDS times into the same two topics; the median p99
#      is printed last;
#   3. consumer vs producer: ROUNDS back-to-back pairs (produce COUNT records acks=1 to a new
#      topic, then consume them) and the median ratio, because this VM's speed drifts by up to
#      2x within a minute.
# Fresh servers per section because on this VM a server whose page cache has grown by ~2 GB
# pays 2-3x the CPU per written byte (the host faults in every new page-cache page: free page
# reporting), which then shows in the latency rows; the "server CPU" column shows it when it
# happens (BENCHMARKS.md, third session). "client CPU" is kafka_load's own (all threads): for the
# same rows it doubles in this VM's slow phases, which is what moves the consumer's rate
# (BENCHMARKS.md, fourth session).
set -euo pipefail
BUILD=${1:-build}
COUNT=${2:-2000000}
ROUNDS=${ROUNDS:-5}
PYRALOG=$BUILD/pyralog
LOAD=$BUILD/kafka_load
# shellcheck source=bench/server_lib.sh
. "$(dirname "$0")/server_lib.sh"

row() { # label, kafka_load args...
  local label=$1; shift
  local t0; t0=$(server_cpu_ms)
  local out; out=$("$LOAD" --bootstrap "$B" "$@" | grep '^RESULT')
  local cpu=$(($(server_cpu_ms) - t0))
  local rps mbs p50 p99 p999 ccpu
  rps=$(echo "$out" | field records_per_s); mbs=$(echo "$out" | field mb_per_s)
  p50=$(echo "$out" | field p50_ms); p99=$(echo "$out" | field p99_ms); p999=$(echo "$out" | field p999_ms)
  ccpu=$(echo "$out" | field cpu_ms)
  echo "| $label | $rps | $mbs | ${p50:--} | ${p99:--} | ${p999:--} | $cpu | $ccpu |"
  LAST_RPS=${rps%.*}
  LAST_P99=$p99
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

start_server "$PYRALOG"
sleep 0.5 # idle RSS after start-up settles
RSS=$(awk '/VmRSS/ {print $2}' /proc/"$SPID"/status)
echo "| run | records/s | MB/s | p50 ms | p99 ms | p999 ms | server CPU ms | client CPU ms |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
row "produce acks=1, 1 partition" --topic a1p1 --partitions 1 --count "$COUNT" --acks 1
PEAK=$LAST_RPS
row "produce acks=1, 3 partitions" --topic a1p3 --partitions 3 --count "$COUNT" --acks 1
row "produce acks=all, 1 partition" --topic aAp1 --partitions 1 --count "$COUNT" --acks all
PEAK_ALL=$LAST_RPS
row "produce acks=all, 3 partitions" --topic aAp3 --partitions 3 --count "$COUNT" --acks all
row "consume 1 partition" --mode consume --topic a1p1 --count "$COUNT"
row "consume 3 partitions" --mode consume --topic a1p3 --count "$COUNT"

start_server "$PYRALOG"
HALF=$((PEAK / 2))
HALF_ALL=$((PEAK_ALL / 2))
P99_1=() P99_ALL=()
for r in $(seq "$ROUNDS"); do
  row "produce acks=1 at half peak ($HALF/s), linger 1 ms, round $r" --topic half1 \
    --partitions 1 --count $((HALF * 4)) --acks 1 --rate "$HALF" --linger-ms 1
  P99_1+=("$LAST_P99")
  row "produce acks=all at half peak ($HALF_ALL/s), linger 1 ms, round $r" --topic halfA \
    --partitions 1 --count $((HALF_ALL * 4)) --acks all --rate "$HALF_ALL" --linger-ms 1
  P99_ALL+=("$LAST_P99")
done

start_server "$PYRALOG"
echo
echo "| consumer vs producer | pairs (produce / consume records/s) | median ratio |"
echo "| --- | --- | --- |"
for parts in 1 3; do
  ratios=() pairs=""
  for r in $(seq "$ROUNDS"); do
    t=pair${parts}p$r
    row "-" --topic "$t" --partitions "$parts" --count "$COUNT" --acks 1 >/dev/null
    prod=$LAST_RPS
    row "-" --mode consume --topic "$t" --count "$COUNT" >/dev/null
    cons=$LAST_RPS
    ratios+=("$(awk -v c="$cons" -v p="$prod" 'BEGIN { printf "%.2f", c / p }')")
    pairs+="$prod / $cons; "
  done
  echo "| $parts partition(s) | ${pairs%; } | $(median "${ratios[@]}")x |"
done
stop_server
echo
echo "median p99 at half peak: acks=1 $(median "${P99_1[@]}") ms (${P99_1[*]}), acks=all $(median "${P99_ALL[@]}") ms (${P99_ALL[*]})"
echo "idle RSS of a fresh server: ${RSS} KiB; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
