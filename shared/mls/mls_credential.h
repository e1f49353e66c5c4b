/*
 * mls_credential: the Credential of RFC 9420 5.3.
 *
 *   struct { opaque cert_data<V>; } Certificate;
 *   struct {
 *     CredentialType credential_type;          uint16
 *     select (credential_type) {
 *       case basic: opaque identity<V>;         basic(1)
 *       case x509:  Certificate certificates<V>;  x509(2)
 *     };
 *   } Credential;
 *
 * The body of any other credential type has no defined encoding, so it cannot be parsed:
 * its decode fails with MLS_E_UNSUPPORTED (RFC 9420 13.5: an unsupported credential
 * type rejects the enclosing message). X.509 certificates are kept opaque (DER bytes,
 * not parsed) so that they round-trip; validating them is the application's job.
 *
 * Conventions of all the object modules (mls_credential, mls_extension, mls_leafnode,
 * mls_keypackage, mls_proposal, mls_commit, mls_groupinfo, mls_message):
 *   - Objects own their bytes (mls_bytes / arrays from mls_alloc). A zeroed object is
 *     empty and valid to free; mls_<type>_free wipes, frees and leaves it zeroed (so a
 *     second free is harmless).
 *   - mls_<type>_decode(r, out) reads one object from r into *out, which it overwrites
 *     (it does not free what *out held). 0; MLS_E_DECODE for malformed input (truncated,
 *     non-minimal varint, a vector overrunning its parent, an enum or optional byte out
 *     of range, a list over its count bound); MLS_E_UNSUPPORTED for a registry value whose
 *     body cannot be parsed (credential type, proposal type, wire format, version of an
 *     MLSMessage); MLS_E_INVALID for a list of extensions with a repeated type;
 *     MLS_E_NOMEM. On failure *out is zeroed (everything built was freed) and the position
 *     of r is unspecified.
 *   - mls_<type>_decode_all(p, n, out): the same over a whole buffer, and MLS_E_DECODE
 *     if bytes are left over.
 *   - mls_<type>_encode(b, x) appends the encoding to b. 0; MLS_E_INVALID if x holds a
 *     value that has no encoding (an enum value out of range, a missing field that the
 *     variant needs); else b's status (MLS_E_NOMEM). A failed encode may have appended
 *     part of the object (mls_buf_status(b) is then the error too, when it was b's).
 *   - mls_<type>_copy(dst, src): a deep copy into *dst (overwritten, not freed first).
 *     0, MLS_E_NOMEM or MLS_E_INVALID (src does not encode); *dst zeroed on failure.
 *   - Key and signature fields are kept at whatever length the wire carries (the
 *     working group's message vectors mix cipher suites); lengths for our suite are
 *     checked by the validation functions (mls_leaf_node_check_suite,
 *     mls_key_package_validate, ...), not by the decoders.
 */
#ifndef MLS_CREDENTIAL_H
#define MLS_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"

/* Bound on any decoded list of variable-size elements (certificates, extensions,
 * proposals, secrets, ...) against hostile input. */
#define MLS_MAX_LIST_ITEMS 65536u

enum mls_credential_type {
    MLS_CREDENTIAL_BASIC = 1,
    MLS_CREDENTIAL_X509 = 2
};

typedef struct mls_credential {
    uint16_t credential_type;  /* enum mls_credential_type */
    mls_bytes identity;        /* basic */
    mls_bytes *certificates;   /* x509: cert_data of each, end-entity first */
    size_t n_certificates;
} mls_credential;

int mls_credential_decode(mls_rd *r, mls_credential *out);
int mls_credential_decode_all(const uint8_t *p, size_t n, mls_credential *out);
int mls_credential_encode(mls_buf *b, const mls_credential *c);
void mls_credential_free(mls_credential *c);
int mls_credential_copy(mls_credential *dst, const mls_credential *src);

/* A basic credential with a copy of identity (n bytes) in *out (overwritten).
 * 0 or MLS_E_NOMEM. */
int mls_credential_init_basic(mls_credential *out, const uint8_t *identity, size_t n);

/* 1 if a and b encode to the same bytes (same type and contents), else 0. */
int mls_credential_eq(const mls_credential *a, const mls_credential *b);

#endif
