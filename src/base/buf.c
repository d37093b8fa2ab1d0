/* buf.c — growable byte buffer (see buf.h). */
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
    memset(b, 0, sizeof *b);
}

void buf_free(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->oom = false;
}

uint8_t *buf_reserve(struct buf *b, size_t n)
{
    if (b->oom)
        return NULL;
    if (b->cap - b->len >= n)
        return b->data + b->len;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return NULL;
        }
        cap *= 2;
    }
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return NULL;
    }
    b->data = d;
    b->cap = cap;
    return b->data + b->len;
}

uint8_t *buf_extend(struct buf *b, size_t n)
{
    uint8_t *p = buf_reserve(b, n);
    if (p)
        b->len += n;
    return p;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return; /* also keeps NULL + 0 (undefined) out of buf_reserve on an empty buffer */
    uint8_t *d = buf_extend(b, n);
    if (d && n)
        memcpy(d, p, n);
}

void buf_u8(struct buf *b, uint8_t v)
{
    buf_put(b, &v, 1);
}

void buf_be16(struct buf *b, uint16_t v)
{
    uint8_t *d = buf_extend(b, 2);
    if (d)
        be16_put(d, v);
}

void buf_be32(struct buf *b, uint32_t v)
{
    uint8_t *d = buf_extend(b, 4);
    if (d)
        be32_put(d, v);
}

void buf_be64(struct buf *b, uint64_t v)
{
    uint8_t *d = buf_extend(b, 8);
    if (d)
        be64_put(d, v);
}

void buf_uvarint(struct buf *b, uint64_t v)
{
    uint8_t *d = buf_reserve(b, 10);
    if (d)
        b->len += uvarint_put(d, v);
}

void buf_varlong(struct buf *b, int64_t v)
{
    buf_uvarint(b, zigzag64(v));
}

uint8_t *buf_steal(struct buf *b, size_t *len)
{
    uint8_t *d = b->data;
    *len = b->len;
    memset(b, 0, sizeof *b);
    return d;
}
