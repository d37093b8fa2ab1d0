/*
 * cmd_consume_group.c — `pyralog consume TOPIC --group G`: the group-managed variant of consume.
 *
 * Joins consumer group G (librdkafka high-level consumer: the server's group coordinator hands
 * out the partitions and rebalances when members come and go) and prints one record value per
 * line. Offsets are committed for what was printed: each record's offset is stored only after
 * it is written to stdout, auto-commit sends the stored offsets every second, and closing the
 * consumer (after --count N, or on SIGINT/SIGTERM) commits the rest and leaves the group. Where
 * nothing is committed yet it starts at the end of each partition, or at the beginning with
 * --from-beginning.
 */
#include <signal.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/kclient.h"

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    g_stop = 1;
}

int consume_group(const char *bootstrap, const char *topic, const char *group, bool from_beginning,
                  int64_t count)
{
    const char *extra[] = {"group.id", group, "auto.offset.reset",
                           from_beginning ? "earliest" : "latest", "enable.auto.commit", "true",
                           "auto.commit.interval.ms", "1000", "enable.auto.offset.store", "false",
                           "enable.partition.eof", "false",
                           /* A member that vanished without leaving holds a rebalance
                            * this long (librdkafka's default is 45 s). */
                           "session.timeout.ms", "10000", NULL};
    rd_kafka_t *rk = kclient_new("consume", RD_KAFKA_CONSUMER, bootstrap, extra);
    if (!rk)
        return 1;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e) {
        cli_err("consume", "subscribe to %s: %s", topic, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return 1;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    int rc = 0;
    int64_t got = 0;
    while (!rc && !g_stop && (count < 0 || got < count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err) {
            /* Transient errors (coordinator moves, rebalances) are retried by librdkafka. */
            if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
                m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
                cli_err("consume", "%s", rd_kafka_message_errstr(m));
                rc = 1;
            }
        } else {
            fwrite(m->payload, 1, m->len, stdout);
            fputc('\n', stdout);
            fflush(stdout);
            /* Printed: only now may its offset be committed. */
            rd_kafka_offset_store(m->rkt, m->partition, m->offset);
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    e = rd_kafka_consumer_close(rk);
    if (e && !rc) {
        cli_err("consume", "leaving group %s: %s", group, rd_kafka_err2str(e));
        rc = 1;
    }
    rd_kafka_destroy(rk);
    return rc;
}
