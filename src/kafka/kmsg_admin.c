/*
 * kmsg_admin.c — schemas of the admin APIs and InitProducerId, in the field order and with the
 * version annotations of Kafka's message JSON specs (CreateTopicsRequest.json, ...).
 */
#include "kafka/kmsg.h"

KSCHEMA_LOCAL(s_config_kv, "Config", KF_STR(struct kconfig_kv, name, 0, KV_MAX, KV_NEVER),
              KF_STR(struct kconfig_kv, value, 0, KV_MAX, 0));

/* ---- CreateTopics ---- */
KSCHEMA_LOCAL(s_createtopics_assignment, "CreatableReplicaAssignment",
              KF_I32(struct kcreatetopics_assignment, partition_index, 0, KV_MAX),
              KF_PARR(struct kcreatetopics_assignment, broker_ids, nbroker_ids, 0, KV_MAX, KV_NEVER,
                      KT_I32));
KSCHEMA_LOCAL(s_createtopics_topic, "CreatableTopic",
              KF_STR(struct kcreatetopics_topic, name, 0, KV_MAX, KV_NEVER),
              KF_I32(struct kcreatetopics_topic, num_partitions, 0, KV_MAX),
              KF_I16(struct kcreatetopics_topic, replication_factor, 0, KV_MAX),
              KF_ARR(struct kcreatetopics_topic, assignments, nassignments, 0, KV_MAX, KV_NEVER,
                     &s_createtopics_assignment),
              KF_ARR(struct kcreatetopics_topic, configs, nconfigs, 0, KV_MAX, KV_NEVER,
                     &s_config_kv));
KSCHEMA(kschema_createtopics_req, "CreateTopicsRequest",
        KF_ARR(struct kcreatetopics_req, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_createtopics_topic),
        KF_I32(struct kcreatetopics_req, timeout_ms, 0, KV_MAX),
        KF_BOOL(struct kcreatetopics_req, validate_only, 1, KV_MAX));
KSCHEMA_LOCAL(s_createtopics_config_resp, "CreatableTopicConfigs",
              KF_STR(struct kcreatetopics_config_resp, name, 5, KV_MAX, KV_NEVER),
              KF_STR(struct kcreatetopics_config_resp, value, 5, KV_MAX, 5),
              KF_BOOL(struct kcreatetopics_config_resp, read_only, 5, KV_MAX),
              KF_I8D(struct kcreatetopics_config_resp, config_source, 5, KV_MAX, -1),
              KF_BOOL(struct kcreatetopics_config_resp, is_sensitive, 5, KV_MAX));
KSCHEMA_LOCAL(s_createtopics_topic_resp, "CreatableTopicResult",
              KF_STR(struct kcreatetopics_topic_resp, name, 0, KV_MAX, KV_NEVER),
              KF_UUID(struct kcreatetopics_topic_resp, topic_id, 7, KV_MAX),
              KF_I16(struct kcreatetopics_topic_resp, error_code, 0, KV_MAX),
              KF_STR(struct kcreatetopics_topic_resp, error_message, 1, KV_MAX, 0),
              KF_TAG_I16(struct kcreatetopics_topic_resp, topic_config_error_code, 5, 0, 0),
              KF_I32D(struct kcreatetopics_topic_resp, num_partitions, 5, KV_MAX, -1),
              KF_I16D(struct kcreatetopics_topic_resp, replication_factor, 5, KV_MAX, -1),
              KF_ARR(struct kcreatetopics_topic_resp, configs, nconfigs, 5, KV_MAX, 5,
                     &s_createtopics_config_resp));
KSCHEMA(kschema_createtopics_resp, "CreateTopicsResponse",
        KF_I32(struct kcreatetopics_resp, throttle_time_ms, 2, KV_MAX),
        KF_ARR(struct kcreatetopics_resp, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_createtopics_topic_resp));

/* ---- DeleteTopics ---- */
KSCHEMA(kschema_deletetopics_req, "DeleteTopicsRequest",
        KF_PARR(struct kdeletetopics_req, topic_names, ntopic_names, 0, 5, KV_NEVER, KT_STR),
        KF_I32(struct kdeletetopics_req, timeout_ms, 0, KV_MAX));
KSCHEMA_LOCAL(s_deletetopics_result, "DeletableTopicResult",
              KF_STR(struct kdeletetopics_result, name, 0, KV_MAX, 6),
              KF_I16(struct kdeletetopics_result, error_code, 0, KV_MAX),
              KF_STR(struct kdeletetopics_result, error_message, 5, KV_MAX, 5));
KSCHEMA(kschema_deletetopics_resp, "DeleteTopicsResponse",
        KF_I32(struct kdeletetopics_resp, throttle_time_ms, 1, KV_MAX),
        KF_ARR(struct kdeletetopics_resp, responses, nresponses, 0, KV_MAX, KV_NEVER,
               &s_deletetopics_result));

/* ---- CreatePartitions ---- */
KSCHEMA_LOCAL(s_createpartitions_assignment, "CreatePartitionsAssignment",
              KF_PARR(struct kcreatepartitions_assignment, broker_ids, nbroker_ids, 0, KV_MAX,
                      KV_NEVER, KT_I32));
KSCHEMA_LOCAL(s_createpartitions_topic, "CreatePartitionsTopic",
              KF_STR(struct kcreatepartitions_topic, name, 0, KV_MAX, KV_NEVER),
              KF_I32(struct kcreatepartitions_topic, count, 0, KV_MAX),
              KF_ARR(struct kcreatepartitions_topic, assignments, nassignments, 0, KV_MAX, 0,
                     &s_createpartitions_assignment));
KSCHEMA(kschema_createpartitions_req, "CreatePartitionsRequest",
        KF_ARR(struct kcreatepartitions_req, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_createpartitions_topic),
        KF_I32(struct kcreatepartitions_req, timeout_ms, 0, KV_MAX),
        KF_BOOL(struct kcreatepartitions_req, validate_only, 0, KV_MAX));
KSCHEMA_LOCAL(s_createpartitions_result, "CreatePartitionsTopicResult",
              KF_STR(struct kcreatepartitions_result, name, 0, KV_MAX, KV_NEVER),
              KF_I16(struct kcreatepartitions_result, error_code, 0, KV_MAX),
              KF_STR(struct kcreatepartitions_result, error_message, 0, KV_MAX, 0));
KSCHEMA(kschema_createpartitions_resp, "CreatePartitionsResponse",
        KF_I32(struct kcreatepartitions_resp, throttle_time_ms, 0, KV_MAX),
        KF_ARR(struct kcreatepartitions_resp, results, nresults, 0, KV_MAX, KV_NEVER,
               &s_createpartitions_result));

/* ---- DescribeConfigs ---- */
KSCHEMA_LOCAL(s_describeconfigs_resource, "DescribeConfigsResource",
              KF_I8(struct kdescribeconfigs_resource, resource_type, 0, KV_MAX),
              KF_STR(struct kdescribeconfigs_resource, resource_name, 0, KV_MAX, KV_NEVER),
              KF_PARR(struct kdescribeconfigs_resource, configuration_keys, nconfiguration_keys, 0,
                      KV_MAX, 0, KT_STR));
KSCHEMA(kschema_describeconfigs_req, "DescribeConfigsRequest",
        KF_ARR(struct kdescribeconfigs_req, resources, nresources, 0, KV_MAX, KV_NEVER,
               &s_describeconfigs_resource),
        KF_BOOL(struct kdescribeconfigs_req, include_synonyms, 1, KV_MAX),
        KF_BOOL(struct kdescribeconfigs_req, include_documentation, 3, KV_MAX));
KSCHEMA_LOCAL(s_describeconfigs_synonym, "DescribeConfigsSynonym",
              KF_STR(struct kdescribeconfigs_synonym, name, 1, KV_MAX, KV_NEVER),
              KF_STR(struct kdescribeconfigs_synonym, value, 1, KV_MAX, 0),
              KF_I8(struct kdescribeconfigs_synonym, source, 1, KV_MAX));
KSCHEMA_LOCAL(s_describeconfigs_config, "DescribeConfigsResourceResult",
              KF_STR(struct kdescribeconfigs_config, name, 0, KV_MAX, KV_NEVER),
              KF_STR(struct kdescribeconfigs_config, value, 0, KV_MAX, 0),
              KF_BOOL(struct kdescribeconfigs_config, read_only, 0, KV_MAX),
              KF_BOOL(struct kdescribeconfigs_config, is_default, 0, 0),
              KF_I8D(struct kdescribeconfigs_config, config_source, 1, KV_MAX, -1),
              KF_BOOL(struct kdescribeconfigs_config, is_sensitive, 0, KV_MAX),
              KF_ARR(struct kdescribeconfigs_config, synonyms, nsynonyms, 1, KV_MAX, KV_NEVER,
                     &s_describeconfigs_synonym),
              KF_I8(struct kdescribeconfigs_config, config_type, 3, KV_MAX),
              KF_STR(struct kdescribeconfigs_config, documentation, 3, KV_MAX, 0));
KSCHEMA_LOCAL(s_describeconfigs_result, "DescribeConfigsResult",
              KF_I16(struct kdescribeconfigs_result, error_code, 0, KV_MAX),
              KF_STR(struct kdescribeconfigs_result, error_message, 0, KV_MAX, 0),
              KF_I8(struct kdescribeconfigs_result, resource_type, 0, KV_MAX),
              KF_STR(struct kdescribeconfigs_result, resource_name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct kdescribeconfigs_result, configs, nconfigs, 0, KV_MAX, KV_NEVER,
                     &s_describeconfigs_config));
KSCHEMA(kschema_describeconfigs_resp, "DescribeConfigsResponse",
        KF_I32(struct kdescribeconfigs_resp, throttle_time_ms, 0, KV_MAX),
        KF_ARR(struct kdescribeconfigs_resp, results, nresults, 0, KV_MAX, KV_NEVER,
               &s_describeconfigs_result));

/* ---- AlterConfigs ---- */
KSCHEMA_LOCAL(s_alterconfigs_resource, "AlterConfigsResource",
              KF_I8(struct kalterconfigs_resource, resource_type, 0, KV_MAX),
              KF_STR(struct kalterconfigs_resource, resource_name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct kalterconfigs_resource, configs, nconfigs, 0, KV_MAX, KV_NEVER,
                     &s_config_kv));
KSCHEMA(kschema_alterconfigs_req, "AlterConfigsRequest",
        KF_ARR(struct kalterconfigs_req, resources, nresources, 0, KV_MAX, KV_NEVER,
               &s_alterconfigs_resource),
        KF_BOOL(struct kalterconfigs_req, validate_only, 0, KV_MAX));
KSCHEMA_LOCAL(s_alterconfigs_result, "AlterConfigsResourceResponse",
              KF_I16(struct kalterconfigs_result, error_code, 0, KV_MAX),
              KF_STR(struct kalterconfigs_result, error_message, 0, KV_MAX, 0),
              KF_I8(struct kalterconfigs_result, resource_type, 0, KV_MAX),
              KF_STR(struct kalterconfigs_result, resource_name, 0, KV_MAX, KV_NEVER));
KSCHEMA(kschema_alterconfigs_resp, "AlterConfigsResponse",
        KF_I32(struct kalterconfigs_resp, throttle_time_ms, 0, KV_MAX),
        KF_ARR(struct kalterconfigs_resp, responses, nresponses, 0, KV_MAX, KV_NEVER,
               &s_alterconfigs_result));

/* ---- IncrementalAlterConfigs ---- */
KSCHEMA_LOCAL(s_incalterconfigs_config, "AlterableConfig",
              KF_STR(struct kincalterconfigs_config, name, 0, KV_MAX, KV_NEVER),
              KF_I8(struct kincalterconfigs_config, config_operation, 0, KV_MAX),
              KF_STR(struct kincalterconfigs_config, value, 0, KV_MAX, 0));
KSCHEMA_LOCAL(s_incalterconfigs_resource, "AlterConfigsResource",
              KF_I8(struct kincalterconfigs_resource, resource_type, 0, KV_MAX),
              KF_STR(struct kincalterconfigs_resource, resource_name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct kincalterconfigs_resource, configs, nconfigs, 0, KV_MAX, KV_NEVER,
                     &s_incalterconfigs_config));
KSCHEMA(kschema_incalterconfigs_req, "IncrementalAlterConfigsRequest",
        KF_ARR(struct kincalterconfigs_req, resources, nresources, 0, KV_MAX, KV_NEVER,
               &s_incalterconfigs_resource),
        KF_BOOL(struct kincalterconfigs_req, validate_only, 0, KV_MAX));
KSCHEMA(kschema_incalterconfigs_resp, "IncrementalAlterConfigsResponse",
        KF_I32(struct kalterconfigs_resp, throttle_time_ms, 0, KV_MAX),
        KF_ARR(struct kalterconfigs_resp, responses, nresponses, 0, KV_MAX, KV_NEVER,
               &s_alterconfigs_result));

/* ---- InitProducerId ---- */
KSCHEMA(kschema_initproducerid_req, "InitProducerIdRequest",
        KF_STR(struct kinitproducerid_req, transactional_id, 0, KV_MAX, 0),
        KF_I32(struct kinitproducerid_req, transaction_timeout_ms, 0, KV_MAX),
        KF_I64D(struct kinitproducerid_req, producer_id, 3, KV_MAX, -1),
        KF_I16D(struct kinitproducerid_req, producer_epoch, 3, KV_MAX, -1));
KSCHEMA(kschema_initproducerid_resp, "InitProducerIdResponse",
        KF_I32(struct kinitproducerid_resp, throttle_time_ms, 0, KV_MAX),
        KF_I16(struct kinitproducerid_resp, error_code, 0, KV_MAX),
        KF_I64D(struct kinitproducerid_resp, producer_id, 0, KV_MAX, -1),
        KF_I16(struct kinitproducerid_resp, producer_epoch, 0, KV_MAX));
