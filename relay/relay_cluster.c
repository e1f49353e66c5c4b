#include "relay_cluster.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay_wire.h"
#include "sc_envelope.h"

/* A room's bundle is published once it holds this much (or at the end of the batch). */
#define BUNDLE_BYTES (128u * 1024u)

/* Relays declared dead are remembered (to fence them if they were only stalled)
 * up to this many. */
#define MAX_DEAD_PEERS 64u
/* A fenced relay is told again at most this often. */
#define FENCE_EVERY_MS 1000u

struct croom;

/* Another relay, alive or declared dead. */
struct peer {
    lws_dll2_t node;          /* c->peers */
    relay_wire_node id;
    uint64_t last_seen, last_fence, dead_at;
    uint8_t alive;
    lws_dll2_owner_t streams; /* struct stream, by peer_node */
};

/* A peer's stream in one room: what it published there, in sequence. */
struct stream {
    lws_dll2_t room_node, peer_node;
    struct peer *peer;
    struct croom *room;
    uint64_t next;            /* next sequence number expected */
    uint32_t acked;           /* our join generations it has heard of */
    uint32_t gen;             /* its join generations we have heard of */
    uint8_t awaiting;         /* its STATE has not come yet: ignore the rest */
    lws_dll2_owner_t members; /* struct rmember */
};

/* A member connected to another relay. */
struct rmember {
    relay_member m; /* first: relay_rooms_member() hands out &m */
    lws_dll2_t node; /* stream->members */
    struct stream *s;
    uint8_t seen;    /* STATE reconciliation */
};

/* Cluster state of one local room. */
struct croom {
    lws_dll2_t node;       /* c->rooms */
    lws_dll2_t lost_node;  /* c->lost while a loss is pending */
    lws_dll2_t ready_node; /* c->ready while a release is pending */
    lws_dll2_t dirty_node; /* c->dirty while its bundle holds something */
    uint8_t *bundle;       /* messages published since the last flush, length-prefixed */
    size_t blen, bcap;
    struct relay_room *room;
    char subject[RELAY_WIRE_SUBJECT_MAX];
    uint64_t sid;
    uint64_t seq;          /* last sequence number published */
    lws_dll2_owner_t streams;
    uint32_t awaiting;     /* streams whose STATE is awaited */
    uint64_t hello_at;     /* when HELLO went out; 0: not yet */
    int loss;              /* pending loss cause, -1: none */
};

/* A SYNC waiting for a flush. */
struct psync {
    lws_dll2_t node;
    uint64_t member, token, marker;
};

struct relay_cluster {
    relay_rooms *rooms;
    relay_cluster_config cfg;
    relay_cluster_transport t;
    relay_wire_node me;
    int connected, established, subscribed, stopping;
    uint64_t now, connected_at, last_hb;
    uint64_t ctl_sid, own_sid;
    char own_subject[RELAY_WIRE_SUBJECT_MAX];
    lws_dll2_owner_t peers, rooms_list, lost, ready, syncs, dirty;
    uint64_t flush_next; /* marker of the next flush to request */
    int flush_busy;
    uint8_t *buf;
    size_t buf_cap;
    relay_cluster_stats st;
};

static const char *const loss_names[RELAY_CLUSTER_LOSS_COUNT_] = {
    "gap", "lag", "broker", "publish", "fence", "collision", "invalid"};

const char *relay_cluster_loss_name(enum relay_cluster_loss why)
{
    return (unsigned)why < RELAY_CLUSTER_LOSS_COUNT_ ? loss_names[why] : "unknown";
}

static int ensure_buf(relay_cluster *c, size_t need)
{
    if (need <= c->buf_cap)
        return 0;
    uint8_t *b = realloc(c->buf, need);
    if (!b)
        return -1;
    c->buf = b;
    c->buf_cap = need;
    return 0;
}

static struct croom *croom_of(struct relay_room *r)
{
    return relay_room_bus_state(r);
}

/* ---- deferred work ---------------------------------------------------------------- */

/* Schedules the loss of cr: its local members are disconnected (4003) from poll. */
static void lose(relay_cluster *c, struct croom *cr, enum relay_cluster_loss why)
{
    if (cr->loss >= 0 || c->stopping)
        return;
    cr->loss = (int)why;
    lws_dll2_add_tail(&cr->lost_node, &c->lost);
    c->t.wake(c->t.arg);
}

static void lose_all(relay_cluster *c, enum relay_cluster_loss why)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, c->rooms_list.head) {
        lose(c, lws_container_of(d, struct croom, node), why);
    } lws_end_foreach_dll(d);
}

/* Schedules the release of held room cr (its members get WELCOME). */
static void ready(relay_cluster *c, struct croom *cr)
{
    if (lws_dll2_is_detached(&cr->ready_node))
        lws_dll2_add_tail(&cr->ready_node, &c->ready);
}

static void process_deferred(relay_cluster *c)
{
    struct lws_dll2 *d;

    for (;;) {
        if ((d = lws_dll2_get_head(&c->lost))) {
            struct croom *cr = lws_container_of(d, struct croom, lost_node);
            lws_dll2_remove(d);
            c->st.losses[cr->loss]++;
            c->st.members_lost += relay_room_local(cr->room);
            relay_room_lose(c->rooms, cr->room, RELAY_ROOM_LOST_SYNC); /* frees cr */
        } else if ((d = lws_dll2_get_head(&c->ready))) {
            struct croom *cr = lws_container_of(d, struct croom, ready_node);
            lws_dll2_remove(d);
            if (relay_room_held(cr->room))
                relay_room_release(c->rooms, cr->room); /* may free cr */
        } else {
            return;
        }
    }
}

/* ---- publishing ------------------------------------------------------------------- */

static int send_raw(relay_cluster *c, const char *subject, const uint8_t *data, size_t n)
{
    if (c->t.publish(c->t.arg, subject, data, n)) {
        c->st.publish_errors++;
        return -1;
    }
    c->st.published++;
    c->st.published_bytes += n;
    return 0;
}

/* Publishes a control message (ctl or a relay's own subject) now. */
static int publish(relay_cluster *c, const char *subject, relay_wire_msg *m)
{
    m->from = c->me;
    size_t n = relay_wire_size(m);
    if (ensure_buf(c, n))
        return -1;
    n = relay_wire_encode(c->buf, c->buf_cap, m);
    return n ? send_raw(c, subject, c->buf, n) : -1;
}

/* Publishes what cr collected as one bundle. A failure loses the room: our members
 * must not believe it was sent, and the others will see a gap. */
static void flush_room(relay_cluster *c, struct croom *cr)
{
    lws_dll2_remove(&cr->dirty_node);
    if (!cr->blen)
        return;
    if (c->connected && send_raw(c, cr->subject, cr->bundle, cr->blen))
        lose(c, cr, RELAY_CLUSTER_LOSS_PUBLISH);
    cr->blen = 0;
    if (cr->bcap > 4 * BUNDLE_BYTES) { /* one huge frame passed: give the memory back */
        free(cr->bundle);
        cr->bundle = NULL;
        cr->bcap = 0;
    }
}

/* Adds m to cr's stream (next sequence number): into the room's bundle, published at
 * the end of the loop's batch. While a loss is being processed the stream goes on: the
 * LEFTs and the BYE keep the other relays' view right. */
static void room_publish(relay_cluster *c, struct croom *cr, relay_wire_msg *m)
{
    if (!c->connected)
        return;
    m->from = c->me;
    m->seq = cr->seq + 1;
    size_t n = relay_wire_size(m);
    if (cr->blen && cr->blen + RELAY_WIRE_BUNDLE_PREFIX + n > BUNDLE_BYTES)
        flush_room(c, cr);
    size_t need = cr->blen + RELAY_WIRE_BUNDLE_PREFIX + n;
    if (need > cr->bcap) {
        size_t cap = need > BUNDLE_BYTES ? need : BUNDLE_BYTES;
        uint8_t *b = realloc(cr->bundle, cap);
        if (!b) {
            lose(c, cr, RELAY_CLUSTER_LOSS_PUBLISH);
            return;
        }
        cr->bundle = b;
        cr->bcap = cap;
    }
    uint8_t *p = cr->bundle + cr->blen;
    if (m->type == RELAY_WIRE_STATE && m->n_ids) {
        /* the ids were written to c->buf at their encoded offset: move them along */
        memcpy(p + RELAY_WIRE_BUNDLE_PREFIX + RELAY_WIRE_ROOM_HEADER + 8, m->ids,
               (size_t)m->n_ids * 8);
        m->ids = p + RELAY_WIRE_BUNDLE_PREFIX + RELAY_WIRE_ROOM_HEADER + 8;
    }
    if (relay_wire_encode(p + RELAY_WIRE_BUNDLE_PREFIX, cr->bcap - cr->blen -
                          RELAY_WIRE_BUNDLE_PREFIX, m) != n) {
        lose(c, cr, RELAY_CLUSTER_LOSS_PUBLISH);
        return;
    }
    relay_wire_put_len(p, (uint32_t)n);
    cr->seq++;
    cr->blen += RELAY_WIRE_BUNDLE_PREFIX + n;
    if (lws_dll2_is_detached(&cr->dirty_node)) {
        lws_dll2_add_tail(&cr->dirty_node, &c->dirty);
        if (c->dirty.count == 1)
            c->t.defer(c->t.arg);
    }
}

void relay_cluster_flush(relay_cluster *c)
{
    struct lws_dll2 *d;

    while ((d = lws_dll2_get_head(&c->dirty)))
        flush_room(c, lws_container_of(d, struct croom, dirty_node));
    process_deferred(c);
}

static void publish_state(relay_cluster *c, struct croom *cr)
{
    relay_wire_msg m;
    size_t n = relay_room_local_ids(cr->room, NULL, 0);

    memset(&m, 0, sizeof m);
    if (ensure_buf(c, RELAY_WIRE_ROOM_HEADER + 8 + 8 * n)) {
        lose(c, cr, RELAY_CLUSTER_LOSS_PUBLISH);
        return;
    }
    /* The ids go straight to their place in the encoding buffer. */
    uint64_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp) {
        lose(c, cr, RELAY_CLUSTER_LOSS_PUBLISH);
        return;
    }
    relay_room_local_ids(cr->room, tmp, n);
    uint8_t *ids = c->buf + RELAY_WIRE_ROOM_HEADER + 8;
    for (size_t i = 0; i < n; i++)
        relay_wire_put_id(ids + 8 * i, tmp[i]);
    free(tmp);
    m.type = RELAY_WIRE_STATE;
    m.gen = relay_room_gen(cr->room);
    m.n_ids = (uint32_t)n;
    m.ids = ids;
    room_publish(c, cr, &m);
}

static void publish_ack(relay_cluster *c, struct stream *s)
{
    relay_wire_msg m;

    if (!s->gen)
        return;
    memset(&m, 0, sizeof m);
    m.type = RELAY_WIRE_ACK;
    m.target = s->peer->id;
    m.gen = s->gen;
    room_publish(c, s->room, &m);
}

static void send_hb(relay_cluster *c)
{
    relay_wire_msg m;

    memset(&m, 0, sizeof m);
    m.type = RELAY_WIRE_HB;
    m.flags = c->established ? RELAY_WIRE_HB_ESTABLISHED : 0;
    c->last_hb = c->now;
    if (!publish(c, RELAY_WIRE_CTL_SUBJECT, &m))
        c->st.hb_sent++;
}

/* ---- streams and remote members --------------------------------------------------- */

static struct stream *find_stream(struct croom *cr, const struct peer *p)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, cr->streams.head) {
        struct stream *s = lws_container_of(d, struct stream, room_node);
        if (s->peer == p)
            return s;
    } lws_end_foreach_dll(d);
    return NULL;
}

static struct stream *new_stream(struct croom *cr, struct peer *p, int awaiting)
{
    struct stream *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->peer = p;
    s->room = cr;
    s->awaiting = (uint8_t)awaiting;
    s->next = 1;
    lws_dll2_add_tail(&s->room_node, &cr->streams);
    lws_dll2_add_tail(&s->peer_node, &p->streams);
    if (awaiting)
        cr->awaiting++;
    return s;
}

/* Frees s and its members; with announce, the local members receive LEFT for them
 * (otherwise the room module has let go of them already). */
static void drop_stream(relay_cluster *c, struct stream *s, int announce)
{
    struct croom *cr = s->room;
    struct lws_dll2 *d;

    while ((d = lws_dll2_get_head(&s->members))) {
        struct rmember *rm = lws_container_of(d, struct rmember, node);
        lws_dll2_remove(d);
        if (announce)
            relay_room_remove_remote(c->rooms, &rm->m);
        free(rm);
    }
    if (s->awaiting && --cr->awaiting == 0 && cr->hello_at)
        ready(c, cr);
    lws_dll2_remove(&s->room_node);
    lws_dll2_remove(&s->peer_node);
    free(s);
}

static int add_member(relay_cluster *c, struct stream *s, uint64_t id)
{
    struct rmember *rm = calloc(1, sizeof *rm);

    if (!rm)
        return -1;
    if (relay_room_add_remote(c->rooms, s->room->room, &rm->m, id)) {
        free(rm);
        return -1;
    }
    rm->s = s;
    lws_dll2_add_tail(&rm->node, &s->members);
    return 0;
}

/* The remote member id of stream s, or NULL. */
static struct rmember *member_of(relay_cluster *c, struct stream *s, uint64_t id)
{
    relay_member *m = relay_rooms_member(c->rooms, id);

    if (!m || !m->remote)
        return NULL;
    struct rmember *rm = (struct rmember *)m;
    return rm->s == s ? rm : NULL;
}

static void remove_member(relay_cluster *c, struct rmember *rm)
{
    relay_room_remove_remote(c->rooms, &rm->m);
    lws_dll2_remove(&rm->node);
    free(rm);
}

/* Makes s's members exactly those listed in STATE m (JOINED/LEFT to the local ones).
 * Returns 0, or -1 after scheduling the loss of the room. */
static int apply_state(relay_cluster *c, struct stream *s, const relay_wire_msg *m)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, s->members.head) {
        lws_container_of(d, struct rmember, node)->seen = 0;
    } lws_end_foreach_dll(d);
    for (uint32_t i = 0; i < m->n_ids; i++) {
        uint64_t id = relay_wire_state_id(m, i);
        struct rmember *rm = member_of(c, s, id);
        if (rm) {
            rm->seen = 1;
            continue;
        }
        if (add_member(c, s, id)) {
            lose(c, s->room, RELAY_CLUSTER_LOSS_INVALID);
            return -1;
        }
        lws_container_of(s->members.tail, struct rmember, node)->seen = 1;
    }
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, s->members.head) {
        struct rmember *rm = lws_container_of(d, struct rmember, node);
        if (!rm->seen)
            remove_member(c, rm);
    } lws_end_foreach_dll_safe(d, d1);
    s->gen = m->gen;
    return 0;
}

/* ---- peers ------------------------------------------------------------------------ */

static struct peer *find_peer(relay_cluster *c, uint32_t instance)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, c->peers.head) {
        struct peer *p = lws_container_of(d, struct peer, node);
        if (p->id.instance == instance)
            return p;
    } lws_end_foreach_dll(d);
    return NULL;
}

/* Drops everything p had in our rooms: its members leave. */
static void forget_streams(relay_cluster *c, struct peer *p)
{
    struct lws_dll2 *d;

    while ((d = lws_dll2_get_head(&p->streams)))
        drop_stream(c, lws_container_of(d, struct stream, peer_node), 1);
}

static void free_peer(relay_cluster *c, struct peer *p)
{
    forget_streams(c, p);
    lws_dll2_remove(&p->node);
    free(p);
}

static void fence(relay_cluster *c, struct peer *p)
{
    relay_wire_msg m;
    char subject[RELAY_WIRE_SUBJECT_MAX];

    if (p->last_fence && c->now - p->last_fence < FENCE_EVERY_MS)
        return;
    p->last_fence = c->now;
    memset(&m, 0, sizeof m);
    m.type = RELAY_WIRE_FENCE;
    m.target = p->id;
    relay_wire_relay_subject(subject, p->id.instance);
    if (!publish(c, subject, &m))
        c->st.fences_sent++;
}

static void reset(relay_cluster *c, enum relay_cluster_loss why, int new_instance);

/*
 * Another relay uses our instance id (member ids could collide). A relay still
 * learning the cluster yields alone; two established ones both yield.
 */
static void collision(relay_cluster *c, int other_established)
{
    if (c->established && !other_established)
        return; /* the newcomer yields */
    reset(c, RELAY_CLUSTER_LOSS_COLLISION, 1);
}

/*
 * Returns the peer a message from `from` comes from, or NULL to ignore the message.
 * hb: it is a heartbeat, with `established` its flag.
 */
static struct peer *peer_of(relay_cluster *c, const relay_wire_node *from, int hb,
                            int established)
{
    if (from->instance == c->me.instance) {
        if (from->nonce != c->me.nonce)
            collision(c, !hb || established);
        return NULL; /* ours (a late echo of an old connection) or a collision */
    }
    struct peer *p = find_peer(c, from->instance);
    if (hb && !established) {
        /* a relay still listening: only notice that a known process reconnected */
        if (p && p->id.nonce == from->nonce && from->epoch > p->id.epoch) {
            forget_streams(c, p);
            p->id = *from;
            p->alive = 1;
            p->last_seen = c->now;
        }
        return NULL;
    }
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return NULL;
        lws_dll2_add_tail(&p->node, &c->peers);
    } else if (p->id.nonce == from->nonce && from->epoch < p->id.epoch) {
        return NULL; /* stale: from before its last reconnection */
    } else if (p->id.nonce == from->nonce && from->epoch == p->id.epoch) {
        if (!p->alive) {
            fence(c, p); /* declared dead, yet talking: it must reset */
            return NULL;
        }
        if (c->now > p->last_seen)
            p->last_seen = c->now;
        return p;
    } else {
        forget_streams(c, p); /* a new incarnation: the old one's members are gone */
    }
    p->id = *from;
    p->alive = 1;
    p->last_seen = c->now;
    p->last_fence = 0;
    return p;
}

static void declare_dead(relay_cluster *c, struct peer *p)
{
    p->alive = 0;
    p->dead_at = c->now;
    c->st.peers_dead++;
    forget_streams(c, p);
}

/* Keeps at most MAX_DEAD_PEERS dead peers, dropping the oldest. */
static void prune_dead(relay_cluster *c)
{
    uint32_t dead = 0;

    lws_start_foreach_dll(struct lws_dll2 *, d, c->peers.head) {
        dead += !lws_container_of(d, struct peer, node)->alive;
    } lws_end_foreach_dll(d);
    while (dead > MAX_DEAD_PEERS) {
        struct peer *oldest = NULL;
        lws_start_foreach_dll(struct lws_dll2 *, d, c->peers.head) {
            struct peer *p = lws_container_of(d, struct peer, node);
            if (!p->alive && (!oldest || p->dead_at < oldest->dead_at))
                oldest = p;
        } lws_end_foreach_dll(d);
        free_peer(c, oldest);
        dead--;
    }
}

/* ---- entering a room -------------------------------------------------------------- */

/* Asks every relay for its STATE of cr's room; returns how many replies are awaited. */
static uint32_t send_hello(relay_cluster *c, struct croom *cr)
{
    relay_wire_msg m;
    size_t len;

    lws_start_foreach_dll(struct lws_dll2 *, d, c->peers.head) {
        struct peer *p = lws_container_of(d, struct peer, node);
        if (p->alive && !find_stream(cr, p) && !new_stream(cr, p, 1)) {
            lose(c, cr, RELAY_CLUSTER_LOSS_PUBLISH);
            return 0;
        }
    } lws_end_foreach_dll(d);
    flush_room(c, cr); /* the sequence named below must be out before the HELLO */
    memset(&m, 0, sizeof m);
    m.type = RELAY_WIRE_HELLO;
    m.seq = cr->seq; /* it may have answered others' HELLO already */
    m.room = relay_room_name(cr->room, &len);
    m.room_len = len;
    cr->hello_at = c->now ? c->now : 1;
    if (publish(c, RELAY_WIRE_CTL_SUBJECT, &m))
        lose(c, cr, RELAY_CLUSTER_LOSS_PUBLISH);
    return cr->awaiting;
}

/* ---- room hooks (called by relay_room; they never call back into it) -------------- */

static int hook_open(struct relay_room *r, void *arg)
{
    relay_cluster *c = arg;
    struct croom *cr = calloc(1, sizeof *cr);
    size_t len;
    const char *name = relay_room_name(r, &len);

    if (!cr)
        return -1;
    cr->room = r;
    cr->loss = -1;
    relay_wire_room_subject(cr->subject, name, len);
    relay_room_set_bus_state(r, cr);
    lws_dll2_add_tail(&cr->node, &c->rooms_list);
    if (!c->connected) {
        lose(c, cr, RELAY_CLUSTER_LOSS_BROKER);
        return 1;
    }
    if (c->t.subscribe(c->t.arg, cr->subject, &cr->sid)) {
        lose(c, cr, RELAY_CLUSTER_LOSS_PUBLISH);
        return 1;
    }
    if (!c->established)
        return 1; /* HELLO once the peers are known */
    return send_hello(c, cr) ? 1 : 0;
}

static void hook_close(struct relay_room *r, void *arg)
{
    relay_cluster *c = arg;
    struct croom *cr = croom_of(r);
    struct lws_dll2 *d;

    if (!cr)
        return;
    if (cr->streams.count) {
        relay_wire_msg m;
        memset(&m, 0, sizeof m);
        m.type = RELAY_WIRE_BYE;
        room_publish(c, cr, &m);
    }
    flush_room(c, cr);
    free(cr->bundle);
    if (cr->sid)
        c->t.unsubscribe(c->t.arg, cr->sid);
    while ((d = lws_dll2_get_head(&cr->streams)))
        drop_stream(c, lws_container_of(d, struct stream, room_node), 0);
    lws_dll2_remove(&cr->lost_node);
    lws_dll2_remove(&cr->ready_node);
    lws_dll2_remove(&cr->node);
    relay_room_set_bus_state(r, NULL);
    free(cr);
}

/* Publishes JOINED or LEFT of member id in r, if other relays share the room. */
static void publish_presence(relay_cluster *c, struct relay_room *r, uint8_t type,
                             uint64_t id, uint32_t gen)
{
    struct croom *cr = croom_of(r);
    relay_wire_msg m;

    if (!cr->streams.count)
        return;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.member = id;
    m.gen = gen;
    room_publish(c, cr, &m);
}

static void hook_joined(struct relay_room *r, uint64_t id, uint32_t gen, void *arg)
{
    publish_presence(arg, r, RELAY_WIRE_JOINED, id, gen);
}

static void hook_left(struct relay_room *r, uint64_t id, void *arg)
{
    publish_presence(arg, r, RELAY_WIRE_LEFT, id, 0);
}

static void hook_data(struct relay_room *r, uint64_t from, uint64_t to, const uint8_t *payload,
                      size_t len, void *arg)
{
    relay_cluster *c = arg;
    struct croom *cr = croom_of(r);
    relay_wire_msg m;

    if (!cr->streams.count)
        return; /* no other relay is in this room */
    memset(&m, 0, sizeof m);
    m.type = RELAY_WIRE_DATA;
    m.member = from;
    m.to = to;
    m.payload = payload;
    m.payload_len = len;
    room_publish(c, cr, &m);
}

static void request_flush(relay_cluster *c)
{
    if (c->flush_busy || !c->syncs.count)
        return;
    c->flush_busy = 1;
    c->t.flush(c->t.arg, c->flush_next++);
}

static void hook_sync(struct relay_room *r, uint64_t id, uint64_t token, void *arg)
{
    relay_cluster *c = arg;
    struct psync *ps = calloc(1, sizeof *ps);

    if (!ps) {
        lose(c, croom_of(r), RELAY_CLUSTER_LOSS_PUBLISH);
        return;
    }
    /* the broker round trip must follow the frames this member sent before */
    flush_room(c, croom_of(r));
    ps->member = id;
    ps->token = token;
    /* answered by the first flush requested from now on (the one in flight, if any,
     * may have been asked for before this member's frames were published) */
    ps->marker = c->flush_next;
    lws_dll2_add_tail(&ps->node, &c->syncs);
    request_flush(c);
}

/* ---- incoming messages ------------------------------------------------------------ */

static void on_hello(relay_cluster *c, struct peer *p, const relay_wire_msg *m)
{
    struct relay_room *r = relay_rooms_find(c->rooms, m->room, m->room_len);
    struct croom *cr = r ? croom_of(r) : NULL;

    if (!cr) {
        /* not in that room: say so, on the room's subject */
        relay_wire_msg st;
        char subject[RELAY_WIRE_SUBJECT_MAX];
        uint8_t one[RELAY_WIRE_BUNDLE_PREFIX + RELAY_WIRE_ROOM_HEADER + 8];
        memset(&st, 0, sizeof st);
        st.type = RELAY_WIRE_STATE;
        st.from = c->me;
        relay_wire_room_subject(subject, m->room, m->room_len);
        size_t n = relay_wire_encode(one + RELAY_WIRE_BUNDLE_PREFIX,
                                     sizeof one - RELAY_WIRE_BUNDLE_PREFIX, &st);
        relay_wire_put_len(one, (uint32_t)n);
        send_raw(c, subject, one, sizeof one);
        return;
    }
    if (cr->loss >= 0)
        return;
    struct stream *s = find_stream(cr, p);
    if (s && !s->awaiting && s->next != m->seq + 1) {
        /* we missed part of its stream (it publishes in order, on one connection) */
        lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
        return;
    }
    if (!s) {
        if (!(s = new_stream(cr, p, 0))) {
            lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
            return;
        }
        s->next = m->seq + 1;
    }
    publish_state(c, cr);
}

static void on_room(relay_cluster *c, struct croom *cr, struct peer *p, const relay_wire_msg *m)
{
    struct stream *s = find_stream(cr, p);
    struct rmember *rm;

    if (m->type == RELAY_WIRE_STATE && !m->seq) {
        if (s && s->awaiting)
            drop_stream(c, s, 1); /* it is not in the room */
        return;
    }
    if (!s) {
        if (m->type == RELAY_WIRE_STATE) {
            /* introduced late: it was not known alive when we said HELLO */
            if (!(s = new_stream(cr, p, 0))) {
                lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
                return;
            }
            s->next = m->seq + 1;
            if (apply_state(c, s, m))
                return;
            if (relay_room_local(cr->room))
                publish_state(c, cr); /* it never heard of our members */
            publish_ack(c, s);
            return;
        }
        if (m->seq != 1)
            return; /* sent before it knew of us; its STATE follows */
        if (!(s = new_stream(cr, p, 0))) {
            lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
            return;
        }
    }
    if (s->awaiting) {
        if (m->type != RELAY_WIRE_STATE)
            return; /* reflected in the STATE to come */
        s->awaiting = 0;
        if (--cr->awaiting == 0)
            ready(c, cr);
        s->next = m->seq + 1;
        if (!apply_state(c, s, m))
            publish_ack(c, s);
        return;
    }
    if (m->seq != s->next) {
        c->st.gaps++;
        lose(c, cr, RELAY_CLUSTER_LOSS_GAP);
        return;
    }
    s->next++;
    switch (m->type) {
    case RELAY_WIRE_STATE: {
        uint32_t gen = s->gen;
        if (!apply_state(c, s, m) && s->gen != gen)
            publish_ack(c, s);
        return;
    }
    case RELAY_WIRE_JOINED:
        if (add_member(c, s, m->member)) {
            lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
            return;
        }
        if (m->gen > s->gen)
            s->gen = m->gen;
        publish_ack(c, s);
        return;
    case RELAY_WIRE_LEFT:
        if (!(rm = member_of(c, s, m->member))) {
            lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
            return;
        }
        remove_member(c, rm);
        return;
    case RELAY_WIRE_DATA:
        if (!(rm = member_of(c, s, m->member))) {
            lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
            return;
        }
        if (relay_room_deliver(c->rooms, &rm->m, m->to, s->acked, m->payload,
                               m->payload_len) == RELAY_ROOM_E_NOMEM)
            lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
        return;
    case RELAY_WIRE_ACK:
        if (m->target.instance == c->me.instance && m->target.nonce == c->me.nonce &&
            m->gen > s->acked)
            s->acked = m->gen;
        return;
    default: /* BYE */
        drop_stream(c, s, 1);
        return;
    }
}

/* The messages of a bundle on cr's subject, in order; one undecodable loses the room
 * (we cannot tell what we missed). */
static void on_bundle(relay_cluster *c, struct croom *cr, const uint8_t *data, size_t len)
{
    const uint8_t *msg;
    size_t off = 0, n;
    relay_wire_msg m;
    int rc;

    while (cr->loss < 0 && (rc = relay_wire_bundle_next(data, len, &off, &msg, &n)) != 0) {
        if (rc < 0 || relay_wire_parse(msg, n, &m) || !relay_wire_is_room_type(m.type)) {
            c->st.invalid++;
            lose(c, cr, RELAY_CLUSTER_LOSS_INVALID);
            return;
        }
        struct peer *p = peer_of(c, &m.from, 0, 1);
        if (!p)
            return; /* stale, fenced, or ours: the rest of the bundle is from the same node */
        on_room(c, cr, p, &m);
    }
}

void relay_cluster_message(relay_cluster *c, uint64_t sid, const char *subject,
                           const uint8_t *data, size_t len, uint64_t now_ms)
{
    relay_wire_msg m;
    struct croom *cr = NULL;

    if (now_ms > c->now)
        c->now = now_ms;
    c->st.received++;
    c->st.received_bytes += len;
    if (sid != c->ctl_sid && sid != c->own_sid) {
        size_t rlen;
        const char *name = relay_wire_subject_room(subject, &rlen);
        struct relay_room *r = name ? relay_rooms_find(c->rooms, name, rlen) : NULL;
        cr = r ? croom_of(r) : NULL;
        if (!cr || cr->sid != sid || cr->loss >= 0)
            goto done; /* a room we left, or an older subscription to it */
    }
    if (!c->connected)
        goto done;
    if (cr) {
        on_bundle(c, cr, data, len);
        goto done;
    }
    if (relay_wire_parse(data, len, &m) || relay_wire_is_room_type(m.type)) {
        c->st.invalid++;
        goto done;
    }
    if (m.type == RELAY_WIRE_FENCE) {
        if (m.target.instance == c->me.instance && m.target.nonce == c->me.nonce &&
            m.target.epoch == c->me.epoch)
            reset(c, RELAY_CLUSTER_LOSS_FENCE, 0);
        goto done;
    }
    struct peer *p = peer_of(c, &m.from, m.type == RELAY_WIRE_HB,
                             (m.flags & RELAY_WIRE_HB_ESTABLISHED) != 0);
    if (!p)
        goto done;
    if (m.type == RELAY_WIRE_HB)
        c->st.hb_received++;
    else if (m.type == RELAY_WIRE_HELLO)
        on_hello(c, p, &m);
done:
    process_deferred(c);
}

/* ---- connection, time ------------------------------------------------------------- */

static uint32_t fresh_instance(relay_cluster *c)
{
    for (;;) {
        uint32_t v = randombytes_random();
        if (v && v != c->me.instance && !find_peer(c, v))
            return v;
    }
}

/*
 * Starts over as a new incarnation: every local member is disconnected (4003),
 * then the epoch (and with new_instance the instance id) changes and the relay
 * listens to the heartbeats again before entering rooms.
 */
static void reset(relay_cluster *c, enum relay_cluster_loss why, int new_instance)
{
    struct lws_dll2 *d;

    lose_all(c, why);
    process_deferred(c); /* LEFT and BYE still go out as the old incarnation */
    /* What we knew of the others may be stale (we stalled): learn it again. */
    while ((d = lws_dll2_get_head(&c->peers)))
        free_peer(c, lws_container_of(d, struct peer, node));
    if (new_instance) {
        if (c->subscribed)
            c->t.unsubscribe(c->t.arg, c->own_sid);
        c->me.instance = fresh_instance(c);
        relay_rooms_set_instance(c->rooms, c->me.instance);
        relay_wire_relay_subject(c->own_subject, c->me.instance);
        if (c->subscribed && c->t.subscribe(c->t.arg, c->own_subject, &c->own_sid))
            c->own_sid = 0;
    }
    c->me.epoch++;
    c->established = 0;
    c->connected_at = c->now;
    if (c->connected)
        send_hb(c);
}

int relay_cluster_ready(const relay_cluster *c)
{
    return c->connected && c->subscribed && !c->stopping;
}

void relay_cluster_stop(relay_cluster *c)
{
    c->stopping = 1;
    c->connected = 0;
}

void relay_cluster_connected(relay_cluster *c, uint64_t now_ms)
{
    if (now_ms > c->now)
        c->now = now_ms;
    now_ms = c->now;
    if (c->connected || c->stopping)
        return;
    c->connected = 1;
    c->st.connects++;
    c->me.epoch++;
    c->established = 0;
    c->connected_at = now_ms;
    if (!c->subscribed) {
        if (c->t.subscribe(c->t.arg, RELAY_WIRE_CTL_SUBJECT, &c->ctl_sid) == 0 &&
            c->t.subscribe(c->t.arg, c->own_subject, &c->own_sid) == 0)
            c->subscribed = 1;
    }
    send_hb(c);
}

void relay_cluster_disconnected(relay_cluster *c)
{
    struct lws_dll2 *d;

    if (!c->connected)
        return;
    c->st.disconnects++;
    lose_all(c, RELAY_CLUSTER_LOSS_BROKER);
    c->connected = 0; /* after lose_all: nothing is published from here on */
    c->established = 0;
    process_deferred(c);
    while ((d = lws_dll2_get_head(&c->peers)))
        free_peer(c, lws_container_of(d, struct peer, node));
    while ((d = lws_dll2_get_head(&c->syncs))) {
        lws_dll2_remove(d);
        free(lws_container_of(d, struct psync, node));
    }
    c->flush_busy = 0;
}

void relay_cluster_flushed(relay_cluster *c, uint64_t marker, int ok)
{
    struct lws_dll2 *d;
    uint8_t env[SC_ENV_HEADER_BYTES + 8];

    c->flush_busy = 0;
    if (!ok) {
        if (c->connected)
            lose_all(c, RELAY_CLUSTER_LOSS_PUBLISH);
        while ((d = lws_dll2_get_head(&c->syncs))) {
            lws_dll2_remove(d);
            free(lws_container_of(d, struct psync, node));
        }
        process_deferred(c);
        return;
    }
    while ((d = lws_dll2_get_head(&c->syncs))) {
        struct psync *ps = lws_container_of(d, struct psync, node);
        if (ps->marker > marker)
            break;
        lws_dll2_remove(d);
        size_t n = sc_env_encode_synced(env, sizeof env, ps->token);
        /* a member gone meanwhile needs no answer */
        if (relay_room_reply_to(c->rooms, ps->member, env, n) == RELAY_ROOM_E_NOMEM) {
            relay_member *m = relay_rooms_member(c->rooms, ps->member);
            if (m && m->room)
                lose(c, croom_of(m->room), RELAY_CLUSTER_LOSS_PUBLISH);
        }
        free(ps);
    }
    request_flush(c);
    process_deferred(c);
}

void relay_cluster_lost(relay_cluster *c, uint64_t sid)
{
    if (!sid || sid == c->ctl_sid || sid == c->own_sid) {
        lose_all(c, RELAY_CLUSTER_LOSS_LAG);
    } else {
        lws_start_foreach_dll(struct lws_dll2 *, d, c->rooms_list.head) {
            struct croom *cr = lws_container_of(d, struct croom, node);
            if (cr->sid == sid)
                lose(c, cr, RELAY_CLUSTER_LOSS_LAG);
        } lws_end_foreach_dll(d);
    }
    process_deferred(c);
}

void relay_cluster_tick(relay_cluster *c, uint64_t now_ms)
{
    if (now_ms > c->now)
        c->now = now_ms; /* the clock only moves forward (arrival stamps may lead) */
    now_ms = c->now;
    if (!c->connected)
        return;
    if (!c->subscribed) {
        relay_cluster_disconnected(c); /* retry the subscriptions as a reconnection */
        relay_cluster_connected(c, now_ms);
        return;
    }
    /* Our own heartbeat stalled this long: the others may have declared us dead. */
    if (c->established && now_ms - c->last_hb > c->cfg.dead_after_ms - c->cfg.hb_interval_ms / 2) {
        reset(c, RELAY_CLUSTER_LOSS_FENCE, 0);
        return;
    }
    if (now_ms - c->last_hb >= c->cfg.hb_interval_ms)
        send_hb(c);
    if (!c->established && now_ms - c->connected_at >= c->cfg.view_delay_ms) {
        c->established = 1;
        send_hb(c);
        lws_start_foreach_dll(struct lws_dll2 *, d, c->rooms_list.head) {
            struct croom *cr = lws_container_of(d, struct croom, node);
            if (relay_room_held(cr->room) && !cr->hello_at && cr->loss < 0 &&
                !send_hello(c, cr))
                ready(c, cr);
        } lws_end_foreach_dll(d);
    }
    lws_start_foreach_dll(struct lws_dll2 *, d, c->peers.head) {
        struct peer *p = lws_container_of(d, struct peer, node);
        if (p->alive && now_ms > p->last_seen && now_ms - p->last_seen > c->cfg.dead_after_ms)
            declare_dead(c, p);
    } lws_end_foreach_dll(d);
    prune_dead(c);
    lws_start_foreach_dll(struct lws_dll2 *, d, c->rooms_list.head) {
        struct croom *cr = lws_container_of(d, struct croom, node);
        if (cr->hello_at && relay_room_held(cr->room) &&
            now_ms - cr->hello_at >= c->cfg.sync_timeout_ms)
            ready(c, cr); /* the late ones introduce themselves with their STATE */
    } lws_end_foreach_dll(d);
    process_deferred(c);
}

void relay_cluster_poll(relay_cluster *c)
{
    process_deferred(c);
}

/* ---- lifetime, figures ------------------------------------------------------------ */

relay_cluster *relay_cluster_new(relay_rooms *rooms, const relay_cluster_config *cfg,
                                 const relay_cluster_transport *t, uint32_t instance,
                                 uint32_t nonce)
{
    relay_cluster *c = calloc(1, sizeof *c);

    if (!c || !instance || !nonce)
        goto fail;
    c->rooms = rooms;
    c->cfg = *cfg;
    c->t = *t;
    c->me.instance = instance;
    c->me.nonce = nonce;
    c->flush_next = 1;
    relay_wire_relay_subject(c->own_subject, instance);
    if (ensure_buf(c, RELAY_WIRE_DATA_OVERHEAD + (size_t)cfg->max_payload))
        goto fail;
    relay_room_bus bus = {hook_open, hook_close, hook_joined, hook_left, hook_data, hook_sync, c};
    relay_rooms_set_bus(rooms, &bus);
    return c;
fail:
    free(c);
    return NULL;
}

void relay_cluster_free(relay_cluster *c)
{
    struct lws_dll2 *d;

    if (!c)
        return;
    relay_rooms_set_bus(c->rooms, NULL);
    while ((d = lws_dll2_get_head(&c->rooms_list))) {
        struct croom *cr = lws_container_of(d, struct croom, node);
        hook_close(cr->room, c);
    }
    while ((d = lws_dll2_get_head(&c->peers)))
        free_peer(c, lws_container_of(d, struct peer, node));
    while ((d = lws_dll2_get_head(&c->syncs))) {
        lws_dll2_remove(d);
        free(lws_container_of(d, struct psync, node));
    }
    free(c->buf);
    free(c);
}

void relay_cluster_get_stats(const relay_cluster *c, relay_cluster_stats *out)
{
    *out = c->st;
    out->connected = (uint64_t)c->connected;
    out->established = (uint64_t)c->established;
    out->instance = c->me.instance;
    out->epoch = c->me.epoch;
    out->syncs_pending = c->syncs.count;
    out->peers = out->rooms = out->rooms_shared = out->held = 0;
    lws_start_foreach_dll(struct lws_dll2 *, d, c->peers.head) {
        out->peers += lws_container_of(d, struct peer, node)->alive;
    } lws_end_foreach_dll(d);
    lws_start_foreach_dll(struct lws_dll2 *, d, c->rooms_list.head) {
        const struct croom *cr = lws_container_of(d, struct croom, node);
        out->rooms++;
        out->rooms_shared += cr->streams.count > cr->awaiting;
        out->held += (uint64_t)relay_room_held(cr->room);
    } lws_end_foreach_dll(d);
}
