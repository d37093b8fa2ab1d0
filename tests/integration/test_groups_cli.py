"""`pyralog consume --group` and `pyralog group list|describe`: a group consumer prints what
was produced and commits it; a second run of the same group resumes after those commits and
prints only the new records; describe shows the committed offsets, log end and zero lag;
bad usage is a usage error (exit 2)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402


def run(*args, stdin=None, timeout=45):
    try:
        return subprocess.run([plg.BIN, *args], input=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("pyralog %s timed out; stdout=%r stderr=%r" %
                             (" ".join(args), e.stdout, e.stderr))


def main():
    with plg.TempDir() as tmp, plg.server(os.path.join(tmp, "data"),
                                          env=dict(os.environ, PYRALOG_LOG_LEVEL="info")) as srv:
        try:
            steps(srv)
        except BaseException:
            print("--- server log ---\n" + srv.output()[-8000:])
            raise
    print("ok")


def steps(srv):
    bs = ["--bootstrap", srv.kafka]
    r = run("topic", "create", "cli-t", "--partitions", "3", *bs)
    assert r.returncode == 0, r.stderr
    r = run("produce", "cli-t", *bs, stdin="".join("a%d\n" % i for i in range(30)))
    assert r.returncode == 0, r.stderr

    r = run("consume", "cli-t", "--group", "cli-g", "--from-beginning", "--count", "30", *bs)
    assert r.returncode == 0, r.stderr
    first = r.stdout.split()
    assert sorted(first) == sorted("a%d" % i for i in range(30)), first

    r = run("produce", "cli-t", *bs, stdin="".join("b%d\n" % i for i in range(10)))
    assert r.returncode == 0, r.stderr
    # --from-beginning matters only for partitions without a commit: librdkafka's producer
    # may have put all the a* records in one partition (sticky partitioning), and a partition
    # that held none has no committed offset; "latest" there would skip its b* records.
    r = run("consume", "cli-t", "--group", "cli-g", "--from-beginning", "--count", "10", *bs)
    assert r.returncode == 0, r.stderr
    second = r.stdout.split()
    assert sorted(second) == sorted("b%d" % i for i in range(10)), second

    r = run("group", "describe", "cli-g", *bs)
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    assert "state Empty" in r.stdout, r.stdout
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("cli-t ")]
    # Only partitions that received records have commits (the producer may leave one empty).
    assert 1 <= len(rows) <= 3 and sum(int(x[2]) for x in rows) == 40, rows
    assert all(x[4] == "0" for x in rows), rows

    r = run("group", "list", *bs)
    assert r.returncode == 0 and "cli-g" in r.stdout, (r.stdout, r.stderr)
    r = run("consume", "cli-t", "--group", "g", "--partition", "1", *bs)
    assert r.returncode == 2, r
    r = run("group", "describe", *bs)
    assert r.returncode == 2, r


if __name__ == "__main__":
    main()
