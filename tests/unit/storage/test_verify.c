/*
 * test_verify.c — plg_log_verify_dir: a clean log passes; a flipped byte, a torn tail, a missing
 * segment, swapped segments and a wrong index entry are each reported with the segment and the
 * first untrustworthy offset; nothing is modified.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"

enum { N = 80 };
static int64_t bases[N]; /* batch base offsets */
static int64_t segs[64];
static int nsegs;

/* A closed log of N batches of 3 records in small segments; records segment bases. */
static void build(void)
{
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.segment_bytes = 2048;
    c.index_interval_bytes = 200;
    c.fsync_policy = PLG_FSYNC_NEVER;
    struct plg_log_options o = disk_opts(&c);
    plg_log_t *log;
    assert_int_equal(plg_log_open(dir, &o, &log, NULL), 0);
    nsegs = 0;
    for (int i = 0; i < N; i++) {
        size_t len;
        uint8_t *b = make_batch(3, 40, 1000 + i, i, 0, &len);
        int32_t before = plg_log_segment_count(log);
        struct plg_append_info info;
        assert_int_equal(plg_log_append(log, b, len, &info), 0);
        if (i == 0 || plg_log_segment_count(log) != before)
            segs[nsegs++] = info.base_offset;
        bases[i] = info.base_offset;
        free(b);
    }
    assert_true(nsegs >= 5);
    assert_int_equal(plg_log_close(log), 0);
}

static void test_clean(void **state)
{
    (void)state;
    build();
    struct plg_log_problem pr;
    int64_t recs;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, &recs), 0);
    assert_int_equal(recs, 3 * N);
    assert_int_equal(pr.code, 0);
}

static void damage(int64_t seg, const char *ext, int64_t pos)
{
    char p[512];
    seg_path(p, sizeof p, seg, ext);
    flip_bit(p, pos, 0x01);
}

static void test_flipped_record(void **state)
{
    (void)state;
    build();
    char p[512];
    seg_path(p, sizeof p, segs[2], "log");
    int64_t size = file_len(p);
    /* The second batch of segment 2: its first byte is right after the first batch. */
    int k = 0;
    while (bases[k] != segs[2])
        k++;
    struct plg_log_problem pr;
    /* first batch length: 12 + batchLength */
    int fd = open(p, O_RDONLY);
    uint8_t hdr[12];
    assert_int_equal(pread(fd, hdr, 12, 0), 12);
    close(fd);
    int64_t first_len = 12 + be32_get(hdr + 8);
    damage(segs[2], "log", first_len + 100);
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), PLG_ECORRUPT);
    assert_int_equal(pr.segment_base, segs[2]);
    assert_int_equal(pr.offset, bases[k + 1]);
    assert_int_equal(pr.position, first_len);
    assert_non_null(strstr(pr.what, ".log"));
    assert_int_equal(file_len(p), size); /* nothing modified */
}

static void test_torn_tail(void **state)
{
    (void)state;
    build();
    char p[512];
    seg_path(p, sizeof p, segs[nsegs - 1], "log");
    assert_int_equal(truncate(p, file_len(p) - 5), 0);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), PLG_ETRUNC);
    assert_int_equal(pr.segment_base, segs[nsegs - 1]);
    assert_int_equal(pr.offset, bases[N - 1]);
}

static void test_missing_segment(void **state)
{
    (void)state;
    build();
    char p[512];
    seg_path(p, sizeof p, segs[1], "log");
    assert_int_equal(unlink(p), 0);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), PLG_ECORRUPT);
    assert_int_equal(pr.offset, segs[1]); /* the first missing offset */
    assert_int_equal(pr.segment_base, segs[2]);
    assert_non_null(strstr(pr.what, "missing"));
    /* Gaps may be allowed (logs written by plg_log_append_at). */
    assert_int_equal(plg_log_verify_dir(dir, PLG_VERIFY_ALLOW_GAPS, &pr, NULL), 0);
}

static void test_swapped_segments(void **state)
{
    (void)state;
    build();
    char a[512], b[512], t[512];
    seg_path(a, sizeof a, segs[1], "log");
    seg_path(b, sizeof b, segs[3], "log");
    snprintf(t, sizeof t, "%s/tmp", dir);
    assert_int_equal(rename(a, t), 0);
    assert_int_equal(rename(b, a), 0);
    assert_int_equal(rename(t, b), 0);
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), PLG_ECORRUPT);
    assert_int_equal(pr.segment_base, segs[1]);
    assert_int_equal(pr.offset, segs[1]);
}

static void test_bad_index_entries(void **state)
{
    (void)state;
    build();
    char p[512];
    seg_path(p, sizeof p, segs[0], "index");
    assert_true(file_len(p) >= 8);
    damage(segs[0], "index", 7); /* position of entry 0 off by one */
    struct plg_log_problem pr;
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), PLG_ECORRUPT);
    assert_int_equal(pr.segment_base, segs[0]);
    assert_int_equal(pr.position, 0);
    assert_non_null(strstr(pr.what, ".index"));
    damage(segs[0], "index", 7);
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), 0);
    /* A time entry claiming an earlier time than its records. */
    seg_path(p, sizeof p, segs[1], "timeindex");
    assert_true(file_len(p) >= 12);
    damage(segs[1], "timeindex", 7);
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), PLG_ECORRUPT);
    assert_non_null(strstr(pr.what, ".timeindex"));
    /* Missing index files are derived data: fine. */
    damage(segs[1], "timeindex", 7);
    assert_int_equal(unlink(p), 0);
    seg_path(p, sizeof p, segs[2], "index");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(plg_log_verify_dir(dir, 0, &pr, NULL), 0);
    /* No such directory. */
    assert_int_equal(plg_log_verify_dir("/nonexistent/plg", 0, &pr, NULL), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_index_entries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
