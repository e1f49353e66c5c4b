/* cli_qr: draws a QR code of a string on a terminal (libqrencode). */
#ifndef CLI_QR_H
#define CLI_QR_H

#include <stdio.h>

/* Prints text as a QR code to out, black on white, two module rows per line with
 * Unicode half blocks (utf8 = 1) or two ASCII characters per module. Returns 0, or -1
 * if the text cannot be encoded. */
int cli_qr_print(FILE *out, const char *text, int utf8);

#endif
