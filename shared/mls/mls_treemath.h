/*
 * mls_treemath: array-based left-balanced binary tree arithmetic (RFC 9420 4.1, appendix
 * C). Nodes are numbered 0..2n-2 for n leaves (n a power of two once the tree is full);
 * leaf i is node 2i. Leaves are uint32_t; a tree holds at most 2^31 leaves.
 *
 * Functions taking n_leaves treat the tree as padded to the next power of two, as the
 * RFC does. None of them allocate; paths are written to caller arrays of at least
 * MLS_TREE_MAX_DEPTH entries.
 */
#ifndef MLS_TREEMATH_H
#define MLS_TREEMATH_H

#include <stddef.h>
#include <stdint.h>

#define MLS_TREE_MAX_DEPTH 32u
#define MLS_NODE_NONE UINT32_MAX

uint32_t mls_tm_level(uint32_t node);
/* Number of nodes of a tree with n_leaves leaves (2n - 1; 0 for 0 leaves). */
uint32_t mls_tm_node_width(uint32_t n_leaves);
uint32_t mls_tm_root(uint32_t n_leaves);
/* Children of a parent node; MLS_NODE_NONE for a leaf. */
uint32_t mls_tm_left(uint32_t node);
uint32_t mls_tm_right(uint32_t node);
/* Parent of node; MLS_NODE_NONE for the root of a tree with n_leaves leaves. */
uint32_t mls_tm_parent(uint32_t node, uint32_t n_leaves);
uint32_t mls_tm_sibling(uint32_t node, uint32_t n_leaves);
/* Direct path of node (parent up to and including the root, excluding node): returns
 * the count written to out. */
size_t mls_tm_direct_path(uint32_t node, uint32_t n_leaves, uint32_t *out);
/* Copath: the sibling of node and of every node on its direct path except the root. */
size_t mls_tm_copath(uint32_t node, uint32_t n_leaves, uint32_t *out);
/* Lowest common ancestor of two nodes. */
uint32_t mls_tm_common_ancestor(uint32_t a, uint32_t b);
/* 1 if node is in the subtree rooted at ancestor (or equal). */
int mls_tm_is_in_subtree(uint32_t ancestor, uint32_t node);

#endif
