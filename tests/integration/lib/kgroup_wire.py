"""Raw Kafka wire encoding of the consumer-group requests (non-flexible versions) for tests that
need to send exactly the bytes they choose: bad input, stale generations, oversized metadata.
Layouts follow Kafka's JSON message specs. Python 3 standard library only."""
import socket
import struct


def s16(v):
    return struct.pack(">h", v)


def s32(v):
    return struct.pack(">i", v)


def s64(v):
    return struct.pack(">q", v)


def string(v):
    if v is None:
        return s16(-1)
    b = v.encode() if isinstance(v, str) else v
    return s16(len(b)) + b


def bytes_(v):
    return s32(len(v)) + v


def array(items):
    return s32(len(items)) + b"".join(items)


def frame(api_key, version, corr, body, client_id="kgroup-test"):
    """A whole request frame: INT32 size, header v1, body."""
    payload = s16(api_key) + s16(version) + s32(corr) + string(client_id) + body
    return s32(len(payload)) + payload


def join_group_v5(group, member_id="", protocol_type="consumer", protocols=(("range", b""),),
                  session_ms=10000, rebalance_ms=10000, instance_id=None):
    return (string(group) + s32(session_ms) + s32(rebalance_ms) + string(member_id) +
            string(instance_id) + string(protocol_type) +
            array([string(n) + bytes_(m) for n, m in protocols]))


def sync_group_v3(group, generation, member_id, assignments=(), instance_id=None):
    return (string(group) + s32(generation) + string(member_id) + string(instance_id) +
            array([string(m) + bytes_(a) for m, a in assignments]))


def heartbeat_v3(group, generation, member_id, instance_id=None):
    return string(group) + s32(generation) + string(member_id) + string(instance_id)


def leave_group_v3(group, member_ids):
    return string(group) + array([string(m) + string(None) for m in member_ids])


def offset_commit_v7(group, generation, member_id, topic, parts):
    """parts: [(partition, offset, metadata)]"""
    return (string(group) + s32(generation) + string(member_id) + string(None) +
            array([string(topic) + array([s32(p) + s64(o) + s32(-1) + string(md)
                                          for p, o, md in parts])]))


def offset_fetch_v5(group, topic, parts):
    return string(group) + array([string(topic) + array([s32(p) for p in parts])])


def find_coordinator_v2(key):
    return string(key) + bytes([0])


def describe_groups_v4(groups):
    return array([string(g) for g in groups]) + bytes([0])


def delete_groups_v1(groups):
    return array([string(g) for g in groups])


class Conn:
    """One Kafka connection; request() sends a frame and returns the response body."""

    def __init__(self, hostport, timeout=15):
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.corr = 0

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_frame(self):
        head = self._read(4)
        (size,) = struct.unpack(">i", head)
        return self._read(size)

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("connection closed by the server")
            out += chunk
        return out

    def request(self, api_key, version, body):
        self.corr += 1
        self.send_raw(frame(api_key, version, self.corr, body))
        resp = self.read_frame()
        (corr,) = struct.unpack(">i", resp[:4])
        assert corr == self.corr, "correlation id %d, expected %d" % (corr, self.corr)
        return resp[4:]

    def close(self):
        self.sock.close()


class Reader:
    """Cursor over a response body (non-flexible encodings)."""

    def __init__(self, data):
        self.d = data
        self.p = 0

    def i16(self):
        v = struct.unpack_from(">h", self.d, self.p)[0]
        self.p += 2
        return v

    def i32(self):
        v = struct.unpack_from(">i", self.d, self.p)[0]
        self.p += 4
        return v

    def i64(self):
        v = struct.unpack_from(">q", self.d, self.p)[0]
        self.p += 8
        return v

    def str(self):
        n = self.i16()
        if n < 0:
            return None
        v = self.d[self.p:self.p + n].decode()
        self.p += n
        return v

    def bytes(self):
        n = self.i32()
        v = self.d[self.p:self.p + n]
        self.p += max(n, 0)
        return v


def parse_join_v5(body):
    r = Reader(body)
    out = {"throttle": r.i32(), "error": r.i16(), "generation": r.i32(), "protocol": r.str(),
           "leader": r.str(), "member_id": r.str(), "members": []}
    for _ in range(r.i32()):
        out["members"].append((r.str(), r.str(), r.bytes()))
    return out


def parse_error_after_throttle(body):
    """Heartbeat v1+ / SyncGroup v1+ style: throttle INT32 then error INT16."""
    r = Reader(body)
    r.i32()
    return r.i16()
