/* cli_cmd: the slash commands, in both modes (docs/CLI.md, "Commands"). Parsing only:
 * cli_chat carries them out. */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <stddef.h>

enum cli_cmd_kind {
    CLI_CMD_K_TEXT = 0, /* not a command: *arg is the message ("//x" gives "/x") */
    CLI_CMD_K_QUIT,     /* /quit: stop this client; stay a member */
    CLI_CMD_K_LEAVE,    /* /leave: leave the room for good */
    CLI_CMD_K_REMOVE,   /* /remove ARG: ARG is a name, "name fingerprint-prefix" or a prefix */
    CLI_CMD_K_MEMBERS,  /* /members */
    CLI_CMD_K_LINK,     /* /link */
    CLI_CMD_K_HISTORY,  /* /history [N]: *arg is N (may be empty) */
    CLI_CMD_K_HELP,     /* /help */
    CLI_CMD_K_VERIFY,   /* /verify ARG: "NAME", "NAME FP", "NAME FP --yes" */
    CLI_CMD_K_UNVERIFY, /* /unverify ARG: a name */
    CLI_CMD_K_ROOM_CODE, /* /room-code */
    CLI_CMD_K_UNKNOWN   /* a '/' word that is none of these: *arg is the line */
};

/* Parses one input line. *arg / *arg_len: the message for TEXT, the argument for REMOVE,
 * HISTORY, VERIFY and UNVERIFY (without surrounding blanks; may be empty), else the line. */
enum cli_cmd_kind cli_cmd_parse(const char *line, size_t len, const char **arg, size_t *arg_len);

/* The help text (static, one command a line). */
const char *cli_cmd_help(void);

#endif
