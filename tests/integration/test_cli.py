"""The `pyralog` command itself: help, version, unknown commands and usage errors."""
import os
import subprocess
import sys

BIN = os.environ["PYRALOG_BIN"]


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)


def main():
    r = run("--help")
    assert r.returncode == 0 and "usage: pyralog" in r.stdout, r
    r = run("version")
    assert r.returncode == 0 and r.stdout.startswith("pyralog "), r
    r = run("version", "--help")
    assert r.returncode == 0 and "usage: pyralog version" in r.stdout, r
    r = run("no-such-command")
    assert r.returncode == 2, r
    assert r.stderr.startswith("pyralog: no-such-command: "), r.stderr
    r = run()
    assert r.returncode == 2, r
    print("ok")


if __name__ == "__main__":
    main()
    sys.exit(0)
