"""A topic create that runs out of inodes halfway through its partitions (a real tmpfs with
nr_inodes=400; needs root: as root a failed mount fails the test, as non-root it says SKIP on
stderr) leaves no partition directory or file behind, answers a storage error (JSON-RPC -32000,
CreateTopics KAFKA_STORAGE_ERROR 56), and the same create works once inodes are free again.

The inodes are taken by empty files; freeing 3 or 7 of them lets the create get part of the way
(a directory and some segment files of the first partitions) before it fails."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import diskfull  # noqa: E402
import plg  # noqa: E402
from test_kafka_disk_full_admin import Conn, create_topics  # noqa: E402


class Inodes:
    """Takes every free inode of the file system at mnt with empty files."""

    def __init__(self, mnt):
        self.dir = os.path.join(mnt, "inodes")
        os.mkdir(self.dir)
        self.n = 0

    def take_all(self):
        while True:
            try:
                open(os.path.join(self.dir, str(self.n)), "w").close()
            except OSError:
                return
            self.n += 1

    def give(self, k):
        for _ in range(min(k, self.n)):
            self.n -= 1
            os.unlink(os.path.join(self.dir, str(self.n)))


def leftovers(data, name):
    tdir = os.path.join(data, "topics")
    return {d: sorted(os.listdir(os.path.join(tdir, d))) for d in os.listdir(tdir)
            if d.rsplit("-", 1)[0] == name}


def run(mnt):
    data = os.path.join(mnt, "data")
    srv = plg.server(data)
    with srv:
        inodes = Inodes(mnt)
        c = Conn(srv)
        for k in (0, 3, 7):
            inodes.take_all()
            inodes.give(k)
            name = "half%d" % k
            r = plg.rpc(srv.http, "topic.create", name=name, partitions=4)
            e = r.get("error") or {}
            assert e.get("code") == -32000 and "No space left on device" in e.get("message", ""), r
            assert leftovers(data, name) == {}, "topic.create with %d inodes left %s" % (
                k, leftovers(data, name))
            inodes.take_all()
            inodes.give(k)
            err, msg = create_topics(c, name + "k", 4)
            assert err == 56 and "No space left on device" in (msg or ""), (err, msg)
            assert leftovers(data, name + "k") == {}, "CreateTopics with %d inodes left %s" % (
                k, leftovers(data, name + "k"))
            diskfull.alive(srv, "after creates with %d inodes free" % k)
            print("ok %d inodes: %s; nothing left behind" % (k, e["message"]))
        inodes.give(inodes.n)
        for k in (0, 3, 7):
            for name in ("half%d" % k, "half%dk" % k):
                r = plg.rpc(srv.http, "topic.create", name=name, partitions=4)
                assert r.get("result") == {"name": name, "partitions": 4}, r
                for p in range(4):
                    r = plg.rpc(srv.http, "log.read", topic=name, partition=p, offset=0)
                    assert r["result"]["high_watermark"] == 0, r
        assert srv.stop() == 0
    print("ok inodes back: every create works, its partitions empty")


def main():
    diskfull.main("16m,nr_inodes=400", run)


if __name__ == "__main__":
    main()
