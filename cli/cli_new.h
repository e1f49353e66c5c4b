/* cli_new: `saltchat new RELAY-URL`: draws a room secret and prints the invite link
 * (and a QR code of it on a terminal). Nothing is sent anywhere. */
#ifndef CLI_NEW_H
#define CLI_NEW_H

#include "cli_args.h"

/* Returns a CLI_EXIT_* code. */
int cli_new_run(const cli_args *a);

#endif
