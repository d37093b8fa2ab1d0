/*
 * sth.h — signed tree heads, the node signing key, and notary receipts.
 *
 * Owns: the exact bytes an STH signature covers (ARCHITECTURE.md: "pyralog-sth-v1" ‖
 * u16be(topic length) ‖ topic ‖ u32be(partition) ‖ u64be(tree size) ‖ u64be(timestamp ms) ‖
 * root), Ed25519 signing and verification (libsodium), the node key files in <data>/meta/
 * (node.key: hex seed, mode 0600, refused when group/other can read it; node.pub: hex public
 * key), the JSON forms of a head and of a notary receipt (docs/verifiable-log.md), and the
 * offline receipt check.
 *
 * Invariants: verification treats every JSON field as untrusted (types, lengths, ranges checked,
 * never a crash); signatures are checked before anything derived from a head is trusted.
 * Thread model: pure functions, any thread; key loading does blocking file I/O (call it at
 * start-up, not on the event loop's hot path).
 */
#ifndef PLG_CRYPTO_STH_H
#define PLG_CRYPTO_STH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define STH_PREFIX "pyralog-sth-v1"
#define STH_TOPIC_MAX 255
#define NODE_KEY_FILE "node.key"
#define NODE_PUB_FILE "node.pub"
#define NOTARY_TOPIC "__notary"

struct sth {
    char topic[STH_TOPIC_MAX + 1];
    uint32_t partition;
    uint64_t tree_size;
    uint64_t timestamp; /* ms since the epoch, when the head was signed */
    uint8_t root[32];
    uint8_t signature[64];
    uint8_t public_key[32];
};

struct node_key {
    uint8_t pk[32];
    uint8_t sk[64]; /* libsodium form: seed ‖ public key */
};

/* The signed bytes of h into b (appended). 0, PLG_EINVAL (topic too long), PLG_ENOMEM. */
int sth_message(const struct sth *h, struct buf *b);
/* Fills h->signature and h->public_key with k. */
int sth_sign(struct sth *h, const struct node_key *k);
/* 0 when h->signature is valid for h->public_key; PLG_EVERIFY otherwise. */
int sth_verify(const struct sth *h);

/* Loads <data_dir>/meta/node.key, or creates the key pair (meta/ too) when absent. Refuses a key
 * file that group or others may read (-EACCES) and a malformed one (PLG_ECORRUPT). */
int node_key_load_or_create(const char *data_dir, struct node_key *k);

/* {tree_size, root, timestamp, signature, public_key} (hex), as merkle.head returns it. New
 * reference (json_decref), NULL on allocation failure. */
json_t *sth_to_json(const struct sth *h);
/* Parses the head object; topic and partition come from the caller (the signed message
 * includes them). 0 or PLG_EINVAL with a reason in why (may be NULL). */
int sth_from_json(const json_t *o, const char *topic, uint32_t partition, struct sth *h,
                  const char **why);

/*
 * A notary receipt: the stamped 32-byte hash became record `offset` of NOTARY_TOPIC (null key,
 * the hash as value, no headers) at `timestamp`; `proof` shows that leaf in the tree of
 * head.tree_size leaves whose root head signs.
 */
json_t *receipt_build(const uint8_t hash[32], const char *topic, uint32_t partition,
                      uint64_t offset, int64_t timestamp, const uint8_t leaf[32],
                      const uint8_t *proof, size_t proof_count, const struct sth *head);

/*
 * Checks a receipt offline against the hash of the file it claims to cover. pinned_pk, when
 * not NULL, is the node key the caller trusts (else the key in the receipt is used and only
 * self-consistency is proven). 0 when it checks out; PLG_EVERIFY or PLG_EINVAL otherwise with
 * a one-line reason in *why.
 */
int receipt_check(const char *json, size_t len, const uint8_t file_hash[32],
                  const uint8_t *pinned_pk, const char **why);

#endif
