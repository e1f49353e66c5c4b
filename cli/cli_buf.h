/* cli_buf: a growable byte buffer (reassembly, JSON lines, input lines). */
#ifndef CLI_BUF_H
#define CLI_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct cli_buf {
    uint8_t *data; /* heap; NULL while empty and never grown */
    size_t len;
    size_t cap;
} cli_buf;

/* Makes room for extra more bytes. Returns 0, or -1 if memory is exhausted or the
 * buffer would exceed max bytes (max 0 means no limit); the buffer is then unchanged. */
int cli_buf_reserve(cli_buf *b, size_t extra, size_t max);

/* Appends n bytes. Returns 0 or -1 as cli_buf_reserve with no limit. */
int cli_buf_append(cli_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string (without its NUL). Returns 0 or -1. */
int cli_buf_puts(cli_buf *b, const char *s);

/* Appends printf-style text. Returns 0 or -1. */
int cli_buf_printf(cli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Drops the first n bytes (n <= len). */
void cli_buf_consume(cli_buf *b, size_t n);

/* Wipes the contents (sodium_memzero) and empties the buffer, keeping its memory. */
void cli_buf_clear(cli_buf *b);

/* Wipes and frees the memory; the buffer is empty afterwards and can be reused. */
void cli_buf_free(cli_buf *b);

#endif
