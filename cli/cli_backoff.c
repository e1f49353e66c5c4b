#include "cli_backoff.h"

uint32_t cli_backoff_delay_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t rnd)
{
    uint64_t d = base_ms;
    for (uint32_t i = 1; i < attempt && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    uint64_t half = d / 2;
    return (uint32_t)(d - half + (half * (uint64_t)rnd >> 32));
}
