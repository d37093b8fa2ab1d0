/*
 * blake3.c — portable BLAKE3, the incremental hasher and the run-time dispatch.
 *
 * Tree mode (BLAKE3 spec §2.1): the message is split into 1 KiB chunks, each compressed block
 * by block into a chaining value (CV); CVs are merged pairwise as a binary tree whose left
 * subtrees are complete and as large as possible. The hasher keeps a stack of CVs of completed
 * subtrees and merges lazily: a CV is only folded into its parent once more input proves it is
 * not the root, so the root node always gets the ROOT flag and the XOF can run from it.
 *
 * Speed: when at least one more chunk of input follows, update() hashes an aligned run of up to
 * B3_SUBTREE_CHUNKS whole chunks at once with b3_hash_many (SIMD lanes = chunks), then reduces
 * the run's CVs to one subtree CV, again lanes-wide, and pushes it like one big chunk.
 */
#include "crypto/blake3.h"

#include <string.h>

#include "crypto/blake3_impl.h"
#include "pyralog/pyralog.h"

#define B3_SUBTREE_CHUNKS 64

const uint32_t b3_iv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                           0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

/* ---- compression function (portable) ---------------------------------------------------- */

static inline uint32_t rotr32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

#define B3_G(a, b, c, d, x, y)                                                                     \
    do {                                                                                           \
        a = a + b + (x);                                                                           \
        d = rotr32(d ^ a, 16);                                                                     \
        c = c + d;                                                                                 \
        b = rotr32(b ^ c, 12);                                                                     \
        a = a + b + (y);                                                                           \
        d = rotr32(d ^ a, 8);                                                                      \
        c = c + d;                                                                                 \
        b = rotr32(b ^ c, 7);                                                                      \
    } while (0)

static inline void compress_core(const uint32_t cv[8], const uint8_t block[B3_BLOCK_LEN],
                                 uint8_t block_len, uint64_t counter, uint8_t flags, uint32_t v[16])
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = b3_load32(block + 4 * i);
    uint32_t v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3], v4 = cv[4], v5 = cv[5], v6 = cv[6],
             v7 = cv[7], v8 = b3_iv[0], v9 = b3_iv[1], v10 = b3_iv[2], v11 = b3_iv[3],
             v12 = (uint32_t)counter, v13 = (uint32_t)(counter >> 32), v14 = block_len, v15 = flags;
    for (int r = 0; r < 7; r++) {
        const uint8_t *s = b3_schedule[r];
        B3_G(v0, v4, v8, v12, m[s[0]], m[s[1]]);
        B3_G(v1, v5, v9, v13, m[s[2]], m[s[3]]);
        B3_G(v2, v6, v10, v14, m[s[4]], m[s[5]]);
        B3_G(v3, v7, v11, v15, m[s[6]], m[s[7]]);
        B3_G(v0, v5, v10, v15, m[s[8]], m[s[9]]);
        B3_G(v1, v6, v11, v12, m[s[10]], m[s[11]]);
        B3_G(v2, v7, v8, v13, m[s[12]], m[s[13]]);
        B3_G(v3, v4, v9, v14, m[s[14]], m[s[15]]);
    }
    v[0] = v0, v[1] = v1, v[2] = v2, v[3] = v3, v[4] = v4, v[5] = v5, v[6] = v6, v[7] = v7;
    v[8] = v8, v[9] = v9, v[10] = v10, v[11] = v11, v[12] = v12, v[13] = v13, v[14] = v14;
    v[15] = v15;
}

void b3_compress_in_place(uint32_t cv[8], const uint8_t block[B3_BLOCK_LEN], uint8_t block_len,
                          uint64_t counter, uint8_t flags)
{
    uint32_t v[16];
    compress_core(cv, block, block_len, counter, flags, v);
    for (int i = 0; i < 8; i++)
        cv[i] = v[i] ^ v[i + 8];
}

void b3_compress_xof(const uint32_t cv[8], const uint8_t block[B3_BLOCK_LEN], uint8_t block_len,
                     uint64_t counter, uint8_t flags, uint32_t out[16])
{
    uint32_t v[16];
    compress_core(cv, block, block_len, counter, flags, v);
    for (int i = 0; i < 8; i++) {
        out[i] = v[i] ^ v[i + 8];
        out[i + 8] = v[i + 8] ^ cv[i];
    }
}

/* ---- implementation choice ---------------------------------------------------------------- */

static int g_impl = -2; /* -2: not detected yet; accessed with __atomic builtins */

bool b3_impl_supported(enum b3_impl impl)
{
    switch (impl) {
    case B3_IMPL_AUTO:
    case B3_IMPL_PORTABLE:
        return true;
#if defined(__x86_64__) || defined(__i386__)
    case B3_IMPL_SSE41:
        __builtin_cpu_init();
        return __builtin_cpu_supports("sse4.1");
    case B3_IMPL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    case B3_IMPL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return false;
    }
}

static enum b3_impl detect(void)
{
    if (b3_impl_supported(B3_IMPL_AVX512))
        return B3_IMPL_AVX512;
    if (b3_impl_supported(B3_IMPL_AVX2))
        return B3_IMPL_AVX2;
    if (b3_impl_supported(B3_IMPL_SSE41))
        return B3_IMPL_SSE41;
    return B3_IMPL_PORTABLE;
}

enum b3_impl b3_get_impl(void)
{
    int v = __atomic_load_n(&g_impl, __ATOMIC_RELAXED);
    if (v == -2) {
        v = (int)detect();
        __atomic_store_n(&g_impl, v, __ATOMIC_RELAXED);
    }
    return (enum b3_impl)v;
}

int b3_set_impl(enum b3_impl impl)
{
    if (!b3_impl_supported(impl))
        return PLG_EUNSUPP;
    __atomic_store_n(&g_impl, (int)(impl == B3_IMPL_AUTO ? detect() : impl), __ATOMIC_RELAXED);
    return 0;
}

const char *b3_impl_name(enum b3_impl impl)
{
    switch (impl) {
    case B3_IMPL_PORTABLE:
        return "portable";
    case B3_IMPL_SSE41:
        return "sse4.1";
    case B3_IMPL_AVX2:
        return "avx2";
    case B3_IMPL_AVX512:
        return "avx512";
    default:
        return "auto";
    }
}

/* ---- many inputs at once ------------------------------------------------------------------ */

static void hash_one_portable(const uint8_t *input, size_t blocks, const uint32_t key[8],
                              uint64_t counter, uint8_t flags, uint8_t flags_start,
                              uint8_t flags_end, uint8_t out[B3_OUT_LEN])
{
    uint32_t cv[8];
    memcpy(cv, key, sizeof cv);
    uint8_t f = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks)
            f |= flags_end;
        b3_compress_in_place(cv, input + b * B3_BLOCK_LEN, B3_BLOCK_LEN, counter, f);
        f = flags;
    }
    for (int i = 0; i < 8; i++)
        b3_store32(out + 4 * i, cv[i]);
}

void b3_hash_many(const uint8_t *const *inputs, size_t n, size_t blocks, const uint32_t key[8],
                  uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                  uint8_t flags_end, uint8_t *out)
{
    enum b3_impl impl = b3_get_impl();
#if defined(__x86_64__) || defined(__i386__)
    while (impl >= B3_IMPL_AVX512 && n >= 16) {
        b3_hash_many_avx512(inputs, blocks, key, counter, increment, flags, flags_start, flags_end,
                            out);
        inputs += 16, n -= 16, out += 16 * B3_OUT_LEN;
        counter += increment ? 16 : 0;
    }
    while (impl >= B3_IMPL_AVX2 && n >= 8) {
        b3_hash_many_avx2(inputs, blocks, key, counter, increment, flags, flags_start, flags_end,
                          out);
        inputs += 8, n -= 8, out += 8 * B3_OUT_LEN;
        counter += increment ? 8 : 0;
    }
    while (impl >= B3_IMPL_SSE41 && n >= 4) {
        b3_hash_many_sse41(inputs, blocks, key, counter, increment, flags, flags_start, flags_end,
                           out);
        inputs += 4, n -= 4, out += 4 * B3_OUT_LEN;
        counter += increment ? 4 : 0;
    }
#else
    (void)impl;
#endif
    for (; n; n--, inputs++, out += B3_OUT_LEN) {
        hash_one_portable(*inputs, blocks, key, counter, flags, flags_start, flags_end, out);
        counter += increment ? 1 : 0;
    }
}

void b3_hash_each(const uint8_t *const *inputs, const size_t *lens, size_t n, uint8_t *out)
{
    enum b3_impl impl = b3_get_impl();
    size_t lanes = impl >= B3_IMPL_AVX512  ? 16
                   : impl >= B3_IMPL_AVX2  ? 8
                   : impl >= B3_IMPL_SSE41 ? 4
                                           : 0;
    const uint8_t *gin[16];
    size_t glen[16], gidx[16], k = 0;
    uint8_t gout[16 * B3_OUT_LEN];
    static const uint8_t empty[1];

    for (size_t i = 0; i <= n; i++) {
        bool last = i == n;
        if (!last && (lanes == 0 || lens[i] > B3_CHUNK_LEN)) {
            b3_hash(inputs[i], lens[i], out + i * B3_OUT_LEN);
            continue;
        }
        if (!last) {
            gin[k] = inputs[i], glen[k] = lens[i], gidx[k] = i;
            k++;
        }
        if (k == 0 || (k < lanes && !last))
            continue;
        if (k * 2 < lanes) { /* a short tail: padding lanes would cost more than it saves */
            for (size_t j = 0; j < k; j++)
                b3_hash(gin[j], glen[j], out + gidx[j] * B3_OUT_LEN);
            k = 0;
            continue;
        }
        for (size_t j = k; j < lanes; j++)
            gin[j] = empty, glen[j] = 0;
#if defined(__x86_64__) || defined(__i386__)
        if (lanes == 16)
            b3_hash_each_avx512(gin, glen, gout);
        else if (lanes == 8)
            b3_hash_each_avx2(gin, glen, gout);
        else
            b3_hash_each_sse41(gin, glen, gout);
#endif
        for (size_t j = 0; j < k; j++)
            memcpy(out + gidx[j] * B3_OUT_LEN, gout + j * B3_OUT_LEN, B3_OUT_LEN);
        k = 0;
    }
}

/* ---- chunk state -------------------------------------------------------------------------- */

static void chunk_init(struct b3_chunk *c, const uint32_t key[8], uint64_t counter, uint8_t flags)
{
    memcpy(c->cv, key, sizeof c->cv);
    c->counter = counter;
    c->buf_len = 0;
    c->blocks_done = 0;
    c->flags = flags;
}

static size_t chunk_len(const struct b3_chunk *c)
{
    return (size_t)c->blocks_done * B3_BLOCK_LEN + c->buf_len;
}

static uint8_t chunk_start_flag(const struct b3_chunk *c)
{
    return c->blocks_done == 0 ? B3_CHUNK_START : 0;
}

/* Adds at most the bytes still missing from this chunk. A full block is compressed only when
 * more bytes follow it, since the chunk's last block needs the CHUNK_END flag. */
static void chunk_update(struct b3_chunk *c, const uint8_t *p, size_t len)
{
    if (c->buf_len) {
        size_t take = B3_BLOCK_LEN - c->buf_len;
        take = take < len ? take : len;
        memcpy(c->buf + c->buf_len, p, take);
        c->buf_len += (uint8_t)take;
        p += take, len -= take;
        if (!len)
            return;
        b3_compress_in_place(c->cv, c->buf, B3_BLOCK_LEN, c->counter,
                             c->flags | chunk_start_flag(c));
        c->blocks_done++;
        c->buf_len = 0;
    }
    while (len > B3_BLOCK_LEN) {
        b3_compress_in_place(c->cv, p, B3_BLOCK_LEN, c->counter, c->flags | chunk_start_flag(c));
        c->blocks_done++;
        p += B3_BLOCK_LEN, len -= B3_BLOCK_LEN;
    }
    memcpy(c->buf, p, len);
    c->buf_len = (uint8_t)len;
}

/* What the last compression of a node needs; the root's XOF reruns it with more counters. */
struct b3_output {
    uint32_t cv[8];
    uint8_t block[B3_BLOCK_LEN];
    uint64_t counter;
    uint8_t block_len;
    uint8_t flags;
};

static void chunk_output(const struct b3_chunk *c, struct b3_output *o)
{
    memcpy(o->cv, c->cv, sizeof o->cv);
    memset(o->block, 0, sizeof o->block);
    memcpy(o->block, c->buf, c->buf_len);
    o->block_len = c->buf_len;
    o->counter = c->counter;
    o->flags = c->flags | chunk_start_flag(c) | B3_CHUNK_END;
}

static void parent_output(const uint8_t left[32], const uint8_t right[32], const uint32_t key[8],
                          uint8_t flags, struct b3_output *o)
{
    memcpy(o->cv, key, sizeof o->cv);
    memcpy(o->block, left, 32);
    memcpy(o->block + 32, right, 32);
    o->block_len = B3_BLOCK_LEN;
    o->counter = 0;
    o->flags = flags | B3_PARENT;
}

static void output_cv(const struct b3_output *o, uint8_t out[32])
{
    uint32_t cv[8];
    memcpy(cv, o->cv, sizeof cv);
    b3_compress_in_place(cv, o->block, o->block_len, o->counter, o->flags);
    for (int i = 0; i < 8; i++)
        b3_store32(out + 4 * i, cv[i]);
}

static void output_root(const struct b3_output *o, uint64_t seek, uint8_t *out, size_t len)
{
    uint64_t block = seek / B3_BLOCK_LEN;
    size_t skip = (size_t)(seek % B3_BLOCK_LEN);
    while (len) {
        uint32_t w[16];
        uint8_t bytes[B3_BLOCK_LEN];
        b3_compress_xof(o->cv, o->block, o->block_len, block++, o->flags | B3_ROOT, w);
        for (int i = 0; i < 16; i++)
            b3_store32(bytes + 4 * i, w[i]);
        size_t take = B3_BLOCK_LEN - skip;
        take = take < len ? take : len;
        memcpy(out, bytes + skip, take);
        out += take, len -= take;
        skip = 0;
    }
}

/* ---- hasher ------------------------------------------------------------------------------- */

static void hasher_init(struct b3_hasher *h, const uint32_t key[8], uint8_t flags)
{
    memcpy(h->key, key, sizeof h->key);
    chunk_init(&h->chunk, key, 0, flags);
    h->stack_len = 0;
}

void b3_init(struct b3_hasher *h)
{
    hasher_init(h, b3_iv, 0);
}

void b3_init_keyed(struct b3_hasher *h, const uint8_t key[B3_KEY_LEN])
{
    uint32_t k[8];
    for (int i = 0; i < 8; i++)
        k[i] = b3_load32(key + 4 * i);
    hasher_init(h, k, B3_KEYED_HASH);
}

void b3_init_derive_key(struct b3_hasher *h, const void *context, size_t context_len)
{
    struct b3_hasher ctx;
    uint8_t ctx_key[B3_KEY_LEN];
    uint32_t k[8];
    hasher_init(&ctx, b3_iv, B3_DERIVE_KEY_CONTEXT);
    b3_update(&ctx, context, context_len);
    b3_finalize(&ctx, ctx_key, sizeof ctx_key);
    for (int i = 0; i < 8; i++)
        k[i] = b3_load32(ctx_key + 4 * i);
    hasher_init(h, k, B3_DERIVE_KEY_MATERIAL);
}

/* Folds the stack down to one CV per 1 bit of `chunks` (the chunks hashed so far). Done only
 * when more input has arrived, so no CV folded here can be the root. */
static void merge_stack(struct b3_hasher *h, uint64_t chunks)
{
    size_t want = (size_t)__builtin_popcountll(chunks);
    while (h->stack_len > want) {
        struct b3_output o;
        uint8_t *right = h->stack + (size_t)(h->stack_len - 1) * 32;
        uint8_t *left = right - 32;
        parent_output(left, right, h->key, h->chunk.flags, &o);
        output_cv(&o, left);
        h->stack_len--;
    }
}

static void push_cv(struct b3_hasher *h, const uint8_t cv[32], uint64_t chunk_counter)
{
    merge_stack(h, chunk_counter);
    memcpy(h->stack + (size_t)h->stack_len * 32, cv, 32);
    h->stack_len++;
}

/* CV of the `chunks` (a power of two) whole chunks at p: chunk lanes, then parent lanes. */
static void subtree_cv(const struct b3_hasher *h, const uint8_t *p, size_t chunks, uint8_t out[32])
{
    const uint8_t *in[B3_SUBTREE_CHUNKS] = {0};
    uint8_t cvs[B3_SUBTREE_CHUNKS * B3_OUT_LEN];
    for (size_t i = 0; i < chunks; i++)
        in[i] = p + i * B3_CHUNK_LEN;
    b3_hash_many(in, chunks, B3_CHUNK_LEN / B3_BLOCK_LEN, h->key, h->chunk.counter, true,
                 h->chunk.flags, B3_CHUNK_START, B3_CHUNK_END, cvs);
    for (size_t n = chunks / 2; n >= 1; n /= 2) {
        for (size_t i = 0; i < n; i++)
            in[i] = cvs + i * 2 * B3_OUT_LEN;
        b3_hash_many(in, n, 1, h->key, 0, false, h->chunk.flags | B3_PARENT, 0, 0, cvs);
    }
    memcpy(out, cvs, 32);
}

void b3_update(struct b3_hasher *h, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        if (chunk_len(&h->chunk) == B3_CHUNK_LEN) {
            struct b3_output o;
            uint8_t cv[32];
            chunk_output(&h->chunk, &o);
            output_cv(&o, cv);
            push_cv(h, cv, h->chunk.counter);
            chunk_init(&h->chunk, h->key, h->chunk.counter + 1, h->chunk.flags);
        }
        if (chunk_len(&h->chunk) == 0 && len > B3_CHUNK_LEN) {
            /* Whole chunks with input after them: none of them is the root. */
            uint64_t avail = (len - 1) / B3_CHUNK_LEN;
            uint64_t n = B3_SUBTREE_CHUNKS;
            while (n > avail || (h->chunk.counter & (n - 1)))
                n /= 2;
            uint8_t cv[32];
            subtree_cv(h, p, (size_t)n, cv);
            push_cv(h, cv, h->chunk.counter);
            h->chunk.counter += n;
            p += n * B3_CHUNK_LEN, len -= n * B3_CHUNK_LEN;
            continue;
        }
        size_t take = B3_CHUNK_LEN - chunk_len(&h->chunk);
        take = take < len ? take : len;
        chunk_update(&h->chunk, p, take);
        p += take, len -= take;
    }
    if (chunk_len(&h->chunk))
        merge_stack(h, h->chunk.counter);
}

void b3_finalize_seek(const struct b3_hasher *h, uint64_t seek, uint8_t *out, size_t out_len)
{
    struct b3_output o;
    chunk_output(&h->chunk, &o);
    for (size_t i = h->stack_len; i > 0; i--) {
        uint8_t cv[32];
        output_cv(&o, cv);
        parent_output(h->stack + (i - 1) * 32, cv, h->key, h->chunk.flags, &o);
    }
    output_root(&o, seek, out, out_len);
}

void b3_finalize(const struct b3_hasher *h, uint8_t *out, size_t out_len)
{
    b3_finalize_seek(h, 0, out, out_len);
}

void b3_hash(const void *data, size_t len, uint8_t out[B3_OUT_LEN])
{
    struct b3_hasher h;
    b3_init(&h);
    b3_update(&h, data, len);
    b3_finalize(&h, out, B3_OUT_LEN);
}

void b3_keyed_hash(const uint8_t key[B3_KEY_LEN], const void *data, size_t len,
                   uint8_t out[B3_OUT_LEN])
{
    struct b3_hasher h;
    b3_init_keyed(&h, key);
    b3_update(&h, data, len);
    b3_finalize(&h, out, B3_OUT_LEN);
}

void b3_hash_parts(const uint8_t *const *parts, const size_t *lens, size_t nparts,
                   uint8_t out[B3_OUT_LEN])
{
    struct b3_hasher h;
    b3_init(&h);
    for (size_t i = 0; i < nparts; i++)
        b3_update(&h, parts[i], lens[i]);
    b3_finalize(&h, out, B3_OUT_LEN);
}
