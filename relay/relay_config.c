#include "relay_config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_log.h"
#include "relay_origin.h"

/* The largest --max-frame (16 MiB). */
#define MAX_FRAME_LIMIT (16u * 1024u * 1024u)

#define USAGE                                                                              \
    "usage: saltchat-relay [options]\n"                                                    \
    "\n"                                                                                   \
    "Serves the saltchat web client over HTTP and keeps each room of protocol v2\n"       \
    "(WebSocket path /room/<base64url room id>, subprotocol saltchat.v2) as a durable\n"  \
    "log of ciphertext. The relay never sees a key.\n"                                     \
    "\n"                                                                                   \
    "  --listen ADDR:PORT       address to listen on (default 127.0.0.1:8080); ADDR is an\n" \
    "                           IP literal ([::1] for IPv6) or localhost; port 0 picks a\n" \
    "                           free port. The bound ADDR:PORT is printed on stdout.\n"     \
    "  --www DIR                web client files to serve (default " SALTCHAT_RELAY_WWW_DEFAULT ")\n" \
    "  --tls-cert FILE          PEM certificate (chain): serve https and wss\n"           \
    "  --tls-key FILE           PEM private key for --tls-cert\n"                         \
    "  --max-frame BYTES        largest WebSocket message accepted (default 64K)\n"       \
    "  --max-connections N      WebSocket connections (default 16384)\n"                  \
    "  --sndbuf BYTES           kernel send buffer of each WebSocket connection, 4K to\n" \
    "                           64M (default: the kernel's autotuning, up to\n"          \
    "                           net.ipv4.tcp_wmem's maximum); smaller bounds what a\n"     \
    "                           stalled member holds in the kernel\n"                      \
    "  --rate-limit N           messages per second per connection, 0 = off (default 1000)\n" \
    "  --rate-burst N           messages a connection may send at once (default 5000)\n" \
    "  --ping-interval SECS     idle seconds before a WebSocket ping (default 30)\n"      \
    "  --ping-timeout SECS      further seconds without a pong before hanging up\n"       \
    "                           (default 10)\n"                                           \
    "  --http-timeout SECS      seconds a client has to send its request headers\n"      \
    "                           (default 10)\n"                                           \
    "  --allow-origin URL       also accept WebSocket handshakes from this web origin,\n" \
    "                           e.g. https://chat.example.org (repeatable); same-origin\n" \
    "                           pages and clients sending no Origin are always accepted\n" \
    "  --cluster nats://HOST:PORT  share rooms with other relays: their logs live in\n"  \
    "                           JetStream on this NATS broker (nats-server -js;\n"       \
    "                           repeatable: servers of one NATS cluster); see\n"          \
    "                           docs/CLUSTER.md. Without it the logs are in --data-dir.\n" \
    "  --peer-url URL           another relay of the cluster (e.g. https://relay2.example\n" \
    "                           .org, repeatable): its pages may connect here, and this\n" \
    "                           relay's page lists it (/cluster.json) to fail over to it\n" \
    "  --reuse-port             let other relays on this host listen on the same port\n"  \
    "                           (SO_REUSEPORT): the kernel spreads connections over them\n" \
    "  --data-dir DIR           where the v2 room logs are kept (store.db; created on\n" \
    "                           first run; default $STATE_DIRECTORY, /var/lib/\n"         \
    "                           saltchat-relay as root, else $XDG_DATA_HOME/saltchat-relay\n" \
    "                           or ~/.local/share/saltchat-relay)\n"                      \
    "  --retain-age DURATION    v2: drop a room's entries older than this, 0 = never\n"  \
    "                           (default 30d; suffix s, m, h or d)\n"                     \
    "  --retain-entries N       v2: keep at most N entries per room, 0 = no bound\n"     \
    "                           (default 100000)\n"                                       \
    "  --retain-bytes BYTES     v2: keep at most this many bytes of entries per room,\n" \
    "                           0 = no bound (default 256M)\n"                            \
    "  --max-store BYTES        v2: cap on the store's database file (e.g. 10G); writes\n"\
    "                           past it are refused with ERROR STORAGE (default: none)\n"  \
    "  --log-level LEVEL        error, warn, notice, info or debug (default notice)\n"    \
    "  --help                   show this help\n"                                         \
    "  --version                show the version\n"                                       \
    "\n"                                                                                   \
    "Sizes accept a K or M suffix (KiB, MiB; --retain-bytes also G). Exit status: 0\n"   \
    "after a clean shutdown (SIGINT/SIGTERM), 1 on a runtime error (port busy,\n"          \
    "unreadable certificate, missing web root, unreadable or damaged store), 2 on bad\n" \
    "flags.\n"

enum {
    OPT_LISTEN = 256,
    OPT_WWW,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_MAX_FRAME,
    OPT_MAX_CONNECTIONS,
    OPT_SNDBUF,
    OPT_RATE_LIMIT,
    OPT_RATE_BURST,
    OPT_PING_INTERVAL,
    OPT_PING_TIMEOUT,
    OPT_HTTP_TIMEOUT,
    OPT_ALLOW_ORIGIN,
    OPT_CLUSTER,
    OPT_PEER_URL,
    OPT_REUSE_PORT,
    OPT_LOG_LEVEL,
    OPT_DATA_DIR,
    OPT_RETAIN_AGE,
    OPT_RETAIN_ENTRIES,
    OPT_RETAIN_BYTES,
    OPT_MAX_STORE,
    OPT_HELP,
    OPT_VERSION
};

static const struct option options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"www", required_argument, NULL, OPT_WWW},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"sndbuf", required_argument, NULL, OPT_SNDBUF},
    {"rate-limit", required_argument, NULL, OPT_RATE_LIMIT},
    {"rate-burst", required_argument, NULL, OPT_RATE_BURST},
    {"ping-interval", required_argument, NULL, OPT_PING_INTERVAL},
    {"ping-timeout", required_argument, NULL, OPT_PING_TIMEOUT},
    {"http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
    {"allow-origin", required_argument, NULL, OPT_ALLOW_ORIGIN},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"peer-url", required_argument, NULL, OPT_PEER_URL},
    {"reuse-port", no_argument, NULL, OPT_REUSE_PORT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"retain-age", required_argument, NULL, OPT_RETAIN_AGE},
    {"retain-entries", required_argument, NULL, OPT_RETAIN_ENTRIES},
    {"retain-bytes", required_argument, NULL, OPT_RETAIN_BYTES},
    {"max-store", required_argument, NULL, OPT_MAX_STORE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void defaults(relay_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 8080;
    cfg->www = SALTCHAT_RELAY_WWW_DEFAULT;
    cfg->max_frame = 64 * 1024;
    cfg->max_connections = 16384;
    cfg->rate_limit = 1000;
    cfg->rate_burst = 5000;
    cfg->ping_interval = 30;
    cfg->ping_timeout = 10;
    cfg->http_timeout = 10;
    cfg->log_level = RELAY_LOG_NOTICE;
    cfg->retain_age_ms = 30ull * 24 * 3600 * 1000;
    cfg->retain_entries = 100000;
    cfg->retain_bytes = 256ull * 1024 * 1024;
}

/*
 * Parses a decimal number followed by one optional suffix from units (a string of
 * letters, lower case) with the matching multipliers; the result must be <= max.
 */
static int parse_u64(const char *s, const char *units, const uint64_t *mult, uint64_t max,
                     uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p) {
        const char *u = strchr(units, *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        if (!u || p[1])
            return -1;
        uint64_t m = mult[u - units];
        if (v && v > max / m)
            return -1;
        v *= m;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int relay_config_default_data_dir(char *out, size_t cap)
{
    const char *st = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;

    if (st && st[0] == '/') {
        size_t len = strcspn(st, ":"); /* several StateDirectory= entries: the first */
        n = snprintf(out, cap, "%.*s", (int)len, st);
    } else if (geteuid() == 0) {
        n = snprintf(out, cap, "/var/lib/saltchat-relay");
    } else if (xdg && xdg[0] == '/') {
        n = snprintf(out, cap, "%s/saltchat-relay", xdg);
    } else if (home && home[0] == '/') {
        n = snprintf(out, cap, "%s/.local/share/saltchat-relay", home);
    } else {
        return -1;
    }
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Parses a decimal count, with a K/M (KiB/MiB) suffix if sizes is set, in [min, max]. */
static int parse_uint(const char *s, int sizes, uint64_t min, uint64_t max, uint32_t *out)
{
    uint64_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return -1;
    }
    if (sizes && (*p == 'K' || *p == 'k')) {
        v *= 1024;
        p++;
    } else if (sizes && (*p == 'M' || *p == 'm')) {
        v *= 1024 * 1024;
        p++;
    }
    if (*p || v < min || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_listen(relay_config *cfg, const char *s)
{
    const char *colon = strrchr(s, ':');
    char host[sizeof cfg->listen_host];
    unsigned char addr[16];
    uint32_t port;

    if (!colon || parse_uint(colon + 1, 0, 0, 65535, &port))
        return -1;
    size_t len = (size_t)(colon - s);
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    if (!len || len >= sizeof host)
        return -1;
    memcpy(host, s, len);
    host[len] = '\0';
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, addr) == 1)
        cfg->listen_ipv6 = 0;
    else if (inet_pton(AF_INET6, host, addr) == 1)
        cfg->listen_ipv6 = 1;
    else
        return -1;
    strcpy(cfg->listen_host, host);
    cfg->listen_port = port;
    return 0;
}

static int add_origin(relay_config *cfg, const char *url)
{
    char norm[RELAY_ORIGIN_MAX];

    if (relay_origin_normalize(url, norm, sizeof norm))
        return -1;
    char **o = realloc(cfg->origins, (cfg->n_origins + 1) * sizeof *o);
    if (!o)
        return -1;
    cfg->origins = o;
    o[cfg->n_origins] = strdup(norm);
    if (!o[cfg->n_origins])
        return -1;
    cfg->n_origins++;
    return 0;
}

static int push(char ***list, size_t *n, const char *v)
{
    char **l = realloc(*list, (*n + 1) * sizeof *l);
    if (!l)
        return -1;
    *list = l;
    if (!(l[*n] = strdup(v)))
        return -1;
    (*n)++;
    return 0;
}

/* nats://HOST:PORT (or tls://): scheme, a host, a port 1..65535, nothing else. */
static int valid_nats_url(const char *u)
{
    const char *p;
    uint32_t port;

    if (!strncmp(u, "nats://", 7))
        p = u + 7;
    else if (!strncmp(u, "tls://", 6))
        p = u + 6;
    else
        return 0;
    const char *colon = strrchr(p, ':');
    if (!colon || colon == p || strlen(u) > 255)
        return 0;
    for (const char *q = p; q < colon; q++)
        if (*q == '/' || *q == '@' || *q == ' ' || (unsigned char)*q < 0x21 || *q == 0x7f)
            return 0;
    return !parse_uint(colon + 1, 0, 1, 65535, &port);
}

static enum relay_config_result bad(relay_config *cfg, FILE *err, const char *flag,
                                    const char *what, const char *got)
{
    if (got)
        fprintf(err, "saltchat-relay: %s: %s, got '%s'\n\n%s", flag, what, got, USAGE);
    else
        fprintf(err, "saltchat-relay: %s: %s\n\n%s", flag, what, USAGE);
    relay_config_free(cfg);
    return RELAY_CONFIG_BAD;
}

static void free_list(char ***list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

void relay_config_free(relay_config *cfg)
{
    free_list(&cfg->origins, &cfg->n_origins);
    free_list(&cfg->cluster_urls, &cfg->n_cluster_urls);
    free_list(&cfg->peer_urls, &cfg->n_peer_urls);
}

enum relay_config_result relay_config_parse(relay_config *cfg, int argc, char **argv, FILE *out,
                                            FILE *err)
{
    int c;

    defaults(cfg);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case OPT_LISTEN:
            if (parse_listen(cfg, a))
                return bad(cfg, err, "--listen",
                           "expected ADDR:PORT with an IP address (e.g. 127.0.0.1:8080, "
                           "[::1]:8080) and a port 0..65535",
                           a);
            break;
        case OPT_WWW:
            if (!*a)
                return bad(cfg, err, "--www", "expected a directory", a);
            cfg->www = a;
            break;
        case OPT_TLS_CERT:
            cfg->tls_cert = a;
            break;
        case OPT_TLS_KEY:
            cfg->tls_key = a;
            break;
        case OPT_MAX_FRAME:
            if (parse_uint(a, 1, 64, MAX_FRAME_LIMIT, &cfg->max_frame))
                return bad(cfg, err, "--max-frame",
                           "expected a size from 64 to 16M bytes (e.g. 65536 or 64K)", a);
            break;
        case OPT_MAX_CONNECTIONS:
            if (parse_uint(a, 0, 1, 10000000, &cfg->max_connections))
                return bad(cfg, err, "--max-connections",
                           "expected a number from 1 to 10000000", a);
            break;
        case OPT_SNDBUF:
            if (parse_uint(a, 1, 4 * 1024, 64u * 1024 * 1024, &cfg->sndbuf))
                return bad(cfg, err, "--sndbuf", "expected a size from 4K to 64M bytes", a);
            break;
        case OPT_RATE_LIMIT:
            if (parse_uint(a, 0, 0, 100000000, &cfg->rate_limit))
                return bad(cfg, err, "--rate-limit",
                           "expected messages per second (0 turns the limit off)", a);
            break;
        case OPT_RATE_BURST:
            if (parse_uint(a, 0, 1, 100000000, &cfg->rate_burst))
                return bad(cfg, err, "--rate-burst", "expected a number of messages >= 1", a);
            break;
        case OPT_PING_INTERVAL:
            if (parse_uint(a, 0, 1, 3600, &cfg->ping_interval))
                return bad(cfg, err, "--ping-interval", "expected seconds from 1 to 3600", a);
            break;
        case OPT_PING_TIMEOUT:
            if (parse_uint(a, 0, 1, 3600, &cfg->ping_timeout))
                return bad(cfg, err, "--ping-timeout", "expected seconds from 1 to 3600", a);
            break;
        case OPT_HTTP_TIMEOUT:
            if (parse_uint(a, 0, 1, 3600, &cfg->http_timeout))
                return bad(cfg, err, "--http-timeout", "expected seconds from 1 to 3600", a);
            break;
        case OPT_ALLOW_ORIGIN:
            if (add_origin(cfg, a))
                return bad(cfg, err, "--allow-origin",
                           "expected an http(s) origin such as https://chat.example.org "
                           "(scheme, host, optional port; no path)",
                           a);
            break;
        case OPT_CLUSTER:
            if (!valid_nats_url(a))
                return bad(cfg, err, "--cluster",
                           "expected a NATS server URL nats://HOST:PORT (e.g. "
                           "nats://127.0.0.1:4222)",
                           a);
            if (push(&cfg->cluster_urls, &cfg->n_cluster_urls, a))
                return bad(cfg, err, "--cluster", "out of memory", NULL);
            break;
        case OPT_PEER_URL: {
            char norm[RELAY_ORIGIN_MAX];
            if (relay_origin_normalize(a, norm, sizeof norm))
                return bad(cfg, err, "--peer-url",
                           "expected another relay's http(s) address such as "
                           "https://relay2.example.org (scheme, host, optional port; no path)",
                           a);
            if (push(&cfg->peer_urls, &cfg->n_peer_urls, norm) ||
                push(&cfg->origins, &cfg->n_origins, norm))
                return bad(cfg, err, "--peer-url", "out of memory", NULL);
            break;
        }
        case OPT_REUSE_PORT:
            cfg->reuse_port = 1;
            break;
        case OPT_LOG_LEVEL:
            cfg->log_level = relay_log_level_parse(a);
            if (cfg->log_level < 0)
                return bad(cfg, err, "--log-level",
                           "expected error, warn, notice, info or debug", a);
            break;
        case OPT_DATA_DIR:
            if (!*a)
                return bad(cfg, err, "--data-dir", "expected a directory", a);
            cfg->data_dir = a;
            break;
        case OPT_RETAIN_AGE: {
            static const uint64_t m[] = {1000, 60000, 3600000, 86400000};
            if (parse_u64(a, "smhd", m, 100ull * 365 * 86400000, &cfg->retain_age_ms))
                return bad(cfg, err, "--retain-age",
                           "expected a duration such as 30d, 12h, 90m or 3600s (0 = never), "
                           "at most 100 years", a);
            if (a[strlen(a) - 1] >= '0' && a[strlen(a) - 1] <= '9')
                cfg->retain_age_ms *= 1000; /* a bare number is seconds */
            break;
        }
        case OPT_RETAIN_ENTRIES: {
            static const uint64_t m[] = {1};
            if (parse_u64(a, "", m, 1000000000000ull, &cfg->retain_entries))
                return bad(cfg, err, "--retain-entries",
                           "expected a number of entries (0 = no bound)", a);
            break;
        }
        case OPT_RETAIN_BYTES: {
            static const uint64_t m[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};
            if (parse_u64(a, "kmg", m, 1ull << 50, &cfg->retain_bytes))
                return bad(cfg, err, "--retain-bytes",
                           "expected a size such as 256M or 2G (0 = no bound)", a);
            break;
        }
        case OPT_MAX_STORE: {
            static const uint64_t m[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};
            if (parse_u64(a, "kmg", m, 1ull << 50, &cfg->max_store) ||
                (cfg->max_store && cfg->max_store < 1024 * 1024))
                return bad(cfg, err, "--max-store",
                           "expected a size of at least 1M such as 512M or 10G (0 = no cap)", a);
            break;
        }
        case OPT_HELP:
            fputs(USAGE, out);
            relay_config_free(cfg);
            return RELAY_CONFIG_DONE;
        case OPT_VERSION:
            fprintf(out, "saltchat-relay %s (protocol saltchat.v2)\n",
                    SALTCHAT_VERSION);
            relay_config_free(cfg);
            return RELAY_CONFIG_DONE;
        case ':':
            return bad(cfg, err, argv[optind - 1], "this flag needs a value", NULL);
        default:
            return bad(cfg, err, argv[optind - 1], "unknown flag", NULL);
        }
    }
    if (optind < argc)
        return bad(cfg, err, argv[optind], "unexpected argument (all settings are flags)", NULL);
    if (!cfg->tls_cert != !cfg->tls_key)
        return bad(cfg, err, cfg->tls_cert ? "--tls-cert" : "--tls-key",
                   "--tls-cert and --tls-key go together", NULL);
    if (cfg->n_peer_urls && !cfg->n_cluster_urls)
        return bad(cfg, err, "--peer-url",
                   "only makes sense with --cluster (relays that share rooms)", NULL);
    return RELAY_CONFIG_RUN;
}
