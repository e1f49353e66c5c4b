/*
 * relay_nats: the cluster's transport over a NATS broker (libnats 3.4, Debian's
 * libnats-dev), for relay_cluster.
 *
 * Threads. libnats reads and writes its broker connection on its own threads and
 * calls the message handler on its one delivery thread (the library's global
 * delivery pool, size 1, which keeps the order of every subscription and between
 * them). The handler only appends the message to a queue under a mutex and, if
 * the queue was empty, wakes the lws loop with lws_cancel_service(); the loop
 * thread then drains the queue (relay_nats_drain, from
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED) into relay_cluster. Connection events, flush
 * results and dropped messages travel through the same queue, so relay_cluster
 * and relay_room are only ever touched by the loop thread. Publishing and
 * subscribing happen on the loop thread (libnats' calls are thread-safe). The
 * flush that confirms a SYNC (natsConnection_FlushTimeout, a round trip to the
 * broker) runs on a thread of ours, so the loop never waits for the broker.
 *
 * Why not libnats' libuv adapter: it would move protocol parsing and socket I/O
 * onto the relay's single loop thread (the relay's bottleneck), message callbacks
 * would still run on library threads (a queue is needed either way), and its
 * handles would live on a loop that lws creates and tears down itself.
 *
 * Lag bound: when the queue holds more than max_lag bytes the handler drops the
 * message and reports its subscription as lost: relay_cluster disconnects that
 * room's local members (4003) instead of letting them miss frames quietly.
 */
#ifndef RELAY_NATS_H
#define RELAY_NATS_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "relay_cluster.h"

typedef struct relay_nats relay_nats;

typedef struct relay_nats_stats {
    uint64_t queued;           /* messages waiting for the loop now */
    uint64_t queued_bytes;     /* their bytes */
    uint64_t max_queued_bytes; /* most bytes ever waiting */
    uint64_t dropped;          /* messages dropped over the lag bound or by libnats */
    uint64_t flushes;          /* broker round trips for SYNC */
} relay_nats_stats;

/*
 * Prepares a transport to the brokers urls[0..n) (nats://host:port), waking ctx's
 * loop when something arrives. A broker that takes messages smaller than min_payload
 * is warned about when connected. Nothing connects yet. Returns NULL with a message in
 * err[cap] (bad URL, out of memory).
 */
relay_nats *relay_nats_new(char *const *urls, size_t n, struct lws_context *ctx, size_t max_lag,
                           size_t min_payload, char *err, size_t cap);

/* The transport callbacks to give relay_cluster_new. */
relay_cluster_transport relay_nats_transport(relay_nats *n);

/* The cluster to flush when the loop's batch is done (transport.defer). */
void relay_nats_attach(relay_nats *n, relay_cluster *c);

/*
 * Connects; if no broker answers it keeps trying in the background (and reconnects
 * by itself later). Returns 0, or -1 with a message in err[cap].
 */
int relay_nats_start(relay_nats *n, char *err, size_t cap);

/* On the loop thread: feeds what arrived to c (a bounded batch; it wakes the loop
 * again if more is waiting). Logs connection changes. */
void relay_nats_drain(relay_nats *n, relay_cluster *c);

/* Closes the connection and stops every thread that could call back; publishing
 * fails from then on. Call before destroying the lws context. */
void relay_nats_stop(relay_nats *n);

/* Frees (stops first if needed). */
void relay_nats_free(relay_nats *n);

void relay_nats_get_stats(relay_nats *n, relay_nats_stats *out);


#endif
