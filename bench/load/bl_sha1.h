/*
 * bl_sha1: SHA-1 and base64, only to check the server's Sec-WebSocket-Accept
 * (RFC 6455 4.2.2). Not for anything that needs a secure hash.
 */
#ifndef BL_SHA1_H
#define BL_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define BL_SHA1_BYTES 20u

/* Writes the SHA-1 digest of msg[0..len) to out. */
void bl_sha1(const uint8_t *msg, size_t len, uint8_t out[BL_SHA1_BYTES]);

/*
 * Writes standard base64 (with padding) of in[0..len) and a NUL to out[0..cap).
 * Returns the string length, or 0 if cap is too small.
 */
size_t bl_base64(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
