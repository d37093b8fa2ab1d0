"""JSON-RPC transport over HTTP (src/rpc/http.c) against the standalone tests/tools/rpc_test_server:
POST /rpc with keep-alive, every standard error code, notifications (204), async calls in parallel,
the message size limit (413), the connection limit (503), GET /health, GET /metrics through
promtool with counters that move, unknown paths and methods, clean SIGTERM shutdown."""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

BUILD = os.environ.get("PYRALOG_BUILD_DIR", "build")
TOOL = os.path.join(BUILD, "rpc_test_server")


def start(extra=()):
    addr = "127.0.0.1:%d" % plg.free_port()
    p = plg.Proc([TOOL, "--listen", addr, *extra], "rpc-test-server ready")
    p.addr = addr
    return p


def conn(addr):
    host, port = addr.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=10)


def post(c, body, raw=False):
    data = body if raw else json.dumps(body)
    c.request("POST", "/rpc", body=data, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read()
    return r.status, (json.loads(text) if text else None)


def check_error(resp, code, id_=None):
    assert resp["jsonrpc"] == "2.0", resp
    assert resp["id"] == id_, resp
    assert resp["error"]["code"] == code, resp
    assert isinstance(resp["error"]["message"], str) and len(resp["error"]["message"]) > 10, resp


def metrics(addr):
    ctype, text = plg.http_metrics(addr)
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    return text


metric_value = plg.metric_value


def promtool_check(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()


def test_basics(addr):
    c = conn(addr)
    # keep-alive: many requests over one connection, the socket stays the same
    sock = None
    for i in range(50):
        st, r = post(c, {"jsonrpc": "2.0", "id": i, "method": "echo", "params": {"i": i}})
        assert st == 200 and r == {"jsonrpc": "2.0", "id": i, "result": {"i": i}}, (st, r)
        if sock is None:
            sock = c.sock
        assert c.sock is sock, "connection was not kept alive"
    # string id, array params
    st, r = post(c, {"jsonrpc": "2.0", "id": "abc", "method": "echo", "params": [1, 2]})
    assert r == {"jsonrpc": "2.0", "id": "abc", "result": [1, 2]}, r
    # every standard error code
    st, r = post(c, '{"jsonrpc":"2.0","id":1,"method":"echo"', raw=True)
    assert st == 200
    check_error(r, -32700)
    st, r = post(c, "", raw=True)
    check_error(r, -32700)
    st, r = post(c, {"jsonrpc": "2.0", "id": 2, "method": 7})
    check_error(r, -32600, 2)
    st, r = post(c, {"jsonrpc": "1.0", "id": 3, "method": "echo"})
    check_error(r, -32600, 3)
    st, r = post(c, [])
    check_error(r, -32600)
    st, r = post(c, {"jsonrpc": "2.0", "id": 4, "method": "no.such.method"})
    check_error(r, -32601, 4)
    assert "no.such.method" in r["error"]["message"]
    st, r = post(c, {"jsonrpc": "2.0", "id": 5, "method": "sleep", "params": {"ms": "soon"}})
    check_error(r, -32602, 5)
    assert '"ms"' in r["error"]["message"], r
    st, r = post(c, {"jsonrpc": "2.0", "id": 6, "method": "sleep", "params": {}})
    check_error(r, -32602, 6)
    st, r = post(c, {"jsonrpc": "2.0", "id": 7, "method": "ticks", "params": {"count": 1}})
    check_error(r, -32006, 7)  # push needs a WebSocket
    # notification only: 204, no body; a batch mixes answers and skips notifications
    st, r = post(c, {"jsonrpc": "2.0", "method": "echo", "params": {}})
    assert st == 204 and r is None, (st, r)
    st, r = post(c, [{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"a": 1}},
                     {"jsonrpc": "2.0", "method": "echo"},
                     {"jsonrpc": "2.0", "id": 2, "method": "sleep", "params": {"ms": 20}},
                     5])
    assert st == 200 and isinstance(r, list) and len(r) == 3, r
    by_id = {x["id"]: x for x in r if x["id"] is not None}
    assert by_id[1]["result"] == {"a": 1} and by_id[2]["result"] == {"slept": 20}, r
    assert [x for x in r if x["id"] is None][0]["error"]["code"] == -32600
    # other paths and methods
    c.request("GET", "/nope")
    r = c.getresponse()
    assert r.status == 404 and "error" in json.loads(r.read())
    c.request("GET", "/rpc")
    r = c.getresponse()
    assert r.status == 405 and "POST" in json.loads(r.read())["error"]
    c.request("GET", "/health")
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
    c.close()


def test_async_parallel(addr):
    # 20 connections each waiting 300 ms at the same time: done in well under 20 * 300 ms.
    results = []

    def one(i):
        c = conn(addr)
        st, r = post(c, {"jsonrpc": "2.0", "id": i, "method": "sleep", "params": {"ms": 300}})
        results.append((st, r))
        c.close()

    t0 = time.time()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.time() - t0
    assert len(results) == 20 and all(st == 200 and r["result"] == {"slept": 300}
                                      for st, r in results), results
    assert took < 3.0, "async calls were serialised: %.2fs" % took


def test_limits():
    with start(["--max-message", "1000", "--max-connections", "3"]) as p:
        c = conn(p.addr)
        big = {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"x": "y" * 2000}}
        st, r = post(c, big)
        assert st == 413, st
        check_error(r, -32004)
        assert "1000" in r["error"]["message"], r
        c.close()
        # just under the limit is fine
        c = conn(p.addr)
        ok = {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"x": "y" * 900}}
        st, r = post(c, ok)
        assert st == 200 and r["result"]["x"] == "y" * 900
        # connection limit: 3 held open, the 4th gets 503 naming the limit
        held = [c, conn(p.addr), conn(p.addr)]
        for h in held[1:]:
            st, _ = post(h, {"jsonrpc": "2.0", "id": 1, "method": "echo"})
            assert st == 200
        extra = conn(p.addr)
        st, r = post(extra, {"jsonrpc": "2.0", "id": 1, "method": "echo"})
        assert st == 503, st
        check_error(r, -32003)
        assert "3" in r["error"]["message"]
        extra.close()
        for h in held:
            h.close()
        # once they close, new connections are admitted again
        deadline = time.time() + 5
        while True:
            c = conn(p.addr)
            st, _ = post(c, {"jsonrpc": "2.0", "id": 1, "method": "echo"})
            c.close()
            if st == 200:
                break
            assert time.time() < deadline, "connections were not released"
            time.sleep(0.05)
        text = metrics(p.addr)
        assert metric_value(text, 'pyralog_http_rejected_total{reason="max_connections"}') >= 1
        assert metric_value(text, 'pyralog_http_rejected_total{reason="max_message"}') >= 1
        # garbage on the socket: the server answers 4xx or closes, and keeps serving others
        host, port = p.addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
        s.sendall(b"\x00\x01garbage\r\n\r\n")
        s.settimeout(5)
        try:
            got = s.recv(100)  # a timeout here (no answer, connection kept open) fails the test
        except ConnectionResetError:
            got = b""
        assert got == b"" or re.match(rb"HTTP/1\.[01] 4\d\d ", got), got
        s.close()
        c = conn(p.addr)
        st, _ = post(c, {"jsonrpc": "2.0", "id": 1, "method": "echo"})
        assert st == 200
        c.close()
        assert p.stop() == 0


def test_metrics_move(addr):
    before = metrics(addr)
    promtool_check(before)
    c = conn(addr)
    for i in range(10):
        post(c, {"jsonrpc": "2.0", "id": i, "method": "echo"})
    post(c, {"jsonrpc": "2.0", "id": 1, "method": "nope"})
    c.close()
    after = metrics(addr)
    promtool_check(after)
    key = 'pyralog_rpc_requests_total{method="echo"}'
    assert metric_value(after, key) - metric_value(before, key) == 10
    key = 'pyralog_rpc_request_duration_seconds_count{method="echo"}'
    assert metric_value(after, key) - metric_value(before, key) == 10
    key = 'pyralog_rpc_requests_total{method="unknown"}'
    assert metric_value(after, key) - metric_value(before, key) == 1
    assert metric_value(after, "pyralog_http_bytes_in_total") > \
        metric_value(before, "pyralog_http_bytes_in_total")
    assert metric_value(after, "pyralog_process_resident_memory_bytes") > 1e6


def main():
    with start() as p:
        test_basics(p.addr)
        test_async_parallel(p.addr)
        test_metrics_move(p.addr)
        assert p.stop() == 0, p.output()
    test_limits()
    print("ok")


if __name__ == "__main__":
    main()
