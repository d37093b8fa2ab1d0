/* BLAKE3: every official vector (hash, keyed, derive-key, 131-byte XOF) under every
 * implementation the CPU has, split updates, seeking XOF, and the SIMD many-input kernels
 * checked equal to the portable code on random inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "crypto/blake3.h"
#include "crypto/hex.h"

/* The sanitizer build (-O0, ASan, UBSan, coverage) is ~100x slower: it feeds fewer split sizes
 * (the normal build runs them all). */
#include "../slow_build.h"

static json_t *vectors;

static int load_vectors(void **state)
{
    (void)state;
    json_error_t err;
    vectors = json_load_file(PLG_TESTDATA_DIR "/blake3/test_vectors.json", 0, &err);
    if (!vectors)
        fprintf(stderr, "test_vectors.json: %s (line %d)\n", err.text, err.line);
    return vectors ? 0 : -1;
}

static int free_vectors(void **state)
{
    (void)state;
    json_decref(vectors);
    b3_set_impl(B3_IMPL_AUTO);
    return 0;
}

static uint8_t *message(size_t len)
{
    uint8_t *m = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        m[i] = (uint8_t)(i % 251);
    return m;
}

static void expect_hex(const char *want_hex, const uint8_t *got, size_t len)
{
    char buf[2 * 131 + 1];
    hex_encode(got, len, buf);
    assert_int_equal(strlen(want_hex) >= 2 * len, 1);
    assert_memory_equal(buf, want_hex, 2 * len);
}

/* Feeds msg in pieces of `step` bytes (0: all at once). */
static void feed(struct b3_hasher *h, const uint8_t *msg, size_t len, size_t step)
{
    if (!step) {
        b3_update(h, msg, len);
        return;
    }
    for (size_t off = 0; off < len; off += step)
        b3_update(h, msg + off, len - off < step ? len - off : step);
}

static void check_all_vectors(void)
{
    json_t *cases = json_object_get(vectors, "cases");
    const char *key = json_string_value(json_object_get(vectors, "key"));
    const char *ctx = json_string_value(json_object_get(vectors, "context_string"));
    assert_non_null(cases);
    assert_int_equal(json_array_size(cases), 35);
#if PLG_SLOW_BUILD
    static const size_t steps[] = {0, 1, 65, 1025, 5000};
#else
    static const size_t steps[] = {0, 1, 63, 64, 65, 1023, 1024, 1025, 4096, 5000};
#endif
    size_t idx;
    json_t *c;
    json_array_foreach(cases, idx, c)
    {
        size_t len = (size_t)json_integer_value(json_object_get(c, "input_len"));
        const char *hash = json_string_value(json_object_get(c, "hash"));
        const char *keyed = json_string_value(json_object_get(c, "keyed_hash"));
        const char *derive = json_string_value(json_object_get(c, "derive_key"));
        uint8_t *msg = message(len);
        uint8_t out[131];

        b3_hash(msg, len, out);
        expect_hex(hash, out, 32);
        b3_keyed_hash((const uint8_t *)key, msg, len, out);
        expect_hex(keyed, out, 32);

        for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
            if (steps[s] == 1 && len > (PLG_SLOW_BUILD ? 1024 : 8192))
                continue; /* byte-at-a-time on the largest inputs adds time, not coverage */
            struct b3_hasher h;
            b3_init(&h);
            feed(&h, msg, len, steps[s]);
            b3_finalize(&h, out, sizeof out);
            expect_hex(hash, out, sizeof out);
            b3_init_keyed(&h, (const uint8_t *)key);
            feed(&h, msg, len, steps[s]);
            b3_finalize(&h, out, sizeof out);
            expect_hex(keyed, out, sizeof out);
            b3_init_derive_key(&h, ctx, strlen(ctx));
            feed(&h, msg, len, steps[s]);
            b3_finalize(&h, out, sizeof out);
            expect_hex(derive, out, sizeof out);
        }
        /* Seeking into the output stream: every start position and a few lengths. */
        struct b3_hasher h;
        b3_init(&h);
        b3_update(&h, msg, len);
        for (uint64_t seek = 0; seek < 131; seek += 7) {
            uint8_t part[131];
            size_t n = 131 - (size_t)seek;
            b3_finalize_seek(&h, seek, part, n);
            expect_hex(hash + 2 * seek, part, n);
        }
        free(msg);
    }
}

static void test_vectors_every_impl(void **state)
{
    (void)state;
    int tested = 0;
    for (int impl = B3_IMPL_PORTABLE; impl <= B3_IMPL_AVX512; impl++) {
        if (!b3_impl_supported((enum b3_impl)impl))
            continue;
        assert_int_equal(b3_set_impl((enum b3_impl)impl), 0);
        assert_int_equal(b3_get_impl(), impl);
        check_all_vectors();
        tested++;
    }
    assert_true(tested >= 1);
    b3_set_impl(B3_IMPL_AUTO);
}

static void test_empty_input_known_digest(void **state)
{
    (void)state;
    uint8_t out[32];
    char hex[65];
    b3_hash("", 0, out);
    hex_encode(out, 32, hex);
    assert_string_equal(hex, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* hash_many and whole-message hashing with each SIMD implementation equal the portable code. */
static void test_simd_equals_portable(void **state)
{
    (void)state;
    enum { MAXN = 19, MAXBLOCKS = 16 };
    uint8_t *data = malloc(MAXN * MAXBLOCKS * 64);
    uint8_t want[MAXN * 32], got[MAXN * 32];
    const uint8_t *in[MAXN];
    uint32_t key[8];
    for (int round = 0; round < 20; round++) {
        fill_random(data, MAXN * MAXBLOCKS * 64);
        for (int i = 0; i < 8; i++)
            key[i] = (uint32_t)rnd();
        size_t n = 1 + rnd() % MAXN, blocks = 1 + rnd() % MAXBLOCKS;
        uint64_t counter = rnd() % 3 ? rnd() % 1000 : 0xFFFFFFFEull; /* crosses 2^32 */
        bool inc = rnd() & 1;
        for (size_t i = 0; i < n; i++)
            in[i] = data + i * blocks * 64;
        b3_set_impl(B3_IMPL_PORTABLE);
        b3_hash_many(in, n, blocks, key, counter, inc, 0, B3_CHUNK_START, B3_CHUNK_END, want);
        for (int impl = B3_IMPL_SSE41; impl <= B3_IMPL_AVX512; impl++) {
            if (b3_set_impl((enum b3_impl)impl))
                continue;
            memset(got, 0, sizeof got);
            b3_hash_many(in, n, blocks, key, counter, inc, 0, B3_CHUNK_START, B3_CHUNK_END, got);
            assert_memory_equal(want, got, n * 32);
        }
    }
    /* Whole messages of random lengths up to 300 KiB, split into random updates. */
    size_t big = 300 * 1024;
    uint8_t *msg = malloc(big);
    fill_random(msg, big);
    for (int round = 0; round < 12; round++) {
        size_t len = rnd() % big;
        uint8_t a[64], b[64];
        b3_set_impl(B3_IMPL_PORTABLE);
        b3_hash(msg, len, a);
        for (int impl = B3_IMPL_SSE41; impl <= B3_IMPL_AVX512; impl++) {
            if (b3_set_impl((enum b3_impl)impl))
                continue;
            struct b3_hasher h;
            b3_init(&h);
            size_t off = 0;
            while (off < len) {
                size_t step = 1 + rnd() % 70000;
                step = step < len - off ? step : len - off;
                b3_update(&h, msg + off, step);
                off += step;
            }
            b3_finalize(&h, b, 32);
            assert_memory_equal(a, b, 32);
        }
    }
    free(msg);
    free(data);
    b3_set_impl(B3_IMPL_AUTO);
}

/* b3_hash_each equals one b3_hash per input, for lengths around every block boundary and
 * above one chunk (which take the scalar path), under every implementation. */
static void test_hash_each(void **state)
{
    (void)state;
    enum { N = 37 };
    uint8_t *bufs[N];
    const uint8_t *in[N];
    size_t lens[N];
    uint8_t want[N * 32], got[N * 32];
    for (int round = 0; round < 30; round++) {
        for (int i = 0; i < N; i++) {
            size_t r = rnd() % 10;
            lens[i] = r == 0   ? 0
                      : r == 1 ? 64 * (1 + rnd() % 16)
                      : r == 2 ? 1024 + rnd() % 3000
                               : rnd() % 1025;
            bufs[i] = malloc(lens[i] + 1);
            fill_random(bufs[i], lens[i]);
            in[i] = bufs[i];
            b3_set_impl(B3_IMPL_PORTABLE);
            b3_hash(in[i], lens[i], want + 32 * i);
        }
        size_t n = 1 + rnd() % N;
        for (int impl = B3_IMPL_PORTABLE; impl <= B3_IMPL_AVX512; impl++) {
            if (b3_set_impl((enum b3_impl)impl))
                continue;
            memset(got, 0, sizeof got);
            b3_hash_each(in, lens, n, got);
            assert_memory_equal(want, got, n * 32);
        }
        for (int i = 0; i < N; i++)
            free(bufs[i]);
    }
    b3_set_impl(B3_IMPL_AUTO);
}

static void test_hash_parts_equals_concatenation(void **state)
{
    (void)state;
    uint8_t buf[3000], a[32], b[32];
    fill_random(buf, sizeof buf);
    const uint8_t *parts[] = {buf, buf + 1, buf + 1000, buf + 2999};
    size_t lens[] = {1, 999, 1999, 1};
    b3_hash(buf, sizeof buf, a);
    b3_hash_parts(parts, lens, 4, b);
    assert_memory_equal(a, b, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_input_known_digest),
        cmocka_unit_test(test_vectors_every_impl),
        cmocka_unit_test(test_simd_equals_portable),
        cmocka_unit_test(test_hash_each),
        cmocka_unit_test(test_hash_parts_equals_concatenation),
    };
    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
