/* test_counter.c — the Obelisk sequencer on real files: values, leases, crash skip (reopen),
 * tamper detection, fault-injected I/O errors, overflow and name rules. */
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
#include <sys/vfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

#define EXT4_SUPER_MAGIC 0xEF53

#include "../tmpdir.h"

static off_t file_size(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s.obelisk", dir, name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

static void test_next_grows_file(void **state)
{
    (void)state;
    plg_obelisk_t *c;
    assert_int_equal(plg_obelisk_open(dir, "orders", NULL, &c), 0);
    uint64_t v;
    assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(plg_obelisk_next(c, 10, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
    assert_int_equal(v, 11);
    assert_int_equal(file_size("orders"), PLG_OBELISK_HEADER + 12);
    assert_int_equal(plg_obelisk_fsyncs(c), 3);
    assert_int_equal(plg_obelisk_next(c, 0, &v), PLG_EINVAL);
    plg_obelisk_close(c);
    /* Reopen: continues at the size. */
    assert_int_equal(plg_obelisk_open(dir, "orders", NULL, &c), 0);
    assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
    assert_int_equal(v, 12);
    plg_obelisk_close(c);
}

static void test_lease_one_fsync_and_skip(void **state)
{
    (void)state;
    struct plg_obelisk_opts o = {.lease = 100};
    plg_obelisk_t *c;
    assert_int_equal(plg_obelisk_open(dir, "leased", &o, &c), 0);
    uint64_t v, prev = 0;
    for (int i = 0; i < 250; i++) {
        assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
        if (i)
            assert_int_equal(v, prev + 1);
        prev = v;
    }
    assert_int_equal(plg_obelisk_fsyncs(c), 3); /* 250 values, leases of 100 */
    assert_int_equal(plg_obelisk_limit(c), 300);
    /* A request bigger than the lease gets exactly what it asks beyond the limit. */
    assert_int_equal(plg_obelisk_next(c, 1000, &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(plg_obelisk_limit(c), 1250);
    /* Same-process "crash": a second open is refused while the first holds the lock. */
    plg_obelisk_t *c2;
    assert_int_equal(plg_obelisk_open(dir, "leased", &o, &c2), -EBUSY);
    plg_obelisk_close(c); /* no clean-up on close: as if killed */
    assert_int_equal(plg_obelisk_open(dir, "leased", &o, &c), 0);
    assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
    assert_int_equal(v, 1250); /* unused lease values skipped, never repeated */
    plg_obelisk_close(c);
}

static void test_unit(void **state)
{
    (void)state;
    struct plg_obelisk_opts o = {.unit = 1000};
    plg_obelisk_t *c;
    assert_int_equal(plg_obelisk_open(dir, "big", &o, &c), 0);
    uint64_t v;
    assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(plg_obelisk_limit(c), 1000);
    assert_int_equal(plg_obelisk_next(c, 2500, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(file_size("big"), PLG_OBELISK_HEADER + 3);
    plg_obelisk_close(c);
    o.unit = 7;
    assert_int_equal(plg_obelisk_open(dir, "big", &o, &c), PLG_EINVAL);
    o.unit = 0; /* existing unit wins */
    assert_int_equal(plg_obelisk_open(dir, "big", &o, &c), 0);
    assert_int_equal(plg_obelisk_unit(c), 1000);
    assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
    assert_int_equal(v, 3000);
    plg_obelisk_close(c);
}

static void test_overflow(void **state)
{
    (void)state;
    struct plg_obelisk_opts o = {.unit = 1ULL << 40};
    plg_obelisk_t *c;
    assert_int_equal(plg_obelisk_open(dir, "ovf", &o, &c), 0);
    uint64_t v;
    assert_int_equal(plg_obelisk_next(c, UINT64_MAX - (1ULL << 41), &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(plg_obelisk_next(c, 1ULL << 42, &v), PLG_EOVERFLOW);
    assert_int_equal(plg_obelisk_next(c, UINT64_MAX, &v), PLG_EOVERFLOW);
    /* Still usable after an overflow refusal. */
    assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
    assert_int_equal(v, UINT64_MAX - (1ULL << 41));
    plg_obelisk_close(c);

    /* The file system's size limit (ext4: 2^44 - 4096 bytes) with unit 1. */
    struct statfs sf;
    assert_int_equal(statfs(dir, &sf), 0);
    if (sf.f_type == EXT4_SUPER_MAGIC) {
        assert_int_equal(plg_obelisk_open(dir, "fslimit", NULL, &c), 0);
        assert_int_equal(plg_obelisk_next(c, 1ULL << 45, &v), PLG_EOVERFLOW);
        assert_int_equal(plg_obelisk_next(c, 1, &v), 0);
        assert_int_equal(v, 0);
        plg_obelisk_close(c);
    }
}

static void test_tamper(void **state)
{
    (void)state;
    plg_obelisk_t *c;
    uint64_t v;
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/t1.obelisk", dir);
    /* Shrunk by hand. */
    assert_int_equal(plg_obelisk_open(dir, "t1", NULL, &c), 0);
    assert_int_equal(plg_obelisk_next(c, 100, &v), 0);
    assert_int_equal(truncate(p, PLG_OBELISK_HEADER + 10), 0);
    assert_int_equal(plg_obelisk_next(c, 1, &v), PLG_ETAMPERED);
    assert_int_equal(plg_obelisk_next(c, 1, &v), PLG_ETAMPERED); /* sticky */
    plg_obelisk_close(c);
    /* Replaced by another file. */
    assert_int_equal(plg_obelisk_open(dir, "t1", NULL, &c), 0);
    snprintf(q, sizeof q, "%s/other", dir);
    int fd = open(q, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(rename(q, p), 0);
    assert_int_equal(plg_obelisk_next(c, 1, &v), PLG_ETAMPERED);
    plg_obelisk_close(c);
    /* The replacement is not a counter file. */
    assert_int_equal(plg_obelisk_open(dir, "t1", NULL, &c), PLG_ECORRUPT);
    /* Deleted. */
    assert_int_equal(plg_obelisk_open(dir, "t2", NULL, &c), 0);
    snprintf(p, sizeof p, "%s/t2.obelisk", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(plg_obelisk_next(c, 1, &v), PLG_ETAMPERED);
    plg_obelisk_close(c);
    /* A corrupted header. */
    assert_int_equal(plg_obelisk_open(dir, "t3", NULL, &c), 0);
    plg_obelisk_close(c);
    snprintf(p, sizeof p, "%s/t3.obelisk", dir);
    fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, "X", 1, 9), 1);
    close(fd);
    assert_int_equal(plg_obelisk_open(dir, "t3", NULL, &c), PLG_ECORRUPT);
}

struct fault {
    int truncate_err;
    int fsync_err;
    int calls;
};

static int f_truncate(void *ctx, int fd, off_t len)
{
    struct fault *f = ctx;
    f->calls++;
    if (f->truncate_err)
        return f->truncate_err;
    return ftruncate(fd, len) ? -errno : 0;
}

static int f_fsync(void *ctx, int fd)
{
    struct fault *f = ctx;
    if (f->fsync_err)
        return f->fsync_err;
    return fsync(fd) ? -errno : 0;
}

static void test_io_errors(void **state)
{
    (void)state;
    struct fault f = {0};
    struct plg_obelisk_io io = {f_truncate, f_fsync, &f};
    struct plg_obelisk_opts o = {.lease = 10, .io = &io};
    plg_obelisk_t *c;
    uint64_t v;
    assert_int_equal(plg_obelisk_open(dir, "faulty", &o, &c), 0);
    assert_int_equal(plg_obelisk_next(c, 5, &v), 0);
    f.truncate_err = -EROFS;
    assert_int_equal(plg_obelisk_next(c, 5, &v), 0); /* inside the lease: no I/O */
    assert_int_equal(v, 5);
    assert_int_equal(plg_obelisk_next(c, 1, &v), -EROFS);
    assert_int_equal(plg_obelisk_next(c, 1, &v), -EROFS);
    assert_string_equal(plg_strerror(-EROFS), "Read-only file system");
    plg_obelisk_close(c);

    f.truncate_err = 0;
    assert_int_equal(plg_obelisk_open(dir, "faulty", &o, &c), 0);
    f.fsync_err = -ENOSPC;
    assert_int_equal(plg_obelisk_next(c, 1, &v), -ENOSPC);
    plg_obelisk_close(c);
    /* A failed fsync may still have grown the file: the values are skipped, not reused. */
    f.fsync_err = 0;
    assert_int_equal(plg_obelisk_open(dir, "faulty", &o, &c), 0);
    assert_true(plg_obelisk_next(c, 1, &v) == 0 && v >= 10);
    plg_obelisk_close(c);
    /* Creating a counter on a failing disk. */
    f.fsync_err = -EIO;
    assert_int_equal(plg_obelisk_open(dir, "newfaulty", &o, &c), -EIO);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(plg_obelisk_name_check("orders-2025_v1.x"), 0);
    const char *bad[] = {"", ".", "..", ".hidden", "a/b", "../x", "a b", "é", "a\n", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(plg_obelisk_name_check(bad[i]), PLG_EINVAL);
    char longname[PLG_OBELISK_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(plg_obelisk_name_check(longname), PLG_EINVAL);
    longname[PLG_OBELISK_NAME_MAX] = 0;
    assert_int_equal(plg_obelisk_name_check(longname), 0);
    plg_obelisk_t *c;
    assert_int_equal(plg_obelisk_open(dir, "../escape", NULL, &c), PLG_EINVAL);
    assert_int_equal(plg_obelisk_open("/nonexistent-dir-xyz", "x", NULL, &c), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_next_grows_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_one_fsync_and_skip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
