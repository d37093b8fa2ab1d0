/*
 * cmd_produce.c — `pyralog produce TOPIC`: one record per stdin line through librdkafka.
 * With --key-separator C the text before the first C is the key. Exits 0 only when every record
 * was acknowledged (per --acks); otherwise one error line and exit 1.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/kclient.h"

struct pstate {
    long delivered;
    long failed;
    char first_error[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct pstate *st = opaque;
    if (m->err) {
        if (!st->failed++)
            snprintf(st->first_error, sizeof st->first_error, "%s", rd_kafka_err2str(m->err));
    } else {
        st->delivered++;
    }
}

static void usage(FILE *out)
{
    fprintf(out, "usage: pyralog produce TOPIC [--partition P] [--key-separator C]\n"
                 "                       [--acks 0|1|all] [--bootstrap H:P]\n\n"
                 "Sends one record per line of standard input (the newline is not part of the\n"
                 "value). --key-separator C: text before the first C is the key. Default acks\n"
                 "all, bootstrap " KCLIENT_DEFAULT_BOOTSTRAP ".\n");
}

int cmd_produce(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *bootstrap = KCLIENT_DEFAULT_BOOTSTRAP, *topic = NULL, *acks = "all";
    int64_t partition = -1;
    int sep = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && i + 1 >= argc) {
            cli_err("produce", "%s needs a value", a);
            return 2;
        }
        if (!strcmp(a, "--bootstrap")) {
            bootstrap = argv[++i];
        } else if (!strcmp(a, "--partition")) {
            if (!kclient_parse_i64(argv[++i], &partition) || partition > INT32_MAX) {
                cli_err("produce", "--partition must be a partition number, got \"%s\"", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--key-separator")) {
            const char *s = argv[++i];
            if (strlen(s) != 1) {
                cli_err("produce", "--key-separator must be one character");
                return 2;
            }
            sep = (unsigned char)s[0];
        } else if (!strcmp(a, "--acks")) {
            acks = argv[++i];
            if (strcmp(acks, "0") && strcmp(acks, "1") && strcmp(acks, "all") &&
                strcmp(acks, "-1")) {
                cli_err("produce", "--acks must be 0, 1 or all");
                return 2;
            }
        } else if (a[0] == '-') {
            cli_err("produce", "unknown option %s (see pyralog produce --help)", a);
            return 2;
        } else if (!topic) {
            topic = a;
        } else {
            cli_err("produce", "unexpected argument \"%s\"", a);
            return 2;
        }
    }
    if (!topic) {
        usage(stderr);
        return 2;
    }
    struct pstate st = {0};
    /* A single node creates topics synchronously: an unknown topic is unknown, no need to wait
     * 30 s for it to "propagate" before failing the records. */
    const char *extra[] = {"acks",
                           acks,
                           "linger.ms",
                           "5",
                           "message.timeout.ms",
                           "30000",
                           "topic.metadata.propagation.max.ms",
                           "1000",
                           NULL};
    char err[256];
    rd_kafka_conf_t *conf = kclient_conf("produce", bootstrap);
    if (!conf)
        return 2;
    for (size_t i = 0; extra[i]; i += 2)
        rd_kafka_conf_set(conf, extra[i], extra[i + 1], err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        cli_err("produce", "%s", err);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long sent = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        const char *key = NULL, *val = line;
        size_t klen = 0, vlen = (size_t)n;
        if (sep >= 0) {
            char *p = memchr(line, sep, (size_t)n);
            if (p) {
                key = line;
                klen = (size_t)(p - line);
                val = p + 1;
                vlen = (size_t)n - klen - 1;
            }
        }
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)partition),
                RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 100);
                continue;
            }
            if (e) {
                cli_err("produce", "%s", rd_kafka_err2str(e));
                rc = 1;
            }
            break;
        }
        if (rc)
            break;
        sent++;
        rd_kafka_poll(rk, 0);
    }
    free(line);
    rd_kafka_flush(rk, 60000);
    if (rd_kafka_outq_len(rk) > 0 && !rc) {
        cli_err("produce", "%d records not acknowledged in time", rd_kafka_outq_len(rk));
        rc = 1;
    }
    if (st.failed && !rc) {
        cli_err("produce", "%ld of %ld records failed: %s", st.failed, sent, st.first_error);
        rc = 1;
    }
    rd_kafka_destroy(rk);
    return rc;
}
