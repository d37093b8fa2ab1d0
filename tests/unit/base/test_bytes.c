/* Byte order and varint helpers: round trips, bounds, and malformed varints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/bytes.h"

static void test_be_roundtrip(void **state)
{
    (void)state;
    uint8_t b[8];
    be16_put(b, 0xBEEF);
    assert_int_equal(b[0], 0xBE);
    assert_int_equal(be16_get(b), 0xBEEF);
    be32_put(b, 0xDEADBEEFu);
    assert_int_equal(be32_get(b), 0xDEADBEEFu);
    be64_put(b, 0x0102030405060708ull);
    assert_int_equal(b[7], 8);
    assert_true(be64_get(b) == 0x0102030405060708ull);
}

static void test_varlong_roundtrip(void **state)
{
    (void)state;
    const int64_t vals[] = {0,   1,    -1,        63,        -64,       64,
                            300, -300, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint8_t b[10];
        size_t n = varlong_put(b, vals[i]);
        assert_int_equal(n, uvarint_size(zigzag64(vals[i])));
        struct rd r;
        rd_init(&r, b, n);
        int64_t v;
        assert_int_equal(rd_varlong(&r, &v), 0);
        assert_true(v == vals[i]);
        assert_int_equal(rd_left(&r), 0);
        /* every strict prefix is truncated */
        for (size_t k = 0; k < n; k++) {
            rd_init(&r, b, k);
            assert_int_equal(rd_varlong(&r, &v), PLG_ETRUNC);
        }
    }
}

static void test_varint_malformed(void **state)
{
    (void)state;
    uint8_t eleven[11];
    for (int i = 0; i < 11; i++)
        eleven[i] = 0x80;
    struct rd r;
    uint64_t u;
    rd_init(&r, eleven, sizeof eleven);
    assert_int_equal(rd_uvarint(&r, &u), PLG_ECORRUPT);
    /* zig-zag value above INT32_MAX is not a varint */
    uint8_t b[10];
    size_t n = varlong_put(b, (int64_t)INT32_MAX + 1);
    int32_t v32;
    rd_init(&r, b, n);
    assert_int_equal(rd_varint(&r, &v32), PLG_ECORRUPT);
    /* known encodings: 1 -> 0x02, -1 -> 0x01, 300 -> 0xd8 0x04 */
    assert_int_equal(varlong_put(b, 1), 1);
    assert_int_equal(b[0], 2);
    varlong_put(b, -1);
    assert_int_equal(b[0], 1);
    assert_int_equal(varlong_put(b, 300), 2);
    assert_int_equal(b[0], 0xd8);
    assert_int_equal(b[1], 0x04);
}

/* The slow path, byte by byte, as rd_uvarint read before its fast paths: the fast paths must give
 * the same result, value and position for every input. */
static int ref_uvarint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*pos >= len)
            return PLG_ETRUNC;
        uint8_t b = p[(*pos)++];
        if (shift == 63 && b > 1)
            return PLG_ECORRUPT;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return PLG_ECORRUPT;
}

static void test_uvarint_fast_paths_match(void **state)
{
    (void)state;
    const uint8_t thirds[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    uint8_t b[4] = {0};
    for (unsigned w = 0; w < 65536 * 5; w++) {
        b[0] = (uint8_t)(w & 0xff);
        b[1] = (uint8_t)(w >> 8 & 0xff);
        b[2] = thirds[w >> 16];
        for (size_t len = 0; len <= 3; len++) {
            struct rd r;
            rd_init(&r, b, len);
            uint64_t got = UINT64_MAX, want = UINT64_MAX;
            size_t pos = 0;
            int rc = rd_uvarint(&r, &got);
            assert_int_equal(rc, ref_uvarint(b, len, &pos, &want));
            if (rc == 0) {
                assert_true(got == want);
                assert_int_equal(r.pos, pos);
            }
        }
    }
    /* A cursor part-way through a buffer. */
    const uint8_t two[] = {0x05, 0xac, 0x02};
    struct rd r;
    uint64_t v;
    rd_init(&r, two, sizeof two);
    assert_int_equal(rd_uvarint(&r, &v), 0);
    assert_true(v == 5);
    assert_int_equal(rd_uvarint(&r, &v), 0);
    assert_true(v == 300);
    assert_int_equal(rd_uvarint(&r, &v), PLG_ETRUNC);
}

/* An empty cursor may have no buffer at all (rd_init(NULL, 0)): truncated, not undefined
 * behaviour (UBSan: "applying zero offset to null pointer" in the ASan build). */
static void test_uvarint_empty_null(void **state)
{
    (void)state;
    struct rd r;
    uint64_t u;
    int32_t v32;
    rd_init(&r, NULL, 0);
    assert_int_equal(rd_uvarint(&r, &u), PLG_ETRUNC);
    assert_int_equal(rd_varint(&r, &v32), PLG_ETRUNC);
    assert_int_equal(r.pos, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be_roundtrip),       cmocka_unit_test(test_varlong_roundtrip),
        cmocka_unit_test(test_varint_malformed),   cmocka_unit_test(test_uvarint_fast_paths_match),
        cmocka_unit_test(test_uvarint_empty_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
