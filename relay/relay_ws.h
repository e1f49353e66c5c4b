/*
 * relay_ws: the WebSocket side of the relay (subprotocol saltchat.v1). One
 * session per connection: it joins the room named in the path, checks and
 * routes every incoming envelope through relay_room, writes what the room
 * queued for it as batches, and closes with the protocol's close codes
 * (docs/PROTOCOL.md section 2) on bad input.
 */
#ifndef RELAY_WS_H
#define RELAY_WS_H

#include <stddef.h>

#include <libwebsockets.h>

#include "relay_room.h"

#define RELAY_WS_SUBPROTOCOL "saltchat.v1"

/*
 * Per-message input that lws hands over in one piece, and the most lws reads from a
 * connection per loop turn. Each connection owns an lws receive buffer of this size
 * (plus LWS_PRE), from relay_rxpool so that its pages are resident only once used;
 * longer messages arrive in pieces and are reassembled on demand. At 512 B every
 * loop turn carried two 256-byte frames per sender (docs/RELAY.md, Receive).
 */
#define RELAY_WS_RX_CHUNK (16u * 1024u)

struct relay;

/* Bytes of per-connection state (lws per_session_data_size). */
size_t relay_ws_session_size(void);

/* The lws protocol callback for RELAY_WS_SUBPROTOCOL. */
int relay_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);

/* The callbacks relay_room uses to wake and cut members; arg is the relay. */
relay_room_ops relay_ws_room_ops(struct relay *r);

/* Sets up r->ka (ping interval and timeout from the config) to ping sessions. */
void relay_ws_keepalive_init(struct relay *r);

/* relay_rawrx found the client of wsi breaking RFC 6455: closes it with code. */
void relay_ws_violation(struct lws *wsi, uint16_t code, const char *why);

/* Starts the graceful shutdown of every connection: stop reading, deliver what is
 * queued, send ERROR shutdown and close with 1001. */
void relay_ws_shutdown(struct relay *r);

#endif
