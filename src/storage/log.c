/*
 * log.c — the partition log (include/pyralog/log.h): open and recovery, append, read, time
 * lookup, durability (fsync policies and the flusher thread), roll, retention, delete-records
 * and truncation. Compaction lives in compact.c, configuration in log_config.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "storage/log_internal.h"

#define START_FILE "log-start-offset"

static int64_t real_clock(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t log_now(struct plg_log *log)
{
    return log->clock_ms(log->clock_ctx);
}

void log_event(struct plg_log *log, enum plg_segment_event kind, int64_t base, int64_t arg)
{
    if (log->has_hooks && log->hooks.on_segment_event)
        log->hooks.on_segment_event(log->hooks.ctx, kind, base, arg);
}

/* ---- durability ---- */

/* Advances the durable offset (never backwards) and reports it, under mu so reports are ordered.
 * The callback must not call into the log. */
static void durable_advance(struct plg_log *log, int64_t to, uint64_t gen)
{
    pthread_mutex_lock(&log->mu);
    if (gen == log->f_gen && to > atomic_load(&log->durable)) {
        atomic_store(&log->durable, to);
        if (log->on_durable)
            log->on_durable(log->durable_ctx, to);
    }
    pthread_mutex_unlock(&log->mu);
}

/* Puts plg_log_sync_file fds a failed group commit did not sync back in front of the queue,
 * so that no later commit (or close) reports success without syncing them. */
static void requeue_files(struct plg_log *log, const int *fds, size_t n)
{
    pthread_mutex_lock(&log->mu);
    int *v = malloc((n + log->f_nfiles) * sizeof *v);
    if (v) {
        memcpy(v, fds, n * sizeof *v);
        if (log->f_nfiles)
            memcpy(v + n, log->f_files, log->f_nfiles * sizeof *v);
        free(log->f_files);
        log->f_files = v;
        log->f_nfiles += n;
        log->f_fcap = log->f_nfiles;
    }
    pthread_mutex_unlock(&log->mu);
    if (!v) /* cannot even queue them: the failed commit already reports the error */
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
}

/* The page cache holds files in folios of up to 2 MiB (ext4 has large folios since Linux
 * 6.16; this VM runs 6.18), and advice over a range drops only the folios wholly inside it:
 * with page-aligned ranges every commit left the folio across its boundary cached for good, and
 * a 1 GiB segment kept 80-380 MB (BENCHMARKS.md, fourth session). So ranges end on a
 * DROP_ALIGN boundary, and each one starts one DROP_ALIGN before the last (for folios the
 * kernel could not drop then: dirty, locked or larger). */
#define DROP_ALIGN ((int64_t)2 << 20)

/* Drop-behind: drops fd's page cache up to `upto` (rounded down to DROP_ALIGN), from
 * DROP_ALIGN before *dropped, and moves *dropped there. Under sync_mu. Advice only: a failure
 * changes nothing that matters. */
static void drop_cache(int fd, int64_t *dropped, int64_t upto)
{
    upto &= ~(DROP_ALIGN - 1);
    if (upto <= *dropped)
        return;
    int64_t from = *dropped > DROP_ALIGN ? *dropped - DROP_ALIGN : 0;
    (void)posix_fadvise(fd, (off_t)from, (off_t)(upto - from), POSIX_FADV_DONTNEED);
    *dropped = upto;
}

/* The whole file (len 0: to its end), for files that left the window. */
static void drop_whole(int fd)
{
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

static void drop_segment_to(struct segment *s, int64_t upto)
{
    if (!atomic_load(&s->removed))
        drop_cache(s->fd, &s->cache_dropped, upto);
}

/* A sealed segment was just synced: it keeps its cached tail until the active one holds
 * keep_bytes; the one sealed before it (several rolls in one commit) is dropped whole. */
static void drop_keep_sealed(struct plg_log *log, struct segment *sealed)
{
    if (log->d_prev) {
        if (!atomic_load(&log->d_prev->removed))
            drop_whole(log->d_prev->fd);
        segment_unref(log->d_prev);
    }
    segment_ref(sealed);
    log->d_prev = sealed;
}

/* The file before the current one (the segment sealed last, or the tree file it replaced)
 * keeps its newest keep - cur bytes cached while the current one holds cur < keep bytes; then
 * it is dropped whole and true says the caller may let it go. keep 0 drops it at once. */
static bool drop_prev(int64_t keep, int64_t cur, int fd, int64_t *dropped, int64_t end)
{
    if (keep > 0 && cur < keep) {
        drop_cache(fd, dropped, end - (keep - cur));
        return false;
    }
    drop_whole(fd);
    return true;
}

/* Where drop-behind keeping `keep` bytes of a file of `end` bytes drops up to; keep 0 (a drop
 * of everything, plg_log_drop_cache) reaches past the end, so the folio holding it goes too (the
 * next commit rewrites it). */
static int64_t window_start(int64_t end, int64_t keep)
{
    return keep > 0 ? end - keep : end + DROP_ALIGN - 1;
}

/* Bytes of a file of `end` bytes still cached above its drop mark. */
static int64_t kept(int64_t end, int64_t dropped)
{
    return end > dropped ? end - dropped : 0;
}

/* After a successful group commit that made `pos` bytes of `act` durable: keeps the newest
 * `keep` bytes of the log cached (the end of the segment sealed last, then act) and drops the
 * rest, and likewise for the writeback side files (the current one and the one before it).
 * Under sync_mu, after the commit's offset was published: this costs ~0.1 ms per MB dropped,
 * which acks=all waiters should not wait for. Returns the bytes still kept (not counting what
 * a partly dropped folio keeps). */
static int64_t drop_behind(struct plg_log *log, struct segment *act, int64_t pos, int64_t keep)
{
    struct segment *prev = log->d_prev;
    if (prev && (atomic_load(&prev->removed) ||
                 drop_prev(keep, pos, prev->fd, &prev->cache_dropped, prev->size))) {
        segment_unref(prev);
        log->d_prev = NULL;
    }
    int64_t wb_len = log->wb_fd >= 0 ? (int64_t)lseek(log->wb_fd, 0, SEEK_END) : 0;
    if (act)
        drop_segment_to(act, window_start(pos, keep));
    if (log->wb_fd >= 0)
        drop_cache(log->wb_fd, &log->wb_dropped, window_start(wb_len, keep));
    if (log->wb_prev >= 0 &&
        drop_prev(keep, wb_len, log->wb_prev, &log->wb_prev_dropped, log->wb_prev_end)) {
        close(log->wb_prev);
        log->wb_prev = -1;
    }
    return (log->d_prev ? kept(log->d_prev->size, log->d_prev->cache_dropped) : 0) +
           (act ? kept(pos, act->cache_dropped) : 0) +
           (log->wb_fd >= 0 ? kept(wb_len, log->wb_dropped) : 0) +
           (log->wb_prev >= 0 ? kept(log->wb_prev_end, log->wb_prev_dropped) : 0);
}

/* A new writeback file replaces wb_fd. With drop-behind the old one (a sealed segment's tree
 * file, synced by the ptree through plg_log_sync_file) keeps its cached tail while the new one
 * is shorter than keep_bytes, like a sealed segment (drop_behind), and is closed once dropped
 * whole. Under sync_mu. */
static void switch_writeback(struct plg_log *log, int next)
{
    int old = log->wb_fd;
    int64_t old_dropped = log->wb_dropped;
    log->wb_fd = next;
    log->wb_dropped = 0;
    if (old < 0)
        return;
    if (log->keep_bytes <= 0) {
        close(old);
        return;
    }
    if (log->wb_prev >= 0) { /* two switches within one window: the older goes now */
        drop_whole(log->wb_prev);
        close(log->wb_prev);
    }
    log->wb_prev = old;
    log->wb_prev_end = (int64_t)lseek(old, 0, SEEK_END);
    log->wb_prev_dropped = old_dropped;
}

/* One group commit: syncs sealed-but-dirty segments, the directory, then the active segment,
 * and advances the durable offset to what was written when it started. Any thread. */
static int flush_once(struct plg_log *log)
{
    pthread_mutex_lock(&log->sync_mu);
    pthread_mutex_lock(&log->mu);
    struct segment **dirty = log->f_dirty;
    size_t ndirty = log->f_ndirty;
    log->f_dirty = NULL;
    log->f_ndirty = log->f_dcap = 0;
    int *files = log->f_files;
    size_t nfiles = log->f_nfiles;
    log->f_files = NULL;
    log->f_nfiles = log->f_fcap = 0;
    bool sync_dir = log->f_sync_dir || ndirty > 0;
    log->f_sync_dir = false;
    struct segment *act = log->f_active;
    if (act)
        segment_ref(act);
    int64_t target = log->f_written;
    int64_t pos = log->f_pos;
    int wb_next = log->f_wb_next;
    log->f_wb_next = -2;
    uint64_t gen = log->f_gen;
    bool drop_all = log->f_drop_all;
    log->f_drop_all = false;
    pthread_mutex_unlock(&log->mu);

    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ndirty; i++)
        if (!dirty[i]->removed)
            rc = segment_sync(dirty[i]);
    size_t done = 0;
    for (; rc == 0 && done < nfiles; done++) {
        if (fdatasync(files[done]) != 0) {
            rc = -errno;
            break;
        }
        close(files[done]);
    }
    if (done < nfiles)
        requeue_files(log, files + done, nfiles - done); /* not durable yet: the next commit */
    free(files);
    if (rc == 0 && sync_dir)
        rc = log->store.ops->sync_dir(&log->store);
    if (rc && sync_dir) { /* renames not durable yet: the next commit (or close) syncs again */
        pthread_mutex_lock(&log->mu);
        log->f_sync_dir = true;
        pthread_mutex_unlock(&log->mu);
    }
    if (wb_next != -2) /* a new writeback file (plg_log_writeback_file) */
        switch_writeback(log, wb_next);
    if (rc == 0 && log->wb_fd >= 0)
        (void)sync_file_range(log->wb_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (rc == 0 && act)
        rc = log->store.ops->sync(&log->store, act->fd);
    if (rc == 0)
        durable_advance(log, target, gen);
    if (rc == 0 && log->keep_bytes > 0) {
        for (size_t i = 0; i < ndirty; i++)
            if (!dirty[i]->removed)
                drop_keep_sealed(log, dirty[i]);
        atomic_store(&log->cache_held, drop_behind(log, act, pos, drop_all ? 0 : log->keep_bytes));
    }
    for (size_t i = 0; i < ndirty; i++)
        segment_unref(dirty[i]);
    free(dirty);
    segment_unref(act);
    pthread_mutex_unlock(&log->sync_mu);
    return rc;
}

static void *flusher_main(void *arg)
{
    struct plg_log *log = arg;
    pthread_mutex_lock(&log->mu);
    while (!log->stop) {
        /* Nothing unflushed: sleep until the owner publishes a write, so idle logs cost no
         * wake-ups (a server with thousands of partitions stays idle). */
        while (!log->stop && log->f_written <= atomic_load(&log->durable) && log->f_ndirty == 0 &&
               log->f_nfiles == 0 && !log->f_sync_dir && !log->f_drop_all) {
            log->f_idle = true;
            pthread_cond_wait(&log->cv, &log->mu);
        }
        log->f_idle = false;
        if (log->stop)
            break;
        /* Group commit: let writes gather for one interval, then fsync them together. With no
         * interval (fsync=always in the flusher) writes gather while the previous fsync runs;
         * after a failed fsync it still waits 10 ms before retrying, so it never spins.
         * plg_log_sync_soon cuts the interval short (not that back-off). */
        int64_t wait_ms = log->f_interval_ms > 0 ? log->f_interval_ms : log->f_err ? 10 : 0;
        if ((log->f_urgent || log->f_drop_all) && !log->f_err)
            wait_ms = 0;
        if (wait_ms > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + (wait_ms % 1000) * 1000000;
            ts.tv_sec += (time_t)(wait_ms / 1000) + (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            while (!log->stop && (!(log->f_urgent || log->f_drop_all) || log->f_err) &&
                   pthread_cond_timedwait(&log->cv, &log->mu, &ts) != ETIMEDOUT)
                ;
            if (log->stop)
                break;
        }
        log->f_urgent = false;
        bool work = log->f_written > atomic_load(&log->durable) || log->f_ndirty > 0 ||
                    log->f_nfiles > 0 || log->f_sync_dir || log->f_drop_all;
        pthread_mutex_unlock(&log->mu);
        int rc = work ? flush_once(log) : 0;
        pthread_mutex_lock(&log->mu);
        if (rc && !log->f_err)
            log->f_err = rc;
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

/* fsync=always done by the appending thread itself (no group commit in the flusher). */
static bool always_inline(const struct plg_log *log)
{
    return log->cfg.fsync_policy == PLG_FSYNC_ALWAYS && !log->always_in_flusher;
}

static int flusher_start(struct plg_log *log)
{
    bool interval = log->cfg.fsync_policy == PLG_FSYNC_INTERVAL;
    bool always = log->cfg.fsync_policy == PLG_FSYNC_ALWAYS && log->always_in_flusher;
    if ((!interval && !always) || log->store.memory || log->thr_running)
        return 0;
    log->stop = false;
    log->f_interval_ms = always ? 0 : log->cfg.fsync_interval_ms;
    int rc = pthread_create(&log->thr, NULL, flusher_main, log);
    if (rc)
        return -rc;
    log->thr_running = true;
    return 0;
}

static void flusher_stop(struct plg_log *log)
{
    if (!log->thr_running)
        return;
    pthread_mutex_lock(&log->mu);
    log->stop = true;
    pthread_cond_signal(&log->cv);
    pthread_mutex_unlock(&log->mu);
    pthread_join(log->thr, NULL);
    log->thr_running = false;
}

int plg_log_sync_file(plg_log_t *log, int fd)
{
    pthread_mutex_lock(&log->mu);
    bool queued = false;
    if (log->thr_running) {
        if (log->f_nfiles == log->f_fcap) {
            size_t ncap = log->f_fcap ? log->f_fcap * 2 : 4;
            int *n = realloc(log->f_files, ncap * sizeof *n);
            if (n) {
                log->f_files = n;
                log->f_fcap = ncap;
            }
        }
        if (log->f_nfiles < log->f_fcap) {
            log->f_files[log->f_nfiles++] = fd;
            if (log->f_idle) /* else it is gathering writes already and takes this along */
                pthread_cond_signal(&log->cv);
            queued = true;
        }
    }
    pthread_mutex_unlock(&log->mu);
    if (queued)
        return 1;
    /* No flusher (or no memory to queue): fsync=never promises nothing; otherwise sync here. */
    int rc = 0;
    if (log->cfg.fsync_policy != PLG_FSYNC_NEVER)
        rc = fdatasync(fd) == 0 ? 1 : -errno;
    close(fd);
    return rc;
}

int log_sync_dir_soon(struct plg_log *log)
{
    pthread_mutex_lock(&log->mu);
    bool queued = log->thr_running;
    if (queued) {
        log->f_sync_dir = true;
        if (log->f_idle)
            pthread_cond_signal(&log->cv);
    }
    pthread_mutex_unlock(&log->mu);
    return queued ? 0 : log->store.ops->sync_dir(&log->store);
}

/* Owner thread: publishes the active segment and written end to the flusher. */
static void publish(struct plg_log *log, struct segment *sealed)
{
    pthread_mutex_lock(&log->mu);
    if (sealed) {
        if (log->f_ndirty == log->f_dcap) {
            size_t ncap = log->f_dcap ? log->f_dcap * 2 : 8;
            struct segment **n = realloc(log->f_dirty, ncap * sizeof *n);
            if (n) {
                log->f_dirty = n;
                log->f_dcap = ncap;
            }
        }
        if (log->f_ndirty < log->f_dcap) {
            segment_ref(sealed);
            log->f_dirty[log->f_ndirty++] = sealed;
        }
    }
    struct segment *act = log_active(log);
    if (log->f_active != act) {
        struct segment *old = log->f_active;
        segment_ref(act);
        log->f_active = act;
        segment_unref(old);
    }
    log->f_written = log->end_offset;
    log->f_pos = act->size;
    if (log->f_idle)
        pthread_cond_signal(&log->cv);
    pthread_mutex_unlock(&log->mu);
}

bool plg_log_writeback_file(plg_log_t *log, int fd)
{
    int drop = fd;
    pthread_mutex_lock(&log->mu);
    bool taken = log->thr_running;
    if (taken) {
        drop = log->f_wb_next; /* an fd no commit has taken yet, or -1 / -2 */
        log->f_wb_next = fd < 0 ? -1 : fd;
    }
    pthread_mutex_unlock(&log->mu);
    if (drop >= 0)
        close(drop);
    return taken;
}

void plg_log_sync_soon(plg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    if (log->thr_running && !log->f_urgent) {
        log->f_urgent = true;
        pthread_cond_signal(&log->cv);
    }
    pthread_mutex_unlock(&log->mu);
}

int64_t plg_log_cache_held(plg_log_t *log)
{
    return atomic_load(&log->cache_held);
}

void plg_log_drop_cache(plg_log_t *log)
{
    if (log->keep_bytes <= 0)
        return;
    pthread_mutex_lock(&log->mu);
    if (log->thr_running && !log->f_drop_all) {
        log->f_drop_all = true;
        pthread_cond_signal(&log->cv);
    }
    pthread_mutex_unlock(&log->mu);
}

int plg_log_flush(plg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    int err = log->f_err;
    pthread_mutex_unlock(&log->mu);
    if (err)
        return err;
    return flush_once(log);
}

int64_t plg_log_durable_offset(const plg_log_t *log)
{
    return atomic_load(&((plg_log_t *)log)->durable);
}

/* How much of a new active segment's file to map: it never grows beyond this. */
static size_t map_hint(const struct plg_log *log)
{
    int64_t n = log->cfg.segment_bytes;
    if (log->cfg.max_message_bytes > n)
        n = log->cfg.max_message_bytes;
    return n > (int64_t)SEG_MAP_SIZE ? SEG_MAP_SIZE : (size_t)n;
}

/* ---- segment list ---- */

static int segs_push(struct plg_log *log, struct segment *s)
{
    if (log->nsegs == log->cap) {
        size_t ncap = log->cap ? log->cap * 2 : 16;
        struct segment **n = realloc(log->segs, ncap * sizeof *n);
        if (!n)
            return PLG_ENOMEM;
        log->segs = n;
        log->cap = ncap;
    }
    log->segs[log->nsegs++] = s;
    return 0;
}

/* Removes segs[i] from the list and its files from the store. */
static void segs_delete(struct plg_log *log, size_t i)
{
    struct segment *s = log->segs[i];
    segment_remove_files(s);
    memmove(log->segs + i, log->segs + i + 1, (log->nsegs - i - 1) * sizeof *log->segs);
    log->nsegs--;
    log_event(log, PLG_SEG_DELETED, s->base, s->next_offset);
    segment_unref(s);
}

/* Index of the segment that may hold offset: the last with base <= offset (0 if none). */
static size_t segs_find(const struct plg_log *log, int64_t offset)
{
    size_t lo = 0, hi = log->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/*
 * Starts a new active segment at `base` (the end offset, or beyond it for a gap). A sealed
 * predecessor is queued for the flusher; an empty one is replaced (its files removed).
 */
static int roll_to(struct plg_log *log, int64_t base)
{
    struct segment *old = log_active(log);
    bool drop = old->size == 0;
    int rc = drop ? 0 : segment_seal(old);
    if (rc)
        return rc;
    struct segment *s;
    rc = segment_create(&log->store, base, log->cfg.segment_index_bytes,
                        log->cfg.index_interval_bytes, log_now(log), map_hint(log), &s);
    if (rc == 0 && (rc = segs_push(log, s)) != 0)
        segment_unref(s);
    if (rc) {
        if (!drop)
            segment_activate(old, log->cfg.segment_index_bytes);
        return rc;
    }
    if (drop && old->base == base) {
        /* Same name: the new segment already reopened and emptied these files. */
        log->segs[log->nsegs - 2] = s;
        log->nsegs--;
        segment_unref(old);
    } else if (drop) {
        segs_delete(log, log->nsegs - 2);
    } else {
        log_event(log, PLG_SEG_SEALED, old->base, old->next_offset);
    }
    log_event(log, PLG_SEG_CREATED, s->base, s->base);
    publish(log, drop ? NULL : old);
    if (always_inline(log))
        return flush_once(log);
    return 0;
}

static int roll(struct plg_log *log)
{
    return roll_to(log, log->end_offset);
}

int plg_log_roll(plg_log_t *log)
{
    if (log_active(log)->size == 0)
        return 0;
    return roll(log);
}

/* ---- persistence of a moved log start offset ---- */

static int save_start(struct plg_log *log)
{
    if (log->store.memory)
        return 0;
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRId64 "\n", log->start_offset);
    int fd;
    int rc = log->store.ops->open(&log->store, START_FILE ".tmp", true, &fd);
    if (rc)
        return rc;
    if (ftruncate(fd, 0) < 0)
        rc = -errno;
    if (rc == 0)
        rc = store_pwrite_all(fd, text, (size_t)n, 0);
    if (rc == 0)
        rc = log->store.ops->sync(&log->store, fd);
    close(fd);
    if (rc == 0)
        rc = log->store.ops->rename(&log->store, START_FILE ".tmp", START_FILE);
    if (rc == 0)
        rc = log->store.ops->sync_dir(&log->store);
    return rc;
}

static void load_start(struct plg_log *log)
{
    int fd;
    if (log->store.memory || log->store.ops->open(&log->store, START_FILE, false, &fd))
        return;
    char text[32] = {0};
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    if (n <= 0)
        return;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*end == '\n' && v > log->start_offset && v <= log->end_offset)
        log->start_offset = v;
}

/* ---- open / recovery ---- */

struct name_list {
    int64_t *bases;
    size_t n, cap;
    struct store *store;
};

static void collect(void *ctx, const char *name)
{
    struct name_list *l = ctx;
    int64_t base;
    size_t len = strlen(name);
    if ((len > 8 && strcmp(name + len - 8, ".cleaned") == 0) ||
        (len > 4 && strcmp(name + len - 4, ".tmp") == 0)) {
        l->store->ops->remove(l->store, name); /* leftovers of an interrupted rewrite */
        return;
    }
    if (seg_parse_name(name, &base))
        return;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        int64_t *nb = realloc(l->bases, ncap * sizeof *nb);
        if (!nb)
            return;
        l->bases = nb;
        l->cap = ncap;
    }
    l->bases[l->n++] = base;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Removes files of segments that come after a corrupt point. */
static void drop_bases(struct plg_log *log, const int64_t *bases, size_t n,
                       struct plg_log_recovery *rec)
{
    for (size_t i = 0; i < n; i++) {
        segment_remove_base(&log->store, bases[i]);
        rec->segments_removed++;
    }
}

static void note_cut(struct plg_log_recovery *rec, struct segment *s, int64_t fsize, int64_t cut,
                     int reason)
{
    rec->truncated_bytes += fsize - cut;
    rec->truncated_at = s->next_offset;
    rec->truncated_position = cut;
    rec->truncate_reason = reason;
}

static int recover(struct plg_log *log, struct plg_log_recovery *rec)
{
    struct name_list l = {.store = &log->store};
    int rc = log->store.ops->list(&log->store, collect, &l);
    if (rc) {
        free(l.bases);
        return rc;
    }
    if (l.n > 1)
        qsort(l.bases, l.n, sizeof *l.bases, cmp_i64);
    rec->segments = (int32_t)l.n;
    int64_t now = log_now(log);
    int32_t ib = log->cfg.segment_index_bytes, ii = log->cfg.index_interval_bytes;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        struct segment *s;
        rc = segment_load(&log->store, l.bases[i], ii, now, i + 1 == l.n ? map_hint(log) : 0, &s);
        if (rc)
            break;
        if (log->nsegs > 0 && s->base < log_active(log)->next_offset) {
            /* Overlaps its predecessor: not a segment this log wrote. Drop it and the rest. */
            segment_unref(s);
            drop_bases(log, l.bases + i, l.n - i, rec);
            rec->truncate_reason = PLG_ECORRUPT;
            break;
        }
        if ((rc = segs_push(log, s)) != 0) {
            segment_unref(s);
            break;
        }
        int64_t cut, fsize;
        int reason;
        fsize = lseek(s->fd, 0, SEEK_END);
        if (i + 1 < l.n) {
            bool rebuilt;
            rc = segment_recover_sealed(s, ib, &rebuilt, &cut, &reason);
            if (rc)
                break;
            rec->indexes_rebuilt += rebuilt;
            if (reason) {
                /* Corruption inside a sealed segment: nothing after it may be served. */
                rc = segment_truncate(s, cut, ib);
                note_cut(rec, s, fsize, cut, reason);
                drop_bases(log, l.bases + i + 1, l.n - i - 1, rec);
                break;
            }
        } else {
            rc = segment_recover_active(s, ib, &cut, &reason);
            if (rc == 0 && reason)
                note_cut(rec, s, fsize, cut, reason);
        }
    }
    free(l.bases);
    return rc;
}

int plg_log_open(const char *dir, const struct plg_log_options *opts, plg_log_t **out,
                 struct plg_log_recovery *rec)
{
    struct plg_log_options defaults = {0};
    if (!opts)
        opts = &defaults;
    struct plg_log_recovery scratch_rec;
    if (!rec)
        rec = &scratch_rec;
    memset(rec, 0, sizeof *rec);
    rec->truncated_at = -1;
    if (!opts->memory_only && !dir)
        return PLG_EINVAL;
    struct plg_log *log = calloc(1, sizeof *log);
    if (!log)
        return PLG_ENOMEM;
    if (opts->config)
        log->cfg = *opts->config;
    else
        plg_log_config_init(&log->cfg);
    log->on_durable = opts->on_durable;
    log->durable_ctx = opts->durable_ctx;
    log->always_in_flusher = opts->always_in_flusher;
    log->keep_bytes = opts->cache_keep_bytes > 0 && !opts->memory_only ? opts->cache_keep_bytes : 0;
    log->f_wb_next = -2;
    log->wb_fd = log->wb_prev = -1;
    log->clock_ms = opts->clock_ms ? opts->clock_ms : real_clock;
    log->clock_ctx = opts->clock_ctx;
    pthread_mutex_init(&log->mu, NULL);
    pthread_mutex_init(&log->sync_mu, NULL);
    pthread_cond_init(&log->cv, NULL);
    int rc = 0;
    if (opts->memory_only)
        store_open_memory(&log->store);
    else
        rc = store_open_disk(&log->store, dir, opts->create);
    if (rc) {
        log->store.dirfd = -1;
        plg_log_close(log);
        return rc;
    }
    rc = recover(log, rec);
    if (rc == 0 && log->nsegs == 0) {
        struct segment *s;
        rc = segment_create(&log->store, 0, log->cfg.segment_index_bytes,
                            log->cfg.index_interval_bytes, log_now(log), map_hint(log), &s);
        if (rc == 0 && (rc = segs_push(log, s)) != 0)
            segment_unref(s);
        if (rc == 0)
            rc = log->store.ops->sync_dir(&log->store);
    }
    if (rc) {
        plg_log_close(log);
        return rc;
    }
    log->end_offset = log_active(log)->next_offset;
    log->start_offset = log->segs[0]->base;
    load_start(log);
    publish(log, NULL);
    /* What recovery kept is made durable now, so the durable offset starts at the end. */
    rc = flush_once(log);
    if (rc == 0)
        rc = flusher_start(log);
    if (rc) {
        plg_log_close(log);
        return rc;
    }
    *out = log;
    return 0;
}

int plg_log_close(plg_log_t *log)
{
    if (!log)
        return 0;
    flusher_stop(log);
    int rc = 0;
    if (log->nsegs > 0 && log->store.ops)
        rc = flush_once(log);
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < log->f_ndirty; i++)
        segment_unref(log->f_dirty[i]);
    free(log->f_dirty);
    for (size_t i = 0; i < log->f_nfiles; i++)
        close(log->f_files[i]); /* only when the final flush did not run */
    free(log->f_files);
    segment_unref(log->f_active);
    pthread_mutex_unlock(&log->mu);
    segment_unref(log->d_prev);
    if (log->f_wb_next >= 0) /* not taken over by a commit (no final flush ran) */
        close(log->f_wb_next);
    if (log->wb_fd >= 0)
        close(log->wb_fd);
    if (log->wb_prev >= 0)
        close(log->wb_prev);
    for (size_t i = 0; i < log->nsegs; i++)
        segment_unref(log->segs[i]);
    free(log->segs);
    store_close(&log->store);
    pthread_mutex_destroy(&log->mu);
    pthread_mutex_destroy(&log->sync_mu);
    pthread_cond_destroy(&log->cv);
    free(log);
    return rc;
}

void plg_log_set_hooks(plg_log_t *log, const struct plg_log_hooks *hooks)
{
    if (hooks) {
        log->hooks = *hooks;
        log->has_hooks = true;
    } else {
        memset(&log->hooks, 0, sizeof log->hooks);
        log->has_hooks = false;
    }
}

const struct plg_log_config *plg_log_config(const plg_log_t *log)
{
    return &log->cfg;
}

int plg_log_reconfigure(plg_log_t *log, const struct plg_log_config *cfg)
{
    bool restart = cfg->fsync_policy != log->cfg.fsync_policy ||
                   cfg->fsync_interval_ms != log->cfg.fsync_interval_ms;
    if (restart)
        flusher_stop(log);
    log->cfg = *cfg;
    log_active(log)->index_interval = cfg->index_interval_bytes;
    if (restart) {
        int rc = flush_once(log);
        if (rc)
            return rc;
        return flusher_start(log);
    }
    return 0;
}

/* ---- append ---- */

static int check_batch(struct plg_log *log, const uint8_t *p, size_t len, struct batch *b,
                       bool crc_checked)
{
    int rc = crc_checked ? batch_parse(p, len, b) : batch_validate(p, len, b);
    if (rc)
        return rc;
    if (b->size != len)
        return PLG_EINVAL; /* one whole batch per call */
    if (len > (size_t)log->cfg.max_message_bytes)
        return PLG_ETOOBIG;
    pthread_mutex_lock(&log->mu);
    rc = log->f_err;
    pthread_mutex_unlock(&log->mu);
    return rc;
}

/* Rolls first when the active segment cannot or should not take this batch, or when the batch
 * starts beyond its end (append_at with a gap: segments hold contiguous offsets). */
static int maybe_roll(struct plg_log *log, const struct batch *b, int64_t base, int64_t now)
{
    struct segment *s = log_active(log);
    bool nofit = s->size + (int64_t)b->size > (int64_t)s->map_len; /* config grew since */
    if (base != s->next_offset || (s->size == 0 && nofit))
        return roll_to(log, base);
    if (s->size == 0)
        return 0; /* an empty segment takes any batch at its base */
    bool full = s->size + (int64_t)b->size > log->cfg.segment_bytes || nofit;
    bool old = now - s->created_ms > log->cfg.segment_ms;
    bool wide = base + b->last_offset_delta - s->base > (int64_t)UINT32_MAX;
    if (full || old || wide || segment_index_full(s))
        return roll_to(log, base);
    return 0;
}

static int finish_append(struct plg_log *log, const uint8_t *p, const struct batch *b)
{
    int rc = segment_append(log_active(log), p, b);
    if (rc)
        return rc;
    log->end_offset = batch_last_offset(b) + 1;
    publish(log, NULL);
    if (log->has_hooks && log->hooks.on_append)
        log->hooks.on_append(log->hooks.ctx, b->base_offset, p, b->size);
    if (always_inline(log) || log->store.memory)
        return flush_once(log);
    return 0;
}

static int append(plg_log_t *log, uint8_t *p, size_t len, struct plg_append_info *info,
                  bool crc_checked)
{
    struct batch b;
    int rc = check_batch(log, p, len, &b, crc_checked);
    if (rc)
        return rc;
    int64_t base = log->end_offset;
    if (base > INT64_MAX - 1 - b.last_offset_delta)
        return PLG_EOVERFLOW;
    int64_t now = log_now(log);
    rc = maybe_roll(log, &b, base, now);
    if (rc)
        return rc;
    batch_set_base_offset(p, base);
    b.base_offset = base;
    int64_t lat = -1;
    if (log->cfg.timestamp_type == PLG_TS_LOG_APPEND_TIME) {
        rc = batch_set_log_append_time(p, len, now);
        if (rc)
            return rc;
        b.max_timestamp = now;
        b.attributes |= BATCH_ATTR_LOG_APPEND_TIME;
        lat = now;
    }
    rc = finish_append(log, p, &b);
    if (info) {
        info->base_offset = base;
        info->last_offset = batch_last_offset(&b);
        info->log_append_time = lat;
        info->log_start_offset = log->start_offset;
    }
    return rc;
}

int plg_log_append(plg_log_t *log, uint8_t *p, size_t len, struct plg_append_info *info)
{
    return append(log, p, len, info, false);
}

int plg_log_append_checked(plg_log_t *log, uint8_t *p, size_t len, struct plg_append_info *info)
{
    return append(log, p, len, info, true);
}

int plg_log_append_at(plg_log_t *log, const uint8_t *p, size_t len)
{
    struct batch b;
    int rc = check_batch(log, p, len, &b, false);
    if (rc)
        return rc;
    if (b.base_offset < log->end_offset)
        return PLG_ERANGE;
    rc = maybe_roll(log, &b, b.base_offset, log_now(log));
    if (rc)
        return rc;
    return finish_append(log, p, &b);
}

/* ---- read ---- */

int64_t plg_log_start_offset(const plg_log_t *log)
{
    return log->start_offset;
}

int64_t plg_log_end_offset(const plg_log_t *log)
{
    return log->end_offset;
}

int64_t plg_log_size_bytes(const plg_log_t *log)
{
    int64_t n = 0;
    for (size_t i = 0; i < log->nsegs; i++)
        n += log->segs[i]->size;
    return n;
}

int32_t plg_log_segment_count(const plg_log_t *log)
{
    return (int32_t)log->nsegs;
}

int plg_log_read(plg_log_t *log, int64_t offset, size_t max_bytes, struct plg_log_slice *out)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    out->first_offset = out->next_offset = offset;
    if (offset < log->start_offset || offset > log->end_offset)
        return PLG_ERANGE;
    for (size_t i = segs_find(log, offset); i < log->nsegs; i++) {
        struct segment *s = log->segs[i];
        if (offset >= s->next_offset)
            continue;
        int64_t pos = segment_find(s, offset);
        if (pos >= s->size)
            continue;
        int64_t endp = pos + seg_batch_size(s, pos);
        int64_t next = seg_batch_last(s, pos) + 1;
        while (endp < s->size && endp - pos + seg_batch_size(s, endp) <= (int64_t)max_bytes) {
            next = seg_batch_last(s, endp) + 1;
            endp += seg_batch_size(s, endp);
        }
        segment_ref(s);
        out->seg_ref = s;
        out->fd = s->fd;
        out->pos = pos;
        out->len = (size_t)(endp - pos);
        out->data = s->map + pos;
        out->first_offset = seg_batch_base(s, pos);
        out->next_offset = next;
        return 0;
    }
    out->next_offset = log->end_offset;
    return 0;
}

int plg_log_read_cold(plg_log_t *log, int64_t offset, size_t max_bytes, int *fd, int64_t *pos,
                      size_t *len)
{
    if (log->store.memory || offset < log->start_offset || offset >= log->end_offset)
        return 0;
    for (size_t i = segs_find(log, offset); i < log->nsegs; i++) {
        struct segment *s = log->segs[i];
        if (offset >= s->next_offset || s->size == 0)
            continue;
        int64_t from = segment_index_pos(s, offset) & ~(int64_t)4095;
        int64_t to = from + (int64_t)max_bytes + 65536;
        if (to > s->size)
            to = s->size;
        size_t pages = (size_t)((to - from + 4095) / 4096);
        unsigned char vec[256];
        for (size_t done = 0; done < pages;) {
            size_t n = pages - done < sizeof vec ? pages - done : sizeof vec;
            if (mincore((void *)(s->map + from + (int64_t)done * 4096), n * 4096, vec) != 0)
                return 0; /* cannot tell: read as before */
            for (size_t k = 0; k < n; k++)
                if (!(vec[k] & 1)) {
                    *fd = s->fd;
                    *pos = from;
                    *len = (size_t)(to - from);
                    return 1;
                }
            done += n;
        }
        return 0;
    }
    return 0;
}

void plg_log_slice_release(struct plg_log_slice *s)
{
    if (s && s->seg_ref) {
        segment_unref(s->seg_ref);
        s->seg_ref = NULL;
    }
}

int plg_log_read_copy(plg_log_t *log, int64_t offset, size_t max_bytes, uint8_t **out, size_t *len,
                      int64_t *next_offset)
{
    if (offset < log->start_offset || offset > log->end_offset)
        return PLG_ERANGE;
    struct buf b;
    buf_init(&b);
    int64_t at = offset;
    int rc = 0;
    while (at < log->end_offset) {
        struct plg_log_slice s;
        size_t room = b.len < max_bytes ? max_bytes - b.len : 0;
        if (b.len > 0 && room == 0)
            break;
        rc = plg_log_read(log, at, room, &s);
        if (rc || s.len == 0) {
            plg_log_slice_release(&s);
            break;
        }
        if (b.len > 0 && s.len > room) {
            plg_log_slice_release(&s);
            break;
        }
        buf_put(&b, s.data, s.len);
        at = s.next_offset;
        plg_log_slice_release(&s);
        if (b.oom) {
            rc = PLG_ENOMEM;
            break;
        }
    }
    if (rc) {
        buf_free(&b);
        return rc;
    }
    *next_offset = at;
    *out = buf_steal(&b, len);
    return 0;
}

/* ---- time lookup ---- */

/* First record with timestamp >= ts in the batch at pos; -1 when none. */
static int64_t batch_find_time(const struct segment *s, int64_t pos, int64_t ts, struct buf *sc)
{
    struct batch b;
    if (batch_parse(s->map + pos, (size_t)(s->size - pos), &b))
        return -1;
    const uint8_t *rp;
    size_t rl;
    if (batch_records(&b, sc, BATCH_MAX_RECORDS_BYTES, &rp, &rl))
        return b.max_timestamp >= ts ? b.base_offset : -1;
    struct batch_iter it;
    struct batch_record r;
    batch_iter_init(&it, &b, rp, rl);
    while (batch_iter_next(&it, &r) == 1) {
        if (r.timestamp >= ts)
            return r.offset;
    }
    return -1;
}

int plg_log_lookup_time(plg_log_t *log, int64_t ts, int64_t *offset)
{
    struct buf sc;
    buf_init(&sc);
    int rc = PLG_ENOTFOUND;
    for (size_t i = 0; i < log->nsegs && rc == PLG_ENOTFOUND; i++) {
        struct segment *s = log->segs[i];
        if (s->size == 0 || s->max_ts < ts || s->next_offset <= log->start_offset)
            continue;
        for (int64_t pos = segment_find_time(s, ts); pos < s->size; pos += seg_batch_size(s, pos)) {
            int64_t mt = (int64_t)be64_get(s->map + pos + BATCH_OFF_MAX_TIMESTAMP);
            if (mt < ts || seg_batch_last(s, pos) < log->start_offset)
                continue;
            int64_t off = batch_find_time(s, pos, ts, &sc);
            if (off >= 0) {
                *offset = off < log->start_offset ? log->start_offset : off;
                rc = 0;
                break;
            }
        }
    }
    buf_free(&sc);
    return rc;
}

/* ---- retention, delete records, truncation ---- */

/* Segments detached from a log whose files are still to be removed (plg_log_retention_begin). */
struct plg_log_garbage {
    struct store store; /* own directory handle */
    struct segment **segs;
    size_t n;
};

int plg_log_retention_begin(plg_log_t *log, int32_t *deleted, struct plg_log_garbage **garbage)
{
    *garbage = NULL;
    if (deleted)
        *deleted = 0;
    if (!(log->cfg.cleanup_policy & PLG_CLEANUP_DELETE))
        return 0;
    int64_t now = log_now(log);
    struct segment *act = log_active(log);
    if (log->cfg.retention_ms >= 0 && act->size > 0 && act->max_ts < now - log->cfg.retention_ms) {
        /* Everything in the active segment has expired too: seal it so it can go (as Kafka
         * does), leaving an empty active segment at the end offset. */
        int rc = roll(log);
        if (rc)
            return rc;
    }
    int64_t total = plg_log_size_bytes(log);
    size_t n = 0;
    while (n + 1 < log->nsegs) {
        struct segment *s = log->segs[n];
        bool by_time = log->cfg.retention_ms >= 0 && s->max_ts != INT64_MIN &&
                       s->max_ts < now - log->cfg.retention_ms;
        bool by_bytes =
            log->cfg.retention_bytes >= 0 && total - s->size >= log->cfg.retention_bytes;
        if (!by_time && !by_bytes)
            break;
        total -= s->size;
        n++;
    }
    if (n == 0)
        return 0;
    struct plg_log_garbage *g = calloc(1, sizeof *g);
    if (!g || !(g->segs = malloc(n * sizeof *g->segs))) {
        free(g);
        return PLG_ENOMEM;
    }
    int rc = store_dup(&log->store, &g->store);
    if (rc) {
        free(g->segs);
        free(g);
        return rc;
    }
    /* The log's references move to g; from here the segments are no longer served. The start
     * offset needs no file: it is the first kept segment's base, which recovery derives (a
     * saved start inside that segment, from DeleteRecords, stays valid and is kept). */
    memcpy(g->segs, log->segs, n * sizeof *g->segs);
    g->n = n;
    memmove(log->segs, log->segs + n, (log->nsegs - n) * sizeof *log->segs);
    log->nsegs -= n;
    for (size_t i = 0; i < n; i++) {
        atomic_store(&g->segs[i]->removed, true);
        log_event(log, PLG_SEG_DELETED, g->segs[i]->base, g->segs[i]->next_offset);
    }
    if (log->segs[0]->base > log->start_offset)
        log->start_offset = log->segs[0]->base;
    if (deleted)
        *deleted = (int32_t)n;
    *garbage = g;
    return 0;
}

int plg_log_garbage_collect(struct plg_log_garbage *g)
{
    if (!g)
        return 0;
    int rc = 0;
    for (size_t i = 0; i < g->n; i++) {
        int r = segment_remove_base(&g->store, g->segs[i]->base);
        if (r && !rc)
            rc = r;
        segment_unref(g->segs[i]);
    }
    int r = g->n ? g->store.ops->sync_dir(&g->store) : 0;
    if (r && !rc)
        rc = r;
    store_close(&g->store);
    free(g->segs);
    free(g);
    return rc;
}

int plg_log_enforce_retention(plg_log_t *log, int32_t *deleted)
{
    struct plg_log_garbage *g;
    int rc = plg_log_retention_begin(log, deleted, &g);
    if (rc == 0)
        rc = plg_log_garbage_collect(g);
    return rc;
}

int plg_log_delete_records(plg_log_t *log, int64_t offset)
{
    if (offset > log->end_offset || offset < 0)
        return PLG_ERANGE;
    if (offset <= log->start_offset)
        return 0;
    log->start_offset = offset;
    while (log->nsegs > 1 && log->segs[1]->base <= offset)
        segs_delete(log, 0);
    return save_start(log);
}

int plg_log_truncate(plg_log_t *log, int64_t offset)
{
    if (offset < log->start_offset || offset > log->end_offset)
        return PLG_ERANGE;
    if (offset == log->end_offset)
        return 0;
    if (log->compacting)
        return PLG_ESTATE; /* a worker may be reading the segments this would cut */
    while (log->nsegs > 1 && log_active(log)->base >= offset)
        segs_delete(log, log->nsegs - 1);
    struct segment *s = log_active(log);
    int64_t pos = segment_find(s, offset);
    int rc = segment_truncate(s, pos, log->cfg.segment_index_bytes);
    if (rc)
        return rc;
    log->end_offset = s->next_offset;
    if (log->start_offset > log->end_offset)
        log->start_offset = log->end_offset;
    pthread_mutex_lock(&log->mu);
    log->f_gen++;
    if (atomic_load(&log->durable) > log->end_offset)
        atomic_store(&log->durable, log->end_offset);
    pthread_mutex_unlock(&log->mu);
    publish(log, NULL);
    log_event(log, PLG_SEG_TRUNCATED, s->base, log->end_offset);
    return log->store.ops->sync(&log->store, s->fd);
}
