/*
 * merkle.c — see merkle.h. The recursion follows RFC 9162 §2.1 word for word: a range of n > 1
 * leaves splits at k, the largest power of two strictly below n; the left part is a complete
 * subtree (read from the node source), the right part recurses.
 */
#include "crypto/merkle.h"

#include <sodium.h>
#include <string.h>

#include "base/bytes.h"
#include "crypto/blake3.h"
#include "pyralog/pyralog.h"

static void blake3_fn(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out)
{
    b3_hash_parts(parts, lens, n, out);
}

static void sha256_fn(const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < n; i++)
        crypto_hash_sha256_update(&st, parts[i], lens[i]);
    crypto_hash_sha256_final(&st, out);
}

const struct mk_hash mk_blake3 = {"blake3", 32, blake3_fn};
const struct mk_hash mk_sha256 = {"sha256", 32, sha256_fn};

void mk_leaf_hash(const struct mk_hash *h, const uint8_t *data, size_t len, uint8_t *out)
{
    static const uint8_t prefix = 0x00;
    const uint8_t *parts[2] = {&prefix, data};
    size_t lens[2] = {1, len};
    h->fn(parts, lens, 2, out);
}

void mk_node_hash(const struct mk_hash *h, const uint8_t *left, const uint8_t *right, uint8_t *out)
{
    static const uint8_t prefix = 0x01;
    const uint8_t *parts[3] = {&prefix, left, right};
    size_t lens[3] = {1, h->size, h->size};
    h->fn(parts, lens, 3, out);
}

void mk_empty_root(const struct mk_hash *h, uint8_t *out)
{
    h->fn(NULL, NULL, 0, out);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static bool is_pow2(uint64_t n)
{
    return n && !(n & (n - 1));
}

static unsigned log2u(uint64_t n)
{
    return (unsigned)(63 - __builtin_clzll(n));
}

int mk_range_hash(const struct mk_source *s, uint64_t start, uint64_t n, uint8_t *out)
{
    if (n == 0)
        return PLG_EINVAL;
    if (is_pow2(n))
        return s->node(s->ctx, start, log2u(n), out);
    uint64_t k = split_point(n);
    uint8_t left[MK_HASH_MAX], right[MK_HASH_MAX];
    int rc = s->node(s->ctx, start, log2u(k), left);
    if (rc)
        return rc;
    rc = mk_range_hash(s, start + k, n - k, right);
    if (rc)
        return rc;
    mk_node_hash(s->hash, left, right, out);
    return 0;
}

int mk_root(const struct mk_source *s, uint64_t size, uint8_t *out)
{
    if (size == 0) {
        mk_empty_root(s->hash, out);
        return 0;
    }
    return mk_range_hash(s, 0, size, out);
}

/* PATH(m, D[start : start + n]) appended bottom to top. */
static int path_rec(const struct mk_source *s, uint64_t start, uint64_t n, uint64_t m,
                    uint8_t *path, size_t *count)
{
    if (n == 1)
        return 0;
    uint64_t k = split_point(n);
    int rc;
    if (m < k) {
        rc = path_rec(s, start, k, m, path, count);
        if (!rc)
            rc = mk_range_hash(s, start + k, n - k, path + *count * s->hash->size);
    } else {
        rc = path_rec(s, start + k, n - k, m - k, path, count);
        if (!rc)
            rc = mk_range_hash(s, start, k, path + *count * s->hash->size);
    }
    if (!rc)
        (*count)++;
    return rc;
}

int mk_inclusion_proof(const struct mk_source *s, uint64_t index, uint64_t size, uint8_t *path,
                       size_t *count)
{
    *count = 0;
    if (index >= size)
        return PLG_ERANGE;
    return path_rec(s, 0, size, index, path, count);
}

/* SUBPROOF(m, D[start : start + n], complete) appended bottom to top. */
static int subproof(const struct mk_source *s, uint64_t m, uint64_t start, uint64_t n,
                    bool complete, uint8_t *path, size_t *count)
{
    int rc = 0;
    if (m == n) {
        if (complete)
            return 0;
        rc = mk_range_hash(s, start, n, path + *count * s->hash->size);
    } else {
        uint64_t k = split_point(n);
        if (m <= k) {
            rc = subproof(s, m, start, k, complete, path, count);
            if (!rc)
                rc = mk_range_hash(s, start + k, n - k, path + *count * s->hash->size);
        } else {
            rc = subproof(s, m - k, start + k, n - k, false, path, count);
            if (!rc)
                rc = mk_range_hash(s, start, k, path + *count * s->hash->size);
        }
    }
    if (!rc)
        (*count)++;
    return rc;
}

int mk_consistency_proof(const struct mk_source *s, uint64_t from, uint64_t to, uint8_t *path,
                         size_t *count)
{
    *count = 0;
    if (from == 0 || from > to)
        return PLG_ERANGE;
    return subproof(s, from, 0, to, true, path, count);
}

size_t mk_inclusion_len(uint64_t index, uint64_t size)
{
    size_t n = 0;
    if (index >= size)
        return 0;
    while (size > 1) {
        uint64_t k = split_point(size);
        if (index < k) {
            size = k;
        } else {
            index -= k;
            size -= k;
        }
        n++;
    }
    return n;
}

size_t mk_consistency_len(uint64_t from, uint64_t to)
{
    size_t n = 0;
    bool complete = true;
    if (from == 0 || from > to)
        return 0;
    while (from != to) {
        uint64_t k = split_point(to);
        if (from <= k) {
            to = k;
        } else {
            from -= k;
            to -= k;
            complete = false;
        }
        n++;
    }
    return n + (complete ? 0 : 1);
}

/* ---- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------------ */

static bool same(struct mk_bytes a, const uint8_t *b, size_t len)
{
    return a.len == len && sodium_memcmp(a.p, b, len) == 0;
}

int mk_verify_inclusion(const struct mk_hash *h, uint64_t index, uint64_t size,
                        struct mk_bytes leaf_hash, const struct mk_bytes *path, size_t count,
                        struct mk_bytes root)
{
    size_t hs = h->size;
    if (index >= size || leaf_hash.len != hs || root.len != hs)
        return PLG_EVERIFY;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[MK_HASH_MAX];
    memcpy(r, leaf_hash.p, hs);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0 || path[i].len != hs)
            return PLG_EVERIFY;
        if ((fn & 1) || fn == sn) {
            mk_node_hash(h, path[i].p, r, r);
            if (!(fn & 1))
                while (fn && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            mk_node_hash(h, r, path[i].p, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && same(root, r, hs) ? 0 : PLG_EVERIFY;
}

int mk_verify_consistency(const struct mk_hash *h, uint64_t from, uint64_t to,
                          struct mk_bytes root1, struct mk_bytes root2, const struct mk_bytes *path,
                          size_t count)
{
    size_t hs = h->size;
    if (from == 0 || from > to)
        return PLG_EVERIFY;
    if (from == to)
        return count == 0 && root1.len == root2.len &&
                       (root1.len == 0 || sodium_memcmp(root1.p, root2.p, root1.len) == 0)
                   ? 0
                   : PLG_EVERIFY;
    if (count == 0 || root1.len != hs || root2.len != hs)
        return PLG_EVERIFY;
    for (size_t i = 0; i < count; i++)
        if (path[i].len != hs)
            return PLG_EVERIFY;
    /* When `from` is a power of two the old root is the first node of the walk. */
    size_t i = 0;
    const uint8_t *first = path[0].p;
    if (is_pow2(from))
        first = root1.p;
    else
        i = 1;
    uint64_t fn = from - 1, sn = to - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[MK_HASH_MAX], sr[MK_HASH_MAX];
    memcpy(fr, first, hs);
    memcpy(sr, first, hs);
    for (; i < count; i++) {
        if (sn == 0)
            return PLG_EVERIFY;
        if ((fn & 1) || fn == sn) {
            mk_node_hash(h, path[i].p, fr, fr);
            mk_node_hash(h, path[i].p, sr, sr);
            if (!(fn & 1))
                while (fn && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            mk_node_hash(h, sr, path[i].p, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && same(root1, fr, hs) && same(root2, sr, hs) ? 0 : PLG_EVERIFY;
}

/* ---- record leaves ------------------------------------------------------------------------- */

static size_t bytes_size(int32_t len)
{
    return 4 + (len > 0 ? (size_t)len : 0);
}

static uint8_t *put_bytes(uint8_t *d, const uint8_t *p, int32_t len)
{
    if (len < 0) {
        be32_put(d, 0xFFFFFFFFu);
        return d + 4;
    }
    be32_put(d, (uint32_t)len);
    if (len)
        memcpy(d + 4, p, (size_t)len);
    return d + 4 + len;
}

int mk_leaf_input(struct buf *b, const struct mk_record *r)
{
    /* One reservation, then plain stores: this runs once per appended record. */
    size_t size = 1 + 8 + 8 + bytes_size(r->key_len) + bytes_size(r->value_len) + 4;
    for (uint32_t i = 0; i < r->header_count; i++) {
        const struct mk_header *hd = &r->headers[i];
        if (hd->key_len < 0)
            return PLG_EINVAL;
        size += bytes_size(hd->key_len) + bytes_size(hd->value_len);
    }
    uint8_t *d = buf_extend(b, size);
    if (!d)
        return PLG_ENOMEM;
    *d++ = 0x00;
    be64_put(d, r->offset);
    be64_put(d + 8, (uint64_t)r->timestamp);
    d = put_bytes(d + 16, r->key, r->key_len);
    d = put_bytes(d, r->value, r->value_len);
    be32_put(d, r->header_count);
    d += 4;
    for (uint32_t i = 0; i < r->header_count; i++) {
        const struct mk_header *hd = &r->headers[i];
        d = put_bytes(d, hd->key, hd->key_len);
        d = put_bytes(d, hd->value, hd->value_len);
    }
    return 0;
}

int mk_record_leaf(const struct mk_record *r, uint8_t out[32])
{
    struct buf b;
    buf_init(&b);
    int rc = mk_leaf_input(&b, r);
    if (!rc)
        b3_hash(b.data, b.len, out);
    buf_free(&b);
    return rc;
}

/* ---- in-memory tree ------------------------------------------------------------------------ */

void mk_memtree_init(struct mk_memtree *t, const struct mk_hash *h)
{
    t->hash = h;
    t->size = 0;
    for (int l = 0; l < MK_MAX_PATH; l++)
        buf_init(&t->levels[l]);
}

void mk_memtree_destroy(struct mk_memtree *t)
{
    for (int l = 0; l < MK_MAX_PATH; l++)
        buf_free(&t->levels[l]);
    t->size = 0;
}

int mk_memtree_append(struct mk_memtree *t, const uint8_t *leaf_hash)
{
    size_t hs = t->hash->size;
    uint64_t i = t->size;
    buf_put(&t->levels[0], leaf_hash, hs);
    if (t->levels[0].oom)
        return PLG_ENOMEM;
    /* Each odd index completes a subtree one level up. */
    for (unsigned l = 0; i & 1; l++, i >>= 1) {
        const uint8_t *pair = t->levels[l].data + (i - 1) * hs;
        uint8_t *dst = buf_extend(&t->levels[l + 1], hs);
        if (!dst)
            return PLG_ENOMEM;
        mk_node_hash(t->hash, pair, pair + hs, dst);
    }
    t->size++;
    return 0;
}

void mk_memtree_truncate(struct mk_memtree *t, uint64_t size)
{
    if (size >= t->size)
        return;
    for (unsigned l = 0; l < MK_MAX_PATH; l++)
        t->levels[l].len = (size_t)(size >> l) * t->hash->size;
    t->size = size;
}

static int memtree_node(void *ctx, uint64_t start, unsigned level, uint8_t *out)
{
    struct mk_memtree *t = ctx;
    size_t hs = t->hash->size;
    if (level >= MK_MAX_PATH || (start & (((uint64_t)1 << level) - 1)) ||
        start + ((uint64_t)1 << level) > t->size)
        return PLG_ERANGE;
    memcpy(out, t->levels[level].data + (start >> level) * hs, hs);
    return 0;
}

void mk_memtree_source(struct mk_memtree *t, struct mk_source *s)
{
    s->hash = t->hash;
    s->node = memtree_node;
    s->ctx = t;
}
