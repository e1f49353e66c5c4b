/* test_sc2_link: the v2 invite link and its derivations (shared/v2/sc2_link.h): format and
 * parse with every distinct error, the KDF labels recomputed from libsodium primitives,
 * the auth proof, gi_box sealed from a real MLS group and used for a real external join,
 * and link rotation through the MLS exporter (a removed member cannot derive it). */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mls_group.h"
#include "sc2_link.h"

#define NOW 1700000000u
#define BASE "http://localhost:8080/"

static uint8_t room[16], secret[32];

/* A counting rng, so the test is deterministic. */
static void count_fill(void *ctx, uint8_t *out, size_t n)
{
    uint8_t *c = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (*c)++;
}

/* Parses a heap copy of s (exact size, so ASan sees over-reads). */
static int parse(const char *s, uint8_t id[16], uint8_t sec[32], char *base, size_t cap)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p)
        abort();
    memcpy(p, s, n);
    int rc = sc2_link_parse(p, id, sec, base, cap);
    free(p);
    return rc;
}

static void test_format_parse(void)
{
    uint8_t ctr = 0;
    mls_rng rng = {count_fill, &ctr};
    char link[SC2_LINK_MAX_URL], base[SC2_LINK_MAX_URL], bad[SC2_LINK_MAX_URL + 64];
    uint8_t id[16], sec[32];
    sc2_link_new_room(&rng, room, secret);
    CHECK_EQ(room[0], 0);
    CHECK_EQ(room[15], 15);
    CHECK_EQ(secret[0], 16);

    int n = sc2_link_format(BASE, room, secret, link, sizeof link);
    CHECK_EQ(n, (int)(strlen(BASE) + 5 + SC2_LINK_CODE_CHARS));
    CHECK(strncmp(link, BASE "#sc2.", strlen(BASE) + 5) == 0);
    CHECK_EQ(strlen(link), (size_t)n);
    /* the code is room_id || secret || check, check = H(4, label || room_id || secret) */
    uint8_t code[52], want[4];
    size_t bl = 0;
    CHECK_EQ(sodium_base642bin(code, sizeof code, link + strlen(BASE) + 5, SC2_LINK_CODE_CHARS,
                               NULL, &bl, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    CHECK_EQ(bl, 52);
    CHECK_MEM(code, room, 16);
    CHECK_MEM(code + 16, secret, 32);
    uint8_t cat[18 + 48];
    memcpy(cat, "saltchat/v2 invite", 18);
    memcpy(cat + 18, room, 16);
    memcpy(cat + 34, secret, 32);
    crypto_generichash(want, 4, cat, sizeof cat, NULL, 0);
    CHECK_MEM(code + 48, want, 4);

    CHECK_EQ(parse(link, id, sec, base, sizeof base), 0);
    CHECK_MEM(id, room, 16);
    CHECK_MEM(sec, secret, 32);
    CHECK(strcmp(base, BASE) == 0);
    CHECK_EQ(parse(link, id, sec, NULL, 0), 0);
    /* whitespace around, ws/wss schemes, missing slash, upper-case scheme */
    snprintf(bad, sizeof bad, "  \t%s\r\n", link);
    CHECK_EQ(parse(bad, id, sec, base, sizeof base), 0);
    char l2[SC2_LINK_MAX_URL];
    CHECK(sc2_link_format("WSS://example.org:9/chat", room, secret, l2, sizeof l2) > 0);
    CHECK(strncmp(l2, "https://example.org:9/chat/#sc2.", 32) == 0);
    CHECK_EQ(parse(l2, id, sec, base, sizeof base), 0);
    CHECK(strcmp(base, "https://example.org:9/chat/") == 0);
    CHECK(sc2_link_format("ws://h", room, secret, l2, sizeof l2) > 0);
    CHECK(strncmp(l2, "http://h/#sc2.", 14) == 0);

    /* errors, each distinct, nothing written */
    memset(id, 0xee, sizeof id);
    CHECK_EQ(parse("http://localhost:8080/", id, sec, base, sizeof base), SC2_LINK_E_NO_FRAGMENT);
    CHECK_EQ(id[0], 0xee);
    CHECK_EQ(parse("http://h/#hello", id, sec, NULL, 0), SC2_LINK_E_NOT_SALTCHAT);
    CHECK_EQ(parse("http://h/#", id, sec, NULL, 0), SC2_LINK_E_NOT_SALTCHAT);
    CHECK_EQ(parse("http://h/#sc.abc", id, sec, NULL, 0), SC2_LINK_E_NOT_SALTCHAT);
    CHECK_EQ(parse("http://h/#sc0.abc", id, sec, NULL, 0), SC2_LINK_E_NOT_SALTCHAT);
    CHECK_EQ(parse("http://h/#sc02.abc", id, sec, NULL, 0), SC2_LINK_E_NOT_SALTCHAT);
    CHECK_EQ(parse("http://h/#sc2", id, sec, NULL, 0), SC2_LINK_E_NOT_SALTCHAT);
    CHECK_EQ(parse("http://h/#SC2.abc", id, sec, NULL, 0), SC2_LINK_E_NOT_SALTCHAT);
    CHECK_EQ(parse("http://h/#sc1.WXZaeGfOfyKsQ-dDhkfb7f3H1ESNV9cf3IC14yN6d8Xx5SGa", id, sec,
                   NULL, 0), SC2_LINK_E_OLD_VERSION);
    CHECK_EQ(parse("http://h/#sc3.abc", id, sec, NULL, 0), SC2_LINK_E_NEW_VERSION);
    CHECK_EQ(parse("http://h/#sc10.abc", id, sec, NULL, 0), SC2_LINK_E_NEW_VERSION);
    const char *code_at = strstr(link, "#sc2.") + 5;
    snprintf(bad, sizeof bad, "http://h/#sc2.%.*s", SC2_LINK_CODE_CHARS - 1, code_at);
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_LENGTH);
    snprintf(bad, sizeof bad, "http://h/#sc2.%sA", code_at);
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_LENGTH);
    snprintf(bad, sizeof bad, "http://h/#sc2.%s=", code_at);
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_ENCODING);
    snprintf(bad, sizeof bad, "http://h/#sc2.%.*s+%s", 10, code_at, code_at + 11);
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_ENCODING);
    /* a last character with bits set beyond the 52 bytes is not canonical base64 */
    snprintf(bad, sizeof bad, "http://h/#sc2.%.*s%c", SC2_LINK_CODE_CHARS - 1, code_at,
             code_at[SC2_LINK_CODE_CHARS - 1] == '_' ? '-' : '_');
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_ENCODING);
    /* a mistyped character: the check catches it */
    snprintf(bad, sizeof bad, "http://h/#sc2.%s", code_at);
    char *c = strstr(bad, "#sc2.") + 5 + 20;
    *c = *c == 'A' ? 'B' : 'A';
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_CHECK);
    snprintf(bad, sizeof bad, "ftp://h/#sc2.%s", code_at);
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_URL);
    snprintf(bad, sizeof bad, "http://u@h/#sc2.%s", code_at);
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_URL);
    snprintf(bad, sizeof bad, "http:///#sc2.%s", code_at);
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_URL);
    snprintf(bad, sizeof bad, "http://h/?q=1#sc2.%s", code_at);
    CHECK_EQ(parse(bad, id, sec, NULL, 0), SC2_LINK_E_URL);
    CHECK_EQ(parse(link, id, sec, base, 5), SC2_LINK_E_SPACE);
    CHECK_EQ(id[0], 0xee);

    /* format refusals */
    CHECK_EQ(sc2_link_format("localhost:8080", room, secret, l2, sizeof l2), SC2_LINK_E_URL);
    CHECK_EQ(sc2_link_format("http://h/#x", room, secret, l2, sizeof l2), SC2_LINK_E_URL);
    CHECK_EQ(sc2_link_format(BASE, room, secret, l2, (size_t)n), SC2_LINK_E_SPACE);
    CHECK_EQ(sc2_link_format(BASE, room, secret, l2, (size_t)n + 1), n);
    /* the longest base that still fits, and one more */
    char longbase[SC2_LINK_MAX_URL + 8];
    size_t maxb = SC2_LINK_MAX_URL - 1 - (1 + 4 + SC2_LINK_CODE_CHARS);
    memcpy(longbase, "http://h/", 9);
    memset(longbase + 9, 'a', maxb - 10);
    longbase[maxb - 1] = '/';
    longbase[maxb] = '\0';
    CHECK_EQ(sc2_link_format(longbase, room, secret, l2, sizeof l2), (int)SC2_LINK_MAX_URL - 1);
    CHECK_EQ(parse(l2, id, sec, base, sizeof base), 0);
    longbase[maxb - 1] = 'a';
    longbase[maxb] = '/';
    longbase[maxb + 1] = '\0';
    CHECK_EQ(sc2_link_format(longbase, room, secret, l2, sizeof l2), SC2_LINK_E_URL);

    /* ws url and room id text */
    char ws[SC2_LINK_MAX_URL], text[SC2_ROOM_ID_CHARS + 1];
    sc2_link_room_id_text(room, text);
    CHECK_EQ(strlen(text), SC2_ROOM_ID_CHARS);
    CHECK(strcmp(text, "AAECAwQFBgcICQoLDA0ODw") == 0);
    CHECK(sc2_link_ws_url("https://example.org/x", room, ws, sizeof ws) > 0);
    CHECK(strcmp(ws, "wss://example.org/x/room/AAECAwQFBgcICQoLDA0ODw") == 0);
    CHECK(sc2_link_ws_url(BASE, room, ws, sizeof ws) > 0);
    CHECK(strcmp(ws, "ws://localhost:8080/room/AAECAwQFBgcICQoLDA0ODw") == 0);
    CHECK_EQ(sc2_link_ws_url(BASE, room, ws, strlen(ws)), SC2_LINK_E_SPACE);
    CHECK_EQ(sc2_link_ws_url("nope", room, ws, sizeof ws), SC2_LINK_E_URL);
}

static void test_derivations(void)
{
    uint8_t seed[32], pk[32], sk[64], jpk[32], jsk[64], gk[32], want_gk[32];
    crypto_kdf_derive_from_key(seed, 32, 1, "sclink02", secret);
    crypto_sign_seed_keypair(pk, sk, seed);
    sc2_link_join_keypair(secret, jpk, jsk);
    CHECK_MEM(jpk, pk, 32);
    CHECK_MEM(jsk, sk, 64);
    memset(jpk, 0, sizeof jpk);
    sc2_link_join_keypair(secret, jpk, NULL);
    CHECK_MEM(jpk, pk, 32);
    memset(jsk, 0, sizeof jsk);
    sc2_link_join_keypair(secret, NULL, jsk);
    CHECK_MEM(jsk, sk, 64);
    crypto_kdf_derive_from_key(want_gk, 32, 2, "sclink02", secret);
    sc2_link_gi_key(secret, gk);
    CHECK_MEM(gk, want_gk, 32);
    CHECK(memcmp(gk, seed, 32) != 0);

    /* auth: signature over label || room_id || nonce with join_sk */
    uint8_t nonce[32], sig[64], m[16 + 16 + 32];
    for (int i = 0; i < 32; i++)
        nonce[i] = (uint8_t)(200 + i);
    sc2_link_auth_sign(secret, room, nonce, jpk, sig);
    CHECK_MEM(jpk, pk, 32);
    memcpy(m, "saltchat/v2 auth", 16);
    memcpy(m + 16, room, 16);
    memcpy(m + 32, nonce, 32);
    CHECK_EQ(crypto_sign_verify_detached(sig, m, sizeof m, pk), 0);
    CHECK_EQ(sc2_link_auth_verify(pk, room, nonce, sig), 0);
    uint8_t sig2[64];
    sc2_link_auth_sign(secret, room, nonce, NULL, sig2);
    CHECK_MEM(sig, sig2, 64); /* deterministic */
    sig[5] ^= 1;
    CHECK_EQ(sc2_link_auth_verify(pk, room, nonce, sig), SC2_LINK_E_PROOF);
    sig[5] ^= 1;
    nonce[0] ^= 1; /* a replay on another connection's nonce */
    CHECK_EQ(sc2_link_auth_verify(pk, room, nonce, sig), SC2_LINK_E_PROOF);
    nonce[0] ^= 1;
    uint8_t other[16];
    memcpy(other, room, 16);
    other[15] ^= 1; /* the same proof for another room */
    CHECK_EQ(sc2_link_auth_verify(pk, other, nonce, sig), SC2_LINK_E_PROOF);
    uint8_t other_secret[32], opk[32];
    memcpy(other_secret, secret, 32);
    other_secret[0] ^= 1;
    sc2_link_join_keypair(other_secret, opk, NULL);
    CHECK_EQ(sc2_link_auth_verify(opk, room, nonce, sig), SC2_LINK_E_PROOF);
}

static mls_identity ident(const char *name, uint8_t seedbyte, uint8_t seed[32])
{
    memset(seed, seedbyte, 32);
    mls_identity id = {(const uint8_t *)name, strlen(name), seed};
    return id;
}

static void test_gibox_and_rotation(void)
{
    uint8_t sa[32], sb[32], ctr = 100;
    mls_rng rng = {count_fill, &ctr};
    mls_identity alice = ident("alice", 1, sa), bob = ident("bob", 2, sb);
    mls_group *ga = NULL, *gb = NULL, *gx = NULL;
    mls_bytes gi = {0}, commit = {0}, gi2 = {0};
    uint8_t *box = NULL, *out = NULL;
    CHECK_EQ(mls_group_create(&ga, room, 16, &alice, NULL, 0, NOW, NULL), 0);
    if (!ga)
        return;
    CHECK_EQ(mls_group_group_info(ga, 1, &gi), 0);
    size_t bl = sc2_link_gibox_size(gi.len);
    CHECK_EQ(bl, gi.len + 48);
    box = malloc(bl);
    out = malloc(bl);
    if (!box || !out)
        abort();

    CHECK_EQ(sc2_link_gibox_seal(secret, 0, gi.p, gi.len, &rng, box, bl - 1), SC2_LINK_E_SPACE);
    CHECK_EQ(sc2_link_gibox_seal(secret, 0, gi.p, 0, &rng, box, bl), SC2_LINK_E_ARG);
    CHECK_EQ(sc2_link_gibox_seal(secret, 0, NULL, 5, &rng, box, bl), SC2_LINK_E_ARG);
    CHECK_EQ(sc2_link_gibox_seal(secret, 0, gi.p, SC2_GIBOX_MAX_GI + 1, &rng, box, bl),
             SC2_LINK_E_ARG);
    CHECK_EQ(sc2_link_gibox_seal(secret, 0, gi.p, gi.len, &rng, box, bl), (int)bl);
    /* the nonce is the rng's next 24 bytes; the box opens with libsodium directly */
    CHECK_EQ(box[0], 100);
    CHECK_EQ(box[23], 123);
    {
        uint8_t gk[32];
        uint8_t *pt = malloc(bl);
        if (!pt)
            abort();
        sc2_link_gi_key(secret, gk);
        CHECK_EQ(crypto_secretbox_open_easy(pt, box + 24, bl - 24, box, gk), 0);
        CHECK(pt[0] == 0 && pt[7] == 0);
        CHECK_MEM(pt + 8, gi.p, gi.len);
        free(pt);
    }

    size_t glen = 0;
    uint64_t ep = 99;
    CHECK_EQ(sc2_link_gibox_open(secret, room, box, bl, out, bl - 40, &glen, &ep), 0);
    CHECK_EQ(glen, gi.len);
    CHECK_EQ(ep, 0);
    CHECK_MEM(out, gi.p, gi.len);
    CHECK_EQ(sc2_link_gibox_open(secret, room, box, bl, out, bl - 41, &glen, &ep),
             SC2_LINK_E_SPACE);
    CHECK_EQ(sc2_link_gibox_open(secret, room, box, 48, out, bl, &glen, &ep), SC2_LINK_E_BOX);
    CHECK_EQ(sc2_link_gibox_open(secret, room, NULL, bl, out, bl, &glen, &ep), SC2_LINK_E_BOX);
    uint8_t wrong[32];
    memcpy(wrong, secret, 32);
    wrong[31] ^= 1;
    CHECK_EQ(sc2_link_gibox_open(wrong, room, box, bl, out, bl, &glen, &ep), SC2_LINK_E_BOX);
    size_t zeros = 0;
    for (size_t i = 0; i < bl - 40; i++) /* the work area the opener used is wiped */
        zeros += out[i] == 0;
    CHECK_EQ(zeros, bl - 40);
    box[bl / 2] ^= 1;
    CHECK_EQ(sc2_link_gibox_open(secret, room, box, bl, out, bl, &glen, &ep), SC2_LINK_E_BOX);
    box[bl / 2] ^= 1;
    /* another room id: the GroupInfo is not this room's */
    uint8_t other[16];
    memcpy(other, room, 16);
    other[0] ^= 1;
    CHECK_EQ(sc2_link_gibox_open(secret, other, box, bl, out, bl, &glen, &ep),
             SC2_LINK_E_GROUPINFO);
    zeros = 0;
    for (size_t i = 0; i < bl - 40; i++) /* it had opened: the plaintext is wiped */
        zeros += out[i] == 0;
    CHECK_EQ(zeros, bl - 40);
    /* a boxed epoch that is not the GroupInfo's */
    CHECK_EQ(sc2_link_gibox_seal(secret, 1, gi.p, gi.len, &rng, box, bl), (int)bl);
    CHECK_EQ(sc2_link_gibox_open(secret, room, box, bl, out, bl, &glen, &ep), SC2_LINK_E_EPOCH);
    /* not a GroupInfo at all, and a GroupInfo of another group id length */
    static const uint8_t junk[] = {0, 1, 0, 4, 0, 1, 0, 3, 5, 'a', 'b', 'c', 'd', 'e'};
    CHECK_EQ(sc2_link_gibox_seal(secret, 0, junk, sizeof junk, &rng, box, bl), (int)(sizeof junk + 48));
    CHECK_EQ(sc2_link_gibox_open(secret, room, box, sizeof junk + 48, out, bl, &glen, &ep),
             SC2_LINK_E_GROUPINFO);
    {
        uint8_t j2[2 + 2 + 2 + 2 + 1 + 16 + 8];
        memcpy(j2, junk, 8);
        j2[8] = 16;
        memcpy(j2 + 9, room, 16);
        memset(j2 + 25, 0, 8);
        for (int k = 0; k < 4; k++) {
            uint8_t v[sizeof j2];
            memcpy(v, j2, sizeof v);
            v[k == 0 ? 1 : k == 1 ? 3 : k == 2 ? 5 : 7] ^= 1; /* version, wf, gc version, suite */
            CHECK(sc2_link_gibox_seal(secret, 0, v, sizeof v, &rng, box, bl) > 0);
            CHECK_EQ(sc2_link_gibox_open(secret, room, box, sizeof v + 48, out, bl, &glen, &ep),
                     SC2_LINK_E_GROUPINFO);
        }
        CHECK(sc2_link_gibox_seal(secret, 0, j2, sizeof j2, &rng, box, bl) > 0);
        CHECK_EQ(sc2_link_gibox_open(secret, room, box, sizeof j2 + 48, out, bl, &glen, &ep), 0);
        CHECK(sc2_link_gibox_seal(secret, 0, j2, sizeof j2 - 1, &rng, box, bl) > 0);
        CHECK_EQ(sc2_link_gibox_open(secret, room, box, sizeof j2 - 1 + 48, out, bl, &glen, &ep),
                 SC2_LINK_E_GROUPINFO); /* epoch cut */
    }

    /* bob joins from what the box gives him, with an external commit */
    CHECK_EQ(sc2_link_gibox_seal(secret, 0, gi.p, gi.len, &rng, box, bl), (int)bl);
    CHECK_EQ(sc2_link_gibox_open(secret, room, box, bl, out, bl, &glen, &ep), 0);
    CHECK_EQ(mls_group_join_external(&gb, &commit, out, glen, NULL, 0, &bob, UINT32_MAX, NOW,
                                     NULL), 0);
    if (!gb)
        goto done;
    mls_event ev;
    CHECK_EQ(mls_group_process(ga, commit.p, commit.len, NOW, &ev), 0);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_epoch(ga), 1);
    CHECK_EQ(mls_group_epoch(gb), 1);

    /* alice removes bob: the new link comes from the exporter of epoch 2 */
    uint8_t before_a[32], before_b[32], new_a[32], want[32];
    CHECK_EQ(sc2_link_rotate(ga, room, before_a), 0);
    CHECK_EQ(sc2_link_rotate(gb, room, before_b), 0);
    CHECK_MEM(before_a, before_b, 32);
    CHECK_EQ(mls_group_exporter(ga, (const uint8_t *)"saltchat v2 link", 16, room, 16, want, 32), 0);
    CHECK_MEM(before_a, want, 32);
    mls_commit_out co;
    uint32_t bob_leaf = mls_group_own_leaf(gb);
    mls_commit_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.remove = &bob_leaf;
    opts.n_remove = 1;
    CHECK_EQ(mls_group_commit(ga, &opts, NOW, NULL, &co), 0);
    CHECK_EQ(mls_group_commit_merge(ga), 0);
    CHECK_EQ(sc2_link_rotate(ga, room, new_a), 0);
    CHECK(memcmp(new_a, before_a, 32) != 0);
    CHECK_EQ(mls_group_process(gb, co.commit.p, co.commit.len, NOW, &ev), 0);
    CHECK_EQ(ev.removed, 1);
    mls_event_free(&ev);
    uint8_t new_b[32];
    memset(new_b, 0x33, sizeof new_b);
    CHECK_EQ(sc2_link_rotate(gb, room, new_b), SC2_LINK_E_MLS);
    for (int i = 0; i < 32; i++)
        CHECK(new_b[i] == 0);
    CHECK_EQ(sc2_link_rotate(NULL, room, new_b), SC2_LINK_E_MLS);
    /* the old link does not open the new epoch's box */
    CHECK_EQ(mls_group_group_info(ga, 1, &gi2), 0);
    uint8_t *box2 = malloc(sc2_link_gibox_size(gi2.len)), *out2 = malloc(sc2_link_gibox_size(gi2.len));
    if (!box2 || !out2)
        abort();
    int b2 = sc2_link_gibox_seal(new_a, mls_group_epoch(ga), gi2.p, gi2.len, &rng, box2,
                                 sc2_link_gibox_size(gi2.len));
    CHECK(b2 > 0);
    CHECK_EQ(sc2_link_gibox_open(secret, room, box2, (size_t)b2, out2, (size_t)b2, &glen, &ep),
             SC2_LINK_E_BOX);
    CHECK_EQ(sc2_link_gibox_open(new_a, room, box2, (size_t)b2, out2, (size_t)b2, &glen, &ep), 0);
    CHECK_EQ(ep, 2);
    free(box2);
    free(out2);
    mls_commit_out_free(&co);
done:
    mls_group_free(ga);
    mls_group_free(gb);
    mls_group_free(gx);
    mls_bytes_free(&gi);
    mls_bytes_free(&gi2);
    mls_bytes_free(&commit);
    free(box);
    free(out);
}

static void test_strerror(void)
{
    for (int a = SC2_LINK_E_MLS; a <= SC2_LINK_E_URL; a++) {
        CHECK(strcmp(sc2_link_strerror(a), "unknown link error") != 0);
        for (int b = a + 1; b <= SC2_LINK_E_URL; b++)
            CHECK(strcmp(sc2_link_strerror(a), sc2_link_strerror(b)) != 0);
    }
    CHECK(strstr(sc2_link_strerror(SC2_LINK_E_OLD_VERSION), "older saltchat") != NULL);
    CHECK(strcmp(sc2_link_strerror(0), "ok") == 0);
    CHECK(strcmp(sc2_link_strerror(-100), "unknown link error") == 0);
    CHECK_EQ(sc2_link_secret_bytes(), 32);
    CHECK_EQ(sc2_link_room_id_bytes(), 16);
    CHECK_EQ(sc2_link_max_url(), SC2_LINK_MAX_URL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_format_parse();
    test_derivations();
    test_gibox_and_rotation();
    test_strerror();
    return check_finish("test_sc2_link");
}
