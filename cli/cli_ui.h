/*
 * cli_ui: the user interface seam. Two implementations: cli_ui_tty (libedit, colour)
 * and cli_ui_json (batch: lines in, JSON events out). Both read the
 * user's input when the loop reports stdin readable and hand whole lines to the
 * chat through cli_ui_input.
 */
#ifndef CLI_UI_H
#define CLI_UI_H

#include <stddef.h>

#include "cli_event.h"

typedef struct cli_ui cli_ui;

/* Where a UI delivers input. */
typedef struct cli_ui_input {
    void *user;
    void (*line)(void *user, const char *line, size_t len); /* one line, without '\n' */
    void (*eof)(void *user);                                /* input ended */
} cli_ui_input;

enum cli_ui_style { CLI_UI_INFO = 0, CLI_UI_GOOD, CLI_UI_WARN, CLI_UI_ERROR };

typedef struct cli_ui_ops {
    void (*event)(cli_ui *ui, const cli_event *ev);
    /* A line of command output or help (terminal only; batch mode ignores it). */
    void (*print)(cli_ui *ui, enum cli_ui_style style, const char *text);
    /* stdin is readable: read and deliver. Returns 0, or -1 to stop watching stdin. */
    int (*readable)(cli_ui *ui);
    /* The prompt (terminal only). */
    void (*set_prompt)(cli_ui *ui, const char *prompt);
    /* The terminal was resized. */
    void (*resize)(cli_ui *ui);
    /* The user pressed Ctrl-Z: give the terminal back as it was found, just before the
     * process stops (terminal only). */
    void (*suspend)(cli_ui *ui);
    /* The process was continued after suspend: take the terminal again and redraw the
     * prompt with what was being typed (terminal only). */
    void (*resume)(cli_ui *ui);
    /* Returns 0, or -1 if output can no longer be written (stdout closed). */
    int (*status)(cli_ui *ui);
    void (*free)(cli_ui *ui);
} cli_ui_ops;

struct cli_ui {
    const cli_ui_ops *ops;
    cli_ui_input input;
};

/* printf-style cli_ui_ops.print. */
void cli_ui_printf(cli_ui *ui, enum cli_ui_style style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
