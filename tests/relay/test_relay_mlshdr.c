/* test_relay_mlshdr: the relay's MLS header parser on real messages made by shared/mls
 * (application PrivateMessage, member proposal and commit as PublicMessage, a commit as
 * PrivateMessage, an external commit, GroupInfo and KeyPackage refused), then every
 * truncation of each, single-bit flips of the header fields, and hand-made edge cases
 * (varint encodings, group_id bounds, sender/content combinations, trailing bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "mls_group.h"
#include "relay_mlshdr.h"

#define NOW 1800000000u

static const uint8_t GID[16] = "room-id-16-bytes";

/* Every proper prefix of a message must fail; the header fields must never be read past
 * the end (ASan in the sanitizer build). A PrivateMessage is parsed to its end, so every
 * prefix is an error; a PublicMessage's body is not parsed, so prefixes that keep the
 * header and at least one body byte parse. */
static void check_truncations(const mls_bytes *msg, size_t header_len)
{
    relay_mlshdr h;
    for (size_t n = 0; n < msg->len; n++) {
        relay_mlshdr_err rc = relay_mlshdr_parse(msg->p, n, &h);
        if (n <= header_len) {
            CHECK(rc != RELAY_MLSHDR_OK);
            CHECK(h.group_id == NULL && h.epoch == 0);
        }
    }
}

/* Offset just past content_type of a PublicMessage from a member. */
static size_t public_header_len(const relay_mlshdr *h, const uint8_t *p, size_t aad_len)
{
    size_t off = 4 + 1 + h->group_id_len + 8 + 1;
    if (h->sender_type == RELAY_MLSHDR_MEMBER || h->sender_type == RELAY_MLSHDR_EXTERNAL)
        off += 4;
    off += (aad_len < 64 ? 1 : aad_len < 16384 ? 2 : 4) + aad_len + 1;
    (void)p;
    return off;
}

static void check_real(void)
{
    uint8_t seed_a[MLS_SIG_SEED_LEN], seed_b[MLS_SIG_SEED_LEN];
    mls_group *a = NULL, *b = NULL;
    mls_bytes msg = {0}, gi = {0}, ext = {0};
    relay_mlshdr h;

    randombytes_buf(seed_a, sizeof seed_a);
    randombytes_buf(seed_b, sizeof seed_b);
    mls_identity ia = {(const uint8_t *)"alice", 5, seed_a};
    mls_identity ib = {(const uint8_t *)"bob", 3, seed_b};
    CHECK_EQ(mls_group_create(&a, GID, sizeof GID, &ia, NULL, 0, NOW, NULL), 0);
    if (!a)
        return;

    /* application message: PrivateMessage, epoch 0 */
    CHECK_EQ(mls_group_protect(a, (const uint8_t *)"hello", 5, (const uint8_t *)"ad", 2, NULL,
                               &msg), 0);
    CHECK_EQ(relay_mlshdr_parse(msg.p, msg.len, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(h.wire_format, RELAY_MLSHDR_PRIVATE);
    CHECK_EQ(h.group_id_len, sizeof GID);
    CHECK(h.group_id && memcmp(h.group_id, GID, sizeof GID) == 0);
    CHECK_EQ(h.epoch, 0);
    CHECK_EQ(h.content_type, RELAY_MLSHDR_APPLICATION);
    CHECK_EQ(h.sender_type, RELAY_MLSHDR_SENDER_NONE);
    CHECK(!relay_mlshdr_is_commit(&h));
    check_truncations(&msg, msg.len);
    /* one byte more is trailing garbage */
    {
        uint8_t *longer = malloc(msg.len + 1);
        memcpy(longer, msg.p, msg.len);
        longer[msg.len] = 0;
        CHECK_EQ(relay_mlshdr_parse(longer, msg.len + 1, &h), RELAY_MLSHDR_E_TRAILING);
        free(longer);
    }
    mls_bytes_free(&msg);

    /* a proposal from a member: PublicMessage */
    CHECK_EQ(mls_group_propose_update(a, 0, NULL, &msg), 0);
    CHECK_EQ(relay_mlshdr_parse(msg.p, msg.len, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(h.wire_format, RELAY_MLSHDR_PUBLIC);
    CHECK_EQ(h.sender_type, RELAY_MLSHDR_MEMBER);
    CHECK_EQ(h.sender_index, 0);
    CHECK_EQ(h.content_type, RELAY_MLSHDR_PROPOSAL);
    CHECK_EQ(h.epoch, 0);
    check_truncations(&msg, public_header_len(&h, msg.p, 0));
    mls_bytes_free(&msg);
    mls_group_clear_proposals(a);

    /* a commit (PublicMessage), merged: epoch 1 */
    mls_commit_opts co = {0};
    co.force_path = 1;
    mls_commit_out out = {0};
    CHECK_EQ(mls_group_commit(a, &co, NOW, NULL, &out), 0);
    CHECK_EQ(relay_mlshdr_parse(out.commit.p, out.commit.len, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(h.wire_format, RELAY_MLSHDR_PUBLIC);
    CHECK_EQ(h.sender_type, RELAY_MLSHDR_MEMBER);
    CHECK_EQ(h.content_type, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(h.epoch, 0);
    CHECK(relay_mlshdr_is_commit(&h));
    check_truncations(&out.commit, public_header_len(&h, out.commit.p, 0));
    /* flip every bit of the header: either an error or a parse that differs in the
     * field flipped; never a crash */
    size_t hl = public_header_len(&h, out.commit.p, 0);
    for (size_t i = 0; i < hl; i++)
        for (int bit = 0; bit < 8; bit++) {
            relay_mlshdr g;
            out.commit.p[i] ^= (uint8_t)(1u << bit);
            relay_mlshdr_err rc = relay_mlshdr_parse(out.commit.p, out.commit.len, &g);
            if (i < 2)
                CHECK_EQ(rc, RELAY_MLSHDR_E_VERSION);
            else if (i < 4)
                CHECK(rc == RELAY_MLSHDR_E_WIRE_FORMAT ||
                      (rc == RELAY_MLSHDR_OK && g.wire_format == RELAY_MLSHDR_PRIVATE) ||
                      rc == RELAY_MLSHDR_E_TRAILING || rc == RELAY_MLSHDR_E_SHORT ||
                      rc == RELAY_MLSHDR_E_VARINT || rc == RELAY_MLSHDR_E_CONTENT_TYPE);
            else if (i >= 5 && i < 5 + sizeof GID)
                CHECK(rc == RELAY_MLSHDR_OK && memcmp(g.group_id, GID, sizeof GID) != 0);
            else if (i >= 5 + sizeof GID && i < 13 + sizeof GID)
                CHECK(rc == RELAY_MLSHDR_OK && g.epoch != 0);
            else if (i == hl - 1) /* content_type */
                CHECK(rc == RELAY_MLSHDR_E_CONTENT_TYPE || rc == RELAY_MLSHDR_E_COMBINATION ||
                      (rc == RELAY_MLSHDR_OK && g.content_type == RELAY_MLSHDR_PROPOSAL));
            out.commit.p[i] ^= (uint8_t)(1u << bit);
        }
    CHECK_EQ(relay_mlshdr_parse(out.commit.p, out.commit.len, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(mls_group_commit_merge(a), 0);
    mls_commit_out_free(&out);
    CHECK_EQ(mls_group_epoch(a), 1);

    /* a commit as PrivateMessage: epoch 1, parsed to its end */
    co.as_private = 1;
    CHECK_EQ(mls_group_commit(a, &co, NOW, NULL, &out), 0);
    CHECK_EQ(relay_mlshdr_parse(out.commit.p, out.commit.len, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(h.wire_format, RELAY_MLSHDR_PRIVATE);
    CHECK_EQ(h.content_type, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(h.epoch, 1);
    CHECK(relay_mlshdr_is_commit(&h));
    check_truncations(&out.commit, out.commit.len);
    CHECK_EQ(mls_group_commit_merge(a), 0);
    mls_commit_out_free(&out);

    /* GroupInfo is not a log entry; an external commit from it is (new_member_commit) */
    CHECK_EQ(mls_group_group_info(a, 1, &gi), 0);
    CHECK_EQ(relay_mlshdr_parse(gi.p, gi.len, &h), RELAY_MLSHDR_E_WIRE_FORMAT);
    CHECK_EQ(mls_group_join_external(&b, &ext, gi.p, gi.len, NULL, 0, &ib, UINT32_MAX, NOW,
                                     NULL), 0);
    CHECK_EQ(relay_mlshdr_parse(ext.p, ext.len, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(h.wire_format, RELAY_MLSHDR_PUBLIC);
    CHECK_EQ(h.sender_type, RELAY_MLSHDR_NEW_MEMBER_COMMIT);
    CHECK_EQ(h.content_type, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(h.epoch, 2);
    check_truncations(&ext, public_header_len(&h, ext.p, 0));

    /* a KeyPackage is not a log entry either */
    mls_kp_bundle kp;
    CHECK_EQ(mls_kp_bundle_create(&kp, &ib, NOW, 3600, NULL), 0);
    CHECK_EQ(relay_mlshdr_parse(kp.key_package.p, kp.key_package.len, &h),
             RELAY_MLSHDR_E_WIRE_FORMAT);
    mls_kp_bundle_free(&kp);

    mls_bytes_free(&gi);
    mls_bytes_free(&ext);
    mls_group_free(a);
    mls_group_free(b);
}

/* Builds a PublicMessage header: version, wire format, group_id (gid_len bytes, length
 * encoded in vlen bytes), epoch, sender, empty aad, content type, one body byte. */
static size_t build_public(uint8_t *p, size_t gid_len, int vlen, uint8_t sender, uint8_t ct)
{
    size_t o = 0;
    p[o++] = 0; p[o++] = 1; p[o++] = 0; p[o++] = 1;
    if (vlen == 1) {
        p[o++] = (uint8_t)gid_len;
    } else if (vlen == 2) {
        p[o++] = (uint8_t)(0x40 | (gid_len >> 8));
        p[o++] = (uint8_t)gid_len;
    } else {
        p[o++] = 0x80; p[o++] = 0; p[o++] = (uint8_t)(gid_len >> 8); p[o++] = (uint8_t)gid_len;
    }
    memset(p + o, 'g', gid_len);
    o += gid_len;
    for (int i = 0; i < 7; i++)
        p[o++] = 0;
    p[o++] = 7; /* epoch 7 */
    p[o++] = sender;
    if (sender == RELAY_MLSHDR_MEMBER || sender == RELAY_MLSHDR_EXTERNAL) {
        p[o++] = 0; p[o++] = 0; p[o++] = 1; p[o++] = 2;
    }
    p[o++] = 0; /* aad */
    p[o++] = ct;
    p[o++] = 0xAA; /* body */
    return o;
}

static void check_crafted(void)
{
    uint8_t p[600];
    relay_mlshdr h;
    size_t n;

    n = build_public(p, 16, 1, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(h.epoch, 7);
    CHECK_EQ(h.sender_index, 0x102);
    /* header ends right after content_type: the body is missing */
    CHECK_EQ(relay_mlshdr_parse(p, n - 1, &h), RELAY_MLSHDR_E_SHORT);
    /* a length of 16 in two bytes is not minimal; 100 in two bytes is */
    n = build_public(p, 16, 2, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_VARINT);
    n = build_public(p, 100, 2, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(h.group_id_len, 100);
    n = build_public(p, 100, 4, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_VARINT);
    /* the 8-byte varint prefix is not MLS */
    n = build_public(p, 16, 1, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    p[4] = 0xC0;
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_VARINT);
    /* a length past the end */
    p[4] = 0x3F;
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_SHORT);
    /* group_id bounds */
    n = build_public(p, 0, 1, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_GROUP_ID);
    n = build_public(p, 255, 2, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_OK);
    n = build_public(p, 256, 2, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_GROUP_ID);
    /* version, wire format */
    n = build_public(p, 16, 1, RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_COMMIT);
    p[1] = 2;
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_VERSION);
    p[1] = 1;
    for (uint8_t wf = 3; wf <= 6; wf++) {
        p[3] = wf;
        CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_WIRE_FORMAT);
    }
    p[3] = 0;
    CHECK_EQ(relay_mlshdr_parse(p, n, &h), RELAY_MLSHDR_E_WIRE_FORMAT);
    /* senders and content types */
    static const struct { uint8_t sender, ct; relay_mlshdr_err rc; } combos[] = {
        {RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_APPLICATION, RELAY_MLSHDR_E_COMBINATION},
        {RELAY_MLSHDR_MEMBER, RELAY_MLSHDR_PROPOSAL, RELAY_MLSHDR_OK},
        {RELAY_MLSHDR_EXTERNAL, RELAY_MLSHDR_PROPOSAL, RELAY_MLSHDR_OK},
        {RELAY_MLSHDR_EXTERNAL, RELAY_MLSHDR_COMMIT, RELAY_MLSHDR_E_COMBINATION},
        {RELAY_MLSHDR_NEW_MEMBER_PROPOSAL, RELAY_MLSHDR_PROPOSAL, RELAY_MLSHDR_OK},
        {RELAY_MLSHDR_NEW_MEMBER_PROPOSAL, RELAY_MLSHDR_COMMIT, RELAY_MLSHDR_E_COMBINATION},
        {RELAY_MLSHDR_NEW_MEMBER_COMMIT, RELAY_MLSHDR_COMMIT, RELAY_MLSHDR_OK},
        {RELAY_MLSHDR_NEW_MEMBER_COMMIT, RELAY_MLSHDR_PROPOSAL, RELAY_MLSHDR_E_COMBINATION},
        {RELAY_MLSHDR_NEW_MEMBER_COMMIT, RELAY_MLSHDR_APPLICATION, RELAY_MLSHDR_E_COMBINATION},
        {0, RELAY_MLSHDR_COMMIT, RELAY_MLSHDR_E_SENDER},
        {5, RELAY_MLSHDR_COMMIT, RELAY_MLSHDR_E_SENDER},
        {RELAY_MLSHDR_MEMBER, 0, RELAY_MLSHDR_E_CONTENT_TYPE},
        {RELAY_MLSHDR_MEMBER, 4, RELAY_MLSHDR_E_CONTENT_TYPE},
    };
    for (size_t i = 0; i < sizeof combos / sizeof combos[0]; i++) {
        n = build_public(p, 16, 1, combos[i].sender, combos[i].ct);
        CHECK_EQ(relay_mlshdr_parse(p, n, &h), combos[i].rc);
        if (combos[i].rc == RELAY_MLSHDR_OK)
            CHECK_EQ(h.sender_type, combos[i].sender);
    }
    /* PrivateMessage by hand: an unknown content type, and empty vectors are fine */
    uint8_t q[] = {0, 1, 0, 2, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0};
    CHECK_EQ(relay_mlshdr_parse(q, sizeof q, &h), RELAY_MLSHDR_OK);
    CHECK_EQ(h.epoch, 9);
    q[14] = 4;
    CHECK_EQ(relay_mlshdr_parse(q, sizeof q, &h), RELAY_MLSHDR_E_CONTENT_TYPE);
    CHECK_EQ(relay_mlshdr_parse(NULL, 0, &h), RELAY_MLSHDR_E_SHORT);
    for (int e = 0; e >= -9; e--)
        CHECK(strlen(relay_mlshdr_strerror((relay_mlshdr_err)e)) > 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    check_real();
    check_crafted();
    return check_finish("test_relay_mlshdr");
}
