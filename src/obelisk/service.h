/*
 * service.h — the Obelisk service: one Scarab generator plus the named sequences of a data
 * directory, and the two ways to reach it over the network.
 *
 * What it owns: `<data>/obelisk/` (scarab.floor and <name>.obelisk files), the open counter
 * handles (opened on first use, kept open), the binary-protocol listener and its connections.
 * The JSON-RPC methods (id.next, seq.next, obelisk.info) are registered into the shared rpc
 * dispatcher by obl_rpc_register(), so `pyralog obelisk` and `pyralog server` run the same code.
 *
 * Thread model: everything here runs on one thread (the libuv loop thread of the process). With
 * a loop (opts.loop) the fsync-bearing work — raising the Scarab time floor, renewing a
 * sequence's lease, creating/opening a sequence file — runs on libuv's thread pool
 * (uv_queue_work) and never on the loop: renewals start ahead (when half a lease or half a
 * floor window is left), so requests rarely wait; a request that must wait is parked (struct
 * obl_wait) and its callback runs on the loop when the renewal is done. Nothing is handed out
 * before the fsync that covers it succeeded. Without a loop (tools, the embedded generator of
 * `pyralog server` unless given one) the same work runs inline and nothing is ever parked.
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
    uv_loop_t *loop;               /* renewals on its thread pool; NULL → inline */
    const struct plg_obelisk_io *io; /* fault injection (slow or failing fsync); NULL → real */
};

struct obl_waitq;

/* The answer "this request waits for a renewal" (loop mode). */
#define OBL_PARKED 1

/* A parked request. The caller embeds it in its request state, sets cb (and arg), and keeps it
 * alive until cb has run or obl_service_cancel() took it back. cb runs on the loop thread when
 * the renewal it waited for is done: call the same service function again with the same wait
 * (it then answers, parks again, or returns the renewal's error, which w->rc carries). */
struct obl_wait {
    void (*cb)(struct obl_wait *w);
    void *arg;
    int rc; /* set before cb: 0, or the renewal's error (the next call returns and clears it) */
    /* private to the service */
    struct obl_wait *next, *prev;
    struct obl_waitq *q;
};

/* Opens the service (creates directories, opens the Scarab floor). Free with
 * obl_service_close(), after the loop ran until no renewal is in flight (uv_run returned).
 * Errors as plg_scarab_open, -errno for directories. */
int obl_service_open(const struct obl_service_opts *o, struct obl_service **out);
void obl_service_close(struct obl_service *s);
unsigned obl_service_node(const struct obl_service *s);
plg_scarab_t *obl_service_scarab(struct obl_service *s);
/* The binary-protocol address that obelisk.info reports ("H:P", copied), or NULL. */
int obl_service_set_binary_addr(struct obl_service *s, const char *addr);
const char *obl_service_binary_addr(const struct obl_service *s);

/* n values of sequence `name` (opened or created on first use). PLG_EINVAL for a bad name,
 * PLG_ERANGE for n outside [1, OBL_MAX_SEQ_COUNT], PLG_ETOOBIG when OBL_MAX_OPEN_SEQS sequences
 * are open already; otherwise as plg_obelisk_next. With a loop and a wait: OBL_PARKED while the
 * sequence's file is being created/opened or its lease renewed (see struct obl_wait). Without a
 * wait (or a loop) the I/O runs inline on the caller's thread. */
int obl_service_seq_wait(struct obl_service *s, const char *name, uint64_t n, uint64_t *first,
                         struct obl_wait *w);
/* obl_service_seq_wait without a wait: for tools without a loop. */
int obl_service_seq(struct obl_service *s, const char *name, uint64_t n, uint64_t *first);

/* n (1..OBL_MAX_IDS) Scarab IDs as runs of consecutive IDs: *runs (the service's scratch, valid
 * until the next call) holds *nruns runs whose lengths sum to n. With a loop and a wait:
 * OBL_PARKED while the time floor is raised (IDs of a batch cut short by that are dropped:
 * unique, never issued). Errors: PLG_ERANGE (n), PLG_ETOOBIG (more than OBL_MAX_RUNS runs), as
 * plg_scarab_next_run. */
int obl_service_ids(struct obl_service *s, size_t n, const struct obl_run **runs, size_t *nruns,
                    struct obl_wait *w);

/* Takes back a parked request (its cb will not run). No-op when w is not parked. */
void obl_service_cancel(struct obl_service *s, struct obl_wait *w);

/* Metrics: Scarab IDs handed out by a front end, and requests answered with an error. The
 * service also exports pyralog_obelisk_sequence_values_total, _fsyncs_total, _sequences_open and
 * _time_floor_seconds in the default registry (mx_default()). */
void obl_service_count_ids(struct obl_service *s, uint64_t n);
void obl_service_count_error(struct obl_service *s);

/* Answers one binary-protocol request body: appends exactly one response frame to out and
 * returns 0, or returns OBL_PARKED (nothing appended) when the request waits for a renewal;
 * call again with the same body and wait after w->cb ran. w may be NULL without a loop. */
int obl_service_handle(struct obl_service *s, const uint8_t *body, size_t len, struct buf *out,
                       struct obl_wait *w);

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
