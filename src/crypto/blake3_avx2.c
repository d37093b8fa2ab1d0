/*
 * blake3_avx2.c — 8-lane BLAKE3 kernels with AVX2 (see blake3_simd.h for the shared code).
 *
 * Compiled for every x86 build; the functions carry target("avx2") and are only called after
 * blake3.c checked __builtin_cpu_supports("avx2").
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "crypto/blake3_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define V __m256i
#define LANES 8
#define TGT __attribute__((target("avx2")))
#define FN(name) avx2_##name
#define EXPORT(name) b3_##name##_avx2
#define V_ADD(a, b) _mm256_add_epi32(a, b)
#define V_XOR(a, b) _mm256_xor_si256(a, b)
#define V_OR(a, b) _mm256_or_si256(a, b)
#define V_AND(a, b) _mm256_and_si256(a, b)
#define V_ANDNOT(a, b) _mm256_andnot_si256(a, b)
#define V_SET1(x) _mm256_set1_epi32((int)(x))
#define V_LOADU(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define V_SHUF8(x, hi, lo) _mm256_shuffle_epi8(x, _mm256_set_epi64x(hi, lo, hi, lo))
#define V_ROT16(x) V_SHUF8(x, 0x0D0C0F0E09080B0ALL, 0x0504070601000302LL)
#define V_ROT8(x) V_SHUF8(x, 0x0C0F0E0D080B0A09LL, 0x0407060500030201LL)
#define V_ROT12(x) _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20))
#define V_ROT7(x) _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25))

/* In place: r[i] holds 8 words of lane i → r[j] holds word j of lanes 0..7. An involution. */
TGT static inline void transpose8(V r[8])
{
    V t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    V t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    V t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    V t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    V u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    V u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    V u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    V u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

TGT static inline void avx2_load_msg(V m[16], const uint8_t *const *p, size_t off)
{
    for (int l = 0; l < 8; l++) {
        m[l] = V_LOADU(p[l] + off);
        m[l + 8] = V_LOADU(p[l] + off + 32);
    }
    transpose8(m);
    transpose8(m + 8);
}

TGT static inline void avx2_store_cv(V h[8], uint8_t *out)
{
    transpose8(h);
    for (int l = 0; l < 8; l++)
        _mm256_storeu_si256((__m256i *)(void *)(out + 32 * l), h[l]);
}

#include "crypto/blake3_simd.h"
#endif
