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
 *
 * Cluster (issue 7, relay_cluster.h): with a bus set (relay_rooms_set_bus), what
 * other relays must learn (a local member welcomed or gone, a frame accepted, a
 * SYNC) is handed to the bus hooks, and what they publish comes back in through
 * add_remote, remove_remote and deliver. Remote members are entries in the room's
 * member list and id index that are never woken. A new room can be "held" while
 * the cluster collects the members other relays have: its members wait, input
 * paused, without WELCOME, until relay_room_release. Every local member gets a
 * join generation (gen) when welcomed; a frame from another relay carries the
 * highest generation that relay had heard of when it accepted the frame, and is
 * delivered only to local members with a generation at most that, so nobody
 * receives frames accepted before their JOINED reached the sender's relay. Without
 * a bus none of this costs anything: no room is held and every gen check passes.
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

/* relay_room_join's result when the member waits for its room's cluster sync. */
#define RELAY_ROOM_HELD 1

/* Why relay_room_ops.lost took a member out of its room. */
enum relay_room_lost {
    RELAY_ROOM_LOST_SYNC = 1, /* the room lost sync with the cluster (close 4003) */
    RELAY_ROOM_LOST_FULL,     /* the room filled up while the member waited (4001) */
    RELAY_ROOM_LOST_NOMEM     /* out of memory while welcoming it (1011) */
};

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
    uint8_t remote;           /* 1: connected to another relay; never woken */
    uint8_t waiting;          /* 1: local, room held: no WELCOME yet (in room->waiting) */
    uint32_t gen;             /* local: join generation in its room, from 1 */
    lws_dll2_t throttle_node;
} relay_member;

typedef struct relay_room_ops {
    /* m has envelopes waiting: arrange for relay_room_fill to be called. */
    void (*wake)(relay_member *m, void *arg);
    /* m fell behind the queue bound and is no longer in its room (its room and
     * id are already cleared). Close its connection; do not call back into
     * the room module from here. */
    void (*cut)(relay_member *m, void *arg);
    /* Stop (on = 1) or resume (on = 0) reading m's input: backpressure, and while
     * m waits for its held room (resumed at its WELCOME). */
    void (*throttle)(relay_member *m, int on, void *arg);
    void *arg;
    /* m was taken out of its room for `why` (enum relay_room_lost; room and id are
     * cleared already). Close its connection; do not call back into the room
     * module. NULL: cut is called instead. */
    void (*lost)(relay_member *m, int why, void *arg);
} relay_room_ops;

/*
 * What the cluster learns from the room module (relay_rooms_set_bus). Hooks only
 * record and publish: they must not call back into the room module.
 */
typedef struct relay_room_bus {
    /* Room r was created for its first local member. Returns 1 to hold it, 0 not
     * to, -1 if out of memory (the join fails with RELAY_ROOM_E_NOMEM). */
    int (*open)(struct relay_room *r, void *arg);
    /* r is about to be freed: no local member is left; its remote members have
     * already been taken out (the bus owns their memory). */
    void (*close)(struct relay_room *r, void *arg);
    /* Local member id was welcomed with join generation gen. */
    void (*joined)(struct relay_room *r, uint64_t id, uint32_t gen, void *arg);
    /* Welcomed local member id left (or was cut). */
    void (*left)(struct relay_room *r, uint64_t id, void *arg);
    /* Local member `from` sent payload[0..len) to everyone (to = 0) or to remote member to. */
    void (*data)(struct relay_room *r, uint64_t from, uint64_t to, const uint8_t *payload,
                 size_t len, void *arg);
    /* Local member id sent SYNC(token): answer with relay_room_reply_to once the
     * frames it sent before are with the other relays. */
    void (*sync)(struct relay_room *r, uint64_t id, uint64_t token, void *arg);
    void *arg;
} relay_room_bus;

typedef struct relay_room_limits {
    uint32_t max_members; /* per room, at most SC_ENV_MAX_WELCOME_MEMBERS + 1 */
    uint32_t max_payload; /* announced in WELCOME; the caller enforces it on input */
    size_t max_queue;     /* log bytes a member may fall behind before it is cut */
} relay_room_limits;

typedef struct relay_rooms relay_rooms;

typedef struct relay_rooms_stats {
    uint64_t rooms;     /* rooms that exist now */
    uint64_t members;   /* local members in rooms now (waiting ones included) */
    uint64_t log_bytes; /* bytes held by room logs now */
    uint64_t cut;       /* members cut for falling behind, since start */
    uint64_t throttled; /* times a sender was paused for backpressure, since start */
    uint64_t remote;    /* members of other relays known in local rooms now */
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

/* Sets (or with NULL clears) the cluster hooks; bus is copied. Call while no room exists. */
void relay_rooms_set_bus(relay_rooms *rooms, const relay_room_bus *bus);

/* Changes the instance (high half of new member ids; nonzero): after an id collision in a
 * cluster, once every local member has been taken out. */
void relay_rooms_set_instance(relay_rooms *rooms, uint32_t instance);

/* Returns the room named id[0..len), or NULL. */
struct relay_room *relay_rooms_find(relay_rooms *rooms, const char *id, size_t len);

/* Returns the member (local or remote) with this id, or NULL. */
relay_member *relay_rooms_member(const relay_rooms *rooms, uint64_t id);

/* The room's name (not NUL-terminated) and its length. */
const char *relay_room_name(const struct relay_room *r, size_t *len);

/* The bus's per-room state (NULL until set). */
void *relay_room_bus_state(const struct relay_room *r);
void relay_room_set_bus_state(struct relay_room *r, void *state);

/* Local members welcomed, and the last join generation given out in r. */
uint32_t relay_room_local(const struct relay_room *r);
uint32_t relay_room_gen(const struct relay_room *r);

/* Returns 1 while r is held (its members wait for relay_room_release). */
int relay_room_held(const struct relay_room *r);

/* Writes the ids of r's welcomed local members, in join order, into out[0..cap); returns
 * their number (which may exceed cap: then only cap were written). */
size_t relay_room_local_ids(const struct relay_room *r, uint64_t *out, size_t cap);

/* Returns nonzero if id[0..len) is a valid room id: 1..128 chars of [A-Za-z0-9_-]. */
int relay_room_id_valid(const char *id, size_t len);

/*
 * Puts m (zeroed, not in a room) into the room named id[0..len), creating it if
 * needed, assigns m->id, queues WELCOME for m (listing the members already there)
 * and JOINED(m) for them, and wakes m.
 * Returns 0, RELAY_ROOM_HELD (the room is held: m waits, no id yet, and its input
 * should be paused; WELCOME comes with relay_room_release, or ops.lost is called),
 * RELAY_ROOM_E_FULL, RELAY_ROOM_E_IDS, RELAY_ROOM_E_INVALID or RELAY_ROOM_E_NOMEM
 * (m unchanged).
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
 * Answers SYNC(token) from m: SYNCED(token) now, or with a bus through its sync hook
 * (once m's earlier frames are with the other relays). Returns 0, RELAY_ROOM_E_NOT_IN
 * or RELAY_ROOM_E_NOMEM.
 */
int relay_room_sync(relay_rooms *rooms, relay_member *m, uint64_t token);

/* As relay_room_reply, to the local member with this id; RELAY_ROOM_E_NO_MEMBER if it
 * is gone (the reply is dropped). */
int relay_room_reply_to(relay_rooms *rooms, uint64_t id, const uint8_t *env, size_t len);

/*
 * Cluster side. add_remote enters m (zeroed, owned by the caller until
 * remove_remote or the bus's close hook) as member id of another relay and queues
 * JOINED(id) for the local members. Returns 0, RELAY_ROOM_E_INVALID (id 0 or
 * already known) or RELAY_ROOM_E_NOMEM.
 */
int relay_room_add_remote(relay_rooms *rooms, struct relay_room *r, relay_member *m,
                          uint64_t id);

/* Takes remote member m out of its room; the local members receive LEFT(m). */
void relay_room_remove_remote(relay_rooms *rooms, relay_member *m);

/*
 * Delivers payload[0..len) sent by remote member `from` to every local member of its
 * room (to = 0) or to local member `to`, as DATA, to the members whose join
 * generation is at most gen. Returns 0, RELAY_ROOM_E_NO_MEMBER (to is not a local
 * member there: dropped), RELAY_ROOM_E_INVALID or RELAY_ROOM_E_NOMEM.
 */
int relay_room_deliver(relay_rooms *rooms, relay_member *from, uint64_t to, uint32_t gen,
                       const uint8_t *payload, size_t len);

/* Welcomes the members waiting in held room r, in arrival order (ops.lost for those
 * that no longer fit), and resumes their input. r may be freed on return. */
void relay_room_release(relay_rooms *rooms, struct relay_room *r);

/* Takes every local member out of r (ops.lost with why) and frees it; the bus sees
 * left for each welcomed one, then close. */
void relay_room_lose(relay_rooms *rooms, struct relay_room *r, int why);

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
