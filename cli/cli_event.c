#include "cli_event.h"

static const struct {
    const char *name;
    unsigned fields;
} table[CLI_EV_COUNT_] = {
    [CLI_EV_CONNECTING] = {"connecting", CLI_F_URL | CLI_F_ATTEMPT},
    [CLI_EV_CONNECTED] = {"connected", CLI_F_URL},
    [CLI_EV_DISCONNECTED] = {"disconnected",
                             CLI_F_REASON | CLI_F_CODE | CLI_F_ATTEMPT | CLI_F_RETRY | CLI_F_COUNT},
    [CLI_EV_JOINED_ROOM] = {"joined_room", CLI_F_MEMBER | CLI_F_COUNT | CLI_F_NAME |
                                               CLI_F_FINGERPRINT | CLI_F_ROOM},
    [CLI_EV_MEMBER_JOINED] = {"member_joined", CLI_F_MEMBER},
    [CLI_EV_MEMBER_AUTHENTICATED] = {"member_authenticated",
                                     CLI_F_MEMBER | CLI_F_NAME | CLI_F_FINGERPRINT |
                                         CLI_F_IDENTITY | CLI_F_VERIFIED | CLI_F_CLASH},
    [CLI_EV_HANDSHAKE_FAILED] = {"handshake_failed", CLI_F_MEMBER | CLI_F_REASON},
    [CLI_EV_MEMBER_LEFT] = {"member_left", CLI_F_MEMBER | CLI_F_NAME | CLI_F_FINGERPRINT},
    [CLI_EV_MESSAGE] = {"message", CLI_F_MEMBER | CLI_F_NAME | CLI_F_FINGERPRINT |
                                       CLI_F_VERIFIED | CLI_F_MSG_ID | CLI_F_TIME | CLI_F_TEXT},
    [CLI_EV_UNDECRYPTABLE] = {"undecryptable", CLI_F_MEMBER | CLI_F_NAME | CLI_F_REASON},
    [CLI_EV_KEYS_ROTATED] = {"keys_rotated", CLI_F_REASON},
    [CLI_EV_PEER_KEYS] = {"peer_keys", CLI_F_MEMBER | CLI_F_NAME},
    [CLI_EV_HELD] = {"held", CLI_F_TEXT | CLI_F_COUNT},
    [CLI_EV_QUEUED] = {"queued", CLI_F_MSG_ID | CLI_F_TEXT},
    [CLI_EV_SENT] = {"sent", CLI_F_MSG_ID},
    [CLI_EV_CONFIRMED] = {"confirmed", CLI_F_MSG_ID},
    [CLI_EV_SEND_FAILED] = {"send_failed", CLI_F_MSG_ID | CLI_F_REASON},
    [CLI_EV_REJECTED_INPUT] = {"rejected_input", CLI_F_REASON},
    [CLI_EV_RELAY_ERROR] = {"relay_error", CLI_F_CODE | CLI_F_REASON},
    [CLI_EV_PROTOCOL_ERROR] = {"protocol_error", CLI_F_REASON},
    [CLI_EV_WARNING] = {"warning", CLI_F_MEMBER | CLI_F_REASON},
    [CLI_EV_VERIFIED] = {"verified", CLI_F_MEMBER | CLI_F_NAME | CLI_F_FINGERPRINT |
                                         CLI_F_VERIFIED},
    [CLI_EV_LEAVING] = {"leaving", CLI_F_COUNT | CLI_F_RETRY},
    [CLI_EV_ERROR] = {"error", CLI_F_REASON | CLI_F_CODE},
    [CLI_EV_EXIT] = {"exit", CLI_F_CODE},
};

const char *cli_event_name(enum cli_ev_type t)
{
    return (unsigned)t < CLI_EV_COUNT_ ? table[t].name : "unknown";
}

unsigned cli_event_fields(enum cli_ev_type t)
{
    return (unsigned)t < CLI_EV_COUNT_ ? table[t].fields : 0;
}
