#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hexutil.h"
#include "sc_invite.h"

static const uint8_t seed0_32[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                     11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                     22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* Golden values computed independently with PyNaCl/hashlib from PROTOCOL.md section 3
 * (crypto_kdf = BLAKE2b with salt u64le(subkey id) and personal "saltroom"). */
#define SECRET "59765a7867ce7f22ac43e7438647dbedfdc7d4448d57d71fdc80b5e3237a77c5"
#define ROOM_ID "b6a3970c45a8027940ae2429acc34ff0f32cb6c45de167a4f90e76a5b333c14d"
#define ROOM_KEY "86c9b4ce90ff2565950d39ea4ee88346a9ceda96dddb4e45753bded005305361"
#define ROOM_ID_TEXT "tqOXDEWoAnlAriQprMNP8PMstsRd4Wek-Q52pbMzwU0"
#define CODE "WXZaeGfOfyKsQ-dDhkfb7f3H1ESNV9cf3IC14yN6d8Xx5SGa"
#define LINK "http://localhost:8080/#sc1." CODE

static uint8_t secret[32];

/* Parses a heap copy of s (exact size, so ASan sees over-reads). */
static int parse(const char *s, uint8_t out[32], char *base, size_t cap)
{
    char *p = (char *)exact_copy((const uint8_t *)s, strlen(s) + 1);
    int rc = sc_invite_parse(p, out, base, cap);
    free(p);
    return rc;
}

static void test_golden(void)
{
    sc_rng r;
    uint8_t id[32], key[32];
    char text[SC_INVITE_ROOM_ID_CHARS + 1], link[SC_INVITE_MAX_URL], ws[SC_INVITE_MAX_URL];
    sc_rng_init_seeded(&r, seed0_32);
    sc_invite_new_secret(&r, secret);
    CHECK(hex_equal(secret, 32, SECRET));
    sc_invite_derive(secret, id, key);
    CHECK(hex_equal(id, 32, ROOM_ID));
    CHECK(hex_equal(key, 32, ROOM_KEY));
    memset(id, 0, sizeof id);
    sc_invite_derive(secret, id, NULL);
    CHECK(hex_equal(id, 32, ROOM_ID));
    memset(key, 0, sizeof key);
    sc_invite_derive(secret, NULL, key);
    CHECK(hex_equal(key, 32, ROOM_KEY));
    sc_invite_room_id_text(id, text);
    CHECK(strcmp(text, ROOM_ID_TEXT) == 0);

    CHECK_EQ(sc_invite_format("http://localhost:8080/", secret, link, sizeof link),
             (int)strlen(LINK));
    CHECK(strcmp(link, LINK) == 0);
    /* ws becomes http, a missing slash is added, the scheme is lower-cased */
    CHECK(sc_invite_format("ws://localhost:8080", secret, link, sizeof link) > 0);
    CHECK(strcmp(link, LINK) == 0);
    CHECK(sc_invite_format("HTTP://localhost:8080", secret, link, sizeof link) > 0);
    CHECK(strcmp(link, LINK) == 0);
    CHECK(sc_invite_format("wss://example.org/chat", secret, link, sizeof link) > 0);
    CHECK(strcmp(link, "https://example.org/chat/#sc1." CODE) == 0);

    CHECK(sc_invite_ws_url("http://localhost:8080/", secret, ws, sizeof ws) > 0);
    CHECK(strcmp(ws, "ws://localhost:8080/room/" ROOM_ID_TEXT) == 0);
    CHECK_EQ(sc_invite_ws_url("https://example.org/chat", secret, ws, sizeof ws),
             (int)strlen("wss://example.org/chat/room/" ROOM_ID_TEXT));
    CHECK(strcmp(ws, "wss://example.org/chat/room/" ROOM_ID_TEXT) == 0);
    sodium_memzero(key, sizeof key);
}

static void test_parse_ok(void)
{
    uint8_t out[32];
    char base[SC_INVITE_MAX_URL];
    memset(out, 0, sizeof out);
    CHECK_EQ(parse(LINK, out, base, sizeof base), 0);
    CHECK_MEM(out, secret, 32);
    CHECK(strcmp(base, "http://localhost:8080/") == 0);
    memset(out, 0, sizeof out);
    CHECK_EQ(parse("  \t" LINK "\r\n", out, NULL, 0), 0);
    CHECK_MEM(out, secret, 32);
    CHECK_EQ(parse("https://h.example:443/a/b#sc1." CODE, out, base, sizeof base), 0);
    CHECK(strcmp(base, "https://h.example:443/a/b/") == 0);
    CHECK_EQ(parse("WSS://[::1]:9/#sc1." CODE, out, base, sizeof base), 0);
    CHECK(strcmp(base, "https://[::1]:9/") == 0);
    /* base_out exactly big enough, then one byte short */
    CHECK_EQ(parse(LINK, out, base, strlen("http://localhost:8080/") + 1), 0);
    CHECK_EQ(parse(LINK, out, base, strlen("http://localhost:8080/")), SC_INVITE_E_SPACE);
}

static void test_parse_errors(void)
{
    uint8_t out[32];
    char link[SC_INVITE_MAX_URL + 100];
    memset(out, 0x77, sizeof out);
    CHECK_EQ(parse("", out, NULL, 0), SC_INVITE_E_NO_FRAGMENT);
    CHECK_EQ(parse("http://localhost:8080/", out, NULL, 0), SC_INVITE_E_NO_FRAGMENT);
    CHECK_EQ(parse("http://localhost:8080/#", out, NULL, 0), SC_INVITE_E_VERSION);
    CHECK_EQ(parse("http://localhost:8080/#sc2." CODE, out, NULL, 0), SC_INVITE_E_VERSION);
    CHECK_EQ(parse("http://localhost:8080/#SC1." CODE, out, NULL, 0), SC_INVITE_E_VERSION);
    CHECK_EQ(parse("http://localhost:8080/#sc1." CODE "=", out, NULL, 0),
             SC_INVITE_E_ENCODING);
    CHECK_EQ(parse("http://localhost:8080/#sc1.WXZaeGfOfyKsQ+dDhkfb7f3H1ESNV9cf3IC14yN6d8Xx5SGa",
                   out, NULL, 0),
             SC_INVITE_E_ENCODING);
    CHECK_EQ(parse("http://localhost:8080/#sc1." CODE " x", out, NULL, 0), SC_INVITE_E_ENCODING);
    CHECK_EQ(parse("http://localhost:8080/#sc1." CODE "A", out, NULL, 0), SC_INVITE_E_LENGTH);
    CHECK_EQ(parse("http://localhost:8080/#sc1.", out, NULL, 0), SC_INVITE_E_LENGTH);
    /* a mistyped character: checksum */
    CHECK_EQ(parse("http://localhost:8080/#sc1.WXZaeGfOfyKsQ-dDhkfb7f3H1ESNV9cf3IC14yN6d8Xx5SGb",
                   out, NULL, 0),
             SC_INVITE_E_CHECK);
    CHECK_EQ(parse("http://localhost:8080/#sc1.XXZaeGfOfyKsQ-dDhkfb7f3H1ESNV9cf3IC14yN6d8Xx5SGa",
                   out, NULL, 0),
             SC_INVITE_E_CHECK);
    /* bases */
    CHECK_EQ(parse("#sc1." CODE, out, NULL, 0), SC_INVITE_E_URL);
    CHECK_EQ(parse("ftp://x/#sc1." CODE, out, NULL, 0), SC_INVITE_E_URL);
    CHECK_EQ(parse("http:///#sc1." CODE, out, NULL, 0), SC_INVITE_E_URL);
    CHECK_EQ(parse("http://#sc1." CODE, out, NULL, 0), SC_INVITE_E_URL);
    CHECK_EQ(parse("http://a b/#sc1." CODE, out, NULL, 0), SC_INVITE_E_URL);
    CHECK_EQ(parse("http://h/?q=1#sc1." CODE, out, NULL, 0), SC_INVITE_E_URL);
    CHECK_EQ(parse("http://user@h/#sc1." CODE, out, NULL, 0), SC_INVITE_E_URL);
    CHECK_EQ(parse("http://h/\x7f#sc1." CODE, out, NULL, 0), SC_INVITE_E_URL);
    /* nothing was written on failure */
    for (int i = 0; i < 32; i++)
        CHECK_EQ(out[i], 0x77);

    /* every proper prefix of a link fails, each with the error its truncation implies */
    size_t n = strlen(LINK), hash = strlen("http://localhost:8080/");
    for (size_t i = 0; i < n; i++) {
        memcpy(link, LINK, i);
        link[i] = '\0';
        int rc = parse(link, out, NULL, 0);
        if (i <= hash)
            CHECK_EQ(rc, SC_INVITE_E_NO_FRAGMENT);
        else if (i < hash + 5)
            CHECK_EQ(rc, SC_INVITE_E_VERSION);
        else
            CHECK_EQ(rc, SC_INVITE_E_LENGTH);
    }
    /* every single-character change inside the code is caught */
    for (size_t i = hash + 5; i < n; i++) {
        strcpy(link, LINK);
        link[i] = link[i] == 'A' ? 'B' : 'A';
        int rc = parse(link, out, NULL, 0);
        CHECK(rc == SC_INVITE_E_CHECK || rc == SC_INVITE_E_ENCODING);
    }
}

static void test_bases(void)
{
    char out[SC_INVITE_MAX_URL], big[SC_INVITE_MAX_URL + 10];
    CHECK_EQ(sc_invite_format("", secret, out, sizeof out), SC_INVITE_E_URL);
    CHECK_EQ(sc_invite_format("localhost:8080", secret, out, sizeof out), SC_INVITE_E_URL);
    CHECK_EQ(sc_invite_format("http://h/#frag", secret, out, sizeof out), SC_INVITE_E_URL);
    CHECK_EQ(sc_invite_format("http://h/?x", secret, out, sizeof out), SC_INVITE_E_URL);
    CHECK_EQ(sc_invite_ws_url("mailto:x", secret, out, sizeof out), SC_INVITE_E_URL);
    /* space: the exact size works, one less does not */
    int n = sc_invite_format("http://h", secret, out, sizeof out);
    CHECK_EQ(n, (int)strlen("http://h/#sc1.") + 48);
    CHECK_EQ(sc_invite_format("http://h", secret, out, (size_t)n + 1), n);
    CHECK_EQ(sc_invite_format("http://h", secret, out, (size_t)n), SC_INVITE_E_SPACE);
    CHECK_EQ(sc_invite_format("http://h", secret, out, 3), SC_INVITE_E_SPACE);
    n = sc_invite_ws_url("http://h", secret, out, sizeof out);
    CHECK_EQ(n, (int)strlen("ws://h/room/") + 43);
    CHECK_EQ(sc_invite_ws_url("http://h", secret, out, (size_t)n + 1), n);
    CHECK_EQ(sc_invite_ws_url("http://h", secret, out, (size_t)n), SC_INVITE_E_SPACE);
    /* the longest base accepted: its link fills SC_INVITE_MAX_URL exactly */
    size_t longest = SC_INVITE_MAX_URL - 54;
    memcpy(big, "http://h/", 9);
    memset(big + 9, 'a', longest - 10);
    big[longest - 1] = '/';
    big[longest] = '\0';
    n = sc_invite_format(big, secret, out, sizeof out);
    CHECK_EQ(n, SC_INVITE_MAX_URL - 1);
    CHECK(sc_invite_ws_url(big, secret, out, sizeof out) > 0);
    uint8_t back[32];
    CHECK_EQ(parse(out, back, NULL, 0), SC_INVITE_E_NO_FRAGMENT); /* out is the ws URL */
    CHECK_EQ(sc_invite_format(big, secret, out, sizeof out), SC_INVITE_MAX_URL - 1);
    CHECK_EQ(parse(out, back, NULL, 0), 0);
    big[longest - 1] = 'a';
    big[longest] = '/';
    big[longest + 1] = '\0';
    CHECK_EQ(sc_invite_format(big, secret, out, sizeof out), SC_INVITE_E_URL);
    CHECK_EQ(sc_invite_ws_url(big, secret, out, sizeof out), SC_INVITE_E_URL);
    memcpy(big, "ws", 2); /* "ws://h/aaa" in ws form is 2 shorter but measured as http */
    memmove(big + 2, big + 4, strlen(big + 4) + 1);
    CHECK_EQ(sc_invite_ws_url(big, secret, out, sizeof out), SC_INVITE_E_URL);
}

static void test_roundtrip_random(void)
{
    sc_rng r;
    sc_rng_init(&r);
    for (int i = 0; i < 200; i++) {
        uint8_t s[32], back[32];
        char link[SC_INVITE_MAX_URL], base[SC_INVITE_MAX_URL];
        sc_invite_new_secret(&r, s);
        CHECK(sc_invite_format("https://relay.example/", s, link, sizeof link) > 0);
        CHECK_EQ(parse(link, back, base, sizeof base), 0);
        CHECK_MEM(s, back, 32);
        CHECK(strcmp(base, "https://relay.example/") == 0);
    }
}

static void test_strerror(void)
{
    for (int e = SC_INVITE_E_SPACE; e <= SC_INVITE_E_URL; e++) {
        const char *m = sc_invite_strerror(e);
        CHECK(m != NULL && strlen(m) > 10);
        CHECK(strcmp(m, sc_invite_strerror(-100)) != 0);
    }
    CHECK_EQ(sc_invite_secretbytes(), 32);
    CHECK_EQ(sc_invite_room_id_chars(), 43);
    CHECK_EQ(sc_invite_room_id_bytes(), 32);
    CHECK_EQ(sc_invite_room_key_bytes(), 32);
    CHECK_EQ(sc_invite_code_chars(), 48);
    CHECK_EQ(sc_invite_max_url(), SC_INVITE_MAX_URL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    test_golden();
    test_parse_ok();
    test_parse_errors();
    test_bases();
    test_roundtrip_random();
    test_strerror();
    return check_finish("test_invite");
}
