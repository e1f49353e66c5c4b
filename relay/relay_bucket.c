#include "relay_bucket.h"

void relay_bucket_init(relay_bucket *b, uint32_t burst, uint64_t now_us)
{
    b->last_us = now_us;
    b->tokens = burst;
}

int relay_bucket_take(relay_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_us)
{
    if (!rate)
        return 1;
    if (now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) * rate / 1e6;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last_us = now_us;
    }
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}
