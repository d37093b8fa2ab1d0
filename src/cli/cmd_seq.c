/* cmd_seq.c — `pyralog seq next NAME`: values of a named Obelisk sequence. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

#define SEQ_NEXT_MAX 1000000000ULL

static const char seq_usage[] =
    "usage: pyralog seq next NAME [--count N] [--obelisk H:P,...]\n\n"
    "Prints N (default 1, at most 1000000000) values of the sequence NAME, decimal, one per\n"
    "line. NAME is 1-64 characters of [A-Za-z0-9._-], not starting with '.'.\n"
    "  --obelisk H:P,...  Obelisk nodes by JSON-RPC (--listen) address, default 127.0.0.1:7070;\n"
    "                     the binary protocol is used at port P+1 (or H:P/B). A sequence lives\n"
    "                     on one node of the list (rendezvous hash of NAME); if that node is\n"
    "                     down the command fails rather than use another node's counter.\n";

int cmd_seq(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(seq_usage, stdout);
        return 0;
    }
    if (argc < 3 || strcmp(argv[1], "next")) {
        cli_err("seq", "expected 'next NAME [--count N] [--obelisk H:P,...]'");
        return 2;
    }
    const char *name = argv[2];
    unsigned long long count = 1;
    const char *obelisk = "127.0.0.1:7070";
    for (int i = 3; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--count") && v) {
            if (cli_obl_u64(v, 1, SEQ_NEXT_MAX, &count)) {
                cli_err("seq next", "--count must be an integer from 1 to %llu, not '%s'",
                        SEQ_NEXT_MAX, v);
                return 2;
            }
        } else if (!strcmp(a, "--obelisk") && v) {
            obelisk = v;
        } else {
            cli_err("seq next", "unknown or incomplete option '%s' (see --help)", a);
            return 2;
        }
    }
    if (plg_obelisk_name_check(name)) {
        cli_err("seq next",
                "invalid sequence name '%s': use 1-64 characters of [A-Za-z0-9._-], not "
                "starting with '.'",
                name);
        return 2;
    }
    plg_pharaoh_t *p;
    if (plg_pharaoh_open(obelisk, 0, &p)) {
        cli_err("seq next", "--obelisk '%s': expected H:P[,H:P...] (optionally H:P/B)", obelisk);
        return 2;
    }
    uint64_t first;
    int rc = plg_pharaoh_seq(p, name, count, &first);
    if (rc) {
        const char *m = plg_pharaoh_errmsg(p);
        cli_err("seq next", "%s: %s", name, *m ? m : plg_strerror(rc));
        plg_pharaoh_close(p);
        return 1;
    }
    plg_pharaoh_close(p);
    for (uint64_t i = 0; i < count; i++)
        printf("%" PRIu64 "\n", first + i);
    return 0;
}
