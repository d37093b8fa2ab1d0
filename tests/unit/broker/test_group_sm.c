/*
 * The pure group state machine driven through whole scenarios with an explicit clock: joins with
 * MEMBER_ID_REQUIRED, leader election, assignment pass-through, a third member's rebalance,
 * session expiry of a silent member, leave, stale generations, unknown members, protocol
 * mismatches, commits during rebalances and static membership fencing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/group_sm.h"

#define B(s) ((struct gsm_bytes){(const uint8_t *)(s), strlen(s)})
#define NOBYTES ((struct gsm_bytes){NULL, 0})

static struct gsm_protocol_in range_proto[] = {
    {{(const uint8_t *)"range", 5}, {(const uint8_t *)"meta", 4}}};

static struct gsm_join_req jreq(const char *member_id)
{
    struct gsm_join_req r = {0};
    r.member_id = B(member_id);
    r.instance_id = NOBYTES;
    r.client_id = B("c");
    r.client_host = B("/127.0.0.1");
    r.protocol_type = B("consumer");
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 30000;
    r.require_known_member_id = true;
    r.protocols = range_proto;
    r.n_protocols = 1;
    return r;
}

/* Finds the output for token; fails the test when missing. */
static const struct gsm_out *out_for(struct gsm_group *g, uint64_t token)
{
    size_t n;
    const struct gsm_out *o = gsm_outputs(g, &n);
    for (size_t i = 0; i < n; i++)
        if (o[i].token == token)
            return &o[i];
    fail_msg("no output for token %llu", (unsigned long long)token);
    return NULL;
}

static size_t n_outs(struct gsm_group *g)
{
    size_t n;
    gsm_outputs(g, &n);
    return n;
}

/* New member: MEMBER_ID_REQUIRED then a join with the id; returns the id (caller frees). */
static char *join_new(struct gsm_group *g, uint64_t token, int64_t now)
{
    struct gsm_join_req r = jreq("");
    const char *id = NULL;
    assert_int_equal(gsm_join(g, &r, 0, now, &id), KERR_MEMBER_ID_REQUIRED);
    assert_non_null(id);
    char *copy = strdup(id);
    r.member_id = B(copy);
    assert_int_equal(gsm_join(g, &r, token, now, NULL), 0);
    return copy;
}

static void test_two_members_form_group(void **state)
{
    (void)state;
    struct gsm_group g;
    assert_int_equal(gsm_init(&g, "g1", NULL), 0);
    char *a = join_new(&g, 1, 1000);
    /* Alone: the join completes at once with generation 1, a is leader. */
    const struct gsm_out *o = out_for(&g, 1);
    assert_int_equal(o->error, 0);
    assert_int_equal(o->generation, 1);
    assert_true(o->is_leader);
    assert_string_equal(o->leader_id, a);
    assert_string_equal(o->protocol_name, "range");
    assert_int_equal(g.state, GSM_COMPLETING);
    struct gsm_sync_assignment as[] = {{B(a), B("A-all")}};
    assert_int_equal(gsm_sync(&g, 1, B(a), NOBYTES, as, 1, 2, 1001), 0);
    o = out_for(&g, 2);
    assert_int_equal(o->error, 0);
    assert_int_equal(o->assignment_len, 5);
    assert_memory_equal(o->assignment, "A-all", 5);
    assert_int_equal(g.state, GSM_STABLE);

    /* b joins: rebalance; a learns through its heartbeat and re-joins. */
    char *b = join_new(&g, 3, 1100);
    assert_int_equal(g.state, GSM_PREPARING);
    assert_int_equal(n_outs(&g), 0);
    assert_int_equal(gsm_heartbeat(&g, 1, B(a), NOBYTES, 1200), KERR_REBALANCE_IN_PROGRESS);
    /* A commit at the old generation is still accepted while preparing (commit on revoke). */
    assert_int_equal(gsm_check_commit(&g, 1, B(a), NOBYTES), 0);
    struct gsm_join_req r = jreq(a);
    assert_int_equal(gsm_join(&g, &r, 4, 1300, NULL), 0);
    assert_int_equal(n_outs(&g), 2);
    const struct gsm_out *oa = out_for(&g, 4), *ob = out_for(&g, 3);
    assert_int_equal(oa->generation, 2);
    assert_int_equal(ob->generation, 2);
    assert_true(oa->is_leader); /* the old leader stays leader */
    assert_false(ob->is_leader);
    assert_string_equal(ob->member_id, b);
    assert_int_equal(gsm_member_count(&g), 2);
    struct gsm_member_view v;
    gsm_member_at(&g, 0, &v);
    assert_int_equal(v.metadata_len, 4);

    /* Follower syncs first and waits; the leader's sync answers both. */
    assert_int_equal(gsm_sync(&g, 2, B(b), NOBYTES, NULL, 0, 5, 1400), 0);
    assert_int_equal(n_outs(&g), 0);
    assert_int_equal(gsm_check_commit(&g, 2, B(b), NOBYTES), KERR_REBALANCE_IN_PROGRESS);
    struct gsm_sync_assignment as2[] = {{B(a), B("A")}, {B(b), B("BB")}, {B("ghost"), B("x")}};
    assert_int_equal(gsm_sync(&g, 2, B(a), NOBYTES, as2, 3, 6, 1500), 0);
    assert_int_equal(n_outs(&g), 2);
    assert_int_equal(out_for(&g, 5)->assignment_len, 2);
    assert_memory_equal(out_for(&g, 5)->assignment, "BB", 2);
    assert_memory_equal(out_for(&g, 6)->assignment, "A", 1);
    assert_int_equal(g.state, GSM_STABLE);
    assert_int_equal(gsm_check_commit(&g, 2, B(b), NOBYTES), 0);
    assert_int_equal(gsm_heartbeat(&g, 2, B(b), NOBYTES, 1600), 0);
    free(a);
    free(b);
    gsm_destroy(&g);
}

static void test_errors(void **state)
{
    (void)state;
    struct gsm_group g;
    assert_int_equal(gsm_init(&g, "g", NULL), 0);
    struct gsm_join_req r = jreq("");
    r.session_timeout_ms = 10;
    assert_int_equal(gsm_join(&g, &r, 1, 0, NULL), KERR_INVALID_SESSION_TIMEOUT);
    r = jreq("");
    r.protocol_type = B("");
    assert_int_equal(gsm_join(&g, &r, 1, 0, NULL), KERR_INCONSISTENT_GROUP_PROTOCOL);
    r = jreq("");
    r.n_protocols = 0;
    assert_int_equal(gsm_join(&g, &r, 1, 0, NULL), KERR_INCONSISTENT_GROUP_PROTOCOL);
    r = jreq("nobody");
    assert_int_equal(gsm_join(&g, &r, 1, 0, NULL), KERR_UNKNOWN_MEMBER_ID);
    /* Oversized metadata is refused, not stored. */
    static uint8_t big[(1 << 20) + 1];
    struct gsm_protocol_in bp[] = {{B("range"), {big, sizeof big}}};
    r = jreq("");
    r.protocols = bp;
    assert_int_equal(gsm_join(&g, &r, 1, 0, NULL), KERR_INVALID_REQUEST);

    char *a = join_new(&g, 1, 0);
    struct gsm_sync_assignment as[] = {{B(a), B("x")}};
    assert_int_equal(gsm_sync(&g, 7, B(a), NOBYTES, as, 1, 2, 0), KERR_ILLEGAL_GENERATION);
    assert_int_equal(gsm_sync(&g, 1, B("zz"), NOBYTES, as, 1, 2, 0), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(gsm_sync(&g, 1, B(a), NOBYTES, as, 1, 2, 0), 0);
    assert_int_equal(gsm_heartbeat(&g, 0, B(a), NOBYTES, 0), KERR_ILLEGAL_GENERATION);
    assert_int_equal(gsm_heartbeat(&g, 1, B("zz"), NOBYTES, 0), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(gsm_check_commit(&g, 0, B(a), NOBYTES), KERR_ILLEGAL_GENERATION);
    assert_int_equal(gsm_check_commit(&g, 1, B("zz"), NOBYTES), KERR_UNKNOWN_MEMBER_ID);
    /* Unknown protocol type / no common protocol with the existing member. */
    r = jreq("");
    r.protocol_type = B("connect");
    assert_int_equal(gsm_join(&g, &r, 3, 0, NULL), KERR_INCONSISTENT_GROUP_PROTOCOL);
    struct gsm_protocol_in rr[] = {{B("roundrobin"), B("m")}};
    r = jreq("");
    r.protocols = rr;
    assert_int_equal(gsm_join(&g, &r, 3, 0, NULL), KERR_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(gsm_leave(&g, B("zz"), NOBYTES, 0), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(gsm_delete(&g), KERR_NON_EMPTY_GROUP);
    assert_int_equal(gsm_leave(&g, B(a), NOBYTES, 5), 0);
    assert_int_equal(g.state, GSM_EMPTY);
    assert_int_equal(g.generation, 2);
    assert_int_equal(gsm_heartbeat(&g, 2, B(a), NOBYTES, 0), KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(gsm_check_commit(&g, -1, B(""), NOBYTES), 0);
    assert_int_equal(gsm_delete(&g), 0);
    assert_int_equal(gsm_delete(&g), KERR_GROUP_ID_NOT_FOUND);
    r = jreq("");
    assert_int_equal(gsm_join(&g, &r, 9, 0, NULL), KERR_COORDINATOR_NOT_AVAILABLE);
    free(a);
    gsm_destroy(&g);
}

/* Three members; one stops heartbeating and is expired after its session timeout. */
static void test_session_expiry_rebalances(void **state)
{
    (void)state;
    struct gsm_group g;
    assert_int_equal(gsm_init(&g, "g", NULL), 0);
    char *a = join_new(&g, 1, 0);
    assert_int_equal(gsm_sync(&g, 1, B(a), NOBYTES, NULL, 0, 2, 0), 0);
    char *b = join_new(&g, 3, 100);
    char *c = join_new(&g, 4, 100);
    struct gsm_join_req r = jreq(a);
    assert_int_equal(gsm_join(&g, &r, 5, 200, NULL), 0);
    assert_int_equal(n_outs(&g), 3);
    assert_int_equal(g.generation, 2);
    assert_int_equal(gsm_sync(&g, 2, B(b), NOBYTES, NULL, 0, 6, 250), 0);
    assert_int_equal(gsm_sync(&g, 2, B(c), NOBYTES, NULL, 0, 7, 250), 0);
    assert_int_equal(gsm_sync(&g, 2, B(a), NOBYTES, NULL, 0, 8, 300), 0);
    assert_int_equal(g.state, GSM_STABLE);
    /* a and b heartbeat; c goes silent (SIGKILL). */
    int64_t t = 300;
    while (t < 10300) {
        t += 3000;
        gsm_tick(&g, t);
        if (g.state != GSM_STABLE)
            break;
        assert_int_equal(gsm_heartbeat(&g, 2, B(a), NOBYTES, t), 0);
        assert_int_equal(gsm_heartbeat(&g, 2, B(b), NOBYTES, t), 0);
    }
    assert_int_equal(g.state, GSM_PREPARING);
    assert_int_equal(gsm_member_count(&g), 2);
    assert_true(gsm_next_deadline(&g) > t);
    assert_int_equal(gsm_heartbeat(&g, 2, B(b), NOBYTES, t + 1), KERR_REBALANCE_IN_PROGRESS);
    r = jreq(b);
    assert_int_equal(gsm_join(&g, &r, 9, t + 2, NULL), 0);
    assert_int_equal(n_outs(&g), 0);
    r = jreq(a);
    assert_int_equal(gsm_join(&g, &r, 10, t + 3, NULL), 0);
    assert_int_equal(n_outs(&g), 2);
    assert_int_equal(out_for(&g, 9)->generation, 3);
    assert_int_equal(gsm_heartbeat(&g, 2, B(c), NOBYTES, t + 4), KERR_UNKNOWN_MEMBER_ID);
    free(a);
    free(b);
    free(c);
    gsm_destroy(&g);
}

/* A member that never re-joins is dropped when the rebalance timeout passes. */
static void test_rebalance_timeout_drops_laggard(void **state)
{
    (void)state;
    struct gsm_group g;
    assert_int_equal(gsm_init(&g, "g", NULL), 0);
    char *a = join_new(&g, 1, 0);
    assert_int_equal(gsm_sync(&g, 1, B(a), NOBYTES, NULL, 0, 2, 0), 0);
    char *b = join_new(&g, 3, 1000);
    /* a keeps heartbeating (so session expiry does not fire) but never re-joins. */
    for (int64_t t = 2000; t < 31000; t += 2000) {
        gsm_tick(&g, t);
        assert_int_equal(gsm_heartbeat(&g, 1, B(a), NOBYTES, t), KERR_REBALANCE_IN_PROGRESS);
    }
    assert_int_equal(gsm_next_deadline(&g), 31000);
    gsm_tick(&g, 31000);
    assert_int_equal(g.state, GSM_COMPLETING);
    assert_int_equal(gsm_member_count(&g), 1);
    const struct gsm_out *o = out_for(&g, 3);
    assert_true(o->is_leader);
    assert_int_equal(o->generation, 2);
    free(a);
    free(b);
    gsm_destroy(&g);
}

/* Leader leaves during CompletingRebalance: parked syncs get REBALANCE_IN_PROGRESS. */
static void test_leave_while_completing(void **state)
{
    (void)state;
    struct gsm_group g;
    assert_int_equal(gsm_init(&g, "g", NULL), 0);
    char *a = join_new(&g, 1, 0);
    assert_int_equal(gsm_sync(&g, 1, B(a), NOBYTES, NULL, 0, 2, 0), 0);
    char *b = join_new(&g, 3, 10);
    struct gsm_join_req r = jreq(a);
    assert_int_equal(gsm_join(&g, &r, 4, 20, NULL), 0);
    assert_int_equal(gsm_sync(&g, 2, B(b), NOBYTES, NULL, 0, 5, 30), 0);
    assert_int_equal(gsm_leave(&g, B(a), NOBYTES, 40), 0);
    assert_int_equal(out_for(&g, 5)->error, KERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(g.state, GSM_PREPARING);
    r = jreq(b);
    assert_int_equal(gsm_join(&g, &r, 6, 50, NULL), 0);
    assert_true(out_for(&g, 6)->is_leader);
    assert_int_equal(out_for(&g, 6)->generation, 3);
    free(a);
    free(b);
    gsm_destroy(&g);
}

/* Pending ids (MEMBER_ID_REQUIRED) hold the join phase until they join or expire. */
static void test_pending_member_expires(void **state)
{
    (void)state;
    struct gsm_group g;
    assert_int_equal(gsm_init(&g, "g", NULL), 0);
    struct gsm_join_req r = jreq("");
    const char *id;
    assert_int_equal(gsm_join(&g, &r, 0, 0, &id), KERR_MEMBER_ID_REQUIRED);
    char *a = join_new(&g, 1, 0);
    assert_int_equal(n_outs(&g), 0); /* waits for the other pending id */
    assert_int_equal(gsm_next_deadline(&g), 10000);
    gsm_tick(&g, 10000);
    assert_int_equal(out_for(&g, 1)->generation, 1);
    free(a);
    gsm_destroy(&g);
}

/* v0-v3 joins get an id at once; a leader re-join in Stable triggers a rebalance. */
static void test_old_version_join_and_leader_rejoin(void **state)
{
    (void)state;
    struct gsm_group g;
    assert_int_equal(gsm_init(&g, "g", NULL), 0);
    struct gsm_join_req r = jreq("");
    r.require_known_member_id = false;
    assert_int_equal(gsm_join(&g, &r, 1, 0, NULL), 0);
    char *a = strdup(out_for(&g, 1)->member_id);
    assert_int_equal(gsm_sync(&g, 1, B(a), NOBYTES, NULL, 0, 2, 0), 0);
    r = jreq(a);
    assert_int_equal(gsm_join(&g, &r, 3, 5, NULL), 0);
    assert_int_equal(out_for(&g, 3)->generation, 2);
    free(a);
    gsm_destroy(&g);
}

/* Static membership: a new id for a known instance fences the old id. */
static void test_static_member_fencing(void **state)
{
    (void)state;
    struct gsm_group g;
    assert_int_equal(gsm_init(&g, "g", NULL), 0);
    struct gsm_join_req r = jreq("");
    r.instance_id = B("inst-1");
    assert_int_equal(gsm_join(&g, &r, 1, 0, NULL), 0);
    char *a = strdup(out_for(&g, 1)->member_id);
    assert_int_equal(gsm_join(&g, &r, 2, 10, NULL), 0);
    char *a2 = strdup(out_for(&g, 2)->member_id);
    assert_string_not_equal(a, a2);
    assert_int_equal(gsm_heartbeat(&g, 2, B(a), B("inst-1"), 20), KERR_FENCED_INSTANCE_ID);
    assert_int_equal(gsm_sync(&g, 2, B(a2), B("inst-1"), NULL, 0, 3, 20), 0);
    assert_int_equal(gsm_leave(&g, NOBYTES, B("inst-1"), 30), 0);
    assert_int_equal(g.state, GSM_EMPTY);
    free(a);
    free(a2);
    gsm_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_members_form_group),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_session_expiry_rebalances),
        cmocka_unit_test(test_rebalance_timeout_drops_laggard),
        cmocka_unit_test(test_leave_while_completing),
        cmocka_unit_test(test_pending_member_expires),
        cmocka_unit_test(test_old_version_join_and_leader_rejoin),
        cmocka_unit_test(test_static_member_fencing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
