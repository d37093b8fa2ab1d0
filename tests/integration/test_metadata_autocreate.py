"""Metadata auto-create runs off the event loop: while a Metadata request creates a topic of many
partitions (directories, files and fsyncs on a libuv worker), another connection's ApiVersions is
answered before the Metadata answer, which then lists the new topic with all its partitions. A
second Metadata for the same topic while it is being created gets LEADER_NOT_AVAILABLE (5), a
retriable error, or the finished topic."""
import os
import select
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

from kwire import connect, frame, kstr, recv_frame  # noqa: E402

NPART = 400


def metadata_v1(corr, topic):
    return frame(3, 1, corr, struct.pack(">i", 1) + kstr(topic))


def parse_metadata_v1(r):
    """Returns (corr, {topic: (error, npartitions)})."""
    corr, = struct.unpack_from(">i", r, 0)
    pos = 4
    nb, = struct.unpack_from(">i", r, pos)
    pos += 4
    for _ in range(nb):
        pos += 4  # node id
        ln, = struct.unpack_from(">h", r, pos)
        pos += 2 + ln + 4  # host, port
        ln, = struct.unpack_from(">h", r, pos)
        pos += 2 + max(ln, 0)  # rack
    pos += 4  # controller id
    nt, = struct.unpack_from(">i", r, pos)
    pos += 4
    out = {}
    for _ in range(nt):
        err, ln = struct.unpack_from(">hh", r, pos)
        pos += 4
        name = r[pos:pos + ln].decode()
        pos += ln + 1  # is_internal
        np_, = struct.unpack_from(">i", r, pos)
        pos += 4
        for _ in range(np_):
            pos += 2 + 4 + 4  # error, index, leader
            nr, = struct.unpack_from(">i", r, pos)
            pos += 4 + 4 * nr
            ni, = struct.unpack_from(">i", r, pos)
            pos += 4 + 4 * ni
        out[name] = (err, np_)
    return corr, out


def readable(s, timeout):
    return bool(select.select([s], [], [], timeout)[0])


def main():
    with plg.TempDir() as d:
        srv = plg.server(d, extra=["--set", "num.partitions=%d" % NPART])
        with srv:
            a, b, c = connect(srv.kafka), connect(srv.kafka), connect(srv.kafka)
            t0 = time.monotonic()
            a.sendall(metadata_v1(1, b"big"))
            time.sleep(0.05)  # the server has started the creation
            b.sendall(frame(18, 0, 2, b""))
            rb = recv_frame(b)
            t_b = time.monotonic() - t0
            assert struct.unpack_from(">ih", rb, 0) == (2, 0)
            # The loop answered b while the topic was still being created: a has no answer yet.
            a_done = readable(a, 0)
            c.sendall(metadata_v1(3, b"big"))
            corr, topics = parse_metadata_v1(recv_frame(c))
            assert corr == 3 and topics["big"] in ((5, 0), (0, NPART)), topics
            corr, topics = parse_metadata_v1(recv_frame(a))
            t_a = time.monotonic() - t0
            assert corr == 1 and topics == {"big": (0, NPART)}, topics
            print("ApiVersions answered after %.3f s, Metadata (auto-create of %d partitions) "
                  "after %.3f s" % (t_b, NPART, t_a))
            assert not a_done, "the event loop was blocked by the topic creation"
            # The topic is durable: a restart lists it.
        srv = plg.server(d)
        with srv:
            s = connect(srv.kafka)
            s.sendall(metadata_v1(4, b"big"))
            _, topics = parse_metadata_v1(recv_frame(s))
            assert topics == {"big": (0, NPART)}, topics
    print("ok")


if __name__ == "__main__":
    main()
