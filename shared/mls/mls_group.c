/* mls_group: group creation, key packages, accessors and the state helpers the other
 * group modules share (see mls_group_int.h). */
#include "mls_group.h"

#include <string.h>

#include <sodium.h>

#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_extension.h"
#include "mls_group_int.h"
#include "mls_hpke.h"
#include "mls_keypackage.h"
#include "mls_leafnode.h"
#include "mls_transcript.h"

/* Default key package lifetime margin into the past (clock skew), seconds. */
#define KP_PAST_MARGIN 3600u

/* ---- shared helpers ---- */

void mls_group_clear(mls_group *g)
{
    if (!g)
        return;
    mls_group_context_free(&g->gc);
    mls_bytes_free(&g->confirmation_tag);
    mls_tree_free(g->tree);
    mls_treekem_priv_wipe(&g->priv);
    mls_epoch_secrets_wipe(&g->es);
    mls_secrettree_free(&g->st);
    mls_group_clear_proposals(g);
    mls_free(g->res_psks, g->n_res_psks * sizeof *g->res_psks);
    for (size_t i = 0; i < g->n_ext_psks; i++) {
        mls_bytes_free(&g->ext_psks[i].id);
        mls_bytes_free(&g->ext_psks[i].psk);
    }
    mls_free(g->ext_psks, g->n_ext_psks * sizeof *g->ext_psks);
    mls_group_free(g->pending_next);
    mls_group_free(g->prev);
    mls_bytes_free(&g->pending_commit);
    sodium_memzero(g, sizeof *g);
}

void mls_group_free(mls_group *g)
{
    if (!g)
        return;
    mls_group_clear(g);
    mls_free(g, sizeof *g);
}

int mls_group_clone(mls_group **out, const mls_group *g)
{
    mls_buf b = { 0 };
    int rc = mls_state_encode(g, &b);
    *out = NULL;
    if (!rc)
        rc = mls_state_decode(out, b.p, b.len);
    mls_buf_free(&b);
    return rc;
}

int mls_group_gc_encode(const mls_group *g, mls_buf *b)
{
    return mls_group_context_encode(b, &g->gc);
}

int mls_group_push_resumption(mls_group *g)
{
    if (g->n_res_psks && g->res_psks[g->n_res_psks - 1].epoch == g->gc.epoch) {
        memcpy(g->res_psks[g->n_res_psks - 1].psk, g->es.resumption_psk, MLS_HASH_LEN);
        return 0;
    }
    if (g->n_res_psks == MLS_GROUP_RESUMPTION_KEEP) {
        memmove(&g->res_psks[0], &g->res_psks[1], (g->n_res_psks - 1) * sizeof *g->res_psks);
        g->n_res_psks--;
    } else {
        mls_resumption_psk *np =
            mls_realloc(g->res_psks, g->n_res_psks * sizeof *np, (g->n_res_psks + 1) * sizeof *np);
        if (!np)
            return MLS_E_NOMEM;
        g->res_psks = np;
    }
    g->res_psks[g->n_res_psks].epoch = g->gc.epoch;
    memcpy(g->res_psks[g->n_res_psks].psk, g->es.resumption_psk, MLS_HASH_LEN);
    g->n_res_psks++;
    return 0;
}

int mls_group_psk_lookup(void *ctx, const mls_psk_id *id, const uint8_t **psk,
                         size_t *psk_len)
{
    const mls_group *g = ctx;
    if (id->psktype == MLS_PSK_EXTERNAL) {
        for (size_t i = 0; i < g->n_ext_psks; i++) {
            const mls_ext_psk_entry *e = &g->ext_psks[i];
            if (mls_bytes_eq(e->id.p, e->id.len, id->psk_id.p, id->psk_id.len)) {
                *psk = e->psk.p;
                *psk_len = e->psk.len;
                return 0;
            }
        }
        return MLS_E_PSK;
    }
    if (id->psktype == MLS_PSK_RESUMPTION && id->usage == MLS_PSK_USAGE_APPLICATION &&
        mls_bytes_eq(id->psk_group_id.p, id->psk_group_id.len, g->gc.group_id.p,
                     g->gc.group_id.len)) {
        for (size_t i = 0; i < g->n_res_psks; i++) {
            if (g->res_psks[i].epoch == id->psk_epoch) {
                *psk = g->res_psks[i].psk;
                *psk_len = MLS_HASH_LEN;
                return 0;
            }
        }
    }
    return MLS_E_PSK;
}

int mls_group_interim(const uint8_t *cth, size_t cth_len, const uint8_t *tag,
                      size_t tag_len, uint8_t out[MLS_HASH_LEN])
{
    mls_buf b = { 0 };
    mls_w_fixed(&b, cth, cth_len);
    mls_w_opaque(&b, tag, tag_len);
    int rc = mls_buf_status(&b);
    if (!rc)
        mls_hash(b.p, b.len, out);
    mls_buf_free(&b);
    return rc;
}

static int caps_have(const mls_u16_list *l, uint16_t v, uint16_t default_max)
{
    return (v >= 1 && v <= default_max) || mls_u16_list_contains(l, v);
}

int mls_group_leaf_supports(const mls_leaf_node *ln, const mls_extension_list *ext)
{
    const mls_capabilities *c = &ln->capabilities;
    if (!mls_u16_list_contains(&c->cipher_suites, MLS_CIPHER_SUITE) ||
        !mls_u16_list_contains(&c->versions, MLS_PROTOCOL_VERSION) ||
        !mls_u16_list_contains(&c->credentials, ln->credential.credential_type))
        return MLS_E_CAPABILITIES;
    if (mls_extension_list_check_types(ext, &c->extensions, 1))
        return MLS_E_CAPABILITIES;
    const mls_extension *rce = mls_extension_list_find(ext, MLS_EXT_REQUIRED_CAPABILITIES);
    if (!rce)
        return 0;
    mls_required_capabilities rc;
    int r = mls_required_capabilities_decode_all(rce->extension_data.p, rce->extension_data.len,
                                                 &rc);
    if (r)
        return r;
    for (size_t i = 0; !r && i < rc.extension_types.n; i++)
        if (!caps_have(&c->extensions, rc.extension_types.v[i], 5))
            r = MLS_E_CAPABILITIES;
    for (size_t i = 0; !r && i < rc.proposal_types.n; i++)
        if (!caps_have(&c->proposals, rc.proposal_types.v[i], 7))
            r = MLS_E_CAPABILITIES;
    for (size_t i = 0; !r && i < rc.credential_types.n; i++)
        if (!mls_u16_list_contains(&c->credentials, rc.credential_types.v[i]))
            r = MLS_E_CAPABILITIES;
    mls_required_capabilities_free(&rc);
    return r;
}

int mls_group_credential_compat(const mls_tree *t, const mls_leaf_node *ln, uint32_t skip)
{
    uint32_t n = mls_tree_n_leaves(t);
    for (uint32_t l = 0; l < n; l++) {
        const mls_leaf_node *o = mls_tree_leaf(t, l);
        if (!o || l == skip)
            continue;
        if (!mls_u16_list_contains(&o->capabilities.credentials, ln->credential.credential_type) ||
            !mls_u16_list_contains(&ln->capabilities.credentials, o->credential.credential_type))
            return MLS_E_CAPABILITIES;
    }
    return 0;
}

int mls_group_leaf_same_member(const mls_leaf_node *old, const mls_leaf_node *neu)
{
    if (old->signature_key.len != neu->signature_key.len ||
        sodium_memcmp(old->signature_key.p, neu->signature_key.p, old->signature_key.len) ||
        old->credential.credential_type != neu->credential.credential_type ||
        old->credential.identity.len != neu->credential.identity.len ||
        (old->credential.identity.len &&
         memcmp(old->credential.identity.p, neu->credential.identity.p,
                old->credential.identity.len)))
        return MLS_E_LEAF_NODE;
    return 0;
}

int mls_group_init_secret_tree(mls_group *g)
{
    mls_secrettree_free(&g->st);
    return mls_secrettree_init(&g->st, g->es.encryption_secret, mls_tree_n_leaves(g->tree));
}

/* ---- key packages ---- */

/* A fresh leaf node for me: keys, basic credential, default capabilities, the given
 * source (lifetime for key_package). The caller signs it. */
static int make_leaf(mls_leaf_node *ln, const mls_identity *me, uint8_t source,
                     uint64_t now, uint64_t lifetime_s, mls_rng *rng,
                     uint8_t enc_priv[MLS_KEM_SK_LEN])
{
    uint8_t pk[MLS_KEM_PK_LEN], spk[MLS_SIG_PUB_LEN];
    int rc;
    memset(ln, 0, sizeof *ln);
    if ((rc = mls_hpke_keygen(rng, enc_priv, pk)))
        return rc;
    mls_sig_pub_from_seed(me->sig_seed, spk);
    if ((rc = mls_bytes_set(&ln->encryption_key, pk, sizeof pk)) ||
        (rc = mls_bytes_set(&ln->signature_key, spk, sizeof spk)) ||
        (rc = mls_credential_init_basic(&ln->credential, me->identity, me->identity_len)) ||
        (rc = mls_capabilities_init_default(&ln->capabilities)))
        goto fail;
    ln->leaf_node_source = source;
    if (source == MLS_LEAF_SOURCE_KEY_PACKAGE) {
        ln->lifetime.not_before = now > KP_PAST_MARGIN ? now - KP_PAST_MARGIN : 0;
        ln->lifetime.not_after = now + lifetime_s < now ? UINT64_MAX : now + lifetime_s;
    }
    return 0;
fail:
    mls_leaf_node_free(ln);
    sodium_memzero(enc_priv, MLS_KEM_SK_LEN);
    return rc;
}

int mls_group_make_leaf(mls_leaf_node *ln, const mls_identity *me, uint8_t source,
                        uint64_t now, mls_rng *rng, uint8_t enc_priv[MLS_KEM_SK_LEN])
{
    return make_leaf(ln, me, source, now, 90u * 24 * 3600, rng, enc_priv);
}

static int encode_kp_message(const mls_key_package *kp, mls_bytes *out)
{
    mls_buf b = { 0 };
    mls_w_u16(&b, MLS_PROTOCOL_VERSION);
    mls_w_u16(&b, MLS_WIRE_FORMAT_KEY_PACKAGE);
    int rc = mls_key_package_encode(&b, kp);
    if (!rc)
        rc = mls_bytes_set(out, b.p, b.len);
    mls_buf_free(&b);
    return rc;
}

int mls_kp_bundle_create(mls_kp_bundle *out, const mls_identity *me, uint64_t now,
                         uint64_t lifetime_s, mls_rng *rng)
{
    mls_key_package kp;
    uint8_t ipk[MLS_KEM_PK_LEN];
    int rc;

    memset(out, 0, sizeof *out);
    memset(&kp, 0, sizeof kp);
    if (!me || !me->sig_seed || (!me->identity && me->identity_len))
        return MLS_E_INVALID;
    kp.version = MLS_PROTOCOL_VERSION;
    kp.cipher_suite = MLS_CIPHER_SUITE;
    rc = make_leaf(&kp.leaf_node, me, MLS_LEAF_SOURCE_KEY_PACKAGE, now, lifetime_s, rng,
                   out->enc_priv);
    if (rc)
        goto fail;
    if ((rc = mls_hpke_keygen(rng, out->init_priv, ipk)) ||
        (rc = mls_bytes_set(&kp.init_key, ipk, sizeof ipk)) ||
        (rc = mls_leaf_node_sign(&kp.leaf_node, me->sig_seed, NULL, 0, 0)) ||
        (rc = mls_key_package_sign(&kp, me->sig_seed)) ||
        (rc = mls_key_package_ref(&kp, out->ref)) ||
        (rc = encode_kp_message(&kp, &out->key_package)))
        goto fail;
    memcpy(out->sig_seed, me->sig_seed, MLS_SIG_SEED_LEN);
fail:
    mls_key_package_free(&kp);
    if (rc)
        mls_kp_bundle_free(out);
    return rc;
}

int mls_group_decode_kp(const uint8_t *p, size_t n, mls_key_package *kp, const uint8_t **body,
                        size_t *body_len)
{
    if (n >= 4 && p[0] == 0 && p[1] == MLS_PROTOCOL_VERSION && p[2] == 0 &&
        p[3] == MLS_WIRE_FORMAT_KEY_PACKAGE &&
        mls_key_package_decode_all(p + 4, n - 4, kp) == 0) {
        *body = p + 4;
        *body_len = n - 4;
        return 0;
    }
    *body = p;
    *body_len = n;
    return mls_key_package_decode_all(p, n, kp);
}

int mls_kp_bundle_from_parts(mls_kp_bundle *out, const uint8_t *kpb, size_t kp_len,
                             const uint8_t init_priv[MLS_KEM_SK_LEN],
                             const uint8_t enc_priv[MLS_KEM_SK_LEN],
                             const uint8_t sig_seed[MLS_SIG_SEED_LEN])
{
    mls_key_package kp;
    const uint8_t *body;
    size_t body_len;
    uint8_t pk[MLS_KEM_PK_LEN], spk[MLS_SIG_PUB_LEN];
    int rc;

    memset(out, 0, sizeof *out);
    memset(&kp, 0, sizeof kp);
    rc = mls_group_decode_kp(kpb, kp_len, &kp, &body, &body_len);
    if (rc)
        return rc;
    rc = MLS_E_KEY_PACKAGE;
    if (kp.init_key.len != MLS_KEM_PK_LEN || kp.leaf_node.encryption_key.len != MLS_KEM_PK_LEN ||
        kp.leaf_node.signature_key.len != MLS_SIG_PUB_LEN)
        goto fail;
    if (mls_hpke_pub_from_priv(init_priv, pk) || sodium_memcmp(pk, kp.init_key.p, sizeof pk))
        goto fail;
    if (mls_hpke_pub_from_priv(enc_priv, pk) ||
        sodium_memcmp(pk, kp.leaf_node.encryption_key.p, sizeof pk))
        goto fail;
    mls_sig_pub_from_seed(sig_seed, spk);
    if (sodium_memcmp(spk, kp.leaf_node.signature_key.p, sizeof spk))
        goto fail;
    if ((rc = mls_key_package_ref_bytes(body, body_len, out->ref)) ||
        (rc = encode_kp_message(&kp, &out->key_package)))
        goto fail;
    memcpy(out->init_priv, init_priv, MLS_KEM_SK_LEN);
    memcpy(out->enc_priv, enc_priv, MLS_KEM_SK_LEN);
    memcpy(out->sig_seed, sig_seed, MLS_SIG_SEED_LEN);
fail:
    mls_key_package_free(&kp);
    if (rc)
        mls_kp_bundle_free(out);
    return rc;
}

void mls_kp_bundle_free(mls_kp_bundle *b)
{
    if (!b)
        return;
    mls_bytes_free(&b->key_package);
    sodium_memzero(b, sizeof *b);
}

static const uint8_t kp_magic[4] = { 'M', 'L', 'S', 'K' };

int mls_kp_bundle_export(const mls_kp_bundle *b, mls_bytes *out)
{
    mls_buf w = { 0 };
    memset(out, 0, sizeof *out);
    mls_w_fixed(&w, kp_magic, sizeof kp_magic);
    mls_w_u8(&w, 1);
    mls_w_opaque(&w, b->key_package.p, b->key_package.len);
    mls_w_fixed(&w, b->init_priv, MLS_KEM_SK_LEN);
    mls_w_fixed(&w, b->enc_priv, MLS_KEM_SK_LEN);
    mls_w_fixed(&w, b->sig_seed, MLS_SIG_SEED_LEN);
    int rc = mls_buf_status(&w);
    if (!rc)
        rc = mls_bytes_set(out, w.p, w.len);
    mls_buf_free(&w);
    return rc;
}

int mls_kp_bundle_import(mls_kp_bundle *out, const uint8_t *p, size_t n)
{
    mls_rd r;
    mls_slice magic, kp, ip, ep, sp;
    uint8_t ver;
    memset(out, 0, sizeof *out);
    if (!p)
        return MLS_E_INVALID;
    mls_rd_init(&r, p, n);
    if (mls_rd_fixed(&r, sizeof kp_magic, &magic) ||
        memcmp(magic.p, kp_magic, sizeof kp_magic) || mls_rd_u8(&r, &ver))
        return MLS_E_DECODE;
    if (ver != 1)
        return MLS_E_UNSUPPORTED;
    if (mls_rd_opaque(&r, &kp) || mls_rd_fixed(&r, MLS_KEM_SK_LEN, &ip) ||
        mls_rd_fixed(&r, MLS_KEM_SK_LEN, &ep) || mls_rd_fixed(&r, MLS_SIG_SEED_LEN, &sp) ||
        mls_rd_end(&r))
        return MLS_E_DECODE;
    return mls_kp_bundle_from_parts(out, kp.p, kp.len, ip.p, ep.p, sp.p);
}

/* ---- creation ---- */

int mls_group_create(mls_group **out, const uint8_t *group_id, size_t group_id_len,
                     const mls_identity *me, const uint8_t *extensions, size_t ext_len,
                     uint64_t now, mls_rng *rng)
{
    mls_group *g = NULL;
    mls_leaf_node ln;
    mls_buf gc = { 0 };
    uint8_t enc_priv[MLS_KEM_SK_LEN], init_secret[MLS_HASH_LEN], tag[MLS_HASH_LEN];
    uint8_t th[MLS_HASH_LEN];
    int rc;

    *out = NULL;
    memset(&ln, 0, sizeof ln);
    if (!group_id || group_id_len == 0 || !me || !me->sig_seed)
        return MLS_E_INVALID;
    g = mls_alloc(sizeof *g);
    if (!g)
        return MLS_E_NOMEM;
    g->gc.version = MLS_PROTOCOL_VERSION;
    g->gc.cipher_suite = MLS_CIPHER_SUITE;
    if ((rc = mls_bytes_set(&g->gc.group_id, group_id, group_id_len)))
        goto fail;
    if (extensions && ext_len) {
        mls_rd r;
        mls_rd_init(&r, extensions, ext_len);
        if ((rc = mls_extension_list_decode(&r, &g->gc.extensions)))
            goto fail;
        if ((rc = mls_rd_end(&r)))
            goto fail;
    }
    rc = make_leaf(&ln, me, MLS_LEAF_SOURCE_KEY_PACKAGE, now, 90u * 24 * 3600, rng, enc_priv);
    if (rc)
        goto fail;
    if ((rc = mls_group_leaf_supports(&ln, &g->gc.extensions)) ||
        (rc = mls_leaf_node_sign(&ln, me->sig_seed, NULL, 0, 0)) ||
        (rc = mls_tree_new(&g->tree)) || (rc = mls_tree_add_leaf(g->tree, &ln, &g->own_leaf)) ||
        (rc = mls_tree_root_hash(g->tree, th)) ||
        (rc = mls_bytes_set(&g->gc.tree_hash, th, sizeof th)))
        goto fail;
    mls_treekem_priv_init(&g->priv, g->own_leaf, enc_priv);
    memcpy(g->sig_seed, me->sig_seed, MLS_SIG_SEED_LEN);
    mls_rng_fill(rng, init_secret, sizeof init_secret);
    if ((rc = mls_group_gc_encode(g, &gc)) ||
        (rc = mls_keysched_from_init(init_secret, NULL, NULL, gc.p, gc.len, &g->es)))
        goto fail;
    mls_keysched_forget_joiner(&g->es);
    mls_keysched_confirmation_tag(&g->es, NULL, 0, tag);
    if ((rc = mls_bytes_set(&g->confirmation_tag, tag, sizeof tag)) ||
        (rc = mls_group_interim(NULL, 0, tag, sizeof tag, g->interim)) ||
        (rc = mls_group_init_secret_tree(g)) || (rc = mls_group_push_resumption(g)))
        goto fail;
    *out = g;
    g = NULL;
fail:
    mls_group_free(g);
    mls_leaf_node_free(&ln);
    mls_buf_free(&gc);
    sodium_memzero(enc_priv, sizeof enc_priv);
    sodium_memzero(init_secret, sizeof init_secret);
    return rc;
}

int mls_group_add_ext_psk(mls_group *g, const uint8_t *id, size_t id_len, const uint8_t *psk,
                          size_t psk_len)
{
    mls_ext_psk_entry e;
    int rc;
    if (!id || !psk || id_len == 0)
        return MLS_E_INVALID;
    for (size_t i = 0; i < g->n_ext_psks; i++)
        if (mls_bytes_eq(g->ext_psks[i].id.p, g->ext_psks[i].id.len, id, id_len))
            return mls_bytes_set(&g->ext_psks[i].psk, psk, psk_len);
    memset(&e, 0, sizeof e);
    if ((rc = mls_bytes_set(&e.id, id, id_len)) || (rc = mls_bytes_set(&e.psk, psk, psk_len)))
        goto fail;
    mls_ext_psk_entry *np = mls_realloc(g->ext_psks, g->n_ext_psks * sizeof *np,
                                        (g->n_ext_psks + 1) * sizeof *np);
    if (!np) {
        rc = MLS_E_NOMEM;
        goto fail;
    }
    g->ext_psks = np;
    g->ext_psks[g->n_ext_psks++] = e;
    return 0;
fail:
    mls_bytes_free(&e.id);
    mls_bytes_free(&e.psk);
    return rc;
}

/* ---- accessors ---- */

uint64_t mls_group_epoch(const mls_group *g)
{
    return g->gc.epoch;
}

uint32_t mls_group_own_leaf(const mls_group *g)
{
    return g->own_leaf;
}

mls_slice mls_group_id(const mls_group *g)
{
    mls_slice s = { g->gc.group_id.p, g->gc.group_id.len };
    return s;
}

void mls_group_epoch_authenticator(const mls_group *g, uint8_t out[MLS_HASH_LEN])
{
    memcpy(out, g->es.epoch_authenticator, MLS_HASH_LEN);
}

int mls_group_exporter(const mls_group *g, const uint8_t *label, size_t label_len,
                       const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_len)
{
    if (g->removed)
        return MLS_E_STATE;
    return mls_keysched_export(&g->es, label, label_len, ctx, ctx_len, out, out_len);
}

int mls_group_is_removed(const mls_group *g)
{
    return g->removed;
}

int mls_group_commit_pending(const mls_group *g)
{
    return g->pending_next != NULL;
}

size_t mls_group_member_count(const mls_group *g)
{
    return mls_tree_member_count(g->tree);
}

int mls_group_member(const mls_group *g, size_t i, mls_member *m)
{
    uint32_t n = mls_tree_n_leaves(g->tree);
    for (uint32_t l = 0; l < n; l++) {
        const mls_leaf_node *ln = mls_tree_leaf(g->tree, l);
        if (!ln)
            continue;
        if (i-- == 0) {
            m->leaf = l;
            m->identity.p = ln->credential.identity.p;
            m->identity.len = ln->credential.identity.len;
            m->sig_pub.p = ln->signature_key.p;
            m->sig_pub.len = ln->signature_key.len;
            return 0;
        }
    }
    return MLS_E_NOT_FOUND;
}

void mls_group_clear_proposals(mls_group *g)
{
    for (size_t i = 0; i < g->n_props; i++) {
        mls_proposal_free(&g->props[i].proposal);
        sodium_memzero(g->props[i].leaf_priv, sizeof g->props[i].leaf_priv);
    }
    mls_free(g->props, g->n_props * sizeof *g->props);
    g->props = NULL;
    g->n_props = 0;
}

void mls_commit_out_free(mls_commit_out *o)
{
    if (!o)
        return;
    mls_bytes_free(&o->commit);
    mls_bytes_free(&o->welcome);
    mls_bytes_free(&o->tree);
}

void mls_event_free(mls_event *ev)
{
    if (!ev)
        return;
    mls_bytes_free(&ev->sender_identity);
    mls_bytes_free(&ev->data);
    mls_bytes_free(&ev->aad);
    memset(ev, 0, sizeof *ev);
}
