/* cli_file: private files in the config directory (owner-only permissions, atomic
 * replacement). Every error comes back as one line naming the path, the problem and
 * the fix. */
#ifndef CLI_FILE_H
#define CLI_FILE_H

#include <stddef.h>

#include "cli_buf.h"

#define CLI_FILE_OK 0
#define CLI_FILE_MISSING 1 /* read: the file does not exist */
#define CLI_FILE_EXISTS 2  /* create: another process created it first */
#define CLI_FILE_ERROR (-1)

/* Creates dir (and missing parents) with mode 0700, or checks an existing one: it must
 * be a directory owned by this user and not writable by group or others. Returns
 * CLI_FILE_OK or CLI_FILE_ERROR with err. */
int cli_file_private_dir(const char *dir, char *err, size_t cap);

/* Reads path into out (replacing its contents), at most max bytes. The file must be a
 * regular file (symlinks refused) owned by this user with no group/other permission.
 * Returns CLI_FILE_OK, CLI_FILE_MISSING, or CLI_FILE_ERROR with err. */
int cli_file_read_private(const char *path, cli_buf *out, size_t max, char *err, size_t cap);

/* Writes data to path with mode 0600 through a temporary file in the same directory.
 * replace = 0: fails with CLI_FILE_EXISTS if path exists (never clobbers); replace = 1:
 * atomically replaces it. Returns CLI_FILE_OK, CLI_FILE_EXISTS or CLI_FILE_ERROR. */
int cli_file_write_private(const char *path, const void *data, size_t n, int replace, char *err,
                           size_t cap);

#endif
