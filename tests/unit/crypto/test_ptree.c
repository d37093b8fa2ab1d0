/* The per-partition tree on a real log directory: maintained on append across segment rolls,
 * equal to an independent in-memory tree of the same records, proofs verify, reopened from its
 * .merkle files, and rebuilt from the log after torn, corrupt, missing or extra tree data and
 * after log truncation; tree file writes that fail (a full disk) are kept and written later.
 * Also the memory-only variant. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/bytes.h"
#include "crypto/merkle.h"
#include "crypto/ptree.h"
#include "pyralog/log.h"
#include "storage/batch.h"
#include "../tmpdir.h"

/* The reference: every record appended so far, as leaves of an in-memory tree. */
static struct mk_memtree ref;

/* Appends a batch of n records (record j of the whole test gets key "k<j>", value "v<j>..",
 * a header on every third record) and mirrors the leaves into ref. */
static void append_batch(plg_log_t *log, int n)
{
    struct batch_builder bb;
    int64_t base = plg_log_end_offset(log);
    batch_builder_init(&bb, 0, 1700000000000 + base);
    for (int i = 0; i < n; i++) {
        uint64_t off = (uint64_t)base + (uint64_t)i;
        char key[32], val[80];
        int kl = snprintf(key, sizeof key, "k%llu", (unsigned long long)off);
        int vl = snprintf(val, sizeof val, "value-%llu-%0*d", (unsigned long long)off,
                          (int)(off % 40), 7);
        struct batch_header_kv h = {(const uint8_t *)"trace", 5, (const uint8_t *)key, kl};
        bool with_h = off % 3 == 0;
        bool null_key = off % 5 == 0;
        int64_t ts = 1700000000000 + base + i * 2;
        assert_int_equal(batch_builder_add(&bb, ts, null_key ? NULL : key, null_key ? -1 : kl, val,
                                           vl, with_h ? &h : NULL, with_h ? 1 : 0),
                         0);
        struct mk_header mh = {h.key, h.key_len, h.value, h.value_len};
        struct mk_record r = {.offset = off,
                              .timestamp = ts,
                              .key = null_key ? NULL : (const uint8_t *)key,
                              .key_len = null_key ? -1 : kl,
                              .value = (const uint8_t *)val,
                              .value_len = vl,
                              .headers = with_h ? &mh : NULL,
                              .header_count = with_h ? 1 : 0};
        uint8_t leaf[32];
        assert_int_equal(mk_record_leaf(&r, leaf), 0);
        assert_int_equal(mk_memtree_append(&ref, leaf), 0);
    }
    uint8_t *p;
    size_t len;
    assert_int_equal(batch_builder_finish(&bb, -1, &p, &len), 0);
    batch_builder_destroy(&bb);
    assert_int_equal(plg_log_append(log, p, len, NULL), 0);
    free(p);
}

static plg_log_t *open_log(const char *d, bool memory)
{
    struct plg_log_config cfg;
    plg_log_config_init(&cfg);
    assert_int_equal(plg_log_config_set(&cfg, "segment.bytes", "4096"), 0);
    assert_int_equal(plg_log_config_set(&cfg, "fsync", "never"), 0);
    struct plg_log_options o = {.config = &cfg, .memory_only = memory, .create = true};
    plg_log_t *log;
    assert_int_equal(plg_log_open(d, &o, &log, NULL), 0);
    return log;
}

/* Tree equals the reference at every size; sampled proofs from it verify. */
static void check_tree(struct ptree *t)
{
    struct mk_source s, rs;
    ptree_source(t, &s);
    mk_memtree_source(&ref, &rs);
    assert_int_equal(ptree_error(t), 0);
    assert_int_equal(ptree_size(t), ref.size);
    uint64_t n = ref.size;
    for (uint64_t size = 0; size <= n; size += 1 + size / 7) {
        uint8_t a[32], b[32];
        assert_int_equal(mk_root(&s, size, a), 0);
        assert_int_equal(mk_root(&rs, size, b), 0);
        assert_memory_equal(a, b, 32);
    }
    uint8_t root[32], path[MK_MAX_PATH * 32];
    assert_int_equal(mk_root(&s, n, root), 0);
    for (uint64_t i = 0; i < n; i += 1 + n / 23) {
        size_t count;
        struct mk_bytes els[MK_MAX_PATH];
        uint8_t leaf[32];
        assert_int_equal(mk_inclusion_proof(&s, i, n, path, &count), 0);
        for (size_t k = 0; k < count; k++)
            els[k] = (struct mk_bytes){path + 32 * k, 32};
        assert_int_equal(ptree_leaf(t, i, leaf), 0);
        assert_int_equal(mk_verify_inclusion(&mk_blake3, i, n, (struct mk_bytes){leaf, 32}, els,
                                             count, (struct mk_bytes){root, 32}),
                         0);
        uint8_t r1[32];
        assert_int_equal(mk_root(&s, i + 1, r1), 0);
        assert_int_equal(mk_consistency_proof(&s, i + 1, n, path, &count), 0);
        for (size_t k = 0; k < count; k++)
            els[k] = (struct mk_bytes){path + 32 * k, 32};
        assert_int_equal(mk_verify_consistency(&mk_blake3, i + 1, n, (struct mk_bytes){r1, 32},
                                               (struct mk_bytes){root, 32}, els, count),
                         0);
    }
}

static int count_merkle_files(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '\\.merkle$'", dir);
    FILE *p = popen(cmd, "r");
    int n = 0;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static char *last_merkle_file(void)
{
    static char path[512];
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s'/*.merkle | sort | tail -1", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(path, sizeof path, p));
    pclose(p);
    path[strcspn(path, "\n")] = 0;
    return path;
}

static struct ptree *open_tree(plg_log_t *log, struct ptree_recovery *rec)
{
    struct ptree *t;
    assert_int_equal(ptree_open(dir, log, &t, rec), 0);
    struct plg_log_hooks h;
    ptree_hooks(t, &h);
    plg_log_set_hooks(log, &h);
    return t;
}

static void test_maintained_and_recovered(void **state)
{
    (void)state;
    mk_memtree_init(&ref, &mk_blake3);
    plg_log_t *log = open_log(dir, false);
    struct ptree_recovery rec;
    struct ptree *t = open_tree(log, &rec);
    assert_int_equal(ptree_size(t), 0);
    for (int b = 0; b < 60; b++)
        append_batch(log, 1 + b % 9);
    check_tree(t);
    assert_true(plg_log_segment_count(log) > 3);
    int files = count_merkle_files();
    assert_true(files >= plg_log_segment_count(log));

    /* Clean reopen: loaded from the files, only the newest one re-derived. */
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    t = open_tree(log, &rec);
    assert_true(rec.loaded == ref.size);
    assert_true(rec.rebuilt > 0 && rec.rebuilt < ref.size);
    check_tree(t);

    /* Marked clean: nothing re-derived, and the marker is consumed by the open. */
    plg_log_set_hooks(log, NULL);
    assert_int_equal(ptree_mark_clean(t, (uint64_t)plg_log_end_offset(log) + 1), PLG_ESTATE);
    assert_int_equal(ptree_mark_clean(t, (uint64_t)plg_log_end_offset(log)), 0);
    ptree_close(t);
    t = open_tree(log, &rec);
    assert_true(rec.loaded == ref.size);
    assert_true(rec.rebuilt == 0 && rec.rebuilt_from == UINT64_MAX);
    check_tree(t);
    char marker[600];
    snprintf(marker, sizeof marker, "%s/merkle.clean", dir);
    assert_int_equal(access(marker, F_OK), -1);

    /* A marker that does not match the files (appends after it was written) is not trusted. */
    plg_log_set_hooks(log, NULL);
    assert_int_equal(ptree_mark_clean(t, (uint64_t)plg_log_end_offset(log)), 0);
    ptree_close(t);
    t = open_tree(log, &rec);
    append_batch(log, 4);
    check_tree(t);
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    FILE *mf = fopen(marker, "w");
    assert_non_null(mf);
    fprintf(mf, "%llu\n", (unsigned long long)ref.size - 4);
    fclose(mf);
    t = open_tree(log, &rec);
    assert_true(rec.rebuilt > 0);
    check_tree(t);

    /* Torn tail of the newest file (crash mid-write). */
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    char *last = last_merkle_file();
    struct stat st;
    assert_int_equal(stat(last, &st), 0);
    assert_int_equal(truncate(last, st.st_size - 45), 0);
    t = open_tree(log, &rec);
    check_tree(t);

    /* Garbage in the newest file (zero-filled blocks after a crash). */
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    int fd = open(last_merkle_file(), O_WRONLY);
    static const uint8_t zeros[64];
    assert_int_equal(pwrite(fd, zeros, sizeof zeros, 16), 64);
    close(fd);
    t = open_tree(log, &rec);
    check_tree(t);

    /* An older file deleted: the chain breaks there and the rest is rebuilt from the log. */
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s'/*.merkle | sort | sed -n 2p | xargs rm -f", dir);
    assert_int_equal(system(cmd), 0);
    t = open_tree(log, &rec);
    assert_true(rec.rebuilt_from < ref.size && rec.rebuilt == ref.size - rec.rebuilt_from);
    check_tree(t);

    /* More appends after recovery, then the log is truncated (follower truncation). */
    for (int b = 0; b < 10; b++)
        append_batch(log, 3);
    check_tree(t);
    /* Cut at a batch boundary: six 3-record batches from the end. */
    int64_t cut = plg_log_end_offset(log) - 3 * 6;
    assert_int_equal(plg_log_truncate(log, cut), 0);
    mk_memtree_truncate(&ref, (uint64_t)cut);
    check_tree(t);
    append_batch(log, 5);
    check_tree(t);

    /* The log lost its tail while the tree was ahead (tree files kept, log cut offline). */
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    plg_log_close(log);
    log = open_log(dir, false);
    t = open_tree(log, &rec);
    check_tree(t);
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    plg_log_close(log);
    mk_memtree_destroy(&ref);
}

/* The process's fd open on path (the tree's own descriptor of its active file), or -1. */
static int fd_of(const char *path)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int found = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        char link[300], target[512];
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        int fd = atoi(de->d_name);
        /* The first one: the tree opened its file before handing a duplicate to the log. */
        if (strcmp(target, path) == 0 && (found < 0 || fd < found))
            found = fd;
    }
    closedir(d);
    return found;
}

/* Points descriptor fd at path again, opened with flags (the descriptor number stays). */
static void reopen_fd(int fd, const char *path, int flags)
{
    int n = open(path, flags);
    assert_true(n >= 0);
    assert_int_equal(dup2(n, fd), fd);
    close(n);
}

/*
 * Tree file writes that fail (here: the tree's descriptor made read-only, as a full disk makes
 * them fail) do not stop the tree: the records stay in memory, proofs and roots read them from
 * there, a segment roll in the meantime starts a new file, and once writes work the next append
 * writes them at their place, so a clean reopen trusts the files as they are.
 */
static void test_write_failure_backlog(void **state)
{
    (void)state;
    mk_memtree_init(&ref, &mk_blake3);
    plg_log_t *log = open_log(dir, false);
    struct ptree_recovery rec;
    struct ptree *t = open_tree(log, &rec);
    for (int b = 0; b < 20; b++)
        append_batch(log, 1 + b % 5);
    char path[512];
    snprintf(path, sizeof path, "%s", last_merkle_file());
    char *real = realpath(path, NULL);
    assert_non_null(real);
    int fd = fd_of(real);
    assert_true(fd >= 0);
    int files = count_merkle_files();
    reopen_fd(fd, real, O_RDONLY | O_CLOEXEC); /* every write to it now fails (EBADF) */

    /* Appends go on past a segment roll: the file that cannot be written is sealed with its
     * records pending, the next file is a new descriptor and works. */
    for (int i = 0; i < 100 && count_merkle_files() < files + 2; i++)
        append_batch(log, 4);
    assert_int_equal(ptree_error(t), 0);
    assert_int_equal(count_merkle_files(), files + 2);
    struct stat st;
    assert_int_equal(stat(real, &st), 0);
    check_tree(t); /* reads the pending records from memory */
    assert_int_equal(plg_log_truncate(log, plg_log_end_offset(log) - 4), 0); /* cut a batch */
    mk_memtree_truncate(&ref, ref.size - 4);
    check_tree(t);
    assert_int_equal(ptree_mark_clean(t, (uint64_t)plg_log_end_offset(log)), -EBADF);

    /* Writes work again: the next append writes the pending records at their place. */
    reopen_fd(fd, real, O_RDWR | O_CLOEXEC);
    append_batch(log, 3);
    check_tree(t);
    struct stat st2;
    assert_int_equal(stat(real, &st2), 0);
    assert_true(st2.st_size > st.st_size);

    /* The files are whole: a clean reopen re-derives nothing. */
    plg_log_set_hooks(log, NULL);
    assert_int_equal(ptree_mark_clean(t, (uint64_t)plg_log_end_offset(log)), 0);
    ptree_close(t);
    t = open_tree(log, &rec);
    assert_true(rec.loaded == ref.size);
    assert_true(rec.rebuilt == 0);
    check_tree(t);
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    plg_log_close(log);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), 0);
    free(real);
    mk_memtree_destroy(&ref);
}

static void test_memory_only(void **state)
{
    (void)state;
    mk_memtree_init(&ref, &mk_blake3);
    plg_log_t *log = open_log(NULL, true);
    struct ptree *t;
    assert_int_equal(ptree_open(NULL, log, &t, NULL), 0);
    struct plg_log_hooks h;
    ptree_hooks(t, &h);
    plg_log_set_hooks(log, &h);
    for (int b = 0; b < 40; b++)
        append_batch(log, 1 + b % 13);
    check_tree(t);
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    /* Opening late builds the whole tree from the log. */
    assert_int_equal(ptree_open(NULL, log, &t, NULL), 0);
    check_tree(t);
    ptree_close(t);
    plg_log_close(log);
    mk_memtree_destroy(&ref);
}

/* Appends through ptree_prepare (the broker's path: one record walk checks the batch and
 * encodes its leaves) on a LogAppendTime log, with client base offsets that are not 0, a
 * prepare that is cleared without an append before another batch reuses the same buffer, and a
 * batch with a corrupt record that prepare must refuse. The tree must equal the one rebuilt
 * from the log by the plain path. */
static int64_t fixed_clock(void *ctx)
{
    return *(int64_t *)ctx;
}

static uint8_t *build(int64_t client_base, int n, int seed, size_t *len)
{
    struct batch_builder bb;
    batch_builder_init(&bb, client_base, 1600000000000 + seed);
    for (int i = 0; i < n; i++) {
        char val[64];
        int vl = snprintf(val, sizeof val, "prepared-%04d-%d", seed, i);
        struct batch_header_kv h = {(const uint8_t *)"h", 1, (const uint8_t *)val, 3};
        assert_int_equal(batch_builder_add(&bb, 1600000000000 + seed + i, i % 2 ? "k" : NULL,
                                           i % 2 ? 1 : -1, val, vl, i % 3 ? NULL : &h,
                                           i % 3 ? 0 : 1),
                         0);
    }
    uint8_t *p;
    assert_int_equal(batch_builder_finish(&bb, -1, &p, len), 0);
    batch_builder_destroy(&bb);
    return p;
}

static void test_prepared_appends(void **state)
{
    (void)state;
    struct plg_log_config cfg;
    plg_log_config_init(&cfg);
    assert_int_equal(plg_log_config_set(&cfg, "segment.bytes", "4096"), 0);
    assert_int_equal(plg_log_config_set(&cfg, "fsync", "never"), 0);
    assert_int_equal(plg_log_config_set(&cfg, "message.timestamp.type", "LogAppendTime"), 0);
    int64_t now = 1750000000000;
    struct plg_log_options o = {
        .config = &cfg, .create = true, .clock_ms = fixed_clock, .clock_ctx = &now};
    plg_log_t *log;
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    struct ptree *t = open_tree(log, NULL);
    for (int b = 0; b < 60; b++) {
        size_t len;
        uint8_t *p = build(b * 3, 1 + b % 9, b, &len);
        now += 1 + b;
        if (b % 5 == 4) {
            /* Prepared, never appended, cleared; then another batch of the same length in the
             * same buffer goes in: it must be walked afresh, not take the stale leaves. */
            assert_int_equal(ptree_prepare(t, p, len), 0);
            ptree_prepare_clear(t);
            size_t len2;
            uint8_t *q = build(0, 1 + b % 9, 1000 + b, &len2);
            assert_int_equal(len2, len);
            memcpy(p, q, len);
            free(q);
            assert_int_equal(plg_log_append(log, p, len, NULL), 0);
        } else {
            assert_int_equal(ptree_prepare(t, p, len), 0);
            assert_int_equal(plg_log_append(log, p, len, NULL), 0);
            ptree_prepare_clear(t);
        }
        free(p);
    }
    /* A record whose length runs past the batch: prepare refuses it, whatever the CRC says. */
    size_t len;
    uint8_t *bad = build(0, 3, 7, &len);
    bad[61] = 0x7e; /* first record's length varint: 63 bytes */
    be32_put(bad + 17, batch_compute_crc(bad, len));
    assert_int_not_equal(ptree_prepare(t, bad, len), 0);
    ptree_prepare_clear(t);
    free(bad);
    assert_int_equal(ptree_error(t), 0);
    uint64_t n = ptree_size(t);
    assert_int_equal(n, (uint64_t)plg_log_end_offset(log));
    uint8_t want[32], got[32];
    assert_int_equal(ptree_root(t, n, want), 0);
    plg_log_set_hooks(log, NULL);
    ptree_close(t);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.merkle", dir);
    assert_int_equal(system(cmd), 0);
    struct ptree_recovery rec;
    assert_int_equal(ptree_open(dir, log, &t, &rec), 0);
    assert_int_equal(rec.rebuilt, n);
    assert_int_equal(ptree_root(t, n, got), 0);
    assert_memory_equal(want, got, 32);
    ptree_close(t);
    plg_log_close(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_maintained_and_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure_backlog, setup, teardown),
        cmocka_unit_test(test_memory_only),
        cmocka_unit_test_setup_teardown(test_prepared_appends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
