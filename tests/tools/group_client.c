/*
 * group_client — a librdkafka (2.0.2) client for the consumer-group integration tests.
 *
 *   group_client create  BOOTSTRAP TOPIC PARTITIONS
 *   group_client produce BOOTSTRAP TOPIC FIRST COUNT      values "v<i>", keys "k<i>", acks=all
 *   group_client consume BOOTSTRAP TOPIC GROUP OUTFILE [SESSION_MS] [COMMIT_EVERY]
 *
 * consume runs a high-level consumer (subscribe, cooperative-free eager rebalancing, manual
 * commits AFTER each record is written out) until SIGTERM/SIGINT, then closes (commits, leaves
 * the group). It appends one line per event to OUTFILE, flushed at once so a SIGKILL loses
 * nothing written: "ASSIGN <ms> p,p,..", "REVOKE <ms>", "MSG <partition> <offset> <value>",
 * "COMMIT <ms> <err>". Exit 0 on a clean stop, 1 on errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static volatile sig_atomic_t stop;
static FILE *out;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rd_kafka_conf_t *base_conf(const char *bootstrap)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof err)) {
        fprintf(stderr, "group_client: %s\n", err);
        exit(2);
    }
    return c;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "group_client: %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static int cmd_create(const char *bootstrap, const char *topic, int parts)
{
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(bootstrap), err, sizeof err);
    if (!rk) {
        fprintf(stderr, "group_client: %s\n", err);
        return 1;
    }
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = 1;
    if (ev && !rd_kafka_event_error(ev)) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rc = n == 1 &&
                     (rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_NO_ERROR ||
                      rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                 ? 0
                 : 1;
        if (rc)
            fprintf(stderr, "group_client: create %s: %s\n", topic,
                    n ? rd_kafka_err2str(rd_kafka_topic_result_error(res[0])) : "no result");
    } else {
        fprintf(stderr, "group_client: create %s: %s\n", topic,
                ev ? rd_kafka_event_error_string(ev) : "timed out");
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static int delivery_failures;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        delivery_failures++;
        fprintf(stderr, "group_client: delivery: %s\n", rd_kafka_err2str(m->err));
    }
}

static int cmd_produce(const char *bootstrap, const char *topic, long first, long count)
{
    char err[256];
    rd_kafka_conf_t *c = base_conf(bootstrap);
    set(c, "acks", "all");
    set(c, "linger.ms", "5");
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "group_client: %s\n", err);
        return 1;
    }
    for (long i = first; i < first + count; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "k%ld", i);
        snprintf(val, sizeof val, "v%ld", i);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                      RD_KAFKA_V_VALUE(val, strlen(val)),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        if (e) {
            fprintf(stderr, "group_client: produce: %s\n", rd_kafka_err2str(e));
            rd_kafka_destroy(rk);
            return 1;
        }
        rd_kafka_poll(rk, 0);
    }
    int left = rd_kafka_flush(rk, 30000);
    rd_kafka_destroy(rk);
    if (left || delivery_failures) {
        fprintf(stderr, "group_client: %d undelivered, %d failed\n", left, delivery_failures);
        return 1;
    }
    return 0;
}

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fflush(out);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        char line[4096] = "";
        size_t n = 0;
        for (int i = 0; i < parts->cnt && n < sizeof line - 16; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%d", i ? "," : "",
                                  parts->elems[i].partition);
        emit("ASSIGN %lld %s\n", now_ms(), line);
        rd_kafka_assign(rk, parts);
    } else {
        /* Commit what was processed before giving the partitions away. */
        rd_kafka_resp_err_t ce = rd_kafka_commit(rk, NULL, 0);
        emit("REVOKE %lld commit=%d\n", now_ms(), (int)ce);
        rd_kafka_assign(rk, NULL);
    }
}

static int cmd_consume(const char *bootstrap, const char *topic, const char *group,
                       const char *path, const char *session_ms, int commit_every)
{
    char err[256];
    out = fopen(path, "a");
    if (!out) {
        fprintf(stderr, "group_client: %s: %s\n", path, strerror(errno));
        return 1;
    }
    rd_kafka_conf_t *c = base_conf(bootstrap);
    set(c, "group.id", group);
    set(c, "enable.auto.commit", "false");
    set(c, "enable.auto.offset.store", "false");
    set(c, "auto.offset.reset", "earliest");
    set(c, "session.timeout.ms", session_ms);
    set(c, "heartbeat.interval.ms", "500");
    set(c, "partition.assignment.strategy", "range,roundrobin");
    set(c, "topic.metadata.refresh.interval.ms", "1000");
    rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "group_client: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e) {
        fprintf(stderr, "group_client: subscribe: %s\n", rd_kafka_err2str(e));
        return 1;
    }
    int uncommitted = 0, rc = 0;
    while (!stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (uncommitted) {
                e = rd_kafka_commit(rk, NULL, 0);
                emit("COMMIT %lld %d\n", now_ms(), (int)e);
                uncommitted = 0;
            }
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "group_client: consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        emit("MSG %d %" PRId64 " %.*s\n", (int)m->partition, m->offset, (int)m->len,
             (const char *)m->payload);
        /* Processed (written out): only now may its offset be committed. */
        rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(one, topic, m->partition)->offset = m->offset + 1;
        rd_kafka_offsets_store(rk, one);
        rd_kafka_topic_partition_list_destroy(one);
        rd_kafka_message_destroy(m);
        if (++uncommitted >= commit_every) {
            e = rd_kafka_commit(rk, NULL, 0);
            if (e)
                emit("COMMIT %lld %d\n", now_ms(), (int)e);
            uncommitted = 0;
        }
    }
    if (uncommitted)
        rd_kafka_commit(rk, NULL, 0);
    e = rd_kafka_consumer_close(rk);
    if (e) {
        fprintf(stderr, "group_client: close: %s\n", rd_kafka_err2str(e));
        rc = 1;
    }
    rd_kafka_destroy(rk);
    emit("CLOSED %lld\n", now_ms());
    fclose(out);
    return rc;
}

int main(int argc, char **argv)
{
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (argc == 5 && !strcmp(argv[1], "create"))
        return cmd_create(argv[2], argv[3], atoi(argv[4]));
    if (argc == 6 && !strcmp(argv[1], "produce"))
        return cmd_produce(argv[2], argv[3], atol(argv[4]), atol(argv[5]));
    if (argc >= 6 && argc <= 8 && !strcmp(argv[1], "consume"))
        return cmd_consume(argv[2], argv[3], argv[4], argv[5], argc > 6 ? argv[6] : "6000",
                           argc > 7 ? atoi(argv[7]) : 1);
    fprintf(stderr, "usage: group_client create BOOTSTRAP TOPIC PARTITIONS\n"
                    "       group_client produce BOOTSTRAP TOPIC FIRST COUNT\n"
                    "       group_client consume BOOTSTRAP TOPIC GROUP OUTFILE [SESSION_MS] "
                    "[COMMIT_EVERY]\n");
    return 2;
}
