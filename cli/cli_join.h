/* cli_join: `saltchat new`, `join` and `open`: checks the link or stored room, the name,
 * files and CA, builds the sc2_room (created, joining, or imported) and runs the chat.
 * Every problem the user can cause before the chat starts ends here with a message on
 * stderr and its exit code. */
#ifndef CLI_JOIN_H
#define CLI_JOIN_H

#include "cli_args.h"

/* Returns a CLI_EXIT_* code. */
int cli_join_run(const cli_args *a);

#endif
