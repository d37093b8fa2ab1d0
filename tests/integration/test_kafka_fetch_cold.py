"""Fetch of data that is not in the page cache: the server reads it on a worker first (so the
event loop never waits for the disk in sendfile), then answers with it unchanged.
20,000 records (~10 MB, 2 partitions) are produced with kcat; once they are synced, the test
drops the partition files from the page cache (posix_fadvise DONTNEED, as the server's own
drop-behind or a restart would leave them) and consumes everything with kcat: the records come
back exactly, and pyralog_fetch_cold_reads_total went up. A second consume, now from the cache,
adds no cold read: a fetch of cached data never goes through a worker. A long-poll fetch whose
data was cold still waits for min_bytes or max_wait after the read."""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
import plg  # noqa: E402
from plg import run  # noqa: E402

N = 20_000
COLD = "pyralog_fetch_cold_reads_total"


def cold_reads(srv):
    return plg.metric_value(plg.http_metrics(srv.http)[1], COLD, 0.0)


def drop_cache(data_dir, topic):
    n = 0
    for path in glob.glob(os.path.join(data_dir, "topics", topic + "-*", "*.log")):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        n += 1
    return n


def consume(srv, topic):
    r = run("kcat", "-b", srv.kafka, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
            "-f", "%p %o %s\n", timeout=60)
    assert r.returncode == 0, r.stderr
    got = {}
    for line in r.stdout.splitlines():
        p, o, v = line.split(" ", 2)
        got.setdefault(int(p), []).append((int(o), v))
    return got


def main():
    # Page-cache advice does nothing on tmpfs: keep the data on a disk file system.
    base = plg.disk_base()
    if base is None:
        print("skipped: no disk file system for the data directory")
        return
    with plg.TempDir(dir=base) as d:
        srv = plg.server(d)
        with srv:
            r = run(plg.BIN, "topic", "create", "cold", "--partitions", "2",
                    "--bootstrap", srv.kafka)
            assert r.returncode == 0, r.stderr
            pad = "x" * 480
            lines = "".join("r%06d %s\n" % (i, pad) for i in range(N))
            r = run("kcat", "-b", srv.kafka, "-P", "-t", "cold", "-X", "acks=all", input=lines,
                    timeout=60)
            assert r.returncode == 0, r.stderr
            time.sleep(0.3)  # acks=all: durable; the pause lets the flusher finish its pass
            assert drop_cache(d, "cold") >= 2
            before = cold_reads(srv)
            got = consume(srv, "cold")
            after = cold_reads(srv)
            values = sorted(v for part in got.values() for _, v in part)
            assert values == sorted(lines.splitlines()), "records differ after a cold read"
            for part in got.values():  # offsets in order, none missing, per partition
                offs = [o for o, _ in part]
                assert offs == list(range(len(offs))), offs[:10]
            assert after > before, "no fetch was served through the worker read (%s -> %s)" % (
                before, after)
            print("cold consume: %d records back, %d fetches read on a worker first"
                  % (len(values), after - before))
            # Now cached: consuming again needs no worker. This VM also runs a DAMON pageout
            # scheme that may evict idle page-cache pages at any time, so up to 3 tries; a
            # server that sent every fetch through the worker fails all of them.
            for attempt in range(3):
                start = cold_reads(srv)
                got2 = consume(srv, "cold")
                assert sum(len(p) for p in got2.values()) == N
                again = cold_reads(srv)
                if again == start:
                    break
            assert again == start, "cached data went through the worker (%s -> %s)" % (start,
                                                                                        again)
            # min_bytes still holds after a cold read: more than the partition has, 700 ms
            # max_wait: the answer comes at max_wait, with the data, not when the read is done.
            # kcat's sticky partitioner may have put every record in one partition: ask the
            # one that holds the most.
            part = max(got, key=lambda p: len(got[p]))
            assert drop_cache(d, "cold") >= 2
            before = cold_reads(srv)
            s = kwire.connect(srv.kafka)
            t0 = time.time()
            s.sendall(kwire.fetch_v4(1, [(b"cold", [(part, 0, 1 << 20)])], 700, 100 << 20,
                                     1 << 20))
            corr, res = kwire.parse_fetch_v4(kwire.recv_frame(s))
            waited = time.time() - t0
            s.close()
            err, _hwm, recs = res[("cold", part)]
            assert corr == 1 and err == 0 and len(recs) > 0, res
            assert cold_reads(srv) > before, "the fetch did not go through the worker"
            assert 0.6 <= waited < 5, "answered after %.2f s, not at max_wait" % waited
            assert srv.stop() == 0
    print("ok")


if __name__ == "__main__":
    main()
