#include "relay_room.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sc_envelope.h"

/* Default chunk size; a chunk is larger only to hold one larger record. */
#define CHUNK_BYTES 16384u
/* Freed chunks of the standard size kept for reuse (at most 1 MiB): in small rooms a
 * chunk fills and is freed many times a second, and malloc's trimming of the heap top
 * turned that into brk() calls and fresh page faults. */
#define SPARE_CHUNKS 64u

/* A record in a chunk: this header, then the envelope, padded to 8 bytes. */
struct rec {
    uint32_t len;  /* envelope bytes */
    uint32_t gen;  /* only for members whose join generation is at most this */
    uint64_t from; /* member whose broadcast this is (never echoed to it); 0: relay */
    uint64_t to;   /* the only recipient; 0: everyone but `from` */
};

struct relay_chunk {
    struct relay_chunk *next; /* towards the head (newer) */
    uint64_t base;            /* log offset of data[0] */
    uint32_t cap, used;
    lws_dll2_owner_t readers; /* members whose cursor is in this chunk */
    uint64_t data[];          /* records; uint64_t keeps them 8-aligned */
};

struct relay_room {
    relay_map_node node;       /* in rooms->names */
    lws_dll2_owner_t members;  /* every member, in join order */
    lws_dll2_owner_t idle;     /* members with nothing waiting */
    struct relay_chunk *tail;  /* oldest chunk still needed */
    struct relay_chunk *head;  /* chunk being appended to */
    uint64_t end;              /* log offset just past the last record */
    /* Backlog accounting: chunks from lag_edge to head are "recent" (they start
     * less than backlog_bytes before end); readers elsewhere are backlogged. */
    struct relay_chunk *lag_edge;
    uint32_t pending;          /* members with a cursor */
    uint32_t recent;           /* of them, those with the cursor in a recent chunk */
    lws_dll2_owner_t throttled; /* members whose input is paused */
    lws_dll2_owner_t waiting;   /* local members waiting for release (held room) */
    uint32_t local;             /* local members welcomed */
    uint32_t gen;               /* last join generation given out */
    uint8_t held;
    void *bus;                  /* the bus's state for this room */
    uint32_t id_len;
    char id[];
};

struct relay_rooms {
    relay_map names; /* relay_room by id, keyed SipHash (room ids are client-chosen) */
    relay_map ids;   /* relay_member by member id */
    relay_room_limits lim;
    relay_room_ops ops;
    relay_room_bus bus;
    int has_bus;
    uint64_t instance;
    uint32_t counter;
    unsigned char key[crypto_shorthash_KEYBYTES];
    uint64_t *tmp; /* member ids for WELCOME */
    size_t tmp_cap;
    size_t max_env;
    uint64_t backlog_bytes; /* lag that makes a member backlogged */
    struct relay_chunk *spare; /* freed CHUNK_BYTES chunks, linked by next */
    uint32_t spare_n;
    relay_rooms_stats st;
};

struct name_key {
    const char *id;
    size_t len;
};

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static size_t rec_size(size_t env_len)
{
    return sizeof(struct rec) + pad8(env_len);
}

static uint8_t *chunk_at(struct relay_chunk *c, uint32_t off)
{
    return (uint8_t *)c->data + off;
}

static uint64_t name_hash(const relay_rooms *rs, const char *id, size_t len)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t v;

    crypto_shorthash(h, (const unsigned char *)id, len, rs->key);
    memcpy(&v, h, sizeof v);
    return v;
}

static uint64_t id_hash(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int name_eq(const relay_map_node *n, const void *key)
{
    const struct relay_room *r = lws_container_of(n, struct relay_room, node);
    const struct name_key *k = key;
    return r->id_len == k->len && !memcmp(r->id, k->id, k->len);
}

static int id_eq(const relay_map_node *n, const void *key)
{
    const relay_member *m = lws_container_of(n, relay_member, id_node);
    return m->id == *(const uint64_t *)key;
}

relay_rooms *relay_rooms_new(const relay_room_limits *limits, const relay_room_ops *ops,
                             uint32_t instance)
{
    relay_rooms *rs = calloc(1, sizeof *rs);

    if (!rs || !instance)
        goto fail;
    if (relay_map_init(&rs->names, 6))
        goto fail;
    if (relay_map_init(&rs->ids, 6))
        goto fail;
    rs->lim = *limits;
    rs->ops = *ops;
    rs->instance = (uint64_t)instance << 32;
    rs->backlog_bytes = limits->max_queue / 4;
    randombytes_buf(rs->key, sizeof rs->key);

    size_t welcome = sc_env_welcome_size(limits->max_members ? limits->max_members - 1 : 0);
    rs->max_env = SC_ENV_DATA_OVERHEAD + (size_t)limits->max_payload;
    if (welcome > rs->max_env)
        rs->max_env = welcome;
    if (SC_ENV_HEADER_BYTES + 2 + SC_ENV_MAX_REASON > rs->max_env)
        rs->max_env = SC_ENV_HEADER_BYTES + 2 + SC_ENV_MAX_REASON;
    return rs;
fail:
    if (rs) {
        relay_map_free(&rs->names);
        relay_map_free(&rs->ids);
        free(rs);
    }
    return NULL;
}

/* A chunk of cap bytes of data (uninitialised), or NULL. */
static struct relay_chunk *chunk_new(relay_rooms *rs, size_t cap)
{
    struct relay_chunk *c = rs->spare;

    if (cap == CHUNK_BYTES && c) {
        rs->spare = c->next;
        rs->spare_n--;
        return c;
    }
    return malloc(sizeof *c + cap);
}

/* Gives chunk c back: kept for reuse if it is of the standard size and there is room. */
static void chunk_free(relay_rooms *rs, struct relay_chunk *c)
{
    if (c->cap == CHUNK_BYTES && rs->spare_n < SPARE_CHUNKS) {
        c->next = rs->spare;
        rs->spare = c;
        rs->spare_n++;
        return;
    }
    free(c);
}

static void free_room(relay_rooms *rs, struct relay_room *r)
{
    struct relay_chunk *c = r->tail;

    while (c) {
        struct relay_chunk *next = c->next;
        rs->st.log_bytes -= c->cap;
        chunk_free(rs, c);
        c = next;
    }
    relay_map_remove(&rs->names, &r->node);
    rs->st.rooms--;
    free(r);
}

void relay_rooms_free(relay_rooms *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i <= rs->names.mask; i++)
        while (rs->names.buckets[i])
            free_room(rs, lws_container_of(rs->names.buckets[i], struct relay_room, node));
    while (rs->spare) {
        struct relay_chunk *c = rs->spare;
        rs->spare = c->next;
        free(c);
    }
    relay_map_free(&rs->names);
    relay_map_free(&rs->ids);
    free(rs->tmp);
    free(rs);
}

size_t relay_rooms_max_envelope(const relay_rooms *rs)
{
    return rs->max_env;
}

void relay_rooms_get_stats(const relay_rooms *rs, relay_rooms_stats *out)
{
    *out = rs->st;
}

int relay_room_id_valid(const char *id, size_t len)
{
    if (len < 1 || len > RELAY_ROOM_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

void relay_rooms_set_bus(relay_rooms *rs, const relay_room_bus *bus)
{
    rs->has_bus = bus != NULL;
    if (bus)
        rs->bus = *bus;
}

void relay_rooms_set_instance(relay_rooms *rs, uint32_t instance)
{
    if (instance)
        rs->instance = (uint64_t)instance << 32;
}

struct relay_room *relay_rooms_find(relay_rooms *rs, const char *id, size_t len)
{
    struct name_key key = {id, len};
    relay_map_node *n = relay_map_find(&rs->names, name_hash(rs, id, len), name_eq, &key);
    return n ? lws_container_of(n, struct relay_room, node) : NULL;
}

relay_member *relay_rooms_member(const relay_rooms *rs, uint64_t id)
{
    relay_map_node *n = relay_map_find(&rs->ids, id_hash(id), id_eq, &id);
    return n ? lws_container_of(n, relay_member, id_node) : NULL;
}

const char *relay_room_name(const struct relay_room *r, size_t *len)
{
    *len = r->id_len;
    return r->id;
}

void *relay_room_bus_state(const struct relay_room *r)
{
    return r->bus;
}

void relay_room_set_bus_state(struct relay_room *r, void *state)
{
    r->bus = state;
}

uint32_t relay_room_local(const struct relay_room *r)
{
    return r->local;
}

uint32_t relay_room_gen(const struct relay_room *r)
{
    return r->gen;
}

int relay_room_held(const struct relay_room *r)
{
    return r->held;
}

size_t relay_room_local_ids(const struct relay_room *r, uint64_t *out, size_t cap)
{
    size_t n = 0;

    lws_start_foreach_dll(struct lws_dll2 *, d, r->members.head) {
        const relay_member *m = lws_container_of(d, relay_member, room_node);
        if (!m->remote) {
            if (n < cap)
                out[n] = m->id;
            n++;
        }
    } lws_end_foreach_dll(d);
    return n;
}

/* Frees chunks from the tail that no member still has to read. */
static void free_tail(relay_rooms *rs, struct relay_room *r)
{
    while (r->tail && !r->tail->readers.count) {
        struct relay_chunk *c = r->tail;
        r->tail = c->next;
        if (c == r->head)
            r->head = NULL;
        if (c == r->lag_edge)
            r->lag_edge = c->next;
        rs->st.log_bytes -= c->cap;
        chunk_free(rs, c);
    }
}

/* Makes sure the head chunk has room for `need` more bytes. Returns 0 or -1. */
static int log_ensure(relay_rooms *rs, struct relay_room *r, size_t need)
{
    struct relay_chunk *c = r->head;

    if (c && c->cap - c->used >= need)
        return 0;
    size_t cap = need > CHUNK_BYTES ? need : CHUNK_BYTES;
    if (cap > UINT32_MAX)
        return -1;
    c = chunk_new(rs, cap);
    if (!c)
        return -1;
    c->next = NULL;
    c->base = r->end;
    c->cap = (uint32_t)cap;
    c->used = 0;
    memset(&c->readers, 0, sizeof c->readers);
    if (r->head)
        r->head->next = c;
    else
        r->tail = c;
    r->head = c;
    if (!r->lag_edge)
        r->lag_edge = c;
    rs->st.log_bytes += cap;
    return 0;
}

/* Moves lag_edge up after the log grew; the head chunk always counts as recent. */
static void advance_lag_edge(relay_rooms *rs, struct relay_room *r)
{
    uint64_t edge = r->end > rs->backlog_bytes ? r->end - rs->backlog_bytes : 0;

    while (r->lag_edge && r->lag_edge != r->head && r->lag_edge->base < edge) {
        r->recent -= r->lag_edge->readers.count;
        r->lag_edge = r->lag_edge->next;
    }
}

static int is_recent(const struct relay_room *r, const struct relay_chunk *c)
{
    return r->lag_edge && c->base >= r->lag_edge->base;
}

static uint32_t backlogged(const struct relay_room *r)
{
    return r->pending - r->recent;
}

/* Puts pending member m's cursor into chunk c (it must not be in a chunk now). */
static void reader_enter(struct relay_room *r, relay_member *m, struct relay_chunk *c,
                         uint32_t off)
{
    lws_dll2_add_tail(&m->queue_node, &c->readers);
    m->chunk = c;
    m->off = off;
    if (is_recent(r, c))
        r->recent++;
}

/* Takes pending member m's cursor out of its chunk. */
static void reader_leave(struct relay_room *r, relay_member *m)
{
    lws_dll2_remove(&m->queue_node);
    if (is_recent(r, m->chunk))
        r->recent--;
    m->chunk = NULL;
}

/*
 * Appends a record for an envelope of len bytes and returns where to write the
 * envelope, or NULL if out of memory. *c and *off locate the record for routing.
 */
static uint8_t *log_append_gen(relay_rooms *rs, struct relay_room *r, size_t len,
                               uint64_t from, uint64_t to, uint32_t gen, struct relay_chunk **c,
                               uint32_t *off)
{
    size_t need = rec_size(len);

    if (log_ensure(rs, r, need))
        return NULL;
    struct relay_chunk *h = r->head;
    struct rec *rec = (struct rec *)chunk_at(h, h->used);
    rec->len = (uint32_t)len;
    rec->gen = gen;
    rec->from = from;
    rec->to = to;
    *c = h;
    *off = h->used;
    h->used += (uint32_t)need;
    r->end += need;
    advance_lag_edge(rs, r);
    return (uint8_t *)(rec + 1);
}

static uint8_t *log_append(relay_rooms *rs, struct relay_room *r, size_t len, uint64_t from,
                           uint64_t to, struct relay_chunk **c, uint32_t *off)
{
    return log_append_gen(rs, r, len, from, to, UINT32_MAX, c, off);
}

static void make_pending(relay_rooms *rs, struct relay_room *r, relay_member *m,
                         struct relay_chunk *c, uint32_t off)
{
    lws_dll2_remove(&m->queue_node); /* from idle */
    reader_enter(r, m, c, off);
    m->pending = 1;
    r->pending++;
    rs->ops.wake(m, rs->ops.arg);
}

/* Wakes the recipients of the record at c/off: `to` alone, or every idle member but `from`. */
static void route(relay_rooms *rs, struct relay_room *r, struct relay_chunk *c, uint32_t off,
                  uint64_t from, relay_member *to)
{
    if (to) {
        if (!to->pending)
            make_pending(rs, r, to, c, off);
        return;
    }
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&r->idle)) {
        relay_member *m = lws_container_of(d, relay_member, queue_node);
        if (m->id != from)
            make_pending(rs, r, m, c, off);
    } lws_end_foreach_dll_safe(d, d1);
}

/* Resumes the throttled senders once at most a quarter of the room lags. */
static void maybe_unthrottle(relay_rooms *rs, struct relay_room *r)
{
    struct lws_dll2 *d;

    if (!r->throttled.count || 4 * backlogged(r) > r->local)
        return;
    while ((d = lws_dll2_get_head(&r->throttled))) {
        relay_member *m = lws_container_of(d, relay_member, throttle_node);
        lws_dll2_remove(d);
        m->throttled = 0;
        rs->ops.throttle(m, 0, rs->ops.arg);
    }
}

/* Pauses m's input if more than half of its room is backlogged. */
static void maybe_throttle(relay_rooms *rs, struct relay_room *r, relay_member *m)
{
    if (m->room != r || m->throttled || 2 * backlogged(r) <= r->local)
        return;
    m->throttled = 1;
    lws_dll2_add_tail(&m->throttle_node, &r->throttled);
    rs->st.throttled++;
    rs->ops.throttle(m, 1, rs->ops.arg);
}

static void detach(relay_rooms *rs, struct relay_room *r, relay_member *m)
{
    if (m->remote) {
        lws_dll2_remove(&m->room_node);
        relay_map_remove(&rs->ids, &m->id_node);
        m->room = NULL;
        rs->st.remote--;
        return;
    }
    r->local--;
    if (m->throttled) {
        m->throttled = 0;
        lws_dll2_remove(&m->throttle_node);
    }
    if (m->pending) {
        reader_leave(r, m);
        m->pending = 0;
        r->pending--;
    } else {
        lws_dll2_remove(&m->queue_node); /* from idle */
    }
    lws_dll2_remove(&m->room_node);
    relay_map_remove(&rs->ids, &m->id_node);
    m->room = NULL;
    rs->st.members--;
}

static void cut_all(relay_rooms *rs, struct relay_room *r);

/* Tells the remaining members that `id` left. */
static void announce_left(relay_rooms *rs, struct relay_room *r, uint64_t id)
{
    struct relay_chunk *c;
    uint32_t off;

    if (!r->local)
        return;
    uint8_t *p = log_append(rs, r, SC_ENV_HEADER_BYTES + 8, id, 0, &c, &off);
    if (!p) {
        /* Members must never miss a LEFT: rather disconnect them all (they reconnect). */
        cut_all(rs, r);
        return;
    }
    sc_env_encode_left(p, SC_ENV_HEADER_BYTES + 8, id);
    route(rs, r, c, off, id, NULL);
}

static void bus_left(relay_rooms *rs, struct relay_room *r, uint64_t id)
{
    if (rs->has_bus)
        rs->bus.left(r, id, rs->bus.arg);
}

static void cut_member(relay_rooms *rs, struct relay_room *r, relay_member *m)
{
    uint64_t id = m->id;

    detach(rs, r, m);
    rs->st.cut++;
    bus_left(rs, r, id);
    rs->ops.cut(m, rs->ops.arg);
}

/* Takes m out (welcomed or waiting) and reports it through ops.lost. */
static void lose_member(relay_rooms *rs, struct relay_room *r, relay_member *m, int why)
{
    uint64_t id = m->id;

    if (m->waiting) {
        lws_dll2_remove(&m->queue_node);
        m->waiting = 0;
        m->room = NULL;
        rs->st.members--;
    } else {
        detach(rs, r, m);
        bus_left(rs, r, id);
    }
    if (rs->ops.lost)
        rs->ops.lost(m, why, rs->ops.arg);
    else
        rs->ops.cut(m, rs->ops.arg);
}

/* Cuts every local member (the remote ones stay until the room is freed). */
static void cut_all(relay_rooms *rs, struct relay_room *r)
{
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&r->members)) {
        relay_member *m = lws_container_of(d, relay_member, room_node);
        if (!m->remote)
            cut_member(rs, r, m);
    } lws_end_foreach_dll_safe(d, d1);
    free_tail(rs, r);
}

/* Cuts the members still reading the oldest chunk while the log is over its bound. */
static void enforce_bound(relay_rooms *rs, struct relay_room *r)
{
    while (r->tail && r->tail != r->head && r->end - r->tail->base > rs->lim.max_queue) {
        struct lws_dll2 *d;
        while ((d = lws_dll2_get_head(&r->tail->readers))) {
            relay_member *m = lws_container_of(d, relay_member, queue_node);
            uint64_t id = m->id;
            cut_member(rs, r, m);
            announce_left(rs, r, id);
            if (!r->tail)
                return; /* announce_left had to cut everyone */
        }
        free_tail(rs, r);
    }
}

/* Frees r once no local member is left (welcomed or waiting). */
static void maybe_free_room(relay_rooms *rs, struct relay_room *r)
{
    struct lws_dll2 *d;

    if (r->local || r->waiting.count)
        return;
    while ((d = lws_dll2_get_head(&r->members)))
        detach(rs, r, lws_container_of(d, relay_member, room_node)); /* remote ones */
    if (rs->has_bus)
        rs->bus.close(r, rs->bus.arg);
    free_room(rs, r);
}

/*
 * Welcomes m (not in a room's lists) into r: id, generation, WELCOME listing the
 * members present, JOINED for the local ones, the bus told. Returns 0,
 * RELAY_ROOM_E_FULL, RELAY_ROOM_E_IDS or RELAY_ROOM_E_NOMEM (m unchanged, r kept).
 */
static int welcome(relay_rooms *rs, struct relay_room *r, relay_member *m)
{
    struct relay_chunk *c;
    uint32_t off;

    if (rs->counter == UINT32_MAX || r->gen == UINT32_MAX - 1)
        return RELAY_ROOM_E_IDS;
    uint32_t n_members = r->members.count;
    if (n_members >= rs->lim.max_members)
        return RELAY_ROOM_E_FULL;
    if (n_members > rs->tmp_cap) {
        uint64_t *t = realloc(rs->tmp, n_members * sizeof *t);
        if (!t)
            return RELAY_ROOM_E_NOMEM;
        rs->tmp = t;
        rs->tmp_cap = n_members;
    }
    size_t wlen = sc_env_welcome_size(n_members);
    size_t jlen = SC_ENV_HEADER_BYTES + 8;
    /* WELCOME and JOINED go into one chunk so that neither can fail alone. */
    if (log_ensure(rs, r, rec_size(wlen) + rec_size(jlen)))
        return RELAY_ROOM_E_NOMEM;

    uint32_t i = 0;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&r->members)) {
        rs->tmp[i++] = lws_container_of(d, relay_member, room_node)->id;
    } lws_end_foreach_dll(d);

    uint64_t mid = rs->instance | ++rs->counter;
    uint8_t *p = log_append(rs, r, wlen, 0, mid, &c, &off);
    sc_env_encode_welcome(p, wlen, mid, rs->lim.max_payload, rs->tmp, n_members);

    memset(m, 0, sizeof *m);
    m->id = mid;
    m->room = r;
    m->gen = ++r->gen;
    lws_dll2_add_tail(&m->room_node, &r->members);
    relay_map_insert(&rs->ids, &m->id_node, id_hash(mid));
    r->local++;
    make_pending(rs, r, m, c, off);

    if (r->local > 1) {
        p = log_append(rs, r, jlen, mid, 0, &c, &off);
        sc_env_encode_joined(p, jlen, mid);
        route(rs, r, c, off, mid, NULL);
    }
    if (rs->has_bus)
        rs->bus.joined(r, mid, m->gen, rs->bus.arg);
    return 0;
}

int relay_room_join(relay_rooms *rs, const char *id, size_t len, relay_member *m)
{
    struct name_key key = {id, len};
    struct relay_room *r;

    if (!relay_room_id_valid(id, len) || m->room)
        return RELAY_ROOM_E_INVALID;
    if (rs->counter == UINT32_MAX)
        return RELAY_ROOM_E_IDS;
    uint64_t h = name_hash(rs, id, len);
    relay_map_node *n = relay_map_find(&rs->names, h, name_eq, &key);
    if (n) {
        r = lws_container_of(n, struct relay_room, node);
    } else {
        r = calloc(1, sizeof *r + len + 1);
        if (!r)
            return RELAY_ROOM_E_NOMEM;
        memcpy(r->id, id, len);
        r->id_len = (uint32_t)len;
        relay_map_insert(&rs->names, &r->node, h);
        rs->st.rooms++;
        int hold = rs->has_bus ? rs->bus.open(r, rs->bus.arg) : 0;
        if (hold < 0) {
            free_room(rs, r);
            return RELAY_ROOM_E_NOMEM;
        }
        r->held = (uint8_t)hold;
    }

    if (r->held) {
        if (r->members.count + r->waiting.count >= rs->lim.max_members) {
            maybe_free_room(rs, r);
            return RELAY_ROOM_E_FULL;
        }
        memset(m, 0, sizeof *m);
        m->room = r;
        m->waiting = 1;
        lws_dll2_add_tail(&m->queue_node, &r->waiting);
        rs->st.members++;
        return RELAY_ROOM_HELD;
    }
    int rc = welcome(rs, r, m);
    if (rc) {
        maybe_free_room(rs, r);
        return rc;
    }
    rs->st.members++;
    enforce_bound(rs, r);
    maybe_unthrottle(rs, r);
    return 0;
}

void relay_room_release(relay_rooms *rs, struct relay_room *r)
{
    struct lws_dll2 *d;

    r->held = 0;
    while ((d = lws_dll2_get_head(&r->waiting))) {
        relay_member *m = lws_container_of(d, relay_member, queue_node);
        lws_dll2_remove(d);
        m->waiting = 0;
        int rc = welcome(rs, r, m);
        if (rc) {
            m->room = NULL;
            rs->st.members--;
            int why = rc == RELAY_ROOM_E_NOMEM ? RELAY_ROOM_LOST_NOMEM : RELAY_ROOM_LOST_FULL;
            if (rs->ops.lost)
                rs->ops.lost(m, why, rs->ops.arg);
            else
                rs->ops.cut(m, rs->ops.arg);
            continue;
        }
        rs->ops.throttle(m, 0, rs->ops.arg);
    }
    enforce_bound(rs, r);
    maybe_unthrottle(rs, r);
    maybe_free_room(rs, r);
}

void relay_room_leave(relay_rooms *rs, relay_member *m)
{
    struct relay_room *r = m->room;

    if (!r)
        return;
    if (m->waiting) {
        lws_dll2_remove(&m->queue_node);
        m->waiting = 0;
        m->room = NULL;
        rs->st.members--;
        maybe_free_room(rs, r);
        return;
    }
    detach(rs, r, m);
    free_tail(rs, r);
    announce_left(rs, r, m->id);
    bus_left(rs, r, m->id);
    enforce_bound(rs, r);
    maybe_unthrottle(rs, r);
    maybe_free_room(rs, r);
}

static int send_data(relay_rooms *rs, relay_member *m, relay_member *to, const uint8_t *payload,
                     size_t len)
{
    struct relay_room *r = m->room;
    struct relay_chunk *c;
    uint32_t off;

    if (!r || m->waiting)
        return RELAY_ROOM_E_NOT_IN;
    if (!len || len > rs->lim.max_payload)
        return RELAY_ROOM_E_INVALID;
    if (rs->has_bus && (!to || to->remote)) {
        rs->bus.data(r, m->id, to ? to->id : 0, payload, len, rs->bus.arg);
        if (to)
            return 0; /* it travels on the bus only */
    }
    if (!to && r->local < 2)
        return 0; /* accepted; nobody else here to deliver it to */
    size_t elen = SC_ENV_DATA_OVERHEAD + len;
    uint8_t *p = log_append(rs, r, elen, m->id, to ? to->id : 0, &c, &off);
    if (!p)
        return RELAY_ROOM_E_NOMEM;
    sc_env_write_data_header(p, m->id, to ? SC_ENV_MODE_UNICAST : SC_ENV_MODE_BROADCAST, len);
    memcpy(p + SC_ENV_DATA_OVERHEAD, payload, len);
    route(rs, r, c, off, m->id, to);
    enforce_bound(rs, r);
    maybe_unthrottle(rs, r);
    maybe_throttle(rs, r, m);
    maybe_free_room(rs, r);
    return 0;
}

int relay_room_send_all(relay_rooms *rs, relay_member *m, const uint8_t *payload, size_t len)
{
    return send_data(rs, m, NULL, payload, len);
}

int relay_room_send_to(relay_rooms *rs, relay_member *m, uint64_t to, const uint8_t *payload,
                       size_t len)
{
    if (!m->room || m->waiting)
        return RELAY_ROOM_E_NOT_IN;
    relay_member *t = relay_rooms_member(rs, to);
    if (!t || t->room != m->room)
        return RELAY_ROOM_E_NO_MEMBER;
    return send_data(rs, m, t, payload, len);
}

int relay_room_sync(relay_rooms *rs, relay_member *m, uint64_t token)
{
    uint8_t env[SC_ENV_HEADER_BYTES + 8];

    if (!m->room || m->waiting)
        return RELAY_ROOM_E_NOT_IN;
    if (rs->has_bus) {
        rs->bus.sync(m->room, m->id, token, rs->bus.arg);
        return 0;
    }
    size_t n = sc_env_encode_synced(env, sizeof env, token);
    return relay_room_reply(rs, m, env, n);
}

int relay_room_reply_to(relay_rooms *rs, uint64_t id, const uint8_t *env, size_t len)
{
    relay_member *m = relay_rooms_member(rs, id);

    if (!m || m->remote || !m->room)
        return RELAY_ROOM_E_NO_MEMBER;
    return relay_room_reply(rs, m, env, len);
}

int relay_room_add_remote(relay_rooms *rs, struct relay_room *r, relay_member *m, uint64_t id)
{
    struct relay_chunk *c;
    uint32_t off;

    if (!id || relay_rooms_member(rs, id))
        return RELAY_ROOM_E_INVALID;
    if (r->local) {
        uint8_t *p = log_append(rs, r, SC_ENV_HEADER_BYTES + 8, id, 0, &c, &off);
        if (!p)
            return RELAY_ROOM_E_NOMEM;
        sc_env_encode_joined(p, SC_ENV_HEADER_BYTES + 8, id);
        route(rs, r, c, off, id, NULL);
    }
    memset(m, 0, sizeof *m);
    m->id = id;
    m->room = r;
    m->remote = 1;
    lws_dll2_add_tail(&m->room_node, &r->members);
    relay_map_insert(&rs->ids, &m->id_node, id_hash(id));
    rs->st.remote++;
    enforce_bound(rs, r);
    return 0;
}

void relay_room_remove_remote(relay_rooms *rs, relay_member *m)
{
    struct relay_room *r = m->room;

    if (!r || !m->remote)
        return;
    detach(rs, r, m);
    announce_left(rs, r, m->id);
    enforce_bound(rs, r);
    maybe_unthrottle(rs, r);
}

int relay_room_deliver(relay_rooms *rs, relay_member *from, uint64_t to, uint32_t gen,
                       const uint8_t *payload, size_t len)
{
    struct relay_room *r = from->room;
    relay_member *t = NULL;
    struct relay_chunk *c;
    uint32_t off;

    if (!r || !from->remote || !len || len > rs->lim.max_payload)
        return RELAY_ROOM_E_INVALID;
    if (to) {
        t = relay_rooms_member(rs, to);
        if (!t || t->room != r || t->remote || t->gen > gen)
            return RELAY_ROOM_E_NO_MEMBER;
    } else if (!r->local) {
        return 0;
    }
    size_t elen = SC_ENV_DATA_OVERHEAD + len;
    uint8_t *p = log_append_gen(rs, r, elen, from->id, to, gen, &c, &off);
    if (!p)
        return RELAY_ROOM_E_NOMEM;
    sc_env_write_data_header(p, from->id, t ? SC_ENV_MODE_UNICAST : SC_ENV_MODE_BROADCAST, len);
    memcpy(p + SC_ENV_DATA_OVERHEAD, payload, len);
    route(rs, r, c, off, from->id, t);
    enforce_bound(rs, r);
    maybe_unthrottle(rs, r);
    return 0;
}

void relay_room_lose(relay_rooms *rs, struct relay_room *r, int why)
{
    struct lws_dll2 *d;

    r->held = 0;
    while ((d = lws_dll2_get_head(&r->waiting)))
        lose_member(rs, r, lws_container_of(d, relay_member, queue_node), why);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d1, d2, lws_dll2_get_head(&r->members)) {
        relay_member *m = lws_container_of(d1, relay_member, room_node);
        if (!m->remote)
            lose_member(rs, r, m, why);
    } lws_end_foreach_dll_safe(d1, d2);
    maybe_free_room(rs, r);
}

int relay_room_reply(relay_rooms *rs, relay_member *m, const uint8_t *env, size_t len)
{
    struct relay_room *r = m->room;
    struct relay_chunk *c;
    uint32_t off;

    if (!r || m->waiting)
        return RELAY_ROOM_E_NOT_IN;
    if (!len || len > rs->max_env)
        return RELAY_ROOM_E_INVALID;
    uint8_t *p = log_append(rs, r, len, 0, m->id, &c, &off);
    if (!p)
        return RELAY_ROOM_E_NOMEM;
    memcpy(p, env, len);
    route(rs, r, c, off, 0, m);
    enforce_bound(rs, r);
    maybe_unthrottle(rs, r);
    maybe_free_room(rs, r);
    return 0;
}

/* relay_room_fill's body; gens is a constant at each call, so the copy without a bus
 * carries no generation check. */
static inline __attribute__((always_inline)) size_t
fill(relay_rooms *rs, relay_member *m, uint8_t *out, size_t cap, uint32_t *n_env, int *more,
     const int gens)
{
    struct relay_room *r = m->room;
    size_t len = 0;
    uint32_t n = 0;

    *n_env = 0;
    *more = 0;
    if (!r || !m->pending)
        return 0;
    struct relay_chunk *c = m->chunk;
    uint32_t off = m->off;
    for (;;) {
        if (off >= c->used) {
            if (c == r->head)
                break;
            struct relay_chunk *next = c->next;
            reader_leave(r, m);
            reader_enter(r, m, next, 0);
            if (c == r->tail)
                free_tail(rs, r);
            c = next;
            off = 0;
            continue;
        }
        const struct rec *h = (const struct rec *)chunk_at(c, off);
        if ((h->to == m->id || (!h->to && h->from != m->id)) && (!gens || m->gen <= h->gen)) {
            /* cap >= max_env, so the first envelope always fits */
            if (len + h->len > cap) {
                m->off = off;
                *n_env = n;
                *more = 1;
                maybe_unthrottle(rs, r);
                return len;
            }
            memcpy(out + len, h + 1, h->len);
            len += h->len;
            n++;
        }
        off += (uint32_t)rec_size(h->len);
    }
    /* caught up */
    reader_leave(r, m);
    lws_dll2_add_tail(&m->queue_node, &r->idle);
    m->pending = 0;
    r->pending--;
    free_tail(rs, r);
    maybe_unthrottle(rs, r);
    *n_env = n;
    return len;
}

size_t relay_room_fill(relay_rooms *rs, relay_member *m, uint8_t *out, size_t cap,
                       uint32_t *n_env, int *more)
{
    if (rs->has_bus)
        return fill(rs, m, out, cap, n_env, more, 1);
    return fill(rs, m, out, cap, n_env, more, 0);
}
