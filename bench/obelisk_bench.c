/*
 * obelisk_bench.c — in-process benchmark of the Obelisk sequencer and Scarab IDs.
 *
 * usage: obelisk_bench DIR [SECONDS]
 *
 * Rows (values/s, fsyncs, fsyncs per lease):
 *   raw ftruncate(size+1) + fsync, no library (the machine's floor in this run)
 *   counter next(1)    lease 1     (one ftruncate + fsync per call)
 *   counter next(1000) lease 1     (one ftruncate + fsync per call, 1000 values each)
 *   counter next(1)    lease 1000  (one fsync per 1000 values)
 *   counter next(1000) lease 1e6   (one fsync per 1000 calls)
 *   scarab next()      one ID per call
 *   scarab next_n(1000)
 *   scarab next()      with the 4096/ms ceiling lifted (the generator's own per-call cost)
 * Each row runs for SECONDS (default 2) on real files in DIR. Output is one line per row,
 * "name=... values_per_s=... fsyncs=... values=..." so scripts can pick it up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int counter_row(const char *dir, const char *name, uint64_t n, uint64_t lease, double secs)
{
    struct plg_obelisk_opts o = {.lease = lease};
    plg_obelisk_t *c;
    int rc = plg_obelisk_open(dir, name, &o, &c);
    if (rc) {
        fprintf(stderr, "open %s/%s: %s\n", dir, name, plg_strerror(rc));
        return 1;
    }
    uint64_t values = 0, first;
    double t0 = now_s(), el = 0;
    uint64_t f0 = plg_obelisk_fsyncs(c);
    do {
        for (int i = 0; i < 64; i++) {
            if ((rc = plg_obelisk_next(c, n, &first))) {
                fprintf(stderr, "next: %s\n", plg_strerror(rc));
                return 1;
            }
            values += n;
        }
    } while ((el = now_s() - t0) < secs);
    uint64_t fs = plg_obelisk_fsyncs(c) - f0;
    uint64_t leases = lease > n ? (values + lease - 1) / lease : values / n;
    printf("name=counter_next%" PRIu64 "_lease%" PRIu64 " values_per_s=%.0f values=%" PRIu64
           " fsyncs=%" PRIu64 " leases=%" PRIu64 " fsyncs_per_lease=%.3f us_per_call=%.3f\n",
           n, lease, values / el, values, fs, leases, leases ? (double)fs / leases : 0.0,
           el * 1e6 / (values / n));
    plg_obelisk_close(c);
    return fs > leases + 1; /* more than one fsync per lease is a failure */
}

/* The raw cost on this machine in this run: one ftruncate(size+1) + fsync per op, no library. */
static void raw_row(const char *dir, double secs)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/raw-ftruncate", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    uint64_t n = 0;
    double t0 = now_s(), el = 0;
    do {
        if (ftruncate(fd, (off_t)++n) || fsync(fd))
            break;
    } while ((el = now_s() - t0) < secs);
    printf("name=raw_ftruncate_fsync ops_per_s=%.0f ops=%" PRIu64 " us_per_op=%.1f\n", n / el, n,
           el * 1e6 / n);
    close(fd);
}

/* One row of plg_scarab_next(), one ID per call for `secs`; IDs must strictly increase from
 * *prev (updated to the last one). 0, or 1 on an error or a non-increasing ID. */
static int scarab_next_row(plg_scarab_t *g, const char *name, double secs, uint64_t *prev)
{
    uint64_t n = 0, id;
    double t0 = now_s(), el;
    do {
        for (int i = 0; i < 4096; i++) {
            if (plg_scarab_next(g, &id) || id <= *prev)
                return 1;
            *prev = id;
        }
        n += 4096;
    } while ((el = now_s() - t0) < secs);
    printf("name=%s values_per_s=%.0f values=%" PRIu64 " ns_per_id=%.1f\n", name, n / el, n,
           el * 1e9 / n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: obelisk_bench DIR [SECONDS]\n");
        return 2;
    }
    const char *dir = argv[1];
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    int bad = 0;
    raw_row(dir, secs);
    bad |= counter_row(dir, "b1", 1, 1, secs);
    bad |= counter_row(dir, "b1000", 1000, 1, secs);
    bad |= counter_row(dir, "l1", 1, 1000, secs);
    bad |= counter_row(dir, "l1000", 1000, 1000000, secs);

    struct plg_scarab_opts so = {.node_id = 1};
    plg_scarab_t *g;
    int rc = plg_scarab_open(dir, &so, &g);
    if (rc) {
        fprintf(stderr, "scarab: %s\n", plg_strerror(rc));
        return 1;
    }
    uint64_t prev = 0;
    if (scarab_next_row(g, "scarab_next", secs, &prev))
        return 1;
    static uint64_t ids[1000];
    uint64_t n = 0;
    double t0 = now_s(), el;
    do {
        if (plg_scarab_next_n(g, ids, 1000) || ids[0] <= prev)
            return 1;
        prev = ids[999];
        n += 1000;
    } while ((el = now_s() - t0) < secs);
    printf("name=scarab_next_n1000 values_per_s=%.0f values=%" PRIu64 " ns_per_id=%.1f\n", n / el,
           n, el * 1e9 / n);
    plg_scarab_close(g);

    /* The generator's own per-call cost, with the 4096/ms ceiling lifted (lead of 2^30 ms): how
     * much headroom the capped rows have. IDs then run ahead of real time; bench only. */
    struct plg_scarab_opts uo = {.node_id = 2, .max_lead_ms = 1ULL << 30};
    char udir[4096];
    snprintf(udir, sizeof udir, "%s/uncapped", dir);
    mkdir(udir, 0755);
    if ((rc = plg_scarab_open(udir, &uo, &g)))
        return 1;
    prev = 0;
    if (scarab_next_row(g, "scarab_next_uncapped", secs, &prev))
        return 1;
    plg_scarab_close(g);
    return bad;
}
