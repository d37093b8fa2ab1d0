/*
 * broker.h — the single-node broker: topics and partitions, the produce and fetch paths,
 * idempotent-producer state, and the Kafka API dispatch table.
 *
 * What it owns. The topic registry (persisted as <data>/meta/topics.json, rewritten atomically
 * on every change; Kafka admin requests are answered once the change is durable), one storage log
 * per partition (<data>/topics/<topic>-<p>/), per-partition producer state (rebuilt from the log on
 * open, so it survives restarts and crashes exactly as far as the log does), the producer-id
 * allocator (<data>/meta/producer-ids), per-partition "data arrived" watcher lists, and acks=all
 * waiters released by the storage durable offset.
 *
 * Thread model. Everything here runs on ONE libuv loop thread (broker_loop()). Other threads:
 * each log's flusher (fsync=interval): its on_durable callback stores the durable offset in an
 * atomic and wakes the loop with uv_async_send; waiters are completed on the loop. And libuv's
 * worker pool (uv_queue_work), which does the blocking file work so the loop never waits for
 * it: retention's unlinks and compaction's rewrite (housekeeping.c), opening the partitions of
 * a new topic and closing/removing those of a deleted one, and writing topics.json. A worker
 * job touches only objects the loop handed to it (a snapshot, a topic not yet or no longer in
 * the broker's lists) and the broker's immutable settings; its result is installed on the loop
 * in the job's completion callback. Jobs in flight keep the broker allocated (open_handles).
 * Handlers, watchers and append callbacks are always called on the loop thread.
 *
 * Kafka API dispatch. Each request frame is decoded by the kafka codec (src/kafka/) and routed
 * through a table api_key → handler. Register a handler with one line:
 *
 *     broker_register_api(b, KAPI_JOIN_GROUP, my_join_group_handler);
 *
 * A handler receives a `struct broker_req` that owns the decoded request (header + body, arena
 * memory) and the connection reference. It must finish the request exactly once, now or later,
 * with broker_reply() (a kafka response struct, encoded here with the request's version and
 * header flavour), broker_reply_resp() (pre-built body, e.g. with sendfile chunks) or
 * broker_noreply() (acks=0 Produce). Finishing frees the request. A handler that answers later
 * (long-poll Fetch, acks=all, group joins) just keeps the pointer: the network layer holds the
 * response slot, so responses on a connection still leave in request order. If the client
 * disconnected meanwhile, finishing is still required and simply discards the response
 * (broker_req_conn_closed() tells a handler it may give up early). Versions outside the codec's
 * supported range never reach a handler: the broker answers them (ApiVersions error 35 or a
 * closed connection, as Kafka does).
 *
 * Broker API for other front ends (JSON-RPC, tools). All calls on the loop thread:
 *   broker_topic_create/delete/find/list, broker_append (one RecordBatch v2 with a completion
 *   callback once the acks policy is met), broker_read (stored batches from an offset, copied),
 *   broker_partition_offsets, and broker_watch_add/del: a one-shot notification when new data is
 *   appended to a partition (the same list long-poll Fetch uses).
 *
 * Errors: functions return 0 or negative PLG_E* / -errno. Kafka error codes (positive int16,
 * KERR_*) appear only in per-partition results.
 */
#ifndef PLG_BROKER_BROKER_H
#define PLG_BROKER_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "kafka/kapi.h"
#include "pyralog/log.h"

struct broker;
struct group_coord_opts;
struct net_conn;
struct net_resp;
struct karena;

/* Maps a storage/validation return code to the Kafka error code (enum kerr in kafka/kapi.h) of
 * a partition result. */
int16_t broker_kerr(int plg_code);

struct broker_opts {
    const char *data_dir;   /* ignored when memory_only */
    bool memory_only;       /* everything in memory, nothing written */
    int32_t node_id;        /* node.id */
    const char *adv_host;   /* advertised host in Metadata */
    int32_t adv_port;       /* advertised port in Metadata */
    bool auto_create;       /* auto.create.topics.enable */
    int32_t num_partitions; /* num.partitions for auto-created topics */
    /* Default topic configs (storage option names, e.g. "fsync", "segment.bytes"), applied to
     * every partition log before the topic's own configs; NULL-terminated key/value pairs. */
    const char *const *topic_defaults;
    int32_t fetch_max_wait_cap_ms; /* clamp for client max_wait_ms (0: 30000) */
    int64_t cache_keep_bytes;      /* per partition log, plg_log_options.cache_keep_bytes */
    int64_t cache_total_bytes;     /* all logs together: idle ones dropped first (0: no limit) */
    /* Consumer-group coordinator settings (group_coord.h); NULL: defaults. Copied at open. */
    const struct group_coord_opts *groups;
    /* log.retention.check.interval.ms: how often retention (delete) and compaction (compact)
     * run over every partition; 0 means the default, 300000. */
    int64_t retention_check_ms;
};

/*
 * Compacts one partition (cleanup.policy must include compact: else PLG_ESTATE) with the heavy
 * part on a libuv worker thread (see housekeeping.c); done(ctx, rc, records removed, bytes
 * before, bytes after) runs on the loop once the result is installed or discarded, and is not
 * called if the partition closes first. PLG_ESTATE while a job of that partition is in flight,
 * PLG_ENOTFOUND for an unknown partition. done may be NULL.
 */
typedef void (*broker_compact_cb)(void *ctx, int rc, int64_t removed, int64_t bytes_before,
                                  int64_t bytes_after);
int broker_compact_partition(struct broker *b, const char *topic, int32_t partition,
                             broker_compact_cb done, void *ctx);

/* Opens the broker: loads the topic registry and opens every partition log (recovering them).
 * *out is freed by broker_close(). */
int broker_open(uv_loop_t *loop, const struct broker_opts *o, struct broker **out);
/* Graceful stop, step 1: finishes parked requests now (long-polls answer with what they
 * have, acks=all waiters wait for a final flush). Call before the net layer drains. */
void broker_shutdown(struct broker *b);
/* Step 2 (after the net layer drained): flushes and closes every log and frees the broker. */
int broker_close(struct broker *b);
uv_loop_t *broker_loop(struct broker *b);
int32_t broker_node_id(const struct broker *b);
/* Sets the advertised Kafka listener (when the port is only known after binding). */
void broker_set_advertised(struct broker *b, const char *host, int32_t port);

/* ---- Kafka request dispatch ---- */

/*
 * One Kafka request in flight. `body` is the decoded request struct of the API (kmsg.h) and
 * lives in `arena` until the request is finished, BUT its string and record views point into
 * the request frame, which is valid only while the handler runs: a handler that answers later
 * must copy the names/bytes it still needs. Allocate response arrays with karena_alloc(arena).
 */
struct broker_req {
    struct broker *b;
    struct net_conn *conn;
    uint64_t seq;
    struct kreq_hdr hdr; /* api_key, api_version, correlation_id (client_id: null view) */
    bool flexible;       /* request used header v2 → response header v1 */
    char client_id[64];  /* truncated copy, for logs */
    void *body;          /* decoded request struct (kmsg.h) */
    struct karena arena; /* owns body's arrays and the response arrays */
    void *handler_data;  /* free for the handler */
    uint64_t t0_ns;      /* arrival (mx_now_ns), for the latency histogram */
};

typedef void (*broker_api_fn)(struct broker_req *rq);

/* Routes api_key to fn (replacing any previous handler). Returns 0 or PLG_EINVAL. */
int broker_register_api(struct broker *b, int16_t api_key, broker_api_fn fn);

/* Encodes resp (the response struct of rq's api, kmsg.h) at rq's version and sends it. */
void broker_reply(struct broker_req *rq, const void *resp);
/* Sends a pre-built body (without the response header; it is added here). */
void broker_reply_resp(struct broker_req *rq, struct net_resp *body);
/* Finishes without a response (acks=0). */
void broker_noreply(struct broker_req *rq);
bool broker_req_conn_closed(const struct broker_req *rq);

/* Feeds one request frame (without the size prefix) to the broker; the net layer's callback.
 * `frame` may be modified in place (produce patches base offsets). */
void broker_on_frame(void *ctx, struct net_conn *c, uint64_t seq, uint8_t *frame, size_t len);

/* ---- topics ---- */

struct broker_topic_info {
    const char *name;
    int32_t partitions;
};

/* Creates a topic with `partitions` partitions and configs (NULL-terminated key/value pairs,
 * storage option names). PLG_EEXIST, PLG_EINVAL (bad name, count or config: *why filled). */
int broker_topic_create(struct broker *b, const char *name, int32_t partitions,
                        const char *const *configs, char *why, size_t whylen);
int broker_topic_delete(struct broker *b, const char *name);

/* Completion of an asynchronous broker operation, on the loop: 0 or a PLG_E* code. */
typedef void (*broker_done_cb)(void *ctx, int rc);
/*
 * broker_topic_create with the file work on a libuv worker: checks name, count and configs now
 * (the same errors, returned at once with *why filled, and then done is not called); otherwise
 * returns 0, reserves the name and opens the partitions (directories, segment files, fsyncs,
 * Merkle trees) on a worker, then inserts the topic and writes the registry (on a worker too);
 * done(ctx, rc, why) runs on the loop once the topic is durable in the registry, or failed (why
 * says why). The reply to a client can be sent from done. While it runs, the name counts as
 * taken (PLG_EEXIST for another create).
 */
typedef void (*broker_create_cb)(void *ctx, int rc, const char *why);
int broker_topic_create_async(struct broker *b, const char *name, int32_t partitions,
                              const char *const *configs, char *why, size_t whylen,
                              broker_create_cb done, void *ctx);
/*
 * Deletes a topic: it disappears at once (its logs are closed), done(ctx, rc) runs on the loop
 * once the registry without it is durable (written on a worker) and its files are removed; the
 * name cannot be reused until then. PLG_ENOTFOUND at once (done not called).
 */
int broker_topic_delete_async(struct broker *b, const char *name, broker_done_cb done, void *ctx);
/*
 * Adds partitions up to `total`, opened on a libuv worker: the topic shows `total` partitions once
 * they are all open, and done(ctx, rc) runs on the loop when the registry saying so is durable.
 * PLG_ENOTFOUND, PLG_EINVAL (total not above the current count or above 100000) or PLG_ESTATE (a
 * create, delete or addition of that topic is in flight) at once, and then done is not called.
 * Deleting the topic meanwhile is refused (PLG_ESTATE).
 */
int broker_topic_add_partitions_async(struct broker *b, const char *name, int32_t total,
                                      broker_done_cb done, void *ctx);
/*
 * Waits for the create, delete or partition addition of `name` in flight (started by anyone: a
 * Kafka auto-create, CreateTopics, topic.create): returns 0 and done(ctx, 0) runs on the loop once
 * that job is over, after its own completion (the topic is then durably there, or not: look it
 * up). PLG_ENOTFOUND at once when none is in flight (done not called); PLG_ENOMEM.
 */
int broker_topic_wait_settled(struct broker *b, const char *name, broker_done_cb done, void *ctx);
/*
 * Makes the registry durable with every change made so far (topic created, deleted or grown
 * by the calls above, configs altered by btopic_set_configs), writing on a worker; done(ctx, rc) on
 * the loop once it is (immediately in memory-only mode).
 */
void broker_registry_commit(struct broker *b, broker_done_cb done, void *ctx);
/* Fills *info (valid until the next topic change). PLG_ENOTFOUND. */
int broker_topic_get(struct broker *b, const char *name, struct broker_topic_info *info);
/* Calls fn for every topic, in name order. */
void broker_topic_foreach(struct broker *b, void (*fn)(void *ctx, const struct broker_topic_info *),
                          void *ctx);
int32_t broker_topic_count(const struct broker *b);
/* Valid Kafka topic name: 1-249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool broker_topic_name_valid(const char *name, size_t len);
/* The storage log of a partition, or NULL. */
plg_log_t *broker_partition_log(struct broker *b, const char *topic, int32_t partition);

/* ---- produce / read for other front ends ---- */

/* The outcome of an append: err is a Kafka error code (0 ok); offsets valid when err is 0. */
struct broker_append_result {
    int16_t err;
    int64_t base_offset;
    int64_t log_append_time; /* -1 unless the topic uses LogAppendTime */
    int64_t log_start_offset;
};
/* Called once when an append completes. */
typedef void (*broker_append_cb)(void *ctx, const struct broker_append_result *r);

/*
 * Appends one RecordBatch v2 (validated deeply: CRC, records, codec; idempotent-producer
 * sequence when producerId >= 0) to topic/partition. batch is patched in place and may be freed
 * by the caller when this returns. acks: 0 or 1 → cb runs before this returns (also on error);
 * -1 (all) → cb runs when the batch is durable (maybe later). Returns 0 when cb was or will be
 * called, or a negative code (then cb is not called).
 */
int broker_append(struct broker *b, const char *topic, int32_t partition, uint8_t *batch,
                  size_t len, int acks, broker_append_cb cb, void *ctx);

/* Copies whole batches from offset (at least one batch, up to max_bytes) into *out (caller
 * free()s; NULL/0 at the end). *next_offset: where to continue. PLG_ENOTFOUND, PLG_ERANGE. */
int broker_read(struct broker *b, const char *topic, int32_t partition, int64_t offset,
                size_t max_bytes, uint8_t **out, size_t *len, int64_t *next_offset);
/* The Merkle tree of a partition (crypto/ptree.h), NULL when the partition does not exist or
 * its topic has merkle.enable=false. Loop thread; valid until the topic is deleted. */
struct ptree *broker_partition_tree(struct broker *b, const char *topic, int32_t partition);
int broker_partition_offsets(struct broker *b, const char *topic, int32_t partition, int64_t *start,
                             int64_t *end);

/*
 * "Data arrived" notifications: a watch fires once, on the loop thread, after the next append
 * to its partition (or when the partition goes away, or at shutdown); it is then detached. Keep
 * the struct alive while attached; broker_watch_del() detaches early (idempotent).
 */
struct broker_watch {
    struct broker_watch *prev, *next;
    void (*fire)(struct broker_watch *w);
    void *ctx;
    bool attached;
};
int broker_watch_add(struct broker *b, const char *topic, int32_t partition,
                     struct broker_watch *w);
void broker_watch_del(struct broker_watch *w);

#endif
