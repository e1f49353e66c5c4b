#include "mls_framing.h"

#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"

#define TBS_LABEL "FramedContentTBS"

/* RFC 9420 6.1: which sender types may send which content types. */
static int sender_allowed(const mls_framed_content *content)
{
    switch (content->sender.sender_type) {
    case MLS_SENDER_MEMBER:
        return 1;
    case MLS_SENDER_EXTERNAL:
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
        return content->content_type == MLS_CONTENT_PROPOSAL;
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        return content->content_type == MLS_CONTENT_COMMIT;
    default:
        return 0;
    }
}

static int content_type_known(uint8_t t)
{
    return t >= MLS_CONTENT_APPLICATION && t <= MLS_CONTENT_COMMIT;
}

static int check_group_epoch(const mls_framing_ctx *c, const uint8_t *gid, size_t gid_len,
                             uint64_t epoch)
{
    if (!mls_bytes_eq(gid, gid_len, c->group_id, c->group_id_len))
        return MLS_E_GROUP_ID;
    if (epoch != c->epoch)
        return MLS_E_EPOCH;
    return 0;
}

int mls_framing_sign(const mls_framing_ctx *c, uint16_t wire_format,
                     const mls_framed_content *content, const uint8_t seed[MLS_SIG_SEED_LEN],
                     mls_framed_content_auth_data *auth)
{
    uint8_t sig[MLS_SIG_LEN];
    mls_buf tbs = {0};
    int rc;

    rc = mls_framed_content_tbs_encode(&tbs, wire_format, content, c->group_context, c->gc_len);
    if (rc == 0)
        rc = mls_sign_with_label(seed, TBS_LABEL, tbs.p, tbs.len, sig);
    if (rc == 0)
        rc = mls_bytes_set(&auth->signature, sig, sizeof sig);
    mls_buf_free(&tbs);
    return rc;
}

int mls_framing_verify(const mls_framing_ctx *c, uint16_t wire_format,
                       const mls_framed_content *content,
                       const mls_framed_content_auth_data *auth, const uint8_t *pub,
                       size_t pub_len)
{
    mls_buf tbs = {0};
    int rc;

    rc = mls_framed_content_tbs_encode(&tbs, wire_format, content, c->group_context, c->gc_len);
    if (rc == 0)
        rc = mls_verify_with_label(pub, pub_len, TBS_LABEL, tbs.p, tbs.len, auth->signature.p,
                                   auth->signature.len);
    mls_buf_free(&tbs);
    return rc;
}

/* MAC(membership_key, AuthenticatedContentTBM). */
static int membership_tag(const mls_framing_ctx *c, const mls_framed_content *content,
                          const mls_framed_content_auth_data *auth, uint8_t tag[MLS_HASH_LEN])
{
    mls_buf tbm = {0};
    int rc;

    if (c->membership_key == NULL)
        return MLS_E_INVALID;
    rc = mls_authenticated_content_tbm_encode(&tbm, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, content,
                                              auth, c->group_context, c->gc_len);
    if (rc == 0)
        mls_mac(c->membership_key, MLS_HASH_LEN, tbm.p, tbm.len, tag);
    mls_buf_free(&tbm);
    return rc;
}

int mls_framing_protect_public(const mls_framing_ctx *c, const mls_framed_content *content,
                               const mls_framed_content_auth_data *auth, mls_buf *out)
{
    uint8_t tag[MLS_HASH_LEN];
    mls_message m;
    int rc;

    if (content->content_type == MLS_CONTENT_APPLICATION)
        return MLS_E_WIRE_FORMAT;
    if (!sender_allowed(content))
        return MLS_E_SENDER;
    memset(&m, 0, sizeof m);
    m.version = MLS_PROTOCOL_VERSION;
    m.wire_format = MLS_WIRE_FORMAT_PUBLIC_MESSAGE;
    /* Shallow views for encoding only: m is never freed. */
    m.public_message.content = *content;
    m.public_message.auth = *auth;
    if (content->sender.sender_type == MLS_SENDER_MEMBER) {
        if ((rc = membership_tag(c, content, auth, tag)) != 0)
            return rc;
        m.public_message.membership_tag.p = tag;
        m.public_message.membership_tag.len = sizeof tag;
    }
    return mls_message_encode(out, &m);
}

static int verify_sender(const mls_framing_ctx *c, uint16_t wire_format,
                         const mls_framed_content *content,
                         const mls_framed_content_auth_data *auth, mls_framing_key_fn key_fn,
                         void *arg)
{
    const uint8_t *pub = NULL;
    size_t pub_len = 0;
    int rc;

    if (key_fn == NULL)
        return MLS_E_INVALID;
    if ((rc = key_fn(arg, content, &pub, &pub_len)) != 0)
        return rc;
    return mls_framing_verify(c, wire_format, content, auth, pub, pub_len);
}

int mls_framing_unprotect_public(const mls_framing_ctx *c, const mls_public_message *pm,
                                 mls_framing_key_fn key_fn, void *arg,
                                 mls_authenticated_content *out)
{
    const mls_framed_content *content = &pm->content;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_group_epoch(c, content->group_id.p, content->group_id.len,
                                content->epoch)) != 0)
        return rc;
    if (content->content_type == MLS_CONTENT_APPLICATION)
        return MLS_E_WIRE_FORMAT;
    if (!content_type_known(content->content_type))
        return MLS_E_DECODE;
    if (!sender_allowed(content))
        return MLS_E_SENDER;
    if (content->sender.sender_type == MLS_SENDER_MEMBER) {
        uint8_t tag[MLS_HASH_LEN];

        if ((rc = membership_tag(c, content, &pm->auth, tag)) != 0)
            return rc;
        if (pm->membership_tag.len != sizeof tag ||
            sodium_memcmp(tag, pm->membership_tag.p, sizeof tag) != 0)
            return MLS_E_MEMBERSHIP_TAG;
    }
    rc = verify_sender(c, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, content, &pm->auth, key_fn, arg);
    if (rc != 0)
        return rc;
    out->wire_format = MLS_WIRE_FORMAT_PUBLIC_MESSAGE;
    if ((rc = mls_framed_content_copy(&out->content, content)) != 0)
        return rc;
    if ((rc = mls_bytes_set(&out->auth.signature, pm->auth.signature.p,
                            pm->auth.signature.len)) != 0 ||
        (rc = mls_bytes_set(&out->auth.confirmation_tag, pm->auth.confirmation_tag.p,
                            pm->auth.confirmation_tag.len)) != 0)
        mls_authenticated_content_free(out);
    return rc;
}

static enum mls_ratchet_type ratchet_for(uint8_t content_type)
{
    return content_type == MLS_CONTENT_APPLICATION ? MLS_RATCHET_APPLICATION
                                                   : MLS_RATCHET_HANDSHAKE;
}

static void apply_guard(uint8_t nonce[MLS_AEAD_NONCE_LEN],
                        const uint8_t guard[MLS_REUSE_GUARD_LEN])
{
    for (size_t i = 0; i < MLS_REUSE_GUARD_LEN; i++)
        nonce[i] ^= guard[i];
}

int mls_framing_protect_private(const mls_framing_ctx *c, const mls_framed_content *content,
                                const mls_framed_content_auth_data *auth, size_t padding_len,
                                mls_rng *rng, mls_buf *out, uint32_t *generation)
{
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    uint8_t sd_key[MLS_AEAD_KEY_LEN], sd_nonce[MLS_AEAD_NONCE_LEN];
    uint8_t *ct = NULL, sd_ct[MLS_SENDER_DATA_LEN + MLS_AEAD_TAG_LEN];
    mls_buf pt = {0}, aad = {0}, sd = {0};
    mls_sender_data sender_data;
    size_t ct_len = 0;
    mls_message m;
    int rc;

    memset(&sender_data, 0, sizeof sender_data);
    if (content->sender.sender_type != MLS_SENDER_MEMBER)
        return MLS_E_SENDER;
    if (!content_type_known(content->content_type))
        return MLS_E_INVALID;
    if (c->secret_tree == NULL || c->sender_data_secret == NULL)
        return MLS_E_INVALID;
    if (content->sender.index >= c->secret_tree->n_leaves)
        return MLS_E_SENDER;
    /* Encode everything that can fail before a generation is taken. */
    if ((rc = mls_private_message_content_encode(&pt, content, auth, padding_len)) != 0 ||
        (rc = mls_private_content_aad_encode(&aad, content->group_id.p, content->group_id.len,
                                             content->epoch, content->content_type,
                                             content->authenticated_data.p,
                                             content->authenticated_data.len)) != 0)
        goto done;
    ct_len = pt.len + MLS_AEAD_TAG_LEN;
    if ((ct = mls_alloc(ct_len)) == NULL) {
        rc = MLS_E_NOMEM;
        goto done;
    }
    rc = mls_secrettree_next(c->secret_tree, content->sender.index,
                             ratchet_for(content->content_type), &sender_data.generation, key,
                             nonce);
    if (rc != 0)
        goto done;
    sender_data.leaf_index = content->sender.index;
    mls_rng_fill(rng, sender_data.reuse_guard, MLS_REUSE_GUARD_LEN);
    apply_guard(nonce, sender_data.reuse_guard);
    if ((rc = mls_aead_seal(key, nonce, aad.p, aad.len, pt.p, pt.len, ct)) != 0)
        goto done;
    mls_buf_reset(&aad);
    if ((rc = mls_sender_data_encode(&sd, &sender_data)) != 0 ||
        (rc = mls_sender_data_aad_encode(&aad, content->group_id.p, content->group_id.len,
                                         content->epoch, content->content_type)) != 0 ||
        (rc = mls_sender_data_key(c->sender_data_secret, ct, ct_len, sd_key, sd_nonce)) != 0 ||
        (rc = mls_aead_seal(sd_key, sd_nonce, aad.p, aad.len, sd.p, sd.len, sd_ct)) != 0)
        goto done;
    memset(&m, 0, sizeof m);
    m.version = MLS_PROTOCOL_VERSION;
    m.wire_format = MLS_WIRE_FORMAT_PRIVATE_MESSAGE;
    /* Shallow views for encoding only. */
    m.private_message.group_id = content->group_id;
    m.private_message.epoch = content->epoch;
    m.private_message.content_type = content->content_type;
    m.private_message.authenticated_data = content->authenticated_data;
    m.private_message.encrypted_sender_data.p = sd_ct;
    m.private_message.encrypted_sender_data.len = sizeof sd_ct;
    m.private_message.ciphertext.p = ct;
    m.private_message.ciphertext.len = ct_len;
    if ((rc = mls_message_encode(out, &m)) != 0)
        goto done;
    if (generation != NULL)
        *generation = sender_data.generation;
done:
    sodium_memzero(key, sizeof key);
    sodium_memzero(nonce, sizeof nonce);
    sodium_memzero(sd_key, sizeof sd_key);
    sodium_memzero(sd_nonce, sizeof sd_nonce);
    mls_free(ct, ct_len);
    mls_buf_free(&pt);
    mls_buf_free(&aad);
    mls_buf_free(&sd);
    return rc;
}

int mls_framing_unprotect_private(const mls_framing_ctx *c, const mls_private_message *pm,
                                  mls_framing_key_fn key_fn, void *arg,
                                  mls_authenticated_content *out, uint32_t *generation)
{
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    uint8_t sd_key[MLS_AEAD_KEY_LEN], sd_nonce[MLS_AEAD_NONCE_LEN];
    uint8_t sd_pt[MLS_SENDER_DATA_LEN];
    uint8_t *pt = NULL;
    size_t pt_len = 0, pub_len = 0;
    const uint8_t *pub = NULL;
    mls_buf aad = {0};
    mls_sender_data sender_data;
    enum mls_ratchet_type type = ratchet_for(pm->content_type);
    int rc;

    memset(out, 0, sizeof *out);
    memset(&sender_data, 0, sizeof sender_data);
    if ((rc = check_group_epoch(c, pm->group_id.p, pm->group_id.len, pm->epoch)) != 0)
        return rc;
    if (!content_type_known(pm->content_type))
        return MLS_E_DECODE;
    if (c->secret_tree == NULL || c->sender_data_secret == NULL)
        return MLS_E_INVALID;
    /* Sender data: SenderData is fixed-size, so its ciphertext is too. */
    if (pm->encrypted_sender_data.len != MLS_SENDER_DATA_LEN + MLS_AEAD_TAG_LEN ||
        pm->ciphertext.len < MLS_AEAD_TAG_LEN) {
        rc = MLS_E_DECODE;
        goto done;
    }
    if ((rc = mls_sender_data_aad_encode(&aad, pm->group_id.p, pm->group_id.len, pm->epoch,
                                         pm->content_type)) != 0 ||
        (rc = mls_sender_data_key(c->sender_data_secret, pm->ciphertext.p, pm->ciphertext.len,
                                  sd_key, sd_nonce)) != 0 ||
        (rc = mls_aead_open(sd_key, sd_nonce, aad.p, aad.len, pm->encrypted_sender_data.p,
                            pm->encrypted_sender_data.len, sd_pt)) != 0 ||
        (rc = mls_sender_data_decode_all(sd_pt, sizeof sd_pt, &sender_data)) != 0)
        goto done;
    if (sender_data.leaf_index >= c->secret_tree->n_leaves) {
        rc = MLS_E_SENDER;
        goto done;
    }
    /* The sender's key now, so that a blank leaf is refused (RFC 9420 6.3.2) before
     * the secret tree does any work for it. A member's key depends on the sender only. */
    {
        mls_framed_content probe;

        memset(&probe, 0, sizeof probe);
        probe.epoch = pm->epoch;
        probe.sender.sender_type = MLS_SENDER_MEMBER;
        probe.sender.index = sender_data.leaf_index;
        probe.content_type = MLS_CONTENT_APPLICATION; /* no body: nothing to free */
        rc = key_fn != NULL ? key_fn(arg, &probe, &pub, &pub_len) : MLS_E_INVALID;
        if (rc != 0)
            goto done;
    }
    /* Content. */
    rc = mls_secrettree_get(c->secret_tree, sender_data.leaf_index, type,
                            sender_data.generation, key, nonce);
    if (rc != 0)
        goto done;
    apply_guard(nonce, sender_data.reuse_guard);
    mls_buf_reset(&aad);
    if ((rc = mls_private_content_aad_encode(&aad, pm->group_id.p, pm->group_id.len,
                                             pm->epoch, pm->content_type,
                                             pm->authenticated_data.p,
                                             pm->authenticated_data.len)) != 0)
        goto done;
    pt_len = pm->ciphertext.len - MLS_AEAD_TAG_LEN;
    if ((pt = mls_alloc(pt_len)) == NULL) {
        rc = MLS_E_NOMEM;
        goto done;
    }
    if ((rc = mls_aead_open(key, nonce, aad.p, aad.len, pm->ciphertext.p, pm->ciphertext.len,
                            pt)) != 0)
        goto done;
    rc = mls_private_message_content_decode(pt, pt_len, pm->content_type, &out->content,
                                            &out->auth);
    if (rc != 0)
        goto done;
    out->wire_format = MLS_WIRE_FORMAT_PRIVATE_MESSAGE;
    out->content.epoch = pm->epoch;
    out->content.sender.sender_type = MLS_SENDER_MEMBER;
    out->content.sender.index = sender_data.leaf_index;
    if ((rc = mls_bytes_set(&out->content.group_id, pm->group_id.p, pm->group_id.len)) != 0 ||
        (rc = mls_bytes_set(&out->content.authenticated_data, pm->authenticated_data.p,
                            pm->authenticated_data.len)) != 0)
        goto done;
    rc = mls_framing_verify(c, MLS_WIRE_FORMAT_PRIVATE_MESSAGE, &out->content, &out->auth, pub,
                            pub_len);
    if (rc != 0)
        goto done;
    if ((rc = mls_secrettree_consume(c->secret_tree, sender_data.leaf_index, type,
                                     sender_data.generation)) != 0)
        goto done;
    if (generation != NULL)
        *generation = sender_data.generation;
done:
    if (rc != 0)
        mls_authenticated_content_free(out);
    sodium_memzero(key, sizeof key);
    sodium_memzero(nonce, sizeof nonce);
    sodium_memzero(sd_key, sizeof sd_key);
    sodium_memzero(sd_nonce, sizeof sd_nonce);
    sodium_memzero(sd_pt, sizeof sd_pt);
    mls_free(pt, pt_len);
    mls_buf_free(&aad);
    return rc;
}

int mls_framing_unprotect(const mls_framing_ctx *c, const uint8_t *p, size_t n,
                          mls_framing_key_fn key_fn, void *arg,
                          mls_authenticated_content *out, uint32_t *generation)
{
    mls_message m;
    int rc;

    memset(out, 0, sizeof *out);
    if (generation != NULL)
        *generation = 0;
    if ((rc = mls_message_decode_all(p, n, &m)) != 0)
        return rc;
    if (m.wire_format == MLS_WIRE_FORMAT_PUBLIC_MESSAGE)
        rc = mls_framing_unprotect_public(c, &m.public_message, key_fn, arg, out);
    else if (m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE)
        rc = mls_framing_unprotect_private(c, &m.private_message, key_fn, arg, out,
                                           generation);
    else
        rc = MLS_E_WIRE_FORMAT;
    mls_message_free(&m);
    return rc;
}
