/*
 * relay_room: rooms, member ids and the routing of envelopes between members.
 *
 * This is the relay's one routing seam: the WebSocket layer calls join, leave,
 * send_all, send_to and reply, and drains each member with fill. Nothing here
 * knows about sockets or clocks, so a cluster transport (issue 7: NATS) can sit
 * behind the same calls, publishing what local members send and appending what
 * other relays publish.
 *
 * Each room keeps one log: a list of chunks holding every envelope routed in the
 * room, in the room's total order, stored once with its relay-side header (DATA
 * header, WELCOME, JOINED, ...) already encoded. Every member has a cursor into
 * the log; fill copies the envelopes addressed to it from its cursor onwards into
 * the caller's buffer (one batch), skipping its own broadcasts and unicasts to
 * others. A member whose cursor has reached the end is "idle" and costs nothing
 * per routed envelope; it is woken (ops.wake) when an envelope for it arrives.
 *
 * Bound: when the log holds more than limits.max_queue bytes beyond the oldest
 * chunk, every member whose cursor is still in that chunk is removed from the
 * room (ops.cut; others receive LEFT) and the chunk is freed. Memory per room is
 * thus at most max_queue plus one chunk, whatever the members do.
 *
 * Backpressure: a member is "backlogged" when its cursor lies in a chunk that
 * starts more than max_queue / 4 before the end of the log. While more than
 * half of a room's members are backlogged the room as a whole is not keeping
 * up, so a member that sends is throttled (ops.throttle: stop reading it) until
 * at most a quarter are. A minority of stalled members never throttles anyone:
 * they reach the bound and are cut, so one stalled member never stalls the
 * room, and a flooding sender is slowed to the pace of its room instead of
 * getting its readers cut.
 *
 * Member ids are (instance << 32) | counter: unique across relays that draw
 * distinct random instance ids, never reused while the relay runs.
 */
#ifndef RELAY_ROOM_H
#define RELAY_ROOM_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "relay_map.h"

#define RELAY_ROOM_ID_MAX 128u

/* Errors (negative) returned by the calls below. */
#define RELAY_ROOM_E_NOMEM (-1)     /* out of memory; nothing changed */
#define RELAY_ROOM_E_FULL (-2)      /* room has max_members members */
#define RELAY_ROOM_E_NO_MEMBER (-3) /* send_to target is not in the sender's room */
#define RELAY_ROOM_E_IDS (-4)       /* the relay ran out of member ids */
#define RELAY_ROOM_E_NOT_IN (-5)    /* the member is not in a room */
#define RELAY_ROOM_E_INVALID (-6)   /* bad room id or argument */

struct relay_room;
struct relay_chunk;

/* A member's routing state; embed it in the connection's state. Zero it before join. */
typedef struct relay_member {
    uint64_t id;              /* nonzero while in a room */
    struct relay_room *room;  /* NULL when not in a room */
    lws_dll2_t room_node;     /* in room->members */
    lws_dll2_t queue_node;    /* in room->idle, or in the readers of the cursor's chunk */
    relay_map_node id_node;   /* in the registry's id index */
    struct relay_chunk *chunk; /* cursor; valid while pending */
    uint32_t off;
    uint8_t pending;          /* 1: something may be waiting for it in the log */
    uint8_t throttled;        /* 1: its input is paused (in room->throttled) */
    lws_dll2_t throttle_node;
} relay_member;

typedef struct relay_room_ops {
    /* m has envelopes waiting: arrange for relay_room_fill to be called. */
    void (*wake)(relay_member *m, void *arg);
    /* m fell behind the queue bound and is no longer in its room (its room and
     * id are already cleared). Close its connection; do not call back into
     * the room module from here. */
    void (*cut)(relay_member *m, void *arg);
    /* Stop (on = 1) or resume (on = 0) reading m's input: backpressure. */
    void (*throttle)(relay_member *m, int on, void *arg);
    void *arg;
} relay_room_ops;

typedef struct relay_room_limits {
    uint32_t max_members; /* per room, at most SC_ENV_MAX_WELCOME_MEMBERS + 1 */
    uint32_t max_payload; /* announced in WELCOME; the caller enforces it on input */
    size_t max_queue;     /* log bytes a member may fall behind before it is cut */
} relay_room_limits;

typedef struct relay_rooms relay_rooms;

typedef struct relay_rooms_stats {
    uint64_t rooms;     /* rooms that exist now */
    uint64_t members;   /* members in rooms now */
    uint64_t log_bytes; /* bytes held by room logs now */
    uint64_t cut;       /* members cut for falling behind, since start */
    uint64_t throttled; /* times a sender was paused for backpressure, since start */
} relay_rooms_stats;

/*
 * Creates the registry. instance must be nonzero (the high half of every member id).
 * Returns NULL if out of memory. ops and limits are copied.
 */
relay_rooms *relay_rooms_new(const relay_room_limits *limits, const relay_room_ops *ops,
                             uint32_t instance);

/* Frees the registry and every room left in it. Members must have left already. */
void relay_rooms_free(relay_rooms *rooms);

/* Returns the size of the largest envelope fill can produce: its cap must be at least this. */
size_t relay_rooms_max_envelope(const relay_rooms *rooms);

void relay_rooms_get_stats(const relay_rooms *rooms, relay_rooms_stats *out);

/* Returns nonzero if id[0..len) is a valid room id: 1..128 chars of [A-Za-z0-9_-]. */
int relay_room_id_valid(const char *id, size_t len);

/*
 * Puts m (zeroed, not in a room) into the room named id[0..len), creating it if
 * needed, assigns m->id, queues WELCOME for m (listing the members already there)
 * and JOINED(m) for them, and wakes m.
 * Returns 0, RELAY_ROOM_E_FULL, RELAY_ROOM_E_IDS, RELAY_ROOM_E_INVALID or
 * RELAY_ROOM_E_NOMEM (m unchanged).
 */
int relay_room_join(relay_rooms *rooms, const char *id, size_t len, relay_member *m);

/* Takes m out of its room (others receive LEFT(m)); frees the room if it empties. No-op
 * if m is not in a room. m's id stays readable; m may not join again. */
void relay_room_leave(relay_rooms *rooms, relay_member *m);

/*
 * Routes payload[0..len) (len >= 1) from m to every other member of its room as
 * DATA mode 0. Returns 0, RELAY_ROOM_E_NOT_IN or RELAY_ROOM_E_NOMEM. On return m
 * itself may have been cut (m->room == NULL) if it is the laggard.
 */
int relay_room_send_all(relay_rooms *rooms, relay_member *m, const uint8_t *payload,
                        size_t len);

/* As send_all, to member `to` only (DATA mode 1). Also RELAY_ROOM_E_NO_MEMBER. */
int relay_room_send_to(relay_rooms *rooms, relay_member *m, uint64_t to,
                       const uint8_t *payload, size_t len);

/*
 * Queues a relay-made envelope env[0..len) (SYNCED, a non-fatal ERROR) for m alone, in
 * order after everything already routed to it. Returns 0, RELAY_ROOM_E_NOT_IN or
 * RELAY_ROOM_E_NOMEM.
 */
int relay_room_reply(relay_rooms *rooms, relay_member *m, const uint8_t *env, size_t len);

/*
 * Copies the envelopes waiting for m, in order, into out[0..cap) back to back (a
 * batch), stopping before one that would not fit. cap must be at least
 * relay_rooms_max_envelope(). Returns the bytes written (0 if nothing waits);
 * *n_env gets the number of envelopes and *more is set if more are waiting.
 */
size_t relay_room_fill(relay_rooms *rooms, relay_member *m, uint8_t *out, size_t cap,
                       uint32_t *n_env, int *more);

#endif
