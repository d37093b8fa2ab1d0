/*
 * kgroups.h — consumer-group API messages: FindCoordinator (10), JoinGroup (11), Heartbeat (12),
 * LeaveGroup (13), SyncGroup (14), DescribeGroups (15), ListGroups (16), OffsetCommit (8),
 * OffsetFetch (9), DeleteGroups (42), OffsetDelete (47).
 *
 * Each struct mirrors the message of Kafka's JSON spec (clients/src/main/resources/common/
 * message/<Name>.json) with snake_case member names; the schemas (kgroups.c) record the versions
 * each field exists in, so one schema serves every version. Versions implemented (what
 * librdkafka 2.0.2 and kafkajs 2.2.4 pick, flexible ones included where they are picked):
 * FindCoordinator 0-2, JoinGroup 0-5, Heartbeat 0-3, LeaveGroup 0-3, SyncGroup 0-3,
 * DescribeGroups 0-4, ListGroups 0-4 (3+ flexible), OffsetCommit 0-7, OffsetFetch 0-7 (6+
 * flexible), DeleteGroups 0-1, OffsetDelete 0. Conventions are kproto.h's: kstr/kbytes views
 * into the request buffer, arrays as pointer + int32_t count (-1 = null), decoded arrays in a
 * karena. Pure code, any thread, depends on kafka/kproto.h and src/base only.
 */
#ifndef PLG_KAFKA_KGROUPS_H
#define PLG_KAFKA_KGROUPS_H

#include "kafka/kproto.h"

/* ---- FindCoordinator (10) ---- */
struct kfindcoordinator_req {
    struct kstr key;
    int8_t key_type; /* v1+: 0 group, 1 transaction */
};
struct kfindcoordinator_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    struct kstr error_message; /* v1+, nullable */
    int32_t node_id;
    struct kstr host;
    int32_t port;
};

/* ---- JoinGroup (11) ---- */
struct kjoingroup_protocol {
    struct kstr name;
    struct kbytes metadata;
};
struct kjoingroup_req {
    struct kstr group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v1+, default -1 */
    struct kstr member_id;
    struct kstr group_instance_id; /* v5+, nullable */
    struct kstr protocol_type;
    struct kjoingroup_protocol *protocols;
    int32_t nprotocols;
};
struct kjoingroup_member {
    struct kstr member_id;
    struct kstr group_instance_id; /* v5+, nullable */
    struct kbytes metadata;
};
struct kjoingroup_resp {
    int32_t throttle_time_ms; /* v2+ */
    int16_t error_code;
    int32_t generation_id;
    struct kstr protocol_name;
    struct kstr leader;
    struct kstr member_id;
    struct kjoingroup_member *members;
    int32_t nmembers;
};

/* ---- Heartbeat (12) ---- */
struct kheartbeat_req {
    struct kstr group_id;
    int32_t generation_id;
    struct kstr member_id;
    struct kstr group_instance_id; /* v3+, nullable */
};
struct kheartbeat_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
};

/* ---- LeaveGroup (13) ---- */
struct kleavegroup_member {
    struct kstr member_id;
    struct kstr group_instance_id; /* nullable */
};
struct kleavegroup_req {
    struct kstr group_id;
    struct kstr member_id;              /* v0-v2 */
    struct kleavegroup_member *members; /* v3+ */
    int32_t nmembers;
};
struct kleavegroup_member_resp {
    struct kstr member_id;
    struct kstr group_instance_id; /* nullable */
    int16_t error_code;
};
struct kleavegroup_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    struct kleavegroup_member_resp *members; /* v3+ */
    int32_t nmembers;
};

/* ---- SyncGroup (14) ---- */
struct ksyncgroup_assignment {
    struct kstr member_id;
    struct kbytes assignment;
};
struct ksyncgroup_req {
    struct kstr group_id;
    int32_t generation_id;
    struct kstr member_id;
    struct kstr group_instance_id; /* v3+, nullable */
    struct ksyncgroup_assignment *assignments;
    int32_t nassignments;
};
struct ksyncgroup_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    struct kbytes assignment;
};

/* ---- DescribeGroups (15) ---- */
struct kdescribegroups_req {
    struct kstr *groups;
    int32_t ngroups;
    bool include_authorized_operations; /* v3+ */
};
struct kdescribegroups_member {
    struct kstr member_id;
    struct kstr group_instance_id; /* v4+, nullable */
    struct kstr client_id;
    struct kstr client_host;
    struct kbytes member_metadata;
    struct kbytes member_assignment;
};
struct kdescribegroups_group {
    int16_t error_code;
    struct kstr group_id;
    struct kstr group_state;
    struct kstr protocol_type;
    struct kstr protocol_data;
    struct kdescribegroups_member *members;
    int32_t nmembers;
    int32_t authorized_operations; /* v3+, INT32_MIN = not requested */
};
struct kdescribegroups_resp {
    int32_t throttle_time_ms; /* v1+ */
    struct kdescribegroups_group *groups;
    int32_t ngroups;
};

/* ---- ListGroups (16) ---- */
struct klistgroups_req {
    struct kstr *states_filter; /* v4+ */
    int32_t nstates_filter;
};
struct klistgroups_group {
    struct kstr group_id;
    struct kstr protocol_type;
    struct kstr group_state; /* v4+ */
};
struct klistgroups_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    struct klistgroups_group *groups;
    int32_t ngroups;
};

/* ---- OffsetCommit (8) ---- */
struct koffsetcommit_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v6+, default -1 */
    int64_t commit_timestamp;       /* v1 only, default -1 */
    struct kstr committed_metadata; /* nullable */
};
struct koffsetcommit_topic {
    struct kstr name;
    struct koffsetcommit_partition *partitions;
    int32_t npartitions;
};
struct koffsetcommit_req {
    struct kstr group_id;
    int32_t generation_id;         /* v1+, default -1 */
    struct kstr member_id;         /* v1+ */
    struct kstr group_instance_id; /* v7+, nullable */
    int64_t retention_time_ms;     /* v2-v4, default -1 */
    struct koffsetcommit_topic *topics;
    int32_t ntopics;
};
/* A partition index and its error: the per-partition answer of OffsetCommit and OffsetDelete. */
struct kgroup_partition_error {
    int32_t partition_index;
    int16_t error_code;
};
struct kgroup_topic_errors {
    struct kstr name;
    struct kgroup_partition_error *partitions;
    int32_t npartitions;
};
struct koffsetcommit_resp {
    int32_t throttle_time_ms; /* v3+ */
    struct kgroup_topic_errors *topics;
    int32_t ntopics;
};

/* ---- OffsetFetch (9) ---- */
struct koffsetfetch_topic {
    struct kstr name;
    int32_t *partition_indexes;
    int32_t npartition_indexes;
};
struct koffsetfetch_req {
    struct kstr group_id;
    struct koffsetfetch_topic *topics; /* null (ntopics -1, v2+) = every committed topic */
    int32_t ntopics;
    bool require_stable; /* v7+ */
};
struct koffsetfetch_partition {
    int32_t partition_index;
    int64_t committed_offset;       /* -1 when nothing is committed */
    int32_t committed_leader_epoch; /* v5+, default -1 */
    struct kstr metadata;           /* nullable */
    int16_t error_code;
};
struct koffsetfetch_topic_resp {
    struct kstr name;
    struct koffsetfetch_partition *partitions;
    int32_t npartitions;
};
struct koffsetfetch_resp {
    int32_t throttle_time_ms; /* v3+ */
    struct koffsetfetch_topic_resp *topics;
    int32_t ntopics;
    int16_t error_code; /* v2+ */
};

/* ---- DeleteGroups (42) ---- */
struct kdeletegroups_req {
    struct kstr *groups_names;
    int32_t ngroups_names;
};
struct kdeletegroups_result {
    struct kstr group_id;
    int16_t error_code;
};
struct kdeletegroups_resp {
    int32_t throttle_time_ms;
    struct kdeletegroups_result *results;
    int32_t nresults;
};

/* ---- OffsetDelete (47) ---- */
struct koffsetdelete_topic {
    struct kstr name;
    int32_t *partitions; /* partition indexes */
    int32_t npartitions;
};
struct koffsetdelete_req {
    struct kstr group_id;
    struct koffsetdelete_topic *topics;
    int32_t ntopics;
};
struct koffsetdelete_resp {
    int16_t error_code;
    int32_t throttle_time_ms;
    struct kgroup_topic_errors *topics;
    int32_t ntopics;
};

extern const struct kschema kschema_findcoordinator_req, kschema_findcoordinator_resp;
extern const struct kschema kschema_joingroup_req, kschema_joingroup_resp;
extern const struct kschema kschema_heartbeat_req, kschema_heartbeat_resp;
extern const struct kschema kschema_leavegroup_req, kschema_leavegroup_resp;
extern const struct kschema kschema_syncgroup_req, kschema_syncgroup_resp;
extern const struct kschema kschema_describegroups_req, kschema_describegroups_resp;
extern const struct kschema kschema_listgroups_req, kschema_listgroups_resp;
extern const struct kschema kschema_offsetcommit_req, kschema_offsetcommit_resp;
extern const struct kschema kschema_offsetfetch_req, kschema_offsetfetch_resp;
extern const struct kschema kschema_deletegroups_req, kschema_deletegroups_resp;
extern const struct kschema kschema_offsetdelete_req, kschema_offsetdelete_resp;

#endif
