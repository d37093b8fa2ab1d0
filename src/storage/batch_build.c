/*
 * batch_build.c — builds uncompressed RecordBatch v2 bytes (see batch.h).
 * Used by JSON-RPC log.append, the notary, compaction and tests. Not thread-safe per builder.
 */
#include "storage/batch.h"

#include <stdlib.h>

void batch_builder_init(struct batch_builder *bb, int64_t base_offset, int64_t base_timestamp)
{
    memset(bb, 0, sizeof *bb);
    buf_init(&bb->records);
    bb->base_offset = base_offset;
    bb->base_timestamp = base_timestamp;
    bb->max_timestamp = base_timestamp;
    bb->last_delta = -1;
    bb->producer_id = -1;
    bb->producer_epoch = -1;
    bb->base_sequence = -1;
    bb->leader_epoch = -1;
}

void batch_builder_destroy(struct batch_builder *bb)
{
    buf_free(&bb->records);
}

static size_t lenbytes_size(int32_t len)
{
    return uvarint_size(zigzag64(len)) + (len > 0 ? (size_t)len : 0);
}

static void put_lenbytes(struct buf *b, const void *p, int32_t len)
{
    buf_varlong(b, len);
    if (len > 0)
        buf_put(b, p, (size_t)len);
}

int batch_builder_add_at(struct batch_builder *bb, int64_t offset, int64_t timestamp,
                         const void *key, int32_t key_len, const void *value, int32_t value_len,
                         const struct batch_header_kv *headers, size_t header_count)
{
    if (key_len < -1 || value_len < -1 || (key_len > 0 && !key) || (value_len > 0 && !value) ||
        header_count > INT32_MAX || bb->count == INT32_MAX)
        return PLG_EINVAL;
    int64_t delta = offset - bb->base_offset;
    if (delta <= bb->last_delta || delta > INT32_MAX)
        return PLG_EINVAL;
    int64_t ts_delta = (int64_t)((uint64_t)timestamp - (uint64_t)bb->base_timestamp);
    size_t body = 1 + uvarint_size(zigzag64(ts_delta)) + uvarint_size(zigzag64(delta)) +
                  lenbytes_size(key_len) + lenbytes_size(value_len) +
                  uvarint_size(zigzag64((int64_t)header_count));
    for (size_t i = 0; i < header_count; i++) {
        if (headers[i].key_len < 0 || headers[i].value_len < -1)
            return PLG_EINVAL;
        body += lenbytes_size(headers[i].key_len) + lenbytes_size(headers[i].value_len);
    }
    if (body > INT32_MAX / 2)
        return PLG_ETOOBIG;
    struct buf *b = &bb->records;
    buf_varlong(b, (int64_t)body);
    buf_u8(b, 0);
    buf_varlong(b, ts_delta);
    buf_varlong(b, delta);
    put_lenbytes(b, key, key_len);
    put_lenbytes(b, value, value_len);
    buf_varlong(b, (int64_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        put_lenbytes(b, headers[i].key, headers[i].key_len);
        put_lenbytes(b, headers[i].value, headers[i].value_len);
    }
    if (b->oom)
        return PLG_ENOMEM;
    bb->count++;
    bb->last_delta = (int32_t)delta;
    if (timestamp > bb->max_timestamp)
        bb->max_timestamp = timestamp;
    return 0;
}

int batch_builder_add(struct batch_builder *bb, int64_t timestamp, const void *key, int32_t key_len,
                      const void *value, int32_t value_len, const struct batch_header_kv *headers,
                      size_t header_count)
{
    return batch_builder_add_at(bb, bb->base_offset + bb->last_delta + 1, timestamp, key, key_len,
                                value, value_len, headers, header_count);
}

int batch_builder_finish(struct batch_builder *bb, int32_t last_offset_delta, uint8_t **out,
                         size_t *len)
{
    if (bb->records.oom)
        return PLG_ENOMEM;
    int32_t lod = bb->last_delta < 0 ? 0 : bb->last_delta;
    if (last_offset_delta >= 0) {
        if (last_offset_delta < bb->last_delta)
            return PLG_EINVAL;
        lod = last_offset_delta;
    }
    size_t size = BATCH_HEADER_SIZE + bb->records.len;
    if (size - BATCH_LOG_OVERHEAD > INT32_MAX)
        return PLG_ETOOBIG;
    uint8_t *p = malloc(size);
    if (!p)
        return PLG_ENOMEM;
    be64_put(p + BATCH_OFF_BASE_OFFSET, (uint64_t)bb->base_offset);
    be32_put(p + BATCH_OFF_LENGTH, (uint32_t)(size - BATCH_LOG_OVERHEAD));
    be32_put(p + BATCH_OFF_LEADER_EPOCH, (uint32_t)bb->leader_epoch);
    p[BATCH_OFF_MAGIC] = BATCH_MAGIC;
    be16_put(p + BATCH_OFF_ATTRIBUTES, (uint16_t)(bb->attributes & ~BATCH_ATTR_CODEC_MASK));
    be32_put(p + BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)lod);
    be64_put(p + BATCH_OFF_BASE_TIMESTAMP, (uint64_t)bb->base_timestamp);
    be64_put(p + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)bb->max_timestamp);
    be64_put(p + BATCH_OFF_PRODUCER_ID, (uint64_t)bb->producer_id);
    be16_put(p + BATCH_OFF_PRODUCER_EPOCH, (uint16_t)bb->producer_epoch);
    be32_put(p + BATCH_OFF_BASE_SEQUENCE, (uint32_t)bb->base_sequence);
    be32_put(p + BATCH_OFF_RECORD_COUNT, (uint32_t)bb->count);
    if (bb->records.len)
        memcpy(p + BATCH_HEADER_SIZE, bb->records.data, bb->records.len);
    be32_put(p + BATCH_OFF_CRC, batch_compute_crc(p, size));
    *out = p;
    *len = size;
    return 0;
}
