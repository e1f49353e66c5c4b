#include "cli_new.h"

#include <langinfo.h>
#include <stdio.h>
#include <string.h>

#include "cli_qr.h"

int cli_new_print_link(const char *link, enum cli_qr_mode mode, int tty)
{
    int qr = mode == CLI_QR_ON || (mode == CLI_QR_AUTO && tty);
    const char *cs = nl_langinfo(CODESET);
    printf("Invite link (whoever has it can join the room and read it; share it privately):"
           "\n\n  %s\n\n",
           link);
    if (qr && cli_qr_print(stdout, link, cs && !strcmp(cs, "UTF-8")) != 0)
        fprintf(stderr, "saltchat: cannot draw the QR code\n");
    printf("\nOthers join it with:  saltchat join --link-file FILE   (FILE holding the link)\n\n");
    return fflush(stdout) == 0 ? 0 : -1;
}
