/*
 * cli_event: what the client tells its user. The session's events (sc_event) plus the
 * client's own (connection state, input, leaving), in one flat struct that both user
 * interfaces render: a line on the terminal, or a JSON object in batch mode.
 */
#ifndef CLI_EVENT_H
#define CLI_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum cli_ev_type {
    CLI_EV_CONNECTING = 0,      /* url, attempt */
    CLI_EV_CONNECTED,           /* url */
    CLI_EV_DISCONNECTED,        /* reason, code (close code, 0 if none), attempt, retry_ms
                                   (0: not retrying), count (messages waiting) */
    CLI_EV_JOINED_ROOM,         /* member (own id), count (others present), name,
                                   fingerprint, room */
    CLI_EV_MEMBER_JOINED,       /* member */
    CLI_EV_MEMBER_AUTHENTICATED,/* member, name, fingerprint, identity, verified, name_clash */
    CLI_EV_HANDSHAKE_FAILED,    /* member, reason */
    CLI_EV_MEMBER_LEFT,         /* member, name, fingerprint */
    CLI_EV_MESSAGE,             /* member, name, fingerprint, verified, msg_id, time_ms, text */
    CLI_EV_UNDECRYPTABLE,       /* member, name, reason */
    CLI_EV_KEYS_ROTATED,        /* reason */
    CLI_EV_PEER_KEYS,           /* member, name */
    CLI_EV_HELD,                /* text, count: own message typed offline after having been
                                   in the room; the session sends it once the members of
                                   before the drop are back (count = messages waiting).
                                   A QUEUED with released set follows at once */
    CLI_EV_QUEUED,              /* msg_id, text: own message handed to the session, which
                                   sends it once keys are ready (released: already shown
                                   as HELD) */
    CLI_EV_SENT,                /* msg_id */
    CLI_EV_CONFIRMED,           /* msg_id */
    CLI_EV_SEND_FAILED,         /* msg_id, reason: dropped from the outbox unsent */
    CLI_EV_REJECTED_INPUT,      /* reason: an input line that is not sent */
    CLI_EV_RELAY_ERROR,         /* code, reason */
    CLI_EV_PROTOCOL_ERROR,      /* reason */
    CLI_EV_WARNING,             /* member, reason */
    CLI_EV_VERIFIED,            /* member, name, fingerprint, verified (the new state) */
    CLI_EV_LEAVING,             /* count (unconfirmed messages), retry_ms (how long we wait) */
    CLI_EV_ERROR,               /* reason, code (exit code): the client is about to stop */
    CLI_EV_EXIT,                /* code (exit code) */
    CLI_EV_COUNT_
};

typedef struct cli_event {
    enum cli_ev_type type;
    uint64_t ts_ms;           /* local time of the event, Unix ms */
    uint64_t member;
    const char *name;         /* sanitized by the renderers; NULL = "" */
    const char *fingerprint;  /* 30 digits or "" */
    const uint8_t *identity;  /* 32 bytes or NULL */
    int verified;
    int name_clash;           /* name belongs to a verified identity with another key */
    int released;             /* QUEUED: just reported as HELD (already shown) */
    int offline;              /* HELD, QUEUED: not in the room right now */
    uint64_t msg_id;
    uint64_t time_ms;         /* sender's clock (MESSAGE) */
    const uint8_t *text;
    size_t text_len;
    const char *reason;
    const char *url;
    const char *room;
    long code;
    uint32_t count;
    uint32_t attempt;
    uint64_t retry_ms;
} cli_event;

/* Field bits: which fields a type carries (for the JSON renderer and docs). */
#define CLI_F_MEMBER (1u << 0)
#define CLI_F_NAME (1u << 1)
#define CLI_F_FINGERPRINT (1u << 2)
#define CLI_F_IDENTITY (1u << 3)
#define CLI_F_VERIFIED (1u << 4)
#define CLI_F_MSG_ID (1u << 5)
#define CLI_F_TIME (1u << 6)
#define CLI_F_TEXT (1u << 7)
#define CLI_F_REASON (1u << 8)
#define CLI_F_URL (1u << 9)
#define CLI_F_ROOM (1u << 10)
#define CLI_F_CODE (1u << 11)
#define CLI_F_COUNT (1u << 12)
#define CLI_F_ATTEMPT (1u << 13)
#define CLI_F_RETRY (1u << 14)
#define CLI_F_CLASH (1u << 15)

/* The JSON "type" name of t ("message", "member_joined", ...). */
const char *cli_event_name(enum cli_ev_type t);
/* The CLI_F_* fields t carries. */
unsigned cli_event_fields(enum cli_ev_type t);

#endif
