#include "cli_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_file.h"
#include "cli_seal.h"

#define MAGIC "SCST"
#define VERSION 1u

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8u * (n - 1u - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int room_text_ok(const char *s)
{
    if (strlen(s) != CLI_STORE_ROOM_CHARS)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static int path_of(char *out, size_t cap, const char *dir, const char *room, const char *ext,
                   char *err, size_t errcap)
{
    if ((size_t)snprintf(out, cap, "%s/%s.%s", dir, room, ext) >= cap) {
        snprintf(err, errcap, "data directory path is too long");
        return -1;
    }
    return 0;
}

int cli_store_dir(const char *data_dir, char *out, size_t cap, char *err, size_t errcap)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char base[PATH_MAX];
    int n;
    if (data_dir && *data_dir)
        n = snprintf(base, sizeof base, "%s", data_dir);
    else if (xdg && xdg[0] == '/')
        n = snprintf(base, sizeof base, "%s/saltchat", xdg);
    else if (home && *home)
        n = snprintf(base, sizeof base, "%s/.local/share/saltchat", home);
    else {
        snprintf(err, errcap, "neither XDG_DATA_HOME nor HOME is set: pass --data DIR");
        return -1;
    }
    if (n < 0 || (size_t)n >= sizeof base ||
        (size_t)snprintf(out, cap, "%s/rooms", base) >= cap) {
        snprintf(err, errcap, "data directory path is too long");
        return -1;
    }
    if (cli_file_private_dir(base, err, errcap) != CLI_FILE_OK ||
        cli_file_private_dir(out, err, errcap) != CLI_FILE_OK)
        return -1;
    return 0;
}

int cli_store_save(const char *dir, const uint8_t key[32], const cli_store_room *r, char *err,
                   size_t cap)
{
    char path[PATH_MAX];
    cli_buf p = {0};
    int rc = -1;
    size_t nl = strlen(r->name), bl = strlen(r->base);
    uint8_t hdr[CLI_STORE_ROOM_CHARS + 2], len16[2], len32[4];
    if (!room_text_ok(r->room) || nl > 64 || bl > 0xffffu) {
        snprintf(err, cap, "cannot store the room: invalid room id, name or relay URL");
        goto fail;
    }
    if (path_of(path, sizeof path, dir, r->room, "state", err, cap))
        goto fail;
    memcpy(hdr, r->room, CLI_STORE_ROOM_CHARS);
    hdr[CLI_STORE_ROOM_CHARS] = (uint8_t)r->status;
    hdr[CLI_STORE_ROOM_CHARS + 1] = (uint8_t)nl;
    put_be(len16, bl, 2);
    put_be(len32, r->state.len, 4);
    if (r->state.len > CLI_STORE_MAX_STATE) {
        snprintf(err, cap, "cannot store the room: its state is too large");
        goto fail;
    }
    if (cli_buf_append(&p, hdr, sizeof hdr) || cli_buf_append(&p, r->name, nl) ||
        cli_buf_append(&p, len16, 2) || cli_buf_append(&p, r->base, bl) ||
        cli_buf_append(&p, len32, 4) ||
        cli_buf_append(&p, r->state.data ? r->state.data : (const uint8_t *)"", r->state.len) ||
        cli_buf_append(&p, r->own.data ? r->own.data : (const uint8_t *)"", r->own.len)) {
        snprintf(err, cap, "cannot store the room: out of memory");
        goto fail;
    }
    rc = cli_seal_write(dir, path, MAGIC, VERSION, key, p.data, p.len, "the room", err, cap);
fail:
    cli_buf_free(&p);
    return rc;
}

int cli_store_load(const char *dir, const uint8_t key[32], const char *room, cli_store_room *r,
                   char *err, size_t cap)
{
    char path[PATH_MAX];
    cli_buf p = {0};
    int rc = -1;
    if (!room_text_ok(room)) {
        snprintf(err, cap, "'%.40s' is not a room id", room);
        return -1;
    }
    if (path_of(path, sizeof path, dir, room, "state", err, cap))
        return -1;
    int got = cli_seal_read(path, MAGIC, VERSION, key, CLI_STORE_MAX_STATE, &p, "room state", "",
                            err, cap);
    if (got == CLI_FILE_MISSING) {
        rc = 1;
        goto fail;
    }
    if (got != CLI_FILE_OK)
        goto fail;
    size_t off = CLI_STORE_ROOM_CHARS + 2;
    if (p.len < off + 2 || memcmp(p.data, room, CLI_STORE_ROOM_CHARS) != 0 ||
        p.data[CLI_STORE_ROOM_CHARS] > CLI_STORE_NEEDS_LINK ||
        p.data[CLI_STORE_ROOM_CHARS + 1] > 64)
        goto corrupt;
    size_t nl = p.data[CLI_STORE_ROOM_CHARS + 1];
    if (p.len < off + nl + 2)
        goto corrupt;
    size_t bl = (size_t)get_be(p.data + off + nl, 2);
    if (bl >= sizeof r->base || p.len < off + nl + 2 + bl)
        goto corrupt;
    memcpy(r->room, room, CLI_STORE_ROOM_CHARS + 1);
    r->status = p.data[CLI_STORE_ROOM_CHARS];
    memcpy(r->name, p.data + off, nl);
    r->name[nl] = '\0';
    memcpy(r->base, p.data + off + nl + 2, bl);
    r->base[bl] = '\0';
    off += nl + 2 + bl;
    if (p.len < off + 4)
        goto corrupt;
    size_t sl = (size_t)get_be(p.data + off, 4);
    off += 4;
    if (sl > p.len - off)
        goto corrupt;
    cli_buf_clear(&r->state);
    cli_buf_clear(&r->own);
    if (cli_buf_append(&r->state, p.data + off, sl) ||
        cli_buf_append(&r->own, p.data + off + sl, p.len - off - sl)) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    size_t o = 0;
    uint64_t tk;
    const uint8_t *tx;
    size_t tl;
    int k;
    while ((k = cli_store_own_next(&r->own, &o, &tk, &tx, &tl)) == 1)
        ;
    if (k < 0)
        goto corrupt;
    rc = 0;
    goto fail;
corrupt:
    snprintf(err, cap, "%s is corrupt (its contents are not a stored room %s)", path, room);
fail:
    cli_buf_free(&p);
    return rc;
}

int cli_store_own_add(cli_buf *own, uint64_t token, const uint8_t *text, size_t len)
{
    uint8_t h[12];
    if (len > 0xffffffffu)
        return -1;
    put_be(h, token, 8);
    put_be(h + 8, len, 4);
    if (cli_buf_reserve(own, sizeof h + len, 0))
        return -1;
    cli_buf_append(own, h, sizeof h);
    cli_buf_append(own, text, len);
    return 0;
}

int cli_store_own_next(const cli_buf *own, size_t *off, uint64_t *token, const uint8_t **text,
                       size_t *len)
{
    if (*off == own->len)
        return 0;
    if (own->len - *off < 12)
        return -1;
    size_t l = (size_t)get_be(own->data + *off + 8, 4);
    if (l > own->len - *off - 12)
        return -1;
    *token = get_be(own->data + *off, 8);
    *text = own->data + *off + 12;
    *len = l;
    *off += 12 + l;
    return 1;
}

void cli_store_room_wipe(cli_store_room *r)
{
    cli_buf_free(&r->state);
    cli_buf_free(&r->own);
    sodium_memzero(r, sizeof *r);
}

typedef struct names {
    char (*v)[CLI_STORE_ROOM_CHARS + 1];
    size_t n, cap;
} names;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Room id texts of dir's *.state files, sorted. */
static int list(const char *dir, names *out, char *err, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    memset(out, 0, sizeof *out);
    if (!d) {
        snprintf(err, cap, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l != CLI_STORE_ROOM_CHARS + 6 || strcmp(e->d_name + CLI_STORE_ROOM_CHARS, ".state"))
            continue;
        if (out->n == out->cap) {
            size_t nc = out->cap ? 2 * out->cap : 16;
            void *nv = realloc(out->v, nc * sizeof *out->v);
            if (!nv) {
                closedir(d);
                free(out->v);
                snprintf(err, cap, "out of memory");
                return -1;
            }
            out->v = nv;
            out->cap = nc;
        }
        memcpy(out->v[out->n], e->d_name, CLI_STORE_ROOM_CHARS);
        out->v[out->n][CLI_STORE_ROOM_CHARS] = '\0';
        if (room_text_ok(out->v[out->n]))
            out->n++;
    }
    closedir(d);
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_names);
    return 0;
}

int cli_store_find(const char *dir, const char *prefix, char out[CLI_STORE_ROOM_CHARS + 1],
                   char *err, size_t cap)
{
    names l;
    size_t pl = strlen(prefix), found = 0;
    if (pl == 0) {
        snprintf(err, cap, "empty room id");
        return -1;
    }
    if (list(dir, &l, err, cap))
        return -1;
    for (size_t i = 0; i < l.n; i++)
        if (!strncmp(l.v[i], prefix, pl) && found++ == 0)
            memcpy(out, l.v[i], CLI_STORE_ROOM_CHARS + 1);
    free(l.v);
    if (found > 1) {
        snprintf(err, cap, "'%.40s' matches %zu stored rooms: give more of the room id", prefix,
                 found);
        return -1;
    }
    return found ? 0 : 1;
}

int cli_store_each(const char *dir, void (*fn)(void *user, const char *room), void *user,
                   char *err, size_t cap)
{
    names l;
    if (list(dir, &l, err, cap))
        return -1;
    for (size_t i = 0; i < l.n; i++)
        fn(user, l.v[i]);
    free(l.v);
    return (int)l.n;
}
