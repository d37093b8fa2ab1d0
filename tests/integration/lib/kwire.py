"""A few Kafka wire-format pieces for tests, written from the protocol spec so the tests check
the server independently of its own codec: CRC-32C, RecordBatch v2, request frames, Produce v3
and Fetch v4, and socket helpers."""
import socket
import struct

# ---- CRC-32C and RecordBatch v2, built here from the spec so the test checks the server ----
_T = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):
    return uvarint((v << 1) ^ (v >> 63))


def record(i, key, value):
    body = (b"\x00" + varint(0) + varint(i) + varint(len(key)) + key + varint(len(value)) +
            value + varint(0))
    return varint(len(body)) + body


def batch(values, magic=2, bad_crc=False):
    recs = b"".join(record(i, b"k%d" % i, v) for i, v in enumerate(values))
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, 1000, 1000, -1, -1, -1,
                            len(values)) + recs
    crc = crc32c(after_crc) ^ (1 if bad_crc else 0)
    body = struct.pack(">ibI", 0, magic, crc) + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def kstr(s):
    return struct.pack(">h", len(s)) + s


def frame(api_key, version, corr, body):
    payload = struct.pack(">hhi", api_key, version, corr) + kstr(b"badinput") + body
    return struct.pack(">i", len(payload)) + payload


def produce_v3(corr, topics, acks=1):
    """topics: [(name, [(partition, records_bytes)])]."""
    body = struct.pack(">hhi", -1, acks, 10000) + struct.pack(">i", len(topics))
    for name, parts in topics:
        body += kstr(name) + struct.pack(">i", len(parts))
        for p, recs in parts:
            body += struct.pack(">ii", p, len(recs)) + recs
    return frame(0, 3, corr, body)


def parse_produce_v3(resp):
    corr, = struct.unpack_from(">i", resp, 0)
    pos = 4
    n, = struct.unpack_from(">i", resp, pos)
    pos += 4
    out = {}
    for _ in range(n):
        ln, = struct.unpack_from(">h", resp, pos)
        name = resp[pos + 2:pos + 2 + ln].decode()
        pos += 2 + ln
        np_, = struct.unpack_from(">i", resp, pos)
        pos += 4
        for _ in range(np_):
            p, err, off, _lat = struct.unpack_from(">ihqq", resp, pos)
            pos += 22
            out[(name, p)] = (err, off)
    return corr, out


def connect(addr):
    host, port = addr.split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_frame(s):
    n, = struct.unpack(">i", recv_exact(s, 4))
    return recv_exact(s, n)


def closed_by_server(s):
    try:
        s.settimeout(10)
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def api_versions_ok(s, corr):
    s.sendall(frame(18, 0, corr, b""))
    r = recv_frame(s)
    c, err = struct.unpack_from(">ih", r, 0)
    return c == corr and err == 0


def fetch_v4(corr, topics, max_wait_ms, min_bytes, max_bytes):
    """topics: [(name, [(partition, offset, partition_max_bytes)])]"""
    body = struct.pack(">iiiib", -1, max_wait_ms, min_bytes, max_bytes, 0)
    body += struct.pack(">i", len(topics))
    for name, parts in topics:
        body += kstr(name) + struct.pack(">i", len(parts))
        for p, off, pmax in parts:
            body += struct.pack(">iqi", p, off, pmax)
    return frame(1, 4, corr, body)


def parse_fetch_v4(resp):
    """Returns (corr, {(topic, partition): (error, high_watermark, records_bytes)})."""
    corr, _throttle, n = struct.unpack_from(">iii", resp, 0)
    pos = 12
    out = {}
    for _ in range(n):
        ln, = struct.unpack_from(">h", resp, pos)
        name = resp[pos + 2:pos + 2 + ln].decode()
        pos += 2 + ln
        np_, = struct.unpack_from(">i", resp, pos)
        pos += 4
        for _ in range(np_):
            p, err, hwm, _lso, naborted = struct.unpack_from(">ihqqi", resp, pos)
            pos += 26
            if naborted > 0:
                pos += 16 * naborted
            rlen, = struct.unpack_from(">i", resp, pos)
            pos += 4
            recs = resp[pos:pos + max(rlen, 0)]
            pos += max(rlen, 0)
            out[(name, p)] = (err, hwm, recs)
    return corr, out


def batch_values(records):
    """Values of every record in a run of uncompressed batches (whole batches only)."""
    vals = []
    pos = 0
    while pos + 61 <= len(records):
        base, blen = struct.unpack_from(">qi", records, pos)
        end = pos + 12 + blen
        if end > len(records):
            break  # partial trailing batch
        count, = struct.unpack_from(">i", records, pos + 57)
        rp = pos + 61
        for _ in range(count):
            _len, rp = read_varint(records, rp)
            rp += 1  # attributes
            _ts, rp = read_varint(records, rp)
            _od, rp = read_varint(records, rp)
            kl, rp = read_varint(records, rp)
            rp += max(kl, 0)
            vl, rp = read_varint(records, rp)
            vals.append(records[rp:rp + vl])
            rp += vl
            hc, rp = read_varint(records, rp)
            for _ in range(hc):
                hk, rp = read_varint(records, rp)
                rp += hk
                hv, rp = read_varint(records, rp)
                rp += max(hv, 0)
        pos = end
    return vals


def read_varint(b, pos):
    shift = 0
    x = 0
    while True:
        c = b[pos]
        pos += 1
        x |= (c & 0x7F) << shift
        if not c & 0x80:
            break
        shift += 7
    return (x >> 1) ^ -(x & 1), pos
