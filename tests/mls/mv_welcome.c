/* welcome.json: open the Welcome with the key package's init key, verify the GroupInfo
 * signature with signer_pub and its confirmation tag from the joiner_secret. */
#include <stdlib.h>
#include <string.h>

#include "mls_err.h"
#include "mls_message.h"
#include "mls_welcome.h"
#include "mv.h"

int mv_check_welcome(const mv_json *tc, mv_result *res)
{
    uint64_t suite = 0;
    uint8_t *init_priv = NULL, *signer_pub = NULL, *kp_b = NULL, *w_b = NULL;
    size_t init_len = 0, pub_len = 0, kp_len = 0, w_len = 0;
    mls_message kp, w;
    mls_group_secrets gs;
    mls_group_info gi;
    mls_epoch_secrets es;
    uint8_t ref[MLS_HASH_LEN], psk_secret[MLS_HASH_LEN];
    int out = MV_FAIL, rc;

    memset(&kp, 0, sizeof kp);
    memset(&w, 0, sizeof w);
    memset(&gs, 0, sizeof gs);
    memset(&gi, 0, sizeof gi);
    memset(&es, 0, sizeof es);
    if (mv_json_u64(tc, "cipher_suite", &suite))
        return mv_fail(res, "no cipher_suite");
    if (suite != MLS_CIPHER_SUITE)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                       (unsigned long long)suite);
    if (mv_hex(tc, "init_priv", &init_priv, &init_len) ||
        mv_hex(tc, "signer_pub", &signer_pub, &pub_len) ||
        mv_hex(tc, "key_package", &kp_b, &kp_len) || mv_hex(tc, "welcome", &w_b, &w_len)) {
        out = mv_fail(res, "missing or bad hex field");
        goto done;
    }
    if (init_len != MLS_KEM_SK_LEN) {
        out = mv_fail(res, "init_priv is %zu bytes", init_len);
        goto done;
    }
    rc = mls_message_decode_all(kp_b, kp_len, &kp);
    if (rc || kp.wire_format != MLS_WIRE_FORMAT_KEY_PACKAGE) {
        out = mv_fail(res, "key_package: %s", rc ? mls_strerror(rc) : "not a KeyPackage");
        goto done;
    }
    rc = mls_message_decode_all(w_b, w_len, &w);
    if (rc || w.wire_format != MLS_WIRE_FORMAT_WELCOME) {
        out = mv_fail(res, "welcome: %s", rc ? mls_strerror(rc) : "not a Welcome");
        goto done;
    }
    rc = mls_key_package_ref(&kp.key_package, ref);
    if (!rc)
        rc = mls_welcome_open(&w.welcome, ref, init_priv, NULL, NULL, &gs, psk_secret, &gi);
    if (rc) {
        out = mv_fail(res, "opening the Welcome: %s", mls_strerror(rc));
        goto done;
    }
    rc = mls_group_info_verify(&gi, signer_pub, pub_len);
    if (rc) {
        out = mv_fail(res, "GroupInfo signature: %s", mls_strerror(rc));
        goto done;
    }
    rc = mls_welcome_epoch(&gs, psk_secret, &gi, &es);
    if (rc) {
        out = mv_fail(res, "GroupInfo confirmation tag: %s", mls_strerror(rc));
        goto done;
    }
    out = MV_PASS;
done:
    mls_epoch_secrets_wipe(&es);
    mls_group_info_free(&gi);
    mls_group_secrets_free(&gs);
    mls_message_free(&w);
    mls_message_free(&kp);
    free(init_priv);
    free(signer_pub);
    free(kp_b);
    free(w_b);
    return out;
}
