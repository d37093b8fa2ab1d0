/*
 * rpc_methods.c — the Obelisk JSON-RPC methods, registered into the shared rpc dispatcher so
 * `pyralog obelisk` and `pyralog server` (its embedded generator) run the same code:
 *   id.next      {count?: 1..10000, default 1}      → {ids: ["<decimal>", ...]}
 *   seq.next     {name, count?: 1..1e9, default 1}  → {name, first: "<decimal>", count}
 *   obelisk.info {}                                 → {node_id, binary: "H:P" | null, version}
 * Bad parameters get -32602 naming the parameter and the rule; overflow -32005; I/O -32000.
 * Runs on the loop thread; every call is answered before the handler returns.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "obelisk/service.h"
#include "pyralog/pyralog.h"
#include "rpc/rpc.h"

static void m_id_next(struct rpc_call *c, json_t *params, void *ctx)
{
    struct obl_service *s = ctx;
    int64_t count = 1;
    if (rpc_params_object(c, params) ||
        rpc_param_int(c, params, "count", false, 1, OBL_RPC_MAX_IDS, &count))
        return;
    uint64_t *ids = malloc((size_t)count * sizeof *ids);
    if (!ids) {
        rpc_error(c, RPC_INTERNAL_ERROR, "id.next: out of memory");
        return;
    }
    int rc = plg_scarab_next_n(obl_service_scarab(s), ids, (size_t)count);
    if (rc) {
        free(ids);
        obl_service_count_error(s);
        rpc_error_plg(c, rc, "id.next: could not issue IDs");
        return;
    }
    obl_service_count_ids(s, (uint64_t)count);
    json_t *arr = json_array();
    for (int64_t i = 0; arr && i < count; i++) {
        char d[24];
        snprintf(d, sizeof d, "%" PRIu64, ids[i]);
        json_array_append_new(arr, json_string(d));
    }
    free(ids);
    json_t *res = arr ? json_pack("{s:o}", "ids", arr) : NULL;
    if (!res) {
        rpc_error(c, RPC_INTERNAL_ERROR, "id.next: out of memory");
        return;
    }
    rpc_reply(c, res);
}

static void m_seq_next(struct rpc_call *c, json_t *params, void *ctx)
{
    struct obl_service *s = ctx;
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
    uint64_t first;
    int rc = obl_service_seq(s, name, (uint64_t)count, &first);
    if (rc) {
        obl_service_count_error(s);
        char what[128];
        snprintf(what, sizeof what, "seq.next %s", name);
        rpc_error_plg(c, rc, what);
        return;
    }
    char d[24];
    snprintf(d, sizeof d, "%" PRIu64, first);
    json_t *res =
        json_pack("{s:s, s:s, s:I}", "name", name, "first", d, "count", (json_int_t)count);
    if (!res) {
        rpc_error(c, RPC_INTERNAL_ERROR, "seq.next: out of memory");
        return;
    }
    rpc_reply(c, res);
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
