/*
 * sc_group: group messages, encrypted once with a sender-key message key and broadcast
 * (docs/PROTOCOL.md section 6):
 *   0x01 0x05 chain_id:u32 index:u32 box(mk, padded plaintext) sig(64)
 * and the text plaintext inside: ptype 0x01, msg_id:u64, time_ms:u64, text.
 */
#ifndef SC_GROUP_H
#define SC_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "sc_chain.h"

#define SC_GROUP_HEADER_BYTES 10u
#define SC_GROUP_SIG_BYTES 64u
#define SC_GROUP_MIN_PADDED 64u
#define SC_GROUP_MAX_PLAIN (1u << 20) /* plaintext limit of the codec (before padding) */
#define SC_GROUP_TEXT_HEADER 17u      /* ptype, msg_id, time_ms */
#define SC_GROUP_MAX_TEXT 32768u      /* bytes of UTF-8 text in a text plaintext */
/* Shortest group message: header, MAC, SC_GROUP_MIN_PADDED, signature. */
#define SC_GROUP_MIN_BYTES (SC_GROUP_HEADER_BYTES + 16u + SC_GROUP_MIN_PADDED + SC_GROUP_SIG_BYTES)

#define SC_GROUP_E_MALFORMED (-1)
#define SC_GROUP_E_SIGNATURE (-2)
#define SC_GROUP_E_CIPHERTEXT (-3) /* box or padding failed under a valid signature */
#define SC_GROUP_E_SPACE (-4)
#define SC_GROUP_E_TOO_LONG (-5)
/* Chain errors (SC_CHAIN_E_*) are passed through as -100 + their value; out of memory is
 * SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_NOMEM. */
#define SC_GROUP_E_CHAIN_BASE (-100)

/* Padded length P for a plaintext of len bytes (max(64, padme(len + 1))), or 0 if len is
 * over SC_GROUP_MAX_PLAIN. */
size_t sc_group_padded_len(size_t plain_len);
/* Total size of a sealed group message for a plaintext of len bytes (0 if len is over
 * SC_GROUP_MAX_PLAIN). */
size_t sc_group_sealed_len(size_t plain_len);

/* Encrypts plain with the chain's next key, signs and advances the chain. Returns 0 or
 * SC_GROUP_E_SPACE / E_TOO_LONG / chain error. */
int sc_group_seal(sc_chain_out *c, const uint8_t room_id[32], uint64_t sender,
                  const uint8_t *plain, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Reads chain_id and index from a group message's header. Returns 0, or E_MALFORMED if
 * the version, kind or total length is impossible. */
int sc_group_peek(const uint8_t *msg, size_t len, uint32_t *chain_id, uint32_t *index);

/* Verifies, decrypts and unpads msg with c, then commits the index. Writes the plaintext
 * into plain[cap]; cap must hold the padded plaintext (len - SC_GROUP_MIN_BYTES +
 * SC_GROUP_MIN_PADDED bytes; cap >= len always suffices), else E_SPACE. Returns 0 or an
 * SC_GROUP_E_* value: E_MALFORMED also when msg's chain_id is not c's; E_CIPHERTEXT
 * also for padding that is not exactly sc_group_padded_len of the plaintext. On any
 * error c is unchanged and plain holds nothing. */
int sc_group_open(sc_chain_in *c, const uint8_t room_id[32], uint64_t sender,
                  const uint8_t *msg, size_t len, uint8_t *plain, size_t cap,
                  size_t *plain_len);

/* Text plaintext codec. encode returns bytes written (SC_GROUP_TEXT_HEADER + len), or 0 if
 * cap is too small or text is empty, longer than SC_GROUP_MAX_TEXT or not UTF-8 (text may
 * lie inside out); decode returns 0 and points *text into plain, or E_MALFORMED (unknown
 * ptype, empty, too long or not UTF-8). */
size_t sc_group_text_encode(uint64_t msg_id, uint64_t time_ms, const uint8_t *text, size_t len,
                            uint8_t *out, size_t cap);
int sc_group_text_decode(const uint8_t *plain, size_t len, uint64_t *msg_id, uint64_t *time_ms,
                         const uint8_t **text, size_t *text_len);

const char *sc_group_strerror(int err);
size_t sc_group_sealed_bytes(size_t plain_len);
size_t sc_group_max_text(void);
size_t sc_group_min_bytes(void);
size_t sc_group_header_bytes(void);
size_t sc_group_max_plain(void);
size_t sc_group_text_header_bytes(void);

#endif
