/*
 * kapi.c — API table, request header parsing, whole-request decode, response framing.
 *
 * Request header v1 (non-flexible versions):
 *   api_key INT16 | api_version INT16 | correlation_id INT32 | client_id NULLABLE_STRING
 * Request header v2 (flexible versions): v1 followed by a tagged-field section. client_id stays
 * a classic (INT16-length) NULLABLE_STRING.
 * Response header v0: correlation_id INT32; v1 adds a tagged-field section. ApiVersions
 * responses always use v0 so a client can read the error before knowing the broker's versions.
 */
#include "kafka/kapi.h"
#include "kafka/kgroups.h"

#include <string.h>

/*
 * Supported versions. Chosen so both librdkafka 2.0.2 (kcat) and kafkajs 2.2.4 find their
 * preferred versions; see docs/kafka.md for the reasons per API. Sorted by key.
 * Consumer-group APIs (8-16, 42, 47) have their schemas in kgroups.c.
 */
#define API(k, n, lo, hi, fx, s, t)                                                                \
    {                                                                                              \
        .key = (k), .name = (n), .min_version = (lo), .max_version = (hi), .flex_min = (fx),       \
        .req = &kschema_##s##_req, .resp = &kschema_##s##_resp, .req_size = sizeof(struct t)       \
    }
static const struct kapi kapis[] = {
    API(KAPI_PRODUCE, "Produce", 3, 9, 9, produce, kproduce_req),
    API(KAPI_FETCH, "Fetch", 4, 12, 12, fetch, kfetch_req),
    API(KAPI_LIST_OFFSETS, "ListOffsets", 1, 7, 6, listoffsets, klistoffsets_req),
    API(KAPI_METADATA, "Metadata", 1, 12, 9, metadata, kmetadata_req),
    API(KAPI_OFFSET_COMMIT, "OffsetCommit", 0, 7, 8, offsetcommit, koffsetcommit_req),
    API(KAPI_OFFSET_FETCH, "OffsetFetch", 0, 7, 6, offsetfetch, koffsetfetch_req),
    API(KAPI_FIND_COORDINATOR, "FindCoordinator", 0, 2, 3, findcoordinator, kfindcoordinator_req),
    API(KAPI_JOIN_GROUP, "JoinGroup", 0, 5, 6, joingroup, kjoingroup_req),
    API(KAPI_HEARTBEAT, "Heartbeat", 0, 3, 4, heartbeat, kheartbeat_req),
    API(KAPI_LEAVE_GROUP, "LeaveGroup", 0, 3, 4, leavegroup, kleavegroup_req),
    API(KAPI_SYNC_GROUP, "SyncGroup", 0, 3, 4, syncgroup, ksyncgroup_req),
    API(KAPI_DESCRIBE_GROUPS, "DescribeGroups", 0, 4, 5, describegroups, kdescribegroups_req),
    API(KAPI_LIST_GROUPS, "ListGroups", 0, 4, 3, listgroups, klistgroups_req),
    API(KAPI_API_VERSIONS, "ApiVersions", 0, 3, 3, apiversions, kapiversions_req),
    API(KAPI_CREATE_TOPICS, "CreateTopics", 0, 7, 5, createtopics, kcreatetopics_req),
    API(KAPI_DELETE_TOPICS, "DeleteTopics", 0, 5, 4, deletetopics, kdeletetopics_req),
    API(KAPI_INIT_PRODUCER_ID, "InitProducerId", 0, 4, 2, initproducerid, kinitproducerid_req),
    API(KAPI_DESCRIBE_CONFIGS, "DescribeConfigs", 0, 4, 4, describeconfigs, kdescribeconfigs_req),
    API(KAPI_ALTER_CONFIGS, "AlterConfigs", 0, 2, 2, alterconfigs, kalterconfigs_req),
    API(KAPI_CREATE_PARTITIONS, "CreatePartitions", 0, 3, 2, createpartitions,
        kcreatepartitions_req),
    API(KAPI_DELETE_GROUPS, "DeleteGroups", 0, 1, 2, deletegroups, kdeletegroups_req),
    API(KAPI_INCREMENTAL_ALTER_CONFIGS, "IncrementalAlterConfigs", 0, 1, 1, incalterconfigs,
        kincalterconfigs_req),
    API(KAPI_OFFSET_DELETE, "OffsetDelete", 0, 0, KV_NEVER, offsetdelete, koffsetdelete_req),
};
#undef API

const struct kapi *kapi_table(size_t *n)
{
    *n = sizeof kapis / sizeof kapis[0];
    return kapis;
}

const struct kapi *kapi_find(int key)
{
    for (size_t i = 0; i < sizeof kapis / sizeof kapis[0]; i++)
        if (kapis[i].key == key)
            return &kapis[i];
    return NULL;
}

/*
 * librdkafka 2.0.2 leaves zero padding after some flexible request bodies, which Kafka brokers
 * ignore: OffsetFetch v6+ "all topics" reserves a 4-byte array count and never finalises it
 * (the null array is the first byte, three zeros trail), and ListGroups v4 ends with one extra
 * zero byte. Accept at most 4 trailing zero bytes after a flexible body; anything else is
 * still corrupt.
 */
static bool trailing_padding_ok(const struct kreq *q, const struct rd *r)
{
    if (!q->flex || rd_left(r) > 4)
        return false;
    for (size_t i = r->pos; i < r->len; i++)
        if (r->p[i])
            return false;
    return true;
}

int kafka_request_decode(const uint8_t *p, size_t len, struct karena *a, struct kreq *out)
{
    memset(out, 0, sizeof *out);
    struct rd r;
    rd_init(&r, p, len);
    int rc;
    if ((rc = kr_i16(&r, &out->hdr.api_key)) || (rc = kr_i16(&r, &out->hdr.api_version)) ||
        (rc = kr_i32(&r, &out->hdr.correlation_id)))
        goto fail;
    out->hdr_ok = true;
    out->hdr.client_id.len = -1;
    out->api = kapi_find(out->hdr.api_key);
    if (!out->api || out->hdr.api_version < out->api->min_version ||
        out->hdr.api_version > out->api->max_version) {
        rc = PLG_EUNSUPP;
        goto fail;
    }
    out->flex = kapi_flexible(out->api, out->hdr.api_version);
    if ((rc = kr_str(&r, false, true, &out->hdr.client_id)) || (rc = kr_skip_tags(&r, out->flex)))
        goto fail;
    out->body = karena_alloc(a, out->api->req_size);
    if (!out->body) {
        rc = PLG_ETOOBIG;
        goto fail;
    }
    rc = kmsg_decode(&r, out->api->req, out->hdr.api_version, out->flex, a, out->body);
    if (rc)
        goto fail;
    if (rd_left(&r) && !trailing_padding_ok(out, &r)) {
        rc = PLG_ECORRUPT; /* trailing bytes after the body */
        goto fail;
    }
    return 0;
fail:
    out->err_pos = r.pos;
    return rc;
}

/*
 * Patches the INT32 size at start (the frame spans start+4 .. b->len, plus ext bytes), or rolls
 * the buffer back to start when rc (the body encoder's status) or an allocation failed.
 */
static int frame_finish(struct buf *b, size_t start, size_t ext, int rc)
{
    if (rc && rc != PLG_ENOMEM) {
        b->len = start;
        b->oom = false;
        return rc;
    }
    if (b->oom) {
        b->len = start;
        b->oom = false;
        return PLG_ENOMEM;
    }
    size_t size = b->len - start - 4 + ext;
    if (size > INT32_MAX) {
        b->len = start;
        return PLG_ETOOBIG;
    }
    be32_put(b->data + start, (uint32_t)size);
    return 0;
}

int kafka_request_encode(struct buf *b, const struct kreq_hdr *h, const void *body)
{
    const struct kapi *api = kapi_find(h->api_key);
    if (!api)
        return PLG_EUNSUPP;
    bool flex = kapi_flexible(api, h->api_version);
    size_t start = b->len;
    kw_i32(b, 0);
    kw_i16(b, h->api_key);
    kw_i16(b, h->api_version);
    kw_i32(b, h->correlation_id);
    kw_str(b, false, h->client_id);
    kw_no_tags(b, flex);
    int rc = kmsg_encode_checked(b, api->req, h->api_version, flex, body, NULL, NULL);
    return frame_finish(b, start, 0, rc);
}

int kafka_response_encode(struct buf *b, const struct kreq_hdr *h, const void *resp,
                          const struct kw_hooks *hooks, size_t *ext_bytes)
{
    const struct kapi *api = kapi_find(h->api_key);
    if (!api)
        return PLG_EUNSUPP;
    bool flex = kapi_flexible(api, h->api_version);
    size_t start = b->len;
    kw_i32(b, 0);
    kw_i32(b, h->correlation_id);
    kw_no_tags(b, flex && h->api_key != KAPI_API_VERSIONS);
    size_t ext = 0;
    int rc = kmsg_encode_checked(b, api->resp, h->api_version, flex, resp, hooks, &ext);
    if (ext_bytes)
        *ext_bytes = rc ? 0 : ext;
    return frame_finish(b, start, ext, rc);
}

size_t kafka_apiversions_list(struct kapiversions_key *keys, size_t cap)
{
    size_t n = sizeof kapis / sizeof kapis[0];
    for (size_t i = 0; i < n && i < cap; i++) {
        keys[i].api_key = kapis[i].key;
        keys[i].min_version = kapis[i].min_version;
        keys[i].max_version = kapis[i].max_version;
    }
    return n;
}

int kafka_apiversions_error(struct buf *b, int32_t correlation_id, int16_t error_code,
                            const struct kapiversions_key *keys, size_t n)
{
    struct kapiversions_resp resp = {error_code, (struct kapiversions_key *)keys,
                                     (int32_t)(n > INT16_MAX ? INT16_MAX : n), 0};
    size_t start = b->len;
    kw_i32(b, 0);
    kw_i32(b, correlation_id);
    int rc = kmsg_encode_checked(b, &kschema_apiversions_resp, 0, false, &resp, NULL, NULL);
    return frame_finish(b, start, 0, rc);
}

int kafka_apiversions_unsupported(struct buf *b, int32_t correlation_id)
{
    struct kapiversions_key keys[64];
    size_t n = kafka_apiversions_list(keys, 64);
    return kafka_apiversions_error(b, correlation_id, KERR_UNSUPPORTED_VERSION, keys,
                                   n > 64 ? 64 : n);
}
