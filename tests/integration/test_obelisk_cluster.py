"""Pharaoh Network: three Obelisk nodes (ids 1, 2, 3), ten concurrent clients taking IDs for a
bounded time through the libpyralog client (one of them with calls of 12288 IDs, spread over the
nodes in parallel); node 2 is SIGKILLed mid-run; the clients fail over and every ID from every
node is unique. Node 2 then restarts on its data dir and its new IDs are
above every ID it issued before the kill."""
import os
import signal
import subprocess
import sys
import time
from array import array

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import obelisk_util  # noqa: E402
import plg  # noqa: E402

TOOL = os.path.join(os.environ["PYRALOG_BUILD_DIR"], "obelisk_client")
CLIENTS = 10
SECONDS = 3.0


def main():
    with plg.TempDir() as d:
        nodes = [obelisk_util.node(os.path.join(d, "n%d" % i), i) for i in (1, 2, 3)]
        for n in nodes:
            n.start()
        try:
            addrs = ",".join(n.listen for n in nodes)
            outs = [os.path.join(d, "ids-%d.bin" % c) for c in range(CLIENTS)]
            # Clients run until SIGTERM, so each is certainly running before and after the kill.
            # Client 0 takes 12288 IDs per call, which the client library spreads as three
            # parallel requests (one per live node), with a pause that bounds its volume.
            def args(c):
                if c == 0:
                    return ["12288", "--pause-ms", "25"]
                return [str(1 + 7 * c % 40)]
            clients = [subprocess.Popen([TOOL, addrs, "0"] + args(c) + ["--out", outs[c]],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
                       for c in range(CLIENTS)]
            time.sleep(SECONDS / 2)
            nodes[1].p.send_signal(signal.SIGKILL)
            nodes[1].p.wait()
            kill_time = time.time()
            time.sleep(SECONDS / 2)
            for c in clients:
                assert c.poll() is None, "client ended early: %s" % (c.communicate(),)
                c.send_signal(signal.SIGTERM)
            results = [c.communicate(timeout=60) for c in clients]
            for c, (out, err) in zip(clients, results):
                print(out.strip(), err.strip())
                assert c.returncode == 0, "client failed: %s" % err
            ids = array("Q")
            per_node = {1: [], 2: [], 3: []}
            for path in outs:
                a = array("Q")
                with open(path, "rb") as f:
                    a.frombytes(f.read())
                assert len(a) > 0, path
                ids.extend(a)
                # After the kill every client kept getting IDs from nodes 1 and 3.
                if path == outs[0]:
                    # Its first call came from all three nodes at once, 4096 IDs each.
                    first = [((x >> 12) & 1023) for x in a[:12288]]
                    assert sorted(set(first)) == [1, 2, 3], "not spread: %s" % set(first)
                    assert all(first.count(k) == 4096 for k in (1, 2, 3)), "uneven parts"
                tail = a[-min(len(a), 50):]
                assert all(((x >> 12) & 1023) in (1, 3) for x in tail), "no failover"
                for x in a:
                    per_node[(x >> 12) & 1023].append(x)
            total = len(ids)
            assert len(set(ids)) == total, "duplicate IDs: %d of %d" % (total - len(set(ids)), total)
            for k, v in per_node.items():
                assert v, "node %d issued nothing" % k
            print("total=%d unique, per node: %s, kill at +%.1fs" %
                  (total, {k: len(v) for k, v in per_node.items()}, kill_time))
            # Restart node 2 on its data dir: its IDs continue above the ones before the kill.
            n2 = obelisk_util.node(os.path.join(d, "n2"), 2)
            with n2:
                r = subprocess.run([plg.BIN, "id", "next", "--count", "3", "--obelisk",
                                    n2.listen], capture_output=True, text=True, timeout=30)
                assert r.returncode == 0, r.stderr
                new = [int(x) for x in r.stdout.split()]
                assert min(new) > max(per_node[2]), (new, max(per_node[2]))
                assert n2.stop() == 0
        finally:
            for n in nodes:
                n.kill()
                n.log.close()
    print("ok")


if __name__ == "__main__":
    main()
