/*
 * mo_roundtrip: decode-then-encode of every MLS object kind that travels on its own
 * (tests only: the messages vector checker, the object unit tests and the fuzzer share
 * it). Each kind names the top-level decoder it runs with mls_<type>_decode_all.
 */
#ifndef MO_ROUNDTRIP_H
#define MO_ROUNDTRIP_H

#include <stddef.h>
#include <stdint.h>

#include "mls_codec.h"

enum mo_kind {
    MO_MESSAGE,          /* MLSMessage, any wire format */
    MO_KEY_PACKAGE,
    MO_GROUP_INFO,
    MO_WELCOME,
    MO_GROUP_CONTEXT,
    MO_RATCHET_TREE,     /* optional<Node> ratchet_tree<V> */
    MO_GROUP_SECRETS,
    MO_ADD,              /* proposal bodies (Add, Update, ...) */
    MO_UPDATE,
    MO_REMOVE,
    MO_PSK,
    MO_REINIT,
    MO_EXTERNAL_INIT,
    MO_GROUP_CONTEXT_EXTENSIONS,
    MO_PROPOSAL,         /* Proposal with its type */
    MO_COMMIT,
    MO_LEAF_NODE,
    MO_FRAMED_CONTENT,
    MO_AUTHENTICATED_CONTENT,
    MO_EXTENSIONS,       /* Extension extensions<V> */
    MO_EXTERNAL_SENDERS,
    MO_REQUIRED_CAPABILITIES,
    MO_KIND_COUNT
};

/* Human-readable name of a kind ("MLSMessage", "KeyPackage", ...). */
const char *mo_kind_name(int kind);

/* Decodes p (n bytes) as kind with the strict top-level decoder and, if that works,
 * re-encodes into out (appended). Returns the decoder's result (an mls_err), or the
 * encoder's if decoding worked and encoding did not. If info is not NULL it gets a
 * one-line summary of the decoded structure (wire format / content type) for checks. */
int mo_roundtrip(int kind, const uint8_t *p, size_t n, mls_buf *out, uint32_t *info);

/* For MO_MESSAGE: info = wire_format << 8 | content_type (content_type 0 unless a
 * PublicMessage or PrivateMessage). */
#define MO_INFO(wf, ct) ((uint32_t)(wf) << 8 | (uint32_t)(ct))

#endif
