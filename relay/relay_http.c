#include "relay_http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "relay_files.h"
#include "relay_log.h"
#include "relay_origin.h"
#include "relay_rawrx.h"
#include "relay_server.h"
#include "relay_store.h"
#include "relay_ws2.h"

/* Room for response headers in the scratch buffer; bodies go after it. */
#define HEADER_SPACE 2048u

/* Every response's security headers after the CSP (which is built at start). */
static const struct {
    const char *name;
    const char *value;
} security_headers[] = {
    {"x-content-type-options:", "nosniff"},
    {"referrer-policy:", "no-referrer"},
    {"x-frame-options:", "DENY"},
    {"cross-origin-opener-policy:", "same-origin"},
};

struct text {
    char *p;
    size_t len, cap;
    int oom;
};

static void append(struct text *t, const char *s)
{
    size_t n = strlen(s);

    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n + 1);
    t->len += n;
}

int relay_http_init(struct relay *r)
{
    const relay_config *cfg = r->cfg;
    struct text csp = {0}, fh = {0}, js = {0};

    append(&csp, RELAY_HTTP_CSP);
    if (cfg->n_peer_urls) {
        /* the page may open WebSockets to the other relays of its cluster */
        append(&csp, "; connect-src 'self'");
        for (size_t i = 0; i < cfg->n_peer_urls; i++) {
            const char *o = cfg->peer_urls[i];
            append(&csp, strncmp(o, "https://", 8) ? " ws://" : " wss://");
            append(&csp, strchr(o, ':') + 3);
        }
    }
    append(&fh, "content-security-policy: ");
    append(&fh, csp.p ? csp.p : "");
    append(&fh, "\x0d\x0a");
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++) {
        append(&fh, security_headers[i].name);
        append(&fh, " ");
        append(&fh, security_headers[i].value);
        append(&fh, "\x0d\x0a");
    }
    append(&fh, "cache-control: no-cache\x0d\x0a");
    append(&js, "{\"relays\":[");
    for (size_t i = 0; i < cfg->n_peer_urls; i++) {
        append(&js, i ? ",\"" : "\"");
        append(&js, cfg->peer_urls[i]); /* normalized origins: no quote or backslash */
        append(&js, "/\"");
    }
    append(&js, "]}\n");
    r->csp = csp.p;
    r->file_headers = fh.p;
    r->file_headers_len = fh.len;
    r->cluster_json = js.p;
    if (csp.oom || fh.oom || js.oom) {
        relay_log(RELAY_LOG_ERROR, "out of memory");
        return -1;
    }
    return 0;
}

void relay_http_free(struct relay *r)
{
    free(r->csp);
    free(r->file_headers);
    free(r->cluster_json);
    r->csp = r->file_headers = r->cluster_json = NULL;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p,
                                       end);
}

/* Where a response body of up to cap bytes may be built before calling respond(). */
static char *body_area(struct relay *r, size_t *cap)
{
    *cap = r->scratch_cap - HEADER_SPACE - LWS_PRE;
    return (char *)r->scratch + LWS_PRE + HEADER_SPACE + LWS_PRE;
}

/*
 * Writes a complete response: status, type, security headers, then body[0..blen)
 * unless head_only (HEAD: the headers announce blen). body must be NULL or lie
 * in body_area(). Returns 0, or -1 if the connection must close.
 */
static int respond(struct relay *r, struct lws *wsi, unsigned code, const char *type,
                   const char *body, size_t blen, const char *cache, const char *extra_name,
                   const char *extra_value, int head_only)
{
    unsigned char *start = r->scratch + LWS_PRE;
    unsigned char *p = start, *end = start + HEADER_SPACE;
    size_t cap;
    char *area = body_area(r, &cap);

    if (body && body != area) {
        if (blen > cap)
            return -1;
        memmove(area, body, blen);
    }
    if (lws_add_http_common_headers(wsi, code, type, blen, &p, end))
        return -1;
    if (add_header(wsi, "content-security-policy:", r->csp, &p, end))
        return -1;
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        if (add_header(wsi, security_headers[i].name, security_headers[i].value, &p, end))
            return -1;
    if (cache && add_header(wsi, "cache-control:", cache, &p, end))
        return -1;
    if (extra_name && add_header(wsi, extra_name, extra_value, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (blen && !head_only &&
        lws_write(wsi, (unsigned char *)area, blen, LWS_WRITE_HTTP_FINAL) < (int)blen)
        return -1;
    return 0;
}

static int respond_text(struct relay *r, struct lws *wsi, unsigned code, const char *text,
                        int head_only)
{
    return respond(r, wsi, code, "text/plain; charset=utf-8", text, strlen(text), "no-store",
                   NULL, NULL, head_only);
}

/*
 * Refuses a WebSocket upgrade with an HTTP error. At this point lws has not yet
 * recorded the request's HTTP version and would write an "HTTP/1.0" status line,
 * which WebSocket clients reject as malformed, so the whole response is built
 * here. extra: more header lines (each ending in CRLF), or NULL. Returns 1 (lws
 * then ends the transaction and closes) or -1.
 */
static int refuse_upgrade_with(struct relay *r, struct lws *wsi, unsigned code,
                               const char *phrase, const char *extra, const char *text)
{
    char *buf = (char *)r->scratch + LWS_PRE;
    size_t cap = r->scratch_cap, len = 0;
    int n = snprintf(buf, cap, "HTTP/1.1 %u %s\r\n", code, phrase);

    if (n < 0 || (size_t)n >= cap)
        return -1;
    len = (size_t)n;
    n = snprintf(buf + len, cap - len, "content-security-policy: %s\r\n", r->csp);
    if (n < 0 || (size_t)n >= cap - len)
        return -1;
    len += (size_t)n;
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++) {
        n = snprintf(buf + len, cap - len, "%s %s\r\n", security_headers[i].name,
                     security_headers[i].value);
        if (n < 0 || (size_t)n >= cap - len)
            return -1;
        len += (size_t)n;
    }
    n = snprintf(buf + len, cap - len,
                 "%scontent-type: text/plain; charset=utf-8\r\ncache-control: no-store\r\n"
                 "connection: close\r\ncontent-length: %zu\r\n\r\n%s",
                 extra ? extra : "", strlen(text), text);
    if (n < 0 || (size_t)n >= cap - len)
        return -1;
    len += (size_t)n;
    return lws_write(wsi, (unsigned char *)buf, len, LWS_WRITE_HTTP_HEADERS) < (int)len ? -1 : 1;
}

static int refuse_upgrade(struct relay *r, struct lws *wsi, unsigned code, const char *phrase,
                          const char *text)
{
    return refuse_upgrade_with(r, wsi, code, phrase, NULL, text);
}

/* Ends an HTTP transaction from the LWS_CALLBACK_HTTP handler. */
static int done(struct lws *wsi, int rc)
{
    if (rc)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int header(struct lws *wsi, enum lws_token_indexes h, char *buf, size_t cap)
{
    if (lws_hdr_total_length(wsi, h) <= 0)
        return -1;
    return lws_hdr_copy(wsi, buf, (int)cap, h) < 0 ? -1 : 0;
}

/* Returns 1 if the comma-separated list has the token want (any case if nocase). */
static int has_token(const char *list, const char *want, int nocase)
{
    size_t wl = strlen(want);

    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == wl && !(nocase ? strncasecmp(p, want, wl) : strncmp(p, want, wl)))
            return 1;
        p = e;
    }
    return 0;
}

/* Returns 1 if v names HTTP/1.1 or a later version ("HTTP/<major>.<minor>"). */
static int http_1_1_or_later(const char *v)
{
    unsigned major, minor;
    int end = 0;

    if (sscanf(v, "HTTP/%u.%u%n", &major, &minor, &end) != 2 || v[end])
        return 0;
    return major > 1 || (major == 1 && minor >= 1);
}

/* Returns 1 if key is the base64 form of 16 bytes: 22 characters (the last with
 * its 4 low bits zero, as the encoder writes it) and "==". */
static int ws_key_valid(const char *key)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    if (strlen(key) != 24 || strcmp(key + 22, "=="))
        return 0;
    for (int i = 0; i < 22; i++) {
        const char *c = key[i] ? strchr(b64, key[i]) : NULL;
        if (!c || (i == 21 && ((c - b64) & 15)))
            return 0;
    }
    return 1;
}

/*
 * RFC 6455 section 4.2.1: what lws 4.1.6 does not check (it takes any method, HTTP
 * version, Sec-WebSocket-Key and -Version, and hangs up without an answer on a
 * missing Host or Connection). Returns 0, or 1 after answering 400 or 426, or -1.
 */
static int vet_handshake(struct relay *r, struct lws *wsi)
{
    static const char version_hdr[] = "sec-websocket-version: 13\r\n";
    const char *bad = NULL;
    char buf[256];

    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        bad = "a WebSocket handshake is a GET request\n";
    else if (header(wsi, WSI_TOKEN_HTTP, buf, sizeof buf) || !http_1_1_or_later(buf))
        bad = "a WebSocket handshake needs HTTP/1.1\n";
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) <= 0)
        bad = "the Host header is missing\n";
    else if (header(wsi, WSI_TOKEN_CONNECTION, buf, sizeof buf) || !has_token(buf, "upgrade", 1))
        bad = "the Connection header must name Upgrade\n";
    else if (header(wsi, WSI_TOKEN_KEY, buf, sizeof buf) || !ws_key_valid(buf))
        bad = "Sec-WebSocket-Key must be 16 bytes in base64\n";
    if (bad) {
        r->metrics.refused[RELAY_REFUSE_HANDSHAKE]++;
        return refuse_upgrade(r, wsi, 400, "Bad Request", bad);
    }
    if (header(wsi, WSI_TOKEN_VERSION, buf, sizeof buf)) {
        r->metrics.refused[RELAY_REFUSE_HANDSHAKE]++;
        return refuse_upgrade_with(r, wsi, 400, "Bad Request", version_hdr,
                                   "Sec-WebSocket-Version is missing: this relay speaks 13\n");
    }
    if (strcmp(buf, "13")) {
        r->metrics.refused[RELAY_REFUSE_HANDSHAKE]++;
        return refuse_upgrade_with(r, wsi, 426, "Upgrade Required", version_hdr,
                                   "unsupported Sec-WebSocket-Version: this relay speaks 13\n");
    }
    return 0;
}

/*
 * Vets a WebSocket upgrade. Returns 0 to let it proceed, 1 after answering with
 * an HTTP error (lws then completes the transaction), -1 to hang up.
 */
static int confirm_upgrade(struct relay *r, struct lws *wsi, const char *upgrade)
{
    char uri[512], proto[256], origin[RELAY_ORIGIN_MAX], host[300];

    if (strcasecmp(upgrade, "websocket"))
        return refuse_upgrade(r, wsi, 400, "Bad Request", "only WebSocket upgrades are supported\n");
    int rc = vet_handshake(r, wsi);
    if (rc)
        return rc;
    if (header(wsi, WSI_TOKEN_GET_URI, uri, sizeof uri) || strncmp(uri, "/room/", 6) ||
        !relay_ws2_room_path_valid(uri + 6)) {
        r->metrics.refused[RELAY_REFUSE_PATH]++;
        return refuse_upgrade(r, wsi, 404, "Not Found",
                              "no such WebSocket endpoint: use /room/<room-id>, the id being "
                              "the base64url (no padding) of the 16-byte room id\n");
    }
    if (header(wsi, WSI_TOKEN_PROTOCOL, proto, sizeof proto) ||
        !has_token(proto, RELAY_WS2_SUBPROTOCOL, 0)) {
        r->metrics.refused[RELAY_REFUSE_SUBPROTOCOL]++;
        if (!has_token(proto, "saltchat.v1", 0))
            return refuse_upgrade(r, wsi, 400, "Bad Request",
                                  "WebSocket subprotocol " RELAY_WS2_SUBPROTOCOL
                                  " is required (Sec-WebSocket-Protocol)\n");
        /* an old client: say why rather than only that the header is wrong */
        return refuse_upgrade(r, wsi, 400, "Bad Request",
                              "protocol saltchat.v1 is no longer served: this relay speaks "
                              RELAY_WS2_SUBPROTOCOL " only; update the client\n");
    }
    int has_origin = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0;
    if (has_origin && header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin))
        origin[0] = '\0'; /* too long: refused below */
    int has_host = !header(wsi, WSI_TOKEN_HOST, host, sizeof host);
    if (!relay_origin_allowed(has_origin ? origin : NULL, has_host ? host : NULL,
                              (const char *const *)r->cfg->origins, r->cfg->n_origins)) {
        r->metrics.refused[RELAY_REFUSE_ORIGIN]++;
        relay_log(RELAY_LOG_INFO, "refused a WebSocket handshake from a foreign origin");
        return refuse_upgrade(r, wsi, 403, "Forbidden",
                              "origin not allowed: this relay accepts its own pages, clients "
                              "sending no Origin, and origins given with --allow-origin\n");
    }
    return 0;
}

static int serve_file(struct relay *r, struct lws *wsi, const char *uri, int head_only)
{
    char path[PATH_MAX];
    struct stat st;

    if (relay_files_resolve(r->www_root, uri, path, sizeof path))
        return done(wsi, respond_text(r, wsi, 404, "not found\n", head_only));
    const char *type = relay_files_mime(path);
    if (head_only) {
        if (stat(path, &st))
            return done(wsi, respond_text(r, wsi, 404, "not found\n", 1));
        return done(wsi, respond(r, wsi, 200, type, NULL, (size_t)st.st_size, "no-cache", NULL,
                                 NULL, 1));
    }
    int n = lws_serve_http_file(wsi, path, type, r->file_headers, (int)r->file_headers_len);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

static int serve(struct relay *r, struct lws *wsi, const char *uri)
{
    int head_only;
    size_t cap;

    r->metrics.http_requests++;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0) {
        head_only = 0;
    } else if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0) {
        head_only = 1;
    } else {
        static const char msg[] = "only GET and HEAD are supported\n";
        respond(r, wsi, 405, "text/plain; charset=utf-8", msg, sizeof msg - 1, "no-store",
                "allow:", "GET, HEAD", 0);
        return -1; /* a request body may follow: do not try to parse it */
    }
    if (!strcmp(uri, "/healthz"))
        return done(wsi, respond_text(r, wsi, 200, "ok\n", head_only));
    if (!strcmp(uri, "/cluster.json"))
        return done(wsi, respond(r, wsi, 200, "application/json", r->cluster_json,
                                 strlen(r->cluster_json), "no-store", NULL, NULL, head_only));
    if (!strcmp(uri, "/metrics")) {
        char *body = body_area(r, &cap);
        size_t n = relay_metrics_render(&r->metrics, body, cap);
        if (n && r->store) {
            relay_store_stats st;
            relay_metrics_v2 *v = &r->metrics.v2;
            relay_store_stats_get(r->store, &st);
            v->rooms = st.rooms;
            v->entries = st.entries;
            v->entry_bytes = st.bytes;
            v->file_bytes = st.file_bytes;
            v->flushes = st.flushes;
            v->flush_failures = st.flush_failures;
            v->flush_ns_sum = st.flush_ns_sum;
            v->flush_ns_max = st.flush_ns_max;
            v->retained_out = st.retained_out;
            size_t m = relay_metrics_render_v2(v, body + n, cap - n);
            n = m ? n + m : 0;
        }
        if (!n)
            return done(wsi, respond_text(r, wsi, 500, "metrics do not fit\n", head_only));
        return done(wsi, respond(r, wsi, 200, "text/plain; version=0.0.4; charset=utf-8", body,
                                 n, "no-store", NULL, NULL, head_only));
    }
    if (!strncmp(uri, "/room/", 6)) {
        static const char text[] = "this is a WebSocket endpoint: connect with subprotocol "
                                   RELAY_WS2_SUBPROTOCOL "\n";
        char *body = body_area(r, &cap);
        if (sizeof text - 1 > cap)
            return done(wsi, -1);
        memcpy(body, text, sizeof text - 1);
        /* RFC 9110 15.5.22: a 426 names the protocol to upgrade to. */
        return done(wsi, respond(r, wsi, 426, "text/plain; charset=utf-8", body,
                                 sizeof text - 1, "no-store", "upgrade:", "websocket",
                                 head_only));
    }
    return serve_file(r, wsi, uri, head_only);
}

int relay_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct relay *r = wsi ? relay_of(wsi) : NULL;

    if (!r)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        /* fds are allocated lowest first: a high one means few are left */
        if ((intptr_t)in >= (intptr_t)r->fd_limit) {
            r->metrics.refused[RELAY_REFUSE_FDS]++;
            return 1;
        }
        relay_rawrx_accept((int)(intptr_t)in);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        relay_rawrx_release(lws_get_socket_fd(wsi));
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(r, wsi, in);
    case LWS_CALLBACK_HTTP:
        return serve(r, wsi, in);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
