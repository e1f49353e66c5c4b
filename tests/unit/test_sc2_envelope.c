/* test_sc2_envelope: the v2 envelope codec (shared/v2/sc2_envelope.h): every type round
 * trips, every refusal is the documented distinct error, the iterator walks batches. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sc2_envelope.h"

static uint8_t pk[32], sig[64], nonce[32], lh[32], box[64], mls[40];
static uint8_t buf[4096];

static void fill(void)
{
    for (int i = 0; i < 32; i++) {
        pk[i] = (uint8_t)(0x10 + i);
        nonce[i] = (uint8_t)(0x50 + i);
        lh[i] = (uint8_t)(0x90 + i);
    }
    for (int i = 0; i < 64; i++) {
        sig[i] = (uint8_t)(0x30 + i);
        box[i] = (uint8_t)(0xa0 + i);
    }
    for (int i = 0; i < 40; i++)
        mls[i] = (uint8_t)(0xe0 + i);
}

/* Encodes with NULL first (size), then for real, checks cap - 1 is refused, decodes. */
#define ROUNDTRIP(dir, env, call_with_out)                                               \
    do {                                                                                 \
        uint8_t *out = NULL;                                                             \
        size_t cap = 0;                                                                  \
        size_t need = (call_with_out);                                                   \
        CHECK(need >= SC2_ENV_HEADER_BYTES);                                             \
        out = buf;                                                                       \
        cap = need - 1;                                                                  \
        CHECK_EQ((call_with_out), 0);                                                    \
        cap = sizeof buf;                                                                \
        CHECK_EQ((call_with_out), need);                                                 \
        CHECK_EQ(sc2_env_decode(buf, need, dir, &env), 0);                               \
        CHECK_EQ(env.body_len, need - SC2_ENV_HEADER_BYTES);                             \
        CHECK(env.body == buf + SC2_ENV_HEADER_BYTES);                                   \
        (void)out;                                                                       \
        (void)cap;                                                                       \
        len = need;                                                                      \
    } while (0)

static void test_roundtrips(void)
{
    sc2_env e;
    size_t len;

    ROUNDTRIP(SC2_FROM_CLIENT, e, sc2_env_encode_auth(out, cap, pk, sig));
    CHECK_EQ(len, 6 + 96);
    CHECK_EQ(e.type, SC2_T_AUTH);
    CHECK(e.join_pk && memcmp(e.join_pk, pk, 32) == 0);
    CHECK(e.sig && memcmp(e.sig, sig, 64) == 0);

    ROUNDTRIP(SC2_FROM_CLIENT, e, sc2_env_encode_create(out, cap, pk, sig, box, 49));
    CHECK_EQ(len, 6 + 96 + 49);
    CHECK_EQ(e.type, SC2_T_CREATE);
    CHECK(memcmp(e.join_pk, pk, 32) == 0 && memcmp(e.sig, sig, 64) == 0);
    CHECK(e.gi_box_len == 49 && memcmp(e.gi_box, box, 49) == 0);

    ROUNDTRIP(SC2_FROM_CLIENT, e, sc2_env_encode_get_gi(out, cap));
    CHECK_EQ(len, 6);
    CHECK_EQ(e.type, SC2_T_GET_GI);

    ROUNDTRIP(SC2_FROM_CLIENT, e, sc2_env_encode_resume(out, cap, 0x0102030405060708ull));
    CHECK_EQ(e.type, SC2_T_RESUME);
    CHECK(e.seq == 0x0102030405060708ull);
    ROUNDTRIP(SC2_FROM_CLIENT, e, sc2_env_encode_resume(out, cap, 0));
    CHECK_EQ(e.seq, 0);

    /* SUBMIT: plain, commit, rotating commit */
    ROUNDTRIP(SC2_FROM_CLIENT, e, sc2_env_encode_submit(out, cap, 77, NULL, 0, NULL, mls, 1));
    CHECK_EQ(len, 6 + 9 + 1);
    CHECK_EQ(e.type, SC2_T_SUBMIT);
    CHECK_EQ(e.token, 77);
    CHECK_EQ(e.flags, 0);
    CHECK(e.gi_box == NULL && e.join_pk == NULL && e.mls_len == 1 && e.mls[0] == mls[0]);
    ROUNDTRIP(SC2_FROM_CLIENT, e, sc2_env_encode_submit(out, cap, 78, box, 64, NULL, mls, 40));
    CHECK_EQ(len, 6 + 9 + 4 + 64 + 40);
    CHECK_EQ(e.flags, SC2_SUBMIT_F_GI);
    CHECK(e.gi_box_len == 64 && memcmp(e.gi_box, box, 64) == 0 && e.join_pk == NULL);
    CHECK(e.mls_len == 40 && memcmp(e.mls, mls, 40) == 0);
    ROUNDTRIP(SC2_FROM_CLIENT, e, sc2_env_encode_submit(out, cap, UINT64_MAX, box, 50, pk, mls, 3));
    CHECK_EQ(len, 6 + 9 + 4 + 50 + 32 + 3);
    CHECK(e.token == UINT64_MAX);
    CHECK_EQ(e.flags, SC2_SUBMIT_F_GI | SC2_SUBMIT_F_JOIN_PK);
    CHECK(e.gi_box_len == 50 && memcmp(e.join_pk, pk, 32) == 0 && e.mls_len == 3);

    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_challenge(out, cap, nonce, 65536));
    CHECK_EQ(len, 6 + 36); /* nonce and max_payload: no head_seq before a proof */
    CHECK_EQ(e.type, SC2_T_CHALLENGE);
    CHECK(memcmp(e.nonce, nonce, 32) == 0);
    CHECK_EQ(e.max_payload, 65536);
    CHECK_EQ(e.seq, 0);

    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_gi(out, cap, 5, lh, box, 60));
    CHECK_EQ(len, 6 + 8 + 32 + 60);
    CHECK_EQ(e.type, SC2_T_GI);
    CHECK_EQ(e.seq, 5);
    CHECK(memcmp(e.log_hash, lh, 32) == 0 && e.gi_box_len == 60 &&
          memcmp(e.gi_box, box, 60) == 0);
    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_gi(out, cap, 0, lh, box, 49));
    CHECK_EQ(e.seq, 0);

    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_log(out, cap, 1, 1700000000000ull, 0, NULL, mls, 1));
    CHECK_EQ(len, 6 + 17 + 1);
    CHECK_EQ(e.type, SC2_T_LOG);
    CHECK_EQ(e.seq, 1);
    CHECK(e.time_ms == 1700000000000ull);
    CHECK(e.flags == 0 && e.join_pk == NULL && e.mls_len == 1);
    ROUNDTRIP(SC2_FROM_RELAY, e,
              sc2_env_encode_log(out, cap, 42, 7, SC2_LOG_F_COMMIT | SC2_LOG_F_JOIN_PK, pk, mls, 40));
    CHECK_EQ(len, 6 + 17 + 32 + 40);
    CHECK_EQ(e.flags, SC2_LOG_F_COMMIT | SC2_LOG_F_JOIN_PK);
    CHECK(memcmp(e.join_pk, pk, 32) == 0 && e.mls_len == 40 && memcmp(e.mls, mls, 40) == 0);
    /* the zero-copy header is the same bytes */
    {
        uint8_t hdr[SC2_ENV_LOG_HEADER_MAX];
        size_t h = sc2_env_log_header(hdr, 42, 7, SC2_LOG_F_COMMIT | SC2_LOG_F_JOIN_PK, pk, 40);
        CHECK_EQ(h, SC2_ENV_LOG_HEADER_MAX);
        CHECK_MEM(hdr, buf, h);
        CHECK_EQ(sc2_env_log_header(hdr, 1, 0, SC2_LOG_F_COMMIT, NULL, 1),
                 SC2_ENV_LOG_HEADER_MAX - 32);
    }

    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_live(out, cap, 0));
    CHECK_EQ(e.type, SC2_T_LIVE);
    CHECK_EQ(e.seq, 0);
    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_gone(out, cap, 3));
    CHECK_EQ(e.type, SC2_T_GONE);
    CHECK_EQ(e.seq, 3);
    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_accepted(out, cap, 11, 12));
    CHECK_EQ(e.type, SC2_T_ACCEPTED);
    CHECK(e.token == 11 && e.seq == 12);
    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_rejected(out, cap, 13, SC2_C_STALE_EPOCH, 14));
    CHECK_EQ(len, 6 + 18);
    CHECK_EQ(e.type, SC2_T_REJECTED);
    CHECK(e.token == 13 && e.code == SC2_C_STALE_EPOCH && e.epoch == 14);
    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_error(out, cap, SC2_C_BAD_PROOF, "bad proof"));
    CHECK_EQ(e.type, SC2_T_ERROR);
    CHECK_EQ(e.code, SC2_C_BAD_PROOF);
    CHECK(e.reason_len == 9 && memcmp(e.reason, "bad proof", 9) == 0);
    ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_error(out, cap, SC2_C_SHUTDOWN, NULL));
    CHECK_EQ(e.reason_len, 0);
    {
        char r[SC2_ENV_MAX_REASON + 2];
        memset(r, 'x', sizeof r);
        r[SC2_ENV_MAX_REASON] = '\0';
        ROUNDTRIP(SC2_FROM_RELAY, e, sc2_env_encode_error(out, cap, 1, r));
        CHECK_EQ(e.reason_len, SC2_ENV_MAX_REASON);
        r[SC2_ENV_MAX_REASON] = 'x';
        r[SC2_ENV_MAX_REASON + 1] = '\0';
        CHECK_EQ(sc2_env_encode_error(buf, sizeof buf, 1, r), 0);
    }
}

static void test_encoder_refusals(void)
{
    uint8_t b[512];
    CHECK_EQ(sc2_env_encode_auth(b, sizeof b, NULL, sig), 0);
    CHECK_EQ(sc2_env_encode_auth(b, sizeof b, pk, NULL), 0);
    CHECK_EQ(sc2_env_encode_create(b, sizeof b, pk, sig, box, 48), 0);
    CHECK_EQ(sc2_env_encode_create(b, sizeof b, pk, sig, NULL, 49), 0);
    CHECK_EQ(sc2_env_encode_submit(b, sizeof b, 1, NULL, 0, NULL, mls, 0), 0);
    CHECK_EQ(sc2_env_encode_submit(b, sizeof b, 1, NULL, 0, NULL, NULL, 1), 0);
    CHECK_EQ(sc2_env_encode_submit(b, sizeof b, 1, box, 48, NULL, mls, 1), 0);
    CHECK_EQ(sc2_env_encode_submit(b, sizeof b, 1, NULL, 0, pk, mls, 1), 0); /* rotation needs a commit */
    CHECK_EQ(sc2_env_encode_submit(b, sizeof b, 1, NULL, 5, NULL, mls, 1), 0);
    CHECK_EQ(sc2_env_encode_challenge(b, sizeof b, nonce, 0), 0);
    CHECK_EQ(sc2_env_encode_challenge(b, sizeof b, NULL, 1), 0);
    CHECK_EQ(sc2_env_encode_gi(b, sizeof b, 1, lh, box, 48), 0);
    CHECK_EQ(sc2_env_encode_gi(b, sizeof b, 1, NULL, box, 49), 0);
    CHECK_EQ(sc2_env_encode_log(b, sizeof b, 0, 1, 0, NULL, mls, 1), 0);
    CHECK_EQ(sc2_env_encode_log(b, sizeof b, 1, 1, 0, NULL, mls, 0), 0);
    CHECK_EQ(sc2_env_encode_log(b, sizeof b, 1, 1, 0x04, NULL, mls, 1), 0);
    CHECK_EQ(sc2_env_encode_log(b, sizeof b, 1, 1, SC2_LOG_F_COMMIT, pk, mls, 1), 0);
    CHECK_EQ(sc2_env_encode_log(b, sizeof b, 1, 1, SC2_LOG_F_COMMIT | SC2_LOG_F_JOIN_PK, NULL, mls, 1), 0);
    CHECK_EQ(sc2_env_encode_log(b, sizeof b, 1, 1, SC2_LOG_F_JOIN_PK, pk, mls, 1), 0);
    CHECK_EQ(sc2_env_encode_log(b, sizeof b, 1, 1, 0, NULL, NULL, 1), 0);
    CHECK_EQ(sc2_env_encode_gone(b, sizeof b, 0), 0);
    CHECK_EQ(sc2_env_encode_accepted(b, sizeof b, 1, 0), 0);
    CHECK_EQ(sc2_env_encode_rejected(b, sizeof b, 1, 0, 1), 0);
    CHECK_EQ(sc2_env_encode_error(b, sizeof b, 0, "x"), 0);
    CHECK_EQ(sc2_env_encode_error(b, sizeof b, 1, "tab\there"), 0);
    CHECK_EQ(sc2_env_encode_error(b, sizeof b, 1, "\x7f"), 0);
    CHECK_EQ(sc2_env_encode_resume(b, 13, 1), 0);
    CHECK_EQ(sc2_env_encode_get_gi(b, 5), 0);
    /* over the body cap: sized without a buffer, never touched */
    CHECK_EQ(sc2_env_encode_submit(NULL, 0, 1, NULL, 0, NULL, mls, SC2_ENV_MAX_BODY), 0);
    CHECK_EQ(sc2_env_encode_submit(NULL, 0, 1, NULL, 0, NULL, mls, SC2_ENV_MAX_BODY - 9),
             SC2_ENV_HEADER_BYTES + SC2_ENV_MAX_BODY);
    CHECK_EQ(sc2_env_encode_log(NULL, 0, 1, 1, 0, NULL, mls, SC2_ENV_MAX_BODY - 16), 0);
    CHECK_EQ(sc2_env_encode_log(NULL, 0, 1, 1, 0, NULL, mls, SC2_ENV_MAX_BODY - 17),
             SC2_ENV_HEADER_BYTES + SC2_ENV_MAX_BODY);
    CHECK_EQ(sc2_env_encode_gi(NULL, 0, 1, lh, box, SC2_ENV_MAX_BODY - 39), 0);
}

static void put_hdr(uint8_t *b, uint8_t type, uint32_t len)
{
    b[0] = 2;
    b[1] = type;
    b[2] = (uint8_t)(len >> 24);
    b[3] = (uint8_t)(len >> 16);
    b[4] = (uint8_t)(len >> 8);
    b[5] = (uint8_t)len;
}

/* Decodes a header of type with a body of n bytes (content: pattern) in dir. */
static int dec_len(enum sc2_env_dir dir, uint8_t type, size_t n)
{
    sc2_env e;
    uint8_t *b = calloc(1, 6 + n);
    if (!b)
        abort();
    put_hdr(b, type, (uint32_t)n);
    /* a plausible body: nonzero integers, printable reason, valid flags 0 */
    for (size_t i = 0; i < n; i++)
        b[6 + i] = 0x41;
    if (type == SC2_T_SUBMIT && n > 8)
        b[6 + 8] = 0;
    if (type == SC2_T_LOG && n > 16)
        b[6 + 16] = 0;
    int rc = sc2_env_decode(b, 6 + n, dir, &e);
    free(b);
    return rc;
}

static void test_lengths(void)
{
    const enum sc2_env_dir C = SC2_FROM_CLIENT, R = SC2_FROM_RELAY;
    CHECK_EQ(dec_len(C, SC2_T_AUTH, 96), 0);
    CHECK_EQ(dec_len(C, SC2_T_AUTH, 95), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(C, SC2_T_AUTH, 97), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(C, SC2_T_CREATE, 96 + 49), 0);
    CHECK_EQ(dec_len(C, SC2_T_CREATE, 96 + 48), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(C, SC2_T_GET_GI, 0), 0);
    CHECK_EQ(dec_len(C, SC2_T_GET_GI, 1), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(C, SC2_T_RESUME, 8), 0);
    CHECK_EQ(dec_len(C, SC2_T_RESUME, 7), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(C, SC2_T_RESUME, 9), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(C, SC2_T_SUBMIT, 10), 0);
    CHECK_EQ(dec_len(C, SC2_T_SUBMIT, 9), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_CHALLENGE, 36), 0);
    CHECK_EQ(dec_len(R, SC2_T_CHALLENGE, 35), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_CHALLENGE, 37), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_CHALLENGE, 44), SC2_ENV_E_LENGTH); /* the old one, with head_seq */
    CHECK_EQ(dec_len(R, SC2_T_GI, 40 + 49), 0);
    CHECK_EQ(dec_len(R, SC2_T_GI, 40 + 48), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_LOG, 18), 0);
    CHECK_EQ(dec_len(R, SC2_T_LOG, 17), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_LIVE, 8), 0);
    CHECK_EQ(dec_len(R, SC2_T_LIVE, 0), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_GONE, 8), 0);
    CHECK_EQ(dec_len(R, SC2_T_GONE, 16), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_ACCEPTED, 16), 0);
    CHECK_EQ(dec_len(R, SC2_T_ACCEPTED, 15), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_REJECTED, 18), 0);
    CHECK_EQ(dec_len(R, SC2_T_REJECTED, 17), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_REJECTED, 19), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_ERROR, 2), 0);
    CHECK_EQ(dec_len(R, SC2_T_ERROR, 1), SC2_ENV_E_LENGTH);
    CHECK_EQ(dec_len(R, SC2_T_ERROR, 2 + SC2_ENV_MAX_REASON), 0);
    CHECK_EQ(dec_len(R, SC2_T_ERROR, 3 + SC2_ENV_MAX_REASON), SC2_ENV_E_LENGTH);

    /* a header that announces more than the cap, before any body arrives */
    uint8_t b[6];
    sc2_env e;
    put_hdr(b, SC2_T_SUBMIT, SC2_ENV_MAX_BODY + 1);
    CHECK_EQ(sc2_env_decode(b, 6, C, &e), SC2_ENV_E_LENGTH);
    put_hdr(b, SC2_T_SUBMIT, SC2_ENV_MAX_BODY);
    CHECK_EQ(sc2_env_decode(b, 6, C, &e), SC2_ENV_E_PARTIAL);
}

static void test_header_errors(void)
{
    sc2_env e;
    uint8_t b[64];
    size_t n = sc2_env_encode_resume(b, sizeof b, 1);
    CHECK_EQ(n, 14);
    CHECK_EQ(sc2_env_decode(b, 0, SC2_FROM_CLIENT, &e), SC2_ENV_E_EMPTY);
    CHECK_EQ(sc2_env_decode_prefix(b, 0, SC2_FROM_CLIENT, &e), SC2_ENV_E_EMPTY);
    for (size_t k = 1; k < n; k++)
        CHECK_EQ(sc2_env_decode(b, k, SC2_FROM_CLIENT, &e), SC2_ENV_E_PARTIAL);
    CHECK_EQ(sc2_env_decode_prefix(b, n, SC2_FROM_CLIENT, &e), (int)n);
    b[n] = 0;
    CHECK_EQ(sc2_env_decode(b, n + 1, SC2_FROM_CLIENT, &e), SC2_ENV_E_TRAILING);
    CHECK_EQ(e.type, 0); /* zeroed on error */
    CHECK_EQ(sc2_env_decode_prefix(b, n + 1, SC2_FROM_CLIENT, &e), (int)n);
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_DIRECTION);
    b[0] = 1; /* a v1 envelope */
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), SC2_ENV_E_VERSION);
    CHECK_EQ(sc2_env_decode(b, 1, SC2_FROM_CLIENT, &e), SC2_ENV_E_VERSION);
    b[0] = 3;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), SC2_ENV_E_VERSION);
    b[0] = 2;
    static const uint8_t unknown[] = {0x00, 0x06, 0x7f, 0x80, 0x89, 0xff};
    for (size_t i = 0; i < sizeof unknown; i++) {
        b[1] = unknown[i];
        CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), SC2_ENV_E_TYPE);
        CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_TYPE);
    }
    static const uint8_t client_types[] = {1, 2, 3, 4, 5};
    static const uint8_t relay_types[] = {0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88};
    for (size_t i = 0; i < sizeof client_types; i++) {
        b[1] = client_types[i];
        CHECK_EQ(sc2_env_decode(b, 2, SC2_FROM_RELAY, &e), SC2_ENV_E_DIRECTION);
    }
    for (size_t i = 0; i < sizeof relay_types; i++) {
        b[1] = relay_types[i];
        CHECK_EQ(sc2_env_decode(b, 2, SC2_FROM_CLIENT, &e), SC2_ENV_E_DIRECTION);
    }
}

static void test_field_errors(void)
{
    sc2_env e;
    uint8_t b[512];
    size_t n;

    /* SUBMIT flags */
    n = sc2_env_encode_submit(b, sizeof b, 1, NULL, 0, NULL, mls, 4);
    for (int bit = 2; bit < 8; bit++) {
        b[6 + 8] = (uint8_t)(1u << bit);
        CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), SC2_ENV_E_FIELD);
    }
    b[6 + 8] = SC2_SUBMIT_F_JOIN_PK; /* rotation without a commit */
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), SC2_ENV_E_FIELD);
    n = sc2_env_encode_submit(b, sizeof b, 1, box, 49, NULL, mls, 4);
    CHECK(n > 0);
    b[6 + 9 + 3] = 48; /* gi_len below the smallest box */
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), SC2_ENV_E_FIELD);
    b[6 + 9 + 3] = 49 + 4; /* gi_box runs into the mls message, leaving none */
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), SC2_ENV_E_LENGTH);
    b[6 + 9 + 3] = 200; /* past the body */
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), SC2_ENV_E_LENGTH);
    b[6 + 9 + 3] = 49;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), 0);
    /* commit flag but no room for gi_len */
    {
        uint8_t s[6 + 10];
        put_hdr(s, SC2_T_SUBMIT, 10);
        memset(s + 6, 0, 10);
        s[6 + 8] = SC2_SUBMIT_F_GI;
        CHECK_EQ(sc2_env_decode(s, sizeof s, SC2_FROM_CLIENT, &e), SC2_ENV_E_LENGTH);
    }
    /* rotation flag but no room for join_pk + message */
    n = sc2_env_encode_submit(b, sizeof b, 1, box, 49, pk, mls, 1);
    CHECK(n > 0);
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_CLIENT, &e), 0);
    {
        uint8_t s[6 + 9 + 4 + 49 + 32];
        memcpy(s, b, sizeof s);
        put_hdr(s, SC2_T_SUBMIT, sizeof s - 6); /* no message byte */
        CHECK_EQ(sc2_env_decode(s, sizeof s, SC2_FROM_CLIENT, &e), SC2_ENV_E_LENGTH);
        put_hdr(s, SC2_T_SUBMIT, sizeof s - 6 - 1); /* join_pk cut */
        CHECK_EQ(sc2_env_decode(s, sizeof s - 1, SC2_FROM_CLIENT, &e), SC2_ENV_E_LENGTH);
    }

    /* LOG */
    n = sc2_env_encode_log(b, sizeof b, 1, 2, 0, NULL, mls, 4);
    b[6 + 7] = 0; /* seq 0 */
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    b[6 + 7] = 1;
    for (int bit = 2; bit < 8; bit++) {
        b[6 + 16] = (uint8_t)(1u << bit);
        CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    }
    b[6 + 16] = SC2_LOG_F_JOIN_PK;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    b[6 + 16] = SC2_LOG_F_COMMIT | SC2_LOG_F_JOIN_PK; /* 4 bytes cannot hold a join_pk */
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_LENGTH);
    b[6 + 16] = SC2_LOG_F_COMMIT;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), 0);
    n = sc2_env_encode_log(b, sizeof b, 1, 2, SC2_LOG_F_COMMIT | SC2_LOG_F_JOIN_PK, pk, mls, 1);
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), 0);
    put_hdr(b, SC2_T_LOG, (uint32_t)(n - 6 - 1)); /* join_pk but no message */
    CHECK_EQ(sc2_env_decode(b, n - 1, SC2_FROM_RELAY, &e), SC2_ENV_E_LENGTH);

    /* zero where nonzero is required */
    n = sc2_env_encode_gone(b, sizeof b, 1);
    b[6 + 7] = 0;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    n = sc2_env_encode_accepted(b, sizeof b, 1, 1);
    b[6 + 15] = 0;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    n = sc2_env_encode_rejected(b, sizeof b, 1, 1, 1);
    b[6 + 9] = 0;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    n = sc2_env_encode_challenge(b, sizeof b, nonce, 1);
    b[6 + 35] = 0;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    n = sc2_env_encode_error(b, sizeof b, 1, "ok");
    b[6 + 1] = 0;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    b[6 + 1] = 1;
    b[6 + 2] = '\n';
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
    b[6 + 2] = 0x80;
    CHECK_EQ(sc2_env_decode(b, n, SC2_FROM_RELAY, &e), SC2_ENV_E_FIELD);
}

static void test_iterator(void)
{
    uint8_t m[512];
    size_t n = 0;
    sc2_env e;
    sc2_env_iter it;
    n += sc2_env_encode_log(m + n, sizeof m - n, 1, 5, 0, NULL, mls, 10);
    n += sc2_env_encode_log(m + n, sizeof m - n, 2, 6, SC2_LOG_F_COMMIT, NULL, mls, 20);
    n += sc2_env_encode_live(m + n, sizeof m - n, 2);
    sc2_env_iter_init(&it, m, n, SC2_FROM_RELAY);
    CHECK_EQ(sc2_env_iter_next(&it, &e), 1);
    CHECK(e.type == SC2_T_LOG && e.seq == 1 && e.mls_len == 10);
    CHECK_EQ(sc2_env_iter_next(&it, &e), 1);
    CHECK(e.type == SC2_T_LOG && e.seq == 2 && e.flags == SC2_LOG_F_COMMIT);
    CHECK_EQ(sc2_env_iter_next(&it, &e), 1);
    CHECK(e.type == SC2_T_LIVE && e.seq == 2);
    CHECK_EQ(sc2_env_iter_next(&it, &e), 0);
    CHECK_EQ(sc2_env_iter_next(&it, &e), 0);

    /* truncated last envelope: two good ones, then the error, sticky */
    sc2_env_iter_init(&it, m, n - 1, SC2_FROM_RELAY);
    CHECK_EQ(sc2_env_iter_next(&it, &e), 1);
    CHECK_EQ(sc2_env_iter_next(&it, &e), 1);
    CHECK_EQ(sc2_env_iter_next(&it, &e), SC2_ENV_E_PARTIAL);
    CHECK_EQ(e.type, 0);
    CHECK_EQ(sc2_env_iter_next(&it, &e), SC2_ENV_E_PARTIAL);
    /* wrong direction on the first one */
    sc2_env_iter_init(&it, m, n, SC2_FROM_CLIENT);
    CHECK_EQ(sc2_env_iter_next(&it, &e), SC2_ENV_E_DIRECTION);
    CHECK_EQ(sc2_env_iter_next(&it, &e), SC2_ENV_E_DIRECTION);
    /* an empty message */
    sc2_env_iter_init(&it, m, 0, SC2_FROM_RELAY);
    CHECK_EQ(sc2_env_iter_next(&it, &e), SC2_ENV_E_EMPTY);
    /* garbage after a good envelope */
    m[n] = 0x02;
    m[n + 1] = 0x42;
    sc2_env_iter_init(&it, m, n + 2, SC2_FROM_RELAY);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(sc2_env_iter_next(&it, &e), 1);
    CHECK_EQ(sc2_env_iter_next(&it, &e), SC2_ENV_E_TYPE);
}

static void test_names(void)
{
    static const struct {
        uint16_t code;
        const char *name;
    } codes[] = {
        {SC2_C_MALFORMED, "malformed"},
        {SC2_C_TOO_LARGE, "too_large"},
        {SC2_C_RATE_LIMITED, "rate_limited"},
        {SC2_C_NOT_AUTHENTICATED, "not_authenticated"},
        {SC2_C_BAD_PROOF, "bad_proof"},
        {SC2_C_NO_ROOM, "no_room"},
        {SC2_C_ROOM_EXISTS, "room_exists"},
        {SC2_C_BAD_STATE, "bad_state"},
        {SC2_C_SEQ_AHEAD, "seq_ahead"},
        {SC2_C_OLD_KEY, "old_key"},
        {SC2_C_RELAY_FULL, "relay_full"},
        {SC2_C_SLOW_CONSUMER, "slow_consumer"},
        {SC2_C_STORAGE, "storage"},
        {SC2_C_SHUTDOWN, "shutdown"},
        {SC2_C_STALE_EPOCH, "stale_epoch"},
        {SC2_C_NO_GROUPINFO, "no_groupinfo"},
        {SC2_C_NOT_COMMIT, "not_commit"},
        {SC2_C_BAD_MLS, "bad_mls"},
        {SC2_C_KEY_RETIRED, "key_retired"},
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        CHECK(strcmp(sc2_code_name(codes[i].code), codes[i].name) == 0);
    CHECK(strcmp(sc2_code_name(0), "unknown") == 0);
    CHECK(strcmp(sc2_code_name(15), "unknown") == 0);
    CHECK(strcmp(sc2_code_name(0xffff), "unknown") == 0);
    /* every error has its own text */
    for (int a = SC2_ENV_E_EMPTY; a <= SC2_ENV_E_PARTIAL; a++)
        for (int b = a + 1; b <= SC2_ENV_E_PARTIAL; b++)
            CHECK(strcmp(sc2_env_strerror(a), sc2_env_strerror(b)) != 0);
    CHECK(strcmp(sc2_env_strerror(0), "no error") == 0);
    CHECK(strcmp(sc2_env_strerror(-99), "unknown envelope error") == 0);
    CHECK_EQ(sc2_env_header_bytes(), 6);
    CHECK_EQ(sc2_env_max_body(), SC2_ENV_MAX_BODY);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    fill();
    test_roundtrips();
    test_encoder_refusals();
    test_lengths();
    test_header_errors();
    test_field_errors();
    test_iterator();
    test_names();
    return check_finish("test_sc2_envelope");
}
