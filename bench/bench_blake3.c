/*
 * bench_blake3 — single-thread BLAKE3 throughput of Pyralog's implementation.
 * usage: bench_blake3 [--impl portable|sse4.1|avx2|avx512|auto] [--seconds S] [--size BYTES]
 * Prints one line per input size: size, hashes/s, GB/s (each op: init + update + finalize on a
 * buffer already in memory), and the throughput of b3_hash_each on 128-byte Merkle leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/blake3.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    size_t only = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--size"))
            only = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--impl"))
            for (int k = B3_IMPL_PORTABLE; k <= B3_IMPL_AVX512; k++)
                if (!strcmp(argv[i + 1], b3_impl_name((enum b3_impl)k)) &&
                    b3_set_impl((enum b3_impl)k)) {
                    fprintf(stderr, "bench_blake3: %s not supported\n", argv[i + 1]);
                    return 2;
                }
    }
    static const size_t sizes[] = {64, 1024, 4096, 16384, 1 << 20};
    size_t maxlen = 1 << 20;
    uint8_t *buf = malloc(maxlen), out[32];
    for (size_t i = 0; i < maxlen; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    printf("impl=%s\n", b3_impl_name(b3_get_impl()));
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t len = sizes[s];
        if (only && len != only)
            continue;
        uint64_t ops = 0, batch = len >= 65536 ? 4 : 1024;
        double t0 = now(), t;
        do {
            for (uint64_t k = 0; k < batch; k++) {
                buf[k % len] ^= out[0]; /* a data dependency so nothing is hoisted */
                b3_hash(buf, len, out);
            }
            ops += batch;
            t = now() - t0;
        } while (t < seconds);
        printf("size=%zu hashes_per_s=%.0f gb_per_s=%.3f\n", len, (double)ops / t,
               (double)ops * (double)len / t / 1e9);
    }
    /* Merkle leaves: 1 + 8 + 8 + 4 + 0 + 4 + 100 + 4 = 129 bytes for a 100-byte record. */
    enum { N = 1024, LEAF = 129 };
    const uint8_t *in[N];
    size_t lens[N];
    uint8_t *outs = malloc(N * 32);
    for (int i = 0; i < N; i++)
        in[i] = buf + i * LEAF, lens[i] = LEAF;
    uint64_t leaves = 0;
    double t0 = now(), t;
    do {
        b3_hash_each(in, lens, N, outs);
        leaves += N;
        t = now() - t0;
    } while (t < seconds);
    printf("hash_each leaf_len=%d leaves_per_s=%.0f\n", LEAF, (double)leaves / t);
    free(outs);
    free(buf);
    return 0;
}
