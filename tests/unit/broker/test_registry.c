/* The broker's off-loop topic administration on a real data directory and loop: topics created,
 * grown and deleted with the file work on libuv workers, names reserved while a job runs, answers
 * only once meta/topics.json says so, registry writes in generation order, and a broker closed
 * while jobs are in flight finishing them without leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "broker/broker.h"
#include "broker/broker_int.h"
#include "pyralog/log.h"
#include "pyralog/pyralog.h"
#include "storage/batch.h"

static char dir[256];
static uv_loop_t loop;
static struct broker *br;

struct outcome {
    int calls;
    int rc;
    char why[256];
};

static void on_created(void *ctx, int rc, const char *why)
{
    struct outcome *o = ctx;
    o->calls++;
    o->rc = rc;
    snprintf(o->why, sizeof o->why, "%s", why ? why : "");
}

static void on_done(void *ctx, int rc)
{
    struct outcome *o = ctx;
    o->calls++;
    o->rc = rc;
}

/* Runs the loop until *calls is at least n (bounded). */
static void wait_calls(const int *calls, int n)
{
    for (int i = 0; i < 20000 && *calls < n; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (*calls < n)
            uv_sleep(1);
    }
    assert_true(*calls >= n);
}

/* Partition count of topic `name` in meta/topics.json, -1 when absent. */
static int registry_partitions(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/meta/topics.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    int n = -1;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(root, "topics"), i, t)
    {
        if (!strcmp(json_string_value(json_object_get(t, "name")), name))
            n = (int)json_integer_value(json_object_get(t, "partitions"));
    }
    json_decref(root);
    return n;
}

static bool part_dir_exists(const char *topic, int p)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/topics/%s-%d", dir, topic, p);
    return stat(path, &st) == 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/plg-registry-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    uv_loop_init(&loop);
    struct broker_opts o = {.data_dir = dir, .adv_host = "127.0.0.1", .num_partitions = 1};
    return broker_open(&loop, &o, &br) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    if (br) {
        broker_shutdown(br);
        broker_close(br);
        br = NULL;
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* until every job and handle is done */
    assert_int_equal(uv_loop_close(&loop), 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_create_delete(void **state)
{
    (void)state;
    char why[256];
    struct outcome c = {0};
    const char *cfg[] = {"segment.bytes", "65536", NULL};
    assert_int_equal(broker_topic_create_async(br, "a", 16, cfg, why, sizeof why, on_created, &c),
                     0);
    /* Reserved while the worker opens the partitions: no second create, sync or async. */
    struct outcome c2 = {0};
    assert_int_equal(broker_topic_create_async(br, "a", 1, NULL, why, sizeof why, on_created, &c2),
                     PLG_EEXIST);
    assert_int_equal(broker_topic_create(br, "a", 1, NULL, why, sizeof why), PLG_EEXIST);
    /* Bad input is refused at once, done never called. */
    const char *bad[] = {"segment.bytes", "nope", NULL};
    assert_int_equal(broker_topic_create_async(br, "b", 1, bad, why, sizeof why, on_created, &c2),
                     PLG_EINVAL);
    assert_non_null(strstr(why, "segment.bytes"));
    assert_int_equal(
        broker_topic_create_async(br, "bad/name", 1, NULL, why, sizeof why, on_created, &c2),
        PLG_EINVAL);
    wait_calls(&c.calls, 1);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c2.calls, 0);
    assert_int_equal(registry_partitions("a"), 16); /* durable before the answer */
    plg_log_t *log = broker_partition_log(br, "a", 15);
    assert_non_null(log);
    assert_int_equal(plg_log_config(log)->segment_bytes, 65536);
    assert_true(part_dir_exists("a", 15));

    struct outcome d = {0};
    assert_int_equal(broker_topic_delete_async(br, "a", on_done, &d), 0);
    assert_null(broker_partition_log(br, "a", 0)); /* gone from the broker at once */
    assert_int_equal(broker_topic_delete_async(br, "a", on_done, &d), PLG_ENOTFOUND);
    assert_int_equal(broker_topic_create_async(br, "a", 1, NULL, why, sizeof why, on_created, &c2),
                     PLG_EEXIST); /* until its files are gone */
    wait_calls(&d.calls, 1);
    assert_int_equal(d.rc, 0);
    assert_int_equal(registry_partitions("a"), -1);
    for (int p = 0; p < 16; p++)
        assert_false(part_dir_exists("a", p));
    assert_int_equal(broker_topic_create_async(br, "a", 2, NULL, why, sizeof why, on_created, &c2),
                     0);
    wait_calls(&c2.calls, 1);
    assert_int_equal(c2.rc, 0);
    assert_int_equal(registry_partitions("a"), 2);
}

/* Partitions added on a worker: visible all at once, durable before done, the topic cannot be
 * deleted meanwhile; produce-side state of the old partitions is untouched. */
static void test_add_partitions(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(broker_topic_create(br, "g", 2, NULL, why, sizeof why), 0);
    plg_log_t *first = broker_partition_log(br, "g", 0);
    struct outcome a = {0}, d = {0};
    assert_int_equal(broker_topic_add_partitions_async(br, "g", 2, on_done, &a), PLG_EINVAL);
    assert_int_equal(broker_topic_add_partitions_async(br, "nope", 9, on_done, &a), PLG_ENOTFOUND);
    assert_int_equal(broker_topic_add_partitions_async(br, "g", 40, on_done, &a), 0);
    assert_null(broker_partition_log(br, "g", 2)); /* not before they are all open */
    assert_int_equal(broker_topic_add_partitions_async(br, "g", 50, on_done, &d), PLG_ESTATE);
    assert_int_equal(broker_topic_delete_async(br, "g", on_done, &d), PLG_ESTATE);
    assert_int_equal(broker_topic_delete(br, "g"), PLG_ESTATE);
    wait_calls(&a.calls, 1);
    assert_int_equal(a.rc, 0);
    assert_int_equal(d.calls, 0);
    assert_int_equal(registry_partitions("g"), 40);
    assert_ptr_equal(broker_partition_log(br, "g", 0), first);
    assert_non_null(broker_partition_log(br, "g", 39));
    assert_true(part_dir_exists("g", 39));
    struct broker_topic_info info;
    assert_int_equal(broker_topic_get(br, "g", &info), 0);
    assert_int_equal(info.partitions, 40);
    /* Now it can go. */
    assert_int_equal(broker_topic_delete_async(br, "g", on_done, &d), 0);
    wait_calls(&d.calls, 1);
    assert_int_equal(d.rc, 0);
    assert_false(part_dir_exists("g", 39));
}

static void on_appended(void *ctx, const struct broker_append_result *r)
{
    assert_int_equal(r->err, 0);
    (*(int *)ctx)++;
}

/* One acks=all append whose acknowledgement appends again (acks=all) to another partition, as a
 * connection resumed by that acknowledgement dispatches its next Produce. */
struct ack_chain {
    int first, second;
};

static uint8_t *small_batch(size_t *len)
{
    struct batch_builder bb;
    batch_builder_init(&bb, 0, 1700000000000);
    assert_int_equal(batch_builder_add(&bb, 1700000000000, "k", 1, "v", 1, NULL, 0), 0);
    uint8_t *p;
    assert_int_equal(batch_builder_finish(&bb, -1, &p, len), 0);
    batch_builder_destroy(&bb);
    return p;
}

static void on_second_ack(void *ctx, const struct broker_append_result *r)
{
    assert_int_equal(r->err, 0);
    ((struct ack_chain *)ctx)->second++;
}

static void on_first_ack(void *ctx, const struct broker_append_result *r)
{
    struct ack_chain *c = ctx;
    assert_int_equal(r->err, 0);
    c->first++;
    size_t len;
    uint8_t *p = small_batch(&len);
    assert_int_equal(broker_append(br, "chain", 1, p, len, -1, on_second_ack, c), 0);
    free(p);
}

/* The partition a completing acknowledgement adds to the broker's list of partitions with ack
 * waiters is not lost: its waiter is answered once durable. (The list used to be walked while
 * the callbacks ran; a partition inserted at its head while the head was being unlinked fell
 * out, and its producers waited forever: seen as a 60 s kcat timeout on 1,000 partitions.) */
static void test_ack_added_during_acks(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(broker_topic_create(br, "chain", 2, NULL, why, sizeof why), 0);
    for (int round = 0; round < 3; round++) {
        struct ack_chain c = {0};
        size_t len;
        uint8_t *p = small_batch(&len);
        assert_int_equal(broker_append(br, "chain", 0, p, len, -1, on_first_ack, &c), 0);
        free(p);
        wait_calls(&c.first, 1);
        wait_calls(&c.second, 1);
    }
}

struct compacted {
    int calls;
    int rc;
    int64_t removed;
};

static void on_compacted(void *ctx, int rc, int64_t removed, int64_t before, int64_t after)
{
    struct compacted *c = ctx;
    c->calls++;
    c->rc = rc;
    c->removed = removed;
    assert_true(after <= before);
}

/* 300 batches of 10 records over 20 keys into a compact topic with small segments. */
static void fill_compact_topic(const char *topic)
{
    int done = 0;
    for (int b = 0; b < 300; b++) {
        struct batch_builder bb;
        batch_builder_init(&bb, 0, 1700000000000);
        for (int i = 0; i < 10; i++) {
            char k[16], v[64];
            int kl = snprintf(k, sizeof k, "k%d", (b * 10 + i) % 20);
            int vl = snprintf(v, sizeof v, "value-%d-padding-padding", b * 10 + i);
            assert_int_equal(batch_builder_add(&bb, 1700000000000, k, kl, v, vl, NULL, 0), 0);
        }
        uint8_t *p;
        size_t len;
        assert_int_equal(batch_builder_finish(&bb, -1, &p, &len), 0);
        batch_builder_destroy(&bb);
        assert_int_equal(broker_append(br, topic, 0, p, len, 1, on_appended, &done), 0);
        free(p);
    }
    wait_calls(&done, 300);
}

/* A compaction on a worker is installed and reported; one whose topic is deleted before it
 * finishes is dropped without a callback, and the deletion leaves no file behind. */
static void test_compaction_vs_delete(void **state)
{
    (void)state;
    char why[256];
    const char *cfg[] = {"cleanup.policy", "compact", "segment.bytes", "4096", NULL};
    assert_int_equal(broker_topic_create(br, "c1", 1, cfg, why, sizeof why), 0);
    assert_int_equal(broker_topic_create(br, "c2", 1, cfg, why, sizeof why), 0);
    fill_compact_topic("c1");
    fill_compact_topic("c2");
    plg_log_t *log = broker_partition_log(br, "c1", 0);
    int64_t end = plg_log_end_offset(log);
    struct compacted c1 = {0}, c2 = {0};
    assert_int_equal(broker_compact_partition(br, "c1", 0, on_compacted, &c1), 0);
    assert_int_equal(broker_compact_partition(br, "c1", 0, on_compacted, &c1), PLG_ESTATE);
    assert_int_equal(broker_compact_partition(br, "c2", 0, on_compacted, &c2), 0);
    struct outcome d = {0};
    assert_int_equal(broker_topic_delete_async(br, "c2", on_done, &d), 0);
    wait_calls(&c1.calls, 1);
    wait_calls(&d.calls, 1);
    assert_int_equal(c1.rc, 0);
    assert_true(c1.removed > 2000); /* 3000 records, 20 keys, the active segment kept */
    assert_int_equal(plg_log_end_offset(log), end);
    assert_int_equal(d.rc, 0);
    for (int i = 0; i < 200; i++) /* let the dropped job finish */
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(c2.calls, 0);
    assert_false(part_dir_exists("c2", 0));
    /* A second pass (once the first released its snapshot) finds nothing left to drop. */
    int rc = PLG_ESTATE;
    for (int i = 0; i < 5000 && rc == PLG_ESTATE; i++) {
        rc = broker_compact_partition(br, "c1", 0, on_compacted, &c1);
        if (rc == PLG_ESTATE) {
            uv_run(&loop, UV_RUN_NOWAIT);
            uv_sleep(1);
        }
    }
    assert_int_equal(rc, 0);
    wait_calls(&c1.calls, 2);
    assert_int_equal(c1.rc, 0);
    assert_int_equal(c1.removed, 0);
}

/* Many changes in a row: every waiter is answered, the file ends with the newest state. */
static void test_commits_in_order(void **state)
{
    (void)state;
    char why[256];
    struct outcome c[6] = {{0}};
    for (int i = 0; i < 6; i++) {
        char name[8];
        snprintf(name, sizeof name, "t%d", i);
        assert_int_equal(
            broker_topic_create_async(br, name, 1 + i, NULL, why, sizeof why, on_created, &c[i]),
            0);
    }
    struct outcome k[3] = {{0}};
    for (int i = 0; i < 3; i++)
        broker_registry_commit(br, on_done, &k[i]);
    for (int i = 0; i < 6; i++) {
        wait_calls(&c[i].calls, 1);
        assert_int_equal(c[i].rc, 0);
    }
    for (int i = 0; i < 3; i++) {
        wait_calls(&k[i].calls, 1);
        assert_int_equal(k[i].calls, 1);
        assert_int_equal(k[i].rc, 0);
    }
    for (int i = 0; i < 6; i++) {
        char name[8];
        snprintf(name, sizeof name, "t%d", i);
        assert_int_equal(registry_partitions(name), 1 + i);
    }
}

/* The broker closes while a create and a delete run: both jobs end, their callbacks run once,
 * the loop closes cleanly (teardown), and nothing leaks (ASan). */
static void test_close_with_jobs_in_flight(void **state)
{
    (void)state;
    char why[256];
    struct outcome c = {0}, d = {0}, e = {0};
    assert_int_equal(broker_topic_create(br, "old", 8, NULL, why, sizeof why), 0);
    assert_int_equal(
        broker_topic_create_async(br, "new", 64, NULL, why, sizeof why, on_created, &c), 0);
    assert_int_equal(broker_topic_delete_async(br, "old", on_done, &d), 0);
    broker_registry_commit(br, on_done, &e);
    struct outcome g = {0};
    assert_int_equal(broker_topic_create(br, "grow", 1, NULL, why, sizeof why), 0);
    assert_int_equal(broker_topic_add_partitions_async(br, "grow", 32, on_done, &g), 0);
    broker_shutdown(br);
    broker_close(br);
    br = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c.calls, 1);
    assert_int_equal(d.calls, 1);
    assert_int_equal(e.calls, 1);
    assert_int_equal(g.calls, 1);
    assert_int_not_equal(c.rc, 0); /* the server went away before it was registered */
    assert_false(part_dir_exists("new", 0));
    assert_int_not_equal(g.rc, 0);
    assert_false(part_dir_exists("grow", 31));
    assert_true(part_dir_exists("grow", 0));
}

/* Configs altered while partitions are being added: the new partitions, opened on a worker with
 * the configs of the time, must run with the topic's configs once they join it, like the old
 * ones (else they keep the old retention, segment size or cleanup policy until a restart). */
static void test_alter_configs_while_adding(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(broker_topic_create(br, "cfg", 1, NULL, why, sizeof why), 0);
    int64_t before = plg_log_config(broker_partition_log(br, "cfg", 0))->segment_bytes;
    assert_true(before != 1048576);
    struct outcome a = {0};
    assert_int_equal(broker_topic_add_partitions_async(br, "cfg", 3, on_done, &a), 0);
    struct btopic *t = broker_topic_find(br, "cfg", 3);
    assert_non_null(t);
    const char *kv[] = {"segment.bytes", "1048576", NULL};
    assert_int_equal(btopic_set_configs(br, t, kv, why, sizeof why, false), 0);
    wait_calls(&a.calls, 1);
    assert_int_equal(a.rc, 0);
    for (int32_t p = 0; p < 3; p++)
        assert_int_equal(plg_log_config(broker_partition_log(br, "cfg", p))->segment_bytes,
                         1048576);
}

/* Makes every registry write fail (a directory where write_atomic puts its temp file), or lets
 * them succeed again. */
static void registry_block(bool on)
{
    char path[512];
    snprintf(path, sizeof path, "%s/meta/topics.json.tmp", dir);
    if (on)
        assert_int_equal(mkdir(path, 0755), 0);
    else
        assert_int_equal(rmdir(path), 0);
}

/* A create whose registry write fails is rolled back off the loop: the client hears of the
 * failure only once the topic has left the topic list and its files are gone (even though the
 * rollback's own registry write fails too), the name is free again, and the other topics stay. */
static void test_create_registry_fails(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(broker_topic_create(br, "keep", 1, NULL, why, sizeof why), 0);
    registry_block(true);
    struct outcome c = {0};
    assert_int_equal(broker_topic_create_async(br, "rb", 4, NULL, why, sizeof why, on_created, &c),
                     0);
    /* The topic is inserted (visible) while its registry write runs, then rolled back by a
     * delete job: out of the topic list at once, the name reserved until its files are gone on a
     * worker, and only then the answer. */
    bool seen = false, rolling_back = false;
    for (int i = 0; i < 20000 && c.calls == 0; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        bool there = broker_topic_find(br, "rb", 2) != NULL;
        seen |= there;
        rolling_back |= seen && !there && c.calls == 0 && broker_topic_taken(br, "rb", 2);
        if (c.calls == 0)
            uv_sleep(1);
    }
    assert_int_equal(c.calls, 1);
    assert_true(seen);
    assert_true(rolling_back);
    assert_int_not_equal(c.rc, 0);
    assert_non_null(strstr(c.why, "cannot persist the topic registry"));
    assert_null(broker_topic_find(br, "rb", 2));
    assert_false(broker_topic_taken(br, "rb", 2));
    for (int p = 0; p < 4; p++)
        assert_false(part_dir_exists("rb", p));
    assert_int_equal(registry_partitions("rb"), -1);
    assert_int_equal(registry_partitions("keep"), 1);
    assert_non_null(broker_partition_log(br, "keep", 0));
    registry_block(false);
    /* The name can be used again at once. */
    struct outcome c2 = {0};
    assert_int_equal(broker_topic_create_async(br, "rb", 2, NULL, why, sizeof why, on_created, &c2),
                     0);
    wait_calls(&c2.calls, 1);
    assert_int_equal(c2.rc, 0);
    assert_int_equal(registry_partitions("rb"), 2);
    assert_true(part_dir_exists("rb", 1));
}

/* The broker closes while the rollback of a failed create is in flight: the create is still
 * answered once, as failed, the files go, and nothing leaks (teardown runs the loop dry). */
static void test_create_rollback_at_close(void **state)
{
    (void)state;
    char why[256];
    registry_block(true);
    struct outcome c = {0};
    assert_int_equal(broker_topic_create_async(br, "rc", 8, NULL, why, sizeof why, on_created, &c),
                     0);
    bool seen = false, closed = false;
    for (int i = 0; i < 20000 && c.calls == 0 && !closed; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        bool there = broker_topic_find(br, "rc", 2) != NULL;
        seen |= there;
        if (seen && !there && c.calls == 0) { /* rolling back, files not gone yet */
            broker_shutdown(br);
            broker_close(br);
            br = NULL;
            closed = true;
        } else if (c.calls == 0) {
            uv_sleep(1);
        }
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c.calls, 1);
    assert_int_not_equal(c.rc, 0);
    for (int p = 0; p < 8; p++)
        assert_false(part_dir_exists("rc", p));
    assert_true(closed); /* the close overlapped the rollback */
    registry_block(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_added_during_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_vs_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commits_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_jobs_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alter_configs_while_adding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_registry_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_rollback_at_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
