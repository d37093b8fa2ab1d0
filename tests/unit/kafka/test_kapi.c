/*
 * Whole requests and responses: header v1/v2, every implemented API at every supported version
 * (encode -> decode -> re-encode round trips with field checks), response layouts checked byte
 * by byte, the ApiVersions unsupported-version answer, and malformed frames.
 */
#include "ktest.h"

static void test_header_v1_v2(void **state)
{
    (void)state;
    /* Metadata v1 (header v1): key 3, version 1, correlation 7, client "ab", topics null. */
    const uint8_t v1[] = {0, 3, 0, 1, 0, 0, 0, 7, 0, 2, 'a', 'b', 0xff, 0xff, 0xff, 0xff};
    struct karena a;
    karena_init(&a, 0);
    struct kreq r;
    assert_int_equal(kafka_request_decode(v1, sizeof v1, &a, &r), 0);
    assert_int_equal(r.hdr.api_key, 3);
    assert_int_equal(r.hdr.api_version, 1);
    assert_int_equal(r.hdr.correlation_id, 7);
    assert_true(kstr_eq(r.hdr.client_id, "ab"));
    assert_false(r.flex);
    const struct kmetadata_req *m = r.body;
    assert_int_equal(m->ntopics, -1);
    assert_true(m->allow_auto_topic_creation); /* default before v4 */
    /*
     * Metadata v9 (header v2): client_id stays an INT16 string, then a tag section (one unknown
     * tag, skipped), then the compact body: topics [ "x" ], auto-create false, include-topic-ops
     * true, body tags.
     */
    const uint8_t v2[] = {0, 3, 0,    9, 0, 0,   0, 8, 0, 1, 'c', 1,
                          3, 1, 0xee, 2, 2, 'x', 0, 0, 0, 1, 0};
    assert_int_equal(kafka_request_decode(v2, sizeof v2, &a, &r), 0);
    assert_true(r.flex);
    assert_true(kstr_eq(r.hdr.client_id, "c"));
    m = r.body;
    assert_int_equal(m->ntopics, 1);
    assert_true(kstr_eq(m->topics[0].name, "x"));
    assert_false(m->allow_auto_topic_creation);
    assert_false(m->include_cluster_authorized_operations);
    assert_true(m->include_topic_authorized_operations);
    /* Trailing garbage after a complete body. */
    uint8_t v1x[sizeof v1 + 1];
    memcpy(v1x, v1, sizeof v1);
    v1x[sizeof v1] = 0;
    assert_int_equal(kafka_request_decode(v1x, sizeof v1x, &a, &r), PLG_ECORRUPT);
    /* Null client id is fine. */
    const uint8_t nc[] = {0, 3, 0, 1, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(kafka_request_decode(nc, sizeof nc, &a, &r), 0);
    assert_int_equal(r.hdr.client_id.len, -1);
    karena_destroy(&a);
}

static void test_unknown_key_and_version(void **state)
{
    (void)state;
    struct karena a;
    karena_init(&a, 0);
    struct kreq r;
    const uint8_t unk[] = {0, 99, 0, 0, 0, 0, 0, 5, 0xff, 0xff};
    assert_int_equal(kafka_request_decode(unk, sizeof unk, &a, &r), PLG_EUNSUPP);
    assert_true(r.hdr_ok);
    assert_null(r.api);
    assert_int_equal(r.hdr.correlation_id, 5);
    /* ApiVersions v9: header read, version refused. */
    const uint8_t av[] = {0, 18, 0, 9, 0, 0, 0, 6, 0xff, 0xff, 0};
    assert_int_equal(kafka_request_decode(av, sizeof av, &a, &r), PLG_EUNSUPP);
    assert_true(r.hdr_ok);
    assert_non_null(r.api);
    assert_int_equal(r.hdr.correlation_id, 6);
    /* Produce v2 (magic 1 era) is below our minimum. */
    const uint8_t p2[] = {0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff};
    assert_int_equal(kafka_request_decode(p2, sizeof p2, &a, &r), PLG_EUNSUPP);
    /* Too short for a header. */
    assert_int_equal(kafka_request_decode(unk, 7, &a, &r), PLG_ETRUNC);
    assert_false(r.hdr_ok);
    assert_int_equal(kafka_request_decode(unk, 0, &a, &r), PLG_ETRUNC);
    karena_destroy(&a);
}

static void test_apiversions_requests(void **state)
{
    struct fx *x = *state;
    struct kapiversions_req q = {S("librdkafka"), S("2.0.2")};
    for (int16_t v = 0; v <= 3; v++) {
        const struct kapiversions_req *d = rt(x, KAPI_API_VERSIONS, v, &q);
        if (v >= 3) {
            assert_true(kstr_eq(d->client_software_name, "librdkafka"));
            assert_true(kstr_eq(d->client_software_version, "2.0.2"));
        } else {
            assert_int_equal(x->f.len, 4 + 8 + 2 + 5); /* header only ("admin") */
        }
    }
}

static void test_apiversions_response_layout(void **state)
{
    (void)state;
    struct kapiversions_key keys[64];
    size_t n = kafka_apiversions_list(keys, 64);
    assert_true(n >= 12 && n <= 64);
    struct kapiversions_resp resp = {0, keys, (int32_t)n, 0};
    for (int16_t v = 0; v <= 3; v++) {
        struct buf b;
        buf_init(&b);
        struct kreq_hdr h = {KAPI_API_VERSIONS, v, 77, S("x")};
        assert_int_equal(kafka_response_encode(&b, &h, &resp, NULL, NULL), 0);
        struct rd r;
        rd_init(&r, b.data, b.len);
        int32_t size, corr, cnt, thr;
        int16_t err, k, lo, hi;
        kr_i32(&r, &size);
        assert_int_equal(size, b.len - 4);
        kr_i32(&r, &corr);
        assert_int_equal(corr, 77);
        /* Response header v0 even for v3: the error code follows the correlation id. */
        kr_i16(&r, &err);
        assert_int_equal(err, 0);
        assert_int_equal(kr_array(&r, v >= 3, false, 6, &cnt), 0);
        assert_int_equal(cnt, (int32_t)n);
        bool seen_produce = false, seen_av = false;
        for (int32_t i = 0; i < cnt; i++) {
            kr_i16(&r, &k);
            kr_i16(&r, &lo);
            kr_i16(&r, &hi);
            assert_int_equal(kr_skip_tags(&r, v >= 3), 0);
            assert_true(lo <= hi);
            if (k == KAPI_PRODUCE) {
                seen_produce = true;
                assert_int_equal(lo, 3);
                assert_int_equal(hi, 9);
            }
            if (k == KAPI_API_VERSIONS) {
                seen_av = true;
                assert_int_equal(lo, 0);
                assert_int_equal(hi, 3);
            }
        }
        assert_true(seen_produce && seen_av);
        if (v >= 1) {
            kr_i32(&r, &thr);
            assert_int_equal(thr, 0);
        }
        assert_int_equal(kr_skip_tags(&r, v >= 3), 0);
        assert_int_equal(rd_left(&r), 0);
        buf_free(&b);
    }
}

static void test_apiversions_unsupported(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_u8(&b, 0xAB); /* something already queued on the connection */
    assert_int_equal(kafka_apiversions_unsupported(&b, 31337), 0);
    struct rd r;
    rd_init(&r, b.data + 1, b.len - 1);
    int32_t size, corr, cnt;
    int16_t err;
    kr_i32(&r, &size);
    assert_int_equal(size, b.len - 5);
    kr_i32(&r, &corr);
    assert_int_equal(corr, 31337);
    kr_i16(&r, &err);
    assert_int_equal(err, KERR_UNSUPPORTED_VERSION);
    kr_i32(&r, &cnt); /* classic INT32 array: the v0 layout */
    size_t n;
    kapi_table(&n);
    assert_int_equal(cnt, (int32_t)n);
    assert_int_equal(rd_left(&r), (size_t)cnt * 6); /* v0: no throttle time, no tags */
    buf_free(&b);
}

static void fill_metadata_resp(struct kmetadata_resp *m, struct kmetadata_broker *br,
                               struct kmetadata_topic *t, struct kmetadata_partition *p,
                               int32_t *reps)
{
    memset(m, 0, sizeof *m);
    br->node_id = 0;
    br->host = S("127.0.0.1");
    br->port = 9092;
    br->rack = S(NULL);
    reps[0] = 0;
    for (int i = 0; i < 2; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].partition_index = i;
        p[i].leader_id = 0;
        p[i].leader_epoch = 3;
        p[i].replica_nodes = reps;
        p[i].nreplica_nodes = 1;
        p[i].isr_nodes = reps;
        p[i].nisr_nodes = 1;
    }
    memset(t, 0, sizeof *t);
    t->name = S("events");
    t->partitions = p;
    t->npartitions = 2;
    t->topic_authorized_operations = INT32_MIN;
    m->brokers = br;
    m->nbrokers = 1;
    m->cluster_id = S("pyralog");
    m->controller_id = 0;
    m->topics = t;
    m->ntopics = 1;
    m->cluster_authorized_operations = INT32_MIN;
}

static void test_metadata_response_layout(void **state)
{
    (void)state;
    struct kmetadata_resp m;
    struct kmetadata_broker br;
    struct kmetadata_topic t;
    struct kmetadata_partition p[2];
    int32_t reps[1];
    fill_metadata_resp(&m, &br, &t, p, reps);
    /* v1 by hand: header v0, brokers [node, host, port, rack], controller, topics. */
    struct buf b;
    buf_init(&b);
    struct kreq_hdr h = {KAPI_METADATA, 1, 9, S("c")};
    assert_int_equal(kafka_response_encode(&b, &h, &m, NULL, NULL), 0);
    struct rd r;
    rd_init(&r, b.data + 4, b.len - 4);
    int32_t i32, n;
    int16_t i16;
    bool bo;
    struct kstr s;
    kr_i32(&r, &i32);
    assert_int_equal(i32, 9);
    kr_i32(&r, &n);
    assert_int_equal(n, 1);
    kr_i32(&r, &i32);
    assert_int_equal(i32, 0);
    kr_str(&r, false, false, &s);
    assert_true(kstr_eq(s, "127.0.0.1"));
    kr_i32(&r, &i32);
    assert_int_equal(i32, 9092);
    kr_str(&r, false, true, &s);
    assert_int_equal(s.len, -1);
    kr_i32(&r, &i32); /* controller id; no cluster id before v2 */
    assert_int_equal(i32, 0);
    kr_i32(&r, &n);
    assert_int_equal(n, 1);
    kr_i16(&r, &i16);
    assert_int_equal(i16, 0);
    kr_str(&r, false, false, &s);
    assert_true(kstr_eq(s, "events"));
    kr_bool(&r, &bo);
    assert_false(bo);
    kr_i32(&r, &n);
    assert_int_equal(n, 2);
    for (int i = 0; i < 2; i++) {
        kr_i16(&r, &i16);
        assert_int_equal(i16, 0);
        kr_i32(&r, &i32);
        assert_int_equal(i32, i);
        kr_i32(&r, &i32); /* leader; no epoch before v7 */
        assert_int_equal(i32, 0);
        for (int arr = 0; arr < 2; arr++) {
            kr_i32(&r, &n);
            assert_int_equal(n, 1);
            kr_i32(&r, &i32);
            assert_int_equal(i32, 0);
        }
    }
    assert_int_equal(rd_left(&r), 0);

    /* Every version decodes back to the same values through the response schema. */
    for (int v = 1; v <= 12; v++) {
        bool flex = v >= 9;
        buf_reset(&b);
        h.api_version = (int16_t)v;
        assert_int_equal(kafka_response_encode(&b, &h, &m, NULL, NULL), 0);
        rd_init(&r, b.data + 8, b.len - 8);
        assert_int_equal(kr_skip_tags(&r, flex), 0); /* response header v1 from v9 */
        struct karena a;
        karena_init(&a, 0);
        struct kmetadata_resp d;
        assert_int_equal(kmsg_decode(&r, &kschema_metadata_resp, v, flex, &a, &d), 0);
        assert_int_equal(rd_left(&r), 0);
        assert_int_equal(d.nbrokers, 1);
        assert_true(kstr_eq(d.brokers[0].host, "127.0.0.1"));
        assert_int_equal(d.brokers[0].port, 9092);
        assert_int_equal(d.ntopics, 1);
        assert_true(kstr_eq(d.topics[0].name, "events"));
        assert_int_equal(d.topics[0].npartitions, 2);
        assert_int_equal(d.topics[0].partitions[1].partition_index, 1);
        assert_int_equal(d.topics[0].partitions[1].leader_epoch, v >= 7 ? 3 : -1);
        assert_int_equal(d.topics[0].partitions[1].nisr_nodes, 1);
        assert_int_equal(d.topics[0].partitions[1].noffline_replicas, 0);
        if (v >= 2)
            assert_true(kstr_eq(d.cluster_id, "pyralog"));
        else
            assert_int_equal(d.cluster_id.len, -1);
        karena_destroy(&a);
    }
    buf_free(&b);
}

static void test_metadata_requests(void **state)
{
    struct fx *x = *state;
    struct kmetadata_req_topic topics[2] = {{.name = S("a")}, {.name = S("bb")}};
    topics[1].topic_id.b[3] = 9;
    struct kmetadata_req q = {topics, 2, false, true, true};
    for (int16_t v = 1; v <= 12; v++) {
        const struct kmetadata_req *d = rt(x, KAPI_METADATA, v, &q);
        assert_int_equal(d->ntopics, 2);
        assert_true(kstr_eq(d->topics[1].name, "bb"));
        assert_int_equal(d->topics[1].topic_id.b[3], v >= 10 ? 9 : 0);
        assert_int_equal(d->allow_auto_topic_creation, v >= 4 ? false : true);
        assert_int_equal(d->include_cluster_authorized_operations, v >= 8 && v <= 10);
        assert_int_equal(d->include_topic_authorized_operations, v >= 8);
    }
    /* All topics: a null array (every version from 1). */
    struct kmetadata_req all = {NULL, -1, true, false, false};
    for (int16_t v = 1; v <= 12; v++) {
        const struct kmetadata_req *d = rt(x, KAPI_METADATA, v, &all);
        assert_int_equal(d->ntopics, -1);
    }
}

static void test_produce_requests(void **state)
{
    struct fx *x = *state;
    uint8_t batch[61 + 10];
    for (size_t i = 0; i < sizeof batch; i++)
        batch[i] = (uint8_t)i;
    struct kproduce_partition parts[2] = {{0, {batch, sizeof batch, NULL}}, {2, {NULL, -1, NULL}}};
    struct kproduce_topic t = {S("events"), parts, 2};
    struct kproduce_req q = {S(NULL), -1, 30000, &t, 1};
    for (int16_t v = 3; v <= 9; v++) {
        const struct kproduce_req *d = rt(x, KAPI_PRODUCE, v, &q);
        assert_int_equal(d->transactional_id.len, -1);
        assert_int_equal(d->acks, -1);
        assert_int_equal(d->timeout_ms, 30000);
        assert_int_equal(d->ntopics, 1);
        assert_true(kstr_eq(d->topics[0].name, "events"));
        assert_int_equal(d->topics[0].npartitions, 2);
        const struct krecords *rec = &d->topics[0].partitions[0].records;
        assert_int_equal(rec->len, sizeof batch);
        assert_memory_equal(rec->p, batch, sizeof batch);
        /* The records are a view into the frame, not a copy. */
        assert_true(rec->p > x->f.data && rec->p + rec->len <= x->f.data + x->f.len);
        assert_int_equal(d->topics[0].partitions[1].index, 2);
        assert_int_equal(d->topics[0].partitions[1].records.len, -1);
    }
}

static void test_produce_response_layout(void **state)
{
    (void)state;
    struct kproduce_record_error re = {0, S("bad crc")};
    struct kproduce_partition_resp pr = {1, KERR_CORRUPT_MESSAGE, -1, -1, 0, &re, 1, S("x")};
    struct kproduce_topic_resp tr = {S("t"), &pr, 1};
    struct kproduce_resp resp = {&tr, 1, 5};
    for (int16_t v = 3; v <= 9; v++) {
        bool flex = v >= 9;
        struct buf b;
        buf_init(&b);
        struct kreq_hdr h = {KAPI_PRODUCE, v, 1, S("c")};
        assert_int_equal(kafka_response_encode(&b, &h, &resp, NULL, NULL), 0);
        struct rd r;
        rd_init(&r, b.data + 8, b.len - 8);
        assert_int_equal(kr_skip_tags(&r, flex), 0);
        int32_t n, i32;
        int16_t i16;
        int64_t i64;
        struct kstr s;
        kr_array(&r, flex, false, 1, &n);
        assert_int_equal(n, 1);
        kr_str(&r, flex, false, &s);
        assert_true(kstr_eq(s, "t"));
        kr_array(&r, flex, false, 1, &n);
        assert_int_equal(n, 1);
        kr_i32(&r, &i32);
        assert_int_equal(i32, 1);
        kr_i16(&r, &i16);
        assert_int_equal(i16, KERR_CORRUPT_MESSAGE);
        kr_i64(&r, &i64);
        assert_true(i64 == -1);
        kr_i64(&r, &i64); /* log_append_time (v2+) */
        assert_true(i64 == -1);
        if (v >= 5) {
            kr_i64(&r, &i64);
            assert_true(i64 == 0);
        }
        if (v >= 8) {
            kr_array(&r, flex, false, 1, &n);
            assert_int_equal(n, 1);
            kr_i32(&r, &i32);
            assert_int_equal(i32, 0);
            kr_str(&r, flex, true, &s);
            assert_true(kstr_eq(s, "bad crc"));
            assert_int_equal(kr_skip_tags(&r, flex), 0);
            kr_str(&r, flex, true, &s);
            assert_true(kstr_eq(s, "x"));
        }
        assert_int_equal(kr_skip_tags(&r, flex), 0); /* partition */
        assert_int_equal(kr_skip_tags(&r, flex), 0); /* topic */
        kr_i32(&r, &i32);
        assert_int_equal(i32, 5);
        assert_int_equal(kr_skip_tags(&r, flex), 0);
        assert_int_equal(rd_left(&r), 0);
        buf_free(&b);
    }
}

static void test_fetch_requests(void **state)
{
    struct fx *x = *state;
    struct kfetch_partition fp[2] = {{0, 4, 100, 2, 7, 1048576}, {1, 4, 0, 2, 7, 65536}};
    struct kfetch_topic ft = {S("events"), fp, 2};
    int32_t forget[1] = {5};
    struct kfetch_forgotten fg = {S("old"), forget, 1};
    struct kfetch_req q = {S("cid"), -1, 500, 1, 52428800, 1, 0, 0, &ft, 1, &fg, 1, S("rack-a")};
    for (int16_t v = 4; v <= 12; v++) {
        const struct kfetch_req *d = rt(x, KAPI_FETCH, v, &q);
        assert_int_equal(d->replica_id, -1);
        assert_int_equal(d->max_wait_ms, 500);
        assert_int_equal(d->min_bytes, 1);
        assert_int_equal(d->max_bytes, 52428800);
        assert_int_equal(d->isolation_level, 1);
        assert_int_equal(d->session_epoch, v >= 7 ? 0 : -1);
        assert_int_equal(d->ntopics, 1);
        const struct kfetch_partition *p = &d->topics[0].partitions[0];
        assert_true(p->fetch_offset == 100);
        assert_int_equal(p->partition_max_bytes, 1048576);
        assert_int_equal(p->current_leader_epoch, v >= 9 ? 4 : -1);
        assert_int_equal(p->last_fetched_epoch, v >= 12 ? 2 : -1);
        assert_true(p->log_start_offset == (v >= 5 ? 7 : -1));
        assert_int_equal(d->nforgotten_topics_data, v >= 7 ? 1 : 0);
        if (v >= 7)
            assert_int_equal(d->forgotten_topics_data[0].partitions[0], 5);
        if (v >= 11)
            assert_true(kstr_eq(d->rack_id, "rack-a"));
        /* The cluster id is a tagged field (tag 0) from v12. */
        if (v >= 12)
            assert_true(kstr_eq(d->cluster_id, "cid"));
        else
            assert_int_equal(d->cluster_id.len, -1);
    }
}

struct ext_seen {
    size_t at[4];
    const void *src[4];
    int n;
};

static void on_ext(void *ctx, size_t at, const struct krecords *rec)
{
    struct ext_seen *e = ctx;
    e->at[e->n] = at;
    e->src[e->n] = rec->ext;
    e->n++;
}

static void test_fetch_response_layout_and_ext(void **state)
{
    (void)state;
    uint8_t data[100];
    memset(data, 0x5a, sizeof data);
    struct kfetch_aborted ab = {77, 10};
    struct kfetch_partition_resp pr[2] = {
        {0, 0, 500, 500, 0, &ab, 1, -1, {data, sizeof data, NULL}},
        {1, 0, 300, 300, 0, NULL, -1, -1, {NULL, 250, "file"}},
    };
    struct kfetch_topic_resp tr = {S("events"), pr, 2};
    struct kfetch_resp resp = {0, 0, 0, &tr, 1};
    for (int16_t v = 4; v <= 12; v++) {
        bool flex = v >= 12;
        struct buf b;
        buf_init(&b);
        struct ext_seen seen = {{0}, {0}, 0};
        struct kw_hooks hooks = {on_ext, &seen};
        size_t ext = 0;
        struct kreq_hdr h = {KAPI_FETCH, v, 3, S("c")};
        assert_int_equal(kafka_response_encode(&b, &h, &resp, &hooks, &ext), 0);
        assert_int_equal(ext, 250);
        assert_int_equal(seen.n, 1);
        assert_string_equal(seen.src[0], "file");
        /* The frame size counts the bytes the server will splice in. */
        assert_int_equal(be32_get(b.data), b.len - 4 + 250);
        /* The external records are the last thing in this response. */
        assert_int_equal(seen.at[0], b.len - (flex ? 3 : 0));
        struct rd r;
        rd_init(&r, b.data + 8, b.len - 8);
        assert_int_equal(kr_skip_tags(&r, flex), 0);
        int32_t i32, n;
        int16_t i16;
        int64_t i64;
        struct kstr s;
        kr_i32(&r, &i32); /* throttle */
        if (v >= 7) {
            kr_i16(&r, &i16);
            assert_int_equal(i16, 0);
            kr_i32(&r, &i32); /* session id 0: no fetch sessions */
            assert_int_equal(i32, 0);
        }
        kr_array(&r, flex, false, 1, &n);
        assert_int_equal(n, 1);
        kr_str(&r, flex, false, &s);
        assert_true(kstr_eq(s, "events"));
        kr_array(&r, flex, false, 1, &n);
        assert_int_equal(n, 2);
        kr_i32(&r, &i32);
        assert_int_equal(i32, 0);
        kr_i16(&r, &i16);
        kr_i64(&r, &i64);
        assert_true(i64 == 500);
        kr_i64(&r, &i64); /* last stable offset */
        assert_true(i64 == 500);
        if (v >= 5)
            kr_i64(&r, &i64);
        kr_array(&r, flex, true, 1, &n);
        assert_int_equal(n, 1);
        kr_i64(&r, &i64);
        assert_true(i64 == 77);
        kr_i64(&r, &i64);
        assert_true(i64 == 10);
        assert_int_equal(kr_skip_tags(&r, flex), 0);
        if (v >= 11) {
            kr_i32(&r, &i32);
            assert_int_equal(i32, -1);
        }
        struct kbytes rec;
        assert_int_equal(kr_bytes(&r, flex, true, &rec), 0);
        assert_int_equal(rec.len, 100);
        assert_memory_equal(rec.p, data, 100);
        buf_free(&b);
    }
}

static void test_listoffsets(void **state)
{
    struct fx *x = *state;
    struct klistoffsets_partition lp[2] = {{0, 5, -2, 1}, {1, 5, 1700000000000, 1}};
    struct klistoffsets_topic lt = {S("events"), lp, 2};
    struct klistoffsets_req q = {-1, 1, &lt, 1};
    for (int16_t v = 1; v <= 7; v++) {
        const struct klistoffsets_req *d = rt(x, KAPI_LIST_OFFSETS, v, &q);
        assert_int_equal(d->replica_id, -1);
        assert_int_equal(d->isolation_level, v >= 2 ? 1 : 0);
        assert_true(d->topics[0].partitions[0].timestamp == -2);
        assert_true(d->topics[0].partitions[1].timestamp == 1700000000000);
        assert_int_equal(d->topics[0].partitions[1].current_leader_epoch, v >= 4 ? 5 : -1);
    }
    /* Response v1: partition, error, timestamp, offset; v4+ adds leader epoch. */
    struct klistoffsets_partition_resp pr = {0, 0, NULL, 0, -1, 42, 0};
    struct klistoffsets_topic_resp tr = {S("events"), &pr, 1};
    struct klistoffsets_resp resp = {0, &tr, 1};
    for (int16_t v = 1; v <= 7; v++) {
        bool flex = v >= 6;
        struct buf b;
        buf_init(&b);
        struct kreq_hdr h = {KAPI_LIST_OFFSETS, v, 3, S("c")};
        assert_int_equal(kafka_response_encode(&b, &h, &resp, NULL, NULL), 0);
        struct rd rr;
        rd_init(&rr, b.data + 8, b.len - 8);
        assert_int_equal(kr_skip_tags(&rr, flex), 0);
        struct karena a2;
        karena_init(&a2, 0);
        struct klistoffsets_resp d;
        assert_int_equal(kmsg_decode(&rr, &kschema_listoffsets_resp, v, flex, &a2, &d), 0);
        assert_int_equal(rd_left(&rr), 0);
        assert_true(d.topics[0].partitions[0].offset == 42);
        assert_true(d.topics[0].partitions[0].timestamp == -1);
        size_t expect = 4 + 4 + (flex ? 1 : 0) + (v >= 2 ? 4 : 0) + (flex ? 1 : 4) +
                        (flex ? 1 : 2) + 6 + (flex ? 1 : 4) + 4 + 2 + 8 + 8 + (v >= 4 ? 4 : 0) +
                        (flex ? 3 : 0);
        assert_int_equal(b.len, expect);
        karena_destroy(&a2);
        buf_free(&b);
    }
}

static void test_malformed_counts(void **state)
{
    (void)state;
    struct karena a;
    karena_init(&a, 0);
    struct kreq r;
    /* Produce v3 claiming 0x7fffffff topics in a few bytes: refused before any allocation. */
    const uint8_t big[] = {0, 0, 0, 3, 0, 0, 0,    1,    0xff, 0xff, 0xff, 0xff,
                           0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0,    0};
    assert_int_equal(kafka_request_decode(big, sizeof big, &a, &r), PLG_ETOOBIG);
    assert_int_equal(a.used, 16 + ((sizeof(struct kproduce_req) + 15) & ~15u) - 16);
    /* Negative topic count (-2). */
    uint8_t neg[sizeof big];
    memcpy(neg, big, sizeof big);
    neg[18] = 0xff;
    neg[19] = 0xff;
    neg[20] = 0xff;
    neg[21] = 0xfe;
    assert_int_equal(kafka_request_decode(neg, sizeof neg, &a, &r), PLG_ECORRUPT);
    /* A null topic array where it is not nullable. */
    neg[21] = 0xff;
    assert_int_equal(kafka_request_decode(neg, sizeof neg, &a, &r), PLG_ECORRUPT);
    /* Records length beyond the frame. */
    const uint8_t rec[] = {0, 0, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0,
                           1, 0, 0, 0, 0, 0, 0, 0, 1,    0,    1,    't',  0,
                           0, 0, 1, 0, 0, 0, 0, 0, 0,    0,    50,   1,    2};
    assert_int_equal(kafka_request_decode(rec, sizeof rec, &a, &r), PLG_ETRUNC);
    /* Arena cap: a small arena refuses a request that needs more. */
    struct karena tiny;
    karena_init(&tiny, 64);
    struct kmetadata_req_topic topics[8];
    memset(topics, 0, sizeof topics);
    for (int i = 0; i < 8; i++)
        topics[i].name = S("t");
    struct kmetadata_req q = {topics, 8, true, false, false};
    struct buf f;
    buf_init(&f);
    struct kreq_hdr h = {KAPI_METADATA, 4, 1, S(NULL)};
    assert_int_equal(kafka_request_encode(&f, &h, &q), 0);
    assert_int_equal(kafka_request_decode(f.data + 4, f.len - 4, &tiny, &r), PLG_ETOOBIG);
    karena_destroy(&tiny);
    buf_free(&f);
    karena_destroy(&a);
}

static void test_malformed_flexible(void **state)
{
    (void)state;
    struct karena a;
    karena_init(&a, 0);
    struct kreq r;
    /* Fetch v12 header (key 1, v12, corr 1, client null, no header tags) then a body whose tag
     * section holds ClusterId (tag 0) = compact string "ab". */
    const uint8_t ok[] = {0, 1, 0,    12,   0,    0,    0, 1, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff,
                          0, 0, 0,    100,  0,    0,    0, 1, 0,    0,    0, 10,   0,    0,    0,
                          0, 0, 0xff, 0xff, 0xff, 0xff, 1, 1, 1,    1,    0, 3,    3,    'a',  'b'};
    assert_int_equal(kafka_request_decode(ok, sizeof ok, &a, &r), 0);
    const struct kfetch_req *f = r.body;
    assert_true(kstr_eq(f->cluster_id, "ab"));
    assert_int_equal(f->ntopics, 0);
    assert_int_equal(f->max_bytes, 10);
    uint8_t bad[sizeof ok];
    /* The tag's declared size (4) runs past the frame, or leaves a byte the string does not use. */
    memcpy(bad, ok, sizeof ok);
    bad[sizeof ok - 4] = 4;
    assert_int_equal(kafka_request_decode(bad, sizeof ok, &a, &r), PLG_ETRUNC);
    uint8_t extra[sizeof ok + 1];
    memcpy(extra, ok, sizeof ok);
    extra[sizeof ok - 4] = 4;
    extra[sizeof ok] = 'z';
    assert_int_equal(kafka_request_decode(extra, sizeof extra, &a, &r), PLG_ECORRUPT);
    /* A string inside the tag longer than the tag. */
    memcpy(bad, ok, sizeof ok);
    bad[sizeof ok - 3] = 9;
    assert_int_equal(kafka_request_decode(bad, sizeof ok, &a, &r), PLG_ETRUNC);
    /* Two tags out of order (1 then 0) are corrupt; unknown tags in order are skipped. */
    const uint8_t two[] = {
        0, 1, 0, 12, 0,  0, 0, 1, 0xff, 0xff, 0,    0xff, 0xff, 0xff, 0xff, 0, 0, 0, 100, 0, 0, 0,
        1, 0, 0, 0,  10, 0, 0, 0, 0,    0,    0xff, 0xff, 0xff, 0xff, 1,    1, 1, 2, 1,   0, 0, 0};
    assert_int_equal(kafka_request_decode(two, sizeof two, &a, &r), PLG_ECORRUPT);
    uint8_t inorder[sizeof two];
    memcpy(inorder, two, sizeof two);
    inorder[sizeof two - 4] = 5;
    inorder[sizeof two - 2] = 7;
    assert_int_equal(kafka_request_decode(inorder, sizeof two, &a, &r), 0);
    assert_int_equal(((const struct kfetch_req *)r.body)->cluster_id.len, -1);
    /* A compact array count whose varint runs past the frame. */
    memcpy(bad, ok, sizeof ok);
    bad[36] = 0x80;
    assert_int_equal(kafka_request_decode(bad, 37, &a, &r), PLG_ETRUNC);
    /* A compact topic count far above what the frame could hold. */
    memcpy(bad, ok, sizeof ok);
    bad[36] = 0x7f;
    assert_int_equal(kafka_request_decode(bad, sizeof ok, &a, &r), PLG_ETOOBIG);
    /* A header tag section that claims more bytes than there are. */
    const uint8_t htag[] = {0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 1, 0, 50, 1, 1, 0};
    assert_int_equal(kafka_request_decode(htag, sizeof htag, &a, &r), PLG_ETRUNC);
    /* ApiVersions v3 with a null (0) compact software name: not nullable. */
    const uint8_t nul[] = {0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 1, 0};
    assert_int_equal(kafka_request_decode(nul, sizeof nul, &a, &r), PLG_ECORRUPT);
    karena_destroy(&a);
}

static void test_encode_unrepresentable_rolls_back(void **state)
{
    (void)state;
    /* A 40,000-byte host fits COMPACT_STRING (v9+) but not STRING (INT16 length, v1-v8). */
    char *host = malloc(40001);
    memset(host, 'h', 40000);
    host[40000] = 0;
    struct kmetadata_broker br = {0, S(host), 9092, S(NULL)};
    struct kmetadata_resp m = {0, &br, 1, S(NULL), 0, NULL, 0, INT32_MIN};
    struct buf b;
    buf_init(&b);
    buf_put(&b, "prev", 4); /* an earlier response on the same connection stays intact */
    struct kreq_hdr h = {KAPI_METADATA, 8, 1, S("c")};
    assert_int_equal(kafka_response_encode(&b, &h, &m, NULL, NULL), PLG_ETOOBIG);
    assert_int_equal(b.len, 4);
    assert_false(b.oom);
    assert_memory_equal(b.data, "prev", 4);
    h.api_version = 9;
    assert_int_equal(kafka_response_encode(&b, &h, &m, NULL, NULL), 0);
    assert_true(b.len > 40000);
    /* The same check applies to request encoding. */
    struct kmetadata_req_topic t = {.name = S(host)};
    struct kmetadata_req q = {&t, 1, true, false, false};
    buf_reset(&b);
    h.api_version = 4;
    assert_int_equal(kafka_request_encode(&b, &h, &q), PLG_ETOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_v1_v2),
        cmocka_unit_test(test_unknown_key_and_version),
        cmocka_unit_test_setup_teardown(test_apiversions_requests, setup, teardown),
        cmocka_unit_test(test_apiversions_response_layout),
        cmocka_unit_test(test_apiversions_unsupported),
        cmocka_unit_test(test_metadata_response_layout),
        cmocka_unit_test_setup_teardown(test_metadata_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_produce_requests, setup, teardown),
        cmocka_unit_test(test_produce_response_layout),
        cmocka_unit_test_setup_teardown(test_fetch_requests, setup, teardown),
        cmocka_unit_test(test_fetch_response_layout_and_ext),
        cmocka_unit_test_setup_teardown(test_listoffsets, setup, teardown),
        cmocka_unit_test(test_malformed_counts),
        cmocka_unit_test(test_malformed_flexible),
        cmocka_unit_test(test_encode_unrepresentable_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
