/* cli_text: UTF-8 checks and making untrusted text safe to show on a terminal. */
#ifndef CLI_TEXT_H
#define CLI_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "cli_buf.h"

#define CLI_TEXT_ID_CHARS 16u /* a member or message id as hex digits, without NUL */

/* Decodes one scalar value from s[0..n). Returns its length in bytes (1..4) and sets
 * *cp, or 0 if s does not start with a valid, shortest-form UTF-8 sequence (this
 * includes a sequence cut off by n, surrogates and values above U+10FFFF). */
size_t cli_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Returns 1 if s[0..n) is entirely valid UTF-8, else 0. */
int cli_utf8_valid(const uint8_t *s, size_t n);

/* Flags for cli_text_sanitize. */
#define CLI_TEXT_KEEP_NEWLINES 1u /* '\n' becomes a newline plus an indent of 4 spaces */

/*
 * Appends s[0..n) to b so that it cannot drive a terminal: invalid UTF-8, control
 * characters (C0, DEL, C1) and bidirectional overrides become U+FFFD; tabs become a
 * space; newlines become U+FFFD unless CLI_TEXT_KEEP_NEWLINES. Returns 0, or -1 if
 * memory is exhausted.
 */
int cli_text_sanitize(cli_buf *b, const uint8_t *s, size_t n, unsigned flags);

/* Number of terminal columns s (valid UTF-8, sanitized) occupies. */
size_t cli_text_columns(const char *s, size_t n);

/* Writes id as 16 lowercase hex digits and a NUL. */
void cli_text_id(uint64_t id, char out[CLI_TEXT_ID_CHARS + 1]);

/* Parses 1..16 hex digits. Returns 0 and sets *id, or -1. */
int cli_text_parse_id(const char *s, uint64_t *id);

#define CLI_TEXT_FP_CHARS 35u /* SC2_VF_FP_CHARS: 30 digits in groups of 5 */
/* Writes the fingerprint of a 32-byte identity key (sc2_vf_fingerprint: 30 digits in 6
 * groups) and a NUL. The last 64 keys' fingerprints are cached (each costs ~2 ms). */
void cli_text_fingerprint(const uint8_t identity[32], char out[CLI_TEXT_FP_CHARS + 1]);

#endif
