"""Malformed and hostile input to the Kafka listener: garbage bytes, a 2 GiB length prefix, an
oversized request, truncated frames, wrong lengths, unknown API keys, unsupported versions, and
Produce requests whose batches are corrupt (bad CRC, bad magic, too large) next to good ones.
The server answers (with the right error code) or closes only the offending connection; another
connection stays served throughout and nothing good is lost."""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

from kwire import (api_versions_ok, batch, closed_by_server, connect, frame,  # noqa: E402
                   parse_produce_v3, produce_v3, recv_frame)


def main():
    with plg.TempDir() as d:
        srv = plg.server(d, extra=["--set", "socket.request.max.bytes=1048576",
                                   "--set", "num.partitions=2"])
        with srv:
            good = connect(srv.kafka)
            assert api_versions_ok(good, 1)

            # Create the topic through Metadata auto-create (2 partitions) with kcat.
            r = subprocess.run(["kcat", "-b", srv.kafka, "-L", "-t", "bad"], capture_output=True,
                               text=True, timeout=30)
            assert r.returncode == 0, r.stderr

            hostile = [
                ("garbage text", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                ("2 GiB length prefix", struct.pack(">I", 0x80000000) + b"x" * 64),
                ("negative length", struct.pack(">i", -5)),
                ("zero length", struct.pack(">i", 0)),
                ("oversized request", struct.pack(">i", 2 << 20) + b"\0" * 1024),
                ("frame shorter than a header", struct.pack(">i", 3) + b"\0\x12\0"),
                ("unknown api key", frame(999, 0, 7, b"")),
                ("unsupported produce version", frame(0, 99, 8, b"")),
                ("truncated body", frame(3, 1, 9, b"\0\0\0\x05\0\x03ab")),
                ("client_id longer than frame", struct.pack(">ihhih", 10, 18, 0, 1, 200)),
            ]
            for name, data in hostile:
                s = connect(srv.kafka)
                s.sendall(data)
                assert closed_by_server(s), "server kept the connection after: " + name
                s.close()
                assert api_versions_ok(good, 2), "good connection broken after: " + name

            # Truncated frame then the peer goes away.
            s = connect(srv.kafka)
            s.sendall(struct.pack(">i", 100) + b"\0" * 10)
            s.close()

            # ApiVersions of an unknown version: answered (v0 layout, error 35), connection kept.
            s = connect(srv.kafka)
            s.sendall(frame(18, 99, 11, b""))
            r = recv_frame(s)
            corr, err = struct.unpack_from(">ih", r, 0)
            assert corr == 11 and err == 35, (corr, err)
            assert api_versions_ok(s, 12)
            s.close()

            # One Produce request: a good batch, a bad CRC, a bad magic, an unknown topic and
            # partition. Each partition gets its own error; the good batch is stored.
            good_vals = [b"good-%d" % i for i in range(10)]
            req = produce_v3(21, [
                (b"bad", [(0, batch(good_vals)), (1, batch([b"crc"], bad_crc=True))]),
                (b"nope", [(0, batch([b"x"]))]),
            ])
            good.sendall(req)
            corr, res = parse_produce_v3(recv_frame(good))
            assert corr == 21
            assert res[("bad", 0)] == (0, 0), res
            assert res[("bad", 1)][0] == 2, res  # CORRUPT_MESSAGE
            assert res[("nope", 0)][0] == 3, res  # UNKNOWN_TOPIC_OR_PARTITION
            good.sendall(produce_v3(22, [(b"bad", [(1, batch([b"m"], magic=1)),
                                                   (7, batch([b"p"])),
                                                   (0, b"\0\0\0\0\0\0\0\0\0\0\0\x05abc")])]))
            corr, res = parse_produce_v3(recv_frame(good))
            assert res[("bad", 1)][0] in (2, 43), res  # bad magic: corrupt/unsupported format
            assert res[("bad", 7)][0] == 3, res
            assert res[("bad", 0)][0] == 2, res  # truncated batch
            # A second good batch lands right after the first.
            good.sendall(produce_v3(23, [(b"bad", [(0, batch([b"again"]))])]))
            corr, res = parse_produce_v3(recv_frame(good))
            assert res[("bad", 0)] == (0, 10), res

            assert api_versions_ok(good, 30)
            # Nothing good was lost and nothing bad was stored.
            r = subprocess.run(["kcat", "-b", srv.kafka, "-C", "-t", "bad", "-e", "-q", "-f",
                                "%p:%s\n"], capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            got = sorted(r.stdout.splitlines())
            want = sorted(["0:" + v.decode() for v in good_vals] + ["0:again"])
            assert got == want, (got, want)
            good.close()
            out = srv.output()
            assert "closing connection" in out
            assert srv.stop() == 0, srv.output()
    print("ok")


if __name__ == "__main__":
    main()
