/* key-schedule.json: the epoch chain of RFC 9420 8 (see test-vectors.md). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_hpke.h"
#include "mls_keysched.h"
#include "mv.h"

/* The GroupContext of the vectors: version mls10, empty extensions. */
static int encode_group_context(mls_buf *b, uint16_t suite, const uint8_t *gid, size_t gid_len,
                                uint64_t epoch, const uint8_t *th, size_t th_len,
                                const uint8_t *cth, size_t cth_len)
{
    mls_w_u16(b, MLS_PROTOCOL_VERSION);
    mls_w_u16(b, suite);
    mls_w_opaque(b, gid, gid_len);
    mls_w_u64(b, epoch);
    mls_w_opaque(b, th, th_len);
    mls_w_opaque(b, cth, cth_len);
    mls_w_varint(b, 0);
    return mls_buf_status(b);
}

/* Hex member of exactly n bytes into out; -1 if missing or of another length. */
static int hex_n(const mv_json *o, const char *key, uint8_t *out, size_t n)
{
    uint8_t *p = NULL;
    size_t len = 0;
    int ok = mv_hex(o, key, &p, &len) == 0 && len == n;

    if (ok)
        memcpy(out, p, n);
    free(p);
    return ok ? 0 : -1;
}

static int check_epoch(const mv_json *ep, uint64_t i, const uint8_t *gid, size_t gid_len,
                       uint8_t init_secret[MLS_HASH_LEN], mv_result *res)
{
    uint8_t commit[MLS_HASH_LEN], psk[MLS_HASH_LEN], sk[MLS_KEM_SK_LEN], pk[MLS_KEM_PK_LEN];
    uint8_t *th = NULL, *cth = NULL, *ctx = NULL, *exported = NULL;
    size_t th_len = 0, cth_len = 0, ctx_len = 0;
    const char *label_str = NULL; /* a text label (the JSON string as is, not hex) */
    const mv_json *exp = mv_json_obj(ep, "exporter");
    mls_epoch_secrets s;
    mls_buf gc = {0};
    uint64_t exp_len = 0;
    int out = MV_FAIL, rc;

    memset(&s, 0, sizeof s);
    if (hex_n(ep, "commit_secret", commit, sizeof commit) != 0 ||
        hex_n(ep, "psk_secret", psk, sizeof psk) != 0 || mv_hex(ep, "tree_hash", &th, &th_len) ||
        mv_hex(ep, "confirmed_transcript_hash", &cth, &cth_len) || exp == NULL ||
        (label_str = mv_json_str(exp, "label")) == NULL || mv_hex(exp, "context", &ctx, &ctx_len) ||
        mv_json_u64(exp, "length", &exp_len) != 0 || exp_len > 0xffff) {
        mv_fail(res, "epoch %llu: missing or malformed field", (unsigned long long)i);
        goto done;
    }
    if (encode_group_context(&gc, MLS_CIPHER_SUITE, gid, gid_len, i, th, th_len, cth,
                             cth_len) != 0) {
        mv_fail(res, "epoch %llu: GroupContext encode failed", (unsigned long long)i);
        goto done;
    }
    if (!mv_hex_eq(ep, "group_context", gc.p, gc.len, res))
        goto done;
    rc = mls_keysched_from_init(init_secret, commit, psk, gc.p, gc.len, &s);
    if (rc != 0) {
        mv_fail(res, "epoch %llu: key schedule: %s", (unsigned long long)i, mls_strerror(rc));
        goto done;
    }
    {
        static const struct {
            const char *key;
            size_t off;
        } fields[] = {
            {"joiner_secret", offsetof(mls_epoch_secrets, joiner_secret)},
            {"welcome_secret", offsetof(mls_epoch_secrets, welcome_secret)},
            {"init_secret", offsetof(mls_epoch_secrets, init_secret)},
            {"sender_data_secret", offsetof(mls_epoch_secrets, sender_data_secret)},
            {"encryption_secret", offsetof(mls_epoch_secrets, encryption_secret)},
            {"exporter_secret", offsetof(mls_epoch_secrets, exporter_secret)},
            {"epoch_authenticator", offsetof(mls_epoch_secrets, epoch_authenticator)},
            {"external_secret", offsetof(mls_epoch_secrets, external_secret)},
            {"confirmation_key", offsetof(mls_epoch_secrets, confirmation_key)},
            {"membership_key", offsetof(mls_epoch_secrets, membership_key)},
            {"resumption_psk", offsetof(mls_epoch_secrets, resumption_psk)},
        };
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            if (!mv_hex_eq(ep, fields[f].key, (const uint8_t *)&s + fields[f].off,
                           MLS_HASH_LEN, res)) {
                size_t l = strlen(res->why);
                snprintf(res->why + l, sizeof res->why - l, " (epoch %llu)",
                         (unsigned long long)i);
                goto done;
            }
    }
    /* The joiner's path must reach the same epoch. */
    {
        mls_epoch_secrets j;

        rc = mls_keysched_from_joiner(s.joiner_secret, psk, gc.p, gc.len, &j);
        if (rc != 0 || memcmp(&j, &s, sizeof j) != 0) {
            mls_epoch_secrets_wipe(&j);
            mv_fail(res, "epoch %llu: from_joiner differs from from_init",
                    (unsigned long long)i);
            goto done;
        }
        mls_epoch_secrets_wipe(&j);
    }
    if ((rc = mls_keysched_external_keypair(&s, sk, pk)) != 0) {
        mv_fail(res, "epoch %llu: external keypair: %s", (unsigned long long)i,
                mls_strerror(rc));
        goto done;
    }
    if (!mv_hex_eq(ep, "external_pub", pk, sizeof pk, res))
        goto done;
    exported = malloc(exp_len ? exp_len : 1);
    if (exported == NULL) {
        mv_fail(res, "out of memory");
        goto done;
    }
    rc = mls_keysched_export(&s, (const uint8_t *)label_str, strlen(label_str), ctx, ctx_len, exported, exp_len);
    if (rc != 0) {
        mv_fail(res, "epoch %llu: exporter: %s", (unsigned long long)i, mls_strerror(rc));
        goto done;
    }
    if (!mv_hex_eq(exp, "secret", exported, exp_len, res))
        goto done;
    memcpy(init_secret, s.init_secret, MLS_HASH_LEN);
    out = MV_PASS;
done:
    mls_epoch_secrets_wipe(&s);
    mls_buf_free(&gc);
    free(th);
    free(cth);
    free(ctx);
    free(exported);
    return out;
}

int mv_check_key_schedule(const mv_json *tc, mv_result *res)
{
    uint8_t init_secret[MLS_HASH_LEN];
    uint8_t *gid = NULL;
    size_t gid_len = 0;
    const mv_json *epochs;
    uint64_t suite;
    int out = MV_FAIL;

    if (mv_json_u64(tc, "cipher_suite", &suite) != 0)
        return mv_fail(res, "no cipher_suite");
    if (suite != MLS_CIPHER_SUITE)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                       (unsigned long long)suite);
    epochs = mv_json_arr(tc, "epochs");
    if (epochs == NULL || epochs->n == 0 || mv_hex(tc, "group_id", &gid, &gid_len) != 0 ||
        hex_n(tc, "initial_init_secret", init_secret, sizeof init_secret) != 0) {
        out = mv_fail(res, "missing group_id, initial_init_secret or epochs");
        goto done;
    }
    for (size_t i = 0; i < epochs->n; i++)
        if ((out = check_epoch(&epochs->items[i], i, gid, gid_len, init_secret, res)) != MV_PASS)
            goto done;
    out = MV_PASS;
done:
    free(gid);
    return out;
}
