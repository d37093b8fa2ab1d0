/* merkle_rpc.c — see merkle_rpc.h. */
#include "broker/merkle_rpc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/hex.h"
#include "crypto/merkle.h"
#include "crypto/ptree.h"
#include "crypto/sth.h"
#include "pyralog/pyralog.h"
#include "storage/batch.h"

#define HEAD_CACHE 64

struct stamp;

struct merkle_rpc {
    struct broker *b;
    struct node_key key;
    struct sth cache[HEAD_CACHE]; /* signed heads, replaced round robin */
    unsigned next;
    /* notary.stamp before __notary exists: the calls wait here, in arrival order, while the
     * topic is created on a worker (ours, or another creator's that we wait for); pending says
     * such a create or wait is in flight. */
    struct stamp *waiting, **waiting_tail;
    bool pending;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The tree of topic/partition, or finishes the call with an error and returns NULL. */
static struct ptree *tree_for(struct merkle_rpc *m, struct rpc_call *c, const char *topic,
                              int64_t partition)
{
    struct ptree *t = broker_partition_tree(m->b, topic, (int32_t)partition);
    if (!t) {
        rpc_error(c, RPC_NOT_FOUND,
                  "no Merkle tree for topic %s partition %lld (unknown partition, or the topic "
                  "has merkle.enable=false)",
                  topic, (long long)partition);
        return NULL;
    }
    if (ptree_error(t)) {
        rpc_error(c, RPC_SERVER_ERROR,
                  "the Merkle tree of topic %s partition %lld stopped following the log: %s", topic,
                  (long long)partition, plg_strerror(ptree_error(t)));
        return NULL;
    }
    return t;
}

/* A signed head of the current tree, from the cache when the tree has not grown. */
static int current_head(struct merkle_rpc *m, struct ptree *t, const char *topic,
                        uint32_t partition, struct sth *out)
{
    uint64_t size = ptree_size(t);
    for (unsigned i = 0; i < HEAD_CACHE; i++) {
        struct sth *h = &m->cache[i];
        if (h->timestamp && h->partition == partition && h->tree_size == size &&
            !strcmp(h->topic, topic)) {
            *out = *h;
            return 0;
        }
    }
    struct sth h;
    memset(&h, 0, sizeof h);
    if (strlen(topic) > STH_TOPIC_MAX)
        return PLG_EINVAL;
    strcpy(h.topic, topic);
    h.partition = partition;
    h.tree_size = size;
    h.timestamp = (uint64_t)now_ms();
    int rc = ptree_root(t, size, h.root);
    if (!rc)
        rc = sth_sign(&h, &m->key);
    if (rc)
        return rc;
    /* Replace an older head of the same partition, else the next slot. */
    unsigned slot = m->next;
    for (unsigned i = 0; i < HEAD_CACHE; i++)
        if (m->cache[i].timestamp && m->cache[i].partition == partition &&
            !strcmp(m->cache[i].topic, topic))
            slot = i;
    if (slot == m->next)
        m->next = (m->next + 1) % HEAD_CACHE;
    m->cache[slot] = h;
    *out = h;
    return 0;
}

static json_t *path_json(const uint8_t *path, size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < count; i++) {
        char hex[65];
        hex_encode(path + 32 * i, 32, hex);
        json_array_append_new(a, json_string(hex));
    }
    return a;
}

static int topic_partition(struct rpc_call *c, json_t *params, const char **topic,
                           int64_t *partition)
{
    *partition = 0;
    if (rpc_params_object(c, params) || rpc_param_str(c, params, "topic", true, topic) ||
        rpc_param_int(c, params, "partition", false, 0, INT32_MAX, partition))
        return PLG_EINVAL;
    return 0;
}

static void m_head(struct rpc_call *c, json_t *params, void *ctx)
{
    struct merkle_rpc *m = ctx;
    const char *topic;
    int64_t partition;
    if (topic_partition(c, params, &topic, &partition))
        return;
    struct ptree *t = tree_for(m, c, topic, partition);
    if (!t)
        return;
    struct sth h;
    int rc = current_head(m, t, topic, (uint32_t)partition, &h);
    if (rc) {
        rpc_error_plg(c, rc, "signing the tree head");
        return;
    }
    rpc_reply(c, sth_to_json(&h));
}

static void m_prove(struct rpc_call *c, json_t *params, void *ctx)
{
    struct merkle_rpc *m = ctx;
    const char *topic;
    int64_t partition, offset, size = -1;
    if (topic_partition(c, params, &topic, &partition) ||
        rpc_param_int(c, params, "offset", true, 0, INT64_MAX, &offset) ||
        rpc_param_int(c, params, "tree_size", false, 1, INT64_MAX, &size))
        return;
    struct ptree *t = tree_for(m, c, topic, partition);
    if (!t)
        return;
    uint64_t n = size < 0 ? ptree_size(t) : (uint64_t)size;
    if (n > ptree_size(t) || (uint64_t)offset >= n) {
        rpc_error(c, RPC_OUT_OF_RANGE,
                  "offset %lld is not in a tree of size %llu (the tree has %llu leaves)",
                  (long long)offset, (unsigned long long)n, (unsigned long long)ptree_size(t));
        return;
    }
    struct mk_source s;
    uint8_t path[MK_MAX_PATH * 32], leaf[32];
    size_t count;
    ptree_source(t, &s);
    int rc = mk_inclusion_proof(&s, (uint64_t)offset, n, path, &count);
    if (!rc)
        rc = ptree_leaf(t, (uint64_t)offset, leaf);
    if (rc) {
        rpc_error_plg(c, rc, "building the inclusion proof");
        return;
    }
    char lh[65];
    hex_encode(leaf, 32, lh);
    rpc_reply(c, json_pack("{s:I, s:I, s:s, s:o}", "leaf_index", (json_int_t)offset, "tree_size",
                           (json_int_t)n, "leaf", lh, "path", path_json(path, count)));
}

static void m_consistency(struct rpc_call *c, json_t *params, void *ctx)
{
    struct merkle_rpc *m = ctx;
    const char *topic;
    int64_t partition, from, to;
    if (topic_partition(c, params, &topic, &partition) ||
        rpc_param_int(c, params, "from_size", true, 1, INT64_MAX, &from) ||
        rpc_param_int(c, params, "to_size", true, 1, INT64_MAX, &to))
        return;
    struct ptree *t = tree_for(m, c, topic, partition);
    if (!t)
        return;
    if (from > to || (uint64_t)to > ptree_size(t)) {
        rpc_error(c, RPC_OUT_OF_RANGE,
                  "need 1 <= from_size <= to_size <= %llu (the tree size); got %lld and %lld",
                  (unsigned long long)ptree_size(t), (long long)from, (long long)to);
        return;
    }
    struct mk_source s;
    uint8_t path[MK_MAX_PATH * 32];
    size_t count;
    ptree_source(t, &s);
    int rc = mk_consistency_proof(&s, (uint64_t)from, (uint64_t)to, path, &count);
    if (rc) {
        rpc_error_plg(c, rc, "building the consistency proof");
        return;
    }
    rpc_reply(c, json_pack("{s:o}", "path", path_json(path, count)));
}

struct stamp {
    struct merkle_rpc *m;
    struct rpc_call *c;
    struct stamp *next; /* in m->waiting */
    uint8_t hash[32];
    int64_t ts;
};

static void stamp_done(void *ctx, const struct broker_append_result *r)
{
    struct stamp *st = ctx;
    struct rpc_call *c = st->c;
    if (r->err) {
        rpc_error(c, RPC_SERVER_ERROR, "appending to %s failed (Kafka error %d)", NOTARY_TOPIC,
                  r->err);
        free(st);
        return;
    }
    struct ptree *t = tree_for(st->m, c, NOTARY_TOPIC, 0);
    if (!t) {
        free(st);
        return;
    }
    int64_t ts = r->log_append_time >= 0 ? r->log_append_time : st->ts;
    uint64_t off = (uint64_t)r->base_offset;
    struct sth h;
    struct mk_source s;
    uint8_t path[MK_MAX_PATH * 32], leaf[32];
    size_t count = 0;
    ptree_source(t, &s);
    int rc = current_head(st->m, t, NOTARY_TOPIC, 0, &h);
    if (!rc)
        rc = ptree_leaf(t, off, leaf);
    if (!rc)
        rc = mk_inclusion_proof(&s, off, h.tree_size, path, &count);
    if (rc)
        rpc_error_plg(c, rc, "building the receipt");
    else
        rpc_reply(c, receipt_build(st->hash, NOTARY_TOPIC, 0, off, ts, leaf, path, count, &h));
    free(st);
}

/* Appends the stamp's record to __notary (which exists); the call is finished by stamp_done,
 * or here on error. */
static void stamp_append(struct stamp *st)
{
    struct rpc_call *c = st->c;
    struct batch_builder bb;
    uint8_t *batch = NULL;
    size_t len = 0;
    batch_builder_init(&bb, 0, st->ts);
    int rc = batch_builder_add(&bb, st->ts, NULL, -1, st->hash, 32, NULL, 0);
    if (!rc)
        rc = batch_builder_finish(&bb, -1, &batch, &len);
    batch_builder_destroy(&bb);
    if (rc) {
        free(st);
        rpc_error_plg(c, rc, "building the notary record");
        return;
    }
    /* acks=all: the receipt is only handed out for a durable record. */
    rc = broker_append(st->m->b, NOTARY_TOPIC, 0, batch, len, -1, stamp_done, st);
    free(batch);
    if (rc) {
        free(st);
        rpc_error_plg(c, rc, "appending to " NOTARY_TOPIC);
    }
}

static bool notary_exists(struct merkle_rpc *m)
{
    struct broker_topic_info info;
    return broker_topic_get(m->b, NOTARY_TOPIC, &info) == 0;
}

/* The topic is there (append the waiting stamps) or could not be made (fail them with why). */
static void waiting_finish(struct merkle_rpc *m, int rc, const char *why)
{
    struct stamp *st = m->waiting;
    m->waiting = NULL;
    m->waiting_tail = &m->waiting;
    while (st) {
        struct stamp *next = st->next;
        if (rc) {
            rpc_error(st->c, rc == PLG_ECLOSED ? RPC_UNAVAILABLE : RPC_SERVER_ERROR,
                      "cannot create topic %s: %s", NOTARY_TOPIC, why);
            free(st);
        } else {
            stamp_append(st);
        }
        st = next;
    }
}

static void notary_start(struct merkle_rpc *m);

static void notary_created(void *ctx, int rc, const char *why)
{
    struct merkle_rpc *m = ctx;
    m->pending = false;
    if (rc == 0 || notary_exists(m))
        waiting_finish(m, 0, NULL);
    else if (rc == PLG_EEXIST)
        notary_start(m); /* another creator got there between: wait for it */
    else
        waiting_finish(m, rc, why && why[0] ? why : plg_strerror(rc));
}

/* Another creator's job of the name is over: the topic is there, or we create it. */
static void notary_settled(void *ctx, int rc)
{
    struct merkle_rpc *m = ctx;
    (void)rc;
    m->pending = false;
    if (notary_exists(m))
        waiting_finish(m, 0, NULL);
    else
        notary_start(m);
}

/* Makes __notary exist for the waiting stamps without blocking the loop: creates it on a worker
 * (broker_topic_create_async), or, when another create (or delete) of the name is in flight,
 * waits for that job and looks again. */
static void notary_start(struct merkle_rpc *m)
{
    if (notary_exists(m)) {
        waiting_finish(m, 0, NULL);
        return;
    }
    char why[256] = "";
    int rc =
        broker_topic_create_async(m->b, NOTARY_TOPIC, 1, NULL, why, sizeof why, notary_created, m);
    if (rc == PLG_EEXIST) {
        rc = broker_topic_wait_settled(m->b, NOTARY_TOPIC, notary_settled, m);
        if (rc == PLG_ENOTFOUND) /* cannot be: taken but neither there nor reserved */
            rc = PLG_ESTATE;
        if (rc)
            snprintf(why, sizeof why, "%s", plg_strerror(rc));
    }
    if (rc == 0) {
        m->pending = true;
        return;
    }
    waiting_finish(m, rc, why[0] ? why : plg_strerror(rc));
}

static void m_stamp(struct rpc_call *c, json_t *params, void *ctx)
{
    struct merkle_rpc *m = ctx;
    const char *hex;
    if (rpc_params_object(c, params) || rpc_param_str(c, params, "hash", true, &hex))
        return;
    struct stamp *st = calloc(1, sizeof *st);
    if (!st) {
        rpc_error_plg(c, PLG_ENOMEM, "notary.stamp");
        return;
    }
    if (hex_decode(hex, strlen(hex), st->hash, 32)) {
        free(st);
        rpc_error(c, RPC_INVALID_PARAMS, "hash must be 64 hex digits (a 32-byte BLAKE3 hash)");
        return;
    }
    st->m = m;
    st->c = c;
    st->ts = now_ms();
    /* While the topic is being made, every stamp waits in line (the topic may already be in the
     * broker before its registry entry is durable). */
    if (!m->pending && notary_exists(m)) {
        stamp_append(st);
        return;
    }
    *m->waiting_tail = st;
    m->waiting_tail = &st->next;
    if (!m->pending)
        notary_start(m);
}

int merkle_rpc_register(struct rpc_dispatcher *d, struct broker *b, const char *data_dir,
                        struct merkle_rpc **out)
{
    struct merkle_rpc *m = calloc(1, sizeof *m);
    if (!m)
        return PLG_ENOMEM;
    m->b = b;
    m->waiting_tail = &m->waiting;
    int rc = 0;
    if (data_dir) {
        rc = node_key_load_or_create(data_dir, &m->key);
    } else {
        if (sodium_init() < 0)
            rc = PLG_ESTATE;
        else
            crypto_sign_keypair(m->key.pk, m->key.sk);
    }
    if (!rc)
        rc = rpc_register(d, "merkle.head", m_head, m);
    if (!rc)
        rc = rpc_register(d, "merkle.prove", m_prove, m);
    if (!rc)
        rc = rpc_register(d, "merkle.consistency", m_consistency, m);
    if (!rc)
        rc = rpc_register(d, "notary.stamp", m_stamp, m);
    if (rc) {
        merkle_rpc_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void merkle_rpc_free(struct merkle_rpc *m)
{
    if (!m)
        return;
    sodium_memzero(&m->key, sizeof m->key);
    free(m);
}
