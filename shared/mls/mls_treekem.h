/*
 * mls_treekem: TreeKEM (RFC 9420 7.4 - 7.6): a member's private keys in the ratchet
 * tree, creating an UpdatePath as a committer and merging and decrypting one as a
 * receiver, and the commit_secret both end with.
 *
 * Path secrets: path_secret[0] is random (at the first node of the committer's filtered
 * direct path), path_secret[n+1] = DeriveSecret(path_secret[n], "path"); the key pair of
 * a node is DeriveKeyPair(DeriveSecret(path_secret, "node")); commit_secret is the path
 * secret one step past the last (root) node. Path secrets are encrypted with
 * EncryptWithLabel(pk, "UpdatePathNode", GroupContext, path_secret).
 *
 * The GroupContext that is the HPKE context holds the tree hash of the tree with the
 * path merged, so both sides work in two steps and the caller (mls_group) builds the
 * provisional GroupContext in between:
 *
 *   committer                                 receiver
 *   mls_treekem_commit_start(tree, ...)       mls_treekem_merge(tree, sender, path, ...)
 *   mls_tree_root_hash -> GroupContext        mls_tree_root_hash -> GroupContext
 *   mls_treekem_commit_encrypt(..., gc, ...)  mls_treekem_decrypt(priv, tree, ..., gc, ...)
 *   mls_treekem_commit_finish(st, priv)         (priv updated on success)
 *
 * Both steps change the tree they are given; on an error the tree is left in an
 * unspecified but valid state: apply a commit to a copy (mls_tree_copy).
 *
 * Secrets (private keys, path secrets, commit secret) live in caller-owned structures
 * below; wipe them with the *_wipe functions. Unless said otherwise: 0 or a negative
 * mls_err.
 */
#ifndef MLS_TREEKEM_H
#define MLS_TREEKEM_H

#include <stddef.h>
#include <stdint.h>

#include "mls_commit.h"
#include "mls_crypto.h"
#include "mls_leafnode.h"
#include "mls_rng.h"
#include "mls_tree.h"
#include "mls_treemath.h"

/* A member's private view: its leaf's HPKE private key and the private keys it knows
 * for parents on its direct path. Each node key remembers its public key: a key whose
 * node has since been blanked or replaced is stale and never used (and dropped by
 * mls_treekem_priv_prune). Plain data: copy with =, wipe with mls_treekem_priv_wipe. */
typedef struct mls_treekem_node_key {
    uint32_t node;
    uint8_t sk[MLS_KEM_SK_LEN];
    uint8_t pk[MLS_KEM_PK_LEN];
} mls_treekem_node_key;

typedef struct mls_treekem_priv {
    uint32_t leaf;
    uint8_t leaf_sk[MLS_KEM_SK_LEN];
    size_t n_keys;
    mls_treekem_node_key keys[MLS_TREE_MAX_DEPTH];
} mls_treekem_priv;

/* Starts a private view for leaf with its encryption private key and no node keys. */
void mls_treekem_priv_init(mls_treekem_priv *priv, uint32_t leaf,
                           const uint8_t leaf_sk[MLS_KEM_SK_LEN]);
void mls_treekem_priv_wipe(mls_treekem_priv *priv);
/* Replaces the leaf's private key (after our Update proposal was committed). */
void mls_treekem_priv_set_leaf_key(mls_treekem_priv *priv, const uint8_t sk[MLS_KEM_SK_LEN]);
/* Sets the private key of node (on our direct path) from path_secret; with up set,
 * derives the next path secrets along our filtered direct path above node up to the
 * root and sets their keys too (a joiner's path_secret from a Welcome, 12.4.3.1). Every
 * key must match the public key in the tree: MLS_E_PATH if one does not or a node is
 * blank or not on our direct path; priv is then unchanged. */
int mls_treekem_priv_set_path_secret(mls_treekem_priv *priv, const mls_tree *t, uint32_t node,
                                     const uint8_t path_secret[MLS_HASH_LEN], int up);
/* 0 if our leaf's key and every node key match the tree (not blank, same public key);
 * MLS_E_WRONG_KEY otherwise. */
int mls_treekem_priv_check(const mls_treekem_priv *priv, const mls_tree *t);
/* Drops node keys whose node is off our direct path, blank or holds another key. */
void mls_treekem_priv_prune(mls_treekem_priv *priv, const mls_tree *t);
/* The private key for node (our leaf node 2*leaf, or a parent) if we hold a current one,
 * else NULL. Borrowed from priv. */
const uint8_t *mls_treekem_priv_key_for(const mls_treekem_priv *priv, const mls_tree *t,
                                        uint32_t node);

/* A committer's state between mls_treekem_commit_start and _finish. */
typedef struct mls_treekem_commit {
    uint32_t leaf;
    size_t n;                                        /* filtered direct path length */
    uint32_t nodes[MLS_TREE_MAX_DEPTH];              /* filtered direct path */
    uint32_t copath[MLS_TREE_MAX_DEPTH];             /* copath child of each */
    uint8_t path_secret[MLS_TREE_MAX_DEPTH][MLS_HASH_LEN];
    uint8_t node_sk[MLS_TREE_MAX_DEPTH][MLS_KEM_SK_LEN];
    uint8_t node_pk[MLS_TREE_MAX_DEPTH][MLS_KEM_PK_LEN];
    uint8_t leaf_sk[MLS_KEM_SK_LEN];
    uint8_t commit_secret[MLS_HASH_LEN];
} mls_treekem_commit;

/* Step 1 for the committer at leaf, on the tree with the commit's proposals applied
 * (and for an external commit, with the seat from mls_tree_reserve_leaf): blanks the
 * leaf's direct path, draws a fresh leaf key pair and path_secret[0] from rng, puts the
 * derived public keys on the filtered direct path, sets the parent hashes and a new
 * leaf (source commit, the new encryption key, the leaf's parent hash) signed with
 * sig_seed for group_id and leaf. The leaf's other fields come from tmpl, or from the
 * leaf's current node if tmpl is NULL. MLS_E_INVALID if leaf is out of range, or blank
 * without a tmpl. */
int mls_treekem_commit_start(mls_tree *t, uint32_t leaf, const mls_leaf_node *tmpl,
                             const uint8_t sig_seed[MLS_SIG_SEED_LEN], const uint8_t *group_id,
                             size_t gid_len, mls_rng *rng, mls_treekem_commit *st);
/* Step 2: the UpdatePath (into *out, overwritten; free with mls_update_path_free):
 * the tree's new leaf node and, per filtered direct path node, its public key and the
 * path secret encrypted to each node of the copath child's resolution without the
 * leaves in new_leaves (those the commit adds), with gc (the encoded provisional
 * GroupContext) as context. */
int mls_treekem_commit_encrypt(const mls_tree *t, const mls_treekem_commit *st,
                               const uint32_t *new_leaves, size_t n_new, const uint8_t *gc,
                               size_t gc_len, mls_rng *rng, mls_update_path *out);
/* The path secret a new member at leaf gets in its Welcome: the one at the lowest
 * common ancestor of the committer and leaf. MLS_E_NOT_FOUND if that node is not on the
 * committer's filtered direct path. */
int mls_treekem_commit_path_secret(const mls_treekem_commit *st, uint32_t leaf,
                                   uint8_t out[MLS_HASH_LEN]);
/* Our commit was accepted: priv (which must be for st->leaf) gets the new leaf key and
 * the node keys of the path; stale keys are dropped against t (the committed tree). */
void mls_treekem_commit_finish(const mls_treekem_commit *st, const mls_tree *t,
                               mls_treekem_priv *priv);
void mls_treekem_commit_wipe(mls_treekem_commit *st);

/* Receiver step 1: merges the UpdatePath of the member at leaf sender into t (with the
 * commit's proposals applied; an external joiner's seat reserved). Checks first, with
 * t unchanged on failure:
 *   up->n_nodes equals the length of sender's filtered direct path, every public key
 *     has our suite's length                                        MLS_E_PATH
 *   no key of up (leaf or node) is in the tree or twice in up       MLS_E_PATH
 *   the leaf node: suite lengths, source commit                     MLS_E_LEAF_NODE
 *   its signature for group_id and sender                           MLS_E_SIGNATURE
 * then blanks sender's direct path, sets the path's keys and parent hashes and the
 * leaf, and checks that the leaf's parent_hash is the computed one (MLS_E_PARENT_HASH;
 * t is then changed). The rest of LeafNode validation (credential, capabilities,
 * lifetime) is the caller's. */
int mls_treekem_merge(mls_tree *t, uint32_t sender, const mls_update_path *up,
                      const uint8_t *group_id, size_t gid_len);
/* Receiver step 2, on the merged tree: finds the path node whose copath child holds our
 * leaf, checks that every path node carries one ciphertext per entry of its copath
 * child's resolution without new_leaves (MLS_E_PATH), decrypts the path secret with our
 * key for the matching resolution entry (MLS_E_WRONG_KEY if we hold none; the HPKE
 * error if it does not open), derives the path secrets up to the root, checks each
 * derived public key against the path (MLS_E_PATH) and writes commit_secret (and the
 * decrypted path secret to path_secret if not NULL). On success priv holds the new node
 * keys and no stale ones; on failure it is unchanged. MLS_E_STATE if priv is the
 * sender's. */
int mls_treekem_decrypt(mls_treekem_priv *priv, const mls_tree *t, uint32_t sender,
                        const mls_update_path *up, const uint32_t *new_leaves, size_t n_new,
                        const uint8_t *gc, size_t gc_len, uint8_t commit_secret[MLS_HASH_LEN],
                        uint8_t path_secret[MLS_HASH_LEN]);

#endif
