/*
 * nats_load — NATS JetStream load generator speaking the NATS text protocol directly.
 *
 * usage: nats_load --port P [--host H] (--publish | --consume) --count N
 *                  [--size 100] [--inflight 1000] [--stream BENCH] [--batch 1000]
 *
 * --publish: creates the file-storage, one-replica stream (subjects "<stream lower>.>") through
 *   $JS.API.STREAM.CREATE.<stream>, then publishes N messages of --size bytes to
 *   "<stream lower>.x", each with a reply inbox, keeping --inflight publishes unacknowledged at
 *   most; the JetStream acks are counted on one wildcard inbox subscription (the "raw publish
 *   with a reply inbox" row of shared/reference/machine-baselines.md). Any ack carrying an
 *   error fails the run.
 * --consume: creates a durable pull consumer with ack policy none (no per-message acks, as the
 *   ordered consumer) and reads the stream back from the start with pipelined pull requests of
 *   --batch messages (two outstanding), until N messages have arrived; checks each is --size
 *   bytes.
 * Prints one line: nats_load op=publish|consume msgs=N bytes=B seconds=S msgs_per_s=R
 * Exit 0; 1 with one line on stderr on a protocol error, a JetStream error or a timeout
 * (no progress for 30 s).
 *
 * Protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol): lines end in
 * CRLF; server sends INFO, MSG <subj> <sid> [reply] <n>\r\n<n bytes>\r\n,
 * HMSG <subj> <sid> [reply] <hdr n> <total n>\r\n<total bytes>\r\n, PING, PONG, +OK, -ERR.
 * The parser below checks every length against the bytes received.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"

#define MAX_LINE 4096
#define MAX_PAYLOAD (8 << 20)
#define STALL_S 30.0

struct msg {
    const char *subj, *reply;
    size_t subj_len, reply_len;
    long sid;
    const char *hdr; /* NULL for MSG */
    size_t hdr_len;
    const char *data;
    size_t data_len;
};

struct nc {
    int fd;
    char *in;
    size_t in_len, in_cap;
    struct buf out;
    int closed;
    char err[512];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Splits s[0..n) at spaces into at most max tokens. Returns the count, or -1 if more. */
static int split(const char *s, size_t n, const char **tok, size_t *tlen, int max)
{
    int k = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n)
            break;
        if (k == max)
            return -1;
        tok[k] = s + i;
        while (i < n && s[i] != ' ' && s[i] != '\t')
            i++;
        tlen[k] = (size_t)(s + i - tok[k]);
        k++;
    }
    return k;
}

static int parse_size(const char *s, size_t n, size_t *out)
{
    size_t v = 0;
    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

typedef int (*msg_cb)(struct nc *c, const struct msg *m, void *ctx);

/* Consumes complete protocol messages from c->in, answering PING. Returns 0, or -1 with c->err
 * set on a protocol error, -ERR, or a callback failure. */
static int nc_process(struct nc *c, msg_cb cb, void *ctx)
{
    size_t pos = 0;
    int rc = 0;
    while (pos < c->in_len) {
        const char *p = c->in + pos;
        size_t avail = c->in_len - pos;
        const char *nl = memchr(p, '\n', avail < MAX_LINE ? avail : MAX_LINE);
        if (!nl) {
            if (avail >= MAX_LINE) {
                snprintf(c->err, sizeof(c->err), "protocol line longer than %d bytes", MAX_LINE);
                rc = -1;
            }
            break;
        }
        size_t ll = (size_t)(nl - p);
        if (ll == 0 || p[ll - 1] != '\r') {
            snprintf(c->err, sizeof(c->err), "protocol line without CRLF");
            rc = -1;
            break;
        }
        ll--; /* without CR */
        size_t linesz = ll + 2;
        const char *tok[6];
        size_t tl[6];
        int nt = split(p, ll, tok, tl, 6);
        if (nt <= 0) {
            snprintf(c->err, sizeof(c->err), "bad protocol line");
            rc = -1;
            break;
        }
        int is_msg = tl[0] == 3 && !strncasecmp(tok[0], "MSG", 3);
        int is_hmsg = tl[0] == 4 && !strncasecmp(tok[0], "HMSG", 4);
        if (is_msg || is_hmsg) {
            int want_min = is_msg ? 4 : 5;
            if (nt < want_min || nt > want_min + 1) {
                snprintf(c->err, sizeof(c->err), "bad %s line: %.*s", is_msg ? "MSG" : "HMSG",
                         (int)(ll > 200 ? 200 : ll), p);
                rc = -1;
                break;
            }
            struct msg m = {.subj = tok[1], .subj_len = tl[1]};
            size_t sidv, total, hdrn = 0;
            if (parse_size(tok[2], tl[2], &sidv)) {
                snprintf(c->err, sizeof(c->err), "bad sid");
                rc = -1;
                break;
            }
            m.sid = (long)sidv;
            int has_reply = nt == want_min + 1;
            if (has_reply) {
                m.reply = tok[3];
                m.reply_len = tl[3];
            }
            int li = nt - 1;
            if (parse_size(tok[li], tl[li], &total) ||
                (is_hmsg && parse_size(tok[li - 1], tl[li - 1], &hdrn)) || total > MAX_PAYLOAD ||
                hdrn > total) {
                snprintf(c->err, sizeof(c->err), "bad message sizes");
                rc = -1;
                break;
            }
            if (avail - linesz < total + 2)
                break; /* need more bytes */
            const char *body = p + linesz;
            if (body[total] != '\r' || body[total + 1] != '\n') {
                snprintf(c->err, sizeof(c->err), "message payload not followed by CRLF");
                rc = -1;
                break;
            }
            if (is_hmsg) {
                m.hdr = body;
                m.hdr_len = hdrn;
            }
            m.data = body + hdrn;
            m.data_len = total - hdrn;
            pos += linesz + total + 2;
            if (cb(c, &m, ctx)) {
                rc = -1;
                break;
            }
            continue;
        }
        pos += linesz;
        if (tl[0] == 4 && !strncasecmp(tok[0], "PING", 4))
            buf_put(&c->out, "PONG\r\n", 6);
        else if (tl[0] == 4 && !strncasecmp(tok[0], "-ERR", 4)) {
            snprintf(c->err, sizeof(c->err), "server: %.*s", (int)(ll > 300 ? 300 : ll), p);
            rc = -1;
            break;
        }
        /* INFO, PONG, +OK: nothing to do. */
    }
    if (pos) { /* c->in may still be NULL when nothing was read */
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }
    return rc;
}

/* One round of I/O: writes what it can of c->out, reads what is there (waiting up to
 * timeout_ms). Returns 0 or -1 (c->err set). */
static int nc_io(struct nc *c, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN | (c->out.len ? POLLOUT : 0)};
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr < 0 && errno != EINTR) {
        snprintf(c->err, sizeof(c->err), "poll: %s", strerror(errno));
        return -1;
    }
    if (pr <= 0)
        return 0;
    if ((pfd.revents & POLLOUT) && c->out.len) {
        ssize_t w = write(c->fd, c->out.data, c->out.len);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            snprintf(c->err, sizeof(c->err), "write: %s", strerror(errno));
            return -1;
        }
        if (w > 0) {
            memmove(c->out.data, c->out.data + w, c->out.len - (size_t)w);
            c->out.len -= (size_t)w;
        }
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
        if (c->in_cap - c->in_len < 65536) {
            size_t ncap = c->in_cap ? c->in_cap * 2 : 1 << 20;
            if (ncap > 4 * (size_t)MAX_PAYLOAD) {
                snprintf(c->err, sizeof(c->err), "input buffer overflow");
                return -1;
            }
            char *nb = realloc(c->in, ncap);
            if (!nb) {
                snprintf(c->err, sizeof(c->err), "out of memory");
                return -1;
            }
            c->in = nb;
            c->in_cap = ncap;
        }
        ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (r == 0) {
            snprintf(c->err, sizeof(c->err), "server closed the connection");
            return -1;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            snprintf(c->err, sizeof(c->err), "read: %s", strerror(errno));
            return -1;
        }
        if (r > 0)
            c->in_len += (size_t)r;
    }
    return 0;
}

static int nc_connect(struct nc *c, const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    memset(c, 0, sizeof(*c));
    buf_init(&c->out);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(c->err, sizeof(c->err), "bad host %s", host);
        return -1;
    }
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
        snprintf(c->err, sizeof(c->err), "connect %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    static const char hello[] =
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,"
        "\"lang\":\"c\",\"version\":\"0.1\",\"protocol\":1}\r\nPING\r\n";
    buf_put(&c->out, hello, sizeof(hello) - 1);
    return 0;
}

static void pub(struct nc *c, const char *subj, const char *reply, const void *data, size_t n)
{
    char line[512];
    int m = snprintf(line, sizeof(line), "PUB %s %s %zu\r\n", subj, reply ? reply : "", n);
    buf_put(&c->out, line, (size_t)m);
    buf_put(&c->out, data, n);
    buf_put(&c->out, "\r\n", 2);
}

/* A request/reply to the JetStream API: waits for the reply on sid 1 subject `inbox`. */
struct api_wait {
    const char *inbox;
    int done;
    char reply[2048];
};

static int api_cb(struct nc *c, const struct msg *m, void *ctx)
{
    struct api_wait *w = ctx;
    if (m->subj_len == strlen(w->inbox) && !memcmp(m->subj, w->inbox, m->subj_len)) {
        size_t n = m->data_len < sizeof(w->reply) - 1 ? m->data_len : sizeof(w->reply) - 1;
        memcpy(w->reply, m->data, n);
        w->reply[n] = '\0';
        w->done = 1;
    }
    return 0;
}

static int api_call(struct nc *c, const char *subj, const char *inbox, const char *json)
{
    struct api_wait w = {.inbox = inbox};
    pub(c, subj, inbox, json, strlen(json));
    double t0 = now_s();
    while (!w.done) {
        if (c->out.oom || nc_io(c, 200) || nc_process(c, api_cb, &w))
            return -1;
        if (now_s() - t0 > 10) {
            snprintf(c->err, sizeof(c->err), "%s: no reply in 10 s", subj);
            return -1;
        }
    }
    if (strstr(w.reply, "\"error\"")) {
        snprintf(c->err, sizeof(c->err), "%.80s: %.400s", subj, w.reply);
        return -1;
    }
    return 0;
}

struct load {
    long long count, acked, received, bytes, errors;
    size_t size;
    char first_err[256];
    const char *ack_prefix; /* publish: inbox prefix of acks */
};

static int pub_cb(struct nc *c, const struct msg *m, void *ctx)
{
    struct load *l = ctx;
    if (m->sid != 1)
        return 0;
    if (m->hdr) { /* a status such as 503 No Responders */
        snprintf(c->err, sizeof(c->err), "publish ack status: %.*s",
                 (int)(m->hdr_len > 200 ? 200 : m->hdr_len), m->hdr);
        return -1;
    }
    if (memmem(m->data, m->data_len, "\"error\"", 7)) {
        if (!l->errors++)
            snprintf(l->first_err, sizeof(l->first_err), "%.*s",
                     (int)(m->data_len > 200 ? 200 : m->data_len), m->data);
    }
    l->acked++;
    return 0;
}

static int con_cb(struct nc *c, const struct msg *m, void *ctx)
{
    struct load *l = ctx;
    if (m->sid != 1)
        return 0;
    if (m->hdr) {
        /* Status messages (404 No Messages, 408 Request Timeout, 409 ...) carry no data. */
        if (m->hdr_len >= 12 && !memcmp(m->hdr, "NATS/1.0 4", 10) && m->data_len == 0) {
            if (!memcmp(m->hdr, "NATS/1.0 408", 12) || !memcmp(m->hdr, "NATS/1.0 404", 12))
                return 0;
            snprintf(c->err, sizeof(c->err), "pull status: %.*s",
                     (int)(m->hdr_len > 200 ? 200 : m->hdr_len), m->hdr);
            return -1;
        }
    }
    if (m->data_len != l->size) {
        snprintf(c->err, sizeof(c->err), "message %lld has %zu bytes, want %zu", l->received + 1,
                 m->data_len, l->size);
        return -1;
    }
    l->received++;
    l->bytes += (long long)m->data_len;
    return 0;
}

/* One I/O round plus the stall check: fails when `done` has not moved for STALL_S seconds. */
static int step(struct nc *c, msg_cb cb, struct load *l, const long long *donep,
                long long *last_seen, double *last_progress)
{
    if (c->out.oom || nc_io(c, 100) || nc_process(c, cb, l))
        return -1;
    long long done = *donep;
    double t = now_s();
    if (done != *last_seen) {
        *last_seen = done;
        *last_progress = t;
    } else if (t - *last_progress > STALL_S) {
        snprintf(c->err, sizeof(c->err), "no progress for %.0f s (%lld of %lld done)", STALL_S,
                 done, l->count);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *stream = "BENCH";
    int port = 0, op = 0; /* 1 publish, 2 consume */
    long long count = 0;
    long inflight = 1000, batch = 1000;
    size_t size = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--publish")) {
            op = 1;
            continue;
        }
        if (!strcmp(a, "--consume")) {
            op = 2;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "nats_load: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--host"))
            host = v;
        else if (!strcmp(a, "--port"))
            port = atoi(v);
        else if (!strcmp(a, "--count"))
            count = atoll(v);
        else if (!strcmp(a, "--size"))
            size = (size_t)atol(v);
        else if (!strcmp(a, "--inflight"))
            inflight = atol(v);
        else if (!strcmp(a, "--batch"))
            batch = atol(v);
        else if (!strcmp(a, "--stream"))
            stream = v;
        else {
            fprintf(stderr, "nats_load: unknown option %s\n", a);
            return 2;
        }
    }
    if (!op || port <= 0 || port > 65535 || count < 1 || size > 1 << 20 || inflight < 1 ||
        batch < 1 || strlen(stream) > 64) {
        fprintf(stderr, "usage: nats_load --port P [--host H] (--publish | --consume) --count N "
                        "[--size 100] [--inflight 1000] [--stream BENCH] [--batch 1000]\n");
        return 2;
    }
    char lower[80], subj[96], subjects[96], inbox[64], js[256], json[512];
    size_t sl = strlen(stream);
    for (size_t i = 0; i <= sl; i++)
        lower[i] = (char)(stream[i] >= 'A' && stream[i] <= 'Z' ? stream[i] + 32 : stream[i]);
    snprintf(subj, sizeof(subj), "%s.x", lower);
    snprintf(subjects, sizeof(subjects), "%s.>", lower);
    snprintf(inbox, sizeof(inbox), "_INBOX.nl%ld", (long)getpid());

    struct nc c;
    if (nc_connect(&c, host, port))
        goto fail;
    char sub[128], api_inbox[96];
    int m = snprintf(sub, sizeof(sub), "SUB %s.> 1\r\n", inbox);
    buf_put(&c.out, sub, (size_t)m);
    snprintf(api_inbox, sizeof(api_inbox), "%s.api", inbox);

    struct load l = {.count = count, .size = size};
    char *payload = malloc(size ? size : 1);
    if (!payload)
        return 1;
    memset(payload, 'v', size);
    double t0 = 0, last_progress;
    long long last_seen = -1;
    if (op == 1) {
        snprintf(js, sizeof(js), "$JS.API.STREAM.CREATE.%s", stream);
        snprintf(json, sizeof(json),
                 "{\"name\":\"%s\",\"subjects\":[\"%s\"],\"storage\":\"file\","
                 "\"num_replicas\":1,\"retention\":\"limits\",\"discard\":\"old\"}",
                 stream, subjects);
        if (api_call(&c, js, api_inbox, json))
            goto fail;
        char ack_inbox[96];
        snprintf(ack_inbox, sizeof(ack_inbox), "%s.a", inbox);
        long long sent = 0;
        t0 = last_progress = now_s();
        while (l.acked < count) {
            while (sent < count && sent - l.acked < inflight && c.out.len < (1 << 20)) {
                pub(&c, subj, ack_inbox, payload, size);
                sent++;
            }
            if (step(&c, pub_cb, &l, &l.acked, &last_seen, &last_progress))
                goto fail;
        }
        if (l.errors) {
            snprintf(c.err, sizeof(c.err), "%lld publishes failed; first: %s", l.errors,
                     l.first_err);
            goto fail;
        }
        l.bytes = count * (long long)size;
    } else {
        snprintf(js, sizeof(js), "$JS.API.CONSUMER.DURABLE.CREATE.%s.RD", stream);
        snprintf(json, sizeof(json),
                 "{\"stream_name\":\"%s\",\"config\":{\"durable_name\":\"RD\","
                 "\"deliver_policy\":\"all\",\"ack_policy\":\"none\","
                 "\"replay_policy\":\"instant\",\"max_waiting\":512}}",
                 stream);
        if (api_call(&c, js, api_inbox, json))
            goto fail;
        char next[160], pull_inbox[96], req[96];
        snprintf(next, sizeof(next), "$JS.API.CONSUMER.MSG.NEXT.%s.RD", stream);
        snprintf(pull_inbox, sizeof(pull_inbox), "%s.p", inbox);
        long long requested = 0;
        t0 = last_progress = now_s();
        while (l.received < count) {
            /* Keep two batches outstanding; never ask for more than remain. */
            while (requested < count && requested - l.received < 2 * batch) {
                long long b = count - requested < batch ? count - requested : batch;
                int n = snprintf(req, sizeof(req), "{\"batch\":%lld}", b);
                pub(&c, next, pull_inbox, req, (size_t)n);
                requested += b;
            }
            if (step(&c, con_cb, &l, &l.received, &last_seen, &last_progress))
                goto fail;
        }
    }
    double dt = now_s() - t0;
    long long done = op == 1 ? l.acked : l.received;
    printf("nats_load op=%s msgs=%lld bytes=%lld seconds=%.3f msgs_per_s=%.0f\n",
           op == 1 ? "publish" : "consume", done, l.bytes, dt, dt > 0 ? (double)done / dt : 0.0);
    close(c.fd);
    buf_free(&c.out);
    free(c.in);
    free(payload);
    return 0;
fail:
    fprintf(stderr, "nats_load: %s\n", c.err[0] ? c.err : "failed");
    return 1;
}
