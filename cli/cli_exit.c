#include "cli_exit.h"

const char *cli_exit_name(int code)
{
    switch (code) {
    case CLI_EXIT_OK: return "ok";
    case CLI_EXIT_ERROR: return "internal-error";
    case CLI_EXIT_USAGE: return "usage";
    case CLI_EXIT_BAD_LINK: return "bad-link";
    case CLI_EXIT_IDENTITY: return "identity-file";
    case CLI_EXIT_UNREACHABLE: return "relay-unreachable";
    case CLI_EXIT_UNDELIVERED: return "undelivered";
    case CLI_EXIT_TLS: return "tls";
    case CLI_EXIT_REMOVED: return "removed";
    case CLI_EXIT_ROOM_LOST: return "room-lost";
    case CLI_EXIT_JOIN_REFUSED: return "join-refused";
    case CLI_EXIT_STORE: return "store";
    case CLI_EXIT_INTERRUPTED: return "interrupted";
    default: return "unknown";
    }
}
