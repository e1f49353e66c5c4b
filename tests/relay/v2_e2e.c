/*
 * v2_e2e: several sc2_room clients (shared/v2) in one process, each on its own real
 * WebSocket connection (libwebsockets client, one lws context and poll loop as the CLI
 * uses) to a REAL saltchat-relay started by v2_e2e.py. Real MLS, real relay, real store.
 *
 *   v2_e2e SCENARIO RELAY_HOST:PORT [PROXY_PORT]
 *
 * Scenarios (docs/RELAY.md "Protocol v2 delivery service", tests/relay/v2_e2e.py):
 *   create_join  A creates, goes offline; B joins; texts both ways; epoch authenticators
 *   cut          B's TCP connection (through the wrapper's proxy) is cut; A sends N texts
 *                during the gap; B reconnects and gets all N exactly once, in order
 *   cut_sender   A's connection loses the relay's answers to some texts, then the
 *                relay never gets some more, then it is cut: A reconnects, finds the
 *                first in the log, resends the others; B gets each exactly once, in order
 *   kill         the relay is SIGKILLed during A's burst and restarted on the same
 *                --data-dir (a new port, behind the proxy): every text arrives once,
 *                in order
 *   race         three members commit (update) at once, repeatedly, while sending:
 *                one epoch each, everyone's texts once and in order, same authenticator
 *   remove       A removes C; A and B go on; C's old link cannot AUTH for GET_GI; C sees
 *                no later plaintext
 *   lost_store   the relay is SIGKILLed and restarted on an EMPTY --data-dir: A and B
 *                end LOST with one ROOM_LOST (NO_ROOM) each and stop reconnecting; their
 *                rooms (seq, texts, members) are kept and still export
 *
 * Cluster scenarios (tests/cluster/v2_cluster.py: v2_e2e cluster_* HOST:PORT1 PORT2 PORT3,
 * relays 1 and 2 and a proxy to relay 3 sharing a nats-server -js; docs/CLUSTER.md):
 *   cluster_chat  members on two relays type at once and commit: one total order
 *   cluster_race  race with its members on two relays: one commit per epoch, re-bases
 *   cluster_kill  relay 1 SIGKILLed ("CMD kill1") during a burst: failover to relay 2
 *   cluster_late  relay 3 started late ("CMD start3") serves the whole history
 *   cluster_retention  relay 3 started after retention cut the log: a replica from the
 *                 room record's snapshot; a member joins through it
 *   cluster_broker  the broker is SIGKILLed ("CMD nats_kill") and restarted on its store
 *                 ("CMD nats_restart") during a burst: everything arrives once, in order
 *   cluster_overtaken  relay 2's replica falls behind retention while its member is away:
 *                 it resets to the snapshot, the member gets GONE and rejoins
 * E2E_VERBOSE=1 in the environment prints every event (SENT, ACCEPTED, MESSAGE too).
 *
 * The wrapper acts on request: this program writes "CMD cut|kill|restart" on stdout and
 * waits (bounded) for "OK" on stdin. Assertions are made here: a failure prints
 * "FAIL: ..." on stderr and exits 1; success prints "PASS <scenario>" on stdout.
 */
#include <libwebsockets.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mls_group.h"
#include "sc2_envelope.h"
#include "sc2_link.h"
#include "sc2_room.h"

#define E2E_SUBPROTOCOL "saltchat.v2"
#define E2E_MAX_TEXTS 1024
#define E2E_MAX_MSG (17u << 20)
#define E2E_WAIT_S 60

typedef struct e2e_client {
    const char *name;
    uint8_t seed[32];
    sc2_room *r;
    int port;           /* relay or proxy port this client connects to */
    int alt_port;       /* a second relay of the cluster: each lost connection switches */
    struct lws *wsi;
    int open;
    int online;         /* reconnect when the connection is gone */
    uint64_t next_try;  /* ms */
    int connects;
    int closes;
    uint8_t *rx;
    size_t rx_len, rx_cap;
    char *texts[E2E_MAX_TEXTS];
    uint64_t text_epoch[E2E_MAX_TEXTS];
    size_t n_texts;
    int counts[64];
    size_t n_accepted;
    int last_error;
    int expect_error; /* a RELAY_ERROR is what the scenario waits for */
    int removed;
    /* the hostile relay path (hostile_deliver): what it does to this client's traffic;
     * each seq hook acts once (a reconnect's RESUME then brings the real entry) */
    uint64_t h_drop, h_dup, h_swap, h_tamper, h_forge, h_forge_from, h_withhold_after;
    int h_withhold;    /* drop the first COMMIT entry after h_withhold_after */
    uint64_t withheld; /* the seq it dropped */
    int h_record_log;  /* keep a copy of every LOG envelope (rec_log) */
    int h_record_gi;   /* keep the first GI envelope (rec_gi) */
    int h_replace_gi;  /* answer the next GET_GI with rec_gi */
    int h_corrupt_commit; /* flip the last byte of our next commit's MLS message */
    int acted;         /* hooks that fired */
    int h_watch;       /* count what the relay sends (max_seq, old_key_errors) */
    uint64_t max_seq;  /* the highest LOG seq the relay sent this client */
    int old_key_errors; /* ERROR OLD_KEY received */
    uint8_t *held;     /* h_swap: the entry held back until the next LOG (any message) */
    size_t held_len;
    uint64_t hl_from, hl_to, joined_seq; /* HISTORY_LOST range, seq of the last JOINED */
    int lost_code;
} e2e_client;

static struct lws_context *ctx;
#define E2E_MAX_LOG 4096
static uint8_t *rec_log[E2E_MAX_LOG]; /* LOG envelopes a recording client saw, by seq */
static size_t rec_log_len[E2E_MAX_LOG];
static uint8_t *rec_gi;
static size_t rec_gi_len;
static const char *host = "127.0.0.1";
static int relay_port, proxy_port, relay3_port;
static lws_sorted_usec_list_t tick;

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void drain(e2e_client *c)
{
    sc2_room_event ev;
    while (sc2_room_next_event(c->r, &ev)) {
        if ((int)ev.type < 64)
            c->counts[ev.type]++;
        if ((ev.type != SC2_EV_MESSAGE && ev.type != SC2_EV_SENT &&
             ev.type != SC2_EV_ACCEPTED) || getenv("E2E_VERBOSE"))
            fprintf(stderr, "[%s] %s seq=%llu seq2=%llu epoch=%llu code=%d %s%s%s\n", c->name,
                    sc2_room_event_name(ev.type), (unsigned long long)ev.seq,
                    (unsigned long long)ev.seq2, (unsigned long long)ev.epoch, ev.code,
                    ev.name ? ev.name : "", ev.by_name && ev.by_name[0] ? " by " : "",
                    ev.by_name ? ev.by_name : "");
        if (ev.reason && ev.reason[0])
            fprintf(stderr, "[%s]   reason: %s\n", c->name, ev.reason);
        switch (ev.type) {
        case SC2_EV_MESSAGE:
            if (c->n_texts < E2E_MAX_TEXTS) {
                char *t = malloc(ev.text_len + 1);
                if (!t)
                    fail("out of memory");
                memcpy(t, ev.text, ev.text_len);
                t[ev.text_len] = 0;
                c->text_epoch[c->n_texts] = sc2_room_epoch(c->r);
                c->texts[c->n_texts++] = t;
            }
            break;
        case SC2_EV_ACCEPTED:
            c->n_accepted++;
            break;
        case SC2_EV_RELAY_ERROR:
            c->last_error = ev.code;
            if (!c->expect_error)
                fail("%s: unexpected ERROR %d from the relay (%s)", c->name, ev.code,
                     ev.reason ? ev.reason : "");
            break;
        case SC2_EV_PROTOCOL_ERROR:
            fail("%s: the relay sent something invalid (%s)", c->name,
                 ev.reason ? ev.reason : "");
        case SC2_EV_REMOVED:
            c->removed = 1;
            break;
        case SC2_EV_HISTORY_LOST:
            c->hl_from = ev.seq;
            c->hl_to = ev.seq2;
            break;
        case SC2_EV_JOINED:
            c->joined_seq = ev.seq;
            break;
        case SC2_EV_ROOM_LOST:
            c->lost_code = ev.code;
            break;
        default:
            break;
        }
    }
}

static void want_write(e2e_client *c)
{
    size_t len;
    if (c->wsi && c->open && sc2_room_output(c->r, &len))
        lws_callback_on_writable(c->wsi);
}

static void gone(e2e_client *c)
{
    c->wsi = NULL;
    c->open = 0;
    c->closes++;
    c->rx_len = 0;
    free(c->held); /* a held entry dies with its connection */
    c->held = NULL;
    sc2_room_disconnected(c->r, now_ms());
    c->next_try = mono_ms() + 100;
    if (c->alt_port) { /* fail over to the other relay */
        int p = c->port;
        c->port = c->alt_port;
        c->alt_port = p;
    }
    drain(c);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (!d)
        fail("out of memory");
    memcpy(d, p, n);
    return d;
}

/* One message to the room; returns its sc2_room_receive result. */
static int feed(e2e_client *c, const uint8_t *m, size_t n)
{
    int rc = sc2_room_receive(c->r, m, n, now_ms());
    drain(c);
    return rc;
}

/* The hostile relay path: the real relay's WebSocket message, split into its envelopes
 * (one per message, as the relay may send them), each passed on, dropped, doubled,
 * swapped with the next LOG, altered (time_ms), replaced (a LOG's MLS message by an
 * earlier entry's, a GI by an older GI) as the client's h_* hooks say. What the relay
 * asserts per entry is all a hostile relay can change; MLS content it cannot forge. */
static int hostile_deliver(e2e_client *c, const uint8_t *msg, size_t len)
{
    int active = c->h_drop || c->h_dup || c->h_swap || c->held || c->h_tamper || c->h_forge ||
                 c->h_withhold || c->h_record_log || c->h_record_gi || c->h_watch ||
                 (c->h_replace_gi && rec_gi);
    if (!active)
        return feed(c, msg, len);
    sc2_env_iter it;
    sc2_env env;
    int k, rc = 0;
    sc2_env_iter_init(&it, msg, len, SC2_FROM_RELAY);
    while (rc == 0 && (k = sc2_env_iter_next(&it, &env)) == 1) {
        const uint8_t *raw = env.body - SC2_ENV_HEADER_BYTES;
        size_t rl = env.body_len + SC2_ENV_HEADER_BYTES;
        if (env.type == SC2_T_LOG && env.seq > c->max_seq)
            c->max_seq = env.seq;
        if (env.type == SC2_T_ERROR && env.code == SC2_C_OLD_KEY)
            c->old_key_errors++;
        if (env.type == SC2_T_GI) {
            if (c->h_record_gi && !rec_gi) {
                rec_gi = dup_bytes(raw, rl);
                rec_gi_len = rl;
                c->h_record_gi = 0;
            } else if (c->h_replace_gi && rec_gi) {
                c->h_replace_gi = 0;
                c->acted++;
                rc = feed(c, rec_gi, rec_gi_len);
                continue;
            }
        }
        if (env.type != SC2_T_LOG) {
            rc = feed(c, raw, rl);
            continue;
        }
        if (c->h_record_log && env.seq < E2E_MAX_LOG && !rec_log[env.seq]) {
            rec_log[env.seq] = dup_bytes(raw, rl);
            rec_log_len[env.seq] = rl;
        }
        if (env.seq == c->h_drop) {
            c->h_drop = 0;
            c->acted++;
            continue;
        }
        if (c->h_withhold && (env.flags & SC2_LOG_F_COMMIT) && env.seq > c->h_withhold_after) {
            c->h_withhold = 0;
            c->withheld = env.seq;
            c->acted++;
            continue;
        }
        if (env.seq == c->h_swap) {
            c->h_swap = 0;
            c->acted++;
            c->held = dup_bytes(raw, rl);
            c->held_len = rl;
            continue;
        }
        if (env.seq == c->h_tamper) { /* time_ms + 1: same MLS message, another entry */
            c->h_tamper = 0;
            c->acted++;
            uint8_t *t = dup_bytes(raw, rl);
            t[SC2_ENV_HEADER_BYTES + 15] ^= 1;
            rc = feed(c, t, rl);
            free(t);
            continue;
        }
        if (env.seq == c->h_forge && c->h_forge_from < E2E_MAX_LOG &&
            rec_log[c->h_forge_from]) { /* an earlier entry's MLS message at this seq */
            sc2_env old;
            if (sc2_env_decode(rec_log[c->h_forge_from], rec_log_len[c->h_forge_from],
                               SC2_FROM_RELAY, &old))
                fail("a recorded LOG does not decode");
            size_t n = sc2_env_encode_log(NULL, 0, env.seq, env.time_ms, old.flags,
                                          old.flags & SC2_LOG_F_JOIN_PK ? old.join_pk : NULL,
                                          old.mls, old.mls_len);
            uint8_t *f = malloc(n);
            if (!f || !n)
                fail("cannot encode a forged LOG");
            sc2_env_encode_log(f, n, env.seq, env.time_ms, old.flags,
                               old.flags & SC2_LOG_F_JOIN_PK ? old.join_pk : NULL, old.mls,
                               old.mls_len);
            c->h_forge = 0;
            c->acted++;
            rc = feed(c, f, n);
            free(f);
            continue;
        }
        rc = feed(c, raw, rl);
        if (env.seq == c->h_dup) {
            c->h_dup = 0;
            c->acted++;
            if (rc == 0)
                rc = feed(c, raw, rl);
        }
        if (c->held) {
            if (rc == 0)
                rc = feed(c, c->held, c->held_len);
            free(c->held);
            c->held = NULL;
        }
    }
    return rc;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    e2e_client *c = user;
    if (!c || (c->wsi && c->wsi != wsi))
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "[%s] connection error: %s\n", c->name, in ? (const char *)in : "?");
        if (c->wsi == wsi || !c->wsi) {
            c->wsi = NULL;
            c->open = 0;
            c->next_try = mono_ms() + 100;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->wsi = wsi;
        c->open = 1;
        c->connects++;
        sc2_room_connected(c->r, now_ms());
        drain(c);
        want_write(c);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!lws_frame_is_binary(wsi))
            fail("[%s] the relay sent a text frame", c->name);
        if (c->rx_len + len > E2E_MAX_MSG)
            fail("[%s] a relay message over %u bytes", c->name, E2E_MAX_MSG);
        if (c->rx_len + len > c->rx_cap) {
            size_t cap = (c->rx_len + len) * 2;
            uint8_t *p = realloc(c->rx, cap);
            if (!p)
                fail("out of memory");
            c->rx = p;
            c->rx_cap = cap;
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0)
            return 0;
        int rc = hostile_deliver(c, c->rx, c->rx_len);
        c->rx_len = 0;
        drain(c);
        if (rc < 0) {
            fprintf(stderr, "[%s] the room drops the connection (state %d)\n", c->name,
                    (int)sc2_room_state(c->r));
            return -1;
        }
        want_write(c);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        size_t n;
        const uint8_t *m = sc2_room_output(c->r, &n);
        if (!m)
            return 0;
        if (n > E2E_MAX_MSG)
            fail("[%s] an output of %zu bytes", c->name, n);
        uint8_t *tx = malloc(LWS_PRE + n);
        if (!tx)
            fail("out of memory");
        memcpy(tx + LWS_PRE, m, n);
        sc2_env se;
        if (c->h_corrupt_commit && sc2_env_decode(m, n, SC2_FROM_CLIENT, &se) == 0 &&
            se.type == SC2_T_SUBMIT && (se.flags & SC2_SUBMIT_F_GI)) {
            /* a hostile member: its commit's last byte (the membership tag) is wrong, the
             * clear header the relay checks is intact */
            tx[LWS_PRE + n - 1] ^= 0x5a;
            c->h_corrupt_commit = 0;
            c->acted++;
        }
        int w = lws_write(wsi, tx + LWS_PRE, n, LWS_WRITE_BINARY);
        free(tx);
        if (w < 0 || (size_t)w < n)
            return -1;
        sc2_room_output_pop(c->r);
        want_write(c);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (c->wsi == wsi) {
            fprintf(stderr, "[%s] connection closed\n", c->name);
            gone(c);
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    { E2E_SUBPROTOCOL, callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void connect_client(e2e_client *c)
{
    char id[SC2_ROOM_ID_CHARS + 1], path[64], hostport[64];
    sc2_link_room_id_text(sc2_room_id(c->r), id);
    snprintf(path, sizeof path, "/room/%s", id);
    snprintf(hostport, sizeof hostport, "%s:%d", host, c->port);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = host;
    ci.port = c->port;
    ci.path = path;
    ci.host = hostport;
    ci.origin = hostport;
    ci.protocol = E2E_SUBPROTOCOL;
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    c->next_try = mono_ms() + 1000; /* a connection error reschedules sooner */
    if (!lws_client_connect_via_info(&ci)) {
        c->wsi = NULL;
        c->next_try = mono_ms() + 200;
    }
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(ctx, 0, sul, tick_cb, 20 * LWS_US_PER_MS);
}

static e2e_client *all[8];
static size_t n_all;

static void client_init(e2e_client *c, const char *name, int port)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->port = port;
    randombytes_buf(c->seed, sizeof c->seed);
    all[n_all++] = c;
}

static sc2_room_config cfg_of(const e2e_client *c)
{
    sc2_room_config cfg = { c->seed, c->name, NULL };
    return cfg;
}

/* One turn of the loop: reconnect who should be online, service lws for <= 20 ms. */
static void step(void)
{
    for (size_t i = 0; i < n_all; i++) {
        e2e_client *c = all[i];
        if (!c->r)
            continue;
        enum sc2_room_state st = sc2_room_state(c->r);
        if (c->online && !c->wsi && st != SC2_RS_DEAD && st != SC2_RS_LOST &&
            mono_ms() >= c->next_try)
            connect_client(c);
        if (c->wsi && c->open && (st == SC2_RS_BROKEN || st == SC2_RS_LOST))
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        want_write(c);
    }
    lws_service(ctx, 0);
}

typedef int (*e2e_pred)(void *arg);

/* Runs the loop until pred(arg) or E2E_WAIT_S seconds; then fails naming what. */
static void wait_for(e2e_pred pred, void *arg, const char *what)
{
    uint64_t end = mono_ms() + E2E_WAIT_S * 1000u;
    while (!pred(arg)) {
        if (mono_ms() > end)
            fail("timed out after %d s waiting for %s", E2E_WAIT_S, what);
        step();
    }
}

static int is_live(void *arg)
{
    e2e_client *c = arg;
    return sc2_room_state(c->r) == SC2_RS_LIVE && sc2_room_outbox_len(c->r) == 0;
}

static int is_offline(void *arg)
{
    e2e_client *c = arg;
    return !c->wsi;
}

typedef struct want_n {
    e2e_client *c;
    size_t n;
} want_n;

static int has_texts(void *arg)
{
    want_n *w = arg;
    return w->c->n_texts >= w->n;
}

static int has_accepted(void *arg)
{
    want_n *w = arg;
    return w->c->n_accepted >= w->n;
}

static int is_removed(void *arg)
{
    e2e_client *c = arg;
    return c->removed && sc2_room_state(c->r) == SC2_RS_DEAD;
}

static int has_error_or_dead(void *arg)
{
    e2e_client *c = arg;
    return c->last_error != 0 || sc2_room_state(c->r) == SC2_RS_DEAD;
}

static void wait_live(e2e_client *c)
{
    char what[128];
    snprintf(what, sizeof what, "%s to be LIVE with an empty outbox", c->name);
    wait_for(is_live, c, what);
}

static void wait_texts(e2e_client *c, size_t n)
{
    char what[128];
    want_n w = { c, n };
    snprintf(what, sizeof what, "%s to receive %zu texts (has %zu)", c->name, n, c->n_texts);
    wait_for(has_texts, &w, what);
}

static void send_text(e2e_client *c, const char *fmt, int i)
{
    char t[64];
    int n = snprintf(t, sizeof t, "%s %d", fmt, i);
    if (sc2_room_send_text(c->r, (const uint8_t *)t, (size_t)n, now_ms(), NULL) != 0)
        fail("%s: sc2_room_send_text(%s) refused", c->name, t);
    want_write(c);
}

/* c's texts [at, at + to - from) are "fmt from" .. "fmt to-1", in order. */
static void check_texts(const e2e_client *c, size_t at, const char *fmt, int from, int to)
{
    if (c->n_texts < at + (size_t)(to - from))
        fail("%s received %zu texts, expected at least %zu", c->name, c->n_texts,
             at + (size_t)(to - from));
    for (int i = from; i < to; i++) {
        char t[64];
        snprintf(t, sizeof t, "%s %d", fmt, i);
        const char *got = c->texts[at + (size_t)(i - from)];
        if (strcmp(got, t))
            fail("%s: text %zu is \"%s\", expected \"%s\" (lost, duplicated or reordered)",
                 c->name, at + (size_t)(i - from), got, t);
    }
}

/* c received exactly n texts (nothing duplicated or extra). */
static void check_total(const e2e_client *c, size_t n)
{
    if (c->n_texts != n)
        fail("%s received %zu texts, expected exactly %zu", c->name, c->n_texts, n);
}

static void check_same_epoch(const e2e_client *a, const e2e_client *b)
{
    uint8_t ea[32], eb[32];
    if (sc2_room_epoch(a->r) != sc2_room_epoch(b->r))
        fail("%s is at epoch %llu, %s at %llu", a->name,
             (unsigned long long)sc2_room_epoch(a->r), b->name,
             (unsigned long long)sc2_room_epoch(b->r));
    if (sc2_room_epoch_authenticator(a->r, ea) || sc2_room_epoch_authenticator(b->r, eb))
        fail("no epoch authenticator");
    if (sodium_memcmp(ea, eb, 32))
        fail("%s and %s have different epoch authenticators at epoch %llu", a->name, b->name,
             (unsigned long long)sc2_room_epoch(a->r));
    if (sc2_room_seq(a->r) != sc2_room_seq(b->r))
        fail("%s processed up to seq %llu, %s %llu", a->name,
             (unsigned long long)sc2_room_seq(a->r), b->name,
             (unsigned long long)sc2_room_seq(b->r));
}

static void no_alerts(const e2e_client *c)
{
    static const int alerts[] = { SC2_EV_FORK, SC2_EV_LINK_MISMATCH, SC2_EV_KEY_CHANGED,
                                  SC2_EV_STALE_GI, SC2_EV_UNREADABLE, SC2_EV_GAP,
                                  SC2_EV_HISTORY_LOST, SC2_EV_REJECTED, SC2_EV_PROTOCOL_ERROR };
    for (size_t i = 0; i < sizeof alerts / sizeof alerts[0]; i++)
        if (c->counts[alerts[i]])
            fail("%s had %d '%s' event(s)", c->name, c->counts[alerts[i]],
                 sc2_room_event_name((enum sc2_room_event_type)alerts[i]));
}

/* Asks the wrapper to do cmd; waits for "OK" (bounded). */
static void command(const char *cmd)
{
    printf("CMD %s\n", cmd);
    fflush(stdout);
    struct pollfd p = { 0, POLLIN, 0 };
    char line[64];
    size_t n = 0;
    uint64_t end = mono_ms() + 30000;
    while (n < sizeof line - 1) {
        uint64_t t = mono_ms();
        if (t > end)
            fail("timed out after 30 s waiting for the wrapper's OK to '%s'", cmd);
        if (poll(&p, 1, (int)(end - t)) <= 0)
            continue;
        ssize_t k = read(0, line + n, 1);
        if (k <= 0)
            fail("the wrapper closed stdin before answering '%s'", cmd);
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = 0;
    if (strcmp(line, "OK"))
        fail("the wrapper answered '%s' to '%s'", line, cmd);
}

static void get_link(const e2e_client *c, char *link, size_t cap)
{
    char base[64];
    snprintf(base, sizeof base, "http://%s:%d/", host, relay_port);
    if (sc2_room_link(c->r, base, link, cap) < 0)
        fail("%s: no link", c->name);
}

static void create_room(e2e_client *a)
{
    sc2_room_config cfg = cfg_of(a);
    if (sc2_room_create(&a->r, &cfg, now_ms()))
        fail("sc2_room_create");
    a->online = 1;
    wait_live(a);
    if (!a->counts[SC2_EV_CREATED])
        fail("%s is LIVE without a CREATED event", a->name);
}

static void join_room(e2e_client *b, const char *link)
{
    sc2_room_config cfg = cfg_of(b);
    if (sc2_room_join(&b->r, &cfg, link))
        fail("sc2_room_join(%s)", link);
    b->online = 1;
    wait_live(b);
    if (!b->counts[SC2_EV_JOINED])
        fail("%s is LIVE without a JOINED event", b->name);
}

static void go_offline(e2e_client *c)
{
    char what[128];
    c->online = 0;
    if (c->wsi)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    snprintf(what, sizeof what, "%s's connection to close", c->name);
    wait_for(is_offline, c, what);
}

static e2e_client A, B, C, D, E;

/* Alice (through port pa) creates a room and Bob (through pb) joins it by its link, which
 * is left in link. */
static void alice_and_bob(int pa, int pb, char *link, size_t cap)
{
    client_init(&A, "alice", pa);
    client_init(&B, "bob", pb);
    create_room(&A);
    get_link(&A, link, cap);
    join_room(&B, link);
}

static void scenario_create_join(void)
{
    char link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", relay_port);
    create_room(&A);
    get_link(&A, link, sizeof link);
    go_offline(&A);
    join_room(&B, link);
    for (int i = 0; i < 5; i++)
        send_text(&B, "b->a", i);
    wait_live(&B); /* all five ACCEPTED while alice is away */
    A.online = 1;
    wait_texts(&A, 5);
    wait_live(&A);
    for (int i = 0; i < 5; i++)
        send_text(&A, "a->b", i);
    wait_live(&A);
    wait_texts(&B, 5);
    check_texts(&A, 0, "b->a", 0, 5);
    check_texts(&B, 0, "a->b", 0, 5);
    check_total(&A, 5);
    check_total(&B, 5);
    check_same_epoch(&A, &B);
    if (sc2_room_member_count(A.r) != 2 || sc2_room_member_count(B.r) != 2)
        fail("member counts %zu / %zu, expected 2", sc2_room_member_count(A.r),
             sc2_room_member_count(B.r));
    no_alerts(&A);
    no_alerts(&B);
}

#define CUT_N 50

static void scenario_cut(void)
{
    char link[1100];
    alice_and_bob(relay_port, proxy_port, link, sizeof link);
    send_text(&A, "before", 0);
    wait_texts(&B, 1);
    int connects = B.connects;
    B.online = 0; /* no reconnect until the texts are in the log */
    command("cut");
    wait_for(is_offline, &B, "bob to notice the cut connection");
    for (int i = 0; i < CUT_N; i++)
        send_text(&A, "gap", i);
    for (int i = 0; i < 3; i++) /* bob writes while cut off: sent once he is back */
        send_text(&B, "offline", i);
    wait_live(&A);
    if (A.n_accepted != 1 + CUT_N)
        fail("alice has %zu ACCEPTED, expected %d", A.n_accepted, 1 + CUT_N);
    B.online = 1;
    wait_texts(&B, 1 + CUT_N);
    wait_live(&B);
    if (B.connects <= connects)
        fail("bob did not reconnect");
    for (int i = 0; i < 5; i++) /* and the link works after the reconnect both ways */
        send_text(&B, "after", i);
    wait_live(&B);
    wait_texts(&A, 3 + 5);
    check_texts(&B, 1, "gap", 0, CUT_N);
    check_texts(&A, 0, "offline", 0, 3);
    check_texts(&A, 3, "after", 0, 5);
    check_total(&B, 1 + CUT_N);
    check_total(&A, 3 + 5);
    check_same_epoch(&A, &B);
    no_alerts(&A);
    no_alerts(&B);
}

#define CS_N 20

typedef struct want_close {
    e2e_client *c;
    int closes;
} want_close;

static int has_closed(void *arg)
{
    want_close *w = arg;
    return w->c->closes > w->closes;
}

static int output_empty(void *arg)
{
    e2e_client *c = arg;
    size_t len;
    return sc2_room_output(c->r, &len) == NULL;
}

static void scenario_cut_sender(void)
{
    char link[1100];
    alice_and_bob(proxy_port, relay_port, link, sizeof link);
    wait_live(&A);
    for (int i = 0; i < CS_N; i++)
        send_text(&A, "pre", i);
    wait_live(&A);
    wait_texts(&B, CS_N);
    /* 1: the relay takes these, its ACCEPTED and LOG never reach alice */
    command("hold_down");
    for (int i = 0; i < CS_N; i++)
        send_text(&A, "noack", i);
    wait_texts(&B, 2 * CS_N);
    if (A.n_accepted != CS_N)
        fail("alice saw %zu ACCEPTED while the relay's answers were dropped, expected %d",
             A.n_accepted, CS_N);
    /* 2: these never reach the relay */
    command("hold_up");
    for (int i = 0; i < CS_N; i++)
        send_text(&A, "nosubmit", i);
    wait_for(output_empty, &A, "alice to write her last texts into the held connection");
    want_close wc = { &A, A.closes };
    int connects = A.connects;
    command("cut");
    wait_for(has_closed, &wc, "alice to notice the cut connection");
    wait_texts(&B, 3 * CS_N);
    wait_live(&A);
    wait_live(&B);
    if (A.connects <= connects)
        fail("alice did not reconnect after the cut");
    if (A.n_accepted != 3 * CS_N)
        fail("alice had %zu ACCEPTED events for %d texts", A.n_accepted, 3 * CS_N);
    check_texts(&B, 0, "pre", 0, CS_N);
    check_texts(&B, CS_N, "noack", 0, CS_N);
    check_texts(&B, 2 * CS_N, "nosubmit", 0, CS_N);
    check_total(&B, 3 * CS_N);
    if (A.n_texts)
        fail("alice was shown %zu texts of her own", A.n_texts);
    check_same_epoch(&A, &B);
    no_alerts(&A);
    no_alerts(&B);
}

#define KILL_N 300

static void scenario_kill(void)
{
    char link[1100];
    /* through the proxy: the restarted relay gets a free port, the proxy follows it */
    alice_and_bob(proxy_port, proxy_port, link, sizeof link);
    for (int i = 0; i < KILL_N; i++)
        send_text(&A, "burst", i);
    want_n w = { &A, 40 };
    wait_for(has_accepted, &w, "alice's first 40 ACCEPTED of the burst");
    size_t accepted_before = A.n_accepted;
    command("kill");
    /* the loop keeps running while the relay is down: clients see the loss, retry */
    uint64_t end = mono_ms() + 1000;
    while (mono_ms() < end)
        step();
    command("restart");
    wait_texts(&B, KILL_N);
    wait_live(&A);
    wait_live(&B);
    fprintf(stderr, "alice had %zu ACCEPTED before the kill, %zu in all\n", accepted_before,
            A.n_accepted);
    if (A.n_accepted != KILL_N)
        fail("alice had %zu ACCEPTED events for %d texts", A.n_accepted, KILL_N);
    if (accepted_before >= KILL_N)
        fail("the whole burst was accepted before the kill: the test did not test");
    check_texts(&B, 0, "burst", 0, KILL_N);
    check_total(&B, KILL_N);
    check_same_epoch(&A, &B);
    if (A.connects < 2 || B.connects < 2)
        fail("connections: alice %d, bob %d; both should have reconnected", A.connects,
             B.connects);
    if (A.counts[SC2_EV_DUPLICATE] || B.counts[SC2_EV_DUPLICATE])
        fail("duplicate LOG entries after the restart");
    no_alerts(&A);
    no_alerts(&B);
}

/* A relay restarted on an empty store answers NO_ROOM: the members stop for good (LOST)
 * with one ROOM_LOST each instead of reconnecting forever, and keep the room. */
static int is_lost(void *arg)
{
    e2e_client *c = arg;
    return sc2_room_state(c->r) == SC2_RS_LOST && !c->wsi;
}

static void scenario_lost_store(void)
{
    char link[1100];
    alice_and_bob(proxy_port, proxy_port, link, sizeof link);
    for (int i = 0; i < 5; i++)
        send_text(&A, "before", i);
    wait_texts(&B, 5);
    wait_live(&A);
    uint64_t seq_a = sc2_room_seq(A.r), seq_b = sc2_room_seq(B.r);
    A.expect_error = B.expect_error = 1; /* NO_ROOM is what this scenario waits for */
    command("kill");
    uint64_t end = mono_ms() + 500;
    while (mono_ms() < end)
        step();
    command("restart_empty");
    wait_for(is_lost, &A, "alice to end LOST with her connection closed");
    wait_for(is_lost, &B, "bob to end LOST with his connection closed");
    int ca = A.connects, cb = B.connects;
    end = mono_ms() + 2000; /* a reconnect loop would connect again within this */
    while (mono_ms() < end)
        step();
    e2e_client *cs[] = { &A, &B };
    for (size_t i = 0; i < 2; i++) {
        e2e_client *c = cs[i];
        if (c->counts[SC2_EV_ROOM_LOST] != 1)
            fail("%s had %d ROOM_LOST events, want 1", c->name, c->counts[SC2_EV_ROOM_LOST]);
        if (c->last_error != SC2_C_NO_ROOM)
            fail("%s's last relay error is %d, want NO_ROOM", c->name, c->last_error);
        if (c->counts[SC2_EV_JOIN_FAILED] || c->counts[SC2_EV_REMOVED])
            fail("%s treated the lost room as a failed join or a removal", c->name);
        if (sc2_room_state(c->r) != SC2_RS_LOST || c->wsi)
            fail("%s is not LOST and offline 2 s later (state %d)", c->name,
                 (int)sc2_room_state(c->r));
        mls_bytes st = { 0 };
        if (sc2_room_export(c->r, &st))
            fail("%s: a LOST room does not export", c->name);
        mls_bytes_free(&st);
        if (sc2_room_member_count(c->r) != 2)
            fail("%s forgot the members", c->name);
        no_alerts(c);
    }
    if (A.connects != ca || B.connects != cb)
        fail("connections went on after LOST: alice %d -> %d, bob %d -> %d", ca, A.connects,
             cb, B.connects);
    if (A.connects < 2 || B.connects < 2)
        fail("connections: alice %d, bob %d; both should have met the empty relay",
             A.connects, B.connects);
    if (sc2_room_seq(A.r) != seq_a || sc2_room_seq(B.r) != seq_b)
        fail("the processed seqs moved: alice %llu -> %llu, bob %llu -> %llu",
             (unsigned long long)seq_a, (unsigned long long)sc2_room_seq(A.r),
             (unsigned long long)seq_b, (unsigned long long)sc2_room_seq(B.r));
    check_texts(&B, 0, "before", 0, 5);
    check_total(&B, 5);
}

#define RACE_N 10
#define RACE_ROUNDS 3

/* Three members commit at the same epoch and send meanwhile: the relay takes the first
 * commit of each epoch, the others are re-based; everyone ends in the same epoch with
 * everybody's texts once, each sender's in order. */
static void race_on(int pa, int pb, int pc)
{
    char link[1100];
    e2e_client *m[3] = { &A, &B, &C };
    client_init(&A, "alice", pa);
    client_init(&B, "bob", pb);
    client_init(&C, "carol", pc);
    create_room(&A);
    get_link(&A, link, sizeof link);
    join_room(&B, link);
    join_room(&C, link);
    for (int k = 0; k < 3; k++)
        wait_live(m[k]);
    uint64_t epoch0 = sc2_room_epoch(A.r);
    static const char *tag[3] = { "from-a", "from-b", "from-c" };
    for (int round = 0; round < RACE_ROUNDS; round++)
        for (int k = 0; k < 3; k++) {
            if (sc2_room_update(m[k]->r, now_ms(), NULL))
                fail("%s: sc2_room_update refused", m[k]->name);
            for (int i = 0; i < RACE_N; i++)
                send_text(m[k], tag[k], round * RACE_N + i);
        }
    for (int k = 0; k < 3; k++)
        wait_texts(m[k], 2 * RACE_ROUNDS * RACE_N);
    for (int k = 0; k < 3; k++)
        wait_live(m[k]);
    for (int k = 0; k < 3; k++) {
        e2e_client *c = m[k];
        check_total(c, 2 * RACE_ROUNDS * RACE_N);
        for (int j = 0; j < 3; j++) { /* each other sender's texts in its order */
            if (j == k)
                continue;
            int next = 0;
            char want[64];
            for (size_t i = 0; i < c->n_texts; i++) {
                if (strncmp(c->texts[i], tag[j], strlen(tag[j])))
                    continue;
                snprintf(want, sizeof want, "%s %d", tag[j], next);
                if (strcmp(c->texts[i], want))
                    fail("%s: got \"%s\" where \"%s\" was next", c->name, c->texts[i], want);
                next++;
            }
            if (next != RACE_ROUNDS * RACE_N)
                fail("%s got %d texts of %s, expected %d", c->name, next, m[j]->name,
                     RACE_ROUNDS * RACE_N);
        }
    }
    check_same_epoch(&A, &B);
    check_same_epoch(&A, &C);
    if (sc2_room_epoch(A.r) != epoch0 + 3 * RACE_ROUNDS)
        fail("epoch %llu after %d updates from epoch %llu",
             (unsigned long long)sc2_room_epoch(A.r), 3 * RACE_ROUNDS,
             (unsigned long long)epoch0);
    int rebased = A.counts[SC2_EV_REBASED] + B.counts[SC2_EV_REBASED] +
                  C.counts[SC2_EV_REBASED];
    fprintf(stderr, "commits re-based after losing an epoch race: %d\n", rebased);
    for (int k = 0; k < 3; k++)
        no_alerts(m[k]);
}

static void scenario_race(void)
{
    race_on(relay_port, relay_port, relay_port);
}

/* ---- clusters: v2_e2e cluster_* HOST:PORT1 PORT2 [PORT3], relays sharing JetStream ---- */

/* Alice on relay 1, Bob on relay 2: both type at once, Bob commits an update on his
 * relay; both see every text once, in one total order (same seq, same log hash, no
 * fork alert) and end in the same epoch with the same authenticator. */
static void scenario_cluster_chat(void)
{
    char link[1100];
    alice_and_bob(relay_port, proxy_port, link, sizeof link);
    for (int i = 0; i < 20; i++) {
        send_text(&A, "a", i);
        send_text(&B, "b", i);
    }
    wait_texts(&A, 20);
    wait_texts(&B, 20);
    wait_live(&A);
    wait_live(&B);
    check_texts(&A, 0, "b", 0, 20);
    check_texts(&B, 0, "a", 0, 20);
    uint64_t e0 = sc2_room_epoch(B.r);
    if (sc2_room_update(B.r, now_ms(), NULL))
        fail("bob: sc2_room_update refused");
    for (int i = 0; i < 5; i++)
        send_text(&B, "after", i);
    wait_texts(&A, 25);
    wait_live(&B);
    for (int i = 0; i < 5; i++)
        send_text(&A, "reply", i);
    wait_texts(&B, 25);
    wait_live(&A);
    wait_live(&B);
    check_texts(&A, 20, "after", 0, 5);
    check_texts(&B, 20, "reply", 0, 5);
    check_total(&A, 25);
    check_total(&B, 25);
    if (sc2_room_epoch(A.r) != e0 + 1)
        fail("epoch %llu after bob's update from %llu", (unsigned long long)sc2_room_epoch(A.r),
             (unsigned long long)e0);
    check_same_epoch(&A, &B);
    no_alerts(&A);
    no_alerts(&B);
}

/* The race of scenario_race with alice and carol on relay 1, bob on relay 2: a commit
 * for an epoch another relay appended first is refused, its member re-bases. */
static void scenario_cluster_race(void)
{
    race_on(relay_port, proxy_port, relay_port);
}

/* Relay 1 is SIGKILLed during alice's burst; alice fails over to relay 2 and resumes:
 * bob (on relay 2) gets every text once, in order; alice has every ACCEPTED. */
static void scenario_cluster_kill(void)
{
    char link[1100];
    alice_and_bob(relay_port, proxy_port, link, sizeof link);
    wait_live(&A);
    A.alt_port = proxy_port;
    for (int i = 0; i < KILL_N; i++)
        send_text(&A, "burst", i);
    want_n w = { &A, 10 };
    wait_for(has_accepted, &w, "alice's first 10 ACCEPTED of the burst");
    size_t accepted_before = A.n_accepted;
    want_close wc = { &A, A.closes };
    command("kill1");
    wait_for(has_closed, &wc, "alice to notice that relay 1 is gone");
    wait_texts(&B, KILL_N);
    wait_live(&A);
    wait_live(&B);
    fprintf(stderr, "alice had %zu ACCEPTED before the kill, %zu in all\n", accepted_before,
            A.n_accepted);
    if (A.n_accepted != KILL_N)
        fail("alice had %zu ACCEPTED events for %d texts", A.n_accepted, KILL_N);
    if (accepted_before >= KILL_N)
        fail("the whole burst was accepted before the kill: the test did not test");
    if (A.port != proxy_port || A.connects < 2)
        fail("alice did not fail over to relay 2 (connects %d)", A.connects);
    check_texts(&B, 0, "burst", 0, KILL_N);
    check_total(&B, KILL_N);
    for (int i = 0; i < 5; i++) /* and the room goes on on relay 2 */
        send_text(&B, "b", i);
    wait_texts(&A, 5);
    check_texts(&A, 0, "b", 0, 5);
    wait_live(&B);
    check_same_epoch(&A, &B);
    if (B.counts[SC2_EV_DUPLICATE])
        fail("duplicate LOG entries on bob's connection");
    no_alerts(&A);
    no_alerts(&B);
}

/* A relay started after the room's history was written serves all of it: bob, away
 * meanwhile, resumes through relay 3 and carol joins there. */
static void scenario_cluster_late(void)
{
    char link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", proxy_port);
    client_init(&C, "carol", relay3_port);
    create_room(&A);
    get_link(&A, link, sizeof link);
    join_room(&B, link);
    go_offline(&B);
    for (int i = 0; i < 30; i++)
        send_text(&A, "while away", i);
    if (sc2_room_update(A.r, now_ms(), NULL))
        fail("alice: sc2_room_update refused");
    for (int i = 30; i < 40; i++)
        send_text(&A, "while away", i);
    wait_live(&A);
    command("start3");
    B.port = relay3_port;
    B.online = 1;
    wait_texts(&B, 40);
    wait_live(&B);
    check_texts(&B, 0, "while away", 0, 40);
    check_total(&B, 40);
    join_room(&C, link);
    for (int i = 0; i < 5; i++)
        send_text(&C, "c", i);
    wait_texts(&A, 5);
    wait_texts(&B, 45);
    wait_live(&C);
    check_texts(&A, 0, "c", 0, 5);
    check_texts(&B, 40, "c", 0, 5);
    check_same_epoch(&A, &B);
    check_same_epoch(&A, &C);
    no_alerts(&A);
    no_alerts(&B);
    no_alerts(&C);
}

/* The relays keep 10 entries (--retain-entries 10, the streams too). Relay 3 starts after
 * retention cut the room's log: it makes its replica from the snapshot the committing
 * relay wrote into the room's record, and carol joins through it. */
static void scenario_cluster_retention(void)
{
    char link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", proxy_port);
    client_init(&C, "carol", relay3_port);
    create_room(&A);
    get_link(&A, link, sizeof link);
    join_room(&B, link);
    /* in groups that the running relays' replicas read before retention drops them (a
     * replica overtaken by retention stops serving the room: docs/CLUSTER.md, Left) */
    for (int g = 0; g < 6; g++) {
        for (int i = 5 * g; i < 5 * g + 5; i++)
            send_text(&A, "old", i);
        wait_live(&A);
        wait_texts(&B, (size_t)(5 * g + 5));
    }
    if (sc2_room_update(A.r, now_ms(), NULL))
        fail("alice: sc2_room_update refused");
    for (int i = 0; i < 3; i++)
        send_text(&A, "new", i);
    wait_live(&A);
    wait_texts(&B, 33);
    command("start3");
    join_room(&C, link);
    for (int i = 0; i < 3; i++)
        send_text(&C, "c", i);
    wait_texts(&A, 3);
    wait_texts(&B, 36);
    wait_live(&C);
    check_texts(&B, 0, "old", 0, 30);
    check_texts(&B, 30, "new", 0, 3);
    check_texts(&B, 33, "c", 0, 3);
    check_texts(&A, 0, "c", 0, 3);
    check_same_epoch(&A, &B);
    check_same_epoch(&A, &C);
    no_alerts(&A);
    no_alerts(&B);
    no_alerts(&C);
}

/* The relays keep 10 entries. Bob leaves relay 2 (its replica stops at his position);
 * retention then drops what relay 2 never read. Bob comes back through relay 2: it finds
 * the gap, resets its replica to the room record's snapshot, bob gets GONE and rejoins,
 * and the room goes on for both, in the same epoch. */
static void settle(int ms);

/* The broker (nats-server -js) is SIGKILLed and restarted on its store directory while
 * alice sends: the relays reconnect by themselves, the members come back, every text
 * arrives once, in order. */
static void scenario_cluster_broker(void)
{
    char link[1100];
    alice_and_bob(relay_port, proxy_port, link, sizeof link);
    for (int i = 0; i < 10; i++)
        send_text(&A, "before", i);
    wait_live(&A);
    wait_texts(&B, 10);
    B.expect_error = A.expect_error = 1; /* 1011/RELAY_FULL while the log is away */
    command("nats_kill");
    for (int i = 0; i < 10; i++)
        send_text(&A, "during", i);
    settle(1500);
    command("nats_restart");
    wait_texts(&B, 20);
    wait_live(&A);
    wait_live(&B);
    for (int i = 0; i < 5; i++)
        send_text(&B, "b", i);
    wait_texts(&A, 5);
    wait_live(&B);
    check_texts(&B, 0, "before", 0, 10);
    check_texts(&B, 10, "during", 0, 10);
    check_total(&B, 20);
    check_texts(&A, 0, "b", 0, 5);
    check_same_epoch(&A, &B);
    no_alerts(&A);
    no_alerts(&B);
}

static int lost_and_live(void *arg)
{
    e2e_client *c = arg;
    return c->counts[SC2_EV_HISTORY_LOST] && is_live(c);
}

static void scenario_cluster_overtaken(void)
{
    char link[1100];
    alice_and_bob(relay_port, proxy_port, link, sizeof link);
    go_offline(&B);
    settle(300); /* relay 2 closes the room (its watch stops) */
    for (int g = 0; g < 6; g++) {
        for (int i = 5 * g; i < 5 * g + 5; i++)
            send_text(&A, "away", i);
        wait_live(&A);
    }
    if (sc2_room_update(A.r, now_ms(), NULL))
        fail("alice: sc2_room_update refused");
    for (int i = 0; i < 3; i++)
        send_text(&A, "late", i);
    wait_live(&A);
    B.online = 1;
    /* relay 2 may first answer from its old replica (LIVE at bob's seq), then find the gap */
    wait_for(lost_and_live, &B, "bob to get HISTORY_LOST and be LIVE again (relay 2 cannot "
             "have the entries retention dropped)");
    size_t nb = B.n_texts;
    for (int i = 0; i < 3; i++)
        send_text(&A, "after", i);
    wait_live(&A);
    wait_texts(&B, nb + 3);
    for (int i = 0; i < 3; i++)
        send_text(&B, "b", i);
    wait_texts(&A, 3);
    wait_live(&B);
    check_texts(&B, nb, "after", 0, 3);
    check_texts(&A, 0, "b", 0, 3);
    check_same_epoch(&A, &B);
    B.counts[SC2_EV_HISTORY_LOST] = 0; /* expected: the rest must be clean */
    no_alerts(&A);
    no_alerts(&B);
}

static void scenario_remove(void)
{
    char link[1100], old_link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", relay_port);
    client_init(&C, "carol", relay_port);
    create_room(&A);
    get_link(&A, link, sizeof link);
    join_room(&B, link);
    join_room(&C, link);
    wait_live(&A);
    wait_live(&B);
    memcpy(old_link, link, sizeof link);
    send_text(&A, "all", 0);
    wait_texts(&B, 1);
    wait_texts(&C, 1);
    uint64_t epoch_before = sc2_room_epoch(A.r);
    /* bob is away during the removal: he comes back with the old key (good for RESUME
     * only), learns the new link from the log and authenticates again to send */
    go_offline(&B);
    if (sc2_room_remove(A.r, sc2_room_identity(C.r), now_ms(), NULL))
        fail("sc2_room_remove(carol)");
    wait_for(is_removed, &C, "carol to learn she was removed (REMOVED, state DEAD)");
    wait_live(&A);
    if (!A.counts[SC2_EV_LINK_ROTATED])
        fail("alice's removal did not rotate the link");
    for (int i = 0; i < 5; i++) {
        send_text(&A, "a", i);
        send_text(&B, "b", i);
    }
    B.online = 1;
    wait_live(&A);
    wait_live(&B);
    wait_texts(&A, 5);
    wait_texts(&B, 1 + 5);
    if (!B.counts[SC2_EV_LINK_ROTATED])
        fail("bob did not derive the rotated link");
    check_texts(&A, 0, "b", 0, 5);
    check_texts(&B, 1, "a", 0, 5);
    check_total(&A, 5);
    check_total(&B, 1 + 5);
    check_same_epoch(&A, &B);
    get_link(&A, link, sizeof link);
    if (!strcmp(link, old_link))
        fail("the link did not change with the removal");
    /* carol: nothing of the epochs after her removal */
    for (size_t i = 0; i < C.n_texts; i++)
        if (C.text_epoch[i] > epoch_before || strcmp(C.texts[i], "all 0"))
            fail("carol got \"%s\" (epoch %llu) after her removal", C.texts[i],
                 (unsigned long long)C.text_epoch[i]);
    if (sc2_room_epoch(C.r) > epoch_before)
        fail("carol reached epoch %llu after her removal at %llu",
             (unsigned long long)sc2_room_epoch(C.r), (unsigned long long)epoch_before);
    /* the rotated-out link: a join with it gets ERROR OLD_KEY for GET_GI */
    client_init(&D, "carol", relay_port);
    memcpy(D.seed, C.seed, sizeof D.seed);
    D.expect_error = 1;
    sc2_room_config cfg = cfg_of(&D);
    if (sc2_room_join(&D.r, &cfg, old_link))
        fail("sc2_room_join(old link)");
    D.online = 1;
    wait_for(has_error_or_dead, &D, "the relay's answer to a join with the old link");
    if (D.last_error != SC2_C_OLD_KEY)
        fail("a join with the rotated-out link got code %d, expected OLD_KEY (%d)",
             D.last_error, SC2_C_OLD_KEY);
    if (sc2_room_state(D.r) != SC2_RS_DEAD || !D.counts[SC2_EV_JOIN_FAILED])
        fail("a join with the rotated-out link did not fail for good");
    if (D.n_texts)
        fail("a join with the rotated-out link showed %zu texts", D.n_texts);
    go_offline(&D);
    /* the rotated link still admits a new member */
    client_init(&E, "dave", relay_port);
    join_room(&E, link);
    send_text(&A, "after", 0);
    wait_texts(&E, 1);
    check_texts(&E, 0, "after", 0, 1);
    check_total(&E, 1);
    no_alerts(&A);
    no_alerts(&B);
}

/* ---------------------------------------------------------------- hostile relay path */

static void settle(int ms)
{
    uint64_t end = mono_ms() + (uint64_t)ms;
    while (mono_ms() < end)
        step();
}

static void two_members(const char *link_out_unused)
{
    char link[1100];
    (void)link_out_unused;
    alice_and_bob(relay_port, relay_port, link, sizeof link);
    wait_live(&A);
}

static void check_no(const e2e_client *c, enum sc2_room_event_type t)
{
    if (c->counts[t])
        fail("%s had %d '%s' event(s)", c->name, c->counts[t], sc2_room_event_name(t));
}

static void check_count(const e2e_client *c, enum sc2_room_event_type t, int n)
{
    if (c->counts[t] != n)
        fail("%s had %d '%s' event(s), expected %d", c->name, c->counts[t],
             sc2_room_event_name(t), n);
}

/* drop / dup / swap / withhold: bob's path loses, doubles, reorders one LOG entry, or
 * hides a commit while alice sees it. Each is reported (GAP, DUPLICATE) and repaired by
 * a new connection's RESUME: every text once, in order, the same epoch. */
static void scenario_hostile_path(const char *kind)
{
    two_members(NULL);
    uint64_t s0 = sc2_room_seq(B.r);
    int commit = !strcmp(kind, "withhold");
    if (!strcmp(kind, "drop"))
        B.h_drop = s0 + 3;
    else if (!strcmp(kind, "dup"))
        B.h_dup = s0 + 3;
    else if (!strcmp(kind, "swap"))
        B.h_swap = s0 + 3;
    else {
        B.h_withhold = 1;
        B.h_withhold_after = s0;
    }
    for (int i = 0; i < 10; i++) {
        send_text(&A, "t", i);
        if (commit && i == 4 && sc2_room_update(A.r, now_ms(), NULL))
            fail("sc2_room_update");
    }
    wait_live(&A);
    wait_texts(&B, 10);
    wait_live(&B);
    settle(300);
    if (B.acted != 1)
        fail("the hostile path acted %d times, expected once", B.acted);
    check_texts(&B, 0, "t", 0, 10);
    check_total(&B, 10);
    check_same_epoch(&A, &B);
    check_count(&B, SC2_EV_GAP, strcmp(kind, "dup") ? 1 : 0);
    check_count(&B, SC2_EV_DUPLICATE, strcmp(kind, "dup") ? 0 : 1);
    if (commit && (!B.withheld || sc2_room_epoch(B.r) != sc2_room_epoch(A.r)))
        fail("the commit was not withheld, or bob did not catch up with it");
    check_no(&B, SC2_EV_FORK);
    check_no(&B, SC2_EV_UNREADABLE);
    no_alerts(&A);
}

/* fork: bob is shown one entry with another time_ms (same MLS message: it decrypts).
 * Nothing is detected until the members talk: then each one's next message makes the
 * other raise FORK. */
static void scenario_hostile_fork(void)
{
    two_members(NULL);
    uint64_t s0 = sc2_room_seq(B.r);
    B.h_tamper = s0 + 1;
    send_text(&A, "f", 0);
    wait_texts(&B, 1);
    wait_live(&A);
    settle(500);
    if (B.acted != 1)
        fail("the entry was not altered");
    check_no(&A, SC2_EV_FORK);
    check_no(&B, SC2_EV_FORK); /* not yet: nobody referred to the altered entry */
    send_text(&A, "f", 1);
    wait_texts(&B, 2);
    if (!B.counts[SC2_EV_FORK])
        fail("bob raised no FORK when alice's next message referred to the altered entry");
    check_no(&A, SC2_EV_FORK);
    send_text(&B, "b", 0);
    wait_texts(&A, 1);
    if (!A.counts[SC2_EV_FORK])
        fail("alice raised no FORK when bob's message referred to his log");
    check_texts(&B, 0, "f", 0, 2);
    check_total(&B, 2);
    check_texts(&A, 0, "b", 0, 1);
}

/* forge: bob's path replays an earlier entry's MLS message at a new seq (a text), then
 * bob's own external commit at a later seq flagged as a commit. No text is shown twice,
 * the replay is UNREADABLE, the chain differs (FORK once alice talks), the commit
 * replay adds nobody (bob rejoins and the members stay two). */
static void scenario_hostile_forge(void)
{
    char link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", relay_port);
    create_room(&A);
    get_link(&A, link, sizeof link);
    B.h_record_log = 1;
    join_room(&B, link);
    wait_live(&A);
    uint64_t join_seq = B.joined_seq, s0 = sc2_room_seq(B.r);
    send_text(&A, "x", 0);
    wait_texts(&B, 1);
    B.h_forge = s0 + 2;
    B.h_forge_from = s0 + 1;
    send_text(&A, "x", 1);
    wait_live(&A);
    want_n w = { &B, 0 };
    (void)w;
    uint64_t end = mono_ms() + E2E_WAIT_S * 1000u;
    while (!B.counts[SC2_EV_UNREADABLE]) {
        if (mono_ms() > end)
            fail("timed out waiting for bob to find the replayed message unreadable");
        step();
    }
    if (B.n_texts != 1)
        fail("bob shows %zu texts after the replay, expected 1", B.n_texts);
    send_text(&A, "x", 2);
    wait_texts(&B, 2);
    if (strcmp(B.texts[1], "x 2"))
        fail("bob's second text is \"%s\"", B.texts[1]);
    if (!B.counts[SC2_EV_FORK])
        fail("bob did not see that his log differs once alice referred to it");
    /* a replayed commit, flagged as one */
    uint64_t s1 = sc2_room_seq(B.r);
    B.h_forge = s1 + 1;
    B.h_forge_from = join_seq;
    int joined = B.counts[SC2_EV_JOINED];
    send_text(&A, "x", 3);
    end = mono_ms() + E2E_WAIT_S * 1000u;
    while (B.counts[SC2_EV_JOINED] == joined || sc2_room_state(B.r) != SC2_RS_LIVE) {
        if (mono_ms() > end)
            fail("timed out waiting for bob to rejoin after a commit he cannot process");
        step();
    }
    wait_live(&A);
    settle(500);
    if (sc2_room_member_count(A.r) != 2 || sc2_room_member_count(B.r) != 2)
        fail("members %zu / %zu after a replayed commit, expected 2",
             sc2_room_member_count(A.r), sc2_room_member_count(B.r));
    check_count(&B, SC2_EV_JOINED, joined + 1);
    send_text(&A, "x", 4);
    send_text(&B, "y", 0);
    wait_texts(&A, 1);
    wait_texts(&B, 3);
    if (strcmp(B.texts[2], "x 4"))
        fail("bob's third text is \"%s\"", B.texts[2]);
    check_same_epoch(&A, &B);
    for (size_t i = 0; i < B.n_texts; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(B.texts[i], B.texts[j]))
                fail("bob was shown \"%s\" twice", B.texts[i]);
}

/* stale GroupInfo: the path answers a joiner's GET_GI with the room's first GroupInfo
 * (epoch 0) after two commits: its external commit is refused STALE_EPOCH, it fetches
 * again and joins the real group. */
static void scenario_hostile_stale_gi(void)
{
    char link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", relay_port);
    client_init(&C, "carol", relay_port);
    create_room(&A);
    get_link(&A, link, sizeof link);
    B.h_record_gi = 1;
    join_room(&B, link);
    if (!rec_gi)
        fail("bob's GroupInfo was not recorded");
    if (sc2_room_update(A.r, now_ms(), NULL))
        fail("sc2_room_update");
    wait_live(&A);
    wait_live(&B);
    uint64_t n_log = sc2_room_seq(A.r);
    C.h_replace_gi = 1;
    join_room(&C, link);
    if (C.acted != 1)
        fail("carol was not served the old GroupInfo");
    wait_live(&A);
    wait_live(&B);
    for (int k = 0; k < 3; k++)
        if (sc2_room_member_count((e2e_client *[]){ &A, &B, &C }[k]->r) != 3)
            fail("a member does not count 3 members");
    if (sc2_room_seq(A.r) != n_log + 1)
        fail("the log grew by %llu entries for one join",
             (unsigned long long)(sc2_room_seq(A.r) - n_log));
    check_same_epoch(&A, &C);
    send_text(&C, "c", 0);
    wait_texts(&A, 1);
    wait_texts(&B, 1);
    no_alerts(&A);
    no_alerts(&B);
}

/* A hostile member: its update's MLS message is corrupted after the clear header (the
 * relay accepts it and moves the epoch); nobody can process it. Each member reports it
 * once, rejoins once from the GroupInfo it carried, and the room goes on: bounded, no
 * loop. */
static void scenario_bad_commit(void)
{
    char link[1100];
    e2e_client *m[3] = { &A, &B, &C };
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", relay_port);
    client_init(&C, "carol", relay_port);
    create_room(&A);
    get_link(&A, link, sizeof link);
    join_room(&B, link);
    join_room(&C, link);
    for (int k = 0; k < 3; k++)
        wait_live(m[k]);
    int joined[3];
    for (int k = 0; k < 3; k++)
        joined[k] = m[k]->counts[SC2_EV_JOINED];
    A.h_corrupt_commit = 1;
    if (sc2_room_update(A.r, now_ms(), NULL))
        fail("sc2_room_update");
    for (int k = 0; k < 3; k++) {
        uint64_t end = mono_ms() + E2E_WAIT_S * 1000u;
        while (m[k]->counts[SC2_EV_JOINED] == joined[k] ||
               sc2_room_state(m[k]->r) != SC2_RS_LIVE) {
            if (mono_ms() > end)
                fail("timed out waiting for %s to rejoin after the bad commit", m[k]->name);
            step();
        }
    }
    if (A.acted != 1)
        fail("alice's commit was not corrupted");
    for (int k = 0; k < 3; k++)
        wait_live(m[k]);
    settle(2000);
    for (int k = 0; k < 3; k++) {
        check_count(m[k], SC2_EV_UNREADABLE, 1);
        check_count(m[k], SC2_EV_JOINED, joined[k] + 1);
        if (sc2_room_member_count(m[k]->r) != 3)
            fail("%s counts %zu members", m[k]->name, sc2_room_member_count(m[k]->r));
    }
    for (int k = 0; k < 3; k++)
        send_text(m[k], m[k]->name, 0);
    for (int k = 0; k < 3; k++)
        wait_texts(m[k], 2);
    for (int k = 0; k < 3; k++)
        wait_live(m[k]);
    check_same_epoch(&A, &B);
    check_same_epoch(&A, &C);
    for (int k = 0; k < 3; k++)
        check_total(m[k], 2);
}

/* Offline longer than retention (the relay keeps 10 entries): GONE, rejoin by external
 * commit with resync, HISTORY_LOST names exactly the seqs never shown, and it goes on. */
static void scenario_retention(void)
{
    two_members(NULL);
    go_offline(&B);
    uint64_t sb = sc2_room_seq(B.r);
    for (int i = 0; i < 30; i++) { /* in steps alice reads (else she is a slow reader too) */
        send_text(&A, "lost", i);
        wait_live(&A);
    }
    B.online = 1;
    uint64_t end = mono_ms() + E2E_WAIT_S * 1000u;
    while (!B.counts[SC2_EV_HISTORY_LOST] || sc2_room_state(B.r) != SC2_RS_LIVE) {
        if (mono_ms() > end)
            fail("timed out waiting for bob's HISTORY_LOST and LIVE");
        step();
    }
    check_count(&B, SC2_EV_HISTORY_LOST, 1);
    check_count(&B, SC2_EV_JOINED, 2);
    if (B.hl_from != sb + 1 || B.hl_to != B.joined_seq - 1)
        fail("HISTORY_LOST %llu..%llu, expected %llu..%llu", (unsigned long long)B.hl_from,
             (unsigned long long)B.hl_to, (unsigned long long)(sb + 1),
             (unsigned long long)(B.joined_seq - 1));
    if (B.n_texts)
        fail("bob was shown %zu texts from before his rejoin", B.n_texts);
    send_text(&B, "back", 0);
    send_text(&A, "after", 0);
    wait_texts(&A, 1);
    wait_texts(&B, 1);
    wait_live(&A);
    wait_live(&B);
    check_texts(&A, 0, "back", 0, 1);
    check_texts(&B, 0, "after", 0, 1);
    if (sc2_room_member_count(A.r) != 2)
        fail("alice counts %zu members after bob's rejoin", sc2_room_member_count(A.r));
    check_same_epoch(&A, &B);
    no_alerts(&A);
    check_no(&B, SC2_EV_FORK);
}

/* Client restart: export, free, import, resume, twice (once in the middle of alice's
 * burst with bob's own texts in flight): every text exactly once, in order. */
static void restart_client(e2e_client *c)
{
    mls_bytes st = { 0 };
    if (sc2_room_export(c->r, &st))
        fail("%s: export", c->name);
    sc2_room_free(c->r); /* anything the old connection still brings goes to the import,
                            which is OFFLINE and refuses it: the connection is dropped */
    sc2_room_config cfg = cfg_of(c);
    if (sc2_room_import(&c->r, &cfg, st.p, st.len))
        fail("%s: import", c->name);
    mls_bytes_free(&st);
    if (c->wsi)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static void scenario_restart(void)
{
    two_members(NULL);
    for (int i = 0; i < 50; i++)
        send_text(&A, "a", i);
    for (int i = 0; i < 5; i++)
        send_text(&B, "b", i);
    want_n w = { &B, 10 };
    wait_for(has_texts, &w, "bob's first 10 texts");
    restart_client(&B);
    wait_live(&B);
    for (int i = 5; i < 10; i++)
        send_text(&B, "b", i);
    settle(50);
    restart_client(&B);
    wait_texts(&B, 50);
    wait_live(&B);
    wait_live(&A);
    wait_texts(&A, 10);
    check_texts(&B, 0, "a", 0, 50);
    check_total(&B, 50);
    check_texts(&A, 0, "b", 0, 10);
    check_total(&A, 10);
    check_same_epoch(&A, &B);
    no_alerts(&A);
    check_no(&B, SC2_EV_FORK);
    check_no(&B, SC2_EV_GAP);
}

/* The relay restored from an older copy of its store: ERROR SEQ_AHEAD, an alert, the
 * room is LOST on it (no reconnect loop, no rejoin), and the room is kept. */
static void scenario_seq_ahead(void)
{
    char link[1100];
    alice_and_bob(proxy_port, proxy_port, link, sizeof link);
    send_text(&A, "kept", 0);
    wait_texts(&B, 1);
    wait_live(&A);
    command("snapshot");
    for (int i = 0; i < 3; i++)
        send_text(&A, "newer", i);
    wait_texts(&B, 4);
    wait_live(&A);
    uint64_t sa = sc2_room_seq(A.r);
    A.expect_error = B.expect_error = 1;
    command("restore_snapshot");
    wait_for(is_lost, &A, "alice to end LOST on the rolled-back relay");
    wait_for(is_lost, &B, "bob to end LOST on the rolled-back relay");
    int ca = A.connects, cb = B.connects;
    settle(2000);
    e2e_client *cs[] = { &A, &B };
    for (int k = 0; k < 2; k++) {
        e2e_client *c = cs[k];
        check_count(c, SC2_EV_ROOM_LOST, 1);
        if (c->lost_code != SC2_C_SEQ_AHEAD || c->last_error != SC2_C_SEQ_AHEAD)
            fail("%s: ROOM_LOST code %d, last error %d, expected SEQ_AHEAD", c->name,
                 c->lost_code, c->last_error);
        check_no(c, SC2_EV_JOIN_FAILED);
        if (sc2_room_seq(c->r) != sa)
            fail("%s's seq moved to %llu", c->name, (unsigned long long)sc2_room_seq(c->r));
    }
    if (A.connects != ca || B.connects != cb)
        fail("connections went on after LOST");
}

/* Removal, with the removed member away: carol's state is saved just before the Remove
 * commit; back online she learns she was removed (REMOVED, DEAD, no reconnect loop). Her
 * saved MLS group, fed every entry the relay logged after her seq, processes the removal
 * and decrypts nothing after it (nor, skipping it, anything later). Her old link cannot
 * fetch the GroupInfo; the new one admits a new member. */
static mls_group *group_of_state(const mls_bytes *st)
{
    size_t pos = 5 + 32;
    const uint8_t *p = st->p;
    if (st->len < pos + 1)
        fail("short SC2R");
    pos += 1 + p[pos];             /* name */
    pos += 16 + 32 + 3 + 24;       /* room_id link created dead joining lost_from tokens */
    if (st->len < pos + 4)
        fail("short SC2R");
    uint32_t n = (uint32_t)p[pos] << 24 | (uint32_t)p[pos + 1] << 16 | (uint32_t)p[pos + 2] << 8 | p[pos + 3];
    pos += 4 + n;                  /* loghash */
    if (st->len < pos + 4)
        fail("short SC2R");
    n = (uint32_t)p[pos] << 24 | (uint32_t)p[pos + 1] << 16 | (uint32_t)p[pos + 2] << 8 | p[pos + 3];
    pos += 4;
    mls_group *g = NULL;
    if (st->len < pos + n || mls_group_import(&g, p + pos, n))
        fail("SC2R's MLS group does not import");
    return g;
}

static void scenario_remove_replay(void)
{
    char link[1100], old_link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", relay_port);
    client_init(&C, "carol", relay_port);
    A.h_record_log = 1;
    create_room(&A);
    get_link(&A, link, sizeof link);
    memcpy(old_link, link, sizeof link);
    join_room(&B, link);
    join_room(&C, link);
    wait_live(&A);
    wait_live(&B);
    send_text(&A, "all", 0);
    wait_texts(&C, 1);
    go_offline(&C);
    mls_bytes saved = { 0 };
    if (sc2_room_export(C.r, &saved))
        fail("carol: export");
    uint64_t sc = sc2_room_seq(C.r);
    if (sc2_room_remove(A.r, sc2_room_identity(C.r), now_ms(), NULL))
        fail("sc2_room_remove(carol)");
    wait_live(&A);
    uint64_t remove_seq = sc2_room_seq(A.r);
    for (int i = 0; i < 3; i++)
        send_text(&A, "secret", i);
    for (int i = 0; i < 2; i++)
        send_text(&B, "secret-b", i);
    wait_live(&A);
    wait_live(&B);
    wait_texts(&A, 2);
    uint64_t head = sc2_room_seq(A.r);
    /* carol comes back: she is told, and stops */
    C.online = 1;
    wait_for(is_removed, &C, "carol, away during her removal, to learn it (REMOVED, DEAD)");
    int cc = C.connects; /* the caller closes a DEAD room's connection; online stays 1 */
    if (C.wsi)
        lws_set_timeout(C.wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    settle(1500);
    if (C.connects != cc || C.wsi)
        fail("carol reconnected after her removal (%d -> %d connections)", cc, C.connects);
    if (C.n_texts != 1)
        fail("carol was shown %zu texts, expected only the one before her removal", C.n_texts);
    /* her saved group, replayed the relay's log after her seq */
    for (int pass = 0; pass < 2; pass++) {
        mls_group *g = group_of_state(&saved);
        int removed = 0;
        for (uint64_t s = sc + 1; s <= head; s++) {
            if (s >= E2E_MAX_LOG || !rec_log[s])
                fail("entry %llu of the log was not recorded", (unsigned long long)s);
            if (pass == 1 && s == remove_seq)
                continue; /* skipping the removal gets her nowhere either */
            sc2_env e;
            if (sc2_env_decode(rec_log[s], rec_log_len[s], SC2_FROM_RELAY, &e))
                fail("a recorded LOG does not decode");
            mls_event ev;
            memset(&ev, 0, sizeof ev);
            int rc = mls_group_process(g, e.mls, e.mls_len, now_ms() / 1000, &ev);
            if (s == remove_seq && pass == 0) {
                if (rc || ev.kind != MLS_EV_COMMIT || !ev.removed)
                    fail("carol's saved group did not process her removal (rc %d)", rc);
                removed = 1;
            } else if (rc == 0 && ev.kind == MLS_EV_APPLICATION) {
                fail("carol's saved group decrypted entry %llu after her removal",
                     (unsigned long long)s);
            }
            mls_event_free(&ev);
        }
        if (pass == 0 && !removed)
            fail("the removal was not in the replayed log");
        mls_group_free(g);
    }
    /* her old state, imported, resumes with the old key (RESUME only) and is removed */
    client_init(&D, "carol", relay_port);
    memcpy(D.seed, C.seed, sizeof D.seed);
    sc2_room_config cfg = cfg_of(&D);
    if (sc2_room_import(&D.r, &cfg, saved.p, saved.len))
        fail("carol: import");
    D.online = 1;
    wait_for(is_removed, &D, "carol's imported state to process her removal");
    if (D.n_texts)
        fail("carol's imported state showed %zu texts after her seq", D.n_texts);
    go_offline(&D);
    mls_bytes_free(&saved);
    /* the old link: a join with it is refused (OLD_KEY) */
    client_init(&E, "carol", relay_port);
    memcpy(E.seed, C.seed, sizeof E.seed);
    E.expect_error = 1;
    cfg = cfg_of(&E);
    if (sc2_room_join(&E.r, &cfg, old_link))
        fail("sc2_room_join(old link)");
    E.online = 1;
    wait_for(has_error_or_dead, &E, "the relay's answer to a join with the old link");
    if (E.last_error != SC2_C_OLD_KEY && E.last_error != SC2_C_BAD_PROOF)
        fail("a join with the old link got code %d", E.last_error);
    if (sc2_room_state(E.r) != SC2_RS_DEAD)
        fail("a join with the old link did not fail for good");
    go_offline(&E);
    /* the remaining members have the new link; a newcomer joins with it */
    static e2e_client F;
    client_init(&F, "dave", relay_port);
    get_link(&B, link, sizeof link);
    if (!strcmp(link, old_link))
        fail("bob's link did not change");
    join_room(&F, link);
    send_text(&B, "welcome", 0);
    wait_texts(&F, 1);
    check_texts(&F, 0, "welcome", 0, 1);
    check_same_epoch(&A, &F);
    no_alerts(&A);
    no_alerts(&B);
}

/* A member back after retention dropped its entries is served, for its rejoin, the
 * GroupInfo of an epoch older than its own (the path replays the room's first one):
 * STALE_GI, no external commit on it; the next connection gets the real one and the
 * member rejoins with its history loss named. */
static void scenario_h_stale_gi_rejoin(void)
{
    char link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", relay_port);
    create_room(&A);
    get_link(&A, link, sizeof link);
    B.h_record_gi = 1;
    join_room(&B, link);
    wait_live(&A);
    if (!rec_gi)
        fail("bob's GroupInfo was not recorded");
    go_offline(&B);
    if (sc2_room_update(A.r, now_ms(), NULL))
        fail("sc2_room_update");
    wait_live(&A);
    for (int i = 0; i < 15; i++) {
        send_text(&A, "lost", i);
        wait_live(&A);
    }
    uint64_t head = sc2_room_seq(A.r);
    B.h_replace_gi = 1;
    B.online = 1;
    uint64_t end = mono_ms() + E2E_WAIT_S * 1000u;
    while (B.counts[SC2_EV_JOINED] < 2 || sc2_room_state(B.r) != SC2_RS_LIVE) {
        if (mono_ms() > end)
            fail("timed out waiting for bob to rejoin after the stale GroupInfo");
        step();
    }
    if (B.acted != 1)
        fail("bob was not served the old GroupInfo");
    check_count(&B, SC2_EV_STALE_GI, 1);
    check_count(&B, SC2_EV_HISTORY_LOST, 1);
    check_no(&B, SC2_EV_JOIN_FAILED);
    if (sc2_room_seq(A.r) != head + 1)
        fail("the log grew by %llu entries for one rejoin (a commit on the stale GroupInfo?)",
             (unsigned long long)(sc2_room_seq(A.r) - head));
    send_text(&B, "back", 0);
    wait_texts(&A, 1);
    wait_live(&B);
    if (sc2_room_member_count(A.r) != 2)
        fail("alice counts %zu members", sc2_room_member_count(A.r));
    check_same_epoch(&A, &B);
    no_alerts(&A);
}

/* An earlier key reads the log up to the commit that replaced it, then ERROR OLD_KEY
 * (PROTOCOL.md 5). Bob, away across two rotations, resumes with the first key and
 * catches up (OLD_KEY, AUTH with each derived key); carol and dave, online while they are
 * removed, are sent nothing after the commit that removed them. */
static void scenario_rotations(void)
{
    char link[1100];
    client_init(&A, "alice", relay_port);
    client_init(&B, "bob", relay_port);
    client_init(&C, "carol", relay_port);
    client_init(&D, "dave", relay_port);
    B.h_watch = C.h_watch = D.h_watch = 1;
    create_room(&A);
    get_link(&A, link, sizeof link);
    join_room(&B, link);
    join_room(&C, link);
    join_room(&D, link);
    wait_live(&A);
    go_offline(&B);
    if (sc2_room_remove(A.r, sc2_room_identity(C.r), now_ms(), NULL))
        fail("sc2_room_remove(carol)");
    wait_for(is_removed, &C, "carol to learn she was removed");
    wait_live(&A);
    uint64_t u1 = sc2_room_seq(A.r);
    if (sc2_room_remove(A.r, sc2_room_identity(D.r), now_ms(), NULL))
        fail("sc2_room_remove(dave)");
    wait_for(is_removed, &D, "dave to learn he was removed");
    wait_live(&A);
    uint64_t u2 = sc2_room_seq(A.r);
    for (int i = 0; i < 3; i++)
        send_text(&A, "a", i);
    wait_for(output_empty, &A, "alice's texts to be sent");
    settle(500);
    if (A.counts[SC2_EV_LINK_ROTATED] != 2 || u2 <= u1)
        fail("two removals: %d rotations, seqs %llu %llu", A.counts[SC2_EV_LINK_ROTATED],
             (unsigned long long)u1, (unsigned long long)u2);
    /* the removed members' connections got nothing after their removal */
    if (C.max_seq != u1)
        fail("carol's connection got seq %llu, her removal was %llu",
             (unsigned long long)C.max_seq, (unsigned long long)u1);
    if (D.max_seq != u2)
        fail("dave's connection got seq %llu, his removal was %llu",
             (unsigned long long)D.max_seq, (unsigned long long)u2);
    if (C.old_key_errors != 1 || D.old_key_errors != 2)
        fail("OLD_KEY: carol %d (expected 1), dave %d (expected 2: one per rotation)",
             C.old_key_errors, D.old_key_errors);
    /* bob resumes with the first key and crosses both rotations */
    B.online = 1;
    wait_live(&B);
    wait_texts(&B, 3);
    check_texts(&B, 0, "a", 0, 3);
    check_total(&B, 3);
    check_count(&B, SC2_EV_LINK_ROTATED, 2);
    check_count(&B, SC2_EV_MEMBER_REMOVED, 2);
    check_no(&B, SC2_EV_RELAY_ERROR);
    if (B.old_key_errors != 2)
        fail("bob got %d OLD_KEY, expected 2 (one per rotation)", B.old_key_errors);
    check_same_epoch(&A, &B);
    send_text(&B, "b", 0);
    wait_texts(&A, 1);
    check_texts(&A, 0, "b", 0, 1);
    if (C.max_seq != u1 || D.max_seq != u2)
        fail("a removed member's connection got more later");
    no_alerts(&A);
    no_alerts(&B);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: v2_e2e create_join|cut|cut_sender|kill|race|remove|lost_store HOST:PORT [PROXY_PORT]\n");
        return 2;
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    const char *colon = strrchr(argv[2], ':');
    relay_port = colon ? atoi(colon + 1) : 0;
    proxy_port = argc > 3 ? atoi(argv[3]) : 0;
    relay3_port = argc > 4 ? atoi(argv[4]) : 0;
    if (relay_port <= 0 || sodium_init() < 0) {
        fprintf(stderr, "v2_e2e: bad address '%s' or no libsodium\n", argv[2]);
        return 2;
    }
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.timeout_secs = 10;
    info.connect_timeout_secs = 5;
    ctx = lws_create_context(&info);
    if (!ctx)
        fail("lws_create_context");
    lws_sul_schedule(ctx, 0, &tick, tick_cb, 20 * LWS_US_PER_MS);

    const char *s = argv[1];
    if (!strcmp(s, "create_join"))
        scenario_create_join();
    else if (!strcmp(s, "cut"))
        scenario_cut();
    else if (!strcmp(s, "cut_sender"))
        scenario_cut_sender();
    else if (!strcmp(s, "kill"))
        scenario_kill();
    else if (!strcmp(s, "cluster_chat"))
        scenario_cluster_chat();
    else if (!strcmp(s, "cluster_race"))
        scenario_cluster_race();
    else if (!strcmp(s, "cluster_kill"))
        scenario_cluster_kill();
    else if (!strcmp(s, "cluster_late"))
        scenario_cluster_late();
    else if (!strcmp(s, "cluster_retention"))
        scenario_cluster_retention();
    else if (!strcmp(s, "cluster_overtaken"))
        scenario_cluster_overtaken();
    else if (!strcmp(s, "cluster_broker"))
        scenario_cluster_broker();
    else if (!strcmp(s, "race"))
        scenario_race();
    else if (!strcmp(s, "remove"))
        scenario_remove();
    else if (!strcmp(s, "rotations"))
        scenario_rotations();
    else if (!strcmp(s, "lost_store"))
        scenario_lost_store();
    else if (!strcmp(s, "h_drop") || !strcmp(s, "h_dup") || !strcmp(s, "h_swap") ||
             !strcmp(s, "h_withhold"))
        scenario_hostile_path(s + 2);
    else if (!strcmp(s, "h_fork"))
        scenario_hostile_fork();
    else if (!strcmp(s, "h_forge"))
        scenario_hostile_forge();
    else if (!strcmp(s, "h_stale_gi"))
        scenario_hostile_stale_gi();
    else if (!strcmp(s, "h_stale_gi_rejoin"))
        scenario_h_stale_gi_rejoin();
    else if (!strcmp(s, "bad_commit"))
        scenario_bad_commit();
    else if (!strcmp(s, "retention"))
        scenario_retention();
    else if (!strcmp(s, "restart"))
        scenario_restart();
    else if (!strcmp(s, "seq_ahead"))
        scenario_seq_ahead();
    else if (!strcmp(s, "remove_replay"))
        scenario_remove_replay();
    else {
        fprintf(stderr, "v2_e2e: unknown scenario '%s'\n", s);
        return 2;
    }
    printf("PASS %s\n", s);
    fflush(stdout);
    lws_sul_cancel(&tick);
    lws_context_destroy(ctx);
    for (size_t i = 0; i < n_all; i++) {
        e2e_client *c = all[i];
        for (size_t k = 0; k < c->n_texts; k++)
            free(c->texts[k]);
        c->n_texts = 0;
        free(c->rx);
        c->rx = NULL;
        sc2_room_free(c->r);
        c->r = NULL;
    }
    return 0;
}
