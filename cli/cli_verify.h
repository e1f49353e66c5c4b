/*
 * cli_verify: the members this client marked verified in one room (/verify NAME FP --yes,
 * docs/CLI.md; docs/PROTOCOL.md section 8.11), and their file under DATA/rooms/:
 *
 *   <room id text>.verified   "SCVF" || version u8 = 1 || nonce(24) || secretbox(P)
 *       P = room id text(22) || { identity(32) || name_len u8 || name }*
 *       under the storage key (cli_identity), replaced atomically on every change
 *
 * A mark is the pair (display name, identity key) as it was when verified. Names are 1..64
 * bytes; at most CLI_VERIFY_MAX marks per room.
 */
#ifndef CLI_VERIFY_H
#define CLI_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define CLI_VERIFY_MAX 1024u
#define CLI_VERIFY_NAME_MAX 64u

typedef struct cli_verify_mark {
    uint8_t identity[32];
    char name[CLI_VERIFY_NAME_MAX + 1];
} cli_verify_mark;

/* The marks of one room. Zero-initialise; free with cli_verify_free. */
typedef struct cli_verify {
    cli_verify_mark *m;
    size_t n, cap;
} cli_verify;

/* Reads dir/<room>.verified into *v (replacing its marks). A missing file is no marks.
 * Returns 0, or -1 with err (unreadable, too open, not a verified-marks file, does not
 * decrypt with key, another room's, corrupt). */
int cli_verify_load(const char *dir, const uint8_t key[32], const char *room, cli_verify *v,
                    char *err, size_t cap);

/* Encrypts v and atomically replaces dir/<room>.verified. Returns 0 or -1 with err. */
int cli_verify_save(const char *dir, const uint8_t key[32], const char *room,
                    const cli_verify *v, char *err, size_t cap);

/* Whether identity carries a mark (under any name). */
int cli_verify_is(const cli_verify *v, const uint8_t identity[32]);

/* Marks (name, identity) verified. Returns 0 (added), 1 (that pair was marked already) or
 * -1 (name empty or over 64 bytes, CLI_VERIFY_MAX marks, or out of memory). */
int cli_verify_add(cli_verify *v, const char *name, const uint8_t identity[32]);

/* Removes every mark of identity. Returns how many were removed. */
size_t cli_verify_remove(cli_verify *v, const uint8_t identity[32]);

/* A member named name shows up with key identity: returns the verified key of that name if
 * the name is marked with another key and identity itself is not marked (a broken
 * verification), else NULL. The pointer is into v. */
const uint8_t *cli_verify_broken(const cli_verify *v, const char *name,
                                 const uint8_t identity[32]);

/* Wipes and frees the marks; v is empty afterwards. */
void cli_verify_free(cli_verify *v);

#endif
