/*
 * fuzz_group: sc_group_peek and sc_group_open. The receiver holds the chain of the group
 * test vectors (seed 03*32) at index 0, room of the invite vector, sender 3. Byte 0 of
 * the input selects the mode:
 *   0  the rest is a GROUP message, opened as received
 *   1  the rest is a GROUP message without its signature; it is signed here with the
 *      chain's key, so the fuzzer gets past the signature to the index, decryption and
 *      padding checks
 *   2  bytes 1-2 pick an index (mod 1100), the rest is a padded plaintext; it is boxed
 *      with that index's message key and signed here, so the fuzzer reaches unpadding
 * Invariants: a failure leaves the chain unchanged and the output wiped; the signature
 * never fails on messages signed here; a success has canonical padding and the index
 * becomes a replay.
 */
#include "fuzz_common.h"
#include "sc_bytes.h"
#include "sc_group.h"
#include "sc_invite.h"

static sc_chain_out sender_chain;
static sc_chain_in receiver;
static uint8_t room_id[32];
#define SENDER 3u

static void setup(void)
{
    uint8_t seed[32], secret[32];
    fuzz_sodium_init();
    fuzz_seed_counting(seed);
    sc_rng r;
    sc_rng_init_seeded(&r, seed);
    sc_invite_new_secret(&r, secret);
    sc_invite_derive(secret, room_id, NULL);
    memset(seed, 3, sizeof seed);
    sc_rng_init_seeded(&r, seed);
    sc_chain_out_new(&sender_chain, &r);
    uint8_t skd[SC_CHAIN_SKD_BYTES];
    sc_chain_out_skd(&sender_chain, skd);
    FUZZ_ASSERT(sc_chain_in_init(&receiver, skd) == 0);
}

static void sign_body(uint8_t *msg, size_t body)
{
    static const char label[] = "saltchat/v1 group";
    size_t pre = sizeof label - 1 + 32 + 8;
    uint8_t *m = malloc(pre + body);
    FUZZ_ASSERT(m);
    memcpy(m, label, sizeof label - 1);
    memcpy(m + sizeof label - 1, room_id, 32);
    sc_store64(m + sizeof label - 1 + 32, SENDER);
    memcpy(m + pre, msg, body);
    crypto_sign_detached(msg + body, NULL, m, pre + body, sender_chain.sign_sk);
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1 || size > 70000)
        return 0;
    int mode = data[0] % 3;
    uint8_t *msg = NULL;
    size_t len = 0;
    if (mode == 0) {
        len = size - 1;
        msg = malloc(len ? len : 1);
        FUZZ_ASSERT(msg);
        memcpy(msg, data + 1, len);
    } else if (mode == 1) {
        len = size - 1 + SC_GROUP_SIG_BYTES;
        msg = malloc(len);
        FUZZ_ASSERT(msg);
        memcpy(msg, data + 1, size - 1);
        sign_body(msg, size - 1);
    } else {
        if (size < 3)
            return 0;
        uint32_t index = sc_load16(data + 1) % 1100;
        size_t p = size - 3;
        uint8_t mk[SC_CHAIN_MK_BYTES];
        if (sc_chain_in_key(&receiver, index, mk) != 0)
            memset(mk, 0, sizeof mk);
        len = SC_GROUP_HEADER_BYTES + 16 + p + SC_GROUP_SIG_BYTES;
        msg = malloc(len);
        FUZZ_ASSERT(msg);
        msg[0] = 1;
        msg[1] = 5;
        sc_store32(msg + 2, receiver.chain_id);
        sc_store32(msg + 6, index);
        crypto_secretbox_easy(msg + SC_GROUP_HEADER_BYTES, data + 3, p, mk + 32, mk);
        sign_body(msg, len - SC_GROUP_SIG_BYTES);
        sodium_memzero(mk, sizeof mk);
    }
    uint32_t cid = 0, idx = 0;
    int prc = sc_group_peek(msg, len, &cid, &idx);
    sc_chain_in c = receiver; /* skipped is NULL: a plain copy is a fresh chain */
    size_t cap = len, plen = 0;
    uint8_t *plain = malloc(cap ? cap : 1);
    FUZZ_ASSERT(plain);
    memset(plain, 0xee, cap);
    int rc = sc_group_open(&c, room_id, SENDER, msg, len, plain, cap, &plen);
    FUZZ_ASSERT(sc_group_strerror(rc) != NULL);
    if (prc != 0)
        FUZZ_ASSERT(rc == SC_GROUP_E_MALFORMED);
    if (mode != 0 && prc == 0 && cid == receiver.chain_id)
        FUZZ_ASSERT(rc != SC_GROUP_E_SIGNATURE);
    if (rc != 0) {
        FUZZ_ASSERT(c.next == receiver.next && c.n_skipped == 0 && plen == 0);
        FUZZ_ASSERT(memcmp(c.ck, receiver.ck, 32) == 0);
        if (rc == SC_GROUP_E_CIPHERTEXT)
            FUZZ_ASSERT(fuzz_all_zero(plain, len - SC_GROUP_MIN_BYTES + SC_GROUP_MIN_PADDED));
    } else {
        FUZZ_ASSERT(prc == 0 && cid == receiver.chain_id && c.next == idx + 1);
        size_t p = len - SC_GROUP_MIN_BYTES + SC_GROUP_MIN_PADDED;
        FUZZ_ASSERT(sc_group_padded_len(plen) == p && plen < p);
        if (mode == 2) {
            /* padding is canonical: re-padding the plaintext gives the fuzzer's bytes */
            uint8_t *re = malloc(p);
            size_t pl;
            FUZZ_ASSERT(re);
            memcpy(re, plain, plen);
            FUZZ_ASSERT(sodium_pad(&pl, re, plen, p, p) == 0 && pl == p);
            FUZZ_ASSERT(memcmp(re, data + 3, p) == 0);
            free(re);
        }
        uint64_t id, t;
        const uint8_t *text;
        size_t tl;
        int trc = sc_group_text_decode(plain, plen, &id, &t, &text, &tl);
        FUZZ_ASSERT(trc == 0 || trc == SC_GROUP_E_MALFORMED);
        /* the same message again is refused as a replay */
        FUZZ_ASSERT(sc_group_open(&c, room_id, SENDER, msg, len, plain, cap, &plen) ==
                    SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_REPLAY);
    }
    sc_chain_in_free(&c);
    free(plain);
    free(msg);
    return 0;
}
