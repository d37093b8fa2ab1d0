#!/usr/bin/env python3
"""A topic create that fails halfway leaves no partition directory behind, and a registered
topic that fails to open at start keeps all of its files.

Fault: a regular file where a partition's directory must go (<data>/topics/<name>-1), so the
create (on a libuv worker, topic.create) opens partition 0 and then fails on partition 1. The
directory of partition 0 must be removed again: a later create of the name would otherwise adopt
it. Then the file is removed and the same create succeeds.
Second case: a registered topic whose partition 1 directory is replaced by a file cannot be
opened at start (the server refuses to start); the records of partition 0 must still be on disk,
and once the directory is back the server starts with the records."""
import base64
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402


rpc = plg.rpc


def names(http):
    return sorted(t["name"] for t in rpc(http, "topic.list")["result"])


def main():
    with plg.TempDir() as d:
        data = os.path.join(d, "data")
        tdir = os.path.join(data, "topics")
        os.makedirs(tdir)
        blocker = os.path.join(tdir, "half-1")
        open(blocker, "w").close()
        with plg.server(data) as srv:
            r = rpc(srv.http, "topic.create", name="half", partitions=2)
            assert "error" in r and "partition 1" in r["error"]["message"], r
            assert "half" not in names(srv.http)
            assert not os.path.exists(os.path.join(tdir, "half-0")), \
                "a failed create left partition 0's directory: %s" % os.listdir(tdir)
            print("ok: failed create (%s) left no directory" % r["error"]["message"])
            os.unlink(blocker)
            r = rpc(srv.http, "topic.create", name="half", partitions=2)
            assert r.get("result") == {"name": "half", "partitions": 2}, r
            for p in range(2):
                v = base64.b64encode(b"record-%d" % p).decode()
                r = rpc(srv.http, "log.append", topic="half", partition=p, value=v)
                assert "result" in r, r
            assert srv.stop() == 0
        print("ok: the same create succeeds once the fault is gone")

        p1 = os.path.join(tdir, "half-1")
        aside = os.path.join(d, "half-1.aside")
        shutil.move(p1, aside)
        open(p1, "w").close()
        before = sorted(os.listdir(os.path.join(tdir, "half-0")))
        srv = plg.server(data)
        try:
            srv.start()
            started = True
        except RuntimeError:
            started = False
        srv.kill()
        assert not started, "the server started without partition 1 of a registered topic"
        assert sorted(os.listdir(os.path.join(tdir, "half-0"))) == before, \
            "a registered topic's partition 0 lost files when opening partition 1 failed"
        os.unlink(p1)
        shutil.move(aside, p1)
        with plg.server(data) as srv:
            assert "half" in names(srv.http)
            for p in range(2):
                r = rpc(srv.http, "log.read", topic="half", partition=p, offset=0)
                assert "result" in r, r
                vals = [base64.b64decode(rec["value"]) for rec in r["result"]["records"]]
                assert vals == [b"record-%d" % p], r
        print("ok: a registered topic that failed to open kept its files and came back whole")
    return 0


if __name__ == "__main__":
    sys.exit(main())
