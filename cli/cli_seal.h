/* cli_seal: files sealed with the storage key and replaced atomically, one format for the
 * stored rooms (cli_store) and the verified marks (cli_verify):
 *   magic(4) || version u8 || nonce(24) || crypto_secretbox(storage key, plaintext)
 * Every error is one line naming the path, the problem and the fix (as cli_file's). */
#ifndef CLI_SEAL_H
#define CLI_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "cli_buf.h"

#define CLI_SEAL_OVERHEAD (4u + 1u + 24u + 16u) /* header and MAC around the plaintext */

/* Seals plain[0..n) with a fresh nonce and replaces path through cli_file_write_private
 * (mode 0600, temporary file, fsync, rename), then fsyncs dir (path's directory) so that
 * the rename survives a crash. what names the content for errors ("the room"). Returns 0,
 * or -1 with err. */
int cli_seal_write(const char *dir, const char *path, const char magic[4], uint8_t version,
                   const uint8_t key[32], const void *plain, size_t n, const char *what,
                   char *err, size_t cap);

/* Reads path (a private file of at most max_file bytes, as cli_file_read_private), checks
 * magic and version and opens it into plain (replacing its contents; the caller frees it
 * with cli_buf_free, which wipes it). kind names the file for errors ("room state");
 * lost, appended to the "does not decrypt" error, says what deleting the file costs
 * ("" for nothing). Returns CLI_FILE_OK, CLI_FILE_MISSING (no file; plain untouched), or
 * CLI_FILE_ERROR with err. */
int cli_seal_read(const char *path, const char magic[4], uint8_t version, const uint8_t key[32],
                  size_t max_file, cli_buf *plain, const char *kind, const char *lost, char *err,
                  size_t cap);

#endif
