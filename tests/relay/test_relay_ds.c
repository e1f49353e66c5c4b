/* test_relay_ds: the v2 delivery-service rules over a real relay_store in a temporary
 * directory: CREATE (and refused when the room exists), AUTH with real Ed25519 proofs
 * (current key, earlier key, unknown key, wrong nonce or room), SUBMIT (epoch rule, first
 * commit of an epoch wins, commit moves the epoch, commit without gi_box, gi_box or key on
 * a non-commit, wrong group, bad header, external commit, key rotation), what an earlier
 * key may do, RESUME (ok, GONE after retention, AHEAD), and everything again after the
 * store is closed and reopened (the state is rebuilt from the database). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "relay_ds.h"
#include "sc2_loghash.h"

static const uint8_t ROOM[16] = "room-id-16-bytes";
static const uint8_t OTHER[16] = "other-room-16byt";

static char base[] = "/tmp/relay-ds-XXXXXX";
static char dir[600];

static struct {
    size_t n, bad;
    uint64_t tag[64], seq[64];
} dn;

static void on_done(void *ctx, uint64_t tag, const uint8_t *room_id, size_t room_len,
                    uint64_t seq, relay_store_err err)
{
    (void)ctx;
    (void)room_id;
    (void)room_len;
    if (err)
        dn.bad++;
    if (dn.n < 64) {
        dn.tag[dn.n] = tag;
        dn.seq[dn.n] = seq;
        dn.n++;
    }
}

static relay_store *open_store(uint64_t max_entries)
{
    relay_store_opts o;
    relay_store *s = NULL;
    char err[512];

    relay_store_opts_default(&o);
    o.max_entries = max_entries;
    relay_store_err e = relay_store_open(dir, &o, &s, err, sizeof err);
    if (e)
        fprintf(stderr, "open: %s\n", err);
    CHECK_EQ(e, RELAY_STORE_OK);
    return s;
}

static void flush(relay_store *s, uint64_t now)
{
    dn.n = dn.bad = 0;
    CHECK_EQ(relay_store_flush(s, now, on_done, NULL), RELAY_STORE_OK);
    CHECK_EQ(dn.bad, 0);
}

/* A PublicMessage from a member, or a PrivateMessage (sender 0), for group g at epoch. */
static size_t mls_msg(uint8_t *p, const uint8_t *g, uint64_t epoch, uint8_t sender, uint8_t ct)
{
    size_t o = 0;
    p[o++] = 0; p[o++] = 1; p[o++] = 0; p[o++] = sender ? 1 : 2;
    p[o++] = 16;
    memcpy(p + o, g, 16);
    o += 16;
    for (int i = 7; i >= 0; i--)
        p[o++] = (uint8_t)(epoch >> (8 * i));
    if (sender) {
        p[o++] = sender;
        if (sender == 1) {
            p[o++] = 0; p[o++] = 0; p[o++] = 0; p[o++] = 1;
        }
        p[o++] = 0; /* aad */
        p[o++] = ct;
        memset(p + o, 0x55, 40); /* body, signature, tags: not parsed by the relay */
        o += 40;
    } else {
        p[o++] = ct;
        p[o++] = 0;  /* aad */
        p[o++] = 4;  /* encrypted_sender_data */
        memset(p + o, 1, 4);
        o += 4;
        p[o++] = 10; /* ciphertext */
        memset(p + o, 2, 10);
        o += 10;
    }
    return o;
}

/* The proof as the design states it, computed here independently of sc2_link. */
static void sign_auth(const uint8_t *sk, const uint8_t *room, const uint8_t nonce[32],
                      uint8_t sig[64])
{
    uint8_t m[16 + 16 + 32];
    memcpy(m, "saltchat/v2 auth", 16);
    memcpy(m + 16, room, 16);
    memcpy(m + 32, nonce, 32);
    crypto_sign_detached(sig, NULL, m, sizeof m, sk);
}

/* The chain over the log as the store serves it, against the head and GroupInfo hashes
 * the store kept (before any retention: every entry is there). */
static uint8_t chain_l[64][SC2_LH_BYTES];
static uint64_t chain_n;

static int chain_entry(void *ctx, const relay_store_entry *e)
{
    uint8_t env[256];
    (void)ctx;
    size_t n = sc2_env_encode_log(env, sizeof env, e->seq, e->time_ms, (uint8_t)e->flags,
                                  (e->flags & RELAY_STORE_F_JOIN_PK) ? e->join_pk : NULL,
                                  e->body, e->len);
    CHECK(n > 0);
    CHECK_EQ(e->seq, chain_n + 1);
    sc2_lh_step(chain_l[chain_n], e->seq, env + SC2_ENV_HEADER_BYTES, n - SC2_ENV_HEADER_BYTES,
                chain_l[chain_n + 1]);
    chain_n++;
    return 0;
}

static void check_chain(relay_store *s)
{
    relay_store_meta m;
    uint64_t last;

    CHECK_EQ(relay_store_meta_get(s, ROOM, sizeof ROOM, &m), RELAY_STORE_OK);
    sc2_lh_genesis(ROOM, chain_l[0]);
    chain_n = 0;
    if (m.durable)
        CHECK_EQ(relay_store_read(s, ROOM, sizeof ROOM, 0, 64, 1 << 20, chain_entry, NULL, &last),
                 RELAY_STORE_OK);
    if (m.head_seq == m.durable_head) {
        CHECK_EQ(chain_n, m.head_seq);
        CHECK_MEM(m.head_hash, chain_l[chain_n], SC2_LH_BYTES);
    }
    if (m.durable)
        CHECK_MEM(m.gi_hash, chain_l[m.gi_seq], SC2_LH_BYTES);
}

static relay_ds_res submit(relay_store *s, const uint8_t *msg, size_t n, const uint8_t *gi,
                           size_t gi_len, const uint8_t *pk, uint64_t tag, relay_ds_verdict *v)
{
    relay_ds_submission sub = {msg, n, gi, gi_len, pk};
    return relay_ds_submit(s, ROOM, sizeof ROOM, &sub, 1000 + tag, tag, v);
}

int main(void)
{
    uint8_t pk1[32], sk1[64], pk2[32], sk2[64], pk3[32], sk3[64];
    uint8_t nonce[32], sig[64], msg[200], gi[64], gi2[100];
    relay_ds_verdict v;
    uint64_t seq;
    size_t n;
    int kind;

    if (sodium_init() < 0 || !mkdtemp(base))
        return 1;
    snprintf(dir, sizeof dir, "%s/data", base);
    crypto_sign_keypair(pk1, sk1);
    crypto_sign_keypair(pk2, sk2);
    crypto_sign_keypair(pk3, sk3);
    randombytes_buf(nonce, sizeof nonce);
    memset(gi, 'G', sizeof gi);
    memset(gi2, 'H', sizeof gi2);

    relay_store *s = open_store(0);
    if (!s)
        return 1;

    /* CREATE */
    sign_auth(sk1, ROOM, nonce, sig);
    CHECK_EQ(relay_ds_create(s, ROOM, sizeof ROOM, nonce, pk1, sig, gi, RELAY_DS_GI_MIN - 1, 1, 1),
             RELAY_DS_BAD_GI);
    CHECK_EQ(relay_ds_create(s, ROOM, sizeof ROOM, nonce, pk2, sig, gi, sizeof gi, 1, 1),
             RELAY_DS_BAD_SIG); /* a key the creator does not hold */
    CHECK_EQ(relay_ds_create(s, ROOM, 15, nonce, pk1, sig, gi, sizeof gi, 1, 1), RELAY_DS_NO_ROOM);
    CHECK_EQ(relay_ds_create(s, ROOM, sizeof ROOM, nonce, pk1, sig, gi, sizeof gi, 1, 1),
             RELAY_DS_OK);
    check_chain(s);
    CHECK_EQ(relay_ds_create(s, ROOM, sizeof ROOM, nonce, pk1, sig, gi, sizeof gi, 1, 2),
             RELAY_DS_EXISTS);
    CHECK_EQ(relay_ds_resume(s, ROOM, sizeof ROOM, 0, &seq), RELAY_DS_NO_ROOM); /* staged */
    flush(s, 1);
    CHECK_EQ(dn.n, 1);
    sign_auth(sk2, ROOM, nonce, sig);
    CHECK_EQ(relay_ds_create(s, ROOM, sizeof ROOM, nonce, pk2, sig, gi, sizeof gi, 1, 3),
             RELAY_DS_EXISTS);

    /* AUTH */
    sign_auth(sk1, ROOM, nonce, sig);
    CHECK_EQ(relay_ds_auth(s, ROOM, sizeof ROOM, nonce, pk1, sig, &kind), RELAY_DS_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_CURRENT);
    nonce[0] ^= 1; /* a proof for another challenge */
    CHECK_EQ(relay_ds_auth(s, ROOM, sizeof ROOM, nonce, pk1, sig, &kind), RELAY_DS_BAD_SIG);
    CHECK_EQ(kind, RELAY_STORE_KEY_UNKNOWN);
    nonce[0] ^= 1;
    sign_auth(sk1, OTHER, nonce, sig); /* a proof for another room */
    CHECK_EQ(relay_ds_auth(s, ROOM, sizeof ROOM, nonce, pk1, sig, &kind), RELAY_DS_BAD_SIG);
    sign_auth(sk2, ROOM, nonce, sig); /* a key the room never had */
    CHECK_EQ(relay_ds_auth(s, ROOM, sizeof ROOM, nonce, pk2, sig, &kind), RELAY_DS_UNKNOWN_KEY);
    CHECK_EQ(relay_ds_auth(s, OTHER, sizeof OTHER, nonce, pk2, sig, &kind), RELAY_DS_NO_ROOM);
    CHECK_EQ(relay_ds_may(s, ROOM, sizeof ROOM, pk1, RELAY_DS_OP_SUBMIT), RELAY_DS_OK);
    CHECK_EQ(relay_ds_may(s, ROOM, sizeof ROOM, pk2, RELAY_DS_OP_RESUME), RELAY_DS_UNKNOWN_KEY);

    /* SUBMIT at epoch 0: application, then a commit wins the epoch, the second loses */
    n = mls_msg(msg, ROOM, 0, 0, RELAY_MLSHDR_APPLICATION);
    CHECK_EQ(submit(s, msg, n, NULL, 0, NULL, 10, &v), RELAY_DS_OK);
    CHECK_EQ(v.seq, 1);
    CHECK_EQ(v.is_commit, 0);
    CHECK_EQ(submit(s, msg, n, gi, sizeof gi, NULL, 11, &v), RELAY_DS_NOT_COMMIT);
    CHECK_EQ(submit(s, msg, n, NULL, 0, pk2, 11, &v), RELAY_DS_NOT_COMMIT);
    n = mls_msg(msg, ROOM, 0, 1, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(submit(s, msg, n, NULL, 0, NULL, 12, &v), RELAY_DS_NO_GI);
    CHECK_EQ(submit(s, msg, n, gi, 10, NULL, 12, &v), RELAY_DS_BAD_GI);
    CHECK_EQ(submit(s, msg, n, gi, sizeof gi, NULL, 13, &v), RELAY_DS_OK);
    CHECK_EQ(v.seq, 2);
    CHECK_EQ(v.is_commit, 1);
    CHECK_EQ(v.epoch, 0);
    CHECK_EQ(submit(s, msg, n, gi2, sizeof gi2, NULL, 14, &v), RELAY_DS_STALE_EPOCH);
    CHECK_EQ(v.epoch, 1);
    n = mls_msg(msg, ROOM, 0, 0, RELAY_MLSHDR_APPLICATION); /* too late for epoch 0 */
    CHECK_EQ(submit(s, msg, n, NULL, 0, NULL, 15, &v), RELAY_DS_STALE_EPOCH);
    n = mls_msg(msg, ROOM, 5, 0, RELAY_MLSHDR_APPLICATION); /* from the future */
    CHECK_EQ(submit(s, msg, n, NULL, 0, NULL, 15, &v), RELAY_DS_STALE_EPOCH);
    CHECK_EQ(v.epoch, 1);
    n = mls_msg(msg, OTHER, 1, 0, RELAY_MLSHDR_APPLICATION);
    CHECK_EQ(submit(s, msg, n, NULL, 0, NULL, 15, &v), RELAY_DS_WRONG_GROUP);
    msg[0] = 9;
    CHECK_EQ(submit(s, msg, n, NULL, 0, NULL, 15, &v), RELAY_DS_BAD_MLS);
    CHECK_EQ(v.mls_err, RELAY_MLSHDR_E_VERSION);
    /* an external commit (new_member_commit) at epoch 1 rotating the key to pk3 */
    n = mls_msg(msg, ROOM, 1, RELAY_MLSHDR_NEW_MEMBER_COMMIT, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(submit(s, msg, n, gi2, sizeof gi2, pk3, 16, &v), RELAY_DS_OK);
    CHECK_EQ(v.seq, 3);
    CHECK_EQ(v.hdr.sender_type, RELAY_MLSHDR_NEW_MEMBER_COMMIT);
    /* a PrivateMessage commit at epoch 2 */
    n = mls_msg(msg, ROOM, 2, 0, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(submit(s, msg, n, gi, sizeof gi, NULL, 17, &v), RELAY_DS_OK);
    CHECK_EQ(v.seq, 4);
    /* the old key is now an earlier one, even before the flush */
    CHECK_EQ(relay_ds_may(s, ROOM, sizeof ROOM, pk1, RELAY_DS_OP_SUBMIT), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(relay_ds_may(s, ROOM, sizeof ROOM, pk1, RELAY_DS_OP_GET_GI), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(relay_ds_may(s, ROOM, sizeof ROOM, pk1, RELAY_DS_OP_RESUME), RELAY_DS_OK);
    CHECK_EQ(relay_ds_may(s, ROOM, sizeof ROOM, pk3, RELAY_DS_OP_SUBMIT), RELAY_DS_OK);
    /* the earlier key reads up to the (staged) commit that replaced it */
    uint64_t until = 0;
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk1, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 3);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk3, &until), RELAY_DS_OK);
    CHECK_EQ(until, UINT64_MAX);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk2, &until), RELAY_DS_UNKNOWN_KEY);
    CHECK_EQ(until, 0);
    CHECK_EQ(relay_ds_read_limit(s, OTHER, sizeof OTHER, pk1, &until), RELAY_DS_NO_ROOM);
    flush(s, 2000);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk1, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 3); /* durable now */
    check_chain(s);
    CHECK_EQ(dn.n, 4);
    CHECK_EQ(dn.tag[0], 10);
    CHECK_EQ(dn.seq[0], 1);
    CHECK_EQ(dn.tag[3], 17);
    CHECK_EQ(dn.seq[3], 4);

    /* RESUME */
    CHECK_EQ(relay_ds_resume(s, ROOM, sizeof ROOM, 0, &seq), RELAY_DS_OK);
    CHECK_EQ(relay_ds_resume(s, ROOM, sizeof ROOM, 4, &seq), RELAY_DS_OK);
    CHECK_EQ(relay_ds_resume(s, ROOM, sizeof ROOM, 5, &seq), RELAY_DS_AHEAD);
    CHECK_EQ(seq, 4);
    CHECK_EQ(relay_ds_resume(s, OTHER, sizeof OTHER, 0, &seq), RELAY_DS_NO_ROOM);

    /* restart: the epoch, keys and head come back from the database */
    relay_store_close(s);
    s = open_store(2); /* and retention keeps 2 entries per room from now on */
    if (!s)
        return 1;
    sign_auth(sk1, ROOM, nonce, sig);
    CHECK_EQ(relay_ds_auth(s, ROOM, sizeof ROOM, nonce, pk1, sig, &kind), RELAY_DS_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_EARLIER);
    sign_auth(sk3, ROOM, nonce, sig);
    CHECK_EQ(relay_ds_auth(s, ROOM, sizeof ROOM, nonce, pk3, sig, &kind), RELAY_DS_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_CURRENT);
    sign_auth(sk2, ROOM, nonce, sig);
    CHECK_EQ(relay_ds_create(s, ROOM, sizeof ROOM, nonce, pk2, sig, gi, sizeof gi, 1, 3),
             RELAY_DS_EXISTS);
    n = mls_msg(msg, ROOM, 2, 1, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(submit(s, msg, n, gi, sizeof gi, NULL, 20, &v), RELAY_DS_STALE_EPOCH);
    CHECK_EQ(v.epoch, 3);
    n = mls_msg(msg, ROOM, 3, 1, RELAY_MLSHDR_PROPOSAL);
    CHECK_EQ(submit(s, msg, n, NULL, 0, NULL, 21, &v), RELAY_DS_OK);
    CHECK_EQ(v.seq, 5);
    check_chain(s);
    flush(s, 3000);
    /* retention dropped seq 1..3: RESUME from 0 is GONE, from 3 is fine */
    CHECK_EQ(relay_ds_resume(s, ROOM, sizeof ROOM, 0, &seq), RELAY_DS_GONE);
    CHECK_EQ(seq, 4);
    CHECK_EQ(relay_ds_resume(s, ROOM, sizeof ROOM, 2, &seq), RELAY_DS_GONE);
    CHECK_EQ(relay_ds_resume(s, ROOM, sizeof ROOM, 3, &seq), RELAY_DS_OK);
    /* the latest gi_box is kept whatever retention does */
    uint8_t buf[128];
    size_t gl;
    uint64_t gseq;
    CHECK_EQ(relay_store_gi(s, ROOM, sizeof ROOM, buf, sizeof buf, &gl, &gseq), RELAY_STORE_OK);
    CHECK_EQ(gl, sizeof gi);
    CHECK_EQ(gseq, 4);
    /* until_seq of an earlier key comes back from the database; a second rotation
     * (staged, then durable) gives the key it replaces its own */
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk1, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 3);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk3, &until), RELAY_DS_OK);
    n = mls_msg(msg, ROOM, 3, 1, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(submit(s, msg, n, gi, sizeof gi, pk2, 22, &v), RELAY_DS_OK);
    CHECK_EQ(v.seq, 6);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk3, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 6);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk2, &until), RELAY_DS_OK);
    flush(s, 4000);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk3, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 6);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk1, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 3);
    /* a commit making an earlier key current again (no honest client does: links are
     * derived), then replacing it: that key reads up to the later replacement */
    n = mls_msg(msg, ROOM, 4, 1, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(submit(s, msg, n, gi, sizeof gi, pk1, 23, &v), RELAY_DS_OK);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk1, &until), RELAY_DS_OK);
    n = mls_msg(msg, ROOM, 5, 1, RELAY_MLSHDR_COMMIT);
    CHECK_EQ(submit(s, msg, n, gi, sizeof gi, pk3, 24, &v), RELAY_DS_OK);
    CHECK_EQ(v.seq, 8);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk1, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 8); /* staged */
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk2, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 7);
    flush(s, 5000);
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk1, &until), RELAY_DS_EARLIER_KEY);
    CHECK_EQ(until, 8); /* durable: the row was updated, not added */
    CHECK_EQ(relay_ds_read_limit(s, ROOM, sizeof ROOM, pk3, &until), RELAY_DS_OK);
    {
        relay_store_meta meta;
        CHECK_EQ(relay_store_meta_get(s, ROOM, sizeof ROOM, &meta), RELAY_STORE_OK);
        CHECK_EQ(meta.earlier_keys, 3);
    }

    for (int r = RELAY_DS_OK; r <= RELAY_DS_STORE; r++)
        CHECK(strcmp(relay_ds_res_name((relay_ds_res)r), "unknown") != 0);
    relay_store_close(s);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    CHECK_EQ(system(cmd), 0);
    return check_finish("test_relay_ds");
}
