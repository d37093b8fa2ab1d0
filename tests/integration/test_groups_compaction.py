"""__consumer_offsets is compacted and still restores the right offsets: with small segments
(offsets.topic.segment.bytes) and a short compaction interval, 600 commits of 10 partitions
roll many segments; the coordinator compacts them (server log: "offsets compacted"), the
partition shrinks on disk, and after a restart `pyralog group describe` shows the last
committed offset of every partition. Also checks the group settings are read from --config."""
import glob
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from groups_util import BUILD, wait_until  # noqa: E402
import kgroup_wire as kw  # noqa: E402

ITERS, PARTS = 600, 10


def log_bytes(data):
    return sum(os.path.getsize(f)
               for f in glob.glob(os.path.join(data, "topics", "__consumer_offsets-0", "*.log")))


def main():
    with plg.TempDir() as tmp:
        data = os.path.join(tmp, "data")
        conf = os.path.join(tmp, "server.properties")
        with open(conf, "w") as f:
            f.write("offsets.topic.segment.bytes = 32768\n"
                    "offsets.topic.compact.interval.ms = 100\n"
                    "group.min.session.timeout.ms = 1000\n")
        kafka = "127.0.0.1:%d" % plg.free_port()
        args = [plg.BIN, "server", "--config", conf, "--data-dir", data, "--kafka-listen", kafka,
                "--http-listen", "127.0.0.1:%d" % plg.free_port()]
        with plg.Proc(args, "pyralog server ready") as srv:
            r = subprocess.run([os.path.join(BUILD, "bench_group_commit"), kafka, str(ITERS),
                                str(PARTS)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            print(r.stdout.strip())
            wait_until(lambda: "offsets compacted" in srv.output(), 20, "a compaction pass")
            # Let passes finish over every sealed segment, then compare with what was written.
            time.sleep(0.5)
            removed = sum(int(x) for x in re.findall(r"offsets compacted.*?removed=(\d+)",
                                                        srv.output()))
            size = log_bytes(data)
            print("records removed by compaction: %d; __consumer_offsets now %d bytes"
                  % (removed, size))
            assert removed >= ITERS * PARTS // 2, removed
            assert size < 32768 * 8, size
            assert srv.stop() == 0

        with plg.Proc(args, "pyralog server ready") as srv2:
            out = subprocess.run([plg.BIN, "group", "describe", "bench-group", "--bootstrap",
                                  kafka], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, timeout=60)
            assert out.returncode == 0, out.stderr + srv2.output()
            rows = {int(x.split()[1]): int(x.split()[2]) for x in out.stdout.splitlines()
                    if x.startswith("bench-commit ")}
            want = {p: (ITERS - 1) * 10 + p for p in range(PARTS)}
            assert rows == want, (rows, want)
            print("restored offsets after compaction and restart:", rows)
            # group.min.session.timeout.ms = 1000 from the config file: 1500 is accepted (the
            # default minimum, 6000, would refuse it), 500 is not.
            c = kw.Conn(kafka)
            for ms, want_err in ((1500, 79), (500, 26)):
                j = kw.parse_join_v5(c.request(11, 5, kw.join_group_v5("cfg-g", session_ms=ms)))
                assert j["error"] == want_err, (ms, j)
            c.close()
    print("ok")


if __name__ == "__main__":
    main()
