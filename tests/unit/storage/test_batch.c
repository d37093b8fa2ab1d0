/*
 * test_batch.c — RecordBatch v2: parse, validate, iterate, every corruption case, all codecs,
 * in-place patches and the library builder, checked against a test-only hand builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "base/crc32c.h"
#include "storage/batch.h"

/* ---- test-only hand builder: writes the bytes field by field, independent of the library -- */

struct hb {
    uint8_t b[65536];
    size_t n;
};

static void hb_u8(struct hb *h, uint8_t v)
{
    h->b[h->n++] = v;
}
static void hb_be(struct hb *h, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        hb_u8(h, (uint8_t)(v >> (8 * i)));
}
static void hb_varint(struct hb *h, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (z >= 0x80) {
        hb_u8(h, (uint8_t)(z | 0x80));
        z >>= 7;
    }
    hb_u8(h, (uint8_t)z);
}
static void hb_str(struct hb *h, const char *s)
{
    if (!s) {
        hb_varint(h, -1);
        return;
    }
    hb_varint(h, (int64_t)strlen(s));
    memcpy(h->b + h->n, s, strlen(s));
    h->n += strlen(s);
}

/* One record body (without its length prefix). */
static void hb_record(struct hb *out, int64_t ts_delta, int32_t off_delta, const char *key,
                      const char *value, int nh, const char **hk, const char **hv)
{
    struct hb body = {.n = 0};
    hb_u8(&body, 0);
    hb_varint(&body, ts_delta);
    hb_varint(&body, off_delta);
    hb_str(&body, key);
    hb_str(&body, value);
    hb_varint(&body, nh);
    for (int i = 0; i < nh; i++) {
        hb_str(&body, hk[i]);
        hb_str(&body, hv[i]);
    }
    hb_varint(out, (int64_t)body.n);
    memcpy(out->b + out->n, body.b, body.n);
    out->n += body.n;
}

/* Wraps a records section into a batch with the given fields; CRC computed by the table path. */
static size_t hb_batch(uint8_t *out, int64_t base, int16_t attr, int32_t lod, int64_t base_ts,
                       int64_t max_ts, int32_t count, const uint8_t *recs, size_t rlen)
{
    struct hb h = {.n = 0};
    hb_be(&h, (uint64_t)base, 8);
    hb_be(&h, 49 + rlen, 4);
    hb_be(&h, 7, 4); /* leader epoch */
    hb_u8(&h, 2);
    hb_be(&h, 0, 4); /* crc placeholder */
    hb_be(&h, (uint16_t)attr, 2);
    hb_be(&h, (uint32_t)lod, 4);
    hb_be(&h, (uint64_t)base_ts, 8);
    hb_be(&h, (uint64_t)max_ts, 8);
    hb_be(&h, 1234, 8);
    hb_be(&h, 5, 2);
    hb_be(&h, 0, 4);
    hb_be(&h, (uint32_t)count, 4);
    memcpy(out, h.b, h.n);
    memcpy(out + h.n, recs, rlen);
    size_t n = h.n + rlen;
    uint32_t crc = crc32c_table(0, out + 21, n - 21);
    out[17] = (uint8_t)(crc >> 24);
    out[18] = (uint8_t)(crc >> 16);
    out[19] = (uint8_t)(crc >> 8);
    out[20] = (uint8_t)crc;
    return n;
}

static void fix_crc(uint8_t *p, size_t n)
{
    be32_put(p + 17, crc32c_table(0, p + 21, n - 21));
}

/* The standard 3-record section: k0/v0 with a header, null key, null value (tombstone). */
static size_t std_records(struct hb *r)
{
    const char *hk[] = {"h1", "h2"};
    const char *hv[] = {"x", NULL};
    r->n = 0;
    hb_record(r, 0, 0, "k0", "v0", 2, hk, hv);
    hb_record(r, 5, 1, NULL, "value-1", 0, NULL, NULL);
    hb_record(r, 9, 2, "k2", NULL, 0, NULL, NULL);
    return r->n;
}

static size_t std_batch(uint8_t *out)
{
    struct hb r;
    std_records(&r);
    return hb_batch(out, 100, 0, 2, 1000, 1009, 3, r.b, r.n);
}

static void check_std_records(const struct batch *b, const uint8_t *rp, size_t rlen)
{
    struct batch_iter it;
    struct batch_record rec;
    batch_iter_init(&it, b, rp, rlen);
    assert_int_equal(batch_iter_next(&it, &rec), 1);
    assert_int_equal(rec.offset, b->base_offset);
    assert_int_equal(rec.timestamp, 1000);
    assert_int_equal(rec.key_len, 2);
    assert_memory_equal(rec.key, "k0", 2);
    assert_int_equal(rec.value_len, 2);
    assert_memory_equal(rec.value, "v0", 2);
    assert_int_equal(rec.header_count, 2);
    struct rd hr;
    struct batch_header_kv h;
    rd_init(&hr, rec.headers, rec.headers_len);
    assert_int_equal(batch_header_next(&hr, &h), 1);
    assert_int_equal(h.key_len, 2);
    assert_memory_equal(h.key, "h1", 2);
    assert_int_equal(h.value_len, 1);
    assert_int_equal(batch_header_next(&hr, &h), 1);
    assert_memory_equal(h.key, "h2", 2);
    assert_int_equal(h.value_len, -1);
    assert_null(h.value);
    assert_int_equal(batch_header_next(&hr, &h), 0);

    assert_int_equal(batch_iter_next(&it, &rec), 1);
    assert_int_equal(rec.offset, b->base_offset + 1);
    assert_int_equal(rec.key_len, -1);
    assert_null(rec.key);
    assert_int_equal(rec.value_len, 7);
    assert_int_equal(rec.timestamp, 1005);
    assert_int_equal(batch_iter_next(&it, &rec), 1);
    assert_int_equal(rec.value_len, -1);
    assert_int_equal(rec.timestamp, 1009);
    assert_int_equal(batch_iter_next(&it, &rec), 0);
}

static void test_parse_vector(void **state)
{
    (void)state;
    uint8_t p[4096];
    size_t n = std_batch(p);
    struct batch b;
    assert_int_equal(batch_validate(p, n, &b), 0);
    assert_int_equal(b.base_offset, 100);
    assert_int_equal(b.size, n);
    assert_int_equal(b.length, (int32_t)(n - 12));
    assert_int_equal(b.leader_epoch, 7);
    assert_int_equal(b.magic, 2);
    assert_int_equal(b.last_offset_delta, 2);
    assert_int_equal(b.base_timestamp, 1000);
    assert_int_equal(b.max_timestamp, 1009);
    assert_int_equal(b.producer_id, 1234);
    assert_int_equal(b.producer_epoch, 5);
    assert_int_equal(b.record_count, 3);
    assert_int_equal(batch_last_offset(&b), 102);
    assert_false(batch_is_control(&b));
    assert_false(batch_is_transactional(&b));
    check_std_records(&b, b.records, b.records_len);
    struct buf s;
    buf_init(&s);
    assert_int_equal(batch_validate_deep(p, n, &s, 1 << 20, &b), 0);
    /* Trailing bytes after the batch are another batch's business, not an error. */
    memset(p + n, 0xAB, 10);
    assert_int_equal(batch_validate_deep(p, n + 10, &s, 1 << 20, &b), 0);
    buf_free(&s);
}

static void test_attribute_bits(void **state)
{
    (void)state;
    uint8_t p[4096];
    struct hb r;
    std_records(&r);
    size_t n =
        hb_batch(p, 0, BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL, 2, 1000, 1009, 3, r.b, r.n);
    struct batch b;
    assert_int_equal(batch_validate(p, n, &b), 0);
    assert_true(batch_is_control(&b));
    assert_true(batch_is_transactional(&b));
    assert_int_equal(batch_codec(&b), 0);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    uint8_t p[4096];
    size_t n = std_batch(p);
    struct batch b;
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, p, len);
        assert_int_equal(batch_validate(copy, len, &b), PLG_ETRUNC);
        free(copy);
    }
    size_t sz;
    assert_int_equal(batch_frame_size(p, 11, &sz), PLG_ETRUNC);
    assert_int_equal(batch_frame_size(p, n, &sz), 0);
    assert_int_equal(sz, n);
}

static void test_header_corruptions(void **state)
{
    (void)state;
    uint8_t p[4096], q[4096];
    size_t n = std_batch(p);
    struct batch b;

    /* Every single flipped bit in the CRC-covered part is caught. */
    for (size_t i = 21; i < n; i++) {
        memcpy(q, p, n);
        q[i] ^= 0x10;
        int rc = batch_validate(q, n, &b);
        assert_true(rc == PLG_ECORRUPT || rc == PLG_EUNSUPP);
    }
    memcpy(q, p, n);
    q[18] ^= 1; /* the CRC itself */
    assert_int_equal(batch_validate(q, n, &b), PLG_ECORRUPT);

    memcpy(q, p, n);
    q[16] = 1; /* magic 1 (legacy message set) */
    assert_int_equal(batch_validate(q, n, &b), PLG_EUNSUPP);

    memcpy(q, p, n);
    be16_put(q + 21, 5); /* codec 5 does not exist */
    fix_crc(q, n);
    assert_int_equal(batch_validate(q, n, &b), PLG_EUNSUPP);

    memcpy(q, p, n);
    be32_put(q + 8, 48); /* batchLength below the header */
    assert_int_equal(batch_validate(q, n, &b), PLG_ECORRUPT);
    be32_put(q + 8, 0xFFFFFFF0u); /* negative */
    assert_int_equal(batch_validate(q, n, &b), PLG_ECORRUPT);

    memcpy(q, p, n);
    be32_put(q + 57, 0xFFFFFFFFu); /* record count -1 */
    fix_crc(q, n);
    assert_int_equal(batch_validate(q, n, &b), PLG_ECORRUPT);

    memcpy(q, p, n);
    be32_put(q + 57, 1000000); /* more records than bytes allow */
    fix_crc(q, n);
    assert_int_equal(batch_validate(q, n, &b), PLG_ECORRUPT);

    memcpy(q, p, n);
    be32_put(q + 23, 1); /* lastOffsetDelta smaller than count - 1 */
    fix_crc(q, n);
    assert_int_equal(batch_validate(q, n, &b), PLG_ECORRUPT);

    memcpy(q, p, n);
    be32_put(q + 23, 0x80000000u); /* negative lastOffsetDelta */
    fix_crc(q, n);
    assert_int_equal(batch_validate(q, n, &b), PLG_ECORRUPT);

    memcpy(q, p, n);
    be64_put(q, (uint64_t)INT64_MAX); /* last offset would overflow */
    assert_int_equal(batch_validate(q, n, &b), PLG_ECORRUPT);
}

/* Builds a batch from one hand-made records section and expects deep validation to fail. */
static void expect_records_corrupt(struct hb *r, int32_t count, int32_t lod)
{
    uint8_t p[4096];
    size_t n = hb_batch(p, 0, 0, lod, 0, 0, count, r->b, r->n);
    struct batch b;
    struct buf s;
    buf_init(&s);
    assert_int_equal(batch_validate(p, n, &b), 0); /* header and CRC are fine */
    assert_int_equal(batch_validate_deep(p, n, &s, 1 << 20, &b), PLG_ECORRUPT);
    buf_free(&s);
}

static void test_record_corruptions(void **state)
{
    (void)state;
    struct hb r;

    /* Fewer records than declared. */
    std_records(&r);
    expect_records_corrupt(&r, 4, 3);
    /* Bytes trailing the declared records. */
    std_records(&r);
    hb_u8(&r, 0);
    hb_u8(&r, 0);
    hb_u8(&r, 0);
    hb_u8(&r, 0);
    hb_u8(&r, 0);
    hb_u8(&r, 0);
    hb_u8(&r, 0);
    expect_records_corrupt(&r, 3, 2);
    /* Offset delta beyond lastOffsetDelta. */
    r.n = 0;
    hb_record(&r, 0, 5, "a", "b", 0, NULL, NULL);
    expect_records_corrupt(&r, 1, 2);
    /* Offset deltas not increasing. */
    r.n = 0;
    hb_record(&r, 0, 1, "a", "b", 0, NULL, NULL);
    hb_record(&r, 0, 1, "a", "b", 0, NULL, NULL);
    expect_records_corrupt(&r, 2, 3);
    /* Raw records: a list of varints (attributes byte written as varint 0 = 0x00). Each row:
     * record length, attributes, timestampDelta, offsetDelta, keyLength, valueLength,
     * headerCount, then extra bytes. */
    static const int64_t raw[][10] = {
        {9, 0, 0, 0, -1, -1, 0, 0, 0, 0}, /* length longer than the fields */
        {5, 0, 0, 0, -1, -1, 0},          /* length shorter than the fields */
        {7, 0, 0, 0, -2, -1, 0, 0},       /* key length below -1 */
        {7, 0, 0, 0, -1, 50, 0, 0},       /* value length past the record */
        {6, 0, 0, 0, -1, -1, -3},         /* negative header count */
        {8, 0, 0, 0, -1, -1, 1, -1, -1},  /* null header key */
    };
    static const int raw_len[] = {10, 7, 8, 8, 7, 9};
    for (size_t i = 0; i < sizeof raw_len / sizeof raw_len[0]; i++) {
        r.n = 0;
        for (int j = 0; j < raw_len[i]; j++)
            hb_varint(&r, raw[i][j]);
        expect_records_corrupt(&r, 1, 0);
    }
    /* A varint that never ends (11 continuation bytes). */
    r.n = 0;
    for (int i = 0; i < 11; i++)
        hb_u8(&r, 0xFF);
    hb_u8(&r, 0);
    expect_records_corrupt(&r, 1, 0);
}

/* ---- compression: build the compressed records section with each library ---- */

static size_t gzip_compress(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (unsigned)n;
    zs.next_out = out;
    zs.avail_out = (unsigned)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t got = zs.total_out;
    deflateEnd(&zs);
    return got;
}

static size_t snappy_plain(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t got = cap;
    assert_int_equal(snappy_compress((const char *)in, n, (char *)out, &got), SNAPPY_OK);
    return got;
}

static size_t snappy_xerial(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    memcpy(out, magic, 8);
    be32_put(out + 8, 1);
    be32_put(out + 12, 1);
    size_t pos = 16;
    /* Two blocks, as the Java client splits large inputs. */
    size_t half = n / 2;
    for (int i = 0; i < 2; i++) {
        const uint8_t *src = i ? in + half : in;
        size_t sn = i ? n - half : half;
        size_t got = snappy_plain(src, sn, out + pos + 4, cap - pos - 4);
        be32_put(out + pos, (uint32_t)got);
        pos += 4 + got;
    }
    return pos;
}

static size_t lz4_frame(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t got = LZ4F_compressFrame(out, cap, in, n, NULL);
    assert_false(LZ4F_isError(got));
    return got;
}

static size_t zstd_frame(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t got = ZSTD_compress(out, cap, in, n, 3);
    assert_false(ZSTD_isError(got));
    return got;
}

typedef size_t (*compress_fn)(const uint8_t *, size_t, uint8_t *, size_t);

static void check_codec(int codec, compress_fn fn)
{
    struct hb r;
    std_records(&r);
    uint8_t comp[8192], p[8192];
    size_t cn = fn(r.b, r.n, comp, sizeof comp);
    size_t n = hb_batch(p, 50, (int16_t)codec, 2, 1000, 1009, 3, comp, cn);
    struct batch b;
    struct buf s;
    buf_init(&s);
    assert_int_equal(batch_validate_deep(p, n, &s, 1 << 20, &b), 0);
    assert_int_equal(batch_codec(&b), codec);
    const uint8_t *rp;
    size_t rlen;
    assert_int_equal(batch_records(&b, &s, 1 << 20, &rp, &rlen), 0);
    assert_int_equal(rlen, r.n);
    assert_memory_equal(rp, r.b, r.n);
    check_std_records(&b, rp, rlen);

    /* Output limit below the decompressed size. */
    assert_int_equal(batch_records(&b, &s, r.n - 1, &rp, &rlen), PLG_ETOOBIG);

    /* Payload truncated by a few bytes (CRC fixed so only the codec can notice). */
    size_t n2 = hb_batch(p, 50, (int16_t)codec, 2, 1000, 1009, 3, comp, cn - 3);
    assert_int_equal(batch_validate(p, n2, &b), 0);
    int rc = batch_records(&b, &s, 1 << 20, &rp, &rlen);
    if (rc == 0) /* a codec without an end marker may decode a prefix: iteration must fail */
        assert_int_equal(batch_validate_deep(p, n2, &s, 1 << 20, &b), PLG_ECORRUPT);
    else
        assert_int_equal(rc, PLG_ECOMPRESS);

    /* Garbage payload. */
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    n2 = hb_batch(p, 50, (int16_t)codec, 2, 1000, 1009, 3, junk, sizeof junk);
    assert_int_equal(batch_validate(p, n2, &b), 0);
    rc = batch_records(&b, &s, 1 << 20, &rp, &rlen);
    if (rc == 0)
        assert_int_equal(batch_validate_deep(p, n2, &s, 1 << 20, &b), PLG_ECORRUPT);
    else
        assert_int_equal(rc, PLG_ECOMPRESS);
    buf_free(&s);
}

static void test_gzip(void **state)
{
    (void)state;
    check_codec(BATCH_CODEC_GZIP, gzip_compress);
}
static void test_snappy_plain(void **state)
{
    (void)state;
    check_codec(BATCH_CODEC_SNAPPY, snappy_plain);
}
static void test_snappy_xerial(void **state)
{
    (void)state;
    check_codec(BATCH_CODEC_SNAPPY, snappy_xerial);
}
static void test_lz4(void **state)
{
    (void)state;
    check_codec(BATCH_CODEC_LZ4, lz4_frame);
}
static void test_zstd(void **state)
{
    (void)state;
    check_codec(BATCH_CODEC_ZSTD, zstd_frame);
}

static void test_big_decompress(void **state)
{
    (void)state;
    /* 2000 records of 1 KiB compress well and exercise buffer growth in every codec. */
    struct hb *r = malloc(sizeof *r);
    uint8_t *raw = malloc(3 << 20), *comp = malloc(3 << 20), *p = malloc(3 << 20);
    size_t rn = 0;
    char val[1025];
    memset(val, 'q', 1024);
    val[1024] = 0;
    for (int i = 0; i < 2000; i++) {
        r->n = 0;
        hb_record(r, i, i, NULL, val, 0, NULL, NULL);
        memcpy(raw + rn, r->b, r->n);
        rn += r->n;
    }
    compress_fn fns[] = {gzip_compress, snappy_plain, snappy_xerial, lz4_frame, zstd_frame};
    int codecs[] = {1, 2, 2, 3, 4};
    struct buf s;
    buf_init(&s);
    for (int c = 0; c < 5; c++) {
        size_t cn = fns[c](raw, rn, comp, 3 << 20);
        size_t n = hb_batch(p, 0, (int16_t)codecs[c], 1999, 0, 1999, 2000, comp, cn);
        struct batch b;
        assert_int_equal(batch_validate_deep(p, n, &s, 8 << 20, &b), 0);
        assert_int_equal(s.len, rn);
        assert_memory_equal(s.data, raw, rn);
        assert_int_equal(batch_validate_deep(p, n, &s, rn / 2, &b), PLG_ETOOBIG);
    }
    buf_free(&s);
    free(r);
    free(raw);
    free(comp);
    free(p);
}

static void test_patches(void **state)
{
    (void)state;
    uint8_t p[4096];
    size_t n = std_batch(p);
    struct batch b;
    uint32_t crc = be32_get(p + 17);
    batch_set_base_offset(p, 987654321);
    batch_set_leader_epoch(p, 42);
    assert_int_equal(batch_validate(p, n, &b), 0);
    assert_int_equal(b.base_offset, 987654321);
    assert_int_equal(b.leader_epoch, 42);
    assert_int_equal(b.crc, crc);

    assert_int_equal(batch_set_log_append_time(p, n, 777777), 0);
    assert_int_equal(batch_validate(p, n, &b), 0);
    assert_true(batch_is_log_append_time(&b));
    assert_int_equal(b.max_timestamp, 777777);
    assert_int_not_equal(b.crc, crc);
    struct batch_iter it;
    struct batch_record rec;
    batch_iter_init(&it, &b, b.records, b.records_len);
    int k = 0;
    while (batch_iter_next(&it, &rec) == 1) {
        assert_int_equal(rec.timestamp, 777777);
        k++;
    }
    assert_int_equal(k, 3);
    assert_int_equal(batch_set_log_append_time(p, n - 1, 1), PLG_ETRUNC);
}

static void test_builder_matches_hand(void **state)
{
    (void)state;
    struct batch_builder bb;
    batch_builder_init(&bb, 100, 1000);
    bb.leader_epoch = 7;
    bb.producer_id = 1234;
    bb.producer_epoch = 5;
    bb.base_sequence = 0;
    struct batch_header_kv hs[2] = {{(const uint8_t *)"h1", 2, (const uint8_t *)"x", 1},
                                    {(const uint8_t *)"h2", 2, NULL, -1}};
    assert_int_equal(batch_builder_add(&bb, 1000, "k0", 2, "v0", 2, hs, 2), 0);
    assert_int_equal(batch_builder_add(&bb, 1005, NULL, -1, "value-1", 7, NULL, 0), 0);
    assert_int_equal(batch_builder_add(&bb, 1009, "k2", 2, NULL, -1, NULL, 0), 0);
    uint8_t *out;
    size_t len;
    assert_int_equal(batch_builder_finish(&bb, -1, &out, &len), 0);
    batch_builder_destroy(&bb);
    uint8_t p[4096];
    size_t n = std_batch(p);
    assert_int_equal(len, n);
    assert_memory_equal(out, p, n);
    free(out);
}

static void test_builder_explicit_offsets(void **state)
{
    (void)state;
    struct batch_builder bb;
    batch_builder_init(&bb, 10, 50);
    assert_int_equal(batch_builder_add_at(&bb, 12, 50, "a", 1, "1", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_add_at(&bb, 12, 50, "a", 1, "1", 1, NULL, 0), PLG_EINVAL);
    assert_int_equal(batch_builder_add_at(&bb, 15, 40, "b", 1, "2", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_add(&bb, 60, NULL, -2, NULL, -1, NULL, 0), PLG_EINVAL);
    uint8_t *out;
    size_t len;
    assert_int_equal(batch_builder_finish(&bb, 3, &out, &len), PLG_EINVAL);
    assert_int_equal(batch_builder_finish(&bb, 9, &out, &len), 0);
    batch_builder_destroy(&bb);
    struct batch b;
    struct buf s;
    buf_init(&s);
    assert_int_equal(batch_validate_deep(out, len, &s, 1 << 20, &b), 0);
    assert_int_equal(b.last_offset_delta, 9);
    assert_int_equal(b.record_count, 2);
    assert_int_equal(b.max_timestamp, 50);
    struct batch_iter it;
    struct batch_record rec;
    batch_iter_init(&it, &b, b.records, b.records_len);
    assert_int_equal(batch_iter_next(&it, &rec), 1);
    assert_int_equal(rec.offset, 12);
    assert_int_equal(batch_iter_next(&it, &rec), 1);
    assert_int_equal(rec.offset, 15);
    assert_int_equal(rec.timestamp, 40);
    assert_int_equal(batch_iter_next(&it, &rec), 0);
    buf_free(&s);
    free(out);

    /* An empty builder makes a valid empty batch. */
    batch_builder_init(&bb, 0, 0);
    assert_int_equal(batch_builder_finish(&bb, -1, &out, &len), 0);
    batch_builder_destroy(&bb);
    assert_int_equal(len, BATCH_HEADER_SIZE);
    assert_int_equal(batch_validate(out, len, &b), 0);
    assert_int_equal(b.record_count, 0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vector),
        cmocka_unit_test(test_attribute_bits),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_header_corruptions),
        cmocka_unit_test(test_record_corruptions),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_snappy_plain),
        cmocka_unit_test(test_snappy_xerial),
        cmocka_unit_test(test_lz4),
        cmocka_unit_test(test_zstd),
        cmocka_unit_test(test_big_decompress),
        cmocka_unit_test(test_patches),
        cmocka_unit_test(test_builder_matches_hand),
        cmocka_unit_test(test_builder_explicit_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
