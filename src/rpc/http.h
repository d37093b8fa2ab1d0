/*
 * http.h — the HTTP/WebSocket front door: JSON-RPC over POST /rpc and ws://H:P/rpc, plus
 * GET /metrics (Prometheus text 0.0.4 of the default metrics registry) and GET /health.
 *
 * What it owns: a libwebsockets context running on an existing libuv loop (foreign loop), one
 * connection state per client, the per-connection send queues, and the limits: maximum message
 * size (HTTP body or WebSocket message), maximum connections, and — through the dispatcher —
 * calls in flight per connection (reading pauses, it never buffers without bound).
 *
 * Behaviour:
 *  - POST /rpc: the body is one JSON-RPC message; the answer is 200 application/json, or 204 when
 *    it needs none (notifications only). HTTP/1.1 keep-alive. A body above max_message gets 413
 *    with a JSON-RPC error (code -32004) and the connection closes.
 *  - ws://H:P/rpc: each text (or binary) message is one JSON-RPC message; any number in flight,
 *    answers as they finish (match them by id); server pushes (log.records) share the queue.
 *    A message above max_message is answered with error -32004 (id null) and skipped.
 *  - Above max_connections: HTTP gets 503 with a JSON body naming the limit; a WebSocket gets one
 *    error message (-32003) and a close with status 1008 and the same reason.
 *  - GET /health → 200 {"status":"ok"} (503 {"status":"starting"} when a health callback says
 *    not ready); GET /metrics → the registry; anything else → 404 with a JSON body.
 *
 * Metrics: pyralog_http_connections (gauge, by transport), pyralog_http_requests_total (by path),
 * pyralog_http_bytes_in_total / _out_total, pyralog_http_rejected_total (by reason).
 *
 * Thread model: everything runs on the loop thread that owns the uv_loop_t; call these functions
 * from that thread only. Depends on libwebsockets (built with the libuv event library — Debian's
 * libwebsockets-evlib-uv plugin), libuv, src/rpc/rpc.h and src/base.
 */
#ifndef PLG_RPC_HTTP_H
#define PLG_RPC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "rpc/rpc.h"

struct rpc_http;

struct rpc_http_config {
    const char *host;         /* listen address, an IPv4/IPv6 literal; default "127.0.0.1" */
    int port;                 /* 0: let the kernel choose (see rpc_http_port) */
    size_t max_message;       /* bytes in one HTTP body or WebSocket message; default 1 MiB */
    int max_connections;      /* HTTP + WebSocket connections; default 1024 */
    size_t ws_high_water;     /* queued bytes above which a connection counts as slow (push
                                 producers check rpc_session_backlog); default 1 MiB */
    bool (*ready)(void *ctx); /* GET /health: ready? NULL means always */
    void *ready_ctx;
};

/* Starts listening on loop. The dispatcher must outlive the server. Returns 0, PLG_EINVAL (bad
 * address), PLG_ENOMEM, or a negative errno from binding (e.g. -EADDRINUSE). */
int rpc_http_start(uv_loop_t *loop, struct rpc_dispatcher *d, const struct rpc_http_config *cfg,
                   struct rpc_http **out);
/* The port actually bound. */
int rpc_http_port(const struct rpc_http *h);
/* Closes every connection (sessions close, pending calls finish into the void) and the listener.
 * libwebsockets closes its libuv handles asynchronously: keep running the loop (until it has no
 * more active handles), then call rpc_http_free(). Idempotent. */
void rpc_http_stop(struct rpc_http *h);
/* Frees h after rpc_http_stop() and a loop run (stops first if that was not done). */
void rpc_http_free(struct rpc_http *h);

#endif
