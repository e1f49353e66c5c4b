/* mls_group_msg: proposals and application messages we send, and everything we
 * receive: application data, proposals (stored until a commit), commits (12.4.2). */
#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_extension.h"
#include "mls_group_int.h"
#include "mls_hpke.h"
#include "mls_transcript.h"
#include "mls_welcome.h"

/* Application plaintexts are padded to a multiple of this. */
#define PAD_BLOCK 32u

int mls_group_framing_ctx(mls_group *g, mls_buf *gc, mls_framing_ctx *c)
{
    int rc = mls_group_gc_encode(g, gc);
    if (rc) {
        mls_buf_free(gc); /* the encoder may have allocated before it failed */
        return rc;
    }
    memset(c, 0, sizeof *c);
    c->group_id = g->gc.group_id.p;
    c->group_id_len = g->gc.group_id.len;
    c->epoch = g->gc.epoch;
    c->group_context = gc->p;
    c->gc_len = gc->len;
    c->membership_key = g->es.membership_key;
    c->sender_data_secret = g->es.sender_data_secret;
    c->secret_tree = &g->st;
    return 0;
}

int mls_group_sender_key(void *arg, const mls_framed_content *content, const uint8_t **pub,
                         size_t *pub_len)
{
    mls_group *g = arg;
    const mls_leaf_node *ln = NULL;
    switch (content->sender.sender_type) {
    case MLS_SENDER_MEMBER:
        ln = mls_tree_leaf(g->tree, content->sender.index);
        break;
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        if (content->content_type == MLS_CONTENT_COMMIT && content->commit.has_path)
            ln = &content->commit.path.leaf_node;
        break;
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
        if (content->content_type == MLS_CONTENT_PROPOSAL &&
            content->proposal.proposal_type == MLS_PROPOSAL_ADD)
            ln = &content->proposal.add.leaf_node;
        break;
    case MLS_SENDER_EXTERNAL: {
        const mls_extension *e = mls_extension_list_find(&g->gc.extensions,
                                                         MLS_EXT_EXTERNAL_SENDERS);
        mls_external_senders es;
        if (!e || mls_external_senders_decode_all(e->extension_data.p, e->extension_data.len,
                                                  &es))
            return MLS_E_SENDER;
        int rc = MLS_E_SENDER;
        if (content->sender.index < es.n) {
            /* the key must outlive es: find the same bytes inside the extension */
            const mls_bytes *k = &es.items[content->sender.index].signature_key;
            for (size_t off = 0; k->len && off + k->len <= e->extension_data.len; off++) {
                if (memcmp(e->extension_data.p + off, k->p, k->len) == 0) {
                    *pub = e->extension_data.p + off;
                    *pub_len = k->len;
                    rc = 0;
                    break;
                }
            }
        }
        mls_external_senders_free(&es);
        return rc;
    }
    default:
        break;
    }
    if (!ln)
        return MLS_E_SENDER;
    *pub = ln->signature_key.p;
    *pub_len = ln->signature_key.len;
    return 0;
}

/* Strips an old epoch down to what mls_framing needs for application messages. */
static void strip_to_prev(mls_group *old)
{
    uint8_t sds[MLS_HASH_LEN];
    mls_group_free(old->prev);
    old->prev = NULL;
    mls_group_free(old->pending_next);
    old->pending_next = NULL;
    mls_bytes_free(&old->pending_commit);
    mls_group_clear_proposals(old);
    mls_treekem_priv_wipe(&old->priv);
    memcpy(sds, old->es.sender_data_secret, sizeof sds);
    mls_epoch_secrets_wipe(&old->es);
    memcpy(old->es.sender_data_secret, sds, sizeof sds);
    sodium_memzero(sds, sizeof sds);
    sodium_memzero(old->sig_seed, sizeof old->sig_seed);
    mls_free(old->res_psks, old->n_res_psks * sizeof *old->res_psks);
    old->res_psks = NULL;
    old->n_res_psks = 0;
    for (size_t i = 0; i < old->n_ext_psks; i++) {
        mls_bytes_free(&old->ext_psks[i].id);
        mls_bytes_free(&old->ext_psks[i].psk);
    }
    mls_free(old->ext_psks, old->n_ext_psks * sizeof *old->ext_psks);
    old->ext_psks = NULL;
    old->n_ext_psks = 0;
}

void mls_group_replace(mls_group *g, mls_group *next)
{
    mls_group *old = mls_alloc(sizeof *old);
    if (old) {
        *old = *g;
        memset(g, 0, sizeof *g);
        strip_to_prev(old);
    } else {
        mls_group_clear(g); /* no memory for the old epoch: late messages are lost */
    }
    mls_group_free(next->prev);
    *g = *next;
    g->prev = old;
    memset(next, 0, sizeof *next);
    mls_free(next, sizeof *next);
}

int mls_group_finish_epoch(mls_group *next)
{
    int rc;
    mls_keysched_forget_joiner(&next->es);
    if ((rc = mls_group_interim(next->gc.confirmed_transcript_hash.p,
                                next->gc.confirmed_transcript_hash.len,
                                next->confirmation_tag.p, next->confirmation_tag.len,
                                next->interim)))
        return rc;
    mls_group_clear_proposals(next);
    mls_treekem_priv_prune(&next->priv, next->tree);
    if ((rc = mls_group_init_secret_tree(next)))
        return rc;
    return mls_group_push_resumption(next);
}

/* Identity bytes of the sender's credential, for the event. */
static int sender_identity(mls_group *g, const mls_framed_content *fc, mls_bytes *out)
{
    const mls_leaf_node *ln = NULL;
    if (fc->sender.sender_type == MLS_SENDER_MEMBER)
        ln = mls_tree_leaf(g->tree, fc->sender.index);
    else if (fc->sender.sender_type == MLS_SENDER_NEW_MEMBER_COMMIT && fc->commit.has_path)
        ln = &fc->commit.path.leaf_node;
    else if (fc->sender.sender_type == MLS_SENDER_NEW_MEMBER_PROPOSAL)
        ln = &fc->proposal.add.leaf_node;
    if (!ln)
        return 0;
    return mls_bytes_set(out, ln->credential.identity.p, ln->credential.identity.len);
}

/* ---- sending ---- */

/* Frames, signs and protects content from us in the current epoch; for a proposal,
 * the ProposalRef goes to ref (may be NULL). */
static int send_content(mls_group *g, mls_framed_content *fc, int as_private, size_t pad,
                        mls_rng *rng, mls_bytes *msg, uint8_t ref[MLS_HASH_LEN])
{
    mls_buf gc = { 0 }, out = { 0 }, acb = { 0 };
    mls_framing_ctx ctx;
    mls_framed_content_auth_data auth;
    uint16_t wf = as_private ? MLS_WIRE_FORMAT_PRIVATE_MESSAGE : MLS_WIRE_FORMAT_PUBLIC_MESSAGE;
    int rc;

    memset(&auth, 0, sizeof auth);
    memset(msg, 0, sizeof *msg);
    if ((rc = mls_bytes_set(&fc->group_id, g->gc.group_id.p, g->gc.group_id.len)))
        return rc;
    fc->epoch = g->gc.epoch;
    fc->sender.sender_type = MLS_SENDER_MEMBER;
    fc->sender.index = g->own_leaf;
    if ((rc = mls_group_framing_ctx(g, &gc, &ctx)) ||
        (rc = mls_framing_sign(&ctx, wf, fc, g->sig_seed, &auth)))
        goto fail;
    if (ref) {
        if ((rc = mls_authenticated_content_encode_parts(&acb, wf, fc, &auth)) ||
            (rc = mls_proposal_ref(acb.p, acb.len, ref)))
            goto fail;
    }
    if (as_private)
        rc = mls_framing_protect_private(&ctx, fc, &auth, pad, rng, &out, NULL);
    else
        rc = mls_framing_protect_public(&ctx, fc, &auth, &out);
    if (!rc)
        rc = mls_bytes_set(msg, out.p, out.len);
fail:
    mls_framed_content_auth_data_free(&auth);
    mls_buf_free(&gc);
    mls_buf_free(&out);
    mls_buf_free(&acb);
    return rc;
}

/* Stores a copy of p (from sender s, reference ref) as pending, unless already there. */
static int store_proposal(mls_group *g, const mls_proposal *p, const mls_sender *s,
                          const uint8_t ref[MLS_HASH_LEN], const uint8_t *leaf_priv)
{
    for (size_t i = 0; i < g->n_props; i++)
        if (sodium_memcmp(g->props[i].ref, ref, MLS_HASH_LEN) == 0)
            return 0;
    mls_pending_proposal *np =
        mls_realloc(g->props, g->n_props * sizeof *np, (g->n_props + 1) * sizeof *np);
    if (!np)
        return MLS_E_NOMEM;
    g->props = np;
    mls_pending_proposal *pp = &np[g->n_props];
    memset(pp, 0, sizeof *pp);
    int rc = mls_proposal_copy(&pp->proposal, p);
    if (rc)
        return rc;
    memcpy(pp->ref, ref, MLS_HASH_LEN);
    pp->sender = *s;
    if (leaf_priv) {
        pp->has_leaf_priv = 1;
        memcpy(pp->leaf_priv, leaf_priv, MLS_KEM_SK_LEN);
    }
    g->n_props++;
    return 0;
}

static int can_send(const mls_group *g)
{
    if (g->removed || g->reinit || g->pending_next)
        return MLS_E_STATE;
    return 0;
}

/* Sends proposal p (owned by fc once set) and stores it. */
static int propose(mls_group *g, mls_framed_content *fc, int as_private, mls_rng *rng,
                   mls_bytes *msg, const uint8_t *leaf_priv)
{
    uint8_t ref[MLS_HASH_LEN];
    mls_sender me = { MLS_SENDER_MEMBER, g->own_leaf };
    fc->content_type = MLS_CONTENT_PROPOSAL;
    int rc = send_content(g, fc, as_private, 0, rng, msg, ref);
    if (!rc)
        rc = store_proposal(g, &fc->proposal, &me, ref, leaf_priv);
    if (rc)
        mls_bytes_free(msg);
    mls_framed_content_free(fc);
    return rc;
}

int mls_group_propose_add(mls_group *g, const uint8_t *kp, size_t kp_len, int as_private,
                          uint64_t now, mls_rng *rng, mls_bytes *msg)
{
    mls_framed_content fc;
    const uint8_t *body;
    size_t body_len;
    int rc;
    memset(&fc, 0, sizeof fc);
    memset(msg, 0, sizeof *msg);
    if ((rc = can_send(g)))
        return rc;
    fc.proposal.proposal_type = MLS_PROPOSAL_ADD;
    if ((rc = mls_group_decode_kp(kp, kp_len, &fc.proposal.add, &body, &body_len)))
        return rc;
    if ((rc = mls_key_package_validate(&fc.proposal.add, now)) ||
        (rc = mls_group_leaf_supports(&fc.proposal.add.leaf_node, &g->gc.extensions))) {
        mls_framed_content_free(&fc);
        return rc == MLS_E_UNSUPPORTED ? MLS_E_KEY_PACKAGE : rc;
    }
    fc.content_type = MLS_CONTENT_PROPOSAL;
    return propose(g, &fc, as_private, rng, msg, NULL);
}

int mls_group_propose_remove(mls_group *g, uint32_t leaf, int as_private, mls_rng *rng,
                             mls_bytes *msg)
{
    mls_framed_content fc;
    int rc;
    memset(&fc, 0, sizeof fc);
    memset(msg, 0, sizeof *msg);
    if ((rc = can_send(g)))
        return rc;
    if (!mls_tree_leaf(g->tree, leaf) || leaf == g->own_leaf)
        return MLS_E_INVALID;
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.proposal.proposal_type = MLS_PROPOSAL_REMOVE;
    fc.proposal.remove = leaf;
    return propose(g, &fc, as_private, rng, msg, NULL);
}

int mls_group_propose_update(mls_group *g, int as_private, mls_rng *rng, mls_bytes *msg)
{
    mls_framed_content fc;
    uint8_t sk[MLS_KEM_SK_LEN], pk[MLS_KEM_PK_LEN];
    int rc;
    memset(&fc, 0, sizeof fc);
    memset(msg, 0, sizeof *msg);
    if ((rc = can_send(g)))
        return rc;
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.proposal.proposal_type = MLS_PROPOSAL_UPDATE;
    mls_leaf_node *ln = &fc.proposal.update;
    if ((rc = mls_leaf_node_copy(ln, mls_tree_leaf(g->tree, g->own_leaf))) ||
        (rc = mls_hpke_keygen(rng, sk, pk)) ||
        (rc = mls_bytes_set(&ln->encryption_key, pk, sizeof pk)))
        goto fail;
    ln->leaf_node_source = MLS_LEAF_SOURCE_UPDATE;
    memset(&ln->lifetime, 0, sizeof ln->lifetime);
    mls_bytes_free(&ln->parent_hash);
    if ((rc = mls_leaf_node_sign(ln, g->sig_seed, g->gc.group_id.p, g->gc.group_id.len,
                                 g->own_leaf)))
        goto fail;
    rc = propose(g, &fc, as_private, rng, msg, sk);
    sodium_memzero(sk, sizeof sk);
    return rc;
fail:
    sodium_memzero(sk, sizeof sk);
    mls_framed_content_free(&fc);
    return rc;
}

int mls_group_ext_psk_id(mls_group *g, const uint8_t *id, size_t id_len, mls_rng *rng,
                         mls_psk_id *out)
{
    uint8_t nonce[MLS_HASH_LEN];
    const uint8_t *v;
    size_t vl;
    int rc;
    memset(out, 0, sizeof *out);
    out->psktype = MLS_PSK_EXTERNAL;
    if ((rc = mls_bytes_set(&out->psk_id, id, id_len)))
        return rc;
    if (mls_group_psk_lookup(g, out, &v, &vl)) {
        mls_psk_id_free(out);
        return MLS_E_PSK;
    }
    mls_rng_fill(rng, nonce, sizeof nonce);
    rc = mls_bytes_set(&out->psk_nonce, nonce, sizeof nonce);
    if (rc)
        mls_psk_id_free(out);
    return rc;
}

int mls_group_propose_psk(mls_group *g, const uint8_t *psk_id, size_t psk_id_len,
                          int as_private, mls_rng *rng, mls_bytes *msg)
{
    mls_framed_content fc;
    int rc;
    memset(&fc, 0, sizeof fc);
    memset(msg, 0, sizeof *msg);
    if ((rc = can_send(g)))
        return rc;
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.proposal.proposal_type = MLS_PROPOSAL_PSK;
    if ((rc = mls_group_ext_psk_id(g, psk_id, psk_id_len, rng, &fc.proposal.psk)))
        return rc;
    return propose(g, &fc, as_private, rng, msg, NULL);
}

int mls_group_propose_gce(mls_group *g, const uint8_t *extensions, size_t ext_len,
                          int as_private, mls_rng *rng, mls_bytes *msg)
{
    mls_framed_content fc;
    mls_rd r;
    int rc;
    memset(&fc, 0, sizeof fc);
    memset(msg, 0, sizeof *msg);
    if ((rc = can_send(g)))
        return rc;
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.proposal.proposal_type = MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
    mls_rd_init(&r, extensions, ext_len);
    if ((rc = mls_extension_list_decode(&r, &fc.proposal.group_context_extensions)))
        return rc;
    if ((rc = mls_rd_end(&r))) {
        mls_framed_content_free(&fc);
        return rc;
    }
    return propose(g, &fc, as_private, rng, msg, NULL);
}

int mls_group_protect(mls_group *g, const uint8_t *pt, size_t pt_len, const uint8_t *aad,
                      size_t aad_len, mls_rng *rng, mls_bytes *msg)
{
    mls_framed_content fc;
    int rc;
    memset(&fc, 0, sizeof fc);
    memset(msg, 0, sizeof *msg);
    if ((rc = can_send(g)))
        return rc;
    if (!pt && pt_len)
        return MLS_E_INVALID;
    fc.content_type = MLS_CONTENT_APPLICATION;
    if ((rc = mls_bytes_set(&fc.application_data, pt, pt_len)) ||
        (aad_len && (rc = mls_bytes_set(&fc.authenticated_data, aad, aad_len))))
        goto fail;
    size_t pad = (PAD_BLOCK - pt_len % PAD_BLOCK) % PAD_BLOCK;
    rc = send_content(g, &fc, 1, pad, rng, msg, NULL);
fail:
    mls_framed_content_free(&fc);
    return rc;
}

/* ---- receiving ---- */

/* A proposal from an authenticated message: checked for its sender and stored. */
static int recv_proposal(mls_group *g, const mls_authenticated_content *ac)
{
    const mls_framed_content *fc = &ac->content;
    const mls_proposal *p = &fc->proposal;
    mls_buf acb = { 0 };
    uint8_t ref[MLS_HASH_LEN];
    int rc;

    switch (fc->sender.sender_type) {
    case MLS_SENDER_MEMBER:
        if (p->proposal_type == MLS_PROPOSAL_EXTERNAL_INIT)
            return MLS_E_PROPOSAL;
        break;
    case MLS_SENDER_EXTERNAL:
        if (p->proposal_type == MLS_PROPOSAL_UPDATE ||
            p->proposal_type == MLS_PROPOSAL_EXTERNAL_INIT)
            return MLS_E_PROPOSAL;
        break;
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
        if (p->proposal_type != MLS_PROPOSAL_ADD)
            return MLS_E_PROPOSAL;
        break;
    default:
        return MLS_E_SENDER;
    }
    if ((rc = mls_authenticated_content_encode(&acb, ac)) ||
        (rc = mls_proposal_ref(acb.p, acb.len, ref)))
        goto fail;
    for (size_t i = 0; i < g->n_props; i++)
        if (sodium_memcmp(g->props[i].ref, ref, MLS_HASH_LEN) == 0)
            goto fail; /* already stored (our own, echoed back): nothing to do */
    if (fc->sender.sender_type == MLS_SENDER_MEMBER && fc->sender.index == g->own_leaf) {
        rc = MLS_E_SENDER; /* "from us" but not sent by us */
        goto fail;
    }
    rc = store_proposal(g, p, &fc->sender, ref, NULL);
fail:
    mls_buf_free(&acb);
    return rc;
}

/* Wipes the secrets of a group we were removed from; it stays readable (accessors). */
static void become_removed(mls_group *g)
{
    g->removed = 1;
    mls_group_free(g->prev);
    g->prev = NULL;
    mls_treekem_priv_wipe(&g->priv);
    mls_secrettree_free(&g->st);
    uint8_t ea[MLS_HASH_LEN];
    memcpy(ea, g->es.epoch_authenticator, sizeof ea);
    mls_epoch_secrets_wipe(&g->es);
    memcpy(g->es.epoch_authenticator, ea, sizeof ea);
    mls_group_clear_proposals(g);
}

/* Applies an authenticated commit (12.4.2) to a copy of g, replacing g on success. */
static int recv_commit(mls_group *g, const mls_authenticated_content *ac, uint64_t now,
                       mls_event *ev)
{
    const mls_framed_content *fc = &ac->content;
    const mls_commit *c = &fc->commit;
    mls_sender committer = fc->sender;
    mls_prop_list pl;
    mls_group *next = NULL;
    mls_buf gcb = { 0 }, fcb = { 0 };
    mls_psk_id *psk_ids = NULL;
    uint32_t *added = NULL;
    size_t n_added = 0, n_psk = 0, n_alloc = 0, n_psk_alloc = 0;
    uint8_t init_secret[MLS_HASH_LEN], commit_secret[MLS_HASH_LEN], psk_secret[MLS_HASH_LEN];
    uint8_t th[MLS_HASH_LEN], cth[MLS_HASH_LEN];
    const uint8_t *kem_output = NULL;
    int external = committer.sender_type == MLS_SENDER_NEW_MEMBER_COMMIT, rc;

    memset(&pl, 0, sizeof pl);
    memset(commit_secret, 0, sizeof commit_secret);
    if (!external && committer.sender_type != MLS_SENDER_MEMBER)
        return MLS_E_SENDER;
    if (!external && committer.index == g->own_leaf)
        return MLS_E_SENDER; /* our own commit comes back through the pending path */
    if (ac->auth.confirmation_tag.len != MLS_HASH_LEN)
        return MLS_E_CONFIRMATION_TAG;
    if ((rc = mls_prop_list_resolve(g, c, &committer, &pl)))
        return rc;
    if ((rc = mls_prop_list_validate(g, &pl, &committer, now)))
        goto fail;
    if ((mls_prop_list_path_required(&pl) || external) && !c->has_path) {
        rc = MLS_E_PATH;
        goto fail;
    }
    if (c->has_path) {
        /* the path leaf replaces the committer's own leaf, or for an external commit the
         * leaf its resync Remove takes out: the same member either way */
        const mls_leaf_node *old_leaf = external ? NULL : mls_tree_leaf(g->tree, committer.index);
        for (size_t i = 0; external && i < pl.n; i++)
            if (pl.p[i]->proposal_type == MLS_PROPOSAL_REMOVE)
                old_leaf = mls_tree_leaf(g->tree, pl.p[i]->remove);
        if (old_leaf && (rc = mls_group_leaf_same_member(old_leaf, &c->path.leaf_node)))
            goto fail;
    }
    for (size_t i = 0; i < pl.n; i++) {
        if (pl.p[i]->proposal_type == MLS_PROPOSAL_PSK)
            n_psk++;
        if (pl.p[i]->proposal_type == MLS_PROPOSAL_EXTERNAL_INIT)
            kem_output = pl.p[i]->external_init.p;
    }
    n_alloc = pl.n ? pl.n : 1;
    n_psk_alloc = n_psk ? n_psk : 1;
    added = mls_alloc_array(n_alloc, sizeof *added);
    psk_ids = mls_alloc_array(n_psk_alloc, sizeof *psk_ids);
    if (!added || !psk_ids) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    n_psk = 0;
    for (size_t i = 0; i < pl.n; i++)
        if (pl.p[i]->proposal_type == MLS_PROPOSAL_PSK)
            psk_ids[n_psk++] = pl.p[i]->psk; /* shallow: borrowed for the PSK secret */
    if ((rc = mls_welcome_psk_secret(psk_ids, n_psk, 0, mls_group_psk_lookup, g, psk_secret)))
        goto fail;
    if ((rc = mls_group_clone(&next, g)))
        goto fail;
    if ((rc = mls_prop_list_apply(next, &pl, added, &n_added)))
        goto fail;
    /* the new member's leaf, also for the member a resync removes (its event says who) */
    if (external && (rc = mls_tree_reserve_leaf(next->tree, &committer.index)))
        goto fail;
    if (external)
        ev->sender_leaf = committer.index;
    if (next->removed) {
        /* we cannot follow the group past our removal: the commit was authenticated by
         * the framing, so this is the end of the group for us */
        mls_group_free(next);
        next = NULL;
        become_removed(g);
        ev->removed = 1;
        ev->new_epoch = g->gc.epoch + 1;
        rc = 0;
        goto fail;
    }
    if (external) {
        uint8_t xsk[MLS_KEM_SK_LEN], xpk[MLS_KEM_PK_LEN];
        rc = mls_keysched_external_keypair(&g->es, xsk, xpk);
        if (!rc)
            rc = mls_keysched_external_init_receiver(xsk, kem_output, init_secret);
        sodium_memzero(xsk, sizeof xsk);
        if (rc)
            goto fail;
    } else {
        memcpy(init_secret, g->es.init_secret, MLS_HASH_LEN);
    }
    next->gc.epoch = g->gc.epoch + 1;
    if (c->has_path) {
        const mls_leaf_node *ln = &c->path.leaf_node;
        if ((rc = mls_group_leaf_supports(ln, &next->gc.extensions)) ||
            (rc = mls_group_credential_compat(next->tree, ln, committer.index)))
            goto fail;
        if ((rc = mls_treekem_merge(next->tree, committer.index, &c->path, g->gc.group_id.p,
                                    g->gc.group_id.len)))
            goto fail;
    }
    if ((rc = mls_tree_root_hash(next->tree, th)) ||
        (rc = mls_bytes_set(&next->gc.tree_hash, th, sizeof th)))
        goto fail;
    if (c->has_path) {
        if ((rc = mls_group_gc_encode(next, &gcb)) ||
            (rc = mls_treekem_decrypt(&next->priv, next->tree, committer.index, &c->path,
                                      added, n_added, gcb.p, gcb.len, commit_secret, NULL)))
            goto fail;
    }
    if ((rc = mls_framed_content_encode(&fcb, fc)) ||
        (rc = mls_transcript_confirmed_parts(g->interim, MLS_HASH_LEN, ac->wire_format, fcb.p,
                                             fcb.len, ac->auth.signature.p,
                                             ac->auth.signature.len, cth)) ||
        (rc = mls_bytes_set(&next->gc.confirmed_transcript_hash, cth, sizeof cth)))
        goto fail;
    mls_buf_reset(&gcb);
    if ((rc = mls_group_gc_encode(next, &gcb)) ||
        (rc = mls_keysched_from_init(init_secret, commit_secret, n_psk ? psk_secret : NULL,
                                     gcb.p, gcb.len, &next->es)) ||
        (rc = mls_keysched_verify_confirmation_tag(&next->es, cth, sizeof cth,
                                                   ac->auth.confirmation_tag.p,
                                                   ac->auth.confirmation_tag.len)) ||
        (rc = mls_bytes_set(&next->confirmation_tag, ac->auth.confirmation_tag.p,
                            ac->auth.confirmation_tag.len)) ||
        (rc = mls_group_finish_epoch(next)))
        goto fail;
    ev->new_epoch = next->gc.epoch;
    ev->reinit = next->reinit;
    mls_group_replace(g, next);
    next = NULL;
fail:
    mls_group_free(next);
    mls_prop_list_free(&pl);
    mls_free(added, n_alloc * sizeof *added);
    mls_free(psk_ids, n_psk_alloc * sizeof *psk_ids);
    mls_buf_free(&gcb);
    mls_buf_free(&fcb);
    sodium_memzero(init_secret, sizeof init_secret);
    sodium_memzero(commit_secret, sizeof commit_secret);
    sodium_memzero(psk_secret, sizeof psk_secret);
    return rc;
}

/* An application message of the previous epoch; a replay of one is MLS_E_REPLAY,
 * anything else of that epoch (or any other failure) MLS_E_EPOCH. */
static int process_prev(mls_group *prev, const uint8_t *msg, size_t msg_len, mls_event *ev)
{
    mls_buf gc = { 0 };
    mls_framing_ctx ctx;
    mls_authenticated_content ac;
    uint32_t gen = 0;
    int rc;

    memset(&ac, 0, sizeof ac);
    if ((rc = mls_group_framing_ctx(prev, &gc, &ctx)))
        return rc;
    ctx.membership_key = NULL; /* wiped: only PrivateMessages of that epoch are read */
    rc = mls_framing_unprotect(&ctx, msg, msg_len, mls_group_sender_key, prev, &ac, &gen);
    mls_buf_free(&gc);
    if (rc == MLS_E_NOMEM || rc == MLS_E_REPLAY)
        goto fail;
    if (rc || ac.content.content_type != MLS_CONTENT_APPLICATION ||
        ac.content.sender.sender_type != MLS_SENDER_MEMBER) {
        rc = MLS_E_EPOCH;
        goto fail;
    }
    ev->kind = MLS_EV_APPLICATION;
    ev->sender_kind = MLS_EV_SENDER_MEMBER;
    ev->sender_leaf = ac.content.sender.index;
    ev->epoch = ac.content.epoch;
    ev->generation = gen;
    if ((rc = sender_identity(prev, &ac.content, &ev->sender_identity)) ||
        (rc = mls_bytes_set(&ev->data, ac.content.application_data.p,
                            ac.content.application_data.len)) ||
        (ac.content.authenticated_data.len &&
         (rc = mls_bytes_set(&ev->aad, ac.content.authenticated_data.p,
                             ac.content.authenticated_data.len))))
        goto fail;
fail:
    mls_authenticated_content_free(&ac);
    if (rc)
        mls_event_free(ev);
    return rc;
}

int mls_group_process(mls_group *g, const uint8_t *msg, size_t msg_len, uint64_t now,
                      mls_event *ev)
{
    mls_buf gc = { 0 };
    mls_framing_ctx ctx;
    mls_authenticated_content ac;
    uint32_t gen = 0;
    int rc;

    memset(ev, 0, sizeof *ev);
    memset(&ac, 0, sizeof ac);
    if (!msg)
        return MLS_E_INVALID;
    if (g->removed)
        return MLS_E_STATE;
    if (g->pending_next && mls_bytes_eq(msg, msg_len, g->pending_commit.p, g->pending_commit.len)) {
        uint64_t ep = g->gc.epoch;
        if ((rc = mls_group_commit_merge(g)))
            return rc;
        ev->kind = MLS_EV_COMMIT;
        ev->sender_kind = MLS_EV_SENDER_MEMBER;
        ev->sender_leaf = g->own_leaf;
        ev->epoch = ep;
        ev->new_epoch = g->gc.epoch;
        ev->own_commit = 1;
        ev->removed = g->removed;
        return 0;
    }
    if ((rc = mls_group_framing_ctx(g, &gc, &ctx)))
        return rc;
    rc = mls_framing_unprotect(&ctx, msg, msg_len, mls_group_sender_key, g, &ac, &gen);
    mls_buf_free(&gc);
    if (rc == MLS_E_EPOCH && g->prev)
        return process_prev(g->prev, msg, msg_len, ev);
    if (rc)
        goto fail;
    const mls_framed_content *fc = &ac.content;
    ev->sender_kind = fc->sender.sender_type;
    ev->sender_leaf = fc->sender.index;
    ev->epoch = fc->epoch;
    ev->generation = gen;
    if ((rc = sender_identity(g, fc, &ev->sender_identity)) ||
        (fc->authenticated_data.len &&
         (rc = mls_bytes_set(&ev->aad, fc->authenticated_data.p, fc->authenticated_data.len))))
        goto fail;
    switch (fc->content_type) {
    case MLS_CONTENT_APPLICATION:
        if (fc->sender.sender_type != MLS_SENDER_MEMBER) {
            rc = MLS_E_SENDER;
            goto fail;
        }
        ev->kind = MLS_EV_APPLICATION;
        rc = mls_bytes_set(&ev->data, fc->application_data.p, fc->application_data.len);
        break;
    case MLS_CONTENT_PROPOSAL:
        ev->kind = MLS_EV_PROPOSAL;
        rc = recv_proposal(g, &ac);
        break;
    case MLS_CONTENT_COMMIT: {
        int had_pending = g->pending_next != NULL;
        ev->kind = MLS_EV_COMMIT;
        rc = recv_commit(g, &ac, now, ev);
        if (!rc && had_pending) {
            /* someone else's commit won this epoch: ours is void */
            mls_group_commit_discard(g);
            ev->own_commit_discarded = 1;
        }
        break;
    }
    default:
        rc = MLS_E_DECODE;
    }
fail:
    mls_authenticated_content_free(&ac);
    if (rc)
        mls_event_free(ev);
    return rc;
}
