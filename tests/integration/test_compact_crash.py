"""Crash test for split compaction: a real child process appends keyed records with
fsync=always while a worker thread compacts the sealed segments over and over (begin, run on the
worker, install on the appending thread); the parent SIGKILLs it at random moments, many rounds
on one directory, bounded in time. After every kill the directory must pass the read-only audit,
reopen cleanly, and for every key hold a record at least as new as the last one acknowledged
(compaction keeps each key's latest value, whatever moment the crash hit). Across the run the
compactions must really have dropped records."""
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402

TOOL = os.path.join(os.environ.get("PYRALOG_BUILD_DIR", "build"), "compact_crash")
ROUNDS = 40
DEADLINE = time.time() + 45


def verify(d):
    out = subprocess.run([TOOL, "verify", d], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit("verify failed: %s" % out.stderr)
    latest, recs, end, last_off = {}, 0, None, -1
    for line in out.stdout.splitlines():
        f = line.split()
        if f[0] == "rec":
            off, key, seq = int(f[1]), f[2], int(f[3])
            assert off > last_off, "offsets out of order at %d" % off
            last_off = off
            latest[key] = max(latest.get(key, -1), seq)
            recs += 1
        elif f[0] == "end":
            end = int(f[1])
    assert end is not None and end > last_off
    return latest, recs, end


def main():
    rng = random.Random(int(os.environ.get("PLG_CRASH_SEED", "4242")))
    acked = {}
    total_acks = compactions = removed = 0
    with plg.TempDir() as d:
        logdir = os.path.join(d, "p0")
        rounds = 0
        while rounds < ROUNDS and time.time() < DEADLINE:
            p = subprocess.Popen([TOOL, "run", logdir, str((rounds + 1) * 10_000_000)],
                                 stdout=subprocess.PIPE, text=True)
            try:
                time.sleep(rng.uniform(0.05, 0.4))
                os.kill(p.pid, signal.SIGKILL)
            finally:
                out, _ = p.communicate(timeout=30)
            for line in out.splitlines():
                f = line.split()
                if len(f) == 3 and f[0] == "ack":
                    acked[f[1]] = max(acked.get(f[1], -1), int(f[2]))
                    total_acks += 1
                elif len(f) == 2 and f[0] == "compacted":
                    compactions += 1
                    removed += int(f[1])
            latest, recs, end = verify(logdir)
            for key, seq in acked.items():
                assert latest.get(key, -1) >= seq, \
                    "round %d: key %s lost its value %d (log has %s)" % (rounds, key, seq,
                                                                        latest.get(key))
            rounds += 1
        print("rounds=%d acked records=%d compactions=%d removed=%d records in log=%d end=%d"
              % (rounds, total_acks, compactions, removed, recs, end))
        assert rounds >= 10, "too few rounds"
        assert compactions > 0 and removed > 0, "compaction never installed anything"
        assert recs < total_acks, "nothing was compacted away"


if __name__ == "__main__":
    main()
