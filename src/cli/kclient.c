/* kclient.c — librdkafka handles and helpers for the client commands (see kclient.h). */
#include "cli/kclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* librdkafka's own log lines (connection refused, retries) would bury the one error line the
 * commands print; errors reach the user through return values instead. */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

rd_kafka_conf_t *kclient_conf(const char *what, const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
        cli_err(what, "%s", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    return conf;
}

rd_kafka_t *kclient_new(const char *what, rd_kafka_type_t type, const char *bootstrap,
                        const char *const *extra)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
        cli_err(what, "%s", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (size_t i = 0; extra && extra[i]; i += 2) {
        if (rd_kafka_conf_set(conf, extra[i], extra[i + 1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            cli_err(what, "%s", err);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        cli_err(what, "%s", err);
        return NULL;
    }
    return rk;
}

bool kclient_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return false;
    *out = v;
    return true;
}

int kclient_partition_count(const char *what, rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, KCLIENT_METADATA_TIMEOUT_MS);
    rd_kafka_topic_destroy(rkt);
    if (e) {
        cli_err(what, "metadata: %s", rd_kafka_err2str(e));
        return -1;
    }
    int n = -1;
    if (md->topic_cnt == 1 && md->topics[0].err == 0)
        n = md->topics[0].partition_cnt;
    else
        cli_err(what, "topic %s: %s", topic,
                md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
    rd_kafka_metadata_destroy(md);
    return n;
}
