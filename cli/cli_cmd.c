#include "cli_cmd.h"

#include <string.h>

static const struct {
    const char *word;
    enum cli_cmd_kind kind;
} words[] = {{"quit", CLI_CMD_K_QUIT},       {"leave", CLI_CMD_K_LEAVE},
             {"remove", CLI_CMD_K_REMOVE},   {"members", CLI_CMD_K_MEMBERS},
             {"link", CLI_CMD_K_LINK},       {"history", CLI_CMD_K_HISTORY},
             {"help", CLI_CMD_K_HELP},       {"verify", CLI_CMD_K_VERIFY},
             {"unverify", CLI_CMD_K_UNVERIFY}, {"room-code", CLI_CMD_K_ROOM_CODE}};

const char *cli_cmd_help(void)
{
    return "/members              who is in the room, with fingerprints\n"
           "/link                 the current invite link\n"
           "/remove NAME [FP]     remove a member (FP: a fingerprint prefix, when two share NAME)\n"
           "/verify NAME          NAME's fingerprint and your safety number, to compare\n"
           "/verify NAME FP --yes mark NAME verified (FP: the fingerprint or safety number)\n"
           "/unverify NAME        remove the verified mark\n"
           "/room-code            this epoch's room code: all members see the same one\n"
           "/history [N]          the last N stored messages (default 20)\n"
           "/leave                leave the room for good (the others see it)\n"
           "/quit                 stop this client; you stay a member (saltchat open)\n"
           "//text                send a line that starts with /";
}

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

enum cli_cmd_kind cli_cmd_parse(const char *line, size_t len, const char **arg, size_t *arg_len)
{
    *arg = line;
    *arg_len = len;
    if (len == 0 || line[0] != '/')
        return CLI_CMD_K_TEXT;
    if (len >= 2 && line[1] == '/') {
        *arg = line + 1;
        *arg_len = len - 1;
        return CLI_CMD_K_TEXT;
    }
    size_t w = 1;
    while (w < len && !blank(line[w]))
        w++;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if (w - 1 != n || memcmp(line + 1, words[i].word, n) != 0)
            continue;
        size_t s = w, e = len;
        while (s < e && blank(line[s]))
            s++;
        while (e > s && blank(line[e - 1]))
            e--;
        if (words[i].kind == CLI_CMD_K_REMOVE || words[i].kind == CLI_CMD_K_HISTORY ||
            words[i].kind == CLI_CMD_K_VERIFY || words[i].kind == CLI_CMD_K_UNVERIFY) {
            *arg = line + s;
            *arg_len = e - s;
        } else if (e > s) {
            return CLI_CMD_K_UNKNOWN; /* "/quit now" is not /quit */
        }
        return words[i].kind;
    }
    return CLI_CMD_K_UNKNOWN;
}
