"""Consumer groups with real librdkafka high-level consumers (tests/tools/group_client.c):
two members split a 6-partition topic with no overlap; a third joins and the partitions are
rebalanced; one is SIGKILLed and its partitions move to the others after its session timeout;
together they consume every produced record, and because each record is committed only after
it was written out, nothing is lost across the rebalances. Ends with `pyralog group describe`
showing zero lag, and records how long rebalances took after the last JoinGroup."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
from groups_util import Consumer, run_tool, values_range, wait_until, rebalance_times  # noqa

TOPIC = "orders"
GROUP = "billing"
ALL = set(range(6))


def split_ok(consumers):
    """Every live consumer holds partitions, none overlap, together all 6."""
    sets = [c.assignment() for c in consumers]
    if any(not s for s in sets):
        return False
    union = set().union(*sets)
    return union == ALL and sum(len(s) for s in sets) == 6


def union_values(consumers):
    out = set()
    for c in consumers:
        out.update(c.values())
    return out


def main():
    with plg.TempDir() as tmp, plg.server(os.path.join(tmp, "data"),
                                          env=dict(os.environ, PYRALOG_LOG_LEVEL="info")) as srv:
        run_tool("create", srv.kafka, TOPIC, "6")
        a = Consumer("a", srv.kafka, TOPIC, GROUP, tmp)
        b = Consumer("b", srv.kafka, TOPIC, GROUP, tmp)
        consumers = [a, b]
        try:
            wait_until(lambda: split_ok([a, b]), 40, "two members to split 6 partitions")
            print("two members:", sorted(a.assignment()), sorted(b.assignment()))
            run_tool("produce", srv.kafka, TOPIC, "0", "300")
            wait_until(lambda: values_range(0, 300) <= union_values([a, b]), 30,
                       "the first 300 records to be consumed")

            c = Consumer("c", srv.kafka, TOPIC, GROUP, tmp)
            consumers.append(c)
            wait_until(lambda: split_ok([a, b, c]), 40, "three members to split 6 partitions")
            print("three members:", sorted(a.assignment()), sorted(b.assignment()),
                  sorted(c.assignment()))
            run_tool("produce", srv.kafka, TOPIC, "300", "300")
            wait_until(lambda: values_range(0, 600) <= union_values(consumers), 30,
                       "600 records to be consumed by three members")

            c.kill()
            t0 = time.time()
            wait_until(lambda: split_ok([a, b]), 40, "the killed member's partitions to move")
            moved = time.time() - t0
            print("partitions moved %.1f s after SIGKILL (session timeout 6 s):" % moved,
                  sorted(a.assignment()), sorted(b.assignment()))
            assert moved < 30, moved

            run_tool("produce", srv.kafka, TOPIC, "600", "300")
            wait_until(lambda: values_range(0, 900) <= union_values(consumers), 40,
                       "all 900 records to be consumed (none lost)")
            got = [v for x in consumers for v in x.values()]
            print("records consumed: %d distinct, %d deliveries (duplicates after the kill are"
                  " allowed: at-least-once)" % (len(set(got)), len(got)))
            assert set(got) == values_range(0, 900)

            # Graceful leave: both commit and close (LeaveGroup).
            assert a.stop() == 0 and b.stop() == 0
            assert "CLOSED" in a.lines()[-1] and "CLOSED" in b.lines()[-1]

            # Every partition is committed up to its log end: lag 0 everywhere.
            out = subprocess.run([plg.BIN, "group", "describe", GROUP, "--bootstrap", srv.kafka],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 timeout=60)
            print(out.stdout)
            assert out.returncode == 0, out.stderr
            rows = [ln.split() for ln in out.stdout.splitlines() if ln.startswith(TOPIC + " ")]
            assert len(rows) == 6, rows
            assert sum(int(r[3]) for r in rows) == 900, rows
            assert all(r[2] == r[3] and r[4] == "0" for r in rows), rows
            lst = subprocess.run([plg.BIN, "group", "list", "--bootstrap", srv.kafka],
                                 stdout=subprocess.PIPE, text=True, timeout=60)
            assert lst.returncode == 0 and GROUP in lst.stdout, lst.stdout

            times = rebalance_times(srv.output())
            print("rebalance completion after the last JoinGroup (ms):", times)
            assert times and max(times) < 1000, times
        except BaseException:
            for x in consumers:
                print(x.dump())
            print("--- server log ---\n" + srv.output()[-8000:])
            raise
        finally:
            for x in consumers:
                x.kill()
    print("ok")


if __name__ == "__main__":
    main()
