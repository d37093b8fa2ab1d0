/*
 * helpers.h — shared by the storage unit tests: a fresh temp directory per test, a fake clock,
 * deterministic batches built with the library builder, and file helpers.
 */
#ifndef PLG_TEST_STORAGE_HELPERS_H
#define PLG_TEST_STORAGE_HELPERS_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyralog/log.h"
#include "storage/batch.h"

static char dir[256];
static int64_t fake_now = 1700000000000LL;

__attribute__((unused)) static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

__attribute__((unused)) static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/plg-storage-unit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    fake_now = 1700000000000LL;
    return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

__attribute__((unused)) static void seg_path(char *out, size_t cap, int64_t base, const char *ext)
{
    snprintf(out, cap, "%s/%020lld.%s", dir, (long long)base, ext);
}

__attribute__((unused)) static int64_t file_len(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    return st.st_size;
}

/* Flips one bit of the byte at pos in file path. */
__attribute__((unused)) static void flip_bit(const char *path, int64_t pos, uint8_t mask)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, pos), 1);
    b ^= mask;
    assert_int_equal(pwrite(fd, &b, 1, pos), 1);
    close(fd);
}

/* A batch of n records "k<i % keys>" -> "v<tag>-<i>" padded to vsize bytes, timestamps ts+i. */
__attribute__((unused)) static uint8_t *make_batch(int n, int vsize, int64_t ts, int tag, int keys,
                                                   size_t *len)
{
    struct batch_builder bb;
    batch_builder_init(&bb, 0, ts);
    char key[32], val[70000];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "k%d", keys ? i % keys : i);
        int vl = snprintf(val, sizeof val, "v%d-%d", tag, i);
        for (; vl < vsize && vl < (int)sizeof val; vl++)
            val[vl] = (char)('a' + (vl % 26));
        assert_int_equal(batch_builder_add(&bb, ts + i, key, kl, val, vl, NULL, 0), 0);
    }
    uint8_t *out;
    assert_int_equal(batch_builder_finish(&bb, -1, &out, len), 0);
    batch_builder_destroy(&bb);
    return out;
}

__attribute__((unused)) static struct plg_log_options disk_opts(const struct plg_log_config *cfg)
{
    struct plg_log_options o = {0};
    o.config = cfg;
    o.create = true;
    o.clock_ms = fake_clock;
    return o;
}

#endif
