#!/usr/bin/env python3
"""`pyralog server` with bad configuration: an unknown key, a bad value or a malformed line in the
config file, a missing config file, bad flags and environment variables, a data directory that is
a file, and listen addresses already taken. Each must stop the start-up with one clear line that
names the file and line or the key (exit 2 for configuration, 1 for a start-up failure), never
print the ready line, and never leave a process behind (INTERFACES.md, Configuration)."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402


def start(args, env=None):
    """Runs a server that must fail; returns (exit code, its error lines)."""
    full = [plg.BIN, "server", *args]
    if "--kafka-listen" not in args:
        full += ["--kafka-listen", "127.0.0.1:%d" % plg.free_port()]
    if "--http-listen" not in args:
        full += ["--http-listen", "127.0.0.1:%d" % plg.free_port()]
    r = plg.run(*full, timeout=20, env=dict(os.environ, **(env or {})))
    assert "pyralog server ready" not in r.stderr, (args, r.stderr)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("pyralog: server: ")]
    return r.returncode, errors, r.stderr


def expect(what, args, code, *needles, env=None):
    rc, errors, text = start(args, env)
    assert rc == code, "%s: exit %s, expected %d\n%s" % (what, rc, code, text)
    assert len(errors) == 1, "%s: expected one 'pyralog: server:' line\n%s" % (what, text)
    for n in needles:
        assert n in errors[0], "%s: %r not in %r" % (what, n, errors[0])
    print("ok %s: %s" % (what, errors[0]))


def main():
    with plg.TempDir() as d:
        data = os.path.join(d, "data")
        dd = ["--data-dir", data]

        def conf(name, text):
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write(text)
            return path

        unknown = conf("unknown.conf", "# a comment\nnode.id = 3\nbogus.key = 1\n")
        expect("unknown key in file", ["--config", unknown, *dd], 2,
               "%s:3" % unknown, "bogus.key", "unknown configuration key")
        badval = conf("badval.conf", "node.id = x\n")
        expect("bad value in file", ["--config", badval, *dd], 2,
               "%s:1" % badval, "node.id", "not an integer")
        noeq = conf("noeq.conf", "node.id 3\n")
        expect("line without '='", ["--config", noeq, *dd], 2, "%s:1" % noeq, "key = value")
        missing = os.path.join(d, "missing.conf")
        expect("missing config file", ["--config", missing, *dd], 2, missing,
               "No such file or directory")
        expect("bad --set value", ["--set", "log.fsync=sometimes", *dd], 2, "log.fsync",
               "sometimes")
        expect("--set out of range", ["--set", "socket.request.max.bytes=-5", *dd], 2,
               "socket.request.max.bytes", "outside")
        expect("--set unknown key", ["--set", "no.such.key=1", *dd], 2, "no.such.key")
        expect("bad listen port", ["--kafka-listen", "127.0.0.1:99999", *dd], 2, "kafka.listen",
               "99999")
        expect("bad environment value", [*dd], 2, "auto.create.topics.enable",
               env={"PYRALOG_AUTO_CREATE_TOPICS_ENABLE": "maybe"})
        # The flag wins over the file, so a good flag does not rescue a bad file line.
        expect("bad file under good flags", ["--config", badval, "--node-id", "4", *dd], 2,
               "node.id")

        afile = os.path.join(d, "afile")
        open(afile, "w").close()
        expect("data dir is a file", ["--data-dir", afile], 1, afile, "Not a directory")

        # Listen addresses taken by another socket: a clear line and exit 1, for either port.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            taken = "127.0.0.1:%d" % s.getsockname()[1]
            expect("Kafka port in use", ["--kafka-listen", taken, *dd], 1, taken,
                   "Address already in use")
            expect("HTTP port in use", ["--http-listen", taken, *dd], 1, taken,
                   "Address already in use")

        # And the same data dir starts fine with a good configuration afterwards.
        good = conf("good.conf", "node.id = 3\nauto.create.topics.enable = false\n")
        with plg.server(data, extra=["--config", good]) as srv:
            assert "node_id=3" in srv.output(), srv.output()
            assert srv.stop() == 0
        print("ok: a good configuration starts on the same data dir")


if __name__ == "__main__":
    main()
