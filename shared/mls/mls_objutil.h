/*
 * mls_objutil: internal helpers of the object codecs (mls_credential ... mls_message);
 * not part of the public API. Growing arrays of decoded elements, the duplicate check of
 * uint16 code points, and the decode_all / copy functions every object type shares.
 */
#ifndef MLS_OBJUTIL_H
#define MLS_OBJUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mls_alloc.h"
#include "mls_codec.h"
#include "mls_err.h"

/* Makes room for element n of the array at *arrp (a T ** passed as void *; *cap
 * elements allocated, the tail zero) and zeroes it. 0; MLS_E_DECODE if n >= max (a
 * hostile count); MLS_E_NOMEM. The array is freed by the owner with
 * mls_free(arr, n * size): elements past n are never written. */
int mls_ou_grow(void *arrp, size_t n, size_t *cap, size_t size, size_t max);

/* 1 if some type occurs twice among n values read by get(ctx, i), else 0. */
int mls_ou_has_dup_u16(const void *ctx, size_t n, uint16_t (*get)(const void *ctx, size_t i));

/* int mls_<T>_decode_all(p, n, out) from mls_<T>_decode and mls_<T>_free. */
#define MLS_OU_DECODE_ALL(T)                                                  \
    int mls_##T##_decode_all(const uint8_t *p, size_t n, mls_##T *out)       \
    {                                                                         \
        mls_rd r;                                                             \
        mls_rd_init(&r, p, n);                                                \
        int rc_ = mls_##T##_decode(&r, out);                                  \
        if (rc_ == 0 && mls_rd_left(&r) != 0) {                               \
            mls_##T##_free(out);                                              \
            rc_ = MLS_E_DECODE;                                               \
        }                                                                     \
        return rc_;                                                           \
    }

/* int mls_<T>_copy(dst, src) as encode then decode_all: a deep copy that can never
 * share a pointer with src. */
#define MLS_OU_COPY(T)                                                        \
    int mls_##T##_copy(mls_##T *dst, const mls_##T *src)                      \
    {                                                                         \
        mls_buf b_ = { 0 };                                                   \
        int rc_ = mls_##T##_encode(&b_, src);                                 \
        if (rc_ == 0)                                                         \
            rc_ = mls_##T##_decode_all(b_.p, b_.len, dst);                    \
        else                                                                  \
            memset(dst, 0, sizeof *dst);                                      \
        if (rc_ == MLS_E_DECODE)                                              \
            rc_ = MLS_E_INVALID;                                              \
        mls_buf_free(&b_);                                                    \
        return rc_;                                                           \
    }

#endif
