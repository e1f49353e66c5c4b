/* test_sc2_verify: fingerprints, safety numbers and room codes (shared/v2/sc2_verify.h):
 * the fingerprint equals the definition computed by hand, its shape, the safety number is
 * the same from both sides, the room code moves with every input, user input parsing and
 * every error. */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "sc2_verify.h"

static void shape(const char *s, size_t digits)
{
    CHECK_EQ(strlen(s), digits + digits / 5 - 1);
    for (size_t i = 0; s[i]; i++)
        CHECK(i % 6 == 5 ? s[i] == ' ' : (s[i] >= '0' && s[i] <= '9'));
}

static void test_fingerprint(void)
{
    uint8_t id[32], h[64];
    char fp[SC2_VF_FP_CHARS + 1], want[SC2_VF_FP_CHARS + 1];
    for (int i = 0; i < 32; i++)
        id[i] = (uint8_t)(i * 7 + 1);
    /* by hand: h_0 = label, h_i = H(64, h_{i-1} || id) */
    uint8_t buf[64 + 32];
    size_t n = strlen("saltchat/v2 fingerprint");
    memcpy(buf, "saltchat/v2 fingerprint", n);
    memcpy(buf + n, id, 32);
    crypto_generichash(h, 64, buf, n + 32, NULL, 0);
    for (int i = 1; i < 5200; i++) {
        memcpy(buf, h, 64);
        memcpy(buf + 64, id, 32);
        crypto_generichash(h, 64, buf, 96, NULL, 0);
    }
    char *o = want;
    for (int j = 0; j < 6; j++) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++)
            v = v << 8 | h[5 * j + k];
        o += sprintf(o, j ? " %05u" : "%05u", (unsigned)(v % 100000));
    }
    sc2_vf_fingerprint(id, fp);
    CHECK(strcmp(fp, want) == 0);
    shape(fp, 30);
    /* one bit of the key changes it */
    id[31] ^= 1;
    sc2_vf_fingerprint(id, want);
    CHECK(strcmp(fp, want) != 0);
}

static void test_safety_number(void)
{
    uint8_t a[32], b[32];
    char fa[SC2_VF_FP_CHARS + 1], fb[SC2_VF_FP_CHARS + 1], ab[SC2_VF_SN_CHARS + 1],
        ba[SC2_VF_SN_CHARS + 1], x[SC2_VF_SN_CHARS + 1];
    randombytes_buf(a, sizeof a);
    randombytes_buf(b, sizeof b);
    sc2_vf_fingerprint(a, fa);
    sc2_vf_fingerprint(b, fb);
    sc2_vf_safety_number(a, b, ab);
    sc2_vf_safety_number(b, a, ba);
    CHECK(strcmp(ab, ba) == 0);
    shape(ab, 60);
    /* the smaller fingerprint first, then the other */
    const char *lo = strcmp(fa, fb) <= 0 ? fa : fb, *hi = lo == fa ? fb : fa;
    CHECK(memcmp(ab, lo, SC2_VF_FP_CHARS) == 0);
    CHECK(ab[SC2_VF_FP_CHARS] == ' ');
    CHECK(strcmp(ab + SC2_VF_FP_CHARS + 1, hi) == 0);
    CHECK_EQ(sc2_vf_safety_from_fps(fb, fa, x), 0);
    CHECK(strcmp(x, ab) == 0);
    CHECK_EQ(sc2_vf_safety_from_fps("123", fa, x), SC2_VF_E_FORMAT);
    CHECK_EQ(sc2_vf_safety_from_fps(fa, "12345 12345 12345 12345 12345 1234x", x),
             SC2_VF_E_FORMAT);
    CHECK(x[0] == '\0');
}

static void test_room_code(void)
{
    uint8_t room[16], ea[32];
    char c1[SC2_VF_CODE_CHARS + 1], c2[SC2_VF_CODE_CHARS + 1];
    memset(room, 3, sizeof room);
    memset(ea, 9, sizeof ea);
    sc2_vf_room_code(room, 4, ea, c1);
    shape(c1, 20);
    sc2_vf_room_code(room, 4, ea, c2);
    CHECK(strcmp(c1, c2) == 0);
    sc2_vf_room_code(room, 5, ea, c2);
    CHECK(strcmp(c1, c2) != 0);
    ea[0] ^= 1;
    sc2_vf_room_code(room, 4, ea, c2);
    CHECK(strcmp(c1, c2) != 0);
    ea[0] ^= 1;
    room[15] ^= 0x80;
    sc2_vf_room_code(room, 4, ea, c2);
    CHECK(strcmp(c1, c2) != 0);
}

static void test_digits_and_check(void)
{
    uint8_t a[32], b[32];
    char fa[SC2_VF_FP_CHARS + 1], fb[SC2_VF_FP_CHARS + 1], sn[SC2_VF_SN_CHARS + 1], d[8];
    char typed[200];
    memset(a, 1, sizeof a);
    memset(b, 2, sizeof b);
    sc2_vf_fingerprint(a, fa);
    sc2_vf_fingerprint(b, fb);
    sc2_vf_safety_number(a, b, sn);

    CHECK_EQ(sc2_vf_digits(" 1 2\t3 ", 7, d, sizeof d), 3);
    CHECK(strcmp(d, "123") == 0);
    CHECK_EQ(sc2_vf_digits("", 0, d, sizeof d), 0);
    CHECK_EQ(sc2_vf_digits("12-3", 4, d, sizeof d), SC2_VF_E_FORMAT);
    CHECK_EQ(sc2_vf_digits("1234567", 7, d, sizeof d), 7);
    CHECK_EQ(sc2_vf_digits("12345678", 8, d, sizeof d), SC2_VF_E_FORMAT);
    CHECK_EQ(sc2_vf_digits("1", 1, d, 0), SC2_VF_E_FORMAT);

    /* theirs (b) as written, without spaces, and our safety number */
    CHECK_EQ(sc2_vf_check(fb, strlen(fb), fb, sn), SC2_VF_FINGERPRINT);
    size_t n = (size_t)sc2_vf_digits(fb, strlen(fb), typed, sizeof typed);
    CHECK_EQ(sc2_vf_check(typed, n, fb, sn), SC2_VF_FINGERPRINT);
    CHECK_EQ(sc2_vf_check(sn, strlen(sn), fb, sn), SC2_VF_SAFETY_NUMBER);
    n = (size_t)sc2_vf_digits(sn, strlen(sn), typed, sizeof typed);
    CHECK_EQ(sc2_vf_check(typed, n, fb, sn), SC2_VF_SAFETY_NUMBER);
    /* our own fingerprint is not theirs */
    CHECK_EQ(sc2_vf_check(fa, strlen(fa), fb, sn), SC2_VF_E_MISMATCH);
    /* one digit off */
    snprintf(typed, sizeof typed, "%s", sn);
    typed[0] = typed[0] == '9' ? '0' : (char)(typed[0] + 1);
    CHECK_EQ(sc2_vf_check(typed, strlen(typed), fb, sn), SC2_VF_E_MISMATCH);
    /* a prefix, extra digits, letters, dashes */
    CHECK_EQ(sc2_vf_check(fb, 10, fb, sn), SC2_VF_E_FORMAT);
    snprintf(typed, sizeof typed, "%s1", fb);
    CHECK_EQ(sc2_vf_check(typed, strlen(typed), fb, sn), SC2_VF_E_FORMAT);
    snprintf(typed, sizeof typed, "%s%s1", sn, sn);
    CHECK_EQ(sc2_vf_check(typed, strlen(typed), fb, sn), SC2_VF_E_FORMAT);
    CHECK_EQ(sc2_vf_check("yes", 3, fb, sn), SC2_VF_E_FORMAT);
    snprintf(typed, sizeof typed, "%s", fb);
    typed[5] = '-';
    CHECK_EQ(sc2_vf_check(typed, strlen(typed), fb, sn), SC2_VF_E_FORMAT);
    CHECK_EQ(sc2_vf_check("", 0, fb, sn), SC2_VF_E_FORMAT);
}

static void test_strerror(void)
{
    CHECK(strcmp(sc2_vf_strerror(0), "ok") == 0);
    CHECK(strstr(sc2_vf_strerror(SC2_VF_E_MISMATCH), "does not match") != NULL);
    CHECK(strstr(sc2_vf_strerror(SC2_VF_E_FORMAT), "30 digits") != NULL);
    CHECK(strcmp(sc2_vf_strerror(-99), "unknown verification error") == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_fingerprint();
    test_safety_number();
    test_room_code();
    test_digits_and_check();
    test_strerror();
    return check_finish("test_sc2_verify");
}
