/*
 * rpc_ws_bench.c — JSON-RPC log.append load over ONE WebSocket with a fixed number of requests
 * in flight, measuring appends/s and latency percentiles.
 *
 * A deliberately small client (plain sockets, RFC 6455 framing by hand) so that the client costs
 * little next to the server on a 2-core machine. It opens ws://H:P/rpc, optionally creates the
 * topic, keeps --inflight log.append requests outstanding (sending a new one per answer), and
 * prints one summary line. Every answer must be a result (errors are counted and reported; any
 * error makes the exit code 1).
 *
 * Usage: rpc_ws_bench --http H:P [--topic T] [--partition P] [--count N] [--inflight W]
 *                     [--size BYTES] [--create] [--method M]
 * (--method echo measures the transport alone against tests/tools/rpc_test_server.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define SLOTS 65536

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Appends one masked text frame (mask key 0: the payload goes as is) to out. */
static size_t frame(uint8_t *out, const char *payload, size_t len)
{
    size_t n = 0;
    out[n++] = 0x81;
    if (len < 126) {
        out[n++] = (uint8_t)(0x80 | len);
    } else {
        out[n++] = 0x80 | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    }
    memset(out + n, 0, 4);
    n += 4;
    memcpy(out + n, payload, len);
    return n + len;
}

struct conn {
    int fd;
    uint8_t *rbuf;
    size_t rlen, rcap;
};

/* Next complete server frame's payload (text or binary), or NULL; blocks reading as needed. */
static const char *next_frame(struct conn *c, size_t *plen, size_t *consumed)
{
    for (;;) {
        if (c->rlen >= 2) {
            size_t hl = 2;
            uint64_t len = c->rbuf[1] & 0x7f;
            if (len == 126) {
                hl = 4;
                if (c->rlen >= 4)
                    len = (uint64_t)c->rbuf[2] << 8 | c->rbuf[3];
            } else if (len == 127) {
                hl = 10;
                if (c->rlen >= 10) {
                    len = 0;
                    for (int i = 0; i < 8; i++)
                        len = len << 8 | c->rbuf[2 + i];
                }
            }
            if (c->rlen >= hl && c->rlen - hl >= len) {
                *plen = (size_t)len;
                *consumed = hl + (size_t)len;
                return (const char *)c->rbuf + hl;
            }
            if (hl + len > c->rcap) {
                c->rcap = hl + (size_t)len + 65536;
                c->rbuf = realloc(c->rbuf, c->rcap);
                if (!c->rbuf)
                    return NULL;
            }
        }
        if (c->rcap - c->rlen < 65536) {
            c->rcap = c->rcap * 2 + 65536;
            c->rbuf = realloc(c->rbuf, c->rcap);
            if (!c->rbuf)
                return NULL;
        }
        ssize_t r = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        c->rlen += (size_t)r;
    }
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= n;
}

static int ws_connect(struct conn *c, const char *host, int port)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (c->fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /rpc HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     host, port);
    if (write_all(c->fd, req, (size_t)n))
        return -1;
    c->rcap = 1 << 20;
    c->rbuf = malloc(c->rcap);
    c->rlen = 0;
    /* Read the 101 response up to the blank line. */
    for (;;) {
        ssize_t r = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen - 1);
        if (r <= 0)
            return -1;
        c->rlen += (size_t)r;
        c->rbuf[c->rlen] = 0;
        char *end = strstr((char *)c->rbuf, "\r\n\r\n");
        if (end) {
            if (strncmp((char *)c->rbuf, "HTTP/1.1 101", 12))
                return -1;
            consume(c, (size_t)(end + 4 - (char *)c->rbuf));
            return 0;
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *http = "127.0.0.1:8080", *topic = "bench", *method = "log.append";
    long count = 200000, inflight = 100, size = 100, partition = 0;
    bool create = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--create")) {
            create = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "rpc_ws_bench: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--http"))
            http = v;
        else if (!strcmp(a, "--method"))
            method = v;
        else if (!strcmp(a, "--topic"))
            topic = v;
        else if (!strcmp(a, "--count"))
            count = atol(v);
        else if (!strcmp(a, "--inflight"))
            inflight = atol(v);
        else if (!strcmp(a, "--size"))
            size = atol(v);
        else if (!strcmp(a, "--partition"))
            partition = atol(v);
        else {
            fprintf(stderr, "usage: rpc_ws_bench --http H:P [--topic T] [--partition P] "
                            "[--count N] [--inflight W] [--size BYTES] [--create]\n");
            return 2;
        }
    }
    if (inflight < 1 || inflight > SLOTS / 2 || count < 1 || size < 0 || size > 65536) {
        fprintf(stderr, "rpc_ws_bench: bad --count, --inflight or --size\n");
        return 2;
    }
    char host[64];
    const char *colon = strrchr(http, ':');
    if (!colon || (size_t)(colon - http) >= sizeof host) {
        fprintf(stderr, "rpc_ws_bench: --http wants H:P\n");
        return 2;
    }
    memcpy(host, http, (size_t)(colon - http));
    host[colon - http] = 0;
    struct conn c;
    if (ws_connect(&c, host, atoi(colon + 1))) {
        fprintf(stderr, "rpc_ws_bench: cannot open ws://%s/rpc: %s\n", http, strerror(errno));
        return 1;
    }
    uint8_t *value = malloc((size_t)size + 1);
    for (long i = 0; i < size; i++)
        value[i] = (uint8_t)('a' + i % 26);
    size_t b64cap = sodium_base64_encoded_len((size_t)size, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64cap);
    sodium_bin2base64(b64, b64cap, value, (size_t)size, sodium_base64_VARIANT_ORIGINAL);
    size_t reqcap = b64cap + 512;
    char *req = malloc(reqcap);
    uint8_t *out = malloc((reqcap + 16) * 64);
    size_t plen, used;
    if (create) {
        int n = snprintf(req, reqcap,
                         "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"topic.create\",\"params\":"
                         "{\"name\":\"%s\",\"partitions\":%ld}}",
                         topic, partition + 1);
        size_t fl = frame(out, req, (size_t)n);
        if (write_all(c.fd, out, fl) || !next_frame(&c, &plen, &used)) {
            fprintf(stderr, "rpc_ws_bench: topic.create failed\n");
            return 1;
        }
        consume(&c, used); /* exists already is fine */
    }
    double *sent_at = calloc(SLOTS, sizeof *sent_at);
    double *lat = malloc(sizeof *lat * (size_t)count);
    long sent = 0, done = 0, errors = 0;
    char first_error[256] = "";
    double t0 = now_s();
    while (done < count) {
        /* Top up the window in one write. */
        size_t ol = 0;
        int k = 0;
        while (sent < count && sent - done < inflight && k < 64) {
            long id = sent + 1;
            int n = snprintf(req, reqcap,
                             "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"%s\","
                             "\"params\":{\"topic\":\"%s\",\"partition\":%ld,\"value\":\"%s\"}}",
                             id, method, topic, partition, b64);
            ol += frame(out + ol, req, (size_t)n);
            sent_at[id % SLOTS] = now_s();
            sent++;
            k++;
        }
        if (ol && write_all(c.fd, out, ol)) {
            fprintf(stderr, "rpc_ws_bench: write failed: %s\n", strerror(errno));
            return 1;
        }
        /* Read at least one answer, then everything already buffered. */
        do {
            const char *p = next_frame(&c, &plen, &used);
            if (!p) {
                fprintf(stderr, "rpc_ws_bench: connection lost after %ld answers\n", done);
                return 1;
            }
            const char *idp = memmem(p, plen, "\"id\":", 5);
            long id = idp ? atol(idp + 5) : 0;
            if (!memmem(p, plen, "\"result\"", 8)) {
                if (!errors++)
                    snprintf(first_error, sizeof first_error, "%.*s",
                             (int)(plen < 200 ? plen : 200), p);
            }
            if (id > 0)
                lat[done] = now_s() - sent_at[id % SLOTS];
            else
                lat[done] = 0;
            done++;
            consume(&c, used);
        } while (done < count && c.rlen >= 2 && sent - done >= inflight / 2);
    }
    double secs = now_s() - t0;
    qsort(lat, (size_t)count, sizeof *lat, cmp_double);
    printf("rpc_ws_bench: appends=%ld inflight=%ld size=%ld seconds=%.3f rate=%.0f/s "
           "p50=%.3fms p99=%.3fms max=%.3fms errors=%ld\n",
           count, inflight, size, secs, (double)count / secs, lat[count / 2] * 1e3,
           lat[(size_t)((double)count * 0.99)] * 1e3, lat[count - 1] * 1e3, errors);
    if (errors)
        fprintf(stderr, "rpc_ws_bench: first error: %s\n", first_error);
    close(c.fd);
    free(c.rbuf);
    free(value);
    free(b64);
    free(req);
    free(out);
    free(sent_at);
    free(lat);
    return errors ? 1 : 0;
}
