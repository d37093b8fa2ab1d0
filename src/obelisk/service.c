/* service.c — the Obelisk service core: Scarab generator + named sequences, and the binary
 * request handler (see service.h). */
#include "obelisk/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/metrics.h"
#include "pyralog/pyralog.h"

struct seq_slot {
    char name[PLG_OBELISK_NAME_MAX + 1];
    plg_obelisk_t *ctr;
};

struct obl_service {
    plg_scarab_t *gen;
    char *dir; /* <data>/obelisk */
    uint64_t lease;
    struct seq_slot *seqs;
    size_t nseqs, cap;
    char *binary_addr;
    uint64_t seq_fsyncs_closed; /* fsyncs of sequence handles already closed */
    struct mx_counter *m_ids, *m_seq_values, *m_errors;
    int collector;
};

/* Metrics collector (runs in mx_render on the loop thread that owns the service). */
static void obl_collect(void *ctx, struct mx_sink *sink)
{
    struct obl_service *s = ctx;
    uint64_t fs = s->seq_fsyncs_closed + plg_scarab_fsyncs(s->gen);
    for (size_t i = 0; i < s->nseqs; i++)
        fs += plg_obelisk_fsyncs(s->seqs[i].ctr);
    mx_sink_family(sink, "pyralog_obelisk_fsyncs_total",
                   "fsyncs made to raise Obelisk counters (sequences and the Scarab time floor)",
                   MX_COUNTER);
    mx_sink_sample(sink, NULL, (double)fs);
    mx_sink_family(sink, "pyralog_obelisk_sequences_open", "named sequences open on this node",
                   MX_GAUGE);
    mx_sink_sample(sink, NULL, (double)s->nseqs);
    /* Seconds, as Prometheus names units (promtool refuses the abbreviation "ms"). */
    mx_sink_family(sink, "pyralog_obelisk_time_floor_seconds",
                   "durable Scarab time floor, seconds since 2025-01-01T00:00:00Z", MX_GAUGE);
    mx_sink_sample(sink, NULL, (double)plg_scarab_floor(s->gen) / 1000.0);
}

void obl_service_count_ids(struct obl_service *s, uint64_t n)
{
    mx_counter_add(s->m_ids, n);
}

void obl_service_count_error(struct obl_service *s)
{
    mx_counter_inc(s->m_errors);
}

static int mkdir_p1(const char *path)
{
    if (mkdir(path, 0755) && errno != EEXIST)
        return -errno;
    return 0;
}

int obl_service_open(const struct obl_service_opts *o, struct obl_service **out)
{
    *out = NULL;
    struct obl_service *s = calloc(1, sizeof *s);
    if (!s)
        return PLG_ENOMEM;
    size_t len = strlen(o->data_dir) + 16;
    s->dir = malloc(len);
    if (!s->dir) {
        free(s);
        return PLG_ENOMEM;
    }
    snprintf(s->dir, len, "%s/obelisk", o->data_dir);
    s->lease = o->seq_lease ? o->seq_lease : OBL_DEFAULT_SEQ_LEASE;
    int rc = mkdir_p1(o->data_dir);
    if (!rc)
        rc = mkdir_p1(s->dir);
    struct plg_scarab_opts so = {.node_id = o->node_id, .clock = o->clock};
    if (!rc)
        rc = plg_scarab_open(s->dir, &so, &s->gen);
    if (rc) {
        obl_service_close(s);
        return rc;
    }
    struct mx_registry *r = mx_default();
    s->m_ids = mx_counter_get(r, "pyralog_obelisk_ids_total", "Scarab IDs handed out", NULL);
    s->m_seq_values = mx_counter_get(r, "pyralog_obelisk_sequence_values_total",
                                     "named-sequence values handed out", NULL);
    s->m_errors = mx_counter_get(r, "pyralog_obelisk_errors_total",
                                 "Obelisk requests answered with an error", NULL);
    s->collector = mx_collector_add(r, obl_collect, s) == 0;
    *out = s;
    return 0;
}

void obl_service_close(struct obl_service *s)
{
    if (!s)
        return;
    if (s->collector)
        mx_collector_remove(mx_default(), obl_collect, s);
    for (size_t i = 0; i < s->nseqs; i++)
        plg_obelisk_close(s->seqs[i].ctr);
    free(s->seqs);
    plg_scarab_close(s->gen);
    free(s->binary_addr);
    free(s->dir);
    free(s);
}

unsigned obl_service_node(const struct obl_service *s)
{
    return plg_scarab_node(s->gen);
}

plg_scarab_t *obl_service_scarab(struct obl_service *s)
{
    return s->gen;
}

const char *obl_service_binary_addr(const struct obl_service *s)
{
    return s->binary_addr;
}

int obl_service_set_binary_addr(struct obl_service *s, const char *addr)
{
    char *dup = addr ? strdup(addr) : NULL;
    if (addr && !dup)
        return PLG_ENOMEM;
    free(s->binary_addr);
    s->binary_addr = dup;
    return 0;
}

static int seq_lookup(struct obl_service *s, const char *name, plg_obelisk_t **out, size_t *slot_i)
{
    for (size_t i = 0; i < s->nseqs; i++)
        if (!strcmp(s->seqs[i].name, name)) {
            *out = s->seqs[i].ctr;
            *slot_i = i;
            return 0;
        }
    if (s->nseqs == OBL_MAX_OPEN_SEQS)
        return PLG_ETOOBIG;
    if (s->nseqs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct seq_slot *n = realloc(s->seqs, cap * sizeof *n);
        if (!n)
            return PLG_ENOMEM;
        s->seqs = n;
        s->cap = cap;
    }
    struct plg_obelisk_opts co = {.lease = s->lease};
    plg_obelisk_t *c;
    int rc = plg_obelisk_open(s->dir, name, &co, &c);
    if (rc)
        return rc;
    struct seq_slot *slot = &s->seqs[s->nseqs++];
    snprintf(slot->name, sizeof slot->name, "%s", name);
    slot->ctr = c;
    *out = c;
    *slot_i = s->nseqs - 1;
    return 0;
}

/* What to do with a sequence handle after a failed request, from the handle's own sticky state
 * (not from the numeric range of the code): a handle that still works (the request was refused:
 * bad count, overflow) is kept; a handle failed by the file system (read-only, full, I/O error,
 * or any other errno of stat/ftruncate/fsync) is dropped so a later request reopens the file at
 * its durable size once the file system is back; a handle that found the file tampered with is
 * kept failed, since reopening would trust the shrunk or replaced file. */
static int seq_drop_failed(int failed)
{
    switch (failed) {
    case 0:
    case PLG_ETAMPERED:
        return 0;
    default:
        return 1;
    }
}

int obl_service_seq(struct obl_service *s, const char *name, uint64_t n, uint64_t *first)
{
    if (plg_obelisk_name_check(name))
        return PLG_EINVAL;
    if (n == 0 || n > OBL_MAX_SEQ_COUNT)
        return PLG_ERANGE;
    plg_obelisk_t *c = NULL;
    size_t i = 0;
    int rc = seq_lookup(s, name, &c, &i);
    if (!rc)
        rc = plg_obelisk_next(c, n, first);
    if (!rc)
        mx_counter_add(s->m_seq_values, n);
    if (c && seq_drop_failed(plg_obelisk_failed(c))) {
        s->seq_fsyncs_closed += plg_obelisk_fsyncs(c);
        plg_obelisk_close(c);
        s->seqs[i] = s->seqs[--s->nseqs];
    }
    if (rc && rc != PLG_EOVERFLOW)
        PLG_WARN("obelisk", "msg=\"sequence failed\" name=%s count=%llu err=\"%s\"", name,
                 (unsigned long long)n, plg_strerror(rc));
    return rc;
}

static void handle_ids(struct obl_service *s, const struct obl_req *rq, struct buf *out)
{
    size_t start = out->len;
    size_t f = obl_resp_begin(out, OBL_OP_IDS, rq->req_id, OBL_ST_OK);
    buf_be32(out, (uint32_t)rq->count);
    size_t nruns_at = out->len;
    buf_be16(out, 0);
    uint16_t nruns = 0;
    size_t done = 0;
    while (done < rq->count) {
        uint64_t first;
        size_t got;
        int rc = plg_scarab_next_run(s->gen, rq->count - done, &first, &got);
        if (rc || nruns == OBL_MAX_RUNS) {
            out->len = start;
            char msg[160];
            snprintf(msg, sizeof msg, "could not issue IDs: %s",
                     rc ? plg_strerror(rc) : "too many runs");
            obl_resp_error_encode(out, OBL_OP_IDS, rq->req_id, obl_status_from_rc(rc), msg);
            obl_service_count_error(s);
            return;
        }
        buf_be64(out, first);
        buf_be32(out, (uint32_t)got);
        nruns++;
        done += got;
    }
    if (!out->oom)
        be16_put(out->data + nruns_at, nruns);
    obl_resp_end(out, f);
    obl_service_count_ids(s, rq->count);
}

void obl_service_handle(struct obl_service *s, const uint8_t *body, size_t len, struct buf *out)
{
    struct obl_req rq;
    uint8_t st;
    const char *msg;
    if (obl_req_decode(body, len, &rq, &st, &msg)) {
        obl_resp_error_encode(out, rq.op, rq.req_id, st, msg);
        obl_service_count_error(s);
        return;
    }
    switch (rq.op) {
    case OBL_OP_IDS:
        handle_ids(s, &rq, out);
        break;
    case OBL_OP_SEQ: {
        uint64_t first;
        int rc = obl_service_seq(s, rq.name, rq.count, &first);
        if (rc) {
            char m[200];
            snprintf(m, sizeof m, "sequence %s: %s", rq.name, plg_strerror(rc));
            obl_resp_error_encode(out, OBL_OP_SEQ, rq.req_id, obl_status_from_rc(rc), m);
            obl_service_count_error(s);
            break;
        }
        size_t f = obl_resp_begin(out, OBL_OP_SEQ, rq.req_id, OBL_ST_OK);
        buf_be64(out, first);
        buf_be64(out, rq.count);
        obl_resp_end(out, f);
        break;
    }
    default: { /* OBL_OP_INFO */
        size_t f = obl_resp_begin(out, OBL_OP_INFO, rq.req_id, OBL_ST_OK);
        buf_u8(out, OBL_PROTO_VERSION);
        buf_be16(out, (uint16_t)obl_service_node(s));
        obl_resp_end(out, f);
        break;
    }
    }
}
