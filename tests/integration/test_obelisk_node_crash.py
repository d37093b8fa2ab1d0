"""End-to-end crash test of a real Obelisk node: 25 rounds of start `pyralog obelisk`, a client
taking IDs and sequence values over the binary protocol, SIGKILL of the node at a random moment.
Across all rounds every value the client received is new: IDs strictly increase, sequence ranges
never overlap and increase (leases of 50 values skipped after each kill, never repeated).
The skip itself (docs/obelisk.md): after each kill the sequence file's durable limit L =
(size - 32) x unit is read from disk. Every value handed out before the kill is below L, so the
first value the restarted node hands out must be exactly L (the counter reopens at its durable
limit: the rest of the lease skipped, nothing below it repeated, nothing more skipped), and L lies
at most 1.5 leases (the renewal ahead) beyond the values handed out: beyond what the client
received plus the one request (at most 20 values) it may have had in flight at the kill."""
import os
import struct
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
LEASE = 50
MAX_SEQ_REQUEST = 20  # obelisk_client --seq takes 1..20 values per call, one call at a time


def durable_limit(data):
    """The sequence's durable limit from its file on disk, or None before the file exists."""
    path = os.path.join(data, "obelisk", "crashseq.obelisk")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        head = f.read(32)
    assert head[:8] == b"PLGOBEL1", head
    unit = struct.unpack(">Q", head[8:16])[0]
    return (os.path.getsize(path) - 32) * unit


def main():
    rnd = random.Random()
    seed = rnd.randrange(1 << 30)
    rnd.seed(seed)
    print("seed", seed)
    last_id = 0
    seq_end = 0
    ids_total = seq_total = 0
    limit = None  # the durable limit found after the last kill
    skips = []
    with plg.TempDir() as d:
        data = os.path.join(d, "data")
        for r in range(ROUNDS):
            n = obelisk_util.node(data, 7, ["--seq-lease", str(LEASE)])
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
            first_seq = True
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
                    if first_seq and limit is not None:
                        assert v == limit, (
                            "round %d: the restarted node's first value is %d, not the durable "
                            "limit %d left by the kill" % (r, v, limit))
                    first_seq = False
                    seq_end = v + cnt
                    seq_total += cnt
            # The node is dead: its sequence file is what the next round's node reopens. This
            # round's node handed out values from `base` (what the client received, or, when it
            # received none, the limit it reopened at) plus at most one unanswered request.
            new_limit = durable_limit(data)
            if new_limit is not None:
                base = seq_end if not first_seq or limit is None else limit
                assert new_limit >= seq_end, "round %d: values %d.. received above the durable " \
                    "limit %d" % (r, seq_end, new_limit)
                assert new_limit - base <= LEASE * 3 // 2 + MAX_SEQ_REQUEST, (
                    "round %d: durable limit %d is more than 1.5 leases beyond the values "
                    "handed out (from %d)" % (r, new_limit, base))
                skips.append(new_limit - base)
                limit = new_limit
    print("rounds=%d ids=%d seq_values=%d skips_after_kill=%s" % (ROUNDS, ids_total, seq_total,
                                                                  skips))
    assert ids_total > 0 and seq_total > 0
    print("ok")


if __name__ == "__main__":
    main()
