"""Helpers for the consumer-group integration tests: the librdkafka test client
(tests/tools/group_client.c) as a child process, its event file, and bounded waits."""
import os
import re
import signal
import subprocess
import time

BUILD = os.environ.get("PYRALOG_BUILD_DIR", "build")
TOOL = os.path.join(BUILD, "group_client")


def wait_until(fn, timeout, what, interval=0.1):
    """Polls fn() until it returns a true value; raises with `what` after timeout seconds."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def run_tool(*args, timeout=60):
    r = subprocess.run([TOOL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True)
    if r.returncode != 0:
        raise AssertionError("group_client %s failed (%d): %s" % (args, r.returncode, r.stderr))
    return r.stdout


class Consumer:
    """A high-level librdkafka consumer (group_client consume) writing events to a file."""

    def __init__(self, name, bootstrap, topic, group, tmpdir, session_ms=6000, commit_every=1):
        self.name = name
        self.path = os.path.join(tmpdir, name + ".events")
        self.err = open(os.path.join(tmpdir, name + ".stderr"), "w")
        self.p = subprocess.Popen([TOOL, "consume", bootstrap, topic, group, self.path,
                                   str(session_ms), str(commit_every)],
                                  stdout=subprocess.DEVNULL, stderr=self.err)

    def lines(self):
        try:
            with open(self.path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def assignment(self):
        """Partitions held now (last ASSIGN, cleared by a later REVOKE)."""
        cur = set()
        for ln in self.lines():
            if ln.startswith("ASSIGN "):
                parts = ln.split(" ", 2)
                cur = {int(x) for x in parts[2].split(",") if x} if len(parts) > 2 else set()
            elif ln.startswith("REVOKE "):
                cur = set()
        return cur

    def assign_count(self):
        return sum(1 for ln in self.lines() if ln.startswith("ASSIGN "))

    def values(self):
        return [ln.split(" ", 3)[3] for ln in self.lines() if ln.startswith("MSG ")]

    def alive(self):
        return self.p.poll() is None

    def kill(self):
        if self.alive():
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()

    def stop(self, timeout=30):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                return self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("%s did not stop after SIGTERM" % self.name)
        return self.p.returncode

    def dump(self):
        with open(self.err.name) as f:
            return "--- %s events ---\n%s\n--- %s stderr ---\n%s" % (
                self.name, "\n".join(self.lines()[-40:]), self.name, f.read()[-4000:])


def values_range(first, count):
    return {"v%d" % i for i in range(first, first + count)}


def rebalance_times(server_log):
    """ms from the last JoinGroup of a generation to its completion, from the server log."""
    return [int(m) for m in re.findall(r"since_last_join_ms=(\d+)", server_log)]
