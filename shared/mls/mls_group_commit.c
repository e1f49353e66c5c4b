/* mls_group_commit: creating a commit and its Welcome (RFC 9420 12.4.1, 12.4.3), kept
 * pending until the caller merges or discards it. */
#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_extension.h"
#include "mls_group_int.h"
#include "mls_transcript.h"
#include "mls_welcome.h"

/* 1 if the pending proposal i should go into our commit (12.2: not our own Update,
 * not a second Update/Remove for one leaf, not a Remove of us; a Remove wins over an
 * Update of the same leaf; a ReInit only when nothing else is pending, see
 * build_proposals; an inline Remove or GroupContextExtensions in o replaces pending
 * ones for the same leaf / the context). */
static int removed_inline(const mls_commit_opts *o, uint32_t leaf)
{
    for (size_t i = 0; o && i < o->n_remove; i++)
        if (o->remove[i] == leaf)
            return 1;
    return 0;
}

static int take_pending(const mls_group *g, const mls_commit_opts *o, size_t i)
{
    const mls_pending_proposal *pp = &g->props[i];
    const mls_proposal *p = &pp->proposal;
    uint32_t leaf;
    if ((p->proposal_type == MLS_PROPOSAL_UPDATE && removed_inline(o, pp->sender.index)) ||
        (p->proposal_type == MLS_PROPOSAL_REMOVE && removed_inline(o, p->remove)) ||
        (p->proposal_type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS && o && o->gce))
        return 0; /* what the caller asks for now wins */
    if (p->proposal_type == MLS_PROPOSAL_UPDATE) {
        if (pp->sender.sender_type != MLS_SENDER_MEMBER || pp->sender.index == g->own_leaf)
            return 0;
        leaf = pp->sender.index;
        for (size_t j = 0; j < g->n_props; j++)
            if (g->props[j].proposal.proposal_type == MLS_PROPOSAL_REMOVE &&
                g->props[j].proposal.remove == leaf)
                return 0;
        for (size_t j = i + 1; j < g->n_props; j++)
            if (g->props[j].proposal.proposal_type == MLS_PROPOSAL_UPDATE &&
                g->props[j].sender.index == leaf)
                return 0; /* the most recent Update wins */
        return 1;
    }
    if (p->proposal_type == MLS_PROPOSAL_REMOVE) {
        if (p->remove == g->own_leaf)
            return 0;
        for (size_t j = 0; j < i; j++)
            if (g->props[j].proposal.proposal_type == MLS_PROPOSAL_REMOVE &&
                g->props[j].proposal.remove == p->remove)
                return 0;
        return 1;
    }
    if (p->proposal_type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS) {
        for (size_t j = i + 1; j < g->n_props; j++)
            if (g->props[j].proposal.proposal_type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS)
                return 0;
        return 1;
    }
    return p->proposal_type != MLS_PROPOSAL_REINIT;
}

/* The proposals of our commit: the pending ones by reference, then opts' by value. */
static int build_proposals(mls_group *g, const mls_commit_opts *o, uint64_t now,
                           mls_rng *rng, mls_commit *c)
{
    size_t n = g->n_props + (o ? o->n_add + o->n_remove + o->n_psk + (o->gce ? 1 : 0) : 0);
    size_t k = 0;
    int rc;
    if (n == 0)
        return 0;
    c->proposals = mls_alloc_array(n, sizeof *c->proposals);
    if (!c->proposals)
        return MLS_E_NOMEM;
    for (size_t i = 0; i < g->n_props; i++) {
        if (!take_pending(g, o, i))
            continue;
        c->proposals[k].type = MLS_POR_REFERENCE;
        c->n_proposals = ++k;
        if ((rc = mls_bytes_set(&c->proposals[k - 1].reference, g->props[i].ref, MLS_HASH_LEN)))
            return rc;
    }
    if (k == 0 && n == g->n_props) {
        /* nothing else to commit: a pending ReInit goes alone */
        for (size_t i = 0; i < g->n_props; i++) {
            if (g->props[i].proposal.proposal_type != MLS_PROPOSAL_REINIT)
                continue;
            c->proposals[0].type = MLS_POR_REFERENCE;
            c->n_proposals = 1;
            return mls_bytes_set(&c->proposals[0].reference, g->props[i].ref, MLS_HASH_LEN);
        }
    }
    if (!o)
        return 0;
    if (o->gce) {
        mls_proposal *p = &c->proposals[k].proposal;
        c->proposals[k].type = MLS_POR_PROPOSAL;
        c->n_proposals = ++k;
        p->proposal_type = MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
        if ((rc = mls_extension_list_decode_all(o->gce, o->gce_len,
                                                &p->group_context_extensions)))
            return rc;
    }
    for (size_t i = 0; i < o->n_remove; i++) {
        mls_proposal *p = &c->proposals[k].proposal;
        c->proposals[k].type = MLS_POR_PROPOSAL;
        c->n_proposals = ++k;
        p->proposal_type = MLS_PROPOSAL_REMOVE;
        p->remove = o->remove[i];
    }
    for (size_t i = 0; i < o->n_add; i++) {
        const uint8_t *body;
        size_t body_len;
        mls_proposal *p = &c->proposals[k].proposal;
        c->proposals[k].type = MLS_POR_PROPOSAL;
        c->n_proposals = ++k;
        p->proposal_type = MLS_PROPOSAL_ADD;
        if ((rc = mls_group_decode_kp(o->add_kps[i].p, o->add_kps[i].len, &p->add, &body,
                                      &body_len)))
            return rc == MLS_E_DECODE ? MLS_E_KEY_PACKAGE : rc;
        if ((rc = mls_key_package_validate(&p->add, now)))
            return rc == MLS_E_UNSUPPORTED ? MLS_E_KEY_PACKAGE : rc;
    }
    for (size_t i = 0; i < o->n_psk; i++) {
        mls_proposal *p = &c->proposals[k].proposal;
        c->proposals[k].type = MLS_POR_PROPOSAL;
        c->n_proposals = ++k;
        p->proposal_type = MLS_PROPOSAL_PSK;
        if ((rc = mls_group_ext_psk_id(g, o->psk_ids[i].p, o->psk_ids[i].len, rng, &p->psk)))
            return rc;
    }
    return 0;
}

/* The Welcome for the members the commit adds: GroupInfo of next signed by us, sealed
 * with next's welcome secret, the GroupSecrets sealed to each KeyPackage. */
static int build_welcome(mls_group *g, mls_group *next, const mls_prop_list *pl,
                         const uint32_t *added, size_t n_added, const mls_treekem_commit *tkc,
                         int with_path, int tree_in_welcome, mls_rng *rng, mls_bytes *out)
{
    mls_group_info gi;
    mls_welcome w;
    mls_group_secrets gs;
    mls_buf b = { 0 };
    size_t n_psk = 0, k = 0;
    int rc;

    (void)g;
    memset(&gi, 0, sizeof gi);
    memset(&w, 0, sizeof w);
    memset(&gs, 0, sizeof gs);
    if ((rc = mls_group_context_copy(&gi.group_context, &next->gc)) ||
        (rc = mls_bytes_set(&gi.confirmation_tag, next->confirmation_tag.p,
                            next->confirmation_tag.len)))
        goto fail;
    if (tree_in_welcome) {
        if ((rc = mls_tree_encode(next->tree, &b)) ||
            (rc = mls_extension_list_set(&gi.extensions, MLS_EXT_RATCHET_TREE, b.p, b.len)))
            goto fail;
    }
    gi.signer = next->own_leaf;
    if ((rc = mls_group_info_sign(&gi, next->sig_seed)) ||
        (rc = mls_welcome_seal_group_info(&w, &gi, next->es.welcome_secret)))
        goto fail;
    for (size_t i = 0; i < pl->n; i++)
        if (pl->p[i]->proposal_type == MLS_PROPOSAL_PSK)
            n_psk++;
    if ((rc = mls_bytes_set(&gs.joiner_secret, next->es.joiner_secret, MLS_HASH_LEN)))
        goto fail;
    if (n_psk) {
        gs.psks = mls_alloc_array(n_psk, sizeof *gs.psks);
        if (!gs.psks) {
            rc = MLS_E_NOMEM;
            goto fail;
        }
        for (size_t i = 0; i < pl->n; i++) {
            if (pl->p[i]->proposal_type != MLS_PROPOSAL_PSK)
                continue;
            gs.n_psks = k + 1;
            if ((rc = mls_psk_id_copy(&gs.psks[k++], &pl->p[i]->psk)))
                goto fail;
        }
    }
    size_t a = 0;
    for (size_t i = 0; i < pl->n; i++) {
        if (pl->p[i]->proposal_type != MLS_PROPOSAL_ADD)
            continue;
        const mls_key_package *kp = &pl->p[i]->add;
        uint8_t ref[MLS_HASH_LEN], ps[MLS_HASH_LEN];
        mls_bytes_free(&gs.path_secret);
        gs.has_path_secret = 0;
        if (with_path && a < n_added &&
            mls_treekem_commit_path_secret(tkc, added[a], ps) == 0) {
            gs.has_path_secret = 1;
            rc = mls_bytes_set(&gs.path_secret, ps, sizeof ps);
            sodium_memzero(ps, sizeof ps);
            if (rc)
                goto fail;
        }
        a++;
        if ((rc = mls_key_package_ref(kp, ref)) ||
            (rc = mls_welcome_add_member(&w, kp, ref, &gs, rng)))
            goto fail;
    }
    mls_buf_reset(&b);
    mls_w_u16(&b, MLS_PROTOCOL_VERSION);
    mls_w_u16(&b, MLS_WIRE_FORMAT_WELCOME);
    if ((rc = mls_welcome_encode(&b, &w)))
        goto fail;
    rc = mls_bytes_set(out, b.p, b.len);
fail:
    mls_group_info_free(&gi);
    mls_welcome_free(&w);
    mls_group_secrets_free(&gs);
    mls_buf_free(&b);
    return rc;
}

int mls_group_commit(mls_group *g, const mls_commit_opts *opts, uint64_t now, mls_rng *rng,
                     mls_commit_out *out)
{
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    mls_prop_list pl;
    mls_group *next = NULL;
    mls_treekem_commit tkc;
    mls_buf gc_old = { 0 }, gcb = { 0 }, fcb = { 0 }, msg = { 0 };
    mls_framing_ctx ctx;
    mls_psk_id *psk_ids = NULL;
    uint32_t *added = NULL;
    size_t n_added = 0, n_psk = 0, n_alloc = 0, n_psk_alloc = 0;
    uint8_t psk_secret[MLS_HASH_LEN], th[MLS_HASH_LEN], cth[MLS_HASH_LEN], tag[MLS_HASH_LEN];
    mls_sender me = { MLS_SENDER_MEMBER, g->own_leaf };
    int as_private = opts ? opts->as_private : 0;
    uint16_t wf = as_private ? MLS_WIRE_FORMAT_PRIVATE_MESSAGE : MLS_WIRE_FORMAT_PUBLIC_MESSAGE;
    int with_path, rc;

    memset(out, 0, sizeof *out);
    memset(&fc, 0, sizeof fc);
    memset(&auth, 0, sizeof auth);
    memset(&pl, 0, sizeof pl);
    memset(&tkc, 0, sizeof tkc);
    if (g->removed || g->reinit || g->pending_next)
        return MLS_E_STATE;
    fc.content_type = MLS_CONTENT_COMMIT;
    if ((rc = build_proposals(g, opts, now, rng, &fc.commit)) ||
        (rc = mls_prop_list_resolve(g, &fc.commit, &me, &pl)) ||
        (rc = mls_prop_list_validate(g, &pl, &me, now)))
        goto fail;
    for (size_t i = 0; i < pl.n; i++)
        if (pl.p[i]->proposal_type == MLS_PROPOSAL_PSK)
            n_psk++;
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
            psk_ids[n_psk++] = pl.p[i]->psk;
    if ((rc = mls_welcome_psk_secret(psk_ids, n_psk, 0, mls_group_psk_lookup, g, psk_secret)) ||
        (rc = mls_group_clone(&next, g)) ||
        (rc = mls_prop_list_apply(next, &pl, added, &n_added)))
        goto fail;
    with_path = mls_prop_list_path_required(&pl) || (opts && opts->force_path);
    next->gc.epoch = g->gc.epoch + 1;
    if (with_path &&
        (rc = mls_treekem_commit_start(next->tree, next->own_leaf, NULL, g->sig_seed,
                                       g->gc.group_id.p, g->gc.group_id.len, rng, &tkc)))
        goto fail;
    if ((rc = mls_tree_root_hash(next->tree, th)) ||
        (rc = mls_bytes_set(&next->gc.tree_hash, th, sizeof th)))
        goto fail;
    if (with_path) {
        if ((rc = mls_group_gc_encode(next, &gcb)) ||
            (rc = mls_treekem_commit_encrypt(next->tree, &tkc, added, n_added, gcb.p, gcb.len,
                                             rng, &fc.commit.path)))
            goto fail;
        fc.commit.has_path = 1;
    }
    if ((rc = mls_bytes_set(&fc.group_id, g->gc.group_id.p, g->gc.group_id.len)))
        goto fail;
    fc.epoch = g->gc.epoch;
    fc.sender = me;
    if ((rc = mls_group_framing_ctx(g, &gc_old, &ctx)) ||
        (rc = mls_framing_sign(&ctx, wf, &fc, g->sig_seed, &auth)) ||
        (rc = mls_framed_content_encode(&fcb, &fc)) ||
        (rc = mls_transcript_confirmed_parts(g->interim, MLS_HASH_LEN, wf, fcb.p, fcb.len,
                                             auth.signature.p, auth.signature.len, cth)) ||
        (rc = mls_bytes_set(&next->gc.confirmed_transcript_hash, cth, sizeof cth)))
        goto fail;
    mls_buf_reset(&gcb);
    if ((rc = mls_group_gc_encode(next, &gcb)) ||
        (rc = mls_keysched_from_init(g->es.init_secret, with_path ? tkc.commit_secret : NULL,
                                     n_psk ? psk_secret : NULL, gcb.p, gcb.len, &next->es)))
        goto fail;
    mls_keysched_confirmation_tag(&next->es, cth, sizeof cth, tag);
    if ((rc = mls_bytes_set(&auth.confirmation_tag, tag, sizeof tag)) ||
        (rc = mls_bytes_set(&next->confirmation_tag, tag, sizeof tag)))
        goto fail;
    if (with_path)
        mls_treekem_commit_finish(&tkc, next->tree, &next->priv);
    if (n_added &&
        (rc = build_welcome(g, next, &pl, added, n_added, &tkc, with_path,
                            opts ? opts->tree_in_welcome : 0, rng, &out->welcome)))
        goto fail;
    if (n_added && !(opts && opts->tree_in_welcome)) {
        mls_buf tb = { 0 };
        rc = mls_tree_encode(next->tree, &tb);
        if (!rc)
            rc = mls_bytes_set(&out->tree, tb.p, tb.len);
        mls_buf_free(&tb);
        if (rc)
            goto fail;
    }
    if ((rc = mls_group_finish_epoch(next)))
        goto fail;
    /* protect last: a PrivateMessage consumes a handshake generation of this epoch */
    if (as_private)
        rc = mls_framing_protect_private(&ctx, &fc, &auth, 0, rng, &msg, NULL);
    else
        rc = mls_framing_protect_public(&ctx, &fc, &auth, &msg);
    if (rc || (rc = mls_bytes_set(&out->commit, msg.p, msg.len)) ||
        (rc = mls_bytes_set(&g->pending_commit, msg.p, msg.len)))
        goto fail;
    g->pending_next = next;
    next = NULL;
fail:
    mls_group_free(next);
    mls_prop_list_free(&pl);
    mls_free(added, n_alloc * sizeof *added);
    mls_free(psk_ids, n_psk_alloc * sizeof *psk_ids);
    mls_framed_content_free(&fc);
    mls_framed_content_auth_data_free(&auth);
    mls_treekem_commit_wipe(&tkc);
    mls_buf_free(&gc_old);
    mls_buf_free(&gcb);
    mls_buf_free(&fcb);
    mls_buf_free(&msg);
    sodium_memzero(psk_secret, sizeof psk_secret);
    if (rc) {
        mls_commit_out_free(out);
        mls_bytes_free(&g->pending_commit);
    }
    return rc;
}

int mls_group_commit_merge(mls_group *g)
{
    if (!g->pending_next)
        return MLS_E_STATE;
    mls_group *next = g->pending_next;
    g->pending_next = NULL;
    mls_bytes_free(&g->pending_commit);
    mls_group_replace(g, next);
    return 0;
}

void mls_group_commit_discard(mls_group *g)
{
    mls_group_free(g->pending_next);
    g->pending_next = NULL;
    mls_bytes_free(&g->pending_commit);
}
