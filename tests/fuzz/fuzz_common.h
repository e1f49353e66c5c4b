/* fuzz_common.h: shared helpers for the libFuzzer targets (fuzz_<target>.c). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant of the code under test failed: report and crash so libFuzzer saves the
 * input. */
#define FUZZ_ASSERT(cond)                                                                \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static inline void fuzz_sodium_init(void)
{
    if (sodium_init() < 0)
        abort();
}

static inline int fuzz_all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* The fixed seeds of the "hs-basic" test vector: the fuzzers' fixtures are the same
 * parties, so the vector messages in the seed corpus are valid for them. */
static inline void fuzz_seed_counting(uint8_t seed[32])
{
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
}

#endif
