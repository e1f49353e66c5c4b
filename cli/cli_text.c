#include "cli_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "sc2_verify.h"

size_t cli_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

int cli_utf8_valid(const uint8_t *s, size_t n)
{
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t k = cli_utf8_decode(s + i, n - i, &cp);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

static int unsafe(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
           cp == 0x200f || cp == 0x061c;
}

int cli_text_sanitize(cli_buf *b, const uint8_t *s, size_t n, unsigned flags)
{
    static const char repl[] = "\xef\xbf\xbd";
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t k = cli_utf8_decode(s + i, n - i, &cp);
        int rc;
        if (!k) {
            rc = cli_buf_append(b, repl, 3);
            k = 1;
        } else if (cp == '\t') {
            rc = cli_buf_append(b, " ", 1);
        } else if (cp == '\n' && (flags & CLI_TEXT_KEEP_NEWLINES)) {
            rc = cli_buf_append(b, "\n    ", 5);
        } else if (unsafe(cp)) {
            rc = cli_buf_append(b, repl, 3);
        } else {
            rc = cli_buf_append(b, s + i, k);
        }
        if (rc)
            return -1;
        i += k;
    }
    return 0;
}

size_t cli_text_columns(const char *s, size_t n)
{
    size_t cols = 0;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t k = cli_utf8_decode((const uint8_t *)s + i, n - i, &cp);
        if (!k) {
            cols++;
            i++;
            continue;
        }
        int w = wcwidth((wchar_t)cp);
        cols += w < 0 ? 1 : (size_t)w;
        i += k;
    }
    return cols;
}

void cli_text_id(uint64_t id, char out[CLI_TEXT_ID_CHARS + 1])
{
    snprintf(out, CLI_TEXT_ID_CHARS + 1, "%016" PRIx64, id);
}

int cli_text_parse_id(const char *s, uint64_t *id)
{
    size_t n = strlen(s);
    uint64_t v = 0;
    if (n == 0 || n > CLI_TEXT_ID_CHARS)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        v = (v << 4) | d;
    }
    *id = v;
    return 0;
}

#define FP_CACHE 64u
_Static_assert(CLI_TEXT_FP_CHARS == SC2_VF_FP_CHARS, "fingerprint length");

void cli_text_fingerprint(const uint8_t identity[32], char out[CLI_TEXT_FP_CHARS + 1])
{
    static struct {
        uint8_t id[32];
        char fp[CLI_TEXT_FP_CHARS + 1];
    } cache[FP_CACHE];
    static unsigned used, next;
    for (unsigned i = 0; i < used; i++)
        if (memcmp(cache[i].id, identity, 32) == 0) {
            memcpy(out, cache[i].fp, CLI_TEXT_FP_CHARS + 1);
            return;
        }
    sc2_vf_fingerprint(identity, out);
    memcpy(cache[next].id, identity, 32);
    memcpy(cache[next].fp, out, CLI_TEXT_FP_CHARS + 1);
    next = (next + 1) % FP_CACHE;
    if (used < FP_CACHE)
        used++;
}
