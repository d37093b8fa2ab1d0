/*
 * group_sm.c — the classic group membership protocol (see group_sm.h for the contract).
 *
 * The rules follow Apache Kafka's GroupCoordinator: a join by a new or changed member (or the
 * leader) starts a rebalance; the join phase ends when every known member has re-joined and no
 * member id handed out with MEMBER_ID_REQUIRED is still outstanding, or when the largest
 * rebalance timeout passes (members that did not re-join are dropped then); the generation is
 * bumped, one member is the leader (the old one if it stayed) and only it receives the member
 * list; the leader's SyncGroup carries every member's assignment. Members waiting in a JoinGroup
 * or SyncGroup are kept alive; others must heartbeat within their session timeout.
 */
#include "broker/group_sm.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyralog/pyralog.h"

#define GSM_MAX_PROTOCOLS 64

struct gsm_proto {
    char *name;
    uint8_t *meta;
    size_t meta_len;
};

struct gsm_member {
    char *id;
    char *instance_id; /* NULL: dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_ms;
    int32_t rebalance_ms;
    struct gsm_proto *protos;
    size_t n_protos;
    bool awaiting_join;
    uint64_t join_token;
    bool awaiting_sync;
    uint64_t sync_token;
    uint8_t *assignment;
    size_t assignment_len;
    int64_t hb_deadline;
};

struct gsm_pending {
    char *id;
    int64_t deadline;
};

void gsm_config_default(struct gsm_config *c)
{
    c->min_session_timeout_ms = 6000;
    c->max_session_timeout_ms = 1800000;
    c->initial_rebalance_delay_ms = 0;
    c->max_members = 1000;
    c->max_metadata_bytes = 1 << 20;
}

const char *gsm_state_name(enum gsm_state s)
{
    switch (s) {
    case GSM_EMPTY:
        return "Empty";
    case GSM_PREPARING:
        return "PreparingRebalance";
    case GSM_COMPLETING:
        return "CompletingRebalance";
    case GSM_STABLE:
        return "Stable";
    case GSM_DEAD:
        return "Dead";
    }
    return "Unknown";
}

static char *dup_bytes(struct gsm_bytes b)
{
    char *s = malloc(b.len + 1);
    if (!s)
        return NULL;
    if (b.len)
        memcpy(s, b.p, b.len);
    s[b.len] = 0;
    return s;
}

static bool bytes_eq(struct gsm_bytes b, const char *s)
{
    return s && strlen(s) == b.len && (b.len == 0 || memcmp(b.p, s, b.len) == 0);
}

static void member_free_protos(struct gsm_member *m)
{
    for (size_t i = 0; i < m->n_protos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    m->protos = NULL;
    m->n_protos = 0;
}

static void member_free(struct gsm_member *m)
{
    if (!m)
        return;
    member_free_protos(m);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

/* Frees the members removed by the previous call; called at the start of every entry point. */
static void begin_call(struct gsm_group *g)
{
    for (size_t i = 0; i < g->n_graveyard; i++)
        member_free(g->graveyard[i]);
    g->n_graveyard = 0;
    g->n_out = 0;
}

int gsm_init(struct gsm_group *g, const char *group_id, const struct gsm_config *cfg)
{
    memset(g, 0, sizeof *g);
    if (!group_id || !*group_id)
        return PLG_EINVAL;
    g->group_id = strdup(group_id);
    if (!g->group_id)
        return PLG_ENOMEM;
    if (cfg)
        g->cfg = *cfg;
    else
        gsm_config_default(&g->cfg);
    g->state = GSM_EMPTY;
    return 0;
}

void gsm_destroy(struct gsm_group *g)
{
    begin_call(g);
    free(g->graveyard);
    for (size_t i = 0; i < g->n_members; i++)
        member_free(g->members[i]);
    free(g->members);
    for (size_t i = 0; i < g->n_pending; i++)
        free(g->pending[i].id);
    free(g->pending);
    free(g->out);
    free(g->group_id);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    memset(g, 0, sizeof *g);
}

static struct gsm_out *out_add(struct gsm_group *g, enum gsm_out_kind kind, uint64_t token,
                               int16_t error)
{
    if (g->n_out == g->cap_out) {
        size_t cap = g->cap_out ? g->cap_out * 2 : 8;
        struct gsm_out *o = realloc(g->out, cap * sizeof *o);
        if (!o) {
            g->oom = true;
            return NULL;
        }
        g->out = o;
        g->cap_out = cap;
    }
    struct gsm_out *o = &g->out[g->n_out++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->token = token;
    o->error = error;
    o->generation = g->generation;
    return o;
}

static struct gsm_member *find_member(const struct gsm_group *g, struct gsm_bytes id, size_t *idx)
{
    if (id.len == 0)
        return NULL;
    for (size_t i = 0; i < g->n_members; i++)
        if (bytes_eq(id, g->members[i]->id)) {
            if (idx)
                *idx = i;
            return g->members[i];
        }
    return NULL;
}

static struct gsm_member *find_instance(const struct gsm_group *g, struct gsm_bytes inst)
{
    if (!inst.p)
        return NULL;
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i]->instance_id && bytes_eq(inst, g->members[i]->instance_id))
            return g->members[i];
    return NULL;
}

/* FENCED_INSTANCE_ID when a static member's instance id is owned by another member id. */
static bool instance_fenced(const struct gsm_group *g, struct gsm_bytes member_id,
                            struct gsm_bytes inst)
{
    const struct gsm_member *m = find_instance(g, inst);
    return m && !bytes_eq(member_id, m->id);
}

static bool is_leader(const struct gsm_group *g, const struct gsm_member *m)
{
    return g->leader_id && !strcmp(g->leader_id, m->id);
}

/* Moves member idx out of the group; answers its parked requests with `err`. */
static void remove_member(struct gsm_group *g, size_t idx, int16_t err)
{
    struct gsm_member *m = g->members[idx];
    if (m->awaiting_join) {
        struct gsm_out *o = out_add(g, GSM_OUT_JOIN, m->join_token, err);
        if (o)
            o->member_id = m->id;
    }
    if (m->awaiting_sync)
        out_add(g, GSM_OUT_SYNC, m->sync_token, err);
    memmove(&g->members[idx], &g->members[idx + 1], (g->n_members - idx - 1) * sizeof m);
    g->n_members--;
    if (g->n_graveyard == g->cap_graveyard) {
        size_t cap = g->cap_graveyard ? g->cap_graveyard * 2 : 8;
        struct gsm_member **gy = realloc(g->graveyard, cap * sizeof *gy);
        if (!gy) {
            /* Cannot defer: outputs for this member must not reference its strings. */
            g->oom = true;
            for (size_t i = 0; i < g->n_out; i++)
                if (g->out[i].member_id == m->id)
                    g->out[i].member_id = NULL;
            member_free(m);
            return;
        }
        g->graveyard = gy;
        g->cap_graveyard = cap;
    }
    g->graveyard[g->n_graveyard++] = m;
    if (g->leader_id && !strcmp(g->leader_id, m->id)) {
        free(g->leader_id);
        g->leader_id = NULL;
    }
}

static int set_protocols(struct gsm_member *m, const struct gsm_join_req *req)
{
    struct gsm_proto *p = calloc(req->n_protocols ? req->n_protocols : 1, sizeof *p);
    if (!p)
        return PLG_ENOMEM;
    for (size_t i = 0; i < req->n_protocols; i++) {
        p[i].name = dup_bytes(req->protocols[i].name);
        p[i].meta = malloc(req->protocols[i].metadata.len ? req->protocols[i].metadata.len : 1);
        if (!p[i].name || !p[i].meta) {
            for (size_t j = 0; j <= i; j++) {
                free(p[j].name);
                free(p[j].meta);
            }
            free(p);
            return PLG_ENOMEM;
        }
        if (req->protocols[i].metadata.len)
            memcpy(p[i].meta, req->protocols[i].metadata.p, req->protocols[i].metadata.len);
        p[i].meta_len = req->protocols[i].metadata.len;
    }
    member_free_protos(m);
    m->protos = p;
    m->n_protos = req->n_protocols;
    m->session_ms = req->session_timeout_ms;
    m->rebalance_ms = req->rebalance_timeout_ms;
    return 0;
}

/* Same protocol names and metadata, in the same order. */
static bool protocols_match(const struct gsm_member *m, const struct gsm_join_req *req)
{
    if (m->n_protos != req->n_protocols)
        return false;
    for (size_t i = 0; i < m->n_protos; i++) {
        const struct gsm_protocol_in *p = &req->protocols[i];
        if (!bytes_eq(p->name, m->protos[i].name) || p->metadata.len != m->protos[i].meta_len ||
            (p->metadata.len && memcmp(p->metadata.p, m->protos[i].meta, p->metadata.len)))
            return false;
    }
    return true;
}

static bool member_supports(const struct gsm_member *m, const char *name)
{
    for (size_t i = 0; i < m->n_protos; i++)
        if (!strcmp(m->protos[i].name, name))
            return true;
    return false;
}

/* Kafka's supportsProtocols: a new member must share the type and one protocol with all. */
static bool group_supports(const struct gsm_group *g, const struct gsm_join_req *req)
{
    if (g->n_members == 0)
        return req->protocol_type.len > 0 && req->n_protocols > 0;
    if (!bytes_eq(req->protocol_type, g->protocol_type))
        return false;
    for (size_t i = 0; i < req->n_protocols; i++) {
        char name[256];
        size_t n = req->protocols[i].name.len;
        if (n >= sizeof name)
            continue;
        memcpy(name, req->protocols[i].name.p, n);
        name[n] = 0;
        bool all = true;
        for (size_t j = 0; j < g->n_members && all; j++)
            all = member_supports(g->members[j], name);
        if (all)
            return true;
    }
    return false;
}

static int64_t max_rebalance_ms(const struct gsm_group *g)
{
    int64_t mx = 0;
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i]->rebalance_ms > mx)
            mx = g->members[i]->rebalance_ms;
    return mx;
}

static void prepare_rebalance(struct gsm_group *g, int64_t now)
{
    if (g->state == GSM_COMPLETING) {
        /* Followers parked in SyncGroup must re-join. */
        for (size_t i = 0; i < g->n_members; i++) {
            struct gsm_member *m = g->members[i];
            if (m->awaiting_sync) {
                out_add(g, GSM_OUT_SYNC, m->sync_token, KERR_REBALANCE_IN_PROGRESS);
                m->awaiting_sync = false;
            }
        }
    }
    int64_t timeout = max_rebalance_ms(g);
    if (g->state == GSM_EMPTY && g->cfg.initial_rebalance_delay_ms > 0 &&
        g->cfg.initial_rebalance_delay_ms < timeout)
        timeout = g->cfg.initial_rebalance_delay_ms;
    g->rebalance_deadline_ms = now + timeout;
    g->state = GSM_PREPARING;
    g->state_since_ms = now;
}

/* The protocol every member supports that most members list first (ties: first member's order). */
static const char *select_protocol(const struct gsm_group *g)
{
    const struct gsm_member *first = g->members[0];
    const char *best = NULL;
    size_t best_votes = 0;
    for (size_t i = 0; i < first->n_protos; i++) {
        const char *cand = first->protos[i].name;
        bool all = true;
        for (size_t j = 1; j < g->n_members && all; j++)
            all = member_supports(g->members[j], cand);
        if (!all)
            continue;
        size_t votes = 0;
        for (size_t j = 0; j < g->n_members; j++) {
            const struct gsm_member *m = g->members[j];
            for (size_t k = 0; k < m->n_protos; k++) {
                bool ok = true;
                for (size_t x = 0; x < g->n_members && ok; x++)
                    ok = member_supports(g->members[x], m->protos[k].name);
                if (ok) {
                    if (!strcmp(m->protos[k].name, cand))
                        votes++;
                    break;
                }
            }
        }
        if (!best || votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

/* A successful JoinGroup answer for member m with the current generation. */
static bool join_ok(struct gsm_group *g, const struct gsm_member *m, uint64_t token)
{
    struct gsm_out *o = out_add(g, GSM_OUT_JOIN, token, KERR_NONE);
    if (!o)
        return false;
    o->protocol_name = g->protocol_name;
    o->protocol_type = g->protocol_type;
    o->leader_id = g->leader_id;
    o->member_id = m->id;
    o->is_leader = is_leader(g, m);
    return true;
}

static void complete_join(struct gsm_group *g, int64_t now)
{
    /* Members that did not re-join in time are dropped. */
    for (size_t i = g->n_members; i-- > 0;)
        if (!g->members[i]->awaiting_join)
            remove_member(g, i, KERR_UNKNOWN_MEMBER_ID);
    g->generation++;
    g->state_since_ms = now;
    free(g->protocol_name);
    g->protocol_name = NULL;
    if (g->n_members == 0) {
        g->state = GSM_EMPTY;
        free(g->protocol_type);
        g->protocol_type = NULL;
        free(g->leader_id);
        g->leader_id = NULL;
        return;
    }
    const char *proto = select_protocol(g);
    g->protocol_name = proto ? strdup(proto) : NULL;
    if (!g->leader_id) {
        g->leader_id = strdup(g->members[0]->id);
        if (!g->leader_id)
            g->oom = true;
    }
    g->state = GSM_COMPLETING;
    for (size_t i = 0; i < g->n_members; i++) {
        struct gsm_member *m = g->members[i];
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        m->awaiting_join = false;
        m->hb_deadline = now + m->session_ms;
        join_ok(g, m, m->join_token);
    }
}

static void maybe_complete_join(struct gsm_group *g, int64_t now)
{
    if (g->state != GSM_PREPARING || g->n_pending > 0)
        return;
    /* An initial delay holds the first generation of a fresh group until its deadline. */
    if (g->generation == 0 && g->cfg.initial_rebalance_delay_ms > 0 &&
        now < g->rebalance_deadline_ms)
        return;
    for (size_t i = 0; i < g->n_members; i++)
        if (!g->members[i]->awaiting_join)
            return;
    complete_join(g, now);
}

static struct gsm_member *add_member(struct gsm_group *g, struct gsm_bytes id,
                                     const struct gsm_join_req *req)
{
    if (g->n_members == g->cap_members) {
        size_t cap = g->cap_members ? g->cap_members * 2 : 4;
        struct gsm_member **ms = realloc(g->members, cap * sizeof *ms);
        if (!ms)
            return NULL;
        g->members = ms;
        g->cap_members = cap;
    }
    struct gsm_member *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->id = dup_bytes(id);
    m->client_id = dup_bytes(req->client_id);
    m->client_host = dup_bytes(req->client_host);
    m->instance_id = req->instance_id.p ? dup_bytes(req->instance_id) : NULL;
    if (!m->id || !m->client_id || !m->client_host || (req->instance_id.p && !m->instance_id) ||
        set_protocols(m, req)) {
        member_free(m);
        return NULL;
    }
    if (g->n_members == 0) {
        free(g->protocol_type);
        g->protocol_type = dup_bytes(req->protocol_type);
        if (!g->protocol_type) {
            member_free(m);
            return NULL;
        }
    }
    g->members[g->n_members++] = m;
    return m;
}

/* Adds a member parked in JoinGroup and starts (or continues) a rebalance. */
static int add_member_and_rebalance(struct gsm_group *g, struct gsm_bytes id,
                                    const struct gsm_join_req *req, uint64_t token, int64_t now)
{
    struct gsm_member *m = add_member(g, id, req);
    if (!m)
        return PLG_ENOMEM;
    m->awaiting_join = true;
    m->join_token = token;
    if (g->state != GSM_PREPARING)
        prepare_rebalance(g, now);
    maybe_complete_join(g, now);
    return 0;
}

static int make_member_id(struct gsm_group *g, struct gsm_bytes client_id, int64_t now, char **out)
{
    size_t n = client_id.len > 128 ? 128 : client_id.len;
    char *s = malloc(n + 64);
    if (!s)
        return PLG_ENOMEM;
    if (n)
        memcpy(s, client_id.p, n);
    snprintf(s + n, 64, "-%016" PRIx64 "-%08" PRIx64, (uint64_t)now, ++g->id_seq);
    *out = s;
    return 0;
}

static int pending_take(struct gsm_group *g, struct gsm_bytes id)
{
    for (size_t i = 0; i < g->n_pending; i++)
        if (bytes_eq(id, g->pending[i].id)) {
            free(g->pending[i].id);
            g->pending[i] = g->pending[--g->n_pending];
            return 1;
        }
    return 0;
}

static int validate_join(const struct gsm_group *g, const struct gsm_join_req *req)
{
    if (req->session_timeout_ms < g->cfg.min_session_timeout_ms ||
        req->session_timeout_ms > g->cfg.max_session_timeout_ms)
        return KERR_INVALID_SESSION_TIMEOUT;
    if (req->n_protocols > GSM_MAX_PROTOCOLS)
        return KERR_INVALID_REQUEST;
    for (size_t i = 0; i < req->n_protocols; i++)
        if (req->protocols[i].metadata.len > g->cfg.max_metadata_bytes ||
            req->protocols[i].name.len == 0 || req->protocols[i].name.len > 255 ||
            memchr(req->protocols[i].name.p, 0, req->protocols[i].name.len))
            return KERR_INVALID_REQUEST;
    if (req->member_id.len > 1024 || req->client_id.len > 32767 || req->protocol_type.len > 255)
        return KERR_INVALID_REQUEST;
    if (g->state == GSM_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (!group_supports(g, req))
        return KERR_INCONSISTENT_GROUP_PROTOCOL;
    return 0;
}

int gsm_join(struct gsm_group *g, const struct gsm_join_req *req, uint64_t token, int64_t now,
             const char **assigned_id)
{
    begin_call(g);
    int err = validate_join(g, req);
    if (err)
        return err;

    if (req->member_id.len == 0) {
        /* A static member re-joining under a new id replaces (fences) the old one. */
        struct gsm_member *old = find_instance(g, req->instance_id);
        if (old) {
            size_t idx = 0;
            struct gsm_member *m =
                find_member(g, (struct gsm_bytes){(const uint8_t *)old->id, strlen(old->id)}, &idx);
            assert(m == old); /* find_instance returned a member of this group */
            (void)m;
            remove_member(g, idx, KERR_FENCED_INSTANCE_ID);
        } else if (g->n_members + g->n_pending >= g->cfg.max_members) {
            return KERR_GROUP_MAX_SIZE_REACHED;
        }
        char *id;
        int rc = make_member_id(g, req->client_id, now, &id);
        if (rc)
            return rc;
        if (req->require_known_member_id && !req->instance_id.p) {
            if (g->n_pending == g->cap_pending) {
                size_t cap = g->cap_pending ? g->cap_pending * 2 : 4;
                struct gsm_pending *p = realloc(g->pending, cap * sizeof *p);
                if (!p) {
                    free(id);
                    return PLG_ENOMEM;
                }
                g->pending = p;
                g->cap_pending = cap;
            }
            g->pending[g->n_pending].id = id;
            g->pending[g->n_pending].deadline = now + req->session_timeout_ms;
            g->n_pending++;
            if (assigned_id)
                *assigned_id = id;
            return KERR_MEMBER_ID_REQUIRED;
        }
        rc = add_member_and_rebalance(g, (struct gsm_bytes){(const uint8_t *)id, strlen(id)}, req,
                                      token, now);
        free(id);
        return rc;
    }

    if (pending_take(g, req->member_id))
        return add_member_and_rebalance(g, req->member_id, req, token, now);

    size_t idx;
    struct gsm_member *m = find_member(g, req->member_id, &idx);
    if (instance_fenced(g, req->member_id, req->instance_id))
        return KERR_FENCED_INSTANCE_ID;
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;

    switch (g->state) {
    case GSM_PREPARING:
        if (m->awaiting_join)
            out_add(g, GSM_OUT_JOIN, m->join_token, KERR_REBALANCE_IN_PROGRESS);
        if (set_protocols(m, req))
            return PLG_ENOMEM;
        m->awaiting_join = true;
        m->join_token = token;
        maybe_complete_join(g, now);
        return 0;
    case GSM_COMPLETING:
    case GSM_STABLE:
        if (protocols_match(m, req) && (g->state == GSM_COMPLETING || !is_leader(g, m))) {
            /* Nothing changed: answer with the current generation. */
            m->hb_deadline = now + m->session_ms;
            return join_ok(g, m, token) ? 0 : PLG_ENOMEM;
        }
        if (set_protocols(m, req))
            return PLG_ENOMEM;
        m->awaiting_join = true;
        m->join_token = token;
        prepare_rebalance(g, now);
        maybe_complete_join(g, now);
        return 0;
    case GSM_EMPTY:
        return KERR_UNKNOWN_MEMBER_ID;
    case GSM_DEAD:
        break;
    }
    return KERR_COORDINATOR_NOT_AVAILABLE;
}

/* The checks every SyncGroup and Heartbeat passes first, in Kafka's order. */
static int check_member(const struct gsm_group *g, int32_t generation, struct gsm_bytes member_id,
                        struct gsm_bytes instance_id, struct gsm_member **out)
{
    if (g->state == GSM_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (instance_fenced(g, member_id, instance_id))
        return KERR_FENCED_INSTANCE_ID;
    *out = find_member(g, member_id, NULL);
    if (!*out)
        return KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation)
        return KERR_ILLEGAL_GENERATION;
    return 0;
}

int gsm_sync(struct gsm_group *g, int32_t generation, struct gsm_bytes member_id,
             struct gsm_bytes instance_id, const struct gsm_sync_assignment *as, size_t n_as,
             uint64_t token, int64_t now)
{
    begin_call(g);
    struct gsm_member *m;
    int err = check_member(g, generation, member_id, instance_id, &m);
    if (err)
        return err;
    for (size_t i = 0; i < n_as; i++)
        if (as[i].assignment.len > g->cfg.max_metadata_bytes)
            return KERR_INVALID_REQUEST;
    switch (g->state) {
    case GSM_PREPARING:
        return KERR_REBALANCE_IN_PROGRESS;
    case GSM_EMPTY:
    case GSM_DEAD:
        return KERR_UNKNOWN_MEMBER_ID;
    case GSM_STABLE: {
        m->hb_deadline = now + m->session_ms;
        struct gsm_out *o = out_add(g, GSM_OUT_SYNC, token, KERR_NONE);
        if (!o)
            return PLG_ENOMEM;
        o->assignment = m->assignment;
        o->assignment_len = m->assignment_len;
        return 0;
    }
    case GSM_COMPLETING:
        break;
    }
    m->awaiting_sync = true;
    m->sync_token = token;
    m->hb_deadline = now + m->session_ms;
    if (!is_leader(g, m))
        return 0;
    /* The leader's assignment: copy each member's bytes (unknown member ids are ignored). */
    for (size_t i = 0; i < g->n_members; i++) {
        struct gsm_member *x = g->members[i];
        for (size_t j = 0; j < n_as; j++) {
            if (!bytes_eq(as[j].member_id, x->id))
                continue;
            uint8_t *a = malloc(as[j].assignment.len ? as[j].assignment.len : 1);
            if (!a)
                return PLG_ENOMEM;
            if (as[j].assignment.len)
                memcpy(a, as[j].assignment.p, as[j].assignment.len);
            free(x->assignment);
            x->assignment = a;
            x->assignment_len = as[j].assignment.len;
            break;
        }
    }
    g->state = GSM_STABLE;
    g->state_since_ms = now;
    for (size_t i = 0; i < g->n_members; i++) {
        struct gsm_member *x = g->members[i];
        if (!x->awaiting_sync)
            continue;
        x->awaiting_sync = false;
        struct gsm_out *o = out_add(g, GSM_OUT_SYNC, x->sync_token, KERR_NONE);
        if (!o)
            return PLG_ENOMEM;
        o->assignment = x->assignment;
        o->assignment_len = x->assignment_len;
    }
    return 0;
}

int gsm_heartbeat(struct gsm_group *g, int32_t generation, struct gsm_bytes member_id,
                  struct gsm_bytes instance_id, int64_t now)
{
    begin_call(g);
    struct gsm_member *m;
    int err = check_member(g, generation, member_id, instance_id, &m);
    if (err)
        return err;
    m->hb_deadline = now + m->session_ms;
    return g->state == GSM_PREPARING ? KERR_REBALANCE_IN_PROGRESS : KERR_NONE;
}

int gsm_leave(struct gsm_group *g, struct gsm_bytes member_id, struct gsm_bytes instance_id,
              int64_t now)
{
    begin_call(g);
    if (g->state == GSM_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (member_id.len && pending_take(g, member_id)) {
        maybe_complete_join(g, now);
        return KERR_NONE;
    }
    size_t idx = 0;
    struct gsm_member *m = NULL;
    if (member_id.len == 0 && instance_id.p) {
        m = find_instance(g, instance_id);
        if (m)
            find_member(g, (struct gsm_bytes){(const uint8_t *)m->id, strlen(m->id)}, &idx);
    } else {
        if (instance_fenced(g, member_id, instance_id))
            return KERR_FENCED_INSTANCE_ID;
        m = find_member(g, member_id, &idx);
    }
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;
    remove_member(g, idx, KERR_UNKNOWN_MEMBER_ID);
    if (g->state == GSM_STABLE || g->state == GSM_COMPLETING)
        prepare_rebalance(g, now);
    maybe_complete_join(g, now);
    return KERR_NONE;
}

int gsm_check_commit(const struct gsm_group *g, int32_t generation, struct gsm_bytes member_id,
                     struct gsm_bytes instance_id)
{
    if (g->state == GSM_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (instance_fenced(g, member_id, instance_id))
        return KERR_FENCED_INSTANCE_ID;
    if (generation < 0 && g->state == GSM_EMPTY)
        return KERR_NONE; /* a consumer that manages its own partitions */
    if (g->state == GSM_COMPLETING)
        return KERR_REBALANCE_IN_PROGRESS;
    if (!find_member(g, member_id, NULL))
        return KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation)
        return KERR_ILLEGAL_GENERATION;
    return KERR_NONE;
}

void gsm_tick(struct gsm_group *g, int64_t now)
{
    begin_call(g);
    bool changed = false;
    for (size_t i = g->n_pending; i-- > 0;)
        if (g->pending[i].deadline <= now) {
            free(g->pending[i].id);
            g->pending[i] = g->pending[--g->n_pending];
            changed = true;
        }
    bool expired = false;
    for (size_t i = g->n_members; i-- > 0;) {
        struct gsm_member *m = g->members[i];
        if (m->awaiting_join || m->awaiting_sync || m->hb_deadline > now)
            continue;
        remove_member(g, i, KERR_UNKNOWN_MEMBER_ID);
        expired = true;
    }
    if (expired && (g->state == GSM_STABLE || g->state == GSM_COMPLETING))
        prepare_rebalance(g, now);
    if (g->state == GSM_PREPARING && g->rebalance_deadline_ms <= now)
        complete_join(g, now);
    else if (changed || expired)
        maybe_complete_join(g, now);
}

int64_t gsm_next_deadline(const struct gsm_group *g)
{
    int64_t d = INT64_MAX;
    for (size_t i = 0; i < g->n_pending; i++)
        if (g->pending[i].deadline < d)
            d = g->pending[i].deadline;
    for (size_t i = 0; i < g->n_members; i++) {
        const struct gsm_member *m = g->members[i];
        if (!m->awaiting_join && !m->awaiting_sync && m->hb_deadline < d)
            d = m->hb_deadline;
    }
    if (g->state == GSM_PREPARING && g->rebalance_deadline_ms < d)
        d = g->rebalance_deadline_ms;
    return d;
}

int gsm_delete(struct gsm_group *g)
{
    begin_call(g);
    if (g->state == GSM_DEAD)
        return KERR_GROUP_ID_NOT_FOUND;
    if (g->state != GSM_EMPTY)
        return KERR_NON_EMPTY_GROUP;
    g->state = GSM_DEAD;
    return KERR_NONE;
}

size_t gsm_member_count(const struct gsm_group *g)
{
    return g->n_members;
}

void gsm_member_at(const struct gsm_group *g, size_t i, struct gsm_member_view *v)
{
    assert(i < g->n_members);
    const struct gsm_member *m = g->members[i];
    memset(v, 0, sizeof *v);
    v->member_id = m->id;
    v->instance_id = m->instance_id;
    v->client_id = m->client_id;
    v->client_host = m->client_host;
    v->assignment = m->assignment;
    v->assignment_len = m->assignment_len;
    if (m->n_protos) {
        size_t k = 0;
        if (g->protocol_name)
            for (size_t j = 0; j < m->n_protos; j++)
                if (!strcmp(m->protos[j].name, g->protocol_name)) {
                    k = j;
                    break;
                }
        v->metadata = m->protos[k].meta;
        v->metadata_len = m->protos[k].meta_len;
    }
}
