/*
 * relay_http: the plain-HTTP side of the relay, on the same port as WebSocket.
 * GET/HEAD of the web client's files (under --www, with MIME types and security
 * headers), GET /healthz, GET /metrics (Prometheus text), and the checks a
 * WebSocket upgrade must pass before it reaches relay_ws2 (path /room/<id>,
 * subprotocol saltchat.v2, Origin policy).
 */
#ifndef RELAY_HTTP_H
#define RELAY_HTTP_H

#include <stddef.h>

#include <libwebsockets.h>

/* The lws protocol callback for plain HTTP (the vhost's first protocol). */
int relay_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len);

struct relay;

/* Builds the response headers and /cluster.json for r's config (--peer-url adds the
 * other relays' WebSocket origins to connect-src). Returns 0, or -1 (out of memory,
 * logged). relay_http_free releases them. */
int relay_http_init(struct relay *r);
void relay_http_free(struct relay *r);

/* The Content-Security-Policy sent with every HTTP response (without --peer-url). */
#define RELAY_HTTP_CSP                                                                      \
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; "       \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

#endif
