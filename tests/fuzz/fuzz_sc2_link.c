/* fuzz_sc2_link: the v2 link parser and the gi_box opener. Byte 0 selects:
 *   0  the rest is a link: sc2_link_parse; an accepted link re-formats from its base to
 *      a link that parses to the same room, secret and base; exact-size buffers work and
 *      one byte less is E_SPACE
 *   1  the rest is a GroupInfo candidate, sealed here under a fixed link and opened: the
 *      opener's GroupInfo header check on any bytes; what opens is the input itself
 *   2  the rest is a gi_box as a relay might send it: never opens (no key), never crashes
 *   3  the rest is stored log hash state: sc2_lh_import; what imports exports to the input
 */
#include "fuzz_common.h"
#include "sc2_link.h"
#include "sc2_loghash.h"

static const uint8_t room[16] = {0x1a, 0xd0, 0x2d, 0x7c, 0x5b, 0x81, 0x0b, 0x3a,
                                 0x3b, 0x49, 0xfb, 0x47, 0xbc, 0x8a, 0x36, 0x65};
static uint8_t secret[32];

static void zero_nonce(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    memset(out, 0, n);
}

static void fuzz_link(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    FUZZ_ASSERT(s);
    memcpy(s, d, n);
    s[n] = '\0';
    uint8_t r[16], k[32], r2[16], k2[32];
    char base[SC2_LINK_MAX_URL], base2[SC2_LINK_MAX_URL], link[SC2_LINK_MAX_URL];
    int rc = sc2_link_parse(s, r, k, base, sizeof base);
    FUZZ_ASSERT(rc == 0 || (rc <= SC2_LINK_E_URL && rc >= SC2_LINK_E_SPACE));
    FUZZ_ASSERT(strcmp(sc2_link_strerror(rc), "unknown link error") != 0);
    if (rc == 0) {
        int m = sc2_link_format(base, r, k, link, sizeof link);
        FUZZ_ASSERT(m > 0 && (size_t)m == strlen(link));
        FUZZ_ASSERT(sc2_link_parse(link, r2, k2, base2, sizeof base2) == 0);
        FUZZ_ASSERT(memcmp(r, r2, 16) == 0 && memcmp(k, k2, 32) == 0);
        FUZZ_ASSERT(strcmp(base, base2) == 0);
        char *exact = malloc((size_t)m + 1);
        FUZZ_ASSERT(exact);
        FUZZ_ASSERT(sc2_link_format(base, r, k, exact, (size_t)m + 1) == m);
        FUZZ_ASSERT(sc2_link_format(base, r, k, exact, (size_t)m) == SC2_LINK_E_SPACE);
        free(exact);
        char ws[SC2_LINK_MAX_URL];
        FUZZ_ASSERT(sc2_link_ws_url(base, r, ws, sizeof ws) > 0);
    }
    /* the same text as a base */
    int f = sc2_link_format(s, room, secret, link, sizeof link);
    if (f > 0) {
        FUZZ_ASSERT(sc2_link_parse(link, r2, k2, NULL, 0) == 0);
        FUZZ_ASSERT(memcmp(r2, room, 16) == 0 && memcmp(k2, secret, 32) == 0);
    } else {
        FUZZ_ASSERT(f == SC2_LINK_E_URL);
    }
    free(s);
}

static void fuzz_groupinfo(const uint8_t *d, size_t n)
{
    mls_rng rng = {zero_nonce, NULL};
    size_t bl = sc2_link_gibox_size(n);
    uint8_t *box = malloc(bl), *out = malloc(bl);
    FUZZ_ASSERT(box && out);
    int rc = sc2_link_gibox_seal(secret, 7, d, n, &rng, box, bl);
    if (n == 0) {
        FUZZ_ASSERT(rc == SC2_LINK_E_ARG);
    } else {
        FUZZ_ASSERT(rc == (int)bl);
        size_t gl = 0;
        uint64_t ep = 0;
        int o = sc2_link_gibox_open(secret, room, box, bl, out, bl, &gl, &ep);
        FUZZ_ASSERT(o == 0 || o == SC2_LINK_E_GROUPINFO || o == SC2_LINK_E_EPOCH);
        if (o == 0)
            FUZZ_ASSERT(ep == 7 && gl == n && memcmp(out, d, n) == 0);
        else
            FUZZ_ASSERT(fuzz_all_zero(out, bl - 40));
    }
    free(box);
    free(out);
}

static void fuzz_box(const uint8_t *d, size_t n)
{
    uint8_t *out = malloc(n + 1);
    FUZZ_ASSERT(out);
    size_t gl = 0;
    uint64_t ep = 0;
    int o = sc2_link_gibox_open(secret, room, d, n, out, n, &gl, &ep);
    FUZZ_ASSERT(o == SC2_LINK_E_BOX);
    free(out);
}

static void fuzz_lh_state(const uint8_t *d, size_t n)
{
    sc2_loghash st;
    uint8_t out[SC2_LH_EXPORT_MAX];
    int rc = sc2_lh_import(&st, d, n);
    FUZZ_ASSERT(rc == 0 || rc == SC2_LH_E_DECODE);
    if (rc == 0) {
        int m = sc2_lh_export(&st, out, sizeof out);
        FUZZ_ASSERT(m > 0 && (size_t)m == n && memcmp(out, d, n) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        fuzz_sodium_init();
        for (int i = 0; i < 32; i++)
            secret[i] = (uint8_t)(0x80 + i);
        ready = 1;
    }
    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        fuzz_link(data + 1, size - 1);
        break;
    case 1:
        fuzz_groupinfo(data + 1, size - 1);
        break;
    case 2:
        fuzz_box(data + 1, size - 1);
        break;
    default:
        fuzz_lh_state(data + 1, size - 1);
        break;
    }
    return 0;
}
