/*
 * notary_fixture — writes a notary receipt for FILE without a server, the way notary.stamp does:
 * a __notary tree of N records (N given) whose record AT holds BLAKE3(FILE), signed by a fresh
 * node key. Prints the public key (hex) on stdout. Used by tests/integration/test_notary_cli.py.
 * usage: notary_fixture FILE RECEIPT_OUT N AT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/blake3.h"
#include "crypto/hex.h"
#include "crypto/merkle.h"
#include "crypto/sth.h"

int main(int argc, char **argv)
{
    if (argc != 5 || sodium_init() < 0)
        return 2;
    uint64_t n = strtoull(argv[3], NULL, 10), at = strtoull(argv[4], NULL, 10);
    if (at >= n)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 1;
    struct b3_hasher h;
    b3_init(&h);
    uint8_t buf[4096], hash[32];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        b3_update(&h, buf, k);
    fclose(f);
    b3_finalize(&h, hash, 32);

    struct node_key key;
    crypto_sign_keypair(key.pk, key.sk);
    struct mk_memtree t;
    struct mk_source src;
    mk_memtree_init(&t, &mk_blake3);
    mk_memtree_source(&t, &src);
    uint8_t leaf_at[32];
    const int64_t t0 = 1764000000000;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t filler[32], leaf[32];
        b3_hash(&i, sizeof i, filler);
        struct mk_record r = {.offset = i,
                              .timestamp = t0 + (int64_t)i,
                              .key_len = -1,
                              .value = i == at ? hash : filler,
                              .value_len = 32};
        if (mk_record_leaf(&r, leaf) || mk_memtree_append(&t, leaf))
            return 1;
        if (i == at)
            memcpy(leaf_at, leaf, 32);
    }
    struct sth head;
    memset(&head, 0, sizeof head);
    strcpy(head.topic, NOTARY_TOPIC);
    head.tree_size = n;
    head.timestamp = (uint64_t)t0 + n;
    uint8_t path[MK_MAX_PATH * 32];
    size_t count;
    if (mk_root(&src, n, head.root) || sth_sign(&head, &key) ||
        mk_inclusion_proof(&src, at, n, path, &count))
        return 1;
    json_t *r =
        receipt_build(hash, NOTARY_TOPIC, 0, at, t0 + (int64_t)at, leaf_at, path, count, &head);
    if (!r || json_dump_file(r, argv[2], JSON_INDENT(2)))
        return 1;
    json_decref(r);
    mk_memtree_destroy(&t);
    char hex[65];
    hex_encode(key.pk, 32, hex);
    printf("%s\n", hex);
    return 0;
}
