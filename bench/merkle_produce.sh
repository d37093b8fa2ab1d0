#!/usr/bin/env bash
# Produce throughput of `pyralog server` with merkle.enable=true vs false: 100-byte records,
# acks=1, 1 partition, bench/kafka_load (librdkafka) on this machine; the two settings alternate
# ROUNDS times on fresh servers (free ports, temp data dirs, stopped by PID). Each round's pair
# runs back to back, so the per-round ratio sees the same machine state; the summary gives the
# medians and the median of the per-round costs (this shared VM's speed drifts by 2x over
# minutes, so single runs mean little).
# usage: bench/merkle_produce.sh [BUILD_DIR] [COUNT] [ROUNDS]    (defaults: build 3000000 7)
set -euo pipefail
BUILD=${1:-build}
COUNT=${2:-3000000}
ROUNDS=${3:-7}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() { # merkle.enable value → prints records/s
  sync  # start each run without the previous run's dirty pages being written back
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
echo "| round | merkle.enable=false rec/s | merkle.enable=true rec/s | cost |"
echo "| --- | --- | --- | --- |"
OFFS=() ONS=() COSTS=()
for r in $(seq "$ROUNDS"); do
  # alternate which setting runs first, so neither always gets the warmer page cache
  if (( r % 2 )); then off=$(run false); on=$(run true); else on=$(run true); off=$(run false); fi
  cost=$(python3 -c "print(f'{100*(1-$on/$off):.1f}%')")
  echo "| $r | $off | $on | $cost |"
  OFFS+=("$off") ONS+=("$on") COSTS+=("$(python3 -c "print(1-$on/$off)")")
done
python3 - "${OFFS[*]}" "${ONS[*]}" "${COSTS[*]}" <<'PY'
import statistics as st, sys
off, on, cost = ([float(x) for x in a.split()] for a in sys.argv[1:4])
print(f"median: merkle.enable=false {st.median(off):.0f} rec/s, true {st.median(on):.0f} rec/s; "
      f"Merkle cost: median of rounds {100*st.median(cost):.1f}%, of medians "
      f"{100*(1-st.median(on)/st.median(off)):.1f}%")
PY
