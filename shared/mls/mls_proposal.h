/*
 * mls_proposal: Proposal and ProposalOrRef (RFC 9420 12.1, 12.4). Conventions: see
 * mls_credential.h.
 *
 *   struct {
 *     ProposalType proposal_type;     uint16
 *     select (proposal_type) {
 *       case add(1):                      KeyPackage key_package;
 *       case update(2):                   LeafNode leaf_node;
 *       case remove(3):                   uint32 removed;
 *       case psk(4):                      PreSharedKeyID psk;
 *       case reinit(5):                   opaque group_id<V>; ProtocolVersion version;
 *                                         CipherSuite cipher_suite;
 *                                         Extension extensions<V>;
 *       case external_init(6):            opaque kem_output<V>;
 *       case group_context_extensions(7): Extension extensions<V>;
 *     };
 *   } Proposal;
 *   struct {
 *     ProposalOrRefType type;         uint8: proposal(1) reference(2)
 *     select (type) { case proposal: Proposal; case reference: opaque ProposalRef<V>; };
 *   } ProposalOrRef;
 *   ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent encoding).
 *
 * Any other proposal type has no known body: MLS_E_UNSUPPORTED on decode (RFC 9420
 * 13.5). The bodies alone (Add, Update, ... as the message vectors serialize them) are
 * read and written by mls_proposal_body_*.
 */
#ifndef MLS_PROPOSAL_H
#define MLS_PROPOSAL_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_extension.h"
#include "mls_keypackage.h"
#include "mls_leafnode.h"
#include "mls_psk.h"

enum mls_proposal_type {
    MLS_PROPOSAL_ADD = 1,
    MLS_PROPOSAL_UPDATE = 2,
    MLS_PROPOSAL_REMOVE = 3,
    MLS_PROPOSAL_PSK = 4,
    MLS_PROPOSAL_REINIT = 5,
    MLS_PROPOSAL_EXTERNAL_INIT = 6,
    MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS = 7
};

typedef struct mls_reinit {
    mls_bytes group_id;
    uint16_t version;
    uint16_t cipher_suite;
    mls_extension_list extensions;
} mls_reinit;

typedef struct mls_proposal {
    uint16_t proposal_type; /* enum mls_proposal_type; selects the union member */
    union {
        mls_key_package add;            /* Add.key_package */
        mls_leaf_node update;           /* Update.leaf_node */
        uint32_t remove;                /* Remove.removed (leaf index) */
        mls_psk_id psk;                 /* PreSharedKey.psk */
        mls_reinit reinit;
        mls_bytes external_init;        /* ExternalInit.kem_output */
        mls_extension_list group_context_extensions;
    };
} mls_proposal;

int mls_proposal_decode(mls_rd *r, mls_proposal *out);
int mls_proposal_decode_all(const uint8_t *p, size_t n, mls_proposal *out);
int mls_proposal_encode(mls_buf *b, const mls_proposal *p);
void mls_proposal_free(mls_proposal *p);
int mls_proposal_copy(mls_proposal *dst, const mls_proposal *src);

/* The body only (Add, Update, Remove, ... without proposal_type), of the given type.
 * Decode sets out->proposal_type to type; MLS_E_UNSUPPORTED for an unknown type. */
int mls_proposal_body_decode(mls_rd *r, uint16_t type, mls_proposal *out);
int mls_proposal_body_decode_all(const uint8_t *p, size_t n, uint16_t type,
                                 mls_proposal *out);
int mls_proposal_body_encode(mls_buf *b, const mls_proposal *p);

/* ProposalRef over an encoded AuthenticatedContent (see
 * mls_authenticated_content_encode in mls_message.h). 0 or MLS_E_NOMEM. */
int mls_proposal_ref(const uint8_t *authenticated_content, size_t n,
                     uint8_t out[MLS_HASH_LEN]);

enum mls_proposal_or_ref_type { MLS_POR_PROPOSAL = 1, MLS_POR_REFERENCE = 2 };

typedef struct mls_proposal_or_ref {
    uint8_t type;          /* enum mls_proposal_or_ref_type */
    mls_proposal proposal; /* proposal */
    mls_bytes reference;   /* reference: a ProposalRef, any length on the wire */
} mls_proposal_or_ref;

int mls_proposal_or_ref_decode(mls_rd *r, mls_proposal_or_ref *out);
int mls_proposal_or_ref_encode(mls_buf *b, const mls_proposal_or_ref *por);
void mls_proposal_or_ref_free(mls_proposal_or_ref *por);

#endif
