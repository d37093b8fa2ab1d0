/*
 * net.c — listener, connections, framing, ordered responses, back-pressure (see net.h).
 *
 * Each connection is a raw non-blocking socket watched by one uv_poll_t. Reading fills `rbuf`;
 * complete frames are dispatched in order and each gets a slot in a ring indexed by sequence
 * number. Completed slots at the head of the ring move, in order, to the write queue (a list of
 * responses, each a vector of chunks). The writer gathers consecutive memory chunks into one
 * writev(2) and sends file chunks with sendfile(2); on EAGAIN it waits for POLLOUT.
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/log.h"
#include "base/metrics.h"
#include "pyralog/pyralog.h"

enum { CHUNK_MEM, CHUNK_FILE };

struct chunk {
    int kind;
    const uint8_t *p; /* CHUNK_MEM */
    size_t len;
    void (*release)(void *);
    void *arg;
    int fd; /* CHUNK_FILE: owned */
    off_t off;
};

struct net_resp {
    struct net_resp *next;
    uint8_t hdr[4];
    struct chunk *v;
    size_t n, cap;
    size_t total; /* body bytes (without the size prefix) */
    size_t cur;   /* writer: index of the chunk being written */
    size_t done;  /* writer: bytes of v[cur] already written */
};

struct slot {
    bool done;
    struct net_resp *r; /* NULL for noreply */
};

struct net_conn {
    struct net_server *srv;
    struct net_conn *prev, *next; /* server's list */
    int fd;
    uv_poll_t poll;
    int events; /* currently polled UV_READABLE|UV_WRITABLE */
    int refs;
    bool closed;
    bool in_process; /* frame dispatch running: do not re-enter */
    char peer[64];
    void *data;

    uint8_t *rbuf;
    size_t rlen, rcap;

    struct slot *slots; /* ring, capacity scap (power of two) */
    size_t scap;
    uint64_t head_seq; /* oldest slot not yet moved to the write queue */
    uint64_t next_seq; /* sequence of the next frame */

    struct net_resp *wq_head, *wq_tail;
    size_t queued; /* unsent bytes in the write queue */
    bool paused;   /* back-pressure: not reading */
};

struct net_server {
    uv_loop_t *loop;
    struct net_server_opts o;
    char name[32];
    char host[64];
    struct net_handler h;
    int lfd;
    int port;
    uv_poll_t lpoll;
    bool listening;
    bool lpoll_open;
    struct net_conn *conns;
    int nconns;
    bool shutting;
    void (*done)(void *);
    void *done_arg;
    bool done_called;
    /* metrics, labelled listener="<name>" */
    struct mx_gauge *m_conns;
    struct mx_counter *m_accepted, *m_refused, *m_bytes_in, *m_bytes_out;
    /* One large receive buffer given back by a connection that shrank, for the next frame that
     * needs one: a client streaming 1 MB produce requests would otherwise have its buffer freed
     * after every request and faulted in again for the next (glibc trims or unmaps it), which
     * perf showed as ~8% of the server's CPU. */
    uint8_t *spare;
    size_t spare_cap;
};

#define RBUF_MIN 65536
#define SPARE_MAX (16u << 20) /* larger buffers are freed, not kept */
#define IOV_MAX_GATHER 64

static void conn_update_poll(struct net_conn *c);
static void conn_try_write(struct net_conn *c);
static void conn_process(struct net_conn *c);
static void on_conn_poll(uv_poll_t *h, int status, int events);
static void server_maybe_done(struct net_server *s);

/* ---- responses ---- */

static int resp_push(struct net_resp *r, struct chunk ch)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct chunk *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return PLG_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = ch;
    return 0;
}

struct net_resp *net_resp_new(void)
{
    struct net_resp *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    struct chunk h = {.kind = CHUNK_MEM, .p = r->hdr, .len = 4, .fd = -1};
    if (resp_push(r, h)) {
        free(r);
        return NULL;
    }
    return r;
}

static void chunk_release(struct chunk *ch)
{
    if (ch->kind == CHUNK_FILE) {
        if (ch->fd >= 0)
            close(ch->fd);
        ch->fd = -1;
    } else if (ch->release) {
        ch->release(ch->arg);
        ch->release = NULL;
    }
}

void net_resp_free(struct net_resp *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        chunk_release(&r->v[i]);
    free(r->v);
    free(r);
}

int net_resp_add_owned(struct net_resp *r, uint8_t *p, size_t len)
{
    struct chunk ch = {.kind = CHUNK_MEM, .p = p, .len = len, .release = free, .arg = p, .fd = -1};
    int rc = resp_push(r, ch);
    if (rc) {
        free(p);
        return rc;
    }
    r->total += len;
    return 0;
}

int net_resp_add_copy(struct net_resp *r, const void *p, size_t len)
{
    if (len == 0)
        return 0;
    uint8_t *d = malloc(len);
    if (!d)
        return PLG_ENOMEM;
    memcpy(d, p, len);
    return net_resp_add_owned(r, d, len);
}

int net_resp_add_ref(struct net_resp *r, const uint8_t *p, size_t len, void (*release)(void *),
                     void *arg)
{
    struct chunk ch = {
        .kind = CHUNK_MEM, .p = p, .len = len, .release = release, .arg = arg, .fd = -1};
    int rc = resp_push(r, ch);
    if (rc) {
        if (release)
            release(arg);
        return rc;
    }
    r->total += len;
    return 0;
}

int net_resp_add_file(struct net_resp *r, int fd, off_t off, size_t len)
{
    struct chunk ch = {.kind = CHUNK_FILE, .len = len, .fd = fd, .off = off};
    int rc = resp_push(r, ch);
    if (rc) {
        close(fd);
        return rc;
    }
    r->total += len;
    return 0;
}

size_t net_resp_len(const struct net_resp *r)
{
    return r->total;
}

/* ---- connections ---- */

void net_conn_ref(struct net_conn *c)
{
    c->refs++;
}

static void conn_destroy(struct net_conn *c)
{
    free(c->rbuf);
    free(c->slots);
    free(c);
}

void net_conn_unref(struct net_conn *c)
{
    assert(c->refs > 0);
    if (--c->refs == 0)
        conn_destroy(c);
}

bool net_conn_is_closed(const struct net_conn *c)
{
    return c->closed;
}

const char *net_conn_peer(const struct net_conn *c)
{
    return c->peer;
}

void net_conn_set_data(struct net_conn *c, void *data)
{
    c->data = data;
}

void *net_conn_data(const struct net_conn *c)
{
    return c->data;
}

static void on_conn_poll_closed(uv_handle_t *h)
{
    struct net_conn *c = h->data;
    struct net_server *s = c->srv;
    close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    mx_gauge_add(s->m_conns, -1);
    net_conn_unref(c);
    server_maybe_done(s);
}

void net_conn_close(struct net_conn *c, const char *why)
{
    if (c->closed)
        return;
    c->closed = true;
    struct net_server *s = c->srv;
    if (why)
        PLG_WARN("net", "msg=\"closing connection\" listener=%s peer=%s reason=\"%s\"", s->name,
                 c->peer, why);
    else
        PLG_DEBUG("net", "msg=\"connection closed\" listener=%s peer=%s", s->name, c->peer);
    uv_poll_stop(&c->poll);
    while (c->wq_head) {
        struct net_resp *r = c->wq_head;
        c->wq_head = r->next;
        net_resp_free(r);
    }
    c->wq_tail = NULL;
    c->queued = 0;
    for (uint64_t q = c->head_seq; q < c->next_seq; q++) {
        struct slot *sl = &c->slots[q & (c->scap - 1)];
        if (sl->done)
            net_resp_free(sl->r);
        sl->r = NULL;
        sl->done = false;
    }
    c->head_seq = c->next_seq;
    if (s->h.on_close)
        s->h.on_close(s->h.ctx, c);
    uv_close((uv_handle_t *)&c->poll, on_conn_poll_closed);
}

static size_t conn_pending(const struct net_conn *c)
{
    return (size_t)(c->next_seq - c->head_seq);
}

static bool conn_over_limit(const struct net_conn *c)
{
    const struct net_server_opts *o = &c->srv->o;
    return conn_pending(c) >= (size_t)o->max_inflight || c->queued > o->max_queued;
}

static bool conn_under_resume(const struct net_conn *c)
{
    const struct net_server_opts *o = &c->srv->o;
    return conn_pending(c) <= (size_t)o->max_inflight / 2 && c->queued <= o->max_queued / 2;
}

static void conn_check_shutdown(struct net_conn *c)
{
    if (c->srv->shutting && !c->closed && conn_pending(c) == 0 && !c->wq_head)
        net_conn_close(c, NULL);
}

/* Moves completed head slots to the write queue. */
static void conn_flush_slots(struct net_conn *c)
{
    while (c->head_seq < c->next_seq) {
        struct slot *sl = &c->slots[c->head_seq & (c->scap - 1)];
        if (!sl->done)
            break;
        struct net_resp *r = sl->r;
        sl->done = false;
        sl->r = NULL;
        c->head_seq++;
        if (!r)
            continue;
        be32_put(r->hdr, (uint32_t)r->total);
        r->next = NULL;
        if (c->wq_tail)
            c->wq_tail->next = r;
        else
            c->wq_head = r;
        c->wq_tail = r;
        c->queued += r->total + 4;
    }
}

static void conn_after_change(struct net_conn *c)
{
    if (c->closed)
        return;
    if (c->paused && conn_under_resume(c)) {
        c->paused = false;
        conn_process(c); /* frames already buffered */
        if (c->closed)
            return;
    }
    conn_update_poll(c);
    conn_check_shutdown(c);
}

static void conn_complete(struct net_conn *c, uint64_t seq, struct net_resp *r)
{
    if (c->closed || seq < c->head_seq || seq >= c->next_seq) {
        net_resp_free(r);
        return;
    }
    struct slot *sl = &c->slots[seq & (c->scap - 1)];
    assert(!sl->done);
    sl->done = true;
    sl->r = r;
    if (seq != c->head_seq)
        return;
    conn_flush_slots(c);
    conn_try_write(c);
    conn_after_change(c);
}

void net_conn_reply(struct net_conn *c, uint64_t seq, struct net_resp *r)
{
    conn_complete(c, seq, r);
}

void net_conn_noreply(struct net_conn *c, uint64_t seq)
{
    conn_complete(c, seq, NULL);
}

/* Advances the write queue by n written bytes, releasing finished chunks and responses. */
static void conn_consume(struct net_conn *c, size_t n)
{
    c->queued -= n;
    mx_counter_add(c->srv->m_bytes_out, n);
    while (n > 0 || (c->wq_head && c->wq_head->cur == c->wq_head->n)) {
        struct net_resp *r = c->wq_head;
        assert(r);
        if (r->cur == r->n) {
            c->wq_head = r->next;
            if (!c->wq_head)
                c->wq_tail = NULL;
            net_resp_free(r);
            continue;
        }
        struct chunk *ch = &r->v[r->cur];
        size_t left = ch->len - r->done;
        if (n < left) {
            r->done += n;
            n = 0;
            break;
        }
        n -= left;
        chunk_release(ch);
        r->cur++;
        r->done = 0;
    }
    /* Skip empty chunks and finished responses at the head. */
    while (c->wq_head) {
        struct net_resp *r = c->wq_head;
        while (r->cur < r->n && r->v[r->cur].len == 0) {
            chunk_release(&r->v[r->cur]);
            r->cur++;
        }
        if (r->cur < r->n)
            break;
        c->wq_head = r->next;
        if (!c->wq_head)
            c->wq_tail = NULL;
        net_resp_free(r);
    }
}

static void conn_try_write(struct net_conn *c)
{
    conn_consume(c, 0);
    while (!c->closed && c->wq_head) {
        struct net_resp *r = c->wq_head;
        struct chunk *ch = &r->v[r->cur];
        ssize_t n;
        if (ch->kind == CHUNK_FILE) {
            off_t off = ch->off + (off_t)r->done;
            n = sendfile(c->fd, ch->fd, &off, ch->len - r->done);
            if (n == 0) {
                net_conn_close(c, "segment file shorter than its index says");
                return;
            }
        } else {
            struct iovec iov[IOV_MAX_GATHER];
            int k = 0;
            size_t skip = r->done;
            for (struct net_resp *q = r; q && k < IOV_MAX_GATHER; q = q->next) {
                size_t i = q == r ? q->cur : 0;
                for (; i < q->n && k < IOV_MAX_GATHER; i++) {
                    struct chunk *x = &q->v[i];
                    if (x->kind != CHUNK_MEM)
                        goto gathered;
                    if (x->len - skip == 0) {
                        skip = 0;
                        continue;
                    }
                    iov[k].iov_base = (void *)(x->p + skip);
                    iov[k].iov_len = x->len - skip;
                    skip = 0;
                    k++;
                }
            }
        gathered:
            if (k == 0) {
                conn_consume(c, 0);
                continue;
            }
            n = writev(c->fd, iov, k);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            char why[96];
            snprintf(why, sizeof why, "write: %s", strerror(errno));
            net_conn_close(c, errno == EPIPE || errno == ECONNRESET ? NULL : why);
            return;
        }
        conn_consume(c, (size_t)n);
    }
}

static void conn_update_poll(struct net_conn *c)
{
    if (c->closed)
        return;
    int want = 0;
    if (!c->paused && !c->srv->shutting)
        want |= UV_READABLE;
    if (c->wq_head)
        want |= UV_WRITABLE;
    if (want == c->events)
        return;
    c->events = want;
    if (want)
        uv_poll_start(&c->poll, want, on_conn_poll);
    else
        uv_poll_stop(&c->poll);
}

static int slots_grow(struct net_conn *c)
{
    size_t cap = c->scap ? c->scap * 2 : 16;
    struct slot *v = calloc(cap, sizeof *v);
    if (!v)
        return PLG_ENOMEM;
    for (uint64_t q = c->head_seq; q < c->next_seq; q++)
        v[q & (cap - 1)] = c->slots[q & (c->scap - 1)];
    free(c->slots);
    c->slots = v;
    c->scap = cap;
    return 0;
}

/* Dispatches the complete frames in rbuf, as far as back-pressure allows. */
static void conn_process(struct net_conn *c)
{
    if (c->in_process || c->closed)
        return;
    c->in_process = true;
    net_conn_ref(c);
    struct net_server *s = c->srv;
    size_t pos = 0;
    while (!c->closed && !c->paused && c->rlen - pos >= 4) {
        int32_t size = (int32_t)be32_get(c->rbuf + pos);
        if (size <= 0 || (size_t)size > s->o.max_frame) {
            char why[128];
            snprintf(why, sizeof why, "request size %d outside 1..%zu (socket.request.max.bytes)",
                     size, s->o.max_frame);
            net_conn_close(c, why);
            break;
        }
        if (c->rlen - pos - 4 < (size_t)size)
            break;
        if (conn_pending(c) == c->scap && slots_grow(c)) {
            net_conn_close(c, "out of memory");
            break;
        }
        uint64_t seq = c->next_seq++;
        c->slots[seq & (c->scap - 1)] = (struct slot){0};
        s->h.on_frame(s->h.ctx, c, seq, c->rbuf + pos + 4, (size_t)size);
        pos += 4 + (size_t)size;
        if (!c->closed && conn_over_limit(c))
            c->paused = true;
    }
    if (!c->closed && pos > 0) {
        memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
        c->rlen -= pos;
    }
    c->in_process = false;
    if (!c->closed) {
        conn_update_poll(c);
        conn_check_shutdown(c);
    }
    net_conn_unref(c);
}

/* Makes room in rbuf for the frame being received (up to max_frame + 4). */
static int conn_rbuf_room(struct net_conn *c)
{
    size_t need = RBUF_MIN;
    if (c->rlen >= 4) {
        int32_t size = (int32_t)be32_get(c->rbuf);
        if (size > 0 && (size_t)size <= c->srv->o.max_frame && (size_t)size + 4 > need)
            need = (size_t)size + 4;
    }
    struct net_server *s = c->srv;
    if (c->rlen == c->rcap || need > c->rcap) {
        size_t cap = c->rcap ? c->rcap : RBUF_MIN;
        while (cap < need || cap == c->rlen)
            cap *= 2;
        if (s->spare && s->spare_cap >= cap) {
            if (c->rlen > 0) /* rbuf may still be NULL (UBSan: memcpy from NULL) */
                memcpy(s->spare, c->rbuf, c->rlen);
            free(c->rbuf);
            c->rbuf = s->spare;
            c->rcap = s->spare_cap;
            s->spare = NULL;
            return 0;
        }
        uint8_t *p = realloc(c->rbuf, cap);
        if (!p)
            return PLG_ENOMEM;
        c->rbuf = p;
        c->rcap = cap;
    } else if (c->rcap > 4 * RBUF_MIN && c->rlen < RBUF_MIN && need <= RBUF_MIN) {
        /* Shrink after a big frame so idle connections stay small; the big buffer becomes the
         * server's spare when it is the largest one kept so far. */
        uint8_t *p = malloc(RBUF_MIN);
        if (p) {
            memcpy(p, c->rbuf, c->rlen);
            if (c->rcap <= SPARE_MAX && (!s->spare || s->spare_cap < c->rcap)) {
                free(s->spare);
                s->spare = c->rbuf;
                s->spare_cap = c->rcap;
            } else {
                free(c->rbuf);
            }
            c->rbuf = p;
            c->rcap = RBUF_MIN;
        }
    }
    return 0;
}

static void conn_read(struct net_conn *c)
{
    /* Bounded work per wake-up keeps one busy client from starving the others. */
    for (int rounds = 0; rounds < 16 && !c->closed && !c->paused; rounds++) {
        if (conn_rbuf_room(c)) {
            net_conn_close(c, "out of memory for request buffer");
            return;
        }
        ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            char why[96];
            snprintf(why, sizeof why, "read: %s", strerror(errno));
            net_conn_close(c, errno == ECONNRESET ? NULL : why);
            return;
        }
        if (n == 0) {
            if (c->rlen > 0)
                net_conn_close(c, "peer closed mid-request");
            else
                net_conn_close(c, NULL);
            return;
        }
        c->rlen += (size_t)n;
        mx_counter_add(c->srv->m_bytes_in, (uint64_t)n);
        conn_process(c);
    }
}

static void on_conn_poll(uv_poll_t *h, int status, int events)
{
    struct net_conn *c = h->data;
    if (c->closed)
        return;
    net_conn_ref(c);
    if (status < 0) {
        char why[96];
        snprintf(why, sizeof why, "poll: %s", uv_strerror(status));
        net_conn_close(c, why);
    } else {
        if (events & UV_WRITABLE) {
            conn_try_write(c);
            conn_after_change(c);
        }
        if (!c->closed && (events & UV_READABLE))
            conn_read(c);
        if (!c->closed)
            conn_update_poll(c);
    }
    net_conn_unref(c);
}

/* ---- listener ---- */

static void conn_open(struct net_server *s, int fd, const struct sockaddr_storage *ss)
{
    struct net_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->refs = 1;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
    if (slots_grow(c) || uv_poll_init_socket(s->loop, &c->poll, fd) != 0) {
        close(fd);
        conn_destroy(c);
        return;
    }
    c->poll.data = c;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    mx_gauge_add(s->m_conns, 1);
    mx_counter_inc(s->m_accepted);
    c->events = UV_READABLE;
    uv_poll_start(&c->poll, UV_READABLE, on_conn_poll);
    if (s->h.on_open)
        s->h.on_open(s->h.ctx, c);
}

static void on_listen_poll(uv_poll_t *h, int status, int events)
{
    struct net_server *s = h->data;
    if (status < 0 || !s->listening)
        return;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                PLG_WARN("net", "msg=\"accept failed\" listener=%s error=\"%s\"", s->name,
                         strerror(errno));
            return;
        }
        if (s->nconns >= s->o.max_conns) {
            PLG_WARN("net",
                     "msg=\"connection refused: limit reached\" listener=%s max.connections=%d",
                     s->name, s->o.max_conns);
            mx_counter_inc(s->m_refused);
            close(fd);
            continue;
        }
        conn_open(s, fd, &ss);
    }
}

int net_server_open(uv_loop_t *loop, const struct net_server_opts *opts,
                    const struct net_handler *h, struct net_server **out)
{
    struct net_server *s = calloc(1, sizeof *s);
    if (!s)
        return PLG_ENOMEM;
    s->loop = loop;
    s->o = *opts;
    s->h = *h;
    snprintf(s->name, sizeof s->name, "%s", opts->name ? opts->name : "tcp");
    snprintf(s->host, sizeof s->host, "%s", opts->host ? opts->host : "127.0.0.1");
    s->o.name = s->name;
    s->o.host = s->host;
    char labels[64];
    snprintf(labels, sizeof labels, "listener=\"%s\"", s->name);
    struct mx_registry *mr = mx_default();
    s->m_conns =
        mx_gauge_get(mr, "pyralog_net_connections", "Open connections by listener.", labels);
    s->m_accepted = mx_counter_get(mr, "pyralog_net_connections_accepted_total",
                                   "Connections accepted by listener.", labels);
    s->m_refused = mx_counter_get(mr, "pyralog_net_connections_refused_total",
                                  "Connections refused at max.connections, by listener.", labels);
    s->m_bytes_in = mx_counter_get(mr, "pyralog_net_bytes_in_total",
                                   "Bytes read from client connections, by listener.", labels);
    s->m_bytes_out = mx_counter_get(mr, "pyralog_net_bytes_out_total",
                                    "Bytes written to client connections, by listener.", labels);
    if (s->o.max_inflight < 2)
        s->o.max_inflight = 2;
    if (s->o.max_queued < 65536)
        s->o.max_queued = 65536;
    if (s->o.max_conns < 1)
        s->o.max_conns = 1;
    s->lfd = -1;

    struct sockaddr_storage ss = {0};
    socklen_t sl;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, s->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)opts->port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, s->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)opts->port);
        sl = sizeof *a6;
    } else {
        free(s);
        return PLG_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = -errno;
        free(s);
        return e;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
        int e = -errno;
        close(fd);
        free(s);
        return e;
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    s->port = ss.ss_family == AF_INET ? ntohs(a4->sin_port) : ntohs(a6->sin6_port);
    s->lfd = fd;
    int rc = uv_poll_init_socket(loop, &s->lpoll, fd);
    if (rc) {
        close(fd);
        free(s);
        return rc;
    }
    s->lpoll.data = s;
    s->lpoll_open = true;
    s->listening = true;
    uv_poll_start(&s->lpoll, UV_READABLE, on_listen_poll);
    *out = s;
    return 0;
}

int net_server_port(const struct net_server *s)
{
    return s->port;
}

int net_server_conn_count(const struct net_server *s)
{
    return s->nconns;
}

static void on_listen_closed(uv_handle_t *h)
{
    struct net_server *s = h->data;
    close(s->lfd);
    s->lfd = -1;
    s->lpoll_open = false;
    server_maybe_done(s);
}

static void server_maybe_done(struct net_server *s)
{
    if (!s->shutting || s->done_called || s->lpoll_open || s->nconns > 0)
        return;
    s->done_called = true;
    if (s->done)
        s->done(s->done_arg);
}

void net_server_shutdown(struct net_server *s, void (*done)(void *arg), void *arg)
{
    if (s->shutting)
        return;
    s->shutting = true;
    s->done = done;
    s->done_arg = arg;
    s->listening = false;
    uv_poll_stop(&s->lpoll);
    uv_close((uv_handle_t *)&s->lpoll, on_listen_closed);
    struct net_conn *next;
    for (struct net_conn *c = s->conns; c; c = next) {
        next = c->next;
        net_conn_ref(c);
        conn_process(c); /* complete frames already received count as accepted */
        if (!c->closed) {
            conn_update_poll(c);
            conn_check_shutdown(c);
        }
        net_conn_unref(c);
    }
}

void net_server_close_all(struct net_server *s)
{
    for (struct net_conn *c = s->conns; c; c = c->next)
        if (!c->closed)
            net_conn_close(c, "shutdown grace period over");
}

void net_server_free(struct net_server *s)
{
    if (!s)
        return;
    assert(s->nconns == 0 && !s->lpoll_open);
    free(s->spare);
    free(s);
}
