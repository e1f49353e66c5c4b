/*
 * mls_framing: message protection of RFC 9420 section 6: signing and verifying the
 * FramedContentTBS, the membership tag of a PublicMessage, and the encryption of a
 * PrivateMessage (content under a secret-tree key with the reuse guard, sender data
 * under the sender-data key sampled from the ciphertext).
 *
 * The objects are M3's (mls_message.h). A commit's confirmation_tag is the caller's:
 * sign first (the signature enters the confirmed transcript hash), derive the new epoch,
 * put MAC(confirmation_key, confirmed_transcript_hash) into auth, then protect.
 *
 * Unprotecting checks, in this order, with distinct errors: group_id (MLS_E_GROUP_ID),
 * epoch (MLS_E_EPOCH), wire format against content type (application data in a
 * PublicMessage: MLS_E_WIRE_FORMAT) and sender type against content type
 * (MLS_E_SENDER), then the membership tag (MLS_E_MEMBERSHIP_TAG) or the decryption
 * (MLS_E_CRYPTO for either AEAD, MLS_E_SENDER for a leaf outside the tree or blank,
 * MLS_E_REPLAY / MLS_E_TOO_FAR from the secret tree, MLS_E_PADDING, MLS_E_DECODE), then
 * the signature (MLS_E_SIGNATURE). Only a message that passed all of them consumes its
 * secret-tree key, so a forgery cannot burn a generation.
 *
 * Unless said otherwise: 0 on success, a negative mls_err; outputs are zeroed/freed on
 * error.
 */
#ifndef MLS_FRAMING_H
#define MLS_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_message.h"
#include "mls_rng.h"
#include "mls_secrettree.h"

/* The epoch a message is protected in / checked against. Borrowed pointers. */
typedef struct mls_framing_ctx {
    const uint8_t *group_id;
    size_t group_id_len;
    uint64_t epoch;
    const uint8_t *group_context; /* serialized GroupContext of this epoch */
    size_t gc_len;
    const uint8_t *membership_key;     /* MLS_HASH_LEN bytes; PublicMessage */
    const uint8_t *sender_data_secret; /* MLS_HASH_LEN bytes; PrivateMessage */
    mls_secrettree *secret_tree;       /* PrivateMessage */
} mls_framing_ctx;

/* Looks up the signature key of the sender of content (a member's leaf, an external
 * sender, the leaf in a new member's commit path or key package). Sets *pub and *pub_len
 * (borrowed; valid until the unprotect call returns). Returns 0 or an error that is
 * passed on (MLS_E_SENDER for a blank or unknown sender). For a PrivateMessage it is
 * called as soon as the SenderData is decrypted, with a content holding only epoch,
 * sender (a member) and no body, so that a blank leaf is refused before any secret-tree
 * work. */
typedef int (*mls_framing_key_fn)(void *arg, const mls_framed_content *content,
                                  const uint8_t **pub, size_t *pub_len);

/* auth->signature = SignWithLabel(seed, "FramedContentTBS", FramedContentTBS) for the
 * wire format the content will be sent in (the GroupContext is covered for member and
 * new_member_commit senders). auth->confirmation_tag is left alone. */
int mls_framing_sign(const mls_framing_ctx *c, uint16_t wire_format,
                     const mls_framed_content *content, const uint8_t seed[MLS_SIG_SEED_LEN],
                     mls_framed_content_auth_data *auth);
/* 0 if auth->signature verifies under pub, else MLS_E_SIGNATURE. */
int mls_framing_verify(const mls_framing_ctx *c, uint16_t wire_format,
                       const mls_framed_content *content,
                       const mls_framed_content_auth_data *auth, const uint8_t *pub,
                       size_t pub_len);

/* Appends MLSMessage(PublicMessage{content, auth, membership_tag}) to out; the tag is
 * computed for a member sender. MLS_E_WIRE_FORMAT for application content,
 * MLS_E_SENDER for a sender type that may not send this content type, MLS_E_INVALID
 * (no membership key for a member), or an encoding error. */
int mls_framing_protect_public(const mls_framing_ctx *c, const mls_framed_content *content,
                               const mls_framed_content_auth_data *auth, mls_buf *out);

/* Checks a decoded PublicMessage (see the order above) and returns its content as an
 * AuthenticatedContent (*out overwritten, caller frees with
 * mls_authenticated_content_free). key_fn is required. */
int mls_framing_unprotect_public(const mls_framing_ctx *c, const mls_public_message *pm,
                                 mls_framing_key_fn key_fn, void *arg,
                                 mls_authenticated_content *out);

/* Appends MLSMessage(PrivateMessage) to out: content (a member's; signed for
 * wire_format private_message) under the next key of the sender's handshake
 * (proposal, commit) or application ratchet, with padding_len zero bytes of padding and
 * a reuse guard from rng. The key is deleted from the secret tree. If generation is not
 * NULL it receives the generation used. MLS_E_SENDER for a non-member sender or a leaf
 * outside the tree, MLS_E_INVALID for missing secrets, secret-tree errors,
 * MLS_E_NOMEM. */
int mls_framing_protect_private(const mls_framing_ctx *c, const mls_framed_content *content,
                                const mls_framed_content_auth_data *auth, size_t padding_len,
                                mls_rng *rng, mls_buf *out, uint32_t *generation);

/* Decrypts and checks a decoded PrivateMessage (see the order above); *out gets the
 * AuthenticatedContent (sender: the member of the SenderData), *generation (may be
 * NULL) the generation. On success the key is consumed. */
int mls_framing_unprotect_private(const mls_framing_ctx *c, const mls_private_message *pm,
                                  mls_framing_key_fn key_fn, void *arg,
                                  mls_authenticated_content *out, uint32_t *generation);

/* Decodes an MLSMessage (exactly n bytes) that must be a PublicMessage or a
 * PrivateMessage and unprotects it as above. MLS_E_WIRE_FORMAT for another wire
 * format, decode errors of the MLSMessage. *generation is 0 for a PublicMessage. */
int mls_framing_unprotect(const mls_framing_ctx *c, const uint8_t *p, size_t n,
                          mls_framing_key_fn key_fn, void *arg,
                          mls_authenticated_content *out, uint32_t *generation);

#endif
