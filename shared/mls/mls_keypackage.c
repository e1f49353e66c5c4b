#include "mls_keypackage.h"

#include <string.h>

#include "mls_objutil.h"

void mls_key_package_free(mls_key_package *kp)
{
    if (!kp)
        return;
    mls_bytes_free(&kp->init_key);
    mls_leaf_node_free(&kp->leaf_node);
    mls_extension_list_free(&kp->extensions);
    mls_bytes_free(&kp->signature);
    memset(kp, 0, sizeof *kp);
}

int mls_key_package_decode(mls_rd *r, mls_key_package *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = mls_rd_u16(r, &out->version)))
        goto fail;
    if ((rc = mls_rd_u16(r, &out->cipher_suite)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->init_key)))
        goto fail;
    if ((rc = mls_leaf_node_decode(r, &out->leaf_node)))
        goto fail;
    if ((rc = mls_extension_list_decode(r, &out->extensions)))
        goto fail;
    if ((rc = mls_rd_opaque_copy(r, &out->signature)))
        goto fail;
    return 0;
fail:
    mls_key_package_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(key_package)

int mls_key_package_tbs_encode(mls_buf *b, const mls_key_package *kp)
{
    int rc;
    mls_w_u16(b, kp->version);
    mls_w_u16(b, kp->cipher_suite);
    mls_w_opaque(b, kp->init_key.p, kp->init_key.len);
    if ((rc = mls_leaf_node_encode(b, &kp->leaf_node)))
        return rc;
    return mls_extension_list_encode(b, &kp->extensions);
}

int mls_key_package_encode(mls_buf *b, const mls_key_package *kp)
{
    int rc = mls_key_package_tbs_encode(b, kp);
    if (rc)
        return rc;
    mls_w_opaque(b, kp->signature.p, kp->signature.len);
    return mls_buf_status(b);
}

MLS_OU_COPY(key_package)

int mls_key_package_sign(mls_key_package *kp, const uint8_t seed[MLS_SIG_SEED_LEN])
{
    mls_buf tbs = { 0 };
    uint8_t sig[MLS_SIG_LEN];
    int rc = mls_key_package_tbs_encode(&tbs, kp);
    if (rc == 0)
        rc = mls_sign_with_label(seed, "KeyPackageTBS", tbs.p, tbs.len, sig);
    if (rc == 0)
        rc = mls_bytes_set(&kp->signature, sig, sizeof sig);
    mls_buf_free(&tbs);
    return rc;
}

int mls_key_package_verify(const mls_key_package *kp)
{
    mls_buf tbs = { 0 };
    int rc = mls_key_package_tbs_encode(&tbs, kp);
    if (rc == 0)
        rc = mls_verify_with_label(kp->leaf_node.signature_key.p,
                                   kp->leaf_node.signature_key.len, "KeyPackageTBS", tbs.p,
                                   tbs.len, kp->signature.p, kp->signature.len);
    mls_buf_free(&tbs);
    if (rc == MLS_E_INVALID)
        rc = MLS_E_SIGNATURE;
    return rc;
}

int mls_key_package_ref_bytes(const uint8_t *kp, size_t n, uint8_t out[MLS_HASH_LEN])
{
    return mls_ref_hash("MLS 1.0 KeyPackage Reference", kp, n, out);
}

int mls_key_package_ref(const mls_key_package *kp, uint8_t out[MLS_HASH_LEN])
{
    mls_buf b = { 0 };
    int rc = mls_key_package_encode(&b, kp);
    if (rc == 0)
        rc = mls_key_package_ref_bytes(b.p, b.len, out);
    mls_buf_free(&b);
    return rc;
}

int mls_key_package_validate(const mls_key_package *kp, uint64_t now)
{
    const mls_leaf_node *ln = &kp->leaf_node;
    if (kp->version != MLS_PROTOCOL_VERSION || kp->cipher_suite != MLS_CIPHER_SUITE)
        return MLS_E_UNSUPPORTED;
    if (kp->init_key.len != MLS_KEM_PK_LEN)
        return MLS_E_KEY_PACKAGE;
    if (mls_leaf_node_check_suite(ln) || ln->leaf_node_source != MLS_LEAF_SOURCE_KEY_PACKAGE)
        return MLS_E_LEAF_NODE;
    int rc = mls_leaf_node_verify(ln, NULL, 0, 0);
    if (rc == MLS_E_SIGNATURE)
        return MLS_E_LEAF_NODE;
    if (rc)
        return rc;
    rc = mls_key_package_verify(kp);
    if (rc == MLS_E_SIGNATURE)
        return MLS_E_KEY_PACKAGE;
    if (rc)
        return rc;
    if (mls_bytes_eq(kp->init_key.p, kp->init_key.len, ln->encryption_key.p,
                     ln->encryption_key.len))
        return MLS_E_KEY_PACKAGE;
    if (now != 0 && mls_lifetime_check(&ln->lifetime, now))
        return MLS_E_LIFETIME;
    return 0;
}
