/* test_net.c — the net layer over real loopback sockets: framing, in-order responses when
 * handlers complete out of order, file (sendfile) chunks, oversized and bad frames closing only
 * the offending connection, back-pressure, graceful shutdown. A client thread talks to a server
 * running on the test's libuv loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "net/net.h"

struct held {
    struct net_conn *c;
    uint64_t seq;
    uint8_t body[64];
    size_t len;
};

struct fixture {
    uv_loop_t loop;
    struct net_server *srv;
    uv_async_t stop;
    pthread_t th;
    int port;
    int file_fd;
    struct held held[8];
    int nheld;
    int frames;
    int opened, closed;
    bool shut_done;
    int client_ok;
};

/* Frame protocol of this test: first byte is the command.
 * 'E' echo now, 'H' hold (answer when the next 'R' arrives, after it: out of order),
 * 'R' reply to this then release held ones, 'F' reply with 5 bytes of the temp file,
 * 'N' no reply. */
static void on_frame(void *ctx, struct net_conn *c, uint64_t seq, uint8_t *p, size_t len)
{
    struct fixture *f = ctx;
    f->frames++;
    struct net_resp *r;
    switch (p[0]) {
    case 'H':
        assert_true(f->nheld < 8 && len <= 64);
        f->held[f->nheld].c = c;
        f->held[f->nheld].seq = seq;
        memcpy(f->held[f->nheld].body, p, len);
        f->held[f->nheld].len = len;
        net_conn_ref(c);
        f->nheld++;
        return;
    case 'R':
        r = net_resp_new();
        net_resp_add_copy(r, p, len);
        net_conn_reply(c, seq, r);
        while (f->nheld > 0) {
            struct held *h = &f->held[--f->nheld];
            r = net_resp_new();
            net_resp_add_copy(r, h->body, h->len);
            net_conn_reply(h->c, h->seq, r);
            net_conn_unref(h->c);
        }
        return;
    case 'F':
        r = net_resp_new();
        net_resp_add_copy(r, "F:", 2);
        net_resp_add_file(r, dup(f->file_fd), 3, 5);
        net_conn_reply(c, seq, r);
        return;
    case 'N':
        net_conn_noreply(c, seq);
        return;
    default:
        r = net_resp_new();
        net_resp_add_copy(r, p, len);
        net_conn_reply(c, seq, r);
    }
}

static void on_open(void *ctx, struct net_conn *c)
{
    ((struct fixture *)ctx)->opened++;
}
static void on_close(void *ctx, struct net_conn *c)
{
    ((struct fixture *)ctx)->closed++;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_frame(int fd, const char *s)
{
    uint8_t hdr[4];
    size_t n = strlen(s);
    be32_put(hdr, (uint32_t)n);
    if (write(fd, hdr, 4) != 4 || write(fd, s, n) != (ssize_t)n)
        return -1;
    return 0;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

/* Reads one response; returns its length or -1; body NUL-terminated in out. */
static int recv_frame(int fd, char *out, size_t cap)
{
    uint8_t hdr[4];
    if (read_full(fd, hdr, 4))
        return -1;
    uint32_t n = be32_get(hdr);
    if (n >= cap || read_full(fd, (uint8_t *)out, n))
        return -1;
    out[n] = 0;
    return (int)n;
}

/* True when the server closed the connection (read gives EOF or reset). */
static bool peer_closed(int fd)
{
    char b[16];
    ssize_t k = read(fd, b, sizeof b);
    return k <= 0;
}

static void *client(void *arg)
{
    struct fixture *f = arg;
    char buf[256];
    int ok = 0;
    int fd = connect_to(f->port);
    int fd2 = connect_to(f->port);
    if (fd < 0 || fd2 < 0)
        goto out;
    /* Pipelined: H1 H2 N R3 E4 — responses must come back in request order, N omitted. */
    if (send_frame(fd, "H1") || send_frame(fd, "H2") || send_frame(fd, "N") ||
        send_frame(fd, "R3") || send_frame(fd, "E4"))
        goto out;
    const char *want[] = {"H1", "H2", "R3", "E4"};
    for (int i = 0; i < 4; i++) {
        if (recv_frame(fd, buf, sizeof buf) < 0 || strcmp(buf, want[i])) {
            fprintf(stderr, "order: got %s want %s\n", buf, want[i]);
            goto out;
        }
    }
    /* sendfile chunk: bytes 3..8 of "0123456789". */
    if (send_frame(fd, "F") || recv_frame(fd, buf, sizeof buf) < 0 || strcmp(buf, "F:34567"))
        goto out;
    /* A frame larger than max_frame closes that connection only. */
    uint8_t big[4];
    be32_put(big, 1u << 31); /* 2 GiB length prefix: negative as int32 */
    if (write(fd2, big, 4) != 4 || !peer_closed(fd2))
        goto out;
    close(fd2);
    fd2 = connect_to(f->port);
    be32_put(big, 4096); /* above max_frame (1024) */
    if (fd2 < 0 || write(fd2, big, 4) != 4 || !peer_closed(fd2))
        goto out;
    /* The first connection still works. */
    if (send_frame(fd, "E5") || recv_frame(fd, buf, sizeof buf) < 0 || strcmp(buf, "E5"))
        goto out;
    /* A frame split into many tiny writes is reassembled. */
    {
        const char *msg = "\x00\x00\x00\x03"
                          "E67";
        for (int i = 0; i < 7; i++) {
            if (write(fd, msg + i, 1) != 1)
                goto out;
            usleep(1000);
        }
        if (recv_frame(fd, buf, sizeof buf) < 0 || strcmp(buf, "E67"))
            goto out;
    }
    /* Back-pressure: many pipelined requests without reading; all answered in order. */
    for (int i = 0; i < 200; i++) {
        char m[16];
        snprintf(m, sizeof m, "E%d", i);
        if (send_frame(fd, m))
            goto out;
    }
    for (int i = 0; i < 200; i++) {
        char m[16];
        snprintf(m, sizeof m, "E%d", i);
        if (recv_frame(fd, buf, sizeof buf) < 0 || strcmp(buf, m))
            goto out;
    }
    ok = 1;
out:
    if (fd >= 0)
        close(fd);
    if (fd2 >= 0)
        close(fd2);
    f->client_ok = ok;
    uv_async_send(&f->stop);
    return NULL;
}

static void on_shutdown(void *arg)
{
    struct fixture *f = arg;
    f->shut_done = true;
    uv_close((uv_handle_t *)&f->stop, NULL);
}

static void on_stop(uv_async_t *a)
{
    struct fixture *f = a->data;
    net_server_shutdown(f->srv, on_shutdown, f);
}

static void test_net_roundtrip(void **state)
{
    struct fixture f = {0};
    char path[] = "/tmp/plg-net-XXXXXX";
    f.file_fd = mkstemp(path);
    assert_true(f.file_fd >= 0);
    unlink(path);
    assert_int_equal(write(f.file_fd, "0123456789", 10), 10);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    struct net_server_opts o = {.host = "127.0.0.1",
                                .port = 0,
                                .max_frame = 1024,
                                .max_conns = 16,
                                .max_inflight = 8,
                                .max_queued = 65536,
                                .name = "test"};
    struct net_handler h = {
        .ctx = &f, .on_frame = on_frame, .on_open = on_open, .on_close = on_close};
    assert_int_equal(net_server_open(&f.loop, &o, &h, &f.srv), 0);
    f.port = net_server_port(f.srv);
    assert_true(f.port > 0);
    uv_async_init(&f.loop, &f.stop, on_stop);
    f.stop.data = &f;
    pthread_create(&f.th, NULL, client, &f);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    pthread_join(f.th, NULL);
    assert_true(f.client_ok);
    assert_true(f.shut_done);
    assert_int_equal(net_server_conn_count(f.srv), 0);
    assert_int_equal(f.opened, 3);
    assert_int_equal(f.closed, 3);
    net_server_free(f.srv);
    assert_int_equal(uv_loop_close(&f.loop), 0);
    close(f.file_fd);
}

static void *limit_client(void *arg)
{
    struct fixture *f = arg;
    int a = connect_to(f->port);
    char buf[64];
    int ok = 0;
    /* The first connection is served; a second one above max.connections is closed. */
    if (a >= 0 && send_frame(a, "E1") == 0 && recv_frame(a, buf, sizeof buf) == 2) {
        int b = connect_to(f->port);
        if (b >= 0) {
            ok = peer_closed(b);
            close(b);
        }
        if (ok)
            ok = send_frame(a, "E2") == 0 && recv_frame(a, buf, sizeof buf) == 2;
    }
    if (a >= 0)
        close(a);
    f->client_ok = ok;
    uv_async_send(&f->stop);
    return NULL;
}

static void test_net_max_conns(void **state)
{
    struct fixture f = {0};
    assert_int_equal(uv_loop_init(&f.loop), 0);
    struct net_server_opts o = {.host = "127.0.0.1",
                                .max_frame = 1024,
                                .max_conns = 1,
                                .max_inflight = 8,
                                .max_queued = 65536,
                                .name = "test"};
    struct net_handler h = {.ctx = &f, .on_frame = on_frame};
    assert_int_equal(net_server_open(&f.loop, &o, &h, &f.srv), 0);
    f.port = net_server_port(f.srv);
    uv_async_init(&f.loop, &f.stop, on_stop);
    f.stop.data = &f;
    pthread_create(&f.th, NULL, limit_client, &f);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    pthread_join(f.th, NULL);
    assert_true(f.client_ok);
    net_server_free(f.srv);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void test_net_bad_host(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct net_server *s;
    struct net_server_opts o = {.host = "not-an-ip", .max_frame = 10, .max_conns = 1};
    struct net_handler h = {.on_frame = on_frame};
    assert_int_equal(net_server_open(&loop, &o, &h, &s), PLG_EINVAL);
    uv_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_roundtrip),
        cmocka_unit_test(test_net_max_conns),
        cmocka_unit_test(test_net_bad_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
