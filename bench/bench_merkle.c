/*
 * bench_merkle — costs of the verifiable log, in process, one thread:
 *   1. leaf hashing: 100-byte records' leaves one at a time (b3_hash) vs b3_hash_each;
 *   2. log append throughput (100-byte records, batches of 100, fsync never, on disk) with the
 *      per-partition Merkle tree hooked in vs without — the tree's share of the produce path;
 *   3. proof latency on the resulting file-backed tree: root, inclusion and consistency proofs.
 * usage: bench_merkle [--records N] [--rounds R] [--dir DIR]
 * Rows with and without the tree alternate R times; the best and median of each are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/blake3.h"
#include "crypto/merkle.h"
#include "crypto/ptree.h"
#include "pyralog/log.h"
#include "storage/batch.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Appends `records` 100-byte records in batches of 100; returns records/s. */
static double run_append(const char *dir, long records, bool tree, struct ptree **keep)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd))
        exit(1);
    struct plg_log_config cfg;
    plg_log_config_init(&cfg);
    plg_log_config_set(&cfg, "fsync", "never");
    plg_log_config_set(&cfg, "segment.bytes", "67108864");
    struct plg_log_options o = {.config = &cfg, .create = true};
    plg_log_t *log;
    if (plg_log_open(dir, &o, &log, NULL))
        exit(1);
    struct ptree *t = NULL;
    if (tree) {
        struct plg_log_hooks h;
        if (ptree_open(dir, log, &t, NULL))
            exit(1);
        ptree_hooks(t, &h);
        plg_log_set_hooks(log, &h);
    }
    /* One template batch, re-appended (the log patches the base offset in place). */
    struct batch_builder bb;
    uint8_t value[100], *p;
    size_t len;
    memset(value, 'v', sizeof value);
    batch_builder_init(&bb, 0, 1764000000000);
    for (int i = 0; i < 100; i++) {
        value[0] = (uint8_t)i;
        batch_builder_add(&bb, 1764000000000 + i, NULL, -1, value, 100, NULL, 0);
    }
    batch_builder_finish(&bb, -1, &p, &len);
    batch_builder_destroy(&bb);
    double t0 = now();
    for (long n = 0; n < records; n += 100)
        if (plg_log_append(log, p, len, NULL))
            exit(1);
    double dt = now() - t0;
    free(p);
    plg_log_set_hooks(log, NULL);
    if (keep && t) {
        *keep = t; /* caller closes; the log is closed here, the tree files stay readable */
    } else {
        ptree_close(t);
    }
    plg_log_close(log);
    return (double)records / dt;
}

int main(int argc, char **argv)
{
    long records = 1000000;
    int rounds = 3;
    const char *dir = "/tmp/pyralog-bench-merkle";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--records"))
            records = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
    }
    printf("blake3 impl=%s\n", b3_impl_name(b3_get_impl()));

    /* 1. Leaves: 1 + 8 + 8 + 4 + 4 + 100 + 4 = 129 bytes each. */
    enum { N = 4096, LEAF = 129 };
    uint8_t *in = malloc(N * LEAF), *out = malloc(N * 32);
    const uint8_t *ptrs[N];
    size_t lens[N];
    for (int i = 0; i < N * LEAF; i++)
        in[i] = (uint8_t)(i * 7);
    for (int i = 0; i < N; i++)
        ptrs[i] = in + i * LEAF, lens[i] = LEAF;
    double best_one = 0, best_many = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        long n = 0;
        while (now() - t0 < 0.5) {
            for (int i = 0; i < N; i++)
                b3_hash(ptrs[i], LEAF, out + 32 * i);
            n += N;
        }
        double a = (double)n / (now() - t0);
        t0 = now();
        n = 0;
        while (now() - t0 < 0.5) {
            b3_hash_each(ptrs, lens, N, out);
            n += N;
        }
        double b = (double)n / (now() - t0);
        best_one = a > best_one ? a : best_one;
        best_many = b > best_many ? b : best_many;
    }
    printf("leaves one-at-a-time: %.0f leaves/s; b3_hash_each: %.0f leaves/s (best of %d)\n",
           best_one, best_many, rounds);

    /* 2. Append with and without the tree, alternating. */
    double *with = calloc((size_t)rounds, sizeof *with), *without = calloc((size_t)rounds, 8);
    for (int r = 0; r < rounds; r++) {
        without[r] = run_append(dir, records, false, NULL);
        with[r] = run_append(dir, records, true, NULL);
        printf("round %d: append without tree %.0f rec/s, with tree %.0f rec/s\n", r, without[r],
               with[r]);
    }
    qsort(with, (size_t)rounds, sizeof *with, cmp_d);
    qsort(without, (size_t)rounds, sizeof *without, cmp_d);
    printf("append 100 B records: without tree best %.0f median %.0f rec/s; with tree best %.0f "
           "median %.0f rec/s; tree cost %.1f%% (medians)\n",
           without[rounds - 1], without[rounds / 2], with[rounds - 1], with[rounds / 2],
           100.0 * (1.0 - with[rounds / 2] / without[rounds / 2]));

    /* 3. Proofs on a file-backed tree of `records` leaves (reopened from its files). */
    struct plg_log_config cfg;
    plg_log_config_init(&cfg);
    struct plg_log_options o = {.config = &cfg};
    plg_log_t *log;
    struct ptree *t;
    if (plg_log_open(dir, &o, &log, NULL) || ptree_open(dir, log, &t, NULL))
        return 1;
    struct mk_source s;
    ptree_source(t, &s);
    uint64_t size = ptree_size(t);
    uint8_t path[MK_MAX_PATH * 32], root[32];
    size_t count = 0;
    int iters = 20000;
    double t0 = now();
    for (int i = 0; i < iters; i++)
        mk_root(&s, size - (uint64_t)i, root);
    double root_us = (now() - t0) / iters * 1e6;
    t0 = now();
    for (int i = 0; i < iters; i++)
        mk_inclusion_proof(&s, ((uint64_t)i * 7919) % size, size, path, &count);
    double incl_us = (now() - t0) / iters * 1e6;
    size_t incl_len = count;
    t0 = now();
    for (int i = 0; i < iters; i++)
        mk_consistency_proof(&s, 1 + ((uint64_t)i * 104729) % (size - 1), size, path, &count);
    double cons_us = (now() - t0) / iters * 1e6;
    printf("tree of %llu leaves (files): root %.2f us, inclusion proof %.2f us (%zu hashes), "
           "consistency proof %.2f us\n",
           (unsigned long long)size, root_us, incl_us, incl_len, cons_us);
    ptree_close(t);
    plg_log_close(log);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        return 1;
    free(in);
    free(out);
    free(with);
    free(without);
    return 0;
}
