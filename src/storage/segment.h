/*
 * segment.h — one segment of a partition log: a .log file of whole batches and its two sparse
 * indexes, all named by the segment's base offset (20 digits, zero-padded).
 *
 *   <base>.log        RecordBatch v2 bytes, back to back, exactly as stored/served
 *   <base>.index      entries of 8 bytes: relative offset u32be | file position u32be
 *   <base>.timeindex  entries of 12 bytes: timestamp i64be | relative offset u32be
 *
 * An offset index entry (r, p) says: the batch with base offset base+r starts at position p.
 * Entries are added every index.interval.bytes (none for position 0), strictly increasing in
 * both fields. A time index entry (t, r) says: no record in batches up to and including the one
 * with base offset base+r has a timestamp above t; entries strictly increase in t. A sealed
 * segment gets a final time entry for its largest timestamp.
 *
 * Active segment: index files are preallocated to segment.index.bytes (sparse) and mapped
 * read-write; sealing trims them to their entries. A page of a sparse file written through a
 * shared mapping on a full file system is a SIGBUS, so entry slots are written only once their
 * blocks are reserved (store reserve, 64 KiB ahead): an append whose reservation fails is refused
 * before its batch is written, and a scan that cannot reserve lowers the index's capacity to its
 * entries (the index is full: the log rolls). A sealed segment's indexes are "valid" when
 * their sizes are exact multiples, their entries strictly increase, and the last offset entry
 * points at a batch with that base offset; preallocated (untrimmed) files fail this because of
 * their zero entries, so a crash during a roll leads to a rebuild.
 *
 * The .log file is mapped read-only once, over max(map_hint, file size) bytes (the log passes
 * max(segment.bytes, max.message.bytes)), so readers get a stable pointer view while the file
 * grows; the log rolls before a segment would outgrow its mapping, and only bytes below `size`
 * are ever touched.
 *
 * Thread model: owned by the log's owner thread; the flusher only syncs fds of segments it holds
 * a reference on. A sealed segment never changes (only truncation could, and the log refuses it
 * while a compaction runs), so a compaction worker holding a reference reads its mapping
 * directly. References are atomic; the last unref closes and unmaps (on whichever thread).
 */
#ifndef PLG_STORAGE_SEGMENT_H
#define PLG_STORAGE_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "storage/batch.h"
#include "storage/store.h"

#define SEG_MAP_SIZE ((size_t)1 << 32) /* largest mapping: positions are u32 */
#define SEG_IDX_ENTRY 8
#define SEG_TIX_ENTRY 12
#define SEG_NAME_MAX 64

struct segment {
    int64_t base;
    struct store *store;
    int fd, idx_fd, tix_fd;
    const uint8_t *map; /* read-only view of .log, map_len bytes (may extend past EOF) */
    size_t map_len;     /* the segment never grows past this: the log rolls first */
    int64_t size;       /* bytes of valid batches */
    uint8_t *idx;
    size_t idx_map_len;
    uint32_t idx_n, idx_cap;
    uint8_t *tix;
    size_t tix_map_len;
    uint32_t tix_n, tix_cap;
    uint32_t idx_ready, tix_ready; /* entry slots whose pages are allocated (store reserve) */
    int64_t next_offset;           /* offset after the last batch (base when empty) */
    int64_t max_ts;                /* largest batch maxTimestamp, INT64_MIN when empty */
    int64_t max_ts_offset;         /* base offset of the batch holding it */
    int64_t first_ts;              /* maxTimestamp of the first batch, INT64_MIN when empty */
    int64_t created_ms;            /* clock when created or opened: segment.ms without batches */
    int64_t bytes_since_index;
    int32_t index_interval;
    bool active;
    atomic_bool removed; /* files unlinked (or about to be): the flusher skips it */
    bool index_missing;  /* an index file did not exist at load */
    atomic_int refs;
    int64_t cache_dropped; /* under the log's sync_mu: page cache dropped below this position */
};

/* "<base:020>.<ext>" into out (SEG_NAME_MAX). */
void seg_name(char *out, int64_t base, const char *ext);
/* Parses "<20 digits>.log" names; 0 and *base on a match. */
int seg_parse_name(const char *name, int64_t *base);

/* Creates a new, empty active segment (existing files of that base are truncated). */
int segment_create(struct store *st, int64_t base, int32_t index_bytes, int32_t index_interval,
                   int64_t now_ms, size_t map_hint, struct segment **out);

/* Opens the existing segment files of `base` without checking them (indexes may be missing). */
int segment_load(struct store *st, int64_t base, int32_t index_interval, int64_t now_ms,
                 size_t map_hint, struct segment **out);

/*
 * Makes a sealed segment of base `base` from fd, an already written .log file (compaction):
 * creates fresh index files named "<base>.index<idx_suffix>" and "<base>.timeindex<idx_suffix>"
 * (idx_suffix "" for the final names, ".cleaned" while compaction works beside the live files),
 * rebuilds them by a scan and seals. Takes ownership of fd. Any thread: it touches only the new
 * segment and the store's directory.
 */
int segment_adopt(struct store *st, int64_t base, int fd, const char *idx_suffix,
                  int32_t index_bytes, int32_t index_interval, int64_t now_ms,
                  struct segment **out);

/*
 * Recovery of a sealed segment: validates the indexes (rebuilding them when missing/invalid,
 * *rebuilt set), then CRC-checks the tail after the last index entry. *cut_pos is the position
 * of the first bad byte (== file size when clean) and *reason its error (0 when clean).
 * index_bytes bounds a rebuilt index.
 */
int segment_recover_sealed(struct segment *s, int32_t index_bytes, bool *rebuilt, int64_t *cut_pos,
                           int *reason);

/*
 * Recovery of the active segment: scans every batch with CRC checks and rebuilds both indexes
 * into preallocated files; a torn/corrupt tail is cut (cut_pos and reason as above; the file is
 * truncated to the last good batch).
 */
int segment_recover_active(struct segment *s, int32_t index_bytes, int64_t *cut_pos, int *reason);

/* Writes one validated batch (base offset already patched) at the end; updates indexes. */
int segment_append(struct segment *s, const uint8_t *p, const struct batch *b);

/* True when the indexes cannot take another entry. */
bool segment_index_full(const struct segment *s);

/* Seals: final time entry, trims index files. Idempotent. */
int segment_seal(struct segment *s);

/* Makes a sealed segment active again (follower truncation, recovery cut). */
int segment_activate(struct segment *s, int32_t index_bytes);

/* Cuts the segment at file position pos (a batch boundary) and rebuilds its state by a scan. */
int segment_truncate(struct segment *s, int64_t pos, int32_t index_bytes);

/* File position of the last index entry at or before offset (0 without one): where a scan for
 * offset starts. Reads only the index, never the .log data. */
int64_t segment_index_pos(const struct segment *s, int64_t offset);

/*
 * Position of the first batch whose last offset is >= offset (s->size when none). Uses the
 * offset index, then walks batch headers.
 */
int64_t segment_find(const struct segment *s, int64_t offset);

/* Position to start scanning for the first record with timestamp >= ts (time index). */
int64_t segment_find_time(const struct segment *s, int64_t ts);

/* fdatasync of the .log (and, when sealed, of the index files). */
int segment_sync(struct segment *s);

/* Removes the files (the fds stay open for existing references). */
int segment_remove_files(struct segment *s);
/* Removes the .log, .index and .timeindex of the segment based at `base` through st (which may
 * be a worker's store_dup handle, or recovery's before any segment object exists). A missing
 * file is no error; every file is tried. First error or 0. */
int segment_remove_base(struct store *st, int64_t base);

static inline void segment_ref(struct segment *s)
{
    atomic_fetch_add(&s->refs, 1);
}
void segment_unref(struct segment *s);

/* Header fields read straight from the mapping at a batch position. */
static inline int64_t seg_batch_base(const struct segment *s, int64_t pos)
{
    return (int64_t)be64_get(s->map + pos);
}
static inline int64_t seg_batch_size(const struct segment *s, int64_t pos)
{
    return BATCH_LOG_OVERHEAD + (int64_t)be32_get(s->map + pos + BATCH_OFF_LENGTH);
}
static inline int64_t seg_batch_last(const struct segment *s, int64_t pos)
{
    return seg_batch_base(s, pos) + (int32_t)be32_get(s->map + pos + BATCH_OFF_LAST_OFFSET_DELTA);
}

#endif
