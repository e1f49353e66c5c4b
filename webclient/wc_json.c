#include "wc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(wc_json *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->cap - j->len <= n) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap - j->len <= n) {
            if (cap > ((size_t)-1) / 2) {
                j->failed = 1;
                return;
            }
            cap *= 2;
        }
        char *b = realloc(j->buf, cap);
        if (!b) {
            j->failed = 1;
            return;
        }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void puts_(wc_json *j, const char *s) { put(j, s, strlen(s)); }

static void quoted(wc_json *j, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(j, "\"", 1);
    size_t run = 0; /* bytes copied verbatim in one put */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(j, (const char *)s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(j, e, 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(j, e, 6);
        }
    }
    put(j, (const char *)s + run, n - run);
    put(j, "\"", 1);
}

static void item(wc_json *j, const char *key)
{
    if (j->has_item[j->depth])
        put(j, ",", 1);
    j->has_item[j->depth] = 1;
    if (key) {
        quoted(j, (const uint8_t *)key, strlen(key));
        put(j, ":", 1);
    }
}

void wc_json_reset(wc_json *j)
{
    j->len = 0;
    j->failed = 0;
    j->depth = 0;
    memset(j->has_item, 0, sizeof j->has_item);
    if (j->buf)
        j->buf[0] = '\0';
}

void wc_json_free(wc_json *j)
{
    free(j->buf);
    memset(j, 0, sizeof *j);
}

static void open_(wc_json *j, const char *key, const char *opener)
{
    item(j, key);
    if (j->depth + 1 >= WC_JSON_MAX_DEPTH) {
        j->failed = 1;
        return;
    }
    puts_(j, opener);
    j->has_item[++j->depth] = 0;
}

void wc_json_object(wc_json *j, const char *key) { open_(j, key, "{"); }
void wc_json_array(wc_json *j, const char *key) { open_(j, key, "["); }

void wc_json_close(wc_json *j, char closer)
{
    if (j->depth == 0) {
        j->failed = 1;
        return;
    }
    j->depth--;
    put(j, &closer, 1);
}

void wc_json_strn(wc_json *j, const char *key, const uint8_t *s, size_t n)
{
    item(j, key);
    quoted(j, s, n);
}

void wc_json_str(wc_json *j, const char *key, const char *s)
{
    wc_json_strn(j, key, (const uint8_t *)(s ? s : ""), s ? strlen(s) : 0);
}

void wc_json_hex(wc_json *j, const char *key, const uint8_t *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    item(j, key);
    if (!b) {
        puts_(j, "null");
        return;
    }
    put(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char e[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
        put(j, e, 2);
    }
    put(j, "\"", 1);
}

void wc_json_u64_str(wc_json *j, const char *key, uint64_t v)
{
    char d[24];
    snprintf(d, sizeof d, "\"%llu\"", (unsigned long long)v);
    item(j, key);
    puts_(j, d);
}

void wc_json_num(wc_json *j, const char *key, double v)
{
    char d[32];
    snprintf(d, sizeof d, "%.17g", v);
    item(j, key);
    puts_(j, d);
}

const char *wc_json_result(wc_json *j)
{
    if (j->failed || j->depth != 0 || !j->buf)
        return NULL;
    return j->buf;
}
