/*
 * sc_identity: long-term Ed25519 identity keys, fingerprints and safety numbers
 * (docs/PROTOCOL.md section 4).
 */
#ifndef SC_IDENTITY_H
#define SC_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "sc_rng.h"

#define SC_IDENTITY_PK_BYTES 32u
#define SC_IDENTITY_SK_BYTES 64u
#define SC_IDENTITY_FINGERPRINT_CHARS 30u /* digits, without NUL */
#define SC_IDENTITY_SAFETY_CHARS 71u      /* 12 groups of 5 digits, 11 spaces, without NUL */
#define SC_IDENTITY_FINGERPRINT_ROUNDS 5200u

/* Draws a key pair from rng. Returns 0, or -1 on failure (never for a valid rng). */
int sc_identity_generate(sc_rng *rng, uint8_t pk[SC_IDENTITY_PK_BYTES],
                         uint8_t sk[SC_IDENTITY_SK_BYTES]);

/* Returns 0 if sk is a well-formed Ed25519 secret key whose public half is pk, else -1. */
int sc_identity_check(const uint8_t pk[SC_IDENTITY_PK_BYTES],
                      const uint8_t sk[SC_IDENTITY_SK_BYTES]);

/* Writes the 30-digit fingerprint of pk and a NUL into out. */
void sc_identity_fingerprint(const uint8_t pk[SC_IDENTITY_PK_BYTES],
                             char out[SC_IDENTITY_FINGERPRINT_CHARS + 1]);

/* Writes the safety number of the pair (a, b), identical for (b, a), and a NUL. */
void sc_identity_safety_number(const uint8_t a[SC_IDENTITY_PK_BYTES],
                               const uint8_t b[SC_IDENTITY_PK_BYTES],
                               char out[SC_IDENTITY_SAFETY_CHARS + 1]);

/* As above, from two fingerprints already computed (cheaper: no hashing). */
void sc_identity_safety_from_fingerprints(const char *fa, const char *fb,
                                          char out[SC_IDENTITY_SAFETY_CHARS + 1]);

size_t sc_identity_pkbytes(void);
size_t sc_identity_skbytes(void);
size_t sc_identity_fingerprint_chars(void);
size_t sc_identity_safety_chars(void);

#endif
