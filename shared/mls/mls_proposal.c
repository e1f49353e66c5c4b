#include "mls_proposal.h"

#include <string.h>

#include "mls_objutil.h"

static void reinit_free(mls_reinit *ri)
{
    mls_bytes_free(&ri->group_id);
    mls_extension_list_free(&ri->extensions);
}

void mls_proposal_free(mls_proposal *p)
{
    if (!p)
        return;
    switch (p->proposal_type) {
    case MLS_PROPOSAL_ADD:
        mls_key_package_free(&p->add);
        break;
    case MLS_PROPOSAL_UPDATE:
        mls_leaf_node_free(&p->update);
        break;
    case MLS_PROPOSAL_PSK:
        mls_psk_id_free(&p->psk);
        break;
    case MLS_PROPOSAL_REINIT:
        reinit_free(&p->reinit);
        break;
    case MLS_PROPOSAL_EXTERNAL_INIT:
        mls_bytes_free(&p->external_init);
        break;
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        mls_extension_list_free(&p->group_context_extensions);
        break;
    default:
        break;
    }
    memset(p, 0, sizeof *p);
}

int mls_proposal_body_decode(mls_rd *r, uint16_t type, mls_proposal *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    switch (type) {
    case MLS_PROPOSAL_ADD:
        rc = mls_key_package_decode(r, &out->add);
        break;
    case MLS_PROPOSAL_UPDATE:
        rc = mls_leaf_node_decode(r, &out->update);
        break;
    case MLS_PROPOSAL_REMOVE:
        rc = mls_rd_u32(r, &out->remove);
        break;
    case MLS_PROPOSAL_PSK:
        rc = mls_psk_id_decode(r, &out->psk);
        break;
    case MLS_PROPOSAL_REINIT:
        rc = mls_rd_opaque_copy(r, &out->reinit.group_id);
        if (rc == 0)
            rc = mls_rd_u16(r, &out->reinit.version);
        if (rc == 0)
            rc = mls_rd_u16(r, &out->reinit.cipher_suite);
        if (rc == 0)
            rc = mls_extension_list_decode(r, &out->reinit.extensions);
        if (rc)
            reinit_free(&out->reinit);
        break;
    case MLS_PROPOSAL_EXTERNAL_INIT:
        rc = mls_rd_opaque_copy(r, &out->external_init);
        break;
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        rc = mls_extension_list_decode(r, &out->group_context_extensions);
        break;
    default:
        rc = MLS_E_UNSUPPORTED;
    }
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->proposal_type = type;
    return 0;
}

int mls_proposal_body_decode_all(const uint8_t *p, size_t n, uint16_t type, mls_proposal *out)
{
    mls_rd r;
    mls_rd_init(&r, p, n);
    int rc = mls_proposal_body_decode(&r, type, out);
    if (rc == 0 && mls_rd_left(&r)) {
        mls_proposal_free(out);
        rc = MLS_E_DECODE;
    }
    return rc;
}

int mls_proposal_body_encode(mls_buf *b, const mls_proposal *p)
{
    int rc;
    switch (p->proposal_type) {
    case MLS_PROPOSAL_ADD:
        return mls_key_package_encode(b, &p->add);
    case MLS_PROPOSAL_UPDATE:
        return mls_leaf_node_encode(b, &p->update);
    case MLS_PROPOSAL_REMOVE:
        mls_w_u32(b, p->remove);
        return mls_buf_status(b);
    case MLS_PROPOSAL_PSK:
        return mls_psk_id_encode(b, &p->psk);
    case MLS_PROPOSAL_REINIT:
        mls_w_opaque(b, p->reinit.group_id.p, p->reinit.group_id.len);
        mls_w_u16(b, p->reinit.version);
        mls_w_u16(b, p->reinit.cipher_suite);
        if ((rc = mls_extension_list_encode(b, &p->reinit.extensions)))
            return rc;
        return mls_buf_status(b);
    case MLS_PROPOSAL_EXTERNAL_INIT:
        mls_w_opaque(b, p->external_init.p, p->external_init.len);
        return mls_buf_status(b);
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        return mls_extension_list_encode(b, &p->group_context_extensions);
    default:
        return MLS_E_INVALID;
    }
}

int mls_proposal_decode(mls_rd *r, mls_proposal *out)
{
    uint16_t type;
    memset(out, 0, sizeof *out);
    int rc = mls_rd_u16(r, &type);
    if (rc)
        return rc;
    return mls_proposal_body_decode(r, type, out);
}

MLS_OU_DECODE_ALL(proposal)

int mls_proposal_encode(mls_buf *b, const mls_proposal *p)
{
    if (p->proposal_type < MLS_PROPOSAL_ADD ||
        p->proposal_type > MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS)
        return MLS_E_INVALID;
    mls_w_u16(b, p->proposal_type);
    return mls_proposal_body_encode(b, p);
}

MLS_OU_COPY(proposal)

int mls_proposal_ref(const uint8_t *authenticated_content, size_t n, uint8_t out[MLS_HASH_LEN])
{
    return mls_ref_hash("MLS 1.0 Proposal Reference", authenticated_content, n, out);
}

void mls_proposal_or_ref_free(mls_proposal_or_ref *por)
{
    if (!por)
        return;
    mls_proposal_free(&por->proposal);
    mls_bytes_free(&por->reference);
    memset(por, 0, sizeof *por);
}

int mls_proposal_or_ref_decode(mls_rd *r, mls_proposal_or_ref *out)
{
    memset(out, 0, sizeof *out);
    int rc = mls_rd_u8(r, &out->type);
    if (rc)
        return rc;
    switch (out->type) {
    case MLS_POR_PROPOSAL:
        rc = mls_proposal_decode(r, &out->proposal);
        break;
    case MLS_POR_REFERENCE:
        rc = mls_rd_opaque_copy(r, &out->reference);
        break;
    default:
        rc = MLS_E_DECODE;
    }
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int mls_proposal_or_ref_encode(mls_buf *b, const mls_proposal_or_ref *por)
{
    switch (por->type) {
    case MLS_POR_PROPOSAL:
        mls_w_u8(b, por->type);
        return mls_proposal_encode(b, &por->proposal);
    case MLS_POR_REFERENCE:
        mls_w_u8(b, por->type);
        mls_w_opaque(b, por->reference.p, por->reference.len);
        return mls_buf_status(b);
    default:
        return MLS_E_INVALID;
    }
}
