/*
 * ptree.h — the Merkle tree of one partition, kept on append in per-segment .merkle files.
 *
 * Leaf i is the record at offset i (BLAKE3 leaf of ARCHITECTURE.md's record encoding); the tree
 * is the RFC 9162 tree over leaves 0 .. size-1, so the tree size always equals the log end
 * offset once the tree has caught up.
 *
 * File format (<base:020>.merkle, docs/verifiable-log.md): a 16-byte header, "PLGMRK02" then
 * u64be(base), then for each leaf i = base, base+1, ... its record: the leaf hash followed by
 * the hashes of the complete subtrees of PTREE_LOW levels or more that leaf i completes (levels
 * PTREE_LOW, PTREE_LOW+1, ... as long as the bits of i are 1), 32 bytes each. Levels 1 ..
 * PTREE_LOW-1 are not stored (that halves the bytes written per record); such a node is
 * recomputed from its at most 2^(PTREE_LOW-1) leaves, which are contiguous in the file. Leaf
 * i's record starts at hash index P(i) - P(base) with P(i) = i + m - popcount(m), m = i >>
 * (PTREE_LOW-1), so a stored subtree (start, level) is one pread: it sits 1 + level - PTREE_LOW
 * hashes after the record start of its last leaf. A proof therefore costs O(log n) reads and no
 * rehashing of the log. Files are append-only; a file starts where a log segment starts
 * (PLG_SEG_CREATED); when the segment is sealed, the log's flusher fdatasyncs it with its next
 * group commit (plg_log_sync_file: never on the appending thread). Files of segments removed by
 * retention are kept: heads and proofs cover the whole history (compaction keeps leaves too).
 *
 * Recovery (ptree_open): a torn record at a file end is cut; files must chain (each base = the
 * previous end); the newest file is always re-derived from the log, and leaves past the log end
 * are dropped, so a tree that does not match the log after a crash is rebuilt from the log.
 * After a clean shutdown (ptree_mark_clean) the newest file is trusted when its leaf count
 * matches the marker and the log end, so a restart does not rehash the active segment.
 *
 * Thread model: the log's owner thread (the hooks run inside plg_log_append). Depends on the
 * public log API (pyralog/log.h) and the batch parser (storage/batch.h).
 */
#ifndef PLG_CRYPTO_PTREE_H
#define PLG_CRYPTO_PTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/merkle.h"
#include "pyralog/log.h"

#define PTREE_MAGIC "PLGMRK02"
#define PTREE_LOW 4 /* lowest stored interior level */
#define PTREE_HEADER 16

struct ptree;

struct ptree_recovery {
    uint64_t loaded;       /* leaves found in .merkle files */
    uint64_t rebuilt_from; /* first leaf re-derived from the log (UINT64_MAX: none) */
    uint64_t rebuilt;      /* leaves re-derived from the log */
    uint64_t dropped;      /* stored leaves discarded before re-deriving them */
};

/*
 * Opens the tree of the partition directory dir (NULL: in memory, for memory-only logs) and
 * brings it in line with log (which must be open). Does not install hooks. rec may be NULL.
 * Returns PLG_ESTATE when the log no longer holds offset 0 and no tree files cover it (the
 * tree cannot be built: leaf index = offset).
 */
int ptree_open(const char *dir, plg_log_t *log, struct ptree **out, struct ptree_recovery *rec);
/* Closes files and frees. NULL is a no-op. */
void ptree_close(struct ptree *t);

/* Hooks that keep the tree up to date; install with plg_log_set_hooks(log, &hooks). When the
 * caller has hooks of its own, forward on_append / on_segment_event to ptree_on_append /
 * ptree_on_segment_event. */
void ptree_hooks(struct ptree *t, struct plg_log_hooks *hooks);
void ptree_on_append(void *t, int64_t base_offset, const uint8_t *batch, size_t len);
void ptree_on_segment_event(void *t, enum plg_segment_event kind, int64_t segment_base,
                            int64_t arg);

/*
 * Checks the records of a batch about to be appended (decompression, every record's framing:
 * what batch_validate_deep checks after the header) and encodes their leaves in the same walk;
 * the next ptree_on_append of this very batch (same pointer and length) then only stamps the
 * offsets and hashes, instead of walking it again. Call right before plg_log_append, and
 * ptree_prepare_clear after it whatever it returned. 0 or the parse error.
 */
int ptree_prepare(struct ptree *t, const uint8_t *batch, size_t len);
void ptree_prepare_clear(struct ptree *t);

/* Number of leaves. */
uint64_t ptree_size(const struct ptree *t);
/* 0, or the first error that stopped maintenance (then the tree no longer follows the log). */
int ptree_error(const struct ptree *t);
/* A node source over the tree (mk_root, mk_inclusion_proof, mk_consistency_proof). */
void ptree_source(struct ptree *t, struct mk_source *s);
int ptree_root(struct ptree *t, uint64_t size, uint8_t out[32]);
int ptree_leaf(struct ptree *t, uint64_t index, uint8_t out[32]);
/* fsyncs every file. */
int ptree_sync(struct ptree *t);
/*
 * Clean shutdown: makes every file durable and records in <dir>/merkle.clean that the tree
 * covers exactly log_end leaves, so the next ptree_open trusts the newest file instead of
 * re-deriving it from the log. Call after the log itself was closed cleanly (flushed). The
 * marker is consumed (removed, durably) by ptree_open, so a crash after a later start never
 * finds a stale one. 0, PLG_ESTATE when the tree does not match log_end, or the I/O error.
 */
int ptree_mark_clean(struct ptree *t, uint64_t log_end);

/*
 * Leaf hashes of every record of one stored batch (CRC not checked here): calls fn(ctx, offset,
 * leaf) in offset order. scratch holds decompressed records. 0 or the parse error.
 */
int ptree_batch_leaves(const uint8_t *batch, size_t len, struct buf *scratch,
                       int (*fn)(void *ctx, uint64_t offset, const uint8_t leaf[32]), void *ctx);

/* Position of leaf i's record, in hashes from global leaf 0: each leaf, plus one hash per
 * stored node (levels >= PTREE_LOW) completed before it. */
static inline uint64_t ptree_pos(uint64_t i)
{
    uint64_t m = i >> (PTREE_LOW - 1);
    return i + m - (uint64_t)__builtin_popcountll(m);
}

/* Where the node (start, level) is stored, relative to ptree_pos(start + 2^level - 1), the
 * record of its last leaf: level 0 at 0, stored levels after the leaf; -1 for levels that are
 * not stored. */
static inline int ptree_node_slot(unsigned level)
{
    return level == 0 ? 0 : level >= PTREE_LOW ? (int)(1 + level - PTREE_LOW) : -1;
}

#endif
