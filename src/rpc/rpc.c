/*
 * rpc.c — JSON-RPC 2.0 dispatcher (see rpc.h).
 *
 * One input message becomes a struct msg that collects the responses of its calls; msg->pending
 * counts unfinished calls plus one guard held while the message is being dispatched, so a message
 * whose calls all finish synchronously is answered once, at the end of rpc_session_input.
 * A session is reference-counted: one reference for the transport (dropped by
 * rpc_session_close) and one per unanswered message, so calls finished after the connection
 * closed still find a valid (closed) session and simply drop their reply.
 */
#include "rpc/rpc.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "rpc/json.h"
#include "pyralog/pyralog.h"

struct method {
    char *name;
    rpc_method_fn fn;
    void *ctx;
    struct mx_counter *calls;
    struct mx_histogram *latency;
};

struct rpc_dispatcher {
    struct method *methods;
    size_t n, cap;
    struct rpc_limits lim;
    struct mx_counter *unknown_calls;
    struct mx_counter *invalid;
    struct mx_counter *parse_errors;
    struct mx_counter *messages;
    struct mx_counter *errors_app;
    struct mx_counter *errors_params;
    struct mx_counter *errors_other;
};

struct rpc_session {
    struct rpc_dispatcher *d;
    const struct rpc_session_ops *ops;
    void *tctx;
    unsigned refs;
    bool closed;
    bool paused;
    size_t inflight;
    size_t nattached;
    struct rpc_attach attached; /* list head */
};

struct msg {
    struct rpc_session *s;
    json_t *batch;  /* array of responses for a batch, else NULL */
    json_t *single; /* the response of a single request */
    size_t pending;
};

struct rpc_call {
    struct msg *msg;
    const struct method *m;
    json_t *id; /* owned; NULL for a notification */
    uint64_t t0;
};

/* ---- dispatcher ---- */

int rpc_dispatcher_new(const struct rpc_limits *limits, struct rpc_dispatcher **out)
{
    struct rpc_dispatcher *d = calloc(1, sizeof *d);
    if (!d)
        return PLG_ENOMEM;
    d->lim.max_batch = limits && limits->max_batch ? limits->max_batch : 1000;
    d->lim.max_inflight = limits && limits->max_inflight ? limits->max_inflight : 1024;
    struct mx_registry *r = mx_default();
    const char *reqs = "JSON-RPC calls by method.";
    d->unknown_calls = mx_counter_get(r, "pyralog_rpc_requests_total", reqs, "method=\"unknown\"");
    const char *bad = "JSON-RPC messages or requests refused before dispatch, by reason.";
    d->invalid = mx_counter_get(r, "pyralog_rpc_rejected_total", bad, "reason=\"invalid_request\"");
    d->parse_errors = mx_counter_get(r, "pyralog_rpc_rejected_total", bad, "reason=\"parse\"");
    d->messages = mx_counter_get(r, "pyralog_rpc_messages_total",
                                 "JSON-RPC messages received (a batch counts once).", NULL);
    const char *errs = "JSON-RPC error responses, by class.";
    d->errors_app = mx_counter_get(r, "pyralog_rpc_errors_total", errs, "class=\"application\"");
    d->errors_params = mx_counter_get(r, "pyralog_rpc_errors_total", errs, "class=\"params\"");
    d->errors_other = mx_counter_get(r, "pyralog_rpc_errors_total", errs, "class=\"other\"");
    *out = d;
    return 0;
}

void rpc_dispatcher_free(struct rpc_dispatcher *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->methods[i].name);
    free(d->methods);
    free(d);
}

static const struct method *method_find(const struct rpc_dispatcher *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->methods[i].name, name))
            return &d->methods[i];
    return NULL;
}

int rpc_register(struct rpc_dispatcher *d, const char *name, rpc_method_fn fn, void *ctx)
{
    if (!name || !*name || !strncmp(name, "rpc.", 4) || !fn || strlen(name) > 64)
        return PLG_EINVAL;
    if (method_find(d, name))
        return PLG_EEXIST;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct method *m = realloc(d->methods, cap * sizeof *m);
        if (!m)
            return PLG_ENOMEM;
        d->methods = m;
        d->cap = cap;
    }
    struct method *m = &d->methods[d->n];
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    if (!m->name)
        return PLG_ENOMEM;
    m->fn = fn;
    m->ctx = ctx;
    char labels[96];
    char esc[80];
    mx_label_escape(esc, sizeof esc, name);
    snprintf(labels, sizeof labels, "method=\"%s\"", esc);
    m->calls = mx_counter_get(mx_default(), "pyralog_rpc_requests_total",
                              "JSON-RPC calls by method.", labels);
    m->latency = mx_histogram_get(mx_default(), "pyralog_rpc_request_duration_seconds",
                                  "JSON-RPC call latency from dispatch to answer, by method.",
                                  labels, MX_LATENCY_BUCKETS, MX_LATENCY_BUCKETS_N);
    d->n++;
    return 0;
}

/* ---- sessions ---- */

int rpc_session_new(struct rpc_dispatcher *d, const struct rpc_session_ops *ops, void *tctx,
                    struct rpc_session **out)
{
    struct rpc_session *s = calloc(1, sizeof *s);
    if (!s)
        return PLG_ENOMEM;
    s->d = d;
    s->ops = ops;
    s->tctx = tctx;
    s->refs = 1;
    s->attached.next = s->attached.prev = &s->attached;
    *out = s;
    return 0;
}

static void session_unref(struct rpc_session *s)
{
    assert(s->refs > 0);
    if (--s->refs == 0) {
        assert(s->closed && s->inflight == 0);
        free(s);
    }
}

void rpc_session_attach(struct rpc_session *s, struct rpc_attach *a)
{
    a->next = &s->attached;
    a->prev = s->attached.prev;
    a->prev->next = a;
    s->attached.prev = a;
    s->nattached++;
}

size_t rpc_session_attached(const struct rpc_session *s)
{
    return s->nattached;
}

void rpc_session_detach(struct rpc_session *s, struct rpc_attach *a)
{
    if (!a->next)
        return;
    s->nattached--;
    a->prev->next = a->next;
    a->next->prev = a->prev;
    a->next = a->prev = NULL;
}

void rpc_session_close(struct rpc_session *s)
{
    if (!s || s->closed)
        return;
    s->closed = true;
    while (s->attached.next != &s->attached) {
        struct rpc_attach *a = s->attached.next;
        rpc_session_detach(s, a);
        if (a->on_close)
            a->on_close(a);
    }
    session_unref(s);
}

void rpc_session_drained(struct rpc_session *s)
{
    if (s->closed)
        return;
    /* An on_drain may detach itself (or push and detach others later): walk with a marker-free
     * snapshot of the next pointer, and stop early if the session closed meanwhile. */
    struct rpc_attach *a = s->attached.next;
    while (a != &s->attached && !s->closed) {
        struct rpc_attach *next = a->next;
        if (a->on_drain)
            a->on_drain(a);
        a = next;
    }
}

bool rpc_session_can_push(const struct rpc_session *s)
{
    return s && !s->closed && s->ops->push != NULL;
}

size_t rpc_session_backlog(const struct rpc_session *s)
{
    return s->ops->backlog && !s->closed ? s->ops->backlog(s->tctx) : 0;
}

size_t rpc_session_inflight(const struct rpc_session *s)
{
    return s->inflight;
}

int rpc_session_push(struct rpc_session *s, const char *method, json_t *params)
{
    if (s->closed) {
        json_decref(params);
        return PLG_ECLOSED;
    }
    if (!s->ops->push) {
        json_decref(params);
        return PLG_EUNSUPP;
    }
    json_t *n = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method, "params",
                          params ? params : json_object());
    if (!n)
        return PLG_ENOMEM;
    char *text = json_dumps(n, JSON_COMPACT);
    json_decref(n);
    if (!text)
        return PLG_ENOMEM;
    return s->ops->push(s->tctx, text, strlen(text));
}

/* ---- messages and responses ---- */

static void msg_release(struct msg *m)
{
    assert(m->pending > 0);
    if (--m->pending)
        return;
    struct rpc_session *s = m->s;
    json_t *out = m->batch ? m->batch : m->single;
    if (m->batch && json_array_size(m->batch) == 0)
        out = NULL;
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(m->batch);
    json_decref(m->single);
    free(m);
    if (!s->closed) {
        if (out && !text) {
            /* Out of memory while serialising: still answer so HTTP clients do not hang. */
            static const char oom[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
                                      "\"message\":\"out of memory serialising the response\"}}";
            text = strdup(oom);
        }
        s->ops->reply(s->tctx, text, text ? strlen(text) : 0);
    } else {
        free(text);
    }
    session_unref(s);
}

/* Adds a response object (stolen) to the message. */
static void msg_add(struct msg *m, json_t *resp)
{
    if (!resp)
        return;
    if (m->batch)
        json_array_append_new(m->batch, resp);
    else {
        assert(!m->single);
        m->single = resp;
    }
}

static json_t *error_obj(int code, json_t *data, const char *msg)
{
    json_t *e = json_pack("{s:i, s:s}", "code", code, "message", msg);
    if (e && data)
        json_object_set_new(e, "data", data);
    else
        json_decref(data);
    return e;
}

static json_t *response(json_t *id, const char *member, json_t *value)
{
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), member,
                     value ? value : json_null());
}

static void count_error(struct rpc_dispatcher *d, int code)
{
    if (code <= RPC_SERVER_ERROR && code > -32100)
        mx_counter_inc(d->errors_app);
    else if (code == RPC_INVALID_PARAMS)
        mx_counter_inc(d->errors_params);
    else
        mx_counter_inc(d->errors_other);
}

/* An error for a request that never became a call. */
static void msg_error(struct msg *m, json_t *id, int code, const char *text)
{
    count_error(m->s->d, code);
    msg_add(m, response(id, "error", error_obj(code, NULL, text)));
}

static void finish(struct rpc_call *c, const char *member, json_t *value)
{
    struct msg *m = c->msg;
    struct rpc_session *s = m->s;
    if (c->id)
        msg_add(m, response(c->id, member, value));
    else
        json_decref(value);
    mx_histogram_observe_ns(c->m->latency, mx_now_ns() - c->t0);
    json_decref(c->id);
    free(c);
    assert(s->inflight > 0);
    s->inflight--;
    if (s->paused && !s->closed && s->inflight <= s->d->lim.max_inflight / 2) {
        s->paused = false;
        if (s->ops->flow)
            s->ops->flow(s->tctx, true);
    }
    msg_release(m);
}

void rpc_reply(struct rpc_call *c, json_t *result)
{
    finish(c, "result", result ? result : json_null());
}

static void verror(struct rpc_call *c, int code, json_t *data, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    count_error(c->msg->s->d, code);
    finish(c, "error", error_obj(code, data, text));
}

void rpc_error(struct rpc_call *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(c, code, NULL, fmt, ap);
    va_end(ap);
}

void rpc_error_data(struct rpc_call *c, int code, json_t *data, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(c, code, data, fmt, ap);
    va_end(ap);
}

int rpc_code_from_plg(int rc)
{
    switch (rc) {
    case PLG_ENOTFOUND:
        return RPC_NOT_FOUND;
    case PLG_EEXIST:
        return RPC_EXISTS;
    case PLG_ETOOBIG:
        return RPC_TOO_LARGE;
    case PLG_ERANGE:
    case PLG_EOVERFLOW:
        return RPC_OUT_OF_RANGE;
    case PLG_ECLOSED:
        return RPC_UNAVAILABLE;
    case PLG_EUNSUPP:
        return RPC_UNSUPPORTED;
    case PLG_ETIMEDOUT:
        return RPC_TIMEOUT;
    case PLG_EINVAL:
        return RPC_INVALID_PARAMS;
    case PLG_ENOMEM:
        return RPC_INTERNAL_ERROR;
    default:
        return RPC_SERVER_ERROR;
    }
}

void rpc_error_plg(struct rpc_call *c, int rc, const char *what)
{
    rpc_error(c, rpc_code_from_plg(rc), "%s: %s", what, plg_strerror(rc));
}

struct rpc_session *rpc_call_session(struct rpc_call *c)
{
    return c->msg->s->closed ? NULL : c->msg->s;
}

const char *rpc_call_method(const struct rpc_call *c)
{
    return c->m->name;
}

bool rpc_call_is_notification(const struct rpc_call *c)
{
    return c->id == NULL;
}

/* ---- dispatch ---- */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* Validates and runs one request object of message m. */
static void dispatch_one(struct msg *m, json_t *req)
{
    struct rpc_dispatcher *d = m->s->d;
    if (!json_is_object(req)) {
        mx_counter_inc(d->invalid);
        char text[96];
        snprintf(text, sizeof text, "invalid request: expected a JSON object, got %s",
                 type_name(req));
        msg_error(m, NULL, RPC_INVALID_REQUEST, text);
        return;
    }
    json_t *id = json_object_get(req, "id");
    bool id_ok = !id || json_is_string(id) || json_is_number(id) || json_is_null(id);
    json_t *ver = json_object_get(req, "jsonrpc");
    json_t *method = json_object_get(req, "method");
    json_t *params = json_object_get(req, "params");
    const char *why = NULL;
    if (!id_ok)
        why = "invalid request: \"id\" must be a string, a number or null";
    else if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0"))
        why = "invalid request: \"jsonrpc\" must be the string \"2.0\"";
    else if (!json_is_string(method))
        why = "invalid request: \"method\" must be a string";
    else if (params && !json_is_object(params) && !json_is_array(params))
        why = "invalid request: \"params\" must be an object or an array";
    if (why) {
        mx_counter_inc(d->invalid);
        msg_error(m, id_ok ? id : NULL, RPC_INVALID_REQUEST, why);
        return;
    }
    const char *name = json_string_value(method);
    const struct method *mt = method_find(d, name);
    if (!mt) {
        mx_counter_inc(d->unknown_calls);
        if (id) {
            char text[160];
            snprintf(text, sizeof text,
                     "method not found: \"%.64s\" (see docs/rpc.md for the list of methods)", name);
            msg_error(m, id, RPC_METHOD_NOT_FOUND, text);
        }
        return;
    }
    struct rpc_call *c = calloc(1, sizeof *c);
    if (!c) {
        if (id)
            msg_error(m, id, RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    c->msg = m;
    c->m = mt;
    c->id = id ? json_incref(id) : NULL;
    c->t0 = mx_now_ns();
    mx_counter_inc(mt->calls);
    m->pending++;
    struct rpc_session *s = m->s;
    s->inflight++;
    if (!s->paused && s->inflight >= d->lim.max_inflight) {
        s->paused = true;
        if (s->ops->flow)
            s->ops->flow(s->tctx, false);
    }
    json_t *p = params ? json_incref(params) : json_object();
    mt->fn(c, p, mt->ctx);
    json_decref(p);
}

static void reject(struct rpc_session *s, int code, const char *text)
{
    struct msg *m = calloc(1, sizeof *m);
    if (!m) {
        s->ops->reply(s->tctx, NULL, 0);
        return;
    }
    m->s = s;
    s->refs++;
    m->pending = 1;
    msg_error(m, NULL, code, text);
    msg_release(m);
}

void rpc_session_reject(struct rpc_session *s, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    reject(s, code, text);
}

int rpc_session_input(struct rpc_session *s, const char *text, size_t len)
{
    if (s->closed)
        return PLG_ECLOSED;
    struct rpc_dispatcher *d = s->d;
    mx_counter_inc(d->messages);
    char why[200];
    json_t *root = NULL;
    int rc = rpc_json_parse(text, len, &root, why, sizeof why);
    if (rc) {
        mx_counter_inc(d->parse_errors);
        char msg[300];
        snprintf(msg, sizeof msg, "parse error: %s", why);
        reject(s, rc == PLG_ENOMEM ? RPC_INTERNAL_ERROR : RPC_PARSE_ERROR, msg);
        return 0;
    }
    if (json_is_array(root)) {
        size_t n = json_array_size(root);
        if (n == 0) {
            mx_counter_inc(d->invalid);
            reject(s, RPC_INVALID_REQUEST, "invalid request: empty batch");
            json_decref(root);
            return 0;
        }
        if (n > d->lim.max_batch) {
            mx_counter_inc(d->invalid);
            char msg[160];
            snprintf(msg, sizeof msg,
                     "invalid request: batch of %zu requests exceeds the limit of %zu; split it", n,
                     d->lim.max_batch);
            reject(s, RPC_INVALID_REQUEST, msg);
            json_decref(root);
            return 0;
        }
    }
    struct msg *m = calloc(1, sizeof *m);
    if (!m) {
        json_decref(root);
        reject(s, RPC_INTERNAL_ERROR, "out of memory");
        return 0;
    }
    m->s = s;
    s->refs++;
    m->pending = 1; /* the dispatch guard */
    if (json_is_array(root)) {
        m->batch = json_array();
        if (!m->batch) {
            msg_error(m, NULL, RPC_INTERNAL_ERROR, "out of memory");
        } else {
            size_t i;
            json_t *req;
            json_array_foreach(root, i, req) dispatch_one(m, req);
        }
    } else {
        dispatch_one(m, root);
    }
    json_decref(root);
    msg_release(m);
    return 0;
}

/* ---- parameters ---- */

/* Standard-alphabet base64 without padding (the caller strips it): 4 characters → 3 bytes; a
 * final group of 2 or 3 characters gives 1 or 2 bytes. Any other character, or a final group
 * of 1, is an error. out needs len / 4 * 3 + 2 bytes. Table-driven: libsodium's decoder, which
 * is constant-time for secrets, cost 10% of a log.append. */
static int base64_decode(const char *in, size_t len, uint8_t *out, size_t *n)
{
    static const int8_t tab[256] = {
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62,
        -1, -1, -1, 63, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1, -1, 0,
        1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
        23, 24, 25, -1, -1, -1, -1, -1, -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
        39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    };
    if (len % 4 == 1)
        return PLG_EINVAL;
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0, i = 0;
    for (; i + 4 <= len; i += 4) {
        int a = tab[p[i]], b = tab[p[i + 1]], c = tab[p[i + 2]], d = tab[p[i + 3]];
        if ((a | b | c | d) < 0)
            return PLG_EINVAL;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    size_t rest = len - i;
    if (rest >= 2) {
        int a = tab[p[i]], b = tab[p[i + 1]], c = rest == 3 ? tab[p[i + 2]] : 0;
        if ((a | b | c) < 0)
            return PLG_EINVAL;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        out[o++] = (uint8_t)(v >> 16);
        if (rest == 3)
            out[o++] = (uint8_t)(v >> 8);
    }
    *n = o;
    return 0;
}

static json_t *param_get(struct rpc_call *c, json_t *params, const char *key, bool required,
                         int *rc)
{
    *rc = 0;
    json_t *v = json_object_get(params, key);
    if (!v && required) {
        rpc_error(c, RPC_INVALID_PARAMS, "missing parameter \"%s\" for %s", key, c->m->name);
        *rc = PLG_EINVAL;
    }
    return v;
}

int rpc_params_object(struct rpc_call *c, json_t *params)
{
    if (json_is_object(params))
        return 0;
    rpc_error(c, RPC_INVALID_PARAMS, "%s takes named parameters: \"params\" must be an object",
              c->m->name);
    return PLG_EINVAL;
}

int rpc_param_str(struct rpc_call *c, json_t *params, const char *key, bool required,
                  const char **out)
{
    int rc;
    json_t *v = param_get(c, params, key, required, &rc);
    if (!v)
        return rc;
    if (!json_is_string(v)) {
        rpc_error(c, RPC_INVALID_PARAMS, "parameter \"%s\" must be a string, got %s", key,
                  type_name(v));
        return PLG_EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

int rpc_param_int(struct rpc_call *c, json_t *params, const char *key, bool required, int64_t min,
                  int64_t max, int64_t *out)
{
    int rc;
    json_t *v = param_get(c, params, key, required, &rc);
    if (!v)
        return rc;
    int64_t x;
    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        long long ll = strtoll(s, &end, 10);
        if (!*s || *end || errno || json_string_length(v) != strlen(s)) {
            rpc_error(c, RPC_INVALID_PARAMS,
                      "parameter \"%s\" must be an integer or a decimal string, got \"%.40s\"", key,
                      s);
            return PLG_EINVAL;
        }
        x = ll;
    } else {
        rpc_error(c, RPC_INVALID_PARAMS, "parameter \"%s\" must be an integer, got %s", key,
                  type_name(v));
        return PLG_EINVAL;
    }
    if (x < min || x > max) {
        rpc_error(c, RPC_INVALID_PARAMS,
                  "parameter \"%s\" is %" PRId64 ", outside the allowed range [%" PRId64
                  ", %" PRId64 "]",
                  key, x, min, max);
        return PLG_EINVAL;
    }
    *out = x;
    return 0;
}

int rpc_param_base64(struct rpc_call *c, json_t *params, const char *key, bool required,
                     size_t max_len, uint8_t **out, size_t *len, bool *is_null)
{
    int rc;
    json_t *v = param_get(c, params, key, required, &rc);
    if (!v)
        return rc;
    if (json_is_null(v) && is_null) {
        *out = NULL;
        *len = 0;
        *is_null = true;
        return 0;
    }
    if (!json_is_string(v)) {
        rpc_error(c, RPC_INVALID_PARAMS, "parameter \"%s\" must be a base64 string%s, got %s", key,
                  is_null ? " or null" : "", type_name(v));
        return PLG_EINVAL;
    }
    const char *s = json_string_value(v);
    size_t sl = json_string_length(v);
    for (int pad = 0; pad < 2 && sl > 0 && s[sl - 1] == '='; pad++)
        sl--;
    size_t cap = sl / 4 * 3 + 3;
    if (sl / 4 * 3 > max_len) { /* decodes to at least that many bytes */
        rpc_error(c, RPC_TOO_LARGE, "parameter \"%s\" decodes to more than %zu bytes (the limit)",
                  key, max_len);
        return PLG_EINVAL;
    }
    uint8_t *bin = malloc(cap ? cap : 1);
    if (!bin) {
        rpc_error(c, RPC_INTERNAL_ERROR, "out of memory decoding \"%s\"", key);
        return PLG_ENOMEM;
    }
    size_t n = 0;
    if (base64_decode(s, sl, bin, &n)) {
        free(bin);
        rpc_error(c, RPC_INVALID_PARAMS, "parameter \"%s\" is not valid base64", key);
        return PLG_EINVAL;
    }
    if (n > max_len) {
        free(bin);
        rpc_error(c, RPC_TOO_LARGE, "parameter \"%s\" decodes to %zu bytes, above the limit of %zu",
                  key, n, max_len);
        return PLG_EINVAL;
    }
    *out = bin;
    *len = n;
    if (is_null)
        *is_null = false;
    return 0;
}

json_t *rpc_base64_json(const uint8_t *p, size_t len)
{
    size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char stackbuf[256];
    char *b = cap <= sizeof stackbuf ? stackbuf : malloc(cap);
    if (!b)
        return NULL;
    sodium_bin2base64(b, cap, p ? p : (const uint8_t *)"", len, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_stringn(b, cap - 1);
    if (b != stackbuf)
        free(b);
    return j;
}
