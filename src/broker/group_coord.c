/*
 * group_coord.c — Kafka group APIs on top of group_sm (membership) and group_offsets (commits).
 *
 * Request flow: decode (kafka codec, before we are called) → look the group up → feed the state
 * machine with now = uv_now() → answer now, or park the broker_req under its own address as the
 * state machine's token → answer every output the call produced → re-arm the single timer at
 * the earliest deadline over all groups. Commits are appended to __consumer_offsets as one
 * RecordBatch (one record per partition) with the acks of opts.commit_acks: 1 by default, as
 * Kafka's offsets.commit.required.acks resolves on a single broker (the append is in the log, so
 * it survives a crash of the process; the flusher makes it durable within log.fsync's
 * interval), or -1 to answer only once it is fsynced. The table is updated and the client
 * answered when the append completes.
 */
#include "broker/group_coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#include "base/log.h"
#include "broker/broker_int.h"
#include "broker/group_offsets.h"
#include "broker/group_sm.h"
#include "kafka/kgroups.h"
#include "net/net.h"
#include "storage/batch.h"

#define OFFSET_METADATA_MAX 4096 /* offset.metadata.max.bytes */
#define KERR_UNKNOWN_SERVER_ERROR (-1)

struct cgroup {
    char *id;
    struct gsm_group sm;
    struct goff_table offs;
    enum gsm_state seen_state; /* state at the last flush, to log transitions */
    int64_t last_join_ms;      /* loop time of the latest JoinGroup (rebalance latency) */
};

struct group_coord {
    struct broker *b;
    struct gsm_config cfg;
    int commit_acks; /* 1 or -1 (all: answered when durable) */
    struct cgroup **groups;
    int32_t ngroups, capgroups;
    struct broker_req **parked; /* JoinGroup/SyncGroup requests waiting for the state machine */
    size_t nparked, capparked;
    uv_timer_t *timer;   /* own allocation: freed by its close callback */
    uv_timer_t *compact; /* periodic compaction of __consumer_offsets */
    int64_t compact_interval_ms;
    int64_t compacted_removed; /* records dropped by compaction so far */
    bool shutting;
    struct buf scratch;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t loop_now(struct group_coord *gc)
{
    return (int64_t)uv_now(broker_loop(gc->b));
}

static struct gsm_bytes gb(struct kstr s)
{
    return (struct gsm_bytes){(const uint8_t *)s.p, s.len > 0 ? (size_t)s.len : 0};
}

/* Instance ids: absent (older versions decode ""), null or empty all mean "dynamic member". */
static struct gsm_bytes ginst(struct kstr s)
{
    if (s.len <= 0)
        return (struct gsm_bytes){NULL, 0};
    return gb(s);
}

static struct kstr kz(const char *z)
{
    return z ? kstr_z(z) : kstr_z("");
}

/* ---- groups ---- */

static struct cgroup *group_find(struct group_coord *gc, struct kstr id)
{
    if (id.len <= 0)
        return NULL;
    for (int32_t i = 0; i < gc->ngroups; i++)
        if (kstr_eq(id, gc->groups[i]->id))
            return gc->groups[i];
    return NULL;
}

static struct cgroup *group_create(struct group_coord *gc, struct kstr id)
{
    if (id.len <= 0 || memchr(id.p, 0, (size_t)id.len))
        return NULL;
    if (gc->ngroups == gc->capgroups) {
        int32_t cap = gc->capgroups ? gc->capgroups * 2 : 16;
        struct cgroup **g = realloc(gc->groups, (size_t)cap * sizeof *g);
        if (!g)
            return NULL;
        gc->groups = g;
        gc->capgroups = cap;
    }
    struct cgroup *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->id = strndup(id.p, (size_t)id.len);
    if (!g->id || gsm_init(&g->sm, g->id, &gc->cfg)) {
        free(g->id);
        free(g);
        return NULL;
    }
    goff_init(&g->offs);
    gc->groups[gc->ngroups++] = g;
    return g;
}

static void group_free(struct cgroup *g)
{
    gsm_destroy(&g->sm);
    goff_destroy(&g->offs);
    free(g->id);
    free(g);
}

/* Drops groups that hold nothing any more (no members, no offsets, or deleted). */
static void group_gc(struct group_coord *gc, struct cgroup *g)
{
    bool dead = g->sm.state == GSM_DEAD;
    if (!dead && (g->sm.state != GSM_EMPTY || goff_count(&g->offs) || g->sm.n_pending))
        return;
    for (int32_t i = 0; i < gc->ngroups; i++)
        if (gc->groups[i] == g) {
            gc->groups[i] = gc->groups[--gc->ngroups];
            group_free(g);
            return;
        }
}

/* ---- parked requests and state-machine outputs ---- */

static int park(struct group_coord *gc, struct broker_req *rq)
{
    if (gc->nparked == gc->capparked) {
        size_t cap = gc->capparked ? gc->capparked * 2 : 16;
        struct broker_req **p = realloc(gc->parked, cap * sizeof *p);
        if (!p)
            return PLG_ENOMEM;
        gc->parked = p;
        gc->capparked = cap;
    }
    gc->parked[gc->nparked++] = rq;
    return 0;
}

static struct broker_req *unpark(struct group_coord *gc, uint64_t token)
{
    for (size_t i = 0; i < gc->nparked; i++)
        if ((uint64_t)(uintptr_t)gc->parked[i] == token) {
            struct broker_req *rq = gc->parked[i];
            gc->parked[i] = gc->parked[--gc->nparked];
            return rq;
        }
    return NULL;
}

static void reply_join_error(struct broker_req *rq, int16_t err, const char *member_id)
{
    struct kjoingroup_resp r = {0};
    r.error_code = err;
    r.generation_id = -1;
    r.protocol_name = kz(NULL);
    r.leader = kz(NULL);
    r.member_id = kz(member_id);
    broker_reply(rq, &r);
}

static void reply_sync_error(struct broker_req *rq, int16_t err)
{
    struct ksyncgroup_resp r = {0};
    r.error_code = err;
    r.assignment = (struct kbytes){(const uint8_t *)"", 0};
    broker_reply(rq, &r);
}

static void answer_join(struct cgroup *g, struct broker_req *rq, const struct gsm_out *o)
{
    if (o->error) {
        reply_join_error(rq, o->error, o->member_id);
        return;
    }
    struct kjoingroup_resp r = {0};
    r.generation_id = o->generation;
    r.protocol_name = kz(o->protocol_name);
    r.leader = kz(o->leader_id);
    r.member_id = kz(o->member_id);
    if (o->is_leader) {
        size_t n = gsm_member_count(&g->sm);
        r.members = karena_alloc(&rq->arena, (n ? n : 1) * sizeof *r.members);
        if (!r.members) {
            reply_join_error(rq, KERR_UNKNOWN_SERVER_ERROR, o->member_id);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            struct gsm_member_view v;
            gsm_member_at(&g->sm, i, &v);
            r.members[i].member_id = kz(v.member_id);
            r.members[i].group_instance_id = v.instance_id ? kstr_z(v.instance_id) : kstr_z(NULL);
            r.members[i].metadata = (struct kbytes){v.metadata ? v.metadata : (const uint8_t *)"",
                                                    (int32_t)v.metadata_len};
        }
        r.nmembers = (int32_t)n;
    }
    broker_reply(rq, &r);
}

static void reschedule(struct group_coord *gc);

/* Answers every output of the group's last call and re-arms the timer. */
static void flush_outputs(struct group_coord *gc, struct cgroup *g)
{
    size_t n;
    const struct gsm_out *o = gsm_outputs(&g->sm, &n);
    for (size_t i = 0; i < n; i++) {
        struct broker_req *rq = unpark(gc, o[i].token);
        if (!rq)
            continue;
        if (o[i].kind == GSM_OUT_JOIN) {
            answer_join(g, rq, &o[i]);
        } else if (o[i].error) {
            reply_sync_error(rq, o[i].error);
        } else {
            struct ksyncgroup_resp r = {0};
            r.assignment = (struct kbytes){o[i].assignment ? o[i].assignment : (const uint8_t *)"",
                                           (int32_t)o[i].assignment_len};
            broker_reply(rq, &r);
        }
    }
    if (g->sm.state != g->seen_state) {
        if (g->sm.state == GSM_STABLE)
            PLG_INFO("group",
                     "msg=\"group stable\" group=%s generation=%d members=%zu protocol=%s "
                     "since_last_join_ms=%lld",
                     g->id, g->sm.generation, gsm_member_count(&g->sm),
                     g->sm.protocol_name ? g->sm.protocol_name : "-",
                     (long long)(loop_now(gc) - g->last_join_ms));
        else
            PLG_INFO("group", "msg=\"group state\" group=%s state=%s generation=%d members=%zu",
                     g->id, gsm_state_name(g->sm.state), g->sm.generation,
                     gsm_member_count(&g->sm));
        g->seen_state = g->sm.state;
    }
    reschedule(gc);
}

static void on_timer(uv_timer_t *t)
{
    struct group_coord *gc = t->data;
    int64_t now = loop_now(gc);
    for (int32_t i = 0; i < gc->ngroups; i++) {
        struct cgroup *g = gc->groups[i];
        if (gsm_next_deadline(&g->sm) > now)
            continue;
        size_t before = gsm_member_count(&g->sm);
        gsm_tick(&g->sm, now);
        if (gsm_member_count(&g->sm) < before)
            PLG_INFO("group", "msg=\"members expired\" group=%s removed=%zu state=%s", g->id,
                     before - gsm_member_count(&g->sm), gsm_state_name(g->sm.state));
        flush_outputs(gc, g);
    }
    for (int32_t i = gc->ngroups; i-- > 0;)
        group_gc(gc, gc->groups[i]);
    reschedule(gc);
}

static void reschedule(struct group_coord *gc)
{
    if (!gc->timer || gc->shutting)
        return;
    int64_t d = INT64_MAX;
    for (int32_t i = 0; i < gc->ngroups; i++) {
        int64_t x = gsm_next_deadline(&gc->groups[i]->sm);
        if (x < d)
            d = x;
    }
    if (d == INT64_MAX) {
        uv_timer_stop(gc->timer);
        return;
    }
    int64_t now = loop_now(gc);
    uv_timer_start(gc->timer, on_timer, d > now ? (uint64_t)(d - now) : 0, 0);
}

static struct group_coord *coord_of(struct broker_req *rq)
{
    return rq->b->groups;
}

/* ---- FindCoordinator ---- */

static void h_find_coordinator(struct broker_req *rq)
{
    const struct kfindcoordinator_req *q = rq->body;
    struct kfindcoordinator_resp r = {0};
    r.error_message = kstr_z(NULL);
    r.host = kz(NULL);
    r.node_id = -1;
    r.port = -1;
    if (q->key_type != 0) {
        r.error_code = KERR_COORDINATOR_NOT_AVAILABLE; /* no transaction coordinator */
        r.error_message = kstr_z("transactions are not supported");
    } else {
        r.node_id = broker_node_id(rq->b);
        r.host = kz(rq->b->adv_host);
        r.port = rq->b->o.adv_port;
    }
    broker_reply(rq, &r);
}

/* ---- JoinGroup ---- */

/* "/ip" as Kafka reports client hosts (the peer string is "ip:port"). */
static void client_host(struct broker_req *rq, char *out, size_t cap)
{
    const char *peer = rq->conn ? net_conn_peer(rq->conn) : "";
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    snprintf(out, cap, "/%.*s", (int)n, peer);
}

static void h_join_group(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct kjoingroup_req *q = rq->body;
    if (gc->shutting) {
        reply_join_error(rq, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
        return;
    }
    if (q->group_id.len <= 0) {
        reply_join_error(rq, KERR_INVALID_GROUP_ID, NULL);
        return;
    }
    struct cgroup *g = group_find(gc, q->group_id);
    if (!g && q->member_id.len > 0) {
        reply_join_error(rq, KERR_UNKNOWN_MEMBER_ID, NULL);
        return;
    }
    if (!g && !(g = group_create(gc, q->group_id))) {
        reply_join_error(rq, KERR_INVALID_GROUP_ID, NULL);
        return;
    }
    int32_t np = q->nprotocols > 0 ? q->nprotocols : 0;
    struct gsm_protocol_in *ps = karena_alloc(&rq->arena, (size_t)(np ? np : 1) * sizeof *ps);
    if (!ps) {
        reply_join_error(rq, KERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    for (int32_t i = 0; i < np; i++) {
        ps[i].name = gb(q->protocols[i].name);
        ps[i].metadata = (struct gsm_bytes){
            q->protocols[i].metadata.p,
            q->protocols[i].metadata.len > 0 ? (size_t)q->protocols[i].metadata.len : 0};
    }
    char host[72];
    client_host(rq, host, sizeof host);
    struct gsm_join_req jr = {0};
    jr.member_id = gb(q->member_id);
    jr.instance_id = ginst(q->group_instance_id);
    jr.client_id = (struct gsm_bytes){(const uint8_t *)rq->client_id, strlen(rq->client_id)};
    jr.client_host = (struct gsm_bytes){(const uint8_t *)host, strlen(host)};
    jr.protocol_type = gb(q->protocol_type);
    jr.session_timeout_ms = q->session_timeout_ms;
    jr.rebalance_timeout_ms = rq->hdr.api_version >= 1 && q->rebalance_timeout_ms > 0
                                  ? q->rebalance_timeout_ms
                                  : q->session_timeout_ms;
    jr.require_known_member_id = rq->hdr.api_version >= 4;
    jr.protocols = ps;
    jr.n_protocols = (size_t)np;
    const char *assigned = NULL;
    g->last_join_ms = loop_now(gc);
    if (park(gc, rq)) {
        reply_join_error(rq, KERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    int rc = gsm_join(&g->sm, &jr, (uint64_t)(uintptr_t)rq, loop_now(gc), &assigned);
    if (rc != 0) {
        unpark(gc, (uint64_t)(uintptr_t)rq);
        reply_join_error(rq, rc > 0 ? (int16_t)rc : KERR_UNKNOWN_SERVER_ERROR,
                         rc == KERR_MEMBER_ID_REQUIRED ? assigned : NULL);
    }
    flush_outputs(gc, g);
    group_gc(gc, g);
}

/* ---- SyncGroup / Heartbeat / LeaveGroup ---- */

static void h_sync_group(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct ksyncgroup_req *q = rq->body;
    struct cgroup *g = gc->shutting ? NULL : group_find(gc, q->group_id);
    if (!g) {
        reply_sync_error(rq,
                         gc->shutting ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_UNKNOWN_MEMBER_ID);
        return;
    }
    int32_t na = q->nassignments > 0 ? q->nassignments : 0;
    struct gsm_sync_assignment *as = karena_alloc(&rq->arena, (size_t)(na ? na : 1) * sizeof *as);
    if (!as || park(gc, rq)) {
        reply_sync_error(rq, KERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    for (int32_t i = 0; i < na; i++) {
        as[i].member_id = gb(q->assignments[i].member_id);
        as[i].assignment = (struct gsm_bytes){
            q->assignments[i].assignment.p,
            q->assignments[i].assignment.len > 0 ? (size_t)q->assignments[i].assignment.len : 0};
    }
    int rc = gsm_sync(&g->sm, q->generation_id, gb(q->member_id), ginst(q->group_instance_id), as,
                      (size_t)na, (uint64_t)(uintptr_t)rq, loop_now(gc));
    if (rc != 0) {
        unpark(gc, (uint64_t)(uintptr_t)rq);
        reply_sync_error(rq, rc > 0 ? (int16_t)rc : KERR_UNKNOWN_SERVER_ERROR);
    }
    flush_outputs(gc, g);
}

static void h_heartbeat(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct kheartbeat_req *q = rq->body;
    struct kheartbeat_resp r = {0};
    struct cgroup *g = gc->shutting ? NULL : group_find(gc, q->group_id);
    if (!g) {
        r.error_code = gc->shutting ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_UNKNOWN_MEMBER_ID;
    } else {
        r.error_code = (int16_t)gsm_heartbeat(&g->sm, q->generation_id, gb(q->member_id),
                                              ginst(q->group_instance_id), loop_now(gc));
        flush_outputs(gc, g);
    }
    broker_reply(rq, &r);
}

static void h_leave_group(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct kleavegroup_req *q = rq->body;
    struct kleavegroup_resp r = {0};
    struct cgroup *g = group_find(gc, q->group_id);
    if (rq->hdr.api_version < 3) {
        if (!g)
            r.error_code = KERR_UNKNOWN_MEMBER_ID;
        else
            r.error_code =
                (int16_t)gsm_leave(&g->sm, gb(q->member_id), (struct gsm_bytes){0}, loop_now(gc));
    } else {
        int32_t n = q->nmembers > 0 ? q->nmembers : 0;
        r.members = karena_alloc(&rq->arena, (size_t)(n ? n : 1) * sizeof *r.members);
        if (!r.members) {
            r.error_code = KERR_UNKNOWN_SERVER_ERROR;
            broker_reply(rq, &r);
            return;
        }
        r.nmembers = n;
        for (int32_t i = 0; i < n; i++) {
            struct kleavegroup_member_resp *m = &r.members[i];
            m->member_id = q->members[i].member_id;
            m->group_instance_id = q->members[i].group_instance_id;
            m->error_code =
                g ? (int16_t)gsm_leave(&g->sm, gb(q->members[i].member_id),
                                       ginst(q->members[i].group_instance_id), loop_now(gc))
                  : KERR_UNKNOWN_MEMBER_ID;
            if (g)
                flush_outputs(gc, g);
        }
    }
    if (g) {
        flush_outputs(gc, g);
        PLG_INFO("group", "msg=\"member left\" group=%s state=%s members=%zu", g->id,
                 gsm_state_name(g->sm.state), gsm_member_count(&g->sm));
        group_gc(gc, g);
    }
    broker_reply(rq, &r);
}

/* ---- offsets: persistence ---- */

/* Appends tombstones or commits as one batch; acks as broker_append. */
struct commit_ctx {
    struct group_coord *gc;
    struct broker_req *rq;
    struct koffsetcommit_resp resp;
    int64_t ts;
};

static int build_batch(const char *group, const struct koffsetcommit_req *q,
                       const struct koffsetcommit_resp *resp, int64_t ts, uint8_t **out,
                       size_t *len, int32_t *count)
{
    struct batch_builder bb;
    batch_builder_init(&bb, 0, ts);
    struct buf k, v;
    buf_init(&k);
    buf_init(&v);
    int rc = 0;
    *count = 0;
    for (int32_t t = 0; t < q->ntopics && !rc; t++) {
        const struct koffsetcommit_topic *qt = &q->topics[t];
        for (int32_t p = 0; p < qt->npartitions && !rc; p++) {
            if (resp->topics[t].partitions[p].error_code)
                continue;
            const struct koffsetcommit_partition *qp = &qt->partitions[p];
            buf_reset(&k);
            buf_reset(&v);
            goff_key_encode(&k, group, strlen(group), qt->name.p, (size_t)qt->name.len,
                            qp->partition_index);
            goff_value_encode(&v, qp->committed_offset, qp->committed_leader_epoch,
                              qp->committed_metadata.p, qp->committed_metadata.len, ts);
            if (k.oom || v.oom)
                rc = PLG_ENOMEM;
            else
                rc = batch_builder_add(&bb, ts, k.data, (int32_t)k.len, v.data, (int32_t)v.len,
                                       NULL, 0);
            (*count)++;
        }
    }
    if (!rc && *count)
        rc = batch_builder_finish(&bb, -1, out, len);
    batch_builder_destroy(&bb);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

static void commit_done(struct commit_ctx *c, int16_t err)
{
    const struct koffsetcommit_req *q = c->rq->body;
    struct cgroup *g = group_find(c->gc, q->group_id);
    if (!err && !g)
        g = group_create(c->gc, q->group_id);
    for (int32_t t = 0; t < q->ntopics; t++) {
        const struct koffsetcommit_topic *qt = &q->topics[t];
        for (int32_t p = 0; p < qt->npartitions; p++) {
            int16_t *e = &c->resp.topics[t].partitions[p].error_code;
            if (*e)
                continue;
            if (err || !g) {
                *e = err ? err : KERR_COORDINATOR_NOT_AVAILABLE;
                continue;
            }
            const struct koffsetcommit_partition *qp = &qt->partitions[p];
            if (goff_set(&g->offs, qt->name.p, (size_t)qt->name.len, qp->partition_index,
                         qp->committed_offset, qp->committed_leader_epoch, qp->committed_metadata.p,
                         qp->committed_metadata.len, c->ts))
                *e = KERR_UNKNOWN_SERVER_ERROR;
        }
    }
    broker_reply(c->rq, &c->resp);
    free(c);
}

static void on_commit_appended(void *ctx, const struct broker_append_result *r)
{
    /* The offsets log refused the write (full disk, I/O error): KAFKA_STORAGE_ERROR is no
     * OffsetCommit error to clients (librdkafka would fail the commit for good). Kafka's group
     * coordinator answers NOT_COORDINATOR for it; librdkafka and the Java client then look the
     * coordinator up again and retry the commit, which works once the disk takes writes (it
     * treats COORDINATOR_NOT_AVAILABLE the same way; Kafka keeps that one for a missing offsets
     * topic). */
    commit_done(ctx, r->err == KERR_KAFKA_STORAGE_ERROR ? KERR_NOT_COORDINATOR : r->err);
}

static void on_tombstones_appended(void *ctx, const struct broker_append_result *r)
{
    if (r->err)
        PLG_WARN("group", "msg=\"offset tombstones not written\" group=%s kafka_error=%d",
                 (const char *)ctx, r->err);
}

/* Builds the per-partition answer skeleton with `err` everywhere (0: still to commit). */
static int commit_resp_init(struct broker_req *rq, const struct koffsetcommit_req *q, int16_t err,
                            struct koffsetcommit_resp *r)
{
    memset(r, 0, sizeof *r);
    int32_t nt = q->ntopics > 0 ? q->ntopics : 0;
    r->topics = karena_alloc(&rq->arena, (size_t)(nt ? nt : 1) * sizeof *r->topics);
    if (!r->topics)
        return PLG_ENOMEM;
    r->ntopics = nt;
    for (int32_t t = 0; t < nt; t++) {
        int32_t np = q->topics[t].npartitions > 0 ? q->topics[t].npartitions : 0;
        r->topics[t].name = q->topics[t].name;
        r->topics[t].partitions =
            karena_alloc(&rq->arena, (size_t)(np ? np : 1) * sizeof *r->topics[t].partitions);
        if (!r->topics[t].partitions)
            return PLG_ENOMEM;
        r->topics[t].npartitions = np;
        for (int32_t p = 0; p < np; p++) {
            r->topics[t].partitions[p].partition_index = q->topics[t].partitions[p].partition_index;
            r->topics[t].partitions[p].error_code = err;
        }
    }
    return 0;
}

static void h_offset_commit(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct koffsetcommit_req *q = rq->body;
    int16_t err = 0;
    struct cgroup *g = group_find(gc, q->group_id);
    if (gc->shutting)
        err = KERR_COORDINATOR_NOT_AVAILABLE;
    else if (q->group_id.len <= 0)
        err = KERR_INVALID_GROUP_ID;
    else if (!g)
        err = q->generation_id < 0 ? 0 : KERR_ILLEGAL_GENERATION;
    else
        err = (int16_t)gsm_check_commit(&g->sm, q->generation_id, gb(q->member_id),
                                        ginst(q->group_instance_id));
    if (err)
        PLG_INFO("group",
                 "msg=\"offset commit refused\" group=%.*s generation=%d member=%.*s "
                 "kafka_error=%d state=%s",
                 (int)(q->group_id.len > 0 ? q->group_id.len : 0), q->group_id.p, q->generation_id,
                 (int)(q->member_id.len > 0 ? q->member_id.len : 0), q->member_id.p, err,
                 g ? gsm_state_name(g->sm.state) : "-");
    else
        PLG_DEBUG("group", "msg=\"offset commit\" group=%.*s generation=%d topics=%d",
                  (int)(q->group_id.len > 0 ? q->group_id.len : 0), q->group_id.p, q->generation_id,
                  q->ntopics);
    struct commit_ctx *c = calloc(1, sizeof *c);
    if (!c || commit_resp_init(rq, q, err, &c->resp)) {
        free(c);
        struct koffsetcommit_resp empty = {0};
        broker_reply(rq, &empty);
        return;
    }
    c->gc = gc;
    c->rq = rq;
    c->ts = wall_ms();
    if (!err) {
        char name[256]; /* topic names are at most 249 bytes */
        for (int32_t t = 0; t < q->ntopics; t++) {
            struct broker_topic_info ti;
            int32_t n = q->topics[t].name.len;
            bool known = n > 0 && n < 250 && !memchr(q->topics[t].name.p, 0, (size_t)n);
            if (known) {
                memcpy(name, q->topics[t].name.p, (size_t)n);
                name[n] = 0;
                known = !broker_topic_get(rq->b, name, &ti);
            }
            for (int32_t p = 0; p < q->topics[t].npartitions; p++) {
                const struct koffsetcommit_partition *qp = &q->topics[t].partitions[p];
                int16_t *e = &c->resp.topics[t].partitions[p].error_code;
                if (!known || qp->partition_index < 0 || qp->partition_index >= ti.partitions)
                    *e = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                else if (qp->committed_metadata.len > OFFSET_METADATA_MAX)
                    *e = KERR_OFFSET_METADATA_TOO_LARGE;
            }
        }
    }
    uint8_t *batch = NULL;
    size_t len = 0;
    int32_t count = 0;
    int rc = 0;
    if (!err) {
        /* A simple commit (generation -1) may name a group that does not exist yet. */
        char *gid = strndup(q->group_id.p, (size_t)q->group_id.len);
        rc = gid ? build_batch(gid, q, &c->resp, c->ts, &batch, &len, &count) : PLG_ENOMEM;
        free(gid);
    }
    if (err || rc || count == 0) {
        commit_done(c, rc ? KERR_UNKNOWN_SERVER_ERROR : 0);
        return;
    }
    rc = broker_append(rq->b, GROUP_OFFSETS_TOPIC, 0, batch, len, gc->commit_acks,
                       on_commit_appended, c);
    free(batch);
    if (rc) {
        PLG_WARN("group", "msg=\"offset commit append failed\" err=\"%s\"", plg_strerror(rc));
        commit_done(c, KERR_COORDINATOR_NOT_AVAILABLE);
    }
}

/* Appends tombstones for (topic, partition) pairs of group g and drops them from its table. */
static int write_tombstones(struct group_coord *gc, struct cgroup *g, const char *const *topics,
                            const int32_t *parts, size_t n)
{
    if (!n)
        return 0;
    int64_t ts = wall_ms();
    struct batch_builder bb;
    batch_builder_init(&bb, 0, ts);
    struct buf k;
    buf_init(&k);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        buf_reset(&k);
        goff_key_encode(&k, g->id, strlen(g->id), topics[i], strlen(topics[i]), parts[i]);
        rc = k.oom ? PLG_ENOMEM
                   : batch_builder_add(&bb, ts, k.data, (int32_t)k.len, NULL, -1, NULL, 0);
    }
    uint8_t *batch = NULL;
    size_t len = 0;
    if (!rc)
        rc = batch_builder_finish(&bb, -1, &batch, &len);
    batch_builder_destroy(&bb);
    buf_free(&k);
    if (!rc) {
        rc = broker_append(gc->b, GROUP_OFFSETS_TOPIC, 0, batch, len, 1, on_tombstones_appended,
                           g->id);
        free(batch);
    }
    for (size_t i = 0; i < n && !rc; i++)
        goff_del(&g->offs, topics[i], strlen(topics[i]), parts[i]);
    return rc;
}

/* ---- OffsetFetch ---- */

static int fill_fetch_topic(struct broker_req *rq, struct cgroup *g, struct kstr name,
                            const int32_t *parts, int32_t nparts, struct koffsetfetch_topic_resp *t)
{
    t->name = name;
    t->partitions = karena_alloc(&rq->arena, (size_t)(nparts ? nparts : 1) * sizeof *t->partitions);
    if (!t->partitions)
        return PLG_ENOMEM;
    t->npartitions = nparts;
    for (int32_t p = 0; p < nparts; p++) {
        struct koffsetfetch_partition *rp = &t->partitions[p];
        const struct goff_entry *e =
            g ? goff_get(&g->offs, name.p, (size_t)(name.len > 0 ? name.len : 0), parts[p]) : NULL;
        rp->partition_index = parts[p];
        rp->committed_offset = e ? e->offset : -1;
        rp->committed_leader_epoch = e ? e->leader_epoch : -1;
        rp->metadata = e && e->metadata ? kstr_z(e->metadata) : kz(NULL);
        rp->error_code = 0;
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct goff_entry *x = *(const struct goff_entry *const *)a;
    const struct goff_entry *y = *(const struct goff_entry *const *)b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static void h_offset_fetch(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct koffsetfetch_req *q = rq->body;
    struct koffsetfetch_resp r = {0};
    struct cgroup *g = group_find(gc, q->group_id);
    int rc = 0;
    if (q->ntopics >= 0) {
        r.topics =
            karena_alloc(&rq->arena, (size_t)(q->ntopics ? q->ntopics : 1) * sizeof *r.topics);
        rc = r.topics ? 0 : PLG_ENOMEM;
        for (int32_t t = 0; t < q->ntopics && !rc; t++)
            rc = fill_fetch_topic(rq, g, q->topics[t].name, q->topics[t].partition_indexes,
                                  q->topics[t].npartition_indexes, &r.topics[t]);
        r.ntopics = q->ntopics;
    } else if (g && goff_count(&g->offs)) {
        /* Every committed offset of the group, grouped by topic. */
        size_t n = goff_count(&g->offs);
        const struct goff_entry **es = karena_alloc(&rq->arena, n * sizeof *es);
        int32_t *parts = karena_alloc(&rq->arena, n * sizeof *parts);
        r.topics = karena_alloc(&rq->arena, n * sizeof *r.topics);
        rc = es && parts && r.topics ? 0 : PLG_ENOMEM;
        if (!rc) {
            for (size_t i = 0; i < n; i++)
                es[i] = &g->offs.e[i];
            qsort(es, n, sizeof *es, cmp_entry);
            for (size_t i = 0; i < n; i++)
                parts[i] = es[i]->partition;
        }
        for (size_t i = 0; i < n && !rc;) {
            size_t j = i;
            while (j < n && !strcmp(es[j]->topic, es[i]->topic))
                j++;
            rc = fill_fetch_topic(rq, g, kstr_z(es[i]->topic), parts + i, (int32_t)(j - i),
                                  &r.topics[r.ntopics++]);
            i = j;
        }
    }
    if (rc) {
        r.ntopics = 0;
        r.error_code = KERR_UNKNOWN_SERVER_ERROR;
    }
    broker_reply(rq, &r);
}

/* ---- admin: DescribeGroups, ListGroups, DeleteGroups, OffsetDelete ---- */

static void describe_one(struct broker_req *rq, struct cgroup *g, struct kstr id,
                         struct kdescribegroups_group *d)
{
    d->group_id = id;
    d->authorized_operations = INT32_MIN;
    d->protocol_type = kz(NULL);
    d->protocol_data = kz(NULL);
    if (!g) {
        d->group_state = kstr_z("Dead");
        return;
    }
    bool stable = g->sm.state == GSM_STABLE;
    d->group_state = kstr_z(gsm_state_name(g->sm.state));
    d->protocol_type = kz(g->sm.protocol_type);
    d->protocol_data = kz(stable ? g->sm.protocol_name : NULL);
    size_t n = gsm_member_count(&g->sm);
    d->members = karena_alloc(&rq->arena, (n ? n : 1) * sizeof *d->members);
    if (!d->members) {
        d->error_code = KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    d->nmembers = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        struct gsm_member_view v;
        gsm_member_at(&g->sm, i, &v);
        struct kdescribegroups_member *m = &d->members[i];
        m->member_id = kz(v.member_id);
        m->group_instance_id = v.instance_id ? kstr_z(v.instance_id) : kstr_z(NULL);
        m->client_id = kz(v.client_id);
        m->client_host = kz(v.client_host);
        m->member_metadata =
            (struct kbytes){stable && v.metadata ? v.metadata : (const uint8_t *)"",
                            stable ? (int32_t)v.metadata_len : 0};
        m->member_assignment =
            (struct kbytes){stable && v.assignment ? v.assignment : (const uint8_t *)"",
                            stable ? (int32_t)v.assignment_len : 0};
    }
}

static void h_describe_groups(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct kdescribegroups_req *q = rq->body;
    struct kdescribegroups_resp r = {0};
    int32_t n = q->ngroups > 0 ? q->ngroups : 0;
    r.groups = karena_alloc(&rq->arena, (size_t)(n ? n : 1) * sizeof *r.groups);
    if (r.groups) {
        r.ngroups = n;
        for (int32_t i = 0; i < n; i++)
            describe_one(rq, group_find(gc, q->groups[i]), q->groups[i], &r.groups[i]);
    }
    broker_reply(rq, &r);
}

static void h_list_groups(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct klistgroups_req *q = rq->body;
    struct klistgroups_resp r = {0};
    r.groups = karena_alloc(&rq->arena, (size_t)(gc->ngroups ? gc->ngroups : 1) * sizeof *r.groups);
    if (!r.groups) {
        r.error_code = KERR_UNKNOWN_SERVER_ERROR;
        broker_reply(rq, &r);
        return;
    }
    for (int32_t i = 0; i < gc->ngroups; i++) {
        struct cgroup *g = gc->groups[i];
        const char *state = gsm_state_name(g->sm.state);
        bool match = q->nstates_filter <= 0;
        for (int32_t s = 0; s < q->nstates_filter && !match; s++)
            match = (size_t)q->states_filter[s].len == strlen(state) &&
                    !strncasecmp(q->states_filter[s].p, state, strlen(state));
        if (!match)
            continue;
        struct klistgroups_group *lg = &r.groups[r.ngroups++];
        lg->group_id = kstr_z(g->id);
        lg->protocol_type = kz(g->sm.protocol_type ? g->sm.protocol_type : "consumer");
        lg->group_state = kstr_z(state);
    }
    broker_reply(rq, &r);
}

/* Tombstones every committed offset of g. */
static int drop_all_offsets(struct group_coord *gc, struct cgroup *g)
{
    size_t n = goff_count(&g->offs);
    if (!n)
        return 0;
    const char **topics = malloc(n * sizeof *topics);
    int32_t *parts = malloc(n * sizeof *parts);
    char **copies = calloc(n, sizeof *copies);
    int rc = topics && parts && copies ? 0 : PLG_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        copies[i] = strdup(g->offs.e[i].topic);
        topics[i] = copies[i];
        parts[i] = g->offs.e[i].partition;
        if (!copies[i])
            rc = PLG_ENOMEM;
    }
    if (!rc)
        rc = write_tombstones(gc, g, topics, parts, n);
    for (size_t i = 0; copies && i < n; i++)
        free(copies[i]);
    free(copies);
    free(topics);
    free(parts);
    return rc;
}

static void h_delete_groups(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct kdeletegroups_req *q = rq->body;
    struct kdeletegroups_resp r = {0};
    int32_t n = q->ngroups_names > 0 ? q->ngroups_names : 0;
    r.results = karena_alloc(&rq->arena, (size_t)(n ? n : 1) * sizeof *r.results);
    if (r.results) {
        r.nresults = n;
        for (int32_t i = 0; i < n; i++) {
            struct kdeletegroups_result *res = &r.results[i];
            res->group_id = q->groups_names[i];
            struct cgroup *g = group_find(gc, q->groups_names[i]);
            if (!g) {
                res->error_code = KERR_GROUP_ID_NOT_FOUND;
                continue;
            }
            if (g->sm.state != GSM_EMPTY) {
                res->error_code = KERR_NON_EMPTY_GROUP;
                continue;
            }
            if (drop_all_offsets(gc, g)) {
                res->error_code = KERR_COORDINATOR_NOT_AVAILABLE;
                continue;
            }
            gsm_delete(&g->sm);
            PLG_INFO("group", "msg=\"group deleted\" group=%s", g->id);
            group_gc(gc, g);
        }
    }
    broker_reply(rq, &r);
}

static void h_offset_delete(struct broker_req *rq)
{
    struct group_coord *gc = coord_of(rq);
    const struct koffsetdelete_req *q = rq->body;
    struct koffsetdelete_resp r = {0};
    struct cgroup *g = group_find(gc, q->group_id);
    if (!g) {
        r.error_code = KERR_GROUP_ID_NOT_FOUND;
        broker_reply(rq, &r);
        return;
    }
    int32_t nt = q->ntopics > 0 ? q->ntopics : 0;
    r.topics = karena_alloc(&rq->arena, (size_t)(nt ? nt : 1) * sizeof *r.topics);
    if (!r.topics) {
        r.error_code = KERR_UNKNOWN_SERVER_ERROR;
        broker_reply(rq, &r);
        return;
    }
    r.ntopics = nt;
    bool active = g->sm.state != GSM_EMPTY;
    for (int32_t t = 0; t < nt; t++) {
        const struct koffsetdelete_topic *qt = &q->topics[t];
        int32_t np = qt->npartitions > 0 ? qt->npartitions : 0;
        struct kgroup_topic_errors *rt = &r.topics[t];
        rt->name = qt->name;
        rt->partitions = karena_alloc(&rq->arena, (size_t)(np ? np : 1) * sizeof *rt->partitions);
        if (!rt->partitions) {
            r.error_code = KERR_UNKNOWN_SERVER_ERROR;
            rt->npartitions = 0;
            continue;
        }
        rt->npartitions = np;
        char *name = strndup(qt->name.p ? qt->name.p : "", qt->name.len > 0 ? qt->name.len : 0);
        for (int32_t p = 0; p < np; p++) {
            rt->partitions[p].partition_index = qt->partitions[p];
            if (active) {
                /* Pyralog does not parse subscriptions: an active group keeps its offsets. */
                rt->partitions[p].error_code = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
                continue;
            }
            if (!name || !goff_get(&g->offs, name, strlen(name), qt->partitions[p]))
                continue;
            const char *tn = name;
            if (write_tombstones(gc, g, &tn, &qt->partitions[p], 1))
                rt->partitions[p].error_code = KERR_COORDINATOR_NOT_AVAILABLE;
        }
        free(name);
    }
    broker_reply(rq, &r);
    group_gc(gc, g);
}

/* ---- load on open ---- */

static int apply_record(struct group_coord *gc, const struct batch_record *rec)
{
    struct goff_record r;
    int rc = goff_record_decode(rec->key, rec->key_len > 0 ? (size_t)rec->key_len : 0, rec->value,
                                rec->value_len > 0 ? (size_t)rec->value_len : 0,
                                rec->value_len >= 0, &r);
    if (rc == PLG_EUNSUPP)
        return 0;
    if (rc)
        return rc;
    struct kstr gid = {r.group, (int32_t)r.group_len};
    struct cgroup *g = group_find(gc, gid);
    if (r.tombstone) {
        if (g) {
            goff_del(&g->offs, r.topic, r.topic_len, r.partition);
            group_gc(gc, g);
        }
        return 0;
    }
    if (!g && !(g = group_create(gc, gid)))
        return 0; /* an unusable group id in the log: skip the record */
    return goff_set(&g->offs, r.topic, r.topic_len, r.partition, r.offset, r.leader_epoch,
                    r.metadata, r.metadata_len, r.commit_ts_ms);
}

static int load_offsets(struct group_coord *gc)
{
    int64_t start, end;
    int rc = broker_partition_offsets(gc->b, GROUP_OFFSETS_TOPIC, 0, &start, &end);
    if (rc)
        return rc;
    int64_t off = start, records = 0;
    while (off < end) {
        uint8_t *data = NULL;
        size_t len = 0;
        int64_t next = off;
        rc = broker_read(gc->b, GROUP_OFFSETS_TOPIC, 0, off, 1 << 20, &data, &len, &next);
        if (rc || !len) {
            free(data);
            break;
        }
        size_t pos = 0;
        while (!rc && pos < len) {
            size_t size;
            struct batch bt;
            if (batch_frame_size(data + pos, len - pos, &size) || size > len - pos ||
                batch_parse(data + pos, size, &bt))
                break;
            const uint8_t *recs;
            size_t rlen;
            if (!batch_is_control(&bt) &&
                !batch_records(&bt, &gc->scratch, BATCH_MAX_RECORDS_BYTES, &recs, &rlen)) {
                struct batch_iter it;
                struct batch_record rec;
                batch_iter_init(&it, &bt, recs, rlen);
                while (batch_iter_next(&it, &rec) == 1)
                    if (rec.offset >= off) {
                        rc = apply_record(gc, &rec);
                        records++;
                        if (rc)
                            break;
                    }
            }
            pos += size;
        }
        free(data);
        if (next <= off)
            break;
        off = next;
    }
    PLG_INFO("group", "msg=\"offsets loaded\" topic=%s records=%lld groups=%d", GROUP_OFFSETS_TOPIC,
             (long long)records, gc->ngroups);
    return rc;
}

/*
 * Compacts the sealed segments of __consumer_offsets (last commit per group/topic/partition,
 * old tombstones dropped): the rewrite runs on a worker thread (broker_compact_partition), the
 * loop only installs the result, and on_compacted reports it. Only when something is sealed.
 */
static void on_compacted(void *ctx, int rc, int64_t removed, int64_t before, int64_t after)
{
    struct group_coord *gc = ctx;
    if (rc) {
        PLG_WARN("group", "msg=\"offsets compaction failed\" topic=%s err=\"%s\"",
                 GROUP_OFFSETS_TOPIC, plg_strerror(rc));
        return;
    }
    if (removed) {
        gc->compacted_removed += removed;
        PLG_INFO("group",
                 "msg=\"offsets compacted\" topic=%s removed=%lld bytes_before=%lld "
                 "bytes_after=%lld",
                 GROUP_OFFSETS_TOPIC, (long long)removed, (long long)before, (long long)after);
    }
}

static void on_compact_timer(uv_timer_t *t)
{
    struct group_coord *gc = t->data;
    plg_log_t *log = broker_partition_log(gc->b, GROUP_OFFSETS_TOPIC, 0);
    if (!log || plg_log_segment_count(log) < 2)
        return;
    int rc = broker_compact_partition(gc->b, GROUP_OFFSETS_TOPIC, 0, on_compacted, gc);
    if (rc && rc != PLG_ESTATE) /* ESTATE: the previous pass is still running */
        PLG_WARN("group", "msg=\"offsets compaction failed\" topic=%s err=\"%s\"",
                 GROUP_OFFSETS_TOPIC, plg_strerror(rc));
}

/* ---- lifecycle ---- */

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

int group_coord_open(struct broker *b, const struct group_coord_opts *o, struct group_coord **out)
{
    struct group_coord *gc = calloc(1, sizeof *gc);
    if (!gc)
        return PLG_ENOMEM;
    gc->b = b;
    gsm_config_default(&gc->cfg);
    gc->commit_acks = o && o->commit_acks == -1 ? -1 : 1;
    if (o && o->min_session_timeout_ms > 0)
        gc->cfg.min_session_timeout_ms = o->min_session_timeout_ms;
    if (o && o->max_session_timeout_ms > 0)
        gc->cfg.max_session_timeout_ms = o->max_session_timeout_ms;
    if (o && o->initial_rebalance_delay_ms > 0)
        gc->cfg.initial_rebalance_delay_ms = o->initial_rebalance_delay_ms;
    buf_init(&gc->scratch);
    char segbytes[24];
    snprintf(
        segbytes, sizeof segbytes, "%lld",
        (long long)(o && o->offsets_segment_bytes > 0 ? o->offsets_segment_bytes : 100LL << 20));
    const char *const cfg[] = {"cleanup.policy", "compact", "segment.bytes", segbytes, NULL};
    gc->compact_interval_ms = o && o->compact_interval_ms > 0 ? o->compact_interval_ms : 60000;
    char why[128] = "";
    struct broker_topic_info ti;
    int rc = 0;
    if (broker_topic_get(b, GROUP_OFFSETS_TOPIC, &ti))
        rc = broker_topic_create(b, GROUP_OFFSETS_TOPIC, 1, cfg, why, sizeof why);
    if (!rc)
        rc = load_offsets(gc);
    if (rc) {
        PLG_ERROR("group", "msg=\"cannot open offsets topic\" topic=%s err=\"%s\" why=\"%s\"",
                  GROUP_OFFSETS_TOPIC, plg_strerror(rc), why);
        group_coord_free(gc);
        return rc;
    }
    gc->timer = malloc(sizeof *gc->timer);
    if (!gc->timer) {
        group_coord_free(gc);
        return PLG_ENOMEM;
    }
    uv_timer_init(broker_loop(b), gc->timer);
    gc->timer->data = gc;
    gc->compact = malloc(sizeof *gc->compact);
    if (!gc->compact) {
        group_coord_free(gc);
        return PLG_ENOMEM;
    }
    uv_timer_init(broker_loop(b), gc->compact);
    gc->compact->data = gc;
    uv_timer_start(gc->compact, on_compact_timer, (uint64_t)gc->compact_interval_ms,
                   (uint64_t)gc->compact_interval_ms);
    broker_register_api(b, KAPI_FIND_COORDINATOR, h_find_coordinator);
    broker_register_api(b, KAPI_JOIN_GROUP, h_join_group);
    broker_register_api(b, KAPI_SYNC_GROUP, h_sync_group);
    broker_register_api(b, KAPI_HEARTBEAT, h_heartbeat);
    broker_register_api(b, KAPI_LEAVE_GROUP, h_leave_group);
    broker_register_api(b, KAPI_OFFSET_COMMIT, h_offset_commit);
    broker_register_api(b, KAPI_OFFSET_FETCH, h_offset_fetch);
    broker_register_api(b, KAPI_DESCRIBE_GROUPS, h_describe_groups);
    broker_register_api(b, KAPI_LIST_GROUPS, h_list_groups);
    broker_register_api(b, KAPI_DELETE_GROUPS, h_delete_groups);
    broker_register_api(b, KAPI_OFFSET_DELETE, h_offset_delete);
    *out = gc;
    return 0;
}

void group_coord_shutdown(struct group_coord *gc)
{
    if (!gc || gc->shutting)
        return;
    gc->shutting = true;
    while (gc->nparked) {
        struct broker_req *rq = gc->parked[--gc->nparked];
        if (rq->hdr.api_key == KAPI_JOIN_GROUP)
            reply_join_error(rq, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
        else
            reply_sync_error(rq, KERR_COORDINATOR_NOT_AVAILABLE);
    }
    uv_timer_t **ts[] = {&gc->timer, &gc->compact};
    for (size_t i = 0; i < 2; i++)
        if (*ts[i]) {
            uv_timer_stop(*ts[i]);
            uv_close((uv_handle_t *)*ts[i], on_timer_closed);
            *ts[i] = NULL;
        }
}

void group_coord_free(struct group_coord *gc)
{
    if (!gc)
        return;
    group_coord_shutdown(gc);
    for (int32_t i = 0; i < gc->ngroups; i++)
        group_free(gc->groups[i]);
    free(gc->groups);
    free(gc->parked);
    buf_free(&gc->scratch);
    free(gc);
}

int32_t group_coord_group_count(const struct group_coord *gc)
{
    return gc->ngroups;
}
