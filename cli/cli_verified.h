/* cli_verified: identity keys the user has verified (compared safety numbers), kept in
 * DIR/verified (mode 0600), one per line:
 *   <public key, 64 hex digits> <fingerprint, 30 digits> <name as it was then>
 * Lines starting with '#' and empty lines are ignored. */
#ifndef CLI_VERIFIED_H
#define CLI_VERIFIED_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "sc_identity.h"
#include "sc_session.h"

#define CLI_VERIFIED_FILE "verified"
#define CLI_VERIFIED_MAX 10000u

typedef struct cli_verified_entry {
    uint8_t pk[SC_IDENTITY_PK_BYTES];
    char name[4 * SC_SESSION_MAX_NAME + 1]; /* sanitized for display */
} cli_verified_entry;

typedef struct cli_verified {
    char path[PATH_MAX];
    cli_verified_entry *items; /* heap */
    size_t n;
} cli_verified;

/* Loads DIR/verified (a missing file is an empty store). Returns 0, or -1 with a
 * one-line message in err (unreadable, too open, malformed line). */
int cli_verified_load(cli_verified *v, const char *dir, char *err, size_t cap);

/* Returns 1 if pk is verified, else 0. */
int cli_verified_has(const cli_verified *v, const uint8_t pk[SC_IDENTITY_PK_BYTES]);

/* Returns the entry verified under this display name with a key other than pk, or NULL:
 * someone now uses the name of a person you verified, with another key. */
const cli_verified_entry *cli_verified_name_clash(const cli_verified *v, const char *name,
                                                  const uint8_t pk[SC_IDENTITY_PK_BYTES]);

/* Marks pk verified (add = 1) or not (add = 0) and rewrites the file, first merging
 * changes another saltchat process made. Returns 0, or -1 with err. */
int cli_verified_set(cli_verified *v, const uint8_t pk[SC_IDENTITY_PK_BYTES], const char *name,
                     int add, char *err, size_t cap);

void cli_verified_free(cli_verified *v);

#endif
