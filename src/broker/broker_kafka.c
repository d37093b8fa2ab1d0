/*
 * broker_kafka.c — Kafka request dispatch and the core API handlers: ApiVersions, Metadata,
 * Produce, ListOffsets, InitProducerId. Fetch is in broker_fetch.c, admin APIs in
 * broker_admin.c. Loop thread only.
 *
 * Dispatch: decode the whole frame with the kafka codec; a malformed frame or an unknown
 * API/version closes the connection after one log line (ApiVersions of an unknown version is
 * answered in the v0 layout with error 35, so clients can retry); otherwise the handler from
 * the table runs (see broker.h for the contract).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "broker/broker_int.h"
#include "net/net.h"

/* ---- replies ---- */

static void req_finish(struct broker_req *rq)
{
    int16_t k = rq->hdr.api_key;
    if (rq->b && k >= 0 && k < BROKER_MAX_API)
        mx_histogram_observe_ns(rq->b->m_lat[k], mx_now_ns() - rq->t0_ns);
    karena_destroy(&rq->arena);
    net_conn_unref(rq->conn);
    free(rq);
}

bool broker_req_conn_closed(const struct broker_req *rq)
{
    return net_conn_is_closed(rq->conn);
}

/* Sends an encoded frame (with its own 4-byte size prefix, which the net layer rewrites). */
static void send_frame_buf(struct net_conn *c, uint64_t seq, struct buf *out)
{
    size_t len;
    uint8_t *data = buf_steal(out, &len);
    struct net_resp *r = net_resp_new();
    if (!r || !data || len < 4) {
        free(data);
        net_resp_free(r);
        net_conn_close(c, "out of memory encoding a response");
        return;
    }
    net_resp_add_ref(r, data + 4, len - 4, free, data);
    net_conn_reply(c, seq, r);
}

void broker_reply(struct broker_req *rq, const void *resp)
{
    struct buf out;
    buf_init(&out);
    int rc = kafka_response_encode(&out, &rq->hdr, resp, NULL, NULL);
    if (rc || out.oom) {
        PLG_ERROR("broker", "msg=\"cannot encode response\" api=%d version=%d error=\"%s\"",
                  rq->hdr.api_key, rq->hdr.api_version, plg_strerror(rc ? rc : PLG_ENOMEM));
        buf_free(&out);
        net_conn_close(rq->conn, "response encoding failed");
    } else {
        send_frame_buf(rq->conn, rq->seq, &out);
    }
    req_finish(rq);
}

void broker_reply_resp(struct broker_req *rq, struct net_resp *body)
{
    net_conn_reply(rq->conn, rq->seq, body);
    req_finish(rq);
}

void broker_noreply(struct broker_req *rq)
{
    net_conn_noreply(rq->conn, rq->seq);
    req_finish(rq);
}

/* ---- dispatch ---- */

/* Per-API request counter and latency histogram (arrival to answer), labelled with the API's
 * name; at most BROKER_MAX_API label values. */
static void count_request(struct broker *b, int16_t key)
{
    if (!b->m_req[key]) {
        const struct kapi *api = kapi_find(key);
        char labels[96];
        snprintf(labels, sizeof labels, "api=\"%s\"", api && api->name ? api->name : "unknown");
        b->m_req[key] = mx_counter_get(mx_default(), "pyralog_kafka_requests_total",
                                       "Kafka requests by API.", labels);
        b->m_lat[key] = mx_histogram_get(
            mx_default(), "pyralog_kafka_request_duration_seconds",
            "Kafka request latency from arrival to answer (acks and long polls included), by API.",
            labels, MX_LATENCY_BUCKETS, MX_LATENCY_BUCKETS_N);
    }
    mx_counter_inc(b->m_req[key]);
}

void broker_on_frame(void *ctx, struct net_conn *c, uint64_t seq, uint8_t *frame, size_t len)
{
    struct broker *b = ctx;
    struct broker_req *rq = calloc(1, sizeof *rq);
    if (!rq) {
        net_conn_close(c, "out of memory");
        return;
    }
    karena_init(&rq->arena, 0);
    struct kreq kr;
    memset(&kr, 0, sizeof kr);
    int rc = kafka_request_decode(frame, len, &rq->arena, &kr);
    if (rc == PLG_EUNSUPP && kr.hdr_ok && kr.hdr.api_key == KAPI_API_VERSIONS) {
        struct buf out;
        buf_init(&out);
        if (kafka_apiversions_unsupported(&out, kr.hdr.correlation_id) == 0 && !out.oom)
            send_frame_buf(c, seq, &out);
        else
            net_conn_close(c, "out of memory");
        buf_free(&out);
        karena_destroy(&rq->arena);
        free(rq);
        return;
    }
    broker_api_fn fn = NULL;
    if (rc == 0 && kr.hdr.api_key >= 0 && kr.hdr.api_key < BROKER_MAX_API)
        fn = b->api[kr.hdr.api_key];
    if (rc || !fn) {
        mx_counter_inc(b->m_bad_frames);
        char why[200];
        if (!kr.hdr_ok)
            snprintf(why, sizeof why, "malformed request header (%s)", plg_strerror(rc));
        else if (rc == PLG_EUNSUPP || !fn)
            snprintf(why, sizeof why, "unsupported api_key=%d api_version=%d", kr.hdr.api_key,
                     kr.hdr.api_version);
        else
            snprintf(why, sizeof why,
                     "malformed request api_key=%d api_version=%d at byte %zu (%s)", kr.hdr.api_key,
                     kr.hdr.api_version, kr.err_pos, plg_strerror(rc));
        net_conn_close(c, why);
        karena_destroy(&rq->arena);
        free(rq);
        return;
    }
    rq->b = b;
    rq->conn = c;
    rq->seq = seq;
    rq->t0_ns = mx_now_ns();
    count_request(b, kr.hdr.api_key);
    rq->hdr = kr.hdr;
    rq->hdr.client_id = (struct kstr){NULL, -1};
    rq->flexible = kr.flex;
    rq->body = kr.body;
    if (kr.hdr.client_id.len > 0) {
        size_t n = (size_t)kr.hdr.client_id.len;
        if (n >= sizeof rq->client_id)
            n = sizeof rq->client_id - 1;
        memcpy(rq->client_id, kr.hdr.client_id.p, n);
    }
    net_conn_ref(c);
    fn(rq);
}

/* ---- helpers ---- */

void *broker_req_array(struct broker_req *rq, size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    return karena_alloc(&rq->arena, n * size);
}

/* A NUL-terminated copy of a view into the arena (NULL for a null view). */
char *broker_req_str(struct broker_req *rq, struct kstr s)
{
    if (s.len < 0)
        return NULL;
    char *z = karena_alloc(&rq->arena, (size_t)s.len + 1);
    if (!z)
        return NULL;
    memcpy(z, s.p, (size_t)s.len);
    z[s.len] = 0;
    return z;
}

void broker_reply_oom(struct broker_req *rq)
{
    net_conn_close(rq->conn, "out of memory building a response");
    broker_noreply(rq);
}

struct broker_wait *broker_wait_new(struct broker_req *rq, size_t resp_size,
                                    broker_wait_item_fn item_done)
{
    struct broker_wait *w = broker_req_array(rq, 1, sizeof *w);
    void *resp = w ? broker_req_array(rq, 1, resp_size) : NULL;
    if (!resp)
        return NULL;
    *w = (struct broker_wait){rq, resp, item_done, false, 1};
    return w;
}

struct broker_wait_op *broker_wait_op(struct broker_wait *w, void *item)
{
    struct broker_wait_op *op = broker_req_array(w->rq, 1, sizeof *op);
    if (!op) {
        w->oom = true;
        return NULL;
    }
    *op = (struct broker_wait_op){w, item};
    w->pending++;
    return op;
}

void broker_wait_op_cancel(struct broker_wait_op *op)
{
    op->w->pending--;
}

void broker_wait_release(struct broker_wait *w)
{
    if (--w->pending > 0)
        return;
    if (w->oom)
        broker_reply_oom(w->rq);
    else
        broker_reply(w->rq, w->resp);
}

void broker_wait_op_created(void *ctx, int rc, const char *why)
{
    struct broker_wait_op *op = ctx;
    op->w->item_done(op->w, op->item, rc, why);
    broker_wait_release(op->w);
}

void broker_wait_op_done(void *ctx, int rc)
{
    broker_wait_op_created(ctx, rc, NULL);
}

/* ---- ApiVersions ---- */

static void h_api_versions(struct broker_req *rq)
{
    struct broker *b = rq->b;
    struct kapiversions_key all[BROKER_MAX_API];
    size_t n = kafka_apiversions_list(all, BROKER_MAX_API);
    if (n > BROKER_MAX_API)
        n = BROKER_MAX_API;
    struct kapiversions_key *keys = broker_req_array(rq, n, sizeof *keys);
    if (!keys)
        return broker_reply_oom(rq);
    int32_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i].api_key >= 0 && all[i].api_key < BROKER_MAX_API && b->api[all[i].api_key])
            keys[k++] = all[i];
    struct kapiversions_resp resp = {.error_code = 0, .api_keys = keys, .napi_keys = k};
    broker_reply(rq, &resp);
}

/* ---- Metadata ---- */

/* Fills mt for t, all but the name (the caller's: t may be gone before a deferred answer). */
static int fill_md_topic(struct broker_req *rq, struct kmetadata_topic *mt, struct btopic *t)
{
    struct broker *b = rq->b;
    mt->error_code = 0;
    memcpy(mt->topic_id.b, t->id, 16);
    mt->is_internal = t->name[0] == '_' && t->name[1] == '_';
    mt->topic_authorized_operations = INT32_MIN;
    mt->partitions = broker_req_array(rq, (size_t)t->npart, sizeof *mt->partitions);
    int32_t *node = broker_req_array(rq, 1, sizeof *node);
    if (!mt->partitions || !node)
        return PLG_ENOMEM;
    *node = b->o.node_id;
    mt->npartitions = t->npart;
    for (int32_t i = 0; i < t->npart; i++) {
        struct kmetadata_partition *mp = &mt->partitions[i];
        mp->error_code = 0;
        mp->partition_index = i;
        mp->leader_id = b->o.node_id;
        mp->leader_epoch = 0;
        mp->replica_nodes = node;
        mp->nreplica_nodes = 1;
        mp->isr_nodes = node;
        mp->nisr_nodes = 1;
        mp->offline_replicas = NULL;
        mp->noffline_replicas = 0;
    }
    return 0;
}

/* A Metadata answer waits (struct broker_wait) for the topics it auto-creates (on libuv
 * workers: partition files, fsyncs and the registry write stay off the loop); each job fills its
 * topic's entry here. A create the disk refused (full, read-only, failing; the topic is rolled
 * back) answers LEADER_NOT_AVAILABLE, Kafka's answer for a topic being auto-created: clients ask
 * again, and the create works once space is back. One warn line when auto-creates start
 * failing, one info line when one works again. */
static void md_created(struct broker_wait *w, void *item, int rc, const char *why)
{
    struct broker_req *rq = w->rq;
    struct broker *b = rq->b;
    struct kmetadata_topic *mt = item;
    struct kstr name = mt->name; /* the arena copy */
    int64_t failed = rc ? 0 : failrun_ok(&b->autocreate_failures);
    if (rc && failrun_fail(&b->autocreate_failures, uv_now(b->loop)))
        PLG_WARN("broker",
                 "msg=\"auto-create failed, Metadata answers errors for new topics until it "
                 "works\" topic=%s failed=%lld error=\"%s\"",
                 name.p, (long long)b->autocreate_failures.n,
                 why && why[0] ? why : plg_strerror(rc));
    else if (failed)
        PLG_INFO("broker", "msg=\"auto-create works again\" topic=%s failed=%lld", name.p,
                 (long long)failed);
    struct btopic *t = rc ? NULL : broker_topic_find(b, name.p, (size_t)name.len);
    if (rc && broker_kerr(rc) == KERR_KAFKA_STORAGE_ERROR)
        mt->error_code = KERR_LEADER_NOT_AVAILABLE;
    else if (!t)
        mt->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    else if (fill_md_topic(rq, mt, t))
        w->oom = true;
}

static void h_metadata(struct broker_req *rq)
{
    struct broker *b = rq->b;
    const struct kmetadata_req *req = rq->body;
    struct broker_wait *w = broker_wait_new(rq, sizeof(struct kmetadata_resp), md_created);
    if (!w)
        return broker_reply_oom(rq);
    struct kmetadata_resp *resp = w->resp;
    struct kmetadata_broker *br = broker_req_array(rq, 1, sizeof *br);
    if (!br)
        return broker_reply_oom(rq);
    br->node_id = b->o.node_id;
    br->host = kstr_z(b->o.adv_host);
    br->port = b->o.adv_port;
    br->rack = (struct kstr){NULL, -1};
    resp->brokers = br;
    resp->nbrokers = 1;
    resp->cluster_id = kstr_z(b->cluster_id);
    resp->controller_id = b->o.node_id;
    resp->cluster_authorized_operations = INT32_MIN;
    if (req->ntopics < 0) {
        resp->topics = broker_req_array(rq, (size_t)b->ntopics, sizeof *resp->topics);
        if (!resp->topics)
            return broker_reply_oom(rq);
        for (int32_t i = 0; i < b->ntopics; i++) {
            resp->topics[i].name = kstr_z(b->topics[i]->name);
            if (fill_md_topic(rq, &resp->topics[i], b->topics[i]))
                return broker_reply_oom(rq);
        }
        resp->ntopics = b->ntopics;
        broker_reply(rq, resp);
        return;
    }
    resp->topics = broker_req_array(rq, (size_t)req->ntopics, sizeof *resp->topics);
    if (!resp->topics)
        return broker_reply_oom(rq);
    resp->ntopics = req->ntopics;
    for (int32_t i = 0; i < req->ntopics; i++) {
        struct kmetadata_topic *mt = &resp->topics[i];
        struct kstr name = req->topics[i].name;
        mt->name = (struct kstr){broker_req_str(rq, name), name.len};
        mt->topic_authorized_operations = INT32_MIN;
        mt->topic_id = req->topics[i].topic_id;
        if (name.len < 0) {
            mt->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION; /* lookup by id: not supported */
            continue;
        }
        if (!broker_topic_name_valid(name.p, (size_t)name.len)) {
            mt->error_code = KERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        if (!mt->name.p) {
            w->oom = true;
            break;
        }
        struct btopic *t = broker_topic_find(b, name.p, (size_t)name.len);
        if (!t && b->o.auto_create && req->allow_auto_topic_creation && !b->shutting) {
            struct broker_wait_op *op = broker_wait_op(w, mt);
            if (!op)
                break;
            char why[256] = "";
            int rc = broker_topic_create_async(b, mt->name.p, b->o.num_partitions, NULL, why,
                                               sizeof why, broker_wait_op_created, op);
            if (rc == 0)
                continue; /* filled in md_created */
            broker_wait_op_cancel(op);
            if (rc == PLG_EEXIST) {
                mt->error_code = KERR_LEADER_NOT_AVAILABLE; /* being created: retry */
                continue;
            }
            PLG_WARN("broker", "msg=\"auto-create failed\" topic=%s error=\"%s\"", mt->name.p,
                     why[0] ? why : plg_strerror(rc));
        }
        if (!t) {
            mt->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        if (fill_md_topic(rq, mt, t)) {
            w->oom = true;
            break;
        }
    }
    broker_wait_release(w);
}

/* ---- Produce ---- */

struct produce_ctx {
    struct broker_req *rq;
    struct kproduce_resp resp;
    int pending;  /* partition appends not completed yet, +1 while the handler runs */
    bool noreply; /* acks=0 */
};

struct produce_slot {
    struct produce_ctx *pc;
    struct kproduce_partition_resp *pr;
};

static void produce_maybe_finish(struct produce_ctx *pc)
{
    if (--pc->pending > 0)
        return;
    struct broker_req *rq = pc->rq;
    if (pc->noreply)
        broker_noreply(rq);
    else
        broker_reply(rq, &pc->resp);
    free(pc);
}

static void on_produce_done(void *ctx, const struct broker_append_result *r)
{
    struct produce_slot *s = ctx;
    s->pr->error_code = r->err;
    s->pr->base_offset = r->err ? -1 : r->base_offset;
    s->pr->log_append_time_ms = r->err ? -1 : r->log_append_time;
    s->pr->log_start_offset = r->log_start_offset;
    produce_maybe_finish(s->pc);
}

static void h_produce(struct broker_req *rq)
{
    struct broker *b = rq->b;
    const struct kproduce_req *req = rq->body;
    struct produce_ctx *pc = calloc(1, sizeof *pc);
    if (!pc)
        return broker_reply_oom(rq);
    pc->rq = rq;
    pc->pending = 1;
    pc->noreply = req->acks == 0;
    int16_t acks = req->acks;
    bool bad_acks = acks != 0 && acks != 1 && acks != -1;
    pc->resp.topics = broker_req_array(rq, (size_t)(req->ntopics > 0 ? req->ntopics : 0),
                                       sizeof *pc->resp.topics);
    if (!pc->resp.topics) {
        free(pc);
        return broker_reply_oom(rq);
    }
    pc->resp.ntopics = req->ntopics > 0 ? req->ntopics : 0;
    for (int32_t i = 0; i < pc->resp.ntopics; i++) {
        const struct kproduce_topic *pt = &req->topics[i];
        struct kproduce_topic_resp *tr = &pc->resp.topics[i];
        tr->name = (struct kstr){broker_req_str(rq, pt->name), pt->name.len};
        int32_t np = pt->npartitions > 0 ? pt->npartitions : 0;
        tr->partitions = broker_req_array(rq, (size_t)np, sizeof *tr->partitions);
        struct produce_slot *slots = broker_req_array(rq, (size_t)np, sizeof *slots);
        if (!tr->partitions || !slots) {
            net_conn_close(rq->conn, "out of memory building a response");
            pc->noreply = true;
            break;
        }
        tr->npartitions = np;
        struct btopic *t =
            pt->name.len > 0 ? broker_topic_find(b, pt->name.p, (size_t)pt->name.len) : NULL;
        for (int32_t j = 0; j < np; j++) {
            const struct kproduce_partition *pp = &pt->partitions[j];
            struct kproduce_partition_resp *pr = &tr->partitions[j];
            pr->index = pp->index;
            pr->base_offset = -1;
            pr->log_append_time_ms = -1;
            pr->log_start_offset = -1;
            pr->error_message = (struct kstr){NULL, -1};
            if (bad_acks) {
                pr->error_code = KERR_INVALID_REQUIRED_ACKS;
                continue;
            }
            if (req->transactional_id.len >= 0) {
                pr->error_code = KERR_INVALID_REQUEST; /* transactions are not supported */
                continue;
            }
            if (!t || pp->index < 0 || pp->index >= t->npart) {
                pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (pp->records.len <= 0) {
                pr->error_code = KERR_CORRUPT_MESSAGE;
                continue;
            }
            slots[j].pc = pc;
            slots[j].pr = pr;
            pc->pending++;
            /* The records are a view into the request frame, which the net layer lets us
             * modify during this call: the base offset is patched in place. */
            bpart_append(t->parts[pp->index], (uint8_t *)pp->records.p, (size_t)pp->records.len,
                         acks, on_produce_done, &slots[j]);
        }
    }
    produce_maybe_finish(pc);
}

/* ---- ListOffsets ---- */

static void h_list_offsets(struct broker_req *rq)
{
    struct broker *b = rq->b;
    const struct klistoffsets_req *req = rq->body;
    struct klistoffsets_resp resp = {0};
    int32_t nt = req->ntopics > 0 ? req->ntopics : 0;
    resp.topics = broker_req_array(rq, (size_t)nt, sizeof *resp.topics);
    if (!resp.topics)
        return broker_reply_oom(rq);
    resp.ntopics = nt;
    for (int32_t i = 0; i < nt; i++) {
        const struct klistoffsets_topic *lt = &req->topics[i];
        struct klistoffsets_topic_resp *tr = &resp.topics[i];
        tr->name = lt->name;
        int32_t np = lt->npartitions > 0 ? lt->npartitions : 0;
        tr->partitions = broker_req_array(rq, (size_t)np, sizeof *tr->partitions);
        if (!tr->partitions)
            return broker_reply_oom(rq);
        tr->npartitions = np;
        struct btopic *t =
            lt->name.len > 0 ? broker_topic_find(b, lt->name.p, (size_t)lt->name.len) : NULL;
        for (int32_t j = 0; j < np; j++) {
            const struct klistoffsets_partition *lp = &lt->partitions[j];
            struct klistoffsets_partition_resp *pr = &tr->partitions[j];
            pr->partition_index = lp->partition_index;
            pr->timestamp = -1;
            pr->offset = -1;
            pr->leader_epoch = 0;
            if (!t || lp->partition_index < 0 || lp->partition_index >= t->npart) {
                pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            plg_log_t *log = t->parts[lp->partition_index]->log;
            if (lp->timestamp == -2) {
                pr->offset = plg_log_start_offset(log);
            } else if (lp->timestamp == -1) {
                pr->offset = plg_log_end_offset(log);
            } else if (lp->timestamp == -3) {
                /* MAX_TIMESTAMP (v7): the last record; its timestamp is not tracked here. */
                int64_t end = plg_log_end_offset(log);
                pr->offset = end > plg_log_start_offset(log) ? end - 1 : -1;
            } else if (lp->timestamp >= 0) {
                int64_t off;
                int rc = plg_log_lookup_time(log, lp->timestamp, &off);
                if (rc == 0) {
                    pr->offset = off;
                    pr->timestamp = lp->timestamp;
                } else if (rc != PLG_ENOTFOUND) {
                    pr->error_code = broker_kerr(rc);
                }
            } else {
                pr->error_code = KERR_INVALID_REQUEST;
            }
        }
    }
    broker_reply(rq, &resp);
}

/* ---- InitProducerId ---- */

/* A new producer id, or the error code that says why there is none. The id block reservation
 * writes meta/producer-ids; when the disk refuses it (full, read-only, failing) the answer is
 * COORDINATOR_LOAD_IN_PROGRESS, as Kafka's own answer when its producer-id block is not available
 * yet: retriable for every client (librdkafka's idempotence state machine retries any error, the
 * Java client only retriable ones, which UNKNOWN_SERVER_ERROR is not), so producers start once
 * space is back. One error line when the failures start, one info line when they end. */
static int16_t new_producer_id(struct broker *b, int64_t *pid)
{
    int rc = broker_alloc_producer_id(b, pid);
    if (rc == 0) {
        int64_t failed = failrun_ok(&b->pid_failures);
        if (failed)
            PLG_INFO("broker", "msg=\"producer ids are allocated again\" failed=%lld",
                     (long long)failed);
        return 0;
    }
    if (failrun_fail(&b->pid_failures, uv_now(b->loop)))
        PLG_ERROR("broker",
                  "msg=\"cannot allocate producer id, InitProducerId answers errors until it "
                  "can\" failed=%lld error=\"%s\"",
                  (long long)b->pid_failures.n, plg_strerror(rc));
    *pid = -1;
    return broker_kerr(rc) == KERR_KAFKA_STORAGE_ERROR ? KERR_COORDINATOR_LOAD_IN_PROGRESS
                                                       : BERR_UNKNOWN_SERVER;
}

static void h_init_producer_id(struct broker_req *rq)
{
    const struct kinitproducerid_req *req = rq->body;
    struct kinitproducerid_resp resp = {.producer_id = -1, .producer_epoch = -1};
    if (req->transactional_id.len >= 0) {
        /* Transactions are not implemented: refuse rather than pretend. */
        resp.error_code = KERR_INVALID_REQUEST;
    } else if (req->producer_id >= 0) {
        /* Re-initialisation of a known id bumps its epoch (KIP-360). */
        if (req->producer_epoch < 0 || req->producer_epoch >= INT16_MAX - 1) {
            int64_t pid;
            resp.error_code = new_producer_id(rq->b, &pid);
            if (!resp.error_code)
                resp.producer_id = pid, resp.producer_epoch = 0;
        } else {
            resp.producer_id = req->producer_id;
            resp.producer_epoch = (int16_t)(req->producer_epoch + 1);
        }
    } else {
        int64_t pid;
        resp.error_code = new_producer_id(rq->b, &pid);
        if (!resp.error_code) {
            resp.producer_id = pid;
            resp.producer_epoch = 0;
        }
    }
    broker_reply(rq, &resp);
}

void broker_fetch_register(struct broker *b);
void broker_admin_register(struct broker *b);

void broker_register_core_apis(struct broker *b)
{
    broker_register_api(b, KAPI_API_VERSIONS, h_api_versions);
    broker_register_api(b, KAPI_METADATA, h_metadata);
    broker_register_api(b, KAPI_PRODUCE, h_produce);
    broker_register_api(b, KAPI_LIST_OFFSETS, h_list_offsets);
    broker_register_api(b, KAPI_INIT_PRODUCER_ID, h_init_producer_id);
    broker_fetch_register(b);
    broker_admin_register(b);
}
