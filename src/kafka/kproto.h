/*
 * kproto.h — Kafka wire primitives, the decode arena and the schema-driven message codec.
 *
 * Owns: reading and writing the protocol's primitive types in both encodings (classic and
 * "flexible"/compact), tagged-field sections, and a small interpreter that turns a field table
 * (struct kschema, one per message, mirroring Kafka's message JSON specs) into decode and encode
 * of C structs. Every message struct is plain data; the schema names each member's type, the
 * versions it exists in, the versions it may be null in and (for tagged fields) its tag.
 *
 * Conventions (every API in src/kafka/ follows them):
 *  - One schema per message serves all versions; `flex` (a per-API version threshold, see kapi.h)
 *    picks COMPACT_* lengths and tagged-field sections. Fields absent in a version decode to
 *    their default (.dflt) and are skipped on encode.
 *  - Strings and byte fields decode to views (struct kstr / struct kbytes / struct krecords)
 *    into the caller's input buffer: no copies, valid while that buffer lives. Not NUL-terminated.
 *    Null is len == -1 (p == NULL).
 *  - Arrays are a pointer member plus an int32_t count member; null arrays have count -1.
 *    Decoded arrays live in a struct karena; one karena_destroy frees a whole request.
 *  - A client-supplied count is checked against the bytes left (count * minimal element size)
 *    before anything is allocated, and the arena has a byte cap.
 *  - Readers return 0 or a negative PLG_E*: PLG_ETRUNC (input ends early), PLG_ECORRUPT
 *    (negative length other than a permitted null, bad varint, null where not nullable,
 *    trailing bytes), PLG_ETOOBIG (count larger than the remaining bytes could hold, or arena
 *    cap reached), PLG_ENOMEM.
 *  - Writers append to a struct buf (sticky oom: check buf.oom once at the end).
 *
 * Pure code: no I/O, no clocks, no globals. Any thread; a karena or buf is used by one thread.
 * Depends only on src/base.
 */
#ifndef PLG_KAFKA_KPROTO_H
#define PLG_KAFKA_KPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/bytes.h"

/* A string view: len -1 means null (then p is NULL). Not NUL-terminated. */
struct kstr {
    const char *p;
    int32_t len;
};

/* A byte-string view: len -1 means null. */
struct kbytes {
    const uint8_t *p;
    int32_t len;
};

/*
 * A record set (RecordBatch bytes). Decoded: a view into the request (p, len; len -1 = null).
 * Encoded: if `ext` is non-NULL the encoder writes only the length prefix and reports the
 * position through the writer's ext hook, so a server can splice `len` bytes from a file there
 * (sendfile) instead of copying them into the buffer.
 */
struct krecords {
    const uint8_t *p;
    int32_t len;
    const void *ext;
};

struct kuuid {
    uint8_t b[16];
};

/* Returns true when the view equals the NUL-terminated string s (a null view equals nothing). */
bool kstr_eq(struct kstr s, const char *z);
/* A view of a NUL-terminated string (NULL gives a null view). */
struct kstr kstr_z(const char *z);

/* ---------------------------------------------------------------------------------------- */
/* Arena: bump allocator for decoded arrays. */

struct karena_chunk;
struct karena {
    struct karena_chunk *head;
    size_t used;  /* bytes handed out so far */
    size_t limit; /* cap on `used`; 0 means the default (64 MiB) */
};

void karena_init(struct karena *a, size_t limit);
/* Frees every allocation at once; the arena can be reused after karena_init. */
void karena_destroy(struct karena *a);
/* Zeroed, 16-byte-aligned memory for n bytes, or NULL (cap reached or out of memory). */
void *karena_alloc(struct karena *a, size_t n);

/* ---------------------------------------------------------------------------------------- */
/* Primitive readers (bounds-checked, external bytes). `flex` selects the COMPACT_* forms. */

int kr_i8(struct rd *r, int8_t *v);
int kr_i16(struct rd *r, int16_t *v);
int kr_i32(struct rd *r, int32_t *v);
int kr_i64(struct rd *r, int64_t *v);
int kr_bool(struct rd *r, bool *v);
int kr_uuid(struct rd *r, struct kuuid *v);
/* STRING / COMPACT_STRING; with `nullable` false a null is PLG_ECORRUPT. */
int kr_str(struct rd *r, bool flex, bool nullable, struct kstr *s);
/* BYTES / COMPACT_BYTES (also RECORDS / COMPACT_RECORDS). */
int kr_bytes(struct rd *r, bool flex, bool nullable, struct kbytes *b);
/*
 * ARRAY / COMPACT_ARRAY count. *n is -1 for a null array (PLG_ECORRUPT unless nullable).
 * Fails with PLG_ETOOBIG when n * min_elem (min_elem >= 1) exceeds the bytes left.
 */
int kr_array(struct rd *r, bool flex, bool nullable, size_t min_elem, int32_t *n);
/* Skips a tagged-field section (does nothing when !flex). */
int kr_skip_tags(struct rd *r, bool flex);

/* Primitive writers (append to b; failures are sticky in b->oom). */

void kw_i8(struct buf *b, int8_t v);
void kw_i16(struct buf *b, int16_t v);
void kw_i32(struct buf *b, int32_t v);
void kw_i64(struct buf *b, int64_t v);
void kw_bool(struct buf *b, bool v);
void kw_uuid(struct buf *b, const struct kuuid *v);
/* Writes s (null when s.len < 0) as STRING / COMPACT_STRING. */
void kw_str(struct buf *b, bool flex, struct kstr s);
void kw_bytes(struct buf *b, bool flex, const uint8_t *p, int32_t len);
/* Array count (n = -1 for null). */
void kw_array(struct buf *b, bool flex, int32_t n);
/* An empty tagged-field section (nothing when !flex). */
void kw_no_tags(struct buf *b, bool flex);

/* ---------------------------------------------------------------------------------------- */
/* Schemas. */

enum ktype {
    KT_I8 = 1,
    KT_I16,
    KT_I32,
    KT_I64,
    KT_BOOL,
    KT_UUID,
    KT_STR,     /* struct kstr */
    KT_BYTES,   /* struct kbytes */
    KT_RECORDS, /* struct krecords */
    KT_ARRAY,   /* pointer member + int32_t count member */
};

#define KV_MAX 127 /* "and every later version" */
#define KV_NEVER 127

struct kschema;

struct kfield {
    uint8_t type;   /* enum ktype */
    uint8_t etype;  /* KT_ARRAY of a primitive: its element type (then sub is NULL) */
    int8_t vmin;    /* first version the field exists in */
    int8_t vmax;    /* last version (KV_MAX: all later) */
    int8_t nmin;    /* first version in which it may be null (KV_NEVER: never) */
    int8_t tag;     /* -1: a regular field; >= 0: a tagged field (flexible versions only) */
    uint16_t off;   /* offsetof the member (for arrays: the element pointer) */
    uint16_t noff;  /* arrays: offsetof the int32_t count member */
    uint16_t esize; /* arrays: sizeof one element */
    const struct kschema *sub; /* arrays of structs: the element schema */
    int64_t dflt;              /* integer default when absent */
    const char *name;          /* for docs and error messages */
};

struct kschema {
    const char *name;
    const struct kfield *f;
    size_t n;
};

/*
 * Hook called by the encoder for each struct krecords with ext != NULL: `at` is the buffer
 * offset where the record bytes belong (right after their length prefix).
 */
struct kw_hooks {
    void (*ext_records)(void *ctx, size_t at, const struct krecords *rec);
    void *ctx;
};

/*
 * Decodes one message of schema s at version ver from r into the struct at out (which the
 * caller zeroed or not: every member the schema names is written). Arrays go into arena a.
 */
int kmsg_decode(struct rd *r, const struct kschema *s, int ver, bool flex, struct karena *a,
                void *out);
/*
 * Encodes the struct at in. Returns the number of external record bytes (ext records, see
 * struct krecords) to add to the frame size; hooks may be NULL when there are none.
 * Check b->oom after.
 */
size_t kmsg_encode(struct buf *b, const struct kschema *s, int ver, bool flex, const void *in,
                   const struct kw_hooks *hooks);
/*
 * The same with a status: 0, PLG_ETOOBIG (a value this version cannot carry, e.g. a STRING
 * longer than 32767 bytes in a non-flexible version) or PLG_ENOMEM. *ext (may be NULL) gets the
 * external record bytes. On failure b holds a partial message: the caller rolls it back.
 */
int kmsg_encode_checked(struct buf *b, const struct kschema *s, int ver, bool flex, const void *in,
                        const struct kw_hooks *hooks, size_t *ext);

/* Field-description helpers for schema tables: (struct type, member, first, last version). */
#define KF_(t, et, st, m, v0, v1, nm, tg, sub_, es, nm_off, d)                                     \
    {                                                                                              \
        .type = (t), .etype = (et), .vmin = (v0), .vmax = (v1), .nmin = (nm), .tag = (tg),         \
        .off = (uint16_t)offsetof(st, m), .noff = (uint16_t)(nm_off), .esize = (es),               \
        .sub = (sub_), .dflt = (d), .name = #m                                                     \
    }
#define KF_I8(st, m, v0, v1) KF_(KT_I8, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, 0)
#define KF_I16(st, m, v0, v1) KF_(KT_I16, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, 0)
#define KF_I32(st, m, v0, v1) KF_(KT_I32, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, 0)
#define KF_I64(st, m, v0, v1) KF_(KT_I64, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, 0)
#define KF_BOOL(st, m, v0, v1) KF_(KT_BOOL, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, 0)
#define KF_UUID(st, m, v0, v1) KF_(KT_UUID, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, 0)
/* Integers with a default other than 0 for versions without the field. */
#define KF_I8D(st, m, v0, v1, d) KF_(KT_I8, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, d)
#define KF_I16D(st, m, v0, v1, d) KF_(KT_I16, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, d)
#define KF_I32D(st, m, v0, v1, d) KF_(KT_I32, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, d)
#define KF_I64D(st, m, v0, v1, d) KF_(KT_I64, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, d)
#define KF_BOOLD(st, m, v0, v1, d) KF_(KT_BOOL, 0, st, m, v0, v1, KV_NEVER, -1, NULL, 0, 0, d)
/* Strings/bytes; nm = first nullable version (KV_NEVER for never). */
#define KF_STR(st, m, v0, v1, nm) KF_(KT_STR, 0, st, m, v0, v1, nm, -1, NULL, 0, 0, 0)
#define KF_BYTES(st, m, v0, v1, nm) KF_(KT_BYTES, 0, st, m, v0, v1, nm, -1, NULL, 0, 0, 0)
#define KF_RECORDS(st, m, v0, v1) KF_(KT_RECORDS, 0, st, m, v0, v1, 0, -1, NULL, 0, 0, 0)
/* Arrays: member m (pointer) and count member mn; element type et or element schema sub. */
#define KF_ARR(st, m, mn, v0, v1, nm, sub_)                                                        \
    KF_(KT_ARRAY, 0, st, m, v0, v1, nm, -1, sub_, sizeof(*((st *)0)->m), offsetof(st, mn), 0)
#define KF_PARR(st, m, mn, v0, v1, nm, et)                                                         \
    KF_(KT_ARRAY, et, st, m, v0, v1, nm, -1, NULL, sizeof(*((st *)0)->m), offsetof(st, mn), 0)
/* Tagged fields (flexible versions only): integers with default d, nullable strings. */
#define KF_TAG_I16(st, m, v0, tg, d) KF_(KT_I16, 0, st, m, v0, KV_MAX, KV_NEVER, tg, NULL, 0, 0, d)
#define KF_TAG_I32(st, m, v0, tg, d) KF_(KT_I32, 0, st, m, v0, KV_MAX, KV_NEVER, tg, NULL, 0, 0, d)
#define KF_TAG_I64(st, m, v0, tg, d) KF_(KT_I64, 0, st, m, v0, KV_MAX, KV_NEVER, tg, NULL, 0, 0, d)
#define KF_TAG_STR(st, m, v0, tg) KF_(KT_STR, 0, st, m, v0, KV_MAX, v0, tg, NULL, 0, 0, 0)

/* Defines `const struct kschema var` (exported) or, with KSCHEMA_LOCAL, a file-local one. */
#define KSCHEMA(var, label, ...)                                                                   \
    static const struct kfield var##_fields[] = {__VA_ARGS__};                                     \
    const struct kschema var = {label, var##_fields, sizeof(var##_fields) / sizeof(var##_fields[0])}
#define KSCHEMA_LOCAL(var, label, ...)                                                             \
    static const struct kfield var##_fields[] = {__VA_ARGS__};                                     \
    static const struct kschema var = {label, var##_fields,                                        \
                                       sizeof(var##_fields) / sizeof(var##_fields[0])}

#endif
