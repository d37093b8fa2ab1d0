"""Compaction runs off the event loop: while the server compacts a large cleanup.policy=compact
topic (small segments, many overwritten keys), a second client keeps sending small Produce
requests to another topic and timing each round trip. The server logs every compaction pass with
its worker time (run_ms) and the time the loop spent installing it (install_ms); inside each long
pass's time window the probe client must have been served, and no round trip may come near the
pass's length (it would if the loop were blocked for the whole compaction, as it used to be).
The compacted topic must then hold exactly the last value of every key. With
PLG_TEST_HOUSEKEEP_INLINE=1 the server does the file work on the loop as it used to, and this
test fails (one probe served during a 200 ms pass, its round trip as long as the pass)."""
import os
import re
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from plg import run  # noqa: E402
from probe import Prober  # noqa: E402

RECORDS = int(os.environ.get("PLG_OFFLOOP_RECORDS", "500000"))
KEYS = 20000
LONG_PASS_MS = 150  # passes at least this long are the ones the probes are checked against


def passes(log_text):
    """(end time, run seconds, install seconds, removed) of every compaction pass of 'cmp'."""
    out = []
    for m in re.finditer(r"^(\S+)Z .*msg=\"compacted\" topic=cmp partition=0 removed=(\d+) "
                         r"discarded_segments=\d+ run_ms=([\d.]+) install_ms=([\d.]+)",
                         log_text, re.M):
        end = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=timezone.utc).timestamp()
        out.append((end, float(m.group(3)) / 1000, float(m.group(4)) / 1000, int(m.group(2))))
    return out


def main():
    with plg.TempDir() as d:
        # Load with housekeeping far away, then restart with a short interval: the first pass
        # then compacts everything at once, while only the probe client talks to the server.
        srv = plg.server(d, extra=["--set", "log.retention.check.interval.ms=3600000"])
        with srv:
            b = ["--bootstrap", srv.kafka]
            r = run(plg.BIN, "topic", "create", "cmp", "--config", "cleanup.policy=compact",
                    "--config", "segment.bytes=262144", *b)
            assert r.returncode == 0, r.stderr
            r = run(plg.BIN, "topic", "create", "probe", *b)
            assert r.returncode == 0, r.stderr
            # Key i % KEYS, value "<i>-" padded; every 10th record has a key of its own, so
            # every segment keeps some records.
            want, lines = {}, []
            for i in range(RECORDS):
                k = "u%d" % i if i % 10 == 0 else "key%d" % (i % KEYS)
                want[k] = i
                lines.append("%s:%d-%s\n" % (k, i, "v" * 30))
            r = run("kcat", "-b", srv.kafka, "-P", "-t", "cmp", "-p", "0", "-K:",
                    "-X", "linger.ms=5", input="".join(lines))
            assert r.returncode == 0, r.stderr
            assert srv.stop() == 0
        srv = plg.server(d, extra=["--set", "log.retention.check.interval.ms=300"])
        with srv:
            prober = Prober(srv.kafka, "probe")
            prober.start()
            deadline = time.time() + 60
            while time.time() < deadline and not passes(srv.output()):
                time.sleep(0.1)
            time.sleep(0.5)
            prober.stop.set()
            prober.join(30)
            assert prober.error is None, prober.error
            done = passes(srv.output())
            assert done, "no compaction pass logged:\n" + srv.output()[-3000:]
            long_passes = [p for p in done if p[1] * 1000 >= LONG_PASS_MS]
            assert long_passes, "no compaction pass took %d ms or more: %s" % (LONG_PASS_MS, done)
            for end, run_s, install_s, removed in long_passes:
                start = end - run_s - install_s
                inside = prober.during(start, end - install_s)
                worst = max(inside) if inside else None
                print("pass: removed=%d run=%.0f ms install=%.2f ms; probes during it: %d, "
                      "worst round trip %.1f ms" % (removed, run_s * 1000, install_s * 1000,
                                                   len(inside), (worst or 0) * 1000))
                assert len(inside) >= 3, "the probe client was not served during the pass"
                assert worst < run_s / 2, "a round trip stalled for most of the pass"
            all_rtt = sorted(rtt for _, rtt in prober.samples)
            print("probes: %d, median %.2f ms, max %.1f ms" % (
                len(all_rtt), all_rtt[len(all_rtt) // 2] * 1000, all_rtt[-1] * 1000))

            # The compacted topic keeps exactly the last value of every key.
            r = run("kcat", "-b", srv.kafka, "-C", "-t", "cmp", "-p", "0", "-o", "beginning",
                    "-e", "-q", "-f", "%k %s\n")
            assert r.returncode == 0, r.stderr
            last = {}
            for line in r.stdout.splitlines():
                k, v = line.split(" ")
                last[k] = int(v.split("-")[0])
            assert last == want, "compaction lost or kept the wrong values"
            assert r.stdout.count("\n") < RECORDS, "nothing was compacted away"


if __name__ == "__main__":
    main()
