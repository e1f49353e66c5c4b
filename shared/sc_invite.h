/*
 * sc_invite: room secrets, invite links and the values derived from them
 * (docs/PROTOCOL.md section 3). Links look like
 *   http://host:8080/#sc1.<48 chars base64url(secret || check)>
 */
#ifndef SC_INVITE_H
#define SC_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "sc_rng.h"

#define SC_INVITE_SECRET_BYTES 32u
#define SC_INVITE_ROOM_ID_BYTES 32u
#define SC_INVITE_ROOM_KEY_BYTES 32u
#define SC_INVITE_ROOM_ID_CHARS 43u /* base64url without padding, without NUL */
#define SC_INVITE_CODE_CHARS 48u
/* Every base, link and WebSocket URL handled fits in this many bytes with its NUL: a base
 * longer than SC_INVITE_MAX_URL - 54 characters (in its http(s) form) is SC_INVITE_E_URL. */
#define SC_INVITE_MAX_URL 1024u

#define SC_INVITE_E_URL (-1)        /* base is not an http(s)/ws(s) URL with a host */
#define SC_INVITE_E_NO_FRAGMENT (-2) /* link has no '#...' part */
#define SC_INVITE_E_VERSION (-3)    /* fragment does not start with "sc1." */
#define SC_INVITE_E_ENCODING (-4)   /* code is not base64url */
#define SC_INVITE_E_LENGTH (-5)     /* code has the wrong length: truncated or padded link */
#define SC_INVITE_E_CHECK (-6)      /* checksum mismatch: mistyped link */
#define SC_INVITE_E_SPACE (-7)      /* output buffer too small */

/* Draws a new room secret. */
void sc_invite_new_secret(sc_rng *rng, uint8_t secret[SC_INVITE_SECRET_BYTES]);

/* Derives room_id and room_key (either may be NULL) from the secret. */
void sc_invite_derive(const uint8_t secret[SC_INVITE_SECRET_BYTES],
                      uint8_t room_id[SC_INVITE_ROOM_ID_BYTES],
                      uint8_t room_key[SC_INVITE_ROOM_KEY_BYTES]);

/* Writes base64url(room_id) and a NUL. */
void sc_invite_room_id_text(const uint8_t room_id[SC_INVITE_ROOM_ID_BYTES],
                            char out[SC_INVITE_ROOM_ID_CHARS + 1]);

/*
 * Writes the invite link for secret at base (http://, https://, ws:// or wss:// URL;
 * ws becomes http and wss https; a missing trailing '/' is added; any fragment or query
 * is an error). Returns the link length (without NUL) or SC_INVITE_E_URL/E_SPACE.
 */
int sc_invite_format(const char *base, const uint8_t secret[SC_INVITE_SECRET_BYTES], char *out,
                     size_t cap);

/*
 * Parses a link. On success returns 0, writes the secret and, if base_out is not NULL,
 * the http(s) base URL (ending in '/') into base_out[base_cap]. Returns SC_INVITE_E_* on
 * failure. Surrounding whitespace is ignored.
 */
int sc_invite_parse(const char *link, uint8_t secret[SC_INVITE_SECRET_BYTES], char *base_out,
                    size_t base_cap);

/* Writes the WebSocket URL ws(s)://host[:port]/path/room/<room-id> for base and secret.
 * Returns its length or SC_INVITE_E_URL/E_SPACE. */
int sc_invite_ws_url(const char *base, const uint8_t secret[SC_INVITE_SECRET_BYTES], char *out,
                     size_t cap);

/* Returns a static message for an SC_INVITE_E_* value that tells the user what to do. */
const char *sc_invite_strerror(int err);

size_t sc_invite_secretbytes(void);
size_t sc_invite_room_id_chars(void);
size_t sc_invite_room_id_bytes(void);
size_t sc_invite_room_key_bytes(void);
size_t sc_invite_code_chars(void);
size_t sc_invite_max_url(void);

#endif
