/*
 * mls_psk: pre-shared keys of RFC 9420 section 8.4: the PreSharedKeyID structure (used
 * by the PreSharedKey proposal and by GroupSecrets.psks) and the psk_secret that chains
 * a list of PSKs into the key schedule.
 *
 *   struct {
 *     PSKType psktype;                 uint8: external(1), resumption(2)
 *     select (psktype) {
 *       case external:   opaque psk_id<V>;
 *       case resumption: ResumptionPSKUsage usage;   uint8: application(1), reinit(2),
 *                        opaque psk_group_id<V>;            branch(3)
 *                        uint64 psk_epoch;
 *     };
 *     opaque psk_nonce<V>;
 *   } PreSharedKeyID;
 *
 * An mls_psk_id owns its bytes (mls_alloc); a zeroed mls_psk_id is empty and may be
 * passed to mls_psk_id_free. Fields of the other psktype are ignored when encoding and
 * left empty when decoding.
 */
#ifndef MLS_PSK_H
#define MLS_PSK_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_crypto.h"

enum mls_psk_type { MLS_PSK_EXTERNAL = 1, MLS_PSK_RESUMPTION = 2 };

enum mls_psk_usage {
    MLS_PSK_USAGE_APPLICATION = 1,
    MLS_PSK_USAGE_REINIT = 2,
    MLS_PSK_USAGE_BRANCH = 3
};

typedef struct mls_psk_id {
    uint8_t psktype;        /* enum mls_psk_type */
    mls_bytes psk_id;       /* external */
    uint8_t usage;          /* resumption: enum mls_psk_usage */
    mls_bytes psk_group_id; /* resumption */
    uint64_t psk_epoch;     /* resumption */
    mls_bytes psk_nonce;
} mls_psk_id;

/* Wipes and frees id's bytes; id is empty afterwards. id may be NULL. */
void mls_psk_id_free(mls_psk_id *id);

/* Deep copy of src into *dst, which is overwritten (not freed first: the convention of
 * the object modules, see mls_credential.h). 0 or MLS_E_NOMEM (*dst zeroed then). */
int mls_psk_id_copy(mls_psk_id *dst, const mls_psk_id *src);

/* 1 if a and b are the same PreSharedKeyID (same type, ids, epoch and nonce), else 0.
 * For the duplicate check of RFC 9420 12.2. */
int mls_psk_id_eq(const mls_psk_id *a, const mls_psk_id *b);

/* Appends the PreSharedKeyID encoding to b. 0, MLS_E_INVALID for a psktype or usage
 * outside the enums above, or b's error (mls_buf_status). */
int mls_psk_id_encode(mls_buf *b, const mls_psk_id *id);

/* Reads one PreSharedKeyID from r into *out (which must be empty or zeroed; it is
 * overwritten). 0; MLS_E_DECODE for a truncated input or a psktype / usage outside the
 * enums; MLS_E_NOMEM. On error *out is empty and r is left where it failed. */
int mls_psk_id_decode(mls_rd *r, mls_psk_id *out);

/* 0 if id may be used in a group of our cipher suite: psk_nonce is KDF.Nh (32) bytes
 * and the type / usage are known. MLS_E_PSK otherwise. */
int mls_psk_id_check(const mls_psk_id *id);

/* One entry of the list to chain: its PreSharedKeyID and the PSK value itself (for a
 * resumption PSK, the resumption_psk of that group and epoch). Borrowed pointers. */
typedef struct mls_psk_input {
    const mls_psk_id *id;
    const uint8_t *psk;
    size_t psk_len;
} mls_psk_input;

/* psk_secret over psks[0..n) in order (RFC 9420 8.4): for each i, psk_extracted =
 * Extract(0, psk), psk_input = ExpandWithLabel(psk_extracted, "derived psk",
 * PSKLabel{id, i, n}, Nh), psk_secret = Extract(psk_input, psk_secret). With n == 0 the
 * result is Nh zero bytes (psks may then be NULL). 0; MLS_E_INVALID if n > 65535 or an
 * id does not encode; MLS_E_NOMEM. out is zeroed on error. */
int mls_psk_secret(const mls_psk_input *psks, size_t n, uint8_t out[MLS_HASH_LEN]);

#endif
