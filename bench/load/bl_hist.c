#include "bl_hist.h"

#include <math.h>

static unsigned idx_of(uint64_t v)
{
    if (v < 2 * BL_HIST_SUB)
        return (unsigned)v;
    unsigned e = (unsigned)(63 - __builtin_clzll(v)) - 6u; /* v >> e in [64, 128) */
    unsigned i = (e + 1u) * BL_HIST_SUB + (unsigned)((v >> e) - BL_HIST_SUB);
    return i < BL_HIST_BUCKETS ? i : BL_HIST_BUCKETS - 1u;
}

/* Largest value that falls into bucket i. */
static uint64_t upper_of(unsigned i)
{
    if (i < 2 * BL_HIST_SUB)
        return i;
    unsigned e = i / BL_HIST_SUB - 1u;
    uint64_t m = i % BL_HIST_SUB + BL_HIST_SUB;
    return ((m + 1u) << e) - 1u;
}

void bl_hist_add(bl_hist *h, uint64_t v)
{
    h->b[idx_of(v)]++;
    h->count++;
    if (v > h->max)
        h->max = v;
}

uint64_t bl_hist_quantile(const bl_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BL_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t u = upper_of(i);
            return u < h->max ? u : h->max;
        }
    }
    return h->max;
}
