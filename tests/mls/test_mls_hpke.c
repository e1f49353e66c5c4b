/* HPKE (RFC 9180) base mode of mls_hpke against the RFC's own vector for
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305 (appendix A.2.1), and the
 * failure paths: low-order keys, tampering, short input, wrong labels. */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "../unit/check.h"
#include "../unit/hexutil.h"
#include "mls_err.h"
#include "mls_hpke.h"

#define INFO "4f6465206f6e2061204772656369616e2055726e"
#define IKM_E "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b"
#define PK_EM "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"
#define SK_EM "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600"
#define IKM_R "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df"
#define PK_RM "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a"
#define SK_RM "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb"
#define PT "4265617574792069732074727574682c20747275746820626561757479"
#define AAD0 "436f756e742d30"
#define CT0                                                                              \
    "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db"                   \
    "21993c62ce81883d2dd1b51a28"

static const struct {
    const char *ctx, *out;
} exports[] = {
    { "", "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e" },
    { "00", "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69" },
    { "54657374436f6e74657874", "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53" },
};

/* An mls_rng that hands out fixed bytes (the vector's ikmE). */
typedef struct fixed_rng {
    const uint8_t *p;
    size_t n;
} fixed_rng;

static void fixed_fill(void *ctx, uint8_t *out, size_t n)
{
    fixed_rng *f = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = i < f->n ? f->p[i] : 0;
}

static uint8_t info[64], ikm_e[32], ikm_r[32], sk_r[32], pk_r[32], pt[64], aad[16];
static size_t info_len, pt_len, aad_len;

static void load(void)
{
    info_len = hex_decode(INFO, info, sizeof info);
    pt_len = hex_decode(PT, pt, sizeof pt);
    aad_len = hex_decode(AAD0, aad, sizeof aad);
    CHECK(hex_decode(IKM_E, ikm_e, 32) == 32);
    CHECK(hex_decode(IKM_R, ikm_r, 32) == 32);
    CHECK(info_len == 20 && pt_len == 29 && aad_len == 7);
}

static void test_derive_keypair(void)
{
    uint8_t sk[32], pk[32];
    CHECK_EQ(mls_hpke_derive_keypair(ikm_e, 32, sk, pk), 0);
    CHECK(hex_equal(sk, 32, SK_EM));
    CHECK(hex_equal(pk, 32, PK_EM));
    CHECK_EQ(mls_hpke_derive_keypair(ikm_r, 32, sk_r, pk_r), 0);
    CHECK(hex_equal(sk_r, 32, SK_RM));
    CHECK(hex_equal(pk_r, 32, PK_RM));
    CHECK_EQ(mls_hpke_pub_from_priv(sk_r, pk), 0);
    CHECK(hex_equal(pk, 32, PK_RM));
}

static void test_seal_open(void)
{
    uint8_t enc[32], ct[64], out[64];
    CHECK_EQ(mls_hpke_seal_base_eph(pk_r, ikm_e, 32, info, info_len, aad, aad_len, pt, pt_len,
                                    enc, ct), 0);
    CHECK(hex_equal(enc, 32, PK_EM));
    CHECK(hex_equal(ct, pt_len + 16, CT0));

    /* The rng variant with the same ephemeral input gives the same bytes. */
    fixed_rng f = { ikm_e, 32 };
    mls_rng rng = { fixed_fill, &f };
    uint8_t enc2[32], ct2[64];
    CHECK_EQ(mls_hpke_seal_base(pk_r, info, info_len, aad, aad_len, pt, pt_len, &rng, enc2,
                                ct2), 0);
    CHECK_MEM(enc2, enc, 32);
    CHECK_MEM(ct2, ct, pt_len + 16);

    memset(out, 0xaa, sizeof out);
    CHECK_EQ(mls_hpke_open_base(sk_r, enc, info, info_len, aad, aad_len, ct, pt_len + 16, out),
             0);
    CHECK_MEM(out, pt, pt_len);

    /* Any flipped bit of the ciphertext, the aad, the info or enc fails. */
    for (size_t i = 0; i < pt_len + 16; i++) {
        ct[i] ^= 0x80;
        CHECK_EQ(mls_hpke_open_base(sk_r, enc, info, info_len, aad, aad_len, ct, pt_len + 16,
                                    out), MLS_E_CRYPTO);
        ct[i] ^= 0x80;
    }
    CHECK(sodium_is_zero(out, pt_len));
    aad[0] ^= 1;
    CHECK_EQ(mls_hpke_open_base(sk_r, enc, info, info_len, aad, aad_len, ct, pt_len + 16, out),
             MLS_E_CRYPTO);
    aad[0] ^= 1;
    info[3] ^= 1;
    CHECK_EQ(mls_hpke_open_base(sk_r, enc, info, info_len, aad, aad_len, ct, pt_len + 16, out),
             MLS_E_CRYPTO);
    info[3] ^= 1;
    enc[5] ^= 1;
    CHECK_EQ(mls_hpke_open_base(sk_r, enc, info, info_len, aad, aad_len, ct, pt_len + 16, out),
             MLS_E_CRYPTO);
    enc[5] ^= 1;
    /* Shorter than a tag: a decode error, never a read before the buffer. */
    for (size_t n = 0; n < 16; n++)
        CHECK_EQ(mls_hpke_open_base(sk_r, enc, info, info_len, aad, aad_len, ct, n, out),
                 MLS_E_DECODE);
    /* An empty plaintext works (ct is just the tag). */
    CHECK_EQ(mls_hpke_seal_base_eph(pk_r, ikm_e, 32, NULL, 0, NULL, 0, NULL, 0, enc, ct), 0);
    CHECK_EQ(mls_hpke_open_base(sk_r, enc, NULL, 0, NULL, 0, ct, 16, out), 0);
}

static void test_export(void)
{
    fixed_rng f = { ikm_e, 32 };
    mls_rng rng = { fixed_fill, &f };
    uint8_t enc[32], out[32], ctx[16];
    for (size_t i = 0; i < sizeof exports / sizeof exports[0]; i++) {
        size_t n = hex_decode(exports[i].ctx, ctx, sizeof ctx);
        CHECK_EQ(mls_hpke_export_sender(pk_r, info, info_len, ctx, n, &rng, enc, out, 32), 0);
        CHECK(hex_equal(enc, 32, PK_EM));
        CHECK(hex_equal(out, 32, exports[i].out));
        memset(out, 0, sizeof out);
        CHECK_EQ(mls_hpke_export_receiver(sk_r, enc, info, info_len, ctx, n, out, 32), 0);
        CHECK(hex_equal(out, 32, exports[i].out));
    }
    uint8_t big[1];
    CHECK_EQ(mls_hpke_export_receiver(sk_r, enc, info, info_len, NULL, 0, big,
                                      255 * 32 + 1), MLS_E_INVALID);
}

/* X25519 points of small order (and their non-canonical twins): each makes the DH
 * result all zero, so both sides must refuse. */
static const char *const low_order[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void test_low_order(void)
{
    uint8_t bad[32], enc[32], ct[64], out[64];
    for (size_t i = 0; i < sizeof low_order / sizeof low_order[0]; i++) {
        CHECK(hex_decode(low_order[i], bad, 32) == 32);
        CHECK_EQ(mls_hpke_seal_base_eph(bad, ikm_e, 32, info, info_len, aad, aad_len, pt,
                                        pt_len, enc, ct), MLS_E_CRYPTO);
        CHECK_EQ(mls_hpke_open_base(sk_r, bad, info, info_len, aad, aad_len, ct, pt_len + 16,
                                    out), MLS_E_CRYPTO);
        CHECK_EQ(mls_hpke_export_receiver(sk_r, bad, info, info_len, NULL, 0, out, 32),
                 MLS_E_CRYPTO);
        CHECK_EQ(mls_encrypt_with_label(bad, "x", NULL, 0, pt, pt_len, NULL, enc, ct),
                 MLS_E_CRYPTO);
    }
}

static void test_with_label(void)
{
    uint8_t kem[32], ct[64], out[64], ctx[300];
    memset(ctx, 7, sizeof ctx); /* a context over 63 bytes: two-byte varint */
    for (size_t clen = 0; clen <= sizeof ctx; clen += 100) {
        CHECK_EQ(mls_encrypt_with_label(pk_r, "UpdatePathNode", ctx, clen, pt, pt_len, NULL, kem,
                                        ct), 0);
        CHECK_EQ(mls_decrypt_with_label(sk_r, "UpdatePathNode", ctx, clen, kem, ct, pt_len + 16,
                                        out), 0);
        CHECK_MEM(out, pt, pt_len);
        CHECK_EQ(mls_decrypt_with_label(sk_r, "UpdatePathNodf", ctx, clen, kem, ct, pt_len + 16,
                                        out), MLS_E_CRYPTO);
        if (clen)
            CHECK_EQ(mls_decrypt_with_label(sk_r, "UpdatePathNode", ctx, clen - 1, kem, ct,
                                            pt_len + 16, out), MLS_E_CRYPTO);
    }
    char long_label[256];
    memset(long_label, 'a', 255);
    long_label[255] = '\0';
    CHECK_EQ(mls_encrypt_with_label(pk_r, long_label, NULL, 0, pt, pt_len, NULL, kem, ct),
             MLS_E_INVALID);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    load();
    test_derive_keypair();
    test_seal_open();
    test_export();
    test_low_order();
    test_with_label();
    return check_finish("test_mls_hpke");
}
