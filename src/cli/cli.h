/*
 * cli.h — the `pyralog` command: subcommand table and shared helpers.
 *
 * Each subcommand is `int cmd_<name>(int argc, char **argv)` where argv[0] is the subcommand
 * name; it returns the process exit code (0 ok, 1 failure, 2 usage error). Errors go to stderr
 * as one line "pyralog: <what>: <why>" through cli_err(). Add a command: write cmd_x in its own
 * file under src/cli/ and add one line to the table in main.c.
 */
#ifndef PLG_CLI_CLI_H
#define PLG_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* Prints "pyralog: <what>: <why>\n" to stderr. */
void cli_err(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when argv contains -h or --help. */
bool cli_wants_help(int argc, char **argv);

int cmd_version(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_topic(int argc, char **argv);
int cmd_produce(int argc, char **argv);
int cmd_consume(int argc, char **argv);
int cmd_obelisk(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_seq(int argc, char **argv);
/* Obelisk commands' shared parsing (cmd_id.c): a decimal integer in [min, max] (no sign, no
 * junk) → 0, else -1. For "H:P" use config_parse_hostport (base/config.h). */
int cli_obl_u64(const char *s, unsigned long long min, unsigned long long max,
                unsigned long long *out);
int cmd_group(int argc, char **argv);
/* `consume --group`: group-managed consumption (cmd_consume_group.c). */
int consume_group(const char *bootstrap, const char *topic, const char *group, bool from_beginning,
                  int64_t count);

int cmd_verify(int argc, char **argv);
int cmd_notary(int argc, char **argv);
int cmd_audit(int argc, char **argv);

/* One JSON-RPC call over HTTP POST /rpc to hostport (blocking). Takes params (may be NULL).
 * Returns the result (json_decref) or NULL with a one-line reason in why. */
json_t *cli_rpc_call(const char *hostport, const char *method, json_t *params, char *why,
                     size_t whylen);

#endif
