/*
 * storage_crash.c — helper for the storage crash test (tests/integration/test_storage_crash.py).
 *
 *   storage_crash append DIR SEED   open DIR with fsync=always and small segments, append
 *                                   batches forever; after each append returns print
 *                                   "ack <base> <len> <crc32c of the stored bytes>" and flush.
 *                                   The parent SIGKILLs it at a random moment.
 *   storage_crash verify DIR        open DIR (recovery), print "recovered <cut bytes> <reason>",
 *                                   then "batch <base> <len> <crc>" for every stored batch after
 *                                   validating each one deeply, then "end <end offset>".
 * Exit 0 on success; 1 with a message on stderr when anything is wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "pyralog/log.h"
#include "storage/batch.h"

static int open_log(const char *dir, plg_log_t **log, struct plg_log_recovery *rec)
{
    struct plg_log_config c;
    plg_log_config_init(&c);
    c.segment_bytes = 64 * 1024;
    c.index_interval_bytes = 1024;
    c.fsync_policy = PLG_FSYNC_ALWAYS;
    c.retention_ms = -1;
    struct plg_log_options o = {.config = &c, .create = true};
    int rc = plg_log_open(dir, &o, log, rec);
    if (rc)
        fprintf(stderr, "storage_crash: open %s: %s\n", dir, plg_strerror(rc));
    return rc;
}

static int run_append(const char *dir, unsigned seed)
{
    plg_log_t *log;
    if (open_log(dir, &log, NULL))
        return 1;
    srand(seed);
    char val[4096];
    for (unsigned i = 0;; i++) {
        struct batch_builder bb;
        batch_builder_init(&bb, 0, 1000 + i);
        int n = 1 + rand() % 8;
        for (int r = 0; r < n; r++) {
            int vl = 1 + rand() % (int)sizeof val;
            for (int k = 0; k < vl; k++)
                val[k] = (char)(seed + i + r + k);
            char key[32];
            int kl = snprintf(key, sizeof key, "s%u-%u-%d", seed, i, r);
            if (batch_builder_add(&bb, 1000 + i, key, kl, val, vl, NULL, 0))
                return 1;
        }
        uint8_t *b;
        size_t len;
        if (batch_builder_finish(&bb, -1, &b, &len))
            return 1;
        batch_builder_destroy(&bb);
        struct plg_append_info info;
        int rc = plg_log_append(log, b, len, &info);
        if (rc) {
            fprintf(stderr, "storage_crash: append: %s\n", plg_strerror(rc));
            return 1;
        }
        printf("ack %lld %zu %u\n", (long long)info.base_offset, len, crc32c(0, b, len));
        fflush(stdout);
        free(b);
    }
}

static int run_verify(const char *dir)
{
    plg_log_t *log;
    struct plg_log_recovery rec;
    if (open_log(dir, &log, &rec))
        return 1;
    printf("recovered %lld %d\n", (long long)rec.truncated_bytes, rec.truncate_reason);
    int64_t at = plg_log_start_offset(log), end = plg_log_end_offset(log);
    struct buf scratch;
    buf_init(&scratch);
    int bad = 0;
    while (at < end && !bad) {
        struct plg_log_slice s;
        int rc = plg_log_read(log, at, 1, &s);
        if (rc || s.len == 0) {
            fprintf(stderr, "storage_crash: read at %lld: %s\n", (long long)at, plg_strerror(rc));
            bad = 1;
            break;
        }
        struct batch b;
        rc = batch_validate_deep(s.data, s.len, &scratch, 1 << 24, &b);
        if (rc || b.base_offset != at || b.size != s.len) {
            fprintf(stderr, "storage_crash: batch at %lld: %s\n", (long long)at, plg_strerror(rc));
            bad = 1;
        } else {
            printf("batch %lld %zu %u\n", (long long)at, s.len, crc32c(0, s.data, s.len));
        }
        at = s.next_offset;
        plg_log_slice_release(&s);
    }
    printf("end %lld\n", (long long)end);
    buf_free(&scratch);
    plg_log_close(log);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "append") == 0)
        return run_append(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
    if (argc == 3 && strcmp(argv[1], "verify") == 0)
        return run_verify(argv[2]);
    fprintf(stderr, "usage: storage_crash append DIR SEED | verify DIR\n");
    return 2;
}
