/* sc2_name: safe display and lookalike skeletons of display names (see sc2_name.h). */
#include "sc2_name.h"

#include <string.h>

/* Decodes one code point of s[0..n) (n >= 1) into *cp. Returns its length, or 0 if s[0]
 * does not start a well-formed sequence (RFC 3629). */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t len, k;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static size_t utf8_put(uint32_t c, uint8_t b[4])
{
    if (c < 0x80) {
        b[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        b[0] = (uint8_t)(0xC0 | (c >> 6));
        b[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        b[0] = (uint8_t)(0xE0 | (c >> 12));
        b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    b[0] = (uint8_t)(0xF0 | (c >> 18));
    b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    b[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

typedef struct range {
    uint32_t lo, hi;
} range;

static const range hidden_ranges[] = {
    {0x0000, 0x001F}, {0x007F, 0x009F}, {0x00A0, 0x00A0}, {0x00AD, 0x00AD},
    {0x034F, 0x034F}, {0x0600, 0x0605}, {0x061C, 0x061C}, {0x06DD, 0x06DD},
    {0x070F, 0x070F}, {0x08E2, 0x08E2}, {0x115F, 0x1160}, {0x1680, 0x1680},
    {0x17B4, 0x17B5}, {0x180B, 0x180F}, {0x2000, 0x200F}, {0x2028, 0x202F},
    {0x205F, 0x2064}, {0x2066, 0x206F}, {0x3000, 0x3000}, {0x3164, 0x3164},
    {0xFE00, 0xFE0F}, {0xFEFF, 0xFEFF}, {0xFFA0, 0xFFA0}, {0xFFF9, 0xFFFB},
    {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
    {0x1D173, 0x1D17A}, {0xE0000, 0xE007F}, {0xE0100, 0xE01EF},
};

static int in_ranges(uint32_t cp, const range *r, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi)
            return 1;
    return 0;
}

int sc2_name_hidden(uint32_t cp)
{
    return in_ranges(cp, hidden_ranges, sizeof hidden_ranges / sizeof hidden_ranges[0]);
}

static int is_space(uint32_t cp)
{
    return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

static const range combining_ranges[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x1AB0, 0x1AFF},
    {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0xFE20, 0xFE2F},
};

/* An output buffer that remembers whether it overflowed. */
typedef struct obuf {
    uint8_t *p;
    size_t cap, len; /* cap excludes the NUL */
    int full;
} obuf;

static void put(obuf *o, const void *s, size_t n)
{
    if (o->full || o->cap - o->len < n) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_cp(obuf *o, uint32_t cp)
{
    uint8_t b[4];
    put(o, b, utf8_put(cp, b));
}

static void put_escape(obuf *o, const char *pre, uint32_t v)
{
    static const char hex[] = "0123456789ABCDEF";
    char b[16];
    size_t n = 0;
    int shift, started = 0;
    while (*pre)
        b[n++] = *pre++;
    b[n++] = '{';
    for (shift = 20; shift >= 0; shift -= 4) {
        unsigned d = (v >> shift) & 0xF;
        if (d || started || shift == 0) {
            b[n++] = hex[d];
            started = 1;
        }
    }
    b[n++] = '}';
    put(o, b, n);
}

static int finish(obuf *o, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    if (o->full) {
        out[0] = '\0';
        return -1;
    }
    out[o->len] = '\0';
    return (int)o->len;
}

int sc2_name_display(const uint8_t *name, size_t len, char *out, size_t cap)
{
    obuf o = {(uint8_t *)out, cap ? cap - 1 : 0, 0, cap == 0 || cap > (size_t)0x7FFFFFFF};
    size_t i = 0, n;
    uint32_t cp;
    while (i < len && !o.full) {
        n = utf8_next(name + i, len - i, &cp);
        if (n == 0) {
            put_escape(&o, "\\x", name[i]);
            i++;
            continue;
        }
        if (cp == '\\')
            put(&o, "\\\\", 2);
        else if (sc2_name_hidden(cp))
            put_escape(&o, "\\u", cp);
        else
            put(&o, name + i, n);
        i += n;
    }
    return finish(&o, out, cap);
}

/* Latin-1 U+00C0..00FF and Latin Extended-A U+0100..017F: base letter, '.' = itself. */
static const char latin1_base[] = "AAAAAA.CEEEEIIIIDNOOOOO.OUUUUY.."
                                  "aaaaaa.ceeeeiiii.nooooo.ouuuuy.y";
static const char latin_ext_a_base[] = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi"
                                       "..JjKkkLlLlLlLlLlNnNnNnn..OoOoOo..RrRrRrSsSsSsSs"
                                       "TtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

static uint32_t latin_base(uint32_t cp)
{
    char c = '.';
    if (cp >= 0xC0 && cp <= 0xFF)
        c = latin1_base[cp - 0xC0];
    else if (cp >= 0x100 && cp <= 0x17F)
        c = latin_ext_a_base[cp - 0x100];
    return c == '.' ? cp : (uint32_t)(unsigned char)c;
}

typedef struct pair {
    uint32_t from;
    char to;
} pair;

/* Cross-script confusables, to a lowercase Latin representative. */
static const pair confusables[] = {
    {'0', 'o'},    {'1', 'l'},    {'I', 'l'},    {'|', 'l'},    {0x0251, 'a'}, {0x0261, 'g'},
    {0x0269, 'i'}, {0x2113, 'l'}, {0x212A, 'k'}, {0x212B, 'a'},
    /* Greek */
    {0x0391, 'a'}, {0x0392, 'b'}, {0x0395, 'e'}, {0x0396, 'z'}, {0x0397, 'h'}, {0x0399, 'l'},
    {0x039A, 'k'}, {0x039C, 'm'}, {0x039D, 'n'}, {0x039F, 'o'}, {0x03A1, 'p'}, {0x03A4, 't'},
    {0x03A5, 'y'}, {0x03A7, 'x'}, {0x03B1, 'a'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'},
    {0x03BF, 'o'}, {0x03C1, 'p'}, {0x03C4, 't'}, {0x03C5, 'u'}, {0x03C7, 'x'},
    /* Cyrillic */
    {0x0405, 's'}, {0x0406, 'l'}, {0x0408, 'j'}, {0x0410, 'a'}, {0x0412, 'b'}, {0x0415, 'e'},
    {0x041A, 'k'}, {0x041C, 'm'}, {0x041D, 'h'}, {0x041E, 'o'}, {0x0420, 'p'}, {0x0421, 'c'},
    {0x0422, 't'}, {0x0425, 'x'}, {0x0430, 'a'}, {0x0435, 'e'}, {0x043E, 'o'}, {0x0440, 'p'},
    {0x0441, 'c'}, {0x0443, 'y'}, {0x0445, 'x'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0458, 'j'},
    {0x04AE, 'y'}, {0x04BB, 'h'}, {0x04C0, 'l'}, {0x04CF, 'l'}, {0x0501, 'd'}, {0x051A, 'q'},
    {0x051B, 'q'}, {0x051C, 'w'}, {0x051D, 'w'},
};

static uint32_t confusable(uint32_t cp)
{
    size_t i;
    for (i = 0; i < sizeof confusables / sizeof confusables[0]; i++)
        if (confusables[i].from == cp)
            return (uint32_t)(unsigned char)confusables[i].to;
    return cp;
}

static uint32_t lower(uint32_t cp)
{
    if (cp >= 'A' && cp <= 'Z')
        return cp + 0x20;
    if (cp == 0xC6 || cp == 0xDE)
        return cp + 0x20;
    if (cp == 0x132 || cp == 0x14A || cp == 0x152)
        return cp + 1;
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
        return cp + 0x20;
    if (cp == 0x3C2) /* final sigma */
        return 0x3C3;
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 0x50;
    if (cp >= 0x410 && cp <= 0x42F)
        return cp + 0x20;
    if (((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) ||
         (cp >= 0x4D0 && cp <= 0x52F)) &&
        cp % 2 == 0)
        return cp + 1;
    if (cp >= 0x4C1 && cp <= 0x4CE && cp % 2 == 1)
        return cp + 1;
    return cp;
}

/* Compatibility forms to ASCII: returns the replacement (NUL-terminated, in b) or NULL if
 * cp is not one. */
static const char *compat(uint32_t cp, char b[4])
{
    static const char *const ligatures[] = {"ff", "fi", "fl", "ffi", "ffl", "st", "st"};
    static const char *const roman[] = {"I", "", "", "", "V", "", "", "", "", "X", "", "",
                                        "L", "C", "D", "M"};
    static const uint8_t sup[] = {0xB9, 0xB2, 0xB3}; /* ¹ ² ³ */
    size_t i;
    b[1] = '\0';
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        b[0] = (char)(cp - 0xFF01 + 0x21);
    else if (cp >= 0x1D400 && cp <= 0x1D6A3)
        b[0] = (char)((cp - 0x1D400) % 52 < 26 ? 'A' + (cp - 0x1D400) % 52
                                                : 'a' + (cp - 0x1D400) % 52 - 26);
    else if (cp >= 0x1D7CE && cp <= 0x1D7FF)
        b[0] = (char)('0' + (cp - 0x1D7CE) % 10);
    else if (cp >= 0x24B6 && cp <= 0x24CF)
        b[0] = (char)('A' + cp - 0x24B6);
    else if (cp >= 0x24D0 && cp <= 0x24E9)
        b[0] = (char)('a' + cp - 0x24D0);
    else if (cp == 0x2070 || cp == 0x2080)
        b[0] = '0';
    else if (cp >= 0x2074 && cp <= 0x2079)
        b[0] = (char)('4' + cp - 0x2074);
    else if (cp >= 0x2081 && cp <= 0x2089)
        b[0] = (char)('1' + cp - 0x2081);
    else if (cp >= 0xFB00 && cp <= 0xFB06)
        return ligatures[cp - 0xFB00];
    else if (cp >= 0x2160 && cp <= 0x217F && roman[(cp - 0x2160) % 16][0])
        b[0] = (char)(roman[(cp - 0x2160) % 16][0] + (cp >= 0x2170 ? 0x20 : 0));
    else {
        for (i = 0; i < sizeof sup; i++)
            if (cp == sup[i]) {
                b[0] = (char)('1' + i);
                return b;
            }
        return NULL;
    }
    return b;
}

static uint32_t fold_one(uint32_t cp)
{
    return confusable(lower(confusable(latin_base(cp))));
}

/* Puts a folded code point, merging letter pairs that read as one letter (rn -> m,
 * vv -> w, cl -> d) as they form; none of m, w, d starts or ends a pair, so this is the
 * same as one left-to-right pass and leaves nothing to merge (idempotent). */
static void put_folded(obuf *o, uint32_t cp)
{
    uint8_t prev = o->len ? o->p[o->len - 1] : 0;
    if (!o->full && ((prev == 'r' && cp == 'n') || (prev == 'v' && cp == 'v') ||
                     (prev == 'c' && cp == 'l'))) {
        o->p[o->len - 1] = prev == 'r' ? 'm' : prev == 'v' ? 'w' : 'd';
        return;
    }
    put_cp(o, cp);
}

static void skeleton_cp(obuf *o, uint32_t cp)
{
    char b[4];
    const char *s;
    if (sc2_name_hidden(cp) && !is_space(cp))
        return;
    if (in_ranges(cp, combining_ranges, sizeof combining_ranges / sizeof combining_ranges[0]))
        return;
    if (is_space(cp)) {
        put(o, " ", 1);
        return;
    }
    if (cp == 0x2126) {
        put_cp(o, 0x3C9);
        return;
    }
    s = compat(cp, b);
    if (s) {
        for (; *s; s++)
            put_folded(o, fold_one((uint32_t)(unsigned char)*s));
        return;
    }
    put_folded(o, fold_one(cp));
}

int sc2_name_skeleton(const uint8_t *name, size_t len, char *out, size_t cap)
{
    obuf o = {(uint8_t *)out, cap ? cap - 1 : 0, 0, cap == 0 || cap > (size_t)0x7FFFFFFF};
    size_t i = 0, n;
    uint32_t cp;
    while (i < len && !o.full) {
        n = utf8_next(name + i, len - i, &cp);
        if (n == 0) {
            put_cp(&o, 0xFFFD);
            i++;
            continue;
        }
        skeleton_cp(&o, cp);
        i += n;
    }
    return finish(&o, out, cap);
}

int sc2_name_ambiguous(const char *const names[], size_t n, size_t i)
{
    char a[SC2_NAME_SKELETON_MAX], b[SC2_NAME_SKELETON_MAX];
    int la, lb;
    size_t j;
    if (i >= n || !names[i])
        return 0;
    la = sc2_name_skeleton((const uint8_t *)names[i], strlen(names[i]), a, sizeof a);
    for (j = 0; j < n; j++) {
        if (j == i || !names[j])
            continue;
        if (la < 0) {
            if (strcmp(names[i], names[j]) == 0)
                return 1;
            continue;
        }
        lb = sc2_name_skeleton((const uint8_t *)names[j], strlen(names[j]), b, sizeof b);
        if (lb == la && memcmp(a, b, (size_t)la) == 0)
            return 1;
    }
    return 0;
}
