/* passive-client-*.json: join from the Welcome with the given key package privates,
 * external PSKs and optional ratchet tree through the public mls_group API, check the
 * initial epoch authenticator, then per epoch process the proposals and the commit and
 * check the epoch authenticator. */
#include <stdlib.h>
#include <string.h>

#include "mls_err.h"
#include "mls_group.h"
#include "mv.h"

static int check_ea(const mls_group *g, const mv_json *obj, const char *key, mv_result *res)
{
    uint8_t ea[MLS_HASH_LEN];
    mls_group_epoch_authenticator(g, ea);
    return mv_hex_eq(obj, key, ea, sizeof ea, res);
}

/* Processes the hex MLSMessage in item (a JSON string). */
static int process_hex(mls_group *g, const mv_json *item, mls_event *ev)
{
    mv_json holder;
    char *keys[1] = { "m" };
    uint8_t *b = NULL;
    size_t n = 0;
    memset(&holder, 0, sizeof holder);
    holder.type = MV_J_OBJ;
    holder.items = (mv_json *)item;
    holder.keys = keys;
    holder.n = 1;
    if (mv_hex(&holder, "m", &b, &n))
        return MLS_E_DECODE;
    int rc = mls_group_process(g, b, n, 0, ev);
    free(b);
    return rc;
}

int mv_check_passive_client(const mv_json *tc, mv_result *res)
{
    uint64_t suite = 0;
    uint8_t *kp = NULL, *sig = NULL, *enc = NULL, *init = NULL, *welcome = NULL, *tree = NULL;
    size_t kp_len = 0, sig_len = 0, enc_len = 0, init_len = 0, w_len = 0, tree_len = 0;
    mls_kp_bundle bundle;
    mls_group *g = NULL;
    mls_ext_psk *psks = NULL;
    uint8_t **psk_bufs = NULL;
    size_t n_psks = 0;
    const mv_json *ep = NULL;
    int out = MV_FAIL, rc;

    memset(&bundle, 0, sizeof bundle);
    if (mv_json_u64(tc, "cipher_suite", &suite))
        return mv_fail(res, "no cipher_suite");
    if (suite != 3)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                       (unsigned long long)suite);
    if (mv_hex(tc, "key_package", &kp, &kp_len) || mv_hex(tc, "signature_priv", &sig, &sig_len) ||
        mv_hex(tc, "encryption_priv", &enc, &enc_len) || mv_hex(tc, "init_priv", &init, &init_len) ||
        mv_hex(tc, "welcome", &welcome, &w_len)) {
        out = mv_fail(res, "missing or bad hex field");
        goto done;
    }
    if (sig_len != MLS_SIG_SEED_LEN || enc_len != MLS_KEM_SK_LEN || init_len != MLS_KEM_SK_LEN) {
        out = mv_fail(res, "private key of the wrong length");
        goto done;
    }
    const mv_json *rt = mv_json_get(tc, "ratchet_tree");
    if (rt && rt->type == MV_J_STR && mv_hex(tc, "ratchet_tree", &tree, &tree_len)) {
        out = mv_fail(res, "bad ratchet_tree hex");
        goto done;
    }
    ep = mv_json_arr(tc, "external_psks");
    if (ep && ep->n) {
        psks = calloc(ep->n, sizeof *psks);
        psk_bufs = calloc(2 * ep->n, sizeof *psk_bufs);
        if (!psks || !psk_bufs) {
            out = mv_fail(res, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < ep->n; i++) {
            size_t il, pl;
            if (mv_hex(&ep->items[i], "psk_id", &psk_bufs[2 * i], &il) ||
                mv_hex(&ep->items[i], "psk", &psk_bufs[2 * i + 1], &pl)) {
                out = mv_fail(res, "bad external_psks[%zu]", i);
                goto done;
            }
            psks[i].id = psk_bufs[2 * i];
            psks[i].id_len = il;
            psks[i].psk = psk_bufs[2 * i + 1];
            psks[i].psk_len = pl;
            n_psks++;
        }
    }
    rc = mls_kp_bundle_from_parts(&bundle, kp, kp_len, init, enc, sig);
    if (rc) {
        out = mv_fail(res, "key package and privates: %s", mls_strerror(rc));
        goto done;
    }
    rc = mls_group_join_welcome(&g, welcome, w_len, &bundle, tree, tree_len, psks, n_psks, 0);
    if (rc) {
        out = mv_fail(res, "joining from the Welcome: %s", mls_strerror(rc));
        goto done;
    }
    if (!check_ea(g, tc, "initial_epoch_authenticator", res)) {
        out = MV_FAIL;
        goto done;
    }
    const mv_json *epochs = mv_json_arr(tc, "epochs");
    for (size_t e = 0; epochs && e < epochs->n; e++) {
        const mv_json *eo = &epochs->items[e];
        const mv_json *props = mv_json_arr(eo, "proposals");
        for (size_t i = 0; props && i < props->n; i++) {
            mls_event ev;
            rc = process_hex(g, &props->items[i], &ev);
            mls_event_free(&ev);
            if (rc) {
                out = mv_fail(res, "epoch %zu proposal %zu: %s", e, i, mls_strerror(rc));
                goto done;
            }
        }
        const mv_json *cm = mv_json_get(eo, "commit");
        mls_event ev;
        if (!cm) {
            out = mv_fail(res, "epoch %zu: no commit", e);
            goto done;
        }
        rc = process_hex(g, cm, &ev);
        int kind = ev.kind;
        mls_event_free(&ev);
        if (rc || kind != MLS_EV_COMMIT) {
            out = mv_fail(res, "epoch %zu commit: %s", e, rc ? mls_strerror(rc) : "not a commit");
            goto done;
        }
        if (!check_ea(g, eo, "epoch_authenticator", res)) {
            char why[sizeof res->why];
            memcpy(why, res->why, sizeof why);
            out = mv_fail(res, "epoch %zu: %s", e, why);
            goto done;
        }
    }
    out = MV_PASS;
done:
    mls_group_free(g);
    mls_kp_bundle_free(&bundle);
    for (size_t i = 0; psk_bufs && i < 2 * (ep ? ep->n : 0); i++)
        free(psk_bufs[i]);
    free(psk_bufs);
    free(psks);
    free(kp);
    free(sig);
    free(enc);
    free(init);
    free(welcome);
    free(tree);
    return out;
}
