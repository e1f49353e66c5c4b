/*
 * mls_welcome: the cryptography of the Welcome message (RFC 9420 12.4.3.1), both sides,
 * without the ratchet tree (mls_group joins with it):
 *   joiner:    find our EncryptedGroupSecrets, HPKE-open the GroupSecrets with the
 *              KeyPackage's init private key, chain the PSKs it names, open the
 *              GroupInfo with the welcome key, then (mls_welcome_epoch) derive the
 *              epoch secrets from the joiner_secret and check the confirmation tag;
 *   committer: seal the GroupSecrets to each new member's init_key and the signed
 *              GroupInfo with the welcome key.
 * Unless said otherwise: 0 on success, a negative mls_err; outputs are overwritten and
 * zeroed (freed) on error.
 */
#ifndef MLS_WELCOME_H
#define MLS_WELCOME_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_groupinfo.h"
#include "mls_keypackage.h"
#include "mls_keysched.h"
#include "mls_psk.h"
#include "mls_rng.h"

/* Finds the value of a PSK: sets *psk / *psk_len to bytes that stay valid until the
 * caller's call returns. 0, or MLS_E_PSK if the PSK is unknown. */
typedef int (*mls_psk_lookup_fn)(void *ctx, const mls_psk_id *id, const uint8_t **psk,
                                 size_t *psk_len);

/* psk_secret of ids[0..n) with values from lookup (NULL lookup: every PSK unknown).
 * Checks each id (mls_psk_id_check) and, if allow_special is 0, that none is a
 * resumption PSK of usage reinit or branch; with allow_special, at most one such.
 * MLS_E_PSK for a bad or unknown PSK. */
int mls_welcome_psk_secret(const mls_psk_id *ids, size_t n, int allow_special,
                           mls_psk_lookup_fn lookup, void *lctx,
                           uint8_t psk_secret[MLS_HASH_LEN]);

/* Joiner: opens w for the KeyPackage whose reference is kp_ref, with its init private
 * key. Writes the GroupSecrets, the psk_secret and the decrypted (not yet verified)
 * GroupInfo. Errors: MLS_E_UNSUPPORTED (cipher suite), MLS_E_NOT_FOUND (no entry for
 * kp_ref), MLS_E_WRONG_KEY (the secrets do not open with init_priv), MLS_E_DECODE,
 * MLS_E_PSK, MLS_E_CRYPTO (the GroupInfo does not open). */
int mls_welcome_open(const mls_welcome *w, const uint8_t kp_ref[MLS_HASH_LEN],
                     const uint8_t init_priv[MLS_KEM_SK_LEN], mls_psk_lookup_fn lookup,
                     void *lctx, mls_group_secrets *gs, uint8_t psk_secret[MLS_HASH_LEN],
                     mls_group_info *gi);

/* Joiner: the epoch secrets of gi's epoch from gs->joiner_secret and psk_secret, and
 * the check of gi->confirmation_tag (MLS_E_CONFIRMATION_TAG). */
int mls_welcome_epoch(const mls_group_secrets *gs, const uint8_t psk_secret[MLS_HASH_LEN],
                      const mls_group_info *gi, mls_epoch_secrets *es);

/* Committer: appends to w->secrets an entry for kp (reference kp_ref) holding gs sealed
 * to kp's init_key; w->encrypted_group_info must be set first (it is the HPKE
 * context). */
int mls_welcome_add_member(mls_welcome *w, const mls_key_package *kp,
                           const uint8_t kp_ref[MLS_HASH_LEN], const mls_group_secrets *gs,
                           mls_rng *rng);

/* Committer: encrypts the (signed) gi with the key and nonce from welcome_secret into
 * w->encrypted_group_info and sets w->cipher_suite. */
int mls_welcome_seal_group_info(mls_welcome *w, const mls_group_info *gi,
                                const uint8_t welcome_secret[MLS_HASH_LEN]);

#endif
