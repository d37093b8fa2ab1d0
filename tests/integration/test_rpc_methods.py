"""Every JSON-RPC method of `pyralog server` through POST /rpc with http.client, with every error
path (malformed body, invalid request, unknown method, wrong param types, missing topic and
partition, out-of-range offsets, limits), Kafka interop both ways with kcat (records appended
through RPC are read by a Kafka consumer; records produced by kcat, also compressed, come back
from log.read), GET /health, and GET /metrics through promtool with counters that move."""
import base64
import http.client
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class Rpc:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.c = http.client.HTTPConnection(host, int(port), timeout=20)
        self.id = 0

    def raw(self, body):
        self.c.request("POST", "/rpc", body=body, headers={"Content-Type": "application/json"})
        r = self.c.getresponse()
        text = r.read()
        return r.status, (json.loads(text) if text else None)

    def call(self, method, params=None):
        self.id += 1
        msg = {"jsonrpc": "2.0", "id": self.id, "method": method}
        if params is not None:
            msg["params"] = params
        st, r = self.raw(json.dumps(msg))
        assert st == 200, (st, r)
        assert r["id"] == self.id and r["jsonrpc"] == "2.0", r
        return r

    def ok(self, method, params=None):
        r = self.call(method, params)
        assert "result" in r, "%s %s -> %s" % (method, params, r)
        return r["result"]

    def err(self, method, params, code, needle=None):
        r = self.call(method, params)
        assert "error" in r and r["error"]["code"] == code, \
            "%s %s: want %d, got %s" % (method, params, code, r)
        if needle:
            assert needle in r["error"]["message"], r
        return r["error"]


def metrics(addr):
    """/metrics text, checked by promtool."""
    _, text = plg.http_metrics(addr)
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()
    return text


def value_of(text, key):
    return plg.metric_value(text, key, 0.0)


def kcat(*args, stdin=None):
    p = subprocess.run(["kcat", *args], input=stdin, capture_output=True, timeout=60)
    assert p.returncode == 0, (args, p.stderr.decode())
    return p.stdout.decode()


def main():
    with plg.TempDir() as d, plg.server(d) as srv:
        rpc = Rpc(srv.http)
        m0 = metrics(srv.http)
        # health
        rpc.c.request("GET", "/health")
        r = rpc.c.getresponse()
        assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}

        st = rpc.ok("cluster.status", {})
        assert st["node_id"] == 0 and isinstance(st["uptime_ms"], int), st
        topics0, parts0 = st["topics"], st["partitions"]  # internal topics may exist
        assert st["version"], st

        # topic.create / topic.list
        assert rpc.ok("topic.create", {"name": "t1", "partitions": 3}) == \
            {"name": "t1", "partitions": 3}
        assert rpc.ok("topic.create", {"name": "t2", "config": {"retention.ms": "3600000"}}) == \
            {"name": "t2", "partitions": 1}
        rpc.err("topic.create", {"name": "t1", "partitions": 1}, -32002, "already exists")
        rpc.err("topic.create", {"name": "bad/name"}, -32602)
        rpc.err("topic.create", {"name": 5}, -32602, '"name"')
        rpc.err("topic.create", {"name": "t3", "partitions": "many"}, -32602, '"partitions"')
        rpc.err("topic.create", {"name": "t3", "partitions": 0}, -32602, "range")
        rpc.err("topic.create", {"name": "t3", "config": {"no.such.config": "1"}}, -32602)
        rpc.err("topic.create", {"name": "t3", "config": "x"}, -32602, '"config"')
        rpc.err("topic.create", [], -32602, "object")
        topics = rpc.ok("topic.list", {})
        assert {"name": "t1", "partitions": 3} in topics and \
            {"name": "t2", "partitions": 1} in topics and len(topics) == topics0 + 2, topics

        # log.append
        r = rpc.ok("log.append", {"topic": "t1", "partition": 1, "key": b64("k1"),
                                  "value": b64("hello"),
                                  "headers": [{"key": "h1", "value": b64("v1")},
                                              {"key": "h2", "value": None}]})
        assert r == {"partition": 1, "offset": 0}, r
        r = rpc.ok("log.append", {"topic": "t1", "partition": 1, "value": b64("world"),
                                  "acks": "all"})
        assert r == {"partition": 1, "offset": 1}, r
        r = rpc.ok("log.append", {"topic": "t1", "partition": 1, "value": None, "key": b64("k1"),
                                  "acks": 0})
        assert r["offset"] == 2, r
        # keyed without a partition: the same key always lands on the same partition
        p1 = rpc.ok("log.append", {"topic": "t1", "key": b64("user-42"), "value": b64("a")})
        p2 = rpc.ok("log.append", {"topic": "t1", "key": b64("user-42"), "value": b64("b")})
        assert p1["partition"] == p2["partition"] and p2["offset"] == p1["offset"] + 1, (p1, p2)
        seen = {rpc.ok("log.append", {"topic": "t1", "value": b64("x")})["partition"]
                for _ in range(6)}
        assert seen == {0, 1, 2}, seen  # keyless appends spread over the partitions
        rpc.err("log.append", {"topic": "nope", "value": b64("x")}, -32001, '"nope"')
        rpc.err("log.append", {"topic": "t1", "partition": 7, "value": b64("x")}, -32001, "7")
        rpc.err("log.append", {"topic": "t1", "partition": 0}, -32602, '"value"')
        rpc.err("log.append", {"topic": "t1", "value": "not base64!"}, -32602, "base64")
        rpc.err("log.append", {"topic": "t1", "value": 17}, -32602, '"value"')
        rpc.err("log.append", {"value": b64("x")}, -32602, '"topic"')
        rpc.err("log.append", {"topic": "t1", "partition": "zero", "value": b64("x")}, -32602)
        rpc.err("log.append", {"topic": "t1", "value": b64("x"), "headers": {"a": "b"}}, -32602,
                "headers")
        rpc.err("log.append", {"topic": "t1", "value": b64("x"), "headers": [{"value": "eA=="}]},
                -32602, '"key"')
        rpc.err("log.append", {"topic": "t1", "value": b64("x"), "acks": 2}, -32602, "acks")
        # above the message size limit (1 MiB by default): 413 with error -32004
        big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "log.append",
                          "params": {"topic": "t1", "value": b64(b"x" * (1 << 20))}})
        st, r = rpc.raw(big)
        assert st == 413 and r["error"]["code"] == -32004, (st, r)
        rpc = Rpc(srv.http)  # the server closed that connection

        # log.read
        r = rpc.ok("log.read", {"topic": "t1", "partition": 1, "offset": 0})
        recs = r["records"]
        assert r["high_watermark"] == len(recs) >= 3 and r["next_offset"] == len(recs), r
        assert [x["offset"] for x in recs[:3]] == [0, 1, 2], recs
        assert recs[0]["key"] == b64("k1") and recs[0]["value"] == b64("hello"), recs[0]
        assert recs[0]["headers"] == [{"key": "h1", "value": b64("v1")},
                                      {"key": "h2", "value": None}], recs[0]
        assert recs[1]["key"] is None and recs[1]["value"] == b64("world"), recs[1]
        assert recs[2]["value"] is None and recs[2]["key"] == b64("k1"), recs[2]
        assert all(isinstance(x["timestamp"], int) and x["timestamp"] > 1.7e12 for x in recs)
        r = rpc.ok("log.read", {"topic": "t1", "partition": 1, "offset": 1, "max_records": 1})
        assert [x["offset"] for x in r["records"]] == [1], r
        r = rpc.ok("log.read", {"topic": "t1", "partition": 1, "offset": "earliest",
                                "max_records": 2})
        assert [x["offset"] for x in r["records"]] == [0, 1], r
        hw = r["high_watermark"]
        r = rpc.ok("log.read", {"topic": "t1", "partition": 1, "offset": hw})
        assert r["records"] == [], r
        rpc.err("log.read", {"topic": "t1", "partition": 1, "offset": hw + 5}, -32005,
                "outside the log")
        rpc.err("log.read", {"topic": "nope", "partition": 0, "offset": 0}, -32001, '"nope"')
        rpc.err("log.read", {"topic": "t1", "partition": 9, "offset": 0}, -32001, "9")
        rpc.err("log.read", {"topic": "t1", "partition": 1, "offset": "abc"}, -32602)
        rpc.err("log.read", {"topic": "t1", "partition": 1}, -32602, '"offset"')
        rpc.err("log.read", {"topic": "t1", "partition": 1, "offset": 0, "max_records": 0},
                -32602, "max_records")

        # id.next: Scarab IDs as decimal strings, strictly increasing
        ids = rpc.ok("id.next", {"count": 5})["ids"]
        assert len(ids) == 5 and all(isinstance(x, str) for x in ids), ids
        assert [int(x) for x in ids] == sorted(set(int(x) for x in ids)), ids
        more = rpc.ok("id.next", {})["ids"]
        assert len(more) == 1 and int(more[0]) > int(ids[-1]), (ids, more)
        rpc.err("id.next", {"count": 0}, -32602)
        rpc.err("id.next", {"count": "many"}, -32602)

        # subscriptions need a WebSocket
        rpc.err("log.subscribe", {"topic": "t1", "partition": 0, "offset": 0}, -32006,
                "WebSocket")
        rpc.err("log.unsubscribe", {"subscription": 12345}, -32001)

        # protocol-level errors
        st, r = rpc.raw('{"jsonrpc":"2.0","id":1,"method":"log.read",')
        assert st == 200 and r["error"]["code"] == -32700 and r["id"] is None, r
        st, r = rpc.raw('{"jsonrpc":"2.0","id":1,"method":["log.read"]}')
        assert r["error"]["code"] == -32600, r
        st, r = rpc.raw('[1]')
        assert r[0]["error"]["code"] == -32600, r
        rpc.err("log.nope", {}, -32601, "log.nope")

        # Kafka consumer reads what RPC appended
        out = kcat("-b", srv.kafka, "-t", "t1", "-p", "1", "-C", "-o", "beginning", "-e", "-q",
                   "-f", "%o|%k|%s\n")
        lines = out.splitlines()
        assert lines[0] == "0|k1|hello" and lines[1] == "1||world", lines
        # kcat -X headers? kcat prints headers with %h
        out = kcat("-b", srv.kafka, "-t", "t1", "-p", "1", "-C", "-o", "0", "-c", "1", "-q",
                   "-f", "%h\n")
        assert out.strip() == "h1=v1,h2=NULL", out

        # RPC reads what a Kafka producer wrote, compressed or not
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            data = "".join("%s-k%d\t%s-v%d\n" % (codec, i, codec, i) for i in range(50))
            kcat("-b", srv.kafka, "-t", "t2", "-P", "-K", "\t", "-z", codec, stdin=data.encode())
        got = []
        off = 0
        while True:
            r = rpc.ok("log.read", {"topic": "t2", "partition": 0, "offset": off,
                                    "max_records": 77})
            if not r["records"]:
                break
            got += r["records"]
            off = r["records"][-1]["offset"] + 1
        assert len(got) == 250, len(got)
        assert [x["offset"] for x in got] == list(range(250))
        want = ["%s-v%d" % (c, i) for c in ("none", "gzip", "snappy", "lz4", "zstd")
                for i in range(50)]
        assert [base64.b64decode(x["value"]).decode() for x in got] == want
        assert base64.b64decode(got[60]["key"]).decode() == "gzip-k10"

        st = rpc.ok("cluster.status")
        assert st["topics"] == topics0 + 2 and st["partitions"] == parts0 + 4, st

        # metrics moved
        m1 = metrics(srv.http)
        k = 'pyralog_rpc_requests_total{method="log.append"}'
        assert value_of(m1, k) - value_of(m0, k) >= 12, (value_of(m0, k), value_of(m1, k))
        assert value_of(m1, "pyralog_rpc_records_in_total") >= 11
        assert value_of(m1, "pyralog_rpc_records_out_total") >= 250
        assert value_of(m1, 'pyralog_rpc_errors_total{class="params"}') >= 10
        assert value_of(m1, 'pyralog_rpc_request_duration_seconds_count{method="log.read"}') > 0
        # the Kafka path and storage report into the same registry
        k = 'pyralog_kafka_requests_total{api="Produce"}'
        assert value_of(m1, k) - value_of(m0, k) >= 5, value_of(m1, k)
        assert value_of(m1, 'pyralog_kafka_request_duration_seconds_count{api="Fetch"}') >= 1
        assert value_of(m1, 'pyralog_log_end_offset{topic="t2",partition="0"}') == 250
        assert value_of(m1, 'pyralog_log_size_bytes{topic="t2",partition="0"}') > 0
        assert value_of(m1, "pyralog_log_records_appended_total") - \
            value_of(m0, "pyralog_log_records_appended_total") >= 250 + 11
        assert value_of(m1, 'pyralog_net_connections_accepted_total{listener="kafka"}') >= 5
        # kcat read the RPC-appended records back: Fetch reports records and bytes out
        assert value_of(m1, "pyralog_fetch_records_out_total") - \
            value_of(m0, "pyralog_fetch_records_out_total") >= 11
        assert value_of(m1, "pyralog_fetch_bytes_out_total") > 0
        assert value_of(m1, "pyralog_process_cpu_seconds_total") > 0
        # a second server on the same HTTP port: one clear line, exit 1, no crash
        with plg.TempDir() as d2:
            p = subprocess.run([plg.BIN, "server", "--data-dir", d2, "--kafka-listen",
                                "127.0.0.1:%d" % plg.free_port(), "--http-listen", srv.http],
                               capture_output=True, timeout=30)
            assert p.returncode == 1 and b"cannot listen on " + srv.http.encode() in p.stderr, p
            p = subprocess.run([plg.BIN, "server", "--data-dir", d2, "--kafka-listen",
                                "127.0.0.1:%d" % plg.free_port(), "--http-listen", "nohost:1"],
                               capture_output=True, timeout=30)
            assert p.returncode in (1, 2) and b"nohost" in p.stderr, p
        rpc.c.close()
        assert srv.stop() == 0, srv.output()
    print("ok")


if __name__ == "__main__":
    main()
