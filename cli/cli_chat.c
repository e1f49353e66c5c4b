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
#include "cli_loop.h"
#include "cli_signal.h"
#include "cli_text.h"
#include "cli_ui.h"
#include "cli_ui_json.h"
#include "cli_ui_tty.h"
#include "cli_ws.h"
#include "sc_session.h"

/* Failed attempts in a row before giving up, until the first successful join. */
#define DEFAULT_RETRIES_BEFORE_JOIN 6u
/* Relay URLs: the link's, then --relay alternatives. */
#define MAX_URLS 9u
#define CLOSE_GRACE_MS 2000u

struct cli_chat {
    cli_chat_config cfg;
    char ws_url[1024];          /* the one in use: urls[url_idx] */
    char urls[MAX_URLS][1024];
    size_t n_urls, url_idx;
    char name[SC_SESSION_MAX_NAME + 1];
    sc_session *s;
    cli_loop *loop;
    cli_ws *ws;
    cli_ui *ui;
    cli_cmd cmd;
    int sig_fd;
    cli_timer deadline_t, retry_t, leave_t, close_t;
    unsigned failures; /* failed attempts in a row */
    int ever_joined;
    int joined;        /* WELCOME seen on the current connection */
    int leaving;       /* input ended: waiting for confirmations */
    int stopping;      /* closing down with exit_code */
    int detached;
    int input_eof;
    int exit_code;
    int fatal;         /* exit code an event decided (room full), 0 if none */
    int destroying;
    cli_chat_line_fn line_fn;
    void *line_user;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void report(cli_chat *c, cli_event *ev)
{
    ev->ts_ms = now_ms();
    c->ui->ops->event(c->ui, ev);
}

static void report_simple(cli_chat *c, enum cli_ev_type type, const char *reason, long code)
{
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.reason = reason;
    ev.code = code;
    ev.url = c->ws_url;
    report(c, &ev);
}

static void update_prompt(cli_chat *c)
{
    if (c->cfg.batch)
        return;
    const char *p = cli_cmd_prompt(&c->cmd);
    if (!p)
        p = c->joined ? "> " : "(offline) > ";
    c->ui->ops->set_prompt(c->ui, p);
}

static void stop_now(cli_chat *c, int code);

static void fail(cli_chat *c, int code, const char *msg)
{
    report_simple(c, CLI_EV_ERROR, msg, code);
    if (c->cfg.batch)
        fprintf(stderr, "saltchat: %s\n", msg);
    stop_now(c, code);
}

static size_t pending(const cli_chat *c)
{
    return sc_session_outbox_len(c->s);
}

static void session_event(cli_chat *c, const sc_event *se)
{
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.member = se->member;
    ev.name = se->name;
    ev.fingerprint = se->fingerprint;
    ev.identity = se->identity;
    ev.msg_id = se->msg_id;
    ev.time_ms = se->time_ms;
    ev.text = se->text;
    ev.text_len = se->text_len;
    ev.reason = se->reason;
    ev.code = se->code;
    ev.count = se->count;
    if (se->identity)
        ev.verified = cli_verified_has(c->cfg.verified, se->identity);
    switch (se->type) {
    case SC_EV_JOINED_ROOM:
        ev.type = CLI_EV_JOINED_ROOM;
        ev.name = c->name;
        ev.fingerprint = c->cfg.identity->fingerprint;
        ev.room = sc_session_room_id(c->s);
        c->joined = 1;
        c->ever_joined = 1;
        c->failures = 0;
        break;
    case SC_EV_MEMBER_JOINED: ev.type = CLI_EV_MEMBER_JOINED; break;
    case SC_EV_MEMBER_AUTHENTICATED:
        ev.type = CLI_EV_MEMBER_AUTHENTICATED;
        ev.name_clash = se->identity && !ev.verified &&
                        cli_verified_name_clash(c->cfg.verified, se->name, se->identity);
        break;
    case SC_EV_HANDSHAKE_FAILED: ev.type = CLI_EV_HANDSHAKE_FAILED; break;
    case SC_EV_MEMBER_LEFT:
        ev.type = CLI_EV_MEMBER_LEFT;
        cli_cmd_cancel(&c->cmd, se->member);
        break;
    case SC_EV_MESSAGE: ev.type = CLI_EV_MESSAGE; break;
    case SC_EV_UNDECRYPTABLE: ev.type = CLI_EV_UNDECRYPTABLE; break;
    case SC_EV_KEYS_ROTATED: ev.type = CLI_EV_KEYS_ROTATED; break;
    case SC_EV_PEER_KEYS: ev.type = CLI_EV_PEER_KEYS; break;
    case SC_EV_SENT: ev.type = CLI_EV_SENT; break;
    case SC_EV_CONFIRMED: ev.type = CLI_EV_CONFIRMED; break;
    case SC_EV_RELAY_ERROR:
        ev.type = CLI_EV_RELAY_ERROR;
        if (se->code == 4) /* room-full */
            c->fatal = CLI_EXIT_ROOM_FULL;
        break;
    case SC_EV_PROTOCOL_ERROR: ev.type = CLI_EV_PROTOCOL_ERROR; break;
    case SC_EV_WARNING: ev.type = CLI_EV_WARNING; break;
    case SC_EV_SEND_FAILED: ev.type = CLI_EV_SEND_FAILED; break;
    default: return;
    }
    report(c, &ev);
    if (se->type == SC_EV_JOINED_ROOM || se->type == SC_EV_MEMBER_LEFT)
        update_prompt(c);
}

static void on_deadline(void *user);

/* Drains session events and output requests; re-arms the session timer; notices when
 * leaving is complete. Call after every call into the session. */
static void pump(cli_chat *c)
{
    sc_event se;
    size_t len;
    while (sc_session_next_event(c->s, &se))
        session_event(c, &se);
    if (sc_session_output(c->s, &len))
        cli_ws_want_write(c->ws);
    uint64_t d = sc_session_deadline(c->s), now = now_ms();
    if (d)
        cli_loop_timer_set(c->loop, &c->deadline_t, d > now ? d - now : 0, on_deadline, c);
    else
        cli_loop_timer_cancel(&c->deadline_t);
    if (c->stopping)
        return;
    if (c->ui->ops->status(c->ui) != 0) {
        fprintf(stderr, "saltchat: cannot write to standard output; leaving\n");
        stop_now(c, CLI_EXIT_ERROR);
    } else if (c->leaving && pending(c) == 0 && c->ever_joined) {
        stop_now(c, CLI_EXIT_OK);
    }
}

static void on_deadline(void *user)
{
    cli_chat *c = user;
    sc_session_tick(c->s, now_ms());
    pump(c);
}

static void on_stop_timer(void *user)
{
    cli_loop_stop(((cli_chat *)user)->loop);
}

static void stop_now(cli_chat *c, int code)
{
    if (c->stopping)
        return;
    c->stopping = 1;
    c->exit_code = code;
    cli_loop_timer_cancel(&c->retry_t);
    cli_loop_timer_cancel(&c->leave_t);
    if (cli_ws_active(c->ws)) {
        cli_ws_close(c->ws, 1000, "leaving");
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
    if (e->close_code == 4001 || c->fatal == CLI_EXIT_ROOM_FULL) {
        code = CLI_EXIT_ROOM_FULL;
        snprintf(msg, sizeof msg, "the room is full (the relay limits its members): try later");
    } else if (e->tls_error && !c->ever_joined) {
        code = CLI_EXIT_TLS;
        snprintf(msg, sizeof msg,
                 "TLS with %.1023s failed: the relay's certificate is not trusted or the TLS "
                 "handshake broke (%.300s). For a relay with a self-signed certificate, pass "
                 "--ca FILE",
                 c->ws_url, e->reason);
    } else if (e->http_status >= 400 && e->http_status < 500 && e->http_status != 429 &&
               !c->ever_joined) {
        code = CLI_EXIT_UNREACHABLE;
        snprintf(msg, sizeof msg, "%.1023s: %.300s; is the link's relay address right?", c->ws_url,
                 e->reason);
    }
    unsigned limit = c->cfg.retries >= 0 ? (unsigned)c->cfg.retries
                     : c->ever_joined    ? 0
                                         : DEFAULT_RETRIES_BEFORE_JOIN;
    int unlimited = c->cfg.retries < 0 && c->ever_joined;
    if (!code) {
        c->failures++;
        if (!unlimited && c->failures > limit) {
            code = CLI_EXIT_UNREACHABLE;
            snprintf(msg, sizeof msg, "cannot reach the relay at %.1023s (%u attempt%s): %.300s",
                     c->ws_url, c->failures, c->failures == 1 ? "" : "s", e->reason);
        }
    }
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_DISCONNECTED;
    ev.reason = e->reason;
    ev.code = e->close_code;
    ev.attempt = c->failures;
    ev.count = (uint32_t)pending(c);
    if (!code)
        ev.retry_ms = cli_backoff_delay_ms(c->failures, CLI_BACKOFF_BASE_MS, CLI_BACKOFF_CAP_MS,
                                           randombytes_random());
    report(c, &ev);
    update_prompt(c);
    if (code) {
        fail(c, code, msg);
        return;
    }
    /* fail over: the next relay of the cluster in turn */
    if (c->n_urls > 1) {
        c->url_idx = (c->url_idx + 1) % c->n_urls;
        memcpy(c->ws_url, c->urls[c->url_idx], sizeof c->ws_url);
    }
    cli_loop_timer_set(c->loop, &c->retry_t, ev.retry_ms, connect_now, c);
}

static void connect_now(void *user)
{
    cli_chat *c = user;
    char err[300];
    if (c->stopping || c->detached)
        return;
    c->fatal = 0;
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_CONNECTING;
    ev.url = c->ws_url;
    ev.attempt = c->failures + 1;
    report(c, &ev);
    if (cli_ws_connect(c->ws, c->ws_url, err, sizeof err) != 0) {
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
    c->joined = 0;
    report_simple(c, CLI_EV_CONNECTED, NULL, 0);
}

static int ws_message(void *user, const uint8_t *msg, size_t len)
{
    cli_chat *c = user;
    int r = sc_session_receive(c->s, msg, len, now_ms());
    pump(c);
    return r < 0 ? -1 : 0;
}

static const uint8_t *ws_next(void *user, size_t *len)
{
    return sc_session_output(((cli_chat *)user)->s, len);
}

static void ws_done(void *user)
{
    cli_chat *c = user;
    sc_session_output_pop(c->s);
    pump(c);
}

static void ws_end(void *user, const cli_ws_end *e)
{
    cli_chat *c = user;
    if (c->destroying)
        return;
    if (e->was_open && !c->detached) {
        sc_session_disconnected(c->s, now_ms());
        c->joined = 0;
        pump(c);
    }
    c->joined = 0;
    if (c->stopping) {
        cli_loop_stop(c->loop);
        return;
    }
    if (c->detached)
        return;
    connection_failed(c, e);
}

/* Input. */

static void leave_expired(void *user)
{
    cli_chat *c = user;
    char msg[200];
    size_t n = pending(c);
    if (!c->ever_joined) {
        snprintf(msg, sizeof msg, "could not join the room within %u s", c->cfg.wait_s);
        fail(c, CLI_EXIT_UNREACHABLE, msg);
        return;
    }
    snprintf(msg, sizeof msg,
             "%zu message%s not confirmed by the relay within %u s: %s may not have been "
             "delivered",
             n, n == 1 ? " was" : "s were", c->cfg.wait_s, n == 1 ? "it" : "they");
    fail(c, CLI_EXIT_UNDELIVERED, msg);
}

static void start_leave(cli_chat *c)
{
    if (c->leaving || c->stopping)
        return;
    c->leaving = 1;
    size_t n = pending(c);
    if (n == 0 && c->ever_joined) {
        stop_now(c, CLI_EXIT_OK);
        return;
    }
    /* Not in the room yet: join first, so that connection errors are reported. */
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_LEAVING;
    ev.count = (uint32_t)n;
    ev.retry_ms = (uint64_t)c->cfg.wait_s * 1000u;
    if (n)
        report(c, &ev);
    cli_loop_timer_set(c->loop, &c->leave_t, ev.retry_ms, leave_expired, c);
}

/* Hands a line to the session. Typed offline after having been in the room, it is also
 * reported as held: the session keeps it until the members of before the drop are back
 * (docs/PROTOCOL.md 7.4). */
static void hand_over(cli_chat *c, const uint8_t *text, size_t len)
{
    uint64_t id = 0;
    int rc = sc_session_send(c->s, text, len, now_ms(), &id);
    int held = rc == 0 && c->ever_joined && !c->joined;
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    if (held) {
        ev.type = CLI_EV_HELD;
        ev.text = text;
        ev.text_len = len;
        ev.count = (uint32_t)sc_session_outbox_len(c->s);
        ev.offline = 1;
        report(c, &ev);
        memset(&ev, 0, sizeof ev);
    }
    ev.type = rc == 0 ? CLI_EV_QUEUED : CLI_EV_REJECTED_INPUT;
    ev.reason = rc == 0 ? NULL : "message too large for this relay's frame limit: not sent";
    ev.msg_id = id;
    ev.text = text;
    ev.text_len = len;
    ev.released = held;
    ev.offline = !c->joined;
    report(c, &ev);
}

int cli_chat_send(cli_chat *c, const char *text, size_t len)
{
    const char *why = NULL;
    if (len == 0)
        why = "empty line: nothing to send";
    else if (len > SC_SESSION_MAX_TEXT)
        why = "line longer than 32768 bytes: not sent";
    else if (!cli_utf8_valid((const uint8_t *)text, len))
        why = "line is not valid UTF-8: not sent";
    else if (pending(c) >= SC_SESSION_MAX_OUTBOX)
        why = "1024 messages are already waiting for the relay: not sent";
    if (why) {
        report_simple(c, CLI_EV_REJECTED_INPUT, why, 0);
        return -1;
    }
    hand_over(c, (const uint8_t *)text, len);
    pump(c);
    return 0;
}

static void on_line(void *user, const char *line, size_t len)
{
    cli_chat *c = user;
    if (c->line_fn) {
        c->line_fn(c, c->line_user, line, len);
        return;
    }
    if (c->stopping)
        return;
    if (!c->cfg.batch) {
        const char *text;
        size_t text_len;
        enum cli_cmd_result r = cli_cmd_line(&c->cmd, line, len, &text, &text_len);
        update_prompt(c);
        if (r == CLI_CMD_QUIT)
            start_leave(c);
        if (r != CLI_CMD_TEXT)
            return;
        line = text;
        len = text_len;
    }
    if (c->leaving) {
        report_simple(c, CLI_EV_REJECTED_INPUT, "leaving the room: not sent", 0);
        return;
    }
    cli_chat_send(c, line, len);
}

static void on_eof(void *user)
{
    cli_chat *c = user;
    c->input_eof = 1;
    start_leave(c);
}

static int stdin_readable(void *user)
{
    cli_chat *c = user;
    return c->ui->ops->readable(c->ui);
}

static void stdin_closed(void *user)
{
    cli_chat *c = user;
    /* The descriptor hung up: read what is left, then end the input. */
    for (int i = 0; i < 1000 && !c->input_eof; i++)
        if (c->ui->ops->readable(c->ui) != 0)
            break;
    if (!c->input_eof)
        on_eof(c);
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
        if (c->stopping) { /* a second interrupt: do not wait for the close handshake */
            cli_loop_stop(c->loop);
            continue;
        }
        size_t n = pending(c);
        if (n) {
            char msg[160];
            snprintf(msg, sizeof msg, "interrupted: %zu message%s not confirmed by the relay", n,
                     n == 1 ? "" : "s");
            report_simple(c, CLI_EV_ERROR, msg, CLI_EXIT_INTERRUPTED);
        }
        stop_now(c, CLI_EXIT_INTERRUPTED);
    }
    return 0;
}

/* Lifecycle. */

cli_chat *cli_chat_new(const cli_chat_config *cfg, int *exit_code, char *err, size_t cap)
{
    cli_chat *c = calloc(1, sizeof *c);
    *exit_code = CLI_EXIT_ERROR;
    if (!c) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    c->sig_fd = -1;
    snprintf(c->urls[0], sizeof c->urls[0], "%s", cfg->ws_url);
    c->n_urls = 1;
    for (size_t i = 0; i < cfg->n_alt_urls && c->n_urls < MAX_URLS; i++)
        snprintf(c->urls[c->n_urls++], sizeof c->urls[0], "%s", cfg->alt_urls[i]);
    memcpy(c->ws_url, c->urls[0], sizeof c->ws_url);
    snprintf(c->name, sizeof c->name, "%s", cfg->name ? cfg->name : "");
    c->cfg.ws_url = c->ws_url;
    c->cfg.alt_urls = NULL;
    c->cfg.n_alt_urls = 0;
    c->cfg.name = c->name;

    sc_session_config sc;
    memset(&sc, 0, sizeof sc);
    sc.identity_pk = cfg->identity->pk;
    sc.identity_sk = cfg->identity->sk;
    sc.room_secret = cfg->room_secret;
    sc.name = c->name;
    c->s = sc_session_new(&sc);
    if (!c->s) {
        snprintf(err, cap, "cannot start the session (display name invalid or out of memory)");
        goto fail;
    }
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
    c->cmd.session = c->s;
    c->cmd.verified = cfg->verified;
    c->cmd.ui = c->ui;
    c->sig_fd = cli_signal_install(!cfg->batch);
    if (c->sig_fd < 0 || cli_loop_watch(c->loop, c->sig_fd, signal_readable, NULL, c) != 0) {
        snprintf(err, cap, "cannot watch signals");
        goto fail;
    }
    if (fcntl(STDIN_FILENO, F_GETFD) < 0) {
        c->input_eof = 1; /* stdin closed: no input at all */
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
    connect_now(c);
    if (c->input_eof)
        start_leave(c);
    if (cli_loop_run(c->loop) != 0 && !c->stopping) {
        report_simple(c, CLI_EV_ERROR, "the event loop failed", CLI_EXIT_ERROR);
        c->exit_code = CLI_EXIT_ERROR;
    }
    report_simple(c, CLI_EV_EXIT, NULL, c->exit_code);
    return c->exit_code;
}

void cli_chat_free(cli_chat *c)
{
    if (!c)
        return;
    c->destroying = 1;
    cli_loop_free(c->loop); /* closes the WebSocket and the watches */
    if (c->ui)
        c->ui->ops->free(c->ui);
    cli_ws_free(c->ws);
    sc_session_free(c->s);
    if (c->sig_fd >= 0)
        cli_signal_uninstall();
    sodium_memzero(c, sizeof *c);
    free(c);
}

/* Test hooks. */

struct sc_session *cli_chat_session(cli_chat *c)
{
    return c->s;
}

void cli_chat_detach(cli_chat *c)
{
    c->detached = 1;
    cli_loop_timer_cancel(&c->retry_t);
    cli_ws_close(c->ws, 1000, "detached");
}

int cli_chat_inject(cli_chat *c, const uint8_t *msg, size_t len)
{
    int r = sc_session_receive(c->s, msg, len, now_ms());
    pump(c);
    return r;
}

void cli_chat_set_line_handler(cli_chat *c, cli_chat_line_fn fn, void *user)
{
    c->line_fn = fn;
    c->line_user = user;
}

void cli_chat_leave(cli_chat *c)
{
    start_leave(c);
}
