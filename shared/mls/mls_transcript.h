/*
 * mls_transcript: the confirmed and interim transcript hashes of RFC 9420 section 8.2.
 *
 *   confirmed[n] = Hash(interim[n-1] || ConfirmedTranscriptHashInput)
 *       ConfirmedTranscriptHashInput = WireFormat wire_format || FramedContent content
 *                                      (a commit) || opaque signature<V>
 *   interim[n]   = Hash(confirmed[n] || InterimTranscriptHashInput)
 *       InterimTranscriptHashInput  = MAC confirmation_tag (opaque<V>)
 *
 * interim[n-1] is empty (length 0) for the first commit of a group. The inputs are
 * serialized structures: the caller (M5, via M3's codecs) encodes the FramedContent.
 * Unless said otherwise: 0 on success, a negative mls_err.
 */
#ifndef MLS_TRANSCRIPT_H
#define MLS_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "mls_crypto.h"

/* confirmed = Hash(interim_before || input), input being a serialized
 * ConfirmedTranscriptHashInput. interim_before may be NULL with ib_len 0. */
void mls_transcript_confirmed(const uint8_t *interim_before, size_t ib_len,
                              const uint8_t *input, size_t input_len,
                              uint8_t confirmed[MLS_HASH_LEN]);

/* The same from the parts: wire_format, the serialized FramedContent and the raw
 * signature bytes (encoded here as opaque<V>). MLS_E_INVALID if sig_len does not fit a
 * varint. */
int mls_transcript_confirmed_parts(const uint8_t *interim_before, size_t ib_len,
                                   uint16_t wire_format, const uint8_t *framed_content,
                                   size_t fc_len, const uint8_t *sig, size_t sig_len,
                                   uint8_t confirmed[MLS_HASH_LEN]);

/* interim = Hash(confirmed || opaque confirmation_tag<V>). MLS_E_INVALID if tag_len
 * does not fit a varint. */
int mls_transcript_interim(const uint8_t confirmed[MLS_HASH_LEN], const uint8_t *tag,
                           size_t tag_len, uint8_t interim[MLS_HASH_LEN]);

#endif
