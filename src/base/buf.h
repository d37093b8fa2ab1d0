/*
 * buf.h — a growable byte buffer for building responses and files.
 *
 * Writers append at the end and grow geometrically; an allocation failure is sticky
 * (buf->oom set, later writes ignored) so encoders can write a whole message and check once.
 * Owner calls buf_free(). Not thread-safe.
 */
#ifndef PLG_BASE_BUF_H
#define PLG_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"

struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool oom;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Drops the contents, keeps the memory. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes; returns a pointer to them (len not advanced) or NULL. */
uint8_t *buf_reserve(struct buf *b, size_t n);
/* Appends n bytes (uninitialised) and returns a pointer to them, or NULL (oom set). */
uint8_t *buf_extend(struct buf *b, size_t n);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_u8(struct buf *b, uint8_t v);
void buf_be16(struct buf *b, uint16_t v);
void buf_be32(struct buf *b, uint32_t v);
void buf_be64(struct buf *b, uint64_t v);
void buf_uvarint(struct buf *b, uint64_t v);
void buf_varlong(struct buf *b, int64_t v);
/* Takes ownership of the bytes out of the buffer (caller frees with free()); buffer is reset. */
uint8_t *buf_steal(struct buf *b, size_t *len);

#endif
