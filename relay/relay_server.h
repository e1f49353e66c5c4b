/*
 * relay_server: owns the running relay. Checks the environment (web root, TLS
 * files, the libuv event library plugin), creates the libwebsockets context on
 * libuv and the listening vhost, prints the bound address, runs the loop, and
 * shuts down gracefully on SIGINT/SIGTERM.
 */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "relay_config.h"
#include "relay_metrics.h"

/* Largest batch written to one member in one WebSocket message (and the scratch buffer). */
#define RELAY_BATCH_BYTES (256u * 1024u)

/* The state every module of the running relay shares (lws_context_user()). */
struct relay {
    const relay_config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    relay_metrics metrics;
    char www_root[PATH_MAX]; /* realpath of cfg->www */
    int tls;
    unsigned fd_limit; /* refuse new sockets with an fd number at or above this */
    /* One buffer for building HTTP responses, LWS_PRE bytes of headroom included. */
    uint8_t *scratch;
    size_t scratch_cap; /* usable bytes after the LWS_PRE headroom */
    lws_sorted_usec_list_t ka_sul; /* the once-a-second tick (relay_ws2_tick) */
    int shutting_down;
    lws_sorted_usec_list_t shutdown_sul;
    /* HTTP: the Content-Security-Policy (connect-src lists --peer-url relays), the
     * same security headers as one block for lws_serve_http_file, and the body of
     * GET /cluster.json. Built once at start. */
    char *csp;
    char *file_headers;
    size_t file_headers_len;
    char *cluster_json;
    /* Protocol v2 (relay_ws2): the durable room logs and the connections' state. */
    struct relay_store *store;
    struct relay_v2 *v2;
    /* --cluster (docs/CLUSTER.md): the room logs in JetStream (relay_v2c); NULL without. */
    struct relay_v2c *v2c;
    int fatal; /* stopping because of an error: exit status 1 */
};

/* Returns the relay that owns wsi's context. */
struct relay *relay_of(struct lws *wsi);

/*
 * Runs the relay until SIGINT/SIGTERM. Errors that stop it from starting
 * (missing web root, unreadable certificate, busy port, ...) are printed as one
 * line. Returns the process exit status: 0 after a clean shutdown, 1 on error.
 */
int relay_server_run(const relay_config *cfg);

/* Returns the relay's clock in whole seconds (monotonic). */
uint32_t relay_now_s(void);

/* A runtime error the relay cannot continue after (the store failed to commit): logs why
 * and starts the graceful shutdown; the relay then exits with status 1. */
void relay_server_fatal(struct relay *r, const char *why);

/* Called once no WebSocket connection remains during shutdown: stop now. */
void relay_server_sessions_gone(struct relay *r);

/* The relay's clock in milliseconds (monotonic). */
uint64_t relay_now_ms(void);

/* On the loop thread after lws_cancel_service: hands what JetStream sent to relay_v2c. */
void relay_server_cluster_wake(struct relay *r);

#endif
