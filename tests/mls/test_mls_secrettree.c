/* test_mls_secrettree: the secret tree's ratchets, out-of-order window, forward
 * secrecy (deleted means gone, also from the stored state) and state encoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "mls_alloc.h"
#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_secrettree.h"

static uint8_t root_secret[MLS_HASH_LEN];

/* 1 if needle (n bytes) occurs in hay. */
static int contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= hay_len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

static void test_send_receive(void)
{
    mls_secrettree s, r;
    uint8_t k1[MLS_AEAD_KEY_LEN], n1[MLS_AEAD_NONCE_LEN], k2[MLS_AEAD_KEY_LEN],
        n2[MLS_AEAD_NONCE_LEN];
    uint32_t gen;

    CHECK_EQ(mls_secrettree_init(&s, root_secret, 4), 0);
    CHECK_EQ(mls_secrettree_init(&r, root_secret, 4), 0);
    for (uint32_t g = 0; g < 10; g++) {
        CHECK_EQ(mls_secrettree_next(&s, 2, MLS_RATCHET_APPLICATION, &gen, k1, n1), 0);
        CHECK_EQ(gen, g);
        CHECK_EQ(mls_secrettree_get(&r, 2, MLS_RATCHET_APPLICATION, g, k2, n2), 0);
        CHECK_MEM(k1, k2, sizeof k1);
        CHECK_MEM(n1, n2, sizeof n1);
        /* get without consume may be repeated (a forgery does not burn the key) */
        CHECK_EQ(mls_secrettree_get(&r, 2, MLS_RATCHET_APPLICATION, g, k2, n2), 0);
        CHECK_MEM(k1, k2, sizeof k1);
        CHECK_EQ(mls_secrettree_consume(&r, 2, MLS_RATCHET_APPLICATION, g), 0);
        CHECK_EQ(mls_secrettree_get(&r, 2, MLS_RATCHET_APPLICATION, g, k2, n2), MLS_E_REPLAY);
        CHECK_EQ(mls_secrettree_consume(&r, 2, MLS_RATCHET_APPLICATION, g), MLS_E_REPLAY);
    }
    /* The handshake ratchet of the same leaf is independent and gives other keys. */
    CHECK_EQ(mls_secrettree_get(&r, 2, MLS_RATCHET_HANDSHAKE, 0, k2, n2), 0);
    CHECK_EQ(mls_secrettree_next(&s, 2, MLS_RATCHET_HANDSHAKE, &gen, k1, n1), 0);
    CHECK_EQ(gen, 0);
    CHECK_MEM(k1, k2, sizeof k1);
    CHECK_EQ(mls_secrettree_get(&r, 3, MLS_RATCHET_APPLICATION, 0, k1, n1), 0);
    CHECK(memcmp(k1, k2, sizeof k1) != 0);
    /* Bad arguments. */
    CHECK_EQ(mls_secrettree_get(&r, 4, MLS_RATCHET_APPLICATION, 0, k2, n2), MLS_E_INVALID);
    CHECK_EQ(mls_secrettree_next(&s, 4, MLS_RATCHET_APPLICATION, &gen, k2, n2), MLS_E_INVALID);
    CHECK_EQ(mls_secrettree_get(&r, 0, (enum mls_ratchet_type)2, 0, k2, n2), MLS_E_INVALID);
    {
        mls_secrettree bad;
        CHECK_EQ(mls_secrettree_init(&bad, root_secret, 0), MLS_E_INVALID);
        CHECK_EQ(mls_secrettree_set_window(&r, 10, 0), MLS_E_INVALID);
        CHECK_EQ(mls_secrettree_set_window(&r, 10, MLS_SECRETTREE_MAX_SKIPPED + 1),
                 MLS_E_INVALID);
    }
    mls_secrettree_free(&s);
    mls_secrettree_free(&r);
}

/* The keys a sender would use for generations 0..n-1 of leaf 1's application ratchet. */
static void sender_keys(uint32_t n, uint8_t (*keys)[MLS_AEAD_KEY_LEN])
{
    mls_secrettree s;
    uint8_t nonce[MLS_AEAD_NONCE_LEN];
    uint32_t gen;

    CHECK_EQ(mls_secrettree_init(&s, root_secret, 2), 0);
    for (uint32_t g = 0; g < n; g++)
        CHECK_EQ(mls_secrettree_next(&s, 1, MLS_RATCHET_APPLICATION, &gen, keys[g], nonce), 0);
    mls_secrettree_free(&s);
}

static int get_ok(mls_secrettree *r, uint32_t g, const uint8_t want[MLS_AEAD_KEY_LEN])
{
    uint8_t k[MLS_AEAD_KEY_LEN], n[MLS_AEAD_NONCE_LEN];
    int rc = mls_secrettree_get(r, 1, MLS_RATCHET_APPLICATION, g, k, n);

    if (rc != 0)
        return rc;
    if (memcmp(k, want, sizeof k) != 0)
        return 1;
    return mls_secrettree_consume(r, 1, MLS_RATCHET_APPLICATION, g);
}

static void test_out_of_order(void)
{
    static uint8_t keys[1200][MLS_AEAD_KEY_LEN];
    uint8_t k[MLS_AEAD_KEY_LEN], n[MLS_AEAD_NONCE_LEN];
    mls_secrettree r;

    sender_keys(1200, keys);
    CHECK_EQ(mls_secrettree_init(&r, root_secret, 2), 0);
    /* 5 first, then the skipped 0..4 in a shuffled order: each accepted once. */
    CHECK_EQ(get_ok(&r, 5, keys[5]), 0);
    CHECK_EQ(get_ok(&r, 3, keys[3]), 0);
    CHECK_EQ(get_ok(&r, 0, keys[0]), 0);
    CHECK_EQ(get_ok(&r, 4, keys[4]), 0);
    CHECK_EQ(get_ok(&r, 1, keys[1]), 0);
    CHECK_EQ(get_ok(&r, 2, keys[2]), 0);
    for (uint32_t g = 0; g <= 5; g++)
        CHECK_EQ(get_ok(&r, g, keys[g]), MLS_E_REPLAY);
    CHECK_EQ(r.leaves[0].r[MLS_RATCHET_APPLICATION].n_skipped, 0);

    /* Jump from 6 to 100: only the newest 32 (69..100) are kept. */
    CHECK_EQ(get_ok(&r, 100, keys[100]), 0);
    CHECK_EQ(r.leaves[0].r[MLS_RATCHET_APPLICATION].n_skipped, 31);
    CHECK_EQ(get_ok(&r, 68, keys[68]), MLS_E_REPLAY);
    CHECK_EQ(get_ok(&r, 6, keys[6]), MLS_E_REPLAY);
    CHECK_EQ(get_ok(&r, 69, keys[69]), 0);
    CHECK_EQ(get_ok(&r, 99, keys[99]), 0);
    CHECK_EQ(get_ok(&r, 99, keys[99]), MLS_E_REPLAY);

    /* Look-ahead: next is 101, so 1101 is the farthest allowed. */
    CHECK_EQ(mls_secrettree_get(&r, 1, MLS_RATCHET_APPLICATION, 1102, k, n), MLS_E_TOO_FAR);
    CHECK_EQ(mls_secrettree_get(&r, 1, MLS_RATCHET_APPLICATION, UINT32_MAX, k, n),
             MLS_E_TOO_FAR);
    /* A refused jump changes nothing: 101 still works. */
    CHECK_EQ(get_ok(&r, 101, keys[101]), 0);
    CHECK_EQ(get_ok(&r, 1102, keys[1102]), 0); /* next is 102 now */
    mls_secrettree_free(&r);

    /* A smaller window: at most 4 skipped, 10 ahead. */
    CHECK_EQ(mls_secrettree_init(&r, root_secret, 2), 0);
    CHECK_EQ(mls_secrettree_set_window(&r, 10, 4), 0);
    CHECK_EQ(mls_secrettree_get(&r, 1, MLS_RATCHET_APPLICATION, 11, k, n), MLS_E_TOO_FAR);
    CHECK_EQ(get_ok(&r, 10, keys[10]), 0);
    CHECK_EQ(get_ok(&r, 6, keys[6]), MLS_E_REPLAY);
    CHECK_EQ(get_ok(&r, 7, keys[7]), 0);
    CHECK_EQ(get_ok(&r, 9, keys[9]), 0);
    /* Shrinking the window drops the oldest kept keys at once. */
    CHECK_EQ(get_ok(&r, 20, keys[20]), 0); /* keeps 17, 18, 19 */
    CHECK_EQ(mls_secrettree_set_window(&r, 10, 1), 0);
    CHECK_EQ(get_ok(&r, 18, keys[18]), MLS_E_REPLAY);
    CHECK_EQ(get_ok(&r, 19, keys[19]), 0);
    mls_secrettree_free(&r);
}

static void test_deletion(void)
{
    uint8_t left[MLS_HASH_LEN], leaf0[MLS_HASH_LEN], app0[MLS_HASH_LEN], app1[MLS_HASH_LEN];
    uint8_t k[MLS_AEAD_KEY_LEN], n[MLS_AEAD_NONCE_LEN], k0[MLS_AEAD_KEY_LEN];
    mls_secrettree r;
    mls_buf b = {0};

    /* 4 leaves: root 3, children 1 and 5; leaf 0 is node 0. Compute the secrets of the
     * path independently. */
    CHECK_EQ(mls_expand_with_label(root_secret, MLS_HASH_LEN, "tree", (const uint8_t *)"left", 4,
                                   left, sizeof left), 0);
    CHECK_EQ(mls_expand_with_label(left, MLS_HASH_LEN, "tree", (const uint8_t *)"left", 4, leaf0,
                                   sizeof leaf0), 0);
    CHECK_EQ(mls_expand_with_label(leaf0, MLS_HASH_LEN, "application", NULL, 0, app0,
                                   sizeof app0), 0);
    CHECK_EQ(mls_derive_tree_secret(app0, MLS_HASH_LEN, "secret", 0, app1, sizeof app1), 0);

    CHECK_EQ(mls_secrettree_init(&r, root_secret, 4), 0);
    CHECK_EQ(mls_secrettree_encode(&r, &b), 0);
    CHECK(contains(b.p, b.len, root_secret, sizeof root_secret));
    mls_buf_reset(&b);

    CHECK_EQ(mls_secrettree_get(&r, 0, MLS_RATCHET_APPLICATION, 0, k0, n), 0);
    /* The path is gone; only the off-path siblings (node 2 = leaf 1, node 5) remain. */
    CHECK_EQ(r.n_nodes, 2);
    CHECK_EQ(r.nodes[0].node, 2);
    CHECK_EQ(r.nodes[1].node, 5);
    CHECK_EQ(mls_secrettree_encode(&r, &b), 0);
    CHECK(!contains(b.p, b.len, root_secret, sizeof root_secret));
    CHECK(!contains(b.p, b.len, left, sizeof left));
    CHECK(!contains(b.p, b.len, leaf0, sizeof leaf0));
    CHECK(!contains(b.p, b.len, app0, sizeof app0)); /* ratchet moved past generation 0 */
    CHECK(contains(b.p, b.len, app1, sizeof app1));
    CHECK(contains(b.p, b.len, k0, sizeof k0)); /* not consumed yet */
    mls_buf_reset(&b);
    CHECK_EQ(mls_secrettree_consume(&r, 0, MLS_RATCHET_APPLICATION, 0), 0);
    CHECK_EQ(mls_secrettree_encode(&r, &b), 0);
    CHECK(!contains(b.p, b.len, k0, sizeof k0));
    mls_buf_reset(&b);
    /* The sender side deletes at once. */
    CHECK_EQ(mls_secrettree_next(&r, 0, MLS_RATCHET_APPLICATION, &(uint32_t){0}, k, n), 0);
    CHECK_EQ(mls_secrettree_encode(&r, &b), 0);
    CHECK(!contains(b.p, b.len, k, sizeof k));
    CHECK(!contains(b.p, b.len, app1, sizeof app1));
    /* Every leaf still works after the deletions. */
    for (uint32_t l = 0; l < 4; l++)
        CHECK_EQ(mls_secrettree_get(&r, l, MLS_RATCHET_HANDSHAKE, 3, k, n), 0);
    CHECK_EQ(r.n_nodes, 0);
    mls_buf_free(&b);
    mls_secrettree_free(&r);
}

static void test_encoding(void)
{
    uint8_t k1[MLS_AEAD_KEY_LEN], n1[MLS_AEAD_NONCE_LEN], k2[MLS_AEAD_KEY_LEN],
        n2[MLS_AEAD_NONCE_LEN];
    mls_secrettree a, c;
    mls_buf b = {0}, b2 = {0};
    uint32_t gen;

    CHECK_EQ(mls_secrettree_init(&a, root_secret, 8), 0);
    CHECK_EQ(mls_secrettree_get(&a, 3, MLS_RATCHET_APPLICATION, 7, k1, n1), 0);
    CHECK_EQ(mls_secrettree_consume(&a, 3, MLS_RATCHET_APPLICATION, 4), 0);
    CHECK_EQ(mls_secrettree_next(&a, 6, MLS_RATCHET_HANDSHAKE, &gen, k1, n1), 0);
    CHECK_EQ(mls_secrettree_encode(&a, &b), 0);
    CHECK_EQ(mls_secrettree_decode(&c, b.p, b.len), 0);
    CHECK_EQ(mls_secrettree_encode(&c, &b2), 0);
    CHECK(b.len == b2.len && memcmp(b.p, b2.p, b.len) == 0);
    /* The copy behaves like the original. */
    CHECK_EQ(mls_secrettree_get(&a, 3, MLS_RATCHET_APPLICATION, 5, k1, n1), 0);
    CHECK_EQ(mls_secrettree_get(&c, 3, MLS_RATCHET_APPLICATION, 5, k2, n2), 0);
    CHECK_MEM(k1, k2, sizeof k1);
    CHECK_EQ(mls_secrettree_get(&c, 3, MLS_RATCHET_APPLICATION, 4, k2, n2), MLS_E_REPLAY);
    CHECK_EQ(mls_secrettree_get(&a, 0, MLS_RATCHET_APPLICATION, 9, k1, n1), 0);
    CHECK_EQ(mls_secrettree_get(&c, 0, MLS_RATCHET_APPLICATION, 9, k2, n2), 0);
    CHECK_MEM(k1, k2, sizeof k1);
    CHECK_EQ(mls_secrettree_next(&c, 6, MLS_RATCHET_HANDSHAKE, &gen, k2, n2), 0);
    CHECK_EQ(gen, 1);
    mls_secrettree_free(&c);

    /* Every truncation and a trailing byte are refused; so are bad versions. */
    for (size_t len = 0; len < b.len; len++) {
        CHECK(mls_secrettree_decode(&c, b.p, len) != 0);
        CHECK_EQ(c.n_nodes + c.n_leaves_init, 0);
    }
    {
        uint8_t *p = malloc(b.len + 1);
        memcpy(p, b.p, b.len);
        p[b.len] = 0;
        CHECK_EQ(mls_secrettree_decode(&c, p, b.len + 1), MLS_E_DECODE);
        p[0] = 2;
        CHECK_EQ(mls_secrettree_decode(&c, p, b.len), MLS_E_DECODE);
        /* Flipping any byte either still decodes (a secret byte) or is refused; never a
         * crash (run under ASan). */
        p[0] = 1;
        for (size_t i = 0; i < b.len; i++) {
            p[i] ^= 0x80;
            if (mls_secrettree_decode(&c, p, b.len) == 0)
                mls_secrettree_free(&c);
            p[i] ^= 0x80;
        }
        free(p);
    }
    /* Inconsistent states: a node and its ancestor, a leaf inside a stored subtree. */
    {
        mls_buf e = {0};
        uint8_t s[MLS_HASH_LEN] = {0};
        size_t m;

        mls_w_u8(&e, 1);
        mls_w_u32(&e, 4);
        mls_w_u32(&e, 10);
        mls_w_u32(&e, 4);
        m = mls_w_vec_begin(&e);
        mls_w_u32(&e, 1);
        mls_w_fixed(&e, s, sizeof s);
        mls_w_u32(&e, 2); /* inside node 1's span [0, 2] */
        mls_w_fixed(&e, s, sizeof s);
        mls_w_vec_end(&e, m);
        mls_w_varint(&e, 0);
        CHECK_EQ(mls_secrettree_decode(&c, e.p, e.len), MLS_E_DECODE);
        mls_buf_reset(&e);
        mls_w_u8(&e, 1);
        mls_w_u32(&e, 4);
        mls_w_u32(&e, 10);
        mls_w_u32(&e, 4);
        m = mls_w_vec_begin(&e);
        mls_w_u32(&e, 3);
        mls_w_fixed(&e, s, sizeof s);
        mls_w_vec_end(&e, m);
        m = mls_w_vec_begin(&e);
        mls_w_u32(&e, 0); /* leaf 0 while the root is still stored */
        for (int i = 0; i < 2; i++) {
            mls_w_u32(&e, 0);
            mls_w_u8(&e, 0);
            mls_w_fixed(&e, s, sizeof s);
            mls_w_varint(&e, 0);
        }
        mls_w_vec_end(&e, m);
        CHECK_EQ(mls_secrettree_decode(&c, e.p, e.len), MLS_E_DECODE);
        mls_buf_free(&e);
    }
    mls_buf_free(&b);
    mls_buf_free(&b2);
    mls_secrettree_free(&a);
}

/* Allocation failures: every failing allocation gives MLS_E_NOMEM and leaks nothing
 * (ASan's leak checker sees the rest). */
static long fail_after = -1;

static void *failing_alloc(void *ctx, size_t n)
{
    (void)ctx;
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return malloc(n);
}

static void failing_release(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void test_alloc_failures(void)
{
    mls_alloc_hooks hooks = {failing_alloc, failing_release, NULL};
    uint8_t k[MLS_AEAD_KEY_LEN], n[MLS_AEAD_NONCE_LEN];
    int saw_nomem = 0, finished = 0;

    mls_alloc_set_hooks(&hooks);
    for (long i = 0; i < 200 && !finished; i++) {
        mls_secrettree r;
        int rc;

        fail_after = i;
        rc = mls_secrettree_init(&r, root_secret, 64);
        if (rc == 0) {
            for (uint32_t l = 0; l < 64 && rc == 0; l += 7)
                rc = mls_secrettree_get(&r, l, MLS_RATCHET_APPLICATION, 40, k, n);
            if (rc == 0)
                finished = 1;
            mls_secrettree_free(&r);
        }
        if (rc != 0) {
            CHECK_EQ(rc, MLS_E_NOMEM);
            saw_nomem = 1;
        }
    }
    fail_after = -1;
    mls_alloc_set_hooks(NULL);
    CHECK(saw_nomem);
    CHECK(finished);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    for (size_t i = 0; i < sizeof root_secret; i++)
        root_secret[i] = (uint8_t)(i * 7 + 1);
    test_send_receive();
    test_out_of_order();
    test_deletion();
    test_encoding();
    test_alloc_failures();
    return check_finish("test_mls_secrettree");
}
