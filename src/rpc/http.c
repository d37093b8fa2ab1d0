/*
 * http.c — JSON-RPC over HTTP POST and WebSocket, /metrics and /health, on libwebsockets
 * running on the caller's libuv loop (see http.h).
 *
 * One lws protocol (index 0, so WebSocket clients that name no subprotocol land on it) handles
 * both the HTTP callbacks and the WebSocket callbacks; its per-session data is struct conn.
 * Responses are written by us, not by lws' header helpers: a HTTP response is one buffer
 * (status line, headers, body) written in chunks from LWS_CALLBACK_HTTP_WRITEABLE, then
 * lws_http_transaction_completed() keeps the connection for the next request. WebSocket output is
 * a FIFO of whole messages, each allocated with LWS_PRE bytes of headroom for the frame header,
 * written while the socket accepts more.
 */
#include "rpc/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "pyralog/pyralog.h"

#define HTTP_CHUNK (64 * 1024)
#define WS_LOW_WATER (64 * 1024)
#define WS_COALESCE (64 * 1024)

struct out {
    struct out *next;
    size_t len; /* payload bytes after the headroom */
    size_t off; /* bytes already written (HTTP) */
    uint8_t data[];
};

struct rpc_http {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct rpc_dispatcher *d;
    struct rpc_http_config cfg;
    char host[64];
    int port;
    int conns;
    bool stopping;
    struct mx_gauge *g_http, *g_ws, *g_queued;
    struct mx_counter *req_rpc, *req_metrics, *req_health, *req_other, *ws_msgs;
    struct mx_counter *bytes_in, *bytes_out;
    struct mx_counter *rej_conns, *rej_size;
};

enum http_state { H_IDLE, H_BODY, H_WAIT, H_SEND };

struct conn {
    struct rpc_http *h;
    struct lws *wsi;
    struct rpc_session *session;
    bool is_ws;
    bool counted;
    bool close_after; /* close once the queue / response is written */
    bool close_sent;  /* WebSocket close frame written */
    /* input */
    struct buf rx;
    struct buf tx; /* WebSocket frames coalesced for one write */
    bool rx_too_big;
    /* HTTP */
    enum http_state hstate;
    struct out *resp;
    /* WebSocket */
    struct out *qhead, *qtail;
    size_t backlog;
    bool was_high;
    bool want_write;  /* a writable callback is requested */
    bool in_dispatch; /* inside rpc_session_input from a body completion */
};

static struct out *out_new(size_t len)
{
    struct out *o = malloc(sizeof *o + LWS_PRE + len);
    if (!o)
        return NULL;
    o->next = NULL;
    o->len = len;
    o->off = 0;
    return o;
}

static uint8_t *out_payload(struct out *o)
{
    return o->data + LWS_PRE;
}

/* ---- HTTP responses ---- */

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

/* Queues a whole HTTP response and asks for a writable callback. */
static int http_respond(struct conn *c, int status, const char *ctype, const char *body,
                        size_t blen, bool close)
{
    char head[256];
    int hl =
        snprintf(head, sizeof head,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n%s\r\n",
                 status, status_text(status), ctype, blen, close ? "Connection: close\r\n" : "");
    struct out *o = out_new((size_t)hl + blen);
    if (!o)
        return PLG_ENOMEM;
    memcpy(out_payload(o), head, (size_t)hl);
    if (blen)
        memcpy(out_payload(o) + hl, body, blen);
    free(c->resp);
    c->resp = o;
    c->hstate = H_SEND;
    c->close_after = close;
    if (!c->in_dispatch)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int http_json(struct conn *c, int status, const char *json, bool close)
{
    return http_respond(c, status, "application/json", json, strlen(json), close);
}

/* Returns -1 to close the connection, 0 to go on. */
static int http_writeable(struct conn *c)
{
    struct out *o = c->resp;
    if (c->hstate != H_SEND || !o)
        return 0;
    size_t n = o->len - o->off;
    if (n > HTTP_CHUNK)
        n = HTTP_CHUNK;
    /* Write with LWS_PRE headroom before the chunk: move it to the front on later chunks is not
     * needed, lws only needs the bytes before the pointer to be writable. */
    int w = lws_write(c->wsi, out_payload(o) + o->off, n, LWS_WRITE_HTTP);
    if (w < (int)n)
        return -1;
    mx_counter_add(c->h->bytes_out, n);
    o->off += n;
    if (o->off < o->len) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    free(o);
    c->resp = NULL;
    c->hstate = H_IDLE;
    buf_reset(&c->rx);
    c->rx_too_big = false;
    if (c->close_after)
        return -1;
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

/* ---- session transport ops ---- */

static void http_reply(void *t, char *text, size_t len)
{
    struct conn *c = t;
    if (c->hstate != H_WAIT) {
        free(text);
        return;
    }
    if (text)
        http_respond(c, 200, "application/json", text, len, false);
    else
        http_respond(c, 204, "application/json", "", 0, false);
    free(text);
}

static int ws_enqueue(struct conn *c, char *text, size_t len)
{
    struct out *o = out_new(len);
    if (!o) {
        free(text);
        return PLG_ENOMEM;
    }
    memcpy(out_payload(o), text, len);
    free(text);
    if (c->qtail)
        c->qtail->next = o;
    else
        c->qhead = o;
    c->qtail = o;
    c->backlog += len;
    mx_gauge_add(c->h->g_queued, (double)len);
    if (c->backlog > c->h->cfg.ws_high_water)
        c->was_high = true;
    if (!c->want_write) {
        c->want_write = true;
        lws_callback_on_writable(c->wsi);
    }
    return 0;
}

static void ws_reply(void *t, char *text, size_t len)
{
    if (text)
        ws_enqueue(t, text, len);
}

static int ws_push(void *t, char *text, size_t len)
{
    return ws_enqueue(t, text, len);
}

static size_t ws_backlog(void *t)
{
    return ((struct conn *)t)->backlog;
}

static void ws_flow(void *t, bool allow)
{
    struct conn *c = t;
    lws_rx_flow_control(c->wsi, allow ? 1 : 0);
}

static const struct rpc_session_ops http_ops = {http_reply, NULL, NULL, NULL};
static const struct rpc_session_ops ws_ops = {ws_reply, ws_push, ws_backlog, ws_flow};

/* Returns -1 to close. */
/* Writes an unmasked server frame header for a text message of len bytes ending just before
 * `end`; returns the header size (2, 4 or 10). */
static size_t ws_frame_header(uint8_t *end, size_t len)
{
    if (len < 126) {
        end[-2] = 0x81;
        end[-1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        end[-4] = 0x81;
        end[-3] = 126;
        end[-2] = (uint8_t)(len >> 8);
        end[-1] = (uint8_t)len;
        return 4;
    }
    end[-10] = 0x81;
    end[-9] = 127;
    for (int i = 0; i < 8; i++)
        end[-8 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

static void ws_pop(struct conn *c)
{
    struct out *o = c->qhead;
    mx_counter_add(c->h->bytes_out, o->len);
    c->qhead = o->next;
    if (!c->qhead)
        c->qtail = NULL;
    c->backlog -= o->len;
    mx_gauge_add(c->h->g_queued, -(double)o->len);
    free(o);
}

/*
 * Sends queued messages, many per system call: the frames are built here and the bytes go out
 * with lws_write(LWS_WRITE_HTTP), which on a WebSocket connection sends them as they are (lws
 * frames only TEXT/BINARY writes). One lws_write per writable callback: lws keeps any unsent
 * remainder and calls back when it has drained. Returns -1 to close.
 */
static int ws_writeable(struct conn *c)
{
    bool wrote = false;
    c->want_write = false;
    if (c->qhead) {
        wrote = true;
        struct out *o = c->qhead;
        if (!o->next || o->len >= WS_COALESCE) {
            /* One message: its headroom (LWS_PRE >= 10 bytes) takes the frame header. */
            uint8_t *p = out_payload(o);
            size_t hl = ws_frame_header(p, o->len);
            if (lws_write(c->wsi, p - hl, hl + o->len, LWS_WRITE_HTTP) < (int)(hl + o->len))
                return -1;
            ws_pop(c);
        } else {
            buf_reset(&c->tx);
            if (!buf_extend(&c->tx, LWS_PRE))
                return -1;
            while (c->qhead && c->tx.len < WS_COALESCE) {
                o = c->qhead;
                uint8_t *d = buf_extend(&c->tx, 10 + o->len);
                if (!d)
                    return -1;
                size_t hl = ws_frame_header(d + 10, o->len);
                /* Slide the header next to what is already in the buffer. */
                memmove(d, d + 10 - hl, hl);
                memcpy(d + hl, out_payload(o), o->len);
                c->tx.len -= 10 - hl;
                ws_pop(c);
            }
            size_t n = c->tx.len - LWS_PRE;
            if (lws_write(c->wsi, c->tx.data + LWS_PRE, n, LWS_WRITE_HTTP) < (int)n)
                return -1;
        }
    }
    if (c->qhead) {
        c->want_write = true;
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (c->close_after && wrote) {
        /* The close frame goes out in a writable callback of its own. */
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (c->close_after && !c->close_sent) {
        /* A close frame with status 1008 and the reason, then drop the connection on the next
         * writable callback (lws' own close on return -1 would not carry our status). */
        static const char reason[] = "too many connections";
        uint8_t frame[LWS_PRE + 2 + sizeof reason];
        frame[LWS_PRE] = (uint8_t)(LWS_CLOSE_STATUS_POLICY_VIOLATION >> 8);
        frame[LWS_PRE + 1] = (uint8_t)(LWS_CLOSE_STATUS_POLICY_VIOLATION & 0xff);
        memcpy(frame + LWS_PRE + 2, reason, sizeof reason - 1);
        /* 4 is lws' internal LWS_WRITE_CLOSE (lws-write.h leaves the slot for it). */
        if (lws_write(c->wsi, frame + LWS_PRE, 2 + sizeof reason - 1, (enum lws_write_protocol)4) <
            0)
            return -1;
        c->close_sent = true;
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (c->close_after)
        return -1;
    if (c->backlog < WS_LOW_WATER && c->session) {
        c->was_high = false;
        rpc_session_drained(c->session);
    }
    return 0;
}

/* ---- connections ---- */

static bool admit(struct conn *c)
{
    if (c->counted)
        return true;
    if (c->h->conns >= c->h->cfg.max_connections) {
        mx_counter_inc(c->h->rej_conns);
        return false;
    }
    c->h->conns++;
    c->counted = true;
    mx_gauge_add(c->is_ws ? c->h->g_ws : c->h->g_http, 1);
    return true;
}

static void conn_closed(struct conn *c)
{
    if (c->session) {
        rpc_session_close(c->session);
        c->session = NULL;
    }
    if (c->counted) {
        c->h->conns--;
        mx_gauge_add(c->is_ws ? c->h->g_ws : c->h->g_http, -1);
        c->counted = false;
    }
    buf_free(&c->rx);
    buf_free(&c->tx);
    free(c->resp);
    c->resp = NULL;
    while (c->qhead) {
        struct out *o = c->qhead;
        c->qhead = o->next;
        free(o);
    }
    c->qtail = NULL;
    mx_gauge_add(c->h->g_queued, -(double)c->backlog);
    c->backlog = 0;
}

static void too_many(struct rpc_http *h, char *out, size_t cap)
{
    snprintf(out, cap,
             "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":%d,\"message\":\"too many "
             "connections: the server allows %d (max connections); retry later or raise the "
             "limit\"}}",
             RPC_LIMIT, h->cfg.max_connections);
}

static void too_big_msg(struct rpc_http *h, char *out, size_t cap)
{
    snprintf(out, cap,
             "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":%d,\"message\":\"message "
             "exceeds the limit of %zu bytes (max message size); split it into smaller "
             "requests\"}}",
             RPC_TOO_LARGE, h->cfg.max_message);
}

static int on_http(struct conn *c, const char *uri)
{
    struct rpc_http *h = c->h;
    char body[512];
    if (!admit(c)) {
        too_many(h, body, sizeof body);
        return http_json(c, 503, body, true) ? -1 : 0;
    }
    bool post = lws_hdr_total_length(c->wsi, WSI_TOKEN_POST_URI) > 0;
    bool get = lws_hdr_total_length(c->wsi, WSI_TOKEN_GET_URI) > 0;
    buf_reset(&c->rx);
    c->rx_too_big = false;
    if (!strcmp(uri, "/rpc")) {
        mx_counter_inc(h->req_rpc);
        if (!post)
            return http_json(c, 405,
                             "{\"error\":\"use POST /rpc with a JSON-RPC body, or a "
                             "WebSocket upgrade to /rpc\"}",
                             false)
                       ? -1
                       : 0;
        if (!c->session && rpc_session_new(h->d, &http_ops, c, &c->session))
            return -1;
        char cl[32] = "";
        long long len = -1;
        if (lws_hdr_copy(c->wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
            len = atoll(cl);
        if (len > 0 && (unsigned long long)len / 64 > h->cfg.max_message) {
            /* Absurd: answer now and close without reading the body. */
            mx_counter_inc(h->rej_size);
            too_big_msg(h, body, sizeof body);
            return http_json(c, 413, body, true) ? -1 : 0;
        }
        c->hstate = H_BODY;
        /* Too large but plausible: read and discard the body, then answer 413 (closing with
         * unread input would reset the connection and lose the answer). */
        c->rx_too_big = len > 0 && (unsigned long long)len > h->cfg.max_message;
        if (len == 0) {
            /* No body callbacks will come: dispatch the empty message (a parse error). */
            c->hstate = H_WAIT;
            rpc_session_input(c->session, "", 0);
        }
        return 0;
    }
    if (!get)
        return http_json(c, 405, "{\"error\":\"only GET /metrics, GET /health and POST /rpc\"}",
                         false)
                   ? -1
                   : 0;
    if (!strcmp(uri, "/health")) {
        mx_counter_inc(h->req_health);
        bool ok = !h->cfg.ready || h->cfg.ready(h->cfg.ready_ctx);
        return http_json(c, ok ? 200 : 503,
                         ok ? "{\"status\":\"ok\"}" : "{\"status\":\"starting\"}", false)
                   ? -1
                   : 0;
    }
    if (!strcmp(uri, "/metrics")) {
        mx_counter_inc(h->req_metrics);
        struct buf b;
        buf_init(&b);
        int rc = mx_render(mx_default(), &b);
        if (rc == 0)
            rc = http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                              (const char *)b.data, b.len, false);
        buf_free(&b);
        return rc ? -1 : 0;
    }
    mx_counter_inc(h->req_other);
    snprintf(body, sizeof body,
             "{\"error\":\"no such path; try POST /rpc, ws://.../rpc, GET /metrics or GET "
             "/health\"}");
    return http_json(c, 404, body, false) ? -1 : 0;
}

static int on_body(struct conn *c, const void *in, size_t len)
{
    if (c->hstate != H_BODY)
        return 0;
    mx_counter_add(c->h->bytes_in, len);
    if (c->rx_too_big || c->rx.len + len > c->h->cfg.max_message) {
        c->rx_too_big = true;
        return 0;
    }
    buf_put(&c->rx, in, len);
    return c->rx.oom ? -1 : 0;
}

static int on_body_done(struct conn *c)
{
    if (c->hstate != H_BODY)
        return 0;
    lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
    if (c->rx_too_big) {
        char body[512];
        mx_counter_inc(c->h->rej_size);
        too_big_msg(c->h, body, sizeof body);
        return http_json(c, 413, body, true) ? -1 : 0;
    }
    c->hstate = H_WAIT;
    /* Most calls answer synchronously: then write the response right here instead of asking
     * for a writable callback (saves two epoll_ctl calls per request; lws keeps any part the
     * socket does not take and sends it when writable). */
    c->in_dispatch = true;
    rpc_session_input(c->session, (const char *)c->rx.data, c->rx.len);
    c->in_dispatch = false;
    if (c->hstate != H_SEND)
        return 0;
    if (c->resp->len > HTTP_CHUNK) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    return http_writeable(c);
}

static int on_ws_established(struct conn *c)
{
    struct rpc_http *h = c->h;
    c->is_ws = true;
    if (!admit(c)) {
        char body[512];
        too_many(h, body, sizeof body);
        c->close_after = true;
        char *t = strdup(body);
        if (!t)
            return -1;
        ws_enqueue(c, t, strlen(t));
        return 0;
    }
    return rpc_session_new(h->d, &ws_ops, c, &c->session) ? -1 : 0;
}

static int on_ws_receive(struct conn *c, const void *in, size_t len)
{
    if (!c->session)
        return 0; /* refused connection: ignore input until the close */
    mx_counter_add(c->h->bytes_in, len);
    if (!c->rx_too_big) {
        if (c->rx.len + len > c->h->cfg.max_message) {
            c->rx_too_big = true;
            buf_reset(&c->rx);
        } else {
            buf_put(&c->rx, in, len);
            if (c->rx.oom)
                return -1;
        }
    }
    if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
        return 0;
    mx_counter_inc(c->h->ws_msgs);
    if (c->rx_too_big) {
        mx_counter_inc(c->h->rej_size);
        rpc_session_reject(c->session, RPC_TOO_LARGE,
                           "message exceeds the limit of %zu bytes (max message size); split "
                           "it into smaller requests",
                           c->h->cfg.max_message);
    } else {
        rpc_session_input(c->session, (const char *)c->rx.data, c->rx.len);
    }
    buf_reset(&c->rx);
    c->rx_too_big = false;
    return 0;
}

static bool ws_path_ok(struct lws *wsi)
{
    char uri[64];
    return lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 && !strcmp(uri, "/rpc");
}

/* The connection state of wsi, created on first use. lws frees and re-zeroes its per-session
 * data between HTTP transactions on a keep-alive connection, so our state hangs on the wsi's
 * opaque user pointer instead and lives until the close. */
static struct conn *conn_of(struct lws *wsi, bool create)
{
    struct conn *c = lws_get_opaque_user_data(wsi);
    if (c || !create)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->h = lws_context_user(lws_get_context(wsi));
    c->wsi = wsi;
    buf_init(&c->rx);
    buf_init(&c->tx);
    lws_set_opaque_user_data(wsi, c);
    return c;
}

static int conn_free(struct lws *wsi)
{
    struct conn *c = conn_of(wsi, false);
    if (c) {
        conn_closed(c);
        lws_set_opaque_user_data(wsi, NULL);
        free(c);
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct conn *c;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!(c = conn_of(wsi, true)))
            return -1;
        return on_http(c, in ? (const char *)in : "");
    case LWS_CALLBACK_HTTP_BODY:
        return (c = conn_of(wsi, false)) ? on_body(c, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return (c = conn_of(wsi, false)) ? on_body_done(c) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return (c = conn_of(wsi, false)) ? http_writeable(c) : 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return ws_path_ok(wsi) ? 0 : -1;
    case LWS_CALLBACK_ESTABLISHED:
        if (!(c = conn_of(wsi, true)))
            return -1;
        return on_ws_established(c);
    case LWS_CALLBACK_RECEIVE:
        return (c = conn_of(wsi, false)) ? on_ws_receive(c, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return (c = conn_of(wsi, false)) ? ws_writeable(c) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        return conn_free(wsi);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"pyralog-rpc", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_emit(int level, const char *line)
{
    char msg[256];
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (n >= sizeof msg)
        n = sizeof msg - 1;
    for (size_t i = 0; i < n; i++)
        msg[i] = line[i] == '"' ? '\'' : line[i];
    msg[n] = 0;
    if (level & LLL_ERR)
        PLG_ERROR("http", "msg=\"libwebsockets\" detail=\"%s\"", msg);
    else
        PLG_WARN("http", "msg=\"libwebsockets\" detail=\"%s\"", msg);
}

/* Can host:port be bound (as lws will, with SO_REUSEADDR)? 0 or -errno. */
static int bind_probe(const char *host, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        return PLG_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, (struct sockaddr *)&ss, sl) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int rpc_http_start(uv_loop_t *loop, struct rpc_dispatcher *d, const struct rpc_http_config *cfg,
                   struct rpc_http **out)
{
    struct rpc_http *h = calloc(1, sizeof *h);
    if (!h)
        return PLG_ENOMEM;
    h->d = d;
    h->cfg = *cfg;
    if (!h->cfg.max_message)
        h->cfg.max_message = 1 << 20;
    if (h->cfg.max_connections <= 0)
        h->cfg.max_connections = 1024;
    if (!h->cfg.ws_high_water)
        h->cfg.ws_high_water = 1 << 20;
    snprintf(h->host, sizeof h->host, "%s", cfg->host ? cfg->host : "127.0.0.1");
    h->cfg.host = h->host;
    unsigned char addr[16];
    if (inet_pton(AF_INET, h->host, addr) != 1 && inet_pton(AF_INET6, h->host, addr) != 1) {
        free(h);
        return PLG_EINVAL;
    }

    struct mx_registry *r = mx_default();
    const char *conns = "Open HTTP and WebSocket connections.";
    h->g_http = mx_gauge_get(r, "pyralog_http_connections", conns, "transport=\"http\"");
    h->g_ws = mx_gauge_get(r, "pyralog_http_connections", conns, "transport=\"websocket\"");
    h->g_queued = mx_gauge_get(r, "pyralog_http_send_queue_bytes",
                               "Bytes queued for WebSocket clients and not yet written.", NULL);
    const char *reqs = "HTTP requests by path (WebSocket messages under path=\"/rpc(ws)\").";
    h->req_rpc = mx_counter_get(r, "pyralog_http_requests_total", reqs, "path=\"/rpc\"");
    h->req_metrics = mx_counter_get(r, "pyralog_http_requests_total", reqs, "path=\"/metrics\"");
    h->req_health = mx_counter_get(r, "pyralog_http_requests_total", reqs, "path=\"/health\"");
    h->req_other = mx_counter_get(r, "pyralog_http_requests_total", reqs, "path=\"other\"");
    h->ws_msgs = mx_counter_get(r, "pyralog_http_requests_total", reqs, "path=\"/rpc(ws)\"");
    h->bytes_in = mx_counter_get(r, "pyralog_http_bytes_in_total",
                                 "Bytes of HTTP bodies and WebSocket messages received.", NULL);
    h->bytes_out = mx_counter_get(r, "pyralog_http_bytes_out_total",
                                  "Bytes of HTTP responses and WebSocket messages sent.", NULL);
    const char *rej = "HTTP/WebSocket requests or connections refused by a limit.";
    h->rej_conns =
        mx_counter_get(r, "pyralog_http_rejected_total", rej, "reason=\"max_connections\"");
    h->rej_size = mx_counter_get(r, "pyralog_http_rejected_total", rej, "reason=\"max_message\"");

    /* Bind a probe socket first: when lws itself fails to bind it leaves a half-made context
     * whose destruction races its libuv handles (and its event-library plugin) on a foreign
     * loop. A port taken between the probe and lws' bind still fails below, just less cleanly. */
    if (cfg->port > 0) {
        int rc = bind_probe(h->host, cfg->port);
        if (rc) {
            free(h);
            return rc;
        }
    }
    lws_set_log_level(LLL_ERR, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {loop};
    info.port = cfg->port;
    info.iface = h->host;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    if (strchr(h->host, ':'))
        info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.user = h;
    info.fd_limit_per_thread = (unsigned int)h->cfg.max_connections + 64;
    info.keepalive_timeout = 30;
    info.timeout_secs = 30;
    info.vhost_name = "pyralog";
    info.pt_serv_buf_size = 64 * 1024;
    h->ctx = lws_create_context(&info);
    if (!h->ctx) {
        free(h);
        return -EADDRINUSE;
    }
    /* lws creates the context even when the listener could not bind: no vhost then. */
    h->vh = lws_get_vhost_by_name(h->ctx, "pyralog");
    h->port = h->vh ? lws_get_vhost_listen_port(h->vh) : -1;
    if (h->port <= 0) {
        lws_context_destroy(h->ctx);
        free(h);
        return -EADDRINUSE;
    }
    *out = h;
    return 0;
}

int rpc_http_port(const struct rpc_http *h)
{
    return h->port;
}

void rpc_http_stop(struct rpc_http *h)
{
    if (!h || h->stopping)
        return;
    h->stopping = true;
    lws_context_destroy(h->ctx);
}

void rpc_http_free(struct rpc_http *h)
{
    if (!h)
        return;
    if (!h->stopping)
        lws_context_destroy(h->ctx);
    /* With a foreign loop the first destroy only starts closing lws' libuv handles; once the
     * loop has run them down, a second call frees what is left of the context. */
    lws_context_destroy(h->ctx);
    free(h);
}
