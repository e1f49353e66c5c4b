#include "cli_event.h"

#define WHO (CLI_F_NAME | CLI_F_IDENTITY)

static const struct {
    const char *name;
    unsigned fields;
} table[CLI_EV_COUNT_] = {
    [CLI_EV_CONNECTING] = {"connecting", CLI_F_URL | CLI_F_ATTEMPT},
    [CLI_EV_CONNECTED] = {"connected", CLI_F_URL},
    [CLI_EV_DISCONNECTED] = {"disconnected",
                             CLI_F_REASON | CLI_F_CODE | CLI_F_ATTEMPT | CLI_F_RETRY | CLI_F_COUNT},
    [CLI_EV_ROOM] = {"room", CLI_F_ROOM | WHO | CLI_F_URL | CLI_F_SEQ},
    [CLI_EV_CREATED] = {"created", CLI_F_ROOM},
    [CLI_EV_JOINED] = {"joined", CLI_F_SEQ | CLI_F_EPOCH},
    [CLI_EV_LIVE] = {"live", CLI_F_SEQ},
    [CLI_EV_MESSAGE] = {"message", CLI_F_SEQ | CLI_F_TIME | WHO | CLI_F_TEXT},
    [CLI_EV_QUEUED] = {"queued", CLI_F_TOKEN | CLI_F_TEXT},
    [CLI_EV_SENT] = {"sent", CLI_F_TOKEN},
    [CLI_EV_ACCEPTED] = {"accepted", CLI_F_TOKEN | CLI_F_SEQ},
    [CLI_EV_REJECTED] = {"rejected", CLI_F_TOKEN | CLI_F_CODE | CLI_F_REASON},
    [CLI_EV_EPOCH] = {"epoch", CLI_F_EPOCH | CLI_F_SEQ | CLI_F_BY},
    [CLI_EV_MEMBER_JOINED] = {"member_joined", WHO | CLI_F_RESYNC},
    [CLI_EV_MEMBER_REMOVED] = {"member_removed", WHO | CLI_F_BY | CLI_F_SELF},
    [CLI_EV_MEMBER_LEAVING] = {"member_leaving", WHO},
    [CLI_EV_REMOVED] = {"removed", CLI_F_BY},
    [CLI_EV_LEFT] = {"left", 0},
    [CLI_EV_LINK_ROTATED] = {"link_rotated", CLI_F_LINK},
    [CLI_EV_REBASED] = {"rebased", CLI_F_TOKEN | CLI_F_EPOCH},
    [CLI_EV_HISTORY_LOST] = {"history_lost", CLI_F_SEQ | CLI_F_SEQ2},
    [CLI_EV_UNREADABLE] = {"unreadable", CLI_F_SEQ | CLI_F_CODE | CLI_F_REASON},
    [CLI_EV_GAP] = {"gap", CLI_F_SEQ | CLI_F_SEQ2},
    [CLI_EV_DUPLICATE] = {"duplicate", CLI_F_SEQ},
    [CLI_EV_FORK] = {"fork", CLI_F_SEQ | WHO | CLI_F_REASON},
    [CLI_EV_LINK_MISMATCH] = {"link_mismatch", CLI_F_SEQ | CLI_F_REASON},
    [CLI_EV_KEY_CHANGED] = {"key_changed", WHO | CLI_F_REASON},
    [CLI_EV_STALE_GI] = {"stale_gi", CLI_F_EPOCH | CLI_F_REASON},
    [CLI_EV_JOIN_FAILED] = {"join_failed", CLI_F_REASON},
    [CLI_EV_RELAY_ERROR] = {"relay_error", CLI_F_CODE | CLI_F_REASON},
    [CLI_EV_PROTOCOL_ERROR] = {"protocol_error", CLI_F_REASON},
    [CLI_EV_ROOM_LOST] = {"room_lost", CLI_F_CODE | CLI_F_REASON},
    [CLI_EV_MEMBER] = {"member", WHO | CLI_F_SELF | CLI_F_VERIFIED},
    [CLI_EV_LINK] = {"link", CLI_F_LINK},
    [CLI_EV_HISTORY] = {"history", CLI_F_SEQ | CLI_F_TIME | WHO | CLI_F_TEXT | CLI_F_SELF},
    [CLI_EV_NOTICE] = {"notice", CLI_F_REASON},
    [CLI_EV_REJECTED_INPUT] = {"rejected_input", CLI_F_REASON},
    [CLI_EV_LEAVING] = {"leaving", CLI_F_COUNT | CLI_F_RETRY},
    [CLI_EV_ERROR] = {"error", CLI_F_REASON | CLI_F_CODE},
    [CLI_EV_EXIT] = {"exit", CLI_F_CODE},
    [CLI_EV_VERIFY] = {"verify", WHO | CLI_F_NUMBER | CLI_F_VERIFIED | CLI_F_REASON},
    [CLI_EV_VERIFIED] = {"verified", WHO | CLI_F_REASON},
    [CLI_EV_UNVERIFIED] = {"unverified", WHO},
    [CLI_EV_VERIFY_BROKEN] = {"verify_broken", WHO | CLI_F_IDENTITY2 | CLI_F_REASON},
    [CLI_EV_ROOM_CODE] = {"room_code", CLI_F_EPOCH | CLI_F_NUMBER | CLI_F_REASON},
};

const char *cli_event_name(enum cli_ev_type t)
{
    return (unsigned)t < CLI_EV_COUNT_ ? table[t].name : "unknown";
}

unsigned cli_event_fields(enum cli_ev_type t)
{
    return (unsigned)t < CLI_EV_COUNT_ ? table[t].fields : 0;
}
