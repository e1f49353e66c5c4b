#include "mls_crypto.h"

#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"

/* RFC 9420 section 5: every label carries this prefix. */
static const char LABEL_PREFIX[] = "MLS 1.0 ";
#define LABEL_PREFIX_LEN (sizeof LABEL_PREFIX - 1)

/* Writes the minimal MLS varint of v (<= MLS_VARINT_MAX) into p; returns its length. */
static size_t put_varint(uint8_t p[4], uint32_t v)
{
    if (v < 64) {
        p[0] = (uint8_t)v;
        return 1;
    }
    if (v < 16384) {
        p[0] = (uint8_t)(0x40 | (v >> 8));
        p[1] = (uint8_t)v;
        return 2;
    }
    p[0] = (uint8_t)(0x80 | (v >> 24));
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

/* Length of "MLS 1.0 " + label, or 0 if it does not fit MLS_MAX_LABEL. */
static size_t full_label_len(const char *label)
{
    if (!label)
        return 0;
    size_t n = strlen(label);
    if (n > MLS_MAX_LABEL - LABEL_PREFIX_LEN)
        return 0;
    return LABEL_PREFIX_LEN + n;
}

void mls_hash(const uint8_t *in, size_t n, uint8_t out[MLS_HASH_LEN])
{
    crypto_hash_sha256(out, in, n);
}

void mls_hkdf_extract_v(const uint8_t *salt, size_t salt_len, const mls_slice *ikm,
                        size_t n_parts, uint8_t prk[MLS_HASH_LEN])
{
    static const uint8_t zeros[MLS_HASH_LEN];
    crypto_auth_hmacsha256_state st;
    if (!salt || salt_len == 0) {
        salt = zeros;
        salt_len = sizeof zeros;
    }
    crypto_auth_hmacsha256_init(&st, salt, salt_len);
    for (size_t i = 0; i < n_parts; i++)
        if (ikm[i].len)
            crypto_auth_hmacsha256_update(&st, ikm[i].p, ikm[i].len);
    crypto_auth_hmacsha256_final(&st, prk);
    sodium_memzero(&st, sizeof st);
}

void mls_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                      size_t ikm_len, uint8_t prk[MLS_HASH_LEN])
{
    mls_slice part = { ikm, ikm_len };
    mls_hkdf_extract_v(salt, salt_len, &part, 1, prk);
}

int mls_hkdf_expand_v(const uint8_t *prk, size_t prk_len, const mls_slice *info,
                      size_t n_parts, uint8_t *out, size_t out_len)
{
    if (out_len > 255u * MLS_HASH_LEN)
        return MLS_E_INVALID;
    crypto_auth_hmacsha256_state st;
    uint8_t t[MLS_HASH_LEN];
    size_t done = 0;
    for (uint8_t ctr = 1; done < out_len; ctr++) {
        crypto_auth_hmacsha256_init(&st, prk, prk_len);
        if (ctr > 1)
            crypto_auth_hmacsha256_update(&st, t, sizeof t);
        for (size_t i = 0; i < n_parts; i++)
            if (info[i].len)
                crypto_auth_hmacsha256_update(&st, info[i].p, info[i].len);
        crypto_auth_hmacsha256_update(&st, &ctr, 1);
        crypto_auth_hmacsha256_final(&st, t);
        size_t take = out_len - done < sizeof t ? out_len - done : sizeof t;
        memcpy(out + done, t, take);
        done += take;
    }
    sodium_memzero(&st, sizeof st);
    sodium_memzero(t, sizeof t);
    return 0;
}

int mls_hkdf_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info,
                    size_t info_len, uint8_t *out, size_t out_len)
{
    mls_slice part = { info, info_len };
    return mls_hkdf_expand_v(prk, prk_len, &part, 1, out, out_len);
}

int mls_expand_with_label(const uint8_t *secret, size_t secret_len, const char *label,
                          const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_len)
{
    size_t lbl_len = full_label_len(label);
    if (!lbl_len || out_len > 0xffff || ctx_len > MLS_VARINT_MAX)
        return MLS_E_INVALID;
    /* KDFLabel { uint16 length; opaque label<V>; opaque context<V>; } */
    uint8_t len16[2] = { (uint8_t)(out_len >> 8), (uint8_t)out_len };
    uint8_t lbl_hdr[4], ctx_hdr[4];
    mls_slice info[6] = {
        { len16, 2 },
        { lbl_hdr, put_varint(lbl_hdr, (uint32_t)lbl_len) },
        { (const uint8_t *)LABEL_PREFIX, LABEL_PREFIX_LEN },
        { (const uint8_t *)label, lbl_len - LABEL_PREFIX_LEN },
        { ctx_hdr, put_varint(ctx_hdr, (uint32_t)ctx_len) },
        { ctx, ctx_len },
    };
    return mls_hkdf_expand_v(secret, secret_len, info, 6, out, out_len);
}

int mls_derive_secret(const uint8_t *secret, size_t secret_len, const char *label,
                      uint8_t out[MLS_HASH_LEN])
{
    return mls_expand_with_label(secret, secret_len, label, NULL, 0, out, MLS_HASH_LEN);
}

int mls_derive_tree_secret(const uint8_t *secret, size_t secret_len, const char *label,
                           uint32_t generation, uint8_t *out, size_t out_len)
{
    uint8_t gen[4] = { (uint8_t)(generation >> 24), (uint8_t)(generation >> 16),
                       (uint8_t)(generation >> 8), (uint8_t)generation };
    return mls_expand_with_label(secret, secret_len, label, gen, sizeof gen, out, out_len);
}

int mls_ref_hash(const char *label, const uint8_t *value, size_t n,
                 uint8_t out[MLS_HASH_LEN])
{
    if (!label)
        return MLS_E_INVALID;
    size_t lbl_len = strlen(label);
    if (lbl_len > MLS_VARINT_MAX || n > MLS_VARINT_MAX)
        return MLS_E_INVALID;
    /* RefHashInput { opaque label<V>; opaque value<V>; } */
    crypto_hash_sha256_state st;
    uint8_t hdr[4];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, hdr, put_varint(hdr, (uint32_t)lbl_len));
    crypto_hash_sha256_update(&st, (const uint8_t *)label, lbl_len);
    crypto_hash_sha256_update(&st, hdr, put_varint(hdr, (uint32_t)n));
    if (n)
        crypto_hash_sha256_update(&st, value, n);
    crypto_hash_sha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
    return 0;
}

void mls_sig_pub_from_seed(const uint8_t seed[MLS_SIG_SEED_LEN],
                           uint8_t pub[MLS_SIG_PUB_LEN])
{
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(pub, sk, seed);
    sodium_memzero(sk, sizeof sk);
}

void mls_sig_keygen(mls_rng *rng, uint8_t seed[MLS_SIG_SEED_LEN], uint8_t pub[MLS_SIG_PUB_LEN])
{
    mls_rng_fill(rng, seed, MLS_SIG_SEED_LEN);
    mls_sig_pub_from_seed(seed, pub);
}

/* SignContent { opaque label<V> = "MLS 1.0 " + label; opaque content<V>; } in a new
 * buffer (*out, *out_len; free with mls_free). */
static int sign_content(const char *label, const uint8_t *content, size_t n, uint8_t **out,
                        size_t *out_len)
{
    size_t lbl_len = full_label_len(label);
    if (!lbl_len || n > MLS_VARINT_MAX)
        return MLS_E_INVALID;
    size_t total = 4 + lbl_len + 4 + n;
    uint8_t *p = mls_alloc(total);
    if (!p)
        return MLS_E_NOMEM;
    size_t off = put_varint(p, (uint32_t)lbl_len);
    memcpy(p + off, LABEL_PREFIX, LABEL_PREFIX_LEN);
    memcpy(p + off + LABEL_PREFIX_LEN, label, lbl_len - LABEL_PREFIX_LEN);
    off += lbl_len;
    off += put_varint(p + off, (uint32_t)n);
    if (n)
        memcpy(p + off, content, n);
    off += n;
    *out = p;
    *out_len = off;
    return 0;
}

int mls_sign_with_label(const uint8_t seed[MLS_SIG_SEED_LEN], const char *label,
                        const uint8_t *content, size_t n, uint8_t sig[MLS_SIG_LEN])
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    int rc = sign_content(label, content, n, &msg, &msg_len);
    if (rc)
        goto fail;
    crypto_sign_seed_keypair(pk, sk, seed);
    crypto_sign_detached(sig, NULL, msg, msg_len, sk);
fail:
    sodium_memzero(sk, sizeof sk);
    mls_free(msg, msg_len);
    return rc;
}

/* libsodium 1.0.18's crypto_sign_verify_detached (built without ED25519_COMPAT, as Debian
 * and our wasm build have it; ref10/open.c) rejects, before any curve arithmetic, a
 * non-canonical S (S >= L), an R of small order, and a public key that is non-canonical
 * or of small order. A non-canonical R cannot match: R is compared with the canonical
 * encoding of the recomputed point. So none of these checks is repeated here. */
int mls_verify_with_label(const uint8_t *pub, size_t pub_len, const char *label,
                          const uint8_t *content, size_t n, const uint8_t *sig,
                          size_t sig_len)
{
    if (!pub || !sig || pub_len != MLS_SIG_PUB_LEN || sig_len != MLS_SIG_LEN)
        return MLS_E_SIGNATURE;
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    int rc = sign_content(label, content, n, &msg, &msg_len);
    if (rc)
        return rc == MLS_E_NOMEM ? rc : MLS_E_SIGNATURE;
    if (crypto_sign_verify_detached(sig, msg, msg_len, pub) != 0)
        rc = MLS_E_SIGNATURE;
    mls_free(msg, msg_len);
    return rc;
}

int mls_aead_seal(const uint8_t key[MLS_AEAD_KEY_LEN], const uint8_t nonce[MLS_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                  uint8_t *ct)
{
    if (pt_len > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return MLS_E_INVALID;
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, ct + pt_len, NULL, pt, pt_len, aad,
                                                       aad_len, NULL, nonce, key);
    return 0;
}

int mls_aead_open(const uint8_t key[MLS_AEAD_KEY_LEN], const uint8_t nonce[MLS_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                  uint8_t *pt)
{
    if (ct_len < MLS_AEAD_TAG_LEN)
        return MLS_E_DECODE;
    size_t n = ct_len - MLS_AEAD_TAG_LEN;
    /* Detached: the tag is checked before anything is written to pt. */
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(pt, NULL, ct, n, ct + n, aad,
                                                           aad_len, nonce, key) != 0) {
        if (n)
            sodium_memzero(pt, n);
        return MLS_E_CRYPTO;
    }
    return 0;
}

void mls_mac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
             uint8_t out[MLS_HASH_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    if (n)
        crypto_auth_hmacsha256_update(&st, data, n);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}
