/*
 * kmsg_core.c — schemas of ApiVersions, Metadata, Produce, Fetch and ListOffsets.
 *
 * Each table follows the field order and version annotations of Kafka's message JSON specs
 * (ApiVersionsRequest.json, MetadataResponse.json, ...). Versions listed here beyond what
 * kapi.c advertises are harmless: the dispatch table bounds what is decoded.
 */
#include "kafka/kmsg.h"

/* ---- ApiVersions ---- */
KSCHEMA(kschema_apiversions_req, "ApiVersionsRequest",
        KF_STR(struct kapiversions_req, client_software_name, 3, KV_MAX, KV_NEVER),
        KF_STR(struct kapiversions_req, client_software_version, 3, KV_MAX, KV_NEVER));
KSCHEMA_LOCAL(s_apiversions_key, "ApiVersion", KF_I16(struct kapiversions_key, api_key, 0, KV_MAX),
              KF_I16(struct kapiversions_key, min_version, 0, KV_MAX),
              KF_I16(struct kapiversions_key, max_version, 0, KV_MAX));
KSCHEMA(kschema_apiversions_resp, "ApiVersionsResponse",
        KF_I16(struct kapiversions_resp, error_code, 0, KV_MAX),
        KF_ARR(struct kapiversions_resp, api_keys, napi_keys, 0, KV_MAX, KV_NEVER,
               &s_apiversions_key),
        KF_I32(struct kapiversions_resp, throttle_time_ms, 1, KV_MAX));

/* ---- Metadata ---- */
KSCHEMA_LOCAL(s_metadata_req_topic, "MetadataRequestTopic",
              KF_UUID(struct kmetadata_req_topic, topic_id, 10, KV_MAX),
              KF_STR(struct kmetadata_req_topic, name, 0, KV_MAX, 10));
KSCHEMA(kschema_metadata_req, "MetadataRequest",
        KF_ARR(struct kmetadata_req, topics, ntopics, 0, KV_MAX, 1, &s_metadata_req_topic),
        KF_BOOLD(struct kmetadata_req, allow_auto_topic_creation, 4, KV_MAX, 1),
        KF_BOOL(struct kmetadata_req, include_cluster_authorized_operations, 8, 10),
        KF_BOOL(struct kmetadata_req, include_topic_authorized_operations, 8, KV_MAX));
KSCHEMA_LOCAL(s_metadata_broker, "MetadataResponseBroker",
              KF_I32(struct kmetadata_broker, node_id, 0, KV_MAX),
              KF_STR(struct kmetadata_broker, host, 0, KV_MAX, KV_NEVER),
              KF_I32(struct kmetadata_broker, port, 0, KV_MAX),
              KF_STR(struct kmetadata_broker, rack, 1, KV_MAX, 1));
KSCHEMA_LOCAL(s_metadata_partition, "MetadataResponsePartition",
              KF_I16(struct kmetadata_partition, error_code, 0, KV_MAX),
              KF_I32(struct kmetadata_partition, partition_index, 0, KV_MAX),
              KF_I32(struct kmetadata_partition, leader_id, 0, KV_MAX),
              KF_I32D(struct kmetadata_partition, leader_epoch, 7, KV_MAX, -1),
              KF_PARR(struct kmetadata_partition, replica_nodes, nreplica_nodes, 0, KV_MAX,
                      KV_NEVER, KT_I32),
              KF_PARR(struct kmetadata_partition, isr_nodes, nisr_nodes, 0, KV_MAX, KV_NEVER,
                      KT_I32),
              KF_PARR(struct kmetadata_partition, offline_replicas, noffline_replicas, 5, KV_MAX,
                      KV_NEVER, KT_I32));
KSCHEMA_LOCAL(s_metadata_topic, "MetadataResponseTopic",
              KF_I16(struct kmetadata_topic, error_code, 0, KV_MAX),
              KF_STR(struct kmetadata_topic, name, 0, KV_MAX, 12),
              KF_UUID(struct kmetadata_topic, topic_id, 10, KV_MAX),
              KF_BOOL(struct kmetadata_topic, is_internal, 1, KV_MAX),
              KF_ARR(struct kmetadata_topic, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_metadata_partition),
              KF_I32D(struct kmetadata_topic, topic_authorized_operations, 8, KV_MAX, INT32_MIN));
KSCHEMA(kschema_metadata_resp, "MetadataResponse",
        KF_I32(struct kmetadata_resp, throttle_time_ms, 3, KV_MAX),
        KF_ARR(struct kmetadata_resp, brokers, nbrokers, 0, KV_MAX, KV_NEVER, &s_metadata_broker),
        KF_STR(struct kmetadata_resp, cluster_id, 2, KV_MAX, 2),
        KF_I32D(struct kmetadata_resp, controller_id, 1, KV_MAX, -1),
        KF_ARR(struct kmetadata_resp, topics, ntopics, 0, KV_MAX, KV_NEVER, &s_metadata_topic),
        KF_I32D(struct kmetadata_resp, cluster_authorized_operations, 8, 10, INT32_MIN));

/* ---- Produce ---- */
KSCHEMA_LOCAL(s_produce_partition, "PartitionProduceData",
              KF_I32(struct kproduce_partition, index, 0, KV_MAX),
              KF_RECORDS(struct kproduce_partition, records, 0, KV_MAX));
KSCHEMA_LOCAL(s_produce_topic, "TopicProduceData",
              KF_STR(struct kproduce_topic, name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct kproduce_topic, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_produce_partition));
KSCHEMA(kschema_produce_req, "ProduceRequest",
        KF_STR(struct kproduce_req, transactional_id, 3, KV_MAX, 3),
        KF_I16(struct kproduce_req, acks, 0, KV_MAX),
        KF_I32(struct kproduce_req, timeout_ms, 0, KV_MAX),
        KF_ARR(struct kproduce_req, topics, ntopics, 0, KV_MAX, KV_NEVER, &s_produce_topic));
KSCHEMA_LOCAL(s_produce_record_error, "BatchIndexAndErrorMessage",
              KF_I32(struct kproduce_record_error, batch_index, 8, KV_MAX),
              KF_STR(struct kproduce_record_error, batch_index_error_message, 8, KV_MAX, 8));
KSCHEMA_LOCAL(s_produce_partition_resp, "PartitionProduceResponse",
              KF_I32(struct kproduce_partition_resp, index, 0, KV_MAX),
              KF_I16(struct kproduce_partition_resp, error_code, 0, KV_MAX),
              KF_I64(struct kproduce_partition_resp, base_offset, 0, KV_MAX),
              KF_I64D(struct kproduce_partition_resp, log_append_time_ms, 2, KV_MAX, -1),
              KF_I64D(struct kproduce_partition_resp, log_start_offset, 5, KV_MAX, -1),
              KF_ARR(struct kproduce_partition_resp, record_errors, nrecord_errors, 8, KV_MAX,
                     KV_NEVER, &s_produce_record_error),
              KF_STR(struct kproduce_partition_resp, error_message, 8, KV_MAX, 8));
KSCHEMA_LOCAL(s_produce_topic_resp, "TopicProduceResponse",
              KF_STR(struct kproduce_topic_resp, name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct kproduce_topic_resp, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_produce_partition_resp));
KSCHEMA(kschema_produce_resp, "ProduceResponse",
        KF_ARR(struct kproduce_resp, topics, ntopics, 0, KV_MAX, KV_NEVER, &s_produce_topic_resp),
        KF_I32(struct kproduce_resp, throttle_time_ms, 1, KV_MAX));

/* ---- Fetch ---- */
KSCHEMA_LOCAL(s_fetch_partition, "FetchPartition",
              KF_I32(struct kfetch_partition, partition, 0, KV_MAX),
              KF_I32D(struct kfetch_partition, current_leader_epoch, 9, KV_MAX, -1),
              KF_I64(struct kfetch_partition, fetch_offset, 0, KV_MAX),
              KF_I32D(struct kfetch_partition, last_fetched_epoch, 12, KV_MAX, -1),
              KF_I64D(struct kfetch_partition, log_start_offset, 5, KV_MAX, -1),
              KF_I32(struct kfetch_partition, partition_max_bytes, 0, KV_MAX));
KSCHEMA_LOCAL(s_fetch_topic, "FetchTopic", KF_STR(struct kfetch_topic, topic, 0, 12, KV_NEVER),
              KF_ARR(struct kfetch_topic, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_fetch_partition));
KSCHEMA_LOCAL(s_fetch_forgotten, "ForgottenTopic",
              KF_STR(struct kfetch_forgotten, topic, 7, 12, KV_NEVER),
              KF_PARR(struct kfetch_forgotten, partitions, npartitions, 7, KV_MAX, KV_NEVER,
                      KT_I32));
KSCHEMA(kschema_fetch_req, "FetchRequest", KF_TAG_STR(struct kfetch_req, cluster_id, 12, 0),
        KF_I32(struct kfetch_req, replica_id, 0, KV_MAX),
        KF_I32(struct kfetch_req, max_wait_ms, 0, KV_MAX),
        KF_I32(struct kfetch_req, min_bytes, 0, KV_MAX),
        KF_I32D(struct kfetch_req, max_bytes, 3, KV_MAX, 0x7fffffff),
        KF_I8(struct kfetch_req, isolation_level, 4, KV_MAX),
        KF_I32(struct kfetch_req, session_id, 7, KV_MAX),
        KF_I32D(struct kfetch_req, session_epoch, 7, KV_MAX, -1),
        KF_ARR(struct kfetch_req, topics, ntopics, 0, KV_MAX, KV_NEVER, &s_fetch_topic),
        KF_ARR(struct kfetch_req, forgotten_topics_data, nforgotten_topics_data, 7, KV_MAX,
               KV_NEVER, &s_fetch_forgotten),
        KF_STR(struct kfetch_req, rack_id, 11, KV_MAX, KV_NEVER));
KSCHEMA_LOCAL(s_fetch_aborted, "AbortedTransaction",
              KF_I64(struct kfetch_aborted, producer_id, 4, KV_MAX),
              KF_I64(struct kfetch_aborted, first_offset, 4, KV_MAX));
KSCHEMA_LOCAL(s_fetch_partition_resp, "PartitionData",
              KF_I32(struct kfetch_partition_resp, partition_index, 0, KV_MAX),
              KF_I16(struct kfetch_partition_resp, error_code, 0, KV_MAX),
              KF_I64(struct kfetch_partition_resp, high_watermark, 0, KV_MAX),
              KF_I64D(struct kfetch_partition_resp, last_stable_offset, 4, KV_MAX, -1),
              KF_I64D(struct kfetch_partition_resp, log_start_offset, 5, KV_MAX, -1),
              KF_ARR(struct kfetch_partition_resp, aborted_transactions, naborted_transactions, 4,
                     KV_MAX, 4, &s_fetch_aborted),
              KF_I32D(struct kfetch_partition_resp, preferred_read_replica, 11, KV_MAX, -1),
              KF_RECORDS(struct kfetch_partition_resp, records, 0, KV_MAX));
KSCHEMA_LOCAL(s_fetch_topic_resp, "FetchableTopicResponse",
              KF_STR(struct kfetch_topic_resp, topic, 0, 12, KV_NEVER),
              KF_ARR(struct kfetch_topic_resp, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_fetch_partition_resp));
KSCHEMA(kschema_fetch_resp, "FetchResponse",
        KF_I32(struct kfetch_resp, throttle_time_ms, 1, KV_MAX),
        KF_I16(struct kfetch_resp, error_code, 7, KV_MAX),
        KF_I32(struct kfetch_resp, session_id, 7, KV_MAX),
        KF_ARR(struct kfetch_resp, responses, nresponses, 0, KV_MAX, KV_NEVER,
               &s_fetch_topic_resp));

/* ---- ListOffsets ---- */
KSCHEMA_LOCAL(s_listoffsets_partition, "ListOffsetsPartition",
              KF_I32(struct klistoffsets_partition, partition_index, 0, KV_MAX),
              KF_I32D(struct klistoffsets_partition, current_leader_epoch, 4, KV_MAX, -1),
              KF_I64(struct klistoffsets_partition, timestamp, 0, KV_MAX),
              KF_I32D(struct klistoffsets_partition, max_num_offsets, 0, 0, 1));
KSCHEMA_LOCAL(s_listoffsets_topic, "ListOffsetsTopic",
              KF_STR(struct klistoffsets_topic, name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct klistoffsets_topic, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_listoffsets_partition));
KSCHEMA(kschema_listoffsets_req, "ListOffsetsRequest",
        KF_I32(struct klistoffsets_req, replica_id, 0, KV_MAX),
        KF_I8(struct klistoffsets_req, isolation_level, 2, KV_MAX),
        KF_ARR(struct klistoffsets_req, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_listoffsets_topic));
KSCHEMA_LOCAL(s_listoffsets_partition_resp, "ListOffsetsPartitionResponse",
              KF_I32(struct klistoffsets_partition_resp, partition_index, 0, KV_MAX),
              KF_I16(struct klistoffsets_partition_resp, error_code, 0, KV_MAX),
              KF_PARR(struct klistoffsets_partition_resp, old_style_offsets, nold_style_offsets, 0,
                      0, KV_NEVER, KT_I64),
              KF_I64D(struct klistoffsets_partition_resp, timestamp, 1, KV_MAX, -1),
              KF_I64D(struct klistoffsets_partition_resp, offset, 1, KV_MAX, -1),
              KF_I32D(struct klistoffsets_partition_resp, leader_epoch, 4, KV_MAX, -1));
KSCHEMA_LOCAL(s_listoffsets_topic_resp, "ListOffsetsTopicResponse",
              KF_STR(struct klistoffsets_topic_resp, name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct klistoffsets_topic_resp, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_listoffsets_partition_resp));
KSCHEMA(kschema_listoffsets_resp, "ListOffsetsResponse",
        KF_I32(struct klistoffsets_resp, throttle_time_ms, 2, KV_MAX),
        KF_ARR(struct klistoffsets_resp, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_listoffsets_topic_resp));
