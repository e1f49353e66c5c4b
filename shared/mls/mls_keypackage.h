/*
 * mls_keypackage: KeyPackage (RFC 9420 10), its signature and reference, and the checks
 * of 10.1 that need no group. Conventions: see mls_credential.h.
 *
 *   struct {
 *     ProtocolVersion version;     uint16
 *     CipherSuite cipher_suite;    uint16
 *     HPKEPublicKey init_key;      opaque<V>
 *     LeafNode leaf_node;
 *     Extension extensions<V>;
 *     opaque signature<V>;         SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)
 *   } KeyPackage;
 *   KeyPackageTBS: the same without signature.
 *   KeyPackageRef = RefHash("MLS 1.0 KeyPackage Reference", KeyPackage encoding).
 *
 * The decoder accepts any version and cipher suite (the message vectors hold other
 * suites); mls_key_package_validate rejects what we cannot use.
 */
#ifndef MLS_KEYPACKAGE_H
#define MLS_KEYPACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_extension.h"
#include "mls_leafnode.h"

typedef struct mls_key_package {
    uint16_t version;
    uint16_t cipher_suite;
    mls_bytes init_key;
    mls_leaf_node leaf_node;
    mls_extension_list extensions;
    mls_bytes signature;
} mls_key_package;

int mls_key_package_decode(mls_rd *r, mls_key_package *out);
int mls_key_package_decode_all(const uint8_t *p, size_t n, mls_key_package *out);
int mls_key_package_encode(mls_buf *b, const mls_key_package *kp);
void mls_key_package_free(mls_key_package *kp);
int mls_key_package_copy(mls_key_package *dst, const mls_key_package *src);

/* KeyPackageTBS of kp. */
int mls_key_package_tbs_encode(mls_buf *b, const mls_key_package *kp);
/* Signs the KeyPackageTBS with the Ed25519 seed of kp->leaf_node.signature_key and
 * stores the signature in kp->signature (replacing it). The leaf node must already be
 * signed (its signature is part of the TBS). */
int mls_key_package_sign(mls_key_package *kp, const uint8_t seed[MLS_SIG_SEED_LEN]);
/* 0 if kp->signature verifies under kp->leaf_node.signature_key; MLS_E_SIGNATURE if
 * not. */
int mls_key_package_verify(const mls_key_package *kp);

/* KeyPackageRef of kp (MLS_HASH_LEN bytes). 0, MLS_E_INVALID or MLS_E_NOMEM. */
int mls_key_package_ref(const mls_key_package *kp, uint8_t out[MLS_HASH_LEN]);
/* The same over an encoded KeyPackage (as received: no re-encoding). */
int mls_key_package_ref_bytes(const uint8_t *kp, size_t n, uint8_t out[MLS_HASH_LEN]);

/* The checks of RFC 9420 10.1 that need no group state, in this order:
 *   version is mls10 and cipher_suite is 3               else MLS_E_UNSUPPORTED
 *   init_key is MLS_KEM_PK_LEN bytes                     else MLS_E_KEY_PACKAGE
 *   leaf_node passes mls_leaf_node_check_suite           else MLS_E_LEAF_NODE
 *   leaf_node_source is key_package                      else MLS_E_LEAF_NODE
 *   the leaf node's signature verifies                   else MLS_E_LEAF_NODE
 *   the KeyPackage signature verifies                    else MLS_E_KEY_PACKAGE
 *   init_key differs from leaf_node.encryption_key       else MLS_E_KEY_PACKAGE
 *   now within leaf_node.lifetime, unless now is 0       else MLS_E_LIFETIME
 * The group-dependent checks (the suite and version of the group, capabilities versus
 * the group's extensions, the AS check of the credential, duplicate keys in the tree)
 * are the caller's. */
int mls_key_package_validate(const mls_key_package *kp, uint64_t now);

#endif
