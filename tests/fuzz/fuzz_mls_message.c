/* fuzz_mls_message: the MLS object decoders over arbitrary bytes. The whole input is
 * decoded as each top-level object kind in turn (MLSMessage of every wire format,
 * KeyPackage, GroupInfo, Welcome, GroupContext, ratchet_tree, GroupSecrets, Commit,
 * Proposal, LeafNode, FramedContent, AuthenticatedContent, extension lists) and as a
 * PrivateMessageContent of each content type. Decoding is strict (RFC 9420 2.1), so the
 * encoding is canonical: whatever decodes must re-encode to exactly the input bytes.
 * Decode failures must be one of the documented codes. */
#include "fuzz_common.h"
#include "mls_err.h"
#include "mls_message.h"
#include "mo_roundtrip.h"

static const int kinds[] = {
    MO_MESSAGE,      MO_KEY_PACKAGE, MO_GROUP_INFO,  MO_WELCOME,
    MO_GROUP_CONTEXT, MO_RATCHET_TREE, MO_GROUP_SECRETS, MO_COMMIT,
    MO_PROPOSAL,     MO_LEAF_NODE,   MO_FRAMED_CONTENT, MO_AUTHENTICATED_CONTENT,
    MO_EXTENSIONS,   MO_EXTERNAL_SENDERS, MO_REQUIRED_CAPABILITIES,
};

static int documented(int rc)
{
    return rc == MLS_E_DECODE || rc == MLS_E_INVALID || rc == MLS_E_UNSUPPORTED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        mls_buf out = { 0 };
        int rc = mo_roundtrip(kinds[i], data, size, &out, NULL);
        if (rc) {
            if (!documented(rc))
                fprintf(stderr, "%s: rc %d\n", mo_kind_name(kinds[i]), rc);
            FUZZ_ASSERT(documented(rc));
        } else {
            if (out.len != size || memcmp(out.p, data, size) != 0)
                fprintf(stderr, "%s: re-encoding differs\n", mo_kind_name(kinds[i]));
            FUZZ_ASSERT(out.len == size && memcmp(out.p, data, size) == 0);
        }
        mls_buf_free(&out);
    }
    for (uint8_t ct = MLS_CONTENT_APPLICATION; ct <= MLS_CONTENT_COMMIT; ct++) {
        mls_framed_content fc;
        mls_framed_content_auth_data auth;
        int rc = mls_private_message_content_decode(data, size, ct, &fc, &auth);
        if (rc) {
            FUZZ_ASSERT(documented(rc) || rc == MLS_E_PADDING);
            FUZZ_ASSERT(fc.content_type == 0 && auth.signature.p == NULL);
            continue;
        }
        /* re-encode with as much padding as the input had */
        mls_buf out = { 0 };
        FUZZ_ASSERT(mls_private_message_content_encode(&out, &fc, &auth, 0) == 0);
        FUZZ_ASSERT(out.len <= size && memcmp(out.p, data, out.len) == 0);
        FUZZ_ASSERT(fuzz_all_zero(data + out.len, size - out.len));
        mls_buf_free(&out);
        mls_framed_content_free(&fc);
        mls_framed_content_auth_data_free(&auth);
    }
    return 0;
}
