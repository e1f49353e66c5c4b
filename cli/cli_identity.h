/* cli_identity: where saltchat keeps its files, the long-term identity key in
 * DIR/identity and the storage key in DIR/storage-key (both mode 0600, created on first
 * use). The identity key is the Ed25519 key of every room's MLS credential; the storage
 * key encrypts what cli_store writes. */
#ifndef CLI_IDENTITY_H
#define CLI_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "cli_text.h"

#define CLI_IDENTITY_FILE "identity"
#define CLI_IDENTITY_HEADER "saltchat identity v1\n"
#define CLI_STORAGE_KEY_FILE "storage-key"
#define CLI_STORAGE_KEY_HEADER "saltchat storage key v1\n"

typedef struct cli_identity {
    uint8_t pk[32];
    uint8_t sk[64];   /* libsodium's Ed25519 secret key: seed(32) || pk */
    char fingerprint[CLI_TEXT_FP_CHARS + 1];
    uint8_t storage_key[32];
} cli_identity;

/* Writes the config directory into out[cap]: dir if given, else
 * $XDG_CONFIG_HOME/saltchat, else $HOME/.config/saltchat. Returns 0, or -1 with err if
 * none can be determined or the path does not fit. */
int cli_identity_config_dir(const char *dir, char *out, size_t cap, char *err, size_t errcap);

/*
 * Loads DIR/identity and DIR/storage-key, creating the directory (0700) and new keys
 * (0600) where missing; *created tells whether the identity was new. Returns 0, or -1 with a one-line message in err when the
 * directory or file is unreadable, malformed, too open or cannot be written.
 */
int cli_identity_load(const char *dir, cli_identity *id, int *created, char *err, size_t cap);

/* Wipes the secret keys. */
void cli_identity_wipe(cli_identity *id);

#endif
