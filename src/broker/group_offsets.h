/*
 * group_offsets.h — committed offsets of one consumer group, and the record format they are
 * persisted in (the internal compacted topic __consumer_offsets).
 *
 * Owns: a table (topic, partition) → (offset, leader epoch, metadata, commit time) with O(1)
 * lookups (open addressing over an entry array), and the codec of __consumer_offsets records.
 * The record format is Kafka's own (GroupMetadataManager): key = INT16 version (1) | STRING
 * group | STRING topic | INT32 partition; value = INT16 version (3) | INT64 offset | INT32
 * leader epoch | STRING metadata | INT64 commit timestamp. A null value is a tombstone (offset
 * deleted). Keys of version 2 are group-metadata records, which Pyralog does not write (group
 * membership is rebuilt by the clients after a restart) and skips on load. Values v0-v3 decode.
 *
 * Pure code: no I/O, no clock. One thread at a time per table.
 */
#ifndef PLG_BROKER_GROUP_OFFSETS_H
#define PLG_BROKER_GROUP_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct goff_entry {
    char *topic;      /* NUL-terminated copy (names may hold NUL bytes: use topic_len) */
    size_t topic_len; /* bytes in topic */
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata; /* NULL when the client sent null */
    int64_t commit_ts_ms;
};

struct goff_table {
    struct goff_entry *e;
    size_t n, cap;
    uint32_t *slots; /* 0 empty, else entry index + 1 */
    size_t nslots;   /* power of two, >= 2 * cap */
};

void goff_init(struct goff_table *t);
void goff_destroy(struct goff_table *t);

/* Sets (inserts or replaces) the committed offset. md NULL = null metadata. 0 or PLG_ENOMEM. */
int goff_set(struct goff_table *t, const char *topic, size_t topic_len, int32_t partition,
             int64_t offset, int32_t leader_epoch, const char *md, int32_t md_len,
             int64_t commit_ts_ms);
/* The entry, or NULL when nothing is committed. Valid until the next change of t. */
const struct goff_entry *goff_get(const struct goff_table *t, const char *topic, size_t topic_len,
                                  int32_t partition);
/* Removes the entry; returns 0 or PLG_ENOTFOUND. */
int goff_del(struct goff_table *t, const char *topic, size_t topic_len, int32_t partition);
static inline size_t goff_count(const struct goff_table *t)
{
    return t->n;
}

/* ---- __consumer_offsets records ---- */

/* Appends the key of an offset-commit record (version 1). */
void goff_key_encode(struct buf *b, const char *group, size_t group_len, const char *topic,
                     size_t topic_len, int32_t partition);
/* Appends the value (version 3); md NULL (or md_len < 0) for null metadata. */
void goff_value_encode(struct buf *b, int64_t offset, int32_t leader_epoch, const char *md,
                       int32_t md_len, int64_t commit_ts_ms);

/* A decoded record; strings are views into the key/value bytes (not NUL-terminated). */
struct goff_record {
    int16_t key_version;
    const char *group;
    size_t group_len;
    const char *topic;
    size_t topic_len;
    int32_t partition;
    bool tombstone; /* null value */
    int64_t offset;
    int32_t leader_epoch;
    const char *metadata; /* NULL for null */
    int32_t metadata_len;
    int64_t commit_ts_ms;
};

/*
 * Decodes one record (value NULL = tombstone). Returns 0, PLG_EUNSUPP for a record that is not
 * an offset commit (group metadata, unknown versions: skip it), PLG_ETRUNC / PLG_ECORRUPT for
 * malformed bytes. Never reads outside key[0..klen) and value[0..vlen).
 */
int goff_record_decode(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                       bool has_value, struct goff_record *out);

#endif
