/*
 * kmsg_admin.h — admin API messages: CreateTopics, DeleteTopics, CreatePartitions,
 * DescribeConfigs, AlterConfigs, IncrementalAlterConfigs, InitProducerId.
 * Conventions as in kmsg.h / kproto.h. Included by kmsg.h.
 */
#ifndef PLG_KAFKA_KMSG_ADMIN_H
#define PLG_KAFKA_KMSG_ADMIN_H

#include "kafka/kproto.h"

/* A config name/value pair (value nullable), used by several requests. */
struct kconfig_kv {
    struct kstr name;
    struct kstr value;
};

/* ---- CreateTopics (19), v0-v7 ---- */
struct kcreatetopics_assignment {
    int32_t partition_index;
    int32_t *broker_ids;
    int32_t nbroker_ids;
};
struct kcreatetopics_topic {
    struct kstr name;
    int32_t num_partitions;     /* -1: broker default */
    int16_t replication_factor; /* -1: broker default */
    struct kcreatetopics_assignment *assignments;
    int32_t nassignments;
    struct kconfig_kv *configs;
    int32_t nconfigs;
};
struct kcreatetopics_req {
    struct kcreatetopics_topic *topics;
    int32_t ntopics;
    int32_t timeout_ms;
    bool validate_only; /* v1+ */
};
struct kcreatetopics_config_resp {
    struct kstr name;
    struct kstr value; /* nullable */
    bool read_only;
    int8_t config_source;
    bool is_sensitive;
};
struct kcreatetopics_topic_resp {
    struct kstr name;
    struct kuuid topic_id; /* v7+ */
    int16_t error_code;
    struct kstr error_message;                 /* v1+, nullable */
    int16_t topic_config_error_code;           /* v5+ tagged (0) */
    int32_t num_partitions;                    /* v5+, -1 */
    int16_t replication_factor;                /* v5+, -1 */
    struct kcreatetopics_config_resp *configs; /* v5+, nullable */
    int32_t nconfigs;
};
struct kcreatetopics_resp {
    int32_t throttle_time_ms; /* v2+ */
    struct kcreatetopics_topic_resp *topics;
    int32_t ntopics;
};

/* ---- DeleteTopics (20), v0-v5 ---- */
struct kdeletetopics_req {
    struct kstr *topic_names;
    int32_t ntopic_names;
    int32_t timeout_ms;
};
struct kdeletetopics_result {
    struct kstr name;
    int16_t error_code;
    struct kstr error_message; /* v5+, nullable */
};
struct kdeletetopics_resp {
    int32_t throttle_time_ms; /* v1+ */
    struct kdeletetopics_result *responses;
    int32_t nresponses;
};

/* ---- CreatePartitions (37), v0-v3 ---- */
struct kcreatepartitions_assignment {
    int32_t *broker_ids;
    int32_t nbroker_ids;
};
struct kcreatepartitions_topic {
    struct kstr name;
    int32_t count;                                    /* the new total number of partitions */
    struct kcreatepartitions_assignment *assignments; /* nullable */
    int32_t nassignments;
};
struct kcreatepartitions_req {
    struct kcreatepartitions_topic *topics;
    int32_t ntopics;
    int32_t timeout_ms;
    bool validate_only;
};
struct kcreatepartitions_result {
    struct kstr name;
    int16_t error_code;
    struct kstr error_message; /* nullable */
};
struct kcreatepartitions_resp {
    int32_t throttle_time_ms;
    struct kcreatepartitions_result *results;
    int32_t nresults;
};

/* ---- DescribeConfigs (32), v0-v4 ---- */
enum { KRESOURCE_TOPIC = 2, KRESOURCE_BROKER = 4 };
struct kdescribeconfigs_resource {
    int8_t resource_type;
    struct kstr resource_name;
    struct kstr *configuration_keys; /* nullable: null = all */
    int32_t nconfiguration_keys;
};
struct kdescribeconfigs_req {
    struct kdescribeconfigs_resource *resources;
    int32_t nresources;
    bool include_synonyms;      /* v1+ */
    bool include_documentation; /* v3+ */
};
struct kdescribeconfigs_synonym {
    struct kstr name;
    struct kstr value; /* nullable */
    int8_t source;
};
struct kdescribeconfigs_config {
    struct kstr name;
    struct kstr value; /* nullable */
    bool read_only;
    bool is_default;      /* v0 only */
    int8_t config_source; /* v1+, -1 */
    bool is_sensitive;
    struct kdescribeconfigs_synonym *synonyms; /* v1+ */
    int32_t nsynonyms;
    int8_t config_type;        /* v3+ */
    struct kstr documentation; /* v3+, nullable */
};
struct kdescribeconfigs_result {
    int16_t error_code;
    struct kstr error_message; /* nullable */
    int8_t resource_type;
    struct kstr resource_name;
    struct kdescribeconfigs_config *configs;
    int32_t nconfigs;
};
struct kdescribeconfigs_resp {
    int32_t throttle_time_ms;
    struct kdescribeconfigs_result *results;
    int32_t nresults;
};

/* ---- AlterConfigs (33), v0-v2 ---- */
struct kalterconfigs_resource {
    int8_t resource_type;
    struct kstr resource_name;
    struct kconfig_kv *configs;
    int32_t nconfigs;
};
struct kalterconfigs_req {
    struct kalterconfigs_resource *resources;
    int32_t nresources;
    bool validate_only;
};
/* Also the result of IncrementalAlterConfigs. */
struct kalterconfigs_result {
    int16_t error_code;
    struct kstr error_message; /* nullable */
    int8_t resource_type;
    struct kstr resource_name;
};
struct kalterconfigs_resp {
    int32_t throttle_time_ms;
    struct kalterconfigs_result *responses;
    int32_t nresponses;
};

/* ---- IncrementalAlterConfigs (44), v0-v1 ---- */
enum { KCONFIG_OP_SET = 0, KCONFIG_OP_DELETE = 1, KCONFIG_OP_APPEND = 2, KCONFIG_OP_SUBTRACT = 3 };
struct kincalterconfigs_config {
    struct kstr name;
    int8_t config_operation;
    struct kstr value; /* nullable */
};
struct kincalterconfigs_resource {
    int8_t resource_type;
    struct kstr resource_name;
    struct kincalterconfigs_config *configs;
    int32_t nconfigs;
};
struct kincalterconfigs_req {
    struct kincalterconfigs_resource *resources;
    int32_t nresources;
    bool validate_only;
};
/* Response: struct kalterconfigs_resp with kschema_incalterconfigs_resp. */

/* ---- InitProducerId (22), v0-v4 ---- */
struct kinitproducerid_req {
    struct kstr transactional_id; /* nullable; null for the idempotent producer */
    int32_t transaction_timeout_ms;
    int64_t producer_id;    /* v3+, -1 */
    int16_t producer_epoch; /* v3+, -1 */
};
struct kinitproducerid_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id;
    int16_t producer_epoch;
};

extern const struct kschema kschema_createtopics_req, kschema_createtopics_resp;
extern const struct kschema kschema_deletetopics_req, kschema_deletetopics_resp;
extern const struct kschema kschema_createpartitions_req, kschema_createpartitions_resp;
extern const struct kschema kschema_describeconfigs_req, kschema_describeconfigs_resp;
extern const struct kschema kschema_alterconfigs_req, kschema_alterconfigs_resp;
extern const struct kschema kschema_incalterconfigs_req, kschema_incalterconfigs_resp;
extern const struct kschema kschema_initproducerid_req, kschema_initproducerid_resp;

#endif
