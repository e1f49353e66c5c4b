#include "mls_groupinfo.h"

#include <string.h>

#include "mls_objutil.h"

/* ---- GroupContext ------------------------------------------------------------------ */

void mls_group_context_free(mls_group_context *gc)
{
    if (!gc)
        return;
    mls_bytes_free(&gc->group_id);
    mls_bytes_free(&gc->tree_hash);
    mls_bytes_free(&gc->confirmed_transcript_hash);
    mls_extension_list_free(&gc->extensions);
    memset(gc, 0, sizeof *gc);
}

int mls_group_context_decode(mls_rd *r, mls_group_context *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = mls_rd_u16(r, &out->version)))
        goto fail;
    if (out->version != MLS_PROTOCOL_VERSION) {
        rc = MLS_E_UNSUPPORTED;
        goto fail;
    }
    if ((rc = mls_rd_u16(r, &out->cipher_suite)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->group_id)))
        goto fail;
    if ((rc = mls_rd_u64(r, &out->epoch)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->tree_hash)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->confirmed_transcript_hash)))
        goto fail;
    if ((rc = mls_extension_list_decode(r, &out->extensions)))
        goto fail;
    return 0;
fail:
    mls_group_context_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(group_context)

int mls_group_context_encode(mls_buf *b, const mls_group_context *gc)
{
    if (gc->version != MLS_PROTOCOL_VERSION)
        return MLS_E_INVALID;
    mls_w_u16(b, gc->version);
    mls_w_u16(b, gc->cipher_suite);
    mls_w_opaque(b, gc->group_id.p, gc->group_id.len);
    mls_w_u64(b, gc->epoch);
    mls_w_opaque(b, gc->tree_hash.p, gc->tree_hash.len);
    mls_w_opaque(b, gc->confirmed_transcript_hash.p, gc->confirmed_transcript_hash.len);
    return mls_extension_list_encode(b, &gc->extensions);
}

MLS_OU_COPY(group_context)

/* ---- GroupInfo --------------------------------------------------------------------- */

void mls_group_info_free(mls_group_info *gi)
{
    if (!gi)
        return;
    mls_group_context_free(&gi->group_context);
    mls_extension_list_free(&gi->extensions);
    mls_bytes_free(&gi->confirmation_tag);
    mls_bytes_free(&gi->signature);
    memset(gi, 0, sizeof *gi);
}

int mls_group_info_decode(mls_rd *r, mls_group_info *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = mls_group_context_decode(r, &out->group_context)))
        goto fail;
    if ((rc = mls_extension_list_decode(r, &out->extensions)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->confirmation_tag)))
        goto fail;
    if ((rc = mls_rd_u32(r, &out->signer)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->signature)))
        goto fail;
    return 0;
fail:
    mls_group_info_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(group_info)

int mls_group_info_tbs_encode(mls_buf *b, const mls_group_info *gi)
{
    int rc = mls_group_context_encode(b, &gi->group_context);
    if (rc == 0)
        rc = mls_extension_list_encode(b, &gi->extensions);
    if (rc)
        return rc;
    mls_w_opaque(b, gi->confirmation_tag.p, gi->confirmation_tag.len);
    mls_w_u32(b, gi->signer);
    return mls_buf_status(b);
}

int mls_group_info_encode(mls_buf *b, const mls_group_info *gi)
{
    int rc = mls_group_info_tbs_encode(b, gi);
    if (rc)
        return rc;
    mls_w_opaque(b, gi->signature.p, gi->signature.len);
    return mls_buf_status(b);
}

MLS_OU_COPY(group_info)

int mls_group_info_sign(mls_group_info *gi, const uint8_t seed[MLS_SIG_SEED_LEN])
{
    mls_buf tbs = { 0 };
    uint8_t sig[MLS_SIG_LEN];
    int rc = mls_group_info_tbs_encode(&tbs, gi);
    if (rc == 0)
        rc = mls_sign_with_label(seed, "GroupInfoTBS", tbs.p, tbs.len, sig);
    if (rc == 0)
        rc = mls_bytes_set(&gi->signature, sig, sizeof sig);
    mls_buf_free(&tbs);
    return rc;
}

int mls_group_info_verify(const mls_group_info *gi, const uint8_t *pub, size_t pub_len)
{
    mls_buf tbs = { 0 };
    int rc = mls_group_info_tbs_encode(&tbs, gi);
    if (rc == 0)
        rc = mls_verify_with_label(pub, pub_len, "GroupInfoTBS", tbs.p, tbs.len,
                                   gi->signature.p, gi->signature.len);
    mls_buf_free(&tbs);
    if (rc == MLS_E_INVALID)
        rc = MLS_E_SIGNATURE;
    return rc;
}

/* ---- GroupSecrets ------------------------------------------------------------------ */

void mls_group_secrets_free(mls_group_secrets *gs)
{
    if (!gs)
        return;
    mls_bytes_free(&gs->joiner_secret);
    mls_bytes_free(&gs->path_secret);
    for (size_t i = 0; i < gs->n_psks; i++)
        mls_psk_id_free(&gs->psks[i]);
    mls_free(gs->psks, gs->n_psks * sizeof *gs->psks);
    memset(gs, 0, sizeof *gs);
}

int mls_group_secrets_decode(mls_rd *r, mls_group_secrets *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    size_t cap = 0;
    int rc;
    if ((rc = mls_rd_opaque_copy(r, &out->joiner_secret)))
        goto fail;
    if ((rc = mls_rd_optional(r, &out->has_path_secret)))
        goto fail;
    if (out->has_path_secret && (rc = mls_rd_opaque_copy(r, &out->path_secret)))
        goto fail;
    if ((rc = mls_rd_vector(r, &sub)))
        goto fail;
    while (mls_rd_left(&sub)) {
        rc = mls_ou_grow(&out->psks, out->n_psks, &cap, sizeof *out->psks,
                         MLS_MAX_LIST_ITEMS);
        if (rc)
            goto fail;
        if ((rc = mls_psk_id_decode(&sub, &out->psks[out->n_psks])))
            goto fail;
        out->n_psks++;
    }
    return 0;
fail:
    mls_group_secrets_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(group_secrets)

int mls_group_secrets_encode(mls_buf *b, const mls_group_secrets *gs)
{
    int rc;
    mls_w_opaque(b, gs->joiner_secret.p, gs->joiner_secret.len);
    mls_w_optional(b, gs->has_path_secret);
    if (gs->has_path_secret)
        mls_w_opaque(b, gs->path_secret.p, gs->path_secret.len);
    size_t m = mls_w_vec_begin(b);
    for (size_t i = 0; i < gs->n_psks; i++)
        if ((rc = mls_psk_id_encode(b, &gs->psks[i])))
            return rc;
    mls_w_vec_end(b, m);
    return mls_buf_status(b);
}

/* ---- EncryptedGroupSecrets, Welcome ------------------------------------------------ */

void mls_encrypted_group_secrets_free(mls_encrypted_group_secrets *e)
{
    if (!e)
        return;
    mls_bytes_free(&e->new_member);
    mls_hpke_ciphertext_free(&e->encrypted_group_secrets);
}

int mls_encrypted_group_secrets_decode(mls_rd *r, mls_encrypted_group_secrets *out)
{
    memset(out, 0, sizeof *out);
    int rc = mls_rd_opaque_copy(r, &out->new_member);
    if (rc == 0)
        rc = mls_hpke_ciphertext_decode(r, &out->encrypted_group_secrets);
    if (rc)
        mls_encrypted_group_secrets_free(out);
    return rc;
}

int mls_encrypted_group_secrets_encode(mls_buf *b, const mls_encrypted_group_secrets *e)
{
    mls_w_opaque(b, e->new_member.p, e->new_member.len);
    return mls_hpke_ciphertext_encode(b, &e->encrypted_group_secrets);
}

void mls_welcome_free(mls_welcome *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_secrets; i++)
        mls_encrypted_group_secrets_free(&w->secrets[i]);
    mls_free(w->secrets, w->n_secrets * sizeof *w->secrets);
    mls_bytes_free(&w->encrypted_group_info);
    memset(w, 0, sizeof *w);
}

int mls_welcome_decode(mls_rd *r, mls_welcome *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    size_t cap = 0;
    int rc;
    if ((rc = mls_rd_u16(r, &out->cipher_suite)))
        goto fail;
    if ((rc = mls_rd_vector(r, &sub)))
        goto fail;
    while (mls_rd_left(&sub)) {
        rc = mls_ou_grow(&out->secrets, out->n_secrets, &cap, sizeof *out->secrets,
                         MLS_MAX_LIST_ITEMS);
        if (rc)
            goto fail;
        if ((rc = mls_encrypted_group_secrets_decode(&sub, &out->secrets[out->n_secrets])))
            goto fail;
        out->n_secrets++;
    }
    if ((rc = mls_rd_opaque_copy(r, &out->encrypted_group_info)))
        goto fail;
    return 0;
fail:
    mls_welcome_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(welcome)

int mls_welcome_encode(mls_buf *b, const mls_welcome *w)
{
    mls_w_u16(b, w->cipher_suite);
    size_t m = mls_w_vec_begin(b);
    for (size_t i = 0; i < w->n_secrets; i++)
        (void)mls_encrypted_group_secrets_encode(b, &w->secrets[i]);
    mls_w_vec_end(b, m);
    mls_w_opaque(b, w->encrypted_group_info.p, w->encrypted_group_info.len);
    return mls_buf_status(b);
}

const mls_encrypted_group_secrets *mls_welcome_find(const mls_welcome *w, const uint8_t *ref,
                                                    size_t ref_len)
{
    for (size_t i = 0; i < w->n_secrets; i++)
        if (mls_bytes_eq(w->secrets[i].new_member.p, w->secrets[i].new_member.len, ref,
                         ref_len))
            return &w->secrets[i];
    return NULL;
}
