/*
 * batch.c — RecordBatch v2 parsing, validation, iteration, decompression and patching.
 * See batch.h for the format and the error contract. Pure and reentrant.
 */
#include "storage/batch.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "base/crc32c.h"

int batch_frame_size(const uint8_t *p, size_t len, size_t *size)
{
    if (len < BATCH_LOG_OVERHEAD)
        return PLG_ETRUNC;
    int32_t blen = (int32_t)be32_get(p + BATCH_OFF_LENGTH);
    if (blen < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD)
        return PLG_ECORRUPT;
    *size = (size_t)BATCH_LOG_OVERHEAD + (size_t)blen;
    return 0;
}

int batch_parse(const uint8_t *p, size_t len, struct batch *b)
{
    size_t size;
    int rc = batch_frame_size(p, len, &size);
    if (rc)
        return rc;
    /* The magic byte decides the format, so look at it before demanding the whole v2 header. */
    if (len > BATCH_OFF_MAGIC && (int8_t)p[BATCH_OFF_MAGIC] != BATCH_MAGIC)
        return PLG_EUNSUPP;
    if (len < size)
        return PLG_ETRUNC;
    b->base_offset = (int64_t)be64_get(p + BATCH_OFF_BASE_OFFSET);
    b->length = (int32_t)be32_get(p + BATCH_OFF_LENGTH);
    b->leader_epoch = (int32_t)be32_get(p + BATCH_OFF_LEADER_EPOCH);
    b->magic = (int8_t)p[BATCH_OFF_MAGIC];
    b->crc = be32_get(p + BATCH_OFF_CRC);
    b->attributes = (int16_t)be16_get(p + BATCH_OFF_ATTRIBUTES);
    b->last_offset_delta = (int32_t)be32_get(p + BATCH_OFF_LAST_OFFSET_DELTA);
    b->base_timestamp = (int64_t)be64_get(p + BATCH_OFF_BASE_TIMESTAMP);
    b->max_timestamp = (int64_t)be64_get(p + BATCH_OFF_MAX_TIMESTAMP);
    b->producer_id = (int64_t)be64_get(p + BATCH_OFF_PRODUCER_ID);
    b->producer_epoch = (int16_t)be16_get(p + BATCH_OFF_PRODUCER_EPOCH);
    b->base_sequence = (int32_t)be32_get(p + BATCH_OFF_BASE_SEQUENCE);
    b->record_count = (int32_t)be32_get(p + BATCH_OFF_RECORD_COUNT);
    b->size = size;
    b->records = p + BATCH_HEADER_SIZE;
    b->records_len = size - BATCH_HEADER_SIZE;
    if (batch_codec(b) > BATCH_CODEC_ZSTD)
        return PLG_EUNSUPP;
    if (b->record_count < 0 || b->last_offset_delta < 0)
        return PLG_ECORRUPT;
    /* Each record takes at least 7 bytes uncompressed; the deltas must leave room for all. */
    if (b->record_count > 0 && b->last_offset_delta < b->record_count - 1)
        return PLG_ECORRUPT;
    if (batch_codec(b) == BATCH_CODEC_NONE && (size_t)b->record_count > b->records_len / 7)
        return PLG_ECORRUPT;
    if (b->base_offset > INT64_MAX - b->last_offset_delta)
        return PLG_ECORRUPT;
    return 0;
}

uint32_t batch_compute_crc(const uint8_t *p, size_t size)
{
    return crc32c(0, p + BATCH_OFF_ATTRIBUTES, size - BATCH_OFF_ATTRIBUTES);
}

int batch_validate(const uint8_t *p, size_t len, struct batch *b)
{
    int rc = batch_parse(p, len, b);
    if (rc)
        return rc;
    if (batch_compute_crc(p, b->size) != b->crc)
        return PLG_ECORRUPT;
    return 0;
}

/* Makes room for at least `want` more bytes without passing max_out in total. */
static uint8_t *out_room(struct buf *out, size_t start, size_t max_out, size_t want, size_t *room)
{
    size_t used = out->len - start;
    if (used >= max_out)
        return NULL;
    if (want > max_out - used)
        want = max_out - used;
    if (want == 0)
        return NULL;
    uint8_t *p = buf_reserve(out, want);
    if (!p)
        return NULL;
    *room = out->cap - out->len;
    if (*room > max_out - used)
        *room = max_out - used;
    return p;
}

static int inflate_gzip(const uint8_t *in, size_t in_len, struct buf *out, size_t max_out)
{
    size_t start = out->len;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* +32: accept gzip or zlib headers */
        return PLG_ENOMEM;
    int rc = 0;
    zs.next_in = (Bytef *)in;
    size_t left = in_len;
    for (;;) {
        if (zs.avail_in == 0) {
            unsigned chunk = left > (1u << 30) ? (1u << 30) : (unsigned)left;
            zs.avail_in = chunk;
            left -= chunk;
        }
        size_t room;
        uint8_t *dst = out_room(out, start, max_out, in_len * 4 + 4096, &room);
        if (!dst) {
            rc = out->oom ? PLG_ENOMEM : PLG_ETOOBIG;
            break;
        }
        if (room > (1u << 30))
            room = 1u << 30;
        zs.next_out = dst;
        zs.avail_out = (unsigned)room;
        int zr = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (zr == Z_STREAM_END) {
            if (zs.avail_in == 0 && left == 0)
                break;
            /* Concatenated gzip members. */
            if (inflateReset(&zs) != Z_OK) {
                rc = PLG_ECOMPRESS;
                break;
            }
            continue;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
            rc = PLG_ECOMPRESS; /* input ended inside the stream */
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = zr == Z_MEM_ERROR ? PLG_ENOMEM : PLG_ECOMPRESS;
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}

static int snappy_block(const uint8_t *in, size_t in_len, struct buf *out, size_t start,
                        size_t max_out)
{
    size_t n;
    if (snappy_uncompressed_length((const char *)in, in_len, &n) != SNAPPY_OK)
        return PLG_ECOMPRESS;
    if (n > max_out - (out->len - start))
        return PLG_ETOOBIG;
    uint8_t *dst = buf_reserve(out, n ? n : 1);
    if (!dst)
        return PLG_ENOMEM;
    size_t got = n;
    if (snappy_uncompress((const char *)in, in_len, (char *)dst, &got) != SNAPPY_OK || got != n)
        return PLG_ECOMPRESS;
    out->len += n;
    return 0;
}

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

static int unsnappy(const uint8_t *in, size_t in_len, struct buf *out, size_t max_out)
{
    size_t start = out->len;
    if (in_len < 16 || memcmp(in, xerial_magic, 8) != 0)
        return snappy_block(in, in_len, out, start, max_out);
    /* Xerial framing: magic, version i32, compatible version i32, then (len i32, block)*. */
    struct rd r;
    rd_init(&r, in + 16, in_len - 16);
    while (rd_left(&r) > 0) {
        uint32_t blen;
        const uint8_t *blk;
        if (rd_be32(&r, &blen) || rd_bytes(&r, &blk, blen))
            return PLG_ECOMPRESS;
        int rc = snappy_block(blk, blen, out, start, max_out);
        if (rc)
            return rc;
    }
    return 0;
}

static int unlz4(const uint8_t *in, size_t in_len, struct buf *out, size_t max_out)
{
    size_t start = out->len;
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return PLG_ENOMEM;
    int rc = 0;
    size_t pos = 0;
    size_t hint = 1;
    while (pos < in_len) {
        size_t room;
        uint8_t *dst = out_room(out, start, max_out, in_len * 4 + 65536, &room);
        if (!dst) {
            rc = out->oom ? PLG_ENOMEM : PLG_ETOOBIG;
            break;
        }
        size_t dst_n = room, src_n = in_len - pos;
        hint = LZ4F_decompress(dctx, dst, &dst_n, in + pos, &src_n, NULL);
        if (LZ4F_isError(hint)) {
            rc = PLG_ECOMPRESS;
            break;
        }
        out->len += dst_n;
        pos += src_n;
        if (hint == 0 && pos < in_len) {
            LZ4F_resetDecompressionContext(dctx); /* another frame follows */
            hint = 1;
        } else if (src_n == 0 && dst_n == 0) {
            rc = PLG_ECOMPRESS;
            break;
        }
    }
    /* Flush output still buffered in the context once all input is consumed. */
    while (rc == 0 && hint != 0) {
        size_t room;
        uint8_t *dst = out_room(out, start, max_out, 65536, &room);
        if (!dst) {
            rc = out->oom ? PLG_ENOMEM : PLG_ETOOBIG;
            break;
        }
        size_t dst_n = room, src_n = 0;
        hint = LZ4F_decompress(dctx, dst, &dst_n, in + pos, &src_n, NULL);
        if (LZ4F_isError(hint) || (dst_n == 0 && hint != 0)) {
            rc = PLG_ECOMPRESS; /* input ended inside a frame */
            break;
        }
        out->len += dst_n;
    }
    LZ4F_freeDecompressionContext(dctx);
    return rc;
}

static int unzstd(const uint8_t *in, size_t in_len, struct buf *out, size_t max_out)
{
    size_t start = out->len;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        return PLG_ENOMEM;
    ZSTD_inBuffer ib = {in, in_len, 0};
    int rc = 0;
    size_t ret = 1;
    while (ib.pos < ib.size || ret != 0) {
        size_t room;
        uint8_t *dst = out_room(out, start, max_out, in_len * 4 + 65536, &room);
        if (!dst) {
            rc = out->oom ? PLG_ENOMEM : PLG_ETOOBIG;
            break;
        }
        ZSTD_outBuffer ob = {dst, room, 0};
        size_t before = ib.pos;
        ret = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(ret)) {
            rc = PLG_ECOMPRESS;
            break;
        }
        out->len += ob.pos;
        if (ret != 0 && ib.pos == ib.size && ob.pos < ob.size && ib.pos == before) {
            rc = PLG_ECOMPRESS; /* truncated frame */
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    return rc;
}

int batch_decompress(const struct batch *b, struct buf *out, size_t max_out)
{
    switch (batch_codec(b)) {
    case BATCH_CODEC_NONE:
        if (b->records_len > max_out)
            return PLG_ETOOBIG;
        buf_put(out, b->records, b->records_len);
        return out->oom ? PLG_ENOMEM : 0;
    case BATCH_CODEC_GZIP:
        return inflate_gzip(b->records, b->records_len, out, max_out);
    case BATCH_CODEC_SNAPPY:
        return unsnappy(b->records, b->records_len, out, max_out);
    case BATCH_CODEC_LZ4:
        return unlz4(b->records, b->records_len, out, max_out);
    case BATCH_CODEC_ZSTD:
        return unzstd(b->records, b->records_len, out, max_out);
    default:
        return PLG_EUNSUPP;
    }
}

int batch_records(const struct batch *b, struct buf *scratch, size_t max_out, const uint8_t **p,
                  size_t *len)
{
    if (batch_codec(b) == BATCH_CODEC_NONE) {
        *p = b->records;
        *len = b->records_len;
        return 0;
    }
    buf_reset(scratch);
    int rc = batch_decompress(b, scratch, max_out);
    if (rc)
        return rc;
    *p = scratch->data;
    *len = scratch->len;
    return 0;
}

void batch_iter_init(struct batch_iter *it, const struct batch *b, const uint8_t *records,
                     size_t len)
{
    rd_init(&it->rd, records, len);
    it->b = b;
    it->left = b->record_count;
    it->prev_delta = -1;
}

/* Reads a varint length (-1 null) and that many bytes. */
static inline int rd_lenbytes(struct rd *r, const uint8_t **p, int32_t *len)
{
    int32_t n;
    int rc = rd_varint(r, &n);
    if (rc)
        return rc == PLG_ETRUNC ? PLG_ECORRUPT : rc;
    if (n < -1)
        return PLG_ECORRUPT;
    *len = n;
    if (n == -1) {
        *p = NULL;
        return 0;
    }
    return rd_bytes(r, p, (size_t)n) ? PLG_ECORRUPT : 0;
}

int batch_header_next(struct rd *hdrs, struct batch_header_kv *h)
{
    if (rd_left(hdrs) == 0)
        return 0;
    int rc = rd_lenbytes(hdrs, &h->key, &h->key_len);
    if (rc)
        return rc;
    if (h->key_len < 0)
        return PLG_ECORRUPT;
    rc = rd_lenbytes(hdrs, &h->value, &h->value_len);
    return rc ? rc : 1;
}

int batch_iter_next(struct batch_iter *it, struct batch_record *r)
{
    if (it->left == 0)
        return rd_left(&it->rd) == 0 ? 0 : PLG_ECORRUPT;
    int32_t rlen;
    if (rd_varint(&it->rd, &rlen))
        return PLG_ECORRUPT;
    const uint8_t *body;
    if (rlen < 0 || rd_bytes(&it->rd, &body, (size_t)rlen))
        return PLG_ECORRUPT;
    struct rd rr;
    rd_init(&rr, body, (size_t)rlen);
    uint8_t attr;
    if (rd_u8(&rr, &attr) || rd_varlong(&rr, &r->timestamp_delta) ||
        rd_varint(&rr, &r->offset_delta))
        return PLG_ECORRUPT;
    r->attributes = (int8_t)attr;
    if (r->offset_delta <= it->prev_delta || r->offset_delta > it->b->last_offset_delta)
        return PLG_ECORRUPT;
    it->prev_delta = r->offset_delta;
    int rc = rd_lenbytes(&rr, &r->key, &r->key_len);
    if (rc)
        return rc;
    rc = rd_lenbytes(&rr, &r->value, &r->value_len);
    if (rc)
        return rc;
    if (rd_varint(&rr, &r->header_count) || r->header_count < 0)
        return PLG_ECORRUPT;
    r->headers = rr.p + rr.pos;
    size_t hstart = rr.pos;
    for (int32_t i = 0; i < r->header_count; i++) {
        struct batch_header_kv h;
        rc = batch_header_next(&rr, &h);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return PLG_ECORRUPT;
    }
    r->headers_len = rr.pos - hstart;
    if (rd_left(&rr) != 0)
        return PLG_ECORRUPT; /* record length disagrees with its fields */
    r->offset = it->b->base_offset + r->offset_delta;
    if (batch_is_log_append_time(it->b))
        r->timestamp = it->b->max_timestamp;
    else
        r->timestamp = (int64_t)((uint64_t)it->b->base_timestamp + (uint64_t)r->timestamp_delta);
    it->left--;
    return 1;
}

int batch_validate_deep(const uint8_t *p, size_t len, struct buf *scratch, size_t max_out,
                        struct batch *b)
{
    int rc = batch_validate(p, len, b);
    if (rc)
        return rc;
    const uint8_t *rp;
    size_t rlen;
    rc = batch_records(b, scratch, max_out, &rp, &rlen);
    if (rc)
        return rc;
    struct batch_iter it;
    struct batch_record r;
    batch_iter_init(&it, b, rp, rlen);
    while ((rc = batch_iter_next(&it, &r)) == 1)
        ;
    return rc;
}

void batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
    be64_put(p + BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void batch_set_leader_epoch(uint8_t *p, int32_t epoch)
{
    be32_put(p + BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

int batch_set_log_append_time(uint8_t *p, size_t len, int64_t ts)
{
    struct batch b;
    int rc = batch_parse(p, len, &b);
    if (rc)
        return rc;
    uint16_t attr = (uint16_t)b.attributes | BATCH_ATTR_LOG_APPEND_TIME;
    be16_put(p + BATCH_OFF_ATTRIBUTES, attr);
    be64_put(p + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
    be32_put(p + BATCH_OFF_CRC, batch_compute_crc(p, b.size));
    return 0;
}
