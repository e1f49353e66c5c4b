/* secret-tree.json: sender-data keys and the per-leaf ratchets (RFC 9420 6.3.2, 9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_secrettree.h"
#include "mv.h"

static int check_sender_data(const mv_json *sd, mv_result *res)
{
    uint8_t *secret = NULL, *ct = NULL;
    size_t secret_len = 0, ct_len = 0;
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    int out = MV_FAIL, rc;

    if (sd == NULL || mv_hex(sd, "sender_data_secret", &secret, &secret_len) ||
        secret_len != MLS_HASH_LEN || mv_hex(sd, "ciphertext", &ct, &ct_len)) {
        mv_fail(res, "sender_data: missing or malformed field");
        goto done;
    }
    if ((rc = mls_sender_data_key(secret, ct, ct_len, key, nonce)) != 0) {
        mv_fail(res, "sender_data_key: %s", mls_strerror(rc));
        goto done;
    }
    if (mv_hex_eq(sd, "key", key, sizeof key, res) &&
        mv_hex_eq(sd, "nonce", nonce, sizeof nonce, res))
        out = MV_PASS;
done:
    free(secret);
    free(ct);
    return out;
}

/* One entry of leaves[i]: the keys of both ratchets at its generation. The receiving
 * path (get then consume) is used: the vectors' generations ascend per leaf. */
static int check_generation(mls_secrettree *st, uint32_t leaf, const mv_json *e,
                            mv_result *res)
{
    static const char *const names[2][2] = {{"handshake_key", "handshake_nonce"},
                                            {"application_key", "application_nonce"}};
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    uint64_t gen;
    int t, rc;

    if (mv_json_u64(e, "generation", &gen) != 0 || gen > UINT32_MAX)
        return mv_fail(res, "leaf %u: bad generation", leaf);
    for (t = 0; t < 2; t++) {
        rc = mls_secrettree_get(st, leaf, (enum mls_ratchet_type)t, (uint32_t)gen, key, nonce);
        if (rc != 0)
            return mv_fail(res, "leaf %u generation %llu: %s", leaf, (unsigned long long)gen,
                           mls_strerror(rc));
        if (!mv_hex_eq(e, names[t][0], key, sizeof key, res) ||
            !mv_hex_eq(e, names[t][1], nonce, sizeof nonce, res)) {
            size_t l = strlen(res->why);
            snprintf(res->why + l, sizeof res->why - l, " (leaf %u generation %llu)", leaf,
                     (unsigned long long)gen);
            return MV_FAIL;
        }
        if ((rc = mls_secrettree_consume(st, leaf, (enum mls_ratchet_type)t, (uint32_t)gen)) != 0)
            return mv_fail(res, "consume: %s", mls_strerror(rc));
        /* Consumed means gone. */
        rc = mls_secrettree_get(st, leaf, (enum mls_ratchet_type)t, (uint32_t)gen, key, nonce);
        if (rc != MLS_E_REPLAY)
            return mv_fail(res, "leaf %u generation %llu: second get gave %s, want replay",
                           leaf, (unsigned long long)gen, mls_strerror(rc));
    }
    return MV_PASS;
}

int mv_check_secret_tree(const mv_json *tc, mv_result *res)
{
    const mv_json *leaves = mv_json_arr(tc, "leaves");
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    mls_secrettree st;
    uint64_t suite;
    int out, rc;

    memset(&st, 0, sizeof st);
    if (mv_json_u64(tc, "cipher_suite", &suite) != 0)
        return mv_fail(res, "no cipher_suite");
    if (suite != MLS_CIPHER_SUITE)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                       (unsigned long long)suite);
    if ((out = check_sender_data(mv_json_obj(tc, "sender_data"), res)) != MV_PASS)
        return out;
    out = MV_FAIL;
    if (leaves == NULL || leaves->n == 0 || leaves->n > UINT32_MAX ||
        mv_hex(tc, "encryption_secret", &enc, &enc_len) || enc_len != MLS_HASH_LEN) {
        mv_fail(res, "missing leaves or encryption_secret");
        goto done;
    }
    if ((rc = mls_secrettree_init(&st, enc, (uint32_t)leaves->n)) != 0) {
        mv_fail(res, "init: %s", mls_strerror(rc));
        goto done;
    }
    for (size_t i = 0; i < leaves->n; i++) {
        const mv_json *gens = &leaves->items[i];

        if (gens->type != MV_J_ARR) {
            mv_fail(res, "leaves[%zu] is not an array", i);
            goto done;
        }
        for (size_t j = 0; j < gens->n; j++)
            if (check_generation(&st, (uint32_t)i, &gens->items[j], res) != MV_PASS)
                goto done;
    }
    out = MV_PASS;
done:
    mls_secrettree_free(&st);
    free(enc);
    return out;
}
