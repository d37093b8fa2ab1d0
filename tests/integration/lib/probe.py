"""A probe client for the loop-responsiveness tests: one connection sending one-record Produce v3
requests (acks=1) back to back, recording (send time, round trip) of each, so a test can check
the server kept answering while it did something slow in the background."""
import socket
import subprocess
import threading
import time

import kwire


class Prober(threading.Thread):
    """Sends one-record Produce v3 requests (acks=1) back to back and records (send time, rtt)."""

    def __init__(self, addr, topic):
        super().__init__(daemon=True)
        self.addr, self.topic = addr, topic
        self.samples = []
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            s = kwire.connect(self.addr)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(60)
            corr = 0
            recs = kwire.batch([b"probe"])
            while not self.stop.is_set():
                corr += 1
                req = kwire.produce_v3(corr, [(self.topic.encode(), [(0, recs)])], acks=1)
                t0 = time.time()
                s.sendall(req)
                resp = kwire.recv_frame(s)
                rtt = time.time() - t0
                c, parts = kwire.parse_produce_v3(resp)
                assert c == corr and parts[(self.topic, 0)][0] == 0, parts
                self.samples.append((t0, rtt))
                time.sleep(0.002)
        except Exception as e:  # reported by the main thread
            self.error = e

    def during(self, start, end):
        """Round trips (seconds) of the probes sent between start and end (time.time())."""
        return [rtt for t0, rtt in self.samples if start <= t0 <= end]

    def finish(self):
        """Stops the probes and checks that every one was answered correctly."""
        self.stop.set()
        self.join(30)
        assert self.error is None, self.error


def start_prober(bin_path, addr, topic="probe"):
    """Creates `topic` (pyralog topic create), starts a Prober on it and lets it run 0.3 s, so
    it is in full swing before the caller starts the slow operation."""
    r = subprocess.run([bin_path, "topic", "create", topic, "--bootstrap", addr],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    prober = Prober(addr, topic)
    prober.start()
    time.sleep(0.3)
    return prober
