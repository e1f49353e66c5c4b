/*
 * cli_store: the rooms this client stored (their history: cli_history), under
 * DATA/rooms/ (DATA = --data, else $XDG_DATA_HOME/saltchat, else ~/.local/share/saltchat;
 * directories 0700, files 0600, checked like the identity's: cli_file). Everything is
 * encrypted with crypto_secretbox under the 32-byte storage key (cli_identity).
 *
 *   <room id text>.state    "SCST" || version u8 = 1 || nonce(24) || secretbox(P)
 *       P = room id text(22) || status u8 || name_len u8 || name || base_len u16 || base
 *           || state_len u32 || sc2_room_export bytes || own (the rest)
 *       own = { token u64 || len u32 || text }*: our texts not yet accepted (to put
 *           them in the history when they are, in a later run)
 *       replaced atomically (temporary file, fsync, rename, directory fsync)
 * Integers are big-endian.
 */
#ifndef CLI_STORE_H
#define CLI_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cli_buf.h"

#define CLI_STORE_ROOM_CHARS 22u
#define CLI_STORE_MAX_STATE (64u * 1024u * 1024u)

enum cli_store_status {
    CLI_STORE_ACTIVE = 0, /* a member (or joining) */
    CLI_STORE_LEFT = 1,   /* we left the room */
    CLI_STORE_REMOVED = 2, /* a member removed us */
    CLI_STORE_NEEDS_LINK = 3 /* a rejoin was refused for good: the link changed while we
                                were away; only a current link lets us back in */
};

typedef struct cli_store_room {
    char room[CLI_STORE_ROOM_CHARS + 1]; /* room id text */
    int status;                          /* enum cli_store_status */
    char name[65];                       /* our display name in the room */
    char base[1024];                     /* the relay's http(s) base URL */
    cli_buf state;                       /* sc2_room_export bytes (a secret) */
    cli_buf own;                         /* own texts (cli_store_own_add), a secret */
} cli_store_room;

/* Appends one own text (token, text[0..len)) to own. Returns 0 or -1 (memory). */
int cli_store_own_add(cli_buf *own, uint64_t token, const uint8_t *text, size_t len);

/* Reads the own text at *off of own and advances *off. Returns 1 with *token, *text
 * (pointing into own) and *len, 0 at the end, or -1 if own is malformed. */
int cli_store_own_next(const cli_buf *own, size_t *off, uint64_t *token, const uint8_t **text,
                       size_t *len);

/* Writes DATA/rooms into out[cap] (see above for DATA) and creates or checks it (0700).
 * Returns 0, or -1 with err. */
int cli_store_dir(const char *data_dir, char *out, size_t cap, char *err, size_t errcap);

/* Encrypts and atomically replaces dir/<r->room>.state. Returns 0 or -1 with err. */
int cli_store_save(const char *dir, const uint8_t key[32], const cli_store_room *r, char *err,
                   size_t cap);

/* Reads and decrypts dir/<room>.state into *r (r->state is replaced; wipe with
 * cli_store_room_wipe). Returns 0, 1 if there is no such file, or -1 with err (unreadable,
 * too open, not a saltchat state file, does not decrypt with this storage key, corrupt). */
int cli_store_load(const char *dir, const uint8_t key[32], const char *room, cli_store_room *r,
                   char *err, size_t cap);

/* Wipes and frees what *r holds. */
void cli_store_room_wipe(cli_store_room *r);

/* Finds the stored room whose id text starts with prefix. Returns 0 with out (the id
 * text), 1 if none matches, or -1 with err (several match, or the directory cannot be
 * read). */
int cli_store_find(const char *dir, const char *prefix, char out[CLI_STORE_ROOM_CHARS + 1],
                   char *err, size_t cap);

/* Calls fn for every stored room id text in dir (sorted). Returns the number of rooms, or
 * -1 with err if dir cannot be read. */
int cli_store_each(const char *dir, void (*fn)(void *user, const char *room), void *user,
                   char *err, size_t cap);

#endif
