/*
 * cmd_audit.c — `pyralog audit --http H:P [--state FILE] [--bootstrap H:P] [--samples N]`:
 * the online auditor.
 *
 * For every partition with a Merkle tree: fetches the signed tree head (merkle.head) and checks
 * its Ed25519 signature and that the node key is the one seen before; checks consistency with the
 * head seen last time (kept in the state file): the tree may only grow, and a consistency proof
 * (merkle.consistency) must link the old root to the new one; checks N sampled inclusion proofs
 * (merkle.prove) against records fetched over the Kafka protocol (librdkafka), their leaves
 * recomputed here. The state file is only updated when everything passed. Exit 0 / 1, 2 usage.
 */
#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/kclient.h"
#include "crypto/hex.h"
#include "crypto/merkle.h"
#include "crypto/sth.h"
#include "pyralog/pyralog.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pyralog audit --http H:P [--state FILE] [--bootstrap H:P] [--samples N]\n\n"
            "Audits a running server without trusting it: checks every partition's signed tree\n"
            "head, that the tree only grew since the heads recorded in FILE (consistency\n"
            "proofs), and N sampled inclusion proofs (default 3) against records read over the\n"
            "Kafka protocol (--bootstrap, default 127.0.0.1:9092). FILE is updated only when\n"
            "every check passes. Exit 0 when all pass, 1 naming what failed.\n");
}

static int decode_path(json_t *arr, uint8_t (*buf)[32], struct mk_bytes *els, size_t *n)
{
    if (!json_is_array(arr) || json_array_size(arr) > MK_MAX_PATH)
        return PLG_EINVAL;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_string(e) ||
            hex_decode(json_string_value(e), json_string_length(e), buf[i], 32))
            return PLG_EINVAL;
        els[i] = (struct mk_bytes){buf[i], 32};
    }
    *n = json_array_size(arr);
    return 0;
}

/* Reads the record at offset over Kafka and computes its leaf. 1: done; 0: not there (removed
 * by retention/compaction); <0 error. */
static int fetch_leaf(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t offset,
                      uint8_t leaf[32])
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err)
        return -EIO;
    int rc = -ETIMEDOUT;
    for (int tries = 0; tries < 50; tries++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->offset != offset) {
            rc = m->offset > offset ? 0 : -EIO;
            rd_kafka_message_destroy(m);
            if (rc == 0)
                break;
            continue;
        }
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        rd_kafka_headers_t *hdrs = NULL;
        struct mk_header hv[64];
        uint32_t hc = 0;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const char *name;
            const void *val;
            size_t size;
            for (size_t i = 0; hc < 64 && !rd_kafka_header_get_all(hdrs, i, &name, &val, &size);
                 i++)
                hv[hc++] = (struct mk_header){(const uint8_t *)name, (int32_t)strlen(name), val,
                                              val ? (int32_t)size : -1};
        }
        struct mk_record r = {.offset = (uint64_t)offset,
                              .timestamp = ts,
                              .key = m->key,
                              .key_len = m->key ? (int32_t)m->key_len : -1,
                              .value = m->payload,
                              .value_len = m->payload ? (int32_t)m->len : -1,
                              .headers = hv,
                              .header_count = hc};
        rc = mk_record_leaf(&r, leaf) ? -ENOMEM : 1;
        rd_kafka_message_destroy(m);
        break;
    }
    rd_kafka_assign(rk, NULL);
    return rc;
}

struct audit {
    const char *http;
    int samples;
    rd_kafka_t *rk;
    json_t *state_heads; /* "topic/p" → {tree_size, root} */
    json_t *new_heads;
    uint8_t key[32];
    bool have_key;
    int failures, partitions, proofs;
};

static void fail(struct audit *a, const char *topic, int p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct audit *a, const char *topic, int p, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pyralog: audit: topic=%s partition=%d: ", topic, p);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    a->failures++;
}

static void audit_partition(struct audit *a, const char *topic, int p)
{
    char why[300], name[300];
    json_t *hj =
        cli_rpc_call(a->http, "merkle.head",
                     json_pack("{s:s, s:i}", "topic", topic, "partition", p), why, sizeof why);
    if (!hj) {
        if (strstr(why, "merkle.enable=false"))
            return; /* no tree on purpose */
        fail(a, topic, p, "merkle.head: %s", why);
        return;
    }
    struct sth h;
    const char *bad = NULL;
    int rc = sth_from_json(hj, topic, (uint32_t)p, &h, &bad);
    json_decref(hj);
    if (rc) {
        fail(a, topic, p, "malformed head (%s)", bad ? bad : "?");
        return;
    }
    a->partitions++;
    if (sth_verify(&h)) {
        fail(a, topic, p, "the tree head's signature does not verify");
        return;
    }
    if (a->have_key && memcmp(a->key, h.public_key, 32)) {
        fail(a, topic, p, "the head is signed by a different node key than before");
        return;
    }
    memcpy(a->key, h.public_key, 32);
    a->have_key = true;
    snprintf(name, sizeof name, "%s/%d", topic, p);
    json_t *prev = json_object_get(a->state_heads, name);
    if (prev) {
        uint64_t psize = (uint64_t)json_integer_value(json_object_get(prev, "tree_size"));
        uint8_t proot[32];
        const char *rs = json_string_value(json_object_get(prev, "root"));
        if (!rs || hex_decode(rs, strlen(rs), proot, 32)) {
            fail(a, topic, p, "state file entry is malformed");
            return;
        }
        if (h.tree_size < psize) {
            fail(a, topic, p, "the tree shrank from %llu to %llu leaves: history was rewritten",
                 (unsigned long long)psize, (unsigned long long)h.tree_size);
            return;
        }
        if (psize > 0 && h.tree_size == psize && memcmp(proot, h.root, 32)) {
            fail(a, topic, p, "same tree size %llu but a different root: history was rewritten",
                 (unsigned long long)psize);
            return;
        }
        if (psize > 0 && h.tree_size > psize) {
            json_t *cj = cli_rpc_call(a->http, "merkle.consistency",
                                      json_pack("{s:s, s:i, s:I, s:I}", "topic", topic, "partition",
                                                p, "from_size", (json_int_t)psize, "to_size",
                                                (json_int_t)h.tree_size),
                                      why, sizeof why);
            uint8_t buf[MK_MAX_PATH][32];
            struct mk_bytes els[MK_MAX_PATH];
            size_t n = 0;
            if (!cj || decode_path(json_object_get(cj, "path"), buf, els, &n) ||
                mk_verify_consistency(&mk_blake3, psize, h.tree_size, (struct mk_bytes){proot, 32},
                                      (struct mk_bytes){h.root, 32}, els, n)) {
                fail(a, topic, p,
                     "consistency proof from tree size %llu to %llu fails: the log was "
                     "rewritten since the last audit%s%s",
                     (unsigned long long)psize, (unsigned long long)h.tree_size, cj ? "" : ": ",
                     cj ? "" : why);
                json_decref(cj);
                return;
            }
            json_decref(cj);
            a->proofs++;
        }
    }
    /* Sampled inclusion proofs against records read over Kafka. */
    for (int s = 0; s < a->samples && h.tree_size > 0; s++) {
        uint64_t off = s == 0 ? h.tree_size - 1 : (uint64_t)rand() % h.tree_size;
        json_t *pj =
            cli_rpc_call(a->http, "merkle.prove",
                         json_pack("{s:s, s:i, s:I, s:I}", "topic", topic, "partition", p, "offset",
                                   (json_int_t)off, "tree_size", (json_int_t)h.tree_size),
                         why, sizeof why);
        uint8_t buf[MK_MAX_PATH][32], leaf[32];
        struct mk_bytes els[MK_MAX_PATH];
        size_t n = 0;
        if (!pj || decode_path(json_object_get(pj, "path"), buf, els, &n)) {
            fail(a, topic, p, "merkle.prove offset %llu: %s", (unsigned long long)off,
                 pj ? "malformed path" : why);
            json_decref(pj);
            return;
        }
        json_decref(pj);
        int fr = fetch_leaf(a->rk, topic, p, (int64_t)off, leaf);
        if (fr == 0)
            continue; /* the record is gone (retention/compaction); its leaf stays */
        if (fr < 0) {
            fail(a, topic, p, "cannot read offset %llu over Kafka: %s", (unsigned long long)off,
                 plg_strerror(fr));
            return;
        }
        if (mk_verify_inclusion(&mk_blake3, off, h.tree_size, (struct mk_bytes){leaf, 32}, els, n,
                                (struct mk_bytes){h.root, 32})) {
            fail(a, topic, p,
                 "the record at offset %llu is not in the signed tree (inclusion proof fails)",
                 (unsigned long long)off);
            return;
        }
        a->proofs++;
    }
    char root[65];
    hex_encode(h.root, 32, root);
    json_object_set_new(a->new_heads, name,
                        json_pack("{s:I, s:s, s:I}", "tree_size", (json_int_t)h.tree_size, "root",
                                  root, "timestamp", (json_int_t)h.timestamp));
}

int cmd_audit(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    struct audit a = {.samples = 3};
    const char *state = NULL, *bootstrap = KCLIENT_DEFAULT_BOOTSTRAP;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--http") && i + 1 < argc)
            a.http = argv[++i];
        else if (!strcmp(argv[i], "--state") && i + 1 < argc)
            state = argv[++i];
        else if (!strcmp(argv[i], "--bootstrap") && i + 1 < argc)
            bootstrap = argv[++i];
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            a.samples = atoi(argv[++i]);
        else {
            cli_err("audit", "unexpected argument %s (see pyralog audit --help)", argv[i]);
            return 2;
        }
    }
    if (!a.http || a.samples < 0) {
        cli_err("audit", "--http H:P is required");
        return 2;
    }
    json_t *st = NULL;
    if (state) {
        json_error_t err;
        st = json_load_file(state, 0, &err);
        if (!st && access(state, F_OK) == 0) {
            cli_err("audit", "cannot read state file %s: %s", state, err.text);
            return 1;
        }
    }
    if (!st)
        st = json_pack("{s:{}}", "heads");
    a.state_heads = json_object_get(st, "heads");
    const char *pk = json_string_value(json_object_get(st, "public_key"));
    if (pk && !hex_decode(pk, strlen(pk), a.key, 32))
        a.have_key = true;
    a.new_heads = json_object();
    srand((unsigned)time(NULL));
    static const char *const extra[] = {"enable.auto.commit", "false", "group.id", "pyralog-audit",
                                        NULL};
    a.rk = kclient_new("audit", RD_KAFKA_CONSUMER, bootstrap, extra);
    if (!a.rk) {
        json_decref(st);
        json_decref(a.new_heads);
        return 1;
    }
    char why[300];
    json_t *topics = cli_rpc_call(a.http, "topic.list", NULL, why, sizeof why);
    if (!topics) {
        cli_err("audit", "topic.list: %s", why);
        a.failures++;
    }
    size_t i;
    json_t *t;
    json_array_foreach(topics, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_int_t np = json_integer_value(json_object_get(t, "partitions"));
        for (json_int_t p = 0; name && p < np; p++)
            audit_partition(&a, name, (int)p);
    }
    json_decref(topics);
    rd_kafka_consumer_close(a.rk);
    rd_kafka_destroy(a.rk);
    int code = 0;
    if (a.failures) {
        fprintf(stderr, "pyralog: audit: %d check(s) failed; state file not updated\n", a.failures);
        code = 1;
    } else {
        char key[65];
        hex_encode(a.key, 32, key);
        json_t *ns =
            json_pack("{s:s, s:O}", "public_key", a.have_key ? key : "", "heads", a.new_heads);
        if (state) {
            char tmp[4200];
            snprintf(tmp, sizeof tmp, "%s.tmp", state);
            if (json_dump_file(ns, tmp, JSON_INDENT(2)) || rename(tmp, state)) {
                cli_err("audit", "cannot write state file %s: %s", state, strerror(errno));
                code = 1;
            }
        }
        json_decref(ns);
        if (!code)
            printf("audit ok: %d partitions, %d proofs checked, all heads signed by %s\n",
                   a.partitions, a.proofs, a.have_key ? key : "(none)");
    }
    json_decref(st);
    json_decref(a.new_heads);
    return code;
}
