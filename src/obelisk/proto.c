/* proto.c — Obelisk binary protocol codec (format in proto.h and docs/obelisk.md). Pure. */
#include "obelisk/proto.h"

#include <string.h>

#include "base/bytes.h"
#include "pyralog/pyralog.h"

int obl_frame(const uint8_t *p, size_t len, size_t max, const uint8_t **body, size_t *body_len,
              size_t *consumed)
{
    if (len < 4)
        return PLG_ETRUNC;
    uint32_t n = be32_get(p);
    if (n == 0)
        return PLG_ECORRUPT;
    if (n > max)
        return PLG_ETOOBIG;
    if (len - 4 < n)
        return PLG_ETRUNC;
    *body = p + 4;
    *body_len = n;
    *consumed = 4 + (size_t)n;
    return 0;
}

int obl_req_decode(const uint8_t *p, size_t len, struct obl_req *out, uint8_t *status,
                   const char **msg)
{
    struct rd r;
    rd_init(&r, p, len);
    memset(out, 0, sizeof *out);
    *status = OBL_ST_BAD_REQUEST;
    if (rd_u8(&r, &out->op) || rd_be32(&r, &out->req_id)) {
        out->req_id = 0;
        *msg = "request shorter than its 5-byte header (op, request id)";
        return PLG_ETRUNC;
    }
    switch (out->op) {
    case OBL_OP_IDS: {
        uint32_t n;
        if (rd_be32(&r, &n)) {
            *msg = "IDS request without its count";
            return PLG_ETRUNC;
        }
        out->count = n;
        if (n == 0 || n > OBL_MAX_IDS) {
            *status = OBL_ST_BAD_COUNT;
            *msg = "count must be between 1 and 65536";
            return PLG_ERANGE;
        }
        break;
    }
    case OBL_OP_SEQ: {
        uint8_t nlen;
        const uint8_t *name;
        if (rd_be64(&r, &out->count) || rd_u8(&r, &nlen) || rd_bytes(&r, &name, nlen)) {
            *msg = "SEQ request truncated (count, name length, name)";
            return PLG_ETRUNC;
        }
        if (out->count == 0 || out->count > OBL_MAX_SEQ_COUNT) {
            *status = OBL_ST_BAD_COUNT;
            *msg = "count must be between 1 and 1000000000";
            return PLG_ERANGE;
        }
        if (nlen > PLG_OBELISK_NAME_MAX || memchr(name, 0, nlen)) {
            *status = OBL_ST_BAD_NAME;
            *msg = "sequence names are 1-64 characters of [A-Za-z0-9._-], not starting with '.'";
            return PLG_EINVAL;
        }
        memcpy(out->name, name, nlen);
        out->name[nlen] = 0;
        if (plg_obelisk_name_check(out->name)) {
            *status = OBL_ST_BAD_NAME;
            *msg = "sequence names are 1-64 characters of [A-Za-z0-9._-], not starting with '.'";
            return PLG_EINVAL;
        }
        break;
    }
    case OBL_OP_INFO:
        break;
    default:
        *status = OBL_ST_UNKNOWN_OP;
        *msg = "unknown op (1 = IDS, 2 = SEQ, 3 = INFO)";
        return PLG_EUNSUPP;
    }
    if (rd_left(&r)) {
        *msg = "trailing bytes after the request";
        return PLG_ECORRUPT;
    }
    *status = OBL_ST_OK;
    *msg = NULL;
    return 0;
}

int obl_resp_decode(const uint8_t *p, size_t len, struct obl_resp *out)
{
    struct rd r;
    rd_init(&r, p, len);
    memset(out, 0, sizeof *out);
    uint8_t op;
    if (rd_u8(&r, &op) || rd_be32(&r, &out->req_id) || rd_u8(&r, &out->status))
        return PLG_ETRUNC;
    if (!(op & 0x80))
        return PLG_ECORRUPT;
    out->op = op & 0x7f;
    if (out->status != OBL_ST_OK) {
        uint16_t mlen;
        const uint8_t *m;
        if (rd_be16(&r, &mlen) || rd_bytes(&r, &m, mlen))
            return PLG_ETRUNC;
        size_t keep = mlen < sizeof out->message - 1 ? mlen : sizeof out->message - 1;
        memcpy(out->message, m, keep);
        out->message[keep] = 0;
    } else if (out->op == OBL_OP_IDS) {
        if (rd_be32(&r, &out->count) || rd_be16(&r, &out->nruns))
            return PLG_ETRUNC;
        if (out->count == 0 || out->count > OBL_MAX_IDS || out->nruns == 0 ||
            out->nruns > OBL_MAX_RUNS)
            return PLG_ECORRUPT;
        if (rd_bytes(&r, &out->runs, (size_t)out->nruns * 12))
            return PLG_ETRUNC;
        uint64_t total = 0;
        for (size_t i = 0; i < out->nruns; i++) {
            struct obl_run run = obl_resp_run(out, i);
            if (run.len == 0 || run.first > UINT64_MAX - run.len)
                return PLG_ECORRUPT;
            total += run.len;
        }
        if (total != out->count)
            return PLG_ECORRUPT;
    } else if (out->op == OBL_OP_SEQ) {
        if (rd_be64(&r, &out->seq_first) || rd_be64(&r, &out->seq_count))
            return PLG_ETRUNC;
        if (out->seq_count == 0 || out->seq_first > UINT64_MAX - out->seq_count)
            return PLG_ECORRUPT;
    } else if (out->op == OBL_OP_INFO) {
        if (rd_u8(&r, &out->version) || rd_be16(&r, &out->node_id))
            return PLG_ETRUNC;
    } else {
        return PLG_ECORRUPT;
    }
    return rd_left(&r) ? PLG_ECORRUPT : 0;
}

struct obl_run obl_resp_run(const struct obl_resp *r, size_t i)
{
    struct obl_run run = {be64_get(r->runs + i * 12), be32_get(r->runs + i * 12 + 8)};
    return run;
}

static size_t req_begin(struct buf *b, uint8_t op, uint32_t req_id)
{
    size_t start = b->len;
    buf_be32(b, 0);
    buf_u8(b, op);
    buf_be32(b, req_id);
    return start;
}

/* Patches the frame length of the frame that starts at `start`. */
static void frame_end(struct buf *b, size_t start)
{
    if (!b->oom)
        be32_put(b->data + start, (uint32_t)(b->len - start - 4));
}

void obl_req_ids_encode(struct buf *b, uint32_t req_id, uint32_t count)
{
    size_t s = req_begin(b, OBL_OP_IDS, req_id);
    buf_be32(b, count);
    frame_end(b, s);
}

void obl_req_seq_encode(struct buf *b, uint32_t req_id, const char *name, uint64_t count)
{
    size_t nlen = strlen(name);
    if (nlen > 255)
        nlen = 255;
    size_t s = req_begin(b, OBL_OP_SEQ, req_id);
    buf_be64(b, count);
    buf_u8(b, (uint8_t)nlen);
    buf_put(b, name, nlen);
    frame_end(b, s);
}

void obl_req_info_encode(struct buf *b, uint32_t req_id)
{
    frame_end(b, req_begin(b, OBL_OP_INFO, req_id));
}

size_t obl_resp_begin(struct buf *b, uint8_t op, uint32_t req_id, uint8_t status)
{
    size_t s = req_begin(b, (uint8_t)(op | 0x80), req_id);
    buf_u8(b, status);
    return s;
}

void obl_resp_end(struct buf *b, size_t start)
{
    frame_end(b, start);
}

void obl_resp_error_encode(struct buf *b, uint8_t op, uint32_t req_id, uint8_t status,
                           const char *msg)
{
    size_t mlen = strlen(msg);
    if (mlen > 1024)
        mlen = 1024;
    size_t s = obl_resp_begin(b, op, req_id, status);
    buf_be16(b, (uint16_t)mlen);
    buf_put(b, msg, mlen);
    frame_end(b, s);
}

uint8_t obl_status_from_rc(int rc)
{
    switch (rc) {
    case PLG_EINVAL:
        return OBL_ST_BAD_NAME;
    case PLG_ERANGE:
        return OBL_ST_BAD_COUNT;
    case PLG_EOVERFLOW:
        return OBL_ST_OVERFLOW;
    case PLG_EUNSUPP:
        return OBL_ST_UNKNOWN_OP;
    default:
        return OBL_ST_SERVER;
    }
}
