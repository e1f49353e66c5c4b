/* message-protection.json: PublicMessage / PrivateMessage protection (RFC 9420 6) with
 * every verification step of test-vectors.md, plus protect-then-unprotect round trips
 * with a deterministic rng. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_framing.h"
#include "mls_message.h"
#include "mls_secrettree.h"
#include "mv.h"

#define SENDER_LEAF 1u

typedef struct mp_case {
    uint8_t *gid, *th, *cth, *sig_priv, *sig_pub, *enc, *sds, *mkey;
    size_t gid_len, th_len, cth_len, sig_priv_len, sig_pub_len, enc_len, sds_len, mkey_len;
    uint64_t epoch;
    mls_buf gc;
} mp_case;

static int key_of(void *arg, const mls_framed_content *content, const uint8_t **pub,
                  size_t *pub_len)
{
    const mp_case *c = arg;

    if (content->sender.sender_type != MLS_SENDER_MEMBER ||
        content->sender.index != SENDER_LEAF)
        return MLS_E_SENDER;
    *pub = c->sig_pub;
    *pub_len = c->sig_pub_len;
    return 0;
}

/* A deterministic rng (for the reuse guard): a counter stream. */
static void det_fill(void *ctx, uint8_t *out, size_t n)
{
    uint32_t *ctr = ctx;

    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(0x5a ^ (*ctr)++);
}

/* The serialized body of content (application data bytes, Proposal or Commit). */
static int encode_body(mls_buf *b, const mls_framed_content *fc)
{
    switch (fc->content_type) {
    case MLS_CONTENT_APPLICATION:
        mls_w_fixed(b, fc->application_data.p, fc->application_data.len);
        return mls_buf_status(b);
    case MLS_CONTENT_PROPOSAL:
        return mls_proposal_encode(b, &fc->proposal);
    case MLS_CONTENT_COMMIT:
        return mls_commit_encode(b, &fc->commit);
    default:
        return MLS_E_INVALID;
    }
}

/* 1 if ac carries raw as content of type ctype from our sender, else fails res. */
static int content_is(const mls_authenticated_content *ac, uint8_t ctype, const uint8_t *raw,
                      size_t raw_len, const char *what, mv_result *res)
{
    mls_buf b = {0};
    int ok;

    if (ac->content.content_type != ctype || ac->content.sender.sender_type != MLS_SENDER_MEMBER ||
        ac->content.sender.index != SENDER_LEAF) {
        mv_fail(res, "%s: content type %u / sender %u:%u, want %u from member %u", what,
                ac->content.content_type, ac->content.sender.sender_type,
                ac->content.sender.index, ctype, SENDER_LEAF);
        return 0;
    }
    ok = encode_body(&b, &ac->content) == 0 && mls_bytes_eq(b.p, b.len, raw, raw_len);
    mls_buf_free(&b);
    if (!ok)
        mv_fail(res, "%s: content differs from the raw value", what);
    return ok;
}

static int fresh_tree(const mp_case *c, mls_secrettree *st)
{
    return mls_secrettree_init(st, c->enc, 2);
}

static int unprotect_with_fresh_tree(const mp_case *c, mls_framing_ctx *ctx, const uint8_t *msg,
                                     size_t msg_len, mls_authenticated_content *ac)
{
    mls_secrettree st;
    uint32_t gen;
    int rc;

    if ((rc = fresh_tree(c, &st)) != 0)
        return rc;
    ctx->secret_tree = &st;
    rc = mls_framing_unprotect(ctx, msg, msg_len, key_of, (void *)c, ac, &gen);
    /* The same message a second time: its key is gone. */
    if (rc == 0 && msg_len > 4 && msg[3] == MLS_WIRE_FORMAT_PRIVATE_MESSAGE) {
        mls_authenticated_content again;
        int rc2 = mls_framing_unprotect(ctx, msg, msg_len, key_of, (void *)c, &again, &gen);

        mls_authenticated_content_free(&again);
        if (rc2 != MLS_E_REPLAY) {
            mls_authenticated_content_free(ac);
            rc = rc2 == 0 ? MLS_E_INVALID : rc2;
        }
    }
    ctx->secret_tree = NULL;
    mls_secrettree_free(&st);
    return rc;
}

static int check_kind(mp_case *c, const mv_json *tc, const char *raw_key, const char *pub_key,
                      const char *priv_key, uint8_t ctype, mv_result *res)
{
    uint8_t *raw = NULL, *pub = NULL, *priv = NULL;
    size_t raw_len = 0, pub_len = 0, priv_len = 0;
    mls_framing_ctx ctx;
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    mls_authenticated_content ac;
    mls_buf msg = {0};
    mls_secrettree sender_tree;
    uint32_t ctr = 0, gen = 0;
    mls_rng rng = {det_fill, &ctr};
    int out = MV_FAIL, rc;

    memset(&fc, 0, sizeof fc);
    memset(&auth, 0, sizeof auth);
    memset(&ac, 0, sizeof ac);
    memset(&sender_tree, 0, sizeof sender_tree);
    memset(&ctx, 0, sizeof ctx);
    ctx.group_id = c->gid;
    ctx.group_id_len = c->gid_len;
    ctx.epoch = c->epoch;
    ctx.group_context = c->gc.p;
    ctx.gc_len = c->gc.len;
    ctx.membership_key = c->mkey;
    ctx.sender_data_secret = c->sds;
    if (mv_hex(tc, raw_key, &raw, &raw_len) || (pub_key && mv_hex(tc, pub_key, &pub, &pub_len)) ||
        mv_hex(tc, priv_key, &priv, &priv_len)) {
        mv_fail(res, "%s: missing or malformed field", raw_key);
        goto done;
    }
    /* The raw value as a FramedContent from leaf 1. */
    fc.content_type = ctype;
    fc.epoch = c->epoch;
    fc.sender.sender_type = MLS_SENDER_MEMBER;
    fc.sender.index = SENDER_LEAF;
    if (mls_bytes_set(&fc.group_id, c->gid, c->gid_len) != 0) {
        mv_fail(res, "out of memory");
        goto done;
    }
    if (ctype == MLS_CONTENT_APPLICATION)
        rc = mls_bytes_set(&fc.application_data, raw, raw_len);
    else if (ctype == MLS_CONTENT_PROPOSAL)
        rc = mls_proposal_decode_all(raw, raw_len, &fc.proposal);
    else
        rc = mls_commit_decode_all(raw, raw_len, &fc.commit);
    if (rc != 0) {
        mv_fail(res, "%s does not decode: %s", raw_key, mls_strerror(rc));
        goto done;
    }

    /* 1. The vector's PublicMessage verifies and carries the raw value. */
    if (pub != NULL) {
        rc = mls_framing_unprotect(&ctx, pub, pub_len, key_of, c, &ac, &gen);
        if (rc != 0) {
            mv_fail(res, "%s: unprotect: %s", pub_key, mls_strerror(rc));
            goto done;
        }
        if (!content_is(&ac, ctype, raw, raw_len, pub_key, res))
            goto done;
        if (ctype == MLS_CONTENT_COMMIT) /* any tag will do for the round trip */
            rc = mls_bytes_set(&auth.confirmation_tag, ac.auth.confirmation_tag.p,
                               ac.auth.confirmation_tag.len);
        mls_authenticated_content_free(&ac);
        if (rc != 0) {
            mv_fail(res, "out of memory");
            goto done;
        }
    }

    /* 2. Our own PublicMessage verifies; application data must be refused. */
    if ((rc = mls_framing_sign(&ctx, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, c->sig_priv, &auth)) != 0) {
        mv_fail(res, "%s: sign: %s", raw_key, mls_strerror(rc));
        goto done;
    }
    rc = mls_framing_protect_public(&ctx, &fc, &auth, &msg);
    if (ctype == MLS_CONTENT_APPLICATION) {
        if (rc != MLS_E_WIRE_FORMAT) {
            mv_fail(res, "application as PublicMessage: got %s, want %s", mls_strerror(rc),
                    mls_strerror(MLS_E_WIRE_FORMAT));
            goto done;
        }
    } else {
        if (rc == 0)
            rc = mls_framing_unprotect(&ctx, msg.p, msg.len, key_of, c, &ac, &gen);
        if (rc != 0) {
            mv_fail(res, "%s: own PublicMessage: %s", raw_key, mls_strerror(rc));
            goto done;
        }
        if (!content_is(&ac, ctype, raw, raw_len, "own PublicMessage", res))
            goto done;
        mls_authenticated_content_free(&ac);
    }
    mls_buf_reset(&msg);

    /* 3. The vector's PrivateMessage opens with a fresh tree. */
    if ((rc = unprotect_with_fresh_tree(c, &ctx, priv, priv_len, &ac)) != 0) {
        mv_fail(res, "%s: unprotect: %s", priv_key, mls_strerror(rc));
        goto done;
    }
    if (!content_is(&ac, ctype, raw, raw_len, priv_key, res))
        goto done;
    mls_authenticated_content_free(&ac);

    /* 4. Our own PrivateMessage (from a sender's tree) opens with a receiver's tree. */
    if ((rc = mls_framing_sign(&ctx, MLS_WIRE_FORMAT_PRIVATE_MESSAGE, &fc, c->sig_priv, &auth)) != 0 ||
        (rc = fresh_tree(c, &sender_tree)) != 0) {
        mv_fail(res, "%s: sign: %s", raw_key, mls_strerror(rc));
        goto done;
    }
    ctx.secret_tree = &sender_tree;
    rc = mls_framing_protect_private(&ctx, &fc, &auth, 13, &rng, &msg, &gen);
    ctx.secret_tree = NULL;
    if (rc == 0)
        rc = unprotect_with_fresh_tree(c, &ctx, msg.p, msg.len, &ac);
    if (rc != 0) {
        mv_fail(res, "%s: own PrivateMessage: %s", raw_key, mls_strerror(rc));
        goto done;
    }
    if (!content_is(&ac, ctype, raw, raw_len, "own PrivateMessage", res))
        goto done;
    out = MV_PASS;
done:
    mls_authenticated_content_free(&ac);
    mls_framed_content_free(&fc);
    mls_framed_content_auth_data_free(&auth);
    mls_secrettree_free(&sender_tree);
    mls_buf_free(&msg);
    free(raw);
    free(pub);
    free(priv);
    return out;
}

int mv_check_message_protection(const mv_json *tc, mv_result *res)
{
    mp_case c;
    uint64_t suite;
    int out = MV_FAIL;

    memset(&c, 0, sizeof c);
    if (mv_json_u64(tc, "cipher_suite", &suite) != 0)
        return mv_fail(res, "no cipher_suite");
    if (suite != MLS_CIPHER_SUITE)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                       (unsigned long long)suite);
    if (mv_hex(tc, "group_id", &c.gid, &c.gid_len) || mv_json_u64(tc, "epoch", &c.epoch) ||
        mv_hex(tc, "tree_hash", &c.th, &c.th_len) ||
        mv_hex(tc, "confirmed_transcript_hash", &c.cth, &c.cth_len) ||
        mv_hex(tc, "signature_priv", &c.sig_priv, &c.sig_priv_len) ||
        c.sig_priv_len != MLS_SIG_SEED_LEN ||
        mv_hex(tc, "signature_pub", &c.sig_pub, &c.sig_pub_len) ||
        mv_hex(tc, "encryption_secret", &c.enc, &c.enc_len) || c.enc_len != MLS_HASH_LEN ||
        mv_hex(tc, "sender_data_secret", &c.sds, &c.sds_len) || c.sds_len != MLS_HASH_LEN ||
        mv_hex(tc, "membership_key", &c.mkey, &c.mkey_len) || c.mkey_len != MLS_HASH_LEN) {
        mv_fail(res, "missing or malformed field");
        goto done;
    }
    /* GroupContext with empty extensions. */
    mls_w_u16(&c.gc, MLS_PROTOCOL_VERSION);
    mls_w_u16(&c.gc, MLS_CIPHER_SUITE);
    mls_w_opaque(&c.gc, c.gid, c.gid_len);
    mls_w_u64(&c.gc, c.epoch);
    mls_w_opaque(&c.gc, c.th, c.th_len);
    mls_w_opaque(&c.gc, c.cth, c.cth_len);
    mls_w_varint(&c.gc, 0);
    if (mls_buf_status(&c.gc) != 0) {
        mv_fail(res, "out of memory");
        goto done;
    }
    if (check_kind(&c, tc, "proposal", "proposal_pub", "proposal_priv", MLS_CONTENT_PROPOSAL,
                   res) != MV_PASS ||
        check_kind(&c, tc, "commit", "commit_pub", "commit_priv", MLS_CONTENT_COMMIT, res) !=
            MV_PASS ||
        check_kind(&c, tc, "application", NULL, "application_priv", MLS_CONTENT_APPLICATION,
                   res) != MV_PASS)
        goto done;
    out = MV_PASS;
done:
    free(c.gid);
    free(c.th);
    free(c.cth);
    free(c.sig_priv);
    free(c.sig_pub);
    free(c.enc);
    free(c.sds);
    free(c.mkey);
    mls_buf_free(&c.gc);
    return out;
}
