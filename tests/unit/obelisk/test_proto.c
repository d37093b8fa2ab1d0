/* test_proto.c — the Obelisk binary protocol: frames, request round trips, decoder limits, and the
 * service's answers (IDs as runs, sequences, info, errors) decoded by the client decoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/bytes.h"
#include "obelisk/proto.h"
#include "obelisk/service.h"
#include "pyralog/pyralog.h"

#include "../tmpdir.h"

static void test_frames_and_requests(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    obl_req_seq_encode(&b, 77, "orders", 12345);
    const uint8_t *body;
    size_t blen, used;
    for (size_t cut = 0; cut < b.len; cut++)
        assert_int_equal(obl_frame(b.data, cut, OBL_MAX_REQ, &body, &blen, &used), PLG_ETRUNC);
    assert_int_equal(obl_frame(b.data, b.len, OBL_MAX_REQ, &body, &blen, &used), 0);
    assert_int_equal(used, b.len);
    struct obl_req rq;
    uint8_t st;
    const char *msg;
    assert_int_equal(obl_req_decode(body, blen, &rq, &st, &msg), 0);
    assert_int_equal(rq.op, OBL_OP_SEQ);
    assert_int_equal(rq.req_id, 77);
    assert_int_equal(rq.count, 12345);
    assert_string_equal(rq.name, "orders");
    /* Every truncation of the body is refused with a message, never over-read. */
    for (size_t cut = 0; cut < blen; cut++) {
        assert_true(obl_req_decode(body, cut, &rq, &st, &msg) < 0);
        assert_int_equal(st, OBL_ST_BAD_REQUEST);
        assert_non_null(msg);
    }
    uint8_t big[8] = {0, 0, 1, 1};
    assert_int_equal(obl_frame(big, sizeof big, OBL_MAX_REQ, &body, &blen, &used), PLG_ETOOBIG);
    uint8_t zero[8] = {0};
    assert_int_equal(obl_frame(zero, sizeof zero, OBL_MAX_REQ, &body, &blen, &used), PLG_ECORRUPT);
    buf_free(&b);
}

static void test_service_answers(void **state)
{
    (void)state;
    struct obl_service_opts o = {.data_dir = dir, .node_id = 12};
    struct obl_service *s;
    assert_int_equal(obl_service_open(&o, &s), 0);
    struct buf req, out;
    buf_init(&req);
    buf_init(&out);
    obl_req_ids_encode(&req, 1, 10000);
    obl_req_seq_encode(&req, 2, "s", 5);
    obl_req_info_encode(&req, 3);
    obl_req_seq_encode(&req, 4, "bad/name", 5);
    size_t pos = 0;
    const uint8_t *body;
    size_t blen, used;
    while (obl_frame(req.data + pos, req.len - pos, OBL_MAX_REQ, &body, &blen, &used) == 0) {
        assert_int_equal(obl_service_handle(s, body, blen, &out, NULL), 0);
        pos += used;
    }
    assert_int_equal(pos, req.len);
    pos = 0;
    struct obl_resp r;
    /* IDS: runs sum to 10000, strictly increasing, node 12. */
    assert_int_equal(obl_frame(out.data, out.len, OBL_MAX_RESP, &body, &blen, &used), 0);
    assert_int_equal(obl_resp_decode(body, blen, &r), 0);
    assert_int_equal(r.status, OBL_ST_OK);
    assert_int_equal(r.count, 10000);
    assert_true(r.nruns >= 3); /* 4096 per ms at most */
    uint64_t prev = 0, n = 0;
    for (size_t i = 0; i < r.nruns; i++) {
        struct obl_run run = obl_resp_run(&r, i);
        assert_true(run.len <= 4096 && run.first > prev);
        assert_int_equal((run.first >> 12) & 1023, 12);
        prev = run.first + run.len - 1;
        n += run.len;
    }
    assert_int_equal(n, 10000);
    pos += used;
    assert_int_equal(obl_frame(out.data + pos, out.len - pos, OBL_MAX_RESP, &body, &blen, &used),
                     0);
    assert_int_equal(obl_resp_decode(body, blen, &r), 0);
    assert_true(r.op == OBL_OP_SEQ && r.req_id == 2 && r.seq_first == 0 && r.seq_count == 5);
    pos += used;
    assert_int_equal(obl_frame(out.data + pos, out.len - pos, OBL_MAX_RESP, &body, &blen, &used),
                     0);
    assert_int_equal(obl_resp_decode(body, blen, &r), 0);
    assert_true(r.op == OBL_OP_INFO && r.node_id == 12 && r.version == OBL_PROTO_VERSION);
    pos += used;
    assert_int_equal(obl_frame(out.data + pos, out.len - pos, OBL_MAX_RESP, &body, &blen, &used),
                     0);
    assert_int_equal(obl_resp_decode(body, blen, &r), 0);
    assert_true(r.op == OBL_OP_SEQ && r.req_id == 4 && r.status == OBL_ST_BAD_NAME);
    assert_non_null(strstr(r.message, "sequence names"));
    assert_int_equal(pos + used, out.len);
    /* Service-level limits. */
    uint64_t first;
    assert_int_equal(obl_service_seq(s, "s", 0, &first), PLG_ERANGE);
    assert_int_equal(obl_service_seq(s, "s", OBL_MAX_SEQ_COUNT + 1, &first), PLG_ERANGE);
    assert_int_equal(obl_service_seq(s, ".x", 1, &first), PLG_EINVAL);
    assert_int_equal(obl_service_seq(s, "s", 1, &first), 0);
    assert_int_equal(first, 5);
    buf_free(&req);
    buf_free(&out);
    obl_service_close(s);
}

static void test_resp_decoder_rejects(void **state)
{
    (void)state;
    /* Runs that do not add up to count, zero-length runs, and runs that wrap are corrupt. */
    uint8_t b[64];
    size_t n = 0;
    b[n++] = 0x81;
    be32_put(b + n, 1), n += 4;
    b[n++] = 0;
    be32_put(b + n, 5), n += 4;
    be16_put(b + n, 1), n += 2;
    be64_put(b + n, 100), n += 8;
    be32_put(b + n, 4), n += 4;
    struct obl_resp r;
    assert_int_equal(obl_resp_decode(b, n, &r), PLG_ECORRUPT);
    be32_put(b + n - 4, 5);
    assert_int_equal(obl_resp_decode(b, n, &r), 0);
    be64_put(b + n - 12, UINT64_MAX - 2);
    assert_int_equal(obl_resp_decode(b, n, &r), PLG_ECORRUPT);
    b[0] = 0x01; /* not a response */
    assert_int_equal(obl_resp_decode(b, n, &r), PLG_ECORRUPT);
}

static void test_pharaoh_node_lists(void **state)
{
    (void)state;
    const char *good[] = {"127.0.0.1:7070",          "a:1,b:2,c:3", "[::1]:7070", "h:7070/9000",
                          "localhost:1/2,[::1]:3/4", NULL};
    const char *bad[] = {"",        "host",  ":80",   "h:",        "h:0",    "h:65536",
                         "h:65535", "h:1/",  "h:1/x", "h:x",       "a:1,",   ",a:1",
                         "h:1 ",    "[::1]", "h:1/0", "h:1/65536", "::1:80", NULL};
    plg_pharaoh_t *p;
    for (int i = 0; good[i]; i++) {
        assert_int_equal(plg_pharaoh_open(good[i], 0, &p), 0);
        plg_pharaoh_close(p);
    }
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(plg_pharaoh_open(bad[i], 0, &p), PLG_EINVAL);
        assert_null(p);
    }
    /* Client-side checks before any network I/O. */
    assert_int_equal(plg_pharaoh_open("127.0.0.1:1", 100, &p), 0);
    uint64_t first;
    assert_int_equal(plg_pharaoh_seq(p, "../x", 1, &first), PLG_EINVAL);
    assert_int_equal(plg_pharaoh_seq(p, "x", 0, &first), PLG_ERANGE);
    /* Nothing listens on port 2 (binary = 1 + 1): a connection error, not a hang. */
    uint64_t id;
    int rc = plg_pharaoh_ids(p, &id, 1);
    assert_true(rc == -ECONNREFUSED || rc == PLG_ETIMEDOUT);
    assert_non_null(strstr(plg_pharaoh_errmsg(p), "127.0.0.1:1"));
    plg_pharaoh_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_and_requests),
        cmocka_unit_test_setup_teardown(test_service_answers, setup, teardown),
        cmocka_unit_test(test_resp_decoder_rejects),
        cmocka_unit_test(test_pharaoh_node_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
