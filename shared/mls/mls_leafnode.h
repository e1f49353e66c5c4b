/*
 * mls_leafnode: the ratchet tree's node objects and their codecs (RFC 9420 7.1, 7.2,
 * 12.4.3.3): Capabilities, Lifetime, LeafNode (with its TBS, signature and
 * verification), ParentNode, Node, and the wire form of the ratchet_tree extension
 * (optional<Node> ratchet_tree<V>) as an array of optional nodes. The tree object, tree
 * hash, parent hash and tree validation are built on these by mls_tree (M4).
 * Conventions: see mls_credential.h.
 *
 *   struct { ProtocolVersion versions<V>; CipherSuite cipher_suites<V>;
 *            ExtensionType extensions<V>; ProposalType proposals<V>;
 *            CredentialType credentials<V>; } Capabilities;   all uint16 lists
 *   struct { uint64 not_before; uint64 not_after; } Lifetime;
 *   struct {
 *     HPKEPublicKey encryption_key; SignaturePublicKey signature_key;  opaque<V> both
 *     Credential credential; Capabilities capabilities;
 *     LeafNodeSource leaf_node_source;      uint8: key_package(1) update(2) commit(3)
 *     select (leaf_node_source) {
 *       case key_package: Lifetime lifetime;
 *       case update:      struct{};
 *       case commit:      opaque parent_hash<V>;
 *     };
 *     Extension extensions<V>;
 *     opaque signature<V>;                  SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)
 *   } LeafNode;
 *   LeafNodeTBS: the same without signature, followed for update and commit sources by
 *     opaque group_id<V>; uint32 leaf_index;
 *   struct { HPKEPublicKey encryption_key; opaque parent_hash<V>;
 *            uint32 unmerged_leaves<V>; } ParentNode;
 *   struct { NodeType node_type;  uint8: leaf(1) parent(2)
 *            select (node_type) { case leaf: LeafNode; case parent: ParentNode; }; } Node;
 */
#ifndef MLS_LEAFNODE_H
#define MLS_LEAFNODE_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_credential.h"
#include "mls_crypto.h"
#include "mls_extension.h"

/* Bound on the entries of a decoded ratchet_tree vector (blank ones included). */
#define MLS_MAX_TREE_NODES (1u << 20)

typedef struct mls_capabilities {
    mls_u16_list versions;
    mls_u16_list cipher_suites;
    mls_u16_list extensions;   /* non-default extension types supported */
    mls_u16_list proposals;    /* non-default proposal types supported */
    mls_u16_list credentials;
} mls_capabilities;

int mls_capabilities_decode(mls_rd *r, mls_capabilities *out);
int mls_capabilities_encode(mls_buf *b, const mls_capabilities *c);
void mls_capabilities_free(mls_capabilities *c);
int mls_capabilities_copy(mls_capabilities *dst, const mls_capabilities *src);
/* What this library supports, as a client advertises it (no GREASE): versions {mls10},
 * cipher_suites {3}, extensions {} and proposals {} (the RFC's own are default and need
 * not be listed), credentials {basic}. *out is overwritten. 0 or MLS_E_NOMEM. */
int mls_capabilities_init_default(mls_capabilities *out);

typedef struct mls_lifetime {
    uint64_t not_before;
    uint64_t not_after;
} mls_lifetime;

/* 0 if not_before <= now <= not_after (seconds since the epoch), else MLS_E_LIFETIME. */
int mls_lifetime_check(const mls_lifetime *lt, uint64_t now);

enum mls_leaf_node_source {
    MLS_LEAF_SOURCE_KEY_PACKAGE = 1,
    MLS_LEAF_SOURCE_UPDATE = 2,
    MLS_LEAF_SOURCE_COMMIT = 3
};

typedef struct mls_leaf_node {
    mls_bytes encryption_key;
    mls_bytes signature_key;
    mls_credential credential;
    mls_capabilities capabilities;
    uint8_t leaf_node_source;   /* enum mls_leaf_node_source */
    mls_lifetime lifetime;      /* key_package source only */
    mls_bytes parent_hash;      /* commit source only */
    mls_extension_list extensions;
    mls_bytes signature;
} mls_leaf_node;

int mls_leaf_node_decode(mls_rd *r, mls_leaf_node *out);
int mls_leaf_node_decode_all(const uint8_t *p, size_t n, mls_leaf_node *out);
int mls_leaf_node_encode(mls_buf *b, const mls_leaf_node *ln);
void mls_leaf_node_free(mls_leaf_node *ln);
int mls_leaf_node_copy(mls_leaf_node *dst, const mls_leaf_node *src);

/* LeafNodeTBS of ln. group_id (gid_len bytes) and leaf_index are the group and leaf the
 * node belongs to; they are used for update and commit sources and ignored for
 * key_package (pass NULL, 0, 0). MLS_E_INVALID if the source needs a group_id and it is
 * NULL. */
int mls_leaf_node_tbs_encode(mls_buf *b, const mls_leaf_node *ln, const uint8_t *group_id,
                             size_t gid_len, uint32_t leaf_index);
/* Signs ln with the Ed25519 seed (whose public key must be ln->signature_key: not
 * checked) and stores the signature in ln->signature (replacing it). */
int mls_leaf_node_sign(mls_leaf_node *ln, const uint8_t seed[MLS_SIG_SEED_LEN],
                       const uint8_t *group_id, size_t gid_len, uint32_t leaf_index);
/* 0 if ln->signature verifies under ln->signature_key over the LeafNodeTBS;
 * MLS_E_SIGNATURE if not (including keys or signatures of the wrong length). */
int mls_leaf_node_verify(const mls_leaf_node *ln, const uint8_t *group_id, size_t gid_len,
                         uint32_t leaf_index);
/* 0 if ln's keys have our suite's lengths (encryption_key MLS_KEM_PK_LEN, signature_key
 * MLS_SIG_PUB_LEN), its source is known and a commit source has a parent_hash of
 * MLS_HASH_LEN or 0 bytes; MLS_E_LEAF_NODE otherwise. */
int mls_leaf_node_check_suite(const mls_leaf_node *ln);

typedef struct mls_parent_node {
    mls_bytes encryption_key;
    mls_bytes parent_hash;
    uint32_t *unmerged_leaves;
    size_t n_unmerged_leaves;
} mls_parent_node;

int mls_parent_node_decode(mls_rd *r, mls_parent_node *out);
int mls_parent_node_encode(mls_buf *b, const mls_parent_node *pn);
void mls_parent_node_free(mls_parent_node *pn);
int mls_parent_node_copy(mls_parent_node *dst, const mls_parent_node *src);

enum mls_node_type { MLS_NODE_TYPE_LEAF = 1, MLS_NODE_TYPE_PARENT = 2 };

typedef struct mls_node {
    uint8_t node_type; /* enum mls_node_type */
    union {
        mls_leaf_node leaf_node;     /* leaf */
        mls_parent_node parent_node; /* parent */
    };
} mls_node;

int mls_node_decode(mls_rd *r, mls_node *out);
int mls_node_encode(mls_buf *b, const mls_node *nd);
void mls_node_free(mls_node *nd);
int mls_node_copy(mls_node *dst, const mls_node *src);

/* optional<Node> ratchet_tree<V>: nodes[i] is the node at array index i (leaf L at 2L),
 * NULL for a blank node. Each non-NULL entry is an mls_alloc'd mls_node owned by the
 * array. The decoder checks the wire form only (and at most MLS_MAX_TREE_NODES
 * entries); mls_node_array_check_shape checks the RFC's rules on the array. */
typedef struct mls_node_array {
    mls_node **nodes;
    size_t n;
} mls_node_array;

int mls_node_array_decode(mls_rd *r, mls_node_array *out);
int mls_node_array_decode_all(const uint8_t *p, size_t n, mls_node_array *out);
int mls_node_array_encode(mls_buf *b, const mls_node_array *a);
void mls_node_array_free(mls_node_array *a);
/* 0 if a is a ratchet_tree the RFC allows (12.4.3.3): not empty, the last entry not
 * blank, leaves (type leaf) at even and parents (type parent) at odd indices;
 * MLS_E_TREE otherwise. The receiver then pads with blanks to 2^(d+1) - 1 entries. */
int mls_node_array_check_shape(const mls_node_array *a);

#endif
