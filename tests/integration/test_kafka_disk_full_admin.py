"""The write paths other than Produce on a full disk (a real 16 MiB tmpfs; needs root: as root a
failed mount fails the test, as non-root it says SKIP on stderr): InitProducerId (raw, then an
idempotent kcat producer across the episode), JSON-RPC topic.create, CreateTopics (raw and
`pyralog topic create`), Metadata auto-create, OffsetCommit. While the disk is full each answers
a specific error (a code librdkafka retries where a client retries), logs a line, leaves no
half-created topic, and other clients are served; once space is back each works."""
import base64
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import diskfull  # noqa: E402
import kgroup_wire as kg  # noqa: E402
import kwire  # noqa: E402
import plg  # noqa: E402

KAFKA_STORAGE_ERROR = 56
NOT_COORDINATOR = 16
COORDINATOR_LOAD_IN_PROGRESS = 14
LEADER_NOT_AVAILABLE = 5


class Conn(kg.Conn):
    """A Kafka connection that says so when the server died under it."""

    def __init__(self, srv):
        super().__init__(srv.kafka)
        self.srv = srv

    def request(self, api_key, version, body):
        try:
            return super().request(api_key, version, body)
        except OSError as e:
            time.sleep(0.2)
            diskfull.alive(self.srv, "during a request with api key %d (%s)" % (api_key, e))
            raise


def others_served(srv, what):
    """A new connection gets ApiVersions and the stored records of topic keep."""
    diskfull.alive(srv, what)
    s = kwire.connect(srv.kafka)
    try:
        assert kwire.api_versions_ok(s, 9), "ApiVersions failed " + what
        s.sendall(kwire.fetch_v4(10, [(b"keep", [(0, 0, 1 << 20)])], 0, 1, 1 << 20))
        _, out = kwire.parse_fetch_v4(kwire.recv_frame(s))
    finally:
        s.close()
    err, hwm, recs = out[("keep", 0)]
    assert err == 0 and kwire.batch_values(recs) == [b"keep-0", b"keep-1"], (what, err, hwm)


def init_producer_id(c):
    """InitProducerId v1, no transactional id: (error, producer id)."""
    r = kg.Reader(c.request(22, 1, kg.string(None) + kg.s32(60000)))
    r.i32()
    err = r.i16()
    return err, r.i64()


def create_topics(c, name, partitions):
    """CreateTopics v2, one topic: (error, message)."""
    body = (kg.array([kg.string(name) + kg.s32(partitions) + kg.s16(1) + kg.array([]) +
                      kg.array([])]) + kg.s32(30000) + b"\0")
    r = kg.Reader(c.request(19, 2, body))
    r.i32()
    assert r.i32() == 1
    assert r.str() == name
    return r.i16(), r.str()


def metadata(c, name):
    """Metadata v4 for one topic with auto-creation allowed: (error, partition count)."""
    r = kg.Reader(c.request(3, 4, kg.array([kg.string(name)]) + b"\1"))
    r.i32()
    for _ in range(r.i32()):
        r.i32(), r.str(), r.i32(), r.str()
    r.str()
    r.i32()
    assert r.i32() == 1
    err = r.i16()
    assert r.str() == name
    r.p += 1
    return err, r.i32()


def offset_commit(c, group, offset, md="m" * 4000):
    """OffsetCommit v7 of keep-0 outside any generation: the partition's error. The 4000-byte
    metadata makes the record larger than what is left of a page of the offsets log."""
    r = kg.Reader(c.request(8, 7, kg.offset_commit_v7(group, -1, "", "keep", [(0, offset, md)])))
    r.i32()
    assert r.i32() == 1 and r.str() == "keep" and r.i32() == 1
    assert r.i32() == 0
    return r.i16()


def offset_fetch(c, group):
    r = kg.Reader(c.request(9, 5, kg.offset_fetch_v5(group, "keep", [0])))
    r.i32()
    assert r.i32() == 1 and r.str() == "keep" and r.i32() == 1
    assert r.i32() == 0
    off = r.i64()
    r.i32()
    r.str()
    assert r.i16() == 0
    return off


def topic_left(data, srv, name):
    """Where a topic that was refused could still show: directories, registry, topic list."""
    where = []
    tdir = os.path.join(data, "topics")
    where += [d for d in os.listdir(tdir) if d.rsplit("-", 1)[0] == name]
    with open(os.path.join(data, "meta", "topics.json")) as f:
        if '"%s"' % name in f.read():
            where.append("meta/topics.json")
    listed = plg.rpc(srv.http, "topic.list")["result"]
    if any(t["name"] == name for t in listed):
        where.append("topic.list")
    return where


def log_lines(srv, needle):
    return [ln for ln in srv.output().splitlines() if needle in ln]


def run(mnt):
    data = os.path.join(mnt, "data")
    srv = plg.server(data)
    with srv:
        assert "result" in plg.rpc(srv.http, "topic.create", name="keep", partitions=1)
        p = kwire.connect(srv.kafka)
        p.sendall(kwire.produce_v3(1, [(b"keep", [(0, kwire.batch([b"keep-0", b"keep-1"]))])]))
        assert kwire.parse_produce_v3(kwire.recv_frame(p))[1][("keep", 0)] == (0, 0)
        c = Conn(srv)
        assert offset_commit(c, "g-before", 1) == 0
        disk = diskfull.Disk(mnt)
        disk.fill()

        # InitProducerId: the first one reserves a block of ids in meta/producer-ids.
        # Retriable COORDINATOR_LOAD_IN_PROGRESS (Kafka's answer when no id block is available),
        # one log line however often clients retry.
        for _ in range(3):
            err, pid = init_producer_id(c)
            assert (err, pid) == (COORDINATOR_LOAD_IN_PROGRESS, -1), (err, pid)
        assert len(log_lines(srv, 'msg="cannot allocate producer id')) == 1, srv.output()[-3000:]
        others_served(srv, "after InitProducerId on a full disk")
        print("ok InitProducerId on a full disk: error %d" % err)

        # JSON-RPC log.append of a 5 KB value (it needs a new page): a storage error in words.
        v = base64.b64encode(b"r" * 5000).decode()
        r = plg.rpc(srv.http, "log.append", topic="keep", partition=0, value=v)
        e = r.get("error") or {}
        assert e.get("code") == -32000 and "the disk refused the write" in e.get("message", ""), r
        others_served(srv, "after log.append on a full disk")
        print("ok log.append on a full disk: %s" % e["message"])

        # JSON-RPC topic.create: a storage error naming the topic, nothing left behind.
        r = plg.rpc(srv.http, "topic.create", name="new-rpc", partitions=3)
        e = r.get("error") or {}
        assert e.get("code") == -32000 and "No space left on device" in e.get("message", "") \
            and '"new-rpc"' in e["message"], r
        assert topic_left(data, srv, "new-rpc") == [], topic_left(data, srv, "new-rpc")
        others_served(srv, "after topic.create on a full disk")
        print("ok topic.create on a full disk: %s" % e["message"])

        # CreateTopics: KAFKA_STORAGE_ERROR with the reason; the CLI prints one line, exit 1.
        err, msg = create_topics(c, "new-kafka", 2)
        assert err == KAFKA_STORAGE_ERROR and "No space left on device" in (msg or ""), (err, msg)
        assert topic_left(data, srv, "new-kafka") == [], topic_left(data, srv, "new-kafka")
        r = plg.run(plg.BIN, "topic", "create", "new-cli", "--partitions", "2", "--bootstrap",
                    srv.kafka, timeout=60)
        assert r.returncode == 1 and "No space left on device" in r.stderr, r
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert topic_left(data, srv, "new-cli") == [], topic_left(data, srv, "new-cli")
        others_served(srv, "after CreateTopics on a full disk")
        print("ok CreateTopics on a full disk: %d %s; cli: %s" % (err, msg, r.stderr.strip()))

        # Metadata auto-create: retriable LEADER_NOT_AVAILABLE, no topic left behind.
        for _ in range(3):
            err, nparts = metadata(c, "auto-new")
            assert err == LEADER_NOT_AVAILABLE, err
        assert topic_left(data, srv, "auto-new") == [], topic_left(data, srv, "auto-new")
        warn = log_lines(srv, 'msg="auto-create failed')
        assert len(warn) == 1 and "topic=auto-new" in warn[0], warn
        others_served(srv, "after a Metadata auto-create on a full disk")
        print("ok Metadata auto-create on a full disk: error %d" % err)

        # OffsetCommit: NOT_COORDINATOR (as Kafka answers a failed offsets append); the
        # committed offset of another group still reads back.
        err = offset_commit(c, "g-full", 2)
        assert err == NOT_COORDINATOR, err
        assert offset_fetch(c, "g-before") == 1
        assert offset_fetch(c, "g-full") == -1
        others_served(srv, "after OffsetCommit on a full disk")
        print("ok OffsetCommit on a full disk: error %d" % err)

        # Commits smaller than a group member's fill what is left of the offsets log's last page
        # until one is refused.
        for i in range(200):
            err = offset_commit(c, "gp", i, md="")
            if err:
                break
        assert err == NOT_COORDINATOR, err

        # A real group member (librdkafka) consumes and auto-commits every second on the full
        # disk: its commits are refused until space is back, then they land.
        cons = subprocess.Popen([plg.BIN, "consume", "keep", "--group", "g-cli",
                                 "--from-beginning", "--bootstrap", srv.kafka],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        consumed = []
        reader = threading.Thread(target=lambda: consumed.extend(cons.stdout), daemon=True)
        reader.start()
        for _ in range(400):
            if len(consumed) >= 2:
                break
            time.sleep(0.05)
        assert [v.strip() for v in consumed] == [b"keep-0", b"keep-1"], consumed
        time.sleep(1.5)  # an auto-commit (every second) is refused meanwhile

        # An idempotent kcat producer starts on the full disk (InitProducerId and produce are
        # refused); space comes back after 1.5 s; every record arrives exactly once.
        lines = ["i%04d:idem-%04d" % (i, i) for i in range(500)]
        kc = diskfull.kcat_produce(srv.kafka, "keep", lines, "enable.idempotence=true")
        time.sleep(1.5)
        diskfull.alive(srv, "while an idempotent kcat and a group member started on a full disk")
        assert kc.poll() is None, "idempotent kcat finished on a full disk: %s" % kc.stderr.read()
        disk.free()
        diskfull.kcat_done(kc)
        print("ok idempotent kcat delivered %d records once space was back" % len(lines))

        # Space is back: every path works.
        err, pid = init_producer_id(c)
        assert err == 0 and pid >= 0, (err, pid)
        assert log_lines(srv, 'msg="producer ids are allocated again"'), srv.output()[-3000:]
        r = plg.rpc(srv.http, "topic.create", name="new-rpc", partitions=3)
        assert r.get("result") == {"name": "new-rpc", "partitions": 3}, r
        assert create_topics(c, "new-kafka", 2)[0] == 0
        r = plg.run(plg.BIN, "topic", "create", "new-cli", "--partitions", "2", "--bootstrap",
                    srv.kafka, timeout=60)
        assert r.returncode == 0, r
        for _ in range(100):
            err, nparts = metadata(c, "auto-new")
            if err != LEADER_NOT_AVAILABLE:
                break
            time.sleep(0.05)
        assert (err, nparts) == (0, 1), (err, nparts)
        assert log_lines(srv, 'msg="auto-create works again" topic=auto-new')
        assert offset_commit(c, "g-full", 2) == 0
        assert offset_fetch(c, "g-full") == 2
        for _ in range(300):
            if offset_fetch(c, "g-cli") == 2 + len(lines):
                break
            time.sleep(0.05)
        assert offset_fetch(c, "g-cli") == 2 + len(lines), offset_fetch(c, "g-cli")
        assert cons.poll() is None, cons.stderr.read()
        cons.terminate()
        cons.wait(timeout=30)
        reader.join(timeout=30)
        assert cons.returncode == 0, cons.stderr.read()
        want = ["keep-0", "keep-1"] + [v.split(":")[1] for v in lines]
        assert [v.decode().strip() for v in consumed] == want, consumed[-3:]
        again = log_lines(srv, 'msg="appends work again" topic=__consumer_offsets')
        assert int(again[-1].rsplit("failed=", 1)[1]) >= 2, "no refused auto-commit: %s" % again
        again = log_lines(srv, 'msg="producer ids are allocated again"')
        assert int(again[0].rsplit("failed=", 1)[1]) > 3, "kcat never asked for an id: %s" % again
        got = plg.run("kcat", "-b", srv.kafka, "-C", "-t", "keep", "-o", "2", "-e", "-q",
                      "-f", "%k:%s\n", timeout=60)
        assert got.stdout.splitlines() == lines, (len(got.stdout.splitlines()), got.stderr)
        r = plg.rpc(srv.http, "log.append", topic="keep", partition=0, value=v)
        assert r.get("result") == {"partition": 0, "offset": 2 + len(lines)}, r
        assert srv.stop() == 0
        print("ok space back: InitProducerId, log.append, topic.create, CreateTopics, CLI, "
              "auto-create, OffsetCommit work; idempotent records exactly once")
    srv = plg.server(data)
    with srv:
        names = sorted(t["name"] for t in plg.rpc(srv.http, "topic.list")["result"])
        assert names == ["__consumer_offsets", "auto-new", "keep", "new-cli", "new-kafka",
                         "new-rpc"], names
        c = Conn(srv)
        assert offset_fetch(c, "g-full") == 2 and offset_fetch(c, "g-before") == 1
        assert srv.stop() == 0
    print("ok restart: topics and offsets as acknowledged")


def main():
    diskfull.main("16m", run)


if __name__ == "__main__":
    main()
