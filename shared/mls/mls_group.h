/*
 * mls_group: one member's view of an MLS group (RFC 9420 sections 8, 11, 12), cipher
 * suite 3 only. Sans-I/O: every call takes bytes (and the current time, and an mls_rng
 * where randomness is needed) and returns bytes or an event in caller-visible structures.
 *
 * Life of a group:
 *   mls_group_create            we found it alone (epoch 0)
 *   mls_group_join_welcome      we were added by someone's commit
 *   mls_group_join_external     we add ourselves from a GroupInfo (external commit)
 *   mls_group_import            we restore a state mls_group_export wrote
 * then
 *   mls_group_propose_*         a proposal message to send (kept as pending, too)
 *   mls_group_commit            a commit of the pending proposals plus inline ones; the
 *                               group does NOT advance: the delivery service orders
 *                               commits and the first one wins, so the caller then calls
 *                               mls_group_commit_merge (ours was accepted; or process
 *                               our own commit echoed back) or mls_group_commit_discard
 *                               (processing the commit that won does that too)
 *   mls_group_protect           an application message (PrivateMessage)
 *   mls_group_process           any received MLSMessage (PublicMessage / PrivateMessage)
 *   mls_group_free
 *
 * Messages in and out are whole MLSMessage encodings (version, wire_format, body).
 * Lengths read from the input are all checked; a failed call leaves the group as it was
 * (except that a PrivateMessage's generation may be consumed, as RFC 9420 9.2 wants for
 * forward secrecy) and returns a distinct mls_err code.
 *
 * Secrets: the group owns its private keys and epoch secrets; they leave only through
 * mls_group_export (and mls_group_exporter / mls_group_epoch_authenticator, which are
 * derived values). Everything is wiped on free. A group is not thread-safe.
 *
 * Unless said otherwise, functions return 0 or a negative mls_err; outputs (mls_bytes)
 * are owned by the caller afterwards (free with mls_bytes_free) and are empty on error.
 */
#ifndef MLS_GROUP_H
#define MLS_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_rng.h"

typedef struct mls_group mls_group;

/* Who we are: a basic credential with these identity bytes and an Ed25519 signature
 * key given by its 32-byte seed. Borrowed for the call (copied where kept). */
typedef struct mls_identity {
    const uint8_t *identity;
    size_t identity_len;
    const uint8_t *sig_seed; /* MLS_SIG_SEED_LEN bytes */
} mls_identity;

/* An external PSK the caller shares with others out of band. Borrowed. */
typedef struct mls_ext_psk {
    const uint8_t *id;
    size_t id_len;
    const uint8_t *psk;
    size_t psk_len;
} mls_ext_psk;

/* A KeyPackage and the private keys behind it, which the caller stores until the
 * Welcome that uses it arrives (then frees it: a key package is single-use). */
typedef struct mls_kp_bundle {
    mls_bytes key_package;                  /* MLSMessage(KeyPackage), to publish */
    uint8_t ref[MLS_HASH_LEN];              /* its KeyPackageRef */
    uint8_t init_priv[MLS_KEM_SK_LEN];      /* HPKE private key of init_key */
    uint8_t enc_priv[MLS_KEM_SK_LEN];       /* HPKE private key of leaf_node.encryption_key */
    uint8_t sig_seed[MLS_SIG_SEED_LEN];     /* leaf_node.signature_key's seed */
} mls_kp_bundle;

/* A fresh KeyPackage for identity me, valid from now - 1 h to now + lifetime_s (seconds
 * since the Unix epoch), basic credential, default capabilities. init and encryption
 * keys come from rng. */
int mls_kp_bundle_create(mls_kp_bundle *out, const mls_identity *me, uint64_t now,
                         uint64_t lifetime_s, mls_rng *rng);
/* Builds a bundle from an existing KeyPackage (MLSMessage(KeyPackage) or bare
 * KeyPackage encoding) and its private keys; checks that the privates match the public
 * keys in it (MLS_E_KEY_PACKAGE if not). */
int mls_kp_bundle_from_parts(mls_kp_bundle *out, const uint8_t *kp, size_t kp_len,
                             const uint8_t init_priv[MLS_KEM_SK_LEN],
                             const uint8_t enc_priv[MLS_KEM_SK_LEN],
                             const uint8_t sig_seed[MLS_SIG_SEED_LEN]);
/* Wipes and frees. b may be NULL. */
void mls_kp_bundle_free(mls_kp_bundle *b);
/* The bundle as bytes for the caller's storage ("MLSK", version 1, the KeyPackage and
 * the three private keys: a secret). */
int mls_kp_bundle_export(const mls_kp_bundle *b, mls_bytes *out);
/* Back from mls_kp_bundle_export's bytes, checked as mls_kp_bundle_from_parts does.
 * MLS_E_DECODE for anything else, MLS_E_UNSUPPORTED for another version. */
int mls_kp_bundle_import(mls_kp_bundle *out, const uint8_t *p, size_t n);

/* Creates a group at epoch 0 with us alone at leaf 0. extensions is an encoded
 * `Extension extensions<V>` for the GroupContext (required_capabilities,
 * external_senders, application_id...), or NULL/0 for none. MLS_E_INVALID for an empty
 * group_id, MLS_E_DECODE for bad extensions. */
int mls_group_create(mls_group **out, const uint8_t *group_id, size_t group_id_len,
                     const mls_identity *me, const uint8_t *extensions, size_t ext_len,
                     uint64_t now, mls_rng *rng);

/* Joins from a Welcome (MLSMessage). kp is the bundle of the KeyPackage it was made
 * for. tree is the encoded ratchet tree (`optional<Node> ratchet_tree<V>`) when the
 * Welcome's GroupInfo does not carry the ratchet_tree extension, else NULL. psks are the
 * external PSKs we know (kept in the group for later PSK proposals). The whole tree is
 * validated (tree hash, parent hashes, leaf signatures, unique keys). Checking that the
 * group_id is not one we are already in is the caller's. now is not used yet (leaf
 * lifetimes in the tree are not checked). Errors: MLS_E_UNSUPPORTED (suite, version),
 * MLS_E_NOT_FOUND (no entry for our key package, no tree, our leaf not in the tree),
 * MLS_E_WRONG_KEY, MLS_E_SIGNATURE (GroupInfo or a leaf), MLS_E_CONFIRMATION_TAG,
 * MLS_E_TREE_HASH, MLS_E_PARENT_HASH, MLS_E_TREE, MLS_E_LEAF_NODE, MLS_E_PATH (the path
 * secret does not match the tree), MLS_E_PSK (a PSK we lack). */
int mls_group_join_welcome(mls_group **out, const uint8_t *welcome, size_t welcome_len,
                           const mls_kp_bundle *kp, const uint8_t *tree, size_t tree_len,
                           const mls_ext_psk *psks, size_t n_psks, uint64_t now);

/* Joins by external commit from a GroupInfo (MLSMessage) carrying external_pub.
 * tree as for mls_group_join_welcome. resync_leaf: our old leaf to remove in the same
 * commit (resync), or UINT32_MAX. *commit_out gets the Commit (always a PublicMessage)
 * to send; the returned group is already in the new epoch: if the delivery service
 * rejects the commit, free the group. MLS_E_EXTERNAL if the GroupInfo has no valid
 * external_pub; MLS_E_INVALID for a resync_leaf that is not a member; the GroupInfo and
 * tree errors of mls_group_join_welcome. */
int mls_group_join_external(mls_group **out, mls_bytes *commit_out, const uint8_t *group_info,
                            size_t gi_len, const uint8_t *tree, size_t tree_len,
                            const mls_identity *me, uint32_t resync_leaf, uint64_t now,
                            mls_rng *rng);

void mls_group_free(mls_group *g);

/* ---- external PSKs ---- */

/* Adds (or replaces) an external PSK the group may use in PSK proposals / commits. */
int mls_group_add_ext_psk(mls_group *g, const uint8_t *id, size_t id_len, const uint8_t *psk,
                          size_t psk_len);

/* ---- proposals ---- */

/* Each makes a proposal message from us, stores the proposal as pending (committed by
 * our next mls_group_commit or a member's commit referencing it) and writes it to *msg.
 * as_private: 1 for a PrivateMessage, 0 for a PublicMessage. */
int mls_group_propose_add(mls_group *g, const uint8_t *kp, size_t kp_len, int as_private,
                          uint64_t now, mls_rng *rng, mls_bytes *msg);
int mls_group_propose_remove(mls_group *g, uint32_t leaf, int as_private, mls_rng *rng,
                             mls_bytes *msg);
/* A fresh leaf (new encryption key from rng); its private key is kept until merged. */
int mls_group_propose_update(mls_group *g, int as_private, mls_rng *rng, mls_bytes *msg);
/* External PSK (must be known, see mls_group_add_ext_psk). */
int mls_group_propose_psk(mls_group *g, const uint8_t *psk_id, size_t psk_id_len,
                          int as_private, mls_rng *rng, mls_bytes *msg);
/* GroupContextExtensions: extensions is an encoded `Extension extensions<V>`. */
int mls_group_propose_gce(mls_group *g, const uint8_t *extensions, size_t ext_len,
                          int as_private, mls_rng *rng, mls_bytes *msg);
/* Drops every pending proposal (ours and received). */
void mls_group_clear_proposals(mls_group *g);

/* ---- commits ---- */

/* Inline proposals for mls_group_commit, in addition to the pending ones. Every array
 * may be NULL with its count 0. */
typedef struct mls_commit_opts {
    const mls_slice *add_kps;   /* KeyPackages (MLSMessage or bare) to add */
    size_t n_add;
    const uint32_t *remove;     /* leaf indices to remove */
    size_t n_remove;
    const mls_slice *psk_ids;   /* external PSK ids to inject */
    size_t n_psk;
    const uint8_t *gce;         /* new GroupContext extensions (encoded list), or NULL */
    size_t gce_len;
    int force_path;             /* include an UpdatePath even if not required */
    int as_private;             /* Commit as PrivateMessage (else PublicMessage) */
    int tree_in_welcome;        /* ratchet_tree extension in the Welcome's GroupInfo */
} mls_commit_opts;

typedef struct mls_commit_out {
    mls_bytes commit;   /* MLSMessage(Commit) to send to the group */
    mls_bytes welcome;  /* MLSMessage(Welcome) for the added members (empty if none) */
    mls_bytes tree;     /* the new ratchet tree, for joiners when !tree_in_welcome */
} mls_commit_out;

/* Commits every pending proposal (by reference) plus opts' (by value; opts may be
 * NULL), with an UpdatePath when section 12.4 requires one or force_path. Of the pending
 * ones, our own Updates are left out (the path renews our leaf), a Remove wins over an
 * Update of the same leaf, the latest Update or GroupContextExtensions wins, and a
 * ReInit is committed only alone (when nothing else is pending). The group
 * keeps the result as its pending commit and does not change epoch. MLS_E_STATE if a
 * commit is already pending; MLS_E_PROPOSAL if the list is invalid (12.2);
 * MLS_E_KEY_PACKAGE for a bad KeyPackage. */
int mls_group_commit(mls_group *g, const mls_commit_opts *opts, uint64_t now, mls_rng *rng,
                     mls_commit_out *out);
/* Our pending commit was accepted: the group moves to the next epoch. MLS_E_STATE if
 * none is pending. */
int mls_group_commit_merge(mls_group *g);
/* Our pending commit lost (or we give up on it): forget it, stay in this epoch. Pending
 * proposals stay. */
void mls_group_commit_discard(mls_group *g);
/* 1 if a commit of ours is pending. */
int mls_group_commit_pending(const mls_group *g);
/* Frees an mls_commit_out's bytes. */
void mls_commit_out_free(mls_commit_out *o);

/* ---- messages ---- */

/* An application message (PrivateMessage) with authenticated_data aad (may be NULL).
 * MLS_E_STATE while a commit of ours is pending (by the time it arrives the others may
 * be in the next epoch: merge or discard first). */
int mls_group_protect(mls_group *g, const uint8_t *pt, size_t pt_len, const uint8_t *aad,
                      size_t aad_len, mls_rng *rng, mls_bytes *msg);

enum mls_event_kind {
    MLS_EV_APPLICATION = 1, /* data holds the plaintext */
    MLS_EV_PROPOSAL = 2,    /* stored as pending for this epoch */
    MLS_EV_COMMIT = 3       /* applied: the group is now in new_epoch */
};

/* The same values as the wire's SenderType. */
enum mls_sender_kind {
    MLS_EV_SENDER_MEMBER = 1,
    MLS_EV_SENDER_EXTERNAL = 2,
    MLS_EV_SENDER_NEW_MEMBER_PROPOSAL = 3,
    MLS_EV_SENDER_NEW_MEMBER_COMMIT = 4
};

typedef struct mls_event {
    int kind;                 /* enum mls_event_kind */
    int sender_kind;          /* enum mls_sender_kind */
    uint32_t sender_leaf;     /* member: leaf index; new_member_commit: its new leaf;
                                 external: sender index in external_senders */
    mls_bytes sender_identity; /* credential identity of the sender */
    uint64_t epoch;           /* epoch the message was sent in */
    uint32_t generation;      /* PrivateMessage generation (0 for PublicMessage) */
    mls_bytes data;           /* application plaintext */
    mls_bytes aad;            /* authenticated_data */
    uint64_t new_epoch;       /* commit: the epoch we are in now */
    int removed;              /* commit: we were removed; the group is now inert */
    int own_commit;           /* commit: it was our pending commit, merged */
    int reinit;               /* commit: it carried a ReInit: the group is closed for
                                 sending (MLS_E_STATE); the new group comes by Welcome */
    int own_commit_discarded; /* commit: someone else's commit won while ours was
                                 pending; ours was discarded (re-propose if needed) */
} mls_event;

/* Processes one received MLSMessage. On success *ev describes it (free with
 * mls_event_free). If msg is our own pending commit echoed back by the delivery service,
 * it is merged (own_commit = 1). A valid commit from someone else while ours is pending
 * is applied and ours discarded (own_commit_discarded = 1). A commit that removes us
 * sets removed = 1: the group's secrets are wiped and it refuses everything after.
 * Application messages of the previous epoch (sent before its commit reached their
 * sender) are still read (ev->epoch tells); anything older, or a handshake message of a
 * past epoch, is MLS_E_EPOCH. The previous epoch is not part of mls_group_export.
 * Errors: MLS_E_WIRE_FORMAT, MLS_E_GROUP_ID, MLS_E_EPOCH, MLS_E_SENDER,
 * MLS_E_SIGNATURE, MLS_E_MEMBERSHIP_TAG, MLS_E_CONFIRMATION_TAG, MLS_E_REPLAY,
 * MLS_E_PROPOSAL, MLS_E_PATH, MLS_E_NOT_FOUND (proposal reference unknown), MLS_E_PSK,
 * MLS_E_STATE (the group is inert after our removal). The group is unchanged on error
 * (a PrivateMessage key that decrypted may be consumed). */
int mls_group_process(mls_group *g, const uint8_t *msg, size_t msg_len, uint64_t now,
                      mls_event *ev);
void mls_event_free(mls_event *ev);

/* ---- GroupInfo, state ---- */

/* A signed GroupInfo (MLSMessage) of the current epoch with the external_pub extension
 * (and ratchet_tree if with_tree), for external joiners. */
int mls_group_group_info(mls_group *g, int with_tree, mls_bytes *out);

/* The whole state, private keys included, in a versioned format ("MLSG", version 1).
 * Treat the bytes as a secret. MLS_E_STATE while a commit is pending. */
int mls_group_export(const mls_group *g, mls_bytes *out);
/* Restores what mls_group_export wrote, checking it (the tree is validated against the
 * GroupContext, our private keys against the tree). MLS_E_DECODE for anything else,
 * MLS_E_UNSUPPORTED for another version. */
int mls_group_import(mls_group **out, const uint8_t *state, size_t state_len);

/* ---- accessors ---- */

uint64_t mls_group_epoch(const mls_group *g);
uint32_t mls_group_own_leaf(const mls_group *g);
/* Borrowed until the next call that changes g. */
mls_slice mls_group_id(const mls_group *g);
/* epoch_authenticator of the current epoch (MLS_HASH_LEN bytes). */
void mls_group_epoch_authenticator(const mls_group *g, uint8_t out[MLS_HASH_LEN]);
/* MLS-Exporter(label, context, out_len) of the current epoch (label: label_len bytes,
 * without "MLS 1.0 "). MLS_E_STATE once removed. */
int mls_group_exporter(const mls_group *g, const uint8_t *label, size_t label_len,
                       const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_len);
/* 1 once we have been removed (the group then refuses everything but accessors). */
int mls_group_is_removed(const mls_group *g);

typedef struct mls_member {
    uint32_t leaf;
    mls_slice identity;  /* borrowed, as mls_group_id */
    mls_slice sig_pub;
} mls_member;

/* Number of members (non-blank leaves). */
size_t mls_group_member_count(const mls_group *g);
/* The i-th member in leaf order (0 <= i < count). MLS_E_NOT_FOUND past the end. */
int mls_group_member(const mls_group *g, size_t i, mls_member *m);

#endif
