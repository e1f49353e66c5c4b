/* Big-endian loads and stores for the v2 wire formats (network byte order throughout).
 * Header-only: each is a few instructions, and the v2 modules need nothing from v1. */
#ifndef SC2_BE_H
#define SC2_BE_H

#include <stdint.h>

static inline uint16_t sc2_be_ld16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static inline uint32_t sc2_be_ld32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t sc2_be_ld64(const uint8_t *p)
{
    return ((uint64_t)sc2_be_ld32(p) << 32) | sc2_be_ld32(p + 4);
}

static inline void sc2_be_st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void sc2_be_st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void sc2_be_st64(uint8_t *p, uint64_t v)
{
    sc2_be_st32(p, (uint32_t)(v >> 32));
    sc2_be_st32(p + 4, (uint32_t)v);
}

#endif
