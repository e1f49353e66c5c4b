#include "mls_codec.h"

#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"

int mls_bytes_set(mls_bytes *dst, const uint8_t *src, size_t n)
{
    uint8_t *p = mls_alloc(n);
    if (!p)
        return MLS_E_NOMEM;
    if (n)
        memcpy(p, src, n);
    mls_bytes_free(dst);
    dst->p = p;
    dst->len = n;
    return 0;
}

void mls_bytes_free(mls_bytes *b)
{
    mls_free(b->p, b->len);
    b->p = NULL;
    b->len = 0;
}

int mls_bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen != blen)
        return 0;
    if (alen == 0)
        return 1;
    return sodium_memcmp(a, b, alen) == 0;
}

/* --- reader ------------------------------------------------------------------------ */

void mls_rd_init(mls_rd *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->off = 0;
}

size_t mls_rd_left(const mls_rd *r)
{
    return r->len - r->off;
}

static int rd_uint(mls_rd *r, size_t n, uint64_t *v)
{
    if (mls_rd_left(r) < n)
        return MLS_E_DECODE;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | r->p[r->off + i];
    r->off += n;
    *v = x;
    return 0;
}

int mls_rd_u8(mls_rd *r, uint8_t *v)
{
    uint64_t x;
    int rc = rd_uint(r, 1, &x);
    if (rc == 0)
        *v = (uint8_t)x;
    return rc;
}

int mls_rd_u16(mls_rd *r, uint16_t *v)
{
    uint64_t x;
    int rc = rd_uint(r, 2, &x);
    if (rc == 0)
        *v = (uint16_t)x;
    return rc;
}

int mls_rd_u32(mls_rd *r, uint32_t *v)
{
    uint64_t x;
    int rc = rd_uint(r, 4, &x);
    if (rc == 0)
        *v = (uint32_t)x;
    return rc;
}

int mls_rd_u64(mls_rd *r, uint64_t *v)
{
    return rd_uint(r, 8, v);
}

int mls_rd_varint(mls_rd *r, uint64_t *v)
{
    if (mls_rd_left(r) < 1)
        return MLS_E_DECODE;
    uint8_t prefix = r->p[r->off] >> 6;
    size_t n;
    uint64_t min;
    switch (prefix) {
    case 0: n = 1; min = 0; break;
    case 1: n = 2; min = 64; break;
    case 2: n = 4; min = 16384; break;
    default: return MLS_E_DECODE; /* 0b11: 8-byte varints are not allowed in MLS */
    }
    if (mls_rd_left(r) < n)
        return MLS_E_DECODE;
    uint64_t x = r->p[r->off] & 0x3f;
    for (size_t i = 1; i < n; i++)
        x = (x << 8) | r->p[r->off + i];
    if (x < min)
        return MLS_E_DECODE; /* not minimally encoded */
    r->off += n;
    *v = x;
    return 0;
}

int mls_rd_fixed(mls_rd *r, size_t n, mls_slice *out)
{
    if (mls_rd_left(r) < n)
        return MLS_E_DECODE;
    out->p = r->p + r->off;
    out->len = n;
    r->off += n;
    return 0;
}

int mls_rd_opaque(mls_rd *r, mls_slice *out)
{
    size_t save = r->off;
    uint64_t n;
    int rc = mls_rd_varint(r, &n);
    if (rc)
        return rc;
    if (n > mls_rd_left(r)) {
        r->off = save;
        return MLS_E_DECODE;
    }
    out->p = r->p + r->off;
    out->len = (size_t)n;
    r->off += (size_t)n;
    return 0;
}

int mls_rd_opaque_n(mls_rd *r, size_t n, mls_slice *out)
{
    size_t save = r->off;
    mls_slice s;
    int rc = mls_rd_opaque(r, &s);
    if (rc)
        return rc;
    if (s.len != n) {
        r->off = save;
        return MLS_E_DECODE;
    }
    *out = s;
    return 0;
}

int mls_rd_opaque_copy(mls_rd *r, mls_bytes *out)
{
    size_t save = r->off;
    mls_slice s;
    int rc = mls_rd_opaque(r, &s);
    if (rc)
        return rc;
    rc = mls_bytes_set(out, s.p, s.len);
    if (rc)
        r->off = save;
    return rc;
}

int mls_rd_vector(mls_rd *r, mls_rd *sub)
{
    mls_slice s;
    int rc = mls_rd_opaque(r, &s);
    if (rc)
        return rc;
    sub->p = s.p;
    sub->len = s.len;
    sub->off = 0;
    return 0;
}

int mls_rd_optional(mls_rd *r, int *present)
{
    if (mls_rd_left(r) < 1 || r->p[r->off] > 1)
        return MLS_E_DECODE;
    *present = r->p[r->off];
    r->off++;
    return 0;
}

int mls_rd_end(const mls_rd *r)
{
    return mls_rd_left(r) == 0 ? 0 : MLS_E_DECODE;
}

/* --- writer ------------------------------------------------------------------------ */

int mls_buf_status(const mls_buf *b)
{
    return b->err;
}

void mls_buf_free(mls_buf *b)
{
    mls_free(b->p, b->cap);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}

void mls_buf_reset(mls_buf *b)
{
    if (b->p)
        sodium_memzero(b->p, b->cap);
    b->len = 0;
    b->err = 0;
}

uint8_t *mls_buf_extend(mls_buf *b, size_t n)
{
    if (b->err)
        return NULL;
    if (n > SIZE_MAX - b->len) {
        b->err = MLS_E_NOMEM;
        return NULL;
    }
    if (b->len + n > b->cap || !b->p) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) {
            if (cap > SIZE_MAX / 2) {
                cap = b->len + n;
                break;
            }
            cap *= 2;
        }
        uint8_t *q = mls_realloc(b->p, b->cap, cap);
        if (!q) {
            b->err = MLS_E_NOMEM;
            return NULL;
        }
        b->p = q;
        b->cap = cap;
    }
    uint8_t *out = b->p + b->len;
    b->len += n;
    return out;
}

static void w_uint(mls_buf *b, uint64_t v, size_t n)
{
    uint8_t *p = mls_buf_extend(b, n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void mls_w_u8(mls_buf *b, uint8_t v) { w_uint(b, v, 1); }
void mls_w_u16(mls_buf *b, uint16_t v) { w_uint(b, v, 2); }
void mls_w_u32(mls_buf *b, uint32_t v) { w_uint(b, v, 4); }
void mls_w_u64(mls_buf *b, uint64_t v) { w_uint(b, v, 8); }

static size_t varint_len(uint64_t v)
{
    return v < 64 ? 1 : v < 16384 ? 2 : 4;
}

static void varint_put(uint8_t *p, uint64_t v, size_t n)
{
    static const uint8_t prefix[5] = { 0, 0x00, 0x40, 0, 0x80 };
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    p[0] |= prefix[n];
}

void mls_w_varint(mls_buf *b, uint64_t v)
{
    if (b->err)
        return;
    if (v > MLS_VARINT_MAX) {
        b->err = MLS_E_INVALID;
        return;
    }
    size_t n = varint_len(v);
    uint8_t *p = mls_buf_extend(b, n);
    if (p)
        varint_put(p, v, n);
}

void mls_w_fixed(mls_buf *b, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    uint8_t *d = mls_buf_extend(b, n);
    if (d)
        memcpy(d, p, n);
}

void mls_w_opaque(mls_buf *b, const uint8_t *p, size_t n)
{
    mls_w_varint(b, n);
    mls_w_fixed(b, p, n);
}

size_t mls_w_vec_begin(mls_buf *b)
{
    return b->len;
}

void mls_w_vec_end(mls_buf *b, size_t mark)
{
    if (b->err)
        return;
    if (mark > b->len) {
        b->err = MLS_E_INVALID;
        return;
    }
    size_t body = b->len - mark;
    if (body > MLS_VARINT_MAX) {
        b->err = MLS_E_INVALID;
        return;
    }
    size_t n = varint_len(body);
    if (!mls_buf_extend(b, n))
        return;
    memmove(b->p + mark + n, b->p + mark, body);
    varint_put(b->p + mark, body, n);
}

void mls_w_optional(mls_buf *b, int present)
{
    mls_w_u8(b, present ? 1 : 0);
}
