/* cli_exit: the exit codes of saltchat (documented in docs/CLI.md). */
#ifndef CLI_EXIT_H
#define CLI_EXIT_H

enum cli_exit_code {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,       /* internal error: out of memory, event loop failure */
    CLI_EXIT_USAGE = 2,       /* bad command line */
    CLI_EXIT_BAD_LINK = 3,    /* invite link or relay URL malformed */
    CLI_EXIT_IDENTITY = 4,    /* identity or verified-keys file unreadable, malformed,
                                 too open, or cannot be created */
    CLI_EXIT_UNREACHABLE = 5, /* relay unreachable or refused the connection; retries spent */
    CLI_EXIT_ROOM_FULL = 6,   /* relay says the room is full */
    CLI_EXIT_UNDELIVERED = 7, /* messages the relay never confirmed when the client stopped */
    CLI_EXIT_TLS = 8,         /* --ca file unusable or relay certificate rejected */
    CLI_EXIT_INTERRUPTED = 130 /* SIGINT/SIGTERM: left the room on request */
};

/* Returns a short static name for an exit code ("ok", "bad-link", ...). */
const char *cli_exit_name(int code);

#endif
