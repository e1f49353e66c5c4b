#include "mls_welcome.h"

#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_commit.h"
#include "mls_err.h"
#include "mls_hpke.h"

int mls_welcome_psk_secret(const mls_psk_id *ids, size_t n, int allow_special,
                           mls_psk_lookup_fn lookup, void *lctx,
                           uint8_t psk_secret[MLS_HASH_LEN])
{
    mls_psk_input *in = NULL;
    size_t n_special = 0;
    int rc;

    memset(psk_secret, 0, MLS_HASH_LEN);
    if (n == 0)
        return 0;
    if (n > 65535)
        return MLS_E_PSK;
    in = mls_alloc_array(n, sizeof *in);
    if (!in)
        return MLS_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        rc = mls_psk_id_check(&ids[i]);
        if (rc)
            goto fail;
        if (ids[i].psktype == MLS_PSK_RESUMPTION &&
            ids[i].usage != MLS_PSK_USAGE_APPLICATION) {
            n_special++;
            if (!allow_special || n_special > 1) {
                rc = MLS_E_PSK;
                goto fail;
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (mls_psk_id_eq(&ids[i], &ids[j])) {
                rc = MLS_E_PSK;
                goto fail;
            }
        }
        if (!lookup) {
            rc = MLS_E_PSK;
            goto fail;
        }
        in[i].id = &ids[i];
        rc = lookup(lctx, &ids[i], &in[i].psk, &in[i].psk_len);
        if (rc)
            goto fail;
    }
    rc = mls_psk_secret(in, n, psk_secret);
fail:
    mls_free(in, n * sizeof *in);
    if (rc)
        sodium_memzero(psk_secret, MLS_HASH_LEN);
    return rc;
}

int mls_welcome_open(const mls_welcome *w, const uint8_t kp_ref[MLS_HASH_LEN],
                     const uint8_t init_priv[MLS_KEM_SK_LEN], mls_psk_lookup_fn lookup,
                     void *lctx, mls_group_secrets *gs, uint8_t psk_secret[MLS_HASH_LEN],
                     mls_group_info *gi)
{
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    uint8_t welcome_secret[MLS_HASH_LEN], key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    int rc;

    memset(gs, 0, sizeof *gs);
    memset(gi, 0, sizeof *gi);
    memset(psk_secret, 0, MLS_HASH_LEN);
    if (w->cipher_suite != MLS_CIPHER_SUITE)
        return MLS_E_UNSUPPORTED;
    const mls_encrypted_group_secrets *e = mls_welcome_find(w, kp_ref, MLS_HASH_LEN);
    if (!e)
        return MLS_E_NOT_FOUND;
    const mls_hpke_ciphertext *c = &e->encrypted_group_secrets;
    if (c->kem_output.len != MLS_KEM_ENC_LEN || c->ciphertext.len < MLS_AEAD_TAG_LEN)
        return MLS_E_DECODE;
    pt_len = c->ciphertext.len - MLS_AEAD_TAG_LEN;
    pt = mls_alloc(pt_len);
    if (!pt)
        return MLS_E_NOMEM;
    rc = mls_decrypt_with_label(init_priv, "Welcome", w->encrypted_group_info.p,
                                w->encrypted_group_info.len, c->kem_output.p,
                                c->ciphertext.p, c->ciphertext.len, pt);
    if (rc) {
        rc = rc == MLS_E_CRYPTO ? MLS_E_WRONG_KEY : rc;
        goto fail;
    }
    rc = mls_group_secrets_decode_all(pt, pt_len, gs);
    if (rc)
        goto fail;
    mls_free(pt, pt_len);
    pt = NULL;
    if (gs->joiner_secret.len != MLS_HASH_LEN ||
        (gs->has_path_secret && gs->path_secret.len != MLS_HASH_LEN)) {
        rc = MLS_E_DECODE;
        goto fail;
    }
    rc = mls_welcome_psk_secret(gs->psks, gs->n_psks, 1, lookup, lctx, psk_secret);
    if (rc)
        goto fail;
    rc = mls_keysched_welcome_secret(gs->joiner_secret.p, psk_secret, welcome_secret);
    if (rc)
        goto fail;
    rc = mls_keysched_welcome_key(welcome_secret, key, nonce);
    if (rc)
        goto fail;
    if (w->encrypted_group_info.len < MLS_AEAD_TAG_LEN) {
        rc = MLS_E_DECODE;
        goto fail;
    }
    pt_len = w->encrypted_group_info.len - MLS_AEAD_TAG_LEN;
    pt = mls_alloc(pt_len);
    if (!pt) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    rc = mls_aead_open(key, nonce, NULL, 0, w->encrypted_group_info.p,
                       w->encrypted_group_info.len, pt);
    if (rc)
        goto fail;
    rc = mls_group_info_decode_all(pt, pt_len, gi);
fail:
    mls_free(pt, pt_len);
    sodium_memzero(welcome_secret, sizeof welcome_secret);
    sodium_memzero(key, sizeof key);
    sodium_memzero(nonce, sizeof nonce);
    if (rc) {
        mls_group_secrets_free(gs);
        mls_group_info_free(gi);
        sodium_memzero(psk_secret, MLS_HASH_LEN);
    }
    return rc;
}

int mls_welcome_epoch(const mls_group_secrets *gs, const uint8_t psk_secret[MLS_HASH_LEN],
                      const mls_group_info *gi, mls_epoch_secrets *es)
{
    mls_buf gc = { 0 };
    int rc;

    memset(es, 0, sizeof *es);
    if (gs->joiner_secret.len != MLS_HASH_LEN)
        return MLS_E_DECODE;
    rc = mls_group_context_encode(&gc, &gi->group_context);
    if (rc)
        goto fail;
    rc = mls_keysched_from_joiner(gs->joiner_secret.p, psk_secret, gc.p, gc.len, es);
    if (rc)
        goto fail;
    rc = mls_keysched_verify_confirmation_tag(
        es, gi->group_context.confirmed_transcript_hash.p,
        gi->group_context.confirmed_transcript_hash.len, gi->confirmation_tag.p,
        gi->confirmation_tag.len);
fail:
    mls_buf_free(&gc);
    if (rc)
        mls_epoch_secrets_wipe(es);
    return rc;
}

int mls_welcome_add_member(mls_welcome *w, const mls_key_package *kp,
                           const uint8_t kp_ref[MLS_HASH_LEN], const mls_group_secrets *gs,
                           mls_rng *rng)
{
    mls_buf pt = { 0 };
    mls_encrypted_group_secrets e;
    int rc;

    memset(&e, 0, sizeof e);
    if (kp->init_key.len != MLS_KEM_PK_LEN)
        return MLS_E_KEY_PACKAGE;
    rc = mls_group_secrets_encode(&pt, gs);
    if (rc)
        goto fail;
    rc = mls_bytes_set(&e.new_member, kp_ref, MLS_HASH_LEN);
    if (rc)
        goto fail;
    e.encrypted_group_secrets.kem_output.p = mls_alloc(MLS_KEM_ENC_LEN);
    e.encrypted_group_secrets.ciphertext.p = mls_alloc(pt.len + MLS_AEAD_TAG_LEN);
    if (!e.encrypted_group_secrets.kem_output.p || !e.encrypted_group_secrets.ciphertext.p) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    e.encrypted_group_secrets.kem_output.len = MLS_KEM_ENC_LEN;
    e.encrypted_group_secrets.ciphertext.len = pt.len + MLS_AEAD_TAG_LEN;
    rc = mls_encrypt_with_label(kp->init_key.p, "Welcome", w->encrypted_group_info.p,
                                w->encrypted_group_info.len, pt.p, pt.len, rng,
                                e.encrypted_group_secrets.kem_output.p,
                                e.encrypted_group_secrets.ciphertext.p);
    if (rc)
        goto fail;
    mls_encrypted_group_secrets *ns =
        mls_realloc(w->secrets, w->n_secrets * sizeof *ns, (w->n_secrets + 1) * sizeof *ns);
    if (!ns) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    w->secrets = ns;
    w->secrets[w->n_secrets++] = e;
    memset(&e, 0, sizeof e);
fail:
    mls_buf_free(&pt);
    mls_encrypted_group_secrets_free(&e);
    return rc;
}

int mls_welcome_seal_group_info(mls_welcome *w, const mls_group_info *gi,
                                const uint8_t welcome_secret[MLS_HASH_LEN])
{
    mls_buf pt = { 0 };
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    uint8_t *ct = NULL;
    int rc;

    rc = mls_group_info_encode(&pt, gi);
    if (rc)
        goto fail;
    rc = mls_keysched_welcome_key(welcome_secret, key, nonce);
    if (rc)
        goto fail;
    ct = mls_alloc(pt.len + MLS_AEAD_TAG_LEN);
    if (!ct) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    rc = mls_aead_seal(key, nonce, NULL, 0, pt.p, pt.len, ct);
    if (rc)
        goto fail;
    mls_bytes_free(&w->encrypted_group_info);
    w->encrypted_group_info.p = ct;
    w->encrypted_group_info.len = pt.len + MLS_AEAD_TAG_LEN;
    w->cipher_suite = MLS_CIPHER_SUITE;
    ct = NULL;
fail:
    if (ct)
        mls_free(ct, pt.len + MLS_AEAD_TAG_LEN);
    mls_buf_free(&pt);
    sodium_memzero(key, sizeof key);
    sodium_memzero(nonce, sizeof nonce);
    return rc;
}
