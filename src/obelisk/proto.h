/*
 * proto.h — the Obelisk binary protocol: a pure codec (bytes in, structs out; no I/O).
 *
 * The high-rate path of an Obelisk node (--binary-listen, default 127.0.0.1:7071). TCP; every
 * message is a frame; all integers big-endian. Full specification: docs/obelisk.md.
 *
 *   frame    = length:u32 body[length]           1 <= length <= OBL_MAX_REQ (requests)
 *                                                 1 <= length <= OBL_MAX_RESP (responses)
 *   request  = op:u8 req_id:u32 args
 *     op 0x01 IDS   args = count:u32              1 <= count <= OBL_MAX_IDS
 *     op 0x02 SEQ   args = count:u64 nlen:u8 name[nlen]   1 <= count <= OBL_MAX_SEQ_COUNT
 *     op 0x03 INFO  args = (none)
 *   response = op:u8 (request op | 0x80) req_id:u32 status:u8 payload
 *     status 0, IDS : count:u32 nruns:u16 { first:u64 len:u32 } x nruns   (sum of len = count;
 *                     run i holds first, first+1, ... first+len-1)
 *     status 0, SEQ : first:u64 count:u64
 *     status 0, INFO: version:u8 node_id:u16
 *     status != 0   : mlen:u16 message[mlen]    (UTF-8 text a person can act on)
 *   A request with bytes left over after its args, or an unknown op, is answered with an error;
 *   a frame whose length is out of bounds closes the connection.
 *
 * Decoders never read past len and validate every count against the limits above.
 */
#ifndef PLG_OBELISK_PROTO_H
#define PLG_OBELISK_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pyralog/obelisk.h"

#define OBL_PROTO_VERSION 1
#define OBL_MAX_REQ 256
#define OBL_MAX_IDS 65536
#define OBL_MAX_RUNS 4096
#define OBL_MAX_RESP (16 + 12 * OBL_MAX_RUNS)
#define OBL_MAX_SEQ_COUNT 1000000000ULL

enum obl_op { OBL_OP_IDS = 1, OBL_OP_SEQ = 2, OBL_OP_INFO = 3 };

enum obl_status {
    OBL_ST_OK = 0,
    OBL_ST_BAD_REQUEST = 1, /* malformed request */
    OBL_ST_BAD_COUNT = 2,   /* count out of bounds */
    OBL_ST_BAD_NAME = 3,    /* invalid sequence name */
    OBL_ST_UNKNOWN_OP = 4,
    OBL_ST_OVERFLOW = 5, /* counter or time would overflow */
    OBL_ST_SERVER = 6,   /* I/O or other server-side failure */
};

struct obl_req {
    uint8_t op;
    uint32_t req_id;
    uint64_t count;
    char name[PLG_OBELISK_NAME_MAX + 1];
};

struct obl_run {
    uint64_t first;
    uint32_t len;
};

struct obl_resp {
    uint8_t op; /* without the 0x80 bit */
    uint32_t req_id;
    uint8_t status;
    uint32_t count;      /* IDS: total IDs; SEQ: unused (see seq_count) */
    uint16_t nruns;      /* IDS */
    const uint8_t *runs; /* IDS: nruns x 12 bytes inside the decoded buffer */
    uint64_t seq_first;  /* SEQ */
    uint64_t seq_count;  /* SEQ */
    uint8_t version;     /* INFO */
    uint16_t node_id;    /* INFO */
    char message[256];   /* status != 0 (truncated to fit, NUL-terminated) */
};

/* Looks for one frame at p: 0 with *body and *body_len set and *consumed = 4 + body_len,
 * PLG_ETRUNC when more bytes are needed, PLG_ETOOBIG/PLG_ECORRUPT for a length outside
 * [1, max]. */
int obl_frame(const uint8_t *p, size_t len, size_t max, const uint8_t **body, size_t *body_len,
              size_t *consumed);

/* Decodes a request body. On a malformed body returns a negative code and, when at least op and
 * req_id could be read, fills them and sets *status to the error status to answer with
 * (otherwise *status = OBL_ST_BAD_REQUEST and req_id 0). *msg names the problem. */
int obl_req_decode(const uint8_t *p, size_t len, struct obl_req *out, uint8_t *status,
                   const char **msg);

/* Decodes a response body (runs are validated: sum of lengths = count, each len >= 1). */
int obl_resp_decode(const uint8_t *p, size_t len, struct obl_resp *out);
/* Run i of a decoded IDS response. */
struct obl_run obl_resp_run(const struct obl_resp *r, size_t i);

/* Encoders: append one whole frame to b (check b->oom once at the end). */
void obl_req_ids_encode(struct buf *b, uint32_t req_id, uint32_t count);
void obl_req_seq_encode(struct buf *b, uint32_t req_id, const char *name, uint64_t count);
void obl_req_info_encode(struct buf *b, uint32_t req_id);
/* Responses: obl_resp_begin writes the header (returns the frame start), the caller appends
 * the payload, obl_resp_end patches the length. */
size_t obl_resp_begin(struct buf *b, uint8_t op, uint32_t req_id, uint8_t status);
void obl_resp_end(struct buf *b, size_t start);
void obl_resp_error_encode(struct buf *b, uint8_t op, uint32_t req_id, uint8_t status,
                           const char *msg);

/* The status for a library error code. */
uint8_t obl_status_from_rc(int rc);

#endif
