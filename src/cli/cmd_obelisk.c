/*
 * cmd_obelisk.c — `pyralog obelisk`: an Obelisk node of the Pharaoh Network.
 *
 * One libuv loop thread runs everything: the binary-protocol listener (--binary-listen) and the
 * JSON-RPC listener (--listen), both backed by one obl_service (Scarab generator + sequences in
 * <data>/obelisk/). The fsyncs that raise the time floor and renew sequence leases run on
 * libuv's thread pool, never on the loop (service.h). SIGTERM/SIGINT stop the listeners and exit
 * 0 once the renewals in flight are done; every value handed out was durable before it was
 * sent, so there is nothing to flush.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "cli/cli.h"
#include "obelisk/service.h"
#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"
#include "rpc/http.h"
#include "rpc/rpc.h"

static const char obelisk_usage[] =
    "usage: pyralog obelisk --node-id N [--data-dir DIR] [--listen H:P] [--binary-listen H:P]\n"
    "                       [--seq-lease K]\n\n"
    "Runs an Obelisk node: Scarab IDs and named sequences, with no consensus.\n"
    "  --node-id N          0-1023, unique per node of the Pharaoh Network (required)\n"
    "  --data-dir DIR       default ./pyralog-data; state in DIR/obelisk/\n"
    "  --listen H:P         JSON-RPC 2.0 (HTTP POST /rpc, WebSocket /rpc), default "
    "127.0.0.1:7070\n"
    "  --binary-listen H:P  binary protocol, default the --listen port + 1 (127.0.0.1:7071)\n"
    "  --seq-lease K        sequence values reserved per fsync (default 1000); after a crash\n"
    "                       up to K-1 values of a sequence are skipped, never repeated\n"
    "Prints `pyralog obelisk ready listen=H:P node=N` on stderr when it accepts connections.\n";

struct node_ctx {
    uv_loop_t *loop;
    struct obl_bin_server *bin;
    struct rpc_dispatcher *disp;
    struct rpc_http *http;
    uv_signal_t sigterm, sigint;
};

static void on_signal(uv_signal_t *h, int signum)
{
    struct node_ctx *n = h->data;
    PLG_INFO("obelisk", "msg=\"stopping\" signal=%d", signum);
    obl_bin_close(n->bin);
    n->bin = NULL;
    rpc_http_stop(n->http);
    uv_close((uv_handle_t *)&n->sigterm, NULL);
    uv_close((uv_handle_t *)&n->sigint, NULL);
}

int cmd_obelisk(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(obelisk_usage, stdout);
        return 0;
    }
    const char *data_dir = "./pyralog-data", *listen = "127.0.0.1:7070", *blisten = NULL;
    unsigned long long node = 0, lease = OBL_DEFAULT_SEQ_LEASE;
    int have_node = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            cli_err("obelisk", "unknown or incomplete option '%s' (see --help)", a);
            return 2;
        }
        if (!strcmp(a, "--node-id")) {
            if (cli_obl_u64(v, 0, PLG_SCARAB_NODE_MAX, &node)) {
                cli_err("obelisk", "--node-id must be an integer from 0 to 1023, not '%s'", v);
                return 2;
            }
            have_node = 1;
        } else if (!strcmp(a, "--data-dir")) {
            data_dir = v;
        } else if (!strcmp(a, "--listen")) {
            listen = v;
        } else if (!strcmp(a, "--binary-listen")) {
            blisten = v;
        } else if (!strcmp(a, "--seq-lease")) {
            if (cli_obl_u64(v, 1, 1000000000ULL, &lease)) {
                cli_err("obelisk", "--seq-lease must be an integer from 1 to 1000000000");
                return 2;
            }
        } else {
            cli_err("obelisk", "unknown option '%s' (see --help)", a);
            return 2;
        }
    }
    if (!have_node) {
        cli_err("obelisk", "--node-id N is required (0-1023, unique per node)");
        return 2;
    }
    char host[256], bhost[256];
    int port, bport;
    if (config_parse_hostport(listen, host, sizeof host, &port)) {
        cli_err("obelisk", "--listen '%s': expected H:P", listen);
        return 2;
    }
    if (blisten) {
        if (config_parse_hostport(blisten, bhost, sizeof bhost, &bport)) {
            cli_err("obelisk", "--binary-listen '%s': expected H:P", blisten);
            return 2;
        }
    } else {
        if (port == 0 || port == 65535) {
            cli_err("obelisk",
                    "--listen port %d leaves no default binary port: give "
                    "--binary-listen",
                    port);
            return 2;
        }
        snprintf(bhost, sizeof bhost, "%s", host);
        bport = port + 1;
    }

    struct node_ctx n = {.loop = uv_default_loop()};
    struct obl_service *svc;
    struct obl_service_opts so = {
        .data_dir = data_dir, .node_id = (unsigned)node, .seq_lease = lease, .loop = n.loop};
    int rc = obl_service_open(&so, &svc);
    if (rc) {
        cli_err("obelisk", "%s/obelisk: %s", data_dir,
                rc == -EBUSY ? "in use by another process" : plg_strerror(rc));
        return 1;
    }
    rc = obl_bin_listen(n.loop, svc, bhost, bport, &n.bin);
    if (rc) {
        cli_err("obelisk", "--binary-listen %s:%d: %s", bhost, bport, plg_strerror(rc));
        obl_service_close(svc);
        return 1;
    }
    rc = rpc_dispatcher_new(NULL, &n.disp);
    if (!rc)
        rc = obl_rpc_register(n.disp, svc, 0);
    struct rpc_http_config hc = {.host = host, .port = port};
    if (!rc)
        rc = rpc_http_start(n.loop, n.disp, &hc, &n.http);
    if (rc) {
        cli_err("obelisk", "--listen %s:%d: %s", host, port, plg_strerror(rc));
        obl_bin_close(n.bin);
        uv_run(n.loop, UV_RUN_DEFAULT);
        rpc_dispatcher_free(n.disp);
        obl_service_close(svc);
        return 1;
    }
    port = rpc_http_port(n.http);
    char baddr[300];
    snprintf(baddr, sizeof baddr, "%s:%d", bhost, obl_bin_port(n.bin));
    obl_service_set_binary_addr(svc, baddr);
    signal(SIGPIPE, SIG_IGN);
    uv_signal_init(n.loop, &n.sigterm);
    uv_signal_init(n.loop, &n.sigint);
    n.sigterm.data = n.sigint.data = &n;
    uv_signal_start(&n.sigterm, on_signal, SIGTERM);
    uv_signal_start(&n.sigint, on_signal, SIGINT);
    PLG_INFO("obelisk", "msg=\"listening\" binary=%s node=%llu", baddr, node);
    fprintf(stderr, "pyralog obelisk ready listen=%s:%d node=%llu\n", host, port, node);
    fflush(stderr);
    uv_run(n.loop, UV_RUN_DEFAULT);
    rpc_http_free(n.http);
    rpc_dispatcher_free(n.disp);
    uv_loop_close(n.loop);
    obl_service_close(svc);
    mx_default_free();
    return 0;
}
