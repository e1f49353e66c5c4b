/*
 * mls_extension: Extension and extension lists (RFC 9420 13), and the typed contents of
 * the extensions RFC 9420 defines. Conventions: see mls_credential.h.
 *
 *   struct { ExtensionType extension_type; opaque extension_data<V>; } Extension;
 *   Extension extensions<V>;     at most one extension of each type (RFC 9420 13)
 *
 * Lists keep unknown extension types (and GREASE values) as opaque data, in wire order,
 * so that they round-trip and signatures over them verify. A decoded list with a
 * repeated type is MLS_E_INVALID.
 *
 * Typed contents (the extension_data of each type), decoded with *_decode_all from an
 * extension's data and encoded into a buffer that becomes extension_data:
 *   application_id(1)         opaque application_id<V>
 *   ratchet_tree(2)           optional<Node> ratchet_tree<V>: see mls_node_array in
 *                             mls_leafnode.h (kept as bytes in the extension list)
 *   required_capabilities(3)  RequiredCapabilities
 *   external_pub(4)           ExternalPub { HPKEPublicKey external_pub; }
 *   external_senders(5)       ExternalSender external_senders<V>
 */
#ifndef MLS_EXTENSION_H
#define MLS_EXTENSION_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_credential.h"

enum mls_extension_type {
    MLS_EXT_APPLICATION_ID = 1,
    MLS_EXT_RATCHET_TREE = 2,
    MLS_EXT_REQUIRED_CAPABILITIES = 3,
    MLS_EXT_EXTERNAL_PUB = 4,
    MLS_EXT_EXTERNAL_SENDERS = 5
};

/* A list of uint16 code points (protocol versions, cipher suites, extension, proposal
 * and credential types) as a vector of uint16 on the wire. Duplicates are allowed (the
 * RFC does not forbid them in capabilities). */
typedef struct mls_u16_list {
    uint16_t *v;
    size_t n;
} mls_u16_list;

int mls_u16_list_decode(mls_rd *r, mls_u16_list *out);
int mls_u16_list_encode(mls_buf *b, const mls_u16_list *l);
void mls_u16_list_free(mls_u16_list *l);
int mls_u16_list_copy(mls_u16_list *dst, const mls_u16_list *src);
/* Sets *out (overwritten) to a copy of v[0..n). 0 or MLS_E_NOMEM. */
int mls_u16_list_set(mls_u16_list *out, const uint16_t *v, size_t n);
/* 1 if l contains x, else 0. */
int mls_u16_list_contains(const mls_u16_list *l, uint16_t x);

typedef struct mls_extension {
    uint16_t extension_type;
    mls_bytes extension_data;
} mls_extension;

typedef struct mls_extension_list {
    mls_extension *items;
    size_t n;
} mls_extension_list;

int mls_extension_list_decode(mls_rd *r, mls_extension_list *out);
int mls_extension_list_decode_all(const uint8_t *p, size_t n, mls_extension_list *out);
/* MLS_E_INVALID if the list repeats a type. */
int mls_extension_list_encode(mls_buf *b, const mls_extension_list *l);
void mls_extension_list_free(mls_extension_list *l);
int mls_extension_list_copy(mls_extension_list *dst, const mls_extension_list *src);

/* The extension of type t in l (borrowed), or NULL. */
const mls_extension *mls_extension_list_find(const mls_extension_list *l, uint16_t t);
/* Adds an extension of type t with a copy of data (n bytes), replacing the data of an
 * existing one of that type (the position is kept). 0 or MLS_E_NOMEM (l unchanged). */
int mls_extension_list_set(mls_extension_list *l, uint16_t t, const uint8_t *data, size_t n);
/* Removes the extension of type t; 0, or MLS_E_NOT_FOUND if l has none. */
int mls_extension_list_remove(mls_extension_list *l, uint16_t t);
/* 0 if every extension type of l is in types, or is one of the types RFC 9420 defines
 * when allow_default is set (1..5); else MLS_E_CAPABILITIES. For "every extension in the
 * LeafNode is listed in its capabilities" and the GroupContext / RequiredCapabilities
 * checks. */
int mls_extension_list_check_types(const mls_extension_list *l, const mls_u16_list *types,
                                   int allow_default);

/* application_id: *id points into ext's data (borrowed). 0 or MLS_E_DECODE. */
int mls_ext_application_id_decode(const mls_extension *ext, mls_slice *id);
int mls_ext_application_id_encode(mls_buf *b, const uint8_t *id, size_t n);

/* external_pub: *pub points into ext's data (borrowed), of any length (the suite check
 * is the caller's: MLS_KEM_PK_LEN). 0 or MLS_E_DECODE. */
int mls_ext_external_pub_decode(const mls_extension *ext, mls_slice *pub);
int mls_ext_external_pub_encode(mls_buf *b, const uint8_t *pub, size_t n);

typedef struct mls_required_capabilities {
    mls_u16_list extension_types;
    mls_u16_list proposal_types;
    mls_u16_list credential_types;
} mls_required_capabilities;

int mls_required_capabilities_decode(mls_rd *r, mls_required_capabilities *out);
int mls_required_capabilities_decode_all(const uint8_t *p, size_t n,
                                         mls_required_capabilities *out);
int mls_required_capabilities_encode(mls_buf *b, const mls_required_capabilities *rc);
void mls_required_capabilities_free(mls_required_capabilities *rc);

typedef struct mls_external_sender {
    mls_bytes signature_key;
    mls_credential credential;
} mls_external_sender;

typedef struct mls_external_senders {
    mls_external_sender *items;
    size_t n;
} mls_external_senders;

int mls_external_senders_decode(mls_rd *r, mls_external_senders *out);
int mls_external_senders_decode_all(const uint8_t *p, size_t n, mls_external_senders *out);
int mls_external_senders_encode(mls_buf *b, const mls_external_senders *es);
void mls_external_senders_free(mls_external_senders *es);

#endif
