/* test_mls_keysched: the key schedule's API beyond the vectors (zero defaults, joiner
 * path, welcome key, external init both sides, confirmation tag, wiping), the
 * PreSharedKeyID codec and psk_secret edge cases, and the transcript hash helpers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_err.h"
#include "mls_hpke.h"
#include "mls_keysched.h"
#include "mls_psk.h"
#include "mls_transcript.h"

static const uint8_t zero[MLS_HASH_LEN];
static const uint8_t gc[] = "a serialized GroupContext stands here";

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static void test_epochs(void)
{
    uint8_t init[MLS_HASH_LEN], commit[MLS_HASH_LEN], psk[MLS_HASH_LEN];
    mls_epoch_secrets a, b, j;
    uint8_t welcome[MLS_HASH_LEN];

    memset(init, 1, sizeof init);
    memset(commit, 2, sizeof commit);
    memset(psk, 3, sizeof psk);
    /* NULL commit / psk secrets mean the zero vector. */
    CHECK_EQ(mls_keysched_from_init(init, NULL, NULL, gc, sizeof gc, &a), 0);
    CHECK_EQ(mls_keysched_from_init(init, zero, zero, gc, sizeof gc, &b), 0);
    CHECK_MEM(&a, &b, sizeof a);
    CHECK_EQ(a.have_joiner, 1);
    /* Each input changes every secret. */
    CHECK_EQ(mls_keysched_from_init(init, commit, NULL, gc, sizeof gc, &b), 0);
    CHECK(memcmp(a.epoch_authenticator, b.epoch_authenticator, MLS_HASH_LEN) != 0);
    CHECK(memcmp(a.joiner_secret, b.joiner_secret, MLS_HASH_LEN) != 0);
    CHECK_EQ(mls_keysched_from_init(init, NULL, psk, gc, sizeof gc, &b), 0);
    CHECK_MEM(a.joiner_secret, b.joiner_secret, MLS_HASH_LEN); /* psk enters after joiner */
    CHECK(memcmp(a.welcome_secret, b.welcome_secret, MLS_HASH_LEN) != 0);
    CHECK(memcmp(a.init_secret, b.init_secret, MLS_HASH_LEN) != 0);
    CHECK_EQ(mls_keysched_from_init(init, NULL, NULL, gc, sizeof gc - 1, &b), 0);
    CHECK(memcmp(a.encryption_secret, b.encryption_secret, MLS_HASH_LEN) != 0);
    /* A joiner reaches the same epoch; the welcome secret needs no GroupContext. */
    CHECK_EQ(mls_keysched_from_joiner(a.joiner_secret, NULL, gc, sizeof gc, &j), 0);
    CHECK_MEM(&a, &j, sizeof a);
    CHECK_EQ(mls_keysched_welcome_secret(a.joiner_secret, NULL, welcome), 0);
    CHECK_MEM(welcome, a.welcome_secret, sizeof welcome);
    /* joiner_secret may alias the output. */
    CHECK_EQ(mls_keysched_from_joiner(j.joiner_secret, NULL, gc, sizeof gc, &j), 0);
    CHECK_MEM(&a, &j, sizeof a);
    /* The next epoch computed in place, from secrets inside the output. */
    {
        mls_epoch_secrets next, inplace = a;
        uint8_t i_copy[MLS_HASH_LEN], p_copy[MLS_HASH_LEN];

        memcpy(i_copy, a.init_secret, sizeof i_copy);
        memcpy(p_copy, a.resumption_psk, sizeof p_copy);
        CHECK_EQ(mls_keysched_from_init(i_copy, NULL, p_copy, gc, sizeof gc, &next), 0);
        CHECK_EQ(mls_keysched_from_init(inplace.init_secret, inplace.exporter_secret,
                                        inplace.resumption_psk, gc, sizeof gc, &inplace), 0);
        CHECK(memcmp(&next, &inplace, sizeof next) != 0); /* commit secret differs */
        inplace = a;
        CHECK_EQ(mls_keysched_from_init(inplace.init_secret, NULL, inplace.resumption_psk, gc,
                                        sizeof gc, &inplace), 0);
        CHECK_MEM(&next, &inplace, sizeof next);
        inplace = a;
        CHECK_EQ(mls_keysched_from_joiner(inplace.joiner_secret, inplace.resumption_psk, gc,
                                          sizeof gc, &inplace), 0);
        CHECK_EQ(mls_keysched_from_joiner(a.joiner_secret, p_copy, gc, sizeof gc, &next), 0);
        CHECK_MEM(&next, &inplace, sizeof next);
        mls_epoch_secrets_wipe(&next);
        mls_epoch_secrets_wipe(&inplace);
    }
    /* Welcome key and nonce: a GroupInfo sealed with them opens. */
    {
        uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
        uint8_t ct[5 + MLS_AEAD_TAG_LEN], pt[5];
        CHECK_EQ(mls_keysched_welcome_key(a.welcome_secret, key, nonce), 0);
        CHECK(!all_zero(key, sizeof key) && !all_zero(nonce, sizeof nonce));
        CHECK_EQ(mls_aead_seal(key, nonce, NULL, 0, (const uint8_t *)"hello", 5, ct), 0);
        CHECK_EQ(mls_keysched_welcome_key(j.welcome_secret, key, nonce), 0);
        CHECK_EQ(mls_aead_open(key, nonce, NULL, 0, ct, sizeof ct, pt), 0);
        CHECK_MEM(pt, "hello", 5);
    }
    /* Forgetting the joiner secrets and wiping. */
    mls_keysched_forget_joiner(&j);
    CHECK(all_zero(j.joiner_secret, MLS_HASH_LEN) && all_zero(j.welcome_secret, MLS_HASH_LEN));
    CHECK_EQ(j.have_joiner, 0);
    CHECK_MEM(j.init_secret, a.init_secret, MLS_HASH_LEN);
    mls_epoch_secrets_wipe(&j);
    CHECK(all_zero(&j, sizeof j));
    mls_epoch_secrets_wipe(NULL);
    /* Exporter: label and context matter; bad lengths refused. */
    {
        uint8_t x1[40], x2[40];
        char long_label[260];
        CHECK_EQ(mls_keysched_export(&a, (const uint8_t *)"app", 3, NULL, 0, x1, sizeof x1), 0);
        CHECK_EQ(mls_keysched_export(&a, (const uint8_t *)"app", 3, (const uint8_t *)"c", 1, x2,
                                     sizeof x2), 0);
        CHECK(memcmp(x1, x2, sizeof x1) != 0);
        CHECK_EQ(mls_keysched_export(&a, (const uint8_t *)"app\0x", 5, NULL, 0, x2, sizeof x2), 0);
        CHECK(memcmp(x1, x2, sizeof x1) != 0);
        memset(long_label, 'l', sizeof long_label);
        CHECK_EQ(mls_keysched_export(&a, (const uint8_t *)long_label, 247, NULL, 0, x1, 32), 0);
        CHECK_EQ(mls_keysched_export(&a, (const uint8_t *)long_label, 248, NULL, 0, x1, 32),
                 MLS_E_INVALID);
        CHECK_EQ(mls_keysched_export(&a, (const uint8_t *)"app", 3, NULL, 0, x1, 0x10000),
                 MLS_E_INVALID);
    }
    /* Confirmation tag. */
    {
        uint8_t tag[MLS_HASH_LEN];
        mls_keysched_confirmation_tag(&a, (const uint8_t *)"cth", 3, tag);
        CHECK_EQ(mls_keysched_verify_confirmation_tag(&a, (const uint8_t *)"cth", 3, tag,
                                                      sizeof tag), 0);
        CHECK_EQ(mls_keysched_verify_confirmation_tag(&a, (const uint8_t *)"cth", 3, tag,
                                                      sizeof tag - 1), MLS_E_CONFIRMATION_TAG);
        CHECK_EQ(mls_keysched_verify_confirmation_tag(&a, (const uint8_t *)"ctH", 3, tag,
                                                      sizeof tag), MLS_E_CONFIRMATION_TAG);
        tag[31] ^= 1;
        CHECK_EQ(mls_keysched_verify_confirmation_tag(&a, (const uint8_t *)"cth", 3, tag,
                                                      sizeof tag), MLS_E_CONFIRMATION_TAG);
    }
    /* External init: the joiner and the members derive the same init_secret. */
    {
        uint8_t sk[MLS_KEM_SK_LEN], pk[MLS_KEM_PK_LEN], kem[MLS_KEM_ENC_LEN];
        uint8_t s1[MLS_HASH_LEN], s2[MLS_HASH_LEN];
        CHECK_EQ(mls_keysched_external_keypair(&a, sk, pk), 0);
        CHECK_EQ(mls_keysched_external_init_sender(pk, NULL, kem, s1), 0);
        CHECK_EQ(mls_keysched_external_init_receiver(sk, kem, s2), 0);
        CHECK_MEM(s1, s2, sizeof s1);
        kem[0] ^= 1;
        if (mls_keysched_external_init_receiver(sk, kem, s2) == 0)
            CHECK(memcmp(s1, s2, sizeof s1) != 0);
    }
    mls_epoch_secrets_wipe(&a);
    mls_epoch_secrets_wipe(&b);
}

static void set_external(mls_psk_id *id, const char *name, uint8_t nonce_byte)
{
    uint8_t nonce[MLS_HASH_LEN];
    memset(id, 0, sizeof *id);
    memset(nonce, nonce_byte, sizeof nonce);
    id->psktype = MLS_PSK_EXTERNAL;
    CHECK_EQ(mls_bytes_set(&id->psk_id, (const uint8_t *)name, strlen(name)), 0);
    CHECK_EQ(mls_bytes_set(&id->psk_nonce, nonce, sizeof nonce), 0);
}

static int round_trip(const mls_psk_id *id)
{
    mls_buf b = {0};
    mls_psk_id back;
    mls_rd r;
    int rc = mls_psk_id_encode(&b, id);

    if (rc == 0) {
        mls_rd_init(&r, b.p, b.len);
        rc = mls_psk_id_decode(&r, &back);
        if (rc == 0 && (mls_rd_end(&r) != 0 || !mls_psk_id_eq(&back, id)))
            rc = MLS_E_INVALID;
        mls_psk_id_free(&back);
    }
    /* Every truncation fails cleanly. */
    for (size_t n = 0; rc == 0 && n < b.len; n++) {
        mls_rd_init(&r, b.p, n);
        if (mls_psk_id_decode(&r, &back) != MLS_E_DECODE)
            rc = MLS_E_INVALID;
        if (back.psk_id.p || back.psk_group_id.p || back.psk_nonce.p)
            rc = MLS_E_INVALID;
    }
    mls_buf_free(&b);
    return rc;
}

static void test_psk(void)
{
    mls_psk_id ext, res, copy;
    uint8_t s0[MLS_HASH_LEN], s1[MLS_HASH_LEN], s2[MLS_HASH_LEN];
    mls_psk_input in[2];

    set_external(&ext, "external psk", 9);
    CHECK_EQ(mls_psk_id_check(&ext), 0);
    CHECK_EQ(round_trip(&ext), 0);
    memset(&res, 0, sizeof res);
    res.psktype = MLS_PSK_RESUMPTION;
    res.usage = MLS_PSK_USAGE_BRANCH;
    res.psk_epoch = 0x0102030405060708ull;
    CHECK_EQ(mls_bytes_set(&res.psk_group_id, (const uint8_t *)"gid", 3), 0);
    CHECK_EQ(mls_bytes_set(&res.psk_nonce, zero, sizeof zero), 0);
    CHECK_EQ(mls_psk_id_check(&res), 0);
    CHECK_EQ(round_trip(&res), 0);
    CHECK(!mls_psk_id_eq(&res, &ext));
    /* Copy, then compare. */
    memset(&copy, 0x5a, sizeof copy); /* overwritten, not freed */
    CHECK_EQ(mls_psk_id_copy(&copy, &res), 0);
    CHECK(mls_psk_id_eq(&copy, &res));
    copy.psk_epoch++;
    CHECK(!mls_psk_id_eq(&copy, &res));
    mls_psk_id_free(&copy);
    mls_psk_id_free(&copy); /* a second free is harmless */
    /* Bad values. */
    {
        static const uint8_t bad_type[] = {3, 0, 0};
        static const uint8_t bad_usage[] = {2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        static const uint8_t zero_type[] = {0, 0, 0};
        mls_rd r;
        mls_buf b = {0};
        mls_psk_id x;

        mls_rd_init(&r, bad_type, sizeof bad_type);
        CHECK_EQ(mls_psk_id_decode(&r, &x), MLS_E_DECODE);
        mls_rd_init(&r, bad_usage, sizeof bad_usage);
        CHECK_EQ(mls_psk_id_decode(&r, &x), MLS_E_DECODE);
        mls_rd_init(&r, zero_type, sizeof zero_type);
        CHECK_EQ(mls_psk_id_decode(&r, &x), MLS_E_DECODE);
        res.usage = 0;
        CHECK_EQ(mls_psk_id_encode(&b, &res), MLS_E_INVALID);
        CHECK_EQ(mls_psk_id_check(&res), MLS_E_PSK);
        res.usage = MLS_PSK_USAGE_APPLICATION;
        res.psk_nonce.len = 31;
        CHECK_EQ(mls_psk_id_check(&res), MLS_E_PSK);
        res.psk_nonce.len = 32;
        mls_buf_free(&b);
    }
    /* psk_secret: none = zeros; order and index matter. */
    CHECK_EQ(mls_psk_secret(NULL, 0, s0), 0);
    CHECK(all_zero(s0, sizeof s0));
    in[0].id = &ext;
    in[0].psk = (const uint8_t *)"k1";
    in[0].psk_len = 2;
    in[1].id = &res;
    in[1].psk = (const uint8_t *)"k2";
    in[1].psk_len = 2;
    CHECK_EQ(mls_psk_secret(in, 2, s1), 0);
    {
        mls_psk_input sw[2] = {in[1], in[0]};
        CHECK_EQ(mls_psk_secret(sw, 2, s2), 0);
        CHECK(memcmp(s1, s2, sizeof s1) != 0);
    }
    CHECK_EQ(mls_psk_secret(in, 1, s2), 0);
    CHECK(memcmp(s1, s2, sizeof s1) != 0 && !all_zero(s2, sizeof s2));
    CHECK_EQ(mls_psk_secret(in, 0x10000, s2), MLS_E_INVALID);
    CHECK(all_zero(s2, sizeof s2));
    res.psktype = 7;
    CHECK_EQ(mls_psk_secret(in, 2, s2), MLS_E_INVALID);
    CHECK(all_zero(s2, sizeof s2));
    res.psktype = MLS_PSK_RESUMPTION;
    mls_psk_id_free(&ext);
    mls_psk_id_free(&res);
}

static void test_transcript(void)
{
    static const uint8_t fc[] = "framed content bytes";
    uint8_t sig[70], h1[MLS_HASH_LEN], h2[MLS_HASH_LEN];
    uint8_t tag[MLS_HASH_LEN], in[1 + MLS_HASH_LEN + MLS_HASH_LEN], i1[MLS_HASH_LEN],
        i2[MLS_HASH_LEN], before[MLS_HASH_LEN];

    memset(sig, 0x33, sizeof sig);
    memset(before, 0x44, sizeof before);
    memset(tag, 0x55, sizeof tag);
    /* ConfirmedTranscriptHashInput: wire_format 1, FramedContent, opaque signature<V>
     * (70 bytes: a 2-byte varint) */
    {
        mls_buf w = {0};
        mls_w_u16(&w, 1);
        mls_w_fixed(&w, fc, sizeof fc);
        mls_w_opaque(&w, sig, sizeof sig);
        CHECK_EQ(mls_buf_status(&w), 0);
        CHECK_EQ(w.len, 2 + sizeof fc + 2 + sizeof sig);
        mls_transcript_confirmed(before, sizeof before, w.p, w.len, h1);
        mls_buf_free(&w);
    }
    CHECK_EQ(mls_transcript_confirmed_parts(before, sizeof before, 1, fc, sizeof fc, sig,
                                            sizeof sig, h2), 0);
    CHECK_MEM(h1, h2, sizeof h1);
    /* First commit of a group: empty interim hash. */
    CHECK_EQ(mls_transcript_confirmed_parts(NULL, 0, 1, fc, sizeof fc, sig, sizeof sig, h2), 0);
    CHECK(memcmp(h1, h2, sizeof h1) != 0);
    /* interim = Hash(confirmed || varint(32) || tag) */
    memcpy(in, h1, MLS_HASH_LEN);
    in[MLS_HASH_LEN] = MLS_HASH_LEN;
    memcpy(in + MLS_HASH_LEN + 1, tag, sizeof tag);
    mls_hash(in, MLS_HASH_LEN + 1 + sizeof tag, i1);
    CHECK_EQ(mls_transcript_interim(h1, tag, sizeof tag, i2), 0);
    CHECK_MEM(i1, i2, sizeof i1);
    CHECK_EQ(mls_transcript_interim(h1, tag, (size_t)MLS_VARINT_MAX + 1, i2), MLS_E_INVALID);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_epochs();
    test_psk();
    test_transcript();
    return check_finish("test_mls_keysched");
}
