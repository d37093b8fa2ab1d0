/* test_scarab.c — Scarab IDs with an injectable clock: layout, strict increase across a clock
 * stepping backwards, sequence exhaustion, restart after the floor, decode and formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

#include "../tmpdir.h"

static int64_t fake_now, fake_mono, slept;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}
static int64_t fake_mono_us(void *ctx)
{
    (void)ctx;
    return fake_mono;
}
static void fake_sleep_us(void *ctx, int64_t us)
{
    (void)ctx;
    assert_true(us > 0 && us <= 1000);
    fake_mono += us;
    slept += us;
}
static const struct plg_clock fake = {
    .now_ms = fake_clock, .mono_us = fake_mono_us, .sleep_us = fake_sleep_us};

#define T0 (PLG_SCARAB_EPOCH_MS + 86400000LL) /* 2025-01-02 */

static void test_layout_and_decode(void **state)
{
    (void)state;
    fake_now = T0;
    struct plg_scarab_opts o = {.node_id = 513, .clock = &fake};
    plg_scarab_t *g;
    assert_int_equal(plg_scarab_open(dir, &o, &g), 0);
    uint64_t id;
    assert_int_equal(plg_scarab_next(g, &id), 0);
    struct plg_scarab_parts parts;
    assert_int_equal(plg_scarab_decode(id, &parts), 0);
    assert_int_equal(parts.unix_ms, T0);
    assert_int_equal(parts.node, 513);
    assert_int_equal(parts.seq, 0);
    assert_int_equal(id, ((uint64_t)86400000 << 22) | (513u << 12));
    char buf[32];
    assert_int_equal(plg_format_utc_ms(parts.unix_ms + 7, buf, sizeof buf), 0);
    assert_string_equal(buf, "2025-01-02T00:00:00.007Z");
    assert_int_equal(plg_scarab_decode(1ULL << 63, &parts), PLG_EINVAL);
    plg_scarab_close(g);
    o.node_id = 1024;
    assert_int_equal(plg_scarab_open(dir, &o, &g), PLG_EINVAL);
}

static void test_backwards_and_exhaustion(void **state)
{
    (void)state;
    fake_now = T0;
    struct plg_scarab_opts o = {.node_id = 3, .clock = &fake, .window_ms = 50};
    plg_scarab_t *g;
    assert_int_equal(plg_scarab_open(dir, &o, &g), 0);
    uint64_t prev = 0, id;
    /* Frozen clock: 10000 IDs need 3 milliseconds (4096 per ms). */
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(plg_scarab_next(g, &id), 0);
        assert_true(id > prev);
        prev = id;
    }
    struct plg_scarab_parts p;
    plg_scarab_decode(id, &p);
    assert_int_equal(p.unix_ms, T0 + 2);
    assert_int_equal(p.seq, 10000 - 2 * 4096 - 1);
    /* Clock steps back an hour: keep increasing from the logical clock. */
    fake_now = T0 - 3600000;
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(plg_scarab_next(g, &id), 0);
        assert_true(id > prev);
        prev = id;
    }
    /* Forward again: jumps to the wall clock. */
    fake_now = T0 + 1000;
    assert_int_equal(plg_scarab_next(g, &id), 0);
    assert_true(id > prev);
    plg_scarab_decode(id, &p);
    assert_int_equal(p.unix_ms, T0 + 1000);
    assert_int_equal(p.seq, 0);
    prev = id;
    /* Runs: consecutive IDs within one millisecond. */
    uint64_t first;
    size_t n;
    assert_int_equal(plg_scarab_next_run(g, 100000, &first, &n), 0);
    assert_int_equal(first, prev + 1);
    assert_int_equal(n, 4095);
    uint64_t ids[9000];
    assert_int_equal(plg_scarab_next_n(g, ids, 9000), 0);
    assert_true(ids[0] > first + n - 1);
    for (int i = 1; i < 9000; i++)
        assert_true(ids[i] > ids[i - 1]);
    plg_scarab_close(g);
}

static void test_restart_after_floor(void **state)
{
    (void)state;
    fake_now = T0 + 5000;
    struct plg_scarab_opts o = {.node_id = 7, .clock = &fake};
    plg_scarab_t *g;
    assert_int_equal(plg_scarab_open(dir, &o, &g), 0);
    uint64_t last = 0, id;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(plg_scarab_next(g, &last), 0);
        fake_now += 300;
    }
    plg_scarab_close(g); /* crash */
    /* Restart with the clock 10 s in the past: the first ID is still above the last one. */
    fake_now = T0 - 5000;
    assert_int_equal(plg_scarab_open(dir, &o, &g), 0);
    assert_int_equal(plg_scarab_next(g, &id), 0);
    assert_true(id > last);
    plg_scarab_close(g);
    /* Restart at the same clock as before the crash: still above. */
    fake_now = T0 + 5600;
    assert_int_equal(plg_scarab_open(dir, &o, &g), 0);
    uint64_t id2;
    assert_int_equal(plg_scarab_next(g, &id2), 0);
    assert_true(id2 > id);
    /* The floor is raised about once per window, not per ID. */
    for (int i = 0; i < 100000; i++)
        assert_int_equal(plg_scarab_next(g, &id2), 0);
    plg_scarab_close(g);
    /* Two generators on one data dir at once would collide: the second is refused. */
    plg_scarab_t *g2;
    assert_int_equal(plg_scarab_open(dir, &o, &g), 0);
    assert_int_equal(plg_scarab_open(dir, &o, &g2), -EBUSY);
    plg_scarab_close(g);
}

/* Above 4096 IDs per ms the generator may run at most max_lead ms ahead of monotonic time, then
 * it sleeps: 4096/ms is the ceiling, also with a frozen or backwards wall clock. */
static void test_ceiling(void **state)
{
    (void)state;
    fake_now = T0;
    fake_mono = 1000000;
    slept = 0;
    struct plg_scarab_opts o = {.node_id = 2, .clock = &fake, .max_lead_ms = 10};
    plg_scarab_t *g;
    assert_int_equal(plg_scarab_open(dir, &o, &g), 0);
    uint64_t id, prev = 0;
    /* Frozen wall and monotonic clocks: 11 ms worth (the current one + 10 of lead) go without
     * sleeping. */
    for (int i = 0; i < 11 * 4096; i++) {
        assert_int_equal(plg_scarab_next(g, &id), 0);
        assert_true(id > prev);
        prev = id;
    }
    assert_int_equal(slept, 0);
    /* The next one needs the monotonic clock to move on by a millisecond. */
    assert_int_equal(plg_scarab_next(g, &id), 0);
    assert_true(id > prev);
    assert_int_equal(slept, 1000);
    struct plg_scarab_parts p;
    plg_scarab_decode(id, &p);
    assert_int_equal(p.unix_ms, T0 + 11);
    /* 100 more ms of IDs cost 100 ms of (fake) sleep: the rate is 4096 per ms. */
    prev = id;
    slept = 0;
    for (int i = 0; i < 100 * 4096; i++) {
        assert_int_equal(plg_scarab_next(g, &id), 0);
        assert_true(id > prev);
        prev = id;
    }
    assert_true(slept >= 99000 && slept <= 100000);
    /* The wall clock stepping back does not stall it beyond the ceiling either. */
    fake_now = T0 - 60000;
    slept = 0;
    for (int i = 0; i < 4096 * 5; i++)
        assert_int_equal(plg_scarab_next(g, &id), 0);
    assert_true(slept >= 4000 && slept <= 5000);
    plg_scarab_close(g);
}

static void test_overflow_year_2094(void **state)
{
    (void)state;
    fake_now = PLG_SCARAB_EPOCH_MS + (1LL << 41);
    struct plg_scarab_opts o = {.node_id = 1, .clock = &fake};
    plg_scarab_t *g;
    assert_int_equal(plg_scarab_open(dir, &o, &g), 0);
    uint64_t id;
    assert_int_equal(plg_scarab_next(g, &id), PLG_EOVERFLOW);
    plg_scarab_close(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_and_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backwards_and_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_after_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ceiling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_year_2094, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
