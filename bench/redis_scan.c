/*
 * redis_scan — read a whole Redis stream back, the way a log consumer would, and time it.
 *
 * usage: redis_scan [--host H] --port P [--key K] [--count C] [--expect N]
 *                   [--client hiredis|raw]
 *
 * One connection pages through the stream with `XRANGE K - + COUNT C`, then
 * `XRANGE K (<last id> + COUNT C` until an empty page: the method of the Redis full-scan row in
 * shared/reference/machine-baselines.md.
 *   --client hiredis (default): through hiredis, as the baseline was measured, so every entry is
 *     materialised as reply objects the way a real client hands them to an application (as
 *     librdkafka does on the Kafka side). libhiredis is loaded with dlopen at run time, so the
 *     build needs only its header (libhiredis-dev, scripts/deps.sh).
 *   --client raw: speaks RESP2 directly and only walks the bytes (no per-entry objects): the
 *     upper bound of what any client could get out of XRANGE. The parser is bounds-checked
 *     against the bytes received and rejects anything that is not an array of
 *     [id, [field, value, ...]] entries.
 * Prints one line:
 *   redis_scan client=hiredis|raw entries=N bulk_bytes=B seconds=S entries_per_s=R
 * bulk_bytes counts the bytes of every field name and value read back. Exits 1 with one
 * line on stderr on a connection or protocol error, or when --expect is given and differs.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 8
#define ID_MAX 64

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes into c->buf (growing it). 0 on data, -1 on EOF/error. */
static int conn_fill(struct conn *c)
{
    if (c->cap - c->len < 65536) {
        size_t ncap = c->cap ? c->cap * 2 : 1 << 18;
        char *nb = realloc(c->buf, ncap);
        if (!nb)
            return -1;
        c->buf = nb;
        c->cap = ncap;
    }
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
        return 0;
    }
}

/* Parses a CRLF-terminated decimal after the type byte at p[*pos]. 1 done, 0 need more, -1 bad. */
static int parse_line_int(const char *p, size_t len, size_t *pos, long long *out)
{
    size_t i = *pos + 1;
    long long v = 0;
    int neg = 0, digits = 0;
    if (i < len && p[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (1LL << 50))
            return -1;
        v = v * 10 + (p[i] - '0');
        digits++;
    }
    if (i + 1 >= len)
        return 0;
    if (!digits || p[i] != '\r' || p[i + 1] != '\n')
        return -1;
    *out = neg ? -v : v;
    *pos = i + 2;
    return 1;
}

/* Skips one RESP value at *pos. 1 done (pos advanced), 0 need more bytes, -1 malformed.
 * When val_bytes is not NULL, adds the length of every bulk string inside. */
static int skip_value(const char *p, size_t len, size_t *pos, int depth, long long *val_bytes)
{
    if (*pos >= len)
        return 0;
    if (depth > MAX_DEPTH)
        return -1;
    char t = p[*pos];
    long long n;
    size_t q = *pos;
    int r;
    switch (t) {
    case '+':
    case '-': {
        const char *nl = memchr(p + q, '\n', len - q);
        if (!nl)
            return 0;
        *pos = (size_t)(nl - p) + 1;
        return 1;
    }
    case ':':
        r = parse_line_int(p, len, &q, &n);
        if (r > 0)
            *pos = q;
        return r;
    case '$':
        r = parse_line_int(p, len, &q, &n);
        if (r <= 0)
            return r;
        if (n < 0) { /* null bulk */
            *pos = q;
            return 1;
        }
        if ((size_t)n + 2 > len - q)
            return 0;
        if (p[q + (size_t)n] != '\r' || p[q + (size_t)n + 1] != '\n')
            return -1;
        if (val_bytes)
            *val_bytes += n;
        *pos = q + (size_t)n + 2;
        return 1;
    case '*':
        r = parse_line_int(p, len, &q, &n);
        if (r <= 0)
            return r;
        for (long long i = 0; i < n; i++) {
            r = skip_value(p, len, &q, depth + 1, val_bytes);
            if (r <= 0)
                return r;
        }
        *pos = q;
        return 1;
    default:
        return -1;
    }
}

/* Parses one XRANGE reply in c->buf. 1 with *entries, *value_bytes and last_id set (last_id
 * unchanged when the page is empty), 0 when more bytes are needed, -1 when malformed or an error
 * reply (message copied into err). */
static int parse_xrange(const struct conn *c, size_t *consumed, long long *entries,
                        long long *value_bytes, char *last_id, char *err, size_t errlen)
{
    const char *p = c->buf;
    size_t len = c->len, pos = 0;
    long long n, vb = 0;
    if (len == 0)
        return 0;
    if (p[0] == '-') {
        const char *nl = memchr(p, '\n', len);
        if (!nl)
            return 0;
        snprintf(err, errlen, "%.*s", (int)(nl - p - 1 > 0 ? nl - p - 1 : 0), p + 1);
        return -1;
    }
    if (p[0] != '*') {
        snprintf(err, errlen, "unexpected reply type '%c'", p[0]);
        return -1;
    }
    int r = parse_line_int(p, len, &pos, &n);
    if (r <= 0) {
        if (r < 0)
            snprintf(err, errlen, "bad array header");
        return r;
    }
    char id[ID_MAX + 1] = "";
    for (long long i = 0; i < n; i++) {
        long long two, idlen;
        if (pos >= len)
            return 0;
        if (p[pos] != '*') {
            snprintf(err, errlen, "entry %lld is not an array", i);
            return -1;
        }
        r = parse_line_int(p, len, &pos, &two);
        if (r <= 0)
            return r;
        if (two != 2) {
            snprintf(err, errlen, "entry %lld has %lld elements, want 2", i, two);
            return -1;
        }
        if (pos >= len)
            return 0;
        if (p[pos] != '$') {
            snprintf(err, errlen, "entry %lld id is not a bulk string", i);
            return -1;
        }
        r = parse_line_int(p, len, &pos, &idlen);
        if (r <= 0)
            return r;
        if (idlen < 1 || idlen > ID_MAX) {
            snprintf(err, errlen, "entry %lld id length %lld", i, idlen);
            return -1;
        }
        if ((size_t)idlen + 2 > len - pos)
            return 0;
        if (p[pos + (size_t)idlen] != '\r' || p[pos + (size_t)idlen + 1] != '\n') {
            snprintf(err, errlen, "entry %lld id not followed by CRLF", i);
            return -1;
        }
        memcpy(id, p + pos, (size_t)idlen);
        id[idlen] = '\0';
        pos += (size_t)idlen + 2;
        r = skip_value(p, len, &pos, 1, &vb);
        if (r <= 0) {
            if (r < 0)
                snprintf(err, errlen, "entry %lld fields malformed", i);
            return r;
        }
    }
    *consumed = pos;
    *entries = n;
    *value_bytes = vb;
    if (n > 0)
        memcpy(last_id, id, sizeof(id));
    return 1;
}

/* hiredis entry points, resolved with dlsym (the build links no hiredis). */
struct hiredis {
    redisContext *(*connect)(const char *ip, int port);
    void *(*command_argv)(redisContext *c, int argc, const char **argv, const size_t *argvlen);
    void (*free_reply)(void *reply);
    void (*free_ctx)(redisContext *c);
};

static int hiredis_load(struct hiredis *h)
{
    static const char *const names[] = {"libhiredis.so", "libhiredis.so.0.14",
                                        "libhiredis.so.1.1.0", "libhiredis.so.1.0.0"};
    void *lib = NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !lib; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "redis_scan: cannot load libhiredis (install libhiredis-dev): %s\n",
                dlerror());
        return -1;
    }
    *(void **)&h->connect = dlsym(lib, "redisConnect");
    *(void **)&h->command_argv = dlsym(lib, "redisCommandArgv");
    *(void **)&h->free_reply = dlsym(lib, "freeReplyObject");
    *(void **)&h->free_ctx = dlsym(lib, "redisFree");
    if (!h->connect || !h->command_argv || !h->free_reply || !h->free_ctx) {
        fprintf(stderr, "redis_scan: libhiredis lacks a needed symbol\n");
        return -1;
    }
    return 0;
}

/* The scan through hiredis. 0 with *total and *bytes set, or -1 after one line on stderr. */
static int scan_hiredis(const char *host, int port, const char *key, long count, long long *total,
                        long long *bytes)
{
    struct hiredis h;
    if (hiredis_load(&h))
        return -1;
    redisContext *c = h.connect(host, port);
    if (!c || c->err) {
        fprintf(stderr, "redis_scan: connect %s:%d: %s\n", host, port, c ? c->errstr : "oom");
        return -1;
    }
    char start[ID_MAX + 2] = "-", cnt[24];
    snprintf(cnt, sizeof(cnt), "%ld", count);
    int rc = 0;
    for (;;) {
        const char *argv[] = {"XRANGE", key, start, "+", "COUNT", cnt};
        redisReply *r = h.command_argv(c, 6, argv, NULL);
        if (!r) {
            fprintf(stderr, "redis_scan: XRANGE: %s\n", c->errstr);
            rc = -1;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "redis_scan: XRANGE: %s\n",
                    r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
            h.free_reply(r);
            rc = -1;
            break;
        }
        size_t n = r->elements;
        for (size_t i = 0; i < n && !rc; i++) {
            redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len > ID_MAX ||
                e->element[1]->type != REDIS_REPLY_ARRAY) {
                fprintf(stderr, "redis_scan: XRANGE: malformed entry\n");
                rc = -1;
                break;
            }
            for (size_t k = 0; k < e->element[1]->elements; k++)
                *bytes += (long long)e->element[1]->element[k]->len;
            if (i + 1 == n)
                snprintf(start, sizeof(start), "(%s", e->element[0]->str);
        }
        h.free_reply(r);
        *total += (long long)n;
        if (rc || n == 0)
            break;
    }
    h.free_ctx(c);
    return rc;
}

/* The scan over a plain socket with the RESP walker above. Same contract as scan_hiredis. */
static int scan_raw(const char *host, int port, const char *key, long count, long long *total,
                    long long *bytes)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "redis_scan: bad host %s\n", host);
        return -1;
    }
    struct conn c = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
    if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sa, sizeof(sa))) {
        fprintf(stderr, "redis_scan: connect %s:%d: %s\n", host, port, strerror(errno));
        if (c.fd >= 0)
            close(c.fd);
        return -1;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    char last_id[ID_MAX + 1] = "", start[ID_MAX + 2], cmd[512], cnt[24], err[256] = "";
    int rc = 0;
    snprintf(cnt, sizeof(cnt), "%ld", count);
    for (;;) {
        if (last_id[0])
            snprintf(start, sizeof(start), "(%s", last_id);
        else
            snprintf(start, sizeof(start), "-");
        int m = snprintf(cmd, sizeof(cmd),
                         "*6\r\n$6\r\nXRANGE\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n$1\r\n+\r\n"
                         "$5\r\nCOUNT\r\n$%zu\r\n%s\r\n",
                         strlen(key), key, strlen(start), start, strlen(cnt), cnt);
        if (send_all(c.fd, cmd, (size_t)m)) {
            fprintf(stderr, "redis_scan: send: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        long long n = 0, vb = 0;
        size_t used = 0;
        int r;
        while ((r = parse_xrange(&c, &used, &n, &vb, last_id, err, sizeof(err))) == 0)
            if (conn_fill(&c)) {
                snprintf(err, sizeof(err), "connection closed mid-reply");
                r = -1;
                break;
            }
        if (r < 0) {
            fprintf(stderr, "redis_scan: XRANGE: %s\n", err);
            rc = -1;
            break;
        }
        memmove(c.buf, c.buf + used, c.len - used);
        c.len -= used;
        *total += n;
        *bytes += vb;
        if (n == 0)
            break;
    }
    close(c.fd);
    free(c.buf);
    return rc;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *key = "mystream", *client = "hiredis";
    int port = 0;
    long count = 1000;
    long long expect = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
        else if (!strcmp(argv[i], "--count"))
            count = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--expect"))
            expect = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--client"))
            client = argv[i + 1];
        else {
            fprintf(stderr, "redis_scan: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    int raw = !strcmp(client, "raw");
    if (port <= 0 || port > 65535 || count < 1 || strlen(key) > 200 ||
        (!raw && strcmp(client, "hiredis"))) {
        fprintf(stderr, "usage: redis_scan [--host H] --port P [--key K] [--count C] "
                        "[--expect N] [--client hiredis|raw]\n");
        return 2;
    }
    long long total = 0, total_bytes = 0;
    double t0 = now_s();
    int rc = raw ? scan_raw(host, port, key, count, &total, &total_bytes)
                 : scan_hiredis(host, port, key, count, &total, &total_bytes);
    double dt = now_s() - t0;
    if (rc)
        return 1;
    printf("redis_scan client=%s entries=%lld bulk_bytes=%lld seconds=%.3f entries_per_s=%.0f\n",
           client, total, total_bytes, dt, dt > 0 ? (double)total / dt : 0.0);
    if (expect >= 0 && total != expect) {
        fprintf(stderr, "redis_scan: read %lld entries, expected %lld\n", total, expect);
        return 1;
    }
    return 0;
}
