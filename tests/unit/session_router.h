/*
 * session_router.h: an in-process relay for the sc_session tests. It applies the relay's
 * routing rules of docs/PROTOCOL.md section 2 (WELCOME first, JOINED/LEFT to the others,
 * SEND_ALL to every other member, SEND_TO to its target or ERROR no-such-member, SYNC
 * answered with SYNCED after the frames before it) between real sessions, so the state
 * machine runs end to end without sockets. It can batch envelopes, drop, hold and capture
 * frames, and feed a leaver's session, for the hostile-relay tests.
 */
#ifndef SESSION_ROUTER_H
#define SESSION_ROUTER_H

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sc_bytes.h"
#include "sc_envelope.h"
#include "sc_handshake.h"
#include "sc_identity.h"
#include "sc_rng.h"
#include "sc_session.h"

#define R_MAX 8
#define R_T0 1000000u

typedef struct r_buf {
    struct r_buf *next;
    size_t len;
    uint8_t data[];
} r_buf;

typedef struct r_ev {
    sc_event ev; /* pointers below replace the session's */
    int has_identity;
    uint8_t identity[32];
    char name[SC_SESSION_MAX_NAME + 1];
    char fp[SC_IDENTITY_FINGERPRINT_CHARS + 1];
    char reason[200];
    uint8_t *text;
} r_ev;

typedef struct r_client {
    sc_session *s;
    char name[32];
    uint8_t pk[32], sk[64];
    uint8_t room_secret[32];
    uint8_t seed[32];
    uint32_t rotate_after;
    uint64_t id;       /* relay member id, 0 while not connected */
    int in_room;
    int eavesdrop;     /* gets copies of all DATA even when not in the room (leaver) */
    r_buf *inbox, *inbox_tail;
    r_ev *log;
    size_t n_log, cap_log;
    int rx_errors;     /* sc_session_receive returned -1 */
    int min_auth_at_sendall; /* authenticated peers logged when it first broadcast */
    int sent_all;
} r_client;

struct r_router;

/* Decides what happens to one DATA frame for client `to`: 0 deliver, 1 drop, 2 hold. */
typedef int (*r_filter)(struct r_router *r, int from, int to, uint8_t mode,
                        const uint8_t *payload, size_t n);

typedef struct r_router {
    r_client c[R_MAX];
    int n;
    uint64_t next_id;
    uint32_t max_payload;
    uint64_t now;
    int batch;        /* deliver each client's queued envelopes as one message */
    int drop_sync_of; /* client index whose SYNCs are swallowed, -1 none */
    r_filter filter;
    void *arg;
    r_buf *held, *held_tail; /* frames the filter held: DATA envelopes, tagged with target */
    int held_to[8192];
    size_t n_held;
    crypto_generichash_state transcript; /* everything routed and every event */
} r_router;

static inline void r_init(r_router *r, uint32_t max_payload)
{
    memset(r, 0, sizeof *r);
    r->next_id = 100;
    r->max_payload = max_payload;
    r->now = R_T0;
    r->drop_sync_of = -1;
    crypto_generichash_init(&r->transcript, NULL, 0, 32);
}

static inline r_buf *r_buf_new(const uint8_t *p, size_t n)
{
    r_buf *b = malloc(sizeof *b + n);
    b->next = NULL;
    b->len = n;
    if (n)
        memcpy(b->data, p, n);
    return b;
}

static inline void r_bufs_free(r_buf *b)
{
    while (b) {
        r_buf *next = b->next;
        free(b);
        b = next;
    }
}

/* Adds a client; seed byte k makes its identity and session randomness distinct but
 * reproducible. Returns its index. */
static inline int r_add(r_router *r, const char *name, uint8_t k, const uint8_t room_secret[32],
                 uint32_t rotate_after)
{
    int i = r->n++;
    r_client *c = &r->c[i];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    memcpy(c->room_secret, room_secret, 32);
    memset(c->seed, k, sizeof c->seed);
    c->seed[0] = 0x5c;
    c->rotate_after = rotate_after;
    sc_rng rng;
    sc_rng_init_seeded(&rng, c->seed);
    sc_identity_generate(&rng, c->pk, c->sk);
    c->seed[1] = 0x5d;
    sc_session_config cfg = {c->pk, c->sk, room_secret, c->name, c->seed, rotate_after};
    c->s = sc_session_new(&cfg);
    CHECK(c->s != NULL);
    c->min_auth_at_sendall = -1;
    return i;
}

static inline void r_log_free(r_client *c)
{
    for (size_t i = 0; i < c->n_log; i++)
        free(c->log[i].text);
    free(c->log);
    c->log = NULL;
    c->n_log = c->cap_log = 0;
}

static inline void r_free(r_router *r)
{
    for (int i = 0; i < r->n; i++) {
        sc_session_free(r->c[i].s);
        r_bufs_free(r->c[i].inbox);
        r_log_free(&r->c[i]);
    }
    r_bufs_free(r->held);
}

static inline void r_enqueue(r_client *c, const uint8_t *p, size_t n)
{
    r_buf *b = r_buf_new(p, n);
    if (c->inbox_tail)
        c->inbox_tail->next = b;
    else
        c->inbox = b;
    c->inbox_tail = b;
}

static inline void r_hash(r_router *r, const void *p, size_t n)
{
    crypto_generichash_update(&r->transcript, p, n);
}

static inline size_t r_count_auth(const r_client *c);

/* Moves events from the session into the client's log. */
static inline void r_drain_events(r_router *r, r_client *c)
{
    sc_event ev;
    while (sc_session_next_event(c->s, &ev)) {
        if (c->n_log == c->cap_log) {
            c->cap_log = c->cap_log ? 2 * c->cap_log : 64;
            c->log = realloc(c->log, c->cap_log * sizeof *c->log);
        }
        r_ev *e = &c->log[c->n_log++];
        memset(e, 0, sizeof *e);
        e->ev = ev;
        if (ev.identity) {
            e->has_identity = 1;
            memcpy(e->identity, ev.identity, 32);
        }
        CHECK(ev.name != NULL && ev.fingerprint != NULL && ev.reason != NULL);
        snprintf(e->name, sizeof e->name, "%s", ev.name);
        snprintf(e->fp, sizeof e->fp, "%s", ev.fingerprint);
        snprintf(e->reason, sizeof e->reason, "%s", ev.reason);
        if (ev.type == SC_EV_MESSAGE) {
            CHECK(ev.text != NULL && ev.text_len > 0);
            e->text = malloc(ev.text_len + 1);
            memcpy(e->text, ev.text, ev.text_len);
            e->text[ev.text_len] = 0;
        }
        uint8_t h[32];
        sc_store64(h, (uint64_t)ev.type);
        sc_store64(h + 8, ev.member);
        sc_store64(h + 16, ev.msg_id);
        sc_store64(h + 24, ev.text_len);
        r_hash(r, h, sizeof h);
        r_hash(r, e->reason, strlen(e->reason));
        if (e->text)
            r_hash(r, e->text, ev.text_len);
        e->ev.identity = NULL;
        e->ev.name = e->ev.fingerprint = e->ev.reason = NULL;
        e->ev.text = NULL;
    }
}

static inline int r_index_of(const r_router *r, uint64_t id)
{
    for (int i = 0; i < r->n; i++)
        if (r->c[i].in_room && r->c[i].id == id)
            return i;
    return -1;
}

static inline void r_send_data(r_router *r, int from, int to, uint8_t mode, const uint8_t *p, size_t n)
{
    size_t cap = SC_ENV_DATA_OVERHEAD + n;
    uint8_t *buf = malloc(cap);
    size_t len = sc_env_encode_data(buf, cap, r->c[from].id, mode, p, n);
    CHECK_EQ(len, cap);
    int verdict = r->filter ? r->filter(r, from, to, mode, p, n) : 0;
    if (verdict == 0) {
        r_enqueue(&r->c[to], buf, len);
    } else if (verdict == 2 && r->n_held < 8192) {
        r_buf *b = r_buf_new(buf, len);
        if (r->held_tail)
            r->held_tail->next = b;
        else
            r->held = b;
        r->held_tail = b;
        r->held_to[r->n_held++] = to;
    }
    free(buf);
}

/* Routes everything client i wrote, as the relay would. */
static inline int r_route_output(r_router *r, int i)
{
    r_client *c = &r->c[i];
    int moved = 0;
    size_t len;
    const uint8_t *m;
    while ((m = sc_session_output(c->s, &len)) != NULL) {
        moved = 1;
        r_hash(r, m, len);
        sc_env e;
        /* clients send exactly one envelope per WebSocket message */
        CHECK_EQ(sc_env_parse(m, len, SC_ENV_FROM_CLIENT, &e), (int)len);
        if (!c->in_room) {
            sc_session_output_pop(c->s);
            continue;
        }
        if (e.type == SC_ENV_T_SEND_ALL) {
            CHECK(e.payload_len <= r->max_payload);
            if (!c->sent_all) {
                c->sent_all = 1;
                c->min_auth_at_sendall = (int)r_count_auth(c);
            }
            for (int j = 0; j < r->n; j++)
                if (j != i && (r->c[j].in_room || r->c[j].eavesdrop))
                    r_send_data(r, i, j, SC_ENV_MODE_BROADCAST, e.payload, e.payload_len);
        } else if (e.type == SC_ENV_T_SEND_TO) {
            CHECK(e.payload_len <= r->max_payload);
            int j = r_index_of(r, e.member);
            if (j >= 0) {
                r_send_data(r, i, j, SC_ENV_MODE_UNICAST, e.payload, e.payload_len);
            } else {
                uint8_t err[64];
                size_t n = sc_env_encode_error(err, sizeof err, SC_ENV_ERR_NO_SUCH_MEMBER,
                                               "no such member");
                r_enqueue(c, err, n);
            }
            for (int j2 = 0; j2 < r->n; j2++)
                if (r->c[j2].eavesdrop && j2 != i && j2 != j)
                    r_send_data(r, i, j2, SC_ENV_MODE_UNICAST, e.payload, e.payload_len);
        } else if (e.type == SC_ENV_T_SYNC) {
            if (r->drop_sync_of != i) {
                uint8_t s8[14];
                size_t n = sc_env_encode_synced(s8, sizeof s8, e.token);
                r_enqueue(c, s8, n);
            }
        } else {
            CHECK(0);
        }
        sc_session_output_pop(c->s);
    }
    return moved;
}

/* Hands client i its queued envelopes: one message each, or all in one batch. */
static inline int r_deliver(r_router *r, int i)
{
    r_client *c = &r->c[i];
    if (!c->inbox)
        return 0;
    r_buf *list = c->inbox;
    c->inbox = c->inbox_tail = NULL;
    if (r->batch && list->next) {
        size_t total = 0;
        for (r_buf *b = list; b; b = b->next)
            total += b->len;
        uint8_t *msg = malloc(total);
        size_t off = 0;
        for (r_buf *b = list; b; b = b->next) {
            memcpy(msg + off, b->data, b->len);
            off += b->len;
        }
        if (sc_session_receive(c->s, msg, total, r->now) != 0)
            c->rx_errors++;
        free(msg);
    } else {
        for (r_buf *b = list; b; b = b->next)
            if (sc_session_receive(c->s, b->data, b->len, r->now) != 0)
                c->rx_errors++;
    }
    r_bufs_free(list);
    r_drain_events(r, c);
    return 1;
}

/* Runs until nothing moves. */
static inline void r_pump(r_router *r)
{
    for (int round = 0; round < 100000; round++) {
        int moved = 0;
        for (int i = 0; i < r->n; i++) {
            r_drain_events(r, &r->c[i]);
            moved |= r_route_output(r, i);
        }
        for (int i = 0; i < r->n; i++)
            moved |= r_deliver(r, i);
        if (!moved)
            return;
    }
    CHECK(0); /* never settled */
}

/* Client i connects: WELCOME to it, JOINED to everyone else. Nothing is delivered yet. */
static inline void r_connect(r_router *r, int i)
{
    uint64_t ids[R_MAX];
    uint32_t n = 0;
    for (int j = 0; j < r->n; j++)
        if (r->c[j].in_room)
            ids[n++] = r->c[j].id;
    r_client *c = &r->c[i];
    c->id = r->next_id++;
    uint8_t w[16 + 8 * R_MAX + 6];
    size_t wl = sc_env_encode_welcome(w, sizeof w, c->id, r->max_payload, ids, n);
    CHECK(wl > 0);
    r_enqueue(c, w, wl);
    for (int j = 0; j < r->n; j++) {
        if (!r->c[j].in_room)
            continue;
        uint8_t jn[14];
        r_enqueue(&r->c[j], jn, sc_env_encode_joined(jn, sizeof jn, c->id));
    }
    c->in_room = 1;
    c->sent_all = 0;
}

/* Client i leaves the room: LEFT to the others. Unless keep_session, its session is told
 * the connection is gone (frames still queued for it are lost, as on a real drop). */
static inline void r_leave(r_router *r, int i, int keep_session)
{
    r_client *c = &r->c[i];
    c->in_room = 0;
    for (int j = 0; j < r->n; j++) {
        if (!r->c[j].in_room)
            continue;
        uint8_t lf[14];
        r_enqueue(&r->c[j], lf, sc_env_encode_left(lf, sizeof lf, c->id));
    }
    if (!keep_session) {
        r_bufs_free(c->inbox);
        c->inbox = c->inbox_tail = NULL;
        sc_session_disconnected(c->s, r->now);
        r_drain_events(r, c);
    }
}

static inline void r_advance(r_router *r, uint64_t ms)
{
    r->now += ms;
    for (int i = 0; i < r->n; i++) {
        sc_session_tick(r->c[i].s, r->now);
        r_drain_events(r, &r->c[i]);
    }
    r_pump(r);
}

static inline uint64_t r_send(r_router *r, int i, const char *text)
{
    uint64_t id = 0;
    CHECK_EQ(sc_session_send(r->c[i].s, (const uint8_t *)text, strlen(text), r->now, &id), 0);
    r_drain_events(r, &r->c[i]);
    return id;
}

/* Delivers one raw relay message to client i now; returns sc_session_receive's result. */
static inline int r_inject(r_router *r, int i, const uint8_t *p, size_t n)
{
    int rc = sc_session_receive(r->c[i].s, p, n, r->now);
    r_drain_events(r, &r->c[i]);
    return rc;
}

/* Releases held frames, in order, into their targets' inboxes. */
static inline void r_release_held(r_router *r)
{
    size_t k = 0;
    for (r_buf *b = r->held; b; b = b->next, k++)
        r_enqueue(&r->c[r->held_to[k]], b->data, b->len);
    r_bufs_free(r->held);
    r->held = r->held_tail = NULL;
    r->n_held = 0;
}

/* Held frame k (NULL if out of range). */
static inline r_buf *r_held_at(r_router *r, size_t k)
{
    r_buf *b = r->held;
    while (b && k--)
        b = b->next;
    return b;
}

/* ---- log queries ---- */

static inline size_t r_count(const r_client *c, enum sc_event_type t, const char *reason)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_log; i++)
        if (c->log[i].ev.type == t && (!reason || strcmp(c->log[i].reason, reason) == 0))
            n++;
    return n;
}

static inline size_t r_count_auth(const r_client *c)
{
    return r_count(c, SC_EV_MEMBER_AUTHENTICATED, NULL);
}

/* MESSAGE events in c's log from the client `from` (by identity key), texts in order. */
static inline size_t r_texts_from(const r_client *c, const r_client *from, const char **out,
                           size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_log; i++) {
        const r_ev *e = &c->log[i];
        if (e->ev.type != SC_EV_MESSAGE || !e->has_identity ||
            memcmp(e->identity, from->pk, 32) != 0)
            continue;
        if (n < cap)
            out[n] = (const char *)e->text;
        n++;
    }
    return n;
}

static inline size_t r_count_text(const r_client *c, const char *text)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_log; i++)
        if (c->log[i].ev.type == SC_EV_MESSAGE && strcmp((const char *)c->log[i].text, text) == 0)
            n++;
    return n;
}


#endif
