#!/usr/bin/env python3
"""Drop-behind across partitions (log.cache.total.bytes): once the logs together keep more written
data cached than the limit, a partition that nobody has written to for 5 s drops its page cache,
while the partition being written keeps its newest data cached; and everything still reads back.

A server with log.cache.keep.bytes=64 MiB (each partition alone would keep all of this test's
data) and log.cache.total.bytes=4 MiB: 16 MB go to topic "old" (kcat, acks=all), then after 5 s
of quiet (data is not dropped sooner) a producer writes small batches to "new". Within a few
seconds "old"'s segment must have left the page cache (fincore), "new"'s newest data must still
be cached, and "old" must read back whole. Page-cache advice does nothing on tmpfs: the data
directory goes on a disk file system (skipped when there is none)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from kwire import batch, connect, parse_produce_v3, produce_v3, recv_frame  # noqa: E402

N = 32000  # records of ~500 bytes: 16 MB


def resident(path):
    """Bytes of path in the page cache (util-linux fincore)."""
    r = plg.run("fincore", "--bytes", "--noheadings", "--output", "RES", path)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[0])


def segment(d, topic):
    pdir = os.path.join(d, "topics", "%s-0" % topic)
    logs = sorted(f for f in os.listdir(pdir) if f.endswith(".log"))
    return os.path.join(pdir, logs[-1])


def main():
    base = plg.disk_base()
    if base is None:
        print("skipped: no disk file system for the data directory")
        return
    with plg.TempDir(dir=base) as d:
        srv = plg.server(d, extra=["--set", "log.cache.keep.bytes=67108864",
                                   "--set", "log.cache.total.bytes=4194304"])
        with srv:
            for topic in ("old", "new"):
                r = plg.run(plg.BIN, "topic", "create", topic, "--bootstrap", srv.kafka)
                assert r.returncode == 0, r.stderr
            pad = "x" * 480
            lines = "".join("r%06d %s\n" % (i, pad) for i in range(N))
            r = plg.run("kcat", "-b", srv.kafka, "-P", "-t", "old", "-p", "0", "-X", "acks=all",
                        input=lines)
            assert r.returncode == 0, r.stderr
            old = segment(d, "old")
            size = os.path.getsize(old)
            assert size > 15_000_000, size
            held = resident(old)
            # Under the per-partition window: written and still cached.
            assert held > size // 2, "old: %d of %d bytes cached after writing" % (held, size)
            time.sleep(5.2)  # "old" is idle from now on: dropped once idle for 5 s

            s = connect(srv.kafka)
            corr, t0, dropped = 0, time.time(), None
            while time.time() - t0 < 10:
                corr += 1
                values = [b"n%06d-" % (corr * 50 + i) + b"y" * 400 for i in range(50)]
                s.sendall(produce_v3(corr, [(b"new", [(0, batch(values))])], acks=-1))
                _, out = parse_produce_v3(recv_frame(s))
                assert out[("new", 0)][0] == 0, out
                if resident(old) <= size // 20:
                    dropped = time.time() - t0
                    break
                time.sleep(0.05)
            assert dropped is not None, "old still has %d of %d bytes cached after 10 s" % (
                resident(old), size)
            new = segment(d, "new")
            new_size = os.path.getsize(new)
            new_held = resident(new)
            assert new_held >= new_size // 2, "new: %d of %d bytes cached" % (new_held, new_size)
            print("ok: old dropped %.2f s after writes to new began (%d of %d bytes cached); "
                  "new keeps %d of %d" % (dropped, resident(old), size, new_held, new_size))

            r = plg.run("kcat", "-b", srv.kafka, "-C", "-t", "old", "-o", "beginning", "-e", "-q",
                        "-f", "%s\n")
            assert r.returncode == 0, r.stderr
            assert r.stdout == lines, "old does not read back whole"
            print("ok: old reads back whole (%d records)" % N)
            assert srv.stop() == 0


if __name__ == "__main__":
    main()
