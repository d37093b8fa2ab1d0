/*
 * group_sm.h — the classic Kafka consumer-group membership protocol as a pure state machine.
 *
 * Owns: one group's members, generation, chosen protocol, leader and the leader's assignment.
 * Events go in (join, sync, heartbeat, leave, tick) each with an explicit "now" in milliseconds;
 * results come out as immediate error codes plus a list of deferred responses (struct gsm_out)
 * addressed by the opaque tokens the caller passed with JoinGroup/SyncGroup. There is no I/O and
 * no clock read here: the shell (group_coord.c) owns sockets, timers and persistence, which is
 * what lets the unit tests drive whole rebalances deterministically.
 *
 * States (Kafka's GroupCoordinator): EMPTY (no members; offsets may exist) → PREPARING
 * (rebalance: waiting for every member to re-join, bounded by the largest rebalance timeout) →
 * COMPLETING (generation bumped, join responses sent, waiting for the leader's SyncGroup) →
 * STABLE. DEAD is terminal (group deleted). Invariants: generation only grows; a member is in
 * `members` at most once; in COMPLETING/STABLE the leader is a member; assignments are opaque
 * bytes chosen by the leader and passed through unchanged.
 *
 * Thread model: a group is owned by one thread (the broker loop); nothing here is locked.
 * Memory: output records and every pointer in them stay valid until the next call on the same
 * group (they point into the group's own storage); the group frees everything in gsm_destroy().
 */
#ifndef PLG_BROKER_GROUP_SM_H
#define PLG_BROKER_GROUP_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/kapi.h" /* enum kerr: the Kafka error codes answered */

enum gsm_state { GSM_EMPTY, GSM_PREPARING, GSM_COMPLETING, GSM_STABLE, GSM_DEAD };

/* A length-delimited byte string that is not NUL-terminated (a view; len 0 allowed). */
struct gsm_bytes {
    const uint8_t *p;
    size_t len;
};

struct gsm_protocol_in {
    struct gsm_bytes name;
    struct gsm_bytes metadata;
};

/* Limits the coordinator enforces (Kafka's group.* broker settings). */
struct gsm_config {
    int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms, Kafka default 6000 */
    int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms, default 1800000 */
    int32_t initial_rebalance_delay_ms; /* delay before the first generation of an empty group */
    uint32_t max_members;               /* group.max.size */
    size_t max_metadata_bytes;          /* per-protocol metadata and per-member assignment cap */
};

void gsm_config_default(struct gsm_config *c);

struct gsm_join_req {
    struct gsm_bytes member_id;   /* empty: a new member */
    struct gsm_bytes instance_id; /* group.instance.id; p == NULL when absent (dynamic member) */
    struct gsm_bytes client_id;
    struct gsm_bytes client_host;
    struct gsm_bytes protocol_type;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v0 has none: pass session_timeout_ms */
    bool require_known_member_id; /* JoinGroup v4+: first join answers MEMBER_ID_REQUIRED */
    const struct gsm_protocol_in *protocols;
    size_t n_protocols;
};

struct gsm_sync_assignment {
    struct gsm_bytes member_id;
    struct gsm_bytes assignment;
};

/* One member as seen by responses (leader's JoinGroup member list, DescribeGroups). */
struct gsm_member_view {
    const char *member_id;
    const char *instance_id; /* NULL for dynamic members */
    const char *client_id;
    const char *client_host;
    const uint8_t *metadata; /* metadata for the group's chosen protocol (or first protocol) */
    size_t metadata_len;
    const uint8_t *assignment;
    size_t assignment_len;
};

enum gsm_out_kind { GSM_OUT_JOIN, GSM_OUT_SYNC };

/* A deferred response: answer the request that carried `token`. */
struct gsm_out {
    enum gsm_out_kind kind;
    uint64_t token;
    int16_t error;
    int32_t generation;
    const char *protocol_name; /* JOIN: chosen protocol (NULL on error) */
    const char *protocol_type;
    const char *leader_id;     /* JOIN */
    const char *member_id;     /* JOIN: the member's id (also on MEMBER_ID_REQUIRED) */
    bool is_leader;            /* JOIN: include the member list (gsm_member_at) */
    const uint8_t *assignment; /* SYNC */
    size_t assignment_len;
};

struct gsm_member;
struct gsm_pending;

struct gsm_group {
    char *group_id;
    enum gsm_state state;
    int32_t generation;
    char *protocol_type; /* NULL while empty */
    char *protocol_name; /* chosen in the last completed join; NULL before */
    char *leader_id;     /* NULL when no leader */
    struct gsm_member **members;
    size_t n_members, cap_members;
    struct gsm_pending *pending; /* ids handed out with MEMBER_ID_REQUIRED, not joined yet */
    size_t n_pending, cap_pending;
    int64_t rebalance_deadline_ms; /* PREPARING: when the join phase ends regardless */
    int64_t state_since_ms;        /* when the current state was entered (metrics/tests) */
    uint64_t id_seq;               /* makes generated member ids unique */
    struct gsm_config cfg;
    struct gsm_member **graveyard; /* removed in the last call; outputs may point into them */
    size_t n_graveyard, cap_graveyard;
    struct gsm_out *out; /* deferred responses of the last call */
    size_t n_out, cap_out;
    bool oom;
};

/* Initialises an EMPTY group; returns 0 or PLG_ENOMEM / PLG_EINVAL (empty id). */
int gsm_init(struct gsm_group *g, const char *group_id, const struct gsm_config *cfg);
void gsm_destroy(struct gsm_group *g);

/*
 * JoinGroup. Returns 0 when the request is answered later (a GSM_OUT_JOIN record with `token`
 * will appear in the outputs of this or a later call), or a positive Kafka error code to answer
 * now. On KERR_MEMBER_ID_REQUIRED *assigned_id gets the new member id (valid until next call).
 * A negative return is an internal error (PLG_ENOMEM).
 */
int gsm_join(struct gsm_group *g, const struct gsm_join_req *req, uint64_t token, int64_t now_ms,
             const char **assigned_id);

/*
 * SyncGroup. Returns 0 when answered through a GSM_OUT_SYNC record (possibly already in this
 * call's outputs), or a positive Kafka error code to answer now.
 */
int gsm_sync(struct gsm_group *g, int32_t generation, struct gsm_bytes member_id,
             struct gsm_bytes instance_id, const struct gsm_sync_assignment *assignments,
             size_t n_assignments, uint64_t token, int64_t now_ms);

/* Heartbeat: returns the Kafka error code to answer with (0, 22, 25, 27, 82, ...). */
int gsm_heartbeat(struct gsm_group *g, int32_t generation, struct gsm_bytes member_id,
                  struct gsm_bytes instance_id, int64_t now_ms);

/* LeaveGroup for one member (by member id, or by instance id when member_id is empty). */
int gsm_leave(struct gsm_group *g, struct gsm_bytes member_id, struct gsm_bytes instance_id,
              int64_t now_ms);

/* May this member commit offsets at this generation? Returns the Kafka error code. */
int gsm_check_commit(const struct gsm_group *g, int32_t generation, struct gsm_bytes member_id,
                     struct gsm_bytes instance_id);

/* Applies every deadline at or before now (session expiry, end of the join phase). */
void gsm_tick(struct gsm_group *g, int64_t now_ms);

/* The earliest future deadline (ms), or INT64_MAX when nothing is timed. */
int64_t gsm_next_deadline(const struct gsm_group *g);

/* Marks the group DEAD (DeleteGroups); only valid when EMPTY. Returns the Kafka error code. */
int gsm_delete(struct gsm_group *g);

/* Deferred responses produced by the last call; valid until the next call on the group. */
static inline const struct gsm_out *gsm_outputs(const struct gsm_group *g, size_t *n)
{
    *n = g->n_out;
    return g->out;
}

size_t gsm_member_count(const struct gsm_group *g);
/* Fills a view of member i (0 <= i < gsm_member_count), in join order. */
void gsm_member_at(const struct gsm_group *g, size_t i, struct gsm_member_view *v);

const char *gsm_state_name(enum gsm_state s);

#endif
