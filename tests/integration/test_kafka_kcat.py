"""kcat against `pyralog server`: 100,000 records with keys and headers to a 3-partition topic,
consumed back with -e and compared exactly (values, keys, headers, per-partition order); the
same after a restart; the same with each compression codec (gzip, snappy, lz4, zstd).
Merkle trees are off here (merkle.enable=false): this test is about Kafka compatibility and
stays fast under ASan; the other Kafka tests run with the default (on)."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

N = 100_000
SEP = "\x1f"


def produce(bootstrap, topic, codec=None):
    lines = "".join("k%06d:v%06d-%s\n" % (i, i, "x" * (i % 50)) for i in range(N))
    args = ["kcat", "-b", bootstrap, "-P", "-t", topic, "-K:", "-H", "h1=one", "-H", "h2=two",
            "-X", "linger.ms=5", "-X", "batch.num.messages=10000"]
    if codec:
        args += ["-z", codec]
    r = subprocess.run(args, input=lines, text=True, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr


def consume(bootstrap, topic):
    fmt = SEP.join(["%p", "%o", "%k", "%s", "%h"]) + "\n"
    r = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-e", "-q", "-f", fmt],
                       text=True, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [ln.split(SEP) for ln in r.stdout.splitlines()]


def check(rows, partitions):
    assert len(rows) == N, "got %d records, want %d" % (len(rows), N)
    seen = set()
    last = {}
    last_off = {}
    for p, off, key, value, headers in rows:
        i = int(key[1:])
        assert value == "v%06d-%s" % (i, "x" * (i % 50)), (key, value)
        assert headers == "h1=one,h2=two", headers
        assert i not in seen, "duplicate %s" % key
        seen.add(i)
        # Records of one partition come back in produce order with dense offsets.
        assert last.get(p, -1) < i, "partition %s out of order at %s" % (p, key)
        assert int(off) == last_off.get(p, -1) + 1, "offset gap in partition %s at %s" % (p, off)
        last[p] = i
        last_off[p] = int(off)
    assert len(seen) == N
    assert set(last) <= {str(x) for x in range(partitions)}
    assert len(last) == partitions, "records did not spread over %d partitions" % partitions


def main():
    with plg.TempDir() as d:
        srv = plg.server(d, extra=["--set", "num.partitions=3", "--set", "merkle.enable=false"])
        with srv:
            t0 = time.time()
            produce(srv.kafka, "plain")
            check(consume(srv.kafka, "plain"), 3)
            print("plain: %.1fs" % (time.time() - t0))
            for codec in ("gzip", "snappy", "lz4", "zstd"):
                t0 = time.time()
                produce(srv.kafka, "z-" + codec, codec)
                check(consume(srv.kafka, "z-" + codec), 3)
                print("%s: %.1fs" % (codec, time.time() - t0))
            assert srv.stop() == 0, srv.output()
        # Restart on the same data directory: everything is still there.
        srv2 = plg.server(d, extra=["--set", "merkle.enable=false"])
        with srv2:
            t0 = time.time()
            for topic in ("plain", "z-gzip", "z-snappy", "z-lz4", "z-zstd"):
                check(consume(srv2.kafka, topic), 3)
            print("after restart: %.1fs" % (time.time() - t0))
            # And the restarted server keeps appending after the recovered offsets.
            r = subprocess.run(["kcat", "-b", srv2.kafka, "-P", "-t", "plain", "-p", "0"],
                               input="after-restart\n", text=True, capture_output=True,
                               timeout=30)
            assert r.returncode == 0, r.stderr
            rows = consume(srv2.kafka, "plain")
            tail = [r for r in rows if r[0] == "0"][-1]
            assert tail[3] == "after-restart", tail
            assert srv2.stop() == 0, srv2.output()
    print("ok")


if __name__ == "__main__":
    main()
