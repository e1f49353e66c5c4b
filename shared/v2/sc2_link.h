/*
 * sc2_link: the invite link of protocol v2 and every value saltchat derives from it
 * (docs/PROTOCOL.md section 3). Sans-I/O, libsodium and shared/mls only.
 *
 *   link    = <base> "#sc2." base64url-nopad(room_id(16) || link_secret(32) || check(4))
 *   check   = BLAKE2b(4, no key, "saltchat/v2 invite" || room_id || link_secret)
 *   KDF(n, id) = crypto_kdf_derive_from_key(n, id, "sclink02", link_secret)
 *   join_seed = KDF(32, 1) -> crypto_sign_seed_keypair -> join_pk, join_sk (Ed25519)
 *   gi_key    = KDF(32, 2)
 *   auth proof: sig = Ed25519(join_sk, "saltchat/v2 auth" || room_id || nonce(32))
 *   gi_box  = nonce(24) || crypto_secretbox_easy(gi_key, nonce, epoch:u64 || GroupInfo)
 *   rotation: link_secret' = MLS-Exporter("saltchat v2 link", room_id, 32) of the epoch
 *             the removing commit starts; room_id stays
 *
 * The MLS group_id of a room is its room_id (16 bytes); sc2_link_gibox_open checks it.
 *
 * Randomness comes from an mls_rng (NULL: libsodium's randombytes_buf).
 *
 * Secrets (link_secret, join_sk, gi_key, the seed) are wiped on every path inside these
 * functions; buffers the caller passes in stay the caller's to wipe. Functions return 0
 * (or a length) on success and a negative SC2_LINK_E_* on failure.
 */
#ifndef SC2_LINK_H
#define SC2_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "mls_group.h"
#include "mls_rng.h"

#define SC2_ROOM_ID_BYTES 16u
#define SC2_LINK_SECRET_BYTES 32u
#define SC2_LINK_JOIN_PK_BYTES 32u
#define SC2_JOIN_SK_BYTES 64u   /* libsodium's Ed25519 secret key (seed || pk) */
#define SC2_GI_KEY_BYTES 32u
#define SC2_AUTH_NONCE_BYTES 32u
#define SC2_AUTH_SIG_BYTES 64u
#define SC2_LINK_CODE_CHARS 70u    /* base64url-nopad of 52 bytes */
#define SC2_ROOM_ID_CHARS 22u      /* base64url-nopad of 16 bytes, without NUL */
/* Every base, link and WebSocket URL handled fits in this many bytes with its NUL. */
#define SC2_LINK_MAX_URL 1024u
/* gi_box = nonce(24) || MAC(16) || epoch(8) || GroupInfo */
#define SC2_GIBOX_OVERHEAD 48u
#define SC2_GIBOX_MAX_GI (4u * 1024u * 1024u - SC2_GIBOX_OVERHEAD) /* relay_store's bound */
#define SC2_LINK_EXPORTER_LABEL "saltchat v2 link"

#define SC2_LINK_E_URL (-1)         /* base is not an http(s)/ws(s) URL with a host */
#define SC2_LINK_E_NO_FRAGMENT (-2) /* link has no '#...' part */
#define SC2_LINK_E_NOT_SALTCHAT (-3) /* the fragment is not "sc<n>.<code>" */
#define SC2_LINK_E_OLD_VERSION (-4) /* "#sc1.": a link for an older saltchat */
#define SC2_LINK_E_NEW_VERSION (-5) /* "#sc3." or later: a link for a newer saltchat */
#define SC2_LINK_E_ENCODING (-6)    /* code is not base64url */
#define SC2_LINK_E_LENGTH (-7)      /* code has the wrong length: cut off or extended */
#define SC2_LINK_E_CHECK (-8)       /* check bytes do not match: mistyped link */
#define SC2_LINK_E_SPACE (-9)       /* output buffer too small */
#define SC2_LINK_E_PROOF (-10)      /* auth signature does not verify */
#define SC2_LINK_E_BOX (-11)        /* gi_box does not open (wrong link, or forged/corrupt) */
#define SC2_LINK_E_GROUPINFO (-12)  /* opened, but not an MLS GroupInfo of suite 3 for
                                       this room_id */
#define SC2_LINK_E_EPOCH (-13)      /* opened, but its epoch differs from the GroupInfo's */
#define SC2_LINK_E_ARG (-14)        /* invalid argument (empty or oversized GroupInfo) */
#define SC2_LINK_E_MLS (-15)        /* the MLS exporter failed (the group was removed) */

/* Returns a static message for an SC2_LINK_E_* value that tells the user what to do. */
const char *sc2_link_strerror(int err);

/* Draws a new room: room_id (16 random bytes) and link_secret (32). */
void sc2_link_new_room(mls_rng *rng, uint8_t room_id[SC2_ROOM_ID_BYTES],
                       uint8_t link_secret[SC2_LINK_SECRET_BYTES]);

/*
 * Writes the link for (room_id, link_secret) at base (http://, https://, ws:// or wss://
 * URL; ws becomes http, wss https; a missing trailing '/' is added; a fragment or query
 * is SC2_LINK_E_URL) into out[cap] with a NUL. Returns the link length or
 * SC2_LINK_E_URL / SC2_LINK_E_SPACE.
 */
int sc2_link_format(const char *base, const uint8_t room_id[SC2_ROOM_ID_BYTES],
                    const uint8_t link_secret[SC2_LINK_SECRET_BYTES], char *out, size_t cap);

/*
 * Parses a link (surrounding whitespace ignored). On success returns 0 and writes
 * room_id, link_secret and, if base_out is not NULL, the http(s) base (ending in '/')
 * into base_out[base_cap]. On failure returns SC2_LINK_E_* (checked in this order: no
 * fragment, not saltchat, old/new version, encoding, length, check, URL, space) and
 * writes nothing.
 */
int sc2_link_parse(const char *link, uint8_t room_id[SC2_ROOM_ID_BYTES],
                   uint8_t link_secret[SC2_LINK_SECRET_BYTES], char *base_out,
                   size_t base_cap);

/* Writes base64url-nopad(room_id) and a NUL (the room's name in URLs and logs). */
void sc2_link_room_id_text(const uint8_t room_id[SC2_ROOM_ID_BYTES],
                           char out[SC2_ROOM_ID_CHARS + 1]);

/* Writes ws(s)://host[:port]/path/room/<room id text> for base. Returns its length or
 * SC2_LINK_E_URL / SC2_LINK_E_SPACE. */
int sc2_link_ws_url(const char *base, const uint8_t room_id[SC2_ROOM_ID_BYTES], char *out,
                    size_t cap);

/* join_pk / join_sk (either may be NULL) from link_secret. */
void sc2_link_join_keypair(const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                           uint8_t join_pk[SC2_LINK_JOIN_PK_BYTES],
                           uint8_t join_sk[SC2_JOIN_SK_BYTES]);

/* gi_key from link_secret. */
void sc2_link_gi_key(const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                     uint8_t gi_key[SC2_GI_KEY_BYTES]);

/*
 * The auth proof for a CHALLENGE nonce: writes join_pk (may be NULL) and
 * sig = Ed25519(join_sk, "saltchat/v2 auth" || room_id || nonce), what AUTH and CREATE
 * carry. Deterministic (Ed25519).
 */
void sc2_link_auth_sign(const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                        const uint8_t room_id[SC2_ROOM_ID_BYTES],
                        const uint8_t nonce[SC2_AUTH_NONCE_BYTES],
                        uint8_t join_pk[SC2_LINK_JOIN_PK_BYTES], uint8_t sig[SC2_AUTH_SIG_BYTES]);

/* The relay's check of an auth proof against a join_pk it stores. Returns 0 or
 * SC2_LINK_E_PROOF. */
int sc2_link_auth_verify(const uint8_t join_pk[SC2_LINK_JOIN_PK_BYTES],
                         const uint8_t room_id[SC2_ROOM_ID_BYTES],
                         const uint8_t nonce[SC2_AUTH_NONCE_BYTES],
                         const uint8_t sig[SC2_AUTH_SIG_BYTES]);

/* Size of the gi_box of a GroupInfo of gi_len bytes: gi_len + SC2_GIBOX_OVERHEAD. */
size_t sc2_link_gibox_size(size_t gi_len);

/*
 * Seals gi (an MLSMessage(GroupInfo), 1..SC2_GIBOX_MAX_GI bytes) of epoch under the
 * gi_key of link_secret, with a 24-byte nonce drawn from rng, into out[0..cap). The
 * GroupInfo is not parsed here (the caller made it with mls_group_group_info). Returns
 * the box length (sc2_link_gibox_size(gi_len)), SC2_LINK_E_ARG or SC2_LINK_E_SPACE.
 */
int sc2_link_gibox_seal(const uint8_t link_secret[SC2_LINK_SECRET_BYTES], uint64_t epoch,
                   const uint8_t *gi, size_t gi_len, mls_rng *rng, uint8_t *out, size_t cap);

/*
 * Opens a gi_box and checks what is inside: an MLSMessage (version mls10) of wire format
 * group_info whose GroupContext has version mls10, cipher suite 3, group_id == room_id,
 * and an epoch equal to the boxed epoch. gi_out[0..cap) is the work area and needs
 * cap >= box_len - 40 (the GroupInfo plus 8 bytes; box_len bytes are always enough). On
 * success the GroupInfo is at gi_out[0..*gi_len) (*gi_len = box_len - 48), *epoch is
 * set, and 0 is returned. Errors: SC2_LINK_E_BOX (too short, or the MAC fails: wrong
 * link, forged or corrupt), SC2_LINK_E_GROUPINFO, SC2_LINK_E_EPOCH, SC2_LINK_E_SPACE.
 * gi_out is wiped on error. The caller compares *epoch with what it expects (a GroupInfo
 * older than an epoch it saw is a stale one: docs/PROTOCOL.md section 8.8).
 */
int sc2_link_gibox_open(const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                   const uint8_t room_id[SC2_ROOM_ID_BYTES], const uint8_t *box,
                   size_t box_len, uint8_t *gi_out, size_t cap, size_t *gi_len,
                   uint64_t *epoch);

/*
 * Link rotation: the new link_secret of the epoch g is in now (call it after the removing
 * commit was merged or processed), MLS-Exporter("saltchat v2 link", room_id, 32).
 * Returns 0 or SC2_LINK_E_MLS (g was removed). With it: sc2_link_join_keypair gives the
 * join_pk the commit's SUBMIT and LOG carry.
 */
int sc2_link_rotate(const mls_group *g, const uint8_t room_id[SC2_ROOM_ID_BYTES],
                    uint8_t new_link_secret[SC2_LINK_SECRET_BYTES]);

/* Sizes as functions, for callers that cannot see macros (WebAssembly). */
size_t sc2_link_secret_bytes(void);
size_t sc2_link_room_id_bytes(void);
size_t sc2_link_max_url(void);

#endif
