/* Unit tests of relay_wsguard: the RFC 6455 checks the relay makes on the raw byte
 * stream (an upgrade request, then frame headers), fed whole and one byte at a time. */
#include <string.h>

#include "../unit/check.h"
#include "relay_wsguard.h"

#define MAX 4096u

static const char upgrade[] = "GET /room/a HTTP/1.1\r\nHost: x\r\nUPGRADE: websocket\r\n"
                              "Connection: Upgrade\r\n\r\n";

/* Feeds the upgrade then data[0..n), either in one piece or byte by byte. */
static uint16_t feed(const uint8_t *data, size_t n, int bytewise, relay_wsguard *g)
{
    uint16_t rc = 0;

    relay_wsguard_init(g, MAX);
    if (relay_wsguard_feed(g, (const uint8_t *)upgrade, sizeof upgrade - 1))
        return 0xffff;
    if (!relay_wsguard_in_ws(g))
        return 0xfffe;
    if (!bytewise)
        return relay_wsguard_feed(g, data, n);
    for (size_t i = 0; i < n; i++)
        rc = relay_wsguard_feed(g, data + i, 1);
    return rc;
}

static uint16_t both(const uint8_t *data, size_t n)
{
    relay_wsguard g1, g2;
    uint16_t a = feed(data, n, 0, &g1), b = feed(data, n, 1, &g2);

    CHECK_EQ(a, b);
    return a;
}

#define CODE(...) both((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

#define K 0x80, 1, 2, 3, 4 /* mask bit and key, to put before a 7-bit length */

static void test_http(void)
{
    relay_wsguard g;
    static const char plain[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Upgrade: no\r\n\r\n"
                                "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

    relay_wsguard_init(&g, MAX);
    CHECK_EQ(relay_wsguard_feed(&g, (const uint8_t *)plain, sizeof plain - 1), 0);
    CHECK(!relay_wsguard_in_ws(&g));
    /* an unmasked frame's bytes are no violation while the connection is HTTP */
    CHECK_EQ(relay_wsguard_feed(&g, (const uint8_t *)"\x82\x01x", 3), 0);
    CHECK(!relay_wsguard_in_ws(&g));
    /* keep-alive requests, then the upgrade */
    CHECK_EQ(relay_wsguard_feed(&g, (const uint8_t *)"\r\n\r\n", 4), 0);
    CHECK_EQ(relay_wsguard_feed(&g, (const uint8_t *)upgrade, sizeof upgrade - 1), 0);
    CHECK(relay_wsguard_in_ws(&g));
}

static void test_frames(void)
{
    /* fine: masked binary, ping, fragmented message with a ping between, close */
    CHECK_EQ(CODE(0x82, 0x80 | 2, 1, 2, 3, 4, 'a', 'b', 0x89, K, 0x88, 0x80 | 2, 0, 0,
                  0, 0, 3, 0xe8),
             0);
    CHECK_EQ(CODE(0x02, 0x81, 0, 0, 0, 0, 'a', 0x89, 0x80, 0, 0, 0, 0, 0x80, 0x81, 0, 0, 0,
                  0, 'b', 0x82, 0x80, 0, 0, 0, 0),
             0);
    CHECK_EQ(CODE(0x82, 0x80 | 126, 0x01, 0x00, 1, 2, 3, 4), 0); /* 256 bytes: 16-bit */

    CHECK_EQ(CODE(0x82, 0x02, 'a', 'b'), 1002);                   /* unmasked */
    CHECK_EQ(CODE(0x92, K), 1002);                                /* RSV1 */
    CHECK_EQ(CODE(0xa2, K), 1002);                                /* RSV2 */
    CHECK_EQ(CODE(0xc2, K), 1002);                                /* RSV3 */
    for (uint8_t op = 3; op <= 0xf; op++) {
        uint8_t d[] = {(uint8_t)(0x80 | op), 0x80, 0, 0, 0, 0};
        CHECK_EQ(both(d, sizeof d), (op >= 8 && op <= 0xa) ? 0 : 1002);
    }
    CHECK_EQ(CODE(0x09, 0x80), 1002);                             /* fragmented ping */
    CHECK_EQ(CODE(0x89, 0x80 | 126, 0, 126), 1002);               /* ping over 125 */
    CHECK_EQ(CODE(0x88, 0x80 | 1, 0, 0, 0, 0, 3), 1002);          /* close of 1 byte */
    CHECK_EQ(CODE(0x80, 0x80), 1002);                             /* continuation alone */
    CHECK_EQ(CODE(0x02, 0x80, 0, 0, 0, 0, 0x82, 0x80), 1002);     /* new inside fragmented */
    CHECK_EQ(CODE(0x02, 0x80, 0, 0, 0, 0, 0x81, 0x80), 1002);
    CHECK_EQ(CODE(0x82, 0x80 | 126, 0, 125), 1002);               /* non-minimal 16 */
    CHECK_EQ(CODE(0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff), 1002); /* non-minimal 64 */
    CHECK_EQ(CODE(0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 5), 1002);    /* top bit */
    CHECK_EQ(CODE(0x82, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0), 1009);    /* 2^62 */
    CHECK_EQ(CODE(0x82, 0x80 | 126, 0x10, 0x01), 1009);           /* MAX + 1 */
    CHECK_EQ(CODE(0x82, 0x80 | 126, 0x10, 0x00), 0);              /* MAX itself */
    /* 4000 + 97 bytes in two fragments: over MAX on the second header */
    {
        static uint8_t d[8 + 4000 + 4];
        memcpy(d, (const uint8_t[]){0x02, 0x80 | 126, 0x0f, 0xa0, 0, 0, 0, 0}, 8);
        memcpy(d + 8 + 4000, (const uint8_t[]){0x80, 0x80 | 97}, 2);
        CHECK_EQ(both(d, 8 + 4000 + 2), 1009);
        d[8 + 4000 + 1] = 0x80 | 96;
        CHECK_EQ(both(d, 8 + 4000 + 2), 0);
    }
}

static void test_sticky(void)
{
    relay_wsguard g;
    static const uint8_t bad[] = {0x82, 0x01, 'x'};

    CHECK_EQ(feed(bad, sizeof bad, 0, &g), 1002);
    CHECK(!strcmp(g.why, "unmasked client frame"));
    CHECK_EQ(relay_wsguard_feed(&g, (const uint8_t *)"\x82\x80\0\0\0\0", 6), 1002);
}

static void test_close_and_text(void)
{
    uint16_t code;

    CHECK(relay_wsguard_close_ok(NULL, 0, &code));
    CHECK(relay_wsguard_close_ok((const uint8_t *)"\x03\xe8", 2, &code));
    CHECK(relay_wsguard_close_ok((const uint8_t *)"\x0f\x9f" "ok", 4, &code)); /* 3999 */
    CHECK(!relay_wsguard_close_ok((const uint8_t *)"\x03", 1, &code) && code == 1002);
    CHECK(!relay_wsguard_close_ok((const uint8_t *)"\x03\xe7", 2, &code) && code == 1002);
    CHECK(!relay_wsguard_close_ok((const uint8_t *)"\x03\xed", 2, &code) && code == 1002);
    CHECK(!relay_wsguard_close_ok((const uint8_t *)"\x13\x88", 2, &code) && code == 1002);
    CHECK(!relay_wsguard_close_ok((const uint8_t *)"\x03\xe8\xff", 3, &code) && code == 1007);

    CHECK(relay_wsguard_text_ok((const uint8_t *)"h\xc3\xa9", 3, 1));
    CHECK(!relay_wsguard_text_ok((const uint8_t *)"h\xc3", 2, 1));
    CHECK(relay_wsguard_text_ok((const uint8_t *)"h\xc3", 2, 0));        /* completed later */
    CHECK(relay_wsguard_text_ok((const uint8_t *)"h\xe2\x82", 3, 0));
    CHECK(!relay_wsguard_text_ok((const uint8_t *)"h\xc3\xa9\xa9", 4, 0));
    CHECK(!relay_wsguard_text_ok((const uint8_t *)"\xff" "abc", 4, 0));
    CHECK(!relay_wsguard_text_ok((const uint8_t *)"\xc0\xaf", 2, 0));   /* overlong */
}

/* Appends one client frame to masked (with key) and to plain (the same frame with a
 * zero key and its payload in the clear); returns the frame's length. */
static size_t frame(uint8_t *masked, uint8_t *plain, uint8_t b0, const uint8_t *payload,
                    size_t n, const uint8_t key[4])
{
    size_t h = 0;

    masked[h++] = b0;
    if (n < 126) {
        masked[h++] = (uint8_t)(0x80 | n);
    } else {
        masked[h++] = 0x80 | 126;
        masked[h++] = (uint8_t)(n >> 8);
        masked[h++] = (uint8_t)n;
    }
    memcpy(plain, masked, h);
    memcpy(masked + h, key, 4);
    memset(plain + h, 0, 4);
    h += 4;
    for (size_t i = 0; i < n; i++) {
        masked[h + i] = payload[i] ^ key[i & 3];
        plain[h + i] = payload[i];
    }
    return h + n;
}

/* Frames of every length class around the 8-byte steps and the 16-bit length, a
 * ping inside a fragmented message and a close, fed in pieces of every size from 1
 * to 23 bytes and whole: unmasked in place to exactly the plain stream. */
static void test_unmask(void)
{
    static const size_t lens[] = {0, 1, 3, 4, 7, 8, 9, 15, 17, 125, 126, 127, 256, 301, 1000};
    static uint8_t masked[8192], plain[8192], buf[8192], payload[1100]; /* lens[f] from f */
    uint8_t key[4];
    size_t n = 0;

    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    for (size_t f = 0; f < sizeof lens / sizeof lens[0]; f++) {
        for (int b = 0; b < 4; b++)
            key[b] = (uint8_t)(0x11 * (f + 1) + 0x35 * b + 1);
        n += frame(masked + n, plain + n, 0x82, payload + f, lens[f], key);
    }
    key[0] = 0xde, key[1] = 0xad, key[2] = 0xbe, key[3] = 0xef;
    n += frame(masked + n, plain + n, 0x02, payload, 5, key);       /* fragment */
    n += frame(masked + n, plain + n, 0x89, payload + 9, 3, key);   /* ping inside */
    n += frame(masked + n, plain + n, 0x80, payload + 2, 130, key); /* last fragment */
    n += frame(masked + n, plain + n, 0x88, (const uint8_t *)"\x03\xe8" "bye", 5, key);
    for (size_t piece = 1; piece <= 24; piece++) {
        relay_wsguard g;
        size_t step = piece == 24 ? n : piece;

        relay_wsguard_init(&g, MAX);
        memcpy(buf, upgrade, sizeof upgrade - 1);
        CHECK_EQ(relay_wsguard_feed_unmask(&g, buf, sizeof upgrade - 1), 0);
        CHECK(!memcmp(buf, upgrade, sizeof upgrade - 1)); /* HTTP bytes untouched */
        memcpy(buf, masked, n);
        for (size_t i = 0; i < n; i += step)
            CHECK_EQ(relay_wsguard_feed_unmask(&g, buf + i, i + step > n ? n - i : step), 0);
        CHECK(!memcmp(buf, plain, n));
    }

    /* from a violation on, nothing is rewritten */
    {
        relay_wsguard g;
        uint8_t d[32];
        size_t m = frame(d, plain, 0x82, payload, 6, key);

        memcpy(d + m, (const uint8_t[]){0x82, 0x02, 'a', 'b', 0x82, 0x81, 1, 2, 3, 4, 5}, 11);
        memcpy(buf, d, m + 11);
        relay_wsguard_init(&g, MAX);
        CHECK_EQ(relay_wsguard_feed_unmask(&g, (uint8_t *)memcpy(plain + 100, upgrade,
                                                                  sizeof upgrade - 1),
                                           sizeof upgrade - 1),
                 0);
        CHECK_EQ(relay_wsguard_feed_unmask(&g, buf, m + 11), 1002);
        CHECK(!memcmp(buf, plain, m));          /* the good frame before it: unmasked */
        CHECK(!memcmp(buf + m, d + m, 11));     /* the unmasked frame and after: as sent */
    }
}

int main(void)
{
    test_http();
    test_frames();
    test_sticky();
    test_close_and_text();
    test_unmask();
    return check_finish("test_relay_wsguard");
}
