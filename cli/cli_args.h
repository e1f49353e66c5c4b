/* cli_args: the command line of saltchat. */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stddef.h>

enum cli_command {
    CLI_CMD_NONE = 0,
    CLI_CMD_NEW,
    CLI_CMD_JOIN,
    CLI_CMD_OPEN,
    CLI_CMD_ROOMS,
    CLI_CMD_HELP,
    CLI_CMD_VERSION
};

enum cli_qr_mode { CLI_QR_AUTO = 0, CLI_QR_ON, CLI_QR_OFF };

typedef struct cli_args {
    enum cli_command command;
    const char *target;     /* new: relay URL; join: invite link or NULL; open: room id
                               (prefix) (argv memory) */
    const char *link_file;  /* join: --link-file, the link's first line */
    const char *data_dir;   /* --data, NULL for $XDG_DATA_HOME/saltchat */
    const char *name;       /* --name, NULL for the default */
    const char *ca_file;    /* --ca */
    const char *config_dir; /* --config, NULL for $XDG_CONFIG_HOME/saltchat */
    int batch;              /* --batch, or stdin/stdout not a terminal (set by the caller) */
    int retries;            /* --retries; -1 = default policy */
    unsigned wait_s;        /* --wait: seconds to wait for the relay to accept what was sent */
    enum cli_qr_mode qr;    /* new: --qr / --no-qr */
    int verbose;            /* --verbose: libwebsockets warnings on stderr */
    unsigned long history;  /* --history: messages kept in the history; 0 if not given */
    const char *relays[8];  /* join: --relay alternatives, in order (argv memory) */
    size_t n_relays;
} cli_args;

#define CLI_ARGS_DEFAULT_WAIT_S 30u
/* At most this many --relay alternatives. */
#define CLI_ARGS_MAX_RELAYS 8u

/* Parses argv. Returns 0, or -1 with a one-line message in err[cap] (usage error).
 * Pointers in *a alias argv. */
int cli_args_parse(int argc, char **argv, cli_args *a, char *err, size_t cap);

/* The usage text (static). */
const char *cli_args_usage(void);

#endif
