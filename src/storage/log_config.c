/*
 * log_config.c — per-log configuration by Kafka-style names (see struct plg_log_config).
 * Pure: parses and formats values, never touches a log.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyralog/log.h"

void plg_log_config_init(struct plg_log_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->segment_bytes = 1 << 30;
    cfg->segment_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_bytes = -1;
    cfg->cleanup_policy = PLG_CLEANUP_DELETE;
    cfg->delete_retention_ms = 24LL * 3600 * 1000;
    cfg->max_message_bytes = 1048588;
    cfg->timestamp_type = PLG_TS_CREATE_TIME;
    cfg->fsync_policy = PLG_FSYNC_INTERVAL;
    cfg->fsync_interval_ms = 5;
    cfg->index_interval_bytes = 4096;
    cfg->segment_index_bytes = 10 << 20;
    cfg->merkle_enable = true;
}

static const char *const keys[] = {
    "segment.bytes",
    "segment.ms",
    "retention.ms",
    "retention.bytes",
    "cleanup.policy",
    "delete.retention.ms",
    "max.message.bytes",
    "message.timestamp.type",
    "fsync",
    "index.interval.bytes",
    "segment.index.bytes",
    "merkle.enable",
    NULL,
};

const char *const *plg_log_config_keys(void)
{
    return keys;
}

/* A whole decimal integer in [lo, hi]. */
static int parse_i64(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!v || !*v)
        return PLG_EINVAL;
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return PLG_EINVAL;
    *out = x;
    return 0;
}

static int parse_cleanup(const char *v, int *out)
{
    int bits = 0;
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && *p == ' ') {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == 6 && strncmp(p, "delete", 6) == 0)
            bits |= PLG_CLEANUP_DELETE;
        else if (n == 7 && strncmp(p, "compact", 7) == 0)
            bits |= PLG_CLEANUP_COMPACT;
        else
            return PLG_EINVAL;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!bits)
        return PLG_EINVAL;
    *out = bits;
    return 0;
}

/* The numeric options: name, field, bounds. */
struct num_opt {
    const char *key;
    size_t off;
    bool is32;
    int64_t lo, hi;
};

#define NUM64(k, f, lo, hi)                                                                        \
    {                                                                                              \
        k, offsetof(struct plg_log_config, f), false, lo, hi                                       \
    }
#define NUM32(k, f, lo, hi)                                                                        \
    {                                                                                              \
        k, offsetof(struct plg_log_config, f), true, lo, hi                                        \
    }
static const struct num_opt nums[] = {
    NUM64("segment.bytes", segment_bytes, 14, INT32_MAX),
    NUM64("segment.ms", segment_ms, 1, INT64_MAX),
    NUM64("retention.ms", retention_ms, -1, INT64_MAX),
    NUM64("retention.bytes", retention_bytes, -1, INT64_MAX),
    NUM64("delete.retention.ms", delete_retention_ms, 0, INT64_MAX),
    NUM32("max.message.bytes", max_message_bytes, 61, INT32_MAX),
    NUM32("index.interval.bytes", index_interval_bytes, 0, INT32_MAX),
    NUM32("segment.index.bytes", segment_index_bytes, 24, INT32_MAX),
};

static const struct num_opt *find_num(const char *key)
{
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(nums[i].key, key) == 0)
            return &nums[i];
    }
    return NULL;
}

int plg_log_config_set(struct plg_log_config *cfg, const char *key, const char *value)
{
    if (!cfg || !key || !value)
        return PLG_EINVAL;
    int64_t x;
    int rc;
    const struct num_opt *n = find_num(key);
    if (n) {
        if ((rc = parse_i64(value, n->lo, n->hi, &x)) != 0)
            return rc;
        if (n->is32)
            *(int32_t *)((char *)cfg + n->off) = (int32_t)x;
        else
            *(int64_t *)((char *)cfg + n->off) = x;
        return 0;
    }
    if (strcmp(key, "cleanup.policy") == 0) {
        int bits;
        if ((rc = parse_cleanup(value, &bits)) == 0)
            cfg->cleanup_policy = bits;
    } else if (strcmp(key, "message.timestamp.type") == 0) {
        rc = 0;
        if (strcmp(value, "CreateTime") == 0)
            cfg->timestamp_type = PLG_TS_CREATE_TIME;
        else if (strcmp(value, "LogAppendTime") == 0)
            cfg->timestamp_type = PLG_TS_LOG_APPEND_TIME;
        else
            rc = PLG_EINVAL;
    } else if (strcmp(key, "fsync") == 0) {
        rc = 0;
        if (strcmp(value, "always") == 0) {
            cfg->fsync_policy = PLG_FSYNC_ALWAYS;
        } else if (strcmp(value, "never") == 0) {
            cfg->fsync_policy = PLG_FSYNC_NEVER;
        } else if (strncmp(value, "interval:", 9) == 0 &&
                   (rc = parse_i64(value + 9, 1, 3600 * 1000, &x)) == 0) {
            cfg->fsync_policy = PLG_FSYNC_INTERVAL;
            cfg->fsync_interval_ms = x;
        } else if (rc == 0) {
            rc = PLG_EINVAL;
        }
    } else if (strcmp(key, "merkle.enable") == 0) {
        rc = 0;
        if (strcmp(value, "true") == 0)
            cfg->merkle_enable = true;
        else if (strcmp(value, "false") == 0)
            cfg->merkle_enable = false;
        else
            rc = PLG_EINVAL;
    } else {
        rc = PLG_ENOTFOUND;
    }
    return rc;
}

int plg_log_config_get(const struct plg_log_config *cfg, const char *key, char *out, size_t cap)
{
    int n;
    const struct num_opt *o = find_num(key);
    if (o)
        n = snprintf(out, cap, "%" PRId64,
                     o->is32 ? (int64_t) * (const int32_t *)((const char *)cfg + o->off)
                             : *(const int64_t *)((const char *)cfg + o->off));
    else if (strcmp(key, "cleanup.policy") == 0)
        n = snprintf(out, cap, "%s",
                     cfg->cleanup_policy == (PLG_CLEANUP_DELETE | PLG_CLEANUP_COMPACT)
                         ? "compact,delete"
                     : cfg->cleanup_policy == PLG_CLEANUP_COMPACT ? "compact"
                                                                  : "delete");
    else if (strcmp(key, "message.timestamp.type") == 0)
        n = snprintf(out, cap, "%s",
                     cfg->timestamp_type == PLG_TS_LOG_APPEND_TIME ? "LogAppendTime"
                                                                   : "CreateTime");
    else if (strcmp(key, "fsync") == 0)
        n = cfg->fsync_policy == PLG_FSYNC_ALWAYS ? snprintf(out, cap, "always")
            : cfg->fsync_policy == PLG_FSYNC_NEVER
                ? snprintf(out, cap, "never")
                : snprintf(out, cap, "interval:%" PRId64, cfg->fsync_interval_ms);
    else if (strcmp(key, "merkle.enable") == 0)
        n = snprintf(out, cap, "%s", cfg->merkle_enable ? "true" : "false");
    else
        return PLG_ENOTFOUND;
    return n < 0 || (size_t)n >= cap ? PLG_ETOOBIG : 0;
}
