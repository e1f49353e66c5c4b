/* mls_state: the group's storage format (mls_group_export / mls_group_import) and the
 * deep copy built on it.
 *
 *   "MLSG" u8 version(1)
 *   GroupContext; interim[32]; opaque confirmation_tag<V>
 *   opaque ratchet_tree<V> (the ratchet_tree encoding); u32 own_leaf; sig_seed[32]
 *   u32 priv_leaf; leaf_sk[32]; node_keys<V> { u32 node; sk[32]; pk[32] }
 *   epoch secrets: 11 x [32] in mls_epoch_secrets order, u8 have_joiner
 *   opaque secret_tree<V> (mls_secrettree_encode; empty once removed)
 *   proposals<V> { ref[32]; Sender; Proposal; u8 has_leaf_priv; leaf_priv[32] }
 *   resumption<V> { u64 epoch; psk[32] }
 *   external_psks<V> { opaque id<V>; opaque psk<V> }
 *   u8 removed; u8 reinit
 */
#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_group_int.h"

static const uint8_t magic[4] = { 'M', 'L', 'S', 'G' };
#define STATE_VERSION 1u

static uint8_t *es_field(mls_epoch_secrets *es, int i)
{
    uint8_t *f[11] = { es->joiner_secret,   es->welcome_secret,     es->sender_data_secret,
                       es->encryption_secret, es->exporter_secret,  es->external_secret,
                       es->confirmation_key, es->membership_key,    es->resumption_psk,
                       es->epoch_authenticator, es->init_secret };
    return f[i];
}

int mls_state_encode(const mls_group *g, mls_buf *b)
{
    mls_buf sub = { 0 };
    size_t m;
    int rc;

    mls_w_fixed(b, magic, sizeof magic);
    mls_w_u8(b, STATE_VERSION);
    if ((rc = mls_group_context_encode(b, &g->gc)))
        goto fail;
    mls_w_fixed(b, g->interim, MLS_HASH_LEN);
    mls_w_opaque(b, g->confirmation_tag.p, g->confirmation_tag.len);
    if ((rc = mls_tree_encode(g->tree, &sub)))
        goto fail;
    mls_w_opaque(b, sub.p, sub.len);
    mls_buf_free(&sub);
    mls_w_u32(b, g->own_leaf);
    mls_w_fixed(b, g->sig_seed, MLS_SIG_SEED_LEN);
    mls_w_u32(b, g->priv.leaf);
    mls_w_fixed(b, g->priv.leaf_sk, MLS_KEM_SK_LEN);
    m = mls_w_vec_begin(b);
    for (size_t i = 0; i < g->priv.n_keys; i++) {
        mls_w_u32(b, g->priv.keys[i].node);
        mls_w_fixed(b, g->priv.keys[i].sk, MLS_KEM_SK_LEN);
        mls_w_fixed(b, g->priv.keys[i].pk, MLS_KEM_PK_LEN);
    }
    mls_w_vec_end(b, m);
    mls_epoch_secrets es = g->es;
    for (int i = 0; i < 11; i++)
        mls_w_fixed(b, es_field(&es, i), MLS_HASH_LEN);
    mls_w_u8(b, (uint8_t)(es.have_joiner ? 1 : 0));
    mls_epoch_secrets_wipe(&es);
    if (g->st.n_leaves && (rc = mls_secrettree_encode(&g->st, &sub)))
        goto fail;
    mls_w_opaque(b, sub.p, sub.len); /* empty once removed (the secrets are gone) */
    m = mls_w_vec_begin(b);
    for (size_t i = 0; i < g->n_props; i++) {
        const mls_pending_proposal *pp = &g->props[i];
        mls_w_fixed(b, pp->ref, MLS_HASH_LEN);
        if ((rc = mls_sender_encode(b, &pp->sender)) ||
            (rc = mls_proposal_encode(b, &pp->proposal)))
            goto fail;
        mls_w_u8(b, (uint8_t)(pp->has_leaf_priv ? 1 : 0));
        mls_w_fixed(b, pp->leaf_priv, MLS_KEM_SK_LEN);
    }
    mls_w_vec_end(b, m);
    m = mls_w_vec_begin(b);
    for (size_t i = 0; i < g->n_res_psks; i++) {
        mls_w_u64(b, g->res_psks[i].epoch);
        mls_w_fixed(b, g->res_psks[i].psk, MLS_HASH_LEN);
    }
    mls_w_vec_end(b, m);
    m = mls_w_vec_begin(b);
    for (size_t i = 0; i < g->n_ext_psks; i++) {
        mls_w_opaque(b, g->ext_psks[i].id.p, g->ext_psks[i].id.len);
        mls_w_opaque(b, g->ext_psks[i].psk.p, g->ext_psks[i].psk.len);
    }
    mls_w_vec_end(b, m);
    mls_w_u8(b, (uint8_t)(g->removed ? 1 : 0));
    mls_w_u8(b, (uint8_t)(g->reinit ? 1 : 0));
    rc = mls_buf_status(b);
fail:
    mls_buf_free(&sub);
    return rc;
}

/* A boolean byte: 0 or 1, anything else MLS_E_DECODE (the format is canonical). */
static int rd_bool(mls_rd *r, int *out)
{
    uint8_t v;
    int rc = mls_rd_u8(r, &v);
    if (rc)
        return rc;
    if (v > 1)
        return MLS_E_DECODE;
    *out = v;
    return 0;
}

static int rd_fixed_copy(mls_rd *r, uint8_t *dst, size_t n)
{
    mls_slice s;
    int rc = mls_rd_fixed(r, n, &s);
    if (!rc)
        memcpy(dst, s.p, n);
    return rc;
}

int mls_state_decode(mls_group **out, const uint8_t *p, size_t n)
{
    mls_group *g = NULL;
    mls_rd r, sub;
    mls_slice s;
    uint8_t ver;
    int rc;

    *out = NULL;
    mls_rd_init(&r, p, n);
    if (mls_rd_fixed(&r, sizeof magic, &s) || memcmp(s.p, magic, sizeof magic))
        return MLS_E_DECODE;
    if (mls_rd_u8(&r, &ver))
        return MLS_E_DECODE;
    if (ver != STATE_VERSION)
        return MLS_E_UNSUPPORTED;
    g = mls_alloc(sizeof *g);
    if (!g)
        return MLS_E_NOMEM;
    if ((rc = mls_group_context_decode(&r, &g->gc)) ||
        (rc = rd_fixed_copy(&r, g->interim, MLS_HASH_LEN)) ||
        (rc = mls_rd_opaque_copy(&r, &g->confirmation_tag)) || (rc = mls_rd_opaque(&r, &s)) ||
        (rc = mls_tree_decode(&g->tree, s.p, s.len)) || (rc = mls_rd_u32(&r, &g->own_leaf)) ||
        (rc = rd_fixed_copy(&r, g->sig_seed, MLS_SIG_SEED_LEN)) ||
        (rc = mls_rd_u32(&r, &g->priv.leaf)) ||
        (rc = rd_fixed_copy(&r, g->priv.leaf_sk, MLS_KEM_SK_LEN)) ||
        (rc = mls_rd_vector(&r, &sub)))
        goto fail;
    while (mls_rd_left(&sub)) {
        mls_treekem_node_key *k = &g->priv.keys[g->priv.n_keys];
        if (g->priv.n_keys == MLS_TREE_MAX_DEPTH) {
            rc = MLS_E_DECODE;
            goto fail;
        }
        if ((rc = mls_rd_u32(&sub, &k->node)) ||
            (rc = rd_fixed_copy(&sub, k->sk, MLS_KEM_SK_LEN)) ||
            (rc = rd_fixed_copy(&sub, k->pk, MLS_KEM_PK_LEN)))
            goto fail;
        g->priv.n_keys++;
    }
    for (int i = 0; i < 11; i++)
        if ((rc = rd_fixed_copy(&r, es_field(&g->es, i), MLS_HASH_LEN)))
            goto fail;
    if ((rc = rd_bool(&r, &g->es.have_joiner)))
        goto fail;
    if ((rc = mls_rd_opaque(&r, &s)) ||
        (s.len && (rc = mls_secrettree_decode(&g->st, s.p, s.len))) ||
        (rc = mls_rd_vector(&r, &sub)))
        goto fail;
    while (mls_rd_left(&sub)) {
        mls_pending_proposal *np =
            mls_realloc(g->props, g->n_props * sizeof *np, (g->n_props + 1) * sizeof *np);
        if (!np) {
            rc = MLS_E_NOMEM;
            goto fail;
        }
        g->props = np;
        mls_pending_proposal *pp = &g->props[g->n_props];
        if ((rc = rd_fixed_copy(&sub, pp->ref, MLS_HASH_LEN)) ||
            (rc = mls_sender_decode(&sub, &pp->sender)) ||
            (rc = mls_proposal_decode(&sub, &pp->proposal)))
            goto fail;
        g->n_props++;
        if ((rc = rd_bool(&sub, &pp->has_leaf_priv)) ||
            (rc = rd_fixed_copy(&sub, pp->leaf_priv, MLS_KEM_SK_LEN)))
            goto fail;
    }
    if ((rc = mls_rd_vector(&r, &sub)))
        goto fail;
    while (mls_rd_left(&sub)) {
        uint64_t ep;
        if ((rc = mls_rd_u64(&sub, &ep)))
            goto fail;
        mls_resumption_psk *np = mls_realloc(g->res_psks, g->n_res_psks * sizeof *np,
                                             (g->n_res_psks + 1) * sizeof *np);
        if (!np) {
            rc = MLS_E_NOMEM;
            goto fail;
        }
        g->res_psks = np;
        g->res_psks[g->n_res_psks].epoch = ep;
        g->n_res_psks++;
        if ((rc = rd_fixed_copy(&sub, g->res_psks[g->n_res_psks - 1].psk, MLS_HASH_LEN)))
            goto fail;
    }
    if ((rc = mls_rd_vector(&r, &sub)))
        goto fail;
    while (mls_rd_left(&sub)) {
        mls_slice id, psk;
        size_t before = g->n_ext_psks;
        if ((rc = mls_rd_opaque(&sub, &id)) || (rc = mls_rd_opaque(&sub, &psk)) ||
            (rc = mls_group_add_ext_psk(g, id.p, id.len, psk.p, psk.len)))
            goto fail;
        if (g->n_ext_psks == before) { /* the same id twice */
            rc = MLS_E_DECODE;
            goto fail;
        }
    }
    if ((rc = rd_bool(&r, &g->removed)) || (rc = rd_bool(&r, &g->reinit)) ||
        (rc = mls_rd_end(&r)))
        goto fail;
    if (mls_tree_n_leaves(g->tree) == 0 || g->own_leaf >= mls_tree_n_leaves(g->tree) ||
        (!g->removed && (!mls_tree_leaf(g->tree, g->own_leaf) || g->st.n_leaves == 0)) ||
        (g->removed && g->st.n_leaves != 0) ||
        g->gc.cipher_suite != MLS_CIPHER_SUITE) {
        rc = MLS_E_DECODE;
        goto fail;
    }
    *out = g;
    return 0;
fail:
    mls_group_free(g);
    return rc == MLS_E_NOMEM || rc == MLS_E_UNSUPPORTED ? rc : MLS_E_DECODE;
}

int mls_group_export(const mls_group *g, mls_bytes *out)
{
    mls_buf b = { 0 };
    int rc;
    memset(out, 0, sizeof *out);
    if (g->pending_next)
        return MLS_E_STATE;
    rc = mls_state_encode(g, &b);
    if (!rc)
        rc = mls_bytes_set(out, b.p, b.len);
    mls_buf_free(&b);
    return rc;
}

int mls_group_import(mls_group **out, const uint8_t *state, size_t state_len)
{
    mls_group *g = NULL;
    int rc;
    if (!out)
        return MLS_E_INVALID;
    *out = NULL;
    if (!state)
        return MLS_E_INVALID;
    if ((rc = mls_state_decode(&g, state, state_len)))
        return rc;
    /* bytes from storage are checked like a tree from the network: the tree against the
     * GroupContext, our keys against the tree, the secret tree against its width */
    if (g->gc.tree_hash.len != MLS_HASH_LEN ||
        mls_tree_validate(g->tree, g->gc.group_id.p, g->gc.group_id.len, g->gc.tree_hash.p) ||
        (!g->removed && (g->st.n_leaves != mls_tree_n_leaves(g->tree) ||
                         g->priv.leaf != g->own_leaf ||
                         mls_treekem_priv_check(&g->priv, g->tree) != 0))) {
        mls_group_free(g);
        return MLS_E_DECODE;
    }
    *out = g;
    return 0;
}
