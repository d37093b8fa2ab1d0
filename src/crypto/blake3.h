/*
 * blake3.h — the BLAKE3 hash function (written here from the BLAKE3 specification).
 *
 * Owns: the compression function, the incremental hasher (plain, keyed, derive-key modes, any
 * output length through the extendable output), and two many-inputs-at-once entry points:
 *   - b3_hash_many: N inputs of the same whole number of 64-byte blocks (chunks, parent nodes);
 *   - b3_hash_each: N independent messages of any lengths (Merkle leaves of a batch), hashed
 *     SIMD-parallel when they fit in one 1 KiB chunk.
 * Implementations: portable C, SSE4.1 (4 lanes), AVX2 (8 lanes) and AVX-512F (16 lanes), picked
 * once at run time with
 * __builtin_cpu_supports; b3_set_impl() forces one (tests compare them with the portable one).
 *
 * Invariants: results never depend on the implementation chosen; no allocation anywhere.
 * Thread model: a hasher is used by one thread at a time; the free functions are reentrant.
 * The implementation choice is process-wide and meant to be set once, before hashing starts.
 * Depends on nothing outside libc.
 */
#ifndef PLG_CRYPTO_BLAKE3_H
#define PLG_CRYPTO_BLAKE3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define B3_OUT_LEN 32
#define B3_KEY_LEN 32
#define B3_BLOCK_LEN 64
#define B3_CHUNK_LEN 1024
#define B3_MAX_DEPTH 54 /* 2^54 chunks = 2^64 bytes */

/* Domain flags of the compression function (BLAKE3 spec, table 3). */
enum {
    B3_CHUNK_START = 1 << 0,
    B3_CHUNK_END = 1 << 1,
    B3_PARENT = 1 << 2,
    B3_ROOT = 1 << 3,
    B3_KEYED_HASH = 1 << 4,
    B3_DERIVE_KEY_CONTEXT = 1 << 5,
    B3_DERIVE_KEY_MATERIAL = 1 << 6,
};

enum b3_impl {
    B3_IMPL_AUTO = -1, /* best one this CPU supports */
    B3_IMPL_PORTABLE = 0,
    B3_IMPL_SSE41 = 1,
    B3_IMPL_AVX2 = 2,
    B3_IMPL_AVX512 = 3,
};

/* State of the chunk being filled: its chaining value and the not yet compressed block. */
struct b3_chunk {
    uint32_t cv[8];
    uint64_t counter; /* index of this chunk in the message */
    uint8_t buf[B3_BLOCK_LEN];
    uint8_t buf_len;
    uint8_t blocks_done; /* blocks of this chunk already compressed */
    uint8_t flags;       /* mode flags (keyed / derive-key) */
};

/* Incremental hasher. Plain struct, no resources: copy it to fork a state. */
struct b3_hasher {
    uint32_t key[8];
    struct b3_chunk chunk;
    uint8_t stack_len;
    uint8_t stack[B3_MAX_DEPTH * B3_OUT_LEN]; /* chaining values of completed subtrees */
};

void b3_init(struct b3_hasher *h);
void b3_init_keyed(struct b3_hasher *h, const uint8_t key[B3_KEY_LEN]);
/* Key derivation: context is a hard-coded, globally unique, application-specific string. */
void b3_init_derive_key(struct b3_hasher *h, const void *context, size_t context_len);
void b3_update(struct b3_hasher *h, const void *data, size_t len);
/* Writes out_len bytes of output (any length; the first 32 are the default hash). The hasher
 * is unchanged and may take more input afterwards. */
void b3_finalize(const struct b3_hasher *h, uint8_t *out, size_t out_len);
/* Same, starting at byte position seek of the output stream. */
void b3_finalize_seek(const struct b3_hasher *h, uint64_t seek, uint8_t *out, size_t out_len);

/* One-shot helpers. */
void b3_hash(const void *data, size_t len, uint8_t out[B3_OUT_LEN]);
void b3_keyed_hash(const uint8_t key[B3_KEY_LEN], const void *data, size_t len,
                   uint8_t out[B3_OUT_LEN]);
/* Hashes the concatenation of nparts parts (parts[i], lens[i]) without copying them. */
void b3_hash_parts(const uint8_t *const *parts, const size_t *lens, size_t nparts,
                   uint8_t out[B3_OUT_LEN]);

/*
 * Compresses n inputs of `blocks` whole 64-byte blocks each, in parallel, and writes each
 * input's 32-byte chaining value to out + 32*i. Input i uses counter + i when increment is
 * true (chunks), else counter (parent nodes). Block flags: flags, plus flags_start on the first
 * block and flags_end on the last.
 */
void b3_hash_many(const uint8_t *const *inputs, size_t n, size_t blocks, const uint32_t key[8],
                  uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                  uint8_t flags_end, uint8_t *out);

/* Plain BLAKE3 (32-byte output) of n independent messages: out + 32*i = BLAKE3(inputs[i]). */
void b3_hash_each(const uint8_t *const *inputs, const size_t *lens, size_t n, uint8_t *out);

/* Forces an implementation (B3_IMPL_AUTO: the best available). Returns 0, or PLG_EUNSUPP when
 * the CPU lacks it. Not thread-safe with concurrent hashing; meant for tests and benchmarks. */
int b3_set_impl(enum b3_impl impl);
enum b3_impl b3_get_impl(void);
const char *b3_impl_name(enum b3_impl impl);
/* True when this CPU can run impl. */
bool b3_impl_supported(enum b3_impl impl);

#endif
