#!/usr/bin/env bash
# Kafka-path benchmark of `pyralog server` with bench/kafka_load (librdkafka), client and server
# on this machine: idle RSS, produce throughput and latency (100 B records, acks=1 and all,
# 1 and 3 partitions), consumer throughput, and produce latency at half of the measured peak.
# usage: bench/kafka_bench.sh [BUILD_DIR] [COUNT]      (defaults: build 2000000)
#        SERVER_ARGS="--set merkle.enable=false" bench/kafka_bench.sh   (extra server flags)
# Consumer rates run from the first record received to the last (see bench/kafka_load.c).
# The consumer/producer ratio comes from ROUNDS (default 3) back-to-back produce+consume pairs;
# the half-peak latency rows run ROUNDS times each and their median p99 is printed last.
# Prints markdown tables on stdout; the server runs on a free port with a temp data dir and is
# stopped by PID.
set -euo pipefail
BUILD=${1:-build}
COUNT=${2:-2000000}
ROUNDS=${ROUNDS:-3}
PYRALOG=$BUILD/pyralog
LOAD=$BUILD/kafka_load
DATA=$(mktemp -d /tmp/pyralog-bench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=127.0.0.1:$PORT
LOG=$DATA/server.log
# shellcheck disable=SC2086
"$PYRALOG" server --data-dir "$DATA/data" --kafka-listen "$B" --http-listen 127.0.0.1:$HPORT \
  ${SERVER_ARGS:-} 2>"$LOG" &
SPID=$!
cleanup() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q "pyralog server ready" "$LOG" && break; sleep 0.05; done
sleep 0.5
RSS=$(awk '/VmRSS/ {print $2}' /proc/$SPID/status)

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
row() { # label, kafka_load args...
  local label=$1; shift
  local out; out=$("$LOAD" --bootstrap "$B" "$@" | grep '^RESULT')
  local rps mbs p50 p99 p999
  rps=$(echo "$out" | field records_per_s); mbs=$(echo "$out" | field mb_per_s)
  p50=$(echo "$out" | field p50_ms); p99=$(echo "$out" | field p99_ms); p999=$(echo "$out" | field p999_ms)
  echo "| $label | $rps | $mbs | ${p50:--} | ${p99:--} | ${p999:--} |"
  LAST_RPS=${rps%.*}
  LAST_P99=$p99
}

echo "| run | records/s | MB/s | p50 ms | p99 ms | p999 ms |"
echo "| --- | --- | --- | --- | --- | --- |"
row "produce acks=1, 1 partition" --topic a1p1 --partitions 1 --count "$COUNT" --acks 1
PEAK=$LAST_RPS
row "produce acks=1, 3 partitions" --topic a1p3 --partitions 3 --count "$COUNT" --acks 1
row "produce acks=all, 1 partition" --topic aAp1 --partitions 1 --count "$COUNT" --acks all
PEAK_ALL=$LAST_RPS
row "produce acks=all, 3 partitions" --topic aAp3 --partitions 3 --count "$COUNT" --acks all
row "consume 1 partition" --mode consume --topic a1p1 --count "$COUNT"
row "consume 3 partitions" --mode consume --topic a1p3 --count "$COUNT"
# Half of peak load: half the rate the same acks setting reached on 1 partition above, for 4 s,
# ROUNDS times (a p99 over 4 s is at the mercy of one stall of this VM: all rounds are printed,
# and the median p99 is summarized at the end).
HALF=$((PEAK / 2))
HALF_ALL=$((PEAK_ALL / 2))
P99_1=() P99_ALL=()
for r in $(seq "$ROUNDS"); do
  row "produce acks=1 at half peak ($HALF/s), linger 1 ms, round $r" --topic half1r$r \
    --partitions 1 --count $((HALF * 4)) --acks 1 --rate "$HALF" --linger-ms 1
  P99_1+=("$LAST_P99")
  row "produce acks=all at half peak ($HALF_ALL/s), linger 1 ms, round $r" --topic halfAr$r \
    --partitions 1 --count $((HALF_ALL * 4)) --acks all --rate "$HALF_ALL" --linger-ms 1
  P99_ALL+=("$LAST_P99")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Consumer vs producer: this VM's speed drifts by up to 2x within a minute, so the ratio is
# taken inside back-to-back pairs (produce COUNT records acks=1 to a new topic, then consume
# them) and the median of ROUNDS pairs is reported.

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
  med=$(median "${ratios[@]}")
  echo "| $parts partition(s) | ${pairs%; } | ${med}x |"
done
echo
echo "median p99 at half peak: acks=1 $(median "${P99_1[@]}") ms (${P99_1[*]}), acks=all $(median "${P99_ALL[@]}") ms (${P99_ALL[*]})"
echo "idle RSS before the runs: ${RSS} KiB; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
