"""Consuming a compacted topic with a real client (kcat / librdkafka) after compaction removed
whole segments' worth of records: 200,000 records over 2,000 keys, so compaction leaves most
sealed segments with nothing but empty batches over the removed offsets. A Fetch must not answer with only such batches (librdkafka 2.0 then stops with "might
be too large to fetch"): the consumer must read from the beginning through to the records that
remain, in offset order, with the last value last, and stop at the end (-e) with exit 0."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from plg import run  # noqa: E402

RECORDS = 200000
KEYS = 2000


def main():
    with plg.TempDir() as d:
        # Produce with housekeeping far away; then restart with a short interval so the first
        # pass compacts every sealed segment.
        with plg.server(d, extra=["--set", "log.retention.check.interval.ms=3600000"]) as srv:
            r = run(plg.BIN, "topic", "create", "cmp", "--config", "cleanup.policy=compact",
                    "--config", "segment.bytes=65536", "--bootstrap", srv.kafka)
            assert r.returncode == 0, r.stderr
            data = "".join("key%d:%d\n" % (i % KEYS, i) for i in range(RECORDS))
            r = run("kcat", "-b", srv.kafka, "-P", "-t", "cmp", "-p", "0", "-K:", input=data)
            assert r.returncode == 0, r.stderr
        with plg.server(d, extra=["--set", "log.retention.check.interval.ms=100"]) as srv:
            deadline = time.time() + 30
            while time.time() < deadline:
                m = re.search(r'msg="compacted" topic=cmp partition=0 removed=(\d+)',
                              srv.output())
                if m and int(m.group(1)) > 0:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("no compaction pass of cmp:\n" + srv.output()[-2000:])
            removed = int(m.group(1))
            r = run("kcat", "-b", srv.kafka, "-C", "-t", "cmp", "-p", "0", "-o", "beginning",
                    "-e", "-q", "-f", "%o %k %s\n")
            assert r.returncode == 0, "kcat failed: %s" % r.stderr
            assert "too large" not in r.stderr, r.stderr
            rows = [line.split() for line in r.stdout.splitlines()]
            assert rows, "nothing consumed"
            offsets = [int(o) for o, _, _ in rows]
            assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), offsets[:20]
            assert all(int(o) == int(v) for o, _, v in rows), rows[:5]  # value i at offset i
            # Every key's last value is there (the active segment may keep older ones too).
            last = {}
            for o, k, _ in rows:
                last[k] = int(o)
            assert last == {"key%d" % k: RECORDS - KEYS + k for k in range(KEYS)}, \
                sorted(last.items())[:5]
            # What compaction removed is exactly what the consumer skipped.
            assert len(rows) + removed == RECORDS, (len(rows), removed)
            print("test_kafka_compacted_fetch: ok, %d records removed by compaction, %d read"
                  % (removed, len(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
