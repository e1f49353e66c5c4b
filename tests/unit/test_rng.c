#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "hexutil.h"
#include "sc_rng.h"

static const uint8_t seed0_32[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                     11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                     22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* Golden values computed independently (PyNaCl: blake2b keyed with the seed over u64(i),
 * then randombytes_buf_deterministic). */
static void test_seeded_golden(void)
{
    sc_rng r;
    uint8_t b32[32], b8[8], b4[4];
    sc_rng_init_seeded(&r, seed0_32);
    sc_rng_bytes(&r, b32, sizeof b32);
    sc_rng_bytes(&r, b8, sizeof b8);
    sc_rng_bytes(&r, b4, sizeof b4);
    CHECK(hex_equal(b32, 32, "59765a7867ce7f22ac43e7438647dbedfdc7d4448d57d71fdc80b5e3237a77c5"));
    CHECK(hex_equal(b8, 8, "01d6f1d9baff0183"));
    CHECK(hex_equal(b4, 4, "a30cd245"));
    CHECK_EQ(r.counter, 3);

    /* draw 1 as a u64, draw 2 as a nonzero u32: the same bytes, read big-endian */
    sc_rng_init_seeded(&r, seed0_32);
    sc_rng_bytes(&r, b32, sizeof b32);
    CHECK(sc_rng_u64(&r) == 0x01d6f1d9baff0183ull);
    CHECK(sc_rng_nonzero_u32(&r) == 0xa30cd245u);
    sc_rng_wipe(&r);
    CHECK(all_zero(&r, sizeof r));
}

static void test_seeded_repeatable(void)
{
    sc_rng a, b;
    uint8_t seed[32], x[100], y[100];
    memset(seed, 0x5a, sizeof seed);
    sc_rng_init_seeded(&a, seed);
    sc_rng_init_seeded(&b, seed);
    for (int i = 0; i < 10; i++) {
        sc_rng_bytes(&a, x, sizeof x);
        sc_rng_bytes(&b, y, sizeof y);
        CHECK_MEM(x, y, sizeof x);
    }
    /* a different seed gives a different stream; draws differ from each other */
    seed[31] ^= 1;
    sc_rng_init_seeded(&b, seed);
    sc_rng_bytes(&b, y, sizeof y);
    CHECK(memcmp(x, y, sizeof x) != 0);
    sc_rng_bytes(&b, x, sizeof x);
    CHECK(memcmp(x, y, sizeof x) != 0);
    /* the draw length does not change the stream (prefix property of one draw) */
    sc_rng_init_seeded(&a, seed0_32);
    sc_rng_bytes(&a, x, 5);
    CHECK(hex_equal(x, 5, "59765a7867"));
    CHECK_EQ(sc_rng_seedbytes(), SC_RNG_SEED_BYTES);
}

static void test_system(void)
{
    sc_rng r;
    uint8_t x[32], y[32];
    sc_rng_init(&r);
    CHECK_EQ(r.deterministic, 0);
    sc_rng_bytes(&r, x, sizeof x);
    sc_rng_bytes(&r, y, sizeof y);
    CHECK(memcmp(x, y, sizeof x) != 0);
    CHECK(!all_zero(x, sizeof x));
    for (int i = 0; i < 1000; i++)
        CHECK(sc_rng_nonzero_u32(&r) != 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    test_seeded_golden();
    test_seeded_repeatable();
    test_system();
    return check_finish("test_rng");
}
