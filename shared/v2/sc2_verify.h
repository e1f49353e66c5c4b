/*
 * sc2_verify: numbers two people compare out of band to verify keys (docs/PROTOCOL.md
 * section 8.11): a member's fingerprint, the pairwise safety number of two members, and
 * the room code of an epoch.
 *
 *   h_0 = "saltchat/v2 fingerprint"
 *   h_i = H(64, h_{i-1} || identity(32))             i = 1 .. SC2_VF_ITERATIONS
 *   fingerprint = digits(h_5200, 6 groups)           30 digits, "12345 67890 ..."
 *   safety number = the two fingerprints' 30-digit strings, the smaller first
 *   room code = digits(H(64, "saltchat/v2 room code" || room_id(16) || u64(epoch)
 *                        || epoch_authenticator(32)), 4 groups)         20 digits
 *
 * digits(h, g): for j < g, the big-endian 40-bit integer h[5j .. 5j+5) mod 100000, as 5
 * decimal digits with leading zeros. Groups are separated by one space.
 *
 * Sans-I/O, no allocation; identity keys and room codes are public values. Prefix sc2_vf_.
 */
#ifndef SC2_VERIFY_H
#define SC2_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define SC2_VF_IDENTITY_BYTES 32u
#define SC2_VF_ROOM_ID_BYTES 16u
#define SC2_VF_AUTH_BYTES 32u   /* epoch_authenticator (suite 3: SHA-256 size) */
#define SC2_VF_ITERATIONS 5200u
#define SC2_VF_FP_DIGITS 30u
#define SC2_VF_SN_DIGITS 60u
#define SC2_VF_CODE_DIGITS 20u
/* Formatted lengths without the NUL: digits plus one space between groups of 5. */
#define SC2_VF_FP_CHARS (SC2_VF_FP_DIGITS + SC2_VF_FP_DIGITS / 5u - 1u)       /* 35 */
#define SC2_VF_SN_CHARS (SC2_VF_SN_DIGITS + SC2_VF_SN_DIGITS / 5u - 1u)       /* 71 */
#define SC2_VF_CODE_CHARS (SC2_VF_CODE_DIGITS + SC2_VF_CODE_DIGITS / 5u - 1u) /* 23 */

/* sc2_vf_check results */
#define SC2_VF_FINGERPRINT 1    /* the text is their fingerprint */
#define SC2_VF_SAFETY_NUMBER 2  /* the text is our pairwise safety number */
#define SC2_VF_E_MISMATCH (-1)  /* 30 or 60 digits, but not theirs / not ours */
#define SC2_VF_E_FORMAT (-2)    /* not 30 or 60 digits, or a character other than a digit,
                                   space or tab */

/* Returns a static description of an SC2_VF_E_* value. */
const char *sc2_vf_strerror(int err);

/* The fingerprint of identity as 30 digits in 6 groups and a NUL (SC2_VF_FP_CHARS + 1
 * bytes). Costs SC2_VF_ITERATIONS BLAKE2b calls (about 2 ms natively): cache it. */
void sc2_vf_fingerprint(const uint8_t identity[SC2_VF_IDENTITY_BYTES],
                        char out[SC2_VF_FP_CHARS + 1]);

/* The safety number of identities a and b (either order gives the same) as 60 digits in
 * 12 groups and a NUL. Two fingerprints' cost. */
void sc2_vf_safety_number(const uint8_t a[SC2_VF_IDENTITY_BYTES],
                          const uint8_t b[SC2_VF_IDENTITY_BYTES], char out[SC2_VF_SN_CHARS + 1]);

/* The same from two fingerprints as sc2_vf_fingerprint wrote them (no hashing). Returns
 * 0, or SC2_VF_E_FORMAT if either is not 30 digits (spaces ignored). */
int sc2_vf_safety_from_fps(const char *fp_a, const char *fp_b, char out[SC2_VF_SN_CHARS + 1]);

/* The room code of an epoch: 20 digits in 4 groups and a NUL. */
void sc2_vf_room_code(const uint8_t room_id[SC2_VF_ROOM_ID_BYTES], uint64_t epoch,
                      const uint8_t epoch_authenticator[SC2_VF_AUTH_BYTES],
                      char out[SC2_VF_CODE_CHARS + 1]);

/* Copies the digits of s[0..len) to out (cap bytes, NUL-terminated), skipping spaces and
 * tabs. Returns the number of digits, or SC2_VF_E_FORMAT if s holds any other character
 * or more than cap - 1 digits. */
int sc2_vf_digits(const char *s, size_t len, char *out, size_t cap);

/*
 * What a user typed to verify a member: their fingerprint (fp_theirs) or our safety
 * number with them (sn), each as written by the functions above, and typed[0..len) with
 * spaces optional. Returns SC2_VF_FINGERPRINT, SC2_VF_SAFETY_NUMBER, SC2_VF_E_MISMATCH or
 * SC2_VF_E_FORMAT.
 */
int sc2_vf_check(const char *typed, size_t len, const char *fp_theirs, const char *sn);

#endif
