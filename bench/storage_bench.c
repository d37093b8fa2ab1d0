/*
 * storage_bench.c — partition log benchmark, with the disk's own limits measured in the same run.
 *
 *   storage_bench [--dir DIR] [--seconds S] [--quick] [--recovery-mib N]
 *
 * Prints one line per case (key=value, easy to grep):
 *   raw:      sequential write bandwidth (1 MiB pwrite blocks + one fdatasync) and 4 KiB
 *             append + fdatasync latency (p50/p99) of the same directory;
 *   append:   record size {100 B, 1 KiB} x records per batch {1, 16, 1000} x fsync policy
 *             {never, interval:5, always}: appends/s, MB/s, p50/p99 append latency;
 *   read:     full scan with plg_log_read + pread (copying reader) and through the mapping;
 *   recovery: plg_log_open of a log with N MiB in sealed segments (default 1024).
 * Each append case runs for --seconds (default 1) or 512 MiB, whichever comes first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "pyralog/log.h"
#include "storage/batch.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_d);
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i];
}

static void rm_rf(const char *path)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "storage_bench: could not remove %s\n", path);
}

static uint8_t *make_batch(int nrec, int rsize, size_t *len)
{
    struct batch_builder bb;
    batch_builder_init(&bb, 0, 1700000000000LL);
    uint8_t *val = malloc((size_t)rsize);
    for (int i = 0; i < rsize; i++)
        val[i] = (uint8_t)('a' + i % 26);
    for (int i = 0; i < nrec; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "%d", i);
        if (batch_builder_add(&bb, 1700000000000LL + i, key, kl, val, rsize, NULL, 0))
            abort();
    }
    uint8_t *out;
    if (batch_builder_finish(&bb, -1, &out, len))
        abort();
    batch_builder_destroy(&bb);
    free(val);
    return out;
}

/* 4 KiB append + fdatasync latency of a fresh file in dir (n appends). */
static void raw_fsync(const char *dir, const char *when)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/raw-sync.bin", dir);
    uint8_t b[4096];
    memset(b, 0x5a, sizeof b);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) {
        perror("open");
        exit(1);
    }
    enum { N = 1000 };
    static double lat[N];
    for (int i = 0; i < N; i++) {
        double a = now_s();
        if (pwrite(fd, b, 4096, (off_t)i * 4096) != 4096 || fdatasync(fd) != 0)
            abort();
        lat[i] = now_s() - a;
    }
    close(fd);
    unlink(path);
    printf("raw append4k_fdatasync_p50_us=%.0f p99_us=%.0f (n=%d, %s)\n", pct(lat, N, 0.5) * 1e6,
           pct(lat, N, 0.99) * 1e6, N, when);
}

static void raw_disk(const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/raw.bin", dir);
    size_t blk = 1 << 20, total = 512u << 20;
    uint8_t *b = malloc(blk);
    memset(b, 0x5a, blk);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) {
        perror("open");
        exit(1);
    }
    double t0 = now_s();
    for (size_t off = 0; off < total; off += blk) {
        if (pwrite(fd, b, blk, (off_t)off) != (ssize_t)blk)
            abort();
    }
    fdatasync(fd);
    double t = now_s() - t0;
    close(fd);
    unlink(path);
    printf("raw seq_write_MBps=%.0f (512 MiB, 1 MiB pwrite, fdatasync at end)\n",
           (double)total / t / 1e6);

    raw_fsync(dir, "start of run");
    free(b);
}

struct durable_wait {
    volatile int64_t last;
};

static void on_durable(void *ctx, int64_t off)
{
    ((struct durable_wait *)ctx)->last = off;
}

static void append_case(const char *dir, int rsize, int nrec, const char *policy, double secs)
{
    char ldir[1100];
    snprintf(ldir, sizeof ldir, "%s/append", dir);
    rm_rf(ldir);
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.max_message_bytes = 64 << 20;
    c.retention_ms = -1;
    plg_log_config_set(&c, "fsync", policy);
    struct durable_wait dw = {0};
    struct plg_log_options o = {
        .config = &c, .create = true, .on_durable = on_durable, .durable_ctx = &dw};
    plg_log_t *log;
    int rc = plg_log_open(ldir, &o, &log, NULL);
    if (rc) {
        fprintf(stderr, "open: %s\n", plg_strerror(rc));
        exit(1);
    }
    size_t len;
    uint8_t *b = make_batch(nrec, rsize, &len);
    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    size_t bytes = 0, limit = 512u << 20;
    double t0 = now_s(), t;
    while ((t = now_s()) - t0 < secs && bytes < limit && n < cap) {
        rc = plg_log_append(log, b, len, NULL);
        double t1 = now_s();
        if (rc) {
            fprintf(stderr, "append: %s\n", plg_strerror(rc));
            exit(1);
        }
        lat[n++] = t1 - t;
        bytes += len;
    }
    /* Interval: count the time until the last append is durable. */
    if (c.fsync_policy == PLG_FSYNC_INTERVAL)
        while (plg_log_durable_offset(log) < plg_log_end_offset(log))
            usleep(100);
    double el = now_s() - t0;
    printf("append record_B=%d records_per_batch=%d fsync=%s batches_per_s=%.0f "
           "records_per_s=%.0f MBps=%.1f p50_us=%.1f p99_us=%.1f (n=%zu)\n",
           rsize, nrec, policy, (double)n / el, (double)n * nrec / el, (double)bytes / el / 1e6,
           pct(lat, n, 0.5) * 1e6, pct(lat, n, 0.99) * 1e6, n);
    plg_log_close(log);
    free(lat);
    free(b);
}

static void read_case(const char *dir)
{
    char ldir[1100];
    snprintf(ldir, sizeof ldir, "%s/append", dir);
    struct plg_log_options o = {0};
    plg_log_t *log;
    if (plg_log_open(ldir, &o, &log, NULL))
        exit(1);
    uint8_t *buf = malloc(1 << 20);
    for (int mode = 0; mode < 2; mode++) {
        double t0 = now_s();
        size_t bytes = 0;
        uint32_t crc = 0;
        int64_t at = plg_log_start_offset(log);
        while (at < plg_log_end_offset(log)) {
            struct plg_log_slice s;
            if (plg_log_read(log, at, 1 << 20, &s) || s.len == 0)
                break;
            if (mode == 0) {
                /* A copying reader (what a fetch without sendfile does). */
                for (size_t off = 0; off < s.len;) {
                    size_t k = s.len - off < (1u << 20) ? s.len - off : 1u << 20;
                    if (pread(s.fd, buf, k, s.pos + (off_t)off) != (ssize_t)k)
                        abort();
                    off += k;
                }
            } else {
                crc = crc32c(crc, s.data, s.len); /* touch every byte through the mapping */
            }
            bytes += s.len;
            at = s.next_offset;
            plg_log_slice_release(&s);
        }
        double el = now_s() - t0;
        printf("read mode=%s MB=%.0f MBps=%.0f\n", mode ? "mmap+crc32c" : "pread",
               (double)bytes / 1e6, (double)bytes / el / 1e6);
        (void)crc;
    }
    free(buf);
    plg_log_close(log);
}

static void recovery_case(const char *dir, int mib)
{
    char ldir[1100];
    snprintf(ldir, sizeof ldir, "%s/recovery", dir);
    rm_rf(ldir);
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.segment_bytes = 128 << 20;
    c.fsync_policy = PLG_FSYNC_NEVER;
    c.retention_ms = -1;
    struct plg_log_options o = {.config = &c, .create = true};
    plg_log_t *log;
    if (plg_log_open(ldir, &o, &log, NULL))
        exit(1);
    size_t len;
    uint8_t *b = make_batch(1000, 1024, &len);
    while (plg_log_size_bytes(log) < (int64_t)mib << 20) {
        if (plg_log_append(log, b, len, NULL))
            exit(1);
    }
    /* Leave a small active segment, as after a restart in steady state. */
    plg_log_roll(log);
    for (int i = 0; i < 4; i++)
        plg_log_append(log, b, len, NULL);
    int64_t size = plg_log_size_bytes(log);
    int32_t segs = plg_log_segment_count(log);
    plg_log_close(log);
    enum { RUNS = 5 };
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        struct plg_log_recovery rec;
        double t0 = now_s();
        if (plg_log_open(ldir, &o, &log, &rec))
            exit(1);
        t[r] = now_s() - t0;
        plg_log_close(log);
    }
    printf("recovery log_MiB=%lld segments=%d open_ms_median=%.2f open_ms_max=%.2f (runs=%d)\n",
           (long long)(size >> 20), segs, pct(t, RUNS, 0.5) * 1e3, pct(t, RUNS, 1.0) * 1e3, RUNS);
    free(b);
    rm_rf(ldir);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    double secs = 1.0;
    int quick = 0, rec_mib = 1024;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            secs = atof(argv[++i]);
        else if (strcmp(argv[i], "--recovery-mib") == 0 && i + 1 < argc)
            rec_mib = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else {
            fprintf(stderr, "usage: storage_bench [--dir DIR] [--seconds S] [--quick] "
                            "[--recovery-mib N]\n");
            return 2;
        }
    }
    char tmpl[] = "/tmp/plg-storage-bench-XXXXXX";
    char base[1024];
    if (dir) {
        snprintf(base, sizeof base, "%s", dir);
    } else {
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(base, sizeof base, "%s", tmpl);
    }
    if (quick) {
        secs = 0.2;
        rec_mib = 64;
    }
    raw_disk(base);
    static const char *const policies[] = {"never", "interval:5", "always"};
    static const int rsizes[] = {100, 1024};
    static const int nrecs[] = {1, 16, 1000};
    for (int p = 0; p < 3; p++) {
        if (p == 2)
            raw_fsync(base, "just before the fsync=always cases");
        for (int r = 0; r < 2; r++)
            for (int k = 0; k < 3; k++)
                append_case(base, rsizes[r], nrecs[k], policies[p], secs);
    }
    /* Read back the last "never"-style log: re-run the largest case without sync first. */
    append_case(base, 1024, 1000, "never", secs);
    read_case(base);
    recovery_case(base, rec_mib);
    if (!dir)
        rm_rf(base);
    return 0;
}
