/*
 * relay_origin: the Origin policy for WebSocket handshakes.
 * Allowed: no Origin header (native clients), the same origin as the Host the
 * client connected to, and origins listed with --allow-origin. Everything else
 * (including "null") is refused.
 */
#ifndef RELAY_ORIGIN_H
#define RELAY_ORIGIN_H

#include <stddef.h>

#define RELAY_ORIGIN_MAX 300u

/*
 * Normalizes an http(s) origin URL ("scheme://host[:port]", optionally one
 * trailing "/") to "scheme://host:port" in lower case, into out[0..cap).
 * Returns 0, or -1 if url is not such an origin or does not fit.
 */
int relay_origin_normalize(const char *url, char *out, size_t cap);

/*
 * Returns 1 if a handshake carrying this Origin header (NULL: absent) and Host
 * header (NULL: absent) may proceed, 0 if it must be refused. allowed[0..n) are
 * normalized origins.
 */
int relay_origin_allowed(const char *origin, const char *host, const char *const *allowed,
                         size_t n);

#endif
