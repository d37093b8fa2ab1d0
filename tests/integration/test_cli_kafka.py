"""The Kafka client commands against a real server: pyralog topic create|list|describe|delete,
pyralog produce (keys, partitions, acks) and pyralog consume (from beginning, count, partition
and offset), their usage errors (exit 2) and failures (exit 1, one line)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402


def pyralog(*args, stdin=None):
    return subprocess.run([plg.BIN, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def main():
    for cmd in ("topic", "produce", "consume"):
        r = pyralog(cmd, "--help")
        assert r.returncode == 0 and "usage: pyralog " + cmd in r.stdout, r
    assert pyralog("topic").returncode == 2
    assert pyralog("topic", "frobnicate", "x").returncode == 2
    assert pyralog("topic", "create", "x", "--partitions", "0").returncode == 2
    assert pyralog("produce").returncode == 2
    assert pyralog("produce", "t", "--acks", "2").returncode == 2
    assert pyralog("consume", "t", "--offset", "3").returncode == 2
    r = pyralog("consume", "t", "--count", "-1")
    assert r.returncode == 2 and r.stderr.startswith("pyralog: consume: "), r

    with plg.TempDir() as d:
        srv = plg.server(d, extra=["--set", "auto.create.topics.enable=false"])
        with srv:
            b = ["--bootstrap", srv.kafka]
            r = pyralog("topic", "create", "orders", "--partitions", "3", "--config",
                        "retention.ms=60000", *b)
            assert r.returncode == 0 and "created orders" in r.stdout, r
            r = pyralog("topic", "create", "orders", *b)
            assert r.returncode == 1 and "already exists" in r.stderr, r
            r = pyralog("topic", "create", "bad", "--config", "retention.ms=soon", *b)
            assert r.returncode == 1 and "retention.ms" in r.stderr, r
            r = pyralog("topic", "create", "other", *b)
            assert r.returncode == 0, r
            r = pyralog("topic", "list", *b)
            listed = [t for t in r.stdout.split() if not t.startswith("__")]  # internal topics
            assert listed == ["orders", "other"], r.stdout
            r = pyralog("topic", "describe", "orders", *b)
            assert r.returncode == 0, r
            assert "topic orders partitions 3" in r.stdout
            assert "partition 2 leader 0 replicas 0 isr 0" in r.stdout
            assert "retention.ms=60000\n" in r.stdout and "cleanup.policy=delete (default)" in r.stdout
            r = pyralog("topic", "describe", "missing", *b)
            assert r.returncode == 1 and "missing" in r.stderr, r

            lines = "".join("key%d=value-%d\n" % (i, i) for i in range(300))
            r = pyralog("produce", "orders", "--key-separator", "=", "--acks", "all", *b,
                        stdin=lines)
            assert r.returncode == 0, r
            r = pyralog("produce", "orders", "--partition", "1", "--acks", "1", *b,
                        stdin="p1-a\np1-b\n")
            assert r.returncode == 0, r
            r = pyralog("consume", "orders", "--from-beginning", "--count", "302", *b)
            assert r.returncode == 0, r
            got = r.stdout.splitlines()
            assert sorted(got) == sorted(["value-%d" % i for i in range(300)] + ["p1-a", "p1-b"])
            # Keys decide the partition: the same key always lands on the same partition.
            r = subprocess.run(["kcat", "-b", srv.kafka, "-C", "-t", "orders", "-e", "-q", "-f",
                                "%k %p\n"], capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            parts = {}
            for line in r.stdout.splitlines():
                k, p = line.split() if " " in line.strip() else ("", line.strip())
                if k:
                    parts.setdefault(k, set()).add(p)
            assert len(parts) == 300 and all(len(v) == 1 for v in parts.values())
            assert len({p for v in parts.values() for p in v}) == 3
            # Partition + offset: the second record of the explicit partition-1 pair.
            r = subprocess.run(["kcat", "-b", srv.kafka, "-C", "-t", "orders", "-p", "1", "-e",
                                "-q", "-f", "%o %s\n"], capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            off = [ln.split()[0] for ln in r.stdout.splitlines() if ln.endswith(" p1-b")][0]
            r = pyralog("consume", "orders", "--partition", "1", "--offset", off, "--count", "1",
                        *b)
            assert r.returncode == 0 and r.stdout == "p1-b\n", r
            r = pyralog("consume", "orders", "--partition", "7", "--count", "1", *b)
            assert r.returncode == 1 and "no partition 7" in r.stderr, r
            # Without auto-create, producing to an unknown topic fails with one clear line.
            r = pyralog("produce", "nowhere", *b, stdin="x\n")
            assert r.returncode == 1 and r.stderr.startswith("pyralog: produce: "), r
            r = pyralog("topic", "delete", "other", *b)
            assert r.returncode == 0 and "deleted other" in r.stdout, r
            r = pyralog("topic", "delete", "other", *b)
            assert r.returncode == 1, r
            listed = pyralog("topic", "list", *b).stdout.split()
            assert [t for t in listed if not t.startswith("__")] == ["orders"], listed
            assert srv.stop() == 0
        # A server that is not there: a clear failure, not a hang.
        r = pyralog("topic", "list", "--bootstrap", srv.kafka)
        assert r.returncode == 1 and r.stderr.startswith("pyralog: topic: "), r
    print("ok")


if __name__ == "__main__":
    main()
