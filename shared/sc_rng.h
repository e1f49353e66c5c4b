/*
 * sc_rng: where the core's randomness comes from. Normally libsodium's randombytes;
 * seeded, a deterministic stream for test vectors only (never for real keys).
 * The core keeps no global state: every function that draws takes an sc_rng.
 */
#ifndef SC_RNG_H
#define SC_RNG_H

#include <stddef.h>
#include <stdint.h>

#define SC_RNG_SEED_BYTES 32u

typedef struct sc_rng {
    int deterministic;
    uint64_t counter;
    uint8_t seed[SC_RNG_SEED_BYTES];
} sc_rng;

/* Uses libsodium's randombytes (sodium_init must have succeeded). */
void sc_rng_init(sc_rng *r);
/* Deterministic: draw i yields randombytes_buf_deterministic with seed
 * H(32, key seed, u64(i)). For test vectors only. */
void sc_rng_init_seeded(sc_rng *r, const uint8_t seed[SC_RNG_SEED_BYTES]);
void sc_rng_bytes(sc_rng *r, uint8_t *out, size_t n);
/* A uniformly random nonzero value. */
uint32_t sc_rng_nonzero_u32(sc_rng *r);
uint64_t sc_rng_u64(sc_rng *r);
void sc_rng_wipe(sc_rng *r);

size_t sc_rng_seedbytes(void);

#endif
