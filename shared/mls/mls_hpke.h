/*
 * mls_hpke: RFC 9180 base mode with DHKEM(X25519, HKDF-SHA256) (kem_id 0x0020),
 * HKDF-SHA256 (kdf_id 0x0001) and ChaCha20Poly1305 (aead_id 0x0003), single-shot, plus
 * the secret export MLS uses for external init, and RFC 9420's EncryptWithLabel.
 *
 * Public keys, private keys and encapsulations are 32 bytes (MLS_KEM_*). DH results that
 * are all zero (a low-order peer key) fail with MLS_E_CRYPTO. All intermediate secrets
 * are wiped. Unless said otherwise: 0 on success, a negative mls_err.
 */
#ifndef MLS_HPKE_H
#define MLS_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "mls_crypto.h"
#include "mls_rng.h"

/* DeriveKeyPair(ikm) of DHKEM(X25519, HKDF-SHA256), RFC 9180 7.1.3. */
int mls_hpke_derive_keypair(const uint8_t *ikm, size_t ikm_len, uint8_t sk[MLS_KEM_SK_LEN],
                            uint8_t pk[MLS_KEM_PK_LEN]);
/* The public key of a private key. */
int mls_hpke_pub_from_priv(const uint8_t sk[MLS_KEM_SK_LEN], uint8_t pk[MLS_KEM_PK_LEN]);
/* A fresh key pair (DeriveKeyPair of 32 bytes from rng). */
int mls_hpke_keygen(mls_rng *rng, uint8_t sk[MLS_KEM_SK_LEN], uint8_t pk[MLS_KEM_PK_LEN]);

/* SealBase(pkR, info, aad, pt): enc and ct (pt_len + MLS_AEAD_TAG_LEN bytes). The
 * ephemeral key comes from rng; mls_hpke_seal_base_eph takes it as ikm (for vectors). */
int mls_hpke_seal_base(const uint8_t pk_r[MLS_KEM_PK_LEN], const uint8_t *info,
                       size_t info_len, const uint8_t *aad, size_t aad_len,
                       const uint8_t *pt, size_t pt_len, mls_rng *rng,
                       uint8_t enc[MLS_KEM_ENC_LEN], uint8_t *ct);
int mls_hpke_seal_base_eph(const uint8_t pk_r[MLS_KEM_PK_LEN], const uint8_t *ikm_e,
                           size_t ikm_e_len, const uint8_t *info, size_t info_len,
                           const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                           size_t pt_len, uint8_t enc[MLS_KEM_ENC_LEN], uint8_t *ct);
/* OpenBase(enc, skR, info, aad, ct): pt gets ct_len - MLS_AEAD_TAG_LEN bytes.
 * MLS_E_CRYPTO if decryption fails, MLS_E_DECODE if ct is shorter than a tag. */
int mls_hpke_open_base(const uint8_t sk_r[MLS_KEM_SK_LEN], const uint8_t enc[MLS_KEM_ENC_LEN],
                       const uint8_t *info, size_t info_len, const uint8_t *aad,
                       size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* SetupBaseS(pkR, info) then Export(exporter_context, out_len): the sender side (enc
 * is written) and the receiver side (SetupBaseR with skR and enc). */
int mls_hpke_export_sender(const uint8_t pk_r[MLS_KEM_PK_LEN], const uint8_t *info,
                           size_t info_len, const uint8_t *exp_ctx, size_t exp_ctx_len,
                           mls_rng *rng, uint8_t enc[MLS_KEM_ENC_LEN], uint8_t *out,
                           size_t out_len);
int mls_hpke_export_receiver(const uint8_t sk_r[MLS_KEM_SK_LEN],
                             const uint8_t enc[MLS_KEM_ENC_LEN], const uint8_t *info,
                             size_t info_len, const uint8_t *exp_ctx, size_t exp_ctx_len,
                             uint8_t *out, size_t out_len);

/* EncryptWithLabel(pk, label, context, pt) of RFC 9420 5.1.3: SealBase with
 * info = EncryptContext{"MLS 1.0 " + label, context} and empty aad. */
int mls_encrypt_with_label(const uint8_t pk[MLS_KEM_PK_LEN], const char *label,
                           const uint8_t *ctx, size_t ctx_len, const uint8_t *pt,
                           size_t pt_len, mls_rng *rng, uint8_t kem_output[MLS_KEM_ENC_LEN],
                           uint8_t *ct);
int mls_decrypt_with_label(const uint8_t sk[MLS_KEM_SK_LEN], const char *label,
                           const uint8_t *ctx, size_t ctx_len,
                           const uint8_t kem_output[MLS_KEM_ENC_LEN], const uint8_t *ct,
                           size_t ct_len, uint8_t *pt);

#endif
