/*
 * kapi.h — the Kafka API table, request headers, whole-request decode and response framing.
 *
 * This is the entry point for the server and the fuzzer:
 *
 *   struct karena a;  karena_init(&a, 0);
 *   struct kreq req;
 *   int rc = kafka_request_decode(frame, frame_len, &a, &req);    // frame = bytes after INT32 size
 *   // rc == 0: req.hdr, req.api, req.body (e.g. (const struct kproduce_req *)req.body)
 *   // rc == PLG_EUNSUPP && req.hdr_ok: unknown key or version; for ApiVersions answer with
 *   //    kafka_apiversions_unsupported(), for anything else close the connection
 *   // other rc: malformed (PLG_ETRUNC / PLG_ECORRUPT / PLG_ETOOBIG); close the connection
 *   struct kproduce_resp resp = {...};
 *   kafka_response_encode(&out, &req.hdr, &resp, NULL, NULL);     // appends size+header+body
 *   karena_destroy(&a);                                           // frees every decoded array
 *
 * Views in req (strings, records) point into `frame`: keep it alive while using req.
 * Pure code, no I/O; the table is constant. Any thread.
 */
#ifndef PLG_KAFKA_KAPI_H
#define PLG_KAFKA_KAPI_H

#include "kafka/kmsg.h"

enum kapi_key {
    KAPI_PRODUCE = 0,
    KAPI_FETCH = 1,
    KAPI_LIST_OFFSETS = 2,
    KAPI_METADATA = 3,
    KAPI_OFFSET_COMMIT = 8,
    KAPI_OFFSET_FETCH = 9,
    KAPI_FIND_COORDINATOR = 10,
    KAPI_JOIN_GROUP = 11,
    KAPI_HEARTBEAT = 12,
    KAPI_LEAVE_GROUP = 13,
    KAPI_SYNC_GROUP = 14,
    KAPI_DESCRIBE_GROUPS = 15,
    KAPI_LIST_GROUPS = 16,
    KAPI_API_VERSIONS = 18,
    KAPI_CREATE_TOPICS = 19,
    KAPI_DELETE_TOPICS = 20,
    KAPI_INIT_PRODUCER_ID = 22,
    KAPI_DESCRIBE_CONFIGS = 32,
    KAPI_ALTER_CONFIGS = 33,
    KAPI_CREATE_PARTITIONS = 37,
    KAPI_DELETE_GROUPS = 42,
    KAPI_INCREMENTAL_ALTER_CONFIGS = 44,
    KAPI_OFFSET_DELETE = 47,
};

/* Kafka error codes the codec and the broker use (protocol guide, "Error Codes"). */
enum kerr {
    KERR_NONE = 0,
    KERR_OFFSET_OUT_OF_RANGE = 1,
    KERR_CORRUPT_MESSAGE = 2,
    KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KERR_LEADER_NOT_AVAILABLE = 5,
    KERR_NOT_LEADER_OR_FOLLOWER = 6,
    KERR_REQUEST_TIMED_OUT = 7,
    KERR_MESSAGE_TOO_LARGE = 10,
    KERR_OFFSET_METADATA_TOO_LARGE = 12,
    KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    KERR_COORDINATOR_NOT_AVAILABLE = 15,
    KERR_NOT_COORDINATOR = 16,
    KERR_INVALID_TOPIC_EXCEPTION = 17,
    KERR_RECORD_LIST_TOO_LARGE = 18,
    KERR_INVALID_REQUIRED_ACKS = 21,
    KERR_ILLEGAL_GENERATION = 22,
    KERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    KERR_INVALID_GROUP_ID = 24,
    KERR_UNKNOWN_MEMBER_ID = 25,
    KERR_INVALID_SESSION_TIMEOUT = 26,
    KERR_REBALANCE_IN_PROGRESS = 27,
    KERR_INVALID_TIMESTAMP = 32,
    KERR_UNSUPPORTED_VERSION = 35,
    KERR_TOPIC_ALREADY_EXISTS = 36,
    KERR_INVALID_PARTITIONS = 37,
    KERR_INVALID_REPLICATION_FACTOR = 38,
    KERR_INVALID_CONFIG = 40,
    KERR_INVALID_REQUEST = 42,
    KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    KERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    KERR_INVALID_PRODUCER_EPOCH = 47,
    KERR_KAFKA_STORAGE_ERROR = 56,
    KERR_UNKNOWN_PRODUCER_ID = 59,
    KERR_NON_EMPTY_GROUP = 68,
    KERR_GROUP_ID_NOT_FOUND = 69,
    KERR_MEMBER_ID_REQUIRED = 79,
    KERR_GROUP_MAX_SIZE_REACHED = 81,
    KERR_FENCED_INSTANCE_ID = 82,
    KERR_GROUP_SUBSCRIBED_TO_TOPIC = 86,
    KERR_INVALID_RECORD = 87,
};

/* One implemented API: the versions Pyralog accepts and advertises, and its schemas. */
struct kapi {
    int16_t key;
    const char *name;
    int16_t min_version;
    int16_t max_version;
    int16_t flex_min; /* first flexible version (KV_NEVER: none) */
    const struct kschema *req;
    const struct kschema *resp;
    size_t req_size; /* sizeof the request struct, allocated in the arena by decode */
};

/* The table entry for key, or NULL when the API is not implemented. */
const struct kapi *kapi_find(int key);
/* The whole table (sorted by key) and its length. */
const struct kapi *kapi_table(size_t *n);
static inline bool kapi_flexible(const struct kapi *api, int ver)
{
    return ver >= api->flex_min;
}

struct kreq_hdr {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    struct kstr client_id; /* nullable, a view into the frame */
};

struct kreq {
    struct kreq_hdr hdr;
    bool hdr_ok;            /* api_key, api_version and correlation_id were read */
    const struct kapi *api; /* NULL when the key is unknown */
    bool flex;              /* flexible version: header v2, response header v1 */
    void *body;             /* the request struct (kapi.req_size bytes, in the arena) */
    size_t err_pos;         /* on failure: offset in the frame where decoding stopped */
};

/*
 * Decodes a whole request frame (the bytes after the INT32 size prefix): header v1/v2 then the
 * body for any implemented API and version. Returns 0, or PLG_ETRUNC (frame ends early),
 * PLG_ECORRUPT (bad length, null where not allowed, bad varint, trailing bytes), PLG_ETOOBIG
 * (a count larger than the frame could hold; arena cap), PLG_EUNSUPP (unknown key or version;
 * out->hdr_ok tells whether the header was read). Allocations go to a; free with
 * karena_destroy.
 */
int kafka_request_decode(const uint8_t *p, size_t len, struct karena *a, struct kreq *out);

/*
 * Appends a complete request frame (INT32 size, header v1 or v2, body) for h's API and version.
 * For tests, tools and round trips. Returns 0, PLG_EUNSUPP or PLG_ENOMEM.
 */
int kafka_request_encode(struct buf *b, const struct kreq_hdr *h, const void *body);

/*
 * Appends a complete response frame (INT32 size, response header v0 or v1 — always v0 for
 * ApiVersions — and the body resp, a struct of h's API). hooks/ext_bytes: see struct krecords;
 * when records are external, *ext_bytes receives their total (already counted in the size
 * prefix) and the hook reports where each belongs. Returns 0, PLG_EUNSUPP, PLG_ETOOBIG or
 * PLG_ENOMEM; on failure b is restored to its previous length.
 */
int kafka_response_encode(struct buf *b, const struct kreq_hdr *h, const void *resp,
                          const struct kw_hooks *hooks, size_t *ext_bytes);

/*
 * Fills keys (capacity cap) with every implemented API and its version range; returns the
 * number of APIs (which may exceed cap: only cap are written).
 */
size_t kafka_apiversions_list(struct kapiversions_key *keys, size_t cap);

/*
 * Appends the answer to an ApiVersions request of a version Pyralog does not support: the v0
 * layout (response header v0, error 35 UNSUPPORTED_VERSION, the supported list) that clients
 * read before retrying with a version both sides know. Returns 0 or PLG_ENOMEM.
 */
int kafka_apiversions_unsupported(struct buf *b, int32_t correlation_id);
/* The same v0-layout answer with any error code and API list (e.g. a filtered one). */
int kafka_apiversions_error(struct buf *b, int32_t correlation_id, int16_t error_code,
                            const struct kapiversions_key *keys, size_t n);

#endif
