/* pidstate.c — idempotent-producer sequence rules (see pidstate.h). */
#include "broker/pidstate.h"

#include <stdlib.h>
#include <string.h>

#include "pyralog/pyralog.h"

#define KERR_INVALID_REQUEST 42
#define KERR_OUT_OF_ORDER_SEQUENCE 45
#define KERR_INVALID_PRODUCER_EPOCH 47
#define KERR_UNKNOWN_PRODUCER_ID 59

void pid_table_init(struct pid_table *t)
{
    memset(t, 0, sizeof *t);
}

void pid_table_destroy(struct pid_table *t)
{
    free(t->e);
    memset(t, 0, sizeof *t);
}

static size_t pid_hash(int64_t pid, size_t cap)
{
    uint64_t x = (uint64_t)pid * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 17) & (cap - 1);
}

const struct pid_entry *pid_table_find(const struct pid_table *t, int64_t pid)
{
    if (!t->cap)
        return NULL;
    for (size_t i = pid_hash(pid, t->cap);; i = (i + 1) & (t->cap - 1)) {
        if (t->e[i].pid == pid)
            return &t->e[i];
        if (t->e[i].pid == -1)
            return NULL;
    }
}

static int32_t seq_add(int32_t seq, int32_t n)
{
    /* Sequences wrap from INT32_MAX to 0. */
    int64_t s = (int64_t)seq + n;
    return (int32_t)(s > INT32_MAX ? s - INT32_MAX - 1 : s);
}

int pid_table_check(const struct pid_table *t, int64_t pid, int16_t epoch, int32_t first_seq,
                    int32_t count, int64_t *dup_offset)
{
    if (first_seq < 0 || count <= 0)
        return KERR_INVALID_REQUEST;
    int32_t last_seq = seq_add(first_seq, count - 1);
    const struct pid_entry *e = pid_table_find(t, pid);
    if (!e)
        return first_seq == 0 ? PID_APPEND : KERR_UNKNOWN_PRODUCER_ID;
    if (epoch < e->epoch)
        return KERR_INVALID_PRODUCER_EPOCH;
    if (epoch > e->epoch)
        return first_seq == 0 ? PID_APPEND : KERR_OUT_OF_ORDER_SEQUENCE;
    for (int i = 0; i < e->n; i++) {
        const struct pid_batch *b = &e->b[i];
        if (b->first_seq == first_seq && b->last_seq == last_seq) {
            *dup_offset = b->base_offset;
            return PID_DUPLICATE;
        }
    }
    if (e->n == 0)
        return first_seq == 0 ? PID_APPEND : KERR_OUT_OF_ORDER_SEQUENCE;
    if (first_seq == seq_add(e->b[e->head].last_seq, 1))
        return PID_APPEND;
    return KERR_OUT_OF_ORDER_SEQUENCE;
}

static int grow(struct pid_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 16;
    struct pid_entry *v = malloc(cap * sizeof *v);
    if (!v)
        return PLG_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        v[i].pid = -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->e[i].pid == -1)
            continue;
        size_t j = pid_hash(t->e[i].pid, cap);
        while (v[j].pid != -1)
            j = (j + 1) & (cap - 1);
        v[j] = t->e[i];
    }
    free(t->e);
    t->e = v;
    t->cap = cap;
    return 0;
}

int pid_table_record(struct pid_table *t, int64_t pid, int16_t epoch, int32_t first_seq,
                     int32_t count, int64_t base_offset)
{
    if ((t->count + 1) * 4 > t->cap * 3 && grow(t))
        return PLG_ENOMEM;
    size_t i = pid_hash(pid, t->cap);
    while (t->e[i].pid != -1 && t->e[i].pid != pid)
        i = (i + 1) & (t->cap - 1);
    struct pid_entry *e = &t->e[i];
    if (e->pid == -1) {
        memset(e, 0, sizeof *e);
        e->pid = pid;
        e->epoch = epoch;
        t->count++;
    }
    if (epoch != e->epoch) {
        e->epoch = epoch;
        e->n = 0;
    }
    uint8_t slot = e->n == 0 ? 0 : (uint8_t)((e->head + 1) % PID_CACHE);
    e->b[slot] = (struct pid_batch){first_seq, seq_add(first_seq, count - 1), base_offset};
    e->head = slot;
    if (e->n < PID_CACHE)
        e->n++;
    return 0;
}
