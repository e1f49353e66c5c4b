/*
 * mls_group_int: the state behind mls_group (internal to mls_group*.c, mls_proposals.c,
 * mls_state.c; never installed for clients).
 *
 * A group is one epoch: GroupContext, the public tree, our private keys for the nodes
 * we hold (our leaf and the parents on our direct path whose path secrets we know), the
 * epoch secrets, the secret tree, the interim transcript hash, the proposals received
 * in this epoch, and the resumption PSKs of recent epochs. A commit (ours or received)
 * is applied to a deep copy, which replaces the group only when everything checked out.
 */
#ifndef MLS_GROUP_INT_H
#define MLS_GROUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_framing.h"
#include "mls_crypto.h"
#include "mls_group.h"
#include "mls_groupinfo.h"
#include "mls_keysched.h"
#include "mls_message.h"
#include "mls_proposal.h"
#include "mls_secrettree.h"
#include "mls_tree.h"
#include "mls_treekem.h"

/* Resumption PSKs kept for past epochs (the current one included). */
#define MLS_GROUP_RESUMPTION_KEEP 64u

typedef struct mls_pending_proposal {
    uint8_t ref[MLS_HASH_LEN];  /* ProposalRef */
    mls_sender sender;
    mls_proposal proposal;
    int has_leaf_priv;          /* our own Update: the new leaf's private key */
    uint8_t leaf_priv[MLS_KEM_SK_LEN];
} mls_pending_proposal;

typedef struct mls_resumption_psk {
    uint64_t epoch;
    uint8_t psk[MLS_HASH_LEN];
} mls_resumption_psk;

typedef struct mls_ext_psk_entry {
    mls_bytes id;
    mls_bytes psk;
} mls_ext_psk_entry;

struct mls_group {
    mls_group_context gc;
    uint8_t interim[MLS_HASH_LEN];
    mls_bytes confirmation_tag; /* of the commit that started this epoch */
    mls_tree *tree;
    uint32_t own_leaf;
    uint8_t sig_seed[MLS_SIG_SEED_LEN];
    mls_treekem_priv priv;      /* our leaf key and the path keys we hold */
    mls_epoch_secrets es;
    mls_secrettree st;
    mls_pending_proposal *props;
    size_t n_props;
    mls_resumption_psk *res_psks; /* oldest first, at most MLS_GROUP_RESUMPTION_KEEP */
    size_t n_res_psks;
    mls_ext_psk_entry *ext_psks;
    size_t n_ext_psks;
    int removed;
    int reinit;                 /* a ReInit was committed: the group is closed */
    /* the previous epoch, kept only to read application messages that were sent before
     * its commit reached their sender: everything but the framing inputs (tree,
     * GroupContext, sender-data secret, secret tree) is wiped; not exported */
    struct mls_group *prev;
    /* our commit waiting for mls_group_commit_merge / _discard */
    struct mls_group *pending_next;
    mls_bytes pending_commit;   /* the MLSMessage we sent */
};

/* ---- mls_group.c helpers shared with the other group modules ---- */

/* Frees everything g holds but not g itself; g is zeroed. */
void mls_group_clear(mls_group *g);
/* A deep copy of g without its pending commit. */
int mls_group_clone(mls_group **out, const mls_group *g);

/* Serialized GroupContext of g into b. */
int mls_group_gc_encode(const mls_group *g, mls_buf *b);
/* Records the current epoch's resumption PSK. */
int mls_group_push_resumption(mls_group *g);
/* PSK lookup over g's external PSKs and resumption PSKs (mls_psk_lookup_fn). */
int mls_group_psk_lookup(void *ctx, const mls_psk_id *id, const uint8_t **psk,
                         size_t *psk_len);
/* interim = Hash(cth || opaque tag<V>) for a cth of any length (epoch 0: empty). */
int mls_group_interim(const uint8_t *cth, size_t cth_len, const uint8_t *tag,
                      size_t tag_len, uint8_t out[MLS_HASH_LEN]);
/* 0 if ln supports everything the extensions ext (a GroupContext's) require:
 * required_capabilities and the types of ext themselves; else MLS_E_CAPABILITIES. */
int mls_group_leaf_supports(const mls_leaf_node *ln, const mls_extension_list *ext);
/* A fresh, unsigned leaf node for me (new encryption key into enc_priv, basic
 * credential, default capabilities, the given source; key_package: a 90-day lifetime). */
int mls_group_make_leaf(mls_leaf_node *ln, const mls_identity *me, uint8_t source,
                        uint64_t now, mls_rng *rng, uint8_t enc_priv[MLS_KEM_SK_LEN]);
/* Decodes p as an MLSMessage(KeyPackage) or a bare KeyPackage; *body / *body_len: the
 * KeyPackage encoding inside p (for its reference). */
int mls_group_decode_kp(const uint8_t *p, size_t n, mls_key_package *kp, const uint8_t **body,
                        size_t *body_len);
/* 7.3: ln's credential type is supported by every member of t (but leaf skip) and ln
 * supports every member's credential type. MLS_E_CAPABILITIES otherwise. */
int mls_group_credential_compat(const mls_tree *t, const mls_leaf_node *ln, uint32_t skip);
/* Whether neu may replace old as the same member's leaf (an Update, a commit's path leaf,
 * an external commit's resync of a removed leaf): RFC 9420 12.1.2 and 12.4.3.2 leave the
 * acceptable identifiers to the application; this library's rule (saltchat's profile,
 * PROTOCOL.md section 8) is the same signature key and the same credential (type and
 * basic identity). Returns 0, or MLS_E_LEAF_NODE. */
int mls_group_leaf_same_member(const mls_leaf_node *old, const mls_leaf_node *neu);
/* Builds the epoch-dependent state after es and gc are set: the secret tree. */
int mls_group_init_secret_tree(mls_group *g);

/* ---- mls_group_msg.c ---- */

/* The framing context of g's current epoch; gc receives the serialized GroupContext,
 * which c points into (free gc after use). */
int mls_group_framing_ctx(mls_group *g, mls_buf *gc, mls_framing_ctx *c);
/* mls_framing_key_fn over a group (arg: the mls_group). */
int mls_group_sender_key(void *arg, const mls_framed_content *content, const uint8_t **pub,
                         size_t *pub_len);
/* A PreSharedKeyID for our external PSK id (which must be known: MLS_E_PSK) with a
 * fresh nonce from rng. */
int mls_group_ext_psk_id(mls_group *g, const uint8_t *id, size_t id_len, mls_rng *rng,
                         mls_psk_id *out);
/* Replaces *g by *next (moved; next is freed); the old epoch becomes g->prev (stripped
 * to what reading its application messages needs), the one before is dropped. */
void mls_group_replace(mls_group *g, mls_group *next);
/* The epoch bookkeeping once next's gc, es, tree and confirmation tag are final: secret
 * tree, interim hash, pending proposals dropped, stale keys pruned, resumption PSK
 * kept, joiner secrets forgotten. */
int mls_group_finish_epoch(mls_group *next);

/* ---- mls_proposals.c ---- */

/* A resolved, validated list of proposals of a commit, with the sender of each. */
typedef struct mls_prop_list {
    const mls_proposal **p;   /* borrowed from the commit or the pending store */
    mls_sender *sender;
    const mls_pending_proposal **pending; /* the store entry or NULL (by value) */
    size_t n;
} mls_prop_list;

void mls_prop_list_free(mls_prop_list *l);
/* Resolves commit's ProposalOrRefs against g's pending store, committed by
 * committer. MLS_E_NOT_FOUND for an unknown reference, MLS_E_PROPOSAL for a by-reference
 * proposal in an external commit. */
int mls_prop_list_resolve(const mls_group *g, const mls_commit *c, const mls_sender *committer,
                          mls_prop_list *out);
/* RFC 9420 12.2 validation of l for a commit by committer (member leaf, or
 * new_member_commit). now is for key package lifetimes (0: not checked).
 * MLS_E_PROPOSAL or the error of the offending object. */
int mls_prop_list_validate(const mls_group *g, const mls_prop_list *l,
                           const mls_sender *committer, uint64_t now);
/* 1 if the list needs an UpdatePath (12.4). */
int mls_prop_list_path_required(const mls_prop_list *l);
/* Applies l to next (a copy of the old group): GroupContextExtensions, Updates, Removes,
 * Adds (their leaves written to added[], n_added), in that order. */
int mls_prop_list_apply(mls_group *next, const mls_prop_list *l, uint32_t *added,
                        size_t *n_added);

/* ---- mls_state.c ---- */

int mls_state_encode(const mls_group *g, mls_buf *b);
int mls_state_decode(mls_group **out, const uint8_t *p, size_t n);

#endif
