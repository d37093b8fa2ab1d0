/*
 * ktest.h — shared fixture for the Kafka codec tests: an arena, a frame buffer, and round-trip
 * helpers (request encode -> decode -> re-encode with every truncation checked; response
 * encode -> schema decode).
 */
#ifndef PLG_TESTS_KTEST_H
#define PLG_TESTS_KTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/kapi.h"

#define S(z) kstr_z(z)

struct fx {
    struct karena a;
    struct buf f;
    struct kreq r;
};

static inline int setup(void **state)
{
    struct fx *x = calloc(1, sizeof *x);
    karena_init(&x->a, 0);
    buf_init(&x->f);
    *state = x;
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *x = *state;
    karena_destroy(&x->a);
    buf_free(&x->f);
    free(x);
    return 0;
}

/* Request encode -> decode -> re-encode (same bytes); returns the decoded body. */
static inline const void *rt(struct fx *x, int16_t key, int16_t ver, const void *body)
{
    struct kreq_hdr h = {key, ver, 99, S("admin")};
    buf_reset(&x->f);
    assert_int_equal(kafka_request_encode(&x->f, &h, body), 0);
    assert_int_equal(kafka_request_decode(x->f.data + 4, x->f.len - 4, &x->a, &x->r), 0);
    assert_int_equal(x->r.hdr.correlation_id, 99);
    struct buf again;
    buf_init(&again);
    assert_int_equal(kafka_request_encode(&again, &x->r.hdr, x->r.body), 0);
    assert_int_equal(again.len, x->f.len);
    assert_memory_equal(again.data, x->f.data, x->f.len);
    buf_free(&again);
    /* Truncation anywhere is an error, never an over-read. */
    for (size_t cut = 0; cut < x->f.len - 4; cut++) {
        struct karena a2;
        karena_init(&a2, 0);
        struct kreq r2;
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, x->f.data + 4, cut);
        assert_true(kafka_request_decode(copy, cut, &a2, &r2) < 0);
        free(copy);
        karena_destroy(&a2);
    }
    return x->r.body;
}

/* Response encode -> decode through the schema; returns the decoded struct in out. */
static inline void resp_rt(struct fx *x, int16_t key, int16_t ver, const void *resp, void *out)
{
    const struct kapi *api = kapi_find(key);
    bool flex = kapi_flexible(api, ver);
    struct kreq_hdr h = {key, ver, 5, S("admin")};
    buf_reset(&x->f);
    assert_int_equal(kafka_response_encode(&x->f, &h, resp, NULL, NULL), 0);
    assert_int_equal(be32_get(x->f.data), x->f.len - 4);
    assert_int_equal(be32_get(x->f.data + 4), 5);
    struct rd r;
    rd_init(&r, x->f.data + 8, x->f.len - 8);
    assert_int_equal(kr_skip_tags(&r, flex), 0);
    assert_int_equal(kmsg_decode(&r, api->resp, ver, flex, &x->a, out), 0);
    assert_int_equal(rd_left(&r), 0);
}

#endif
