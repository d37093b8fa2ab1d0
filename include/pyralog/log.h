/*
 * log.h — the partition log: the public, embeddable storage API of libpyralog.
 *
 * A log is one partition: an ordered list of segments in one directory (or in memory), each
 * holding Kafka RecordBatch v2 bytes exactly as they travel on the wire, plus a sparse offset
 * index and a sparse time index. Batches are appended whole; the log assigns the base offset by
 * patching the batch in place (the CRC does not cover it). Offsets are dense from the log start
 * offset to the log end offset (next offset to assign), except where compaction removed records.
 *
 * On-disk layout (directory per partition, see docs/storage.md):
 *   <base:020>.log        batches, appended
 *   <base:020>.index      sparse offset index: (relative offset u32be, file position u32be)
 *   <base:020>.timeindex  sparse time index:   (max timestamp i64be, relative offset u32be)
 * Indexes are memory-mapped, preallocated while the segment is active and trimmed when it is
 * sealed; a missing or invalid index is rebuilt from the segment on open.
 *
 * Thread model: a log is owned by ONE thread (the broker's event loop): every function here
 * except plg_log_durable_offset() must be called from that thread. With fsync=interval:<ms> the
 * log runs its own flusher thread, which fsyncs (group commit), advances the durable offset and
 * calls on_durable() FROM THE FLUSHER THREAD (forward it to your loop, e.g. with uv_async_send).
 * Hooks (plg_log_hooks) run on the owner thread, synchronously inside the call that caused them.
 * Compaction and retention come in two forms: one blocking call (plg_log_compact,
 * plg_log_enforce_retention), or split so the slow part (reading sealed segments, writing and
 * fsyncing files, unlinking) runs on a worker thread while the owner keeps appending and
 * reading: plg_log_compact_begin/run/install and plg_log_retention_begin/plg_log_garbage_collect.
 *
 * Errors: 0 or a negative PLG_E* / -errno code (pyralog.h). Whoever allocates frees.
 */
#ifndef PYRALOG_LOG_H
#define PYRALOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyralog/pyralog.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct plg_log plg_log_t;

enum plg_fsync_policy {
    PLG_FSYNC_NEVER = 0,    /* page cache only; durable offset advances on flush/close only */
    PLG_FSYNC_INTERVAL = 1, /* flusher thread fsyncs every fsync_interval_ms (group commit) */
    PLG_FSYNC_ALWAYS = 2,   /* append returns after fdatasync */
};

/* cleanup.policy is a set: "delete", "compact" or "compact,delete". */
#define PLG_CLEANUP_DELETE 0x1
#define PLG_CLEANUP_COMPACT 0x2

enum plg_timestamp_type {
    PLG_TS_CREATE_TIME = 0,     /* keep the producer's timestamps */
    PLG_TS_LOG_APPEND_TIME = 1, /* the log stamps each batch with its clock on append */
};

/* Per-log configuration, Kafka names in comments. Fill with plg_log_config_init(). */
struct plg_log_config {
    int64_t segment_bytes;        /* segment.bytes, default 1 GiB (max 2 GiB: u32 positions) */
    int64_t segment_ms;           /* segment.ms, default 7 days */
    int64_t retention_ms;         /* retention.ms, default 7 days; -1 unlimited */
    int64_t retention_bytes;      /* retention.bytes, default -1 unlimited */
    int cleanup_policy;           /* cleanup.policy, PLG_CLEANUP_* bits, default delete */
    int64_t delete_retention_ms;  /* delete.retention.ms, default 1 day */
    int32_t max_message_bytes;    /* max.message.bytes, default 1048588 (largest batch) */
    int timestamp_type;           /* message.timestamp.type, enum plg_timestamp_type */
    int fsync_policy;             /* fsync: "always" | "interval:<ms>" | "never" */
    int64_t fsync_interval_ms;    /* the <ms> of interval, default 5 */
    int32_t index_interval_bytes; /* index.interval.bytes, default 4096 */
    int32_t segment_index_bytes;  /* segment.index.bytes, default 10 MiB (per index file) */
    bool merkle_enable;           /* merkle.enable, default true (used by crypto, stored here) */
};

/* Fills cfg with the defaults above. */
void plg_log_config_init(struct plg_log_config *cfg);

/*
 * Sets one option by its Kafka-style name ("segment.bytes", "retention.ms", "cleanup.policy",
 * "delete.retention.ms", "max.message.bytes", "message.timestamp.type" (CreateTime |
 * LogAppendTime), "fsync" (always | never | interval:<ms>), "index.interval.bytes",
 * "segment.index.bytes", "retention.bytes", "segment.ms", "merkle.enable" (true|false)).
 * Returns PLG_ENOTFOUND for an unknown key, PLG_EINVAL for a bad value (cfg unchanged).
 */
int plg_log_config_set(struct plg_log_config *cfg, const char *key, const char *value);

/* Writes the value of option `key` as text into out (cap bytes); PLG_ENOTFOUND, PLG_ETOOBIG. */
int plg_log_config_get(const struct plg_log_config *cfg, const char *key, char *out, size_t cap);

/* NULL-terminated list of the option names plg_log_config_set accepts. */
const char *const *plg_log_config_keys(void);

/* Segment events for observers (the verifiable log keeps one .merkle file per segment). */
enum plg_segment_event {
    PLG_SEG_CREATED = 1,   /* a new active segment with base `segment_base` exists */
    PLG_SEG_SEALED = 2,    /* segment_base is no longer active; arg = its end offset */
    PLG_SEG_DELETED = 3,   /* retention / delete-records removed the segment's files */
    PLG_SEG_TRUNCATED = 4, /* records at offsets >= arg were cut from segment_base
                              (plg_log_truncate; cuts made by recovery at open are reported in
                              struct plg_log_recovery, before any observer exists) */
    PLG_SEG_COMPACTED = 5, /* segment_base rewritten by compaction; offsets kept, arg = end */
};

/*
 * Observer of a log. Callbacks run on the owner thread inside the call that caused them;
 * they must not call back into the log. batch/len is the stored batch (base offset patched).
 */
struct plg_log_hooks {
    void *ctx;
    void (*on_append)(void *ctx, int64_t base_offset, const uint8_t *batch, size_t len);
    void (*on_segment_event)(void *ctx, enum plg_segment_event kind, int64_t segment_base,
                             int64_t arg);
};

struct plg_log_options {
    const struct plg_log_config *config; /* NULL: defaults; copied at open */
    bool memory_only;                    /* no files: segments live in anonymous memory */
    bool create;                         /* create the directory if missing (default: error) */
    /* Called from the flusher thread (interval) or the owner thread (always, flush, roll) each
     * time the durable end offset advances. May be NULL. */
    void (*on_durable)(void *ctx, int64_t durable_end_offset);
    void *durable_ctx;
    /* fsync=always with group commit: append does not fdatasync itself; the flusher thread
     * syncs as soon as writes are published (no gathering interval), so appends that arrive
     * while one fsync runs share the next. The caller must wait for the durable offset
     * (on_durable) before acknowledging, as a broker does for acks. Keeps fsync off the
     * caller's thread (an event loop). Ignored for other policies and in memory. */
    bool always_in_flusher;
    /* Page-cache drop-behind (flusher only, so fsync=interval or always_in_flusher): once data
     * is durable, everything more than this many bytes behind the log's written end is dropped
     * from the page cache (posix_fadvise DONTNEED), so a log that keeps growing recycles page
     * cache instead of taking new memory for every write. Readers of older data read it back
     * from disk. 0 (the default) leaves page-cache eviction to the kernel. */
    int64_t cache_keep_bytes;
    /* Clock in ms since the epoch for segment.ms, retention.ms, LogAppendTime. NULL: real. */
    int64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
};

/* What recovery did on open (all zero when the log was clean). */
struct plg_log_recovery {
    int32_t segments;           /* segments found */
    int32_t indexes_rebuilt;    /* index files rebuilt (missing or invalid) */
    int64_t truncated_bytes;    /* bytes cut from the active segment's tail */
    int64_t truncated_at;       /* log end offset after the cut, -1 if none */
    int64_t truncated_position; /* file position where the cut was made */
    int truncate_reason;        /* PLG_ETRUNC (torn) or PLG_ECORRUPT (bad CRC/fields), 0 */
    int32_t segments_removed;   /* empty/unusable segments removed after a corrupt one */
};

/*
 * Opens (or creates) the log in directory dir (ignored when memory_only). Recovers: sealed
 * segments are trusted when their indexes validate (else rebuilt), the active segment is scanned
 * batch by batch with CRC checks and a torn or corrupt tail is cut (reported in *rec, may be
 * NULL). On success *out is the log (close with plg_log_close).
 */
int plg_log_open(const char *dir, const struct plg_log_options *opts, plg_log_t **out,
                 struct plg_log_recovery *rec);

/* Flushes (fsync unless memory-only), stops the flusher, frees. NULL is a no-op. */
int plg_log_close(plg_log_t *log);

/* Installs (or with NULL removes) the single observer of this log. */
void plg_log_set_hooks(plg_log_t *log, const struct plg_log_hooks *hooks);

/* The config in force (read-only view). Change it with plg_log_reconfigure. */
const struct plg_log_config *plg_log_config(const plg_log_t *log);
/* Applies a new config (fsync policy changes restart the flusher). */
int plg_log_reconfigure(plg_log_t *log, const struct plg_log_config *cfg);

struct plg_append_info {
    int64_t base_offset;     /* assigned to the batch */
    int64_t last_offset;     /* base_offset + lastOffsetDelta */
    int64_t log_append_time; /* the stamped time under LogAppendTime, else -1 */
    int64_t log_start_offset;
};

/*
 * Appends one whole RecordBatch v2. Validates header and CRC (PLG_ECORRUPT, PLG_ETRUNC,
 * PLG_EUNSUPP), rejects batches above max.message.bytes (PLG_ETOOBIG), then patches in place:
 * baseOffset = log end offset, and under LogAppendTime the timestamp (CRC recomputed). The
 * caller's bytes are modified and then written unchanged. Rolls the segment first when it is
 * full (segment.bytes) or old (segment.ms). With fsync=always the batch is durable on return.
 * `info` may be NULL.
 */
int plg_log_append(plg_log_t *log, uint8_t *batch, size_t len, struct plg_append_info *info);
/* plg_log_append for a batch whose CRC the caller has just checked (batch_validate on these very
 * bytes): the header is still parsed and checked, the CRC is not computed a second time. */
int plg_log_append_checked(plg_log_t *log, uint8_t *batch, size_t len,
                           struct plg_append_info *info);

/*
 * Appends a batch at the offset it already carries (replication, compaction, restore): its base
 * offset must be >= the log end offset; gaps are allowed. Same validation as plg_log_append.
 */
int plg_log_append_at(plg_log_t *log, const uint8_t *batch, size_t len);

/*
 * A read result: `len` bytes of whole batches starting at file position `pos` of `fd` (for
 * sendfile/pread), or at `data` when the segment is in memory (memory-only logs; data is also
 * set for disk logs: a read-only mapping of the segment file). The batch containing `offset` comes
 * first, so it may start before `offset` (Kafka semantics: the client skips earlier records). The
 * slice holds a reference on its segment: the fd stays open and valid until
 * plg_log_slice_release(), even if retention deletes the segment meanwhile. len == 0 means no data
 * at offset (end of log).
 */
struct plg_log_slice {
    int fd;
    int64_t pos;
    size_t len;
    const uint8_t *data;
    int64_t first_offset; /* base offset of the first batch in the slice */
    int64_t next_offset;  /* offset after the last batch in the slice */
    void *seg_ref;        /* private */
};

/*
 * Reads from `offset` (log start <= offset <= log end; otherwise PLG_ERANGE): at most max_bytes
 * but always at least one whole batch (KIP-74), never crossing a segment (call again from
 * next_offset). Reading at the log end gives len 0. Release the slice when done.
 */
int plg_log_read(plg_log_t *log, int64_t offset, size_t max_bytes, struct plg_log_slice *out);
void plg_log_slice_release(struct plg_log_slice *s);

/*
 * Whether plg_log_read(offset, max_bytes) would touch file pages that are not in the page
 * cache (its batch walk faults them in through the segment's mapping, and with the kernel's
 * read-around that is a synchronous disk read of up to read_ahead_kb). Looks only at the
 * offset index and mincore, never at the data. 1 when cold, with the range to read ahead
 * (the index entry's position up to max_bytes + 64 KiB past it, within the segment) in *pos
 * and *len of file *fd (the log's: duplicate it to use it elsewhere); 0 when cached, for
 * memory-only logs, or at the log end.
 */
int plg_log_read_cold(plg_log_t *log, int64_t offset, size_t max_bytes, int *fd, int64_t *pos,
                      size_t *len);

/*
 * Copying variant: reads like plg_log_read, possibly across segments, until max_bytes (at least
 * one batch) into a malloc'd buffer (*out, caller free()s; NULL with *len 0 at the log end).
 * *next_offset is where the next read should start.
 */
int plg_log_read_copy(plg_log_t *log, int64_t offset, size_t max_bytes, uint8_t **out, size_t *len,
                      int64_t *next_offset);

int64_t plg_log_start_offset(const plg_log_t *log);
/* Next offset to assign (the high watermark of a single-replica log). */
int64_t plg_log_end_offset(const plg_log_t *log);
/* End offset up to which all data is on stable storage. Any thread (atomic read). */
int64_t plg_log_durable_offset(const plg_log_t *log);
/* Total bytes in all segments. */
int64_t plg_log_size_bytes(const plg_log_t *log);
int32_t plg_log_segment_count(const plg_log_t *log);

/*
 * First offset whose record timestamp is >= ts (ListOffsets by time): *offset. PLG_ENOTFOUND
 * when every record is older. Decompresses the batch it lands in to find the exact record.
 */
int plg_log_lookup_time(plg_log_t *log, int64_t ts, int64_t *offset);

/* fsyncs everything appended so far and waits; the durable offset then equals the end offset. */
int plg_log_flush(plg_log_t *log);

/*
 * Owner thread: takes fd (a duplicate; the log closes it) of a file the owner keeps appending
 * to beside the log (the active Merkle tree file). Each group commit starts writeback of that
 * file's dirty pages (sync_file_range WRITE, without waiting) just before the log's own
 * fdatasync, so they go to disk a little at a time with the log's data instead of piling up
 * and then going out in bursts that stall the commits behind them; with cache_keep_bytes its
 * pages more than that many bytes behind its end are dropped from the page cache as the log's
 * own are (once written back: only clean pages go). A later call replaces (and
 * closes) the previous fd; fd < 0 only closes it. Without a flusher (fsync=never, always done
 * inline, memory) the fd is just closed. Returns whether a flusher took it.
 */
bool plg_log_writeback_file(plg_log_t *log, int fd);

/*
 * Owner thread: somebody waits for what was appended so far to become durable (an acks=all
 * producer), so the flusher starts its next group commit now instead of at the end of the
 * fsync=interval period; appends arriving while that fsync runs gather for the next one. The
 * interval still bounds how long unwaited data stays unsynced. No-op without a flusher.
 */
void plg_log_sync_soon(plg_log_t *log);

/*
 * Drop-behind across logs (cache_keep_bytes > 0). plg_log_cache_held: the bytes of this log's
 * written data (segments and the writeback file) that drop-behind still keeps cached, as of its
 * last group commit; 0 without drop-behind. plg_log_drop_cache: the flusher's next pass (now,
 * even when idle) keeps none of it: everything durable is dropped from the page cache. Both
 * any thread; advice only (pages a reader touches come back).
 */
int64_t plg_log_cache_held(plg_log_t *log);
void plg_log_drop_cache(plg_log_t *log);

/*
 * Owner thread: takes fd (a file kept beside the log, e.g. a sealed Merkle tree file; the log
 * closes it) and makes it durable without blocking the caller: the flusher fdatasyncs it with
 * its next group commit (plg_log_close runs a last one), before the durable offset next
 * advances. With fsync=always done by the appending thread it is synced here; with fsync=never
 * nothing is promised and it is only closed. Returns 1 when the file is or will be durable, 0
 * when it was closed unsynced, or the fdatasync error when synced here.
 */
int plg_log_sync_file(plg_log_t *log, int fd);

/* Seals the active segment now and starts a new one at the log end offset. */
int plg_log_roll(plg_log_t *log);

/*
 * Applies retention.ms / retention.bytes (cleanup.policy must include delete): deletes whole
 * sealed segments from the oldest; the log start offset moves to the first kept segment. When
 * even the active segment's newest record is older than retention.ms, it is rolled first so it
 * can go too (the log is then empty, start == end).
 * *deleted (may be NULL) counts segments removed. Call periodically from the owner thread.
 */
int plg_log_enforce_retention(plg_log_t *log, int32_t *deleted);

/*
 * Retention split in two (see the thread model above): the owner thread drops the expired
 * segments from the log (same rules as plg_log_enforce_retention: from then on they are no longer
 * served, the log start offset has moved) and gets their files as *garbage (NULL when nothing
 * went); plg_log_garbage_collect() then unlinks the files, syncs the directory and releases the
 * segments, on any thread, without touching the log (which may even be closed by then). Readers
 * holding a slice keep their segment's fd until they release it. *deleted may be NULL.
 */
struct plg_log_garbage;
int plg_log_retention_begin(plg_log_t *log, int32_t *deleted, struct plg_log_garbage **garbage);
/* Removes the files, syncs the directory, frees g (NULL is a no-op). First error or 0. */
int plg_log_garbage_collect(struct plg_log_garbage *g);

/*
 * Kafka DeleteRecords: moves the log start offset to `offset` (<= end offset) and deletes the
 * sealed segments entirely below it. Records below the start offset are no longer served.
 */
int plg_log_delete_records(plg_log_t *log, int64_t offset);

/* Cuts the log back to end at `offset` (start <= offset <= end): follower truncation. */
int plg_log_truncate(plg_log_t *log, int64_t offset);

/*
 * Key-based compaction of the sealed segments (cleanup.policy must include compact): keeps the
 * last record per key, drops tombstones (null value) older than delete.retention.ms, keeps
 * offsets, rewrites batches with the surviving records (uncompressed), control batches kept.
 * This form runs every step on the calling (owner) thread and blocks it while it rewrites; a
 * server uses the split form below instead.
 * *removed (may be NULL) counts records dropped.
 */
int plg_log_compact(plg_log_t *log, int64_t *removed);

/*
 * plg_log_compact in three steps, so that only the short install runs on the owner thread:
 *
 *   plg_log_compact_begin    owner thread: snapshots the sealed segments (holding references),
 *                            the config and the clock. *out is NULL when there is nothing to
 *                            do (policy without compact, no sealed segment). PLG_ESTATE while
 *                            another compaction of this log is between begin and install.
 *   plg_log_compact_run      any ONE thread, never calls into the log: reads the snapshot (sealed
 *                            segments are immutable), writes each segment that loses records to
 *                            "<base>.log.cleaned" with fresh "<base>.index.cleaned" and
 *                            "<base>.timeindex.cleaned", and fsyncs them. Returns its error,
 *                            which install also reports.
 *   plg_log_compact_install  owner thread: swaps the compacted segments into the log (unlinks
 *                            the old indexes, renames the cleaned files over the live names;
 *                            the directory sync goes to the log's flusher when one runs, else
 *                            happens here). A compacted segment is installed only if
 *                            it and every later segment of the snapshot are still in the log,
 *                            sealed and unchanged (a record is dropped because a later record
 *                            of its key exists; retention removing older segments meanwhile
 *                            does not matter, truncation or deletion does); the rest is
 *                            discarded. *removed (may be NULL) counts records dropped by what
 *                            was installed, *discarded (may be NULL) the segments thrown away.
 *                            Always ends the compaction (the next begin is allowed).
 *   plg_log_compact_free     any thread: removes the files of results not installed and
 *                            releases the snapshot. Call it after install, or instead of it
 *                            only once the log is closed. NULL is a no-op.
 *
 * A crash at any point leaves each segment either old or compacted (cleaned files are removed
 * and missing indexes rebuilt at open). plg_log_truncate refuses (PLG_ESTATE) while a
 * compaction is in flight, since it could cut a segment the worker is reading.
 */
typedef struct plg_compaction plg_compaction_t;
int plg_log_compact_begin(plg_log_t *log, plg_compaction_t **out);
int plg_log_compact_run(plg_compaction_t *c);
int plg_log_compact_install(plg_log_t *log, plg_compaction_t *c, int64_t *removed,
                            int32_t *discarded);
void plg_log_compact_free(plg_compaction_t *c);

/* ---- offline, read-only audit of a log directory ---- */

/* Where and what the first problem is. */
struct plg_log_problem {
    int64_t segment_base; /* segment where it was found, -1 if none applies */
    int64_t offset;       /* first offset that cannot be trusted (-1 if none applies) */
    int64_t position;     /* byte position in the segment's .log (or index entry number) */
    int code;             /* PLG_E* */
    char what[200];       /* one line for a person: file and reason */
};

/* Allow offset gaps between segments (logs written with plg_log_append_at). */
#define PLG_VERIFY_ALLOW_GAPS 0x1

/*
 * Audits the log in dir without modifying anything (no recovery, no truncation, no rebuild):
 * every batch is validated deeply (lengths, CRC-32C, decompression, every record), offsets must
 * be contiguous within each segment and segments must not overlap (nor leave gaps, unless
 * PLG_VERIFY_ALLOW_GAPS); every offset and time index entry present must point at a batch
 * with the stated base offset and time bound (missing index files are fine: they are derived
 * data, rebuilt at open; the trailing zero entries of a preallocated active index are fine).
 * Returns 0 when everything checks out, PLG_ECORRUPT / PLG_ETRUNC / PLG_EUNSUPP /
 * PLG_ECOMPRESS with *problem describing the first problem, or -errno for I/O errors.
 * *records (may be NULL) counts the records checked.
 */
int plg_log_verify_dir(const char *dir, int flags, struct plg_log_problem *problem,
                       int64_t *records);

#ifdef __cplusplus
}
#endif
#endif
