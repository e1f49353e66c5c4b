/*
 * mv_json: a small JSON reader for the vector runner (tests only). Parses a whole
 * document into a tree; numbers are kept as uint64 when they are non-negative integers
 * (the vectors use nothing else) and as double otherwise.
 */
#ifndef MV_JSON_H
#define MV_JSON_H

#include <stddef.h>
#include <stdint.h>

enum mv_json_type { MV_J_NULL, MV_J_BOOL, MV_J_NUM, MV_J_STR, MV_J_ARR, MV_J_OBJ };

typedef struct mv_json {
    enum mv_json_type type;
    int boolean;
    uint64_t u64;      /* MV_J_NUM that is a non-negative integer */
    int is_u64;
    double num;
    char *str;         /* MV_J_STR, NUL-terminated */
    size_t str_len;
    struct mv_json *items; /* MV_J_ARR and MV_J_OBJ: n items */
    char **keys;           /* MV_J_OBJ: key of items[i] */
    size_t n;
} mv_json;

/* Parses text (len bytes). Returns a tree to free with mv_json_free, or NULL with a
 * message in err (errlen bytes). */
mv_json *mv_json_parse(const char *text, size_t len, char *err, size_t errlen);
void mv_json_free(mv_json *j);

/* obj[key], or NULL if obj is not an object or has no such key. */
const mv_json *mv_json_get(const mv_json *obj, const char *key);
/* obj[key] as a string / integer / array / object, or NULL / -1 when missing or of
 * another type. */
const char *mv_json_str(const mv_json *obj, const char *key);
int mv_json_u64(const mv_json *obj, const char *key, uint64_t *out);
const mv_json *mv_json_arr(const mv_json *obj, const char *key);
const mv_json *mv_json_obj(const mv_json *obj, const char *key);

#endif
