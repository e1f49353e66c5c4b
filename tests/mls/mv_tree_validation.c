/* tree-validation.json: per-node resolutions and tree hashes, parent hashes and leaf
 * signatures of a ratchet tree (RFC 9420 4.1.1, 7.8, 7.9.2, 12.4.3.1).
 *
 * Suites 1 and 3 both run: suite 1 (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519) has
 * the hash, KEM and signature scheme of our suite 3 and differs only in the AEAD, which
 * nothing here uses. Other suites are skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_tree.h"
#include "mv.h"

static int check_resolution(const mls_tree *t, uint32_t node, const mv_json *want,
                            uint32_t *buf, size_t cap, mv_result *res)
{
    size_t n = 0;
    int rc = mls_tree_resolution(t, node, NULL, 0, buf, cap, &n);
    if (rc)
        return mv_fail(res, "resolution of node %u: %s", node, mls_strerror(rc)), 0;
    if (!want || want->type != MV_J_ARR)
        return mv_fail(res, "resolutions[%u] is not an array", node), 0;
    int same = want->n == n;
    for (size_t i = 0; same && i < n; i++)
        same = want->items[i].type == MV_J_NUM && want->items[i].is_u64 &&
               want->items[i].u64 == buf[i];
    if (!same) {
        char got[256];
        size_t o = 0;
        got[0] = '\0';
        for (size_t i = 0; i < n && o + 12 < sizeof got; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%u", i ? "," : "", buf[i]);
        return mv_fail(res, "resolution of node %u: got [%s] (%zu entries), want %zu entries",
                       node, got, n, want->n), 0;
    }
    return 1;
}

/* 1 if the JSON string v is the hex of exactly p[0..n). */
static int hex_is(const mv_json *v, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (!v || v->type != MV_J_STR || v->str_len != 2 * n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((v->str[2 * i] | 0x20) != digits[p[i] >> 4] ||
            (v->str[2 * i + 1] | 0x20) != digits[p[i] & 15])
            return 0;
    return 1;
}

int mv_check_tree_validation(const mv_json *tc, mv_result *res)
{
    uint64_t suite = 0;
    uint8_t *tree = NULL, *gid = NULL;
    size_t tree_len = 0, gid_len = 0;
    uint32_t *buf = NULL;
    mls_tree *t = NULL;
    int out = MV_FAIL, rc;

    if (mv_json_u64(tc, "cipher_suite", &suite))
        return mv_fail(res, "missing cipher_suite");
    if (suite != 1 && suite != 3)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented; 1 runs too: "
                            "same hash, KEM, signature)",
                       (unsigned long long)suite);
    const mv_json *resolutions = mv_json_arr(tc, "resolutions");
    const mv_json *hashes = mv_json_arr(tc, "tree_hashes");
    if (mv_hex(tc, "tree", &tree, &tree_len) || mv_hex(tc, "group_id", &gid, &gid_len) ||
        !resolutions || !hashes) {
        mv_fail(res, "missing or malformed field");
        goto done;
    }
    if ((rc = mls_tree_decode(&t, tree, tree_len))) {
        mv_fail(res, "tree: %s", mls_strerror(rc));
        goto done;
    }
    uint32_t n = mls_tree_n_nodes(t);
    if (resolutions->n != n || hashes->n != n) {
        mv_fail(res, "tree has %u nodes, vector lists %zu resolutions and %zu hashes", n,
                resolutions->n, hashes->n);
        goto done;
    }
    buf = malloc((size_t)n * sizeof *buf);
    if (!buf) {
        mv_fail(res, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < n; i++)
        if (!check_resolution(t, i, &resolutions->items[i], buf, n, res))
            goto done;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t h[MLS_HASH_LEN];
        const mv_json *w = &hashes->items[i];
        if ((rc = mls_tree_hash(t, i, h))) {
            mv_fail(res, "tree hash of node %u: %s", i, mls_strerror(rc));
            goto done;
        }
        if (!hex_is(w, h, sizeof h)) {
            mv_fail(res, "tree hash of node %u differs", i);
            goto done;
        }
    }
    if ((rc = mls_tree_verify_parent_hashes(t))) {
        mv_fail(res, "parent hashes: %s", mls_strerror(rc));
        goto done;
    }
    /* The whole join validation: leaf signatures with group_id, unmerged leaves, unique
     * keys, parent hashes again. */
    if ((rc = mls_tree_validate(t, gid, gid_len, NULL))) {
        mv_fail(res, "tree validation: %s", mls_strerror(rc));
        goto done;
    }
    out = MV_PASS;
done:
    free(buf);
    free(tree);
    free(gid);
    mls_tree_free(t);
    return out;
}
