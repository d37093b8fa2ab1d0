/*
 * fuzz_jsonrpc.c — libFuzzer harness for the JSON-RPC request parser and dispatcher.
 *
 * Each input is one message fed to a session, as a transport would after framing. Methods cover
 * the parameter helpers (integers, strings, base64) and an asynchronous call finished after the
 * message, so batches, notifications and late replies are all exercised. Every reply must be
 * valid JSON: a JSON-RPC response object, or a non-empty array of them. The JSON parser itself
 * is also checked against jansson's (check_parser).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "rpc/json.h"
#include "rpc/rpc.h"

static struct rpc_call *parked[1100];
static size_t nparked;

static void check_response(json_t *r)
{
    assert(json_is_object(r));
    assert(json_is_string(json_object_get(r, "jsonrpc")));
    assert(json_object_get(r, "id"));
    assert(!json_object_get(r, "result") != !json_object_get(r, "error"));
}

static void on_reply(void *t, char *text, size_t len)
{
    (void)t;
    if (!text)
        return;
    json_t *j = json_loadb(text, len, 0, NULL);
    assert(j);
    if (json_is_array(j)) {
        assert(json_array_size(j) > 0);
        size_t i;
        json_t *r;
        json_array_foreach(j, i, r) check_response(r);
    } else {
        check_response(j);
    }
    json_decref(j);
    free(text);
}

static const struct rpc_session_ops ops = {on_reply, NULL, NULL, NULL};

static void m_params(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)ctx;
    const char *topic = "";
    int64_t partition = 0;
    uint8_t *v = NULL;
    size_t n = 0;
    bool is_null;
    if (rpc_params_object(c, params) || rpc_param_str(c, params, "topic", true, &topic) ||
        rpc_param_int(c, params, "partition", false, 0, INT32_MAX, &partition) ||
        rpc_param_base64(c, params, "value", false, 1024, &v, &n, &is_null))
        return;
    json_t *r = json_pack("{s:s, s:I, s:o}", "topic", topic, "partition", (json_int_t)partition,
                          "value", rpc_base64_json(v, n));
    free(v);
    rpc_reply(c, r);
}

static void m_later(struct rpc_call *c, json_t *params, void *ctx)
{
    (void)params;
    (void)ctx;
    parked[nparked++] = c;
}

/* Differential check of the request parser against jansson's own: same value whenever both
 * accept; nothing accepted that jansson rejects; jansson-accepted input refused only for depth
 * or for a NUL byte. */
static void check_parser(const uint8_t *data, size_t size)
{
    json_t *mine = NULL;
    char why[200];
    int rc = rpc_json_parse((const char *)data, size, &mine, why, sizeof why);
    json_t *ref = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (rc == 0) {
        assert(ref && json_equal(mine, ref));
    } else {
        /* jansson reads a NUL byte as the end of input in places; we refuse NUL outright. */
        assert(!ref || strstr(why, "nesting too deep") || memchr(data, 0, size));
    }
    json_decref(mine);
    json_decref(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parser(data, size);
    struct rpc_dispatcher *d;
    struct rpc_limits lim = {.max_batch = 1000, .max_inflight = 64};
    if (rpc_dispatcher_new(&lim, &d))
        return 0;
    rpc_register(d, "p", m_params, NULL);
    rpc_register(d, "later", m_later, NULL);
    struct rpc_session *s;
    if (rpc_session_new(d, &ops, NULL, &s) == 0) {
        nparked = 0;
        rpc_session_input(s, (const char *)data, size);
        /* Finish half the parked calls before the close and half after it. */
        size_t half = nparked / 2;
        for (size_t i = 0; i < half; i++)
            rpc_reply(parked[i], json_integer((json_int_t)i));
        rpc_session_close(s);
        for (size_t i = half; i < nparked; i++)
            rpc_error(parked[i], RPC_SERVER_ERROR, "late %zu", i);
    }
    rpc_dispatcher_free(d);
    mx_default_free();
    return 0;
}
