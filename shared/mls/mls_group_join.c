/* mls_group_join: joining from a Welcome (RFC 9420 12.4.3.1), by external commit
 * (12.4.3.2), and the GroupInfo that lets others join externally. */
#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_extension.h"
#include "mls_group_int.h"
#include "mls_hpke.h"
#include "mls_transcript.h"
#include "mls_welcome.h"

/* The tree of a GroupInfo: its ratchet_tree extension, else the caller's bytes. */
static int gi_tree(const mls_group_info *gi, const uint8_t *tree, size_t tree_len,
                   mls_tree **out)
{
    const mls_extension *e = mls_extension_list_find(&gi->extensions, MLS_EXT_RATCHET_TREE);
    if (e)
        return mls_tree_decode(out, e->extension_data.p, e->extension_data.len);
    if (!tree || tree_len == 0)
        return MLS_E_NOT_FOUND;
    return mls_tree_decode(out, tree, tree_len);
}

/* Checks gi against its tree: suite, tree validity (hash included) and signature. */
static int check_gi(const mls_group_info *gi, mls_tree *t)
{
    const mls_group_context *gc = &gi->group_context;
    int rc;
    if (gc->cipher_suite != MLS_CIPHER_SUITE || gc->version != MLS_PROTOCOL_VERSION)
        return MLS_E_UNSUPPORTED;
    if (gc->tree_hash.len != MLS_HASH_LEN || gc->group_id.len == 0)
        return MLS_E_TREE_HASH;
    if ((rc = mls_tree_validate(t, gc->group_id.p, gc->group_id.len, gc->tree_hash.p)))
        return rc;
    const mls_leaf_node *signer = mls_tree_leaf(t, gi->signer);
    if (!signer)
        return MLS_E_SIGNATURE;
    return mls_group_info_verify(gi, signer->signature_key.p, signer->signature_key.len);
}

/* A new group taking gi's GroupContext and t (both moved). */
static int group_from_gi(mls_group **out, mls_group_info *gi, mls_tree *t)
{
    mls_group *g = mls_alloc(sizeof *g);
    *out = NULL;
    if (!g)
        return MLS_E_NOMEM;
    g->gc = gi->group_context;
    memset(&gi->group_context, 0, sizeof gi->group_context);
    g->tree = t;
    int rc = mls_bytes_set(&g->confirmation_tag, gi->confirmation_tag.p,
                           gi->confirmation_tag.len);
    if (rc) {
        mls_group_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Our leaf in t: the one whose LeafNode is identical to ln. */
static int find_own_leaf(const mls_tree *t, const mls_leaf_node *ln, uint32_t *leaf)
{
    mls_buf a = { 0 }, b = { 0 };
    int rc = MLS_E_NOT_FOUND;
    uint32_t nd = mls_tree_find_encryption_key(t, ln->encryption_key.p, ln->encryption_key.len);
    if (nd == MLS_NODE_NONE || nd % 2)
        return MLS_E_NOT_FOUND;
    const mls_leaf_node *tl = mls_tree_leaf(t, nd / 2);
    if (!tl)
        return MLS_E_NOT_FOUND;
    if (mls_leaf_node_encode(&a, ln) == 0 && mls_leaf_node_encode(&b, tl) == 0 &&
        mls_bytes_eq(a.p, a.len, b.p, b.len)) {
        *leaf = nd / 2;
        rc = 0;
    }
    mls_buf_free(&a);
    mls_buf_free(&b);
    return rc;
}

int mls_group_join_welcome(mls_group **out, const uint8_t *welcome, size_t welcome_len,
                           const mls_kp_bundle *kpb, const uint8_t *tree, size_t tree_len,
                           const mls_ext_psk *psks, size_t n_psks, uint64_t now)
{
    mls_group *g = NULL, *pskg = NULL;
    mls_message wm, km;
    mls_group_secrets gs;
    mls_group_info gi;
    mls_tree *t = NULL;
    uint8_t psk_secret[MLS_HASH_LEN];
    int rc;

    (void)now;
    *out = NULL;
    memset(&wm, 0, sizeof wm);
    memset(&km, 0, sizeof km);
    memset(&gs, 0, sizeof gs);
    memset(&gi, 0, sizeof gi);
    if (!welcome || !kpb)
        return MLS_E_INVALID;
    if ((rc = mls_message_decode_all(welcome, welcome_len, &wm)))
        return rc;
    if (wm.wire_format != MLS_WIRE_FORMAT_WELCOME) {
        rc = MLS_E_WIRE_FORMAT;
        goto fail;
    }
    if ((rc = mls_message_decode_all(kpb->key_package.p, kpb->key_package.len, &km)))
        goto fail;
    if (km.wire_format != MLS_WIRE_FORMAT_KEY_PACKAGE) {
        rc = MLS_E_KEY_PACKAGE;
        goto fail;
    }
    /* the external PSKs live in a scratch group until the real one exists */
    pskg = mls_alloc(sizeof *pskg);
    if (!pskg) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n_psks; i++)
        if ((rc = mls_group_add_ext_psk(pskg, psks[i].id, psks[i].id_len, psks[i].psk,
                                        psks[i].psk_len)))
            goto fail;
    rc = mls_welcome_open(&wm.welcome, kpb->ref, kpb->init_priv, mls_group_psk_lookup, pskg,
                          &gs, psk_secret, &gi);
    if (rc)
        goto fail;
    if (gi.group_context.cipher_suite != km.key_package.cipher_suite) {
        rc = MLS_E_UNSUPPORTED;
        goto fail;
    }
    if ((rc = gi_tree(&gi, tree, tree_len, &t)) || (rc = check_gi(&gi, t)))
        goto fail;
    mls_epoch_secrets es;
    if ((rc = mls_welcome_epoch(&gs, psk_secret, &gi, &es)))
        goto fail;
    rc = group_from_gi(&g, &gi, t);
    if (rc) {
        mls_epoch_secrets_wipe(&es);
        goto fail;
    }
    t = NULL;
    g->es = es;
    mls_epoch_secrets_wipe(&es);
    if ((rc = find_own_leaf(g->tree, &km.key_package.leaf_node, &g->own_leaf)))
        goto fail;
    mls_treekem_priv_init(&g->priv, g->own_leaf, kpb->enc_priv);
    if (gs.has_path_secret) {
        uint32_t anc = mls_tm_common_ancestor(2 * g->own_leaf, 2 * gi.signer);
        if ((rc = mls_treekem_priv_set_path_secret(&g->priv, g->tree, anc, gs.path_secret.p, 1)))
            goto fail;
    }
    if ((rc = mls_treekem_priv_check(&g->priv, g->tree)))
        goto fail;
    memcpy(g->sig_seed, kpb->sig_seed, MLS_SIG_SEED_LEN);
    g->ext_psks = pskg->ext_psks;
    g->n_ext_psks = pskg->n_ext_psks;
    pskg->ext_psks = NULL;
    pskg->n_ext_psks = 0;
    if ((rc = mls_group_finish_epoch(g)))
        goto fail;
    *out = g;
    g = NULL;
fail:
    mls_group_free(g);
    mls_group_free(pskg);
    mls_tree_free(t);
    mls_group_info_free(&gi);
    mls_group_secrets_free(&gs);
    mls_message_free(&wm);
    mls_message_free(&km);
    sodium_memzero(psk_secret, sizeof psk_secret);
    return rc;
}

int mls_group_group_info(mls_group *g, int with_tree, mls_bytes *out)
{
    mls_group_info gi;
    mls_buf b = { 0 };
    uint8_t sk[MLS_KEM_SK_LEN], pk[MLS_KEM_PK_LEN];
    int rc;

    memset(out, 0, sizeof *out);
    memset(&gi, 0, sizeof gi);
    if (g->removed)
        return MLS_E_STATE;
    if ((rc = mls_group_context_copy(&gi.group_context, &g->gc)) ||
        (rc = mls_bytes_set(&gi.confirmation_tag, g->confirmation_tag.p,
                            g->confirmation_tag.len)) ||
        (rc = mls_keysched_external_keypair(&g->es, sk, pk)) ||
        (rc = mls_ext_external_pub_encode(&b, pk, sizeof pk)) ||
        (rc = mls_extension_list_set(&gi.extensions, MLS_EXT_EXTERNAL_PUB, b.p, b.len)))
        goto fail;
    if (with_tree) {
        mls_buf_reset(&b);
        if ((rc = mls_tree_encode(g->tree, &b)) ||
            (rc = mls_extension_list_set(&gi.extensions, MLS_EXT_RATCHET_TREE, b.p, b.len)))
            goto fail;
    }
    gi.signer = g->own_leaf;
    if ((rc = mls_group_info_sign(&gi, g->sig_seed)))
        goto fail;
    mls_buf_reset(&b);
    mls_w_u16(&b, MLS_PROTOCOL_VERSION);
    mls_w_u16(&b, MLS_WIRE_FORMAT_GROUP_INFO);
    if ((rc = mls_group_info_encode(&b, &gi)))
        goto fail;
    rc = mls_bytes_set(out, b.p, b.len);
fail:
    sodium_memzero(sk, sizeof sk);
    mls_group_info_free(&gi);
    mls_buf_free(&b);
    return rc;
}

int mls_group_join_external(mls_group **out, mls_bytes *commit_out, const uint8_t *group_info,
                            size_t gi_len, const uint8_t *tree, size_t tree_len,
                            const mls_identity *me, uint32_t resync_leaf, uint64_t now,
                            mls_rng *rng)
{
    mls_message gm;
    mls_tree *t = NULL;
    mls_group *g = NULL;
    mls_leaf_node tmpl;
    mls_treekem_commit tkc;
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    mls_buf gc_old = { 0 }, gc_new = { 0 }, fcb = { 0 }, msg = { 0 };
    mls_framing_ctx ctx;
    uint8_t init_secret[MLS_HASH_LEN], kem_output[MLS_KEM_ENC_LEN], unused_sk[MLS_KEM_SK_LEN];
    uint8_t th[MLS_HASH_LEN], cth[MLS_HASH_LEN], tag[MLS_HASH_LEN];
    uint32_t leaf;
    int rc;

    *out = NULL;
    memset(commit_out, 0, sizeof *commit_out);
    memset(&gm, 0, sizeof gm);
    memset(&tmpl, 0, sizeof tmpl);
    memset(&tkc, 0, sizeof tkc);
    memset(&fc, 0, sizeof fc);
    memset(&auth, 0, sizeof auth);
    if (!group_info || !me || !me->sig_seed)
        return MLS_E_INVALID;
    if ((rc = mls_message_decode_all(group_info, gi_len, &gm)))
        return rc;
    if (gm.wire_format != MLS_WIRE_FORMAT_GROUP_INFO) {
        rc = MLS_E_WIRE_FORMAT;
        goto fail;
    }
    mls_group_info *gi = &gm.group_info;
    const mls_extension *xe = mls_extension_list_find(&gi->extensions, MLS_EXT_EXTERNAL_PUB);
    mls_slice xpub;
    if (!xe) {
        rc = MLS_E_EXTERNAL;
        goto fail;
    }
    if ((rc = mls_ext_external_pub_decode(xe, &xpub)))
        goto fail;
    if (xpub.len != MLS_KEM_PK_LEN) {
        rc = MLS_E_EXTERNAL;
        goto fail;
    }
    if ((rc = gi_tree(gi, tree, tree_len, &t)) || (rc = check_gi(gi, t)))
        goto fail;
    if ((rc = mls_keysched_external_init_sender(xpub.p, rng, kem_output, init_secret)))
        goto fail;
    rc = group_from_gi(&g, gi, t);
    if (rc)
        goto fail;
    t = NULL;
    if ((rc = mls_group_interim(g->gc.confirmed_transcript_hash.p,
                                g->gc.confirmed_transcript_hash.len, g->confirmation_tag.p,
                                g->confirmation_tag.len, g->interim)) ||
        (rc = mls_group_gc_encode(g, &gc_old)))
        goto fail;
    memcpy(g->sig_seed, me->sig_seed, MLS_SIG_SEED_LEN);

    /* the commit: ExternalInit, then the resync Remove */
    fc.content_type = MLS_CONTENT_COMMIT;
    size_t n_props = resync_leaf != UINT32_MAX ? 2 : 1;
    fc.commit.proposals = mls_alloc_array(n_props, sizeof *fc.commit.proposals);
    if (!fc.commit.proposals) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    fc.commit.n_proposals = n_props;
    fc.commit.proposals[0].type = MLS_POR_PROPOSAL;
    fc.commit.proposals[0].proposal.proposal_type = MLS_PROPOSAL_EXTERNAL_INIT;
    if ((rc = mls_bytes_set(&fc.commit.proposals[0].proposal.external_init, kem_output,
                            sizeof kem_output)))
        goto fail;
    if (n_props == 2) {
        fc.commit.proposals[1].type = MLS_POR_PROPOSAL;
        fc.commit.proposals[1].proposal.proposal_type = MLS_PROPOSAL_REMOVE;
        fc.commit.proposals[1].proposal.remove = resync_leaf;
        if (!mls_tree_leaf(g->tree, resync_leaf)) {
            rc = MLS_E_INVALID;
            goto fail;
        }
        if ((rc = mls_tree_remove_leaf(g->tree, resync_leaf)))
            goto fail;
    }
    if ((rc = mls_tree_reserve_leaf(g->tree, &leaf)))
        goto fail;
    g->own_leaf = leaf;
    if ((rc = mls_group_make_leaf(&tmpl, me, MLS_LEAF_SOURCE_COMMIT, now, rng, unused_sk)) ||
        (rc = mls_group_leaf_supports(&tmpl, &g->gc.extensions)) ||
        (rc = mls_treekem_commit_start(g->tree, leaf, &tmpl, me->sig_seed, g->gc.group_id.p,
                                       g->gc.group_id.len, rng, &tkc)))
        goto fail;
    /* provisional GroupContext: new epoch and tree hash, old transcript */
    g->gc.epoch++;
    if ((rc = mls_tree_root_hash(g->tree, th)) ||
        (rc = mls_bytes_set(&g->gc.tree_hash, th, sizeof th)) ||
        (rc = mls_group_gc_encode(g, &gc_new)) ||
        (rc = mls_treekem_commit_encrypt(g->tree, &tkc, NULL, 0, gc_new.p, gc_new.len, rng,
                                         &fc.commit.path)))
        goto fail;
    fc.commit.has_path = 1;
    if ((rc = mls_bytes_set(&fc.group_id, g->gc.group_id.p, g->gc.group_id.len)))
        goto fail;
    fc.epoch = g->gc.epoch - 1;
    fc.sender.sender_type = MLS_SENDER_NEW_MEMBER_COMMIT;
    memset(&ctx, 0, sizeof ctx);
    ctx.group_id = g->gc.group_id.p;
    ctx.group_id_len = g->gc.group_id.len;
    ctx.epoch = fc.epoch;
    ctx.group_context = gc_old.p;
    ctx.gc_len = gc_old.len;
    if ((rc = mls_framing_sign(&ctx, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, me->sig_seed, &auth)) ||
        (rc = mls_framed_content_encode(&fcb, &fc)) ||
        (rc = mls_transcript_confirmed_parts(g->interim, MLS_HASH_LEN,
                                             MLS_WIRE_FORMAT_PUBLIC_MESSAGE, fcb.p, fcb.len,
                                             auth.signature.p, auth.signature.len, cth)) ||
        (rc = mls_bytes_set(&g->gc.confirmed_transcript_hash, cth, sizeof cth)))
        goto fail;
    mls_buf_reset(&gc_new);
    if ((rc = mls_group_gc_encode(g, &gc_new)) ||
        (rc = mls_keysched_from_init(init_secret, tkc.commit_secret, NULL, gc_new.p, gc_new.len,
                                     &g->es)))
        goto fail;
    mls_keysched_confirmation_tag(&g->es, cth, sizeof cth, tag);
    if ((rc = mls_bytes_set(&auth.confirmation_tag, tag, sizeof tag)) ||
        (rc = mls_bytes_set(&g->confirmation_tag, tag, sizeof tag)) ||
        (rc = mls_framing_protect_public(&ctx, &fc, &auth, &msg)))
        goto fail;
    mls_treekem_priv_init(&g->priv, leaf, tkc.leaf_sk);
    mls_treekem_commit_finish(&tkc, g->tree, &g->priv);
    if ((rc = mls_group_finish_epoch(g)) || (rc = mls_bytes_set(commit_out, msg.p, msg.len)))
        goto fail;
    *out = g;
    g = NULL;
fail:
    mls_group_free(g);
    mls_tree_free(t);
    mls_message_free(&gm);
    mls_leaf_node_free(&tmpl);
    mls_treekem_commit_wipe(&tkc);
    mls_framed_content_free(&fc);
    mls_framed_content_auth_data_free(&auth);
    mls_buf_free(&gc_old);
    mls_buf_free(&gc_new);
    mls_buf_free(&fcb);
    mls_buf_free(&msg);
    sodium_memzero(init_secret, sizeof init_secret);
    sodium_memzero(unused_sk, sizeof unused_sk);
    if (rc)
        mls_bytes_free(commit_out);
    return rc;
}
