#include "cli_join.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_buf.h"
#include "cli_chat.h"
#include "cli_exit.h"
#include "cli_identity.h"
#include "cli_text.h"
#include "cli_verified.h"
#include "sc_handshake.h"
#include "sc_invite.h"
#include "sc_session.h"

/* Checks that --ca names a readable file holding a PEM certificate. */
static int check_ca(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, cap, "--ca %s: %s", path, strerror(errno));
        return -1;
    }
    char line[256];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "-----BEGIN CERTIFICATE-----") != NULL;
    fclose(f);
    if (!found) {
        snprintf(err, cap, "--ca %s: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                 path);
        return -1;
    }
    return 0;
}

static const char *default_name(void)
{
    const char *u = getenv("USER");
    if (!u || !sc_hs_name_valid(u, strlen(u)))
        return "";
    return u;
}

int cli_join_run(const cli_args *a)
{
    uint8_t secret[SC_INVITE_SECRET_BYTES];
    char base[SC_INVITE_MAX_URL], ws_url[SC_INVITE_MAX_URL], dir[PATH_MAX], err[1024];
    char alt[CLI_ARGS_MAX_RELAYS][SC_INVITE_MAX_URL];
    const char *alt_ptr[CLI_ARGS_MAX_RELAYS];
    cli_identity id;
    cli_verified verified;
    cli_chat *chat = NULL;
    int rc = CLI_EXIT_BAD_LINK;
    memset(&id, 0, sizeof id);
    memset(&verified, 0, sizeof verified);

    int r = sc_invite_parse(a->target, secret, base, sizeof base);
    if (r != 0) {
        fprintf(stderr, "saltchat: bad invite link: %s\n", sc_invite_strerror(r));
        goto fail;
    }
    r = sc_invite_ws_url(base, secret, ws_url, sizeof ws_url);
    if (r < 0) {
        fprintf(stderr, "saltchat: bad invite link: %s\n", sc_invite_strerror(r));
        goto fail;
    }
    rc = CLI_EXIT_USAGE;
    /* --relay alternatives: the same room on other relays of the cluster */
    for (size_t i = 0; i < a->n_relays; i++) {
        r = sc_invite_ws_url(a->relays[i], secret, alt[i], sizeof alt[i]);
        if (r < 0) {
            fprintf(stderr,
                    "saltchat: --relay %s: not a relay URL; give one like "
                    "ws://relay2.example.org:8080 (ws://, wss://, http:// or https://)\n",
                    a->relays[i]);
            goto fail;
        }
        alt_ptr[i] = alt[i];
    }
    const char *name = a->name ? a->name : default_name();
    if (strlen(name) > SC_SESSION_MAX_NAME || !sc_hs_name_valid(name, strlen(name))) {
        fprintf(stderr,
                "saltchat: --name must be at most %u bytes of UTF-8 without control "
                "characters\n",
                SC_SESSION_MAX_NAME);
        goto fail;
    }
    rc = CLI_EXIT_TLS;
    if (a->ca_file && check_ca(a->ca_file, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    rc = CLI_EXIT_IDENTITY;
    int created = 0;
    if (cli_identity_config_dir(a->config_dir, dir, sizeof dir, err, sizeof err) != 0 ||
        cli_identity_load(dir, &id, &created, err, sizeof err) != 0 ||
        cli_verified_load(&verified, dir, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    int batch = a->batch || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO);
    if (created && !batch)
        printf("Created your identity key in %s/%s\n", dir, CLI_IDENTITY_FILE);

    const char *term = getenv("TERM");
    cli_chat_config cfg = {
        .ws_url = ws_url,
        .alt_urls = alt_ptr,
        .n_alt_urls = a->n_relays,
        .room_secret = secret,
        .identity = &id,
        .verified = &verified,
        .name = name,
        .ca_file = a->ca_file,
        .batch = batch,
        .color = !batch && !getenv("NO_COLOR") && !(term && !strcmp(term, "dumb")),
        .retries = a->retries,
        .wait_s = a->wait_s,
        .verbose = a->verbose,
    };
    chat = cli_chat_new(&cfg, &rc, err, sizeof err);
    if (!chat) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    rc = cli_chat_run(chat);
fail:
    cli_chat_free(chat);
    cli_verified_free(&verified);
    cli_identity_wipe(&id);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(base, sizeof base);
    sodium_memzero(ws_url, sizeof ws_url);
    sodium_memzero(alt, sizeof alt);
    return rc;
}
