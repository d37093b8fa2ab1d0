/*
 * broker_fetch.c — the Fetch API: whole stored batches sent with sendfile(2) from segment
 * files (a copy in memory-only mode), max_bytes / partition_max_bytes budgets (the first batch
 * always goes out whole, KIP-74), and long-polling: when fewer than min_bytes are available the
 * request is parked on the partitions' "data arrived" lists and a max_wait timer, and evaluated
 * again when either fires. Loop thread only.
 *
 * A parked fetch copies what it needs from the request (topic names, partitions, offsets),
 * because the request frame is gone once the handler returns.
 *
 * Cold data: reading batch headers through the segment's mapping (a page fault reads up to
 * read_ahead_kb around it) and sendfile would block the loop on the disk when the pages are
 * not cached (a consumer behind the log's drop-behind window, or after a restart). Before
 * reading, fetch_eval asks the log (plg_log_read_cold: index and mincore only); if pages are
 * missing, a libuv worker reads those ranges into the page cache (pread into a scratch buffer)
 * and the fetch is evaluated again, once, when that is done.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/log.h"
#include "broker/broker_int.h"
#include "net/net.h"
#include "storage/batch.h"

struct fpart {
    struct fetch *f;
    int32_t partition;
    int64_t offset;
    int32_t max_bytes;
    struct broker_watch w;
    struct plg_log_slice slice; /* during one evaluation */
    bool has_slice;
};

struct ftopic {
    char *name;
    int32_t np;
    struct fpart *parts;
};

struct fetch {
    struct broker_req *rq;
    int32_t min_bytes;
    int32_t max_bytes;
    int32_t nt;
    struct ftopic *topics;
    uv_timer_t timer;
    bool timer_started;
    bool finished;
    int64_t wait_ms;          /* max_wait_ms, capped: the timer of a parked fetch */
    bool expired;             /* the timer fired */
    bool prefetching;         /* a worker reads cold data into the page cache; evaluation waits */
    bool cold_checked;        /* prefetch_cold ran: at most once per fetch */
    bool prefetch_final;      /* the `final` of the evaluation that started the read */
    struct broker_watch shut; /* on the broker's parked list */
};

struct ext_pos {
    size_t at;
    const struct fpart *fp;
};

struct ext_list {
    struct ext_pos *v;
    size_t n, cap;
    bool oom;
};

static void on_ext(void *ctx, size_t at, const struct krecords *rec)
{
    struct ext_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct ext_pos *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (struct ext_pos){at, rec->ext};
}

static void fetch_free(struct fetch *f)
{
    for (int32_t i = 0; i < f->nt; i++) {
        for (int32_t j = 0; j < f->topics[i].np; j++) {
            struct fpart *fp = &f->topics[i].parts[j];
            broker_watch_del(&fp->w);
            if (fp->has_slice)
                plg_log_slice_release(&fp->slice);
        }
        free(f->topics[i].parts);
        free(f->topics[i].name);
    }
    free(f->topics);
    free(f);
}

static void on_timer_closed(uv_handle_t *h)
{
    fetch_free(h->data);
}

static void fetch_dispose(struct fetch *f)
{
    broker_watch_del(&f->shut);
    for (int32_t i = 0; i < f->nt; i++)
        for (int32_t j = 0; j < f->topics[i].np; j++)
            broker_watch_del(&f->topics[i].parts[j].w);
    if (f->timer_started) {
        uv_timer_stop(&f->timer);
        uv_close((uv_handle_t *)&f->timer, on_timer_closed);
    } else {
        fetch_free(f);
    }
}

static void release_slices(struct fetch *f)
{
    for (int32_t i = 0; i < f->nt; i++)
        for (int32_t j = 0; j < f->topics[i].np; j++) {
            struct fpart *fp = &f->topics[i].parts[j];
            if (fp->has_slice)
                plg_log_slice_release(&fp->slice);
            fp->has_slice = false;
        }
}

/*
 * plg_log_read for a Kafka reply: a slice never starts with batches that hold no records.
 * Compaction leaves such batches over the offsets it removed (keeping every offset accounted
 * for); Kafka's cleaner drops them instead, and clients rely on that: librdkafka 2.0 stops
 * with "Message at offset X might be too large to fetch" on a reply made only of empty batches.
 * So the reply starts at the first batch with records (a later base offset than asked, as after
 * Kafka's compaction); only empty batches up to the log end give an empty slice.
 */
static int read_records(plg_log_t *log, int64_t offset, size_t want, struct plg_log_slice *sl)
{
    for (int hops = 0; hops < 64; hops++) {
        int rc = plg_log_read(log, offset, want, sl);
        if (rc || sl->len == 0 || !sl->data)
            return rc;
        size_t skip = 0, sz;
        while (sl->len - skip >= BATCH_HEADER_SIZE &&
               be32_get(sl->data + skip + BATCH_OFF_RECORD_COUNT) == 0 &&
               batch_frame_size(sl->data + skip, sl->len - skip, &sz) == 0 && sz <= sl->len - skip)
            skip += sz;
        if (skip < sl->len) {
            sl->pos += (int64_t)skip;
            sl->data += skip;
            sl->len -= skip;
            sl->first_offset = (int64_t)be64_get(sl->data);
            return 0;
        }
        offset = sl->next_offset; /* nothing but empty batches: read on */
        plg_log_slice_release(sl);
        sl->len = 0;
        if (offset >= plg_log_end_offset(log))
            return 0;
    }
    return 0;
}

/* Builds and sends the response from the slices read by fetch_eval. */
static void fetch_respond(struct fetch *f, struct kfetch_resp *resp)
{
    struct broker_req *rq = f->rq;
    struct buf out;
    buf_init(&out);
    struct ext_list el = {0};
    struct kw_hooks hooks = {.ext_records = on_ext, .ctx = &el};
    size_t ext_bytes = 0;
    int rc = kafka_response_encode(&out, &rq->hdr, resp, &hooks, &ext_bytes);
    struct net_resp *r = NULL;
    if (rc || out.oom || el.oom || !(r = net_resp_new()))
        goto fail;
    size_t len;
    uint8_t *data = buf_steal(&out, &len);
    size_t prev = 4; /* the encoder's size prefix; the net layer writes its own */
    for (size_t i = 0; i < el.n; i++) {
        const struct fpart *fp = el.v[i].fp;
        size_t at = el.v[i].at;
        net_resp_add_ref(r, data + prev, at - prev, NULL, NULL);
        if (fp->slice.fd < 0 || rq->b->o.memory_only) {
            /* Memory-only logs have no file: copy the bytes. */
            net_resp_add_copy(r, fp->slice.data, fp->slice.len);
        } else {
            int fd = dup(fp->slice.fd);
            if (fd < 0) {
                free(data);
                goto fail;
            }
            net_resp_add_file(r, fd, (off_t)fp->slice.pos, fp->slice.len);
        }
        prev = at;
    }
    /* The last chunk owns the encoded bytes: chunks are released in order. */
    net_resp_add_ref(r, data + prev, len - prev, free, data);
    free(el.v);
    release_slices(f);
    f->finished = true;
    broker_reply_resp(rq, r);
    fetch_dispose(f);
    return;
fail:
    PLG_ERROR("broker", "msg=\"cannot encode fetch response\" error=\"%s\"",
              plg_strerror(rc ? rc : PLG_ENOMEM));
    net_resp_free(r);
    buf_free(&out);
    free(el.v);
    release_slices(f);
    f->finished = true;
    net_conn_close(rq->conn, "fetch response encoding failed");
    broker_noreply(rq);
    fetch_dispose(f);
}

struct cold_range {
    int fd; /* a duplicate, closed when the read is done */
    int64_t pos;
    size_t len;
};

struct prefetch {
    uv_work_t work;
    struct fetch *f;
    struct broker *b;
    size_t n;
    struct cold_range r[];
};

/* Worker: reads the ranges so that the pages are cached when the loop sends them. */
static void prefetch_run(uv_work_t *w)
{
    struct prefetch *pf = w->data;
    enum { SCRATCH = 256 << 10 };
    uint8_t *scratch = malloc(SCRATCH);
    for (size_t i = 0; scratch && i < pf->n; i++) {
        const struct cold_range *c = &pf->r[i];
        for (size_t done = 0; done < c->len;) {
            size_t n = c->len - done < SCRATCH ? c->len - done : SCRATCH;
            ssize_t k = pread(c->fd, scratch, n, (off_t)(c->pos + (int64_t)done));
            if (k <= 0)
                break; /* sendfile reports what is wrong, as without the read ahead */
            done += (size_t)k;
        }
    }
    free(scratch);
}

static bool fetch_eval(struct fetch *f, bool final);
static void fetch_wait(struct fetch *f);

/* Evaluates the fetch again as the read was started for (the timer may have fired or the
 * broker begun shutting down meanwhile); parks it when it is still short of min_bytes. */
static void prefetch_done(uv_work_t *w, int status)
{
    (void)status;
    struct prefetch *pf = w->data;
    for (size_t i = 0; i < pf->n; i++)
        close(pf->r[i].fd);
    struct fetch *f = pf->f;
    struct broker *b = pf->b;
    free(pf);
    f->prefetching = false;
    if (!fetch_eval(f, f->prefetch_final || f->expired || b->shutting))
        fetch_wait(f);
    broker_unref(b);
}

/* Before any partition is read: when the data some partitions would be read from is not in
 * the page cache (plg_log_read_cold), starts reading those ranges on a worker and returns true;
 * the fetch is evaluated again when they are cached. False when all is cached or the read
 * cannot be started (the loop then reads as before). */
static bool prefetch_cold(struct fetch *f, bool final)
{
    struct broker *b = f->rq->b;
    size_t n = 0, cap = 0;
    struct prefetch *pf = NULL;
    for (int32_t i = 0; i < f->nt; i++) {
        struct btopic *t = broker_topic_find(b, f->topics[i].name, strlen(f->topics[i].name));
        for (int32_t j = 0; t && j < f->topics[i].np; j++) {
            const struct fpart *fp = &f->topics[i].parts[j];
            if (fp->partition < 0 || fp->partition >= t->npart || fp->max_bytes <= 0)
                continue;
            int fd;
            int64_t pos;
            size_t len;
            if (plg_log_read_cold(t->parts[fp->partition]->log, fp->offset, (size_t)fp->max_bytes,
                                  &fd, &pos, &len) != 1)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 4;
                struct prefetch *g = realloc(pf, sizeof *pf + cap * sizeof pf->r[0]);
                if (!g)
                    break;
                pf = g;
            }
            int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (dfd >= 0)
                pf->r[n++] = (struct cold_range){dfd, pos, len};
        }
    }
    if (n == 0) {
        free(pf);
        return false;
    }
    pf->n = n;
    pf->f = f;
    pf->b = b;
    pf->work.data = pf;
    if (uv_queue_work(b->loop, &pf->work, prefetch_run, prefetch_done) != 0) {
        for (size_t i = 0; i < n; i++)
            close(pf->r[i].fd);
        free(pf);
        return false;
    }
    b->open_handles++; /* the job keeps the broker allocated until prefetch_done */
    mx_counter_inc(b->m_fetch_cold);
    f->prefetching = true;
    f->prefetch_final = final;
    return true;
}

/*
 * Reads every partition. Answers (and returns true) when enough bytes are available, a
 * partition has an error, or `final`; otherwise releases the slices and returns false. Also
 * returns true when it started reading cold data on a worker (prefetch_cold): the fetch is
 * then answered when that read is done, and evaluations meanwhile do nothing.
 */
static bool fetch_eval(struct fetch *f, bool final)
{
    if (f->prefetching)
        return true;
    if (!f->cold_checked && !f->rq->b->o.memory_only) {
        /* Once: data that arrives while the fetch is parked is fresh (cached), and a long-poll
         * consumer at the log's end is woken for every append. */
        f->cold_checked = true;
        if (prefetch_cold(f, final))
            return true;
    }
    struct broker_req *rq = f->rq;
    struct broker *b = rq->b;
    struct kfetch_resp resp = {0};
    resp.responses = karena_alloc(&rq->arena, (size_t)(f->nt ? f->nt : 1) * sizeof *resp.responses);
    if (!resp.responses) {
        net_conn_close(rq->conn, "out of memory building a response");
        f->finished = true;
        broker_noreply(rq);
        fetch_dispose(f);
        return true;
    }
    resp.nresponses = f->nt;
    int64_t budget = f->max_bytes > 0 ? f->max_bytes : 0;
    int64_t total = 0, records = 0;
    bool any_error = false;
    for (int32_t i = 0; i < f->nt; i++) {
        struct ftopic *ft = &f->topics[i];
        struct kfetch_topic_resp *tr = &resp.responses[i];
        tr->topic = kstr_z(ft->name);
        tr->partitions =
            karena_alloc(&rq->arena, (size_t)(ft->np ? ft->np : 1) * sizeof *tr->partitions);
        if (!tr->partitions) {
            release_slices(f);
            net_conn_close(rq->conn, "out of memory building a response");
            f->finished = true;
            broker_noreply(rq);
            fetch_dispose(f);
            return true;
        }
        tr->npartitions = ft->np;
        struct btopic *t = broker_topic_find(b, ft->name, strlen(ft->name));
        for (int32_t j = 0; j < ft->np; j++) {
            struct fpart *fp = &ft->parts[j];
            struct kfetch_partition_resp *pr = &tr->partitions[j];
            pr->partition_index = fp->partition;
            pr->high_watermark = -1;
            pr->last_stable_offset = -1;
            pr->log_start_offset = -1;
            pr->aborted_transactions = NULL;
            pr->naborted_transactions = -1;
            pr->preferred_read_replica = -1;
            pr->records = (struct krecords){NULL, 0, NULL};
            if (!t || fp->partition < 0 || fp->partition >= t->npart) {
                pr->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                any_error = true;
                continue;
            }
            plg_log_t *log = t->parts[fp->partition]->log;
            int64_t start = plg_log_start_offset(log), end = plg_log_end_offset(log);
            pr->high_watermark = end;
            pr->last_stable_offset = end;
            pr->log_start_offset = start;
            if (fp->offset < start || fp->offset > end) {
                pr->error_code = KERR_OFFSET_OUT_OF_RANGE;
                any_error = true;
                continue;
            }
            if (fp->offset == end || fp->max_bytes <= 0)
                continue;
            /* The first partition with data gets at least one batch; later ones only what
             * fits in the remaining budget. */
            int64_t room = budget - total;
            if (total > 0 && room <= 0)
                continue;
            size_t want = (size_t)fp->max_bytes;
            if (room > 0 && (int64_t)want > room)
                want = (size_t)room; /* the log still returns one whole batch at least */
            int rc = read_records(log, fp->offset, want, &fp->slice);
            if (rc) {
                pr->error_code = broker_kerr(rc);
                any_error = true;
                continue;
            }
            fp->has_slice = true;
            if (fp->slice.len == 0)
                continue;
            if (total > 0 && (int64_t)fp->slice.len > room) {
                /* A batch larger than what is left: leave it for the next fetch. */
                plg_log_slice_release(&fp->slice);
                fp->has_slice = false;
                continue;
            }
            pr->records.len = (int32_t)fp->slice.len;
            pr->records.ext = fp;
            total += (int64_t)fp->slice.len;
            records += fp->slice.next_offset - fp->offset;
        }
    }
    if (!final && !any_error && total < f->min_bytes) {
        release_slices(f);
        return false;
    }
    /* Records out counts the offsets from the fetch offset to the end of the last batch sent
     * (what the consumer moves past); offsets compaction removed are included. */
    mx_counter_add(b->m_recs_out, (uint64_t)records);
    mx_counter_add(b->m_bytes_out, (uint64_t)total);
    fetch_respond(f, &resp);
    return true;
}

static void on_wait_timer(uv_timer_t *t)
{
    struct fetch *f = t->data;
    f->expired = true; /* seen by a cold read in flight, which answers when it is done */
    if (!f->finished)
        fetch_eval(f, true);
}

/* Parks the fetch (short of min_bytes): wakes on new data in any requested partition, or
 * when its max_wait timer fires (started on the first park). */
static void fetch_wait(struct fetch *f)
{
    struct broker *b = f->rq->b;
    if (!f->timer_started) {
        uv_timer_init(b->loop, &f->timer);
        f->timer.data = f;
        f->timer_started = true;
        uv_timer_start(&f->timer, on_wait_timer, (uint64_t)f->wait_ms, 0);
        broker_watch_attach(&b->parked, &f->shut);
    }
    for (int32_t i = 0; i < f->nt; i++)
        for (int32_t j = 0; j < f->topics[i].np; j++) {
            struct fpart *p = &f->topics[i].parts[j];
            if (!p->w.attached)
                broker_watch_add(b, f->topics[i].name, p->partition, &p->w);
        }
}

static void on_data(struct broker_watch *w)
{
    struct fpart *fp = w->ctx;
    struct fetch *f = fp->f;
    if (f->finished)
        return;
    if (!fetch_eval(f, f->rq->b->shutting))
        fetch_wait(f); /* still short of min_bytes */
}

static void on_shutdown_watch(struct broker_watch *w)
{
    struct fetch *f = w->ctx;
    if (!f->finished)
        fetch_eval(f, true);
}

static void h_fetch(struct broker_req *rq)
{
    struct broker *b = rq->b;
    const struct kfetch_req *req = rq->body;
    struct fetch *f = calloc(1, sizeof *f);
    int32_t nt = req->ntopics > 0 ? req->ntopics : 0;
    if (!f || !(f->topics = calloc((size_t)(nt ? nt : 1), sizeof *f->topics))) {
        free(f);
        net_conn_close(rq->conn, "out of memory");
        broker_noreply(rq);
        return;
    }
    f->rq = rq;
    f->min_bytes = req->min_bytes;
    f->max_bytes = req->max_bytes;
    f->shut.fire = on_shutdown_watch;
    f->shut.ctx = f;
    for (int32_t i = 0; i < nt; i++) {
        const struct kfetch_topic *kt = &req->topics[i];
        struct ftopic *ft = &f->topics[i];
        int32_t np = kt->npartitions > 0 ? kt->npartitions : 0;
        size_t nl = kt->topic.len > 0 ? (size_t)kt->topic.len : 0;
        ft->name = malloc(nl + 1);
        ft->parts = calloc((size_t)(np ? np : 1), sizeof *ft->parts);
        f->nt = i + 1;
        if (!ft->name || !ft->parts) {
            net_conn_close(rq->conn, "out of memory");
            f->finished = true;
            broker_noreply(rq);
            fetch_dispose(f);
            return;
        }
        memcpy(ft->name, kt->topic.p, nl);
        ft->name[nl] = 0;
        ft->np = np;
        for (int32_t j = 0; j < np; j++) {
            struct fpart *fp = &ft->parts[j];
            fp->f = f;
            fp->partition = kt->partitions[j].partition;
            fp->offset = kt->partitions[j].fetch_offset;
            fp->max_bytes = kt->partitions[j].partition_max_bytes;
            fp->w.fire = on_data;
            fp->w.ctx = fp;
        }
    }
    bool can_wait = req->max_wait_ms > 0 && req->min_bytes > 0 && !b->shutting;
    f->wait_ms = req->max_wait_ms < b->o.fetch_max_wait_cap_ms ? req->max_wait_ms
                                                               : b->o.fetch_max_wait_cap_ms;
    if (!fetch_eval(f, !can_wait))
        fetch_wait(f);
}

void broker_fetch_register(struct broker *b);
void broker_fetch_register(struct broker *b)
{
    broker_register_api(b, KAPI_FETCH, h_fetch);
}
