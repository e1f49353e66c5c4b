/*
 * cli_chat: one saltchat session in one room, from start to exit. Owns the sc2_room,
 * the event loop, the WebSocket and the UI; moves bytes and events between them;
 * reconnects with backoff; records messages in the history (cli_history) before showing
 * them; stores the room (cli_store, after syncing the history) within 300 ms or 256
 * relay entries, at once after a commit or membership change, before reporting a
 * user's message as queued, and on exit; decides when and with which exit code to stop.
 */
#ifndef CLI_CHAT_H
#define CLI_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "cli_buf.h"
#include "cli_identity.h"
#include "sc2_room.h"

typedef struct cli_chat cli_chat;

typedef struct cli_chat_config {
    const char *base;           /* the room's relay, http(s) base URL (links, storage) */
    /* WebSocket URLs tried in turn (the room's relay first, then --relay alternatives). */
    const char *const *ws_urls;
    size_t n_ws_urls;
    const cli_identity *identity;
    const char *name;           /* display name, <= SC2_ROOM_MAX_NAME bytes */
    const char *store_dir;      /* DATA/rooms (cli_store_dir) */
    const char *ca_file;        /* NULL: system CA store only */
    int batch;                  /* JSON lines instead of the terminal UI */
    int color;                  /* terminal UI only */
    int retries;                /* -1: default policy (see docs/CLI.md) */
    int reached;                /* the room was reached before (open): retry without limit */
    unsigned wait_s;            /* bound on waiting for acceptance when quitting */
    unsigned show_history;      /* stored messages to show before connecting */
    int show_link;              /* report the link at start (new) */
    const cli_buf *own;         /* own texts not yet accepted, from the stored room (open);
                                   may be NULL */
    int verbose;
    unsigned long history_bound; /* messages the history keeps (cli_history); 0: default */
} cli_chat_config;

/* Creates the session around room (ownership passes to the chat, also on failure).
 * Returns NULL with a message in err[cap] if memory, libedit or libwebsockets fail;
 * *exit_code is set to the CLI_EXIT_* value to use then. */
cli_chat *cli_chat_new(const cli_chat_config *cfg, sc2_room *room, int *exit_code, char *err,
                       size_t cap);

/* Connects and runs until the user quits or leaves, or a fatal error. Returns a
 * CLI_EXIT_* code. */
int cli_chat_run(cli_chat *c);

void cli_chat_free(cli_chat *c);

#endif
