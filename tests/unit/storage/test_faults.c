/*
 * test_faults.c — error paths with real faults: a file size limit (EFBIG) during append,
 * fdatasync failing (injected through the storage ops table) under fsync=always and under the
 * flusher thread (sticky error), index blocks that cannot be reserved (a full disk), open
 * errors, fsync policy changes at run time, and read_copy size bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "helpers.h"
#include "storage/log_internal.h"

static int fail_sync(struct store *s, int fd)
{
    (void)s;
    (void)fd;
    return -EIO;
}

static struct store_ops failing;

/* Replaces the log's storage ops with a copy whose sync fails; returns the original. */
static const struct store_ops *inject_sync_failure(plg_log_t *log)
{
    const struct store_ops *orig = log->store.ops;
    failing = *orig;
    failing.sync = fail_sync;
    log->store.ops = &failing;
    return orig;
}

static plg_log_t *open_policy(const char *fsync)
{
    struct plg_log_config c;
    plg_log_config_init(&c);
    assert_int_equal(plg_log_config_set(&c, "fsync", fsync), 0);
    c.segment_bytes = 8192;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log;
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    return log;
}

static int append_one(plg_log_t *log, int tag)
{
    size_t len;
    uint8_t *b = make_batch(2, 100, 1, tag, 0, &len);
    int rc = plg_log_append(log, b, len, NULL);
    free(b);
    return rc;
}

static void test_sync_failure_always(void **state)
{
    (void)state;
    plg_log_t *log = open_policy("always");
    assert_int_equal(append_one(log, 0), 0);
    const struct store_ops *orig = inject_sync_failure(log);
    assert_int_equal(append_one(log, 1), -EIO);
    /* The bytes were written but are not durable: the durable offset says so. */
    assert_int_equal(plg_log_end_offset(log), 4);
    assert_int_equal(plg_log_durable_offset(log), 2);
    log->store.ops = orig;
    assert_int_equal(append_one(log, 2), 0);
    assert_int_equal(plg_log_durable_offset(log), 6);
    assert_int_equal(plg_log_close(log), 0);
}

static void test_sync_failure_flusher(void **state)
{
    (void)state;
    plg_log_t *log = open_policy("interval:2");
    const struct store_ops *orig = inject_sync_failure(log);
    assert_int_equal(append_one(log, 0), 0);
    int rc = 0;
    for (int i = 0; i < 500 && rc == 0; i++) {
        usleep(2000);
        rc = append_one(log, i + 1);
    }
    assert_int_equal(rc, -EIO); /* the flusher's failure is reported to the owner */
    assert_int_equal(plg_log_flush(log), -EIO);
    assert_int_equal(plg_log_durable_offset(log), 0);
    log->store.ops = orig;
    assert_int_equal(plg_log_close(log), 0);
}

static int fail_reserve(struct store *s, int fd, int64_t off, int64_t len)
{
    (void)s;
    (void)fd;
    (void)off;
    (void)len;
    return -ENOSPC;
}

static plg_log_t *open_indexed(void)
{
    struct plg_log_config c;
    plg_log_config_init(&c);
    assert_int_equal(plg_log_config_set(&c, "fsync", "never"), 0);
    assert_int_equal(plg_log_config_set(&c, "index.interval.bytes", "0"), 0); /* every batch */
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log;
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    return log;
}

/*
 * The active segment's index files are sparse and written through a shared mapping, where a
 * full disk would kill the process with SIGBUS. Their blocks are reserved before a batch is
 * written; when that fails the append fails with the error and writes nothing.
 */
static void test_index_reserve(void **state)
{
    (void)state;
    plg_log_t *log = open_indexed();
    for (int i = 0; i < 3; i++)
        assert_int_equal(append_one(log, i), 0);
    char p[512], ip[512];
    seg_path(p, sizeof p, 0, "log");
    seg_path(ip, sizeof ip, 0, "index");
    struct stat st;
    assert_int_equal(stat(ip, &st), 0);
    assert_true((int64_t)st.st_blocks * 512 >= 64 << 10); /* reserved ahead, not page by page */

    /* Reservations fail from now on: appends use the slots reserved ahead, then fail. */
    static struct store_ops nospace;
    const struct store_ops *orig = log->store.ops;
    nospace = *orig;
    nospace.reserve = fail_reserve;
    log->store.ops = &nospace;
    int rc = 0, n = 0;
    int64_t end = 0, size = 0;
    for (; n < 20000 && rc == 0; n++) {
        end = plg_log_end_offset(log);
        size = plg_log_size_bytes(log);
        rc = append_one(log, 10 + n);
    }
    assert_int_equal(rc, -ENOSPC);
    assert_true(n > 1000);
    assert_int_equal(plg_log_end_offset(log), end); /* the refused batch left nothing */
    assert_int_equal(plg_log_size_bytes(log), size);
    assert_int_equal(file_len(p), size);
    log->store.ops = orig;
    assert_int_equal(append_one(log, 1), 0);
    assert_int_equal(plg_log_end_offset(log), end + 2);
    assert_int_equal(plg_log_close(log), 0);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), 0);
}

static void test_file_size_limit(void **state)
{
    (void)state;
    plg_log_t *log = open_policy("never");
    for (int i = 0; i < 5; i++)
        assert_int_equal(append_one(log, i), 0);
    int64_t end = plg_log_end_offset(log), size = plg_log_size_bytes(log);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = (rlim_t)size + 100; /* the next batch (~270 bytes) cannot fit */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = append_one(log, 99);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc, -EFBIG);
    assert_int_equal(plg_log_end_offset(log), end); /* nothing half-written counted */
    assert_int_equal(plg_log_size_bytes(log), size);
    char p[512];
    seg_path(p, sizeof p, 0, "log");
    assert_int_equal(file_len(p), size); /* and nothing half-written left behind */
    assert_int_equal(append_one(log, 100), 0);
    assert_int_equal(plg_log_close(log), 0);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), 0);
}

static void test_open_errors(void **state)
{
    (void)state;
    plg_log_t *log;
    struct plg_log_options o = {0};
    char p[512];
    snprintf(p, sizeof p, "%s/missing", dir);
    assert_int_equal(plg_log_open(p, &o, &log, NULL), -ENOENT);
    assert_int_equal(plg_log_open(NULL, &o, &log, NULL), PLG_EINVAL);
    o.create = true;
    assert_int_equal(plg_log_open(p, &o, &log, NULL), 0); /* created */
    assert_int_equal(plg_log_close(log), 0);
    assert_int_equal(plg_log_open(p, NULL, &log, NULL), 0); /* defaults, existing dir */
    assert_int_equal(plg_log_config(log)->segment_bytes, 1 << 30);
    assert_int_equal(plg_log_close(log), 0);
    assert_int_equal(plg_log_close(NULL), 0);
}

static void test_policy_changes(void **state)
{
    (void)state;
    plg_log_t *log = open_policy("never");
    assert_int_equal(append_one(log, 0), 0);
    assert_int_equal(plg_log_durable_offset(log), 0);
    struct plg_log_config c = *plg_log_config(log);
    assert_int_equal(plg_log_config_set(&c, "fsync", "interval:2"), 0);
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    assert_int_equal(plg_log_durable_offset(log), 2); /* changing policy flushes */
    assert_int_equal(append_one(log, 1), 0);
    for (int i = 0; i < 500 && plg_log_durable_offset(log) < 4; i++)
        usleep(2000);
    assert_int_equal(plg_log_durable_offset(log), 4); /* the new flusher runs */
    assert_int_equal(plg_log_config_set(&c, "fsync", "always"), 0);
    assert_int_equal(plg_log_reconfigure(log, &c), 0);
    assert_int_equal(append_one(log, 2), 0);
    assert_int_equal(plg_log_durable_offset(log), 6);
    assert_int_equal(plg_log_close(log), 0);
}

static void test_read_copy_bounds(void **state)
{
    (void)state;
    plg_log_t *log = open_policy("never");
    for (int i = 0; i < 100; i++) /* ~270-byte batches over several 8 KiB segments */
        assert_int_equal(append_one(log, i), 0);
    assert_true(plg_log_segment_count(log) > 2);
    uint8_t *out;
    size_t len, one;
    int64_t next;
    assert_int_equal(plg_log_read_copy(log, 0, 1, &out, &one, &next), 0);
    assert_int_equal(next, 2); /* at least one batch even when it exceeds max_bytes */
    free(out);
    assert_int_equal(plg_log_read_copy(log, 0, 10 * one + one / 2, &out, &len, &next), 0);
    assert_int_equal(len, 10 * one); /* whole batches only */
    assert_int_equal(next, 20);
    free(out);
    assert_int_equal(plg_log_read_copy(log, 0, SIZE_MAX, &out, &len, &next), 0);
    assert_int_equal(len, 100 * one); /* across segments */
    assert_int_equal(next, 200);
    free(out);
    assert_int_equal(plg_log_read_copy(log, 200, 100, &out, &len, &next), 0);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_int_equal(next, 200);
    assert_int_equal(plg_log_read_copy(log, 201, 100, &out, &len, &next), PLG_ERANGE);
    assert_int_equal(plg_log_close(log), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync_failure_always, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_failure_flusher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_reserve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_copy_bounds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
