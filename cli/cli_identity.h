/* cli_identity: where saltchat keeps its files, and the long-term identity key in
 * DIR/identity (mode 0600, created on first use). */
#ifndef CLI_IDENTITY_H
#define CLI_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "sc_identity.h"

#define CLI_IDENTITY_FILE "identity"
#define CLI_IDENTITY_HEADER "saltchat identity v1\n"

typedef struct cli_identity {
    uint8_t pk[SC_IDENTITY_PK_BYTES];
    uint8_t sk[SC_IDENTITY_SK_BYTES];
    char fingerprint[SC_IDENTITY_FINGERPRINT_CHARS + 1];
} cli_identity;

/* Writes the config directory into out[cap]: dir if given, else
 * $XDG_CONFIG_HOME/saltchat, else $HOME/.config/saltchat. Returns 0, or -1 with err if
 * none can be determined or the path does not fit. */
int cli_identity_config_dir(const char *dir, char *out, size_t cap, char *err, size_t errcap);

/*
 * Loads DIR/identity, creating the directory (0700) and a new key (0600) if missing;
 * *created tells which. Returns 0, or -1 with a one-line message in err when the
 * directory or file is unreadable, malformed, too open or cannot be written.
 */
int cli_identity_load(const char *dir, cli_identity *id, int *created, char *err, size_t cap);

/* Wipes the secret key. */
void cli_identity_wipe(cli_identity *id);

#endif
