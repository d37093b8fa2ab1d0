/*
 * libFuzzer harness driving the pure group state machine (group_sm) with event sequences taken
 * from the input: joins (new, known, pending and unknown ids, old and new versions, static
 * instances, odd protocols and timeouts), syncs, heartbeats, leaves, commits, deletes and clock
 * ticks. After every step it checks the invariants: a leader exists and is a member in
 * CompletingRebalance/Stable, no member twice, generation never decreases, each parked token is
 * answered at most once, and outputs only name tokens that were parked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group_sm.h"

#define MAXTOK 256

static uint8_t parked[MAXTOK]; /* 1: waiting for an answer */

static void check(struct gsm_group *g, int32_t *gen)
{
    if (g->generation < *gen)
        abort();
    *gen = g->generation;
    size_t n;
    const struct gsm_out *o = gsm_outputs(g, &n);
    for (size_t i = 0; i < n; i++) {
        if (o[i].token >= MAXTOK || !parked[o[i].token])
            abort();
        parked[o[i].token] = 0;
    }
    size_t m = gsm_member_count(g);
    bool leader_found = false;
    for (size_t i = 0; i < m; i++) {
        struct gsm_member_view a, b;
        gsm_member_at(g, i, &a);
        for (size_t j = i + 1; j < m; j++) {
            gsm_member_at(g, j, &b);
            if (!strcmp(a.member_id, b.member_id))
                abort();
        }
        if (g->leader_id && !strcmp(g->leader_id, a.member_id))
            leader_found = true;
    }
    if ((g->state == GSM_COMPLETING || g->state == GSM_STABLE) && !leader_found)
        abort();
    if (g->state == GSM_EMPTY && m)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gsm_config cfg;
    gsm_config_default(&cfg);
    cfg.max_members = 8;
    struct gsm_group g;
    if (gsm_init(&g, "fuzz", &cfg))
        return 0;
    memset(parked, 0, sizeof parked);
    char ids[8][96];
    size_t nids = 0;
    int64_t now = 0;
    int32_t gen = 0;
    uint64_t next_tok = 1;
    struct gsm_protocol_in protos[2] = {{{(const uint8_t *)"range", 5}, {data, size > 4 ? 4 : 0}},
                                        {{(const uint8_t *)"rr", 2}, {NULL, 0}}};
    for (size_t i = 0; i + 3 <= size && next_tok < MAXTOK; i += 3) {
        uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
        const char *id = nids ? ids[a % nids] : "";
        struct gsm_bytes mid = {(const uint8_t *)id, strlen(id)};
        if (a & 0x80)
            mid = (struct gsm_bytes){(const uint8_t *)"unknown", 7};
        struct gsm_bytes inst = {NULL, 0};
        if (b & 0x40)
            inst = (struct gsm_bytes){(const uint8_t *)"inst", 4};
        switch (op % 8) {
        case 0:
        case 1: {
            struct gsm_join_req r = {0};
            r.member_id = op % 8 == 0 ? (struct gsm_bytes){NULL, 0} : mid;
            r.instance_id = inst;
            r.client_id = (struct gsm_bytes){(const uint8_t *)"c", 1};
            r.client_host = (struct gsm_bytes){(const uint8_t *)"/h", 2};
            r.protocol_type = (b & 1) ? (struct gsm_bytes){(const uint8_t *)"consumer", 8}
                                      : (struct gsm_bytes){(const uint8_t *)"x", 1};
            r.session_timeout_ms = (b & 2) ? 10000 : (int32_t)(b * 100);
            r.rebalance_timeout_ms = 20000;
            r.require_known_member_id = b & 4;
            r.protocols = protos + ((b >> 3) & 1);
            r.n_protocols = (b & 0x20) ? 0 : 1;
            uint64_t tok = next_tok++;
            parked[tok] = 1;
            const char *assigned = NULL;
            int rc = gsm_join(&g, &r, tok, now, &assigned);
            if (rc != 0)
                parked[tok] = 0;
            if (rc == KERR_MEMBER_ID_REQUIRED && assigned && nids < 8)
                strncpy(ids[nids++], assigned, sizeof ids[0] - 1);
            check(&g, &gen);
            /* Remember ids handed out by completed joins. */
            size_t n;
            const struct gsm_out *o = gsm_outputs(&g, &n);
            for (size_t k = 0; k < n && nids < 8; k++)
                if (o[k].member_id && o[k].kind == GSM_OUT_JOIN)
                    strncpy(ids[nids++], o[k].member_id, sizeof ids[0] - 1);
            break;
        }
        case 2: {
            struct gsm_sync_assignment as[2] = {{mid, {data, i % 5}},
                                                {{(const uint8_t *)"zz", 2}, {NULL, 0}}};
            uint64_t tok = next_tok++;
            parked[tok] = 1;
            if (gsm_sync(&g, g.generation - (b & 1), mid, inst, as, b % 3, tok, now) != 0)
                parked[tok] = 0;
            check(&g, &gen);
            break;
        }
        case 3:
            gsm_heartbeat(&g, g.generation - (b & 1), mid, inst, now);
            check(&g, &gen);
            break;
        case 4:
            gsm_leave(&g, mid, inst, now);
            check(&g, &gen);
            break;
        case 5:
            now += (int64_t)b * 137;
            gsm_tick(&g, now);
            check(&g, &gen);
            break;
        case 6:
            gsm_check_commit(&g, (int32_t)(b % 4) - 1, mid, inst);
            break;
        case 7:
            if (b == 0xff) {
                gsm_delete(&g);
                check(&g, &gen);
            } else {
                int64_t d = gsm_next_deadline(&g);
                if (d != INT64_MAX && d > now) {
                    now = d;
                    gsm_tick(&g, now);
                    check(&g, &gen);
                }
            }
            break;
        }
    }
    gsm_destroy(&g);
    return 0;
}
