/* fuzz_obelisk.c — libFuzzer harness for the Obelisk binary protocol decoders: frames,
 * requests and responses from arbitrary bytes; decoded values are checked against the
 * documented bounds and re-encoded. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "obelisk/proto.h"
#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *body;
    size_t blen, used, pos = 0;
    while (pos < size &&
           obl_frame(data + pos, size - pos, OBL_MAX_RESP, &body, &blen, &used) == 0) {
        assert(used == blen + 4 && pos + used <= size);
        pos += used;
        struct obl_req rq;
        uint8_t st;
        const char *msg;
        if (obl_req_decode(body, blen, &rq, &st, &msg) == 0) {
            assert(st == OBL_ST_OK);
            struct buf b;
            buf_init(&b);
            if (rq.op == OBL_OP_IDS) {
                assert(rq.count >= 1 && rq.count <= OBL_MAX_IDS);
                obl_req_ids_encode(&b, rq.req_id, (uint32_t)rq.count);
            } else if (rq.op == OBL_OP_SEQ) {
                assert(rq.count >= 1 && rq.count <= OBL_MAX_SEQ_COUNT);
                assert(plg_obelisk_name_check(rq.name) == 0);
                obl_req_seq_encode(&b, rq.req_id, rq.name, rq.count);
            } else {
                assert(rq.op == OBL_OP_INFO);
                obl_req_info_encode(&b, rq.req_id);
            }
            /* Round trip: the re-encoded request is byte-identical to the input frame. */
            assert(!b.oom && b.len == used && !memcmp(b.data, body - 4, used));
            buf_free(&b);
        } else {
            assert(st != OBL_ST_OK && msg && *msg);
        }
        struct obl_resp rs;
        if (obl_resp_decode(body, blen, &rs) == 0 && rs.status == OBL_ST_OK &&
            rs.op == OBL_OP_IDS) {
            uint64_t total = 0;
            for (size_t i = 0; i < rs.nruns; i++)
                total += obl_resp_run(&rs, i).len;
            assert(total == rs.count);
        }
    }
    return 0;
}
