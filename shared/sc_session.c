#include "sc_session.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_bytes.h"
#include "sc_chain.h"
#include "sc_channel.h"
#include "sc_envelope.h"
#include "sc_group.h"
#include "sc_handshake.h"
#include "sc_identity.h"
#include "sc_invite.h"
#include "sc_rng.h"
#include "sc_utf8.h"
#include "sc_wire.h"

/* Bounds not in the header; docs/PROTOCOL.md 7.8 lists them all. */
#define PENDING_CHAINS 4u                 /* chain snapshots kept for an unauthenticated peer */
#define HELD_TOTAL 256u                   /* held group messages, all members together */
#define HELD_TOTAL_BYTES (4u << 20)
#define OUTPUT_SOFT (1u << 20)            /* outbox flushing pauses above this many bytes */
#define OUTPUT_HARD (8u << 20)            /* above this the connection is failed */
#define EVENTS_MAX 16384u                 /* queued events */
#define EVENT_TEXT_BYTES (16u << 20)      /* message text held by queued events */
#define MIN_MAX_PAYLOAD 256u              /* a relay allowing less cannot carry a handshake */
#define REASON_CHARS 160u
#define HS_BUF 512u
#define CHAN_BUF 256u

typedef struct held_msg {
    uint8_t *data;
    size_t len;
    uint32_t chain_id;
} held_msg;

typedef struct member {
    uint64_t id;
    int in_welcome;   /* listed in WELCOME: initial sync waits for it */
    int authed;       /* handshake DONE, chan valid, ik/name/fp set */
    int failed;       /* handshake FAILED (final for this id) */
    int keyed;        /* at least one SKD received */
    int keys_expired; /* authenticated but no SKD in time: stop holding */
    uint64_t deadline;
    sc_hs hs;
    sc_chan chan;
    uint8_t ik[SC_IDENTITY_PK_BYTES];
    char name[SC_SESSION_MAX_NAME + 1];
    char fp[SC_IDENTITY_FINGERPRINT_CHARS + 1];
    sc_chain_in chains[2]; /* [0] newest, [1] previous; chain_id 0 = empty */
    uint8_t pending[PENDING_CHAINS][SC_CHAIN_SKD_BYTES];
    unsigned n_pending;
    held_msg held[SC_SESSION_MAX_HELD];
    unsigned n_held;
} member;

typedef struct outbox_msg {
    uint64_t msg_id, time_ms;
    uint64_t token; /* SYNC token that follows it; 0 while queued */
    uint8_t *text;
    size_t len;
} outbox_msg;

typedef struct out_node {
    struct out_node *next;
    size_t len;
    uint8_t data[];
} out_node;

typedef struct ev_node {
    struct ev_node *next;
    sc_event ev;
    int has_identity;
    uint8_t identity[SC_IDENTITY_PK_BYTES];
    char name[SC_SESSION_MAX_NAME + 1];
    char fp[SC_IDENTITY_FINGERPRINT_CHARS + 1];
    char reason[REASON_CHARS];
    uint8_t *text;
} ev_node;

typedef struct seen_id {
    uint64_t msg_id;
    uint8_t ik[SC_IDENTITY_PK_BYTES];
} seen_id;

struct sc_session {
    sc_rng rng;
    sc_hs_ctx ctx; /* room id and key, identity, name */
    char room_text[SC_INVITE_ROOM_ID_CHARS + 1];
    char fp[SC_IDENTITY_FINGERPRINT_CHARS + 1];
    uint32_t rotate_after;
    size_t max_group; /* largest valid GROUP message */

    /* per connection */
    int connected, initial_sync, broken;
    uint64_t self_id;
    uint32_t max_payload;
    const char *rotate_reason; /* rotation requested while processing input */
    int have_chain;
    sc_chain_out chain;
    member *members[SC_SESSION_MAX_MEMBERS];
    size_t n_members;
    size_t held_total, held_bytes;
    out_node *out_head, *out_tail;
    size_t out_bytes;

    /* across connections */
    outbox_msg outbox[SC_SESSION_MAX_OUTBOX];
    size_t n_outbox;
    uint64_t next_token, synced_upto;
    ev_node *ev_head, *ev_tail, *ev_cur;
    size_t n_events, ev_text_bytes, ev_dropped;
    seen_id *seen;
    size_t n_seen, seen_pos;
    /* identities authenticated when a connection was lost and not yet back: the outbox
     * waits for them after the next WELCOME, until rejoin_deadline (0: not started) */
    uint8_t rejoin_ik[SC_SESSION_MAX_MEMBERS][SC_IDENTITY_PK_BYTES];
    size_t n_rejoin;
    uint64_t rejoin_deadline;

    uint8_t *plainbuf, *sealbuf; /* max_group bytes each */
    uint8_t chanbuf[SC_CHAN_MAX_BODY];
};

/* ---- events ---- */

static void ev_free(ev_node *e)
{
    if (!e)
        return;
    if (e->text) {
        sodium_memzero(e->text, e->ev.text_len);
        free(e->text);
    }
    sodium_memzero(e, sizeof *e);
    free(e);
}

static void release_cur(sc_session *s)
{
    ev_free(s->ev_cur);
    s->ev_cur = NULL;
}

/* Queues an event about m (or member id if m is NULL). Returns the node for the caller to
 * complete, or NULL if the queue is full (the drop is counted and reported later). */
static ev_node *ev_add(sc_session *s, enum sc_event_type type, const member *m, uint64_t id)
{
    if (s->n_events >= EVENTS_MAX) {
        s->ev_dropped++;
        return NULL;
    }
    ev_node *e = calloc(1, sizeof *e);
    if (!e) {
        s->ev_dropped++;
        return NULL;
    }
    e->ev.type = type;
    e->ev.member = m ? m->id : id;
    if (m && m->authed) {
        e->has_identity = 1;
        memcpy(e->identity, m->ik, sizeof e->identity);
        memcpy(e->name, m->name, sizeof e->name);
        memcpy(e->fp, m->fp, sizeof e->fp);
    }
    if (s->ev_tail)
        s->ev_tail->next = e;
    else
        s->ev_head = e;
    s->ev_tail = e;
    s->n_events++;
    return e;
}

__attribute__((format(printf, 2, 3))) static void ev_reason(ev_node *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
}

static void ev_simple(sc_session *s, enum sc_event_type type, const member *m, uint64_t id,
                      const char *reason)
{
    ev_reason(ev_add(s, type, m, id), "%s", reason);
}

static void warn(sc_session *s, const member *m, uint64_t id, const char *reason)
{
    ev_simple(s, SC_EV_WARNING, m, id, reason);
}

static void undecryptable(sc_session *s, const member *m, uint64_t id, const char *reason)
{
    ev_simple(s, SC_EV_UNDECRYPTABLE, m, id, reason);
}

/* The connection cannot continue (output overflow): report once, refuse input. */
static void conn_fail(sc_session *s, const char *reason)
{
    if (s->broken)
        return;
    s->broken = 1;
    ev_simple(s, SC_EV_PROTOCOL_ERROR, NULL, 0, reason);
}

/* ---- output ---- */

static uint8_t *out_alloc(sc_session *s, size_t len)
{
    if (s->broken)
        return NULL;
    if (s->out_bytes + len > OUTPUT_HARD) {
        conn_fail(s, "output queue over 8 MiB: the connection is not being written; reconnect");
        return NULL;
    }
    out_node *o = malloc(sizeof *o + len);
    if (!o) {
        conn_fail(s, "out of memory for output; reconnect");
        return NULL;
    }
    o->next = NULL;
    o->len = len;
    if (s->out_tail)
        s->out_tail->next = o;
    else
        s->out_head = o;
    s->out_tail = o;
    s->out_bytes += len;
    return o->data;
}

static void out_send_to(sc_session *s, uint64_t to, const uint8_t *p, size_t n)
{
    size_t total = SC_ENV_SEND_TO_OVERHEAD + n;
    uint8_t *d = out_alloc(s, total);
    if (d)
        sc_env_encode_send_to(d, total, to, p, n);
}

static void out_send_all(sc_session *s, const uint8_t *p, size_t n)
{
    size_t total = SC_ENV_HEADER_BYTES + n;
    uint8_t *d = out_alloc(s, total);
    if (d)
        sc_env_encode_send_all(d, total, p, n);
}

static void out_sync(sc_session *s, uint64_t token)
{
    uint8_t *d = out_alloc(s, SC_ENV_HEADER_BYTES + 8);
    if (d)
        sc_env_encode_sync(d, SC_ENV_HEADER_BYTES + 8, token);
}

static void out_clear(sc_session *s)
{
    out_node *o = s->out_head;
    while (o) {
        out_node *next = o->next;
        free(o);
        o = next;
    }
    s->out_head = s->out_tail = NULL;
    s->out_bytes = 0;
}

/* ---- members ---- */

static member *find_member(const sc_session *s, uint64_t id)
{
    for (size_t i = 0; i < s->n_members; i++)
        if (s->members[i]->id == id)
            return s->members[i];
    return NULL;
}

static int member_active_timer(const member *m)
{
    if (m->failed)
        return 0;
    if (!m->authed)
        return 1;
    return !m->keys_expired && (!m->keyed || m->n_held > 0);
}

static void drop_held(sc_session *s, member *m, unsigned i)
{
    s->held_total--;
    s->held_bytes -= m->held[i].len;
    sodium_memzero(m->held[i].data, m->held[i].len);
    free(m->held[i].data);
    memmove(&m->held[i], &m->held[i + 1], (m->n_held - i - 1) * sizeof m->held[0]);
    m->n_held--;
}

/* Every held message from m becomes UNDECRYPTABLE with reason. */
static void flush_held(sc_session *s, member *m, const char *reason)
{
    while (m->n_held > 0) {
        undecryptable(s, m, 0, reason);
        drop_held(s, m, 0);
    }
}

static void wipe_pending(member *m)
{
    sodium_memzero(m->pending, sizeof m->pending);
    m->n_pending = 0;
}

static void add_pending(member *m, const uint8_t skd[SC_CHAIN_SKD_BYTES])
{
    if (m->n_pending == PENDING_CHAINS) {
        memmove(m->pending[0], m->pending[1], (PENDING_CHAINS - 1) * SC_CHAIN_SKD_BYTES);
        m->n_pending--;
    }
    memcpy(m->pending[m->n_pending++], skd, SC_CHAIN_SKD_BYTES);
}

static void member_free(sc_session *s, member *m, const char *held_reason)
{
    flush_held(s, m, held_reason);
    sc_hs_wipe(&m->hs);
    sc_chan_wipe(&m->chan);
    for (int i = 0; i < 2; i++)
        if (m->chains[i].chain_id)
            sc_chain_in_free(&m->chains[i]);
    sodium_memzero(m, sizeof *m);
    free(m);
}

static void member_remove(sc_session *s, member *m, const char *held_reason)
{
    for (size_t i = 0; i < s->n_members; i++) {
        if (s->members[i] == m) {
            memmove(&s->members[i], &s->members[i + 1],
                    (s->n_members - i - 1) * sizeof s->members[0]);
            s->n_members--;
            break;
        }
    }
    member_free(s, m, held_reason);
}

/* A peer became known: snapshot our chain for it and start the handshake. Returns the
 * member, or NULL at the member limit or without memory. */
static member *member_add(sc_session *s, uint64_t id, uint64_t now, int in_welcome)
{
    if (s->n_members >= SC_SESSION_MAX_MEMBERS)
        return NULL;
    member *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->id = id;
    m->in_welcome = in_welcome;
    m->deadline = now + SC_SESSION_HANDSHAKE_TIMEOUT_MS;
    sc_chain_out_skd(&s->chain, m->pending[0]);
    m->n_pending = 1;
    uint8_t hs1[HS_BUF];
    size_t n = 0;
    if (sc_hs_start(&m->hs, &s->ctx, &s->rng, s->self_id, id, hs1, sizeof hs1, &n) != 0) {
        member_free(s, m, "");
        return NULL;
    }
    s->members[s->n_members++] = m;
    if (n)
        out_send_to(s, id, hs1, n);
    return m;
}

static void send_skd(sc_session *s, member *m, const uint8_t skd[SC_CHAIN_SKD_BYTES])
{
    uint8_t buf[CHAN_BUF];
    size_t n = 0;
    if (sc_chan_seal(&m->chan, SC_CTYPE_SKD, skd, SC_CHAIN_SKD_BYTES, buf, sizeof buf, &n) == 0)
        out_send_to(s, m->id, buf, n);
    else
        warn(s, m, 0, "could not seal sender key for member");
}

/* ---- waiting for the members of before a reconnect ---- */

static size_t rejoin_find(const sc_session *s, const uint8_t ik[SC_IDENTITY_PK_BYTES])
{
    for (size_t i = 0; i < s->n_rejoin; i++)
        if (memcmp(s->rejoin_ik[i], ik, SC_IDENTITY_PK_BYTES) == 0)
            return i;
    return s->n_rejoin;
}

static void rejoin_clear(sc_session *s)
{
    sodium_memzero(s->rejoin_ik, s->n_rejoin * sizeof s->rejoin_ik[0]);
    s->n_rejoin = 0;
    s->rejoin_deadline = 0;
}

/* The connection is ending: adds every authenticated member's identity to those still
 * awaited (a drop during the wait keeps waiting for the ones not back yet). */
static void rejoin_remember(sc_session *s)
{
    for (size_t i = 0; i < s->n_members && s->n_rejoin < SC_SESSION_MAX_MEMBERS; i++) {
        const member *m = s->members[i];
        if (m->authed && rejoin_find(s, m->ik) == s->n_rejoin)
            memcpy(s->rejoin_ik[s->n_rejoin++], m->ik, SC_IDENTITY_PK_BYTES);
    }
    s->rejoin_deadline = 0;
}

/* An identity authenticated on this connection: it no longer holds the outbox. */
static void rejoin_returned(sc_session *s, const uint8_t ik[SC_IDENTITY_PK_BYTES])
{
    size_t i = rejoin_find(s, ik);
    if (i == s->n_rejoin)
        return;
    s->n_rejoin--;
    memcpy(s->rejoin_ik[i], s->rejoin_ik[s->n_rejoin], SC_IDENTITY_PK_BYTES);
    sodium_memzero(s->rejoin_ik[s->n_rejoin], SC_IDENTITY_PK_BYTES);
    if (s->n_rejoin == 0)
        s->rejoin_deadline = 0;
}

static void hs_fail(sc_session *s, member *m, const char *reason)
{
    sc_hs_wipe(&m->hs);
    m->failed = 1;
    wipe_pending(m);
    ev_simple(s, SC_EV_HANDSHAKE_FAILED, m, 0, reason);
    flush_held(s, m, "handshake failed");
}

static void hs_done(sc_session *s, member *m, uint64_t now)
{
    sc_chan_init(&m->chan, m->hs.k_send, m->hs.k_recv);
    memcpy(m->ik, m->hs.peer_ik, sizeof m->ik);
    size_t nl = m->hs.peer_name_len <= SC_SESSION_MAX_NAME ? m->hs.peer_name_len : 0;
    memcpy(m->name, m->hs.peer_name, nl);
    m->name[nl] = '\0';
    sc_identity_fingerprint(m->ik, m->fp);
    sc_hs_wipe(&m->hs);
    m->authed = 1;
    m->deadline = now + SC_SESSION_HANDSHAKE_TIMEOUT_MS; /* now waiting for its sender key */
    rejoin_returned(s, m->ik);
    ev_add(s, SC_EV_MEMBER_AUTHENTICATED, m, 0);
    for (unsigned i = 0; i < m->n_pending; i++)
        send_skd(s, m, m->pending[i]);
    wipe_pending(m);
}

static const char *hs_reason(int rc)
{
    switch (rc) {
    case SC_HS_E_ROOM:
        return "wrong room secret";
    case SC_HS_E_KEY:
        return "invalid ephemeral key";
    case SC_HS_E_SIGNATURE:
        return "invalid identity signature";
    case SC_HS_E_NAME:
        return "invalid name";
    case SC_HS_E_STATE:
        return "handshake message out of turn";
    default:
        return "malformed handshake message";
    }
}

/* ---- own chain ---- */

static void rotate(sc_session *s, const char *reason)
{
    uint8_t skd[SC_CHAIN_SKD_BYTES];
    sc_chain_out_wipe(&s->chain);
    sc_chain_out_new(&s->chain, &s->rng);
    sc_chain_out_skd(&s->chain, skd);
    for (size_t i = 0; i < s->n_members; i++) {
        member *m = s->members[i];
        if (m->authed)
            send_skd(s, m, skd);
        else if (!m->failed)
            add_pending(m, skd);
    }
    sodium_memzero(skd, sizeof skd);
    ev_node *e = ev_add(s, SC_EV_KEYS_ROTATED, NULL, 0);
    if (e)
        e->ev.msg_id = s->chain.chain_id;
    ev_reason(e, "%s", reason);
}

/* ---- de-duplication ---- */

/* Returns 1 if (ik, msg_id) was seen, else records it and returns 0. */
static int seen_check_add(sc_session *s, const uint8_t ik[32], uint64_t msg_id)
{
    for (size_t i = 0; i < s->n_seen; i++)
        if (s->seen[i].msg_id == msg_id && sodium_memcmp(s->seen[i].ik, ik, 32) == 0)
            return 1;
    seen_id *slot = &s->seen[s->seen_pos];
    slot->msg_id = msg_id;
    memcpy(slot->ik, ik, 32);
    s->seen_pos = (s->seen_pos + 1) % SC_SESSION_DEDUPE_IDS;
    if (s->n_seen < SC_SESSION_DEDUPE_IDS)
        s->n_seen++;
    return 0;
}

/* ---- group messages ---- */

static sc_chain_in *find_chain(member *m, uint32_t chain_id)
{
    for (int i = 0; i < 2; i++)
        if (m->chains[i].chain_id && m->chains[i].chain_id == chain_id)
            return &m->chains[i];
    return NULL;
}

static const char *group_reason(int rc)
{
    switch (rc) {
    case SC_GROUP_E_SIGNATURE:
        return "bad signature";
    case SC_GROUP_E_CIPHERTEXT:
        return "bad ciphertext";
    case SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_BEFORE_START:
        return "before join";
    case SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_REPLAY:
        return "replay";
    case SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_TOO_FAR:
        return "too far ahead";
    case SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_TOO_OLD:
        return "too old";
    case SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_NOMEM:
        return "out of memory";
    default:
        return "malformed";
    }
}

/* Verifies, decrypts and shows (or reports) one group message from m on chain c. */
static void group_open(sc_session *s, member *m, sc_chain_in *c, const uint8_t *p, size_t n)
{
    size_t plen = 0;
    int rc = sc_group_open(c, s->ctx.room_id, m->id, p, n, s->plainbuf, s->max_group, &plen);
    if (rc != 0) {
        undecryptable(s, m, 0, group_reason(rc));
        goto done;
    }
    uint64_t msg_id, time_ms;
    const uint8_t *text;
    size_t tlen;
    if (sc_group_text_decode(s->plainbuf, plen, &msg_id, &time_ms, &text, &tlen) != 0 ||
        tlen == 0 || tlen > SC_SESSION_MAX_TEXT || !sc_utf8_valid(text, tlen)) {
        undecryptable(s, m, 0, "malformed");
        goto done;
    }
    if (seen_check_add(s, m->ik, msg_id)) {
        ev_node *e = ev_add(s, SC_EV_UNDECRYPTABLE, m, 0);
        if (e)
            e->ev.msg_id = msg_id;
        ev_reason(e, "duplicate");
        goto done;
    }
    if (s->ev_text_bytes + tlen > EVENT_TEXT_BYTES) {
        s->ev_dropped++;
        goto done;
    }
    ev_node *e = ev_add(s, SC_EV_MESSAGE, m, 0);
    if (!e)
        goto done;
    e->text = malloc(tlen);
    if (!e->text) {
        /* keep the event, say what happened instead of showing nothing */
        e->ev.type = SC_EV_UNDECRYPTABLE;
        ev_reason(e, "out of memory");
        goto done;
    }
    memcpy(e->text, text, tlen);
    e->ev.text_len = tlen;
    e->ev.msg_id = msg_id;
    e->ev.time_ms = time_ms;
    s->ev_text_bytes += tlen;
done:
    sodium_memzero(s->plainbuf, n < s->max_group ? n : s->max_group);
}

/* Held messages whose chain is now known are opened, in arrival order. */
static void retry_held(sc_session *s, member *m)
{
    unsigned i = 0;
    while (i < m->n_held) {
        sc_chain_in *c = find_chain(m, m->held[i].chain_id);
        if (!c) {
            i++;
            continue;
        }
        group_open(s, m, c, m->held[i].data, m->held[i].len);
        drop_held(s, m, i);
    }
}

static void hold(sc_session *s, member *m, uint32_t chain_id, const uint8_t *p, size_t n)
{
    if (m->n_held >= SC_SESSION_MAX_HELD || s->held_total >= HELD_TOTAL ||
        s->held_bytes + n > HELD_TOTAL_BYTES) {
        undecryptable(s, m, 0, "held-buffer full");
        return;
    }
    uint8_t *copy = malloc(n);
    if (!copy) {
        undecryptable(s, m, 0, "out of memory");
        return;
    }
    memcpy(copy, p, n);
    m->held[m->n_held].data = copy;
    m->held[m->n_held].len = n;
    m->held[m->n_held].chain_id = chain_id;
    m->n_held++;
    s->held_total++;
    s->held_bytes += n;
}

static void on_group(sc_session *s, member *m, uint64_t from, const uint8_t *p, size_t n)
{
    uint32_t chain_id, index;
    if (n > s->max_group || sc_group_peek(p, n, &chain_id, &index) != 0) {
        undecryptable(s, m, from, "malformed");
        return;
    }
    if (!m) {
        undecryptable(s, NULL, from, "unknown chain");
        return;
    }
    sc_chain_in *c = find_chain(m, chain_id);
    if (!c) {
        if (m->failed) {
            undecryptable(s, m, 0, "handshake failed");
        } else if (!m->keyed && !m->keys_expired) {
            hold(s, m, chain_id, p, n);
        } else {
            flush_held(s, m, "unknown chain");
            undecryptable(s, m, 0, "unknown chain");
        }
        return;
    }
    /* The relay keeps per-sender order, so a chain still missing now never comes. */
    flush_held(s, m, "unknown chain");
    group_open(s, m, c, p, n);
}

/* ---- pairwise channel ---- */

static void install_chain(sc_session *s, member *m, const uint8_t *skd)
{
    sc_chain_in c;
    memset(&c, 0, sizeof c);
    if (sc_chain_in_init(&c, skd) != 0) {
        warn(s, m, 0, "invalid sender key");
        sc_chain_in_free(&c);
        return;
    }
    if (find_chain(m, c.chain_id)) {
        warn(s, m, 0, "duplicate sender key");
        sc_chain_in_free(&c);
        return;
    }
    if (m->chains[1].chain_id)
        sc_chain_in_free(&m->chains[1]);
    m->chains[1] = m->chains[0];
    m->chains[0] = c;
    m->keyed = 1;
    ev_node *e = ev_add(s, SC_EV_PEER_KEYS, m, 0);
    if (e)
        e->ev.msg_id = c.chain_id;
    sodium_memzero(&c, sizeof c);
    retry_held(s, m);
}

static void on_chan(sc_session *s, member *m, const uint8_t *p, size_t n)
{
    if (!m->authed) {
        warn(s, m, 0, "channel message before the handshake completed");
        return;
    }
    uint8_t ctype = 0;
    size_t blen = 0;
    uint64_t skipped = 0;
    int rc = sc_chan_open(&m->chan, p, n, &ctype, s->chanbuf, sizeof s->chanbuf, &blen,
                          &skipped);
    if (rc != 0) {
        sodium_memzero(s->chanbuf, sizeof s->chanbuf);
        warn(s, m, 0,
             rc == SC_CHAN_E_REPLAY ? "replayed channel message"
             : rc == SC_CHAN_E_AUTH ? "channel message failed authentication"
                                    : "malformed channel message");
        return;
    }
    if (skipped)
        ev_reason(ev_add(s, SC_EV_WARNING, m, 0), "%llu channel message(s) from member lost",
                  (unsigned long long)skipped);
    if (ctype == SC_CTYPE_SKD && blen == SC_CHAIN_SKD_BYTES)
        install_chain(s, m, s->chanbuf);
    else
        warn(s, m, 0, ctype == SC_CTYPE_SKD ? "invalid sender key" : "unknown channel content");
    sodium_memzero(s->chanbuf, blen);
}

/* ---- handshake ---- */

static void on_hs(sc_session *s, member *m, uint8_t kind, const uint8_t *p, size_t n,
                  uint64_t now)
{
    if (m->authed) {
        warn(s, m, 0, kind == SC_KIND_HS1 ? "duplicate handshake" : "handshake message out of turn");
        return;
    }
    if (m->failed) {
        warn(s, m, 0, "handshake message after the handshake failed");
        return;
    }
    uint8_t want = m->hs.state == SC_HS_WAIT_HS1   ? SC_KIND_HS1
                   : m->hs.state == SC_HS_WAIT_HS2 ? SC_KIND_HS2
                                                   : SC_KIND_HS3;
    if (kind != want) {
        /* rejected without failing, so a replayed frame cannot kill a live handshake */
        warn(s, m, 0, kind == SC_KIND_HS1 ? "duplicate handshake" : "handshake message out of turn");
        return;
    }
    uint8_t reply[HS_BUF];
    size_t rn = 0;
    int rc = sc_hs_receive(&m->hs, &s->ctx, &s->rng, p, n, reply, sizeof reply, &rn);
    if (rc < 0) {
        sodium_memzero(reply, sizeof reply);
        hs_fail(s, m, hs_reason(rc));
        return;
    }
    if (rn)
        out_send_to(s, m->id, reply, rn);
    if (rc == 1)
        hs_done(s, m, now);
}

/* ---- envelopes ---- */

static void on_data(sc_session *s, const sc_env *e, uint64_t now)
{
    const uint8_t *p = e->payload;
    size_t n = e->payload_len;
    uint64_t from = e->member;
    member *m = find_member(s, from);
    if (n < 2 || p[0] != SC_WIRE_VERSION) {
        warn(s, m, from, "unsupported or malformed message");
        return;
    }
    uint8_t kind = p[1];
    if (kind == SC_KIND_GROUP) {
        if (e->mode == SC_ENV_MODE_BROADCAST)
            on_group(s, m, from, p, n);
        else
            undecryptable(s, m, from, "malformed");
        return;
    }
    if (kind < SC_KIND_HS1 || kind > SC_KIND_CHAN) {
        warn(s, m, from, "unknown message kind");
        return;
    }
    if (e->mode != SC_ENV_MODE_UNICAST) {
        warn(s, m, from, "handshake or channel message was broadcast");
        return;
    }
    if (!m) {
        /* a first handshake message also introduces its sender (docs/PROTOCOL.md 5) */
        if (kind != SC_KIND_HS1 || from > s->self_id) {
            warn(s, NULL, from, "message from unknown member");
            return;
        }
        m = member_add(s, from, now, 0);
        if (!m) {
            warn(s, NULL, from, "member limit reached; member ignored");
            return;
        }
        ev_add(s, SC_EV_MEMBER_JOINED, m, 0);
    }
    if (kind == SC_KIND_CHAN)
        on_chan(s, m, p, n);
    else
        on_hs(s, m, kind, p, n, now);
}

static void check_initial_sync(sc_session *s)
{
    if (!s->initial_sync || s->n_rejoin)
        return;
    for (size_t i = 0; i < s->n_members; i++) {
        const member *m = s->members[i];
        if (m->in_welcome && !m->authed && !m->failed)
            return;
    }
    s->initial_sync = 0;
}

static void on_welcome(sc_session *s, const sc_env *e, uint64_t now)
{
    s->connected = 1;
    s->self_id = e->member;
    s->max_payload = e->max_payload;
    sc_chain_out_new(&s->chain, &s->rng);
    s->have_chain = 1;
    s->initial_sync = 1;
    if (s->n_rejoin)
        s->rejoin_deadline = now + SC_SESSION_REJOIN_WAIT_MS;
    ev_node *j = ev_add(s, SC_EV_JOINED_ROOM, NULL, s->self_id);
    if (j)
        j->ev.count = e->n_members;
    uint32_t ignored = 0;
    for (uint32_t i = 0; i < e->n_members; i++) {
        uint64_t id = sc_env_welcome_member(e, i);
        if (s->n_members >= SC_SESSION_MAX_MEMBERS) {
            ignored++;
            continue;
        }
        if (find_member(s, id)) {
            warn(s, NULL, id, "member listed twice in WELCOME");
            continue;
        }
        if (!member_add(s, id, now, 1))
            ignored++;
    }
    if (ignored)
        ev_reason(ev_add(s, SC_EV_WARNING, NULL, 0),
                  "room has %u members; this client handles %u; %u ignored", e->n_members,
                  SC_SESSION_MAX_MEMBERS, ignored);
    check_initial_sync(s);
}

static void on_joined(sc_session *s, uint64_t id, uint64_t now)
{
    if (find_member(s, id)) {
        warn(s, NULL, id, "duplicate JOINED");
        return;
    }
    member *m = member_add(s, id, now, 0);
    if (!m) {
        warn(s, NULL, id, "member limit reached; member ignored");
        return;
    }
    ev_add(s, SC_EV_MEMBER_JOINED, m, 0);
}

static void on_left(sc_session *s, uint64_t id)
{
    member *m = find_member(s, id);
    if (!m) {
        warn(s, NULL, id, "LEFT for an unknown member");
        return;
    }
    flush_held(s, m, "sender left before its keys arrived");
    ev_add(s, SC_EV_MEMBER_LEFT, m, 0);
    member_remove(s, m, "");
    s->rotate_reason = "member left";
}

static void outbox_remove(sc_session *s, size_t i)
{
    sodium_memzero(s->outbox[i].text, s->outbox[i].len);
    free(s->outbox[i].text);
    memmove(&s->outbox[i], &s->outbox[i + 1], (s->n_outbox - i - 1) * sizeof s->outbox[0]);
    s->n_outbox--;
}

static void on_synced(sc_session *s, uint64_t token)
{
    if (token <= s->synced_upto || token >= s->next_token) {
        warn(s, NULL, 0, "unexpected SYNCED token");
        return;
    }
    s->synced_upto = token;
    size_t i = 0;
    while (i < s->n_outbox) {
        if (s->outbox[i].token == 0 || s->outbox[i].token > token) {
            i++;
            continue;
        }
        ev_node *e = ev_add(s, SC_EV_CONFIRMED, NULL, 0);
        if (e)
            e->ev.msg_id = s->outbox[i].msg_id;
        outbox_remove(s, i);
    }
}

static void on_error(sc_session *s, const sc_env *e)
{
    ev_node *n = ev_add(s, SC_EV_RELAY_ERROR, NULL, 0);
    if (!n)
        return;
    n->ev.code = e->code;
    size_t len = e->payload_len < REASON_CHARS - 1 ? e->payload_len : REASON_CHARS - 1;
    memcpy(n->reason, e->payload, len);
    n->reason[len] = '\0';
}

/* ---- outbox ---- */

static size_t sealed_len_for(size_t text_len)
{
    return sc_group_sealed_len(SC_GROUP_TEXT_HEADER + text_len);
}

static int seal_and_send(sc_session *s, const outbox_msg *o)
{
    size_t plen = sc_group_text_encode(o->msg_id, o->time_ms, o->text, o->len, s->plainbuf,
                                       s->max_group);
    size_t slen = 0;
    int rc = -1;
    for (int attempt = 0; plen && attempt < 2; attempt++) {
        rc = sc_group_seal(&s->chain, s->ctx.room_id, s->self_id, s->plainbuf, plen,
                           s->sealbuf, s->max_group, &slen);
        if (rc != SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_EXHAUSTED && rc != SC_CHAIN_E_EXHAUSTED)
            break;
        rotate(s, "chain exhausted");
    }
    sodium_memzero(s->plainbuf, plen);
    if (rc != 0)
        return -1;
    out_send_all(s, s->sealbuf, slen);
    if (s->chain.index >= s->rotate_after)
        rotate(s, "message limit reached");
    return 0;
}

/* Sends queued user messages (in order), then one SYNC, when keys are ready. */
static void flush(sc_session *s)
{
    if (!s->connected || s->initial_sync || s->broken)
        return;
    int any = 0;
    size_t i = 0;
    while (i < s->n_outbox && !s->broken) {
        outbox_msg *o = &s->outbox[i];
        if (o->token) {
            i++;
            continue;
        }
        if (s->out_bytes >= OUTPUT_SOFT)
            break;
        size_t need = sealed_len_for(o->len);
        if (need > s->max_payload || seal_and_send(s, o) != 0) {
            ev_node *e = ev_add(s, SC_EV_SEND_FAILED, NULL, 0);
            if (e)
                e->ev.msg_id = o->msg_id;
            if (need > s->max_payload)
                ev_reason(e, "message too large for this relay (%zu bytes sealed, limit %u)",
                          need, s->max_payload);
            else
                ev_reason(e, "could not encrypt message");
            outbox_remove(s, i);
            continue;
        }
        o->token = s->next_token;
        any = 1;
        ev_node *e = ev_add(s, SC_EV_SENT, NULL, 0);
        if (e)
            e->ev.msg_id = o->msg_id;
        i++;
    }
    if (any)
        out_sync(s, s->next_token++);
}

/* ---- timers ---- */

static void run_timers(sc_session *s, uint64_t now)
{
    if (s->rejoin_deadline && now >= s->rejoin_deadline)
        rejoin_clear(s); /* those not back by now are not waited for */
    for (size_t i = 0; i < s->n_members; i++) {
        member *m = s->members[i];
        if (!member_active_timer(m) || now < m->deadline)
            continue;
        if (!m->authed) {
            hs_fail(s, m, "timeout");
            continue;
        }
        if (!m->keyed)
            warn(s, m, 0, "no sender key from member within 15 s of the handshake");
        m->keys_expired = 1;
        flush_held(s, m, "unknown chain");
    }
    check_initial_sync(s);
}

/* ---- public API ---- */

sc_session *sc_session_new(const sc_session_config *cfg)
{
    if (!cfg || !cfg->identity_pk || !cfg->identity_sk || !cfg->room_secret)
        return NULL;
    const char *name = cfg->name ? cfg->name : "";
    size_t nl = strlen(name);
    if (nl > SC_SESSION_MAX_NAME || !sc_hs_name_valid(name, nl))
        return NULL;
    if (sodium_init() < 0)
        return NULL;
    if (sc_identity_check(cfg->identity_pk, cfg->identity_sk) != 0)
        return NULL;
    sc_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (cfg->rng_seed)
        sc_rng_init_seeded(&s->rng, cfg->rng_seed);
    else
        sc_rng_init(&s->rng);
    sc_invite_derive(cfg->room_secret, s->ctx.room_id, s->ctx.room_key);
    sc_invite_room_id_text(s->ctx.room_id, s->room_text);
    memcpy(s->ctx.ik_pk, cfg->identity_pk, sizeof s->ctx.ik_pk);
    memcpy(s->ctx.ik_sk, cfg->identity_sk, sizeof s->ctx.ik_sk);
    s->ctx.name_len = (uint8_t)nl;
    memcpy(s->ctx.name, name, nl);
    sc_identity_fingerprint(s->ctx.ik_pk, s->fp);
    s->rotate_after = cfg->rotate_after ? cfg->rotate_after : SC_SESSION_ROTATE_AFTER;
    s->max_group = sealed_len_for(SC_SESSION_MAX_TEXT);
    s->next_token = 1;
    s->plainbuf = malloc(s->max_group);
    s->sealbuf = malloc(s->max_group);
    s->seen = calloc(SC_SESSION_DEDUPE_IDS, sizeof *s->seen);
    if (!s->plainbuf || !s->sealbuf || !s->seen)
        goto fail;
    return s;
fail:
    sc_session_free(s);
    return NULL;
}

void sc_session_free(sc_session *s)
{
    if (!s)
        return;
    sc_session_disconnected(s, 0);
    rejoin_clear(s);
    while (s->n_outbox)
        outbox_remove(s, s->n_outbox - 1);
    release_cur(s);
    while (s->ev_head) {
        ev_node *e = s->ev_head;
        s->ev_head = e->next;
        ev_free(e);
    }
    if (s->plainbuf)
        sodium_memzero(s->plainbuf, s->max_group);
    free(s->plainbuf);
    free(s->sealbuf);
    if (s->seen)
        sodium_memzero(s->seen, SC_SESSION_DEDUPE_IDS * sizeof *s->seen);
    free(s->seen);
    sc_rng_wipe(&s->rng);
    sodium_memzero(s, sizeof *s);
    free(s);
}

/* Checks a whole relay message before anything in it takes effect. Returns 0 or -1 (with a
 * PROTOCOL_ERROR event). */
static int validate(sc_session *s, const uint8_t *msg, size_t len)
{
    int connected = s->connected;
    uint64_t self = s->self_id;
    size_t off = 0;
    if (len == 0) {
        ev_simple(s, SC_EV_PROTOCOL_ERROR, NULL, 0, "empty message from relay");
        return -1;
    }
    while (off < len) {
        sc_env e;
        int rc = sc_env_parse(msg + off, len - off, SC_ENV_FROM_RELAY, &e);
        const char *bad = NULL;
        if (rc < 0) {
            ev_reason(ev_add(s, SC_EV_PROTOCOL_ERROR, NULL, 0),
                      "malformed envelope from relay at byte %zu: %s", off, sc_env_strerror(rc));
            return -1;
        }
        if (e.type == SC_ENV_T_WELCOME) {
            if (connected)
                bad = "second WELCOME on one connection";
            else if (e.max_payload < MIN_MAX_PAYLOAD)
                bad = "relay's max_payload is too small for the protocol (< 256 bytes)";
            connected = 1;
            self = e.member;
        } else if (e.type != SC_ENV_T_ERROR && !connected) {
            bad = "relay sent an envelope before WELCOME";
        } else if ((e.type == SC_ENV_T_JOINED || e.type == SC_ENV_T_LEFT ||
                    e.type == SC_ENV_T_DATA) &&
                   e.member == self) {
            bad = "relay named this client's own id as another member";
        }
        if (bad) {
            ev_simple(s, SC_EV_PROTOCOL_ERROR, NULL, 0, bad);
            return -1;
        }
        off += (size_t)rc;
    }
    return 0;
}

int sc_session_receive(sc_session *s, const uint8_t *msg, size_t len, uint64_t now_ms)
{
    release_cur(s);
    if (s->broken || !msg || validate(s, msg, len) != 0)
        return -1;
    run_timers(s, now_ms);
    size_t off = 0;
    while (off < len && !s->broken) {
        sc_env e;
        int rc = sc_env_parse(msg + off, len - off, SC_ENV_FROM_RELAY, &e);
        off += (size_t)rc;
        switch (e.type) {
        case SC_ENV_T_WELCOME:
            on_welcome(s, &e, now_ms);
            break;
        case SC_ENV_T_JOINED:
            on_joined(s, e.member, now_ms);
            break;
        case SC_ENV_T_LEFT:
            on_left(s, e.member);
            break;
        case SC_ENV_T_DATA:
            on_data(s, &e, now_ms);
            break;
        case SC_ENV_T_SYNCED:
            on_synced(s, e.token);
            break;
        default:
            on_error(s, &e);
            break;
        }
    }
    if (s->rotate_reason && s->connected) {
        rotate(s, s->rotate_reason);
        s->rotate_reason = NULL;
    }
    check_initial_sync(s);
    flush(s);
    return s->broken ? -1 : 0;
}

int sc_session_send(sc_session *s, const uint8_t *text, size_t len, uint64_t now_ms,
                    uint64_t *msg_id)
{
    release_cur(s);
    if (!text || len == 0 || len > SC_SESSION_MAX_TEXT || !sc_utf8_valid(text, len) ||
        s->n_outbox >= SC_SESSION_MAX_OUTBOX)
        return -1;
    if (s->connected && sealed_len_for(len) > s->max_payload)
        return -1;
    uint8_t *copy = malloc(len);
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    outbox_msg *o = &s->outbox[s->n_outbox++];
    memset(o, 0, sizeof *o);
    o->text = copy;
    o->len = len;
    o->time_ms = now_ms;
    do
        o->msg_id = sc_rng_u64(&s->rng);
    while (o->msg_id == 0);
    if (msg_id)
        *msg_id = o->msg_id;
    run_timers(s, now_ms);
    flush(s);
    return 0;
}

void sc_session_tick(sc_session *s, uint64_t now_ms)
{
    release_cur(s);
    run_timers(s, now_ms);
    flush(s);
}

uint64_t sc_session_deadline(const sc_session *s)
{
    uint64_t d = s->rejoin_deadline;
    for (size_t i = 0; i < s->n_members; i++) {
        const member *m = s->members[i];
        if (member_active_timer(m) && (d == 0 || m->deadline < d))
            d = m->deadline;
    }
    return d;
}

void sc_session_disconnected(sc_session *s, uint64_t now_ms)
{
    (void)now_ms;
    release_cur(s);
    if (s->connected)
        rejoin_remember(s);
    while (s->n_members)
        member_remove(s, s->members[s->n_members - 1], "disconnected before keys arrived");
    s->held_total = s->held_bytes = 0;
    if (s->have_chain)
        sc_chain_out_wipe(&s->chain);
    s->have_chain = 0;
    out_clear(s);
    for (size_t i = 0; i < s->n_outbox; i++)
        s->outbox[i].token = 0;
    s->connected = s->initial_sync = s->broken = 0;
    s->self_id = 0;
    s->max_payload = 0;
    s->rotate_reason = NULL;
}

const uint8_t *sc_session_output(sc_session *s, size_t *len)
{
    if (!s->out_head) {
        *len = 0;
        return NULL;
    }
    *len = s->out_head->len;
    return s->out_head->data;
}

void sc_session_output_pop(sc_session *s)
{
    out_node *o = s->out_head;
    if (!o)
        return;
    s->out_head = o->next;
    if (!s->out_head)
        s->out_tail = NULL;
    s->out_bytes -= o->len;
    free(o);
    if (s->out_bytes < OUTPUT_SOFT)
        flush(s);
}

int sc_session_next_event(sc_session *s, sc_event *ev)
{
    release_cur(s);
    ev_node *e = s->ev_head;
    if (e) {
        s->ev_head = e->next;
        if (!s->ev_head)
            s->ev_tail = NULL;
        s->n_events--;
        s->ev_text_bytes -= e->ev.text_len;
    } else {
        if (!s->ev_dropped)
            return 0;
        e = calloc(1, sizeof *e);
        if (!e)
            return 0;
        e->ev.type = SC_EV_WARNING;
        ev_reason(e, "%zu events dropped: the event queue was full (drain it after every call)",
                  s->ev_dropped);
        s->ev_dropped = 0;
    }
    s->ev_cur = e;
    *ev = e->ev;
    ev->identity = e->has_identity ? e->identity : NULL;
    ev->name = e->name;
    ev->fingerprint = e->fp;
    ev->text = e->text;
    ev->reason = e->reason;
    return 1;
}

int sc_session_connected(const sc_session *s)
{
    return s->connected;
}

uint64_t sc_session_member_id(const sc_session *s)
{
    return s->self_id;
}

size_t sc_session_outbox_len(const sc_session *s)
{
    return s->n_outbox;
}

int sc_session_safety_number(const sc_session *s, uint64_t member_id, char *out, size_t cap)
{
    const member *m = find_member(s, member_id);
    if (!m || !m->authed || !out || cap < SC_IDENTITY_SAFETY_CHARS + 1)
        return -1;
    sc_identity_safety_from_fingerprints(s->fp, m->fp, out);
    return 0;
}

size_t sc_session_members(const sc_session *s, uint64_t *ids, size_t cap)
{
    for (size_t i = 0; i < s->n_members && i < cap; i++)
        ids[i] = s->members[i]->id;
    return s->n_members;
}

const uint8_t *sc_session_member_identity(const sc_session *s, uint64_t member_id)
{
    const member *m = find_member(s, member_id);
    return m && m->authed ? m->ik : NULL;
}

const char *sc_session_member_name(const sc_session *s, uint64_t member_id)
{
    const member *m = find_member(s, member_id);
    return m && m->authed ? m->name : NULL;
}

const char *sc_session_room_id(const sc_session *s)
{
    return s->room_text;
}
