/*
 * Consumer-group codecs: hand-built request bytes laid out per Kafka's JSON specs decode to the
 * right fields; every message round-trips at every implemented version (flexible ones too);
 * every truncated prefix of a valid request fails cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/kapi.h"
#include "kafka/kgroups.h"

#define S(z) ((struct kstr){(z), (int32_t)strlen(z)})
#define NULLSTR ((struct kstr){NULL, -1})
#define BY(z) ((struct kbytes){(const uint8_t *)(z), (int32_t)strlen(z)})

static void put_str(struct buf *b, const char *s)
{
    buf_be16(b, (uint16_t)strlen(s));
    buf_put(b, s, strlen(s));
}

static void assert_kstr(struct kstr s, const char *z)
{
    if (!z) {
        assert_int_equal(s.len, -1);
        return;
    }
    assert_int_equal(s.len, strlen(z));
    assert_memory_equal(s.p, z, s.len);
}

/* JoinGroup v5 as librdkafka sends it, built byte by byte from JoinGroupRequest.json. */
static void test_joingroup_v5_bytes(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    put_str(&b, "grp");
    buf_be32(&b, 6000);   /* session_timeout_ms */
    buf_be32(&b, 30000);  /* rebalance_timeout_ms (v1+) */
    put_str(&b, "");      /* member_id */
    buf_be16(&b, 0xffff); /* group_instance_id null (v5+) */
    put_str(&b, "consumer");
    buf_be32(&b, 2);
    put_str(&b, "range");
    buf_be32(&b, 3);
    buf_put(&b, "abc", 3);
    put_str(&b, "roundrobin");
    buf_be32(&b, 0);
    struct karena a;
    karena_init(&a, 0);
    struct kjoingroup_req req;
    struct rd r;
    rd_init(&r, b.data, b.len);
    assert_int_equal(kmsg_decode(&r, &kschema_joingroup_req, 5, false, &a, &req), 0);
    assert_int_equal(rd_left(&r), 0);
    assert_kstr(req.group_id, "grp");
    assert_int_equal(req.session_timeout_ms, 6000);
    assert_int_equal(req.rebalance_timeout_ms, 30000);
    assert_kstr(req.member_id, "");
    assert_kstr(req.group_instance_id, NULL);
    assert_kstr(req.protocol_type, "consumer");
    assert_int_equal(req.nprotocols, 2);
    assert_kstr(req.protocols[0].name, "range");
    assert_int_equal(req.protocols[0].metadata.len, 3);
    assert_kstr(req.protocols[1].name, "roundrobin");
    assert_int_equal(req.protocols[1].metadata.len, 0);

    /* The same bytes as v4 lack group_instance_id, so they no longer parse exactly. */
    rd_init(&r, b.data, b.len);
    struct kjoingroup_req req4;
    int rc = kmsg_decode(&r, &kschema_joingroup_req, 4, false, &a, &req4);
    assert_true(rc != 0 || rd_left(&r) != 0);

    /* Every truncation fails with an error, never a crash or over-read. */
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.data, n);
        rd_init(&r, copy, n);
        assert_true(kmsg_decode(&r, &kschema_joingroup_req, 5, false, &a, &req) < 0);
        free(copy);
    }
    karena_destroy(&a);
    buf_free(&b);
}

/* OffsetCommit v2 carries retention_time_ms; v7 carries group_instance_id and leader epochs. */
static void test_offsetcommit_bytes(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    put_str(&b, "g");
    buf_be32(&b, 3); /* generation */
    put_str(&b, "m-1");
    buf_be64(&b, (uint64_t)-1); /* retention */
    buf_be32(&b, 1);
    put_str(&b, "t");
    buf_be32(&b, 1);
    buf_be32(&b, 4);
    buf_be64(&b, 1234);
    buf_be16(&b, 0xffff); /* null metadata */
    struct karena a;
    karena_init(&a, 0);
    struct koffsetcommit_req req;
    struct rd r;
    rd_init(&r, b.data, b.len);
    assert_int_equal(kmsg_decode(&r, &kschema_offsetcommit_req, 2, false, &a, &req), 0);
    assert_int_equal(rd_left(&r), 0);
    assert_int_equal(req.generation_id, 3);
    assert_kstr(req.member_id, "m-1");
    assert_int_equal(req.retention_time_ms, -1);
    assert_int_equal(req.ntopics, 1);
    assert_int_equal(req.topics[0].partitions[0].partition_index, 4);
    assert_int_equal(req.topics[0].partitions[0].committed_offset, 1234);
    assert_int_equal(req.topics[0].partitions[0].committed_leader_epoch, -1);
    assert_kstr(req.topics[0].partitions[0].committed_metadata, NULL);

    /* v7: no retention, group_instance_id after member_id, epoch after the offset. */
    buf_reset(&b);
    put_str(&b, "g");
    buf_be32(&b, 3);
    put_str(&b, "m-1");
    put_str(&b, "inst");
    buf_be32(&b, 1);
    put_str(&b, "t");
    buf_be32(&b, 1);
    buf_be32(&b, 4);
    buf_be64(&b, 99);
    buf_be32(&b, 7);
    put_str(&b, "md");
    rd_init(&r, b.data, b.len);
    assert_int_equal(kmsg_decode(&r, &kschema_offsetcommit_req, 7, false, &a, &req), 0);
    assert_int_equal(rd_left(&r), 0);
    assert_kstr(req.group_instance_id, "inst");
    assert_int_equal(req.topics[0].partitions[0].committed_leader_epoch, 7);
    assert_kstr(req.topics[0].partitions[0].committed_metadata, "md");
    karena_destroy(&a);
    buf_free(&b);
}

/* Encodes `in` with schema s at version v, decodes it back into `out` and checks it is exact. */
static void roundtrip(const struct kschema *s, int v, bool flex, const void *in, void *out,
                      struct karena *a, struct buf *b)
{
    buf_reset(b);
    kmsg_encode(b, s, v, flex, in, NULL);
    assert_false(b->oom);
    struct rd r;
    rd_init(&r, b->data, b->len);
    assert_int_equal(kmsg_decode(&r, s, v, flex, a, out), 0);
    assert_int_equal(rd_left(&r), 0);
}

static void test_roundtrips(void **state)
{
    (void)state;
    struct karena a;
    karena_init(&a, 0);
    struct buf b;
    buf_init(&b);

    for (int v = 0; v <= 2; v++) {
        struct kfindcoordinator_resp in = {0, 0, v ? NULLSTR : NULLSTR, 0, S("127.0.0.1"), 9092};
        struct kfindcoordinator_resp out;
        roundtrip(&kschema_findcoordinator_resp, v, false, &in, &out, &a, &b);
        assert_kstr(out.host, "127.0.0.1");
        assert_int_equal(out.port, 9092);
        struct kfindcoordinator_req rq = {S("grp"), 0}, rq2;
        roundtrip(&kschema_findcoordinator_req, v, false, &rq, &rq2, &a, &b);
        assert_kstr(rq2.key, "grp");
    }
    for (int v = 0; v <= 5; v++) {
        struct kjoingroup_member ms[] = {{S("m1"), v >= 5 ? S("i1") : NULLSTR, BY("meta")},
                                         {S("m2"), NULLSTR, BY("")}};
        struct kjoingroup_resp in = {0, 0, 4, S("range"), S("m1"), S("m1"), ms, 2};
        struct kjoingroup_resp out;
        roundtrip(&kschema_joingroup_resp, v, false, &in, &out, &a, &b);
        assert_int_equal(out.generation_id, 4);
        assert_int_equal(out.nmembers, 2);
        assert_kstr(out.members[0].member_id, "m1");
        if (v >= 5)
            assert_kstr(out.members[0].group_instance_id, "i1");
        else /* absent before v5: decodes to the empty default */
            assert_true(out.members[0].group_instance_id.len <= 0);
        assert_int_equal(out.members[0].metadata.len, 4);
    }
    for (int v = 0; v <= 3; v++) {
        struct ksyncgroup_assignment as[] = {{S("m1"), BY("xyz")}};
        struct ksyncgroup_req in = {S("g"), 2, S("m1"), NULLSTR, as, 1}, out;
        roundtrip(&kschema_syncgroup_req, v, false, &in, &out, &a, &b);
        assert_int_equal(out.nassignments, 1);
        assert_int_equal(out.assignments[0].assignment.len, 3);
        struct ksyncgroup_resp rs = {0, 0, BY("abc")}, rs2;
        roundtrip(&kschema_syncgroup_resp, v, false, &rs, &rs2, &a, &b);
        assert_int_equal(rs2.assignment.len, 3);
        struct kheartbeat_req h = {S("g"), 2, S("m1"), NULLSTR}, h2;
        roundtrip(&kschema_heartbeat_req, v, false, &h, &h2, &a, &b);
        assert_int_equal(h2.generation_id, 2);
        struct kleavegroup_member lm[] = {{S("m1"), NULLSTR}};
        struct kleavegroup_req l = {S("g"), S("m1"), lm, 1}, l2;
        roundtrip(&kschema_leavegroup_req, v, false, &l, &l2, &a, &b);
        if (v >= 3)
            assert_kstr(l2.members[0].member_id, "m1");
        else
            assert_kstr(l2.member_id, "m1");
    }
    for (int v = 0; v <= 4; v++) {
        bool flex = v >= 3;
        struct klistgroups_group gs[] = {{S("g1"), S("consumer"), S("Stable")}};
        struct klistgroups_resp in = {0, 0, gs, 1}, out;
        roundtrip(&kschema_listgroups_resp, v, flex, &in, &out, &a, &b);
        assert_int_equal(out.ngroups, 1);
        assert_kstr(out.groups[0].group_id, "g1");
        struct kdescribegroups_member dm[] = {
            {S("m1"), NULLSTR, S("c"), S("/127.0.0.1"), BY("md"), BY("as")}};
        struct kdescribegroups_group dg[] = {
            {0, S("g1"), S("Stable"), S("consumer"), S("range"), dm, 1, INT32_MIN}};
        struct kdescribegroups_resp d = {0, dg, 1}, d2;
        roundtrip(&kschema_describegroups_resp, v, false, &d, &d2, &a, &b);
        assert_kstr(d2.groups[0].members[0].client_host, "/127.0.0.1");
        assert_int_equal(d2.groups[0].members[0].member_assignment.len, 2);
    }
    for (int v = 0; v <= 7; v++) {
        bool flex = v >= 6;
        int32_t parts[] = {0, 5};
        struct koffsetfetch_topic ft[] = {{S("t"), parts, 2}};
        struct koffsetfetch_req in = {S("g"), ft, 1, false}, out;
        roundtrip(&kschema_offsetfetch_req, v, flex, &in, &out, &a, &b);
        assert_int_equal(out.topics[0].npartition_indexes, 2);
        assert_int_equal(out.topics[0].partition_indexes[1], 5);
        if (v >= 2) {
            struct koffsetfetch_req all = {S("g"), NULL, -1, false};
            roundtrip(&kschema_offsetfetch_req, v, flex, &all, &out, &a, &b);
            assert_int_equal(out.ntopics, -1);
        }
        struct koffsetfetch_partition fp[] = {{5, 42, -1, NULLSTR, 0}};
        struct koffsetfetch_topic_resp fr[] = {{S("t"), fp, 1}};
        struct koffsetfetch_resp rs = {0, fr, 1, 0}, rs2;
        roundtrip(&kschema_offsetfetch_resp, v, flex, &rs, &rs2, &a, &b);
        assert_int_equal(rs2.topics[0].partitions[0].committed_offset, 42);

        struct koffsetcommit_partition cp[] = {{1, 77, -1, -1, S("meta")}};
        struct koffsetcommit_topic ct[] = {{S("t"), cp, 1}};
        struct koffsetcommit_req c = {S("g"), 1, S("m"), NULLSTR, -1, ct, 1}, c2;
        roundtrip(&kschema_offsetcommit_req, v, false, &c, &c2, &a, &b);
        assert_int_equal(c2.topics[0].partitions[0].committed_offset, 77);
        struct kgroup_partition_error pe[] = {{1, 0}};
        struct kgroup_topic_errors te[] = {{S("t"), pe, 1}};
        struct koffsetcommit_resp cr = {0, te, 1}, cr2;
        roundtrip(&kschema_offsetcommit_resp, v, false, &cr, &cr2, &a, &b);
        assert_int_equal(cr2.topics[0].npartitions, 1);
    }
    for (int v = 0; v <= 1; v++) {
        struct kstr names[] = {S("g1"), S("g2")};
        struct kdeletegroups_req in = {names, 2}, out;
        roundtrip(&kschema_deletegroups_req, v, false, &in, &out, &a, &b);
        assert_kstr(out.groups_names[1], "g2");
        struct kdeletegroups_result res[] = {{S("g1"), 69}};
        struct kdeletegroups_resp rs = {0, res, 1}, rs2;
        roundtrip(&kschema_deletegroups_resp, v, false, &rs, &rs2, &a, &b);
        assert_int_equal(rs2.results[0].error_code, 69);
    }
    int32_t dp[] = {3};
    struct koffsetdelete_topic dt[] = {{S("t"), dp, 1}};
    struct koffsetdelete_req od = {S("g"), dt, 1}, od2;
    roundtrip(&kschema_offsetdelete_req, 0, false, &od, &od2, &a, &b);
    assert_int_equal(od2.topics[0].partitions[0], 3);
    karena_destroy(&a);
    buf_free(&b);
}

/* A flexible OffsetFetch v7 request as bytes: compact strings, tag sections, require_stable. */
static void test_offsetfetch_v7_bytes(void **state)
{
    (void)state;
    const uint8_t req[] = {
        0x02, 'g',                      /* group_id "g" (compact: len+1) */
        0x02,                           /* 1 topic */
        0x02, 't', 0x03, 0, 0,    0, 0, /* "t", 2 partitions: 0 */
        0,    0,   0,    1, 0x00,       /* 1, topic tags */
        0x01,                           /* require_stable */
        0x00,                           /* request tags */
    };
    struct karena a;
    karena_init(&a, 0);
    struct koffsetfetch_req out;
    struct rd r;
    rd_init(&r, req, sizeof req);
    assert_int_equal(kmsg_decode(&r, &kschema_offsetfetch_req, 7, true, &a, &out), 0);
    assert_int_equal(rd_left(&r), 0);
    assert_kstr(out.group_id, "g");
    assert_int_equal(out.ntopics, 1);
    assert_int_equal(out.topics[0].npartition_indexes, 2);
    assert_int_equal(out.topics[0].partition_indexes[1], 1);
    assert_true(out.require_stable);
    karena_destroy(&a);
}

/*
 * Whole frames as librdkafka 2.0.2 sends them: ListGroups v4 with one trailing zero byte and
 * OffsetFetch v7 "all topics" with three (an unfinalised 4-byte array count). Up to 4 trailing
 * zero bytes after a flexible body are accepted; a non-zero byte or padding after a classic
 * (non-flexible) body is still corrupt.
 */
static void test_librdkafka_padding(void **state)
{
    (void)state;
    /* header v2: api 16 v4, corr 3, client "rdkafka", no tags; body: empty filter, no tags */
    uint8_t lg[] = {0, 16, 0, 4, 0, 0, 0, 3, 0, 7, 'r', 'd', 'k', 'a', 'f', 'k', 'a', 0, 1, 0, 0};
    uint8_t of[] = {0,   9,   0,   7, 0, 0,   0,   4, 0, 7, 'r', 'd', 'k', 'a',
                    'f', 'k', 'a', 0, 3, 'g', 'X', 0, 0, 0, 0,   0,   0};
    struct karena a;
    struct kreq r;
    karena_init(&a, 0);
    assert_int_equal(kafka_request_decode(lg, sizeof lg, &a, &r), 0);
    assert_int_equal(((struct klistgroups_req *)r.body)->nstates_filter, 0);
    assert_int_equal(kafka_request_decode(of, sizeof of, &a, &r), 0);
    assert_int_equal(((struct koffsetfetch_req *)r.body)->ntopics, -1);
    lg[sizeof lg - 1] = 1;
    assert_int_equal(kafka_request_decode(lg, sizeof lg, &a, &r), PLG_ECORRUPT);
    /* Heartbeat v3 (classic) with a trailing zero byte. */
    uint8_t hb[] = {0,   12, 0, 3, 0, 0, 0, 1,   0xff, 0xff, 0, 1,
                    'g', 0,  0, 0, 1, 0, 1, 'm', 0xff, 0xff, 0};
    assert_int_equal(kafka_request_decode(hb, sizeof hb, &a, &r), PLG_ECORRUPT);
    assert_int_equal(kafka_request_decode(hb, sizeof hb - 1, &a, &r), 0);
    karena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joingroup_v5_bytes), cmocka_unit_test(test_offsetcommit_bytes),
        cmocka_unit_test(test_roundtrips),         cmocka_unit_test(test_offsetfetch_v7_bytes),
        cmocka_unit_test(test_librdkafka_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
