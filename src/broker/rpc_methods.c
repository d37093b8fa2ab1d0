/*
 * rpc_methods.c — topic.*, log.*, cluster.status over the broker API (see rpc_methods.h).
 *
 * Appends build one uncompressed RecordBatch v2 per call with storage's batch builder and hand
 * it to broker_append(); the completion callback answers the call (at once for acks 0/1, when
 * durable for acks=all). Reads copy whole stored batches with broker_read() and decode them
 * with storage's record iterator (decompressing as needed), skipping control batches and records
 * before the requested offset.
 */
#include "broker/rpc_methods.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "kafka/kapi.h"
#include "pyralog/pyralog.h"
#include "rpc/http.h"
#include "storage/batch.h"

#define MAX_VALUE_BYTES (1 << 20)
#define MAX_HEADERS 64
#define DEFAULT_MAX_RECORDS 100
#define MAX_RECORDS 10000
#define SUB_HIGH_WATER (512 * 1024)

struct broker_rpc {
    struct broker *b;
    struct rpc_dispatcher *d;
    struct rpc_http *http;
    struct broker_rpc_opts o;
    uint64_t started_ms;
    uint64_t next_sub_id;
    int subs_all;
    uint32_t rr; /* round-robin partition for keyless appends */
    struct mx_counter *recs_in, *bytes_in, *recs_out;
    struct mx_gauge *g_subs;
    struct sub *subs; /* every live subscription, for log.unsubscribe */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- JSON ↔ records ---- */

static json_t *bytes_or_null(const uint8_t *p, int32_t len)
{
    return len < 0 ? json_null() : rpc_base64_json(p, (size_t)len);
}

static json_t *record_json(const struct batch_record *r)
{
    json_t *hs = json_array();
    struct rd hr;
    rd_init(&hr, r->headers, r->headers_len);
    struct batch_header_kv h;
    while (hs && batch_header_next(&hr, &h) == 1) {
        json_t *k = json_stringn((const char *)h.key, (size_t)h.key_len);
        json_t *o =
            k ? json_pack("{s:o, s:o}", "key", k, "value", bytes_or_null(h.value, h.value_len))
              : json_pack("{s:o, s:o}", "key_base64", rpc_base64_json(h.key, (size_t)h.key_len),
                          "value", bytes_or_null(h.value, h.value_len));
        json_array_append_new(hs, o);
    }
    return json_pack("{s:I, s:I, s:o, s:o, s:o}", "offset", (json_int_t)r->offset, "timestamp",
                     (json_int_t)r->timestamp, "key", bytes_or_null(r->key, r->key_len), "value",
                     bytes_or_null(r->value, r->value_len), "headers", hs ? hs : json_array());
}

/*
 * Appends to arr the records of the stored batches p/len with offsets >= *next, at most
 * max_records in total (counting what arr holds). Advances *next past every record and control
 * batch consumed. Returns 0 or a negative code for a batch that does not decode.
 */
static int batches_to_json(const uint8_t *p, size_t len, int64_t *next, size_t max_records,
                           json_t *arr)
{
    struct buf scratch;
    buf_init(&scratch);
    int rc = 0;
    size_t pos = 0;
    while (pos < len && json_array_size(arr) < max_records) {
        struct batch b;
        rc = batch_parse(p + pos, len - pos, &b);
        if (rc)
            break;
        pos += b.size;
        if (batch_last_offset(&b) < *next)
            continue;
        if (batch_is_control(&b)) {
            *next = batch_last_offset(&b) + 1;
            continue;
        }
        const uint8_t *recs;
        size_t rlen;
        rc = batch_records(&b, &scratch, BATCH_MAX_RECORDS_BYTES, &recs, &rlen);
        if (rc)
            break;
        struct batch_iter it;
        batch_iter_init(&it, &b, recs, rlen);
        struct batch_record r;
        int more;
        bool full = false;
        while ((more = batch_iter_next(&it, &r)) == 1) {
            if (r.offset < *next)
                continue;
            if (json_array_size(arr) >= max_records) {
                full = true;
                break;
            }
            json_array_append_new(arr, record_json(&r));
            *next = r.offset + 1;
        }
        if (more < 0) {
            rc = more;
            break;
        }
        if (!full)
            *next = batch_last_offset(&b) + 1;
    }
    buf_free(&scratch);
    return rc;
}

/* Reads records from offset *next until max_records, the byte budget, or the end. */
static int read_records(struct broker_rpc *r, const char *topic, int32_t partition, int64_t *next,
                        size_t max_records, json_t *arr)
{
    size_t budget = r->o.max_read_bytes;
    while (json_array_size(arr) < max_records && budget > 0) {
        uint8_t *data = NULL;
        size_t len = 0;
        int64_t after = *next;
        int rc = broker_read(r->b, topic, partition, *next, budget, &data, &len, &after);
        if (rc)
            return rc;
        if (!data || len == 0) {
            free(data);
            break;
        }
        int64_t before = *next;
        rc = batches_to_json(data, len, next, max_records, arr);
        free(data);
        if (rc)
            return rc;
        if (*next == before) /* nothing consumed: avoid spinning */
            *next = after > before ? after : before;
        if (*next == before)
            break;
        budget = len < budget ? budget - len : 0;
    }
    mx_counter_add(r->recs_out, json_array_size(arr));
    return 0;
}

/* ---- topic.create / topic.list ---- */

struct create_req {
    struct rpc_call *c;
    int32_t parts;
    char name[256];
};

static void create_done(void *ctx, int rc, const char *why)
{
    struct create_req *cr = ctx;
    if (rc)
        rpc_error(cr->c, rpc_code_from_plg(rc), "cannot create topic \"%s\": %s", cr->name,
                  why && why[0] ? why : plg_strerror(rc));
    else
        rpc_reply(cr->c,
                  json_pack("{s:s, s:I}", "name", cr->name, "partitions", (json_int_t)cr->parts));
    free(cr);
}

static void m_topic_create(struct rpc_call *c, json_t *params, void *ctx)
{
    struct broker_rpc *r = ctx;
    const char *name;
    int64_t parts = 1;
    if (rpc_params_object(c, params) || rpc_param_str(c, params, "name", true, &name) ||
        rpc_param_int(c, params, "partitions", false, 1, 100000, &parts))
        return;
    json_t *cfg = json_object_get(params, "config");
    if (cfg && !json_is_object(cfg) && !json_is_null(cfg)) {
        rpc_error(c, RPC_INVALID_PARAMS,
                  "parameter \"config\" must be an object of Kafka topic configs, e.g. "
                  "{\"retention.ms\": \"60000\"}");
        return;
    }
    size_t n = json_object_size(cfg);
    if (n > 64) {
        rpc_error(c, RPC_INVALID_PARAMS, "too many configs (%zu, at most 64)", n);
        return;
    }
    const char *kv[2 * 64 + 1];
    char vals[64][64];
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v)
    {
        if (json_is_string(v))
            snprintf(vals[i], sizeof vals[i], "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(vals[i], sizeof vals[i], "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_boolean(v))
            snprintf(vals[i], sizeof vals[i], "%s", json_is_true(v) ? "true" : "false");
        else {
            rpc_error(c, RPC_INVALID_PARAMS,
                      "config \"%s\" must be a string, an integer or a boolean", k);
            return;
        }
        kv[2 * i] = k;
        kv[2 * i + 1] = vals[i];
        i++;
    }
    kv[2 * i] = NULL;
    char why[256] = "";
    struct create_req *cr = calloc(1, sizeof *cr);
    if (!cr) {
        rpc_error_plg(c, PLG_ENOMEM, "topic.create");
        return;
    }
    cr->c = c;
    cr->parts = (int32_t)parts;
    snprintf(cr->name, sizeof cr->name, "%s", name);
    /* The partitions' files and the registry are written on libuv workers; the answer comes
     * from create_done once the topic is durable. */
    int rc =
        broker_topic_create_async(r->b, name, (int32_t)parts, kv, why, sizeof why, create_done, cr);
    if (rc == 0)
        return;
    free(cr);
    if (rc == PLG_EEXIST) {
        rpc_error(c, RPC_EXISTS, "topic \"%s\" already exists", name);
        return;
    }
    if (rc == PLG_EINVAL) {
        rpc_error(c, RPC_INVALID_PARAMS, "cannot create topic \"%s\": %s", name,
                  why[0] ? why : "invalid name, partition count or config");
        return;
    }
    if (rc) {
        rpc_error(c, rpc_code_from_plg(rc), "cannot create topic \"%s\": %s", name,
                  why[0] ? why : plg_strerror(rc));
        return;
    }
    rpc_reply(c, json_pack("{s:s, s:I}", "name", name, "partitions", (json_int_t)parts));
}

static void topic_list_one(void *ctx, const struct broker_topic_info *t)
{
    json_array_append_new(
        ctx, json_pack("{s:s, s:i}", "name", t->name, "partitions", (int)t->partitions));
}

static void m_topic_list(struct rpc_call *c, json_t *params, void *ctx)
{
    struct broker_rpc *r = ctx;
    (void)params;
    json_t *arr = json_array();
    if (!arr) {
        rpc_error(c, RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    broker_topic_foreach(r->b, topic_list_one, arr);
    rpc_reply(c, arr);
}

/* ---- log.append ---- */

/* Kafka's default partitioner hash (murmur2, seed 0x9747b28c), so keyed records land on the
 * partition a Java producer would pick. */
static uint32_t murmur2(const uint8_t *data, size_t len)
{
    const uint32_t m = 0x5bd1e995;
    uint32_t h = 0x9747b28c ^ (uint32_t)len;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
                     (uint32_t)data[i + 3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len - i) {
    case 3:
        h ^= (uint32_t)data[i + 2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)data[i + 1] << 8;
        /* fall through */
    case 1:
        h ^= data[i];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

struct append_req {
    struct rpc_call *c;
    int32_t partition;
    char topic[256];
};

static void append_done(void *ctx, const struct broker_append_result *res)
{
    struct append_req *a = ctx;
    if (res->err == KERR_NONE) {
        rpc_reply(a->c, json_pack("{s:i, s:I}", "partition", (int)a->partition, "offset",
                                  (json_int_t)res->base_offset));
    } else if (res->err == KERR_UNKNOWN_TOPIC_OR_PARTITION) {
        rpc_error(a->c, RPC_NOT_FOUND, "topic \"%s\" partition %d does not exist", a->topic,
                  (int)a->partition);
    } else if (res->err == KERR_MESSAGE_TOO_LARGE || res->err == KERR_RECORD_LIST_TOO_LARGE) {
        rpc_error(a->c, RPC_TOO_LARGE,
                  "record too large for topic \"%s\" (max.message.bytes); send a smaller value",
                  a->topic);
    } else if (res->err == KERR_REQUEST_TIMED_OUT) {
        rpc_error(a->c, RPC_TIMEOUT, "append to \"%s\" partition %d timed out", a->topic,
                  (int)a->partition);
    } else if (res->err == KERR_KAFKA_STORAGE_ERROR) {
        rpc_error(a->c, RPC_SERVER_ERROR,
                  "append to \"%s\" partition %d failed: the disk refused the write (full, "
                  "read-only or failing; the server log names the error); nothing was stored, "
                  "retry once the disk takes writes again",
                  a->topic, (int)a->partition);
    } else {
        rpc_error(a->c, RPC_SERVER_ERROR, "append to \"%s\" partition %d failed (Kafka error %d)",
                  a->topic, (int)a->partition, (int)res->err);
    }
    free(a);
}

/* Parses headers [{key, value}] into kv (keys borrowed from params, values decoded into
 * bufs[i], caller frees). */
static int parse_headers(struct rpc_call *c, json_t *hs, struct batch_header_kv *kv, uint8_t **bufs,
                         size_t *n)
{
    *n = 0;
    if (!hs || json_is_null(hs))
        return 0;
    if (!json_is_array(hs) || json_array_size(hs) > MAX_HEADERS) {
        rpc_error(c, RPC_INVALID_PARAMS,
                  "parameter \"headers\" must be an array of at most %d {\"key\": string, "
                  "\"value\": base64 or null} objects",
                  MAX_HEADERS);
        return PLG_EINVAL;
    }
    size_t i;
    json_t *h;
    json_array_foreach(hs, i, h)
    {
        const char *key;
        uint8_t *val = NULL;
        size_t vlen = 0;
        bool is_null = false;
        if (!json_is_object(h)) {
            rpc_error(c, RPC_INVALID_PARAMS, "headers[%zu] must be an object {key, value}", i);
            return PLG_EINVAL;
        }
        if (rpc_param_str(c, h, "key", true, &key) ||
            rpc_param_base64(c, h, "value", false, MAX_VALUE_BYTES, &val, &vlen, &is_null))
            return PLG_EINVAL;
        bufs[i] = val;
        kv[i].key = (const uint8_t *)key;
        kv[i].key_len = (int32_t)strlen(key);
        kv[i].value = val;
        kv[i].value_len = val || (!is_null && json_object_get(h, "value")) ? (int32_t)vlen : -1;
        *n = i + 1;
    }
    return 0;
}

static int parse_acks(struct rpc_call *c, json_t *params, int *acks)
{
    json_t *v = json_object_get(params, "acks");
    *acks = 1;
    if (!v)
        return 0;
    if (json_is_string(v) && !strcmp(json_string_value(v), "all"))
        *acks = -1;
    else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1 ||
                                    json_integer_value(v) == -1))
        *acks = (int)json_integer_value(v);
    else {
        rpc_error(c, RPC_INVALID_PARAMS, "parameter \"acks\" must be 0, 1, -1 or \"all\"");
        return PLG_EINVAL;
    }
    return 0;
}

static void m_log_append(struct rpc_call *c, json_t *params, void *ctx)
{
    struct broker_rpc *r = ctx;
    const char *topic;
    int64_t partition = -1, ts = -1;
    uint8_t *key = NULL, *value = NULL;
    size_t klen = 0, vlen = 0;
    bool key_null = true, value_null = false;
    int acks;
    struct batch_header_kv hkv[MAX_HEADERS];
    uint8_t *hbufs[MAX_HEADERS] = {0};
    size_t nh = 0;
    if (rpc_params_object(c, params) || rpc_param_str(c, params, "topic", true, &topic) ||
        rpc_param_int(c, params, "partition", false, 0, INT32_MAX, &partition) ||
        rpc_param_int(c, params, "timestamp", false, 0, INT64_MAX, &ts) ||
        parse_acks(c, params, &acks))
        return;
    if (rpc_param_base64(c, params, "key", false, MAX_VALUE_BYTES, &key, &klen, &key_null))
        return;
    if (!json_object_get(params, "key"))
        key_null = true;
    if (rpc_param_base64(c, params, "value", true, MAX_VALUE_BYTES, &value, &vlen, &value_null))
        goto out;
    if (parse_headers(c, json_object_get(params, "headers"), hkv, hbufs, &nh))
        goto out;
    struct broker_topic_info ti;
    if (broker_topic_get(r->b, topic, &ti)) {
        rpc_error(c, RPC_NOT_FOUND, "topic \"%s\" does not exist (create it with topic.create)",
                  topic);
        goto out;
    }
    if (partition < 0) {
        if (!key_null)
            partition = (int64_t)((murmur2(key, klen) & 0x7fffffff) % (uint32_t)ti.partitions);
        else
            partition = (int64_t)(r->rr++ % (uint32_t)ti.partitions);
    } else if (partition >= ti.partitions) {
        rpc_error(c, RPC_NOT_FOUND,
                  "topic \"%s\" has %d partitions; partition %" PRId64 " does not exist", topic,
                  (int)ti.partitions, partition);
        goto out;
    }
    if (ts < 0)
        ts = (int64_t)now_ms();
    struct batch_builder bb;
    batch_builder_init(&bb, 0, ts);
    uint8_t *batch = NULL;
    size_t blen = 0;
    int rc = batch_builder_add(&bb, ts, key, key_null ? -1 : (int32_t)klen, value,
                               value_null ? -1 : (int32_t)vlen, hkv, nh);
    if (rc == 0)
        rc = batch_builder_finish(&bb, -1, &batch, &blen);
    batch_builder_destroy(&bb);
    if (rc) {
        rpc_error_plg(c, rc, "cannot build the record batch");
        goto out;
    }
    struct append_req *a = malloc(sizeof *a);
    if (!a) {
        free(batch);
        rpc_error(c, RPC_INTERNAL_ERROR, "out of memory");
        goto out;
    }
    a->c = c;
    a->partition = (int32_t)partition;
    snprintf(a->topic, sizeof a->topic, "%s", topic);
    mx_counter_inc(r->recs_in);
    mx_counter_add(r->bytes_in, blen);
    rc = broker_append(r->b, topic, (int32_t)partition, batch, blen, acks, append_done, a);
    free(batch);
    if (rc) {
        free(a);
        if (rc == PLG_ENOTFOUND)
            rpc_error(c, RPC_NOT_FOUND, "topic \"%s\" partition %" PRId64 " does not exist", topic,
                      partition);
        else
            rpc_error_plg(c, rc, "append failed");
    }
out:
    free(key);
    free(value);
    for (size_t i = 0; i < nh; i++)
        free(hbufs[i]);
}

/* ---- log.read ---- */

/* Reads topic/partition params and checks that the partition exists (error answered). */
static int topic_partition(struct rpc_call *c, struct broker_rpc *r, json_t *params,
                           const char **topic, int32_t *partition, int64_t *start, int64_t *end)
{
    int64_t p;
    if (rpc_params_object(c, params) || rpc_param_str(c, params, "topic", true, topic) ||
        rpc_param_int(c, params, "partition", true, 0, INT32_MAX, &p))
        return PLG_EINVAL;
    *partition = (int32_t)p;
    if (broker_partition_offsets(r->b, *topic, *partition, start, end)) {
        struct broker_topic_info ti;
        if (broker_topic_get(r->b, *topic, &ti))
            rpc_error(c, RPC_NOT_FOUND, "topic \"%s\" does not exist", *topic);
        else
            rpc_error(c, RPC_NOT_FOUND,
                      "topic \"%s\" has %d partitions; partition %d does not "
                      "exist",
                      *topic, (int)ti.partitions, (int)*partition);
        return PLG_ENOTFOUND;
    }
    return 0;
}

/* offset: an integer, or "earliest" / "latest". */
static int param_offset(struct rpc_call *c, json_t *params, int64_t start, int64_t end,
                        int64_t *out)
{
    json_t *v = json_object_get(params, "offset");
    if (json_is_string(v) && !strcmp(json_string_value(v), "earliest")) {
        *out = start;
        return 0;
    }
    if (json_is_string(v) && !strcmp(json_string_value(v), "latest")) {
        *out = end;
        return 0;
    }
    if (rpc_param_int(c, params, "offset", true, 0, INT64_MAX, out))
        return PLG_EINVAL;
    if (*out < start || *out > end) {
        rpc_error(c, RPC_OUT_OF_RANGE,
                  "offset %" PRId64 " is outside the log: valid offsets are %" PRId64 " to %" PRId64
                  " (the high watermark)",
                  *out, start, end);
        return PLG_ERANGE;
    }
    return 0;
}

static void m_log_read(struct rpc_call *c, json_t *params, void *ctx)
{
    struct broker_rpc *r = ctx;
    const char *topic;
    int32_t partition;
    int64_t start, end, offset, max = DEFAULT_MAX_RECORDS;
    if (topic_partition(c, r, params, &topic, &partition, &start, &end) ||
        param_offset(c, params, start, end, &offset) ||
        rpc_param_int(c, params, "max_records", false, 1, MAX_RECORDS, &max))
        return;
    json_t *arr = json_array();
    int64_t next = offset;
    int rc = arr ? read_records(r, topic, partition, &next, (size_t)max, arr) : PLG_ENOMEM;
    if (rc) {
        json_decref(arr);
        rpc_error_plg(c, rc, "cannot read the log");
        return;
    }
    broker_partition_offsets(r->b, topic, partition, &start, &end);
    rpc_reply(c, json_pack("{s:o, s:I, s:I}", "records", arr, "high_watermark", (json_int_t)end,
                           "next_offset", (json_int_t)next));
}

/* ---- log.subscribe ---- */

struct sub {
    struct rpc_attach a;       /* first member: the attach pointer is the sub */
    struct sub *lprev, *lnext; /* broker_rpc.subs */
    struct broker_watch w;
    struct broker_rpc *r;
    struct rpc_session *s;
    uint64_t id;
    int32_t partition;
    int64_t next;
    bool pumping;
    char topic[256];
};

static void sub_free(struct sub *sub)
{
    if (sub->lprev)
        sub->lprev->lnext = sub->lnext;
    else
        sub->r->subs = sub->lnext;
    if (sub->lnext)
        sub->lnext->lprev = sub->lprev;
    broker_watch_del(&sub->w);
    sub->r->subs_all--;
    mx_gauge_add(sub->r->g_subs, -1);
    free(sub);
}

static void sub_end(struct sub *sub, int code, const char *why)
{
    json_t *n = json_pack("{s:I, s:[], s:{s:i, s:s}}", "subscription", (json_int_t)sub->id,
                          "records", "error", "code", code, "message", why);
    rpc_session_push(sub->s, "log.records", n);
    rpc_session_detach(sub->s, &sub->a);
    sub_free(sub);
}

/* Pushes records while the connection keeps up; parks on the partition watch when caught up.
 * May end (free) the subscription when the partition goes away. */
static void sub_pump(struct sub *sub)
{
    if (sub->pumping)
        return;
    sub->pumping = true;
    struct broker_rpc *r = sub->r;
    for (;;) {
        if (rpc_session_backlog(sub->s) > SUB_HIGH_WATER)
            break; /* paused: on_drain resumes */
        int64_t start, end;
        int rc = broker_partition_offsets(r->b, sub->topic, sub->partition, &start, &end);
        if (rc) {
            sub_end(sub, RPC_NOT_FOUND, "the partition no longer exists");
            return;
        }
        if (sub->next < start)
            sub->next = start; /* retention removed what we had not sent */
        if (sub->next >= end) {
            broker_watch_add(r->b, sub->topic, sub->partition, &sub->w);
            break;
        }
        json_t *arr = json_array();
        int64_t before = sub->next;
        rc = arr ? read_records(r, sub->topic, sub->partition, &sub->next, 1000, arr) : PLG_ENOMEM;
        if (rc) {
            json_decref(arr);
            char why[128];
            snprintf(why, sizeof why, "reading the log failed: %s", plg_strerror(rc));
            sub_end(sub, rpc_code_from_plg(rc), why);
            return;
        }
        if (json_array_size(arr) > 0) {
            json_t *n =
                json_pack("{s:I, s:o}", "subscription", (json_int_t)sub->id, "records", arr);
            if (rpc_session_push(sub->s, "log.records", n))
                break;
        } else {
            json_decref(arr);
        }
        if (sub->next == before) {
            /* Nothing readable yet (e.g. only a transaction in progress): wait for data. */
            broker_watch_add(r->b, sub->topic, sub->partition, &sub->w);
            break;
        }
    }
    sub->pumping = false;
}

static void sub_watch_fire(struct broker_watch *w)
{
    sub_pump(w->ctx);
}

static void sub_on_drain(struct rpc_attach *a)
{
    struct sub *sub = (struct sub *)a;
    if (!sub->w.attached)
        sub_pump(sub);
}

static void sub_on_close(struct rpc_attach *a)
{
    sub_free((struct sub *)a);
}

static void m_log_subscribe(struct rpc_call *c, json_t *params, void *ctx)
{
    struct broker_rpc *r = ctx;
    const char *topic;
    int32_t partition;
    int64_t start, end, offset;
    struct rpc_session *s = rpc_call_session(c);
    if (!rpc_session_can_push(s)) {
        rpc_error(c, RPC_UNAVAILABLE,
                  "log.subscribe needs a WebSocket connection (ws://host:port/rpc); over HTTP "
                  "poll with log.read");
        return;
    }
    if (topic_partition(c, r, params, &topic, &partition, &start, &end) ||
        param_offset(c, params, start, end, &offset))
        return;
    if (r->subs_all >= r->o.max_subscriptions_all) {
        rpc_error(c, RPC_LIMIT, "too many subscriptions on this server (limit %d)",
                  r->o.max_subscriptions_all);
        return;
    }
    /* Subscriptions are the only things attached to a server session. */
    if (rpc_session_attached(s) >= (size_t)r->o.max_subscriptions) {
        rpc_error(c, RPC_LIMIT,
                  "too many subscriptions on this connection (limit %d); unsubscribe or open "
                  "another connection",
                  r->o.max_subscriptions);
        return;
    }
    struct sub *sub = calloc(1, sizeof *sub);
    if (!sub) {
        rpc_error(c, RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    sub->r = r;
    sub->s = s;
    sub->id = ++r->next_sub_id;
    sub->partition = partition;
    sub->next = offset;
    snprintf(sub->topic, sizeof sub->topic, "%s", topic);
    sub->a.on_drain = sub_on_drain;
    sub->a.on_close = sub_on_close;
    sub->w.fire = sub_watch_fire;
    sub->w.ctx = sub;
    r->subs_all++;
    sub->lnext = r->subs;
    if (r->subs)
        r->subs->lprev = sub;
    r->subs = sub;
    mx_gauge_add(r->g_subs, 1);
    rpc_session_attach(s, &sub->a);
    rpc_reply(c, json_pack("{s:I, s:I}", "subscription", (json_int_t)sub->id, "offset",
                           (json_int_t)offset));
    sub_pump(sub);
}

static void m_log_unsubscribe(struct rpc_call *c, json_t *params, void *ctx)
{
    struct broker_rpc *r = ctx;
    int64_t id;
    if (rpc_params_object(c, params) ||
        rpc_param_int(c, params, "subscription", true, 1, INT64_MAX, &id))
        return;
    struct rpc_session *s = rpc_call_session(c);
    for (struct sub *sub = r->subs; sub; sub = sub->lnext)
        if (sub->id == (uint64_t)id && sub->s == s) {
            rpc_session_detach(s, &sub->a);
            sub_free(sub);
            rpc_reply(c, json_true());
            return;
        }
    rpc_error(c, RPC_NOT_FOUND, "no subscription %" PRId64 " on this connection", id);
}

/* ---- cluster.status ---- */

struct status_ctx {
    int topics;
    int64_t partitions;
};

static void status_one(void *ctx, const struct broker_topic_info *t)
{
    struct status_ctx *sc = ctx;
    sc->topics++;
    sc->partitions += t->partitions;
}

static void m_cluster_status(struct rpc_call *c, json_t *params, void *ctx)
{
    struct broker_rpc *r = ctx;
    (void)params;
    struct status_ctx sc = {0};
    broker_topic_foreach(r->b, status_one, &sc);
    rpc_reply(c, json_pack("{s:i, s:s, s:I, s:i, s:I, s:i, s:s}", "node_id",
                           (int)broker_node_id(r->b), "version", plg_version(), "uptime_ms",
                           (json_int_t)(now_ms() - r->started_ms), "topics", sc.topics,
                           "partitions", (json_int_t)sc.partitions, "subscriptions", r->subs_all,
                           "mode", "single-node"));
}

/* ---- registration and lifecycle ---- */

int broker_rpc_register(struct rpc_dispatcher *d, struct broker *b, struct broker_rpc *r)
{
    (void)b;
    static const struct {
        const char *name;
        rpc_method_fn fn;
    } methods[] = {
        {"topic.create", m_topic_create},     {"topic.list", m_topic_list},
        {"log.append", m_log_append},         {"log.read", m_log_read},
        {"log.subscribe", m_log_subscribe},   {"log.unsubscribe", m_log_unsubscribe},
        {"cluster.status", m_cluster_status},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        int rc = rpc_register(d, methods[i].name, methods[i].fn, r);
        if (rc)
            return rc;
    }
    return 0;
}

int broker_rpc_start(struct broker *b, const struct broker_rpc_opts *o, struct broker_rpc **out)
{
    struct broker_rpc *r = calloc(1, sizeof *r);
    if (!r)
        return PLG_ENOMEM;
    r->b = b;
    r->o = *o;
    if (r->o.max_subscriptions <= 0)
        r->o.max_subscriptions = 64;
    if (r->o.max_subscriptions_all <= 0)
        r->o.max_subscriptions_all = 10000;
    if (!r->o.max_read_bytes)
        r->o.max_read_bytes = 1 << 20;
    r->started_ms = now_ms();
    struct mx_registry *reg = mx_default();
    r->recs_in = mx_counter_get(reg, "pyralog_rpc_records_in_total",
                                "Records appended through JSON-RPC log.append.", NULL);
    r->bytes_in = mx_counter_get(reg, "pyralog_rpc_bytes_in_total",
                                 "Record batch bytes appended through JSON-RPC.", NULL);
    r->recs_out = mx_counter_get(reg, "pyralog_rpc_records_out_total",
                                 "Records returned by log.read and pushed to subscribers.", NULL);
    r->g_subs =
        mx_gauge_get(reg, "pyralog_rpc_subscriptions", "Active log.subscribe streams.", NULL);
    int rc = rpc_dispatcher_new(NULL, &r->d);
    if (rc == 0)
        rc = broker_rpc_register(r->d, b, r);
    if (rc == 0) {
        struct rpc_http_config hc = {
            .host = o->host,
            .port = o->port,
            .max_message = o->max_message,
            .max_connections = o->max_connections,
        };
        rc = rpc_http_start(broker_loop(b), r->d, &hc, &r->http);
    }
    if (rc) {
        rpc_dispatcher_free(r->d);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int broker_rpc_port(const struct broker_rpc *r)
{
    return rpc_http_port(r->http);
}

struct rpc_dispatcher *broker_rpc_dispatcher(struct broker_rpc *r)
{
    return r->d;
}

void broker_rpc_stop(struct broker_rpc *r)
{
    if (r)
        rpc_http_stop(r->http);
}

void broker_rpc_free(struct broker_rpc *r)
{
    if (!r)
        return;
    rpc_http_free(r->http);
    rpc_dispatcher_free(r->d);
    free(r);
}
