/*
 * b3hash — prints BLAKE3 of files the way `b3sum` does ("<hex>  <name>"), using Pyralog's own
 * BLAKE3. Used by tests/integration/test_blake3_b3sum.py to compare against b3sum.
 * usage: b3hash [--impl portable|sse4.1|avx2|avx512] [--length N] FILE...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/blake3.h"
#include "crypto/hex.h"

int main(int argc, char **argv)
{
    size_t out_len = 32;
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (i + 1 >= argc)
            return 2;
        if (!strcmp(argv[i], "--length")) {
            out_len = strtoul(argv[i + 1], NULL, 10);
        } else if (!strcmp(argv[i], "--impl")) {
            enum b3_impl impl = B3_IMPL_AUTO;
            for (int k = B3_IMPL_PORTABLE; k <= B3_IMPL_AVX512; k++)
                if (!strcmp(argv[i + 1], b3_impl_name((enum b3_impl)k)))
                    impl = (enum b3_impl)k;
            if (impl == B3_IMPL_AUTO || b3_set_impl(impl)) {
                fprintf(stderr, "b3hash: implementation %s not available\n", argv[i + 1]);
                return 3;
            }
        } else {
            return 2;
        }
    }
    if (out_len == 0 || out_len > 1 << 20)
        return 2;
    uint8_t *out = malloc(out_len);
    char *hex = malloc(2 * out_len + 1);
    static uint8_t buf[1 << 16];
    int rc = 0;
    for (; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "b3hash: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }
        struct b3_hasher h;
        b3_init(&h);
        size_t n;
        /* Odd read sizes on purpose: updates that straddle chunk boundaries. */
        while ((n = fread(buf, 1, sizeof buf - 77, f)) > 0)
            b3_update(&h, buf, n);
        fclose(f);
        b3_finalize(&h, out, out_len);
        hex_encode(out, out_len, hex);
        printf("%s  %s\n", hex, argv[i]);
    }
    free(out);
    free(hex);
    return rc;
}
