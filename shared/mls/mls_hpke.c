#include "mls_hpke.h"

#include <string.h>

#include <sodium.h>

#include "mls_codec.h"
#include "mls_err.h"

/* RFC 9180 suite identifiers: KEM 0x0020, KDF 0x0001, AEAD 0x0003. */
static const uint8_t KEM_SUITE[5] = { 'K', 'E', 'M', 0x00, 0x20 };
static const uint8_t HPKE_SUITE[10] = { 'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03 };
static const uint8_t HPKE_V1[7] = { 'H', 'P', 'K', 'E', '-', 'v', '1' };
#define MAX_PARTS 8

/* What SetupBase leaves: the AEAD key, its base nonce (seq 0) and the exporter secret. */
typedef struct hpke_ctx {
    uint8_t key[MLS_AEAD_KEY_LEN];
    uint8_t nonce[MLS_AEAD_NONCE_LEN];
    uint8_t exp[MLS_HASH_LEN];
} hpke_ctx;

static mls_slice str_slice(const char *s)
{
    mls_slice v = { (const uint8_t *)s, strlen(s) };
    return v;
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite || label || ikm). */
static void labeled_extract(const uint8_t *suite, size_t suite_len, const uint8_t *salt,
                            size_t salt_len, const char *label, const mls_slice *ikm,
                            size_t n_ikm, uint8_t prk[MLS_HASH_LEN])
{
    mls_slice parts[MAX_PARTS + 3] = { { HPKE_V1, sizeof HPKE_V1 }, { suite, suite_len },
                                       str_slice(label) };
    for (size_t i = 0; i < n_ikm; i++)
        parts[3 + i] = ikm[i];
    mls_hkdf_extract_v(salt, salt_len, parts, 3 + n_ikm, prk);
}

/* LabeledExpand(prk, label, info, L) =
 *   Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite || label || info, L). */
static int labeled_expand(const uint8_t *suite, size_t suite_len, const uint8_t *prk,
                          const char *label, const mls_slice *info, size_t n_info,
                          uint8_t *out, size_t out_len)
{
    if (out_len > 0xffff)
        return MLS_E_INVALID;
    uint8_t len16[2] = { (uint8_t)(out_len >> 8), (uint8_t)out_len };
    mls_slice parts[MAX_PARTS + 4] = { { len16, 2 }, { HPKE_V1, sizeof HPKE_V1 },
                                       { suite, suite_len }, str_slice(label) };
    for (size_t i = 0; i < n_info; i++)
        parts[4 + i] = info[i];
    return mls_hkdf_expand_v(prk, MLS_HASH_LEN, parts, 4 + n_info, out, out_len);
}

int mls_hpke_derive_keypair(const uint8_t *ikm, size_t ikm_len, uint8_t sk[MLS_KEM_SK_LEN],
                            uint8_t pk[MLS_KEM_PK_LEN])
{
    uint8_t prk[MLS_HASH_LEN];
    mls_slice in = { ikm, ikm_len };
    int rc;
    labeled_extract(KEM_SUITE, sizeof KEM_SUITE, NULL, 0, "dkp_prk", &in, 1, prk);
    rc = labeled_expand(KEM_SUITE, sizeof KEM_SUITE, prk, "sk", NULL, 0, sk, MLS_KEM_SK_LEN);
    if (rc)
        goto fail;
    rc = mls_hpke_pub_from_priv(sk, pk);
fail:
    if (rc)
        sodium_memzero(sk, MLS_KEM_SK_LEN);
    sodium_memzero(prk, sizeof prk);
    return rc;
}

int mls_hpke_pub_from_priv(const uint8_t sk[MLS_KEM_SK_LEN], uint8_t pk[MLS_KEM_PK_LEN])
{
    if (crypto_scalarmult_base(pk, sk) != 0)
        return MLS_E_CRYPTO;
    return 0;
}

int mls_hpke_keygen(mls_rng *rng, uint8_t sk[MLS_KEM_SK_LEN], uint8_t pk[MLS_KEM_PK_LEN])
{
    uint8_t ikm[32];
    mls_rng_fill(rng, ikm, sizeof ikm);
    int rc = mls_hpke_derive_keypair(ikm, sizeof ikm, sk, pk);
    sodium_memzero(ikm, sizeof ikm);
    return rc;
}

/* DH(sk, pk), refusing an all-zero result (pk of small order). */
static int dh(const uint8_t sk[MLS_KEM_SK_LEN], const uint8_t pk[MLS_KEM_PK_LEN],
              uint8_t out[32])
{
    if (crypto_scalarmult(out, sk, pk) != 0 || sodium_is_zero(out, 32)) {
        sodium_memzero(out, 32);
        return MLS_E_CRYPTO;
    }
    return 0;
}

/* ExtractAndExpand(dh, enc || pkR) of DHKEM. */
static int kem_shared_secret(const uint8_t dhv[32], const uint8_t enc[MLS_KEM_ENC_LEN],
                             const uint8_t pk_r[MLS_KEM_PK_LEN], uint8_t ss[MLS_HASH_LEN])
{
    uint8_t prk[MLS_HASH_LEN];
    mls_slice in = { dhv, 32 };
    mls_slice kem_ctx[2] = { { enc, MLS_KEM_ENC_LEN }, { pk_r, MLS_KEM_PK_LEN } };
    labeled_extract(KEM_SUITE, sizeof KEM_SUITE, NULL, 0, "eae_prk", &in, 1, prk);
    int rc = labeled_expand(KEM_SUITE, sizeof KEM_SUITE, prk, "shared_secret", kem_ctx, 2, ss,
                            MLS_HASH_LEN);
    sodium_memzero(prk, sizeof prk);
    return rc;
}

/* KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = ""). */
static int key_schedule(const uint8_t ss[MLS_HASH_LEN], const mls_slice *info, size_t n_info,
                        hpke_ctx *c)
{
    uint8_t ksc[1 + 2 * MLS_HASH_LEN];
    uint8_t secret[MLS_HASH_LEN];
    mls_slice ksc_part = { ksc, sizeof ksc };
    int rc;
    ksc[0] = 0x00; /* mode_base */
    labeled_extract(HPKE_SUITE, sizeof HPKE_SUITE, NULL, 0, "psk_id_hash", NULL, 0, ksc + 1);
    labeled_extract(HPKE_SUITE, sizeof HPKE_SUITE, NULL, 0, "info_hash", info, n_info,
                    ksc + 1 + MLS_HASH_LEN);
    /* secret = LabeledExtract(shared_secret, "secret", psk = "") */
    labeled_extract(HPKE_SUITE, sizeof HPKE_SUITE, ss, MLS_HASH_LEN, "secret", NULL, 0, secret);
    rc = labeled_expand(HPKE_SUITE, sizeof HPKE_SUITE, secret, "key", &ksc_part, 1, c->key,
                        sizeof c->key);
    if (rc)
        goto fail;
    rc = labeled_expand(HPKE_SUITE, sizeof HPKE_SUITE, secret, "base_nonce", &ksc_part, 1,
                        c->nonce, sizeof c->nonce);
    if (rc)
        goto fail;
    rc = labeled_expand(HPKE_SUITE, sizeof HPKE_SUITE, secret, "exp", &ksc_part, 1, c->exp,
                        sizeof c->exp);
fail:
    sodium_memzero(secret, sizeof secret);
    if (rc)
        sodium_memzero(c, sizeof *c);
    return rc;
}

/* SetupBaseS with the ephemeral key derived from ikm_e. */
static int setup_s(const uint8_t pk_r[MLS_KEM_PK_LEN], const uint8_t *ikm_e, size_t ikm_e_len,
                   const mls_slice *info, size_t n_info, uint8_t enc[MLS_KEM_ENC_LEN],
                   hpke_ctx *c)
{
    uint8_t sk_e[MLS_KEM_SK_LEN], dhv[32], ss[MLS_HASH_LEN];
    int rc = mls_hpke_derive_keypair(ikm_e, ikm_e_len, sk_e, enc);
    if (rc)
        goto fail;
    rc = dh(sk_e, pk_r, dhv);
    if (rc)
        goto fail;
    rc = kem_shared_secret(dhv, enc, pk_r, ss);
    if (rc)
        goto fail;
    rc = key_schedule(ss, info, n_info, c);
fail:
    sodium_memzero(sk_e, sizeof sk_e);
    sodium_memzero(dhv, sizeof dhv);
    sodium_memzero(ss, sizeof ss);
    return rc;
}

static int setup_r(const uint8_t sk_r[MLS_KEM_SK_LEN], const uint8_t enc[MLS_KEM_ENC_LEN],
                   const mls_slice *info, size_t n_info, hpke_ctx *c)
{
    uint8_t pk_r[MLS_KEM_PK_LEN], dhv[32], ss[MLS_HASH_LEN];
    int rc = dh(sk_r, enc, dhv);
    if (rc)
        goto fail;
    rc = mls_hpke_pub_from_priv(sk_r, pk_r);
    if (rc)
        goto fail;
    rc = kem_shared_secret(dhv, enc, pk_r, ss);
    if (rc)
        goto fail;
    rc = key_schedule(ss, info, n_info, c);
fail:
    sodium_memzero(dhv, sizeof dhv);
    sodium_memzero(ss, sizeof ss);
    return rc;
}

static int seal_v(const uint8_t pk_r[MLS_KEM_PK_LEN], const uint8_t *ikm_e, size_t ikm_e_len,
                  const mls_slice *info, size_t n_info, const uint8_t *aad, size_t aad_len,
                  const uint8_t *pt, size_t pt_len, uint8_t enc[MLS_KEM_ENC_LEN], uint8_t *ct)
{
    hpke_ctx c;
    int rc = setup_s(pk_r, ikm_e, ikm_e_len, info, n_info, enc, &c);
    if (rc)
        goto fail;
    rc = mls_aead_seal(c.key, c.nonce, aad, aad_len, pt, pt_len, ct);
fail:
    sodium_memzero(&c, sizeof c);
    return rc;
}

static int seal_rng_v(const uint8_t pk_r[MLS_KEM_PK_LEN], const mls_slice *info, size_t n_info,
                      const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                      mls_rng *rng, uint8_t enc[MLS_KEM_ENC_LEN], uint8_t *ct)
{
    uint8_t ikm[32];
    mls_rng_fill(rng, ikm, sizeof ikm);
    int rc = seal_v(pk_r, ikm, sizeof ikm, info, n_info, aad, aad_len, pt, pt_len, enc, ct);
    sodium_memzero(ikm, sizeof ikm);
    return rc;
}

static int open_v(const uint8_t sk_r[MLS_KEM_SK_LEN], const uint8_t enc[MLS_KEM_ENC_LEN],
                  const mls_slice *info, size_t n_info, const uint8_t *aad, size_t aad_len,
                  const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
    hpke_ctx c;
    int rc;
    if (ct_len < MLS_AEAD_TAG_LEN)
        return MLS_E_DECODE;
    rc = setup_r(sk_r, enc, info, n_info, &c);
    if (rc)
        goto fail;
    rc = mls_aead_open(c.key, c.nonce, aad, aad_len, ct, ct_len, pt);
fail:
    sodium_memzero(&c, sizeof c);
    return rc;
}

int mls_hpke_seal_base(const uint8_t pk_r[MLS_KEM_PK_LEN], const uint8_t *info,
                       size_t info_len, const uint8_t *aad, size_t aad_len,
                       const uint8_t *pt, size_t pt_len, mls_rng *rng,
                       uint8_t enc[MLS_KEM_ENC_LEN], uint8_t *ct)
{
    mls_slice in = { info, info_len };
    return seal_rng_v(pk_r, &in, 1, aad, aad_len, pt, pt_len, rng, enc, ct);
}

int mls_hpke_seal_base_eph(const uint8_t pk_r[MLS_KEM_PK_LEN], const uint8_t *ikm_e,
                           size_t ikm_e_len, const uint8_t *info, size_t info_len,
                           const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                           size_t pt_len, uint8_t enc[MLS_KEM_ENC_LEN], uint8_t *ct)
{
    mls_slice in = { info, info_len };
    return seal_v(pk_r, ikm_e, ikm_e_len, &in, 1, aad, aad_len, pt, pt_len, enc, ct);
}

int mls_hpke_open_base(const uint8_t sk_r[MLS_KEM_SK_LEN], const uint8_t enc[MLS_KEM_ENC_LEN],
                       const uint8_t *info, size_t info_len, const uint8_t *aad,
                       size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
    mls_slice in = { info, info_len };
    return open_v(sk_r, enc, &in, 1, aad, aad_len, ct, ct_len, pt);
}

/* Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L) */
static int export_from(const hpke_ctx *c, const uint8_t *exp_ctx, size_t exp_ctx_len,
                       uint8_t *out, size_t out_len)
{
    mls_slice in = { exp_ctx, exp_ctx_len };
    if (out_len > 255u * MLS_HASH_LEN)
        return MLS_E_INVALID;
    return labeled_expand(HPKE_SUITE, sizeof HPKE_SUITE, c->exp, "sec", &in, 1, out, out_len);
}

int mls_hpke_export_sender(const uint8_t pk_r[MLS_KEM_PK_LEN], const uint8_t *info,
                           size_t info_len, const uint8_t *exp_ctx, size_t exp_ctx_len,
                           mls_rng *rng, uint8_t enc[MLS_KEM_ENC_LEN], uint8_t *out,
                           size_t out_len)
{
    hpke_ctx c;
    uint8_t ikm[32];
    mls_slice in = { info, info_len };
    int rc;
    if (out_len > 255u * MLS_HASH_LEN)
        return MLS_E_INVALID;
    mls_rng_fill(rng, ikm, sizeof ikm);
    rc = setup_s(pk_r, ikm, sizeof ikm, &in, 1, enc, &c);
    if (rc)
        goto fail;
    rc = export_from(&c, exp_ctx, exp_ctx_len, out, out_len);
fail:
    sodium_memzero(ikm, sizeof ikm);
    sodium_memzero(&c, sizeof c);
    return rc;
}

int mls_hpke_export_receiver(const uint8_t sk_r[MLS_KEM_SK_LEN],
                             const uint8_t enc[MLS_KEM_ENC_LEN], const uint8_t *info,
                             size_t info_len, const uint8_t *exp_ctx, size_t exp_ctx_len,
                             uint8_t *out, size_t out_len)
{
    hpke_ctx c;
    mls_slice in = { info, info_len };
    int rc;
    if (out_len > 255u * MLS_HASH_LEN)
        return MLS_E_INVALID;
    rc = setup_r(sk_r, enc, &in, 1, &c);
    if (rc)
        goto fail;
    rc = export_from(&c, exp_ctx, exp_ctx_len, out, out_len);
fail:
    sodium_memzero(&c, sizeof c);
    return rc;
}

/* EncryptContext { opaque label<V> = "MLS 1.0 " + label; opaque context<V>; } as five
 * pieces of info (hdr and label prefix kept in the caller's buffers). */
static int encrypt_context(const char *label, const uint8_t *ctx, size_t ctx_len,
                           uint8_t lbl_hdr[4], uint8_t ctx_hdr[4], mls_slice info[5])
{
    static const char prefix[] = "MLS 1.0 ";
    if (!label)
        return MLS_E_INVALID;
    size_t n = strlen(label);
    if (n > MLS_MAX_LABEL - (sizeof prefix - 1) || ctx_len > MLS_VARINT_MAX)
        return MLS_E_INVALID;
    size_t lbl_len = sizeof prefix - 1 + n;
    /* varints of lengths below 2^30 */
    size_t lh = lbl_len < 64 ? 1 : 2;
    if (lh == 1)
        lbl_hdr[0] = (uint8_t)lbl_len;
    else {
        lbl_hdr[0] = (uint8_t)(0x40 | (lbl_len >> 8));
        lbl_hdr[1] = (uint8_t)lbl_len;
    }
    size_t ch;
    if (ctx_len < 64) {
        ch = 1;
        ctx_hdr[0] = (uint8_t)ctx_len;
    } else if (ctx_len < 16384) {
        ch = 2;
        ctx_hdr[0] = (uint8_t)(0x40 | (ctx_len >> 8));
        ctx_hdr[1] = (uint8_t)ctx_len;
    } else {
        ch = 4;
        ctx_hdr[0] = (uint8_t)(0x80 | (ctx_len >> 24));
        ctx_hdr[1] = (uint8_t)(ctx_len >> 16);
        ctx_hdr[2] = (uint8_t)(ctx_len >> 8);
        ctx_hdr[3] = (uint8_t)ctx_len;
    }
    info[0].p = lbl_hdr;
    info[0].len = lh;
    info[1].p = (const uint8_t *)prefix;
    info[1].len = sizeof prefix - 1;
    info[2].p = (const uint8_t *)label;
    info[2].len = n;
    info[3].p = ctx_hdr;
    info[3].len = ch;
    info[4].p = ctx;
    info[4].len = ctx_len;
    return 0;
}

int mls_encrypt_with_label(const uint8_t pk[MLS_KEM_PK_LEN], const char *label,
                           const uint8_t *ctx, size_t ctx_len, const uint8_t *pt,
                           size_t pt_len, mls_rng *rng, uint8_t kem_output[MLS_KEM_ENC_LEN],
                           uint8_t *ct)
{
    uint8_t lh[4], ch[4];
    mls_slice info[5];
    int rc = encrypt_context(label, ctx, ctx_len, lh, ch, info);
    if (rc)
        return rc;
    return seal_rng_v(pk, info, 5, NULL, 0, pt, pt_len, rng, kem_output, ct);
}

int mls_decrypt_with_label(const uint8_t sk[MLS_KEM_SK_LEN], const char *label,
                           const uint8_t *ctx, size_t ctx_len,
                           const uint8_t kem_output[MLS_KEM_ENC_LEN], const uint8_t *ct,
                           size_t ct_len, uint8_t *pt)
{
    uint8_t lh[4], ch[4];
    mls_slice info[5];
    int rc = encrypt_context(label, ctx, ctx_len, lh, ch, info);
    if (rc)
        return rc;
    return open_v(sk, kem_output, info, 5, NULL, 0, ct, ct_len, pt);
}
