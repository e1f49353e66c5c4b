/* test_session_hostile: sc_session against a hostile relay and an outsider. The router of
 * session_router.h captures, holds, replays, reorders, tampers with and truncates frames,
 * and lies about membership; every case must end in the right events, never a crash, a
 * forged message, or silence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sc_wire.h"
#include "session_router.h"

static const uint8_t SECRET[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t OTHER_SECRET[32] = {9, 9, 9, 9};

#define BIG_PAYLOAD 65536u

/* Hold DATA frames for client g_to whose inner kind is g_kind (-1: any kind). */
static int g_to = -1, g_kind = -1;
static int hold_kind(r_router *r, int from, int to, uint8_t mode, const uint8_t *p, size_t n)
{
    (void)r, (void)from, (void)mode;
    return to == g_to && n >= 2 && (g_kind < 0 || p[1] == g_kind) ? 2 : 0;
}

static void hold(r_router *r, int to, int kind)
{
    g_to = to;
    g_kind = kind;
    r->filter = hold_kind;
}

static void unhold(r_router *r)
{
    g_to = -1;
    r->filter = NULL;
}

/* Copies of every DATA frame delivered to g_cap_to. */
#define CAP_MAX 256
static int g_cap_to = -1;
static uint8_t *g_cap[CAP_MAX];
static size_t g_cap_len[CAP_MAX], g_n_cap;
static int capture(r_router *r, int from, int to, uint8_t mode, const uint8_t *p, size_t n)
{
    if (to == g_cap_to && g_n_cap < CAP_MAX) {
        size_t len = SC_ENV_DATA_OVERHEAD + n;
        g_cap[g_n_cap] = malloc(len);
        sc_env_encode_data(g_cap[g_n_cap], len, r->c[from].id, mode, p, n);
        g_cap_len[g_n_cap++] = len;
    }
    return 0;
}

static void capture_free(void)
{
    for (size_t i = 0; i < g_n_cap; i++)
        free(g_cap[i]);
    g_n_cap = 0;
}

static uint8_t frame_kind(const uint8_t *frame)
{
    return frame[SC_ENV_DATA_OVERHEAD + 1];
}

/* Injects a bad frame; checks it produced a rejection (a PROTOCOL_ERROR with -1, or
 * UNDECRYPTABLE / WARNING / HANDSHAKE_FAILED events) and nothing shown or accepted.
 * Returns the first new event's type (or PROTOCOL_ERROR). */
static enum sc_event_type expect_rejected(r_router *r, int i, const uint8_t *p, size_t n,
                                          char *reason, size_t rcap)
{
    r_client *c = &r->c[i];
    size_t before = c->n_log;
    int rc = r_inject(r, i, p, n);
    CHECK(c->n_log > before);
    enum sc_event_type first = c->n_log > before ? c->log[before].ev.type : 0;
    if (reason && rcap)
        snprintf(reason, rcap, "%s", c->n_log > before ? c->log[before].reason : "");
    for (size_t k = before; k < c->n_log; k++) {
        enum sc_event_type t = c->log[k].ev.type;
        CHECK(t == SC_EV_UNDECRYPTABLE || t == SC_EV_WARNING || t == SC_EV_HANDSHAKE_FAILED ||
              t == SC_EV_PROTOCOL_ERROR);
    }
    if (rc != 0)
        CHECK_EQ(first, SC_EV_PROTOCOL_ERROR);
    else
        CHECK(first != SC_EV_PROTOCOL_ERROR);
    return first;
}

/* A member with the wrong room secret completes no handshake and reads nothing; the honest
 * members report it (as responder at once, as initiator by timeout) and talk on. */
static void test_wrong_secret(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int w = r_add(&r, "mallory", 2, OTHER_SECRET, 0);
    int b = r_add(&r, "bob", 3, SECRET, 0);
    for (int i = 0; i < 3; i++) {
        r_connect(&r, i);
        r_pump(&r);
    }
    r_send(&r, a, "a1");
    r_send(&r, b, "b1");
    r_send(&r, w, "w1");
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[b], SC_EV_HANDSHAKE_FAILED, "wrong room secret"), 1);
    CHECK_EQ(r_count(&r.c[w], SC_EV_HANDSHAKE_FAILED, "wrong room secret"), 1);
    r_advance(&r, SC_SESSION_HANDSHAKE_TIMEOUT_MS);
    CHECK_EQ(r_count(&r.c[a], SC_EV_HANDSHAKE_FAILED, "timeout"), 1);
    CHECK_EQ(r_count(&r.c[w], SC_EV_HANDSHAKE_FAILED, "timeout"), 1);
    for (size_t k = 0; k < r.c[a].n_log; k++)
        if (r.c[a].log[k].ev.type == SC_EV_HANDSHAKE_FAILED)
            CHECK_EQ(r.c[a].log[k].ev.member, r.c[w].id);
    CHECK_EQ(r_count_auth(&r.c[w]), 0);
    CHECK_EQ(r_count(&r.c[w], SC_EV_MESSAGE, NULL), 0);
    CHECK_EQ(r_count(&r.c[w], SC_EV_UNDECRYPTABLE, "handshake failed"), 2);
    CHECK_EQ(r_count_auth(&r.c[a]), 1);
    CHECK_EQ(r_count_auth(&r.c[b]), 1);
    CHECK_EQ(r_count_text(&r.c[a], "b1"), 1);
    CHECK_EQ(r_count_text(&r.c[b], "a1"), 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_UNDECRYPTABLE, "handshake failed"), 1); /* w1 */
    CHECK_EQ(r_count(&r.c[b], SC_EV_UNDECRYPTABLE, "handshake failed"), 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_MESSAGE, NULL), 1);
    r_free(&r);
}

/* Replayed frames of every kind are rejected with the right reason, alone or batched. */
static void test_replay(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 2);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    g_cap_to = b;
    r.filter = capture;
    r_connect(&r, a);
    r_pump(&r);
    r_connect(&r, b);
    r_pump(&r);
    for (int k = 0; k < 5; k++)
        r_send(&r, a, "tick");
    r_pump(&r);
    r.filter = NULL;
    CHECK_EQ(r_count(&r.c[b], SC_EV_MESSAGE, NULL), 5);
    size_t n_hs = 0, n_chan = 0, n_group = 0;
    size_t msgs = r_count(&r.c[b], SC_EV_MESSAGE, NULL);
    size_t keys = r_count(&r.c[b], SC_EV_PEER_KEYS, NULL);
    for (size_t k = 0; k < g_n_cap; k++) {
        char why[200];
        uint8_t kind = frame_kind(g_cap[k]);
        enum sc_event_type t = expect_rejected(&r, b, g_cap[k], g_cap_len[k], why, sizeof why);
        if (kind == SC_KIND_GROUP) {
            n_group++;
            CHECK_EQ(t, SC_EV_UNDECRYPTABLE);
            /* a has rotated twice: its first chain is gone, the later two are replays */
            CHECK(strcmp(why, "replay") == 0 || strcmp(why, "unknown chain") == 0);
        } else if (kind == SC_KIND_CHAN) {
            n_chan++;
            CHECK_EQ(t, SC_EV_WARNING);
            CHECK(strcmp(why, "replayed channel message") == 0);
        } else {
            n_hs++;
            CHECK_EQ(t, SC_EV_WARNING);
            CHECK(strcmp(why, "duplicate handshake") == 0 ||
                  strcmp(why, "handshake message out of turn") == 0);
        }
    }
    CHECK_EQ(n_group, 5);
    CHECK_EQ(n_chan, 3); /* initial chain + two rotations */
    CHECK_EQ(n_hs, 2);   /* b is responder: HS1 and HS3 */
    /* all of it again as one batch */
    size_t total = 0;
    for (size_t k = 0; k < g_n_cap; k++)
        total += g_cap_len[k];
    uint8_t *batch = malloc(total);
    size_t off = 0;
    for (size_t k = 0; k < g_n_cap; k++) {
        memcpy(batch + off, g_cap[k], g_cap_len[k]);
        off += g_cap_len[k];
    }
    size_t before = r.c[b].n_log;
    CHECK_EQ(r_inject(&r, b, batch, total), 0);
    CHECK_EQ(r.c[b].n_log - before, g_n_cap);
    free(batch);
    CHECK_EQ(r_count(&r.c[b], SC_EV_MESSAGE, NULL), msgs);
    CHECK_EQ(r_count(&r.c[b], SC_EV_PEER_KEYS, NULL), keys);
    CHECK_EQ(r_count_auth(&r.c[b]), 1);
    /* the channel still works after all that */
    r_send(&r, a, "still fine");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[b], "still fine"), 1);
    capture_free();
    r_free(&r);
}

/* A replayed or out-of-turn handshake message during a live handshake is rejected with a
 * warning and does not kill it. */
static void test_replay_during_handshake(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    r_connect(&r, a);
    r_pump(&r);
    hold(&r, b, SC_KIND_HS1);
    r_connect(&r, b);
    r_pump(&r);
    r_buf *hs1 = r_held_at(&r, 0);
    CHECK(hs1 != NULL);
    size_t hs1_len = hs1->len;
    uint8_t *copy = malloc(hs1_len);
    memcpy(copy, hs1->data, hs1_len);
    r_release_held(&r);
    hold(&r, b, -1); /* bob answers HS1, then waits for HS3 (and what follows it) */
    r_pump(&r);
    CHECK_EQ(r.n_held, 2); /* HS3 and the SKD behind it */
    char why[200];
    CHECK_EQ(expect_rejected(&r, b, copy, hs1_len, why, sizeof why), SC_EV_WARNING);
    CHECK(strcmp(why, "duplicate handshake") == 0);
    free(copy);
    /* a HS2 is out of turn for a responder */
    uint8_t env[64];
    const uint8_t hs2[] = {SC_WIRE_VERSION, SC_KIND_HS2, 0};
    size_t n = sc_env_encode_data(env, sizeof env, r.c[a].id, SC_ENV_MODE_UNICAST, hs2, 3);
    CHECK_EQ(expect_rejected(&r, b, env, n, why, sizeof why), SC_EV_WARNING);
    CHECK(strcmp(why, "handshake message out of turn") == 0);
    unhold(&r);
    r_release_held(&r);
    r_pump(&r);
    CHECK_EQ(r_count_auth(&r.c[b]), 1);
    CHECK_EQ(r_count(&r.c[b], SC_EV_HANDSHAKE_FAILED, NULL), 0);
    r_send(&r, a, "through");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[b], "through"), 1);
    r_free(&r);
}

/* Reordered and missing group messages inside the bound still decrypt; beyond it they are
 * "too far ahead"; keys evicted from the skipped store are "too old". */
static void test_reorder_and_bounds(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 100000);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    r_connect(&r, a);
    r_pump(&r);
    r_connect(&r, b);
    r_pump(&r);
    hold(&r, b, SC_KIND_GROUP);
    char text[32];
    for (int k = 0; k < 7; k++) {
        snprintf(text, sizeof text, "m%d", k);
        r_send(&r, a, text);
    }
    r_pump(&r);
    CHECK_EQ(r.n_held, 7);
    static const int order[] = {2, 0, 1, 6, 3, 4}; /* 5 is lost */
    for (int k = 0; k < 6; k++) {
        r_buf *f = r_held_at(&r, (size_t)order[k]);
        CHECK_EQ(r_inject(&r, b, f->data, f->len), 0);
    }
    const char *t[16];
    CHECK_EQ(r_texts_from(&r.c[b], &r.c[a], t, 16), 6);
    for (int k = 0; k < 6; k++) {
        snprintf(text, sizeof text, "m%d", order[k]);
        CHECK(strcmp(t[k], text) == 0);
    }
    CHECK_EQ(r_count(&r.c[b], SC_EV_UNDECRYPTABLE, NULL), 0);
    r_bufs_free(r.held);
    r.held = r.held_tail = NULL;
    r.n_held = 0;

    /* b's chain for a is at 7. Send 4000 more (indices 7..4006), held. */
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < 1000; k++) {
            snprintf(text, sizeof text, "n%d", round * 1000 + k);
            CHECK_EQ(sc_session_send(r.c[a].s, (const uint8_t *)text, strlen(text), r.now,
                                     NULL),
                     0);
        }
        r_pump(&r);
    }
    CHECK_EQ(r.n_held, 4000);
#define IDX(i) r_held_at(&r, (size_t)((i)-7))
    char why[200];
    /* next is 7: 1008 is more than 1000 ahead */
    CHECK_EQ(expect_rejected(&r, b, IDX(1008)->data, IDX(1008)->len, why, sizeof why),
             SC_EV_UNDECRYPTABLE);
    CHECK(strcmp(why, "too far ahead") == 0);
    /* 1007 is exactly 1000 ahead: accepted, 7..1006 stored (1000 keys) */
    CHECK_EQ(r_inject(&r, b, IDX(1007)->data, IDX(1007)->len), 0);
    CHECK_EQ(r_count_text(&r.c[b], "n1000"), 1);
    /* 2008 then 3008: 1008..2007 and 2009..3007 stored: 2999 > 2000, oldest evicted */
    CHECK_EQ(r_inject(&r, b, IDX(2008)->data, IDX(2008)->len), 0);
    CHECK_EQ(r_inject(&r, b, IDX(3008)->data, IDX(3008)->len), 0);
    CHECK_EQ(r_count_text(&r.c[b], "n3001"), 1);
    CHECK_EQ(expect_rejected(&r, b, IDX(7)->data, IDX(7)->len, why, sizeof why),
             SC_EV_UNDECRYPTABLE);
    CHECK(strcmp(why, "too old") == 0);
    /* a recent skipped one is still there, once */
    CHECK_EQ(r_inject(&r, b, IDX(3007)->data, IDX(3007)->len), 0);
    CHECK_EQ(r_count_text(&r.c[b], "n3000"), 1);
    CHECK_EQ(expect_rejected(&r, b, IDX(3007)->data, IDX(3007)->len, why, sizeof why),
             SC_EV_UNDECRYPTABLE);
    CHECK(strcmp(why, "replay") == 0);
#undef IDX
    r_free(&r);
}

/* Every byte of a group frame, of a channel (SKD) frame and of each handshake frame,
 * flipped, is rejected with events and never shown; the originals still work after. */
static void test_tamper_group_and_chan(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 1);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    r_connect(&r, a);
    r_pump(&r);
    r_connect(&r, b);
    r_pump(&r);
    hold(&r, b, -1);
    r_send(&r, a, "secret"); /* a rotates right after: GROUP then CHAN(SKD) for b */
    r_pump(&r);
    unhold(&r);
    CHECK_EQ(r.n_held, 2);
    r_buf *group = r_held_at(&r, 0), *chan = r_held_at(&r, 1);
    CHECK_EQ(frame_kind(group->data), SC_KIND_GROUP);
    CHECK_EQ(frame_kind(chan->data), SC_KIND_CHAN);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    uint8_t *copy = malloc(group->len > chan->len ? group->len : chan->len);
    const size_t body = SC_ENV_DATA_OVERHEAD; /* payload offset in a DATA frame */
    for (size_t i = 0; i < group->len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(copy, group->data, group->len);
            copy[i] ^= masks[m];
            char why[200];
            enum sc_event_type t = expect_rejected(&r, b, copy, group->len, why, sizeof why);
            if (i >= body + 2 && i < body + 6) {
                CHECK_EQ(t, SC_EV_UNDECRYPTABLE);
                CHECK(strcmp(why, "unknown chain") == 0);
            } else if (i >= body + 6) {
                CHECK_EQ(t, SC_EV_UNDECRYPTABLE);
                CHECK(strcmp(why, "bad signature") == 0);
            }
        }
    CHECK_EQ(r_count(&r.c[b], SC_EV_MESSAGE, NULL), 0);
    CHECK_EQ(r_inject(&r, b, group->data, group->len), 0);
    CHECK_EQ(r_count_text(&r.c[b], "secret"), 1);

    size_t keys = r_count(&r.c[b], SC_EV_PEER_KEYS, NULL);
    for (size_t i = 0; i < chan->len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(copy, chan->data, chan->len);
            copy[i] ^= masks[m];
            char why[200];
            enum sc_event_type t = expect_rejected(&r, b, copy, chan->len, why, sizeof why);
            if (i >= body + 10) {
                CHECK_EQ(t, SC_EV_WARNING);
                CHECK(strcmp(why, "channel message failed authentication") == 0);
            }
        }
    CHECK_EQ(r_count(&r.c[b], SC_EV_PEER_KEYS, NULL), keys);
    CHECK_EQ(r_inject(&r, b, chan->data, chan->len), 0);
    CHECK_EQ(r_count(&r.c[b], SC_EV_PEER_KEYS, NULL), keys + 1);
    r_send(&r, a, "on the new chain");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[b], "on the new chain"), 1);
    free(copy);
    r_free(&r);
}

/* Handshake frames: each byte flipped in a fresh pair. No flip lets a handshake complete. */
static void test_tamper_handshake(void)
{
    static const struct {
        int kind, to; /* to: 0 = alice (initiator), 1 = bob (responder) */
    } cases[] = {{SC_KIND_HS1, 1}, {SC_KIND_HS2, 0}, {SC_KIND_HS3, 1}};
    for (size_t c = 0; c < 3; c++) {
        size_t len = 0;
        for (size_t i = 0; len == 0 || i < len; i++) {
            r_router r;
            r_init(&r, BIG_PAYLOAD);
            r_add(&r, "alice", 1, SECRET, 0);
            r_add(&r, "bob", 2, SECRET, 0);
            hold(&r, cases[c].to, cases[c].kind);
            r_connect(&r, 0);
            r_pump(&r);
            r_connect(&r, 1);
            r_pump(&r);
            unhold(&r);
            CHECK_EQ(r.n_held, 1);
            if (r.n_held != 1) {
                r_free(&r);
                break;
            }
            len = r.held->len;
            uint8_t *copy = malloc(len);
            memcpy(copy, r.held->data, len);
            copy[i] ^= 0x01;
            int to = cases[c].to;
            enum sc_event_type t = expect_rejected(&r, to, copy, len, NULL, 0);
            if (i >= SC_ENV_DATA_OVERHEAD + 2)
                CHECK_EQ(t, SC_EV_HANDSHAKE_FAILED);
            free(copy);
            r_pump(&r);
            r_advance(&r, SC_SESSION_HANDSHAKE_TIMEOUT_MS);
            CHECK_EQ(r_count_auth(&r.c[to]), 0);
            CHECK_EQ(r_count(&r.c[to], SC_EV_HANDSHAKE_FAILED, NULL), 1);
            /* HS3 flipped: alice finished (she had HS2), bob did not, so bob's key
             * never reaches alice, and she says so */
            if (cases[c].kind == SC_KIND_HS3 && i >= SC_ENV_DATA_OVERHEAD + 2)
                CHECK_EQ(r_count(&r.c[0], SC_EV_WARNING,
                                 "no sender key from member within 15 s of the handshake"),
                         1);
            r_free(&r);
        }
    }
}

/* Truncated frames: every prefix is a protocol error; truncated payloads are malformed;
 * a batch with a truncated tail is rejected whole. */
static void test_truncation(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    r_connect(&r, a);
    r_pump(&r);
    r_connect(&r, b);
    r_pump(&r);
    hold(&r, b, SC_KIND_GROUP);
    r_send(&r, a, "first");
    r_send(&r, a, "second");
    r_pump(&r);
    unhold(&r);
    r_buf *f1 = r_held_at(&r, 0), *f2 = r_held_at(&r, 1);
    for (size_t n = 0; n < f1->len; n++) {
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, f1->data, n);
        CHECK_EQ(expect_rejected(&r, b, p, n, NULL, 0), SC_EV_PROTOCOL_ERROR);
        free(p);
    }
    const uint8_t *payload = f1->data + SC_ENV_DATA_OVERHEAD;
    size_t plen = f1->len - SC_ENV_DATA_OVERHEAD;
    uint8_t *env = malloc(f1->len);
    for (size_t n = 1; n < plen; n++) {
        size_t el = sc_env_encode_data(env, f1->len, r.c[a].id, SC_ENV_MODE_BROADCAST, payload, n);
        char why[200];
        enum sc_event_type t = expect_rejected(&r, b, env, el, why, sizeof why);
        if (n >= 2) {
            /* too short to parse: malformed; long enough: the signature no longer fits */
            CHECK_EQ(t, SC_EV_UNDECRYPTABLE);
            CHECK(strcmp(why, "malformed") == 0 || strcmp(why, "bad signature") == 0);
        } else {
            CHECK_EQ(t, SC_EV_WARNING);
        }
    }
    free(env);
    /* the batch [second, truncated first] fails whole: "second" is not shown yet */
    size_t tot = f2->len + f1->len - 1;
    uint8_t *batch = malloc(tot);
    memcpy(batch, f2->data, f2->len);
    memcpy(batch + f2->len, f1->data, f1->len - 1);
    CHECK_EQ(expect_rejected(&r, b, batch, tot, NULL, 0), SC_EV_PROTOCOL_ERROR);
    free(batch);
    CHECK_EQ(r_count(&r.c[b], SC_EV_MESSAGE, NULL), 0);
    CHECK_EQ(r_inject(&r, b, f1->data, f1->len), 0);
    CHECK_EQ(r_inject(&r, b, f2->data, f2->len), 0);
    const char *t[4];
    CHECK_EQ(r_texts_from(&r.c[b], &r.c[a], t, 4), 2);
    CHECK(strcmp(t[0], "first") == 0 && strcmp(t[1], "second") == 0);
    r_free(&r);
}

/* The relay lies about membership and senders. */
static void test_relay_lies(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    r_connect(&r, a);
    r_pump(&r);
    r_connect(&r, b);
    r_pump(&r);
    hold(&r, a, SC_KIND_GROUP);
    r_send(&r, b, "real");
    r_pump(&r);
    unhold(&r);
    r_buf *real = r_held_at(&r, 0);
    char why[200];
    /* b's frame stamped with a stranger's id */
    uint8_t *forged = malloc(real->len);
    memcpy(forged, real->data, real->len);
    sc_store64(forged + SC_ENV_HEADER_BYTES, 999);
    CHECK_EQ(expect_rejected(&r, a, forged, real->len, why, sizeof why), SC_EV_UNDECRYPTABLE);
    CHECK(strcmp(why, "unknown chain") == 0);
    /* sent "to you only" instead of broadcast */
    memcpy(forged, real->data, real->len);
    forged[SC_ENV_HEADER_BYTES + 8] = SC_ENV_MODE_UNICAST;
    CHECK_EQ(expect_rejected(&r, a, forged, real->len, why, sizeof why), SC_EV_UNDECRYPTABLE);
    CHECK(strcmp(why, "malformed") == 0);
    free(forged);
    CHECK_EQ(r_inject(&r, a, real->data, real->len), 0);
    CHECK_EQ(r_count_text(&r.c[a], "real"), 1);
    /* a channel message from a stranger, and a handshake message broadcast */
    uint8_t env[128];
    const uint8_t chan[] = {SC_WIRE_VERSION, SC_KIND_CHAN, 0, 0, 0, 0, 0, 0, 0, 1, 5, 5};
    size_t n = sc_env_encode_data(env, sizeof env, 999, SC_ENV_MODE_UNICAST, chan, sizeof chan);
    CHECK_EQ(expect_rejected(&r, a, env, n, why, sizeof why), SC_EV_WARNING);
    CHECK(strcmp(why, "message from unknown member") == 0);
    const uint8_t hs[] = {SC_WIRE_VERSION, SC_KIND_HS1, 1, 2, 3};
    n = sc_env_encode_data(env, sizeof env, r.c[b].id, SC_ENV_MODE_BROADCAST, hs, sizeof hs);
    CHECK_EQ(expect_rejected(&r, a, env, n, why, sizeof why), SC_EV_WARNING);
    /* a garbage HS1 "from" a stranger with a smaller id: it becomes a member, its
     * handshake fails on the bad MAC */
    uint8_t hs1[SC_HS1_BYTES] = {SC_WIRE_VERSION, SC_KIND_HS1};
    n = sc_env_encode_data(env, sizeof env, 7, SC_ENV_MODE_UNICAST, hs1, sizeof hs1);
    CHECK_EQ(r_inject(&r, a, env, n), 0);
    CHECK_EQ(r_count(&r.c[a], SC_EV_MEMBER_JOINED, NULL), 2); /* bob, then 7 */
    CHECK_EQ(r_count(&r.c[a], SC_EV_HANDSHAKE_FAILED, "wrong room secret"), 1);
    /* a fake JOINED: the handshake never completes and times out; nothing is held up */
    n = sc_env_encode_joined(env, sizeof env, 5000);
    CHECK_EQ(r_inject(&r, a, env, n), 0);
    r_send(&r, a, "not held up");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[b], "not held up"), 1);
    r_advance(&r, SC_SESSION_HANDSHAKE_TIMEOUT_MS);
    CHECK_EQ(r_count(&r.c[a], SC_EV_HANDSHAKE_FAILED, "timeout"), 1);
    /* a fake LEFT of bob: alice rotates and stops accepting bob */
    n = sc_env_encode_left(env, sizeof env, r.c[b].id);
    CHECK_EQ(r_inject(&r, a, env, n), 0);
    CHECK_EQ(r_count(&r.c[a], SC_EV_KEYS_ROTATED, "member left"), 1);
    r_pump(&r);
    r_send(&r, b, "after fake leave");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[a], "after fake leave"), 0);
    CHECK(r_count(&r.c[a], SC_EV_UNDECRYPTABLE, "unknown chain") >= 2);
    /* relay ERROR envelopes become events */
    n = sc_env_encode_error(env, sizeof env, SC_ENV_ERR_SLOW_CONSUMER, "queue full");
    CHECK_EQ(r_inject(&r, a, env, n), 0);
    CHECK_EQ(r_count(&r.c[a], SC_EV_RELAY_ERROR, "queue full"), 1);
    r_free(&r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_wrong_secret();
    test_replay();
    test_replay_during_handshake();
    test_reorder_and_bounds();
    test_tamper_group_and_chan();
    test_tamper_handshake();
    test_truncation();
    test_relay_lies();
    return check_finish("test_session_hostile");
}
