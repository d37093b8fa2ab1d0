/*
 * pidstate.h — idempotent-producer state of one partition: the sequence rules.
 *
 * For every producer id that wrote to the partition it keeps the producer epoch and the last
 * PID_CACHE batches (first/last sequence, base offset), as Kafka brokers do. A batch from an
 * idempotent producer (producerId >= 0) is checked before it is appended:
 *   - lower epoch than known                    → INVALID_PRODUCER_EPOCH (47)
 *   - higher epoch: sequence must restart at 0  → else OUT_OF_ORDER_SEQUENCE_NUMBER (45)
 *   - unknown producer id: sequence must be 0   → else UNKNOWN_PRODUCER_ID (59)
 *   - same epoch, same (first, last) sequence as a cached batch → duplicate: acknowledged with
 *     the original base offset and not written again
 *   - same epoch, first == last cached + 1 (wrapping at INT32_MAX) → append
 *   - anything else                              → OUT_OF_ORDER_SEQUENCE_NUMBER (45)
 * After a successful append the broker calls pid_table_record(). The table is rebuilt on start
 * from the batches in the log (pid_table_record for each stored batch), so it survives restarts
 * and crashes exactly as far as the log does.
 *
 * Pure: no I/O, no clock. Thread model: owned by the broker loop thread.
 */
#ifndef PLG_BROKER_PIDSTATE_H
#define PLG_BROKER_PIDSTATE_H

#include <stddef.h>
#include <stdint.h>

#define PID_CACHE 5

/* Results of pid_table_check besides Kafka error codes (positive). */
#define PID_APPEND 0
#define PID_DUPLICATE (-1)

struct pid_batch {
    int32_t first_seq;
    int32_t last_seq;
    int64_t base_offset;
};

struct pid_entry {
    int64_t pid; /* -1: empty slot */
    int16_t epoch;
    uint8_t n;    /* cached batches */
    uint8_t head; /* index of the newest */
    struct pid_batch b[PID_CACHE];
};

struct pid_table {
    struct pid_entry *e;
    size_t cap; /* power of two or 0 */
    size_t count;
};

void pid_table_init(struct pid_table *t);
void pid_table_destroy(struct pid_table *t);

/*
 * Checks a batch of `count` records with base sequence `first_seq`. Returns PID_APPEND,
 * PID_DUPLICATE (then *dup_offset is the original base offset) or a Kafka error code
 * (45, 47, 59; 42 INVALID_REQUEST for a negative sequence or an empty batch).
 */
int pid_table_check(const struct pid_table *t, int64_t pid, int16_t epoch, int32_t first_seq,
                    int32_t count, int64_t *dup_offset);

/* Records an appended batch. Returns 0 or PLG_ENOMEM. */
int pid_table_record(struct pid_table *t, int64_t pid, int16_t epoch, int32_t first_seq,
                     int32_t count, int64_t base_offset);

/* The entry of pid or NULL. */
const struct pid_entry *pid_table_find(const struct pid_table *t, int64_t pid);

#endif
