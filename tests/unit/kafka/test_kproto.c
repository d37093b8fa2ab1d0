/* Kafka primitives: both encodings, nulls, bounds, malformed lengths, arena caps, tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/kproto.h"

static void test_ints_roundtrip(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    kw_i8(&b, -5);
    kw_i16(&b, -300);
    kw_i32(&b, -70000);
    kw_i64(&b, INT64_MIN + 3);
    kw_bool(&b, true);
    struct kuuid u;
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)(i * 7);
    kw_uuid(&b, &u);
    assert_false(b.oom);
    assert_int_equal(b.len, 1 + 2 + 4 + 8 + 1 + 16);
    /* Big-endian on the wire. */
    assert_int_equal(b.data[1], 0xfe);
    assert_int_equal(b.data[2], 0xd4);

    struct rd r;
    rd_init(&r, b.data, b.len);
    int8_t a;
    int16_t c;
    int32_t d;
    int64_t e;
    bool f;
    struct kuuid g;
    assert_int_equal(kr_i8(&r, &a), 0);
    assert_int_equal(kr_i16(&r, &c), 0);
    assert_int_equal(kr_i32(&r, &d), 0);
    assert_int_equal(kr_i64(&r, &e), 0);
    assert_int_equal(kr_bool(&r, &f), 0);
    assert_int_equal(kr_uuid(&r, &g), 0);
    assert_int_equal(a, -5);
    assert_int_equal(c, -300);
    assert_int_equal(d, -70000);
    assert_true(e == INT64_MIN + 3);
    assert_true(f);
    assert_memory_equal(g.b, u.b, 16);
    assert_int_equal(rd_left(&r), 0);
    assert_int_equal(kr_i8(&r, &a), PLG_ETRUNC);
    assert_int_equal(kr_i64(&r, &e), PLG_ETRUNC);
    buf_free(&b);
}

static void test_strings_both_forms(void **state)
{
    (void)state;
    for (int flex = 0; flex <= 1; flex++) {
        struct buf b;
        buf_init(&b);
        kw_str(&b, flex, kstr_z("topic-a"));
        kw_str(&b, flex, kstr_z(NULL));
        kw_str(&b, flex, kstr_z(""));
        if (flex) {
            /* COMPACT_STRING: uvarint(len + 1); null is 0. */
            assert_int_equal(b.data[0], 8);
            assert_int_equal(b.data[8], 0);
            assert_int_equal(b.data[9], 1);
            assert_int_equal(b.len, 10);
        } else {
            assert_int_equal(b.data[0], 0);
            assert_int_equal(b.data[1], 7);
            assert_int_equal(b.data[9], 0xff);
            assert_int_equal(b.data[10], 0xff);
            assert_int_equal(b.len, 2 + 7 + 2 + 2);
        }
        struct rd r;
        rd_init(&r, b.data, b.len);
        struct kstr s;
        assert_int_equal(kr_str(&r, flex, false, &s), 0);
        assert_true(kstr_eq(s, "topic-a"));
        assert_ptr_equal(s.p, (const char *)b.data + (flex ? 1 : 2)); /* a view, no copy */
        /* A null where the field is not nullable is corrupt; rewind and accept it nullable. */
        size_t at = r.pos;
        assert_int_equal(kr_str(&r, flex, false, &s), PLG_ECORRUPT);
        r.pos = at;
        assert_int_equal(kr_str(&r, flex, true, &s), 0);
        assert_int_equal(s.len, -1);
        assert_null(s.p);
        assert_false(kstr_eq(s, ""));
        assert_int_equal(kr_str(&r, flex, false, &s), 0);
        assert_int_equal(s.len, 0);
        assert_true(kstr_eq(s, ""));
        assert_int_equal(rd_left(&r), 0);
        buf_free(&b);
    }
}

static void test_string_malformed(void **state)
{
    (void)state;
    struct kstr s;
    struct rd r;
    /* Length 10 but 3 bytes follow. */
    const uint8_t trunc[] = {0, 10, 'a', 'b', 'c'};
    rd_init(&r, trunc, sizeof trunc);
    assert_int_equal(kr_str(&r, false, true, &s), PLG_ETRUNC);
    /* Negative length other than -1. */
    const uint8_t neg[] = {0xff, 0xfe, 'a'};
    rd_init(&r, neg, sizeof neg);
    assert_int_equal(kr_str(&r, false, true, &s), PLG_ECORRUPT);
    /* Half a length. */
    rd_init(&r, neg, 1);
    assert_int_equal(kr_str(&r, false, true, &s), PLG_ETRUNC);
    /* Compact: varint never ends / is too long. */
    const uint8_t longv[] = {0x80, 0x80, 0x80};
    rd_init(&r, longv, sizeof longv);
    assert_int_equal(kr_str(&r, true, true, &s), PLG_ETRUNC);
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
    rd_init(&r, huge, sizeof huge);
    assert_int_equal(kr_str(&r, true, true, &s), PLG_ECORRUPT);
    /* BYTES with INT32 length -2 and a huge positive length. */
    struct kbytes kb;
    const uint8_t bneg[] = {0xff, 0xff, 0xff, 0xfe};
    rd_init(&r, bneg, sizeof bneg);
    assert_int_equal(kr_bytes(&r, false, true, &kb), PLG_ECORRUPT);
    const uint8_t bbig[] = {0x7f, 0xff, 0xff, 0xff, 1, 2};
    rd_init(&r, bbig, sizeof bbig);
    assert_int_equal(kr_bytes(&r, false, true, &kb), PLG_ETRUNC);
}

static void test_array_counts(void **state)
{
    (void)state;
    struct rd r;
    int32_t n;
    /* 1000 elements of at least 4 bytes cannot fit in 8 bytes: refused before allocating. */
    uint8_t a[12] = {0, 0, 0x03, 0xe8};
    rd_init(&r, a, sizeof a);
    assert_int_equal(kr_array(&r, false, false, 4, &n), PLG_ETOOBIG);
    /* Two 4-byte elements fit. */
    uint8_t b[12] = {0, 0, 0, 2};
    rd_init(&r, b, sizeof b);
    assert_int_equal(kr_array(&r, false, false, 4, &n), 0);
    assert_int_equal(n, 2);
    /* Null arrays: allowed only when nullable; other negatives are corrupt. */
    const uint8_t nul[] = {0xff, 0xff, 0xff, 0xff};
    rd_init(&r, nul, sizeof nul);
    assert_int_equal(kr_array(&r, false, true, 1, &n), 0);
    assert_int_equal(n, -1);
    rd_init(&r, nul, sizeof nul);
    assert_int_equal(kr_array(&r, false, false, 1, &n), PLG_ECORRUPT);
    const uint8_t neg[] = {0x80, 0, 0, 0};
    rd_init(&r, neg, sizeof neg);
    assert_int_equal(kr_array(&r, false, true, 1, &n), PLG_ECORRUPT);
    /* Compact: 0 = null, 1 = empty, 3 = two. */
    const uint8_t c[] = {0, 1, 3, 9, 9};
    rd_init(&r, c, sizeof c);
    assert_int_equal(kr_array(&r, true, true, 1, &n), 0);
    assert_int_equal(n, -1);
    assert_int_equal(kr_array(&r, true, false, 1, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(kr_array(&r, true, false, 1, &n), 0);
    assert_int_equal(n, 2);
    struct buf w;
    buf_init(&w);
    kw_array(&w, true, -1);
    kw_array(&w, true, 300);
    kw_array(&w, false, -1);
    assert_int_equal(w.len, 1 + 2 + 4);
    assert_int_equal(w.data[0], 0);
    assert_int_equal(w.data[1], (301 & 0x7f) | 0x80);
    assert_int_equal(w.data[2], 301 >> 7);
    buf_free(&w);
}

static void test_tags_skip(void **state)
{
    (void)state;
    struct rd r;
    /* Two tagged fields: tag 0 size 2, tag 5 size 0; then one byte of payload. */
    const uint8_t t[] = {2, 0, 2, 0xaa, 0xbb, 5, 0, 0x42};
    rd_init(&r, t, sizeof t);
    assert_int_equal(kr_skip_tags(&r, true), 0);
    assert_int_equal(rd_left(&r), 1);
    /* Non-flexible: nothing read. */
    rd_init(&r, t, sizeof t);
    assert_int_equal(kr_skip_tags(&r, false), 0);
    assert_int_equal(r.pos, 0);
    /* Size larger than what is left. */
    const uint8_t bad[] = {1, 0, 9, 1};
    rd_init(&r, bad, sizeof bad);
    assert_int_equal(kr_skip_tags(&r, true), PLG_ETRUNC);
    /* Absurd tag count. */
    const uint8_t many[] = {0xff, 0x7f, 0, 0};
    rd_init(&r, many, sizeof many);
    assert_int_equal(kr_skip_tags(&r, true), PLG_ETOOBIG);
    struct buf w;
    buf_init(&w);
    kw_no_tags(&w, false);
    assert_int_equal(w.len, 0);
    kw_no_tags(&w, true);
    assert_int_equal(w.len, 1);
    assert_int_equal(w.data[0], 0);
    buf_free(&w);
}

static void test_arena(void **state)
{
    (void)state;
    struct karena a;
    karena_init(&a, 100000);
    uint8_t *p = karena_alloc(&a, 10);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p[i], 0);
    uint8_t *big = karena_alloc(&a, 50000);
    assert_non_null(big);
    memset(big, 1, 50000);
    /* Small allocations keep coming from the first chunk after a big one. */
    uint8_t *q = karena_alloc(&a, 10);
    assert_non_null(q);
    assert_true(q == p + 16);
    /* Cap reached. */
    assert_null(karena_alloc(&a, 60000));
    karena_destroy(&a);
    karena_init(&a, 0);
    for (int i = 0; i < 1000; i++)
        assert_non_null(karena_alloc(&a, 100));
    karena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ints_roundtrip),   cmocka_unit_test(test_strings_both_forms),
        cmocka_unit_test(test_string_malformed), cmocka_unit_test(test_array_counts),
        cmocka_unit_test(test_tags_skip),        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
