#include "mo_roundtrip.h"

#include <string.h>

#include "mls_err.h"
#include "mls_message.h"

static const char *const names[MO_KIND_COUNT] = {
    [MO_MESSAGE] = "MLSMessage",
    [MO_KEY_PACKAGE] = "KeyPackage",
    [MO_GROUP_INFO] = "GroupInfo",
    [MO_WELCOME] = "Welcome",
    [MO_GROUP_CONTEXT] = "GroupContext",
    [MO_RATCHET_TREE] = "ratchet_tree",
    [MO_GROUP_SECRETS] = "GroupSecrets",
    [MO_ADD] = "Add",
    [MO_UPDATE] = "Update",
    [MO_REMOVE] = "Remove",
    [MO_PSK] = "PreSharedKey",
    [MO_REINIT] = "ReInit",
    [MO_EXTERNAL_INIT] = "ExternalInit",
    [MO_GROUP_CONTEXT_EXTENSIONS] = "GroupContextExtensions",
    [MO_PROPOSAL] = "Proposal",
    [MO_COMMIT] = "Commit",
    [MO_LEAF_NODE] = "LeafNode",
    [MO_FRAMED_CONTENT] = "FramedContent",
    [MO_AUTHENTICATED_CONTENT] = "AuthenticatedContent",
    [MO_EXTENSIONS] = "Extension list",
    [MO_EXTERNAL_SENDERS] = "ExternalSender list",
    [MO_REQUIRED_CAPABILITIES] = "RequiredCapabilities",
};

const char *mo_kind_name(int kind)
{
    return kind >= 0 && kind < MO_KIND_COUNT ? names[kind] : "?";
}

static uint16_t body_type(int kind)
{
    switch (kind) {
    case MO_ADD: return MLS_PROPOSAL_ADD;
    case MO_UPDATE: return MLS_PROPOSAL_UPDATE;
    case MO_REMOVE: return MLS_PROPOSAL_REMOVE;
    case MO_PSK: return MLS_PROPOSAL_PSK;
    case MO_REINIT: return MLS_PROPOSAL_REINIT;
    case MO_EXTERNAL_INIT: return MLS_PROPOSAL_EXTERNAL_INIT;
    default: return MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
    }
}

/* One decode_all / encode / free triple per object type. */
#define MO_RT(T)                                                      \
    do {                                                              \
        mls_##T x;                                                    \
        rc = mls_##T##_decode_all(p, n, &x);                          \
        if (rc)                                                       \
            return rc;                                                \
        rc = mls_##T##_encode(out, &x);                               \
        mls_##T##_free(&x);                                           \
        return rc;                                                    \
    } while (0)

int mo_roundtrip(int kind, const uint8_t *p, size_t n, mls_buf *out, uint32_t *info)
{
    int rc;
    if (info)
        *info = 0;
    switch (kind) {
    case MO_MESSAGE: {
        mls_message m;
        if ((rc = mls_message_decode_all(p, n, &m)))
            return rc;
        if (info) {
            uint8_t ct = 0;
            if (m.wire_format == MLS_WIRE_FORMAT_PUBLIC_MESSAGE)
                ct = m.public_message.content.content_type;
            else if (m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE)
                ct = m.private_message.content_type;
            *info = MO_INFO(m.wire_format, ct);
        }
        rc = mls_message_encode(out, &m);
        mls_message_free(&m);
        return rc;
    }
    case MO_KEY_PACKAGE: MO_RT(key_package);
    case MO_GROUP_INFO: MO_RT(group_info);
    case MO_WELCOME: MO_RT(welcome);
    case MO_GROUP_CONTEXT: MO_RT(group_context);
    case MO_RATCHET_TREE: MO_RT(node_array);
    case MO_GROUP_SECRETS: MO_RT(group_secrets);
    case MO_ADD:
    case MO_UPDATE:
    case MO_REMOVE:
    case MO_PSK:
    case MO_REINIT:
    case MO_EXTERNAL_INIT:
    case MO_GROUP_CONTEXT_EXTENSIONS: {
        mls_proposal x;
        if ((rc = mls_proposal_body_decode_all(p, n, body_type(kind), &x)))
            return rc;
        rc = mls_proposal_body_encode(out, &x);
        mls_proposal_free(&x);
        return rc;
    }
    case MO_PROPOSAL: MO_RT(proposal);
    case MO_COMMIT: MO_RT(commit);
    case MO_LEAF_NODE: MO_RT(leaf_node);
    case MO_FRAMED_CONTENT: MO_RT(framed_content);
    case MO_AUTHENTICATED_CONTENT: MO_RT(authenticated_content);
    case MO_EXTENSIONS: MO_RT(extension_list);
    case MO_EXTERNAL_SENDERS: MO_RT(external_senders);
    case MO_REQUIRED_CAPABILITIES: MO_RT(required_capabilities);
    default:
        return MLS_E_INVALID;
    }
}
