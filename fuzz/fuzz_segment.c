/*
 * fuzz_segment.c — libFuzzer harness over the on-disk format: the input becomes a segment's
 * .log, .index and .timeindex files; the harness audits the directory (plg_log_verify_dir),
 * recovers it (plg_log_open), reads everything back, looks up times, and closes. When the input
 * is the only (active) segment, recovery must leave a log whose batches all pass their CRC and
 * follow each other to the end of the file (recovery cuts a torn tail), and the audit must
 * accept it, with one exception: a batch whose CRC holds but whose records do not decode (the
 * audit's deep check). Recovery keeps such a batch, as Kafka does: it cannot be a torn write,
 * produce never stores one, and cutting there would drop the batches after it.
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

#include "base/buf.h"
#include "pyralog/log.h"
#include "storage/batch.h"
#include "storage/store.h"

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

static uint8_t *get_file(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        abort();
    *n = (size_t)st.st_size;
    uint8_t *p = malloc(*n + 1);
    if (!p || store_pread_all(fd, p, *n, 0) != 0)
        abort();
    close(fd);
    return p;
}

/* The recovered active segment: CRC-valid batches with contiguous offsets up to its end. When
 * the audit complained (pr), its complaint must be a batch of this file that passes the CRC but
 * not the deep check. */
static void check_recovered(const struct plg_log_problem *pr)
{
    size_t n;
    uint8_t *p = get_file("00000000000000000000.log", &n);
    size_t pos = 0;
    int64_t next = 0;
    bool complaint_seen = false;
    struct buf scratch;
    buf_init(&scratch);
    while (pos < n) {
        struct batch b;
        if (batch_validate(p + pos, n - pos, &b) || b.base_offset != next) {
            fprintf(stderr, "recovered log has a bad batch at byte %zu\n", pos);
            abort();
        }
        if (pr && pr->segment_base == 0 && pr->position == (int64_t)pos &&
            strstr(pr->what, ".log:")) {
            complaint_seen = batch_validate_deep(p + pos, n - pos, &scratch, 256u << 20, &b) != 0;
            buf_reset(&scratch);
        }
        next = batch_last_offset(&b) + 1;
        pos += b.size;
    }
    buf_free(&scratch);
    free(p);
    if (pr && !complaint_seen) {
        fprintf(stderr, "recovered log fails the audit: %s\n", pr->what);
        abort();
    }
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
        if (!sealed)
            check_recovered(plg_log_verify_dir(dir, PLG_VERIFY_ALLOW_GAPS, &pr, NULL) ? &pr : NULL);
    }
    return 0;
}
