/* Merkle math: SHA-256 against the RFC 6962 test tree and every transparency-dev inclusion and
 * consistency vector; BLAKE3 property tests for all tree sizes up to 300 (roots equal a naive
 * RFC recursion, every proof verifies, flipped bits and wrong sizes fail); the leaf encoding. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto/blake3.h"
#include "crypto/hex.h"
#include "crypto/merkle.h"
#include "pyralog/pyralog.h"
#include "../slow_build.h"

#define TD PLG_TESTDATA_DIR "/merkle"

static uint8_t *hexdup(const char *s, size_t *len)
{
    size_t n = strlen(s) / 2;
    uint8_t *p = malloc(n + 1);
    assert_int_equal(hex_decode(s, strlen(s), p, n), 0);
    *len = n;
    return p;
}

static void hex32(const char *s, uint8_t out[32])
{
    assert_int_equal(hex_decode(s, strlen(s), out, 32), 0);
}

/* ---- RFC 6962 test tree ------------------------------------------------------------------ */

/* Checks a produced proof path (count hashes) against the expected JSON array of hex hashes;
 * fills want/els with the expected hashes for the verifier. */
static void check_proof(json_t *proof, const uint8_t *path, size_t count, uint8_t want[][32],
                        struct mk_bytes *els)
{
    assert_int_equal(count, json_array_size(proof));
    for (size_t k = 0; k < count; k++) {
        hex32(json_string_value(json_array_get(proof, k)), want[k]);
        assert_memory_equal(want[k], path + 32 * k, 32);
        els[k] = (struct mk_bytes){want[k], 32};
    }
}

static void test_rfc6962_tree(void **state)
{
    (void)state;
    json_error_t err;
    json_t *j = json_load_file(TD "/rfc6962_sha256.json", 0, &err);
    assert_non_null(j);
    struct mk_memtree t;
    struct mk_source src;
    mk_memtree_init(&t, &mk_sha256);
    mk_memtree_source(&t, &src);
    uint8_t want[32], got[32];

    hex32(json_string_value(json_object_get(j, "empty_tree_root")), want);
    mk_root(&src, 0, got);
    assert_memory_equal(want, got, 32);

    json_t *inputs = json_object_get(j, "leaf_inputs"), *hashes = json_object_get(j, "leaf_hashes");
    assert_int_equal(json_array_size(inputs), 8);
    for (size_t i = 0; i < 8; i++) {
        size_t len;
        uint8_t *in = hexdup(json_string_value(json_array_get(inputs, i)), &len);
        mk_leaf_hash(&mk_sha256, in, len, got);
        hex32(json_string_value(json_array_get(hashes, i)), want);
        assert_memory_equal(want, got, 32);
        assert_int_equal(mk_memtree_append(&t, got), 0);
        free(in);
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "roots"), i, e)
    {
        hex32(json_string_value(json_object_get(e, "root")), want);
        assert_int_equal(
            mk_root(&src, (uint64_t)json_integer_value(json_object_get(e, "tree_size")), got), 0);
        assert_memory_equal(want, got, 32);
    }
    uint8_t path[MK_MAX_PATH * 32];
    size_t count;
    int n_incl = 0, n_cons = 0;
    json_array_foreach(json_object_get(j, "inclusion_proofs"), i, e)
    {
        uint64_t idx = (uint64_t)json_integer_value(json_object_get(e, "leaf_index"));
        uint64_t size = (uint64_t)json_integer_value(json_object_get(e, "tree_size"));
        json_t *proof = json_object_get(e, "proof");
        assert_int_equal(mk_inclusion_proof(&src, idx, size, path, &count), 0);
        assert_int_equal(count, mk_inclusion_len(idx, size));
        struct mk_bytes els[MK_MAX_PATH];
        uint8_t wantp[MK_MAX_PATH][32];
        check_proof(proof, path, count, wantp, els);
        uint8_t leaf[32], root[32];
        hex32(json_string_value(json_object_get(e, "leaf_hash")), leaf);
        hex32(json_string_value(json_object_get(e, "root")), root);
        assert_int_equal(mk_verify_inclusion(&mk_sha256, idx, size, (struct mk_bytes){leaf, 32},
                                             els, count, (struct mk_bytes){root, 32}),
                         0);
        n_incl++;
    }
    json_array_foreach(json_object_get(j, "consistency_proofs"), i, e)
    {
        uint64_t s1 = (uint64_t)json_integer_value(json_object_get(e, "size1"));
        uint64_t s2 = (uint64_t)json_integer_value(json_object_get(e, "size2"));
        json_t *proof = json_object_get(e, "proof");
        assert_int_equal(mk_consistency_proof(&src, s1, s2, path, &count), 0);
        assert_int_equal(count, mk_consistency_len(s1, s2));
        struct mk_bytes els[MK_MAX_PATH];
        uint8_t wantp[MK_MAX_PATH][32];
        check_proof(proof, path, count, wantp, els);
        uint8_t r1[32], r2[32];
        hex32(json_string_value(json_object_get(e, "root1")), r1);
        hex32(json_string_value(json_object_get(e, "root2")), r2);
        assert_int_equal(mk_verify_consistency(&mk_sha256, s1, s2, (struct mk_bytes){r1, 32},
                                               (struct mk_bytes){r2, 32}, els, count),
                         0);
        n_cons++;
    }
    assert_int_equal(n_incl, 36);
    assert_int_equal(n_cons, 36);
    mk_memtree_destroy(&t);
    json_decref(j);
}

/* ---- transparency-dev vectors ------------------------------------------------------------- */

struct b64 {
    uint8_t p[256];
    size_t len;
};

static void b64(json_t *v, struct b64 *out)
{
    const char *s = json_string_value(v);
    out->len = 0;
    if (!s)
        return;
    assert_int_equal(sodium_base642bin(out->p, sizeof out->p, s, strlen(s), NULL, &out->len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
}

static int n_files, n_ok, n_fail;

/* The vectors hold sizes up to 2^64 - 1, which jansson only reads as reals; -1 (a must-fail
 * mutation) wraps to 2^64 - 1 like the unsigned upstream fields. */
static uint64_t num(json_t *v)
{
    double d = json_number_value(v);
    if (d < 0)
        return (uint64_t)(int64_t)d;
    if (d >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)d;
}

static void check_vector_file(const char *path, bool inclusion)
{
    json_error_t err;
    json_t *j = json_load_file(path, JSON_DECODE_INT_AS_REAL, &err);
    if (!j)
        fail_msg("%s: %s", path, err.text);
    json_t *proof = json_object_get(j, "proof");
    size_t count = json_is_array(proof) ? json_array_size(proof) : 0;
    struct b64 *els = calloc(count + 1, sizeof *els);
    struct mk_bytes mb[MK_MAX_PATH + 4];
    assert_true(count <= MK_MAX_PATH + 4);
    for (size_t k = 0; k < count; k++) {
        b64(json_array_get(proof, k), &els[k]);
        mb[k] = (struct mk_bytes){els[k].p, els[k].len};
    }
    bool want_err = json_is_true(json_object_get(j, "wantErr"));
    int rc;
    if (inclusion) {
        struct b64 leaf, root;
        b64(json_object_get(j, "leafHash"), &leaf);
        b64(json_object_get(j, "root"), &root);
        uint64_t idx = num(json_object_get(j, "leafIdx"));
        uint64_t size = num(json_object_get(j, "treeSize"));
        rc = mk_verify_inclusion(&mk_sha256, idx, size, (struct mk_bytes){leaf.p, leaf.len}, mb,
                                 count, (struct mk_bytes){root.p, root.len});
    } else {
        struct b64 r1, r2;
        b64(json_object_get(j, "root1"), &r1);
        b64(json_object_get(j, "root2"), &r2);
        uint64_t s1 = num(json_object_get(j, "size1"));
        uint64_t s2 = num(json_object_get(j, "size2"));
        rc = mk_verify_consistency(&mk_sha256, s1, s2, (struct mk_bytes){r1.p, r1.len},
                                   (struct mk_bytes){r2.p, r2.len}, mb, count);
    }
    if (want_err != (rc != 0))
        fail_msg("%s: wantErr=%d but verifier returned %d", path, want_err, rc);
    n_files++;
    if (rc)
        n_fail++;
    else
        n_ok++;
    free(els);
    json_decref(j);
}

static void walk(const char *dir, bool inclusion)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t n = strlen(de->d_name);
        if (n > 5 && !strcmp(de->d_name + n - 5, ".json"))
            check_vector_file(path, inclusion);
        else if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
            walk(path, inclusion);
    }
    closedir(d);
}

static void test_transparency_dev_vectors(void **state)
{
    (void)state;
    n_files = n_ok = n_fail = 0;
    walk(TD "/transparency-dev/inclusion", true);
    int incl = n_files;
    walk(TD "/transparency-dev/consistency", false);
    assert_int_equal(incl, 98);
    assert_int_equal(n_files, 196);
    assert_true(n_ok >= 10); /* the happy paths and the equal-size success */
    assert_true(n_fail >= 150);
}

/* ---- BLAKE3 property tests ------------------------------------------------------------------ */

/* MTH straight from the RFC definition, independent of merkle.c's range code. */
static void naive_root(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32])
{
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[32], r[32], buf[65];
    naive_root(leaves, k, l);
    naive_root(leaves + k, n - k, r);
    buf[0] = 1;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    b3_hash(buf, 65, out);
}

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

enum { MAXN = 300 };

/* Every proof of every size is verified; the mutations (about four verifications each) run for
 * every proof of trees up to 40 leaves and for a random eighth above, to keep the test fast
 * under the sanitizers. */
static bool negative_check(uint64_t n)
{
    return n <= 40 || rnd() % 8 == 0;
}

/* The sanitizer build (-O0, ASan, UBSan, coverage) hashes ~100x slower; it checks memory
 * safety, so it walks every size up to 32 and every 25th above. The normal build walks all. */
static bool size_checked(uint64_t n)
{
#if PLG_SLOW_BUILD
    return n <= 32 || n % 25 == 0 || n == MAXN - 1;
#else
    (void)n;
    return true;
#endif
}

static void test_blake3_all_sizes(void **state)
{
    (void)state;
    static uint8_t leaves[MAXN][32];
    struct mk_memtree t;
    struct mk_source src;
    mk_memtree_init(&t, &mk_blake3);
    mk_memtree_source(&t, &src);
    for (int i = 0; i < MAXN; i++) {
        uint8_t data[16];
        for (int k = 0; k < 16; k++)
            data[k] = (uint8_t)rnd();
        mk_leaf_hash(&mk_blake3, data, sizeof data, leaves[i]);
        assert_int_equal(mk_memtree_append(&t, leaves[i]), 0);
    }
    static uint8_t roots[MAXN + 1][32];
    mk_empty_root(&mk_blake3, roots[0]);
    uint8_t e[32];
    b3_hash("", 0, e);
    assert_memory_equal(roots[0], e, 32);
    for (uint64_t n = 1; n <= MAXN; n++) {
        uint8_t want[32];
        naive_root(leaves, n, want);
        assert_int_equal(mk_root(&src, n, roots[n]), 0);
        assert_memory_equal(want, roots[n], 32);
    }
    uint8_t path[MK_MAX_PATH * 32];
    struct mk_bytes els[MK_MAX_PATH];
    size_t count;
    long proofs = 0, flips = 0;
    for (uint64_t n = 1; n <= MAXN; n++) {
        if (!size_checked(n))
            continue;
        struct mk_bytes root = {roots[n], 32};
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(mk_inclusion_proof(&src, i, n, path, &count), 0);
            assert_int_equal(count, mk_inclusion_len(i, n));
            for (size_t k = 0; k < count; k++)
                els[k] = (struct mk_bytes){path + 32 * k, 32};
            struct mk_bytes leaf = {leaves[i], 32};
            assert_int_equal(mk_verify_inclusion(&mk_blake3, i, n, leaf, els, count, root), 0);
            proofs++;
            if (!negative_check(n))
                continue;
            /* Wrong index, a dropped element: both fail. */
            assert_int_not_equal(mk_verify_inclusion(&mk_blake3, i ^ 1, n, leaf, els, count, root),
                                 0);
            /* (A path for size n can also fit size n + 1 when the shapes agree: the signed
             * head binds size and root together, so only a wrong-length path is checked.) */
            if (mk_inclusion_len(i, n + 1) != count)
                assert_int_not_equal(
                    mk_verify_inclusion(&mk_blake3, i, n + 1, leaf, els, count, root), 0);
            if (count)
                assert_int_not_equal(
                    mk_verify_inclusion(&mk_blake3, i, n, leaf, els, count - 1, root), 0);
            /* Flipped bits: every bit for trees up to 5 leaves, three random bits otherwise. */
            size_t total_bits = (count + 2) * 256;
            size_t nbits = n <= 5 ? total_bits : 3;
            for (size_t b = 0; b < nbits; b++) {
                size_t bit = nbits == total_bits ? b : rnd() % total_bits;
                uint8_t lcopy[32], rcopy[32];
                memcpy(lcopy, leaves[i], 32);
                memcpy(rcopy, roots[n], 32);
                uint8_t *target = bit < 256   ? lcopy
                                  : bit < 512 ? rcopy
                                              : path + (bit / 256 - 2) * 32;
                target[(bit % 256) / 8] ^= (uint8_t)(1u << (bit % 8));
                assert_int_not_equal(mk_verify_inclusion(&mk_blake3, i, n,
                                                         (struct mk_bytes){lcopy, 32}, els, count,
                                                         (struct mk_bytes){rcopy, 32}),
                                     0);
                target[(bit % 256) / 8] ^= (uint8_t)(1u << (bit % 8));
                flips++;
            }
        }
        for (uint64_t m = 1; m <= n; m++) {
            assert_int_equal(mk_consistency_proof(&src, m, n, path, &count), 0);
            assert_int_equal(count, mk_consistency_len(m, n));
            for (size_t k = 0; k < count; k++)
                els[k] = (struct mk_bytes){path + 32 * k, 32};
            struct mk_bytes r1 = {roots[m], 32};
            assert_int_equal(mk_verify_consistency(&mk_blake3, m, n, r1, root, els, count), 0);
            proofs++;
            if (m == n || !negative_check(n))
                continue;
            /* The proof does not carry over to other sizes or other roots. */
            assert_int_not_equal(mk_verify_consistency(&mk_blake3, m, n,
                                                       (struct mk_bytes){roots[m - 1], 32}, root,
                                                       els, count),
                                 0);
            uint64_t other = n - 1 > m ? n - 1 : n + 1;
            if (mk_consistency_len(m, other) != count)
                assert_int_not_equal(
                    mk_verify_consistency(&mk_blake3, m, other, r1, root, els, count), 0);
            size_t total_bits = (count + 2) * 256;
            size_t nbits = n <= 5 ? total_bits : 3;
            for (size_t b = 0; b < nbits; b++) {
                size_t bit = nbits == total_bits ? b : rnd() % total_bits;
                uint8_t c1[32], c2[32];
                memcpy(c1, roots[m], 32);
                memcpy(c2, roots[n], 32);
                uint8_t *target = bit < 256 ? c1 : bit < 512 ? c2 : path + (bit / 256 - 2) * 32;
                target[(bit % 256) / 8] ^= (uint8_t)(1u << (bit % 8));
                assert_int_not_equal(mk_verify_consistency(&mk_blake3, m, n,
                                                           (struct mk_bytes){c1, 32},
                                                           (struct mk_bytes){c2, 32}, els, count),
                                     0);
                target[(bit % 256) / 8] ^= (uint8_t)(1u << (bit % 8));
                flips++;
            }
        }
    }
#ifndef PLG_SLOW_BUILD
    assert_true(proofs == 2 * (MAXN * (MAXN + 1) / 2));
    assert_true(flips > 20000);
#endif
    /* Truncation keeps earlier roots. */
    mk_memtree_truncate(&t, 77);
    uint8_t r77[32];
    assert_int_equal(mk_root(&src, 77, r77), 0);
    assert_memory_equal(r77, roots[77], 32);
    assert_int_not_equal(mk_root(&src, 78, r77), 0);
    mk_memtree_destroy(&t);
}

/* ---- leaf encoding -------------------------------------------------------------------------- */

static void test_leaf_encoding(void **state)
{
    (void)state;
    struct mk_header hd[2] = {{(const uint8_t *)"h1", 2, (const uint8_t *)"v", 1},
                              {(const uint8_t *)"h2", 2, NULL, -1}};
    struct mk_record r = {.offset = 0x0102030405060708ull,
                          .timestamp = 1700000000123,
                          .key = NULL,
                          .key_len = -1,
                          .value = (const uint8_t *)"hello",
                          .value_len = 5,
                          .headers = hd,
                          .header_count = 2};
    struct buf b;
    buf_init(&b);
    assert_int_equal(mk_leaf_input(&b, &r), 0);
    static const uint8_t want[] = {
        0x00,                                                /* leaf prefix */
        1,    2,    3,    4,    5,    6,    7,    8,         /* offset */
        0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b,      /* timestamp 1700000000123 */
        0xff, 0xff, 0xff, 0xff,                              /* null key */
        0,    0,    0,    5,    'h',  'e',  'l',  'l',  'o', /* value */
        0,    0,    0,    2,                                 /* header count */
        0,    0,    0,    2,    'h',  '1',  0,    0,    0,    1,    'v', /* header 1 */
        0,    0,    0,    2,    'h',  '2',  0xff, 0xff, 0xff, 0xff,      /* header 2, null */
    };
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    uint8_t leaf[32], direct[32];
    assert_int_equal(mk_record_leaf(&r, leaf), 0);
    b3_hash(want, sizeof want, direct);
    assert_memory_equal(leaf, direct, 32);
    /* A negative timestamp is written as its two's complement (i64be). */
    buf_reset(&b);
    r.timestamp = -1;
    r.header_count = 0;
    assert_int_equal(mk_leaf_input(&b, &r), 0);
    assert_memory_equal(b.data + 9, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    hd[0].key_len = -1;
    r.header_count = 1;
    buf_reset(&b);
    assert_int_equal(mk_leaf_input(&b, &r), PLG_EINVAL);
    buf_free(&b);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6962_tree),
        cmocka_unit_test(test_transparency_dev_vectors),
        cmocka_unit_test(test_blake3_all_sizes),
        cmocka_unit_test(test_leaf_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
