#include "cli_chat.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_backoff.h"
#include "cli_cmd.h"
#include "cli_event.h"
#include "cli_exit.h"
#include "cli_history.h"
#include "cli_loop.h"
#include "cli_signal.h"
#include "cli_store.h"
#include "cli_text.h"
#include "cli_ui.h"
#include "cli_ui_json.h"
#include "cli_ui_tty.h"
#include "cli_verify.h"
#include "cli_ws.h"
#include "mls_codec.h"
#include "sc2_envelope.h"
#include "sc2_link.h"
#include "sc2_name.h"
#include "sc2_verify.h"

/* Failed attempts in a row before giving up, until the room was first reached. */
#define DEFAULT_RETRIES_BEFORE_LIVE 6u
#define MAX_URLS 9u
#define CLOSE_GRACE_MS 2000u
#define HISTORY_DEFAULT 20u
/* Save throttling (docs/CLI.md "Durability"): relay entries are stored with the room at
 * most SAVE_DELAY_MS after they were processed, or at once when SAVE_EVERY_ENTRIES of them
 * are not yet stored; commits, membership changes, queued texts and exits are stored at
 * once. */
#define SAVE_DELAY_MS 300u
#define SAVE_EVERY_ENTRIES 256u
/* History records scanned at start for seqs recorded but not covered by the stored room
 * (at most SAVE_EVERY_ENTRIES entries plus SC2_ROOM_MAX_OUTBOX own messages). */
#define SEEN_SCAN 4096u

/* A text queued in this run, kept until ACCEPTED to store it in the history. */
typedef struct own_text {
    uint64_t token;
    uint8_t *text;
    size_t len;
    int reported; /* QUEUED reported (after the room was stored with it) */
} own_text;

struct cli_chat {
    cli_chat_config cfg;
    char base[SC2_LINK_MAX_URL];
    char urls[MAX_URLS][SC2_LINK_MAX_URL];
    size_t n_urls, url_idx;
    char name[SC2_ROOM_MAX_NAME + 1];
    char store_dir[1024];
    char room[SC2_ROOM_ID_CHARS + 1];
    char link[SC2_LINK_MAX_URL];
    sc2_room *r;
    cli_loop *loop;
    cli_ws *ws;
    cli_ui *ui;
    int sig_fd;
    cli_timer retry_t, leave_t, close_t, save_t;
    unsigned failures;  /* failed attempts in a row */
    int ever_live;
    int live;           /* LIVE on the current connection */
    int quitting;       /* /quit or end of input: waiting for acceptance */
    int leave_asked;    /* /leave sent */
    int status;         /* enum cli_store_status to store */
    int stopping;
    int input_eof;
    int exit_code;
    int fatal;          /* exit code the room's state decided, 0 if none */
    int dirty;          /* the room changed since it was last stored */
    int store_failed;   /* reported once */
    int destroying;
    int in_rx;          /* inside ws_message: a broken connection is dropped by its -1 */
    int save_urgent;    /* a commit or membership change: store at the end of this pump */
    uint64_t saved_seq; /* the seq of the room as last stored */
    /* The history (NULL if it could not be opened: reported, nothing is recorded). */
    cli_history *hist;
    char hist_err[1200];
    /* Seqs after the stored room's seq that are in the history already (sorted): shown
     * by a run that stopped before it stored the room again; never shown twice. */
    uint64_t *seen;
    size_t n_seen, cap_seen;
    own_text *own;
    size_t n_own, cap_own;
    /* verified marks (cli_verify); marks_err: why they could not be loaded (then they are
     * neither shown nor changed, so a damaged file is not overwritten) */
    cli_verify marks;
    char marks_err[600];
    uint8_t alerted[16][SC2_ROOM_SIG_PUB_BYTES]; /* keys VERIFY_BROKEN was raised for */
    unsigned n_alerted;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Whether name looks like (same sc2_name skeleton) the name of a current member with
 * another identity key than identity. */
static int looks_like_other(const cli_chat *c, const char *name, const uint8_t *identity)
{
    char mine[SC2_NAME_SKELETON_MAX], other[SC2_NAME_SKELETON_MAX];
    char mname[SC2_ROOM_MAX_NAME + 1];
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    if (!c->r || sc2_name_skeleton((const uint8_t *)name, strlen(name), mine, sizeof mine) < 0)
        return 0;
    size_t n = sc2_room_member_count(c->r);
    for (size_t i = 0; i < n; i++) {
        if (sc2_room_member(c->r, i, mname, sizeof mname, id) != 0 ||
            sodium_memcmp(id, identity, sizeof id) == 0)
            continue;
        if (sc2_name_skeleton((const uint8_t *)mname, strlen(mname), other, sizeof other) >= 0 &&
            strcmp(mine, other) == 0)
            return 1;
    }
    return 0;
}

static void report(cli_chat *c, cli_event *ev)
{
    ev->ts_ms = now_ms();
    if (ev->name && *ev->name && ev->identity)
        ev->lookalike = looks_like_other(c, ev->name, ev->identity);
    c->ui->ops->event(c->ui, ev);
    if (ev->lookalike && ev->type == CLI_EV_MEMBER_JOINED) {
        cli_event w;
        memset(&w, 0, sizeof w);
        w.type = CLI_EV_NOTICE;
        w.ts_ms = ev->ts_ms;
        w.reason = "warning: this member's name looks like another member's name; they are "
                   "told apart by the fingerprint in [brackets] (/members lists them all)";
        c->ui->ops->event(c->ui, &w);
    }
}

static void report_simple(cli_chat *c, enum cli_ev_type type, const char *reason, long code)
{
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.reason = reason;
    ev.code = code;
    ev.url = c->urls[c->url_idx];
    report(c, &ev);
}

static void update_prompt(cli_chat *c)
{
    if (!c->cfg.batch)
        c->ui->ops->set_prompt(c->ui, c->live ? "> " : "(offline) > ");
}

static void stop_now(cli_chat *c, int code);

static void fail(cli_chat *c, int code, const char *msg)
{
    report_simple(c, CLI_EV_ERROR, msg, code);
    if (c->cfg.batch)
        fprintf(stderr, "saltchat: %s\n", msg);
    stop_now(c, code);
}

/* Storage. */

/* Stores the room now if it changed. Returns 0, or -1 (reported once). */
static int save_now(cli_chat *c)
{
    char err[1200];
    cli_store_room s;
    mls_bytes st = {0};
    int rc = -1;
    cli_loop_timer_cancel(&c->save_t);
    c->save_urgent = 0;
    if (!c->dirty)
        return 0;
    memset(&s, 0, sizeof s);
    if (sc2_room_export(c->r, &st) != 0) {
        /* no group yet (a join not accepted): nothing to store */
        if (sc2_room_epoch(c->r) == 0 && !c->ever_live) {
            rc = 0;
            c->dirty = 0;
        } else {
            snprintf(err, sizeof err, "cannot export the room state (out of memory)");
        }
        goto fail;
    }
    memcpy(s.room, c->room, sizeof s.room);
    s.status = c->status;
    snprintf(s.name, sizeof s.name, "%s", c->name);
    snprintf(s.base, sizeof s.base, "%s", c->base);
    for (size_t i = 0; i < c->n_own; i++)
        if (cli_store_own_add(&s.own, c->own[i].token, c->own[i].text, c->own[i].len) != 0) {
            snprintf(err, sizeof err, "cannot store the room: out of memory");
            goto fail;
        }
    if (cli_buf_append(&s.state, st.p, st.len) != 0) {
        snprintf(err, sizeof err, "cannot store the room: out of memory");
        goto fail;
    }
    /* the history first: the stored seq must never claim messages that a crash loses */
    if (c->hist && cli_history_sync(c->hist, err, sizeof err) != 0)
        goto fail;
    if (cli_store_save(c->store_dir, c->cfg.identity->storage_key, &s, err, sizeof err) != 0)
        goto fail;
    c->dirty = 0;
    c->saved_seq = sc2_room_seq(c->r);
    rc = 0;
    /* old segments only once a stored state no longer needs them for dedup */
    if (c->hist && cli_history_trim(c->hist, sc2_room_seq(c->r), err, sizeof err) < 0)
        report_simple(c, CLI_EV_NOTICE, err, 0);
fail:
    if (rc && !c->store_failed) {
        char msg[1300];
        c->store_failed = 1;
        snprintf(msg, sizeof msg, "the room could not be stored (%s): a restart may lose what "
                 "happened since", err);
        report_simple(c, CLI_EV_NOTICE, msg, 0);
    }
    if (rc == 0)
        c->store_failed = 0;
    mls_bytes_free(&st);
    cli_store_room_wipe(&s);
    return rc;
}

static void on_save_timer(void *user)
{
    save_now(user);
}

/* The room changed: stores it now if that is urgent or many entries wait, else within
 * SAVE_DELAY_MS. */
static void save_later(cli_chat *c)
{
    c->dirty = 1;
    if (c->save_urgent || sc2_room_seq(c->r) >= c->saved_seq + SAVE_EVERY_ENTRIES)
        save_now(c);
    else if (!c->save_t.armed)
        cli_loop_timer_set(c->loop, &c->save_t, SAVE_DELAY_MS, on_save_timer, c);
}

static void history_add(cli_chat *c, uint64_t seq, uint64_t time_ms, int self,
                        const uint8_t *identity, const char *name, const uint8_t *text,
                        size_t len)
{
    char err[1200];
    cli_history_msg m = {seq, time_ms, self, identity, name, text, len};
    if (!c->hist)
        return;
    if (cli_history_append(c->hist, &m, err, sizeof err) != 0) {
        char msg[1300];
        snprintf(msg, sizeof msg, "message %llu not stored in the history: %s",
                 (unsigned long long)seq, err);
        report_simple(c, CLI_EV_NOTICE, msg, 0);
        return;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether the message at seq is in the history already, recorded by an earlier run that
 * stopped before it stored the room again. */
static int seen_before(const cli_chat *c, uint64_t seq)
{
    return c->n_seen && bsearch(&seq, c->seen, c->n_seen, sizeof seq, cmp_u64) != NULL;
}

static void seen_collect(void *user, const cli_history_msg *m)
{
    cli_chat *c = user;
    if (m->seq <= sc2_room_seq(c->r))
        return;
    if (c->n_seen == c->cap_seen) {
        size_t nc = c->cap_seen ? 2 * c->cap_seen : 64;
        uint64_t *ns = realloc(c->seen, nc * sizeof *ns);
        if (!ns)
            return;
        c->seen = ns;
        c->cap_seen = nc;
    }
    c->seen[c->n_seen++] = m->seq;
}

static void history_show(void *user, const cli_history_msg *m)
{
    cli_chat *c = user;
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_HISTORY;
    ev.seq = m->seq;
    ev.time_ms = m->time_ms;
    ev.self = m->self;
    ev.identity = m->identity;
    ev.name = m->name;
    ev.text = m->text;
    ev.text_len = m->text_len;
    report(c, &ev);
}

static void history_print(cli_chat *c, unsigned n)
{
    char err[1200];
    if (!c->hist) {
        report_simple(c, CLI_EV_NOTICE, c->hist_err, 0);
        return;
    }
    if (cli_history_read(c->hist, n, history_show, c, err, sizeof err) < 0)
        report_simple(c, CLI_EV_NOTICE, err, 0);
}

static void own_forget(cli_chat *c, size_t i)
{
    sodium_memzero(c->own[i].text, c->own[i].len);
    free(c->own[i].text);
    memmove(c->own + i, c->own + i + 1, (c->n_own - i - 1) * sizeof *c->own);
    c->n_own--;
}

/* Keeps a copy of a queued text. Returns 0, or -1 if memory is exhausted. */
static int own_keep(cli_chat *c, uint64_t token, const uint8_t *text, size_t len)
{
    if (c->n_own == c->cap_own) {
        size_t nc = c->cap_own ? 2 * c->cap_own : 16;
        own_text *no = realloc(c->own, nc * sizeof *no);
        if (!no)
            return -1;
        c->own = no;
        c->cap_own = nc;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    c->own[c->n_own++] = (own_text){token, copy, len, 0};
    return 0;
}

/* Texts queued since the last call are stored with the room first, then reported as
 * queued, in order: one store for a whole batch of input lines. */
static void flush_queued(cli_chat *c)
{
    size_t i = 0;
    while (i < c->n_own && c->own[i].reported)
        i++;
    if (i == c->n_own)
        return;
    save_now(c);
    for (; i < c->n_own; i++) {
        if (c->own[i].reported)
            continue;
        c->own[i].reported = 1;
        cli_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = CLI_EV_QUEUED;
        ev.token = c->own[i].token;
        ev.text = c->own[i].text;
        ev.text_len = c->own[i].len;
        report(c, &ev);
    }
}

/* The room's events. */

/* Verification (docs/CLI.md "Verifying members"). */

/* ALERT VERIFY_BROKEN if name is verified with another key than identity (once per key
 * and run). */
static void check_broken(cli_chat *c, const char *name, const uint8_t *identity)
{
    if (!name || !identity)
        return;
    const uint8_t *was = cli_verify_broken(&c->marks, name, identity);
    if (!was)
        return;
    unsigned kept = c->n_alerted < 16 ? c->n_alerted : 16;
    for (unsigned i = 0; i < kept; i++)
        if (sodium_memcmp(c->alerted[i], identity, SC2_ROOM_SIG_PUB_BYTES) == 0)
            return;
    memcpy(c->alerted[c->n_alerted++ % 16], identity, SC2_ROOM_SIG_PUB_BYTES);
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_VERIFY_BROKEN;
    ev.name = name;
    ev.identity = identity;
    ev.identity2 = was;
    ev.reason = "you verified this name with another key: this is not the key you compared, "
                "whoever holds it; compare again before trusting it (/verify NAME)";
    report(c, &ev);
}

/* Every current member against the marks (after a join, when live). */
static void check_roster(cli_chat *c)
{
    char name[SC2_ROOM_MAX_NAME + 1];
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    size_t n = sc2_room_member_count(c->r);
    for (size_t i = 0; i < n && c->marks.n; i++)
        if (sc2_room_member(c->r, i, name, sizeof name, id) == 0)
            check_broken(c, name, id);
}

static void room_event(cli_chat *c, const sc2_room_event *re)
{
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.seq = re->seq;
    ev.seq2 = re->seq2;
    ev.token = re->token;
    ev.epoch = re->epoch;
    ev.time_ms = re->time_ms;
    ev.code = re->code;
    ev.self = re->self;
    ev.resync = re->resync;
    ev.name = re->name;
    ev.identity = re->identity;
    ev.by_name = re->by_name;
    ev.by_identity = re->by_identity;
    ev.text = re->text;
    ev.text_len = re->text_len;
    ev.reason = re->reason;
    switch (re->type) {
    case SC2_EV_CREATED: ev.type = CLI_EV_CREATED; ev.room = c->room; c->save_urgent = 1; break;
    case SC2_EV_JOINED: ev.type = CLI_EV_JOINED; c->save_urgent = 1; break;
    case SC2_EV_LIVE:
        ev.type = CLI_EV_LIVE;
        c->live = 1;
        c->ever_live = 1;
        c->failures = 0;
        break;
    case SC2_EV_MESSAGE:
        if (seen_before(c, re->seq))
            return; /* shown by an earlier run (it is in the history) */
        ev.type = CLI_EV_MESSAGE;
        history_add(c, re->seq, re->time_ms, 0, re->identity, re->name, re->text, re->text_len);
        break;
    case SC2_EV_SENT: ev.type = CLI_EV_SENT; break;
    case SC2_EV_ACCEPTED:
        ev.type = CLI_EV_ACCEPTED;
        for (size_t i = 0; i < c->n_own; i++)
            if (c->own[i].token == re->token) {
                if (!seen_before(c, re->seq)) /* else recorded by a run that crashed */
                    history_add(c, re->seq, now_ms(), 1, sc2_room_identity(c->r), c->name,
                                c->own[i].text, c->own[i].len);
                own_forget(c, i);
                break;
            }
        break;
    case SC2_EV_REJECTED:
        ev.type = CLI_EV_REJECTED;
        for (size_t i = 0; i < c->n_own; i++)
            if (c->own[i].token == re->token) {
                own_forget(c, i);
                break;
            }
        break;
    case SC2_EV_EPOCH: ev.type = CLI_EV_EPOCH; c->save_urgent = 1; break;
    case SC2_EV_MEMBER_JOINED: ev.type = CLI_EV_MEMBER_JOINED; c->save_urgent = 1; break;
    case SC2_EV_MEMBER_REMOVED: ev.type = CLI_EV_MEMBER_REMOVED; c->save_urgent = 1; break;
    case SC2_EV_MEMBER_LEAVING: ev.type = CLI_EV_MEMBER_LEAVING; c->save_urgent = 1; break;
    case SC2_EV_REMOVED:
        ev.type = CLI_EV_REMOVED;
        c->status = CLI_STORE_REMOVED;
        c->fatal = CLI_EXIT_REMOVED;
        c->save_urgent = 1;
        break;
    case SC2_EV_LEFT:
        ev.type = CLI_EV_LEFT;
        c->status = CLI_STORE_LEFT;
        c->fatal = -1; /* exit 0 */
        c->save_urgent = 1;
        break;
    case SC2_EV_LINK_ROTATED:
        ev.type = CLI_EV_LINK_ROTATED;
        c->save_urgent = 1;
        if (sc2_room_link(c->r, c->base, c->link, sizeof c->link) < 0)
            c->link[0] = '\0';
        ev.link = c->link;
        break;
    case SC2_EV_REBASED: ev.type = CLI_EV_REBASED; c->save_urgent = 1; break;
    case SC2_EV_HISTORY_LOST: ev.type = CLI_EV_HISTORY_LOST; break;
    case SC2_EV_UNREADABLE: ev.type = CLI_EV_UNREADABLE; break;
    case SC2_EV_GAP: ev.type = CLI_EV_GAP; break;
    case SC2_EV_DUPLICATE: ev.type = CLI_EV_DUPLICATE; break;
    case SC2_EV_FORK: ev.type = CLI_EV_FORK; break;
    case SC2_EV_LINK_MISMATCH: ev.type = CLI_EV_LINK_MISMATCH; break;
    case SC2_EV_KEY_CHANGED: ev.type = CLI_EV_KEY_CHANGED; break;
    case SC2_EV_STALE_GI: ev.type = CLI_EV_STALE_GI; break;
    case SC2_EV_JOIN_FAILED:
        ev.type = CLI_EV_JOIN_FAILED;
        c->fatal = CLI_EXIT_JOIN_REFUSED;
        if (sc2_room_member_count(c->r) > 0) { /* a rejoin: the stored room needs a new link */
            c->status = CLI_STORE_NEEDS_LINK;
            c->dirty = 1;
            c->save_urgent = 1;
        }
        break;
    case SC2_EV_RELAY_ERROR: ev.type = CLI_EV_RELAY_ERROR; break;
    case SC2_EV_PROTOCOL_ERROR: ev.type = CLI_EV_PROTOCOL_ERROR; break;
    case SC2_EV_ROOM_LOST:
        ev.type = CLI_EV_ROOM_LOST;
        c->fatal = CLI_EXIT_ROOM_LOST;
        break;
    default: return;
    }
    report(c, &ev);
    if (re->type == SC2_EV_MEMBER_JOINED || re->type == SC2_EV_KEY_CHANGED)
        check_broken(c, re->name, re->identity);
    if (re->type == SC2_EV_JOINED || re->type == SC2_EV_LIVE)
        check_roster(c);
    if (re->type == SC2_EV_LIVE)
        update_prompt(c);
}

/* After the room is DEAD or LOST: stop with the code its events decided. */
static void stop_for_room(cli_chat *c)
{
    enum sc2_room_state st = sc2_room_state(c->r);
    char msg[300];
    if (st == SC2_RS_LOST) {
        fail(c, CLI_EXIT_ROOM_LOST,
             "the relay no longer has this room (it may have lost its data): not reconnecting; "
             "the room stays stored on this device");
    } else if (c->fatal == CLI_EXIT_REMOVED) {
        fail(c, CLI_EXIT_REMOVED, "you were removed from the room");
    } else if (c->fatal == -1) {
        stop_now(c, CLI_EXIT_OK);
    } else {
        snprintf(msg, sizeof msg, "could not join the room: the link was revoked or is wrong "
                 "(ask a member for the current link)");
        fail(c, CLI_EXIT_JOIN_REFUSED, msg);
    }
}

/* Drains events and output, stores the room, and notices when to stop. Call after every
 * call into the room. */
static void pump(cli_chat *c)
{
    sc2_room_event re;
    size_t len;
    int any = 0;
    flush_queued(c);
    while (sc2_room_next_event(c->r, &re)) {
        room_event(c, &re);
        any = 1;
    }
    if (any || c->dirty)
        save_later(c);
    if (sc2_room_output(c->r, &len))
        cli_ws_want_write(c->ws);
    if (c->stopping)
        return;
    enum sc2_room_state st = sc2_room_state(c->r);
    if (c->ui->ops->status(c->ui) != 0) {
        fprintf(stderr, "saltchat: cannot write to standard output; stopping\n");
        stop_now(c, CLI_EXIT_ERROR);
    } else if (st == SC2_RS_DEAD || st == SC2_RS_LOST) {
        stop_for_room(c);
    } else if (st == SC2_RS_BROKEN && !c->in_rx && cli_ws_active(c->ws)) {
        /* a user action broke the connection (e.g. out of memory): drop it, resume */
        cli_ws_close(c->ws, 1000, "resuming");
    } else if (c->quitting && !c->leave_asked && st == SC2_RS_LIVE &&
               sc2_room_outbox_len(c->r) == 0) {
        stop_now(c, CLI_EXIT_OK);
    }
}

static void on_stop_timer(void *user)
{
    cli_loop_stop(((cli_chat *)user)->loop);
}

static void stop_now(cli_chat *c, int code)
{
    if (c->stopping)
        return;
    flush_queued(c);
    c->stopping = 1;
    c->exit_code = code;
    save_now(c);
    cli_loop_timer_cancel(&c->retry_t);
    cli_loop_timer_cancel(&c->leave_t);
    cli_loop_timer_cancel(&c->save_t);
    if (cli_ws_active(c->ws)) {
        cli_ws_close(c->ws, 1000, "bye");
        cli_loop_timer_set(c->loop, &c->close_t, CLOSE_GRACE_MS, on_stop_timer, c);
    } else {
        cli_loop_stop(c->loop);
    }
}

static void connect_now(void *user);

static void connection_failed(cli_chat *c, const cli_ws_end *e)
{
    char msg[2048];
    int code = 0;
    const char *url = c->urls[c->url_idx];
    if (e->tls_error && !c->ever_live) {
        code = CLI_EXIT_TLS;
        snprintf(msg, sizeof msg,
                 "TLS with %.1023s failed: the relay's certificate is not trusted or the TLS "
                 "handshake broke (%.300s). For a relay with a self-signed certificate, pass "
                 "--ca FILE",
                 url, e->reason);
    } else if (e->http_status >= 400 && e->http_status < 500 && e->http_status != 429 &&
               !c->ever_live) {
        code = CLI_EXIT_UNREACHABLE;
        snprintf(msg, sizeof msg,
                 "%.1023s: %.300s; is the relay address right, and does it speak protocol v2?",
                 url, e->reason);
    }
    int unlimited = c->cfg.retries < 0 && (c->ever_live || c->cfg.reached);
    unsigned limit = c->cfg.retries >= 0 ? (unsigned)c->cfg.retries : DEFAULT_RETRIES_BEFORE_LIVE;
    if (!code) {
        c->failures++;
        if (!unlimited && c->failures > limit) {
            code = CLI_EXIT_UNREACHABLE;
            snprintf(msg, sizeof msg, "cannot reach the relay at %.1023s (%u attempt%s): %.300s",
                     url, c->failures, c->failures == 1 ? "" : "s", e->reason);
        }
    }
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_DISCONNECTED;
    ev.reason = e->reason;
    ev.code = e->close_code;
    ev.attempt = c->failures;
    ev.count = (uint32_t)sc2_room_outbox_len(c->r);
    if (!code)
        ev.retry_ms = cli_backoff_delay_ms(c->failures, CLI_BACKOFF_BASE_MS, CLI_BACKOFF_CAP_MS,
                                           randombytes_random());
    report(c, &ev);
    update_prompt(c);
    if (code) {
        fail(c, code, msg);
        return;
    }
    if (c->n_urls > 1)
        c->url_idx = (c->url_idx + 1) % c->n_urls;
    cli_loop_timer_set(c->loop, &c->retry_t, ev.retry_ms, connect_now, c);
}

static void connect_now(void *user)
{
    cli_chat *c = user;
    char err[300];
    if (c->stopping)
        return;
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_CONNECTING;
    ev.url = c->urls[c->url_idx];
    ev.attempt = c->failures + 1;
    report(c, &ev);
    if (cli_ws_connect(c->ws, c->urls[c->url_idx], err, sizeof err) != 0) {
        cli_ws_end e;
        memset(&e, 0, sizeof e);
        e.reason = err;
        connection_failed(c, &e);
    }
}

/* WebSocket callbacks. */

static void ws_open(void *user)
{
    cli_chat *c = user;
    c->live = 0;
    report_simple(c, CLI_EV_CONNECTED, NULL, 0);
    sc2_room_connected(c->r, now_ms());
    pump(c);
}

static int ws_message(void *user, const uint8_t *msg, size_t len)
{
    cli_chat *c = user;
    int r = sc2_room_receive(c->r, msg, len, now_ms());
    c->dirty = 1; /* the seq and chain moved even without events */
    c->in_rx = 1;
    pump(c);
    c->in_rx = 0;
    return r < 0 || sc2_room_state(c->r) == SC2_RS_BROKEN ? -1 : 0;
}

static const uint8_t *ws_next(void *user, size_t *len)
{
    return sc2_room_output(((cli_chat *)user)->r, len);
}

static void ws_done(void *user)
{
    cli_chat *c = user;
    sc2_room_output_pop(c->r);
    pump(c);
}

static void ws_end(void *user, const cli_ws_end *e)
{
    cli_chat *c = user;
    if (c->destroying)
        return;
    if (e->was_open) {
        sc2_room_disconnected(c->r, now_ms());
        c->live = 0;
        pump(c);
    }
    c->live = 0;
    if (c->stopping) {
        cli_loop_stop(c->loop);
        return;
    }
    connection_failed(c, e);
}

/* Input and commands. */

static void leave_expired(void *user)
{
    cli_chat *c = user;
    char msg[300];
    size_t n = sc2_room_outbox_len(c->r);
    if (!c->ever_live) {
        snprintf(msg, sizeof msg, "could not reach the room within %u s", c->cfg.wait_s);
        fail(c, CLI_EXIT_UNREACHABLE, msg);
        return;
    }
    snprintf(msg, sizeof msg,
             "%zu message%s not accepted by the relay within %u s; %s stored and will be sent "
             "on the next 'saltchat open'",
             n, n == 1 ? " was" : "s were", c->cfg.wait_s, n == 1 ? "it is" : "they are");
    fail(c, CLI_EXIT_UNDELIVERED, msg);
}

static void start_quit(cli_chat *c)
{
    if (c->quitting || c->stopping)
        return;
    c->quitting = 1;
    size_t n = sc2_room_outbox_len(c->r);
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_LEAVING;
    ev.count = (uint32_t)n;
    ev.retry_ms = (uint64_t)c->cfg.wait_s * 1000u;
    if (n || !c->live)
        report(c, &ev);
    cli_loop_timer_set(c->loop, &c->leave_t, ev.retry_ms, leave_expired, c);
    pump(c);
}

static void send_text(cli_chat *c, const char *text, size_t len)
{
    const char *why = NULL;
    uint64_t token = 0;
    if (len == 0)
        why = "empty line: nothing to send";
    else if (len > SC2_ROOM_MAX_TEXT)
        why = "line longer than 32768 bytes: not sent";
    else if (!cli_utf8_valid((const uint8_t *)text, len))
        why = "line is not valid UTF-8: not sent";
    else if (c->quitting || c->leave_asked)
        why = "quitting: not sent";
    else if (sc2_room_outbox_len(c->r) >= SC2_ROOM_MAX_OUTBOX)
        why = "1024 messages are already waiting for the relay: not sent";
    else if (sc2_room_send_text(c->r, (const uint8_t *)text, len, now_ms(), &token) != 0)
        why = "the room does not take messages now: not sent";
    if (why) {
        flush_queued(c);
        report_simple(c, CLI_EV_REJECTED_INPUT, why, 0);
        return;
    }
    c->dirty = 1;
    if (own_keep(c, token, (const uint8_t *)text, len) != 0) {
        /* no copy for the history: store and report it now */
        save_now(c);
        cli_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = CLI_EV_QUEUED;
        ev.token = token;
        ev.text = (const uint8_t *)text;
        ev.text_len = len;
        report(c, &ev);
    }
    /* the QUEUED event follows once the room is stored (flush_queued, from pump) */
}

static void show_members(cli_chat *c)
{
    size_t n = sc2_room_member_count(c->r);
    char name[SC2_ROOM_MAX_NAME + 1];
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    for (size_t i = 0; i < n; i++) {
        if (sc2_room_member(c->r, i, name, sizeof name, id) != 0)
            continue;
        cli_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = CLI_EV_MEMBER;
        ev.name = name;
        ev.identity = id;
        ev.self = sodium_memcmp(id, sc2_room_identity(c->r), sizeof id) == 0;
        ev.verified = cli_verify_is(&c->marks, id);
        report(c, &ev);
    }
    if (n == 0)
        report_simple(c, CLI_EV_NOTICE, "no members known yet (not joined)", 0);
}

/* Whether s[0..n) is a fingerprint prefix: at least 4 digits, spaces allowed. */
static int fp_prefix(const char *s, size_t n)
{
    char d[SC2_VF_FP_DIGITS + 1];
    return sc2_vf_digits(s, n, d, sizeof d) >= 4;
}

/* Members whose name is name[0..nl) (any name if name is NULL) and whose fingerprint
 * starts with the digits of fp[0..fl) (any if fp is NULL). Returns the count; *pick is
 * the first. */
static size_t match_members(cli_chat *c, const char *name, size_t nl, const char *fp,
                            size_t fl, uint8_t pick[SC2_ROOM_SIG_PUB_BYTES])
{
    size_t n = sc2_room_member_count(c->r), found = 0;
    char mname[SC2_ROOM_MAX_NAME + 1], fpm[CLI_TEXT_FP_CHARS + 1];
    char want[SC2_VF_FP_DIGITS + 1], have[SC2_VF_FP_DIGITS + 1];
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    int wl = fp ? sc2_vf_digits(fp, fl, want, sizeof want) : 0;
    if (wl < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (sc2_room_member(c->r, i, mname, sizeof mname, id) != 0)
            continue;
        if (name && (strlen(mname) != nl || memcmp(mname, name, nl) != 0))
            continue;
        if (fp) {
            cli_text_fingerprint(id, fpm);
            (void)sc2_vf_digits(fpm, strlen(fpm), have, sizeof have);
            if (memcmp(have, want, (size_t)wl) != 0)
                continue;
        }
        if (found++ == 0)
            memcpy(pick, id, sizeof id);
    }
    return found;
}

/* Splits "NAME FP" where FP is made of digits and spaces: the first split (from the left)
 * whose NAME names a member. Returns the name's length and sets *fp, or 0. */
static size_t split_name_fp(cli_chat *c, const char *arg, size_t len, const char **fp,
                            size_t *fl)
{
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    for (size_t p = 1; p < len; p++) {
        if (arg[p] != ' ' || !fp_prefix(arg + p + 1, len - p - 1))
            continue;
        size_t nl = p;
        while (nl && arg[nl - 1] == ' ')
            nl--;
        if (nl && match_members(c, arg, nl, NULL, 0, id)) {
            *fp = arg + p + 1;
            *fl = len - p - 1;
            return nl;
        }
    }
    return 0;
}

static void remove_member(cli_chat *c, const char *arg, size_t len)
{
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    char msg[400];
    size_t found;
    int by_name_only;
    if (len == 0) {
        report_simple(c, CLI_EV_REJECTED_INPUT, "/remove needs a name (see /members)", 0);
        return;
    }
    found = match_members(c, arg, len, NULL, 0, id);
    by_name_only = found == 1;
    if (found == 0) {
        /* "name fingerprint-prefix", or a fingerprint prefix alone */
        const char *fp;
        size_t fl, nl = split_name_fp(c, arg, len, &fp, &fl);
        if (nl)
            found = match_members(c, arg, nl, fp, fl, id);
        else if (fp_prefix(arg, len))
            found = match_members(c, NULL, 0, arg, len, id);
    }
    if (found == 0) {
        snprintf(msg, sizeof msg, "no member '%.*s' (see /members)", (int)(len > 80 ? 80 : len),
                 arg);
        report_simple(c, CLI_EV_REJECTED_INPUT, msg, 0);
        return;
    }
    if (found > 1) {
        snprintf(msg, sizeof msg,
                 "%zu members match '%.*s': add a fingerprint prefix, /remove NAME FINGERPRINT "
                 "(see /members)",
                 found, (int)(len > 80 ? 80 : len), arg);
        report_simple(c, CLI_EV_REJECTED_INPUT, msg, 0);
        return;
    }
    if (by_name_only && len <= SC2_ROOM_MAX_NAME) {
        char nm[SC2_ROOM_MAX_NAME + 1];
        memcpy(nm, arg, len);
        nm[len] = 0;
        if (looks_like_other(c, nm, id)) {
            snprintf(msg, sizeof msg,
                     "'%.*s' looks like another member's name: add a fingerprint prefix, "
                     "/remove NAME FINGERPRINT (see /members)",
                     (int)len, arg);
            report_simple(c, CLI_EV_REJECTED_INPUT, msg, 0);
            return;
        }
    }
    if (sodium_memcmp(id, sc2_room_identity(c->r), sizeof id) == 0) {
        report_simple(c, CLI_EV_REJECTED_INPUT, "that is you: use /leave", 0);
        return;
    }
    if (sc2_room_remove(c->r, id, now_ms(), NULL) != 0) {
        report_simple(c, CLI_EV_REJECTED_INPUT, "the room does not take a removal now", 0);
        pump(c);
        return;
    }
    c->dirty = 1;
    save_now(c);
    report_simple(c, CLI_EV_NOTICE, "removal queued; the link rotates when it is done", 0);
    pump(c);
}

/* Stores the marks. Returns 0, or -1 after reporting why (the change is then undone by
 * the caller). */
static int marks_save(cli_chat *c)
{
    char err[1200], msg[1300];
    if (cli_verify_save(c->store_dir, c->cfg.identity->storage_key, c->room, &c->marks, err,
                        sizeof err) == 0)
        return 0;
    snprintf(msg, sizeof msg, "the verified marks could not be stored: %s", err);
    report_simple(c, CLI_EV_REJECTED_INPUT, msg, 0);
    return -1;
}

static int marks_usable(cli_chat *c)
{
    if (!c->marks_err[0])
        return 1;
    report_simple(c, CLI_EV_REJECTED_INPUT, c->marks_err, 0);
    return 0;
}

/* Strips a trailing " --yes" (or a lone "--yes") from arg. Returns 1 if there was one. */
static int strip_yes(const char *arg, size_t *len)
{
    size_t n = *len;
    if (n < 5 || memcmp(arg + n - 5, "--yes", 5) != 0 || (n > 5 && arg[n - 6] != ' '))
        return 0;
    n -= 5;
    while (n && arg[n - 1] == ' ')
        n--;
    *len = n;
    return 1;
}

/* "NAME", or "NAME NUMBER" where NAME names a member: the longest such NAME if NUMBER is
 * not digits and spaces. Returns the name's length (0: no member) and sets *num, *nn. */
static size_t split_verify(cli_chat *c, const char *arg, size_t len, const char **num,
                           size_t *nn)
{
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    size_t best = 0;
    *num = arg + len;
    *nn = 0;
    if (match_members(c, arg, len, NULL, 0, id))
        return len;
    size_t nl = split_name_fp(c, arg, len, num, nn);
    if (nl)
        return nl;
    for (size_t p = 1; p < len; p++)
        if (arg[p] == ' ' && match_members(c, arg, p, NULL, 0, id))
            best = p;
    if (best) {
        *num = arg + best + 1;
        *nn = len - best - 1;
        while (*nn && **num == ' ')
            (*num)++, (*nn)--;
    }
    return best;
}

static void verify_member(cli_chat *c, const char *arg, size_t len)
{
    char msg[600], name[SC2_ROOM_MAX_NAME + 1], fp[CLI_TEXT_FP_CHARS + 1],
        own_fp[CLI_TEXT_FP_CHARS + 1], sn[SC2_VF_SN_CHARS + 1];
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    const uint8_t *me = sc2_room_identity(c->r);
    const char *num;
    size_t nn;
    int yes = strip_yes(arg, &len), best = SC2_VF_E_FORMAT, shown = 0;
    if (len == 0) {
        report_simple(c, CLI_EV_REJECTED_INPUT,
                      "/verify needs a name: /verify NAME shows what to compare, /verify NAME "
                      "NUMBER --yes marks NAME verified",
                      0);
        return;
    }
    size_t nl = split_verify(c, arg, len, &num, &nn);
    if (nl == 0) {
        snprintf(msg, sizeof msg, "no member '%.*s' (see /members)", (int)(len > 80 ? 80 : len),
                 arg);
        report_simple(c, CLI_EV_REJECTED_INPUT, msg, 0);
        return;
    }
    if (nn == 0 && yes) {
        report_simple(c, CLI_EV_REJECTED_INPUT,
                      "--yes needs the number you compared: /verify NAME NUMBER --yes (NAME's "
                      "fingerprint or your safety number with NAME, see /verify NAME)",
                      0);
        return;
    }
    cli_text_fingerprint(me, own_fp);
    size_t n = sc2_room_member_count(c->r);
    uint8_t pick[SC2_ROOM_SIG_PUB_BYTES];
    for (size_t i = 0; i < n; i++) {
        if (sc2_room_member(c->r, i, name, sizeof name, id) != 0 || strlen(name) != nl ||
            memcmp(name, arg, nl) != 0)
            continue;
        int self = sodium_memcmp(id, me, sizeof id) == 0;
        cli_text_fingerprint(id, fp);
        if (self || sc2_vf_safety_from_fps(own_fp, fp, sn) != 0)
            sn[0] = '\0';
        if (nn == 0) {
            cli_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = CLI_EV_VERIFY;
            ev.name = name;
            ev.identity = id;
            ev.number = self ? NULL : sn;
            ev.verified = cli_verify_is(&c->marks, id);
            ev.reason = self ? "this is you: others compare this fingerprint with you"
                             : "compare the fingerprint or the safety number with them over "
                               "another channel (in person, a call); if it is the same: "
                               "/verify NAME NUMBER --yes";
            report(c, &ev);
            shown++;
            continue;
        }
        int rc = self ? SC2_VF_E_MISMATCH : sc2_vf_check(num, nn, fp, sn);
        if (rc > 0 || (best < 0 && rc > best)) {
            best = rc;
            memcpy(pick, id, sizeof pick);
        }
        if (rc > 0)
            break;
    }
    if (nn == 0)
        return;
    if (best == SC2_VF_E_FORMAT) {
        report_simple(c, CLI_EV_REJECTED_INPUT,
                      "that is not a fingerprint (30 digits) or a safety number (60 digits); "
                      "spaces are optional (see /verify NAME)",
                      0);
        return;
    }
    if (best < 0) {
        snprintf(msg, sizeof msg,
                 "the number does not match %.*s's fingerprint or your safety number with "
                 "them: NOT verified. Compare again; a different number means another key",
                 (int)nl, arg);
        report_simple(c, CLI_EV_REJECTED_INPUT, msg, 0);
        return;
    }
    const char *what =
        best == SC2_VF_FINGERPRINT ? "fingerprint compared" : "safety number compared";
    memcpy(name, arg, nl);
    name[nl] = '\0';
    if (!yes) {
        snprintf(msg, sizeof msg,
                 "the number matches (%s); add --yes to mark %s verified", what, name);
        report_simple(c, CLI_EV_NOTICE, msg, 0);
        return;
    }
    if (!marks_usable(c))
        return;
    int added = cli_verify_add(&c->marks, name, pick);
    if (added < 0) {
        report_simple(c, CLI_EV_REJECTED_INPUT, "cannot add another verified mark", 0);
        return;
    }
    if (added == 0 && marks_save(c) != 0) {
        cli_verify_remove(&c->marks, pick);
        cli_verify_load(c->store_dir, c->cfg.identity->storage_key, c->room, &c->marks, msg,
                        sizeof msg);
        return;
    }
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_VERIFIED;
    ev.name = name;
    ev.identity = pick;
    ev.reason = added ? "already verified" : what;
    report(c, &ev);
}

static void unverify_member(cli_chat *c, const char *arg, size_t len)
{
    char msg[300], name[SC2_ROOM_MAX_NAME + 1];
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    size_t gone = 0;
    if (len == 0 || len > SC2_ROOM_MAX_NAME) {
        report_simple(c, CLI_EV_REJECTED_INPUT, "/unverify needs a member's name", 0);
        return;
    }
    if (!marks_usable(c))
        return;
    memcpy(name, arg, len);
    name[len] = '\0';
    cli_verify before = {0};
    for (size_t i = 0; i < c->marks.n; i++)
        if (cli_verify_add(&before, c->marks.m[i].name, c->marks.m[i].identity) < 0) {
            cli_verify_free(&before);
            report_simple(c, CLI_EV_REJECTED_INPUT, "out of memory", 0);
            return;
        }
    /* marks under that name, and marks of current members of that name */
    for (size_t i = 0; i < before.n; i++) {
        int of_name = strcmp(before.m[i].name, name) == 0;
        size_t n = sc2_room_member_count(c->r);
        char mname[SC2_ROOM_MAX_NAME + 1];
        for (size_t k = 0; k < n && !of_name; k++)
            if (sc2_room_member(c->r, k, mname, sizeof mname, id) == 0 &&
                strcmp(mname, name) == 0 && sodium_memcmp(id, before.m[i].identity, 32) == 0)
                of_name = 1;
        if (of_name)
            gone += cli_verify_remove(&c->marks, before.m[i].identity);
    }
    if (gone == 0) {
        cli_verify_free(&before);
        snprintf(msg, sizeof msg, "'%s' is not marked verified", name);
        report_simple(c, CLI_EV_REJECTED_INPUT, msg, 0);
        return;
    }
    if (marks_save(c) != 0) {
        cli_verify_free(&c->marks);
        c->marks = before;
        return;
    }
    for (size_t i = 0; i < before.n; i++) {
        if (cli_verify_is(&c->marks, before.m[i].identity))
            continue;
        cli_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = CLI_EV_UNVERIFIED;
        ev.name = before.m[i].name;
        ev.identity = before.m[i].identity;
        report(c, &ev);
    }
    cli_verify_free(&before);
}

static void show_room_code(cli_chat *c)
{
    uint8_t ea[32];
    char code[SC2_VF_CODE_CHARS + 1];
    if (sc2_room_member_count(c->r) == 0 || sc2_room_epoch_authenticator(c->r, ea) != 0) {
        report_simple(c, CLI_EV_REJECTED_INPUT, "no room code before you are in the room", 0);
        return;
    }
    sc2_vf_room_code(sc2_room_id(c->r), sc2_room_epoch(c->r), ea, code);
    sodium_memzero(ea, sizeof ea);
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_ROOM_CODE;
    ev.epoch = sc2_room_epoch(c->r);
    ev.number = code;
    ev.reason = "compare it with the other members now, at the same epoch: everyone in the "
                "same group sees the same code; a different one means a forked view";
    report(c, &ev);
}

static void on_line(void *user, const char *line, size_t len)
{
    cli_chat *c = user;
    const char *arg;
    size_t al;
    if (c->stopping)
        return;
    enum cli_cmd_kind k = cli_cmd_parse(line, len, &arg, &al);
    if (k != CLI_CMD_K_TEXT)
        flush_queued(c); /* in input order */
    switch (k) {
    case CLI_CMD_K_TEXT: send_text(c, arg, al); break;
    case CLI_CMD_K_QUIT: start_quit(c); break;
    case CLI_CMD_K_LEAVE:
        if (c->leave_asked)
            break;
        if (sc2_room_leave(c->r, now_ms(), NULL) != 0) {
            report_simple(c, CLI_EV_REJECTED_INPUT, "the room does not take /leave now", 0);
            break;
        }
        c->leave_asked = 1;
        c->dirty = 1;
        save_now(c);
        report_simple(c, CLI_EV_NOTICE, "leaving the room", 0);
        cli_loop_timer_set(c->loop, &c->leave_t, (uint64_t)c->cfg.wait_s * 1000u, leave_expired,
                           c);
        pump(c);
        break;
    case CLI_CMD_K_REMOVE: remove_member(c, arg, al); break;
    case CLI_CMD_K_MEMBERS: show_members(c); break;
    case CLI_CMD_K_LINK: {
        cli_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = CLI_EV_LINK;
        if (sc2_room_link(c->r, c->base, c->link, sizeof c->link) < 0)
            c->link[0] = '\0';
        ev.link = c->link;
        report(c, &ev);
        break;
    }
    case CLI_CMD_K_HISTORY: {
        unsigned long n = HISTORY_DEFAULT;
        char num[16];
        if (al) {
            char *end;
            snprintf(num, sizeof num, "%.*s", (int)(al < 15 ? al : 15), arg);
            n = strtoul(num, &end, 10);
            if (*end || al > 9 || n == 0) {
                report_simple(c, CLI_EV_REJECTED_INPUT, "/history takes a count, e.g. /history 50",
                              0);
                break;
            }
        }
        history_print(c, (unsigned)n);
        break;
    }
    case CLI_CMD_K_HELP: report_simple(c, CLI_EV_NOTICE, cli_cmd_help(), 0); break;
    case CLI_CMD_K_VERIFY: verify_member(c, arg, al); break;
    case CLI_CMD_K_UNVERIFY: unverify_member(c, arg, al); break;
    case CLI_CMD_K_ROOM_CODE: show_room_code(c); break;
    case CLI_CMD_K_UNKNOWN:
        report_simple(c, CLI_EV_REJECTED_INPUT,
                      "unknown command (see /help; //text sends a line starting with /)", 0);
        break;
    }
    update_prompt(c);
}

static void on_eof(void *user)
{
    cli_chat *c = user;
    c->input_eof = 1;
    start_quit(c);
}

static int stdin_readable(void *user)
{
    cli_chat *c = user;
    int rc = c->ui->ops->readable(c->ui);
    if (!c->stopping)
        pump(c);
    return rc;
}

static void stdin_closed(void *user)
{
    cli_chat *c = user;
    for (int i = 0; i < 1000 && !c->input_eof; i++)
        if (c->ui->ops->readable(c->ui) != 0)
            break;
    if (!c->input_eof)
        on_eof(c);
    if (!c->stopping)
        pump(c);
}

static int signal_readable(void *user)
{
    cli_chat *c = user;
    int sig;
    while ((sig = cli_signal_next(c->sig_fd)) != 0) {
        if (sig == SIGWINCH) {
            c->ui->ops->resize(c->ui);
            continue;
        }
        if (sig == SIGTSTP) {
            c->ui->ops->suspend(c->ui);
            cli_signal_stop();
            c->ui->ops->resume(c->ui);
            continue;
        }
        if (c->stopping) {
            cli_loop_stop(c->loop);
            continue;
        }
        size_t n = sc2_room_outbox_len(c->r);
        if (n) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "interrupted: %zu message%s not yet accepted by the relay (stored: sent on "
                     "the next 'saltchat open')",
                     n, n == 1 ? "" : "s");
            report_simple(c, CLI_EV_NOTICE, msg, 0);
        }
        stop_now(c, CLI_EXIT_INTERRUPTED);
    }
    return 0;
}

/* Lifecycle. */

cli_chat *cli_chat_new(const cli_chat_config *cfg, sc2_room *room, int *exit_code, char *err,
                       size_t cap)
{
    cli_chat *c = calloc(1, sizeof *c);
    *exit_code = CLI_EXIT_ERROR;
    if (!c) {
        sc2_room_free(room);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    c->r = room;
    c->cfg = *cfg;
    c->sig_fd = -1;
    for (size_t i = 0; i < cfg->n_ws_urls && c->n_urls < MAX_URLS; i++)
        snprintf(c->urls[c->n_urls++], sizeof c->urls[0], "%s", cfg->ws_urls[i]);
    snprintf(c->base, sizeof c->base, "%s", cfg->base);
    snprintf(c->name, sizeof c->name, "%s", cfg->name ? cfg->name : "");
    snprintf(c->store_dir, sizeof c->store_dir, "%s", cfg->store_dir);
    sc2_link_room_id_text(sc2_room_id(room), c->room);
    c->cfg.ws_urls = NULL;
    c->cfg.n_ws_urls = 0;
    c->cfg.base = c->base;
    c->cfg.name = c->name;
    c->cfg.store_dir = c->store_dir;
    c->status = CLI_STORE_ACTIVE;
    if (cfg->own) {
        size_t off = 0, len;
        uint64_t token;
        const uint8_t *text;
        while (cli_store_own_next(cfg->own, &off, &token, &text, &len) == 1)
            if (own_keep(c, token, text, len) == 0)
                c->own[c->n_own - 1].reported = 1; /* queued in an earlier run */
    }
    c->cfg.own = NULL;
    char herr[1000];
    c->hist = cli_history_open(c->store_dir, cfg->identity->storage_key, c->room,
                               cfg->history_bound ? cfg->history_bound : CLI_HISTORY_DEFAULT,
                               herr, sizeof herr);
    if (!c->hist)
        snprintf(c->hist_err, sizeof c->hist_err,
                 "the history cannot be used (%s): messages are shown but not recorded", herr);
    c->loop = cli_loop_new(&cli_ws_protocol, cfg->ca_file, cfg->verbose, err, cap);
    if (!c->loop)
        goto fail;
    cli_ws_handler h = {c, ws_open, ws_message, ws_next, ws_done, ws_end};
    c->ws = cli_ws_new(c->loop, &h);
    cli_ui_input in = {c, on_line, on_eof};
    c->ui = cfg->batch ? cli_ui_json_new(&in) : cli_ui_tty_new(&in, cfg->color);
    if (!c->ws || !c->ui) {
        snprintf(err, cap, c->ws ? "cannot start the terminal (libedit)" : "out of memory");
        goto fail;
    }
    c->sig_fd = cli_signal_install(!cfg->batch);
    if (c->sig_fd < 0 || cli_loop_watch(c->loop, c->sig_fd, signal_readable, NULL, c) != 0) {
        snprintf(err, cap, "cannot watch signals");
        goto fail;
    }
    if (fcntl(STDIN_FILENO, F_GETFD) < 0) {
        c->input_eof = 1;
    } else if (cli_loop_watch(c->loop, STDIN_FILENO, stdin_readable, stdin_closed, c) != 0) {
        snprintf(err, cap, "cannot watch standard input");
        goto fail;
    }
    update_prompt(c);
    return c;
fail:
    cli_chat_free(c);
    return NULL;
}

int cli_chat_run(cli_chat *c)
{
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_ROOM;
    ev.room = c->room;
    ev.name = c->name;
    ev.identity = sc2_room_identity(c->r);
    ev.url = c->base;
    ev.seq = sc2_room_seq(c->r);
    report(c, &ev);
    if (c->cfg.show_link && sc2_room_link(c->r, c->base, c->link, sizeof c->link) >= 0) {
        memset(&ev, 0, sizeof ev);
        ev.type = CLI_EV_LINK;
        ev.link = c->link;
        report(c, &ev);
    }
    if (c->cfg.show_history)
        history_print(c, c->cfg.show_history);
    if (!c->hist && !c->cfg.show_history)
        report_simple(c, CLI_EV_NOTICE, c->hist_err, 0);
    char err[1200];
    if (cli_verify_load(c->store_dir, c->cfg.identity->storage_key, c->room, &c->marks, err,
                        sizeof err) != 0) {
        snprintf(c->marks_err, sizeof c->marks_err,
                 "verified marks unavailable (not shown, not changed): %.500s", err);
        report_simple(c, CLI_EV_NOTICE, c->marks_err, 0);
    }
    if (c->hist && cli_history_read(c->hist, SEEN_SCAN, seen_collect, c, err, sizeof err) < 0 &&
        !c->cfg.show_history)
        report_simple(c, CLI_EV_NOTICE, err, 0);
    if (c->n_seen)
        qsort(c->seen, c->n_seen, sizeof *c->seen, cmp_u64);
    c->dirty = 1;
    save_now(c);
    connect_now(c);
    if (c->input_eof)
        start_quit(c);
    if (cli_loop_run(c->loop) != 0 && !c->stopping) {
        report_simple(c, CLI_EV_ERROR, "the event loop failed", CLI_EXIT_ERROR);
        c->exit_code = CLI_EXIT_ERROR;
    }
    if (!c->stopping)
        save_now(c);
    report_simple(c, CLI_EV_EXIT, NULL, c->exit_code);
    return c->exit_code;
}

void cli_chat_free(cli_chat *c)
{
    if (!c)
        return;
    c->destroying = 1;
    cli_loop_free(c->loop);
    if (c->ui)
        c->ui->ops->free(c->ui);
    cli_ws_free(c->ws);
    sc2_room_free(c->r);
    while (c->n_own)
        own_forget(c, 0);
    free(c->own);
    cli_history_close(c->hist);
    free(c->seen);
    cli_verify_free(&c->marks);
    if (c->sig_fd >= 0)
        cli_signal_uninstall();
    sodium_memzero(c, sizeof *c);
    free(c);
}
