#include "mls_rng.h"

#include <sodium.h>

void mls_rng_fill(mls_rng *rng, uint8_t *out, size_t n)
{
    if (n == 0)
        return;
    if (rng && rng->fill)
        rng->fill(rng->ctx, out, n);
    else
        randombytes_buf(out, n);
}
