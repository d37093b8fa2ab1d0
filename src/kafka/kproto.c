/*
 * kproto.c — Kafka primitives, the decode arena and the schema interpreter (see kproto.h).
 *
 * Wire forms (Kafka protocol guide, "Protocol Primitive Types"):
 *   STRING          INT16 length (-1 = null when NULLABLE) + bytes
 *   COMPACT_STRING  UNSIGNED_VARINT (length + 1; 0 = null) + bytes
 *   BYTES           INT32 length (-1 = null) + bytes;   COMPACT_BYTES like COMPACT_STRING
 *   ARRAY           INT32 count (-1 = null);            COMPACT_ARRAY UNSIGNED_VARINT count + 1
 *   tagged fields   UNSIGNED_VARINT count, then per field: UNSIGNED_VARINT tag,
 *                   UNSIGNED_VARINT size, size bytes; tags strictly increasing.
 */
#include "kafka/kproto.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

bool kstr_eq(struct kstr s, const char *z)
{
    if (s.len < 0 || !z)
        return false;
    size_t n = strlen(z);
    return (size_t)s.len == n && memcmp(s.p, z, n) == 0;
}

struct kstr kstr_z(const char *z)
{
    struct kstr s = {z, z ? (int32_t)strlen(z) : -1};
    return s;
}

/* ---------------------------------------------------------------------------------------- */

#define KARENA_DEFAULT_LIMIT ((size_t)64 << 20)
#define KARENA_CHUNK 4096

struct karena_chunk {
    struct karena_chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) uint8_t data[];
};

void karena_init(struct karena *a, size_t limit)
{
    a->head = NULL;
    a->used = 0;
    a->limit = limit ? limit : KARENA_DEFAULT_LIMIT;
}

void karena_destroy(struct karena *a)
{
    struct karena_chunk *c = a->head;
    while (c) {
        struct karena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used = 0;
}

void *karena_alloc(struct karena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (n > a->limit - a->used || a->used > a->limit)
        return NULL;
    struct karena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > KARENA_CHUNK ? n : KARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        /* Keep the partly used head in front when this is a one-off big block. */
        if (a->head && cap > KARENA_CHUNK) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used += n;
    memset(p, 0, n);
    return p;
}

/* ---------------------------------------------------------------------------------------- */

int kr_i8(struct rd *r, int8_t *v)
{
    uint8_t u;
    int rc = rd_u8(r, &u);
    if (!rc)
        *v = (int8_t)u;
    return rc;
}

int kr_i16(struct rd *r, int16_t *v)
{
    uint16_t u;
    int rc = rd_be16(r, &u);
    if (!rc)
        *v = (int16_t)u;
    return rc;
}

int kr_i32(struct rd *r, int32_t *v)
{
    uint32_t u;
    int rc = rd_be32(r, &u);
    if (!rc)
        *v = (int32_t)u;
    return rc;
}

int kr_i64(struct rd *r, int64_t *v)
{
    uint64_t u;
    int rc = rd_be64(r, &u);
    if (!rc)
        *v = (int64_t)u;
    return rc;
}

int kr_bool(struct rd *r, bool *v)
{
    uint8_t u;
    int rc = rd_u8(r, &u);
    if (!rc)
        *v = u != 0;
    return rc;
}

int kr_uuid(struct rd *r, struct kuuid *v)
{
    const uint8_t *p;
    int rc = rd_bytes(r, &p, 16);
    if (!rc)
        memcpy(v->b, p, 16);
    return rc;
}

/* Reads a length in either form: *len is -1 for null, else 0..INT32_MAX. */
static int kr_len(struct rd *r, bool flex, bool wide, int32_t *len)
{
    if (flex) {
        uint64_t u;
        int rc = rd_uvarint(r, &u);
        if (rc)
            return rc;
        if (u > (uint64_t)INT32_MAX + 1)
            return PLG_ECORRUPT;
        *len = (int32_t)((int64_t)u - 1);
        return 0;
    }
    if (wide)
        return kr_i32(r, len);
    int16_t l;
    int rc = kr_i16(r, &l);
    if (!rc)
        *len = l;
    return rc;
}

static int kr_view(struct rd *r, bool flex, bool wide, bool nullable, const uint8_t **p,
                   int32_t *len)
{
    int32_t n;
    int rc = kr_len(r, flex, wide, &n);
    if (rc)
        return rc;
    if (n < 0) {
        if (n != -1 || !nullable)
            return PLG_ECORRUPT;
        *p = NULL;
        *len = -1;
        return 0;
    }
    rc = rd_bytes(r, p, (size_t)n);
    if (rc)
        return rc;
    *len = n;
    return 0;
}

int kr_str(struct rd *r, bool flex, bool nullable, struct kstr *s)
{
    const uint8_t *p;
    int rc = kr_view(r, flex, false, nullable, &p, &s->len);
    if (!rc)
        s->p = (const char *)p;
    return rc;
}

int kr_bytes(struct rd *r, bool flex, bool nullable, struct kbytes *b)
{
    return kr_view(r, flex, true, nullable, &b->p, &b->len);
}

int kr_array(struct rd *r, bool flex, bool nullable, size_t min_elem, int32_t *n)
{
    int32_t c;
    int rc = kr_len(r, flex, true, &c);
    if (rc)
        return rc;
    if (c < 0) {
        if (c != -1 || !nullable)
            return PLG_ECORRUPT;
        *n = -1;
        return 0;
    }
    if (min_elem < 1)
        min_elem = 1;
    if ((size_t)c > rd_left(r) / min_elem)
        return PLG_ETOOBIG;
    *n = c;
    return 0;
}

int kr_skip_tags(struct rd *r, bool flex)
{
    if (!flex)
        return 0;
    uint64_t n;
    int rc = rd_uvarint(r, &n);
    if (rc)
        return rc;
    if (n > rd_left(r) / 2)
        return PLG_ETOOBIG;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t tag, size;
        if ((rc = rd_uvarint(r, &tag)) || (rc = rd_uvarint(r, &size)))
            return rc;
        if (size > rd_left(r))
            return PLG_ETRUNC;
        rd_skip(r, (size_t)size);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */

void kw_i8(struct buf *b, int8_t v)
{
    buf_u8(b, (uint8_t)v);
}

void kw_i16(struct buf *b, int16_t v)
{
    buf_be16(b, (uint16_t)v);
}

void kw_i32(struct buf *b, int32_t v)
{
    buf_be32(b, (uint32_t)v);
}

void kw_i64(struct buf *b, int64_t v)
{
    buf_be64(b, (uint64_t)v);
}

void kw_bool(struct buf *b, bool v)
{
    buf_u8(b, v ? 1 : 0);
}

void kw_uuid(struct buf *b, const struct kuuid *v)
{
    buf_put(b, v->b, 16);
}

static void kw_len(struct buf *b, bool flex, bool wide, int32_t len)
{
    if (len < 0)
        len = -1;
    if (flex)
        buf_uvarint(b, (uint64_t)((int64_t)len + 1));
    else if (wide)
        kw_i32(b, len);
    else
        kw_i16(b, (int16_t)len);
}

void kw_str(struct buf *b, bool flex, struct kstr s)
{
    /* STRING lengths are INT16: longer strings cannot be represented. */
    if (s.len > INT16_MAX && !flex) {
        b->oom = true;
        return;
    }
    kw_len(b, flex, false, s.len);
    if (s.len > 0)
        buf_put(b, s.p, (size_t)s.len);
}

void kw_bytes(struct buf *b, bool flex, const uint8_t *p, int32_t len)
{
    kw_len(b, flex, true, len);
    if (len > 0)
        buf_put(b, p, (size_t)len);
}

void kw_array(struct buf *b, bool flex, int32_t n)
{
    kw_len(b, flex, true, n);
}

void kw_no_tags(struct buf *b, bool flex)
{
    if (flex)
        buf_u8(b, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* The schema interpreter. */

static bool field_in(const struct kfield *f, int ver, bool flex)
{
    if (ver < f->vmin || ver > f->vmax)
        return false;
    if (f->tag >= 0 && !flex)
        return false;
    return true;
}

static void put_int(void *dst, uint8_t type, int64_t v)
{
    switch (type) {
    case KT_I8: {
        int8_t x = (int8_t)v;
        memcpy(dst, &x, 1);
        break;
    }
    case KT_BOOL: {
        bool x = v != 0;
        memcpy(dst, &x, sizeof x);
        break;
    }
    case KT_I16: {
        int16_t x = (int16_t)v;
        memcpy(dst, &x, 2);
        break;
    }
    case KT_I32: {
        int32_t x = (int32_t)v;
        memcpy(dst, &x, 4);
        break;
    }
    case KT_I64:
        memcpy(dst, &v, 8);
        break;
    default:
        break;
    }
}

static int64_t get_int(const void *src, uint8_t type)
{
    switch (type) {
    case KT_I8: {
        int8_t x;
        memcpy(&x, src, 1);
        return x;
    }
    case KT_BOOL: {
        bool x;
        memcpy(&x, src, sizeof x);
        return x;
    }
    case KT_I16: {
        int16_t x;
        memcpy(&x, src, 2);
        return x;
    }
    case KT_I32: {
        int32_t x;
        memcpy(&x, src, 4);
        return x;
    }
    case KT_I64: {
        int64_t x;
        memcpy(&x, src, 8);
        return x;
    }
    default:
        return 0;
    }
}

/* The fewest bytes one value of this field can take on the wire (>= 1 where it matters). */
static size_t min_size(uint8_t type, bool flex)
{
    switch (type) {
    case KT_I8:
    case KT_BOOL:
        return 1;
    case KT_I16:
        return 2;
    case KT_I32:
        return 4;
    case KT_I64:
        return 8;
    case KT_UUID:
        return 16;
    case KT_STR:
        return flex ? 1 : 2;
    default: /* bytes, records, arrays */
        return flex ? 1 : 4;
    }
}

static size_t schema_min_size(const struct kschema *s, int ver, bool flex)
{
    size_t n = flex ? 1 : 0; /* the tagged-field section */
    for (size_t i = 0; i < s->n; i++) {
        const struct kfield *f = &s->f[i];
        if (field_in(f, ver, flex) && f->tag < 0)
            n += min_size(f->type, flex);
    }
    return n ? n : 1;
}

static int decode_value(struct rd *r, const struct kfield *f, uint8_t type, int ver, bool flex,
                        struct karena *a, uint8_t *dst, int depth);

static int decode_struct(struct rd *r, const struct kschema *s, int ver, bool flex,
                         struct karena *a, uint8_t *out, int depth)
{
    if (depth > 8)
        return PLG_ECORRUPT;
    int rc;
    for (size_t i = 0; i < s->n; i++) {
        const struct kfield *f = &s->f[i];
        if (!field_in(f, ver, flex) || f->tag >= 0) {
            /* Absent in this version, or tagged (filled below if sent): the default. */
            switch (f->type) {
            case KT_STR: {
                /* Fields nullable in some version default to null (the specs' "null"). */
                struct kstr z = {NULL, f->tag >= 0 || f->nmin != KV_NEVER ? -1 : 0};
                memcpy(out + f->off, &z, sizeof z);
                break;
            }
            case KT_BYTES: {
                struct kbytes z = {NULL, -1};
                memcpy(out + f->off, &z, sizeof z);
                break;
            }
            case KT_RECORDS: {
                struct krecords z = {NULL, -1, NULL};
                memcpy(out + f->off, &z, sizeof z);
                break;
            }
            case KT_ARRAY: {
                void *np = NULL;
                int32_t n = 0;
                memcpy(out + f->off, &np, sizeof np);
                memcpy(out + f->noff, &n, sizeof n);
                break;
            }
            case KT_UUID:
                memset(out + f->off, 0, 16);
                break;
            default:
                put_int(out + f->off, f->type, f->dflt);
                break;
            }
            continue;
        }
        rc = decode_value(r, f, f->type, ver, flex, a, out + f->off, depth);
        if (rc)
            return rc;
    }
    if (!flex)
        return 0;
    /* Tagged fields: known tags decode into their members, unknown ones are skipped. */
    uint64_t ntags;
    if ((rc = rd_uvarint(r, &ntags)))
        return rc;
    if (ntags > rd_left(r) / 2)
        return PLG_ETOOBIG;
    int64_t last = -1;
    for (uint64_t t = 0; t < ntags; t++) {
        uint64_t tag, size;
        if ((rc = rd_uvarint(r, &tag)) || (rc = rd_uvarint(r, &size)))
            return rc;
        if ((int64_t)tag <= last || tag > INT32_MAX)
            return PLG_ECORRUPT; /* tags must be strictly increasing */
        last = (int64_t)tag;
        if (size > rd_left(r))
            return PLG_ETRUNC;
        struct rd sub;
        rd_init(&sub, r->p + r->pos, (size_t)size);
        rd_skip(r, (size_t)size);
        for (size_t i = 0; i < s->n; i++) {
            const struct kfield *f = &s->f[i];
            if (f->tag != (int64_t)tag || !field_in(f, ver, flex))
                continue;
            rc = decode_value(&sub, f, f->type, ver, flex, a, out + f->off, depth);
            if (rc)
                return rc;
            if (rd_left(&sub))
                return PLG_ECORRUPT;
            break;
        }
    }
    return 0;
}

static int decode_value(struct rd *r, const struct kfield *f, uint8_t type, int ver, bool flex,
                        struct karena *a, uint8_t *dst, int depth)
{
    /* Elements of primitive arrays are never null; the array's own nullability is f->nmin. */
    bool nullable = type == f->type && ver >= f->nmin;
    int rc;
    switch (type) {
    case KT_I8:
    case KT_I16:
    case KT_I32:
    case KT_I64: {
        int64_t v = 0;
        if (type == KT_I8) {
            int8_t x;
            rc = kr_i8(r, &x);
            v = x;
        } else if (type == KT_I16) {
            int16_t x;
            rc = kr_i16(r, &x);
            v = x;
        } else if (type == KT_I32) {
            int32_t x;
            rc = kr_i32(r, &x);
            v = x;
        } else {
            rc = kr_i64(r, &v);
        }
        if (rc)
            return rc;
        put_int(dst, type, v);
        return 0;
    }
    case KT_BOOL: {
        bool x;
        if ((rc = kr_bool(r, &x)))
            return rc;
        memcpy(dst, &x, sizeof x);
        return 0;
    }
    case KT_UUID: {
        struct kuuid u;
        if ((rc = kr_uuid(r, &u)))
            return rc;
        memcpy(dst, &u, sizeof u);
        return 0;
    }
    case KT_STR: {
        struct kstr s;
        if ((rc = kr_str(r, flex, nullable, &s)))
            return rc;
        memcpy(dst, &s, sizeof s);
        return 0;
    }
    case KT_BYTES: {
        struct kbytes b;
        if ((rc = kr_bytes(r, flex, nullable, &b)))
            return rc;
        memcpy(dst, &b, sizeof b);
        return 0;
    }
    case KT_RECORDS: {
        struct kbytes b;
        if ((rc = kr_bytes(r, flex, true, &b)))
            return rc;
        struct krecords rec = {b.p, b.len, NULL};
        memcpy(dst, &rec, sizeof rec);
        return 0;
    }
    case KT_ARRAY: {
        size_t emin = f->sub ? schema_min_size(f->sub, ver, flex) : min_size(f->etype, flex);
        int32_t n;
        if ((rc = kr_array(r, flex, nullable, emin, &n)))
            return rc;
        uint8_t *elems = NULL;
        if (n > 0) {
            if ((size_t)n > SIZE_MAX / f->esize)
                return PLG_ETOOBIG;
            elems = karena_alloc(a, (size_t)n * f->esize);
            if (!elems)
                return PLG_ETOOBIG;
            for (int32_t i = 0; i < n; i++) {
                uint8_t *e = elems + (size_t)i * f->esize;
                if (f->sub)
                    rc = decode_struct(r, f->sub, ver, flex, a, e, depth + 1);
                else
                    rc = decode_value(r, f, f->etype, ver, flex, a, e, depth + 1);
                if (rc)
                    return rc;
            }
        }
        memcpy(dst, &elems, sizeof elems);
        memcpy((uint8_t *)dst - f->off + f->noff, &n, sizeof n);
        return 0;
    }
    default:
        return PLG_EINVAL;
    }
}

int kmsg_decode(struct rd *r, const struct kschema *s, int ver, bool flex, struct karena *a,
                void *out)
{
    return decode_struct(r, s, ver, flex, a, out, 0);
}

struct kenc {
    struct buf *b;
    int ver;
    bool flex;
    const struct kw_hooks *hooks;
    size_t ext;
    int err; /* PLG_ETOOBIG: a value the version cannot represent */
};

static void encode_struct(struct kenc *e, const struct kschema *s, const uint8_t *in);

/* For primitive array elements the element sits at offset 0 of its slot. */
static void encode_value(struct kenc *e, const struct kfield *f, uint8_t type, const uint8_t *src,
                         const uint8_t *base)
{
    struct buf *b = e->b;
    switch (type) {
    case KT_I8:
        kw_i8(b, (int8_t)get_int(src, type));
        break;
    case KT_BOOL:
        kw_bool(b, get_int(src, type) != 0);
        break;
    case KT_I16:
        kw_i16(b, (int16_t)get_int(src, type));
        break;
    case KT_I32:
        kw_i32(b, (int32_t)get_int(src, type));
        break;
    case KT_I64:
        kw_i64(b, get_int(src, type));
        break;
    case KT_UUID: {
        struct kuuid u;
        memcpy(&u, src, sizeof u);
        kw_uuid(b, &u);
        break;
    }
    case KT_STR: {
        struct kstr s;
        memcpy(&s, src, sizeof s);
        if (s.len < 0 && (type != f->type || e->ver < f->nmin))
            s.len = 0; /* not nullable here: send "" */
        if (s.len > INT16_MAX && !e->flex) {
            e->err = PLG_ETOOBIG; /* STRING has an INT16 length */
            break;
        }
        kw_str(b, e->flex, s);
        break;
    }
    case KT_BYTES: {
        struct kbytes x;
        memcpy(&x, src, sizeof x);
        if (x.len < 0 && e->ver < f->nmin)
            x.len = 0;
        kw_bytes(b, e->flex, x.p, x.len);
        break;
    }
    case KT_RECORDS: {
        struct krecords rec;
        memcpy(&rec, src, sizeof rec);
        if (rec.ext && rec.len > 0) {
            kw_array(b, e->flex, rec.len); /* same length form as BYTES */
            if (e->hooks && e->hooks->ext_records)
                e->hooks->ext_records(e->hooks->ctx, b->len, &rec);
            e->ext += (size_t)rec.len;
        } else {
            kw_bytes(b, e->flex, rec.p, rec.len);
        }
        break;
    }
    case KT_ARRAY: {
        const uint8_t *elems;
        int32_t n;
        memcpy(&elems, src, sizeof elems);
        memcpy(&n, base + f->noff, sizeof n);
        if (n < 0 && e->ver < f->nmin)
            n = 0;
        assert(n <= 0 || elems);
        kw_array(b, e->flex, n);
        for (int32_t i = 0; i < n; i++) {
            const uint8_t *el = elems + (size_t)i * f->esize;
            if (f->sub)
                encode_struct(e, f->sub, el);
            else
                encode_value(e, f, f->etype, el, NULL);
        }
        break;
    }
    default:
        break;
    }
}

static void encode_struct(struct kenc *e, const struct kschema *s, const uint8_t *in)
{
    size_t ntags = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct kfield *f = &s->f[i];
        if (!field_in(f, e->ver, e->flex))
            continue;
        if (f->tag >= 0) {
            if (f->type == KT_STR) {
                struct kstr z;
                memcpy(&z, in + f->off, sizeof z);
                ntags += z.len >= 0;
            } else if (f->type <= KT_BOOL) {
                ntags += get_int(in + f->off, f->type) != f->dflt;
            }
            continue;
        }
        encode_value(e, f, f->type, in + f->off, in);
    }
    if (!e->flex)
        return;
    buf_uvarint(e->b, ntags);
    if (!ntags)
        return;
    /* Tagged fields in increasing tag order (schemas list them that way). */
    for (size_t i = 0; i < s->n; i++) {
        const struct kfield *f = &s->f[i];
        if (!field_in(f, e->ver, e->flex) || f->tag < 0)
            continue;
        struct buf tmp;
        buf_init(&tmp);
        struct kenc te = {&tmp, e->ver, e->flex, NULL, 0, 0};
        if (f->type == KT_STR) {
            struct kstr z;
            memcpy(&z, in + f->off, sizeof z);
            if (z.len < 0)
                continue;
        } else if (f->type > KT_BOOL || get_int(in + f->off, f->type) == f->dflt) {
            continue;
        }
        encode_value(&te, f, f->type, in + f->off, in);
        if (te.err)
            e->err = te.err;
        buf_uvarint(e->b, (uint64_t)f->tag);
        buf_uvarint(e->b, tmp.len);
        buf_put(e->b, tmp.data, tmp.len);
        if (tmp.oom)
            e->b->oom = true;
        buf_free(&tmp);
    }
}

int kmsg_encode_checked(struct buf *b, const struct kschema *s, int ver, bool flex, const void *in,
                        const struct kw_hooks *hooks, size_t *ext)
{
    struct kenc e = {b, ver, flex, hooks, 0, 0};
    encode_struct(&e, s, in);
    if (ext)
        *ext = e.ext;
    if (e.err)
        return e.err;
    return b->oom ? PLG_ENOMEM : 0;
}

size_t kmsg_encode(struct buf *b, const struct kschema *s, int ver, bool flex, const void *in,
                   const struct kw_hooks *hooks)
{
    size_t ext = 0;
    if (kmsg_encode_checked(b, s, ver, flex, in, hooks, &ext) == PLG_ETOOBIG)
        b->oom = true; /* make the failure visible to callers that check b->oom */
    return ext;
}
