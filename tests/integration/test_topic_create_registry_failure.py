#!/usr/bin/env python3
"""A topic create whose registry write fails is rolled back off the event loop.

Fault: a directory where the registry writer puts its temp file (<data>/meta/topics.json.tmp),
so every write of meta/topics.json fails while the partition files themselves can be created.
A CreateTopics of a 500-partition topic (pyralog topic create, a librdkafka client) then opens
every partition, inserts the topic, fails to persist it and must roll it back: the client is told
the create failed, the topic is not listed afterwards and none of its directories is left, even
though the rollback's own registry write fails too. The rollback (closing 500 logs, removing their
directories) runs on libuv workers, so a second client's produce round trips keep being answered
meanwhile. A Metadata request that auto-creates a topic under the same fault gets
UNKNOWN_TOPIC_OR_PARTITION and leaves nothing either. Once the fault is gone the same names can
be created, and the server exits cleanly (under ASan: without leaks)."""
import datetime
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
import plg  # noqa: E402
from plg import run  # noqa: E402
from probe import start_prober  # noqa: E402

PARTS = 500
KERR_UNKNOWN_TOPIC_OR_PARTITION = 3


def registry(d):
    with open(os.path.join(d, "meta", "topics.json")) as f:
        return {t["name"]: t for t in json.load(f)["topics"]}


def left_dirs(d, name):
    return [n for n in os.listdir(os.path.join(d, "topics")) if n.startswith(name + "-")]


def log_time(srv, needle, after):
    """Time (epoch s) of the first server log line containing needle stamped at or after
    `after` (log stamps have millisecond resolution)."""
    for line in srv.output().splitlines():
        if needle in line:
            stamp = line.split(" ", 1)[0]
            t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            if t >= after - 0.002:
                return t
    raise AssertionError("no log line %r after %f:\n%s" % (needle, after, srv.output()))


def topic_names(kafka):
    r = run(plg.BIN, "topic", "list", "--bootstrap", kafka)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def metadata_autocreate(addr, name):
    """Metadata v4 for one topic with allow_auto_topic_creation: the topic's error code."""
    body = struct.pack(">i", 1) + kwire.kstr(name.encode()) + b"\x01"
    s = kwire.connect(addr)
    try:
        s.settimeout(60)
        s.sendall(kwire.frame(3, 4, 7, body))
        resp = kwire.recv_frame(s)
    finally:
        s.close()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, resp, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def skip_str():
        n = take(">h")
        nonlocal pos
        pos += max(n, 0)

    assert take(">i") == 7  # correlation id
    take(">i")  # throttle_time_ms
    for _ in range(take(">i")):  # brokers
        take(">i")
        skip_str()
        take(">i")
        skip_str()
    skip_str()  # cluster_id
    take(">i")  # controller_id
    assert take(">i") == 1, "one topic expected"
    return take(">h")


def main():
    with plg.TempDir() as d:
        blocker = os.path.join(d, "meta", "topics.json.tmp")
        # debug: the rollback's end is a debug line (at info a failed create logs only the
        # registry failure, and that once a minute while it lasts).
        with plg.server(d, env=dict(os.environ, PYRALOG_LOG_LEVEL="debug")) as srv:
            b = ["--bootstrap", srv.kafka]
            prober = start_prober(plg.BIN, srv.kafka)
            os.mkdir(blocker)

            t0 = time.time()
            r = run(plg.BIN, "topic", "create", "doomed", "--partitions", str(PARTS), *b)
            t1 = time.time()
            assert r.returncode != 0, "the create succeeded without a registry: %s" % r.stdout
            assert "registry" in r.stderr, r.stderr
            assert "doomed" not in topic_names(srv.kafka)
            left = left_dirs(d, "doomed")
            assert not left, "partition directories left by the failed create: %d" % len(left)
            assert "doomed" not in registry(d)
            # The rollback: from the failed registry write to the topic's files being gone.
            w0 = log_time(srv, "cannot write topic registry", t0)
            w1 = log_time(srv, 'msg="failed create rolled back" topic=doomed', w0)
            # Probes in flight at any time of the rollback (a stalled loop shows as one probe
            # whose round trip spans it).
            inside = [rtt for s0, rtt in prober.samples if s0 <= w1 and s0 + rtt >= w0]
            worst = max(inside) if inside else 0
            print("failed create of %d partitions: %.0f ms, of which rollback %.0f ms; probes "
                  "answered during the rollback: %d, worst round trip %.1f ms" % (
                      PARTS, (t1 - t0) * 1000, (w1 - w0) * 1000, len(inside), worst * 1000))
            if w1 - w0 > 0.05:  # closing 500 logs and removing their files takes that here
                assert len(inside) >= 3, "the probe client was not served during the rollback"
                assert worst < (w1 - w0) / 2, "a round trip stalled for most of the rollback"
            print("ok: %s" % r.stderr.strip().splitlines()[-1])

            err = metadata_autocreate(srv.kafka, "auto1")
            assert err == KERR_UNKNOWN_TOPIC_OR_PARTITION, err
            assert "auto1" not in topic_names(srv.kafka)
            assert not left_dirs(d, "auto1"), left_dirs(d, "auto1")
            print("ok: a failed auto-create answered %d and left nothing" % err)

            os.rmdir(blocker)
            r = run(plg.BIN, "topic", "create", "doomed", "--partitions", "2", *b)
            assert r.returncode == 0, r.stderr
            assert registry(d)["doomed"]["partitions"] == 2
            assert metadata_autocreate(srv.kafka, "auto1") == 0
            assert "auto1" in registry(d)
            prober.finish()
            assert len(prober.samples) > 0
            print("ok: the names are free once the fault is gone; probes: %d" %
                  len(prober.samples))
            assert srv.stop() == 0
        with plg.server(d) as srv2:
            names = topic_names(srv2.kafka)
            assert {"probe", "doomed", "auto1"} <= names, names
            assert srv2.stop() == 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
