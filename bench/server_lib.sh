# server_lib.sh — sourced by bench scripts that run `pyralog server` on this machine:
#   start_server PYRALOG_BIN   a server on free loopback ports with a temp data dir under
#                              ${BENCH_TMP:-/tmp} and ${SERVER_ARGS:-}; sets B (Kafka address),
#                              SPID, DATA; stops the previous one first; fails if it is not ready
#   stop_server                kills it by PID, removes its data dir and syncs (also on EXIT)
#   server_cpu_ms              its CPU time so far (user + system), in ms
#   field NAME                 on stdin, kafka_load's RESULT line: the value of NAME=
#   page_cache_mb              the machine's page cache ("Cached" in /proc/meminfo), in MB
# shellcheck shell=bash
SPID=
DATA=
# A free port below the kernel's ephemeral range (see free_port in tests/integration/lib/plg.py).
PLG_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib" && pwd)
free_port() { python3 -c "import sys; sys.path.insert(0, '$PLG_LIB'); import plg; print(plg.free_port())"; }
stop_server() {
  if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
  # sync: the file system's work for the removal (journal commit, online discard of GBs of
  # freed blocks) happens here rather than under the next section's fsyncs.
  if [ -n "$DATA" ]; then rm -rf "$DATA" && sync; fi
  SPID= DATA=
}
trap stop_server EXIT
start_server() {
  stop_server
  sync # whatever ran before (an earlier benchmark's removed data dir) settles first
  DATA=$(mktemp -d "${BENCH_TMP:-/tmp}"/pyralog-bench-XXXXXX)
  B=127.0.0.1:$(free_port)
  # shellcheck disable=SC2086
  "$1" server --data-dir "$DATA/data" --kafka-listen "$B" \
    --http-listen 127.0.0.1:"$(free_port)" ${SERVER_ARGS:-} 2>"$DATA/server.log" &
  SPID=$!
  for _ in $(seq 100); do grep -qs "pyralog server ready" "$DATA/server.log" && break; sleep 0.05; done
  if ! grep -qs "pyralog server ready" "$DATA/server.log"; then
    cat "$DATA/server.log" >&2
    return 1
  fi
}
TICK_MS=$((1000 / $(getconf CLK_TCK)))
server_cpu_ms() { awk -v t="$TICK_MS" '{ print ($14 + $15) * t }' /proc/"$SPID"/stat; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
page_cache_mb() { awk '/^Cached:/ { print int($2 / 1024) }' /proc/meminfo; }
