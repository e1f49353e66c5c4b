/* Unit test of wc_api natively (and under the sanitizers): sealing, the sealed identity, the
 * link check, and a room created, saved, restored and refused under another key. The page
 * test (tests/browser) runs the same code as WebAssembly against the real relay. */
#include <stdio.h>
#include <string.h>

#include "sc2_link.h"
#include "sc2_verify.h"
#include "wc_api.h"

static int failures;
#define CHECK(c)                                                                         \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            failures++;                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);        \
        }                                                                                \
    } while (0)

static void test_seal(void)
{
    static const uint8_t msg[] = "a secret history";
    uint8_t *box = wc_seal(msg, sizeof msg);
    size_t n = wc_last_len();
    CHECK(box && n == sizeof msg + 40);
    uint8_t *back = box ? wc_open(box, n) : NULL;
    CHECK(back && wc_last_len() == sizeof msg && memcmp(back, msg, sizeof msg) == 0);
    wc_free_buf(back);
    if (box) {
        box[n - 1] ^= 1; /* forged */
        CHECK(wc_open(box, n) == NULL);
        CHECK(wc_open(box, 39) == NULL); /* shorter than nonce + tag */
    }
    wc_free_buf(box);
}

int main(void)
{
    uint8_t key[32], key2[32];
    CHECK(wc_init() == 0);
    CHECK(wc_seal((const uint8_t *)"x", 1) == NULL); /* no storage key yet */
    wc_store_key_new(key);
    wc_store_key_new(key2);
    CHECK(memcmp(key, key2, sizeof key) != 0);
    wc_store_key_set(key);
    test_seal();

    uint8_t *id = wc_identity_new();
    size_t id_len = wc_last_len();
    char hex[65], fp[36];
    CHECK(id && id_len == 32 + 40);
    CHECK(wc_identity_public(id, id_len, hex, fp) == 0);
    CHECK(strlen(hex) == 64 && strlen(fp) == 35 && fp[5] == ' ');
    {
        /* the page's numbers are sc2_verify's */
        char fp2[36], sn[72], sn2[72], other[36], junk[72];
        CHECK(wc_verify_fingerprint(hex, fp2) == 0 && strcmp(fp, fp2) == 0);
        CHECK(wc_verify_fingerprint("zz", fp2) == -1);
        CHECK(wc_verify_fingerprint("00000000000000000000000000000000000000000000000000000000000000000000",
                                    fp2) == -1);
        CHECK(wc_verify_fingerprint("0000000000000000000000000000000000000000000000000000000000000000",
                                    other) == 0 &&
              strcmp(other, "33344 57900 47678 93939 09174 55641") == 0); /* v2_verify.txt */
        CHECK(wc_verify_safety_number(fp, other, sn) == 0 &&
              wc_verify_safety_number(other, fp, sn2) == 0 && strcmp(sn, sn2) == 0);
        CHECK(wc_verify_safety_number("123", other, junk) == -1);
        CHECK(wc_verify_check(other, fp, sn) == SC2_VF_E_MISMATCH);
        CHECK(wc_verify_check(fp, fp, sn) == SC2_VF_FINGERPRINT);
        CHECK(wc_verify_check(sn2, fp, sn) == SC2_VF_SAFETY_NUMBER);
        CHECK(wc_verify_check("12", fp, sn) == SC2_VF_E_FORMAT);
        CHECK(strstr(wc_verify_strerror(SC2_VF_E_FORMAT), "30 digits") != NULL);
    }

    CHECK(wc_link_check("http://127.0.0.1:1/#sc1.AAAA") == SC2_LINK_E_OLD_VERSION);
    CHECK(wc_link_check("http://127.0.0.1:1/") == SC2_LINK_E_NO_FRAGMENT);
    CHECK(strstr(wc_link_strerror(SC2_LINK_E_OLD_VERSION), "older saltchat") != NULL);

    int err = 1;
    CHECK(wc_room_create(id, id_len, "", 1000, &err) == NULL && err == WC_E_CONFIG);
    wc_room *r = wc_room_create(id, id_len, "Alice", 1000, &err);
    CHECK(r && err == 0);
    if (!r)
        return 1;
    CHECK(strcmp(wc_room_my_identity(r), hex) == 0);
    {
        char code[24];
        CHECK(wc_room_code(r, code) == 0 && strlen(code) == 23 && code[5] == ' ');
    }
    const char *l = wc_room_link(r, "http://127.0.0.1:8080/");
    char link[SC2_LINK_MAX_URL];
    snprintf(link, sizeof link, "%s", l ? l : "");
    CHECK(l && wc_link_check(link) == 0);
    CHECK(wc_room_send(r, (const uint8_t *)"queued", 6, 1001) >= 0);
    CHECK(wc_room_remove(r, "zz", 1001) < 0);
    CHECK(strstr(wc_room_members(r), "\"name\":\"Alice\"") != NULL);

    uint8_t *saved = wc_room_save(r);
    size_t saved_len = wc_last_len();
    CHECK(saved != NULL);
    wc_room *back = wc_room_restore(id, id_len, "Alice", saved, saved_len, &err);
    CHECK(back && err == 0);
    if (back) {
        CHECK(strcmp(wc_room_id(back), wc_room_id(r)) == 0);
        CHECK(wc_room_outbox_len(back) == 1);
        const char *l2 = wc_room_link(back, "http://127.0.0.1:8080/");
        CHECK(l2 && strcmp(l2, link) == 0);
    }
    wc_room_close(back);
    CHECK(wc_room_restore(id, id_len, "Bob", saved, saved_len, &err) == NULL && err == WC_E_STATE);

    /* Another storage key opens nothing: neither the room nor the identity. */
    wc_store_key_set(key2);
    CHECK(wc_identity_public(id, id_len, hex, fp) == -1);
    CHECK(wc_room_restore(id, id_len, "Alice", saved, saved_len, &err) == NULL &&
          err == WC_E_CONFIG);
    wc_free_buf(saved);
    wc_free_buf(id);
    wc_room_close(r);
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    else
        printf("test_wc_api: ok\n");
    return failures ? 1 : 0;
}
