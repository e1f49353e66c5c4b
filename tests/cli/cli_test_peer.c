/*
 * cli_test_peer: a programmable room member for test_cli.py, built from saltchat's own
 * modules (cli_chat, the JSON UI, the real session), so it behaves like `saltchat join
 * --batch` except that stdin carries commands:
 *   send TEXT    send TEXT as a message
 *   detach       close the WebSocket without telling the session: its keys stay as they
 *                were when it left (the "saved state" of a member that left)
 *   inject HEX   feed one WebSocket message to the session as if the relay sent it;
 *                prints {"type":"injected","rc":N} after the events it caused
 *   quit         leave as at end of input
 * Options: --config DIR, --name NAME, --wrong-secret (connect to the link's room id, but
 * run the session with a different room secret, hence a different room key), LINK.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_chat.h"
#include "cli_exit.h"
#include "cli_identity.h"
#include "cli_verified.h"
#include "sc_invite.h"

static void on_line(cli_chat *c, void *user, const char *line, size_t len)
{
    (void)user;
    char cmd[16] = {0};
    size_t k = 0;
    while (k < len && k < sizeof cmd - 1 && line[k] != ' ') {
        cmd[k] = line[k];
        k++;
    }
    const char *arg = k < len ? line + k + 1 : line + len;
    size_t arg_len = (size_t)(line + len - arg);
    if (!strcmp(cmd, "send")) {
        cli_chat_send(c, arg, arg_len);
    } else if (!strcmp(cmd, "detach")) {
        cli_chat_detach(c);
        dprintf(STDOUT_FILENO, "{\"type\":\"detached\"}\n");
    } else if (!strcmp(cmd, "inject")) {
        uint8_t *bin = malloc(arg_len / 2 + 1);
        size_t n = 0;
        int rc = -100;
        if (bin && sodium_hex2bin(bin, arg_len / 2 + 1, arg, arg_len, NULL, &n, NULL) == 0)
            rc = cli_chat_inject(c, bin, n);
        free(bin);
        dprintf(STDOUT_FILENO, "{\"type\":\"injected\",\"rc\":%d}\n", rc);
    } else if (!strcmp(cmd, "quit")) {
        cli_chat_leave(c);
    } else {
        dprintf(STDOUT_FILENO, "{\"type\":\"bad_command\"}\n");
    }
}

int main(int argc, char **argv)
{
    const char *config = NULL, *name = "peer", *link = NULL;
    int wrong = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else if (!strcmp(argv[i], "--wrong-secret"))
            wrong = 1;
        else
            link = argv[i];
    }
    if (!link || !config || sodium_init() < 0) {
        fprintf(stderr, "usage: cli_test_peer --config DIR [--name N] [--wrong-secret] LINK\n");
        return CLI_EXIT_USAGE;
    }
    uint8_t secret[SC_INVITE_SECRET_BYTES];
    char base[SC_INVITE_MAX_URL], url[SC_INVITE_MAX_URL], err[1024];
    if (sc_invite_parse(link, secret, base, sizeof base) != 0 ||
        sc_invite_ws_url(base, secret, url, sizeof url) < 0) {
        fprintf(stderr, "cli_test_peer: bad link\n");
        return CLI_EXIT_BAD_LINK;
    }
    if (wrong)
        randombytes_buf(secret, sizeof secret); /* same URL, other room key */
    cli_identity id;
    cli_verified verified;
    int created, rc;
    if (cli_identity_load(config, &id, &created, err, sizeof err) != 0 ||
        cli_verified_load(&verified, config, err, sizeof err) != 0) {
        fprintf(stderr, "cli_test_peer: %s\n", err);
        return CLI_EXIT_IDENTITY;
    }
    cli_chat_config cfg = {.ws_url = url,
                           .room_secret = secret,
                           .identity = &id,
                           .verified = &verified,
                           .name = name,
                           .batch = 1,
                           .retries = 3,
                           .wait_s = 10};
    cli_chat *chat = cli_chat_new(&cfg, &rc, err, sizeof err);
    if (!chat) {
        fprintf(stderr, "cli_test_peer: %s\n", err);
        return rc;
    }
    cli_chat_set_line_handler(chat, on_line, NULL);
    rc = cli_chat_run(chat);
    cli_chat_free(chat);
    cli_verified_free(&verified);
    cli_identity_wipe(&id);
    sodium_memzero(secret, sizeof secret);
    return rc;
}
