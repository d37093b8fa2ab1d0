/*
 * rdk_admin_probe — runs librdkafka admin operations against a bootstrap server and prints one
 * line per result, for codec conformance tests: create topic (3 partitions, one config),
 * describe its configs, alter configs, incremental alter configs, create partitions (to 4),
 * delete it. Exit 0 when every operation reported success.
 *
 * usage: rdk_admin_probe BOOTSTRAP TOPIC
 */
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static int failures;

static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q, rd_kafka_event_type_t type)
{
    for (int i = 0; i < 100; i++) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 200);
        if (!ev)
            continue;
        if (rd_kafka_event_type(ev) == type)
            return ev;
        rd_kafka_event_destroy(ev);
    }
    return NULL;
}

static void check_topics(const char *what, const rd_kafka_topic_result_t **res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        printf("%s %s %s\n", what, rd_kafka_topic_result_name(res[i]), rd_kafka_err2name(e));
        if (e)
            failures++;
    }
    if (n == 0)
        failures++;
}

static void check_resources(const char *what, const rd_kafka_ConfigResource_t **res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(res[i]);
        size_t nc;
        const rd_kafka_ConfigEntry_t **c = rd_kafka_ConfigResource_configs(res[i], &nc);
        printf("%s %s %s configs=%zu", what, rd_kafka_ConfigResource_name(res[i]),
               rd_kafka_err2name(e), nc);
        for (size_t j = 0; j < nc; j++)
            printf(" %s=%s", rd_kafka_ConfigEntry_name(c[j]),
                   rd_kafka_ConfigEntry_value(c[j]) ? rd_kafka_ConfigEntry_value(c[j]) : "(null)");
        printf("\n");
        if (e)
            failures++;
    }
    if (n == 0)
        failures++;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rdk_admin_probe BOOTSTRAP TOPIC\n");
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rdk_admin_probe: %s\n", err);
        return 1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    const char *topic = argv[2];
    rd_kafka_event_t *ev;
    size_t n;

    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 3, 1, err, sizeof err);
    rd_kafka_NewTopic_set_config(nt, "retention.ms", "1000");
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    if ((ev = wait_result(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT))) {
        const rd_kafka_topic_result_t **r =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        check_topics("create", r, n);
        rd_kafka_event_destroy(ev);
    } else
        failures++;
    rd_kafka_NewTopic_destroy(nt);

    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_DescribeConfigs(rk, &cr, 1, NULL, q);
    if ((ev = wait_result(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT))) {
        const rd_kafka_ConfigResource_t **r = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        check_resources("describe", r, n);
        rd_kafka_event_destroy(ev);
    } else
        failures++;
    rd_kafka_ConfigResource_destroy(cr);

    cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_ConfigResource_set_config(cr, "retention.ms", "2000");
    rd_kafka_AlterConfigs(rk, &cr, 1, NULL, q);
    if ((ev = wait_result(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT))) {
        const rd_kafka_ConfigResource_t **r =
            rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
        check_resources("alter", r, n);
        rd_kafka_event_destroy(ev);
    } else
        failures++;
    rd_kafka_ConfigResource_destroy(cr);

    rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(topic, 4, err, sizeof err);
    rd_kafka_CreatePartitions(rk, &np, 1, NULL, q);
    if ((ev = wait_result(q, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT))) {
        const rd_kafka_topic_result_t **r =
            rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
        check_topics("partitions", r, n);
        rd_kafka_event_destroy(ev);
    } else
        failures++;
    rd_kafka_NewPartitions_destroy(np);

    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
    if ((ev = wait_result(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT))) {
        const rd_kafka_topic_result_t **r =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        check_topics("delete", r, n);
        rd_kafka_event_destroy(ev);
    } else
        failures++;
    rd_kafka_DeleteTopic_destroy(dt);

    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    printf("failures=%d\n", failures);
    return failures ? 1 : 0;
}
