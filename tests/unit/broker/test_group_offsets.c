/*
 * Committed-offset table (insert, replace, delete, many entries) and the __consumer_offsets
 * record codec (Kafka's key v1 / value v0-v3 layouts, tombstones, group-metadata keys skipped,
 * every truncation rejected).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/group_offsets.h"

static void test_table(void **state)
{
    (void)state;
    struct goff_table t;
    goff_init(&t);
    assert_null(goff_get(&t, "a", 1, 0));
    char name[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "topic-%d", i % 40);
        assert_int_equal(goff_set(&t, name, strlen(name), i / 40, i, -1, "m", 1, 100 + i), 0);
    }
    assert_int_equal(goff_count(&t), 2000);
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "topic-%d", i % 40);
        const struct goff_entry *e = goff_get(&t, name, strlen(name), i / 40);
        assert_non_null(e);
        assert_int_equal(e->offset, i);
        assert_string_equal(e->metadata, "m");
    }
    /* Replace keeps the count; null metadata stays null. */
    assert_int_equal(goff_set(&t, "topic-3", 7, 0, 555, 4, NULL, -1, 1), 0);
    assert_int_equal(goff_count(&t), 2000);
    const struct goff_entry *e = goff_get(&t, "topic-3", 7, 0);
    assert_int_equal(e->offset, 555);
    assert_int_equal(e->leader_epoch, 4);
    assert_null(e->metadata);
    /* A prefix of a name is a different topic. */
    assert_null(goff_get(&t, "topic-3", 6, 0));
    for (int i = 0; i < 2000; i += 2) {
        snprintf(name, sizeof name, "topic-%d", i % 40);
        assert_int_equal(goff_del(&t, name, strlen(name), i / 40), 0);
    }
    assert_int_equal(goff_del(&t, "nope", 4, 0), PLG_ENOTFOUND);
    assert_int_equal(goff_count(&t), 1000);
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "topic-%d", i % 40);
        e = goff_get(&t, name, strlen(name), i / 40);
        if (i % 2)
            assert_true(e && e->offset == (i == 3 ? 555 : i));
        else
            assert_null(e);
    }
    goff_destroy(&t);
}

static void test_records(void **state)
{
    (void)state;
    struct buf k, v;
    buf_init(&k);
    buf_init(&v);
    goff_key_encode(&k, "grp", 3, "orders", 6, 5);
    goff_value_encode(&v, 42, 7, "meta", 4, 1700000000000);
    /* Key layout: version 1, group, topic, partition. */
    const uint8_t want_key[] = {0,   1,   0,   3,   'g', 'r', 'p', 0, 6, 'o',
                                'r', 'd', 'e', 'r', 's', 0,   0,   0, 5};
    assert_int_equal(k.len, sizeof want_key);
    assert_memory_equal(k.data, want_key, sizeof want_key);
    struct goff_record r;
    assert_int_equal(goff_record_decode(k.data, k.len, v.data, v.len, true, &r), 0);
    assert_int_equal(r.group_len, 3);
    assert_memory_equal(r.topic, "orders", 6);
    assert_int_equal(r.partition, 5);
    assert_false(r.tombstone);
    assert_int_equal(r.offset, 42);
    assert_int_equal(r.leader_epoch, 7);
    assert_int_equal(r.metadata_len, 4);
    assert_int_equal(r.commit_ts_ms, 1700000000000);
    /* Tombstone. */
    assert_int_equal(goff_record_decode(k.data, k.len, NULL, 0, false, &r), 0);
    assert_true(r.tombstone);
    /* Value v1 (Kafka 0.10): offset, metadata, commit ts, expire ts. */
    const uint8_t v1[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0, 0,
                          0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,    0,    0, 2};
    assert_int_equal(goff_record_decode(k.data, k.len, v1, sizeof v1, true, &r), 0);
    assert_int_equal(r.offset, 9);
    assert_null(r.metadata);
    assert_int_equal(r.leader_epoch, -1);
    /* Group metadata keys are skipped. */
    const uint8_t gk[] = {0, 2, 0, 1, 'g'};
    assert_int_equal(goff_record_decode(gk, sizeof gk, v1, sizeof v1, true, &r), PLG_EUNSUPP);
    /* Truncated keys and values fail; trailing bytes in a key are corrupt. */
    for (size_t n = 0; n < k.len; n++)
        assert_true(goff_record_decode(k.data, n, v.data, v.len, true, &r) < 0);
    for (size_t n = 0; n < v.len; n++)
        assert_true(goff_record_decode(k.data, k.len, v.data, n, true, &r) < 0);
    buf_u8(&k, 0);
    assert_int_equal(goff_record_decode(k.data, k.len, v.data, v.len, true, &r), PLG_ECORRUPT);
    buf_free(&k);
    buf_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
