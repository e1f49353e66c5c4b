/* saltchat: end-to-end encrypted group chat in the terminal. See docs/CLI.md. */
#include <locale.h>
#include <sodium.h>
#include <stdio.h>

#include "cli_args.h"
#include "cli_exit.h"
#include "cli_join.h"
#include "cli_rooms.h"

int main(int argc, char **argv)
{
    cli_args a;
    char err[256];
    setlocale(LC_ALL, "");
    if (cli_args_parse(argc, argv, &a, err, sizeof err) != 0) {
        fprintf(stderr, "saltchat: %s\nRun 'saltchat --help' for usage.\n", err);
        return CLI_EXIT_USAGE;
    }
    if (a.command == CLI_CMD_HELP) {
        fputs(cli_args_usage(), stdout);
        return CLI_EXIT_OK;
    }
    if (a.command == CLI_CMD_VERSION) {
        printf("saltchat %s\n", SALTCHAT_VERSION);
        return CLI_EXIT_OK;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "saltchat: libsodium failed to initialise\n");
        return CLI_EXIT_ERROR;
    }
    return a.command == CLI_CMD_ROOMS ? cli_rooms_run(&a) : cli_join_run(&a);
}
