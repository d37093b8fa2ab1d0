#!/usr/bin/env python3
"""The online auditor and the notary against a real server. `pyralog audit` passes on a fresh log
and again after it grew (consistency proof + inclusion proofs checked against records read
with librdkafka), keeping heads in a state file. `pyralog notary stamp` returns a receipt that
`pyralog notary check` accepts offline, pinned to the node key in <data>/meta/node.pub, and
rejects for another file. Then the data directory is edited while the server is stopped: one
stored record is rewritten (with a valid CRC, so the server accepts it) and the tree files are
removed, so the restarted server rebuilds a tree over the forged history. The next audit fails
through the consistency proof and leaves the state file unchanged."""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from kwire import crc32c  # noqa: E402

TOPIC = "ledger"


def produce(bootstrap, start, n):
    lines = "".join("k%05d:entry-%05d\n" % (i, i) for i in range(start, start + n))
    r = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", TOPIC, "-K:", "-X", "linger.ms=2",
                        "-X", "batch.num.messages=40"], input=lines, text=True,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr


def run(*args):
    r = subprocess.run([plg.BIN, *args], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def audit(srv, state):
    return run("audit", "--http", srv.http, "--bootstrap", srv.kafka, "--state", state,
               "--samples", "4")


def main():
    with plg.TempDir() as d:
        data = os.path.join(d, "data")
        state = os.path.join(d, "audit-state.json")
        extra = ["--set", "log.segment.bytes=8192"]
        srv = plg.server(data, extra=extra)
        with srv:
            produce(srv.kafka, 0, 500)
            rc, out = audit(srv, state)
            assert rc == 0, out
            assert os.path.exists(state)
            print("ok first audit:", out.strip())
            produce(srv.kafka, 500, 200)
            rc, out = audit(srv, state)
            assert rc == 0, out
            print("ok audit after growth:", out.strip())

            doc = os.path.join(d, "doc.txt")
            with open(doc, "w") as f:
                f.write("the signed contract\n")
            rc, out = run("notary", "stamp", doc, "--http", srv.http)
            assert rc == 0, out
            receipt = os.path.join(d, "receipt.json")
            with open(receipt, "w") as f:
                f.write(out)
            with open(os.path.join(data, "meta", "node.pub")) as f:
                pk = f.read().strip()
            assert oct(os.stat(os.path.join(data, "meta", "node.key")).st_mode & 0o777) == "0o600"
            rc, out = run("notary", "check", receipt, doc, "--public-key", pk)
            assert rc == 0, out
            other = os.path.join(d, "other.txt")
            with open(other, "w") as f:
                f.write("a different contract\n")
            rc, out = run("notary", "check", receipt, other, "--public-key", pk)
            assert rc == 1, out
            print("ok notary: stamped receipt checks out offline, fails for another file")
        with open(state) as f:
            before = f.read()

        # Rewrite history while stopped: forge record 10 in the first segment (CRC fixed) and
        # drop the tree files so the server rebuilds a tree over the forged log.
        pdir = os.path.join(data, "topics", TOPIC + "-0")
        seg = os.path.join(pdir, sorted(x for x in os.listdir(pdir) if x.endswith(".log"))[0])
        with open(seg, "rb") as f:
            blob = bytearray(f.read())
        needle = b"entry-00010"
        at = blob.find(needle)
        assert at > 0
        blob[at:at + len(needle)] = b"FORGED-0010"
        pos = 0
        while pos < len(blob):
            length = struct.unpack(">i", blob[pos + 8:pos + 12])[0]
            end = pos + 12 + length
            if pos <= at < end:
                struct.pack_into(">I", blob, pos + 17, crc32c(bytes(blob[pos + 21:end])))
            pos = end
        with open(seg, "wb") as f:
            f.write(blob)
        for x in os.listdir(pdir):
            if x.endswith(".merkle"):
                os.remove(os.path.join(pdir, x))

        srv = plg.server(data, extra=extra)
        with srv:
            produce(srv.kafka, 700, 50)
            rc, out = audit(srv, state)
            assert rc == 1, "forged history passed the audit:\n" + out
            assert "consistency proof from tree size 700" in out, out
            print("ok forged history caught:", out.strip().splitlines()[0])
        with open(state) as f:
            assert f.read() == before, "state file changed by a failed audit"
    return 0


if __name__ == "__main__":
    sys.exit(main())
