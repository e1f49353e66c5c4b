/* fuzz_mls_codec: the TLS presentation codec of shared/mls (mls_codec.h) over arbitrary
 * bytes. The input is a schema and data:
 *   byte 0          schema length L (mod 64)
 *   bytes 1..L      the schema: one byte a node, low nibble the kind, high nibble a
 *                   parameter (see parse_node): uint8/16/32/64, varint, opaque<V>,
 *                   opaque<V> of exactly n bytes, n fixed bytes, optional<T>, a vector
 *                   whose body is a sequence of nodes, or a T list<V> (the body repeated
 *                   until the vector ends); vectors nest
 *   the rest        the data, decoded as the schema's top-level sequence, then mls_rd_end
 * Oracles:
 *   - every primitive read agrees with a reference decoder written here from RFC 9000
 *     2.1.2 / RFC 9420 2.1 (varint prefix, length, minimality; vector bounds; optional
 *     byte), and a failed read is MLS_E_DECODE and consumes nothing;
 *   - the writer (mls_w_*, mls_w_vec_begin/end for the nested vectors) re-encodes what
 *     decoded to exactly the input bytes (strict decoding means a canonical encoding);
 *   - the data is also fed in every prefix: a prefix of data that decoded whole must fail
 *     (MLS_E_DECODE), and whatever a prefix decodes still re-encodes exactly;
 *   - mls_w_varint on values taken from the data encodes minimally and decodes back;
 *     values over MLS_VARINT_MAX fail the buffer with MLS_E_INVALID and later writes are
 *     no-ops;
 *   - the whole decode again with the allocator failing once (the n-th allocation, n
 *     from the data): the copying reader fails with MLS_E_NOMEM consuming nothing, the
 *     writer's buffer reports MLS_E_NOMEM (and only after a failure), and one that did
 *     not fail still holds exactly the input. */
#include "fuzz_common.h"
#include "mls_alloc.h"
#include "mls_codec.h"
#include "mls_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { K_U8, K_U16, K_U32, K_U64, K_VARINT, K_OPAQUE, K_OPAQUE_N, K_FIXED, K_OPTIONAL,
       K_VECTOR, K_LIST, K_NKINDS };

#define MAX_NODES 64
#define MAX_DEPTH 6
#define MAX_PREFIX_DATA 512 /* every prefix is fed for data up to this size */

typedef struct node {
    int kind;
    size_t param;       /* OPAQUE_N, FIXED: the length */
    int first, next;    /* children (OPTIONAL: the one; VECTOR/LIST: a sequence), sibling */
} node;

static node nodes[MAX_NODES];
static int n_nodes;

/* The allocator seam: fails allocation number fail_at (counting down), once. */
static long fail_at = -1;
static unsigned long n_failed;
static void *fz_alloc(void *ctx, size_t n)
{
    (void)ctx;
    if (fail_at == 0) {
        fail_at = -1;
        n_failed++;
        return NULL;
    }
    if (fail_at > 0)
        fail_at--;
    return malloc(n);
}
static void fz_release(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

/* Builds the schema tree; returns the first node of a sequence (-1 if empty). A vector
 * body runs to a 0xff byte or the schema's end. */
static int parse_seq(const uint8_t *s, size_t n, size_t *pos, int depth);

static int parse_node(const uint8_t *s, size_t n, size_t *pos, int depth)
{
    if (*pos >= n || n_nodes >= MAX_NODES || s[*pos] == 0xff)
        return -1;
    uint8_t b = s[(*pos)++];
    int i = n_nodes++;
    nodes[i].kind = (b & 15) % K_NKINDS;
    nodes[i].param = b >> 4;
    nodes[i].first = nodes[i].next = -1;
    if (depth >= MAX_DEPTH && nodes[i].kind >= K_OPTIONAL)
        nodes[i].kind = K_U8;
    if (nodes[i].kind == K_OPTIONAL) {
        nodes[i].first = parse_node(s, n, pos, depth + 1);
        if (nodes[i].first < 0)
            nodes[i].kind = K_U8;
    } else if (nodes[i].kind == K_VECTOR || nodes[i].kind == K_LIST) {
        nodes[i].first = parse_seq(s, n, pos, depth + 1);
        if (*pos < n && s[*pos] == 0xff)
            (*pos)++;
    }
    return i;
}

static int parse_seq(const uint8_t *s, size_t n, size_t *pos, int depth)
{
    int first = -1, last = -1;
    for (;;) {
        int i = parse_node(s, n, pos, depth);
        if (i < 0)
            return first;
        if (last < 0)
            first = i;
        else
            nodes[last].next = i;
        last = i;
    }
}

/* ---- reference decoder of one varint, from RFC 9000 2.1.2 without the 8-byte form:
 * returns its length in bytes, or 0 if it is not a valid MLS varint at p[0..left) */
static size_t ref_varint(const uint8_t *p, size_t left, uint64_t *v)
{
    if (left == 0)
        return 0;
    size_t len = (size_t)1 << (p[0] >> 6);
    if (len == 8 || left < len)
        return 0;
    uint64_t x = p[0] & 0x3f;
    for (size_t i = 1; i < len; i++)
        x = x << 8 | p[i];
    if ((len == 2 && x < 64) || (len == 4 && x < 16384))
        return 0;
    *v = x;
    return len;
}

/* A failed read: MLS_E_DECODE and nothing consumed. */
#define READ_FAILED(rc, r, off0)                               \
    do {                                                       \
        FUZZ_ASSERT((rc) == MLS_E_DECODE);                     \
        FUZZ_ASSERT((r)->off == (off0));                       \
        return -1;                                             \
    } while (0)

static int decode_seq(int i, mls_rd *r, mls_buf *w);

/* Decodes node i from r, checking it against the reference, writing it to w. 0 or -1. */
static int decode_node(int i, mls_rd *r, mls_buf *w)
{
    const node *nd = &nodes[i];
    size_t off0 = r->off, left = mls_rd_left(r);
    const uint8_t *at = r->p + r->off;
    int rc;

    FUZZ_ASSERT(r->off <= r->len);
    switch (nd->kind) {
    case K_U8: case K_U16: case K_U32: case K_U64: {
        static const size_t width[] = { 1, 2, 4, 8 };
        size_t k = width[nd->kind];
        uint64_t v = 0;
        if (nd->kind == K_U8) { uint8_t x; rc = mls_rd_u8(r, &x); v = x; }
        else if (nd->kind == K_U16) { uint16_t x; rc = mls_rd_u16(r, &x); v = x; }
        else if (nd->kind == K_U32) { uint32_t x; rc = mls_rd_u32(r, &x); v = x; }
        else rc = mls_rd_u64(r, &v);
        if (left < k) {
            FUZZ_ASSERT(rc != 0);
            READ_FAILED(rc, r, off0);
        }
        FUZZ_ASSERT(rc == 0 && r->off == off0 + k);
        uint64_t ref = 0;
        for (size_t j = 0; j < k; j++)
            ref = ref << 8 | at[j];
        FUZZ_ASSERT(v == ref);
        if (nd->kind == K_U8) mls_w_u8(w, (uint8_t)v);
        else if (nd->kind == K_U16) mls_w_u16(w, (uint16_t)v);
        else if (nd->kind == K_U32) mls_w_u32(w, (uint32_t)v);
        else mls_w_u64(w, v);
        return 0;
    }
    case K_VARINT: {
        uint64_t v = 0, ref = 0;
        size_t k = ref_varint(at, left, &ref);
        rc = mls_rd_varint(r, &v);
        if (!k) {
            FUZZ_ASSERT(rc != 0);
            READ_FAILED(rc, r, off0);
        }
        FUZZ_ASSERT(rc == 0 && v == ref && r->off == off0 + k && v <= MLS_VARINT_MAX);
        mls_w_varint(w, v);
        return 0;
    }
    case K_OPAQUE: case K_OPAQUE_N: {
        mls_slice s = { NULL, 0 };
        uint64_t n = 0;
        size_t k = ref_varint(at, left, &n);
        int ok = k && n <= left - k && (nd->kind == K_OPAQUE || n == nd->param);
        rc = nd->kind == K_OPAQUE ? mls_rd_opaque(r, &s) : mls_rd_opaque_n(r, nd->param, &s);
        if (!ok) {
            FUZZ_ASSERT(rc != 0);
            READ_FAILED(rc, r, off0);
        }
        FUZZ_ASSERT(rc == 0 && s.p == at + k && s.len == n && r->off == off0 + k + n);
        if (nd->kind == K_OPAQUE && (n & 1)) {
            /* the copying reader on the same bytes gives the same */
            mls_rd r2 = { at, left, 0 };
            mls_bytes b = { NULL, 0 };
            unsigned long failed = n_failed;
            rc = mls_rd_opaque_copy(&r2, &b);
            if (n_failed != failed) {
                FUZZ_ASSERT(rc == MLS_E_NOMEM && r2.off == 0 && b.p == NULL && b.len == 0);
                rc = mls_rd_opaque_copy(&r2, &b); /* fails once only */
            }
            FUZZ_ASSERT(rc == 0);
            FUZZ_ASSERT(r2.off == k + n && b.len == n && memcmp(b.p, s.p, n) == 0);
            FUZZ_ASSERT(mls_bytes_eq(b.p, b.len, s.p, s.len) == 1);
            mls_bytes_free(&b);
            FUZZ_ASSERT(b.p == NULL && b.len == 0);
        }
        mls_w_opaque(w, s.p, s.len);
        return 0;
    }
    case K_FIXED: {
        mls_slice s = { NULL, 0 };
        rc = mls_rd_fixed(r, nd->param, &s);
        if (left < nd->param) {
            FUZZ_ASSERT(rc != 0);
            READ_FAILED(rc, r, off0);
        }
        FUZZ_ASSERT(rc == 0 && s.p == at && s.len == nd->param && r->off == off0 + nd->param);
        mls_w_fixed(w, s.p, s.len);
        return 0;
    }
    case K_OPTIONAL: {
        int present = -1;
        rc = mls_rd_optional(r, &present);
        if (left == 0 || at[0] > 1) {
            FUZZ_ASSERT(rc != 0);
            READ_FAILED(rc, r, off0);
        }
        FUZZ_ASSERT(rc == 0 && present == at[0] && r->off == off0 + 1);
        mls_w_optional(w, present);
        return present ? decode_node(nd->first, r, w) : 0;
    }
    default: { /* K_VECTOR, K_LIST */
        mls_rd sub;
        uint64_t n = 0;
        size_t k = ref_varint(at, left, &n);
        rc = mls_rd_vector(r, &sub);
        if (!k || n > left - k) {
            FUZZ_ASSERT(rc != 0);
            READ_FAILED(rc, r, off0);
        }
        FUZZ_ASSERT(rc == 0 && sub.p == at + k && sub.len == n && sub.off == 0);
        FUZZ_ASSERT(r->off == off0 + k + n);
        size_t mark = mls_w_vec_begin(w);
        if (nd->kind == K_VECTOR) {
            if (decode_seq(nd->first, &sub, w))
                return -1;
        } else {
            while (mls_rd_left(&sub) > 0) {
                size_t before = sub.off;
                if (decode_seq(nd->first, &sub, w))
                    return -1;
                if (sub.off == before)
                    return -1; /* an element of zero bytes: no list of those */
            }
        }
        rc = mls_rd_end(&sub);
        FUZZ_ASSERT(rc == (mls_rd_left(&sub) ? MLS_E_DECODE : 0));
        if (rc)
            return -1;
        mls_w_vec_end(w, mark);
        return 0;
    }
    }
}

static int decode_seq(int i, mls_rd *r, mls_buf *w)
{
    for (; i >= 0; i = nodes[i].next)
        if (decode_node(i, r, w))
            return -1;
    return 0;
}

/* Decodes data[0..n) as the schema; on success checks the re-encoding. 0 or -1. */
static int decode_all(int root, const uint8_t *d, size_t n)
{
    mls_rd r;
    mls_buf w = { 0 };
    int res = -1;
    mls_rd_init(&r, d, n);
    FUZZ_ASSERT(r.off == 0 && mls_rd_left(&r) == (d ? n : 0));
    unsigned long failed = n_failed;
    if (decode_seq(root, &r, &w) == 0) {
        int rc = mls_rd_end(&r);
        FUZZ_ASSERT(rc == (mls_rd_left(&r) ? MLS_E_DECODE : 0));
        if (rc == 0 && mls_buf_status(&w) == 0) {
            FUZZ_ASSERT(w.len == n && (n == 0 || memcmp(w.p, d, n) == 0));
            res = 0;
        }
    }
    int st = mls_buf_status(&w);
    FUZZ_ASSERT(st == 0 || (st == MLS_E_NOMEM && n_failed != failed));
    if (st) { /* later writes are no-ops, and a reset clears the failure */
        size_t len = w.len;
        mls_w_u32(&w, 7);
        mls_w_opaque(&w, d, n);
        FUZZ_ASSERT(w.len == len && mls_buf_status(&w) == MLS_E_NOMEM);
        FUZZ_ASSERT(mls_buf_extend(&w, 1) == NULL);
        mls_buf_reset(&w);
        FUZZ_ASSERT(w.len == 0 && mls_buf_status(&w) == 0);
    }
    mls_buf_free(&w);
    FUZZ_ASSERT(w.p == NULL && w.len == 0 && w.cap == 0);
    return res;
}

/* The writer's varint on arbitrary values: minimal, and decodes back. */
static void check_varint_writer(const uint8_t *d, size_t n)
{
    mls_buf w = { 0 };
    for (size_t i = 0; i + 4 <= n && i < 64; i += 4) {
        uint32_t v = (uint32_t)d[i] << 24 | (uint32_t)d[i + 1] << 16 | (uint32_t)d[i + 2] << 8 |
                     d[i + 3];
        v >>= d[i] & 31; /* reach the small values and every boundary too */
        mls_buf_reset(&w);
        FUZZ_ASSERT(w.len == 0 && mls_buf_status(&w) == 0);
        mls_w_varint(&w, v);
        if (v > MLS_VARINT_MAX) {
            FUZZ_ASSERT(mls_buf_status(&w) == MLS_E_INVALID && w.len == 0);
            mls_w_u8(&w, 1);
            mls_w_opaque(&w, d, 1);
            FUZZ_ASSERT(mls_buf_status(&w) == MLS_E_INVALID && w.len == 0);
            continue;
        }
        size_t want = v < 64 ? 1 : v < 16384 ? 2 : 4;
        FUZZ_ASSERT(mls_buf_status(&w) == 0 && w.len == want);
        uint64_t back = 0, ref = 0;
        mls_rd r;
        mls_rd_init(&r, w.p, w.len);
        FUZZ_ASSERT(mls_rd_varint(&r, &back) == 0 && back == v && mls_rd_end(&r) == 0);
        FUZZ_ASSERT(ref_varint(w.p, w.len, &ref) == want && ref == v);
        /* one byte short is a truncation */
        mls_rd_init(&r, w.p, w.len - 1);
        FUZZ_ASSERT(mls_rd_varint(&r, &back) == MLS_E_DECODE && r.off == 0);
    }
    mls_buf_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooked;
    if (!hooked) {
        mls_alloc_hooks h = { fz_alloc, fz_release, NULL };
        mls_alloc_set_hooks(&h);
        hooked = 1;
    }
    if (size == 0)
        return 0;
    size_t sl = data[0] % 64;
    if (sl > size - 1)
        sl = size - 1;
    const uint8_t *schema = data + 1, *d = data + 1 + sl;
    size_t n = size - 1 - sl, pos = 0;
    n_nodes = 0;
    int root = parse_seq(schema, sl, &pos, 0);

    /* the data is copied so that ASan sees any read past its end */
    uint8_t *copy = malloc(n ? n : 1);
    FUZZ_ASSERT(copy != NULL);
    if (n)
        memcpy(copy, d, n);
    int whole = decode_all(root, copy, n);
    if (n <= MAX_PREFIX_DATA) {
        for (size_t k = 0; k < n; k++) {
            uint8_t *pre = malloc(k ? k : 1);
            FUZZ_ASSERT(pre != NULL);
            if (k)
                memcpy(pre, d, k);
            int rc = decode_all(root, pre, k);
            FUZZ_ASSERT(whole != 0 || rc != 0);
            free(pre);
        }
    }
    check_varint_writer(copy, n);
    if (whole == 0) {
        fail_at = (long)(n % 7);
        decode_all(root, copy, n);
        fail_at = -1;
    }
    free(copy);
    return 0;
}

#ifdef FUZZ_MLS_CODEC_SEEDS
/* Seeds: schemas of the shapes RFC 9420 uses, with data that decodes (and some that
 * does not: non-minimal varints, overruns). */
static void write_seed(const char *dir, int k, const uint8_t *schema, size_t sl,
                       const uint8_t *d, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed%02d", dir, k);
    FILE *f = fopen(path, "wb");
    uint8_t l = (uint8_t)sl;
    FUZZ_ASSERT(f != NULL);
    FUZZ_ASSERT(fwrite(&l, 1, 1, f) == 1 && fwrite(schema, 1, sl, f) == sl);
    FUZZ_ASSERT(n == 0 || fwrite(d, 1, n, f) == n);
    FUZZ_ASSERT(fclose(f) == 0);
}

int main(int argc, char **argv)
{
    /* kind | param << 4 */
#define N(kind, param) (uint8_t)((kind) | (param) << 4)
    static const struct {
        uint8_t schema[16];
        size_t sl;
        uint8_t d[48];
        size_t n;
    } seeds[] = {
        { { N(K_VARINT, 0) }, 1, { 0x25 }, 1 },
        { { N(K_VARINT, 0) }, 1, { 0x40, 0x25 }, 2 },           /* not minimal */
        { { N(K_VARINT, 0) }, 1, { 0x7b, 0xbd }, 2 },
        { { N(K_VARINT, 0) }, 1, { 0x80, 0x00, 0x3f, 0xff }, 4 }, /* not minimal */
        { { N(K_VARINT, 0) }, 1, { 0x9d, 0x7f, 0x3e, 0x7d }, 4 },
        { { N(K_VARINT, 0) }, 1, { 0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c }, 8 },
        { { N(K_U8, 0), N(K_U16, 0), N(K_U32, 0), N(K_U64, 0) }, 4,
          { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }, 15 },
        { { N(K_OPAQUE, 0) }, 1, { 3, 'a', 'b', 'c' }, 4 },
        { { N(K_OPAQUE, 0) }, 1, { 4, 'a', 'b', 'c' }, 4 },      /* overrun */
        { { N(K_OPAQUE_N, 4) }, 1, { 4, 1, 2, 3, 4 }, 5 },
        { { N(K_FIXED, 3), N(K_OPTIONAL, 0), N(K_U16, 0) }, 3, { 9, 9, 9, 1, 0xab, 0xcd }, 6 },
        { { N(K_OPTIONAL, 0), N(K_OPAQUE, 0) }, 2, { 0 }, 1 },
        { { N(K_OPTIONAL, 0), N(K_OPAQUE, 0) }, 2, { 2 }, 1 },   /* bad optional byte */
        { { N(K_LIST, 0), N(K_U16, 0), 0xff }, 3, { 6, 0, 1, 0, 2, 0, 3 }, 7 },
        { { N(K_LIST, 0), N(K_U16, 0), 0xff }, 3, { 5, 0, 1, 0, 2, 0 }, 6 }, /* ragged */
        /* Extension extensions<V>: { uint16 type; opaque data<V>; } */
        { { N(K_LIST, 0), N(K_U16, 0), N(K_OPAQUE, 0), 0xff }, 4,
          { 9, 0, 2, 1, 0xaa, 0, 5, 2, 0xbb, 0xcc }, 10 },
        /* optional<Node> ratchet_tree<V> with nested vectors */
        { { N(K_LIST, 0), N(K_OPTIONAL, 0), N(K_VECTOR, 0), N(K_OPAQUE, 0), N(K_LIST, 0),
            N(K_VARINT, 0), 0xff, 0xff, 0xff }, 9,
          { 9, 1, 6, 2, 0xde, 0xad, 2, 1, 2, 0 }, 10 },
        { { N(K_VECTOR, 0), N(K_VECTOR, 0), N(K_U8, 0), 0xff, 0xff }, 5, { 2, 1, 7 }, 3 },
        { { N(K_VECTOR, 0), N(K_OPAQUE, 0), 0xff, N(K_U32, 0) }, 4,
          { 0x40, 0x42, 0x40, 0x40, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
            'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
            'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x' }, 48 },
        { { 0 }, 0, { 0, 0x3f, 0xff, 0xff, 0xff, 0x40, 0x00, 0x00, 0x00 }, 9 },
    };
#undef N
    if (argc != 2)
        return 2;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        write_seed(argv[1], (int)i, seeds[i].schema, seeds[i].sl, seeds[i].d, seeds[i].n);
    /* a long opaque (2-byte length) and a list with a 4-byte length */
    static uint8_t big[4 + 16995];
    static const uint8_t op[1] = { K_OPAQUE }, lst[3] = { K_LIST, K_FIXED | 15 << 4, 0xff };
    big[0] = 0x40 | 300 >> 8;
    big[1] = 300 & 0xff;
    write_seed(argv[1], 90, op, 1, big, 302);
    memset(big, 0, 4);
    big[0] = 0x80;
    big[2] = 16995 >> 8; /* 1133 elements of 15 bytes */
    big[3] = 16995 & 0xff;
    write_seed(argv[1], 91, lst, 3, big, sizeof big);
    return 0;
}
#endif
