#include "mls_secrettree.h"

#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"

#define ST_VERSION 1u
#define ST_MAX_LEAVES 0x80000000u

/* The tree is padded to w = 2^depth leaves; node x at level k spans
 * [x - (2^k - 1), x + (2^k - 1)] and its children are x -/+ 2^(k-1). */
static unsigned tree_depth(uint32_t n_leaves)
{
    unsigned d = 0;

    while (((uint64_t)1 << d) < n_leaves)
        d++;
    return d;
}

static uint32_t tree_root(uint32_t n_leaves)
{
    return (uint32_t)(((uint64_t)1 << tree_depth(n_leaves)) - 1);
}

static unsigned node_level(uint32_t x)
{
    unsigned k = 0;

    while ((x >> k) & 1u)
        k++;
    return k;
}

static uint64_t span_lo(uint32_t x)
{
    return (uint64_t)x - (((uint64_t)1 << node_level(x)) - 1);
}

static uint64_t span_hi(uint32_t x)
{
    return (uint64_t)x + (((uint64_t)1 << node_level(x)) - 1);
}

/* Index of the first entry with key >= want (n if none), over sorted u32 keys. */
#define LOWER_BOUND(arr, n, field, want, out)       \
    do {                                            \
        size_t lo_ = 0, hi_ = (n);                  \
        while (lo_ < hi_) {                         \
            size_t mid_ = lo_ + (hi_ - lo_) / 2;    \
            if ((arr)[mid_].field < (want))         \
                lo_ = mid_ + 1;                     \
            else                                    \
                hi_ = mid_;                         \
        }                                           \
        (out) = lo_;                                \
    } while (0)

/* Ensures room for need elements of elem bytes in the array *arrp (capacity *cap).
 * arrp points to a T * (read and written with memcpy to stay clear of aliasing rules).
 * 0, or MLS_E_NOMEM with the array untouched. */
static int grow(void *arrp, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *arr, *p;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return MLS_E_NOMEM;
    memcpy(&arr, arrp, sizeof arr);
    p = mls_realloc(arr, *cap * elem, ncap * elem);
    if (p == NULL)
        return MLS_E_NOMEM;
    memcpy(arrp, &p, sizeof p);
    *cap = ncap;
    return 0;
}

#define GROW(arr, cap, need) grow(&(arr), &(cap), (need), sizeof *(arr))

static int node_insert(mls_secrettree *st, uint32_t node, const uint8_t secret[MLS_HASH_LEN])
{
    size_t i;
    int rc;

    if ((rc = GROW(st->nodes, st->cap_nodes, st->n_nodes + 1)) != 0)
        return rc;
    LOWER_BOUND(st->nodes, st->n_nodes, node, node, i);
    memmove(&st->nodes[i + 1], &st->nodes[i], (st->n_nodes - i) * sizeof *st->nodes);
    st->nodes[i].node = node;
    memcpy(st->nodes[i].secret, secret, MLS_HASH_LEN);
    st->n_nodes++;
    return 0;
}

static void node_remove(mls_secrettree *st, size_t i)
{
    memmove(&st->nodes[i], &st->nodes[i + 1], (st->n_nodes - i - 1) * sizeof *st->nodes);
    st->n_nodes--;
    sodium_memzero(&st->nodes[st->n_nodes], sizeof *st->nodes);
}

/* The stored node whose span covers target (at most one: the stored set is an
 * antichain), or n_nodes. */
static size_t node_covering(const mls_secrettree *st, uint32_t target)
{
    size_t i;

    LOWER_BOUND(st->nodes, st->n_nodes, node, target, i);
    /* The covering node is either the first at or after target or the one before. */
    if (i < st->n_nodes && span_lo(st->nodes[i].node) <= target)
        return i;
    if (i > 0 && span_hi(st->nodes[i - 1].node) >= target)
        return i - 1;
    return st->n_nodes;
}

static void ratchet_wipe(mls_st_ratchet *r)
{
    mls_free(r->skipped, r->cap_skipped * sizeof *r->skipped);
    sodium_memzero(r, sizeof *r);
}

void mls_secrettree_free(mls_secrettree *st)
{
    size_t i;

    if (st == NULL)
        return;
    for (i = 0; i < st->n_leaves_init; i++) {
        ratchet_wipe(&st->leaves[i].r[0]);
        ratchet_wipe(&st->leaves[i].r[1]);
    }
    mls_free(st->leaves, st->cap_leaves * sizeof *st->leaves);
    mls_free(st->nodes, st->cap_nodes * sizeof *st->nodes);
    sodium_memzero(st, sizeof *st);
}

int mls_secrettree_init(mls_secrettree *st, const uint8_t encryption_secret[MLS_HASH_LEN],
                        uint32_t n_leaves)
{
    int rc;

    memset(st, 0, sizeof *st);
    if (n_leaves == 0 || n_leaves > ST_MAX_LEAVES)
        return MLS_E_INVALID;
    st->n_leaves = n_leaves;
    st->max_lookahead = MLS_SECRETTREE_DEFAULT_LOOKAHEAD;
    st->max_skipped = MLS_SECRETTREE_DEFAULT_SKIPPED;
    if ((rc = node_insert(st, tree_root(n_leaves), encryption_secret)) != 0)
        mls_secrettree_free(st);
    return rc;
}

int mls_secrettree_set_window(mls_secrettree *st, uint32_t max_lookahead,
                              uint32_t max_skipped)
{
    size_t i, j;

    if (max_skipped == 0 || max_skipped > MLS_SECRETTREE_MAX_SKIPPED)
        return MLS_E_INVALID;
    /* A smaller window drops the oldest keys now; a larger one grows arrays on use. */
    for (i = 0; i < st->n_leaves_init; i++) {
        for (j = 0; j < 2; j++) {
            mls_st_ratchet *r = &st->leaves[i].r[j];
            size_t drop;

            if (r->n_skipped <= max_skipped)
                continue;
            drop = r->n_skipped - max_skipped;
            memmove(r->skipped, r->skipped + drop, max_skipped * sizeof *r->skipped);
            sodium_memzero(r->skipped + max_skipped, drop * sizeof *r->skipped);
            r->n_skipped = max_skipped;
        }
    }
    st->max_lookahead = max_lookahead;
    st->max_skipped = max_skipped;
    return 0;
}

static int expand(const uint8_t secret[MLS_HASH_LEN], const char *label, const char *ctx,
                  uint8_t out[MLS_HASH_LEN])
{
    return mls_expand_with_label(secret, MLS_HASH_LEN, label, (const uint8_t *)ctx,
                                 strlen(ctx), out, MLS_HASH_LEN);
}

/* Derives leaf's ratchets from the stored ancestor covering it. */
static int leaf_create(mls_secrettree *st, uint32_t leaf, size_t at)
{
    uint32_t target = 2 * leaf, x;
    uint8_t cur[MLS_HASH_LEN], left[MLS_HASH_LEN], right[MLS_HASH_LEN];
    mls_st_leaf *l;
    size_t i;
    int rc;

    i = node_covering(st, target);
    if (i == st->n_nodes)
        return MLS_E_REPLAY;
    /* Room for the leaf record and for one off-path sibling per level, reserved up front
     * so that nothing below can fail half-way. */
    if ((rc = GROW(st->leaves, st->cap_leaves, st->n_leaves_init + 1)) != 0 ||
        (rc = GROW(st->nodes, st->cap_nodes, st->n_nodes + 32)) != 0)
        return rc;
    x = st->nodes[i].node;
    memcpy(cur, st->nodes[i].secret, sizeof cur);
    node_remove(st, i);
    while (x != target) {
        unsigned k = node_level(x);
        uint32_t half = (uint32_t)1 << (k - 1);

        if ((rc = expand(cur, "tree", "left", left)) != 0 ||
            (rc = expand(cur, "tree", "right", right)) != 0)
            goto done;
        if (target < x) {
            rc = node_insert(st, x + half, right);
            memcpy(cur, left, sizeof cur);
            x -= half;
        } else {
            rc = node_insert(st, x - half, left);
            memcpy(cur, right, sizeof cur);
            x += half;
        }
        if (rc != 0)
            goto done;
    }
    memmove(&st->leaves[at + 1], &st->leaves[at],
            (st->n_leaves_init - at) * sizeof *st->leaves);
    l = &st->leaves[at];
    memset(l, 0, sizeof *l);
    l->leaf = leaf;
    st->n_leaves_init++;
    if ((rc = expand(cur, "handshake", "", l->r[MLS_RATCHET_HANDSHAKE].secret)) == 0)
        rc = expand(cur, "application", "", l->r[MLS_RATCHET_APPLICATION].secret);
done:
    /* ExpandWithLabel cannot fail with these fixed lengths, so a failure (rc != 0) is
     * not expected here; what was derived is wiped either way. */
    sodium_memzero(cur, sizeof cur);
    sodium_memzero(left, sizeof left);
    sodium_memzero(right, sizeof right);
    return rc;
}

static int ratchet_of(mls_secrettree *st, uint32_t leaf, enum mls_ratchet_type type,
                      int create, mls_st_ratchet **out)
{
    size_t i;
    int rc;

    if (leaf >= st->n_leaves || (type != MLS_RATCHET_HANDSHAKE && type != MLS_RATCHET_APPLICATION))
        return MLS_E_INVALID;
    LOWER_BOUND(st->leaves, st->n_leaves_init, leaf, leaf, i);
    if (i == st->n_leaves_init || st->leaves[i].leaf != leaf) {
        if (!create)
            return MLS_E_REPLAY;
        if ((rc = leaf_create(st, leaf, i)) != 0)
            return rc;
    }
    *out = &st->leaves[i].r[type];
    return 0;
}

static int derive_key(const uint8_t secret[MLS_HASH_LEN], uint32_t gen,
                      uint8_t key[MLS_AEAD_KEY_LEN], uint8_t nonce[MLS_AEAD_NONCE_LEN])
{
    int rc;

    rc = mls_derive_tree_secret(secret, MLS_HASH_LEN, "key", gen, key, MLS_AEAD_KEY_LEN);
    if (rc == 0)
        rc = mls_derive_tree_secret(secret, MLS_HASH_LEN, "nonce", gen, nonce,
                                    MLS_AEAD_NONCE_LEN);
    return rc;
}

/* Moves r past next_gen: the secret of next_gen + 1 replaces the current one. */
static int advance(mls_st_ratchet *r)
{
    uint8_t next[MLS_HASH_LEN];
    int rc;

    rc = mls_derive_tree_secret(r->secret, MLS_HASH_LEN, "secret", r->next_gen, next,
                                sizeof next);
    if (rc != 0)
        return rc;
    if (r->next_gen == UINT32_MAX) {
        r->exhausted = 1;
        sodium_memzero(r->secret, sizeof r->secret);
    } else {
        r->next_gen++;
        memcpy(r->secret, next, sizeof next);
    }
    sodium_memzero(next, sizeof next);
    return 0;
}

static int skipped_find(const mls_st_ratchet *r, uint32_t gen, size_t *at)
{
    size_t i;

    LOWER_BOUND(r->skipped, r->n_skipped, generation, gen, i);
    *at = i;
    return i < r->n_skipped && r->skipped[i].generation == gen;
}

static void skipped_remove(mls_st_ratchet *r, size_t i)
{
    memmove(&r->skipped[i], &r->skipped[i + 1], (r->n_skipped - i - 1) * sizeof *r->skipped);
    r->n_skipped--;
    sodium_memzero(&r->skipped[r->n_skipped], sizeof *r->skipped);
}

int mls_secrettree_get(mls_secrettree *st, uint32_t leaf, enum mls_ratchet_type type,
                       uint32_t generation, uint8_t key[MLS_AEAD_KEY_LEN],
                       uint8_t nonce[MLS_AEAD_NONCE_LEN])
{
    mls_st_ratchet *r;
    uint64_t keep_from;
    size_t i;
    int rc;

    if ((rc = ratchet_of(st, leaf, type, 1, &r)) != 0)
        return rc;
    if (r->exhausted || generation < r->next_gen) {
        if (!skipped_find(r, generation, &i))
            return MLS_E_REPLAY;
        memcpy(key, r->skipped[i].key, MLS_AEAD_KEY_LEN);
        memcpy(nonce, r->skipped[i].nonce, MLS_AEAD_NONCE_LEN);
        return 0;
    }
    if ((uint64_t)generation - r->next_gen > st->max_lookahead)
        return MLS_E_TOO_FAR;
    {
        /* Room for what this call stores, reserved before anything changes. */
        uint64_t need = r->n_skipped + ((uint64_t)generation - r->next_gen + 1);

        if (need > st->max_skipped)
            need = st->max_skipped;
        if ((rc = GROW(r->skipped, r->cap_skipped, (size_t)need)) != 0)
            return rc;
    }
    /* Only the newest max_skipped generations up to and including generation survive,
     * so older ones are stepped over without deriving their keys. */
    keep_from = (uint64_t)generation + 1 >= st->max_skipped
                    ? (uint64_t)generation + 1 - st->max_skipped
                    : 0;
    for (;;) {
        uint32_t g = r->next_gen;

        if (g >= keep_from) {
            mls_st_key *k;

            if (r->n_skipped == st->max_skipped)
                skipped_remove(r, 0);
            k = &r->skipped[r->n_skipped];
            k->generation = g;
            if ((rc = derive_key(r->secret, g, k->key, k->nonce)) != 0)
                return rc;
            r->n_skipped++;
        }
        if ((rc = advance(r)) != 0)
            return rc;
        if (g == generation)
            break;
    }
    i = r->n_skipped - 1;
    memcpy(key, r->skipped[i].key, MLS_AEAD_KEY_LEN);
    memcpy(nonce, r->skipped[i].nonce, MLS_AEAD_NONCE_LEN);
    return 0;
}

int mls_secrettree_consume(mls_secrettree *st, uint32_t leaf, enum mls_ratchet_type type,
                           uint32_t generation)
{
    mls_st_ratchet *r;
    size_t i;
    int rc;

    if ((rc = ratchet_of(st, leaf, type, 0, &r)) != 0)
        return rc;
    if (!skipped_find(r, generation, &i))
        return MLS_E_REPLAY;
    skipped_remove(r, i);
    return 0;
}

int mls_secrettree_next(mls_secrettree *st, uint32_t leaf, enum mls_ratchet_type type,
                        uint32_t *generation, uint8_t key[MLS_AEAD_KEY_LEN],
                        uint8_t nonce[MLS_AEAD_NONCE_LEN])
{
    mls_st_ratchet *r;
    int rc;

    if ((rc = ratchet_of(st, leaf, type, 1, &r)) != 0)
        return rc;
    if (r->exhausted)
        return MLS_E_TOO_FAR;
    if ((rc = derive_key(r->secret, r->next_gen, key, nonce)) != 0)
        return rc;
    *generation = r->next_gen;
    return advance(r);
}

int mls_sender_data_key(const uint8_t sender_data_secret[MLS_HASH_LEN],
                        const uint8_t *ciphertext, size_t ct_len,
                        uint8_t key[MLS_AEAD_KEY_LEN], uint8_t nonce[MLS_AEAD_NONCE_LEN])
{
    size_t sample = ct_len < MLS_HASH_LEN ? ct_len : MLS_HASH_LEN;
    int rc;

    rc = mls_expand_with_label(sender_data_secret, MLS_HASH_LEN, "key", ciphertext, sample,
                               key, MLS_AEAD_KEY_LEN);
    if (rc == 0)
        rc = mls_expand_with_label(sender_data_secret, MLS_HASH_LEN, "nonce", ciphertext,
                                   sample, nonce, MLS_AEAD_NONCE_LEN);
    return rc;
}

int mls_secrettree_encode(const mls_secrettree *st, mls_buf *b)
{
    size_t i, j, k, mark, inner;

    mls_w_u8(b, ST_VERSION);
    mls_w_u32(b, st->n_leaves);
    mls_w_u32(b, st->max_lookahead);
    mls_w_u32(b, st->max_skipped);
    mark = mls_w_vec_begin(b);
    for (i = 0; i < st->n_nodes; i++) {
        mls_w_u32(b, st->nodes[i].node);
        mls_w_fixed(b, st->nodes[i].secret, MLS_HASH_LEN);
    }
    mls_w_vec_end(b, mark);
    mark = mls_w_vec_begin(b);
    for (i = 0; i < st->n_leaves_init; i++) {
        mls_w_u32(b, st->leaves[i].leaf);
        for (j = 0; j < 2; j++) {
            const mls_st_ratchet *r = &st->leaves[i].r[j];

            mls_w_u32(b, r->next_gen);
            mls_w_u8(b, (uint8_t)(r->exhausted ? 1 : 0));
            mls_w_fixed(b, r->secret, MLS_HASH_LEN);
            inner = mls_w_vec_begin(b);
            for (k = 0; k < r->n_skipped; k++) {
                mls_w_u32(b, r->skipped[k].generation);
                mls_w_fixed(b, r->skipped[k].key, MLS_AEAD_KEY_LEN);
                mls_w_fixed(b, r->skipped[k].nonce, MLS_AEAD_NONCE_LEN);
            }
            mls_w_vec_end(b, inner);
        }
    }
    mls_w_vec_end(b, mark);
    return mls_buf_status(b);
}

static int decode_ratchet(mls_rd *r, mls_secrettree *st, mls_st_ratchet *out)
{
    mls_slice s;
    mls_rd sub;
    uint8_t ex;
    int rc;

    if ((rc = mls_rd_u32(r, &out->next_gen)) != 0 || (rc = mls_rd_u8(r, &ex)) != 0 ||
        (rc = mls_rd_fixed(r, MLS_HASH_LEN, &s)) != 0 || (rc = mls_rd_vector(r, &sub)) != 0)
        return rc;
    if (ex > 1)
        return MLS_E_DECODE;
    out->exhausted = ex;
    memcpy(out->secret, s.p, MLS_HASH_LEN);
    while (mls_rd_left(&sub) > 0) {
        mls_st_key *k;
        mls_slice key, nonce;
        uint32_t g;

        if (out->n_skipped == st->max_skipped)
            return MLS_E_DECODE;
        if ((rc = GROW(out->skipped, out->cap_skipped, out->n_skipped + 1)) != 0)
            return rc;
        if ((rc = mls_rd_u32(&sub, &g)) != 0 ||
            (rc = mls_rd_fixed(&sub, MLS_AEAD_KEY_LEN, &key)) != 0 ||
            (rc = mls_rd_fixed(&sub, MLS_AEAD_NONCE_LEN, &nonce)) != 0)
            return rc;
        if ((out->n_skipped > 0 && g <= out->skipped[out->n_skipped - 1].generation) ||
            (!out->exhausted && g >= out->next_gen))
            return MLS_E_DECODE;
        k = &out->skipped[out->n_skipped++];
        k->generation = g;
        memcpy(k->key, key.p, MLS_AEAD_KEY_LEN);
        memcpy(k->nonce, nonce.p, MLS_AEAD_NONCE_LEN);
    }
    return 0;
}

int mls_secrettree_decode(mls_secrettree *st, const uint8_t *p, size_t n)
{
    mls_rd r, sub;
    uint8_t version;
    uint32_t width_hi;
    int rc;

    memset(st, 0, sizeof *st);
    mls_rd_init(&r, p, n);
    if ((rc = mls_rd_u8(&r, &version)) != 0 || (rc = mls_rd_u32(&r, &st->n_leaves)) != 0 ||
        (rc = mls_rd_u32(&r, &st->max_lookahead)) != 0 ||
        (rc = mls_rd_u32(&r, &st->max_skipped)) != 0)
        goto fail;
    rc = MLS_E_DECODE;
    if (version != ST_VERSION || st->n_leaves == 0 || st->n_leaves > ST_MAX_LEAVES ||
        st->max_skipped == 0 || st->max_skipped > MLS_SECRETTREE_MAX_SKIPPED)
        goto fail;
    width_hi = 2 * tree_root(st->n_leaves);
    if ((rc = mls_rd_vector(&r, &sub)) != 0)
        goto fail;
    while (mls_rd_left(&sub) > 0) {
        mls_slice s;
        uint32_t node;

        if ((rc = mls_rd_u32(&sub, &node)) != 0 ||
            (rc = mls_rd_fixed(&sub, MLS_HASH_LEN, &s)) != 0)
            goto fail;
        rc = MLS_E_DECODE;
        if (node > width_hi ||
            (st->n_nodes > 0 && span_hi(st->nodes[st->n_nodes - 1].node) >= span_lo(node)))
            goto fail;
        if ((rc = node_insert(st, node, s.p)) != 0)
            goto fail;
    }
    if ((rc = mls_rd_vector(&r, &sub)) != 0)
        goto fail;
    while (mls_rd_left(&sub) > 0) {
        mls_st_leaf *l;
        uint32_t leaf;

        if ((rc = mls_rd_u32(&sub, &leaf)) != 0)
            goto fail;
        rc = MLS_E_DECODE;
        if (leaf >= st->n_leaves || node_covering(st, 2 * leaf) != st->n_nodes ||
            (st->n_leaves_init > 0 && leaf <= st->leaves[st->n_leaves_init - 1].leaf))
            goto fail;
        if ((rc = GROW(st->leaves, st->cap_leaves, st->n_leaves_init + 1)) != 0)
            goto fail;
        l = &st->leaves[st->n_leaves_init++];
        memset(l, 0, sizeof *l);
        l->leaf = leaf;
        if ((rc = decode_ratchet(&sub, st, &l->r[0])) != 0 ||
            (rc = decode_ratchet(&sub, st, &l->r[1])) != 0)
            goto fail;
    }
    if ((rc = mls_rd_end(&r)) != 0)
        goto fail;
    return 0;
fail:
    mls_secrettree_free(st);
    return rc;
}
