/*
 * merkle.h — Merkle tree math of the verifiable log (RFC 9162 §2.1 shape), hash as a parameter.
 *
 * Owns: leaf/node hashing with domain separation (leaf = H(0x00 ‖ data), node = H(0x01 ‖ l ‖ r),
 * empty tree = H("")), tree roots, inclusion and consistency proofs and their verification, the
 * record leaf encoding of ARCHITECTURE.md ("Verifiable log — exact construction"), and an
 * in-memory tree (mk_memtree) that stores every complete subtree.
 *
 * Trees are read through a node source: a callback that returns the hash of a complete subtree
 * of 2^level leaves starting at a multiple of 2^level. Every RFC 9162 range hash is built from
 * such subtrees, so any store that keeps them (memory, the per-partition .merkle files) gets
 * roots and proofs with O(log n) lookups.
 *
 * Invariants: pure functions, no I/O and no clock; verification never reads outside the given
 * buffers and treats every length as untrusted. Thread model: any thread; a mk_memtree belongs
 * to one thread at a time. Depends on crypto/blake3 and libsodium (SHA-256, for the vectors).
 */
#ifndef PLG_CRYPTO_MERKLE_H
#define PLG_CRYPTO_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define MK_HASH_MAX 64
#define MK_MAX_PATH 64 /* proof elements for any tree of up to 2^64 leaves */

/* A hash function: out (size bytes) = H(parts[0] ‖ ... ‖ parts[n-1]). */
struct mk_hash {
    const char *name;
    size_t size;
    void (*fn)(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out);
};

extern const struct mk_hash mk_blake3; /* the production hash */
extern const struct mk_hash mk_sha256; /* RFC 6962's hash, for the reference vectors */

void mk_leaf_hash(const struct mk_hash *h, const uint8_t *data, size_t len, uint8_t *out);
void mk_node_hash(const struct mk_hash *h, const uint8_t *left, const uint8_t *right, uint8_t *out);
void mk_empty_root(const struct mk_hash *h, uint8_t *out);

/* Where a tree's complete subtrees come from. node() returns 0 or a negative error. */
struct mk_source {
    const struct mk_hash *hash;
    int (*node)(void *ctx, uint64_t start, unsigned level, uint8_t *out);
    void *ctx;
};

/* Root of the first `size` leaves (size 0: the empty-tree root). */
int mk_root(const struct mk_source *s, uint64_t size, uint8_t *out);
/* Hash of leaves [start, start + n), n >= 1, start a multiple of the largest power of two
 * below n (every range the RFC recursion produces is). */
int mk_range_hash(const struct mk_source *s, uint64_t start, uint64_t n, uint8_t *out);
/* Inclusion proof (audit path, bottom to top) of leaf `index` in the tree of `size` leaves:
 * *count elements of hash->size bytes written to path (room for MK_MAX_PATH). */
int mk_inclusion_proof(const struct mk_source *s, uint64_t index, uint64_t size, uint8_t *path,
                       size_t *count);
/* Consistency proof between sizes 0 < from <= to (empty when from == to). */
int mk_consistency_proof(const struct mk_source *s, uint64_t from, uint64_t to, uint8_t *path,
                         size_t *count);
/* Number of elements the proofs above have (0 for impossible arguments). */
size_t mk_inclusion_len(uint64_t index, uint64_t size);
size_t mk_consistency_len(uint64_t from, uint64_t to);

/* Untrusted bytes: a proof element, a leaf hash or a root as received. */
struct mk_bytes {
    const uint8_t *p;
    size_t len;
};

/* RFC 9162 §2.1.3.2. 0 when the path proves leaf_hash is leaf `index` of the tree of `size`
 * leaves with this root; PLG_EVERIFY otherwise (also for wrong lengths or index >= size). */
int mk_verify_inclusion(const struct mk_hash *h, uint64_t index, uint64_t size,
                        struct mk_bytes leaf_hash, const struct mk_bytes *path, size_t count,
                        struct mk_bytes root);
/* RFC 9162 §2.1.4.2. from == 0 and from > to always fail; from == to succeeds only with an
 * empty proof and identical roots. 0 or PLG_EVERIFY. */
int mk_verify_consistency(const struct mk_hash *h, uint64_t from, uint64_t to,
                          struct mk_bytes root1, struct mk_bytes root2, const struct mk_bytes *path,
                          size_t count);

/* ---- the record leaf ----------------------------------------------------------------------- */

struct mk_header {
    const uint8_t *key;
    int32_t key_len; /* header keys are never null; negative is an error */
    const uint8_t *value;
    int32_t value_len; /* -1: null */
};

/* A record as the leaf encoding sees it: its content, not its batch framing. */
struct mk_record {
    uint64_t offset;
    int64_t timestamp; /* ms since the epoch, absolute (batch base + delta) */
    const uint8_t *key;
    int32_t key_len; /* -1: null */
    const uint8_t *value;
    int32_t value_len; /* -1: null */
    const struct mk_header *headers;
    uint32_t header_count;
};

/* Appends 0x00 ‖ enc(record) (the exact bytes the leaf hash covers) to b.
 * Returns 0, PLG_EINVAL for a negative header key length, PLG_ENOMEM. */
int mk_leaf_input(struct buf *b, const struct mk_record *r);
/* BLAKE3 leaf hash of one record. */
int mk_record_leaf(const struct mk_record *r, uint8_t out[32]);

/* ---- in-memory tree ------------------------------------------------------------------------ */

/* Every complete subtree of the leaves appended so far: level l holds size >> l hashes. */
struct mk_memtree {
    const struct mk_hash *hash;
    uint64_t size;
    struct buf levels[MK_MAX_PATH];
};

void mk_memtree_init(struct mk_memtree *t, const struct mk_hash *h);
void mk_memtree_destroy(struct mk_memtree *t);
/* Appends one leaf hash (hash->size bytes). 0 or PLG_ENOMEM. */
int mk_memtree_append(struct mk_memtree *t, const uint8_t *leaf_hash);
/* Drops leaves >= size (size <= t->size). */
void mk_memtree_truncate(struct mk_memtree *t, uint64_t size);
/* A node source reading t (valid while t lives and is not appended to concurrently). */
void mk_memtree_source(struct mk_memtree *t, struct mk_source *s);

#endif
