/*
 * cli_hold: lines typed while the client is offline after having been in the room. The
 * relay stores nothing, so a client that reconnects before the others would send them
 * into an empty room; they are held until every member authenticated before the drop
 * has authenticated again (the caller bounds the wait with a timer).
 */
#ifndef CLI_HOLD_H
#define CLI_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "cli_buf.h"
#include "sc_session.h"

typedef struct cli_hold {
    int active;
    cli_buf *lines; /* heap array, in typing order */
    size_t n;
    uint8_t (*peers)[32]; /* identity keys to wait for */
    size_t n_peers;
} cli_hold;

/* Starts (or extends) holding: remembers the identity keys of the members authenticated
 * in s right now. Call before sc_session_disconnected. */
void cli_hold_begin(cli_hold *h, const sc_session *s);

/* Keeps a copy of a line. Returns 0, or -1 if memory is exhausted. */
int cli_hold_push(cli_hold *h, const char *text, size_t len);

/* Returns 1 if every remembered member is authenticated in s, else 0. */
int cli_hold_peers_back(const cli_hold *h, const sc_session *s);

/* Ends holding: calls fn for each line in order, then wipes and forgets them. */
void cli_hold_release(cli_hold *h, void (*fn)(void *user, const uint8_t *text, size_t len),
                      void *user);

/* Wipes and frees everything. */
void cli_hold_free(cli_hold *h);

#endif
