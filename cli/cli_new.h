/* cli_new: how `saltchat new` shows a new room's invite link on a terminal: the link and,
 * with --qr or by default on a terminal, a QR code of it. */
#ifndef CLI_NEW_H
#define CLI_NEW_H

#include "cli_args.h"

/* Prints link (and its QR code per mode, tty telling whether stdout is a terminal) to
 * stdout. Returns 0, or -1 if stdout failed. */
int cli_new_print_link(const char *link, enum cli_qr_mode mode, int tty);

#endif
