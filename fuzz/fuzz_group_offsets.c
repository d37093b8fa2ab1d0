/*
 * libFuzzer harness for the __consumer_offsets record decoder (goff_record_decode), which reads
 * bytes from disk on start-up. Input: u8 key length, key, then the value (a tombstone when the
 * first byte is odd). Decoded strings must lie inside the input; a decoded commit is applied
 * to a table and read back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group_offsets.h"

static int inside(const void *p, size_t n, const uint8_t *lo, size_t len)
{
    return !n || ((const uint8_t *)p >= lo && (const uint8_t *)p + n <= lo + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t klen = data[0] < size - 1 ? data[0] : size - 1;
    const uint8_t *key = data + 1, *val = data + 1 + klen;
    size_t vlen = size - 1 - klen;
    struct goff_record r;
    int rc = goff_record_decode(key, klen, val, vlen, !(data[0] & 1), &r);
    if (rc != 0) {
        if (rc != PLG_ETRUNC && rc != PLG_ECORRUPT && rc != PLG_EUNSUPP)
            abort();
        return 0;
    }
    if (!inside(r.group, r.group_len, key, klen) || !inside(r.topic, r.topic_len, key, klen))
        abort();
    if (r.tombstone)
        return 0;
    if (r.metadata && !inside(r.metadata, (size_t)r.metadata_len, val, vlen))
        abort();
    struct goff_table t;
    goff_init(&t);
    if (goff_set(&t, r.topic, r.topic_len, r.partition, r.offset, r.leader_epoch, r.metadata,
                 r.metadata_len, r.commit_ts_ms) == 0) {
        const struct goff_entry *e = goff_get(&t, r.topic, r.topic_len, r.partition);
        if (!e || e->offset != r.offset)
            abort();
    }
    goff_destroy(&t);
    return 0;
}
