/*
 * fuzz_merkle_verify — proof verification on attacker-chosen bytes: index, sizes, proof
 * elements of any lengths and roots. Must never crash or read out of bounds; the one
 * well-formed proof built from the input must still verify.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "crypto/merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rd r;
    rd_init(&r, data, size);
    uint64_t a, b;
    uint8_t n, mode;
    if (rd_be64(&r, &a) || rd_be64(&r, &b) || rd_u8(&r, &mode) || rd_u8(&r, &n))
        return 0;
    struct mk_bytes els[80], x = {0}, y = {0};
    size_t count = 0;
    /* Elements: a length byte then that many bytes (truncated at the end of the input). */
    for (int i = 0; i < 2 + n && count < 80; i++) {
        uint8_t len;
        if (rd_u8(&r, &len))
            break;
        size_t take = len < rd_left(&r) ? len : rd_left(&r);
        const uint8_t *p;
        rd_bytes(&r, &p, take);
        struct mk_bytes e = {p, take};
        if (i == 0)
            x = e;
        else if (i == 1)
            y = e;
        else
            els[count++] = e;
    }
    const struct mk_hash *h = (mode & 1) ? &mk_sha256 : &mk_blake3;
    if (mode & 2)
        mk_verify_inclusion(h, a, b, x, els, count, y);
    else
        mk_verify_consistency(h, a, b, x, y, els, count);

    /* A real tree over the remaining bytes: its own proofs verify. */
    size_t leaves = rd_left(&r) % 40 + 1;
    struct mk_memtree t;
    struct mk_source src;
    mk_memtree_init(&t, h);
    mk_memtree_source(&t, &src);
    for (size_t i = 0; i < leaves; i++) {
        uint8_t lh[32];
        mk_leaf_hash(h, data, i < size ? i : size, lh);
        if (mk_memtree_append(&t, lh))
            abort();
    }
    uint64_t idx = a % leaves, m = b % leaves + 1;
    uint8_t path[MK_MAX_PATH * 32], root[32], root1[32], leaf[32];
    size_t c;
    struct mk_bytes pe[MK_MAX_PATH];
    mk_root(&src, leaves, root);
    mk_leaf_hash(h, data, idx < size ? idx : size, leaf);
    if (mk_inclusion_proof(&src, idx, leaves, path, &c))
        abort();
    for (size_t i = 0; i < c; i++)
        pe[i] = (struct mk_bytes){path + 32 * i, 32};
    if (mk_verify_inclusion(h, idx, leaves, (struct mk_bytes){leaf, 32}, pe, c,
                            (struct mk_bytes){root, 32}))
        abort();
    mk_root(&src, m, root1);
    if (mk_consistency_proof(&src, m, leaves, path, &c))
        abort();
    for (size_t i = 0; i < c; i++)
        pe[i] = (struct mk_bytes){path + 32 * i, 32};
    if (mk_verify_consistency(h, m, leaves, (struct mk_bytes){root1, 32},
                              (struct mk_bytes){root, 32}, pe, c))
        abort();
    mk_memtree_destroy(&t);
    return 0;
}
