/*
 * kafka_idem_producer.c — a librdkafka producer for crash tests.
 *
 * Produces --count records (key "k<i>", value "v<i>") to --topic and appends one line
 * "<i> <partition> <offset>" to --acked FILE for every record the broker acknowledged, flushing
 * the file as it goes, so a test can check after a broker crash that every acknowledged record
 * is stored (exactly once with --idempotent). Exit 0 when every record was acknowledged,
 * 1 otherwise (counts on stderr).
 *
 * usage: kafka_idem_producer --bootstrap H:P --topic T --count N --acked FILE
 *        [--idempotent] [--acks 0|1|all] [--timeout-ms MS] [--rate-limit N/s]
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct state {
    FILE *acked;
    long ok, failed;
    char first_err[256];
};

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct state *st = opaque;
    if (m->err) {
        if (!st->failed++)
            snprintf(st->first_err, sizeof st->first_err, "%s", rd_kafka_err2str(m->err));
        return;
    }
    st->ok++;
    fprintf(st->acked, "%ld %d %lld\n", (long)(intptr_t)m->_private, m->partition,
            (long long)m->offset);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *bootstrap = NULL, *topic = NULL, *acked = NULL, *acks = "all", *timeout = "60000";
    long count = 0, rate = 0;
    int idem = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--idempotent")) {
            idem = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "kafka_idem_producer: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--bootstrap"))
            bootstrap = v;
        else if (!strcmp(a, "--topic"))
            topic = v;
        else if (!strcmp(a, "--count"))
            count = atol(v);
        else if (!strcmp(a, "--acked"))
            acked = v;
        else if (!strcmp(a, "--acks"))
            acks = v;
        else if (!strcmp(a, "--timeout-ms"))
            timeout = v;
        else if (!strcmp(a, "--rate-limit"))
            rate = atol(v);
        else {
            fprintf(stderr, "kafka_idem_producer: unknown option %s\n", a);
            return 2;
        }
    }
    if (!bootstrap || !topic || !acked || count <= 0) {
        fprintf(stderr, "usage: kafka_idem_producer --bootstrap H:P --topic T --count N "
                        "--acked FILE [--idempotent] [--acks 0|1|all] [--timeout-ms MS] "
                        "[--rate-limit N]\n");
        return 2;
    }
    struct state st = {0};
    st.acked = fopen(acked, "w");
    if (!st.acked) {
        perror(acked);
        return 1;
    }
    setvbuf(st.acked, NULL, _IOLBF, 0);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[] = {"bootstrap.servers",
                        bootstrap,
                        "acks",
                        acks,
                        "enable.idempotence",
                        idem ? "true" : "false",
                        "message.timeout.ms",
                        timeout,
                        "linger.ms",
                        "2",
                        "reconnect.backoff.ms",
                        "50",
                        "reconnect.backoff.max.ms",
                        "200",
                        "log_level",
                        "4",
                        NULL};
    for (int i = 0; kv[i]; i += 2) {
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "kafka_idem_producer: %s\n", err);
            return 2;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka_idem_producer: %s\n", err);
        return 1;
    }
    double t0 = now_s();
    for (long i = 0; i < count; i++) {
        char key[32], val[32];
        int kl = snprintf(key, sizeof key, "k%ld", i);
        int vl = snprintf(val, sizeof val, "v%ld", i);
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, (size_t)kl),
                RD_KAFKA_V_VALUE(val, (size_t)vl), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 50);
                continue;
            }
            if (e) {
                fprintf(stderr, "kafka_idem_producer: produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            break;
        }
        rd_kafka_poll(rk, 0);
        if (rate > 0) {
            double ahead = (double)(i + 1) / (double)rate - (now_s() - t0);
            if (ahead > 0.001)
                usleep((useconds_t)(ahead * 1e6));
        }
    }
    while (rd_kafka_outq_len(rk) > 0 && now_s() - t0 < 300)
        rd_kafka_poll(rk, 100);
    rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, err, sizeof err);
    fprintf(stderr, "kafka_idem_producer: acked=%ld failed=%ld first_error=\"%s\" fatal=\"%s\"\n",
            st.ok, st.failed, st.first_err, fatal ? err : "");
    rd_kafka_destroy(rk);
    fclose(st.acked);
    return st.ok == count && !fatal ? 0 : 1;
}
