/* fuzz_invite: sc_invite_parse on arbitrary text, and the same text as a base URL for
 * sc_invite_format / sc_invite_ws_url. Whatever is accepted must round-trip. */
#include "fuzz_common.h"
#include "sc_invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        fuzz_sodium_init();
        ready = 1;
    }
    if (size > 4 * SC_INVITE_MAX_URL)
        return 0;
    char *s = malloc(size + 1);
    FUZZ_ASSERT(s);
    memcpy(s, data, size);
    s[size] = '\0';

    uint8_t secret[32], back[32];
    char base[SC_INVITE_MAX_URL], link[SC_INVITE_MAX_URL], base2[SC_INVITE_MAX_URL];
    int rc = sc_invite_parse(s, secret, base, sizeof base);
    FUZZ_ASSERT(rc <= 0 && rc >= SC_INVITE_E_SPACE);
    FUZZ_ASSERT(sc_invite_strerror(rc) != NULL);
    if (rc == 0) {
        /* the accepted link's base and secret make a link that parses to the same */
        size_t bl = strlen(base);
        FUZZ_ASSERT(bl > 0 && base[bl - 1] == '/');
        FUZZ_ASSERT(strncmp(base, "http://", 7) == 0 || strncmp(base, "https://", 8) == 0);
        int n = sc_invite_format(base, secret, link, sizeof link);
        FUZZ_ASSERT(n > 0 && (size_t)n == strlen(link));
        FUZZ_ASSERT(sc_invite_parse(link, back, base2, sizeof base2) == 0);
        FUZZ_ASSERT(memcmp(back, secret, 32) == 0 && strcmp(base, base2) == 0);
        /* a base buffer one byte short is E_SPACE */
        FUZZ_ASSERT(sc_invite_parse(s, back, base2, bl) == SC_INVITE_E_SPACE);
    }
    /* the input as a base URL */
    memset(secret, 0x42, sizeof secret);
    int n = sc_invite_format(s, secret, link, sizeof link);
    FUZZ_ASSERT(n == SC_INVITE_E_URL || (n > 0 && (size_t)n < SC_INVITE_MAX_URL));
    if (n > 0) {
        FUZZ_ASSERT(sc_invite_parse(link, back, base2, sizeof base2) == 0);
        FUZZ_ASSERT(memcmp(back, secret, 32) == 0);
        char ws[SC_INVITE_MAX_URL];
        int w = sc_invite_ws_url(s, secret, ws, sizeof ws);
        FUZZ_ASSERT(w > 0 && (size_t)w == strlen(ws));
        FUZZ_ASSERT(strncmp(ws, "ws://", 5) == 0 || strncmp(ws, "wss://", 6) == 0);
        /* exact-size output buffers work, one byte less does not */
        FUZZ_ASSERT(sc_invite_format(s, secret, link, (size_t)n + 1) == n);
        FUZZ_ASSERT(sc_invite_format(s, secret, link, (size_t)n) == SC_INVITE_E_SPACE);
    } else {
        char ws[SC_INVITE_MAX_URL];
        FUZZ_ASSERT(sc_invite_ws_url(s, secret, ws, sizeof ws) == SC_INVITE_E_URL);
    }
    free(s);
    return 0;
}
