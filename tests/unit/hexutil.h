/* hexutil.h: hex helpers for the unit tests (golden values are written in hex). */
#ifndef HEXUTIL_H
#define HEXUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex into out[cap]; returns the byte count, or (size_t)-1 on bad input. */
static inline size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > cap)
        return (size_t)-1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return (size_t)-1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return n / 2;
}

/* Returns 1 if buf[0..n) equals the bytes written in hex. */
static inline int hex_equal(const uint8_t *buf, size_t n, const char *hex)
{
    uint8_t *tmp = malloc(n ? n : 1);
    int ok = tmp && hex_decode(hex, tmp, n) == n && memcmp(tmp, buf, n) == 0;
    free(tmp);
    return ok;
}

/* Returns a heap copy of buf[0..n) in an exact-size block (n = 0 gives a 1-byte block)
 * so that AddressSanitizer catches any read past the end. Aborts if out of memory. */
static inline uint8_t *exact_copy(const uint8_t *buf, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        abort();
    if (n)
        memcpy(p, buf, n);
    return p;
}

/* Returns 1 if all n bytes are zero. */
static inline int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

#endif
