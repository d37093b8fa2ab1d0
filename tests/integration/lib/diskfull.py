"""Helpers of the full-disk tests: a tmpfs to run on, filler files that take its free space, and
a clear failure when the server died under a request. Python 3 standard library only."""
import os
import subprocess
import sys

import plg


class Disk:
    """The free space of the file system at mnt: fill() takes all of it but `leave` bytes with a
    fallocated filler file, free() gives it back."""

    def __init__(self, mnt):
        self.mnt = mnt
        self.n = 0

    def avail(self):
        st = os.statvfs(self.mnt)
        return st.f_bavail * st.f_frsize

    def fill(self, leave=0):
        avail = self.avail()
        if avail <= leave:
            return
        self.n += 1
        fd = os.open(os.path.join(self.mnt, "filler%d" % self.n), os.O_WRONLY | os.O_CREAT)
        try:
            os.posix_fallocate(fd, 0, avail - leave)
        finally:
            os.close(fd)
        assert self.avail() <= leave, self.avail()

    def free(self):
        for f in os.listdir(self.mnt):
            if f.startswith("filler"):
                os.unlink(os.path.join(self.mnt, f))


def alive(srv, what):
    """Fails clearly, with the server's log, when the server process is gone (a SIGBUS from a
    page of a memory-mapped file the full disk cannot back shows as signal 7)."""
    rc = srv.p.poll()
    if rc is None:
        return
    how = "signal %d" % -rc if rc < 0 else "exit code %d" % rc
    raise AssertionError("server died with %s %s; its log:\n%s" % (how, what,
                                                                 srv.output()[-6000:]))


def kcat_produce(bootstrap, topic, lines, *conf):
    """A kcat producer of `lines` ("key:value") running in the background, with librdkafka
    settings `conf` ("k=v") after bounded retries (40 s per message, 100 ms back-off). Its
    stdin is written and closed; wait with kcat_done()."""
    args = ["kcat", "-b", bootstrap, "-P", "-t", topic, "-K:", "-X", "message.timeout.ms=40000",
            "-X", "retry.backoff.ms=100", "-X", "linger.ms=5"]
    for c in conf:
        args += ["-X", c]
    kc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    kc.stdin.write(("\n".join(lines) + "\n").encode())
    kc.stdin.close()
    kc.stdin = None
    return kc


def kcat_done(kc):
    """Waits for a kcat_produce; asserts exit 0 and no failed delivery."""
    try:
        _, err = kc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        kc.kill()
        raise
    err = err.decode(errors="replace")
    assert kc.returncode == 0 and "Delivery failed" not in err, "kcat exit %d: %s" % (
        kc.returncode, err[-2000:])


def main(size, run):
    """run(mnt) on a fresh tmpfs of `size`; SKIP (on stderr) when not root."""
    with plg.TempDir() as d, plg.tmpfs(d, size) as mnt:
        if mnt is None:
            # CI runs as root, so this skip only happens on a developer machine.
            print("SKIP: not root, cannot mount a tmpfs", file=sys.stderr)
            return
        run(mnt)
    print("ok")
