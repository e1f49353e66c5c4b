#include "cli_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_buf.h"
#include "cli_file.h"
#include "cli_seal.h"

#define MAGIC "SCVF"
#define VERSION 1u
#define ROOM_CHARS 22u
#define MAX_FILE (CLI_SEAL_OVERHEAD + ROOM_CHARS + CLI_VERIFY_MAX * (32u + 1u + CLI_VERIFY_NAME_MAX))

static int room_ok(const char *s)
{
    if (strlen(s) != ROOM_CHARS)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static int path_of(char *out, size_t cap, const char *dir, const char *room, char *err,
                   size_t errcap)
{
    if (!room_ok(room)) {
        snprintf(err, errcap, "'%.40s' is not a room id", room);
        return -1;
    }
    if ((size_t)snprintf(out, cap, "%s/%s.verified", dir, room) >= cap) {
        snprintf(err, errcap, "data directory path is too long");
        return -1;
    }
    return 0;
}

int cli_verify_is(const cli_verify *v, const uint8_t identity[32])
{
    for (size_t i = 0; i < v->n; i++)
        if (sodium_memcmp(v->m[i].identity, identity, 32) == 0)
            return 1;
    return 0;
}

int cli_verify_add(cli_verify *v, const char *name, const uint8_t identity[32])
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > CLI_VERIFY_NAME_MAX)
        return -1;
    for (size_t i = 0; i < v->n; i++)
        if (sodium_memcmp(v->m[i].identity, identity, 32) == 0 && strcmp(v->m[i].name, name) == 0)
            return 1;
    if (v->n >= CLI_VERIFY_MAX)
        return -1;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        cli_verify_mark *m = calloc(cap, sizeof *m);
        if (!m)
            return -1;
        if (v->n)
            memcpy(m, v->m, v->n * sizeof *m);
        if (v->m) {
            sodium_memzero(v->m, v->cap * sizeof *v->m);
            free(v->m);
        }
        v->m = m;
        v->cap = cap;
    }
    memcpy(v->m[v->n].identity, identity, 32);
    memcpy(v->m[v->n].name, name, nl + 1);
    v->n++;
    return 0;
}

size_t cli_verify_remove(cli_verify *v, const uint8_t identity[32])
{
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (sodium_memcmp(v->m[i].identity, identity, 32) == 0) {
            gone++;
            continue;
        }
        if (k != i)
            v->m[k] = v->m[i];
        k++;
    }
    if (gone)
        sodium_memzero(v->m + k, gone * sizeof *v->m);
    v->n = k;
    return gone;
}

const uint8_t *cli_verify_broken(const cli_verify *v, const char *name,
                                 const uint8_t identity[32])
{
    if (!name || !identity || cli_verify_is(v, identity))
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->m[i].name, name) == 0)
            return v->m[i].identity;
    return NULL;
}

void cli_verify_free(cli_verify *v)
{
    if (v->m) {
        sodium_memzero(v->m, v->cap * sizeof *v->m);
        free(v->m);
    }
    v->m = NULL;
    v->n = v->cap = 0;
}

int cli_verify_save(const char *dir, const uint8_t key[32], const char *room,
                    const cli_verify *v, char *err, size_t cap)
{
    char path[PATH_MAX];
    cli_buf p = {0};
    int rc = -1;
    if (path_of(path, sizeof path, dir, room, err, cap))
        goto fail;
    if (cli_buf_append(&p, room, ROOM_CHARS))
        goto oom;
    for (size_t i = 0; i < v->n; i++) {
        uint8_t nl = (uint8_t)strlen(v->m[i].name);
        if (cli_buf_append(&p, v->m[i].identity, 32) || cli_buf_append(&p, &nl, 1) ||
            cli_buf_append(&p, v->m[i].name, nl))
            goto oom;
    }
    rc = cli_seal_write(dir, path, MAGIC, VERSION, key, p.data, p.len, "the verified members",
                        err, cap);
    goto fail;
oom:
    snprintf(err, cap, "cannot store the verified members: out of memory");
fail:
    cli_buf_free(&p);
    return rc;
}

int cli_verify_load(const char *dir, const uint8_t key[32], const char *room, cli_verify *v,
                    char *err, size_t cap)
{
    char path[PATH_MAX];
    cli_buf p = {0};
    cli_verify got = {0};
    int rc = -1;
    if (path_of(path, sizeof path, dir, room, err, cap))
        return -1;
    int r = cli_seal_read(path, MAGIC, VERSION, key, MAX_FILE, &p, "verified-members",
                          " (the marks are lost)", err, cap);
    if (r == CLI_FILE_MISSING) {
        cli_verify_free(v);
        rc = 0;
        goto fail;
    }
    if (r != CLI_FILE_OK)
        goto fail;
    if (p.len < ROOM_CHARS || memcmp(p.data, room, ROOM_CHARS) != 0)
        goto corrupt;
    for (size_t off = ROOM_CHARS; off < p.len;) {
        char name[CLI_VERIFY_NAME_MAX + 1];
        if (p.len - off < 33)
            goto corrupt;
        size_t nl = p.data[off + 32];
        if (nl == 0 || nl > CLI_VERIFY_NAME_MAX || p.len - off - 33 < nl ||
            memchr(p.data + off + 33, 0, nl))
            goto corrupt;
        memcpy(name, p.data + off + 33, nl);
        name[nl] = '\0';
        if (cli_verify_add(&got, name, p.data + off) < 0)
            goto corrupt;
        off += 33 + nl;
    }
    cli_verify_free(v);
    *v = got;
    got.m = NULL;
    rc = 0;
    goto fail;
corrupt:
    snprintf(err, cap, "%s is corrupt (not the verified members of room %s)", path, room);
fail:
    cli_verify_free(&got);
    cli_buf_free(&p);
    return rc;
}
