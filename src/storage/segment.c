/*
 * segment.c — segment files, sparse indexes, scans and recovery (see segment.h).
 */
#include "storage/segment.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void seg_name(char *out, int64_t base, const char *ext)
{
    snprintf(out, SEG_NAME_MAX, "%020" PRId64 ".%s", base, ext);
}

int seg_parse_name(const char *name, int64_t *base)
{
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0)
        return PLG_EINVAL;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return PLG_EINVAL;
        if (v > (INT64_MAX - (name[i] - '0')) / 10)
            return PLG_EINVAL;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return 0;
}

static int file_size(int fd, int64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    *size = st.st_size;
    return 0;
}

static void unmap_index(uint8_t **map, size_t *len)
{
    if (*map)
        munmap(*map, *len);
    *map = NULL;
    *len = 0;
}

/* Maps an index file of `bytes` bytes read-write (NULL for 0 bytes). */
static int map_index(int fd, size_t bytes, uint8_t **map, size_t *len)
{
    unmap_index(map, len);
    if (bytes == 0)
        return 0;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    *map = m;
    *len = bytes;
    return 0;
}

static void reset_state(struct segment *s)
{
    s->size = 0;
    s->idx_n = 0;
    s->tix_n = 0;
    s->next_offset = s->base;
    s->max_ts = INT64_MIN;
    s->max_ts_offset = s->base;
    s->first_ts = INT64_MIN;
    s->bytes_since_index = 0;
}

/* Opens an index file, creating it when missing (and noting that it was). */
static int open_index(struct segment *s, const char *name, bool create, int *fd)
{
    int rc = create ? -ENOENT : s->store->ops->open(s->store, name, false, fd);
    if (rc == -ENOENT) {
        s->index_missing = !create;
        rc = s->store->ops->open(s->store, name, true, fd);
    }
    return rc;
}

/* Maps the .log read-only over max(s->map_len, file size), page-rounded, at most 4 GiB. */
static int map_log(struct segment *s)
{
    int64_t fsize = 0;
    int rc = file_size(s->fd, &fsize);
    if (rc)
        return rc;
    size_t len = s->map_len;
    if ((uint64_t)fsize > len)
        len = (size_t)fsize;
    len = (len + 4095) & ~(size_t)4095;
    if (len == 0)
        len = 4096;
    if (len > SEG_MAP_SIZE)
        len = SEG_MAP_SIZE;
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, s->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    s->map = m;
    s->map_len = len;
    return 0;
}

static int open_files(struct segment *s, bool create)
{
    char name[SEG_NAME_MAX];
    seg_name(name, s->base, "log");
    int rc = s->store->ops->open(s->store, name, create, &s->fd);
    if (rc)
        return rc;
    rc = map_log(s);
    if (rc)
        return rc;
    seg_name(name, s->base, "index");
    rc = open_index(s, name, create, &s->idx_fd);
    if (rc)
        return rc;
    seg_name(name, s->base, "timeindex");
    return open_index(s, name, create, &s->tix_fd);
}

static struct segment *segment_new(struct store *st, int64_t base, int32_t interval, int64_t now,
                                   size_t map_hint)
{
    struct segment *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->store = st;
    s->fd = s->idx_fd = s->tix_fd = -1;
    s->index_interval = interval;
    s->created_ms = now;
    s->map_len = map_hint;
    atomic_init(&s->refs, 1);
    reset_state(s);
    return s;
}

void segment_unref(struct segment *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    unmap_index(&s->idx, &s->idx_map_len);
    unmap_index(&s->tix, &s->tix_map_len);
    if (s->map)
        munmap((void *)s->map, s->map_len);
    if (s->fd >= 0)
        close(s->fd);
    if (s->idx_fd >= 0)
        close(s->idx_fd);
    if (s->tix_fd >= 0)
        close(s->tix_fd);
    free(s);
}

int segment_activate(struct segment *s, int32_t index_bytes)
{
    uint32_t icap = (uint32_t)(index_bytes / SEG_IDX_ENTRY);
    uint32_t tcap = (uint32_t)(index_bytes / SEG_TIX_ENTRY);
    if (icap < s->idx_n)
        icap = s->idx_n;
    if (tcap < s->tix_n + 1)
        tcap = s->tix_n + 1;
    if (ftruncate(s->idx_fd, (off_t)icap * SEG_IDX_ENTRY) < 0 ||
        ftruncate(s->tix_fd, (off_t)tcap * SEG_TIX_ENTRY) < 0)
        return -errno;
    int rc = map_index(s->idx_fd, (size_t)icap * SEG_IDX_ENTRY, &s->idx, &s->idx_map_len);
    if (rc == 0)
        rc = map_index(s->tix_fd, (size_t)tcap * SEG_TIX_ENTRY, &s->tix, &s->tix_map_len);
    if (rc)
        return rc;
    s->idx_cap = icap;
    s->tix_cap = tcap;
    s->idx_ready = s->tix_ready = 0; /* nothing known to be allocated: reserved again on use */
    s->active = true;
    return 0;
}

int segment_create(struct store *st, int64_t base, int32_t index_bytes, int32_t index_interval,
                   int64_t now_ms, size_t map_hint, struct segment **out)
{
    struct segment *s = segment_new(st, base, index_interval, now_ms, map_hint);
    if (!s)
        return PLG_ENOMEM;
    int rc = open_files(s, true);
    if (rc == 0 &&
        (ftruncate(s->fd, 0) < 0 || ftruncate(s->idx_fd, 0) < 0 || ftruncate(s->tix_fd, 0) < 0))
        rc = -errno;
    if (rc == 0)
        rc = segment_activate(s, index_bytes);
    if (rc) {
        segment_unref(s);
        return rc;
    }
    *out = s;
    return 0;
}

int segment_load(struct store *st, int64_t base, int32_t index_interval, int64_t now_ms,
                 size_t map_hint, struct segment **out)
{
    struct segment *s = segment_new(st, base, index_interval, now_ms, map_hint);
    if (!s)
        return PLG_ENOMEM;
    int rc = open_files(s, false);
    if (rc) {
        segment_unref(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Reserve index blocks this many bytes ahead of the entries being written. */
#define INDEX_RESERVE_BYTES (64 << 10)

/* Reserves the blocks of entry slots [from, to) of an index file of `entry`-byte entries. */
static int reserve_slots(struct segment *s, int fd, uint64_t from, uint64_t to, size_t entry)
{
    return s->store->ops->reserve(s->store, fd, (int64_t)(from * entry),
                                  (int64_t)((to - from) * entry));
}

/*
 * Makes the slots of entries [0, n) of an index file (cap entries of `entry` bytes) safe to
 * write through the mapping: their blocks are reserved, up to INDEX_RESERVE_BYTES ahead.
 * *ready counts the slots known to be reserved.
 */
static int index_reserve(struct segment *s, int fd, uint32_t n, uint32_t cap, size_t entry,
                         uint32_t *ready)
{
    if (n > cap)
        n = cap; /* entries past cap are never written */
    if (n <= *ready)
        return 0;
    uint64_t want = (uint64_t)n + INDEX_RESERVE_BYTES / entry;
    if (want > cap)
        want = cap;
    int rc = reserve_slots(s, fd, *ready, want, entry);
    if (rc == -ENOSPC || rc == -EDQUOT) {
        want = n; /* nearly full: just what is needed now */
        rc = reserve_slots(s, fd, *ready, want, entry);
    }
    if (rc == 0)
        *ready = (uint32_t)want;
    return rc;
}

/* Reserves the slots the next batch's entries may take: one offset entry, one time entry, and
 * the time entry sealing adds. */
static int reserve_next_entries(struct segment *s)
{
    int rc = index_reserve(s, s->idx_fd, s->idx_n + 1, s->idx_cap, SEG_IDX_ENTRY, &s->idx_ready);
    if (rc == 0)
        rc = index_reserve(s, s->tix_fd, s->tix_n + 2, s->tix_cap, SEG_TIX_ENTRY, &s->tix_ready);
    return rc;
}

static void idx_add(struct segment *s, uint32_t rel, uint32_t pos)
{
    if (s->idx_n >= s->idx_cap)
        return; /* full: lookups scan further, the log rolls on the next append */
    if (s->idx_n >= s->idx_ready &&
        index_reserve(s, s->idx_fd, s->idx_n + 1, s->idx_cap, SEG_IDX_ENTRY, &s->idx_ready)) {
        s->idx_cap = s->idx_n; /* no room for more entries: the index is full */
        return;
    }
    uint8_t *e = s->idx + (size_t)s->idx_n * SEG_IDX_ENTRY;
    be32_put(e, rel);
    be32_put(e + 4, pos);
    s->idx_n++;
}

static void tix_add(struct segment *s, int64_t ts, uint32_t rel)
{
    if (s->tix_n >= s->tix_cap)
        return;
    if (s->tix_n >= s->tix_ready &&
        index_reserve(s, s->tix_fd, s->tix_n + 1, s->tix_cap, SEG_TIX_ENTRY, &s->tix_ready)) {
        s->tix_cap = s->tix_n; /* likewise */
        return;
    }
    if (s->tix_n > 0) {
        const uint8_t *last = s->tix + (size_t)(s->tix_n - 1) * SEG_TIX_ENTRY;
        if ((int64_t)be64_get(last) >= ts)
            return;
    }
    uint8_t *e = s->tix + (size_t)s->tix_n * SEG_TIX_ENTRY;
    be64_put(e, (uint64_t)ts);
    be32_put(e + 8, rel);
    s->tix_n++;
}

/* Bookkeeping for a batch placed at pos (by append or by a scan). */
static void account(struct segment *s, const struct batch *b, int64_t pos)
{
    if (pos > 0 && s->bytes_since_index >= s->index_interval && s->idx) {
        idx_add(s, (uint32_t)(b->base_offset - s->base), (uint32_t)pos);
        if (s->max_ts != INT64_MIN)
            tix_add(s, s->max_ts, (uint32_t)(s->max_ts_offset - s->base));
        s->bytes_since_index = 0;
    }
    s->bytes_since_index += (int64_t)b->size;
    if (s->first_ts == INT64_MIN)
        s->first_ts = b->max_timestamp;
    if (b->max_timestamp > s->max_ts || s->max_ts == INT64_MIN) {
        s->max_ts = b->max_timestamp;
        s->max_ts_offset = b->base_offset;
    }
    s->next_offset = batch_last_offset(b) + 1;
    s->size = pos + (int64_t)b->size;
}

/*
 * Scans batches from pos to file_end with CRC checks, accounting each. Returns the position
 * after the last good batch; *reason is 0 when it reached file_end cleanly.
 */
static int64_t scan(struct segment *s, int64_t pos, int64_t file_end, int *reason)
{
    *reason = 0;
    while (pos < file_end) {
        struct batch b;
        int rc = batch_validate(s->map + pos, (size_t)(file_end - pos), &b);
        if (rc == 0 && (b.base_offset != s->next_offset ||
                        batch_last_offset(&b) - s->base > (int64_t)UINT32_MAX ||
                        pos + (int64_t)b.size > (int64_t)UINT32_MAX + 1))
            rc = PLG_ECORRUPT;
        if (rc) {
            *reason = rc;
            break;
        }
        account(s, &b, pos);
        pos += (int64_t)b.size;
    }
    return pos;
}

bool segment_index_full(const struct segment *s)
{
    return s->idx_n >= s->idx_cap || s->tix_n + 1 >= s->tix_cap;
}

int segment_append(struct segment *s, const uint8_t *p, const struct batch *b)
{
    assert(s->active);
    /* Before the batch: a batch whose index entry could not be written must not be stored. */
    int rc = s->idx ? reserve_next_entries(s) : 0;
    if (rc)
        return rc;
    rc = store_pwrite_all(s->fd, p, b->size, s->size);
    if (rc) {
        /* Leave no partial batch behind; the tail scan would cut it anyway. */
        if (ftruncate(s->fd, (off_t)s->size) < 0)
            return rc;
        return rc;
    }
    account(s, b, s->size);
    return 0;
}

int segment_seal(struct segment *s)
{
    if (!s->active)
        return 0;
    if (s->max_ts != INT64_MIN)
        tix_add(s, s->max_ts, (uint32_t)(s->max_ts_offset - s->base));
    if (ftruncate(s->idx_fd, (off_t)s->idx_n * SEG_IDX_ENTRY) < 0 ||
        ftruncate(s->tix_fd, (off_t)s->tix_n * SEG_TIX_ENTRY) < 0)
        return -errno;
    /* Entries beyond n are now outside the files: shrink the mappings to match. */
    int rc = map_index(s->idx_fd, (size_t)s->idx_n * SEG_IDX_ENTRY, &s->idx, &s->idx_map_len);
    if (rc == 0)
        rc = map_index(s->tix_fd, (size_t)s->tix_n * SEG_TIX_ENTRY, &s->tix, &s->tix_map_len);
    s->idx_cap = s->idx_n;
    s->tix_cap = s->tix_n;
    s->active = false;
    return rc;
}

/* Rebuilds both indexes by scanning the file from 0 up to file_end. */
static int rebuild(struct segment *s, int32_t index_bytes, int64_t file_end, int64_t *cut_pos,
                   int *reason)
{
    reset_state(s);
    s->active = false;
    /* Start from empty files so no stale entry survives past the rebuilt ones. */
    if (ftruncate(s->idx_fd, 0) < 0 || ftruncate(s->tix_fd, 0) < 0)
        return -errno;
    int rc = segment_activate(s, index_bytes);
    if (rc)
        return rc;
    *cut_pos = scan(s, 0, file_end, reason);
    return 0;
}

static bool indexes_valid(struct segment *s, int64_t file_end)
{
    int64_t isz, tsz;
    if (s->index_missing || file_size(s->idx_fd, &isz) || file_size(s->tix_fd, &tsz))
        return false;
    if (file_end > 0 && tsz == 0)
        return false; /* a sealed segment with batches has at least its final time entry */
    if (isz % SEG_IDX_ENTRY || tsz % SEG_TIX_ENTRY || isz > (int64_t)UINT32_MAX ||
        tsz > (int64_t)UINT32_MAX)
        return false;
    s->idx_n = s->idx_cap = (uint32_t)(isz / SEG_IDX_ENTRY);
    s->tix_n = s->tix_cap = (uint32_t)(tsz / SEG_TIX_ENTRY);
    if (map_index(s->idx_fd, (size_t)isz, &s->idx, &s->idx_map_len) ||
        map_index(s->tix_fd, (size_t)tsz, &s->tix, &s->tix_map_len))
        return false;
    int64_t prev_rel = -1, prev_pos = 0;
    for (uint32_t i = 0; i < s->idx_n; i++) {
        int64_t rel = be32_get(s->idx + (size_t)i * SEG_IDX_ENTRY);
        int64_t pos = be32_get(s->idx + (size_t)i * SEG_IDX_ENTRY + 4);
        if (rel <= prev_rel || pos <= prev_pos || pos + BATCH_HEADER_SIZE > file_end)
            return false;
        prev_rel = rel;
        prev_pos = pos;
    }
    if (s->idx_n > 0 && seg_batch_base(s, prev_pos) != s->base + prev_rel)
        return false;
    int64_t prev_ts = INT64_MIN;
    prev_rel = -1;
    for (uint32_t i = 0; i < s->tix_n; i++) {
        int64_t ts = (int64_t)be64_get(s->tix + (size_t)i * SEG_TIX_ENTRY);
        int64_t rel = be32_get(s->tix + (size_t)i * SEG_TIX_ENTRY + 8);
        if ((i > 0 && ts <= prev_ts) || rel < prev_rel)
            return false;
        prev_ts = ts;
        prev_rel = rel;
    }
    return true;
}

int segment_adopt(struct store *st, int64_t base, int fd, const char *idx_suffix,
                  int32_t index_bytes, int32_t index_interval, int64_t now_ms, struct segment **out)
{
    struct segment *s = segment_new(st, base, index_interval, now_ms, 0);
    if (!s) {
        close(fd);
        return PLG_ENOMEM;
    }
    s->fd = fd;
    int rc = map_log(s);
    char name[SEG_NAME_MAX + 16];
    int64_t fsize = 0, cut = 0;
    int reason = 0;
    static const char *const exts[] = {"index", "timeindex"};
    int *fds[] = {&s->idx_fd, &s->tix_fd};
    for (int k = 0; rc == 0 && k < 2; k++) {
        seg_name(name, base, exts[k]);
        snprintf(name + strlen(name), sizeof name - strlen(name), "%s",
                 idx_suffix ? idx_suffix : "");
        rc = open_index(s, name, true, fds[k]);
    }
    if (rc == 0 && (ftruncate(s->idx_fd, 0) < 0 || ftruncate(s->tix_fd, 0) < 0))
        rc = -errno;
    if (rc == 0)
        rc = file_size(fd, &fsize);
    if (rc == 0)
        rc = rebuild(s, index_bytes, fsize, &cut, &reason);
    if (rc == 0 && (reason || cut != fsize))
        rc = PLG_ECORRUPT;
    if (rc == 0)
        rc = segment_seal(s);
    if (rc) {
        segment_unref(s);
        return rc;
    }
    *out = s;
    return 0;
}

int segment_recover_sealed(struct segment *s, int32_t index_bytes, bool *rebuilt, int64_t *cut_pos,
                           int *reason)
{
    int64_t fsize;
    int rc = file_size(s->fd, &fsize);
    if (rc)
        return rc;
    *rebuilt = false;
    if (fsize > (int64_t)s->map_len) {
        *cut_pos = 0;
        *reason = PLG_ECORRUPT;
        return 0;
    }
    reset_state(s);
    s->active = false;
    if (!indexes_valid(s, fsize)) {
        *rebuilt = true;
        rc = rebuild(s, index_bytes, fsize, cut_pos, reason);
        if (rc)
            return rc;
        return segment_seal(s);
    }
    /* Trusted indexes: only the bytes after the last offset entry are scanned. */
    int64_t pos = 0;
    if (s->idx_n > 0) {
        const uint8_t *e = s->idx + (size_t)(s->idx_n - 1) * SEG_IDX_ENTRY;
        pos = be32_get(e + 4);
        s->next_offset = s->base + be32_get(e);
    }
    if (s->tix_n > 0) {
        const uint8_t *e = s->tix + (size_t)(s->tix_n - 1) * SEG_TIX_ENTRY;
        s->max_ts = (int64_t)be64_get(e);
        s->max_ts_offset = s->base + be32_get(e + 8);
    }
    s->size = pos;
    uint8_t *idx = s->idx; /* no new entries while scanning the tail */
    s->idx = NULL;
    s->bytes_since_index = 0;
    *cut_pos = scan(s, pos, fsize, reason);
    s->idx = idx;
    return 0;
}

int segment_recover_active(struct segment *s, int32_t index_bytes, int64_t *cut_pos, int *reason)
{
    int64_t fsize;
    int rc = file_size(s->fd, &fsize);
    if (rc)
        return rc;
    if (fsize > (int64_t)s->map_len)
        fsize = (int64_t)s->map_len;
    rc = rebuild(s, index_bytes, fsize, cut_pos, reason);
    if (rc)
        return rc;
    if (*cut_pos < fsize && ftruncate(s->fd, (off_t)*cut_pos) < 0)
        return -errno;
    return 0;
}

int segment_truncate(struct segment *s, int64_t pos, int32_t index_bytes)
{
    if (ftruncate(s->fd, (off_t)pos) < 0)
        return -errno;
    int64_t cut = 0;
    int reason;
    int rc = rebuild(s, index_bytes, pos, &cut, &reason);
    if (rc)
        return rc;
    return cut == pos ? 0 : PLG_ECORRUPT;
}

int64_t segment_index_pos(const struct segment *s, int64_t offset)
{
    int64_t pos = 0;
    if (offset > s->base && s->idx_n > 0) {
        uint32_t target = (uint32_t)(offset - s->base > UINT32_MAX ? UINT32_MAX : offset - s->base);
        uint32_t lo = 0, hi = s->idx_n; /* first entry with rel > target */
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (be32_get(s->idx + (size_t)mid * SEG_IDX_ENTRY) <= target)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0)
            pos = be32_get(s->idx + (size_t)(lo - 1) * SEG_IDX_ENTRY + 4);
    }
    return pos;
}

int64_t segment_find(const struct segment *s, int64_t offset)
{
    int64_t pos = segment_index_pos(s, offset);
    while (pos < s->size && seg_batch_last(s, pos) < offset)
        pos += seg_batch_size(s, pos);
    return pos;
}

int64_t segment_find_time(const struct segment *s, int64_t ts)
{
    uint32_t lo = 0, hi = s->tix_n; /* first entry with timestamp >= ts */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((int64_t)be64_get(s->tix + (size_t)mid * SEG_TIX_ENTRY) < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    /* Everything up to that entry's batch is older than ts: start at its batch. */
    int64_t off = s->base + be32_get(s->tix + (size_t)(lo - 1) * SEG_TIX_ENTRY + 8);
    return segment_find(s, off);
}

int segment_sync(struct segment *s)
{
    int rc = s->store->ops->sync(s->store, s->fd);
    if (rc == 0 && !s->active) {
        rc = s->store->ops->sync(s->store, s->idx_fd);
        if (rc == 0)
            rc = s->store->ops->sync(s->store, s->tix_fd);
    }
    return rc;
}

int segment_remove_base(struct store *st, int64_t base)
{
    static const char *const exts[] = {"log", "index", "timeindex"};
    int first = 0;
    for (int i = 0; i < 3; i++) {
        char name[SEG_NAME_MAX];
        seg_name(name, base, exts[i]);
        int rc = st->ops->remove(st, name);
        if (rc && !first)
            first = rc;
    }
    return first;
}

int segment_remove_files(struct segment *s)
{
    int rc = segment_remove_base(s->store, s->base);
    s->removed = true;
    return rc;
}
