#include "mls_treekem.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_hpke.h"

#define PATH_CT_LEN (MLS_HASH_LEN + MLS_AEAD_TAG_LEN)

/* Key pair of a node from its path secret: DeriveKeyPair(DeriveSecret(ps, "node")). */
static int node_keypair(const uint8_t ps[MLS_HASH_LEN], uint8_t sk[MLS_KEM_SK_LEN],
                        uint8_t pk[MLS_KEM_PK_LEN])
{
    uint8_t ns[MLS_HASH_LEN];
    int rc = mls_derive_secret(ps, MLS_HASH_LEN, "node", ns);
    if (!rc)
        rc = mls_hpke_derive_keypair(ns, sizeof ns, sk, pk);
    sodium_memzero(ns, sizeof ns);
    return rc;
}

static int next_path_secret(const uint8_t ps[MLS_HASH_LEN], uint8_t out[MLS_HASH_LEN])
{
    return mls_derive_secret(ps, MLS_HASH_LEN, "path", out);
}

static int key_is(const mls_bytes *k, const uint8_t pk[MLS_KEM_PK_LEN])
{
    return k && k->len == MLS_KEM_PK_LEN && sodium_memcmp(k->p, pk, MLS_KEM_PK_LEN) == 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- private view ---- */

void mls_treekem_priv_init(mls_treekem_priv *priv, uint32_t leaf,
                           const uint8_t leaf_sk[MLS_KEM_SK_LEN])
{
    sodium_memzero(priv, sizeof *priv);
    priv->leaf = leaf;
    memcpy(priv->leaf_sk, leaf_sk, MLS_KEM_SK_LEN);
}

void mls_treekem_priv_wipe(mls_treekem_priv *priv)
{
    sodium_memzero(priv, sizeof *priv);
}

void mls_treekem_priv_set_leaf_key(mls_treekem_priv *priv, const uint8_t sk[MLS_KEM_SK_LEN])
{
    memcpy(priv->leaf_sk, sk, MLS_KEM_SK_LEN);
}

/* Sets (replacing) the key of node in priv. The direct path has at most
 * MLS_TREE_MAX_DEPTH nodes, so an unknown node always fits once stale ones are pruned;
 * callers prune first. */
static void put_key(mls_treekem_priv *priv, uint32_t node, const uint8_t sk[MLS_KEM_SK_LEN],
                    const uint8_t pk[MLS_KEM_PK_LEN])
{
    size_t i = 0;
    while (i < priv->n_keys && priv->keys[i].node != node)
        i++;
    if (i == priv->n_keys) {
        if (priv->n_keys == MLS_TREE_MAX_DEPTH)
            return;
        priv->n_keys++;
    }
    priv->keys[i].node = node;
    memcpy(priv->keys[i].sk, sk, MLS_KEM_SK_LEN);
    memcpy(priv->keys[i].pk, pk, MLS_KEM_PK_LEN);
}

static int on_direct_path(const mls_treekem_priv *priv, const mls_tree *t, uint32_t node)
{
    return node % 2 == 1 && node < mls_tree_n_nodes(t) &&
           mls_tm_is_in_subtree(node, 2 * priv->leaf);
}

void mls_treekem_priv_prune(mls_treekem_priv *priv, const mls_tree *t)
{
    size_t w = 0;
    for (size_t i = 0; i < priv->n_keys; i++) {
        const mls_treekem_node_key *k = &priv->keys[i];
        if (!on_direct_path(priv, t, k->node) || !key_is(mls_tree_node_key(t, k->node), k->pk))
            continue;
        if (w != i)
            priv->keys[w] = *k;
        w++;
    }
    for (size_t i = w; i < priv->n_keys; i++)
        sodium_memzero(&priv->keys[i], sizeof priv->keys[i]);
    priv->n_keys = w;
}

const uint8_t *mls_treekem_priv_key_for(const mls_treekem_priv *priv, const mls_tree *t,
                                        uint32_t node)
{
    if (node == 2 * priv->leaf)
        return mls_tree_node_key(t, node) ? priv->leaf_sk : NULL;
    for (size_t i = 0; i < priv->n_keys; i++)
        if (priv->keys[i].node == node && key_is(mls_tree_node_key(t, node), priv->keys[i].pk))
            return priv->keys[i].sk;
    return NULL;
}

int mls_treekem_priv_check(const mls_treekem_priv *priv, const mls_tree *t)
{
    uint8_t pk[MLS_KEM_PK_LEN];
    const mls_leaf_node *ln = mls_tree_leaf(t, priv->leaf);
    if (!ln || mls_hpke_pub_from_priv(priv->leaf_sk, pk) || !key_is(&ln->encryption_key, pk))
        return MLS_E_WRONG_KEY;
    for (size_t i = 0; i < priv->n_keys; i++) {
        const mls_treekem_node_key *k = &priv->keys[i];
        if (!on_direct_path(priv, t, k->node) || !key_is(mls_tree_node_key(t, k->node), k->pk))
            return MLS_E_WRONG_KEY;
        if (mls_hpke_pub_from_priv(k->sk, pk) || sodium_memcmp(pk, k->pk, sizeof pk) != 0)
            return MLS_E_WRONG_KEY;
    }
    return 0;
}

int mls_treekem_priv_set_path_secret(mls_treekem_priv *priv, const mls_tree *t, uint32_t node,
                                     const uint8_t path_secret[MLS_HASH_LEN], int up)
{
    uint32_t fdp[MLS_TREE_MAX_DEPTH], list[MLS_TREE_MAX_DEPTH];
    size_t n = 0;
    if (!on_direct_path(priv, t, node) || !mls_tree_parent(t, node))
        return MLS_E_PATH;
    if (up) {
        size_t m = mls_tree_filtered_direct_path(t, priv->leaf, fdp, NULL);
        size_t k = 0;
        while (k < m && fdp[k] != node)
            k++;
        if (k == m)
            return MLS_E_PATH;
        for (; k < m; k++)
            list[n++] = fdp[k];
    } else {
        list[n++] = node;
    }
    mls_treekem_priv tmp = *priv;
    uint8_t ps[MLS_HASH_LEN], sk[MLS_KEM_SK_LEN], pk[MLS_KEM_PK_LEN];
    int rc = 0;
    memcpy(ps, path_secret, MLS_HASH_LEN);
    mls_treekem_priv_prune(&tmp, t);
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = node_keypair(ps, sk, pk)))
            break;
        if (!key_is(mls_tree_node_key(t, list[i]), pk)) {
            rc = MLS_E_PATH;
            break;
        }
        put_key(&tmp, list[i], sk, pk);
        rc = next_path_secret(ps, ps);
    }
    if (!rc)
        *priv = tmp;
    sodium_memzero(&tmp, sizeof tmp);
    sodium_memzero(ps, sizeof ps);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* ---- committer ---- */

void mls_treekem_commit_wipe(mls_treekem_commit *st)
{
    sodium_memzero(st, sizeof *st);
}

int mls_treekem_commit_start(mls_tree *t, uint32_t leaf, const mls_leaf_node *tmpl,
                             const uint8_t sig_seed[MLS_SIG_SEED_LEN], const uint8_t *group_id,
                             size_t gid_len, mls_rng *rng, mls_treekem_commit *st)
{
    mls_leaf_node ln = { 0 };
    uint8_t leaf_pk[MLS_KEM_PK_LEN], ph[MLS_HASH_LEN], ps[MLS_HASH_LEN];
    size_t ph_len = 0;
    int rc;
    sodium_memzero(st, sizeof *st);
    if (leaf >= mls_tree_n_leaves(t))
        return MLS_E_INVALID;
    const mls_leaf_node *base = tmpl ? tmpl : mls_tree_leaf(t, leaf);
    if (!base)
        return MLS_E_INVALID;
    if ((rc = mls_leaf_node_copy(&ln, base)))
        return rc;
    st->leaf = leaf;
    mls_tree_blank_direct_path(t, leaf);
    st->n = mls_tree_filtered_direct_path(t, leaf, st->nodes, st->copath);
    if ((rc = mls_hpke_keygen(rng, st->leaf_sk, leaf_pk)))
        goto fail;
    mls_rng_fill(rng, ps, sizeof ps);
    for (size_t k = 0; k < st->n; k++) {
        memcpy(st->path_secret[k], ps, MLS_HASH_LEN);
        if ((rc = node_keypair(ps, st->node_sk[k], st->node_pk[k])) ||
            (rc = mls_tree_set_parent_key(t, st->nodes[k], st->node_pk[k], MLS_KEM_PK_LEN)) ||
            (rc = next_path_secret(ps, ps)))
            goto fail;
    }
    /* With no path node (we are alone) the random secret is still one step away. */
    if ((rc = st->n ? 0 : next_path_secret(ps, ps)))
        goto fail;
    memcpy(st->commit_secret, ps, MLS_HASH_LEN);
    if ((rc = mls_tree_set_path_parent_hashes(t, leaf, ph, &ph_len)))
        goto fail;
    ln.leaf_node_source = MLS_LEAF_SOURCE_COMMIT;
    ln.lifetime = (mls_lifetime){ 0, 0 };
    if ((rc = mls_bytes_set(&ln.encryption_key, leaf_pk, sizeof leaf_pk)) ||
        (rc = mls_bytes_set(&ln.parent_hash, ph, ph_len)) ||
        (rc = mls_leaf_node_sign(&ln, sig_seed, group_id, gid_len, leaf)) ||
        (rc = mls_tree_set_leaf(t, leaf, &ln)))
        goto fail;
    mls_leaf_node_free(&ln);
    sodium_memzero(ps, sizeof ps);
    return 0;
fail:
    mls_leaf_node_free(&ln);
    sodium_memzero(ps, sizeof ps);
    mls_treekem_commit_wipe(st);
    return rc;
}

/* A sorted copy of v[0..n) in *out (NULL for n == 0). */
static int sorted_copy(const uint32_t *v, size_t n, uint32_t **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    uint32_t *c = mls_alloc_array(n, sizeof *c);
    if (!c)
        return MLS_E_NOMEM;
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_u32);
    *out = c;
    return 0;
}

int mls_treekem_commit_encrypt(const mls_tree *t, const mls_treekem_commit *st,
                               const uint32_t *new_leaves, size_t n_new, const uint8_t *gc,
                               size_t gc_len, mls_rng *rng, mls_update_path *out)
{
    uint32_t *excl = NULL, *res = NULL;
    size_t cap = mls_tree_n_nodes(t);
    int rc;
    memset(out, 0, sizeof *out);
    const mls_leaf_node *ln = mls_tree_leaf(t, st->leaf);
    if (!ln)
        return MLS_E_STATE;
    if ((rc = sorted_copy(new_leaves, n_new, &excl)))
        return rc;
    res = mls_alloc_array(cap ? cap : 1, sizeof *res);
    out->nodes = mls_alloc_array(st->n, sizeof *out->nodes);
    if (!res || !out->nodes) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    out->n_nodes = st->n;
    if ((rc = mls_leaf_node_copy(&out->leaf_node, ln)))
        goto fail;
    for (size_t k = 0; k < st->n; k++) {
        mls_update_path_node *un = &out->nodes[k];
        size_t nr = 0;
        if ((rc = mls_bytes_set(&un->encryption_key, st->node_pk[k], MLS_KEM_PK_LEN)) ||
            (rc = mls_tree_resolution(t, st->copath[k], excl, n_new, res, cap, &nr)))
            goto fail;
        un->encrypted_path_secret = mls_alloc_array(nr, sizeof *un->encrypted_path_secret);
        if (!un->encrypted_path_secret) {
            rc = MLS_E_NOMEM;
            goto fail;
        }
        un->n_encrypted_path_secret = nr;
        for (size_t i = 0; i < nr; i++) {
            const mls_bytes *pk = mls_tree_node_key(t, res[i]);
            uint8_t kem[MLS_KEM_ENC_LEN], ct[PATH_CT_LEN];
            mls_hpke_ciphertext *c = &un->encrypted_path_secret[i];
            if (!pk || pk->len != MLS_KEM_PK_LEN) {
                rc = MLS_E_TREE;
                goto fail;
            }
            if ((rc = mls_encrypt_with_label(pk->p, "UpdatePathNode", gc, gc_len,
                                             st->path_secret[k], MLS_HASH_LEN, rng, kem, ct)) ||
                (rc = mls_bytes_set(&c->kem_output, kem, sizeof kem)) ||
                (rc = mls_bytes_set(&c->ciphertext, ct, sizeof ct)))
                goto fail;
        }
    }
    mls_free(res, (cap ? cap : 1) * sizeof *res);
    mls_free(excl, n_new * sizeof *excl);
    return 0;
fail:
    mls_free(res, (cap ? cap : 1) * sizeof *res);
    mls_free(excl, n_new * sizeof *excl);
    mls_update_path_free(out);
    return rc;
}

int mls_treekem_commit_path_secret(const mls_treekem_commit *st, uint32_t leaf,
                                   uint8_t out[MLS_HASH_LEN])
{
    uint32_t lca = mls_tm_common_ancestor(2 * st->leaf, 2 * leaf);
    for (size_t k = 0; k < st->n; k++) {
        if (st->nodes[k] == lca) {
            memcpy(out, st->path_secret[k], MLS_HASH_LEN);
            return 0;
        }
    }
    return MLS_E_NOT_FOUND;
}

void mls_treekem_commit_finish(const mls_treekem_commit *st, const mls_tree *t,
                               mls_treekem_priv *priv)
{
    priv->leaf = st->leaf;
    memcpy(priv->leaf_sk, st->leaf_sk, MLS_KEM_SK_LEN);
    mls_treekem_priv_prune(priv, t);
    for (size_t k = 0; k < st->n; k++)
        put_key(priv, st->nodes[k], st->node_sk[k], st->node_pk[k]);
}

/* ---- receiver ---- */

/* 1 if key (MLS_KEM_PK_LEN bytes) is one of the first n keys of up's path nodes, or
 * (with leaf set) up's leaf key. */
static int key_in_path(const mls_update_path *up, size_t n, int leaf, const uint8_t *key)
{
    if (leaf && up->leaf_node.encryption_key.len == MLS_KEM_PK_LEN &&
        memcmp(up->leaf_node.encryption_key.p, key, MLS_KEM_PK_LEN) == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (memcmp(up->nodes[i].encryption_key.p, key, MLS_KEM_PK_LEN) == 0)
            return 1;
    return 0;
}

int mls_treekem_merge(mls_tree *t, uint32_t sender, const mls_update_path *up,
                      const uint8_t *group_id, size_t gid_len)
{
    uint32_t fdp[MLS_TREE_MAX_DEPTH];
    uint8_t ph[MLS_HASH_LEN];
    size_t ph_len = 0;
    int rc;
    if (sender >= mls_tree_n_leaves(t))
        return MLS_E_INVALID;
    /* The filtered direct path depends only on the copath subtrees, which merging does
     * not touch, so it can be taken before the change. */
    size_t m = mls_tree_filtered_direct_path(t, sender, fdp, NULL);
    if (up->n_nodes != m)
        return MLS_E_PATH;
    const mls_leaf_node *ln = &up->leaf_node;
    if (mls_leaf_node_check_suite(ln) || ln->leaf_node_source != MLS_LEAF_SOURCE_COMMIT)
        return MLS_E_LEAF_NODE;
    for (size_t i = 0; i < m; i++) {
        const mls_bytes *k = &up->nodes[i].encryption_key;
        if (k->len != MLS_KEM_PK_LEN || key_in_path(up, i, 1, k->p) ||
            mls_tree_find_encryption_key(t, k->p, k->len) != MLS_NODE_NONE)
            return MLS_E_PATH;
    }
    if (mls_tree_find_encryption_key(t, ln->encryption_key.p, ln->encryption_key.len) !=
        MLS_NODE_NONE)
        return MLS_E_PATH;
    if ((rc = mls_leaf_node_verify(ln, group_id, gid_len, sender)))
        return rc;
    mls_tree_blank_direct_path(t, sender);
    for (size_t i = 0; i < m; i++)
        if ((rc = mls_tree_set_parent_key(t, fdp[i], up->nodes[i].encryption_key.p,
                                          MLS_KEM_PK_LEN)))
            return rc;
    if ((rc = mls_tree_set_path_parent_hashes(t, sender, ph, &ph_len)))
        return rc;
    if (!mls_bytes_eq(ph, ph_len, ln->parent_hash.p, ln->parent_hash.len))
        return MLS_E_PARENT_HASH;
    return mls_tree_set_leaf(t, sender, ln);
}

int mls_treekem_decrypt(mls_treekem_priv *priv, const mls_tree *t, uint32_t sender,
                        const mls_update_path *up, const uint32_t *new_leaves, size_t n_new,
                        const uint8_t *gc, size_t gc_len, uint8_t commit_secret[MLS_HASH_LEN],
                        uint8_t path_secret[MLS_HASH_LEN])
{
    uint32_t fdp[MLS_TREE_MAX_DEPTH], cp[MLS_TREE_MAX_DEPTH];
    uint32_t *excl = NULL, *res = NULL;
    size_t cap = mls_tree_n_nodes(t), k0 = SIZE_MAX, i0 = 0;
    const uint8_t *sk = NULL;
    uint8_t ps[MLS_HASH_LEN], nsk[MLS_KEM_SK_LEN], npk[MLS_KEM_PK_LEN];
    mls_treekem_priv tmp;
    int rc;
    if (priv->leaf == sender)
        return MLS_E_STATE;
    size_t m = mls_tree_filtered_direct_path(t, sender, fdp, cp);
    if (up->n_nodes != m)
        return MLS_E_PATH;
    if ((rc = sorted_copy(new_leaves, n_new, &excl)))
        return rc;
    res = mls_alloc_array(cap ? cap : 1, sizeof *res);
    if (!res) {
        rc = MLS_E_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < m; k++) {
        size_t nr = 0;
        if ((rc = mls_tree_resolution(t, cp[k], excl, n_new, res, cap, &nr)))
            goto done;
        if (nr != up->nodes[k].n_encrypted_path_secret) {
            rc = MLS_E_PATH;
            goto done;
        }
        if (k0 != SIZE_MAX || !mls_tm_is_in_subtree(cp[k], 2 * priv->leaf))
            continue;
        k0 = k;
        for (size_t i = 0; i < nr && !sk; i++) {
            sk = mls_treekem_priv_key_for(priv, t, res[i]);
            i0 = i;
        }
    }
    if (k0 == SIZE_MAX || !sk) {
        rc = MLS_E_WRONG_KEY;
        goto done;
    }
    const mls_hpke_ciphertext *c = &up->nodes[k0].encrypted_path_secret[i0];
    if (c->kem_output.len != MLS_KEM_ENC_LEN || c->ciphertext.len != PATH_CT_LEN) {
        rc = MLS_E_PATH;
        goto done;
    }
    if ((rc = mls_decrypt_with_label(sk, "UpdatePathNode", gc, gc_len, c->kem_output.p,
                                     c->ciphertext.p, c->ciphertext.len, ps)))
        goto done;
    if (path_secret)
        memcpy(path_secret, ps, MLS_HASH_LEN);
    tmp = *priv;
    mls_treekem_priv_prune(&tmp, t);
    for (size_t k = k0; k < m; k++) {
        if ((rc = node_keypair(ps, nsk, npk)))
            goto done;
        if (!key_is(&up->nodes[k].encryption_key, npk) ||
            !key_is(mls_tree_node_key(t, fdp[k]), npk)) {
            rc = MLS_E_PATH;
            goto done;
        }
        put_key(&tmp, fdp[k], nsk, npk);
        if ((rc = next_path_secret(ps, ps)))
            goto done;
    }
    memcpy(commit_secret, ps, MLS_HASH_LEN);
    *priv = tmp;
done:
    if (rc && path_secret)
        sodium_memzero(path_secret, MLS_HASH_LEN);
    sodium_memzero(&tmp, sizeof tmp);
    sodium_memzero(ps, sizeof ps);
    sodium_memzero(nsk, sizeof nsk);
    mls_free(res, (cap ? cap : 1) * sizeof *res);
    mls_free(excl, n_new * sizeof *excl);
    return rc;
}
