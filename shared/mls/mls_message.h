/*
 * mls_message: the framing objects of RFC 9420 6 (Sender, FramedContent,
 * FramedContentAuthData, AuthenticatedContent, PublicMessage, PrivateMessage, MLSMessage)
 * and the encodings that get signed, MACed, hashed or used as AEAD data (FramedContentTBS,
 * AuthenticatedContentTBM, ConfirmedTranscriptHashInput, InterimTranscriptHashInput,
 * PrivateMessageContent, SenderData, PrivateContentAAD, SenderDataAAD). The cryptography
 * on top of them is mls_framing's. Conventions: see mls_credential.h.
 *
 *   struct { SenderType sender_type;   uint8: member(1) external(2)
 *                                      new_member_proposal(3) new_member_commit(4)
 *            select { case member: uint32 leaf_index;
 *                     case external: uint32 sender_index; others: struct{}; }; } Sender;
 *   struct { opaque group_id<V>; uint64 epoch; Sender sender;
 *            opaque authenticated_data<V>;
 *            ContentType content_type;  uint8: application(1) proposal(2) commit(3)
 *            select { case application: opaque application_data<V>;
 *                     case proposal: Proposal; case commit: Commit; }; } FramedContent;
 *   struct { opaque signature<V>;
 *            select (content_type) { case commit: MAC confirmation_tag; }; }
 *     FramedContentAuthData;
 *   struct { WireFormat wire_format; FramedContent content;
 *            FramedContentAuthData auth; } AuthenticatedContent;
 *   struct { FramedContent content; FramedContentAuthData auth;
 *            select (sender_type) { case member: MAC membership_tag; }; } PublicMessage;
 *   struct { opaque group_id<V>; uint64 epoch; ContentType content_type;
 *            opaque authenticated_data<V>; opaque encrypted_sender_data<V>;
 *            opaque ciphertext<V>; } PrivateMessage;
 *   struct { ProtocolVersion version = mls10;   uint16; else MLS_E_UNSUPPORTED
 *            WireFormat wire_format;           uint16: public_message(1)
 *                private_message(2) welcome(3) group_info(4) key_package(5); others
 *                MLS_E_UNSUPPORTED
 *            select (wire_format) { ... the object ... }; } MLSMessage;
 *
 * The decoders check structure only. Which senders, content types and wire formats
 * may be combined (e.g. no application data in a PublicMessage, RFC 9420 6.2) is the
 * group's check.
 */
#ifndef MLS_MESSAGE_H
#define MLS_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_commit.h"
#include "mls_crypto.h"
#include "mls_groupinfo.h"
#include "mls_keypackage.h"
#include "mls_proposal.h"

enum mls_wire_format {
    MLS_WIRE_FORMAT_PUBLIC_MESSAGE = 1,
    MLS_WIRE_FORMAT_PRIVATE_MESSAGE = 2,
    MLS_WIRE_FORMAT_WELCOME = 3,
    MLS_WIRE_FORMAT_GROUP_INFO = 4,
    MLS_WIRE_FORMAT_KEY_PACKAGE = 5
};

enum mls_content_type {
    MLS_CONTENT_APPLICATION = 1,
    MLS_CONTENT_PROPOSAL = 2,
    MLS_CONTENT_COMMIT = 3
};

enum mls_sender_type {
    MLS_SENDER_MEMBER = 1,
    MLS_SENDER_EXTERNAL = 2,
    MLS_SENDER_NEW_MEMBER_PROPOSAL = 3,
    MLS_SENDER_NEW_MEMBER_COMMIT = 4
};

typedef struct mls_sender {
    uint8_t sender_type; /* enum mls_sender_type */
    uint32_t index;      /* member: leaf_index; external: sender_index; else 0 */
} mls_sender;

int mls_sender_decode(mls_rd *r, mls_sender *out);
int mls_sender_encode(mls_buf *b, const mls_sender *s);

typedef struct mls_framed_content {
    mls_bytes group_id;
    uint64_t epoch;
    mls_sender sender;
    mls_bytes authenticated_data;
    uint8_t content_type; /* enum mls_content_type; selects the union member */
    union {
        mls_bytes application_data;
        mls_proposal proposal;
        mls_commit commit;
    };
} mls_framed_content;

int mls_framed_content_decode(mls_rd *r, mls_framed_content *out);
int mls_framed_content_decode_all(const uint8_t *p, size_t n, mls_framed_content *out);
int mls_framed_content_encode(mls_buf *b, const mls_framed_content *fc);
void mls_framed_content_free(mls_framed_content *fc);
int mls_framed_content_copy(mls_framed_content *dst, const mls_framed_content *src);

/* FramedContentAuthData; its shape depends on the content type of the content it
 * authenticates, which the caller passes. */
typedef struct mls_framed_content_auth_data {
    mls_bytes signature;
    mls_bytes confirmation_tag; /* commit only */
} mls_framed_content_auth_data;

int mls_framed_content_auth_data_decode(mls_rd *r, uint8_t content_type,
                                        mls_framed_content_auth_data *out);
int mls_framed_content_auth_data_encode(mls_buf *b, uint8_t content_type,
                                        const mls_framed_content_auth_data *a);
void mls_framed_content_auth_data_free(mls_framed_content_auth_data *a);

typedef struct mls_authenticated_content {
    uint16_t wire_format;
    mls_framed_content content;
    mls_framed_content_auth_data auth;
} mls_authenticated_content;

int mls_authenticated_content_decode(mls_rd *r, mls_authenticated_content *out);
int mls_authenticated_content_decode_all(const uint8_t *p, size_t n,
                                         mls_authenticated_content *out);
int mls_authenticated_content_encode(mls_buf *b, const mls_authenticated_content *ac);
/* The same encoding from its parts (no copy into an mls_authenticated_content needed,
 * e.g. from a PublicMessage's content and auth). */
int mls_authenticated_content_encode_parts(mls_buf *b, uint16_t wire_format,
                                           const mls_framed_content *content,
                                           const mls_framed_content_auth_data *auth);
void mls_authenticated_content_free(mls_authenticated_content *ac);

typedef struct mls_public_message {
    mls_framed_content content;
    mls_framed_content_auth_data auth;
    mls_bytes membership_tag; /* present iff content.sender is a member */
} mls_public_message;

int mls_public_message_decode(mls_rd *r, mls_public_message *out);
int mls_public_message_encode(mls_buf *b, const mls_public_message *pm);
void mls_public_message_free(mls_public_message *pm);

typedef struct mls_private_message {
    mls_bytes group_id;
    uint64_t epoch;
    uint8_t content_type; /* enum mls_content_type */
    mls_bytes authenticated_data;
    mls_bytes encrypted_sender_data;
    mls_bytes ciphertext;
} mls_private_message;

int mls_private_message_decode(mls_rd *r, mls_private_message *out);
int mls_private_message_encode(mls_buf *b, const mls_private_message *pm);
void mls_private_message_free(mls_private_message *pm);

typedef struct mls_message {
    uint16_t version;     /* MLS_PROTOCOL_VERSION */
    uint16_t wire_format; /* enum mls_wire_format; selects the union member */
    union {
        mls_public_message public_message;
        mls_private_message private_message;
        mls_welcome welcome;
        mls_group_info group_info;
        mls_key_package key_package;
    };
} mls_message;

int mls_message_decode(mls_rd *r, mls_message *out);
int mls_message_decode_all(const uint8_t *p, size_t n, mls_message *out);
int mls_message_encode(mls_buf *b, const mls_message *m);
void mls_message_free(mls_message *m);

/* ---- Encodings for signatures, MACs, transcript hashes and AEAD (mls_framing). ---- */

/* FramedContentTBS: version mls10, wire_format, content, then for a member or
 * new_member_commit sender the serialized GroupContext (group_context, gc_len bytes, as
 * mls_group_context_encode writes it). MLS_E_INVALID if such a sender has no
 * group_context (NULL). For other senders group_context is ignored. */
int mls_framed_content_tbs_encode(mls_buf *b, uint16_t wire_format,
                                  const mls_framed_content *content,
                                  const uint8_t *group_context, size_t gc_len);

/* AuthenticatedContentTBM: FramedContentTBS (as above) followed by auth; the input of
 * the membership tag MAC. */
int mls_authenticated_content_tbm_encode(mls_buf *b, uint16_t wire_format,
                                         const mls_framed_content *content,
                                         const mls_framed_content_auth_data *auth,
                                         const uint8_t *group_context, size_t gc_len);

/* ConfirmedTranscriptHashInput: wire_format, content (a commit: MLS_E_INVALID
 * otherwise), opaque signature<V>. */
int mls_confirmed_transcript_hash_input_encode(mls_buf *b, uint16_t wire_format,
                                               const mls_framed_content *content,
                                               const uint8_t *signature, size_t sig_len);

/* InterimTranscriptHashInput: MAC confirmation_tag (opaque<V>). */
int mls_interim_transcript_hash_input_encode(mls_buf *b, const uint8_t *confirmation_tag,
                                             size_t n);

/* PrivateMessageContent: the body of content (application_data, Proposal or Commit,
 * by content->content_type), auth, then padding_len zero bytes. */
int mls_private_message_content_encode(mls_buf *b, const mls_framed_content *content,
                                       const mls_framed_content_auth_data *auth,
                                       size_t padding_len);
/* Parses a decrypted PrivateMessageContent of the given content type (from the
 * PrivateMessage). Sets content->content_type and its body only (the caller fills
 * group_id, epoch, sender and authenticated_data from the PrivateMessage and the
 * SenderData); *content and *auth are overwritten. 0; MLS_E_DECODE (malformed or bad
 * content_type); MLS_E_PADDING if a byte after auth is not zero; MLS_E_NOMEM. On
 * failure both are zeroed. */
int mls_private_message_content_decode(const uint8_t *p, size_t n, uint8_t content_type,
                                       mls_framed_content *content,
                                       mls_framed_content_auth_data *auth);

#define MLS_REUSE_GUARD_LEN 4u

typedef struct mls_sender_data {
    uint32_t leaf_index;
    uint32_t generation;
    uint8_t reuse_guard[MLS_REUSE_GUARD_LEN];
} mls_sender_data;

/* SenderData is fixed-size (MLS_SENDER_DATA_LEN bytes). */
#define MLS_SENDER_DATA_LEN 12u
int mls_sender_data_encode(mls_buf *b, const mls_sender_data *sd);
/* 0, or MLS_E_DECODE unless n is exactly MLS_SENDER_DATA_LEN. */
int mls_sender_data_decode_all(const uint8_t *p, size_t n, mls_sender_data *out);

/* PrivateContentAAD {group_id, epoch, content_type, authenticated_data}. */
int mls_private_content_aad_encode(mls_buf *b, const uint8_t *group_id, size_t gid_len,
                                   uint64_t epoch, uint8_t content_type,
                                   const uint8_t *authenticated_data, size_t ad_len);
/* SenderDataAAD {group_id, epoch, content_type}. */
int mls_sender_data_aad_encode(mls_buf *b, const uint8_t *group_id, size_t gid_len,
                               uint64_t epoch, uint8_t content_type);

#endif
