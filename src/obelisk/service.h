/*
 * service.h — the Obelisk service: one Scarab generator plus the named sequences of a data
 * directory, and the two ways to reach it over the network.
 *
 * What it owns: `<data>/obelisk/` (scarab.floor and <name>.obelisk files), the open counter
 * handles (opened on first use, kept open), the binary-protocol listener and its connections.
 * The JSON-RPC methods (id.next, seq.next, obelisk.info) are registered into the shared rpc
 * dispatcher by obl_rpc_register(), so `pyralog obelisk` and `pyralog server` run the same code.
 *
 * Thread model: everything here runs on one thread (the libuv loop thread of the process).
 * Depends on src/base, libuv, and (for obl_rpc_register only) src/rpc.
 */
#ifndef PLG_OBELISK_SERVICE_H
#define PLG_OBELISK_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "obelisk/proto.h"
#include "pyralog/obelisk.h"

#define OBL_RPC_MAX_IDS 10000 /* id.next count limit over JSON-RPC */
#define OBL_DEFAULT_SEQ_LEASE 1000
#define OBL_MAX_OPEN_SEQS 4096

struct obl_service;

struct obl_service_opts {
    const char *data_dir;          /* <data_dir>/obelisk/ is created when missing */
    unsigned node_id;              /* 0..1023 */
    uint64_t seq_lease;            /* values per fsync for sequences; 0 → OBL_DEFAULT_SEQ_LEASE */
    const struct plg_clock *clock; /* NULL → real time */
};

/* Opens the service (creates directories, opens the Scarab floor). Free with
 * obl_service_close(). Errors as plg_scarab_open, -errno for directories. */
int obl_service_open(const struct obl_service_opts *o, struct obl_service **out);
void obl_service_close(struct obl_service *s);
unsigned obl_service_node(const struct obl_service *s);
plg_scarab_t *obl_service_scarab(struct obl_service *s);
/* The binary-protocol address that obelisk.info reports ("H:P", copied), or NULL. */
int obl_service_set_binary_addr(struct obl_service *s, const char *addr);
const char *obl_service_binary_addr(const struct obl_service *s);

/* n values of sequence `name` (opened or created on first use). PLG_EINVAL for a bad name,
 * PLG_ERANGE for n outside [1, OBL_MAX_SEQ_COUNT], PLG_ETOOBIG when OBL_MAX_OPEN_SEQS sequences
 * are open already; otherwise as plg_obelisk_next. */
int obl_service_seq(struct obl_service *s, const char *name, uint64_t n, uint64_t *first);

/* Metrics: Scarab IDs handed out by a front end, and requests answered with an error. The
 * service also exports pyralog_obelisk_sequence_values_total, _fsyncs_total, _sequences_open and
 * _time_floor_seconds in the default registry (mx_default()). */
void obl_service_count_ids(struct obl_service *s, uint64_t n);
void obl_service_count_error(struct obl_service *s);

/* Answers one binary-protocol request body: appends exactly one response frame to out. */
void obl_service_handle(struct obl_service *s, const uint8_t *body, size_t len, struct buf *out);

/* ---- binary protocol listener on a libuv loop ---- */
struct obl_bin_server;

/* Listens on host:port (port 0 = any; obl_bin_port() tells). Free with obl_bin_close() and
 * then run the loop until the handles are closed. */
int obl_bin_listen(uv_loop_t *loop, struct obl_service *s, const char *host, int port,
                   struct obl_bin_server **out);
int obl_bin_port(const struct obl_bin_server *b);
void obl_bin_close(struct obl_bin_server *b);

/* ---- JSON-RPC methods ---- */
struct rpc_dispatcher;
/* Registers id.next {count?} → {ids:[decimal strings]}, and unless ids_only also
 * seq.next {name, count} → {name, first, count} and obelisk.info {} → {node_id, binary}
 * (binary = obl_service_binary_addr or null). s must outlive the dispatcher. */
int obl_rpc_register(struct rpc_dispatcher *d, struct obl_service *s, int ids_only);

#endif
