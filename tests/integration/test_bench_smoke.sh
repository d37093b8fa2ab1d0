#!/usr/bin/env bash
# Smoke test of bench/compare.sh (`make bench-compare`): a tiny run (20,000 records, 1 s of IDs)
# against real redis-server, nats-server, `pyralog server` and `pyralog obelisk` processes. Checks
# only that the script exits 0, prints the table header and every workload row with numbers in
# both columns, reports no error, and leaves no server process behind. Figures are not judged.
set -euo pipefail

SRC=${PYRALOG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${PYRALOG_BUILD_DIR:-$SRC/build}
export PYRALOG_BUILD_DIR=$BUILD
export PYRALOG_BIN=${PYRALOG_BIN:-$BUILD/pyralog}
export BENCH_RECORDS=20000 BENCH_ID_SECONDS=1 BENCH_FSYNC_COUNT=300

OUT=$(mktemp)
ERR=$(mktemp)
trap 'rm -f "$OUT" "$ERR"' EXIT

fail() {
  echo "test_bench_smoke: FAIL: $*" >&2
  echo "--- stdout" >&2
  cat "$OUT" >&2
  echo "--- stderr" >&2
  cat "$ERR" >&2
  exit 1
}

start=$(date +%s)
rc=0
timeout 120 bash "$SRC/bench/compare.sh" >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -eq 0 ] || fail "compare.sh exited $rc"

grep -qx '| workload | pyralog | peer | ratio | target met? |' "$OUT" || fail "no table header"
grep -qE 'compare: error|level=error|AddressSanitizer|runtime error' "$ERR" && fail "an error was reported"

# Every workload row, with a number in the pyralog and peer columns, a ratio and a verdict.
for w in "produce, acks=1, fsync=never vs NATS" "produce, acks=all, fsync=never vs NATS" \
  "produce, acks=1, fsync=interval vs Redis XADD" "produce, acks=all, fsync=always vs Redis XADD" \
  "consume all (Kafka consumer) vs Redis XRANGE COUNT 1000, 1 connection, hiredis" \
  "consume all, raw Fetch walker (no client library) vs Redis XRANGE COUNT 1000, raw" \
  "consume all (Kafka consumer) vs NATS" \
  "p99 produce latency, acks=all fsync=always" "  same rate, acks=1 fsync=never" \
  "  server side, that run: 99% of flusher fdatasyncs" \
  "  server side, that run: 99% of Produce requests" "IDs over loopback: 1 Obelisk node" \
  "IDs over loopback: 4 Obelisk nodes"; do
  line=$(grep -F "| $w" "$OUT") || fail "no row for '$w'"
  [ "$(grep -cF "| $w" "$OUT")" -eq 1 ] || fail "row '$w' printed more than once"
  awk -F'|' '{ if ($3 !~ /[0-9]/ || $4 !~ /[0-9]/ || $5 !~ /[0-9.]+x/ ||
                   $6 !~ /(yes|NO|no target)/) exit 1 }' <<<"$line" || fail "bad row: $line"
  # A zero figure means a workload silently did nothing.
  awk -F'|' '{ split($3, a, " "); split($4, b, " "); if (a[1] == "0" || b[1] == "0") exit 1 }' \
    <<<"$line" || fail "zero figure in row: $line"
done
[ "$(grep -c '^|' "$OUT")" -eq 15 ] || fail "expected a header, a rule and 13 rows"

# Nothing left running from this run: compare.sh stops servers by PID on exit.
tmpdir=$(sed -n 's/.*tmp=\([^ ]*\).*/\1/p' "$ERR" | head -1)
[ -n "$tmpdir" ] || fail "compare.sh did not name its temp dir"
[ ! -e "$tmpdir" ] || fail "temp dir $tmpdir left behind"
if pgrep -f -- "$tmpdir" >/dev/null; then fail "a server of this run is still running"; fi

echo "test_bench_smoke: ok in $(($(date +%s) - start)) s"
