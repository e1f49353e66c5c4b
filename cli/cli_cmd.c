#include "cli_cmd.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_buf.h"
#include "cli_text.h"
#include "sc_identity.h"

#define MAX_MEMBERS 4096

static const char help[] =
    "Type a line and press Enter to send it to everyone in the room.\n"
    "  /who            list the members, their fingerprints and whether you verified them\n"
    "  /verify NAME    show your safety number with NAME (or a member id) and mark NAME\n"
    "                  verified once you have compared it with them, e.g. by phone\n"
    "  /unverify NAME  forget that you verified NAME\n"
    "  /help           this text\n"
    "  /quit           leave the room (also Ctrl-D); Ctrl-C leaves at once\n"
    "  //text          send a line starting with '/'\n"
    "Marks after names: \xe2\x9c\x93 (or +) verified, ? not verified.";

static void display_name(cli_buf *b, const char *name, uint64_t id)
{
    char hex[CLI_TEXT_ID_CHARS + 1];
    cli_text_id(id, hex);
    if (name && *name)
        cli_text_sanitize(b, (const uint8_t *)name, strlen(name), 0);
    else
        cli_buf_printf(b, "member-%s", hex);
}

static void who(cli_cmd *c)
{
    uint64_t ids[MAX_MEMBERS];
    size_t n = sc_session_members(c->session, ids, MAX_MEMBERS);
    if (n > MAX_MEMBERS)
        n = MAX_MEMBERS;
    if (!sc_session_connected(c->session)) {
        cli_ui_printf(c->ui, CLI_UI_WARN, "not connected to the relay right now");
        return;
    }
    cli_ui_printf(c->ui, CLI_UI_INFO, "%zu other member%s in the room:", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        cli_buf line = {0};
        char hex[CLI_TEXT_ID_CHARS + 1], fp[SC_IDENTITY_FINGERPRINT_CHARS + 1], groups[36];
        const uint8_t *pk = sc_session_member_identity(c->session, ids[i]);
        cli_text_id(ids[i], hex);
        cli_buf_puts(&line, "  ");
        display_name(&line, pk ? sc_session_member_name(c->session, ids[i]) : NULL, ids[i]);
        cli_buf_printf(&line, "  (member %s)  ", hex);
        if (pk) {
            sc_identity_fingerprint(pk, fp);
            cli_text_fingerprint_groups(fp, groups);
            cli_buf_printf(&line, "%s  %s", groups,
                           cli_verified_has(c->verified, pk) ? "verified" : "NOT verified");
        } else {
            cli_buf_puts(&line, "handshake in progress");
        }
        cli_buf_append(&line, "", 1);
        cli_ui_printf(c->ui, CLI_UI_INFO, "%s", (const char *)line.data);
        cli_buf_free(&line);
    }
}

/* Finds the authenticated member called arg (a name, or a member id in hex). Returns
 * its id, or 0 after explaining why not. */
static uint64_t find_member(cli_cmd *c, const char *arg)
{
    uint64_t ids[MAX_MEMBERS], found = 0, by_id = 0;
    size_t n = sc_session_members(c->session, ids, MAX_MEMBERS), matches = 0;
    if (n > MAX_MEMBERS)
        n = MAX_MEMBERS;
    if (cli_text_parse_id(arg, &by_id) != 0)
        by_id = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = sc_session_member_name(c->session, ids[i]);
        char hex[CLI_TEXT_ID_CHARS + 1];
        cli_text_id(ids[i], hex);
        int id_match = by_id && strlen(arg) >= 4 && !strncmp(hex, arg, strlen(arg));
        if ((name && sc_session_member_identity(c->session, ids[i]) && !strcmp(name, arg)) ||
            id_match) {
            found = ids[i];
            matches++;
        }
    }
    if (matches == 1 && sc_session_member_identity(c->session, found))
        return found;
    if (matches > 1)
        cli_ui_printf(c->ui, CLI_UI_WARN,
                      "several members match '%s': use a member id from /who instead", arg);
    else if (matches == 1)
        cli_ui_printf(c->ui, CLI_UI_WARN, "'%s' has not finished its handshake yet", arg);
    else
        cli_ui_printf(c->ui, CLI_UI_WARN, "no member called '%s' here (see /who)", arg);
    return 0;
}

static void verify(cli_cmd *c, const char *arg, int add)
{
    if (!*arg) {
        cli_ui_printf(c->ui, CLI_UI_WARN, "usage: /%s NAME", add ? "verify" : "unverify");
        return;
    }
    uint64_t m = find_member(c, arg);
    if (!m)
        return;
    const uint8_t *pk = sc_session_member_identity(c->session, m);
    const char *name = sc_session_member_name(c->session, m);
    cli_buf shown = {0};
    display_name(&shown, name, m);
    cli_buf_append(&shown, "", 1);
    if (!add) {
        char err[512];
        if (cli_verified_set(c->verified, pk, name, 0, err, sizeof err) != 0)
            cli_ui_printf(c->ui, CLI_UI_ERROR, "%s", err);
        else
            cli_ui_printf(c->ui, CLI_UI_INFO, "%s is no longer marked verified",
                          (const char *)shown.data);
        cli_buf_free(&shown);
        return;
    }
    char safety[SC_IDENTITY_SAFETY_CHARS + 1];
    if (sc_session_safety_number(c->session, m, safety, sizeof safety) != 0) {
        cli_ui_printf(c->ui, CLI_UI_ERROR, "cannot compute the safety number for %s",
                      (const char *)shown.data);
        cli_buf_free(&shown);
        return;
    }
    cli_ui_printf(c->ui, CLI_UI_INFO,
                  "Safety number with %s:\n    %.35s\n    %s\n"
                  "Compare it with %s over another channel (in person, by phone). "
                  "Both of you see the same number.",
                  (const char *)shown.data, safety, safety + 36, (const char *)shown.data);
    c->pending = m;
    memcpy(c->pending_pk, pk, sizeof c->pending_pk);
    snprintf(c->pending_name, sizeof c->pending_name, "%s", name ? name : "");
    cli_buf_free(&shown);
}

static void answer(cli_cmd *c, const char *line)
{
    uint64_t m = c->pending;
    c->pending = 0;
    if (strcmp(line, "y") && strcmp(line, "yes") && strcmp(line, "Y")) {
        cli_ui_printf(c->ui, CLI_UI_INFO, "not marked verified");
        return;
    }
    const uint8_t *pk = sc_session_member_identity(c->session, m);
    if (!pk || sodium_memcmp(pk, c->pending_pk, 32) != 0) {
        cli_ui_printf(c->ui, CLI_UI_WARN, "that member left or reconnected: run /verify again");
        return;
    }
    char err[512];
    if (cli_verified_set(c->verified, pk, c->pending_name, 1, err, sizeof err) != 0) {
        cli_ui_printf(c->ui, CLI_UI_ERROR, "%s", err);
        return;
    }
    cli_buf shown = {0};
    display_name(&shown, c->pending_name, m);
    cli_buf_append(&shown, "", 1);
    cli_ui_printf(c->ui, CLI_UI_GOOD, "%s is now marked verified (remembered in %s)",
                  (const char *)shown.data, c->verified->path);
    cli_buf_free(&shown);
}

const char *cli_cmd_prompt(const cli_cmd *c)
{
    return c->pending ? "mark verified? [y/N] " : NULL;
}

void cli_cmd_cancel(cli_cmd *c, uint64_t member)
{
    if (c->pending && (member == 0 || member == c->pending)) {
        c->pending = 0;
        cli_ui_printf(c->ui, CLI_UI_WARN, "verification cancelled: the member is gone");
    }
}

static int is_cmd(const char *line, size_t len, const char *name, const char **arg)
{
    size_t n = strlen(name);
    if (len < n || strncmp(line, name, n) != 0 || (len > n && line[n] != ' '))
        return 0;
    *arg = line + n;
    while (**arg == ' ')
        (*arg)++;
    return 1;
}

enum cli_cmd_result cli_cmd_line(cli_cmd *c, const char *line, size_t len, const char **text,
                                 size_t *text_len)
{
    const char *arg;
    if (c->pending) {
        answer(c, line);
        return CLI_CMD_DONE;
    }
    *text = line;
    *text_len = len;
    if (len == 0)
        return CLI_CMD_DONE;
    if (line[0] != '/')
        return CLI_CMD_TEXT;
    if (len >= 2 && line[1] == '/') {
        *text = line + 1;
        *text_len = len - 1;
        return CLI_CMD_TEXT;
    }
    if (is_cmd(line, len, "/quit", &arg) || is_cmd(line, len, "/exit", &arg))
        return CLI_CMD_QUIT;
    if (is_cmd(line, len, "/who", &arg))
        who(c);
    else if (is_cmd(line, len, "/verify", &arg))
        verify(c, arg, 1);
    else if (is_cmd(line, len, "/unverify", &arg))
        verify(c, arg, 0);
    else if (is_cmd(line, len, "/help", &arg))
        cli_ui_printf(c->ui, CLI_UI_INFO, "%s", help);
    else
        cli_ui_printf(c->ui, CLI_UI_WARN, "unknown command '%.*s': try /help", (int)len, line);
    return CLI_CMD_DONE;
}
