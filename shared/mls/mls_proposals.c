/* mls_proposals: resolving a commit's proposal list, its validation (RFC 9420 12.2) and
 * its application to the next epoch's tree and GroupContext (12.3). */
#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_group_int.h"

void mls_prop_list_free(mls_prop_list *l)
{
    mls_free(l->p, l->n * sizeof *l->p);
    mls_free(l->sender, l->n * sizeof *l->sender);
    mls_free(l->pending, l->n * sizeof *l->pending);
    memset(l, 0, sizeof *l);
}

static const mls_pending_proposal *find_pending(const mls_group *g, const mls_bytes *ref)
{
    if (ref->len != MLS_HASH_LEN)
        return NULL;
    for (size_t i = 0; i < g->n_props; i++)
        if (sodium_memcmp(g->props[i].ref, ref->p, MLS_HASH_LEN) == 0)
            return &g->props[i];
    return NULL;
}

int mls_prop_list_resolve(const mls_group *g, const mls_commit *c, const mls_sender *committer,
                          mls_prop_list *out)
{
    size_t n = c->n_proposals;
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    out->p = mls_alloc_array(n, sizeof *out->p);
    out->sender = mls_alloc_array(n, sizeof *out->sender);
    out->pending = mls_alloc_array(n, sizeof *out->pending);
    out->n = n;
    if (!out->p || !out->sender || !out->pending) {
        mls_prop_list_free(out);
        return MLS_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const mls_proposal_or_ref *por = &c->proposals[i];
        if (por->type == MLS_POR_PROPOSAL) {
            out->p[i] = &por->proposal;
            out->sender[i] = *committer;
            continue;
        }
        if (committer->sender_type != MLS_SENDER_MEMBER) {
            mls_prop_list_free(out);
            return MLS_E_PROPOSAL;
        }
        const mls_pending_proposal *pp = find_pending(g, &por->reference);
        if (!pp) {
            mls_prop_list_free(out);
            return MLS_E_NOT_FOUND;
        }
        out->p[i] = &pp->proposal;
        out->sender[i] = pp->sender;
        out->pending[i] = pp;
    }
    return 0;
}

int mls_prop_list_path_required(const mls_prop_list *l)
{
    if (l->n == 0)
        return 1;
    for (size_t i = 0; i < l->n; i++) {
        uint16_t t = l->p[i]->proposal_type;
        if (t == MLS_PROPOSAL_UPDATE || t == MLS_PROPOSAL_REMOVE ||
            t == MLS_PROPOSAL_EXTERNAL_INIT || t == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS)
            return 1;
    }
    return 0;
}

/* 1 if leaf is removed by a Remove in l. */
static int removed_in(const mls_prop_list *l, uint32_t leaf)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i]->proposal_type == MLS_PROPOSAL_REMOVE && l->p[i]->remove == leaf)
            return 1;
    return 0;
}

/* The GroupContext extensions in force after l (the GCE's, or the group's). */
static const mls_extension_list *new_extensions(const mls_group *g, const mls_prop_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i]->proposal_type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS)
            return &l->p[i]->group_context_extensions;
    return &g->gc.extensions;
}

/* A leaf node's key must not already be in the tree (other than at leaf except_leaf). */
static int key_fresh(const mls_group *g, const mls_leaf_node *ln, uint32_t except_leaf)
{
    uint32_t nd = mls_tree_find_encryption_key(g->tree, ln->encryption_key.p,
                                               ln->encryption_key.len);
    if (nd != MLS_NODE_NONE)
        return MLS_E_LEAF_NODE;
    uint32_t lf = mls_tree_find_signature_key(g->tree, ln->signature_key.p,
                                              ln->signature_key.len);
    if (lf != MLS_NODE_NONE && lf != except_leaf)
        return MLS_E_LEAF_NODE;
    return 0;
}

static int check_add(const mls_group *g, const mls_prop_list *l, size_t i,
                     const mls_extension_list *ext, uint64_t now)
{
    const mls_key_package *kp = &l->p[i]->add;
    int rc = mls_key_package_validate(kp, now);
    if (rc)
        return rc;
    if ((rc = mls_group_leaf_supports(&kp->leaf_node, ext)) ||
        (rc = mls_group_credential_compat(g->tree, &kp->leaf_node, MLS_NODE_NONE)))
        return rc;
    if (mls_tree_find_encryption_key(g->tree, kp->leaf_node.encryption_key.p,
                                     kp->leaf_node.encryption_key.len) != MLS_NODE_NONE)
        return MLS_E_LEAF_NODE;
    uint32_t lf = mls_tree_find_signature_key(g->tree, kp->leaf_node.signature_key.p,
                                              kp->leaf_node.signature_key.len);
    if (lf != MLS_NODE_NONE && !removed_in(l, lf))
        return MLS_E_PROPOSAL;
    for (size_t j = 0; j < i; j++) {
        const mls_proposal *o = l->p[j];
        if (o->proposal_type == MLS_PROPOSAL_ADD &&
            mls_bytes_eq(o->add.leaf_node.signature_key.p, o->add.leaf_node.signature_key.len,
                         kp->leaf_node.signature_key.p, kp->leaf_node.signature_key.len))
            return MLS_E_PROPOSAL;
    }
    return 0;
}

static int check_update(const mls_group *g, const mls_prop_list *l, size_t i,
                        const mls_extension_list *ext)
{
    const mls_leaf_node *ln = &l->p[i]->update;
    const mls_sender *s = &l->sender[i];
    int rc;
    if (s->sender_type != MLS_SENDER_MEMBER || !mls_tree_leaf(g->tree, s->index))
        return MLS_E_PROPOSAL;
    if ((rc = mls_leaf_node_check_suite(ln)))
        return rc;
    if (ln->leaf_node_source != MLS_LEAF_SOURCE_UPDATE)
        return MLS_E_LEAF_NODE;
    if ((rc = mls_leaf_node_verify(ln, g->gc.group_id.p, g->gc.group_id.len, s->index)))
        return rc;
    if ((rc = mls_group_leaf_same_member(mls_tree_leaf(g->tree, s->index), ln)))
        return rc;
    if ((rc = mls_group_leaf_supports(ln, ext)) ||
        (rc = mls_group_credential_compat(g->tree, ln, s->index)))
        return rc;
    return key_fresh(g, ln, s->index);
}

/* Members remaining after l must support the new extensions of a GCE. */
static int check_gce(const mls_group *g, const mls_prop_list *l, const mls_extension_list *ext)
{
    uint32_t n = mls_tree_n_leaves(g->tree);
    for (uint32_t lf = 0; lf < n; lf++) {
        const mls_leaf_node *ln = mls_tree_leaf(g->tree, lf);
        if (!ln || removed_in(l, lf))
            continue;
        for (size_t i = 0; i < l->n; i++)
            if (l->p[i]->proposal_type == MLS_PROPOSAL_UPDATE && l->sender[i].index == lf)
                ln = &l->p[i]->update;
        if (mls_group_leaf_supports(ln, ext))
            return MLS_E_CAPABILITIES;
    }
    return 0;
}

static int validate_external(const mls_group *g, const mls_prop_list *l)
{
    size_t n_ei = 0, n_rm = 0;
    for (size_t i = 0; i < l->n; i++) {
        const mls_proposal *p = l->p[i];
        switch (p->proposal_type) {
        case MLS_PROPOSAL_EXTERNAL_INIT:
            if (++n_ei > 1 || p->external_init.len != MLS_KEM_ENC_LEN)
                return MLS_E_PROPOSAL;
            break;
        case MLS_PROPOSAL_REMOVE:
            if (++n_rm > 1 || !mls_tree_leaf(g->tree, p->remove))
                return MLS_E_PROPOSAL;
            break;
        case MLS_PROPOSAL_PSK:
            if (mls_psk_id_check(&p->psk) ||
                (p->psk.psktype == MLS_PSK_RESUMPTION &&
                 p->psk.usage != MLS_PSK_USAGE_APPLICATION))
                return MLS_E_PSK;
            for (size_t j = 0; j < i; j++)
                if (l->p[j]->proposal_type == MLS_PROPOSAL_PSK &&
                    mls_psk_id_eq(&l->p[j]->psk, &p->psk))
                    return MLS_E_PROPOSAL;
            break;
        default:
            return MLS_E_PROPOSAL;
        }
    }
    return n_ei == 1 ? 0 : MLS_E_PROPOSAL;
}

int mls_prop_list_validate(const mls_group *g, const mls_prop_list *l,
                           const mls_sender *committer, uint64_t now)
{
    const mls_extension_list *ext = new_extensions(g, l);
    size_t n_gce = 0, n_reinit = 0;
    int rc;

    if (committer->sender_type == MLS_SENDER_NEW_MEMBER_COMMIT)
        return validate_external(g, l);
    if (committer->sender_type != MLS_SENDER_MEMBER)
        return MLS_E_SENDER;
    for (size_t i = 0; i < l->n; i++) {
        const mls_proposal *p = l->p[i];
        const mls_sender *s = &l->sender[i];
        switch (p->proposal_type) {
        case MLS_PROPOSAL_ADD:
            if ((rc = check_add(g, l, i, ext, now)))
                return rc;
            break;
        case MLS_PROPOSAL_UPDATE:
            if (s->sender_type == MLS_SENDER_MEMBER && s->index == committer->index)
                return MLS_E_PROPOSAL;
            if ((rc = check_update(g, l, i, ext)))
                return rc;
            break;
        case MLS_PROPOSAL_REMOVE:
            if (p->remove == committer->index || !mls_tree_leaf(g->tree, p->remove))
                return MLS_E_PROPOSAL;
            break;
        case MLS_PROPOSAL_PSK:
            if (mls_psk_id_check(&p->psk) ||
                (p->psk.psktype == MLS_PSK_RESUMPTION &&
                 p->psk.usage != MLS_PSK_USAGE_APPLICATION))
                return MLS_E_PSK;
            for (size_t j = 0; j < i; j++)
                if (l->p[j]->proposal_type == MLS_PROPOSAL_PSK &&
                    mls_psk_id_eq(&l->p[j]->psk, &p->psk))
                    return MLS_E_PROPOSAL;
            break;
        case MLS_PROPOSAL_REINIT:
            if (p->reinit.version < g->gc.version)
                return MLS_E_PROPOSAL;
            n_reinit++;
            break;
        case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
            if (++n_gce > 1)
                return MLS_E_PROPOSAL;
            break;
        default: /* external_init, or a type we cannot have decoded */
            return MLS_E_PROPOSAL;
        }
        /* one Update or Remove per leaf */
        if (p->proposal_type == MLS_PROPOSAL_UPDATE || p->proposal_type == MLS_PROPOSAL_REMOVE) {
            uint32_t leaf = p->proposal_type == MLS_PROPOSAL_REMOVE ? p->remove : s->index;
            for (size_t j = 0; j < i; j++) {
                const mls_proposal *o = l->p[j];
                uint32_t ol;
                if (o->proposal_type == MLS_PROPOSAL_REMOVE)
                    ol = o->remove;
                else if (o->proposal_type == MLS_PROPOSAL_UPDATE)
                    ol = l->sender[j].index;
                else
                    continue;
                if (ol == leaf)
                    return MLS_E_PROPOSAL;
            }
        }
    }
    if (n_reinit && l->n > 1)
        return MLS_E_PROPOSAL;
    if (n_gce && (rc = check_gce(g, l, ext)))
        return rc;
    return 0;
}

int mls_prop_list_apply(mls_group *next, const mls_prop_list *l, uint32_t *added,
                        size_t *n_added)
{
    int rc;
    *n_added = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->p[i]->proposal_type != MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS)
            continue;
        mls_extension_list copy;
        if ((rc = mls_extension_list_copy(&copy, &l->p[i]->group_context_extensions)))
            return rc;
        mls_extension_list_free(&next->gc.extensions);
        next->gc.extensions = copy;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->p[i]->proposal_type != MLS_PROPOSAL_UPDATE)
            continue;
        uint32_t leaf = l->sender[i].index;
        if (leaf == next->own_leaf) {
            const mls_pending_proposal *pp = l->pending[i];
            if (!pp || !pp->has_leaf_priv)
                return MLS_E_WRONG_KEY;
            mls_treekem_priv_set_leaf_key(&next->priv, pp->leaf_priv);
        }
        if ((rc = mls_tree_update_leaf(next->tree, leaf, &l->p[i]->update)))
            return rc;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->p[i]->proposal_type != MLS_PROPOSAL_REMOVE)
            continue;
        if (l->p[i]->remove == next->own_leaf)
            next->removed = 1;
        if ((rc = mls_tree_remove_leaf(next->tree, l->p[i]->remove)))
            return rc == MLS_E_INVALID ? MLS_E_PROPOSAL : rc;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->p[i]->proposal_type != MLS_PROPOSAL_ADD)
            continue;
        if ((rc = mls_tree_add_leaf(next->tree, &l->p[i]->add.leaf_node, &added[*n_added])))
            return rc;
        (*n_added)++;
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i]->proposal_type == MLS_PROPOSAL_REINIT)
            next->reinit = 1;
    return 0;
}
