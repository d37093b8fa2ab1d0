"""Group APIs against hand-built requests on a raw socket: MEMBER_ID_REQUIRED then a join,
empty and unknown protocol types (INCONSISTENT_GROUP_PROTOCOL), bad session timeouts, unknown
member ids, stale generations, oversized metadata, commits from strangers, admin errors on
live and missing groups, truncated and garbage frames. Every answer carries the right Kafka
error code and the server keeps serving afterwards."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import plg  # noqa: E402
import kgroup_wire as kw  # noqa: E402

JOIN, SYNC, HEARTBEAT, LEAVE, COMMIT, FETCH, FINDCOORD, DESCRIBE, DELETE = (
    11, 14, 12, 13, 8, 9, 10, 15, 42)
NONE, ILLEGAL_GENERATION, INCONSISTENT, INVALID_GROUP_ID, UNKNOWN_MEMBER = 0, 22, 23, 24, 25
INVALID_SESSION, REBALANCE, INVALID_REQUEST, NON_EMPTY, NOT_FOUND, MEMBER_ID_REQUIRED = (
    26, 27, 42, 68, 69, 79)


def join(c, group, **kw_args):
    return kw.parse_join_v5(c.request(JOIN, 5, kw.join_group_v5(group, **kw_args)))


def expect(what, got, want):
    if got != want:
        raise AssertionError("%s: error %s, expected %s" % (what, got, want))
    print("%-55s -> %s" % (what, got))


def main():
    with plg.TempDir() as tmp, plg.server(os.path.join(tmp, "data")) as srv:
        c = kw.Conn(srv.kafka)
        # FindCoordinator names this node's listener.
        r = kw.Reader(c.request(FINDCOORD, 2, kw.find_coordinator_v2("g1")))
        r.i32()
        expect("FindCoordinator", r.i16(), NONE)
        r.str()
        r.i32()
        assert "%s:%d" % (r.str(), r.i32()) == srv.kafka

        # v4+: the first join gets MEMBER_ID_REQUIRED and an id; the second forms generation 1.
        j = join(c, "g1")
        expect("JoinGroup v5 without member id", j["error"], MEMBER_ID_REQUIRED)
        mid = j["member_id"]
        assert mid, j
        j = join(c, "g1", member_id=mid)
        expect("JoinGroup v5 with the assigned id", j["error"], NONE)
        assert j["generation"] == 1 and j["leader"] == mid and len(j["members"]) == 1, j
        gen = j["generation"]

        expect("JoinGroup empty protocol type",
               join(c, "g2", protocol_type="")["error"], INCONSISTENT)
        expect("JoinGroup no protocols", join(c, "g2", protocols=())["error"], INCONSISTENT)
        expect("JoinGroup unknown protocol type vs consumer group",
               join(c, "g1", protocol_type="no-such-type")["error"], INCONSISTENT)
        expect("JoinGroup no common assignor",
               join(c, "g1", protocols=(("sticky-x", b""),))["error"], INCONSISTENT)
        expect("JoinGroup session timeout 1 ms",
               join(c, "g1", session_ms=1)["error"], INVALID_SESSION)
        expect("JoinGroup session timeout 1 hour",
               join(c, "g1", session_ms=3600 * 1000)["error"], INVALID_SESSION)
        expect("JoinGroup unknown member id",
               join(c, "g1", member_id="ghost")["error"], UNKNOWN_MEMBER)
        expect("JoinGroup empty group id", join(c, "")["error"], INVALID_GROUP_ID)
        expect("JoinGroup 1.5 MiB metadata",
               join(c, "g3", protocols=(("range", b"x" * (1536 * 1024)),))["error"],
               INVALID_REQUEST)

        expect("SyncGroup unknown member", kw.parse_error_after_throttle(
            c.request(SYNC, 3, kw.sync_group_v3("g1", gen, "ghost"))), UNKNOWN_MEMBER)
        expect("SyncGroup stale generation", kw.parse_error_after_throttle(
            c.request(SYNC, 3, kw.sync_group_v3("g1", gen - 1, mid))), ILLEGAL_GENERATION)
        body = c.request(SYNC, 3, kw.sync_group_v3("g1", gen, mid, [(mid, b"\x00\x01abc")]))
        r = kw.Reader(body)
        r.i32()
        expect("SyncGroup by the leader", r.i16(), NONE)
        assert r.bytes() == b"\x00\x01abc"

        def hb(group, g, m):
            return kw.parse_error_after_throttle(
                c.request(HEARTBEAT, 3, kw.heartbeat_v3(group, g, m)))
        expect("Heartbeat", hb("g1", gen, mid), NONE)
        expect("Heartbeat stale generation", hb("g1", gen - 1, mid), ILLEGAL_GENERATION)
        expect("Heartbeat future generation", hb("g1", gen + 5, mid), ILLEGAL_GENERATION)
        expect("Heartbeat unknown member", hb("g1", gen, "ghost"), UNKNOWN_MEMBER)
        expect("Heartbeat unknown group", hb("nope", 1, mid), UNKNOWN_MEMBER)

        def commit(g, m):
            r = kw.Reader(c.request(COMMIT, 7, kw.offset_commit_v7(
                "g1", g, m, "__consumer_offsets", [(0, 0, None)])))
            r.i32()
            assert r.i32() == 1
            r.str()
            assert r.i32() == 1
            r.i32()
            return r.i16()
        # 30,000 unknown topics with 200-byte names in one commit: every partition answered
        # UNKNOWN_TOPIC_OR_PARTITION, nothing stored, the server unharmed.
        many = 30000
        body = (kw.string("simple") + kw.s32(-1) + kw.string("") + kw.string(None) + kw.s32(many) +
                b"".join(kw.string("t%05d" % i + "x" * 194) + kw.s32(1) + kw.s32(0) + kw.s64(1) +
                         kw.s32(-1) + kw.string(None) for i in range(many)))
        r = kw.Reader(c.request(COMMIT, 7, body))
        r.i32()
        assert r.i32() == many
        errs = set()
        for _ in range(many):
            r.str()
            assert r.i32() == 1
            r.i32()
            errs.add(r.i16())
        expect("OffsetCommit of 30,000 unknown topics", errs, {3})
        expect("OffsetCommit stale generation", commit(gen - 1, mid), ILLEGAL_GENERATION)
        expect("OffsetCommit unknown member", commit(gen, "ghost"), UNKNOWN_MEMBER)

        # A second member makes the group rebalance; the first learns it from its heartbeat.
        j2 = join(c, "g1")
        expect("second member: MEMBER_ID_REQUIRED", j2["error"], MEMBER_ID_REQUIRED)
        c2 = kw.Conn(srv.kafka)
        c2.send_raw(kw.frame(JOIN, 5, 99, kw.join_group_v5("g1", member_id=j2["member_id"])))
        # c2's join travels on its own connection: poll until the coordinator has seen it.
        for _ in range(100):
            err = hb("g1", gen, mid)
            if err != NONE:
                break
            time.sleep(0.02)
        expect("Heartbeat during the rebalance", err, REBALANCE)

        r = kw.Reader(c.request(DELETE, 1, kw.delete_groups_v1(["g1", "missing"])))
        r.i32()
        assert r.i32() == 2
        r.str()
        expect("DeleteGroups of a live group", r.i16(), NON_EMPTY)
        r.str()
        expect("DeleteGroups of a missing group", r.i16(), NOT_FOUND)

        # The first member leaves: the parked join of the second completes (it leads now).
        r = kw.Reader(c.request(LEAVE, 3, kw.leave_group_v3("g1", [mid, "ghost"])))
        r.i32()
        expect("LeaveGroup v3 top level", r.i16(), NONE)
        assert r.i32() == 2
        r.str(), r.str()
        expect("LeaveGroup v3 leaving member", r.i16(), NONE)
        r.str(), r.str()
        expect("LeaveGroup v3 unknown member", r.i16(), UNKNOWN_MEMBER)
        resp = c2.read_frame()
        j = kw.parse_join_v5(resp[4:])
        expect("parked JoinGroup answered after the leave", j["error"], NONE)
        assert j["generation"] == gen + 1 and j["leader"] == j2["member_id"], j

        r = kw.Reader(c.request(DESCRIBE, 4, kw.describe_groups_v4(["g1", "missing"])))
        r.i32()
        assert r.i32() == 2
        expect("DescribeGroups live group", r.i16(), NONE)
        assert r.str() == "g1" and r.str() == "CompletingRebalance"
        r.str(), r.str()
        assert r.i32() == 1
        for _ in range(4):
            r.str()
        r.bytes(), r.bytes()
        r.i32()
        expect("DescribeGroups missing group", r.i16(), NONE)
        assert r.str() == "missing" and r.str() == "Dead"

        # Truncated and garbage frames: the connection is dropped, the server keeps serving.
        for junk in (kw.frame(JOIN, 5, 1, kw.join_group_v5("g9"))[:-3] + b"",
                     kw.s32(12) + kw.s16(JOIN) + kw.s16(5) + kw.s32(1) + b"\xff\xff\x00\x07",
                     kw.s32(40) + bytes(range(40))):
            d = kw.Conn(srv.kafka, timeout=5)
            payload = junk[4:]
            d.send_raw(kw.s32(len(payload)) + payload)
            try:
                d.read_frame()
            except (ConnectionError, OSError):
                pass
            d.close()
        expect("Heartbeat after garbage frames", hb("g1", gen + 1, j2["member_id"]), NONE)

        # Shutdown with requests parked in the coordinator: a new member's JoinGroup waits for
        # the current one to re-join; SIGTERM answers it COORDINATOR_NOT_AVAILABLE and exits 0.
        j3 = join(c, "g1")
        expect("third member: MEMBER_ID_REQUIRED", j3["error"], MEMBER_ID_REQUIRED)
        c3 = kw.Conn(srv.kafka)
        c3.send_raw(kw.frame(JOIN, 5, 7, kw.join_group_v5("g1", member_id=j3["member_id"])))
        for _ in range(100):
            err = hb("g1", gen + 1, j2["member_id"])
            if err != NONE:
                break
            time.sleep(0.02)
        expect("Heartbeat once the third member waits", err, REBALANCE)
        rc = srv.stop()
        assert rc == 0, "server exit code %s" % rc
        j = kw.parse_join_v5(c3.read_frame()[4:])
        expect("parked JoinGroup at shutdown", j["error"], 15)
        c.close()
        c2.close()
        c3.close()
    print("ok")


if __name__ == "__main__":
    main()
