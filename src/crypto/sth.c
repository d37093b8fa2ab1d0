/* sth.c — see sth.h. */
#include "crypto/sth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hex.h"
#include "crypto/merkle.h"
#include "pyralog/pyralog.h"

int sth_message(const struct sth *h, struct buf *b)
{
    size_t tl = strnlen(h->topic, sizeof h->topic);
    if (tl > STH_TOPIC_MAX)
        return PLG_EINVAL;
    buf_put(b, STH_PREFIX, strlen(STH_PREFIX));
    buf_be16(b, (uint16_t)tl);
    buf_put(b, h->topic, tl);
    buf_be32(b, h->partition);
    buf_be64(b, h->tree_size);
    buf_be64(b, h->timestamp);
    buf_put(b, h->root, 32);
    return b->oom ? PLG_ENOMEM : 0;
}

int sth_sign(struct sth *h, const struct node_key *k)
{
    struct buf b;
    buf_init(&b);
    int rc = sth_message(h, &b);
    if (!rc) {
        crypto_sign_detached(h->signature, NULL, b.data, b.len, k->sk);
        memcpy(h->public_key, k->pk, 32);
    }
    buf_free(&b);
    return rc;
}

int sth_verify(const struct sth *h)
{
    struct buf b;
    buf_init(&b);
    int rc = sth_message(h, &b);
    if (!rc && crypto_sign_verify_detached(h->signature, b.data, b.len, h->public_key) != 0)
        rc = PLG_EVERIFY;
    buf_free(&b);
    return rc;
}

/* ---- key files ------------------------------------------------------------------------------ */

/* Writes data to path through a temporary file, fsync and rename, with the given mode. */
static int write_file_atomic(const char *dir, const char *name, const char *data, size_t len,
                             mode_t mode)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= sizeof tmp)
        return -ENAMETOOLONG;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0)
        rc = errno ? -errno : -EIO;
    close(fd);
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int read_small_file(const char *path, char *out, size_t cap, size_t *len, mode_t *mode)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    ssize_t n = read(fd, out, cap);
    int e = n < 0 ? -errno : 0;
    close(fd);
    if (e)
        return e;
    *len = (size_t)n;
    *mode = st.st_mode;
    return 0;
}

int node_key_load_or_create(const char *data_dir, struct node_key *k)
{
    char meta[PATH_MAX], path[PATH_MAX];
    if ((size_t)snprintf(meta, sizeof meta, "%s/meta", data_dir) >= sizeof meta ||
        (size_t)snprintf(path, sizeof path, "%s/%s", meta, NODE_KEY_FILE) >= sizeof path)
        return -ENAMETOOLONG;
    if (sodium_init() < 0)
        return PLG_ESTATE;
    char text[160];
    size_t len = 0;
    mode_t mode = 0;
    int rc = read_small_file(path, text, sizeof text, &len, &mode);
    if (rc == 0) {
        if (mode & (S_IRWXG | S_IRWXO))
            return -EACCES; /* a signing key others can read is no longer this node's */
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
            len--;
        uint8_t seed[32];
        if (hex_decode(text, len, seed, sizeof seed))
            return PLG_ECORRUPT;
        crypto_sign_seed_keypair(k->pk, k->sk, seed);
        sodium_memzero(seed, sizeof seed);
        sodium_memzero(text, sizeof text);
        return 0;
    }
    if (rc != -ENOENT)
        return rc;
    if (mkdir(data_dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    if (mkdir(meta, 0755) != 0 && errno != EEXIST)
        return -errno;
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    char hex[2 * 32 + 2];
    hex_encode(seed, 32, hex);
    sodium_memzero(seed, sizeof seed);
    hex[64] = '\n';
    rc = write_file_atomic(meta, NODE_KEY_FILE, hex, 65, 0600);
    sodium_memzero(hex, sizeof hex);
    if (rc)
        return rc;
    hex_encode(k->pk, 32, hex);
    hex[64] = '\n';
    return write_file_atomic(meta, NODE_PUB_FILE, hex, 65, 0644);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_t *hexj(const uint8_t *p, size_t len)
{
    char s[2 * 64 + 1];
    hex_encode(p, len, s);
    return json_string(s);
}

json_t *sth_to_json(const struct sth *h)
{
    return json_pack("{s:I, s:o, s:I, s:o, s:o}", "tree_size", (json_int_t)h->tree_size, "root",
                     hexj(h->root, 32), "timestamp", (json_int_t)h->timestamp, "signature",
                     hexj(h->signature, 64), "public_key", hexj(h->public_key, 32));
}

static int get_hex(const json_t *o, const char *key, uint8_t *out, size_t len, const char **why)
{
    const json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);
    if (!s || hex_decode(s, json_string_length(v), out, len)) {
        if (why)
            *why = key;
        return PLG_EINVAL;
    }
    return 0;
}

static int get_u64(const json_t *o, const char *key, uint64_t *out, const char **why)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        if (why)
            *why = key;
        return PLG_EINVAL;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int sth_from_json(const json_t *o, const char *topic, uint32_t partition, struct sth *h,
                  const char **why)
{
    if (!json_is_object(o)) {
        if (why)
            *why = "head is not an object";
        return PLG_EINVAL;
    }
    size_t tl = strlen(topic);
    if (tl > STH_TOPIC_MAX) {
        if (why)
            *why = "topic too long";
        return PLG_EINVAL;
    }
    memset(h, 0, sizeof *h);
    memcpy(h->topic, topic, tl);
    h->partition = partition;
    if (get_u64(o, "tree_size", &h->tree_size, why) ||
        get_u64(o, "timestamp", &h->timestamp, why) || get_hex(o, "root", h->root, 32, why) ||
        get_hex(o, "signature", h->signature, 64, why) ||
        get_hex(o, "public_key", h->public_key, 32, why))
        return PLG_EINVAL;
    return 0;
}

/* ---- receipts ---------------------------------------------------------------------------------
 */

json_t *receipt_build(const uint8_t hash[32], const char *topic, uint32_t partition,
                      uint64_t offset, int64_t timestamp, const uint8_t leaf[32],
                      const uint8_t *proof, size_t proof_count, const struct sth *head)
{
    json_t *path = json_array();
    for (size_t i = 0; path && i < proof_count; i++)
        json_array_append_new(path, hexj(proof + 32 * i, 32));
    return json_pack("{s:i, s:o, s:s, s:I, s:I, s:I, s:o, s:o, s:o}", "version", 1, "hash",
                     hexj(hash, 32), "topic", topic, "partition", (json_int_t)partition, "offset",
                     (json_int_t)offset, "timestamp", (json_int_t)timestamp, "leaf", hexj(leaf, 32),
                     "proof", path, "head", sth_to_json(head));
}

#define FAIL(code, msg)                                                                            \
    do {                                                                                           \
        *why = (msg);                                                                              \
        rc = (code);                                                                               \
        goto out;                                                                                  \
    } while (0)

int receipt_check(const char *json, size_t len, const uint8_t file_hash[32],
                  const uint8_t *pinned_pk, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    json_error_t err;
    json_t *r = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    int rc = 0;
    uint8_t hash[32], leaf[32], want_leaf[32];
    uint64_t partition, offset, ts;
    struct sth head;
    if (!json_is_object(r))
        FAIL(PLG_EINVAL, "receipt is not a JSON object");
    const json_t *ver = json_object_get(r, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        FAIL(PLG_EINVAL, "unsupported receipt version");
    const char *topic = json_string_value(json_object_get(r, "topic"));
    if (!topic)
        FAIL(PLG_EINVAL, "receipt has no topic");
    const char *field = NULL;
    if (get_hex(r, "hash", hash, 32, &field) || get_hex(r, "leaf", leaf, 32, &field) ||
        get_u64(r, "partition", &partition, &field) || get_u64(r, "offset", &offset, &field) ||
        get_u64(r, "timestamp", &ts, &field) || partition > UINT32_MAX)
        FAIL(PLG_EINVAL, "receipt field missing or malformed");
    if (sth_from_json(json_object_get(r, "head"), topic, (uint32_t)partition, &head, &field))
        FAIL(PLG_EINVAL, "receipt head missing or malformed");
    if (sodium_memcmp(hash, file_hash, 32) != 0)
        FAIL(PLG_EVERIFY, "the file's BLAKE3 hash is not the stamped hash");
    /* The leaf must be exactly the record the notary appended for this hash. */
    struct mk_record rec = {.offset = offset,
                            .timestamp = (int64_t)ts,
                            .key = NULL,
                            .key_len = -1,
                            .value = hash,
                            .value_len = 32,
                            .headers = NULL,
                            .header_count = 0};
    if (mk_record_leaf(&rec, want_leaf))
        FAIL(PLG_ENOMEM, "out of memory");
    if (sodium_memcmp(want_leaf, leaf, 32) != 0)
        FAIL(PLG_EVERIFY, "leaf does not encode this hash at this offset and timestamp");
    if (pinned_pk && sodium_memcmp(pinned_pk, head.public_key, 32) != 0)
        FAIL(PLG_EVERIFY, "head is signed by a different key than the trusted one");
    if (sth_verify(&head))
        FAIL(PLG_EVERIFY, "bad signature on the tree head");
    const json_t *proof = json_object_get(r, "proof");
    if (!json_is_array(proof) || json_array_size(proof) > MK_MAX_PATH)
        FAIL(PLG_EINVAL, "proof is not an array of at most 64 hashes");
    uint8_t path[MK_MAX_PATH][32];
    struct mk_bytes els[MK_MAX_PATH];
    for (size_t i = 0; i < json_array_size(proof); i++) {
        const json_t *e = json_array_get(proof, i);
        const char *s = json_string_value(e);
        if (!s || hex_decode(s, json_string_length(e), path[i], 32))
            FAIL(PLG_EINVAL, "proof element is not a 32-byte hex hash");
        els[i] = (struct mk_bytes){path[i], 32};
    }
    if (mk_verify_inclusion(&mk_blake3, offset, head.tree_size, (struct mk_bytes){leaf, 32}, els,
                            json_array_size(proof), (struct mk_bytes){head.root, 32}))
        FAIL(PLG_EVERIFY, "inclusion proof does not lead to the signed root");
    *why = "ok";
out:
    json_decref(r);
    return rc;
}
