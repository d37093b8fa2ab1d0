"""Bad input to an Obelisk node and the obelisk/id/seq commands: negative or huge counts,
invalid sequence names, malformed binary requests. Each gets a specific error, the node keeps
serving, and nothing is handed out twice."""
import json
import os
import socket
import urllib.request
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import obelisk_util  # noqa: E402
import plg  # noqa: E402

BIN = plg.BIN


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)


def usage_error(r, text):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("pyralog: ") and text in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def frame(body):
    return struct.pack(">I", len(body)) + body


def recv_frame(s):
    hdr = b""
    while len(hdr) < 4:
        c = s.recv(4 - len(hdr))
        if not c:
            return None
        hdr += c
    (n,) = struct.unpack(">I", hdr)
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        assert c, "short response"
        body += c
    return body


def error_of(body):
    op, rid, st = struct.unpack(">BIB", body[:6])
    assert st != 0, body
    (ml,) = struct.unpack(">H", body[6:8])
    return op, rid, st, body[8:8 + ml].decode()


def cli_checks(listen):
    ob = ["--obelisk", listen]
    for bad in ["-5", "0", "1000001", "abc", "1e3", "99999999999999999999999", ""]:
        usage_error(run("id", "next", "--count", bad, *ob), "--count must be an integer")
    usage_error(run("seq", "next", "x", "--count", "-1", *ob), "--count must be an integer")
    usage_error(run("seq", "next", "x", "--count", "1000000001", *ob), "--count")
    for name in ["../etc", ".hidden", "a b", "x" * 65, "na/me", "é"]:
        usage_error(run("seq", "next", name, *ob), "invalid sequence name")
    usage_error(run("id", "decode", "9223372036854775808"), "not a Scarab ID")
    usage_error(run("id", "decode", "-1"), "not a Scarab ID")
    usage_error(run("id", "next", "--obelisk", "nohostport"), "--obelisk")
    usage_error(run("obelisk", "--node-id", "1024"), "--node-id")
    usage_error(run("obelisk", "--data-dir", "x"), "--node-id N is required")
    usage_error(run("id", "next", "--bogus", "1"), "unknown")
    r = run("id", "decode", "0")
    assert r.returncode == 0 and "time=2025-01-01T00:00:00.000Z" in r.stdout and \
        "node=0 sequence=0" in r.stdout, r.stdout
    # A node that is not there: one clear line, exit 1.
    dead = obelisk_util.free_port_pair()
    r = run("id", "next", "--obelisk", "127.0.0.1:%d" % dead)
    assert r.returncode == 1 and r.stderr.startswith("pyralog: id next: ") and \
        "Connection refused" in r.stderr, r.stderr


def binary_checks(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        cases = [
            (struct.pack(">BII", 1, 7, 0), 2, "count must be between 1 and 65536"),
            (struct.pack(">BII", 1, 8, 65537), 2, "count"),
            (struct.pack(">BII", 1, 9, 0xFFFFFFFF), 2, "count"),
            (struct.pack(">BIQB", 2, 10, 0, 1) + b"a", 2, "count must be between"),
            (struct.pack(">BIQB", 2, 11, 2**63, 1) + b"a", 2, "count"),
            (struct.pack(">BIQB", 2, 12, 5, 5) + b"../ab", 3, "sequence names"),
            (struct.pack(">BIQB", 2, 13, 5, 0), 3, "sequence names"),
            (struct.pack(">BIQB", 2, 14, 5, 3) + b"a\x00b", 3, "sequence names"),
            (struct.pack(">BIQB", 2, 15, 5, 9) + b"ab", 1, "truncated"),
            (struct.pack(">BI", 9, 16), 4, "unknown op"),
            (struct.pack(">BII", 1, 17, 1) + b"junk", 1, "trailing bytes"),
            (b"\x01\x00", 1, "shorter than"),
        ]
        for body, status, text in cases:
            s.sendall(frame(body))
            op, rid, st, msg = error_of(recv_frame(s))
            assert st == status and text in msg, (body, st, msg)
            if len(body) >= 5:
                assert rid == struct.unpack(">I", body[1:5])[0]
        # Still serving on the same connection: 3 IDs, then a sequence.
        s.sendall(frame(struct.pack(">BII", 1, 99, 3)))
        body = recv_frame(s)
        op, rid, st, count, nruns = struct.unpack(">BIBIH", body[:12])
        assert (op, rid, st, count) == (0x81, 99, 0, 3) and nruns >= 1, body
        s.sendall(frame(struct.pack(">BIQB", 2, 100, 10, 4) + b"good"))
        op, rid, st, first, count = struct.unpack(">BIBQQ", recv_frame(s))
        assert (op, rid, st, count) == (0x82, 100, 0, 10), (op, st)
    # Frame lengths out of bounds close the connection.
    for hdr in [struct.pack(">I", 0), struct.pack(">I", 1 << 30)]:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(hdr + b"\x01" * 16)
            assert recv_frame(s) is None
    # Garbage and a half-sent frame then disconnect: the node does not care.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">I", 20) + b"\x01\x02")


def rpc(listen, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request("http://%s/rpc" % listen, data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def call(listen, method, params=None):
    msg = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        msg["params"] = params
    return rpc(listen, msg)


def rpc_checks(listen):
    r = call(listen, "id.next", {"count": 5})
    ids = [int(x) for x in r["result"]["ids"]]
    assert len(ids) == 5 and ids == sorted(set(ids)) and all((x >> 12) & 1023 == 4 for x in ids)
    assert len(call(listen, "id.next")["result"]["ids"]) == 1
    assert len(call(listen, "id.next", {})["result"]["ids"]) == 1
    r = call(listen, "seq.next", {"name": "rpcseq", "count": 3})["result"]
    assert r == {"name": "rpcseq", "first": "0", "count": 3}, r
    r = call(listen, "seq.next", {"name": "rpcseq", "count": 2})["result"]
    assert r["first"] == "3", r
    info = call(listen, "obelisk.info", {})["result"]
    assert info["node_id"] == 4 and info["binary"].endswith(":%d" % (int(listen.split(":")[1]) + 1))
    bad = [
        ("id.next", {"count": -1}, "count"),
        ("id.next", {"count": 0}, "count"),
        ("id.next", {"count": 10001}, "count"),
        ("id.next", {"count": "lots"}, "count"),
        ("id.next", {"count": 1e30}, "count"),
        ("id.next", [1, 2], "object"),
        ("seq.next", {"count": 1}, "name"),
        ("seq.next", {"name": "../etc/passwd", "count": 1}, "not a valid sequence name"),
        ("seq.next", {"name": "", "count": 1}, "name"),
        ("seq.next", {"name": "x" * 65, "count": 1}, "not a valid sequence name"),
        ("seq.next", {"name": 5, "count": 1}, "name"),
        ("seq.next", {"name": "ok", "count": -3}, "count"),
        ("seq.next", {"name": "ok", "count": 10 ** 12}, "count"),
    ]
    for method, params, text in bad:
        r = call(listen, method, params)
        assert "error" in r and r["error"]["code"] == -32602 and text in r["error"]["message"], \
            (method, params, r)
    assert call(listen, "no.such.method", {})["error"]["code"] == -32601
    assert rpc(listen, b"{not json")["error"]["code"] == -32700
    assert rpc(listen, {"jsonrpc": "2.0", "id": 1})["error"]["code"] == -32600


def main():
    with plg.TempDir() as d:
        n = obelisk_util.node(d, 4)
        with n:
            cli_checks(n.listen)
            rpc_checks(n.listen)
            binary_checks(n.binary)
            r = run("seq", "next", "good", "--count", "2", "--obelisk", n.listen)
            # nothing above was handed out twice: "rpcseq" continues at 5.
            assert call(n.listen, "seq.next", {"name": "rpcseq"})["result"]["first"] == "5"
            assert r.returncode == 0 and r.stdout.split() == ["10", "11"], r
            r = run("id", "next", "--count", "2", "--obelisk", n.listen)
            assert r.returncode == 0 and len(r.stdout.split()) == 2, r
            # A second node on the same data dir is refused (it would repeat values).
            m = obelisk_util.node(d, 5)
            try:
                m.start()
                raise AssertionError("second node on one data dir started")
            except RuntimeError as e:
                assert "in use by another process" in str(e), e
            with urllib.request.urlopen("http://%s/metrics" % n.listen, timeout=10) as r:
                text = r.read().decode()
            vals = {}
            for line in text.splitlines():
                if line.startswith("pyralog_obelisk_"):
                    k, v = line.split()
                    vals[k] = float(v)
            assert vals["pyralog_obelisk_ids_total"] >= 12, vals
            assert vals["pyralog_obelisk_sequence_values_total"] >= 16, vals
            assert vals["pyralog_obelisk_errors_total"] >= 12, vals
            assert vals["pyralog_obelisk_fsyncs_total"] >= 1, vals
            assert vals["pyralog_obelisk_sequences_open"] >= 2, vals
            assert n.stop() == 0
    print("ok")


if __name__ == "__main__":
    main()
