#include "mv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 2, 0))) static void vfill(mv_result *res, const char *fmt,
                                                      va_list ap)
{
    vsnprintf(res->why, sizeof res->why, fmt, ap);
}

int mv_fail(mv_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfill(res, fmt, ap);
    va_end(ap);
    return MV_FAIL;
}

int mv_skip(mv_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfill(res, fmt, ap);
    va_end(ap);
    return MV_SKIP;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mv_hex(const mv_json *obj, const char *key, uint8_t **out, size_t *len)
{
    const mv_json *v = mv_json_get(obj, key);
    if (!v || v->type != MV_J_STR || v->str_len % 2)
        return -1;
    size_t n = v->str_len / 2;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(v->str[2 * i]), lo = nibble(v->str[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(p);
            return -1;
        }
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = p;
    *len = n;
    return 0;
}

/* Writes up to 64 bytes of p as hex (then "...") into out. */
static void hex_str(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) {
        if (i == 64) {
            snprintf(out + o, cap - o, "...");
            return;
        }
        o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
    }
    out[o < cap ? o : cap - 1] = '\0';
}

int mv_hex_eq(const mv_json *obj, const char *key, const uint8_t *p, size_t n,
              mv_result *res)
{
    uint8_t *want = NULL;
    size_t wlen = 0;
    if (mv_hex(obj, key, &want, &wlen)) {
        mv_fail(res, "%s: missing or not hex", key);
        return 0;
    }
    int eq = wlen == n && (n == 0 || memcmp(want, p, n) == 0);
    if (!eq) {
        char a[140], b[140];
        hex_str(want, wlen, a, sizeof a);
        hex_str(p, n, b, sizeof b);
        mv_fail(res, "%s: want %s (%zu bytes), got %s (%zu bytes)", key, a, wlen, b, n);
    }
    free(want);
    return eq;
}

int mv_suite(const mv_json *tc, mv_result *res)
{
    uint64_t suite;
    if (mv_json_u64(tc, "cipher_suite", &suite))
        return mv_fail(res, "cipher_suite missing or not an integer");
    if (suite != 3)
        return mv_skip(res, "cipher suite %llu (only 3 is implemented)",
                       (unsigned long long)suite);
    return MV_PASS;
}
