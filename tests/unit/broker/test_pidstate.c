/* test_pidstate.c — idempotent producer sequence rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "broker/pidstate.h"

static void test_sequence_rules(void **state)
{
    struct pid_table t;
    pid_table_init(&t);
    int64_t off = -1;
    /* Unknown producer: must start at 0. */
    assert_int_equal(pid_table_check(&t, 7, 0, 5, 1, &off), 59);
    assert_int_equal(pid_table_check(&t, 7, 0, 0, 3, &off), PID_APPEND);
    assert_int_equal(pid_table_record(&t, 7, 0, 0, 3, 100), 0);
    /* Next in order. */
    assert_int_equal(pid_table_check(&t, 7, 0, 3, 2, &off), PID_APPEND);
    assert_int_equal(pid_table_record(&t, 7, 0, 3, 2, 103), 0);
    /* Duplicates of cached batches come back with their original offsets. */
    assert_int_equal(pid_table_check(&t, 7, 0, 0, 3, &off), PID_DUPLICATE);
    assert_int_equal(off, 100);
    assert_int_equal(pid_table_check(&t, 7, 0, 3, 2, &off), PID_DUPLICATE);
    assert_int_equal(off, 103);
    /* Gaps and overlaps that are not exact duplicates. */
    assert_int_equal(pid_table_check(&t, 7, 0, 6, 1, &off), 45);
    assert_int_equal(pid_table_check(&t, 7, 0, 4, 1, &off), 45);
    /* Fenced older epoch; newer epoch restarts at 0. */
    assert_int_equal(pid_table_record(&t, 7, 2, 0, 1, 105), 0);
    assert_int_equal(pid_table_check(&t, 7, 1, 1, 1, &off), 47);
    assert_int_equal(pid_table_check(&t, 7, 3, 1, 1, &off), 45);
    assert_int_equal(pid_table_check(&t, 7, 3, 0, 1, &off), PID_APPEND);
    /* Bad input. */
    assert_int_equal(pid_table_check(&t, 7, 2, -1, 1, &off), 42);
    assert_int_equal(pid_table_check(&t, 7, 2, 1, 0, &off), 42);
    pid_table_destroy(&t);
}

static void test_cache_and_many_producers(void **state)
{
    struct pid_table t;
    pid_table_init(&t);
    int64_t off;
    for (int64_t pid = 0; pid < 1000; pid++)
        for (int i = 0; i < 8; i++)
            assert_int_equal(pid_table_record(&t, pid, 0, i * 10, 10, pid * 1000 + i * 10), 0);
    for (int64_t pid = 0; pid < 1000; pid++) {
        /* Only the last 5 batches (i = 3..7) are remembered. */
        assert_int_equal(pid_table_check(&t, pid, 0, 70, 10, &off), PID_DUPLICATE);
        assert_int_equal(off, pid * 1000 + 70);
        assert_int_equal(pid_table_check(&t, pid, 0, 30, 10, &off), PID_DUPLICATE);
        assert_int_equal(pid_table_check(&t, pid, 0, 20, 10, &off), 45);
        assert_int_equal(pid_table_check(&t, pid, 0, 80, 1, &off), PID_APPEND);
    }
    assert_int_equal(t.count, 1000);
    pid_table_destroy(&t);
}

static void test_wrap(void **state)
{
    struct pid_table t;
    pid_table_init(&t);
    int64_t off;
    pid_table_record(&t, 1, 0, 0, 3, 0);
    /* Pretend the producer reached the top of the sequence space. */
    pid_table_record(&t, 1, 0, INT32_MAX - 1, 2, 10);
    assert_int_equal(pid_table_check(&t, 1, 0, 0, 1, &off), PID_APPEND);
    pid_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_rules),
        cmocka_unit_test(test_cache_and_many_producers),
        cmocka_unit_test(test_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
