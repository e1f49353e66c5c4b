/* tree-operations.json: Add / Update / Remove applied to a ratchet tree, with the tree
 * hash before and after (RFC 9420 7.7, 7.8, 12.1).
 *
 * The file holds cipher suite 1 cases only. Suite 1
 * (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519) has the hash, KEM and signature scheme
 * of our suite 3 and differs only in the AEAD, which these operations never use, so
 * suites 1 and 3 both run here; others are skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_proposal.h"
#include "mls_tree.h"
#include "mv.h"

static int check_hash(mls_tree *t, const mv_json *tc, const char *key, mv_result *res)
{
    uint8_t h[MLS_HASH_LEN];
    int rc = mls_tree_root_hash(t, h);
    if (rc)
        return mv_fail(res, "%s: root hash: %s", key, mls_strerror(rc)), 0;
    return mv_hex_eq(tc, key, h, sizeof h, res);
}

int mv_check_tree_operations(const mv_json *tc, mv_result *res)
{
    uint64_t suite = 0, sender = 0;
    uint8_t *before = NULL, *prop = NULL;
    size_t before_len = 0, prop_len = 0;
    mls_tree *t = NULL;
    mls_proposal p;
    mls_buf b = { 0 };
    int out = MV_FAIL, rc;

    memset(&p, 0, sizeof p);
    if (mv_json_u64(tc, "cipher_suite", &suite))
        return mv_fail(res, "missing cipher_suite");
    if (suite != 1 && suite != 3)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented; 1 runs too: "
                            "same hash, KEM, signature)",
                       (unsigned long long)suite);
    if (mv_hex(tc, "tree_before", &before, &before_len) ||
        mv_hex(tc, "proposal", &prop, &prop_len) ||
        mv_json_u64(tc, "proposal_sender", &sender) || sender > UINT32_MAX) {
        mv_fail(res, "missing or malformed field");
        goto done;
    }
    if ((rc = mls_tree_decode(&t, before, before_len))) {
        mv_fail(res, "tree_before: %s", mls_strerror(rc));
        goto done;
    }
    if (!check_hash(t, tc, "tree_hash_before", res))
        goto done;
    if ((rc = mls_proposal_decode_all(prop, prop_len, &p))) {
        mv_fail(res, "proposal: %s", mls_strerror(rc));
        goto done;
    }
    switch (p.proposal_type) {
    case MLS_PROPOSAL_ADD:
        rc = mls_tree_add_leaf(t, &p.add.leaf_node, NULL);
        break;
    case MLS_PROPOSAL_UPDATE:
        rc = mls_tree_update_leaf(t, (uint32_t)sender, &p.update);
        break;
    case MLS_PROPOSAL_REMOVE:
        rc = mls_tree_remove_leaf(t, p.remove);
        break;
    default:
        mv_fail(res, "proposal type %u is not add/update/remove", p.proposal_type);
        goto done;
    }
    if (rc) {
        mv_fail(res, "applying proposal type %u: %s", p.proposal_type, mls_strerror(rc));
        goto done;
    }
    if ((rc = mls_tree_encode(t, &b))) {
        mv_fail(res, "encoding tree_after: %s", mls_strerror(rc));
        goto done;
    }
    if (!mv_hex_eq(tc, "tree_after", b.p, b.len, res) ||
        !check_hash(t, tc, "tree_hash_after", res))
        goto done;
    out = MV_PASS;
done:
    mls_buf_free(&b);
    mls_proposal_free(&p);
    mls_tree_free(t);
    free(before);
    free(prop);
    return out;
}
