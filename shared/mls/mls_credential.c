#include "mls_credential.h"

#include <string.h>

#include "mls_objutil.h"

void mls_credential_free(mls_credential *c)
{
    if (!c)
        return;
    mls_bytes_free(&c->identity);
    for (size_t i = 0; i < c->n_certificates; i++)
        mls_bytes_free(&c->certificates[i]);
    mls_free(c->certificates, c->n_certificates * sizeof *c->certificates);
    memset(c, 0, sizeof *c);
}

int mls_credential_decode(mls_rd *r, mls_credential *out)
{
    memset(out, 0, sizeof *out);
    int rc = mls_rd_u16(r, &out->credential_type);
    if (rc)
        goto fail;
    switch (out->credential_type) {
    case MLS_CREDENTIAL_BASIC:
        rc = mls_rd_opaque_copy(r, &out->identity);
        break;
    case MLS_CREDENTIAL_X509: {
        mls_rd sub;
        size_t cap = 0;
        if ((rc = mls_rd_vector(r, &sub)))
            goto fail;
        while (mls_rd_left(&sub)) {
            rc = mls_ou_grow(&out->certificates, out->n_certificates, &cap,
                             sizeof *out->certificates, MLS_MAX_LIST_ITEMS);
            if (rc)
                goto fail;
            if ((rc = mls_rd_opaque_copy(&sub, &out->certificates[out->n_certificates])))
                goto fail;
            out->n_certificates++;
        }
        break;
    }
    default:
        rc = MLS_E_UNSUPPORTED;
    }
    if (rc)
        goto fail;
    return 0;
fail:
    mls_credential_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(credential)

int mls_credential_encode(mls_buf *b, const mls_credential *c)
{
    switch (c->credential_type) {
    case MLS_CREDENTIAL_BASIC:
        mls_w_u16(b, c->credential_type);
        mls_w_opaque(b, c->identity.p, c->identity.len);
        break;
    case MLS_CREDENTIAL_X509: {
        mls_w_u16(b, c->credential_type);
        size_t m = mls_w_vec_begin(b);
        for (size_t i = 0; i < c->n_certificates; i++)
            mls_w_opaque(b, c->certificates[i].p, c->certificates[i].len);
        mls_w_vec_end(b, m);
        break;
    }
    default:
        return MLS_E_INVALID;
    }
    return mls_buf_status(b);
}

MLS_OU_COPY(credential)

int mls_credential_init_basic(mls_credential *out, const uint8_t *identity, size_t n)
{
    memset(out, 0, sizeof *out);
    out->credential_type = MLS_CREDENTIAL_BASIC;
    int rc = mls_bytes_set(&out->identity, identity, n);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int mls_credential_eq(const mls_credential *a, const mls_credential *b)
{
    if (a->credential_type != b->credential_type)
        return 0;
    switch (a->credential_type) {
    case MLS_CREDENTIAL_BASIC:
        return mls_bytes_eq(a->identity.p, a->identity.len, b->identity.p, b->identity.len);
    case MLS_CREDENTIAL_X509:
        if (a->n_certificates != b->n_certificates)
            return 0;
        for (size_t i = 0; i < a->n_certificates; i++)
            if (!mls_bytes_eq(a->certificates[i].p, a->certificates[i].len,
                              b->certificates[i].p, b->certificates[i].len))
                return 0;
        return 1;
    default:
        return 0;
    }
}
