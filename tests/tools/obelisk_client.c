/*
 * obelisk_client.c — load client for Pharaoh Network tests and benchmarks.
 *
 * usage: obelisk_client NODES SECONDS BATCH [--out FILE] [--seq NAME] [--warmup SECONDS]
 *                       [--pause-ms MS] [--lat 1] [--seq-load NAME]
 *
 * Takes Scarab IDs in batches of BATCH from the Obelisk nodes NODES (as for --obelisk) through
 * the libpyralog client for SECONDS, writing every ID as 8 raw native-endian bytes to FILE when
 * given. SECONDS 0 means until SIGTERM. Prints one line: "ids=N requests=R errors=E
 * ids_per_s=X". Exit 1 when an error was not recovered by failover (the client returned an
 * error).
 *
 * --pause-ms MS sleeps that long after each call (tests: bounds how many IDs a client with a
 * large batch takes). A batch of 8192 or more is spread over several nodes at once by the
 * client library (plg_pharaoh_ids).
 * --lat 1 adds the call latency percentiles (p50_us p99_us max_us) to the result line.
 * --seq-load NAME takes BATCH values of sequence NAME per call instead of IDs ("values=N calls=C
 * values_per_s=X"): with a node started with --seq-lease 1 every call costs the node one fsync,
 * the load that shows whether a node's fsyncs hold up other clients' requests.
 * --warmup W first takes IDs for W seconds that are not counted (benchmarks: a node may issue
 * up to max_lead_ms of IDs ahead of real time at start; the measured window is the steady state).
 *
 * With --seq NAME it alternates: BATCH IDs, then 1-20 values of sequence NAME, and writes
 * records of three u64 (kind 1 = ID: value, 1; kind 2 = sequence: first, count), stopping at the
 * first error (exit 3: for crash tests that kill the node under it).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: obelisk_client NODES SECONDS BATCH [--out FILE]\n");
        return 2;
    }
    double secs = atof(argv[2]);
    size_t batch = (size_t)strtoul(argv[3], NULL, 10);
    FILE *out = NULL;
    const char *seq = NULL;
    double warmup = 0;
    long pause_ms = 0;
    int want_lat = 0;
    const char *seq_load = NULL;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--warmup"))
            warmup = atof(argv[i + 1]);
        if (!strcmp(argv[i], "--pause-ms"))
            pause_ms = atol(argv[i + 1]);
        if (!strcmp(argv[i], "--lat"))
            want_lat = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--seq-load"))
            seq_load = argv[i + 1];
        if (!strcmp(argv[i], "--out") && !(out = fopen(argv[i + 1], "wb"))) {
            perror(argv[i + 1]);
            return 2;
        }
        if (!strcmp(argv[i], "--seq"))
            seq = argv[i + 1];
    }
    if (batch == 0 || batch > 1000000)
        return 2;
    plg_pharaoh_t *p;
    int rc = plg_pharaoh_open(argv[1], 1000, &p);
    if (rc) {
        fprintf(stderr, "obelisk_client: %s: %s\n", argv[1], plg_strerror(rc));
        return 2;
    }
    uint64_t *ids = malloc(batch * sizeof *ids);
    uint64_t total = 0, reqs = 0, errors = 0;
    double t0 = now_s(), t;
    if (seq) {
        unsigned r = (unsigned)getpid();
        while (now_s() - t0 < secs) {
            if (plg_pharaoh_ids(p, ids, batch))
                break;
            for (size_t i = 0; i < batch; i++) {
                uint64_t rec[3] = {1, ids[i], 1};
                fwrite(rec, sizeof rec, 1, out);
            }
            uint64_t first, cnt = 1 + rand_r(&r) % 20;
            if (plg_pharaoh_seq(p, seq, cnt, &first))
                break;
            uint64_t rec[3] = {2, first, cnt};
            fwrite(rec, sizeof rec, 1, out);
            fflush(out); /* the record is out before the next request */
            total++;
        }
        printf("rounds=%" PRIu64 " last_error=\"%s\"\n", total, plg_pharaoh_errmsg(p));
        fclose(out);
        free(ids);
        plg_pharaoh_close(p);
        return now_s() - t0 < secs ? 3 : 0;
    }
    if (seq_load) {
        uint64_t first, calls = 0;
        while (now_s() - t0 < secs) {
            if ((rc = plg_pharaoh_seq(p, seq_load, batch, &first))) {
                fprintf(stderr, "obelisk_client: %s\n", plg_pharaoh_errmsg(p));
                break;
            }
            calls++;
        }
        double el = now_s() - t0;
        printf("values=%" PRIu64 " calls=%" PRIu64 " values_per_s=%.0f\n", calls * batch, calls,
               calls * batch / (el > 0 ? el : 1));
        free(ids);
        plg_pharaoh_close(p);
        return rc ? 1 : 0;
    }
    if (secs <= 0) {
        secs = 1e9;
        signal(SIGTERM, on_term);
    }
    double *lat = NULL;
    size_t nlat = 0, cap_lat = 0;
    while (now_s() - t0 < warmup) {
        if ((rc = plg_pharaoh_ids(p, ids, batch))) {
            fprintf(stderr, "obelisk_client: warm-up: %s\n", plg_pharaoh_errmsg(p));
            free(ids);
            plg_pharaoh_close(p);
            return 1;
        }
        if (out)
            fwrite(ids, sizeof *ids, batch, out);
    }
    t0 = now_s();
    while ((t = now_s()) - t0 < secs && !stop) {
        rc = plg_pharaoh_ids(p, ids, batch);
        reqs++;
        if (want_lat && nlat < (1u << 22)) {
            if (nlat == cap_lat) {
                cap_lat = cap_lat ? cap_lat * 2 : 4096;
                double *n = realloc(lat, cap_lat * sizeof *n);
                if (!n)
                    return 2;
                lat = n;
            }
            lat[nlat++] = now_s() - t;
        }
        if (rc) {
            errors++;
            fprintf(stderr, "obelisk_client: %s\n", plg_pharaoh_errmsg(p));
            break;
        }
        total += batch;
        if (out)
            fwrite(ids, sizeof *ids, batch, out);
        if (pause_ms > 0) {
            struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    double el = now_s() - t0;
    printf("ids=%" PRIu64 " requests=%" PRIu64 " errors=%" PRIu64 " ids_per_s=%.0f", total, reqs,
           errors, total / (el > 0 ? el : 1));
    if (nlat) {
        qsort(lat, nlat, sizeof *lat, cmp_double);
        printf(" p50_us=%.0f p99_us=%.0f max_us=%.0f", lat[nlat / 2] * 1e6,
               lat[nlat * 99 / 100] * 1e6, lat[nlat - 1] * 1e6);
    }
    printf("\n");
    free(lat);
    if (out)
        fclose(out);
    free(ids);
    plg_pharaoh_close(p);
    return errors ? 1 : 0;
}
