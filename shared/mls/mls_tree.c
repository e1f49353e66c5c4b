#include "mls_tree.h"

#include <stdlib.h>
#include <string.h>

#include "mls_alloc.h"
#include "mls_err.h"

/* Largest width we build: mls_treemath handles levels below 31. */
#define MAX_LEAVES (1u << 30)

struct mls_tree {
    mls_node **nodes;             /* n_nodes entries; NULL = blank */
    uint8_t (*th)[MLS_HASH_LEN];  /* tree hash cache per node */
    uint8_t *th_ok;               /* 1 if th[i] is current */
    uint32_t n_leaves;            /* power of two, or 0 */
    uint32_t cap;                 /* entries allocated in the three arrays */
};

/* ---- small helpers ---- */

static uint32_t n_nodes_of(uint32_t n_leaves)
{
    return mls_tm_node_width(n_leaves);
}

/* First and last array index of the subtree under x (level k: x has its k low bits
 * set, so x >= 2^k - 1). Trees stay below level 31. */
static void span(uint32_t x, uint32_t *lo, uint32_t *hi)
{
    uint32_t h = (1u << mls_tm_level(x)) - 1;
    *lo = x - h;
    *hi = x + h;
}

static void node_destroy(mls_node *nd)
{
    if (!nd)
        return;
    mls_node_free(nd);
    mls_free(nd, sizeof *nd);
}

static void invalidate(mls_tree *t, uint32_t x)
{
    while (x != MLS_NODE_NONE && x < n_nodes_of(t->n_leaves)) {
        t->th_ok[x] = 0;
        x = mls_tm_parent(x, t->n_leaves);
    }
}

static void set_blank(mls_tree *t, uint32_t x)
{
    if (t->nodes[x]) {
        node_destroy(t->nodes[x]);
        t->nodes[x] = NULL;
    }
    invalidate(t, x);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* 1 if leaf is in the sorted list v[0..n). */
static int in_sorted(const uint32_t *v, size_t n, uint32_t leaf)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == leaf)
            return 1;
        if (v[mid] < leaf)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* 1 if some leaf of the sorted list v lies under node x. */
static int any_in_subtree(const uint32_t *v, size_t n, uint32_t x)
{
    uint32_t lo, hi;
    span(x, &lo, &hi);
    uint32_t llo = lo / 2, lhi = hi / 2;
    size_t a = 0, b = n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (v[mid] < llo)
            a = mid + 1;
        else
            b = mid;
    }
    return a < n && v[a] <= lhi;
}

/* Resizes the arrays to hold n_nodes entries (new ones blank, hashes not current). */
static int reserve(mls_tree *t, uint32_t n_nodes)
{
    if (n_nodes <= t->cap)
        return 0;
    uint32_t cap = t->cap ? t->cap : 1;
    while (cap < n_nodes)
        cap = cap * 2 + 1;
    mls_node **nodes = mls_alloc_array(cap, sizeof *nodes);
    uint8_t(*th)[MLS_HASH_LEN] = mls_alloc_array(cap, sizeof *th);
    uint8_t *ok = mls_alloc_array(cap, 1);
    if (!nodes || !th || !ok) {
        mls_free(nodes, (size_t)cap * sizeof *nodes);
        mls_free(th, (size_t)cap * sizeof *th);
        mls_free(ok, cap);
        return MLS_E_NOMEM;
    }
    if (t->cap) {
        memcpy(nodes, t->nodes, (size_t)t->cap * sizeof *nodes);
        memcpy(th, t->th, (size_t)t->cap * sizeof *th);
        memcpy(ok, t->th_ok, t->cap);
    }
    mls_free(t->nodes, (size_t)t->cap * sizeof *t->nodes);
    mls_free(t->th, (size_t)t->cap * sizeof *t->th);
    mls_free(t->th_ok, t->cap);
    t->nodes = nodes;
    t->th = th;
    t->th_ok = ok;
    t->cap = cap;
    return 0;
}

/* ---- life cycle ---- */

int mls_tree_new(mls_tree **out)
{
    *out = NULL;
    mls_tree *t = mls_alloc(sizeof *t);
    if (!t)
        return MLS_E_NOMEM;
    *out = t;
    return 0;
}

void mls_tree_free(mls_tree *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->cap; i++)
        node_destroy(t->nodes[i]);
    mls_free(t->nodes, (size_t)t->cap * sizeof *t->nodes);
    mls_free(t->th, (size_t)t->cap * sizeof *t->th);
    mls_free(t->th_ok, t->cap);
    mls_free(t, sizeof *t);
}

int mls_tree_copy(mls_tree **out, const mls_tree *t)
{
    mls_tree *c = NULL;
    int rc = mls_tree_new(&c);
    if (rc)
        goto fail;
    uint32_t n = n_nodes_of(t->n_leaves);
    if ((rc = reserve(c, n)))
        goto fail;
    c->n_leaves = t->n_leaves;
    for (uint32_t i = 0; i < n; i++) {
        if (!t->nodes[i])
            continue;
        mls_node *nd = mls_alloc(sizeof *nd);
        if (!nd) {
            rc = MLS_E_NOMEM;
            goto fail;
        }
        if ((rc = mls_node_copy(nd, t->nodes[i]))) {
            mls_free(nd, sizeof *nd);
            goto fail;
        }
        c->nodes[i] = nd;
    }
    if (n) {
        memcpy(c->th, t->th, (size_t)n * sizeof *t->th);
        memcpy(c->th_ok, t->th_ok, n);
    }
    *out = c;
    return 0;
fail:
    mls_tree_free(c);
    *out = NULL;
    return rc;
}

int mls_tree_from_array(mls_tree **out, mls_node_array *a)
{
    mls_tree *t = NULL;
    *out = NULL;
    int rc = mls_node_array_check_shape(a);
    if (rc)
        goto fail;
    size_t need = (a->n - 1) / 2 + 1; /* leaves the entries reach */
    uint32_t leaves = 1;
    while (leaves < need) {
        if (leaves >= MAX_LEAVES) {
            rc = MLS_E_TREE;
            goto fail;
        }
        leaves *= 2;
    }
    if ((rc = mls_tree_new(&t)) || (rc = reserve(t, n_nodes_of(leaves))))
        goto fail;
    t->n_leaves = leaves;
    for (size_t i = 0; i < a->n; i++) {
        t->nodes[i] = a->nodes[i];
        a->nodes[i] = NULL;
    }
    mls_node_array_free(a);
    *out = t;
    return 0;
fail:
    mls_tree_free(t);
    mls_node_array_free(a);
    return rc;
}

int mls_tree_decode(mls_tree **out, const uint8_t *p, size_t n)
{
    mls_node_array a = { 0 };
    *out = NULL;
    int rc = mls_node_array_decode_all(p, n, &a);
    if (rc)
        return rc;
    return mls_tree_from_array(out, &a);
}

int mls_tree_encode(const mls_tree *t, mls_buf *b)
{
    uint32_t n = n_nodes_of(t->n_leaves);
    while (n > 0 && !t->nodes[n - 1])
        n--;
    mls_node_array view = { t->nodes, n };
    return mls_node_array_encode(b, &view);
}

/* ---- accessors ---- */

uint32_t mls_tree_n_leaves(const mls_tree *t)
{
    return t->n_leaves;
}

uint32_t mls_tree_n_nodes(const mls_tree *t)
{
    return n_nodes_of(t->n_leaves);
}

const mls_node *mls_tree_node(const mls_tree *t, uint32_t node)
{
    if (node >= n_nodes_of(t->n_leaves))
        return NULL;
    return t->nodes[node];
}

const mls_leaf_node *mls_tree_leaf(const mls_tree *t, uint32_t leaf)
{
    if (leaf >= t->n_leaves)
        return NULL;
    const mls_node *nd = t->nodes[2 * leaf];
    return (nd && nd->node_type == MLS_NODE_TYPE_LEAF) ? &nd->leaf_node : NULL;
}

const mls_parent_node *mls_tree_parent(const mls_tree *t, uint32_t node)
{
    if (node >= n_nodes_of(t->n_leaves) || node % 2 == 0)
        return NULL;
    const mls_node *nd = t->nodes[node];
    return (nd && nd->node_type == MLS_NODE_TYPE_PARENT) ? &nd->parent_node : NULL;
}

uint32_t mls_tree_member_count(const mls_tree *t)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < t->n_leaves; i++)
        c += t->nodes[2 * i] != NULL;
    return c;
}

const mls_bytes *mls_tree_node_key(const mls_tree *t, uint32_t node)
{
    const mls_node *nd = mls_tree_node(t, node);
    if (!nd)
        return NULL;
    return nd->node_type == MLS_NODE_TYPE_LEAF ? &nd->leaf_node.encryption_key
                                               : &nd->parent_node.encryption_key;
}

uint32_t mls_tree_find_encryption_key(const mls_tree *t, const uint8_t *key, size_t len)
{
    uint32_t n = n_nodes_of(t->n_leaves);
    for (uint32_t i = 0; i < n; i++) {
        const mls_bytes *k = mls_tree_node_key(t, i);
        if (k && k->len == len && memcmp(k->p, key, len) == 0)
            return i;
    }
    return MLS_NODE_NONE;
}

uint32_t mls_tree_find_signature_key(const mls_tree *t, const uint8_t *key, size_t len)
{
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_leaf_node *ln = mls_tree_leaf(t, i);
        if (ln && ln->signature_key.len == len && memcmp(ln->signature_key.p, key, len) == 0)
            return i;
    }
    return MLS_NODE_NONE;
}

/* ---- resolution and filtered direct path ---- */

typedef struct res_out {
    uint32_t *v;
    size_t cap;
    size_t n;
} res_out;

static int res_push(res_out *o, uint32_t x)
{
    if (o->n >= o->cap)
        return MLS_E_BUFFER;
    o->v[o->n++] = x;
    return 0;
}

/* excl is sorted. */
static int res_rec(const mls_tree *t, uint32_t x, const uint32_t *excl, size_t n_excl,
                   res_out *o)
{
    const mls_node *nd = t->nodes[x];
    if (nd) {
        if (x % 2 == 0)
            return in_sorted(excl, n_excl, x / 2) ? 0 : res_push(o, x);
        int rc = res_push(o, x);
        for (size_t i = 0; !rc && i < nd->parent_node.n_unmerged_leaves; i++) {
            uint32_t u = nd->parent_node.unmerged_leaves[i];
            if (!in_sorted(excl, n_excl, u))
                rc = res_push(o, 2 * u);
        }
        return rc;
    }
    if (x % 2 == 0)
        return 0;
    int rc = res_rec(t, mls_tm_left(x), excl, n_excl, o);
    return rc ? rc : res_rec(t, mls_tm_right(x), excl, n_excl, o);
}

int mls_tree_resolution(const mls_tree *t, uint32_t node, const uint32_t *excl,
                        size_t n_excl, uint32_t *out, size_t cap, size_t *n_out)
{
    *n_out = 0;
    if (node >= n_nodes_of(t->n_leaves))
        return MLS_E_INVALID;
    uint32_t *sorted = NULL;
    int is_sorted = 1;
    for (size_t i = 1; i < n_excl; i++)
        if (excl[i - 1] > excl[i])
            is_sorted = 0;
    if (!is_sorted) {
        sorted = mls_alloc_array(n_excl, sizeof *sorted);
        if (!sorted)
            return MLS_E_NOMEM;
        memcpy(sorted, excl, n_excl * sizeof *sorted);
        qsort(sorted, n_excl, sizeof *sorted, cmp_u32);
        excl = sorted;
    }
    res_out o = { out, cap, 0 };
    int rc = res_rec(t, node, excl, n_excl, &o);
    mls_free(sorted, n_excl * sizeof *sorted);
    *n_out = rc ? 0 : o.n;
    return rc;
}

/* 1 if the subtree under x holds a non-blank node (its resolution is not empty). */
static int subtree_nonblank(const mls_tree *t, uint32_t x)
{
    uint32_t lo, hi;
    span(x, &lo, &hi);
    for (uint32_t i = lo; i <= hi; i++)
        if (t->nodes[i])
            return 1;
    return 0;
}

size_t mls_tree_filtered_direct_path(const mls_tree *t, uint32_t leaf, uint32_t *fdp,
                                     uint32_t *copath_child)
{
    if (leaf >= t->n_leaves)
        return 0;
    uint32_t dp[MLS_TREE_MAX_DEPTH], cp[MLS_TREE_MAX_DEPTH];
    size_t n = mls_tm_direct_path(2 * leaf, t->n_leaves, dp);
    mls_tm_copath(2 * leaf, t->n_leaves, cp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!subtree_nonblank(t, cp[i]))
            continue;
        fdp[m] = dp[i];
        if (copath_child)
            copath_child[m] = cp[i];
        m++;
    }
    return m;
}

/* ---- changes ---- */

static int new_leaf_node(const mls_leaf_node *ln, mls_node **out)
{
    mls_node *nd = mls_alloc(sizeof *nd);
    if (!nd)
        return MLS_E_NOMEM;
    nd->node_type = MLS_NODE_TYPE_LEAF;
    int rc = mls_leaf_node_copy(&nd->leaf_node, ln);
    if (rc) {
        mls_free(nd, sizeof *nd);
        return rc;
    }
    *out = nd;
    return 0;
}

/* Doubles the width (a one-leaf tree from an empty one). */
static int extend(mls_tree *t)
{
    uint32_t leaves = t->n_leaves ? t->n_leaves * 2 : 1;
    if (leaves > MAX_LEAVES)
        return MLS_E_TREE;
    int rc = reserve(t, n_nodes_of(leaves));
    if (rc)
        return rc;
    uint32_t old = n_nodes_of(t->n_leaves);
    for (uint32_t i = old; i < n_nodes_of(leaves); i++)
        t->th_ok[i] = 0;
    t->n_leaves = leaves;
    return 0;
}

int mls_tree_reserve_leaf(mls_tree *t, uint32_t *leaf_out)
{
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        if (!t->nodes[2 * i]) {
            *leaf_out = i;
            return 0;
        }
    }
    uint32_t first = t->n_leaves;
    int rc = extend(t);
    if (rc)
        return rc;
    *leaf_out = first;
    return 0;
}

/* Inserts leaf into pn's sorted unmerged_leaves (no-op if present). */
static int unmerged_insert(mls_parent_node *pn, uint32_t leaf)
{
    size_t n = pn->n_unmerged_leaves, pos = 0;
    while (pos < n && pn->unmerged_leaves[pos] < leaf)
        pos++;
    if (pos < n && pn->unmerged_leaves[pos] == leaf)
        return 0;
    uint32_t *v = mls_alloc_array(n + 1, sizeof *v);
    if (!v)
        return MLS_E_NOMEM;
    if (pos)
        memcpy(v, pn->unmerged_leaves, pos * sizeof *v);
    v[pos] = leaf;
    if (n > pos)
        memcpy(v + pos + 1, pn->unmerged_leaves + pos, (n - pos) * sizeof *v);
    mls_free(pn->unmerged_leaves, n * sizeof *v);
    pn->unmerged_leaves = v;
    pn->n_unmerged_leaves = n + 1;
    return 0;
}

/* Removes leaf from pn's unmerged_leaves without reallocating (mls_free later wipes
 * only the live entries, which is enough: leaf indices are not secret). */
static void unmerged_drop(mls_parent_node *pn, uint32_t leaf)
{
    size_t w = 0;
    for (size_t k = 0; k < pn->n_unmerged_leaves; k++)
        if (pn->unmerged_leaves[k] != leaf)
            pn->unmerged_leaves[w++] = pn->unmerged_leaves[k];
    pn->n_unmerged_leaves = w;
}

int mls_tree_add_leaf(mls_tree *t, const mls_leaf_node *ln, uint32_t *leaf_out)
{
    mls_node *nd = NULL;
    uint32_t dp[MLS_TREE_MAX_DEPTH];
    int rc = new_leaf_node(ln, &nd);
    if (rc)
        return rc;
    /* On failure the tree is left as it was: an extension is undone by restoring the
     * width (the added half is all blank and the old nodes' hashes are untouched). */
    uint32_t leaf, old_leaves = t->n_leaves;
    if ((rc = mls_tree_reserve_leaf(t, &leaf))) {
        node_destroy(nd);
        return rc;
    }
    size_t n = mls_tm_direct_path(2 * leaf, t->n_leaves, dp);
    for (size_t i = 0; i < n; i++) {
        mls_node *p = t->nodes[dp[i]];
        if (!p)
            continue;
        if ((rc = unmerged_insert(&p->parent_node, leaf))) {
            for (size_t j = 0; j < i; j++)
                if (t->nodes[dp[j]])
                    unmerged_drop(&t->nodes[dp[j]]->parent_node, leaf);
            t->n_leaves = old_leaves;
            node_destroy(nd);
            return rc;
        }
        invalidate(t, dp[i]);
    }
    t->nodes[2 * leaf] = nd;
    invalidate(t, 2 * leaf);
    if (leaf_out)
        *leaf_out = leaf;
    return 0;
}

int mls_tree_set_leaf(mls_tree *t, uint32_t leaf, const mls_leaf_node *ln)
{
    if (leaf >= t->n_leaves)
        return MLS_E_INVALID;
    mls_node *nd = NULL;
    int rc = new_leaf_node(ln, &nd);
    if (rc)
        return rc;
    node_destroy(t->nodes[2 * leaf]);
    t->nodes[2 * leaf] = nd;
    invalidate(t, 2 * leaf);
    return 0;
}

void mls_tree_blank_direct_path(mls_tree *t, uint32_t leaf)
{
    uint32_t dp[MLS_TREE_MAX_DEPTH];
    if (leaf >= t->n_leaves)
        return;
    size_t n = mls_tm_direct_path(2 * leaf, t->n_leaves, dp);
    for (size_t i = 0; i < n; i++)
        set_blank(t, dp[i]);
}

int mls_tree_update_leaf(mls_tree *t, uint32_t leaf, const mls_leaf_node *ln)
{
    if (!mls_tree_leaf(t, leaf))
        return MLS_E_INVALID;
    int rc = mls_tree_set_leaf(t, leaf, ln);
    if (rc)
        return rc;
    mls_tree_blank_direct_path(t, leaf);
    return 0;
}

static void truncate_tree(mls_tree *t)
{
    while (t->n_leaves > 1) {
        uint32_t half = t->n_leaves / 2;
        for (uint32_t i = half; i < t->n_leaves; i++)
            if (t->nodes[2 * i])
                return;
        uint32_t from = n_nodes_of(half), to = n_nodes_of(t->n_leaves);
        for (uint32_t i = from; i < to; i++) {
            node_destroy(t->nodes[i]);
            t->nodes[i] = NULL;
            t->th_ok[i] = 0;
        }
        t->n_leaves = half;
    }
}

int mls_tree_remove_leaf(mls_tree *t, uint32_t leaf)
{
    if (!mls_tree_leaf(t, leaf))
        return MLS_E_INVALID;
    set_blank(t, 2 * leaf);
    mls_tree_blank_direct_path(t, leaf);
    truncate_tree(t);
    return 0;
}

int mls_tree_set_parent_key(mls_tree *t, uint32_t node, const uint8_t *key, size_t len)
{
    if (node >= n_nodes_of(t->n_leaves) || node % 2 == 0)
        return MLS_E_INVALID;
    mls_node *nd = mls_alloc(sizeof *nd);
    if (!nd)
        return MLS_E_NOMEM;
    nd->node_type = MLS_NODE_TYPE_PARENT;
    if (mls_bytes_set(&nd->parent_node.encryption_key, key, len)) {
        mls_free(nd, sizeof *nd);
        return MLS_E_NOMEM;
    }
    node_destroy(t->nodes[node]);
    t->nodes[node] = nd;
    invalidate(t, node);
    return 0;
}

/* ---- tree hash ---- */

static void hash_buf(const mls_buf *b, uint8_t out[MLS_HASH_LEN])
{
    mls_hash(b->p, b->len, out);
}

/* TreeHashInput of leaf node x (node may be NULL: blank). */
static int leaf_hash(const mls_node *nd, uint32_t x, mls_buf *b, uint8_t out[MLS_HASH_LEN])
{
    mls_buf_reset(b);
    mls_w_u8(b, MLS_NODE_TYPE_LEAF);
    mls_w_u32(b, x / 2);
    mls_w_optional(b, nd != NULL);
    int rc = nd ? mls_leaf_node_encode(b, &nd->leaf_node) : mls_buf_status(b);
    if (rc)
        return rc;
    hash_buf(b, out);
    return 0;
}

static int parent_hash_input(const mls_parent_node *pn, const uint8_t lh[MLS_HASH_LEN],
                             const uint8_t rh[MLS_HASH_LEN], mls_buf *b,
                             uint8_t out[MLS_HASH_LEN])
{
    mls_buf_reset(b);
    mls_w_u8(b, MLS_NODE_TYPE_PARENT);
    mls_w_optional(b, pn != NULL);
    int rc = pn ? mls_parent_node_encode(b, pn) : 0;
    if (rc)
        return rc;
    mls_w_opaque(b, lh, MLS_HASH_LEN);
    mls_w_opaque(b, rh, MLS_HASH_LEN);
    if ((rc = mls_buf_status(b)))
        return rc;
    hash_buf(b, out);
    return 0;
}

static int th_rec(mls_tree *t, uint32_t x, mls_buf *b, uint8_t out[MLS_HASH_LEN])
{
    if (t->th_ok[x]) {
        memcpy(out, t->th[x], MLS_HASH_LEN);
        return 0;
    }
    int rc;
    if (x % 2 == 0) {
        rc = leaf_hash(t->nodes[x], x, b, out);
    } else {
        uint8_t lh[MLS_HASH_LEN], rh[MLS_HASH_LEN];
        if ((rc = th_rec(t, mls_tm_left(x), b, lh)) || (rc = th_rec(t, mls_tm_right(x), b, rh)))
            return rc;
        const mls_node *nd = t->nodes[x];
        rc = parent_hash_input(nd ? &nd->parent_node : NULL, lh, rh, b, out);
    }
    if (rc)
        return rc;
    memcpy(t->th[x], out, MLS_HASH_LEN);
    t->th_ok[x] = 1;
    return 0;
}

int mls_tree_hash(mls_tree *t, uint32_t node, uint8_t out[MLS_HASH_LEN])
{
    if (node >= n_nodes_of(t->n_leaves))
        return MLS_E_INVALID;
    mls_buf b = { 0 };
    int rc = th_rec(t, node, &b, out);
    mls_buf_free(&b);
    return rc;
}

int mls_tree_root_hash(mls_tree *t, uint8_t out[MLS_HASH_LEN])
{
    if (t->n_leaves == 0)
        return MLS_E_INVALID;
    return mls_tree_hash(t, mls_tm_root(t->n_leaves), out);
}

/* Tree hash of the subtree under x with the leaves of the sorted list excl blanked and
 * removed from every unmerged_leaves list (the "original sibling tree hash" of 7.9).
 * Subtrees without such a leaf come from the cache. */
static int th_excl(mls_tree *t, uint32_t x, const uint32_t *excl, size_t n_excl, mls_buf *b,
                   uint8_t out[MLS_HASH_LEN])
{
    if (!any_in_subtree(excl, n_excl, x))
        return th_rec(t, x, b, out);
    if (x % 2 == 0)
        return leaf_hash(NULL, x, b, out);
    uint8_t lh[MLS_HASH_LEN], rh[MLS_HASH_LEN];
    int rc;
    if ((rc = th_excl(t, mls_tm_left(x), excl, n_excl, b, lh)) ||
        (rc = th_excl(t, mls_tm_right(x), excl, n_excl, b, rh)))
        return rc;
    const mls_node *nd = t->nodes[x];
    if (!nd)
        return parent_hash_input(NULL, lh, rh, b, out);
    const mls_parent_node *pn = &nd->parent_node;
    mls_parent_node view = *pn;
    uint32_t *kept = NULL;
    if (pn->n_unmerged_leaves) {
        kept = mls_alloc_array(pn->n_unmerged_leaves, sizeof *kept);
        if (!kept)
            return MLS_E_NOMEM;
        size_t w = 0;
        for (size_t i = 0; i < pn->n_unmerged_leaves; i++)
            if (!in_sorted(excl, n_excl, pn->unmerged_leaves[i]))
                kept[w++] = pn->unmerged_leaves[i];
        view.unmerged_leaves = kept;
        view.n_unmerged_leaves = w;
    }
    rc = parent_hash_input(&view, lh, rh, b, out);
    mls_free(kept, pn->n_unmerged_leaves * sizeof *kept);
    return rc;
}

/* ---- parent hashes ---- */

/* Hash(ParentHashInput{key, parent_hash, sibling_hash}). */
static int parent_hash_of(const mls_parent_node *p, const uint8_t sib[MLS_HASH_LEN], mls_buf *b,
                          uint8_t out[MLS_HASH_LEN])
{
    mls_buf_reset(b);
    mls_w_opaque(b, p->encryption_key.p, p->encryption_key.len);
    mls_w_opaque(b, p->parent_hash.p, p->parent_hash.len);
    mls_w_opaque(b, sib, MLS_HASH_LEN);
    int rc = mls_buf_status(b);
    if (rc)
        return rc;
    hash_buf(b, out);
    return 0;
}

int mls_tree_set_path_parent_hashes(mls_tree *t, uint32_t leaf,
                                    uint8_t leaf_ph[MLS_HASH_LEN], size_t *leaf_ph_len)
{
    uint32_t fdp[MLS_TREE_MAX_DEPTH], cp[MLS_TREE_MAX_DEPTH];
    size_t m = mls_tree_filtered_direct_path(t, leaf, fdp, cp);
    *leaf_ph_len = 0;
    if (m == 0)
        return 0;
    for (size_t k = 0; k < m; k++)
        if (!mls_tree_parent(t, fdp[k]))
            return MLS_E_INVALID;
    mls_buf b = { 0 };
    int rc = 0;
    mls_parent_node *top = &t->nodes[fdp[m - 1]]->parent_node;
    mls_bytes_free(&top->parent_hash);
    invalidate(t, fdp[m - 1]);
    for (size_t k = m; k-- > 0;) {
        uint8_t sib[MLS_HASH_LEN], ph[MLS_HASH_LEN];
        if ((rc = th_rec(t, cp[k], &b, sib)) ||
            (rc = parent_hash_of(&t->nodes[fdp[k]]->parent_node, sib, &b, ph)))
            break;
        if (k == 0) {
            memcpy(leaf_ph, ph, MLS_HASH_LEN);
            *leaf_ph_len = MLS_HASH_LEN;
        } else {
            if ((rc = mls_bytes_set(&t->nodes[fdp[k - 1]]->parent_node.parent_hash, ph,
                                    MLS_HASH_LEN)))
                break;
            invalidate(t, fdp[k - 1]);
        }
    }
    mls_buf_free(&b);
    return rc;
}

/* The parent_hash a node carries, or NULL if it has none (a leaf of another source). */
static const mls_bytes *carried_parent_hash(const mls_node *nd)
{
    if (nd->node_type == MLS_NODE_TYPE_PARENT)
        return &nd->parent_node.parent_hash;
    if (nd->leaf_node.leaf_node_source == MLS_LEAF_SOURCE_COMMIT)
        return &nd->leaf_node.parent_hash;
    return NULL;
}

/* Number of nodes D in the resolution of child c of parent p that make p parent-hash
 * valid for c (7.9.2): D carries ph, and the unmerged leaves of p under c (um: p's
 * unmerged leaves, sorted), as leaf nodes, are exactly the rest of the resolution. res
 * is scratch of cap entries. */
static int count_valid_children(const mls_tree *t, uint32_t c, const uint32_t *um, size_t n_um,
                                const uint8_t ph[MLS_HASH_LEN], uint32_t *res, size_t cap,
                                size_t *count)
{
    *count = 0;
    res_out o = { res, cap, 0 };
    int rc = res_rec(t, c, NULL, 0, &o);
    if (rc)
        return rc == MLS_E_BUFFER ? MLS_E_PARENT_HASH : rc;
    size_t nr = o.n, n_under = 0;
    for (size_t i = 0; i < n_um; i++)
        n_under += (size_t)mls_tm_is_in_subtree(c, 2 * um[i]);
    if (n_under + 1 != nr)
        return 0;
    /* Entries that are not unmerged leaves of p: exactly one may exist, and it is D. */
    size_t other = nr, n_other = 0;
    for (size_t i = 0; i < nr; i++) {
        if (res[i] % 2 == 0 && in_sorted(um, n_um, res[i] / 2))
            continue;
        other = i;
        n_other++;
    }
    /* With n_other == 0 the resolution would repeat an unmerged leaf: not valid. */
    if (n_other != 1)
        return 0;
    const mls_node *dn = t->nodes[res[other]];
    const mls_bytes *dph = dn ? carried_parent_hash(dn) : NULL;
    if (dph && dph->len == MLS_HASH_LEN && memcmp(dph->p, ph, MLS_HASH_LEN) == 0)
        *count = 1;
    return 0;
}

int mls_tree_verify_parent_hashes(mls_tree *t)
{
    uint32_t n = n_nodes_of(t->n_leaves);
    size_t cap = (size_t)n;
    uint32_t *res = mls_alloc_array(cap ? cap : 1, sizeof *res);
    uint32_t *excl = NULL;
    size_t excl_n = 0;
    mls_buf b = { 0 };
    int rc = 0;
    if (!res)
        return MLS_E_NOMEM;
    for (uint32_t p = 1; p < n && !rc; p += 2) {
        const mls_node *nd = t->nodes[p];
        if (!nd)
            continue;
        const mls_parent_node *pn = &nd->parent_node;
        /* P's unmerged leaves, sorted, for the original sibling tree hash. */
        mls_free(excl, excl_n * sizeof *excl);
        excl_n = pn->n_unmerged_leaves;
        excl = mls_alloc_array(excl_n ? excl_n : 1, sizeof *excl);
        if (!excl) {
            excl_n = 0;
            rc = MLS_E_NOMEM;
            break;
        }
        if (excl_n)
            memcpy(excl, pn->unmerged_leaves, excl_n * sizeof *excl);
        qsort(excl, excl_n, sizeof *excl, cmp_u32);
        for (size_t i = 1; i < excl_n && !rc; i++)
            if (excl[i - 1] == excl[i])
                rc = MLS_E_TREE;
        size_t total = 0;
        uint32_t kids[2] = { mls_tm_left(p), mls_tm_right(p) };
        for (int side = 0; side < 2 && !rc; side++) {
            uint32_t c = kids[side], s = kids[1 - side];
            uint8_t sib[MLS_HASH_LEN], ph[MLS_HASH_LEN];
            size_t cnt = 0;
            if ((rc = th_excl(t, s, excl, excl_n, &b, sib)) ||
                (rc = parent_hash_of(pn, sib, &b, ph)) ||
                (rc = count_valid_children(t, c, excl, excl_n, ph, res, cap, &cnt)))
                break;
            total += cnt;
        }
        if (!rc && total != 1)
            rc = MLS_E_PARENT_HASH;
    }
    mls_free(excl, excl_n * sizeof *excl);
    mls_free(res, (cap ? cap : 1) * sizeof *res);
    mls_buf_free(&b);
    return rc;
}

/* ---- validation ---- */

static int check_suite_lengths(const mls_tree *t)
{
    uint32_t n = n_nodes_of(t->n_leaves);
    for (uint32_t i = 0; i < n; i++) {
        const mls_node *nd = t->nodes[i];
        if (!nd)
            continue;
        if (i % 2 == 0) {
            int rc = mls_leaf_node_check_suite(&nd->leaf_node);
            if (rc)
                return rc;
        } else {
            const mls_parent_node *pn = &nd->parent_node;
            if (pn->encryption_key.len != MLS_KEM_PK_LEN ||
                (pn->parent_hash.len != 0 && pn->parent_hash.len != MLS_HASH_LEN))
                return MLS_E_TREE;
        }
    }
    return 0;
}

static int check_unmerged(const mls_tree *t)
{
    uint32_t n = n_nodes_of(t->n_leaves);
    for (uint32_t p = 1; p < n; p += 2) {
        const mls_parent_node *pn = mls_tree_parent(t, p);
        if (!pn)
            continue;
        for (size_t i = 0; i < pn->n_unmerged_leaves; i++) {
            uint32_t u = pn->unmerged_leaves[i];
            if (i > 0 && pn->unmerged_leaves[i - 1] >= u)
                return MLS_E_TREE;
            if (u >= t->n_leaves || !t->nodes[2 * u] || !mls_tm_is_in_subtree(p, 2 * u))
                return MLS_E_TREE;
            for (uint32_t x = mls_tm_parent(2 * u, t->n_leaves); x != p;
                 x = mls_tm_parent(x, t->n_leaves)) {
                const mls_parent_node *mid = mls_tree_parent(t, x);
                if (mid && !in_sorted(mid->unmerged_leaves, mid->n_unmerged_leaves, u))
                    return MLS_E_TREE;
            }
        }
    }
    return 0;
}

typedef struct key_ref {
    const mls_bytes *key;
    uint32_t node;
} key_ref;

static int cmp_key_ref(const void *a, const void *b)
{
    const mls_bytes *x = ((const key_ref *)a)->key, *y = ((const key_ref *)b)->key;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->p, y->p, n) : 0;
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int same_key(const key_ref *a, const key_ref *b)
{
    return a->key->len == b->key->len && memcmp(a->key->p, b->key->p, a->key->len) == 0;
}

static int check_unique_keys(const mls_tree *t)
{
    uint32_t n = n_nodes_of(t->n_leaves);
    key_ref *v = mls_alloc_array(n ? n : 1, sizeof *v);
    if (!v)
        return MLS_E_NOMEM;
    int rc = 0;
    size_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        const mls_bytes *k = mls_tree_node_key(t, i);
        if (k)
            v[m++] = (key_ref){ k, i };
    }
    qsort(v, m, sizeof *v, cmp_key_ref);
    for (size_t i = 1; i < m && !rc; i++)
        if (same_key(&v[i - 1], &v[i]))
            rc = (v[i - 1].node % 2 == 0 && v[i].node % 2 == 0) ? MLS_E_LEAF_NODE : MLS_E_TREE;
    m = 0;
    for (uint32_t i = 0; i < t->n_leaves && !rc; i++) {
        const mls_leaf_node *ln = mls_tree_leaf(t, i);
        if (ln)
            v[m++] = (key_ref){ &ln->signature_key, 2 * i };
    }
    if (!rc) {
        qsort(v, m, sizeof *v, cmp_key_ref);
        for (size_t i = 1; i < m && !rc; i++)
            if (same_key(&v[i - 1], &v[i]))
                rc = MLS_E_LEAF_NODE;
    }
    mls_free(v, (n ? n : 1) * sizeof *v);
    return rc;
}

int mls_tree_validate(mls_tree *t, const uint8_t *group_id, size_t gid_len,
                      const uint8_t *tree_hash)
{
    int rc;
    if (t->n_leaves == 0)
        return MLS_E_TREE;
    if (tree_hash) {
        uint8_t h[MLS_HASH_LEN];
        if ((rc = mls_tree_root_hash(t, h)))
            return rc;
        if (!mls_bytes_eq(h, MLS_HASH_LEN, tree_hash, MLS_HASH_LEN))
            return MLS_E_TREE_HASH;
    }
    if ((rc = check_suite_lengths(t)) || (rc = check_unmerged(t)) ||
        (rc = check_unique_keys(t)))
        return rc;
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_leaf_node *ln = mls_tree_leaf(t, i);
        if (ln && (rc = mls_leaf_node_verify(ln, group_id, gid_len, i)))
            return rc;
    }
    return mls_tree_verify_parent_hashes(t);
}
