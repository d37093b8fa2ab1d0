/*
 * fuzz_batch.c — libFuzzer harness over RecordBatch v2: split a record set into batches, parse,
 * validate, decompress (bounded) and iterate every record and header. Both with the CRC checked
 * and with it ignored, so the fuzzer reaches the record and codec parsers.
 */
#include <stddef.h>
#include <stdint.h>

#include "storage/batch.h"

static volatile size_t sink;

static void walk(const struct batch *b, struct buf *scratch)
{
    const uint8_t *rp;
    size_t rlen;
    if (batch_records(b, scratch, 1 << 20, &rp, &rlen))
        return;
    struct batch_iter it;
    struct batch_record r;
    batch_iter_init(&it, b, rp, rlen);
    while (batch_iter_next(&it, &r) == 1) {
        struct rd hr;
        struct batch_header_kv h;
        rd_init(&hr, r.headers, r.headers_len);
        size_t sum = 0;
        while (batch_header_next(&hr, &h) == 1)
            sum += (size_t)h.key_len + (h.value_len > 0 ? (size_t)h.value_len : 0);
        if (r.key_len > 0)
            sum += r.key[r.key_len - 1];
        if (r.value_len > 0)
            sum += r.value[r.value_len - 1];
        sink += sum;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf scratch;
    buf_init(&scratch);
    size_t pos = 0;
    for (int n = 0; n < 64 && pos < size; n++) {
        struct batch b;
        size_t fs;
        if (batch_frame_size(data + pos, size - pos, &fs))
            break;
        if (batch_parse(data + pos, size - pos, &b) == 0) {
            walk(&b, &scratch);
            if (batch_validate(data + pos, size - pos, &b) == 0)
                (void)batch_validate_deep(data + pos, size - pos, &scratch, 1 << 20, &b);
        }
        if (fs > size - pos)
            break;
        pos += fs;
    }
    buf_free(&scratch);
    return 0;
}
