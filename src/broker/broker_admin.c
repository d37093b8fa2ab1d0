/*
 * broker_admin.c — admin APIs: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
 * AlterConfigs, IncrementalAlterConfigs. Topic configs use the storage option names (Kafka's
 * names: retention.ms, segment.bytes, cleanup.policy, max.message.bytes,
 * message.timestamp.type, ..., plus merkle.enable and fsync). Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "broker/broker_int.h"
#include "net/net.h"

#define CONFIG_SOURCE_DYNAMIC_TOPIC 1
#define CONFIG_SOURCE_DEFAULT 5

static struct kstr amsg(struct broker_req *rq, const char *msg)
{
    size_t n = strlen(msg);
    char *z = karena_alloc(&rq->arena, n + 1);
    if (!z)
        return (struct kstr){NULL, -1};
    memcpy(z, msg, n + 1);
    return (struct kstr){z, (int32_t)n};
}

/* A NULL-terminated name, value, ... list of the non-null configs, in the arena (NULL on OOM). */
static const char **config_list(struct broker_req *rq, const struct kconfig_kv *cfg, int32_t n)
{
    n = n > 0 ? n : 0;
    const char **kv = broker_req_array(rq, (size_t)(2 * n + 1), sizeof *kv);
    if (!kv)
        return NULL;
    int32_t k = 0;
    for (int32_t c = 0; c < n; c++) {
        if (cfg[c].value.len < 0)
            continue; /* null value: use the default */
        const char *name = broker_req_str(rq, cfg[c].name);
        const char *value = broker_req_str(rq, cfg[c].value);
        if (!name || !value)
            return NULL;
        kv[k++] = name;
        kv[k++] = value;
    }
    kv[k] = NULL;
    return kv;
}

/* ---- CreateTopics ---- */

/*
 * Topics are created on libuv workers (broker_topic_create_async: partition files, fsyncs and
 * the registry write happen off the loop); the response goes out once every topic of the
 * request is durable or failed (struct broker_wait). A topic's num_partitions holds the count
 * asked for until it is answered.
 */

/* Fills a topic's success fields. */
static void ct_ok(struct broker_req *rq, struct kcreatetopics_topic_resp *tr)
{
    struct btopic *t = broker_topic_find(rq->b, tr->name.p, (size_t)tr->name.len);
    if (t)
        memcpy(tr->topic_id.b, t->id, 16);
    tr->replication_factor = 1;
    tr->nconfigs = 0;
    tr->configs = broker_req_array(rq, 1, sizeof *tr->configs);
}

static void ct_error(struct broker_req *rq, struct kcreatetopics_topic_resp *tr, int rc,
                     const char *why)
{
    /* A disk that refused the partition files or the registry write (full, read-only, failing;
     * the topic is rolled back) is KAFKA_STORAGE_ERROR, as on produce, with the reason in the
     * message. */
    if (rc == PLG_EINVAL)
        tr->error_code = KERR_INVALID_CONFIG;
    else if (rc == PLG_EEXIST)
        tr->error_code = KERR_TOPIC_ALREADY_EXISTS;
    else if (broker_kerr(rc) == KERR_KAFKA_STORAGE_ERROR)
        tr->error_code = KERR_KAFKA_STORAGE_ERROR;
    else
        tr->error_code = BERR_UNKNOWN_SERVER;
    tr->error_message = amsg(rq, why && why[0] ? why : plg_strerror(rc));
    tr->num_partitions = -1;
}

static void ct_created(struct broker_wait *w, void *item, int rc, const char *why)
{
    if (rc)
        ct_error(w->rq, item, rc, why);
    else
        ct_ok(w->rq, item);
}

static void h_create_topics(struct broker_req *rq)
{
    struct broker *b = rq->b;
    const struct kcreatetopics_req *req = rq->body;
    int32_t nt = req->ntopics > 0 ? req->ntopics : 0;
    struct broker_wait *w = broker_wait_new(rq, sizeof(struct kcreatetopics_resp), ct_created);
    if (!w)
        return broker_reply_oom(rq);
    struct kcreatetopics_resp *resp = w->resp;
    resp->topics = broker_req_array(rq, (size_t)nt, sizeof *resp->topics);
    if (!resp->topics)
        return broker_reply_oom(rq);
    resp->ntopics = nt;
    for (int32_t i = 0; i < nt; i++) {
        const struct kcreatetopics_topic *ct = &req->topics[i];
        struct kcreatetopics_topic_resp *tr = &resp->topics[i];
        char *name = broker_req_str(rq, ct->name);
        tr->name = (struct kstr){name, ct->name.len};
        tr->error_message = (struct kstr){NULL, -1};
        tr->num_partitions = -1;
        tr->replication_factor = -1;
        tr->configs = NULL;
        tr->nconfigs = -1;
        if (!name) {
            w->oom = true;
            break;
        }
        int32_t np = ct->num_partitions == -1 ? b->o.num_partitions : ct->num_partitions;
        if (ct->nassignments > 0) {
            np = ct->nassignments;
            for (int32_t k = 0; k < ct->nassignments; k++)
                for (int32_t r = 0; r < ct->assignments[k].nbroker_ids; r++)
                    if (ct->assignments[k].broker_ids[r] != b->o.node_id) {
                        tr->error_code = KERR_INVALID_REQUEST;
                        tr->error_message = amsg(rq, "replica assignment names an unknown broker");
                    }
            if (tr->error_code)
                continue;
        }
        if (!broker_topic_name_valid(ct->name.p, (size_t)(ct->name.len > 0 ? ct->name.len : 0))) {
            tr->error_code = KERR_INVALID_TOPIC_EXCEPTION;
            tr->error_message = amsg(rq, "topic names are 1-249 characters of [a-zA-Z0-9._-]");
            continue;
        }
        if (broker_topic_taken(b, ct->name.p, (size_t)ct->name.len)) {
            tr->error_code = KERR_TOPIC_ALREADY_EXISTS;
            char m[300];
            snprintf(m, sizeof m, "Topic '%s' already exists.", name);
            tr->error_message = amsg(rq, m);
            continue;
        }
        if (np < 1 || np > 100000) {
            tr->error_code = KERR_INVALID_PARTITIONS;
            tr->error_message = amsg(rq, "number of partitions must be between 1 and 100000");
            continue;
        }
        if (ct->replication_factor != -1 && ct->replication_factor != 1) {
            tr->error_code = KERR_INVALID_REPLICATION_FACTOR;
            tr->error_message = amsg(rq, "replication factor must be 1 on a single-node server");
            continue;
        }
        const char **kv = config_list(rq, ct->configs, ct->nconfigs);
        if (!kv) {
            w->oom = true;
            break;
        }
        char why[256] = "";
        int rc;
        tr->num_partitions = np;
        if (req->validate_only) {
            rc = broker_topic_config_check(b, kv, why, sizeof why);
        } else {
            struct broker_wait_op *op = broker_wait_op(w, tr);
            if (!op)
                break;
            rc = broker_topic_create_async(b, name, np, kv, why, sizeof why, broker_wait_op_created,
                                           op);
            if (rc == 0)
                continue; /* filled in ct_created */
            broker_wait_op_cancel(op);
        }
        ct_created(w, tr, rc, why);
    }
    broker_wait_release(w);
}

/* ---- DeleteTopics ---- */

/* Answered once the registry without the topics is durable (written on a worker). */
static void dt_deleted(struct broker_wait *w, void *item, int rc, const char *why)
{
    (void)why;
    struct kdeletetopics_result *r = item;
    if (rc) {
        r->error_code = BERR_UNKNOWN_SERVER;
        r->error_message = amsg(w->rq, plg_strerror(rc));
    }
}

static void h_delete_topics(struct broker_req *rq)
{
    struct broker *b = rq->b;
    const struct kdeletetopics_req *req = rq->body;
    struct broker_wait *w = broker_wait_new(rq, sizeof(struct kdeletetopics_resp), dt_deleted);
    if (!w)
        return broker_reply_oom(rq);
    int32_t n = req->ntopic_names > 0 ? req->ntopic_names : 0;
    struct kdeletetopics_resp *resp = w->resp;
    resp->responses = broker_req_array(rq, (size_t)n, sizeof *resp->responses);
    if (!resp->responses)
        return broker_reply_oom(rq);
    resp->nresponses = n;
    for (int32_t i = 0; i < n; i++) {
        struct kdeletetopics_result *r = &resp->responses[i];
        char *name = broker_req_str(rq, req->topic_names[i]);
        r->name = (struct kstr){name, req->topic_names[i].len};
        r->error_message = (struct kstr){NULL, -1};
        struct broker_wait_op *op = broker_wait_op(w, r);
        if (!op)
            break;
        int rc = name ? broker_topic_delete_async(b, name, broker_wait_op_done, op) : PLG_ENOTFOUND;
        if (rc == 0)
            continue; /* filled in dt_deleted */
        broker_wait_op_cancel(op);
        if (rc == PLG_ENOTFOUND)
            r->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        else
            dt_deleted(w, r, rc, NULL);
    }
    broker_wait_release(w);
}

/* ---- CreatePartitions ---- */

/* New partitions are opened on a libuv worker; the answer goes out once every topic's
 * registry entry is durable (or failed). */
static void cp_done(struct broker_wait *w, void *item, int rc, const char *why)
{
    (void)why;
    struct kcreatepartitions_result *r = item;
    if (!rc)
        return;
    r->error_code = rc == PLG_ESTATE ? KERR_INVALID_REQUEST : BERR_UNKNOWN_SERVER;
    r->error_message =
        amsg(w->rq, rc == PLG_ESTATE ? "the topic is being changed; retry" : plg_strerror(rc));
}

static void h_create_partitions(struct broker_req *rq)
{
    struct broker *b = rq->b;
    const struct kcreatepartitions_req *req = rq->body;
    struct broker_wait *w = broker_wait_new(rq, sizeof(struct kcreatepartitions_resp), cp_done);
    if (!w)
        return broker_reply_oom(rq);
    struct kcreatepartitions_resp *resp = w->resp;
    int32_t n = req->ntopics > 0 ? req->ntopics : 0;
    resp->results = broker_req_array(rq, (size_t)n, sizeof *resp->results);
    if (!resp->results)
        return broker_reply_oom(rq);
    resp->nresults = n;
    for (int32_t i = 0; i < n; i++) {
        const struct kcreatepartitions_topic *ct = &req->topics[i];
        struct kcreatepartitions_result *r = &resp->results[i];
        char *name = broker_req_str(rq, ct->name);
        r->name = (struct kstr){name, ct->name.len};
        r->error_message = (struct kstr){NULL, -1};
        struct btopic *t = name ? broker_topic_find(b, name, strlen(name)) : NULL;
        if (!t) {
            r->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        if (ct->count <= t->npart || ct->count > 100000) {
            char m[200];
            snprintf(m, sizeof m,
                     "Topic currently has %d partitions, which is higher than or "
                     "equal to the requested %d.",
                     t->npart, ct->count);
            r->error_code = KERR_INVALID_PARTITIONS;
            r->error_message = amsg(rq, m);
            continue;
        }
        if (req->validate_only)
            continue;
        struct broker_wait_op *op = broker_wait_op(w, r);
        if (!op)
            break;
        int rc = broker_topic_add_partitions_async(b, name, ct->count, broker_wait_op_done, op);
        if (rc) {
            broker_wait_op_cancel(op);
            cp_done(w, r, rc, NULL);
        }
    }
    broker_wait_release(w);
}

/* ---- DescribeConfigs ---- */

static int describe_one(struct broker_req *rq, struct btopic *t, const char *key,
                        struct kdescribeconfigs_config *c)
{
    char val[256];
    bool is_default;
    int rc = btopic_config_get(rq->b, t, key, val, sizeof val, &is_default);
    if (rc)
        return rc;
    c->name = amsg(rq, key);
    c->value = amsg(rq, val);
    c->read_only = false;
    c->is_default = is_default;
    c->config_source = is_default ? CONFIG_SOURCE_DEFAULT : CONFIG_SOURCE_DYNAMIC_TOPIC;
    c->is_sensitive = false;
    c->synonyms = NULL;
    c->nsynonyms = 0;
    c->config_type = 0;
    c->documentation = (struct kstr){NULL, -1};
    return 0;
}

static void h_describe_configs(struct broker_req *rq)
{
    struct broker *b = rq->b;
    const struct kdescribeconfigs_req *req = rq->body;
    struct kdescribeconfigs_resp resp = {0};
    int32_t n = req->nresources > 0 ? req->nresources : 0;
    resp.results = broker_req_array(rq, (size_t)n, sizeof *resp.results);
    if (!resp.results)
        return broker_reply_oom(rq);
    resp.nresults = n;
    const char *const *keys = plg_log_config_keys();
    size_t nkeys = 0;
    while (keys[nkeys])
        nkeys++;
    for (int32_t i = 0; i < n; i++) {
        const struct kdescribeconfigs_resource *res = &req->resources[i];
        struct kdescribeconfigs_result *r = &resp.results[i];
        r->resource_type = res->resource_type;
        r->resource_name =
            (struct kstr){broker_req_str(rq, res->resource_name), res->resource_name.len};
        r->error_message = (struct kstr){NULL, -1};
        r->configs = broker_req_array(
            rq, nkeys + (size_t)(res->nconfiguration_keys > 0 ? res->nconfiguration_keys : 0),
            sizeof *r->configs);
        if (!r->configs)
            return broker_reply_oom(rq);
        if (res->resource_type == KRESOURCE_BROKER) {
            r->nconfigs = 0; /* broker configs are static (file/env/flags), none dynamic */
            continue;
        }
        if (res->resource_type != KRESOURCE_TOPIC) {
            r->error_code = KERR_INVALID_REQUEST;
            r->error_message = amsg(rq, "only topic and broker resources are supported");
            continue;
        }
        struct btopic *t =
            res->resource_name.len > 0
                ? broker_topic_find(b, res->resource_name.p, (size_t)res->resource_name.len)
                : NULL;
        if (!t) {
            r->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        int32_t k = 0;
        if (res->nconfiguration_keys < 0) {
            for (size_t j = 0; j < nkeys; j++)
                if (describe_one(rq, t, keys[j], &r->configs[k]) == 0)
                    k++;
        } else {
            for (int32_t j = 0; j < res->nconfiguration_keys; j++) {
                char *key = broker_req_str(rq, res->configuration_keys[j]);
                if (key && describe_one(rq, t, key, &r->configs[k]) == 0)
                    k++;
            }
        }
        r->nconfigs = k;
    }
    broker_reply(rq, &resp);
}

/* ---- AlterConfigs / IncrementalAlterConfigs ---- */

/* The response of an (Incremental)AlterConfigs request, kept until the registry holding the
 * new configs is durable (written on a worker). */
struct ac_state {
    struct broker_req *rq;
    struct kalterconfigs_resp resp;
    bool changed; /* some topic's configs changed: the registry must be written */
};

static void ac_durable(void *ctx, int rc)
{
    struct ac_state *st = ctx;
    for (int32_t i = 0; rc && i < st->resp.nresponses; i++) {
        struct kalterconfigs_result *r = &st->resp.responses[i];
        if (r->error_code == 0) {
            r->error_code = BERR_UNKNOWN_SERVER;
            r->error_message = amsg(st->rq, "applied but not persisted: cannot write the registry");
        }
    }
    broker_reply(st->rq, &st->resp);
}

/* The state of an (Incremental)AlterConfigs answer with `nresources` result slots, in the
 * request arena; NULL on OOM. */
static struct ac_state *ac_start(struct broker_req *rq, int32_t nresources)
{
    struct ac_state *st = broker_req_array(rq, 1, sizeof *st);
    int32_t n = nresources > 0 ? nresources : 0;
    if (!st || !(st->resp.responses = broker_req_array(rq, (size_t)n, sizeof(*st->resp.responses))))
        return NULL;
    st->rq = rq;
    st->resp.nresponses = n;
    return st;
}

static void ac_finish(struct ac_state *st)
{
    if (st->changed)
        broker_registry_commit(st->rq->b, ac_durable, st);
    else
        broker_reply(st->rq, &st->resp);
}

/* Applies a new override list to a topic resource; fills the result. */
static void alter_topic(struct ac_state *st, struct btopic *t, const char **kv, bool validate,
                        struct kalterconfigs_result *r)
{
    struct broker_req *rq = st->rq;
    char why[256] = "";
    int rc = btopic_set_configs(rq->b, t, kv, why, sizeof why, validate);
    st->changed |= rc == 0 && !validate;
    if (rc == PLG_EINVAL) {
        r->error_code = KERR_INVALID_CONFIG;
        r->error_message = amsg(rq, why);
    } else if (rc) {
        r->error_code = BERR_UNKNOWN_SERVER;
        r->error_message = amsg(rq, why[0] ? why : plg_strerror(rc));
    }
}

static struct btopic *alter_target(struct broker_req *rq, int8_t type, struct kstr name,
                                   struct kalterconfigs_result *r)
{
    r->resource_type = type;
    r->resource_name = (struct kstr){broker_req_str(rq, name), name.len};
    r->error_message = (struct kstr){NULL, -1};
    if (type != KRESOURCE_TOPIC) {
        r->error_code = KERR_INVALID_REQUEST;
        r->error_message = amsg(rq, "only topic configs can be altered at run time");
        return NULL;
    }
    struct btopic *t = name.len > 0 ? broker_topic_find(rq->b, name.p, (size_t)name.len) : NULL;
    if (!t)
        r->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return t;
}

static void h_alter_configs(struct broker_req *rq)
{
    const struct kalterconfigs_req *req = rq->body;
    struct ac_state *st = ac_start(rq, req->nresources);
    if (!st)
        return broker_reply_oom(rq);
    struct kalterconfigs_resp *resp = &st->resp;
    for (int32_t i = 0; i < resp->nresponses; i++) {
        const struct kalterconfigs_resource *res = &req->resources[i];
        struct kalterconfigs_result *r = &resp->responses[i];
        struct btopic *t = alter_target(rq, res->resource_type, res->resource_name, r);
        if (!t)
            continue;
        /* AlterConfigs replaces the whole set of overrides. */
        const char **kv = config_list(rq, res->configs, res->nconfigs);
        if (!kv)
            return broker_reply_oom(rq);
        alter_topic(st, t, kv, req->validate_only, r);
    }
    ac_finish(st);
}

static void h_incremental_alter_configs(struct broker_req *rq)
{
    const struct kincalterconfigs_req *req = rq->body;
    struct ac_state *st = ac_start(rq, req->nresources);
    if (!st)
        return broker_reply_oom(rq);
    struct kalterconfigs_resp *resp = &st->resp;
    for (int32_t i = 0; i < resp->nresponses; i++) {
        const struct kincalterconfigs_resource *res = &req->resources[i];
        struct kalterconfigs_result *r = &resp->responses[i];
        struct btopic *t = alter_target(rq, res->resource_type, res->resource_name, r);
        if (!t)
            continue;
        int32_t nc = res->nconfigs > 0 ? res->nconfigs : 0;
        size_t have = 0;
        while (t->configs && t->configs[have])
            have++;
        const char **kv = broker_req_array(rq, have + (size_t)(2 * nc) + 1, sizeof *kv);
        if (!kv)
            return broker_reply_oom(rq);
        size_t k = 0;
        for (size_t j = 0; j < have; j++)
            kv[k++] = t->configs[j];
        bool bad = false;
        for (int32_t c = 0; c < nc && !bad; c++) {
            const struct kincalterconfigs_config *op = &res->configs[c];
            char *name = broker_req_str(rq, op->name);
            if (!name)
                return broker_reply_oom(rq);
            /* Remove any existing override of this key. */
            size_t w = 0;
            for (size_t j = 0; j < k; j += 2)
                if (strcmp(kv[j], name)) {
                    kv[w++] = kv[j];
                    kv[w++] = kv[j + 1];
                }
            k = w;
            if (op->config_operation == KCONFIG_OP_SET) {
                if (op->value.len < 0) {
                    bad = true;
                    r->error_code = KERR_INVALID_CONFIG;
                    r->error_message = amsg(rq, "SET needs a value");
                    break;
                }
                char *value = broker_req_str(rq, op->value);
                if (!value)
                    return broker_reply_oom(rq);
                kv[k++] = name;
                kv[k++] = value;
            } else if (op->config_operation != KCONFIG_OP_DELETE) {
                bad = true;
                r->error_code = KERR_INVALID_REQUEST;
                r->error_message = amsg(rq, "APPEND and SUBTRACT are not supported");
            }
        }
        kv[k] = NULL;
        if (!bad)
            alter_topic(st, t, kv, req->validate_only, r);
    }
    ac_finish(st);
}

void broker_admin_register(struct broker *b);
void broker_admin_register(struct broker *b)
{
    broker_register_api(b, KAPI_CREATE_TOPICS, h_create_topics);
    broker_register_api(b, KAPI_DELETE_TOPICS, h_delete_topics);
    broker_register_api(b, KAPI_CREATE_PARTITIONS, h_create_partitions);
    broker_register_api(b, KAPI_DESCRIBE_CONFIGS, h_describe_configs);
    broker_register_api(b, KAPI_ALTER_CONFIGS, h_alter_configs);
    broker_register_api(b, KAPI_INCREMENTAL_ALTER_CONFIGS, h_incremental_alter_configs);
}
