/* CRC-32C: every path against known vectors and against each other on random inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/crc32c.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
static const crc_fn paths[] = {crc32c, crc32c_table, crc32c_sse42, crc32c_isal};

static void test_vectors(void **state)
{
    (void)state;
    uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
        dec[i] = (uint8_t)(31 - i);
    }
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
        assert_int_equal(paths[k](0, "123456789", 9), 0xE3069283u);
        /* RFC 3720 appendix B.4 vectors */
        assert_int_equal(paths[k](0, zeros, 32), 0x8A9136AAu);
        assert_int_equal(paths[k](0, ones, 32), 0x62A8AB43u);
        assert_int_equal(paths[k](0, inc, 32), 0x46DD794Eu);
        assert_int_equal(paths[k](0, dec, 32), 0x113FDB5Cu);
        assert_int_equal(paths[k](0, "", 0), 0u);
    }
}

static void test_paths_agree_and_chain(void **state)
{
    (void)state;
    srand(42);
    static uint8_t buf[70000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)rand();
    for (int round = 0; round < 200; round++) {
        size_t off = (size_t)rand() % 64, len = (size_t)rand() % (sizeof buf - 64);
        uint32_t want = crc32c_table(0, buf + off, len);
        for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
            assert_int_equal(paths[k](0, buf + off, len), want);
            size_t cut = len ? (size_t)rand() % len : 0;
            uint32_t c = paths[k](0, buf + off, cut);
            assert_int_equal(paths[k](c, buf + off + cut, len - cut), want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_paths_agree_and_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
