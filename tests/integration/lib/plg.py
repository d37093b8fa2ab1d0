"""Shared helpers for integration tests: free loopback ports, temp dirs, and servers started as
real processes that are always killed by PID. Python 3 standard library only."""
import atexit
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

BIN = os.environ.get("PYRALOG_BIN", "build/pyralog")


def http_metrics(addr):
    """GET /metrics from addr ("host:port"): (Content-Type, text). Asserts status 200."""
    import http.client
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        assert r.status == 200, r.status
        return r.getheader("Content-Type"), r.read().decode()
    finally:
        c.close()


def metric_value(text, key, default=None):
    """The value of the sample `key` (name with its labels) in Prometheus text; `default` when
    absent (None: absent is an assertion failure)."""
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.split()[-1])
    assert default is not None, "metric %s not found" % key
    return default


def rpc(http, method, **params):
    """One JSON-RPC call over HTTP POST /rpc on http ("host:port"): the decoded response."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    req = urllib.request.Request("http://%s/rpc" % http, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@contextlib.contextmanager
def tmpfs(parent, size):
    """A tmpfs of `size` (mount's size= option, e.g. "16m") at parent/mnt, lazily unmounted on
    exit whatever happened. Yields its path, or None when not root (the caller says SKIP on
    stderr). As root a failed mount is a failure: a silent skip would hide the test in CI."""
    mnt = os.path.join(parent, "mnt")
    os.mkdir(mnt)
    if os.geteuid() != 0:
        yield None
        return
    m = run("mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", mnt, timeout=30)
    assert m.returncode == 0, "mount tmpfs failed as root: %s" % m.stderr
    try:
        yield mnt
    finally:
        run("umount", "-l", mnt, timeout=30)


def run(*args, timeout=120, **kw):
    """Run a command to completion; its CompletedProcess with text stdout and stderr."""
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_rng = random.Random()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral range:
    a port the kernel handed out for bind(0) can, once released, become the local port of any
    outgoing connection (another test's client) before our server binds it ("Address already
    in use"); ports below the range are never handed out that way."""
    low = _ephemeral_low()
    if low > 11000:
        for _ in range(100):
            port = _rng.randrange(10000, low)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempDir:
    def __init__(self, prefix="pyralog-test-", dir=None):
        self.path = tempfile.mkdtemp(prefix=prefix, dir=dir)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def fs_type(path):
    """The file system type (/proc/mounts) of the mount holding path."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            mnt = fields[1]
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, fields[2]
    return kind


def disk_base():
    """A directory on a disk file system for temp data dirs (page-cache advice does nothing on
    tmpfs): the temp dir, else the build dir; None when both are tmpfs."""
    for base in (tempfile.gettempdir(), os.environ.get("PYRALOG_BUILD_DIR", ".")):
        if fs_type(base) != "tmpfs":
            return base
    return None


_started = []


@atexit.register
def _kill_leftovers():
    """A test that fails between start() and stop() must not leave its servers running."""
    for p in _started:
        p.kill()


class Proc:
    """A child process that prints a ready line on stderr. Use as a context manager; every
    started process is also killed by PID when the test process exits, whatever happened."""

    def __init__(self, args, ready, timeout=30, env=None, log_path=None):
        self.args = args
        self.ready = ready
        self.timeout = timeout
        self.env = env
        self.log_path = log_path or tempfile.mktemp(prefix="pyralog-proc-", suffix=".log")
        self.p = None

    def start(self):
        self.log = open(self.log_path, "w+")
        self.p = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self.log,
                                  env=self.env)
        _started.append(self)
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            with open(self.log_path) as f:
                text = f.read()
            if self.ready in text:
                return self
            if self.p.poll() is not None:
                raise RuntimeError("process exited %s before ready:\n%s" % (self.p.returncode, text))
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("process not ready in %ss:\n%s" % (self.timeout, self.output()))

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal the process and wait; returns its exit code."""
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.send_signal(sig)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise RuntimeError("process did not exit in %ss after signal %s" % (timeout, sig))

    def kill(self):
        if self.p and self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        self.log.close()
        if exc[0] is None:
            os.unlink(self.log_path)
        else:
            print("--- process log (%s) ---\n%s" % (" ".join(self.args), self.output()))


def server(data_dir, extra=(), env=None):
    """A `pyralog server` on free ports. Attributes kafka and http hold "127.0.0.1:P"."""
    kafka = "127.0.0.1:%d" % free_port()
    http = "127.0.0.1:%d" % free_port()
    p = Proc([BIN, "server", "--data-dir", data_dir, "--kafka-listen", kafka,
              "--http-listen", http, *extra], "pyralog server ready", env=env)
    p.kafka = kafka
    p.http = http
    return p
