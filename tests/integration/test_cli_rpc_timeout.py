"""The CLI's JSON-RPC client gives up on a server that accepts the connection but never answers:
`pyralog notary stamp` against such a listener exits 1 with one clear line (timed out) within
its 10 s I/O timeout, instead of hanging forever."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402


def main():
    with plg.TempDir() as d, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # the kernel completes the handshake; nobody ever reads or answers
        addr = "127.0.0.1:%d" % silent.getsockname()[1]
        doc = os.path.join(d, "doc.txt")
        with open(doc, "w") as f:
            f.write("hello\n")
        t0 = time.time()
        r = subprocess.run([plg.BIN, "notary", "stamp", doc, "--http", addr],
                           capture_output=True, text=True, timeout=30)
        took = time.time() - t0
        assert r.returncode == 1, r
        assert "timed out" in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert 5 < took < 20, took
        print("ok: gave up after %.1f s: %s" % (took, r.stderr.strip()))


if __name__ == "__main__":
    main()
