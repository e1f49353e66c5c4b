#include "cli_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_buf.h"

struct cli_ws {
    cli_loop *loop;
    cli_ws_handler h;
    struct lws *wsi;
    int open;
    int closing;
    uint16_t close_code;
    char close_reason[64];
    uint16_t peer_code;
    char peer_reason[128];
    int rx_overflow;
    cli_buf rx;
    cli_buf tx;
    /* While cli_ws_connect runs, a failure reported by lws is kept for its return. */
    int in_connect;
    int failed_in_connect;
    char fail_msg[300];
    char url[1024];
    char host[300];
    char path[1024];
};

static const lws_retry_bo_t keepalive = {
    .secs_since_valid_ping = 20,   /* send a PING after 20 s without traffic */
    .secs_since_valid_hangup = 40, /* and give up on a relay silent for 40 s */
};

static int looks_like_tls(const char *s)
{
    return strstr(s, "certificate") || strstr(s, "verify") || strstr(s, "SSL") ||
           strstr(s, "tls") || strstr(s, "cert");
}

static void finish(cli_ws *w, struct lws *wsi, int was_open, const char *why)
{
    cli_ws_end e;
    char reason[300];
    memset(&e, 0, sizeof e);
    e.was_open = was_open;
    e.local = w->closing;
    e.close_code = w->peer_code;
    if (!was_open && wsi)
        e.http_status = (int)lws_http_client_http_response(wsi);
    if (e.http_status < 300) /* 101 with a bad handshake: lws's reason says more */
        e.http_status = 0;
    if (w->peer_code)
        snprintf(reason, sizeof reason, "closed by the relay (%u%s%s)", (unsigned)w->peer_code,
                 w->peer_reason[0] ? ": " : "", w->peer_reason);
    else if (e.http_status)
        snprintf(reason, sizeof reason, "relay refused the WebSocket (HTTP %d)", e.http_status);
    else
        snprintf(reason, sizeof reason, "%s", why && *why ? why : "connection lost");
    e.reason = reason;
    e.tls_error = !was_open && !e.http_status && why && looks_like_tls(why);
    w->wsi = NULL;
    w->open = 0;
    w->closing = 0;
    cli_buf_clear(&w->rx);
    if (w->in_connect) {
        w->failed_in_connect = 1;
        snprintf(w->fail_msg, sizeof w->fail_msg, "%s", reason);
        return;
    }
    w->h.on_end(w->h.user, &e);
}

static int write_one(cli_ws *w, struct lws *wsi)
{
    size_t len;
    const uint8_t *msg = w->h.next_output(w->h.user, &len);
    if (!msg)
        return 0;
    cli_buf_clear(&w->tx);
    if (cli_buf_reserve(&w->tx, LWS_PRE + len, 0))
        return -1;
    memcpy(w->tx.data + LWS_PRE, msg, len);
    int n = lws_write(wsi, w->tx.data + LWS_PRE, len, LWS_WRITE_BINARY);
    cli_buf_clear(&w->tx);
    if (n < 0 || (size_t)n < len)
        return -1;
    w->h.output_done(w->h.user);
    if (w->h.next_output(w->h.user, &len))
        lws_callback_on_writable(wsi);
    return 0;
}

static int receive(cli_ws *w, struct lws *wsi, const void *in, size_t len)
{
    if (!lws_frame_is_binary(wsi)) {
        snprintf(w->peer_reason, sizeof w->peer_reason, "relay sent a text frame");
        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, NULL, 0);
        return -1;
    }
    if (cli_buf_reserve(&w->rx, len, CLI_WS_MAX_MESSAGE)) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        return -1;
    }
    cli_buf_append(&w->rx, in, len);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0)
        return 0;
    int rc = w->h.on_message(w->h.user, w->rx.data, w->rx.len);
    cli_buf_clear(&w->rx);
    if (rc) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, NULL, 0);
        return -1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    cli_ws *w = user;
    if (!w || (w->wsi && w->wsi != wsi))
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (w->wsi || w->in_connect)
            finish(w, wsi, 0, in ? (const char *)in : "cannot connect");
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        w->wsi = wsi;
        w->open = 1;
        w->peer_code = 0;
        w->peer_reason[0] = '\0';
        w->h.on_open(w->h.user);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return receive(w, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (w->closing) {
            lws_close_reason(wsi, w->close_code, (unsigned char *)w->close_reason,
                             strlen(w->close_reason));
            return -1;
        }
        return write_one(w, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const uint8_t *p = in;
            size_t n = len - 2 < sizeof w->peer_reason - 1 ? len - 2 : sizeof w->peer_reason - 1;
            w->peer_code = (uint16_t)((p[0] << 8) | p[1]);
            for (size_t i = 0; i < n; i++)
                w->peer_reason[i] = p[2 + i] >= 0x20 && p[2 + i] < 0x7f ? (char)p[2 + i] : '?';
            w->peer_reason[n] = '\0';
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (w->wsi == wsi)
            finish(w, wsi, 1, "connection closed");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (w->wsi == wsi)
            finish(w, wsi, w->open, "connection closed");
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

const struct lws_protocols cli_ws_protocol = {
    .name = CLI_WS_SUBPROTOCOL,
    .callback = callback,
    .per_session_data_size = 0,
    .rx_buffer_size = 0,
};

cli_ws *cli_ws_new(cli_loop *loop, const cli_ws_handler *h)
{
    cli_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->loop = loop;
    w->h = *h;
    return w;
}

void cli_ws_free(cli_ws *w)
{
    if (!w)
        return;
    cli_buf_free(&w->rx);
    cli_buf_free(&w->tx);
    free(w);
}

int cli_ws_connect(cli_ws *w, const char *url, char *err, size_t cap)
{
    const char *scheme, *address, *path;
    int port;
    if (w->wsi) {
        snprintf(err, cap, "already connected");
        return -1;
    }
    if (snprintf(w->url, sizeof w->url, "%s", url) >= (int)sizeof w->url ||
        lws_parse_uri(w->url, &scheme, &address, &port, &path) != 0 || !*address) {
        snprintf(err, cap, "cannot parse WebSocket URL");
        return -1;
    }
    int tls = !strcmp(scheme, "wss") || !strcmp(scheme, "https");
    if (!tls && strcmp(scheme, "ws") && strcmp(scheme, "http")) {
        snprintf(err, cap, "unsupported URL scheme '%s'", scheme);
        return -1;
    }
    int default_port = port == (tls ? 443 : 80);
    snprintf(w->host, sizeof w->host, default_port ? "%s" : "%s:%d", address, port);
    snprintf(w->path, sizeof w->path, "/%s", path);

    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = cli_loop_context(w->loop);
    ci.address = address;
    ci.port = port;
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    ci.path = w->path;
    ci.host = w->host;
    ci.protocol = CLI_WS_SUBPROTOCOL;
    ci.userdata = w;
    ci.pwsi = &w->wsi;
    ci.retry_and_idle_policy = &keepalive;

    w->closing = 0;
    w->open = 0;
    w->peer_code = 0;
    w->peer_reason[0] = '\0';
    w->in_connect = 1;
    w->failed_in_connect = 0;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    w->in_connect = 0;
    if (!wsi || w->failed_in_connect) {
        w->wsi = NULL;
        snprintf(err, cap, "%s", w->failed_in_connect ? w->fail_msg : "cannot connect");
        return -1;
    }
    w->wsi = wsi;
    return 0;
}

void cli_ws_want_write(cli_ws *w)
{
    if (w->wsi && w->open)
        lws_callback_on_writable(w->wsi);
}

void cli_ws_close(cli_ws *w, uint16_t code, const char *reason)
{
    if (!w->wsi)
        return;
    w->closing = 1;
    w->close_code = code;
    snprintf(w->close_reason, sizeof w->close_reason, "%s", reason ? reason : "");
    if (w->open)
        lws_callback_on_writable(w->wsi);
    else
        lws_set_timeout(w->wsi, PENDING_TIMEOUT_CLIENT_ISSUE_PAYLOAD, LWS_TO_KILL_ASYNC);
}

int cli_ws_active(const cli_ws *w)
{
    return w->wsi != NULL;
}

int cli_ws_open(const cli_ws *w)
{
    return w->open;
}
