/* saltchat-relay: see relay_config.c for the flags and docs/RELAY.md for the rest. */
#include "relay_config.h"
#include "relay_log.h"
#include "relay_server.h"

int main(int argc, char **argv)
{
    relay_config cfg;

    switch (relay_config_parse(&cfg, argc, argv, stdout, stderr)) {
    case RELAY_CONFIG_RUN:
        break;
    case RELAY_CONFIG_DONE:
        return 0;
    default:
        return 2;
    }
    relay_log_init(cfg.log_level);
    int rc = relay_server_run(&cfg);
    relay_config_free(&cfg);
    return rc;
}
