/* Growable buffer: appends, growth across many writes, varints, steal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/buf.h"

static void test_growth_and_content(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    for (uint32_t i = 0; i < 10000; i++)
        buf_be32(&b, i);
    assert_false(b.oom);
    assert_int_equal(b.len, 40000);
    for (uint32_t i = 0; i < 10000; i++)
        assert_int_equal(be32_get(b.data + 4 * i), i);
    buf_reset(&b);
    buf_u8(&b, 7);
    buf_be16(&b, 0x1234);
    buf_be64(&b, 0x1122334455667788ull);
    buf_varlong(&b, -300);
    assert_int_equal(b.len, 1 + 2 + 8 + 2);
    struct rd r;
    rd_init(&r, b.data + 11, 2);
    int64_t v;
    assert_int_equal(rd_varlong(&r, &v), 0);
    assert_true(v == -300);
    size_t len;
    uint8_t *d = buf_steal(&b, &len);
    assert_int_equal(len, 13);
    assert_null(b.data);
    free(d);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_growth_and_content)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
