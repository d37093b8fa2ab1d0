#!/usr/bin/env bash
# bench/compare.sh — Pyralog side by side with Redis Streams and NATS JetStream (`make bench-compare`).
#
# Starts each server on 127.0.0.1 on ports picked at run time with a fresh data dir under one temp
# dir, runs the same workload against the peer and against `pyralog server`, stops every process
# it started by PID (trap on exit) and prints ONE markdown table:
#   workload | pyralog | peer | ratio | target met?
# Durability classes are paired as the issue asks: Pyralog fsync=never with NATS (which does not
# fsync), fsync=interval with Redis appendfsync everysec, fsync=always with Redis always.
# Every value is 100 bytes. Client and server share the machine, as in
# shared/reference/machine-baselines.md, whose client shapes are reused (Redis 50 clients x
# pipeline 16; NATS 1000 publishes in flight; XRANGE COUNT 1000 from one connection).
#
# Environment:
#   BENCH_RECORDS    records per produce/consume workload (default 2000000)
#   BENCH_ID_SECONDS seconds of the Obelisk ID run (default 3)
#   BENCH_OBELISK_NODES Obelisk nodes of the Pharaoh-network ID row (default 4; see section 6)
#   BENCH_FSYNC_COUNT fdatasync calls of the disk-latency probe (default 2000)
#   PYRALOG_BUILD_DIR build tree with pyralog and the bench tools (default <repo>/build)
#   PYRALOG_BIN       the pyralog binary (default $PYRALOG_BUILD_DIR/pyralog)
#   BENCH_TMP         parent of the temp dir (default ${TMPDIR:-/tmp})
#   BENCH_KEEP_LOGS=1 keep the temp dir (server logs) at the end
# Exit 0 when every workload ran (targets missed are reported, not errors); 1 on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${PYRALOG_BUILD_DIR:-$ROOT/build}
PYRALOG=${PYRALOG_BIN:-$BUILD/pyralog}
N=${BENCH_RECORDS:-2000000}
ID_SECONDS=${BENCH_ID_SECONDS:-3}
SIZE=100
VALUE=$(printf 'v%.0s' $(seq $SIZE))
TMP=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/plg-compare.XXXXXX")
PIDS=()

log() { echo "compare: $*" >&2; }
die() {
  echo "compare: error: $*" >&2
  exit 1
}

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${BENCH_KEEP_LOGS:-0}" = 1 ]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case "$N" in '' | *[!0-9]*) die "BENCH_RECORDS must be a positive integer" ;; esac
[ "$N" -ge 1000 ] || die "BENCH_RECORDS must be at least 1000"

# --- peers installed from Debian when missing ---------------------------------------------------
ensure_pkgs() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1 ||
    missing+=(redis-server redis-tools)
  command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}
ensure_pkgs
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
for t in "$PYRALOG" "$BUILD/fsynclat" "$BUILD/redis_scan" "$BUILD/nats_load" "$BUILD/kafka_load" \
  "$BUILD/kafka_fetch_scan" \
  "$BUILD/obelisk_client"; do
  [ -x "$t" ] || die "$t not built (run make build)"
done

free_port() { # [N]: a port P on 127.0.0.1 such that P..P+N-1 were all free a moment ago
  python3 - "${1:-1}" <<'PY'
import socket, sys
n = int(sys.argv[1])
for _ in range(200):
    socks = [socket.socket()]
    socks[0].bind(("127.0.0.1", 0))
    p = socks[0].getsockname()[1]
    try:
        for k in range(1, n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p + k))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(p)
    break
else:
    sys.exit("no free port range")
PY
}

wait_port() { # PORT PID LOG: until the port accepts connections
  local i
  for i in $(seq 300); do
    kill -0 "$2" 2>/dev/null || die "server exited early; log $3: $(tail -5 "$3")"
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  die "port $1 not open after 15 s; log $3"
}

wait_line() { # LOG TEXT PID
  local i
  for i in $(seq 600); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || die "server exited early: $(tail -5 "$1")"
    sleep 0.05
  done
  die "no '$2' in $1 after 30 s"
}

stop_pid() { # PID: SIGTERM, wait, forget
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

metrics() { # PORT: the server's /metrics text
  python3 -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=10).read().decode())' \
    "http://127.0.0.1:$1/metrics"
}

hist_p99_us() { # BEFORE AFTER NAME [LABEL]: upper bound (us) of the histogram bucket holding the
  # 99th percentile of the observations made between the two /metrics snapshots
  awk -v name="$3" -v label="${4:-}" '
    index($0, name "_bucket{") == 1 && (label == "" || index($0, label)) {
      le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le)
      if (FILENAME == ARGV[1]) { before[le] = $2; next }
      n++; bound[n] = le; cum[n] = $2 - before[le] }
    END {
      if (!n || cum[n] <= 0) { print 0; exit }
      for (i = 1; i <= n; i++) if (cum[i] >= 0.99 * cum[n]) {
        if (bound[i] == "+Inf") { print 0; exit }
        printf "%.0f\n", bound[i] * 1e6; exit } }' <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

kv() { # KEY LINE: value of KEY=... in a key=value line
  sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1
}

# --- servers ------------------------------------------------------------------------------------
spawn() { # LOG CMD...: runs CMD in the background with output to LOG -> SPAWN_PID
  "${@:2}" >"$1" 2>&1 &
  SPAWN_PID=$!
  PIDS+=("$SPAWN_PID")
}

fresh_dir() { # NAME: an empty directory under the run's temp dir
  rm -rf "${TMP:?}/$1"
  mkdir -p "$TMP/$1"
  echo "$TMP/$1"
}

redis_start() { # FSYNC(everysec|always) -> REDIS_PORT REDIS_PID
  local d
  d=$(fresh_dir "redis-$1")
  REDIS_PORT=$(free_port)
  spawn "$d.log" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
    --dir "$d" --save '' --appendonly yes --appendfsync "$1" --auto-aof-rewrite-percentage 0 \
    --daemonize no
  REDIS_PID=$SPAWN_PID
  wait_port "$REDIS_PORT" "$REDIS_PID" "$d.log"
}

nats_start() { # -> NATS_PORT NATS_PID
  local d
  d=$(fresh_dir nats)
  NATS_PORT=$(free_port)
  spawn "$d.log" "$NATS_SERVER" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$d"
  NATS_PID=$SPAWN_PID
  wait_line "$d.log" "Server is ready" "$NATS_PID"
}

plg_start() { # FSYNC(never|interval:MS|always) -> PLG_PORT PLG_PID
  local d
  d=$(fresh_dir "pyralog-${1%%:*}")
  PLG_PORT=$(free_port)
  PLG_HTTP=$(free_port)
  spawn "$d.log" "$PYRALOG" server --data-dir "$d" --kafka-listen "127.0.0.1:$PLG_PORT" \
    --http-listen "127.0.0.1:$PLG_HTTP" --set "log.fsync=$1" --set log.level=warn
  PLG_PID=$SPAWN_PID
  wait_line "$d.log" "pyralog server ready" "$PLG_PID"
}

obelisk_start() { # NODE_ID -> OBL_PORT OBL_PID
  local d
  d=$(fresh_dir "obelisk-$1")
  OBL_PORT=$(free_port 2) # the binary protocol listens on the next port (what clients expect)
  spawn "$d.log" "$PYRALOG" obelisk --node-id "$1" --data-dir "$d" --listen "127.0.0.1:$OBL_PORT"
  OBL_PID=$SPAWN_PID
  wait_line "$d.log" "pyralog obelisk ready" "$OBL_PID"
}

# --- Redis workloads (redis-benchmark --csv: "test","rps",...) ----------------------------------
redis_bench() { # PORT N CMD...: prints requests/s
  local port=$1 n=$2 out rps
  shift 2
  out=$(redis-benchmark -h 127.0.0.1 -p "$port" --csv -c 50 -P 16 -n "$n" "$@" 2>&1) ||
    die "redis-benchmark $*: $out"
  rps=$(awk -F'","' 'NR>1 && NF>2 {print $2; exit}' <<<"$out")
  [ -n "$rps" ] || die "redis-benchmark $1: no result: $out"
  printf '%.0f' "$rps"
}

redis_xlen() {
  redis-cli -h 127.0.0.1 -p "$1" XLEN mystream
}

# --- running a workload with its CPU cost ------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
cpu_s() { # PID: user+system CPU seconds the process has used so far
  awk -v t="$CLK_TCK" '{ print ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# LABEL SERVER_PID CMD...: runs CMD (a command or a function of this script); its stdout goes to
# RUN_OUT. Logs the result and the CPU seconds of the server and of the client with the wall
# time, so a reader can see what bounds a figure on a shared machine.
run() {
  local label=$1 spid=$2 s0 s1 rc=0 cu cs wall o="$TMP/run.out" e="$TMP/run.err" t="$TMP/run.time"
  shift 2
  s0=$(cpu_s "$spid")
  { TIMEFORMAT='%U %S %R'; time "$@" >"$o" 2>"$e"; } 2>"$t" || rc=$?
  s1=$(cpu_s "$spid")
  RUN_OUT=$(cat "$o")
  [ "$rc" -eq 0 ] || die "$label: $* exited $rc: $(cat "$o" "$e" | tail -5)"
  read -r cu cs wall <"$t"
  log "$label: $RUN_OUT"
  log "$label: cpu server=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", b - a }')s" \
    "client=$(awk -v a="$cu" -v b="$cs" 'BEGIN { printf "%.2f", a + b }')s wall=${wall}s"
}

# --- table ---------------------------------------------------------------------------------------
ROWS=()
row() { # WORKLOAD PLG PEER UNIT DIR(higher|lower|info) TARGET
  local w=$1 a=$2 b=$3 unit=$4 dir=$5 target=$6 ratio met
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
  if awk -v a="$a" -v b="$b" 'BEGIN { exit !(a + 0 <= 0 || b + 0 <= 0) }'; then
    met="NO (a figure is missing)"
  elif [ "$dir" = higher ]; then
    met=$(awk -v r="$ratio" -v t="$target" 'BEGIN{print (r >= t) ? "yes" : "NO"}')
    met="$met (>= ${target}x)"
  elif [ "$dir" = info ]; then # no target in the issue: shown for context
    met="no target"
  else # latency: ratio = pyralog / peer, target is a ceiling
    met=$(awk -v r="$ratio" -v t="$target" 'BEGIN{print (r <= t) ? "yes" : "NO"}')
    met="$met (<= ${target}x)"
  fi
  ROWS+=("| $w | $(fmt "$a") $unit | $(fmt "$b") $unit | ${ratio}x | $met |")
}
fmt() { # an integer with a thin space between thousands: 1 234 567
  awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); o = "";
    while (length(s) > 3) { o = " " substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
    print s o }'
}

START=$(date +%s)
log "records=$N value=${SIZE}B tmp=$TMP"
log "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc)" \
  "cpu='$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)' kernel=$(uname -r)"
log "versions: $(redis-server --version | sed 's/ sha=.*//'), $("$NATS_SERVER" --version)," \
  "$("$PYRALOG" version | head -1), librdkafka $(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null || echo '?')"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Disk floor: raw fdatasync latency of a 4 KiB append, on the same filesystem as the data dirs.
run "disk fdatasync" 0 \
  "$BUILD/fsynclat" --count "${BENCH_FSYNC_COUNT:-2000}" --bs 4096 --max-seconds 20 "$TMP/fsynclat.dat"
DISK_P99=$(kv p99_us "$RUN_OUT")

# 2. NATS JetStream: publish with 1000 acks in flight, then read back.
nats_start
run "nats publish" "$NATS_PID" \
  "$BUILD/nats_load" --port "$NATS_PORT" --publish --count "$N" --size $SIZE --inflight 1000
NP=$RUN_OUT
run "nats consume" "$NATS_PID" \
  "$BUILD/nats_load" --port "$NATS_PORT" --consume --count "$N" --size $SIZE --batch 1000
NC=$RUN_OUT
stop_pid "$NATS_PID"
rm -rf "$TMP/nats"

# 3. Redis everysec: XADD, XRANGE full scan, INCR.
redis_start everysec
run "redis everysec XADD" "$REDIS_PID" redis_bench "$REDIS_PORT" "$N" XADD mystream '*' f "$VALUE"
RX1=$RUN_OUT
[ "$(redis_xlen "$REDIS_PORT")" = "$N" ] || die "Redis XLEN is not $N after XADD"
run "redis XRANGE hiredis" "$REDIS_PID" \
  "$BUILD/redis_scan" --port "$REDIS_PORT" --key mystream --count 1000 --expect "$N" --client hiredis
RS=$RUN_OUT
run "redis XRANGE raw" "$REDIS_PID" \
  "$BUILD/redis_scan" --port "$REDIS_PORT" --key mystream --count 1000 --expect "$N" --client raw
RSR=$RUN_OUT
run "redis everysec INCR" "$REDIS_PID" redis_bench "$REDIS_PORT" "$N" INCR idgen
RI=$RUN_OUT
stop_pid "$REDIS_PID"
rm -rf "$TMP/redis-everysec"

# 4. Redis always: XADD.
redis_start always
run "redis always XADD" "$REDIS_PID" redis_bench "$REDIS_PORT" "$N" XADD mystream '*' f "$VALUE"
RX2=$RUN_OUT
[ "$(redis_xlen "$REDIS_PORT")" = "$N" ] || die "Redis XLEN is not $N after XADD"
stop_pid "$REDIS_PID"
rm -rf "$TMP/redis-always"

# 5. Pyralog, one fresh server per durability class.
kload() { # MODE ARGS...: the librdkafka load tool (bench/kafka_load) -> its RESULT line
  local out
  out=$("$BUILD/kafka_load" --mode "$1" --bootstrap "127.0.0.1:$PLG_PORT" "${@:2}") ||
    die "kafka_load $*: $out"
  grep '^RESULT ' <<<"$out" || die "kafka_load $*: no RESULT line: $out"
}
plg_start never
run "pyralog fsync=never acks=1" "$PLG_PID" kload produce --size $SIZE --topic bench --count "$N" --acks 1
PN=$RUN_OUT
run "pyralog fsync=never acks=all" "$PLG_PID" kload produce --size $SIZE --topic bench2 --count "$N" --acks all
PNA=$RUN_OUT
stop_pid "$PLG_PID"

plg_start interval:1000
run "pyralog fsync=interval acks=1" "$PLG_PID" kload produce --size $SIZE --topic bench --count "$N" --acks 1
PI=$RUN_OUT
run "pyralog consume" "$PLG_PID" kload consume --topic bench --count "$N"
PC=$RUN_OUT
run "pyralog raw fetch" "$PLG_PID" \
  "$BUILD/kafka_fetch_scan" --bootstrap "127.0.0.1:$PLG_PORT" --topic bench --count "$N"
PCR=$RUN_OUT
stop_pid "$PLG_PID"

plg_start always
run "pyralog fsync=always acks=all" "$PLG_PID" kload produce --size $SIZE --topic bench --count "$N" --acks all
PA=$RUN_OUT
PEAK=$(kv records_per_s "$PA")
HALF=$(awk -v p="$PEAK" 'BEGIN { printf "%.0f", p / 2 }')
# About 5 s at half the peak rate, within [1000, N] records.
LN=$(awk -v h="$HALF" -v n="$N" 'BEGIN { x = h * 5; if (x > n) x = n; if (x < 1000) x = 1000; printf "%.0f", x }')
M0=$(metrics "$PLG_HTTP")
# The latency client sends at once (linger.ms=0) with one request in flight: a record then waits
# for at most the request ahead of it, as a latency-sensitive producer would be configured.
run "pyralog fsync=always acks=all at $HALF/s" "$PLG_PID" \
  kload produce --size $SIZE --topic lat --count "$LN" --acks all --rate "$HALF" \
  --linger-ms 0 --in-flight 1
PL=$RUN_OUT
# Where the latency goes, server side, from its /metrics histograms over that run alone: the
# bucket bound under which 99% of flusher fdatasyncs and of Produce requests (arrival to answer,
# the durable wait included) completed.
M1=$(metrics "$PLG_HTTP")
FSYNC_P99=$(hist_p99_us "$M0" "$M1" pyralog_storage_fsync_duration_seconds)
PRODUCE_P99=$(hist_p99_us "$M0" "$M1" pyralog_kafka_request_duration_seconds 'api="Produce"')
stop_pid "$PLG_PID"
# The same client at the same rate with no fsync and acks=1: what the client library and
# loopback alone add. When this floor is above 2x the raw fdatasync p99, no fsync path can meet
# the target end to end on this machine.
plg_start never
run "pyralog fsync=never acks=1 at $HALF/s" "$PLG_PID" \
  kload produce --size $SIZE --topic lat --count "$LN" --acks 1 --rate "$HALF" \
  --linger-ms 0 --in-flight 1
PLF=$RUN_OUT
stop_pid "$PLG_PID"

# 6. Obelisk IDs: binary batches of 4096 IDs vs Redis INCR -c50 -P16 (section 3, same run).
# A Scarab ID holds 12 bits of sequence per millisecond, so ONE node can never issue more than
# 4096 IDs/ms = 4.096M IDs/s (docs/obelisk.md): the 1-node row is information, with that bound.
# The design scales by node ids: a Pharaoh network of OBL_NODES nodes (ids 1..N) on this machine,
# one client spreading its batches over them. N = 4 is the smallest N whose layout ceiling
# (N x 4.096M = 16.4M/s) clears 10x the best Redis INCR -P16 figure seen on this machine
# (1.0-1.3M/s): 3 nodes top out at 12.3M/s, below 10 x 1.3M. Each run first takes IDs for
# OBL_WARMUP s unmeasured, so the up-to-100 ms a node may run ahead of real time at start
# (max_lead_ms) is spent before the clock starts and the figure is the steady state.
OBL_N=${BENCH_OBELISK_NODES:-4}
OBL_WARMUP=0.5
OBL_NODES=""
OBL_PIDS=()
for id in $(seq "$OBL_N"); do
  obelisk_start "$id"
  OBL_NODES="${OBL_NODES:+$OBL_NODES,}127.0.0.1:$OBL_PORT"
  OBL_PIDS+=("$OBL_PID")
  [ "$id" = 1 ] && OBL_NODE1=$OBL_NODES
done
run "obelisk IDs, 1 node" "${OBL_PIDS[0]}" \
  "$BUILD/obelisk_client" "$OBL_NODE1" "$ID_SECONDS" 4096 --warmup "$OBL_WARMUP"
OB=$RUN_OUT
run "obelisk IDs, $OBL_N nodes" "${OBL_PIDS[0]}" \
  "$BUILD/obelisk_client" "$OBL_NODES" "$ID_SECONDS" 4096 --warmup "$OBL_WARMUP"
OBN=$RUN_OUT
for p in "${OBL_PIDS[@]}"; do stop_pid "$p"; done

row "produce, acks=1, fsync=never vs NATS JetStream publish, 1000 in flight" \
  "$(kv records_per_s "$PN")" "$(kv msgs_per_s "$NP")" rec/s higher 2
row "produce, acks=all, fsync=never vs NATS JetStream publish, 1000 in flight" \
  "$(kv records_per_s "$PNA")" "$(kv msgs_per_s "$NP")" rec/s higher 2
row "produce, acks=1, fsync=interval vs Redis XADD -c50 -P16, appendfsync everysec" \
  "$(kv records_per_s "$PI")" "$RX1" rec/s higher 1.5
row "produce, acks=all, fsync=always vs Redis XADD -c50 -P16, appendfsync always" \
  "$PEAK" "$RX2" rec/s higher 1.5
row "consume all (Kafka consumer) vs Redis XRANGE COUNT 1000, 1 connection, hiredis" \
  "$(kv records_per_s "$PC")" "$(kv entries_per_s "$RS")" rec/s higher 1.5
row "consume all, raw Fetch walker (no client library) vs Redis XRANGE COUNT 1000, raw RESP walker" \
  "$(kv records_per_s "$PCR")" "$(kv entries_per_s "$RSR")" rec/s info -
row "consume all (Kafka consumer) vs NATS JetStream pull consumer, ack none" \
  "$(kv records_per_s "$PC")" "$(kv msgs_per_s "$NC")" rec/s info -
row "p99 produce latency, acks=all fsync=always at half peak ($HALF/s) vs raw 4 KiB fdatasync p99" \
  "$(awk -v m="$(kv p99_ms "$PL")" 'BEGIN{printf "%.0f", m * 1000}')" "$DISK_P99" us lower 2
row "  same rate, acks=1 fsync=never (no fsync: client library + loopback floor) vs raw 4 KiB fdatasync p99" \
  "$(awk -v m="$(kv p99_ms "$PLF")" 'BEGIN{printf "%.0f", m * 1000}')" "$DISK_P99" us info -
row "  server side, that run: 99% of flusher fdatasyncs within (histogram bucket) vs raw p99" \
  "$FSYNC_P99" "$DISK_P99" us info -
row "  server side, that run: 99% of Produce requests answered within (arrival to durable answer)" \
  "$PRODUCE_P99" "$DISK_P99" us info -
row "IDs over loopback: 1 Obelisk node (layout bound 4 096 000/s per node), binary batches of 4096 vs Redis INCR -c50 -P16 (everysec)" \
  "$(kv ids_per_s "$OB")" "$RI" ids/s info -
row "IDs over loopback: $OBL_N Obelisk nodes (Pharaoh network), one client, binary batches of 4096 vs Redis INCR -c50 -P16 (everysec)" \
  "$(kv ids_per_s "$OBN")" "$RI" ids/s higher 10

echo "| workload | pyralog | peer | ratio | target met? |"
echo "|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
log "done in $(($(date +%s) - START)) s"
