/*
 * cmd_notary.c — `pyralog notary stamp FILE [--http H:P]` and
 * `pyralog notary check RECEIPT FILE [--public-key HEX]`.
 *
 * stamp: BLAKE3 of FILE, sent as notary.stamp over HTTP POST /rpc; the receipt JSON goes to
 * stdout. check: offline; the file's BLAKE3 must be the stamped hash, the leaf must encode it at
 * the receipt's offset and time, the inclusion proof must lead to the head's root, and the head's
 * Ed25519 signature must verify (with --public-key, by that key only). Exit 0 / 1, 2 for usage.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "crypto/blake3.h"
#include "crypto/hex.h"
#include "crypto/sth.h"
#include "pyralog/pyralog.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pyralog notary stamp FILE [--http H:P]\n"
            "       pyralog notary check RECEIPT FILE [--public-key HEX]\n\n"
            "stamp: notarizes FILE's BLAKE3 hash with the server (JSON-RPC notary.stamp,\n"
            "default --http 127.0.0.1:8080) and prints the receipt JSON on stdout.\n"
            "check: checks a receipt offline against FILE: the stamped hash, the record leaf,\n"
            "the inclusion proof and the signed tree head (--public-key: the node key you\n"
            "trust, hex). Exit 0 when it checks out, 1 otherwise.\n");
}

static int hash_file(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_err("notary", "%s: %s", path, strerror(errno));
        return 1;
    }
    struct b3_hasher h;
    b3_init(&h);
    static uint8_t buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        b3_update(&h, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        cli_err("notary", "%s: read error", path);
        return 1;
    }
    b3_finalize(&h, out, 32);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    size_t k;
    while (p && (k = fread(p + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *q = realloc(p, cap *= 2);
            if (!q) {
                free(p);
                p = NULL;
            }
            p = q;
        }
    }
    fclose(f);
    *len = n;
    return p;
}

static int check(int argc, char **argv)
{
    const char *receipt = NULL, *file = NULL, *pk_hex = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--public-key") && i + 1 < argc)
            pk_hex = argv[++i];
        else if (!receipt)
            receipt = argv[i];
        else if (!file)
            file = argv[i];
        else {
            cli_err("notary", "unexpected argument %s", argv[i]);
            return 2;
        }
    }
    if (!receipt || !file) {
        cli_err("notary", "check needs RECEIPT and FILE (see pyralog notary --help)");
        return 2;
    }
    uint8_t pk[32], hash[32];
    if (pk_hex && hex_decode(pk_hex, strlen(pk_hex), pk, 32)) {
        cli_err("notary", "--public-key must be 64 hex digits");
        return 2;
    }
    if (hash_file(file, hash))
        return 1;
    size_t len;
    char *text = slurp(receipt, &len);
    if (!text) {
        cli_err("notary", "%s: %s", receipt, strerror(errno));
        return 1;
    }
    const char *why = NULL;
    int rc = receipt_check(text, len, hash, pk_hex ? pk : NULL, &why);
    free(text);
    if (rc) {
        cli_err("notary", "receipt %s does not check out for %s: %s", receipt, file, why);
        return 1;
    }
    printf("ok: %s was stamped; the receipt's proof and signed tree head check out%s\n", file,
           pk_hex ? " (signed by the given key)" : "");
    return 0;
}

/* One HTTP/1.1 POST of body to host:port/rpc; returns the response body (free()) or NULL. */
static char *http_post(const char *hostport, const char *body)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host)
        return NULL;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return NULL;
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        freeaddrinfo(ai);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    freeaddrinfo(ai);
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "POST /rpc HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      hostport, strlen(body));
    if (write(fd, head, (size_t)hl) != hl ||
        write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
        close(fd);
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *resp = malloc(cap + 1);
    ssize_t k;
    while (resp && (k = read(fd, resp + n, cap - n)) > 0) {
        n += (size_t)k;
        if (n == cap) {
            char *q = realloc(resp, (cap *= 2) + 1);
            if (!q)
                free(resp);
            resp = q;
        }
    }
    close(fd);
    if (!resp)
        return NULL;
    resp[n] = '\0';
    char *b = strstr(resp, "\r\n\r\n");
    char *out = b ? strdup(b + 4) : NULL;
    free(resp);
    return out;
}

static int stamp(int argc, char **argv)
{
    const char *file = NULL, *http = "127.0.0.1:8080";
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--http") && i + 1 < argc)
            http = argv[++i];
        else if (!file)
            file = argv[i];
        else {
            cli_err("notary", "unexpected argument %s", argv[i]);
            return 2;
        }
    }
    if (!file) {
        cli_err("notary", "stamp needs FILE (see pyralog notary --help)");
        return 2;
    }
    uint8_t hash[32];
    char hex[65];
    if (hash_file(file, hash))
        return 1;
    hex_encode(hash, 32, hex);
    char body[256];
    snprintf(
        body, sizeof body,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"notary.stamp\",\"params\":{\"hash\":\"%s\"}}",
        hex);
    char *resp = http_post(http, body);
    if (!resp) {
        cli_err("notary", "cannot reach %s: %s", http, strerror(errno ? errno : ECONNREFUSED));
        return 1;
    }
    json_t *j = json_loads(resp, 0, NULL);
    free(resp);
    json_t *res = json_object_get(j, "result");
    if (!json_is_object(res)) {
        const char *msg =
            json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        cli_err("notary", "notary.stamp failed: %s", msg ? msg : "malformed response");
        json_decref(j);
        return 1;
    }
    char *out = json_dumps(res, JSON_INDENT(2));
    printf("%s\n", out);
    free(out);
    json_decref(j);
    return 0;
}

int cmd_notary(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "check"))
        return check(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "stamp"))
        return stamp(argc, argv);
    usage(stderr);
    return 2;
}
