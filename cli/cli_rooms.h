/* cli_rooms: `saltchat rooms`: the stored rooms, one line (or JSON line) each. */
#ifndef CLI_ROOMS_H
#define CLI_ROOMS_H

#include "cli_args.h"

/* Returns a CLI_EXIT_* code (CLI_EXIT_STORE if a stored room cannot be read: the others
 * are still listed). */
int cli_rooms_run(const cli_args *a);

#endif
