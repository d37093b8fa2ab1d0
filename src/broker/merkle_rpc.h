/*
 * merkle_rpc.h — the verifiable-log JSON-RPC methods: merkle.head, merkle.prove,
 * merkle.consistency and notary.stamp (INTERFACES.md; formats in docs/verifiable-log.md).
 *
 * Owns the node signing key (loaded or created in <data>/meta/ by node_key_load_or_create; an
 * ephemeral key in memory-only mode) and a small cache of signed heads (one per partition, reused
 * while the tree has not grown). notary.stamp appends the hash as a record (null key, the 32
 * bytes as value) of partition 0 of the internal topic __notary and answers, once the append is
 * acknowledged, with a receipt anyone can check offline (`pyralog notary check`). The topic is
 * created on first use on a libuv worker (broker_topic_create_async, never blocking the loop);
 * stamps arriving meanwhile wait in a queue and are appended in arrival order once it is
 * durable; when someone else's create of __notary is in flight, they wait for that one
 * (broker_topic_wait_settled), so concurrent first stamps all succeed and the topic is made once.
 *
 * Thread model: the broker's loop thread (handlers run there). Depends on broker, rpc, crypto.
 */
#ifndef PLG_BROKER_MERKLE_RPC_H
#define PLG_BROKER_MERKLE_RPC_H

#include "broker/broker.h"
#include "rpc/rpc.h"

struct merkle_rpc;

/* Loads the node key (data_dir NULL: ephemeral) and registers the four methods into d.
 * *out is freed by merkle_rpc_free after the dispatcher is gone. */
int merkle_rpc_register(struct rpc_dispatcher *d, struct broker *b, const char *data_dir,
                        struct merkle_rpc **out);
void merkle_rpc_free(struct merkle_rpc *m);

#endif
