#include "cli_ui_tty.h"

#include <histedit.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli_buf.h"
#include "cli_text.h"
#include "sc2_envelope.h"
#include "sc2_name.h"
#include "sc2_verify.h"

#define SGR_RESET "\033[0m"
#define SGR_DIM "\033[2m"
#define SGR_BOLD "\033[1m"
#define SGR_GREEN "\033[32m"
#define SGR_YELLOW "\033[33m"
#define SGR_RED "\033[31m"

typedef struct tty_ui {
    cli_ui base;
    EditLine *el;
    History *hist;
    char prompt[128];
    int color;
    int utf8;
    int editing; /* libedit is in unbuffered mode with a prompt on screen */
    cli_buf out;
} tty_ui;

static char *prompt_fn(EditLine *el)
{
    tty_ui *u = NULL;
    el_get(el, EL_CLIENTDATA, &u);
    return u ? u->prompt : "> ";
}

static size_t term_cols(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Moves to the first row of the prompt and clears from there down. */
static void clear_edit_area(tty_ui *u)
{
    const LineInfo *li = el_line(u->el);
    size_t before = cli_text_columns(u->prompt, strlen(u->prompt));
    if (li && li->cursor >= li->buffer)
        before += cli_text_columns(li->buffer, (size_t)(li->cursor - li->buffer));
    size_t row = before / term_cols();
    fputs("\r", stdout);
    if (row)
        printf("\033[%zuA", row);
    fputs("\033[J", stdout);
}

/* Writes u->out above the input line, then redraws the prompt and what was typed. */
static void flush_above(tty_ui *u)
{
    if (u->editing)
        clear_edit_area(u);
    for (size_t i = 0; i < u->out.len; i++) {
        if (u->out.data[i] == '\n')
            fputc('\r', stdout);
        fputc(u->out.data[i], stdout);
    }
    fputs("\r\n", stdout);
    cli_buf_clear(&u->out);
    fflush(stdout);
    if (u->editing)
        el_set(u->el, EL_REFRESH);
    fflush(stdout);
}

static void sgr(tty_ui *u, const char *code)
{
    if (u->color)
        cli_buf_puts(&u->out, code);
}

static void put_text(tty_ui *u, const void *s, size_t n, unsigned flags)
{
    cli_text_sanitize(&u->out, s, n, flags);
}

static void put_time(tty_ui *u, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[16];
    if (!localtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%H:%M", &tm))
        snprintf(buf, sizeof buf, "--:--");
    sgr(u, SGR_DIM);
    cli_buf_printf(&u->out, "[%s] ", buf);
    sgr(u, SGR_RESET);
}

static void put_who(tty_ui *u, const char *name, const uint8_t *identity)
{
    static const char *const colors[] = {"\033[31m", "\033[32m", "\033[33m",
                                         "\033[34m", "\033[35m", "\033[36m"};
    if (u->color) {
        cli_buf_puts(&u->out, SGR_BOLD);
        cli_buf_puts(&u->out, colors[identity ? identity[0] % 6 : 0]);
    }
    if (name && *name) {
        /* invisible, bidi and control characters shown as \u{...} (sc2_name.h) */
        char shown[SC2_NAME_DISPLAY_MAX];
        if (sc2_name_display((const uint8_t *)name, strlen(name), shown, sizeof shown) >= 0)
            put_text(u, shown, strlen(shown), 0);
        else
            put_text(u, name, strlen(name), 0);
    } else
        cli_buf_puts(&u->out, "(no name)");
    sgr(u, SGR_RESET);
}

static void put_fp(tty_ui *u, const uint8_t *identity)
{
    char fp[CLI_TEXT_FP_CHARS + 1];
    if (!identity)
        return;
    cli_text_fingerprint(identity, fp);
    sgr(u, SGR_DIM);
    cli_buf_printf(&u->out, " [%s]", fp);
    sgr(u, SGR_RESET);
}

static void put_fp_plain(tty_ui *u, const uint8_t *identity)
{
    char fp[CLI_TEXT_FP_CHARS + 1];
    if (!identity)
        return;
    cli_text_fingerprint(identity, fp);
    cli_buf_puts(&u->out, fp);
}

/* The event's member: name, and its fingerprint if with_fp or the name looks like another
 * member's (then flagged as such). */
static void put_member(tty_ui *u, const cli_event *ev, int with_fp)
{
    put_who(u, ev->name, ev->identity);
    if (with_fp || ev->lookalike)
        put_fp(u, ev->identity);
    if (ev->lookalike) {
        sgr(u, SGR_YELLOW);
        cli_buf_puts(&u->out, " (name looks like another member's)");
        sgr(u, SGR_RESET);
    }
}

static void system_line(tty_ui *u, enum cli_ui_style style)
{
    const char *code = style == CLI_UI_ERROR  ? SGR_RED
                       : style == CLI_UI_WARN ? SGR_YELLOW
                       : style == CLI_UI_GOOD ? SGR_GREEN
                                              : SGR_DIM;
    sgr(u, code);
    cli_buf_puts(&u->out, style >= CLI_UI_WARN ? "! " : "* ");
}

static void event(cli_ui *ui, const cli_event *ev)
{
    tty_ui *u = (tty_ui *)ui;
    const char *reason = ev->reason ? ev->reason : "";
    unsigned long long seq = (unsigned long long)ev->seq, seq2 = (unsigned long long)ev->seq2;
    cli_buf_clear(&u->out);
    switch (ev->type) {
    case CLI_EV_MESSAGE:
    case CLI_EV_HISTORY:
        put_time(u, ev->time_ms);
        if (ev->type == CLI_EV_HISTORY && ev->self) {
            sgr(u, SGR_BOLD);
            cli_buf_puts(&u->out, "you");
            sgr(u, SGR_RESET);
        } else {
            put_member(u, ev, 0);
        }
        cli_buf_puts(&u->out, ": ");
        put_text(u, ev->text, ev->text_len, CLI_TEXT_KEEP_NEWLINES);
        break;
    case CLI_EV_QUEUED:
        put_time(u, ev->ts_ms);
        sgr(u, SGR_BOLD);
        cli_buf_puts(&u->out, "you");
        sgr(u, SGR_RESET);
        cli_buf_puts(&u->out, ": ");
        put_text(u, ev->text, ev->text_len, CLI_TEXT_KEEP_NEWLINES);
        break;
    case CLI_EV_CONNECTING:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "connecting to %s", ev->url);
        if (ev->attempt > 1)
            cli_buf_printf(&u->out, " (attempt %u)", ev->attempt);
        break;
    case CLI_EV_CONNECTED:
        system_line(u, CLI_UI_INFO);
        cli_buf_puts(&u->out, "connected, catching up");
        break;
    case CLI_EV_DISCONNECTED:
        system_line(u, CLI_UI_WARN);
        cli_buf_printf(&u->out, "connection lost: %s", reason);
        if (ev->retry_ms)
            cli_buf_printf(&u->out, "; reconnecting in %.1f s", (double)ev->retry_ms / 1000.0);
        if (ev->count)
            cli_buf_printf(&u->out, " (%u message%s waiting, kept)", ev->count,
                           ev->count == 1 ? "" : "s");
        break;
    case CLI_EV_ROOM:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "room %s on %s, you are ", ev->room, ev->url);
        put_member(u, ev, 1);
        break;
    case CLI_EV_CREATED:
        system_line(u, CLI_UI_GOOD);
        cli_buf_puts(&u->out, "the relay created the room");
        break;
    case CLI_EV_JOINED:
        system_line(u, CLI_UI_GOOD);
        cli_buf_printf(&u->out, "joined the room (epoch %llu)", (unsigned long long)ev->epoch);
        break;
    case CLI_EV_LIVE:
        system_line(u, CLI_UI_GOOD);
        cli_buf_printf(&u->out, "up to date (message %llu)", seq);
        break;
    case CLI_EV_SENT:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "sent (#%llu)", (unsigned long long)(ev->token & 0xffffffffu));
        break;
    case CLI_EV_ACCEPTED:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "accepted by the relay (#%llu, message %llu)",
                       (unsigned long long)(ev->token & 0xffffffffu), seq);
        break;
    case CLI_EV_EPOCH:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "group keys changed (epoch %llu, by ",
                       (unsigned long long)ev->epoch);
        put_who(u, ev->by_name, ev->by_identity);
        sgr(u, SGR_DIM);
        cli_buf_puts(&u->out, ")");
        break;
    case CLI_EV_REBASED:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "your change lost a race and was made again (epoch %llu)",
                       (unsigned long long)ev->epoch);
        break;
    case CLI_EV_DUPLICATE:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "message %llu came again (dropped)", seq);
        break;
    case CLI_EV_EXIT:
        return;
    case CLI_EV_REJECTED:
        system_line(u, CLI_UI_ERROR);
        cli_buf_printf(&u->out, "the relay refused something you sent (%s): %s",
                       sc2_code_name((uint16_t)ev->code), reason);
        break;
    case CLI_EV_MEMBER_JOINED:
        system_line(u, CLI_UI_INFO);
        put_member(u, ev, 1);
        cli_buf_puts(&u->out, ev->resync ? " is back (rejoined)" : " joined");
        break;
    case CLI_EV_MEMBER_REMOVED:
        system_line(u, CLI_UI_INFO);
        put_member(u, ev, 0);
        if (ev->self) {
            cli_buf_puts(&u->out, " left");
        } else {
            cli_buf_puts(&u->out, " was removed by ");
            put_who(u, ev->by_name, ev->by_identity);
        }
        break;
    case CLI_EV_MEMBER_LEAVING:
        system_line(u, CLI_UI_INFO);
        put_member(u, ev, 0);
        cli_buf_puts(&u->out, " is leaving");
        break;
    case CLI_EV_REMOVED:
        system_line(u, CLI_UI_ERROR);
        cli_buf_puts(&u->out, "you were removed from the room by ");
        put_who(u, ev->by_name, ev->by_identity);
        break;
    case CLI_EV_LEFT:
        system_line(u, CLI_UI_GOOD);
        cli_buf_puts(&u->out, "you left the room");
        break;
    case CLI_EV_LINK_ROTATED:
        system_line(u, CLI_UI_WARN);
        cli_buf_printf(&u->out, "the invite link changed (the old one no longer admits anyone). "
                       "New link, share it privately:\n  %s", ev->link);
        break;
    case CLI_EV_LINK:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "invite link (whoever has it can join and read; share it "
                       "privately):\n  %s", ev->link);
        break;
    case CLI_EV_MEMBER:
        system_line(u, CLI_UI_INFO);
        put_member(u, ev, 1);
        if (ev->self)
            cli_buf_puts(&u->out, " (you)");
        if (ev->verified) {
            sgr(u, SGR_GREEN);
            cli_buf_puts(&u->out, " (verified)");
        }
        break;
    case CLI_EV_VERIFY:
        system_line(u, CLI_UI_INFO);
        put_member(u, ev, 1);
        cli_buf_puts(&u->out, ev->verified ? " (verified)" : " (not verified)");
        cli_buf_printf(&u->out, "\n  fingerprint:   ");
        put_fp_plain(u, ev->identity);
        if (ev->number && strlen(ev->number) == SC2_VF_SN_CHARS)
            cli_buf_printf(&u->out, "\n  safety number: %.35s\n                 %s",
                           ev->number, ev->number + SC2_VF_FP_CHARS + 1);
        cli_buf_puts(&u->out, "\n  ");
        put_text(u, reason, strlen(reason), 0);
        break;
    case CLI_EV_VERIFIED:
        system_line(u, CLI_UI_GOOD);
        put_member(u, ev, 1);
        cli_buf_puts(&u->out, " is marked verified (");
        put_text(u, reason, strlen(reason), 0);
        cli_buf_puts(&u->out, ")");
        break;
    case CLI_EV_UNVERIFIED:
        system_line(u, CLI_UI_INFO);
        put_member(u, ev, 1);
        cli_buf_puts(&u->out, " is no longer marked verified");
        break;
    case CLI_EV_VERIFY_BROKEN:
        system_line(u, CLI_UI_ERROR);
        cli_buf_puts(&u->out, "ALERT: VERIFIED MEMBER WITH ANOTHER KEY: ");
        put_member(u, ev, 1);
        cli_buf_puts(&u->out, " was verified as [");
        put_fp_plain(u, ev->identity2);
        cli_buf_puts(&u->out, "]: ");
        put_text(u, reason, strlen(reason), 0);
        break;
    case CLI_EV_ROOM_CODE:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out, "room code (epoch %llu): %s\n  ", (unsigned long long)ev->epoch,
                       ev->number ? ev->number : "");
        put_text(u, reason, strlen(reason), 0);
        break;
    case CLI_EV_HISTORY_LOST:
        system_line(u, CLI_UI_WARN);
        cli_buf_printf(&u->out, "messages %llu to %llu are gone from the relay and will not be "
                       "shown", seq, seq2);
        break;
    case CLI_EV_UNREADABLE:
        system_line(u, CLI_UI_WARN);
        cli_buf_printf(&u->out, "message %llu cannot be read: %s", seq, reason);
        break;
    case CLI_EV_GAP:
        system_line(u, CLI_UI_WARN);
        cli_buf_printf(&u->out, "the relay skipped messages (expected %llu, got %llu); "
                       "reconnecting", seq, seq2);
        break;
    case CLI_EV_FORK:
    case CLI_EV_LINK_MISMATCH:
    case CLI_EV_KEY_CHANGED:
    case CLI_EV_STALE_GI:
        system_line(u, CLI_UI_ERROR);
        cli_buf_puts(&u->out, "ALERT: ");
        if (ev->name) {
            put_member(u, ev, 1);
            cli_buf_puts(&u->out, ": ");
        }
        put_text(u, reason, strlen(reason), 0);
        break;
    case CLI_EV_JOIN_FAILED:
        system_line(u, CLI_UI_ERROR);
        cli_buf_printf(&u->out, "joining failed: %s", reason);
        break;
    case CLI_EV_RELAY_ERROR:
        system_line(u, CLI_UI_WARN);
        cli_buf_printf(&u->out, "relay error %ld (%s): %s", ev->code,
                       sc2_code_name((uint16_t)ev->code), reason);
        break;
    case CLI_EV_PROTOCOL_ERROR:
        system_line(u, CLI_UI_WARN);
        cli_buf_printf(&u->out, "the relay sent invalid data (%s); reconnecting", reason);
        break;
    case CLI_EV_ROOM_LOST:
        system_line(u, CLI_UI_ERROR);
        cli_buf_printf(&u->out, "room lost: %s", reason);
        break;
    case CLI_EV_NOTICE:
        system_line(u, CLI_UI_INFO);
        cli_buf_puts(&u->out, reason);
        break;
    case CLI_EV_REJECTED_INPUT:
        system_line(u, CLI_UI_ERROR);
        cli_buf_printf(&u->out, "not done: %s", reason);
        break;
    case CLI_EV_LEAVING:
        system_line(u, CLI_UI_INFO);
        cli_buf_printf(&u->out,
                       "waiting up to %.0f s for the relay to accept %u message%s (Ctrl-C to "
                       "quit now; they stay stored)",
                       (double)ev->retry_ms / 1000.0, ev->count, ev->count == 1 ? "" : "s");
        break;
    case CLI_EV_ERROR:
        system_line(u, CLI_UI_ERROR);
        cli_buf_puts(&u->out, reason);
        break;
    default:
        return;
    }
    sgr(u, SGR_RESET);
    flush_above(u);
}

static void print(cli_ui *ui, enum cli_ui_style style, const char *text)
{
    tty_ui *u = (tty_ui *)ui;
    cli_buf_clear(&u->out);
    if (style != CLI_UI_INFO)
        system_line(u, style);
    cli_buf_puts(&u->out, text);
    sgr(u, SGR_RESET);
    flush_above(u);
}

static void line_done(tty_ui *u, const char *buf, size_t n)
{
    cli_buf line = {0};
    cli_buf_append(&line, buf, n);
    cli_buf_append(&line, "", 1);
    size_t cols = term_cols();
    size_t used = cli_text_columns(u->prompt, strlen(u->prompt)) +
                  cli_text_columns((const char *)line.data, n);
    size_t rows = used / cols + 1;

    el_set(u->el, EL_UNBUFFERED, 0);
    u->editing = 0;
    /* Replace the echoed input by the formatted line the chat prints for it. */
    printf("\033[%zuA\r\033[J", rows);
    fflush(stdout);
    if (n) {
        HistEvent hev;
        history(u->hist, &hev, H_ENTER, (const char *)line.data);
    }
    u->base.input.line(u->base.input.user, (const char *)line.data, n);
    cli_buf_free(&line);
    if (u->el) {
        el_set(u->el, EL_UNBUFFERED, 1);
        u->editing = 1;
    }
}

static int readable(cli_ui *ui)
{
    tty_ui *u = (tty_ui *)ui;
    int n = 0;
    const char *buf = el_gets(u->el, &n);
    if (!buf) {
        if (n < 0)
            goto eof;
        return 0;
    }
    if (n == 1 && buf[0] == 4) /* Ctrl-D on an empty line */
        goto eof;
    if (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        line_done(u, buf, (size_t)n - 1);
    return 0;
eof:
    el_set(u->el, EL_UNBUFFERED, 0);
    u->editing = 0;
    fputs("\r\n", stdout);
    fflush(stdout);
    u->base.input.eof(u->base.input.user);
    return -1;
}

static void set_prompt(cli_ui *ui, const char *prompt)
{
    tty_ui *u = (tty_ui *)ui;
    if (!strcmp(u->prompt, prompt))
        return;
    if (u->editing)
        clear_edit_area(u);
    snprintf(u->prompt, sizeof u->prompt, "%s", prompt);
    if (u->editing)
        el_set(u->el, EL_REFRESH);
    fflush(stdout);
}

static void resize(cli_ui *ui)
{
    tty_ui *u = (tty_ui *)ui;
    el_resize(u->el);
    if (u->editing)
        el_set(u->el, EL_REFRESH);
    fflush(stdout);
}

static void suspend(cli_ui *ui)
{
    tty_ui *u = (tty_ui *)ui;
    if (u->editing) {
        clear_edit_area(u);
        el_set(u->el, EL_PREP_TERM, 0); /* the modes found at start; keeps the typed text */
    }
    fflush(stdout);
}

static void resume(cli_ui *ui)
{
    tty_ui *u = (tty_ui *)ui;
    if (u->editing) {
        el_set(u->el, EL_PREP_TERM, 1);
        el_resize(u->el);
        fputs("\r", stdout);
        el_set(u->el, EL_REFRESH);
    }
    fflush(stdout);
}

static int status(cli_ui *ui)
{
    (void)ui;
    return ferror(stdout) ? -1 : 0;
}

static void tty_free(cli_ui *ui)
{
    tty_ui *u = (tty_ui *)ui;
    if (u->el) {
        if (u->editing) {
            clear_edit_area(u);
            el_set(u->el, EL_UNBUFFERED, 0);
        }
        el_end(u->el);
    }
    if (u->hist)
        history_end(u->hist);
    fflush(stdout);
    cli_buf_free(&u->out);
    free(u);
}

static const cli_ui_ops ops = {event,   print,  readable, set_prompt, resize,
                               suspend, resume, status,   tty_free};

cli_ui *cli_ui_tty_new(const cli_ui_input *in, int color)
{
    tty_ui *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->base.ops = &ops;
    u->base.input = *in;
    u->color = color;
    const char *cs = nl_langinfo(CODESET);
    u->utf8 = cs && !strcmp(cs, "UTF-8");
    snprintf(u->prompt, sizeof u->prompt, "> ");
    u->el = el_init("saltchat", stdin, stdout, stderr);
    u->hist = history_init();
    if (!u->el || !u->hist) {
        tty_free(&u->base);
        return NULL;
    }
    HistEvent hev;
    history(u->hist, &hev, H_SETSIZE, 500);
    history(u->hist, &hev, H_SETUNIQUE, 1);
    el_set(u->el, EL_CLIENTDATA, u);
    el_set(u->el, EL_EDITOR, "emacs");
    el_set(u->el, EL_HIST, history, u->hist);
    el_set(u->el, EL_PROMPT, prompt_fn);
    el_source(u->el, NULL);
    el_set(u->el, EL_UNBUFFERED, 1);
    u->editing = 1;
    fflush(stdout);
    return &u->base;
}
