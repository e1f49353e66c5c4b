#include "sc2_verify.h"
#include "sc2_be.h"

#include <sodium.h>
#include <string.h>

#define FP_LABEL "saltchat/v2 fingerprint"
#define CODE_LABEL "saltchat/v2 room code"
#define HASH_BYTES 64u

const char *sc2_vf_strerror(int err)
{
    switch (err) {
    case SC2_VF_E_MISMATCH:
        return "the number does not match (neither the fingerprint nor the safety number)";
    case SC2_VF_E_FORMAT:
        return "not a fingerprint (30 digits) or a safety number (60 digits)";
    default:
        return err >= 0 ? "ok" : "unknown verification error";
    }
}

/* g groups of 5 digits from h (5 bytes each), separated by spaces, NUL-terminated. */
static void digits_of(const uint8_t *h, unsigned g, char *out)
{
    for (unsigned j = 0; j < g; j++) {
        uint64_t v = 0;
        for (unsigned k = 0; k < 5; k++)
            v = (v << 8) | h[5 * j + k];
        v %= 100000u;
        for (int k = 4; k >= 0; k--) {
            out[k] = (char)('0' + v % 10);
            v /= 10;
        }
        out += 5;
        if (j + 1 < g)
            *out++ = ' ';
    }
    *out = '\0';
}

/* Groups of 5 from a string of digits: n digits to n + n/5 - 1 chars and a NUL. */
static void group(const char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        if (i && i % 5 == 0)
            *out++ = ' ';
        *out++ = d[i];
    }
    *out = '\0';
}

void sc2_vf_fingerprint(const uint8_t identity[SC2_VF_IDENTITY_BYTES],
                        char out[SC2_VF_FP_CHARS + 1])
{
    uint8_t h[HASH_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)FP_LABEL, sizeof FP_LABEL - 1);
    crypto_generichash_update(&st, identity, SC2_VF_IDENTITY_BYTES);
    crypto_generichash_final(&st, h, HASH_BYTES);
    for (unsigned i = 1; i < SC2_VF_ITERATIONS; i++) {
        crypto_generichash_init(&st, NULL, 0, HASH_BYTES);
        crypto_generichash_update(&st, h, HASH_BYTES);
        crypto_generichash_update(&st, identity, SC2_VF_IDENTITY_BYTES);
        crypto_generichash_final(&st, h, HASH_BYTES);
    }
    digits_of(h, SC2_VF_FP_DIGITS / 5u, out);
}

int sc2_vf_digits(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return SC2_VF_E_FORMAT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ' || s[i] == '\t')
            continue;
        if (s[i] < '0' || s[i] > '9' || n + 1 >= cap) {
            out[0] = '\0';
            return SC2_VF_E_FORMAT;
        }
        out[n++] = s[i];
    }
    out[n] = '\0';
    return (int)n;
}

int sc2_vf_safety_from_fps(const char *fp_a, const char *fp_b, char out[SC2_VF_SN_CHARS + 1])
{
    char a[SC2_VF_FP_DIGITS + 1], b[SC2_VF_FP_DIGITS + 1], both[SC2_VF_SN_DIGITS];
    if (sc2_vf_digits(fp_a, strlen(fp_a), a, sizeof a) != (int)SC2_VF_FP_DIGITS ||
        sc2_vf_digits(fp_b, strlen(fp_b), b, sizeof b) != (int)SC2_VF_FP_DIGITS) {
        out[0] = '\0';
        return SC2_VF_E_FORMAT;
    }
    int lo_a = memcmp(a, b, SC2_VF_FP_DIGITS) <= 0;
    memcpy(both, lo_a ? a : b, SC2_VF_FP_DIGITS);
    memcpy(both + SC2_VF_FP_DIGITS, lo_a ? b : a, SC2_VF_FP_DIGITS);
    group(both, SC2_VF_SN_DIGITS, out);
    return 0;
}

void sc2_vf_safety_number(const uint8_t a[SC2_VF_IDENTITY_BYTES],
                          const uint8_t b[SC2_VF_IDENTITY_BYTES], char out[SC2_VF_SN_CHARS + 1])
{
    char fa[SC2_VF_FP_CHARS + 1], fb[SC2_VF_FP_CHARS + 1];
    sc2_vf_fingerprint(a, fa);
    sc2_vf_fingerprint(b, fb);
    (void)sc2_vf_safety_from_fps(fa, fb, out); /* both are 30 digits */
}

void sc2_vf_room_code(const uint8_t room_id[SC2_VF_ROOM_ID_BYTES], uint64_t epoch,
                      const uint8_t epoch_authenticator[SC2_VF_AUTH_BYTES],
                      char out[SC2_VF_CODE_CHARS + 1])
{
    uint8_t h[HASH_BYTES], e[8];
    crypto_generichash_state st;
    sc2_be_st64(e, epoch);
    crypto_generichash_init(&st, NULL, 0, HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)CODE_LABEL, sizeof CODE_LABEL - 1);
    crypto_generichash_update(&st, room_id, SC2_VF_ROOM_ID_BYTES);
    crypto_generichash_update(&st, e, sizeof e);
    crypto_generichash_update(&st, epoch_authenticator, SC2_VF_AUTH_BYTES);
    crypto_generichash_final(&st, h, HASH_BYTES);
    digits_of(h, SC2_VF_CODE_DIGITS / 5u, out);
}

int sc2_vf_check(const char *typed, size_t len, const char *fp_theirs, const char *sn)
{
    char t[SC2_VF_SN_DIGITS + 1], want[SC2_VF_SN_DIGITS + 1];
    int n = sc2_vf_digits(typed, len, t, sizeof t);
    if (n == (int)SC2_VF_FP_DIGITS) {
        if (sc2_vf_digits(fp_theirs, strlen(fp_theirs), want, sizeof want) != n)
            return SC2_VF_E_FORMAT;
        return sodium_memcmp(t, want, (size_t)n) == 0 ? SC2_VF_FINGERPRINT : SC2_VF_E_MISMATCH;
    }
    if (n == (int)SC2_VF_SN_DIGITS) {
        if (sc2_vf_digits(sn, strlen(sn), want, sizeof want) != n)
            return SC2_VF_E_FORMAT;
        return sodium_memcmp(t, want, (size_t)n) == 0 ? SC2_VF_SAFETY_NUMBER : SC2_VF_E_MISMATCH;
    }
    return SC2_VF_E_FORMAT;
}
