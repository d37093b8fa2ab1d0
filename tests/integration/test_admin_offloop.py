"""Topic administration does its file work off the event loop: creating a topic with 1,000
partitions (directories, segment files, fsyncs, Merkle trees, then the registry write) and
deleting it (closing the logs, the registry write, removing the files) run on libuv workers, so
a second client's produce round trips keep being answered while the request is in flight, none
of them for anywhere near its duration. Each answer
means durable: right after CreateTopics / DeleteTopics return, <data>/meta/topics.json already
lists (or no longer lists) the topic, and a deleted topic's directories are gone. The name is
reserved while a create or delete is in flight, and can be reused once the delete answered."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from plg import run  # noqa: E402
from probe import start_prober  # noqa: E402

PARTS = 1000


def registry(d):
    with open(os.path.join(d, "meta", "topics.json")) as f:
        return {t["name"]: t for t in json.load(f)["topics"]}


def main():
    with plg.TempDir() as d:
        srv = plg.server(d)
        with srv:
            b = ["--bootstrap", srv.kafka]
            prober = start_prober(plg.BIN, srv.kafka)
            t0 = time.time()
            r = run(plg.BIN, "topic", "create", "big", "--partitions", str(PARTS),
                    "--config", "segment.bytes=1048576", *b)
            t1 = time.time()
            assert r.returncode == 0, r.stderr
            reg = registry(d)  # durable before the answer
            assert reg["big"]["partitions"] == PARTS, reg.get("big")
            assert reg["big"]["config"] == {"segment.bytes": "1048576"}
            inside = prober.during(t0, t1)
            worst = max(inside) if inside else 0
            print("create %d partitions: %.0f ms; probes answered meanwhile: %d, worst round "
                  "trip %.1f ms" % (PARTS, (t1 - t0) * 1000, len(inside), worst * 1000))
            assert t1 - t0 > 0.1, "creation too fast to show anything"
            assert len(inside) >= 3, "the probe client was not served during the creation"
            assert worst < (t1 - t0) / 2, "a round trip stalled for most of the creation"

            # The topic works: produce to its last partition and read it back.
            r = run("kcat", "-b", srv.kafka, "-P", "-t", "big", "-p", str(PARTS - 1),
                    input="hello\n")
            assert r.returncode == 0, r.stderr
            r = run("kcat", "-b", srv.kafka, "-C", "-t", "big", "-p", str(PARTS - 1), "-o",
                    "beginning", "-e", "-q")
            assert r.stdout == "hello\n", r

            # A second create of the same name is refused.
            r = run(plg.BIN, "topic", "create", "big", *b)
            assert r.returncode != 0 and "exist" in r.stderr.lower(), r

            t0 = time.time()
            r = run(plg.BIN, "topic", "delete", "big", *b)
            t1 = time.time()
            assert r.returncode == 0, r.stderr
            assert "big" not in registry(d)
            left = [n for n in os.listdir(os.path.join(d, "topics")) if n.startswith("big-")]
            assert not left, "partition directories left after delete: %d" % len(left)
            inside = prober.during(t0, t1)
            worst = max(inside) if inside else 0
            print("delete: %.0f ms, probes answered meanwhile: %d, worst round trip %.1f ms" % (
                (t1 - t0) * 1000, len(inside), worst * 1000))
            if t1 - t0 > 0.1:  # closing 1,000 logs and removing their files takes that here
                assert len(inside) >= 3, "the probe client was not served during the delete"
                assert worst < (t1 - t0) / 2, "a round trip stalled for most of the delete"

            # The name is free again once the delete answered.
            r = run(plg.BIN, "topic", "create", "big", "--partitions", "3", *b)
            assert r.returncode == 0, r.stderr
            assert registry(d)["big"]["partitions"] == 3
            prober.finish()
            all_rtt = sorted(rtt for _, rtt in prober.samples)
            print("probes: %d, median %.2f ms, max %.1f ms" % (
                len(all_rtt), all_rtt[len(all_rtt) // 2] * 1000, all_rtt[-1] * 1000))
            assert srv.stop() == 0
        # After a restart the registry brings back exactly what was answered.
        with plg.server(d) as srv2:
            r = run(plg.BIN, "topic", "list", "--bootstrap", srv2.kafka)
            assert r.returncode == 0, r.stderr
            names = set(r.stdout.split())
            assert "big" in names and "probe" in names, r.stdout


if __name__ == "__main__":
    main()
