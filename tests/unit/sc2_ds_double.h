/*
 * sc2_ds_double.h: a TEST DOUBLE of the relay's v2 delivery service, in process, for
 * test_sc2_room only. It is not the relay: it has no sockets, no storage and no limits,
 * and exists so that several sc2_room instances can be driven through the rules of
 * docs/V2-DESIGN.md ("Delivery-service rules" and the envelope table) deterministically
 * in one process. sc2_room against the real relay binary: tests/relay/v2_e2e.c.
 *
 * What it does, as the design says the relay does:
 *   - CHALLENGE first on every connection (random nonce, max_payload);
 *   - AUTH against the room's current or an earlier join_pk (earlier: RESUME only; GET_GI
 *     gives ERROR OLD_KEY, SUBMIT REJECTED KEY_RETIRED); CREATE proves possession and
 *     authenticates; NO_ROOM / ROOM_EXISTS / BAD_PROOF close the connection;
 *   - SUBMIT: reads the clear MLS header (group_id must be room_id, epoch, content type):
 *     a message whose epoch is not the room's is REJECTED STALE_EPOCH; the first commit
 *     of an epoch wins and moves the room on; a commit needs a gi_box; a commit's join_pk
 *     replaces the current key; ACCEPTED to the submitter, then LOG to every connection
 *     that RESUMEd (the submitter included), with the time_ms it stored;
 *   - RESUME: entries after after_seq then LIVE, or GONE if retention dropped them; a
 *     second RESUME is BAD_STATE; a connection whose key is an earlier one reads up to the
 *     commit that replaced the key, then gets ERROR OLD_KEY (it stays) and nothing more
 *     until it AUTHs with a later key;
 *   - the log hash chain of every entry, so GI carries L of its seq.
 * Hostile hooks a test sets: per connection, drop one seq (a gap), send one twice (a
 * duplicate), alter time_ms of the entries from a seq on (a fork: that member's chain
 * differs); for the room, store commits without their rotated join_pk (a relay that
 * keeps the old link alive) or serve its first GroupInfo (a stale one), retention
 * (ds_drop_before), and a restart on an empty store (ds_forget).
 */
#ifndef SC2_DS_DOUBLE_H
#define SC2_DS_DOUBLE_H

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sc2_envelope.h"
#include "sc2_link.h"
#include "sc2_loghash.h"

#define DS_MAX_CONN 16
#define DS_MAX_KEYS 32
#define DS_MAX_PAYLOAD (1u << 20)

typedef struct ds_msg {
    uint8_t *p;
    size_t len;
} ds_msg;

typedef struct ds_entry {
    uint8_t *body; /* the LOG body as stored */
    size_t body_len;
    uint64_t epoch; /* the epoch of the message */
    int commit;
} ds_entry;

typedef struct ds_conn {
    int open;
    int closing; /* the relay closes after the queued messages */
    int key;     /* index into keys, -1 before AUTH */
    int resumed;
    uint64_t sent; /* last seq sent as LOG (after RESUME) */
    int live;      /* LIVE sent */
    int held;      /* stopped at its key's until seq, OLD_KEY sent */
    uint8_t nonce[32];
    ds_msg *q;
    size_t nq, qhead, qcap;
    uint64_t skip_seq;     /* hook: never send the LOG with this seq */
    uint64_t tamper_from;  /* hook: time_ms + 1 on LOG entries with seq >= this */
    uint64_t dup_seq;      /* hook: send the LOG with this seq twice */
} ds_conn;

typedef struct ds {
    int exists;
    uint8_t room_id[16];
    uint64_t epoch;
    uint8_t keys[DS_MAX_KEYS][32];
    uint64_t key_until[DS_MAX_KEYS]; /* seq of the commit that replaced keys[i] */
    int n_keys;
    uint8_t *gi_box;
    size_t gi_len;
    uint64_t gi_seq;
    uint8_t gi_l[32];
    ds_entry *log; /* log[s - 1] is seq s; entries below oldest are freed */
    size_t n_log, cap_log;
    uint64_t oldest;
    uint8_t head_l[32];
    uint64_t time_ms;
    ds_conn conns[DS_MAX_CONN];
    uint64_t n_accepted, n_rejected_stale;
    int strip_join_pk; /* hook: store commits without their rotated join_pk (a cheat) */
    int serve_first_gi; /* hook: GET_GI answers with the room's first GroupInfo (stale) */
    uint8_t *first_gi;
    size_t first_gi_len;
    uint8_t first_l[32];
} ds;

static void ds_init(ds *d, const uint8_t room_id[16])
{
    memset(d, 0, sizeof *d);
    memcpy(d->room_id, room_id, 16);
    sc2_lh_genesis(room_id, d->head_l);
    memcpy(d->gi_l, d->head_l, 32);
    d->oldest = 1;
    d->time_ms = 1700000000000ull;
}

static void ds_push(ds *d, int c, const uint8_t *p, size_t n)
{
    ds_conn *k = &d->conns[c];
    if (!k->open || k->closing || n == 0)
        return;
    if (k->nq == k->qcap) {
        k->qcap = k->qcap ? k->qcap * 2 : 16;
        k->q = realloc(k->q, k->qcap * sizeof *k->q);
        if (!k->q)
            abort();
    }
    k->q[k->nq].p = malloc(n);
    if (!k->q[k->nq].p)
        abort();
    memcpy(k->q[k->nq].p, p, n);
    k->q[k->nq++].len = n;
}

static void ds_error(ds *d, int c, uint16_t code, const char *why, int closes)
{
    uint8_t buf[256];
    ds_push(d, c, buf, sc2_env_encode_error(buf, sizeof buf, code, why));
    if (closes)
        d->conns[c].closing = 1;
}

static int ds_open(ds *d)
{
    for (int c = 0; c < DS_MAX_CONN; c++) {
        ds_conn *k = &d->conns[c];
        if (k->open)
            continue;
        memset(k, 0, sizeof *k);
        k->open = 1;
        k->key = -1;
        randombytes_buf(k->nonce, sizeof k->nonce);
        uint8_t buf[64];
        ds_push(d, c, buf,
                sc2_env_encode_challenge(buf, sizeof buf, k->nonce, DS_MAX_PAYLOAD));
        return c;
    }
    abort();
}

static void ds_close(ds *d, int c)
{
    ds_conn *k = &d->conns[c];
    for (size_t i = k->qhead; i < k->nq; i++)
        free(k->q[i].p);
    free(k->q);
    memset(k, 0, sizeof *k);
}

/* The next message for connection c, or NULL. The caller frees it with free(). */
static uint8_t *ds_pop(ds *d, int c, size_t *len)
{
    ds_conn *k = &d->conns[c];
    if (k->qhead == k->nq)
        return NULL;
    ds_msg m = k->q[k->qhead++];
    if (k->qhead == k->nq)
        k->qhead = k->nq = 0;
    *len = m.len;
    return m.p;
}

static void ds_send_log(ds *d, int c, uint64_t seq)
{
    ds_conn *k = &d->conns[c];
    const ds_entry *e = &d->log[seq - 1];
    if (seq == k->skip_seq)
        return;
    size_t n = SC2_ENV_HEADER_BYTES + e->body_len;
    uint8_t *buf = malloc(n);
    if (!buf)
        abort();
    buf[0] = SC2_ENV_VERSION;
    buf[1] = SC2_T_LOG;
    buf[2] = (uint8_t)(e->body_len >> 24);
    buf[3] = (uint8_t)(e->body_len >> 16);
    buf[4] = (uint8_t)(e->body_len >> 8);
    buf[5] = (uint8_t)e->body_len;
    memcpy(buf + 6, e->body, e->body_len);
    if (k->tamper_from && seq >= k->tamper_from)
        buf[6 + 15] ^= 1; /* low byte of time_ms */
    ds_push(d, c, buf, n);
    if (seq == k->dup_seq)
        ds_push(d, c, buf, n);
    free(buf);
}

/* Sends connection c what it may read: the log up to its key's limit, then LIVE once (the
 * current key) or ERROR OLD_KEY once (an earlier key, at the commit that replaced it). */
static void ds_pump(ds *d, int c)
{
    ds_conn *k = &d->conns[c];
    uint8_t buf[160];
    if (!k->open || k->closing || !k->resumed || k->key < 0)
        return;
    int current = k->key == d->n_keys - 1;
    uint64_t lim = current ? d->n_log : d->key_until[k->key];
    if (lim > d->n_log)
        lim = d->n_log;
    while (k->sent < lim)
        ds_send_log(d, c, ++k->sent);
    if (!current) {
        if (!k->held && k->sent >= d->key_until[k->key]) {
            k->held = 1;
            ds_error(d, c, SC2_C_OLD_KEY, "earlier key: the rest needs the new key", 0);
        }
        return;
    }
    if (!k->live) {
        k->live = 1;
        ds_push(d, c, buf, sc2_env_encode_live(buf, sizeof buf, k->sent));
    }
}

/* MLS varint (RFC 9420 2.1.2). */
static int ds_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
    if (*pos >= n)
        return -1;
    uint8_t pre = p[*pos] >> 6;
    size_t len = pre == 0 ? 1 : pre == 1 ? 2 : pre == 2 ? 4 : 0;
    if (!len || n - *pos < len)
        return -1;
    *v = p[*pos] & 0x3f;
    for (size_t i = 1; i < len; i++)
        *v = (*v << 8) | p[*pos + i];
    *pos += len;
    return 0;
}

/* The clear header of an MLSMessage: group_id, epoch, content_type. */
static int ds_mls_header(const ds *d, const uint8_t *m, size_t n, uint64_t *epoch,
                         int *commit)
{
    size_t pos = 4;
    uint64_t gl;
    if (n < 4 || m[0] != 0 || m[1] != 1 || m[2] != 0 || (m[3] != 1 && m[3] != 2))
        return -1;
    int pub = m[3] == 1;
    if (ds_varint(m, n, &pos, &gl) || gl != 16 || n - pos < 16 + 8 ||
        memcmp(m + pos, d->room_id, 16) != 0)
        return -1;
    pos += 16;
    *epoch = 0;
    for (int i = 0; i < 8; i++)
        *epoch = (*epoch << 8) | m[pos++];
    if (pub) {
        if (pos >= n)
            return -1;
        uint8_t st = m[pos++];
        if (st == 1 || st == 2)
            pos += 4;
        else if (st != 3 && st != 4)
            return -1;
        uint64_t al;
        if (ds_varint(m, n, &pos, &al) || n - pos < al + 1)
            return -1;
        pos += al;
    }
    if (pos >= n)
        return -1;
    *commit = m[pos] == 3;
    return 0;
}

static int ds_key_of(const ds *d, const uint8_t *pk, const uint8_t *nonce, const uint8_t *sig)
{
    for (int i = d->n_keys - 1; i >= 0; i--)
        if (memcmp(d->keys[i], pk, 32) == 0)
            return sc2_link_auth_verify(pk, d->room_id, nonce, sig) == 0 ? i : -1;
    return -1;
}

static void ds_submit(ds *d, int c, const sc2_env *e)
{
    ds_conn *k = &d->conns[c];
    uint8_t buf[64];
    uint64_t epoch;
    int commit;
    if (k->key != d->n_keys - 1) {
        ds_push(d, c, buf,
                sc2_env_encode_rejected(buf, sizeof buf, e->token, SC2_C_KEY_RETIRED,
                                        d->epoch));
        return;
    }
    uint16_t code = 0;
    if (ds_mls_header(d, e->mls, e->mls_len, &epoch, &commit))
        code = SC2_C_BAD_MLS;
    else if (epoch != d->epoch)
        code = SC2_C_STALE_EPOCH;
    else if (commit && !e->gi_box)
        code = SC2_C_NO_GROUPINFO;
    else if (!commit && e->gi_box)
        code = SC2_C_NOT_COMMIT;
    if (code) {
        if (code == SC2_C_STALE_EPOCH)
            d->n_rejected_stale++;
        ds_push(d, c, buf, sc2_env_encode_rejected(buf, sizeof buf, e->token, code, d->epoch));
        return;
    }
    uint64_t seq = d->n_log + 1;
    const uint8_t *jpk = d->strip_join_pk ? NULL : e->join_pk;
    uint8_t flags = (uint8_t)((commit ? SC2_LOG_F_COMMIT : 0) |
                              (jpk ? SC2_LOG_F_JOIN_PK : 0));
    size_t n = sc2_env_encode_log(NULL, 0, seq, ++d->time_ms, flags, jpk, e->mls, e->mls_len);
    uint8_t *env = malloc(n);
    if (!env || !n)
        abort();
    sc2_env_encode_log(env, n, seq, d->time_ms, flags, jpk, e->mls, e->mls_len);
    if (d->n_log == d->cap_log) {
        d->cap_log = d->cap_log ? d->cap_log * 2 : 64;
        d->log = realloc(d->log, d->cap_log * sizeof *d->log);
        if (!d->log)
            abort();
    }
    ds_entry *le = &d->log[d->n_log++];
    le->body_len = n - SC2_ENV_HEADER_BYTES;
    le->body = malloc(le->body_len);
    if (!le->body)
        abort();
    memcpy(le->body, env + SC2_ENV_HEADER_BYTES, le->body_len);
    le->epoch = epoch;
    le->commit = commit;
    free(env);
    sc2_lh_step(d->head_l, seq, le->body, le->body_len, d->head_l);
    if (commit) {
        d->epoch++;
        free(d->gi_box);
        d->gi_box = malloc(e->gi_box_len);
        if (!d->gi_box)
            abort();
        memcpy(d->gi_box, e->gi_box, e->gi_box_len);
        d->gi_len = e->gi_box_len;
        d->gi_seq = seq;
        memcpy(d->gi_l, d->head_l, 32);
        if (jpk && d->n_keys < DS_MAX_KEYS) {
            d->key_until[d->n_keys - 1] = seq;
            memcpy(d->keys[d->n_keys++], jpk, 32);
        }
    }
    d->n_accepted++;
    ds_push(d, c, buf, sc2_env_encode_accepted(buf, sizeof buf, e->token, seq));
    for (int o = 0; o < DS_MAX_CONN; o++)
        ds_pump(d, o);
}

/* One WebSocket message from the client on connection c. */
static void ds_input(ds *d, int c, const uint8_t *msg, size_t len)
{
    ds_conn *k = &d->conns[c];
    sc2_env e;
    uint8_t buf[128];
    if (!k->open || k->closing)
        return;
    if (sc2_env_decode(msg, len, SC2_FROM_CLIENT, &e)) {
        ds_error(d, c, SC2_C_MALFORMED, "malformed", 1);
        return;
    }
    switch (e.type) {
    case SC2_T_AUTH:
        if (!d->exists) {
            ds_error(d, c, SC2_C_NO_ROOM, "no such room", 1);
            return;
        }
        k->key = ds_key_of(d, e.join_pk, k->nonce, e.sig);
        if (k->key < 0) {
            ds_error(d, c, SC2_C_BAD_PROOF, "bad proof", 1);
            return;
        }
        k->held = 0;
        ds_pump(d, c); /* a reader held at an earlier key's limit goes on */
        return;
    case SC2_T_CREATE:
        if (d->exists) {
            ds_error(d, c, SC2_C_ROOM_EXISTS, "room exists", 1);
            return;
        }
        if (sc2_link_auth_verify(e.join_pk, d->room_id, k->nonce, e.sig)) {
            ds_error(d, c, SC2_C_BAD_PROOF, "bad proof", 1);
            return;
        }
        d->exists = 1;
        memcpy(d->keys[0], e.join_pk, 32);
        d->n_keys = 1;
        d->gi_box = malloc(e.gi_box_len);
        if (!d->gi_box)
            abort();
        memcpy(d->gi_box, e.gi_box, e.gi_box_len);
        d->gi_len = e.gi_box_len;
        d->first_gi = malloc(e.gi_box_len);
        if (!d->first_gi)
            abort();
        memcpy(d->first_gi, e.gi_box, e.gi_box_len);
        d->first_gi_len = e.gi_box_len;
        memcpy(d->first_l, d->gi_l, 32);
        k->key = 0;
        return;
    case SC2_T_GET_GI: {
        if (k->key < 0) {
            ds_error(d, c, SC2_C_NOT_AUTHENTICATED, "not authenticated", 1);
            return;
        }
        if (k->key != d->n_keys - 1) {
            ds_error(d, c, SC2_C_OLD_KEY, "earlier key: resume only", 0);
            return;
        }
        int old = d->serve_first_gi && d->first_gi;
        const uint8_t *box = old ? d->first_gi : d->gi_box;
        size_t bl = old ? d->first_gi_len : d->gi_len;
        uint64_t gs = old ? 0 : d->gi_seq;
        const uint8_t *gl = old ? d->first_l : d->gi_l;
        size_t n = sc2_env_encode_gi(NULL, 0, gs, gl, box, bl);
        uint8_t *g = malloc(n);
        if (!g)
            abort();
        sc2_env_encode_gi(g, n, gs, gl, box, bl);
        ds_push(d, c, g, n);
        free(g);
        return;
    }
    case SC2_T_RESUME:
        if (k->key < 0) {
            ds_error(d, c, SC2_C_NOT_AUTHENTICATED, "not authenticated", 1);
            return;
        }
        if (k->resumed) {
            ds_error(d, c, SC2_C_BAD_STATE, "second RESUME", 1);
            return;
        }
        if (e.seq > d->n_log) {
            ds_error(d, c, SC2_C_SEQ_AHEAD, "after_seq past head", 1);
            return;
        }
        if (e.seq + 1 < d->oldest) {
            ds_push(d, c, buf, sc2_env_encode_gone(buf, sizeof buf, d->oldest));
            return;
        }
        k->resumed = 1;
        k->sent = e.seq;
        k->live = 0;
        ds_pump(d, c);
        return;
    case SC2_T_SUBMIT:
        if (k->key < 0) {
            ds_error(d, c, SC2_C_NOT_AUTHENTICATED, "not authenticated", 1);
            return;
        }
        ds_submit(d, c, &e);
        return;
    default:
        ds_error(d, c, SC2_C_MALFORMED, "unexpected", 1);
    }
}

/* Retention overtook connection c's reader: GONE now (it may RESUME again). */
static void ds_gone(ds *d, int c)
{
    uint8_t buf[32];
    ds_push(d, c, buf, sc2_env_encode_gone(buf, sizeof buf, d->oldest));
    d->conns[c].resumed = 0;
}

/* Retention: entries before seq are gone (the newest GroupInfo stays). */
static void ds_drop_before(ds *d, uint64_t seq)
{
    for (uint64_t s = d->oldest; s < seq && s <= d->n_log; s++) {
        free(d->log[s - 1].body);
        d->log[s - 1].body = NULL;
    }
    if (seq > d->oldest)
        d->oldest = seq;
}

/* A deep copy of src's room and log (no connections). */
static void ds_clone(ds *dst, const ds *src)
{
    *dst = *src;
    memset(dst->conns, 0, sizeof dst->conns);
    dst->log = src->cap_log ? malloc(src->cap_log * sizeof *src->log) : NULL;
    for (size_t i = 0; i < src->n_log; i++) {
        dst->log[i] = src->log[i];
        if (src->log[i].body) {
            dst->log[i].body = malloc(src->log[i].body_len);
            memcpy(dst->log[i].body, src->log[i].body, src->log[i].body_len);
        }
    }
    dst->first_gi = NULL;
    if (src->first_gi) {
        dst->first_gi = malloc(src->first_gi_len);
        memcpy(dst->first_gi, src->first_gi, src->first_gi_len);
    }
    dst->gi_box = NULL;
    if (src->gi_box) {
        dst->gi_box = malloc(src->gi_len);
        memcpy(dst->gi_box, src->gi_box, src->gi_len);
    }
}

static void ds_free(ds *d)
{
    for (int c = 0; c < DS_MAX_CONN; c++)
        if (d->conns[c].open)
            ds_close(d, c);
    for (size_t i = 0; i < d->n_log; i++)
        free(d->log[i].body);
    free(d->log);
    free(d->gi_box);
    free(d->first_gi);
}

/* The relay restarted on an empty store: the room, its log and every connection are gone
 * (the caller disconnects its clients first); AUTH now answers NO_ROOM. */
static void ds_forget(ds *d)
{
    uint8_t room_id[16];
    memcpy(room_id, d->room_id, sizeof room_id);
    ds_free(d);
    ds_init(d, room_id);
}

#endif
