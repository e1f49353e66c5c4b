/* psk_secret.json: psk_secret over a list of external PSKs (RFC 9420 8.4). */
#include <stdlib.h>
#include <string.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_psk.h"
#include "mv.h"

int mv_check_psk_secret(const mv_json *tc, mv_result *res)
{
    const mv_json *psks = mv_json_arr(tc, "psks");
    mls_psk_id *ids = NULL;
    mls_psk_input *in = NULL;
    uint8_t **vals = NULL;
    uint8_t secret[MLS_HASH_LEN];
    uint64_t suite;
    size_t i, n;
    int out = MV_FAIL, rc;

    if (mv_json_u64(tc, "cipher_suite", &suite) != 0)
        return mv_fail(res, "no cipher_suite");
    if (suite != MLS_CIPHER_SUITE)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                       (unsigned long long)suite);
    if (psks == NULL)
        return mv_fail(res, "no psks array");
    n = psks->n;
    ids = calloc(n + 1, sizeof *ids);
    in = calloc(n + 1, sizeof *in);
    vals = calloc(n + 1, sizeof *vals);
    if (ids == NULL || in == NULL || vals == NULL) {
        mv_fail(res, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        const mv_json *p = &psks->items[i];
        uint8_t *id = NULL, *nonce = NULL;
        size_t id_len = 0, nonce_len = 0;

        if (mv_hex(p, "psk_id", &id, &id_len) || mv_hex(p, "psk_nonce", &nonce, &nonce_len) ||
            mv_hex(p, "psk", &vals[i], &in[i].psk_len)) {
            free(id);
            free(nonce);
            mv_fail(res, "psks[%zu]: missing or malformed field", i);
            goto done;
        }
        ids[i].psktype = MLS_PSK_EXTERNAL;
        rc = mls_bytes_set(&ids[i].psk_id, id, id_len);
        if (rc == 0)
            rc = mls_bytes_set(&ids[i].psk_nonce, nonce, nonce_len);
        free(id);
        free(nonce);
        if (rc != 0) {
            mv_fail(res, "out of memory");
            goto done;
        }
        if ((rc = mls_psk_id_check(&ids[i])) != 0) {
            mv_fail(res, "psks[%zu]: %s", i, mls_strerror(rc));
            goto done;
        }
        in[i].id = &ids[i];
        in[i].psk = vals[i];
    }
    if ((rc = mls_psk_secret(in, n, secret)) != 0) {
        mv_fail(res, "psk_secret: %s", mls_strerror(rc));
        goto done;
    }
    if (!mv_hex_eq(tc, "psk_secret", secret, sizeof secret, res))
        goto done;
    /* Each id must also survive its own encoding. */
    for (i = 0; i < n; i++) {
        mls_buf b = {0};
        mls_psk_id back;
        mls_rd r;

        if (mls_psk_id_encode(&b, &ids[i]) != 0) {
            mls_buf_free(&b);
            mv_fail(res, "psks[%zu]: encode failed", i);
            goto done;
        }
        mls_rd_init(&r, b.p, b.len);
        rc = mls_psk_id_decode(&r, &back);
        if (rc == 0 && (mls_rd_end(&r) != 0 || !mls_psk_id_eq(&back, &ids[i])))
            rc = MLS_E_INVALID;
        mls_psk_id_free(&back);
        mls_buf_free(&b);
        if (rc != 0) {
            mv_fail(res, "psks[%zu]: PreSharedKeyID does not round-trip: %s", i,
                    mls_strerror(rc));
            goto done;
        }
    }
    out = MV_PASS;
done:
    for (i = 0; ids != NULL && i < n; i++)
        mls_psk_id_free(&ids[i]);
    for (i = 0; vals != NULL && i < n; i++)
        free(vals[i]);
    free(ids);
    free(in);
    free(vals);
    return out;
}
