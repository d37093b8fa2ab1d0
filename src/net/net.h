/*
 * net.h — the TCP front end: listener, connections, 4-byte length framing, the ordered
 * per-connection response pipeline and back-pressure.
 *
 * What it owns. A listening socket and every accepted connection, polled with uv_poll_t on a
 * libuv loop (raw non-blocking sockets rather than uv_tcp_t, so responses can mix memory chunks
 * written with writev(2) and file ranges sent with sendfile(2) straight from segment files).
 *
 * Framing. Every request is INT32 size + size bytes (Kafka framing). A size below 1 or above
 * `max_frame` (socket.request.max.bytes) is a protocol violation: the connection is logged once
 * and closed; other connections are untouched. Each complete frame is handed to the owner's
 * on_frame callback with a sequence number; the frame bytes are valid only during the callback.
 *
 * Pipeline invariant. Responses leave a connection in the order of the requests, whatever the
 * order in which handlers complete: each frame gets a slot; net_conn_reply() fills a slot (maybe
 * much later, e.g. long-poll Fetch or acks=all); a slot goes to the socket only when every earlier
 * slot has gone. net_conn_noreply() completes a slot that has no response (acks=0 Produce).
 * The 4-byte size prefix of each response is written here: callers pass the body only.
 *
 * Back-pressure. A connection stops reading while it has more than `max_inflight` unanswered
 * requests or more than `max_queued_bytes` of responses not yet accepted by the kernel, and
 * resumes when both fall to half. So a client that does not drain its socket cannot make the
 * server buffer without bound.
 *
 * Lifetime. Connections are reference-counted: a handler that answers later holds a reference
 * (net_conn_ref/net_conn_unref). Replying on a connection that has closed meanwhile just frees the
 * response. Connections close on peer EOF/error, on a framing violation, on net_conn_close(),
 * or at shutdown once all their responses have been written.
 *
 * Thread model: everything here runs on the loop thread that owns the server.
 */
#ifndef PLG_NET_NET_H
#define PLG_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct net_server;
struct net_conn;

/* A response body under construction: an ordered list of memory chunks and file ranges. */
struct net_resp;

struct net_server_opts {
    const char *host;  /* numeric IPv4/IPv6 address to listen on */
    int port;          /* 0 picks a free port (see net_server_port) */
    size_t max_frame;  /* largest request frame accepted (socket.request.max.bytes) */
    int max_conns;     /* connections above this are accepted, logged and closed */
    int max_inflight;  /* per connection: unanswered requests before reading pauses */
    size_t max_queued; /* per connection: unsent response bytes before reading pauses */
    const char *name;  /* for log lines, e.g. "kafka" */
};

struct net_handler {
    void *ctx;
    /* A complete frame (size prefix stripped). `seq` identifies its response slot; the callee
     * must eventually call net_conn_reply() or net_conn_noreply() with it (or close the
     * connection). The frame bytes are valid during the call only, and the callee may modify
     * them in place (the broker patches produced batches before storing them). */
    void (*on_frame)(void *ctx, struct net_conn *c, uint64_t seq, uint8_t *frame, size_t len);
    /* Optional: a connection was accepted / is gone (no more frames will arrive). */
    void (*on_open)(void *ctx, struct net_conn *c);
    void (*on_close)(void *ctx, struct net_conn *c);
};

/* Creates a listening server on `loop`. Returns 0 or -errno / PLG_E*; *out owned by the caller,
 * released with net_server_free() after the shutdown callback ran (or if never started). */
int net_server_open(uv_loop_t *loop, const struct net_server_opts *opts,
                    const struct net_handler *h, struct net_server **out);
/* The bound port (useful when opts.port was 0). */
int net_server_port(const struct net_server *s);
/* Graceful stop: closes the listener, stops reading every connection, lets every accepted
 * request be answered and written, closes the connections, then calls done(arg) once. */
void net_server_shutdown(struct net_server *s, void (*done)(void *arg), void *arg);
/* During shutdown: closes every connection now, dropping unsent responses (used when clients
 * do not drain their sockets within the shutdown grace period). */
void net_server_close_all(struct net_server *s);
void net_server_free(struct net_server *s);
/* Number of open connections. */
int net_server_conn_count(const struct net_server *s);

/* Connection handle helpers. */
void net_conn_ref(struct net_conn *c);
void net_conn_unref(struct net_conn *c);
bool net_conn_is_closed(const struct net_conn *c);
/* "ip:port" of the peer, for log lines. */
const char *net_conn_peer(const struct net_conn *c);
/* A per-connection pointer for the owner (e.g. broker per-connection state). */
void net_conn_set_data(struct net_conn *c, void *data);
void *net_conn_data(const struct net_conn *c);
/* Closes the connection now, dropping unsent responses (for protocol violations and fatal
 * errors). Logs `why` once at warn level when it is not NULL. */
void net_conn_close(struct net_conn *c, const char *why);

/* Completes slot `seq` with response body `r` (ownership passes to the connection). */
void net_conn_reply(struct net_conn *c, uint64_t seq, struct net_resp *r);
/* Completes slot `seq` with no response. */
void net_conn_noreply(struct net_conn *c, uint64_t seq);

/* Response bodies. */
struct net_resp *net_resp_new(void);
void net_resp_free(struct net_resp *r);
/* Appends bytes that the response takes ownership of (released with free()). */
int net_resp_add_owned(struct net_resp *r, uint8_t *p, size_t len);
/* Appends a copy of p[0..len). */
int net_resp_add_copy(struct net_resp *r, const void *p, size_t len);
/* Appends borrowed bytes; release(arg) is called once they are written or dropped. */
int net_resp_add_ref(struct net_resp *r, const uint8_t *p, size_t len, void (*release)(void *),
                     void *arg);
/* Appends len bytes of file fd from offset off, sent with sendfile(2). The response takes
 * ownership of fd (closes it); pass a dup() of a descriptor you keep. */
int net_resp_add_file(struct net_resp *r, int fd, off_t off, size_t len);
/* Total body length so far. */
size_t net_resp_len(const struct net_resp *r);

#endif
