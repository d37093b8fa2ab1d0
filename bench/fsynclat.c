/*
 * fsynclat — the disk's raw durable-append latency, the floor for acks=all + fsync=always.
 *
 * usage: fsynclat [--mode append|overwrite] [--sync fdatasync|fsync] [--count N] [--bs BYTES]
 *                 [--max-seconds S] PATH
 *
 * Makes N pwrite calls of BS bytes at consecutive offsets of a fresh file at PATH, each followed
 * by fdatasync (or fsync), and times each write+sync pair with CLOCK_MONOTONIC (the method of
 * shared/reference/machine-baselines.md, "fsynclat MODE PATH 2000 BS"). `overwrite` first writes
 * and fsyncs the whole region, then overwrites it. Stops after --max-seconds (default 60).
 * The file is removed at the end. Prints one line of key=value pairs:
 *   fsynclat mode=append sync=fdatasync bs=4096 n=2000 p50_us=.. p90_us=.. p99_us=.. p999_us=..
 *   max_us=.. ops_per_s=..
 * Exit 0, or 1 with one line on stderr when a call fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, size_t n, double p)
{
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static int usage(void)
{
    fprintf(stderr, "usage: fsynclat [--mode append|overwrite] [--sync fdatasync|fsync] "
                    "[--count N] [--bs BYTES] [--max-seconds S] PATH\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *mode = "append", *sync_name = "fdatasync", *path = NULL;
    long count = 2000, bs = 4096;
    double max_s = 60.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && i + 1 >= argc)
            return usage();
        if (!strcmp(a, "--mode"))
            mode = argv[++i];
        else if (!strcmp(a, "--sync"))
            sync_name = argv[++i];
        else if (!strcmp(a, "--count"))
            count = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--bs"))
            bs = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--max-seconds"))
            max_s = atof(argv[++i]);
        else if (a[0] == '-')
            return usage();
        else
            path = a;
    }
    int overwrite = !strcmp(mode, "overwrite");
    int use_fsync = !strcmp(sync_name, "fsync");
    if (!path || count < 1 || count > 10000000 || bs < 1 || bs > (64 << 20) ||
        (!overwrite && strcmp(mode, "append")) || (!use_fsync && strcmp(sync_name, "fdatasync")))
        return usage();

    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "fsynclat: open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *block = malloc((size_t)bs);
    double *lat = malloc(sizeof(double) * (size_t)count);
    if (!block || !lat) {
        fprintf(stderr, "fsynclat: out of memory\n");
        return 1;
    }
    memset(block, 'x', (size_t)bs);
    int rc = 0;
    if (overwrite) {
        for (long i = 0; i < count && !rc; i++)
            if (pwrite(fd, block, (size_t)bs, (off_t)i * bs) != bs)
                rc = -1;
        if (!rc && fsync(fd))
            rc = -1;
        if (rc) {
            fprintf(stderr, "fsynclat: pre-write %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    long n = 0;
    double start = now_s();
    for (; n < count; n++) {
        double t0 = now_s();
        if (pwrite(fd, block, (size_t)bs, (off_t)n * bs) != bs) {
            fprintf(stderr, "fsynclat: pwrite %s: %s\n", path, strerror(errno));
            return 1;
        }
        if ((use_fsync ? fsync(fd) : fdatasync(fd)) != 0) {
            fprintf(stderr, "fsynclat: %s %s: %s\n", sync_name, path, strerror(errno));
            return 1;
        }
        double t1 = now_s();
        lat[n] = (t1 - t0) * 1e6;
        if (t1 - start > max_s) {
            n++;
            break;
        }
    }
    double elapsed = now_s() - start;
    close(fd);
    unlink(path);
    qsort(lat, (size_t)n, sizeof(double), cmp_double);
    printf("fsynclat mode=%s sync=%s bs=%ld n=%ld p50_us=%.0f p90_us=%.0f p99_us=%.0f "
           "p999_us=%.0f max_us=%.0f ops_per_s=%.0f\n",
           mode, sync_name, bs, n, pct(lat, (size_t)n, 50), pct(lat, (size_t)n, 90),
           pct(lat, (size_t)n, 99), pct(lat, (size_t)n, 99.9), lat[n - 1], (double)n / elapsed);
    free(block);
    free(lat);
    return 0;
}
