#include "cli_ui.h"

#include <stdarg.h>
#include <stdio.h>

#include "cli_buf.h"

void cli_ui_printf(cli_ui *ui, enum cli_ui_style style, const char *fmt, ...)
{
    cli_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && cli_buf_reserve(&b, (size_t)n + 1, 0) == 0) {
        va_start(ap, fmt);
        vsnprintf((char *)b.data, (size_t)n + 1, fmt, ap);
        va_end(ap);
        ui->ops->print(ui, style, (const char *)b.data);
    }
    cli_buf_free(&b);
}
