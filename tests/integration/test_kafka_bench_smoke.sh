#!/usr/bin/env bash
# Smoke test of bench/kafka_bench.sh (part of `make bench`): one round with 50,000 records per
# throughput row against real `pyralog server` processes and librdkafka clients. Checks that the
# script exits 0, prints every row with numbers, the consumer/producer pairs and the median
# summary, and leaves no server process or temp data dir behind. Figures are not judged.
set -euo pipefail

SRC=${PYRALOG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${PYRALOG_BUILD_DIR:-$SRC/build}
OUT=$(mktemp)
ERR=$(mktemp)
TMP=$(mktemp -d)
trap 'rm -rf "$OUT" "$ERR" "$TMP"' EXIT
fail() {
  echo "test_kafka_bench_smoke: FAIL: $*" >&2
  echo "--- stdout" >&2
  cat "$OUT" >&2
  echo "--- stderr" >&2
  cat "$ERR" >&2
  exit 1
}

rc=0
BENCH_TMP=$TMP ROUNDS=1 timeout 120 bash "$SRC/bench/kafka_bench.sh" "$BUILD" 50000 >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -eq 0 ] || fail "kafka_bench.sh exited $rc"
num='[0-9]+(\.[0-9]+)?'
for label in "produce acks=1, 1 partition" "produce acks=1, 3 partitions" \
  "produce acks=all, 1 partition" "produce acks=all, 3 partitions"; do
  grep -Eq "^\| $label \| $num \| $num \| $num \| $num \| $num \| [0-9]+ \| [0-9]+ \|$" "$OUT" ||
    fail "no figures for '$label'"
done
for label in "consume 1 partition" "consume 3 partitions"; do
  grep -Eq "^\| $label \| $num \| $num \| - \| - \| - \| [0-9]+ \| [0-9]+ \|$" "$OUT" ||
    fail "no figures for '$label'"
done
grep -Eq "^\| produce acks=1 at half peak \([0-9]+/s\), linger 1 ms, round 1 \| $num \| $num \| $num \| $num \| $num \| [0-9]+ \| [0-9]+ \|$" "$OUT" ||
  fail "no acks=1 half-peak row"
grep -Eq "^\| produce acks=all at half peak \([0-9]+/s\), linger 1 ms, round 1 \| $num \| $num \| $num \| $num \| $num \| [0-9]+ \| [0-9]+ \|$" "$OUT" ||
  fail "no acks=all half-peak row"
for parts in 1 3; do
  grep -Eq "^\| $parts partition\(s\) \| [0-9]+ / [0-9]+ \| $num+x \|$" "$OUT" ||
    fail "no consumer/producer pair for $parts partition(s)"
done
grep -Eq "^median p99 at half peak: acks=1 $num ms \($num\), acks=all $num ms \($num\)$" "$OUT" ||
  fail "no median summary"
grep -Eq "^idle RSS of a fresh server: [0-9]+ KiB" "$OUT" || fail "no idle RSS line"
[ -z "$(ls -A "$TMP")" ] || fail "temp data dirs left behind: $(ls "$TMP")"
if pgrep -f "$TMP/pyralog-bench-" >/dev/null; then fail "a server is still running"; fi

# kafka_load itself: --conf passes librdkafka properties through (a bad one is refused with exit
# 2), and the consumer counts exactly the records asked for with the callback API.
(
  export BENCH_TMP=$TMP
  # shellcheck source=bench/server_lib.sh
  . "$SRC/bench/server_lib.sh"
  start_server "$BUILD/pyralog"
  LOAD=$BUILD/kafka_load
  timeout 60 "$LOAD" --bootstrap "$B" --topic conf --partitions 2 --count 3000 --acks all \
    --conf linger.ms=2 | grep -q "^RESULT mode=produce records=3000 " || exit 11
  out=$(timeout 60 "$LOAD" --bootstrap "$B" --mode consume --topic conf --count 3000 \
    --conf fetch.wait.max.ms=50) || exit 12
  echo "$out" | grep -q "^RESULT mode=consume records=3000 " || exit 13
  if echo "$out" | grep -q "alloc=jemalloc"; then
    echo "$out" | grep -q "malloc_conf=lg_extent_max_active_fit:10,thp:always" || exit 14
  fi
  rc=0
  "$LOAD" --bootstrap "$B" --mode consume --topic conf --count 1 --conf no.such.property=1 \
    2>"$TMP/err" || rc=$?
  [ "$rc" -eq 2 ] && grep -q "no.such.property" "$TMP/err" || exit 15
  rc=0
  "$LOAD" --bootstrap "$B" --mode consume --topic conf --count 1 --conf novalue 2>/dev/null || rc=$?
  [ "$rc" -eq 2 ] || exit 16
  rm -f "$TMP/err"
) >>"$OUT" 2>>"$ERR" || fail "kafka_load --conf / consume check $?"
[ -z "$(ls -A "$TMP")" ] || fail "temp data dirs left behind: $(ls "$TMP")"

# bench/cache_rounds.sh: two small rounds, a row of figures each.
rc=0
BENCH_TMP=$TMP timeout 120 bash "$SRC/bench/cache_rounds.sh" "$BUILD" 2 20000 >>"$OUT" 2>>"$ERR" ||
  rc=$?
[ "$rc" -eq 0 ] || fail "cache_rounds.sh exited $rc"
for r in 1 2; do
  grep -Eq "^\| $r \| $num \| [0-9]+ \| $num \| [0-9]+ \|$" "$OUT" || fail "no cache_rounds row $r"
done
[ -z "$(ls -A "$TMP")" ] || fail "temp data dirs left behind: $(ls "$TMP")"
cat "$OUT"
echo "ok"
