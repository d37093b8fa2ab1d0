"""The Kafka codec (src/kafka) against real clients, through tests/tools/kcodec_responder (a
tiny in-memory responder built only on the codec): kcat/librdkafka 2.0.2 metadata, idempotent
produce with keys and headers in every compression codec and consume back; the librdkafka admin
API (create, describe configs, alter configs, create partitions, delete); kafkajs 2.2.4 admin and
idempotent producer; and both clients falling back after the v0-layout UNSUPPORTED_VERSION (35)
answer to an ApiVersions version the responder refuses. Any encoding mistake in a response makes
these clients fail or hang."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

BUILD = os.environ.get("PYRALOG_BUILD_DIR", "build")
SRC = os.environ.get("PYRALOG_SOURCE_DIR", ".")


def run(args, stdin=None, timeout=30, env=None):
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (args, p.returncode, p.stdout, p.stderr))
    return p.stdout


def main():
    responder = plg.Proc([os.path.join(BUILD, "kcodec_responder"), "--seconds", "120"],
                         ready="kcodec ready")
    with responder:
        port = responder.output().split("port=")[1].split()[0]
        bs = "127.0.0.1:" + port

        out = run(["kcat", "-b", bs, "-L", "-t", "events"])
        assert 'topic "events" with 1 partitions' in out, out
        assert "broker 0 at 127.0.0.1:%s" % port in out, out

        expect = []
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
            lines = ["k%s%d:%s-value-%d" % (codec, i, codec, i) for i in range(50)]
            run(["kcat", "-b", bs, "-P", "-t", "events", "-K:", "-H", "h=" + codec,
                 "-z", codec, "-X", "enable.idempotence=true"], stdin="\n".join(lines) + "\n")
            expect += ["%s|%s|h=%s" % (l.split(":")[0], l.split(":")[1], codec) for l in lines]
        got = run(["kcat", "-b", bs, "-C", "-t", "events", "-o", "beginning", "-e",
                   "-f", "%k|%s|%h\n"]).splitlines()
        assert got == expect, "consumed %d records, first mismatch near %s" % (
            len(got), next((i for i, (a, b) in enumerate(zip(got, expect)) if a != b), None))

        out = run([os.path.join(BUILD, "rdk_admin_probe"), bs, "adm"])
        for line in ["create adm NO_ERROR", "describe adm NO_ERROR configs=1",
                     "alter adm NO_ERROR", "partitions adm NO_ERROR", "delete adm NO_ERROR",
                     "failures=0"]:
            assert line in out, out

        env = dict(os.environ)
        env.setdefault("NODE_PATH", os.path.join(SRC, "tests", "node", "node_modules"))
        out = run(["node", os.path.join(os.path.dirname(__file__), "lib", "kcodec_kafkajs.js"),
                   port], env=env)
        r = json.loads(out.strip().splitlines()[-1])
        assert r["created"] is True and r["partitions"] == 2, r
        assert r["res"][0]["errorCode"] == 0 and r["res"][0]["baseOffset"] == "0", r
        assert {o["partition"]: o["high"] for o in r["offs"]} == {0: "0", 1: "2"}, r

    # ApiVersions fallback: versions above 1 get error 35 in the v0 layout; clients retry lower.
    with plg.TempDir() as cap:
        responder = plg.Proc([os.path.join(BUILD, "kcodec_responder"), "--seconds", "60",
                              "--apiversions-max", "1", "--out", cap], ready="kcodec ready")
        with responder:
            port = responder.output().split("port=")[1].split()[0]
            out = run(["kcat", "-b", "127.0.0.1:" + port, "-L", "-t", "events"])
            assert 'topic "events" with 1 partitions' in out, out
            out = run(["node", os.path.join(os.path.dirname(__file__), "lib",
                                            "kcodec_kafkajs.js"), port], env=env)
            assert json.loads(out.strip().splitlines()[-1])["created"] is True, out
        frames = sorted(f for f in os.listdir(cap) if "ApiVersions" in f)
        versions = [int(f.rsplit("_v", 1)[1].split(".")[0]) for f in frames]
        # librdkafka asks v3, is refused, asks again lower; kafkajs asks v2, then lower.
        assert versions[0] == 3 and versions[1] <= 1, frames
        assert 2 in versions and any(v <= 1 for v in versions[versions.index(2):]), frames
    print("ok")


if __name__ == "__main__":
    main()
