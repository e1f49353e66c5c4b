/*
 * v2_room_scenario: the fixed sc2_room run behind tests/vectors/v2_room.txt, shared by
 * gen_v2_vectors (which writes its outputs) and check_v2_vectors (which runs it again and
 * compares). A creator makes a room with a deterministic rng, is handed a CHALLENGE and a
 * LIVE(0) as a relay would, sends one text and then its leave request; every WebSocket
 * message it writes is kept. Header-only (static functions), test code.
 */
#ifndef V2_ROOM_SCENARIO_H
#define V2_ROOM_SCENARIO_H

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "mls_rng.h"
#include "sc2_envelope.h"
#include "sc2_link.h"
#include "sc2_loghash.h"
#include "sc2_room.h"

#define V2RS_MAX_OUT 8
#define V2RS_MAX_BYTES 8192

typedef struct v2rs_rng {
    uint8_t seed[32];
    uint64_t i;
} v2rs_rng;

/* The vectors' deterministic rng (README.md): draw i of n bytes is
 * randombytes_buf_deterministic(n, H(32, key seed, u64(i))). */
static void v2rs_fill(void *ctx, uint8_t *o, size_t n)
{
    v2rs_rng *r = ctx;
    uint8_t ib[8], s[32];
    for (int k = 7; k >= 0; k--)
        ib[7 - k] = (uint8_t)(r->i >> (8 * k));
    crypto_generichash(s, 32, ib, 8, r->seed, 32);
    randombytes_buf_deterministic(o, n, s);
    r->i++;
}

typedef struct v2rs_out {
    uint8_t sig_seed[32];
    uint8_t identity[32];
    uint8_t room_id[16];
    uint8_t link_secret[32];
    uint8_t nonce[32];
    uint8_t challenge[64];
    size_t challenge_len;
    uint8_t live[16];
    size_t live_len;
    /* outputs: [0] CREATE, [1] RESUME(0), then the text's SUBMIT, then the leave's */
    uint8_t msg[V2RS_MAX_OUT][V2RS_MAX_BYTES];
    size_t msg_len[V2RS_MAX_OUT];
    size_t n_msg;
    /* a joiner with the link (identity seed H(32, label || " joiner"), name "joiner",
     * rng seed H(32, label || " joiner rng"), CHALLENGE nonce H(32, label || " joiner
     * nonce")): [0] AUTH, [1] GET_GI, then, given GI(0, L_0, the CREATE's gi_box),
     * [2] the SUBMIT of its external commit */
    uint8_t j_seed[32];
    uint8_t j_identity[32];
    uint8_t j_nonce[32];
    uint8_t j_challenge[64];
    size_t j_challenge_len;
    uint8_t j_gi[V2RS_MAX_BYTES];
    size_t j_gi_len;
    uint8_t j_msg[3][V2RS_MAX_BYTES];
    size_t j_msg_len[3];
    size_t j_n;
} v2rs_out;

static int v2rs_drain_to(sc2_room *r, uint8_t (*msg)[V2RS_MAX_BYTES], size_t *lens,
                         size_t *count, size_t max)
{
    size_t n;
    const uint8_t *p;
    while ((p = sc2_room_output(r, &n)) != NULL) {
        if (*count == max || n > V2RS_MAX_BYTES)
            return -1;
        memcpy(msg[*count], p, n);
        lens[(*count)++] = n;
        sc2_room_output_pop(r);
    }
    return 0;
}

static int v2rs_drain(sc2_room *r, v2rs_out *o)
{
    return v2rs_drain_to(r, o->msg, o->msg_len, &o->n_msg, V2RS_MAX_OUT);
}

/* The joiner's half: link in, AUTH / GET_GI / external commit out. */
static int v2rs_join(const char *seed_label, const char *link, uint64_t now_ms,
                     const uint8_t *gi_box, size_t gi_box_len, v2rs_out *o)
{
    char lab[256];
    v2rs_rng v;
    mls_rng rng = {v2rs_fill, &v};
    sc2_room *r = NULL;
    uint8_t l0[32];
    sc2_loghash lh;
    int rc = -1;

    memset(&v, 0, sizeof v);
    snprintf(lab, sizeof lab, "%s joiner rng", seed_label);
    crypto_generichash(v.seed, 32, (const uint8_t *)lab, strlen(lab), NULL, 0);
    snprintf(lab, sizeof lab, "%s joiner", seed_label);
    crypto_generichash(o->j_seed, 32, (const uint8_t *)lab, strlen(lab), NULL, 0);
    snprintf(lab, sizeof lab, "%s joiner nonce", seed_label);
    crypto_generichash(o->j_nonce, 32, (const uint8_t *)lab, strlen(lab), NULL, 0);
    sc2_room_config cfg = {o->j_seed, "joiner", &rng};
    if (sc2_room_join(&r, &cfg, link))
        return -1;
    memcpy(o->j_identity, sc2_room_identity(r), 32);
    sc2_lh_init_genesis(&lh, o->room_id);
    (void)sc2_lh_head(&lh, l0);
    o->j_challenge_len = sc2_env_encode_challenge(o->j_challenge, sizeof o->j_challenge,
                                                  o->j_nonce, 1048576u);
    o->j_gi_len = sc2_env_encode_gi(o->j_gi, sizeof o->j_gi, 0, l0, gi_box, gi_box_len);
    if (!o->j_challenge_len || !o->j_gi_len)
        goto fail;
    sc2_room_connected(r, now_ms);
    if (sc2_room_receive(r, o->j_challenge, o->j_challenge_len, now_ms) ||
        v2rs_drain_to(r, o->j_msg, o->j_msg_len, &o->j_n, 3) || o->j_n != 2)
        goto fail;
    if (sc2_room_receive(r, o->j_gi, o->j_gi_len, now_ms) ||
        v2rs_drain_to(r, o->j_msg, o->j_msg_len, &o->j_n, 3) || o->j_n != 3)
        goto fail;
    rc = 0;
fail:
    sc2_room_free(r);
    return rc;
}

/*
 * Runs the scenario for seed_label (the rng seed is H(32, label), the identity seed
 * H(32, label || " identity"), the CHALLENGE nonce H(32, label || " nonce")), display name
 * and clock now_ms, sending text. Returns 0 and fills *o, or -1.
 */
static int v2rs_run(const char *seed_label, const char *name, uint64_t now_ms,
                    const char *text, v2rs_out *o)
{
    char lab[256];
    v2rs_rng v;
    mls_rng rng = {v2rs_fill, &v};
    sc2_room *r = NULL;
    char link[1100];
    int rc = -1;

    memset(o, 0, sizeof *o);
    memset(&v, 0, sizeof v);
    crypto_generichash(v.seed, 32, (const uint8_t *)seed_label, strlen(seed_label), NULL, 0);
    snprintf(lab, sizeof lab, "%s identity", seed_label);
    crypto_generichash(o->sig_seed, 32, (const uint8_t *)lab, strlen(lab), NULL, 0);
    snprintf(lab, sizeof lab, "%s nonce", seed_label);
    crypto_generichash(o->nonce, 32, (const uint8_t *)lab, strlen(lab), NULL, 0);
    sc2_room_config cfg = {o->sig_seed, name, &rng};
    if (sc2_room_create(&r, &cfg, now_ms))
        return -1;
    memcpy(o->identity, sc2_room_identity(r), 32);
    memcpy(o->room_id, sc2_room_id(r), 16);
    if (sc2_room_link(r, "http://localhost/", link, sizeof link) < 0 ||
        sc2_link_parse(link, o->room_id, o->link_secret, NULL, 0) < 0)
        goto fail;
    o->challenge_len = sc2_env_encode_challenge(o->challenge, sizeof o->challenge, o->nonce,
                                                1048576u);
    o->live_len = sc2_env_encode_live(o->live, sizeof o->live, 0);
    if (!o->challenge_len || !o->live_len)
        goto fail;
    sc2_room_connected(r, now_ms);
    if (sc2_room_receive(r, o->challenge, o->challenge_len, now_ms) || v2rs_drain(r, o) ||
        o->n_msg != 2)
        goto fail;
    if (sc2_room_receive(r, o->live, o->live_len, now_ms) || v2rs_drain(r, o) ||
        sc2_room_state(r) != SC2_RS_LIVE)
        goto fail;
    if (sc2_room_send_text(r, (const uint8_t *)text, strlen(text), now_ms, NULL) ||
        v2rs_drain(r, o) || o->n_msg != 3)
        goto fail;
    if (sc2_room_leave(r, now_ms, NULL) || v2rs_drain(r, o) || o->n_msg != 4)
        goto fail;
    sc2_env ce;
    if (sc2_env_decode(o->msg[0], o->msg_len[0], SC2_FROM_CLIENT, &ce) != 0 ||
        ce.type != SC2_T_CREATE ||
        v2rs_join(seed_label, link, now_ms, ce.gi_box, ce.gi_box_len, o))
        goto fail;
    rc = 0;
fail:
    sc2_room_free(r);
    return rc;
}

#endif
