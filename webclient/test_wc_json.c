/* Unit test of wc_json, the glue's JSON writer (native and sanitizer builds). */
#include <stdio.h>
#include <string.h>

#include "wc_json.h"

static int failures;
#define EXPECT_STR(got, want)                                                            \
    do {                                                                                 \
        const char *g_ = (got);                                                          \
        if (!g_ || strcmp(g_, (want)) != 0) {                                            \
            failures++;                                                                  \
            fprintf(stderr, "%s:%d: got %s, want %s\n", __FILE__, __LINE__,              \
                    g_ ? g_ : "(null)", (want));                                         \
        }                                                                                \
    } while (0)

int main(void)
{
    wc_json j = {0};
    static const uint8_t text[] = {'a', '"', '\\', '\n', 0x01, 0xc3, 0xa9, 0x00, 'z'};
    static const uint8_t key[] = {0x00, 0xff, 0x10};

    wc_json_object(&j, NULL);
    wc_json_str(&j, "type", "message");
    wc_json_u64_str(&j, "member", 18446744073709551615ull);
    wc_json_num(&j, "time_ms", 1700000000123.0);
    wc_json_strn(&j, "text", text, sizeof text);
    wc_json_hex(&j, "identity", key, sizeof key);
    wc_json_hex(&j, "none", NULL, 32);
    wc_json_str(&j, "empty", NULL);
    wc_json_close(&j, '}');
    EXPECT_STR(wc_json_result(&j),
               "{\"type\":\"message\",\"member\":\"18446744073709551615\","
               "\"time_ms\":1700000000123,\"text\":\"a\\\"\\\\\\u000a\\u0001\xc3\xa9\\u0000z\","
               "\"identity\":\"00ff10\",\"none\":null,\"empty\":\"\"}");

    /* reuse: arrays of objects, and a document is only returned when complete */
    wc_json_reset(&j);
    wc_json_array(&j, NULL);
    for (int i = 0; i < 2; i++) {
        wc_json_object(&j, NULL);
        wc_json_u64_str(&j, "id", (uint64_t)i + 1);
        wc_json_close(&j, '}');
    }
    if (wc_json_result(&j) != NULL) {
        failures++;
        fprintf(stderr, "unclosed document returned\n");
    }
    wc_json_close(&j, ']');
    EXPECT_STR(wc_json_result(&j), "[{\"id\":\"1\"},{\"id\":\"2\"}]");

    /* too deep: fails instead of overflowing */
    wc_json_reset(&j);
    for (int i = 0; i < WC_JSON_MAX_DEPTH + 2; i++)
        wc_json_array(&j, NULL);
    if (wc_json_result(&j) != NULL) {
        failures++;
        fprintf(stderr, "over-deep document returned\n");
    }

    /* growth past the first allocation */
    wc_json_reset(&j);
    wc_json_array(&j, NULL);
    for (int i = 0; i < 5000; i++)
        wc_json_str(&j, NULL, "0123456789");
    wc_json_close(&j, ']');
    const char *big = wc_json_result(&j);
    if (!big || strlen(big) != 2 + 5000 * 12 + 4999) {
        failures++;
        fprintf(stderr, "large document wrong\n");
    }
    wc_json_free(&j);

    if (failures) {
        fprintf(stderr, "test_wc_json: %d failures\n", failures);
        return 1;
    }
    printf("test_wc_json: all checks passed\n");
    return 0;
}
