/* cli_exit: the exit codes of saltchat (documented in docs/CLI.md). */
#ifndef CLI_EXIT_H
#define CLI_EXIT_H

enum cli_exit_code {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,       /* internal error: out of memory, event loop failure */
    CLI_EXIT_USAGE = 2,       /* bad command line */
    CLI_EXIT_BAD_LINK = 3,    /* invite link or relay URL malformed */
    CLI_EXIT_IDENTITY = 4,    /* identity or storage-key file unreadable, malformed, too
                                 open, or cannot be created */
    CLI_EXIT_UNREACHABLE = 5, /* relay unreachable or refused the connection; retries spent */
    /* 6 was room-full in protocol v1 (no member limit in v2) */
    CLI_EXIT_UNDELIVERED = 7, /* messages the relay never accepted when the client stopped */
    CLI_EXIT_TLS = 8,         /* --ca file unusable or relay certificate rejected */
    CLI_EXIT_REMOVED = 9,     /* a member removed us from the room */
    CLI_EXIT_ROOM_LOST = 10,  /* the relay will never serve this room (ROOM_LOST) */
    CLI_EXIT_JOIN_REFUSED = 11, /* joining failed for good: the link was revoked or is wrong */
    CLI_EXIT_STORE = 12,      /* a stored room: not found, ambiguous, unreadable, corrupt,
                                 or cannot be written; or the room was left/removed */
    CLI_EXIT_INTERRUPTED = 130 /* SIGINT/SIGTERM/SIGHUP: stopped on request */
};

/* Returns a short static name for an exit code ("ok", "bad-link", ...). */
const char *cli_exit_name(int code);

#endif
