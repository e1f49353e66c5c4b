/*
 * mls_tree: the public ratchet tree of RFC 9420 sections 4 and 7: an array of optional
 * nodes (leaf L at index 2L, parents at odd indices), always full (a power of two
 * leaves), with the tree hash (7.8), parent hashes (7.9), the add / update / remove
 * operations of 12.1 and the validation a joiner runs (7.9.2, 12.4.3.1).
 *
 * Nodes are mls_node objects (mls_leafnode.h) owned by the tree. Tree hashes are cached
 * per node and recomputed only below a change, so a commit costs O(log n) hashes after
 * the first full computation. Functions that may fill the cache take a non-const tree.
 *
 * Leaves are leaf indices, nodes are array indices; functions say which they take.
 * Unless said otherwise: 0 on success, a negative mls_err; on MLS_E_NOMEM the tree is
 * unchanged. A tree is not thread-safe.
 */
#ifndef MLS_TREE_H
#define MLS_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_leafnode.h"
#include "mls_treemath.h"

typedef struct mls_tree mls_tree;

/* An empty tree (no leaves): the first mls_tree_add_leaf makes it a one-leaf tree. */
int mls_tree_new(mls_tree **out);
/* Wipes and frees t and its nodes. t may be NULL. */
void mls_tree_free(mls_tree *t);
/* A deep copy (nodes and hash cache): a member applies a commit to a copy and keeps it
 * only if the whole commit checks out. */
int mls_tree_copy(mls_tree **out, const mls_tree *t);

/* Decodes a whole ratchet_tree encoding (optional<Node> ratchet_tree<V>, 12.4.3.3) and
 * pads it with blanks to a full tree. MLS_E_DECODE for malformed bytes; MLS_E_TREE for
 * an empty vector, a blank last entry, a leaf at an odd or a parent at an even index,
 * or more than 2^31 leaves. Nothing is validated beyond the shape: see
 * mls_tree_validate. */
int mls_tree_decode(mls_tree **out, const uint8_t *p, size_t n);
/* Takes the nodes of an already decoded array (a->nodes and their contents move into
 * the tree; *a is emptied, also on failure, where they are freed). Errors as
 * mls_tree_decode. */
int mls_tree_from_array(mls_tree **out, mls_node_array *a);
/* Appends the ratchet_tree encoding to b, without the trailing blank nodes. An empty
 * tree encodes as an empty vector. */
int mls_tree_encode(const mls_tree *t, mls_buf *b);

/* Width of the tree in leaves (a power of two, or 0) and in nodes (2n - 1, or 0). */
uint32_t mls_tree_n_leaves(const mls_tree *t);
uint32_t mls_tree_n_nodes(const mls_tree *t);
/* The node at array index node; NULL if blank or out of range. Borrowed until the next
 * change of t. */
const mls_node *mls_tree_node(const mls_tree *t, uint32_t node);
/* The leaf node of leaf index leaf / the parent node at array index node; NULL if
 * blank, out of range or of the other kind. */
const mls_leaf_node *mls_tree_leaf(const mls_tree *t, uint32_t leaf);
const mls_parent_node *mls_tree_parent(const mls_tree *t, uint32_t node);
/* Number of non-blank leaves. */
uint32_t mls_tree_member_count(const mls_tree *t);
/* The encryption key of the node at array index node (leaf or parent), or NULL if
 * blank. */
const mls_bytes *mls_tree_node_key(const mls_tree *t, uint32_t node);
/* Array index of a non-blank node whose encryption key is key, or MLS_NODE_NONE. */
uint32_t mls_tree_find_encryption_key(const mls_tree *t, const uint8_t *key, size_t len);
/* Leaf index of a non-blank leaf whose signature key is key, or MLS_NODE_NONE. */
uint32_t mls_tree_find_signature_key(const mls_tree *t, const uint8_t *key, size_t len);

/* Resolution of node (4.1.1): array indices, depth-first left-first, a non-blank
 * parent followed by its unmerged leaves (as leaf node indices 2L). Leaves listed in
 * excl (leaf indices, any order, e.g. the members a commit adds) are left out wherever
 * they would appear. Writes at most cap entries to out and the count to *n_out;
 * MLS_E_BUFFER if more are needed (a tree that passed mls_tree_validate or was built
 * with these functions never needs more than its leaf count), MLS_E_INVALID for a node
 * out of range. */
int mls_tree_resolution(const mls_tree *t, uint32_t node, const uint32_t *excl,
                        size_t n_excl, uint32_t *out, size_t cap, size_t *n_out);

/* Filtered direct path of leaf (4.1.2): writes its nodes, from the leaf's parent up to
 * the root, to fdp, and for each the child on the leaf's copath to copath_child (may be
 * NULL); both arrays of MLS_TREE_MAX_DEPTH entries. Returns the count (0 for a
 * one-leaf tree or leaf out of range). Unmerged leaves count towards resolutions. */
size_t mls_tree_filtered_direct_path(const mls_tree *t, uint32_t leaf, uint32_t *fdp,
                                     uint32_t *copath_child);

/* Add (12.1.1): puts a copy of ln at the leftmost blank leaf, extending the tree (new
 * blank root and right half) when none is blank, and adds the leaf to the
 * unmerged_leaves of every non-blank parent above it. *leaf_out (may be NULL) gets the
 * leaf index. MLS_E_TREE if the tree would exceed 2^31 leaves. */
int mls_tree_add_leaf(mls_tree *t, const mls_leaf_node *ln, uint32_t *leaf_out);
/* The leaf index mls_tree_add_leaf would use, extending the tree with blanks if needed
 * (an external committer's seat, 12.4.3.2). */
int mls_tree_reserve_leaf(mls_tree *t, uint32_t *leaf_out);
/* Update (12.1.2): replaces the leaf's node with a copy of ln and blanks its direct
 * path. MLS_E_INVALID if leaf is out of range or blank. */
int mls_tree_update_leaf(mls_tree *t, uint32_t leaf, const mls_leaf_node *ln);
/* Remove (12.1.3): blanks the leaf and its direct path, then truncates the tree (drops
 * right halves that have no non-blank leaf). MLS_E_INVALID if leaf is out of range or
 * blank. */
int mls_tree_remove_leaf(mls_tree *t, uint32_t leaf);

/* Lower-level changes for TreeKEM (mls_treekem). Each invalidates the hashes above the
 * node. */
/* Replaces the leaf's node with a copy of ln (nothing else changes). MLS_E_INVALID for
 * a leaf out of range. */
int mls_tree_set_leaf(mls_tree *t, uint32_t leaf, const mls_leaf_node *ln);
/* Blanks the parents on the direct path of leaf (not the leaf). */
void mls_tree_blank_direct_path(mls_tree *t, uint32_t leaf);
/* Sets the parent at array index node to a fresh ParentNode with encryption key key
 * (len bytes), an empty parent_hash and no unmerged leaves. MLS_E_INVALID if node is
 * not a parent index in range. */
int mls_tree_set_parent_key(mls_tree *t, uint32_t node, const uint8_t *key, size_t len);

/* Tree hash (7.8) of the subtree at array index node, or of the root. MLS_E_INVALID for
 * a node out of range or an empty tree; an encoding error of a node (MLS_E_INVALID). */
int mls_tree_hash(mls_tree *t, uint32_t node, uint8_t out[MLS_HASH_LEN]);
int mls_tree_root_hash(mls_tree *t, uint8_t out[MLS_HASH_LEN]);

/* Sets the parent_hash of every node on the filtered direct path of leaf from the root
 * down (7.9: the root gets an empty one; each gets the parent hash of the next node up,
 * with the current tree hash of its copath child) and writes the value the leaf's own
 * parent_hash must have to leaf_ph (*leaf_ph_len = MLS_HASH_LEN, or 0 for a path with no
 * node). Done after a path's keys are set, before the leaf is signed. */
int mls_tree_set_path_parent_hashes(mls_tree *t, uint32_t leaf,
                                    uint8_t leaf_ph[MLS_HASH_LEN], size_t *leaf_ph_len);

/* 0 if every non-blank parent is parent-hash valid (7.9.2, checked top-down: exactly one
 * node in the resolution of one child carries the parent hash of the parent for the
 * other child, and the parent's unmerged leaves under that child are the rest of that
 * resolution); MLS_E_PARENT_HASH if not. */
int mls_tree_verify_parent_hashes(mls_tree *t);

/* The checks a joiner runs on a tree (7.9.2, 12.4.3.1), in this order, each with its
 * own error:
 *   tree_hash (if not NULL) equals the root tree hash              MLS_E_TREE_HASH
 *   key lengths of our suite in every node (mls_leaf_node_check_suite for leaves,
 *     32-byte keys and 0- or 32-byte parent hashes for parents) MLS_E_LEAF_NODE / _TREE
 *   unmerged leaves: sorted, unique, non-blank leaves below their parent, and listed
 *     at every non-blank parent between leaf and parent          MLS_E_TREE
 *   encryption keys unique over all nodes, signature keys over all leaves
 *                                                   MLS_E_LEAF_NODE (leaf twice),
 *                                                   MLS_E_TREE (a parent's key)
 *   every leaf's signature (group_id and the leaf index as context for the update and
 *     commit sources)                                            MLS_E_SIGNATURE
 *   parent hashes                                                MLS_E_PARENT_HASH
 * Credentials, capabilities and lifetimes are the group's policy (mls_group). */
int mls_tree_validate(mls_tree *t, const uint8_t *group_id, size_t gid_len,
                      const uint8_t *tree_hash);

#endif
