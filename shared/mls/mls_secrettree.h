/*
 * mls_secrettree: the secret tree of RFC 9420 section 9 with its per-leaf hash
 * ratchets, and the sender-data key derivation of section 6.3.2.
 *
 * The tree starts with only the root (encryption_secret). A leaf's ratchets are created
 * on first use by deriving down from the nearest stored ancestor; every parent secret
 * is deleted once both its children are derived, and the leaf secret once its two
 * ratchet roots (handshake, application) are derived. So only a frontier of unused
 * subtree secrets is stored, never the whole tree.
 *
 * Each ratchet holds the secret of its next generation and up to max_skipped keys of
 * earlier generations that were skipped over (out-of-order delivery). Receiving:
 * mls_secrettree_get gives the key of a generation without deleting it; the caller
 * calls mls_secrettree_consume once the message has been authenticated, which deletes
 * it (so a forged message cannot burn a generation). Sending: mls_secrettree_next takes
 * the next generation and deletes it at once.
 *
 * Memory: every allocation through mls_alloc; every secret is wiped when deleted.
 * Unless said otherwise: 0 on success, a negative mls_err.
 */
#ifndef MLS_SECRETTREE_H
#define MLS_SECRETTREE_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_crypto.h"

enum mls_ratchet_type { MLS_RATCHET_HANDSHAKE = 0, MLS_RATCHET_APPLICATION = 1 };

#define MLS_SECRETTREE_DEFAULT_LOOKAHEAD 1000u
#define MLS_SECRETTREE_DEFAULT_SKIPPED 32u
/* Upper bound of max_skipped (a decoded state claiming more is rejected). */
#define MLS_SECRETTREE_MAX_SKIPPED 4096u

typedef struct mls_st_key {
    uint32_t generation;
    uint8_t key[MLS_AEAD_KEY_LEN];
    uint8_t nonce[MLS_AEAD_NONCE_LEN];
} mls_st_key;

typedef struct mls_st_ratchet {
    uint32_t next_gen;              /* generation whose secret is held */
    int exhausted;                  /* next_gen passed UINT32_MAX: no secret left */
    uint8_t secret[MLS_HASH_LEN];   /* ratchet_secret[next_gen] */
    mls_st_key *skipped;            /* oldest first; n_skipped <= max_skipped */
    size_t n_skipped, cap_skipped;
} mls_st_ratchet;

typedef struct mls_st_leaf {
    uint32_t leaf;
    mls_st_ratchet r[2]; /* indexed by enum mls_ratchet_type */
} mls_st_leaf;

typedef struct mls_st_node {
    uint32_t node;
    uint8_t secret[MLS_HASH_LEN];
} mls_st_node;

typedef struct mls_secrettree {
    uint32_t n_leaves;
    uint32_t max_lookahead; /* generations ahead of next_gen a receiver may jump */
    uint32_t max_skipped;   /* skipped keys kept per ratchet */
    mls_st_node *nodes;     /* stored node secrets, sorted by node index */
    size_t n_nodes, cap_nodes;
    mls_st_leaf *leaves;    /* initialized leaves, sorted by leaf index */
    size_t n_leaves_init, cap_leaves;
} mls_secrettree;

/* A tree of n_leaves (1 .. 2^31) leaves with encryption_secret at the root and the
 * default window (1000 ahead, 32 skipped). *st is overwritten. MLS_E_INVALID for a bad
 * n_leaves, MLS_E_NOMEM. */
int mls_secrettree_init(mls_secrettree *st, const uint8_t encryption_secret[MLS_HASH_LEN],
                        uint32_t n_leaves);
/* Changes the window: max_skipped <= MLS_SECRETTREE_MAX_SKIPPED (else MLS_E_INVALID).
 * Ratchets holding more skipped keys than the new bound drop their oldest. */
int mls_secrettree_set_window(mls_secrettree *st, uint32_t max_lookahead,
                              uint32_t max_skipped);
/* Wipes and frees everything; st is zeroed (st may be NULL). */
void mls_secrettree_free(mls_secrettree *st);

/* Receiving: the key and nonce of (leaf, type, generation), not yet deleted.
 * MLS_E_INVALID: leaf >= n_leaves. MLS_E_REPLAY: the generation was consumed, or was
 * skipped and then dropped from the window, or the leaf's secrets are gone.
 * MLS_E_TOO_FAR: generation > next_gen + max_lookahead. MLS_E_NOMEM.
 * Moving past skipped generations stores them (dropping the oldest beyond
 * max_skipped); generation itself is stored as a skipped key until consumed. */
int mls_secrettree_get(mls_secrettree *st, uint32_t leaf, enum mls_ratchet_type type,
                       uint32_t generation, uint8_t key[MLS_AEAD_KEY_LEN],
                       uint8_t nonce[MLS_AEAD_NONCE_LEN]);
/* Deletes the stored key of (leaf, type, generation) after a successful decryption.
 * 0, or MLS_E_REPLAY if it is not stored (already consumed). */
int mls_secrettree_consume(mls_secrettree *st, uint32_t leaf, enum mls_ratchet_type type,
                           uint32_t generation);

/* Sending: the next unused generation of our own (leaf, type) ratchet, its key and
 * nonce; the ratchet moves past it at once. MLS_E_INVALID for a bad leaf,
 * MLS_E_TOO_FAR if the ratchet is exhausted, MLS_E_REPLAY if its secrets are gone,
 * MLS_E_NOMEM. */
int mls_secrettree_next(mls_secrettree *st, uint32_t leaf, enum mls_ratchet_type type,
                        uint32_t *generation, uint8_t key[MLS_AEAD_KEY_LEN],
                        uint8_t nonce[MLS_AEAD_NONCE_LEN]);

/* sender_data_key / sender_data_nonce = ExpandWithLabel(sender_data_secret, "key" /
 * "nonce", ciphertext_sample, Nk / Nn), where the sample is the first Nh bytes of
 * ciphertext (all of it if shorter). */
int mls_sender_data_key(const uint8_t sender_data_secret[MLS_HASH_LEN],
                        const uint8_t *ciphertext, size_t ct_len,
                        uint8_t key[MLS_AEAD_KEY_LEN], uint8_t nonce[MLS_AEAD_NONCE_LEN]);

/* The full state, for storage:
 *   u8 version (1), u32 n_leaves, u32 max_lookahead, u32 max_skipped,
 *   node_entries<V> { u32 node, opaque secret[32] },
 *   leaf_entries<V> { u32 leaf, 2 x ratchet { u32 next_gen, u8 exhausted,
 *                     opaque secret[32], skipped<V> { u32 generation, key[32],
 *                     nonce[12] } } }
 * The encoding holds secrets: callers must protect and wipe it. Appends to b; returns
 * b's status. */
int mls_secrettree_encode(const mls_secrettree *st, mls_buf *b);
/* Rebuilds a state from mls_secrettree_encode's output (exactly, no trailing bytes).
 * MLS_E_DECODE for a malformed or inconsistent encoding (unknown version, unsorted or
 * out-of-range indices, a node and one of its ancestors both stored, too many skipped
 * keys), MLS_E_NOMEM. *st is overwritten; on error it is zeroed. */
int mls_secrettree_decode(mls_secrettree *st, const uint8_t *p, size_t n);

#endif
