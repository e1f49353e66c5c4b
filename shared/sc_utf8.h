/* sc_utf8: strict UTF-8 validation for text and names read from the network. */
#ifndef SC_UTF8_H
#define SC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Returns 1 if s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), else 0. n = 0 is valid. */
int sc_utf8_valid(const uint8_t *s, size_t n);

#endif
