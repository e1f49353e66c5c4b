/* fuzz_sc2_name: display names (shared/v2/sc2_name.h) on any bytes. The display is valid
 * UTF-8 with no hidden (invisible, bidi, control, format) character, fits
 * SC2_NAME_DISPLAY_MAX for names up to SC2_NAME_MAX bytes and any smaller cap either fits
 * exactly or fails with ""; the skeleton is valid UTF-8, has no hidden character but
 * plain spaces, and is idempotent. Byte 0 is the cap for the bounded calls. */
#include "fuzz_common.h"
#include "sc2_name.h"

static void check_clean(const char *s, size_t n, int allow_space)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = (uint8_t)s[i];
        uint32_t cp;
        size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        FUZZ_ASSERT(c < 0x80 || c >= 0xC2);
        FUZZ_ASSERT(i + len <= n);
        cp = len == 1 ? c : (uint32_t)(c & (0x7F >> len));
        for (size_t k = 1; k < len; k++) {
            FUZZ_ASSERT(((uint8_t)s[i + k] & 0xC0) == 0x80);
            cp = (cp << 6) | ((uint8_t)s[i + k] & 0x3F);
        }
        FUZZ_ASSERT(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF));
        FUZZ_ASSERT(len == 1 || cp >= (len == 2 ? 0x80u : len == 3 ? 0x800u : 0x10000u));
        FUZZ_ASSERT(!sc2_name_hidden(cp) || (allow_space && cp == ' '));
        i += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char disp[SC2_NAME_DISPLAY_MAX * 4], small[SC2_NAME_DISPLAY_MAX];
    char sk[SC2_NAME_SKELETON_MAX * 4], sk2[SC2_NAME_SKELETON_MAX * 4];
    if (n == 0)
        return 0;
    size_t cap = d[0];
    d++;
    n--;
    if (n > 4 * SC2_NAME_MAX)
        n = 4 * SC2_NAME_MAX;

    int dl = sc2_name_display(d, n, disp, sizeof disp);
    FUZZ_ASSERT(dl >= 0 && (size_t)dl == strlen(disp));
    check_clean(disp, (size_t)dl, 0);
    if (n <= SC2_NAME_MAX)
        FUZZ_ASSERT((size_t)dl < SC2_NAME_DISPLAY_MAX);
    int sl = sc2_name_display(d, n, small, cap);
    if ((size_t)dl < cap)
        FUZZ_ASSERT(sl == dl && strcmp(small, disp) == 0);
    else
        FUZZ_ASSERT(sl == -1 && (cap == 0 || small[0] == '\0'));

    int kl = sc2_name_skeleton(d, n, sk, sizeof sk);
    FUZZ_ASSERT(kl >= 0 && (size_t)kl == strlen(sk));
    if (n <= SC2_NAME_MAX)
        FUZZ_ASSERT((size_t)kl < SC2_NAME_SKELETON_MAX);
    check_clean(sk, (size_t)kl, 1);
    int k2 = sc2_name_skeleton((const uint8_t *)sk, (size_t)kl, sk2, sizeof sk2);
    FUZZ_ASSERT(k2 == kl && memcmp(sk, sk2, (size_t)kl) == 0);
    int k3 = sc2_name_skeleton(d, n, small, cap);
    if ((size_t)kl < cap)
        FUZZ_ASSERT(k3 == kl && strcmp(small, sk) == 0);
    else
        FUZZ_ASSERT(k3 == -1 && (cap == 0 || small[0] == '\0'));
    return 0;
}
