/*
 * relay_rawrx: the bytes libwebsockets reads from client sockets, checked by
 * relay_wsguard before lws parses them. lws 4.1.6 exposes neither a frame's mask
 * bit nor its header, and calls back only once payload has arrived, so the rules it
 * does not enforce itself (docs/RELAY.md, "WebSocket conformance") are checked on
 * the raw stream: this module defines recv() and SSL_read(), which the relay's
 * executable exports and lws (a shared library) therefore calls instead of libc's
 * and libssl's; they forward to those and feed what a tracked client socket
 * returned (the plaintext, with TLS) to that socket's guard, which also unmasks the
 * frames in place (relay_wsguard_feed_unmask: the same frames with a zero key, so
 * lws skips its own unmasking). A violation is reported, and the relay closes the
 * connection.
 *
 * Only the lws service thread (the one that called relay_rawrx_init) is watched;
 * reads on other threads (the NATS client's) and MSG_PEEK reads pass untouched.
 */
#ifndef RELAY_RAWRX_H
#define RELAY_RAWRX_H

#include <stdint.h>

#include <libwebsockets.h>

/* Called (on the service thread, from inside lws' read) when the guard of a bound
 * socket finds a violation: the connection must close with code (why: static text). */
typedef void (*relay_rawrx_violation_fn)(struct lws *wsi, uint16_t code, const char *why);

/*
 * Starts watching, for socket fds below max_fds, with max_message for the guards.
 * Returns 0, or -1 if out of memory or libc's recv cannot be found.
 */
int relay_rawrx_init(unsigned max_fds, uint64_t max_message, relay_rawrx_violation_fn fn);

/* Stops watching; frees every guard. */
void relay_rawrx_free(void);

/* fd is a newly accepted client connection: its guard starts (again) from an HTTP
 * request. Silently does nothing if fd is out of range or memory runs out. */
void relay_rawrx_accept(int fd);

/*
 * fd has become the WebSocket connection wsi: later violations are reported for
 * it. Returns the close code of a violation already found (its bytes came with the
 * handshake; *why set), or 0.
 */
uint16_t relay_rawrx_bind(int fd, struct lws *wsi, const char **why);

/* fd is closing: its guard is dropped. */
void relay_rawrx_release(int fd);

#endif
