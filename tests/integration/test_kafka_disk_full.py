#!/usr/bin/env python3
"""The Kafka server with its data directory on a full file system (a real 16 MiB tmpfs; needs
root: as root a failed mount fails the test, as non-root it says SKIP on stderr).

a. 50 cycles of: fill the file system to within one page, produce single-record batches (raw
   Produce v3, acks=1) to a topic with an index entry per batch until one is refused, free the
   space. The server stays up, the refusal is KAFKA_STORAGE_ERROR (56) for that partition, and
   while the disk is full a second connection is served (ApiVersions, Fetch of stored records).
b. With the disk full, one Produce request naming four partitions: each gets its own code (56
   for the two that need space, 3 for an unknown partition, 2 for a bad CRC) and it is answered.
c. With the disk full, kcat produces 2,000 keyed records (librdkafka retries the retriable 56);
   the space comes back after 1.5 s and every record is delivered.
d. Once space is back: every acknowledged record is read back exactly once and in order, none of
   the refused ones; SIGTERM exits 0; `pyralog verify` passes; after a restart the same content;
   merkle.head / merkle.prove answer for the newest offset.
e. The log says "append failed" at most once per partition per full episode, and "appends work
   again" once space is back.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import diskfull  # noqa: E402
import kwire  # noqa: E402
import plg  # noqa: E402

KAFKA_STORAGE_ERROR = 56
CYCLES = 50
C_RECORDS = 2000


def rpc_ok(http, method, **params):
    r = plg.rpc(http, method, **params)
    assert "result" in r, "%s %s: %s" % (method, params, r)
    return r["result"]


class Producer:
    """A raw Produce v3 connection (acks=1)."""

    def __init__(self, srv):
        self.srv = srv
        self.s = kwire.connect(srv.kafka)
        self.corr = 0

    def produce(self, topics):
        """topics: [(name, [(partition, batch_bytes)])] -> {(name, p): (err, offset)}"""
        self.corr += 1
        try:
            self.s.sendall(kwire.produce_v3(self.corr, topics))
            corr, out = kwire.parse_produce_v3(kwire.recv_frame(self.s))
        except (OSError, EOFError) as e:
            time.sleep(0.2)
            diskfull.alive(self.srv, "during a produce (%s)" % e)
            raise
        assert corr == self.corr, (corr, self.corr)
        return out


def fetch_values(addr, topic, offset, corr=1):
    """Values of the records from `offset` on (one Fetch v4 of up to 1 MiB)."""
    s = kwire.connect(addr)
    try:
        s.sendall(kwire.fetch_v4(corr, [(topic.encode(), [(0, offset, 1 << 20)])], 0, 1, 1 << 20))
        _, out = kwire.parse_fetch_v4(kwire.recv_frame(s))
    finally:
        s.close()
    err, hwm, recs = out[(topic, 0)]
    assert err == 0, "fetch %s@%d: error %d" % (topic, offset, err)
    return hwm, kwire.batch_values(recs)


def check_others_served(srv, topic, acked):
    """While the disk is full, a new connection gets ApiVersions and the stored records."""
    s = kwire.connect(srv.kafka)
    try:
        assert kwire.api_versions_ok(s, 7), "ApiVersions failed while the disk is full"
    finally:
        s.close()
    start = max(0, len(acked) - 3)
    hwm, vals = fetch_values(srv.kafka, topic, start)
    assert hwm == len(acked), (hwm, len(acked))
    assert vals[:len(acked) - start] == acked[start:], (vals[:5], acked[start:start + 5])


def kcat_read(bootstrap, topic, fmt):
    r = plg.run("kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f",
                fmt, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def append_failed_lines(log, topic):
    return [ln for ln in log.splitlines()
            if 'msg="append failed' in ln and "topic=%s " % topic in ln]


def read_all(srv, expect_t, expect_c):
    """Reads both topics back with kcat and compares them exactly."""
    got_t = kcat_read(srv.kafka, "t", "%o %s\n")
    want_t = ["%d %s" % (i, v.decode()) for i, v in enumerate(expect_t)]
    assert got_t == want_t, "topic t differs: %d records, want %d; first difference at %s" % (
        len(got_t), len(want_t),
        next((i for i, (a, b) in enumerate(zip(got_t, want_t)) if a != b), min(len(got_t),
                                                                              len(want_t))))
    got_c = kcat_read(srv.kafka, "c", "%k:%s\n")
    assert got_c == expect_c, "topic c: %d records, want %d, first %s" % (
        len(got_c), len(expect_c), got_c[:3])
    _, vals = fetch_values(srv.kafka, "t2", 0)
    assert vals == [b"t2-before"], vals


def merkle_check(srv, topic, n):
    head = rpc_ok(srv.http, "merkle.head", topic=topic, partition=0)
    assert head["tree_size"] == n, (head, n)
    proof = rpc_ok(srv.http, "merkle.prove", topic=topic, partition=0, offset=n - 1)
    assert proof["leaf_index"] == n - 1 and proof["tree_size"] == n, proof


def run(mnt):
    data = os.path.join(mnt, "data")
    disk = diskfull.Disk(mnt)
    t0 = time.time()
    srv = plg.server(data, extra=["--set", "log.retention.check.interval.ms=3600000"])
    with srv:
        rpc_ok(srv.http, "topic.create", name="t", partitions=1,
               config={"index.interval.bytes": "0"})
        rpc_ok(srv.http, "topic.create", name="t2", partitions=2)
        rpc_ok(srv.http, "topic.create", name="c", partitions=1)
        p = Producer(srv)
        out = p.produce([(b"t2", [(0, kwire.batch([b"t2-before"]))])])
        assert out[("t2", 0)] == (0, 0), out

        # a. Full-disk episodes, each ending in a refused produce.
        acked, refused = [], []
        per_cycle = []
        for cycle in range(CYCLES):
            disk.fill(leave=4096)
            n = 0
            for _ in range(5000):
                v = b"a%03d-%06d-" % (cycle, len(acked)) + b"x" * 50
                err, off = p.produce([(b"t", [(0, kwire.batch([v]))])])[("t", 0)]
                diskfull.alive(srv, "after a produce in cycle %d" % cycle)
                if err:
                    assert err == KAFKA_STORAGE_ERROR, "cycle %d: error %d, want 56" % (cycle, err)
                    refused.append(v)
                    break
                assert off == len(acked), (off, len(acked))
                acked.append(v)
                n += 1
            else:
                raise AssertionError("cycle %d: 5000 produces on a full disk all worked" % cycle)
            per_cycle.append(n)
            check_others_served(srv, "t", acked)
            if cycle < CYCLES - 1:
                disk.free()
        diskfull.alive(srv, "after %d full-disk cycles" % CYCLES)
        print("ok a: %d cycles, %d acknowledged (%d..%d per cycle), each ended by error 56 "
              "(%.1f s)" % (CYCLES, len(acked), min(per_cycle), max(per_cycle), time.time() - t0))

        # b. The disk is still full (and now without the last page): one request, four codes.
        # Batches of 6 KB need a new page of their segment file, whatever is left in the last.
        disk.fill(leave=0)
        big = b"refused-b-" + b"z" * 6000
        big2 = b"refused-b2-" + b"z" * 6000
        out = p.produce([(b"t", [(0, kwire.batch([big])), (7, kwire.batch([big]))]),
                         (b"t2", [(0, kwire.batch([big2])),
                                  (1, kwire.batch([b"bad"], bad_crc=True))])])
        codes = {k: v[0] for k, v in out.items()}
        assert codes == {("t", 0): 56, ("t", 7): 3, ("t2", 0): 56, ("t2", 1): 2}, codes
        refused += [big, big2]
        diskfull.alive(srv, "after the multi-partition produce")
        print("ok b: per-partition codes %s" % sorted(codes.items()))

        # c. A real client on the full disk: librdkafka retries error 56 until space is back.
        lines = ["k%05d:c-%05d-%s" % (i, i, "y" * (i % 37)) for i in range(C_RECORDS)]
        t_c = time.time()
        kc = diskfull.kcat_produce(srv.kafka, "c", lines, "max.in.flight.requests.per.connection=1",
                                   "batch.num.messages=200")
        time.sleep(1.5)
        diskfull.alive(srv, "while kcat produced on the full disk")
        assert kc.poll() is None, "kcat finished on a full disk: %s" % kc.stderr.read()
        c_failed = append_failed_lines(srv.output(), "c")
        assert c_failed, "kcat was never refused: no 'append failed' line for topic c"
        disk.free()
        diskfull.kcat_done(kc)
        print("ok c: kcat delivered %d records in %.1f s (space back after 1.5 s)" % (
            C_RECORDS, time.time() - t_c))

        # d. Space is back: everything acknowledged, once, in order; nothing refused.
        out = p.produce([(b"t", [(0, kwire.batch([b"after-space"]))])])
        assert out[("t", 0)] == (0, len(acked)), out
        acked.append(b"after-space")
        # Exactly the acknowledged values: none of the refused ones (all distinct) shows.
        read_all(srv, acked, lines)
        assert not set(refused) & set(acked)
        merkle_check(srv, "t", len(acked))
        merkle_check(srv, "c", C_RECORDS)
        log = srv.output()
        rc = srv.stop()
        assert rc == 0, "SIGTERM exit %s:\n%s" % (rc, log[-4000:])
        print("ok d: %d + %d records read back exactly, none of %d refused; SIGTERM exit 0" % (
            len(acked), C_RECORDS, len(refused)))

    # e. Log lines: one per partition per episode, and the recovery line.
    t_failed = append_failed_lines(log, "t")
    assert 1 <= len(t_failed) <= CYCLES + 1, "%d 'append failed' lines for t in %d episodes" % (
        len(t_failed), CYCLES)
    assert len(append_failed_lines(log, "c")) <= 2, append_failed_lines(log, "c")
    assert len(append_failed_lines(log, "t2")) <= 2, append_failed_lines(log, "t2")
    again = [ln for ln in log.splitlines() if 'msg="appends work again"' in ln]
    assert any("topic=t " in ln for ln in again), "no 'appends work again' line for t"
    assert any("topic=c " in ln for ln in again), "no 'appends work again' line for c"
    print("ok e: %d 'append failed' lines for t over %d episodes, %d for c; recovery lines: %d" % (
        len(t_failed), CYCLES, len(append_failed_lines(log, "c")), len(again)))

    r = plg.run(plg.BIN, "verify", "--data-dir", data)
    assert r.returncode == 0, "verify exit %d:\n%s%s" % (r.returncode, r.stdout, r.stderr)
    print("ok verify: %s" % (r.stdout + r.stderr).strip().splitlines()[-1])

    srv = plg.server(data)
    with srv:
        read_all(srv, acked, lines)
        merkle_check(srv, "t", len(acked))
        p = Producer(srv)
        out = p.produce([(b"t", [(0, kwire.batch([b"after-restart"]))])])
        assert out[("t", 0)] == (0, len(acked)), out
        merkle_check(srv, "t", len(acked) + 1)
        assert srv.stop() == 0
    print("ok restart: same content, appends continue at %d" % len(acked))


def main():
    diskfull.main("16m", run)


if __name__ == "__main__":
    main()
