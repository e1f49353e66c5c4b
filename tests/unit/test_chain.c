#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hexutil.h"
#include "sc_bytes.h"
#include "sc_chain.h"
#include "sc_channel.h"

/* Golden values computed independently with PyNaCl from PROTOCOL.md section 6: a chain
 * drawn from seed 03*32 (chain_id, CK, signing seed, in that order). */
#define G_SKD                                                                             \
    "5996242b00000000f9eee657012c6faa2bf2becc64f0a6db8f63c58393ea1ad7ddcfde20142d6f8257de" \
    "3e2e59b9ec9bbdb043a4fb695c49b72abb55dc5735a417a5fbd7c3662b79"
static const char *const g_mk[3] = {
    "ff7b84f01b82d2ddf481087ca7203e1ede36f7ac02a7bccd1243a00f85e9d1cc5bb82baf39c618e45c151e97"
    "7fcf0b42229a77b9b5e77df9",
    "51b57e4753fcbcc3ec22a63237c71468878d0c90cb75186b795216a633013cdb6162fc5c3fbe0ebe1c3b0545"
    "f6cd76cb6cfb2b091f9dbce4",
    "86c5059ff82927a17a50bb363545fa095a9ec8bebb4050755aab8de6b2d5cb896356655e429dce26d3800311"
    "eff423d9302746f5ada3905d",
};
#define G_CK3 "a8bb5109e9578d1cb4b20fb0a5b8157e34f3f4511d77dc287859b8395f9d88e4"
/* The SKD above sent as the first CHAN from I in the golden handshake (k_i2r). */
#define K_I2R "49be5393339df71d983d3747cebb167a824608e9d056057728057ca2c72ba798"
#define G_CHAN_SKD                                                                        \
    "01040000000000000001e8ae7d25ee8eadc7377076295ce30a84481f09ab476131531f9228e474253d71" \
    "81a3ff84ddfe4745511831ee287a4ce1940e9f7b1c10826315217c3a98b13431718f453a4ee6b1fd5b53" \
    "0f61678a1c30b0e3cfa76dd4f10e02"

static void new_out(sc_chain_out *c, uint8_t seed_byte)
{
    sc_rng r;
    uint8_t seed[32];
    memset(seed, seed_byte, sizeof seed);
    sc_rng_init_seeded(&r, seed);
    sc_chain_out_new(c, &r);
    sc_rng_wipe(&r);
}

static void test_golden(void)
{
    sc_chain_out o;
    uint8_t skd[SC_CHAIN_SKD_BYTES], mk[SC_CHAIN_MK_BYTES];
    uint32_t idx = 99;
    new_out(&o, 3);
    CHECK(o.chain_id == 0x5996242bu);
    CHECK_EQ(o.index, 0);
    sc_chain_out_skd(&o, skd);
    CHECK(hex_equal(skd, sizeof skd, G_SKD));
    /* the SKD as a channel message */
    sc_chan ch;
    uint8_t k[32], msg[128];
    size_t n;
    hex_decode(K_I2R, k, 32);
    sc_chan_init(&ch, k, k);
    CHECK_EQ(sc_chan_seal(&ch, 0x01, skd, sizeof skd, msg, sizeof msg, &n), 0);
    CHECK(hex_equal(msg, n, G_CHAN_SKD));
    sc_chan_wipe(&ch);

    sc_chain_in in;
    CHECK_EQ(sc_chain_in_init(&in, skd), 0);
    for (uint32_t i = 0; i < 3; i++) {
        uint8_t mk2[SC_CHAIN_MK_BYTES];
        CHECK_EQ(sc_chain_out_step(&o, mk, &idx), 0);
        CHECK_EQ(idx, i);
        CHECK(hex_equal(mk, sizeof mk, g_mk[i]));
        CHECK_EQ(sc_chain_in_key(&in, i, mk2), 0);
        CHECK_MEM(mk, mk2, sizeof mk);
        CHECK_EQ(sc_chain_in_commit(&in, i), 0);
    }
    CHECK(hex_equal(o.ck, 32, G_CK3));
    CHECK(hex_equal(in.ck, 32, G_CK3));
    CHECK_EQ(in.next, 3);
    CHECK_EQ(in.n_skipped, 0);
    /* an SKD taken later starts there */
    sc_chain_out_skd(&o, skd);
    CHECK_EQ(sc_load32(skd + 4), 3);
    sc_chain_out_wipe(&o);
    CHECK(all_zero(&o, sizeof o));
    sc_chain_in_free(&in);
    CHECK(all_zero(&in, sizeof in));
}

static void test_reorder_and_replay(void)
{
    sc_chain_out o;
    sc_chain_in in;
    uint8_t skd[SC_CHAIN_SKD_BYTES], mk[10][SC_CHAIN_MK_BYTES], got[SC_CHAIN_MK_BYTES];
    uint32_t idx;
    new_out(&o, 4);
    sc_chain_out_skd(&o, skd);
    CHECK_EQ(sc_chain_in_init(&in, skd), 0);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(sc_chain_out_step(&o, mk[i], &idx), 0);
    static const uint32_t order[] = {5, 2, 3, 0, 9, 1, 4, 8, 6, 7};
    for (size_t k = 0; k < 10; k++) {
        uint32_t i = order[k];
        CHECK_EQ(sc_chain_in_key(&in, i, got), 0);
        CHECK_MEM(got, mk[i], SC_CHAIN_MK_BYTES);
        CHECK_EQ(sc_chain_in_commit(&in, i), 0);
        /* replays of everything seen so far are refused, by key and by commit */
        for (size_t j = 0; j <= k; j++) {
            CHECK_EQ(sc_chain_in_key(&in, order[j], got), SC_CHAIN_E_REPLAY);
            CHECK_EQ(sc_chain_in_commit(&in, order[j]), SC_CHAIN_E_REPLAY);
        }
    }
    CHECK_EQ(in.n_skipped, 0);
    CHECK(in.skipped == NULL);
    CHECK_EQ(in.next, 10);
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

static void test_bounds(void)
{
    sc_chain_out o;
    sc_chain_in in, snap;
    uint8_t skd[SC_CHAIN_SKD_BYTES], mk[SC_CHAIN_MK_BYTES], got[SC_CHAIN_MK_BYTES];
    uint32_t idx;
    new_out(&o, 5);
    sc_chain_out_skd(&o, skd);
    CHECK_EQ(sc_chain_in_init(&in, skd), 0);
    /* more than SC_CHAIN_MAX_SKIP ahead is refused, exactly that far is accepted */
    CHECK_EQ(sc_chain_in_key(&in, SC_CHAIN_MAX_SKIP + 1, got), SC_CHAIN_E_TOO_FAR);
    CHECK_EQ(sc_chain_in_commit(&in, SC_CHAIN_MAX_SKIP + 1), SC_CHAIN_E_TOO_FAR);
    CHECK_EQ(sc_chain_in_key(&in, UINT32_MAX, got), SC_CHAIN_E_TOO_FAR);
    snap = in;
    for (uint32_t i = 0; i <= SC_CHAIN_MAX_SKIP; i++)
        CHECK_EQ(sc_chain_out_step(&o, mk, &idx), 0);
    CHECK_EQ(sc_chain_in_key(&in, SC_CHAIN_MAX_SKIP, got), 0);
    CHECK_MEM(got, mk, sizeof mk);
    CHECK_MEM(&snap, &in, sizeof in); /* key lookups change nothing */
    CHECK_EQ(sc_chain_in_commit(&in, SC_CHAIN_MAX_SKIP), 0);
    CHECK_EQ(in.n_skipped, SC_CHAIN_MAX_SKIP);
    CHECK_EQ(in.next, SC_CHAIN_MAX_SKIP + 1);
    /* skipped keys are kept in order, without the one used */
    for (size_t k = 0; k < in.n_skipped; k++)
        CHECK_EQ(in.skipped[k].index, k);
    /* fill past SC_CHAIN_MAX_STORED: 1000 stored + 999 + 999 = 2998, oldest 998 evicted */
    CHECK_EQ(sc_chain_in_commit(&in, 2000), 0);
    CHECK_EQ(sc_chain_in_commit(&in, 3000), 0);
    CHECK_EQ(in.n_skipped, SC_CHAIN_MAX_STORED);
    CHECK_EQ(in.skipped[0].index, 998);
    CHECK_EQ(in.evicted_below, 998);
    CHECK_EQ(sc_chain_in_key(&in, 0, got), SC_CHAIN_E_TOO_OLD);
    CHECK_EQ(sc_chain_in_key(&in, 997, got), SC_CHAIN_E_TOO_OLD);
    CHECK_EQ(sc_chain_in_key(&in, 998, got), 0);
    CHECK_EQ(sc_chain_in_key(&in, 1000, got), SC_CHAIN_E_REPLAY);
    CHECK_EQ(sc_chain_in_key(&in, 2000, got), SC_CHAIN_E_REPLAY);
    CHECK_EQ(sc_chain_in_key(&in, 3000, got), SC_CHAIN_E_REPLAY);
    CHECK_EQ(sc_chain_in_key(&in, 2999, got), 0);
    CHECK_EQ(sc_chain_in_commit(&in, 998), 0);
    CHECK_EQ(in.n_skipped, SC_CHAIN_MAX_STORED - 1);
    CHECK_EQ(sc_chain_in_key(&in, 998, got), SC_CHAIN_E_REPLAY);
    /* the stored key for a late index matches the sender's */
    sc_chain_out o2;
    new_out(&o2, 5);
    for (uint32_t i = 0; i <= 1500; i++)
        CHECK_EQ(sc_chain_out_step(&o2, mk, &idx), 0);
    CHECK_EQ(sc_chain_in_key(&in, 1500, got), 0);
    CHECK_MEM(got, mk, sizeof mk);
    sc_chain_out_wipe(&o2);
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

static void test_before_start(void)
{
    sc_chain_out o;
    sc_chain_in in;
    uint8_t skd[SC_CHAIN_SKD_BYTES], mk[SC_CHAIN_MK_BYTES], got[SC_CHAIN_MK_BYTES];
    uint32_t idx;
    new_out(&o, 6);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(sc_chain_out_step(&o, mk, &idx), 0);
    sc_chain_out_skd(&o, skd); /* a newcomer gets the chain at index 10 */
    CHECK_EQ(sc_chain_in_init(&in, skd), 0);
    CHECK_EQ(in.start, 10);
    for (uint32_t i = 0; i < 10; i++) {
        CHECK_EQ(sc_chain_in_key(&in, i, got), SC_CHAIN_E_BEFORE_START);
        CHECK_EQ(sc_chain_in_commit(&in, i), SC_CHAIN_E_BEFORE_START);
    }
    CHECK_EQ(sc_chain_out_step(&o, mk, &idx), 0);
    CHECK_EQ(idx, 10);
    CHECK_EQ(sc_chain_in_key(&in, 10, got), 0);
    CHECK_MEM(got, mk, sizeof mk);
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

static void test_skd_validation(void)
{
    sc_chain_out o;
    sc_chain_in in;
    uint8_t skd[SC_CHAIN_SKD_BYTES];
    new_out(&o, 7);
    sc_chain_out_skd(&o, skd);
    memset(&in, 0x5a, sizeof in);
    sc_chain_in before = in;
    /* zero chain id */
    uint8_t bad[SC_CHAIN_SKD_BYTES];
    memcpy(bad, skd, sizeof bad);
    memset(bad, 0, 4);
    CHECK_EQ(sc_chain_in_init(&in, bad), SC_CHAIN_E_MALFORMED);
    /* signing keys that are not usable points: zero, identity, small order, non-canonical */
    static const char *const bad_pks[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", /* order 8 */
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p */
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* order 2 */
    };
    for (size_t k = 0; k < sizeof bad_pks / sizeof bad_pks[0]; k++) {
        memcpy(bad, skd, sizeof bad);
        hex_decode(bad_pks[k], bad + 40, 32);
        CHECK_EQ(sc_chain_in_init(&in, bad), SC_CHAIN_E_MALFORMED);
    }
    CHECK_MEM(&in, &before, sizeof in); /* untouched on failure */
    /* the SKD read from an exact-size heap block */
    uint8_t *p = exact_copy(skd, sizeof skd);
    CHECK_EQ(sc_chain_in_init(&in, p), 0);
    free(p);
    CHECK_EQ(in.chain_id, o.chain_id);
    CHECK_MEM(in.sign_pk, o.sign_pk, 32);
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

static void test_exhausted(void)
{
    sc_chain_out o;
    uint8_t mk[SC_CHAIN_MK_BYTES];
    uint32_t idx;
    new_out(&o, 8);
    o.index = UINT32_MAX - 1;
    CHECK_EQ(sc_chain_out_step(&o, mk, &idx), 0);
    CHECK_EQ(idx, UINT32_MAX - 1);
    uint8_t ck[32];
    memcpy(ck, o.ck, 32);
    CHECK_EQ(sc_chain_out_step(&o, mk, &idx), SC_CHAIN_E_EXHAUSTED);
    CHECK_MEM(ck, o.ck, 32);
    CHECK_EQ(o.index, UINT32_MAX);
    sc_chain_out_wipe(&o);
    /* chains drawn from the system rng are distinct and have nonzero ids */
    sc_rng r;
    sc_rng_init(&r);
    sc_chain_out a, b;
    sc_chain_out_new(&a, &r);
    sc_chain_out_new(&b, &r);
    CHECK(a.chain_id != 0 && b.chain_id != 0);
    CHECK(memcmp(a.ck, b.ck, 32) != 0);
    CHECK(memcmp(a.sign_pk, b.sign_pk, 32) != 0);
    sc_chain_out_wipe(&a);
    sc_chain_out_wipe(&b);
    for (int e = SC_CHAIN_E_EXHAUSTED; e <= SC_CHAIN_E_BEFORE_START; e++)
        CHECK(strcmp(sc_chain_strerror(e), sc_chain_strerror(-99)) != 0);
    CHECK_EQ(sc_chain_skdbytes(), 72);
    CHECK_EQ(sc_chain_mk_bytes(), 56);
    CHECK_EQ(sc_chain_key_bytes(), 32);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    test_golden();
    test_reorder_and_replay();
    test_bounds();
    test_before_start();
    test_skd_validation();
    test_exhausted();
    return check_finish("test_chain");
}
