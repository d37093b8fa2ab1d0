/*
 * batch.h — Kafka RecordBatch v2 (magic 2): parse, validate, iterate, patch, build.
 *
 * Owns: the byte format of one record batch, the unit Pyralog stores and serves unchanged.
 * Pure functions over (const uint8_t *p, size_t len): no I/O, no clock, no globals; every read
 * of external bytes is bounds-checked and a malformed batch gives a specific error:
 *   PLG_ETRUNC    the bytes end before the batch (or a field) does
 *   PLG_ECORRUPT  lengths, counts, varints or the CRC-32C are wrong
 *   PLG_EUNSUPP   magic other than 2, or an unknown compression codec
 *   PLG_ECOMPRESS the compressed records section cannot be decoded
 *   PLG_ETOOBIG   decompressed size above the caller's limit
 * Thread model: reentrant; callers own all buffers. Depends only on src/base and the codecs.
 *
 * Layout (big-endian), offsets from the start of the batch:
 *    0 baseOffset i64 | 8 batchLength i32 (bytes after this field) | 12 partitionLeaderEpoch i32
 *   16 magic i8 | 17 crc u32 (CRC-32C of bytes 21..end) | 21 attributes i16 | 23 lastOffsetDelta
 * i32 27 baseTimestamp i64 | 35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16 53
 * baseSequence i32 | 57 recordCount i32 | 61 records (compressed as one block if codec != 0)
 * Record: length varint | attributes i8 | timestampDelta varlong | offsetDelta varint |
 *   keyLength varint (-1 null) | key | valueLength varint (-1 null) | value | headerCount varint |
 *   headers (keyLength varint, key, valueLength varint (-1 null), value).
 */
#ifndef PLG_STORAGE_BATCH_H
#define PLG_STORAGE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/bytes.h"

#define BATCH_HEADER_SIZE 61  /* bytes before the records */
#define BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength: bytes not counted by batchLength */
#define BATCH_MAGIC 2

#define BATCH_OFF_BASE_OFFSET 0
#define BATCH_OFF_LENGTH 8
#define BATCH_OFF_LEADER_EPOCH 12
#define BATCH_OFF_MAGIC 16
#define BATCH_OFF_CRC 17
#define BATCH_OFF_ATTRIBUTES 21
#define BATCH_OFF_LAST_OFFSET_DELTA 23
#define BATCH_OFF_BASE_TIMESTAMP 27
#define BATCH_OFF_MAX_TIMESTAMP 35
#define BATCH_OFF_PRODUCER_ID 43
#define BATCH_OFF_PRODUCER_EPOCH 51
#define BATCH_OFF_BASE_SEQUENCE 53
#define BATCH_OFF_RECORD_COUNT 57

/* Attribute bits. */
#define BATCH_ATTR_CODEC_MASK 0x07
#define BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BATCH_ATTR_TRANSACTIONAL 0x10
#define BATCH_ATTR_CONTROL 0x20

enum batch_codec {
    BATCH_CODEC_NONE = 0,
    BATCH_CODEC_GZIP = 1,
    BATCH_CODEC_SNAPPY = 2,
    BATCH_CODEC_LZ4 = 3,
    BATCH_CODEC_ZSTD = 4,
};

/* The parsed header of one batch; `records` points into the caller's bytes. */
struct batch {
    int64_t base_offset;
    int32_t length; /* batchLength */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
    size_t size;            /* whole batch: BATCH_LOG_OVERHEAD + length */
    const uint8_t *records; /* records section (compressed when codec != 0) */
    size_t records_len;
};

static inline int batch_codec(const struct batch *b)
{
    return b->attributes & BATCH_ATTR_CODEC_MASK;
}
static inline bool batch_is_control(const struct batch *b)
{
    return (b->attributes & BATCH_ATTR_CONTROL) != 0;
}
static inline bool batch_is_transactional(const struct batch *b)
{
    return (b->attributes & BATCH_ATTR_TRANSACTIONAL) != 0;
}
static inline bool batch_is_log_append_time(const struct batch *b)
{
    return (b->attributes & BATCH_ATTR_LOG_APPEND_TIME) != 0;
}
static inline int64_t batch_last_offset(const struct batch *b)
{
    return b->base_offset + b->last_offset_delta;
}

/*
 * Reads the size of the batch starting at p without checking anything else: *size is
 * BATCH_LOG_OVERHEAD + batchLength. PLG_ETRUNC when len < BATCH_LOG_OVERHEAD, PLG_ECORRUPT when
 * batchLength is below the header size. Used to split a record set into batches.
 */
int batch_frame_size(const uint8_t *p, size_t len, size_t *size);

/*
 * Parses the header of the batch at the start of p (which may hold more bytes after it):
 * checks lengths, magic, codec, record count and lastOffsetDelta; not the CRC. Fills *b.
 */
int batch_parse(const uint8_t *p, size_t len, struct batch *b);

/* batch_parse plus the CRC-32C check. What a broker runs on every produced batch. */
int batch_validate(const uint8_t *p, size_t len, struct batch *b);

/* The CRC-32C the batch should carry (over bytes 21..size). size >= BATCH_HEADER_SIZE. */
uint32_t batch_compute_crc(const uint8_t *p, size_t size);

/*
 * Decompresses the records section of a compressed batch into out (appended, out not reset).
 * max_out bounds the decompressed size (PLG_ETOOBIG above it). For an uncompressed batch the
 * records are copied. Codecs: gzip (zlib, gzip or zlib wrapper), snappy (plain, as librdkafka
 * writes, or xerial framing, as the Java client writes), lz4 (frame format), zstd.
 */
int batch_decompress(const struct batch *b, struct buf *out, size_t max_out);

/* The most a batch's records may decompress to, wherever the server decompresses one (checks,
 * Merkle leaves, compaction, JSON-RPC reads, the offsets loader): a bomb stops there. */
#define BATCH_MAX_RECORDS_BYTES (64u << 20)

/*
 * The uncompressed records section: for codec none a view into the batch, otherwise
 * decompressed into scratch (reset first). p and len stay valid while the batch and scratch do.
 */
int batch_records(const struct batch *b, struct buf *scratch, size_t max_out, const uint8_t **p,
                  size_t *len);

/* One record; key/value/headers point into the records section. len -1 means null. */
struct batch_record {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    int64_t offset;    /* base_offset + offset_delta */
    int64_t timestamp; /* base_timestamp + delta, or max_timestamp under LogAppendTime */
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    int32_t header_count;
    const uint8_t *headers; /* the raw header section, for batch_header_next */
    size_t headers_len;
};

struct batch_header_kv {
    const uint8_t *key;
    int32_t key_len; /* never -1 */
    const uint8_t *value;
    int32_t value_len; /* -1 null */
};

/* Iterates the records of an uncompressed records section. */
struct batch_iter {
    struct rd rd;
    const struct batch *b;
    int32_t left;
    int32_t prev_delta;
};

/* records/len: the uncompressed records section (from batch_records). */
void batch_iter_init(struct batch_iter *it, const struct batch *b, const uint8_t *records,
                     size_t len);
/*
 * Next record: returns 1 and fills *r, 0 after the last record (having checked that no bytes
 * trail the declared count), or a negative error. Offset deltas must increase strictly and stay
 * within lastOffsetDelta; each record's length must match its fields exactly.
 */
int batch_iter_next(struct batch_iter *it, struct batch_record *r);

/* Walks a record's headers: pass a cursor initialised over r->headers; returns 1, 0 or error. */
int batch_header_next(struct rd *hdrs, struct batch_header_kv *h);

/*
 * Parses, validates the CRC and walks every record (decompressing into scratch when needed),
 * checking record count and deltas. The full check for a batch arriving from outside.
 */
int batch_validate_deep(const uint8_t *p, size_t len, struct buf *scratch, size_t max_out,
                        struct batch *b);

/* In-place patches. The CRC does not cover these fields, so it stays valid. size >= 61. */
void batch_set_base_offset(uint8_t *p, int64_t base_offset);
void batch_set_leader_epoch(uint8_t *p, int32_t epoch);

/*
 * Marks the batch LogAppendTime with timestamp ts: sets attribute bit 3, writes maxTimestamp,
 * recomputes the CRC. p must hold the whole (validated) batch of len bytes.
 */
int batch_set_log_append_time(uint8_t *p, size_t len, int64_t ts);

/*
 * Builder for uncompressed batches (JSON-RPC log.append, the notary, tests, compaction).
 * Records get consecutive offset deltas unless batch_builder_add_at gives explicit offsets.
 * Usage: init, add..., finish (takes the bytes), destroy. Memory: the builder owns its buffer
 * until finish hands it over (caller free()s).
 */
struct batch_builder {
    struct buf records;
    int64_t base_offset;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int32_t count;
    int32_t last_delta;
    int16_t attributes;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t leader_epoch;
};

/* base_timestamp: the first record's timestamp (ms). Producer fields start as -1. */
void batch_builder_init(struct batch_builder *bb, int64_t base_offset, int64_t base_timestamp);
void batch_builder_destroy(struct batch_builder *bb);
/* Appends a record at the next offset. key/value may be NULL with len -1 (null). */
int batch_builder_add(struct batch_builder *bb, int64_t timestamp, const void *key, int32_t key_len,
                      const void *value, int32_t value_len, const struct batch_header_kv *headers,
                      size_t header_count);
/* Appends a record at an explicit offset (> the previous one), for rewriting batches. */
int batch_builder_add_at(struct batch_builder *bb, int64_t offset, int64_t timestamp,
                         const void *key, int32_t key_len, const void *value, int32_t value_len,
                         const struct batch_header_kv *headers, size_t header_count);
/*
 * Writes the header and CRC; hands the batch to the caller (*out, free() it). last_offset_delta
 * may be raised above the last record (compaction keeps the original span); pass -1 for none.
 */
int batch_builder_finish(struct batch_builder *bb, int32_t last_offset_delta, uint8_t **out,
                         size_t *len);

#endif
