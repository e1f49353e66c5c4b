/*
 * sc2_room: one member's client state machine of one room on protocol v2
 * (docs/V2-DESIGN.md "Clients"). A room is an MLS group (shared/mls) whose group_id is
 * the room_id; the relay orders its messages into a log (sc2_envelope), the link and its
 * derivations are sc2_link's, the log hash chain sc2_loghash's.
 *
 * Sans-I/O: no sockets, clocks, files or printing. The caller owns the connection and
 * the clock. It tells the room when a connection opened (sc2_room_connected) or was lost
 * (sc2_room_disconnected), feeds every WebSocket message from the relay
 * (sc2_room_receive), user actions (sc2_room_send_text, _update, _remove, _leave) and
 * drains two queues: WebSocket messages to write (sc2_room_output / _output_pop, one
 * envelope each) and events for the user (sc2_room_next_event). Every `now` is the
 * caller's clock in milliseconds since the Unix epoch (MLS gets seconds). Randomness comes
 * from the mls_rng given in the config (NULL: libsodium). Every allocation goes through
 * mls_alloc (shared/mls's seam), which wipes what it frees; on allocation failure an event
 * may be lost, never the room's consistency.
 *
 * What a room keeps across connections (and, with sc2_room_export / sc2_room_import,
 * across runs): the MLS group, the last processed seq and the log hash chain, the link,
 * the outbox of messages the relay has not accepted yet, and the identities seen in the
 * room (key continuity: display name -> signature key).
 *
 * A member's MLS credential is a basic credential whose identity is its display name
 * (UTF-8, 1..SC2_ROOM_MAX_NAME bytes); its signature key is its identity key.
 *
 * Application plaintext (inside MLS; authenticated_data = sc2_lh_aad of the sender):
 *   kind:u8 = 1 (text) || UTF-8 text    a message for the room
 *   kind:u8 = 2 (leave)                 "remove me": a member that reads it commits the
 *                                       sender's removal (RFC 9420 forbids a member to
 *                                       commit or propose its own removal here)
 *
 * Not thread-safe. Every function requires a non-NULL room unless said otherwise.
 */
#ifndef SC2_ROOM_H
#define SC2_ROOM_H

#include <stddef.h>
#include <stdint.h>

#include "mls_rng.h"
#include "sc2_link.h"

#define SC2_ROOM_MAX_NAME 64u       /* bytes of display name */
#define SC2_ROOM_MAX_TEXT 32768u    /* bytes of UTF-8 per message */
#define SC2_ROOM_MAX_OUTBOX 1024u   /* unaccepted user actions */
#define SC2_ROOM_MAX_KNOWN 1024u    /* remembered (name, key) pairs per room */
#define SC2_ROOM_JOIN_TRIES 8u      /* external commits refused STALE_EPOCH before giving up */
#define SC2_ROOM_SIG_PUB_BYTES 32u

typedef struct sc2_room sc2_room;

typedef struct sc2_room_config {
    const uint8_t *sig_seed; /* 32-byte Ed25519 seed of our identity key; copied, wiped */
    const char *name;        /* display name, NUL-terminated; copied */
    mls_rng *rng;            /* borrowed for the room's life; NULL: libsodium */
} sc2_room_config;

/* Where the room is with the current connection. */
enum sc2_room_state {
    SC2_RS_OFFLINE = 0,   /* no connection */
    SC2_RS_CHALLENGE,     /* connected, waiting for CHALLENGE */
    SC2_RS_JOINING,       /* fetching the GroupInfo / external commit in flight */
    SC2_RS_RESUMING,      /* RESUME sent, processing LOG until LIVE */
    SC2_RS_LIVE,          /* caught up */
    SC2_RS_BROKEN,        /* this connection must be dropped (gap, ERROR, bad input, out of
                             memory); reconnect: the room resumes from its last processed
                             seq. sc2_room_receive returns -1 when it gets here; after a
                             user action (send, update, ...) check sc2_room_state. */
    SC2_RS_DEAD,          /* removed from the room, or left, or the join failed for good */
    SC2_RS_LOST           /* this relay refused the room for good (ROOM_LOST): do not
                             reconnect. Terminal for this room object (connected and
                             disconnected leave it LOST, user actions return -1), but
                             nothing is forgotten: sc2_room_export stores the room as it
                             was and does not store the loss, so an imported copy (e.g.
                             pointed at another relay) resumes normally. */
};

enum sc2_room_event_type {
    SC2_EV_CREATED = 1,    /* the relay took our CREATE (first LIVE of the room) */
    SC2_EV_JOINED,         /* our external commit was accepted: seq, epoch */
    SC2_EV_LIVE,           /* caught up with the relay: seq = head */
    SC2_EV_MESSAGE,        /* a member's text: seq, time_ms, name, identity, text */
    SC2_EV_SENT,           /* token handed to the relay (again, after a reconnect or re-base) */
    SC2_EV_ACCEPTED,       /* token durable in the log at seq (ACCEPTED, or found in LOG) */
    SC2_EV_REJECTED,       /* token dropped from the outbox: code, reason */
    SC2_EV_EPOCH,          /* a commit was processed: epoch, seq, by_name/by_identity */
    SC2_EV_MEMBER_JOINED,  /* name, identity (leaf); resync set if it replaced its old leaf */
    SC2_EV_MEMBER_REMOVED, /* name, identity removed by by_name, by_identity; self = 1 if
                              it asked to leave */
    SC2_EV_MEMBER_LEAVING, /* name, identity asked to be removed; we commit it */
    SC2_EV_REMOVED,        /* we were removed by by_name / by_identity: the room is dead */
    SC2_EV_LEFT,           /* our leave request is in the log: we stop here */
    SC2_EV_LINK_ROTATED,   /* a removal rotated the link; sc2_room_link gives the new one */
    SC2_EV_REBASED,        /* our commit (token) lost the epoch race; re-issued on epoch */
    SC2_EV_HISTORY_LOST,   /* seqs seq..seq2 (inclusive) will never be shown */
    SC2_EV_UNREADABLE,     /* the entry at seq cannot be processed: reason (code = mls_err) */
    SC2_EV_GAP,            /* expected seq, got seq2: reconnect and RESUME (state BROKEN) */
    SC2_EV_DUPLICATE,      /* an entry at seq we already processed came again: dropped */
    SC2_EV_FORK,           /* ALERT: seq's log hash differs from the one a member (name,
                              identity) referenced, or our own entry came back different */
    SC2_EV_LINK_MISMATCH,  /* ALERT: a commit's rotated join_pk is not the one we derive,
                              or a join_pk on a commit that removed nobody */
    SC2_EV_KEY_CHANGED,    /* ALERT: name now has another identity key than remembered */
    SC2_EV_STALE_GI,       /* ALERT: the relay's GroupInfo is older than an epoch we saw */
    SC2_EV_JOIN_FAILED,    /* joining gave up: reason (state DEAD) */
    SC2_EV_RELAY_ERROR,    /* an ERROR envelope: code, reason (state BROKEN) */
    SC2_EV_PROTOCOL_ERROR, /* the relay sent something invalid: reason (state BROKEN) */
    SC2_EV_ROOM_LOST       /* the relay will never serve this room: code, reason (state
                              LOST; a RELAY_ERROR with the same code comes first). For a
                              member that has a group: ERROR NO_ROOM (the relay lost its
                              data, or it is not the room's relay), and ERROR BAD_PROOF
                              outside a rejoin (an alert: the relay knows none of the
                              room's keys), ERROR SEQ_AHEAD (an alert: the relay's log
                              ends before what we processed, it lost confirmed entries;
                              no automatic rejoin, since a relay rolled back to an old
                              epoch could bring removed members back), and ERROR
                              ROOM_EXISTS to a creator whose CREATE may have gone through
                              when the relay's GroupInfo is not ours (an alert).
                              Before the first join is accepted these are
                              JOIN_FAILED instead; during a rejoin BAD_PROOF / OLD_KEY
                              are JOIN_FAILED (the link changed). Other ERRORs stay
                              BROKEN. */
};

/* An event. Pointers point into the room and stay valid until the next call of
 * sc2_room_next_event (or sc2_room_free). Fields a type does not use are 0 / NULL / "". */
typedef struct sc2_room_event {
    enum sc2_room_event_type type;
    uint64_t seq, seq2;
    uint64_t token;
    uint64_t epoch;
    uint64_t time_ms;
    int code;
    int self;      /* MEMBER_REMOVED: the removal was the member's own request */
    int resync;    /* MEMBER_JOINED: the member rejoined, replacing its old leaf */
    const char *name;         /* a valid display name (PROTOCOL.md 8.3), or "" when the
                                 member's identity is not one: show a placeholder and the
                                 identity key, never the raw bytes */
    const uint8_t *identity;  /* SC2_ROOM_SIG_PUB_BYTES, or NULL */
    const char *by_name;
    const uint8_t *by_identity;
    const uint8_t *text;
    size_t text_len;
    const char *reason;
} sc2_room_event;

/*
 * Creates a new room: draws room_id and link secret, creates the MLS group (epoch 0, us
 * alone) and the first GroupInfo. On the first connection the room sends CREATE.
 * Returns 0 and *out, or -1 (invalid config: missing seed, name empty, too long or not
 * UTF-8; or memory). Free with sc2_room_free.
 */
int sc2_room_create(sc2_room **out, const sc2_room_config *cfg, uint64_t now);

/*
 * A room to join with an invite link (sc2_link_parse's format). Nothing is sent until
 * sc2_room_connected. Returns 0, or a negative SC2_LINK_E_* for a bad link (tell the user
 * sc2_link_strerror), or -100 for an invalid config or no memory.
 */
int sc2_room_join(sc2_room **out, const sc2_room_config *cfg, const char *link);

/* Wipes and frees. NULL is allowed. */
void sc2_room_free(sc2_room *r);

/* A new connection to the room's relay is open (the first relay message will be
 * CHALLENGE). Drops output left from an earlier connection. */
void sc2_room_connected(sc2_room *r, uint64_t now);

/* The connection is gone. Pending output is dropped; unaccepted outbox entries are sent
 * again on the next connection once it is LIVE. */
void sc2_room_disconnected(sc2_room *r, uint64_t now);

/*
 * One whole WebSocket message from the relay. Returns 0, or -1 if the connection must be
 * dropped (state BROKEN: a malformed message, an ERROR, a gap; an event says why): the
 * caller closes it and reconnects, unless the state is LOST (ROOM_LOST: do not
 * reconnect; tell the user the event's reason). Bad end-to-end content (an application message that
 * does not decrypt, a fork) becomes events (UNREADABLE, FORK, ...) and returns 0; the
 * exception is a commit this member cannot process: -1, BROKEN, and an UNREADABLE event
 * saying that the room rejoins (docs/V2-DESIGN.md, Clients).
 */
int sc2_room_receive(sc2_room *r, const uint8_t *msg, size_t len, uint64_t now);

/*
 * Queues a text (valid UTF-8, 1..SC2_ROOM_MAX_TEXT bytes); it is encrypted and submitted
 * when LIVE, and again after reconnects (re-encrypted if the epoch changed) until the
 * relay accepts it. Returns 0 and *token (may be NULL), or -1 (bad text, outbox full,
 * room dead or lost; so do the other actions).
 */
int sc2_room_send_text(sc2_room *r, const uint8_t *text, size_t len, uint64_t now,
                       uint64_t *token);

/* Queues a self-update commit (fresh leaf keys). Returns 0 / -1 (outbox full, dead). */
int sc2_room_update(sc2_room *r, uint64_t now, uint64_t *token);

/* Queues the removal of the member whose identity key is identity (any member may remove
 * any other). Returns 0, or -1 (not a member, ourselves: use sc2_room_leave, dead). */
int sc2_room_remove(sc2_room *r, const uint8_t identity[SC2_ROOM_SIG_PUB_BYTES],
                    uint64_t now, uint64_t *token);

/* Queues our leave request: once the relay accepted it, SC2_EV_LEFT and the room is
 * dead; the first member to read it commits our removal (and rotates the link). */
int sc2_room_leave(sc2_room *r, uint64_t now, uint64_t *token);

/* The next WebSocket message to write (one envelope), or NULL. Valid until
 * sc2_room_output_pop or sc2_room_disconnected. */
const uint8_t *sc2_room_output(sc2_room *r, size_t *len);
void sc2_room_output_pop(sc2_room *r);

/* Pops the next event into *ev. Returns 1, or 0 if none. */
int sc2_room_next_event(sc2_room *r, sc2_room_event *ev);

/*
 * The whole state as bytes for the caller's storage (a secret: encrypt it at rest).
 * Format "SC2R" version 1 (sc2_room.c). Works in every state; a commit of ours in flight
 * is stored with it. Returns 0 and *out (free with mls_bytes_free), or -1 (memory, or a
 * room that has no group yet: a join not yet accepted is not stored).
 */
int sc2_room_export(const sc2_room *r, mls_bytes *out);

/* Back from sc2_room_export's bytes; the room is OFFLINE. cfg gives the rng (its seed and
 * name must be the exported ones' or -1). Returns 0 and *out, or -1 (not SC2R v1, corrupt,
 * memory). */
int sc2_room_import(sc2_room **out, const sc2_room_config *cfg, const uint8_t *state,
                    size_t len);

/* Queries. */
enum sc2_room_state sc2_room_state(const sc2_room *r);
uint64_t sc2_room_seq(const sc2_room *r);    /* last processed seq */
uint64_t sc2_room_epoch(const sc2_room *r);  /* MLS epoch (0 before joining) */
size_t sc2_room_outbox_len(const sc2_room *r);
const uint8_t *sc2_room_id(const sc2_room *r); /* SC2_ROOM_ID_BYTES */
/* Our identity key (SC2_ROOM_SIG_PUB_BYTES). */
const uint8_t *sc2_room_identity(const sc2_room *r);
/* The current invite link at base (sc2_link_format). Returns its length or SC2_LINK_E_*. */
int sc2_room_link(const sc2_room *r, const char *base, char *out, size_t cap);
/* join_pk of the current link. */
void sc2_room_join_pk(const sc2_room *r, uint8_t out[SC2_LINK_JOIN_PK_BYTES]);
/* epoch_authenticator of the current epoch. Returns 0, or -1 without a group. */
int sc2_room_epoch_authenticator(const sc2_room *r, uint8_t out[32]);
/* Members: count, and the i-th one's name (NUL-terminated into name[cap]; "" if its
 * identity is not a valid display name, 8.3) and identity. Returns 0 or -1 (no such
 * member). */
size_t sc2_room_member_count(const sc2_room *r);
int sc2_room_member(const sc2_room *r, size_t i, char *name, size_t cap,
                    uint8_t identity[SC2_ROOM_SIG_PUB_BYTES]);

/* A static name for an event type ("message", "fork", ...). */
const char *sc2_room_event_name(enum sc2_room_event_type t);

#endif
