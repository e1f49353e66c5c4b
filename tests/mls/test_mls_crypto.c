/* mls_crypto: HKDF against RFC 5869, the label helpers' bounds, AEAD failure paths, and
 * the Ed25519 verification rules mls_verify_with_label relies on libsodium for
 * (non-canonical S, small-order R and keys, non-canonical keys: all refused). */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "../unit/check.h"
#include "../unit/hexutil.h"
#include "mls_crypto.h"
#include "mls_err.h"

static void test_hkdf(void)
{
    /* RFC 5869 A.1 */
    uint8_t ikm[22], salt[13], info[10], prk[32], okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    mls_hkdf_extract(salt, sizeof salt, ikm, sizeof ikm, prk);
    CHECK(hex_equal(prk, 32, "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"));
    CHECK_EQ(mls_hkdf_expand(prk, 32, info, sizeof info, okm, sizeof okm), 0);
    CHECK(hex_equal(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                             "34007208d5b887185865"));
    /* The same input in pieces gives the same output. */
    mls_slice parts[3] = { { info, 3 }, { NULL, 0 }, { info + 3, 7 } };
    uint8_t okm2[42];
    CHECK_EQ(mls_hkdf_expand_v(prk, 32, parts, 3, okm2, sizeof okm2), 0);
    CHECK_MEM(okm, okm2, sizeof okm);
    /* RFC 5869 A.3: no salt, no info. */
    mls_hkdf_extract(NULL, 0, ikm, sizeof ikm, prk);
    CHECK(hex_equal(prk, 32, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"));
    CHECK_EQ(mls_hkdf_expand(prk, 32, NULL, 0, okm, sizeof okm), 0);
    CHECK(hex_equal(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                             "9d201395faa4b61a96c8"));
    uint8_t big[1];
    CHECK_EQ(mls_hkdf_expand(prk, 32, NULL, 0, big, 255 * 32 + 1), MLS_E_INVALID);
}

static void test_label_bounds(void)
{
    uint8_t secret[32] = { 0 }, out[64];
    char label[256];
    memset(label, 'a', sizeof label - 1);
    label[247] = '\0'; /* 8 + 247 = 255: fits */
    CHECK_EQ(mls_expand_with_label(secret, 32, label, NULL, 0, out, 32), 0);
    label[247] = 'a';
    label[248] = '\0'; /* 256: does not */
    CHECK_EQ(mls_expand_with_label(secret, 32, label, NULL, 0, out, 32), MLS_E_INVALID);
    CHECK_EQ(mls_derive_secret(secret, 32, label, out), MLS_E_INVALID);
    uint8_t sig[64];
    CHECK_EQ(mls_sign_with_label(secret, label, NULL, 0, sig), MLS_E_INVALID);
    CHECK_EQ(mls_expand_with_label(secret, 32, "x", NULL, 0, out, 65536), MLS_E_INVALID);
    /* DeriveSecret is ExpandWithLabel with an empty context and Nh bytes. */
    uint8_t a[32], b[32];
    CHECK_EQ(mls_derive_secret(secret, 32, "epoch", a), 0);
    CHECK_EQ(mls_expand_with_label(secret, 32, "epoch", NULL, 0, b, 32), 0);
    CHECK_MEM(a, b, 32);
}

static void test_aead(void)
{
    uint8_t key[32], nonce[12], buf[64 + 16], pt[64];
    randombytes_buf(key, sizeof key);
    randombytes_buf(nonce, sizeof nonce);
    randombytes_buf(pt, sizeof pt);
    memcpy(buf, pt, 64);
    CHECK_EQ(mls_aead_seal(key, nonce, (const uint8_t *)"ad", 2, buf, 64, buf), 0); /* in place */
    uint8_t out[64];
    CHECK_EQ(mls_aead_open(key, nonce, (const uint8_t *)"ad", 2, buf, 80, out), 0);
    CHECK_MEM(out, pt, 64);
    CHECK_EQ(mls_aead_open(key, nonce, (const uint8_t *)"ae", 2, buf, 80, out), MLS_E_CRYPTO);
    CHECK(sodium_is_zero(out, 64));
    buf[70] ^= 1;
    CHECK_EQ(mls_aead_open(key, nonce, (const uint8_t *)"ad", 2, buf, 80, out), MLS_E_CRYPTO);
    buf[70] ^= 1;
    for (size_t n = 0; n < 16; n++)
        CHECK_EQ(mls_aead_open(key, nonce, NULL, 0, buf, n, out), MLS_E_DECODE);
    CHECK_EQ(mls_aead_open(key, nonce, (const uint8_t *)"ad", 2, buf, 80, buf), 0); /* in place */
    CHECK_MEM(buf, pt, 64);
}

/* S + L (little-endian), still < 2^256: the same signature, non-canonically encoded. */
static void add_l(uint8_t s[32])
{
    static const uint8_t L[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                   0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned v = s[i] + L[i] + carry;
        s[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

static void test_signatures(void)
{
    uint8_t seed[32], pub[32], sig[64], bad[64];
    static const uint8_t msg[] = "content";
    mls_sig_keygen(NULL, seed, pub);
    uint8_t pub2[32];
    mls_sig_pub_from_seed(seed, pub2);
    CHECK_MEM(pub, pub2, 32);
    CHECK_EQ(mls_sign_with_label(seed, "LeafNodeTBS", msg, 7, sig), 0);
    CHECK_EQ(mls_verify_with_label(pub, 32, "LeafNodeTBS", msg, 7, sig, 64), 0);
    CHECK_EQ(mls_verify_with_label(pub, 32, "LeafNodeTBT", msg, 7, sig, 64), MLS_E_SIGNATURE);
    CHECK_EQ(mls_verify_with_label(pub, 32, "LeafNodeTBS", msg, 6, sig, 64), MLS_E_SIGNATURE);
    CHECK_EQ(mls_verify_with_label(pub, 31, "LeafNodeTBS", msg, 7, sig, 64), MLS_E_SIGNATURE);
    CHECK_EQ(mls_verify_with_label(pub, 32, "LeafNodeTBS", msg, 7, sig, 63), MLS_E_SIGNATURE);
    /* The label is "MLS 1.0 " + label inside SignContent, not the raw content. */
    CHECK(crypto_sign_verify_detached(sig, msg, 7, pub) != 0);

    /* Non-canonical S (S + L): the same group element, refused. */
    memcpy(bad, sig, 64);
    add_l(bad + 32);
    CHECK_EQ(mls_verify_with_label(pub, 32, "LeafNodeTBS", msg, 7, bad, 64), MLS_E_SIGNATURE);
    /* Small-order R (the identity) with S = 0. */
    memset(bad, 0, 64);
    bad[0] = 1;
    CHECK_EQ(mls_verify_with_label(pub, 32, "LeafNodeTBS", msg, 7, bad, 64), MLS_E_SIGNATURE);
    /* Small-order public keys (identity, order-2 point) accept nothing, not even the
     * identity-R signature that would satisfy the equation for them. */
    static const char *const weak_keys[] = {
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        /* non-canonical: y = p + 1 (the identity again) */
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    };
    for (size_t i = 0; i < sizeof weak_keys / sizeof weak_keys[0]; i++) {
        uint8_t k[32];
        CHECK(hex_decode(weak_keys[i], k, 32) == 32);
        CHECK_EQ(mls_verify_with_label(k, 32, "LeafNodeTBS", msg, 7, bad, 64),
                 MLS_E_SIGNATURE);
        CHECK_EQ(mls_verify_with_label(k, 32, "LeafNodeTBS", msg, 7, sig, 64),
                 MLS_E_SIGNATURE);
    }
}

static void test_ref_hash_and_mac(void)
{
    uint8_t out[32], want[32];
    /* RefHash("L", "v") = SHA-256(0x01 'L' 0x01 'v') */
    static const uint8_t enc[4] = { 1, 'L', 1, 'v' };
    CHECK_EQ(mls_ref_hash("L", (const uint8_t *)"v", 1, out), 0);
    mls_hash(enc, 4, want);
    CHECK_MEM(out, want, 32);
    /* RFC 4231 test case 2 */
    mls_mac((const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28,
            out);
    CHECK(hex_equal(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_hkdf();
    test_label_bounds();
    test_aead();
    test_signatures();
    test_ref_hash_and_mac();
    return check_finish("test_mls_crypto");
}
