/*
 * sc_session: one member's view of one room, as a sans-I/O state machine.
 *
 * The caller owns the socket and the clock. It feeds whole WebSocket messages from the
 * relay (sc_session_receive), user text (sc_session_send), time (sc_session_tick) and
 * connection loss (sc_session_disconnected); it drains WebSocket messages to write
 * (sc_session_output / sc_session_output_pop) and events for the UI
 * (sc_session_next_event). No call blocks, reads a clock, touches a file or prints.
 *
 * A session outlives connections: the identity, the outbox of unsent user messages, the
 * de-duplication set and the identity keys of the members authenticated at the drop survive
 * sc_session_disconnected; member state, channels and chains are rebuilt from the next
 * WELCOME. See docs/PROTOCOL.md section 7.
 */
#ifndef SC_SESSION_H
#define SC_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define SC_SESSION_MAX_TEXT 32768u   /* bytes of UTF-8 per user message */
#define SC_SESSION_MAX_NAME 64u      /* bytes of UTF-8 in a display name */
#define SC_SESSION_HANDSHAKE_TIMEOUT_MS 15000u
/* After a reconnect the outbox waits at most this long (from WELCOME) for the members that
 * were authenticated when the connection was lost (docs/PROTOCOL.md 7.4). */
#define SC_SESSION_REJOIN_WAIT_MS 10000u
#define SC_SESSION_ROTATE_AFTER 1000u
/* Bounds on what the relay or peers can make a session hold (docs/PROTOCOL.md 7.8). */
#define SC_SESSION_MAX_MEMBERS 256u     /* members tracked per connection */
#define SC_SESSION_MAX_HELD 64u         /* group messages held per member awaiting its keys */
#define SC_SESSION_MAX_OUTBOX 1024u     /* unconfirmed user messages */
#define SC_SESSION_DEDUPE_IDS 4096u     /* (identity, msg_id) pairs remembered */

typedef struct sc_session sc_session;

typedef struct sc_session_config {
    const uint8_t *identity_pk; /* 32-byte Ed25519 public key; copied */
    const uint8_t *identity_sk; /* 64-byte Ed25519 secret key; copied, wiped on free */
    const uint8_t *room_secret; /* 32 bytes; copied, wiped on free */
    const char *name;           /* display name, NUL-terminated, <= SC_SESSION_MAX_NAME bytes */
    const uint8_t *rng_seed;    /* NULL for libsodium randomness; a 32-byte seed makes every
                                   random choice deterministic (test vectors only) */
    uint32_t rotate_after;      /* messages per chain before rotating; 0 = SC_SESSION_ROTATE_AFTER */
} sc_session_config;

enum sc_event_type {
    SC_EV_JOINED_ROOM = 1,     /* WELCOME processed: member = own id, count = members present */
    SC_EV_MEMBER_JOINED,       /* member = id (relay presence; not yet authenticated) */
    SC_EV_MEMBER_AUTHENTICATED,/* handshake done: member, identity, name, fingerprint */
    SC_EV_HANDSHAKE_FAILED,    /* member, reason */
    SC_EV_MEMBER_LEFT,         /* member (identity/name if it had authenticated) */
    SC_EV_MESSAGE,             /* member, identity, name, msg_id, time_ms, text */
    SC_EV_UNDECRYPTABLE,       /* member, reason (a group message that will not be shown) */
    SC_EV_KEYS_ROTATED,        /* own chain replaced; reason says why */
    SC_EV_PEER_KEYS,           /* member sent a new chain (chain_id in msg_id) */
    SC_EV_SENT,                /* msg_id encrypted and handed to output */
    SC_EV_CONFIRMED,           /* msg_id accepted by the relay (SYNCED) */
    SC_EV_RELAY_ERROR,         /* code, reason: an ERROR envelope from the relay */
    SC_EV_PROTOCOL_ERROR,      /* reason: relay sent something invalid; reconnect */
    SC_EV_WARNING,             /* member, reason: rejected input that is not a message
                                  (bad handshake or channel message, replayed control) */
    SC_EV_SEND_FAILED          /* msg_id: removed from the outbox unsent; reason says why
                                  (larger than this relay's max_payload) */
};

/* An event. Pointers refer to session memory valid until the next call on the session. */
typedef struct sc_event {
    enum sc_event_type type;
    uint64_t member;          /* member id concerned, 0 if none */
    uint64_t msg_id;
    uint64_t time_ms;         /* sender's timestamp (MESSAGE) */
    uint32_t count;           /* JOINED_ROOM: members other than self */
    uint16_t code;            /* RELAY_ERROR: ERROR envelope code */
    const uint8_t *identity;  /* 32 bytes, or NULL if not known */
    const char *name;         /* NUL-terminated, "" if unknown */
    const char *fingerprint;  /* 30 digits NUL-terminated, "" if unknown */
    const uint8_t *text;      /* MESSAGE: text bytes (not NUL-terminated) */
    size_t text_len;
    const char *reason;       /* short static or session string, "" if none */
} sc_event;

/* Returns a new session, or NULL if cfg is invalid (missing key or secret, name too long or
 * failing sc_hs_name_valid, identity_pk not matching identity_sk) or memory is exhausted.
 * Free with sc_session_free. */
sc_session *sc_session_new(const sc_session_config *cfg);

/* Wipes every secret and frees the session. NULL is allowed. */
void sc_session_free(sc_session *s);

/*
 * Feeds one whole WebSocket binary message received from the relay (one or more
 * envelopes). Returns 0, or -1 if the message is malformed (a PROTOCOL_ERROR event is
 * queued; the caller should drop the connection and reconnect). Invalid end-to-end
 * content never returns -1: it becomes UNDECRYPTABLE or WARNING events.
 */
int sc_session_receive(sc_session *s, const uint8_t *msg, size_t len, uint64_t now_ms);

/*
 * Queues user text for sending; it is encrypted and sent once the session is connected
 * and its keys are ready, and resent after a reconnect until the relay confirms it.
 * Returns 0 and sets *msg_id (if not NULL), or -1 if len is 0 or over SC_SESSION_MAX_TEXT,
 * text is not valid UTF-8, the outbox holds SC_SESSION_MAX_OUTBOX messages, or the session
 * is connected and the sealed message exceeds the relay's max_payload. A message queued
 * while disconnected that turns out too large for the next relay yields SC_EV_SEND_FAILED.
 */
int sc_session_send(sc_session *s, const uint8_t *text, size_t len, uint64_t now_ms,
                    uint64_t *msg_id);

/* Advances timers (handshake timeouts, the rejoin wait). Call at or after
 * sc_session_deadline. */
void sc_session_tick(sc_session *s, uint64_t now_ms);

/* Returns the time (ms) at which sc_session_tick must next be called, or 0 if none. */
uint64_t sc_session_deadline(const sc_session *s);

/* The connection is gone: drops member state and requeues unconfirmed messages. Pending
 * output is discarded. The identity keys of the members authenticated right now are
 * remembered: after the next WELCOME the outbox is held until each has authenticated again
 * or SC_SESSION_REJOIN_WAIT_MS has passed (docs/PROTOCOL.md 7.4). The next
 * sc_session_receive must start with a WELCOME. */
void sc_session_disconnected(sc_session *s, uint64_t now_ms);

/* Returns the next WebSocket binary message to write and sets *len, or NULL if none.
 * The pointer stays valid until sc_session_output_pop or sc_session_disconnected. */
const uint8_t *sc_session_output(sc_session *s, size_t *len);

/* Drops the message returned by sc_session_output (call after writing it). */
void sc_session_output_pop(sc_session *s);

/* Pops the next event into *ev. Returns 1 if an event was returned, 0 if none. */
int sc_session_next_event(sc_session *s, sc_event *ev);

/* Queries. */
int sc_session_connected(const sc_session *s);      /* 1 after WELCOME until disconnected */
uint64_t sc_session_member_id(const sc_session *s); /* own id, 0 if not connected */
size_t sc_session_outbox_len(const sc_session *s);  /* user messages not yet confirmed */
/* Writes the safety number for member (60 digits in 12 groups + NUL) into out[cap]. Returns 0,
 * or -1 if the member is unknown or not authenticated, or cap < SC_IDENTITY_SAFETY_CHARS+1. */
int sc_session_safety_number(const sc_session *s, uint64_t member, char *out, size_t cap);
/* Member ids present (authenticated or not); returns the count, writes up to cap ids. */
size_t sc_session_members(const sc_session *s, uint64_t *ids, size_t cap);
/* Identity key (32 bytes) and name of an authenticated member, or NULL if unknown. */
const uint8_t *sc_session_member_identity(const sc_session *s, uint64_t member);
const char *sc_session_member_name(const sc_session *s, uint64_t member);

/* The room id as the relay sees it (43 chars of base64url + NUL). */
const char *sc_session_room_id(const sc_session *s);

#endif
