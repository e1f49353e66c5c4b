/*
 * cli_event: what the client tells its user. Every sc2_room event plus the client's own
 * (connection state, input, commands, leaving), in one flat struct that both user
 * interfaces render: a line on the terminal, or a JSON object in batch mode
 * (docs/CLI.md, "Batch mode", lists the fields of each type).
 */
#ifndef CLI_EVENT_H
#define CLI_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum cli_ev_type {
    CLI_EV_CONNECTING = 0, /* url, attempt */
    CLI_EV_CONNECTED,      /* url */
    CLI_EV_DISCONNECTED,   /* reason, code (close code, 0 if none), attempt, retry_ms (0: not
                              retrying), count (messages not yet accepted) */
    CLI_EV_ROOM,           /* room, name (ours), identity (ours), url, seq: the room we are in
                              (at start, before connecting) */
    CLI_EV_CREATED,        /* room: the relay took our CREATE */
    CLI_EV_JOINED,         /* seq, epoch: our join was accepted */
    CLI_EV_LIVE,           /* seq: caught up with the relay */
    CLI_EV_MESSAGE,        /* seq, time, name, identity, text */
    CLI_EV_QUEUED,         /* token, text: own message stored in the outbox */
    CLI_EV_SENT,           /* token */
    CLI_EV_ACCEPTED,       /* token, seq: durable in the room's log */
    CLI_EV_REJECTED,       /* token, code, reason: dropped from the outbox */
    CLI_EV_EPOCH,          /* epoch, seq, by (name, identity) */
    CLI_EV_MEMBER_JOINED,  /* name, identity, resync */
    CLI_EV_MEMBER_REMOVED, /* name, identity, by, self */
    CLI_EV_MEMBER_LEAVING, /* name, identity */
    CLI_EV_REMOVED,        /* by: we were removed */
    CLI_EV_LEFT,           /* our leave request is in the log */
    CLI_EV_LINK_ROTATED,   /* link: the new invite link */
    CLI_EV_REBASED,        /* token, epoch */
    CLI_EV_HISTORY_LOST,   /* seq, seq2 */
    CLI_EV_UNREADABLE,     /* seq, code, reason */
    CLI_EV_GAP,            /* seq (expected), seq2 (got) */
    CLI_EV_DUPLICATE,      /* seq */
    CLI_EV_FORK,           /* seq, name, identity, reason */
    CLI_EV_LINK_MISMATCH,  /* seq, reason */
    CLI_EV_KEY_CHANGED,    /* name, identity (the new key), reason */
    CLI_EV_STALE_GI,       /* epoch, reason */
    CLI_EV_JOIN_FAILED,    /* reason */
    CLI_EV_RELAY_ERROR,    /* code, reason */
    CLI_EV_PROTOCOL_ERROR, /* reason */
    CLI_EV_ROOM_LOST,      /* code, reason */
    CLI_EV_MEMBER,         /* name, identity, self: one line of /members */
    CLI_EV_LINK,           /* link: answer to /link */
    CLI_EV_HISTORY,        /* seq, time, name, identity, text, self: a stored message */
    CLI_EV_NOTICE,         /* reason: command output or a note (storage, help) */
    CLI_EV_REJECTED_INPUT, /* reason: an input line or command that is not carried out */
    CLI_EV_LEAVING,        /* count (not yet accepted), retry_ms (how long we wait) */
    CLI_EV_ERROR,          /* reason, code (exit code): the client is about to stop */
    CLI_EV_EXIT,           /* code (exit code) */
    CLI_EV_VERIFY,         /* name, identity, number (our safety number with them), verified:
                              answer to /verify NAME (one per member of that name) */
    CLI_EV_VERIFIED,       /* name, identity, reason (what matched): marked verified */
    CLI_EV_UNVERIFIED,     /* name, identity: the mark was removed */
    CLI_EV_VERIFY_BROKEN,  /* name, identity (the new key), identity2 (the verified key),
                              reason: ALERT, a verified name shows up with another key */
    CLI_EV_ROOM_CODE,      /* epoch, number (the room code), reason: answer to /room-code */
    CLI_EV_COUNT_
};

typedef struct cli_event {
    enum cli_ev_type type;
    uint64_t ts_ms;           /* local time of the event, Unix ms */
    uint64_t seq, seq2, token, epoch;
    uint64_t time_ms;         /* the relay's clock when it logged the entry */
    long code;
    int self;                 /* MEMBER_REMOVED: own request; MEMBER/HISTORY: it is us */
    int resync;               /* MEMBER_JOINED: rejoined, replacing its old leaf */
    int lookalike;            /* name looks like another current member's (sc2_name
                                 skeletons equal, other identity key): show the fingerprint */
    const char *name;         /* sanitized by the renderers; NULL = "" */
    const uint8_t *identity;  /* 32 bytes or NULL */
    const char *by_name;
    const uint8_t *by_identity;
    const uint8_t *text;
    size_t text_len;
    const char *reason;
    const char *url;
    const char *room;
    const char *link;
    uint32_t count;
    uint32_t attempt;
    uint64_t retry_ms;
    int verified;             /* MEMBER/VERIFY: the identity carries a verified mark */
    const char *number;       /* VERIFY: safety number; ROOM_CODE: room code */
    const uint8_t *identity2; /* VERIFY_BROKEN: the verified key of that name (32 bytes) */
} cli_event;

/* Field bits: which fields a type carries (for the JSON renderer and docs). */
#define CLI_F_SEQ (1u << 0)
#define CLI_F_SEQ2 (1u << 1)
#define CLI_F_TOKEN (1u << 2)
#define CLI_F_EPOCH (1u << 3)
#define CLI_F_TIME (1u << 4)
#define CLI_F_CODE (1u << 5)
#define CLI_F_SELF (1u << 6)
#define CLI_F_RESYNC (1u << 7)
#define CLI_F_NAME (1u << 8)
#define CLI_F_IDENTITY (1u << 9)  /* identity and fingerprint */
#define CLI_F_BY (1u << 10)       /* by and by_identity */
#define CLI_F_TEXT (1u << 11)
#define CLI_F_REASON (1u << 12)
#define CLI_F_URL (1u << 13)
#define CLI_F_ROOM (1u << 14)
#define CLI_F_LINK (1u << 15)
#define CLI_F_COUNT (1u << 16)
#define CLI_F_ATTEMPT (1u << 17)
#define CLI_F_RETRY (1u << 18)
#define CLI_F_VERIFIED (1u << 19)
#define CLI_F_NUMBER (1u << 20)    /* "safety_number" or "room_code" */
#define CLI_F_IDENTITY2 (1u << 21) /* verified_identity and verified_fingerprint */

/* The JSON "type" name of t ("message", "member_joined", ...). */
const char *cli_event_name(enum cli_ev_type t);
/* The CLI_F_* fields t carries. */
unsigned cli_event_fields(enum cli_ev_type t);

#endif
