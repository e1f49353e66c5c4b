#include "cli_new.h"

#include <langinfo.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_exit.h"
#include "cli_qr.h"
#include "sc_invite.h"
#include "sc_rng.h"

int cli_new_run(const cli_args *a)
{
    uint8_t secret[SC_INVITE_SECRET_BYTES];
    char link[SC_INVITE_MAX_URL];
    sc_rng rng;
    int rc = CLI_EXIT_BAD_LINK;
    sc_rng_init(&rng);
    sc_invite_new_secret(&rng, secret);
    int n = sc_invite_format(a->target, secret, link, sizeof link);
    if (n < 0) {
        fprintf(stderr, "saltchat: bad relay URL '%s': %s\n", a->target, sc_invite_strerror(n));
        goto fail;
    }
    int tty = isatty(STDOUT_FILENO);
    int qr = a->qr == CLI_QR_ON || (a->qr == CLI_QR_AUTO && tty);
    if (!tty && !qr) {
        printf("%s\n", link);
    } else {
        const char *cs = nl_langinfo(CODESET);
        printf("Invite link (whoever has it can join the room and read it; share it privately):"
               "\n\n  %s\n\n",
               link);
        if (qr && cli_qr_print(stdout, link, cs && !strcmp(cs, "UTF-8")) != 0)
            fprintf(stderr, "saltchat: cannot draw the QR code\n");
        printf("\nJoin it with:  saltchat join '%s'\n", link);
    }
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
fail:
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(link, sizeof link);
    sc_rng_wipe(&rng);
    return rc;
}
