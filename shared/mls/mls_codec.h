/*
 * mls_codec: the TLS presentation language as RFC 9420 uses it (section 2.1).
 *
 *   integers    uint8/16/32/64, big-endian
 *   opaque<V>   variable-length vector: a varint byte length, then the bytes
 *   T list<V>   the same: a varint byte length, then the elements back to back
 *   optional<T> one byte 0 or 1, then T if 1
 *
 * The varint is RFC 9000's (2.1.2): the top two bits of the first byte give the length
 * (1, 2 or 4 bytes; 8 is not allowed in MLS). Decoding is strict: a length that is not
 * minimally encoded, a 0b11 prefix, a vector whose body overruns its parent, trailing
 * bytes where the structure must end: all MLS_E_DECODE.
 *
 * Readers never allocate and never copy: slices point into the caller's input, which
 * must outlive them. Writers append to a growable mls_buf (through mls_alloc).
 */
#ifndef MLS_CODEC_H
#define MLS_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Largest value the MLS varint can carry (30 bits). */
#define MLS_VARINT_MAX 0x3fffffffu

/* A view of bytes owned by someone else. */
typedef struct mls_slice {
    const uint8_t *p;
    size_t len;
} mls_slice;

/* Owned bytes (allocated with mls_alloc). A zeroed mls_bytes is empty. */
typedef struct mls_bytes {
    uint8_t *p;
    size_t len;
} mls_bytes;

/* Copies n bytes of src into *dst (freeing what dst held). 0 or MLS_E_NOMEM. */
int mls_bytes_set(mls_bytes *dst, const uint8_t *src, size_t n);
/* Wipes and frees b's bytes; leaves b empty. */
void mls_bytes_free(mls_bytes *b);
/* 1 if a and b hold the same bytes (constant time in the common length), else 0. */
int mls_bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Reader over [p, p+len). */
typedef struct mls_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
} mls_rd;

void mls_rd_init(mls_rd *r, const uint8_t *p, size_t len);
/* Bytes not yet read. */
size_t mls_rd_left(const mls_rd *r);
/* Each returns 0, or MLS_E_DECODE if the input is short; on error nothing is consumed. */
int mls_rd_u8(mls_rd *r, uint8_t *v);
int mls_rd_u16(mls_rd *r, uint16_t *v);
int mls_rd_u32(mls_rd *r, uint32_t *v);
int mls_rd_u64(mls_rd *r, uint64_t *v);
/* A minimally encoded MLS varint. */
int mls_rd_varint(mls_rd *r, uint64_t *v);
/* n raw bytes (a fixed-size field). */
int mls_rd_fixed(mls_rd *r, size_t n, mls_slice *out);
/* opaque<V>: a varint length, then that many bytes. */
int mls_rd_opaque(mls_rd *r, mls_slice *out);
/* opaque<V> whose length must be exactly n (a key or hash): MLS_E_DECODE otherwise. */
int mls_rd_opaque_n(mls_rd *r, size_t n, mls_slice *out);
/* opaque<V> copied into owned bytes: 0, MLS_E_DECODE or MLS_E_NOMEM. */
int mls_rd_opaque_copy(mls_rd *r, mls_bytes *out);
/* T list<V>: sub is set to a reader over the vector body. */
int mls_rd_vector(mls_rd *r, mls_rd *sub);
/* optional<T>: *present = 0 or 1; any other byte is MLS_E_DECODE. */
int mls_rd_optional(mls_rd *r, int *present);
/* 0 if every byte has been read, else MLS_E_DECODE. */
int mls_rd_end(const mls_rd *r);

/* Growable output. A zeroed mls_buf is empty and valid. After any allocation failure the
 * buffer is marked failed, later writes are no-ops, and mls_buf_status returns
 * MLS_E_NOMEM: callers may write a whole structure and check once at the end. */
typedef struct mls_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    int err;
} mls_buf;

/* 0, or the first error a write met (MLS_E_NOMEM, or MLS_E_INVALID for a vector over
 * MLS_VARINT_MAX bytes). */
int mls_buf_status(const mls_buf *b);
/* Wipes and frees b's bytes; b is empty and valid afterwards. */
void mls_buf_free(mls_buf *b);
/* Drops the contents, keeping the allocation (and clears the error). */
void mls_buf_reset(mls_buf *b);
/* Ensures room for n more bytes and returns a pointer to them (len is advanced by n);
 * NULL on failure. For writing fixed fields in place. */
uint8_t *mls_buf_extend(mls_buf *b, size_t n);

void mls_w_u8(mls_buf *b, uint8_t v);
void mls_w_u16(mls_buf *b, uint16_t v);
void mls_w_u32(mls_buf *b, uint32_t v);
void mls_w_u64(mls_buf *b, uint64_t v);
/* v must be <= MLS_VARINT_MAX (else the buffer fails with MLS_E_INVALID). */
void mls_w_varint(mls_buf *b, uint64_t v);
void mls_w_fixed(mls_buf *b, const uint8_t *p, size_t n);
/* opaque<V>: varint(n) then the bytes. */
void mls_w_opaque(mls_buf *b, const uint8_t *p, size_t n);
/* A vector whose body is written in between: mark = mls_w_vec_begin(b); ...write the
 * elements...; mls_w_vec_end(b, mark) inserts the minimal varint length in front. */
size_t mls_w_vec_begin(mls_buf *b);
void mls_w_vec_end(mls_buf *b, size_t mark);
void mls_w_optional(mls_buf *b, int present);

#endif
