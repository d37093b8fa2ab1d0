#!/usr/bin/env python3
"""Pyralog's BLAKE3 (tests/tools/b3hash) equals the `b3sum` command on random inputs, with every
implementation this CPU supports, for the default 32-byte hash and a 200-byte extended output."""
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

BUILD = os.environ.get("PYRALOG_BUILD_DIR", "build")
B3HASH = os.path.join(BUILD, "b3hash")


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout


def main():
    if not shutil.which("b3sum"):
        print("b3sum is not installed (scripts/deps.sh installs it)")
        return 1
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))
    sizes = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 4097, 65536, 65536 + 1023,
             (1 << 20) + 3]
    sizes += [rng.randrange(0, 300 * 1024) for _ in range(8)]
    with tempfile.TemporaryDirectory() as d:
        files = []
        for i, n in enumerate(sizes):
            p = os.path.join(d, "f%02d" % i)
            with open(p, "wb") as f:
                f.write(os.urandom(n))
            files.append(p)
        want = run(["b3sum"] + files)
        want_xof = run(["b3sum", "--length", "200"] + files)
        checked = 0
        for impl in ["portable", "sse4.1", "avx2", "avx512"]:
            r = subprocess.run([B3HASH, "--impl", impl] + files, capture_output=True, text=True)
            if r.returncode == 3:
                print("skip %s: not supported by this CPU" % impl)
                continue
            if r.stdout != want:
                print("MISMATCH with impl %s\nwant:\n%s\ngot:\n%s" % (impl, want, r.stdout))
                return 1
            got_xof = run([B3HASH, "--impl", impl, "--length", "200"] + files)
            if got_xof != want_xof:
                print("XOF MISMATCH with impl %s" % impl)
                return 1
            checked += 1
        if checked == 0:
            return 1
    print("ok: %d files, %d implementations equal b3sum" % (len(files), checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
