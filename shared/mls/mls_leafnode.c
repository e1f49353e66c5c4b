#include "mls_leafnode.h"

#include <string.h>

#include "mls_objutil.h"

/* ---- Capabilities, Lifetime ------------------------------------------------------- */

void mls_capabilities_free(mls_capabilities *c)
{
    if (!c)
        return;
    mls_u16_list_free(&c->versions);
    mls_u16_list_free(&c->cipher_suites);
    mls_u16_list_free(&c->extensions);
    mls_u16_list_free(&c->proposals);
    mls_u16_list_free(&c->credentials);
}

int mls_capabilities_decode(mls_rd *r, mls_capabilities *out)
{
    memset(out, 0, sizeof *out);
    int rc = mls_u16_list_decode(r, &out->versions);
    if (rc == 0)
        rc = mls_u16_list_decode(r, &out->cipher_suites);
    if (rc == 0)
        rc = mls_u16_list_decode(r, &out->extensions);
    if (rc == 0)
        rc = mls_u16_list_decode(r, &out->proposals);
    if (rc == 0)
        rc = mls_u16_list_decode(r, &out->credentials);
    if (rc)
        mls_capabilities_free(out);
    return rc;
}

static MLS_OU_DECODE_ALL(capabilities)

int mls_capabilities_encode(mls_buf *b, const mls_capabilities *c)
{
    int rc = mls_u16_list_encode(b, &c->versions);
    if (rc == 0)
        rc = mls_u16_list_encode(b, &c->cipher_suites);
    if (rc == 0)
        rc = mls_u16_list_encode(b, &c->extensions);
    if (rc == 0)
        rc = mls_u16_list_encode(b, &c->proposals);
    if (rc == 0)
        rc = mls_u16_list_encode(b, &c->credentials);
    return rc;
}

MLS_OU_COPY(capabilities)

int mls_capabilities_init_default(mls_capabilities *out)
{
    static const uint16_t version = MLS_PROTOCOL_VERSION;
    static const uint16_t suite = MLS_CIPHER_SUITE;
    static const uint16_t cred = MLS_CREDENTIAL_BASIC;
    memset(out, 0, sizeof *out);
    int rc = mls_u16_list_set(&out->versions, &version, 1);
    if (rc == 0)
        rc = mls_u16_list_set(&out->cipher_suites, &suite, 1);
    if (rc == 0)
        rc = mls_u16_list_set(&out->extensions, NULL, 0);
    if (rc == 0)
        rc = mls_u16_list_set(&out->proposals, NULL, 0);
    if (rc == 0)
        rc = mls_u16_list_set(&out->credentials, &cred, 1);
    if (rc)
        mls_capabilities_free(out);
    return rc;
}

int mls_lifetime_check(const mls_lifetime *lt, uint64_t now)
{
    return (lt->not_before <= now && now <= lt->not_after) ? 0 : MLS_E_LIFETIME;
}

/* ---- LeafNode ---------------------------------------------------------------------- */

void mls_leaf_node_free(mls_leaf_node *ln)
{
    if (!ln)
        return;
    mls_bytes_free(&ln->encryption_key);
    mls_bytes_free(&ln->signature_key);
    mls_credential_free(&ln->credential);
    mls_capabilities_free(&ln->capabilities);
    mls_bytes_free(&ln->parent_hash);
    mls_extension_list_free(&ln->extensions);
    mls_bytes_free(&ln->signature);
    memset(ln, 0, sizeof *ln);
}

int mls_leaf_node_decode(mls_rd *r, mls_leaf_node *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = mls_rd_opaque_copy(r, &out->encryption_key)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->signature_key)))
        goto fail;
    if ((rc = mls_credential_decode(r, &out->credential)))
        goto fail;
    if ((rc = mls_capabilities_decode(r, &out->capabilities)))
        goto fail;
    if ((rc = mls_rd_u8(r, &out->leaf_node_source)))
        goto fail;
    switch (out->leaf_node_source) {
    case MLS_LEAF_SOURCE_KEY_PACKAGE:
        if ((rc = mls_rd_u64(r, &out->lifetime.not_before)))
            goto fail;
        rc = mls_rd_u64(r, &out->lifetime.not_after);
        break;
    case MLS_LEAF_SOURCE_UPDATE:
        break;
    case MLS_LEAF_SOURCE_COMMIT:
        rc = mls_rd_opaque_copy(r, &out->parent_hash);
        break;
    default:
        rc = MLS_E_DECODE;
    }
    if (rc)
        goto fail;
    if ((rc = mls_extension_list_decode(r, &out->extensions)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->signature)))
        goto fail;
    return 0;
fail:
    mls_leaf_node_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(leaf_node)

/* Everything up to and including the extensions (the common part of LeafNode and
 * LeafNodeTBS). */
static int leaf_node_body(mls_buf *b, const mls_leaf_node *ln)
{
    int rc;
    mls_w_opaque(b, ln->encryption_key.p, ln->encryption_key.len);
    mls_w_opaque(b, ln->signature_key.p, ln->signature_key.len);
    if ((rc = mls_credential_encode(b, &ln->credential)))
        return rc;
    if ((rc = mls_capabilities_encode(b, &ln->capabilities)))
        return rc;
    mls_w_u8(b, ln->leaf_node_source);
    switch (ln->leaf_node_source) {
    case MLS_LEAF_SOURCE_KEY_PACKAGE:
        mls_w_u64(b, ln->lifetime.not_before);
        mls_w_u64(b, ln->lifetime.not_after);
        break;
    case MLS_LEAF_SOURCE_UPDATE:
        break;
    case MLS_LEAF_SOURCE_COMMIT:
        mls_w_opaque(b, ln->parent_hash.p, ln->parent_hash.len);
        break;
    default:
        return MLS_E_INVALID;
    }
    return mls_extension_list_encode(b, &ln->extensions);
}

int mls_leaf_node_encode(mls_buf *b, const mls_leaf_node *ln)
{
    int rc = leaf_node_body(b, ln);
    if (rc)
        return rc;
    mls_w_opaque(b, ln->signature.p, ln->signature.len);
    return mls_buf_status(b);
}

MLS_OU_COPY(leaf_node)

int mls_leaf_node_tbs_encode(mls_buf *b, const mls_leaf_node *ln, const uint8_t *group_id,
                             size_t gid_len, uint32_t leaf_index)
{
    int rc = leaf_node_body(b, ln);
    if (rc)
        return rc;
    if (ln->leaf_node_source != MLS_LEAF_SOURCE_KEY_PACKAGE) {
        if (!group_id)
            return MLS_E_INVALID;
        mls_w_opaque(b, group_id, gid_len);
        mls_w_u32(b, leaf_index);
    }
    return mls_buf_status(b);
}

int mls_leaf_node_sign(mls_leaf_node *ln, const uint8_t seed[MLS_SIG_SEED_LEN],
                       const uint8_t *group_id, size_t gid_len, uint32_t leaf_index)
{
    mls_buf tbs = { 0 };
    uint8_t sig[MLS_SIG_LEN];
    int rc = mls_leaf_node_tbs_encode(&tbs, ln, group_id, gid_len, leaf_index);
    if (rc == 0)
        rc = mls_sign_with_label(seed, "LeafNodeTBS", tbs.p, tbs.len, sig);
    if (rc == 0)
        rc = mls_bytes_set(&ln->signature, sig, sizeof sig);
    mls_buf_free(&tbs);
    return rc;
}

int mls_leaf_node_verify(const mls_leaf_node *ln, const uint8_t *group_id, size_t gid_len,
                         uint32_t leaf_index)
{
    mls_buf tbs = { 0 };
    int rc = mls_leaf_node_tbs_encode(&tbs, ln, group_id, gid_len, leaf_index);
    if (rc == 0)
        rc = mls_verify_with_label(ln->signature_key.p, ln->signature_key.len, "LeafNodeTBS",
                                   tbs.p, tbs.len, ln->signature.p, ln->signature.len);
    mls_buf_free(&tbs);
    if (rc == MLS_E_INVALID)
        rc = MLS_E_SIGNATURE;
    return rc;
}

int mls_leaf_node_check_suite(const mls_leaf_node *ln)
{
    if (ln->encryption_key.len != MLS_KEM_PK_LEN || ln->signature_key.len != MLS_SIG_PUB_LEN)
        return MLS_E_LEAF_NODE;
    switch (ln->leaf_node_source) {
    case MLS_LEAF_SOURCE_KEY_PACKAGE:
    case MLS_LEAF_SOURCE_UPDATE:
        return 0;
    case MLS_LEAF_SOURCE_COMMIT:
        return (ln->parent_hash.len == MLS_HASH_LEN || ln->parent_hash.len == 0)
                   ? 0
                   : MLS_E_LEAF_NODE;
    default:
        return MLS_E_LEAF_NODE;
    }
}

/* ---- ParentNode, Node -------------------------------------------------------------- */

void mls_parent_node_free(mls_parent_node *pn)
{
    if (!pn)
        return;
    mls_bytes_free(&pn->encryption_key);
    mls_bytes_free(&pn->parent_hash);
    mls_free(pn->unmerged_leaves, pn->n_unmerged_leaves * sizeof *pn->unmerged_leaves);
    memset(pn, 0, sizeof *pn);
}

int mls_parent_node_decode(mls_rd *r, mls_parent_node *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    mls_rd sub;
    if ((rc = mls_rd_opaque_copy(r, &out->encryption_key)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->parent_hash)))
        goto fail;
    if ((rc = mls_rd_vector(r, &sub)))
        goto fail;
    if (sub.len % 4) {
        rc = MLS_E_DECODE;
        goto fail;
    }
    size_t n = sub.len / 4;
    out->unmerged_leaves = mls_alloc_array(n, sizeof *out->unmerged_leaves);
    if (!out->unmerged_leaves) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    out->n_unmerged_leaves = n;
    for (size_t i = 0; i < n; i++)
        (void)mls_rd_u32(&sub, &out->unmerged_leaves[i]);
    return 0;
fail:
    mls_parent_node_free(out);
    return rc;
}

static MLS_OU_DECODE_ALL(parent_node)

int mls_parent_node_encode(mls_buf *b, const mls_parent_node *pn)
{
    mls_w_opaque(b, pn->encryption_key.p, pn->encryption_key.len);
    mls_w_opaque(b, pn->parent_hash.p, pn->parent_hash.len);
    if (pn->n_unmerged_leaves > MLS_VARINT_MAX / 4)
        return MLS_E_INVALID;
    mls_w_varint(b, pn->n_unmerged_leaves * 4);
    for (size_t i = 0; i < pn->n_unmerged_leaves; i++)
        mls_w_u32(b, pn->unmerged_leaves[i]);
    return mls_buf_status(b);
}

MLS_OU_COPY(parent_node)

void mls_node_free(mls_node *nd)
{
    if (!nd)
        return;
    if (nd->node_type == MLS_NODE_TYPE_LEAF)
        mls_leaf_node_free(&nd->leaf_node);
    else if (nd->node_type == MLS_NODE_TYPE_PARENT)
        mls_parent_node_free(&nd->parent_node);
    memset(nd, 0, sizeof *nd);
}

int mls_node_decode(mls_rd *r, mls_node *out)
{
    memset(out, 0, sizeof *out);
    int rc = mls_rd_u8(r, &out->node_type);
    if (rc)
        return rc;
    switch (out->node_type) {
    case MLS_NODE_TYPE_LEAF:
        rc = mls_leaf_node_decode(r, &out->leaf_node);
        break;
    case MLS_NODE_TYPE_PARENT:
        rc = mls_parent_node_decode(r, &out->parent_node);
        break;
    default:
        rc = MLS_E_DECODE;
    }
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

static MLS_OU_DECODE_ALL(node)

int mls_node_encode(mls_buf *b, const mls_node *nd)
{
    switch (nd->node_type) {
    case MLS_NODE_TYPE_LEAF:
        mls_w_u8(b, nd->node_type);
        return mls_leaf_node_encode(b, &nd->leaf_node);
    case MLS_NODE_TYPE_PARENT:
        mls_w_u8(b, nd->node_type);
        return mls_parent_node_encode(b, &nd->parent_node);
    default:
        return MLS_E_INVALID;
    }
}

MLS_OU_COPY(node)

/* ---- ratchet_tree ------------------------------------------------------------------ */

void mls_node_array_free(mls_node_array *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        if (a->nodes[i]) {
            mls_node_free(a->nodes[i]);
            mls_free(a->nodes[i], sizeof *a->nodes[i]);
        }
    }
    mls_free(a->nodes, a->n * sizeof *a->nodes);
    memset(a, 0, sizeof *a);
}

int mls_node_array_decode(mls_rd *r, mls_node_array *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    size_t cap = 0;
    int rc = mls_rd_vector(r, &sub);
    if (rc)
        goto fail;
    while (mls_rd_left(&sub)) {
        rc = mls_ou_grow(&out->nodes, out->n, &cap, sizeof *out->nodes, MLS_MAX_TREE_NODES);
        if (rc)
            goto fail;
        int present;
        if ((rc = mls_rd_optional(&sub, &present)))
            goto fail;
        if (present) {
            mls_node *nd = mls_alloc(sizeof *nd);
            if (!nd) {
                rc = MLS_E_NOMEM;
                goto fail;
            }
            if ((rc = mls_node_decode(&sub, nd))) {
                mls_free(nd, sizeof *nd);
                goto fail;
            }
            out->nodes[out->n] = nd;
        }
        out->n++;
    }
    return 0;
fail:
    mls_node_array_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(node_array)

int mls_node_array_encode(mls_buf *b, const mls_node_array *a)
{
    size_t m = mls_w_vec_begin(b);
    for (size_t i = 0; i < a->n; i++) {
        mls_w_optional(b, a->nodes[i] != NULL);
        if (a->nodes[i]) {
            int rc = mls_node_encode(b, a->nodes[i]);
            if (rc)
                return rc;
        }
    }
    mls_w_vec_end(b, m);
    return mls_buf_status(b);
}

int mls_node_array_check_shape(const mls_node_array *a)
{
    if (a->n == 0 || a->n > MLS_MAX_TREE_NODES || !a->nodes[a->n - 1])
        return MLS_E_TREE;
    for (size_t i = 0; i < a->n; i++) {
        if (!a->nodes[i])
            continue;
        uint8_t want = (i % 2 == 0) ? MLS_NODE_TYPE_LEAF : MLS_NODE_TYPE_PARENT;
        if (a->nodes[i]->node_type != want)
            return MLS_E_TREE;
    }
    return 0;
}
