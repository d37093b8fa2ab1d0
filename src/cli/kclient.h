/*
 * kclient.h — shared plumbing of the Kafka client commands (topic, produce, consume): option
 * parsing helpers and librdkafka handles configured for a bootstrap address. CLI only.
 */
#ifndef PLG_CLI_KCLIENT_H
#define PLG_CLI_KCLIENT_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#define KCLIENT_DEFAULT_BOOTSTRAP "127.0.0.1:9092"
#define KCLIENT_METADATA_TIMEOUT_MS 5000

/* A librdkafka config with bootstrap.servers set and librdkafka's log lines silenced; NULL
 * (error printed) on failure. */
rd_kafka_conf_t *kclient_conf(const char *what, const char *bootstrap);

/* Creates a producer or consumer for bootstrap; extra is a NULL-terminated list of
 * key/value librdkafka properties. Prints the error (prefix `what`) and returns NULL on failure. */
rd_kafka_t *kclient_new(const char *what, rd_kafka_type_t type, const char *bootstrap,
                        const char *const *extra);
/* Parses a non-negative decimal int64; false on junk. */
bool kclient_parse_i64(const char *s, int64_t *out);
/* Number of partitions of topic (metadata); -1 with the error printed when it fails. */
int kclient_partition_count(const char *what, rd_kafka_t *rk, const char *topic);

#endif
