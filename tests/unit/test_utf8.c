#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hexutil.h"
#include "sc_utf8.h"

static int valid(const char *s)
{
    size_t n = strlen(s);
    uint8_t *p = exact_copy((const uint8_t *)s, n);
    int r = sc_utf8_valid(p, n);
    free(p);
    return r;
}

int main(void)
{
    CHECK_EQ(sc_utf8_valid((const uint8_t *)"", 0), 1);
    CHECK_EQ(valid("hello"), 1);
    CHECK_EQ(valid("caf\xc3\xa9"), 1);                 /* U+00E9 */
    CHECK_EQ(valid("\xe2\x82\xac"), 1);                 /* U+20AC */
    CHECK_EQ(valid("\xf0\x9f\x98\x80"), 1);             /* U+1F600 */
    CHECK_EQ(valid("\xf4\x8f\xbf\xbf"), 1);             /* U+10FFFF */
    CHECK_EQ(valid("\xed\x9f\xbf"), 1);                 /* U+D7FF */
    CHECK_EQ(valid("\xee\x80\x80"), 1);                 /* U+E000 */
    CHECK_EQ(valid("\xc0\x80"), 0);                     /* overlong NUL */
    CHECK_EQ(valid("\xc1\xbf"), 0);                     /* overlong */
    CHECK_EQ(valid("\xe0\x9f\xbf"), 0);                 /* overlong */
    CHECK_EQ(valid("\xf0\x8f\xbf\xbf"), 0);             /* overlong */
    CHECK_EQ(valid("\xed\xa0\x80"), 0);                 /* surrogate U+D800 */
    CHECK_EQ(valid("\xed\xbf\xbf"), 0);                 /* surrogate U+DFFF */
    CHECK_EQ(valid("\xf4\x90\x80\x80"), 0);             /* U+110000 */
    CHECK_EQ(valid("\xf5\x80\x80\x80"), 0);
    CHECK_EQ(valid("\xff"), 0);
    CHECK_EQ(valid("\x80"), 0);                         /* lone continuation */
    CHECK_EQ(valid("a\xc3"), 0);                        /* truncated */
    CHECK_EQ(valid("\xe2\x82"), 0);                     /* truncated */
    CHECK_EQ(valid("\xf0\x9f\x98"), 0);                 /* truncated */
    CHECK_EQ(valid("\xe2\x28\xa1"), 0);                 /* bad continuation */
    CHECK_EQ(valid("\xf0\x9f\x28\x80"), 0);
    /* a NUL byte is well-formed UTF-8 */
    CHECK_EQ(sc_utf8_valid((const uint8_t *)"a\0b", 3), 1);
    /* every proper prefix of a multi-byte sequence is rejected */
    const char *euro = "\xf0\x9f\x98\x80";
    for (size_t i = 1; i < 4; i++) {
        uint8_t *p = exact_copy((const uint8_t *)euro, i);
        CHECK_EQ(sc_utf8_valid(p, i), 0);
        free(p);
    }
    return check_finish("test_utf8");
}
