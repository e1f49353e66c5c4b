#include "mls_extension.h"

#include <string.h>

#include "mls_objutil.h"

/* ---- uint16 lists ---------------------------------------------------------------- */

void mls_u16_list_free(mls_u16_list *l)
{
    if (!l)
        return;
    mls_free(l->v, l->n * sizeof *l->v);
    memset(l, 0, sizeof *l);
}

int mls_u16_list_decode(mls_rd *r, mls_u16_list *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    int rc = mls_rd_vector(r, &sub);
    if (rc)
        return rc;
    if (sub.len % 2)
        return MLS_E_DECODE;
    size_t n = sub.len / 2;
    out->v = mls_alloc_array(n, sizeof *out->v);
    if (!out->v)
        return MLS_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        (void)mls_rd_u16(&sub, &out->v[i]);
    out->n = n;
    return 0;
}

int mls_u16_list_encode(mls_buf *b, const mls_u16_list *l)
{
    if (l->n > MLS_VARINT_MAX / 2)
        return MLS_E_INVALID;
    mls_w_varint(b, l->n * 2);
    for (size_t i = 0; i < l->n; i++)
        mls_w_u16(b, l->v[i]);
    return mls_buf_status(b);
}

int mls_u16_list_set(mls_u16_list *out, const uint16_t *v, size_t n)
{
    memset(out, 0, sizeof *out);
    out->v = mls_alloc_array(n, sizeof *out->v);
    if (!out->v)
        return MLS_E_NOMEM;
    if (n)
        memcpy(out->v, v, n * sizeof *v);
    out->n = n;
    return 0;
}

int mls_u16_list_copy(mls_u16_list *dst, const mls_u16_list *src)
{
    return mls_u16_list_set(dst, src->v, src->n);
}

int mls_u16_list_contains(const mls_u16_list *l, uint16_t x)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == x)
            return 1;
    return 0;
}

/* ---- extension lists ------------------------------------------------------------- */

static uint16_t ext_type_at(const void *ctx, size_t i)
{
    return ((const mls_extension *)ctx)[i].extension_type;
}

void mls_extension_list_free(mls_extension_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        mls_bytes_free(&l->items[i].extension_data);
    mls_free(l->items, l->n * sizeof *l->items);
    memset(l, 0, sizeof *l);
}

int mls_extension_list_decode(mls_rd *r, mls_extension_list *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    size_t cap = 0;
    int rc = mls_rd_vector(r, &sub);
    if (rc)
        goto fail;
    while (mls_rd_left(&sub)) {
        rc = mls_ou_grow(&out->items, out->n, &cap, sizeof *out->items, MLS_MAX_LIST_ITEMS);
        if (rc)
            goto fail;
        mls_extension *e = &out->items[out->n];
        if ((rc = mls_rd_u16(&sub, &e->extension_type)))
            goto fail;
        if ((rc = mls_rd_opaque_copy(&sub, &e->extension_data)))
            goto fail;
        out->n++;
    }
    if (mls_ou_has_dup_u16(out->items, out->n, ext_type_at)) {
        rc = MLS_E_INVALID;
        goto fail;
    }
    return 0;
fail:
    mls_extension_list_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(extension_list)

int mls_extension_list_encode(mls_buf *b, const mls_extension_list *l)
{
    if (mls_ou_has_dup_u16(l->items, l->n, ext_type_at))
        return MLS_E_INVALID;
    size_t m = mls_w_vec_begin(b);
    for (size_t i = 0; i < l->n; i++) {
        mls_w_u16(b, l->items[i].extension_type);
        mls_w_opaque(b, l->items[i].extension_data.p, l->items[i].extension_data.len);
    }
    mls_w_vec_end(b, m);
    return mls_buf_status(b);
}

MLS_OU_COPY(extension_list)

const mls_extension *mls_extension_list_find(const mls_extension_list *l, uint16_t t)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].extension_type == t)
            return &l->items[i];
    return NULL;
}

int mls_extension_list_set(mls_extension_list *l, uint16_t t, const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].extension_type == t)
            return mls_bytes_set(&l->items[i].extension_data, data, n);
    mls_bytes copy = { 0 };
    int rc = mls_bytes_set(&copy, data, n);
    if (rc)
        return rc;
    mls_extension *items = mls_realloc(l->items, l->n * sizeof *items,
                                       (l->n + 1) * sizeof *items);
    if (!items) {
        mls_bytes_free(&copy);
        return MLS_E_NOMEM;
    }
    items[l->n].extension_type = t;
    items[l->n].extension_data = copy;
    l->items = items;
    l->n++;
    return 0;
}

int mls_extension_list_remove(mls_extension_list *l, uint16_t t)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].extension_type != t)
            continue;
        mls_bytes_free(&l->items[i].extension_data);
        memmove(&l->items[i], &l->items[i + 1], (l->n - i - 1) * sizeof *l->items);
        l->n--;
        memset(&l->items[l->n], 0, sizeof *l->items);
        return 0;
    }
    return MLS_E_NOT_FOUND;
}

int mls_extension_list_check_types(const mls_extension_list *l, const mls_u16_list *types,
                                   int allow_default)
{
    for (size_t i = 0; i < l->n; i++) {
        uint16_t t = l->items[i].extension_type;
        if (allow_default && t >= MLS_EXT_APPLICATION_ID && t <= MLS_EXT_EXTERNAL_SENDERS)
            continue;
        if (!mls_u16_list_contains(types, t))
            return MLS_E_CAPABILITIES;
    }
    return 0;
}

/* ---- typed extension contents ---------------------------------------------------- */

static int opaque_all(const mls_extension *ext, mls_slice *out)
{
    mls_rd r;
    mls_rd_init(&r, ext->extension_data.p, ext->extension_data.len);
    mls_slice s;
    int rc = mls_rd_opaque(&r, &s);
    if (rc == 0)
        rc = mls_rd_end(&r);
    if (rc == 0)
        *out = s;
    return rc;
}

int mls_ext_application_id_decode(const mls_extension *ext, mls_slice *id)
{
    return opaque_all(ext, id);
}

int mls_ext_application_id_encode(mls_buf *b, const uint8_t *id, size_t n)
{
    mls_w_opaque(b, id, n);
    return mls_buf_status(b);
}

int mls_ext_external_pub_decode(const mls_extension *ext, mls_slice *pub)
{
    return opaque_all(ext, pub);
}

int mls_ext_external_pub_encode(mls_buf *b, const uint8_t *pub, size_t n)
{
    mls_w_opaque(b, pub, n);
    return mls_buf_status(b);
}

void mls_required_capabilities_free(mls_required_capabilities *rc)
{
    if (!rc)
        return;
    mls_u16_list_free(&rc->extension_types);
    mls_u16_list_free(&rc->proposal_types);
    mls_u16_list_free(&rc->credential_types);
}

int mls_required_capabilities_decode(mls_rd *r, mls_required_capabilities *out)
{
    memset(out, 0, sizeof *out);
    int rc = mls_u16_list_decode(r, &out->extension_types);
    if (rc == 0)
        rc = mls_u16_list_decode(r, &out->proposal_types);
    if (rc == 0)
        rc = mls_u16_list_decode(r, &out->credential_types);
    if (rc)
        mls_required_capabilities_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(required_capabilities)

int mls_required_capabilities_encode(mls_buf *b, const mls_required_capabilities *rc)
{
    int e = mls_u16_list_encode(b, &rc->extension_types);
    if (e == 0)
        e = mls_u16_list_encode(b, &rc->proposal_types);
    if (e == 0)
        e = mls_u16_list_encode(b, &rc->credential_types);
    return e;
}

void mls_external_senders_free(mls_external_senders *es)
{
    if (!es)
        return;
    for (size_t i = 0; i < es->n; i++) {
        mls_bytes_free(&es->items[i].signature_key);
        mls_credential_free(&es->items[i].credential);
    }
    mls_free(es->items, es->n * sizeof *es->items);
    memset(es, 0, sizeof *es);
}

int mls_external_senders_decode(mls_rd *r, mls_external_senders *out)
{
    memset(out, 0, sizeof *out);
    mls_rd sub;
    size_t cap = 0;
    int rc = mls_rd_vector(r, &sub);
    if (rc)
        goto fail;
    while (mls_rd_left(&sub)) {
        rc = mls_ou_grow(&out->items, out->n, &cap, sizeof *out->items, MLS_MAX_LIST_ITEMS);
        if (rc)
            goto fail;
        mls_external_sender *s = &out->items[out->n];
        if ((rc = mls_rd_opaque_copy(&sub, &s->signature_key)))
            goto fail;
        if ((rc = mls_credential_decode(&sub, &s->credential))) {
            mls_bytes_free(&s->signature_key);
            goto fail;
        }
        out->n++;
    }
    return 0;
fail:
    mls_external_senders_free(out);
    return rc;
}

MLS_OU_DECODE_ALL(external_senders)

int mls_external_senders_encode(mls_buf *b, const mls_external_senders *es)
{
    size_t m = mls_w_vec_begin(b);
    for (size_t i = 0; i < es->n; i++) {
        mls_w_opaque(b, es->items[i].signature_key.p, es->items[i].signature_key.len);
        int rc = mls_credential_encode(b, &es->items[i].credential);
        if (rc)
            return rc;
    }
    mls_w_vec_end(b, m);
    return mls_buf_status(b);
}
