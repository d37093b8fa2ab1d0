/*
 * binserver.c — the Obelisk binary protocol over TCP on a libuv loop.
 *
 * Each connection accumulates input, answers every complete request frame in order (answers to
 * one read are built in the connection's reused output buffer and go out with one write), and
 * closes on a frame whose length is out of bounds. The write is tried at once (uv_try_write):
 * usually the socket takes all of it, so a request costs one read and one write syscall and no
 * allocation; only what the socket did not take is copied into a queued uv_write.
 * A request that waits for a renewal (OBL_PARKED: the time floor or a sequence lease is being
 * raised on the thread pool) stops the connection where it is: its frame and everything after
 * it stay in the input buffer, reading pauses, and the renewal's callback resumes the
 * processing, so answers keep the request order. Other connections are served meanwhile.
 * Back-pressure: while more than OBL_BIN_MAX_BACKLOG bytes are queued for writing the
 * connection stops reading. Connections are tracked so obl_bin_close() can close them all.
 */
#include "obelisk/service.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "pyralog/pyralog.h"

#define OBL_BIN_MAX_BACKLOG (4u << 20)
#define OBL_BIN_MAX_CONNS 4096

struct bin_conn {
    uv_tcp_t tcp;
    struct obl_bin_server *srv;
    struct bin_conn *next, *prev;
    struct buf in;
    struct buf out; /* answers being built; reused across reads */
    size_t backlog;
    struct obl_wait wait; /* the parked request, while parked */
    int parked;
    int reading;
    int closing;
};

struct obl_bin_server {
    uv_tcp_t listener;
    struct obl_service *svc;
    struct bin_conn *conns;
    size_t nconns;
    int port;
};

struct bin_write {
    uv_write_t req;
    struct bin_conn *c;
    uint8_t *data;
    size_t len;
};

static void listener_closed(uv_handle_t *h)
{
    free(h->data);
}

static void conn_closed(uv_handle_t *h)
{
    struct bin_conn *c = h->data;
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

static void conn_close(struct bin_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct obl_bin_server *s = c->srv;
    if (c->parked)
        obl_service_cancel(s->svc, &c->wait);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct bin_conn *c = h->data;
    (void)hint;
    uint8_t *p = buf_reserve(&c->in, 65536);
    *b = uv_buf_init((char *)p, p ? 65536 : 0);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void conn_resume_reading(struct bin_conn *c)
{
    if (!c->closing && !c->reading && !c->parked && c->backlog <= OBL_BIN_MAX_BACKLOG / 2) {
        c->reading = 1;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct bin_write *w = (struct bin_write *)req;
    struct bin_conn *c = w->c;
    c->backlog -= w->len;
    free(w->data);
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    conn_resume_reading(c);
}

/* Sends c->out: as much as the socket takes now, the rest through a queued uv_write (copied,
 * since c->out is reused). 0, or -1 when the connection was closed. */
static int conn_flush(struct bin_conn *c)
{
    if (!c->out.len)
        return 0;
    size_t off = 0;
    if (!c->backlog) { /* nothing queued: writing now keeps the order */
        uv_buf_t ub = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
        int w = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
        if (w < 0 && w != UV_EAGAIN) {
            conn_close(c);
            return -1;
        }
        off = w > 0 ? (size_t)w : 0;
    }
    size_t rest = c->out.len - off;
    if (rest) {
        struct bin_write *w = malloc(sizeof *w);
        uint8_t *copy = malloc(rest);
        if (!w || !copy) {
            free(w);
            free(copy);
            conn_close(c);
            return -1;
        }
        memcpy(copy, c->out.data + off, rest);
        w->c = c;
        w->data = copy;
        w->len = rest;
        uv_buf_t ub = uv_buf_init((char *)copy, (unsigned)rest);
        c->backlog += rest;
        if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_written)) {
            c->backlog -= rest;
            free(copy);
            free(w);
            conn_close(c);
            return -1;
        }
    }
    buf_reset(&c->out);
    return 0;
}

/* Answers the complete frames in c->in, in order, until one is parked. */
static void conn_process(struct bin_conn *c)
{
    size_t pos = 0;
    int bad = 0;
    while (!c->parked) {
        const uint8_t *body;
        size_t blen, used;
        int rc = obl_frame(c->in.data + pos, c->in.len - pos, OBL_MAX_REQ, &body, &blen, &used);
        if (rc == PLG_ETRUNC)
            break;
        if (rc) {
            bad = 1;
            break;
        }
        if (obl_service_handle(c->srv->svc, body, blen, &c->out, &c->wait) == OBL_PARKED)
            c->parked = 1; /* this frame stays in c->in; the wake-up answers it */
        else
            pos += used;
    }
    memmove(c->in.data, c->in.data + pos, c->in.len - pos);
    c->in.len -= pos;
    if (c->out.oom) {
        conn_close(c);
        return;
    }
    if (conn_flush(c))
        return;
    if (bad) {
        PLG_DEBUG("obelisk", "msg=\"bad frame length, closing binary connection\"");
        conn_close(c);
        return;
    }
    if ((c->parked || c->backlog > OBL_BIN_MAX_BACKLOG) && c->reading) {
        c->reading = 0;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

/* The renewal a parked request waited for is done (w->rc tells how): go on. */
static void conn_wake(struct obl_wait *w)
{
    struct bin_conn *c = w->arg;
    c->parked = 0;
    conn_process(c);
    if (!c->closing)
        conn_resume_reading(c);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct bin_conn *c = st->data;
    (void)b;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->in.len += (size_t)n;
    conn_process(c);
}

static void on_conn(uv_stream_t *l, int status)
{
    struct obl_bin_server *s = l->data;
    if (status < 0)
        return;
    struct bin_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = s;
    buf_init(&c->in);
    buf_init(&c->out);
    c->wait.cb = conn_wake;
    c->wait.arg = c;
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) || s->nconns >= OBL_BIN_MAX_CONNS) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int obl_bin_listen(uv_loop_t *loop, struct obl_service *svc, const char *host, int port,
                   struct obl_bin_server **out)
{
    *out = NULL;
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr))
        return PLG_EINVAL;
    struct obl_bin_server *s = calloc(1, sizeof *s);
    if (!s)
        return PLG_ENOMEM;
    s->svc = svc;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    int rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&s->listener, 256, on_conn);
    if (rc) {
        uv_close((uv_handle_t *)&s->listener, listener_closed);
        return rc; /* libuv codes are -errno on Unix */
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
    s->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *out = s;
    return 0;
}

int obl_bin_port(const struct obl_bin_server *b)
{
    return b->port;
}

void obl_bin_close(struct obl_bin_server *b)
{
    if (!b)
        return;
    while (b->conns)
        conn_close(b->conns);
    uv_close((uv_handle_t *)&b->listener, listener_closed);
}
