/* cli_cmd: the slash commands of the interactive mode (/who, /verify, /unverify,
 * /help, /quit) and the y/N confirmation /verify asks for. */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "cli_ui.h"
#include "cli_verified.h"
#include "sc_session.h"

typedef struct cli_cmd {
    sc_session *session;
    cli_verified *verified;
    cli_ui *ui;
    /* A /verify waiting for its answer. */
    uint64_t pending;
    uint8_t pending_pk[32];
    char pending_name[SC_SESSION_MAX_NAME + 1];
} cli_cmd;

enum cli_cmd_result {
    CLI_CMD_TEXT = 0, /* not a command: send *text as a message */
    CLI_CMD_DONE,     /* handled */
    CLI_CMD_QUIT      /* the user asked to leave */
};

/* The prompt to show: the /verify question while one is pending, else NULL. */
const char *cli_cmd_prompt(const cli_cmd *c);

/*
 * Handles one line typed at the terminal. For CLI_CMD_TEXT, *text and *len are the
 * message to send (a leading "//" is sent as "/"). Output goes to c->ui.
 */
enum cli_cmd_result cli_cmd_line(cli_cmd *c, const char *line, size_t len, const char **text,
                                 size_t *text_len);

/* Forgets a pending /verify (e.g. the member left). */
void cli_cmd_cancel(cli_cmd *c, uint64_t member);

#endif
