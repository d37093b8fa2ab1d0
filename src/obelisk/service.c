/* service.c — the Obelisk service core: Scarab generator + named sequences, the renewals that
 * keep their durable limits ahead (inline, or on libuv's thread pool with parked requests), and
 * the binary request handler (see service.h).
 *
 * Renewals in loop mode. Each resource — the Scarab time floor, and each open sequence — has at
 * most one job in flight (uv_work_t) and a FIFO of parked requests. Invariant: a resource has
 * parked requests only while its job is in flight. A job's I/O (plg_obelisk_grow_run, or
 * plg_obelisk_open for a new sequence) runs on a pool thread and touches nothing the loop
 * thread changes meanwhile; its completion (on the loop) applies the new limit, or the error,
 * and wakes every parked request of the resource in order: each calls back into the service and
 * is answered (or parks behind the next job). Requests that fit below the current durable limit
 * are answered at once, also while a job is in flight: that limit was durable before the job
 * began, so a value or ID is never handed out before its fsync succeeded.
 */
#include "obelisk/service.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/metrics.h"
#include "pyralog/pyralog.h"

struct obl_waitq {
    struct obl_wait *head, *tail;
};

enum job_kind { JOB_FLOOR, JOB_GROW, JOB_OPEN };

struct job {
    uv_work_t req;
    struct obl_service *s;
    struct seq_slot *slot; /* NULL for the floor */
    enum job_kind kind;
    struct plg_obelisk_grow g; /* JOB_FLOOR, JOB_GROW */
    plg_obelisk_t *opened;     /* JOB_OPEN result */
    int open_rc;
};

struct seq_slot {
    char name[PLG_OBELISK_NAME_MAX + 1];
    plg_obelisk_t *ctr; /* NULL while its JOB_OPEN runs */
    struct obl_waitq waiters;
    int busy;           /* job in flight */
    uint64_t fail_want; /* smallest limit the file system refused (EFBIG); UINT64_MAX: none */
    struct job job;
};

struct obl_service {
    plg_scarab_t *gen;
    char *dir; /* <data>/obelisk */
    uint64_t lease;
    uv_loop_t *loop;
    const struct plg_obelisk_io *io;
    struct seq_slot **seqs;
    size_t nseqs, cap;
    struct obl_waitq floor_waiters;
    int floor_busy;
    struct job floor_job;
    struct obl_waitq waking; /* woken requests whose callbacks have not run yet */
    struct obl_run runs[OBL_MAX_RUNS];
    char *binary_addr;
    uint64_t seq_fsyncs_closed; /* fsyncs of sequence handles already closed */
    struct mx_counter *m_ids, *m_seq_values, *m_errors;
    int collector;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/* ---- parked requests ---- */

static void waitq_push(struct obl_waitq *q, struct obl_wait *w)
{
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    w->q = q;
}

static void waitq_remove(struct obl_wait *w)
{
    struct obl_waitq *q = w->q;
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->q = NULL;
    w->next = w->prev = NULL;
}

/* Moves every request parked on q to the waking queue with result rc (0: ask again). */
static void waitq_release(struct obl_service *s, struct obl_waitq *q, int rc)
{
    while (q->head) {
        struct obl_wait *w = q->head;
        waitq_remove(w);
        w->rc = rc;
        waitq_push(&s->waking, w);
    }
}

/* Runs the callbacks of the woken requests, oldest first. Each may cancel others (a connection
 * closing) or park again behind a new job; the queue absorbs both. */
static void run_waking(struct obl_service *s)
{
    while (s->waking.head) {
        struct obl_wait *w = s->waking.head;
        waitq_remove(w);
        w->cb(w);
    }
}

void obl_service_cancel(struct obl_service *s, struct obl_wait *w)
{
    (void)s;
    if (w->q)
        waitq_remove(w);
}

/* Metrics collector (runs in mx_render on the loop thread that owns the service). */
static void obl_collect(void *ctx, struct mx_sink *sink)
{
    struct obl_service *s = ctx;
    uint64_t fs = s->seq_fsyncs_closed + plg_scarab_fsyncs(s->gen);
    for (size_t i = 0; i < s->nseqs; i++)
        if (s->seqs[i]->ctr)
            fs += plg_obelisk_fsyncs(s->seqs[i]->ctr);
    mx_sink_family(sink, "pyralog_obelisk_fsyncs_total",
                   "fsyncs made to raise Obelisk counters (sequences and the Scarab time floor)",
                   MX_COUNTER);
    mx_sink_sample(sink, NULL, (double)fs);
    mx_sink_family(sink, "pyralog_obelisk_sequences_open", "named sequences open on this node",
                   MX_GAUGE);
    mx_sink_sample(sink, NULL, (double)s->nseqs);
    /* Seconds, as Prometheus names units (promtool refuses the abbreviation "ms"). */
    mx_sink_family(sink, "pyralog_obelisk_time_floor_seconds",
                   "durable Scarab time floor, seconds since 2025-01-01T00:00:00Z", MX_GAUGE);
    mx_sink_sample(sink, NULL, (double)plg_scarab_floor(s->gen) / 1000.0);
}

void obl_service_count_ids(struct obl_service *s, uint64_t n)
{
    mx_counter_add(s->m_ids, n);
}

void obl_service_count_error(struct obl_service *s)
{
    mx_counter_inc(s->m_errors);
}

static int mkdir_p1(const char *path)
{
    if (mkdir(path, 0755) && errno != EEXIST)
        return -errno;
    return 0;
}

int obl_service_open(const struct obl_service_opts *o, struct obl_service **out)
{
    *out = NULL;
    struct obl_service *s = calloc(1, sizeof *s);
    if (!s)
        return PLG_ENOMEM;
    size_t len = strlen(o->data_dir) + 16;
    s->dir = malloc(len);
    if (!s->dir) {
        free(s);
        return PLG_ENOMEM;
    }
    snprintf(s->dir, len, "%s/obelisk", o->data_dir);
    s->lease = o->seq_lease ? o->seq_lease : OBL_DEFAULT_SEQ_LEASE;
    s->loop = o->loop;
    s->io = o->io;
    int rc = mkdir_p1(o->data_dir);
    if (!rc)
        rc = mkdir_p1(s->dir);
    struct plg_scarab_opts so = {.node_id = o->node_id, .clock = o->clock, .io = o->io};
    if (!rc)
        rc = plg_scarab_open(s->dir, &so, &s->gen);
    if (rc) {
        obl_service_close(s);
        return rc;
    }
    struct mx_registry *r = mx_default();
    s->m_ids = mx_counter_get(r, "pyralog_obelisk_ids_total", "Scarab IDs handed out", NULL);
    s->m_seq_values = mx_counter_get(r, "pyralog_obelisk_sequence_values_total",
                                     "named-sequence values handed out", NULL);
    s->m_errors = mx_counter_get(r, "pyralog_obelisk_errors_total",
                                 "Obelisk requests answered with an error", NULL);
    s->collector = mx_collector_add(r, obl_collect, s) == 0;
    *out = s;
    return 0;
}

static void slot_free(struct obl_service *s, struct seq_slot *slot)
{
    if (slot->ctr) {
        s->seq_fsyncs_closed += plg_obelisk_fsyncs(slot->ctr);
        plg_obelisk_close(slot->ctr);
    }
    free(slot);
}

void obl_service_close(struct obl_service *s)
{
    if (!s)
        return;
    if (s->collector)
        mx_collector_remove(mx_default(), obl_collect, s);
    for (size_t i = 0; i < s->nseqs; i++) {
        assert(!s->seqs[i]->busy); /* the loop must have run until every job was done */
        slot_free(s, s->seqs[i]);
    }
    free(s->seqs);
    assert(!s->floor_busy);
    plg_scarab_close(s->gen);
    free(s->binary_addr);
    free(s->dir);
    free(s);
}

unsigned obl_service_node(const struct obl_service *s)
{
    return plg_scarab_node(s->gen);
}

plg_scarab_t *obl_service_scarab(struct obl_service *s)
{
    return s->gen;
}

const char *obl_service_binary_addr(const struct obl_service *s)
{
    return s->binary_addr;
}

int obl_service_set_binary_addr(struct obl_service *s, const char *addr)
{
    char *dup = addr ? strdup(addr) : NULL;
    if (addr && !dup)
        return PLG_ENOMEM;
    free(s->binary_addr);
    s->binary_addr = dup;
    return 0;
}

/* ---- jobs on the thread pool ---- */

static void job_work(uv_work_t *req)
{
    struct job *j = req->data;
    if (j->kind == JOB_OPEN) {
        struct plg_obelisk_opts co = {.lease = j->s->lease, .io = j->s->io};
        j->open_rc = plg_obelisk_open(j->s->dir, j->slot->name, &co, &j->opened);
    } else {
        plg_obelisk_grow_run(&j->g);
    }
}

static void job_done(uv_work_t *req, int status);

/* Hands job j of the given kind to the thread pool; *busy (the resource's flag) is set until
 * job_done. */
static void job_queue(struct obl_service *s, struct job *j, enum job_kind kind, int *busy)
{
    *busy = 1;
    j->kind = kind;
    j->s = s;
    j->req.data = j;
    int rc = uv_queue_work(s->loop, &j->req, job_work, job_done);
    assert(rc == 0); /* fails only without a work callback */
    (void)rc;
}

/* ---- named sequences ---- */

/* What to do with a sequence handle after a failed request, from the handle's own sticky state
 * (not from the numeric range of the code): a handle that still works (the request was refused:
 * bad count, overflow) is kept; a handle failed by the file system (read-only, full, I/O error,
 * or any other errno of stat/ftruncate/fsync) is dropped so a later request reopens the file at
 * its durable size once the file system is back; a handle that found the file tampered with is
 * kept failed, since reopening would trust the shrunk or replaced file. */
static int seq_drop_failed(int failed)
{
    switch (failed) {
    case 0:
    case PLG_ETAMPERED:
        return 0;
    default:
        return 1;
    }
}

static struct seq_slot *seq_find(struct obl_service *s, const char *name)
{
    for (size_t i = 0; i < s->nseqs; i++)
        if (!strcmp(s->seqs[i]->name, name))
            return s->seqs[i];
    return NULL;
}

static int seq_slot_new(struct obl_service *s, const char *name, struct seq_slot **out)
{
    if (s->nseqs == OBL_MAX_OPEN_SEQS)
        return PLG_ETOOBIG;
    if (s->nseqs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct seq_slot **n = realloc(s->seqs, cap * sizeof *n);
        if (!n)
            return PLG_ENOMEM;
        s->seqs = n;
        s->cap = cap;
    }
    struct seq_slot *slot = calloc(1, sizeof *slot);
    if (!slot)
        return PLG_ENOMEM;
    snprintf(slot->name, sizeof slot->name, "%s", name);
    slot->fail_want = UINT64_MAX;
    slot->job.slot = slot;
    s->seqs[s->nseqs++] = slot;
    *out = slot;
    return 0;
}

static void seq_slot_drop(struct obl_service *s, struct seq_slot *slot)
{
    assert(!slot->busy && !slot->waiters.head);
    for (size_t i = 0; i < s->nseqs; i++)
        if (s->seqs[i] == slot) {
            s->seqs[i] = s->seqs[--s->nseqs];
            break;
        }
    slot_free(s, slot);
}

/* A failed sequence request: drops the handle when the file system failed it, logs. */
static int seq_failed(struct obl_service *s, struct seq_slot *slot, const char *name, uint64_t n,
                      int rc)
{
    if (slot && slot->ctr && !slot->busy && seq_drop_failed(plg_obelisk_failed(slot->ctr)))
        seq_slot_drop(s, slot);
    if (rc != PLG_EOVERFLOW)
        PLG_WARN("obelisk", "msg=\"sequence failed\" name=%s count=%llu err=\"%s\"", name,
                 (unsigned long long)n, plg_strerror(rc));
    return rc;
}

/* Starts a growth of slot's counter for the request of n values that found the lease used up:
 * n plus one lease, or just n near the file system's size limit. That request is the only one
 * parked (later ones park behind it and ask again, one by one, once the growth is done), so its
 * n is all there is to cover. */
static int seq_grow_start(struct obl_service *s, struct seq_slot *slot, uint64_t n)
{
    plg_obelisk_t *c = slot->ctr;
    uint64_t need = plg_obelisk_peek(c) + n; /* fits: try_next checked */
    uint64_t want = sat_add(need, s->lease > 1 ? s->lease : 0);
    if (want >= slot->fail_want)
        want = need;
    int rc = plg_obelisk_grow_begin(c, want, &slot->job.g);
    if (rc == PLG_EOVERFLOW && want > need)
        rc = plg_obelisk_grow_begin(c, want = need, &slot->job.g);
    if (rc)
        return rc;
    job_queue(s, &slot->job, JOB_GROW, &slot->busy);
    return 0;
}

/* Renews a lease ahead, when less than half of it is left, so requests rarely wait. */
static void seq_renew_ahead(struct obl_service *s, struct seq_slot *slot)
{
    plg_obelisk_t *c = slot->ctr;
    uint64_t limit = plg_obelisk_limit(c);
    if (slot->busy || s->lease <= 1 || limit - plg_obelisk_peek(c) >= s->lease / 2)
        return;
    uint64_t want = sat_add(limit, s->lease);
    if (want <= limit || want >= slot->fail_want)
        return; /* near the end of the range: the next request grows exactly what it needs */
    if (plg_obelisk_grow_begin(c, want, &slot->job.g))
        return; /* the next request that needs the growth meets the error */
    job_queue(s, &slot->job, JOB_GROW, &slot->busy);
}

/* The inline path: opens and grows on the caller's thread. */
static int seq_inline(struct obl_service *s, struct seq_slot *slot, const char *name, uint64_t n,
                      uint64_t *first)
{
    int rc = 0;
    if (!slot) {
        struct plg_obelisk_opts co = {.lease = s->lease, .io = s->io};
        plg_obelisk_t *c;
        if ((rc = plg_obelisk_open(s->dir, name, &co, &c)))
            return seq_failed(s, NULL, name, n, rc);
        if ((rc = seq_slot_new(s, name, &slot))) {
            plg_obelisk_close(c);
            return seq_failed(s, NULL, name, n, rc);
        }
        slot->ctr = c;
    }
    if (!slot->ctr || slot->busy)
        return PLG_ESTATE; /* a job of loop mode is in flight: use a wait */
    if ((rc = plg_obelisk_next(slot->ctr, n, first)))
        return seq_failed(s, slot, name, n, rc);
    mx_counter_add(s->m_seq_values, n);
    return 0;
}

int obl_service_seq_wait(struct obl_service *s, const char *name, uint64_t n, uint64_t *first,
                         struct obl_wait *w)
{
    if (w && w->rc) { /* the renewal this request waited for failed (and was logged) */
        int rc = w->rc;
        w->rc = 0;
        return rc;
    }
    if (plg_obelisk_name_check(name))
        return PLG_EINVAL;
    if (n == 0 || n > OBL_MAX_SEQ_COUNT)
        return PLG_ERANGE;
    struct seq_slot *slot = seq_find(s, name);
    if (!s->loop || !w)
        return seq_inline(s, slot, name, n, first);
    int rc;
    if (!slot) { /* create/open it on the pool; park until then */
        if ((rc = seq_slot_new(s, name, &slot)))
            return seq_failed(s, NULL, name, n, rc);
        waitq_push(&slot->waiters, w);
        job_queue(s, &slot->job, JOB_OPEN, &slot->busy);
        return OBL_PARKED;
    }
    if (slot->waiters.head || !slot->ctr) { /* first come, first served; or still opening */
        waitq_push(&slot->waiters, w);
        return OBL_PARKED;
    }
    rc = plg_obelisk_try_next(slot->ctr, n, first);
    if (rc == 0) {
        mx_counter_add(s->m_seq_values, n);
        seq_renew_ahead(s, slot);
        return 0;
    }
    if (rc == -EAGAIN) {
        if (plg_obelisk_peek(slot->ctr) + n >= slot->fail_want)
            return seq_failed(s, slot, name, n, PLG_EOVERFLOW);
        waitq_push(&slot->waiters, w);
        if (slot->busy)
            return OBL_PARKED; /* the renewal in flight may cover it; if not, the next will */
        if ((rc = seq_grow_start(s, slot, n)) == 0)
            return OBL_PARKED;
        waitq_remove(w);
    }
    return seq_failed(s, slot, name, n, rc);
}

int obl_service_seq(struct obl_service *s, const char *name, uint64_t n, uint64_t *first)
{
    return obl_service_seq_wait(s, name, n, first, NULL);
}

static void seq_job_done(struct obl_service *s, struct seq_slot *slot, int status)
{
    struct job *j = &slot->job;
    slot->busy = 0;
    if (j->kind == JOB_OPEN) {
        int rc = status ? status : j->open_rc;
        if (rc) {
            PLG_WARN("obelisk", "msg=\"sequence open failed\" name=%s err=\"%s\"", slot->name,
                     plg_strerror(rc));
            waitq_release(s, &slot->waiters, rc);
            seq_slot_drop(s, slot);
        } else {
            slot->ctr = j->opened;
            waitq_release(s, &slot->waiters, 0);
        }
        return;
    }
    if (status && !j->g.rc)
        j->g.rc = status;
    int rc = plg_obelisk_grow_end(&j->g);
    if (rc == PLG_EOVERFLOW) {
        /* The file system's size limit: parked requests ask again; those that cannot fit below
         * this limit get PLG_EOVERFLOW, the others get an exact growth. */
        if (j->g.want < slot->fail_want)
            slot->fail_want = j->g.want;
        waitq_release(s, &slot->waiters, 0);
        return;
    }
    if (rc) {
        PLG_WARN("obelisk", "msg=\"sequence renewal failed\" name=%s err=\"%s\"", slot->name,
                 plg_strerror(rc));
        waitq_release(s, &slot->waiters, rc);
        if (seq_drop_failed(plg_obelisk_failed(slot->ctr)))
            seq_slot_drop(s, slot);
        return;
    }
    waitq_release(s, &slot->waiters, 0);
}

/* ---- Scarab IDs ---- */

/* Starts raising the floor when it is due; 0 when started or not due. */
static int floor_start(struct obl_service *s)
{
    if (s->floor_busy)
        return 0;
    uint64_t target = plg_scarab_floor_due(s->gen);
    if (!target)
        return 0;
    int rc = plg_scarab_floor_grow_begin(s->gen, target, &s->floor_job.g);
    if (rc)
        return rc;
    job_queue(s, &s->floor_job, JOB_FLOOR, &s->floor_busy);
    return 0;
}

int obl_service_ids(struct obl_service *s, size_t n, const struct obl_run **runs, size_t *nruns,
                    struct obl_wait *w)
{
    if (w && w->rc) {
        int rc = w->rc;
        w->rc = 0;
        return rc;
    }
    if (n == 0 || n > OBL_MAX_IDS)
        return PLG_ERANGE;
    int parking = s->loop && w;
    if (parking && s->floor_waiters.head) { /* first come, first served */
        waitq_push(&s->floor_waiters, w);
        return OBL_PARKED;
    }
    size_t done = 0, k = 0;
    while (done < n) {
        if (k == OBL_MAX_RUNS)
            return PLG_ETOOBIG;
        uint64_t first;
        size_t got;
        int rc = parking ? plg_scarab_try_run(s->gen, n - done, &first, &got)
                         : plg_scarab_next_run(s->gen, n - done, &first, &got);
        if (rc == -EAGAIN) {
            /* The floor must move first. The runs taken so far are dropped: unique IDs that
             * are never issued (this happens after idle time, rarely mid-batch). */
            waitq_push(&s->floor_waiters, w);
            if ((rc = floor_start(s)) == 0)
                return OBL_PARKED;
            waitq_remove(w);
        }
        if (rc)
            return rc;
        s->runs[k].first = first;
        s->runs[k].len = (uint32_t)got;
        k++;
        done += got;
    }
    if (parking)
        floor_start(s); /* ahead; an error shows when IDs need the floor */
    *runs = s->runs;
    *nruns = k;
    obl_service_count_ids(s, n);
    return 0;
}

static void job_done(uv_work_t *req, int status)
{
    struct job *j = req->data;
    struct obl_service *s = j->s;
    if (j->kind == JOB_FLOOR) {
        if (status && !j->g.rc)
            j->g.rc = status;
        s->floor_busy = 0;
        int rc = plg_scarab_floor_grow_end(s->gen, &j->g);
        if (rc)
            PLG_WARN("obelisk", "msg=\"time floor renewal failed\" err=\"%s\"", plg_strerror(rc));
        waitq_release(s, &s->floor_waiters, rc);
    } else {
        seq_job_done(s, j->slot, status);
    }
    run_waking(s);
}

/* ---- binary protocol ---- */

static int handle_ids(struct obl_service *s, const struct obl_req *rq, struct buf *out,
                      struct obl_wait *w)
{
    const struct obl_run *runs;
    size_t nruns;
    int rc = obl_service_ids(s, rq->count, &runs, &nruns, w);
    if (rc == OBL_PARKED)
        return rc;
    if (rc) {
        char msg[160];
        snprintf(msg, sizeof msg, "could not issue IDs: %s",
                 rc == PLG_ETOOBIG ? "too many runs" : plg_strerror(rc));
        obl_resp_error_encode(out, OBL_OP_IDS, rq->req_id, obl_status_from_rc(rc), msg);
        obl_service_count_error(s);
        return 0;
    }
    size_t f = obl_resp_begin(out, OBL_OP_IDS, rq->req_id, OBL_ST_OK);
    buf_be32(out, (uint32_t)rq->count);
    buf_be16(out, (uint16_t)nruns);
    uint8_t *p = buf_extend(out, nruns * 12);
    for (size_t i = 0; p && i < nruns; i++) {
        be64_put(p + i * 12, runs[i].first);
        be32_put(p + i * 12 + 8, runs[i].len);
    }
    obl_resp_end(out, f);
    return 0;
}

int obl_service_handle(struct obl_service *s, const uint8_t *body, size_t len, struct buf *out,
                       struct obl_wait *w)
{
    struct obl_req rq;
    uint8_t st;
    const char *msg;
    if (obl_req_decode(body, len, &rq, &st, &msg)) {
        obl_resp_error_encode(out, rq.op, rq.req_id, st, msg);
        obl_service_count_error(s);
        return 0;
    }
    switch (rq.op) {
    case OBL_OP_IDS:
        return handle_ids(s, &rq, out, w);
    case OBL_OP_SEQ: {
        uint64_t first;
        int rc = obl_service_seq_wait(s, rq.name, rq.count, &first, w);
        if (rc == OBL_PARKED)
            return rc;
        if (rc) {
            char m[200];
            snprintf(m, sizeof m, "sequence %s: %s", rq.name, plg_strerror(rc));
            obl_resp_error_encode(out, OBL_OP_SEQ, rq.req_id, obl_status_from_rc(rc), m);
            obl_service_count_error(s);
            return 0;
        }
        size_t f = obl_resp_begin(out, OBL_OP_SEQ, rq.req_id, OBL_ST_OK);
        buf_be64(out, first);
        buf_be64(out, rq.count);
        obl_resp_end(out, f);
        return 0;
    }
    default: { /* OBL_OP_INFO */
        size_t f = obl_resp_begin(out, OBL_OP_INFO, rq.req_id, OBL_ST_OK);
        buf_u8(out, OBL_PROTO_VERSION);
        buf_be16(out, (uint16_t)obl_service_node(s));
        obl_resp_end(out, f);
        return 0;
    }
    }
}
