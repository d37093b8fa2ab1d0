/* Metrics registry: series identity, updates from several threads, limits, exposition format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/metrics.h"

static char *render(struct mx_registry *r)
{
    struct buf b;
    buf_init(&b);
    assert_int_equal(mx_render(r, &b), 0);
    buf_u8(&b, 0);
    size_t len;
    return (char *)buf_steal(&b, &len);
}

static void test_counter_gauge(void **state)
{
    (void)state;
    struct mx_registry *r;
    assert_int_equal(mx_registry_new(&r), 0);
    struct mx_counter *a = mx_counter_get(r, "pyralog_x_total", "X things.", "api=\"produce\"");
    struct mx_counter *a2 = mx_counter_get(r, "pyralog_x_total", "ignored", "api=\"produce\"");
    struct mx_counter *b = mx_counter_get(r, "pyralog_x_total", NULL, "api=\"fetch\"");
    assert_non_null(a);
    assert_ptr_equal(a, a2);
    assert_ptr_not_equal(a, b);
    mx_counter_add(a, 5);
    mx_counter_inc(a);
    mx_counter_inc(b);
    assert_int_equal(mx_counter_value(a), 6);
    struct mx_gauge *g = mx_gauge_get(r, "pyralog_y", "Y level.", NULL);
    mx_gauge_set(g, 2.5);
    mx_gauge_add(g, -1);
    assert_true(mx_gauge_value(g) == 1.5);
    /* A type clash and bad names give NULL, and NULL is safe to update. */
    assert_null(mx_gauge_get(r, "pyralog_x_total", "", NULL));
    assert_null(mx_counter_get(r, "9bad", "", NULL));
    assert_null(mx_counter_get(r, "pyralog_z_total", "", "le=\"1\""));
    assert_null(mx_counter_get(r, "pyralog_z_total", "", "a=\"unterminated"));
    assert_null(mx_counter_get(r, "pyralog_z_total", "", "a=\"x\",,b=\"y\""));
    mx_counter_inc(NULL);
    mx_gauge_set(NULL, 1);
    mx_histogram_observe(NULL, 1);

    char *text = render(r);
    assert_non_null(strstr(text, "# HELP pyralog_x_total X things.\n"
                                 "# TYPE pyralog_x_total counter\n"
                                 "pyralog_x_total{api=\"produce\"} 6\n"
                                 "pyralog_x_total{api=\"fetch\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE pyralog_y gauge\npyralog_y 1.5\n"));
    /* The z family was never created by the failed lookups. */
    assert_null(strstr(text, "pyralog_z_total"));
    free(text);
    mx_registry_free(r);
}

static void test_histogram(void **state)
{
    (void)state;
    struct mx_registry *r;
    assert_int_equal(mx_registry_new(&r), 0);
    const double bounds[] = {0.001, 0.01, 1};
    struct mx_histogram *h =
        mx_histogram_get(r, "pyralog_lat_seconds", "Latency.", "op=\"a\"", bounds, 3);
    assert_non_null(h);
    const double bad[] = {1, 1};
    assert_null(mx_histogram_get(r, "pyralog_bad_seconds", "", NULL, bad, 2));
    mx_histogram_observe(h, 0.0005);     /* le 0.001 */
    mx_histogram_observe(h, 0.001);      /* le 0.001 (bounds are inclusive) */
    mx_histogram_observe(h, 0.5);        /* le 1 */
    mx_histogram_observe(h, 7);          /* +Inf only */
    mx_histogram_observe_ns(h, 2000000); /* 0.002 s: le 0.01 */
    assert_int_equal(mx_histogram_count(h), 5);
    char *text = render(r);
    assert_non_null(strstr(text, "# TYPE pyralog_lat_seconds histogram\n"
                                 "pyralog_lat_seconds_bucket{op=\"a\",le=\"0.001\"} 2\n"
                                 "pyralog_lat_seconds_bucket{op=\"a\",le=\"0.01\"} 3\n"
                                 "pyralog_lat_seconds_bucket{op=\"a\",le=\"1\"} 4\n"
                                 "pyralog_lat_seconds_bucket{op=\"a\",le=\"+Inf\"} 5\n"
                                 "pyralog_lat_seconds_sum{op=\"a\"} 7.5035"));
    assert_non_null(strstr(text, "pyralog_lat_seconds_count{op=\"a\"} 5\n"));
    free(text);
    mx_registry_free(r);
}

static void test_series_limit(void **state)
{
    (void)state;
    struct mx_registry *r;
    assert_int_equal(mx_registry_new(&r), 0);
    char labels[64];
    for (int i = 0; i < MX_MAX_SERIES; i++) {
        snprintf(labels, sizeof labels, "p=\"%d\"", i);
        assert_non_null(mx_counter_get(r, "pyralog_many_total", "", labels));
    }
    snprintf(labels, sizeof labels, "p=\"%d\"", MX_MAX_SERIES);
    assert_null(mx_counter_get(r, "pyralog_many_total", "", labels));
    /* Existing series are still found. */
    assert_non_null(mx_counter_get(r, "pyralog_many_total", "", "p=\"0\""));
    mx_registry_free(r);
}

struct worker {
    struct mx_counter *c;
    struct mx_histogram *h;
    struct mx_gauge *g;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 100000; i++) {
        mx_counter_inc(w->c);
        mx_histogram_observe(w->h, 1.0);
        mx_gauge_add(w->g, 1.0);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct mx_registry *r;
    assert_int_equal(mx_registry_new(&r), 0);
    const double bounds[] = {0.5, 2};
    struct worker w = {mx_counter_get(r, "pyralog_t_total", "", NULL),
                       mx_histogram_get(r, "pyralog_t_seconds", "", NULL, bounds, 2),
                       mx_gauge_get(r, "pyralog_t", "", NULL)};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, work, &w);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(mx_counter_value(w.c), 400000);
    assert_int_equal(mx_histogram_count(w.h), 400000);
    assert_true(mx_gauge_value(w.g) == 400000.0);
    mx_registry_free(r);
}

static void collect(void *ctx, struct mx_sink *s)
{
    int *calls = ctx;
    (*calls)++;
    mx_sink_family(s, "pyralog_log_end_offset", "Next offset.", MX_GAUGE);
    mx_sink_sample(s, "topic=\"a\\\"b\",partition=\"0\"", 42);
    mx_sink_sample(s, "bad labels", 1); /* dropped */
}

static void test_collector_and_escape(void **state)
{
    (void)state;
    struct mx_registry *r;
    assert_int_equal(mx_registry_new(&r), 0);
    int calls = 0;
    assert_int_equal(mx_collector_add(r, collect, &calls), 0);
    assert_int_equal(mx_collector_add(r, collect, &calls), PLG_EEXIST);
    char *text = render(r);
    assert_int_equal(calls, 1);
    assert_string_equal(text, "# HELP pyralog_log_end_offset Next offset.\n"
                              "# TYPE pyralog_log_end_offset gauge\n"
                              "pyralog_log_end_offset{topic=\"a\\\"b\",partition=\"0\"} 42\n");
    free(text);
    assert_int_equal(mx_collector_remove(r, collect, &calls), 0);
    assert_int_equal(mx_collector_remove(r, collect, &calls), PLG_ENOTFOUND);
    char esc[16];
    assert_int_equal(mx_label_escape(esc, sizeof esc, "a\"b\\c\nd"), 10);
    assert_string_equal(esc, "a\\\"b\\\\c\\nd");
    assert_int_equal(mx_label_escape(esc, 4, "abcdef"), 3);
    mx_registry_free(r);
}

static void test_default_process(void **state)
{
    (void)state;
    struct mx_registry *r = mx_default();
    assert_non_null(r);
    char *text = render(r);
    assert_non_null(strstr(text, "# TYPE pyralog_process_resident_memory_bytes gauge\n"));
    assert_non_null(strstr(text, "pyralog_process_cpu_seconds_total "));
    free(text);
    mx_default_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge),        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_series_limit),         cmocka_unit_test(test_threads),
        cmocka_unit_test(test_collector_and_escape), cmocka_unit_test(test_default_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
