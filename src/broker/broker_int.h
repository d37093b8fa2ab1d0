/*
 * broker_int.h — the broker's internal structures, shared by broker.c (topics, partitions,
 * appends, durability), broker_kafka.c (request dispatch) and the per-API handler files.
 * Not for other modules: they use broker.h. Loop thread only (see broker.h).
 */
#ifndef PLG_BROKER_BROKER_INT_H
#define PLG_BROKER_BROKER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/buf.h"
#include "base/metrics.h"
#include "broker/broker.h"
#include "broker/pidstate.h"

struct ackwait {
    struct ackwait *next;
    int64_t need; /* complete when the durable offset reaches this end offset */
    struct broker_append_result res;
    broker_append_cb cb;
    void *ctx;
};

/*
 * A run of failures of one kind (a full disk refusing appends, registry or producer-id writes):
 * the first failure of a run is logged, then at most one a minute, so a run that lasts still
 * shows; the first success ends the run with one line that says how many there were.
 * failrun_fail counts one and says whether to log it; failrun_ok ends the run and returns its
 * failures (0: there was none, nothing to log). Times in ms, any clock.
 */
struct failrun {
    int64_t n;
    uint64_t logged_ms;
};

static inline bool failrun_fail(struct failrun *r, uint64_t now_ms)
{
    if (r->n++ && now_ms - r->logged_ms < 60000)
        return false;
    r->logged_ms = now_ms;
    return true;
}

static inline int64_t failrun_ok(struct failrun *r)
{
    int64_t n = r->n;
    r->n = 0;
    return n;
}

struct bpart {
    struct broker *b;
    struct btopic *t;
    int32_t id;
    plg_log_t *log;
    struct pid_table pids;
    struct broker_watch watchers; /* sentinel of a circular list */
    _Atomic int64_t durable;      /* written by the flusher thread */
    struct ackwait *acks, *acks_tail;
    bool in_ack_list;
    struct bpart *ack_next; /* broker's list of partitions with ack waiters */
    struct ptree *tree;     /* Merkle tree (crypto/ptree.h); NULL when merkle.enable=false */
    struct hk_job *hk;      /* retention/compaction job in flight (housekeeping.c), or NULL */
    struct failrun append_failures; /* storage failures since the last append that worked */
    uint64_t last_append_ms; /* loop time of its last append (cache_budget: idle ones first) */
};

struct btopic {
    char *name;
    int32_t npart;
    struct bpart **parts;
    char **configs; /* NULL-terminated key/value pairs (topic overrides) */
    uint8_t id[16]; /* topic uuid */
};

#define BROKER_MAX_API 128

/* Kafka error codes used here that the codec's enum kerr does not name. */
#define BERR_UNKNOWN_SERVER (-1)
#define BERR_UNSUPPORTED_FOR_MESSAGE_FORMAT 43

struct broker {
    uv_loop_t *loop;
    struct broker_opts o;
    char *data_dir;
    char *adv_host;
    char **topic_defaults;  /* NULL-terminated key/value pairs */
    struct btopic **topics; /* sorted by name */
    int32_t ntopics, captopics;
    uv_async_t durable_async;
    uv_timer_t housekeeping; /* retention and compaction */
    int open_handles;        /* libuv handles still to close + worker jobs still running, before the
                                broker is freed */
    /* Topic registry writer (broker.c): every change bumps reg_gen; writes run on workers, one
     * at a time, and complete the waiters whose change they cover. */
    uint64_t reg_gen;
    bool reg_busy;
    struct reg_wait *reg_waits;
    pthread_mutex_t reg_mu;      /* serialises writes of topics.json (loop and workers) */
    uint64_t reg_disk_gen;       /* under reg_mu: generation of the file on disk */
    struct failrun reg_failures; /* under reg_mu: failed registry writes in a row */
    int hk_compactions;          /* compaction jobs on workers (housekeeping.c) */
    int32_t hk_next_topic;       /* where the next housekeeping pass starts */
    /* PLG_TEST_HOUSEKEEP_INLINE set at broker_open: housekeeping jobs run on the loop, the old
     * blocking way (tests use it to show that theirs can fail). Read once, not per job. */
    bool hk_inline;
    /* Names with a create, delete or partition addition on a worker (reserved: no second create,
     * no auto-create, no other change of the topic until the job is over). */
    char **creating;
    int32_t ncreating, capcreating;
    struct name_wait *name_waits; /* broker_topic_wait_settled, fired when the job is over */
    struct bpart *ack_parts;
    broker_api_fn api[BROKER_MAX_API];
    struct buf scratch; /* decompression scratch for validation */
    int64_t next_pid, pid_reserved;
    char cluster_id[32];
    bool shutting;
    bool closed;
    bool async_closed;          /* durable_async closed (after the last create/delete job) */
    struct group_coord *groups; /* consumer groups and committed offsets (group_coord.h) */
    /* Parked requests (long-poll fetches) that must finish at shutdown. */
    struct broker_watch parked;
    /* Metrics (src/base/metrics.h): per-API series created on first use. */
    struct mx_counter *m_req[BROKER_MAX_API];
    struct mx_histogram *m_lat[BROKER_MAX_API];
    struct mx_counter *m_recs_in, *m_bytes_in, *m_append_err, *m_bad_frames;
    struct mx_counter *m_recs_out, *m_bytes_out; /* Fetch responses */
    struct mx_counter *m_fetch_cold;             /* Fetches whose data a worker read first */
    /* Failures in a row of InitProducerId's id reservation and of Metadata auto-creates
     * (broker_kafka.c). */
    struct failrun pid_failures, autocreate_failures;
    uint64_t cache_checked_ms;      /* loop time of the last cache_budget check */
    struct cache_cand *cache_cands; /* cache_budget's work array, and its capacity */
    size_t cache_ncap;
};

struct btopic *broker_topic_find(struct broker *b, const char *name, size_t len);
struct bpart *broker_part(struct broker *b, const char *topic, size_t len, int32_t partition);
/* Appends to a known partition (see broker_append). */
int bpart_append(struct bpart *p, uint8_t *batch, size_t len, int acks, broker_append_cb cb,
                 void *ctx);
/* Next producer id (persisted in blocks). */
int broker_alloc_producer_id(struct broker *b, int64_t *pid);
/* The effective config value of key for a topic, as text. */
int btopic_config_get(struct broker *b, struct btopic *t, const char *key, char *out, size_t cap,
                      bool *is_default);
/* Checks topic overrides (on top of the broker's topic defaults) as topic creation would. */
int broker_topic_config_check(struct broker *b, const char *const *configs, char *why,
                              size_t whylen);
/* Replaces a topic's overrides (validated first; logs reconfigured). The registry is not
 * written: call broker_registry_commit and answer when it is durable. */
int btopic_set_configs(struct broker *b, struct btopic *t, const char *const *configs, char *why,
                       size_t whylen, bool validate_only);
void broker_watch_list_init(struct broker_watch *head);
void broker_watch_fire_all(struct broker_watch *head);
void broker_watch_attach(struct broker_watch *head, struct broker_watch *w);

/* Housekeeping (housekeeping.c): starts retention (when `retention`) and compaction (when
 * `compact`) of p, the file work on a libuv worker; done (may be NULL) is called on the loop once
 * the compaction is installed, never when p closes first. PLG_ESTATE while a job of p is in
 * flight. */
int bpart_housekeep(struct bpart *p, bool retention, bool compact, broker_compact_cb done,
                    void *ctx);
/* part_close: the job in flight (if any) drops its result instead of installing it. */
void bpart_housekeep_cancel(struct bpart *p);
/* The same, and when a job was in flight (true), gone(ctx) runs on the loop once it no longer
 * touches the partition's directory: then the directory can be removed. */
bool bpart_housekeep_cancel_notify(struct bpart *p, void (*gone)(void *ctx), void *ctx);
/* The housekeeping timer: one job per partition whose policy asks for one. */
void broker_housekeeping_run(struct broker *b);

/* Drops a reference on the broker (a libuv handle closed or a worker job ended): the last one
 * frees it. Jobs take theirs with b->open_handles++ when they are queued. */
void broker_unref(struct broker *b);

/* True when a topic of that name exists or is being created. */
bool broker_topic_taken(struct broker *b, const char *name, size_t len);

/* Kafka API handlers (broker_kafka.c etc.), registered by broker_open. */
void broker_register_core_apis(struct broker *b);

/* Response building helpers for Kafka handlers (broker_kafka.c), loop thread only. */
/* An array of n (at least 1) elements of `size` bytes in the request arena; NULL on OOM. */
void *broker_req_array(struct broker_req *rq, size_t n, size_t size);
/* A NUL-terminated arena copy of a view (NULL for a null view or on OOM). */
char *broker_req_str(struct broker_req *rq, struct kstr s);
/* Closes the connection without a reply when a response cannot be built. */
void broker_reply_oom(struct broker_req *rq);

/*
 * A request whose answer waits for asynchronous jobs (topic creation, deletion, partition
 * addition, on libuv workers), one per response item that started one: it is answered once
 * every job has finished and the handler is done. `pending` counts the jobs in flight plus the
 * handler itself (released at its end); `resp` is what broker_reply sends; `item_done` records a
 * job's outcome in its response item (it may set `oom`). Lives in the request arena, like the
 * ops: nothing to free on any path.
 *
 * Use: w = broker_wait_new(rq, sizeof resp, item_done); per item that starts a job,
 * op = broker_wait_op(w, item), then start the job with broker_wait_op_created /
 * broker_wait_op_done and op as its callback and ctx (broker_wait_op_cancel(op) when it refuses
 * at once); finally broker_wait_release(w).
 */
struct broker_wait;
typedef void (*broker_wait_item_fn)(struct broker_wait *w, void *item, int rc, const char *why);
struct broker_wait {
    struct broker_req *rq;
    void *resp;
    broker_wait_item_fn item_done;
    bool oom; /* a response part could not be built: close the connection at the end */
    int pending;
};
/* One job of a broker_wait: the ctx of its completion callback. */
struct broker_wait_op {
    struct broker_wait *w;
    void *item; /* the response element the job's outcome goes to */
};
/* A wait (pending = 1, for the handler) with a zeroed response of resp_size bytes, both in the
 * request arena; NULL on OOM. */
struct broker_wait *broker_wait_new(struct broker_req *rq, size_t resp_size,
                                    broker_wait_item_fn item_done);
/* Counts one job for item; NULL (and w->oom set) on OOM. */
struct broker_wait_op *broker_wait_op(struct broker_wait *w, void *item);
/* The job of op was refused at once (its callback will not run): drops its count. */
void broker_wait_op_cancel(struct broker_wait_op *op);
/* Job callbacks (broker_create_cb, broker_done_cb) with ctx = op: item_done, then one release. */
void broker_wait_op_created(void *ctx, int rc, const char *why);
void broker_wait_op_done(void *ctx, int rc);
/* Drops one count; the last one sends the answer. */
void broker_wait_release(struct broker_wait *w);

#endif
