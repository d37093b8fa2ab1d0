/* test_service.c — the Obelisk service on a real libuv loop with a slow file system: the fsyncs
 * that open sequences, renew their leases and raise the Scarab time floor run on the thread pool,
 * so while one is stuck (an injected fsync that blocks until the test opens a gate) requests
 * that fit below the durable limits keep being answered, the others are parked and answered, in
 * order, when the renewal completes. Every value answered is checked against the counter file's
 * size on disk at that moment (nothing handed out before it is durable). Also: a failed renewal
 * answers its parked requests with the error, and a cancelled request is never called back. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "obelisk/proto.h"
#include "obelisk/service.h"
#include "pyralog/pyralog.h"

#include "../tmpdir.h"

/* ---- a file system whose fsync blocks while the gate is closed, or fails ---- */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int closed;  /* fsync blocks while set */
    int fail;    /* fsync returns -EIO while set */
    int blocked; /* fsyncs waiting at the gate now */
};

static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static int gate_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return ftruncate(fd, len) ? -errno : 0;
}

static int gate_fsync(void *ctx, int fd)
{
    struct gate *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->blocked++;
    while (g->closed)
        pthread_cond_wait(&g->cv, &g->mu);
    g->blocked--;
    int fail = g->fail;
    pthread_mutex_unlock(&g->mu);
    if (fail)
        return -EIO;
    return fsync(fd) ? -errno : 0;
}

static const struct plg_obelisk_io gate_io = {gate_ftruncate, gate_fsync, &gate};

static void gate_set(int closed, int fail)
{
    pthread_mutex_lock(&gate.mu);
    gate.closed = closed;
    gate.fail = fail;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

static int gate_blocked(void)
{
    pthread_mutex_lock(&gate.mu);
    int n = gate.blocked;
    pthread_mutex_unlock(&gate.mu);
    return n;
}

/* ---- requests through the binary handler, parked on a struct obl_wait ---- */
static struct obl_service *svc;
static uv_loop_t loop;

struct req {
    struct obl_wait w;
    struct buf frame; /* the request frame; the body starts at +4 */
    struct buf out;
    int answered;
    int woken;
};

static int req_handle(struct req *r)
{
    int rc = obl_service_handle(svc, r->frame.data + 4, r->frame.len - 4, &r->out, &r->w);
    if (rc == 0)
        r->answered = 1;
    return rc;
}

static void req_wake(struct obl_wait *w)
{
    struct req *r = w->arg;
    r->woken++;
    req_handle(r);
}

static void req_init(struct req *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->frame);
    buf_init(&r->out);
    r->w.cb = req_wake;
    r->w.arg = r;
}

static void req_free(struct req *r)
{
    buf_free(&r->frame);
    buf_free(&r->out);
}

static int seq_req(struct req *r, const char *name, uint64_t n)
{
    req_init(r);
    obl_req_seq_encode(&r->frame, 7, name, n);
    return req_handle(r);
}

static int ids_req(struct req *r, uint32_t n)
{
    req_init(r);
    obl_req_ids_encode(&r->frame, 9, n);
    return req_handle(r);
}

static struct obl_resp answer(const struct req *r)
{
    const uint8_t *body;
    size_t blen, used;
    struct obl_resp resp;
    assert_true(r->answered);
    assert_int_equal(obl_frame(r->out.data, r->out.len, OBL_MAX_RESP, &body, &blen, &used), 0);
    assert_int_equal(obl_resp_decode(body, blen, &resp), 0);
    return resp;
}

/* Runs the loop until *flag is set (bounded: 10 s). */
static void run_until(const int *flag)
{
    for (int i = 0; i < 10000 && !*flag; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (!*flag)
            usleep(1000);
    }
    assert_true(*flag);
}

/* The durable limit of sequence `name` as the file system has it now (unit 1). */
static uint64_t durable_limit(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/obelisk/%s.obelisk", dir, name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size - PLG_OBELISK_HEADER;
}

static void service_up(uint64_t lease)
{
    assert_int_equal(uv_loop_init(&loop), 0);
    gate_set(0, 0);
    struct obl_service_opts o = {
        .data_dir = dir, .node_id = 5, .seq_lease = lease, .loop = &loop, .io = &gate_io};
    assert_int_equal(obl_service_open(&o, &svc), 0);
}

static void service_down(void)
{
    gate_set(0, 0);
    uv_run(&loop, UV_RUN_DEFAULT); /* every job done */
    obl_service_close(svc);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_answers_while_renewal_in_flight(void **state)
{
    (void)state;
    service_up(10);
    struct req r, slow;
    /* A fresh node: the first IDs wait for the time floor, the first value for the file. */
    assert_int_equal(ids_req(&r, 100), OBL_PARKED);
    run_until(&r.answered);
    assert_int_equal(answer(&r).status, OBL_ST_OK);
    req_free(&r);
    assert_int_equal(seq_req(&r, "fast", 1), OBL_PARKED);
    run_until(&r.answered);
    struct obl_resp a = answer(&r);
    assert_true(a.status == OBL_ST_OK && a.seq_first == 0);
    req_free(&r);

    /* The disk stalls. A new sequence's creation blocks in fsync on a pool thread. */
    gate_set(1, 0);
    assert_int_equal(seq_req(&slow, "slow", 3), OBL_PARKED);
    for (int i = 0; i < 5000 && gate_blocked() < 1; i++)
        usleep(1000);
    assert_int_equal(gate_blocked(), 1);

    /* Meanwhile: IDs and the other sequence's leased values are answered at once, each below
     * what is durable on disk, until that sequence's lease is used up. */
    uint64_t expect = 1;
    int answered = 0;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(ids_req(&r, 4096), 0);
        assert_int_equal(answer(&r).status, OBL_ST_OK);
        req_free(&r);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    static struct req fast[64];
    struct req *parked = NULL;
    for (int i = 0; i < 64 && !parked; i++) {
        int rc = seq_req(&fast[i], "fast", 1);
        uv_run(&loop, UV_RUN_NOWAIT);
        if (rc == OBL_PARKED) {
            parked = &fast[i];
            break;
        }
        a = answer(&fast[i]);
        assert_true(a.status == OBL_ST_OK && a.seq_first == expect);
        assert_true(a.seq_first < durable_limit("fast"));
        expect++;
        answered++;
        req_free(&fast[i]);
        if (a.seq_first == 7) {
            /* Value 7 left less than half the lease (11 - 8 < 5): the renewal starts now, ahead
             * of need, and blocks at the gate while values 8-10 are still answered. */
            for (int k = 0; k < 5000 && gate_blocked() < 2; k++)
                usleep(1000);
            assert_true(gate_blocked() >= 2);
        }
    }
    assert_non_null(parked);
    /* The lease of 10 was renewed ahead at half use: that renewal is stuck too, and the values
     * below the old durable limit were all answered while it was. */
    assert_int_equal(answered, 10);
    for (int i = 0; i < 5000 && gate_blocked() < 2; i++)
        usleep(1000);
    assert_true(gate_blocked() >= 2);
    for (int i = 0; i < 50; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_false(slow.answered);
    assert_false(parked->answered);

    /* The disk comes back: both parked requests are answered, in sequence order. */
    gate_set(0, 0);
    run_until(&slow.answered);
    run_until(&parked->answered);
    a = answer(&slow);
    assert_true(a.status == OBL_ST_OK && a.seq_first == 0 && a.seq_count == 3);
    a = answer(parked);
    assert_true(a.status == OBL_ST_OK && a.seq_first == expect);
    assert_true(a.seq_first < durable_limit("fast"));
    assert_int_equal(parked->woken, 1);
    req_free(&slow);
    req_free(parked);
    service_down();
}

static void test_failed_renewal_and_cancel(void **state)
{
    (void)state;
    service_up(4);
    struct req r, gone;
    assert_int_equal(seq_req(&r, "s", 1), OBL_PARKED); /* open + first lease */
    run_until(&r.answered);
    req_free(&r);
    /* The next growth fails with EIO: the parked request gets the error (status 6), once. */
    gate_set(1, 1);
    for (int i = 0; i < 20; i++) {
        int rc = seq_req(&r, "s", 1);
        if (rc == OBL_PARKED)
            break;
        req_free(&r);
    }
    assert_false(r.answered);
    /* A second request parks behind it, then its connection goes away. */
    assert_int_equal(seq_req(&gone, "s", 1), OBL_PARKED);
    obl_service_cancel(svc, &gone.w);
    gate_set(0, 1);
    run_until(&r.answered);
    struct obl_resp a = answer(&r);
    assert_int_equal(a.status, OBL_ST_SERVER);
    assert_non_null(strstr(a.message, "Input/output error"));
    assert_int_equal(r.woken, 1);
    req_free(&r);
    /* The failed handle was dropped: with the disk healthy the sequence reopens at its durable
     * limit (values of the lost lease are skipped, never repeated). */
    gate_set(0, 0);
    uint64_t limit = durable_limit("s");
    assert_int_equal(seq_req(&r, "s", 1), OBL_PARKED);
    run_until(&r.answered);
    a = answer(&r);
    assert_true(a.status == OBL_ST_OK && a.seq_first == limit);
    req_free(&r);
    for (int i = 0; i < 20; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(gone.woken, 0);
    req_free(&gone);
    service_down();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answers_while_renewal_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_renewal_and_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
