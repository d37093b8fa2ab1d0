"""Committed offsets survive a server crash: a librdkafka consumer commits after each record,
the server is SIGKILLed and restarted on the same data directory, and a consumer of the same
group resumes exactly after the last commit (no record of the first run is delivered again).
Also checks the offsets through `pyralog group describe` before and after the restart."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from groups_util import Consumer, run_tool, values_range, wait_until  # noqa: E402

TOPIC = "events"
GROUP = "resumer"


def committed(bootstrap):
    out = subprocess.run([plg.BIN, "group", "describe", GROUP, "--bootstrap", bootstrap],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [ln.split() for ln in out.stdout.splitlines() if ln.startswith(TOPIC + " ")]
    return {int(r[1]): r[2] for r in rows}


def main():
    with plg.TempDir() as tmp:
        data = os.path.join(tmp, "data")
        kafka = "127.0.0.1:%d" % plg.free_port()
        args = [plg.BIN, "server", "--data-dir", data, "--kafka-listen", kafka,
                "--http-listen", "127.0.0.1:%d" % plg.free_port()]
        with plg.Proc(args, "pyralog server ready") as srv:
            run_tool("create", kafka, TOPIC, "3")
            run_tool("produce", kafka, TOPIC, "0", "120")
            a = Consumer("a", kafka, TOPIC, GROUP, tmp)
            try:
                wait_until(lambda: values_range(0, 120) <= set(a.values()), 40,
                           "120 records consumed")
                assert a.stop() == 0
            except BaseException:
                print(a.dump())
                raise
            finally:
                a.kill()
            before = committed(kafka)
            print("committed before the crash:", before)
            assert sum(int(v) for v in before.values()) == 120, before
            srv.p.send_signal(signal.SIGKILL)
            srv.p.wait()

        with plg.Proc(args, "pyralog server ready") as srv2:
            after = committed(kafka)
            print("committed after the restart:", after)
            assert after == before, (before, after)
            assert "offsets loaded" in srv2.output()
            run_tool("produce", kafka, TOPIC, "120", "40")
            b = Consumer("b", kafka, TOPIC, GROUP, tmp)
            try:
                wait_until(lambda: values_range(120, 40) <= set(b.values()), 40,
                           "the 40 new records consumed after the restart")
                old = set(b.values()) & values_range(0, 120)
                assert not old, "records before the last commit delivered again: %s" % old
                assert b.stop() == 0
            except BaseException:
                print(b.dump())
                print("--- server log ---\n" + srv2.output()[-6000:])
                raise
            finally:
                b.kill()
    print("ok")


if __name__ == "__main__":
    main()
