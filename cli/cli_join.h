/* cli_join: `saltchat join LINK`: checks the link, name, files and CA, then runs the
 * chat. Every problem the user can cause ends here with a message and its exit code. */
#ifndef CLI_JOIN_H
#define CLI_JOIN_H

#include "cli_args.h"

/* Returns a CLI_EXIT_* code. */
int cli_join_run(const cli_args *a);

#endif
