/*
 * fuzz_handshake: sc_hs_receive in every state. The fixture is the "hs-basic" test vector
 * (I: id 3 "alice", R: id 7 "bob"); byte 0 of the input selects what receives the rest:
 *   0 R waiting for HS1     1 I waiting for HS2     2 R waiting for HS3
 *   3 I done                4 R done
 *   5 I waiting for HS2, input = plaintext of HS2's identity box (sealed here with the
 *     real k_r2i, so the fuzzer reaches the name and signature checks)
 *   6 R waiting for HS3, input = plaintext of HS3's identity box (real k_i2r)
 */
#include "fuzz_common.h"
#include "sc_handshake.h"
#include "sc_identity.h"
#include "sc_invite.h"

typedef struct snap {
    sc_hs_ctx ctx;
    sc_rng rng;
    sc_hs hs;
} snap;

static snap st[5];
static uint8_t hs1[SC_HS_MAX_BYTES], hs2[SC_HS_MAX_BYTES], hs3[SC_HS_MAX_BYTES];
static uint8_t inner2[SC_HS_MAX_BYTES], inner3[SC_HS_MAX_BYTES];
static size_t n1, n2, n3, ni2, ni3;

static void party(snap *p, uint8_t fill, const uint8_t secret[32], const char *name)
{
    uint8_t seed[32];
    memset(p, 0, sizeof *p);
    memset(seed, fill, sizeof seed);
    sc_rng_init_seeded(&p->rng, seed);
    FUZZ_ASSERT(sc_identity_generate(&p->rng, p->ctx.ik_pk, p->ctx.ik_sk) == 0);
    sc_invite_derive(secret, p->ctx.room_id, p->ctx.room_key);
    p->ctx.name_len = (uint8_t)strlen(name);
    memcpy(p->ctx.name, name, p->ctx.name_len);
}

static void setup(void)
{
    static const uint8_t zero_nonce[24];
    uint8_t seed[32], secret[32], out[SC_HS_MAX_BYTES];
    size_t n;
    fuzz_sodium_init();
    fuzz_seed_counting(seed);
    sc_rng r;
    sc_rng_init_seeded(&r, seed);
    sc_invite_new_secret(&r, secret);
    snap I, R;
    party(&I, 1, secret, "alice");
    party(&R, 2, secret, "bob");
    FUZZ_ASSERT(sc_hs_start(&I.hs, &I.ctx, &I.rng, 3, 7, hs1, sizeof hs1, &n1) == 0);
    FUZZ_ASSERT(sc_hs_start(&R.hs, &R.ctx, &R.rng, 7, 3, out, sizeof out, &n) == 0);
    st[0] = R;
    st[1] = I;
    FUZZ_ASSERT(sc_hs_receive(&R.hs, &R.ctx, &R.rng, hs1, n1, hs2, sizeof hs2, &n2) == 0);
    st[2] = R;
    FUZZ_ASSERT(sc_hs_receive(&I.hs, &I.ctx, &I.rng, hs2, n2, hs3, sizeof hs3, &n3) == 1);
    st[3] = I;
    FUZZ_ASSERT(sc_hs_receive(&R.hs, &R.ctx, &R.rng, hs3, n3, out, sizeof out, &n) == 1);
    st[4] = R;
    FUZZ_ASSERT(crypto_secretbox_open_easy(inner2, hs2 + 34, n2 - 34, zero_nonce,
                                           st[3].hs.k_recv) == 0);
    ni2 = n2 - 34 - 16;
    FUZZ_ASSERT(crypto_secretbox_open_easy(inner3, hs3 + 2, n3 - 2, zero_nonce,
                                           st[4].hs.k_recv) == 0);
    ni3 = n3 - 2 - 16;
}

static int secrets_wiped(const sc_hs *hs)
{
    return fuzz_all_zero(hs->ek_sk, 32) && fuzz_all_zero(hs->k_send, 32) &&
           fuzz_all_zero(hs->k_recv, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t zero_nonce[24];
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1 || size > 1024)
        return 0;
    int mode = data[0] % 7;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    uint8_t *msg = NULL, out[SC_HS_MAX_BYTES];
    size_t n = 0;
    int target = mode == 5 ? 1 : mode == 6 ? 2 : mode;
    snap s = st[target];
    if (mode == 5 || mode == 6) {
        /* seal the input as the identity box, with the real key for that direction */
        size_t off = mode == 5 ? 34 : 2;
        msg = malloc(off + 16 + len);
        FUZZ_ASSERT(msg);
        memcpy(msg, mode == 5 ? hs2 : hs3, off);
        crypto_secretbox_easy(msg + off, in, len, zero_nonce,
                              mode == 5 ? st[3].hs.k_recv : st[4].hs.k_recv);
        in = msg;
        len = off + 16 + len;
    }
    int rc = sc_hs_receive(&s.hs, &s.ctx, &s.rng, in, len, out, sizeof out, &n);
    FUZZ_ASSERT(rc >= SC_HS_E_NAME && rc <= 1);
    FUZZ_ASSERT(n <= sizeof out);
    FUZZ_ASSERT(sc_hs_strerror(rc) != NULL);
    if (target >= 3) {
        /* completed handshakes refuse everything and keep their keys */
        FUZZ_ASSERT(rc == SC_HS_E_STATE && n == 0);
        FUZZ_ASSERT(memcmp(&s.hs, &st[target].hs, sizeof s.hs) == 0);
    } else if (rc == SC_HS_E_STATE) {
        /* another kind than the one awaited: refused without effect */
        FUZZ_ASSERT(n == 0 && len >= 2 && in[1] != (target == 0 ? 1 : target == 1 ? 2 : 3));
        FUZZ_ASSERT(memcmp(&s.hs, &st[target].hs, sizeof s.hs) == 0);
    } else if (rc < 0) {
        FUZZ_ASSERT(rc != SC_HS_E_SPACE);
        FUZZ_ASSERT(s.hs.state == SC_HS_FAILED && n == 0 && secrets_wiped(&s.hs));
    } else {
        /* success: only the genuine message can do it (the MAC, box and signatures
         * cannot be forged), and it yields the genuine reply */
        if (target == 0) {
            FUZZ_ASSERT(rc == 0 && len == n1 && memcmp(in, hs1, n1) == 0);
            FUZZ_ASSERT(n == n2 && memcmp(out, hs2, n2) == 0);
        } else if (target == 1) {
            FUZZ_ASSERT(rc == 1 && s.hs.state == SC_HS_DONE);
            FUZZ_ASSERT(mode == 1 ? (len == n2 && memcmp(in, hs2, n2) == 0)
                                  : (size - 1 == ni2 && memcmp(data + 1, inner2, ni2) == 0));
            FUZZ_ASSERT(n == n3 && memcmp(out, hs3, n3) == 0);
        } else {
            FUZZ_ASSERT(rc == 1 && s.hs.state == SC_HS_DONE && n == 0);
            FUZZ_ASSERT(mode == 2 ? (len == n3 && memcmp(in, hs3, n3) == 0)
                                  : (size - 1 == ni3 && memcmp(data + 1, inner3, ni3) == 0));
        }
    }
    sodium_memzero(&s, sizeof s);
    free(msg);
    return 0;
}
