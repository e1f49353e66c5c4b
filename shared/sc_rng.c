#include "sc_rng.h"

#include <sodium.h>
#include <string.h>

#include "sc_bytes.h"

void sc_rng_init(sc_rng *r)
{
    sodium_memzero(r, sizeof *r);
    r->deterministic = 0;
}

void sc_rng_init_seeded(sc_rng *r, const uint8_t seed[SC_RNG_SEED_BYTES])
{
    sodium_memzero(r, sizeof *r);
    r->deterministic = 1;
    memcpy(r->seed, seed, SC_RNG_SEED_BYTES);
}

void sc_rng_bytes(sc_rng *r, uint8_t *out, size_t n)
{
    if (!r->deterministic) {
        randombytes_buf(out, n);
        return;
    }
    uint8_t ctr[8], draw_seed[randombytes_SEEDBYTES];
    sc_store64(ctr, r->counter);
    r->counter++;
    crypto_generichash(draw_seed, sizeof draw_seed, ctr, sizeof ctr, r->seed, sizeof r->seed);
    randombytes_buf_deterministic(out, n, draw_seed);
    sodium_memzero(draw_seed, sizeof draw_seed);
}

uint32_t sc_rng_nonzero_u32(sc_rng *r)
{
    uint8_t b[4];
    uint32_t v;
    do {
        sc_rng_bytes(r, b, sizeof b);
        v = sc_load32(b);
    } while (v == 0);
    sodium_memzero(b, sizeof b);
    return v;
}

uint64_t sc_rng_u64(sc_rng *r)
{
    uint8_t b[8];
    sc_rng_bytes(r, b, sizeof b);
    uint64_t v = sc_load64(b);
    sodium_memzero(b, sizeof b);
    return v;
}

void sc_rng_wipe(sc_rng *r)
{
    sodium_memzero(r, sizeof *r);
}

size_t sc_rng_seedbytes(void)
{
    return SC_RNG_SEED_BYTES;
}
