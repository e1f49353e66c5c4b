#include "cli_seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_file.h"

#define NONCE crypto_secretbox_NONCEBYTES
#define MAC crypto_secretbox_MACBYTES
#define HEAD (4u + 1u + NONCE)

int cli_seal_write(const char *dir, const char *path, const char magic[4], uint8_t version,
                   const uint8_t key[32], const void *plain, size_t n, const char *what,
                   char *err, size_t cap)
{
    cli_buf f = {0};
    int rc = -1, dfd = -1;
    if (cli_buf_reserve(&f, HEAD + MAC + n, 0)) {
        snprintf(err, cap, "cannot store %s: out of memory", what);
        goto fail;
    }
    memcpy(f.data, magic, 4);
    f.data[4] = version;
    randombytes_buf(f.data + 5, NONCE);
    crypto_secretbox_easy(f.data + HEAD, plain, n, f.data + 5, key);
    f.len = HEAD + MAC + n;
    if (cli_file_write_private(path, f.data, f.len, 1, err, cap) != CLI_FILE_OK)
        goto fail;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        snprintf(err, cap, "cannot sync directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    rc = 0;
fail:
    if (dfd >= 0)
        close(dfd);
    cli_buf_free(&f);
    return rc;
}

int cli_seal_read(const char *path, const char magic[4], uint8_t version, const uint8_t key[32],
                  size_t max_file, cli_buf *plain, const char *kind, const char *lost, char *err,
                  size_t cap)
{
    cli_buf f = {0};
    int rc = cli_file_read_private(path, &f, max_file, err, cap);
    if (rc != CLI_FILE_OK)
        goto fail;
    rc = CLI_FILE_ERROR;
    if (f.len < HEAD + MAC || memcmp(f.data, magic, 4) != 0 || f.data[4] != version) {
        snprintf(err, cap, "%s is not a saltchat %s file (version %u)", path, kind, version);
        goto fail;
    }
    cli_buf_clear(plain);
    if (cli_buf_reserve(plain, f.len - HEAD - MAC, 0)) {
        snprintf(err, cap, "cannot read %s: out of memory", path);
        goto fail;
    }
    if (crypto_secretbox_open_easy(plain->data, f.data + HEAD, f.len - HEAD, f.data + 5, key)) {
        snprintf(err, cap,
                 "%s does not decrypt: it is corrupt, or was written with another storage key; "
                 "restore it from a backup or delete it%s",
                 path, lost);
        goto fail;
    }
    plain->len = f.len - HEAD - MAC;
    rc = CLI_FILE_OK;
fail:
    cli_buf_free(&f);
    return rc;
}
