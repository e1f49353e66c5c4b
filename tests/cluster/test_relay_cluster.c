/*
 * Unit tests of relay_cluster and relay_wire: several relays (relay_rooms +
 * relay_cluster each) in one process, joined by an in-memory bus that behaves like
 * NATS core (per-publisher order, no echo to the publisher, flush completes after
 * what was published before it). The tests drive members through relay_room and
 * check what each one receives: presence across relays, delivery exactly once and
 * in order, the join-generation filter, SYNC after flush, gaps and lag turning
 * into disconnects, dead relays, restarts, instance collisions. Plus relay_wire's
 * strict decoding against truncations and random bytes.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "relay_cluster.h"
#include "relay_room.h"
#include "relay_wire.h"
#include "sc_envelope.h"

#define NR 4      /* relays */
#define NM 16     /* members per relay */
#define MAXSUB 64
#define MAXENV 4096

/* ---- the in-memory bus ---- */

struct item {
    struct item *next;
    int kind; /* 0 message, 1 flushed */
    uint64_t sid, marker;
    char subject[RELAY_WIRE_SUBJECT_MAX];
    uint8_t *data;
    size_t len;
};

struct sub {
    uint64_t sid;
    char subject[RELAY_WIRE_SUBJECT_MAX];
    int live;
};

/* What a member received, envelope by envelope. */
struct rx {
    uint8_t type;
    uint64_t member; /* WELCOME you / JOINED / LEFT / DATA from */
    uint8_t mode;
    uint64_t token;
    uint32_t n_members;
    uint64_t members[32];
    uint8_t payload[64];
    size_t payload_len;
};

struct lm {
    relay_member m; /* first */
    int relay;
    int lost, lost_why, cut, paused;
    struct rx *env;
    int n_env;
};

struct sim {
    relay_rooms *rooms;
    relay_cluster *c;
    int up;       /* attached to the bus */
    int deferred; /* asked for relay_cluster_flush */
    int deaf;     /* receives nothing (a stalled relay) */
    struct sub subs[MAXSUB];
    int n_subs;
    uint64_t next_sid;
    struct item *head, *tail;
    uint32_t instance;
    struct lm mem[NM];
};

static struct sim R[NR];
static uint64_t now = 1000;
/* Test hook: drop the next message published by relay drop_from of this type (0: none). */
static int drop_from = -1;
static uint8_t drop_type;
static int dropped;

static void enqueue(struct sim *s, struct item *it)
{
    it->next = NULL;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
}

static int bus_publish(void *arg, const char *subject, const uint8_t *data, size_t len)
{
    struct sim *from = arg;
    int idx = (int)(from - R);

    if (!from->up)
        return -1;
    /* a room's bundle: the first message's type is at 4 + 1 */
    size_t t_at = strncmp(subject, RELAY_WIRE_ROOM_PREFIX, sizeof RELAY_WIRE_ROOM_PREFIX - 1)
                      ? 1 : RELAY_WIRE_BUNDLE_PREFIX + 1;
    if (drop_from == idx && len > t_at && data[t_at] == drop_type) {
        drop_from = -1;
        dropped++;
        return 0; /* lost on the way */
    }
    for (int j = 0; j < NR; j++) {
        struct sim *s = &R[j];
        if (j == idx || !s->up || s->deaf)
            continue;
        for (int k = 0; k < s->n_subs; k++) {
            if (!s->subs[k].live || strcmp(s->subs[k].subject, subject))
                continue;
            struct item *it = calloc(1, sizeof *it);
            it->sid = s->subs[k].sid;
            snprintf(it->subject, sizeof it->subject, "%s", subject);
            it->data = malloc(len);
            memcpy(it->data, data, len);
            it->len = len;
            enqueue(s, it);
        }
    }
    return 0;
}

static int bus_subscribe(void *arg, const char *subject, uint64_t *sid)
{
    struct sim *s = arg;
    int k;

    for (k = 0; k < s->n_subs && s->subs[k].live; k++)
        ;
    if (k == MAXSUB)
        return -1;
    if (k == s->n_subs)
        s->n_subs++;
    s->subs[k].live = 1;
    s->subs[k].sid = ++s->next_sid;
    snprintf(s->subs[k].subject, sizeof s->subs[k].subject, "%s", subject);
    *sid = s->subs[k].sid;
    return 0;
}

static void bus_unsubscribe(void *arg, uint64_t sid)
{
    struct sim *s = arg;
    for (int k = 0; k < s->n_subs; k++)
        if (s->subs[k].live && s->subs[k].sid == sid)
            s->subs[k].live = 0;
}

static void bus_flush(void *arg, uint64_t marker)
{
    struct item *it = calloc(1, sizeof *it);
    it->kind = 1;
    it->marker = marker;
    enqueue(arg, it);
}

static void bus_wake(void *arg)
{
    (void)arg;
}

static void bus_defer(void *arg)
{
    ((struct sim *)arg)->deferred = 1;
}

/* Delivers everything queued, round robin, until the bus is quiet. */
static void pump(void)
{
    for (int busy = 1; busy;) {
        busy = 0;
        for (int i = 0; i < NR; i++) {
            struct sim *s = &R[i];
            if (s->deferred) { /* the end of this relay's batch */
                s->deferred = 0;
                if (s->c && s->up)
                    relay_cluster_flush(s->c);
            }
        }
        for (int i = 0; i < NR; i++) {
            struct sim *s = &R[i];
            struct item *it = s->head;
            if (!it)
                continue;
            busy = 1;
            s->head = it->next;
            if (!s->head)
                s->tail = NULL;
            if (s->c && s->up) {
                if (it->kind)
                    relay_cluster_flushed(s->c, it->marker, 1);
                else
                    relay_cluster_message(s->c, it->sid, it->subject, it->data, it->len, now);
            }
            free(it->data);
            free(it);
        }
    }
}

static void flush_inbox(struct sim *s)
{
    while (s->head) {
        struct item *it = s->head;
        s->head = it->next;
        free(it->data);
        free(it);
    }
    s->tail = NULL;
}

/* ---- members ---- */

static void on_wake(relay_member *m, void *arg)
{
    (void)m;
    (void)arg;
}

static void on_cut(relay_member *m, void *arg)
{
    (void)arg;
    ((struct lm *)m)->cut++;
}

static void on_throttle(relay_member *m, int on, void *arg)
{
    (void)arg;
    ((struct lm *)m)->paused += on ? 1 : -1;
}

static void on_lost(relay_member *m, int why, void *arg)
{
    (void)arg;
    ((struct lm *)m)->lost++;
    ((struct lm *)m)->lost_why = why;
}

/* Reads everything waiting for member lm into its envelope list. */
static void drain(struct lm *lm)
{
    static uint8_t buf[1 << 18];
    relay_rooms *rs = R[lm->relay].rooms;
    int more = 1;

    while (more) {
        uint32_t n_env;
        size_t len = relay_room_fill(rs, &lm->m, buf, sizeof buf, &n_env, &more);
        size_t p = 0;
        while (p < len) {
            sc_env e;
            int r = sc_env_parse(buf + p, len - p, SC_ENV_FROM_RELAY, &e);
            CHECK(r > 0);
            if (r <= 0)
                return;
            p += (size_t)r;
            if (lm->n_env == MAXENV)
                continue;
            struct rx *x = &lm->env[lm->n_env++];
            memset(x, 0, sizeof *x);
            x->type = e.type;
            x->member = e.member;
            x->mode = e.mode;
            x->token = e.token;
            if (e.type == SC_ENV_T_WELCOME) {
                x->n_members = e.n_members;
                for (uint32_t i = 0; i < e.n_members && i < 32; i++)
                    x->members[i] = sc_env_welcome_member(&e, i);
            }
            if (e.type == SC_ENV_T_DATA) {
                x->payload_len = e.payload_len < 64 ? e.payload_len : 64;
                memcpy(x->payload, e.payload, x->payload_len);
            }
        }
        if (!len)
            break;
    }
}

static void drain_all(void)
{
    for (int i = 0; i < NR; i++)
        for (int k = 0; k < NM; k++)
            if (R[i].mem[k].m.room || R[i].mem[k].n_env)
                drain(&R[i].mem[k]);
}

static struct lm *member(int relay, int k)
{
    return &R[relay].mem[k];
}

static int count(const struct lm *lm, uint8_t type, uint64_t member)
{
    int n = 0;
    for (int i = 0; i < lm->n_env; i++)
        if (lm->env[i].type == type && (!member || lm->env[i].member == member))
            n++;
    return n;
}

static const struct rx *welcome_of(const struct lm *lm)
{
    for (int i = 0; i < lm->n_env; i++)
        if (lm->env[i].type == SC_ENV_T_WELCOME)
            return &lm->env[i];
    return NULL;
}

static int welcome_lists(const struct lm *lm, uint64_t id)
{
    const struct rx *w = welcome_of(lm);
    for (uint32_t i = 0; w && i < w->n_members && i < 32; i++)
        if (w->members[i] == id)
            return 1;
    return 0;
}

/* ---- relays ---- */

static const relay_cluster_config CFG = {100, 300, 200, 150, 1000, 64};

static void relay_start(int i, uint32_t instance, uint32_t nonce)
{
    struct sim *s = &R[i];
    relay_room_limits lim = {64, 1000, 1 << 20};
    relay_room_ops ops = {on_wake, on_cut, on_throttle, NULL, on_lost};
    relay_cluster_transport t = {bus_publish, bus_subscribe, bus_unsubscribe, bus_flush,
                                 bus_wake, bus_defer, s};

    for (int k = 0; k < NM; k++)
        free(s->mem[k].env);
    memset(s, 0, sizeof *s);
    s->instance = instance;
    s->rooms = relay_rooms_new(&lim, &ops, instance);
    s->c = relay_cluster_new(s->rooms, &CFG, &t, instance, nonce);
    CHECK(s->rooms && s->c);
    for (int k = 0; k < NM; k++) {
        s->mem[k].relay = i;
        s->mem[k].env = calloc(MAXENV, sizeof(struct rx));
    }
    s->up = 1;
    relay_cluster_connected(s->c, now);
}

static void relay_stop(int i)
{
    struct sim *s = &R[i];
    if (!s->rooms)
        return;
    for (int k = 0; k < NM; k++)
        relay_room_leave(s->rooms, &s->mem[k].m);
    relay_cluster_free(s->c);
    relay_rooms_free(s->rooms);
    flush_inbox(s);
    for (int k = 0; k < NM; k++)
        free(s->mem[k].env);
    memset(s, 0, sizeof *s);
}

/* Advances the clock by ms in steps, ticking every relay and delivering. */
static void run(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 20) {
        now += 20;
        for (int i = 0; i < NR; i++)
            if (R[i].c && R[i].up)
                relay_cluster_tick(R[i].c, now);
        pump();
    }
    drain_all();
}

static int join(int relay, int k, const char *room)
{
    int rc = relay_room_join(R[relay].rooms, room, strlen(room), &member(relay, k)->m);
    pump();
    drain_all();
    return rc;
}

static void send_all(int relay, int k, uint32_t seq)
{
    uint8_t p[8];
    p[0] = (uint8_t)relay;
    p[1] = (uint8_t)k;
    memcpy(p + 2, &seq, 4);
    p[6] = p[7] = 0xa5;
    CHECK_EQ(relay_room_send_all(R[relay].rooms, &member(relay, k)->m, p, sizeof p), 0);
}

/* ---- tests ---- */

static void setup(int n)
{
    for (int i = 0; i < NR; i++)
        relay_stop(i);
    for (int i = 0; i < n; i++)
        relay_start(i, 0x100u + (uint32_t)i, 0xa000u + (uint32_t)i);
    run(400); /* heartbeats known, view delay over */
}

static void test_presence_and_chat(void)
{
    setup(3);
    /* a room first entered on relay 0: held until the others said they are not in it */
    CHECK_EQ(join(0, 0, "room"), RELAY_ROOM_HELD);
    run(60);
    struct lm *a = member(0, 0);
    CHECK(welcome_of(a) != NULL);
    CHECK_EQ(welcome_of(a)->n_members, 0);
    CHECK_EQ(a->paused, -1); /* input resumed once, at its WELCOME */

    /* relay 1 holds its member until relay 0's STATE arrived: WELCOME lists a */
    CHECK_EQ(join(1, 0, "room"), RELAY_ROOM_HELD);
    run(60);
    struct lm *b = member(1, 0);
    CHECK(welcome_lists(b, a->m.id));
    CHECK_EQ(count(a, SC_ENV_T_JOINED, b->m.id), 1);

    CHECK_EQ(join(2, 0, "room"), RELAY_ROOM_HELD);
    run(60);
    struct lm *c = member(2, 0);
    CHECK(welcome_lists(c, a->m.id) && welcome_lists(c, b->m.id));
    CHECK_EQ(count(a, SC_ENV_T_JOINED, c->m.id), 1);
    CHECK_EQ(count(b, SC_ENV_T_JOINED, c->m.id), 1);

    /* a second local member on relay 0 joins without a hold, sees everyone */
    CHECK_EQ(join(0, 1, "room"), 0);
    run(60);
    struct lm *a2 = member(0, 1);
    CHECK(welcome_lists(a2, a->m.id) && welcome_lists(a2, b->m.id) &&
          welcome_lists(a2, c->m.id));
    CHECK_EQ(count(b, SC_ENV_T_JOINED, a2->m.id), 1);

    /* everyone sends 200 frames, interleaved: each gets every other's exactly once, in order */
    struct lm *all[4] = {a, b, c, a2};
    int rel[4] = {0, 1, 2, 0}, idx[4] = {0, 0, 0, 1};
    for (uint32_t q = 0; q < 200; q++) {
        for (int i = 0; i < 4; i++)
            send_all(rel[i], idx[i], q);
        if (q % 7 == 0)
            pump();
    }
    run(40);
    for (int r = 0; r < 4; r++) {
        for (int s = 0; s < 4; s++) {
            uint32_t expect = 0;
            int bad = 0;
            for (int e = 0; e < all[r]->n_env; e++) {
                const struct rx *x = &all[r]->env[e];
                if (x->type != SC_ENV_T_DATA || x->member != all[s]->m.id)
                    continue;
                uint32_t q;
                memcpy(&q, x->payload + 2, 4);
                bad += q != expect || x->mode != 0;
                expect++;
            }
            CHECK_EQ(bad, 0);
            CHECK_EQ(expect, r == s ? 0 : 200);
        }
    }

    /* unicast across relays, and to a member that is not there */
    uint8_t hi[3] = {1, 2, 3};
    CHECK_EQ(relay_room_send_to(R[1].rooms, &b->m, c->m.id, hi, 3), 0);
    CHECK_EQ(relay_room_send_to(R[1].rooms, &b->m, (uint64_t)0x999 << 32 | 1, hi, 3),
             RELAY_ROOM_E_NO_MEMBER);
    int before_a = count(a, SC_ENV_T_DATA, b->m.id);
    run(40);
    CHECK(c->n_env > 0 && c->env[c->n_env - 1].type == SC_ENV_T_DATA &&
          c->env[c->n_env - 1].mode == 1 && c->env[c->n_env - 1].member == b->m.id);
    CHECK_EQ(count(a, SC_ENV_T_DATA, b->m.id), before_a); /* nobody else */

    /* SYNC: answered after the flush, behind the frames sent before it */
    send_all(0, 0, 999);
    CHECK_EQ(relay_room_sync(R[0].rooms, &a->m, 77), 0);
    drain(a);
    CHECK_EQ(count(a, SC_ENV_T_SYNCED, 0), 0); /* not before the flush */
    run(40);
    CHECK_EQ(count(a, SC_ENV_T_SYNCED, 0), 1);
    CHECK_EQ(count(b, SC_ENV_T_DATA, a->m.id), 201);

    /* leaving crosses relays */
    relay_room_leave(R[2].rooms, &c->m);
    run(40);
    CHECK_EQ(count(a, SC_ENV_T_LEFT, c->m.id), 1);
    CHECK_EQ(count(b, SC_ENV_T_LEFT, c->m.id), 1);
    relay_cluster_stats st;
    relay_cluster_get_stats(R[0].c, &st);
    CHECK_EQ(st.gaps, 0);
    CHECK_EQ(st.peers, 2);
    CHECK(st.published > 0 && st.received > 0);
}

/* A member whose JOINED has not reached the sender's relay gets none of its frames. */
static void test_join_generation_filter(void)
{
    setup(2);
    join(0, 0, "g");
    run(60);
    join(1, 0, "g");
    run(60);
    struct lm *a = member(0, 0), *b = member(1, 0);
    CHECK(welcome_lists(b, a->m.id));
    /* b2 joins relay 1 while a's frames are in flight towards relay 1 */
    send_all(0, 0, 1);
    CHECK_EQ(relay_room_join(R[1].rooms, "g", 1, &member(1, 1)->m), 0);
    pump();
    drain_all();
    struct lm *b2 = member(1, 1);
    CHECK_EQ(count(b, SC_ENV_T_DATA, a->m.id), 1);
    CHECK_EQ(count(b2, SC_ENV_T_DATA, a->m.id), 0); /* sent before relay 0 knew b2 */
    send_all(0, 0, 2);
    run(40);
    CHECK_EQ(count(b2, SC_ENV_T_DATA, a->m.id), 1); /* after the ACK */
    CHECK_EQ(count(b, SC_ENV_T_DATA, a->m.id), 2);
}

/* A sequence gap disconnects the receiving relay's members (4003), never silently. */
static void test_gap(void)
{
    setup(2);
    join(0, 0, "gap");
    run(60);
    join(1, 0, "gap");
    run(60);
    drop_from = 0;
    drop_type = RELAY_WIRE_DATA;
    send_all(0, 0, 1);
    pump(); /* its own bundle, lost on the way */
    send_all(0, 0, 2);
    run(40);
    CHECK_EQ(dropped, 1);
    struct lm *a = member(0, 0), *b = member(1, 0);
    CHECK_EQ(b->lost, 1);
    CHECK_EQ(b->lost_why, RELAY_ROOM_LOST_SYNC);
    CHECK(b->m.room == NULL);
    CHECK_EQ(count(b, SC_ENV_T_DATA, a->m.id), 0);
    CHECK_EQ(count(a, SC_ENV_T_LEFT, b->m.id), 1); /* relay 0 hears b leave */
    relay_cluster_stats st;
    relay_cluster_get_stats(R[1].c, &st);
    CHECK_EQ(st.gaps, 1);
    CHECK_EQ(st.losses[RELAY_CLUSTER_LOSS_GAP], 1);
    CHECK_EQ(st.members_lost, 1);

    /* reported loss of a subscription's messages (lag) does the same */
    memset(b, 0, offsetof(struct lm, env));
    b->relay = 1;
    b->n_env = 0;
    join(1, 0, "gap");
    run(60);
    CHECK(welcome_lists(b, a->m.id));
    relay_cluster_lost(R[1].c, 0);
    CHECK_EQ(b->lost, 1);
    relay_cluster_get_stats(R[1].c, &st);
    CHECK_EQ(st.losses[RELAY_CLUSTER_LOSS_LAG], 1);
}

/* A relay that stops (kill -9): the others announce its members as LEFT in bounded time. */
static void test_dead_relay(void)
{
    setup(3);
    join(0, 0, "d");
    run(60);
    join(1, 0, "d");
    run(60);
    join(2, 0, "d");
    join(2, 1, "d");
    run(60);
    struct lm *a = member(0, 0), *b = member(1, 0), *c1 = member(2, 0), *c2 = member(2, 1);
    R[2].up = 0; /* gone without a word */
    uint64_t t0 = now;
    while (now - t0 < 2000 && count(a, SC_ENV_T_LEFT, c1->m.id) == 0)
        run(20);
    CHECK_EQ(count(a, SC_ENV_T_LEFT, c1->m.id), 1);
    CHECK_EQ(count(a, SC_ENV_T_LEFT, c2->m.id), 1);
    CHECK_EQ(count(b, SC_ENV_T_LEFT, c1->m.id), 1);
    CHECK(now - t0 <= CFG.dead_after_ms + 2 * CFG.hb_interval_ms);
    relay_cluster_stats st;
    relay_cluster_get_stats(R[0].c, &st);
    CHECK_EQ(st.peers_dead, 1);
    CHECK_EQ(st.peers, 1);
    /* the room goes on between the survivors */
    send_all(0, 0, 5);
    run(40);
    CHECK_EQ(count(b, SC_ENV_T_DATA, a->m.id), 1);

    /* the stalled relay comes back with the same identity: it is fenced and starts over */
    R[2].up = 1;
    run(100);
    CHECK_EQ(c1->lost, 1);
    CHECK_EQ(c2->lost, 1);
    relay_cluster_get_stats(R[2].c, &st);
    CHECK_EQ(st.losses[RELAY_CLUSTER_LOSS_FENCE], 1);
    /* its members rejoin and everyone sees them again */
    memset(c1, 0, offsetof(struct lm, env));
    c1->relay = 2;
    c1->n_env = 0;
    run(300);
    join(2, 0, "d");
    run(300);
    CHECK(welcome_lists(c1, a->m.id) && welcome_lists(c1, b->m.id));
    CHECK_EQ(count(a, SC_ENV_T_JOINED, c1->m.id), 1);
}

/* The broker is lost: every local member is disconnected; after reconnecting the relay
 * starts over (new epoch) and the others forget its old members. */
static void test_broker_loss(void)
{
    setup(2);
    join(0, 0, "b");
    run(60);
    join(1, 0, "b");
    run(60);
    struct lm *a = member(0, 0), *b = member(1, 0);
    relay_cluster_disconnected(R[1].c);
    R[1].up = 0;
    CHECK_EQ(b->lost, 1);
    CHECK(!relay_cluster_ready(R[1].c));
    R[1].up = 1;
    relay_cluster_connected(R[1].c, now);
    run(60);
    CHECK_EQ(count(a, SC_ENV_T_LEFT, b->m.id), 1); /* old epoch's members are gone */
    CHECK(relay_cluster_ready(R[1].c));
    memset(b, 0, offsetof(struct lm, env));
    b->relay = 1;
    b->n_env = 0;
    CHECK_EQ(join(1, 0, "b"), RELAY_ROOM_HELD); /* held through the view delay */
    run(400);
    CHECK(welcome_lists(b, a->m.id));
    CHECK_EQ(count(a, SC_ENV_T_JOINED, b->m.id), 1);
}

/* Rooms entered on relays that are still learning the cluster (after a common restart of
 * the broker): each answers the other's HELLO while held, then says its own HELLO with the
 * sequence number it has reached. */
static void test_entering_while_learning(void)
{
    for (int i = 0; i < NR; i++)
        relay_stop(i);
    relay_start(0, 0x200u, 0xc000u);
    run(60);
    relay_start(1, 0x201u, 0xc001u);
    CHECK_EQ(join(0, 0, "w"), RELAY_ROOM_HELD);
    CHECK_EQ(join(1, 0, "w"), RELAY_ROOM_HELD);
    run(400);
    struct lm *a = member(0, 0), *b = member(1, 0);
    CHECK(welcome_of(a) && welcome_of(b));
    CHECK(welcome_lists(b, a->m.id) || count(b, SC_ENV_T_JOINED, a->m.id) == 1);
    CHECK(welcome_lists(a, b->m.id) || count(a, SC_ENV_T_JOINED, b->m.id) == 1);
    for (uint32_t q = 0; q < 20; q++) {
        send_all(0, 0, q);
        send_all(1, 0, q);
    }
    run(60);
    CHECK_EQ(count(a, SC_ENV_T_DATA, b->m.id), 20);
    CHECK_EQ(count(b, SC_ENV_T_DATA, a->m.id), 20);
    for (int i = 0; i < 2; i++) {
        relay_cluster_stats st;
        relay_cluster_get_stats(R[i].c, &st);
        CHECK_EQ(st.gaps, 0);
        CHECK_EQ(st.losses[RELAY_CLUSTER_LOSS_INVALID], 0);
    }
    CHECK_EQ(a->lost + b->lost, 0);
}

/* Two relays draw the same instance: the one still learning the cluster takes another. */
static void test_collision(void)
{
    setup(2);
    join(0, 0, "x");
    run(60);
    relay_start(2, 0x100u, 0xbeefu); /* relay 0's instance, another process */
    pump();
    run(400);
    relay_cluster_stats st;
    relay_cluster_get_stats(R[2].c, &st);
    CHECK(st.instance != 0x100u);
    relay_cluster_get_stats(R[0].c, &st);
    CHECK_EQ(st.instance, 0x100u);
    CHECK_EQ(member(0, 0)->lost, 0); /* the established one keeps its members */
    join(2, 0, "x");
    run(300);
    struct lm *a = member(0, 0), *c = member(2, 0);
    CHECK((c->m.id >> 32) != 0x100u);
    CHECK(welcome_lists(c, a->m.id));
    CHECK_EQ(count(a, SC_ENV_T_JOINED, c->m.id), 1);
}

/* relay_wire: every message round-trips; every truncation and random input is refused
 * without reading out of bounds. */
static void test_wire(void)
{
    uint8_t buf[256], ids[16];
    relay_wire_msg m, p;
    relay_wire_node me = {7, 8, 9};

    relay_wire_put_id(ids, (uint64_t)7 << 32 | 1);
    relay_wire_put_id(ids + 8, (uint64_t)7 << 32 | 2);
    const relay_wire_msg all[] = {
        {.type = RELAY_WIRE_HB, .flags = 1},
        {.type = RELAY_WIRE_HELLO, .seq = 3, .room = "abc", .room_len = 3},
        {.type = RELAY_WIRE_FENCE, .target = {1, 2, 3}},
        {.type = RELAY_WIRE_STATE, .seq = 5, .gen = 4, .n_ids = 2, .ids = ids},
        {.type = RELAY_WIRE_JOINED, .seq = 6, .member = (uint64_t)7 << 32 | 3, .gen = 5},
        {.type = RELAY_WIRE_LEFT, .seq = 7, .member = (uint64_t)7 << 32 | 3},
        {.type = RELAY_WIRE_DATA, .seq = 8, .member = (uint64_t)7 << 32 | 1,
         .to = (uint64_t)9 << 32 | 1, .payload = (const uint8_t *)"xyz", .payload_len = 3},
        {.type = RELAY_WIRE_ACK, .seq = 9, .target = {3, 4, 0}, .gen = 2},
        {.type = RELAY_WIRE_BYE, .seq = 10},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        m = all[i];
        m.from = me;
        size_t n = relay_wire_encode(buf, sizeof buf, &m);
        CHECK(n > 0);
        CHECK_EQ(relay_wire_parse(buf, n, &p), 0);
        CHECK_EQ(p.type, m.type);
        CHECK_EQ(p.seq, m.seq);
        CHECK_EQ(p.member, m.member);
        CHECK_EQ(p.gen, m.gen);
        CHECK_EQ(p.from.epoch, 9);
        /* every truncation (DATA's payload is the rest: down to its first byte) */
        size_t min_ok = m.type == RELAY_WIRE_DATA ? RELAY_WIRE_DATA_OVERHEAD + 1 : n;
        for (size_t k = 0; k < min_ok; k++)
            CHECK(relay_wire_parse(buf, k, &p) != 0);
        if (m.type != RELAY_WIRE_DATA) {
            uint8_t longer[260];
            memcpy(longer, buf, n);
            longer[n] = 0;
            CHECK(relay_wire_parse(longer, n + 1, &p) != 0); /* trailing byte */
        }
    }
    /* foreign member ids, zero fields */
    m = all[4];
    m.from = me;
    m.member = (uint64_t)8 << 32 | 3;
    CHECK_EQ(relay_wire_parse(buf, relay_wire_encode(buf, sizeof buf, &m), &p),
             RELAY_WIRE_E_FIELD);
    m = all[6];
    m.from = me;
    m.to = (uint64_t)7 << 32 | 5;
    CHECK_EQ(relay_wire_parse(buf, relay_wire_encode(buf, sizeof buf, &m), &p),
             RELAY_WIRE_E_FIELD);
    m = all[0];
    m.from = me;
    m.from.epoch = 0;
    CHECK_EQ(relay_wire_parse(buf, relay_wire_encode(buf, sizeof buf, &m), &p),
             RELAY_WIRE_E_FIELD);
    /* random input, mostly with a valid version byte */
    for (int i = 0; i < 20000; i++) {
        size_t n = randombytes_uniform(80);
        uint8_t *r = malloc(n ? n : 1);
        randombytes_buf(r, n);
        if (n > 1 && i % 2)
            r[0] = 1;
        if (n > 2 && i % 4 == 1)
            r[1] = (uint8_t)(0x10 + randombytes_uniform(6));
        relay_wire_parse(r, n, &p);
        free(r);
    }
    CHECK(relay_wire_subject_room("saltchat.room.abc", &(size_t){0}) != NULL);
    CHECK(relay_wire_subject_room("saltchat.room.a.b", &(size_t){0}) == NULL);
    CHECK(relay_wire_subject_room("saltchat.ctl", &(size_t){0}) == NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_wire();
    test_presence_and_chat();
    test_join_generation_filter();
    test_gap();
    test_dead_relay();
    test_broker_loss();
    test_collision();
    test_entering_while_learning();
    for (int i = 0; i < NR; i++)
        relay_stop(i);
    return check_finish("test_relay_cluster");
}
