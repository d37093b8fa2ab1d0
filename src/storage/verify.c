/*
 * verify.c — plg_log_verify_dir: an offline, read-only audit of a partition log directory.
 *
 * Unlike recovery (log.c), which trusts sealed segments whose indexes validate and cuts a bad
 * tail, this reads every byte: each batch is validated deeply, offsets are checked for
 * contiguity, and every index entry is checked against the batches it names. Nothing is
 * written. Used by `pyralog verify`. Pure apart from reading files; any thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyralog/log.h"
#include "storage/segment.h"

static int problem(struct plg_log_problem *pr, int code, int64_t base, int64_t offset, int64_t pos,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int problem(struct plg_log_problem *pr, int code, int64_t base, int64_t offset, int64_t pos,
                   const char *fmt, ...)
{
    pr->code = code;
    pr->segment_base = base;
    pr->offset = offset;
    pr->position = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pr->what, sizeof pr->what, fmt, ap);
    va_end(ap);
    return code;
}

/* A read-only mapping of dir/name (NULL with size 0 for an empty file). -ENOENT if missing. */
static int map_file(int dirfd, const char *name, const uint8_t **p, int64_t *size)
{
    *p = NULL;
    *size = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *size = st.st_size;
    if (st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            int e = -errno;
            close(fd);
            return e;
        }
        *p = m;
    }
    close(fd);
    return 0;
}

static void unmap_file(const uint8_t *p, int64_t size)
{
    if (p)
        munmap((void *)p, (size_t)size);
}

/* What the scan of one segment learned: batch start positions and their base offsets. */
struct seg_scan {
    int64_t *pos, *base, *maxts; /* maxts: largest timestamp up to and including batch i */
    size_t n, cap;
    int64_t next_offset;
};

static int scan_push(struct seg_scan *sc, int64_t pos, int64_t base, int64_t maxts)
{
    if (sc->n == sc->cap) {
        size_t ncap = sc->cap ? sc->cap * 2 : 256;
        int64_t *a = realloc(sc->pos, ncap * sizeof *a);
        if (!a)
            return PLG_ENOMEM;
        sc->pos = a;
        a = realloc(sc->base, ncap * sizeof *a);
        if (!a)
            return PLG_ENOMEM;
        sc->base = a;
        a = realloc(sc->maxts, ncap * sizeof *a);
        if (!a)
            return PLG_ENOMEM;
        sc->maxts = a;
        sc->cap = ncap;
    }
    sc->pos[sc->n] = pos;
    sc->base[sc->n] = base;
    sc->maxts[sc->n] = maxts;
    sc->n++;
    return 0;
}

static int scan_log(int64_t segbase, const uint8_t *p, int64_t size, struct seg_scan *sc,
                    struct buf *scratch, struct plg_log_problem *pr, int64_t *records)
{
    int64_t pos = 0, maxts = INT64_MIN;
    sc->next_offset = segbase;
    while (pos < size) {
        struct batch b;
        int rc = batch_validate_deep(p + pos, (size_t)(size - pos), scratch, 256u << 20, &b);
        if (rc)
            return problem(pr, rc, segbase, sc->next_offset, pos,
                           "%020" PRId64 ".log: batch at byte %" PRId64 " (offset %" PRId64 "): %s",
                           segbase, pos, sc->next_offset, plg_strerror(rc));
        if (b.base_offset != sc->next_offset)
            return problem(pr, PLG_ECORRUPT, segbase, sc->next_offset, pos,
                           "%020" PRId64 ".log: batch at byte %" PRId64 " has base offset %" PRId64
                           ", expected %" PRId64,
                           segbase, pos, b.base_offset, sc->next_offset);
        if (b.max_timestamp > maxts)
            maxts = b.max_timestamp;
        if (scan_push(sc, pos, b.base_offset, maxts))
            return PLG_ENOMEM;
        *records += b.record_count;
        sc->next_offset = batch_last_offset(&b) + 1;
        pos += (int64_t)b.size;
    }
    return 0;
}

/* Index of v in the sorted array a[0..n), or -1. */
static ssize_t find_sorted(const int64_t *a, size_t n, int64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == v ? (ssize_t)lo : -1;
}

static int check_indexes(int dirfd, int64_t segbase, bool last, const struct seg_scan *sc,
                         struct plg_log_problem *pr)
{
    char name[SEG_NAME_MAX];
    const uint8_t *ix;
    int64_t isz;
    seg_name(name, segbase, "index");
    int rc = map_file(dirfd, name, &ix, &isz);
    if (rc == 0) {
        int64_t prev_rel = -1;
        for (int64_t i = 0; i + SEG_IDX_ENTRY <= isz && rc == 0; i += SEG_IDX_ENTRY) {
            int64_t rel = be32_get(ix + i), pos = be32_get(ix + i + 4);
            if (last && rel == 0 && pos == 0)
                break; /* preallocated tail of the active index */
            ssize_t k = find_sorted(sc->pos, sc->n, pos);
            if (rel <= prev_rel || k < 0 || sc->base[k] != segbase + rel)
                rc = problem(pr, PLG_ECORRUPT, segbase, segbase + rel, i / SEG_IDX_ENTRY,
                             "%s: entry %" PRId64 " (offset %" PRId64 " at byte %" PRId64
                             ") does not match the log",
                             name, i / SEG_IDX_ENTRY, segbase + rel, pos);
            prev_rel = rel;
        }
        if (rc == 0 && !last && isz % SEG_IDX_ENTRY)
            rc = problem(pr, PLG_ECORRUPT, segbase, -1, isz,
                         "%s: size %" PRId64 " is not a whole number of entries", name, isz);
        unmap_file(ix, isz);
    } else if (rc == -ENOENT) {
        rc = 0;
    }
    if (rc)
        return rc;
    seg_name(name, segbase, "timeindex");
    rc = map_file(dirfd, name, &ix, &isz);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    for (int64_t i = 0; i + SEG_TIX_ENTRY <= isz && rc == 0; i += SEG_TIX_ENTRY) {
        int64_t ts = (int64_t)be64_get(ix + i), rel = be32_get(ix + i + 8);
        if (last && ts == 0 && rel == 0)
            break;
        ssize_t k = find_sorted(sc->base, sc->n, segbase + rel);
        if (k < 0 || sc->maxts[k] > ts)
            rc = problem(pr, PLG_ECORRUPT, segbase, segbase + rel, i / SEG_TIX_ENTRY,
                         "%s: entry %" PRId64 " (time %" PRId64 ", offset %" PRId64
                         ") does not match the log",
                         name, i / SEG_TIX_ENTRY, ts, segbase + rel);
    }
    if (rc == 0 && !last && isz % SEG_TIX_ENTRY)
        rc = problem(pr, PLG_ECORRUPT, segbase, -1, isz,
                     "%s: size %" PRId64 " is not a whole number of entries", name, isz);
    unmap_file(ix, isz);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int list_bases(int dirfd, int64_t **bases, size_t *n)
{
    int d = dup(dirfd);
    DIR *dir = d >= 0 ? fdopendir(d) : NULL;
    if (!dir) {
        int e = -errno;
        if (d >= 0)
            close(d);
        return e;
    }
    size_t cap = 0;
    *bases = NULL;
    *n = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dir)) != NULL) {
        int64_t b;
        if (seg_parse_name(de->d_name, &b))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *nb = realloc(*bases, cap * sizeof *nb);
            if (!nb) {
                rc = PLG_ENOMEM;
                break;
            }
            *bases = nb;
        }
        (*bases)[(*n)++] = b;
    }
    closedir(dir);
    if (*n > 1)
        qsort(*bases, *n, sizeof **bases, cmp_i64);
    return rc;
}

int plg_log_verify_dir(const char *dir, int flags, struct plg_log_problem *pr, int64_t *records)
{
    struct plg_log_problem scratch_pr;
    if (!pr)
        pr = &scratch_pr;
    memset(pr, 0, sizeof *pr);
    pr->segment_base = pr->offset = pr->position = -1;
    int64_t nrec = 0;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        int e = -errno;
        return problem(pr, e, -1, -1, -1, "%s: %s", dir, plg_strerror(e));
    }
    int64_t *bases = NULL;
    size_t n = 0;
    int rc = list_bases(dirfd, &bases, &n);
    struct buf scratch;
    buf_init(&scratch);
    int64_t prev_end = -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char name[SEG_NAME_MAX];
        seg_name(name, bases[i], "log");
        const uint8_t *p;
        int64_t size;
        rc = map_file(dirfd, name, &p, &size);
        if (rc) {
            problem(pr, rc, bases[i], bases[i], 0, "%s: %s", name, plg_strerror(rc));
            break;
        }
        if (prev_end >= 0 && bases[i] < prev_end)
            rc = problem(pr, PLG_ECORRUPT, bases[i], bases[i], 0,
                         "%s: starts at offset %" PRId64 ", inside the previous segment (which "
                         "ends at %" PRId64 ")",
                         name, bases[i], prev_end);
        else if (prev_end >= 0 && bases[i] > prev_end && !(flags & PLG_VERIFY_ALLOW_GAPS))
            rc = problem(pr, PLG_ECORRUPT, bases[i], prev_end, 0,
                         "offsets %" PRId64 "..%" PRId64 " are missing (no segment holds them)",
                         prev_end, bases[i] - 1);
        struct seg_scan sc = {0};
        if (rc == 0)
            rc = scan_log(bases[i], p, size, &sc, &scratch, pr, &nrec);
        if (rc == 0)
            rc = check_indexes(dirfd, bases[i], i + 1 == n, &sc, pr);
        prev_end = sc.next_offset;
        free(sc.pos);
        free(sc.base);
        free(sc.maxts);
        unmap_file(p, size);
    }
    buf_free(&scratch);
    free(bases);
    close(dirfd);
    if (records)
        *records = nrec;
    return rc;
}
