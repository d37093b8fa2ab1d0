/*
 * test_log.c — the partition log on real files (and in memory): append/read round trips across
 * many segment rolls, index rebuild, recovery from torn and corrupt tails, fsync policies and
 * the durable callback, time lookup, retention, delete-records, truncation, hooks, config.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

struct stored {
    uint8_t *p;
    size_t len;
    int64_t base;
};

static struct plg_log_config small_cfg(void)
{
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.segment_bytes = 4096;
    c.index_interval_bytes = 256;
    c.fsync_policy = PLG_FSYNC_NEVER;
    c.retention_ms = -1;
    return c;
}

static plg_log_t *open_log(const struct plg_log_options *o)
{
    plg_log_t *log;
    assert_int_equal(plg_log_open(dir, o, &log, NULL), 0);
    return log;
}

/* Appends n batches of 3 records; keeps the stored bytes in st[]. */
static void fill(plg_log_t *log, struct stored *st, int n, int64_t ts0)
{
    for (int i = 0; i < n; i++) {
        size_t len;
        uint8_t *b = make_batch(3, 40, ts0 + i * 10, i, 0, &len);
        struct plg_append_info info;
        int64_t expect = plg_log_end_offset(log);
        assert_int_equal(plg_log_append(log, b, len, &info), 0);
        assert_int_equal(info.base_offset, expect);
        assert_int_equal(info.last_offset, expect + 2);
        st[i].p = b;
        st[i].len = len;
        st[i].base = info.base_offset;
    }
}

static void free_stored(struct stored *st, int n)
{
    for (int i = 0; i < n; i++)
        free(st[i].p);
}

/* Every offset reads back its batch byte for byte; a full scan equals the concatenation. */
static void check_all(plg_log_t *log, struct stored *st, int n)
{
    if (n == 0)
        return;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            struct plg_log_slice s;
            assert_int_equal(plg_log_read(log, st[i].base + k, 1, &s), 0);
            assert_int_equal(s.len, st[i].len);
            assert_int_equal(s.first_offset, st[i].base);
            assert_int_equal(s.next_offset, st[i].base + 3);
            assert_memory_equal(s.data, st[i].p, st[i].len);
            uint8_t tmp[512];
            assert_true(s.len <= sizeof tmp);
            assert_int_equal(pread(s.fd, tmp, s.len, s.pos), (ssize_t)s.len);
            assert_memory_equal(tmp, st[i].p, s.len);
            plg_log_slice_release(&s);
        }
    }
    uint8_t *all;
    size_t len;
    int64_t next;
    assert_int_equal(plg_log_read_copy(log, st[0].base, SIZE_MAX, &all, &len, &next), 0);
    assert_int_equal(next, plg_log_end_offset(log));
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        assert_true(pos + st[i].len <= len);
        assert_memory_equal(all + pos, st[i].p, st[i].len);
        pos += st[i].len;
    }
    assert_int_equal(pos, len);
    free(all);
}

/* check_all for batches too big for its stack buffer: compares through the mapping only. */
static void check_all_big(plg_log_t *log, struct stored *st, int n)
{
    for (int i = 0; i < n; i++) {
        struct plg_log_slice s;
        assert_int_equal(plg_log_read(log, st[i].base + 1, 1, &s), 0);
        assert_int_equal(s.len, st[i].len);
        assert_memory_equal(s.data, st[i].p, st[i].len);
        plg_log_slice_release(&s);
    }
}

static void test_roundtrip_rolls(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log;
    struct plg_log_recovery rec;
    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.segments, 0);
    enum { N = 400 };
    struct stored st[N];
    fill(log, st, N, 1000);
    assert_int_equal(plg_log_end_offset(log), 3 * N);
    assert_int_equal(plg_log_start_offset(log), 0);
    int32_t segs = plg_log_segment_count(log);
    assert_true(segs > 15);
    check_all(log, st, N);
    /* Reading at the end gives nothing; past it is out of range. */
    struct plg_log_slice s;
    assert_int_equal(plg_log_read(log, 3 * N, 100, &s), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(plg_log_read(log, 3 * N + 1, 100, &s), PLG_ERANGE);
    /* max_bytes bounds whole batches. */
    assert_int_equal(plg_log_read(log, 0, st[0].len + st[1].len, &s), 0);
    assert_int_equal(s.len, st[0].len + st[1].len);
    plg_log_slice_release(&s);
    assert_int_equal(plg_log_close(log), 0);

    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.segments, segs);
    assert_int_equal(rec.indexes_rebuilt, 0);
    assert_int_equal(rec.truncated_bytes, 0);
    assert_int_equal(rec.truncate_reason, 0);
    assert_int_equal(plg_log_end_offset(log), 3 * N);
    assert_int_equal(plg_log_durable_offset(log), 3 * N);
    check_all(log, st, N);
    /* Appends continue where the log ended. */
    struct stored more[5];
    fill(log, more, 5, 99999);
    assert_int_equal(more[0].base, 3 * N);
    free_stored(more, 5);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

static uint8_t *slurp(const char *path, int64_t *len)
{
    *len = file_len(path);
    if (*len < 0)
        return NULL;
    uint8_t *p = malloc((size_t)*len + 1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, p, (size_t)*len), (ssize_t)*len);
    close(fd);
    return p;
}

static void test_index_rebuild(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    enum { N = 120 };
    struct stored st[N];
    fill(log, st, N, 1000);
    int32_t segs = plg_log_segment_count(log);
    assert_int_equal(plg_log_close(log), 0);

    /* Remember the sealed segments' index files, then damage them in different ways. */
    int64_t bases[64];
    int nb = 0;
    for (int i = 0; i < N && nb < 64; i++) {
        char p[512];
        seg_path(p, sizeof p, st[i].base, "log");
        if (file_len(p) >= 0)
            bases[nb++] = st[i].base;
    }
    assert_int_equal(nb, segs);
    uint8_t *saved_idx[64], *saved_tix[64];
    int64_t li[64], lt[64];
    for (int i = 0; i < nb - 1; i++) {
        char p[512];
        seg_path(p, sizeof p, bases[i], "index");
        saved_idx[i] = slurp(p, &li[i]);
        assert_non_null(saved_idx[i]);
        assert_true(li[i] > 0);
        if (i % 3 == 0) {
            unlink(p);
        } else if (i % 3 == 1) {
            int fd = open(p, O_WRONLY);
            assert_int_equal(pwrite(fd, "\xff\xff\xff\xff", 4, 0), 4); /* rel offset jumps */
            close(fd);
        } else {
            assert_int_equal(truncate(p, li[i] - 3), 0); /* not a whole entry */
        }
        seg_path(p, sizeof p, bases[i], "timeindex");
        saved_tix[i] = slurp(p, &lt[i]);
        if (i % 2 == 0)
            unlink(p);
    }
    struct plg_log_recovery rec;
    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.indexes_rebuilt, nb - 1);
    assert_int_equal(rec.truncated_bytes, 0);
    assert_int_equal(plg_log_end_offset(log), 3 * N);
    check_all(log, st, N);
    /* Rebuilt indexes are identical to the ones written during the appends. */
    for (int i = 0; i < nb - 1; i++) {
        char p[512];
        int64_t l2;
        seg_path(p, sizeof p, bases[i], "index");
        uint8_t *now = slurp(p, &l2);
        assert_int_equal(l2, li[i]);
        assert_memory_equal(now, saved_idx[i], (size_t)l2);
        free(now);
        seg_path(p, sizeof p, bases[i], "timeindex");
        now = slurp(p, &l2);
        assert_int_equal(l2, lt[i]);
        assert_memory_equal(now, saved_tix[i], (size_t)l2);
        free(now);
        free(saved_idx[i]);
        free(saved_tix[i]);
    }
    assert_int_equal(plg_log_close(log), 0);
    /* A second open trusts them again. */
    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.indexes_rebuilt, 0);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

/* Writes 20 batches into one segment, closes; returns the byte position of each batch. */
static void one_segment(struct stored *st, int64_t *posv, int n)
{
    struct plg_log_config c = small_cfg();
    c.segment_bytes = 1 << 20;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    fill(log, st, n, 1000);
    assert_int_equal(plg_log_close(log), 0);
    int64_t pos = 0;
    for (int i = 0; i < n; i++) {
        posv[i] = pos;
        pos += (int64_t)st[i].len;
    }
}

static void test_recovery_torn_tail(void **state)
{
    (void)state;
    enum { N = 20 };
    struct stored st[N];
    int64_t posv[N];
    one_segment(st, posv, N);
    char p[512];
    seg_path(p, sizeof p, 0, "log");
    /* Cut in the middle of the last batch: a torn write. */
    int64_t cut = posv[N - 1] + 30;
    assert_int_equal(truncate(p, cut), 0);
    struct plg_log_config c = small_cfg();
    c.segment_bytes = 1 << 20;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log;
    struct plg_log_recovery rec;
    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.truncate_reason, PLG_ETRUNC);
    assert_int_equal(rec.truncated_position, posv[N - 1]);
    assert_int_equal(rec.truncated_bytes, 30);
    assert_int_equal(rec.truncated_at, st[N - 1].base);
    assert_int_equal(plg_log_end_offset(log), st[N - 1].base);
    assert_int_equal(file_len(p), posv[N - 1]);
    check_all(log, st, N - 1);
    /* The log goes on from the cut. */
    struct stored more[2];
    fill(log, more, 2, 5000);
    assert_int_equal(more[0].base, st[N - 1].base);
    free_stored(more, 2);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

static void flip(const char *path, int64_t pos)
{
    flip_bit(path, pos, 0x40);
}

static void test_recovery_flipped_byte(void **state)
{
    (void)state;
    enum { N = 20 };
    struct stored st[N];
    int64_t posv[N];
    one_segment(st, posv, N);
    char p[512];
    seg_path(p, sizeof p, 0, "log");
    int64_t size = file_len(p);
    flip(p, posv[15] + 70); /* inside the records of batch 15: the CRC catches it */
    struct plg_log_config c = small_cfg();
    c.segment_bytes = 1 << 20;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log;
    struct plg_log_recovery rec;
    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.truncate_reason, PLG_ECORRUPT);
    assert_int_equal(rec.truncated_position, posv[15]);
    assert_int_equal(rec.truncated_bytes, size - posv[15]);
    assert_int_equal(plg_log_end_offset(log), st[15].base);
    /* Nothing after the corrupt batch is served, even though those bytes were fine. */
    struct plg_log_slice s;
    assert_int_equal(plg_log_read(log, st[17].base, 1000, &s), PLG_ERANGE);
    check_all(log, st, 15);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

/* Random torn writes: truncate or garble the active segment at random positions; recovery
 * must cut exactly at the start of the damaged batch and keep every batch before it. */
static void test_random_damage(void **state)
{
    (void)state;
    enum { N = 30 };
    struct stored st[N];
    int64_t posv[N];
    one_segment(st, posv, N);
    char p[512];
    seg_path(p, sizeof p, 0, "log");
    int64_t len;
    uint8_t *orig = slurp(p, &len);
    struct plg_log_config c = small_cfg();
    c.segment_bytes = 1 << 20;
    struct plg_log_options o = disk_opts(&c);
    srand(20261126);
    for (int iter = 0; iter < 60; iter++) {
        int fd = open(p, O_WRONLY);
        assert_int_equal(pwrite(fd, orig, (size_t)len, 0), (ssize_t)len);
        assert_int_equal(ftruncate(fd, len), 0);
        close(fd);
        int64_t at = rand() % len;
        int k = 0;
        while (k + 1 < N && posv[k + 1] <= at)
            k++;
        int64_t in = at - posv[k];
        bool garble = iter % 2;
        if (garble)
            flip(p, at);
        else
            assert_int_equal(truncate(p, at), 0);
        struct plg_log_recovery rec;
        plg_log_t *log;
        assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
        if (garble && in >= 12 && in < 16) {
            /* partitionLeaderEpoch is outside the CRC (the broker rewrites it): kept. */
            assert_int_equal(rec.truncate_reason, 0);
            assert_int_equal(plg_log_end_offset(log), 3 * N);
            k = 0; /* the whole-log comparison would see the changed epoch byte */
        } else if (!garble && in == 0) {
            assert_int_equal(rec.truncate_reason, 0); /* a clean batch boundary */
            assert_int_equal(plg_log_end_offset(log), st[k].base);
        } else {
            assert_int_not_equal(rec.truncate_reason, 0);
            assert_int_equal(rec.truncated_position, posv[k]);
            assert_int_equal(plg_log_end_offset(log), st[k].base);
            assert_int_equal(file_len(p), posv[k]);
        }
        check_all(log, st, k);
        assert_int_equal(plg_log_close(log), 0);
    }
    free(orig);
    free_stored(st, N);
}

static void test_recovery_sealed_corrupt(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    enum { N = 60 };
    struct stored st[N];
    fill(log, st, N, 1000);
    assert_true(plg_log_segment_count(log) >= 4);
    assert_int_equal(plg_log_close(log), 0);
    /* The last batch of the first segment: after its last index entry, so the tail scan
     * of a trusted sealed segment must catch it. */
    int last = 0;
    char p0[512], p1[512];
    seg_path(p0, sizeof p0, 0, "log");
    int64_t pos = 0;
    for (int i = 0; i < N; i++) {
        seg_path(p1, sizeof p1, st[i].base, "log");
        if (i > 0 && file_len(p1) >= 0)
            break;
        last = i;
        if (i < N - 1)
            pos += (int64_t)st[i].len;
    }
    pos -= (int64_t)st[last].len;
    flip(p0, pos + 65);
    struct plg_log_recovery rec;
    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.truncate_reason, PLG_ECORRUPT);
    assert_int_equal(plg_log_end_offset(log), st[last].base);
    assert_int_equal(plg_log_segment_count(log), 1);
    assert_true(rec.segments_removed >= 3);
    check_all(log, st, last);
    /* The cut segment is active again and takes appends. */
    struct stored more[3];
    fill(log, more, 3, 7000);
    assert_int_equal(more[0].base, st[last].base);
    free_stored(more, 3);
    assert_int_equal(plg_log_close(log), 0);
    assert_int_equal(plg_log_open(dir, &o, &log, &rec), 0);
    assert_int_equal(rec.truncate_reason, 0);
    assert_int_equal(plg_log_end_offset(log), st[last].base + 9);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

struct durable_rec {
    pthread_mutex_t mu;
    int64_t last;
    int calls;
    pthread_t thread;
};

static void on_durable(void *ctx, int64_t off)
{
    struct durable_rec *d = ctx;
    pthread_mutex_lock(&d->mu);
    assert_true(off > d->last);
    d->last = off;
    d->calls++;
    d->thread = pthread_self();
    pthread_mutex_unlock(&d->mu);
}

/* Opens a small-segment log with the given fsync policy reporting into d. */
static plg_log_t *open_fsync(const char *policy, struct durable_rec *d)
{
    struct plg_log_config c = small_cfg();
    assert_int_equal(plg_log_config_set(&c, "fsync", policy), 0);
    struct plg_log_options o = disk_opts(&c);
    o.on_durable = on_durable;
    o.durable_ctx = d;
    plg_log_t *log = open_log(&o);
    return log;
}

/* Appends n batches of 2 records. */
/* n batches of `records` records of `vsize`-byte values, tagged first, first + 1, ... */
static void append_batches(plg_log_t *log, int n, int first, int records, int vsize)
{
    for (int i = 0; i < n; i++) {
        size_t len;
        uint8_t *b = make_batch(records, vsize, 1, first + i, 0, &len);
        assert_int_equal(plg_log_append(log, b, len, NULL), 0);
        free(b);
    }
}

static void append_n(plg_log_t *log, int n)
{
    append_batches(log, n, 0, 2, 100);
}

static void test_fsync_always(void **state)
{
    (void)state;
    struct durable_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    plg_log_t *log = open_fsync("always", &d);
    for (int i = 0; i < 30; i++) {
        size_t len;
        uint8_t *b = make_batch(2, 100, 1, i, 0, &len);
        assert_int_equal(plg_log_append(log, b, len, NULL), 0);
        /* Durable before append returns, reported on the calling thread. */
        assert_int_equal(plg_log_durable_offset(log), plg_log_end_offset(log));
        assert_int_equal(d.last, plg_log_end_offset(log));
        assert_true(pthread_equal(d.thread, pthread_self()));
        free(b);
    }
    assert_int_equal(plg_log_close(log), 0);
}

/* Three rounds of appending n records, then waiting (up to 2 s) until the flusher thread, not
 * this one, has reported them all durable. */
static void flusher_rounds(plg_log_t *log, struct durable_rec *d, int n)
{
    for (int round = 0; round < 3; round++) {
        append_n(log, n); /* rolls several segments too */
        int64_t end = plg_log_end_offset(log);
        for (int t = 0; t < 1000 && plg_log_durable_offset(log) < end; t++)
            usleep(2000);
        assert_int_equal(plg_log_durable_offset(log), end);
        pthread_mutex_lock(&d->mu);
        assert_int_equal(d->last, end);
        assert_false(pthread_equal(d->thread, pthread_self())); /* the flusher thread */
        pthread_mutex_unlock(&d->mu);
    }
}

static void test_fsync_interval(void **state)
{
    (void)state;
    struct durable_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    plg_log_t *log = open_fsync("interval:5", &d);
    flusher_rounds(log, &d, 50);
    assert_int_equal(plg_log_close(log), 0);
}

/* fsync=always with always_in_flusher: appends return at once and the flusher thread makes them
 * durable (group commit); nothing is reported on the appending thread. */
static void test_fsync_always_in_flusher(void **state)
{
    (void)state;
    struct durable_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    struct plg_log_config c = small_cfg();
    assert_int_equal(plg_log_config_set(&c, "fsync", "always"), 0);
    struct plg_log_options o = disk_opts(&c);
    o.on_durable = on_durable;
    o.durable_ctx = &d;
    o.always_in_flusher = true;
    plg_log_t *log = open_log(&o);
    flusher_rounds(log, &d, 40);
    assert_int_equal(plg_log_close(log), 0);
}

/* plg_log_sync_soon: with a 60 s interval the flusher would sit on an append for a minute; asked
 * to, it commits at once (the broker's acks=all waiters). Without the call nothing is durable
 * after 300 ms. */
static void test_sync_soon(void **state)
{
    (void)state;
    struct durable_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    plg_log_t *log = open_fsync("interval:60000", &d);
    append_n(log, 3);
    usleep(300000);
    assert_int_equal(plg_log_durable_offset(log), 0); /* the interval holds it */
    for (int round = 0; round < 3; round++) {
        int64_t end = plg_log_end_offset(log);
        plg_log_sync_soon(log);
        for (int t = 0; t < 1000 && plg_log_durable_offset(log) < end; t++)
            usleep(2000);
        assert_int_equal(plg_log_durable_offset(log), end);
        append_n(log, 2);
    }
    assert_int_equal(plg_log_close(log), 0);
}

/* Open file descriptors of this process. */
static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* plg_log_writeback_file: the log owns the fds it is given. A replaced one is closed (taken
 * over by a commit or not), the last one at close, and without a flusher each at once; the
 * commits that start its writeback leave its contents alone. */
static void test_writeback_file(void **state)
{
    (void)state;
    int before = count_fds();
    char path[512];
    snprintf(path, sizeof path, "%s/side", dir);
    int side = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(side >= 0);
    for (int policy = 0; policy < 2; policy++) {
        struct durable_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
        plg_log_t *log = open_fsync(policy ? "never" : "interval:1", &d);
        int with_log = count_fds();
        char block[4096];
        for (int round = 0; round < 4; round++) {
            memset(block, 'a' + round, sizeof block);
            assert_int_equal(pwrite(side, block, sizeof block, (off_t)round * 4096), 4096);
            assert_true(plg_log_writeback_file(log, fcntl(side, F_DUPFD_CLOEXEC, 0)) == !policy);
            if (round % 2) { /* a commit takes this one over */
                append_n(log, 2);
                assert_int_equal(plg_log_flush(log), 0);
            }
            /* at most the one commits use and a newer one no commit has taken yet */
            assert_true(count_fds() <= with_log + 2);
        }
        plg_log_writeback_file(log, -1);
        append_n(log, 1);
        assert_int_equal(plg_log_flush(log), 0);
        assert_int_equal(count_fds(), with_log);
        plg_log_writeback_file(log, fcntl(side, F_DUPFD_CLOEXEC, 0));
        assert_int_equal(plg_log_close(log), 0);
    }
    for (int round = 0; round < 4; round++) {
        char b[4096];
        assert_int_equal(pread(side, b, sizeof b, (off_t)round * 4096), 4096);
        assert_int_equal(b[0], 'a' + round);
        assert_int_equal(b[4095], 'a' + round);
    }
    close(side);
    assert_int_equal(count_fds(), before);
}

/* Pages of fd's [from rounded down to a page, to) resident in the page cache, counted with mincore.
 */
static size_t resident_pages(int fd, off_t from, off_t to)
{
    from &= ~(off_t)4095;
    size_t len = (size_t)(to - from);
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, from);
    assert_true(m != MAP_FAILED);
    size_t pages = (len + 4095) / 4096, n = 0;
    unsigned char *vec = malloc(pages);
    assert_non_null(vec);
    assert_int_equal(mincore(m, len, vec), 0);
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    free(vec);
    munmap(m, len);
    return n;
}

/* Drop-behind (cache_keep_bytes): after a group commit the durable data more than keep bytes
 * behind the end leaves the page cache (a sealed segment whole once the active one holds keep
 * bytes, the active one up to end - keep; a side file's written-back pages likewise); the
 * newest keep bytes stay. With keep 0 all stays.
 * Page-cache advice does nothing on tmpfs, so the test needs a disk file system there. */
/* Page-cache advice does nothing on tmpfs: the drop-behind tests need a disk file system. */
static void skip_on_tmpfs(void)
{
    struct statfs sf;
    assert_int_equal(statfs(dir, &sf), 0);
    if (sf.f_type == TMPFS_MAGIC) {
        print_message("skipped: %s is tmpfs (no page-cache advice)\n", dir);
        skip();
    }
}

static int open_segment_file(int64_t base)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%020lld.log", dir, (long long)base);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static void test_drop_behind(void **state)
{
    (void)state;
    skip_on_tmpfs();
    for (int keep_on = 0; keep_on < 2; keep_on++) {
        struct plg_log_config c;
        plg_log_config_init(&c);
        c.segment_bytes = 8 << 20;
        c.retention_ms = -1;
        c.fsync_interval_ms = 60000;
        struct plg_log_options o = disk_opts(&c);
        o.cache_keep_bytes = keep_on ? 1 << 20 : 0;
        plg_log_t *log = open_log(&o);
        /* ~13 MiB in ~64 KiB batches: one sealed segment (base 0) and an active one. A commit
         * every 3 batches, so the drops end inside large folios (each one left a folio cached
         * before drops were aligned to 2 MiB). */
        int64_t second = -1;
        for (int i = 0; i < 208; i++) {
            size_t len;
            uint8_t *b = make_batch(64, 1000, 1, i, 0, &len);
            struct plg_append_info info;
            assert_int_equal(plg_log_append(log, b, len, &info), 0);
            free(b);
            if (plg_log_segment_count(log) == 2 && second < 0)
                second = info.base_offset;
            if (i % 3 == 2)
                assert_int_equal(plg_log_flush(log), 0);
        }
        assert_true(second > 0);
        /* A side file (plg_log_writeback_file) of 3 MiB, written back already: the commit
         * drops all but its newest MiB too. */
        char side_path[512];
        snprintf(side_path, sizeof side_path, "%s/side", dir);
        int side = open(side_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(side >= 0);
        static char chunk[1 << 20];
        memset(chunk, 's', sizeof chunk);
        for (int k = 0; k < 3; k++)
            assert_int_equal(pwrite(side, chunk, sizeof chunk, (off_t)k << 20), sizeof chunk);
        assert_int_equal(fdatasync(side), 0);
        assert_true(plg_log_writeback_file(log, fcntl(side, F_DUPFD_CLOEXEC, 0)));
        assert_int_equal(plg_log_flush(log), 0);
        size_t side_head = resident_pages(side, 0, (2 << 20) - 4096);
        size_t side_tail = resident_pages(side, (2 << 20) + 4096, 3 << 20);
        close(side);
        if (keep_on)
            assert_true(side_head <= 25);
        else
            assert_true(side_head >= 480);
        assert_true(side_tail >= 240);
        int fd0 = open_segment_file(0), fd1 = open_segment_file(second);
        struct stat st0, st1;
        assert_int_equal(fstat(fd0, &st0), 0);
        assert_int_equal(fstat(fd1, &st1), 0);
        assert_true(st1.st_size > (4 << 20));
        /* The active one is dropped up to end - keep rounded down to 2 MiB (large folios). */
        off_t cut = (st1.st_size - (1 << 20)) & ~(off_t)((2 << 20) - 1);
        assert_true(cut >= (2 << 20) && cut <= st1.st_size - (1 << 20));
        size_t sealed = resident_pages(fd0, 0, st0.st_size);
        size_t head = resident_pages(fd1, 0, cut);
        size_t tail = resident_pages(fd1, st1.st_size - (1 << 20) + 4096, st1.st_size);
        size_t n0 = (size_t)st0.st_size / 4096, nhead = (size_t)cut / 4096;
        /* The kernel may keep a few pages it has not put on its LRU lists yet: allow 5%. */
        if (keep_on) {
            assert_true(sealed <= n0 / 20);
            assert_true(head <= nhead / 20);
        } else {
            assert_true(sealed >= n0 - n0 / 20 && head >= nhead - nhead / 20);
        }
        assert_true(tail >= 250); /* the newest MiB (256 pages, minus the edges) stays */
        close(fd0);
        close(fd1);
        /* plg_log_read_cold sees the dropped pages (index and mincore only), and the newest
         * ones as cached; nothing at the log end. */
        int cfd;
        int64_t cpos;
        size_t clen;
        int cold = plg_log_read_cold(log, 0, 65536, &cfd, &cpos, &clen);
        assert_int_equal(cold, keep_on ? 1 : 0);
        if (keep_on) {
            assert_int_equal(cpos, 0);
            assert_int_equal(clen, 65536 + 65536);
            assert_true(cfd >= 0);
        }
        int64_t last = plg_log_end_offset(log) - 1;
        assert_int_equal(plg_log_read_cold(log, last, 4096, &cfd, &cpos, &clen), 0);
        assert_int_equal(plg_log_read_cold(log, plg_log_end_offset(log), 4096, &cfd, &cpos, &clen),
                         0);
        /* Everything still reads back (from disk where dropped). */
        uint8_t *out;
        size_t len;
        int64_t next;
        assert_int_equal(plg_log_read_copy(log, 0, 1 << 20, &out, &len, &next), 0);
        assert_true(len > 0 && next > 0);
        free(out);
        assert_int_equal(plg_log_close(log), 0);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", dir);
        assert_int_equal(system(cmd), 0);
    }
}

/* Writes `mib` MiB to a new file under dir, syncs it and returns an fd of it. */
static int synced_file(const char *name, int mib)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    static char chunk[1 << 20];
    memset(chunk, 't', sizeof chunk);
    for (int k = 0; k < mib; k++)
        assert_int_equal(pwrite(fd, chunk, sizeof chunk, (off_t)k << 20), sizeof chunk);
    assert_int_equal(fdatasync(fd), 0);
    return fd;
}

/* A disk log with drop-behind keeping `keep` bytes, commits only by plg_log_flush. */
static plg_log_t *open_keep(int64_t keep)
{
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.retention_ms = -1;
    c.fsync_interval_ms = 60000;
    struct plg_log_options o = disk_opts(&c);
    o.cache_keep_bytes = keep;
    return open_log(&o);
}

/* A new writeback file (a new segment's tree file) replaces the old one: the old one keeps its
 * cached tail while the new one is shorter than keep, and is dropped whole once the new one
 * reaches keep. (Before, the old one was closed as it was, and every sealed segment's tree
 * file kept keep bytes cached for good.) Ranges are dropped in 2 MiB units (large folios). */
static void test_drop_behind_switch(void **state)
{
    (void)state;
    skip_on_tmpfs();
    plg_log_t *log = open_keep(4 << 20);
    append_n(log, 4);
    int old = synced_file("old", 6);
    assert_true(plg_log_writeback_file(log, fcntl(old, F_DUPFD_CLOEXEC, 0)));
    assert_int_equal(plg_log_flush(log), 0);
    assert_true(resident_pages(old, 0, 2 << 20) <= 25);
    assert_true(resident_pages(old, 2 << 20, 6 << 20) >= 1000);
    /* The new file holds 2 MiB: the old one keeps its newest 2 MiB. */
    int cur = synced_file("new", 2);
    assert_true(plg_log_writeback_file(log, fcntl(cur, F_DUPFD_CLOEXEC, 0)));
    append_n(log, 1);
    assert_int_equal(plg_log_flush(log), 0);
    assert_true(resident_pages(old, 0, 4 << 20) <= 50);
    assert_true(resident_pages(old, 4 << 20, 6 << 20) >= 500);
    /* It reaches keep: the old one goes whole. */
    close(cur);
    cur = synced_file("new", 4);
    append_n(log, 1);
    assert_int_equal(plg_log_flush(log), 0);
    assert_true(resident_pages(old, 0, 6 << 20) <= 75);
    assert_true(resident_pages(cur, 0, 4 << 20) >= 1000);
    close(old);
    close(cur);
    assert_int_equal(plg_log_close(log), 0);
}

/* plg_log_drop_cache (the broker's budget across partitions): the flusher wakes, even when
 * idle, and its pass keeps nothing written of this log cached; plg_log_cache_held follows. Then
 * drop-behind goes on with its window. Without drop-behind both do nothing. */
static void test_drop_cache(void **state)
{
    (void)state;
    skip_on_tmpfs();
    plg_log_t *log = open_keep(4 << 20);
    assert_int_equal(plg_log_cache_held(log), 0);
    append_batches(log, 96, 0, 64, 1000); /* ~6 MiB in ~64 KiB batches, one segment */
    assert_int_equal(plg_log_flush(log), 0);
    int64_t held = plg_log_cache_held(log);
    assert_true(held >= (3 << 20) && held <= (6 << 20)); /* the window, in 2 MiB steps */
    int fd = open_segment_file(0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(resident_pages(fd, st.st_size - (2 << 20), st.st_size) >= 400);

    plg_log_drop_cache(log); /* the flusher is idle: this wakes it */
    for (int i = 0; i < 200 && plg_log_cache_held(log) > 0; i++)
        usleep(10000);
    assert_int_equal(plg_log_cache_held(log), 0);
    assert_true(resident_pages(fd, 0, st.st_size) <= (size_t)st.st_size / 4096 / 20);

    append_batches(log, 40, 100, 64, 1000); /* ~2.5 MiB more */
    assert_int_equal(plg_log_flush(log), 0);
    held = plg_log_cache_held(log);
    assert_true(held > 0 && held <= (4 << 20)); /* the window again, from what came since */
    close(fd);
    assert_int_equal(plg_log_close(log), 0);

    log = open_keep(0);
    append_n(log, 10);
    assert_int_equal(plg_log_flush(log), 0);
    plg_log_drop_cache(log);
    assert_int_equal(plg_log_cache_held(log), 0);
    assert_int_equal(plg_log_close(log), 0);
}

static void test_fsync_never_and_flush(void **state)
{
    (void)state;
    struct durable_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    plg_log_t *log = open_fsync("never", &d);
    assert_int_equal(plg_log_durable_offset(log), 0);
    append_n(log, 40);
    usleep(20000);
    assert_int_equal(plg_log_durable_offset(log), 0);
    assert_int_equal(plg_log_flush(log), 0);
    assert_int_equal(plg_log_durable_offset(log), 80);
    assert_int_equal(d.last, 80);
    assert_int_equal(plg_log_close(log), 0);
}

/* plg_log_sync_file: a side file (like a sealed Merkle tree file) handed to the log is synced
 * with the flusher's next group commit and closed by it (interval); synced at once under
 * fsync=always done inline; closed unsynced under never; closed by plg_log_close when queued. */
static int side_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "tree", 4), 4);
    return fd;
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static void test_sync_file(void **state)
{
    (void)state;
    struct durable_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    plg_log_t *log = open_fsync("interval:60000", &d); /* the flusher waits a minute... */
    append_n(log, 2);
    int fd = side_file("a.merkle");
    assert_int_equal(plg_log_sync_file(log, fd), 1);
    assert_true(fd_open(fd)); /* ...so it is still queued */
    assert_int_equal(plg_log_flush(log), 0);
    assert_false(fd_open(fd)); /* synced and closed with the group commit */
    fd = side_file("b.merkle");
    assert_int_equal(plg_log_sync_file(log, fd), 1);
    assert_true(fd_open(fd));
    assert_int_equal(plg_log_close(log), 0);
    assert_false(fd_open(fd)); /* the last group commit at close took it */

    /* A file whose sync fails (a pipe: EINVAL) stays queued, open, for the next commit: no
     * later flush or close may report success over it. */
    struct durable_rec d1 = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    log = open_fsync("interval:60000", &d1);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(plg_log_sync_file(log, pfd[0]), 1);
    assert_int_not_equal(plg_log_flush(log), 0);
    assert_true(fd_open(pfd[0])); /* requeued, not closed as if synced */
    assert_int_not_equal(plg_log_close(log), 0);
    assert_false(fd_open(pfd[0]));
    close(pfd[1]);

    struct durable_rec d2 = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    log = open_fsync("always", &d2);
    fd = side_file("c.merkle");
    assert_int_equal(plg_log_sync_file(log, fd), 1);
    assert_false(fd_open(fd));
    assert_int_equal(plg_log_close(log), 0);

    struct durable_rec d3 = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    log = open_fsync("never", &d3);
    fd = side_file("d.merkle");
    assert_int_equal(plg_log_sync_file(log, fd), 0);
    assert_false(fd_open(fd));
    assert_int_equal(plg_log_close(log), 0);
}

static void test_time_lookup(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    enum { N = 100 };
    struct stored st[N];
    fill(log, st, N, 1000); /* batch i: timestamps 1000+10i .. +2 */
    assert_true(plg_log_segment_count(log) > 5);
    for (int pass = 0; pass < 2; pass++) {
        int64_t off;
        assert_int_equal(plg_log_lookup_time(log, 0, &off), 0);
        assert_int_equal(off, 0);
        for (int i = 0; i < N; i += 7) {
            int64_t ts = 1000 + 10 * i;
            assert_int_equal(plg_log_lookup_time(log, ts, &off), 0);
            assert_int_equal(off, st[i].base);
            assert_int_equal(plg_log_lookup_time(log, ts + 2, &off), 0);
            assert_int_equal(off, st[i].base + 2);
            assert_int_equal(plg_log_lookup_time(log, ts + 3, &off), 0); /* gap: next batch */
            assert_int_equal(off, i + 1 < N ? st[i + 1].base : -1);
            if (i + 1 >= N)
                break;
        }
        assert_int_equal(plg_log_lookup_time(log, 1000 + 10 * N, &off), PLG_ENOTFOUND);
        /* Reopen: sealed segments answer from their trusted time indexes. */
        assert_int_equal(plg_log_close(log), 0);
        assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    }
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

static void test_log_append_time(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    assert_int_equal(plg_log_config_set(&c, "message.timestamp.type", "LogAppendTime"), 0);
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    size_t len;
    uint8_t *b = make_batch(3, 10, 5, 0, 0, &len);
    fake_now = 1234567;
    struct plg_append_info info;
    assert_int_equal(plg_log_append(log, b, len, &info), 0);
    assert_int_equal(info.log_append_time, 1234567);
    struct plg_log_slice s;
    assert_int_equal(plg_log_read(log, 0, 1000, &s), 0);
    struct batch bt;
    assert_int_equal(batch_validate(s.data, s.len, &bt), 0); /* CRC recomputed */
    assert_true(batch_is_log_append_time(&bt));
    assert_int_equal(bt.max_timestamp, 1234567);
    plg_log_slice_release(&s);
    int64_t off;
    assert_int_equal(plg_log_lookup_time(log, 1234567, &off), 0);
    assert_int_equal(off, 0);
    free(b);
    assert_int_equal(plg_log_close(log), 0);
}

static void test_retention(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    enum { N = 100 };
    struct stored st[N];
    /* Batch timestamps: batch i at fake_now - (N - i) * 1000. */
    for (int i = 0; i < N; i++) {
        size_t len;
        uint8_t *b = make_batch(3, 40, fake_now - (N - i) * 1000LL, i, 0, &len);
        struct plg_append_info info;
        assert_int_equal(plg_log_append(log, b, len, &info), 0);
        st[i] = (struct stored){b, len, info.base_offset};
    }
    int32_t segs = plg_log_segment_count(log), del;
    /* Nothing expires with retention off. */
    assert_int_equal(plg_log_enforce_retention(log, &del), 0);
    assert_int_equal(del, 0);

    /* By time: keep records newer than 50 s. */
    c.retention_ms = 50 * 1000;
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    assert_int_equal(plg_log_enforce_retention(log, &del), 0);
    assert_true(del > 0);
    int64_t start = plg_log_start_offset(log);
    assert_true(start > 0);
    /* Every kept record is either newer than the limit or shares a segment with one; every
     * record below the start offset was older. */
    int first_kept = (int)(start / 3);
    assert_true(fake_now - (N - first_kept) * 1000LL < fake_now - 50 * 1000 + 4000 * 10);
    for (int i = 0; i < first_kept; i++)
        assert_true(fake_now - (N - i) * 1000LL + 2 < fake_now - 50 * 1000);
    struct plg_log_slice s;
    assert_int_equal(plg_log_read(log, start - 1, 100, &s), PLG_ERANGE);
    check_all(log, st + first_kept, N - first_kept);
    int32_t segs_time = plg_log_segment_count(log);
    assert_int_equal(segs_time, segs - del);

    /* By bytes. */
    c.retention_ms = -1;
    c.retention_bytes = 4096;
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    assert_int_equal(plg_log_enforce_retention(log, &del), 0);
    assert_true(del > 0);
    /* Deleting stops once one more segment (<= 4096 bytes) would go below the limit. */
    assert_true(plg_log_size_bytes(log) >= 4096);
    assert_true(plg_log_size_bytes(log) < 2 * 4096);
    start = plg_log_start_offset(log);
    assert_int_equal(plg_log_close(log), 0);
    /* The start offset survives a reopen (it is a segment base here). */
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    assert_int_equal(plg_log_start_offset(log), start);
    check_all(log, st + start / 3, N - (int)(start / 3));
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

/* A quiet log whose only (active) segment has expired is emptied: start == end. */
static void test_retention_active_expired(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    c.retention_ms = 60000;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    struct stored st[3];
    fill(log, st, 3, fake_now - 30000); /* 30 s old: kept */
    assert_int_equal(plg_log_segment_count(log), 1);
    int32_t del;
    assert_int_equal(plg_log_enforce_retention(log, &del), 0);
    assert_int_equal(del, 0);
    assert_int_equal(plg_log_start_offset(log), 0);
    fake_now += 40000; /* now 70 s old: expired */
    assert_int_equal(plg_log_enforce_retention(log, &del), 0);
    assert_int_equal(del, 1);
    assert_int_equal(plg_log_start_offset(log), 9);
    assert_int_equal(plg_log_end_offset(log), 9);
    assert_int_equal(plg_log_segment_count(log), 1);
    struct plg_log_slice s;
    assert_int_equal(plg_log_read(log, 0, 100, &s), PLG_ERANGE);
    struct stored more[2];
    fill(log, more, 2, fake_now);
    assert_int_equal(more[0].base, 9);
    check_all(log, more, 2);
    assert_int_equal(plg_log_close(log), 0);
    log = open_log(&o);
    assert_int_equal(plg_log_start_offset(log), 9);
    check_all(log, more, 2);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, 3);
    free_stored(more, 2);
}

static void test_delete_records(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    enum { N = 60 };
    struct stored st[N];
    fill(log, st, N, 1000);
    int32_t segs = plg_log_segment_count(log);
    assert_int_equal(plg_log_delete_records(log, 3 * N + 1), PLG_ERANGE);
    assert_int_equal(plg_log_delete_records(log, 100), 0); /* mid-batch, mid-segment */
    assert_int_equal(plg_log_start_offset(log), 100);
    assert_true(plg_log_segment_count(log) < segs);
    struct plg_log_slice s;
    assert_int_equal(plg_log_read(log, 99, 100, &s), PLG_ERANGE);
    assert_int_equal(plg_log_read(log, 100, 1, &s), 0);
    assert_int_equal(s.first_offset, 99); /* the batch holding 100 starts at 99 */
    plg_log_slice_release(&s);
    assert_int_equal(plg_log_close(log), 0);
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    assert_int_equal(plg_log_start_offset(log), 100); /* persisted */
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

struct events {
    int appends;
    int64_t last_append;
    int created, sealed, deleted, truncated;
    int64_t trunc_arg;
};

static void ev_append(void *ctx, int64_t base, const uint8_t *b, size_t len)
{
    struct events *e = ctx;
    struct batch bt;
    assert_int_equal(batch_validate(b, len, &bt), 0);
    assert_int_equal(bt.base_offset, base);
    e->appends++;
    e->last_append = base;
}

static void ev_segment(void *ctx, enum plg_segment_event kind, int64_t base, int64_t arg)
{
    struct events *e = ctx;
    (void)base;
    switch (kind) {
    case PLG_SEG_CREATED:
        e->created++;
        break;
    case PLG_SEG_SEALED:
        e->sealed++;
        break;
    case PLG_SEG_DELETED:
        e->deleted++;
        break;
    case PLG_SEG_TRUNCATED:
        e->truncated++;
        e->trunc_arg = arg;
        break;
    default:
        break;
    }
}

static void test_hooks_and_truncate(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    struct events e = {0};
    struct plg_log_hooks h = {.ctx = &e, .on_append = ev_append, .on_segment_event = ev_segment};
    plg_log_set_hooks(log, &h);
    enum { N = 60 };
    struct stored st[N];
    fill(log, st, N, 1000);
    assert_int_equal(e.appends, N);
    assert_int_equal(e.last_append, st[N - 1].base);
    int32_t segs = plg_log_segment_count(log);
    assert_int_equal(e.created, segs - 1);
    assert_int_equal(e.sealed, segs - 1);

    /* Truncate back into an earlier, sealed segment. */
    int64_t to = st[10].base;
    assert_int_equal(plg_log_truncate(log, to), 0);
    assert_int_equal(plg_log_end_offset(log), to);
    assert_true(e.deleted > 0);
    assert_int_equal(e.truncated, 1);
    assert_int_equal(e.trunc_arg, to);
    check_all(log, st, 10);
    struct stored more[30];
    fill(log, more, 30, 50000);
    assert_int_equal(more[0].base, to);
    plg_log_set_hooks(log, NULL);
    assert_int_equal(plg_log_close(log), 0);
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    assert_int_equal(plg_log_end_offset(log), to + 90);
    check_all(log, more, 30);
    assert_int_equal(plg_log_truncate(log, to + 91), PLG_ERANGE);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(more, 30);
    free_stored(st, N);
}

static void test_append_errors(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    c.max_message_bytes = 2000;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    size_t len;
    uint8_t *b = make_batch(3, 40, 1, 0, 0, &len);
    uint8_t *two = malloc(2 * len);
    memcpy(two, b, len);
    memcpy(two + len, b, len);
    assert_int_equal(plg_log_append(log, two, 2 * len, NULL), PLG_EINVAL);
    assert_int_equal(plg_log_append(log, b, len - 1, NULL), PLG_ETRUNC);
    b[len - 1] ^= 1;
    assert_int_equal(plg_log_append(log, b, len, NULL), PLG_ECORRUPT);
    b[len - 1] ^= 1;
    b[16] = 1;
    assert_int_equal(plg_log_append(log, b, len, NULL), PLG_EUNSUPP);
    b[16] = 2;
    /* append_checked trusts the caller's CRC check but still checks the header and size. */
    assert_int_equal(plg_log_append_checked(log, b, len - 1, NULL), PLG_ETRUNC);
    b[16] = 1;
    assert_int_equal(plg_log_append_checked(log, b, len, NULL), PLG_EUNSUPP);
    b[16] = 2;
    size_t blen;
    uint8_t *big = make_batch(1, 3000, 1, 0, 0, &blen);
    assert_int_equal(plg_log_append(log, big, blen, NULL), PLG_ETOOBIG);
    assert_int_equal(plg_log_append_checked(log, big, blen, NULL), PLG_ETOOBIG);
    assert_int_equal(plg_log_end_offset(log), 0);
    assert_int_equal(plg_log_size_bytes(log), 0);
    assert_int_equal(plg_log_append(log, b, len, NULL), 0);
    assert_int_equal(plg_log_end_offset(log), 3);
    assert_int_equal(plg_log_append_checked(log, b, len, NULL), 0);
    assert_int_equal(plg_log_end_offset(log), 6);
    /* append_at keeps the batch's own offset and refuses to go backwards. */
    batch_set_base_offset(b, 1000);
    assert_int_equal(plg_log_append_at(log, b, len), 0);
    assert_int_equal(plg_log_end_offset(log), 1003);
    assert_int_equal(plg_log_append_at(log, b, len), PLG_ERANGE);
    struct plg_log_slice s;
    assert_int_equal(plg_log_read(log, 500, 100, &s), 0); /* in the gap: the next batch */
    assert_int_equal(s.first_offset, 1000);
    plg_log_slice_release(&s);
    free(b);
    free(two);
    free(big);
    assert_int_equal(plg_log_close(log), 0);
}

/* Raising max.message.bytes after open: a batch larger than the active segment's mapping
 * goes into a fresh segment (the empty one is replaced in place). */
static void test_config_grows(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    c.max_message_bytes = 2000;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    size_t len;
    uint8_t *big = make_batch(2, 10000, 1, 0, 0, &len);
    assert_int_equal(plg_log_append(log, big, len, NULL), PLG_ETOOBIG);
    c.max_message_bytes = 100000;
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    struct stored st[3];
    for (int i = 0; i < 3; i++) {
        uint8_t *b = make_batch(2, 10000, 1, i, 0, &len);
        struct plg_append_info info;
        assert_int_equal(plg_log_append(log, b, len, &info), 0);
        st[i] = (struct stored){b, len, info.base_offset};
    }
    assert_int_equal(st[0].base, 0);
    assert_int_equal(plg_log_segment_count(log), 3); /* each big batch alone */
    check_all_big(log, st, 3);
    assert_int_equal(plg_log_close(log), 0);
    log = open_log(&o);
    check_all_big(log, st, 3);
    assert_int_equal(plg_log_close(log), 0);
    free(big);
    free_stored(st, 3);
}

static void test_slice_outlives_segment(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    enum { N = 40 };
    struct stored st[N];
    fill(log, st, N, 1000);
    struct plg_log_slice s;
    assert_int_equal(plg_log_read(log, 0, 100000, &s), 0);
    assert_int_equal(plg_log_delete_records(log, plg_log_end_offset(log)), 0);
    char p[512];
    seg_path(p, sizeof p, 0, "log");
    assert_int_equal(file_len(p), -1); /* the file is gone ... */
    uint8_t tmp[512];
    assert_int_equal(pread(s.fd, tmp, st[0].len, s.pos), (ssize_t)st[0].len);
    assert_memory_equal(tmp, st[0].p, st[0].len); /* ... but the slice still reads it */
    assert_memory_equal(s.data, st[0].p, st[0].len);
    plg_log_slice_release(&s);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, N);
}

static void test_memory_only(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    struct durable_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER, .last = -1};
    struct plg_log_options o = {.config = &c,
                                .memory_only = true,
                                .on_durable = on_durable,
                                .durable_ctx = &d,
                                .clock_ms = fake_clock};
    plg_log_t *log;
    assert_int_equal(plg_log_open(NULL, &o, &log, NULL), 0);
    enum { N = 200 };
    struct stored st[N];
    fill(log, st, N, 1000);
    assert_true(plg_log_segment_count(log) > 10);
    assert_int_equal(plg_log_durable_offset(log), 3 * N);
    check_all(log, st, N);
    int64_t off;
    assert_int_equal(plg_log_lookup_time(log, 1000 + 10 * 50, &off), 0);
    assert_int_equal(off, st[50].base);
    c.retention_bytes = 4096;
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    int32_t del;
    assert_int_equal(plg_log_enforce_retention(log, &del), 0);
    assert_true(del > 0);
    assert_int_equal(plg_log_truncate(log, 3 * N - 30), 0);
    assert_int_equal(plg_log_end_offset(log), 3 * N - 30);
    assert_int_equal(plg_log_close(log), 0);
    /* Nothing was written to the directory. */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    assert_int_equal(system(cmd), 0);
    free_stored(st, N);
}

static void test_config(void **state)
{
    (void)state;
    struct plg_log_config c;
    plg_log_config_init(&c);
    char v[64];
    for (const char *const *k = plg_log_config_keys(); *k; k++) {
        assert_int_equal(plg_log_config_get(&c, *k, v, sizeof v), 0);
        /* Every default round-trips through its text form. */
        struct plg_log_config d = c;
        assert_int_equal(plg_log_config_set(&d, *k, v), 0);
        assert_memory_equal(&d, &c, sizeof c);
    }
    assert_int_equal(plg_log_config_set(&c, "segment.bytes", "1048576"), 0);
    assert_int_equal(c.segment_bytes, 1048576);
    assert_int_equal(plg_log_config_set(&c, "segment.bytes", "12x"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "segment.bytes", "-5"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "segment.bytes", "99999999999"), PLG_EINVAL);
    assert_int_equal(c.segment_bytes, 1048576);
    assert_int_equal(plg_log_config_set(&c, "retention.ms", "-1"), 0);
    assert_int_equal(c.retention_ms, -1);
    assert_int_equal(plg_log_config_set(&c, "retention.ms", "-2"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "cleanup.policy", "compact"), 0);
    assert_int_equal(c.cleanup_policy, PLG_CLEANUP_COMPACT);
    assert_int_equal(plg_log_config_set(&c, "cleanup.policy", "compact,delete"), 0);
    assert_int_equal(c.cleanup_policy, PLG_CLEANUP_COMPACT | PLG_CLEANUP_DELETE);
    assert_int_equal(plg_log_config_get(&c, "cleanup.policy", v, sizeof v), 0);
    assert_string_equal(v, "compact,delete");
    assert_int_equal(plg_log_config_set(&c, "cleanup.policy", "shred"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "cleanup.policy", ""), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "fsync", "interval:250"), 0);
    assert_int_equal(c.fsync_policy, PLG_FSYNC_INTERVAL);
    assert_int_equal(c.fsync_interval_ms, 250);
    assert_int_equal(plg_log_config_set(&c, "fsync", "interval:"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "fsync", "interval:0"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "fsync", "sometimes"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "fsync", "always"), 0);
    assert_int_equal(c.fsync_policy, PLG_FSYNC_ALWAYS);
    assert_int_equal(plg_log_config_set(&c, "message.timestamp.type", "Now"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "merkle.enable", "false"), 0);
    assert_false(c.merkle_enable);
    assert_int_equal(plg_log_config_set(&c, "merkle.enable", "yes"), PLG_EINVAL);
    assert_int_equal(plg_log_config_set(&c, "no.such.key", "1"), PLG_ENOTFOUND);
    assert_int_equal(plg_log_config_get(&c, "no.such.key", v, sizeof v), PLG_ENOTFOUND);
    assert_int_equal(plg_log_config_get(&c, "fsync", v, 3), PLG_ETOOBIG);
}

static void test_segment_ms_roll(void **state)
{
    (void)state;
    struct plg_log_config c = small_cfg();
    c.segment_bytes = 1 << 20;
    c.segment_ms = 1000;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log = open_log(&o);
    struct stored st[6];
    fill(log, st, 3, 1);
    assert_int_equal(plg_log_segment_count(log), 1);
    fake_now += 1001;
    fill(log, st + 3, 3, 1);
    assert_int_equal(plg_log_segment_count(log), 2);
    assert_int_equal(plg_log_roll(log), 0);
    assert_int_equal(plg_log_segment_count(log), 3);
    assert_int_equal(plg_log_roll(log), 0); /* empty active: no new segment */
    assert_int_equal(plg_log_segment_count(log), 3);
    check_all(log, st, 6);
    assert_int_equal(plg_log_close(log), 0);
    free_stored(st, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_rolls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_sealed_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_always, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_always_in_flusher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_soon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_behind_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writeback_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_never_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_append_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_active_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hooks_and_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slice_outlives_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_only, setup, teardown),
        cmocka_unit_test(test_config),
        cmocka_unit_test_setup_teardown(test_segment_ms_roll, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
