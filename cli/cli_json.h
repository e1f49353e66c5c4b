/* cli_json: writes one JSON object per line. Strings are always valid UTF-8 in the
 * output: invalid input bytes become U+FFFD, control characters are escaped. */
#ifndef CLI_JSON_H
#define CLI_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "cli_buf.h"

typedef struct cli_json {
    cli_buf *b;
    int members; /* fields written so far */
    int failed;  /* an append failed (out of memory) */
} cli_json;

/* Appends s[0..n) to b as a quoted JSON string. Returns 0 or -1 (out of memory). */
int cli_json_escape(cli_buf *b, const uint8_t *s, size_t n);

/* Starts an object in b (appending "{"). Errors are collected until cli_json_end. */
void cli_json_begin(cli_json *j, cli_buf *b);
void cli_json_str(cli_json *j, const char *key, const char *s);
void cli_json_strn(cli_json *j, const char *key, const uint8_t *s, size_t n);
void cli_json_u64(cli_json *j, const char *key, uint64_t v);
void cli_json_int(cli_json *j, const char *key, long long v);
void cli_json_bool(cli_json *j, const char *key, int v);
/* Ends the object with "}\n". Returns 0, or -1 if any write failed. */
int cli_json_end(cli_json *j);

#endif
