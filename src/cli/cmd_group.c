/*
 * cmd_group.c — `pyralog group list` and `pyralog group describe G`: consumer groups through the
 * Kafka protocol, with librdkafka's admin API (ListConsumerGroups, DescribeConsumerGroups,
 * ListConsumerGroupOffsets) and watermark queries for the lag.
 *
 * describe prints the group line, one line per member (id, client, host, assigned partitions)
 * and one line per partition with a committed offset or an assignment:
 *   TOPIC PARTITION COMMITTED LOG-END LAG MEMBER
 * where LAG = LOG-END - COMMITTED ("-" when nothing is committed).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cli/cli.h"

#define ADMIN_TIMEOUT_MS 15000

static void usage(FILE *f)
{
    fprintf(f, "usage: pyralog group list [--bootstrap H:P]\n"
               "       pyralog group describe GROUP [--bootstrap H:P]\n\n"
               "Lists consumer groups, or shows one group: state, members and their\n"
               "partitions, and per partition the committed offset, log end offset and lag.\n"
               "  --bootstrap H:P   Kafka listener of the server (default 127.0.0.1:9092)\n");
}

static rd_kafka_t *admin_client(const char *bootstrap)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(c, "log_level", "3", err, sizeof err)) {
        rd_kafka_conf_destroy(c);
        cli_err("group", "%s", err);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!rk)
        cli_err("group", "%s", err);
    return rk;
}

/* Waits for the admin result of type `want` on q; NULL (after printing why) on failure. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t want,
                                    const char *what)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 1000);
    if (!ev) {
        cli_err(what, "timed out");
        return NULL;
    }
    if (rd_kafka_event_type(ev) != want || rd_kafka_event_error(ev)) {
        cli_err(what, "%s", rd_kafka_event_error_string(ev));
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
    return o;
}

static int group_list(rd_kafka_t *rk)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    rd_kafka_ListConsumerGroups(rk, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, "group list");
    int rc = 1;
    if (ev) {
        const rd_kafka_ListConsumerGroups_result_t *res =
            rd_kafka_event_ListConsumerGroups_result(ev);
        size_t n, nerr;
        const rd_kafka_ConsumerGroupListing_t **gs =
            rd_kafka_ListConsumerGroups_result_valid(res, &n);
        const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
        for (size_t i = 0; i < n; i++)
            printf("%s\t%s\n", rd_kafka_ConsumerGroupListing_group_id(gs[i]),
                   rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(gs[i])));
        for (size_t i = 0; i < nerr; i++)
            cli_err("group list", "%s", rd_kafka_error_string(errs[i]));
        rc = nerr ? 1 : 0;
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return rc;
}

/* The member that owns topic/partition in the description, or "-". */
static const char *owner_of(const rd_kafka_ConsumerGroupDescription_t *d, const char *topic,
                            int32_t partition)
{
    size_t n = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d, i);
        const rd_kafka_topic_partition_list_t *ps =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
        if (ps && rd_kafka_topic_partition_list_find(ps, topic, partition))
            return rd_kafka_MemberDescription_consumer_id(m);
    }
    return "-";
}

static int print_describe(const rd_kafka_ConsumerGroupDescription_t *d,
                          rd_kafka_topic_partition_list_t *all)
{
    const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(d);
    if (e) {
        cli_err("group describe", "%s", rd_kafka_error_string(e));
        return 1;
    }
    const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(d);
    printf("group %s state %s assignor %s members %zu coordinator %d\n",
           rd_kafka_ConsumerGroupDescription_group_id(d),
           rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d)),
           rd_kafka_ConsumerGroupDescription_partition_assignor(d),
           rd_kafka_ConsumerGroupDescription_member_count(d), coord ? rd_kafka_Node_id(coord) : -1);
    size_t n = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d, i);
        const rd_kafka_topic_partition_list_t *ps =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
        printf("member %s client %s host %s partitions ", rd_kafka_MemberDescription_consumer_id(m),
               rd_kafka_MemberDescription_client_id(m), rd_kafka_MemberDescription_host(m));
        for (int j = 0; ps && j < ps->cnt; j++) {
            printf("%s%s-%d", j ? "," : "", ps->elems[j].topic, ps->elems[j].partition);
            if (!rd_kafka_topic_partition_list_find(all, ps->elems[j].topic,
                                                    ps->elems[j].partition))
                rd_kafka_topic_partition_list_add(all, ps->elems[j].topic, ps->elems[j].partition)
                    ->offset = RD_KAFKA_OFFSET_INVALID;
        }
        printf("%s\n", ps && ps->cnt ? "" : "-");
    }
    return 0;
}

static int group_describe(rd_kafka_t *rk, const char *group)
{
    int rc = 1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(16);
    /* 1. Committed offsets of every partition (OffsetFetch with all topics). */
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev =
        admin_wait(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, "group describe");
    if (!ev)
        goto out;
    size_t ng;
    const rd_kafka_group_result_t **gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &ng);
    for (size_t i = 0; i < ng; i++) {
        const rd_kafka_topic_partition_list_t *ps = rd_kafka_group_result_partitions(gr[i]);
        for (int j = 0; ps && j < ps->cnt; j++)
            rd_kafka_topic_partition_list_add(all, ps->elems[j].topic, ps->elems[j].partition)
                ->offset = ps->elems[j].offset;
    }
    rd_kafka_event_destroy(ev);

    /* 2. State, members and assignments. */
    const char *groups[] = {group};
    o = admin_opts(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_DescribeConsumerGroups(rk, groups, 1, o, q);
    rd_kafka_AdminOptions_destroy(o);
    ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, "group describe");
    if (!ev)
        goto out;
    size_t nd;
    const rd_kafka_ConsumerGroupDescription_t **ds = rd_kafka_DescribeConsumerGroups_result_groups(
        rd_kafka_event_DescribeConsumerGroups_result(ev), &nd);
    if (nd != 1 || print_describe(ds[0], all)) {
        rd_kafka_event_destroy(ev);
        goto out;
    }

    /* 3. Log end offsets and lag. */
    rd_kafka_topic_partition_list_sort(all, NULL, NULL);
    printf("%-24s %9s %12s %12s %10s  %s\n", "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG",
           "MEMBER");
    rc = 0;
    for (int j = 0; j < all->cnt; j++) {
        const rd_kafka_topic_partition_t *p = &all->elems[j];
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &lo, &hi, 5000);
        char committed[24] = "-", end[24] = "-", lag[24] = "-";
        if (p->offset >= 0)
            snprintf(committed, sizeof committed, "%lld", (long long)p->offset);
        if (!e) {
            snprintf(end, sizeof end, "%lld", (long long)hi);
            snprintf(lag, sizeof lag, "%lld", (long long)(hi - (p->offset >= 0 ? p->offset : lo)));
        } else {
            rc = 1;
            cli_err("group describe", "%s-%d: %s", p->topic, p->partition, rd_kafka_err2str(e));
        }
        printf("%-24s %9d %12s %12s %10s  %s\n", p->topic, p->partition, committed, end, lag,
               owner_of(ds[0], p->topic, p->partition));
    }
    rd_kafka_event_destroy(ev);
out:
    rd_kafka_topic_partition_list_destroy(all);
    rd_kafka_queue_destroy(q);
    return rc;
}

int cmd_group(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092";
    static const struct option opts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            bootstrap = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    bool list = nargs == 1 && !strcmp(args[0], "list");
    bool describe = nargs == 2 && !strcmp(args[0], "describe");
    if (!list && !describe) {
        cli_err("group", "expected `list` or `describe GROUP` (see pyralog group --help)");
        return 2;
    }
    rd_kafka_t *rk = admin_client(bootstrap);
    if (!rk)
        return 1;
    int rc = list ? group_list(rk) : group_describe(rk, args[1]);
    rd_kafka_destroy(rk);
    return rc;
}
