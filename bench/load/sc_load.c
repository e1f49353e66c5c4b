/*
 * sc_load: load generator for the saltchat relay and its peers (bench/peers/).
 *
 * One thread, raw epoll, a minimal client-side WebSocket (bl_ws). Opens N
 * connections into rooms of S members (protocol v2: path /room/<base64url room id>,
 * subprotocol saltchat.v2, docs/PROTOCOL.md). Member 0 of every room CREATEs it with a
 * join key and proof derived by shared/v2/sc2_link from a random link secret, every other
 * member AUTHs once the room is durable, everyone RESUMEs from 0; then each sender
 * SUBMITs application PrivateMessages (group_id = room id, epoch 0) whose ciphertext is a
 * payload of fixed size, either flat out (each sender keeps a bounded window of frames
 * not yet delivered to every other member, and of SUBMITs not yet ACCEPTED) or at a
 * fixed total rate. Every payload carries the sender's index, a per-sender sequence
 * number, the instant it was scheduled and the instant it was actually queued (they
 * differ when the generator runs late); every LOG entry of another member is a delivery,
 * checked for sender, order and completeness. The SUBMIT -> ACCEPTED latency (the
 * relay's COMMIT included) is measured beside it. See docs/BENCHMARKS.md for the method.
 * (Protocol v1, SEND_ALL fan-out with WELCOME/JOINED, was removed with it from the relay.)
 *
 * The last line on stdout is `RESULT {json}`; the exit status is 0 only when every
 * frame was delivered in order, no connection failed or closed unexpectedly, and
 * (with --stall) the stalled member was cut off.
 */
#include "bl_hist.h"
#include "bl_ws.h"
#include "sc2_envelope.h"
#include "sc2_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_MAGIC 0x53434c42u /* "SCLB" */
#define PAYLOAD_HEAD 32u /* magic u32, sender u32, seq u64, scheduled u64, queued u64 */
#define RX_CHUNK (256u * 1024u)
#define MAX_MESSAGE (17u * 1024u * 1024u)
#define WBUF_SOFT_CAP (64u * 1024u)
#define MAX_CLOSE_CODES 16

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSED };

struct conn {
    int fd;
    uint8_t state;
    bool welcomed, stalled, sender, dirty, in_sendq, out_armed, reading, expected_close;
    bool eof_midframe; /* the server closed TCP inside a frame or fragmented message */
    uint32_t idx, room, slot;
    uint64_t member;
    uint32_t known; /* members this one has heard of: WELCOME list + JOINED - LEFT */
    int close_code;
    char key[BL_WS_KEY_CHARS + 1];
    uint8_t *left; /* unparsed bytes (a partial frame, or the handshake head) */
    size_t left_len, left_cap;
    uint8_t *msg; /* a fragmented message being reassembled */
    size_t msg_len, msg_cap;
    bool in_msg;
    uint8_t *wbuf;
    size_t wlen, woff, wcap;
    uint64_t sent, acked; /* sender: frames queued, frames delivered to every reader */
    uint32_t *ring;       /* sender: delivery counts of in-flight frames, by seq % window */
    uint64_t *next_seq;   /* receiver: next expected seq from each slot of the room */
    uint64_t got;         /* receiver: DATA received */
    uint64_t error_env[16];
    /* protocol v2 */
    bool v2_challenged, v2_authed; /* CHALLENGE read; CREATE/AUTH + RESUME sent */
    uint8_t nonce[SC2_NONCE_BYTES];
    uint64_t *v2_stamp; /* sender: instant each in-flight SUBMIT was queued, by seq % window */
    uint64_t v2_accepted;
};

struct room {
    uint32_t first, n;
    uint32_t readers; /* open, non-stalled members */
    bool v2_ready;    /* protocol v2: the creator read LIVE, so the room is durable */
    uint8_t id[SC2_ROOM_ID_BYTES];
    uint8_t link_secret[SC2_LINK_SECRET_BYTES];
};

struct opts {
    const char *server, *label;
    struct sockaddr_in addr;
    uint32_t conns, room_size, senders_per_room, stall, src_addrs, window, concurrency;
    uint32_t size;
    double rate, duration, warmup, timeout, settle, stall_max;
    size_t inflight_bytes, total_inflight;
    int server_pid;
    bool idle, quiet;
    int protocol; /* 1 or 2 */
};

struct stats {
    uint64_t deliveries, sent_frames, order_errors, dup_frames, gap_frames, bad_payload;
    uint64_t proto_errors, connect_failures, handshake_failures, unexpected_closes;
    uint64_t welcome_wait_ns, missing_after_drain, error_envelopes;
    uint64_t v2_accepted, v2_rejected;
    int close_codes[MAX_CLOSE_CODES], close_counts[MAX_CLOSE_CODES], n_close_codes;
    char first_error[256];
};

static struct opts O;
static struct stats S;
static bl_hist H;
static bl_hist HQ; /* latency from the instant the frame was actually queued */
static bl_hist HA; /* protocol v2: SUBMIT queued -> ACCEPTED read */
static bl_hist LAG; /* rate mode: how late the generator queued frames vs their schedule */
static struct conn *C;
static struct room *R;
static uint32_t n_rooms;
static int ep = -1;
static uint8_t *rx;
static size_t rx_cap;
static uint32_t *dirty;
static uint32_t n_dirty;
static uint32_t *sendq;
static uint32_t n_sendq;
static uint32_t *senders;
static uint32_t n_senders;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static bool sending, measuring, flat;
static uint64_t t_send0, t_measure0, t_measure1, sched_sent;
static uint64_t max_lag_ns;
static uint32_t open_conns, pending_setup;
static uint64_t stall_left_ns; /* when the others heard LEFT(stalled) */
static volatile sig_atomic_t interrupted;
static double M_idle, M_busy; /* machine-wide CPU seconds in the measured window */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sc_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

__attribute__((format(printf, 1, 2))) static void note_error(const char *fmt, ...)
{
    if (S.first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(S.first_error, sizeof S.first_error, fmt, ap);
    va_end(ap);
    if (!O.quiet)
        fprintf(stderr, "sc_load: first error: %s\n", S.first_error);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n)
        die("out of memory (%zu bytes)", n);
    return q;
}

static void grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    *buf = xrealloc(*buf, c);
    *cap = c;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* ---- server process figures from /proc ---- */

static long proc_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* fields after the command: state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Machine-wide busy and idle CPU seconds so far, from the first line of /proc/stat. */
static int machine_cpu_s(double *busy, double *idle)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return -1;
    double tck = (double)sysconf(_SC_CLK_TCK);
    *idle = (double)(v[3] + v[4]) / tck;
    *busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tck;
    return 0;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- connection bookkeeping ---- */

static void count_close(int code)
{
    for (int i = 0; i < S.n_close_codes; i++)
        if (S.close_codes[i] == code) {
            S.close_counts[i]++;
            return;
        }
    if (S.n_close_codes < MAX_CLOSE_CODES) {
        S.close_codes[S.n_close_codes] = code;
        S.close_counts[S.n_close_codes++] = 1;
    }
}

static void set_events(struct conn *c)
{
    struct epoll_event ev = {.events = 0, .data.u32 = c->idx};
    if (c->reading)
        ev.events |= EPOLLIN;
    if (c->out_armed)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
}

static uint32_t expected_readers(const struct conn *s)
{
    const struct room *r = &R[s->room];
    bool self_reads = s->state == C_OPEN && !s->stalled;
    return r->readers - (self_reads ? 1u : 0u);
}

static void push_sendq(struct conn *s)
{
    if (!s->in_sendq && s->sender && s->state == C_OPEN) {
        s->in_sendq = true;
        sendq[n_sendq++] = s->idx;
    }
}

static void advance_acks(struct conn *s)
{
    uint32_t want = expected_readers(s);
    uint64_t before = s->acked;
    while (s->acked < s->sent && s->ring[s->acked % O.window] >= want) {
        s->ring[s->acked % O.window] = 0;
        s->acked++;
    }
    if (s->acked != before && sending && flat)
        push_sendq(s);
}

/* The connection is gone (by us, by the server, or by failure). */
static void conn_closed(struct conn *c, int code, bool by_us)
{
    if (c->state == C_CLOSED)
        return;
    bool was_open = c->state == C_OPEN;
    bool was_reader = was_open && !c->stalled;
    if (c->state != C_OPEN)
        pending_setup--;
    c->state = C_CLOSED;
    c->close_code = code;
    close(c->fd);
    c->fd = -1;
    if (was_open)
        open_conns--;
    if (!by_us) {
        count_close(code);
        if (!c->expected_close) {
            S.unexpected_closes++;
            note_error("connection %u (room %u) closed unexpectedly: code %d", c->idx, c->room,
                       code);
        }
    }
    if (was_reader) {
        struct room *r = &R[c->room];
        r->readers--;
        for (uint32_t i = 0; i < r->n; i++) {
            struct conn *s = &C[r->first + i];
            if (s->sender && s->state == C_OPEN)
                advance_acks(s);
        }
    }
}

static void mark_dirty(struct conn *c)
{
    if (!c->dirty) {
        c->dirty = true;
        dirty[n_dirty++] = c->idx;
    }
}

/* Appends one masked client frame carrying payload[0..len). */
static void queue_frame(struct conn *c, unsigned opcode, const uint8_t *payload, size_t len)
{
    grow(&c->wbuf, &c->wcap, c->wlen + len + BL_WS_MAX_CLIENT_HEADER);
    uint32_t mask = (uint32_t)rnd();
    size_t h = bl_ws_client_header(c->wbuf + c->wlen, opcode, len, mask);
    memcpy(c->wbuf + c->wlen + h, payload, len);
    bl_ws_mask(c->wbuf + c->wlen + h, len, mask);
    c->wlen += h + len;
    mark_dirty(c);
}

static void queue_close(struct conn *c, uint16_t code)
{
    uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    queue_frame(c, BL_WS_CLOSE, b, 2);
}

static void queue_submit(struct conn *s, uint64_t stamp, uint64_t now);

/* Appends one SUBMIT carrying the next sequence number of sender s. */
static void queue_data(struct conn *s, uint64_t stamp, uint64_t now)
{
    queue_submit(s, stamp, now);
}


/* The clear header of the MLSMessage(PrivateMessage) in front of the ciphertext vector:
 * version mls10, wire format private_message, group_id<V> = room id, epoch 0, content type
 * application, empty authenticated_data, 24 bytes of encrypted_sender_data. */
#define V2_MLS_HEAD (4u + 1u + SC2_ROOM_ID_BYTES + 8u + 1u + 1u + 1u + 24u)

static size_t v2_vec_prefix(uint8_t *p, size_t n)
{
    if (n < 64) {
        p[0] = (uint8_t)n;
        return 1;
    }
    if (n < 16384) {
        p[0] = (uint8_t)(0x40 | (n >> 8));
        p[1] = (uint8_t)n;
        return 2;
    }
    put32(p, 0x80000000u | (uint32_t)n);
    return 4;
}

/* Appends one SUBMIT whose application message carries the next payload of sender s. */
static void queue_submit(struct conn *s, uint64_t stamp, uint64_t now)
{
    uint8_t vp[4];
    size_t vl = v2_vec_prefix(vp, O.size);
    size_t mls = V2_MLS_HEAD + vl + O.size;
    size_t env = SC2_ENV_HEADER_BYTES + 8 + 1 + mls;
    grow(&s->wbuf, &s->wcap, s->wlen + env + BL_WS_MAX_CLIENT_HEADER);
    uint32_t mask = (uint32_t)rnd();
    uint8_t *f = s->wbuf + s->wlen;
    size_t h = bl_ws_client_header(f, BL_WS_BINARY, env, mask);
    uint8_t *e = f + h;
    e[0] = SC2_ENV_VERSION;
    e[1] = SC2_T_SUBMIT;
    put32(e + 2, (uint32_t)(env - SC2_ENV_HEADER_BYTES));
    put64(e + 6, s->sent + 1); /* token: seq + 1 */
    e[14] = 0;                 /* flags: an application message */
    uint8_t *m = e + 15;
    m[0] = 0, m[1] = 1, m[2] = 0, m[3] = 2;
    m[4] = SC2_ROOM_ID_BYTES;
    memcpy(m + 5, R[s->room].id, SC2_ROOM_ID_BYTES);
    put64(m + 5 + SC2_ROOM_ID_BYTES, 0);
    m[13 + SC2_ROOM_ID_BYTES] = 1; /* application */
    m[14 + SC2_ROOM_ID_BYTES] = 0; /* authenticated_data<V>: empty */
    m[15 + SC2_ROOM_ID_BYTES] = 24;
    memset(m + 16 + SC2_ROOM_ID_BYTES, 0x02, 24);
    memcpy(m + V2_MLS_HEAD, vp, vl);
    uint8_t *p = m + V2_MLS_HEAD + vl;
    put32(p, PAYLOAD_MAGIC);
    put32(p + 4, s->idx);
    put64(p + 8, s->sent);
    put64(p + 16, stamp);
    put64(p + 24, now);
    memset(p + PAYLOAD_HEAD, (int)((s->sent + s->idx) & 0xff), O.size - PAYLOAD_HEAD);
    bl_ws_mask(e, env, mask);
    s->wlen += h + env;
    s->ring[s->sent % O.window] = 0;
    s->v2_stamp[s->sent % O.window] = now;
    s->sent++;
    S.sent_frames++;
    mark_dirty(s);
}

static bool window_open(const struct conn *s)
{
    /* v2: a stamp slot is reused only once its SUBMIT was ACCEPTED */
    if (s->sent - s->v2_accepted >= O.window)
        return false;
    return s->state == C_OPEN && s->sent - s->acked < O.window && s->wlen - s->woff < WBUF_SOFT_CAP;
}

static void flush(struct conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) {
            c->woff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->out_armed) {
                c->out_armed = true;
                set_events(c);
            }
            return;
        }
        note_error("send on connection %u: %s", c->idx, n < 0 ? strerror(errno) : "closed");
        conn_closed(c, 1006, false);
        return;
    }
    c->wlen = c->woff = 0;
    if (c->out_armed) {
        c->out_armed = false;
        set_events(c);
    }
    if (sending && flat && window_open(c))
        push_sendq(c);
}

/* ---- receive path ---- */

/* One received payload (LOG ciphertext): checks sender, order, content. */
static void on_payload(struct conn *c, const uint8_t *payload, size_t len, uint64_t now)
{
    if (len != O.size || be32(payload) != PAYLOAD_MAGIC) {
        S.bad_payload++;
        note_error("connection %u got a payload of %zu bytes or without the magic", c->idx, len);
        return;
    }
    uint32_t sidx = be32(payload + 4);
    uint64_t seq = be64(payload + 8);
    uint64_t stamp = be64(payload + 16);
    uint64_t queued = be64(payload + 24);
    if (sidx == c->idx)
        return; /* the log holds this member's own entries too */
    if (sidx >= O.conns || C[sidx].room != c->room) {
        S.bad_payload++;
        note_error("connection %u got a payload claiming sender %u (not a member of its room)",
                   c->idx, sidx);
        return;
    }
    uint8_t fill = (uint8_t)((seq + sidx) & 0xff);
    if (O.size > PAYLOAD_HEAD &&
        (payload[PAYLOAD_HEAD] != fill || payload[O.size - 1] != fill)) {
        S.bad_payload++;
        note_error("connection %u got a corrupted payload from sender %u seq %" PRIu64, c->idx,
                   sidx, seq);
        return;
    }
    struct conn *s = &C[sidx];
    uint64_t *want = &c->next_seq[s->slot];
    if (seq != *want) {
        S.order_errors++;
        if (seq < *want)
            S.dup_frames++;
        else
            S.gap_frames += seq - *want;
        note_error("connection %u: from sender %u expected seq %" PRIu64 " got %" PRIu64, c->idx,
                   sidx, *want, seq);
        if (seq < *want)
            return;
    }
    *want = seq + 1;
    c->got++;
    if (c->stalled)
        return;
    if (measuring) {
        S.deliveries++;
        bl_hist_add(&H, now > stamp ? now - stamp : 0);
        bl_hist_add(&HQ, now > queued ? now - queued : 0);
    }
    if (seq < s->acked + O.window && seq >= s->acked) {
        s->ring[seq % O.window]++;
        if (seq == s->acked)
            advance_acks(s);
    }
}

/* ---- protocol v2 ---- */

static void v2_queue(struct conn *c, const uint8_t *env, size_t len)
{
    if (!len)
        die("protocol v2: an envelope failed to encode");
    queue_frame(c, BL_WS_BINARY, env, len);
}

/* CREATE (member 0) or AUTH (the others, once the room is durable), then RESUME 0. */
static void v2_try_auth(struct conn *c)
{
    struct room *r = &R[c->room];
    if (!c->v2_challenged || c->v2_authed || (c->slot != 0 && !r->v2_ready))
        return;
    uint8_t pk[SC2_JOIN_PK_BYTES], sig[SC2_SIG_BYTES], env[256];
    sc2_link_auth_sign(r->link_secret, r->id, c->nonce, pk, sig);
    if (c->slot == 0) {
        uint8_t box[64];
        for (size_t i = 0; i < sizeof box; i += 8) {
            uint64_t v = rnd();
            memcpy(box + i, &v, 8);
        }
        v2_queue(c, env, sc2_env_encode_create(env, sizeof env, pk, sig, box, sizeof box));
    } else {
        v2_queue(c, env, sc2_env_encode_auth(env, sizeof env, pk, sig));
    }
    v2_queue(c, env, sc2_env_encode_resume(env, sizeof env, 0));
    c->v2_authed = true;
}

static void on_log(struct conn *c, const sc2_env *e, uint64_t now)
{
    const uint8_t *m = e->mls;
    size_t n = e->mls_len;
    if (n < V2_MLS_HEAD + 1 || m[1] != 1 || m[3] != 2 || m[4] != SC2_ROOM_ID_BYTES ||
        memcmp(m + 5, R[c->room].id, SC2_ROOM_ID_BYTES)) {
        S.bad_payload++;
        note_error("connection %u got a LOG entry that is not this room's PrivateMessage",
                   c->idx);
        return;
    }
    const uint8_t *v = m + V2_MLS_HEAD;
    size_t rest = n - V2_MLS_HEAD, pre = (size_t)1 << (v[0] >> 6), len;
    if (pre > 4 || rest < pre) {
        S.bad_payload++;
        note_error("connection %u: LOG ciphertext length cut off", c->idx);
        return;
    }
    len = pre == 1 ? (size_t)(v[0] & 0x3f)
          : pre == 2 ? (size_t)((v[0] & 0x3f) << 8 | v[1])
                     : (size_t)(be32(v) & 0x3fffffffu);
    if (len != rest - pre) {
        S.bad_payload++;
        note_error("connection %u: LOG ciphertext of %zu bytes in %zu", c->idx, len, rest - pre);
        return;
    }
    on_payload(c, v + pre, len, now);
}

static void on_envelope2(struct conn *c, const sc2_env *e, uint64_t now)
{
    switch (e->type) {
    case SC2_T_CHALLENGE:
        if (c->v2_challenged) {
            S.proto_errors++;
            note_error("connection %u got a second CHALLENGE", c->idx);
            return;
        }
        memcpy(c->nonce, e->nonce, SC2_NONCE_BYTES);
        c->v2_challenged = true;
        v2_try_auth(c);
        break;
    case SC2_T_LIVE:
        if (c->welcomed) {
            S.proto_errors++;
            note_error("connection %u got a second LIVE", c->idx);
            return;
        }
        c->welcomed = true;
        c->known = R[c->room].n - 1;
        if (c->slot == 0) {
            struct room *r = &R[c->room];
            r->v2_ready = true;
            for (uint32_t i = 1; i < r->n; i++)
                v2_try_auth(&C[r->first + i]);
        }
        break;
    case SC2_T_LOG:
        on_log(c, e, now);
        break;
    case SC2_T_ACCEPTED:
        if (e->token != c->v2_accepted + 1 || e->token > c->sent) {
            S.proto_errors++;
            note_error("connection %u: ACCEPTED token %" PRIu64 ", expected %" PRIu64, c->idx,
                       e->token, c->v2_accepted + 1);
            return;
        }
        if (measuring) {
            uint64_t t = c->v2_stamp[c->v2_accepted % O.window];
            bl_hist_add(&HA, now > t ? now - t : 0);
            S.v2_accepted++;
        }
        c->v2_accepted++;
        if (sending && flat && window_open(c))
            push_sendq(c);
        break;
    case SC2_T_REJECTED:
        S.v2_rejected++;
        note_error("connection %u: SUBMIT %" PRIu64 " REJECTED %u (%s), room epoch %" PRIu64,
                   c->idx, e->token, e->code, sc2_code_name(e->code), e->epoch);
        break;
    case SC2_T_ERROR:
        S.error_envelopes++;
        if (!c->expected_close)
            note_error("connection %u got ERROR %u (%s): %.*s", c->idx, e->code,
                       sc2_code_name(e->code), (int)e->reason_len, e->reason);
        break;
    default: /* GI, GONE: never asked for */
        S.proto_errors++;
        note_error("connection %u got unexpected envelope type 0x%02x", c->idx, e->type);
        break;
    }
}

static void on_message2(struct conn *c, const uint8_t *m, size_t len, uint64_t now)
{
    sc2_env_iter it;
    sc2_env e;
    int r;
    sc2_env_iter_init(&it, m, len, SC2_FROM_RELAY);
    while ((r = sc2_env_iter_next(&it, &e)) == 1)
        on_envelope2(c, &e, now);
    if (r < 0) {
        S.proto_errors++;
        note_error("connection %u: malformed v2 message of %zu bytes: %s", c->idx, len,
                   sc2_env_strerror(r));
    }
}

static void on_message(struct conn *c, const uint8_t *m, size_t len, uint64_t now)
{
    on_message2(c, m, len, now);
}

/* Handles one complete frame; returns false if the connection was closed. */
static bool on_frame(struct conn *c, const bl_ws_frame *f, const uint8_t *p, uint64_t now)
{
    switch (f->opcode) {
    case BL_WS_BINARY:
    case BL_WS_TEXT:
    case BL_WS_CONT:
        if (f->opcode == BL_WS_TEXT) {
            S.proto_errors++;
            note_error("connection %u got a text frame", c->idx);
        }
        if (f->opcode == BL_WS_CONT && !c->in_msg) {
            S.proto_errors++;
            note_error("connection %u got a continuation frame outside a message", c->idx);
            return true;
        }
        if (f->opcode != BL_WS_CONT && c->in_msg) {
            S.proto_errors++;
            note_error("connection %u got a new message inside a fragmented one", c->idx);
            c->in_msg = false;
        }
        if (f->fin && !c->in_msg) {
            on_message(c, p, f->len, now);
            return true;
        }
        if (!c->in_msg) {
            c->in_msg = true;
            c->msg_len = 0;
        }
        if (c->msg_len + f->len > MAX_MESSAGE) {
            S.proto_errors++;
            note_error("connection %u: fragmented message over %u bytes", c->idx, MAX_MESSAGE);
            c->in_msg = false;
            return true;
        }
        if (f->len) {
            grow(&c->msg, &c->msg_cap, c->msg_len + f->len);
            memcpy(c->msg + c->msg_len, p, f->len);
            c->msg_len += f->len;
        }
        if (f->fin) {
            c->in_msg = false;
            on_message(c, c->msg, c->msg_len, now);
        }
        return true;
    case BL_WS_PING:
        queue_frame(c, BL_WS_PONG, p, f->len);
        return true;
    case BL_WS_PONG:
        return true;
    case BL_WS_CLOSE: {
        int code = f->len >= 2 ? (p[0] << 8 | p[1]) : 1005;
        if (!c->expected_close && !O.quiet)
            fprintf(stderr, "sc_load: connection %u closed by server: %d %.*s\n", c->idx, code,
                    f->len > 2 ? (int)f->len - 2 : 0, (const char *)p + 2);
        uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        queue_frame(c, BL_WS_CLOSE, b, f->len >= 2 ? 2 : 0);
        flush(c);
        conn_closed(c, code, false);
        return false;
    }
    }
    return true;
}

static bool handshake(struct conn *c, size_t *used)
{
    const char *err = NULL;
    long h = bl_ws_response((const char *)c->left, c->left_len, c->key,
                           "saltchat.v2", &err);
    if (h == 0)
        return false;
    if (h < 0) {
        S.handshake_failures++;
        note_error("connection %u: handshake: %s", c->idx, err);
        conn_closed(c, 1002, true);
        return false;
    }
    c->state = C_OPEN;
    pending_setup--;
    open_conns++;
    if (!c->stalled)
        R[c->room].readers++;
    *used = (size_t)h;
    return true;
}

static void on_readable(struct conn *c, uint64_t now)
{
    for (int rounds = 0; rounds < 4 && c->state != C_CLOSED; rounds++) {
        /* rx = leftover partial frame || newly read bytes; parsed in place */
        size_t have = c->left_len;
        if (rx_cap < have + RX_CHUNK)
            grow(&rx, &rx_cap, have + RX_CHUNK);
        if (have)
            memcpy(rx, c->left, have);
        size_t room = rx_cap - have;
        ssize_t n = read(c->fd, rx + have, room);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            if (n < 0)
                note_error("read on connection %u: %s", c->idx, strerror(errno));
            c->eof_midframe = have > 0 || c->in_msg;
            conn_closed(c, 1006, false);
            return;
        }
        size_t len = have + (size_t)n, off = 0;
        if (c->state == C_HANDSHAKE) {
            grow(&c->left, &c->left_cap, len);
            memcpy(c->left, rx, len);
            c->left_len = len;
            if (!handshake(c, &off))
                return;
        }
        while (c->state == C_OPEN && off < len) {
            bl_ws_frame f;
            const char *err = NULL;
            int r = bl_ws_frame_parse(rx + off, len - off, MAX_MESSAGE, &f, &err);
            if (r < 0) {
                S.proto_errors++;
                note_error("connection %u: %s", c->idx, err);
                conn_closed(c, 1002, true);
                return;
            }
            if (r == 0 || len - off < f.header + f.len) {
                if (r == 1 && rx_cap < f.header + f.len + RX_CHUNK)
                    grow(&rx, &rx_cap, f.header + f.len + RX_CHUNK);
                break;
            }
            if (!on_frame(c, &f, rx + off + f.header, now))
                return;
            off += f.header + (size_t)f.len;
        }
        if (c->state != C_OPEN)
            return;
        c->left_len = len - off;
        if (c->left_len) {
            grow(&c->left, &c->left_cap, c->left_len);
            memcpy(c->left, rx + off, c->left_len);
        }
        if ((size_t)n < room)
            return; /* drained the socket */
    }
}

static void on_connected(struct conn *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        S.connect_failures++;
        note_error("connect %u to %s: %s", c->idx, O.server, strerror(err));
        conn_closed(c, 1006, true);
        return;
    }
    char path[80], req[512];
    uint8_t nonce[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t v = rnd();
        memcpy(nonce + i, &v, 8);
    }
    char id[SC2_ROOM_ID_CHARS + 1];
    sc2_link_room_id_text(R[c->room].id, id);
    snprintf(path, sizeof path, "/room/%s", id);
    size_t n = bl_ws_request(req, sizeof req, O.server, path, "saltchat.v2", nonce, c->key);
    c->state = C_HANDSHAKE;
    c->reading = true;
    c->out_armed = false;
    set_events(c);
    grow(&c->wbuf, &c->wcap, n);
    memcpy(c->wbuf, req, n);
    c->wlen = n;
    flush(c);
}

static void start_connect(struct conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s (raise the open-files limit?)", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->stalled) {
        int small = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    if (O.src_addrs > 1) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (c->idx % O.src_addrs));
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
            die("bind 127.0.0.%u: %s", 1 + c->idx % O.src_addrs, strerror(errno));
    }
    c->fd = fd;
    c->state = C_CONNECTING;
    pending_setup++;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = c->idx};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl add: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&O.addr, sizeof O.addr) < 0 && errno != EINPROGRESS) {
        S.connect_failures++;
        note_error("connect %u: %s", c->idx, strerror(errno));
        conn_closed(c, 1006, true);
    }
}

static void on_event(uint32_t idx, uint32_t events, uint64_t now)
{
    struct conn *c = &C[idx];
    if (c->state == C_CONNECTING) {
        on_connected(c);
        return;
    }
    if (c->state == C_CLOSED)
        return;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->reading)
        on_readable(c, now);
    if (c->state != C_CLOSED && (events & EPOLLOUT))
        flush(c);
}

/* ---- the run ---- */

static void produce(uint64_t now);
static void flush_dirty(void);

static void poll_once(int timeout_ms)
{
    static struct epoll_event evs[1024];
    int n = epoll_wait(ep, evs, 1024, timeout_ms);
    if (n < 0 && errno != EINTR)
        die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
        /* a fresh clock per socket: frames read late in a long batch are not stamped early */
        uint64_t now = now_ns();
        on_event(evs[i].data.u32, evs[i].events, now);
        /* at a fixed rate, keep sending on schedule while a long batch is handled */
        if (sending && !flat && (i & 31) == 31) {
            produce(now);
            flush_dirty();
        }
    }
}

static void produce(uint64_t now)
{
    if (flat) {
        uint32_t n = n_sendq;
        n_sendq = 0;
        for (uint32_t i = 0; i < n; i++) {
            struct conn *s = &C[sendq[i]];
            s->in_sendq = false;
            while (window_open(s))
                queue_data(s, now, now);
        }
        return;
    }
    uint64_t due = (uint64_t)((double)(now - t_send0) * O.rate / 1e9);
    while (sched_sent < due) {
        struct conn *s = &C[senders[sched_sent % n_senders]];
        if (s->state != C_OPEN) {
            sched_sent++;
            continue;
        }
        if (!window_open(s))
            break; /* behind schedule: later frames keep their planned send times */
        uint64_t stamp = t_send0 + (uint64_t)((double)sched_sent * 1e9 / O.rate);
        if (now - stamp > max_lag_ns)
            max_lag_ns = now - stamp;
        if (measuring)
            bl_hist_add(&LAG, now > stamp ? now - stamp : 0);
        queue_data(s, stamp, now);
        sched_sent++;
    }
}

static void flush_dirty(void)
{
    for (uint32_t i = 0; i < n_dirty; i++) {
        struct conn *c = &C[dirty[i]];
        c->dirty = false;
        if (c->state != C_CLOSED && c->state != C_CONNECTING)
            flush(c);
    }
    n_dirty = 0;
}

static bool all_settled(void)
{
    for (uint32_t i = 0; i < O.conns; i++) {
        const struct conn *c = &C[i];
        if (c->state == C_CLOSED)
            continue;
        if (c->state != C_OPEN || !c->welcomed || c->known != R[c->room].n - 1)
            return false;
    }
    return true;
}

static uint64_t missing_frames(void)
{
    uint64_t miss = 0;
    for (uint32_t i = 0; i < O.conns; i++) {
        const struct conn *c = &C[i];
        if (c->state != C_OPEN || c->stalled)
            continue;
        const struct room *r = &R[c->room];
        for (uint32_t j = 0; j < r->n; j++) {
            const struct conn *s = &C[r->first + j];
            if (s != c && s->state == C_OPEN && s->sent > c->next_seq[j])
                miss += s->sent - c->next_seq[j];
        }
        if (c->sent > c->v2_accepted)
            miss += c->sent - c->v2_accepted;
    }
    return miss;
}

static void setup(void)
{
    n_rooms = (O.conns + O.room_size - 1) / O.room_size;
    C = calloc(O.conns, sizeof *C);
    R = calloc(n_rooms, sizeof *R);
    dirty = calloc(O.conns, sizeof *dirty);
    sendq = calloc(O.conns, sizeof *sendq);
    senders = calloc(O.conns, sizeof *senders);
    if (!C || !R || !dirty || !sendq || !senders)
        die("out of memory");
    for (uint32_t r = 0; r < n_rooms; r++) {
        R[r].first = r * O.room_size;
        R[r].n = O.conns - R[r].first < O.room_size ? O.conns - R[r].first : O.room_size;
        for (size_t i = 0; i < SC2_ROOM_ID_BYTES; i += 8) {
            uint64_t v = rnd();
            memcpy(R[r].id + i, &v, 8);
        }
        for (size_t i = 0; i < SC2_LINK_SECRET_BYTES; i += 8) {
            uint64_t v = rnd();
            memcpy(R[r].link_secret + i, &v, 8);
        }
    }
    if (O.window == 0) {
        size_t per = (size_t)(O.room_size > 1 ? O.room_size - 1 : 1) *
                     (O.size + SC2_ENV_HEADER_BYTES + 64);
        size_t budget = O.inflight_bytes;
        if (O.total_inflight / O.conns < budget)
            budget = O.total_inflight / O.conns;
        O.window = (uint32_t)(budget / per);
        if (O.window < 1)
            O.window = 1;
        if (O.window > 4096)
            O.window = 4096;
    }
    for (uint32_t i = 0; i < O.conns; i++) {
        struct conn *c = &C[i];
        c->fd = -1;
        c->idx = i;
        c->room = i / O.room_size;
        c->slot = i % O.room_size;
        c->stalled = c->room == 0 && c->slot >= R[0].n - O.stall;
        c->expected_close = false;
        c->sender = !O.idle && !c->stalled && c->slot < O.senders_per_room;
        c->next_seq = calloc(R[c->room].n, sizeof *c->next_seq);
        if (!c->next_seq)
            die("out of memory");
        if (c->sender) {
            c->ring = calloc(O.window, sizeof *c->ring);
            c->v2_stamp = calloc(O.window, sizeof *c->v2_stamp);
            if (!c->ring || !c->v2_stamp)
                die("out of memory");
            senders[n_senders++] = i;
        }
    }
    /* interleave the rate-mode schedule across rooms: sender k of every room, then k+1 */
    if (n_senders > 1) {
        uint32_t k = 0;
        for (uint32_t slot = 0; slot < O.room_size; slot++)
            for (uint32_t r = 0; r < n_rooms; r++) {
                uint32_t i = r * O.room_size + slot;
                if (i < O.conns && C[i].sender)
                    senders[k++] = i;
            }
    }
}

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Prints the RESULT line (and a summary on stderr); returns whether the run passed. */
static bool print_result(double wall, double gen_cpu, double srv_cpu, long rss0, long rss1,
                         double connect_s, long rss_idle, bool stall_ok, int stall_code,
                         uint64_t stall_got)
{
    double dps = wall > 0 ? (double)S.deliveries / wall : 0;
    double gen_cores = wall > 0 ? gen_cpu / wall : 0;
    double srv_cores = wall > 0 && srv_cpu >= 0 ? srv_cpu / wall : -1;
    bool gen_bound = !O.idle && gen_cores > 0.85;
    bool delivery_ok = S.order_errors == 0 && S.bad_payload == 0 && S.proto_errors == 0 &&
                       S.connect_failures == 0 && S.handshake_failures == 0 && S.v2_rejected == 0 &&
                       S.unexpected_closes == 0 && S.missing_after_drain == 0 && !interrupted &&
                       (O.idle || S.deliveries > 0);
    bool ok = delivery_ok && (O.stall == 0 || stall_ok);
    printf("RESULT {\"label\":\"%s\",\"ok\":%s,\"delivery_ok\":%s,\"conns\":%u,\"rooms\":%u,\"room_size\":%u,"
           "\"size\":%u,\"mode\":\"%s\",\"rate\":%.1f,\"window\":%u,\"seconds\":%.3f,"
           "\"connect_s\":%.3f,\"sent\":%" PRIu64 ",\"deliveries\":%" PRIu64
           ",\"deliveries_per_s\":%.1f,"
           "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
           "\"queued_p50_us\":%.1f,\"queued_p99_us\":%.1f,\"queued_p999_us\":%.1f,"
           "\"max_lag_ms\":%.3f,\"lag_p99_us\":%.1f,\"gen_cores\":%.3f,\"generator_bound\":%s,\"server_cores\":%.3f,"
           "\"machine_idle_cores\":%.3f,\"other_cores\":%.3f,"
           "\"rss_before_kib\":%ld,\"rss_idle_kib\":%ld,\"rss_after_kib\":%ld,"
           "\"rss_per_conn_bytes\":%.1f,"
           "\"order_errors\":%" PRIu64 ",\"gap_frames\":%" PRIu64 ",\"dup_frames\":%" PRIu64
           ",\"bad_payload\":%" PRIu64 ",\"proto_errors\":%" PRIu64
           ",\"connect_failures\":%" PRIu64 ",\"handshake_failures\":%" PRIu64
           ",\"unexpected_closes\":%" PRIu64 ",\"missing_after_drain\":%" PRIu64
           ",\"error_envelopes\":%" PRIu64 ",\"close_codes\":{",
           O.label, ok ? "true" : "false", delivery_ok ? "true" : "false", O.conns, n_rooms, O.room_size, O.size,
           O.idle ? "idle" : flat ? "flat" : "rate", O.rate, O.window, wall, connect_s,
           S.sent_frames, S.deliveries, dps, bl_hist_quantile(&H, 0.50) / 1e3,
           bl_hist_quantile(&H, 0.99) / 1e3, bl_hist_quantile(&H, 0.999) / 1e3, H.max / 1e3,
           bl_hist_quantile(&HQ, 0.50) / 1e3, bl_hist_quantile(&HQ, 0.99) / 1e3,
           bl_hist_quantile(&HQ, 0.999) / 1e3, max_lag_ns / 1e6,
           bl_hist_quantile(&LAG, 0.99) / 1e3, gen_cores, gen_bound ? "true" : "false", srv_cores,
           wall > 0 ? M_idle / wall : -1.0,
           wall > 0 && srv_cpu >= 0 ? (M_busy - gen_cpu - srv_cpu) / wall : -1.0, rss0, rss_idle,
           rss1,
           rss_idle > 0 && rss0 > 0 ? (double)(rss_idle - rss0) * 1024.0 / O.conns : -1.0,
           S.order_errors, S.gap_frames, S.dup_frames, S.bad_payload, S.proto_errors,
           S.connect_failures, S.handshake_failures, S.unexpected_closes, S.missing_after_drain,
           S.error_envelopes);
    for (int i = 0; i < S.n_close_codes; i++)
        printf("%s\"%d\":%d", i ? "," : "", S.close_codes[i], S.close_counts[i]);
    printf("}");
    printf(",\"protocol\":2,\"accepted\":%" PRIu64 ",\"accepted_per_s\":%.1f,"
               "\"rejected\":%" PRIu64 ",\"accepted_p50_us\":%.1f,\"accepted_p99_us\":%.1f,"
               "\"accepted_p999_us\":%.1f",
               S.v2_accepted, wall > 0 ? (double)S.v2_accepted / wall : 0, S.v2_rejected,
               bl_hist_quantile(&HA, 0.50) / 1e3, bl_hist_quantile(&HA, 0.99) / 1e3,
               bl_hist_quantile(&HA, 0.999) / 1e3);
    if (O.stall) {
        const struct conn *st = &C[R[0].first + R[0].n - 1];
        printf(",\"stall\":{\"cut_off\":%s,\"close_code\":%d,\"left_after_s\":%.3f,"
               "\"frames_before_cut\":%" PRIu64 ",\"error_envelope_7\":%" PRIu64
               ",\"eof_midframe\":%s}",
               stall_left_ns ? "true" : "false", stall_code,
               stall_left_ns ? (double)(stall_left_ns - t_send0) / 1e9 : -1.0, stall_got,
               st->error_env[7], st->eof_midframe ? "true" : "false");
    }
    printf(",\"first_error\":\"");
    for (const char *p = S.first_error; *p; p++)
        if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
            putchar(*p);
    printf("\"}\n");
    fflush(stdout);
    if (!O.quiet) {
        fprintf(stderr,
                "sc_load %s: %u conns, %u rooms of %u, %u B, %s: %.0f deliveries/s, p50 %.0f us, "
                "p99 %.0f us, p99.9 %.0f us; generator %.2f cores%s, server %.2f cores; %s\n",
                O.label, O.conns, n_rooms, O.room_size, O.size,
                O.idle ? "idle" : flat ? "flat out" : "fixed rate", dps,
                bl_hist_quantile(&H, 0.5) / 1e3, bl_hist_quantile(&H, 0.99) / 1e3,
                bl_hist_quantile(&H, 0.999) / 1e3, gen_cores,
                gen_bound ? " (GENERATOR IS THE BOTTLENECK)" : "", srv_cores,
                ok ? "all frames delivered in order" : "FAILED");
    }
    return ok;
}

static void usage(FILE *f)
{
    fputs("usage: sc_load --server HOST:PORT [options]\n"
          "  --conns N            connections (default 100)\n"
          "  --room-size S        members per room; rooms = ceil(N/S) (default 100)\n"
          "  --size BYTES         SEND_ALL payload size, >= 32 (default 256)\n"
          "  --rate R             total SEND_ALL frames/s; 0 = flat out (default 0)\n"
          "  --senders K          senders per room (default: all members)\n"
          "  --window W           flat out: frames in flight per sender (default: from\n"
          "                       --inflight-bytes)\n"
          "  --inflight-bytes B   bytes in flight towards each member (default 65536)\n"
          "  --total-inflight B   ... and towards all members together (default 32 MiB)\n"
          "  --duration SEC       measured seconds (default 3)\n"
          "  --warmup SEC         unmeasured seconds before (default 0.5)\n"
          "  --idle               open, join and hold; measure the server's RSS only\n"
          "  --settle SEC         with --server-pid: wait after joining, then read the\n"
          "                       server's RSS (idle memory per connection) (default 1)\n"
          "  --stall K            refused: measured protocol v1's slow-consumer cut (4002)\n"
          "  --server-pid PID     read the server's CPU and RSS from /proc\n"
          "  --src-addrs N        spread sources over 127.0.0.1..N (default: 1 per 5000)\n"
          "  --concurrency C      connection handshakes in flight (default 256)\n"
          "  --timeout SEC        setup and drain limit (default 60)\n"
          "  --protocol 2         saltchat.v2 (the only one; 1, saltchat.v1, was removed)\n"
          "  --label NAME         name in the result line\n"
          "  --quiet              only the RESULT line\n",
          f);
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"server", 1, 0, 's'},   {"conns", 1, 0, 'n'},       {"room-size", 1, 0, 'm'},
        {"size", 1, 0, 'b'},     {"rate", 1, 0, 'r'},        {"senders", 1, 0, 'k'},
        {"window", 1, 0, 'w'},   {"inflight-bytes", 1, 0, 'i'}, {"duration", 1, 0, 'd'},
        {"warmup", 1, 0, 'u'},   {"total-inflight", 1, 0, 'T'},   {"idle", 0, 0, 'I'},        {"settle", 1, 0, 'e'},
        {"stall", 1, 0, 'S'},    {"stall-max", 1, 0, 'M'},   {"server-pid", 1, 0, 'p'},
        {"src-addrs", 1, 0, 'a'}, {"concurrency", 1, 0, 'c'}, {"timeout", 1, 0, 't'},
        {"label", 1, 0, 'l'},    {"protocol", 1, 0, 'P'},    {"quiet", 0, 0, 'q'},       {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    O.conns = 100;
    O.room_size = 100;
    O.size = 256;
    O.duration = 3;
    O.warmup = 0.5;
    O.timeout = 60;
    O.settle = 1;
    O.stall_max = 30;
    O.inflight_bytes = 64 * 1024;
    O.total_inflight = 32u * 1024 * 1024;
    O.concurrency = 256;
    O.senders_per_room = UINT32_MAX;
    O.label = "server";
    O.protocol = 2;
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        char *end = NULL;
        double v = optarg ? strtod(optarg, &end) : 0;
        if (optarg && o != 's' && o != 'l' && (end == optarg || *end || v < 0 || !isfinite(v))) {
            const char *name = "?";
            for (const struct option *x = lo; x->name; x++)
                if (x->val == o)
                    name = x->name;
            die("--%s: not a non-negative number: '%s'", name, optarg);
        }
        switch (o) {
        case 's': O.server = optarg; break;
        case 'n': O.conns = (uint32_t)v; break;
        case 'm': O.room_size = (uint32_t)v; break;
        case 'b': O.size = (uint32_t)v; break;
        case 'r': O.rate = v; break;
        case 'k': O.senders_per_room = (uint32_t)v; break;
        case 'w': O.window = (uint32_t)v; break;
        case 'i': O.inflight_bytes = (size_t)v; break;
        case 'T': O.total_inflight = (size_t)v; break;
        case 'd': O.duration = v; break;
        case 'u': O.warmup = v; break;
        case 'I': O.idle = true; break;
        case 'e': O.settle = v; break;
        case 'S': O.stall = (uint32_t)v; break;
        case 'M': O.stall_max = v; break;
        case 'p': O.server_pid = (int)v; break;
        case 'a': O.src_addrs = (uint32_t)v; break;
        case 'c': O.concurrency = (uint32_t)v; break;
        case 't': O.timeout = v; break;
        case 'l': O.label = optarg; break;
        case 'P': O.protocol = (int)v; break;
        case 'q': O.quiet = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc || !O.server) {
        usage(stderr);
        exit(2);
    }
    const char *colon = strrchr(O.server, ':');
    char host[64];
    if (!colon || (size_t)(colon - O.server) >= sizeof host)
        die("--server wants IPv4ADDR:PORT, got '%s'", O.server);
    memcpy(host, O.server, (size_t)(colon - O.server));
    host[colon - O.server] = '\0';
    O.addr.sin_family = AF_INET;
    long port = strtol(colon + 1, NULL, 10);
    if (inet_pton(AF_INET, host, &O.addr.sin_addr) != 1 || port <= 0 || port > 65535)
        die("--server wants IPv4ADDR:PORT, got '%s'", O.server);
    if ((ntohl(O.addr.sin_addr.s_addr) >> 24) != 127)
        die("--server must be a loopback address (127.0.0.0/8): this tool only loads local servers");
    O.addr.sin_port = htons((uint16_t)port);
    if (O.conns < 2 || O.room_size < 2)
        die("--conns and --room-size must be at least 2");
    if (O.size < PAYLOAD_HEAD || O.size > 16u * 1024 * 1024)
        die("--size must be between %u and 16 MiB", PAYLOAD_HEAD);
    if (O.stall >= (O.conns < O.room_size ? O.conns : O.room_size))
        die("--stall must leave at least one reading member in room 0");
    if (O.protocol != 2)
        die("--protocol must be 2: protocol v1 (saltchat.v1) was removed from the relay");
    if (O.stall)
        die("--stall measured protocol v1's slow-consumer cut (4002) and is not supported "
            "in protocol v2 (readers pull from the log)");
    if (O.concurrency < 1)
        O.concurrency = 1;
    if (O.src_addrs == 0)
        O.src_addrs = (O.conns + 4999) / 5000;
    if (O.src_addrs > 250)
        die("--src-addrs at most 250");
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    flat = O.rate == 0 && !O.idle;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < O.conns + 64u) {
        rl.rlim_cur = rl.rlim_max < O.conns + 1024u ? rl.rlim_max : O.conns + 1024u;
        if (rl.rlim_cur < O.conns + 64u) {
            rl.rlim_max = rl.rlim_cur = O.conns + 1024u; /* root may raise the hard limit */
        }
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            die("need %u open files; raise `ulimit -n` (%s)", O.conns + 64u, strerror(errno));
    }
    uint64_t seed = now_ns() ^ ((uint64_t)getpid() << 32);
    rng_state ^= seed ? seed : 1;
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1: %s", strerror(errno));
    setup();
    long rss0 = O.server_pid ? proc_rss_kib(O.server_pid) : -1;

    /* connect and join */
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(O.timeout * 1e9);
    uint32_t next = 0;
    while (!interrupted) {
        while (next < O.conns && pending_setup < O.concurrency)
            start_connect(&C[next++]);
        flush_dirty();
        if (next == O.conns && pending_setup == 0 && (all_settled() || S.first_error[0]))
            break;
        if (now_ns() > deadline) {
            note_error("setup not finished after %.0f s (%u of %u open)", O.timeout, open_conns,
                       O.conns);
            break;
        }
        poll_once(10);
    }
    double connect_s = (double)(now_ns() - t0) / 1e9;
    if (!O.quiet)
        fprintf(stderr, "sc_load: %u/%u connections open and joined in %.2f s\n", open_conns,
                O.conns, connect_s);

    long rss_idle = -1;
    if ((O.idle || O.server_pid) && !interrupted && !S.first_error[0]) {
        uint64_t end = now_ns() + (uint64_t)(O.settle * 1e9);
        while (now_ns() < end && !interrupted) {
            flush_dirty();
            poll_once(50);
        }
        if (O.server_pid)
            rss_idle = proc_rss_kib(O.server_pid);
    }

    /* stalled members stop reading */
    for (uint32_t i = 0; i < O.conns; i++)
        if (C[i].stalled && C[i].state == C_OPEN) {
            C[i].reading = false;
            C[i].expected_close = true;
            set_events(&C[i]);
        }

    double gen0 = 0, gen1 = 0, srv0 = -1, srv1 = -1;
    double busy0 = 0, idle0 = 0, busy1 = 0, idle1 = 0;
    bool setup_ok = !S.first_error[0];
    if (!O.idle && setup_ok && !interrupted) {
        sending = true;
        t_send0 = now_ns();
        t_measure0 = t_send0 + (uint64_t)(O.warmup * 1e9);
        t_measure1 = t_measure0 + (uint64_t)(O.duration * 1e9);
        for (uint32_t i = 0; i < n_senders; i++)
            push_sendq(&C[senders[i]]);
        bool started = false;
        for (;;) {
            uint64_t now = now_ns();
            if (!started && now >= t_measure0) {
                started = measuring = true;
                gen0 = self_cpu_s();
                srv0 = O.server_pid ? proc_cpu_s(O.server_pid) : -1;
                machine_cpu_s(&busy0, &idle0);
                t_measure0 = now;
            }
            /* with --stall, keep the load on until the others hear LEFT(stalled) */
            bool stall_done = !O.stall || (stall_left_ns && now >= stall_left_ns + 500000000ull) ||
                              now >= t_send0 + (uint64_t)(O.stall_max * 1e9);
            if ((now >= t_measure1 && stall_done) || interrupted)
                break;
            produce(now);
            flush_dirty();
            poll_once(flat ? 5 : 1);
        }
        measuring = false;
        t_measure1 = now_ns();
        gen1 = self_cpu_s();
        srv1 = O.server_pid ? proc_cpu_s(O.server_pid) : -1;
        machine_cpu_s(&busy1, &idle1);
        sending = false;

        /* drain: everything sent must arrive at every reader */
        uint64_t drain_end = now_ns() + (uint64_t)(O.timeout * 1e9);
        uint64_t miss = 0;
        while (!interrupted && (miss = missing_frames()) > 0 && now_ns() < drain_end) {
            flush_dirty();
            poll_once(5);
        }
        S.missing_after_drain = miss;
        if (miss)
            note_error("%" PRIu64 " frames never arrived after %.0f s of draining", miss,
                       O.timeout);
    }

    /* stalled members read again: they must see an in-order prefix, then the cut-off */
    bool stall_ok = false;
    int stall_code = 0;
    uint64_t stall_got = 0;
    if (O.stall) {
        for (uint32_t i = 0; i < O.conns; i++)
            if (C[i].stalled && C[i].state == C_OPEN) {
                C[i].reading = true;
                set_events(&C[i]);
            }
        uint64_t end = now_ns() + 5000000000ull;
        for (;;) {
            bool open = false;
            for (uint32_t i = 0; i < O.conns; i++)
                open |= C[i].stalled && C[i].state == C_OPEN;
            if (!open || now_ns() > end || interrupted)
                break;
            flush_dirty();
            poll_once(10);
        }
        const struct conn *st = &C[R[0].first + R[0].n - 1];
        stall_code = st->state == C_CLOSED ? st->close_code : 0;
        stall_got = st->got;
        stall_ok = stall_code == 4002;
        if (!stall_ok)
            note_error("stalled member was not closed with 4002 (state %s, code %d)",
                       st->state == C_CLOSED ? "closed" : "still open", stall_code);
    }

    long rss1 = O.server_pid ? proc_rss_kib(O.server_pid) : -1;
    double wall = O.idle ? 0 : (double)(t_measure1 - t_measure0) / 1e9;
    M_idle = idle1 - idle0;
    M_busy = busy1 - busy0;
    bool ok = print_result(wall, gen1 - gen0, srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1, rss0, rss1,
                 connect_s, rss_idle, stall_ok, stall_code, stall_got);

    /* goodbye: close 1000 to everyone, give the server a moment to answer */
    for (uint32_t i = 0; i < O.conns; i++)
        if (C[i].state == C_OPEN) {
            C[i].expected_close = true;
            queue_close(&C[i], 1000);
        }
    flush_dirty();
    uint64_t bye = now_ns() + 1000000000ull;
    while (open_conns > 0 && now_ns() < bye) {
        poll_once(10);
        flush_dirty();
    }
    return ok ? 0 : 1;
}
