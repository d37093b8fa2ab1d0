/*
 * cmd_topic.c — `pyralog topic create|list|describe|delete`: topic administration through the
 * Kafka protocol (librdkafka's admin API), so it works against any Kafka-compatible broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/kclient.h"

#define ADMIN_TIMEOUT_MS                                                                           \
    60000 /* creating many partitions fsyncs each one: slow disks need time                        \
           */

static void usage(FILE *out)
{
    fprintf(out, "usage: pyralog topic create NAME [--partitions N] [--config KEY=VALUE ...]\n"
                 "       pyralog topic list\n"
                 "       pyralog topic describe NAME\n"
                 "       pyralog topic delete NAME\n"
                 "options: --bootstrap H:P (default " KCLIENT_DEFAULT_BOOTSTRAP ")\n\n"
                 "Creates, lists, describes and deletes topics through the Kafka admin API.\n"
                 "describe prints one line per partition and the topic's configuration.\n");
}

/* Waits for the admin result event of type `want`; NULL (error printed) on timeout. */
static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q, rd_kafka_event_type_t want)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
    if (!ev) {
        cli_err("topic", "no answer from the broker");
        return NULL;
    }
    if (rd_kafka_event_type(ev) != want || rd_kafka_event_error(ev)) {
        cli_err("topic", "%s", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static rd_kafka_AdminOptions_t *admin_opts(rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
    char err[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_request_timeout(o, ADMIN_TIMEOUT_MS, err, sizeof err);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS)
        rd_kafka_AdminOptions_set_operation_timeout(o, ADMIN_TIMEOUT_MS, err, sizeof err);
    return o;
}

static int topic_result(const rd_kafka_topic_result_t **res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_topic_result_error(res[i])) {
            cli_err("topic", "%s: %s", rd_kafka_topic_result_name(res[i]),
                    rd_kafka_topic_result_error_string(res[i])
                        ? rd_kafka_topic_result_error_string(res[i])
                        : rd_kafka_err2str(rd_kafka_topic_result_error(res[i])));
            return 1;
        }
    }
    return 0;
}

static int do_create(rd_kafka_t *rk, const char *name, int partitions, char **configs, int nconf)
{
    char err[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, partitions, -1, err, sizeof err);
    if (!nt) {
        cli_err("topic", "%s", err);
        return 2;
    }
    for (int i = 0; i < nconf; i++) {
        char *eq = strchr(configs[i], '=');
        if (!eq) {
            cli_err("topic", "--config needs KEY=VALUE, got \"%s\"", configs[i]);
            rd_kafka_NewTopic_destroy(nt);
            return 2;
        }
        *eq = 0;
        rd_kafka_NewTopic_set_config(nt, configs[i], eq + 1);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(rk, &nt, 1, o, q);
    rd_kafka_event_t *ev = wait_result(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
    int rc = 1;
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rc = topic_result(res, n);
        rd_kafka_event_destroy(ev);
    }
    if (rc == 0)
        printf("created %s\n", name);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    return rc;
}

static int do_delete(rd_kafka_t *rk, const char *name)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopics(rk, &dt, 1, o, q);
    rd_kafka_event_t *ev = wait_result(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT);
    int rc = 1;
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        rc = topic_result(res, n);
        rd_kafka_event_destroy(ev);
    }
    if (rc == 0)
        printf("deleted %s\n", name);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_queue_destroy(q);
    return rc;
}

static int topic_name_cmp(const void *a, const void *b)
{
    return strcmp(((const rd_kafka_metadata_topic_t *)a)->topic,
                  ((const rd_kafka_metadata_topic_t *)b)->topic);
}

static int do_list(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, KCLIENT_METADATA_TIMEOUT_MS);
    if (e) {
        cli_err("topic", "metadata: %s", rd_kafka_err2str(e));
        return 1;
    }
    rd_kafka_metadata_topic_t *v = calloc((size_t)md->topic_cnt + 1, sizeof *v);
    if (!v) {
        rd_kafka_metadata_destroy(md);
        return 1;
    }
    memcpy(v, md->topics, (size_t)md->topic_cnt * sizeof *v);
    qsort(v, (size_t)md->topic_cnt, sizeof *v, topic_name_cmp);
    for (int i = 0; i < md->topic_cnt; i++)
        printf("%s\n", v[i].topic);
    free(v);
    rd_kafka_metadata_destroy(md);
    return 0;
}

static int do_describe(rd_kafka_t *rk, const char *name)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, KCLIENT_METADATA_TIMEOUT_MS);
    rd_kafka_topic_destroy(rkt);
    if (e) {
        cli_err("topic", "metadata: %s", rd_kafka_err2str(e));
        return 1;
    }
    if (md->topic_cnt != 1 || md->topics[0].err) {
        cli_err("topic", "%s: %s", name,
                md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
        rd_kafka_metadata_destroy(md);
        return 1;
    }
    const rd_kafka_metadata_topic_t *t = &md->topics[0];
    printf("topic %s partitions %d\n", t->topic, t->partition_cnt);
    for (int i = 0; i < t->partition_cnt; i++) {
        const rd_kafka_metadata_partition_t *p = &t->partitions[i];
        printf("  partition %d leader %d replicas", p->id, p->leader);
        for (int r = 0; r < p->replica_cnt; r++)
            printf("%s%d", r ? "," : " ", p->replicas[r]);
        printf(" isr");
        for (int r = 0; r < p->isr_cnt; r++)
            printf("%s%d", r ? "," : " ", p->isrs[r]);
        printf("\n");
    }
    rd_kafka_metadata_destroy(md);

    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
    rd_kafka_event_t *ev = wait_result(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
    int rc = 1;
    if (ev) {
        size_t n;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        rc = 0;
        for (size_t i = 0; i < n; i++) {
            if (rd_kafka_ConfigResource_error(rs[i])) {
                cli_err("topic", "configs: %s", rd_kafka_ConfigResource_error_string(rs[i]));
                rc = 1;
                continue;
            }
            size_t nc;
            const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(rs[i], &nc);
            printf("configs\n");
            for (size_t k = 0; k < nc; k++)
                printf("  %s=%s%s\n", rd_kafka_ConfigEntry_name(ce[k]),
                       rd_kafka_ConfigEntry_value(ce[k]) ? rd_kafka_ConfigEntry_value(ce[k]) : "",
                       rd_kafka_ConfigEntry_is_default(ce[k]) ? " (default)" : "");
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    return rc;
}

int cmd_topic(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *bootstrap = KCLIENT_DEFAULT_BOOTSTRAP;
    const char *sub = NULL, *name = NULL;
    int64_t partitions = 1;
    char **configs = calloc((size_t)argc + 1, sizeof *configs);
    int nconf = 0;
    if (!configs)
        return 1;
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--bootstrap") || !strcmp(a, "--partitions") || !strcmp(a, "--config")) &&
            i + 1 >= argc) {
            cli_err("topic", "%s needs a value", a);
            rc = 2;
        } else if (!strcmp(a, "--bootstrap")) {
            bootstrap = argv[++i];
        } else if (!strcmp(a, "--partitions")) {
            if (!kclient_parse_i64(argv[++i], &partitions) || partitions < 1 ||
                partitions > 100000) {
                cli_err("topic", "--partitions must be 1..100000, got \"%s\"", argv[i]);
                rc = 2;
            }
        } else if (!strcmp(a, "--config")) {
            configs[nconf++] = argv[++i];
        } else if (a[0] == '-') {
            cli_err("topic", "unknown option %s (see pyralog topic --help)", a);
            rc = 2;
        } else if (!sub) {
            sub = a;
        } else if (!name) {
            name = a;
        } else {
            cli_err("topic", "unexpected argument \"%s\"", a);
            rc = 2;
        }
    }
    bool needs_name = sub && strcmp(sub, "list");
    if (!rc && (!sub || (needs_name && !name) || (!needs_name && name))) {
        usage(stderr);
        rc = 2;
    }
    if (!rc && strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "describe") &&
        strcmp(sub, "delete")) {
        cli_err("topic", "unknown subcommand \"%s\" (create, list, describe, delete)", sub);
        rc = 2;
    }
    if (!rc && nconf && strcmp(sub, "create")) {
        cli_err("topic", "--config only applies to create");
        rc = 2;
    }
    if (rc) {
        free(configs);
        return rc;
    }
    rd_kafka_t *rk = kclient_new("topic", RD_KAFKA_PRODUCER, bootstrap, NULL);
    if (!rk) {
        free(configs);
        return 1;
    }
    if (!strcmp(sub, "create"))
        rc = do_create(rk, name, (int)partitions, configs, nconf);
    else if (!strcmp(sub, "list"))
        rc = do_list(rk);
    else if (!strcmp(sub, "describe"))
        rc = do_describe(rk, name);
    else
        rc = do_delete(rk, name);
    rd_kafka_destroy(rk);
    free(configs);
    return rc;
}
