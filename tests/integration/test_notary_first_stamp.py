#!/usr/bin/env python3
"""The first notary.stamp calls on a fresh server create the internal topic __notary on a worker
(broker_topic_create_async) and are answered once it exists:
1. concurrent first stamps (two `pyralog notary stamp` processes and two raw HTTP clients, all
   started together) all get receipts at distinct offsets, the CLI receipts check out offline,
   and the topic is created once (one partition, one "topic created" log line);
2. a stamp that arrives while another creator's create of __notary is in flight (topic.create
   and notary.stamp in one JSON-RPC batch: the create reserves the name, the stamp runs right
   after) waits for that create instead of failing; then a batch of first stamps on a third
   fresh server is answered in order (offsets 0, 1, 2)."""
import hashlib
import json
import os
import re
import sys
import threading
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

NOTARY = "__notary"


def rpc(http, body):
    req = urllib.request.Request("http://%s/rpc" % http, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def stamp_req(i, seed):
    h = hashlib.sha256(("%s-%d" % (seed, i)).encode()).hexdigest()
    return {"jsonrpc": "2.0", "id": i, "method": "notary.stamp", "params": {"hash": h}}


def topics(http):
    r = rpc(http, {"jsonrpc": "2.0", "id": 1, "method": "topic.list"})
    assert "result" in r, r
    return [t for t in r["result"] if t["name"] == NOTARY]


def created_lines(srv):
    return re.findall(r'msg="topic created" topic=__notary\b', srv.output())


def concurrent_first_stamps(d):
    files = []
    for i in range(2):
        path = os.path.join(d, "doc%d.bin" % i)
        with open(path, "wb") as f:
            f.write(os.urandom(10_000 + i))
        files.append(path)
    with plg.server(os.path.join(d, "a")) as srv:
        results = {}
        go = threading.Barrier(4)

        def cli(i):
            go.wait()
            results["cli%d" % i] = plg.run(plg.BIN, "notary", "stamp", files[i], "--http",
                                           srv.http, timeout=60)

        def raw(i):
            go.wait()
            results["raw%d" % i] = rpc(srv.http, stamp_req(i, "raw"))

        threads = [threading.Thread(target=cli, args=(i,)) for i in range(2)]
        threads += [threading.Thread(target=raw, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert len(results) == 4, results
        offsets = []
        for i in range(2):
            r = results["cli%d" % i]
            assert r.returncode == 0, r.stderr
            receipt = json.loads(r.stdout)
            offsets.append(receipt["offset"])
            path = os.path.join(d, "receipt%d.json" % i)
            with open(path, "w") as f:
                f.write(r.stdout)
            c = plg.run(plg.BIN, "notary", "check", path, files[i], timeout=30)
            assert c.returncode == 0, c.stdout + c.stderr
            r = results["raw%d" % i]
            assert "result" in r, r
            offsets.append(r["result"]["offset"])
        assert sorted(offsets) == [0, 1, 2, 3], offsets
        t = topics(srv.http)
        assert t == [{"name": NOTARY, "partitions": 1}], t
        assert len(created_lines(srv)) == 1, srv.output()
        assert srv.stop() == 0, srv.output()
    print("ok: 4 concurrent first stamps answered (offsets %s), __notary created once" % offsets)


def stamp_during_foreign_create(d):
    with plg.server(os.path.join(d, "b")) as srv:
        batch = [{"jsonrpc": "2.0", "id": "create", "method": "topic.create",
                  "params": {"name": NOTARY, "partitions": 1}}, stamp_req(1, "b")]
        out = {r["id"]: r for r in rpc(srv.http, batch)}
        assert "result" in out["create"], out
        assert "result" in out[1], "the stamp failed while topic.create was in flight: %s" % out
        assert out[1]["result"]["offset"] == 0, out
        assert topics(srv.http) == [{"name": NOTARY, "partitions": 1}]
        assert len(created_lines(srv)) == 1, srv.output()
        assert srv.stop() == 0, srv.output()
    print("ok: a stamp during another creator's create of __notary waited for it")
    with plg.server(os.path.join(d, "c")) as srv:
        out = rpc(srv.http, [stamp_req(i, "c") for i in range(3)])
        got = sorted((r["id"], r["result"]["offset"]) for r in out)
        assert got == [(0, 0), (1, 1), (2, 2)], out
        assert len(created_lines(srv)) == 1, srv.output()
        assert srv.stop() == 0, srv.output()
    print("ok: a batch of first stamps answered in order once the topic exists")


def main():
    with plg.TempDir() as d:
        concurrent_first_stamps(d)
        stamp_during_foreign_create(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
