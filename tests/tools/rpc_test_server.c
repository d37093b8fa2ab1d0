/*
 * rpc_test_server.c — a standalone JSON-RPC HTTP/WebSocket server for transport tests.
 *
 * Runs src/rpc (dispatcher + lws transport) on its own libuv loop with test methods:
 *   echo {any}            → the params back
 *   sleep {ms}            → answers {"slept": ms} after a libuv timer (an asynchronous call)
 *   ticks {count}         → pushes `count` notifications "tick" {"n": i} over the WebSocket,
 *                           pausing while the connection's backlog is above 256 KiB and resuming
 *                           when it drains (back-pressure), then answers {"sent": count}
 * Usage: rpc_test_server [--listen H:P] [--max-message N] [--max-connections N]
 * Prints "rpc-test-server ready http=H:P" on stderr; SIGTERM/SIGINT stop it cleanly (exit 0).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/metrics.h"
#include "rpc/http.h"
#include "rpc/rpc.h"

static uv_loop_t loop;
static uv_signal_t sigterm, sigint;
static struct rpc_http *server;

static void m_echo(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)ctx;
    rpc_reply(c, json_incref(params));
}

struct sleeper {
    uv_timer_t t;
    struct rpc_call *c;
    int64_t ms;
};

static void sleeper_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sleeper_fire(uv_timer_t *t)
{
    struct sleeper *s = t->data;
    rpc_reply(s->c, json_pack("{s:I}", "slept", (json_int_t)s->ms));
    uv_close((uv_handle_t *)t, sleeper_closed);
}

static void m_sleep(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)ctx;
    int64_t ms;
    if (rpc_params_object(c, params) || rpc_param_int(c, params, "ms", true, 0, 60000, &ms))
        return;
    struct sleeper *s = calloc(1, sizeof *s);
    if (!s) {
        rpc_error(c, RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    s->c = c;
    s->ms = ms;
    uv_timer_init(&loop, &s->t);
    s->t.data = s;
    uv_timer_start(&s->t, sleeper_fire, (uint64_t)ms, 0);
}

/* A push producer with back-pressure, the pattern log.subscribe uses. */
struct ticker {
    struct rpc_attach a; /* first: the attach pointer is the ticker */
    struct rpc_session *s;
    struct rpc_call *c;
    int64_t next, count;
};

static void ticker_finish(struct ticker *t, bool closed)
{
    if (!closed)
        rpc_session_detach(t->s, &t->a);
    rpc_reply(t->c, json_pack("{s:I}", "sent", (json_int_t)t->next));
    free(t);
}

static void ticker_run(struct ticker *t)
{
    while (t->next < t->count) {
        if (rpc_session_backlog(t->s) > 256 * 1024)
            return; /* paused until on_drain */
        if (rpc_session_push(t->s, "tick", json_pack("{s:I}", "n", (json_int_t)t->next)))
            break;
        t->next++;
    }
    ticker_finish(t, false);
}

static void ticker_drain(struct rpc_attach *a)
{
    ticker_run((struct ticker *)a);
}

static void ticker_close(struct rpc_attach *a)
{
    ticker_finish((struct ticker *)a, true);
}

static void m_ticks(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)ctx;
    int64_t count;
    if (rpc_params_object(c, params) ||
        rpc_param_int(c, params, "count", true, 0, 10000000, &count))
        return;
    struct rpc_session *s = rpc_call_session(c);
    if (!rpc_session_can_push(s)) {
        rpc_error(c, RPC_UNAVAILABLE, "ticks needs a WebSocket connection (no push over HTTP)");
        return;
    }
    struct ticker *t = calloc(1, sizeof *t);
    if (!t) {
        rpc_error(c, RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    t->a.on_drain = ticker_drain;
    t->a.on_close = ticker_close;
    t->s = s;
    t->c = c;
    t->count = count;
    rpc_session_attach(s, &t->a);
    ticker_run(t);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)sig;
    (void)signum;
    rpc_http_stop(server);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
}

int main(int argc, char **argv)
{
    char host[64] = "127.0.0.1";
    int port = 0;
    struct rpc_http_config cfg = {0};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--listen")) {
            const char *colon = strrchr(argv[i + 1], ':');
            if (!colon || (size_t)(colon - argv[i + 1]) >= sizeof host) {
                fprintf(stderr, "rpc_test_server: --listen wants H:P\n");
                return 2;
            }
            memcpy(host, argv[i + 1], (size_t)(colon - argv[i + 1]));
            host[colon - argv[i + 1]] = 0;
            port = atoi(colon + 1);
        } else if (!strcmp(argv[i], "--max-message")) {
            cfg.max_message = (size_t)atol(argv[i + 1]);
        } else if (!strcmp(argv[i], "--max-connections")) {
            cfg.max_connections = atoi(argv[i + 1]);
        } else {
            fprintf(stderr, "rpc_test_server: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    cfg.host = host;
    cfg.port = port;
    uv_loop_init(&loop);
    struct rpc_dispatcher *d;
    if (rpc_dispatcher_new(NULL, &d))
        return 1;
    rpc_register(d, "echo", m_echo, NULL);
    rpc_register(d, "sleep", m_sleep, NULL);
    rpc_register(d, "ticks", m_ticks, NULL);
    int rc = rpc_http_start(&loop, d, &cfg, &server);
    if (rc) {
        fprintf(stderr, "rpc_test_server: cannot listen on %s:%d: %d\n", host, port, rc);
        return 1;
    }
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_init(&loop, &sigint);
    uv_signal_start(&sigint, on_signal, SIGINT);
    fprintf(stderr, "rpc-test-server ready http=%s:%d\n", host, rpc_http_port(server));
    uv_run(&loop, UV_RUN_DEFAULT);
    rpc_http_free(server);
    rpc_dispatcher_free(d);
    rc = uv_loop_close(&loop);
    mx_default_free();
    if (rc) {
        fprintf(stderr, "rpc_test_server: loop still has handles at exit: %s\n", uv_strerror(rc));
        return 1;
    }
    return 0;
}
