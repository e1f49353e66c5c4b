#include <stdlib.h>
#include <string.h>

#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_hpke.h"
#include "mv.h"

/* Hex members decoded for one sub-check, freed together. */
typedef struct bag {
    uint8_t *p[8];
    size_t n;
} bag;

static int get(bag *b, const mv_json *o, const char *key, uint8_t **out, size_t *len,
               mv_result *res)
{
    if (mv_hex(o, key, out, len))
        return mv_fail(res, "%s: missing or not hex", key);
    b->p[b->n++] = *out;
    return MV_PASS;
}

static void bag_free(bag *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->p[i]);
    b->n = 0;
}

static int get_u16(const mv_json *o, const char *key, uint64_t *v, mv_result *res)
{
    if (mv_json_u64(o, key, v) || *v > 0xffff)
        return mv_fail(res, "%s: missing or not a uint16", key);
    return MV_PASS;
}

static int ref_hash(const mv_json *o, mv_result *res)
{
    bag b = { 0 };
    uint8_t *value;
    size_t n;
    uint8_t out[MLS_HASH_LEN];
    const char *label = mv_json_str(o, "label");
    int rc = label ? get(&b, o, "value", &value, &n, res) : mv_fail(res, "label missing");
    if (rc == MV_PASS) {
        int e = mls_ref_hash(label, value, n, out);
        rc = e ? mv_fail(res, "mls_ref_hash: %s", mls_strerror(e))
               : mv_hex_eq(o, "out", out, sizeof out, res) ? MV_PASS : MV_FAIL;
    }
    bag_free(&b);
    return rc;
}

static int expand_with_label(const mv_json *o, mv_result *res)
{
    bag b = { 0 };
    uint8_t *secret, *ctx, *out = NULL;
    size_t slen, clen;
    uint64_t length;
    const char *label = mv_json_str(o, "label");
    int rc = label ? MV_PASS : mv_fail(res, "label missing");
    if (rc == MV_PASS)
        rc = get(&b, o, "secret", &secret, &slen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "context", &ctx, &clen, res);
    if (rc == MV_PASS)
        rc = get_u16(o, "length", &length, res);
    if (rc == MV_PASS) {
        out = malloc(length ? length : 1);
        int e = out ? mls_expand_with_label(secret, slen, label, ctx, clen, out, length)
                    : MLS_E_NOMEM;
        rc = e ? mv_fail(res, "mls_expand_with_label: %s", mls_strerror(e))
               : mv_hex_eq(o, "out", out, length, res) ? MV_PASS : MV_FAIL;
    }
    free(out);
    bag_free(&b);
    return rc;
}

static int derive_secret(const mv_json *o, mv_result *res)
{
    bag b = { 0 };
    uint8_t *secret;
    size_t slen;
    uint8_t out[MLS_HASH_LEN];
    const char *label = mv_json_str(o, "label");
    int rc = label ? get(&b, o, "secret", &secret, &slen, res) : mv_fail(res, "label missing");
    if (rc == MV_PASS) {
        int e = mls_derive_secret(secret, slen, label, out);
        rc = e ? mv_fail(res, "mls_derive_secret: %s", mls_strerror(e))
               : mv_hex_eq(o, "out", out, sizeof out, res) ? MV_PASS : MV_FAIL;
    }
    bag_free(&b);
    return rc;
}

static int derive_tree_secret(const mv_json *o, mv_result *res)
{
    bag b = { 0 };
    uint8_t *secret, *out = NULL;
    size_t slen;
    uint64_t gen, length;
    const char *label = mv_json_str(o, "label");
    int rc = label ? get(&b, o, "secret", &secret, &slen, res) : mv_fail(res, "label missing");
    if (rc == MV_PASS && (mv_json_u64(o, "generation", &gen) || gen > UINT32_MAX))
        rc = mv_fail(res, "generation: missing or not a uint32");
    if (rc == MV_PASS)
        rc = get_u16(o, "length", &length, res);
    if (rc == MV_PASS) {
        out = malloc(length ? length : 1);
        int e = out ? mls_derive_tree_secret(secret, slen, label, (uint32_t)gen, out, length)
                    : MLS_E_NOMEM;
        rc = e ? mv_fail(res, "mls_derive_tree_secret: %s", mls_strerror(e))
               : mv_hex_eq(o, "out", out, length, res) ? MV_PASS : MV_FAIL;
    }
    free(out);
    bag_free(&b);
    return rc;
}

static int sign_with_label(const mv_json *o, mv_result *res)
{
    bag b = { 0 };
    uint8_t *priv, *pub, *content, *sig;
    size_t privlen, publen, clen, siglen;
    uint8_t mine[MLS_SIG_LEN], derived[MLS_SIG_PUB_LEN];
    const char *label = mv_json_str(o, "label");
    int rc = label ? MV_PASS : mv_fail(res, "label missing");
    if (rc == MV_PASS)
        rc = get(&b, o, "priv", &priv, &privlen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "pub", &pub, &publen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "content", &content, &clen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "signature", &sig, &siglen, res);
    if (rc != MV_PASS)
        goto done;
    if (privlen != MLS_SIG_SEED_LEN) {
        rc = mv_fail(res, "priv: %zu bytes, want %u", privlen, MLS_SIG_SEED_LEN);
        goto done;
    }
    int e = mls_verify_with_label(pub, publen, label, content, clen, sig, siglen);
    if (e) {
        rc = mv_fail(res, "the given signature: %s", mls_strerror(e));
        goto done;
    }
    mls_sig_pub_from_seed(priv, derived);
    if (!mv_hex_eq(o, "pub", derived, sizeof derived, res)) {
        rc = MV_FAIL;
        goto done;
    }
    e = mls_sign_with_label(priv, label, content, clen, mine);
    if (!e)
        e = mls_verify_with_label(pub, publen, label, content, clen, mine, sizeof mine);
    if (e) {
        rc = mv_fail(res, "sign then verify: %s", mls_strerror(e));
        goto done;
    }
    /* Ed25519 is deterministic: our signature must be the given one. */
    if (!mv_hex_eq(o, "signature", mine, sizeof mine, res)) {
        rc = MV_FAIL;
        goto done;
    }
    /* And a corrupted signature must not verify. */
    mine[0] ^= 1;
    if (mls_verify_with_label(pub, publen, label, content, clen, mine, sizeof mine) !=
        MLS_E_SIGNATURE)
        rc = mv_fail(res, "a corrupted signature verified");
done:
    bag_free(&b);
    return rc;
}

static int encrypt_with_label(const mv_json *o, mv_result *res)
{
    bag b = { 0 };
    uint8_t *priv, *pub, *ctx, *pt, *kem, *ct, *out = NULL, *ct2 = NULL;
    size_t privlen, publen, clen, ptlen, kemlen, ctlen;
    uint8_t kem2[MLS_KEM_ENC_LEN];
    const char *label = mv_json_str(o, "label");
    int rc = label ? MV_PASS : mv_fail(res, "label missing");
    if (rc == MV_PASS)
        rc = get(&b, o, "priv", &priv, &privlen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "pub", &pub, &publen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "context", &ctx, &clen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "plaintext", &pt, &ptlen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "kem_output", &kem, &kemlen, res);
    if (rc == MV_PASS)
        rc = get(&b, o, "ciphertext", &ct, &ctlen, res);
    if (rc != MV_PASS)
        goto done;
    if (privlen != MLS_KEM_SK_LEN || publen != MLS_KEM_PK_LEN || kemlen != MLS_KEM_ENC_LEN ||
        ctlen != ptlen + MLS_AEAD_TAG_LEN) {
        rc = mv_fail(res, "priv/pub/kem_output/ciphertext of unexpected lengths");
        goto done;
    }
    out = malloc(ptlen + 1);
    ct2 = malloc(ctlen);
    if (!out || !ct2) {
        rc = mv_fail(res, "out of memory");
        goto done;
    }
    int e = mls_decrypt_with_label(priv, label, ctx, clen, kem, ct, ctlen, out);
    if (e) {
        rc = mv_fail(res, "decrypting the given ciphertext: %s", mls_strerror(e));
        goto done;
    }
    if (!mv_hex_eq(o, "plaintext", out, ptlen, res)) {
        rc = MV_FAIL;
        goto done;
    }
    e = mls_encrypt_with_label(pub, label, ctx, clen, pt, ptlen, NULL, kem2, ct2);
    if (e) {
        rc = mv_fail(res, "encrypt: %s", mls_strerror(e));
        goto done;
    }
    memset(out, 0, ptlen + 1);
    e = mls_decrypt_with_label(priv, label, ctx, clen, kem2, ct2, ctlen, out);
    if (e) {
        rc = mv_fail(res, "decrypting our own ciphertext: %s", mls_strerror(e));
        goto done;
    }
    if (!mv_hex_eq(o, "plaintext", out, ptlen, res)) {
        rc = MV_FAIL;
        goto done;
    }
    ct2[0] ^= 1;
    if (mls_decrypt_with_label(priv, label, ctx, clen, kem2, ct2, ctlen, out) != MLS_E_CRYPTO)
        rc = mv_fail(res, "a corrupted ciphertext decrypted");
done:
    free(out);
    free(ct2);
    bag_free(&b);
    return rc;
}

int mv_check_crypto_basics(const mv_json *tc, mv_result *res)
{
    static const struct {
        const char *key;
        int (*check)(const mv_json *, mv_result *);
    } parts[] = {
        { "ref_hash", ref_hash },
        { "expand_with_label", expand_with_label },
        { "derive_secret", derive_secret },
        { "derive_tree_secret", derive_tree_secret },
        { "sign_with_label", sign_with_label },
        { "encrypt_with_label", encrypt_with_label },
    };
    int rc = mv_suite(tc, res);
    if (rc != MV_PASS)
        return rc;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const mv_json *o = mv_json_obj(tc, parts[i].key);
        if (!o)
            return mv_fail(res, "%s: missing", parts[i].key);
        mv_result sub;
        memset(&sub, 0, sizeof sub);
        if (parts[i].check(o, &sub) != MV_PASS)
            return mv_fail(res, "%s: %s", parts[i].key, sub.why);
    }
    return MV_PASS;
}
