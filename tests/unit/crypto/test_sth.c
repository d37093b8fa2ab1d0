/* Signed tree heads (exact signed bytes, Ed25519 sign/verify, every field bound), the node key
 * files (created 0600, reloaded, refused when readable by others or malformed) and notary
 * receipts (check out, fail for another file, an altered field or another key). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/blake3.h"
#include "crypto/hex.h"
#include "crypto/merkle.h"
#include "crypto/sth.h"
#include "pyralog/pyralog.h"
#include "../tmpdir.h"

static void sample_head(struct sth *h)
{
    memset(h, 0, sizeof *h);
    strcpy(h->topic, "orders");
    h->partition = 3;
    h->tree_size = 0x0102030405060708ull;
    h->timestamp = 1700000000123ull;
    for (int i = 0; i < 32; i++)
        h->root[i] = (uint8_t)i;
}

static void test_sth_message_bytes(void **state)
{
    (void)state;
    struct sth h;
    sample_head(&h);
    struct buf b;
    buf_init(&b);
    assert_int_equal(sth_message(&h, &b), 0);
    uint8_t want[14 + 2 + 6 + 4 + 8 + 8 + 32];
    memcpy(want, "pyralog-sth-v1", 14);
    memcpy(want + 14, "\x00\x06orders\x00\x00\x00\x03", 12);
    memcpy(want + 26, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    memcpy(want + 34, "\x00\x00\x01\x8b\xcf\xe5\x68\x7b", 8);
    for (int i = 0; i < 32; i++)
        want[42 + i] = (uint8_t)i;
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    buf_free(&b);
}

static void test_sign_verify_binds_every_field(void **state)
{
    (void)state;
    struct node_key k;
    assert_int_equal(node_key_load_or_create(dir, &k), 0);
    struct sth h, m;
    sample_head(&h);
    assert_int_equal(sth_sign(&h, &k), 0);
    assert_int_equal(sth_verify(&h), 0);
    assert_memory_equal(h.public_key, k.pk, 32);
    m = h, m.topic[0] = 'O';
    assert_int_equal(sth_verify(&m), PLG_EVERIFY);
    m = h, m.partition++;
    assert_int_equal(sth_verify(&m), PLG_EVERIFY);
    m = h, m.tree_size--;
    assert_int_equal(sth_verify(&m), PLG_EVERIFY);
    m = h, m.timestamp++;
    assert_int_equal(sth_verify(&m), PLG_EVERIFY);
    for (int bit = 0; bit < 256; bit += 7) {
        m = h, m.root[bit / 8] ^= (uint8_t)(1 << (bit % 8));
        assert_int_equal(sth_verify(&m), PLG_EVERIFY);
    }
    m = h, m.signature[10] ^= 1;
    assert_int_equal(sth_verify(&m), PLG_EVERIFY);
    m = h, m.public_key[0] ^= 1;
    assert_int_equal(sth_verify(&m), PLG_EVERIFY);

    /* JSON round trip. */
    json_t *j = sth_to_json(&h);
    assert_non_null(j);
    struct sth back;
    assert_int_equal(sth_from_json(j, "orders", 3, &back, NULL), 0);
    assert_int_equal(sth_verify(&back), 0);
    json_object_set_new(j, "root", json_string("00"));
    const char *why = NULL;
    assert_int_equal(sth_from_json(j, "orders", 3, &back, &why), PLG_EINVAL);
    assert_string_equal(why, "root");
    json_decref(j);
}

static void test_key_file(void **state)
{
    (void)state;
    struct node_key a, b;
    assert_int_equal(node_key_load_or_create(dir, &a), 0);
    char path[400], pub[400];
    snprintf(path, sizeof path, "%s/meta/node.key", dir);
    snprintf(pub, sizeof pub, "%s/meta/node.pub", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(node_key_load_or_create(dir, &b), 0);
    assert_memory_equal(a.pk, b.pk, 32);
    assert_memory_equal(a.sk, b.sk, 64);
    /* The public file holds the hex public key. */
    FILE *f = fopen(pub, "r");
    char line[100] = {0};
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    char hex[65];
    hex_encode(a.pk, 32, hex);
    assert_memory_equal(line, hex, 64);
    /* Readable by others: refused. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(node_key_load_or_create(dir, &b), -EACCES);
    /* Malformed: refused, not replaced. */
    assert_int_equal(chmod(path, 0600), 0);
    f = fopen(path, "w");
    fputs("not hex\n", f);
    fclose(f);
    assert_int_equal(node_key_load_or_create(dir, &b), PLG_ECORRUPT);
}

/* A notary log of n records, record `at` stamping hash; builds its receipt. */
static char *make_receipt(const struct node_key *k, const uint8_t hash[32], uint64_t n, uint64_t at)
{
    struct mk_memtree t;
    struct mk_source src;
    mk_memtree_init(&t, &mk_blake3);
    mk_memtree_source(&t, &src);
    uint8_t leaf_at[32];
    for (uint64_t i = 0; i < n; i++) {
        uint8_t other[32], leaf[32];
        memset(other, (int)i, 32);
        struct mk_record r = {.offset = i,
                              .timestamp = 1700000000000 + (int64_t)i,
                              .key_len = -1,
                              .value = i == at ? hash : other,
                              .value_len = 32};
        assert_int_equal(mk_record_leaf(&r, leaf), 0);
        if (i == at)
            memcpy(leaf_at, leaf, 32);
        assert_int_equal(mk_memtree_append(&t, leaf), 0);
    }
    struct sth h;
    memset(&h, 0, sizeof h);
    strcpy(h.topic, NOTARY_TOPIC);
    h.tree_size = n;
    h.timestamp = 1700000009999;
    assert_int_equal(mk_root(&src, n, h.root), 0);
    assert_int_equal(sth_sign(&h, k), 0);
    uint8_t path[MK_MAX_PATH * 32];
    size_t count;
    assert_int_equal(mk_inclusion_proof(&src, at, n, path, &count), 0);
    json_t *r = receipt_build(hash, NOTARY_TOPIC, 0, at, 1700000000000 + (int64_t)at, leaf_at, path,
                              count, &h);
    assert_non_null(r);
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    mk_memtree_destroy(&t);
    return s;
}

/* Replaces the first occurrence of `from` in s with `to` (same length). */
static void patch(char *s, const char *from, const char *to)
{
    char *p = strstr(s, from);
    assert_non_null(p);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(p, to, strlen(to));
}

static void test_receipts(void **state)
{
    (void)state;
    struct node_key k, other;
    assert_int_equal(node_key_load_or_create(dir, &k), 0);
    crypto_sign_keypair(other.pk, other.sk);
    uint8_t hash[32], wrong[32];
    b3_hash("the file", 8, hash);
    b3_hash("another file", 12, wrong);
    const char *why = NULL;
    for (uint64_t n = 1; n <= 9; n += 4) {
        for (uint64_t at = 0; at < n; at += 2) {
            char *s = make_receipt(&k, hash, n, at);
            assert_int_equal(receipt_check(s, strlen(s), hash, NULL, &why), 0);
            assert_int_equal(receipt_check(s, strlen(s), hash, k.pk, &why), 0);
            assert_int_equal(receipt_check(s, strlen(s), wrong, NULL, &why), PLG_EVERIFY);
            assert_int_equal(receipt_check(s, strlen(s), hash, other.pk, &why), PLG_EVERIFY);
            free(s);
        }
    }
    char *s = make_receipt(&k, hash, 7, 3);
    char *orig = strdup(s);
    /* Each alteration: one field changed, the check fails and says why. */
    patch(s, "\"offset\":3", "\"offset\":4");
    assert_int_not_equal(receipt_check(s, strlen(s), hash, NULL, &why), 0);
    strcpy(s, orig);
    patch(s, "\"tree_size\":7", "\"tree_size\":8");
    assert_int_equal(receipt_check(s, strlen(s), hash, NULL, &why), PLG_EVERIFY);
    assert_non_null(strstr(why, "signature"));
    strcpy(s, orig);
    char *sig = strstr(s, "\"signature\":\"") + 13;
    sig[5] = sig[5] == '0' ? '1' : '0';
    assert_int_equal(receipt_check(s, strlen(s), hash, NULL, &why), PLG_EVERIFY);
    strcpy(s, orig);
    char *pr = strstr(s, "\"proof\":[\"") + 10;
    pr[0] = pr[0] == 'a' ? 'b' : 'a';
    assert_int_equal(receipt_check(s, strlen(s), hash, NULL, &why), PLG_EVERIFY);
    assert_non_null(strstr(why, "inclusion"));
    strcpy(s, orig);
    char *lf = strstr(s, "\"leaf\":\"") + 8;
    lf[0] = lf[0] == 'a' ? 'b' : 'a';
    assert_int_equal(receipt_check(s, strlen(s), hash, NULL, &why), PLG_EVERIFY);
    strcpy(s, orig);
    patch(s, "\"version\":1", "\"version\":2");
    assert_int_equal(receipt_check(s, strlen(s), hash, NULL, &why), PLG_EINVAL);
    /* Garbage and truncations never crash. */
    for (size_t cut = 0; cut < strlen(orig); cut += 5)
        assert_int_not_equal(receipt_check(orig, cut, hash, NULL, &why), 0);
    assert_int_equal(receipt_check(orig, strlen(orig), hash, NULL, &why), 0);
    free(orig);
    free(s);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sth_message_bytes),
        cmocka_unit_test_setup_teardown(test_sign_verify_binds_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
