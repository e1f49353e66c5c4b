/* cli_ui_json: batch mode. Each stdin line is one message; each event is one JSON
 * object on its own stdout line (schema in docs/CLI.md). */
#ifndef CLI_UI_JSON_H
#define CLI_UI_JSON_H

#include "cli_ui.h"

/* Returns the batch UI, or NULL if memory is exhausted. */
cli_ui *cli_ui_json_new(const cli_ui_input *in);

#endif
