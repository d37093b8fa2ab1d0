/*
 * config.h — Kafka-style configuration: a schema of known keys, a properties-file loader,
 * PYRALOG_<KEY> environment overrides and explicit (command-line) sets.
 *
 * A `struct config` holds one string value per schema key, starting from the schema default.
 * Sources are applied in increasing precedence by the caller: file, then environment, then
 * flags (each config_set overwrites). Every value is validated against its key's type and range
 * when it is set, so bad values and unknown keys are rejected at start-up with a message naming
 * the key (written into the caller's err buffer). Pure apart from reading the file and the
 * environment; not thread-safe (configure before starting threads).
 */
#ifndef PLG_BASE_CONFIG_H
#define PLG_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum config_type {
    CFG_STRING,   /* any text (may be empty) */
    CFG_INT,      /* signed 64-bit decimal within [min, max] */
    CFG_BOOL,     /* true/false */
    CFG_HOSTPORT, /* host:port or [v6]:port, port 0..65535 */
};

struct config_key {
    const char *key;
    enum config_type type;
    const char *def; /* default value as text; NULL means unset */
    int64_t min, max;
    const char *help;
    /* Optional extra validation: returns 0 or a negative code and may fill why. */
    int (*check)(const char *value, char *why, size_t whylen);
};

struct config {
    const struct config_key *keys;
    size_t n;
    char **vals;
};

/* Initialises c with the schema defaults. The schema must outlive c. Free with config_free. */
int config_init(struct config *c, const struct config_key *keys, size_t n);
void config_free(struct config *c);

/* Sets key to value after validation. Unknown key or bad value: PLG_EINVAL with err filled as
 * "<key>: <why>". */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen);
/* Reads a properties file: `key = value` or `key: value` lines, `#`/`!` comments, blank lines.
 * Errors name the file, line and key. */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
/* Applies PYRALOG_<KEY> variables (key upper-cased, '.' and '-' as '_') for every schema key. */
int config_load_env(struct config *c, char *err, size_t errlen);

/* The schema entry for key, or NULL. */
const struct config_key *config_find(const struct config *c, const char *key);
/* Current value (NULL when unset). Keys must be in the schema (asserted). */
const char *config_get(const struct config *c, const char *key);
int64_t config_int(const struct config *c, const char *key);
bool config_bool(const struct config *c, const char *key);

/* Splits "host:port" / "[v6]:port". Returns 0 or PLG_EINVAL. */
int config_parse_hostport(const char *s, char *host, size_t hostlen, int *port);
/* Parses a bool as Kafka does (true/false, case-insensitive). Returns 0 or PLG_EINVAL. */
int config_parse_bool(const char *s, bool *out);
/* Parses a decimal int64 with nothing trailing. Returns 0 or PLG_EINVAL/PLG_ERANGE. */
int config_parse_int(const char *s, int64_t *out);

#endif
