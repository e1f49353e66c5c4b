/*
 * relay_bucket: a per-connection token bucket for incoming messages.
 * Each message takes one token; tokens refill at `rate` per second up to `burst`.
 */
#ifndef RELAY_BUCKET_H
#define RELAY_BUCKET_H

#include <stdint.h>

typedef struct relay_bucket {
    uint64_t last_us; /* time of the last refill */
    double tokens;
} relay_bucket;

/* Starts a full bucket at now_us. */
void relay_bucket_init(relay_bucket *b, uint32_t burst, uint64_t now_us);

/*
 * Takes one token at now_us (a monotonic clock in microseconds). Returns 1 if
 * the message may pass, 0 if the bucket is empty. rate == 0 disables the limit.
 */
int relay_bucket_take(relay_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_us);

#endif
