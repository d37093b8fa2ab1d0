"""Topic housekeeping in a running server: retention.ms deletes old segments (the log start
offset moves, earliest ListOffsets and consumers follow) and cleanup.policy=compact keeps the
last value per key with offsets preserved; both run on the server's
log.retention.check.interval.ms timer."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from plg import run  # noqa: E402


def produce(kafka, topic, lines, key=False):
    # One kcat run per call with linger 0: many small batches, so segments roll often.
    args = ["kcat", "-b", kafka, "-P", "-t", topic, "-p", "0", "-X", "linger.ms=0"]
    if key:
        args.append("-K:")
    r = run(*args, input="".join(line + "\n" for line in lines))
    assert r.returncode == 0, r.stderr


def consume(kafka, topic):
    r = run("kcat", "-b", kafka, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
            "-f", "%o %k %s\n")
    assert r.returncode == 0, r.stderr
    return [line.split(" ") for line in r.stdout.splitlines()]


def main():
    with plg.TempDir() as d:
        srv = plg.server(d, extra=["--set", "log.retention.check.interval.ms=200"])
        with srv:
            b = ["--bootstrap", srv.kafka]
            r = run(plg.BIN, "topic", "create", "ret", "--config", "retention.ms=1000",
                    "--config", "segment.bytes=16384", *b)
            assert r.returncode == 0, r.stderr
            produce(srv.kafka, "ret", ["old-%04d-%s" % (i, "x" * 200) for i in range(400)])
            time.sleep(1.5)
            produce(srv.kafka, "ret", ["new-%04d" % i for i in range(50)])
            deadline = time.time() + 20
            rows = consume(srv.kafka, "ret")
            while time.time() < deadline and rows and rows[0][2].startswith("old-0000"):
                time.sleep(0.2)
                rows = consume(srv.kafka, "ret")
            values = [r[2] for r in rows]
            assert values[0] != "old-0000-" + "x" * 200, "retention deleted nothing"
            assert int(rows[0][0]) > 0, rows[0]
            # Everything recent is still there, in order, with its original offsets.
            assert values[-50:] == ["new-%04d" % i for i in range(50)]
            assert [int(r[0]) for r in rows] == list(range(int(rows[0][0]), 450))
            assert "retention deleted segments" in srv.output()

            r = run(plg.BIN, "topic", "create", "cmp", "--config", "cleanup.policy=compact",
                    "--config", "segment.bytes=16384", *b)
            assert r.returncode == 0, r.stderr
            for rnd in range(6):
                produce(srv.kafka, "cmp", ["k%d:r%d-%s" % (k, rnd, "y" * 600) for k in range(20)],
                        key=True)
            produce(srv.kafka, "cmp", ["k%d:final" % k for k in range(20)], key=True)
            deadline = time.time() + 20
            rows = consume(srv.kafka, "cmp")
            while time.time() < deadline and len(rows) >= 140:
                time.sleep(0.2)
                rows = consume(srv.kafka, "cmp")
            assert len(rows) < 140, "compaction removed nothing"
            last = {}
            for off, key, val in rows:
                last[key] = (int(off), val)
            assert sorted(last) == sorted("k%d" % k for k in range(20))
            assert all(v == "final" for _, v in last.values()), last
            # Offsets are preserved: the final round still sits at offsets 120..139.
            assert sorted(o for o, _ in last.values()) == list(range(120, 140))
            assert srv.stop() == 0, srv.output()
    print("ok")


if __name__ == "__main__":
    main()
