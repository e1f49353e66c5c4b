/* test_sc2_name: display names shown distinguishably (shared/v2/sc2_name.h): invisible,
 * bidi and control characters escaped, lookalike skeletons (Cyrillic, Greek, fullwidth,
 * zero-width, rn/m, digits), and the ambiguity of a name among a room's names. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "sc2_name.h"

static const char *display(const char *s)
{
    static char out[SC2_NAME_DISPLAY_MAX];
    if (sc2_name_display((const uint8_t *)s, strlen(s), out, sizeof out) < 0)
        return "(failed)";
    return out;
}

static const char *skel(const char *s)
{
    static char out[SC2_NAME_SKELETON_MAX];
    if (sc2_name_skeleton((const uint8_t *)s, strlen(s), out, sizeof out) < 0)
        return "(failed)";
    return out;
}

static int alike(const char *a, const char *b)
{
    char x[SC2_NAME_SKELETON_MAX], y[SC2_NAME_SKELETON_MAX];
    int n = sc2_name_skeleton((const uint8_t *)a, strlen(a), x, sizeof x);
    int m = sc2_name_skeleton((const uint8_t *)b, strlen(b), y, sizeof y);
    return n >= 0 && n == m && memcmp(x, y, (size_t)n) == 0;
}

static void test_display(void)
{
    CHECK(strcmp(display("alice"), "alice") == 0);
    CHECK(strcmp(display("Zoë 李"), "Zoë 李") == 0);
    CHECK(strcmp(display("bob\xE2\x80\x8B"), "bob\\u{200B}") == 0);
    /* U+202E RIGHT-TO-LEFT OVERRIDE: "moc.evil" would read reversed */
    CHECK(strcmp(display("\xE2\x80\xAEgnp.exe"), "\\u{202E}gnp.exe") == 0);
    CHECK(strcmp(display("a\xE2\x81\xA6" "b\xE2\x81\xA9"), "a\\u{2066}b\\u{2069}") == 0);
    CHECK(strcmp(display("a\nb\tc\x7f"), "a\\u{A}b\\u{9}c\\u{7F}") == 0);
    CHECK(strcmp(display("soft\xC2\xADhyphen"), "soft\\u{AD}hyphen") == 0);
    CHECK(strcmp(display("x\xEF\xBB\xBF"), "x\\u{FEFF}") == 0);
    CHECK(strcmp(display("tag\xF3\xA0\x80\x81"), "tag\\u{E0001}") == 0);
    CHECK(strcmp(display("nb\xC2\xA0sp"), "nb\\u{A0}sp") == 0);
    /* a backslash cannot spell an escape; invalid bytes are shown as bytes */
    CHECK(strcmp(display("a\\u{200B}"), "a\\\\u{200B}") == 0);
    CHECK(strcmp(display("\xFF\xC3"), "\\x{FF}\\x{C3}") == 0);

    /* cap: exact fit, one byte less fails with "" */
    char out[16];
    CHECK_EQ(sc2_name_display((const uint8_t *)"bob\xE2\x80\x8B", 6, out, 12), 11);
    CHECK_EQ(sc2_name_display((const uint8_t *)"bob\xE2\x80\x8B", 6, out, 11), -1);
    CHECK(out[0] == '\0');
    CHECK_EQ(sc2_name_display((const uint8_t *)"", 0, out, 1), 0);
    CHECK_EQ(sc2_name_display((const uint8_t *)"a", 1, out, 0), -1);

    /* the worst case of a 64-byte name fits SC2_NAME_DISPLAY_MAX */
    char worst[SC2_NAME_MAX];
    char big[SC2_NAME_DISPLAY_MAX];
    memset(worst, 0x01, sizeof worst);
    CHECK_EQ(sc2_name_display((const uint8_t *)worst, sizeof worst, big, sizeof big),
             5 * SC2_NAME_MAX);
    memset(worst, 0xFF, sizeof worst);
    CHECK_EQ(sc2_name_display((const uint8_t *)worst, sizeof worst, big, sizeof big),
             6 * SC2_NAME_MAX);

    CHECK(sc2_name_hidden(0x200B) && sc2_name_hidden(0x202E) && sc2_name_hidden(0x061C));
    CHECK(sc2_name_hidden(0xFE0F) && sc2_name_hidden(0xE0100) && sc2_name_hidden(0x1B));
    CHECK(!sc2_name_hidden('a') && !sc2_name_hidden(' ') && !sc2_name_hidden(0x446));
}

static void test_skeleton(void)
{
    CHECK(strcmp(skel("alice"), "alice") == 0);
    CHECK(alike("alice", "\xD0\xB0lice"));             /* Cyrillic а */
    CHECK(alike("alice", "Alice"));                    /* ASCII case */
    CHECK(alike("alice", "\xD0\x90lice"));             /* Cyrillic А */
    CHECK(alike("paypal", "\xD1\x80\xD0\xB0y\xD1\x80\xD0\xB0l")); /* р а у р а */
    CHECK(alike("bob", "bob\xE2\x80\x8B"));            /* zero-width space */
    CHECK(alike("bob", "b\xE2\x80\x8D" "o\xEF\xBB\xBF" "b")); /* ZWJ, BOM */
    CHECK(alike("alice", "\xEF\xBD\x81\xEF\xBD\x8C\xEF\xBD\x89\xEF\xBD\x83\xEF\xBD\x85"));
    CHECK(alike("alice", "\xE2\x80\xAE" "alice"));    /* bidi override */
    CHECK(alike("rnary", "mary"));
    CHECK(alike("vvendy", "wendy"));
    CHECK(alike("clave", "dave"));
    CHECK(alike("bob0", "bobO"));
    CHECK(alike("bill", "bi1l") && alike("bill", "biIl") && alike("bill", "bi|l"));
    CHECK(alike("nikos", "\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xBF\xCF\x82") == 0); /* ν→v */
    CHECK(alike("vikos", "\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xBFs"));
    CHECK(alike("TOM", "\xCE\xA4\xCE\x9F\xCE\x9C"));   /* Greek capitals Τ Ο Μ */
    CHECK(alike("zoe", "Zo\xC3\xAB"));                 /* ë */
    CHECK(alike("zoe", "zoe\xCC\x88"));                /* e + combining diaeresis */
    CHECK(alike("jose", "\xD1\x98os\xD0\xB5"));        /* ј е */
    CHECK(alike("file", "\xEF\xAC\x81le"));            /* ﬁ ligature */
    CHECK(alike("bob", "\xF0\x9D\x90\x9B\xF0\x9D\x90\xA8\xF0\x9D\x90\x9B")); /* 𝐛𝐨𝐛 */
    CHECK(alike("a b", "a\xC2\xA0" "b"));              /* no-break space */
    CHECK(alike("ivan", "\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD") == 0); /* Иван is not ivan */
    CHECK(alike("\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD", "\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD"));

    /* distinct names stay distinct */
    CHECK(!alike("alice", "alicia"));
    CHECK(!alike("bob", "rob"));
    CHECK(!alike("al ice", "alice"));
    CHECK(!alike("mary", "marty"));
    CHECK(!alike("\xE6\x9D\x8E", "\xE6\x9D\x9C"));     /* 李 杜 */

    /* idempotent */
    const char *samples[] = {"rnrn", "vvv", "ccl", "\xD0\xA3\xD0\xB4", "\xEF\xAC\x83",
                             "\xE2\x85\xA0\xE2\x85\xB0", "\xC4\xB2\xC5\x8A\xC3\x86"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char a[SC2_NAME_SKELETON_MAX], b[SC2_NAME_SKELETON_MAX];
        int n = sc2_name_skeleton((const uint8_t *)samples[i], strlen(samples[i]), a, sizeof a);
        CHECK(n >= 0);
        int m = sc2_name_skeleton((const uint8_t *)a, (size_t)n, b, sizeof b);
        CHECK(m == n && strcmp(a, b) == 0);
    }

    char out[4];
    CHECK_EQ(sc2_name_skeleton((const uint8_t *)"abc", 3, out, sizeof out), 3);
    CHECK_EQ(sc2_name_skeleton((const uint8_t *)"abcd", 4, out, sizeof out), -1);
    CHECK(out[0] == '\0');
    CHECK_EQ(sc2_name_skeleton((const uint8_t *)"\xFF", 1, out, sizeof out), 3);
    CHECK(strcmp(out, "\xEF\xBF\xBD") == 0);
}

static void test_ambiguous(void)
{
    const char *room[] = {"alice", "\xD0\xB0lice", "bob", "\xE2\x80\xAE" "carol", NULL, "dave"};
    size_t n = sizeof room / sizeof room[0];
    CHECK_EQ(sc2_name_ambiguous(room, n, 0), 1);
    CHECK_EQ(sc2_name_ambiguous(room, n, 1), 1);
    CHECK_EQ(sc2_name_ambiguous(room, n, 2), 0);
    CHECK_EQ(sc2_name_ambiguous(room, n, 3), 0); /* shown escaped, but like no one else */
    CHECK_EQ(sc2_name_ambiguous(room, n, 4), 0);
    CHECK_EQ(sc2_name_ambiguous(room, n, 5), 0);
    CHECK_EQ(sc2_name_ambiguous(room, n, 6), 0);
    const char *same[] = {"bob", "bob"};
    CHECK_EQ(sc2_name_ambiguous(same, 2, 1), 1);
    CHECK_EQ(sc2_name_ambiguous(same, 1, 0), 0);
}

int main(void)
{
    test_display();
    test_skeleton();
    test_ambiguous();
    return check_finish("test_sc2_name");
}
