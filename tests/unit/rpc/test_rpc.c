/* JSON-RPC dispatcher: requests, notifications, batches, every standard error, async calls,
 * sessions closing with calls pending, flow control, parameter helpers, push. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/metrics.h"
#include "rpc/rpc.h"

/* A transport that records what the session sends. */
struct tr {
    char *replies[64];
    int nreplies;
    int empty_replies;
    char *pushes[16];
    int npushes;
    int flow_off, flow_on;
};

static void tr_reply(void *t, char *text, size_t len)
{
    struct tr *tr = t;
    if (!text) {
        tr->empty_replies++;
        return;
    }
    assert_int_equal(strlen(text), len);
    assert_true(tr->nreplies < 64);
    tr->replies[tr->nreplies++] = text;
}

static int tr_push(void *t, char *text, size_t len)
{
    struct tr *tr = t;
    (void)len;
    assert_true(tr->npushes < 16);
    tr->pushes[tr->npushes++] = text;
    return 0;
}

static void tr_flow(void *t, bool allow)
{
    struct tr *tr = t;
    if (allow)
        tr->flow_on++;
    else
        tr->flow_off++;
}

static const struct rpc_session_ops ops = {tr_reply, tr_push, NULL, tr_flow};

static void tr_free(struct tr *tr)
{
    for (int i = 0; i < tr->nreplies; i++)
        free(tr->replies[i]);
    for (int i = 0; i < tr->npushes; i++)
        free(tr->pushes[i]);
    memset(tr, 0, sizeof *tr);
}

/* Methods used by the tests. */
static void m_add(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)ctx;
    int64_t a, b = 0;
    if (rpc_params_object(c, params) || rpc_param_int(c, params, "a", true, -1000, 1000, &a) ||
        rpc_param_int(c, params, "b", false, -1000, 1000, &b))
        return;
    rpc_reply(c, json_integer(a + b));
}

static struct rpc_call *parked[8];
static int nparked;

static void m_later(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)params;
    (void)ctx;
    parked[nparked++] = c;
}

static void m_fail(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)params;
    (void)ctx;
    rpc_error_plg(c, PLG_ENOTFOUND, "topic \"t\"");
}

static void m_echo_b64(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)ctx;
    uint8_t *v;
    size_t n;
    bool is_null;
    if (rpc_params_object(c, params) || rpc_param_base64(c, params, "v", true, 8, &v, &n, &is_null))
        return;
    json_t *r = is_null ? json_null() : rpc_base64_json(v, n);
    free(v);
    rpc_reply(c, r);
}

static struct rpc_dispatcher *setup(size_t max_inflight)
{
    struct rpc_dispatcher *d;
    struct rpc_limits lim = {.max_batch = 4, .max_inflight = max_inflight};
    assert_int_equal(rpc_dispatcher_new(&lim, &d), 0);
    assert_int_equal(rpc_register(d, "add", m_add, NULL), 0);
    assert_int_equal(rpc_register(d, "later", m_later, NULL), 0);
    assert_int_equal(rpc_register(d, "fail", m_fail, NULL), 0);
    assert_int_equal(rpc_register(d, "b64", m_echo_b64, NULL), 0);
    assert_int_equal(rpc_register(d, "add", m_add, NULL), PLG_EEXIST);
    assert_int_equal(rpc_register(d, "rpc.x", m_add, NULL), PLG_EINVAL);
    return d;
}

/* Sends text, expects exactly one reply equal to want (compared as JSON). */
static void expect(struct rpc_session *s, struct tr *tr, const char *text, const char *want)
{
    int before = tr->nreplies;
    assert_int_equal(rpc_session_input(s, text, strlen(text)), 0);
    assert_int_equal(tr->nreplies, before + 1);
    json_t *got = json_loads(tr->replies[before], 0, NULL);
    json_t *exp = json_loads(want, 0, NULL);
    assert_non_null(got);
    assert_non_null(exp);
    if (!json_equal(got, exp))
        fail_msg("for %s\n got  %s\n want %s", text, tr->replies[before], want);
    json_decref(got);
    json_decref(exp);
}

/* Expects one error reply with the given code and id (JSON text), message containing needle. */
static void expect_error(struct rpc_session *s, struct tr *tr, const char *text, int code,
                         const char *id, const char *needle)
{
    int before = tr->nreplies;
    assert_int_equal(rpc_session_input(s, text, strlen(text)), 0);
    assert_int_equal(tr->nreplies, before + 1);
    json_t *got = json_loads(tr->replies[before], 0, NULL);
    assert_non_null(got);
    json_t *e = json_object_get(got, "error");
    if (!e || json_integer_value(json_object_get(e, "code")) != code)
        fail_msg("for %s: want code %d, got %s", text, code, tr->replies[before]);
    json_t *want_id = json_loads(id, JSON_DECODE_ANY, NULL);
    assert_true(json_equal(json_object_get(got, "id"), want_id));
    assert_string_equal(json_string_value(json_object_get(got, "jsonrpc")), "2.0");
    const char *m = json_string_value(json_object_get(e, "message"));
    if (!m || !strstr(m, needle))
        fail_msg("for %s: message %s lacks \"%s\"", text, m ? m : "(none)", needle);
    json_decref(want_id);
    json_decref(got);
}

static void test_requests_and_errors(void **state)
{
    (void)state;
    struct rpc_dispatcher *d = setup(100);
    struct tr tr = {0};
    struct rpc_session *s;
    assert_int_equal(rpc_session_new(d, &ops, &tr, &s), 0);

    expect(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":{\"a\":2,\"b\":3}}",
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":5}");
    expect(s, &tr,
           "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"add\",\"params\":{\"a\":\"-7\"}}",
           "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":-7}");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\"", RPC_PARSE_ERROR,
                 "null", "parse error");
    expect_error(s, &tr, "\xff\xfe", RPC_PARSE_ERROR, "null", "parse error");
    expect_error(s, &tr, "42", RPC_INVALID_REQUEST, "null", "expected a JSON object");
    expect_error(s, &tr, "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"add\"}", RPC_INVALID_REQUEST,
                 "3", "\"jsonrpc\"");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":5}", RPC_INVALID_REQUEST, "4",
                 "\"method\"");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"add\"}", RPC_INVALID_REQUEST,
                 "null", "\"id\"");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"add\",\"params\":3}",
                 RPC_INVALID_REQUEST, "5", "\"params\"");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"nope\"}", RPC_METHOD_NOT_FOUND,
                 "6", "\"nope\"");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"add\",\"params\":[1]}",
                 RPC_INVALID_PARAMS, "7", "must be an object");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"add\",\"params\":{}}",
                 RPC_INVALID_PARAMS, "8", "missing parameter \"a\"");
    expect_error(s, &tr,
                 "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"add\",\"params\":{\"a\":true}}",
                 RPC_INVALID_PARAMS, "9", "must be an integer, got boolean");
    expect_error(s, &tr,
                 "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"add\",\"params\":{\"a\":\"1x\"}}",
                 RPC_INVALID_PARAMS, "9", "decimal string");
    expect_error(s, &tr,
                 "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"add\",\"params\":{\"a\":5000}}",
                 RPC_INVALID_PARAMS, "10", "outside the allowed range");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"fail\"}", RPC_NOT_FOUND, "11",
                 "topic \"t\": not found");
    expect_error(s, &tr, "[]", RPC_INVALID_REQUEST, "null", "empty batch");
    expect_error(s, &tr, "[1,2,3,4,5]", RPC_INVALID_REQUEST, "null", "limit of 4");

    /* Notifications: no reply at all, even for unknown methods; the transport hears "nothing". */
    int empty = tr.empty_replies;
    const char *n1 = "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":1}}";
    const char *n2 = "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}";
    int before = tr.nreplies;
    assert_int_equal(rpc_session_input(s, n1, strlen(n1)), 0);
    assert_int_equal(rpc_session_input(s, n2, strlen(n2)), 0);
    assert_int_equal(tr.nreplies, before);
    assert_int_equal(tr.empty_replies, empty + 2);

    /* A batch: responses for requests and errors, none for the notification. */
    before = tr.nreplies;
    const char *batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":{\"a\":1}},"
                        "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":1}},"
                        "7,"
                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]";
    assert_int_equal(rpc_session_input(s, batch, strlen(batch)), 0);
    assert_int_equal(tr.nreplies, before + 1);
    json_t *arr = json_loads(tr.replies[before], 0, NULL);
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "result")), 1);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(json_array_get(arr, 1), "error"), "code")),
                     RPC_INVALID_REQUEST);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(json_array_get(arr, 2), "error"), "code")),
                     RPC_METHOD_NOT_FOUND);
    json_decref(arr);

    /* A rejected message (the transport refused it) gets a single error reply. */
    before = tr.nreplies;
    rpc_session_reject(s, RPC_TOO_LARGE, "message of %d bytes exceeds %d", 10, 5);
    assert_int_equal(tr.nreplies, before + 1);
    assert_non_null(strstr(tr.replies[before], "-32004"));

    rpc_session_close(s);
    tr_free(&tr);
    rpc_dispatcher_free(d);
    mx_default_free();
}

static void test_base64(void **state)
{
    (void)state;
    struct rpc_dispatcher *d = setup(100);
    struct tr tr = {0};
    struct rpc_session *s;
    assert_int_equal(rpc_session_new(d, &ops, &tr, &s), 0);
    expect(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":\"aGk=\"}}",
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"aGk=\"}");
    expect(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":\"aGk\"}}",
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"aGk=\"}");
    expect(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":\"\"}}",
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\"}");
    expect(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":null}}",
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
    expect_error(s, &tr,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":\"a*b\"}}",
                 RPC_INVALID_PARAMS, "1", "not valid base64");
    expect_error(s, &tr,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":\"aGk===\"}}",
                 RPC_INVALID_PARAMS, "1", "not valid base64");
    expect_error(s, &tr,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":\"aGlaa\"}}",
                 RPC_INVALID_PARAMS, "1", "not valid base64");
    expect(s, &tr,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":\"/+/+AAE=\"}}",
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"/+/+AAE=\"}");
    expect_error(s, &tr, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":3}}",
                 RPC_INVALID_PARAMS, "1", "base64 string or null");
    expect_error(s, &tr,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"b64\",\"params\":{\"v\":"
                 "\"AAAAAAAAAAAAAAAA\"}}",
                 RPC_TOO_LARGE, "1", "limit");
    rpc_session_close(s);
    tr_free(&tr);
    rpc_dispatcher_free(d);
    mx_default_free();
}

static void test_async_flow_and_close(void **state)
{
    (void)state;
    struct rpc_dispatcher *d = setup(4);
    struct tr tr = {0};
    struct rpc_session *s;
    assert_int_equal(rpc_session_new(d, &ops, &tr, &s), 0);
    nparked = 0;
    char req[128];
    for (int i = 0; i < 4; i++) {
        snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"later\"}", i);
        assert_int_equal(rpc_session_input(s, req, strlen(req)), 0);
    }
    assert_int_equal(nparked, 4);
    assert_int_equal(tr.nreplies, 0);
    assert_int_equal(rpc_session_inflight(s), 4);
    assert_int_equal(tr.flow_off, 1); /* reached max_inflight */
    /* Answer out of order: each reply goes out when its call finishes. */
    rpc_reply(parked[2], json_string("two"));
    assert_int_equal(tr.nreplies, 1);
    assert_non_null(strstr(tr.replies[0], "\"id\":2"));
    assert_int_equal(tr.flow_on, 0);
    rpc_reply(parked[0], NULL);
    assert_int_equal(tr.flow_on, 1); /* back to half */
    assert_non_null(strstr(tr.replies[1], "\"result\":null"));
    assert_non_null(rpc_call_session(parked[1]));
    /* A batch with one async call is answered only when it finishes. */
    const char *b = "[{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"later\"},"
                    "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"add\",\"params\":{\"a\":1}}]";
    assert_int_equal(rpc_session_input(s, b, strlen(b)), 0);
    assert_int_equal(tr.nreplies, 2);
    rpc_reply(parked[4], json_true());
    assert_int_equal(tr.nreplies, 3);
    assert_non_null(strstr(tr.replies[2], "\"id\":7"));
    assert_non_null(strstr(tr.replies[2], "\"id\":8"));
    /* The connection closes with two calls pending: they finish later, replies dropped, no leak
     * (ASan checks). */
    rpc_session_close(s);
    assert_null(rpc_call_session(parked[1]));
    rpc_reply(parked[1], json_true());
    rpc_error(parked[3], RPC_SERVER_ERROR, "late");
    assert_int_equal(tr.nreplies, 3);
    tr_free(&tr);
    rpc_dispatcher_free(d);
    mx_default_free();
}

struct sub {
    struct rpc_attach a;
    int drains, closes;
};

static void on_drain(struct rpc_attach *a)
{
    ((struct sub *)a)->drains++;
}

static void on_close(struct rpc_attach *a)
{
    ((struct sub *)a)->closes++;
}

static void test_push_and_attach(void **state)
{
    (void)state;
    struct rpc_dispatcher *d = setup(10);
    struct tr tr = {0};
    struct rpc_session *s;
    assert_int_equal(rpc_session_new(d, &ops, &tr, &s), 0);
    assert_true(rpc_session_can_push(s));
    struct sub x = {.a = {.on_drain = on_drain, .on_close = on_close}};
    struct sub y = {.a = {.on_drain = on_drain, .on_close = on_close}};
    rpc_session_attach(s, &x.a);
    rpc_session_attach(s, &y.a);
    assert_int_equal(rpc_session_attached(s), 2);
    assert_int_equal(rpc_session_push(s, "log.records", json_pack("{s:i}", "subscription", 1)), 0);
    assert_int_equal(tr.npushes, 1);
    json_t *n = json_loads(tr.pushes[0], 0, NULL);
    assert_string_equal(json_string_value(json_object_get(n, "method")), "log.records");
    assert_null(json_object_get(n, "id"));
    json_decref(n);
    rpc_session_drained(s);
    assert_int_equal(x.drains, 1);
    assert_int_equal(y.drains, 1);
    rpc_session_detach(s, &y.a);
    rpc_session_detach(s, &y.a); /* idempotent */
    assert_int_equal(rpc_session_attached(s), 1);
    rpc_session_drained(s);
    assert_int_equal(x.drains, 2);
    assert_int_equal(y.drains, 1);
    rpc_session_close(s);
    assert_int_equal(x.closes, 1);
    assert_int_equal(y.closes, 0);

    /* Without push support (HTTP), push is refused. */
    static const struct rpc_session_ops http_ops = {tr_reply, NULL, NULL, NULL};
    assert_int_equal(rpc_session_new(d, &http_ops, &tr, &s), 0);
    assert_false(rpc_session_can_push(s));
    assert_int_equal(rpc_session_push(s, "x", json_object()), PLG_EUNSUPP);
    rpc_session_close(s);
    tr_free(&tr);
    rpc_dispatcher_free(d);
    mx_default_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_and_errors),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_async_flow_and_close),
        cmocka_unit_test(test_push_and_attach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
