"""Idle server memory, a topic with 1,000 partitions (creation, Metadata, produce/consume, restart),
--memory-only, and the config start-up errors that name the key."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from plg import run  # noqa: E402

IDLE_RSS_LIMIT_KB = 20 * 1024


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def metadata_partitions(kafka, topic):
    """Partition count kcat -L sees. An auto-created topic is made on a worker: a Metadata
    request arriving while it is (librdkafka's own refresh racing kcat's) gets the retriable
    LEADER_NOT_AVAILABLE, so that answer is asked again, as a client would; nothing else is."""
    deadline = time.time() + 10
    while True:
        r = run("kcat", "-b", kafka, "-L", "-t", topic)
        assert r.returncode == 0, r.stderr
        if "Leader not available" not in r.stdout or time.time() > deadline:
            break
        time.sleep(0.1)
    return sum(1 for line in r.stdout.splitlines() if line.strip().startswith("partition "))


def main():
    under_asan = "asan" in os.environ.get("PYRALOG_BUILD_DIR", "")
    with plg.TempDir() as d:
        srv = plg.server(d)
        with srv:
            time.sleep(0.3)
            idle = rss_kb(srv.p.pid)
            print("idle RSS: %d KiB" % idle)
            if not under_asan:
                assert idle < IDLE_RSS_LIMIT_KB, "idle RSS %d KiB" % idle
            t0 = time.time()
            # 1000 partitions = 1000 directories and a few fsyncs each: seconds on an idle disk,
            # much longer on a shared one, hence the long timeout.
            r = run(plg.BIN, "topic", "create", "wide", "--partitions", "1000", "--bootstrap",
                    srv.kafka, timeout=120)
            assert r.returncode == 0, r.stderr
            print("created 1000 partitions in %.2fs" % (time.time() - t0))
            assert metadata_partitions(srv.kafka, "wide") == 1000
            lines = "".join("%d:v%d\n" % (i, i) for i in range(5000))
            r = run("kcat", "-b", srv.kafka, "-P", "-t", "wide", "-K:", input=lines)
            assert r.returncode == 0, r.stderr
            r = run(plg.BIN, "consume", "wide", "--partition", "999", "--offset", "0", "--count",
                    "1", "--bootstrap", srv.kafka)
            assert r.returncode == 0 and r.stdout.startswith("v"), r
            rss = rss_kb(srv.p.pid)
            print("RSS with 1000 partitions: %d KiB" % rss)
            # Idle with 1000 partitions means idle: no per-partition polling.
            time.sleep(0.5)
            ticks = cpu_ticks(srv.p.pid)
            time.sleep(2)
            used = (cpu_ticks(srv.p.pid) - ticks) / os.sysconf("SC_CLK_TCK")
            print("idle CPU with 1000 partitions: %.2f s over 2 s" % used)
            assert used < 0.4, "idle server burns %.2f s CPU per 2 s" % used
            assert srv.stop() == 0, srv.output()
        srv = plg.server(d)
        srv.timeout = 120  # reopening 1000 partitions on a busy machine (or under ASan)
        with srv:
            assert metadata_partitions(srv.kafka, "wide") == 1000
            r = run("kcat", "-b", srv.kafka, "-C", "-t", "wide", "-e", "-q")
            assert r.returncode == 0, r.stderr
            assert len(r.stdout.splitlines()) == 5000
            assert srv.stop() == 0, srv.output()

    # --memory-only: works, writes nothing, forgets everything on restart.
    with plg.TempDir() as d:
        data = os.path.join(d, "data")
        srv = plg.server(data, extra=["--memory-only"])
        with srv:
            r = run("kcat", "-b", srv.kafka, "-P", "-t", "mem", input="a\nb\nc\n")
            assert r.returncode == 0, r.stderr
            r = run("kcat", "-b", srv.kafka, "-C", "-t", "mem", "-e", "-q")
            assert r.stdout.split() == ["a", "b", "c"], r.stdout
            assert srv.stop() == 0
        assert not os.path.exists(data) or not os.listdir(data), os.listdir(data)

    # Start-up configuration errors name the key; exit code 2.
    with plg.TempDir() as d:
        cfg = os.path.join(d, "server.properties")
        with open(cfg, "w") as f:
            f.write("# test\nnum.partitions = 3\nno.such.key = 1\n")
        r = run(plg.BIN, "server", "--config", cfg, "--data-dir", d)
        assert r.returncode == 2 and "no.such.key" in r.stderr, r
        with open(cfg, "w") as f:
            f.write("num.partitions = lots\n")
        r = run(plg.BIN, "server", "--config", cfg, "--data-dir", d)
        assert r.returncode == 2 and "num.partitions" in r.stderr, r
        env = dict(os.environ, PYRALOG_LOG_FSYNC="sometimes")
        r = run(plg.BIN, "server", "--data-dir", d, env=env)
        assert r.returncode == 2 and "log.fsync" in r.stderr and "PYRALOG_LOG_FSYNC" in r.stderr, r
        r = run(plg.BIN, "server", "--kafka-listen", "nohost", "--data-dir", d)
        assert r.returncode == 2 and "kafka.listen" in r.stderr, r
        # File, environment and flags in that order of precedence.
        with open(cfg, "w") as f:
            f.write("num.partitions = 2\nauto.create.topics.enable = false\n")
        env = dict(os.environ, PYRALOG_AUTO_CREATE_TOPICS_ENABLE="true")
        srv = plg.server(os.path.join(d, "data"), extra=["--config", cfg, "--set",
                                                          "num.partitions=4"], env=env)
        with srv:
            assert metadata_partitions(srv.kafka, "auto") == 4
            assert srv.stop() == 0
    print("ok")


if __name__ == "__main__":
    main()
