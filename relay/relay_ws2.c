#include "relay_ws2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#include "relay_bucket.h"
#include "relay_ds.h"
#include "relay_keepalive.h"
#include "relay_log.h"
#include "relay_map.h"
#include "relay_rawrx.h"
#include "relay_server.h"
#include "relay_store.h"
#include "relay_v2c.h"
#include "relay_wsguard.h"
#include "sc2_envelope.h"
#include "sc2_loghash.h"

/* Replies (ACCEPTED, REJECTED, ...) queued for a connection: past this its input is paused
 * until the queue is below a quarter of it. */
#define OUT_PAUSE (64u * 1024u)
/* Entries read from the store per write. */
#define READ_ENTRIES 1024u
/* The v2 batch buffer: any stored entry fits (with its LOG header); bigger GroupInfo
 * boxes are written alone from a buffer of their own. A batch stops at RELAY_BATCH_BYTES
 * unless its first entry is bigger, so lws holds at most that much for a full socket. */
#define V2_BATCH (RELAY_STORE_ENTRY_MAX + 1024u)
/* The close reason under --cluster when the broker has no JetStream. */
#define NO_JS_TEXT "the cluster's broker has no JetStream (nats-server -js): v2 rooms cannot be shared"

enum s2_state {
    T_NEW = 0, /* lws zeroes the session: before ESTABLISHED */
    T_OPEN,
    T_DRAIN,   /* shutting down: deliver the queued replies, then ERROR SHUTDOWN */
    T_CLOSING, /* send queued replies and the ERROR (if any), then close */
    T_CLOSED   /* close under way: write nothing more */
};

enum s2_mode {
    M_NONE = 0, /* no RESUME (yet): replies only */
    M_CHECK,    /* RESUME received: checked against the durable log at the next write */
    M_CATCHUP,  /* sending the log up to the durable head, then LIVE */
    M_LIVE      /* caught up: every new durable entry as it comes */
};

/* A SUBMIT under --cluster, copied: queued for its room's next round, then in flight to
 * JetStream (relay_v2c_append) until the ack. */
typedef struct csub {
    struct csub *next;
    struct s2 *s;      /* NULL once its connection closed */
    struct slot *sl;   /* where its ACCEPTED or REJECTED goes in s's replies */
    uint64_t token;
    uint8_t *buf;      /* mls || gi (one allocation) */
    size_t mls_len, gi_len;
    int has_gi, has_pk;
    uint8_t pk[RELAY_STORE_PK_BYTES];
    uint8_t *body;     /* in flight: the JetStream entry */
    size_t body_len;
    unsigned flags;
    uint64_t time_ms;
    uint64_t seq;      /* in the log: its seq (ACCEPTED once the replica has it) */
} csub;

struct v2room {
    relay_map_node node;
    uint8_t id[RELAY_DS_ROOM_BYTES];
    lws_dll2_owner_t sessions;
    /* --cluster (relay_v2c) */
    void *cw;          /* the watch feeding this relay's replica of the room */
    uint8_t opening;   /* relay_v2c_open under way */
    uint8_t ready;     /* the room exists in the cluster and the replica is fed */
    uint8_t creating;  /* relay_v2c_create under way for creator */
    uint8_t inflight;  /* a batch is being appended */
    uint8_t broken;    /* the replica cannot follow the log (a gap or a bad hash) */
    uint8_t resync;    /* a gap sent the room back to the record's snapshot once */
    struct s2 *creator;
    csub *q, **q_tail; /* SUBMITs waiting for the next round */
    csub *fl;          /* the batch in flight, in order */
    csub *acks, **acks_tail; /* in the log, ACCEPTED once the replica has them: a RESUME
                                after ACCEPTED must find the entry (docs/PROTOCOL.md 5) */
    uint64_t expect_last; /* of the batch in flight */
    uint64_t wait_head;   /* no round before the replica has this seq */
    uint64_t sync_seq;    /* the log's last seq when the watch started: RESUME and GET_GI
                             are answered once the replica has it (else a replica that is
                             behind says SEQ_AHEAD to a member that read further elsewhere) */
    lws_dll2_t round_node; /* v2->rounds: has SUBMITs queued */
};

/* A reply waiting for the verdict of an earlier SUBMIT that is being made durable: replies
 * go out in the order of their requests (docs/PROTOCOL.md 5). */
typedef struct slot {
    struct slot *next;
    uint64_t hold; /* --cluster: in flight after seq hold - 1: LOG stops there until ready */
    uint8_t ready;
    uint8_t len;
    uint8_t env[SC2_ENV_HEADER_BYTES + 2 + SC2_ENV_MAX_REASON];
} slot;

struct s2 {
    struct lws *wsi;
    lws_dll2_t node;      /* v2->sessions */
    lws_dll2_t room_node; /* room->sessions */
    lws_dll2_t wake_node; /* v2->wake: write at the next turn */
    relay_ka_entry ka;
    relay_bucket bucket;
    struct v2room *room;
    uint8_t nonce[RELAY_DS_NONCE_BYTES];
    uint8_t key[RELAY_STORE_PK_BYTES]; /* the join_pk it authenticated with */
    uint8_t authed, resumed, mode, gi_due, ping_due;
    uint8_t held; /* its key is an earlier one, it read up to the replacing commit, and
                     was sent ERROR OLD_KEY for it: nothing more until an AUTH */
    uint8_t state, reason, peer_closed, rx_paused;
    uint8_t waiting;      /* --cluster: CHALLENGE once the room's log is open */
    uint8_t create_wait;  /* --cluster: input paused until the cluster took its CREATE */
    uint16_t close_code, err_code;
    const char *err_text; /* static, printable ASCII */
    uint64_t cursor;      /* last seq written to it (M_CATCHUP, M_LIVE); RESUME's after_seq */
    uint8_t *out;         /* queued reply envelopes */
    uint32_t out_len, out_cap, out_envs;
    uint8_t *frag;        /* message being reassembled */
    uint32_t frag_len, frag_cap;
    slot *slots;          /* replies behind a SUBMIT not yet durable; NULL: none */
    slot **slots_tail;
};

/* A staged write waiting for the store's flush, in staging order. */
typedef struct pend {
    struct pend *next;
    struct s2 *s; /* NULL once its connection closed */
    slot *sl;     /* SUBMIT: where its ACCEPTED goes in s's replies */
    uint64_t tag, token;
    int create;
} pend;

struct relay_v2 {
    relay_map rooms;
    uint8_t hkey[crypto_shorthash_KEYBYTES];
    lws_dll2_owner_t sessions;
    lws_dll2_owner_t wake;
    lws_dll2_owner_t rounds; /* --cluster: rooms with SUBMITs queued */
    lws_sorted_usec_list_t turn_sul;
    relay_keepalive ka;
    pend *pend_head, **pend_tail;
    uint64_t next_tag;
    uint8_t *batch; /* LWS_PRE + V2_BATCH */
    uint8_t *gi;    /* RELAY_STORE_GI_MAX: a GroupInfo read from the store (on first use) */
    struct v2room *last_room; /* done callback: the room of the previous entry */
    /* The last run of LOG envelopes read from the store (as for an empty batch): the live
     * readers of a room ask for the same entries in the same turn, and each gets the prefix
     * that fits its batch copied instead of one SQLite read each. Dropped by every flush
     * (new entries, retention) and with its room. */
    struct {
        struct v2room *room;
        uint64_t from, durable_head, oldest_seq;
        uint32_t envs; /* entries in buf */
        int stopped, valid;
        uint8_t *buf;  /* V2_BATCH */
        uint32_t end[READ_ENTRIES]; /* end offset of each entry in buf */
        uint64_t seq[READ_ENTRIES];
    } rd;
    struct relay *r;
};

static struct relay_v2 *V(struct relay *r)
{
    return r->v2;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Entries carry wall-clock time (clients show it; retention by age compares it). */
static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

size_t relay_ws2_session_size(void)
{
    return sizeof(struct s2);
}

size_t relay_ws2_sessions(const struct relay *r)
{
    return r->v2 ? r->v2->sessions.count : 0;
}

/* ---- rooms ---- */

static uint64_t room_hash(struct relay_v2 *v, const uint8_t *id)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t x = 0;
    crypto_shorthash(h, id, RELAY_DS_ROOM_BYTES, v->hkey);
    memcpy(&x, h, sizeof x);
    return x;
}

static int room_eq(const relay_map_node *n, const void *key)
{
    const struct v2room *rm = lws_container_of(n, struct v2room, node);
    return !memcmp(rm->id, key, RELAY_DS_ROOM_BYTES);
}

static struct v2room *room_find(struct relay_v2 *v, const uint8_t *id)
{
    relay_map_node *n = relay_map_find(&v->rooms, room_hash(v, id), room_eq, id);
    return n ? lws_container_of(n, struct v2room, node) : NULL;
}

static struct v2room *room_get(struct relay_v2 *v, const uint8_t *id)
{
    struct v2room *rm = room_find(v, id);
    if (rm)
        return rm;
    rm = calloc(1, sizeof *rm);
    if (!rm)
        return NULL;
    memcpy(rm->id, id, RELAY_DS_ROOM_BYTES);
    relay_map_insert(&v->rooms, &rm->node, room_hash(v, id));
    return rm;
}

static void csub_free(csub *c)
{
    if (c) {
        free(c->buf);
        free(c->body);
        free(c);
    }
}

static void room_unref(struct relay_v2 *v, struct v2room *rm)
{
    if (rm && !rm->sessions.count) {
        if (rm->opening || rm->creating || rm->inflight)
            return; /* freed when the broker's answer comes */
        if (rm->cw)
            relay_v2c_unwatch(v->r->v2c, rm->cw);
        while (rm->q) {
            csub *c = rm->q;
            rm->q = c->next;
            csub_free(c);
        }
        while (rm->acks) {
            csub *c = rm->acks;
            rm->acks = c->next;
            csub_free(c);
        }
        lws_dll2_remove(&rm->round_node);
        if (v->last_room == rm)
            v->last_room = NULL;
        if (v->rd.room == rm)
            v->rd.valid = 0, v->rd.room = NULL;
        relay_map_remove(&v->rooms, &rm->node);
        free(rm);
    }
}

/* ---- the turn: one store transaction, then the writes ---- */

static void turn_cb(lws_sorted_usec_list_t *sul);
static void run_rounds(struct relay *r);
static void c_acks(struct relay *r, struct v2room *rm);
static void send_challenge(struct relay *r, struct s2 *s);

static void schedule_turn(struct relay *r)
{
    struct relay_v2 *v = V(r);
    if (!lws_dll2_is_detached(&v->turn_sul.list))
        return;
    lws_sul_schedule(r->ctx, 0, &v->turn_sul, turn_cb, 0);
}

static void wake(struct relay *r, struct s2 *s)
{
    struct relay_v2 *v = V(r);
    if (s->state == T_NEW || s->state == T_CLOSED)
        return;
    if (lws_dll2_is_detached(&s->wake_node))
        lws_dll2_add_tail(&s->wake_node, &v->wake);
    schedule_turn(r);
}

static void close_politely(struct s2 *s)
{
    const char *why = s->err_text ? s->err_text : "";
    lws_close_reason(s->wsi, (enum lws_close_status)s->close_code, (unsigned char *)why,
                     strlen(why));
    lws_rx_flow_control(s->wsi, 1); /* to read the peer's closing handshake */
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, LWS_TO_KILL_ASYNC);
}

static void drop_fragment(struct s2 *s)
{
    free(s->frag);
    s->frag = NULL;
    s->frag_len = s->frag_cap = 0;
}

/* Arranges for the queued replies, then ERROR (err_code, text; none if 0) and a close
 * with code, to be written at the next writeable callback. Input is ignored from now. */
static void fail(struct relay *r, struct s2 *s, enum relay_close_reason reason, uint16_t code,
                 uint16_t err_code, const char *text)
{
    if (s->state == T_CLOSING || s->state == T_CLOSED || s->state == T_NEW)
        return;
    drop_fragment(s);
    s->state = T_CLOSING;
    s->reason = (uint8_t)reason;
    s->close_code = code;
    s->err_code = err_code;
    s->err_text = text;
    s->mode = M_NONE;
    s->gi_due = 0;
    lws_callback_on_writable(s->wsi);
    /* lws 4.1.6 loses a writeable request made inside ESTABLISHED: the turn asks again */
    wake(r, s);
    relay_log(RELAY_LOG_INFO, "v2 connection: closing %u (%s: %s)", code,
              err_code ? sc2_code_name(err_code) : "protocol", text);
}

/* Queues one reply envelope (made by an sc2_env_encode_* into a small buffer). */
static int queue(struct relay *r, struct s2 *s, const uint8_t *env, size_t n)
{
    if (!n)
        return -1;
    if ((size_t)s->out_len + n > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : 256;
        while (cap < (size_t)s->out_len + n)
            cap *= 2;
        uint8_t *p = realloc(s->out, cap);
        if (!p) {
            fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_RELAY_FULL,
                 "relay out of memory; reconnect later");
            return -1;
        }
        s->out = p;
        s->out_cap = (uint32_t)cap;
    }
    memcpy(s->out + s->out_len, env, n);
    s->out_len += (uint32_t)n;
    s->out_envs++;
    if (s->out_len > OUT_PAUSE && !s->rx_paused && s->state == T_OPEN) {
        s->rx_paused = 1;
        lws_rx_flow_control(s->wsi, 0);
    }
    wake(r, s);
    return 0;
}

static slot *slot_push(struct relay *r, struct s2 *s)
{
    slot *sl = calloc(1, sizeof *sl);
    if (!sl) {
        fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_RELAY_FULL,
             "relay out of memory; reconnect later");
        return NULL;
    }
    if (!s->slots)
        s->slots_tail = &s->slots;
    *s->slots_tail = sl;
    s->slots_tail = &sl->next;
    return sl;
}

/* Moves the replies at the head of s's slots that are ready to the output. */
static void slots_release(struct relay *r, struct s2 *s)
{
    while (s->slots && s->slots->ready) {
        slot *sl = s->slots;
        s->slots = sl->next;
        if (sl->len)
            queue(r, s, sl->env, sl->len);
        free(sl);
    }
}

static void slots_free(struct s2 *s)
{
    while (s->slots) {
        slot *sl = s->slots;
        s->slots = sl->next;
        free(sl);
    }
}

/* A reply env[0..n) (n <= sizeof slot.env): at once, or behind the SUBMITs not yet
 * answered. */
static void reply(struct relay *r, struct s2 *s, const uint8_t *env, size_t n)
{
    if (!s->slots) {
        queue(r, s, env, n);
        return;
    }
    slot *sl = slot_push(r, s);
    if (!sl || !n || n > sizeof sl->env)
        return;
    memcpy(sl->env, env, n);
    sl->len = (uint8_t)n;
    sl->ready = 1;
}

static void reply_rejected(struct relay *r, struct s2 *s, uint64_t token, uint16_t code,
                           uint64_t epoch)
{
    uint8_t b[SC2_ENV_HEADER_BYTES + 18];
    if (code == SC2_C_STALE_EPOCH)
        r->metrics.v2.rejected_stale++;
    else
        r->metrics.v2.rejected_other++;
    reply(r, s, b, sc2_env_encode_rejected(b, sizeof b, token, code, epoch));
}

/* ---- flush ---- */

static void pend_push(struct relay_v2 *v, pend *p)
{
    p->next = NULL;
    *v->pend_tail = p;
    v->pend_tail = &p->next;
}

/* The store reports each staged write, in staging order, once the transaction is done. */
static void on_done(void *ctx, uint64_t tag, const uint8_t *room_id, size_t room_len,
                    uint64_t seq, relay_store_err err)
{
    struct relay *r = ctx;
    struct relay_v2 *v = V(r);
    pend *p = v->pend_head;

    if (!p || p->tag != tag) { /* cannot happen: flush reports in staging order */
        relay_log(RELAY_LOG_ERROR, "v2: the store reported a write it was not given");
        return;
    }
    v->pend_head = p->next;
    if (!v->pend_head)
        v->pend_tail = &v->pend_head;
    struct s2 *s = p->s;
    if (s && s->state != T_OPEN && s->state != T_DRAIN)
        s = NULL;
    if (err != RELAY_STORE_OK) {
        if (s)
            fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE,
                 "relay storage failed: nothing was stored; retry later");
    } else if (s && !p->create) {
        r->metrics.v2.accepted++;
        if (p->sl) {
            p->sl->len = (uint8_t)sc2_env_encode_accepted(p->sl->env, sizeof p->sl->env,
                                                          p->token, seq);
            p->sl->ready = 1;
        }
        slots_release(r, s);
    } else if (s) {
        wake(r, s); /* a RESUME or GET_GI may wait for the room to be durable */
    }
    free(p);
    if (err != RELAY_STORE_OK || room_len != RELAY_DS_ROOM_BYTES)
        return;
    /* live fan-out: every connection of the room reads what became durable */
    struct v2room *rm = v->last_room;
    if (!rm || memcmp(rm->id, room_id, RELAY_DS_ROOM_BYTES))
        rm = v->last_room = room_find(v, room_id);
    if (!rm)
        return;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&rm->sessions)) {
        struct s2 *m = lws_container_of(d, struct s2, room_node);
        if (m->mode != M_NONE || m->gi_due)
            wake(r, m);
    } lws_end_foreach_dll(d);
    if (rm->acks)
        c_acks(r, rm);
}

static void flush_store(struct relay *r)
{
    struct relay_v2 *v = V(r);
    relay_store_err e;

    v->last_room = NULL;
    v->rd.valid = 0;
    e = relay_store_flush(r->store, wall_ms(), on_done, r);
    v->last_room = NULL;
    if (e == RELAY_STORE_OK)
        return;
    relay_log(RELAY_LOG_ERROR, "v2 store: %s (%s)", relay_store_errmsg(r->store),
              relay_store_err_name(e));
    if (e == RELAY_STORE_ERR_IO || e == RELAY_STORE_ERR_CORRUPT) {
        /* a failed COMMIT leaves the outcome unknown: stop, a restart shows what is there */
        relay_server_fatal(r, "the v2 store failed; stopping so that a restart can recover it");
    }
}

/* ---- writing ---- */

typedef struct fill {
    uint8_t *buf;
    size_t cap, n;
    uint64_t cursor;
    int stopped;
    uint32_t envs;
} fill;

static int fill_entry(void *ctx, const relay_store_entry *e)
{
    fill *f = ctx;
    uint8_t hdr[SC2_ENV_LOG_HEADER_MAX];
    size_t h = sc2_env_log_header(hdr, e->seq, e->time_ms, (uint8_t)e->flags,
                                  (e->flags & RELAY_STORE_F_JOIN_PK) ? e->join_pk : NULL, e->len);

    if (!h || f->n + h + e->len > f->cap || (f->n && f->n + h + e->len > RELAY_BATCH_BYTES)) {
        f->stopped = 1;
        return 1;
    }
    memcpy(f->buf + f->n, hdr, h);
    memcpy(f->buf + f->n + h, e->body, e->len);
    f->n += h + e->len;
    f->cursor = e->seq;
    f->envs++;
    return 0;
}

/* fill_entry into the read cache (struct relay_v2 rd), keeping each entry's end and seq. */
typedef struct fill_rd_ctx {
    fill f;
    struct relay_v2 *v;
} fill_rd_ctx;

static int fill_rd(void *ctx, const relay_store_entry *e)
{
    fill_rd_ctx *c = ctx;
    uint32_t i = c->f.envs;

    if (i >= READ_ENTRIES) {
        c->f.stopped = 1;
        return 1;
    }
    int rc = fill_entry(&c->f, e);
    if (rc)
        return rc;
    c->v->rd.end[i] = (uint32_t)c->f.n;
    c->v->rd.seq[i] = e->seq;
    return 0;
}

static int put(fill *f, size_t n)
{
    if (!n)
        return -1;
    f->n += n;
    f->envs++;
    return 0;
}

/* Writes one envelope too big for the batch (a GroupInfo) as a message of its own.
 * Returns 0 or -1 if the socket failed (or memory ran out). */
static int write_alone(struct relay *r, struct s2 *s, uint64_t seq, const uint8_t *hash,
                       const uint8_t *box, size_t box_len, size_t n)
{
    uint8_t *out = malloc(LWS_PRE + n);
    int rc = -1;

    if (!out)
        return -1;
    size_t w = sc2_env_encode_gi(out + LWS_PRE, n, seq, hash, box, box_len);
    if (w && lws_write(s->wsi, out + LWS_PRE, w, LWS_WRITE_BINARY) >= (int)w) {
        r->metrics.frames_out++;
        r->metrics.bytes_out += w;
        r->metrics.messages_out++;
        rc = 0;
    }
    free(out);
    return rc;
}

/*
 * Builds one batch for s (queued replies, GI, LOG entries from its cursor, LIVE or GONE)
 * and writes it. *more: there is more to write. Returns 0, or -1 if the socket failed.
 */
static int write_session(struct relay *r, struct s2 *s, int *more)
{
    struct relay_v2 *v = V(r);
    fill f = {v->batch + LWS_PRE, V2_BATCH, 0, 0, 0, 0};
    relay_store_meta m;
    uint8_t tmp[SC2_ENV_HEADER_BYTES + 2 + SC2_ENV_MAX_REASON];

    *more = 0;
    /* replies first: ACCEPTED precedes the LOG of the same entry */
    if (s->out_len) {
        size_t k = s->out_len < f.cap ? s->out_len : f.cap;
        memcpy(f.buf, s->out, k);
        f.n = k;
        memmove(s->out, s->out + k, s->out_len - k);
        s->out_len -= (uint32_t)k;
        f.envs += s->out_len ? 1 : s->out_envs; /* a partial copy (never in practice): 1 */
        s->out_envs = s->out_len ? s->out_envs - 1 : 0;
        if (s->out_len)
            *more = 1;
        if (s->rx_paused && s->out_len < OUT_PAUSE / 4 && s->state == T_OPEN &&
            !s->create_wait) {
            s->rx_paused = 0;
            lws_rx_flow_control(s->wsi, 1);
        }
    }
    if (s->state != T_OPEN)
        goto write;
    if (relay_store_meta_get(r->store, s->room->id, RELAY_DS_ROOM_BYTES, &m) != RELAY_STORE_OK)
        goto write; /* not created (yet): replies only */
    if (r->v2c && m.durable_head < s->room->sync_seq)
        m.durable = 0; /* the replica is catching up: answer as of the cluster's log */
    if (s->gi_due && m.durable && !*more) {
        size_t gl = 0;
        uint64_t seq = 0;
        if (!v->gi && !(v->gi = malloc(RELAY_STORE_GI_MAX))) {
            fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_RELAY_FULL,
                 "relay out of memory; reconnect later");
            goto write;
        }
        if (relay_store_gi(r->store, s->room->id, RELAY_DS_ROOM_BYTES, v->gi, RELAY_STORE_GI_MAX,
                           &gl, &seq) != RELAY_STORE_OK) {
            fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE,
                 "relay storage failed reading the GroupInfo");
            goto write;
        }
        size_t need = sc2_env_encode_gi(NULL, 0, seq, m.gi_hash, v->gi, gl);
        if (need && f.n + need <= f.cap) {
            put(&f, sc2_env_encode_gi(f.buf + f.n, f.cap - f.n, seq, m.gi_hash, v->gi, gl));
            s->gi_due = 0;
        } else if (need && !f.n) {
            if (write_alone(r, s, seq, m.gi_hash, v->gi, gl, need))
                return -1;
            s->gi_due = 0;
            *more = 1; /* the log, if any, in the next message */
            return 0;
        } else if (need) {
            *more = 1; /* next time, alone */
        } else {
            fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE, "stored GroupInfo unusable");
            goto write;
        }
    }
    if (s->mode == M_CHECK && m.durable) {
        uint64_t at = 0;
        relay_ds_res res = relay_ds_resume(r->store, s->room->id, RELAY_DS_ROOM_BYTES, s->cursor,
                                           &at);
        if (res == RELAY_DS_OK) {
            s->mode = M_CATCHUP;
        } else if (res == RELAY_DS_GONE) {
            s->mode = M_NONE;
            s->resumed = 0; /* it may RESUME again after rejoining */
            r->metrics.v2.gone++;
            if (f.n + 14 <= f.cap)
                put(&f, sc2_env_encode_gone(f.buf + f.n, f.cap - f.n, at));
        } else if (res == RELAY_DS_AHEAD) {
            fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_SEQ_AHEAD,
                 "RESUME after_seq is past the relay's log: the relay lost entries or forked");
            goto write;
        } else {
            fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE, "relay storage failed");
            goto write;
        }
    }
    if ((s->mode == M_CATCHUP || s->mode == M_LIVE) && !*more) {
        uint64_t last = s->cursor;
        uint64_t head = m.durable_head; /* what this connection may read now */
        uint64_t until = UINT64_MAX;
        int acc_hold = 0;
        f.cursor = s->cursor;
        if (sodium_memcmp(s->key, m.join_pk, sizeof s->key) != 0) {
            /* an earlier key reads up to the commit that replaced it (PROTOCOL.md 5) */
            relay_ds_res kr = relay_ds_read_limit(r->store, s->room->id, RELAY_DS_ROOM_BYTES,
                                                  s->key, &until);
            if (kr != RELAY_DS_OK && kr != RELAY_DS_EARLIER_KEY) {
                fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE,
                     "relay storage failed looking up the connection's key");
                goto write;
            }
            if (until < head)
                head = until;
        }
        if (r->v2c) {
            /* a SUBMIT of s in flight to JetStream: its ACCEPTED precedes its LOG */
            for (slot *sl = s->slots; sl; sl = sl->next)
                if (!sl->ready) {
                    if (sl->hold && sl->hold - 1 < head)
                        head = sl->hold - 1, acc_hold = 1;
                    break;
                }
        }
        if (s->cursor < head) {
            relay_store_err e = RELAY_STORE_OK;
            if (!(v->rd.valid && v->rd.room == s->room && v->rd.from == s->cursor &&
                  v->rd.durable_head == m.durable_head && v->rd.oldest_seq == m.oldest_seq)) {
                fill_rd_ctx c = {{v->rd.buf, V2_BATCH, 0, s->cursor, 0, 0}, v};
                v->rd.valid = 0;
                e = relay_store_read(r->store, s->room->id, RELAY_DS_ROOM_BYTES, s->cursor,
                                     READ_ENTRIES, RELAY_BATCH_BYTES, fill_rd, &c, &last);
                if (e == RELAY_STORE_OK) {
                    v->rd.room = s->room;
                    v->rd.from = s->cursor;
                    v->rd.durable_head = m.durable_head;
                    v->rd.oldest_seq = m.oldest_seq;
                    v->rd.envs = c.f.envs;
                    v->rd.stopped = c.f.stopped;
                    v->rd.valid = 1;
                }
            }
            if (e == RELAY_STORE_OK) {
                /* the entries that fit this batch, under fill_entry's rules */
                size_t off = 0;
                uint32_t i = 0;
                for (; i < v->rd.envs && v->rd.seq[i] <= head; i++) {
                    size_t len = v->rd.end[i] - off;
                    if (f.n + len > f.cap || (f.n && f.n + len > RELAY_BATCH_BYTES))
                        break;
                    memcpy(f.buf + f.n, v->rd.buf + off, len);
                    f.n += len;
                    f.envs++;
                    f.cursor = v->rd.seq[i];
                    off = v->rd.end[i];
                }
                if (i < v->rd.envs ? v->rd.seq[i] <= head : v->rd.stopped)
                    f.stopped = 1;
            }
            if (e == RELAY_STORE_ERR_GONE) {
                /* retention overtook this reader */
                s->mode = M_NONE;
                s->resumed = 0;
                r->metrics.v2.gone++;
                if (f.n + 14 <= f.cap)
                    put(&f, sc2_env_encode_gone(f.buf + f.n, f.cap - f.n, m.oldest_seq));
                goto write;
            }
            if (e != RELAY_STORE_OK) {
                fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE,
                     "relay storage failed reading the log");
                goto write;
            }
            s->cursor = f.cursor;
        }
        if (s->cursor < head || f.stopped) {
            *more = 1;
        } else if (acc_hold) {
            /* the rest after the ACCEPTED (relay_ws2_c_appended wakes s) */
        } else if (until != UINT64_MAX) {
            /* no LIVE with an earlier key: once it has the replacing commit, say why
             * nothing follows (once per key); AUTH with the new key goes on from here */
            if (s->cursor >= until && !s->held) {
                size_t k = sc2_env_encode_error(tmp, sizeof tmp, SC2_C_OLD_KEY,
                                                "authenticated with an earlier key: the log "
                                                "after the commit that replaced it needs the "
                                                "new key");
                if (k && f.n + k <= f.cap) {
                    memcpy(f.buf + f.n, tmp, k);
                    f.n += k;
                    f.envs++;
                    s->held = 1;
                } else {
                    *more = 1;
                }
            }
        } else if (s->mode == M_CATCHUP) {
            if (f.n + 14 <= f.cap) {
                put(&f, sc2_env_encode_live(f.buf + f.n, f.cap - f.n, s->cursor));
                s->mode = M_LIVE;
            } else {
                *more = 1;
            }
        }
    }
write:
    if (s->state == T_CLOSING) {
        if (s->err_code) {
            size_t k = sc2_env_encode_error(tmp, sizeof tmp, s->err_code, s->err_text);
            if (k && f.n + k <= f.cap) {
                memcpy(f.buf + f.n, tmp, k);
                f.n += k;
                f.envs++;
                s->err_code = 0; /* sent */
            }
        }
        *more = 0;
    }
    if (!f.n)
        return 0;
    if (lws_write(s->wsi, f.buf, f.n, LWS_WRITE_BINARY) < (int)f.n) {
        s->reason = RELAY_CLOSE_GONE;
        return -1;
    }
    r->metrics.frames_out += f.envs;
    r->metrics.bytes_out += f.n;
    r->metrics.messages_out++;
    return 0;
}

static void turn_cb(lws_sorted_usec_list_t *sul)
{
    struct relay_v2 *v = lws_container_of(sul, struct relay_v2, turn_sul);
    struct relay *r = v->r;
    struct lws_dll2 *d;

    if (relay_store_staged(r->store))
        flush_store(r);
    if (r->v2c)
        run_rounds(r);
    while ((d = lws_dll2_get_head(&v->wake))) {
        struct s2 *s = lws_container_of(d, struct s2, wake_node);
        int more = 0;
        lws_dll2_remove(d);
        if (s->state == T_NEW || s->state == T_CLOSED || s->peer_closed)
            continue;
        if (s->state == T_CLOSING || s->ping_due || lws_partial_buffered(s->wsi)) {
            lws_callback_on_writable(s->wsi);
            continue;
        }
        if (write_session(r, s, &more) < 0) {
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            continue;
        }
        if (more || s->state == T_CLOSING)
            lws_callback_on_writable(s->wsi);
    }
}

/* ---- input ---- */

static void protocol_error(struct relay *r, struct s2 *s, uint16_t code, const char *why)
{
    lws_close_reason(s->wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
    if (code == 1009)
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC2_C_TOO_LARGE, why);
    else
        fail(r, s, RELAY_CLOSE_PROTOCOL, code, 0, why);
}

void relay_ws2_violation(struct lws *wsi, uint16_t code, const char *why)
{
    struct s2 *s = lws_wsi_user(wsi);
    struct relay *r = relay_of(wsi);
    if (s && r && s->state != T_NEW)
        protocol_error(r, s, code, why);
}

static pend *stage_pend(struct relay *r, struct s2 *s, uint64_t token, int create,
                        uint64_t *tag)
{
    struct relay_v2 *v = V(r);
    pend *p = malloc(sizeof *p);
    if (!p) {
        fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_RELAY_FULL,
             "relay out of memory; reconnect later");
        return NULL;
    }
    p->s = s;
    p->sl = NULL;
    p->token = token;
    p->create = create;
    p->tag = *tag = ++v->next_tag;
    return p;
}

static void not_staged(struct relay *r, struct s2 *s, relay_ds_res res)
{
    if (res == RELAY_DS_BUSY)
        fail(r, s, RELAY_CLOSE_RELAY_FULL, 1013, SC2_C_RELAY_FULL,
             "relay busy writing; try again later");
    else
        fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE, "relay storage failed");
}

/* ---- --cluster: the room log in JetStream (relay_v2c) ---- */

static void c_release(struct relay *r, struct s2 *s)
{
    slots_release(r, s);
    wake(r, s); /* a LOG held behind the SUBMIT may go now */
}

/* ACCEPTED for the appended entries the replica has made durable. */
static void c_acks(struct relay *r, struct v2room *rm)
{
    relay_store_meta m;
    if (!rm->acks ||
        relay_store_meta_get(r->store, rm->id, RELAY_DS_ROOM_BYTES, &m) != RELAY_STORE_OK)
        return;
    while (rm->acks && rm->acks->seq <= m.durable_head) {
        csub *c = rm->acks;
        rm->acks = c->next;
        if (c->s && c->sl) {
            r->metrics.v2.accepted++;
            c->sl->len = (uint8_t)sc2_env_encode_accepted(c->sl->env, sizeof c->sl->env,
                                                          c->token, c->seq);
            c->sl->ready = 1;
            c->sl->hold = 0;
            c_release(r, c->s);
        }
        csub_free(c);
    }
    if (!rm->acks)
        rm->acks_tail = &rm->acks;
}

static const uint8_t *sub_pk(const csub *c)
{
    return c->has_pk ? c->pk : NULL;
}

static void reply_rejected(struct relay *r, struct s2 *s, uint64_t token, uint16_t code,
                           uint64_t epoch);

/* A verdict for a queued SUBMIT: into its slot (replies stay in request order). */
static void c_reject(struct relay *r, csub *c, uint16_t code, uint64_t epoch)
{
    if (!c->s || !c->sl)
        return;
    if (code == SC2_C_STALE_EPOCH)
        r->metrics.v2.rejected_stale++;
    else
        r->metrics.v2.rejected_other++;
    c->sl->len = (uint8_t)sc2_env_encode_rejected(c->sl->env, sizeof c->sl->env, c->token,
                                                  code, epoch);
    c->sl->ready = 1;
    c->sl->hold = 0;
    c_release(r, c->s);
}

/* Asks the cluster for the room (its creation record, a watch from the replica's head). */
static void c_open(struct relay *r, struct v2room *rm)
{
    relay_store_meta m;
    uint64_t head = 0;

    if (rm->opening || rm->ready)
        return;
    if (relay_store_meta_get(r->store, rm->id, RELAY_DS_ROOM_BYTES, &m) == RELAY_STORE_OK)
        head = m.durable_head;
    if (relay_v2c_open(r->v2c, rm->id, head)) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: out of memory opening a room");
        return;
    }
    rm->opening = 1;
}

/* Stages the replica's room, if the store has none yet: from the record's creation
 * (base 0), or from its snapshot after the commit at base (the log was cut by
 * retention before this relay read it). */
static int c_local_create(struct relay *r, struct v2room *rm, const uint8_t *meta,
                          size_t meta_len, uint64_t base)
{
    relay_store_meta m;
    relay_v2c_meta mp;
    uint64_t tag = 0;

    int have = relay_store_meta_get(r->store, rm->id, RELAY_DS_ROOM_BYTES, &m) == RELAY_STORE_OK;
    if (have && (!base || m.durable_head >= base))
        return 0;
    if (relay_v2c_meta_parse(meta, meta_len, &mp) || (base && (!mp.has_snap || mp.gi_seq != base))) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: a room's record is malformed");
        return -1;
    }
    pend *p = malloc(sizeof *p);
    if (!p)
        return -1;
    p->s = NULL;
    p->sl = NULL;
    p->token = 0;
    p->create = 1;
    p->tag = tag = ++V(r)->next_tag;
    uint8_t l0[SC2_LH_BYTES];
    relay_store_err e;
    if (base && have) { /* retention overtook this replica: jump to the snapshot */
        memcpy(l0, mp.snap_hash, sizeof l0);
        e = relay_store_room_reset(r->store, rm->id, RELAY_DS_ROOM_BYTES, mp.snap_pk,
                                   mp.snap_gi, mp.snap_gi_len, mp.epoch, base, tag);
        relay_log(RELAY_LOG_NOTICE, "cluster v2: retention overtook this relay's replica of a "
                  "room (at seq %llu): reset to its snapshot at seq %llu",
                  (unsigned long long)m.durable_head, (unsigned long long)base);
        rm->resync = 0;
    } else if (base) {
        memcpy(l0, mp.snap_hash, sizeof l0);
        e = relay_store_room_create_at(r->store, rm->id, RELAY_DS_ROOM_BYTES, mp.snap_pk,
                                       mp.snap_gi, mp.snap_gi_len, mp.created_ms, mp.epoch,
                                       base, tag);
        relay_log(RELAY_LOG_NOTICE, "cluster v2: a room's log starts past this relay's "
                  "replica (retention): replica made from its snapshot at seq %llu",
                  (unsigned long long)base);
    } else {
        sc2_lh_genesis(rm->id, l0);
        e = relay_store_room_create(r->store, rm->id, RELAY_DS_ROOM_BYTES, mp.join_pk, mp.gi,
                                    mp.gi_len, mp.created_ms, tag);
    }
    if (e != RELAY_STORE_OK || relay_store_stage_hash(r->store, l0) != RELAY_STORE_OK) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: replica: %s", relay_store_errmsg(r->store));
        free(p);
        return -1;
    }
    pend_push(V(r), p);
    return 0;
}

/* The room could not be followed: every connection of it goes (they reconnect). */
static void c_room_fail(struct relay *r, struct v2room *rm, uint16_t code, const char *why)
{
    if (rm->broken)
        r->metrics.v2.c_broken++;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&rm->sessions)) {
        struct s2 *m = lws_container_of(d, struct s2, room_node);
        m->waiting = 0;
        fail(r, m, RELAY_CLOSE_INTERNAL, 1011, code, why);
    } lws_end_foreach_dll(d);
}

static void c_ready(struct relay *r, struct v2room *rm, const uint8_t *meta, size_t meta_len,
                    void *watch, uint64_t base)
{
    if (rm->cw) /* cannot happen: one open or create at a time */
        relay_v2c_unwatch(r->v2c, rm->cw);
    rm->cw = watch;
    if (c_local_create(r, rm, meta, meta_len, base)) {
        rm->broken = 1;
        c_room_fail(r, rm, SC2_C_STORAGE, "relay storage failed");
        return;
    }
    rm->ready = 1;
    flush_store(r);
    schedule_turn(r);
}

static void c_release_waiting(struct relay *r, struct v2room *rm)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&rm->sessions)) {
        struct s2 *m = lws_container_of(d, struct s2, room_node);
        if (m->waiting && m->state == T_OPEN) {
            m->waiting = 0;
            send_challenge(r, m);
        }
    } lws_end_foreach_dll(d);
}

static struct v2room *c_room(struct relay *r, const uint8_t *room)
{
    return room_find(V(r), room);
}

void relay_ws2_c_opened(struct relay *r, const uint8_t *room, int err, const uint8_t *meta,
                        size_t meta_len, void *watch, uint64_t base, uint64_t sync_seq)
{
    struct v2room *rm = r->v2 ? c_room(r, room) : NULL;
    if (!rm) { /* cannot happen: a room with an open under way is kept */
        relay_v2c_unwatch(r->v2c, watch);
        return;
    }
    rm->opening = 0;
    if (err == RELAY_JSLOG_OK) {
        rm->sync_seq = sync_seq;
        c_ready(r, rm, meta, meta_len, watch, base);
    } else if (relay_v2c_state_get(r->v2c) == RELAY_V2C_NO_JS) {
        lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&rm->sessions)) {
            struct s2 *m = lws_container_of(d, struct s2, room_node);
            m->waiting = 0;
            fail(r, m, RELAY_CLOSE_CLUSTER, 4003, SC2_C_RELAY_FULL, NO_JS_TEXT);
        } lws_end_foreach_dll(d);
    } else if (err != RELAY_JSLOG_ERR_NO_ROOM) {
        c_room_fail(r, rm, SC2_C_RELAY_FULL, "the cluster's log is unavailable; try again");
    }
    /* NO_ROOM: the cluster has no such room; AUTH says NO_ROOM, CREATE may make it */
    c_release_waiting(r, rm);
    room_unref(V(r), rm);
}

void relay_ws2_c_created(struct relay *r, const uint8_t *room, int err, const uint8_t *meta,
                         size_t meta_len, void *watch)
{
    struct v2room *rm = r->v2 ? c_room(r, room) : NULL;
    if (!rm) {
        relay_v2c_unwatch(r->v2c, watch);
        return;
    }
    struct s2 *s = rm->creator;
    rm->creating = 0;
    rm->creator = NULL;
    if (s) {
        s->create_wait = 0;
        if (!s->rx_paused && s->state == T_OPEN)
            lws_rx_flow_control(s->wsi, 1);
    }
    if (err == RELAY_JSLOG_OK) {
        c_ready(r, rm, meta, meta_len, watch, 0);
        if (s) {
            relay_log(RELAY_LOG_INFO, "v2: room created in the cluster");
            wake(r, s);
        }
    } else if (err == RELAY_JSLOG_ERR_EXISTS) {
        if (s)
            fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_ROOM_EXISTS, "the room exists");
        if (rm->sessions.count > (s ? 1u : 0u))
            c_open(r, rm); /* the others want the room that won */
    } else if (s) {
        fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE,
             "the cluster's log did not take the room; try again");
    }
    room_unref(V(r), rm);
}

void relay_ws2_c_appended(struct relay *r, const uint8_t *room, int err, size_t stored,
                          uint64_t expect_last)
{
    struct v2room *rm = r->v2 ? c_room(r, room) : NULL;
    if (!rm)
        return;
    rm->inflight = 0;
    relay_log(RELAY_LOG_DEBUG, "cluster v2: %zu stored after seq %llu (%s)", stored,
              (unsigned long long)expect_last, relay_jslog_err_name((relay_jslog_err)err));
    csub *c = rm->fl, *rest;
    rm->fl = NULL;
    for (size_t i = 0; i < stored && c; i++) { /* in the log: ACCEPTED once replicated */
        csub *nx = c->next;
        c->seq = expect_last + 1 + i;
        c->next = NULL;
        free(c->buf);
        free(c->body);
        c->buf = c->body = NULL;
        if (!rm->acks)
            rm->acks_tail = &rm->acks;
        *rm->acks_tail = c;
        rm->acks_tail = &c->next;
        c = nx;
    }
    c_acks(r, rm);
    rest = c;
    rm->wait_head = expect_last + stored;
    r->metrics.v2.c_appended += stored;
    if (err == RELAY_JSLOG_ERR_CONFLICT && rest) {
        /* another relay appended first: decide these again once the replica has it */
        rm->wait_head++;
        r->metrics.v2.c_conflicts++;
        csub **t = &rest;
        while (*t) {
            if ((*t)->sl)
                (*t)->sl->hold = 0;
            free((*t)->body);
            (*t)->body = NULL;
            t = &(*t)->next;
        }
        *t = rm->q;
        if (!rm->q)
            rm->q_tail = t;
        rm->q = rest;
        if (lws_dll2_is_detached(&rm->round_node))
            lws_dll2_add_tail(&rm->round_node, &V(r)->rounds);
        relay_log(RELAY_LOG_DEBUG, "cluster v2: SUBMITs lost a race; deciding them again");
    } else {
        /* the outcome is unknown (timeout) or the log failed: the member resumes by seq */
        while (rest) {
            csub *nx = rest->next;
            r->metrics.v2.c_unknown++;
            if (rest->s)
                fail(r, rest->s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE,
                     "the cluster's log did not confirm the message; reconnect and resume");
            csub_free(rest);
            rest = nx;
        }
    }
    schedule_turn(r);
    room_unref(V(r), rm);
}

void relay_ws2_c_entry(struct relay *r, const uint8_t *room, uint64_t seq, uint64_t time_ms,
                       unsigned flags, const uint8_t *body, size_t len)
{
    struct v2room *rm = r->v2 ? c_room(r, room) : NULL;
    relay_store_meta m;
    relay_v2c_entry e;

    if (!rm || !rm->ready || rm->broken ||
        relay_store_meta_get(r->store, room, RELAY_DS_ROOM_BYTES, &m) != RELAY_STORE_OK)
        return; /* not followed here: a later open reads from the replica's head */
    if (seq <= m.head_seq)
        return; /* the replica has it */
    if (seq != m.head_seq + 1 && !rm->resync && !rm->opening && m.head_seq == m.durable_head) {
        /* entries removed by retention before this relay read them: start again from the
         * room record's snapshot, if it reaches the oldest kept entry (relay_v2c_open) */
        relay_log(RELAY_LOG_WARN, "cluster v2: the room log jumps from %llu to %llu: "
                  "resynchronising from the room's snapshot", (unsigned long long)m.head_seq,
                  (unsigned long long)seq);
        rm->resync = 1;
        rm->ready = 0;
        relay_v2c_unwatch(r->v2c, rm->cw);
        rm->cw = NULL;
        if (relay_v2c_open(r->v2c, rm->id, 0) == 0) {
            rm->opening = 1;
            return;
        }
        rm->ready = 1; /* out of memory: give up below */
    }
    if (seq != m.head_seq + 1) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: the room log jumps from %llu to %llu (entries "
                  "removed by retention before this relay read them): not serving the room",
                  (unsigned long long)m.head_seq, (unsigned long long)seq);
        rm->broken = 1;
        c_room_fail(r, rm, SC2_C_STORAGE, "this relay cannot serve the room; use another");
        return;
    }
    int has_pk = (flags & RELAY_STORE_F_JOIN_PK) != 0, commit = (flags & RELAY_STORE_F_COMMIT) != 0;
    if (relay_v2c_entry_decode(body, len, has_pk, &e) || (flags & ~3u) ||
        (commit != (e.gi_len != 0)) || (has_pk && !commit)) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: log entry %llu is malformed: not serving the "
                  "room", (unsigned long long)seq);
        rm->broken = 1;
        c_room_fail(r, rm, SC2_C_STORAGE, "this relay cannot serve the room; use another");
        return;
    }
    /* the hash its appender computed must be ours: same bytes, same chain */
    size_t n = sc2_env_encode_log(NULL, 0, seq, time_ms, (uint8_t)flags, e.join_pk, e.mls,
                                  e.mls_len);
    uint8_t *log = n ? malloc(n) : NULL, l[SC2_LH_BYTES];
    if (!log || sc2_env_encode_log(log, n, seq, time_ms, (uint8_t)flags, e.join_pk, e.mls,
                                   e.mls_len) != n) {
        free(log);
        relay_log(RELAY_LOG_ERROR, "cluster v2: out of memory replicating an entry");
        return;
    }
    sc2_lh_step(m.head_hash, seq, log + SC2_ENV_HEADER_BYTES, n - SC2_ENV_HEADER_BYTES, l);
    free(log);
    if (sodium_memcmp(l, e.hash, SC2_LH_BYTES)) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: log entry %llu does not extend this relay's "
                  "log hash (a fork in the cluster's log): not serving the room",
                  (unsigned long long)seq);
        rm->broken = 1;
        c_room_fail(r, rm, SC2_C_STORAGE, "this relay cannot serve the room; use another");
        return;
    }
    uint64_t tag = ++V(r)->next_tag, got = 0;
    pend *p = malloc(sizeof *p);
    if (!p) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: out of memory replicating an entry");
        return; /* the replica stops here; the room's next open reads on from its head */
    }
    p->s = NULL;
    p->sl = NULL;
    p->token = 0;
    p->create = 0;
    p->tag = tag;
    relay_store_err se = relay_store_append(r->store, room, RELAY_DS_ROOM_BYTES, e.mls,
                                            e.mls_len, time_ms, commit, e.gi, e.gi_len,
                                            e.join_pk, tag, &got);
    if (se == RELAY_STORE_ERR_STAGED) { /* a long catch-up: make room, then again */
        flush_store(r);
        se = relay_store_append(r->store, room, RELAY_DS_ROOM_BYTES, e.mls, e.mls_len, time_ms,
                                commit, e.gi, e.gi_len, e.join_pk, tag, &got);
    }
    if (se != RELAY_STORE_OK) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: replica: %s", relay_store_errmsg(r->store));
        free(p);
        rm->broken = 1;
        c_room_fail(r, rm, SC2_C_STORAGE, "relay storage failed");
        return;
    }
    pend_push(V(r), p); /* staged: its done callback comes with the flush */
    r->metrics.v2.c_replicated++;
    if (got != seq || relay_store_stage_hash(r->store, l) != RELAY_STORE_OK) {
        /* cannot happen: the store assigns head + 1 and has just staged */
        relay_log(RELAY_LOG_ERROR, "cluster v2: replica out of step at seq %llu",
                  (unsigned long long)seq);
        rm->broken = 1;
        c_room_fail(r, rm, SC2_C_STORAGE, "relay storage failed");
    }
}

void relay_ws2_c_drained(struct relay *r)
{
    if (!r->v2)
        return;
    if (relay_store_staged(r->store))
        flush_store(r);
    schedule_turn(r);
    if (relay_v2c_state_get(r->v2c) == RELAY_V2C_NO_JS) {
        struct relay_v2 *v = V(r);
        lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&v->sessions)) {
            struct s2 *m = lws_container_of(d, struct s2, node);
            fail(r, m, RELAY_CLOSE_CLUSTER, 4003, SC2_C_RELAY_FULL,
                 NO_JS_TEXT);
        } lws_end_foreach_dll(d);
    }
}

/* One round of a room: decide its queued SUBMITs against the replica (relay_ds stages
 * them, then the staging is discarded) and append the accepted ones in one batch. */
static void c_round(struct relay *r, struct v2room *rm)
{
    relay_store_meta m;
    relay_jslog_item items[RELAY_JSLOG_BATCH_MAX];
    relay_v2c_snap snap;
    size_t n = 0;
    csub **fl_tail = &rm->fl;

    snap.commit_at = RELAY_JSLOG_BATCH_MAX; /* none */

    if (!rm->ready || rm->broken || rm->inflight || !rm->q)
        return;
    if (relay_store_meta_get(r->store, rm->id, RELAY_DS_ROOM_BYTES, &m) != RELAY_STORE_OK ||
        m.durable_head < rm->wait_head || m.head_seq != m.durable_head)
        return; /* the replica first */
    uint64_t expect = m.durable_head;
    while (rm->q && n < RELAY_JSLOG_BATCH_MAX) {
        csub *c = rm->q;
        relay_ds_verdict vd;
        if (!c->s) {
            rm->q = c->next;
            csub_free(c);
            continue;
        }
        relay_ds_res res = relay_ds_may(r->store, rm->id, RELAY_DS_ROOM_BYTES, c->s->key,
                                        RELAY_DS_OP_SUBMIT);
        if (res == RELAY_DS_OK) {
            relay_ds_submission sub = {c->buf, c->mls_len, c->has_gi ? c->buf + c->mls_len : NULL,
                                       c->gi_len, c->has_pk ? c->pk : NULL};
            c->time_ms = wall_ms();
            res = relay_ds_submit(r->store, rm->id, RELAY_DS_ROOM_BYTES, &sub, c->time_ms, 0, &vd);
        }
        if (res == RELAY_DS_OK) {
            relay_store_meta after;
            if (relay_store_meta_get(r->store, rm->id, RELAY_DS_ROOM_BYTES, &after) ||
                relay_v2c_entry_encode(after.head_hash, sub_pk(c), c->has_gi ? c->buf + c->mls_len : NULL,
                                       c->has_gi ? c->gi_len : 0, c->buf, c->mls_len, &c->body,
                                       &c->body_len))
                break; /* out of memory: the next turn tries again */
            c->flags = (vd.is_commit ? RELAY_STORE_F_COMMIT : 0) |
                       (c->has_pk ? RELAY_STORE_F_JOIN_PK : 0);
            items[n].body = c->body;
            items[n].len = c->body_len;
            items[n].flags = c->flags;
            items[n].time_ms = c->time_ms;
            if (vd.is_commit) { /* the record's snapshot after it (relay_v2c_snap) */
                snap.commit_at = n;
                snap.epoch = after.epoch;
                memcpy(snap.hash, after.head_hash, sizeof snap.hash);
                memcpy(snap.join_pk, after.join_pk, sizeof snap.join_pk);
                snap.gi = c->buf + c->mls_len;
                snap.gi_len = c->gi_len;
            }
            n++;
            if (c->sl)
                c->sl->hold = expect + 1;
            rm->q = c->next;
            c->next = NULL;
            *fl_tail = c;
            fl_tail = &c->next;
            continue;
        }
        if (n)
            break; /* a verdict after an entry that may yet lose its race: next round */
        uint64_t epoch = vd.epoch;
        switch (res) {
        case RELAY_DS_EARLIER_KEY:
        case RELAY_DS_UNKNOWN_KEY:
            epoch = m.epoch;
            c_reject(r, c, SC2_C_KEY_RETIRED, epoch);
            break;
        case RELAY_DS_STALE_EPOCH:
            c_reject(r, c, SC2_C_STALE_EPOCH, epoch);
            break;
        case RELAY_DS_NO_GI:
            c_reject(r, c, SC2_C_NO_GROUPINFO, epoch);
            break;
        case RELAY_DS_NOT_COMMIT:
            c_reject(r, c, SC2_C_NOT_COMMIT, epoch);
            break;
        case RELAY_DS_BAD_MLS:
        case RELAY_DS_WRONG_GROUP:
            c_reject(r, c, SC2_C_BAD_MLS, epoch);
            break;
        case RELAY_DS_BAD_GI:
        case RELAY_DS_TOO_BIG:
            fail(r, c->s, RELAY_CLOSE_TOO_BIG, 1009, SC2_C_TOO_LARGE,
                 "MLS message over 1 MiB or GroupInfo box over 4 MiB");
            break;
        default:
            not_staged(r, c->s, res);
            break;
        }
        rm->q = c->next;
        csub_free(c);
    }
    if (!rm->q) {
        rm->q_tail = &rm->q;
        lws_dll2_remove(&rm->round_node);
    }
    relay_store_discard(r->store); /* the replica takes them from the log */
    if (!n)
        return;
    if (relay_v2c_append_snap(r->v2c, rm->id, items, n, expect, &snap)) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: out of memory appending");
        relay_ws2_c_appended(r, rm->id, RELAY_JSLOG_ERR_NATS, 0, expect);
        return;
    }
    rm->inflight = 1;
    rm->expect_last = expect;
    r->metrics.v2.c_batches++;
    relay_log(RELAY_LOG_DEBUG, "cluster v2: appending %zu entries after seq %llu", n,
              (unsigned long long)expect);
}

static void run_rounds(struct relay *r)
{
    struct relay_v2 *v = V(r);
    if (relay_store_staged(r->store))
        flush_store(r); /* a round discards what it stages: nothing else may be staged */
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&v->rounds)) {
        struct v2room *rm = lws_container_of(d, struct v2room, round_node);
        c_round(r, rm);
    } lws_end_foreach_dll_safe(d, d1);
}

static void c_submit(struct relay *r, struct s2 *s, const sc2_env *e)
{
    struct v2room *rm = s->room;
    if (e->mls_len + (e->gi_box ? e->gi_box_len : 0) > RELAY_V2C_SUBMIT_MAX) {
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC2_C_TOO_LARGE,
             "MLS message and GroupInfo box over 1 MiB together (clustered relay)");
        return;
    }
    csub *c = calloc(1, sizeof *c);
    size_t gl = e->gi_box ? e->gi_box_len : 0;
    if (c)
        c->buf = malloc(e->mls_len + gl + 1);
    if (!c || !c->buf) {
        csub_free(c);
        fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_RELAY_FULL,
             "relay out of memory; reconnect later");
        return;
    }
    memcpy(c->buf, e->mls, e->mls_len);
    if (gl)
        memcpy(c->buf + e->mls_len, e->gi_box, gl);
    c->mls_len = e->mls_len;
    c->gi_len = gl;
    c->has_gi = e->gi_box != NULL;
    c->has_pk = e->join_pk != NULL;
    if (e->join_pk)
        memcpy(c->pk, e->join_pk, sizeof c->pk);
    c->token = e->token;
    c->s = s;
    c->sl = slot_push(r, s);
    if (!c->sl) {
        csub_free(c);
        return;
    }
    if (!rm->q)
        rm->q_tail = &rm->q;
    *rm->q_tail = c;
    rm->q_tail = &c->next;
    if (lws_dll2_is_detached(&rm->round_node))
        lws_dll2_add_tail(&rm->round_node, &V(r)->rounds);
    r->metrics.frames_in++;
    schedule_turn(r);
}

static void c_create(struct relay *r, struct s2 *s, const sc2_env *e)
{
    struct v2room *rm = s->room;
    relay_store_meta m;
    uint8_t *meta = NULL;
    size_t ml = 0;

    if (sc2_link_auth_verify(e->join_pk, rm->id, s->nonce, e->sig) != 0) {
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_BAD_PROOF,
             "the proof does not verify for this join_pk");
        return;
    }
    if (!e->gi_box || e->gi_box_len < RELAY_DS_GI_MIN ||
        e->gi_box_len > RELAY_JSLOG_META_MAX - RELAY_V2C_META_OVERHEAD) {
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC2_C_TOO_LARGE,
             "gi_box too large (a clustered relay takes up to 1000 KiB at CREATE)");
        return;
    }
    if (rm->ready || rm->creating ||
        relay_store_meta_get(r->store, rm->id, RELAY_DS_ROOM_BYTES, &m) == RELAY_STORE_OK) {
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_ROOM_EXISTS, "the room exists");
        return;
    }
    if (relay_v2c_meta_encode(e->join_pk, wall_ms(), e->gi_box, e->gi_box_len, &meta, &ml) ||
        relay_v2c_create(r->v2c, rm->id, meta, ml)) {
        free(meta);
        fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_RELAY_FULL,
             "relay out of memory; reconnect later");
        return;
    }
    free(meta);
    rm->creating = 1;
    rm->creator = s;
    memcpy(s->key, e->join_pk, sizeof s->key);
    s->authed = 1;
    /* what follows (RESUME, GET_GI, SUBMIT) needs the room: read it once it exists */
    s->create_wait = 1;
    lws_rx_flow_control(s->wsi, 0);
}

static void on_submit(struct relay *r, struct s2 *s, const sc2_env *e)
{
    if (r->v2c) { /* the key is checked in the room's round, against the replica */
        c_submit(r, s, e);
        return;
    }
    relay_ds_res res = relay_ds_may(r->store, s->room->id, RELAY_DS_ROOM_BYTES, s->key,
                                    RELAY_DS_OP_SUBMIT);
    relay_ds_verdict vd;
    uint64_t tag = 0;

    if (res == RELAY_DS_EARLIER_KEY || res == RELAY_DS_UNKNOWN_KEY) {
        relay_store_meta m;
        uint64_t epoch = 0;
        if (!relay_store_meta_get(r->store, s->room->id, RELAY_DS_ROOM_BYTES, &m))
            epoch = m.epoch;
        reply_rejected(r, s, e->token, SC2_C_KEY_RETIRED, epoch);
        return;
    }
    if (res != RELAY_DS_OK) {
        not_staged(r, s, res);
        return;
    }
    pend *p = stage_pend(r, s, e->token, 0, &tag);
    if (!p)
        return;
    relay_ds_submission sub = {e->mls, e->mls_len, e->gi_box, e->gi_box_len, e->join_pk};
    res = relay_ds_submit(r->store, s->room->id, RELAY_DS_ROOM_BYTES, &sub, wall_ms(), tag, &vd);
    if (res == RELAY_DS_OK) {
        /* its ACCEPTED comes from the flush; replies to later requests wait behind it */
        p->sl = slot_push(r, s);
        pend_push(V(r), p);
        schedule_turn(r);
        r->metrics.frames_in++;
        return;
    }
    free(p);
    switch (res) {
    case RELAY_DS_STALE_EPOCH:
        reply_rejected(r, s, e->token, SC2_C_STALE_EPOCH, vd.epoch);
        relay_log(RELAY_LOG_DEBUG, "v2: stale epoch %llu (room at %llu)",
                  (unsigned long long)vd.hdr.epoch, (unsigned long long)vd.epoch);
        return;
    case RELAY_DS_NO_GI:
        reply_rejected(r, s, e->token, SC2_C_NO_GROUPINFO, vd.epoch);
        return;
    case RELAY_DS_NOT_COMMIT:
        reply_rejected(r, s, e->token, SC2_C_NOT_COMMIT, vd.epoch);
        return;
    case RELAY_DS_BAD_MLS:
    case RELAY_DS_WRONG_GROUP:
        reply_rejected(r, s, e->token, SC2_C_BAD_MLS, vd.epoch);
        return;
    case RELAY_DS_BAD_GI:
    case RELAY_DS_TOO_BIG:
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC2_C_TOO_LARGE,
             "MLS message over 1 MiB or GroupInfo box over 4 MiB");
        return;
    default:
        not_staged(r, s, res);
        return;
    }
}

static void on_auth(struct relay *r, struct s2 *s, const sc2_env *e)
{
    int kind = 0;
    relay_ds_res res =
        relay_ds_auth(r->store, s->room->id, RELAY_DS_ROOM_BYTES, s->nonce, e->join_pk, e->sig,
                      &kind);
    switch (res) {
    case RELAY_DS_OK:
        memcpy(s->key, e->join_pk, sizeof s->key);
        s->authed = 1;
        s->held = 0;
        if (s->mode != M_NONE)
            wake(r, s); /* a reader held at an earlier key's limit may go on */
        relay_log(RELAY_LOG_DEBUG, "v2: authenticated with the room's %s key",
                  kind == RELAY_STORE_KEY_CURRENT ? "current" : "earlier");
        return;
    case RELAY_DS_NO_ROOM:
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_NO_ROOM, "no such room");
        return;
    case RELAY_DS_UNKNOWN_KEY:
    case RELAY_DS_BAD_SIG:
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_BAD_PROOF,
             "the proof does not verify for this room");
        return;
    default:
        not_staged(r, s, res);
        return;
    }
}

static void on_create(struct relay *r, struct s2 *s, const sc2_env *e)
{
    uint64_t tag = 0;
    if (r->v2c) {
        c_create(r, s, e);
        return;
    }
    pend *p = stage_pend(r, s, 0, 1, &tag);
    if (!p)
        return;
    relay_ds_res res = relay_ds_create(r->store, s->room->id, RELAY_DS_ROOM_BYTES, s->nonce,
                                       e->join_pk, e->sig, e->gi_box, e->gi_box_len, wall_ms(),
                                       tag);
    if (res == RELAY_DS_OK) {
        pend_push(V(r), p);
        memcpy(s->key, e->join_pk, sizeof s->key);
        s->authed = 1; /* its SUBMITs may follow at once: same transaction, after the create */
        schedule_turn(r);
        relay_log(RELAY_LOG_INFO, "v2: room created");
        return;
    }
    free(p);
    switch (res) {
    case RELAY_DS_EXISTS:
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_ROOM_EXISTS, "the room exists");
        return;
    case RELAY_DS_BAD_SIG:
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_BAD_PROOF,
             "the proof does not verify for this join_pk");
        return;
    case RELAY_DS_BAD_GI:
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC2_C_TOO_LARGE, "gi_box too large");
        return;
    default:
        not_staged(r, s, res);
        return;
    }
}

/* Handles one complete client message buf[0..len). */
static void on_message(struct relay *r, struct s2 *s, const uint8_t *buf, size_t len)
{
    const relay_config *cfg = r->cfg;
    sc2_env e;
    int rc;

    if (len > cfg->max_frame) {
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC2_C_TOO_LARGE, "message too big");
        return;
    }
    if (!relay_bucket_take(&s->bucket, cfg->rate_limit, cfg->rate_burst, now_us())) {
        fail(r, s, RELAY_CLOSE_RATE_LIMITED, 1008, SC2_C_RATE_LIMITED,
             "rate limit exceeded; slow down");
        return;
    }
    rc = sc2_env_decode(buf, len, SC2_FROM_CLIENT, &e);
    if (rc < 0) {
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_MALFORMED, sc2_env_strerror(rc));
        return;
    }
    r->metrics.bytes_in += len;
    if (s->waiting) {
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_BAD_STATE, "wait for CHALLENGE");
        return;
    }
    switch (e.type) {
    case SC2_T_AUTH:
        on_auth(r, s, &e);
        break;
    case SC2_T_CREATE:
        if (s->authed) {
            fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_BAD_STATE,
                 "CREATE on an authenticated connection");
            break;
        }
        on_create(r, s, &e);
        break;
    case SC2_T_GET_GI:
    case SC2_T_RESUME:
    case SC2_T_SUBMIT: {
        if (!s->authed) {
            fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_NOT_AUTHENTICATED,
                 "authenticate first (AUTH or CREATE)");
            break;
        }
        if (e.type == SC2_T_SUBMIT) {
            on_submit(r, s, &e);
            break;
        }
        relay_ds_res res = relay_ds_may(r->store, s->room->id, RELAY_DS_ROOM_BYTES, s->key,
                                        e.type == SC2_T_GET_GI ? RELAY_DS_OP_GET_GI
                                                               : RELAY_DS_OP_RESUME);
        if (e.type == SC2_T_GET_GI) {
            if (res == RELAY_DS_EARLIER_KEY || res == RELAY_DS_UNKNOWN_KEY) {
                uint8_t b[SC2_ENV_HEADER_BYTES + 2 + SC2_ENV_MAX_REASON];
                reply(r, s, b, sc2_env_encode_error(b, sizeof b, SC2_C_OLD_KEY,
                                                    "authenticated with an earlier key: "
                                                    "RESUME only"));
            } else if (res == RELAY_DS_OK) {
                s->gi_due = 1;
                wake(r, s);
            } else {
                not_staged(r, s, res);
            }
            break;
        }
        if (s->resumed) {
            fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_BAD_STATE, "a second RESUME");
            break;
        }
        if (res != RELAY_DS_OK && res != RELAY_DS_EARLIER_KEY) {
            not_staged(r, s, res);
            break;
        }
        s->resumed = 1;
        r->metrics.v2.resumes++;
        s->mode = M_CHECK;
        s->cursor = e.seq;
        wake(r, s);
        break;
    }
    default: /* the decoder admits no other client types */
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_MALFORMED, "unexpected envelope");
        break;
    }
}

static void on_receive(struct relay *r, struct s2 *s, struct lws *wsi, const uint8_t *in,
                       size_t len)
{
    uint32_t max = r->cfg->max_frame;

    if (s->state != T_OPEN)
        return;
    relay_ka_alive(&s->ka, V(r)->ka.last_tick);
    int final = lws_is_final_fragment(wsi);
    if (!lws_frame_is_binary(wsi)) {
        if (!relay_wsguard_text_ok(in, len, final && !lws_remaining_packet_payload(wsi)))
            protocol_error(r, s, 1007, "text frame is not valid UTF-8");
        else
            fail(r, s, RELAY_CLOSE_TEXT, 1003, SC2_C_MALFORMED,
                 "text frames are not accepted; send binary envelopes");
        return;
    }
    if (!s->frag && final) {
        on_message(r, s, in, len);
        return;
    }
    size_t want = (size_t)s->frag_len + len;
    size_t rest = lws_remaining_packet_payload(wsi);
    if (want > max || rest > max - want) {
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC2_C_TOO_LARGE, "message too big");
        return;
    }
    if (want + rest > s->frag_cap) {
        size_t cap = want + rest;
        if (!final && !rest && cap < max)
            cap = cap * 2 < max ? cap * 2 : max;
        uint8_t *p = realloc(s->frag, cap ? cap : 1);
        if (!p) {
            fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_RELAY_FULL,
                 "relay out of memory; reconnect later");
            return;
        }
        s->frag = p;
        s->frag_cap = (uint32_t)cap;
    }
    if (len)
        memcpy(s->frag + s->frag_len, in, len);
    s->frag_len = (uint32_t)want;
    if (final) {
        on_message(r, s, s->frag, s->frag_len);
        drop_fragment(s);
    }
}

/* ---- connection life ---- */

/* /room/<base64url(room_id)>: exactly RELAY_DS_ROOM_BYTES bytes, canonical encoding. */
/* Decodes the canonical base64url of a room id (id[0..n)); 0, or -1 if it is not one. */
static int room_id_decode(const char *in, size_t n, uint8_t id[RELAY_DS_ROOM_BYTES])
{
    size_t got = 0;
    const char *end = NULL;
    char back[sodium_base64_ENCODED_LEN(RELAY_DS_ROOM_BYTES,
                                        sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

    if (!n || n >= sizeof back ||
        sodium_base642bin(id, RELAY_DS_ROOM_BYTES, in, n, NULL, &got, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        got != RELAY_DS_ROOM_BYTES || end != in + n)
        return -1;
    sodium_bin2base64(back, sizeof back, id, RELAY_DS_ROOM_BYTES,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return strlen(back) == n && !memcmp(back, in, n) ? 0 : -1;
}

int relay_ws2_room_path_valid(const char *id)
{
    uint8_t b[RELAY_DS_ROOM_BYTES];

    return room_id_decode(id, strlen(id), b) == 0;
}

static int parse_room_path(struct lws *wsi, uint8_t id[RELAY_DS_ROOM_BYTES])
{
    char uri[64];
    int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);

    if (n <= 6 || strncmp(uri, "/room/", 6))
        return -1;
    return room_id_decode(uri + 6, (size_t)n - 6, id);
}

static void on_established(struct relay *r, struct s2 *s, struct lws *wsi)
{
    struct relay_v2 *v = V(r);
    const relay_config *cfg = r->cfg;
    uint8_t id[RELAY_DS_ROOM_BYTES];
    const char *why = NULL;

    s->wsi = wsi;
    s->state = T_OPEN;
    lws_dll2_add_tail(&s->node, &v->sessions);
    r->metrics.connections++;
    r->metrics.connections_total++;
    r->metrics.v2.connections++;
    relay_bucket_init(&s->bucket, cfg->rate_burst, now_us());
    relay_ka_add(&v->ka, &s->ka, v->ka.last_tick);
    if (cfg->sndbuf) {
        int val = (int)cfg->sndbuf;
        if (setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &val, sizeof val) != 0)
            relay_log(RELAY_LOG_WARN, "--sndbuf: setsockopt failed: %s", strerror(errno));
    }
    uint16_t code = relay_rawrx_bind(lws_get_socket_fd(wsi), wsi, &why);
    if (code) {
        protocol_error(r, s, code, why);
        return;
    }
    if (r->shutting_down) {
        fail(r, s, RELAY_CLOSE_SHUTDOWN, 1001, SC2_C_SHUTDOWN, "relay is shutting down");
        return;
    }
    if (r->metrics.connections > cfg->max_connections) {
        fail(r, s, RELAY_CLOSE_RELAY_FULL, 1013, SC2_C_RELAY_FULL,
             "relay is at its connection limit; try again later");
        return;
    }
    if (cfg->n_cluster_urls && (!r->v2c || relay_v2c_state_get(r->v2c) == RELAY_V2C_NO_JS)) {
        /* without JetStream each relay would keep its own log of the room: a fork */
        fail(r, s, RELAY_CLOSE_CLUSTER, 4003, SC2_C_RELAY_FULL,
             NO_JS_TEXT);
        return;
    }
    if (parse_room_path(wsi, id)) {
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC2_C_MALFORMED,
             "bad room path: /room/<base64url of the 16-byte room id>");
        return;
    }
    s->room = room_get(v, id);
    if (!s->room) {
        fail(r, s, RELAY_CLOSE_RELAY_FULL, 1013, SC2_C_RELAY_FULL,
             "relay cannot take more connections now; try again later");
        return;
    }
    lws_dll2_add_tail(&s->room_node, &s->room->sessions);
    randombytes_buf(s->nonce, sizeof s->nonce);
    if (r->v2c && s->room->broken) {
        fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC2_C_STORAGE,
             "this relay cannot serve the room; use another");
        return;
    }
    if (r->v2c && !s->room->ready) {
        /* CHALLENGE once the replica follows the cluster's log */
        s->waiting = 1;
        c_open(r, s->room);
        return;
    }
    send_challenge(r, s);
}

static void send_challenge(struct relay *r, struct s2 *s)
{
    const relay_config *cfg = r->cfg;
    /* nothing about the room (not even whether it exists) before a valid proof */
    uint8_t b[SC2_ENV_HEADER_BYTES + 36];
    queue(r, s, b, sc2_env_encode_challenge(b, sizeof b, s->nonce, cfg->max_frame));
}

static void on_closed(struct relay *r, struct s2 *s)
{
    struct relay_v2 *v = V(r);

    if (s->state == T_NEW)
        return;
    relay_rawrx_release(lws_get_socket_fd(s->wsi));
    if (s->state == T_OPEN || s->state == T_DRAIN)
        s->reason = s->peer_closed ? RELAY_CLOSE_PEER : RELAY_CLOSE_GONE;
    r->metrics.closed[s->reason]++;
    r->metrics.connections--;
    r->metrics.v2.connections--;
    for (pend *p = v->pend_head; p; p = p->next)
        if (p->s == s) {
            p->s = NULL;
            p->sl = NULL;
        }
    if (s->room) {
        for (csub *c = s->room->q; c; c = c->next)
            if (c->s == s)
                c->s = NULL, c->sl = NULL;
        for (csub *c = s->room->fl; c; c = c->next)
            if (c->s == s)
                c->s = NULL, c->sl = NULL;
        for (csub *c = s->room->acks; c; c = c->next)
            if (c->s == s)
                c->s = NULL, c->sl = NULL;
        if (s->room->creator == s)
            s->room->creator = NULL;
    }
    slots_free(s);
    lws_dll2_remove(&s->node);
    lws_dll2_remove(&s->wake_node);
    if (s->room) {
        lws_dll2_remove(&s->room_node);
        room_unref(v, s->room);
        s->room = NULL;
    }
    relay_ka_remove(&s->ka);
    drop_fragment(s);
    free(s->out);
    s->out = NULL;
    s->out_len = s->out_cap = 0;
    sodium_memzero(s->nonce, sizeof s->nonce);
    s->state = T_NEW;
    if (r->shutting_down && !v->sessions.count)
        relay_server_sessions_gone(r);
}

/* Returns -1 to have lws drop the connection at once, 0 otherwise. */
static int on_writeable(struct relay *r, struct s2 *s, struct lws *wsi)
{
    int more = 0;

    switch (s->state) {
    case T_OPEN:
    case T_DRAIN:
        if (s->ping_due) {
            uint8_t *buf = V(r)->batch + LWS_PRE;
            s->ping_due = 0;
            memcpy(buf, "ka", 2);
            if (lws_write(wsi, buf, 2, LWS_WRITE_PING) < 0)
                return -1;
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (write_session(r, s, &more) < 0)
            return -1;
        if (more)
            lws_callback_on_writable(wsi);
        else if (s->state == T_DRAIN) {
            fail(r, s, RELAY_CLOSE_SHUTDOWN, 1001, SC2_C_SHUTDOWN, "relay is shutting down");
        }
        return 0;
    case T_CLOSING:
        if (write_session(r, s, &more) < 0)
            return -1;
        close_politely(s);
        s->state = T_CLOSED;
        return 0;
    default:
        return 0;
    }
}

int relay_ws2_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct s2 *s = user;
    struct relay *r = wsi ? relay_of(wsi) : NULL;

    if (!r || !r->v2)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        on_established(r, s, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        on_receive(r, s, wsi, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(r, s, wsi);
    case LWS_CALLBACK_RECEIVE_PONG:
        relay_ka_alive(&s->ka, V(r)->ka.last_tick);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        uint16_t code;
        s->peer_closed = 1;
        if (relay_wsguard_close_ok(in, len, &code))
            return 0;
        if (s->state == T_OPEN || s->state == T_DRAIN) {
            drop_fragment(s);
            s->state = T_CLOSED;
            s->reason = RELAY_CLOSE_PROTOCOL;
        }
        const char *why = len == 1       ? "close frame with a 1-byte payload"
                          : code == 1007 ? "close reason is not valid UTF-8"
                                         : "invalid close status code";
        lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
        return -1;
    }
    case LWS_CALLBACK_CLOSED:
        on_closed(r, s);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* lws_cancel_service from relay_v2c's threads: hand over what JetStream sent */
        relay_server_cluster_wake(r);
        return 0;
    default:
        return 0;
    }
}

/* ---- keepalive, setup, shutdown ---- */

static void ka_ping(relay_ka_entry *e, void *arg)
{
    struct s2 *s = lws_container_of(e, struct s2, ka);
    (void)arg;
    if (s->state == T_OPEN || s->state == T_DRAIN) {
        s->ping_due = 1;
        lws_callback_on_writable(s->wsi);
    }
}

static void ka_dead(relay_ka_entry *e, void *arg)
{
    struct s2 *s = lws_container_of(e, struct s2, ka);
    (void)arg;
    if (s->state == T_CLOSED)
        return;
    relay_log(RELAY_LOG_INFO, "v2 connection: no answer to ping, dropping it");
    drop_fragment(s);
    s->reason = RELAY_CLOSE_TIMEOUT;
    s->state = T_CLOSED;
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

int relay_ws2_init(struct relay *r)
{
    struct relay_v2 *v = calloc(1, sizeof *v);

    if (!v || relay_map_init(&v->rooms, 8)) {
        free(v);
        return -1;
    }
    v->batch = malloc(LWS_PRE + V2_BATCH);
    v->rd.buf = malloc(V2_BATCH);
    if (!v->batch || !v->rd.buf) {
        free(v->batch);
        free(v->rd.buf);
        relay_map_free(&v->rooms);
        free(v);
        return -1;
    }
    randombytes_buf(v->hkey, sizeof v->hkey);
    v->pend_tail = &v->pend_head;
    v->r = r;
    relay_ka_init(&v->ka, r->cfg->ping_interval, r->cfg->ping_timeout, relay_now_s());
    v->ka.ping = ka_ping;
    v->ka.dead = ka_dead;
    v->ka.arg = r;
    r->v2 = v;
    return 0;
}

void relay_ws2_free(struct relay *r)
{
    struct relay_v2 *v = r->v2;
    if (!v)
        return;
    while (v->pend_head) {
        pend *p = v->pend_head;
        v->pend_head = p->next;
        free(p);
    }
    relay_map_free(&v->rooms); /* rooms are freed with their last session */
    free(v->batch);
    free(v->rd.buf);
    free(v->gi);
    free(v);
    r->v2 = NULL;
}

void relay_ws2_tick(struct relay *r)
{
    if (!r->v2)
        return;
    relay_ka_tick(&r->v2->ka, relay_now_s());
    /* retention runs inside flush; with nothing staged it is cheap unless a sweep is due */
    if (r->store)
        flush_store(r);
}

void relay_ws2_shutdown(struct relay *r)
{
    struct relay_v2 *v = r->v2;
    if (!v)
        return;
    if (relay_store_staged(r->store))
        flush_store(r); /* ACCEPTED for everything staged, before the connections close */
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&v->sessions)) {
        struct s2 *s = lws_container_of(d, struct s2, node);
        if (s->state == T_OPEN) {
            s->state = T_DRAIN;
            s->mode = M_NONE;
            lws_rx_flow_control(s->wsi, 0);
            lws_callback_on_writable(s->wsi);
        }
    } lws_end_foreach_dll_safe(d, d1);
}
