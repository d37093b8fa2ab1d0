/*
 * kmsg.h — the request and response structs of the Kafka APIs Pyralog speaks, and their schemas.
 *
 * Each struct mirrors one message of Kafka's JSON specs (clients/src/main/resources/common/
 * message/<Name>.json); member names are the spec's field names in snake_case, and the schema
 * (kschema_<api>_req / _resp, defined in kmsg_*.c) records in which versions each exists.
 * Conventions are those of kproto.h: kstr/kbytes/krecords views, arrays as pointer + int32_t
 * count (-1 = null), members absent in a version hold the spec's default after decode.
 *
 * Decode a request with kafka_request_decode (kapi.h); build a response struct and encode it
 * with kafka_response_encode (kapi.h). Consumer-group APIs live in kgroups*.h.
 */
#ifndef PLG_KAFKA_KMSG_H
#define PLG_KAFKA_KMSG_H

#include "kafka/kproto.h"

/* ---- ApiVersions (18), v0-v3 ---- */
struct kapiversions_req {
    struct kstr client_software_name;    /* v3+ */
    struct kstr client_software_version; /* v3+ */
};
struct kapiversions_key {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
};
struct kapiversions_resp {
    int16_t error_code;
    struct kapiversions_key *api_keys;
    int32_t napi_keys;
    int32_t throttle_time_ms; /* v1+ */
};

/* ---- Metadata (3), v1-v12 ---- */
struct kmetadata_req_topic {
    struct kuuid topic_id; /* v10+ */
    struct kstr name;      /* nullable v10+ */
};
struct kmetadata_req {
    struct kmetadata_req_topic *topics; /* null (ntopics -1) = all topics */
    int32_t ntopics;
    bool allow_auto_topic_creation;             /* v4+, default true */
    bool include_cluster_authorized_operations; /* v8-v10 */
    bool include_topic_authorized_operations;   /* v8+ */
};
struct kmetadata_broker {
    int32_t node_id;
    struct kstr host;
    int32_t port;
    struct kstr rack; /* nullable */
};
struct kmetadata_partition {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id;
    int32_t leader_epoch; /* v7+ */
    int32_t *replica_nodes;
    int32_t nreplica_nodes;
    int32_t *isr_nodes;
    int32_t nisr_nodes;
    int32_t *offline_replicas; /* v5+ */
    int32_t noffline_replicas;
};
struct kmetadata_topic {
    int16_t error_code;
    struct kstr name;      /* nullable v12+ */
    struct kuuid topic_id; /* v10+ */
    bool is_internal;
    struct kmetadata_partition *partitions;
    int32_t npartitions;
    int32_t topic_authorized_operations; /* v8+, INT32_MIN = not requested */
};
struct kmetadata_resp {
    int32_t throttle_time_ms; /* v3+ */
    struct kmetadata_broker *brokers;
    int32_t nbrokers;
    struct kstr cluster_id; /* v2+, nullable */
    int32_t controller_id;
    struct kmetadata_topic *topics;
    int32_t ntopics;
    int32_t cluster_authorized_operations; /* v8-v10 */
};

/* ---- Produce (0), v3-v9 ---- */
struct kproduce_partition {
    int32_t index;
    struct krecords records; /* view into the request buffer */
};
struct kproduce_topic {
    struct kstr name;
    struct kproduce_partition *partitions;
    int32_t npartitions;
};
struct kproduce_req {
    struct kstr transactional_id; /* nullable */
    int16_t acks;
    int32_t timeout_ms;
    struct kproduce_topic *topics;
    int32_t ntopics;
};
struct kproduce_record_error {
    int32_t batch_index;
    struct kstr batch_index_error_message; /* nullable */
};
struct kproduce_partition_resp {
    int32_t index;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms;                  /* v2+, -1 unless LogAppendTime */
    int64_t log_start_offset;                    /* v5+ */
    struct kproduce_record_error *record_errors; /* v8+ */
    int32_t nrecord_errors;
    struct kstr error_message; /* v8+, nullable */
};
struct kproduce_topic_resp {
    struct kstr name;
    struct kproduce_partition_resp *partitions;
    int32_t npartitions;
};
struct kproduce_resp {
    struct kproduce_topic_resp *topics;
    int32_t ntopics;
    int32_t throttle_time_ms;
};

/* ---- Fetch (1), v4-v12 ---- */
struct kfetch_partition {
    int32_t partition;
    int32_t current_leader_epoch; /* v9+, default -1 */
    int64_t fetch_offset;
    int32_t last_fetched_epoch; /* v12+, default -1 */
    int64_t log_start_offset;   /* v5+, default -1 */
    int32_t partition_max_bytes;
};
struct kfetch_topic {
    struct kstr topic;
    struct kfetch_partition *partitions;
    int32_t npartitions;
};
struct kfetch_forgotten {
    struct kstr topic;
    int32_t *partitions;
    int32_t npartitions;
};
struct kfetch_req {
    struct kstr cluster_id; /* v12+ tagged (0), nullable */
    int32_t replica_id;
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;      /* default 0x7fffffff */
    int8_t isolation_level; /* 0 read uncommitted, 1 read committed */
    int32_t session_id;     /* v7+ */
    int32_t session_epoch;  /* v7+, default -1 */
    struct kfetch_topic *topics;
    int32_t ntopics;
    struct kfetch_forgotten *forgotten_topics_data; /* v7+ */
    int32_t nforgotten_topics_data;
    struct kstr rack_id; /* v11+ */
};
struct kfetch_aborted {
    int64_t producer_id;
    int64_t first_offset;
};
struct kfetch_partition_resp {
    int32_t partition_index;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset;                  /* v4+ */
    int64_t log_start_offset;                    /* v5+ */
    struct kfetch_aborted *aborted_transactions; /* v4+, nullable */
    int32_t naborted_transactions;
    int32_t preferred_read_replica; /* v11+, -1 */
    struct krecords records;        /* p/len, or ext for spliced file bytes */
};
struct kfetch_topic_resp {
    struct kstr topic;
    struct kfetch_partition_resp *partitions;
    int32_t npartitions;
};
struct kfetch_resp {
    int32_t throttle_time_ms;
    int16_t error_code; /* v7+ */
    int32_t session_id; /* v7+: Pyralog answers 0 (no fetch sessions) */
    struct kfetch_topic_resp *responses;
    int32_t nresponses;
};

/* ---- ListOffsets (2), v1-v7 ---- */
struct klistoffsets_partition {
    int32_t partition_index;
    int32_t current_leader_epoch; /* v4+, default -1 */
    int64_t timestamp;            /* -2 earliest, -1 latest, -3 max timestamp (v7) */
    int32_t max_num_offsets;      /* v0 only */
};
struct klistoffsets_topic {
    struct kstr name;
    struct klistoffsets_partition *partitions;
    int32_t npartitions;
};
struct klistoffsets_req {
    int32_t replica_id;
    int8_t isolation_level; /* v2+ */
    struct klistoffsets_topic *topics;
    int32_t ntopics;
};
struct klistoffsets_partition_resp {
    int32_t partition_index;
    int16_t error_code;
    int64_t *old_style_offsets; /* v0 only */
    int32_t nold_style_offsets;
    int64_t timestamp;    /* -1 when unknown */
    int64_t offset;       /* -1 when unknown */
    int32_t leader_epoch; /* v4+, -1 */
};
struct klistoffsets_topic_resp {
    struct kstr name;
    struct klistoffsets_partition_resp *partitions;
    int32_t npartitions;
};
struct klistoffsets_resp {
    int32_t throttle_time_ms; /* v2+ */
    struct klistoffsets_topic_resp *topics;
    int32_t ntopics;
};

extern const struct kschema kschema_apiversions_req, kschema_apiversions_resp;
extern const struct kschema kschema_metadata_req, kschema_metadata_resp;
extern const struct kschema kschema_produce_req, kschema_produce_resp;
extern const struct kschema kschema_fetch_req, kschema_fetch_resp;
extern const struct kschema kschema_listoffsets_req, kschema_listoffsets_resp;

#include "kafka/kmsg_admin.h"

#endif
