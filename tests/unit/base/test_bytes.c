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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be_roundtrip),
        cmocka_unit_test(test_varlong_roundtrip),
        cmocka_unit_test(test_varint_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
