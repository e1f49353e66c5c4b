/*
 * wc_json: a small growable JSON writer for the glue's answers to JavaScript (events,
 * member lists). Output is one NUL-terminated string; strings are escaped (quote,
 * backslash, control characters), other bytes pass through as the UTF-8 they are.
 */
#ifndef WC_JSON_H
#define WC_JSON_H

#include <stddef.h>
#include <stdint.h>

#define WC_JSON_MAX_DEPTH 8

typedef struct wc_json {
    char *buf;
    size_t len, cap;
    int failed; /* out of memory or nesting too deep: wc_json_str returns NULL */
    int depth;
    int has_item[WC_JSON_MAX_DEPTH]; /* a comma is due before the next item at this depth */
} wc_json;

/* Empties j for a new document (keeps its buffer). A zeroed wc_json is a valid empty one. */
void wc_json_reset(wc_json *j);
/* Frees j's buffer. */
void wc_json_free(wc_json *j);

/* Opens/closes an object or array. key is NULL inside arrays and at the top level. */
void wc_json_object(wc_json *j, const char *key);
void wc_json_array(wc_json *j, const char *key);
void wc_json_close(wc_json *j, char closer);

/* Members (key NULL inside arrays). */
void wc_json_str(wc_json *j, const char *key, const char *s);
void wc_json_strn(wc_json *j, const char *key, const uint8_t *s, size_t n);
void wc_json_hex(wc_json *j, const char *key, const uint8_t *b, size_t n); /* null if b NULL */
void wc_json_u64_str(wc_json *j, const char *key, uint64_t v); /* as a decimal string */
void wc_json_num(wc_json *j, const char *key, double v);       /* exact up to 2^53 */

/* Returns the finished document, or NULL if anything failed. Owned by j. */
const char *wc_json_result(wc_json *j);

#endif
