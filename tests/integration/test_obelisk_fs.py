"""Obelisk on a read-only and on a full file system (real tmpfs mounts; needs root: as root a
failed mount fails the test, as non-root it says SKIP on stderr): clear errors, no crash, and
recovery once space is back."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import obelisk_util  # noqa: E402
import plg  # noqa: E402


def sh(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


def run(*args):
    return subprocess.run([plg.BIN, *args], capture_output=True, text=True, timeout=30)


def main():
    with plg.TempDir() as d, plg.tmpfs(d, "128k") as mnt:
        if mnt is None:
            # CI runs as root, so this skip only happens on a developer machine.
            print("SKIP: not root, cannot mount a tmpfs", file=sys.stderr)
            return
        data = os.path.join(mnt, "data")
        n = obelisk_util.node(data, 6, ["--seq-lease", "1"])
        with n:
            ob = ["--obelisk", n.listen]
            r = run("seq", "next", "a", "--count", "3", *ob)
            assert r.stdout.split() == ["0", "1", "2"], r
            # Fill the file system: creating a new sequence fails with ENOSPC.
            fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT)
            try:
                while os.write(fd, b"\1" * 4096) > 0:
                    pass
            except OSError:
                pass
            os.close(fd)
            r = run("seq", "next", "b", *ob)
            assert r.returncode == 1 and "No space left on device" in r.stderr, r.stderr
            assert r.stderr.startswith("pyralog: seq next: b: "), r.stderr
            os.unlink(os.path.join(mnt, "filler"))
            r = run("seq", "next", "b", *ob)
            assert r.returncode == 0 and r.stdout.split() == ["0"], r
            r = run("seq", "next", "a", *ob)
            assert r.stdout.split() == ["3"], r
            assert n.stop() == 0
        # Read-only: the node refuses to start with one clear line.
        assert sh("mount", "-o", "remount,ro", mnt).returncode == 0
        r = subprocess.run([plg.BIN, "obelisk", "--node-id", "6", "--data-dir", data,
                            "--listen", "127.0.0.1:%d" % obelisk_util.free_port_pair()],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "Read-only file system" in r.stderr, r.stderr
        r = run("id", "next", "--data-dir", data, "--node-id", "6")
        assert r.returncode == 1 and "Read-only file system" in r.stderr, r.stderr
        # Back to read-write: values continue, nothing repeated.
        assert sh("mount", "-o", "remount,rw", mnt).returncode == 0
        n = obelisk_util.node(data, 6, ["--seq-lease", "1"])
        with n:
            r = run("seq", "next", "a", "--obelisk", n.listen)
            assert r.stdout.split() == ["4"], r
            assert n.stop() == 0
    print("ok")


if __name__ == "__main__":
    main()
