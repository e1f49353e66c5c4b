/* test_mls_tree: the ratchet tree (add / update / remove / truncate, encoding, cached
 * tree hash, copies), join validation with one distinct error per defect, and TreeKEM
 * (every member reaches the committer's commit secret; tampered UpdatePaths rejected). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "mls_alloc.h"
#include "mls_codec.h"
#include "mls_commit.h"
#include "mls_credential.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_hpke.h"
#include "mls_leafnode.h"
#include "mls_tree.h"
#include "mls_treekem.h"

static const uint8_t gid[] = "test group";
#define GID_LEN (sizeof gid - 1)

#define MAXM 16

/* Deterministic randomness for reproducible trees (test keys only). */
static uint64_t rng_ctr;
static void det_fill(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    uint8_t seed[crypto_stream_chacha20_KEYBYTES] = { 0x42 };
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    memcpy(nonce, &rng_ctr, sizeof nonce);
    rng_ctr++;
    crypto_stream_chacha20(out, n, nonce, seed);
}
static mls_rng rng = { det_fill, NULL };

/* Member i's keys. */
static uint8_t sig_seed[MAXM][MLS_SIG_SEED_LEN];
static uint8_t enc_sk[MAXM][MLS_KEM_SK_LEN];

/* A KeyPackage-style leaf for member i (fresh keys from rng). */
static void make_leaf(uint32_t i, mls_leaf_node *ln)
{
    uint8_t sig_pub[MLS_SIG_PUB_LEN], enc_pk[MLS_KEM_PK_LEN], id[16];
    memset(ln, 0, sizeof *ln);
    mls_sig_keygen(&rng, sig_seed[i], sig_pub);
    CHECK_EQ(mls_hpke_keygen(&rng, enc_sk[i], enc_pk), 0);
    int n = snprintf((char *)id, sizeof id, "member %u", i);
    CHECK_EQ(mls_credential_init_basic(&ln->credential, id, (size_t)n), 0);
    CHECK_EQ(mls_capabilities_init_default(&ln->capabilities), 0);
    CHECK_EQ(mls_bytes_set(&ln->encryption_key, enc_pk, sizeof enc_pk), 0);
    CHECK_EQ(mls_bytes_set(&ln->signature_key, sig_pub, sizeof sig_pub), 0);
    ln->leaf_node_source = MLS_LEAF_SOURCE_KEY_PACKAGE;
    ln->lifetime = (mls_lifetime){ 0, UINT64_MAX };
    CHECK_EQ(mls_leaf_node_sign(ln, sig_seed[i], NULL, 0, 0), 0);
}

/* The root hash of t equals that of a fresh decode of its encoding (no stale cache). */
static void check_hash_fresh(mls_tree *t)
{
    mls_buf b = { 0 };
    mls_tree *u = NULL;
    uint8_t h1[MLS_HASH_LEN], h2[MLS_HASH_LEN];
    CHECK_EQ(mls_tree_encode(t, &b), 0);
    CHECK_EQ(mls_tree_decode(&u, b.p, b.len), 0);
    CHECK_EQ(mls_tree_n_leaves(u), mls_tree_n_leaves(t));
    CHECK_EQ(mls_tree_root_hash(t, h1), 0);
    if (u) {
        CHECK_EQ(mls_tree_root_hash(u, h2), 0);
        CHECK_MEM(h1, h2, sizeof h1);
    }
    mls_tree_free(u);
    mls_buf_free(&b);
}

static void test_add_remove_truncate(void)
{
    mls_tree *t = NULL;
    mls_leaf_node ln;
    uint32_t leaf = 99;
    mls_buf b = { 0 };

    CHECK_EQ(mls_tree_new(&t), 0);
    CHECK_EQ(mls_tree_n_leaves(t), 0);
    for (uint32_t i = 0; i < 5; i++) {
        make_leaf(i, &ln);
        CHECK_EQ(mls_tree_add_leaf(t, &ln, &leaf), 0);
        CHECK_EQ(leaf, i);
        mls_leaf_node_free(&ln);
        check_hash_fresh(t);
    }
    CHECK_EQ(mls_tree_n_leaves(t), 8);
    CHECK_EQ(mls_tree_member_count(t), 5);
    /* The encoding stops at the last non-blank node (leaf 4 = node 8). */
    CHECK_EQ(mls_tree_encode(t, &b), 0);
    {
        mls_node_array a = { 0 };
        CHECK_EQ(mls_node_array_decode_all(b.p, b.len, &a), 0);
        CHECK_EQ(a.n, 9);
        mls_node_array_free(&a);
    }
    /* Removing leaf 4 leaves the right half blank: truncated to 4 leaves. */
    CHECK_EQ(mls_tree_remove_leaf(t, 4), 0);
    CHECK_EQ(mls_tree_n_leaves(t), 4);
    check_hash_fresh(t);
    /* A hole is filled first (leftmost blank leaf). */
    CHECK_EQ(mls_tree_remove_leaf(t, 1), 0);
    CHECK_EQ(mls_tree_n_leaves(t), 4);
    CHECK(mls_tree_leaf(t, 1) == NULL);
    make_leaf(5, &ln);
    CHECK_EQ(mls_tree_add_leaf(t, &ln, &leaf), 0);
    CHECK_EQ(leaf, 1);
    mls_leaf_node_free(&ln);
    /* Full again: the next add extends to 8 leaves. */
    make_leaf(6, &ln);
    CHECK_EQ(mls_tree_add_leaf(t, &ln, &leaf), 0);
    CHECK_EQ(leaf, 4);
    CHECK_EQ(mls_tree_n_leaves(t), 8);
    mls_leaf_node_free(&ln);
    check_hash_fresh(t);
    /* Removing the middle keeps the width; removing from the right shrinks twice. */
    CHECK_EQ(mls_tree_remove_leaf(t, 3), 0);
    CHECK_EQ(mls_tree_n_leaves(t), 8);
    CHECK_EQ(mls_tree_remove_leaf(t, 4), 0);
    CHECK_EQ(mls_tree_n_leaves(t), 4);
    CHECK_EQ(mls_tree_remove_leaf(t, 2), 0);
    CHECK_EQ(mls_tree_n_leaves(t), 2);
    check_hash_fresh(t);
    /* Bad arguments. */
    CHECK_EQ(mls_tree_remove_leaf(t, 7), MLS_E_INVALID);
    make_leaf(7, &ln);
    CHECK_EQ(mls_tree_update_leaf(t, 5, &ln), MLS_E_INVALID);
    /* Update replaces the leaf. */
    CHECK_EQ(mls_tree_update_leaf(t, 1, &ln), 0);
    CHECK(mls_tree_leaf(t, 1) != NULL &&
          mls_bytes_eq(mls_tree_leaf(t, 1)->encryption_key.p, MLS_KEM_PK_LEN,
                       ln.encryption_key.p, MLS_KEM_PK_LEN));
    mls_leaf_node_free(&ln);
    check_hash_fresh(t);
    mls_buf_free(&b);
    mls_tree_free(t);
}

/* A group of n members built by leaf 0 adding everyone, then commits with paths from
 * the leaves in committers, so that parents are set, plus late adds (unmerged leaves).
 * Returns the tree; priv gets every member's TreeKEM state. */
static mls_tree *build_group(uint32_t n, const uint32_t *committers, size_t n_commit,
                             uint32_t late_adds, mls_treekem_priv *priv)
{
    mls_tree *t = NULL;
    mls_leaf_node ln;
    CHECK_EQ(mls_tree_new(&t), 0);
    for (uint32_t i = 0; i < n; i++) {
        make_leaf(i, &ln);
        CHECK_EQ(mls_tree_add_leaf(t, &ln, NULL), 0);
        mls_leaf_node_free(&ln);
        mls_treekem_priv_init(&priv[i], i, enc_sk[i]);
    }
    for (size_t c = 0; c < n_commit; c++) {
        uint32_t s = committers[c];
        mls_treekem_commit st;
        mls_update_path up;
        uint8_t th[MLS_HASH_LEN];
        mls_tree *mine = NULL;
        CHECK_EQ(mls_tree_copy(&mine, t), 0);
        CHECK_EQ(mls_treekem_commit_start(mine, s, NULL, sig_seed[s], gid, GID_LEN, &rng, &st), 0);
        CHECK_EQ(mls_tree_root_hash(mine, th), 0);
        /* The tree hash stands in for a GroupContext here. */
        CHECK_EQ(mls_treekem_commit_encrypt(mine, &st, NULL, 0, th, sizeof th, &rng, &up), 0);
        for (uint32_t j = 0; j < mls_tree_n_leaves(t); j++) {
            if (j == s || !mls_tree_leaf(t, j))
                continue;
            mls_tree *r = NULL;
            uint8_t cs[MLS_HASH_LEN], th2[MLS_HASH_LEN];
            CHECK_EQ(mls_tree_copy(&r, t), 0);
            CHECK_EQ(mls_treekem_merge(r, s, &up, gid, GID_LEN), 0);
            CHECK_EQ(mls_tree_root_hash(r, th2), 0);
            CHECK_MEM(th, th2, sizeof th);
            CHECK_EQ(mls_treekem_decrypt(&priv[j], r, s, &up, NULL, 0, th, sizeof th, cs, NULL), 0);
            CHECK_MEM(cs, st.commit_secret, sizeof cs);
            CHECK_EQ(mls_treekem_priv_check(&priv[j], r), 0);
            mls_tree_free(r);
        }
        mls_treekem_commit_finish(&st, mine, &priv[s]);
        CHECK_EQ(mls_treekem_priv_check(&priv[s], mine), 0);
        mls_tree_free(t);
        t = mine;
        mls_treekem_commit_wipe(&st);
        mls_update_path_free(&up);
        CHECK_EQ(mls_tree_validate(t, gid, GID_LEN, NULL), 0);
    }
    for (uint32_t i = 0; i < late_adds; i++) {
        make_leaf(n + i, &ln);
        uint32_t leaf;
        CHECK_EQ(mls_tree_add_leaf(t, &ln, &leaf), 0);
        mls_treekem_priv_init(&priv[leaf], leaf, enc_sk[n + i]);
        mls_leaf_node_free(&ln);
    }
    return t;
}

/* Re-encodes t, lets fn change the decoded node array, and decodes the result. */
static mls_tree *tampered(mls_tree *t, void (*fn)(mls_node_array *a))
{
    mls_buf b = { 0 };
    mls_node_array a = { 0 };
    mls_tree *u = NULL;
    CHECK_EQ(mls_tree_encode(t, &b), 0);
    CHECK_EQ(mls_node_array_decode_all(b.p, b.len, &a), 0);
    fn(&a);
    CHECK_EQ(mls_tree_from_array(&u, &a), 0);
    mls_buf_free(&b);
    return u;
}

/* Expects validation of the tampered tree to fail with want (its own tree hash given, so
 * the tree hash check passes and the defect itself is what is reported). */
static void expect_invalid(mls_tree *t, void (*fn)(mls_node_array *a), int want)
{
    mls_tree *u = tampered(t, fn);
    uint8_t h[MLS_HASH_LEN];
    if (!u)
        return;
    CHECK_EQ(mls_tree_root_hash(u, h), 0);
    CHECK_EQ(mls_tree_validate(u, gid, GID_LEN, h), want);
    mls_tree_free(u);
}

static void tamper_parent_hash(mls_node_array *a)
{
    /* The first parent that carries a parent hash. */
    for (size_t i = 1; i < a->n; i += 2)
        if (a->nodes[i] && a->nodes[i]->parent_node.parent_hash.len) {
            a->nodes[i]->parent_node.parent_hash.p[5] ^= 1;
            return;
        }
    CHECK(!"no parent with a parent hash");
}

static void tamper_parent_key(mls_node_array *a)
{
    /* A fresh key on the root breaks its children's parent hashes. */
    size_t root = 0;
    while (2 * root + 1 < a->n)
        root = 2 * root + 1;
    for (size_t i = 1; i < a->n; i += 2)
        if (a->nodes[i] && i >= root) {
            a->nodes[i]->parent_node.encryption_key.p[0] ^= 0x40;
            return;
        }
    CHECK(!"no parent to change");
}

static void tamper_signature(mls_node_array *a)
{
    a->nodes[2]->leaf_node.signature.p[10] ^= 1;
}

static void tamper_leaf_content(mls_node_array *a)
{
    /* A signed field changes: the signature no longer covers the leaf. */
    a->nodes[0]->leaf_node.credential.identity.p[0] ^= 1;
}

static void dup_leaf_enc_key(mls_node_array *a)
{
    mls_leaf_node *l1 = &a->nodes[2]->leaf_node, *l2 = &a->nodes[4]->leaf_node;
    memcpy(l2->encryption_key.p, l1->encryption_key.p, MLS_KEM_PK_LEN);
}

static void dup_sig_key(mls_node_array *a)
{
    mls_leaf_node *l1 = &a->nodes[2]->leaf_node, *l2 = &a->nodes[4]->leaf_node;
    memcpy(l2->signature_key.p, l1->signature_key.p, MLS_SIG_PUB_LEN);
}

static void dup_parent_key(mls_node_array *a)
{
    for (size_t i = 1; i < a->n; i += 2)
        if (a->nodes[i]) {
            memcpy(a->nodes[i]->parent_node.encryption_key.p,
                   a->nodes[0]->leaf_node.encryption_key.p, MLS_KEM_PK_LEN);
            return;
        }
    CHECK(!"no parent");
}

/* Gives the first non-blank parent an unmerged leaf outside its subtree (or a blank
 * one), which no Add would have produced. */
static void bad_unmerged(mls_node_array *a)
{
    for (size_t i = 1; i < a->n; i += 2) {
        mls_node *nd = a->nodes[i];
        if (!nd || nd->parent_node.n_unmerged_leaves)
            continue;
        uint32_t *v = mls_alloc_array(1, sizeof *v);
        CHECK(v != NULL);
        if (!v)
            return;
        v[0] = (uint32_t)(a->n / 2); /* the last leaf: not below the left parents */
        mls_free(nd->parent_node.unmerged_leaves, 0);
        nd->parent_node.unmerged_leaves = v;
        nd->parent_node.n_unmerged_leaves = 1;
        return;
    }
    CHECK(!"no parent");
}

static void unsorted_unmerged(mls_node_array *a)
{
    for (size_t i = 1; i < a->n; i += 2) {
        mls_node *nd = a->nodes[i];
        if (nd && nd->parent_node.n_unmerged_leaves >= 2) {
            uint32_t *v = nd->parent_node.unmerged_leaves;
            uint32_t x = v[0];
            v[0] = v[1];
            v[1] = x;
            return;
        }
    }
    CHECK(!"no parent with two unmerged leaves");
}

static void test_validation(void)
{
    mls_treekem_priv priv[MAXM];
    static const uint32_t committers[] = { 0, 3, 5, 1 };
    mls_tree *t = build_group(6, committers, 4, 2, priv);
    uint8_t h[MLS_HASH_LEN], bad[MLS_HASH_LEN];

    CHECK_EQ(mls_tree_root_hash(t, h), 0);
    CHECK_EQ(mls_tree_validate(t, gid, GID_LEN, h), 0);
    CHECK_EQ(mls_tree_verify_parent_hashes(t), 0);
    /* The late adds are unmerged at the non-blank parents above them. */
    {
        const mls_parent_node *root = mls_tree_parent(t, 7);
        CHECK(root != NULL);
        if (root) {
            CHECK_EQ(root->n_unmerged_leaves, 2);
            CHECK(root->n_unmerged_leaves == 2 && root->unmerged_leaves[0] == 6 &&
                  root->unmerged_leaves[1] == 7);
        }
    }
    memcpy(bad, h, sizeof bad);
    bad[0] ^= 1;
    CHECK_EQ(mls_tree_validate(t, gid, GID_LEN, bad), MLS_E_TREE_HASH);
    /* Leaf signatures use the group id as context for commit-source leaves. */
    CHECK_EQ(mls_tree_validate(t, (const uint8_t *)"other", 5, h), MLS_E_SIGNATURE);
    expect_invalid(t, tamper_parent_hash, MLS_E_PARENT_HASH);
    expect_invalid(t, tamper_parent_key, MLS_E_PARENT_HASH);
    expect_invalid(t, tamper_signature, MLS_E_SIGNATURE);
    expect_invalid(t, tamper_leaf_content, MLS_E_SIGNATURE);
    expect_invalid(t, dup_leaf_enc_key, MLS_E_LEAF_NODE);
    expect_invalid(t, dup_sig_key, MLS_E_LEAF_NODE);
    expect_invalid(t, dup_parent_key, MLS_E_TREE);
    expect_invalid(t, bad_unmerged, MLS_E_TREE);
    expect_invalid(t, unsorted_unmerged, MLS_E_TREE);
    /* A parent set without a chain down to a leaf: valid keys, no parent hash link. */
    {
        mls_tree *u = NULL;
        uint8_t k[MLS_KEM_PK_LEN], sk[MLS_KEM_SK_LEN];
        CHECK_EQ(mls_tree_copy(&u, t), 0);
        CHECK_EQ(mls_hpke_keygen(&rng, sk, k), 0);
        /* Node 9 is the parent of leaves 4 and 5. */
        CHECK_EQ(mls_tree_set_parent_key(u, 9, k, sizeof k), 0);
        CHECK_EQ(mls_tree_verify_parent_hashes(u), MLS_E_PARENT_HASH);
        CHECK_EQ(mls_tree_root_hash(u, h), 0);
        CHECK_EQ(mls_tree_validate(u, gid, GID_LEN, h), MLS_E_PARENT_HASH);
        mls_tree_free(u);
    }
    for (uint32_t i = 0; i < MAXM; i++)
        mls_treekem_priv_wipe(&priv[i]);
    mls_tree_free(t);
}

static void test_decode_shape(void)
{
    mls_buf b = { 0 };
    mls_tree *t = NULL;
    mls_leaf_node ln;
    mls_node leaf;
    mls_node *nodes[3];
    mls_node_array a;

    /* Empty vector. */
    mls_w_varint(&b, 0);
    CHECK_EQ(mls_tree_decode(&t, b.p, b.len), MLS_E_TREE);
    CHECK(t == NULL);
    /* A trailing blank node. */
    make_leaf(0, &ln);
    memset(&leaf, 0, sizeof leaf);
    leaf.node_type = MLS_NODE_TYPE_LEAF;
    leaf.leaf_node = ln;
    nodes[0] = &leaf;
    nodes[1] = NULL;
    nodes[2] = NULL;
    a = (mls_node_array){ nodes, 3 };
    mls_buf_reset(&b);
    CHECK_EQ(mls_node_array_encode(&b, &a), 0);
    CHECK_EQ(mls_tree_decode(&t, b.p, b.len), MLS_E_TREE);
    /* A leaf at an odd index. */
    nodes[1] = &leaf;
    a.n = 2;
    mls_buf_reset(&b);
    CHECK_EQ(mls_node_array_encode(&b, &a), 0);
    CHECK_EQ(mls_tree_decode(&t, b.p, b.len), MLS_E_TREE);
    /* Garbage and truncation. */
    a.n = 1;
    mls_buf_reset(&b);
    CHECK_EQ(mls_node_array_encode(&b, &a), 0);
    CHECK_EQ(mls_tree_decode(&t, b.p, b.len - 1), MLS_E_DECODE);
    /* A one-leaf tree decodes, encodes back the same and pads to width 1. */
    CHECK_EQ(mls_tree_decode(&t, b.p, b.len), 0);
    if (t) {
        mls_buf c = { 0 };
        CHECK_EQ(mls_tree_n_leaves(t), 1);
        CHECK_EQ(mls_tree_encode(t, &c), 0);
        CHECK(c.len == b.len && memcmp(c.p, b.p, b.len) == 0);
        mls_buf_free(&c);
    }
    mls_tree_free(t);
    /* A three-entry tree [A, _, B] becomes two leaves; [A, _, B, _, C] four. */
    {
        mls_leaf_node l2, l3;
        mls_node n2, n3;
        mls_node *five[5] = { &leaf, NULL, &n2, NULL, &n3 };
        make_leaf(1, &l2);
        make_leaf(2, &l3);
        memset(&n2, 0, sizeof n2);
        memset(&n3, 0, sizeof n3);
        n2.node_type = n3.node_type = MLS_NODE_TYPE_LEAF;
        n2.leaf_node = l2;
        n3.leaf_node = l3;
        a = (mls_node_array){ five, 5 };
        mls_buf_reset(&b);
        CHECK_EQ(mls_node_array_encode(&b, &a), 0);
        t = NULL;
        CHECK_EQ(mls_tree_decode(&t, b.p, b.len), 0);
        if (t) {
            CHECK_EQ(mls_tree_n_leaves(t), 4);
            CHECK_EQ(mls_tree_member_count(t), 3);
            check_hash_fresh(t);
        }
        mls_tree_free(t);
        mls_leaf_node_free(&l2);
        mls_leaf_node_free(&l3);
    }
    mls_leaf_node_free(&ln);
    mls_buf_free(&b);
}

static void test_copy_independent(void)
{
    mls_treekem_priv priv[MAXM];
    static const uint32_t committers[] = { 2 };
    mls_tree *t = build_group(4, committers, 1, 0, priv), *c = NULL;
    uint8_t h1[MLS_HASH_LEN], h2[MLS_HASH_LEN];
    CHECK_EQ(mls_tree_root_hash(t, h1), 0);
    CHECK_EQ(mls_tree_copy(&c, t), 0);
    CHECK_EQ(mls_tree_remove_leaf(c, 3), 0);
    CHECK_EQ(mls_tree_root_hash(t, h2), 0);
    CHECK_MEM(h1, h2, sizeof h1);
    CHECK_EQ(mls_tree_n_leaves(t), 4);
    CHECK_EQ(mls_tree_root_hash(c, h2), 0);
    CHECK(memcmp(h1, h2, sizeof h1) != 0);
    check_hash_fresh(c);
    mls_tree_free(c);
    mls_tree_free(t);
}

/* One commit from sender over t with the given new leaves, decrypted by all others. */
typedef struct commit_ctx {
    mls_tree *sender_tree;
    mls_treekem_commit st;
    mls_update_path up;
    uint8_t gc[MLS_HASH_LEN];
} commit_ctx;

static void make_commit(mls_tree *t, uint32_t s, const uint32_t *new_leaves, size_t n_new,
                        commit_ctx *cc)
{
    CHECK_EQ(mls_tree_copy(&cc->sender_tree, t), 0);
    CHECK_EQ(mls_treekem_commit_start(cc->sender_tree, s, NULL, sig_seed[s], gid, GID_LEN, &rng,
                                      &cc->st), 0);
    CHECK_EQ(mls_tree_root_hash(cc->sender_tree, cc->gc), 0);
    CHECK_EQ(mls_treekem_commit_encrypt(cc->sender_tree, &cc->st, new_leaves, n_new, cc->gc,
                                        sizeof cc->gc, &rng, &cc->up), 0);
}

static void free_commit(commit_ctx *cc)
{
    mls_tree_free(cc->sender_tree);
    mls_treekem_commit_wipe(&cc->st);
    mls_update_path_free(&cc->up);
}

/* Merges up into a copy of t and decrypts as member j: returns the first error. */
static int receive(mls_tree *t, uint32_t s, const mls_update_path *up, const uint32_t *nl,
                   size_t n_new, const uint8_t *gc, mls_treekem_priv *pj, uint8_t cs[MLS_HASH_LEN])
{
    mls_tree *r = NULL;
    int rc = mls_tree_copy(&r, t);
    if (!rc)
        rc = mls_treekem_merge(r, s, up, gid, GID_LEN);
    if (!rc)
        rc = mls_treekem_decrypt(pj, r, s, up, nl, n_new, gc, MLS_HASH_LEN, cs, NULL);
    mls_tree_free(r);
    return rc;
}

static void test_treekem_welcome_and_exclusion(void)
{
    mls_treekem_priv priv[MAXM];
    static const uint32_t committers[] = { 0, 4 };
    mls_tree *t = build_group(6, committers, 2, 0, priv);
    mls_leaf_node ln;
    uint32_t nl;
    commit_ctx cc;
    uint8_t cs[MLS_HASH_LEN], ps[MLS_HASH_LEN];
    memset(&cc, 0, sizeof cc);

    /* Leaf 1 is removed and a new member takes its seat in the same commit by 3. */
    CHECK_EQ(mls_tree_remove_leaf(t, 1), 0);
    make_leaf(9, &ln);
    CHECK_EQ(mls_tree_add_leaf(t, &ln, &nl), 0);
    CHECK_EQ(nl, 1);
    mls_leaf_node_free(&ln);
    make_commit(t, 3, &nl, 1, &cc);
    /* Path of leaf 3: nodes 5, 3, 7. Node 3's copath child (node 1, blank since the
     * removal) resolves to leaves 0 and 1; the newcomer at 1 gets no ciphertext. */
    CHECK_EQ(cc.up.n_nodes, 3);
    CHECK_EQ(cc.st.nodes[1], 3);
    CHECK_EQ(cc.up.nodes[1].n_encrypted_path_secret, 1);
    for (uint32_t j = 0; j < 6; j++) {
        if (j == 3 || j == 1)
            continue;
        mls_treekem_priv pj = priv[j];
        CHECK_EQ(receive(t, 3, &cc.up, &nl, 1, cc.gc, &pj, cs), 0);
        CHECK_MEM(cs, cc.st.commit_secret, sizeof cs);
    }
    /* The newcomer cannot decrypt the path (it is excluded) ... */
    {
        mls_treekem_priv pn;
        mls_treekem_priv_init(&pn, 1, enc_sk[9]);
        CHECK_EQ(receive(t, 3, &cc.up, &nl, 1, cc.gc, &pn, cs), MLS_E_WRONG_KEY);
        /* ... but joins with the Welcome's path secret at the common ancestor. */
        CHECK_EQ(mls_treekem_commit_path_secret(&cc.st, 1, ps), 0);
        uint32_t lca = mls_tm_common_ancestor(2 * 3, 2 * 1);
        CHECK_EQ(mls_treekem_priv_set_path_secret(&pn, cc.sender_tree, lca, ps, 1), 0);
        CHECK_EQ(mls_treekem_priv_check(&pn, cc.sender_tree), 0);
        CHECK(mls_treekem_priv_key_for(&pn, cc.sender_tree, lca) != NULL);
        CHECK(mls_treekem_priv_key_for(&pn, cc.sender_tree, mls_tm_root(8)) != NULL);
        /* A wrong path secret does not match the tree. */
        ps[0] ^= 1;
        CHECK_EQ(mls_treekem_priv_set_path_secret(&pn, cc.sender_tree, lca, ps, 1), MLS_E_PATH);
        mls_treekem_priv_wipe(&pn);
    }
    /* The sender does not process its own path. */
    {
        mls_treekem_priv p3 = priv[3];
        CHECK_EQ(mls_treekem_decrypt(&p3, cc.sender_tree, 3, &cc.up, &nl, 1, cc.gc,
                                     sizeof cc.gc, cs, NULL), MLS_E_STATE);
    }
    /* Decrypting without excluding the newcomer expects a ciphertext count it lacks. */
    {
        mls_treekem_priv p0 = priv[0];
        CHECK_EQ(receive(t, 3, &cc.up, NULL, 0, cc.gc, &p0, cs), MLS_E_PATH);
    }
    /* The wrong GroupContext fails to open. */
    {
        mls_treekem_priv p0 = priv[0];
        uint8_t gc2[MLS_HASH_LEN];
        memcpy(gc2, cc.gc, sizeof gc2);
        gc2[0] ^= 1;
        CHECK_EQ(receive(t, 3, &cc.up, &nl, 1, gc2, &p0, cs), MLS_E_CRYPTO);
    }
    free_commit(&cc);
    mls_tree_free(t);
}

static void copy_path(const mls_update_path *src, mls_update_path *dst)
{
    CHECK_EQ(mls_update_path_copy(dst, src), 0);
}

static void test_treekem_tampered(void)
{
    mls_treekem_priv priv[MAXM];
    static const uint32_t committers[] = { 0, 7, 3 };
    mls_tree *t = build_group(8, committers, 3, 0, priv);
    commit_ctx cc;
    mls_update_path up;
    uint8_t cs[MLS_HASH_LEN];
    memset(&cc, 0, sizeof cc);
    make_commit(t, 5, NULL, 0, &cc);
    CHECK_EQ(cc.up.n_nodes, 3);

    /* Untouched, member 0 accepts. */
    {
        mls_treekem_priv p = priv[0];
        CHECK_EQ(receive(t, 5, &cc.up, NULL, 0, cc.gc, &p, cs), 0);
        CHECK_MEM(cs, cc.st.commit_secret, sizeof cs);
    }
    /* A path node missing: wrong length. */
    copy_path(&cc.up, &up);
    mls_update_path_node_free(&up.nodes[2]);
    up.n_nodes = 2;
    {
        mls_tree *r = NULL;
        CHECK_EQ(mls_tree_copy(&r, t), 0);
        CHECK_EQ(mls_treekem_merge(r, 5, &up, gid, GID_LEN), MLS_E_PATH);
        mls_tree_free(r);
    }
    up.n_nodes = 3; /* the array still has 3 slots; the last is empty */
    mls_update_path_free(&up);
    /* A public key of the wrong length. */
    copy_path(&cc.up, &up);
    up.nodes[1].encryption_key.len = MLS_KEM_PK_LEN - 1;
    {
        mls_tree *r = NULL;
        CHECK_EQ(mls_tree_copy(&r, t), 0);
        CHECK_EQ(mls_treekem_merge(r, 5, &up, gid, GID_LEN), MLS_E_PATH);
        mls_tree_free(r);
    }
    up.nodes[1].encryption_key.len = MLS_KEM_PK_LEN;
    mls_update_path_free(&up);
    /* A path key already in the tree. */
    copy_path(&cc.up, &up);
    memcpy(up.nodes[0].encryption_key.p, mls_tree_leaf(t, 1)->encryption_key.p, MLS_KEM_PK_LEN);
    {
        mls_tree *r = NULL;
        CHECK_EQ(mls_tree_copy(&r, t), 0);
        CHECK_EQ(mls_treekem_merge(r, 5, &up, gid, GID_LEN), MLS_E_PATH);
        mls_tree_free(r);
    }
    mls_update_path_free(&up);
    /* A changed public key breaks the signed parent hash. */
    copy_path(&cc.up, &up);
    up.nodes[1].encryption_key.p[3] ^= 1;
    {
        mls_tree *r = NULL;
        CHECK_EQ(mls_tree_copy(&r, t), 0);
        CHECK_EQ(mls_treekem_merge(r, 5, &up, gid, GID_LEN), MLS_E_PARENT_HASH);
        mls_tree_free(r);
    }
    mls_update_path_free(&up);
    /* The leaf: bad signature, wrong source. */
    copy_path(&cc.up, &up);
    up.leaf_node.signature.p[0] ^= 1;
    {
        mls_treekem_priv p = priv[0];
        CHECK_EQ(receive(t, 5, &up, NULL, 0, cc.gc, &p, cs), MLS_E_SIGNATURE);
    }
    up.leaf_node.signature.p[0] ^= 1;
    up.leaf_node.leaf_node_source = MLS_LEAF_SOURCE_UPDATE;
    {
        mls_treekem_priv p = priv[0];
        CHECK_EQ(receive(t, 5, &up, NULL, 0, cc.gc, &p, cs), MLS_E_LEAF_NODE);
    }
    mls_update_path_free(&up);
    /* A ciphertext missing from a node: wrong length, seen by every receiver. */
    copy_path(&cc.up, &up);
    up.nodes[2].n_encrypted_path_secret--;
    {
        mls_treekem_priv p = priv[6];
        CHECK_EQ(receive(t, 5, &up, NULL, 0, cc.gc, &p, cs), MLS_E_PATH);
    }
    up.nodes[2].n_encrypted_path_secret++;
    /* A ciphertext of the wrong size. */
    up.nodes[2].encrypted_path_secret[0].ciphertext.len--;
    {
        mls_treekem_priv p = priv[0];
        CHECK_EQ(receive(t, 5, &up, NULL, 0, cc.gc, &p, cs), MLS_E_PATH);
    }
    up.nodes[2].encrypted_path_secret[0].ciphertext.len++;
    mls_update_path_free(&up);
    free_commit(&cc);

    /* A committer that publishes a key not derived from the path secret it sends, with
     * consistent parent hashes and a valid signature: members below detect the key
     * mismatch when they derive it. */
    {
        mls_tree *mine = NULL;
        mls_treekem_commit st;
        uint8_t k[MLS_KEM_PK_LEN], sk[MLS_KEM_SK_LEN], ph[MLS_HASH_LEN], gc[MLS_HASH_LEN];
        size_t ph_len = 0;
        mls_leaf_node ln;
        CHECK_EQ(mls_tree_copy(&mine, t), 0);
        CHECK_EQ(mls_treekem_commit_start(mine, 5, NULL, sig_seed[5], gid, GID_LEN, &rng, &st), 0);
        CHECK_EQ(mls_hpke_keygen(&rng, sk, k), 0);
        /* st.nodes[1] is the parent of leaves 4..7 (node 11). */
        CHECK_EQ(st.nodes[1], 11);
        CHECK_EQ(mls_tree_set_parent_key(mine, st.nodes[1], k, sizeof k), 0);
        CHECK_EQ(mls_tree_set_parent_key(mine, st.nodes[2], st.node_pk[2], MLS_KEM_PK_LEN), 0);
        CHECK_EQ(mls_tree_set_path_parent_hashes(mine, 5, ph, &ph_len), 0);
        CHECK_EQ(mls_leaf_node_copy(&ln, mls_tree_leaf(mine, 5)), 0);
        CHECK_EQ(mls_bytes_set(&ln.parent_hash, ph, ph_len), 0);
        CHECK_EQ(mls_leaf_node_sign(&ln, sig_seed[5], gid, GID_LEN, 5), 0);
        CHECK_EQ(mls_tree_set_leaf(mine, 5, &ln), 0);
        mls_leaf_node_free(&ln);
        CHECK_EQ(mls_tree_root_hash(mine, gc), 0);
        CHECK_EQ(mls_treekem_commit_encrypt(mine, &st, NULL, 0, gc, sizeof gc, &rng, &up), 0);
        memcpy(up.nodes[1].encryption_key.p, k, sizeof k);
        /* Leaf 4 decrypts at node 10's level and derives node 11's key: mismatch. */
        mls_treekem_priv p4 = priv[4];
        CHECK_EQ(receive(t, 5, &up, NULL, 0, gc, &p4, cs), MLS_E_PATH);
        /* unchanged on failure */
        CHECK_EQ(p4.n_keys, priv[4].n_keys);
        CHECK_MEM(p4.keys, priv[4].keys, priv[4].n_keys * sizeof p4.keys[0]);
        /* Leaf 0 decrypts at the root only: its keys match. */
        mls_treekem_priv p0 = priv[0];
        CHECK_EQ(receive(t, 5, &up, NULL, 0, gc, &p0, cs), 0);
        mls_update_path_free(&up);
        mls_treekem_commit_wipe(&st);
        mls_tree_free(mine);
    }
    for (uint32_t i = 0; i < MAXM; i++)
        mls_treekem_priv_wipe(&priv[i]);
    mls_tree_free(t);
}

/* The member count of groups built with late adds and removals stays consistent
 * through many commits: every member always agrees with the committer. */
static void test_treekem_many_epochs(void)
{
    mls_treekem_priv priv[MAXM];
    mls_tree *t = build_group(10, NULL, 0, 0, priv);
    uint32_t order[] = { 0, 9, 4, 2, 7, 4, 0, 8, 1, 5 };
    for (size_t e = 0; e < sizeof order / sizeof order[0]; e++) {
        uint32_t s = order[e];
        if (!mls_tree_leaf(t, s))
            continue;
        if (e == 3)
            CHECK_EQ(mls_tree_remove_leaf(t, 6), 0);
        commit_ctx cc;
        memset(&cc, 0, sizeof cc);
        make_commit(t, s, NULL, 0, &cc);
        for (uint32_t j = 0; j < mls_tree_n_leaves(t); j++) {
            uint8_t cs[MLS_HASH_LEN];
            mls_tree *r = NULL;
            if (j == s || !mls_tree_leaf(t, j))
                continue;
            CHECK_EQ(mls_tree_copy(&r, t), 0);
            CHECK_EQ(mls_treekem_merge(r, s, &cc.up, gid, GID_LEN), 0);
            CHECK_EQ(mls_treekem_decrypt(&priv[j], r, s, &cc.up, NULL, 0, cc.gc, sizeof cc.gc,
                                         cs, NULL), 0);
            CHECK_MEM(cs, cc.st.commit_secret, sizeof cs);
            CHECK_EQ(mls_treekem_priv_check(&priv[j], r), 0);
            mls_tree_free(r);
        }
        mls_treekem_commit_finish(&cc.st, cc.sender_tree, &priv[s]);
        mls_tree_free(t);
        t = cc.sender_tree;
        cc.sender_tree = NULL;
        CHECK_EQ(mls_tree_validate(t, gid, GID_LEN, NULL), 0);
        check_hash_fresh(t);
        free_commit(&cc);
    }
    for (uint32_t i = 0; i < MAXM; i++)
        mls_treekem_priv_wipe(&priv[i]);
    mls_tree_free(t);
}

/* Allocation failures: every call either succeeds or reports MLS_E_NOMEM and leaves a
 * tree that still works (the sanitizer build sees leaks and bad frees). */
static long fail_after = -1;
static void *fail_alloc(void *ctx, size_t n)
{
    (void)ctx;
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return malloc(n);
}
static void fail_release(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void test_alloc_failures(void)
{
    mls_treekem_priv priv[MAXM];
    static const uint32_t committers[] = { 1 };
    mls_tree *base = build_group(5, committers, 1, 1, priv);
    mls_buf enc = { 0 };
    mls_leaf_node ln;
    mls_alloc_hooks hooks = { fail_alloc, fail_release, NULL };
    int saw_nomem = 0, finished = 0;
    uint8_t want[MLS_HASH_LEN];

    make_leaf(12, &ln);
    CHECK_EQ(mls_tree_encode(base, &enc), 0);
    {
        mls_tree *c = NULL;
        CHECK_EQ(mls_tree_copy(&c, base), 0);
        CHECK_EQ(mls_tree_add_leaf(c, &ln, NULL), 0);
        CHECK_EQ(mls_tree_root_hash(c, want), 0);
        mls_tree_free(c);
    }
    mls_alloc_set_hooks(&hooks);
    for (long k = 0; k < 400 && !finished; k++) {
        mls_tree *t = NULL;
        uint8_t h[MLS_HASH_LEN];
        fail_after = k;
        int rc = mls_tree_decode(&t, enc.p, enc.len);
        if (!rc) {
            uint8_t before[MLS_HASH_LEN];
            fail_after = -1;
            CHECK_EQ(mls_tree_root_hash(t, before), 0);
            fail_after = k;
            rc = mls_tree_add_leaf(t, &ln, NULL);
            fail_after = -1;
            if (rc) {
                /* A failed add leaves the tree as it was. */
                CHECK_EQ(mls_tree_root_hash(t, h), 0);
                CHECK_MEM(h, before, sizeof h);
            } else {
                CHECK_EQ(mls_tree_root_hash(t, h), 0);
                CHECK_MEM(h, want, sizeof h);
                fail_after = k;
                rc = mls_tree_validate(t, gid, GID_LEN, want);
            }
        }
        fail_after = -1;
        mls_tree_free(t);
        if (rc) {
            CHECK_EQ(rc, MLS_E_NOMEM);
            saw_nomem = 1;
        } else {
            finished = 1;
        }
    }
    mls_alloc_set_hooks(NULL);
    CHECK(saw_nomem);
    CHECK(finished);
    mls_leaf_node_free(&ln);
    mls_buf_free(&enc);
    mls_tree_free(base);
    for (uint32_t i = 0; i < MAXM; i++)
        mls_treekem_priv_wipe(&priv[i]);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_add_remove_truncate();
    test_decode_shape();
    test_validation();
    test_copy_independent();
    test_treekem_welcome_and_exclusion();
    test_treekem_tampered();
    test_treekem_many_epochs();
    test_alloc_failures();
    return check_finish("test_mls_tree");
}
