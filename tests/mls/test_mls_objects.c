/*
 * test_mls_objects: the MLS object codecs against hostile and edge-case input.
 *   - every prefix of encodings from messages.json fails with MLS_E_DECODE, a trailing
 *     byte is rejected, and the full encoding round-trips;
 *   - every allocation failure of a decode / re-encode gives MLS_E_NOMEM and leaks
 *     nothing;
 *   - bad optional bytes, enum values, registry values, non-minimal varints, duplicate
 *     extensions, over-long lists and non-zero padding are rejected with their codes;
 *   - signatures (LeafNode, KeyPackage, GroupInfo), KeyPackage validation, the ratchet
 *     tree shape check, copies and the extension list helpers.
 * Usage: test_mls_objects PATH/messages.json
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_hpke.h"
#include "mls_message.h"
#include "mo_roundtrip.h"
#include "mv.h"
#include "mv_json.h"

static const struct {
    const char *key;
    int kind;
} fields[] = {
    { "mls_welcome", MO_MESSAGE },
    { "mls_group_info", MO_MESSAGE },
    { "mls_key_package", MO_MESSAGE },
    { "ratchet_tree", MO_RATCHET_TREE },
    { "group_secrets", MO_GROUP_SECRETS },
    { "add_proposal", MO_ADD },
    { "update_proposal", MO_UPDATE },
    { "remove_proposal", MO_REMOVE },
    { "pre_shared_key_proposal", MO_PSK },
    { "re_init_proposal", MO_REINIT },
    { "external_init_proposal", MO_EXTERNAL_INIT },
    { "group_context_extensions_proposal", MO_GROUP_CONTEXT_EXTENSIONS },
    { "commit", MO_COMMIT },
    { "public_message_application", MO_MESSAGE },
    { "public_message_proposal", MO_MESSAGE },
    { "public_message_commit", MO_MESSAGE },
    { "private_message", MO_MESSAGE },
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* Every PREFIX_STRIDE-th case gets the every-prefix treatment. */
#ifndef PREFIX_STRIDE
#define PREFIX_STRIDE 5
#endif

/* ---- counting / failing allocator -------------------------------------------------- */

static size_t g_allocs, g_live, g_fail_at;

static void *count_alloc(void *ctx, size_t n)
{
    (void)ctx;
    g_allocs++;
    if (g_fail_at && g_allocs == g_fail_at)
        return NULL;
    void *p = malloc(n);
    if (p)
        g_live++;
    return p;
}

static void count_release(void *ctx, void *p)
{
    (void)ctx;
    g_live--;
    free(p);
}

static const mls_alloc_hooks counting = { count_alloc, count_release, NULL };

/* ---- helpers ----------------------------------------------------------------------- */

static int rt(int kind, const uint8_t *p, size_t n)
{
    mls_buf out = { 0 };
    int rc = mo_roundtrip(kind, p, n, &out, NULL);
    mls_buf_free(&out);
    return rc;
}

/* A copy of p with byte i set to v, round-tripped as kind. */
static int rt_patched(int kind, const uint8_t *p, size_t n, size_t i, uint8_t v)
{
    uint8_t *q = malloc(n);
    memcpy(q, p, n);
    q[i] = v;
    int rc = rt(kind, q, n);
    free(q);
    return rc;
}

/* Skips an opaque<V> / vector at *off in p; 0 or -1. */
static int skip_vec(const uint8_t *p, size_t n, size_t *off)
{
    mls_rd r;
    mls_slice s;
    mls_rd_init(&r, p, n);
    r.off = *off;
    if (mls_rd_opaque(&r, &s))
        return -1;
    *off = r.off;
    return 0;
}

/* ---- every prefix, trailing byte, round trip ---------------------------------------- */

static void test_prefixes(const mv_json *doc)
{
    size_t cases = 0, reported = 0;
    for (size_t c = 0; c < doc->n; c += PREFIX_STRIDE) {
        cases++;
        for (size_t f = 0; f < N_FIELDS; f++) {
            uint8_t *p = NULL;
            size_t n = 0;
            if (mv_hex(&doc->items[c], fields[f].key, &p, &n)) {
                CHECK(!"field missing");
                continue;
            }
            mls_buf out = { 0 };
            CHECK_EQ(mo_roundtrip(fields[f].kind, p, n, &out, NULL), 0);
            CHECK(out.len == n && memcmp(out.p, p, n) == 0);
            mls_buf_free(&out);
            for (size_t len = 0; len < n; len++) {
                int rc = rt(fields[f].kind, p, len);
                if (rc != MLS_E_DECODE && reported++ < 10) {
                    fprintf(stderr, "case %zu %s: prefix of %zu/%zu bytes gives %d\n", c,
                            fields[f].key, len, n, rc);
                    CHECK(!"prefix not rejected with MLS_E_DECODE");
                }
            }
            uint8_t *q = malloc(n + 1);
            memcpy(q, p, n);
            q[n] = 0;
            CHECK_EQ(rt(fields[f].kind, q, n + 1), MLS_E_DECODE);
            free(q);
            free(p);
        }
    }
    CHECK(cases >= doc->n / PREFIX_STRIDE);
}

/* ---- allocation failures ------------------------------------------------------------ */

static void test_alloc_failures(const mv_json *doc)
{
    mls_alloc_set_hooks(&counting);
    for (size_t f = 0; f < N_FIELDS; f++) {
        uint8_t *p = NULL;
        size_t n = 0;
        if (mv_hex(&doc->items[1], fields[f].key, &p, &n)) {
            CHECK(!"field missing");
            continue;
        }
        g_fail_at = 0;
        g_allocs = 0;
        CHECK_EQ(rt(fields[f].kind, p, n), 0);
        CHECK_EQ(g_live, 0);
        size_t total = g_allocs;
        CHECK(total > 0);
        for (size_t k = 1; k <= total; k++) {
            g_allocs = 0;
            g_fail_at = k;
            int rc = rt(fields[f].kind, p, n);
            if (rc != MLS_E_NOMEM || g_live != 0) {
                fprintf(stderr, "%s: allocation %zu of %zu failed: rc %d, %zu blocks live\n",
                        fields[f].key, k, total, rc, g_live);
                CHECK(!"allocation failure not clean");
                break;
            }
        }
        g_fail_at = 0;
        free(p);
    }
    mls_alloc_set_hooks(NULL);
}

/* ---- mutations ---------------------------------------------------------------------- */

/* Offset of FramedContent's sender_type and content_type in an MLSMessage holding a
 * PublicMessage; 0 on success. */
static int framed_offsets(const uint8_t *p, size_t n, size_t *sender, size_t *ctype)
{
    size_t off = 4;
    if (skip_vec(p, n, &off))
        return -1;
    off += 8;
    *sender = off;
    if (off >= n)
        return -1;
    off += (p[off] == MLS_SENDER_MEMBER || p[off] == MLS_SENDER_EXTERNAL) ? 5 : 1;
    if (skip_vec(p, n, &off) || off >= n)
        return -1;
    *ctype = off;
    return 0;
}

static void test_enums(const mv_json *doc)
{
    static const char *const msgs[] = { "mls_welcome", "mls_group_info", "mls_key_package",
                                        "public_message_commit", "private_message" };
    size_t node_type_checked = 0;
    for (size_t c = 0; c < doc->n; c += 30) {
        const mv_json *tc = &doc->items[c];
        uint8_t *p;
        size_t n;
        for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
            if (mv_hex(tc, msgs[i], &p, &n))
                continue;
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, 1, 2), MLS_E_UNSUPPORTED); /* version */
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, 1, 0), MLS_E_UNSUPPORTED);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, 3, 6), MLS_E_UNSUPPORTED); /* wire fmt */
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, 3, 0), MLS_E_UNSUPPORTED);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, 2, 1), MLS_E_UNSUPPORTED);
            free(p);
        }
        /* PublicMessage: sender type and content type. */
        if (mv_hex(tc, "public_message_proposal", &p, &n) == 0) {
            size_t s = 0, ct = 0;
            CHECK_EQ(framed_offsets(p, n, &s, &ct), 0);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, s, 0), MLS_E_DECODE);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, s, 5), MLS_E_DECODE);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, ct, 0), MLS_E_DECODE);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, ct, 4), MLS_E_DECODE);
            /* proposal_type follows content_type: unknown types cannot be parsed */
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, ct + 2, 8), MLS_E_UNSUPPORTED);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, ct + 1, 0x0a), MLS_E_UNSUPPORTED);
            free(p);
        }
        /* PrivateMessage content type. */
        if (mv_hex(tc, "private_message", &p, &n) == 0) {
            size_t off = 4;
            CHECK_EQ(skip_vec(p, n, &off), 0);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, off + 8, 4), MLS_E_DECODE);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, off + 8, 0), MLS_E_DECODE);
            free(p);
        }
        /* Commit: optional<UpdatePath> byte and ProposalOrRef type. */
        if (mv_hex(tc, "commit", &p, &n) == 0) {
            size_t off = 0;
            CHECK_EQ(skip_vec(p, n, &off), 0);
            CHECK_EQ(rt_patched(MO_COMMIT, p, n, off, 2), MLS_E_DECODE);
            CHECK_EQ(rt_patched(MO_COMMIT, p, n, off, 0xff), MLS_E_DECODE);
            size_t first = p[0] < 0x40 ? 1 : p[0] < 0x80 ? 2 : 4;
            if (off > first) {
                CHECK_EQ(rt_patched(MO_COMMIT, p, n, first, 0), MLS_E_DECODE);
                CHECK_EQ(rt_patched(MO_COMMIT, p, n, first, 3), MLS_E_DECODE);
            }
            free(p);
        }
        /* GroupSecrets: optional<PathSecret> byte. */
        if (mv_hex(tc, "group_secrets", &p, &n) == 0) {
            size_t off = 0;
            CHECK_EQ(skip_vec(p, n, &off), 0);
            CHECK_EQ(rt_patched(MO_GROUP_SECRETS, p, n, off, 2), MLS_E_DECODE);
            free(p);
        }
        /* ratchet_tree: optional<Node> byte and node type. */
        if (mv_hex(tc, "ratchet_tree", &p, &n) == 0) {
            size_t first = p[0] < 0x40 ? 1 : p[0] < 0x80 ? 2 : 4;
            CHECK_EQ(rt_patched(MO_RATCHET_TREE, p, n, first, 2), MLS_E_DECODE);
            if (p[first] == 1) {
                CHECK_EQ(rt_patched(MO_RATCHET_TREE, p, n, first + 1, 0), MLS_E_DECODE);
                CHECK_EQ(rt_patched(MO_RATCHET_TREE, p, n, first + 1, 3), MLS_E_DECODE);
                node_type_checked++;
            }
            free(p);
        }
        /* KeyPackage: credential type and leaf_node_source. */
        if (mv_hex(tc, "mls_key_package", &p, &n) == 0) {
            size_t off = 8;
            CHECK_EQ(skip_vec(p, n, &off), 0); /* init_key */
            size_t ln = off;
            CHECK_EQ(skip_vec(p, n, &off), 0); /* encryption_key */
            CHECK_EQ(skip_vec(p, n, &off), 0); /* signature_key */
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, off + 1, 0), MLS_E_UNSUPPORTED);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, off + 1, 3), MLS_E_UNSUPPORTED);
            mls_rd r;
            mls_credential cred;
            mls_capabilities caps;
            mls_rd_init(&r, p, n);
            r.off = off;
            CHECK_EQ(mls_credential_decode(&r, &cred), 0);
            CHECK_EQ(mls_capabilities_decode(&r, &caps), 0);
            mls_credential_free(&cred);
            mls_capabilities_free(&caps);
            CHECK_EQ(p[r.off], MLS_LEAF_SOURCE_KEY_PACKAGE);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, r.off, 0), MLS_E_DECODE);
            CHECK_EQ(rt_patched(MO_MESSAGE, p, n, r.off, 4), MLS_E_DECODE);
            /* the same bytes as a LeafNode alone: a key_package source round-trips */
            mls_leaf_node leaf;
            mls_rd_init(&r, p, n);
            r.off = ln;
            CHECK_EQ(mls_leaf_node_decode(&r, &leaf), 0);
            CHECK_EQ(leaf.leaf_node_source, MLS_LEAF_SOURCE_KEY_PACKAGE);
            mls_leaf_node_free(&leaf);
            free(p);
        }
        /* A non-minimal varint: ExternalInit's kem_output length in two bytes. */
        if (mv_hex(tc, "external_init_proposal", &p, &n) == 0) {
            CHECK(p[0] < 0x40);
            uint8_t *q = malloc(n + 1);
            q[0] = 0x40;
            memcpy(q + 1, p, n);
            CHECK_EQ(rt(MO_EXTERNAL_INIT, q, n + 1), MLS_E_DECODE);
            free(q);
            free(p);
        }
    }
    CHECK(node_type_checked > 0);

    /* The vectors' commits hold references only: an inline Remove, then its type. */
    static const uint8_t inl[] = { 0x07, MLS_POR_PROPOSAL, 0x00, 0x03, 0, 0, 0, 5, 0x00 };
    mls_commit cm;
    CHECK_EQ(mls_commit_decode_all(inl, sizeof inl, &cm), 0);
    CHECK(cm.n_proposals == 1 && cm.proposals[0].proposal.proposal_type == MLS_PROPOSAL_REMOVE &&
          cm.proposals[0].proposal.remove == 5 && !cm.has_path);
    mls_commit_free(&cm);
    CHECK_EQ(rt(MO_COMMIT, inl, sizeof inl), 0);
    CHECK_EQ(rt_patched(MO_COMMIT, inl, sizeof inl, 3, 0x08), MLS_E_UNSUPPORTED);
    CHECK_EQ(rt_patched(MO_COMMIT, inl, sizeof inl, 3, 0x00), MLS_E_UNSUPPORTED);
    CHECK_EQ(rt_patched(MO_COMMIT, inl, sizeof inl, 2, 0x0a), MLS_E_UNSUPPORTED);
}

static void test_duplicate_extensions(const mv_json *doc)
{
    static const uint8_t dup[] = { 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00 };
    static const uint8_t two[] = { 0x06, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00 };
    CHECK_EQ(rt(MO_EXTENSIONS, dup, sizeof dup), MLS_E_INVALID);
    CHECK_EQ(rt(MO_EXTENSIONS, two, sizeof two), 0);
    CHECK_EQ(rt(MO_GROUP_CONTEXT_EXTENSIONS, dup, sizeof dup), MLS_E_INVALID);

    /* A list of 40 (the bitmap path of the duplicate check), then with one repeat. */
    uint8_t big[1 + 40 * 3 + 4];
    size_t off = 0;
    big[off++] = 40 * 3 < 64 ? 40 * 3 : 0x40;
    big[off++] = 40 * 3;
    for (int i = 0; i < 40; i++) {
        big[off++] = 0x10;
        big[off++] = (uint8_t)i;
        big[off++] = 0;
    }
    CHECK_EQ(rt(MO_EXTENSIONS, big, off), 0);
    big[2 + 39 * 3 + 1] = 7;
    CHECK_EQ(rt(MO_EXTENSIONS, big, off), MLS_E_INVALID);

    /* Inside a KeyPackage: two distinct extensions, then the second patched in place
     * to the first's type. */
    uint8_t *p;
    size_t n;
    mls_message m;
    CHECK_EQ(mv_hex(&doc->items[0], "mls_key_package", &p, &n), 0);
    CHECK_EQ(mls_message_decode_all(p, n, &m), 0);
    free(p);
    mls_extension_list *el = &m.key_package.extensions;
    mls_extension_list_free(el);
    static const uint8_t zz[] = { 'z', 'z', 'q' };
    CHECK_EQ(mls_extension_list_set(el, 0xfa01, zz, 3), 0);
    CHECK_EQ(mls_extension_list_set(el, 0xfa02, zz, 3), 0);
    mls_buf b = { 0 };
    CHECK_EQ(mls_message_encode(&b, &m), 0);
    static const uint8_t marker[] = { 0xfa, 0x02, 0x03, 'z', 'z', 'q' };
    uint8_t *at = memmem(b.p, b.len, marker, sizeof marker);
    CHECK(at != NULL);
    if (at) {
        CHECK_EQ(rt(MO_MESSAGE, b.p, b.len), 0);
        at[1] = 0x01;
        CHECK_EQ(rt(MO_MESSAGE, b.p, b.len), MLS_E_INVALID);
    }
    mls_buf_free(&b);
    /* The encoder refuses a list with a repeated type. */
    el->items[1].extension_type = 0xfa01;
    CHECK_EQ(mls_message_encode(&b, &m), MLS_E_INVALID);
    mls_buf_free(&b);
    mls_message_free(&m);
    mls_message_free(&m); /* a second free is harmless */
}

static void test_bounds(void)
{
    /* ratchet_tree with MLS_MAX_TREE_NODES + 1 blank entries */
    size_t cnt = MLS_MAX_TREE_NODES + 1;
    uint8_t *t = calloc(1, cnt + 4);
    t[0] = (uint8_t)(0x80 | (cnt >> 24));
    t[1] = (uint8_t)(cnt >> 16);
    t[2] = (uint8_t)(cnt >> 8);
    t[3] = (uint8_t)cnt;
    CHECK_EQ(rt(MO_RATCHET_TREE, t, cnt + 4), MLS_E_DECODE);
    /* the maximum itself decodes (all blank: a bad shape, but well-formed) */
    cnt--;
    t[0] = (uint8_t)(0x80 | (cnt >> 24));
    t[1] = (uint8_t)(cnt >> 16);
    t[2] = (uint8_t)(cnt >> 8);
    t[3] = (uint8_t)cnt;
    mls_node_array a;
    CHECK_EQ(mls_node_array_decode_all(t, cnt + 4, &a), 0);
    CHECK_EQ(a.n, cnt);
    CHECK_EQ(mls_node_array_check_shape(&a), MLS_E_TREE);
    mls_node_array_free(&a);
    free(t);

    /* Commit with MLS_MAX_PROPOSALS + 1 empty references */
    size_t np = MLS_MAX_PROPOSALS + 1, body = np * 2;
    uint8_t *c = malloc(body + 5);
    c[0] = (uint8_t)(0x80 | (body >> 24));
    c[1] = (uint8_t)(body >> 16);
    c[2] = (uint8_t)(body >> 8);
    c[3] = (uint8_t)body;
    for (size_t i = 0; i < np; i++) {
        c[4 + 2 * i] = MLS_POR_REFERENCE;
        c[5 + 2 * i] = 0;
    }
    c[4 + body] = 0; /* no path */
    CHECK_EQ(rt(MO_COMMIT, c, body + 5), MLS_E_DECODE);
    free(c);

    /* u16 and u32 lists of odd byte lengths */
    static const uint8_t rc_odd[] = { 0x01, 0x00, 0x00, 0x00 };
    CHECK_EQ(rt(MO_REQUIRED_CAPABILITIES, rc_odd, sizeof rc_odd), MLS_E_DECODE);
    static const uint8_t rc_ok[] = { 0x02, 0x00, 0x08, 0x00, 0x00 };
    CHECK_EQ(rt(MO_REQUIRED_CAPABILITIES, rc_ok, sizeof rc_ok), 0);
    mls_parent_node pn;
    mls_rd r;
    static const uint8_t pn_odd[] = { 0x00, 0x00, 0x03, 0, 0, 0 };
    mls_rd_init(&r, pn_odd, sizeof pn_odd);
    CHECK_EQ(mls_parent_node_decode(&r, &pn), MLS_E_DECODE);
    static const uint8_t pn_ok[] = { 0x00, 0x00, 0x04, 0, 0, 0, 9 };
    mls_rd_init(&r, pn_ok, sizeof pn_ok);
    CHECK_EQ(mls_parent_node_decode(&r, &pn), 0);
    CHECK_EQ(pn.n_unmerged_leaves, 1);
    CHECK_EQ(pn.unmerged_leaves[0], 9);
    mls_parent_node_free(&pn);
}

/* ---- framing encodings -------------------------------------------------------------- */

static void test_private_content(void)
{
    mls_framed_content fc, out;
    mls_framed_content_auth_data auth, aout;
    memset(&fc, 0, sizeof fc);
    memset(&auth, 0, sizeof auth);
    fc.content_type = MLS_CONTENT_APPLICATION;
    CHECK_EQ(mls_bytes_set(&fc.application_data, (const uint8_t *)"hi", 2), 0);
    CHECK_EQ(mls_bytes_set(&auth.signature, (const uint8_t *)"sig", 3), 0);
    mls_buf b = { 0 };
    CHECK_EQ(mls_private_message_content_encode(&b, &fc, &auth, 5), 0);
    static const uint8_t want[] = { 2, 'h', 'i', 3, 's', 'i', 'g', 0, 0, 0, 0, 0 };
    CHECK(b.len == sizeof want && memcmp(b.p, want, sizeof want) == 0);
    CHECK_EQ(mls_private_message_content_decode(b.p, b.len, MLS_CONTENT_APPLICATION, &out,
                                                &aout), 0);
    CHECK(out.application_data.len == 2 && memcmp(out.application_data.p, "hi", 2) == 0);
    CHECK(aout.signature.len == 3 && aout.confirmation_tag.len == 0);
    mls_framed_content_free(&out);
    mls_framed_content_auth_data_free(&aout);
    /* no padding at all is fine too */
    CHECK_EQ(mls_private_message_content_decode(b.p, 7, MLS_CONTENT_APPLICATION, &out, &aout),
             0);
    mls_framed_content_free(&out);
    mls_framed_content_auth_data_free(&aout);
    b.p[b.len - 1] = 1;
    CHECK_EQ(mls_private_message_content_decode(b.p, b.len, MLS_CONTENT_APPLICATION, &out,
                                                &aout), MLS_E_PADDING);
    CHECK(out.application_data.p == NULL && aout.signature.p == NULL);
    /* as a commit the same bytes lack a confirmation tag or parse otherwise */
    CHECK(mls_private_message_content_decode(b.p, 7, MLS_CONTENT_COMMIT, &out, &aout) != 0);
    CHECK_EQ(mls_private_message_content_decode(b.p, 7, 0, &out, &aout), MLS_E_DECODE);
    mls_buf_free(&b);

    /* SenderData is exactly 12 bytes */
    mls_sender_data sd = { 7, 9, { 1, 2, 3, 4 } }, sd2;
    CHECK_EQ(mls_sender_data_encode(&b, &sd), 0);
    CHECK_EQ(b.len, MLS_SENDER_DATA_LEN);
    CHECK_EQ(mls_sender_data_decode_all(b.p, b.len, &sd2), 0);
    CHECK(sd2.leaf_index == 7 && sd2.generation == 9 && memcmp(sd2.reuse_guard, "\1\2\3\4", 4) == 0);
    CHECK_EQ(mls_sender_data_decode_all(b.p, b.len - 1, &sd2), MLS_E_DECODE);
    mls_buf_free(&b);

    /* FramedContentTBS needs the GroupContext for a member sender only */
    fc.sender.sender_type = MLS_SENDER_MEMBER;
    CHECK_EQ(mls_framed_content_tbs_encode(&b, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, NULL, 0),
             MLS_E_INVALID);
    mls_buf_free(&b);
    static const uint8_t gc[] = { 0xaa, 0xbb };
    CHECK_EQ(mls_framed_content_tbs_encode(&b, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, gc, 2), 0);
    CHECK(b.len >= 4 && b.p[0] == 0 && b.p[1] == 1 && b.p[3] == 1);
    CHECK(memcmp(b.p + b.len - 2, gc, 2) == 0);
    mls_buf_free(&b);
    fc.sender.sender_type = MLS_SENDER_NEW_MEMBER_PROPOSAL;
    CHECK_EQ(mls_framed_content_tbs_encode(&b, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, NULL, 0), 0);
    mls_buf_free(&b);
    /* ConfirmedTranscriptHashInput is for commits only */
    CHECK_EQ(mls_confirmed_transcript_hash_input_encode(&b, 1, &fc, NULL, 0), MLS_E_INVALID);
    mls_buf_free(&b);
    /* a PublicMessage from a non-member carries no membership tag */
    mls_message m;
    memset(&m, 0, sizeof m);
    m.version = MLS_PROTOCOL_VERSION;
    m.wire_format = MLS_WIRE_FORMAT_PUBLIC_MESSAGE;
    m.public_message.content = fc;
    m.public_message.auth = auth;
    CHECK_EQ(mls_message_encode(&b, &m), 0);
    mls_message m2;
    CHECK_EQ(mls_message_decode_all(b.p, b.len, &m2), 0);
    CHECK_EQ(m2.public_message.membership_tag.p == NULL, 1);
    CHECK_EQ(m2.public_message.content.sender.sender_type, MLS_SENDER_NEW_MEMBER_PROPOSAL);
    mls_message_free(&m2);
    mls_buf_free(&b);
    mls_framed_content_free(&fc);
    mls_framed_content_auth_data_free(&auth);
}

/* ---- signatures and validation ------------------------------------------------------ */

static void make_key_package(mls_key_package *kp, uint8_t seed[MLS_SIG_SEED_LEN])
{
    uint8_t pub[MLS_SIG_PUB_LEN], sk[MLS_KEM_SK_LEN], pk[MLS_KEM_PK_LEN];
    memset(kp, 0, sizeof *kp);
    mls_sig_keygen(NULL, seed, pub);
    kp->version = MLS_PROTOCOL_VERSION;
    kp->cipher_suite = MLS_CIPHER_SUITE;
    CHECK_EQ(mls_hpke_keygen(NULL, sk, pk), 0);
    CHECK_EQ(mls_bytes_set(&kp->init_key, pk, sizeof pk), 0);
    CHECK_EQ(mls_hpke_keygen(NULL, sk, pk), 0);
    mls_leaf_node *ln = &kp->leaf_node;
    CHECK_EQ(mls_bytes_set(&ln->encryption_key, pk, sizeof pk), 0);
    CHECK_EQ(mls_bytes_set(&ln->signature_key, pub, sizeof pub), 0);
    CHECK_EQ(mls_credential_init_basic(&ln->credential, (const uint8_t *)"alice", 5), 0);
    CHECK_EQ(mls_capabilities_init_default(&ln->capabilities), 0);
    ln->leaf_node_source = MLS_LEAF_SOURCE_KEY_PACKAGE;
    ln->lifetime.not_before = 1000;
    ln->lifetime.not_after = 2000;
    CHECK_EQ(mls_leaf_node_sign(ln, seed, NULL, 0, 0), 0);
    CHECK_EQ(mls_key_package_sign(kp, seed), 0);
}

static void test_signatures(void)
{
    uint8_t seed[MLS_SIG_SEED_LEN], ref[MLS_HASH_LEN], ref2[MLS_HASH_LEN];
    mls_key_package kp, kp2;
    make_key_package(&kp, seed);
    CHECK_EQ(mls_key_package_validate(&kp, 0), 0);
    CHECK_EQ(mls_key_package_validate(&kp, 1500), 0);
    CHECK_EQ(mls_key_package_validate(&kp, 999), MLS_E_LIFETIME);
    CHECK_EQ(mls_key_package_validate(&kp, 2001), MLS_E_LIFETIME);

    /* The reference of the object and of its bytes agree; the copy is the same. */
    mls_buf b = { 0 };
    CHECK_EQ(mls_key_package_encode(&b, &kp), 0);
    CHECK_EQ(mls_key_package_ref(&kp, ref), 0);
    CHECK_EQ(mls_key_package_ref_bytes(b.p, b.len, ref2), 0);
    CHECK_MEM(ref, ref2, MLS_HASH_LEN);
    CHECK_EQ(mls_key_package_copy(&kp2, &kp), 0);
    CHECK(kp2.init_key.p != kp.init_key.p);
    CHECK_EQ(mls_key_package_ref(&kp2, ref2), 0);
    CHECK_MEM(ref, ref2, MLS_HASH_LEN);
    mls_buf_free(&b);

    /* each failure of 10.1 */
    kp2.signature.p[0] ^= 1;
    CHECK_EQ(mls_key_package_verify(&kp2), MLS_E_SIGNATURE);
    CHECK_EQ(mls_key_package_validate(&kp2, 0), MLS_E_KEY_PACKAGE);
    kp2.signature.p[0] ^= 1;
    kp2.leaf_node.signature.p[5] ^= 1;
    CHECK_EQ(mls_leaf_node_verify(&kp2.leaf_node, NULL, 0, 0), MLS_E_SIGNATURE);
    CHECK_EQ(mls_key_package_validate(&kp2, 0), MLS_E_LEAF_NODE);
    kp2.leaf_node.signature.p[5] ^= 1;
    kp2.cipher_suite = 1;
    CHECK_EQ(mls_key_package_validate(&kp2, 0), MLS_E_UNSUPPORTED);
    kp2.cipher_suite = MLS_CIPHER_SUITE;
    kp2.version = 2;
    CHECK_EQ(mls_key_package_validate(&kp2, 0), MLS_E_UNSUPPORTED);
    kp2.version = MLS_PROTOCOL_VERSION;
    CHECK_EQ(mls_key_package_validate(&kp2, 0), 0);
    /* init_key equal to the leaf's encryption key, re-signed */
    CHECK_EQ(mls_bytes_set(&kp2.init_key, kp2.leaf_node.encryption_key.p,
                           kp2.leaf_node.encryption_key.len), 0);
    CHECK_EQ(mls_key_package_sign(&kp2, seed), 0);
    CHECK_EQ(mls_key_package_verify(&kp2), 0);
    CHECK_EQ(mls_key_package_validate(&kp2, 0), MLS_E_KEY_PACKAGE);
    /* a short init key */
    kp2.init_key.len = 31;
    CHECK_EQ(mls_key_package_validate(&kp2, 0), MLS_E_KEY_PACKAGE);
    kp2.init_key.len = 32;
    mls_key_package_free(&kp2);

    /* An update-source leaf binds group_id and leaf_index. */
    mls_leaf_node ln;
    CHECK_EQ(mls_leaf_node_copy(&ln, &kp.leaf_node), 0);
    ln.leaf_node_source = MLS_LEAF_SOURCE_UPDATE;
    CHECK_EQ(mls_leaf_node_sign(&ln, seed, NULL, 0, 3), MLS_E_INVALID);
    CHECK_EQ(mls_leaf_node_sign(&ln, seed, (const uint8_t *)"grp", 3, 3), 0);
    CHECK_EQ(mls_leaf_node_verify(&ln, (const uint8_t *)"grp", 3, 3), 0);
    CHECK_EQ(mls_leaf_node_verify(&ln, (const uint8_t *)"grp", 3, 4), MLS_E_SIGNATURE);
    CHECK_EQ(mls_leaf_node_verify(&ln, (const uint8_t *)"grq", 3, 3), MLS_E_SIGNATURE);
    CHECK_EQ(mls_leaf_node_check_suite(&ln), 0);
    ln.leaf_node_source = MLS_LEAF_SOURCE_COMMIT;
    CHECK_EQ(mls_bytes_set(&ln.parent_hash, ref, 31), 0);
    CHECK_EQ(mls_leaf_node_check_suite(&ln), MLS_E_LEAF_NODE);
    CHECK_EQ(mls_bytes_set(&ln.parent_hash, ref, 32), 0);
    CHECK_EQ(mls_leaf_node_check_suite(&ln), 0);
    CHECK_EQ(mls_leaf_node_verify(&ln, (const uint8_t *)"grp", 3, 3), MLS_E_SIGNATURE);
    ln.leaf_node_source = 9;
    CHECK_EQ(mls_leaf_node_encode(&b, &ln), MLS_E_INVALID);
    mls_buf_free(&b);
    mls_leaf_node_free(&ln);

    /* GroupInfo sign / verify under the signer's key. */
    mls_group_info gi;
    memset(&gi, 0, sizeof gi);
    gi.group_context.version = MLS_PROTOCOL_VERSION;
    gi.group_context.cipher_suite = MLS_CIPHER_SUITE;
    gi.group_context.epoch = 5;
    CHECK_EQ(mls_bytes_set(&gi.group_context.group_id, (const uint8_t *)"grp", 3), 0);
    CHECK_EQ(mls_bytes_set(&gi.confirmation_tag, ref, sizeof ref), 0);
    gi.signer = 2;
    CHECK_EQ(mls_group_info_sign(&gi, seed), 0);
    const mls_bytes *pub = &kp.leaf_node.signature_key;
    CHECK_EQ(mls_group_info_verify(&gi, pub->p, pub->len), 0);
    gi.signer = 3;
    CHECK_EQ(mls_group_info_verify(&gi, pub->p, pub->len), MLS_E_SIGNATURE);
    CHECK_EQ(mls_group_info_verify(&gi, pub->p, 31), MLS_E_SIGNATURE);
    gi.group_context.version = 2;
    CHECK_EQ(mls_group_info_encode(&b, &gi), MLS_E_INVALID);
    mls_buf_free(&b);
    mls_group_info_free(&gi);
    mls_key_package_free(&kp);
}

/* ---- ratchet tree shape, extension helpers ------------------------------------------ */

static void test_tree_shape(const mv_json *doc)
{
    uint8_t *p;
    size_t n;
    mls_node_array a;
    CHECK_EQ(mv_hex(&doc->items[0], "ratchet_tree", &p, &n), 0);
    CHECK_EQ(mls_node_array_decode_all(p, n, &a), 0);
    free(p);
    CHECK_EQ(mls_node_array_check_shape(&a), 0);
    CHECK(a.n >= 1 && a.nodes[0] != NULL);
    /* a leaf where a parent belongs */
    if (a.n >= 3 && a.nodes[1] && a.nodes[0]) {
        mls_node *t = a.nodes[1];
        a.nodes[1] = a.nodes[0];
        CHECK_EQ(mls_node_array_check_shape(&a), MLS_E_TREE);
        a.nodes[1] = t;
    }
    /* a trailing blank */
    mls_node *last = a.nodes[a.n - 1];
    a.nodes[a.n - 1] = NULL;
    CHECK_EQ(mls_node_array_check_shape(&a), MLS_E_TREE);
    a.nodes[a.n - 1] = last;
    mls_node copy;
    CHECK_EQ(mls_node_copy(&copy, a.nodes[0]), 0);
    CHECK_EQ(copy.node_type, MLS_NODE_TYPE_LEAF);
    mls_node_free(&copy);
    mls_node_array_free(&a);
    static const uint8_t empty[] = { 0 };
    CHECK_EQ(mls_node_array_decode_all(empty, 1, &a), 0);
    CHECK_EQ(mls_node_array_check_shape(&a), MLS_E_TREE);
    mls_node_array_free(&a);
}

static void test_extension_helpers(void)
{
    mls_extension_list l;
    memset(&l, 0, sizeof l);
    CHECK_EQ(mls_extension_list_set(&l, 5, (const uint8_t *)"a", 1), 0);
    CHECK_EQ(mls_extension_list_set(&l, 0x0a0a, (const uint8_t *)"b", 1), 0);
    CHECK_EQ(mls_extension_list_set(&l, 5, (const uint8_t *)"cc", 2), 0);
    CHECK_EQ(l.n, 2);
    const mls_extension *e = mls_extension_list_find(&l, 5);
    CHECK(e && e->extension_data.len == 2);
    CHECK(mls_extension_list_find(&l, 6) == NULL);
    mls_u16_list types = { 0 };
    CHECK_EQ(mls_extension_list_check_types(&l, &types, 1), MLS_E_CAPABILITIES);
    uint16_t grease = 0x0a0a;
    CHECK_EQ(mls_u16_list_set(&types, &grease, 1), 0);
    CHECK_EQ(mls_extension_list_check_types(&l, &types, 1), 0);
    CHECK_EQ(mls_extension_list_check_types(&l, &types, 0), MLS_E_CAPABILITIES);
    mls_u16_list_free(&types);
    CHECK_EQ(mls_extension_list_remove(&l, 5), 0);
    CHECK_EQ(mls_extension_list_remove(&l, 5), MLS_E_NOT_FOUND);
    CHECK_EQ(l.n, 1);
    mls_extension_list_free(&l);

    /* external_senders and external_pub contents round-trip */
    mls_external_senders es;
    memset(&es, 0, sizeof es);
    es.items = calloc(1, sizeof *es.items);
    es.n = 1;
    mls_buf b = { 0 };
    CHECK_EQ(mls_credential_init_basic(&es.items[0].credential, (const uint8_t *)"ds", 2), 0);
    CHECK_EQ(mls_external_senders_encode(&b, &es), 0);
    mls_credential_free(&es.items[0].credential);
    free(es.items);
    CHECK_EQ(rt(MO_EXTERNAL_SENDERS, b.p, b.len), 0);
    mls_external_senders es2;
    CHECK_EQ(mls_external_senders_decode_all(b.p, b.len, &es2), 0);
    CHECK(es2.n == 1 && es2.items[0].credential.identity.len == 2);
    mls_external_senders_free(&es2);
    mls_buf_free(&b);
    uint8_t pub[32] = { 1 };
    CHECK_EQ(mls_ext_external_pub_encode(&b, pub, sizeof pub), 0);
    mls_extension ext = { MLS_EXT_EXTERNAL_PUB, { b.p, b.len } };
    mls_slice s;
    CHECK_EQ(mls_ext_external_pub_decode(&ext, &s), 0);
    CHECK(s.len == 32 && s.p[0] == 1);
    ext.extension_data.len--;
    CHECK_EQ(mls_ext_external_pub_decode(&ext, &s), MLS_E_DECODE);
    mls_buf_free(&b);

    /* x509 credentials keep their certificates; unknown types are unsupported */
    static const uint8_t x509[] = { 0x00, 0x02, 0x05, 0x02, 'a', 'b', 0x01, 'c' };
    mls_credential c;
    CHECK_EQ(mls_credential_decode_all(x509, sizeof x509, &c), 0);
    CHECK_EQ(c.n_certificates, 2);
    CHECK_EQ(mls_credential_encode(&b, &c), 0);
    CHECK(b.len == sizeof x509 && memcmp(b.p, x509, sizeof x509) == 0);
    mls_buf_free(&b);
    mls_credential c2;
    CHECK_EQ(mls_credential_copy(&c2, &c), 0);
    CHECK(mls_credential_eq(&c, &c2));
    mls_credential_free(&c2);
    mls_credential_free(&c);
    static const uint8_t x509_bad[] = { 0x00, 0x02, 0x05, 0x03, 'a', 'b', 0x01, 'c' };
    CHECK_EQ(mls_credential_decode_all(x509_bad, sizeof x509_bad, &c), MLS_E_DECODE);
    static const uint8_t other[] = { 0x00, 0x03, 0x00 };
    CHECK_EQ(mls_credential_decode_all(other, sizeof other, &c), MLS_E_UNSUPPORTED);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_mls_objects PATH/messages.json\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "test_mls_objects: cannot open %s\n", argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len);
    size_t got = fread(text, 1, (size_t)len, f);
    fclose(f);
    char err[256];
    mv_json *doc = mv_json_parse(text, got, err, sizeof err);
    free(text);
    if (!doc || doc->type != MV_J_ARR || doc->n < 2) {
        fprintf(stderr, "test_mls_objects: %s: not the messages vectors (%s)\n", argv[1],
                doc ? "not an array" : err);
        mv_json_free(doc);
        return 1;
    }
    test_prefixes(doc);
    test_alloc_failures(doc);
    test_enums(doc);
    test_duplicate_extensions(doc);
    test_bounds();
    test_private_content();
    test_signatures();
    test_tree_shape(doc);
    test_extension_helpers();
    mv_json_free(doc);
    return check_finish("test_mls_objects");
}
