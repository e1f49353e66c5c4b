/*
 * mls_crypto: cipher suite 3, MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519, on
 * libsodium, and the labelled helpers of RFC 9420 section 5 built on it.
 *
 *   Hash      SHA-256 (crypto_hash_sha256)            Nh = 32
 *   KDF       HKDF-SHA256 (crypto_auth_hmacsha256)     Kdf.Nh = 32
 *   AEAD      ChaCha20-Poly1305 IETF                   Nk = 32, Nn = 12, tag 16
 *   Signature Ed25519 (crypto_sign_*), keys kept as their 32-byte seed (as on the wire
 *             in the test vectors); verification rejects non-canonical encodings
 *   KEM       DHKEM(X25519, HKDF-SHA256): see mls_hpke.h
 *
 * Every function takes caller-owned buffers of the sizes below and wipes its own
 * intermediate secrets. Labels are C strings without the "MLS 1.0 " prefix, which the
 * functions add. Unless said otherwise: 0 on success, a negative mls_err.
 */
#ifndef MLS_CRYPTO_H
#define MLS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_rng.h"

#define MLS_CIPHER_SUITE 3u
#define MLS_PROTOCOL_VERSION 1u /* mls10 */

#define MLS_HASH_LEN 32u       /* Nh, also KDF.Nh: every secret in the key schedule */
#define MLS_AEAD_KEY_LEN 32u
#define MLS_AEAD_NONCE_LEN 12u
#define MLS_AEAD_TAG_LEN 16u
#define MLS_SIG_SEED_LEN 32u   /* Ed25519 private key as MLS carries it */
#define MLS_SIG_PUB_LEN 32u
#define MLS_SIG_LEN 64u
#define MLS_KEM_SK_LEN 32u
#define MLS_KEM_PK_LEN 32u
#define MLS_KEM_ENC_LEN 32u
#define MLS_MAX_LABEL 255u     /* bytes of "MLS 1.0 " + label */

/* SHA-256 of in. */
void mls_hash(const uint8_t *in, size_t n, uint8_t out[MLS_HASH_LEN]);

/* HKDF-Extract(salt, ikm). salt may be NULL with salt_len 0 (then Nh zero bytes). */
void mls_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                      size_t ikm_len, uint8_t prk[MLS_HASH_LEN]);
/* HKDF-Expand(prk, info, out_len). MLS_E_INVALID if out_len > 255 * Nh. */
int mls_hkdf_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info,
                    size_t info_len, uint8_t *out, size_t out_len);

/* The same over inputs given in pieces (concatenated in order, never copied): ikm for
 * Extract, info for Expand. n_parts may be 0; a part may have len 0 (p then unused). */
void mls_hkdf_extract_v(const uint8_t *salt, size_t salt_len, const mls_slice *ikm,
                        size_t n_parts, uint8_t prk[MLS_HASH_LEN]);
int mls_hkdf_expand_v(const uint8_t *prk, size_t prk_len, const mls_slice *info,
                      size_t n_parts, uint8_t *out, size_t out_len);

/* ExpandWithLabel(secret, label, context, length): KDF.Expand with a KDFLabel of
 * "MLS 1.0 " + label. MLS_E_INVALID for a label that does not fit or length > 65535. */
int mls_expand_with_label(const uint8_t *secret, size_t secret_len, const char *label,
                          const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_len);
/* DeriveSecret(secret, label) = ExpandWithLabel(secret, label, "", Nh). */
int mls_derive_secret(const uint8_t *secret, size_t secret_len, const char *label,
                      uint8_t out[MLS_HASH_LEN]);
/* DeriveTreeSecret(secret, label, generation, length). */
int mls_derive_tree_secret(const uint8_t *secret, size_t secret_len, const char *label,
                           uint32_t generation, uint8_t *out, size_t out_len);

/* RefHash(label, value) = Hash(RefHashInput{label, value}); label used as given
 * (e.g. "MLS 1.0 KeyPackage Reference"). */
int mls_ref_hash(const char *label, const uint8_t *value, size_t n,
                 uint8_t out[MLS_HASH_LEN]);

/* Ed25519 key pair from a 32-byte seed, or a fresh one from rng. */
void mls_sig_pub_from_seed(const uint8_t seed[MLS_SIG_SEED_LEN],
                           uint8_t pub[MLS_SIG_PUB_LEN]);
void mls_sig_keygen(mls_rng *rng, uint8_t seed[MLS_SIG_SEED_LEN], uint8_t pub[MLS_SIG_PUB_LEN]);
/* SignWithLabel(key, label, content): Ed25519 over SignContent{"MLS 1.0 " + label,
 * content}. */
int mls_sign_with_label(const uint8_t seed[MLS_SIG_SEED_LEN], const char *label,
                        const uint8_t *content, size_t n, uint8_t sig[MLS_SIG_LEN]);
/* VerifyWithLabel: 0 if sig is valid, MLS_E_SIGNATURE if not (including a signature or
 * key of the wrong length or a non-canonical encoding). */
int mls_verify_with_label(const uint8_t *pub, size_t pub_len, const char *label,
                          const uint8_t *content, size_t n, const uint8_t *sig,
                          size_t sig_len);

/* AEAD seal: ct gets pt_len + MLS_AEAD_TAG_LEN bytes. ct may equal pt. */
int mls_aead_seal(const uint8_t key[MLS_AEAD_KEY_LEN], const uint8_t nonce[MLS_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                  uint8_t *ct);
/* AEAD open: pt gets ct_len - MLS_AEAD_TAG_LEN bytes; MLS_E_CRYPTO if the tag fails
 * (pt is then zeroed), MLS_E_DECODE if ct_len < tag. pt may equal ct. */
int mls_aead_open(const uint8_t key[MLS_AEAD_KEY_LEN], const uint8_t nonce[MLS_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                  uint8_t *pt);

/* MAC(key, data) = HMAC-SHA256 (membership tag, confirmation tag). */
void mls_mac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
             uint8_t out[MLS_HASH_LEN]);

#endif
