/*
 * log_internal.h — the partition log's private state, shared by log.c (open, append, read,
 * recovery, durability, retention) and compact.c.
 *
 * Invariants: segs[0..nsegs) sorted by base, nsegs >= 1, segs[nsegs-1] is the only active
 * segment; start_offset <= end_offset == active->next_offset; durable <= end_offset.
 * Thread model: everything is owned by the owner thread except the fields marked "under mu",
 * which the flusher thread reads too, and `durable` (atomic). sync_mu serialises whole flushes
 * so a flush never reports a durable offset past data another flush has not yet synced.
 */
#ifndef PLG_STORAGE_LOG_INTERNAL_H
#define PLG_STORAGE_LOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "pyralog/log.h"
#include "storage/segment.h"
#include "storage/store.h"

struct plg_log {
    struct store store;
    struct plg_log_config cfg;
    struct segment **segs;
    size_t nsegs, cap;
    int64_t start_offset;
    int64_t end_offset;
    _Atomic int64_t durable;
    struct plg_log_hooks hooks;
    bool has_hooks;
    void (*on_durable)(void *ctx, int64_t durable_end_offset);
    void *durable_ctx;
    bool always_in_flusher; /* see plg_log_options */
    int64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    bool compacting; /* owner thread: a split compaction is between begin and install */

    pthread_mutex_t sync_mu; /* held for a whole flush */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thr;
    bool thr_running;
    int64_t f_interval_ms;      /* the flusher's period, fixed while it runs */
    bool stop;                  /* under mu */
    bool f_idle;                /* under mu: flusher sleeps until publish() wakes it */
    struct segment *f_active;   /* under mu; holds a reference */
    int64_t f_written;          /* under mu: end offset of bytes written */
    struct segment **f_dirty;   /* under mu: sealed segments not yet synced (references) */
    size_t f_ndirty, f_dcap;    /* under mu */
    int *f_files;               /* under mu: plg_log_sync_file fds for the next group commit */
    size_t f_nfiles, f_fcap;    /* under mu */
    bool f_sync_dir;            /* under mu: the next group commit syncs the directory */
    uint64_t f_gen;             /* under mu: bumped when the log is cut back */
    int f_err;                  /* under mu: sticky error of a background flush */
    int64_t f_pos;              /* under mu: bytes written to f_active */
    bool f_urgent;              /* under mu: plg_log_sync_soon asked for a commit now */
    int f_wb_next;              /* under mu: plg_log_writeback_file's newest fd, -2 if none new */
    int wb_fd;                  /* under sync_mu: the file whose writeback commits start, or -1 */
    int64_t wb_dropped;         /* under sync_mu: wb_fd's page cache dropped below this (keep) */
    int wb_prev;                /* under sync_mu: the writeback file before wb_fd, or -1 */
    int64_t wb_prev_end;        /* under sync_mu: its size when it was replaced */
    int64_t wb_prev_dropped;    /* under sync_mu: its page cache dropped below this */
    int64_t keep_bytes;         /* plg_log_options.cache_keep_bytes, fixed after open */
    struct segment *d_prev;     /* under sync_mu: sealed segment whose cached tail is kept */
    bool f_drop_all;            /* under mu: plg_log_drop_cache asked for a pass that keeps none */
    _Atomic int64_t cache_held; /* written bytes drop-behind still keeps (plg_log_cache_held) */
};

static inline struct segment *log_active(const struct plg_log *log)
{
    return log->segs[log->nsegs - 1];
}

int64_t log_now(struct plg_log *log);
void log_event(struct plg_log *log, enum plg_segment_event kind, int64_t base, int64_t arg);
/* Owner thread: makes directory changes (renames, unlinks) durable without blocking the caller
 * when a flusher runs: its next group commit (or close) syncs the directory, and retries after
 * a failure, which is then reported as the flusher's sticky error. Without a flusher (fsync
 * always done inline, never, memory) syncs here. 0 or the sync error. */
int log_sync_dir_soon(struct plg_log *log);

#endif
