/*
 * bytes.h — big-endian integers and Kafka varints over byte buffers.
 *
 * Writers (be16_put ...) assume the caller checked the space. Readers of external bytes use the
 * bounds-checked cursor (struct rd): every get returns 0 on success or PLG_ETRUNC/PLG_ECORRUPT and
 * never reads past the end. Varints: unsigned LEB128 (uvarint) and zig-zag signed (varint /
 * varlong), as Kafka's record format and flexible versions use them.
 */
#ifndef PLG_BASE_BYTES_H
#define PLG_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pyralog/pyralog.h"

static inline void be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
    be32_put(p, (uint32_t)(v >> 32));
    be32_put(p + 4, (uint32_t)v);
}
static inline uint16_t be16_get(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
    return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

static inline uint32_t zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}
static inline uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t unzigzag64(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Writes v as unsigned LEB128 into p (room for 10 bytes); returns the byte count. */
static inline size_t uvarint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}
static inline size_t varlong_put(uint8_t *p, int64_t v)
{
    return uvarint_put(p, zigzag64(v));
}
static inline size_t uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A bounds-checked read cursor over external bytes. */
struct rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

static inline void rd_init(struct rd *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
}
static inline size_t rd_left(const struct rd *r)
{
    return r->len - r->pos;
}
static inline int rd_bytes(struct rd *r, const uint8_t **out, size_t n)
{
    if (rd_left(r) < n)
        return PLG_ETRUNC;
    *out = r->p + r->pos;
    r->pos += n;
    return 0;
}
static inline int rd_skip(struct rd *r, size_t n)
{
    if (rd_left(r) < n)
        return PLG_ETRUNC;
    r->pos += n;
    return 0;
}
static inline int rd_u8(struct rd *r, uint8_t *v)
{
    if (rd_left(r) < 1)
        return PLG_ETRUNC;
    *v = r->p[r->pos++];
    return 0;
}
static inline int rd_be16(struct rd *r, uint16_t *v)
{
    if (rd_left(r) < 2)
        return PLG_ETRUNC;
    *v = be16_get(r->p + r->pos);
    r->pos += 2;
    return 0;
}
static inline int rd_be32(struct rd *r, uint32_t *v)
{
    if (rd_left(r) < 4)
        return PLG_ETRUNC;
    *v = be32_get(r->p + r->pos);
    r->pos += 4;
    return 0;
}
static inline int rd_be64(struct rd *r, uint64_t *v)
{
    if (rd_left(r) < 8)
        return PLG_ETRUNC;
    *v = be64_get(r->p + r->pos);
    r->pos += 8;
    return 0;
}
/* Unsigned LEB128 of at most 10 bytes (64 bits); longer encodings are corrupt. */
static inline int rd_uvarint(struct rd *r, uint64_t *v)
{
    size_t left = r->len - r->pos;
    if (left == 0)
        return PLG_ETRUNC; /* before forming p: an empty cursor's buffer may be NULL */
    const uint8_t *p = r->p + r->pos;
    if (p[0] < 0x80) { /* the common one- and two-byte cases first */
        *v = p[0];
        r->pos += 1;
        return 0;
    }
    if (left >= 2 && p[1] < 0x80) {
        *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
        r->pos += 2;
        return 0;
    }
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (rd_u8(r, &b))
            return PLG_ETRUNC;
        if (shift == 63 && b > 1)
            return PLG_ECORRUPT;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return PLG_ECORRUPT;
}
static inline int rd_varlong(struct rd *r, int64_t *v)
{
    uint64_t u;
    int rc = rd_uvarint(r, &u);
    if (rc)
        return rc;
    *v = unzigzag64(u);
    return 0;
}
/* Zig-zag varint that must fit in 32 bits (Kafka "varint"). */
static inline int rd_varint(struct rd *r, int32_t *v)
{
    int64_t x;
    int rc = rd_varlong(r, &x);
    if (rc)
        return rc;
    if (x < INT32_MIN || x > INT32_MAX)
        return PLG_ECORRUPT;
    *v = (int32_t)x;
    return 0;
}

#endif
