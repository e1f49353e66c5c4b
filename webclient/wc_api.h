/*
 * wc_api: the functions the page's JavaScript calls in the WebAssembly module, on protocol
 * v2 (shared/v2/sc2_room). All cryptography stays on this side: JavaScript hands in bytes
 * received from the WebSocket, user text and sealed blobs read from IndexedDB, and takes
 * out bytes to send, JSON events to show and sealed blobs to store.
 *
 * Storage sealing: the module holds one 32-byte storage key (wc_store_key_set). Every blob
 * JavaScript stores is sealed with it (secretbox: nonce(24) || tag(16) || ciphertext):
 * the identity seed (wc_identity_new), each room's sc2_room_export (wc_room_save) and
 * whatever the page seals with wc_seal (history, names). The identity seed and the room
 * state never leave the module unsealed.
 *
 * Conventions: strings are NUL-terminated UTF-8 in module memory; seqs, epochs, tokens and
 * times cross as doubles (exact below 2^53); identity keys as 64 hex digits. Functions that
 * return a malloc'd buffer set its length for wc_last_len(); the caller frees it with
 * wc_free_buf. Pointers returned from a wc_room stay valid until the next call on it.
 */
#ifndef WC_API_H
#define WC_API_H

#include <stddef.h>
#include <stdint.h>

#define WC_E_CONFIG (-100) /* bad display name, or the identity blob does not open */
#define WC_E_NOMEM (-101)
#define WC_E_STATE (-102)  /* a stored room that does not open or import */
#define WC_E_NOKEY (-103)  /* wc_store_key_set was not called */

typedef struct wc_room wc_room;

/* Initialises libsodium. Returns 0, or -1 if no randomness source works. */
int wc_init(void);
/* Frees a buffer this API returned as "caller frees" (wiped first: it may be a secret). */
void wc_free_buf(void *p);
/* The length of the last buffer returned as "caller frees". */
size_t wc_last_len(void);

/* --- storage key and sealing --- */
/* Writes 32 fresh random bytes (a new storage key, for JavaScript to wrap with WebCrypto). */
void wc_store_key_new(uint8_t *out32);
/* Sets the module's storage key (copied; the caller wipes its copy). */
void wc_store_key_set(const uint8_t *key32);
size_t wc_store_key_bytes(void);
/* Seals / opens len bytes. Return a buffer the caller frees, or NULL (no key, memory, or
 * for open: forged, truncated or sealed under another key). */
uint8_t *wc_seal(const uint8_t *in, size_t len);
uint8_t *wc_open(const uint8_t *in, size_t len);

/* --- identity --- */
/* A new identity (32-byte Ed25519 seed) sealed under the storage key; caller frees. */
uint8_t *wc_identity_new(void);
/* Writes the identity's public key as 64 hex digits + NUL into hex65 and its fingerprint
 * (sc2_vf_fingerprint: 6 groups of 5 digits) + NUL into fp36. Returns 0 or -1 (does not
 * open). */
int wc_identity_public(const uint8_t *blob, size_t len, char *hex65, char *fp36);

/* --- verification (shared/v2/sc2_verify.h, PROTOCOL.md 8.11) --- */
/* The fingerprint of a 64-hex-digit identity key into fp36. Returns 0 or -1 (not hex). */
int wc_verify_fingerprint(const char *identity_hex, char *fp36);
/* The safety number of two fingerprints (as above) into sn72 (12 groups + NUL). Returns 0
 * or -1 (not fingerprints). */
int wc_verify_safety_number(const char *fp_a, const char *fp_b, char *sn72);
/* What the user typed against their fingerprint and our safety number: SC2_VF_FINGERPRINT
 * (1), SC2_VF_SAFETY_NUMBER (2), SC2_VF_E_MISMATCH (-1) or SC2_VF_E_FORMAT (-2). */
int wc_verify_check(const char *typed, const char *fp, const char *sn);
/* A static description of a negative wc_verify_check result. */
const char *wc_verify_strerror(int err);

/* --- links --- */
/* Returns 0 if link is a well-formed v2 invite link, else its SC2_LINK_E_* error. */
int wc_link_check(const char *link);
/* A static message telling the user what is wrong with a link and what to do. */
const char *wc_link_strerror(int err);
size_t wc_link_max_url(void);

/* Encodes text as a QR code (level M, 8-bit mode). Returns a buffer the caller frees with
 * wc_free_buf: width as u32 little-endian, then width*width bytes, 1 = dark module, rows
 * first. NULL if text is too long for a QR code or memory ran out. */
uint8_t *wc_qr_encode(const char *text);

/* --- a room --- */
/* A new room / a room joined by link / a stored room (wc_room_save's blob). id/id_len is the
 * sealed identity, name the display name (1..64 bytes of UTF-8). Return the room, or NULL
 * with *err set: SC2_LINK_E_* (bad link), WC_E_CONFIG, WC_E_STATE, WC_E_NOKEY or
 * WC_E_NOMEM. Free with wc_room_close. */
wc_room *wc_room_create(const uint8_t *id, size_t id_len, const char *name, double now_ms,
                        int *err);
wc_room *wc_room_join(const uint8_t *id, size_t id_len, const char *name, const char *link,
                      int *err);
wc_room *wc_room_restore(const uint8_t *id, size_t id_len, const char *name,
                         const uint8_t *blob, size_t len, int *err);
/* A static description of an error from the three above. */
const char *wc_room_error(int err);
/* Wipes every secret and frees the room. NULL is allowed. */
void wc_room_close(wc_room *r);

/* The room's state exported and sealed: a buffer the caller frees, or NULL (no group yet:
 * a first join not accepted; no key; memory). */
uint8_t *wc_room_save(const wc_room *r);

/* The room id as the relay sees it (22 characters) and the current invite link at base
 * (room-owned strings; the link is NULL if base is not a URL). */
const char *wc_room_id(wc_room *r);
const char *wc_room_link(wc_room *r, const char *base);

/* The connection opened / closed (sc2_room_connected / _disconnected). */
void wc_room_connected(wc_room *r, double now_ms);
void wc_room_disconnected(wc_room *r, double now_ms);
/* Feeds one WebSocket binary message. Returns 0, or -1 if the connection must be closed
 * (then wc_room_state says whether to reconnect: not when LOST or DEAD). */
int wc_room_receive(wc_room *r, const uint8_t *msg, size_t len, double now_ms);

/* User actions. Return the action's token (>= 0), or -1 (bad text, outbox full, not a
 * member, room dead or lost). identity_hex: 64 hex digits. */
double wc_room_send(wc_room *r, const uint8_t *text, size_t len, double now_ms);
double wc_room_remove(wc_room *r, const char *identity_hex, double now_ms);
double wc_room_leave(wc_room *r, double now_ms);

/* The next message to write on the WebSocket, or NULL. Its length is wc_room_output_len.
 * Valid until wc_room_output_pop, which drops it once written. */
const uint8_t *wc_room_output(wc_room *r);
size_t wc_room_output_len(const wc_room *r);
void wc_room_output_pop(wc_room *r);

/* The next event as a JSON object, or NULL if none (out of memory: {"type":"glue_error"}
 * once). Fields: type (sc2_room_event_name), seq, seq2, token, epoch, time_ms, code, self,
 * resync (numbers), name, by_name, text, reason (strings), identity, by_identity (hex or
 * null). */
const char *wc_room_next_event(wc_room *r);

/* Queries. state: enum sc2_room_state. members: a JSON array of {"name","identity"}. */
int wc_room_state(const wc_room *r);
double wc_room_seq(const wc_room *r);
double wc_room_epoch(const wc_room *r);
size_t wc_room_outbox_len(const wc_room *r);
const char *wc_room_members(wc_room *r);
const char *wc_room_my_identity(wc_room *r);
size_t wc_room_max_text(void);
/* The room code of the current epoch (sc2_vf_room_code, 4 groups + NUL) into code24.
 * Returns 0, or -1 before the room has a group. */
int wc_room_code(const wc_room *r, char *code24);

#endif
