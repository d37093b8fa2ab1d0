/*
 * group_coord.h — the group coordinator: the shell around the pure group state machine.
 *
 * Owns: every consumer group of this node (membership in a struct gsm_group, committed offsets
 * in a struct goff_table), the Kafka handlers of FindCoordinator, JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups and
 * OffsetDelete (registered with broker_register_api), the JoinGroup/SyncGroup requests parked
 * until a rebalance step completes, one libuv timer for every session and rebalance deadline,
 * and the internal topic __consumer_offsets (1 partition, cleanup.policy=compact) where each
 * commit is appended (acks 1 by default, -1 to answer once fsynced) and from which offsets are
 * loaded on open.
 *
 * Invariants: a parked request is answered exactly once (by the state machine's output, or with
 * COORDINATOR_NOT_AVAILABLE at shutdown); the in-memory offsets are those of the durable log.
 * Thread model: the broker's loop thread only, like the broker.
 */
#ifndef PLG_BROKER_GROUP_COORD_H
#define PLG_BROKER_GROUP_COORD_H

#include <stdint.h>

struct broker;
struct group_coord;

#define GROUP_OFFSETS_TOPIC "__consumer_offsets"

struct group_coord_opts {
    int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms (0: 6000) */
    int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms (0: 1800000) */
    int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms (default 0) */
    int commit_acks; /* offsets.commit.required.acks: 1 (default) or -1 (wait for fsync) */
    int64_t offsets_segment_bytes; /* offsets.topic.segment.bytes at creation (0: 100 MiB) */
    int64_t compact_interval_ms;   /* offsets.topic.compact.interval.ms (0: 60000) */
};

/*
 * Creates the coordinator for broker b: creates or loads __consumer_offsets (replaying every
 * committed offset) and registers the group API handlers. opts may be NULL (defaults).
 * Free with group_coord_free(). Returns 0 or a negative PLG_E* / -errno.
 */
int group_coord_open(struct broker *b, const struct group_coord_opts *opts,
                     struct group_coord **out);
/* Answers every parked request (COORDINATOR_NOT_AVAILABLE) and stops the timer. */
void group_coord_shutdown(struct group_coord *gc);
/* Frees everything; call after the broker's logs are closed (late commit callbacks). */
void group_coord_free(struct group_coord *gc);

/* Number of groups known (members or offsets). */
int32_t group_coord_group_count(const struct group_coord *gc);

#endif
