/* cmd_id.c — `pyralog id next` and `pyralog id decode` (Scarab IDs). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

#define ID_NEXT_MAX 1000000

static const char id_usage[] =
    "usage: pyralog id next [--count N] [--obelisk H:P,...] [--data-dir DIR] [--node-id N]\n"
    "       pyralog id decode ID\n\n"
    "id next prints N (default 1, at most 1000000) Scarab IDs, decimal, one per line.\n"
    "  --obelisk H:P,...  Obelisk nodes by their JSON-RPC (--listen) address; IDs come over the\n"
    "                     binary protocol at port P+1 (write H:P/B for another binary port).\n"
    "                     Requests go round-robin and fail over when a node does not answer.\n"
    "  without --obelisk  a local generator: node id --node-id (default 0), time floor in\n"
    "                     DIR/obelisk/scarab.floor (--data-dir, default ./pyralog-data, created\n"
    "                     when missing). It is refused while another process (e.g. a server or\n"
    "                     node) uses that directory.\n"
    "id decode prints the ID's time (UTC, ISO-8601 with ms), node id and sequence.\n";

int cli_obl_u64(const char *s, unsigned long long min, unsigned long long max,
                unsigned long long *out)
{
    if (!s || !*s || strlen(s) > 20)
        return -1;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int id_decode(const char *arg)
{
    unsigned long long v;
    struct plg_scarab_parts parts;
    if (cli_obl_u64(arg, 0, UINT64_MAX, &v) || plg_scarab_decode(v, &parts)) {
        cli_err("id decode", "'%s' is not a Scarab ID (a decimal integer below 2^63)", arg);
        return 2;
    }
    char ts[32];
    plg_format_utc_ms(parts.unix_ms, ts, sizeof ts);
    printf("id=%llu time=%s unix_ms=%" PRId64 " node=%u sequence=%u\n", v, ts, parts.unix_ms,
           parts.node, parts.seq);
    return 0;
}

static int id_next_local(const char *data_dir, unsigned node, uint64_t *ids, size_t n)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/obelisk", data_dir);
    if ((mkdir(data_dir, 0755) && errno != EEXIST) || (mkdir(dir, 0755) && errno != EEXIST)) {
        cli_err("id next", "%s: %s", dir, strerror(errno));
        return 1;
    }
    struct plg_scarab_opts o = {.node_id = node};
    plg_scarab_t *g;
    int rc = plg_scarab_open(dir, &o, &g);
    if (rc) {
        cli_err("id next", "%s/scarab.floor: %s", dir,
                rc == -EBUSY ? "in use by another process (a running server or obelisk node? "
                               "use --obelisk)"
                             : plg_strerror(rc));
        return 1;
    }
    rc = plg_scarab_next_n(g, ids, n);
    plg_scarab_close(g);
    if (rc) {
        cli_err("id next", "%s", plg_strerror(rc));
        return 1;
    }
    return 0;
}

static int id_next(int argc, char **argv)
{
    unsigned long long count = 1, node = 0;
    const char *obelisk = NULL, *data_dir = "./pyralog-data";
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--count") && v) {
            if (cli_obl_u64(v, 1, ID_NEXT_MAX, &count)) {
                cli_err("id next", "--count must be an integer from 1 to %d, not '%s'", ID_NEXT_MAX,
                        v);
                return 2;
            }
        } else if (!strcmp(a, "--obelisk") && v) {
            obelisk = v;
        } else if (!strcmp(a, "--data-dir") && v) {
            data_dir = v;
        } else if (!strcmp(a, "--node-id") && v) {
            if (cli_obl_u64(v, 0, PLG_SCARAB_NODE_MAX, &node)) {
                cli_err("id next", "--node-id must be an integer from 0 to 1023, not '%s'", v);
                return 2;
            }
        } else {
            cli_err("id next", "unknown or incomplete option '%s' (see --help)", a);
            return 2;
        }
    }
    uint64_t *ids = malloc(count * sizeof *ids);
    if (!ids) {
        cli_err("id next", "out of memory");
        return 1;
    }
    int rc = 0;
    if (!obelisk) {
        rc = id_next_local(data_dir, (unsigned)node, ids, count);
    } else {
        plg_pharaoh_t *p;
        int r = plg_pharaoh_open(obelisk, 0, &p);
        if (r) {
            cli_err("id next", "--obelisk '%s': expected H:P[,H:P...] (optionally H:P/B)", obelisk);
            free(ids);
            return 2;
        }
        r = plg_pharaoh_ids(p, ids, count);
        if (r) {
            const char *m = plg_pharaoh_errmsg(p);
            cli_err("id next", "%s", *m ? m : plg_strerror(r));
            rc = 1;
        }
        plg_pharaoh_close(p);
    }
    if (!rc)
        for (size_t i = 0; i < count; i++)
            printf("%" PRIu64 "\n", ids[i]);
    free(ids);
    return rc;
}

int cmd_id(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(id_usage, stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "next"))
        return id_next(argc, argv);
    if (argc == 3 && !strcmp(argv[1], "decode"))
        return id_decode(argv[2]);
    cli_err("id", "expected 'next [--count N] [--obelisk H:P,...]' or 'decode ID'");
    return 2;
}
