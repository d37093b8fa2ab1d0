/*
 * rpc.h — JSON-RPC 2.0 dispatcher, independent of transport.
 *
 * What it owns: the method table (name → handler), the parsing and validation of request
 * messages (single requests, notifications, batches), the error objects, and the bookkeeping of
 * calls in flight on a session. Transports (src/rpc/http.c: HTTP POST and WebSocket) feed whole
 * messages in with rpc_session_input() and get whole JSON texts out through their ops table.
 *
 * Calls are asynchronous: a handler receives a struct rpc_call and must finish it exactly once
 * with rpc_reply() or rpc_error()/rpc_error_plg(), now or later (e.g. log.append answers when the
 * write is acknowledged). The reply to a message is sent when every call of it has finished: one
 * response object for a request, one array for a batch (notifications contribute nothing), and
 * for a message made only of notifications the transport's reply() is called with text == NULL so
 * HTTP can answer 204. Replies over WebSocket may come out of order; ids match them up.
 *
 * Sessions may close while calls are pending: the call stays valid until its handler finishes it
 * and the reply is then dropped. Handlers that keep state tied to a session (subscriptions) hang
 * a struct rpc_attach on it to hear about writable space (back-pressure) and the close.
 *
 * Errors: the standard codes below, and application codes from -32000 down, each with a message a
 * person can act on (naming the parameter, the topic, the limit).
 *
 * Thread model: a dispatcher and its sessions belong to one thread (the event loop); handlers run
 * on it and must finish calls on it. Depends on jansson and src/base only.
 */
#ifndef PLG_RPC_RPC_H
#define PLG_RPC_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Standard JSON-RPC 2.0 error codes. */
#define RPC_PARSE_ERROR (-32700)
#define RPC_INVALID_REQUEST (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS (-32602)
#define RPC_INTERNAL_ERROR (-32603)
/* Application codes (server errors). */
#define RPC_SERVER_ERROR (-32000) /* storage or other server-side failure */
#define RPC_NOT_FOUND (-32001)    /* no such topic, partition, offset, subscription or name */
#define RPC_EXISTS (-32002)       /* already exists (topic.create) */
#define RPC_LIMIT (-32003)        /* a configured limit: connections, subscriptions, in flight */
#define RPC_TOO_LARGE (-32004)    /* message or value above the size limit */
#define RPC_OUT_OF_RANGE (-32005) /* offset or value out of range */
#define RPC_UNAVAILABLE (-32006)  /* shutting down, or not possible on this transport */
#define RPC_UNSUPPORTED (-32007)  /* unsupported feature or codec */
#define RPC_TIMEOUT (-32008)      /* the operation timed out */

struct rpc_dispatcher;
struct rpc_session;
struct rpc_call;

/* A method handler. params is the request's "params" (an object or array; an empty object when
 * the request had none) and is only borrowed for the duration of the handler: json_incref() it
 * to keep it. The handler finishes call now or later on the dispatcher's thread. */
typedef void (*rpc_method_fn)(struct rpc_call *call, json_t *params, void *ctx);

struct rpc_limits {
    size_t max_batch;    /* requests in one batch (default 1000) */
    size_t max_inflight; /* unfinished calls per session before the transport pauses reading
                            (default 1024) */
};

/* Creates a dispatcher with the given limits (NULL: defaults). Free with rpc_dispatcher_free()
 * after every session is closed and every call finished. Returns 0 or PLG_ENOMEM. */
int rpc_dispatcher_new(const struct rpc_limits *limits, struct rpc_dispatcher **out);
void rpc_dispatcher_free(struct rpc_dispatcher *d);

/* Adds a method. The name is copied. Returns 0, PLG_EEXIST when already registered, PLG_EINVAL
 * for an empty name or one starting with "rpc." (reserved by JSON-RPC), PLG_ENOMEM. */
int rpc_register(struct rpc_dispatcher *d, const char *method, rpc_method_fn fn, void *ctx);

/* ---- sessions (one per client connection) ---- */

struct rpc_session_ops {
    /* The answer to one input message: a malloc'ed JSON text the transport now owns (free()),
     * or text == NULL when the message needs no answer (only notifications). */
    void (*reply)(void *tctx, char *text, size_t len);
    /* A server-initiated notification (only when push is supported; may be NULL otherwise).
     * The transport owns text. Returns 0 or a negative code (the text is freed either way). */
    int (*push)(void *tctx, char *text, size_t len);
    /* Bytes queued for sending and not yet written (for back-pressure); may be NULL. */
    size_t (*backlog)(void *tctx);
    /* Stop (false) or resume (true) reading input: called when the calls in flight reach
     * max_inflight and when they fall back to half of it. May be NULL. */
    void (*flow)(void *tctx, bool allow);
};

/* Something tied to a session (a subscription). on_drain runs when the transport reports that its
 * backlog fell (rpc_session_drained), on_close when the session closes; after on_close the
 * attachment is already detached. Either may be NULL. The owner of the struct keeps it alive
 * until it detaches or on_close runs. */
struct rpc_attach {
    struct rpc_attach *next, *prev;
    void (*on_drain)(struct rpc_attach *a);
    void (*on_close)(struct rpc_attach *a);
};

/* Creates a session bound to the transport's ops and context. Returns 0 or PLG_ENOMEM. */
int rpc_session_new(struct rpc_dispatcher *d, const struct rpc_session_ops *ops, void *tctx,
                    struct rpc_session **out);
/* The transport is gone: runs every attachment's on_close, forgets the transport, and frees the
 * session once its last pending call finishes (replies are then dropped). */
void rpc_session_close(struct rpc_session *s);
/* Parses and dispatches one complete message (UTF-8 JSON text of len bytes; need not be
 * NUL-terminated). Every outcome, including parse errors, is answered through ops->reply.
 * Returns 0, or PLG_ECLOSED after rpc_session_close. */
int rpc_session_input(struct rpc_session *s, const char *text, size_t len);
/* Answers a message that the transport refused before parsing (e.g. above the size limit) with a
 * single error response (id null) through ops->reply. */
void rpc_session_reject(struct rpc_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when the session's transport can push notifications (WebSocket). */
bool rpc_session_can_push(const struct rpc_session *s);
/* Sends a notification {"jsonrpc":"2.0","method":method,"params":params}; steals params.
 * Returns 0, PLG_ECLOSED (session closed), PLG_EUNSUPP (no push), PLG_ENOMEM. */
int rpc_session_push(struct rpc_session *s, const char *method, json_t *params);
/* Bytes the transport still has to write (0 when unknown). */
size_t rpc_session_backlog(const struct rpc_session *s);
/* Transport: the backlog fell below its low-water mark; runs on_drain of the attachments. */
void rpc_session_drained(struct rpc_session *s);
void rpc_session_attach(struct rpc_session *s, struct rpc_attach *a);
void rpc_session_detach(struct rpc_session *s, struct rpc_attach *a);
/* Number of attachments on the session (per-connection limits, e.g. subscriptions). */
size_t rpc_session_attached(const struct rpc_session *s);
/* Unfinished calls on the session. */
size_t rpc_session_inflight(const struct rpc_session *s);

/* ---- calls ---- */

/* The session a call came in on, or NULL once that session has closed. */
struct rpc_session *rpc_call_session(struct rpc_call *c);
/* The method name (valid until the call finishes). */
const char *rpc_call_method(const struct rpc_call *c);
/* True for a notification (no id: the result will be dropped). */
bool rpc_call_is_notification(const struct rpc_call *c);

/* Finishes the call with a result (stolen; NULL means JSON null). */
void rpc_reply(struct rpc_call *c, json_t *result);
/* Finishes the call with an error object {code, message}. */
void rpc_error(struct rpc_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same with an extra "data" member (stolen, may be NULL). */
void rpc_error_data(struct rpc_call *c, int code, json_t *data, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a PLG_E* or -errno code to an application error code (RPC_NOT_FOUND for PLG_ENOTFOUND,
 * ...). */
int rpc_code_from_plg(int rc);
/* Finishes the call with the error mapped from rc; the message is "<what>: <plg_strerror(rc)>". */
void rpc_error_plg(struct rpc_call *c, int rc, const char *what);

/* ---- parameter helpers: on a bad parameter they finish the call with -32602 naming the
 * parameter, and return PLG_EINVAL; the handler then just returns. A missing optional parameter
 * leaves *out unchanged and returns 0. params must be an object (a handler taking named params
 * first calls rpc_params_object). ---- */

/* -32602 unless params is an object. */
int rpc_params_object(struct rpc_call *c, json_t *params);
int rpc_param_str(struct rpc_call *c, json_t *params, const char *key, bool required,
                  const char **out);
/* An integer in [min, max]; also accepts a decimal string (for 64-bit values beyond 2^53). */
int rpc_param_int(struct rpc_call *c, json_t *params, const char *key, bool required, int64_t min,
                  int64_t max, int64_t *out);
/* Base64 (standard alphabet, padding optional) decoded into a malloc'ed buffer (*out, free()),
 * or JSON null → *out NULL, *len 0, *is_null true. is_null may be NULL when null is not allowed.
 * Values above max_len decoded bytes are refused with RPC_TOO_LARGE. */
int rpc_param_base64(struct rpc_call *c, json_t *params, const char *key, bool required,
                     size_t max_len, uint8_t **out, size_t *len, bool *is_null);

/* Base64 encoding of len bytes (standard alphabet, padded) as a new JSON string, or NULL. */
json_t *rpc_base64_json(const uint8_t *p, size_t len);

#endif
