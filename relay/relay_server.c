#include "relay_server.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "relay_http.h"
#include "relay_listen.h"
#include "relay_log.h"
#include "relay_rawrx.h"
#include "relay_rxpool.h"
#include "relay_store.h"
#include "relay_v2c.h"
#include "relay_ws2.h"

/* How long connections get to drain and close after SIGINT/SIGTERM. */
#define SHUTDOWN_GRACE_US (1000 * LWS_US_PER_MS)
/* File descriptors kept beyond --max-connections (HTTP, files, event loop). */
#define FD_HEADROOM 1024u
/* Descriptors never handed to connections: files being served, lws internals. */
#define FD_SPARE 32u

#define EVLIB_UV LWS_INSTALL_LIBDIR "/libwebsockets-evlib_uv.so"

static struct relay *signal_target; /* the running relay, for the signal callback */

struct relay *relay_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

static int check_www(struct relay *r)
{
    struct stat st;

    if (!realpath(r->cfg->www, r->www_root)) {
        relay_log(RELAY_LOG_ERROR, "web root %s: %s (give the web client's directory with --www)",
                  r->cfg->www, strerror(errno));
        return -1;
    }
    if (stat(r->www_root, &st) || !S_ISDIR(st.st_mode)) {
        relay_log(RELAY_LOG_ERROR, "web root %s is not a directory (give one with --www)",
                  r->cfg->www);
        return -1;
    }
    if (access(r->www_root, R_OK | X_OK)) {
        relay_log(RELAY_LOG_ERROR, "web root %s: %s", r->cfg->www, strerror(errno));
        return -1;
    }
    return 0;
}

static int check_readable(const char *what, const char *path)
{
    FILE *f = fopen(path, "r");

    if (!f) {
        relay_log(RELAY_LOG_ERROR, "cannot read the TLS %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

/* lws 4.1.6 starts even with an unusable certificate; load it here first. */
static int check_tls(const relay_config *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *what = NULL;
    int rc = -1;

    if (!ctx) {
        relay_log(RELAY_LOG_ERROR, "cannot start TLS: OpenSSL failed to initialise");
        return -1;
    }
    EVP_PKEY *key = NULL;
    FILE *f = NULL;

    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1)
        what = "the certificate is not a PEM certificate (chain)";
    else if (!(f = fopen(cfg->tls_key, "r")) || !(key = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
        what = "the key is not an unencrypted PEM private key";
    else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        what = "the key does not belong to the certificate";
    else
        rc = 0;
    if (f)
        fclose(f);
    EVP_PKEY_free(key);
    if (what) {
        unsigned long e = ERR_peek_last_error();
        relay_log(RELAY_LOG_ERROR, "cannot start TLS with --tls-cert %s --tls-key %s: %s (%s)",
                  cfg->tls_cert, cfg->tls_key, what,
                  e ? ERR_reason_error_string(e) : "no detail");
    }
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return rc;
}

/* lws loads its libuv support as a plugin; say clearly if it is missing. */
static int check_evlib(void)
{
    void *h = dlopen(EVLIB_UV, RTLD_NOW | RTLD_LOCAL);

    if (!h) {
        relay_log(RELAY_LOG_ERROR,
                  "cannot load the libwebsockets libuv event library (%s); install the Debian "
                  "package libwebsockets-evlib-uv",
                  dlerror());
        return -1;
    }
    dlclose(h);
    return 0;
}

/* Raises the open-file limit as far as useful; returns the limit now in force. */
static unsigned fd_budget(const relay_config *cfg)
{
    struct rlimit rl;
    uint64_t want = (uint64_t)cfg->max_connections + FD_HEADROOM;

    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 0;
    if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want)
        relay_log(RELAY_LOG_WARN,
                  "open-file limit %llu is below --max-connections %u + %u: connections beyond "
                  "the limit will be refused",
                  (unsigned long long)rl.rlim_cur, cfg->max_connections, FD_HEADROOM);
    return rl.rlim_cur > UINT32_MAX ? UINT32_MAX : (unsigned)rl.rlim_cur;
}

/* After lws failed to listen: find out why, with a plain bind. */
static void explain_listen_failure(const relay_config *cfg, int tls)
{
    struct sockaddr_storage ss;
    socklen_t sl = relay_listen_addr(cfg, &ss);
    int one = 1, err = 0;

    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        err = errno;
    } else {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&ss, sl))
            err = errno;
        close(fd);
    }
    char where[96];
    snprintf(where, sizeof where, "%s%s%s:%u", cfg->listen_ipv6 ? "[" : "", cfg->listen_host,
             cfg->listen_ipv6 ? "]" : "", cfg->listen_port);
    if (err)
        relay_log(RELAY_LOG_ERROR, "cannot listen on %s: %s", where, strerror(err));
    else if (tls)
        relay_log(RELAY_LOG_ERROR,
                  "cannot start TLS on %s: the certificate %s or key %s is invalid, or they do "
                  "not match",
                  where, cfg->tls_cert, cfg->tls_key);
    else
        relay_log(RELAY_LOG_ERROR, "cannot listen on %s (see the messages above)", where);
}

uint64_t relay_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint32_t relay_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_sec;
}

static void keepalive_cb(lws_sorted_usec_list_t *sul)
{
    struct relay *r = lws_container_of(sul, struct relay, ka_sul);

    relay_ws2_tick(r);
    lws_sul_schedule(r->ctx, 0, &r->ka_sul, keepalive_cb, LWS_US_PER_SEC);
}

void relay_server_cluster_wake(struct relay *r)
{
    if (r->v2c)
        relay_v2c_drain(r->v2c);
}

static void stop_cb(lws_sorted_usec_list_t *sul)
{
    struct relay *r = lws_container_of(sul, struct relay, shutdown_sul);

    relay_log(RELAY_LOG_NOTICE, "stopped");
    lws_context_destroy(r->ctx);
}

/* Schedules stop_cb. lws (libuv) re-arms its timer only after servicing an fd, so
 * wake the loop when called from outside lws (the signal callback). */
static void schedule_stop(struct relay *r, lws_usec_t us)
{
    lws_sul_schedule(r->ctx, 0, &r->shutdown_sul, stop_cb, us);
    lws_cancel_service(r->ctx);
}

void relay_server_sessions_gone(struct relay *r)
{
    schedule_stop(r, 1);
}

static void begin_shutdown(struct relay *r)
{
    size_t n = relay_ws2_sessions(r);

    r->shutting_down = 1;
    relay_ws2_shutdown(r);
    schedule_stop(r, n ? SHUTDOWN_GRACE_US : 1);
}

static void on_signal(void *handle, int signum)
{
    struct relay *r = signal_target;

    (void)handle;
    if (!r)
        return;
    if (r->shutting_down) {
        relay_log(RELAY_LOG_NOTICE, "signal %d again: stopping now", signum);
        relay_server_sessions_gone(r);
        return;
    }
    relay_log(RELAY_LOG_NOTICE, "signal %d: closing %u connections and stopping", signum,
              (unsigned)relay_ws2_sessions(r));
    begin_shutdown(r);
}

void relay_server_fatal(struct relay *r, const char *why)
{
    relay_log(RELAY_LOG_ERROR, "%s", why);
    r->fatal = 1;
    if (!r->shutting_down)
        begin_shutdown(r);
}

/* Opens the v2 store in --data-dir (or the default location, whose parents are created).
 * Returns 0, or -1 after logging why (a damaged or unreadable store, a locked one). */
static int open_store(struct relay *r)
{
    const relay_config *cfg = r->cfg;
    char dir[PATH_MAX], err[768];
    relay_store_opts o;

    if (cfg->data_dir) {
        snprintf(dir, sizeof dir, "%s", cfg->data_dir);
    } else {
        if (relay_config_default_data_dir(dir, sizeof dir)) {
            relay_log(RELAY_LOG_ERROR, "no data directory for the v2 room logs: HOME is not "
                      "set; give --data-dir DIR");
            return -1;
        }
        /* ~/.local/share may not exist yet: create the parents (the store makes the last) */
        for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
            *p = '\0';
            if (mkdir(dir, 0700) && errno != EEXIST) {
                relay_log(RELAY_LOG_ERROR, "cannot create %s for the v2 room logs: %s; give "
                          "--data-dir DIR", dir, strerror(errno));
                return -1;
            }
            *p = '/';
        }
    }
    relay_store_opts_default(&o);
    o.max_age_ms = cfg->retain_age_ms;
    o.max_entries = cfg->retain_entries;
    o.max_bytes = cfg->retain_bytes;
    o.max_db_bytes = cfg->max_store;
    if (relay_store_open(dir, &o, &r->store, err, sizeof err) != RELAY_STORE_OK) {
        relay_log(RELAY_LOG_ERROR, "%s", err);
        return -1;
    }
    relay_store_stats st;
    relay_store_stats_get(r->store, &st);
    relay_log(RELAY_LOG_NOTICE, "v2 room logs in %s: %llu rooms, %llu entries", dir,
              (unsigned long long)st.rooms, (unsigned long long)st.entries);
    return 0;
}

/* Starts relay_v2c on the --cluster broker(s) (it connects in the background). Returns 0,
 * or -1 after logging why. */
static int start_cluster(struct relay *r)
{
    const relay_config *cfg = r->cfg;
    char err[256];
    relay_log(RELAY_LOG_NOTICE, "cluster: room logs in JetStream on %s%s",
              cfg->cluster_urls[0], cfg->n_cluster_urls > 1 ? " (or another)" : "");
    size_t ul = 1;
    for (size_t i = 0; i < cfg->n_cluster_urls; i++)
        ul += strlen(cfg->cluster_urls[i]) + 1;
    char *urls = calloc(1, ul);
    if (!urls) {
        relay_log(RELAY_LOG_ERROR, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->n_cluster_urls; i++) {
        if (i)
            strcat(urls, ",");
        strcat(urls, cfg->cluster_urls[i]);
    }
    relay_jslog_opts jo;
    relay_jslog_opts_default(&jo);
    jo.max_age_ms = cfg->retain_age_ms;
    jo.max_entries = cfg->retain_entries;
    jo.max_bytes = cfg->retain_bytes;
    r->v2c = relay_v2c_start(r, r->ctx, urls, &jo, err, sizeof err);
    free(urls);
    if (!r->v2c) {
        relay_log(RELAY_LOG_ERROR, "cluster: %s", err);
        return -1;
    }
    return 0;
}

static int create_context(struct relay *r, unsigned fds)
{
    struct lws_context_creation_info info;

    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBUV |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    if (r->tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = r;
    info.signal_cb = on_signal;
    info.count_threads = 1;
    /* No fd_limit_per_thread: with it lws 4.1.6 looks sockets up by a linear
     * scan of its fd table on every event. It sizes the table from the
     * open-file limit instead, which fd_budget() raised. New sockets whose fd
     * number comes close to the limit are refused at once (relay_http), so
     * accept() never fails for lack of descriptors (lws would spin on it). */
    r->fd_limit = fds > FD_SPARE ? fds - FD_SPARE : 1;
    /* Per-thread read and file-chunk buffer: big reads take many frames at once. */
    info.pt_serv_buf_size = 64 * 1024;
    info.max_http_header_data = 4096;
    info.timeout_secs = r->cfg->http_timeout;
    r->ctx = lws_create_context(&info);
    if (!r->ctx) {
        relay_log(RELAY_LOG_ERROR, "cannot create the libwebsockets context on libuv");
        return -1;
    }
    return 0;
}

static int create_vhost(struct relay *r, struct lws_protocols *protocols,
                        const lws_retry_bo_t *retry, int own_listener)
{
    const relay_config *cfg = r->cfg;
    struct lws_context_creation_info info;

    memset(&info, 0, sizeof info);
    info.vhost_name = "saltchat";
    /* with --reuse-port relay_listen accepts and hands connections over */
    info.port = own_listener ? CONTEXT_PORT_NO_LISTEN_SERVER : (int)cfg->listen_port;
    info.iface = cfg->listen_host;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (!cfg->listen_ipv6)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (r->tls) {
        /* lws reads this option from the vhost's info too, or serves plain HTTP */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
    }
    info.alpn = "http/1.1";
    info.server_string = "saltchat-relay";
    info.keepalive_timeout = (int)cfg->http_timeout;
    info.timeout_secs_ah_idle = cfg->http_timeout;
    info.retry_and_idle_policy = retry;
    /* info.extensions stays NULL: permessage-deflate is never negotiated. */
    r->vhost = lws_create_vhost(r->ctx, &info);
    if (!r->vhost) {
        explain_listen_failure(cfg, r->tls);
        return -1;
    }
    return 0;
}

static void announce(struct relay *r, int port)
{
    const relay_config *cfg = r->cfg;

    /* The one line on stdout: tests and scripts read the bound address from it. */
    printf("%s%s%s:%d\n", cfg->listen_ipv6 ? "[" : "", cfg->listen_host,
           cfg->listen_ipv6 ? "]" : "", port);
    fflush(stdout);
    relay_log(RELAY_LOG_NOTICE, "serving %s://%s%s%s:%d/ from %s", r->tls ? "https" : "http",
              cfg->listen_ipv6 ? "[" : "", cfg->listen_host, cfg->listen_ipv6 ? "]" : "", port,
              r->www_root);
}

int relay_server_run(const relay_config *cfg)
{
    struct relay *r = calloc(1, sizeof *r);
    struct lws_protocols protocols[4];
    int listen_fd = -1, port = 0;
    lws_retry_bo_t retry;
    int rc = 1;

    if (!r) {
        relay_log(RELAY_LOG_ERROR, "out of memory");
        return 1;
    }
    r->cfg = cfg;
    r->tls = cfg->tls_cert != NULL;
    signal(SIGPIPE, SIG_IGN);
    if (check_www(r))
        goto fail;
    if (r->tls && (check_readable("certificate", cfg->tls_cert) ||
                   check_readable("key", cfg->tls_key) || check_tls(cfg)))
        goto fail;
    if (check_evlib())
        goto fail;
    if (sodium_init() < 0) {
        relay_log(RELAY_LOG_ERROR, "libsodium failed to initialise");
        goto fail;
    }
    if (open_store(r))
        goto fail;

    r->scratch_cap = RELAY_BATCH_BYTES;
    r->scratch = malloc(LWS_PRE + r->scratch_cap);
    if (!r->scratch || relay_ws2_init(r)) {
        relay_log(RELAY_LOG_ERROR, "out of memory");
        goto fail;
    }

    memset(protocols, 0, sizeof protocols);
    protocols[0].name = "http";
    protocols[0].callback = relay_http_callback;
    protocols[1].name = RELAY_WS2_SUBPROTOCOL;
    protocols[1].callback = relay_ws2_callback;
    protocols[1].per_session_data_size = relay_ws2_session_size();
    protocols[1].rx_buffer_size = RELAY_WS_RX_CHUNK;
    /* lws cuts every socket write to tx_packet_size: make a whole entry one write. */
    protocols[1].tx_packet_size = RELAY_STORE_ENTRY_MAX + 1024u;
    protocols[2].name = RELAY_LISTEN_PROTOCOL;
    protocols[2].callback = relay_listen_callback;

    /* An all-zero policy turns lws's own validity pings off (its timer list is
     * O(n) per re-arm); relay_keepalive does that job in O(1). */
    memset(&retry, 0, sizeof retry);

    if (relay_http_init(r))
        goto fail;
    /* lws' receive buffers, one per WebSocket connection (relay_rxpool.h); HTTP
     * connections and refused handshakes beyond the limit fall back to malloc */
    if (relay_rxpool_init(RELAY_WS_RX_CHUNK + LWS_PRE + 4, cfg->max_connections + 256u) == 0)
        lws_set_allocator(relay_rxpool_lws_realloc);
    else
        relay_log(RELAY_LOG_WARN, "cannot reserve address space for receive buffers; "
                  "using malloc (more memory per idle connection)");
    if (create_context(r, fd_budget(cfg)))
        goto fail;
    /* before any other thread starts (relay_rawrx.h) */
    if (relay_rawrx_init(r->fd_limit, cfg->max_frame, relay_ws2_violation)) {
        relay_log(RELAY_LOG_ERROR, "out of memory");
        goto fail;
    }
    if (cfg->reuse_port) {
        char err[300];
        listen_fd = relay_listen_open(cfg, &port, err, sizeof err);
        if (listen_fd < 0) {
            relay_log(RELAY_LOG_ERROR, "%s", err);
            goto fail;
        }
    }
    if (create_vhost(r, protocols, &retry, listen_fd >= 0))
        goto fail;
    if (listen_fd >= 0) {
        int fd = listen_fd;
        listen_fd = -1; /* lws owns it now, or closed it */
        if (relay_listen_watch(r, fd)) {
            relay_log(RELAY_LOG_ERROR, "cannot watch the listening socket");
            goto fail;
        }
    } else {
        port = lws_get_vhost_listen_port(r->vhost);
    }
    announce(r, port);
    lws_sul_schedule(r->ctx, 0, &r->ka_sul, keepalive_cb, LWS_US_PER_SEC);
    if (cfg->n_cluster_urls && start_cluster(r))
        goto fail;

    signal_target = r;
    while (lws_service(r->ctx, 0) >= 0 && !r->shutting_down)
        ;
    signal_target = NULL;
    rc = r->fatal ? 1 : 0;
fail:
    if (listen_fd >= 0)
        close(listen_fd);
    if (r->ctx) {
        relay_v2c_detach(r->v2c); /* no thread wakes the context from now on */
        lws_context_destroy(r->ctx);
    }
    if (!relay_rxpool_in_use())
        relay_rxpool_fini();
    relay_rawrx_free();
    relay_http_free(r);
    relay_ws2_free(r);
    relay_v2c_free(r->v2c); /* after relay_ws2_free: the rooms' watches are stopped here */
    if (r->store && relay_store_staged(r->store))
        relay_log(RELAY_LOG_WARN, "v2: %zu writes were not made durable (nobody was told "
                  "they were)", relay_store_staged(r->store));
    relay_store_close(r->store);
    free(r->scratch);
    free(r);
    return rc;
}
