#include "cli_verified.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_buf.h"
#include "cli_file.h"
#include "cli_text.h"

#define HEX_PK (2 * SC_IDENTITY_PK_BYTES)

static int find(const cli_verified *v, const uint8_t *pk)
{
    for (size_t i = 0; i < v->n; i++)
        if (sodium_memcmp(v->items[i].pk, pk, SC_IDENTITY_PK_BYTES) == 0)
            return (int)i;
    return -1;
}

static void set_name(cli_verified_entry *e, const char *name, size_t n)
{
    cli_buf b = {0};
    e->name[0] = '\0';
    if (cli_text_sanitize(&b, (const uint8_t *)name, n, 0) == 0 && b.len < sizeof e->name) {
        memcpy(e->name, b.data, b.len);
        e->name[b.len] = '\0';
    }
    cli_buf_free(&b);
}

static int push(cli_verified *v, const uint8_t *pk, const char *name, size_t name_len)
{
    if (v->n >= CLI_VERIFIED_MAX)
        return -1;
    cli_verified_entry *items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (!items)
        return -1;
    v->items = items;
    memcpy(items[v->n].pk, pk, SC_IDENTITY_PK_BYTES);
    set_name(&items[v->n], name, name_len);
    v->n++;
    return 0;
}

/* Parses the file into v (which must be empty). */
static int parse(cli_verified *v, const cli_buf *b, char *err, size_t cap)
{
    const char *p = (const char *)b->data, *end = p + b->len;
    for (unsigned line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t n = (size_t)(eol - p);
        if (n > 0 && p[0] != '#') {
            uint8_t pk[SC_IDENTITY_PK_BYTES];
            size_t got = 0;
            const char *name = p + HEX_PK + 1 + SC_IDENTITY_FINGERPRINT_CHARS;
            if (n < HEX_PK + 1 + SC_IDENTITY_FINGERPRINT_CHARS || p[HEX_PK] != ' ' ||
                sodium_hex2bin(pk, sizeof pk, p, HEX_PK, NULL, &got, NULL) != 0 ||
                got != sizeof pk) {
                snprintf(err, cap,
                         "%s line %u is malformed (want: 64 hex digits, fingerprint, name): "
                         "fix or delete that line",
                         v->path, line);
                return -1;
            }
            if (name < eol && *name == ' ')
                name++;
            if (find(v, pk) < 0 && push(v, pk, name, (size_t)(eol > name ? eol - name : 0))) {
                snprintf(err, cap, "%s: too many entries or out of memory", v->path);
                return -1;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static int reload(cli_verified *v, char *err, size_t cap)
{
    cli_buf b = {0};
    int rc = -1;
    free(v->items);
    v->items = NULL;
    v->n = 0;
    int r = cli_file_read_private(v->path, &b, (size_t)CLI_VERIFIED_MAX * 512, err, cap);
    if (r == CLI_FILE_ERROR)
        goto fail;
    if (r == CLI_FILE_OK && parse(v, &b, err, cap))
        goto fail;
    rc = 0;
fail:
    cli_buf_free(&b);
    return rc;
}

int cli_verified_load(cli_verified *v, const char *dir, char *err, size_t cap)
{
    memset(v, 0, sizeof *v);
    if ((size_t)snprintf(v->path, sizeof v->path, "%s/%s", dir, CLI_VERIFIED_FILE) >=
        sizeof v->path) {
        snprintf(err, cap, "config directory path is too long");
        return -1;
    }
    return reload(v, err, cap);
}

int cli_verified_has(const cli_verified *v, const uint8_t pk[SC_IDENTITY_PK_BYTES])
{
    return find(v, pk) >= 0;
}

const cli_verified_entry *cli_verified_name_clash(const cli_verified *v, const char *name,
                                                  const uint8_t pk[SC_IDENTITY_PK_BYTES])
{
    cli_verified_entry probe;
    if (!name || !*name)
        return NULL;
    set_name(&probe, name, strlen(name));
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->items[i].name, probe.name) == 0 &&
            sodium_memcmp(v->items[i].pk, pk, SC_IDENTITY_PK_BYTES) != 0)
            return &v->items[i];
    return NULL;
}

int cli_verified_set(cli_verified *v, const uint8_t pk[SC_IDENTITY_PK_BYTES], const char *name,
                     int add, char *err, size_t cap)
{
    cli_buf out = {0};
    int rc = -1;
    if (reload(v, err, cap))
        return -1;
    int i = find(v, pk);
    if (add && i < 0 && push(v, pk, name ? name : "", name ? strlen(name) : 0)) {
        snprintf(err, cap, "%s: too many entries or out of memory", v->path);
        return -1;
    }
    if (!add && i >= 0)
        v->items[i] = v->items[--v->n];
    if (cli_buf_puts(&out, "# saltchat verified identities: public key, fingerprint, name\n"))
        goto oom;
    for (size_t k = 0; k < v->n; k++) {
        char hex[HEX_PK + 1], fp[SC_IDENTITY_FINGERPRINT_CHARS + 1];
        sodium_bin2hex(hex, sizeof hex, v->items[k].pk, SC_IDENTITY_PK_BYTES);
        sc_identity_fingerprint(v->items[k].pk, fp);
        if (cli_buf_printf(&out, "%s %s %s\n", hex, fp, v->items[k].name))
            goto oom;
    }
    if (cli_file_write_private(v->path, out.data, out.len, 1, err, cap) != CLI_FILE_OK)
        goto fail;
    rc = 0;
    goto fail;
oom:
    snprintf(err, cap, "out of memory writing %s", v->path);
fail:
    cli_buf_free(&out);
    return rc;
}

void cli_verified_free(cli_verified *v)
{
    free(v->items);
    v->items = NULL;
    v->n = 0;
}
