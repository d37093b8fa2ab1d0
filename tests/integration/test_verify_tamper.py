#!/usr/bin/env python3
"""`pyralog verify` on a real server's data directory: 3000 records produced with kcat into
small segments, the server stopped; verify passes (exit 0). Then, each on a fresh copy:
one byte of a stored record changed, a batch deleted from a segment, two segments swapped, a
Merkle tree file truncated, an index entry bent, a tree node replaced. Each time verify exits 1
and names topic, partition and exactly the first bad offset."""
import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

N = 3000
TOPIC = "audit"


def produce(bootstrap):
    lines = "".join("k%05d:rec-%05d-%s\n" % (i, i, "y" * (i % 23)) for i in range(N))
    r = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", TOPIC, "-K:", "-H", "src=test",
                        "-X", "linger.ms=2", "-X", "batch.num.messages=50"],
                       input=lines, text=True, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr


def verify(data):
    r = subprocess.run([plg.BIN, "verify", "--data-dir", data], capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout + r.stderr


def pdir(data):
    return os.path.join(data, "topics", TOPIC + "-0")


def segments(data):
    return sorted(f for f in os.listdir(pdir(data)) if f.endswith(".log"))


def batches(path):
    """(position, base offset, size) of each batch in a segment file."""
    out = []
    with open(path, "rb") as f:
        b = f.read()
    pos = 0
    while pos + 12 <= len(b):
        base, length = struct.unpack(">qi", b[pos:pos + 12])
        out.append((pos, base, 12 + length))
        pos += 12 + length
    return out


def expect_bad(data, offset, what_part, label):
    rc, out = verify(data)
    assert rc == 1, "%s: verify exit %d, want 1:\n%s" % (label, rc, out)
    want = "topic=%s partition=0 offset=%d:" % (TOPIC, offset)
    assert want in out, "%s: want '%s' in:\n%s" % (label, want, out)
    assert what_part in out, "%s: want '%s' in:\n%s" % (label, what_part, out)
    line = next(ln for ln in out.splitlines() if want in ln)
    print("ok %s: %s" % (label, line))


def tree_pos(i):
    """Hash index of leaf i's record in the tree files (docs/verifiable-log.md section 7)."""
    m = i >> 3
    return i + m - popcount(m)


def popcount(x):
    return bin(x).count("1")


def main():
    with plg.TempDir() as d:
        data = os.path.join(d, "data")
        srv = plg.server(data, extra=["--set", "log.segment.bytes=16384"])
        with srv:
            produce(srv.kafka)
        rc, out = verify(data)
        assert rc == 0, "clean directory failed verification:\n" + out
        assert ("records=%d" % N) in out and ("tree_size=%d" % N) in out, out
        segs = segments(data)
        assert len(segs) >= 4, "want several segments, got %s" % segs
        print("ok clean: %d segments, %s" % (len(segs), out.strip().splitlines()[-1]))

        def fresh(name):
            dst = os.path.join(d, name)
            shutil.copytree(data, dst)
            return dst

        # 1. One byte of a stored record's value.
        t = fresh("byte")
        target = 1234
        needle = b"rec-%05d-" % target
        for s in segments(t):
            path = os.path.join(pdir(t), s)
            with open(path, "rb") as f:
                blob = bytearray(f.read())
            at = blob.find(needle)
            if at >= 0:
                blob[at + 6] ^= 0x01
                with open(path, "wb") as f:
                    f.write(blob)
                break
        else:
            raise AssertionError("record %d not found in the segments" % target)
        expect_bad(t, target, "record content changed", "changed byte")

        # 2. A batch deleted from the middle of the second segment.
        t = fresh("delete")
        path = os.path.join(pdir(t), segments(t)[1])
        bs = batches(path)
        assert len(bs) >= 3
        pos, base, size = bs[len(bs) // 2]
        with open(path, "rb") as f:
            blob = f.read()
        with open(path, "wb") as f:
            f.write(blob[:pos] + blob[pos + size:])
        expect_bad(t, base, "missing", "deleted batch")

        # 3. Two segments swapped (their files renamed into each other's place).
        t = fresh("swap")
        s1, s2 = segments(t)[1], segments(t)[2]
        a, b = os.path.join(pdir(t), s1), os.path.join(pdir(t), s2)
        os.rename(a, a + ".tmp")
        os.rename(b, a)
        os.rename(a + ".tmp", b)
        expect_bad(t, int(s1[:20]), "swapped", "swapped segments")

        # 4. A Merkle tree file truncated in the middle of a record.
        t = fresh("tree")
        trees = sorted(f for f in os.listdir(pdir(t)) if f.endswith(".merkle"))
        assert len(trees) >= 2
        path = os.path.join(pdir(t), trees[0])
        tbase = int(trees[0][:20])
        size = os.path.getsize(path)
        cut = 16 + ((size - 16) // 2 // 32) * 32 + 7
        os.truncate(path, cut)
        hashes = (cut - 16) // 32
        leaves = 0
        while tree_pos(tbase + leaves + 1) - tree_pos(tbase) <= hashes:
            leaves += 1
        expect_bad(t, tbase + leaves, "truncated", "truncated tree file")

        # 5. An offset index entry bent to point into the middle of a batch.
        t = fresh("index")
        s = segments(t)[0]
        ipath = os.path.join(pdir(t), s[:20] + ".index")
        with open(ipath, "rb") as f:
            idx = bytearray(f.read())
        assert len(idx) >= 8, "want index entries in the first segment"
        rel, ipos = struct.unpack(">II", idx[:8])
        idx[4:8] = struct.pack(">I", ipos + 1)
        with open(ipath, "wb") as f:
            f.write(idx)
        expect_bad(t, int(s[:20]) + rel, "index entry", "bent index entry")

        # 6. A stored interior node replaced (leaves intact): caught by the node check.
        t = fresh("node")
        path = os.path.join(pdir(t), trees[0])
        # leaf 15's record holds the leaf, then the node for leaves 0..15 (level 4, the lowest
        # stored level)
        assert tbase == 0
        at = 16 + 32 * (tree_pos(15) + 1)
        with open(path, "r+b") as f:
            f.seek(at)
            f.write(b"\x55" * 32)
        expect_bad(t, 0, "not the hash of its children", "replaced tree node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
