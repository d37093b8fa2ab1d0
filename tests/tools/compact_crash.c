/*
 * compact_crash.c — helper for the compaction crash test (tests/integration/test_compact_crash.py).
 *
 *   compact_crash run DIR FIRST_SEQ  open DIR (cleanup.policy=compact, fsync=always, small
 *                                    segments) and forever: append a batch of 1..8 records with
 *                                    keys "key<0..39>" and values "<seq>" (seq counts up from
 *                                    FIRST_SEQ); once append returns (durable) print
 *                                    "ack <key> <seq>" per record. Meanwhile a worker thread
 *                                    compacts (plg_log_compact_begin / run on the worker /
 *                                    install on this thread) over and over; each install prints
 *                                    "compacted <records removed>". The parent SIGKILLs it.
 *   compact_crash verify DIR         audit DIR read-only (plg_log_verify_dir), then open it
 *                                    (recovery) and print "rec <offset> <key> <seq>" for every
 *                                    record, then "end <end offset>". The one problem the audit
 *                                    may find is a torn last batch of the active segment (a
 *                                    SIGKILL during a write that spans pages leaves its first
 *                                    pages): then recovery must cut exactly those bytes, and the
 *                                    audit must pass after it.
 * Exit 0 on success; 1 with a message on stderr when anything is wrong.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyralog/log.h"
#include "storage/batch.h"

#define KEYS 40

static int open_log(const char *dir, plg_log_t **log, struct plg_log_recovery *rec)
{
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.segment_bytes = 8 * 1024;
    c.index_interval_bytes = 512;
    c.fsync_policy = PLG_FSYNC_ALWAYS;
    c.retention_ms = -1;
    c.cleanup_policy = PLG_CLEANUP_COMPACT;
    struct plg_log_options o = {.config = &c, .create = true};
    int rc = plg_log_open(dir, &o, log, rec);
    if (rc)
        fprintf(stderr, "compact_crash: open %s: %s\n", dir, plg_strerror(rc));
    return rc;
}

static atomic_bool worker_done;

static void *worker(void *arg)
{
    plg_log_compact_run(arg);
    atomic_store(&worker_done, true);
    return NULL;
}

static int run(const char *dir, long long seq)
{
    plg_log_t *log;
    if (open_log(dir, &log, NULL))
        return 1;
    srand((unsigned)seq);
    plg_compaction_t *job = NULL;
    pthread_t th;
    char pad[200];
    memset(pad, 'x', sizeof pad);
    for (;;) {
        if (!job) {
            int rc = plg_log_compact_begin(log, &job);
            if (rc) {
                fprintf(stderr, "compact_crash: begin: %s\n", plg_strerror(rc));
                return 1;
            }
            if (job) {
                atomic_store(&worker_done, false);
                if (pthread_create(&th, NULL, worker, job))
                    return 1;
            }
        }
        struct batch_builder bb;
        batch_builder_init(&bb, 0, 1000);
        int n = 1 + rand() % 8, keys[8];
        for (int r = 0; r < n; r++) {
            char k[16], v[240];
            keys[r] = rand() % KEYS;
            int kl = snprintf(k, sizeof k, "key%d", keys[r]);
            int vl = snprintf(v, sizeof v, "%lld-", seq + r);
            int padn = rand() % (int)sizeof pad;
            memcpy(v + vl, pad, (size_t)padn);
            if (batch_builder_add(&bb, 1000, k, kl, v, vl + padn, NULL, 0))
                return 1;
        }
        uint8_t *b;
        size_t len;
        if (batch_builder_finish(&bb, -1, &b, &len))
            return 1;
        batch_builder_destroy(&bb);
        int rc = plg_log_append(log, b, len, NULL);
        free(b);
        if (rc) {
            fprintf(stderr, "compact_crash: append: %s\n", plg_strerror(rc));
            return 1;
        }
        for (int r = 0; r < n; r++)
            printf("ack key%d %lld\n", keys[r], seq + r);
        seq += n;
        if (job && atomic_load(&worker_done)) {
            pthread_join(th, NULL);
            int64_t removed = 0;
            rc = plg_log_compact_install(log, job, &removed, NULL);
            plg_log_compact_free(job);
            job = NULL;
            if (rc) {
                fprintf(stderr, "compact_crash: compaction: %s\n", plg_strerror(rc));
                return 1;
            }
            printf("compacted %lld\n", (long long)removed);
        }
        fflush(stdout);
    }
}

static int verify(const char *dir)
{
    struct plg_log_problem pr;
    int rc = plg_log_verify_dir(dir, 0, &pr, NULL);
    if (rc && rc != PLG_ETRUNC) {
        fprintf(stderr, "compact_crash: verify: %s\n", pr.what);
        return 1;
    }
    struct plg_log_recovery rec = {0};
    plg_log_t *log;
    if (open_log(dir, &log, &rec))
        return 1;
    if (rc == PLG_ETRUNC && rec.truncate_reason == PLG_ETRUNC && rec.truncated_at == pr.offset &&
        rec.truncated_position == pr.position) {
        /* The torn tail recovery just cut: the directory must now pass whole. */
        fprintf(stderr, "compact_crash: torn tail of %lld bytes cut at offset %lld\n",
                (long long)rec.truncated_bytes, (long long)rec.truncated_at);
        if ((rc = plg_log_verify_dir(dir, 0, &pr, NULL)) != 0)
            fprintf(stderr, "compact_crash: the audit fails after recovery too\n");
    }
    if (rc) {
        fprintf(stderr, "compact_crash: verify: %s\n", pr.what);
        plg_log_close(log);
        return 1;
    }
    struct buf sc;
    buf_init(&sc);
    int64_t off = plg_log_start_offset(log), end = plg_log_end_offset(log);
    while (off < end && rc == 0) {
        uint8_t *data;
        size_t len;
        int64_t next;
        if ((rc = plg_log_read_copy(log, off, 1 << 20, &data, &len, &next)) != 0)
            break;
        for (size_t pos = 0; pos < len && rc == 0;) {
            struct batch b;
            const uint8_t *rp;
            size_t rl;
            rc = batch_validate_deep(data + pos, len - pos, &sc, 1 << 24, &b);
            if (rc == 0)
                rc = batch_records(&b, &sc, 1 << 24, &rp, &rl);
            if (rc)
                break;
            struct batch_iter it;
            struct batch_record r;
            batch_iter_init(&it, &b, rp, rl);
            while (batch_iter_next(&it, &r) == 1) {
                char v[32] = "";
                if (r.value_len > 0)
                    memcpy(v, r.value, r.value_len < 31 ? (size_t)r.value_len : 31);
                printf("rec %lld %.*s %lld\n", (long long)r.offset, (int)r.key_len, r.key,
                       strtoll(v, NULL, 10));
            }
            pos += b.size;
        }
        free(data);
        off = next;
    }
    buf_free(&sc);
    if (rc) {
        fprintf(stderr, "compact_crash: read at %lld: %s\n", (long long)off, plg_strerror(rc));
        return 1;
    }
    printf("end %lld\n", (long long)end);
    return plg_log_close(log) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "run"))
        return run(argv[2], atoll(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "verify"))
        return verify(argv[2]);
    fprintf(stderr, "usage: compact_crash run DIR FIRST_SEQ | verify DIR\n");
    return 2;
}
