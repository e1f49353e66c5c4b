#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hexutil.h"
#include "sc_bytes.h"
#include "sc_handshake.h"
#include "sc_identity.h"
#include "sc_invite.h"

static const uint8_t seed0_32[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                     11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                     22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* Golden transcript computed independently with PyNaCl from PROTOCOL.md section 5:
 * room secret = first draw of seed 00..1f; I: seed 01*32, id 3, "alice";
 * R: seed 02*32, id 7, "bob"; each side draws its identity, then its ephemeral. */
#define G_IK_I "7f912fa7437a18cff39b1682eb5292a088d1ea1f5165973c2381c983423611b7"
#define G_IK_R "912820a0423d8729fbfd61c466a8ba0fbfa5999fa7d7784102fefae14ab9135d"
#define G_HS1                                                                             \
    "0101b1fc93b7a03f5e445cea85027ae1688883d3394fe69af112eff8a61ab50f94611b057aa1ab2852a9" \
    "7ef14b0dfe653fc535ad13fb4e369c83f8742f211b206741"
#define G_HS2                                                                             \
    "01021bfa19b8f7205cd3bf177a57d3feeb63fe068f39b5f13413827a7d53e820c3556335020f6f445592" \
    "6318b02287f6e1d23512866e53be18b8e6be04dd82000fcc6f853663b3ffc35907ef8b730f259d7616b1" \
    "ef569bfa36c52eab1ec1434c6c5211ab3e38beeb5b80b1b48811ed9cdfa15dc22a74ca40e0273dc52545" \
    "9d23c7dd49a49c0d06af0d58211b76c1d1cc892e2b0d3d2b"
#define G_HS3                                                                             \
    "0103cb1f44aec1613897c474005c47a2bc980055fa2cb33a466693e51ac3a1d2af3d94b8134f083368e2" \
    "66c2458823e7dfa46c2b5d4c7168f89cefdefa7c820b8410592d14c2396f665ce295ddaaf2a68eca3d76" \
    "8a58041b3c3c338f731077ac5e9b309ef292833b23c29a1773fdaa10d1884487da2f68a9"
#define G_TH "44038e9f419f3fc1d2eeb41bea32273be9a36f0d63e75a0bf365f6c666c1a940"
#define G_K_I2R "49be5393339df71d983d3747cebb167a824608e9d056057728057ca2c72ba798"
#define G_K_R2I "6229770512dfbad0b06a1b20a95c60680929ed4010c094e4b1bb02675047276e"

/* libsodium's list of small-order X25519 points (crypto_scalarmult/curve25519/ref10). */
static const uint8_t small_order[7][32] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

typedef struct party {
    sc_hs_ctx ctx;
    sc_rng rng;
    sc_hs hs;
    uint64_t id;
} party;

static uint8_t room_secret[32];

static void party_init(party *p, uint8_t seed_byte, uint64_t id, const char *name,
                       const uint8_t secret[32])
{
    uint8_t seed[32];
    memset(p, 0, sizeof *p);
    memset(seed, seed_byte, sizeof seed);
    sc_rng_init_seeded(&p->rng, seed);
    CHECK_EQ(sc_identity_generate(&p->rng, p->ctx.ik_pk, p->ctx.ik_sk), 0);
    sc_invite_derive(secret, p->ctx.room_id, p->ctx.room_key);
    p->ctx.name_len = (uint8_t)strlen(name);
    memcpy(p->ctx.name, name, p->ctx.name_len);
    p->id = id;
}

static void party_wipe(party *p)
{
    sc_hs_wipe(&p->hs);
    sodium_memzero(p, sizeof *p);
}

static int secrets_wiped(const sc_hs *hs)
{
    return all_zero(hs->ek_sk, 32) && all_zero(hs->k_send, 32) && all_zero(hs->k_recv, 32) &&
           all_zero(hs->th, 32);
}

/* Feeds an exact-size heap copy of msg (ASan catches over-reads). */
static int recv_copy(party *p, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                     size_t *out_len)
{
    uint8_t *c = exact_copy(msg, len);
    int rc = sc_hs_receive(&p->hs, &p->ctx, &p->rng, c, len, out, cap, out_len);
    free(c);
    return rc;
}

/* Runs I (seed 1, id 3, alice) and R (seed 2, id 7, bob) to the state just before
 * `stop` (1: R waits for HS1; 2: I waits for HS2; 3: R waits for HS3; 4: done), keeping
 * the messages. */
typedef struct transcript {
    party i, r;
    uint8_t hs1[SC_HS_MAX_BYTES], hs2[SC_HS_MAX_BYTES], hs3[SC_HS_MAX_BYTES];
    size_t n1, n2, n3;
} transcript;

static void run(transcript *t, int stop, const uint8_t *secret_i, const uint8_t *secret_r)
{
    size_t n;
    memset(t, 0, sizeof *t);
    party_init(&t->i, 1, 3, "alice", secret_i);
    party_init(&t->r, 2, 7, "bob", secret_r);
    CHECK_EQ(sc_hs_start(&t->i.hs, &t->i.ctx, &t->i.rng, 3, 7, t->hs1, sizeof t->hs1, &t->n1),
             0);
    CHECK_EQ(sc_hs_start(&t->r.hs, &t->r.ctx, &t->r.rng, 7, 3, t->hs2, sizeof t->hs2, &n), 0);
    CHECK_EQ(n, 0);
    if (stop <= 1)
        return;
    CHECK_EQ(sc_hs_receive(&t->r.hs, &t->r.ctx, &t->r.rng, t->hs1, t->n1, t->hs2,
                           sizeof t->hs2, &t->n2),
             0);
    if (stop <= 2)
        return;
    CHECK_EQ(sc_hs_receive(&t->i.hs, &t->i.ctx, &t->i.rng, t->hs2, t->n2, t->hs3,
                           sizeof t->hs3, &t->n3),
             1);
    if (stop <= 3)
        return;
    CHECK_EQ(sc_hs_receive(&t->r.hs, &t->r.ctx, &t->r.rng, t->hs3, t->n3, NULL, 0, &n), 1);
    CHECK_EQ(n, 0);
}

static void test_golden(void)
{
    transcript t;
    run(&t, 4, room_secret, room_secret);
    CHECK(hex_equal(t.i.ctx.ik_pk, 32, G_IK_I));
    CHECK(hex_equal(t.r.ctx.ik_pk, 32, G_IK_R));
    CHECK_EQ(t.n1, SC_HS1_BYTES);
    CHECK_EQ(t.n2, 2 + 32 + 16 + 97 + 3);
    CHECK_EQ(t.n3, 2 + 16 + 97 + 5);
    CHECK(hex_equal(t.hs1, t.n1, G_HS1));
    CHECK(hex_equal(t.hs2, t.n2, G_HS2));
    CHECK(hex_equal(t.hs3, t.n3, G_HS3));
    CHECK_EQ(t.i.hs.state, SC_HS_DONE);
    CHECK_EQ(t.r.hs.state, SC_HS_DONE);
    CHECK_EQ(t.i.hs.initiator, 1);
    CHECK_EQ(t.r.hs.initiator, 0);
    CHECK(hex_equal(t.i.hs.th, 32, G_TH));
    CHECK(hex_equal(t.r.hs.th, 32, G_TH));
    CHECK(hex_equal(t.i.hs.k_send, 32, G_K_I2R));
    CHECK(hex_equal(t.i.hs.k_recv, 32, G_K_R2I));
    CHECK(hex_equal(t.r.hs.k_send, 32, G_K_R2I));
    CHECK(hex_equal(t.r.hs.k_recv, 32, G_K_I2R));
    CHECK_MEM(t.i.hs.peer_ik, t.r.ctx.ik_pk, 32);
    CHECK_MEM(t.r.hs.peer_ik, t.i.ctx.ik_pk, 32);
    CHECK(strcmp(t.i.hs.peer_name, "bob") == 0);
    CHECK(strcmp(t.r.hs.peer_name, "alice") == 0);
    CHECK_EQ(t.i.hs.peer_name_len, 3);
    CHECK_EQ(t.r.hs.peer_name_len, 5);
    /* ephemeral secrets are gone once the channel keys exist (forward secrecy) */
    CHECK(all_zero(t.i.hs.ek_sk, 32));
    CHECK(all_zero(t.r.hs.ek_sk, 32));
    /* wiping a DONE handshake wipes its keys but keeps it DONE */
    sc_hs_wipe(&t.i.hs);
    CHECK(secrets_wiped(&t.i.hs));
    CHECK_EQ(t.i.hs.state, SC_HS_DONE);
    party_wipe(&t.i);
    party_wipe(&t.r);
}

/* An empty name and the longest name work; both sides see each other's. */
static void test_names(void)
{
    party a, b;
    uint8_t m1[SC_HS_MAX_BYTES], m2[SC_HS_MAX_BYTES], m3[SC_HS_MAX_BYTES];
    size_t n1, n2, n3;
    char longest[SC_HS_NAME_MAX + 1];
    memset(longest, 'x', SC_HS_NAME_MAX);
    memcpy(longest, "\xc3\xa9", 2); /* U+00E9 */
    longest[SC_HS_NAME_MAX] = '\0';
    party_init(&a, 9, 100, "", room_secret);
    party_init(&b, 8, 200, longest, room_secret);
    CHECK_EQ(sc_hs_start(&a.hs, &a.ctx, &a.rng, 100, 200, m1, sizeof m1, &n1), 0);
    CHECK_EQ(sc_hs_start(&b.hs, &b.ctx, &b.rng, 200, 100, m2, sizeof m2, &n2), 0);
    CHECK_EQ(sc_hs_receive(&b.hs, &b.ctx, &b.rng, m1, n1, m2, sizeof m2, &n2), 0);
    CHECK_EQ(n2, SC_HS2_MAX_BYTES);
    CHECK_EQ(sc_hs_receive(&a.hs, &a.ctx, &a.rng, m2, n2, m3, sizeof m3, &n3), 1);
    CHECK_EQ(n3, SC_HS3_MAX_BYTES - SC_HS_NAME_MAX);
    CHECK_EQ(sc_hs_receive(&b.hs, &b.ctx, &b.rng, m3, n3, m1, sizeof m1, &n1), 1);
    CHECK(strcmp(a.hs.peer_name, longest) == 0);
    CHECK(strcmp(b.hs.peer_name, "") == 0);
    CHECK_MEM(a.hs.k_send, b.hs.k_recv, 32);
    CHECK_MEM(b.hs.k_send, a.hs.k_recv, 32);

    CHECK_EQ(sc_hs_name_valid("bob", 3), 1);
    CHECK_EQ(sc_hs_name_valid("", 0), 1);
    CHECK_EQ(sc_hs_name_valid(longest, SC_HS_NAME_MAX), 1);
    CHECK_EQ(sc_hs_name_valid("a\nb", 3), 0);
    CHECK_EQ(sc_hs_name_valid("a\x1b[2J", 5), 0);
    CHECK_EQ(sc_hs_name_valid("a\x7f", 2), 0);
    CHECK_EQ(sc_hs_name_valid("a\xc2\x9b", 3), 0); /* U+009B (C1 CSI) */
    CHECK_EQ(sc_hs_name_valid("a\xc2\xa0", 3), 1); /* U+00A0 */
    CHECK_EQ(sc_hs_name_valid("\xc3", 1), 0);
    CHECK_EQ(sc_hs_name_valid("a\0b", 3), 0);

    /* an invalid own name or ids fail at start */
    party_wipe(&a);
    party_init(&a, 9, 100, "ok", room_secret);
    a.ctx.name[0] = '\n';
    CHECK_EQ(sc_hs_start(&a.hs, &a.ctx, &a.rng, 100, 200, m1, sizeof m1, &n1), SC_HS_E_NAME);
    CHECK_EQ(a.hs.state, SC_HS_FAILED);
    a.ctx.name[0] = 'o';
    a.ctx.name_len = SC_HS_NAME_MAX + 1;
    CHECK_EQ(sc_hs_start(&a.hs, &a.ctx, &a.rng, 100, 200, m1, sizeof m1, &n1), SC_HS_E_NAME);
    a.ctx.name_len = 2;
    CHECK_EQ(sc_hs_start(&a.hs, &a.ctx, &a.rng, 0, 200, m1, sizeof m1, &n1), SC_HS_E_STATE);
    CHECK_EQ(sc_hs_start(&a.hs, &a.ctx, &a.rng, 100, 0, m1, sizeof m1, &n1), SC_HS_E_STATE);
    CHECK_EQ(sc_hs_start(&a.hs, &a.ctx, &a.rng, 100, 100, m1, sizeof m1, &n1), SC_HS_E_STATE);
    CHECK_EQ(a.hs.state, SC_HS_FAILED);
    CHECK_EQ(n1, 0);
    party_wipe(&a);
    party_wipe(&b);
}

static void test_wrong_room(void)
{
    transcript t;
    uint8_t other[32], out[SC_HS_MAX_BYTES];
    size_t n;
    memcpy(other, room_secret, 32);
    other[0] ^= 1;
    /* I lacks the secret: R rejects HS1 */
    run(&t, 1, other, room_secret);
    CHECK_EQ(sc_hs_receive(&t.r.hs, &t.r.ctx, &t.r.rng, t.hs1, t.n1, out, sizeof out, &n),
             SC_HS_E_ROOM);
    CHECK_EQ(t.r.hs.state, SC_HS_FAILED);
    CHECK_EQ(n, 0);
    CHECK(secrets_wiped(&t.r.hs));
    /* R lacks the secret: it rejects a genuine HS1 the same way */
    run(&t, 1, room_secret, other);
    CHECK_EQ(sc_hs_receive(&t.r.hs, &t.r.ctx, &t.r.rng, t.hs1, t.n1, out, sizeof out, &n),
             SC_HS_E_ROOM);
    /* I lacks the secret but gets a genuine HS2 (as if R had skipped its MAC check): the
     * identity box does not open under keys derived from the wrong room key */
    transcript good;
    run(&good, 2, room_secret, room_secret);
    sc_invite_derive(other, good.i.ctx.room_id, good.i.ctx.room_key);
    CHECK_EQ(sc_hs_receive(&good.i.hs, &good.i.ctx, &good.i.rng, good.hs2, good.n2, out,
                           sizeof out, &n),
             SC_HS_E_ROOM);
    CHECK_EQ(good.i.hs.state, SC_HS_FAILED);
    CHECK(secrets_wiped(&good.i.hs));
    party_wipe(&t.i);
    party_wipe(&t.r);
    party_wipe(&good.i);
    party_wipe(&good.r);
}

static void hs1_with_key(const party *p, uint64_t id_i, uint64_t id_r, const uint8_t ek[32],
                         uint8_t out[SC_HS1_BYTES])
{
    static const char label[] = "saltchat/v1 hs1";
    uint8_t m[sizeof label - 1 + 32 + 16 + 32];
    memcpy(m, label, sizeof label - 1);
    memcpy(m + sizeof label - 1, p->ctx.room_id, 32);
    sc_store64(m + sizeof label - 1 + 32, id_i);
    sc_store64(m + sizeof label - 1 + 40, id_r);
    memcpy(m + sizeof label - 1 + 48, ek, 32);
    out[0] = 1;
    out[1] = 1;
    memcpy(out + 2, ek, 32);
    crypto_generichash(out + 34, 32, m, sizeof m, p->ctx.room_key, 32);
}

static void test_low_order(void)
{
    uint8_t out[SC_HS_MAX_BYTES], pt[32];
    size_t n;
    for (int hi = 0; hi < 2; hi++) {
        for (int k = 0; k < 7; k++) {
            memcpy(pt, small_order[k], 32);
            pt[31] |= (uint8_t)(hi << 7);
            /* R: a correctly MACed HS1 (sender holds the room key) with a bad ephemeral */
            transcript t;
            run(&t, 1, room_secret, room_secret);
            uint8_t m1[SC_HS1_BYTES];
            hs1_with_key(&t.r, 3, 7, pt, m1);
            CHECK_EQ(sc_hs_receive(&t.r.hs, &t.r.ctx, &t.r.rng, m1, sizeof m1, out, sizeof out,
                                   &n),
                     SC_HS_E_KEY);
            CHECK_EQ(t.r.hs.state, SC_HS_FAILED);
            CHECK(secrets_wiped(&t.r.hs));
            /* I: HS2 whose EK_R is bad */
            run(&t, 2, room_secret, room_secret);
            memcpy(t.hs2 + 2, pt, 32);
            CHECK_EQ(sc_hs_receive(&t.i.hs, &t.i.ctx, &t.i.rng, t.hs2, t.n2, out, sizeof out,
                                   &n),
                     SC_HS_E_KEY);
            CHECK_EQ(t.i.hs.state, SC_HS_FAILED);
            CHECK(secrets_wiped(&t.i.hs));
            party_wipe(&t.i);
            party_wipe(&t.r);
        }
    }
    /* the MAC helper above is right: a normal key passes it */
    transcript t;
    run(&t, 1, room_secret, room_secret);
    uint8_t m1[SC_HS1_BYTES];
    hs1_with_key(&t.r, 3, 7, t.hs1 + 2, m1);
    CHECK_MEM(m1, t.hs1, SC_HS1_BYTES);
    party_wipe(&t.i);
    party_wipe(&t.r);
}

/* Flips every byte of each message (three masks) and checks the receiver rejects it,
 * fails, wipes, and says why. */
static void test_flips(void)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    transcript t;
    uint8_t out[SC_HS_MAX_BYTES], m[SC_HS_MAX_BYTES];
    size_t n;
    for (int which = 1; which <= 3; which++) {
        run(&t, which, room_secret, room_secret);
        const uint8_t *orig = which == 1 ? t.hs1 : which == 2 ? t.hs2 : t.hs3;
        size_t len = which == 1 ? t.n1 : which == 2 ? t.n2 : t.n3;
        party_wipe(&t.i);
        party_wipe(&t.r);
        for (size_t i = 0; i < len; i++) {
            for (size_t k = 0; k < sizeof masks; k++) {
                run(&t, which, room_secret, room_secret);
                party *rx = which == 2 ? &t.i : &t.r;
                memcpy(m, orig, len);
                m[i] ^= masks[k];
                enum sc_hs_state before = rx->hs.state;
                int rc = recv_copy(rx, m, len, out, sizeof out, &n);
                CHECK(rc < 0);
                CHECK_EQ(n, 0);
                if (rc == SC_HS_E_STATE) {
                    /* the kind byte now names another message: refused, nothing changes,
                     * and the genuine message still completes the step */
                    CHECK_EQ(i, 1);
                    CHECK_EQ(rx->hs.state, before);
                    CHECK(recv_copy(rx, orig, len, out, sizeof out, &n) >= 0);
                } else {
                    CHECK_EQ(rx->hs.state, SC_HS_FAILED);
                    CHECK(secrets_wiped(&rx->hs));
                }
                if (i == 0)
                    CHECK_EQ(rc, SC_HS_E_MALFORMED);
                else if (i == 1)
                    CHECK(rc == SC_HS_E_MALFORMED || rc == SC_HS_E_STATE);
                else if (which == 2 && i < 34)
                    CHECK(rc == SC_HS_E_ROOM || rc == SC_HS_E_KEY);
                else
                    CHECK_EQ(rc, SC_HS_E_ROOM);
                party_wipe(&t.i);
                party_wipe(&t.r);
            }
        }
    }
}

/* Every proper prefix and a one-byte extension of each message is rejected. */
static void test_lengths(void)
{
    transcript t;
    uint8_t out[SC_HS_MAX_BYTES], m[SC_HS_MAX_BYTES + 1];
    size_t n;
    for (int which = 1; which <= 3; which++) {
        run(&t, which, room_secret, room_secret);
        const uint8_t *orig = which == 1 ? t.hs1 : which == 2 ? t.hs2 : t.hs3;
        size_t len = which == 1 ? t.n1 : which == 2 ? t.n2 : t.n3;
        memcpy(m, orig, len);
        party_wipe(&t.i);
        party_wipe(&t.r);
        for (size_t i = 0; i <= len + 1; i++) {
            if (i == len)
                continue;
            run(&t, which, room_secret, room_secret);
            party *rx = which == 2 ? &t.i : &t.r;
            m[len] = 0;
            int rc = recv_copy(rx, m, i, out, sizeof out, &n);
            /* HS2/HS3 carry a name of any length: a prefix that still holds a whole
             * identity box with a shorter name is well-formed and fails to open */
            size_t fixed = which == 1 ? SC_HS1_BYTES : which == 2 ? 147 : 115;
            if (i < fixed || (which == 1 && i > len))
                CHECK_EQ(rc, SC_HS_E_MALFORMED);
            else
                CHECK_EQ(rc, SC_HS_E_ROOM);
            CHECK_EQ(rx->hs.state, SC_HS_FAILED);
            party_wipe(&t.i);
            party_wipe(&t.r);
        }
    }
}

static void test_state(void)
{
    transcript t;
    uint8_t out[SC_HS_MAX_BYTES];
    size_t n;
    /* out of turn: R waiting for HS1 gets HS2 or HS3; I waiting for HS2 gets HS1 or HS3 */
    transcript full;
    run(&full, 4, room_secret, room_secret);
    const uint8_t *msgs[3] = {full.hs1, full.hs2, full.hs3};
    size_t lens[3] = {full.n1, full.n2, full.n3};
    for (int stage = 1; stage <= 3; stage++) {
        for (int k = 0; k < 3; k++) {
            if (k + 1 == stage)
                continue;
            run(&t, stage, room_secret, room_secret);
            party *rx = stage == 2 ? &t.i : &t.r;
            sc_hs saved = rx->hs;
            CHECK_EQ(recv_copy(rx, msgs[k], lens[k], out, sizeof out, &n), SC_HS_E_STATE);
            CHECK_EQ(n, 0);
            CHECK_MEM(&saved, &rx->hs, sizeof saved); /* refused without effect */
            /* and the expected message still works */
            CHECK(recv_copy(rx, msgs[stage - 1], lens[stage - 1], out, sizeof out, &n) >= 0);
            CHECK(rx->hs.state != SC_HS_FAILED);
            sodium_memzero(&saved, sizeof saved);
            party_wipe(&t.i);
            party_wipe(&t.r);
        }
    }
    /* duplicate HS1 while R waits for HS3: refused, and HS3 still completes it */
    run(&t, 3, room_secret, room_secret);
    CHECK_EQ(recv_copy(&t.r, t.hs1, t.n1, out, sizeof out, &n), SC_HS_E_STATE);
    CHECK_EQ(t.r.hs.state, SC_HS_WAIT_HS3);
    CHECK_EQ(recv_copy(&t.r, t.hs3, t.n3, out, sizeof out, &n), 1);
    CHECK_MEM(t.r.hs.k_recv, t.i.hs.k_send, 32);
    party_wipe(&t.i);
    party_wipe(&t.r);
    /* a FAILED handshake stays failed: even the right next message is refused */
    run(&t, 3, room_secret, room_secret);
    uint8_t bad3[SC_HS_MAX_BYTES];
    memcpy(bad3, t.hs3, t.n3);
    bad3[50] ^= 1;
    CHECK_EQ(recv_copy(&t.r, bad3, t.n3, out, sizeof out, &n), SC_HS_E_ROOM);
    CHECK_EQ(t.r.hs.state, SC_HS_FAILED);
    CHECK_EQ(recv_copy(&t.r, t.hs3, t.n3, out, sizeof out, &n), SC_HS_E_STATE);
    CHECK_EQ(t.r.hs.state, SC_HS_FAILED);
    CHECK(secrets_wiped(&t.r.hs));
    party_wipe(&t.i);
    party_wipe(&t.r);
    /* replays after DONE are refused and leave the channel keys intact */
    run(&t, 4, room_secret, room_secret);
    sc_hs saved_i = t.i.hs, saved_r = t.r.hs;
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(recv_copy(&t.r, msgs[k], lens[k], out, sizeof out, &n), SC_HS_E_STATE);
        CHECK_EQ(recv_copy(&t.i, msgs[k], lens[k], out, sizeof out, &n), SC_HS_E_STATE);
    }
    CHECK_MEM(&saved_i, &t.i.hs, sizeof saved_i);
    CHECK_MEM(&saved_r, &t.r.hs, sizeof saved_r);
    sodium_memzero(&saved_i, sizeof saved_i);
    sodium_memzero(&saved_r, sizeof saved_r);
    party_wipe(&t.i);
    party_wipe(&t.r);
    party_wipe(&full.i);
    party_wipe(&full.r);
    /* a version byte other than 1, an unknown kind, an empty message */
    run(&t, 1, room_secret, room_secret);
    uint8_t bad[SC_HS1_BYTES];
    memcpy(bad, t.hs1, sizeof bad);
    bad[0] = 2;
    CHECK_EQ(recv_copy(&t.r, bad, sizeof bad, out, sizeof out, &n), SC_HS_E_MALFORMED);
    run(&t, 1, room_secret, room_secret);
    bad[0] = 1;
    bad[1] = 4;
    CHECK_EQ(recv_copy(&t.r, bad, sizeof bad, out, sizeof out, &n), SC_HS_E_MALFORMED);
    run(&t, 1, room_secret, room_secret);
    CHECK_EQ(recv_copy(&t.r, bad, 0, out, sizeof out, &n), SC_HS_E_MALFORMED);
    party_wipe(&t.i);
    party_wipe(&t.r);
}

static void test_space(void)
{
    transcript t;
    uint8_t out[SC_HS_MAX_BYTES];
    size_t n = 99;
    party p;
    party_init(&p, 1, 3, "alice", room_secret);
    sc_hs before;
    memset(&before, 0xaa, sizeof before);
    p.hs = before;
    CHECK_EQ(sc_hs_start(&p.hs, &p.ctx, &p.rng, 3, 7, out, SC_HS1_BYTES - 1, &n), SC_HS_E_SPACE);
    CHECK_EQ(n, 0);
    CHECK_MEM(&p.hs, &before, sizeof before);
    CHECK_EQ(p.rng.counter, 1); /* nothing drawn */
    party_wipe(&p);
    /* R's reply needs 150 bytes, I's 120: one less is E_SPACE and changes nothing */
    run(&t, 1, room_secret, room_secret);
    sc_hs saved = t.r.hs;
    CHECK_EQ(sc_hs_receive(&t.r.hs, &t.r.ctx, &t.r.rng, t.hs1, t.n1, out, 149, &n),
             SC_HS_E_SPACE);
    CHECK_MEM(&saved, &t.r.hs, sizeof saved);
    CHECK_EQ(sc_hs_receive(&t.r.hs, &t.r.ctx, &t.r.rng, t.hs1, t.n1, out, 150, &n), 0);
    CHECK_EQ(n, 150);
    CHECK(hex_equal(out, 150, G_HS2));
    party_wipe(&t.i);
    party_wipe(&t.r);
    run(&t, 2, room_secret, room_secret);
    saved = t.i.hs;
    CHECK_EQ(sc_hs_receive(&t.i.hs, &t.i.ctx, &t.i.rng, t.hs2, t.n2, out, 119, &n),
             SC_HS_E_SPACE);
    CHECK_MEM(&saved, &t.i.hs, sizeof saved);
    CHECK_EQ(sc_hs_receive(&t.i.hs, &t.i.ctx, &t.i.rng, t.hs2, t.n2, out, 120, &n), 1);
    sodium_memzero(&saved, sizeof saved);
    party_wipe(&t.i);
    party_wipe(&t.r);
}

/* Re-seals the identity box of HS2 (from R, under k_r2i) or HS3 (under k_i2r) after
 * `edit` changed its plaintext, so the inner checks are reached. */
typedef void (*edit_fn)(uint8_t *pt, size_t *plen);

static int reseal_and_feed(int which, edit_fn edit)
{
    transcript t;
    uint8_t out[SC_HS_MAX_BYTES], pt[256], m[SC_HS_MAX_BYTES + 64], nonce[24] = {0};
    size_t n, plen;
    run(&t, which, room_secret, room_secret);
    const uint8_t *key = which == 2 ? t.r.hs.k_send : t.r.hs.k_recv;
    size_t off = which == 2 ? 34 : 2;
    uint8_t *orig = which == 2 ? t.hs2 : t.hs3;
    size_t len = which == 2 ? t.n2 : t.n3;
    CHECK_EQ(crypto_secretbox_open_easy(pt, orig + off, len - off, nonce, key), 0);
    plen = len - off - 16;
    edit(pt, &plen);
    memcpy(m, orig, off);
    crypto_secretbox_easy(m + off, pt, plen, nonce, key);
    party *rx = which == 2 ? &t.i : &t.r;
    int rc = recv_copy(rx, m, off + plen + 16, out, sizeof out, &n);
    CHECK_EQ(rx->hs.state, SC_HS_FAILED);
    CHECK(secrets_wiped(&rx->hs));
    party_wipe(&t.i);
    party_wipe(&t.r);
    return rc;
}

static void edit_sig(uint8_t *pt, size_t *plen)
{
    (void)plen;
    pt[40] ^= 1;
}
static void edit_ik(uint8_t *pt, size_t *plen)
{
    (void)plen;
    pt[5] ^= 1;
}
static void edit_name_control(uint8_t *pt, size_t *plen)
{
    (void)plen;
    pt[97] = 0x1b; /* the signature covers the name: but the name is checked first */
}
static void edit_nlen_long(uint8_t *pt, size_t *plen)
{
    (void)plen;
    pt[96]++;
}
static void edit_nlen_short(uint8_t *pt, size_t *plen)
{
    (void)plen;
    pt[96]--;
}
static void edit_name_65(uint8_t *pt, size_t *plen)
{
    pt[96] = 65;
    memset(pt + 97, 'a', 65);
    *plen = 97 + 65;
}
static void edit_truncate(uint8_t *pt, size_t *plen)
{
    (void)pt;
    *plen = 96;
}

static void test_inner(void)
{
    for (int which = 2; which <= 3; which++) {
        CHECK_EQ(reseal_and_feed(which, edit_sig), SC_HS_E_SIGNATURE);
        CHECK_EQ(reseal_and_feed(which, edit_ik), SC_HS_E_SIGNATURE);
        CHECK_EQ(reseal_and_feed(which, edit_name_control), SC_HS_E_NAME);
        CHECK_EQ(reseal_and_feed(which, edit_nlen_long), SC_HS_E_MALFORMED);
        CHECK_EQ(reseal_and_feed(which, edit_nlen_short), SC_HS_E_MALFORMED);
        CHECK_EQ(reseal_and_feed(which, edit_name_65), SC_HS_E_MALFORMED);
        CHECK_EQ(reseal_and_feed(which, edit_truncate), SC_HS_E_MALFORMED);
    }
}

/* A relay that swaps in its own ephemerals cannot complete either side without the room
 * key; and an HS1 copied to another pair of ids fails (ids are under the MAC). */
static void test_binding(void)
{
    transcript t;
    uint8_t out[SC_HS_MAX_BYTES];
    size_t n;
    party other;
    run(&t, 1, room_secret, room_secret);
    party_init(&other, 2, 8, "bob", room_secret);
    CHECK_EQ(sc_hs_start(&other.hs, &other.ctx, &other.rng, 8, 3, out, sizeof out, &n), 0);
    CHECK_EQ(recv_copy(&other, t.hs1, t.n1, out, sizeof out, &n), SC_HS_E_ROOM);
    party_wipe(&other);
    /* the same HS1 delivered to a responder that believes the initiator is id 4 */
    party_init(&other, 2, 7, "bob", room_secret);
    CHECK_EQ(sc_hs_start(&other.hs, &other.ctx, &other.rng, 7, 4, out, sizeof out, &n), 0);
    CHECK_EQ(recv_copy(&other, t.hs1, t.n1, out, sizeof out, &n), SC_HS_E_ROOM);
    party_wipe(&other);
    party_wipe(&t.i);
    party_wipe(&t.r);
}

static void test_random_pairs(void)
{
    /* system randomness: many handshakes agree on keys and never collide */
    uint8_t prev[32] = {0};
    for (int k = 0; k < 20; k++) {
        party a, b;
        uint8_t m1[SC_HS_MAX_BYTES], m2[SC_HS_MAX_BYTES], m3[SC_HS_MAX_BYTES];
        size_t n1, n2, n3;
        party_init(&a, 1, 10, "a", room_secret);
        party_init(&b, 2, 11, "b", room_secret);
        sc_rng_init(&a.rng);
        sc_rng_init(&b.rng);
        CHECK_EQ(sc_hs_start(&a.hs, &a.ctx, &a.rng, 10, 11, m1, sizeof m1, &n1), 0);
        CHECK_EQ(sc_hs_start(&b.hs, &b.ctx, &b.rng, 11, 10, m2, sizeof m2, &n2), 0);
        CHECK_EQ(sc_hs_receive(&b.hs, &b.ctx, &b.rng, m1, n1, m2, sizeof m2, &n2), 0);
        CHECK_EQ(sc_hs_receive(&a.hs, &a.ctx, &a.rng, m2, n2, m3, sizeof m3, &n3), 1);
        CHECK_EQ(sc_hs_receive(&b.hs, &b.ctx, &b.rng, m3, n3, NULL, 0, &n1), 1);
        CHECK_MEM(a.hs.k_send, b.hs.k_recv, 32);
        CHECK(memcmp(a.hs.k_send, prev, 32) != 0);
        memcpy(prev, a.hs.k_send, 32);
        party_wipe(&a);
        party_wipe(&b);
    }
}

static void test_strerror_sizes(void)
{
    for (int e = SC_HS_E_NAME; e <= SC_HS_E_MALFORMED; e++)
        CHECK(strcmp(sc_hs_strerror(e), sc_hs_strerror(-99)) != 0);
    CHECK(strstr(sc_hs_strerror(SC_HS_E_ROOM), "room secret") != NULL);
    CHECK_EQ(sc_hs_max_bytes(), SC_HS_MAX_BYTES);
    CHECK_EQ(sc_hs1_bytes(), 66);
    CHECK_EQ(sc_hs2_max_bytes(), 211);
    CHECK_EQ(sc_hs3_max_bytes(), 179);
    CHECK_EQ(sc_hs_name_max(), 64);
    CHECK_EQ(sc_hs_key_bytes(), 32);
    CHECK_EQ(SC_HS2_MAX_BYTES, 211);
    CHECK_EQ(SC_HS3_MAX_BYTES, 179);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    sc_rng r;
    sc_rng_init_seeded(&r, seed0_32);
    sc_invite_new_secret(&r, room_secret);
    test_golden();
    test_names();
    test_wrong_room();
    test_low_order();
    test_flips();
    test_lengths();
    test_state();
    test_space();
    test_inner();
    test_binding();
    test_random_pairs();
    test_strerror_sizes();
    return check_finish("test_handshake");
}
