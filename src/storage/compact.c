/*
 * compact.c — key-based compaction of a partition log (cleanup.policy=compact).
 *
 * Scope: the sealed segments (never the active one, so appends are never disturbed).
 * Pass 1 maps every key to the offset of its last record in the sealed segments.
 * Pass 2 rewrites each sealed segment that loses records: a record survives when it is the last
 * of its key (records without a key always survive); a surviving tombstone (null value) is
 * dropped once its timestamp is older than delete.retention.ms. Control batches are copied as
 * they are. A batch keeping every record is copied byte for byte (compression kept); a batch
 * losing some is rebuilt uncompressed with the same base offset, lastOffsetDelta, producer
 * fields and timestamp type, and the survivors keep their offsets; a batch losing all becomes an
 * empty batch over the same offset span, and a run of such batches (same producer and kind)
 * collapses into one, so segments stay contiguous in offsets at 61 bytes per run.
 *
 * Files: the worker writes the new segment to "<base>.log.cleaned" with fresh indexes
 * "<base>.{index,timeindex}.cleaned", all synced; install removes the old index files, renames
 * the three over the live names and syncs the directory. A crash at any point leaves either the
 * old or the new .log with its own indexes or none (stray ".cleaned" files are removed at open,
 * missing indexes rebuilt by recovery).
 * Thread model (log.h): begin and install on the owner thread; run on any one thread, touching
 * only the snapshot (sealed segments are immutable: the worker reads [0, size at begin) of their
 * read-only mappings) and its own directory handle; free on any thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "storage/log_internal.h"

struct kent {
    uint64_t hash;
    uint8_t *key;
    size_t klen;
    int64_t offset;
};

struct keymap {
    struct kent *e;
    size_t cap, n;
};

static uint64_t key_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h | 1; /* 0 marks an empty slot */
}

static struct kent *km_slot(struct keymap *m, const uint8_t *k, size_t kl, uint64_t h)
{
    size_t i = (size_t)h & (m->cap - 1);
    for (;;) {
        struct kent *e = &m->e[i];
        if (e->hash == 0 || (e->hash == h && e->klen == kl && memcmp(e->key, k, kl) == 0))
            return e;
        i = (i + 1) & (m->cap - 1);
    }
}

static int km_grow(struct keymap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    struct kent *old = m->e;
    size_t ocap = m->cap;
    m->e = calloc(ncap, sizeof *m->e);
    if (!m->e) {
        m->e = old;
        return PLG_ENOMEM;
    }
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].hash)
            *km_slot(m, old[i].key, old[i].klen, old[i].hash) = old[i];
    }
    free(old);
    return 0;
}

static int km_put(struct keymap *m, const uint8_t *k, size_t kl, int64_t offset)
{
    if ((m->n + 1) * 2 > m->cap && km_grow(m))
        return PLG_ENOMEM;
    uint64_t h = key_hash(k, kl);
    struct kent *e = km_slot(m, k, kl, h);
    if (e->hash == 0) {
        e->key = malloc(kl ? kl : 1);
        if (!e->key)
            return PLG_ENOMEM;
        memcpy(e->key, k, kl);
        e->klen = kl;
        e->hash = h;
        m->n++;
    }
    e->offset = offset;
    return 0;
}

static int64_t km_get(struct keymap *m, const uint8_t *k, size_t kl)
{
    if (!m->cap)
        return -1;
    struct kent *e = km_slot(m, k, kl, key_hash(k, kl));
    return e->hash ? e->offset : -1;
}

static void km_free(struct keymap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->e[i].hash ? m->e[i].key : NULL);
    free(m->e);
}

/* Calls fn for every record of batch b (decompressed into scratch when needed). */
typedef int (*rec_fn)(void *ctx, const struct batch *b, const struct batch_record *r);

static int for_records(const struct batch *b, struct buf *scratch, rec_fn fn, void *ctx)
{
    const uint8_t *rp;
    size_t rl;
    int rc = batch_records(b, scratch, 256u << 20, &rp, &rl);
    if (rc)
        return rc;
    struct batch_iter it;
    struct batch_record r;
    batch_iter_init(&it, b, rp, rl);
    while ((rc = batch_iter_next(&it, &r)) == 1) {
        if ((rc = fn(ctx, b, &r)) != 0)
            return rc;
    }
    return rc;
}

static int map_record(void *ctx, const struct batch *b, const struct batch_record *r)
{
    (void)b;
    if (r->key_len < 0)
        return 0;
    return km_put(ctx, r->key, (size_t)r->key_len, r->offset);
}

struct rewrite {
    struct keymap *km;
    int64_t horizon; /* tombstones older than this go */
    struct batch_builder bb;
    int32_t kept, dropped;
    int64_t dropped_total;
    struct batch_header_kv *hdrs;
    size_t hcap;
};

static bool survives(struct rewrite *w, const struct batch_record *r)
{
    if (r->key_len < 0)
        return true;
    if (km_get(w->km, r->key, (size_t)r->key_len) != r->offset)
        return false;
    return !(r->value_len < 0 && r->timestamp < w->horizon);
}

static int count_record(void *ctx, const struct batch *b, const struct batch_record *r)
{
    (void)b;
    struct rewrite *w = ctx;
    if (survives(w, r))
        w->kept++;
    else
        w->dropped++;
    return 0;
}

static int keep_record(void *ctx, const struct batch *b, const struct batch_record *r)
{
    (void)b;
    struct rewrite *w = ctx;
    if (!survives(w, r))
        return 0;
    if ((size_t)r->header_count > w->hcap) {
        struct batch_header_kv *n = realloc(w->hdrs, (size_t)r->header_count * sizeof *n);
        if (!n)
            return PLG_ENOMEM;
        w->hdrs = n;
        w->hcap = (size_t)r->header_count;
    }
    struct rd hr;
    rd_init(&hr, r->headers, r->headers_len);
    for (int32_t i = 0; i < r->header_count; i++) {
        if (batch_header_next(&hr, &w->hdrs[i]) != 1)
            return PLG_ECORRUPT;
    }
    return batch_builder_add_at(&w->bb, r->offset, r->timestamp, r->key, r->key_len, r->value,
                                r->value_len, w->hdrs, (size_t)r->header_count);
}

/* Rebuilds batch b with its surviving records (none: an empty batch over the same span). */
static int rebuild_batch(struct rewrite *w, const struct batch *b, struct buf *scratch,
                         struct buf *out)
{
    batch_builder_init(&w->bb, b->base_offset, b->base_timestamp);
    w->bb.leader_epoch = b->leader_epoch;
    w->bb.producer_id = b->producer_id;
    w->bb.producer_epoch = b->producer_epoch;
    w->bb.base_sequence = b->base_sequence;
    w->bb.attributes = (int16_t)(b->attributes & BATCH_ATTR_TRANSACTIONAL);
    int rc = for_records(b, scratch, keep_record, w);
    uint8_t *nb = NULL;
    size_t nlen;
    if (rc == 0)
        rc = batch_builder_finish(&w->bb, b->last_offset_delta, &nb, &nlen);
    batch_builder_destroy(&w->bb);
    if (rc == 0 && batch_is_log_append_time(b))
        rc = batch_set_log_append_time(nb, nlen, b->max_timestamp);
    if (rc == 0)
        buf_put(out, nb, nlen);
    free(nb);
    return rc ? rc : out->oom ? PLG_ENOMEM : 0;
}

/*
 * Extends the empty batch at out[at] (the last batch written) to also cover b's offsets, when
 * both belong to the same producer and kind and the span fits; true when merged.
 */
static bool merge_empty(struct buf *out, size_t at, const struct batch *b)
{
    struct batch e;
    if (batch_parse(out->data + at, out->len - at, &e) || e.record_count != 0 ||
        e.producer_id != b->producer_id ||
        ((e.attributes ^ b->attributes) & ~BATCH_ATTR_CODEC_MASK) != 0)
        return false;
    int64_t lod = batch_last_offset(b) - e.base_offset;
    if (lod > INT32_MAX)
        return false;
    uint8_t *p = out->data + at;
    be32_put(p + BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)lod);
    if (b->max_timestamp > e.max_timestamp)
        be64_put(p + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
    be32_put(p + BATCH_OFF_CRC, batch_compute_crc(p, e.size));
    return true;
}

/* Writes the compacted contents of s into out; *changed when any record went. Runs of batches
 * left without records collapse into one empty batch spanning their offsets. */
static int compact_segment(struct rewrite *w, const uint8_t *map, int64_t size, struct buf *scratch,
                           struct buf *out, bool *changed)
{
    *changed = false;
    size_t empty_at = SIZE_MAX; /* offset in out of a trailing empty batch */
    for (int64_t pos = 0; pos < size;) {
        struct batch b;
        int rc = batch_parse(map + pos, (size_t)(size - pos), &b);
        if (rc)
            return rc;
        pos += (int64_t)b.size;
        if (batch_is_control(&b)) {
            buf_put(out, b.records - BATCH_HEADER_SIZE, b.size);
            empty_at = SIZE_MAX;
            continue;
        }
        w->kept = w->dropped = 0;
        if ((rc = for_records(&b, scratch, count_record, w)) != 0)
            return rc;
        if (w->kept == 0 && empty_at != SIZE_MAX && merge_empty(out, empty_at, &b)) {
            *changed = true;
            w->dropped_total += w->dropped;
            continue;
        }
        size_t at = out->len;
        if (w->dropped == 0) {
            buf_put(out, b.records - BATCH_HEADER_SIZE, b.size);
        } else {
            *changed = true;
            w->dropped_total += w->dropped;
            if ((rc = rebuild_batch(w, &b, scratch, out)) != 0)
                return rc;
        }
        empty_at = w->kept == 0 ? at : SIZE_MAX;
    }
    return out->oom ? PLG_ENOMEM : 0;
}

/* ---- the split compaction (log.h) ---- */

struct plan_seg {
    struct segment *s;   /* reference taken at begin */
    int64_t size;        /* s->size at begin: the worker reads [0, size) only */
    struct segment *out; /* the compacted copy (reference), NULL when unchanged */
    int64_t dropped;     /* records the copy dropped */
};

struct plg_compaction {
    struct store store; /* own directory handle: the log may close while the worker runs */
    int32_t index_bytes, index_interval;
    int64_t now, horizon;
    struct plan_seg *segs;
    size_t n;
    int run_rc;
};

static const char *const cleaned_ext[] = {"log", "index", "timeindex"};

static void cleaned_name(char *out, size_t cap, int64_t base, int k, bool cleaned)
{
    char name[SEG_NAME_MAX];
    seg_name(name, base, cleaned_ext[k]);
    snprintf(out, cap, "%s%s", name, cleaned ? ".cleaned" : "");
}

int plg_log_compact_begin(plg_log_t *log, plg_compaction_t **out)
{
    *out = NULL;
    if (log->compacting)
        return PLG_ESTATE;
    if (!(log->cfg.cleanup_policy & PLG_CLEANUP_COMPACT) || log->nsegs < 2)
        return 0;
    struct plg_compaction *c = calloc(1, sizeof *c);
    if (!c)
        return PLG_ENOMEM;
    c->n = log->nsegs - 1;
    c->segs = calloc(c->n, sizeof *c->segs);
    int rc = c->segs ? store_dup(&log->store, &c->store) : PLG_ENOMEM;
    if (rc) {
        free(c->segs);
        free(c);
        return rc;
    }
    for (size_t i = 0; i < c->n; i++) {
        segment_ref(log->segs[i]);
        c->segs[i].s = log->segs[i];
        c->segs[i].size = log->segs[i]->size;
    }
    c->index_bytes = log->cfg.segment_index_bytes;
    c->index_interval = log->cfg.index_interval_bytes;
    c->now = log_now(log);
    c->horizon = c->now - log->cfg.delete_retention_ms;
    log->compacting = true;
    *out = c;
    return 0;
}

/* Writes data as "<base>.log.cleaned", synced, and makes it a sealed segment whose indexes are
 * "<base>.{index,timeindex}.cleaned", synced too. Worker side: only the store's directory. */
static int write_cleaned(struct plg_compaction *c, struct plan_seg *ps, const struct buf *data)
{
    char name[SEG_NAME_MAX + 16];
    cleaned_name(name, sizeof name, ps->s->base, 0, true);
    struct store *st = &c->store;
    int fd;
    int rc = st->ops->open(st, name, true, &fd);
    if (rc)
        return rc;
    if (ftruncate(fd, 0) < 0)
        rc = -errno;
    if (rc == 0)
        rc = store_pwrite_all(fd, data->data, data->len, 0);
    if (rc == 0)
        rc = st->ops->sync(st, fd);
    if (rc) {
        close(fd);
        return rc;
    }
    rc = segment_adopt(st, ps->s->base, fd, ".cleaned", c->index_bytes, c->index_interval, c->now,
                       &ps->out);
    if (rc == 0 && (rc = segment_sync(ps->out)) != 0) {
        segment_unref(ps->out);
        ps->out = NULL;
    }
    return rc;
}

int plg_log_compact_run(plg_compaction_t *c)
{
    struct keymap km = {0};
    struct buf scratch, out;
    buf_init(&scratch);
    buf_init(&out);
    int rc = 0;
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        const struct plan_seg *ps = &c->segs[i];
        for (int64_t pos = 0; pos < ps->size && rc == 0;) {
            struct batch b;
            rc = batch_parse(ps->s->map + pos, (size_t)(ps->size - pos), &b);
            if (rc)
                break;
            if (!batch_is_control(&b))
                rc = for_records(&b, &scratch, map_record, &km);
            pos += (int64_t)b.size;
        }
    }
    struct rewrite w = {.km = &km, .horizon = c->horizon};
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        struct plan_seg *ps = &c->segs[i];
        bool changed;
        int64_t before = w.dropped_total;
        buf_reset(&out);
        rc = compact_segment(&w, ps->s->map, ps->size, &scratch, &out, &changed);
        if (rc == 0 && changed) {
            ps->dropped = w.dropped_total - before;
            rc = write_cleaned(c, ps, &out);
        }
    }
    free(w.hdrs);
    buf_free(&scratch);
    buf_free(&out);
    km_free(&km);
    c->run_rc = rc;
    return rc;
}

/* Index of s among the log's sealed segments, or -1 (binary search by base). */
static long sealed_index(const struct plg_log *log, const struct segment *s)
{
    size_t lo = 0, hi = log->nsegs - 1; /* the active segment is never a match */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base < s->base)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < log->nsegs - 1 && log->segs[lo] == s ? (long)lo : -1;
}

/* Puts the cleaned files of ps in place of the live ones: old indexes removed first, so a crash
 * leaves the old or new .log with either matching or missing (rebuilt) indexes, never an index
 * of the other file. 0 once the .log is renamed (index renames failing only cost a rebuild). */
static int rename_in(struct plg_log *log, struct plan_seg *ps)
{
    struct store *st = &log->store;
    char from[SEG_NAME_MAX + 16], to[SEG_NAME_MAX + 16];
    for (int k = 1; k < 3; k++) {
        cleaned_name(to, sizeof to, ps->s->base, k, false);
        int rc = st->ops->remove(st, to);
        if (rc)
            return rc;
    }
    for (int k = 0; k < 3; k++) {
        cleaned_name(from, sizeof from, ps->s->base, k, true);
        cleaned_name(to, sizeof to, ps->s->base, k, false);
        int rc = st->ops->rename(st, from, to);
        if (rc && k == 0)
            return rc;
    }
    return 0;
}

int plg_log_compact_install(plg_log_t *log, plg_compaction_t *c, int64_t *removed,
                            int32_t *discarded)
{
    if (removed)
        *removed = 0;
    if (discarded)
        *discarded = 0;
    log->compacting = false;
    if (c->run_rc)
        return c->run_rc;
    /* Valid from the last planned segment down to the first one that changed. */
    bool valid = true;
    long *at = calloc(c->n ? c->n : 1, sizeof *at);
    if (!at)
        return PLG_ENOMEM;
    for (size_t k = c->n; k-- > 0;) {
        struct plan_seg *ps = &c->segs[k];
        at[k] = valid ? sealed_index(log, ps->s) : -1;
        valid = at[k] >= 0 && ps->s->size == ps->size;
        if (!valid)
            at[k] = -1;
    }
    int rc = 0;
    bool renamed = false;
    for (size_t k = 0; k < c->n; k++) {
        struct plan_seg *ps = &c->segs[k];
        if (!ps->out)
            continue;
        if (at[k] < 0) {
            if (discarded)
                (*discarded)++;
            continue;
        }
        if (rc == 0)
            rc = rename_in(log, ps);
        if (rc) {
            at[k] = -1;
            continue;
        }
        renamed = true;
    }
    int drc = renamed ? log_sync_dir_soon(log) : 0; /* not on the owner thread (a loop) */
    for (size_t k = 0; k < c->n; k++) {
        struct plan_seg *ps = &c->segs[k];
        if (!ps->out || at[k] < 0)
            continue;
        struct segment *old = log->segs[at[k]];
        ps->out->store = &log->store;
        log->segs[at[k]] = ps->out;
        ps->out = NULL;
        if (removed)
            *removed += ps->dropped;
        log_event(log, PLG_SEG_COMPACTED, old->base, log->segs[at[k]]->next_offset);
        segment_unref(old);
    }
    free(at);
    return rc ? rc : drc;
}

void plg_log_compact_free(plg_compaction_t *c)
{
    if (!c)
        return;
    for (size_t k = 0; k < c->n; k++) {
        struct plan_seg *ps = &c->segs[k];
        if (ps->out) {
            for (int e = 0; e < 3; e++) {
                char name[SEG_NAME_MAX + 16];
                cleaned_name(name, sizeof name, ps->s->base, e, true);
                c->store.ops->remove(&c->store, name);
            }
            segment_unref(ps->out);
        }
        segment_unref(ps->s);
    }
    free(c->segs);
    store_close(&c->store);
    free(c);
}

int plg_log_compact(plg_log_t *log, int64_t *removed)
{
    if (removed)
        *removed = 0;
    plg_compaction_t *c;
    int rc = plg_log_compact_begin(log, &c);
    if (rc || !c)
        return rc;
    plg_log_compact_run(c);
    rc = plg_log_compact_install(log, c, removed, NULL);
    plg_log_compact_free(c);
    return rc;
}
