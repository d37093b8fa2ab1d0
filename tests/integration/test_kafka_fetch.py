"""Fetch semantics on the raw wire: long-poll (min_bytes/max_wait: wait, wake on new data),
partition_max_bytes and max_bytes budgets (whole batches, the first one even when larger),
offset out of range, responses in request order behind a parked fetch, max.message.bytes on
produce, LogAppendTime topics, ListOffsets by timestamp (kcat -o s@), and a parked fetch
answered at SIGTERM; acks=0 produce sends no response."""
import os
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from plg import run  # noqa: E402

from kwire import (batch, batch_values, connect, fetch_v4, frame, parse_fetch_v4,  # noqa: E402
                   parse_produce_v3, produce_v3, recv_frame)


def produce(sock, corr, topic, partition, values):
    sock.sendall(produce_v3(corr, [(topic.encode(), [(partition, batch(values))])]))
    c, res = parse_produce_v3(recv_frame(sock))
    assert c == corr
    return res[(topic, partition)]


def main():
    with plg.TempDir() as d:
        srv = plg.server(d)
        with srv:
            r = run(plg.BIN, "topic", "create", "f", "--partitions", "2", "--bootstrap",
                    srv.kafka)
            assert r.returncode == 0, r.stderr
            s = connect(srv.kafka)

            # 1. Nothing to read: the fetch waits max_wait_ms, then answers empty.
            t0 = time.time()
            s.sendall(fetch_v4(1, [(b"f", [(0, 0, 1 << 20)])], 700, 1, 1 << 20))
            corr, res = parse_fetch_v4(recv_frame(s))
            waited = time.time() - t0
            assert corr == 1 and res[("f", 0)][0] == 0 and res[("f", 0)][2] == b"", res
            assert 0.6 <= waited < 3, "long-poll waited %.2fs" % waited

            # 2. A parked fetch wakes up as soon as data arrives (from another client).
            s.sendall(fetch_v4(2, [(b"f", [(0, 0, 1 << 20)])], 20000, 1, 1 << 20))
            time.sleep(0.3)
            t0 = time.time()
            p = connect(srv.kafka)
            assert produce(p, 3, "f", 0, [b"a", b"b", b"c"]) == (0, 0)
            corr, res = parse_fetch_v4(recv_frame(s))
            assert time.time() - t0 < 2, "parked fetch not woken by new data"
            err, hwm, recs = res[("f", 0)]
            assert corr == 2 and err == 0 and hwm == 3 and batch_values(recs) == [b"a", b"b", b"c"]

            # 3. min_bytes above what exists: waits for enough data or max_wait.
            s.sendall(fetch_v4(4, [(b"f", [(0, 3, 1 << 20)])], 20000, 300, 1 << 20))
            time.sleep(0.2)
            assert produce(p, 5, "f", 0, [b"x" * 10]) == (0, 3)
            time.sleep(0.2)
            big = [b"y" * 100 for _ in range(5)]
            assert produce(p, 6, "f", 0, big) == (0, 4)
            corr, res = parse_fetch_v4(recv_frame(s))
            assert corr == 4 and batch_values(res[("f", 0)][2]) == [b"x" * 10] + big

            # 4. partition_max_bytes smaller than a batch: the first batch still comes whole.
            s.sendall(fetch_v4(7, [(b"f", [(0, 4, 10)])], 0, 0, 1 << 20))
            corr, res = parse_fetch_v4(recv_frame(s))
            assert batch_values(res[("f", 0)][2]) == big

            # 5. max_bytes is shared: the first partition uses the budget, the second gets none.
            assert produce(p, 8, "f", 1, [b"z" * 50]) == (0, 0)
            s.sendall(fetch_v4(9, [(b"f", [(0, 0, 1 << 20), (1, 0, 1 << 20)])], 0, 0, 100))
            corr, res = parse_fetch_v4(recv_frame(s))
            assert batch_values(res[("f", 0)][2]) == [b"a", b"b", b"c"], res
            assert res[("f", 1)][2] == b"" and res[("f", 1)][1] == 1, res

            # 6. Out of range offsets and unknown partitions get their own errors.
            s.sendall(fetch_v4(10, [(b"f", [(0, 99, 1 << 20), (5, 0, 1 << 20)]),
                                    (b"nope", [(0, 0, 100)])], 0, 0, 1 << 20))
            corr, res = parse_fetch_v4(recv_frame(s))
            assert res[("f", 0)][0] == 1 and res[("f", 5)][0] == 3 and res[("nope", 0)][0] == 3

            # 7. Responses keep request order behind a parked fetch on the same connection.
            s.sendall(fetch_v4(11, [(b"f", [(1, 1, 1 << 20)])], 800, 1, 1 << 20) +
                      frame(18, 0, 12, b""))
            first = recv_frame(s)
            second = recv_frame(s)
            assert struct.unpack_from(">i", first)[0] == 11
            assert struct.unpack_from(">i", second)[0] == 12

            # acks=0: no response at all; the next response on the connection is the next
            # request's, and the record is stored.
            p.sendall(produce_v3(30, [(b"f", [(1, batch([b"fire-and-forget"]))])], acks=0) +
                      frame(18, 0, 31, b""))
            assert struct.unpack_from(">i", recv_frame(p))[0] == 31
            s.sendall(fetch_v4(32, [(b"f", [(1, 1, 1 << 20)])], 0, 0, 1 << 20))
            corr, res = parse_fetch_v4(recv_frame(s))
            assert batch_values(res[("f", 1)][2]) == [b"fire-and-forget"], res

            # 8. max.message.bytes: a batch above the topic limit is refused with 10.
            r = run(plg.BIN, "topic", "create", "small", "--config", "max.message.bytes=200",
                    "--bootstrap", srv.kafka)
            assert r.returncode == 0, r.stderr
            assert produce(p, 13, "small", 0, [b"q" * 500])[0] == 10
            assert produce(p, 14, "small", 0, [b"q" * 10]) == (0, 0)

            # 9. LogAppendTime: the broker stamps batches; kcat shows the broker's time.
            r = run(plg.BIN, "topic", "create", "lat", "--config",
                    "message.timestamp.type=LogAppendTime", "--bootstrap", srv.kafka)
            assert r.returncode == 0, r.stderr
            before = int(time.time() * 1000)
            assert produce(p, 15, "lat", 0, [b"stamped"])[0] == 0  # client time 1000
            r = run("kcat", "-b", srv.kafka, "-C", "-t", "lat", "-e", "-q", "-f", "%T %s\n")
            ts, val = r.stdout.split()
            assert val == "stamped" and int(ts) >= before - 1000, r.stdout

            # 10. ListOffsets by timestamp via kcat -o s@<ts>.
            lines = "".join("t%d\n" % i for i in range(5))
            r = run("kcat", "-b", srv.kafka, "-P", "-t", "times", "-p", "0", input=lines)
            assert r.returncode == 0, r.stderr
            time.sleep(0.05)
            mark = int(time.time() * 1000)
            time.sleep(0.05)
            r = run("kcat", "-b", srv.kafka, "-P", "-t", "times", "-p", "0", input="late\n")
            r = run("kcat", "-b", srv.kafka, "-C", "-t", "times", "-p", "0", "-o",
                    "s@%d" % mark, "-e", "-q")
            assert r.stdout.split() == ["late"], r.stdout

            # 11. SIGTERM answers a parked fetch right away and exits 0.
            s.sendall(fetch_v4(20, [(b"f", [(1, 2, 1 << 20)])], 30000, 1, 1 << 20))
            time.sleep(0.3)
            t0 = time.time()
            srv.p.send_signal(signal.SIGTERM)
            corr, res = parse_fetch_v4(recv_frame(s))
            assert corr == 20 and res[("f", 1)][0] == 0
            assert srv.p.wait(20) == 0, srv.output()
            assert time.time() - t0 < 5
            assert "shutting down" in srv.output()
            s.close()
            p.close()
    print("ok")


if __name__ == "__main__":
    main()
