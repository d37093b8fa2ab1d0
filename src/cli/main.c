/* main.c — `pyralog` entry point: dispatches to the subcommand table. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pyralog/pyralog.h"

static const struct cli_command commands[] = {
    {"version", cmd_version, "print version and build info"},
    {"server", cmd_server, "run a Pyralog node (Kafka-compatible broker)"},
    {"topic", cmd_topic, "create, list, describe, delete topics"},
    {"produce", cmd_produce, "send stdin lines as records"},
    {"consume", cmd_consume, "print record values"},
    {"obelisk", cmd_obelisk, "run an Obelisk node (Scarab IDs and named sequences)"},
    {"id", cmd_id, "Scarab IDs: id next, id decode"},
    {"seq", cmd_seq, "values of a named Obelisk sequence: seq next"},
    {"group", cmd_group, "list consumer groups, describe one (members, offsets, lag)"},
    {"audit", cmd_audit, "audit a running server: signed heads, consistency, inclusion proofs"},
    {"notary", cmd_notary, "notarize a file (stamp) or check a receipt offline (check)"},
    {"verify", cmd_verify, "check a data directory offline: batches, indexes, Merkle trees"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: pyralog <command> [options]\n\n"
                 "Pyralog: a verifiable, Kafka-compatible append-only log.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun `pyralog <command> --help` for a command's options.\n");
}

void cli_err(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pyralog: %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

int cmd_version(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: pyralog version\n\nPrints the version and build information.\n");
        return 0;
    }
    printf("pyralog %s\n", plg_version());
    printf("built %s %s with %s\n", __DATE__, __TIME__, __VERSION__);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    cli_err(argv[1], "unknown command (see pyralog --help)");
    return 2;
}
