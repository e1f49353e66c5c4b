#include "mls_psk.h"

#include <string.h>

#include <sodium.h>

#include "mls_err.h"

void mls_psk_id_free(mls_psk_id *id)
{
    if (id == NULL)
        return;
    mls_bytes_free(&id->psk_id);
    mls_bytes_free(&id->psk_group_id);
    mls_bytes_free(&id->psk_nonce);
    memset(id, 0, sizeof *id);
}

int mls_psk_id_copy(mls_psk_id *dst, const mls_psk_id *src)
{
    mls_psk_id tmp;

    memset(&tmp, 0, sizeof tmp);
    tmp.psktype = src->psktype;
    tmp.usage = src->usage;
    tmp.psk_epoch = src->psk_epoch;
    if (mls_bytes_set(&tmp.psk_id, src->psk_id.p, src->psk_id.len) != 0 ||
        mls_bytes_set(&tmp.psk_group_id, src->psk_group_id.p, src->psk_group_id.len) != 0 ||
        mls_bytes_set(&tmp.psk_nonce, src->psk_nonce.p, src->psk_nonce.len) != 0)
        goto fail;
    *dst = tmp;
    return 0;
fail:
    mls_psk_id_free(&tmp);
    memset(dst, 0, sizeof *dst);
    return MLS_E_NOMEM;
}

static int bytes_same(const mls_bytes *a, const mls_bytes *b)
{
    return mls_bytes_eq(a->p, a->len, b->p, b->len);
}

int mls_psk_id_eq(const mls_psk_id *a, const mls_psk_id *b)
{
    if (a->psktype != b->psktype || !bytes_same(&a->psk_nonce, &b->psk_nonce))
        return 0;
    if (a->psktype == MLS_PSK_EXTERNAL)
        return bytes_same(&a->psk_id, &b->psk_id);
    if (a->psktype == MLS_PSK_RESUMPTION)
        return a->usage == b->usage && a->psk_epoch == b->psk_epoch &&
               bytes_same(&a->psk_group_id, &b->psk_group_id);
    return 0;
}

static int usage_known(uint8_t usage)
{
    return usage >= MLS_PSK_USAGE_APPLICATION && usage <= MLS_PSK_USAGE_BRANCH;
}

int mls_psk_id_encode(mls_buf *b, const mls_psk_id *id)
{
    if (id->psktype == MLS_PSK_EXTERNAL) {
        mls_w_u8(b, id->psktype);
        mls_w_opaque(b, id->psk_id.p, id->psk_id.len);
    } else if (id->psktype == MLS_PSK_RESUMPTION && usage_known(id->usage)) {
        mls_w_u8(b, id->psktype);
        mls_w_u8(b, id->usage);
        mls_w_opaque(b, id->psk_group_id.p, id->psk_group_id.len);
        mls_w_u64(b, id->psk_epoch);
    } else {
        return MLS_E_INVALID;
    }
    mls_w_opaque(b, id->psk_nonce.p, id->psk_nonce.len);
    return mls_buf_status(b);
}

int mls_psk_id_decode(mls_rd *r, mls_psk_id *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = mls_rd_u8(r, &out->psktype)) != 0)
        goto fail;
    if (out->psktype == MLS_PSK_EXTERNAL) {
        if ((rc = mls_rd_opaque_copy(r, &out->psk_id)) != 0)
            goto fail;
    } else if (out->psktype == MLS_PSK_RESUMPTION) {
        if ((rc = mls_rd_u8(r, &out->usage)) != 0)
            goto fail;
        if (!usage_known(out->usage)) {
            rc = MLS_E_DECODE;
            goto fail;
        }
        if ((rc = mls_rd_opaque_copy(r, &out->psk_group_id)) != 0 ||
            (rc = mls_rd_u64(r, &out->psk_epoch)) != 0)
            goto fail;
    } else {
        rc = MLS_E_DECODE;
        goto fail;
    }
    if ((rc = mls_rd_opaque_copy(r, &out->psk_nonce)) != 0)
        goto fail;
    return 0;
fail:
    mls_psk_id_free(out);
    return rc;
}

int mls_psk_id_check(const mls_psk_id *id)
{
    if (id->psk_nonce.len != MLS_HASH_LEN)
        return MLS_E_PSK;
    if (id->psktype == MLS_PSK_EXTERNAL)
        return 0;
    if (id->psktype == MLS_PSK_RESUMPTION && usage_known(id->usage))
        return 0;
    return MLS_E_PSK;
}

int mls_psk_secret(const mls_psk_input *psks, size_t n, uint8_t out[MLS_HASH_LEN])
{
    uint8_t extracted[MLS_HASH_LEN];
    uint8_t input[MLS_HASH_LEN];
    uint8_t next[MLS_HASH_LEN];
    mls_buf label = {0};
    size_t i;
    int rc = 0;

    memset(out, 0, MLS_HASH_LEN);
    if (n > 0xffffu)
        return MLS_E_INVALID;
    for (i = 0; i < n; i++) {
        mls_buf_reset(&label);
        if ((rc = mls_psk_id_encode(&label, psks[i].id)) != 0)
            goto fail;
        mls_w_u16(&label, (uint16_t)i);
        mls_w_u16(&label, (uint16_t)n);
        if ((rc = mls_buf_status(&label)) != 0)
            goto fail;
        mls_hkdf_extract(NULL, 0, psks[i].psk, psks[i].psk_len, extracted);
        rc = mls_expand_with_label(extracted, sizeof extracted, "derived psk", label.p,
                                   label.len, input, sizeof input);
        if (rc != 0)
            goto fail;
        mls_hkdf_extract(input, sizeof input, out, MLS_HASH_LEN, next);
        memcpy(out, next, MLS_HASH_LEN);
    }
    goto done;
fail:
    sodium_memzero(out, MLS_HASH_LEN);
done:
    sodium_memzero(extracted, sizeof extracted);
    sodium_memzero(input, sizeof input);
    sodium_memzero(next, sizeof next);
    mls_buf_free(&label);
    return rc;
}
