/*
 * mls_rng: where shared/mls draws randomness. Every function that needs fresh bytes
 * takes an mls_rng *; NULL means libsodium's randombytes_buf (sodium_init must have
 * succeeded). Tests pass a deterministic source; never do that for real keys.
 */
#ifndef MLS_RNG_H
#define MLS_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct mls_rng {
    void (*fill)(void *ctx, uint8_t *out, size_t n);
    void *ctx;
} mls_rng;

/* Fills out with n random bytes from rng (or randombytes_buf if rng is NULL). */
void mls_rng_fill(mls_rng *rng, uint8_t *out, size_t n);

#endif
