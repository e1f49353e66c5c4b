/*
 * mls_keysched: the key schedule of RFC 9420 section 8 for cipher suite 3 (every secret
 * is Nh = 32 bytes).
 *
 *   init_secret[n-1], commit_secret -> Extract -> ExpandWithLabel("joiner", GC[n])
 *     = joiner_secret; psk_secret, joiner -> Extract = member_secret
 *       -> DeriveSecret("welcome") = welcome_secret
 *       -> ExpandWithLabel("epoch", GC[n]) = epoch_secret
 *          -> DeriveSecret(label) = the epoch secrets below; "init" = init_secret[n]
 *
 * GC[n] is the serialized GroupContext of the new epoch (the caller serializes it;
 * M3's GroupContext codec). The epoch_secret and the intermediate values are
 * wiped as soon as the epoch secrets are derived; joiner_secret and welcome_secret are
 * kept (a committer needs them for the Welcome) until mls_keysched_forget_joiner.
 *
 * Unless said otherwise: 0 on success, a negative mls_err.
 */
#ifndef MLS_KEYSCHED_H
#define MLS_KEYSCHED_H

#include <stddef.h>
#include <stdint.h>

#include "mls_crypto.h"
#include "mls_rng.h"

typedef struct mls_epoch_secrets {
    uint8_t joiner_secret[MLS_HASH_LEN];
    uint8_t welcome_secret[MLS_HASH_LEN];
    uint8_t sender_data_secret[MLS_HASH_LEN];  /* "sender data" */
    uint8_t encryption_secret[MLS_HASH_LEN];   /* "encryption": the secret tree root */
    uint8_t exporter_secret[MLS_HASH_LEN];     /* "exporter" */
    uint8_t external_secret[MLS_HASH_LEN];     /* "external" */
    uint8_t confirmation_key[MLS_HASH_LEN];    /* "confirm" */
    uint8_t membership_key[MLS_HASH_LEN];      /* "membership" */
    uint8_t resumption_psk[MLS_HASH_LEN];      /* "resumption" */
    uint8_t epoch_authenticator[MLS_HASH_LEN]; /* "authentication" */
    uint8_t init_secret[MLS_HASH_LEN];         /* "init": for the next epoch */
    int have_joiner;                           /* joiner/welcome secrets still held */
} mls_epoch_secrets;

/* Wipes every secret in s (s may be NULL). */
void mls_epoch_secrets_wipe(mls_epoch_secrets *s);

/* Wipes joiner_secret and welcome_secret once the Welcome is built (or not needed). */
void mls_keysched_forget_joiner(mls_epoch_secrets *s);

/* A new epoch from the previous epoch's init_secret (for epoch 0 of a new group: a
 * fresh random init_secret). commit_secret and psk_secret may be NULL for the all-zero
 * value. group_context is the serialized GroupContext of the NEW epoch. *out is
 * overwritten (the secret inputs may point into it, e.g. out's own init_secret); on
 * error it is wiped. Errors: MLS_E_INVALID (gc_len too large for a
 * KDFLabel context). */
int mls_keysched_from_init(const uint8_t init_secret[MLS_HASH_LEN],
                           const uint8_t *commit_secret, const uint8_t *psk_secret,
                           const uint8_t *group_context, size_t gc_len,
                           mls_epoch_secrets *out);

/* A joiner's path: the epoch from the joiner_secret of GroupSecrets, psk_secret (NULL
 * for no PSKs) and the serialized GroupContext of the GroupInfo. */
int mls_keysched_from_joiner(const uint8_t joiner_secret[MLS_HASH_LEN],
                             const uint8_t *psk_secret, const uint8_t *group_context,
                             size_t gc_len, mls_epoch_secrets *out);

/* welcome_key = ExpandWithLabel(welcome_secret, "key", "", Nk) and welcome_nonce =
 * ExpandWithLabel(welcome_secret, "nonce", "", Nn): the AEAD key of the GroupInfo in a
 * Welcome. */
int mls_keysched_welcome_key(const uint8_t welcome_secret[MLS_HASH_LEN],
                             uint8_t key[MLS_AEAD_KEY_LEN],
                             uint8_t nonce[MLS_AEAD_NONCE_LEN]);

/* Derives the welcome_secret from a joiner_secret and psk_secret (NULL: zero) without a
 * GroupContext: what a joiner needs to open the GroupInfo before it has the context. */
int mls_keysched_welcome_secret(const uint8_t joiner_secret[MLS_HASH_LEN],
                                const uint8_t *psk_secret,
                                uint8_t welcome_secret[MLS_HASH_LEN]);

/* MLS-Exporter(label, context, length) = ExpandWithLabel(DeriveSecret(exporter_secret,
 * label), "exported", Hash(context), length). label is any byte string (label_len bytes,
 * without "MLS 1.0 "; the IANA registry's labels are text, the vectors' are binary).
 * MLS_E_INVALID if "MLS 1.0 " + label is over 255 bytes or out_len > 65535. */
int mls_keysched_export(const mls_epoch_secrets *s, const uint8_t *label, size_t label_len,
                        const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_len);

/* external_priv, external_pub = KEM.DeriveKeyPair(external_secret). */
int mls_keysched_external_keypair(const mls_epoch_secrets *s, uint8_t sk[MLS_KEM_SK_LEN],
                                  uint8_t pk[MLS_KEM_PK_LEN]);

/* External init (RFC 9420 8.3): the joiner's init_secret for the external commit and
 * the kem_output for its ExternalInit proposal, from the group's external_pub ... */
int mls_keysched_external_init_sender(const uint8_t external_pub[MLS_KEM_PK_LEN],
                                      mls_rng *rng, uint8_t kem_output[MLS_KEM_ENC_LEN],
                                      uint8_t init_secret[MLS_HASH_LEN]);
/* ... and the members' side, from external_priv and the proposal's kem_output. */
int mls_keysched_external_init_receiver(const uint8_t external_priv[MLS_KEM_SK_LEN],
                                        const uint8_t kem_output[MLS_KEM_ENC_LEN],
                                        uint8_t init_secret[MLS_HASH_LEN]);

/* confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash). */
void mls_keysched_confirmation_tag(const mls_epoch_secrets *s, const uint8_t *cth,
                                   size_t cth_len, uint8_t tag[MLS_HASH_LEN]);
/* 0 if tag (tag_len bytes) is the confirmation tag of cth, else
 * MLS_E_CONFIRMATION_TAG. Constant time. */
int mls_keysched_verify_confirmation_tag(const mls_epoch_secrets *s, const uint8_t *cth,
                                         size_t cth_len, const uint8_t *tag,
                                         size_t tag_len);

#endif
