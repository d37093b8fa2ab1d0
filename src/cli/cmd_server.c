/*
 * cmd_server.c — `pyralog server`: configuration, the libuv loop, the Kafka listener, the
 * broker, signals and the ready line.
 *
 * Start-up: schema defaults < --config file < PYRALOG_<KEY> environment < command-line flags;
 * any unknown key or bad value stops start-up with one line naming the key. Then the broker
 * opens (recovering every partition), the Kafka listener binds, and once it accepts the line
 *   pyralog server ready kafka=H:P http=H:P
 * goes to stderr. SIGTERM/SIGINT: stop accepting, answer requests already received (parked
 * fetches answer with what they have, acks=all waits for a flush), write the responses, flush
 * and close every log, exit 0. A second signal, or clients that do not read their responses
 * within the grace period, cut the connections short.
 *
 * The HTTP/JSON-RPC listener (src/rpc/) runs on the same loop: see http_start() below.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/config.h"
#include "base/log.h"
#include "broker/broker.h"
#include "broker/group_coord.h"
#include "broker/merkle_rpc.h"
#include "broker/rpc_methods.h"
#include "obelisk/service.h"
#include "cli/cli.h"
#include "net/net.h"
#include "pyralog/log.h"

#define SHUTDOWN_GRACE_MS 10000

static int check_log_level(const char *v, char *why, size_t n)
{
    if (!strcmp(v, "debug") || !strcmp(v, "info") || !strcmp(v, "warn") || !strcmp(v, "error"))
        return 0;
    snprintf(why, n, "expected debug, info, warn or error, got \"%s\"", v);
    return PLG_EINVAL;
}

/* Server-level defaults for topic configs: Kafka's broker-level names → storage option names. */
static const struct {
    const char *server_key;
    const char *topic_key;
} topic_default_keys[] = {
    {"log.segment.bytes", "segment.bytes"},
    {"log.segment.ms", "segment.ms"},
    {"log.retention.ms", "retention.ms"},
    {"log.retention.bytes", "retention.bytes"},
    {"log.cleanup.policy", "cleanup.policy"},
    {"log.index.interval.bytes", "index.interval.bytes"},
    {"message.max.bytes", "max.message.bytes"},
    {"log.message.timestamp.type", "message.timestamp.type"},
    {"log.fsync", "fsync"},
    {"merkle.enable", "merkle.enable"},
};
#define N_TOPIC_DEFAULTS (sizeof topic_default_keys / sizeof topic_default_keys[0])

static const char *topic_key_for(const char *server_key)
{
    for (size_t i = 0; i < N_TOPIC_DEFAULTS; i++)
        if (!strcmp(topic_default_keys[i].server_key, server_key))
            return topic_default_keys[i].topic_key;
    return NULL;
}

#define TOPIC_DEFAULT_CHECK(fn, key)                                                               \
    static int fn(const char *v, char *why, size_t n)                                              \
    {                                                                                              \
        struct plg_log_config cfg;                                                                 \
        plg_log_config_init(&cfg);                                                                 \
        if (plg_log_config_set(&cfg, key, v) == 0)                                                 \
            return 0;                                                                              \
        snprintf(why, n, "invalid value \"%s\" (as topic config %s)", v, key);                     \
        return PLG_EINVAL;                                                                         \
    }
TOPIC_DEFAULT_CHECK(chk_segment_bytes, "segment.bytes")
TOPIC_DEFAULT_CHECK(chk_segment_ms, "segment.ms")
TOPIC_DEFAULT_CHECK(chk_retention_ms, "retention.ms")
TOPIC_DEFAULT_CHECK(chk_retention_bytes, "retention.bytes")
TOPIC_DEFAULT_CHECK(chk_cleanup, "cleanup.policy")
TOPIC_DEFAULT_CHECK(chk_index_interval, "index.interval.bytes")
TOPIC_DEFAULT_CHECK(chk_max_message, "max.message.bytes")
TOPIC_DEFAULT_CHECK(chk_ts_type, "message.timestamp.type")
TOPIC_DEFAULT_CHECK(chk_fsync, "fsync")
TOPIC_DEFAULT_CHECK(chk_merkle, "merkle.enable")

static int chk_commit_acks(const char *v, char *why, size_t n)
{
    if (!strcmp(v, "1") || !strcmp(v, "-1"))
        return 0;
    snprintf(why, n, "invalid value \"%s\" (1 or -1)", v);
    return PLG_EINVAL;
}

static const struct config_key server_schema[] = {
    {"node.id", CFG_INT, "0", 0, INT32_MAX, "this node's id", NULL},
    {"data.dir", CFG_STRING, "./pyralog-data", 0, 0, "data directory", NULL},
    {"kafka.listen", CFG_HOSTPORT, "127.0.0.1:9092", 0, 0, "Kafka listener", NULL},
    {"http.listen", CFG_HOSTPORT, "127.0.0.1:8080", 0, 0, "HTTP/WebSocket listener", NULL},
    {"http.max.connections", CFG_INT, "1024", 1, 1000000, "HTTP + WebSocket connections limit",
     NULL},
    {"http.max.message.bytes", CFG_INT, "1048576", 1024, 1073741824,
     "largest HTTP body / WebSocket message (JSON-RPC)", NULL},
    {"rpc.max.subscriptions.per.connection", CFG_INT, "64", 1, 100000,
     "log.subscribe streams per WebSocket", NULL},
    {"advertised.kafka.listen", CFG_HOSTPORT, NULL, 0, 0,
     "address clients are told to connect to (default: the Kafka listener)", NULL},
    {"memory.only", CFG_BOOL, "false", 0, 0, "keep everything in memory", NULL},
    {"auto.create.topics.enable", CFG_BOOL, "true", 0, 0, "create topics on first Metadata", NULL},
    {"num.partitions", CFG_INT, "1", 1, 100000, "partitions of auto-created topics", NULL},
    {"socket.request.max.bytes", CFG_INT, "104857600", 64, INT32_MAX, "largest request", NULL},
    {"max.connections", CFG_INT, "10000", 1, 1000000, "open connections limit", NULL},
    {"queued.max.requests", CFG_INT, "500", 2, 100000,
     "unanswered requests per connection before reading pauses", NULL},
    {"connection.max.queued.bytes", CFG_INT, "67108864", 65536, INT64_MAX,
     "unsent response bytes per connection before reading pauses", NULL},
    {"fetch.max.wait.cap.ms", CFG_INT, "30000", 1, 600000, "upper bound for Fetch max_wait_ms",
     NULL},
    {"log.cache.keep.bytes", CFG_INT, "268435456", 0, INT64_MAX,
     "bytes of each partition's newest durable data kept in the page cache; older data is "
     "dropped from it (0: the kernel decides)",
     NULL},
    {"log.cache.total.bytes", CFG_INT, "1073741824", 0, INT64_MAX,
     "bytes of newest durable data all partitions together keep in the page cache: above it, "
     "partitions idle for 5 s drop theirs, least recently written first (0: no limit)",
     NULL},
    {"log.retention.check.interval.ms", CFG_INT, "300000", 10, INT32_MAX,
     "how often retention and compaction run", NULL},
    {"log.level", CFG_STRING, "info", 0, 0, "debug, info, warn or error", check_log_level},
    {"log.segment.bytes", CFG_STRING, NULL, 0, 0, "default segment.bytes", chk_segment_bytes},
    {"log.segment.ms", CFG_STRING, NULL, 0, 0, "default segment.ms", chk_segment_ms},
    {"log.retention.ms", CFG_STRING, NULL, 0, 0, "default retention.ms", chk_retention_ms},
    {"log.retention.bytes", CFG_STRING, NULL, 0, 0, "default retention.bytes", chk_retention_bytes},
    {"log.cleanup.policy", CFG_STRING, NULL, 0, 0, "default cleanup.policy", chk_cleanup},
    {"log.index.interval.bytes", CFG_STRING, NULL, 0, 0, "default index.interval.bytes",
     chk_index_interval},
    {"message.max.bytes", CFG_STRING, NULL, 0, 0, "default max.message.bytes", chk_max_message},
    {"log.message.timestamp.type", CFG_STRING, NULL, 0, 0, "default message.timestamp.type",
     chk_ts_type},
    {"log.fsync", CFG_STRING, NULL, 0, 0, "default fsync policy: always, never, interval:<ms>",
     chk_fsync},
    {"merkle.enable", CFG_STRING, NULL, 0, 0, "default merkle.enable", chk_merkle},
    {"group.min.session.timeout.ms", CFG_INT, "6000", 1, INT32_MAX,
     "smallest session timeout a consumer may ask for", NULL},
    {"group.max.session.timeout.ms", CFG_INT, "1800000", 1, INT32_MAX,
     "largest session timeout a consumer may ask for", NULL},
    {"group.initial.rebalance.delay.ms", CFG_INT, "0", 0, 300000,
     "wait before the first generation of an empty group", NULL},
    {"offsets.commit.required.acks", CFG_INT, "1", -1, 1,
     "1: answer commits once appended; -1: once fsynced", chk_commit_acks},
    {"offsets.topic.segment.bytes", CFG_INT, "104857600", 16384, INT32_MAX,
     "segment.bytes of __consumer_offsets when it is created", NULL},
    {"offsets.topic.compact.interval.ms", CFG_INT, "60000", 10, INT32_MAX,
     "how often __consumer_offsets is compacted", NULL},
};
#define N_SERVER_KEYS (sizeof server_schema / sizeof server_schema[0])

struct server {
    uv_loop_t loop;
    struct config cfg;
    struct broker *broker;
    struct net_server *kafka;
    struct broker_rpc *rpc;    /* HTTP/WebSocket JSON-RPC (src/broker/rpc_methods.h) */
    struct merkle_rpc *merkle; /* merkle.* and notary.* methods (src/broker/merkle_rpc.h) */
    struct obl_service *obl;   /* Scarab IDs for id.next (src/obelisk/service.h), or NULL */
    uv_signal_t sigterm, sigint;
    uv_timer_t grace;
    int stopping;   /* signals seen */
    int close_wait; /* 5 ms rounds waited for other modules' handles to close */
    int exit_code;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: pyralog server [--config FILE] [--data-dir DIR] [--kafka-listen H:P]\n"
                 "                      [--http-listen H:P] [--node-id N] [--memory-only]\n"
                 "                      [--set KEY=VALUE ...]\n\n"
                 "Runs a Pyralog node: a Kafka-compatible broker on --kafka-listen and the\n"
                 "HTTP/WebSocket JSON-RPC listener on --http-listen. Prints\n"
                 "  pyralog server ready kafka=H:P http=H:P\n"
                 "on stderr once it accepts connections. SIGTERM/SIGINT stop it cleanly.\n\n"
                 "Configuration: a properties file (--config), then PYRALOG_<KEY> environment\n"
                 "variables (upper case, dots as underscores), then flags. Keys:\n");
    for (size_t i = 0; i < N_SERVER_KEYS; i++)
        fprintf(out, "  %-28s %s%s%s\n", server_schema[i].key, server_schema[i].help,
                server_schema[i].def ? ", default " : "",
                server_schema[i].def ? server_schema[i].def : "");
}

/* ---- shutdown ---- */

static void on_handle_closed(uv_handle_t *h)
{
}

static void close_all_handles(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

struct open_count {
    struct server *s;
    int n;
};

static void count_open(uv_handle_t *h, void *arg)
{
    struct open_count *oc = arg;
    if (!uv_is_closing(h) && h != (uv_handle_t *)&oc->s->sigterm &&
        h != (uv_handle_t *)&oc->s->sigint && h != (uv_handle_t *)&oc->s->grace)
        oc->n++;
}

static void on_close_wait(uv_timer_t *t)
{
    struct server *s = t->data;
    struct open_count oc = {s, 0};
    uv_walk(&s->loop, count_open, &oc);
    if (oc.n > 0 && ++s->close_wait < 200)
        return;
    uv_timer_stop(&s->grace);
    uv_signal_stop(&s->sigterm);
    uv_signal_stop(&s->sigint);
    uv_walk(&s->loop, close_all_handles, NULL);
}

static void on_net_drained(void *arg)
{
    struct server *s = arg;
    uv_timer_stop(&s->grace);
    int rc = broker_close(s->broker);
    s->broker = NULL;
    if (rc) {
        PLG_ERROR("server", "msg=\"closing logs failed\" error=\"%s\"", plg_strerror(rc));
        s->exit_code = 1;
    }
    PLG_INFO("server", "msg=\"stopped\"");
    /* libwebsockets closes its libuv handles over a few loop iterations after broker_rpc_stop;
     * closing them here first would make it close them twice. Wait for it (bounded), then close
     * whatever is left. */
    s->close_wait = 0;
    uv_timer_start(&s->grace, on_close_wait, 1, 5);
}

static void on_grace_over(uv_timer_t *t)
{
    struct server *s = t->data;
    PLG_WARN("server", "msg=\"shutdown grace period over, closing connections\"");
    net_server_close_all(s->kafka);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    if (s->stopping++) {
        net_server_close_all(s->kafka);
        return;
    }
    PLG_INFO("server", "msg=\"shutting down\" signal=%d connections=%d", signum,
             net_server_conn_count(s->kafka));
    /* HTTP/WebSocket first: lws starts closing its libuv handles now, before the final
     * uv_walk in on_net_drained closes whatever is left. */
    broker_rpc_stop(s->rpc);
    broker_shutdown(s->broker);
    uv_timer_start(&s->grace, on_grace_over, SHUTDOWN_GRACE_MS, 0);
    net_server_shutdown(s->kafka, on_net_drained, s);
}

/* ---- HTTP/JSON-RPC listener ----
 * The rpc module (src/rpc/) serves HTTP/WebSocket on this loop. It binds in http_start(); the
 * bound address goes into the ready line. */
static int http_start(struct server *s, const char *host, int port, int *bound_port)
{
    struct broker_rpc_opts o = {
        .host = host,
        .port = port,
        .max_message = (size_t)config_int(&s->cfg, "http.max.message.bytes"),
        .max_connections = (int)config_int(&s->cfg, "http.max.connections"),
        .max_subscriptions = (int)config_int(&s->cfg, "rpc.max.subscriptions.per.connection"),
    };
    int rc = broker_rpc_start(s->broker, &o, &s->rpc);
    if (rc)
        return rc;
    /* The verifiable-log methods, signed with the node key in <data>/meta/. */
    rc = merkle_rpc_register(
        broker_rpc_dispatcher(s->rpc), s->broker,
        config_bool(&s->cfg, "memory.only") ? NULL : config_get(&s->cfg, "data.dir"), &s->merkle);
    if (rc) {
        cli_err("server", "cannot load or create the node signing key in %s/meta: %s",
                config_get(&s->cfg, "data.dir"), plg_strerror(rc));
        return rc;
    }
    *bound_port = broker_rpc_port(s->rpc);
    /* id.next: Scarab IDs from this node (time floor under <data>/obelisk/, node id = node.id).
     * Needs files, so not in --memory-only mode; node ids above 1023 do not fit a Scarab ID. */
    int64_t node = config_int(&s->cfg, "node.id");
    if (!config_bool(&s->cfg, "memory.only") && node <= 1023) {
        struct obl_service_opts so = {.data_dir = config_get(&s->cfg, "data.dir"),
                                      .node_id = (unsigned)node,
                                      .loop = &s->loop}; /* floor fsyncs off the loop */
        rc = obl_service_open(&so, &s->obl);
        if (rc == 0)
            rc = obl_rpc_register(broker_rpc_dispatcher(s->rpc), s->obl, 1);
        if (rc)
            PLG_WARN("server", "msg=\"id.next unavailable\" error=\"%s\"", plg_strerror(rc));
    }
    return 0;
}

/* ---- start-up ---- */

static int apply_flag(struct config *c, const char *key, const char *val)
{
    char err[400];
    if (config_set(c, key, val, err, sizeof err)) {
        cli_err("server", "%s", err);
        return 2;
    }
    return 0;
}

int cmd_server(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    struct server srv;
    memset(&srv, 0, sizeof srv);
    struct server *s = &srv;
    char err[400];
    if (config_init(&s->cfg, server_schema, N_SERVER_KEYS)) {
        cli_err("server", "out of memory");
        return 1;
    }
    int rc = 0;
    /* Pass 1: the config file (flags override it, so it is read first). */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                cli_err("server", "--config needs a file");
                config_free(&s->cfg);
                return 2;
            }
            if (config_load_file(&s->cfg, argv[i + 1], err, sizeof err)) {
                cli_err("server", "%s", err);
                config_free(&s->cfg);
                return 2;
            }
            i++;
        }
    }
    if (config_load_env(&s->cfg, err, sizeof err)) {
        cli_err("server", "%s", err);
        config_free(&s->cfg);
        return 2;
    }
    static const struct {
        const char *flag;
        const char *key;
    } flags[] = {{"--data-dir", "data.dir"},
                 {"--kafka-listen", "kafka.listen"},
                 {"--http-listen", "http.listen"},
                 {"--node-id", "node.id"},
                 {"--advertised-listen", "advertised.kafka.listen"}};
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strcmp(a, "--memory-only")) {
            rc = apply_flag(&s->cfg, "memory.only", "true");
            continue;
        }
        if (!strcmp(a, "--set")) {
            const char *kv = i + 1 < argc ? argv[++i] : NULL;
            const char *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq) {
                cli_err("server", "--set needs KEY=VALUE");
                rc = 2;
                break;
            }
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
            rc = apply_flag(&s->cfg, key, eq + 1);
            continue;
        }
        bool known = false;
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            if (strcmp(a, flags[f].flag))
                continue;
            known = true;
            if (i + 1 >= argc) {
                cli_err("server", "%s needs a value", a);
                rc = 2;
            } else {
                rc = apply_flag(&s->cfg, flags[f].key, argv[++i]);
            }
        }
        if (!known) {
            cli_err("server", "unknown option %s (see pyralog server --help)", a);
            rc = 2;
        }
    }
    if (rc) {
        config_free(&s->cfg);
        return rc;
    }

    const char *lvl = config_get(&s->cfg, "log.level");
    plg_log_set_level(!strcmp(lvl, "debug")   ? PLG_LOG_DEBUG
                      : !strcmp(lvl, "warn")  ? PLG_LOG_WARN
                      : !strcmp(lvl, "error") ? PLG_LOG_ERROR
                                              : PLG_LOG_INFO);
    signal(SIGPIPE, SIG_IGN);

    char khost[256], hhost[256], ahost[256];
    int kport, hport, aport;
    config_parse_hostport(config_get(&s->cfg, "kafka.listen"), khost, sizeof khost, &kport);
    config_parse_hostport(config_get(&s->cfg, "http.listen"), hhost, sizeof hhost, &hport);

    /* Topic defaults from the server config. */
    const char *tdefs[2 * N_TOPIC_DEFAULTS + 1];
    size_t nt = 0;
    for (size_t i = 0; i < N_SERVER_KEYS; i++) {
        const char *tk = topic_key_for(server_schema[i].key);
        const char *v = config_get(&s->cfg, server_schema[i].key);
        if (tk && v) {
            tdefs[nt++] = tk;
            tdefs[nt++] = v;
        }
    }
    tdefs[nt] = NULL;

    uv_loop_init(&s->loop);
    struct group_coord_opts go = {
        .min_session_timeout_ms = (int32_t)config_int(&s->cfg, "group.min.session.timeout.ms"),
        .max_session_timeout_ms = (int32_t)config_int(&s->cfg, "group.max.session.timeout.ms"),
        .initial_rebalance_delay_ms =
            (int32_t)config_int(&s->cfg, "group.initial.rebalance.delay.ms"),
        .commit_acks = (int)config_int(&s->cfg, "offsets.commit.required.acks"),
        .offsets_segment_bytes = config_int(&s->cfg, "offsets.topic.segment.bytes"),
        .compact_interval_ms = config_int(&s->cfg, "offsets.topic.compact.interval.ms"),
    };
    struct broker_opts bo = {
        .data_dir = config_get(&s->cfg, "data.dir"),
        .memory_only = config_bool(&s->cfg, "memory.only"),
        .node_id = (int32_t)config_int(&s->cfg, "node.id"),
        .adv_host = khost,
        .adv_port = kport,
        .auto_create = config_bool(&s->cfg, "auto.create.topics.enable"),
        .num_partitions = (int32_t)config_int(&s->cfg, "num.partitions"),
        .topic_defaults = tdefs,
        .fetch_max_wait_cap_ms = (int32_t)config_int(&s->cfg, "fetch.max.wait.cap.ms"),
        .cache_keep_bytes = config_int(&s->cfg, "log.cache.keep.bytes"),
        .cache_total_bytes = config_int(&s->cfg, "log.cache.total.bytes"),
        .groups = &go,
        .retention_check_ms = config_int(&s->cfg, "log.retention.check.interval.ms"),
    };
    rc = broker_open(&s->loop, &bo, &s->broker);
    if (rc) {
        cli_err("server", "cannot open data directory %s: %s", bo.data_dir, plg_strerror(rc));
        uv_run(&s->loop, UV_RUN_NOWAIT);
        uv_loop_close(&s->loop);
        config_free(&s->cfg);
        return 1;
    }
    struct net_server_opts no = {
        .host = khost,
        .port = kport,
        .max_frame = (size_t)config_int(&s->cfg, "socket.request.max.bytes"),
        .max_conns = (int)config_int(&s->cfg, "max.connections"),
        .max_inflight = (int)config_int(&s->cfg, "queued.max.requests"),
        .max_queued = (size_t)config_int(&s->cfg, "connection.max.queued.bytes"),
        .name = "kafka",
    };
    struct net_handler nh = {.ctx = s->broker, .on_frame = broker_on_frame};
    rc = net_server_open(&s->loop, &no, &nh, &s->kafka);
    if (rc) {
        cli_err("server", "cannot listen on %s:%d: %s", khost, kport, plg_strerror(rc));
        broker_close(s->broker);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        uv_loop_close(&s->loop);
        config_free(&s->cfg);
        return 1;
    }
    kport = net_server_port(s->kafka);
    const char *adv = config_get(&s->cfg, "advertised.kafka.listen");
    if (adv) {
        config_parse_hostport(adv, ahost, sizeof ahost, &aport);
    } else {
        snprintf(ahost, sizeof ahost, "%s",
                 !strcmp(khost, "0.0.0.0") || !strcmp(khost, "::") ? "127.0.0.1" : khost);
        aport = kport;
    }
    broker_set_advertised(s->broker, ahost, aport);

    /* Initialised before the HTTP listener: the shutdown path (also taken when it fails to
     * start) uses the timer and stops the signals. */
    uv_signal_init(&s->loop, &s->sigterm);
    uv_signal_init(&s->loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_timer_init(&s->loop, &s->grace);
    s->grace.data = s;
    int http_port = hport;
    rc = http_start(s, hhost, hport, &http_port);
    if (rc) {
        cli_err("server", "cannot listen on %s:%d: %s", hhost, hport, plg_strerror(rc));
        s->exit_code = 1;
        s->stopping = 1;
        broker_shutdown(s->broker);
        net_server_shutdown(s->kafka, on_net_drained, s);
    } else {
        uv_signal_start(&s->sigterm, on_signal, SIGTERM);
        uv_signal_start(&s->sigint, on_signal, SIGINT);
        PLG_INFO("server",
                 "msg=\"started\" node_id=%d data_dir=%s memory_only=%s topics=%d advertised=%s:%d",
                 bo.node_id, bo.data_dir, bo.memory_only ? "true" : "false",
                 broker_topic_count(s->broker), ahost, aport);
        fprintf(stderr, "pyralog server ready kafka=%s:%d http=%s:%d\n", khost, kport, hhost,
                http_port);
        fflush(stderr);
    }
    uv_run(&s->loop, UV_RUN_DEFAULT);
    broker_rpc_free(s->rpc);
    merkle_rpc_free(s->merkle);
    obl_service_close(s->obl);
    net_server_free(s->kafka);
    if (uv_loop_close(&s->loop) != 0)
        PLG_WARN("server", "msg=\"event loop closed with handles open\"");
    config_free(&s->cfg);
    return s->exit_code;
}
