"""Crash tests with SIGKILL:
1. librdkafka idempotent producer (enable.idempotence=true, acks=all) keeps producing while the
   server is SIGKILLed and restarted on the same port: every record it saw acknowledged is
   present exactly once, and no record is stored twice.
2. acks=all with log.fsync=always: the server is SIGKILLed mid-stream and restarted; every
   acknowledged record is there.
3. The same with log.fsync=interval:60000: acks=all producers do not wait for the interval (the
   flusher commits as soon as one waits), so 10,000 acknowledgements arrive well within the
   30 s the test allows (none would before the first 60 s fsync), and all survive SIGKILL."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

BUILD = os.environ.get("PYRALOG_BUILD_DIR", "build")
TOOL = os.path.join(BUILD, "kafka_idem_producer")


def start(d, kafka, extra=()):
    p = plg.Proc([plg.BIN, "server", "--data-dir", d, "--kafka-listen", kafka,
                  "--http-listen", "127.0.0.1:%d" % plg.free_port(), *extra],
                 "pyralog server ready")
    p.start()
    return p


def consume_all(kafka, topic):
    r = subprocess.run(["kcat", "-b", kafka, "-C", "-t", topic, "-e", "-q", "-f", "%s\n"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def acked_ids(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [int(line.split()[0]) for line in f if line.strip()]


def create_topic(kafka, name, partitions):
    r = subprocess.run([plg.BIN, "topic", "create", name, "--partitions", str(partitions),
                        "--bootstrap", kafka], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def idempotent_across_restart(d):
    kafka = "127.0.0.1:%d" % plg.free_port()
    n = 100_000
    acked = os.path.join(d, "acked-idem.txt")
    srv = start(d, kafka)
    create_topic(kafka, "idem", 3)
    prod = subprocess.Popen([TOOL, "--bootstrap", kafka, "--topic", "idem", "--count", str(n),
                             "--acked", acked, "--idempotent", "--acks", "all",
                             "--timeout-ms", "60000", "--rate-limit", "100000"],
                            stderr=subprocess.PIPE, text=True)
    try:
        # Kill the server while the producer is in full flow.
        deadline = time.time() + 30
        while time.time() < deadline and len(acked_ids(acked)) < n // 4:
            time.sleep(0.05)
        assert len(acked_ids(acked)) >= n // 4, "producer made no progress"
        srv.stop(signal.SIGKILL)
        killed_at = len(acked_ids(acked))
        time.sleep(0.3)
        srv = start(d, kafka)
        _, err = prod.communicate(timeout=120)
        assert prod.returncode == 0, err
    finally:
        if prod.poll() is None:
            prod.kill()
            prod.wait()
    ids = acked_ids(acked)
    assert len(ids) == n and len(set(ids)) == n, (len(ids), len(set(ids)))
    values = consume_all(kafka, "idem")
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    dups = [v for v, c in counts.items() if c > 1]
    assert not dups, "duplicates stored: %s" % dups[:10]
    missing = [i for i in ids if counts.get("v%d" % i) != 1]
    assert not missing, "acknowledged but missing: %s" % missing[:10]
    assert len(values) == n, len(values)
    assert srv.stop() == 0
    print("idempotent: %d records, killed after %d acks, none lost, none twice" % (n, killed_at))


def fsync_kill(d, policy):
    kafka = "127.0.0.1:%d" % plg.free_port()
    acked = os.path.join(d, "acked-always.txt")
    srv = start(d, kafka, ["--set", "log.fsync=" + policy])
    create_topic(kafka, "durable", 2)
    prod = subprocess.Popen([TOOL, "--bootstrap", kafka, "--topic", "durable", "--count",
                             "1000000", "--acked", acked, "--acks", "all", "--timeout-ms", "3000"],
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and len(acked_ids(acked)) < 10_000:
            time.sleep(0.05)
        srv.stop(signal.SIGKILL)
        # Acks the broker sent before it died may still be in the socket: give the producer a
        # second to report them (its acked file is line-buffered), then stop it; left alone it
        # would spend ~30 s timing out the rest of its million queued records.
        time.sleep(1.0)
        prod.kill()
        prod.communicate(timeout=30)
    finally:
        if prod.poll() is None:
            prod.kill()
            prod.wait()
    ids = acked_ids(acked)
    assert len(ids) >= 10_000, "only %d acks in 30 s under fsync=%s" % (len(ids), policy)
    srv = start(d, kafka, ["--set", "log.fsync=" + policy])
    stored = set(consume_all(kafka, "durable"))
    missing = [i for i in ids if "v%d" % i not in stored]
    assert not missing, "acknowledged but lost: %d, e.g. %s" % (len(missing), missing[:10])
    assert srv.stop() == 0
    print("fsync=%s: %d acknowledged records all present after SIGKILL" % (policy, len(ids)))


def main():
    with plg.TempDir() as d:
        idempotent_across_restart(d)
    with plg.TempDir() as d:
        fsync_kill(d, "always")
    with plg.TempDir() as d:
        fsync_kill(d, "interval:60000")
    print("ok")


if __name__ == "__main__":
    main()
