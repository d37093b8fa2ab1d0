/*
 * fuzz_segment.c — libFuzzer harness over the on-disk format: the input becomes a segment's
 * .log, .index and .timeindex files; the harness audits the directory (plg_log_verify_dir),
 * recovers it (plg_log_open), reads everything back, looks up times, and closes. When the input
 * is the only (active) segment, recovery must leave a log that the audit accepts.
 *
 * Input: flags u8 | index length u16be | index bytes | timeindex length u16be | timeindex
 * bytes | log bytes. flags bit 0: add an empty later segment, so the fuzzed one is sealed.
 * Files live in a per-process directory under /dev/shm (tmpfs) when it exists.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyralog/log.h"
#include "storage/batch.h"

static char dir[256];

static void put_file(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void clean(void)
{
    static const char *const names[] = {
        "00000000000000000000.log", "00000000000000000000.index", "00000000000000000000.timeindex",
        "00000000000001000000.log", "00000000000001000000.index", "00000000000001000000.timeindex",
        "log-start-offset",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

static void remove_dir(void)
{
    clean();
    rmdir(dir);
}

static size_t take(const uint8_t **p, size_t *n, size_t want)
{
    if (want > *n)
        want = *n;
    *p += want;
    *n -= want;
    return want;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        struct stat st;
        snprintf(dir, sizeof dir, "%s/plg-fuzz-segment-%d",
                 stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
        mkdir(dir, 0755);
        atexit(remove_dir);
    }
    clean();
    if (size < 1)
        return 0;
    const uint8_t *p = data;
    size_t n = size;
    uint8_t flags = p[0];
    take(&p, &n, 1);
    const uint8_t *fields[2];
    size_t lens[2];
    for (int i = 0; i < 2; i++) {
        size_t l = 0;
        if (n >= 2)
            l = (size_t)p[0] << 8 | p[1];
        take(&p, &n, 2);
        fields[i] = p;
        lens[i] = take(&p, &n, l);
    }
    put_file("00000000000000000000.index", fields[0], lens[0]);
    put_file("00000000000000000000.timeindex", fields[1], lens[1]);
    put_file("00000000000000000000.log", p, n);
    bool sealed = flags & 1;
    if (sealed)
        put_file("00000000000001000000.log", NULL, 0);

    struct plg_log_problem pr;
    (void)plg_log_verify_dir(dir, PLG_VERIFY_ALLOW_GAPS, &pr, NULL);

    struct plg_log_config c;
    plg_log_config_init(&c);
    c.fsync_policy = PLG_FSYNC_NEVER;
    c.index_interval_bytes = 64;
    c.segment_index_bytes = 4096;
    struct plg_log_options o = {.config = &c};
    plg_log_t *log;
    struct plg_log_recovery rec;
    if (plg_log_open(dir, &o, &log, &rec) == 0) {
        uint8_t *all;
        size_t len;
        int64_t next;
        if (plg_log_read_copy(log, plg_log_start_offset(log), 1 << 22, &all, &len, &next) == 0)
            free(all);
        int64_t off;
        (void)plg_log_lookup_time(log, 0, &off);
        (void)plg_log_lookup_time(log, INT64_MAX / 2, &off);
        plg_log_close(log);
        if (!sealed && plg_log_verify_dir(dir, PLG_VERIFY_ALLOW_GAPS, &pr, NULL) != 0) {
            fprintf(stderr, "recovered log fails the audit: %s\n", pr.what);
            abort();
        }
    }
    return 0;
}
