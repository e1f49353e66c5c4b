/* relay_v2c: protocol v2 rooms in JetStream under --cluster (relay_v2c.h). */
#include "relay_v2c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "relay_log.h"
#include "relay_ws2.h"

enum ev_type { EV_OPENED, EV_CREATED, EV_APPENDED, EV_ENTRY, EV_STATE };
enum job_type { JOB_OPEN, JOB_CREATE, JOB_APPEND, JOB_UNWATCH };

typedef struct ev {
    struct ev *next;
    int type;
    uint8_t room[RELAY_V2C_ROOM_BYTES];
    relay_jslog_err err;
    uint64_t seq, time_ms, expect_last;
    unsigned flags;
    size_t stored;
    uint8_t *data; /* entry body or creation record (malloc'ed) */
    size_t len;
    void *watch;
} ev;

typedef struct job {
    struct job *next;
    int type;
    uint8_t room[RELAY_V2C_ROOM_BYTES];
    uint64_t after;
    relay_jslog_item *items; /* bodies copied into blob */
    size_t n;
    uint8_t *blob;
    size_t blob_len;
    void *watch;
    int has_snap;
    relay_v2c_snap snap; /* snap.gi points into snap_gi */
    uint8_t *snap_gi;
} job;

/* One room's watch: its entries go to the event queue once the job that started it has
 * queued its result (before that they wait in buf, so the loop sees opened first). */
typedef struct vwatch {
    struct relay_v2c *c;
    relay_jslog_watch *w;
    uint8_t room[RELAY_V2C_ROOM_BYTES];
    int live;
    ev *buf, **buf_tail;
    struct vwatch *next, *prev; /* every watch not yet stopped */
} vwatch;

struct relay_v2c {
    struct relay *r;
    struct lws_context *ctx;
    char *url;
    relay_jslog_opts o;
    relay_jslog *j; /* worker thread only */
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    job *jobs, **jobs_tail;
    ev *evs, **evs_tail;
    vwatch *watches;
    int stop, detached, wake_pending;
    int state; /* enum relay_v2c_state */
};

/* ---- encoding ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int relay_v2c_entry_encode(const uint8_t hash[RELAY_V2C_HASH_BYTES], const uint8_t *join_pk,
                           const uint8_t *gi, size_t gi_len, const uint8_t *mls, size_t mls_len,
                           uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (!mls || !mls_len || mls_len > RELAY_JSLOG_ENTRY_MAX || gi_len > RELAY_JSLOG_ENTRY_MAX ||
        (gi_len && !gi))
        return -1;
    size_t n = 1 + RELAY_V2C_HASH_BYTES + (join_pk ? RELAY_V2C_PK_BYTES : 0) + 4 + gi_len +
               mls_len;
    if (n > RELAY_JSLOG_ENTRY_MAX)
        return -1;
    uint8_t *p = malloc(n), *q = p;
    if (!p)
        return -1;
    *q++ = 1;
    memcpy(q, hash, RELAY_V2C_HASH_BYTES);
    q += RELAY_V2C_HASH_BYTES;
    if (join_pk) {
        memcpy(q, join_pk, RELAY_V2C_PK_BYTES);
        q += RELAY_V2C_PK_BYTES;
    }
    put_u32(q, (uint32_t)gi_len);
    q += 4;
    if (gi_len)
        memcpy(q, gi, gi_len);
    q += gi_len;
    memcpy(q, mls, mls_len);
    *out = p;
    *out_len = n;
    return 0;
}

int relay_v2c_entry_decode(const uint8_t *body, size_t len, int has_pk, relay_v2c_entry *e)
{
    size_t need = 1 + RELAY_V2C_HASH_BYTES + (has_pk ? RELAY_V2C_PK_BYTES : 0) + 4;
    if (!body || len < need || body[0] != 1)
        return -1;
    const uint8_t *q = body + 1;
    e->hash = q;
    q += RELAY_V2C_HASH_BYTES;
    e->join_pk = NULL;
    if (has_pk) {
        e->join_pk = q;
        q += RELAY_V2C_PK_BYTES;
    }
    uint32_t gl = get_u32(q);
    q += 4;
    if (gl > len - need || len - need - gl == 0) /* an entry always has an MLS message */
        return -1;
    e->gi = gl ? q : NULL;
    e->gi_len = gl;
    e->mls = q + gl;
    e->mls_len = len - need - gl;
    return 0;
}

int relay_v2c_meta_encode(const uint8_t join_pk[RELAY_V2C_PK_BYTES], uint64_t created_ms,
                          const uint8_t *gi, size_t gi_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (!gi || !gi_len || gi_len > RELAY_JSLOG_META_MAX - RELAY_V2C_META_OVERHEAD)
        return -1;
    size_t n = RELAY_V2C_META_OVERHEAD + gi_len;
    uint8_t *p = malloc(n);
    if (!p)
        return -1;
    p[0] = 1;
    memcpy(p + 1, join_pk, RELAY_V2C_PK_BYTES);
    for (int i = 0; i < 8; i++)
        p[33 + i] = (uint8_t)(created_ms >> (56 - 8 * i));
    memcpy(p + RELAY_V2C_META_OVERHEAD, gi, gi_len);
    *out = p;
    *out_len = n;
    return 0;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int relay_v2c_meta_parse(const uint8_t *m, size_t len, relay_v2c_meta *out)
{
    memset(out, 0, sizeof *out);
    if (!m || len <= RELAY_V2C_META_OVERHEAD || (m[0] != 1 && m[0] != 2))
        return -1;
    out->join_pk = m + 1;
    out->created_ms = get_u64(m + 33);
    if (m[0] == 1) {
        out->gi = m + RELAY_V2C_META_OVERHEAD;
        out->gi_len = len - RELAY_V2C_META_OVERHEAD;
        return 0;
    }
    size_t at = RELAY_V2C_META_OVERHEAD;
    if (len - at < 4)
        return -1;
    uint32_t gl = get_u32(m + at);
    at += 4;
    if (!gl || gl > len - at || len - at - gl <= RELAY_V2C_SNAP_OVERHEAD)
        return -1;
    out->gi = m + at;
    out->gi_len = gl;
    at += gl;
    out->has_snap = 1;
    out->epoch = get_u64(m + at);
    out->gi_seq = get_u64(m + at + 8);
    out->snap_hash = m + at + 16;
    out->snap_pk = m + at + 48;
    out->snap_gi = m + at + RELAY_V2C_SNAP_OVERHEAD;
    out->snap_gi_len = len - at - RELAY_V2C_SNAP_OVERHEAD;
    return 0;
}

int relay_v2c_meta_with_snapshot(const relay_v2c_meta *cur, uint64_t epoch, uint64_t gi_seq,
                                 const uint8_t hash[RELAY_V2C_HASH_BYTES],
                                 const uint8_t join_pk[RELAY_V2C_PK_BYTES], const uint8_t *gi,
                                 size_t gi_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    size_t n = RELAY_V2C_META_OVERHEAD + 4 + cur->gi_len + RELAY_V2C_SNAP_OVERHEAD + gi_len;
    if (!gi || !gi_len || n > RELAY_JSLOG_META_MAX || cur->gi_len > UINT32_MAX)
        return -1;
    uint8_t *p = malloc(n), *q = p;
    if (!p)
        return -1;
    *q++ = 2;
    memcpy(q, cur->join_pk, RELAY_V2C_PK_BYTES);
    q += RELAY_V2C_PK_BYTES;
    put_u64(q, cur->created_ms);
    q += 8;
    put_u32(q, (uint32_t)cur->gi_len);
    q += 4;
    memcpy(q, cur->gi, cur->gi_len);
    q += cur->gi_len;
    put_u64(q, epoch);
    put_u64(q + 8, gi_seq);
    memcpy(q + 16, hash, RELAY_V2C_HASH_BYTES);
    memcpy(q + 48, join_pk, RELAY_V2C_PK_BYTES);
    q += RELAY_V2C_SNAP_OVERHEAD;
    memcpy(q, gi, gi_len);
    *out = p;
    *out_len = n;
    return 0;
}

/* ---- queues ---- */

/* Under c->mu: wakes the loop once per drain. */
static void wake_locked(relay_v2c *c)
{
    if (!c->detached && !c->wake_pending) {
        c->wake_pending = 1;
        lws_cancel_service(c->ctx);
    }
}

static void ev_push_locked(relay_v2c *c, ev *e)
{
    e->next = NULL;
    *c->evs_tail = e;
    c->evs_tail = &e->next;
    wake_locked(c);
}

static void ev_push(relay_v2c *c, ev *e)
{
    pthread_mutex_lock(&c->mu);
    ev_push_locked(c, e);
    pthread_mutex_unlock(&c->mu);
}

static void ev_free(ev *e)
{
    if (e) {
        free(e->data);
        free(e);
    }
}

static int job_push(relay_v2c *c, job *jb)
{
    jb->next = NULL;
    pthread_mutex_lock(&c->mu);
    *c->jobs_tail = jb;
    c->jobs_tail = &jb->next;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void job_free(job *jb)
{
    if (jb) {
        free(jb->items);
        free(jb->blob);
        free(jb->snap_gi);
        free(jb);
    }
}

/* ---- watches (callbacks on libnats' threads) ---- */

static int on_entry(void *ctx, const relay_jslog_entry *e)
{
    vwatch *w = ctx;
    relay_v2c *c = w->c;
    ev *x = calloc(1, sizeof *x);
    uint8_t *d = e->len ? malloc(e->len) : NULL;
    if (!x || (e->len && !d)) {
        /* the replica stops at the gap this leaves; a reconnect re-reads from its head */
        free(x);
        free(d);
        relay_log(RELAY_LOG_ERROR, "cluster v2: out of memory taking a log entry");
        return 0;
    }
    x->type = EV_ENTRY;
    memcpy(x->room, w->room, sizeof x->room);
    x->seq = e->seq;
    x->time_ms = e->time_ms;
    x->flags = e->flags;
    if (e->len)
        memcpy(d, e->body, e->len);
    x->data = d;
    x->len = e->len;
    pthread_mutex_lock(&c->mu);
    if (w->live) {
        ev_push_locked(c, x);
    } else {
        x->next = NULL;
        *w->buf_tail = x;
        w->buf_tail = &x->next;
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* Worker: starts a watch of room after after_seq; NULL with *err on failure. */
static vwatch *watch_start(relay_v2c *c, const uint8_t *room, uint64_t after,
                           relay_jslog_err *err)
{
    vwatch *w = calloc(1, sizeof *w);
    if (!w) {
        *err = RELAY_JSLOG_ERR_NATS;
        return NULL;
    }
    w->c = c;
    memcpy(w->room, room, RELAY_V2C_ROOM_BYTES);
    w->buf_tail = &w->buf;
    *err = relay_jslog_watch_start(c->j, room, RELAY_V2C_ROOM_BYTES, after, on_entry, w, &w->w);
    if (*err != RELAY_JSLOG_OK) {
        free(w);
        return NULL;
    }
    pthread_mutex_lock(&c->mu);
    w->next = c->watches;
    if (c->watches)
        c->watches->prev = w;
    c->watches = w;
    pthread_mutex_unlock(&c->mu);
    return w;
}

/* Worker: queues the job's result, then the entries the watch took meanwhile. */
static void result_with_watch(relay_v2c *c, ev *res, vwatch *w)
{
    pthread_mutex_lock(&c->mu);
    ev_push_locked(c, res);
    if (w) {
        while (w->buf) {
            ev *x = w->buf;
            w->buf = x->next;
            ev_push_locked(c, x);
        }
        w->buf_tail = &w->buf;
        w->live = 1;
    }
    pthread_mutex_unlock(&c->mu);
}

static void watch_stop(relay_v2c *c, vwatch *w)
{
    if (!w)
        return;
    relay_jslog_unwatch(w->w); /* no callback after this */
    pthread_mutex_lock(&c->mu);
    if (w->prev)
        w->prev->next = w->next;
    else
        c->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    while (w->buf) {
        ev *x = w->buf;
        w->buf = x->next;
        ev_free(x);
    }
    pthread_mutex_unlock(&c->mu);
    free(w);
}

/* ---- the worker ---- */

static void set_state(relay_v2c *c, int st)
{
    pthread_mutex_lock(&c->mu);
    int changed = c->state != st;
    c->state = st;
    pthread_mutex_unlock(&c->mu);
    if (changed) {
        ev *e = calloc(1, sizeof *e);
        if (e) {
            e->type = EV_STATE;
            ev_push(c, e);
        }
    }
}

/* What read_back compares: the batch's entries from `next` on, against the stream's. */
typedef struct rb_ctx {
    const job *jb;
    size_t next;  /* index of the batch entry expected at the next seq */
    int differs;  /* the stream has another relay's entry there */
} rb_ctx;

static int rb_entry(void *ctx, const relay_jslog_entry *e)
{
    rb_ctx *x = ctx;
    const relay_jslog_item *it = &x->jb->items[x->next];
    if (e->len != it->len || memcmp(e->body, it->body, it->len)) {
        x->differs = 1; /* bodies carry their seq's log hash: equal bytes are ours */
        return 1;
    }
    x->next++;
    return x->next >= x->jb->n;
}

/*
 * An append timed out: some acks were lost or the broker is slow. Reads the stream after
 * the stored prefix to learn which of the rest are there (ours: byte for byte, since each
 * body carries its seq's log hash). Ours found: stored grows. Another relay's entry
 * there: CONFLICT (decide again). Nothing there yet: still TIMEOUT (unknown: an entry
 * may still land, so it is not re-appended).
 */
static void read_back(relay_v2c *c, const job *jb, ev *res)
{
    rb_ctx x = {jb, res->stored, 0};
    uint64_t last = 0;
    if (x.next >= jb->n)
        return;
    relay_jslog_err e = relay_jslog_read(c->j, jb->room, RELAY_V2C_ROOM_BYTES,
                                         jb->after + x.next, (uint32_t)(jb->n - x.next),
                                         rb_entry, &x, &last);
    if (e != RELAY_JSLOG_OK)
        return;
    res->stored = x.next;
    if (x.next == jb->n)
        res->err = RELAY_JSLOG_OK;
    else if (x.differs)
        res->err = RELAY_JSLOG_ERR_CONFLICT;
    relay_log(RELAY_LOG_WARN, "cluster v2: an append timed out; read back: %zu of %zu stored%s",
              x.next, jb->n, x.differs ? ", then another relay's entry" : "");
}

/* Writes the snapshot of the room after the commit at gi_seq into its record (compare-
 * and-set; a record with a later snapshot stays). Best effort: a relay that dies first
 * leaves the record a commit behind, which costs only a later snapshot start. */
static void snap_write(relay_v2c *c, const job *jb, uint64_t gi_seq)
{
    for (int tries = 0; tries < 4; tries++) {
        uint8_t *meta = NULL, *nm = NULL;
        size_t ml = 0, nl = 0;
        uint64_t rev = 0, nrev = 0;
        relay_v2c_meta mp;
        if (relay_jslog_meta_get(c->j, jb->room, RELAY_V2C_ROOM_BYTES, &meta, &ml, &rev) !=
            RELAY_JSLOG_OK)
            return;
        if (relay_v2c_meta_parse(meta, ml, &mp) || (mp.has_snap && mp.gi_seq >= gi_seq) ||
            relay_v2c_meta_with_snapshot(&mp, jb->snap.epoch, gi_seq, jb->snap.hash,
                                         jb->snap.join_pk, jb->snap.gi, jb->snap.gi_len, &nm,
                                         &nl)) {
            free(meta);
            return;
        }
        free(meta);
        relay_jslog_err e = relay_jslog_meta_put(c->j, jb->room, RELAY_V2C_ROOM_BYTES, nm, nl,
                                                 rev, &nrev);
        free(nm);
        if (e != RELAY_JSLOG_ERR_CONFLICT)
            return;
    }
}

static void run_job(relay_v2c *c, job *jb)
{
    ev *res = calloc(1, sizeof *res);
    vwatch *w = NULL;

    if (jb->type == JOB_UNWATCH) {
        free(res);
        watch_stop(c, jb->watch);
        return;
    }
    if (!res) {
        relay_log(RELAY_LOG_ERROR, "cluster v2: out of memory for a result");
        return;
    }
    memcpy(res->room, jb->room, sizeof res->room);
    if (!c->j) {
        res->err = RELAY_JSLOG_ERR_CONNECT;
        res->type = jb->type == JOB_OPEN ? EV_OPENED : jb->type == JOB_CREATE ? EV_CREATED
                                                                                : EV_APPENDED;
        res->expect_last = jb->after;
        ev_push(c, res);
        return;
    }
    switch (jb->type) {
    case JOB_OPEN: {
        uint8_t *meta = NULL;
        size_t ml = 0;
        uint64_t rev = 0;
        res->type = EV_OPENED;
        res->err = relay_jslog_meta_get(c->j, jb->room, RELAY_V2C_ROOM_BYTES, &meta, &ml, &rev);
        if (res->err == RELAY_JSLOG_OK) {
            uint64_t after = jb->after;
            relay_jslog_state st;
            relay_v2c_meta mp;
            res->data = meta;
            res->len = ml;
            /* a new replica of a log that retention cut: start at the record's snapshot */
            if (!after && relay_v2c_meta_parse(meta, ml, &mp) == 0 && mp.has_snap &&
                relay_jslog_state_get(c->j, jb->room, RELAY_V2C_ROOM_BYTES, &st) ==
                    RELAY_JSLOG_OK &&
                st.first_seq > 1 && mp.gi_seq + 1 >= st.first_seq)
                after = res->seq = mp.gi_seq;
            w = watch_start(c, jb->room, after, &res->err);
            /* the head the replica must reach before it answers (the watch delivers it) */
            if (w && relay_jslog_state_get(c->j, jb->room, RELAY_V2C_ROOM_BYTES, &st) ==
                         RELAY_JSLOG_OK)
                res->expect_last = st.last_seq;
        }
        break;
    }
    case JOB_CREATE: {
        uint64_t rev = 0;
        res->type = EV_CREATED;
        res->err = relay_jslog_create(c->j, jb->room, RELAY_V2C_ROOM_BYTES, jb->blob,
                                      jb->blob_len, &rev);
        if (res->err == RELAY_JSLOG_OK) {
            res->data = jb->blob; /* the loop makes the local room from it */
            res->len = jb->blob_len;
            jb->blob = NULL;
            w = watch_start(c, jb->room, 0, &res->err);
        }
        break;
    }
    case JOB_APPEND:
        res->type = EV_APPENDED;
        res->expect_last = jb->after;
        res->err = relay_jslog_append_batch(c->j, jb->room, RELAY_V2C_ROOM_BYTES, jb->items,
                                            jb->n, jb->after, &res->stored);
        if (res->err == RELAY_JSLOG_ERR_TIMEOUT)
            read_back(c, jb, res);
        if (jb->has_snap && res->stored > jb->snap.commit_at)
            snap_write(c, jb, jb->after + 1 + jb->snap.commit_at);
        break;
    }
    if (res->err != RELAY_JSLOG_OK && res->err != RELAY_JSLOG_ERR_CONFLICT &&
        res->err != RELAY_JSLOG_ERR_EXISTS && res->err != RELAY_JSLOG_ERR_NO_ROOM)
        relay_log(RELAY_LOG_WARN, "cluster v2: %s", relay_jslog_errmsg(c->j));
    res->watch = w;
    result_with_watch(c, res, w);
}

static void *worker(void *arg)
{
    relay_v2c *c = arg;
    char err[512];
    int warned = 0;

    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->jobs && !c->stop && c->j)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop && !c->jobs) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        job *jb = NULL;
        if (c->j || c->stop) {
            jb = c->jobs;
            c->jobs = jb->next;
            if (!c->jobs)
                c->jobs_tail = &c->jobs;
        }
        pthread_mutex_unlock(&c->mu);
        if (!c->j && !c->stop) {
            relay_jslog_err e = relay_jslog_open(c->url, &c->o, &c->j, err, sizeof err);
            if (e == RELAY_JSLOG_OK) {
                relay_log(RELAY_LOG_INFO, "cluster v2: room logs in JetStream at %s", c->url);
                set_state(c, RELAY_V2C_UP);
                continue;
            }
            if (e == RELAY_JSLOG_ERR_NO_JS) {
                if (c->state != RELAY_V2C_NO_JS) /* only this thread writes it */
                    relay_log(RELAY_LOG_ERROR,
                              "cluster v2: the broker has no JetStream (%s): protocol v2 "
                              "connections are refused (4003) until it runs with -js", err);
                set_state(c, RELAY_V2C_NO_JS);
            } else if (!warned) {
                relay_log(RELAY_LOG_WARN, "cluster v2: %s; retrying", err);
            }
            warned = 1;
            /* fail what waits (each gets its error), then try again in a second */
            pthread_mutex_lock(&c->mu);
            job *q = c->jobs;
            c->jobs = NULL;
            c->jobs_tail = &c->jobs;
            pthread_mutex_unlock(&c->mu);
            while (q) {
                job *nx = q->next;
                run_job(c, q);
                job_free(q);
                q = nx;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_mutex_lock(&c->mu);
            if (!c->stop)
                pthread_cond_timedwait(&c->cv, &c->mu, &ts);
            pthread_mutex_unlock(&c->mu);
            continue;
        }
        if (jb) {
            run_job(c, jb);
            job_free(jb);
        }
    }
    return NULL;
}

/* ---- the loop side ---- */

relay_v2c *relay_v2c_start(struct relay *r, struct lws_context *ctx, const char *url,
                           const relay_jslog_opts *opts, char *err, size_t errlen)
{
    relay_v2c *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strdup(url))) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->r = r;
    c->ctx = ctx;
    if (opts)
        c->o = *opts;
    else
        relay_jslog_opts_default(&c->o);
    c->jobs_tail = &c->jobs;
    c->evs_tail = &c->evs;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->th, NULL, worker, c)) {
        snprintf(err, errlen, "cannot start the JetStream worker thread");
        relay_v2c_free(c);
        return NULL;
    }
    c->started = 1;
    return c;
}

void relay_v2c_detach(relay_v2c *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->detached = 1;
    pthread_mutex_unlock(&c->mu);
}

void relay_v2c_free(relay_v2c *c)
{
    if (!c)
        return;
    relay_v2c_detach(c);
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->th, NULL);
    }
    while (c->watches)
        watch_stop(c, c->watches);
    while (c->jobs) {
        job *jb = c->jobs;
        c->jobs = jb->next;
        job_free(jb);
    }
    while (c->evs) {
        ev *e = c->evs;
        c->evs = e->next;
        ev_free(e);
    }
    relay_jslog_close(c->j);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->url);
    free(c);
}

enum relay_v2c_state relay_v2c_state_get(relay_v2c *c)
{
    pthread_mutex_lock(&c->mu);
    int st = c->state;
    pthread_mutex_unlock(&c->mu);
    return (enum relay_v2c_state)st;
}

void relay_v2c_drain(relay_v2c *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    ev *q = c->evs;
    c->evs = NULL;
    c->evs_tail = &c->evs;
    c->wake_pending = 0;
    pthread_mutex_unlock(&c->mu);
    if (!q)
        return;
    while (q) {
        ev *e = q;
        q = e->next;
        switch (e->type) {
        case EV_OPENED:
            relay_ws2_c_opened(c->r, e->room, e->err, e->data, e->len, e->watch, e->seq,
                               e->expect_last);
            break;
        case EV_CREATED:
            relay_ws2_c_created(c->r, e->room, e->err, e->data, e->len, e->watch);
            break;
        case EV_APPENDED:
            relay_ws2_c_appended(c->r, e->room, e->err, e->stored, e->expect_last);
            break;
        case EV_ENTRY:
            relay_ws2_c_entry(c->r, e->room, e->seq, e->time_ms, e->flags, e->data, e->len);
            break;
        default:
            break;
        }
        ev_free(e);
    }
    relay_ws2_c_drained(c->r);
}

static job *job_new(int type, const uint8_t *room)
{
    job *jb = calloc(1, sizeof *jb);
    if (jb) {
        jb->type = type;
        if (room)
            memcpy(jb->room, room, RELAY_V2C_ROOM_BYTES);
    }
    return jb;
}

int relay_v2c_open(relay_v2c *c, const uint8_t room[RELAY_V2C_ROOM_BYTES], uint64_t after_seq)
{
    job *jb = job_new(JOB_OPEN, room);
    if (!jb)
        return -1;
    jb->after = after_seq;
    return job_push(c, jb);
}

int relay_v2c_create(relay_v2c *c, const uint8_t room[RELAY_V2C_ROOM_BYTES],
                     const uint8_t *meta, size_t meta_len)
{
    job *jb = job_new(JOB_CREATE, room);
    if (!jb || !meta_len || !(jb->blob = malloc(meta_len))) {
        job_free(jb);
        return -1;
    }
    memcpy(jb->blob, meta, meta_len);
    jb->blob_len = meta_len;
    return job_push(c, jb);
}

int relay_v2c_append(relay_v2c *c, const uint8_t room[RELAY_V2C_ROOM_BYTES],
                     const relay_jslog_item *items, size_t n, uint64_t expect_last)
{
    return relay_v2c_append_snap(c, room, items, n, expect_last, NULL);
}

int relay_v2c_append_snap(relay_v2c *c, const uint8_t room[RELAY_V2C_ROOM_BYTES],
                          const relay_jslog_item *items, size_t n, uint64_t expect_last,
                          const relay_v2c_snap *snap)
{
    size_t total = 0;
    if (!n || n > RELAY_JSLOG_BATCH_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        total += items[i].len;
    job *jb = job_new(JOB_APPEND, room);
    if (!jb || !(jb->items = calloc(n, sizeof *jb->items)) || !(jb->blob = malloc(total))) {
        job_free(jb);
        return -1;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(jb->blob + off, items[i].body, items[i].len);
        jb->items[i] = items[i];
        jb->items[i].body = jb->blob + off;
        off += items[i].len;
    }
    jb->n = n;
    jb->blob_len = total;
    jb->after = expect_last;
    if (snap && snap->commit_at < n && snap->gi && snap->gi_len &&
        (jb->snap_gi = malloc(snap->gi_len))) { /* no memory: no snapshot, no harm */
        jb->has_snap = 1;
        jb->snap = *snap;
        memcpy(jb->snap_gi, snap->gi, snap->gi_len);
        jb->snap.gi = jb->snap_gi;
    }
    return job_push(c, jb);
}

void relay_v2c_unwatch(relay_v2c *c, void *watch)
{
    if (!c || !watch)
        return;
    job *jb = job_new(JOB_UNWATCH, NULL);
    if (!jb) { /* keep it: relay_v2c_free stops every watch */
        relay_log(RELAY_LOG_WARN, "cluster v2: out of memory stopping a watch");
        return;
    }
    jb->watch = watch;
    job_push(c, jb);
}
