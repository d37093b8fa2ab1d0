"""End-to-end crash test of a real Obelisk node: 25 rounds of start `pyralog obelisk`, a client
taking IDs and sequence values over the binary protocol, SIGKILL of the node at a random moment.
Across all rounds every value the client received is new: IDs strictly increase, sequence ranges
never overlap and increase (leases of 50 values skipped after each kill, never repeated)."""
import os
import random
import signal
import subprocess
import sys
import time
from array import array

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import obelisk_util  # noqa: E402
import plg  # noqa: E402

TOOL = os.path.join(os.environ["PYRALOG_BUILD_DIR"], "obelisk_client")
ROUNDS = 25


def main():
    rnd = random.Random()
    seed = rnd.randrange(1 << 30)
    rnd.seed(seed)
    print("seed", seed)
    last_id = 0
    seq_end = 0
    ids_total = seq_total = 0
    with plg.TempDir() as d:
        data = os.path.join(d, "data")
        for r in range(ROUNDS):
            n = obelisk_util.node(data, 7, ["--seq-lease", "50"])
            n.start()
            try:
                out = os.path.join(d, "r%d.bin" % r)
                c = subprocess.Popen([TOOL, n.listen, "30", str(rnd.randint(1, 40)), "--out", out,
                                      "--seq", "crashseq"], stdout=subprocess.PIPE, text=True)
                time.sleep(rnd.uniform(0.02, 0.2))
                n.p.send_signal(signal.SIGKILL)
                n.p.wait()
                text, _ = c.communicate(timeout=30)
                assert c.returncode == 3, (c.returncode, text)
            finally:
                n.kill()
                n.log.close()
            a = array("Q")
            with open(out, "rb") as f:
                raw = f.read()
            a.frombytes(raw[:len(raw) // 24 * 24])
            for i in range(0, len(a), 3):
                kind, v, cnt = a[i], a[i + 1], a[i + 2]
                if kind == 1:
                    assert v > last_id, "round %d: ID %d after %d" % (r, v, last_id)
                    assert (v >> 12) & 1023 == 7
                    last_id = v
                    ids_total += 1
                else:
                    assert kind == 2 and v >= seq_end, "round %d: seq %d repeats (< %d)" % (
                        r, v, seq_end)
                    seq_end = v + cnt
                    seq_total += cnt
    print("rounds=%d ids=%d seq_values=%d" % (ROUNDS, ids_total, seq_total))
    assert ids_total > 0 and seq_total > 0
    print("ok")


if __name__ == "__main__":
    main()
