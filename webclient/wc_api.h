/*
 * wc_api: the functions the page's JavaScript calls in the WebAssembly module. All
 * cryptography stays on this side: JavaScript hands in bytes received from the WebSocket,
 * user text and stored key bytes, and takes out bytes to send and JSON events to show.
 *
 * Conventions: strings are NUL-terminated UTF-8 in module memory; 64-bit member ids and
 * msg_ids cross the boundary as 16 hex digits (JavaScript numbers cannot hold them); times are milliseconds as doubles. Pointers returned from a wc_room stay
 * valid until the next call on that room unless said otherwise.
 */
#ifndef WC_API_H
#define WC_API_H

#include <stddef.h>
#include <stdint.h>

#define WC_E_SESSION (-100) /* bad display name or identity key (sc_session_new refused) */
#define WC_E_NOMEM (-101)

typedef struct wc_room wc_room;

/* Initialises libsodium. Returns 0, or -1 if no randomness source works. */
int wc_init(void);
/* Frees a buffer this API returned as "caller frees". */
void wc_free_buf(void *p);

/* Identity keys (docs/PROTOCOL.md 4). generate returns 0 or -1; check returns 0 if sk is a
 * valid secret key whose public half is pk, else -1; fingerprint writes 30 digits + NUL. */
int wc_identity_generate(uint8_t *pk, uint8_t *sk);
int wc_identity_check(const uint8_t *pk, const uint8_t *sk);
void wc_identity_fingerprint(const uint8_t *pk, char *out31);
size_t wc_identity_pkbytes(void);
size_t wc_identity_skbytes(void);

/* Draws a new room secret and writes its invite link for relay page URL base into
 * out[cap]. Returns the length, or an SC_INVITE_E_* value (< 0). The secret is wiped. */
int wc_invite_new(const char *base, char *out, size_t cap);
/* Returns 0 if link is a well-formed invite, else its SC_INVITE_E_* error. */
int wc_invite_check(const char *link);
/* A static message telling the user what is wrong with a link and what to do. */
const char *wc_invite_strerror(int err);
size_t wc_invite_max_url(void);

/* Encodes text as a QR code (level M, 8-bit mode). Returns a buffer the caller frees with
 * wc_free_buf: width as u32 little-endian, then width*width bytes, 1 = dark module, rows
 * first. NULL if text is too long for a QR code or memory ran out. */
uint8_t *wc_qr_encode(const char *text);

/* Opens a room from an invite link. pk/sk: the identity key pair (32/64 bytes, copied).
 * Returns the room, or NULL with *err set to an SC_INVITE_E_* value (bad link),
 * WC_E_SESSION (name over 64 bytes or invalid keys) or WC_E_NOMEM. Free with wc_room_close. */
wc_room *wc_room_open(const char *link, const char *name, const uint8_t *pk, const uint8_t *sk,
                      int *err);
/* A static description of an error from wc_room_open. */
const char *wc_room_error(int err);
/* Wipes every secret and frees the room. NULL is allowed. */
void wc_room_close(wc_room *r);

/* The WebSocket URL to connect to, the room id the relay sees, and the canonical invite
 * link (room-owned strings, valid until wc_room_close). */
const char *wc_room_ws_url(const wc_room *r);
const char *wc_room_id(const wc_room *r);
const char *wc_room_link(const wc_room *r);

/* Feeds one WebSocket binary message. Returns 0, or -1 if the relay sent something
 * malformed (a protocol_error event follows; drop the connection and reconnect). */
int wc_room_receive(wc_room *r, const uint8_t *msg, size_t len, double now_ms);
/* Queues text (len bytes of UTF-8) and writes its msg_id as 16 hex digits + NUL into
 * id_out17. Returns 0, or -1 if the text is empty, too long, not UTF-8, the outbox is full,
 * or it cannot fit this relay's size limit. */
int wc_room_send(wc_room *r, const uint8_t *text, size_t len, double now_ms, char *id_out17);
/* Timers: call tick at or after deadline (0 = no timer pending). */
void wc_room_tick(wc_room *r, double now_ms);
double wc_room_deadline(const wc_room *r);
/* The WebSocket closed: unconfirmed messages go back to the outbox. */
void wc_room_disconnected(wc_room *r, double now_ms);

/* The next message to write on the WebSocket, or NULL. Its length is wc_room_output_len.
 * Valid until wc_room_output_pop, which drops it once written. */
const uint8_t *wc_room_output(wc_room *r);
size_t wc_room_output_len(const wc_room *r);
void wc_room_output_pop(wc_room *r);

/* The next event as a JSON object, or NULL if none (or out of memory: then an event
 * {"type":"glue_error"} is returned once). Fields: type, member, msg_id, time_ms, count,
 * code, identity (hex or null), name, fingerprint, text, reason. */
const char *wc_room_next_event(wc_room *r);

/* Queries. member_id is all zeros when not connected. members: a JSON array of
 * {"id","name","identity"} for every member present. safety_number: 71 chars, or NULL if
 * the member (16 hex digits) is unknown or not authenticated. */
const char *wc_room_member_id(wc_room *r);
size_t wc_room_outbox_len(const wc_room *r);
int wc_room_connected(const wc_room *r);
const char *wc_room_members(wc_room *r);
const char *wc_room_safety_number(wc_room *r, const char *member);
size_t wc_room_max_text(void);

#endif
