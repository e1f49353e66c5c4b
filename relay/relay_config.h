/*
 * relay_config: every setting of saltchat-relay in one struct, filled from the
 * command line. Run `saltchat-relay --help` for the flags.
 */
#ifndef RELAY_CONFIG_H
#define RELAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef SALTCHAT_RELAY_WWW_DEFAULT
#define SALTCHAT_RELAY_WWW_DEFAULT "/usr/local/share/saltchat/www"
#endif

typedef struct relay_config {
    char listen_host[64]; /* IP literal, without brackets */
    int listen_ipv6;      /* listen_host is an IPv6 literal */
    unsigned listen_port; /* 0: any free port */
    const char *www;      /* web root (argv or the compiled-in default) */
    const char *tls_cert; /* both set, or both NULL */
    const char *tls_key;
    uint32_t max_frame;        /* largest WebSocket message accepted, bytes */
    uint32_t max_connections;  /* WebSocket connections */
    uint32_t sndbuf;           /* SO_SNDBUF of WebSocket connections; 0: kernel autotuning */
    uint32_t rate_limit;       /* messages per second per connection; 0: off */
    uint32_t rate_burst;       /* bucket size, messages */
    uint32_t ping_interval;    /* seconds without a pong before a ping */
    uint32_t ping_timeout;     /* further seconds before hanging up */
    uint32_t http_timeout;     /* seconds to receive HTTP request headers */
    char **origins;            /* normalized --allow-origin values (and --peer-url origins) */
    size_t n_origins;
    char **cluster_urls;       /* --cluster nats://HOST:PORT values; none: no cluster */
    size_t n_cluster_urls;
    char **peer_urls;          /* --peer-url origins (other relays of the cluster) */
    size_t n_peer_urls;
    int reuse_port;            /* --reuse-port: SO_REUSEPORT on the listening socket */
    int log_level;             /* enum relay_log_level */
    /* Protocol v2 (subprotocol saltchat.v2): the durable room logs. */
    const char *data_dir;      /* --data-dir; NULL: relay_config_default_data_dir */
    uint64_t retain_age_ms;    /* retention per room by age; 0: none */
    uint64_t retain_entries;   /* by entries; 0: none */
    uint64_t retain_bytes;     /* by bytes of entries; 0: none */
    uint64_t max_store;        /* --max-store: database size cap, bytes; 0: none */
} relay_config;

/*
 * The data directory used without --data-dir, written into out[cap]: $STATE_DIRECTORY
 * (systemd's StateDirectory=) if set, /var/lib/saltchat-relay when running as root,
 * else $XDG_DATA_HOME/saltchat-relay, else $HOME/.local/share/saltchat-relay. Returns 0,
 * or -1 if none can be named (no HOME) or it does not fit.
 */
int relay_config_default_data_dir(char *out, size_t cap);

enum relay_config_result {
    RELAY_CONFIG_RUN = 0,  /* cfg is ready */
    RELAY_CONFIG_DONE = 1, /* --help or --version was printed: exit 0 */
    RELAY_CONFIG_BAD = 2   /* an error and the usage were printed to err: exit 2 */
};

/*
 * Fills cfg from argv. --help and --version print to out; errors print one line
 * saying what is wrong, then the usage, to err. On RELAY_CONFIG_RUN the caller
 * must call relay_config_free.
 */
enum relay_config_result relay_config_parse(relay_config *cfg, int argc, char **argv, FILE *out,
                                            FILE *err);

/* Frees what relay_config_parse allocated. */
void relay_config_free(relay_config *cfg);

#endif
