/*
 * relay_listen: the relay's own listening socket, for --reuse-port.
 *
 * lws 4.1.6 sets SO_REUSEPORT on its listener only when it runs several service
 * threads, so with --reuse-port the relay binds the port itself with SO_REUSEPORT
 * (other relay processes on this host may bind the same address and port; the
 * kernel spreads new connections over them: several relays of one cluster behind
 * one port, using more cores), watches it as an lws raw descriptor on the same
 * loop, accepts, and hands every connection to lws (lws_adopt_socket_vhost) as if
 * lws' own listener had accepted it. The vhost then listens on nothing itself.
 */
#ifndef RELAY_LISTEN_H
#define RELAY_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "relay_config.h"

#define RELAY_LISTEN_PROTOCOL "saltchat-listen"

struct relay;

/* Fills *ss with cfg's listen address and port (--listen). Returns its length. */
socklen_t relay_listen_addr(const relay_config *cfg, struct sockaddr_storage *ss);

/* Binds and listens on cfg's address with SO_REUSEADDR and SO_REUSEPORT. Returns the
 * socket and sets *port (the bound port), or returns -1 with a message in err[cap]. */
int relay_listen_open(const relay_config *cfg, int *port, char *err, size_t cap);

/* Watches listening socket fd on r's loop. Returns 0, or -1 (fd closed). */
int relay_listen_watch(struct relay *r, int fd);

/* The lws protocol callback for RELAY_LISTEN_PROTOCOL. */
int relay_listen_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len);

#endif
