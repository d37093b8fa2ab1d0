"""Crash test of Scarab IDs and Obelisk sequences: tests/tools/obelisk_crash forks a child that
takes IDs and sequence values as fast as it can and reports each through a pipe, SIGKILLs it at
random moments for 120 rounds (clock real, in the past, stepping back, frozen) and checks that no
value repeats and per-node IDs only increase. Then the data dir is reopened by `pyralog id next`
to check the CLI's local generator continues above every ID of the crashed rounds."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

BIN = os.environ["PYRALOG_BIN"]
TOOL = os.path.join(os.environ["PYRALOG_BUILD_DIR"], "obelisk_crash")


def main():
    with plg.TempDir() as d:
        r = subprocess.run([TOOL, d, "--rounds", "120", "--max-ms", "150"], capture_output=True,
                           text=True, timeout=120)
        print(r.stdout, r.stderr)
        assert r.returncode == 0, "crash test failed"
        assert "errors=0" in r.stdout
        # The floor left by the killed children keeps the next generator above them.
        ids = subprocess.run([BIN, "id", "next", "--count", "5", "--data-dir",
                              os.path.join(d, "node1"), "--node-id", "1"],
                             capture_output=True, text=True, timeout=30)
        assert ids.returncode == 0, ids.stderr
        vals = [int(x) for x in ids.stdout.split()]
        assert len(vals) == 5 and vals == sorted(set(vals)), vals
        last1 = int(r.stdout.split("last node1=")[1].split()[0])
        assert vals[0] > last1, (vals[0], last1)
    print("ok")


if __name__ == "__main__":
    main()
