/*
 * test_batch_real.c — record batches captured from real clients (tests/data/storage): each
 * validates deeply, decompresses, and yields exactly the keys, values and headers the clients
 * were asked to send; every truncation is rejected; and a log stores and serves them unchanged
 * apart from the base offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "../testdata.h"

static uint8_t *load(const char *name, size_t *len)
{
    return testdata_load("storage", name, len);
}

struct want {
    const char *key; /* NULL: null key */
    const char *value;
    int value_x;      /* value is this many 'x' when > 0 */
    const char *hkey; /* first header key or NULL */
    const char *hval;
};

static void check_file(const char *name, int codec, const struct want *w, int n)
{
    size_t len;
    uint8_t *p = load(name, &len);
    struct batch b;
    struct buf sc;
    buf_init(&sc);
    assert_int_equal(batch_validate_deep(p, len, &sc, 1 << 20, &b), 0);
    assert_int_equal(batch_codec(&b), codec);
    assert_int_equal(b.record_count, n);
    const uint8_t *rp;
    size_t rl;
    assert_int_equal(batch_records(&b, &sc, 1 << 20, &rp, &rl), 0);
    struct batch_iter it;
    struct batch_record r;
    batch_iter_init(&it, &b, rp, rl);
    for (int i = 0; i < n; i++) {
        assert_int_equal(batch_iter_next(&it, &r), 1);
        assert_int_equal(r.offset, b.base_offset + i);
        if (w[i].key) {
            assert_int_equal(r.key_len, (int32_t)strlen(w[i].key));
            assert_memory_equal(r.key, w[i].key, strlen(w[i].key));
        } else {
            assert_int_equal(r.key_len, -1);
        }
        if (w[i].value_x > 0) {
            assert_int_equal(r.value_len, w[i].value_x);
            for (int k = 0; k < w[i].value_x; k++)
                assert_int_equal(r.value[k], 'x');
        } else {
            assert_int_equal(r.value_len, (int32_t)strlen(w[i].value));
            assert_memory_equal(r.value, w[i].value, strlen(w[i].value));
        }
        if (w[i].hkey) {
            assert_true(r.header_count >= 1);
            struct rd hr;
            struct batch_header_kv h;
            rd_init(&hr, r.headers, r.headers_len);
            assert_int_equal(batch_header_next(&hr, &h), 1);
            assert_int_equal(h.key_len, (int32_t)strlen(w[i].hkey));
            assert_memory_equal(h.key, w[i].hkey, strlen(w[i].hkey));
            assert_int_equal(h.value_len, (int32_t)strlen(w[i].hval));
            assert_memory_equal(h.value, w[i].hval, strlen(w[i].hval));
        }
    }
    assert_int_equal(batch_iter_next(&it, &r), 0);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(batch_validate(p, cut, &b), PLG_ETRUNC);

    /* Stored and served as sent, except the assigned base offset. */
    struct plg_log_options o = {.memory_only = true};
    plg_log_t *log;
    assert_int_equal(plg_log_open(NULL, &o, &log, NULL), 0);
    uint8_t *copy = malloc(len);
    for (int round = 0; round < 2; round++) {
        memcpy(copy, p, len);
        struct plg_append_info info;
        assert_int_equal(plg_log_append(log, copy, len, &info), 0);
        struct plg_log_slice s;
        assert_int_equal(plg_log_read(log, info.base_offset, 1 << 20, &s), 0);
        assert_int_equal(s.len, len);
        assert_int_equal(be64_get(s.data), (uint64_t)info.base_offset);
        assert_memory_equal(s.data + 8, p + 8, len - 8);
        plg_log_slice_release(&s);
    }
    free(copy);
    assert_int_equal(plg_log_close(log), 0);
    buf_free(&sc);
    free(p);
}

static void test_librdkafka_zstd(void **state)
{
    (void)state;
    const struct want w[] = {{"k1", "hello", 0, "h1", "v1"},
                             {"k2", "world", 0, "h1", "v1"},
                             {"k3", NULL, 300, "h1", "v1"}};
    check_file("librdkafka-2.0.2-zstd.batch", BATCH_CODEC_ZSTD, w, 3);
}

static void test_kafkajs_gzip(void **state)
{
    (void)state;
    const struct want w[] = {{"k1", "hello", 0, "h1", "v1"},
                             {"k2", "world", 0, NULL, NULL},
                             {NULL, NULL, 300, NULL, NULL}};
    check_file("kafkajs-2.2.4-gzip.batch", BATCH_CODEC_GZIP, w, 3);
}

static void test_kafkajs_none(void **state)
{
    (void)state;
    const struct want w[] = {{"k1", "hello", 0, "h1", "v1"}, {"k2", "world", 0, NULL, NULL}};
    check_file("kafkajs-2.2.4-none.batch", BATCH_CODEC_NONE, w, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_librdkafka_zstd),
        cmocka_unit_test(test_kafkajs_gzip),
        cmocka_unit_test(test_kafkajs_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
