#include "mls_message.h"

#include <string.h>

#include "mls_objutil.h"

static int content_type_ok(uint8_t t)
{
    return t >= MLS_CONTENT_APPLICATION && t <= MLS_CONTENT_COMMIT;
}

/* ---- Sender ------------------------------------------------------------------------ */

int mls_sender_decode(mls_rd *r, mls_sender *out)
{
    memset(out, 0, sizeof *out);
    int rc = mls_rd_u8(r, &out->sender_type);
    if (rc)
        return rc;
    switch (out->sender_type) {
    case MLS_SENDER_MEMBER:
    case MLS_SENDER_EXTERNAL:
        rc = mls_rd_u32(r, &out->index);
        break;
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        break;
    default:
        rc = MLS_E_DECODE;
    }
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int mls_sender_encode(mls_buf *b, const mls_sender *s)
{
    switch (s->sender_type) {
    case MLS_SENDER_MEMBER:
    case MLS_SENDER_EXTERNAL:
        mls_w_u8(b, s->sender_type);
        mls_w_u32(b, s->index);
        break;
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        mls_w_u8(b, s->sender_type);
        break;
    default:
        return MLS_E_INVALID;
    }
    return mls_buf_status(b);
}

/* ---- FramedContent ----------------------------------------------------------------- */

/* The content body selected by content_type (shared by FramedContent and
 * PrivateMessageContent). */
static void body_free(mls_framed_content *fc)
{
    switch (fc->content_type) {
    case MLS_CONTENT_APPLICATION:
        mls_bytes_free(&fc->application_data);
        break;
    case MLS_CONTENT_PROPOSAL:
        mls_proposal_free(&fc->proposal);
        break;
    case MLS_CONTENT_COMMIT:
        mls_commit_free(&fc->commit);
        break;
    default:
        break;
    }
}

static int body_decode(mls_rd *r, uint8_t content_type, mls_framed_content *fc)
{
    int rc;
    switch (content_type) {
    case MLS_CONTENT_APPLICATION:
        rc = mls_rd_opaque_copy(r, &fc->application_data);
        break;
    case MLS_CONTENT_PROPOSAL:
        rc = mls_proposal_decode(r, &fc->proposal);
        break;
    case MLS_CONTENT_COMMIT:
        rc = mls_commit_decode(r, &fc->commit);
        break;
    default:
        return MLS_E_DECODE;
    }
    if (rc == 0)
        fc->content_type = content_type;
    return rc;
}

static int body_encode(mls_buf *b, const mls_framed_content *fc)
{
    switch (fc->content_type) {
    case MLS_CONTENT_APPLICATION:
        mls_w_opaque(b, fc->application_data.p, fc->application_data.len);
        return mls_buf_status(b);
    case MLS_CONTENT_PROPOSAL:
        return mls_proposal_encode(b, &fc->proposal);
    case MLS_CONTENT_COMMIT:
        return mls_commit_encode(b, &fc->commit);
    default:
        return MLS_E_INVALID;
    }
}

void mls_framed_content_free(mls_framed_content *fc)
{
    if (!fc)
        return;
    mls_bytes_free(&fc->group_id);
    mls_bytes_free(&fc->authenticated_data);
    body_free(fc);
    memset(fc, 0, sizeof *fc);
}

int mls_framed_content_decode(mls_rd *r, mls_framed_content *out)
{
    memset(out, 0, sizeof *out);
    uint8_t ct;
    int rc;
    if ((rc = mls_rd_opaque_copy(r, &out->group_id)))
        goto fail;
    if ((rc = mls_rd_u64(r, &out->epoch)))
        goto fail;
    if ((rc = mls_sender_decode(r, &out->sender)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->authenticated_data)))
        goto fail;
    if ((rc = mls_rd_u8(r, &ct)))
        goto fail;
    if ((rc = body_decode(r, ct, out)))
        goto fail;
    return 0;
fail:
    mls_framed_content_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(framed_content)

int mls_framed_content_encode(mls_buf *b, const mls_framed_content *fc)
{
    int rc;
    mls_w_opaque(b, fc->group_id.p, fc->group_id.len);
    mls_w_u64(b, fc->epoch);
    if ((rc = mls_sender_encode(b, &fc->sender)))
        return rc;
    mls_w_opaque(b, fc->authenticated_data.p, fc->authenticated_data.len);
    if (!content_type_ok(fc->content_type))
        return MLS_E_INVALID;
    mls_w_u8(b, fc->content_type);
    return body_encode(b, fc);
}

MLS_OU_COPY(framed_content)

/* ---- FramedContentAuthData, AuthenticatedContent ----------------------------------- */

void mls_framed_content_auth_data_free(mls_framed_content_auth_data *a)
{
    if (!a)
        return;
    mls_bytes_free(&a->signature);
    mls_bytes_free(&a->confirmation_tag);
}

int mls_framed_content_auth_data_decode(mls_rd *r, uint8_t content_type,
                                        mls_framed_content_auth_data *out)
{
    memset(out, 0, sizeof *out);
    if (!content_type_ok(content_type))
        return MLS_E_DECODE;
    int rc = mls_rd_opaque_copy(r, &out->signature);
    if (rc == 0 && content_type == MLS_CONTENT_COMMIT)
        rc = mls_rd_opaque_copy(r, &out->confirmation_tag);
    if (rc)
        mls_framed_content_auth_data_free(out);
    return rc;
}

int mls_framed_content_auth_data_encode(mls_buf *b, uint8_t content_type,
                                        const mls_framed_content_auth_data *a)
{
    if (!content_type_ok(content_type))
        return MLS_E_INVALID;
    mls_w_opaque(b, a->signature.p, a->signature.len);
    if (content_type == MLS_CONTENT_COMMIT)
        mls_w_opaque(b, a->confirmation_tag.p, a->confirmation_tag.len);
    return mls_buf_status(b);
}

static int framed_wire_format_ok(uint16_t wf)
{
    return wf == MLS_WIRE_FORMAT_PUBLIC_MESSAGE || wf == MLS_WIRE_FORMAT_PRIVATE_MESSAGE;
}

void mls_authenticated_content_free(mls_authenticated_content *ac)
{
    if (!ac)
        return;
    mls_framed_content_free(&ac->content);
    mls_framed_content_auth_data_free(&ac->auth);
    memset(ac, 0, sizeof *ac);
}

int mls_authenticated_content_decode(mls_rd *r, mls_authenticated_content *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = mls_rd_u16(r, &out->wire_format)))
        goto fail;
    if (!framed_wire_format_ok(out->wire_format)) {
        rc = MLS_E_UNSUPPORTED;
        goto fail;
    }
    if ((rc = mls_framed_content_decode(r, &out->content)))
        goto fail;
    if ((rc = mls_framed_content_auth_data_decode(r, out->content.content_type, &out->auth)))
        goto fail;
    return 0;
fail:
    mls_authenticated_content_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(authenticated_content)

int mls_authenticated_content_encode_parts(mls_buf *b, uint16_t wire_format,
                                           const mls_framed_content *content,
                                           const mls_framed_content_auth_data *auth)
{
    if (!framed_wire_format_ok(wire_format))
        return MLS_E_INVALID;
    mls_w_u16(b, wire_format);
    int rc = mls_framed_content_encode(b, content);
    if (rc)
        return rc;
    return mls_framed_content_auth_data_encode(b, content->content_type, auth);
}

int mls_authenticated_content_encode(mls_buf *b, const mls_authenticated_content *ac)
{
    return mls_authenticated_content_encode_parts(b, ac->wire_format, &ac->content, &ac->auth);
}

/* ---- PublicMessage, PrivateMessage ------------------------------------------------- */

void mls_public_message_free(mls_public_message *pm)
{
    if (!pm)
        return;
    mls_framed_content_free(&pm->content);
    mls_framed_content_auth_data_free(&pm->auth);
    mls_bytes_free(&pm->membership_tag);
    memset(pm, 0, sizeof *pm);
}

int mls_public_message_decode(mls_rd *r, mls_public_message *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = mls_framed_content_decode(r, &out->content)))
        goto fail;
    if ((rc = mls_framed_content_auth_data_decode(r, out->content.content_type, &out->auth)))
        goto fail;
    if (out->content.sender.sender_type == MLS_SENDER_MEMBER &&
        (rc = mls_rd_opaque_copy(r, &out->membership_tag)))
        goto fail;
    return 0;
fail:
    mls_public_message_free(out);
    return rc;
}

int mls_public_message_encode(mls_buf *b, const mls_public_message *pm)
{
    int rc = mls_framed_content_encode(b, &pm->content);
    if (rc == 0)
        rc = mls_framed_content_auth_data_encode(b, pm->content.content_type, &pm->auth);
    if (rc)
        return rc;
    if (pm->content.sender.sender_type == MLS_SENDER_MEMBER)
        mls_w_opaque(b, pm->membership_tag.p, pm->membership_tag.len);
    return mls_buf_status(b);
}

void mls_private_message_free(mls_private_message *pm)
{
    if (!pm)
        return;
    mls_bytes_free(&pm->group_id);
    mls_bytes_free(&pm->authenticated_data);
    mls_bytes_free(&pm->encrypted_sender_data);
    mls_bytes_free(&pm->ciphertext);
    memset(pm, 0, sizeof *pm);
}

int mls_private_message_decode(mls_rd *r, mls_private_message *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = mls_rd_opaque_copy(r, &out->group_id)))
        goto fail;
    if ((rc = mls_rd_u64(r, &out->epoch)))
        goto fail;
    if ((rc = mls_rd_u8(r, &out->content_type)))
        goto fail;
    if (!content_type_ok(out->content_type)) {
        rc = MLS_E_DECODE;
        goto fail;
    }
    if ((rc = mls_rd_opaque_copy(r, &out->authenticated_data)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->encrypted_sender_data)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->ciphertext)))
        goto fail;
    return 0;
fail:
    mls_private_message_free(out);
    return rc;
}

int mls_private_message_encode(mls_buf *b, const mls_private_message *pm)
{
    if (!content_type_ok(pm->content_type))
        return MLS_E_INVALID;
    mls_w_opaque(b, pm->group_id.p, pm->group_id.len);
    mls_w_u64(b, pm->epoch);
    mls_w_u8(b, pm->content_type);
    mls_w_opaque(b, pm->authenticated_data.p, pm->authenticated_data.len);
    mls_w_opaque(b, pm->encrypted_sender_data.p, pm->encrypted_sender_data.len);
    mls_w_opaque(b, pm->ciphertext.p, pm->ciphertext.len);
    return mls_buf_status(b);
}

/* ---- MLSMessage -------------------------------------------------------------------- */

void mls_message_free(mls_message *m)
{
    if (!m)
        return;
    switch (m->wire_format) {
    case MLS_WIRE_FORMAT_PUBLIC_MESSAGE:
        mls_public_message_free(&m->public_message);
        break;
    case MLS_WIRE_FORMAT_PRIVATE_MESSAGE:
        mls_private_message_free(&m->private_message);
        break;
    case MLS_WIRE_FORMAT_WELCOME:
        mls_welcome_free(&m->welcome);
        break;
    case MLS_WIRE_FORMAT_GROUP_INFO:
        mls_group_info_free(&m->group_info);
        break;
    case MLS_WIRE_FORMAT_KEY_PACKAGE:
        mls_key_package_free(&m->key_package);
        break;
    default:
        break;
    }
    memset(m, 0, sizeof *m);
}

int mls_message_decode(mls_rd *r, mls_message *out)
{
    memset(out, 0, sizeof *out);
    uint16_t version, wf;
    int rc;
    if ((rc = mls_rd_u16(r, &version)))
        return rc;
    if (version != MLS_PROTOCOL_VERSION)
        return MLS_E_UNSUPPORTED;
    if ((rc = mls_rd_u16(r, &wf)))
        return rc;
    switch (wf) {
    case MLS_WIRE_FORMAT_PUBLIC_MESSAGE:
        rc = mls_public_message_decode(r, &out->public_message);
        break;
    case MLS_WIRE_FORMAT_PRIVATE_MESSAGE:
        rc = mls_private_message_decode(r, &out->private_message);
        break;
    case MLS_WIRE_FORMAT_WELCOME:
        rc = mls_welcome_decode(r, &out->welcome);
        break;
    case MLS_WIRE_FORMAT_GROUP_INFO:
        rc = mls_group_info_decode(r, &out->group_info);
        break;
    case MLS_WIRE_FORMAT_KEY_PACKAGE:
        rc = mls_key_package_decode(r, &out->key_package);
        break;
    default:
        rc = MLS_E_UNSUPPORTED;
    }
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->version = version;
    out->wire_format = wf;
    return 0;
}

MLS_OU_DECODE_ALL(message)

int mls_message_encode(mls_buf *b, const mls_message *m)
{
    if (m->version != MLS_PROTOCOL_VERSION)
        return MLS_E_INVALID;
    if (m->wire_format < MLS_WIRE_FORMAT_PUBLIC_MESSAGE ||
        m->wire_format > MLS_WIRE_FORMAT_KEY_PACKAGE)
        return MLS_E_INVALID;
    mls_w_u16(b, m->version);
    mls_w_u16(b, m->wire_format);
    switch (m->wire_format) {
    case MLS_WIRE_FORMAT_PUBLIC_MESSAGE:
        return mls_public_message_encode(b, &m->public_message);
    case MLS_WIRE_FORMAT_PRIVATE_MESSAGE:
        return mls_private_message_encode(b, &m->private_message);
    case MLS_WIRE_FORMAT_WELCOME:
        return mls_welcome_encode(b, &m->welcome);
    case MLS_WIRE_FORMAT_GROUP_INFO:
        return mls_group_info_encode(b, &m->group_info);
    default:
        return mls_key_package_encode(b, &m->key_package);
    }
}

/* ---- signed, MACed, hashed and AEAD encodings -------------------------------------- */

int mls_framed_content_tbs_encode(mls_buf *b, uint16_t wire_format,
                                  const mls_framed_content *content,
                                  const uint8_t *group_context, size_t gc_len)
{
    mls_w_u16(b, MLS_PROTOCOL_VERSION);
    mls_w_u16(b, wire_format);
    int rc = mls_framed_content_encode(b, content);
    if (rc)
        return rc;
    uint8_t st = content->sender.sender_type;
    if (st == MLS_SENDER_MEMBER || st == MLS_SENDER_NEW_MEMBER_COMMIT) {
        if (!group_context)
            return MLS_E_INVALID;
        mls_w_fixed(b, group_context, gc_len);
    }
    return mls_buf_status(b);
}

int mls_authenticated_content_tbm_encode(mls_buf *b, uint16_t wire_format,
                                         const mls_framed_content *content,
                                         const mls_framed_content_auth_data *auth,
                                         const uint8_t *group_context, size_t gc_len)
{
    int rc = mls_framed_content_tbs_encode(b, wire_format, content, group_context, gc_len);
    if (rc)
        return rc;
    return mls_framed_content_auth_data_encode(b, content->content_type, auth);
}

int mls_confirmed_transcript_hash_input_encode(mls_buf *b, uint16_t wire_format,
                                               const mls_framed_content *content,
                                               const uint8_t *signature, size_t sig_len)
{
    if (content->content_type != MLS_CONTENT_COMMIT)
        return MLS_E_INVALID;
    mls_w_u16(b, wire_format);
    int rc = mls_framed_content_encode(b, content);
    if (rc)
        return rc;
    mls_w_opaque(b, signature, sig_len);
    return mls_buf_status(b);
}

int mls_interim_transcript_hash_input_encode(mls_buf *b, const uint8_t *confirmation_tag,
                                             size_t n)
{
    mls_w_opaque(b, confirmation_tag, n);
    return mls_buf_status(b);
}

int mls_private_message_content_encode(mls_buf *b, const mls_framed_content *content,
                                       const mls_framed_content_auth_data *auth,
                                       size_t padding_len)
{
    int rc = body_encode(b, content);
    if (rc == 0)
        rc = mls_framed_content_auth_data_encode(b, content->content_type, auth);
    if (rc)
        return rc;
    if (padding_len) {
        uint8_t *pad = mls_buf_extend(b, padding_len);
        if (pad)
            memset(pad, 0, padding_len);
    }
    return mls_buf_status(b);
}

int mls_private_message_content_decode(const uint8_t *p, size_t n, uint8_t content_type,
                                       mls_framed_content *content,
                                       mls_framed_content_auth_data *auth)
{
    memset(content, 0, sizeof *content);
    memset(auth, 0, sizeof *auth);
    mls_rd r;
    mls_rd_init(&r, p, n);
    int rc = body_decode(&r, content_type, content);
    if (rc)
        goto fail;
    if ((rc = mls_framed_content_auth_data_decode(&r, content_type, auth)))
        goto fail;
    uint8_t acc = 0;
    for (size_t i = r.off; i < r.len; i++)
        acc |= r.p[i];
    if (acc) {
        rc = MLS_E_PADDING;
        goto fail;
    }
    return 0;
fail:
    mls_framed_content_free(content);
    mls_framed_content_auth_data_free(auth);
    return rc;
}

int mls_sender_data_encode(mls_buf *b, const mls_sender_data *sd)
{
    mls_w_u32(b, sd->leaf_index);
    mls_w_u32(b, sd->generation);
    mls_w_fixed(b, sd->reuse_guard, MLS_REUSE_GUARD_LEN);
    return mls_buf_status(b);
}

int mls_sender_data_decode_all(const uint8_t *p, size_t n, mls_sender_data *out)
{
    memset(out, 0, sizeof *out);
    if (n != MLS_SENDER_DATA_LEN)
        return MLS_E_DECODE;
    mls_rd r;
    mls_slice g;
    mls_rd_init(&r, p, n);
    (void)mls_rd_u32(&r, &out->leaf_index);
    (void)mls_rd_u32(&r, &out->generation);
    (void)mls_rd_fixed(&r, MLS_REUSE_GUARD_LEN, &g);
    memcpy(out->reuse_guard, g.p, MLS_REUSE_GUARD_LEN);
    return 0;
}

int mls_private_content_aad_encode(mls_buf *b, const uint8_t *group_id, size_t gid_len,
                                   uint64_t epoch, uint8_t content_type,
                                   const uint8_t *authenticated_data, size_t ad_len)
{
    mls_w_opaque(b, group_id, gid_len);
    mls_w_u64(b, epoch);
    mls_w_u8(b, content_type);
    mls_w_opaque(b, authenticated_data, ad_len);
    return mls_buf_status(b);
}

int mls_sender_data_aad_encode(mls_buf *b, const uint8_t *group_id, size_t gid_len,
                               uint64_t epoch, uint8_t content_type)
{
    mls_w_opaque(b, group_id, gid_len);
    mls_w_u64(b, epoch);
    mls_w_u8(b, content_type);
    return mls_buf_status(b);
}
