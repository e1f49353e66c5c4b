#include "mls_transcript.h"

#include <string.h>

#include <sodium.h>

#include "mls_codec.h"
#include "mls_err.h"

/* Writes the minimal MLS varint of v into p and returns its length, or 0 if v is over
 * MLS_VARINT_MAX. */
static size_t varint(uint8_t p[4], size_t v)
{
    if (v < 64) {
        p[0] = (uint8_t)v;
        return 1;
    }
    if (v < 16384) {
        p[0] = (uint8_t)(0x40 | (v >> 8));
        p[1] = (uint8_t)v;
        return 2;
    }
    if (v > MLS_VARINT_MAX)
        return 0;
    p[0] = (uint8_t)(0x80 | (v >> 24));
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static void update(crypto_hash_sha256_state *st, const uint8_t *p, size_t n)
{
    if (n > 0)
        crypto_hash_sha256_update(st, p, n);
}

void mls_transcript_confirmed(const uint8_t *interim_before, size_t ib_len,
                              const uint8_t *input, size_t input_len,
                              uint8_t confirmed[MLS_HASH_LEN])
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    update(&st, interim_before, ib_len);
    update(&st, input, input_len);
    crypto_hash_sha256_final(&st, confirmed);
}

int mls_transcript_confirmed_parts(const uint8_t *interim_before, size_t ib_len,
                                   uint16_t wire_format, const uint8_t *framed_content,
                                   size_t fc_len, const uint8_t *sig, size_t sig_len,
                                   uint8_t confirmed[MLS_HASH_LEN])
{
    crypto_hash_sha256_state st;
    uint8_t wf[2] = {(uint8_t)(wire_format >> 8), (uint8_t)wire_format};
    uint8_t hdr[4];
    size_t hdr_len = varint(hdr, sig_len);

    if (hdr_len == 0)
        return MLS_E_INVALID;
    crypto_hash_sha256_init(&st);
    update(&st, interim_before, ib_len);
    update(&st, wf, sizeof wf);
    update(&st, framed_content, fc_len);
    update(&st, hdr, hdr_len);
    update(&st, sig, sig_len);
    crypto_hash_sha256_final(&st, confirmed);
    return 0;
}

int mls_transcript_interim(const uint8_t confirmed[MLS_HASH_LEN], const uint8_t *tag,
                           size_t tag_len, uint8_t interim[MLS_HASH_LEN])
{
    crypto_hash_sha256_state st;
    uint8_t hdr[4];
    size_t hdr_len = varint(hdr, tag_len);

    if (hdr_len == 0)
        return MLS_E_INVALID;
    crypto_hash_sha256_init(&st);
    update(&st, confirmed, MLS_HASH_LEN);
    update(&st, hdr, hdr_len);
    update(&st, tag, tag_len);
    crypto_hash_sha256_final(&st, interim);
    return 0;
}
