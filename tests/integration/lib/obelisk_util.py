"""Helpers for Obelisk node tests: start nodes on free port pairs (JSON-RPC P, binary P+1)."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
import plg  # noqa: E402


def free_port_pair():
    """A port P with P and P+1 both free on 127.0.0.1 a moment ago."""
    for _ in range(200):
        p = plg.free_port()
        if p >= 65535:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def node(data_dir, node_id, extra=()):
    """A `pyralog obelisk` Proc; .listen is "127.0.0.1:P" (JSON-RPC), .binary the port P+1."""
    p = free_port_pair()
    proc = plg.Proc([plg.BIN, "obelisk", "--node-id", str(node_id), "--data-dir", data_dir,
                     "--listen", "127.0.0.1:%d" % p, *extra],
                    "pyralog obelisk ready listen=127.0.0.1:%d node=%d" % (p, node_id))
    proc.listen = "127.0.0.1:%d" % p
    proc.port = p
    proc.binary = p + 1
    return proc
