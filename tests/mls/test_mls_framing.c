/* test_mls_framing: PublicMessage / PrivateMessage protection rejects every tampered
 * byte, the wrong group and epoch, replays, forged signatures and membership tags,
 * application data in a PublicMessage, non-zero padding and far-ahead generations, each
 * with its own error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_framing.h"
#include "mls_message.h"
#include "mls_secrettree.h"

#define EPOCH 5u

static const char group_id[] = "saltchat framing test group";
static uint8_t seeds[2][MLS_SIG_SEED_LEN], pubs[2][MLS_SIG_PUB_LEN];
static uint8_t enc_secret[MLS_HASH_LEN], sds[MLS_HASH_LEN], mkey[MLS_HASH_LEN];
static mls_buf gc;

/* arg: NULL, or a uint32_t leaf to treat as blank. */
static int key_of(void *arg, const mls_framed_content *content, const uint8_t **pub,
                  size_t *pub_len)
{
    if (content->sender.sender_type != MLS_SENDER_MEMBER || content->sender.index > 1)
        return MLS_E_SENDER;
    if (arg != NULL && *(const uint32_t *)arg == content->sender.index)
        return MLS_E_SENDER;
    *pub = pubs[content->sender.index];
    *pub_len = MLS_SIG_PUB_LEN;
    return 0;
}

static void det_fill(void *ctx, uint8_t *out, size_t n)
{
    uint32_t *ctr = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(0xa5 ^ (*ctr)++);
}

static uint32_t rng_ctr;
static mls_rng rng = {det_fill, &rng_ctr};

static mls_framing_ctx make_ctx(mls_secrettree *st)
{
    mls_framing_ctx c;

    memset(&c, 0, sizeof c);
    c.group_id = (const uint8_t *)group_id;
    c.group_id_len = sizeof group_id - 1;
    c.epoch = EPOCH;
    c.group_context = gc.p;
    c.gc_len = gc.len;
    c.membership_key = mkey;
    c.sender_data_secret = sds;
    c.secret_tree = st;
    return c;
}

/* A content of the given type from member leaf: application data, a Remove proposal
 * or an empty commit (with a confirmation tag). */
static void make_content(mls_framed_content *fc, mls_framed_content_auth_data *auth,
                         uint8_t type, uint32_t leaf)
{
    static const uint8_t tag[MLS_HASH_LEN] = {7, 7, 7};

    memset(fc, 0, sizeof *fc);
    memset(auth, 0, sizeof *auth);
    CHECK_EQ(mls_bytes_set(&fc->group_id, (const uint8_t *)group_id, sizeof group_id - 1), 0);
    fc->epoch = EPOCH;
    fc->sender.sender_type = MLS_SENDER_MEMBER;
    fc->sender.index = leaf;
    CHECK_EQ(mls_bytes_set(&fc->authenticated_data, (const uint8_t *)"ad", 2), 0);
    fc->content_type = type;
    if (type == MLS_CONTENT_APPLICATION) {
        CHECK_EQ(mls_bytes_set(&fc->application_data, (const uint8_t *)"hello, group", 12), 0);
    } else if (type == MLS_CONTENT_PROPOSAL) {
        fc->proposal.proposal_type = MLS_PROPOSAL_REMOVE;
        fc->proposal.remove = 0;
    } else {
        CHECK_EQ(mls_bytes_set(&auth->confirmation_tag, tag, sizeof tag), 0);
    }
}

static void free_content(mls_framed_content *fc, mls_framed_content_auth_data *auth)
{
    mls_framed_content_free(fc);
    mls_framed_content_auth_data_free(auth);
}

/* A signed message of type from leaf as wire format wf; PrivateMessages use the next
 * generation of sender_tree. */
static int build(uint16_t wf, uint8_t type, uint32_t leaf, const uint8_t *seed,
                 mls_secrettree *sender_tree, size_t padding, mls_buf *out)
{
    mls_framing_ctx c = make_ctx(sender_tree);
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    int rc;

    make_content(&fc, &auth, type, leaf);
    rc = mls_framing_sign(&c, wf, &fc, seed, &auth);
    if (rc == 0)
        rc = wf == MLS_WIRE_FORMAT_PUBLIC_MESSAGE
                 ? mls_framing_protect_public(&c, &fc, &auth, out)
                 : mls_framing_protect_private(&c, &fc, &auth, padding, &rng, out, NULL);
    free_content(&fc, &auth);
    return rc;
}

static int open_msg(const mls_framing_ctx *c, const mls_buf *m, uint32_t *gen)
{
    mls_authenticated_content ac;
    uint32_t g = 0;
    int rc = mls_framing_unprotect(c, m->p, m->len, key_of, NULL, &ac, &g);

    if (rc == 0 && gen != NULL)
        *gen = g;
    mls_authenticated_content_free(&ac);
    return rc;
}

static void fresh(mls_secrettree *st)
{
    CHECK_EQ(mls_secrettree_init(st, enc_secret, 2), 0);
}

static void test_round_trips(void)
{
    mls_secrettree s, r;
    mls_buf m = {0};
    mls_authenticated_content ac;
    mls_framing_ctx rc_ctx;
    uint32_t gen = 99;

    fresh(&s);
    fresh(&r);
    rc_ctx = make_ctx(&r);
    for (uint8_t type = MLS_CONTENT_APPLICATION; type <= MLS_CONTENT_COMMIT; type++) {
        mls_buf_reset(&m);
        CHECK_EQ(build(MLS_WIRE_FORMAT_PRIVATE_MESSAGE, type, 1, seeds[1], &s, 0, &m), 0);
        CHECK_EQ(mls_framing_unprotect(&rc_ctx, m.p, m.len, key_of, NULL, &ac, &gen), 0);
        CHECK_EQ(ac.wire_format, MLS_WIRE_FORMAT_PRIVATE_MESSAGE);
        CHECK_EQ(ac.content.content_type, type);
        CHECK_EQ(ac.content.sender.index, 1);
        CHECK_EQ(ac.content.epoch, EPOCH);
        CHECK(mls_bytes_eq(ac.content.authenticated_data.p, ac.content.authenticated_data.len,
                           (const uint8_t *)"ad", 2));
        if (type == MLS_CONTENT_APPLICATION)
            CHECK(mls_bytes_eq(ac.content.application_data.p, ac.content.application_data.len,
                               (const uint8_t *)"hello, group", 12));
        /* handshake and application ratchets each start at 0 */
        CHECK_EQ(gen, type == MLS_CONTENT_COMMIT ? 1 : 0);
        mls_authenticated_content_free(&ac);
        /* A replay is refused. */
        CHECK_EQ(open_msg(&rc_ctx, &m, NULL), MLS_E_REPLAY);
    }
    /* With padding: the same content, a longer message. */
    {
        mls_buf p = {0};
        size_t before;

        mls_buf_reset(&m);
        CHECK_EQ(build(MLS_WIRE_FORMAT_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, 1, seeds[1],
                       &s, 0, &m), 0);
        before = m.len;
        CHECK_EQ(build(MLS_WIRE_FORMAT_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, 1, seeds[1],
                       &s, 100, &p), 0);
        CHECK_EQ(p.len, before + 100);
        CHECK_EQ(open_msg(&rc_ctx, &p, &gen), 0);
        CHECK_EQ(gen, 2);
        CHECK_EQ(open_msg(&rc_ctx, &m, &gen), 0); /* out of order, within the window */
        CHECK_EQ(gen, 1);
        mls_buf_free(&p);
    }
    /* PublicMessage proposal and commit. */
    for (uint8_t type = MLS_CONTENT_PROPOSAL; type <= MLS_CONTENT_COMMIT; type++) {
        mls_buf_reset(&m);
        CHECK_EQ(build(MLS_WIRE_FORMAT_PUBLIC_MESSAGE, type, 0, seeds[0], NULL, 0, &m), 0);
        CHECK_EQ(mls_framing_unprotect(&rc_ctx, m.p, m.len, key_of, NULL, &ac, &gen), 0);
        CHECK_EQ(ac.wire_format, MLS_WIRE_FORMAT_PUBLIC_MESSAGE);
        CHECK_EQ(ac.content.content_type, type);
        CHECK_EQ(ac.content.sender.index, 0);
        CHECK_EQ(gen, 0);
        if (type == MLS_CONTENT_COMMIT)
            CHECK_EQ(ac.auth.confirmation_tag.len, MLS_HASH_LEN);
        mls_authenticated_content_free(&ac);
    }
    mls_buf_free(&m);
    mls_secrettree_free(&s);
    mls_secrettree_free(&r);
}

/* Every byte of m flipped (each bit pattern 0x01 and 0x80) is rejected; none of the
 * rejections burns the real message's key, which opens at the end. */
static void flip_every_byte(const mls_buf *m, int is_private)
{
    mls_secrettree r;
    mls_framing_ctx c;
    uint8_t *p = malloc(m->len);
    size_t rejected = 0, tries = 0;

    fresh(&r);
    c = make_ctx(&r);
    memcpy(p, m->p, m->len);
    for (size_t i = 0; i < m->len; i++) {
        static const uint8_t masks[2] = {0x01, 0x80};
        for (int k = 0; k < 2; k++) {
            mls_buf t = {p, m->len, m->len, 0};
            int rc;

            p[i] ^= masks[k];
            rc = open_msg(&c, &t, NULL);
            p[i] ^= masks[k];
            tries++;
            if (rc != 0)
                rejected++;
            else
                fprintf(stderr, "flip of byte %zu (mask %02x) accepted\n", i, masks[k]);
        }
    }
    CHECK_EQ(rejected, tries);
    CHECK_EQ(open_msg(&c, m, NULL), 0);
    if (is_private)
        CHECK_EQ(open_msg(&c, m, NULL), MLS_E_REPLAY);
    free(p);
    mls_secrettree_free(&r);
}

static void test_tampering(void)
{
    mls_secrettree s;
    mls_buf m = {0};

    fresh(&s);
    for (uint8_t type = MLS_CONTENT_APPLICATION; type <= MLS_CONTENT_COMMIT; type++) {
        mls_buf_reset(&m);
        CHECK_EQ(build(MLS_WIRE_FORMAT_PRIVATE_MESSAGE, type, 1, seeds[1], &s, 3, &m), 0);
        /* each flip test uses a fresh receiver, whose ratchet starts at 0: take the
         * sender's generation 0 messages only */
        if (type != MLS_CONTENT_COMMIT)
            flip_every_byte(&m, 1);
    }
    for (uint8_t type = MLS_CONTENT_PROPOSAL; type <= MLS_CONTENT_COMMIT; type++) {
        mls_buf_reset(&m);
        CHECK_EQ(build(MLS_WIRE_FORMAT_PUBLIC_MESSAGE, type, 1, seeds[1], NULL, 0, &m), 0);
        flip_every_byte(&m, 0);
    }
    mls_buf_free(&m);
    mls_secrettree_free(&s);
}

static void test_wrong_group_epoch(void)
{
    static const char other[] = "another group";
    mls_secrettree s, r;
    mls_buf pub = {0}, priv = {0};
    mls_framing_ctx c;

    fresh(&s);
    fresh(&r);
    CHECK_EQ(build(MLS_WIRE_FORMAT_PUBLIC_MESSAGE, MLS_CONTENT_PROPOSAL, 0, seeds[0], NULL, 0,
                   &pub), 0);
    CHECK_EQ(build(MLS_WIRE_FORMAT_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, 1, seeds[1], &s, 0,
                   &priv), 0);
    c = make_ctx(&r);
    c.epoch = EPOCH + 1;
    CHECK_EQ(open_msg(&c, &pub, NULL), MLS_E_EPOCH);
    CHECK_EQ(open_msg(&c, &priv, NULL), MLS_E_EPOCH);
    c.epoch = EPOCH - 1;
    CHECK_EQ(open_msg(&c, &priv, NULL), MLS_E_EPOCH);
    c = make_ctx(&r);
    c.group_id = (const uint8_t *)other;
    c.group_id_len = sizeof other - 1;
    CHECK_EQ(open_msg(&c, &pub, NULL), MLS_E_GROUP_ID);
    CHECK_EQ(open_msg(&c, &priv, NULL), MLS_E_GROUP_ID);
    c.epoch = EPOCH + 1; /* both wrong: the group is reported */
    CHECK_EQ(open_msg(&c, &priv, NULL), MLS_E_GROUP_ID);
    /* None of that consumed anything. */
    c = make_ctx(&r);
    CHECK_EQ(open_msg(&c, &pub, NULL), 0);
    CHECK_EQ(open_msg(&c, &priv, NULL), 0);
    mls_buf_free(&pub);
    mls_buf_free(&priv);
    mls_secrettree_free(&s);
    mls_secrettree_free(&r);
}

static void test_auth_failures(void)
{
    mls_secrettree s, r;
    mls_buf m = {0};
    mls_framing_ctx c;
    uint8_t other_key[MLS_HASH_LEN];

    fresh(&s);
    fresh(&r);
    c = make_ctx(&r);
    /* Signed with leaf 0's key, claiming leaf 1. */
    CHECK_EQ(build(MLS_WIRE_FORMAT_PUBLIC_MESSAGE, MLS_CONTENT_PROPOSAL, 1, seeds[0], NULL, 0,
                   &m), 0);
    CHECK_EQ(open_msg(&c, &m, NULL), MLS_E_SIGNATURE);
    mls_buf_reset(&m);
    CHECK_EQ(build(MLS_WIRE_FORMAT_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, 1, seeds[0], &s, 0,
                   &m), 0);
    CHECK_EQ(open_msg(&c, &m, NULL), MLS_E_SIGNATURE);
    /* ... and the generation was not consumed by the forgery: the real one opens. */
    mls_buf_reset(&m);
    {
        mls_secrettree s2;
        fresh(&s2);
        CHECK_EQ(build(MLS_WIRE_FORMAT_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, 1, seeds[1],
                       &s2, 0, &m), 0);
        CHECK_EQ(open_msg(&c, &m, NULL), 0);
        mls_secrettree_free(&s2);
    }
    /* Signed for the wrong wire format. */
    {
        mls_framing_ctx sc = make_ctx(&s);
        mls_framed_content fc;
        mls_framed_content_auth_data auth;

        make_content(&fc, &auth, MLS_CONTENT_APPLICATION, 1);
        CHECK_EQ(mls_framing_sign(&sc, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, seeds[1], &auth), 0);
        mls_buf_reset(&m);
        CHECK_EQ(mls_framing_protect_private(&sc, &fc, &auth, 0, &rng, &m, NULL), 0);
        CHECK_EQ(open_msg(&c, &m, NULL), MLS_E_SIGNATURE);
        free_content(&fc, &auth);
    }
    /* Another membership key. */
    mls_buf_reset(&m);
    CHECK_EQ(build(MLS_WIRE_FORMAT_PUBLIC_MESSAGE, MLS_CONTENT_COMMIT, 0, seeds[0], NULL, 0, &m),
             0);
    memcpy(other_key, mkey, sizeof other_key);
    other_key[0] ^= 1;
    c.membership_key = other_key;
    CHECK_EQ(open_msg(&c, &m, NULL), MLS_E_MEMBERSHIP_TAG);
    c.membership_key = mkey;
    CHECK_EQ(open_msg(&c, &m, NULL), 0);
    /* A PrivateMessage from a blank leaf is refused before its ratchet is created. */
    {
        mls_secrettree s3, r3;
        mls_framing_ctx c3;
        mls_authenticated_content ac;
        uint32_t blank = 1;

        fresh(&s3);
        fresh(&r3);
        c3 = make_ctx(&r3);
        mls_buf_reset(&m);
        CHECK_EQ(build(MLS_WIRE_FORMAT_PRIVATE_MESSAGE, MLS_CONTENT_APPLICATION, 1, seeds[1],
                       &s3, 0, &m), 0);
        CHECK_EQ(mls_framing_unprotect(&c3, m.p, m.len, key_of, &blank, &ac, NULL), MLS_E_SENDER);
        CHECK_EQ(r3.n_leaves_init, 0);
        CHECK_EQ(r3.n_nodes, 1);
        CHECK_EQ(mls_framing_unprotect(&c3, m.p, m.len, key_of, NULL, &ac, NULL), 0);
        mls_authenticated_content_free(&ac);
        mls_secrettree_free(&s3);
        mls_secrettree_free(&r3);
    }
    /* An unknown sender (the key lookup refuses it). */
    mls_buf_reset(&m);
    CHECK_EQ(build(MLS_WIRE_FORMAT_PUBLIC_MESSAGE, MLS_CONTENT_PROPOSAL, 7, seeds[0], NULL, 0,
                   &m), 0);
    CHECK_EQ(open_msg(&c, &m, NULL), MLS_E_SENDER);
    mls_buf_free(&m);
    mls_secrettree_free(&s);
    mls_secrettree_free(&r);
}

static void test_wire_format_and_senders(void)
{
    mls_secrettree s, r;
    mls_framing_ctx c;
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    mls_buf m = {0};
    uint8_t tag[MLS_HASH_LEN];

    fresh(&s);
    fresh(&r);
    c = make_ctx(&r);
    /* Application data may not be sent as a PublicMessage ... */
    make_content(&fc, &auth, MLS_CONTENT_APPLICATION, 0);
    CHECK_EQ(mls_framing_sign(&c, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, seeds[0], &auth), 0);
    CHECK_EQ(mls_framing_protect_public(&c, &fc, &auth, &m), MLS_E_WIRE_FORMAT);
    /* ... nor received as one, even with a valid tag and signature. */
    {
        mls_message msg;
        mls_buf tbm = {0};

        CHECK_EQ(mls_authenticated_content_tbm_encode(&tbm, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc,
                                                      &auth, gc.p, gc.len), 0);
        mls_mac(mkey, sizeof mkey, tbm.p, tbm.len, tag);
        mls_buf_free(&tbm);
        memset(&msg, 0, sizeof msg);
        msg.version = MLS_PROTOCOL_VERSION;
        msg.wire_format = MLS_WIRE_FORMAT_PUBLIC_MESSAGE;
        msg.public_message.content = fc;
        msg.public_message.auth = auth;
        msg.public_message.membership_tag.p = tag;
        msg.public_message.membership_tag.len = sizeof tag;
        mls_buf_reset(&m);
        CHECK_EQ(mls_message_encode(&m, &msg), 0);
        CHECK_EQ(open_msg(&c, &m, NULL), MLS_E_WIRE_FORMAT);
    }
    free_content(&fc, &auth);
    /* A PrivateMessage must come from a member; an external sender may only propose. */
    make_content(&fc, &auth, MLS_CONTENT_PROPOSAL, 0);
    fc.sender.sender_type = MLS_SENDER_EXTERNAL;
    mls_buf_reset(&m);
    {
        mls_framing_ctx sc = make_ctx(&s);
        CHECK_EQ(mls_framing_protect_private(&sc, &fc, &auth, 0, &rng, &m, NULL), MLS_E_SENDER);
    }
    fc.content_type = MLS_CONTENT_COMMIT;
    fc.commit.proposals = NULL;
    CHECK_EQ(mls_framing_protect_public(&c, &fc, &auth, &m), MLS_E_SENDER);
    free_content(&fc, &auth);
    /* Other wire formats are not messages to unprotect: a (well-formed, empty) Welcome. */
    {
        static const uint8_t welcome[] = {0, 1, 0, 3, 0, 3, 0, 0};
        mls_buf t = {(uint8_t *)welcome, sizeof welcome, sizeof welcome, 0};
        CHECK_EQ(open_msg(&c, &t, NULL), MLS_E_WIRE_FORMAT);
    }
    /* Leaf outside the sender's tree. */
    make_content(&fc, &auth, MLS_CONTENT_APPLICATION, 2);
    {
        mls_framing_ctx sc = make_ctx(&s);
        CHECK_EQ(mls_framing_protect_private(&sc, &fc, &auth, 0, &rng, &m, NULL), MLS_E_SENDER);
    }
    free_content(&fc, &auth);
    mls_buf_free(&m);
    mls_secrettree_free(&s);
    mls_secrettree_free(&r);
}

/* A PrivateMessage sealed by hand from its parts, for cases protect cannot produce. */
static void seal_raw(uint32_t leaf, uint32_t sd_leaf, const uint8_t *pt, size_t pt_len,
                     mls_secrettree *s, mls_buf *out)
{
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN], sk[MLS_AEAD_KEY_LEN],
        sn[MLS_AEAD_NONCE_LEN];
    uint8_t *ct = malloc(pt_len + MLS_AEAD_TAG_LEN);
    uint8_t sd_ct[MLS_SENDER_DATA_LEN + MLS_AEAD_TAG_LEN];
    mls_buf aad = {0}, sd = {0};
    mls_sender_data sdata;
    mls_message msg;

    memset(&sdata, 0, sizeof sdata);
    CHECK_EQ(mls_secrettree_next(s, leaf, MLS_RATCHET_APPLICATION, &sdata.generation, key,
                                 nonce), 0);
    sdata.leaf_index = sd_leaf;
    CHECK_EQ(mls_private_content_aad_encode(&aad, (const uint8_t *)group_id,
                                            sizeof group_id - 1, EPOCH,
                                            MLS_CONTENT_APPLICATION, NULL, 0), 0);
    CHECK_EQ(mls_aead_seal(key, nonce, aad.p, aad.len, pt, pt_len, ct), 0);
    mls_buf_reset(&aad);
    CHECK_EQ(mls_sender_data_encode(&sd, &sdata), 0);
    CHECK_EQ(mls_sender_data_aad_encode(&aad, (const uint8_t *)group_id, sizeof group_id - 1,
                                        EPOCH, MLS_CONTENT_APPLICATION), 0);
    CHECK_EQ(mls_sender_data_key(sds, ct, pt_len + MLS_AEAD_TAG_LEN, sk, sn), 0);
    CHECK_EQ(mls_aead_seal(sk, sn, aad.p, aad.len, sd.p, sd.len, sd_ct), 0);
    memset(&msg, 0, sizeof msg);
    msg.version = MLS_PROTOCOL_VERSION;
    msg.wire_format = MLS_WIRE_FORMAT_PRIVATE_MESSAGE;
    msg.private_message.group_id.p = (uint8_t *)group_id;
    msg.private_message.group_id.len = sizeof group_id - 1;
    msg.private_message.epoch = EPOCH;
    msg.private_message.content_type = MLS_CONTENT_APPLICATION;
    msg.private_message.encrypted_sender_data.p = sd_ct;
    msg.private_message.encrypted_sender_data.len = sizeof sd_ct;
    msg.private_message.ciphertext.p = ct;
    msg.private_message.ciphertext.len = pt_len + MLS_AEAD_TAG_LEN;
    CHECK_EQ(mls_message_encode(out, &msg), 0);
    mls_buf_free(&aad);
    mls_buf_free(&sd);
    free(ct);
}

static void test_padding_and_limits(void)
{
    mls_secrettree s, r;
    mls_framing_ctx c, sc;
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    mls_buf pt = {0}, m = {0};

    fresh(&s);
    fresh(&r);
    c = make_ctx(&r);
    sc = make_ctx(&s);
    make_content(&fc, &auth, MLS_CONTENT_APPLICATION, 1);
    fc.authenticated_data.len = 0; /* seal_raw uses empty authenticated_data */
    CHECK_EQ(mls_framing_sign(&sc, MLS_WIRE_FORMAT_PRIVATE_MESSAGE, &fc, seeds[1], &auth), 0);
    /* Zero padding opens; a non-zero byte in it is MLS_E_PADDING. */
    CHECK_EQ(mls_private_message_content_encode(&pt, &fc, &auth, 8), 0);
    seal_raw(1, 1, pt.p, pt.len, &s, &m);
    CHECK_EQ(open_msg(&c, &m, NULL), 0);
    pt.p[pt.len - 3] = 1;
    mls_buf_reset(&m);
    seal_raw(1, 1, pt.p, pt.len, &s, &m);
    CHECK_EQ(open_msg(&c, &m, NULL), MLS_E_PADDING);
    /* SenderData naming a leaf outside the tree. */
    pt.p[pt.len - 3] = 0;
    mls_buf_reset(&m);
    seal_raw(1, 9, pt.p, pt.len, &s, &m);
    CHECK_EQ(open_msg(&c, &m, NULL), MLS_E_SENDER);
    /* A sender 1001 generations ahead of the receiver is too far. */
    {
        uint8_t k[MLS_AEAD_KEY_LEN], n[MLS_AEAD_NONCE_LEN];
        uint32_t gen;
        mls_secrettree r2;
        mls_framing_ctx c2;

        fresh(&r2);
        c2 = make_ctx(&r2);
        while (s.leaves[0].r[MLS_RATCHET_APPLICATION].next_gen <= 1000)
            CHECK_EQ(mls_secrettree_next(&s, 1, MLS_RATCHET_APPLICATION, &gen, k, n), 0);
        mls_buf_reset(&m);
        CHECK_EQ(mls_framing_protect_private(&sc, &fc, &auth, 0, &rng, &m, &gen), 0);
        CHECK_EQ(gen, 1001);
        CHECK_EQ(open_msg(&c2, &m, NULL), MLS_E_TOO_FAR);
        mls_secrettree_free(&r2);
    }
    free_content(&fc, &auth);
    mls_buf_free(&pt);
    mls_buf_free(&m);
    mls_secrettree_free(&s);
    mls_secrettree_free(&r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    for (int i = 0; i < 2; i++) {
        memset(seeds[i], 0x10 + i, sizeof seeds[i]);
        mls_sig_pub_from_seed(seeds[i], pubs[i]);
    }
    memset(enc_secret, 0x21, sizeof enc_secret);
    memset(sds, 0x32, sizeof sds);
    memset(mkey, 0x43, sizeof mkey);
    /* GroupContext: mls10, suite 3, group_id, epoch, tree hash, transcript hash, {} */
    mls_w_u16(&gc, MLS_PROTOCOL_VERSION);
    mls_w_u16(&gc, MLS_CIPHER_SUITE);
    mls_w_opaque(&gc, (const uint8_t *)group_id, sizeof group_id - 1);
    mls_w_u64(&gc, EPOCH);
    mls_w_opaque(&gc, enc_secret, 32);
    mls_w_opaque(&gc, sds, 32);
    mls_w_varint(&gc, 0);
    CHECK_EQ(mls_buf_status(&gc), 0);
    test_round_trips();
    test_tampering();
    test_wrong_group_epoch();
    test_auth_failures();
    test_wire_format_and_senders();
    test_padding_and_limits();
    mls_buf_free(&gc);
    return check_finish("test_mls_framing");
}
