/*
 * kgroups.c — schemas of the consumer-group APIs, in the field order and with the version
 * annotations of Kafka's message JSON specs (JoinGroupRequest.json, OffsetCommitRequest.json,
 * ...). Fields of versions above the implemented ranges (kgroups.h) are left out.
 */
#include "kafka/kgroups.h"

#include <stddef.h>

/* ---- FindCoordinator ---- */
KSCHEMA(kschema_findcoordinator_req, "FindCoordinatorRequest",
        KF_STR(struct kfindcoordinator_req, key, 0, 3, KV_NEVER),
        KF_I8(struct kfindcoordinator_req, key_type, 1, KV_MAX));
KSCHEMA(kschema_findcoordinator_resp, "FindCoordinatorResponse",
        KF_I32(struct kfindcoordinator_resp, throttle_time_ms, 1, KV_MAX),
        KF_I16(struct kfindcoordinator_resp, error_code, 0, 3),
        KF_STR(struct kfindcoordinator_resp, error_message, 1, 3, 1),
        KF_I32(struct kfindcoordinator_resp, node_id, 0, 3),
        KF_STR(struct kfindcoordinator_resp, host, 0, 3, KV_NEVER),
        KF_I32(struct kfindcoordinator_resp, port, 0, 3));

/* ---- JoinGroup ---- */
KSCHEMA_LOCAL(s_joingroup_protocol, "JoinGroupRequestProtocol",
              KF_STR(struct kjoingroup_protocol, name, 0, KV_MAX, KV_NEVER),
              KF_BYTES(struct kjoingroup_protocol, metadata, 0, KV_MAX, KV_NEVER));
KSCHEMA(kschema_joingroup_req, "JoinGroupRequest",
        KF_STR(struct kjoingroup_req, group_id, 0, KV_MAX, KV_NEVER),
        KF_I32(struct kjoingroup_req, session_timeout_ms, 0, KV_MAX),
        KF_I32D(struct kjoingroup_req, rebalance_timeout_ms, 1, KV_MAX, -1),
        KF_STR(struct kjoingroup_req, member_id, 0, KV_MAX, KV_NEVER),
        KF_STR(struct kjoingroup_req, group_instance_id, 5, KV_MAX, 5),
        KF_STR(struct kjoingroup_req, protocol_type, 0, KV_MAX, KV_NEVER),
        KF_ARR(struct kjoingroup_req, protocols, nprotocols, 0, KV_MAX, KV_NEVER,
               &s_joingroup_protocol));
KSCHEMA_LOCAL(s_joingroup_member, "JoinGroupResponseMember",
              KF_STR(struct kjoingroup_member, member_id, 0, KV_MAX, KV_NEVER),
              KF_STR(struct kjoingroup_member, group_instance_id, 5, KV_MAX, 5),
              KF_BYTES(struct kjoingroup_member, metadata, 0, KV_MAX, KV_NEVER));
KSCHEMA(kschema_joingroup_resp, "JoinGroupResponse",
        KF_I32(struct kjoingroup_resp, throttle_time_ms, 2, KV_MAX),
        KF_I16(struct kjoingroup_resp, error_code, 0, KV_MAX),
        KF_I32D(struct kjoingroup_resp, generation_id, 0, KV_MAX, -1),
        KF_STR(struct kjoingroup_resp, protocol_name, 0, KV_MAX, 7),
        KF_STR(struct kjoingroup_resp, leader, 0, KV_MAX, KV_NEVER),
        KF_STR(struct kjoingroup_resp, member_id, 0, KV_MAX, KV_NEVER),
        KF_ARR(struct kjoingroup_resp, members, nmembers, 0, KV_MAX, KV_NEVER,
               &s_joingroup_member));

/* ---- Heartbeat ---- */
KSCHEMA(kschema_heartbeat_req, "HeartbeatRequest",
        KF_STR(struct kheartbeat_req, group_id, 0, KV_MAX, KV_NEVER),
        KF_I32(struct kheartbeat_req, generation_id, 0, KV_MAX),
        KF_STR(struct kheartbeat_req, member_id, 0, KV_MAX, KV_NEVER),
        KF_STR(struct kheartbeat_req, group_instance_id, 3, KV_MAX, 3));
KSCHEMA(kschema_heartbeat_resp, "HeartbeatResponse",
        KF_I32(struct kheartbeat_resp, throttle_time_ms, 1, KV_MAX),
        KF_I16(struct kheartbeat_resp, error_code, 0, KV_MAX));

/* ---- LeaveGroup ---- */
KSCHEMA_LOCAL(s_leavegroup_member, "MemberIdentity",
              KF_STR(struct kleavegroup_member, member_id, 3, KV_MAX, KV_NEVER),
              KF_STR(struct kleavegroup_member, group_instance_id, 3, KV_MAX, 3));
KSCHEMA(kschema_leavegroup_req, "LeaveGroupRequest",
        KF_STR(struct kleavegroup_req, group_id, 0, KV_MAX, KV_NEVER),
        KF_STR(struct kleavegroup_req, member_id, 0, 2, KV_NEVER),
        KF_ARR(struct kleavegroup_req, members, nmembers, 3, KV_MAX, KV_NEVER,
               &s_leavegroup_member));
KSCHEMA_LOCAL(s_leavegroup_member_resp, "MemberResponse",
              KF_STR(struct kleavegroup_member_resp, member_id, 3, KV_MAX, KV_NEVER),
              KF_STR(struct kleavegroup_member_resp, group_instance_id, 3, KV_MAX, 3),
              KF_I16(struct kleavegroup_member_resp, error_code, 3, KV_MAX));
KSCHEMA(kschema_leavegroup_resp, "LeaveGroupResponse",
        KF_I32(struct kleavegroup_resp, throttle_time_ms, 1, KV_MAX),
        KF_I16(struct kleavegroup_resp, error_code, 0, KV_MAX),
        KF_ARR(struct kleavegroup_resp, members, nmembers, 3, KV_MAX, KV_NEVER,
               &s_leavegroup_member_resp));

/* ---- SyncGroup ---- */
KSCHEMA_LOCAL(s_syncgroup_assignment, "SyncGroupRequestAssignment",
              KF_STR(struct ksyncgroup_assignment, member_id, 0, KV_MAX, KV_NEVER),
              KF_BYTES(struct ksyncgroup_assignment, assignment, 0, KV_MAX, KV_NEVER));
KSCHEMA(kschema_syncgroup_req, "SyncGroupRequest",
        KF_STR(struct ksyncgroup_req, group_id, 0, KV_MAX, KV_NEVER),
        KF_I32(struct ksyncgroup_req, generation_id, 0, KV_MAX),
        KF_STR(struct ksyncgroup_req, member_id, 0, KV_MAX, KV_NEVER),
        KF_STR(struct ksyncgroup_req, group_instance_id, 3, KV_MAX, 3),
        KF_ARR(struct ksyncgroup_req, assignments, nassignments, 0, KV_MAX, KV_NEVER,
               &s_syncgroup_assignment));
KSCHEMA(kschema_syncgroup_resp, "SyncGroupResponse",
        KF_I32(struct ksyncgroup_resp, throttle_time_ms, 1, KV_MAX),
        KF_I16(struct ksyncgroup_resp, error_code, 0, KV_MAX),
        KF_BYTES(struct ksyncgroup_resp, assignment, 0, KV_MAX, KV_NEVER));

/* ---- DescribeGroups ---- */
KSCHEMA(kschema_describegroups_req, "DescribeGroupsRequest",
        KF_PARR(struct kdescribegroups_req, groups, ngroups, 0, KV_MAX, KV_NEVER, KT_STR),
        KF_BOOL(struct kdescribegroups_req, include_authorized_operations, 3, KV_MAX));
KSCHEMA_LOCAL(s_describegroups_member, "DescribedGroupMember",
              KF_STR(struct kdescribegroups_member, member_id, 0, KV_MAX, KV_NEVER),
              KF_STR(struct kdescribegroups_member, group_instance_id, 4, KV_MAX, 4),
              KF_STR(struct kdescribegroups_member, client_id, 0, KV_MAX, KV_NEVER),
              KF_STR(struct kdescribegroups_member, client_host, 0, KV_MAX, KV_NEVER),
              KF_BYTES(struct kdescribegroups_member, member_metadata, 0, KV_MAX, KV_NEVER),
              KF_BYTES(struct kdescribegroups_member, member_assignment, 0, KV_MAX, KV_NEVER));
KSCHEMA_LOCAL(s_describegroups_group, "DescribedGroup",
              KF_I16(struct kdescribegroups_group, error_code, 0, KV_MAX),
              KF_STR(struct kdescribegroups_group, group_id, 0, KV_MAX, KV_NEVER),
              KF_STR(struct kdescribegroups_group, group_state, 0, KV_MAX, KV_NEVER),
              KF_STR(struct kdescribegroups_group, protocol_type, 0, KV_MAX, KV_NEVER),
              KF_STR(struct kdescribegroups_group, protocol_data, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct kdescribegroups_group, members, nmembers, 0, KV_MAX, KV_NEVER,
                     &s_describegroups_member),
              KF_I32D(struct kdescribegroups_group, authorized_operations, 3, KV_MAX, INT32_MIN));
KSCHEMA(kschema_describegroups_resp, "DescribeGroupsResponse",
        KF_I32(struct kdescribegroups_resp, throttle_time_ms, 1, KV_MAX),
        KF_ARR(struct kdescribegroups_resp, groups, ngroups, 0, KV_MAX, KV_NEVER,
               &s_describegroups_group));

/* ---- ListGroups ---- */
KSCHEMA(kschema_listgroups_req, "ListGroupsRequest",
        KF_PARR(struct klistgroups_req, states_filter, nstates_filter, 4, KV_MAX, KV_NEVER,
                KT_STR));
KSCHEMA_LOCAL(s_listgroups_group, "ListedGroup",
              KF_STR(struct klistgroups_group, group_id, 0, KV_MAX, KV_NEVER),
              KF_STR(struct klistgroups_group, protocol_type, 0, KV_MAX, KV_NEVER),
              KF_STR(struct klistgroups_group, group_state, 4, KV_MAX, KV_NEVER));
KSCHEMA(kschema_listgroups_resp, "ListGroupsResponse",
        KF_I32(struct klistgroups_resp, throttle_time_ms, 1, KV_MAX),
        KF_I16(struct klistgroups_resp, error_code, 0, KV_MAX),
        KF_ARR(struct klistgroups_resp, groups, ngroups, 0, KV_MAX, KV_NEVER, &s_listgroups_group));

/* ---- OffsetCommit ---- */
KSCHEMA_LOCAL(s_offsetcommit_partition, "OffsetCommitRequestPartition",
              KF_I32(struct koffsetcommit_partition, partition_index, 0, KV_MAX),
              KF_I64(struct koffsetcommit_partition, committed_offset, 0, KV_MAX),
              KF_I32D(struct koffsetcommit_partition, committed_leader_epoch, 6, KV_MAX, -1),
              KF_I64D(struct koffsetcommit_partition, commit_timestamp, 1, 1, -1),
              KF_STR(struct koffsetcommit_partition, committed_metadata, 0, KV_MAX, 0));
KSCHEMA_LOCAL(s_offsetcommit_topic, "OffsetCommitRequestTopic",
              KF_STR(struct koffsetcommit_topic, name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct koffsetcommit_topic, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_offsetcommit_partition));
KSCHEMA(kschema_offsetcommit_req, "OffsetCommitRequest",
        KF_STR(struct koffsetcommit_req, group_id, 0, KV_MAX, KV_NEVER),
        KF_I32D(struct koffsetcommit_req, generation_id, 1, KV_MAX, -1),
        KF_STR(struct koffsetcommit_req, member_id, 1, KV_MAX, KV_NEVER),
        KF_STR(struct koffsetcommit_req, group_instance_id, 7, KV_MAX, 7),
        KF_I64D(struct koffsetcommit_req, retention_time_ms, 2, 4, -1),
        KF_ARR(struct koffsetcommit_req, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_offsetcommit_topic));
KSCHEMA_LOCAL(s_group_partition_error, "PartitionError",
              KF_I32(struct kgroup_partition_error, partition_index, 0, KV_MAX),
              KF_I16(struct kgroup_partition_error, error_code, 0, KV_MAX));
KSCHEMA_LOCAL(s_group_topic_errors, "TopicErrors",
              KF_STR(struct kgroup_topic_errors, name, 0, KV_MAX, KV_NEVER),
              KF_ARR(struct kgroup_topic_errors, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                     &s_group_partition_error));
KSCHEMA(kschema_offsetcommit_resp, "OffsetCommitResponse",
        KF_I32(struct koffsetcommit_resp, throttle_time_ms, 3, KV_MAX),
        KF_ARR(struct koffsetcommit_resp, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_group_topic_errors));

/* ---- OffsetFetch ---- */
KSCHEMA_LOCAL(s_offsetfetch_topic, "OffsetFetchRequestTopic",
              KF_STR(struct koffsetfetch_topic, name, 0, 7, KV_NEVER),
              KF_PARR(struct koffsetfetch_topic, partition_indexes, npartition_indexes, 0, 7,
                      KV_NEVER, KT_I32));
KSCHEMA(kschema_offsetfetch_req, "OffsetFetchRequest",
        KF_STR(struct koffsetfetch_req, group_id, 0, 7, KV_NEVER),
        KF_ARR(struct koffsetfetch_req, topics, ntopics, 0, 7, 2, &s_offsetfetch_topic),
        KF_BOOL(struct koffsetfetch_req, require_stable, 7, KV_MAX));
KSCHEMA_LOCAL(s_offsetfetch_partition, "OffsetFetchResponsePartition",
              KF_I32(struct koffsetfetch_partition, partition_index, 0, 7),
              KF_I64(struct koffsetfetch_partition, committed_offset, 0, 7),
              KF_I32D(struct koffsetfetch_partition, committed_leader_epoch, 5, 7, -1),
              KF_STR(struct koffsetfetch_partition, metadata, 0, 7, 0),
              KF_I16(struct koffsetfetch_partition, error_code, 0, 7));
KSCHEMA_LOCAL(s_offsetfetch_topic_resp, "OffsetFetchResponseTopic",
              KF_STR(struct koffsetfetch_topic_resp, name, 0, 7, KV_NEVER),
              KF_ARR(struct koffsetfetch_topic_resp, partitions, npartitions, 0, 7, KV_NEVER,
                     &s_offsetfetch_partition));
KSCHEMA(kschema_offsetfetch_resp, "OffsetFetchResponse",
        KF_I32(struct koffsetfetch_resp, throttle_time_ms, 3, KV_MAX),
        KF_ARR(struct koffsetfetch_resp, topics, ntopics, 0, 7, KV_NEVER,
               &s_offsetfetch_topic_resp),
        KF_I16(struct koffsetfetch_resp, error_code, 2, 7));

/* ---- DeleteGroups ---- */
KSCHEMA(kschema_deletegroups_req, "DeleteGroupsRequest",
        KF_PARR(struct kdeletegroups_req, groups_names, ngroups_names, 0, KV_MAX, KV_NEVER,
                KT_STR));
KSCHEMA_LOCAL(s_deletegroups_result, "DeletableGroupResult",
              KF_STR(struct kdeletegroups_result, group_id, 0, KV_MAX, KV_NEVER),
              KF_I16(struct kdeletegroups_result, error_code, 0, KV_MAX));
KSCHEMA(kschema_deletegroups_resp, "DeleteGroupsResponse",
        KF_I32(struct kdeletegroups_resp, throttle_time_ms, 0, KV_MAX),
        KF_ARR(struct kdeletegroups_resp, results, nresults, 0, KV_MAX, KV_NEVER,
               &s_deletegroups_result));

/* ---- OffsetDelete ---- */
KSCHEMA_LOCAL(s_offsetdelete_topic, "OffsetDeleteRequestTopic",
              KF_STR(struct koffsetdelete_topic, name, 0, KV_MAX, KV_NEVER),
              KF_PARR(struct koffsetdelete_topic, partitions, npartitions, 0, KV_MAX, KV_NEVER,
                      KT_I32));
KSCHEMA(kschema_offsetdelete_req, "OffsetDeleteRequest",
        KF_STR(struct koffsetdelete_req, group_id, 0, KV_MAX, KV_NEVER),
        KF_ARR(struct koffsetdelete_req, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_offsetdelete_topic));
KSCHEMA(kschema_offsetdelete_resp, "OffsetDeleteResponse",
        KF_I16(struct koffsetdelete_resp, error_code, 0, KV_MAX),
        KF_I32(struct koffsetdelete_resp, throttle_time_ms, 0, KV_MAX),
        KF_ARR(struct koffsetdelete_resp, topics, ntopics, 0, KV_MAX, KV_NEVER,
               &s_group_topic_errors));
