/*
 * libFuzzer harness over the whole Kafka request decoder (kafka_request_decode): header v1/v2
 * and every implemented API body. Input = one frame without its INT32 size prefix.
 * On success the decoded request is re-encoded, decoded again and re-encoded: both encodings
 * must be identical (the codec is a bijection on what it accepts, modulo unknown tags).
 * A small arena cap checks the allocation limit path too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct karena a;
    karena_init(&a, 1 << 20);
    struct kreq r;
    int rc = kafka_request_decode(data, size, &a, &r);
    if (rc == 0) {
        struct buf b1, b2;
        buf_init(&b1);
        buf_init(&b2);
        if (kafka_request_encode(&b1, &r.hdr, r.body) != 0)
            abort();
        struct karena a2;
        karena_init(&a2, 0);
        struct kreq r2;
        if (kafka_request_decode(b1.data + 4, b1.len - 4, &a2, &r2) != 0)
            abort();
        if (kafka_request_encode(&b2, &r2.hdr, r2.body) != 0)
            abort();
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
            abort();
        karena_destroy(&a2);
        buf_free(&b1);
        buf_free(&b2);
    } else if (rc != PLG_ETRUNC && rc != PLG_ECORRUPT && rc != PLG_ETOOBIG && rc != PLG_EUNSUPP) {
        abort(); /* only the documented errors */
    }
    karena_destroy(&a);
    return 0;
}
