#include "mls_treemath.h"

/* RFC 9420 appendix C, with MLS_NODE_NONE where the Python raises. */

uint32_t mls_tm_level(uint32_t node)
{
    uint32_t k = 0;
    while (k < 32 && ((node >> k) & 1u))
        k++;
    return k;
}

uint32_t mls_tm_node_width(uint32_t n_leaves)
{
    return n_leaves == 0 ? 0 : 2 * (n_leaves - 1) + 1;
}

uint32_t mls_tm_root(uint32_t n_leaves)
{
    uint32_t w = mls_tm_node_width(n_leaves);
    if (w == 0)
        return MLS_NODE_NONE;
    uint32_t k = 0;
    while ((w >> (k + 1)) != 0)
        k++;
    return (1u << k) - 1;
}

uint32_t mls_tm_left(uint32_t node)
{
    uint32_t k = mls_tm_level(node);
    if (k == 0 || k >= 32)
        return MLS_NODE_NONE;
    return node ^ (1u << (k - 1));
}

uint32_t mls_tm_right(uint32_t node)
{
    uint32_t k = mls_tm_level(node);
    if (k == 0 || k >= 31)
        return MLS_NODE_NONE;
    return node ^ (3u << (k - 1));
}

uint32_t mls_tm_parent(uint32_t node, uint32_t n_leaves)
{
    uint32_t root = mls_tm_root(n_leaves);
    if (root == MLS_NODE_NONE || node == root || !mls_tm_is_in_subtree(root, node))
        return MLS_NODE_NONE;
    uint32_t k = mls_tm_level(node);
    uint32_t b = (node >> (k + 1)) & 1u;
    return (node | (1u << k)) ^ (b << (k + 1));
}

uint32_t mls_tm_sibling(uint32_t node, uint32_t n_leaves)
{
    uint32_t p = mls_tm_parent(node, n_leaves);
    if (p == MLS_NODE_NONE)
        return MLS_NODE_NONE;
    return node < p ? mls_tm_right(p) : mls_tm_left(p);
}

size_t mls_tm_direct_path(uint32_t node, uint32_t n_leaves, uint32_t *out)
{
    size_t n = 0;
    uint32_t p = mls_tm_parent(node, n_leaves);
    while (p != MLS_NODE_NONE && n < MLS_TREE_MAX_DEPTH) {
        out[n++] = p;
        p = mls_tm_parent(p, n_leaves);
    }
    return n;
}

size_t mls_tm_copath(uint32_t node, uint32_t n_leaves, uint32_t *out)
{
    size_t n = 0;
    uint32_t x = node;
    uint32_t p = mls_tm_parent(x, n_leaves);
    while (p != MLS_NODE_NONE && n < MLS_TREE_MAX_DEPTH) {
        out[n++] = x < p ? mls_tm_right(p) : mls_tm_left(p);
        x = p;
        p = mls_tm_parent(x, n_leaves);
    }
    return n;
}

uint32_t mls_tm_common_ancestor(uint32_t a, uint32_t b)
{
    uint32_t la = mls_tm_level(a) + 1, lb = mls_tm_level(b) + 1;
    if (la <= lb && (lb >= 32 || (a >> lb) == (b >> lb)))
        return b;
    if (lb <= la && (la >= 32 || (a >> la) == (b >> la)))
        return a;
    uint32_t k = 0;
    while (a != b) {
        a >>= 1;
        b >>= 1;
        k++;
    }
    return (a << k) + (1u << (k - 1)) - 1;
}

int mls_tm_is_in_subtree(uint32_t ancestor, uint32_t node)
{
    uint32_t k = mls_tm_level(ancestor);
    if (k >= 31)
        return 1;
    return (node >> (k + 1)) == (ancestor >> (k + 1));
}
