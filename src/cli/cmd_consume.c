/*
 * cmd_consume.c — `pyralog consume TOPIC`: prints one record value per line on stdout.
 * Without a group it assigns partitions directly (all of them, or --partition P): from the end
 * by default, from the beginning with --from-beginning, or from --offset O. --count N stops
 * after N records; otherwise it runs until SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/kclient.h"

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    g_stop = 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: pyralog consume TOPIC [--from-beginning] [--count N]\n"
                 "                       [--partition P [--offset O]] [--bootstrap H:P]\n"
                 "       pyralog consume TOPIC --group G [--from-beginning] [--count N]\n\n"
                 "Prints one record value per line. Starts at the end of each partition unless\n"
                 "--from-beginning or --offset is given; stops after --count records, or on\n"
                 "SIGINT/SIGTERM. Default bootstrap " KCLIENT_DEFAULT_BOOTSTRAP ".\n"
                 "With --group G it joins consumer group G: the partitions are shared with the\n"
                 "group's other members, printed records are committed, and it resumes after\n"
                 "the group's committed offsets.\n");
}

int cmd_consume(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *bootstrap = KCLIENT_DEFAULT_BOOTSTRAP, *topic = NULL, *group = NULL;
    int64_t count = -1, partition = -1, offset = -1;
    bool from_beginning = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--from-beginning")) {
            from_beginning = true;
            continue;
        }
        if (a[0] == '-' && i + 1 >= argc) {
            cli_err("consume", "%s needs a value", a);
            return 2;
        }
        int64_t *target = !strcmp(a, "--count")       ? &count
                          : !strcmp(a, "--partition") ? &partition
                          : !strcmp(a, "--offset")    ? &offset
                                                      : NULL;
        if (target) {
            if (!kclient_parse_i64(argv[++i], target)) {
                cli_err("consume", "%s must be a non-negative number, got \"%s\"", a, argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--bootstrap")) {
            bootstrap = argv[++i];
        } else if (!strcmp(a, "--group")) {
            group = argv[++i];
        } else if (a[0] == '-') {
            cli_err("consume", "unknown option %s (see pyralog consume --help)", a);
            return 2;
        } else if (!topic) {
            topic = a;
        } else {
            cli_err("consume", "unexpected argument \"%s\"", a);
            return 2;
        }
    }
    if (!topic) {
        usage(stderr);
        return 2;
    }
    if (group && (partition >= 0 || offset >= 0)) {
        cli_err("consume", "--group cannot be combined with --partition or --offset");
        return 2;
    }
    if (group)
        return consume_group(bootstrap, topic, group, from_beginning, count);
    if (offset >= 0 && partition < 0) {
        cli_err("consume", "--offset needs --partition");
        return 2;
    }
    const char *extra[] = {"enable.partition.eof", "false", NULL};
    rd_kafka_t *rk = kclient_new("consume", RD_KAFKA_CONSUMER, bootstrap, extra);
    if (!rk)
        return 1;
    int np = kclient_partition_count("consume", rk, topic);
    if (np < 0) {
        rd_kafka_destroy(rk);
        return 1;
    }
    if (partition >= np) {
        cli_err("consume", "topic %s has %d partitions, no partition %lld", topic, np,
                (long long)partition);
        rd_kafka_destroy(rk);
        return 1;
    }
    int64_t start = offset >= 0      ? offset
                    : from_beginning ? RD_KAFKA_OFFSET_BEGINNING
                                     : RD_KAFKA_OFFSET_END;
    /* Partitions are consumed with the simple (group-less) consumer into one queue. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    int rc = 0;
    for (int p = 0; p < np && !rc; p++) {
        if (partition >= 0 && p != partition)
            continue;
        if (rd_kafka_consume_start_queue(rkt, p, start, q) < 0) {
            cli_err("consume", "partition %d: %s", p, rd_kafka_err2str(rd_kafka_last_error()));
            rc = 1;
        }
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    int64_t got = 0;
    while (!rc && !g_stop && (count < 0 || got < count)) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(q, 200);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                cli_err("consume", "%s", rd_kafka_message_errstr(m));
                rc = 1;
            }
        } else {
            fwrite(m->payload, 1, m->len, stdout);
            fputc('\n', stdout);
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    for (int p = 0; p < np; p++)
        if (partition < 0 || p == partition)
            rd_kafka_consume_stop(rkt, p);
    rd_kafka_queue_destroy(q);
    rd_kafka_topic_destroy(rkt);
    fflush(stdout);
    rd_kafka_destroy(rk);
    return rc;
}
