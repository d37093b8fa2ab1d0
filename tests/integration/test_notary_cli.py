#!/usr/bin/env python3
"""`pyralog notary check` offline: a receipt for a file checks out (also pinned to the signing
key); it fails for a different file, for a receipt with any one field altered (offset,
timestamp, a proof element, the root, the signature, the tree size) and for another pinned key;
bad usage exits 2; an unreadable receipt or file (a directory) is a read error, exit 1."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

BUILD = os.environ.get("PYRALOG_BUILD_DIR", "build")


def check(receipt, path, *extra):
    r = subprocess.run([plg.BIN, "notary", "check", receipt, path, *extra], capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def flip_hex(s, i=0):
    return s[:i] + ("0" if s[i] != "0" else "1") + s[i + 1:]


def main():
    with plg.TempDir() as d:
        doc = os.path.join(d, "contract.pdf")
        with open(doc, "wb") as f:
            f.write(os.urandom(100_000))
        other = os.path.join(d, "other.pdf")
        with open(other, "wb") as f:
            f.write(os.urandom(100_000))
        receipt = os.path.join(d, "receipt.json")
        for n, at in [(1, 0), (7, 3), (64, 63), (1000, 517)]:
            r = subprocess.run([os.path.join(BUILD, "notary_fixture"), doc, receipt, str(n),
                                str(at)], capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            pk = r.stdout.strip()
            rc, out = check(receipt, doc)
            assert rc == 0, out
            rc, out = check(receipt, doc, "--public-key", pk)
            assert rc == 0, out
            rc, out = check(receipt, doc, "--public-key", flip_hex(pk, 5))
            assert rc == 1 and "different key" in out, out
            rc, out = check(receipt, other)
            assert rc == 1 and "not the stamped hash" in out, out
        print("ok: receipts check out and fail for another file or key")

        with open(receipt) as f:
            good = json.load(f)
        altered = os.path.join(d, "altered.json")
        mutations = {
            "offset": lambda r: r.__setitem__("offset", r["offset"] + 1),
            "timestamp": lambda r: r.__setitem__("timestamp", r["timestamp"] - 1),
            "proof": lambda r: r["proof"].__setitem__(0, flip_hex(r["proof"][0], 10)),
            "root": lambda r: r["head"].__setitem__("root", flip_hex(r["head"]["root"], 3)),
            "signature": lambda r: r["head"].__setitem__("signature",
                                                         flip_hex(r["head"]["signature"], 7)),
            "tree_size": lambda r: r["head"].__setitem__("tree_size", r["head"]["tree_size"] + 1),
            "leaf": lambda r: r.__setitem__("leaf", flip_hex(r["leaf"], 0)),
            "dropped proof element": lambda r: r["proof"].pop(),
        }
        for name, mutate in mutations.items():
            r = json.loads(json.dumps(good))
            mutate(r)
            with open(altered, "w") as f:
                json.dump(r, f)
            rc, out = check(altered, doc)
            assert rc == 1, "altered %s still checks out: %s" % (name, out)
            print("ok altered %s: %s" % (name, out.strip()))
        with open(altered, "w") as f:
            f.write("{not json")
        rc, out = check(altered, doc)
        assert rc == 1, out
        r = subprocess.run([plg.BIN, "notary", "check", receipt], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2, r.stderr
        print("ok: malformed receipt and bad usage refused")

        # Unreadable input (a directory: fopen succeeds, every read fails with EISDIR) is an
        # error naming the cause, never its readable (empty) prefix taken as the content.
        rc, out = check(d, doc)
        assert rc == 1 and "cannot read the receipt" in out and "Is a directory" in out, out
        rc, out = check(receipt, d)
        assert rc == 1 and "cannot read" in out and "Is a directory" in out, out
        r = subprocess.run([plg.BIN, "notary", "stamp", d, "--http", "127.0.0.1:1"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "Is a directory" in r.stderr and not r.stdout, r
        print("ok: unreadable files refused: %s" % out.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
