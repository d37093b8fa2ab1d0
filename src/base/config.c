/* config.c — schema-checked Kafka-style configuration (see config.h). */
#include "base/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pyralog/pyralog.h"

int config_parse_int(const char *s, int64_t *out)
{
    if (!s || !*s)
        return PLG_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return PLG_ERANGE;
    if (*end || isspace((unsigned char)*s))
        return PLG_EINVAL;
    *out = v;
    return 0;
}

int config_parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "true")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "false")) {
        *out = false;
        return 0;
    }
    return PLG_EINVAL;
}

int config_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return PLG_EINVAL;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return PLG_EINVAL;
        hl = (size_t)(colon - s);
        if (memchr(s, ':', hl))
            return PLG_EINVAL; /* bare IPv6 needs brackets */
    }
    if (hl == 0 || hl >= hostlen)
        return PLG_EINVAL;
    int64_t p;
    if (config_parse_int(colon + 1, &p) || p < 0 || p > 65535)
        return PLG_EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = (int)p;
    return 0;
}

int config_init(struct config *c, const struct config_key *keys, size_t n)
{
    c->keys = keys;
    c->n = n;
    c->vals = calloc(n ? n : 1, sizeof *c->vals);
    if (!c->vals)
        return PLG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (keys[i].def && !(c->vals[i] = strdup(keys[i].def))) {
            config_free(c);
            return PLG_ENOMEM;
        }
    }
    return 0;
}

void config_free(struct config *c)
{
    if (!c->vals)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->vals[i]);
    free(c->vals);
    c->vals = NULL;
}

static long key_index(const struct config *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->keys[i].key, key))
            return (long)i;
    return -1;
}

const struct config_key *config_find(const struct config *c, const char *key)
{
    long i = key_index(c, key);
    return i < 0 ? NULL : &c->keys[i];
}

static int validate(const struct config_key *k, const char *v, char *why, size_t whylen)
{
    switch (k->type) {
    case CFG_STRING:
        break;
    case CFG_INT: {
        int64_t x;
        if (config_parse_int(v, &x)) {
            snprintf(why, whylen, "not an integer: \"%s\"", v);
            return PLG_EINVAL;
        }
        if (x < k->min || x > k->max) {
            snprintf(why, whylen, "%lld is outside %lld..%lld", (long long)x, (long long)k->min,
                     (long long)k->max);
            return PLG_EINVAL;
        }
        break;
    }
    case CFG_BOOL: {
        bool b;
        if (config_parse_bool(v, &b)) {
            snprintf(why, whylen, "expected true or false, got \"%s\"", v);
            return PLG_EINVAL;
        }
        break;
    }
    case CFG_HOSTPORT: {
        char host[256];
        int port;
        if (config_parse_hostport(v, host, sizeof host, &port)) {
            snprintf(why, whylen, "expected host:port, got \"%s\"", v);
            return PLG_EINVAL;
        }
        break;
    }
    }
    if (k->check)
        return k->check(v, why, whylen);
    return 0;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen)
{
    long i = key_index(c, key);
    if (i < 0) {
        snprintf(err, errlen, "%s: unknown configuration key", key);
        return PLG_EINVAL;
    }
    char why[200] = "invalid value";
    int rc = validate(&c->keys[i], value, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "%s: %s", key, why);
        return PLG_EINVAL;
    }
    char *d = strdup(value);
    if (!d)
        return PLG_ENOMEM;
    free(c->vals[i]);
    c->vals[i] = d;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    char line[4096];
    int lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = PLG_EINVAL;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *sep = strpbrk(s, "=:");
        if (!sep) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = PLG_EINVAL;
            break;
        }
        *sep = 0;
        char *k = trim(s);
        char *v = trim(sep + 1);
        char e2[300];
        if ((rc = config_set(c, k, v, e2, sizeof e2))) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, e2);
            break;
        }
    }
    fclose(f);
    return rc;
}

int config_load_env(struct config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->n; i++) {
        char name[160] = "PYRALOG_";
        size_t j = strlen(name);
        for (const char *k = c->keys[i].key; *k && j < sizeof name - 1; k++)
            name[j++] = (*k == '.' || *k == '-') ? '_' : (char)toupper((unsigned char)*k);
        name[j] = 0;
        const char *v = getenv(name);
        if (!v)
            continue;
        char e2[300];
        int rc = config_set(c, c->keys[i].key, v, e2, sizeof e2);
        if (rc) {
            snprintf(err, errlen, "%s (from %s)", e2, name);
            return rc;
        }
    }
    return 0;
}

const char *config_get(const struct config *c, const char *key)
{
    long i = key_index(c, key);
    assert(i >= 0);
    return i < 0 ? NULL : c->vals[i];
}

int64_t config_int(const struct config *c, const char *key)
{
    const char *v = config_get(c, key);
    int64_t x = 0;
    if (v)
        config_parse_int(v, &x);
    return x;
}

bool config_bool(const struct config *c, const char *key)
{
    const char *v = config_get(c, key);
    bool b = false;
    if (v)
        config_parse_bool(v, &b);
    return b;
}
