/*
 * group_offsets.c — committed-offset table and __consumer_offsets record codec (group_offsets.h).
 */
#include "broker/group_offsets.h"

#include <stdlib.h>
#include <string.h>

#include "pyralog/pyralog.h"

void goff_init(struct goff_table *t)
{
    memset(t, 0, sizeof *t);
}

static void entry_free(struct goff_entry *e)
{
    free(e->topic);
    free(e->metadata);
}

void goff_destroy(struct goff_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        entry_free(&t->e[i]);
    free(t->e);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* FNV-1a over the topic bytes and the partition. */
static uint32_t hash_tp(const char *topic, size_t len, int32_t partition)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)topic[i]) * 16777619u;
    for (int i = 0; i < 4; i++)
        h = (h ^ (uint8_t)((uint32_t)partition >> (8 * i))) * 16777619u;
    return h;
}

static bool entry_is(const struct goff_entry *e, const char *topic, size_t len, int32_t partition)
{
    return e->partition == partition && e->topic_len == len && !memcmp(e->topic, topic, len);
}

/* The slot holding (topic, partition), or the empty slot where it would go. */
static size_t find_slot(const struct goff_table *t, const char *topic, size_t len,
                        int32_t partition)
{
    size_t mask = t->nslots - 1;
    size_t i = hash_tp(topic, len, partition) & mask;
    while (t->slots[i] && !entry_is(&t->e[t->slots[i] - 1], topic, len, partition))
        i = (i + 1) & mask;
    return i;
}

static int rehash(struct goff_table *t, size_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s)
        return PLG_ENOMEM;
    free(t->slots);
    t->slots = s;
    t->nslots = nslots;
    for (size_t k = 0; k < t->n; k++) {
        const struct goff_entry *e = &t->e[k];
        size_t i = find_slot(t, e->topic, e->topic_len, e->partition);
        t->slots[i] = (uint32_t)(k + 1);
    }
    return 0;
}

const struct goff_entry *goff_get(const struct goff_table *t, const char *topic, size_t len,
                                  int32_t partition)
{
    if (!t->nslots)
        return NULL;
    size_t i = find_slot(t, topic, len, partition);
    return t->slots[i] ? &t->e[t->slots[i] - 1] : NULL;
}

static char *dup_n(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

int goff_set(struct goff_table *t, const char *topic, size_t len, int32_t partition, int64_t offset,
             int32_t leader_epoch, const char *md, int32_t md_len, int64_t ts)
{
    char *mdc = NULL;
    if (md && md_len >= 0 && !(mdc = dup_n(md, (size_t)md_len)))
        return PLG_ENOMEM;
    struct goff_entry *e = (struct goff_entry *)goff_get(t, topic, len, partition);
    if (!e) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 16;
            struct goff_entry *ne = realloc(t->e, cap * sizeof *ne);
            if (!ne) {
                free(mdc);
                return PLG_ENOMEM;
            }
            t->e = ne;
            t->cap = cap;
        }
        if (t->nslots < 2 * t->cap && rehash(t, 4 * t->cap)) {
            free(mdc);
            return PLG_ENOMEM;
        }
        char *tc = dup_n(topic, len);
        if (!tc) {
            free(mdc);
            return PLG_ENOMEM;
        }
        e = &t->e[t->n];
        memset(e, 0, sizeof *e);
        e->topic = tc;
        e->topic_len = len;
        e->partition = partition;
        t->slots[find_slot(t, topic, len, partition)] = (uint32_t)(t->n + 1);
        t->n++;
    }
    free(e->metadata);
    e->metadata = mdc;
    e->offset = offset;
    e->leader_epoch = leader_epoch;
    e->commit_ts_ms = ts;
    return 0;
}

int goff_del(struct goff_table *t, const char *topic, size_t len, int32_t partition)
{
    const struct goff_entry *e = goff_get(t, topic, len, partition);
    if (!e)
        return PLG_ENOTFOUND;
    size_t k = (size_t)(e - t->e);
    entry_free(&t->e[k]);
    t->e[k] = t->e[--t->n];
    /* Deletes are rare (tombstones): rebuilding the index keeps probing simple. */
    return rehash(t, t->nslots);
}

/* ---- records ---- */

static void put_str(struct buf *b, const char *s, size_t n)
{
    buf_be16(b, (uint16_t)n);
    buf_put(b, s, n);
}

void goff_key_encode(struct buf *b, const char *group, size_t glen, const char *topic, size_t tlen,
                     int32_t partition)
{
    buf_be16(b, 1);
    put_str(b, group, glen);
    put_str(b, topic, tlen);
    buf_be32(b, (uint32_t)partition);
}

void goff_value_encode(struct buf *b, int64_t offset, int32_t leader_epoch, const char *md,
                       int32_t md_len, int64_t ts)
{
    buf_be16(b, 3);
    buf_be64(b, (uint64_t)offset);
    buf_be32(b, (uint32_t)leader_epoch);
    if (md && md_len >= 0)
        put_str(b, md, (size_t)md_len);
    else
        buf_be16(b, 0xffff);
    buf_be64(b, (uint64_t)ts);
}

/* STRING (non-null unless nullable; null gives p NULL, len -1). */
static int rd_str(struct rd *r, bool nullable, const char **p, int32_t *len)
{
    uint16_t n;
    int rc = rd_be16(r, &n);
    if (rc)
        return rc;
    if ((int16_t)n < 0) {
        if (!nullable || (int16_t)n != -1)
            return PLG_ECORRUPT;
        *p = NULL;
        *len = -1;
        return 0;
    }
    const uint8_t *s;
    if ((rc = rd_bytes(r, &s, n)))
        return rc;
    *p = (const char *)s;
    *len = n;
    return 0;
}

int goff_record_decode(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                       bool has_value, struct goff_record *out)
{
    memset(out, 0, sizeof *out);
    struct rd r;
    rd_init(&r, key, klen);
    uint16_t ver;
    int rc = rd_be16(&r, &ver);
    if (rc)
        return rc;
    out->key_version = (int16_t)ver;
    if (ver > 1)
        return PLG_EUNSUPP; /* group metadata (2) or a newer record kind */
    int32_t glen, tlen;
    uint32_t part;
    if ((rc = rd_str(&r, false, &out->group, &glen)) ||
        (rc = rd_str(&r, false, &out->topic, &tlen)) || (rc = rd_be32(&r, &part)))
        return rc;
    if (rd_left(&r))
        return PLG_ECORRUPT;
    out->group_len = (size_t)glen;
    out->topic_len = (size_t)tlen;
    out->partition = (int32_t)part;
    out->leader_epoch = -1;
    if (!has_value) {
        out->tombstone = true;
        return 0;
    }
    rd_init(&r, value, vlen);
    uint64_t off, ts = 0, expire;
    uint32_t epoch;
    if ((rc = rd_be16(&r, &ver)) || (rc = rd_be64(&r, &off)))
        return rc;
    if (ver > 3)
        return PLG_EUNSUPP;
    if (ver == 3) {
        if ((rc = rd_be32(&r, &epoch)))
            return rc;
        out->leader_epoch = (int32_t)epoch;
    }
    if ((rc = rd_str(&r, true, &out->metadata, &out->metadata_len)) || (rc = rd_be64(&r, &ts)))
        return rc;
    if (ver == 1 && (rc = rd_be64(&r, &expire)))
        return rc;
    out->offset = (int64_t)off;
    out->commit_ts_ms = (int64_t)ts;
    return 0;
}
