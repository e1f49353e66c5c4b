#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hexutil.h"
#include "sc_bytes.h"
#include "sc_group.h"
#include "sc_invite.h"

/* Golden messages computed independently with PyNaCl from PROTOCOL.md section 6: room
 * of the golden invite (test_invite.c), sender 3, chain drawn from seed 03*32
 * (test_chain.c); index 0 carries "hi", index 1 a 100-byte text. */
#define G_PLAIN0 "0101020304050607080000018bcfe568006869"
#define G_MSG0                                                                            \
    "01055996242b0000000022ef7ed492916a4b4c87cfce22e8684ad76d19270f088ccb7e469dd092c19fee" \
    "f617fb2177f7dcc83ea9344e15d463747331736b119acd24244a2313dcfccd9b69a7ca7417a7fdad9766" \
    "f96d8c2e203b9d43c73e470a03cd721cdd67318c47a6504f5ab91b502142804bde8607a17ed124dcd054" \
    "a724661299f788f178db83c8a29959e68c4977b4d6158e6e6d8aad0f"
#define G_MSG1                                                                            \
    "01055996242b00000001b80f086717992bf3137f99df3e84d858391dfec2f45d223d8b4bd8393bc1607e" \
    "b96169ceb0ba2f891e1446703be68b3f2ba9f8bd1f528f2a29aeac22c33855255c5d3481b753e1f70af6" \
    "522402ef54bafbb8d62263ee80e0af3dd3f31dfe53f3f3cb53c75cf4a9d013af1c9d12737cac4acfb89d" \
    "5593f7dec1bfe70cb32a0cb75591cb777855a9bc33c3dfd9db709f8319a13391a339d4ac1d7ca0755b2e" \
    "a337c066f1229653e468fdf603eac1c130587d6d37be0a71f21dceab9e48bb2ded82876191d88feb8b0e"

#define SENDER 3u
#define CHAIN_ERR(e) (SC_GROUP_E_CHAIN_BASE + (e))

static uint8_t room_id[32];

static void new_out(sc_chain_out *c, uint8_t seed_byte)
{
    sc_rng r;
    uint8_t seed[32];
    memset(seed, seed_byte, sizeof seed);
    sc_rng_init_seeded(&r, seed);
    sc_chain_out_new(c, &r);
    sc_rng_wipe(&r);
}

static void receiver(const sc_chain_out *o, sc_chain_in *in)
{
    uint8_t skd[SC_CHAIN_SKD_BYTES];
    sc_chain_out_skd(o, skd);
    CHECK_EQ(sc_chain_in_init(in, skd), 0);
}

/* Opens an exact-size heap copy; checks that a failure leaves the chain as it was. */
static int open_copy(sc_chain_in *in, const uint8_t *room, uint64_t sender, const uint8_t *msg,
                     size_t len, uint8_t *plain, size_t cap, size_t *plen)
{
    uint8_t *p = exact_copy(msg, len);
    uint32_t next = in->next;
    size_t n_skipped = in->n_skipped;
    uint8_t ck[32];
    memcpy(ck, in->ck, 32);
    int rc = sc_group_open(in, room, sender, p, len, plain, cap, plen);
    free(p);
    if (rc != 0) {
        CHECK_EQ(in->next, next);
        CHECK_EQ(in->n_skipped, n_skipped);
        CHECK_MEM(in->ck, ck, 32);
        CHECK_EQ(*plen, 0);
    }
    return rc;
}

static void test_padding(void)
{
    static const size_t table[][2] = {{0, 64},       {1, 64},        {46, 64},
                                      {47, 64},      {63, 64},       {64, 72},
                                      {65, 72},      {100, 104},     {1000, 1024},
                                      {1024, 1088},  {4096, 4352},   {65536, 67584},
                                      {1u << 20, 1081344}};
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
        CHECK_EQ(sc_group_padded_len(table[k][0]), table[k][1]);
        CHECK_EQ(sc_group_sealed_len(table[k][0]), 90 + table[k][1]);
    }
    CHECK_EQ(sc_group_sealed_len(SC_GROUP_MAX_PLAIN + 1), 0);
    CHECK_EQ(sc_group_sealed_bytes(100), 90 + 104);
    /* padme: P >= len + 1, and the overhead stays under 12% above 64 bytes */
    for (size_t len = 0; len < 70000; len += 7) {
        size_t p = sc_group_padded_len(len);
        CHECK(p >= len + 1);
        CHECK(p == 64 || (p - len - 1) * 100 <= 12 * (len + 1));
    }
    CHECK_EQ(SC_GROUP_MIN_BYTES, 154);
    CHECK_EQ(sc_group_min_bytes(), 154);
    CHECK_EQ(sc_group_max_text(), 32768);
    CHECK_EQ(sc_group_header_bytes(), 10);
    CHECK_EQ(sc_group_max_plain(), SC_GROUP_MAX_PLAIN);
    CHECK_EQ(sc_group_text_header_bytes(), 17);
    CHECK_EQ(sc_group_padded_len(SC_GROUP_MAX_PLAIN + 1), 0);
    CHECK_EQ(sc_group_padded_len((size_t)-1), 0);
}

static void test_golden(void)
{
    sc_chain_out o;
    sc_chain_in in;
    uint8_t plain[256], msg[512], text[100], out[512];
    size_t n, pn, tl;
    uint64_t id, t;
    const uint8_t *tp;
    new_out(&o, 3);
    receiver(&o, &in);
    pn = sc_group_text_encode(0x0102030405060708ull, 1700000000000ull, (const uint8_t *)"hi", 2,
                              plain, sizeof plain);
    CHECK_EQ(pn, 19);
    CHECK(hex_equal(plain, pn, G_PLAIN0));
    CHECK_EQ(sc_group_seal(&o, room_id, SENDER, plain, pn, msg, sizeof msg, &n), 0);
    CHECK_EQ(n, 154);
    CHECK(hex_equal(msg, n, G_MSG0));
    CHECK_EQ(o.index, 1);
    uint32_t cid, idx;
    CHECK_EQ(sc_group_peek(msg, n, &cid, &idx), 0);
    CHECK(cid == 0x5996242bu);
    CHECK_EQ(idx, 0);
    CHECK_EQ(open_copy(&in, room_id, SENDER, msg, n, out, sizeof out, &pn), 0);
    CHECK_EQ(pn, 19);
    CHECK_EQ(sc_group_text_decode(out, pn, &id, &t, &tp, &tl), 0);
    CHECK(id == 0x0102030405060708ull);
    CHECK(t == 1700000000000ull);
    CHECK_EQ(tl, 2);
    CHECK_MEM(tp, "hi", 2);

    memset(text, 'x', sizeof text);
    pn = sc_group_text_encode(0x1112131415161718ull, 1700000000001ull, text, 100, plain,
                              sizeof plain);
    CHECK_EQ(sc_group_seal(&o, room_id, SENDER, plain, pn, msg, sizeof msg, &n), 0);
    CHECK_EQ(n, 210);
    CHECK(hex_equal(msg, n, G_MSG1));
    CHECK_EQ(open_copy(&in, room_id, SENDER, msg, n, out, sizeof out, &pn), 0);
    CHECK_EQ(pn, 117);
    CHECK_MEM(out, plain, pn);
    /* a replay is refused with its reason, after the signature check */
    CHECK_EQ(open_copy(&in, room_id, SENDER, msg, n, out, sizeof out, &pn),
             CHAIN_ERR(SC_CHAIN_E_REPLAY));
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

static void test_sizes_roundtrip(void)
{
    static const size_t sizes[] = {0, 1, 46, 47, 63, 64, 100, 1024, 4096, 65536, SC_GROUP_MAX_PLAIN};
    sc_chain_out o;
    sc_chain_in in;
    size_t cap = SC_GROUP_MAX_PLAIN + 65536;
    uint8_t *plain = malloc(cap), *msg = malloc(cap), *out = malloc(cap);
    size_t n, pn;
    sc_rng r;
    sc_rng_init(&r);
    sc_chain_out_new(&o, &r);
    receiver(&o, &in);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        sc_rng_bytes(&r, plain, sizes[k]);
        CHECK_EQ(sc_group_seal(&o, room_id, SENDER, plain, sizes[k], msg, cap, &n), 0);
        CHECK_EQ(n, sc_group_sealed_len(sizes[k]));
        /* exactly the padded length is enough room, one byte less is not */
        size_t p = sc_group_padded_len(sizes[k]);
        CHECK_EQ(sc_group_open(&in, room_id, SENDER, msg, n, out, p - 1, &pn), SC_GROUP_E_SPACE);
        CHECK_EQ(sc_group_open(&in, room_id, SENDER, msg, n, out, p, &pn), 0);
        CHECK_EQ(pn, sizes[k]);
        CHECK(sizes[k] == 0 || memcmp(out, plain, sizes[k]) == 0);
    }
    /* too long, too small an output: the chain does not move */
    CHECK_EQ(sc_group_seal(&o, room_id, SENDER, plain, SC_GROUP_MAX_PLAIN + 1, msg, cap, &n),
             SC_GROUP_E_TOO_LONG);
    uint32_t index = o.index;
    CHECK_EQ(sc_group_seal(&o, room_id, SENDER, plain, 100, msg, sc_group_sealed_len(100) - 1, &n),
             SC_GROUP_E_SPACE);
    CHECK_EQ(o.index, index);
    CHECK_EQ(n, 0);
    /* the plaintext may lie inside out (sealed in place) */
    memcpy(msg, "in place", 8);
    CHECK_EQ(sc_group_seal(&o, room_id, SENDER, msg, 8, msg, cap, &n), 0);
    CHECK_EQ(sc_group_open(&in, room_id, SENDER, msg, n, out, cap, &pn), 0);
    CHECK_EQ(pn, 8);
    CHECK_MEM(out, "in place", 8);
    /* an exhausted chain refuses to seal */
    o.index = UINT32_MAX;
    CHECK_EQ(sc_group_seal(&o, room_id, SENDER, plain, 10, msg, cap, &n),
             CHAIN_ERR(SC_CHAIN_E_EXHAUSTED));
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
    free(plain);
    free(msg);
    free(out);
}

static void test_flips(void)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    uint8_t msg[512], x[512], out[512];
    size_t n = hex_decode(G_MSG1, msg, sizeof msg), pn;
    sc_chain_out o;
    sc_chain_in in;
    new_out(&o, 3);
    receiver(&o, &in);
    for (size_t p = 0; p < n; p++) {
        for (size_t k = 0; k < sizeof masks; k++) {
            memcpy(x, msg, n);
            x[p] ^= masks[k];
            int rc = open_copy(&in, room_id, SENDER, x, n, out, sizeof out, &pn);
            if (p < 6) /* version, kind, chain id */
                CHECK_EQ(rc, SC_GROUP_E_MALFORMED);
            else
                CHECK_EQ(rc, SC_GROUP_E_SIGNATURE);
            uint32_t cid, idx;
            CHECK_EQ(sc_group_peek(x, n, &cid, &idx), p < 2 ? SC_GROUP_E_MALFORMED : 0);
        }
    }
    CHECK_EQ(in.next, 0);
    /* the signature binds the room and the sender's member id */
    uint8_t other_room[32];
    memcpy(other_room, room_id, 32);
    other_room[31] ^= 1;
    CHECK_EQ(open_copy(&in, other_room, SENDER, msg, n, out, sizeof out, &pn),
             SC_GROUP_E_SIGNATURE);
    CHECK_EQ(open_copy(&in, room_id, SENDER + 1, msg, n, out, sizeof out, &pn),
             SC_GROUP_E_SIGNATURE);
    /* the unmodified message still opens (index 1: index 0 is kept as skipped) */
    CHECK_EQ(open_copy(&in, room_id, SENDER, msg, n, out, sizeof out, &pn), 0);
    CHECK_EQ(in.n_skipped, 1);
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

static void test_prefixes(void)
{
    uint8_t msg[512], out[512];
    size_t n = hex_decode(G_MSG1, msg, sizeof msg), pn;
    sc_chain_out o;
    sc_chain_in in;
    new_out(&o, 3);
    receiver(&o, &in);
    for (size_t p = 0; p < n + 2; p++) {
        if (p == n)
            continue;
        uint8_t *c = exact_copy(msg, p);
        uint32_t cid, idx;
        int prc = sc_group_peek(c, p, &cid, &idx);
        free(c);
        int rc = open_copy(&in, room_id, SENDER, msg, p, out, sizeof out, &pn);
        if (p < SC_GROUP_MIN_BYTES) {
            CHECK_EQ(prc, SC_GROUP_E_MALFORMED);
            CHECK_EQ(rc, SC_GROUP_E_MALFORMED);
        } else {
            CHECK_EQ(prc, 0);
            CHECK_EQ(rc, SC_GROUP_E_SIGNATURE);
        }
    }
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

/* Re-signs a message after `edit` so that the checks behind the signature are reached. */
static void resign(const sc_chain_out *o, uint8_t *msg, size_t len)
{
    static const char label[] = "saltchat/v1 group";
    size_t body = len - 64, pre = sizeof label - 1 + 32 + 8;
    uint8_t *m = malloc(pre + body);
    memcpy(m, label, sizeof label - 1);
    memcpy(m + sizeof label - 1, room_id, 32);
    sc_store64(m + sizeof label - 1 + 32, SENDER);
    memcpy(m + pre, msg, body);
    crypto_sign_detached(msg + body, NULL, m, pre + body, o->sign_sk);
    free(m);
}

static void test_behind_signature(void)
{
    sc_chain_out o, o2;
    sc_chain_in in;
    uint8_t plain[64], msg[512], x[512], out[512], mk[SC_CHAIN_MK_BYTES];
    size_t n, pn;
    uint32_t idx;
    new_out(&o, 3);
    receiver(&o, &in);
    memset(plain, 'a', 40);
    CHECK_EQ(sc_group_seal(&o, room_id, SENDER, plain, 40, msg, sizeof msg, &n), 0);
    /* a signed but corrupted ciphertext: bad ciphertext, chain unchanged, output wiped */
    for (size_t p = 10; p < n - 64; p += 7) {
        memcpy(x, msg, n);
        x[p] ^= 0x10;
        resign(&o, x, n);
        memset(out, 0x55, sizeof out);
        CHECK_EQ(open_copy(&in, room_id, SENDER, x, n, out, sizeof out, &pn),
                 SC_GROUP_E_CIPHERTEXT);
        CHECK(all_zero(out, n - 90));
    }
    /* a signed message at another index decrypts under the wrong key: bad ciphertext */
    memcpy(x, msg, n);
    sc_store32(x + 6, 1);
    resign(&o, x, n);
    CHECK_EQ(open_copy(&in, room_id, SENDER, x, n, out, sizeof out, &pn), SC_GROUP_E_CIPHERTEXT);
    /* a signed message whose padding is longer than padme asks (128 for 40 bytes) */
    new_out(&o2, 3);
    CHECK_EQ(sc_chain_out_step(&o2, mk, &idx), 0);
    uint8_t padded[128];
    size_t plen;
    memcpy(padded, plain, 40);
    CHECK_EQ(sodium_pad(&plen, padded, 40, 128, 128), 0);
    CHECK_EQ(plen, 128);
    x[0] = 1;
    x[1] = 5;
    sc_store32(x + 2, o.chain_id);
    sc_store32(x + 6, 0);
    crypto_secretbox_easy(x + 10, padded, 128, mk + 32, mk);
    resign(&o, x, 10 + 16 + 128 + 64);
    CHECK_EQ(open_copy(&in, room_id, SENDER, x, 218, out, sizeof out, &pn), SC_GROUP_E_CIPHERTEXT);
    /* the same plaintext with canonical padding opens: the check above was the padding */
    CHECK_EQ(sodium_unpad(&plen, padded, 128, 128), 0);
    CHECK_EQ(sodium_pad(&plen, padded, 40, 64, 64), 0);
    crypto_secretbox_easy(x + 10, padded, 64, mk + 32, mk);
    resign(&o, x, 154);
    CHECK_EQ(open_copy(&in, room_id, SENDER, x, 154, out, sizeof out, &pn), 0);
    CHECK_EQ(pn, 40);
    CHECK_EQ(open_copy(&in, room_id, SENDER, msg, n, out, sizeof out, &pn),
             CHAIN_ERR(SC_CHAIN_E_REPLAY));
    sodium_memzero(mk, sizeof mk);
    sc_chain_out_wipe(&o2);
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

static void test_reorder_bound(void)
{
    sc_chain_out o;
    sc_chain_in in, late;
    uint8_t plain[32] = "m", out[512];
    static uint8_t msgs[1003][160];
    size_t n[1003], pn;
    new_out(&o, 9);
    receiver(&o, &in);
    receiver(&o, &late);
    for (int k = 0; k < 1003; k++)
        CHECK_EQ(sc_group_seal(&o, room_id, SENDER, plain, 1, msgs[k], sizeof msgs[k], &n[k]), 0);
    /* inside the bound: any order works, each once */
    static const int order[] = {3, 0, 2, 7, 1, 5, 4, 6};
    for (size_t k = 0; k < 8; k++)
        CHECK_EQ(open_copy(&in, room_id, SENDER, msgs[order[k]], n[order[k]], out, sizeof out,
                           &pn),
                 0);
    for (size_t k = 0; k < 8; k++)
        CHECK_EQ(open_copy(&in, room_id, SENDER, msgs[order[k]], n[order[k]], out, sizeof out,
                           &pn),
                 CHAIN_ERR(SC_CHAIN_E_REPLAY));
    /* for a receiver at index 0: index 1000 is at the bound, 1001 beyond it */
    CHECK_EQ(open_copy(&late, room_id, SENDER, msgs[1001], n[1001], out, sizeof out, &pn),
             CHAIN_ERR(SC_CHAIN_E_TOO_FAR));
    CHECK_EQ(open_copy(&late, room_id, SENDER, msgs[1000], n[1000], out, sizeof out, &pn), 0);
    CHECK_EQ(open_copy(&late, room_id, SENDER, msgs[1001], n[1001], out, sizeof out, &pn), 0);
    CHECK_EQ(open_copy(&late, room_id, SENDER, msgs[500], n[500], out, sizeof out, &pn), 0);
    CHECK_EQ(late.n_skipped, 999);
    sc_chain_in_free(&late);
    /* a newcomer given the chain at index 8 cannot read 0..7 */
    sc_chain_in newcomer;
    sc_chain_out o8; /* the sender's chain as it was at index 8 */
    uint8_t mk[SC_CHAIN_MK_BYTES];
    uint32_t idx;
    new_out(&o8, 9);
    for (int k = 0; k < 8; k++)
        CHECK_EQ(sc_chain_out_step(&o8, mk, &idx), 0);
    receiver(&o8, &newcomer);
    CHECK_EQ(newcomer.start, 8);
    CHECK_EQ(open_copy(&newcomer, room_id, SENDER, msgs[7], n[7], out, sizeof out, &pn),
             CHAIN_ERR(SC_CHAIN_E_BEFORE_START));
    CHECK_EQ(open_copy(&newcomer, room_id, SENDER, msgs[8], n[8], out, sizeof out, &pn), 0);
    sodium_memzero(mk, sizeof mk);
    sc_chain_out_wipe(&o8);
    sc_chain_in_free(&newcomer);
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&o);
}

/* A leaves; B rotates and gives the new chain to C only. A's copy of B's old chain cannot
 * read anything sent on the new one, by any route. */
static void test_rotation(void)
{
    sc_chain_out b_old, b_new;
    sc_chain_in at_a, at_c, at_c_new;
    uint8_t plain[64] = "after the leave", msg[512], out[512], mk[SC_CHAIN_MK_BYTES];
    size_t n, pn;
    sc_rng r;
    sc_rng_init(&r);
    sc_chain_out_new(&b_old, &r);
    receiver(&b_old, &at_a);
    receiver(&b_old, &at_c);
    CHECK_EQ(sc_group_seal(&b_old, room_id, SENDER, plain, 5, msg, sizeof msg, &n), 0);
    CHECK_EQ(open_copy(&at_a, room_id, SENDER, msg, n, out, sizeof out, &pn), 0);
    CHECK_EQ(open_copy(&at_c, room_id, SENDER, msg, n, out, sizeof out, &pn), 0);
    /* rotation */
    sc_chain_out_new(&b_new, &r);
    receiver(&b_new, &at_c_new);
    CHECK(b_new.chain_id != b_old.chain_id);
    CHECK_EQ(sc_group_seal(&b_new, room_id, SENDER, plain, 15, msg, sizeof msg, &n), 0);
    CHECK_EQ(open_copy(&at_c_new, room_id, SENDER, msg, n, out, sizeof out, &pn), 0);
    CHECK_MEM(out, "after the leave", 15);
    /* A: the chain id does not match its chain */
    CHECK_EQ(open_copy(&at_a, room_id, SENDER, msg, n, out, sizeof out, &pn),
             SC_GROUP_E_MALFORMED);
    /* A relabels its old chain with the new id: the signature does not verify */
    at_a.chain_id = b_new.chain_id;
    CHECK_EQ(open_copy(&at_a, room_id, SENDER, msg, n, out, sizeof out, &pn),
             SC_GROUP_E_SIGNATURE);
    /* A skips the signature and derives every key its old chain can reach: none opens */
    for (uint32_t i = at_a.next; i < at_a.next + 50; i++) {
        CHECK_EQ(sc_chain_in_key(&at_a, i, mk), 0);
        CHECK(crypto_secretbox_open_easy(out, msg + 10, n - 10 - 64, mk + 32, mk) != 0);
    }
    sodium_memzero(mk, sizeof mk);
    sc_chain_in_free(&at_a);
    sc_chain_in_free(&at_c);
    sc_chain_in_free(&at_c_new);
    sc_chain_out_wipe(&b_old);
    sc_chain_out_wipe(&b_new);
}

static int decode_copy(const uint8_t *p, size_t len)
{
    uint64_t id, t;
    const uint8_t *text;
    size_t tl;
    uint8_t *c = exact_copy(p, len);
    int rc = sc_group_text_decode(c, len, &id, &t, &text, &tl);
    free(c);
    return rc;
}

static void test_text(void)
{
    uint8_t plain[SC_GROUP_TEXT_HEADER + SC_GROUP_MAX_TEXT + 2];
    static uint8_t text[SC_GROUP_MAX_TEXT + 1];
    memset(text, 'z', sizeof text);
    CHECK_EQ(sc_group_text_encode(1, 2, text, 0, plain, sizeof plain), 0);
    CHECK_EQ(sc_group_text_encode(1, 2, text, SC_GROUP_MAX_TEXT + 1, plain, sizeof plain), 0);
    CHECK_EQ(sc_group_text_encode(1, 2, (const uint8_t *)"\xc3", 1, plain, sizeof plain), 0);
    CHECK_EQ(sc_group_text_encode(1, 2, text, 10, plain, 26), 0);
    CHECK_EQ(sc_group_text_encode(1, 2, text, 10, plain, 27), 27);
    size_t n = sc_group_text_encode(1, 2, text, SC_GROUP_MAX_TEXT, plain, sizeof plain);
    CHECK_EQ(n, SC_GROUP_TEXT_HEADER + SC_GROUP_MAX_TEXT);
    CHECK_EQ(decode_copy(plain, n), 0);
    /* one more byte of text is too long */
    plain[n] = 'z';
    CHECK_EQ(decode_copy(plain, n + 1), SC_GROUP_E_MALFORMED);
    /* every proper prefix of a small plaintext: only those with text (>= 18) decode */
    n = sc_group_text_encode(7, 8, (const uint8_t *)"abc", 3, plain, sizeof plain);
    for (size_t p = 0; p <= n; p++)
        CHECK_EQ(decode_copy(plain, p), p > SC_GROUP_TEXT_HEADER ? 0 : SC_GROUP_E_MALFORMED);
    plain[0] = 2;
    CHECK_EQ(decode_copy(plain, n), SC_GROUP_E_MALFORMED);
    plain[0] = 1;
    plain[18] = 0xff;
    CHECK_EQ(decode_copy(plain, n), SC_GROUP_E_MALFORMED);
    /* in place */
    memcpy(plain, "hello", 5);
    n = sc_group_text_encode(9, 10, plain, 5, plain, sizeof plain);
    CHECK_EQ(n, 22);
    CHECK_MEM(plain + 17, "hello", 5);
    CHECK_EQ(sc_load64(plain + 1), 9);
    for (int e = SC_GROUP_E_TOO_LONG; e <= SC_GROUP_E_MALFORMED; e++)
        CHECK(strcmp(sc_group_strerror(e), sc_group_strerror(-99)) != 0);
    CHECK(strstr(sc_group_strerror(CHAIN_ERR(SC_CHAIN_E_REPLAY)), "replay") != NULL);
    CHECK(strstr(sc_group_strerror(CHAIN_ERR(SC_CHAIN_E_TOO_FAR)), "too far") != NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    uint8_t secret[32];
    static const uint8_t seed0_32[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                         11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                         22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
    sc_rng r;
    sc_rng_init_seeded(&r, seed0_32);
    sc_invite_new_secret(&r, secret);
    sc_invite_derive(secret, room_id, NULL);
    test_padding();
    test_golden();
    test_sizes_roundtrip();
    test_flips();
    test_prefixes();
    test_behind_signature();
    test_reorder_bound();
    test_rotation();
    test_text();
    return check_finish("test_group");
}
