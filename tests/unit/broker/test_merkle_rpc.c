/* The verifiable-log JSON-RPC methods on a real broker (data dir, loop, partitions): heads are
 * signed and verify, every inclusion proof and consistency proof checks out against them,
 * notary.stamp returns a receipt that checks offline (and fails for another hash), and bad
 * requests get specific errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "broker/broker.h"
#include "broker/merkle_rpc.h"
#include "crypto/blake3.h"
#include "crypto/hex.h"
#include "crypto/merkle.h"
#include "crypto/sth.h"
#include "pyralog/pyralog.h"
#include "rpc/rpc.h"
#include "storage/batch.h"

static char dir[256];
static uv_loop_t loop;
static struct broker *br;
static struct rpc_dispatcher *disp;
static struct rpc_session *sess;
static struct merkle_rpc *mr;
static char *last_reply;

static void tr_reply(void *t, char *text, size_t len)
{
    (void)t;
    (void)len;
    free(last_reply);
    last_reply = text;
}

static const struct rpc_session_ops ops = {tr_reply, NULL, NULL, NULL};

/* Sends one request and runs the loop until its reply; returns the parsed reply (decref). */
static json_t *call(const char *method, json_t *params)
{
    static int id;
    json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", ++id, "method", method,
                            "params", params);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    free(last_reply);
    last_reply = NULL;
    assert_int_equal(rpc_session_input(sess, text, strlen(text)), 0);
    free(text);
    for (int i = 0; i < 5000 && !last_reply; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (!last_reply)
            uv_sleep(1);
    }
    assert_non_null(last_reply);
    json_t *r = json_loads(last_reply, 0, NULL);
    assert_non_null(r);
    return r;
}

static json_t *result(json_t *r)
{
    json_t *res = json_object_get(r, "result");
    if (!res)
        fail_msg("error reply: %s", last_reply);
    return res;
}

static int error_code(json_t *r)
{
    return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static void append_done(void *ctx, const struct broker_append_result *r)
{
    *(int *)ctx = r->err ? -1 : 1;
}

static void append_records(int n)
{
    struct batch_builder bb;
    batch_builder_init(&bb, 0, 1700000000000);
    for (int i = 0; i < n; i++) {
        char v[32];
        int vl = snprintf(v, sizeof v, "value-%d", i);
        assert_int_equal(batch_builder_add(&bb, 1700000000000 + i, NULL, -1, v, vl, NULL, 0), 0);
    }
    uint8_t *p;
    size_t len;
    assert_int_equal(batch_builder_finish(&bb, -1, &p, &len), 0);
    batch_builder_destroy(&bb);
    int done = 0;
    assert_int_equal(broker_append(br, "t", 0, p, len, 1, append_done, &done), 0);
    free(p);
    assert_int_equal(done, 1);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/plg-merkle-rpc-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    uv_loop_init(&loop);
    struct broker_opts o = {.data_dir = dir,
                            .node_id = 0,
                            .adv_host = "127.0.0.1",
                            .adv_port = 9092,
                            .num_partitions = 1};
    if (broker_open(&loop, &o, &br))
        return -1;
    char why[200];
    if (broker_topic_create(br, "t", 1, NULL, why, sizeof why))
        return -1;
    if (rpc_dispatcher_new(NULL, &disp) || merkle_rpc_register(disp, br, dir, &mr) ||
        rpc_session_new(disp, &ops, NULL, &sess))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rpc_session_close(sess);
    rpc_dispatcher_free(disp);
    merkle_rpc_free(mr);
    broker_close(br);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    free(last_reply);
    last_reply = NULL;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void head(const char *topic, struct sth *h)
{
    json_t *r = call("merkle.head", json_pack("{s:s, s:i}", "topic", topic, "partition", 0));
    assert_int_equal(sth_from_json(result(r), topic, 0, h, NULL), 0);
    assert_int_equal(sth_verify(h), 0);
    json_decref(r);
}

static size_t path_of(json_t *arr, uint8_t (*buf)[32], struct mk_bytes *els)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        assert_int_equal(hex_decode(json_string_value(e), json_string_length(e), buf[i], 32), 0);
        els[i] = (struct mk_bytes){buf[i], 32};
    }
    return json_array_size(arr);
}

static void test_heads_and_proofs(void **state)
{
    (void)state;
    struct sth h1, h2;
    append_records(5);
    head("t", &h1);
    assert_int_equal(h1.tree_size, 5);
    append_records(9);
    append_records(3);
    head("t", &h2);
    assert_int_equal(h2.tree_size, 17);
    assert_memory_equal(h1.public_key, h2.public_key, 32);
    uint8_t buf[MK_MAX_PATH][32], leaf[32];
    struct mk_bytes els[MK_MAX_PATH];
    for (int off = 0; off < 17; off++) {
        json_t *r = call("merkle.prove",
                         json_pack("{s:s, s:i, s:i}", "topic", "t", "partition", 0, "offset", off));
        json_t *res = result(r);
        assert_int_equal(json_integer_value(json_object_get(res, "tree_size")), 17);
        size_t n = path_of(json_object_get(res, "path"), buf, els);
        const char *lh = json_string_value(json_object_get(res, "leaf"));
        assert_int_equal(hex_decode(lh, strlen(lh), leaf, 32), 0);
        /* The leaf is the record's content hash: recompute it. */
        char v[32];
        int vl = snprintf(v, sizeof v, "value-%d", off < 5 ? off : off < 14 ? off - 5 : off - 14);
        int64_t ts = 1700000000000 + (off < 5 ? off : off < 14 ? off - 5 : off - 14);
        struct mk_record rec = {.offset = (uint64_t)off,
                                .timestamp = ts,
                                .key_len = -1,
                                .value = (const uint8_t *)v,
                                .value_len = vl};
        uint8_t want[32];
        assert_int_equal(mk_record_leaf(&rec, want), 0);
        assert_memory_equal(want, leaf, 32);
        assert_int_equal(mk_verify_inclusion(&mk_blake3, (uint64_t)off, 17,
                                             (struct mk_bytes){leaf, 32}, els, n,
                                             (struct mk_bytes){h2.root, 32}),
                         0);
        json_decref(r);
    }
    json_t *r =
        call("merkle.consistency", json_pack("{s:s, s:i, s:i, s:i}", "topic", "t", "partition", 0,
                                             "from_size", 5, "to_size", 17));
    size_t n = path_of(json_object_get(result(r), "path"), buf, els);
    assert_int_equal(mk_verify_consistency(&mk_blake3, 5, 17, (struct mk_bytes){h1.root, 32},
                                           (struct mk_bytes){h2.root, 32}, els, n),
                     0);
    json_decref(r);
    /* Errors name what is wrong. */
    r = call("merkle.head", json_pack("{s:s}", "topic", "nope"));
    assert_int_equal(error_code(r), RPC_NOT_FOUND);
    json_decref(r);
    r = call("merkle.prove", json_pack("{s:s, s:i}", "topic", "t", "offset", 17));
    assert_int_equal(error_code(r), RPC_OUT_OF_RANGE);
    json_decref(r);
    r = call("merkle.consistency",
             json_pack("{s:s, s:i, s:i}", "topic", "t", "from_size", 9, "to_size", 4));
    assert_int_equal(error_code(r), RPC_OUT_OF_RANGE);
    json_decref(r);
    r = call("merkle.prove", json_pack("{s:s}", "topic", "t"));
    assert_int_equal(error_code(r), RPC_INVALID_PARAMS);
    json_decref(r);
}

/* Appends a two-record batch whose offset range is not its record count: records at deltas 0 and
 * 2 (a gap), or deltas 0 and 1 with last_offset_delta 5. Returns the append's outcome. */
static int append_gapped(bool gap)
{
    struct batch_builder bb;
    batch_builder_init(&bb, 0, 1700000000000);
    assert_int_equal(batch_builder_add_at(&bb, 0, 1700000000000, NULL, -1, "a", 1, NULL, 0), 0);
    assert_int_equal(
        batch_builder_add_at(&bb, gap ? 2 : 1, 1700000000000, NULL, -1, "b", 1, NULL, 0), 0);
    uint8_t *p;
    size_t len;
    assert_int_equal(batch_builder_finish(&bb, gap ? -1 : 5, &p, &len), 0);
    batch_builder_destroy(&bb);
    struct batch b;
    assert_int_equal(batch_validate(p, len, &b), 0); /* a valid (compacted-looking) batch */
    assert_int_not_equal(b.record_count, b.last_offset_delta + 1);
    int done = 0;
    assert_int_equal(broker_append(br, "t", 0, p, len, 1, append_done, &done), 0);
    free(p);
    return done;
}

/* A produced batch with holes in its offsets would take offsets that have no record, hence no
 * Merkle leaf (leaf index = offset), and stop the partition's tree for good. Kafka refuses such
 * batches ("inconsistent batch offset range"); the tree must keep following the log. */
static void test_gapped_batch_refused(void **state)
{
    (void)state;
    append_records(2);
    assert_int_equal(append_gapped(true), -1);
    assert_int_equal(append_gapped(false), -1);
    append_records(3);
    struct sth h;
    head("t", &h);
    assert_int_equal(h.tree_size, 5);
    json_t *r = call("merkle.prove",
                     json_pack("{s:s, s:i, s:i}", "topic", "t", "partition", 0, "offset", 4));
    assert_int_equal(json_integer_value(json_object_get(result(r), "tree_size")), 5);
    json_decref(r);
}

static void test_notary(void **state)
{
    (void)state;
    uint8_t hash[32], other[32];
    b3_hash("document", 8, hash);
    b3_hash("other", 5, other);
    char hex[65];
    hex_encode(hash, 32, hex);
    for (int i = 0; i < 3; i++) {
        json_t *r = call("notary.stamp", json_pack("{s:s}", "hash", hex));
        json_t *res = result(r);
        assert_int_equal(json_integer_value(json_object_get(res, "offset")), i);
        char *text = json_dumps(res, JSON_COMPACT);
        const char *why = NULL;
        assert_int_equal(receipt_check(text, strlen(text), hash, NULL, &why), 0);
        assert_int_equal(receipt_check(text, strlen(text), other, NULL, &why), PLG_EVERIFY);
        free(text);
        json_decref(r);
    }
    json_t *r = call("notary.stamp", json_pack("{s:s}", "hash", "abc"));
    assert_int_equal(error_code(r), RPC_INVALID_PARAMS);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heads_and_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gapped_batch_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
