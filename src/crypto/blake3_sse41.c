/*
 * blake3_sse41.c — 4-lane BLAKE3 kernels with SSE4.1 (see blake3_simd.h for the shared code).
 *
 * Compiled for every x86 build; the functions carry target("sse4.1") and are only called after
 * blake3.c checked __builtin_cpu_supports("sse4.1").
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "crypto/blake3_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define V __m128i
#define LANES 4
#define TGT __attribute__((target("sse4.1")))
#define FN(name) sse41_##name
#define EXPORT(name) b3_##name##_sse41
#define V_ADD(a, b) _mm_add_epi32(a, b)
#define V_XOR(a, b) _mm_xor_si128(a, b)
#define V_OR(a, b) _mm_or_si128(a, b)
#define V_AND(a, b) _mm_and_si128(a, b)
#define V_ANDNOT(a, b) _mm_andnot_si128(a, b)
#define V_SET1(x) _mm_set1_epi32((int)(x))
#define V_LOADU(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define V_SHUF8(x, hi, lo) _mm_shuffle_epi8(x, _mm_set_epi64x(hi, lo))
#define V_ROT16(x) V_SHUF8(x, 0x0D0C0F0E09080B0ALL, 0x0504070601000302LL)
#define V_ROT8(x) V_SHUF8(x, 0x0C0F0E0D080B0A09LL, 0x0407060500030201LL)
#define V_ROT12(x) _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20))
#define V_ROT7(x) _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25))

/* r[i] holds 4 words of lane i → r[j] holds word j of lanes 0..3. An involution. */
TGT static inline void transpose4(V *r0, V *r1, V *r2, V *r3)
{
    V t0 = _mm_unpacklo_epi32(*r0, *r1), t1 = _mm_unpackhi_epi32(*r0, *r1);
    V t2 = _mm_unpacklo_epi32(*r2, *r3), t3 = _mm_unpackhi_epi32(*r2, *r3);
    *r0 = _mm_unpacklo_epi64(t0, t2);
    *r1 = _mm_unpackhi_epi64(t0, t2);
    *r2 = _mm_unpacklo_epi64(t1, t3);
    *r3 = _mm_unpackhi_epi64(t1, t3);
}

TGT static inline void sse41_load_msg(V m[16], const uint8_t *const *p, size_t off)
{
    for (int q = 0; q < 4; q++) { /* words 4q..4q+3 of each lane */
        for (int l = 0; l < 4; l++)
            m[4 * q + l] = V_LOADU(p[l] + off + 16 * q);
        transpose4(&m[4 * q], &m[4 * q + 1], &m[4 * q + 2], &m[4 * q + 3]);
    }
}

TGT static inline void sse41_store_cv(V h[8], uint8_t *out)
{
    transpose4(&h[0], &h[1], &h[2], &h[3]);
    transpose4(&h[4], &h[5], &h[6], &h[7]);
    for (int l = 0; l < 4; l++) {
        _mm_storeu_si128((__m128i *)(void *)(out + 32 * l), h[l]);
        _mm_storeu_si128((__m128i *)(void *)(out + 32 * l + 16), h[l + 4]);
    }
}

#include "crypto/blake3_simd.h"
#endif
