#include "mls_commit.h"

#include <string.h>

#include "mls_objutil.h"

/* ---- HPKECiphertext ---------------------------------------------------------------- */

void mls_hpke_ciphertext_free(mls_hpke_ciphertext *c)
{
    if (!c)
        return;
    mls_bytes_free(&c->kem_output);
    mls_bytes_free(&c->ciphertext);
}

int mls_hpke_ciphertext_decode(mls_rd *r, mls_hpke_ciphertext *out)
{
    memset(out, 0, sizeof *out);
    int rc = mls_rd_opaque_copy(r, &out->kem_output);
    if (rc == 0)
        rc = mls_rd_opaque_copy(r, &out->ciphertext);
    if (rc)
        mls_hpke_ciphertext_free(out);
    return rc;
}

int mls_hpke_ciphertext_encode(mls_buf *b, const mls_hpke_ciphertext *c)
{
    mls_w_opaque(b, c->kem_output.p, c->kem_output.len);
    mls_w_opaque(b, c->ciphertext.p, c->ciphertext.len);
    return mls_buf_status(b);
}

/* ---- UpdatePathNode, UpdatePath ---------------------------------------------------- */

void mls_update_path_node_free(mls_update_path_node *n)
{
    if (!n)
        return;
    mls_bytes_free(&n->encryption_key);
    for (size_t i = 0; i < n->n_encrypted_path_secret; i++)
        mls_hpke_ciphertext_free(&n->encrypted_path_secret[i]);
    mls_free(n->encrypted_path_secret,
             n->n_encrypted_path_secret * sizeof *n->encrypted_path_secret);
    memset(n, 0, sizeof *n);
}

int mls_update_path_node_decode(mls_rd *r, mls_update_path_node *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    size_t cap = 0;
    int rc = mls_rd_opaque_copy(r, &out->encryption_key);
    if (rc == 0)
        rc = mls_rd_vector(r, &sub);
    if (rc)
        goto fail;
    while (mls_rd_left(&sub)) {
        rc = mls_ou_grow(&out->encrypted_path_secret, out->n_encrypted_path_secret, &cap,
                         sizeof *out->encrypted_path_secret, MLS_MAX_TREE_NODES);
        if (rc)
            goto fail;
        rc = mls_hpke_ciphertext_decode(
            &sub, &out->encrypted_path_secret[out->n_encrypted_path_secret]);
        if (rc)
            goto fail;
        out->n_encrypted_path_secret++;
    }
    return 0;
fail:
    mls_update_path_node_free(out);
    return rc;
}

int mls_update_path_node_encode(mls_buf *b, const mls_update_path_node *n)
{
    mls_w_opaque(b, n->encryption_key.p, n->encryption_key.len);
    size_t m = mls_w_vec_begin(b);
    for (size_t i = 0; i < n->n_encrypted_path_secret; i++)
        (void)mls_hpke_ciphertext_encode(b, &n->encrypted_path_secret[i]);
    mls_w_vec_end(b, m);
    return mls_buf_status(b);
}

void mls_update_path_free(mls_update_path *up)
{
    if (!up)
        return;
    mls_leaf_node_free(&up->leaf_node);
    for (size_t i = 0; i < up->n_nodes; i++)
        mls_update_path_node_free(&up->nodes[i]);
    mls_free(up->nodes, up->n_nodes * sizeof *up->nodes);
    memset(up, 0, sizeof *up);
}

int mls_update_path_decode(mls_rd *r, mls_update_path *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    size_t cap = 0;
    int rc = mls_leaf_node_decode(r, &out->leaf_node);
    if (rc == 0)
        rc = mls_rd_vector(r, &sub);
    if (rc)
        goto fail;
    while (mls_rd_left(&sub)) {
        rc = mls_ou_grow(&out->nodes, out->n_nodes, &cap, sizeof *out->nodes,
                         MLS_TREE_MAX_DEPTH);
        if (rc)
            goto fail;
        if ((rc = mls_update_path_node_decode(&sub, &out->nodes[out->n_nodes])))
            goto fail;
        out->n_nodes++;
    }
    return 0;
fail:
    mls_update_path_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(update_path)

int mls_update_path_encode(mls_buf *b, const mls_update_path *up)
{
    int rc = mls_leaf_node_encode(b, &up->leaf_node);
    if (rc)
        return rc;
    size_t m = mls_w_vec_begin(b);
    for (size_t i = 0; i < up->n_nodes; i++)
        (void)mls_update_path_node_encode(b, &up->nodes[i]);
    mls_w_vec_end(b, m);
    return mls_buf_status(b);
}

MLS_OU_COPY(update_path)

/* ---- Commit ------------------------------------------------------------------------ */

void mls_commit_free(mls_commit *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_proposals; i++)
        mls_proposal_or_ref_free(&c->proposals[i]);
    mls_free(c->proposals, c->n_proposals * sizeof *c->proposals);
    mls_update_path_free(&c->path);
    memset(c, 0, sizeof *c);
}

int mls_commit_decode(mls_rd *r, mls_commit *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    size_t cap = 0;
    int rc = mls_rd_vector(r, &sub);
    if (rc)
        goto fail;
    while (mls_rd_left(&sub)) {
        rc = mls_ou_grow(&out->proposals, out->n_proposals, &cap, sizeof *out->proposals,
                         MLS_MAX_PROPOSALS);
        if (rc)
            goto fail;
        if ((rc = mls_proposal_or_ref_decode(&sub, &out->proposals[out->n_proposals])))
            goto fail;
        out->n_proposals++;
    }
    if ((rc = mls_rd_optional(r, &out->has_path)))
        goto fail;
    if (out->has_path && (rc = mls_update_path_decode(r, &out->path)))
        goto fail;
    return 0;
fail:
    mls_commit_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(commit)

int mls_commit_encode(mls_buf *b, const mls_commit *c)
{
    int rc;
    size_t m = mls_w_vec_begin(b);
    for (size_t i = 0; i < c->n_proposals; i++)
        if ((rc = mls_proposal_or_ref_encode(b, &c->proposals[i])))
            return rc;
    mls_w_vec_end(b, m);
    mls_w_optional(b, c->has_path);
    if (c->has_path && (rc = mls_update_path_encode(b, &c->path)))
        return rc;
    return mls_buf_status(b);
}

MLS_OU_COPY(commit)
