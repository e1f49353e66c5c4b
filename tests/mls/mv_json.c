#include "mv_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct parser {
    const char *s;
    size_t len;
    size_t off;
    char *err;
    size_t errlen;
    int failed;
} parser;

static void perr(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(parser *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    if (!p->err || !p->errlen)
        return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "offset %zu: %s", p->off, msg);
}

static void free_contents(mv_json *j)
{
    free(j->str);
    for (size_t i = 0; i < j->n; i++) {
        free_contents(&j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    memset(j, 0, sizeof *j);
}

void mv_json_free(mv_json *j)
{
    if (!j)
        return;
    free_contents(j);
    free(j);
}

static void skip_ws(parser *p)
{
    while (p->off < p->len) {
        char c = p->s[p->off];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->off++;
    }
}

static int lit(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->off < n || memcmp(p->s + p->off, word, n) != 0)
        return 0;
    p->off += n;
    return 1;
}

static int hex4(parser *p, unsigned *v)
{
    if (p->len - p->off < 4) {
        perr(p, "truncated \\u escape");
        return -1;
    }
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->off + i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (unsigned)(c - 'A' + 10);
        else {
            perr(p, "bad \\u escape");
            return -1;
        }
    }
    p->off += 4;
    *v = x;
    return 0;
}

/* Appends the UTF-8 encoding of cp to out (which has room: each escape of 6+ input bytes
 * yields at most 4 output bytes). */
static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At the opening quote. The decoded string is never longer than its source. */
static char *parse_string(parser *p, size_t *out_len)
{
    p->off++;
    size_t start = p->off;
    size_t end = start;
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->len) {
        perr(p, "unterminated string");
        return NULL;
    }
    char *out = malloc(end - start + 1);
    if (!out) {
        perr(p, "out of memory");
        return NULL;
    }
    size_t n = 0;
    while (p->off < end) {
        unsigned char c = (unsigned char)p->s[p->off];
        if (c < 0x20) {
            perr(p, "control character in string");
            goto fail;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            p->off++;
            continue;
        }
        p->off++;
        char e = p->s[p->off++];
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(p, &cp))
                goto fail;
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                perr(p, "lone low surrogate");
                goto fail;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (!lit(p, "\\u") || hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                    perr(p, "bad surrogate pair");
                    goto fail;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0) {
                perr(p, "NUL in string");
                goto fail;
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            perr(p, "bad escape \\%c", e);
            goto fail;
        }
    }
    p->off = end + 1;
    out[n] = '\0';
    *out_len = n;
    return out;
fail:
    free(out);
    return NULL;
}

static int parse_number(parser *p, mv_json *j)
{
    size_t start = p->off;
    int integral = 1, neg = 0;
    if (p->off < p->len && p->s[p->off] == '-') {
        neg = 1;
        p->off++;
    }
    if (p->off >= p->len || p->s[p->off] < '0' || p->s[p->off] > '9') {
        perr(p, "bad number");
        return -1;
    }
    if (p->s[p->off] == '0')
        p->off++;
    else
        while (p->off < p->len && p->s[p->off] >= '0' && p->s[p->off] <= '9')
            p->off++;
    if (p->off < p->len && p->s[p->off] == '.') {
        integral = 0;
        p->off++;
        size_t d = p->off;
        while (p->off < p->len && p->s[p->off] >= '0' && p->s[p->off] <= '9')
            p->off++;
        if (p->off == d) {
            perr(p, "bad fraction");
            return -1;
        }
    }
    if (p->off < p->len && (p->s[p->off] == 'e' || p->s[p->off] == 'E')) {
        integral = 0;
        p->off++;
        if (p->off < p->len && (p->s[p->off] == '+' || p->s[p->off] == '-'))
            p->off++;
        size_t d = p->off;
        while (p->off < p->len && p->s[p->off] >= '0' && p->s[p->off] <= '9')
            p->off++;
        if (p->off == d) {
            perr(p, "bad exponent");
            return -1;
        }
    }
    char buf[64];
    size_t n = p->off - start;
    if (n >= sizeof buf) {
        perr(p, "number too long");
        return -1;
    }
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    j->type = MV_J_NUM;
    j->num = strtod(buf, NULL);
    if (integral && !neg) {
        uint64_t v = 0;
        int overflow = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned d = (unsigned)(buf[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                overflow = 1;
            v = v * 10 + d;
        }
        if (!overflow) {
            j->is_u64 = 1;
            j->u64 = v;
        }
    }
    return 0;
}

static int push(parser *p, mv_json *parent, size_t *cap, mv_json *item, char *key)
{
    if (parent->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        mv_json *ni = realloc(parent->items, ncap * sizeof *ni);
        if (!ni) {
            perr(p, "out of memory");
            return -1;
        }
        parent->items = ni;
        if (parent->type == MV_J_OBJ) {
            char **nk = realloc(parent->keys, ncap * sizeof *nk);
            if (!nk) {
                perr(p, "out of memory");
                return -1;
            }
            parent->keys = nk;
        }
        *cap = ncap;
    }
    parent->items[parent->n] = *item;
    if (parent->type == MV_J_OBJ)
        parent->keys[parent->n] = key;
    parent->n++;
    return 0;
}

static int parse_value(parser *p, mv_json *j, int depth);

static int parse_container(parser *p, mv_json *j, int depth, int is_obj)
{
    char close = is_obj ? '}' : ']';
    size_t cap = 0;
    j->type = is_obj ? MV_J_OBJ : MV_J_ARR;
    p->off++;
    skip_ws(p);
    if (p->off < p->len && p->s[p->off] == close) {
        p->off++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        mv_json item;
        memset(&item, 0, sizeof item);
        skip_ws(p);
        if (is_obj) {
            size_t klen;
            if (p->off >= p->len || p->s[p->off] != '"') {
                perr(p, "expected a key");
                return -1;
            }
            key = parse_string(p, &klen);
            if (!key)
                return -1;
            skip_ws(p);
            if (p->off >= p->len || p->s[p->off] != ':') {
                free(key);
                perr(p, "expected ':'");
                return -1;
            }
            p->off++;
        }
        if (parse_value(p, &item, depth + 1) || push(p, j, &cap, &item, key)) {
            free_contents(&item);
            free(key);
            return -1;
        }
        skip_ws(p);
        if (p->off < p->len && p->s[p->off] == ',') {
            p->off++;
            continue;
        }
        if (p->off < p->len && p->s[p->off] == close) {
            p->off++;
            return 0;
        }
        perr(p, "expected ',' or '%c'", close);
        return -1;
    }
}

static int parse_value(parser *p, mv_json *j, int depth)
{
    if (depth > MAX_DEPTH) {
        perr(p, "nested too deeply");
        return -1;
    }
    skip_ws(p);
    if (p->off >= p->len) {
        perr(p, "unexpected end of input");
        return -1;
    }
    char c = p->s[p->off];
    if (c == '{' || c == '[')
        return parse_container(p, j, depth, c == '{');
    if (c == '"') {
        j->type = MV_J_STR;
        j->str = parse_string(p, &j->str_len);
        return j->str ? 0 : -1;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(p, j);
    if (lit(p, "true")) {
        j->type = MV_J_BOOL;
        j->boolean = 1;
        return 0;
    }
    if (lit(p, "false")) {
        j->type = MV_J_BOOL;
        return 0;
    }
    if (lit(p, "null")) {
        j->type = MV_J_NULL;
        return 0;
    }
    perr(p, "unexpected character '%c'", c);
    return -1;
}

mv_json *mv_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    parser p = { text, len, 0, err, errlen, 0 };
    mv_json *j = calloc(1, sizeof *j);
    if (!j) {
        perr(&p, "out of memory");
        return NULL;
    }
    if (parse_value(&p, j, 0))
        goto fail;
    skip_ws(&p);
    if (p.off != p.len) {
        perr(&p, "trailing characters after the document");
        goto fail;
    }
    return j;
fail:
    mv_json_free(j);
    return NULL;
}

const mv_json *mv_json_get(const mv_json *obj, const char *key)
{
    if (!obj || obj->type != MV_J_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

const char *mv_json_str(const mv_json *obj, const char *key)
{
    const mv_json *v = mv_json_get(obj, key);
    return v && v->type == MV_J_STR ? v->str : NULL;
}

int mv_json_u64(const mv_json *obj, const char *key, uint64_t *out)
{
    const mv_json *v = mv_json_get(obj, key);
    if (!v || v->type != MV_J_NUM || !v->is_u64)
        return -1;
    *out = v->u64;
    return 0;
}

const mv_json *mv_json_arr(const mv_json *obj, const char *key)
{
    const mv_json *v = mv_json_get(obj, key);
    return v && v->type == MV_J_ARR ? v : NULL;
}

const mv_json *mv_json_obj(const mv_json *obj, const char *key)
{
    const mv_json *v = mv_json_get(obj, key);
    return v && v->type == MV_J_OBJ ? v : NULL;
}
