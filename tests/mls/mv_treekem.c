/* treekem.json: private path state, merging and decrypting UpdatePaths, and a fresh
 * UpdatePath of ours decrypted by every other member (RFC 9420 7.4 - 7.6, 7.9).
 *
 * TreeKEM uses HPKE, whose AEAD differs between suites: only suite 3 runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mls_codec.h"
#include "mls_commit.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_groupinfo.h"
#include "mls_tree.h"
#include "mls_treekem.h"
#include "mv.h"

#define MAX_PRIV 64

typedef struct tk_case {
    uint8_t *gid, *cth;
    size_t gid_len, cth_len;
    uint64_t epoch;
    mls_tree *tree;
    size_t n_priv;
    mls_treekem_priv priv[MAX_PRIV];
    uint8_t sig_seed[MAX_PRIV][MLS_SIG_SEED_LEN];
} tk_case;

/* Hex of the JSON string v into exactly n bytes of out; 0 or -1. */
static int hex_n(const mv_json *v, uint8_t *out, size_t n)
{
    if (!v || v->type != MV_J_STR || v->str_len != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = v->str[i];
        int d = (c >= '0' && c <= '9') ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(d << 4);
        else
            out[i / 2] |= (uint8_t)d;
    }
    return 0;
}

static const mv_json *field(const mv_json *obj, const char *key)
{
    return mv_json_get(obj, key);
}

/* The GroupContext of the vector with the given tree hash, encoded into b. */
static int group_context(const tk_case *c, const uint8_t th[MLS_HASH_LEN], mls_buf *b)
{
    mls_group_context gc;
    memset(&gc, 0, sizeof gc);
    gc.version = MLS_PROTOCOL_VERSION;
    gc.cipher_suite = MLS_CIPHER_SUITE;
    gc.group_id = (mls_bytes){ c->gid, c->gid_len };
    gc.epoch = c->epoch;
    gc.tree_hash = (mls_bytes){ (uint8_t *)th, MLS_HASH_LEN };
    gc.confirmed_transcript_hash = (mls_bytes){ c->cth, c->cth_len };
    mls_buf_reset(b);
    return mls_group_context_encode(b, &gc);
}

static mls_treekem_priv *priv_of(tk_case *c, uint32_t leaf, size_t *idx)
{
    for (size_t i = 0; i < c->n_priv; i++) {
        if (c->priv[i].leaf == leaf) {
            if (idx)
                *idx = i;
            return &c->priv[i];
        }
    }
    return NULL;
}

static int load_private(tk_case *c, const mv_json *tc, mv_result *res)
{
    const mv_json *lp = mv_json_arr(tc, "leaves_private");
    if (!lp || lp->n > MAX_PRIV)
        return mv_fail(res, "leaves_private missing or too long"), 0;
    for (size_t i = 0; i < lp->n; i++) {
        const mv_json *e = &lp->items[i];
        uint64_t index;
        uint8_t sk[MLS_KEM_SK_LEN];
        const mv_json *pss = mv_json_arr(e, "path_secrets");
        if (mv_json_u64(e, "index", &index) || index > UINT32_MAX ||
            hex_n(field(e, "encryption_priv"), sk, sizeof sk) ||
            hex_n(field(e, "signature_priv"), c->sig_seed[i], MLS_SIG_SEED_LEN) || !pss)
            return mv_fail(res, "leaves_private[%zu]: malformed", i), 0;
        mls_treekem_priv *p = &c->priv[i];
        mls_treekem_priv_init(p, (uint32_t)index, sk);
        sodium_memzero(sk, sizeof sk);
        c->n_priv = i + 1;
        for (size_t k = 0; k < pss->n; k++) {
            uint64_t node;
            uint8_t ps[MLS_HASH_LEN];
            if (mv_json_u64(&pss->items[k], "node", &node) || node > UINT32_MAX ||
                hex_n(field(&pss->items[k], "path_secret"), ps, sizeof ps))
                return mv_fail(res, "leaves_private[%zu].path_secrets[%zu]: malformed", i, k), 0;
            int rc = mls_treekem_priv_set_path_secret(p, c->tree, (uint32_t)node, ps, 0);
            sodium_memzero(ps, sizeof ps);
            if (rc)
                return mv_fail(res, "leaf %llu: path secret of node %llu: %s",
                               (unsigned long long)index, (unsigned long long)node,
                               mls_strerror(rc)), 0;
        }
        int rc = mls_treekem_priv_check(p, c->tree);
        if (rc)
            return mv_fail(res, "leaf %llu: private state inconsistent with the tree: %s",
                           (unsigned long long)index, mls_strerror(rc)), 0;
    }
    return 1;
}

/* Every member j != sender with a non-blank leaf processes up (already merged into
 * merged); each must reach commit_secret and, when want_ps is given, the path secret
 * want_ps[j]. */
static int decrypt_all(tk_case *c, const mls_tree *merged, uint32_t sender,
                       const mls_update_path *up, const uint8_t *gc, size_t gc_len,
                       const uint8_t want_cs[MLS_HASH_LEN], const mv_json *want_ps,
                       const char *what, mv_result *res)
{
    for (uint32_t j = 0; j < mls_tree_n_leaves(c->tree); j++) {
        if (j == sender || !mls_tree_leaf(c->tree, j))
            continue;
        mls_treekem_priv *p = priv_of(c, j, NULL);
        if (!p)
            return mv_fail(res, "%s: no private state for leaf %u", what, j), 0;
        mls_treekem_priv tmp = *p;
        uint8_t cs[MLS_HASH_LEN], ps[MLS_HASH_LEN], want[MLS_HASH_LEN];
        int rc = mls_treekem_decrypt(&tmp, merged, sender, up, NULL, 0, gc, gc_len, cs, ps);
        int ok = 0;
        if (rc)
            mv_fail(res, "%s: leaf %u: decrypt: %s", what, j, mls_strerror(rc));
        else if (want_ps && (j >= want_ps->n || hex_n(&want_ps->items[j], want, sizeof want)))
            mv_fail(res, "%s: path_secrets[%u] missing or malformed", what, j);
        else if (want_ps && memcmp(ps, want, sizeof ps) != 0)
            mv_fail(res, "%s: leaf %u: path secret differs", what, j);
        else if (memcmp(cs, want_cs, sizeof cs) != 0)
            mv_fail(res, "%s: leaf %u: commit secret differs", what, j);
        else if ((rc = mls_treekem_priv_check(&tmp, merged)))
            mv_fail(res, "%s: leaf %u: private state after decrypt: %s", what, j,
                    mls_strerror(rc));
        else
            ok = 1;
        sodium_memzero(&tmp, sizeof tmp);
        sodium_memzero(cs, sizeof cs);
        sodium_memzero(ps, sizeof ps);
        if (!ok)
            return 0;
    }
    return 1;
}

static int check_given_path(tk_case *c, const mv_json *e, size_t idx, mv_result *res)
{
    uint64_t sender;
    uint8_t *raw = NULL, want_th[MLS_HASH_LEN], want_cs[MLS_HASH_LEN], th[MLS_HASH_LEN];
    size_t raw_len = 0;
    mls_update_path up;
    mls_tree *t = NULL;
    mls_buf gc = { 0 };
    char what[48];
    int ok = 0, rc;
    memset(&up, 0, sizeof up);
    snprintf(what, sizeof what, "update_paths[%zu]", idx);
    const mv_json *pss = mv_json_arr(e, "path_secrets");
    if (mv_json_u64(e, "sender", &sender) || sender > UINT32_MAX ||
        mv_hex(e, "update_path", &raw, &raw_len) || !pss ||
        hex_n(field(e, "commit_secret"), want_cs, sizeof want_cs) ||
        hex_n(field(e, "tree_hash_after"), want_th, sizeof want_th)) {
        mv_fail(res, "%s: malformed", what);
        goto done;
    }
    if ((rc = mls_update_path_decode_all(raw, raw_len, &up))) {
        mv_fail(res, "%s: decode: %s", what, mls_strerror(rc));
        goto done;
    }
    if ((rc = mls_tree_copy(&t, c->tree)) ||
        (rc = mls_treekem_merge(t, (uint32_t)sender, &up, c->gid, c->gid_len))) {
        mv_fail(res, "%s: merge (parent hash of the path): %s", what, mls_strerror(rc));
        goto done;
    }
    if ((rc = mls_tree_root_hash(t, th)) || memcmp(th, want_th, sizeof th) != 0) {
        mv_fail(res, "%s: tree hash after merge differs", what);
        goto done;
    }
    if ((rc = mls_tree_validate(t, c->gid, c->gid_len, want_th))) {
        mv_fail(res, "%s: merged tree does not validate: %s", what, mls_strerror(rc));
        goto done;
    }
    if ((rc = group_context(c, th, &gc))) {
        mv_fail(res, "%s: GroupContext: %s", what, mls_strerror(rc));
        goto done;
    }
    ok = decrypt_all(c, t, (uint32_t)sender, &up, gc.p, gc.len, want_cs, pss, what, res);
done:
    mls_buf_free(&gc);
    mls_update_path_free(&up);
    mls_tree_free(t);
    free(raw);
    return ok;
}

/* A fresh UpdatePath from sender on the vector's tree: every other member must merge it
 * to the committer's tree and reach the committer's commit secret. */
static int check_new_path(tk_case *c, uint32_t sender, mv_result *res)
{
    mls_tree *t = NULL, *r = NULL;
    mls_treekem_commit st;
    mls_update_path up;
    mls_buf gc = { 0 }, e1 = { 0 }, e2 = { 0 };
    uint8_t th[MLS_HASH_LEN];
    size_t idx = 0;
    int ok = 0, rc;
    memset(&up, 0, sizeof up);
    memset(&st, 0, sizeof st);
    if (!priv_of(c, sender, &idx))
        return mv_fail(res, "new path: no private state for sender %u", sender), 0;
    if ((rc = mls_tree_copy(&t, c->tree)) ||
        (rc = mls_treekem_commit_start(t, sender, NULL, c->sig_seed[idx], c->gid, c->gid_len,
                                       NULL, &st)) ||
        (rc = mls_tree_root_hash(t, th)) || (rc = group_context(c, th, &gc)) ||
        (rc = mls_treekem_commit_encrypt(t, &st, NULL, 0, gc.p, gc.len, NULL, &up))) {
        mv_fail(res, "new path from %u: %s", sender, mls_strerror(rc));
        goto done;
    }
    if ((rc = mls_tree_validate(t, c->gid, c->gid_len, th))) {
        mv_fail(res, "new path from %u: committer's tree does not validate: %s", sender,
                mls_strerror(rc));
        goto done;
    }
    /* Through the wire form, as a receiver gets it. */
    mls_update_path got;
    memset(&got, 0, sizeof got);
    if ((rc = mls_update_path_encode(&e1, &up)) ||
        (rc = mls_update_path_decode_all(e1.p, e1.len, &got))) {
        mv_fail(res, "new path from %u: round trip: %s", sender, mls_strerror(rc));
        goto done;
    }
    rc = mls_tree_copy(&r, c->tree);
    if (!rc)
        rc = mls_treekem_merge(r, sender, &got, c->gid, c->gid_len);
    if (rc) {
        mls_update_path_free(&got);
        mv_fail(res, "new path from %u: merge: %s", sender, mls_strerror(rc));
        goto done;
    }
    mls_buf_reset(&e1);
    if ((rc = mls_tree_encode(t, &e1)) ||
        (rc = mls_tree_encode(r, &e2)) || e1.len != e2.len || memcmp(e1.p, e2.p, e1.len)) {
        mls_update_path_free(&got);
        mv_fail(res, "new path from %u: receiver's merged tree differs from committer's",
                sender);
        goto done;
    }
    ok = decrypt_all(c, r, sender, &got, gc.p, gc.len, st.commit_secret, NULL, "new path",
                     res);
    mls_update_path_free(&got);
done:
    mls_treekem_commit_wipe(&st);
    mls_update_path_free(&up);
    mls_buf_free(&gc);
    mls_buf_free(&e1);
    mls_buf_free(&e2);
    mls_tree_free(t);
    mls_tree_free(r);
    return ok;
}

int mv_check_treekem(const mv_json *tc, mv_result *res)
{
    uint64_t suite = 0;
    uint8_t *tree = NULL;
    size_t tree_len = 0;
    tk_case *c = calloc(1, sizeof *c);
    int out = MV_FAIL, rc;

    if (!c)
        return mv_fail(res, "out of memory");
    if (mv_json_u64(tc, "cipher_suite", &suite)) {
        mv_fail(res, "missing cipher_suite");
        goto done;
    }
    if (suite != MLS_CIPHER_SUITE) {
        out = mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                      (unsigned long long)suite);
        goto done;
    }
    const mv_json *ups = mv_json_arr(tc, "update_paths");
    if (mv_hex(tc, "group_id", &c->gid, &c->gid_len) ||
        mv_hex(tc, "confirmed_transcript_hash", &c->cth, &c->cth_len) ||
        mv_json_u64(tc, "epoch", &c->epoch) || mv_hex(tc, "ratchet_tree", &tree, &tree_len) ||
        !ups) {
        mv_fail(res, "missing or malformed field");
        goto done;
    }
    if ((rc = mls_tree_decode(&c->tree, tree, tree_len))) {
        mv_fail(res, "ratchet_tree: %s", mls_strerror(rc));
        goto done;
    }
    if (!load_private(c, tc, res))
        goto done;
    for (size_t i = 0; i < ups->n; i++)
        if (!check_given_path(c, &ups->items[i], i, res))
            goto done;
    for (size_t i = 0; i < ups->n; i++) {
        uint64_t sender;
        if (mv_json_u64(&ups->items[i], "sender", &sender) || sender > UINT32_MAX) {
            mv_fail(res, "update_paths[%zu]: bad sender", i);
            goto done;
        }
        if (!check_new_path(c, (uint32_t)sender, res))
            goto done;
    }
    out = MV_PASS;
done:
    mls_tree_free(c->tree);
    free(c->gid);
    free(c->cth);
    free(tree);
    sodium_memzero(c, sizeof *c);
    free(c);
    return out;
}
