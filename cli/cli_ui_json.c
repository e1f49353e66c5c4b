#include "cli_ui_json.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_exit.h"
#include "cli_json.h"
#include "cli_text.h"
#include "sc2_envelope.h"
#include "sc2_name.h"
#include "sc2_room.h"

/* Longest input line kept; longer lines are rejected (the session takes 32 KiB). */
#define MAX_LINE (SC2_ROOM_MAX_TEXT + 2u)

typedef struct json_ui {
    cli_ui base;
    cli_buf in;    /* partial input line */
    int skipping;  /* dropping the rest of an over-long line */
    int eof;
    int broken;    /* stdout write failed */
    cli_buf out;
} json_ui;

static void id_field(cli_json *j, const char *key, uint64_t id)
{
    char hex[CLI_TEXT_ID_CHARS + 1];
    cli_text_id(id, hex);
    cli_json_str(j, key, hex);
}

static void emit(json_ui *u)
{
    if (u->broken)
        return;
    size_t off = 0;
    while (off < u->out.len) {
        ssize_t n = write(STDOUT_FILENO, u->out.data + off, u->out.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            u->broken = 1;
            break;
        }
        off += (size_t)n;
    }
    cli_buf_clear(&u->out);
}

static void hex_field(cli_json *j, const char *key, const uint8_t *b, size_t n)
{
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, b, n);
    cli_json_str(j, key, hex);
}

static void event(cli_ui *ui, const cli_event *ev)
{
    json_ui *u = (json_ui *)ui;
    unsigned f = cli_event_fields(ev->type);
    cli_json j;
    cli_json_begin(&j, &u->out);
    cli_json_str(&j, "type", cli_event_name(ev->type));
    cli_json_u64(&j, "ts", ev->ts_ms);
    if (f & CLI_F_ROOM)
        cli_json_str(&j, "room", ev->room);
    if (f & CLI_F_SEQ)
        cli_json_u64(&j, "seq", ev->seq);
    if (f & CLI_F_SEQ2)
        cli_json_u64(&j, "seq2", ev->seq2);
    if (f & CLI_F_TOKEN)
        id_field(&j, "token", ev->token);
    if (f & CLI_F_EPOCH)
        cli_json_u64(&j, "epoch", ev->epoch);
    if (f & CLI_F_TIME)
        cli_json_u64(&j, "time", ev->time_ms);
    if (f & CLI_F_NAME) {
        char shown[SC2_NAME_DISPLAY_MAX];
        const char *nm = ev->name ? ev->name : "";
        cli_json_str(&j, "name", nm);
        if (sc2_name_display((const uint8_t *)nm, strlen(nm), shown, sizeof shown) >= 0)
            cli_json_str(&j, "name_shown", shown);
        if (ev->lookalike)
            cli_json_bool(&j, "lookalike", 1);
    }
    if ((f & CLI_F_IDENTITY) && ev->identity) {
        char fp[CLI_TEXT_FP_CHARS + 1];
        cli_text_fingerprint(ev->identity, fp);
        cli_json_str(&j, "fingerprint", fp);
        hex_field(&j, "identity", ev->identity, 32);
    }
    if (f & CLI_F_BY) {
        cli_json_str(&j, "by", ev->by_name ? ev->by_name : "");
        if (ev->by_identity)
            hex_field(&j, "by_identity", ev->by_identity, 32);
    }
    if ((f & CLI_F_IDENTITY2) && ev->identity2) {
        char fp[CLI_TEXT_FP_CHARS + 1];
        cli_text_fingerprint(ev->identity2, fp);
        cli_json_str(&j, "verified_fingerprint", fp);
        hex_field(&j, "verified_identity", ev->identity2, 32);
    }
    if (f & CLI_F_NUMBER)
        cli_json_str(&j, ev->type == CLI_EV_ROOM_CODE ? "room_code" : "safety_number",
                     ev->number ? ev->number : "");
    if (f & CLI_F_VERIFIED)
        cli_json_bool(&j, "verified", ev->verified);
    if (f & CLI_F_SELF)
        cli_json_bool(&j, "self", ev->self);
    if (f & CLI_F_RESYNC)
        cli_json_bool(&j, "resync", ev->resync);
    if (f & CLI_F_TEXT)
        cli_json_strn(&j, "text", ev->text, ev->text_len);
    if (f & CLI_F_LINK)
        cli_json_str(&j, "link", ev->link ? ev->link : "");
    if (f & CLI_F_URL)
        cli_json_str(&j, "url", ev->url ? ev->url : "");
    if (f & CLI_F_ATTEMPT)
        cli_json_u64(&j, "attempt", ev->attempt);
    switch (ev->type) {
    case CLI_EV_DISCONNECTED:
        cli_json_int(&j, "close_code", ev->code);
        cli_json_u64(&j, "retry_ms", ev->retry_ms);
        cli_json_u64(&j, "pending", ev->count);
        break;
    case CLI_EV_LEAVING:
        cli_json_u64(&j, "pending", ev->count);
        cli_json_u64(&j, "wait_ms", ev->retry_ms);
        break;
    case CLI_EV_RELAY_ERROR:
    case CLI_EV_REJECTED:
    case CLI_EV_ROOM_LOST:
        cli_json_int(&j, "code", ev->code);
        cli_json_str(&j, "error", sc2_code_name((uint16_t)ev->code));
        break;
    case CLI_EV_UNREADABLE:
        cli_json_int(&j, "code", ev->code);
        break;
    case CLI_EV_ERROR:
    case CLI_EV_EXIT:
        cli_json_int(&j, "code", ev->code);
        cli_json_str(&j, "status", cli_exit_name((int)ev->code));
        break;
    default:
        break;
    }
    if (f & CLI_F_REASON)
        cli_json_str(&j, "reason", ev->reason ? ev->reason : "");
    if (cli_json_end(&j) == 0)
        emit(u);
    else
        cli_buf_clear(&u->out);
}

static void print(cli_ui *ui, enum cli_ui_style style, const char *text)
{
    (void)ui, (void)style, (void)text;
}

static void deliver(json_ui *u, const uint8_t *p, size_t n)
{
    if (n && p[n - 1] == '\r')
        n--;
    u->base.input.line(u->base.input.user, (const char *)p, n);
}

static void reject_long(json_ui *u)
{
    cli_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CLI_EV_REJECTED_INPUT;
    ev.reason = "line longer than 32768 bytes: not sent";
    event(&u->base, &ev);
}

static int readable(cli_ui *ui)
{
    json_ui *u = (json_ui *)ui;
    uint8_t chunk[16384];
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        if (u->in.len && !u->skipping)
            deliver(u, u->in.data, u->in.len);
        cli_buf_clear(&u->in);
        u->eof = 1;
        u->base.input.eof(u->base.input.user);
        return -1;
    }
    const uint8_t *p = chunk, *end = chunk + n;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *stop = nl ? nl : end;
        if (!u->skipping) {
            if (u->in.len + (size_t)(stop - p) > MAX_LINE) {
                u->skipping = 1;
                cli_buf_clear(&u->in);
                reject_long(u);
            } else if (cli_buf_append(&u->in, p, (size_t)(stop - p))) {
                u->skipping = 1;
                cli_buf_clear(&u->in);
                reject_long(u);
            }
        }
        if (nl) {
            if (!u->skipping)
                deliver(u, u->in.data ? u->in.data : (const uint8_t *)"", u->in.len);
            cli_buf_clear(&u->in);
            u->skipping = 0;
        }
        p = nl ? nl + 1 : end;
    }
    sodium_memzero(chunk, sizeof chunk);
    return 0;
}

static void set_prompt(cli_ui *ui, const char *prompt)
{
    (void)ui, (void)prompt;
}

static void resize(cli_ui *ui)
{
    (void)ui;
}

static int status(cli_ui *ui)
{
    return ((json_ui *)ui)->broken ? -1 : 0;
}

static void json_free(cli_ui *ui)
{
    json_ui *u = (json_ui *)ui;
    cli_buf_free(&u->in);
    cli_buf_free(&u->out);
    free(u);
}

static void suspend_resume(cli_ui *ui)
{
    (void)ui;
}

static const cli_ui_ops ops = {event,          print,          readable, set_prompt, resize,
                               suspend_resume, suspend_resume, status,   json_free};

cli_ui *cli_ui_json_new(const cli_ui_input *in)
{
    json_ui *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->base.ops = &ops;
    u->base.input = *in;
    return &u->base;
}
