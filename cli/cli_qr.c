#include "cli_qr.h"

#include <qrencode.h>

#define QUIET 2 /* modules of white border; scanners cope with less than the nominal 4 */

static int dark(const QRcode *q, int x, int y)
{
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return 0;
    return q->data[y * q->width + x] & 1;
}

int cli_qr_print(FILE *out, const char *text, int utf8)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
    if (!q)
        return -1;
    int lo = -QUIET, hi = q->width + QUIET;
    for (int y = lo; y < hi; y += utf8 ? 2 : 1) {
        fputs("\033[30;47m", out);
        for (int x = lo; x < hi; x++) {
            if (!utf8) {
                fputs(dark(q, x, y) ? "##" : "  ", out);
                continue;
            }
            int top = dark(q, x, y), bottom = y + 1 < hi && dark(q, x, y + 1);
            fputs(top && bottom ? "\xe2\x96\x88"
                  : top         ? "\xe2\x96\x80"
                  : bottom      ? "\xe2\x96\x84"
                                : " ",
                  out);
        }
        fputs("\033[0m\n", out);
    }
    QRcode_free(q);
    return 0;
}
