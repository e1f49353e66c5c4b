#include "cli_join.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli_chat.h"
#include "cli_exit.h"
#include "cli_history.h"
#include "cli_identity.h"
#include "cli_new.h"
#include "cli_store.h"
#include "cli_text.h"
#include "sc2_link.h"
#include "sc2_room.h"

#define HISTORY_ON_OPEN 10u

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

static int name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SC2_ROOM_MAX_NAME || !cli_utf8_valid((const uint8_t *)s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* Reads one line from fd byte by byte (nothing after it is consumed: stdin stays the
 * chat's input) into out[cap]. Returns its length, or -1 (nothing, or too long). */
static int read_line_fd(int fd, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n')
            break;
        if (n + 1 >= cap) {
            sodium_memzero(out, cap);
            return -1;
        }
        out[n++] = ch;
    }
    if (n && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    return n ? (int)n : -1;
}

/* The link of `join`: the argument, --link-file, or stdin (a prompt without echo on a
 * terminal). Returns 0 or a CLI_EXIT_* code with a message printed. */
static int get_link(const cli_args *a, char *out, size_t cap)
{
    if (a->target) {
        snprintf(out, cap, "%s", a->target);
        return 0;
    }
    if (a->link_file) {
        int fd = open(a->link_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "saltchat: --link-file %s: %s\n", a->link_file, strerror(errno));
            return CLI_EXIT_BAD_LINK;
        }
        int n = read_line_fd(fd, out, cap);
        close(fd);
        if (n < 0) {
            fprintf(stderr, "saltchat: --link-file %s: no invite link on its first line\n",
                    a->link_file);
            return CLI_EXIT_BAD_LINK;
        }
        return 0;
    }
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    int echo_off = 0;
    if (tty) {
        /* echo off before the prompt, so that nothing typed after it is echoed or flushed */
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            echo_off = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
        }
        fprintf(stderr, "Invite link (%s): ", echo_off ? "not echoed" : "echoed");
    }
    int n = read_line_fd(STDIN_FILENO, out, cap);
    if (echo_off) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    if (n < 0) {
        fprintf(stderr, "saltchat: no invite link: give it as an argument, with --link-file "
                        "FILE, or on the first line of standard input\n");
        return CLI_EXIT_BAD_LINK;
    }
    return 0;
}

int cli_join_run(const cli_args *a)
{
    char link[SC2_LINK_MAX_URL + 64], base[SC2_LINK_MAX_URL], dir[PATH_MAX];
    char store_dir[PATH_MAX], err[1400], room_text[SC2_ROOM_ID_CHARS + 1];
    char urls[1 + CLI_ARGS_MAX_RELAYS][SC2_LINK_MAX_URL];
    const char *url_ptr[1 + CLI_ARGS_MAX_RELAYS];
    uint8_t room_id[SC2_ROOM_ID_BYTES], secret[SC2_LINK_SECRET_BYTES];
    cli_identity id;
    cli_store_room stored;
    sc2_room *room = NULL;
    cli_chat *chat = NULL;
    int rc = CLI_EXIT_USAGE, r;
    memset(&id, 0, sizeof id);
    memset(&stored, 0, sizeof stored);
    link[0] = '\0';

    const char *name = a->name ? a->name : getenv("USER");
    if (a->command != CLI_CMD_OPEN || a->name) {
        if (!name || !name_valid(name)) {
            fprintf(stderr,
                    "saltchat: --name must be 1 to %u bytes of UTF-8 without control "
                    "characters%s\n",
                    SC2_ROOM_MAX_NAME, a->name ? "" : " (and $USER is not usable)");
            goto fail;
        }
    }
    unsigned long history = a->history;
    const char *henv = getenv("SALTCHAT_HISTORY");
    if (!history && henv && *henv &&
        cli_history_parse_bound(henv, "$SALTCHAT_HISTORY", &history, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    rc = CLI_EXIT_TLS;
    if (a->ca_file && check_ca(a->ca_file, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    rc = CLI_EXIT_BAD_LINK;
    if (a->command == CLI_CMD_JOIN) {
        if ((r = get_link(a, link, sizeof link)) != 0) {
            rc = r;
            goto fail;
        }
        r = sc2_link_parse(link, room_id, secret, base, sizeof base);
        sodium_memzero(secret, sizeof secret);
        if (r != 0) {
            fprintf(stderr, "saltchat: bad invite link: %s\n", sc2_link_strerror(r));
            goto fail;
        }
    }
    if (a->command == CLI_CMD_NEW) {
        uint8_t probe[SC2_ROOM_ID_BYTES] = {0};
        snprintf(base, sizeof base, "%s", a->target);
        if ((r = sc2_link_ws_url(base, probe, urls[0], sizeof urls[0])) < 0) {
            fprintf(stderr, "saltchat: bad relay URL '%s': %s\n", a->target,
                    sc2_link_strerror(r));
            goto fail;
        }
    }
    rc = CLI_EXIT_IDENTITY;
    int created = 0;
    if (cli_identity_config_dir(a->config_dir, dir, sizeof dir, err, sizeof err) != 0 ||
        cli_identity_load(dir, &id, &created, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    rc = CLI_EXIT_STORE;
    if (cli_store_dir(a->data_dir, store_dir, sizeof store_dir, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    int batch = a->batch || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO);
    if (created && !batch)
        printf("Created your identity key in %s/%s\n", dir, CLI_IDENTITY_FILE);

    sc2_room_config rcfg = {id.sk, name, NULL};
    if (a->command == CLI_CMD_OPEN) {
        r = cli_store_find(store_dir, a->target, room_text, err, sizeof err);
        if (r == 0)
            r = cli_store_load(store_dir, id.storage_key, room_text, &stored, err, sizeof err);
        if (r == 1)
            fprintf(stderr, "saltchat: no stored room '%s' in %s (see 'saltchat rooms')\n",
                    a->target, store_dir);
        else if (r < 0)
            fprintf(stderr, "saltchat: %s\n", err);
        if (r != 0)
            goto fail;
        if (stored.status != CLI_STORE_ACTIVE) {
            fprintf(stderr, "saltchat: room %s: %s; join it again with a current invite link\n",
                    room_text,
                    stored.status == CLI_STORE_LEFT      ? "you left it"
                    : stored.status == CLI_STORE_REMOVED ? "you were removed from it"
                                                         : "its link changed while you were away "
                                                           "and the old one no longer admits you; "
                                                           "ask a member for the new link");
            goto fail;
        }
        if (a->name && strcmp(a->name, stored.name) != 0) {
            rc = CLI_EXIT_USAGE;
            fprintf(stderr, "saltchat: you are '%s' in room %s: a name cannot change in a room\n",
                    stored.name, room_text);
            goto fail;
        }
        name = stored.name;
        rcfg.name = name;
        snprintf(base, sizeof base, "%s", stored.base);
        if (sc2_room_import(&room, &rcfg, stored.state.data, stored.state.len) != 0) {
            fprintf(stderr,
                    "saltchat: %s/%s.state is corrupt or was written by another identity (its "
                    "room state does not load)\n",
                    store_dir, room_text);
            goto fail;
        }
    } else if (a->command == CLI_CMD_JOIN) {
        sc2_link_room_id_text(room_id, room_text);
        r = cli_store_load(store_dir, id.storage_key, room_text, &stored, err, sizeof err);
        if (r == 0 && stored.status == CLI_STORE_ACTIVE) {
            fprintf(stderr, "saltchat: you are already in room %s: re-enter it with 'saltchat "
                            "open %s'\n",
                    room_text, room_text);
            goto fail;
        }
        rc = CLI_EXIT_BAD_LINK;
        r = sc2_room_join(&room, &rcfg, link);
        if (r != 0) {
            fprintf(stderr, "saltchat: %s\n",
                    r == -100 ? "cannot start the room (out of memory)" : sc2_link_strerror(r));
            rc = r == -100 ? CLI_EXIT_ERROR : CLI_EXIT_BAD_LINK;
            goto fail;
        }
    } else {
        rc = CLI_EXIT_ERROR;
        if (sc2_room_create(&room, &rcfg, (uint64_t)time(NULL) * 1000u) != 0) {
            fprintf(stderr, "saltchat: cannot create the room (out of memory)\n");
            goto fail;
        }
        /* the normalized http(s) base, as the link carries it */
        if (sc2_room_link(room, a->target, link, sizeof link) < 0 ||
            sc2_link_parse(link, room_id, secret, base, sizeof base) != 0) {
            rc = CLI_EXIT_BAD_LINK;
            fprintf(stderr, "saltchat: bad relay URL '%s'\n", a->target);
            goto fail;
        }
        sodium_memzero(secret, sizeof secret);
    }
    rc = CLI_EXIT_USAGE;
    size_t n_urls = 0;
    if ((r = sc2_link_ws_url(base, sc2_room_id(room), urls[n_urls], sizeof urls[0])) < 0) {
        rc = CLI_EXIT_BAD_LINK;
        fprintf(stderr, "saltchat: bad relay URL '%s': %s\n", base, sc2_link_strerror(r));
        goto fail;
    }
    url_ptr[n_urls] = urls[n_urls];
    n_urls++;
    for (size_t i = 0; i < a->n_relays; i++, n_urls++) {
        if (sc2_link_ws_url(a->relays[i], sc2_room_id(room), urls[n_urls], sizeof urls[0]) < 0) {
            fprintf(stderr,
                    "saltchat: --relay %s: not a relay URL; give one like "
                    "ws://relay2.example.org:8080 (ws://, wss://, http:// or https://)\n",
                    a->relays[i]);
            goto fail;
        }
        url_ptr[n_urls] = urls[n_urls];
    }
    if (a->command == CLI_CMD_NEW && !batch) {
        char l[SC2_LINK_MAX_URL];
        if (sc2_room_link(room, base, l, sizeof l) >= 0)
            cli_new_print_link(l, a->qr, 1);
        sodium_memzero(l, sizeof l);
    }
    const char *term = getenv("TERM");
    cli_chat_config cfg = {
        .base = base,
        .ws_urls = url_ptr,
        .n_ws_urls = n_urls,
        .identity = &id,
        .name = name,
        .store_dir = store_dir,
        .ca_file = a->ca_file,
        .batch = batch,
        .color = !batch && !getenv("NO_COLOR") && !(term && !strcmp(term, "dumb")),
        .retries = a->retries,
        .reached = a->command == CLI_CMD_OPEN,
        .wait_s = a->wait_s,
        .show_history = a->command == CLI_CMD_OPEN ? HISTORY_ON_OPEN : 0,
        .show_link = a->command == CLI_CMD_NEW && batch,
        .own = a->command == CLI_CMD_OPEN ? &stored.own : NULL,
        .verbose = a->verbose,
        .history_bound = history,
    };
    chat = cli_chat_new(&cfg, room, &rc, err, sizeof err);
    room = NULL; /* the chat owns it now */
    if (!chat) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    rc = cli_chat_run(chat);
fail:
    cli_chat_free(chat);
    sc2_room_free(room);
    cli_store_room_wipe(&stored);
    cli_identity_wipe(&id);
    sodium_memzero(link, sizeof link);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(urls, sizeof urls);
    return rc;
}
