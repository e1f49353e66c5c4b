#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "hexutil.h"
#include "sc_identity.h"

static const uint8_t seed_a[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                   11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                   22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* Golden values computed independently with PyNaCl (crypto_sign_seed_keypair on the
 * first seeded draw; fingerprint per docs/PROTOCOL.md section 4). */
#define PK_A "f0e7c82666a9f92079c4e76c2dbd462480efabfdb4c73cb20a43436db0fdf066"
#define FP_A "351884454739390641231783554437"
#define PK_B "87b043ae1aa44faaf339097e8865e1d752d1e2734fb94381239c9cfa04bd5900"
#define FP_B "581850068472433181139507433442"
#define SAFETY_AB "35188 44547 39390 64123 17835 54437 58185 00684 72433 18113 95074 33442"

static void gen(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64])
{
    sc_rng r;
    sc_rng_init_seeded(&r, seed);
    CHECK_EQ(sc_identity_generate(&r, pk, sk), 0);
    sc_rng_wipe(&r);
}

static void test_golden(void)
{
    uint8_t seed_b[32], pka[32], ska[64], pkb[32], skb[64];
    memset(seed_b, 0xab, sizeof seed_b);
    gen(seed_a, pka, ska);
    gen(seed_b, pkb, skb);
    CHECK(hex_equal(pka, 32, PK_A));
    CHECK(hex_equal(pkb, 32, PK_B));
    CHECK_MEM(ska + 32, pka, 32);

    char fa[SC_IDENTITY_FINGERPRINT_CHARS + 1], fb[SC_IDENTITY_FINGERPRINT_CHARS + 1];
    sc_identity_fingerprint(pka, fa);
    sc_identity_fingerprint(pkb, fb);
    CHECK(strcmp(fa, FP_A) == 0);
    CHECK(strcmp(fb, FP_B) == 0);
    CHECK_EQ(strlen(fa), SC_IDENTITY_FINGERPRINT_CHARS);

    char s1[SC_IDENTITY_SAFETY_CHARS + 1], s2[SC_IDENTITY_SAFETY_CHARS + 1];
    sc_identity_safety_number(pka, pkb, s1);
    sc_identity_safety_number(pkb, pka, s2);
    CHECK(strcmp(s1, SAFETY_AB) == 0);
    CHECK(strcmp(s2, SAFETY_AB) == 0);
    CHECK_EQ(strlen(s1), SC_IDENTITY_SAFETY_CHARS);
    sc_identity_safety_from_fingerprints(fb, fa, s2);
    CHECK(strcmp(s2, SAFETY_AB) == 0);
    /* a pair of equal keys (one user in two tabs) is well defined */
    sc_identity_safety_number(pka, pka, s1);
    CHECK(strncmp(s1, "35188 44547 39390 64123 17835 54437 35188", 41) == 0);

    uint8_t zero[32] = {0};
    sc_identity_fingerprint(zero, fa);
    CHECK(strcmp(fa, "571866900087001026246332133423") == 0);
    sodium_memzero(ska, sizeof ska);
    sodium_memzero(skb, sizeof skb);
}

static void test_check(void)
{
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    gen(seed_a, pk, sk);
    CHECK_EQ(sc_identity_check(pk, sk), 0);
    /* any single changed bit in either half is caught */
    for (size_t i = 0; i < 64; i++) {
        sk[i] ^= 0x01;
        CHECK_EQ(sc_identity_check(pk, sk), -1);
        sk[i] ^= 0x01;
    }
    for (size_t i = 0; i < 32; i++) {
        pk[i] ^= 0x80;
        CHECK_EQ(sc_identity_check(pk, sk), -1);
        pk[i] ^= 0x80;
    }
    /* a key pair from the system rng is valid and different */
    sc_rng r;
    sc_rng_init(&r);
    CHECK_EQ(sc_identity_generate(&r, pk2, sk2), 0);
    CHECK_EQ(sc_identity_check(pk2, sk2), 0);
    CHECK(memcmp(pk, pk2, 32) != 0);
    CHECK_EQ(sc_identity_check(pk, sk2), -1);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(sk2, sizeof sk2);
}

static void test_sizes(void)
{
    CHECK_EQ(sc_identity_pkbytes(), 32);
    CHECK_EQ(sc_identity_skbytes(), 64);
    CHECK_EQ(sc_identity_fingerprint_chars(), 30);
    CHECK_EQ(sc_identity_safety_chars(), 71);
    CHECK_EQ(SC_IDENTITY_PK_BYTES, crypto_sign_PUBLICKEYBYTES);
    CHECK_EQ(SC_IDENTITY_SK_BYTES, crypto_sign_SECRETKEYBYTES);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    test_golden();
    test_check();
    test_sizes();
    return check_finish("test_identity");
}
