/*
 * mls_commit: Commit, UpdatePath and HPKECiphertext (RFC 9420 7.6, 12.4). Conventions:
 * see mls_credential.h.
 *
 *   struct { opaque kem_output<V>; opaque ciphertext<V>; } HPKECiphertext;
 *   struct { HPKEPublicKey encryption_key;
 *            HPKECiphertext encrypted_path_secret<V>; } UpdatePathNode;
 *   struct { LeafNode leaf_node; UpdatePathNode nodes<V>; } UpdatePath;
 *   struct { ProposalOrRef proposals<V>; optional<UpdatePath> path; } Commit;
 *
 * Decoding bounds: at most MLS_MAX_PROPOSALS proposals, MLS_TREE_MAX_DEPTH path nodes,
 * MLS_MAX_TREE_NODES ciphertexts per path node. Whether the path's length matches the
 * tree is the tree's check (MLS_E_PATH), not the codec's.
 */
#ifndef MLS_COMMIT_H
#define MLS_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_leafnode.h"
#include "mls_proposal.h"
#include "mls_treemath.h"

#define MLS_MAX_PROPOSALS 65536u

typedef struct mls_hpke_ciphertext {
    mls_bytes kem_output;
    mls_bytes ciphertext;
} mls_hpke_ciphertext;

int mls_hpke_ciphertext_decode(mls_rd *r, mls_hpke_ciphertext *out);
int mls_hpke_ciphertext_encode(mls_buf *b, const mls_hpke_ciphertext *c);
void mls_hpke_ciphertext_free(mls_hpke_ciphertext *c);

typedef struct mls_update_path_node {
    mls_bytes encryption_key;
    mls_hpke_ciphertext *encrypted_path_secret;
    size_t n_encrypted_path_secret;
} mls_update_path_node;

int mls_update_path_node_decode(mls_rd *r, mls_update_path_node *out);
int mls_update_path_node_encode(mls_buf *b, const mls_update_path_node *n);
void mls_update_path_node_free(mls_update_path_node *n);

typedef struct mls_update_path {
    mls_leaf_node leaf_node;
    mls_update_path_node *nodes;
    size_t n_nodes;
} mls_update_path;

int mls_update_path_decode(mls_rd *r, mls_update_path *out);
int mls_update_path_decode_all(const uint8_t *p, size_t n, mls_update_path *out);
int mls_update_path_encode(mls_buf *b, const mls_update_path *up);
void mls_update_path_free(mls_update_path *up);
int mls_update_path_copy(mls_update_path *dst, const mls_update_path *src);

typedef struct mls_commit {
    mls_proposal_or_ref *proposals;
    size_t n_proposals;
    int has_path;          /* 0 or 1: path is set only if 1 */
    mls_update_path path;
} mls_commit;

int mls_commit_decode(mls_rd *r, mls_commit *out);
int mls_commit_decode_all(const uint8_t *p, size_t n, mls_commit *out);
int mls_commit_encode(mls_buf *b, const mls_commit *c);
void mls_commit_free(mls_commit *c);
int mls_commit_copy(mls_commit *dst, const mls_commit *src);

#endif
