/*
 * rpc_methods.h — the server's JSON-RPC front end: the log and topic methods over the broker API,
 * and the HTTP/WebSocket listener that serves them (src/rpc/).
 *
 * Methods (params → result; see docs/rpc.md for details and errors):
 *   topic.create     {name, partitions?, config?}      → {name, partitions}
 *   topic.list       {}                                → [{name, partitions}]
 *   log.append       {topic, partition?, key?, value, headers?, timestamp?, acks?}
 *                                                      → {partition, offset}
 *   log.read         {topic, partition, offset, max_records?}
 *                                                      → {records, high_watermark}
 *   log.subscribe    {topic, partition, offset}        → {subscription}; then notifications
 *                    log.records {subscription, records} over the WebSocket
 *   log.unsubscribe  {subscription}                    → true
 *   cluster.status   {}                                → {node_id, version, uptime_ms, topics,
 *                                                         partitions, connections...}
 * A record in JSON: {offset, timestamp, key, value, headers: [{key, value}]}, key and values
 * base64 (null for null). log.append writes one ordinary Kafka RecordBatch v2 per call (built by
 * storage's batch builder), so Kafka consumers read it; log.read and subscriptions decode
 * whatever Kafka producers wrote (any codec).
 *
 * Subscriptions push from the partition log as long as the connection's send backlog stays
 * under a high-water mark; above it the subscription pauses and resumes when the transport
 * reports the backlog drained — a slow subscriber is paused, never buffered without bound. When
 * caught up, a subscription parks on the broker's per-partition "data arrived" watch.
 *
 * Other modules add their methods to broker_rpc_dispatcher() (crypto: merkle.*, notary.*;
 * obelisk: id.next).
 *
 * Thread model: the broker's loop thread only.
 */
#ifndef PLG_BROKER_RPC_METHODS_H
#define PLG_BROKER_RPC_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "rpc/rpc.h"

struct broker_rpc;

struct broker_rpc_opts {
    const char *host;          /* HTTP listen address, default 127.0.0.1 */
    int port;                  /* 0: any free port */
    size_t max_message;        /* bytes per HTTP body / WebSocket message; default 1 MiB */
    int max_connections;       /* default 1024 */
    int max_subscriptions;     /* per connection; default 64 */
    int max_subscriptions_all; /* whole server; default 10000 */
    size_t max_read_bytes;     /* log.read / one push: batch bytes read at most; default 1 MiB */
};

/* Registers the methods above into d, bound to broker b. r (from broker_rpc_start) may be NULL
 * when only the methods are wanted (then cluster.status reports no connections). */
int broker_rpc_register(struct rpc_dispatcher *d, struct broker *b, struct broker_rpc *r);

/* Creates a dispatcher with the methods and starts the HTTP/WebSocket listener on the broker's
 * loop. Returns 0 or a negative code (-EADDRINUSE, PLG_EINVAL for a bad address). */
int broker_rpc_start(struct broker *b, const struct broker_rpc_opts *o, struct broker_rpc **out);
int broker_rpc_port(const struct broker_rpc *r);
struct rpc_dispatcher *broker_rpc_dispatcher(struct broker_rpc *r);
/* Closes the listener and every connection (subscriptions end). Run the loop afterwards, then
 * broker_rpc_free(). */
void broker_rpc_stop(struct broker_rpc *r);
void broker_rpc_free(struct broker_rpc *r);

#endif
