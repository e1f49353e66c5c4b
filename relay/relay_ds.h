/*
 * relay_ds: the rules of the protocol v2 delivery service (docs/V2-DESIGN.md
 * "Delivery-service rules", docs/RELAY.md "Protocol v2 delivery service") over the
 * durable per-room log relay_store. No sockets, no clock (the caller passes the time),
 * no state of its own: a room's epoch, current and earlier join_pk, latest gi_box and head
 * seq are the store's (relay_store_meta_get shows them with the staged writes of this
 * loop turn), so a restarted relay has them all back from the database.
 *
 * The rules:
 *   - CREATE makes a room (epoch 0, the creator's join_pk and first gi_box), with the
 *     same proof as AUTH under that join_pk; refused if the room exists (durable or
 *     staged).
 *   - AUTH proves the link: sig = Ed25519(join_sk, "saltchat/v2 auth" || room_id || nonce)
 *     under the room's current join_pk, or under an earlier one (then RESUME only).
 *   - SUBMIT (the connection's key must be the room's current one) carries an MLSMessage
 *     whose clear header (relay_mlshdr) must parse, name the room's group
 *     (group_id == room_id) and be at the room's current epoch, else STALE_EPOCH with
 *     the current epoch. A commit (member or external, PublicMessage or PrivateMessage)
 *     must carry the new epoch's gi_box, may carry a new join_pk, and moves the room to
 *     epoch + 1: the first commit of an epoch wins, a later one for the same epoch is
 *     STALE_EPOCH. gi_box and join_pk are refused on anything but a commit.
 *   - RESUME(after_seq) needs a current or earlier key; GONE when after_seq is older than
 *     retention, AHEAD when it is past the durable head. A connection whose key is an
 *     earlier one reads the log only up to the commit that replaced the key (until_seq,
 *     relay_ds_read_limit): enough for a member that was away to process the rotation and
 *     AUTH with the new key, nothing later for a removed member.
 *   - GET_GI needs the current key.
 * Every write also extends the room's log hash (sc2_loghash: L_0 from the room id at
 * CREATE, then L_seq over each LOG body as the relay will send it, time_ms included),
 * kept by the store with the head and the GroupInfo, so GI can carry L of its seq.
 * Room ids are RELAY_DS_ROOM_BYTES (16) bytes; other lengths are NO_ROOM.
 * Nothing staged is durable: ACCEPTED is for relay_store_flush's callback to send.
 */
#ifndef RELAY_DS_H
#define RELAY_DS_H

#include <stddef.h>
#include <stdint.h>

#include "relay_mlshdr.h"
#include "relay_store.h"
#include "sc2_envelope.h"
#include "sc2_link.h"

#define RELAY_DS_ROOM_BYTES SC2_ROOM_ID_BYTES
#define RELAY_DS_NONCE_BYTES SC2_AUTH_NONCE_BYTES
#define RELAY_DS_SIG_BYTES SC2_AUTH_SIG_BYTES
#define RELAY_DS_GI_MIN SC2_GIBOX_MIN

typedef enum relay_ds_res {
    RELAY_DS_OK = 0,
    RELAY_DS_STALE_EPOCH,  /* the message is not at the room's current epoch */
    RELAY_DS_NO_GI,        /* a commit without gi_box */
    RELAY_DS_NOT_COMMIT,   /* gi_box or join_pk on a message that is not a commit */
    RELAY_DS_BAD_MLS,      /* the MLS header does not parse (see *mls_err) */
    RELAY_DS_WRONG_GROUP,  /* group_id is not the room id */
    RELAY_DS_BAD_GI,       /* gi_box shorter than RELAY_DS_GI_MIN or over RELAY_STORE_GI_MAX */
    RELAY_DS_TOO_BIG,      /* the MLS message is over RELAY_STORE_ENTRY_MAX */
    RELAY_DS_EXISTS,       /* CREATE: the room exists */
    RELAY_DS_NO_ROOM,      /* no such room (or its creation is not durable yet) */
    RELAY_DS_UNKNOWN_KEY,  /* AUTH: not a key this room ever had */
    RELAY_DS_BAD_SIG,      /* AUTH: the signature does not verify */
    RELAY_DS_EARLIER_KEY,  /* the connection's key is an earlier one: RESUME only */
    RELAY_DS_GONE,         /* RESUME: after_seq is older than retention */
    RELAY_DS_AHEAD,        /* RESUME: after_seq is past the durable head */
    RELAY_DS_BUSY,         /* the store has too much staged this turn: try again */
    RELAY_DS_STORE         /* any other store error (relay_store_errmsg) */
} relay_ds_res;

/* A short constant name for res ("stale-epoch", ...). */
const char *relay_ds_res_name(relay_ds_res res);

/*
 * Stages the creation of room (room_len bytes) with join_pk and gi_box (tag for flush),
 * after checking sig over the connection's nonce as for AUTH. Returns OK, BAD_SIG,
 * EXISTS, BAD_GI, NO_ROOM (bad room id length), BUSY, STORE.
 */
relay_ds_res relay_ds_create(relay_store *st, const uint8_t *room, size_t room_len,
                             const uint8_t nonce[RELAY_DS_NONCE_BYTES],
                             const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                             const uint8_t sig[RELAY_DS_SIG_BYTES], const uint8_t *gi_box,
                             size_t gi_len, uint64_t time_ms, uint64_t tag);

/*
 * Checks an AUTH: sig by join_pk over "saltchat/v2 auth" || room || nonce
 * (sc2_link_auth_verify). Sets *kind to
 * RELAY_STORE_KEY_CURRENT or RELAY_STORE_KEY_EARLIER on OK. Returns OK, NO_ROOM,
 * UNKNOWN_KEY, BAD_SIG, STORE. Uses the room's key after this turn's staged writes.
 */
relay_ds_res relay_ds_auth(relay_store *st, const uint8_t *room, size_t room_len,
                           const uint8_t nonce[RELAY_DS_NONCE_BYTES],
                           const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                           const uint8_t sig[RELAY_DS_SIG_BYTES], int *kind);

/* Which key an operation needs. */
enum relay_ds_op { RELAY_DS_OP_SUBMIT, RELAY_DS_OP_GET_GI, RELAY_DS_OP_RESUME };

/*
 * May a connection authenticated with join_pk do op now? The key is looked up again
 * (a commit may have rotated it since the AUTH). Returns OK, EARLIER_KEY (op needs the
 * current key), UNKNOWN_KEY, NO_ROOM, STORE.
 */
relay_ds_res relay_ds_may(relay_store *st, const uint8_t *room, size_t room_len,
                          const uint8_t join_pk[RELAY_STORE_PK_BYTES], enum relay_ds_op op);

/*
 * How far a connection authenticated with join_pk may read the log now (the key is looked
 * up again: a commit may have rotated it since the AUTH). Returns OK for the current key
 * (*until = UINT64_MAX: no limit), EARLIER_KEY with *until = the seq of the commit that
 * replaced the key (durable or staged: entries after it are not for this connection),
 * UNKNOWN_KEY, NO_ROOM, STORE (*until = 0).
 */
relay_ds_res relay_ds_read_limit(relay_store *st, const uint8_t *room, size_t room_len,
                                 const uint8_t join_pk[RELAY_STORE_PK_BYTES], uint64_t *until);

/* One SUBMIT, borrowed for the call. */
typedef struct relay_ds_submission {
    const uint8_t *msg;     /* the MLSMessage */
    size_t msg_len;
    const uint8_t *gi_box;  /* NULL if absent */
    size_t gi_len;
    const uint8_t *join_pk; /* RELAY_STORE_PK_BYTES, or NULL if absent */
} relay_ds_submission;

/* What relay_ds_submit found and did. */
typedef struct relay_ds_verdict {
    uint64_t seq;        /* OK: the seq the entry will have once durable */
    uint64_t epoch;      /* the room's epoch (before this submission); STALE_EPOCH: its epoch */
    int is_commit;       /* the message is a commit */
    relay_mlshdr hdr;    /* the parsed header (OK, STALE_EPOCH, NO_GI, NOT_COMMIT, WRONG_GROUP) */
    relay_mlshdr_err mls_err; /* BAD_MLS: why */
} relay_ds_verdict;

/*
 * Applies the SUBMIT rules to sub for room and, if they hold, stages the entry (tag for
 * flush). Returns OK, BAD_MLS, WRONG_GROUP, STALE_EPOCH, NO_GI, NOT_COMMIT, BAD_GI,
 * TOO_BIG, NO_ROOM, BUSY, STORE; *v says more.
 */
relay_ds_res relay_ds_submit(relay_store *st, const uint8_t *room, size_t room_len,
                             const relay_ds_submission *sub, uint64_t time_ms, uint64_t tag,
                             relay_ds_verdict *v);

/*
 * Checks a RESUME(after_seq) against the room's durable log. Returns OK, GONE (*seq: the
 * oldest retained seq), AHEAD (*seq: the durable head), NO_ROOM, STORE.
 */
relay_ds_res relay_ds_resume(relay_store *st, const uint8_t *room, size_t room_len,
                             uint64_t after_seq, uint64_t *seq);

/* Maps a store error to a relay_ds_res (NO_ROOM, EXISTS, GONE, AHEAD, BUSY or STORE). */
relay_ds_res relay_ds_from_store(relay_store_err err);

#endif
