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
} v2rs_out;

static int v2rs_drain(sc2_room *r, v2rs_out *o)
{
    size_t n;
    const uint8_t *p;
    while ((p = sc2_room_output(r, &n)) != NULL) {
        if (o->n_msg == V2RS_MAX_OUT || n > V2RS_MAX_BYTES)
            return -1;
        memcpy(o->msg[o->n_msg], p, n);
        o->msg_len[o->n_msg++] = n;
        sc2_room_output_pop(r);
    }
    return 0;
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
                                                1048576u, 0);
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
    rc = 0;
fail:
    sc2_room_free(r);
    return rc;
}

#endif
