#include "sc_identity.h"

#include <sodium.h>
#include <string.h>

#define FP_LABEL "saltchat/v1 fingerprint"

int sc_identity_generate(sc_rng *rng, uint8_t pk[SC_IDENTITY_PK_BYTES],
                         uint8_t sk[SC_IDENTITY_SK_BYTES])
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    sc_rng_bytes(rng, seed, sizeof seed);
    int rc = crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof seed);
    return rc == 0 ? 0 : -1;
}

int sc_identity_check(const uint8_t pk[SC_IDENTITY_PK_BYTES],
                      const uint8_t sk[SC_IDENTITY_SK_BYTES])
{
    uint8_t pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
    int rc = -1;
    /* an Ed25519 secret key is seed || pk: rebuild it from the seed and compare */
    if (crypto_sign_seed_keypair(pk2, sk2, sk) != 0)
        goto fail;
    if (sodium_memcmp(sk2, sk, sizeof sk2) != 0 || sodium_memcmp(pk2, pk, sizeof pk2) != 0)
        goto fail;
    rc = 0;
fail:
    sodium_memzero(sk2, sizeof sk2);
    return rc;
}

void sc_identity_fingerprint(const uint8_t pk[SC_IDENTITY_PK_BYTES],
                             char out[SC_IDENTITY_FINGERPRINT_CHARS + 1])
{
    uint8_t h[64], buf[64 + SC_IDENTITY_PK_BYTES];
    memcpy(buf, FP_LABEL, sizeof FP_LABEL - 1);
    memcpy(buf + sizeof FP_LABEL - 1, pk, SC_IDENTITY_PK_BYTES);
    crypto_generichash(h, sizeof h, buf, sizeof FP_LABEL - 1 + SC_IDENTITY_PK_BYTES, NULL, 0);
    memcpy(buf + 64, pk, SC_IDENTITY_PK_BYTES);
    for (unsigned r = 1; r < SC_IDENTITY_FINGERPRINT_ROUNDS; r++) {
        memcpy(buf, h, 64);
        crypto_generichash(h, sizeof h, buf, sizeof buf, NULL, 0);
    }
    for (int g = 0; g < 6; g++) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++)
            v = v << 8 | h[5 * g + k];
        v %= 100000u;
        for (int d = 4; d >= 0; d--) {
            out[5 * g + d] = (char)('0' + v % 10);
            v /= 10;
        }
    }
    out[SC_IDENTITY_FINGERPRINT_CHARS] = '\0';
}

void sc_identity_safety_from_fingerprints(const char *fa, const char *fb,
                                          char out[SC_IDENTITY_SAFETY_CHARS + 1])
{
    if (strncmp(fa, fb, SC_IDENTITY_FINGERPRINT_CHARS) > 0) {
        const char *t = fa;
        fa = fb;
        fb = t;
    }
    size_t o = 0;
    for (int g = 0; g < 12; g++) {
        const char *src = g < 6 ? fa + 5 * g : fb + 5 * (g - 6);
        if (g)
            out[o++] = ' ';
        memcpy(out + o, src, 5);
        o += 5;
    }
    out[o] = '\0';
}

void sc_identity_safety_number(const uint8_t a[SC_IDENTITY_PK_BYTES],
                               const uint8_t b[SC_IDENTITY_PK_BYTES],
                               char out[SC_IDENTITY_SAFETY_CHARS + 1])
{
    char fa[SC_IDENTITY_FINGERPRINT_CHARS + 1], fb[SC_IDENTITY_FINGERPRINT_CHARS + 1];
    sc_identity_fingerprint(a, fa);
    sc_identity_fingerprint(b, fb);
    sc_identity_safety_from_fingerprints(fa, fb, out);
}

size_t sc_identity_pkbytes(void)
{
    return SC_IDENTITY_PK_BYTES;
}

size_t sc_identity_skbytes(void)
{
    return SC_IDENTITY_SK_BYTES;
}

size_t sc_identity_fingerprint_chars(void)
{
    return SC_IDENTITY_FINGERPRINT_CHARS;
}

size_t sc_identity_safety_chars(void)
{
    return SC_IDENTITY_SAFETY_CHARS;
}
