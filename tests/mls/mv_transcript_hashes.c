/* transcript-hashes.json: confirmed / interim transcript hashes and the confirmation tag
 * (RFC 9420 8.2). ConfirmedTranscriptHashInput is the AuthenticatedContent's own bytes
 * without the trailing confirmation_tag, whose length the decoder gives. */
#include <stdlib.h>
#include <string.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_message.h"
#include "mls_transcript.h"
#include "mv.h"

static size_t varint_len(size_t v)
{
    return v < 64 ? 1 : v < 16384 ? 2 : 4;
}

int mv_check_transcript_hashes(const mv_json *tc, mv_result *res)
{
    uint8_t *ac = NULL, *ckey = NULL, *before = NULL;
    size_t ac_len = 0, ckey_len = 0, before_len = 0, tail;
    uint8_t confirmed[MLS_HASH_LEN], interim[MLS_HASH_LEN], tag[MLS_HASH_LEN];
    mls_authenticated_content content;
    uint64_t suite;
    int out = MV_FAIL, rc;

    memset(&content, 0, sizeof content);
    if (mv_json_u64(tc, "cipher_suite", &suite) != 0)
        return mv_fail(res, "no cipher_suite");
    if (suite != MLS_CIPHER_SUITE)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                       (unsigned long long)suite);
    if (mv_hex(tc, "authenticated_content", &ac, &ac_len) ||
        mv_hex(tc, "confirmation_key", &ckey, &ckey_len) ||
        mv_hex(tc, "interim_transcript_hash_before", &before, &before_len)) {
        mv_fail(res, "missing or malformed field");
        goto done;
    }
    if ((rc = mls_authenticated_content_decode_all(ac, ac_len, &content)) != 0) {
        mv_fail(res, "authenticated_content does not decode: %s", mls_strerror(rc));
        goto done;
    }
    if (content.content.content_type != MLS_CONTENT_COMMIT) {
        mv_fail(res, "authenticated_content holds content type %u, not a commit",
                content.content.content_type);
        goto done;
    }
    tail = varint_len(content.auth.confirmation_tag.len) + content.auth.confirmation_tag.len;
    if (tail > ac_len) {
        mv_fail(res, "confirmation tag longer than the content");
        goto done;
    }
    mls_transcript_confirmed(before, before_len, ac, ac_len - tail, confirmed);
    if (!mv_hex_eq(tc, "confirmed_transcript_hash_after", confirmed, sizeof confirmed, res))
        goto done;
    /* The same input rebuilt from the decoded parts. */
    {
        mls_buf b = {0};
        uint8_t again[MLS_HASH_LEN];

        rc = mls_confirmed_transcript_hash_input_encode(
            &b, content.wire_format, &content.content, content.auth.signature.p,
            content.auth.signature.len);
        if (rc == 0)
            mls_transcript_confirmed(before, before_len, b.p, b.len, again);
        mls_buf_free(&b);
        if (rc != 0 || memcmp(again, confirmed, sizeof again) != 0) {
            mv_fail(res, "ConfirmedTranscriptHashInput re-encoded differs (%s)",
                    mls_strerror(rc));
            goto done;
        }
    }
    mls_mac(ckey, ckey_len, confirmed, sizeof confirmed, tag);
    if (content.auth.confirmation_tag.len != sizeof tag ||
        memcmp(tag, content.auth.confirmation_tag.p, sizeof tag) != 0) {
        mv_fail(res, "confirmation_tag is not MAC(confirmation_key, confirmed hash)");
        goto done;
    }
    rc = mls_transcript_interim(confirmed, content.auth.confirmation_tag.p,
                                content.auth.confirmation_tag.len, interim);
    if (rc != 0) {
        mv_fail(res, "interim: %s", mls_strerror(rc));
        goto done;
    }
    if (!mv_hex_eq(tc, "interim_transcript_hash_after", interim, sizeof interim, res))
        goto done;
    out = MV_PASS;
done:
    mls_authenticated_content_free(&content);
    free(ac);
    free(ckey);
    free(before);
    return out;
}
