/* cli_ui_tty: interactive terminal UI. Line editing and history with libedit; incoming
 * events are printed above the line being typed, which is then redrawn intact.
 * Untrusted text (names, messages) is sanitized before it reaches the terminal. */
#ifndef CLI_UI_TTY_H
#define CLI_UI_TTY_H

#include "cli_ui.h"

/* Returns the terminal UI (stdin and stdout must be terminals), or NULL if libedit cannot
 * start. color: use ANSI colours. */
cli_ui *cli_ui_tty_new(const cli_ui_input *in, int color);

#endif
