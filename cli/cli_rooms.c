#include "cli_rooms.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_buf.h"
#include "cli_exit.h"
#include "cli_identity.h"
#include "cli_json.h"
#include "cli_store.h"
#include "cli_text.h"
#include "sc2_room.h"

typedef struct rooms_ctx {
    const char *dir;
    const cli_identity *id;
    int batch;
    int bad;
} rooms_ctx;

static const char *status_name(int s)
{
    return s == CLI_STORE_LEFT         ? "left"
           : s == CLI_STORE_REMOVED    ? "removed"
           : s == CLI_STORE_NEEDS_LINK ? "needs_link"
                                       : "active";
}

static void one(void *user, const char *room_text)
{
    rooms_ctx *x = user;
    cli_store_room s;
    sc2_room *r = NULL;
    char err[1400];
    memset(&s, 0, sizeof s);
    int rc = cli_store_load(x->dir, x->id->storage_key, room_text, &s, err, sizeof err);
    if (rc == 0) {
        sc2_room_config cfg = {x->id->sk, s.name, NULL};
        if (sc2_room_import(&r, &cfg, s.state.data, s.state.len) != 0) {
            snprintf(err, sizeof err, "%s/%s.state: the room state does not load (corrupt, or "
                     "another identity's)", x->dir, room_text);
            rc = -1;
        }
    }
    if (rc != 0) {
        x->bad = 1;
        if (x->batch) {
            cli_buf b = {0};
            cli_json j;
            cli_json_begin(&j, &b);
            cli_json_str(&j, "type", "room_error");
            cli_json_str(&j, "room", room_text);
            cli_json_str(&j, "reason", rc == 1 ? "vanished" : err);
            if (cli_json_end(&j) == 0)
                fwrite(b.data, 1, b.len, stdout);
            cli_buf_free(&b);
        }
        fprintf(stderr, "saltchat: %s\n", rc == 1 ? "a stored room vanished while listing" : err);
        goto fail;
    }
    size_t members = sc2_room_member_count(r);
    unsigned long long seq = (unsigned long long)sc2_room_seq(r);
    if (x->batch) {
        cli_buf b = {0};
        cli_json j;
        cli_json_begin(&j, &b);
        cli_json_str(&j, "type", "room");
        cli_json_str(&j, "room", room_text);
        cli_json_str(&j, "relay", s.base);
        cli_json_str(&j, "name", s.name);
        cli_json_str(&j, "status", status_name(s.status));
        cli_json_u64(&j, "members", members);
        cli_json_u64(&j, "seq", seq);
        cli_json_u64(&j, "pending", sc2_room_outbox_len(r));
        if (cli_json_end(&j) == 0)
            fwrite(b.data, 1, b.len, stdout);
        cli_buf_free(&b);
    } else {
        cli_buf n = {0};
        cli_text_sanitize(&n, (const uint8_t *)s.name, strlen(s.name), 0);
        cli_buf_append(&n, "", 1);
        printf("%s  %-8s %3zu member%s  seq %-6llu as %s  %s\n", room_text,
               status_name(s.status), members, members == 1 ? " " : "s", seq,
               (const char *)n.data, s.base);
        cli_buf_free(&n);
    }
fail:
    sc2_room_free(r);
    cli_store_room_wipe(&s);
}

int cli_rooms_run(const cli_args *a)
{
    char dir[PATH_MAX], store_dir[PATH_MAX], err[1400];
    cli_identity id;
    int created = 0, rc = CLI_EXIT_IDENTITY;
    memset(&id, 0, sizeof id);
    if (cli_identity_config_dir(a->config_dir, dir, sizeof dir, err, sizeof err) != 0 ||
        cli_identity_load(dir, &id, &created, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    rc = CLI_EXIT_STORE;
    if (cli_store_dir(a->data_dir, store_dir, sizeof store_dir, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    rooms_ctx x = {store_dir, &id, a->batch || !isatty(STDOUT_FILENO), 0};
    int n = cli_store_each(store_dir, one, &x, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "saltchat: %s\n", err);
        goto fail;
    }
    if (n == 0 && !x.batch)
        printf("No stored rooms in %s\n", store_dir);
    rc = fflush(stdout) != 0 ? CLI_EXIT_ERROR : x.bad ? CLI_EXIT_STORE : CLI_EXIT_OK;
fail:
    cli_identity_wipe(&id);
    return rc;
}
