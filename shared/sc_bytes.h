/* sc_bytes: big-endian loads and stores for wire formats (header-only). */
#ifndef SC_BYTES_H
#define SC_BYTES_H

#include <stdint.h>

static inline uint16_t sc_load16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static inline uint32_t sc_load32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t sc_load64(const uint8_t *p)
{
    return ((uint64_t)sc_load32(p) << 32) | sc_load32(p + 4);
}

static inline void sc_store16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void sc_store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void sc_store64(uint8_t *p, uint64_t v)
{
    sc_store32(p, (uint32_t)(v >> 32));
    sc_store32(p + 4, (uint32_t)v);
}

#endif
