/*
 * cli_chat: one saltchat session from start to exit. Owns the protocol session, the
 * event loop, the WebSocket and the UI; moves bytes and events between them;
 * reconnects with backoff; decides when and with which exit code to stop.
 */
#ifndef CLI_CHAT_H
#define CLI_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "cli_identity.h"
#include "cli_verified.h"

typedef struct cli_chat cli_chat;

typedef struct cli_chat_config {
    const char *ws_url;         /* ws(s)://.../room/<room-id> */
    /* Alternatives tried in turn after ws_url when a connection fails or drops (other
     * relays of the same cluster); may be NULL with n_alt_urls 0. */
    const char *const *alt_urls;
    size_t n_alt_urls;
    const uint8_t *room_secret; /* 32 bytes; copied into the session */
    const cli_identity *identity;
    cli_verified *verified;
    const char *name;           /* display name, <= SC_SESSION_MAX_NAME bytes */
    const char *ca_file;        /* NULL: system CA store only */
    int batch;                  /* JSON lines instead of the terminal UI */
    int color;                  /* terminal UI only */
    int retries;                /* -1: default policy (see docs/CLI.md) */
    unsigned wait_s;            /* bound on waiting for confirmations when leaving */
    int verbose;
} cli_chat_config;

/* Creates the session and UI. Returns NULL with a message in err[cap] if the session
 * cannot be created (invalid name) or memory/libedit/libwebsockets fail. *exit_code is
 * set to the CLI_EXIT_* value to use in that case. */
cli_chat *cli_chat_new(const cli_chat_config *cfg, int *exit_code, char *err, size_t cap);

/* Connects and runs until the user leaves or a fatal error. Returns a CLI_EXIT_* code. */
int cli_chat_run(cli_chat *c);

void cli_chat_free(cli_chat *c);

/* Test hooks, used by tests/cli/cli_test_peer.c (never by saltchat itself). */
struct sc_session *cli_chat_session(cli_chat *c);
/* Closes the connection without telling the session: its keys stay as they were, so
 * frames recorded afterwards can be fed to it with cli_chat_inject. No reconnect. */
void cli_chat_detach(cli_chat *c);
/* Feeds a WebSocket message to the session as if the relay had sent it. Returns the
 * result of sc_session_receive; events are reported as usual. */
int cli_chat_inject(cli_chat *c, const uint8_t *msg, size_t len);
/* Replaces the UI's line handler (the test peer reads commands, not messages). */
typedef void (*cli_chat_line_fn)(cli_chat *c, void *user, const char *line, size_t len);
void cli_chat_set_line_handler(cli_chat *c, cli_chat_line_fn fn, void *user);
/* Sends text as a user message (what a typed line does). Returns 0 or -1 (rejected). */
int cli_chat_send(cli_chat *c, const char *text, size_t len);
/* Starts leaving as at end of input. */
void cli_chat_leave(cli_chat *c);

#endif
