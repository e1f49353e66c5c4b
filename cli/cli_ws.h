/*
 * cli_ws: the one WebSocket to the relay (libwebsockets client, subprotocol
 * "saltchat.v2"). Reassembles fragmented messages, writes only from the writeable
 * callback, reports how a connection ended. Knows nothing about the protocol inside.
 */
#ifndef CLI_WS_H
#define CLI_WS_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_loop.h"

#define CLI_WS_SUBPROTOCOL "saltchat.v2"
/* Largest reassembled message accepted from the relay: one maximal envelope, with
 * room for a batch of smaller ones. */
#define CLI_WS_MAX_MESSAGE (32u * 1024u * 1024u)

typedef struct cli_ws cli_ws;

/* How a connection attempt or connection ended. Strings valid during the callback. */
typedef struct cli_ws_end {
    int was_open;        /* the WebSocket had been established */
    int local;           /* we closed it (cli_ws_close) */
    uint16_t close_code; /* close code the relay sent, 0 if none */
    int http_status;     /* upgrade answered with this HTTP status, 0 if none */
    int tls_error;       /* the TLS handshake or certificate check failed */
    const char *reason;  /* close reason or connection error; never NULL */
} cli_ws_end;

typedef struct cli_ws_handler {
    void *user;
    void (*on_open)(void *user);
    /* One whole binary message. Returns 0, or -1 to drop the connection (on_end follows). */
    int (*on_message)(void *user, const uint8_t *msg, size_t len);
    /* The next message to write, or NULL; output_done is called after writing it. */
    const uint8_t *(*next_output)(void *user, size_t *len);
    void (*output_done)(void *user);
    /* Called once per connect that did not fail synchronously. */
    void (*on_end)(void *user, const cli_ws_end *end);
} cli_ws_handler;

/* The protocol table entry to give cli_loop_new. */
extern const struct lws_protocols cli_ws_protocol;

/* Returns a new, unconnected WebSocket, or NULL if memory is exhausted. */
cli_ws *cli_ws_new(cli_loop *loop, const cli_ws_handler *h);

/* Wipes buffers and frees; any connection must be closed by the loop (cli_loop_free). */
void cli_ws_free(cli_ws *w);

/*
 * Starts connecting to url (ws:// or wss://). Returns 0 (on_open or on_end follows),
 * or -1 with err[cap] if it failed at once (bad URL, no route, out of memory);
 * on_end is then not called.
 */
int cli_ws_connect(cli_ws *w, const char *url, char *err, size_t cap);

/* Asks for a writeable callback (call after new output became available). */
void cli_ws_want_write(cli_ws *w);

/* Closes with code and a short reason (graceful for an open connection, an abort for
 * one still connecting). on_end follows with local = 1. */
void cli_ws_close(cli_ws *w, uint16_t code, const char *reason);

/* 1 while a connection exists (connecting or open), else 0. */
int cli_ws_active(const cli_ws *w);
/* 1 while established, else 0. */
int cli_ws_open(const cli_ws *w);

#endif
