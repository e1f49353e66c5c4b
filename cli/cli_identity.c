#include "cli_identity.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_buf.h"
#include "cli_file.h"

#define HEX_SK 128u
#define HEX_KEY 64u

int cli_identity_config_dir(const char *dir, char *out, size_t cap, char *err, size_t errcap)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;
    if (dir && *dir)
        n = snprintf(out, cap, "%s", dir);
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, cap, "%s/saltchat", xdg);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.config/saltchat", home);
    else {
        snprintf(err, errcap, "neither XDG_CONFIG_HOME nor HOME is set: pass --config DIR");
        return -1;
    }
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, errcap, "config directory path is too long");
        return -1;
    }
    return 0;
}

static int parse(const cli_buf *b, cli_identity *id)
{
    size_t hl = strlen(CLI_IDENTITY_HEADER);
    const char *p = (const char *)b->data;
    size_t n = b->len;
    if (n < hl + HEX_SK || memcmp(p, CLI_IDENTITY_HEADER, hl) != 0)
        return -1;
    p += hl;
    n -= hl;
    if (n != HEX_SK && !(n == HEX_SK + 1 && p[HEX_SK] == '\n'))
        return -1;
    size_t got = 0;
    if (sodium_hex2bin(id->sk, sizeof id->sk, p, HEX_SK, NULL, &got, NULL) != 0 ||
        got != sizeof id->sk)
        return -1;
    memcpy(id->pk, id->sk + 32, sizeof id->pk);
    /* an Ed25519 secret key is seed || pk: rebuild it from the seed and compare */
    uint8_t pk2[32], sk2[64];
    int rc = crypto_sign_seed_keypair(pk2, sk2, id->sk) == 0 &&
                     sodium_memcmp(sk2, id->sk, sizeof sk2) == 0 &&
                     sodium_memcmp(pk2, id->pk, sizeof pk2) == 0
                 ? 0
                 : -1;
    sodium_memzero(sk2, sizeof sk2);
    return rc;
}

static int parse_key(const cli_buf *b, uint8_t key[32])
{
    size_t hl = strlen(CLI_STORAGE_KEY_HEADER), got = 0;
    const char *p = (const char *)b->data;
    size_t n = b->len;
    if (n < hl + HEX_KEY || memcmp(p, CLI_STORAGE_KEY_HEADER, hl) != 0)
        return -1;
    p += hl;
    n -= hl;
    if (n != HEX_KEY && !(n == HEX_KEY + 1 && p[HEX_KEY] == '\n'))
        return -1;
    if (sodium_hex2bin(key, 32, p, HEX_KEY, NULL, &got, NULL) != 0 || got != 32)
        return -1;
    return 0;
}

/* Loads or creates the storage key at path (same rules as the identity). */
static int load_storage_key(const char *path, uint8_t key[32], char *err, size_t cap)
{
    char text[sizeof CLI_STORAGE_KEY_HEADER + HEX_KEY + 2];
    cli_buf b = {0};
    int rc = -1;
    size_t hl = strlen(CLI_STORAGE_KEY_HEADER);
    for (int tries = 0; tries < 2 && rc; tries++) {
        int r = cli_file_read_private(path, &b, 4096, err, cap);
        if (r == CLI_FILE_ERROR)
            goto fail;
        if (r == CLI_FILE_OK) {
            if (parse_key(&b, key) != 0) {
                snprintf(err, cap,
                         "%s is malformed (not a saltchat storage key): restore it from a "
                         "backup; without it the stored rooms cannot be read",
                         path);
                goto fail;
            }
            rc = 0;
            break;
        }
        randombytes_buf(key, 32);
        memcpy(text, CLI_STORAGE_KEY_HEADER, hl);
        sodium_bin2hex(text + hl, HEX_KEY + 1, key, 32);
        text[hl + HEX_KEY] = '\n';
        r = cli_file_write_private(path, text, hl + HEX_KEY + 1, 0, err, cap);
        if (r == CLI_FILE_ERROR)
            goto fail;
        if (r == CLI_FILE_OK)
            rc = 0;
        /* CLI_FILE_EXISTS: another saltchat created it meanwhile; read that one. */
    }
    if (rc)
        snprintf(err, cap, "cannot create %s: it keeps appearing and vanishing", path);
fail:
    sodium_memzero(text, sizeof text);
    cli_buf_free(&b);
    if (rc)
        sodium_memzero(key, 32);
    return rc;
}

static int create(const char *path, cli_identity *id, char *err, size_t cap)
{
    char text[sizeof CLI_IDENTITY_HEADER + HEX_SK + 2];
    uint8_t seed[32];
    int rc = -1;
    randombytes_buf(seed, sizeof seed);
    if (crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0) {
        snprintf(err, cap, "cannot generate an identity key");
        goto fail;
    }
    size_t hl = strlen(CLI_IDENTITY_HEADER);
    memcpy(text, CLI_IDENTITY_HEADER, hl);
    sodium_bin2hex(text + hl, HEX_SK + 1, id->sk, sizeof id->sk);
    text[hl + HEX_SK] = '\n';
    rc = cli_file_write_private(path, text, hl + HEX_SK + 1, 0, err, cap);
fail:
    sodium_memzero(text, sizeof text);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int cli_identity_load(const char *dir, cli_identity *id, int *created, char *err, size_t cap)
{
    char path[PATH_MAX];
    cli_buf b = {0};
    int rc = -1, done = 0;
    *created = 0;
    if (cli_file_private_dir(dir, err, cap) != CLI_FILE_OK)
        return -1;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, CLI_IDENTITY_FILE) >= sizeof path) {
        snprintf(err, cap, "config directory path is too long");
        return -1;
    }
    for (int tries = 0; tries < 2; tries++) {
        int r = cli_file_read_private(path, &b, 4096, err, cap);
        if (r == CLI_FILE_ERROR)
            goto fail;
        if (r == CLI_FILE_OK) {
            if (parse(&b, id) != 0) {
                snprintf(err, cap,
                         "%s is malformed (not a saltchat identity key): restore it from a "
                         "backup, or move it away to start with a new identity",
                         path);
                goto fail;
            }
            done = 1;
            break;
        }
        r = create(path, id, err, cap);
        if (r == CLI_FILE_ERROR)
            goto fail;
        if (r == CLI_FILE_OK) {
            *created = 1;
            done = 1;
            break;
        }
        /* CLI_FILE_EXISTS: another saltchat created it meanwhile; read that one. */
    }
    if (!done) {
        snprintf(err, cap, "cannot create %s: it keeps appearing and vanishing", path);
        goto fail;
    }
    cli_text_fingerprint(id->pk, id->fingerprint);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, CLI_STORAGE_KEY_FILE) >= sizeof path) {
        snprintf(err, cap, "config directory path is too long");
        goto fail;
    }
    if (load_storage_key(path, id->storage_key, err, cap) != 0)
        goto fail;
    rc = 0;
fail:
    cli_buf_free(&b);
    if (rc)
        cli_identity_wipe(id);
    return rc;
}

void cli_identity_wipe(cli_identity *id)
{
    sodium_memzero(id, sizeof *id);
}
