/*
 * blake3_simd.h — the lane-parallel BLAKE3 kernels, written once for any vector width.
 *
 * Included by blake3_sse41.c (4 lanes of __m128i) and blake3_avx2.c (8 lanes of __m256i) after
 * they define: V (vector type), LANES, TGT (target attribute), FN(name) and EXPORT(name) (names of
 * the file's static helpers and of its two exported kernels), the lane-wise ops V_ADD, V_XOR, V_OR,
 * V_AND, V_ANDNOT (~a & b), V_SET1, V_LOADU, V_ROT16, V_ROT12, V_ROT8, V_ROT7, and load_msg(m,
 * ptrs, offset) / store_cv(h, out), which transpose between "one input per lane" memory order and
 * "one state word per vector" register order.
 *
 * Each vector holds the same state word of LANES independent compressions, so the G function
 * runs unchanged on all lanes; per-lane counters, block lengths and flags live in v12..v15.
 */

TGT static inline __attribute__((always_inline)) void FN(round)(V v[16], const V m[16], int r)
{
    const uint8_t *s = b3_schedule[r];
#define SG(a, b, c, d, x, y)                                                                       \
    do {                                                                                           \
        v[a] = V_ADD(V_ADD(v[a], v[b]), m[x]);                                                     \
        v[d] = V_ROT16(V_XOR(v[d], v[a]));                                                         \
        v[c] = V_ADD(v[c], v[d]);                                                                  \
        v[b] = V_ROT12(V_XOR(v[b], v[c]));                                                         \
        v[a] = V_ADD(V_ADD(v[a], v[b]), m[y]);                                                     \
        v[d] = V_ROT8(V_XOR(v[d], v[a]));                                                          \
        v[c] = V_ADD(v[c], v[d]);                                                                  \
        v[b] = V_ROT7(V_XOR(v[b], v[c]));                                                          \
    } while (0)
    SG(0, 4, 8, 12, s[0], s[1]);
    SG(1, 5, 9, 13, s[2], s[3]);
    SG(2, 6, 10, 14, s[4], s[5]);
    SG(3, 7, 11, 15, s[6], s[7]);
    SG(0, 5, 10, 15, s[8], s[9]);
    SG(1, 6, 11, 12, s[10], s[11]);
    SG(2, 7, 8, 13, s[12], s[13]);
    SG(3, 4, 9, 14, s[14], s[15]);
#undef SG
}

/* h = new chaining values of LANES compressions of the message words m. */
TGT static inline __attribute__((always_inline)) void FN(compress)(V h[8], const V m[16], V ctr_lo,
                                                                   V ctr_hi, V block_len, V flags)
{
    V v[16] = {h[0],
               h[1],
               h[2],
               h[3],
               h[4],
               h[5],
               h[6],
               h[7],
               V_SET1(b3_iv[0]),
               V_SET1(b3_iv[1]),
               V_SET1(b3_iv[2]),
               V_SET1(b3_iv[3]),
               ctr_lo,
               ctr_hi,
               block_len,
               flags};
#pragma GCC unroll 7
    for (int r = 0; r < 7; r++)
        FN(round)(v, m, r);
    for (int i = 0; i < 8; i++)
        h[i] = V_XOR(v[i], v[i + 8]);
}

TGT void EXPORT(hash_many)(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                           uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                           uint8_t flags_end, uint8_t *out)
{
    V h[8], m[16];
    uint32_t lo[LANES], hi[LANES];
    for (int i = 0; i < 8; i++)
        h[i] = V_SET1(key[i]);
    for (int l = 0; l < LANES; l++) {
        uint64_t c = counter + (increment ? (uint64_t)l : 0);
        lo[l] = (uint32_t)c;
        hi[l] = (uint32_t)(c >> 32);
    }
    V ctr_lo = V_LOADU(lo), ctr_hi = V_LOADU(hi), block_len = V_SET1(B3_BLOCK_LEN);
    uint8_t f = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks)
            f |= flags_end;
        FN(load_msg)(m, inputs, b * B3_BLOCK_LEN);
        FN(compress)(h, m, ctr_lo, ctr_hi, block_len, V_SET1(f));
        f = flags;
    }
    FN(store_cv)(h, out);
}

TGT void EXPORT(hash_each)(const uint8_t *const *inputs, const size_t *lens, uint8_t *out)
{
    V h[8], m[16];
    size_t nblocks[LANES], max_blocks = 1;
    uint8_t pad[LANES][B3_BLOCK_LEN];
    for (int i = 0; i < 8; i++)
        h[i] = V_SET1(b3_iv[i]);
    for (int l = 0; l < LANES; l++) {
        nblocks[l] = lens[l] ? (lens[l] + B3_BLOCK_LEN - 1) / B3_BLOCK_LEN : 1;
        max_blocks = nblocks[l] > max_blocks ? nblocks[l] : max_blocks;
    }
    V zero = V_SET1(0);
    for (size_t b = 0; b < max_blocks; b++) {
        const uint8_t *p[LANES];
        uint32_t bl[LANES], fl[LANES], live[LANES];
        for (int l = 0; l < LANES; l++) {
            size_t off = b * B3_BLOCK_LEN;
            if (b >= nblocks[l]) { /* this lane is done: compress anything, keep its h */
                p[l] = pad[l], bl[l] = 0, fl[l] = 0, live[l] = 0;
                continue;
            }
            size_t rem = lens[l] - off;
            if (rem >= B3_BLOCK_LEN) {
                p[l] = inputs[l] + off;
                bl[l] = B3_BLOCK_LEN;
            } else {
                memset(pad[l], 0, B3_BLOCK_LEN);
                if (rem)
                    memcpy(pad[l], inputs[l] + off, rem);
                p[l] = pad[l];
                bl[l] = (uint32_t)rem;
            }
            fl[l] =
                (b == 0 ? B3_CHUNK_START : 0) | (b + 1 == nblocks[l] ? B3_CHUNK_END | B3_ROOT : 0);
            live[l] = 0xFFFFFFFFu;
        }
        V nh[8], mask = V_LOADU(live);
        for (int i = 0; i < 8; i++)
            nh[i] = h[i];
        FN(load_msg)(m, p, 0);
        FN(compress)(nh, m, zero, zero, V_LOADU(bl), V_LOADU(fl));
        for (int i = 0; i < 8; i++)
            h[i] = V_OR(V_AND(mask, nh[i]), V_ANDNOT(mask, h[i]));
    }
    FN(store_cv)(h, out);
}
