/*
 * dirverify.h — offline verification of one partition directory (`pyralog verify`).
 *
 * Reads, never writes: every segment's batches (frame, header, CRC-32C, records), offset order
 * and continuity across batches and segments, every offset-index and time-index entry, and the
 * partition's Merkle tree: every stored leaf equals the leaf recomputed from the record at that
 * offset, every stored interior node equals the hash of its two stored children, and the tree
 * covers exactly the log's offsets. The first problem found (lowest offset) is reported.
 *
 * Thread model: any thread, blocking file I/O. Depends on storage/batch.h for the batch format
 * and on crypto/ptree.h for the .merkle format.
 */
#ifndef PLG_CRYPTO_DIRVERIFY_H
#define PLG_CRYPTO_DIRVERIFY_H

#include <stdbool.h>
#include <stdint.h>

struct dv_result {
    uint64_t segments, batches, records, index_entries, tree_size;
    bool has_tree;
    int64_t bad_offset; /* first bad offset, -1 when the problem has no offset */
    char what[400];     /* what is wrong, one line */
};

/*
 * Verifies the partition in dir. Returns 0 when everything checks out, PLG_EVERIFY when a
 * problem was found (r->bad_offset and r->what say which), or a negative error when dir cannot
 * be read. require_tree: a missing tree is a problem (topics with merkle.enable=true).
 */
int dv_partition(const char *dir, bool require_tree, struct dv_result *r);

#endif
