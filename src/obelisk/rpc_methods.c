/*
 * rpc_methods.c — the Obelisk JSON-RPC methods, registered into the shared rpc dispatcher so
 * `pyralog obelisk` and `pyralog server` (its embedded generator) run the same code:
 *   id.next      {count?: 1..10000, default 1}      → {ids: ["<decimal>", ...]}
 *   seq.next     {name, count?: 1..1e9, default 1}  → {name, first: "<decimal>", count}
 *   obelisk.info {}                                 → {node_id, binary: "H:P" | null, version}
 * Bad parameters get -32602 naming the parameter and the rule; overflow -32005; I/O -32000.
 * Runs on the loop thread. A call that waits for a renewal of the time floor or of a sequence's
 * lease (service.h) is parked and answered from the renewal's completion; the rpc layer keeps a
 * call valid until it is finished, also when its session closed meanwhile.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "obelisk/service.h"
#include "pyralog/pyralog.h"
#include "rpc/rpc.h"

/* A call in progress: answered now, or parked on a renewal and answered from its callback. */
struct obl_call {
    struct obl_wait w;
    struct rpc_call *c;
    struct obl_service *s;
    uint64_t count;
    char name[PLG_OBELISK_NAME_MAX + 1]; /* seq.next */
};

static struct obl_call *obl_call_new(struct rpc_call *c, struct obl_service *s, uint64_t count,
                                     void (*cb)(struct obl_wait *))
{
    struct obl_call *oc = calloc(1, sizeof *oc);
    if (!oc) {
        rpc_error(c, RPC_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    oc->c = c;
    oc->s = s;
    oc->count = count;
    oc->w.cb = cb;
    oc->w.arg = oc;
    return oc;
}

static void id_next_run(struct obl_call *oc)
{
    const struct obl_run *runs;
    size_t nruns;
    int rc = obl_service_ids(oc->s, (size_t)oc->count, &runs, &nruns, &oc->w);
    if (rc == OBL_PARKED)
        return;
    struct rpc_call *c = oc->c;
    if (rc) {
        obl_service_count_error(oc->s);
        rpc_error_plg(c, rc, "id.next: could not issue IDs");
        free(oc);
        return;
    }
    free(oc);
    json_t *arr = json_array();
    for (size_t r = 0; arr && r < nruns; r++)
        for (uint32_t i = 0; i < runs[r].len; i++) {
            char d[24];
            snprintf(d, sizeof d, "%" PRIu64, runs[r].first + i);
            json_array_append_new(arr, json_string(d));
        }
    json_t *res = arr ? json_pack("{s:o}", "ids", arr) : NULL;
    if (!res) {
        rpc_error(c, RPC_INTERNAL_ERROR, "id.next: out of memory");
        return;
    }
    rpc_reply(c, res);
}

static void id_next_wake(struct obl_wait *w)
{
    id_next_run(w->arg);
}

static void m_id_next(struct rpc_call *c, json_t *params, void *ctx)
{
    int64_t count = 1;
    if (rpc_params_object(c, params) ||
        rpc_param_int(c, params, "count", false, 1, OBL_RPC_MAX_IDS, &count))
        return;
    struct obl_call *oc = obl_call_new(c, ctx, (uint64_t)count, id_next_wake);
    if (oc)
        id_next_run(oc);
}

static void seq_next_run(struct obl_call *oc)
{
    uint64_t first;
    int rc = obl_service_seq_wait(oc->s, oc->name, oc->count, &first, &oc->w);
    if (rc == OBL_PARKED)
        return;
    struct rpc_call *c = oc->c;
    if (rc) {
        obl_service_count_error(oc->s);
        char what[128];
        snprintf(what, sizeof what, "seq.next %s", oc->name);
        free(oc);
        rpc_error_plg(c, rc, what);
        return;
    }
    char d[24];
    snprintf(d, sizeof d, "%" PRIu64, first);
    json_t *res =
        json_pack("{s:s, s:s, s:I}", "name", oc->name, "first", d, "count", (json_int_t)oc->count);
    free(oc);
    if (!res) {
        rpc_error(c, RPC_INTERNAL_ERROR, "seq.next: out of memory");
        return;
    }
    rpc_reply(c, res);
}

static void seq_next_wake(struct obl_wait *w)
{
    seq_next_run(w->arg);
}

static void m_seq_next(struct rpc_call *c, json_t *params, void *ctx)
{
    const char *name;
    int64_t count = 1;
    if (rpc_params_object(c, params) || rpc_param_str(c, params, "name", true, &name) ||
        rpc_param_int(c, params, "count", false, 1, (int64_t)OBL_MAX_SEQ_COUNT, &count))
        return;
    if (plg_obelisk_name_check(name)) {
        rpc_error(c, RPC_INVALID_PARAMS,
                  "parameter \"name\": \"%.80s\" is not a valid sequence name (1-%d characters "
                  "of [A-Za-z0-9._-], not starting with '.')",
                  name, PLG_OBELISK_NAME_MAX);
        return;
    }
    struct obl_call *oc = obl_call_new(c, ctx, (uint64_t)count, seq_next_wake);
    if (!oc)
        return;
    snprintf(oc->name, sizeof oc->name, "%s", name);
    seq_next_run(oc);
}

static void m_info(struct rpc_call *c, json_t *params, void *ctx)
{
    struct obl_service *s = ctx;
    (void)params;
    const char *b = obl_service_binary_addr(s);
    json_t *res = json_pack("{s:i, s:o, s:s}", "node_id", (int)obl_service_node(s), "binary",
                            b ? json_string(b) : json_null(), "version", plg_version());
    if (!res) {
        rpc_error(c, RPC_INTERNAL_ERROR, "obelisk.info: out of memory");
        return;
    }
    rpc_reply(c, res);
}

int obl_rpc_register(struct rpc_dispatcher *d, struct obl_service *s, int ids_only)
{
    int rc = rpc_register(d, "id.next", m_id_next, s);
    if (!rc && !ids_only)
        rc = rpc_register(d, "seq.next", m_seq_next, s);
    if (!rc && !ids_only)
        rc = rpc_register(d, "obelisk.info", m_info, s);
    return rc;
}
