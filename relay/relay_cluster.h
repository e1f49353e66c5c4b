/*
 * relay_cluster: several relays serving the same rooms over a message bus (NATS),
 * docs/CLUSTER.md. This module is the protocol only, sans I/O: a transport
 * (relay_nats, or an in-memory bus in the tests) publishes, subscribes and flushes
 * for it, and feeds it what arrives, the connection state and the time. It plugs
 * into relay_room through its bus hooks (relay_rooms_set_bus) and drives the rooms
 * with add_remote, remove_remote, deliver, release and lose.
 *
 * In short: each relay subscribes to the subject of every room it has local members
 * in, and numbers what it publishes there (one sequence per relay and room). A
 * relay entering a room asks every live relay for its STATE of it (HELLO on the
 * control subject) and holds its new members until they answered. Presence,
 * frames and acknowledgements of joins travel in the room's stream; a receiver
 * that sees a gap, lags too far behind, or loses the broker takes its local
 * members out of the affected rooms (close 4003) instead of losing frames quietly.
 * Heartbeats on the control subject tell who is alive; the members of a relay
 * silent for dead_after_ms leave every room.
 *
 * Everything runs on the relay's loop thread; no call blocks.
 */
#ifndef RELAY_CLUSTER_H
#define RELAY_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "relay_room.h"

typedef struct relay_cluster relay_cluster;

typedef struct relay_cluster_transport {
    /* Publishes data[0..len) on subject (NUL-terminated). Returns 0, or -1 if it was
     * not accepted for sending. */
    int (*publish)(void *arg, const char *subject, const uint8_t *data, size_t len);
    /* Subscribes to subject; *sid names the subscription in relay_cluster_message.
     * Returns 0 or -1. */
    int (*subscribe)(void *arg, const char *subject, uint64_t *sid);
    void (*unsubscribe)(void *arg, uint64_t sid);
    /* Asks for relay_cluster_flushed(marker) once everything published before this
     * call has reached the broker. Markers increase. */
    void (*flush)(void *arg, uint64_t marker);
    /* Asks for relay_cluster_poll soon, from the loop (not from inside this call). */
    void (*wake)(void *arg);
    /* Asks for relay_cluster_flush once the loop has handled the events at hand. */
    void (*defer)(void *arg);
    void *arg;
} relay_cluster_transport;

typedef struct relay_cluster_config {
    uint32_t hb_interval_ms;  /* heartbeat period (1000) */
    uint32_t dead_after_ms;   /* a relay silent this long is dead (3000) */
    uint32_t sync_timeout_ms; /* longest wait for STATE replies before welcoming (2000) */
    uint32_t view_delay_ms;   /* after (re)connecting: listen to heartbeats before
                                 entering rooms (1500) */
    uint32_t max_payload;     /* largest DATA payload (relay_room_limits.max_payload) */
    uint32_t max_members;     /* members per room (relay_room_limits.max_members) */
} relay_cluster_config;

/* Why local members of a room were disconnected with 4003 (metric labels). */
enum relay_cluster_loss {
    RELAY_CLUSTER_LOSS_GAP,       /* a sequence gap in another relay's stream */
    RELAY_CLUSTER_LOSS_LAG,       /* messages dropped: this relay fell behind the broker */
    RELAY_CLUSTER_LOSS_BROKER,    /* connection to the broker lost */
    RELAY_CLUSTER_LOSS_PUBLISH,   /* a publish or flush failed */
    RELAY_CLUSTER_LOSS_FENCE,     /* declared dead by the others (stalled), or stalled itself */
    RELAY_CLUSTER_LOSS_COLLISION, /* another relay uses the same instance id */
    RELAY_CLUSTER_LOSS_INVALID,   /* a stream contradicted itself (unknown member, ...) */
    RELAY_CLUSTER_LOSS_COUNT_
};

typedef struct relay_cluster_stats {
    uint64_t connected;       /* 1 while connected to the broker */
    uint64_t established;     /* 1 once the peers are known after connecting */
    uint64_t peers;           /* other relays alive */
    uint64_t rooms;           /* rooms with cluster state */
    uint64_t rooms_shared;    /* of them, rooms that other relays are in too */
    uint64_t held;            /* rooms holding new members for STATE replies */
    uint64_t published, published_bytes, publish_errors;
    uint64_t received, received_bytes, invalid;
    uint64_t gaps;            /* sequence gaps detected */
    uint64_t losses[RELAY_CLUSTER_LOSS_COUNT_]; /* room losses by cause */
    uint64_t members_lost;    /* local members disconnected with 4003 */
    uint64_t hb_sent, hb_received;
    uint64_t peers_dead;      /* relays declared dead */
    uint64_t fences_sent;
    uint64_t connects, disconnects;
    uint64_t syncs_pending;   /* SYNCs waiting for a flush */
    uint32_t instance, epoch;
} relay_cluster_stats;

/* Returns a label for a loss cause ("gap", "lag", ...). */
const char *relay_cluster_loss_name(enum relay_cluster_loss why);

/*
 * Creates the cluster state for rooms and installs itself as their bus. instance
 * is the rooms' instance id, nonce a random nonzero number of this process.
 * Returns NULL if out of memory. cfg and t are copied.
 */
relay_cluster *relay_cluster_new(relay_rooms *rooms, const relay_cluster_config *cfg,
                                 const relay_cluster_transport *t, uint32_t instance,
                                 uint32_t nonce);

/* The transport is going away (shutdown): nothing is published or scheduled from
 * now on, and rooms are no longer disconnected for cluster reasons. */
void relay_cluster_stop(relay_cluster *c);

/* Frees the state. Rooms must be gone (or are left without their bus). */
void relay_cluster_free(relay_cluster *c);

/* 1 while local members may join (connected to the broker), else 0. */
int relay_cluster_ready(const relay_cluster *c);

/* The transport connected (or reconnected) to the broker at now_ms. */
void relay_cluster_connected(relay_cluster *c, uint64_t now_ms);

/* The transport lost the broker: every local member is taken out (4003). */
void relay_cluster_disconnected(relay_cluster *c);

/* A message arrived on subscription sid; now_ms is when the transport received it (a
 * relay that works through a backlog must not take the others' heartbeats for late). */
void relay_cluster_message(relay_cluster *c, uint64_t sid, const char *subject,
                           const uint8_t *data, size_t len, uint64_t now_ms);

/* Flush `marker` completed (ok = 1) or failed (ok = 0). */
void relay_cluster_flushed(relay_cluster *c, uint64_t marker, int ok);

/* Messages of subscription sid were dropped (0: of any subscription). */
void relay_cluster_lost(relay_cluster *c, uint64_t sid);

/* Heartbeats, dead relays, held rooms' timeouts; call every 100-250 ms. */
void relay_cluster_tick(relay_cluster *c, uint64_t now_ms);

/* Runs work deferred from inside room hooks (rooms to disconnect). */
void relay_cluster_poll(relay_cluster *c);

/* Publishes what the rooms collected since the last call: one bundle per room. */
void relay_cluster_flush(relay_cluster *c);

void relay_cluster_get_stats(const relay_cluster *c, relay_cluster_stats *out);

#endif
