/*
 * bl_hist: a log-linear latency histogram (64 sub-buckets per power of two, so any
 * reported percentile is within 1.6% of the true value), in nanoseconds.
 */
#ifndef BL_HIST_H
#define BL_HIST_H

#include <stdint.h>

#define BL_HIST_SUB 64u
#define BL_HIST_BUCKETS (BL_HIST_SUB * 60u)

typedef struct bl_hist {
    uint64_t count;
    uint64_t max;
    uint64_t b[BL_HIST_BUCKETS];
} bl_hist;

/* Adds one value (ns). */
void bl_hist_add(bl_hist *h, uint64_t v);

/*
 * Returns the smallest bucket upper bound that at least q (0 < q <= 1) of the
 * values do not exceed, capped at the largest value seen; 0 for an empty histogram.
 */
uint64_t bl_hist_quantile(const bl_hist *h, double q);

#endif
