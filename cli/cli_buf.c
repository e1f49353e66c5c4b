#include "cli_buf.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_buf_reserve(cli_buf *b, size_t extra, size_t max)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + extra;
    if (max && need > max)
        return -1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (max && cap > max)
        cap = max;
    /* Grow by copy so the old contents can be wiped: buffers may hold plaintext. */
    uint8_t *p = malloc(cap);
    if (!p)
        return -1;
    if (b->data) {
        memcpy(p, b->data, b->len);
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int cli_buf_append(cli_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (cli_buf_reserve(b, n, 0))
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int cli_buf_puts(cli_buf *b, const char *s)
{
    return cli_buf_append(b, s, strlen(s));
}

int cli_buf_printf(cli_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || cli_buf_reserve(b, (size_t)n + 1, 0))
        return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void cli_buf_consume(cli_buf *b, size_t n)
{
    if (n >= b->len) {
        cli_buf_clear(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    sodium_memzero(b->data + b->len - n, n);
    b->len -= n;
}

void cli_buf_clear(cli_buf *b)
{
    if (b->data)
        sodium_memzero(b->data, b->len);
    b->len = 0;
}

void cli_buf_free(cli_buf *b)
{
    if (b->data) {
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}
