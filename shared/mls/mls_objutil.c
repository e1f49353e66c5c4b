#include "mls_objutil.h"

int mls_ou_grow(void *arrp, size_t n, size_t *cap, size_t size, size_t max)
{
    if (n >= max)
        return MLS_E_DECODE;
    uint8_t *arr;
    memcpy(&arr, arrp, sizeof arr);
    if (n >= *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        if (ncap > max)
            ncap = max;
        if (ncap > SIZE_MAX / size)
            return MLS_E_NOMEM;
        uint8_t *q = mls_realloc(arr, *cap * size, ncap * size);
        if (!q)
            return MLS_E_NOMEM;
        arr = q;
        *cap = ncap;
        memcpy(arrp, &arr, sizeof arr);
    }
    memset(arr + n * size, 0, size);
    return 0;
}

int mls_ou_has_dup_u16(const void *ctx, size_t n, uint16_t (*get)(const void *ctx, size_t i))
{
    if (n > 65536)
        return 1;
    if (n <= 32) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (get(ctx, i) == get(ctx, j))
                    return 1;
        return 0;
    }
    uint8_t seen[65536 / 8];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < n; i++) {
        uint16_t t = get(ctx, i);
        if (seen[t >> 3] & (1u << (t & 7)))
            return 1;
        seen[t >> 3] |= (uint8_t)(1u << (t & 7));
    }
    return 0;
}
