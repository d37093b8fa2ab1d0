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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    errno = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        b3_update(&h, buf, n);
    int bad = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (bad) {
        cli_err("notary", "%s: cannot read: %s", path, strerror(bad));
        return 1;
    }
    b3_finalize(&h, out, 32);
    return 0;
}

/* The whole file in *out (malloc'd, *len bytes): 0, or errno (open or read failed, or no
 * memory). A read error fails the whole call: never a readable prefix taken for the file. */
static int slurp(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    int err = p ? 0 : ENOMEM;
    size_t k;
    errno = 0;
    while (!err && (k = fread(p + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *q = realloc(p, cap *= 2);
            if (!q)
                err = ENOMEM;
            else
                p = q;
        }
    }
    if (!err && ferror(f))
        err = errno ? errno : EIO;
    fclose(f);
    if (err) {
        free(p);
        return err;
    }
    *out = p;
    *len = n;
    return 0;
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
    size_t len = 0;
    char *text = NULL;
    int err = slurp(receipt, &text, &len);
    if (err) {
        cli_err("notary", "%s: cannot read the receipt: %s", receipt, strerror(err));
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
    char why[300];
    json_t *res =
        cli_rpc_call(http, "notary.stamp", json_pack("{s:s}", "hash", hex), why, sizeof why);
    if (!res) {
        cli_err("notary", "notary.stamp: %s", why);
        return 1;
    }
    char *out = json_dumps(res, JSON_INDENT(2));
    printf("%s\n", out);
    free(out);
    json_decref(res);
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
