/*
 * housekeeping.c — retention and compaction of partition logs, with the slow part off the loop.
 *
 * The loop thread owns every log (storage/log.h), so each housekeeping job is split:
 *   1. on the loop (short): plg_log_retention_begin() drops expired segments from the log's list,
 *      plg_log_compact_begin() snapshots the sealed segments (references);
 *   2. on a libuv worker thread (uv_queue_work): plg_log_garbage_collect() unlinks the dropped
 *      segments' files and syncs the directory; plg_log_compact_run() reads the snapshot and
 *      writes + fsyncs the compacted copies. The loop keeps appending (to the active segment,
 *      which no job touches) and serving fetches meanwhile;
 *   3. on the loop (short): plg_log_compact_install() renames the copies into place and swaps
 *      them into the segment list, unless the segments changed meanwhile (then the result is
 *      discarded); then a second worker job releases the snapshot (the last references of the
 *      replaced segments: munmap and close happen there, not on the loop).
 *
 * Invariants: at most one job per partition (bpart.hk), HK_MAX_COMPACTIONS compactions in all; a
 * partition closed while its job runs (topic deleted, shutdown) only clears job->p, and the job
 * then neither installs nor calls back: it frees what it holds. Each job holds a reference on the
 * broker (open_handles) until its completion ran on the loop.
 * Fetch readers hold segment references (plg_log_slice), so a segment swapped out or deleted
 * stays mapped and open for them until they release it.
 * Thread model: everything here runs on the loop thread except work_cb / release_cb, which see
 * only the job's own objects (garbage, compaction snapshot), never the broker or the log.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "broker/broker_int.h"

/* Compactions can take seconds: at most this many run at once, so libuv's pool (4 threads by
 * default) always has workers left for topic creation and registry writes. Retention-only
 * jobs (a few unlinks) are not limited. */
#define HK_MAX_COMPACTIONS 2

struct hk_job {
    uv_work_t req;
    uv_loop_t *loop;
    struct broker *b; /* referenced (open_handles) until after_work */
    struct bpart *p;  /* NULL once the partition is closed */
    struct plg_log_garbage *garbage;
    plg_compaction_t *comp;
    int32_t deleted; /* segments retention dropped */
    int gc_rc, run_rc;
    uint64_t run_ns;
    int64_t size_before;
    broker_compact_cb done;
    void *ctx;
    /* Set by bpart_housekeep_cancel_notify: called on the loop once a cancelled job has
     * finished with the partition's files (its cleaned files removed). */
    void (*gone)(void *ctx);
    void *gone_ctx;
};

/* Last step of every job: frees it, after telling a waiter that its files are settled. */
static void job_free(struct hk_job *j)
{
    if (j->p)
        j->p->hk = NULL;
    if (j->gone)
        j->gone(j->gone_ctx);
    free(j);
}

static const double hk_buckets[] = {0.0001, 0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120};

static void observe(const char *name, const char *help, uint64_t ns)
{
    mx_histogram_observe_ns(mx_histogram_get(mx_default(), name, help, NULL, hk_buckets,
                                             sizeof hk_buckets / sizeof hk_buckets[0]),
                            ns);
}

/* Worker thread: the job's own objects only. */
static void work_cb(uv_work_t *req)
{
    struct hk_job *j = req->data;
    uint64_t t0 = mx_now_ns();
    j->gc_rc = plg_log_garbage_collect(j->garbage);
    j->garbage = NULL;
    if (j->comp)
        j->run_rc = plg_log_compact_run(j->comp);
    j->run_ns = mx_now_ns() - t0;
}

static void release_cb(uv_work_t *req)
{
    struct hk_job *j = req->data;
    plg_log_compact_free(j->comp);
    j->comp = NULL;
}

static void release_done(uv_work_t *req, int status)
{
    (void)status;
    struct hk_job *j = req->data;
    plg_log_compact_free(j->comp); /* only when the worker never ran */
    job_free(j);
}

/*
 * Frees the job; the compaction snapshot is released on a worker when the loop allows it. The
 * partition stays busy (p->hk) until then: the release unlinks "<base>.*.cleaned" files of
 * results not installed, which a next compaction of the same partition could otherwise be
 * writing again.
 */
static void job_release(uv_loop_t *loop, struct hk_job *j)
{
    if (!j->comp || uv_queue_work(loop, &j->req, release_cb, release_done) != 0) {
        plg_log_compact_free(j->comp);
        job_free(j);
    }
}

static void after_work(uv_work_t *req, int status)
{
    struct hk_job *j = req->data;
    struct bpart *p = j->p;
    uv_loop_t *loop = j->loop;
    (void)status; /* never cancelled: a job that did not run installs nothing */
    struct broker *b = j->b;
    if (j->comp)
        b->hk_compactions--;
    if (!p) {
        job_release(loop, j);
        broker_unref(b);
        return;
    }
    const char *topic = p->t->name;
    if (j->gc_rc)
        PLG_ERROR("broker",
                  "msg=\"retention could not remove segment files\" topic=%s partition=%d "
                  "error=\"%s\"",
                  topic, p->id, plg_strerror(j->gc_rc));
    int rc = 0;
    int64_t removed = 0;
    if (j->comp) {
        int32_t discarded = 0;
        uint64_t t0 = mx_now_ns();
        rc = plg_log_compact_install(p->log, j->comp, &removed, &discarded);
        uint64_t install_ns = mx_now_ns() - t0;
        observe("pyralog_compaction_run_seconds",
                "Time compaction spent reading and rewriting sealed segments (worker thread).",
                j->run_ns);
        observe("pyralog_compaction_install_seconds",
                "Time the event loop spent installing a compaction result.", install_ns);
        if (rc) {
            PLG_ERROR("broker", "msg=\"compaction failed\" topic=%s partition=%d error=\"%s\"",
                      topic, p->id, plg_strerror(rc));
        } else if (removed || discarded) {
            mx_counter_add(mx_counter_get(mx_default(), "pyralog_compaction_records_removed_total",
                                          "Records dropped by key compaction.", NULL),
                           (uint64_t)removed);
            PLG_INFO("broker",
                     "msg=\"compacted\" topic=%s partition=%d removed=%lld discarded_segments=%d "
                     "run_ms=%.1f install_ms=%.3f",
                     topic, p->id, (long long)removed, discarded, (double)j->run_ns / 1e6,
                     (double)install_ns / 1e6);
        }
    }
    if (j->done)
        j->done(j->ctx, rc, removed, j->size_before, plg_log_size_bytes(p->log));
    job_release(loop, j);
    broker_unref(b);
}

int bpart_housekeep(struct bpart *p, bool retention, bool compact, broker_compact_cb done,
                    void *ctx)
{
    if (p->hk || (compact && p->b->hk_compactions >= HK_MAX_COMPACTIONS))
        return PLG_ESTATE;
    struct hk_job *j = calloc(1, sizeof *j);
    if (!j)
        return PLG_ENOMEM;
    j->p = p;
    j->b = p->b;
    j->loop = p->b->loop;
    j->done = done;
    j->ctx = ctx;
    j->req.data = j;
    j->size_before = plg_log_size_bytes(p->log);
    int rc = 0;
    if (retention) {
        rc = plg_log_retention_begin(p->log, &j->deleted, &j->garbage);
        if (rc)
            PLG_ERROR("broker", "msg=\"retention failed\" topic=%s partition=%d error=\"%s\"",
                      p->t->name, p->id, plg_strerror(rc));
        else if (j->deleted)
            PLG_INFO("broker",
                     "msg=\"retention deleted segments\" topic=%s partition=%d segments=%d "
                     "log_start_offset=%lld",
                     p->t->name, p->id, j->deleted, (long long)plg_log_start_offset(p->log));
    }
    int crc = compact ? plg_log_compact_begin(p->log, &j->comp) : 0;
    if (crc)
        PLG_ERROR("broker", "msg=\"compaction failed\" topic=%s partition=%d error=\"%s\"",
                  p->t->name, p->id, plg_strerror(crc));
    if (!j->garbage && !j->comp) {
        free(j);
        return rc ? rc : crc;
    }
    p->hk = j;
    if (j->comp)
        p->b->hk_compactions++;
    p->b->open_handles++;
    if (p->b->hk_inline || uv_queue_work(j->loop, &j->req, work_cb, after_work) != 0) {
        /* No worker (or a test asking for the old blocking behaviour, to show its tests can
         * fail): finish here rather than leak; the loop blocks meanwhile. */
        work_cb(&j->req);
        after_work(&j->req, 0);
    }
    return rc ? rc : crc;
}

void bpart_housekeep_cancel(struct bpart *p)
{
    if (p->hk) {
        p->hk->p = NULL;
        p->hk = NULL;
    }
}

bool bpart_housekeep_cancel_notify(struct bpart *p, void (*gone)(void *ctx), void *ctx)
{
    struct hk_job *j = p->hk;
    if (!j)
        return false;
    j->gone = gone;
    j->gone_ctx = ctx;
    bpart_housekeep_cancel(p);
    return true;
}

int broker_compact_partition(struct broker *b, const char *topic, int32_t partition,
                             broker_compact_cb done, void *ctx)
{
    struct bpart *p = broker_part(b, topic, strlen(topic), partition);
    if (!p)
        return PLG_ENOTFOUND;
    if (!(plg_log_config(p->log)->cleanup_policy & PLG_CLEANUP_COMPACT))
        return PLG_ESTATE;
    return bpart_housekeep(p, false, true, done, ctx);
}

void broker_housekeeping_run(struct broker *b)
{
    if (b->shutting || b->ntopics == 0)
        return;
    /* Start where the last pass ran out of compaction slots, so no topic waits forever. */
    int32_t first = b->hk_next_topic < b->ntopics ? b->hk_next_topic : 0;
    bool stopped = false;
    for (int32_t n = 0; n < b->ntopics; n++) {
        int32_t i = (first + n) % b->ntopics;
        struct btopic *tp = b->topics[i];
        /* The consumer-offsets topic is compacted by the group coordinator on its schedule. */
        bool internal = !strcmp(tp->name, "__consumer_offsets");
        for (int32_t j = 0; j < tp->npart; j++) {
            struct bpart *p = tp->parts[j];
            int policy = plg_log_config(p->log)->cleanup_policy;
            bool ret = policy & PLG_CLEANUP_DELETE;
            bool cmp =
                (policy & PLG_CLEANUP_COMPACT) && !internal && plg_log_segment_count(p->log) > 1;
            if (cmp && b->hk_compactions >= HK_MAX_COMPACTIONS) {
                if (!stopped)
                    b->hk_next_topic = i;
                stopped = true;
                cmp = false;
            }
            if ((ret || cmp) && !p->hk)
                bpart_housekeep(p, ret, cmp, NULL, NULL);
        }
    }
    if (!stopped)
        b->hk_next_topic = 0;
}
