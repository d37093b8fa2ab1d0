/*
 * test_compact.c — key-based compaction: offsets preserved, the last value per key kept,
 * tombstones kept until delete.retention.ms and dropped after, compressed batches rewritten,
 * control batches untouched, the active segment untouched, the result survives a reopen;
 * on disk and in memory. The split form (begin / run on another thread / install): appends and
 * readers keep going while the worker runs, results are installed correctly, discarded when the
 * segments changed underneath (retention, the log closed) and leave no stray files.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "helpers.h"
#include "storage/log_internal.h"

enum { NREC = 600, NKEYS = 23 };

struct rec {
    int64_t offset;
    int key;   /* -1: no key */
    int value; /* -1: tombstone */
    int64_t ts;
};

static struct rec model[NREC + 64];
static int nmodel;

/* Record i: key i % NKEYS (every 50th record has no key), value i, except every 7th record of
 * key 3 and key 5 is a tombstone, and so is their last record. Batches of 1..5 records; every 11th
 * batch gzip-compressed. */
static void append_model(plg_log_t *log, int64_t ts0)
{
    nmodel = 0;
    int i = 0, nb = 0;
    while (i < NREC) {
        int n = 1 + nb % 5;
        struct batch_builder bb;
        batch_builder_init(&bb, 0, ts0 + i);
        int64_t base = plg_log_end_offset(log);
        for (int r = 0; r < n && i < NREC; r++, i++) {
            char k[16], v[32];
            int key = i % 50 == 0 ? -1 : i % NKEYS;
            int tomb = (key == 3 || key == 5) && ((i / NKEYS) % 7 == 6 || i + NKEYS >= NREC);
            int kl = snprintf(k, sizeof k, "key%d", key);
            int vl = snprintf(v, sizeof v, "value-%d", i);
            assert_int_equal(batch_builder_add(&bb, ts0 + i, key < 0 ? NULL : k, key < 0 ? -1 : kl,
                                               tomb ? NULL : v, tomb ? -1 : vl, NULL, 0),
                             0);
            model[nmodel++] = (struct rec){base + r, key, tomb ? -1 : i, ts0 + i};
        }
        uint8_t *b;
        size_t len;
        assert_int_equal(batch_builder_finish(&bb, -1, &b, &len), 0);
        batch_builder_destroy(&bb);
        if (nb % 11 == 10) {
            /* Recompress the records section with gzip. */
            uint8_t *z = malloc(len + 128);
            memcpy(z, b, BATCH_HEADER_SIZE);
            z_stream zs;
            memset(&zs, 0, sizeof zs);
            assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
            zs.next_in = b + BATCH_HEADER_SIZE;
            zs.avail_in = (unsigned)(len - BATCH_HEADER_SIZE);
            zs.next_out = z + BATCH_HEADER_SIZE;
            zs.avail_out = 128 + (unsigned)len - BATCH_HEADER_SIZE;
            assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
            size_t zl = BATCH_HEADER_SIZE + zs.total_out;
            deflateEnd(&zs);
            be32_put(z + BATCH_OFF_LENGTH, (uint32_t)(zl - BATCH_LOG_OVERHEAD));
            be16_put(z + BATCH_OFF_ATTRIBUTES, BATCH_CODEC_GZIP);
            be32_put(z + BATCH_OFF_CRC, batch_compute_crc(z, zl));
            free(b);
            b = z;
            len = zl;
        }
        assert_int_equal(plg_log_append(log, b, len, NULL), 0);
        free(b);
        nb++;
    }
}

/* sscanf over a length-delimited field. */
static bool scan_int(const uint8_t *p, int32_t len, const char *fmt, int *out)
{
    char tmp[64];
    if (len >= (int32_t)sizeof tmp)
        return false;
    memcpy(tmp, p, (size_t)len);
    tmp[len] = 0;
    return sscanf(tmp, fmt, out) == 1;
}

/* Reads every record of the log: offsets strictly increase and contiguity holds per batch. */
static int read_all(plg_log_t *log, struct rec *out, int cap)
{
    uint8_t *all;
    size_t len;
    int64_t next;
    assert_int_equal(plg_log_read_copy(log, plg_log_start_offset(log), SIZE_MAX, &all, &len, &next),
                     0);
    int n = 0;
    size_t pos = 0;
    int64_t expect_base = plg_log_start_offset(log);
    struct buf sc;
    buf_init(&sc);
    while (pos < len) {
        struct batch b;
        assert_int_equal(batch_validate_deep(all + pos, len - pos, &sc, 1 << 24, &b), 0);
        assert_int_equal(b.base_offset, expect_base);
        expect_base = batch_last_offset(&b) + 1;
        const uint8_t *rp;
        size_t rl;
        assert_int_equal(batch_records(&b, &sc, 1 << 24, &rp, &rl), 0);
        struct batch_iter it;
        struct batch_record r;
        batch_iter_init(&it, &b, rp, rl);
        while (batch_iter_next(&it, &r) == 1) {
            assert_true(n < cap);
            int key = -1, value = -1;
            /* Records not from the model (make_batch's "k0"/"v0-0") read as -2. */
            if (r.key_len >= 0 && !scan_int(r.key, r.key_len, "key%d", &key))
                key = -2;
            if (r.value_len >= 0 && !scan_int(r.value, r.value_len, "value-%d", &value))
                value = -2;
            out[n++] = (struct rec){r.offset, key, value, r.timestamp};
        }
        pos += b.size;
    }
    assert_int_equal(expect_base, plg_log_end_offset(log));
    buf_free(&sc);
    free(all);
    return n;
}

/* What must survive compaction of everything below `active_base` at time now. */
static int expected(int64_t active_base, int64_t now, int64_t delete_retention, struct rec *out)
{
    int n = 0;
    for (int i = 0; i < nmodel; i++) {
        const struct rec *m = &model[i];
        bool keep = true;
        if (m->offset < active_base && m->key >= 0) {
            for (int j = i + 1; j < nmodel && model[j].offset < active_base; j++) {
                if (model[j].key == m->key)
                    keep = false;
            }
            if (keep && m->value < 0 && m->ts < now - delete_retention)
                keep = false;
        }
        if (keep)
            out[n++] = *m;
    }
    return n;
}

static void check_equal(const struct rec *got, int ng, const struct rec *want, int nw)
{
    assert_int_equal(ng, nw);
    for (int i = 0; i < nw; i++) {
        assert_int_equal(got[i].offset, want[i].offset);
        assert_int_equal(got[i].key, want[i].key);
        assert_int_equal(got[i].value, want[i].value);
        assert_int_equal(got[i].ts, want[i].ts);
    }
}

/* Remembers the base of the newest segment (the active one). */
static void on_seg(void *ctx, enum plg_segment_event kind, int64_t base, int64_t arg)
{
    (void)arg;
    if (kind == PLG_SEG_CREATED)
        *(int64_t *)ctx = base;
}

static void run_compaction(bool memory)
{
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.segment_bytes = 2048;
    c.index_interval_bytes = 128;
    c.fsync_policy = PLG_FSYNC_NEVER;
    c.retention_ms = -1;
    c.cleanup_policy = PLG_CLEANUP_COMPACT;
    c.delete_retention_ms = 100000;
    struct plg_log_options o = disk_opts(&c);
    o.memory_only = memory;
    plg_log_t *log;
    assert_int_equal(plg_log_open(memory ? NULL : dir, &o, &log, NULL), 0);
    int64_t ts0 = fake_now - 50000; /* records 50 s old; tombstones kept (100 s) */
    append_model(log, ts0);
    assert_int_equal(plg_log_roll(log), 0);   /* everything is sealed now */
    int64_t active = plg_log_end_offset(log); /* just rolled: the active segment is empty */
    int32_t segs = plg_log_segment_count(log);
    assert_true(segs > 5);
    int64_t size_before = plg_log_size_bytes(log);

    static struct rec got[NREC + 64], want[NREC + 64];
    int64_t removed;
    assert_int_equal(plg_log_compact(log, &removed), 0);
    int nw = expected(active, fake_now, c.delete_retention_ms, want);
    assert_int_equal(removed, nmodel - nw);
    assert_true(removed > NREC / 2);
    check_equal(got, read_all(log, got, NREC + 64), want, nw);
    assert_int_equal(plg_log_segment_count(log), segs);
    assert_true(plg_log_size_bytes(log) < size_before);
    assert_int_equal(plg_log_end_offset(log), active);
    /* Some tombstones are still there (younger than delete.retention.ms). */
    int tombs = 0;
    for (int i = 0; i < nw; i++)
        tombs += want[i].value < 0;
    assert_true(tombs > 0);

    /* Time passes: the tombstones expire and a second compaction drops them. */
    fake_now += 200000;
    assert_int_equal(plg_log_compact(log, &removed), 0);
    assert_int_equal(removed, tombs);
    nw = expected(active, fake_now, c.delete_retention_ms, want);
    check_equal(got, read_all(log, got, NREC + 64), want, nw);
    for (int i = 0; i < nw; i++)
        assert_true(want[i].value >= 0);
    /* A third run finds nothing to do. */
    assert_int_equal(plg_log_compact(log, &removed), 0);
    assert_int_equal(removed, 0);

    /* Appends continue; the time index and offset lookups work on compacted segments. */
    size_t len;
    uint8_t *b = make_batch(2, 10, fake_now, 0, 0, &len);
    struct plg_append_info info;
    assert_int_equal(plg_log_append(log, b, len, &info), 0);
    assert_int_equal(info.base_offset, active);
    free(b);
    int64_t off;
    assert_int_equal(plg_log_lookup_time(log, want[nw / 2].ts, &off), 0);
    assert_int_equal(off, want[nw / 2].offset);
    if (!memory) {
        assert_int_equal(plg_log_close(log), 0);
        struct plg_log_recovery rec;
        assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
        assert_int_equal(rec.truncate_reason, 0);
        assert_int_equal(rec.indexes_rebuilt, 0);
        int ng = read_all(log, got, NREC + 64);
        assert_int_equal(ng, nw + 2);
        check_equal(got, nw, want, nw);
    }
    assert_int_equal(plg_log_close(log), 0);
}

static void test_compact_disk(void **state)
{
    (void)state;
    run_compaction(false);
}

static void test_compact_memory(void **state)
{
    (void)state;
    run_compaction(true);
}

static void test_compact_off_and_active(void **state)
{
    (void)state;
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.segment_bytes = 2048;
    c.fsync_policy = PLG_FSYNC_NEVER;
    c.delete_retention_ms = 0;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log;
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    int64_t active = 0;
    struct plg_log_hooks h = {.ctx = &active, .on_segment_event = on_seg};
    plg_log_set_hooks(log, &h);
    append_model(log, fake_now - 1000);
    assert_true(active > 0);
    assert_true(active < plg_log_end_offset(log)); /* records in the active segment */
    int64_t size = plg_log_size_bytes(log);
    int64_t removed = 99;
    /* cleanup.policy=delete: compaction does nothing. */
    assert_int_equal(plg_log_compact(log, &removed), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(plg_log_size_bytes(log), size);
    /* With compact, only sealed segments change: the active one is kept whole, even though
     * its keys repeat and it holds tombstones older than delete.retention.ms (0). */
    c.cleanup_policy = PLG_CLEANUP_COMPACT;
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    assert_int_equal(plg_log_compact(log, &removed), 0);
    static struct rec got[NREC + 64], want[NREC + 64];
    int nw = expected(active, fake_now, 0, want);
    assert_int_equal(removed, nmodel - nw);
    check_equal(got, read_all(log, got, NREC + 64), want, nw);
    assert_int_equal(plg_log_close(log), 0);
}

/* One key overwritten 300 times in single-record batches: compaction leaves one record and
 * collapses the dropped batches into one empty batch per segment. */
static void test_compact_collapses_empty_batches(void **state)
{
    (void)state;
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.segment_bytes = 4096;
    c.fsync_policy = PLG_FSYNC_NEVER;
    c.cleanup_policy = PLG_CLEANUP_COMPACT;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log;
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    nmodel = 0;
    for (int i = 0; i < 300; i++) {
        struct batch_builder bb;
        batch_builder_init(&bb, 0, fake_now);
        char v[32];
        int vl = snprintf(v, sizeof v, "value-%d", i);
        assert_int_equal(batch_builder_add(&bb, fake_now, "key1", 4, v, vl, NULL, 0), 0);
        uint8_t *b;
        size_t len;
        assert_int_equal(batch_builder_finish(&bb, -1, &b, &len), 0);
        batch_builder_destroy(&bb);
        assert_int_equal(plg_log_append(log, b, len, NULL), 0);
        free(b);
        model[nmodel++] = (struct rec){i, 1, i, fake_now};
    }
    assert_int_equal(plg_log_roll(log), 0);
    int32_t segs = plg_log_segment_count(log);
    int64_t removed;
    assert_int_equal(plg_log_compact(log, &removed), 0);
    assert_int_equal(removed, 299);
    static struct rec got[NREC + 64], want[NREC + 64];
    int nw = expected(300, fake_now, c.delete_retention_ms, want);
    assert_int_equal(nw, 1);
    check_equal(got, read_all(log, got, NREC + 64), want, nw);
    /* (segments - 1) empty batches + the surviving batch, 61 bytes each plus one record. */
    assert_true(plg_log_size_bytes(log) <= (int64_t)segs * 61 + 100);
    assert_int_equal(plg_log_close(log), 0);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), 0);
}

/* ---- split compaction ---- */

static void *run_thread(void *arg)
{
    plg_log_compact_run(arg);
    return NULL;
}

/* Files in the test directory whose name contains `part`. */
static int count_files(const char *part)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strstr(de->d_name, part) != NULL;
    closedir(d);
    return n;
}

static plg_log_t *open_split_log(struct plg_log_config *c, int policy)
{
    plg_log_config_init(c);
    c->segment_bytes = 2048;
    c->index_interval_bytes = 128;
    c->fsync_policy = PLG_FSYNC_NEVER;
    c->retention_ms = -1;
    c->cleanup_policy = policy;
    c->delete_retention_ms = 100000;
    struct plg_log_options o = disk_opts(c);
    plg_log_t *log;
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    append_model(log, fake_now - 50000);
    assert_int_equal(plg_log_roll(log), 0);
    return log;
}

/* The worker rewrites while the owner appends (rolling new segments) and holds a read slice of
 * the first segment; install swaps in the result, the slice stays valid, a reopen agrees. */
static void test_split_concurrent_appends(void **state)
{
    (void)state;
    struct plg_log_config c;
    plg_log_t *log = open_split_log(&c, PLG_CLEANUP_COMPACT);
    int64_t active = plg_log_end_offset(log);
    struct plg_log_slice sl;
    assert_int_equal(plg_log_read(log, 0, 1 << 20, &sl), 0);
    assert_true(sl.len > 0);
    uint8_t *copy = malloc(sl.len);
    memcpy(copy, sl.data, sl.len);

    plg_compaction_t *job, *again;
    assert_int_equal(plg_log_compact_begin(log, &job), 0);
    assert_non_null(job);
    assert_int_equal(plg_log_compact_begin(log, &again), PLG_ESTATE); /* one at a time */
    assert_int_equal(plg_log_truncate(log, 10), PLG_ESTATE);          /* would cut what it reads */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_thread, job), 0);
    int extra = 0;
    for (int i = 0; i < 200; i++) { /* ~10 segments of new data while the worker runs */
        size_t len;
        uint8_t *b = make_batch(3, 40, fake_now, i, 0, &len);
        assert_int_equal(plg_log_append(log, b, len, NULL), 0);
        free(b);
        extra += 3;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    int64_t removed = -1;
    int32_t discarded = -1;
    assert_int_equal(plg_log_compact_install(log, job, &removed, &discarded), 0);
    plg_log_compact_free(job);
    assert_int_equal(discarded, 0);
    static struct rec got[NREC + 700], want[NREC + 64];
    int nw = expected(active, fake_now, c.delete_retention_ms, want);
    assert_int_equal(removed, nmodel - nw);
    assert_true(removed > NREC / 2);
    int ng = read_all(log, got, NREC + 700);
    assert_int_equal(ng, nw + extra);
    check_equal(got, nw, want, nw);
    /* The reader's slice still shows the bytes it was given (old file, kept open). */
    assert_memory_equal(sl.data, copy, sl.len);
    struct batch b;
    assert_int_equal(batch_validate(sl.data, sl.len, &b), 0);
    plg_log_slice_release(&sl);
    free(copy);
    assert_int_equal(count_files(".cleaned"), 0);
    /* Another compaction may start now; a reopen finds the compacted files and valid indexes. */
    assert_int_equal(plg_log_compact_begin(log, &again), 0);
    assert_non_null(again);
    assert_int_equal(plg_log_compact_run(again), 0);
    assert_int_equal(plg_log_compact_install(log, again, &removed, NULL), 0);
    plg_log_compact_free(again);
    assert_int_equal(plg_log_close(log), 0);
    struct plg_log_options o = disk_opts(&c);
    struct plg_log_recovery rec;
    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.indexes_rebuilt, 0);
    assert_int_equal(rec.truncate_reason, 0);
    ng = read_all(log, got, NREC + 700);
    check_equal(got, nw, want, nw);
    assert_int_equal(plg_log_close(log), 0);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), 0);
}

/* Directory syncs seen by an injected store op, by thread. */
static pthread_t owner_thread;
static atomic_int dir_syncs_owner, dir_syncs_other;
static int (*real_sync_dir)(struct store *s);

static int counting_sync_dir(struct store *s)
{
    if (pthread_equal(pthread_self(), owner_thread))
        atomic_fetch_add(&dir_syncs_owner, 1);
    else
        atomic_fetch_add(&dir_syncs_other, 1);
    return real_sync_dir(s);
}

/* With a flusher running, install leaves the directory sync after its renames to the flusher's
 * next group commit: the owner thread (the broker's event loop) does not wait for it. */
static void test_split_install_dir_sync_in_flusher(void **state)
{
    (void)state;
    struct plg_log_config c;
    plg_log_t *log = open_split_log(&c, PLG_CLEANUP_COMPACT);
    assert_int_equal(plg_log_config_set(&c, "fsync", "interval:5"), 0);
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    plg_compaction_t *job;
    assert_int_equal(plg_log_compact_begin(log, &job), 0);
    assert_non_null(job);
    assert_int_equal(plg_log_compact_run(job), 0);
    const struct store_ops *orig = log->store.ops;
    static struct store_ops counting;
    counting = *orig;
    real_sync_dir = orig->sync_dir;
    counting.sync_dir = counting_sync_dir;
    owner_thread = pthread_self();
    atomic_store(&dir_syncs_owner, 0);
    atomic_store(&dir_syncs_other, 0);
    log->store.ops = &counting;
    int64_t removed = 0;
    assert_int_equal(plg_log_compact_install(log, job, &removed, NULL), 0);
    plg_log_compact_free(job);
    assert_true(removed > 0); /* files were renamed, so the directory needs its sync */
    assert_int_equal(atomic_load(&dir_syncs_owner), 0);
    for (int i = 0; i < 1000 && atomic_load(&dir_syncs_other) == 0; i++)
        usleep(2000);
    assert_true(atomic_load(&dir_syncs_other) >= 1); /* the flusher did it */
    log->store.ops = orig;
    assert_int_equal(plg_log_close(log), 0);
}

/* Retention removes the oldest segments while the worker compacts them: their results are
 * discarded (files removed), the later segments' results are installed. */
static void test_split_discarded_by_retention(void **state)
{
    (void)state;
    struct plg_log_config c;
    plg_log_t *log = open_split_log(&c, PLG_CLEANUP_COMPACT | PLG_CLEANUP_DELETE);
    int64_t active = plg_log_end_offset(log);
    plg_compaction_t *job;
    assert_int_equal(plg_log_compact_begin(log, &job), 0);
    assert_int_equal(plg_log_compact_run(job), 0);
    assert_true(count_files(".log.cleaned") > 3);
    /* Records 0..299 (timestamps ts0 + i) expire: their segments go, the rest stays. */
    c.retention_ms = 50000 - 300;
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    int32_t deleted = 0;
    struct plg_log_garbage *g;
    assert_int_equal(plg_log_retention_begin(log, &deleted, &g), 0);
    assert_true(deleted > 1);
    assert_non_null(g);
    int64_t start = plg_log_start_offset(log);
    assert_true(start > 0 && start <= 300);
    assert_int_equal(plg_log_garbage_collect(g), 0);
    int64_t removed;
    int32_t discarded;
    assert_int_equal(plg_log_compact_install(log, job, &removed, &discarded), 0);
    plg_log_compact_free(job);
    assert_true(discarded > 0);
    assert_true(removed > 0);
    assert_int_equal(count_files(".cleaned"), 0);
    static struct rec got[NREC + 64], want[NREC + 64];
    int nw = expected(active, fake_now, c.delete_retention_ms, want), nk = 0;
    for (int i = 0; i < nw; i++)
        if (want[i].offset >= start)
            want[nk++] = want[i];
    check_equal(got, read_all(log, got, NREC + 64), want, nk);
    assert_int_equal(plg_log_close(log), 0);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), 0);
}

/* The log closes (topic deleted, shutdown) before install: freeing the job removes its files
 * and the log on disk is the uncompacted one. */
static void test_split_log_closed_first(void **state)
{
    (void)state;
    struct plg_log_config c;
    plg_log_t *log = open_split_log(&c, PLG_CLEANUP_COMPACT);
    plg_compaction_t *job;
    assert_int_equal(plg_log_compact_begin(log, &job), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_thread, job), 0);
    assert_int_equal(plg_log_close(log), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(count_files(".log.cleaned") > 3);
    plg_log_compact_free(job);
    assert_int_equal(count_files(".cleaned"), 0);
    struct plg_log_options o = disk_opts(&c);
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    static struct rec got[NREC + 64];
    check_equal(got, read_all(log, got, NREC + 64), model, nmodel);
    assert_int_equal(plg_log_close(log), 0);
}

/* Split retention: the segments leave the log at begin (not served, start offset moved), the
 * files stay until garbage collection, which may run on another thread; a reader holding a
 * slice of a removed segment keeps valid bytes after the unlink. */
static void *collect_thread(void *arg)
{
    return (void *)(intptr_t)plg_log_garbage_collect(arg);
}

static void test_split_retention(void **state)
{
    (void)state;
    struct plg_log_config c;
    plg_log_t *log = open_split_log(&c, PLG_CLEANUP_DELETE);
    int32_t segs = plg_log_segment_count(log);
    struct plg_log_slice sl;
    assert_int_equal(plg_log_read(log, 0, 1 << 20, &sl), 0);
    uint8_t *copy = malloc(sl.len);
    memcpy(copy, sl.data, sl.len);
    char first[512];
    seg_path(first, sizeof first, 0, "log");
    c.retention_ms = 50000 - 300; /* records 0..299 expire */
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    int32_t deleted = 0;
    struct plg_log_garbage *g;
    assert_int_equal(plg_log_retention_begin(log, &deleted, &g), 0);
    assert_non_null(g);
    assert_true(deleted > 1);
    assert_int_equal(plg_log_segment_count(log), segs - deleted);
    int64_t start = plg_log_start_offset(log);
    assert_true(start > 0 && start <= 300);
    struct plg_log_slice s2;
    assert_int_equal(plg_log_read(log, 0, 100, &s2), PLG_ERANGE); /* no longer served */
    assert_true(file_len(first) > 0); /* files wait for the collection */
    pthread_t th;
    void *ret;
    assert_int_equal(pthread_create(&th, NULL, collect_thread, g), 0);
    /* Appends go on meanwhile. */
    for (int i = 0; i < 20; i++) {
        size_t len;
        uint8_t *b = make_batch(2, 30, fake_now, i, 0, &len);
        assert_int_equal(plg_log_append(log, b, len, NULL), 0);
        free(b);
    }
    assert_int_equal(pthread_join(th, &ret), 0);
    assert_int_equal((int)(intptr_t)ret, 0);
    assert_int_equal(file_len(first), -1);
    assert_memory_equal(sl.data, copy, sl.len); /* the reader's bytes are intact */
    plg_log_slice_release(&sl);
    free(copy);
    /* Nothing to do: no garbage. */
    assert_int_equal(plg_log_retention_begin(log, &deleted, &g), 0);
    assert_null(g);
    assert_int_equal(deleted, 0);
    assert_int_equal(plg_log_close(log), 0);
    struct plg_log_options o = disk_opts(&c);
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    assert_int_equal(plg_log_start_offset(log), start);
    assert_int_equal(plg_log_close(log), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_compact_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_off_and_active, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_collapses_empty_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_concurrent_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_discarded_by_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_log_closed_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_install_dir_sync_in_flusher, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
