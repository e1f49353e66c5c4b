/*
 * mls_groupinfo: GroupContext (RFC 9420 8.1), GroupInfo (12.4.3), GroupSecrets and
 * Welcome (12.4.3.1). Conventions: see mls_credential.h.
 *
 *   struct {
 *     ProtocolVersion version = mls10;   uint16; any other value: MLS_E_UNSUPPORTED
 *     CipherSuite cipher_suite;          uint16
 *     opaque group_id<V>; uint64 epoch;
 *     opaque tree_hash<V>; opaque confirmed_transcript_hash<V>;
 *     Extension extensions<V>;
 *   } GroupContext;
 *   struct {
 *     GroupContext group_context; Extension extensions<V>;
 *     MAC confirmation_tag;              opaque<V>
 *     uint32 signer;                     leaf index of the signer
 *     opaque signature<V>;               SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)
 *   } GroupInfo;                         GroupInfoTBS: the same without signature
 *   struct { opaque path_secret<V>; } PathSecret;
 *   struct { opaque joiner_secret<V>; optional<PathSecret> path_secret;
 *            PreSharedKeyID psks<V>; } GroupSecrets;
 *   struct { KeyPackageRef new_member;   opaque<V>
 *            HPKECiphertext encrypted_group_secrets; } EncryptedGroupSecrets;
 *   struct { CipherSuite cipher_suite; EncryptedGroupSecrets secrets<V>;
 *            opaque encrypted_group_info<V>; } Welcome;
 */
#ifndef MLS_GROUPINFO_H
#define MLS_GROUPINFO_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_commit.h"
#include "mls_crypto.h"
#include "mls_extension.h"
#include "mls_psk.h"

typedef struct mls_group_context {
    uint16_t version;        /* always MLS_PROTOCOL_VERSION once decoded */
    uint16_t cipher_suite;
    mls_bytes group_id;
    uint64_t epoch;
    mls_bytes tree_hash;
    mls_bytes confirmed_transcript_hash;
    mls_extension_list extensions;
} mls_group_context;

int mls_group_context_decode(mls_rd *r, mls_group_context *out);
int mls_group_context_decode_all(const uint8_t *p, size_t n, mls_group_context *out);
/* MLS_E_INVALID if version is not mls10. */
int mls_group_context_encode(mls_buf *b, const mls_group_context *gc);
void mls_group_context_free(mls_group_context *gc);
int mls_group_context_copy(mls_group_context *dst, const mls_group_context *src);

typedef struct mls_group_info {
    mls_group_context group_context;
    mls_extension_list extensions;
    mls_bytes confirmation_tag;
    uint32_t signer;
    mls_bytes signature;
} mls_group_info;

int mls_group_info_decode(mls_rd *r, mls_group_info *out);
int mls_group_info_decode_all(const uint8_t *p, size_t n, mls_group_info *out);
int mls_group_info_encode(mls_buf *b, const mls_group_info *gi);
void mls_group_info_free(mls_group_info *gi);
int mls_group_info_copy(mls_group_info *dst, const mls_group_info *src);

/* GroupInfoTBS of gi. */
int mls_group_info_tbs_encode(mls_buf *b, const mls_group_info *gi);
/* Signs the GroupInfoTBS with the signer's Ed25519 seed into gi->signature
 * (replacing it). */
int mls_group_info_sign(mls_group_info *gi, const uint8_t seed[MLS_SIG_SEED_LEN]);
/* 0 if gi->signature verifies under pub (the signature_key of leaf gi->signer, which the
 * caller looks up in the tree); MLS_E_SIGNATURE if not. */
int mls_group_info_verify(const mls_group_info *gi, const uint8_t *pub, size_t pub_len);

typedef struct mls_group_secrets {
    mls_bytes joiner_secret;
    int has_path_secret;     /* 0 or 1: path_secret is set only if 1 */
    mls_bytes path_secret;
    mls_psk_id *psks;
    size_t n_psks;
} mls_group_secrets;

int mls_group_secrets_decode(mls_rd *r, mls_group_secrets *out);
int mls_group_secrets_decode_all(const uint8_t *p, size_t n, mls_group_secrets *out);
int mls_group_secrets_encode(mls_buf *b, const mls_group_secrets *gs);
void mls_group_secrets_free(mls_group_secrets *gs);

typedef struct mls_encrypted_group_secrets {
    mls_bytes new_member;    /* KeyPackageRef */
    mls_hpke_ciphertext encrypted_group_secrets;
} mls_encrypted_group_secrets;

int mls_encrypted_group_secrets_decode(mls_rd *r, mls_encrypted_group_secrets *out);
int mls_encrypted_group_secrets_encode(mls_buf *b, const mls_encrypted_group_secrets *e);
void mls_encrypted_group_secrets_free(mls_encrypted_group_secrets *e);

typedef struct mls_welcome {
    uint16_t cipher_suite;
    mls_encrypted_group_secrets *secrets;
    size_t n_secrets;
    mls_bytes encrypted_group_info;
} mls_welcome;

int mls_welcome_decode(mls_rd *r, mls_welcome *out);
int mls_welcome_decode_all(const uint8_t *p, size_t n, mls_welcome *out);
int mls_welcome_encode(mls_buf *b, const mls_welcome *w);
void mls_welcome_free(mls_welcome *w);
/* The entry of w whose new_member is ref (ref_len bytes), borrowed; NULL if none. */
const mls_encrypted_group_secrets *mls_welcome_find(const mls_welcome *w, const uint8_t *ref,
                                                    size_t ref_len);

#endif
