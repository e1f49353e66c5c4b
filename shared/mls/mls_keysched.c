#include "mls_keysched.h"

#include <string.h>

#include <sodium.h>

#include "mls_codec.h"
#include "mls_err.h"
#include "mls_hpke.h"

static const uint8_t zero_secret[MLS_HASH_LEN];

void mls_epoch_secrets_wipe(mls_epoch_secrets *s)
{
    if (s != NULL)
        sodium_memzero(s, sizeof *s);
}

void mls_keysched_forget_joiner(mls_epoch_secrets *s)
{
    sodium_memzero(s->joiner_secret, sizeof s->joiner_secret);
    sodium_memzero(s->welcome_secret, sizeof s->welcome_secret);
    s->have_joiner = 0;
}

/* member = Extract(salt = joiner_secret, ikm = psk_secret or 0). */
static void member_secret(const uint8_t joiner[MLS_HASH_LEN], const uint8_t *psk_secret,
                          uint8_t member[MLS_HASH_LEN])
{
    mls_hkdf_extract(joiner, MLS_HASH_LEN, psk_secret ? psk_secret : zero_secret,
                     MLS_HASH_LEN, member);
}

int mls_keysched_welcome_secret(const uint8_t joiner_secret[MLS_HASH_LEN],
                                const uint8_t *psk_secret,
                                uint8_t welcome_secret[MLS_HASH_LEN])
{
    uint8_t member[MLS_HASH_LEN];
    int rc;

    member_secret(joiner_secret, psk_secret, member);
    rc = mls_derive_secret(member, sizeof member, "welcome", welcome_secret);
    sodium_memzero(member, sizeof member);
    return rc;
}

int mls_keysched_from_joiner(const uint8_t joiner_secret[MLS_HASH_LEN],
                             const uint8_t *psk_secret, const uint8_t *group_context,
                             size_t gc_len, mls_epoch_secrets *out)
{
    static const struct {
        const char *label;
        size_t off;
    } derived[] = {
        {"sender data", offsetof(mls_epoch_secrets, sender_data_secret)},
        {"encryption", offsetof(mls_epoch_secrets, encryption_secret)},
        {"exporter", offsetof(mls_epoch_secrets, exporter_secret)},
        {"external", offsetof(mls_epoch_secrets, external_secret)},
        {"confirm", offsetof(mls_epoch_secrets, confirmation_key)},
        {"membership", offsetof(mls_epoch_secrets, membership_key)},
        {"resumption", offsetof(mls_epoch_secrets, resumption_psk)},
        {"authentication", offsetof(mls_epoch_secrets, epoch_authenticator)},
        {"init", offsetof(mls_epoch_secrets, init_secret)},
    };
    uint8_t member[MLS_HASH_LEN];
    uint8_t epoch[MLS_HASH_LEN];
    uint8_t joiner[MLS_HASH_LEN];
    size_t i;
    int rc;

    /* The inputs may point into *out (e.g. the previous epoch's secrets): use them
     * before *out is cleared. */
    memcpy(joiner, joiner_secret, sizeof joiner);
    member_secret(joiner, psk_secret, member);
    sodium_memzero(out, sizeof *out);
    memcpy(out->joiner_secret, joiner, sizeof joiner);
    if ((rc = mls_derive_secret(member, sizeof member, "welcome", out->welcome_secret)) != 0)
        goto fail;
    rc = mls_expand_with_label(member, sizeof member, "epoch", group_context, gc_len, epoch,
                               sizeof epoch);
    if (rc != 0)
        goto fail;
    for (i = 0; i < sizeof derived / sizeof derived[0]; i++) {
        rc = mls_derive_secret(epoch, sizeof epoch, derived[i].label,
                               (uint8_t *)out + derived[i].off);
        if (rc != 0)
            goto fail;
    }
    out->have_joiner = 1;
    goto done;
fail:
    sodium_memzero(out, sizeof *out);
done:
    sodium_memzero(member, sizeof member);
    sodium_memzero(epoch, sizeof epoch);
    sodium_memzero(joiner, sizeof joiner);
    return rc;
}

int mls_keysched_from_init(const uint8_t init_secret[MLS_HASH_LEN],
                           const uint8_t *commit_secret, const uint8_t *psk_secret,
                           const uint8_t *group_context, size_t gc_len,
                           mls_epoch_secrets *out)
{
    uint8_t prk[MLS_HASH_LEN];
    uint8_t joiner[MLS_HASH_LEN];
    int rc;

    mls_hkdf_extract(init_secret, MLS_HASH_LEN, commit_secret ? commit_secret : zero_secret,
                     MLS_HASH_LEN, prk);
    rc = mls_expand_with_label(prk, sizeof prk, "joiner", group_context, gc_len, joiner,
                               sizeof joiner);
    if (rc == 0)
        rc = mls_keysched_from_joiner(joiner, psk_secret, group_context, gc_len, out);
    else
        sodium_memzero(out, sizeof *out);
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(joiner, sizeof joiner);
    return rc;
}

int mls_keysched_welcome_key(const uint8_t welcome_secret[MLS_HASH_LEN],
                             uint8_t key[MLS_AEAD_KEY_LEN],
                             uint8_t nonce[MLS_AEAD_NONCE_LEN])
{
    int rc;

    rc = mls_expand_with_label(welcome_secret, MLS_HASH_LEN, "key", NULL, 0, key,
                               MLS_AEAD_KEY_LEN);
    if (rc == 0)
        rc = mls_expand_with_label(welcome_secret, MLS_HASH_LEN, "nonce", NULL, 0, nonce,
                                   MLS_AEAD_NONCE_LEN);
    if (rc != 0) {
        sodium_memzero(key, MLS_AEAD_KEY_LEN);
        sodium_memzero(nonce, MLS_AEAD_NONCE_LEN);
    }
    return rc;
}

/* ExpandWithLabel with a label of arbitrary bytes (mls_expand_with_label takes a C
 * string). */
static int expand_bytes_label(const uint8_t *secret, const uint8_t *label, size_t label_len,
                              const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                              size_t out_len)
{
    static const char prefix[] = "MLS 1.0 ";
    const size_t prefix_len = sizeof prefix - 1;
    mls_buf hdr = {0};
    size_t ctx_mark;
    int rc;

    if (label_len > MLS_MAX_LABEL - prefix_len || out_len > 0xffffu)
        return MLS_E_INVALID;
    /* KDFLabel { uint16 length; opaque label<V>; opaque context<V>; }: the length fields
     * go to hdr, the label and context are hashed in place. */
    mls_w_u16(&hdr, (uint16_t)out_len);
    mls_w_varint(&hdr, prefix_len + label_len);
    ctx_mark = hdr.len;
    mls_w_varint(&hdr, ctx_len);
    if ((rc = mls_buf_status(&hdr)) == 0) {
        mls_slice info[5] = {
            {hdr.p, ctx_mark},
            {(const uint8_t *)prefix, prefix_len},
            {label, label_len},
            {hdr.p + ctx_mark, hdr.len - ctx_mark},
            {ctx, ctx_len},
        };

        rc = mls_hkdf_expand_v(secret, MLS_HASH_LEN, info, 5, out, out_len);
    }
    mls_buf_free(&hdr);
    return rc;
}

int mls_keysched_export(const mls_epoch_secrets *s, const uint8_t *label, size_t label_len,
                        const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_len)
{
    uint8_t derived[MLS_HASH_LEN];
    uint8_t ctx_hash[MLS_HASH_LEN];
    int rc;

    rc = expand_bytes_label(s->exporter_secret, label, label_len, NULL, 0, derived,
                            sizeof derived);
    if (rc == 0) {
        mls_hash(ctx, ctx_len, ctx_hash);
        rc = mls_expand_with_label(derived, sizeof derived, "exported", ctx_hash,
                                   sizeof ctx_hash, out, out_len);
    }
    sodium_memzero(derived, sizeof derived);
    return rc;
}

int mls_keysched_external_keypair(const mls_epoch_secrets *s, uint8_t sk[MLS_KEM_SK_LEN],
                                  uint8_t pk[MLS_KEM_PK_LEN])
{
    return mls_hpke_derive_keypair(s->external_secret, sizeof s->external_secret, sk, pk);
}

#define EXTERNAL_INIT_LABEL "MLS 1.0 external init secret"

int mls_keysched_external_init_sender(const uint8_t external_pub[MLS_KEM_PK_LEN],
                                      mls_rng *rng, uint8_t kem_output[MLS_KEM_ENC_LEN],
                                      uint8_t init_secret[MLS_HASH_LEN])
{
    return mls_hpke_export_sender(external_pub, NULL, 0,
                                  (const uint8_t *)EXTERNAL_INIT_LABEL,
                                  sizeof EXTERNAL_INIT_LABEL - 1, rng, kem_output,
                                  init_secret, MLS_HASH_LEN);
}

int mls_keysched_external_init_receiver(const uint8_t external_priv[MLS_KEM_SK_LEN],
                                        const uint8_t kem_output[MLS_KEM_ENC_LEN],
                                        uint8_t init_secret[MLS_HASH_LEN])
{
    return mls_hpke_export_receiver(external_priv, kem_output, NULL, 0,
                                    (const uint8_t *)EXTERNAL_INIT_LABEL,
                                    sizeof EXTERNAL_INIT_LABEL - 1, init_secret,
                                    MLS_HASH_LEN);
}

void mls_keysched_confirmation_tag(const mls_epoch_secrets *s, const uint8_t *cth,
                                   size_t cth_len, uint8_t tag[MLS_HASH_LEN])
{
    mls_mac(s->confirmation_key, sizeof s->confirmation_key, cth, cth_len, tag);
}

int mls_keysched_verify_confirmation_tag(const mls_epoch_secrets *s, const uint8_t *cth,
                                         size_t cth_len, const uint8_t *tag,
                                         size_t tag_len)
{
    uint8_t want[MLS_HASH_LEN];
    int ok;

    mls_keysched_confirmation_tag(s, cth, cth_len, want);
    ok = tag_len == sizeof want && sodium_memcmp(want, tag, sizeof want) == 0;
    sodium_memzero(want, sizeof want);
    return ok ? 0 : MLS_E_CONFIRMATION_TAG;
}
