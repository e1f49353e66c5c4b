/* test_sc2_loghash: the log hash chain and authenticated_data (shared/v2/sc2_loghash.h):
 * the chain equals the definition computed by hand, gaps and repeats are refused, two
 * members' views compare equal or as a fork, the window, export/import, every error. */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "sc2_envelope.h"
#include "sc2_loghash.h"

static const uint8_t room[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* The LOG body of entry seq with a message byte pattern. */
static size_t body_of(uint64_t seq, uint8_t fill, uint8_t *out, size_t cap)
{
    uint8_t env[128], msg[20];
    memset(msg, fill, sizeof msg);
    size_t n = sc2_env_encode_log(env, sizeof env, seq, 1000 + seq, 0, NULL, msg, sizeof msg);
    if (!n || n - 6 > cap)
        return 0;
    memcpy(out, env + 6, n - 6);
    return n - 6;
}

static void test_definition(void)
{
    uint8_t l0[32], want[32], got[32], b[64];
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)"saltchat/v2 log", 15);
    crypto_generichash_update(&h, room, 16);
    crypto_generichash_final(&h, want, 32);
    sc2_lh_genesis(room, l0);
    CHECK_MEM(l0, want, 32);

    size_t n = body_of(1, 0xaa, b, sizeof b);
    CHECK(n >= SC2_LH_MIN_ENTRY);
    uint8_t cat[32 + 8 + 64];
    memcpy(cat, l0, 32);
    memset(cat + 32, 0, 7);
    cat[39] = 1;
    memcpy(cat + 40, b, n);
    crypto_generichash(want, 32, cat, 40 + n, NULL, 0);
    sc2_lh_step(l0, 1, b, n, got);
    CHECK_MEM(got, want, 32);

    sc2_loghash st;
    sc2_lh_init_genesis(&st, room);
    CHECK_EQ(sc2_lh_head(&st, got), 0);
    CHECK_MEM(got, l0, 32);
    CHECK_EQ(sc2_lh_append(&st, b, n), 0);
    CHECK_EQ(sc2_lh_head(&st, got), 1);
    CHECK_MEM(got, want, 32);
    CHECK_EQ(sc2_lh_head(&st, NULL), 1);
    /* step may write over its input */
    memcpy(got, l0, 32);
    sc2_lh_step(got, 1, b, n, got);
    CHECK_MEM(got, want, 32);
}

static void test_append_errors(void)
{
    sc2_loghash st, copy;
    uint8_t b[64];
    sc2_lh_init_genesis(&st, room);
    size_t n = body_of(2, 1, b, sizeof b);
    CHECK_EQ(sc2_lh_append(&st, b, n), SC2_LH_E_GAP); /* skipped 1 */
    n = body_of(1, 1, b, sizeof b);
    CHECK_EQ(sc2_lh_append(&st, b, SC2_LH_MIN_ENTRY - 1), SC2_LH_E_ENTRY);
    CHECK_EQ(sc2_lh_append(&st, NULL, 40), SC2_LH_E_ENTRY);
    memcpy(&copy, &st, sizeof st);
    CHECK_EQ(sc2_lh_append(&st, b, n), 0);
    CHECK(memcmp(&copy, &st, sizeof st) != 0);
    memcpy(&copy, &st, sizeof st);
    CHECK_EQ(sc2_lh_append(&st, b, n), SC2_LH_E_GAP); /* a repeat */
    CHECK(memcmp(&copy, &st, sizeof st) == 0);        /* unchanged on error */
    n = body_of(0, 1, b, sizeof b);
    CHECK_EQ(n, 0); /* a LOG with seq 0 cannot even be encoded */
}

static void test_fork_and_window(void)
{
    sc2_loghash a, bm;
    uint8_t b[64], la[32], lb[32], aad[SC2_LH_AAD_BYTES];
    sc2_lh_init_genesis(&a, room);
    sc2_lh_init_genesis(&bm, room);
    for (uint64_t s = 1; s <= 10; s++) {
        size_t n = body_of(s, (uint8_t)s, b, sizeof b);
        CHECK_EQ(sc2_lh_append(&a, b, n), 0);
        /* entry 5: the relay showed bob a different time_ms */
        if (s == 5)
            b[15] ^= 1;
        CHECK_EQ(sc2_lh_append(&bm, b, n), 0);
    }
    for (uint64_t s = 0; s <= 10; s++) {
        CHECK_EQ(sc2_lh_lookup(&a, s, la), 0);
        CHECK_EQ(sc2_lh_lookup(&bm, s, lb), 0);
        CHECK_EQ(memcmp(la, lb, 32) == 0, s < 5);
    }
    CHECK_EQ(sc2_lh_lookup(&a, 11, la), SC2_LH_E_AHEAD);
    /* bob's message at seq 10 refers to seq 4 (same) and 7 (forked) */
    CHECK_EQ(sc2_lh_lookup(&bm, 4, lb), 0);
    sc2_lh_aad_encode(4, lb, aad);
    uint64_t rs;
    uint8_t rl[32];
    CHECK_EQ(sc2_lh_aad_decode(aad, sizeof aad, &rs, rl), 0);
    CHECK_EQ(rs, 4);
    CHECK_EQ(sc2_lh_check(&a, rs, rl), 0);
    CHECK_EQ(sc2_lh_lookup(&bm, 7, lb), 0);
    CHECK_EQ(sc2_lh_check(&a, 7, lb), SC2_LH_E_FORK);
    CHECK_EQ(sc2_lh_check(&a, 10, lb), SC2_LH_E_AHEAD); /* the message's own seq */
    CHECK_EQ(sc2_lh_check(&a, 11, lb), SC2_LH_E_AHEAD);
    /* our own aad is our head */
    sc2_lh_aad(&a, aad);
    CHECK_EQ(aad[0], 1);
    CHECK_EQ(sc2_lh_aad_decode(aad, sizeof aad, &rs, rl), 0);
    CHECK_EQ(rs, 10);
    CHECK_EQ(sc2_lh_head(&a, la), 10);
    CHECK_MEM(rl, la, 32);

    /* aad refusals */
    CHECK_EQ(sc2_lh_aad_decode(aad, sizeof aad - 1, &rs, rl), SC2_LH_E_AAD);
    CHECK_EQ(sc2_lh_aad_decode(aad, 0, &rs, rl), SC2_LH_E_AAD);
    CHECK_EQ(sc2_lh_aad_decode(NULL, sizeof aad, &rs, rl), SC2_LH_E_AAD);
    aad[0] = 2;
    CHECK_EQ(sc2_lh_aad_decode(aad, sizeof aad, &rs, rl), SC2_LH_E_AAD);
    uint8_t longer[SC2_LH_AAD_BYTES + 1] = {1};
    CHECK_EQ(sc2_lh_aad_decode(longer, sizeof longer, &rs, rl), SC2_LH_E_AAD);

    /* the window: after WINDOW + 20 entries the oldest are no longer checkable */
    for (uint64_t s = 11; s <= SC2_LH_WINDOW + 30; s++) {
        size_t n = body_of(s, (uint8_t)s, b, sizeof b);
        CHECK_EQ(sc2_lh_append(&a, b, n), 0);
    }
    uint64_t head = SC2_LH_WINDOW + 30, first = head - SC2_LH_WINDOW + 1;
    CHECK_EQ(a.first_seq, first);
    CHECK_EQ(sc2_lh_lookup(&a, first - 1, la), SC2_LH_E_UNCHECKED);
    CHECK_EQ(sc2_lh_check(&a, 4, la), SC2_LH_E_UNCHECKED);
    CHECK_EQ(sc2_lh_lookup(&a, first, la), 0);
    CHECK_EQ(sc2_lh_check(&a, first, la), 0);
    la[0] ^= 1;
    CHECK_EQ(sc2_lh_check(&a, first, la), SC2_LH_E_FORK);
}

static void test_anchor(void)
{
    /* the joiner starts from the relay's (seq, L) and follows the member exactly */
    sc2_loghash m, j;
    uint8_t b[64], l[32], lj[32];
    sc2_lh_init_genesis(&m, room);
    for (uint64_t s = 1; s <= 5; s++) {
        size_t n = body_of(s, 7, b, sizeof b);
        CHECK_EQ(sc2_lh_append(&m, b, n), 0);
    }
    sc2_lh_head(&m, l);
    sc2_lh_init_anchor(&j, 5, l);
    CHECK_EQ(sc2_lh_lookup(&j, 4, lj), SC2_LH_E_UNCHECKED);
    CHECK_EQ(sc2_lh_lookup(&j, 5, lj), 0);
    CHECK_MEM(lj, l, 32);
    for (uint64_t s = 6; s <= 9; s++) {
        size_t n = body_of(s, 9, b, sizeof b);
        CHECK_EQ(sc2_lh_append(&m, b, n), 0);
        CHECK_EQ(sc2_lh_append(&j, b, n), 0);
    }
    CHECK_EQ(sc2_lh_head(&m, l), 9);
    CHECK_EQ(sc2_lh_head(&j, lj), 9);
    CHECK_MEM(l, lj, 32);
    CHECK_EQ(sc2_lh_check(&j, 3, l), SC2_LH_E_UNCHECKED); /* before the anchor */
    CHECK_EQ(sc2_lh_lookup(&m, 7, l), 0);
    CHECK_EQ(sc2_lh_check(&j, 7, l), 0);
    /* a lying relay (wrong anchor) makes every later L differ: the members see a fork */
    uint8_t bad[32];
    CHECK_EQ(sc2_lh_lookup(&m, 5, bad), 0);
    bad[31] ^= 0x80;
    sc2_lh_init_anchor(&j, 5, bad);
    for (uint64_t s = 6; s <= 9; s++) {
        size_t n = body_of(s, 9, b, sizeof b);
        CHECK_EQ(sc2_lh_append(&j, b, n), 0);
    }
    CHECK_EQ(sc2_lh_lookup(&j, 8, lj), 0);
    CHECK_EQ(sc2_lh_check(&m, 8, lj), SC2_LH_E_FORK);
}

static void test_export(void)
{
    sc2_loghash a, b2;
    uint8_t body[64], out[SC2_LH_EXPORT_MAX], l1[32], l2[32];
    sc2_lh_init_genesis(&a, room);
    int n = sc2_lh_export(&a, out, sizeof out);
    CHECK_EQ(n, 17 + 32);
    CHECK_EQ(sc2_lh_import(&b2, out, (size_t)n), 0);
    CHECK_EQ(sc2_lh_head(&b2, l2), 0);
    sc2_lh_head(&a, l1);
    CHECK_MEM(l1, l2, 32);
    for (uint64_t s = 1; s <= SC2_LH_WINDOW + 3; s++) {
        size_t m = body_of(s, 3, body, sizeof body);
        CHECK_EQ(sc2_lh_append(&a, body, m), 0);
    }
    n = sc2_lh_export(&a, out, sizeof out);
    CHECK_EQ(n, (int)SC2_LH_EXPORT_MAX);
    CHECK_EQ(sc2_lh_export(&a, out, sizeof out - 1), SC2_LH_E_SPACE);
    memset(&b2, 0x5a, sizeof b2);
    CHECK_EQ(sc2_lh_import(&b2, out, (size_t)n), 0);
    CHECK_EQ(b2.head_seq, a.head_seq);
    CHECK_EQ(b2.first_seq, a.first_seq);
    for (uint64_t s = a.first_seq; s <= a.head_seq; s++) {
        CHECK_EQ(sc2_lh_lookup(&a, s, l1), 0);
        CHECK_EQ(sc2_lh_lookup(&b2, s, l2), 0);
        CHECK_MEM(l1, l2, 32);
    }
    /* the restored chain goes on identically */
    size_t m = body_of(a.head_seq + 1, 4, body, sizeof body);
    CHECK_EQ(sc2_lh_append(&a, body, m), 0);
    CHECK_EQ(sc2_lh_append(&b2, body, m), 0);
    sc2_lh_head(&a, l1);
    sc2_lh_head(&b2, l2);
    CHECK_MEM(l1, l2, 32);

    /* refusals; the state is untouched */
    sc2_loghash keep;
    memcpy(&keep, &b2, sizeof keep);
    CHECK_EQ(sc2_lh_import(&b2, out, (size_t)n - 1), SC2_LH_E_DECODE);
    CHECK_EQ(sc2_lh_import(&b2, out, (size_t)n + 0 - 32), SC2_LH_E_DECODE);
    CHECK_EQ(sc2_lh_import(&b2, out, 16), SC2_LH_E_DECODE);
    CHECK_EQ(sc2_lh_import(&b2, NULL, 49), SC2_LH_E_DECODE);
    out[0] = 2;
    CHECK_EQ(sc2_lh_import(&b2, out, (size_t)n), SC2_LH_E_DECODE);
    out[0] = 1;
    uint8_t swapped[17 + 32];
    memset(swapped, 0, sizeof swapped);
    swapped[0] = 1;
    swapped[8] = 5;  /* first 5 */
    swapped[16] = 4; /* head 4 < first */
    CHECK_EQ(sc2_lh_import(&b2, swapped, sizeof swapped), SC2_LH_E_DECODE);
    swapped[8] = 0;
    swapped[16] = 0;
    swapped[15] = 1; /* head 256 - first 0 + 1 = 257 > WINDOW values announced */
    CHECK_EQ(sc2_lh_import(&b2, swapped, sizeof swapped), SC2_LH_E_DECODE);
    CHECK(memcmp(&keep, &b2, sizeof keep) == 0);
}

static void test_strerror(void)
{
    for (int a = SC2_LH_E_SPACE; a <= SC2_LH_E_GAP; a++)
        for (int b = a + 1; b <= SC2_LH_E_GAP; b++)
            CHECK(strcmp(sc2_lh_strerror(a), sc2_lh_strerror(b)) != 0);
    CHECK(strcmp(sc2_lh_strerror(0), "ok") == 0);
    CHECK(strcmp(sc2_lh_strerror(-42), "unknown log hash error") == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_definition();
    test_append_errors();
    test_fork_and_window();
    test_anchor();
    test_export();
    test_strerror();
    return check_finish("test_sc2_loghash");
}
