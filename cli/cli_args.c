#include "cli_args.h"

#include "cli_history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: saltchat new RELAY-URL [OPTIONS] [--qr|--no-qr]\n"
    "       saltchat join [LINK | --link-file FILE] [OPTIONS]\n"
    "       saltchat open [--] ROOM [OPTIONS]\n"
    "       saltchat rooms [--batch] [--config DIR] [--data DIR]\n"
    "       saltchat --help | --version\n"
    "\n"
    "  new    create a room on the relay at RELAY-URL (ws://, wss://, http:// or https://),\n"
    "         print its invite link and enter it\n"
    "  join   join the room of an invite link: LINK, the first line of --link-file FILE,\n"
    "         or (neither given) the first line of stdin (a prompt on a terminal). Prefer\n"
    "         --link-file: a link on the command line shows in ps and shell history\n"
    "  open   re-enter a stored room (its room id, or an unambiguous prefix) and catch up\n"
    "  rooms  list the stored rooms\n"
    "\n"
    "OPTIONS\n"
    "  --name NAME     display name shown to the others (default: $USER; up to 64 bytes)\n"
    "  --batch         script mode: each input line is a message, events are JSON lines\n"
    "  --ca FILE       trust this PEM certificate for wss:// (a self-signed relay)\n"
    "  --config DIR    identity and storage key (default $XDG_CONFIG_HOME/saltchat)\n"
    "  --data DIR      stored rooms and history (default $XDG_DATA_HOME/saltchat)\n"
    "  --relay URL     another relay of the same cluster, repeatable: tried in turn when\n"
    "                  the room's relay cannot be reached or drops the connection\n"
    "  --retries N     retry a failed connection at most N times in a row (default: 6\n"
    "                  before the room is first reached, without limit after it)\n"
    "  --wait SECONDS  when quitting, wait this long for the relay to accept what you\n"
    "                  sent (default 30)\n"
    "  --history N     keep the newest N messages in the stored history (1000 to\n"
    "                  10000000; default $SALTCHAT_HISTORY, else 5000)\n"
    "  --verbose       show libwebsockets warnings on stderr\n"
    "\n"
    "See docs/CLI.md for the commands, JSON events, files and exit codes.\n";

const char *cli_args_usage(void)
{
    return usage;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Matches "--opt VALUE" and "--opt=VALUE". Returns 1 if matched (value set, index
 * advanced), 0 if not this option, -1 if the value is missing. */
static int opt_value(const char *opt, int argc, char **argv, int *i, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(opt);
    if (strncmp(arg, opt, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

static int is_option(const char *arg, const char *const *valued, size_t n_valued)
{
    static const char *const flags[] = {"--help", "-h", "--version", "--batch", "--verbose",
                                        "--qr", "--no-qr", "--"};
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (!strcmp(arg, flags[k]))
            return 1;
    for (size_t k = 0; k < n_valued; k++) {
        size_t n = strlen(valued[k]);
        if (!strncmp(arg, valued[k], n) && (arg[n] == '\0' || arg[n] == '='))
            return 1;
    }
    return 0;
}

int cli_args_parse(int argc, char **argv, cli_args *a, char *err, size_t cap)
{
    static const char *const valued[] = {"--name", "--ca", "--config", "--retries", "--wait",
                                         "--relay", "--link-file", "--data", "--history"};
    memset(a, 0, sizeof *a);
    a->retries = -1;
    a->wait_s = CLI_ARGS_DEFAULT_WAIT_S;
    const char *positional[2] = {NULL, NULL};
    int npos = 0;

    int options_end = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        if (options_end || (npos == 1 && !strcmp(positional[0], "open") && arg[0] == '-' &&
                            !is_option(arg, valued, sizeof valued / sizeof valued[0]))) {
            /* After "open", a word that is no option is the room id: ids are base64url
             * and one in 64 starts with '-'. */
            if (npos == 2) {
                snprintf(err, cap, "unexpected argument '%s'", arg);
                return -1;
            }
            positional[npos++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            options_end = 1;
            continue;
        }
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            a->command = CLI_CMD_HELP;
            return 0;
        }
        if (!strcmp(arg, "--version")) {
            a->command = CLI_CMD_VERSION;
            return 0;
        }
        if (!strcmp(arg, "--batch")) {
            a->batch = 1;
            continue;
        }
        if (!strcmp(arg, "--verbose")) {
            a->verbose = 1;
            continue;
        }
        if (!strcmp(arg, "--qr") || !strcmp(arg, "--no-qr")) {
            a->qr = arg[2] == 'q' ? CLI_QR_ON : CLI_QR_OFF;
            continue;
        }
        int matched = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !matched; k++) {
            int r = opt_value(valued[k], argc, argv, &i, &val);
            if (r < 0) {
                snprintf(err, cap, "option %s needs a value", valued[k]);
                return -1;
            }
            if (r == 0)
                continue;
            matched = 1;
            unsigned long n;
            switch (k) {
            case 0: a->name = val; break;
            case 1: a->ca_file = val; break;
            case 2: a->config_dir = val; break;
            case 3:
                if (parse_uint(val, 1000000, &n)) {
                    snprintf(err, cap, "--retries wants a whole number, not '%s'", val);
                    return -1;
                }
                a->retries = (int)n;
                break;
            case 4:
                if (parse_uint(val, 86400, &n)) {
                    snprintf(err, cap, "--wait wants seconds (0..86400), not '%s'", val);
                    return -1;
                }
                a->wait_s = (unsigned)n;
                break;
            case 5:
                if (a->n_relays == CLI_ARGS_MAX_RELAYS) {
                    snprintf(err, cap, "at most %u --relay alternatives", CLI_ARGS_MAX_RELAYS);
                    return -1;
                }
                if (!*val) {
                    snprintf(err, cap, "--relay wants a relay URL such as ws://relay2:8080");
                    return -1;
                }
                a->relays[a->n_relays++] = val;
                break;
            case 6: a->link_file = val; break;
            case 7: a->data_dir = val; break;
            case 8:
                if (cli_history_parse_bound(val, "--history", &a->history, err, cap) != 0)
                    return -1;
                break;
            }
        }
        if (matched)
            continue;
        if (arg[0] == '-' && arg[1] != '\0') {
            snprintf(err, cap, "unknown option '%s'", arg);
            return -1;
        }
        if (npos == 2) {
            snprintf(err, cap, "unexpected argument '%s'", arg);
            return -1;
        }
        positional[npos++] = arg;
    }

    if (npos == 0) {
        snprintf(err, cap, "missing command: 'new', 'join', 'open' or 'rooms'");
        return -1;
    }
    static const struct {
        const char *word;
        enum cli_command cmd;
        int min, max;
    } cmds[] = {{"new", CLI_CMD_NEW, 2, 2},
                {"join", CLI_CMD_JOIN, 1, 2},
                {"open", CLI_CMD_OPEN, 2, 2},
                {"rooms", CLI_CMD_ROOMS, 1, 1}};
    size_t k = 0;
    while (k < sizeof cmds / sizeof cmds[0] && strcmp(positional[0], cmds[k].word))
        k++;
    if (k == sizeof cmds / sizeof cmds[0]) {
        snprintf(err, cap, "unknown command '%s': use 'new', 'join', 'open' or 'rooms'",
                 positional[0]);
        return -1;
    }
    a->command = cmds[k].cmd;
    if (npos < cmds[k].min) {
        snprintf(err, cap, a->command == CLI_CMD_NEW ? "'new' needs the relay URL, e.g. ws://localhost:8080"
                                                     : "'open' needs a room id (see 'saltchat rooms')");
        return -1;
    }
    if (npos > cmds[k].max) {
        snprintf(err, cap, "unexpected argument '%s'", positional[npos - 1]);
        return -1;
    }
    a->target = npos > 1 ? positional[1] : NULL;
    if (a->link_file && a->command != CLI_CMD_JOIN) {
        snprintf(err, cap, "--link-file only goes with 'join'");
        return -1;
    }
    if (a->link_file && a->target) {
        snprintf(err, cap, "give the link or --link-file, not both");
        return -1;
    }
    return 0;
}
