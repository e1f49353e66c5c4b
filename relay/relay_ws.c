#include "relay_ws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "relay_bucket.h"
#include "relay_log.h"
#include "relay_rawrx.h"
#include "relay_server.h"
#include "relay_ws2.h"
#include "relay_wsguard.h"
#include "sc_envelope.h"

enum session_state {
    S_NEW = 0, /* lws zeroes the session: before ESTABLISHED */
    S_ACTIVE,  /* in its room */
    S_DRAIN,   /* shutting down: deliver what is queued, then close */
    S_CLOSING, /* send the pending ERROR (if any), then close */
    S_CUT,     /* cut (4002, 4003): write nothing more; close once lws holds no write */
    S_CLOSED   /* close frame queued: write nothing more */
};

struct session {
    relay_member m;
    struct lws *wsi;
    lws_dll2_t node; /* relay->sessions */
    uint8_t *frag;   /* message being reassembled; NULL when none */
    uint32_t frag_len, frag_cap;
    lws_dll2_t kick_node; /* relay->kick: needs a writeable callback requested later */
    lws_dll2_t flush_node; /* relay->flush: has frames to write directly */
    relay_ka_entry ka;    /* relay->ka: ping/pong */
    uint8_t ping_due;     /* write a ping at the next writeable callback */
    relay_bucket bucket;
    uint8_t state;
    uint8_t reason;     /* enum relay_close_reason, once decided */
    uint8_t peer_closed;
    uint16_t close_code;
    uint16_t err_code;  /* ERROR envelope to send before closing; 0: none */
    const char *err_text; /* static string, printable ASCII */
};

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

size_t relay_ws_session_size(void)
{
    return sizeof(struct session);
}

static void drop_fragment(struct session *s)
{
    free(s->frag);
    s->frag = NULL;
    s->frag_len = s->frag_cap = 0;
}

/*
 * Sends a close frame with the session's code and reason, then closes. Debian's
 * lws 4.1.6 (built with _DEBUG, on libuv) closes a connection whose callback
 * returned -1 twice in a row, and the second close kills the socket before the
 * close frame goes out. An immediate timeout starts the close instead; lws
 * treats every timeout but PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE as a violent
 * death (no close frame), hence that reason. The peer then has 5 s to answer.
 */
static void close_politely(struct session *s, struct lws *wsi)
{
    const char *why = s->err_text ? s->err_text : "";

    lws_close_reason(wsi, (enum lws_close_status)s->close_code, (unsigned char *)why,
                     strlen(why));
    lws_rx_flow_control(wsi, 1); /* to read the peer's closing handshake */
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, LWS_TO_KILL_ASYNC);
}

/*
 * Leaves the room and arranges for an ERROR (err_code, text; none if 0) and a
 * close with code to be written at the next writeable callback. Input that
 * still arrives is ignored.
 */
static void fail(struct relay *r, struct session *s, enum relay_close_reason reason,
                 uint16_t code, uint16_t err_code, const char *text)
{
    if (s->state == S_CLOSING || s->state == S_CUT || s->state == S_CLOSED)
        return;
    relay_room_leave(r->rooms, &s->m);
    drop_fragment(s);
    s->state = S_CLOSING;
    s->reason = (uint8_t)reason;
    s->close_code = code;
    s->err_code = err_code;
    s->err_text = text;
    lws_callback_on_writable(s->wsi);
    relay_log(RELAY_LOG_INFO, "member %016llx: closing %u (%s)", (unsigned long long)s->m.id,
              code, text);
}

static long write_pending(struct relay *r, struct session *s, struct lws *wsi, int *more);
static void flush_cb(lws_sorted_usec_list_t *sul);

/*
 * A member with new frames is written to directly, once per loop iteration, from
 * flush_sul (it runs after the iteration's reads, so their frames go out as one
 * batch). Asking lws for a writeable callback instead costs about three epoll_ctl
 * calls per write on libuv (POLLOUT on, the wait, POLLOUT off); that path is kept for
 * sockets that are full (lws holds a partial write), pings, draining and closing.
 */
static void room_wake(relay_member *m, void *arg)
{
    struct session *s = lws_container_of(m, struct session, m);
    struct relay *r = arg;

    if (s->state == S_DRAIN) {
        lws_callback_on_writable(s->wsi);
        return;
    }
    if (s->state != S_ACTIVE || !lws_dll2_is_detached(&s->flush_node))
        return;
    lws_dll2_add_tail(&s->flush_node, &r->flush);
    if (r->flush.count == 1)
        lws_sul_schedule(r->ctx, 0, &r->flush_sul, flush_cb, 0);
}

static void flush_cb(lws_sorted_usec_list_t *sul)
{
    struct relay *r = lws_container_of(sul, struct relay, flush_sul);
    struct lws_dll2 *d;

    while ((d = lws_dll2_get_head(&r->flush))) {
        struct session *s = lws_container_of(d, struct session, flush_node);
        int more = 0;

        lws_dll2_remove(d);
        /* lws_write has no state check: never write data after the peer's close,
         * which lws has already answered */
        if (s->state != S_ACTIVE || s->peer_closed)
            continue;
        /* Not lws_send_pipe_choked: its poll() per write was a third of the relay's
         * system calls in small rooms. Writing into a socket that turns out to be full
         * is safe: lws keeps the rest (one batch at most, as on the writeable path),
         * nothing more is written until it has flushed that, and a cut waits for the
         * flush before its close frame (close_after_written). */
        if (s->ping_due || lws_partial_buffered(s->wsi)) {
            lws_callback_on_writable(s->wsi);
            continue;
        }
        if (write_pending(r, s, s->wsi, &more) < 0) {
            /* the socket failed; lws closes it (CLOSED follows) */
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            continue;
        }
        if (more)
            lws_callback_on_writable(s->wsi);
    }
}

/*
 * lws 4.1.6 on libuv loses a writeable request made inside ESTABLISHED (the
 * handshake's own bookkeeping resets the poll events afterwards), which would
 * hold WELCOME back until the client sends something. Such requests are
 * queued here and made from LWS_CALLBACK_EVENT_WAIT_CANCELLED instead.
 */
static void kick_later(struct relay *r, struct session *s)
{
    if (lws_dll2_is_detached(&s->kick_node))
        lws_dll2_add_tail(&s->kick_node, &r->kick);
    lws_cancel_service(r->ctx);
}

static void run_kicks(struct relay *r)
{
    struct lws_dll2 *d;

    while ((d = lws_dll2_get_head(&r->kick))) {
        struct session *s = lws_container_of(d, struct session, kick_node);
        lws_dll2_remove(d);
        lws_callback_on_writable(s->wsi);
    }
}

/*
 * Closes s (state S_CUT, close code set) behind what was already written to it. lws
 * 4.1.6 drops the close frame of a connection it closes while it still holds part of
 * a write: it flushes that, then kills the socket. So while lws holds one, the close
 * waits for the writeable callback that follows the flush (on_writeable), at most
 * --ping-timeout seconds. Otherwise it starts now: the socket may be full, so a
 * writeable callback may never come, and lws queues the close frame after what the
 * kernel already has.
 */
static void close_after_written(struct relay *r, struct session *s)
{
    if (lws_partial_buffered(s->wsi)) {
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, (int)r->cfg->ping_timeout);
        lws_callback_on_writable(s->wsi);
        return;
    }
    close_politely(s, s->wsi);
    s->state = S_CLOSED;
}

static void room_cut(relay_member *m, void *arg)
{
    struct session *s = lws_container_of(m, struct session, m);
    static const char why[] = "slow consumer: queue over --max-queue";

    drop_fragment(s);
    s->state = S_CUT;
    s->reason = RELAY_CLOSE_SLOW_CONSUMER;
    s->close_code = 4002;
    relay_log(RELAY_LOG_INFO, "member %016llx: cut as a slow consumer",
              (unsigned long long)m->id);
    s->err_text = why;
    close_after_written(arg, s);
}

/* relay_room took m out of its room: cluster sync lost (4003), or the room filled up
 * (4001) or memory ran out (1011) while m waited for its WELCOME. */
static void room_lost(relay_member *m, int why, void *arg)
{
    struct session *s = lws_container_of(m, struct session, m);
    struct relay *r = arg;
    static const char sync_lost[] = "cluster sync lost: reconnect";

    if (why == RELAY_ROOM_LOST_FULL) {
        fail(r, s, RELAY_CLOSE_ROOM_FULL, 4001, SC_ENV_ERR_ROOM_FULL, "room is full");
        return;
    }
    if (why == RELAY_ROOM_LOST_NOMEM) {
        fail(r, s, RELAY_CLOSE_RELAY_FULL, 1013, SC_ENV_ERR_RELAY_FULL,
             "relay cannot take more members now; try again later");
        return;
    }
    if (s->state != S_ACTIVE && s->state != S_DRAIN)
        return;
    drop_fragment(s);
    s->state = S_CUT;
    s->reason = RELAY_CLOSE_CLUSTER;
    s->close_code = 4003;
    s->err_text = sync_lost;
    relay_log(RELAY_LOG_INFO, "member %016llx: %s", (unsigned long long)m->id, sync_lost);
    close_after_written(r, s);
}

static void room_throttle(relay_member *m, int on, void *arg)
{
    struct session *s = lws_container_of(m, struct session, m);

    (void)arg;
    if (s->state == S_ACTIVE)
        lws_rx_flow_control(s->wsi, !on);
}

static void ka_ping(relay_ka_entry *e, void *arg)
{
    struct session *s = lws_container_of(e, struct session, ka);

    (void)arg;
    if (s->state == S_ACTIVE || s->state == S_DRAIN) {
        s->ping_due = 1;
        lws_callback_on_writable(s->wsi);
    }
}

static void ka_dead(relay_ka_entry *e, void *arg)
{
    struct session *s = lws_container_of(e, struct session, ka);
    struct relay *r = arg;

    if (s->state == S_CUT || s->state == S_CLOSED)
        return; /* its close is under way, with its own timeout */
    relay_log(RELAY_LOG_INFO, "member %016llx: no answer to ping, dropping it",
              (unsigned long long)s->m.id);
    relay_room_leave(r->rooms, &s->m);
    drop_fragment(s);
    if (s->state != S_CLOSED && s->state != S_CUT)
        s->reason = RELAY_CLOSE_TIMEOUT;
    s->state = S_CLOSED;
    /* a dead peer reads no close frame: drop the socket */
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void relay_ws_keepalive_init(struct relay *r)
{
    relay_ka_init(&r->ka, r->cfg->ping_interval, r->cfg->ping_timeout, relay_now_s());
    r->ka.ping = ka_ping;
    r->ka.dead = ka_dead;
    r->ka.arg = r;
}

relay_room_ops relay_ws_room_ops(struct relay *r)
{
    relay_room_ops ops = {room_wake, room_cut, room_throttle, r, room_lost};
    return ops;
}

static void join_room(struct relay *r, struct session *s, struct lws *wsi);

/*
 * The client broke RFC 6455 (code 1002 or 1007; 1009 for an announced message over
 * --max-frame): close with code, and no ERROR envelope for a protocol error. lws may
 * close the connection itself on the same bytes, before the writeable callback: the
 * reason is set at once so that its close frame carries this code too.
 */
static void protocol_error(struct relay *r, struct session *s, uint16_t code, const char *why)
{
    lws_close_reason(s->wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
    if (code == 1009)
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC_ENV_ERR_TOO_BIG, why);
    else
        fail(r, s, RELAY_CLOSE_PROTOCOL, code, 0, why);
}

void relay_ws_violation(struct lws *wsi, uint16_t code, const char *why)
{
    struct session *s = lws_wsi_user(wsi);
    struct relay *r = relay_of(wsi);

    if (s && r && s->state != S_NEW)
        protocol_error(r, s, code, why);
}

static void on_established(struct relay *r, struct session *s, struct lws *wsi)
{
    if (r->cfg->sndbuf) {
        int v = (int)r->cfg->sndbuf;
        if (setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &v, sizeof v) != 0)
            relay_log(RELAY_LOG_WARN, "--sndbuf: setsockopt failed: %s", strerror(errno));
    }
    join_room(r, s, wsi);
    kick_later(r, s);
}

static void join_room(struct relay *r, struct session *s, struct lws *wsi)
{
    char uri[16 + RELAY_ROOM_ID_MAX];
    const relay_config *cfg = r->cfg;

    s->wsi = wsi;
    lws_dll2_add_tail(&s->node, &r->sessions);
    r->metrics.connections++;
    r->metrics.connections_total++;
    relay_bucket_init(&s->bucket, cfg->rate_burst, now_us());
    relay_ka_add(&r->ka, &s->ka, r->ka.last_tick);

    /* frames that came with the handshake have been checked already */
    const char *why = NULL;
    uint16_t code = relay_rawrx_bind(lws_get_socket_fd(wsi), wsi, &why);
    if (code) {
        protocol_error(r, s, code, why);
        return;
    }
    if (r->shutting_down) {
        fail(r, s, RELAY_CLOSE_SHUTDOWN, 1001, SC_ENV_ERR_SHUTDOWN, "relay is shutting down");
        return;
    }
    if (r->metrics.connections > cfg->max_connections) {
        fail(r, s, RELAY_CLOSE_RELAY_FULL, 1013, SC_ENV_ERR_RELAY_FULL,
             "relay is at its connection limit; try again later");
        return;
    }
    int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    if (n <= 6 || strncmp(uri, "/room/", 6)) {
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC_ENV_ERR_MALFORMED, "bad room path");
        return;
    }
    if (r->cluster && !relay_cluster_ready(r->cluster)) {
        fail(r, s, RELAY_CLOSE_CLUSTER, 4003, 0,
             "relay has no connection to its cluster broker: try again or another relay");
        return;
    }
    switch (relay_room_join(r->rooms, uri + 6, (size_t)n - 6, &s->m)) {
    case 0:
        s->state = S_ACTIVE;
        relay_log(RELAY_LOG_DEBUG, "member %016llx joined", (unsigned long long)s->m.id);
        return;
    case RELAY_ROOM_HELD:
        /* the cluster is collecting the room's members: no input before WELCOME */
        s->state = S_ACTIVE;
        lws_rx_flow_control(wsi, 0);
        return;
    case RELAY_ROOM_E_FULL:
        fail(r, s, RELAY_CLOSE_ROOM_FULL, 4001, SC_ENV_ERR_ROOM_FULL, "room is full");
        return;
    case RELAY_ROOM_E_INVALID:
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC_ENV_ERR_MALFORMED, "bad room id");
        return;
    default:
        fail(r, s, RELAY_CLOSE_RELAY_FULL, 1013, SC_ENV_ERR_RELAY_FULL,
             "relay cannot take more members now; try again later");
        return;
    }
}

/* Routing failed for lack of memory: the frame was not accepted. */
static void out_of_memory(struct relay *r, struct session *s)
{
    fail(r, s, RELAY_CLOSE_INTERNAL, 1011, SC_ENV_ERR_RELAY_FULL,
         "relay out of memory; reconnect later");
}

/* Handles one complete client message buf[0..len). */
static void on_message(struct relay *r, struct session *s, const uint8_t *buf, size_t len)
{
    const relay_config *cfg = r->cfg;
    uint32_t max_payload = cfg->max_frame - SC_ENV_SEND_TO_OVERHEAD;
    uint8_t reply[SC_ENV_HEADER_BYTES + 2 + SC_ENV_MAX_REASON];
    size_t n;
    sc_env env;
    int rc;

    if (len > cfg->max_frame) {
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC_ENV_ERR_TOO_BIG, "message too big");
        return;
    }
    if (!relay_bucket_take(&s->bucket, cfg->rate_limit, cfg->rate_burst,
                           now_us())) {
        fail(r, s, RELAY_CLOSE_RATE_LIMITED, 1008, SC_ENV_ERR_RATE_LIMITED,
             "rate limit exceeded; slow down");
        return;
    }
    rc = sc_env_parse(buf, len, SC_ENV_FROM_CLIENT, &env);
    if (rc < 0) {
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC_ENV_ERR_MALFORMED, sc_env_strerror(rc));
        return;
    }
    if ((size_t)rc != len) {
        fail(r, s, RELAY_CLOSE_MALFORMED, 1008, SC_ENV_ERR_MALFORMED,
             "one envelope per message: trailing bytes after the envelope");
        return;
    }
    switch (env.type) {
    case SC_ENV_T_SEND_ALL:
    case SC_ENV_T_SEND_TO:
        if (env.payload_len > max_payload) {
            fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC_ENV_ERR_TOO_BIG,
                 "payload larger than max_payload");
            return;
        }
        if (env.type == SC_ENV_T_SEND_ALL)
            rc = relay_room_send_all(r->rooms, &s->m, env.payload, env.payload_len);
        else
            rc = relay_room_send_to(r->rooms, &s->m, env.member, env.payload, env.payload_len);
        if (rc == RELAY_ROOM_E_NO_MEMBER) {
            n = sc_env_encode_error(reply, sizeof reply, SC_ENV_ERR_NO_SUCH_MEMBER,
                                    "no such member in this room");
            rc = relay_room_reply(r->rooms, &s->m, reply, n);
        }
        break;
    case SC_ENV_T_SYNC:
        rc = relay_room_sync(r->rooms, &s->m, env.token);
        break;
    default:
        rc = RELAY_ROOM_E_INVALID; /* the parser admits no other client types */
        break;
    }
    if (rc == RELAY_ROOM_E_NOMEM) {
        out_of_memory(r, s);
        return;
    }
    if (rc == 0 || rc == RELAY_ROOM_E_NOT_IN) {
        /* NOT_IN: this member was cut while routing its own frame */
        r->metrics.frames_in++;
        r->metrics.bytes_in += len;
    }
}

static void on_receive(struct relay *r, struct session *s, struct lws *wsi, const uint8_t *in,
                       size_t len)
{
    uint32_t max = r->cfg->max_frame;

    if (s->state != S_ACTIVE)
        return;
    relay_ka_alive(&s->ka, r->ka.last_tick);
    int final = lws_is_final_fragment(wsi);
    if (!lws_frame_is_binary(wsi)) {
        /* refused either way; but text that is not UTF-8 breaks RFC 6455 itself */
        if (!relay_wsguard_text_ok(in, len, final && !lws_remaining_packet_payload(wsi)))
            protocol_error(r, s, 1007, "text frame is not valid UTF-8");
        else
            fail(r, s, RELAY_CLOSE_TEXT, 1003, SC_ENV_ERR_MALFORMED,
                 "text frames are not accepted; send binary envelopes");
        return;
    }
    if (!s->frag && final) {
        on_message(r, s, in, len);
        return;
    }
    /* Reassembly: only messages lws delivers in pieces get a buffer, freed at the end. */
    size_t want = (size_t)s->frag_len + len;
    size_t rest = lws_remaining_packet_payload(wsi);
    if (want > max || rest > max - want) {
        fail(r, s, RELAY_CLOSE_TOO_BIG, 1009, SC_ENV_ERR_TOO_BIG, "message too big");
        return;
    }
    if (want + rest > s->frag_cap) {
        size_t cap = want + rest;
        if (!final && !rest && cap < max) /* more frames follow: grow geometrically */
            cap = cap * 2 < max ? cap * 2 : max;
        uint8_t *p = realloc(s->frag, cap ? cap : 1);
        if (!p) {
            out_of_memory(r, s);
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

/* Writes what is pending for s as one message (up to the scratch size); *more: there is
 * still more. Returns the bytes written, or -1 if the socket failed. */
static long write_pending(struct relay *r, struct session *s, struct lws *wsi, int *more)
{
    uint8_t *buf = r->scratch + LWS_PRE;
    uint32_t n_env;
    size_t n = relay_room_fill(r->rooms, &s->m, buf, r->scratch_cap, &n_env, more);

    if (!n)
        return 0;
    if (lws_write(wsi, buf, n, LWS_WRITE_BINARY) < (int)n) {
        s->reason = RELAY_CLOSE_GONE;
        return -1;
    }
    r->metrics.frames_out += n_env;
    r->metrics.bytes_out += n;
    r->metrics.messages_out++;
    return (long)n;
}

/* Returns -1 to have lws drop the connection at once, 0 otherwise. */
static int on_writeable(struct relay *r, struct session *s, struct lws *wsi)
{
    uint8_t *buf = r->scratch + LWS_PRE;
    int more;

    switch (s->state) {
    case S_ACTIVE:
    case S_DRAIN: {
        if (s->ping_due) {
            /* lws 4.1.6 hides pongs with an empty payload: give the ping one */
            s->ping_due = 0;
            memcpy(buf, "ka", 2);
            if (lws_write(wsi, buf, 2, LWS_WRITE_PING) < 0)
                return -1;
            if (s->m.pending || s->state == S_DRAIN)
                lws_callback_on_writable(wsi);
            return 0;
        }
        long n = write_pending(r, s, wsi, &more);
        if (n < 0)
            return -1;
        if (more) {
            lws_callback_on_writable(wsi);
        } else if (s->state == S_DRAIN) {
            fail(r, s, RELAY_CLOSE_SHUTDOWN, 1001, SC_ENV_ERR_SHUTDOWN,
                 "relay is shutting down");
            if (!n)
                return on_writeable(r, s, wsi);
        }
        return 0;
    }
    case S_CUT: /* lws has flushed the write it held: now the close can follow */
        close_politely(s, wsi);
        s->state = S_CLOSED;
        return 0;
    case S_CLOSING:
        if (s->err_code) {
            size_t n = sc_env_encode_error(buf, r->scratch_cap, s->err_code, s->err_text);
            if (n && lws_write(wsi, buf, n, LWS_WRITE_BINARY) < (int)n)
                return -1;
        }
        close_politely(s, wsi);
        s->state = S_CLOSED;
        return 0;
    default:
        return 0;
    }
}

static void on_closed(struct relay *r, struct session *s)
{
    if (s->state == S_NEW)
        return; /* never established */
    relay_rawrx_release(lws_get_socket_fd(s->wsi));
    relay_room_leave(r->rooms, &s->m);
    drop_fragment(s);
    if (s->state == S_ACTIVE || s->state == S_DRAIN)
        s->reason = s->peer_closed ? RELAY_CLOSE_PEER : RELAY_CLOSE_GONE;
    r->metrics.closed[s->reason]++;
    r->metrics.connections--;
    lws_dll2_remove(&s->node);
    lws_dll2_remove(&s->kick_node);
    lws_dll2_remove(&s->flush_node);
    relay_ka_remove(&s->ka);
    s->state = S_NEW;
    if (r->shutting_down && !r->sessions.count && !relay_ws2_sessions(r))
        relay_server_sessions_gone(r);
}

int relay_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    struct session *s = user;
    struct relay *r = wsi ? relay_of(wsi) : NULL;

    if (!r)
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
        relay_ka_alive(&s->ka, r->ka.last_tick);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        uint16_t code;
        s->peer_closed = 1;
        /* lws has replaced invalid status codes below 3000 with 1002 already; it would
         * echo 5000 and above, a 1-byte payload, or a reason that is not UTF-8 */
        if (relay_wsguard_close_ok(in, len, &code))
            return 0;
        if (s->state == S_ACTIVE || s->state == S_DRAIN) {
            relay_room_leave(r->rooms, &s->m);
            drop_fragment(s);
            s->state = S_CLOSED;
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
        run_kicks(r);
        relay_server_cluster_wake(r);
        return 0;
    default:
        return 0;
    }
}

void relay_ws_shutdown(struct relay *r)
{
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&r->sessions)) {
        struct session *s = lws_container_of(d, struct session, node);
        if (s->state == S_ACTIVE) {
            s->state = S_DRAIN;
            lws_rx_flow_control(s->wsi, 0);
            lws_callback_on_writable(s->wsi);
        }
    } lws_end_foreach_dll_safe(d, d1);
}
