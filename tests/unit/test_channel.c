#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hexutil.h"
#include "sc_bytes.h"
#include "sc_channel.h"

/* Channel keys of the golden handshake (test_handshake.c) and the first CHAN from I,
 * computed independently with PyNaCl from PROTOCOL.md section 5. */
#define K_I2R "49be5393339df71d983d3747cebb167a824608e9d056057728057ca2c72ba798"
#define K_R2I "6229770512dfbad0b06a1b20a95c60680929ed4010c094e4b1bb02675047276e"
#define G_CHAN1 "0104000000000000000141d4321fe00c894d338c8b6bda98db0a482efae3000e"

static uint8_t k_i2r[32], k_r2i[32];

static void pair(sc_chan *i, sc_chan *r)
{
    sc_chan_init(i, k_i2r, k_r2i);
    sc_chan_init(r, k_r2i, k_i2r);
}

static int open_copy(sc_chan *c, const uint8_t *msg, size_t len, uint8_t *ctype, uint8_t *body,
                     size_t cap, size_t *blen, uint64_t *skipped)
{
    uint8_t *p = exact_copy(msg, len);
    int rc = sc_chan_open(c, p, len, ctype, body, cap, blen, skipped);
    free(p);
    return rc;
}

static void test_golden(void)
{
    sc_chan i, r;
    uint8_t m[64], body[64], ctype = 0;
    size_t n, bl;
    uint64_t sk = 99;
    pair(&i, &r);
    CHECK_EQ(sc_chan_seal(&i, 0x01, (const uint8_t *)"hello", 5, m, sizeof m, &n), 0);
    CHECK_EQ(n, SC_CHAN_OVERHEAD + 5);
    CHECK(hex_equal(m, n, G_CHAN1));
    CHECK_EQ(i.send_ctr, 1);
    CHECK_EQ(open_copy(&r, m, n, &ctype, body, sizeof body, &bl, &sk), 0);
    CHECK_EQ(ctype, 0x01);
    CHECK_EQ(bl, 5);
    CHECK_MEM(body, "hello", 5);
    CHECK_EQ(sk, 0);
    CHECK_EQ(r.recv_ctr, 1);
    /* and back */
    CHECK_EQ(sc_chan_seal(&r, 0x07, NULL, 0, m, sizeof m, &n), 0);
    CHECK_EQ(n, SC_CHAN_OVERHEAD);
    CHECK_EQ(sc_load64(m + 2), 1);
    CHECK_EQ(open_copy(&i, m, n, &ctype, body, sizeof body, &bl, &sk), 0);
    CHECK_EQ(ctype, 0x07);
    CHECK_EQ(bl, 0);
    sc_chan_wipe(&i);
    sc_chan_wipe(&r);
    CHECK(all_zero(&i, sizeof i));
}

static void test_order_and_replay(void)
{
    sc_chan i, r;
    uint8_t m[5][64], body[64], ctype;
    size_t n[5], bl;
    uint64_t sk;
    pair(&i, &r);
    for (int k = 0; k < 5; k++) {
        uint8_t b = (uint8_t)k;
        CHECK_EQ(sc_chan_seal(&i, 1, &b, 1, m[k], sizeof m[k], &n[k]), 0);
        CHECK_EQ(sc_load64(m[k] + 2), (uint64_t)k + 1);
    }
    CHECK_EQ(open_copy(&r, m[0], n[0], &ctype, body, sizeof body, &bl, &sk), 0);
    /* replay of the message just accepted */
    CHECK_EQ(open_copy(&r, m[0], n[0], &ctype, body, sizeof body, &bl, &sk), SC_CHAN_E_REPLAY);
    /* a gap: counter 4 after 1 is accepted and reports 2 lost */
    CHECK_EQ(open_copy(&r, m[3], n[3], &ctype, body, sizeof body, &bl, &sk), 0);
    CHECK_EQ(sk, 2);
    CHECK_EQ(body[0], 3);
    /* the late ones are replays now: the relay keeps order, so late means replayed */
    CHECK_EQ(open_copy(&r, m[1], n[1], &ctype, body, sizeof body, &bl, &sk), SC_CHAN_E_REPLAY);
    CHECK_EQ(open_copy(&r, m[2], n[2], &ctype, body, sizeof body, &bl, &sk), SC_CHAN_E_REPLAY);
    CHECK_EQ(open_copy(&r, m[4], n[4], &ctype, body, sizeof body, &bl, &sk), 0);
    CHECK_EQ(sk, 0);
    CHECK_EQ(r.recv_ctr, 5);
    /* a reflected message (I's own, sent back to I) does not open */
    sc_chan i2;
    sc_chan_init(&i2, k_i2r, k_r2i);
    CHECK_EQ(open_copy(&i2, m[0], n[0], &ctype, body, sizeof body, &bl, &sk), SC_CHAN_E_AUTH);
    CHECK_EQ(i2.recv_ctr, 0);
    sc_chan_wipe(&i);
    sc_chan_wipe(&i2);
    sc_chan_wipe(&r);
}

static void test_counter_zero(void)
{
    /* a box under N(0) with the channel key (what HS2/HS3 carry) is never a CHAN */
    sc_chan i, r;
    uint8_t m[64], pt[8] = {1, 'x'}, nonce[24] = {0}, body[64], ctype;
    size_t bl;
    uint64_t sk;
    pair(&i, &r);
    m[0] = 1;
    m[1] = 4;
    sc_store64(m + 2, 0);
    crypto_secretbox_easy(m + 10, pt, 2, nonce, k_i2r);
    CHECK_EQ(open_copy(&r, m, 28, &ctype, body, sizeof body, &bl, &sk), SC_CHAN_E_REPLAY);
    /* the same box with counter 0 but nonce N(0) is what a forged counter 0 would need */
    sc_store64(m + 2, 1);
    CHECK_EQ(open_copy(&r, m, 28, &ctype, body, sizeof body, &bl, &sk), SC_CHAN_E_AUTH);
    CHECK_EQ(r.recv_ctr, 0);
}

static void test_flips(void)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    sc_chan i, r;
    uint8_t m[64], x[64], body[64], ctype;
    size_t n, bl;
    uint64_t sk;
    pair(&i, &r);
    /* counter 2, so that flips making it 1 are still "new" and flips to 0 are replays */
    CHECK_EQ(sc_chan_seal(&i, 1, (const uint8_t *)"hello", 5, m, sizeof m, &n), 0);
    CHECK_EQ(sc_chan_seal(&i, 1, (const uint8_t *)"hello", 5, m, sizeof m, &n), 0);
    for (size_t p = 0; p < n; p++) {
        for (size_t k = 0; k < sizeof masks; k++) {
            sc_chan_init(&r, k_r2i, k_i2r);
            memcpy(x, m, n);
            x[p] ^= masks[k];
            int rc = open_copy(&r, x, n, &ctype, body, sizeof body, &bl, &sk);
            CHECK(rc < 0);
            CHECK_EQ(r.recv_ctr, 0);
            CHECK_EQ(bl, 0);
            if (p < 2)
                CHECK_EQ(rc, SC_CHAN_E_MALFORMED);
            else if (p < 10 && sc_load64(x + 2) == 0)
                CHECK_EQ(rc, SC_CHAN_E_REPLAY);
            else
                CHECK_EQ(rc, SC_CHAN_E_AUTH);
        }
    }
    sc_chan_init(&r, k_r2i, k_i2r);
    CHECK_EQ(open_copy(&r, m, n, &ctype, body, sizeof body, &bl, &sk), 0);
    CHECK_EQ(sk, 1);
    sc_chan_wipe(&i);
    sc_chan_wipe(&r);
}

static void test_lengths(void)
{
    sc_chan i, r;
    static uint8_t big[SC_CHAN_MAX_BODY + 1], m[SC_CHAN_MAX_BODY + 64],
        body[SC_CHAN_MAX_BODY + 1];
    uint8_t ctype;
    size_t n, bl;
    uint64_t sk;
    pair(&i, &r);
    memset(big, 0x42, sizeof big);
    CHECK_EQ(sc_chan_seal(&i, 1, big, SC_CHAN_MAX_BODY + 1, m, sizeof m, &n), SC_CHAN_E_MALFORMED);
    CHECK_EQ(i.send_ctr, 0);
    CHECK_EQ(sc_chan_seal(&i, 1, big, SC_CHAN_MAX_BODY, m, SC_CHAN_OVERHEAD + SC_CHAN_MAX_BODY - 1,
                          &n),
             SC_CHAN_E_SPACE);
    CHECK_EQ(i.send_ctr, 0);
    CHECK_EQ(sc_chan_seal(&i, 1, big, SC_CHAN_MAX_BODY, m, SC_CHAN_OVERHEAD + SC_CHAN_MAX_BODY,
                          &n),
             0);
    CHECK_EQ(n, SC_CHAN_OVERHEAD + SC_CHAN_MAX_BODY);
    /* every proper prefix fails without touching the channel */
    for (size_t p = 0; p < n; p++) {
        int rc = open_copy(&r, m, p, &ctype, body, sizeof body, &bl, &sk);
        CHECK_EQ(rc, p < SC_CHAN_OVERHEAD ? SC_CHAN_E_MALFORMED : SC_CHAN_E_AUTH);
    }
    CHECK_EQ(r.recv_ctr, 0);
    /* one byte more than the largest body is malformed, whatever it holds */
    m[n] = 0;
    CHECK_EQ(open_copy(&r, m, n + 1, &ctype, body, sizeof body, &bl, &sk), SC_CHAN_E_MALFORMED);
    /* too small a body buffer: E_SPACE and nothing changes; then it opens */
    CHECK_EQ(open_copy(&r, m, n, &ctype, body, SC_CHAN_MAX_BODY - 1, &bl, &sk), SC_CHAN_E_SPACE);
    CHECK_EQ(r.recv_ctr, 0);
    CHECK_EQ(open_copy(&r, m, n, &ctype, body, SC_CHAN_MAX_BODY, &bl, &sk), 0);
    CHECK_EQ(bl, SC_CHAN_MAX_BODY);
    CHECK_MEM(body, big, SC_CHAN_MAX_BODY);
    /* body inside out: sealing in place gives the same bytes */
    sc_chan a, b;
    pair(&a, &b);
    uint8_t inplace[64];
    memcpy(inplace, "hello", 5);
    CHECK_EQ(sc_chan_seal(&a, 1, inplace, 5, inplace, sizeof inplace, &n), 0);
    CHECK(hex_equal(inplace, n, G_CHAN1));
    sc_chan_wipe(&a);
    sc_chan_wipe(&b);
    sc_chan_wipe(&i);
    sc_chan_wipe(&r);
    CHECK_EQ(sc_chan_overhead(), 27);
    CHECK_EQ(sc_chan_max_body(), SC_CHAN_MAX_BODY);
    CHECK_EQ(sc_chan_header_bytes(), 10);
    for (int e = SC_CHAN_E_SPACE; e <= SC_CHAN_E_MALFORMED; e++)
        CHECK(strcmp(sc_chan_strerror(e), sc_chan_strerror(-99)) != 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    hex_decode(K_I2R, k_i2r, 32);
    hex_decode(K_R2I, k_r2i, 32);
    test_golden();
    test_order_and_replay();
    test_counter_zero();
    test_flips();
    test_lengths();
    return check_finish("test_channel");
}
