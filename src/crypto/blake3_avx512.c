/*
 * blake3_avx512.c — 16-lane BLAKE3 kernels with AVX-512F (see blake3_simd.h for the shared
 * code): twice the lanes of AVX2 and single-instruction rotations.
 *
 * Compiled for every x86 build; the functions carry target("avx512f") and are only called after
 * blake3.c checked __builtin_cpu_supports("avx512f").
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "crypto/blake3_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define V __m512i
#define LANES 16
#define TGT __attribute__((target("avx512f")))
#define FN(name) avx512_##name
#define EXPORT(name) b3_##name##_avx512
#define V_ADD(a, b) _mm512_add_epi32(a, b)
#define V_XOR(a, b) _mm512_xor_si512(a, b)
#define V_OR(a, b) _mm512_or_si512(a, b)
#define V_AND(a, b) _mm512_and_si512(a, b)
#define V_ANDNOT(a, b) _mm512_andnot_si512(a, b)
#define V_SET1(x) _mm512_set1_epi32((int)(x))
#define V_LOADU(p) _mm512_loadu_si512((const void *)(p))
#define V_ROT16(x) _mm512_ror_epi32(x, 16)
#define V_ROT12(x) _mm512_ror_epi32(x, 12)
#define V_ROT8(x) _mm512_ror_epi32(x, 8)
#define V_ROT7(x) _mm512_ror_epi32(x, 7)

/* r[i] holds the 16 words of lane i → r[j] holds word j of lanes 0..15. */
TGT static inline void transpose16(V r[16])
{
    V t[16], x[4][4];
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
    }
    /* x[j][o]: in 128-bit group g, word 4g+o of lanes 4j..4j+3. */
    for (int j = 0; j < 4; j++) {
        x[j][0] = _mm512_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
        x[j][1] = _mm512_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
        x[j][2] = _mm512_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
        x[j][3] = _mm512_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
    }
    for (int o = 0; o < 4; o++) {
        V y0 = _mm512_shuffle_i32x4(x[0][o], x[1][o], 0x44);
        V y1 = _mm512_shuffle_i32x4(x[0][o], x[1][o], 0xEE);
        V z0 = _mm512_shuffle_i32x4(x[2][o], x[3][o], 0x44);
        V z1 = _mm512_shuffle_i32x4(x[2][o], x[3][o], 0xEE);
        r[o] = _mm512_shuffle_i32x4(y0, z0, 0x88);
        r[4 + o] = _mm512_shuffle_i32x4(y0, z0, 0xDD);
        r[8 + o] = _mm512_shuffle_i32x4(y1, z1, 0x88);
        r[12 + o] = _mm512_shuffle_i32x4(y1, z1, 0xDD);
    }
}

TGT static inline void avx512_load_msg(V m[16], const uint8_t *const *p, size_t off)
{
    for (int l = 0; l < 16; l++)
        m[l] = V_LOADU(p[l] + off);
    transpose16(m);
}

TGT static inline void avx512_store_cv(V h[8], uint8_t *out)
{
    uint32_t w[8][16];
    for (int i = 0; i < 8; i++)
        _mm512_storeu_si512((void *)w[i], h[i]);
    for (int l = 0; l < 16; l++)
        for (int i = 0; i < 8; i++)
            b3_store32(out + 32 * l + 4 * i, w[i][l]);
}

#include "crypto/blake3_simd.h"
#endif
