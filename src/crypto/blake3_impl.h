/*
 * blake3_impl.h — internals shared by the BLAKE3 implementations (portable, SSE4.1, AVX2).
 *
 * Not part of any API: only src/crypto/blake3*.c include it. The SIMD files provide exactly-N-
 * lanes kernels; blake3.c splits work between them and the portable code.
 */
#ifndef PLG_CRYPTO_BLAKE3_IMPL_H
#define PLG_CRYPTO_BLAKE3_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/blake3.h"

extern const uint32_t b3_iv[8];
/* Message word order for each of the 7 rounds (the message permutation applied r times).
 * Static in every file so the compiler folds it into the unrolled rounds. */
static const uint8_t b3_schedule[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

static inline uint32_t b3_load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void b3_store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The compression function; out receives all 16 state words (XOF form: words 8..15 are
 * already xored with the input chaining value). */
void b3_compress_xof(const uint32_t cv[8], const uint8_t block[B3_BLOCK_LEN], uint8_t block_len,
                     uint64_t counter, uint8_t flags, uint32_t out[16]);
/* The compression function truncated to the new chaining value (cv updated in place). */
void b3_compress_in_place(uint32_t cv[8], const uint8_t block[B3_BLOCK_LEN], uint8_t block_len,
                          uint64_t counter, uint8_t flags);

/* Kernels: exactly 4 (SSE4.1), 8 (AVX2) or 16 (AVX-512) inputs. Each hash_each input is at most one
 * chunk. */
void b3_hash_many_sse41(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                        uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                        uint8_t flags_end, uint8_t *out);
void b3_hash_each_sse41(const uint8_t *const *inputs, const size_t *lens, uint8_t *out);
void b3_hash_many_avx2(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                       uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                       uint8_t flags_end, uint8_t *out);
void b3_hash_each_avx2(const uint8_t *const *inputs, const size_t *lens, uint8_t *out);
void b3_hash_many_avx512(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                         uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                         uint8_t flags_end, uint8_t *out);
void b3_hash_each_avx512(const uint8_t *const *inputs, const size_t *lens, uint8_t *out);

#endif
