/* mls_codec: varints (minimal, 0b11 refused), vectors across the 1/2/4-byte length
 * boundaries, whole structures decoded from every prefix (each in a buffer of exactly its
 * size, so an over-read is a sanitizer error), allocation failure. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "../unit/hexutil.h"
#include "mls_alloc.h"
#include "mls_codec.h"
#include "mls_err.h"

static void test_varint(void)
{
    static const struct {
        uint64_t v;
        const char *hex;
    } ok[] = {
        { 0, "00" }, { 1, "01" }, { 37, "25" }, { 63, "3f" }, { 64, "4040" },
        { 15293, "7bbd" }, { 16383, "7fff" }, { 16384, "80004000" },
        { 494878333, "9d7f3e7d" }, { MLS_VARINT_MAX, "bfffffff" },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        mls_buf b = { 0 };
        mls_w_varint(&b, ok[i].v);
        CHECK_EQ(mls_buf_status(&b), 0);
        CHECK(hex_equal(b.p, b.len, ok[i].hex));
        /* Every strict prefix fails and consumes nothing; the whole decodes. */
        for (size_t n = 0; n <= b.len; n++) {
            uint8_t *in = malloc(n ? n : 1);
            memcpy(in, b.p, n);
            mls_rd r;
            uint64_t v = 12345;
            mls_rd_init(&r, in, n);
            int rc = mls_rd_varint(&r, &v);
            if (n < b.len) {
                CHECK_EQ(rc, MLS_E_DECODE);
                CHECK_EQ(r.off, 0);
                CHECK_EQ(v, 12345);
            } else {
                CHECK_EQ(rc, 0);
                CHECK_EQ(v, ok[i].v);
                CHECK_EQ(mls_rd_end(&r), 0);
            }
            free(in);
        }
        mls_buf_free(&b);
    }

    /* Not minimal, or the 8-byte form: refused. */
    static const char *const bad[] = {
        "4000", "4001", "403f", "80000000", "80000001", "80003fff",
        "c000000000000000", "c000000000000001", "ff", "c0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t in[8];
        size_t n = hex_decode(bad[i], in, sizeof in);
        mls_rd r;
        uint64_t v;
        mls_rd_init(&r, in, n);
        CHECK_EQ(mls_rd_varint(&r, &v), MLS_E_DECODE);
        CHECK_EQ(r.off, 0);
    }

    mls_buf b = { 0 };
    mls_w_varint(&b, (uint64_t)MLS_VARINT_MAX + 1);
    CHECK_EQ(mls_buf_status(&b), MLS_E_INVALID);
    CHECK_EQ(b.len, 0);
    mls_w_u8(&b, 1); /* a failed buffer stays failed */
    CHECK_EQ(b.len, 0);
    mls_buf_reset(&b);
    CHECK_EQ(mls_buf_status(&b), 0);
    mls_buf_free(&b);
}

/* A vector of n bytes written between vec_begin and vec_end gets the minimal header. */
static void test_vec_boundaries(void)
{
    static const size_t sizes[] = { 0, 1, 62, 63, 64, 65, 16382, 16383, 16384, 16385, 100000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        size_t hdr = n < 64 ? 1 : n < 16384 ? 2 : 4;
        mls_buf b = { 0 };
        mls_w_u8(&b, 0xee); /* something before the vector */
        size_t mark = mls_w_vec_begin(&b);
        for (size_t k = 0; k < n; k++)
            mls_w_u8(&b, (uint8_t)k);
        mls_w_vec_end(&b, mark);
        mls_w_u8(&b, 0xdd); /* and after */
        CHECK_EQ(mls_buf_status(&b), 0);
        CHECK_EQ(b.len, 1 + hdr + n + 1);

        /* The same through mls_w_opaque. */
        uint8_t *body = malloc(n ? n : 1);
        for (size_t k = 0; k < n; k++)
            body[k] = (uint8_t)k;
        mls_buf o = { 0 };
        mls_w_u8(&o, 0xee);
        mls_w_opaque(&o, body, n);
        mls_w_u8(&o, 0xdd);
        CHECK_EQ(o.len, b.len);
        CHECK(o.len == b.len && memcmp(o.p, b.p, b.len) == 0);

        mls_rd r, sub;
        uint8_t x;
        mls_rd_init(&r, b.p, b.len);
        CHECK_EQ(mls_rd_u8(&r, &x), 0);
        CHECK_EQ(mls_rd_vector(&r, &sub), 0);
        CHECK_EQ(mls_rd_left(&sub), n);
        CHECK(n == 0 || memcmp(sub.p, body, n) == 0);
        CHECK_EQ(mls_rd_u8(&r, &x), 0);
        CHECK_EQ(x, 0xdd);
        CHECK_EQ(mls_rd_end(&r), 0);

        /* A body one byte short of its header overruns: refused. */
        mls_rd_init(&r, b.p + 1, hdr + n - 1);
        mls_slice s;
        if (n > 0) {
            CHECK_EQ(mls_rd_opaque(&r, &s), MLS_E_DECODE);
            CHECK_EQ(r.off, 0);
        }
        free(body);
        mls_buf_free(&o);
        mls_buf_free(&b);
    }

    /* Nested vectors, the inner one crossing 63/64. */
    mls_buf b = { 0 };
    size_t outer = mls_w_vec_begin(&b);
    for (int k = 0; k < 3; k++) {
        size_t inner = mls_w_vec_begin(&b);
        for (int j = 0; j < 63 + k; j++)
            mls_w_u8(&b, (uint8_t)j);
        mls_w_vec_end(&b, inner);
    }
    mls_w_vec_end(&b, outer);
    CHECK_EQ(mls_buf_status(&b), 0);
    CHECK_EQ(b.len, 2 + (1 + 63) + (2 + 64) + (2 + 65));
    mls_rd r, sub, in;
    mls_rd_init(&r, b.p, b.len);
    CHECK_EQ(mls_rd_vector(&r, &sub), 0);
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(mls_rd_vector(&sub, &in), 0);
        CHECK_EQ(mls_rd_left(&in), (size_t)(63 + k));
    }
    CHECK_EQ(mls_rd_end(&sub), 0);
    CHECK_EQ(mls_rd_end(&r), 0);
    mls_buf_free(&b);
}

/* struct { uint8; uint16; uint32; uint64; opaque<V>; opaque<V> list<V>;
 *          optional<uint32>; optional<uint32>; opaque[4] } */
static void write_sample(mls_buf *b)
{
    static const uint8_t key[64] = { 1, 2, 3 }; /* the list below reads up to 60 bytes */
    mls_w_u8(b, 0x12);
    mls_w_u16(b, 0x3456);
    mls_w_u32(b, 0x789abcdeu);
    mls_w_u64(b, 0x0102030405060708ull);
    mls_w_opaque(b, key, 32);
    size_t m = mls_w_vec_begin(b);
    for (int i = 0; i < 3; i++)
        mls_w_opaque(b, key, (size_t)i * 30);
    mls_w_vec_end(b, m);
    mls_w_optional(b, 1);
    mls_w_u32(b, 7);
    mls_w_optional(b, 0);
    mls_w_fixed(b, key, 4);
}

static int read_sample(const uint8_t *p, size_t n)
{
    mls_rd r, list;
    uint8_t a;
    uint16_t b16;
    uint32_t c32, opt;
    uint64_t d64;
    mls_slice s;
    int present, rc;
    mls_rd_init(&r, p, n);
    if ((rc = mls_rd_u8(&r, &a)) || (rc = mls_rd_u16(&r, &b16)) || (rc = mls_rd_u32(&r, &c32)) ||
        (rc = mls_rd_u64(&r, &d64)) || (rc = mls_rd_opaque_n(&r, 32, &s)) ||
        (rc = mls_rd_vector(&r, &list)))
        return rc;
    if (a != 0x12 || b16 != 0x3456 || c32 != 0x789abcdeu || d64 != 0x0102030405060708ull)
        return MLS_E_INVALID;
    for (int i = 0; i < 3; i++) {
        if ((rc = mls_rd_opaque(&list, &s)))
            return rc;
        if (s.len != (size_t)i * 30)
            return MLS_E_INVALID;
    }
    if ((rc = mls_rd_end(&list)) || (rc = mls_rd_optional(&r, &present)))
        return rc;
    if (!present)
        return MLS_E_INVALID;
    if ((rc = mls_rd_u32(&r, &opt)) || (rc = mls_rd_optional(&r, &present)))
        return rc;
    if (present || opt != 7)
        return MLS_E_INVALID;
    if ((rc = mls_rd_fixed(&r, 4, &s)))
        return rc;
    return mls_rd_end(&r);
}

static void test_structure(void)
{
    mls_buf b = { 0 };
    write_sample(&b);
    CHECK_EQ(mls_buf_status(&b), 0);
    CHECK_EQ(read_sample(b.p, b.len), 0);
    /* Every prefix, in a buffer of exactly its length: MLS_E_DECODE, never a crash. */
    int prefixes_ok = 1;
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *in = malloc(n ? n : 1);
        memcpy(in, b.p, n);
        if (read_sample(n ? in : NULL, n) != MLS_E_DECODE)
            prefixes_ok = 0;
        free(in);
    }
    CHECK(prefixes_ok);
    /* A trailing byte is refused too. */
    mls_w_u8(&b, 0);
    CHECK_EQ(read_sample(b.p, b.len), MLS_E_DECODE);
    b.len--;
    /* An optional byte other than 0/1, and a 32-byte key of another length. */
    size_t opt_at = b.len - 4 - 1 - 4 - 1;
    b.p[opt_at] = 2;
    CHECK_EQ(read_sample(b.p, b.len), MLS_E_DECODE);
    b.p[opt_at] = 1;
    b.p[15] = 31; /* the key's length byte (after 1 + 2 + 4 + 8 bytes) */
    CHECK_EQ(read_sample(b.p, b.len), MLS_E_DECODE);
    b.p[15] = 32;
    CHECK_EQ(read_sample(b.p, b.len), 0);
    mls_buf_free(&b);
}

static void test_bytes(void)
{
    mls_bytes a = { 0 };
    static const uint8_t x[3] = { 1, 2, 3 };
    CHECK_EQ(mls_bytes_set(&a, x, 3), 0);
    CHECK(mls_bytes_eq(a.p, a.len, x, 3));
    CHECK(!mls_bytes_eq(a.p, a.len, x, 2));
    CHECK_EQ(mls_bytes_set(&a, NULL, 0), 0);
    CHECK_EQ(a.len, 0);
    CHECK(a.p != NULL);
    CHECK(mls_bytes_eq(a.p, 0, NULL, 0));
    mls_bytes_free(&a);
    CHECK(a.p == NULL && a.len == 0);

    uint8_t enc[] = { 0x03, 9, 8, 7 };
    mls_rd r;
    mls_rd_init(&r, enc, sizeof enc);
    CHECK_EQ(mls_rd_opaque_copy(&r, &a), 0);
    CHECK_EQ(a.len, 3);
    CHECK_EQ(a.p[2], 7);
    mls_bytes_free(&a);
}

/* Allocation failure: the allocator refuses after `budget` calls. */
static int budget;
static void *failing_alloc(void *ctx, size_t n)
{
    (void)ctx;
    if (budget-- <= 0)
        return NULL;
    return malloc(n);
}
static void plain_release(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void test_nomem(void)
{
    mls_alloc_hooks h = { failing_alloc, plain_release, NULL };
    mls_alloc_set_hooks(&h);
    for (int k = 0; k < 4; k++) {
        budget = k;
        mls_buf b = { 0 };
        for (int i = 0; i < 1000; i++)
            mls_w_u32(&b, (uint32_t)i);
        size_t m = mls_w_vec_begin(&b);
        mls_w_u8(&b, 1);
        mls_w_vec_end(&b, m);
        if (mls_buf_status(&b)) {
            CHECK_EQ(mls_buf_status(&b), MLS_E_NOMEM);
        } else {
            CHECK_EQ(b.len, 4002);
        }
        mls_buf_free(&b);
    }
    budget = 0;
    mls_bytes a = { 0 };
    CHECK_EQ(mls_bytes_set(&a, (const uint8_t *)"x", 1), MLS_E_NOMEM);
    uint8_t enc[] = { 0x01, 5 };
    mls_rd r;
    mls_rd_init(&r, enc, sizeof enc);
    CHECK_EQ(mls_rd_opaque_copy(&r, &a), MLS_E_NOMEM);
    CHECK_EQ(r.off, 0);
    mls_alloc_set_hooks(NULL);
    CHECK(mls_alloc_array(SIZE_MAX / 2, 3) == NULL);
    void *p = mls_alloc(0);
    CHECK(p != NULL);
    mls_free(p, 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_varint();
    test_vec_boundaries();
    test_structure();
    test_bytes();
    test_nomem();
    return check_finish("test_mls_codec");
}
