#include "cli_loop.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FD_PROTOCOL "saltchat-fd"

typedef struct watch {
    cli_loop_read_cb on_read;
    cli_loop_close_cb on_close;
    void *user;
    int stopped;
} watch;

struct cli_loop {
    struct lws_context *ctx;
    struct lws_protocols protocols[3];
    int stop;
    int destroying;
};

static int fd_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    (void)user, (void)in, (void)len;
    watch *w = lws_get_opaque_user_data(wsi);
    cli_loop *l = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (!w || w->stopped)
            return -1;
        if (w->on_read(w->user) != 0) {
            w->stopped = 1;
            return -1;
        }
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (w) {
            lws_set_opaque_user_data(wsi, NULL);
            if (!l->destroying && w->on_close)
                w->on_close(w->user);
            free(w);
        }
        return 0;
    default:
        return 0;
    }
}

static void log_emit(int level, const char *line)
{
    (void)level;
    fprintf(stderr, "saltchat: lws: %s", line);
}

cli_loop *cli_loop_new(const struct lws_protocols *ws_protocol, const char *ca_file, int verbose,
                       char *err, size_t cap)
{
    cli_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    l->protocols[0] = *ws_protocol;
    l->protocols[1].name = FD_PROTOCOL;
    l->protocols[1].callback = fd_callback;

    lws_set_log_level(verbose ? (LLL_ERR | LLL_WARN) : 0, log_emit);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = l->protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.client_ssl_ca_filepath = ca_file;
    info.user = l;
    info.timeout_secs = 10;
    info.connect_timeout_secs = 10;
    l->ctx = lws_create_context(&info);
    if (!l->ctx) {
        snprintf(err, cap, "cannot start the network layer (libwebsockets context)");
        free(l);
        return NULL;
    }
    return l;
}

void cli_loop_free(cli_loop *l)
{
    if (!l)
        return;
    l->destroying = 1;
    lws_context_destroy(l->ctx);
    free(l);
}

struct lws_context *cli_loop_context(cli_loop *l)
{
    return l->ctx;
}

int cli_loop_watch(cli_loop *l, int fd, cli_loop_read_cb on_read, cli_loop_close_cb on_close,
                   void *user)
{
    watch *w = calloc(1, sizeof *w);
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (!w || dup_fd < 0)
        goto fail;
    w->on_read = on_read;
    w->on_close = on_close;
    w->user = user;
    /* lws makes adopted descriptors non-blocking, and a dup shares that flag with the
     * original: stdin is often the shell's terminal. Only readiness is needed from lws
     * (reads happen after poll says so), so the flags are put back right away. */
    int flags = fcntl(fd, F_GETFL);
    lws_adopt_desc_t ad;
    memset(&ad, 0, sizeof ad);
    ad.vh = lws_get_vhost_by_name(l->ctx, "default");
    ad.type = LWS_ADOPT_RAW_FILE_DESC;
    ad.fd.filefd = dup_fd;
    ad.vh_prot_name = FD_PROTOCOL;
    ad.opaque = w;
    if (!ad.vh)
        goto fail;
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&ad);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags);
    if (!wsi)
        goto fail_adopt; /* lws may already have closed dup_fd */
    return 0;
fail:
    if (dup_fd >= 0)
        close(dup_fd);
fail_adopt:
    free(w);
    return -1;
}

static void timer_fire(lws_sorted_usec_list_t *sul)
{
    cli_timer *t = lws_container_of(sul, cli_timer, sul);
    t->armed = 0;
    t->cb(t->user);
}

void cli_loop_timer_set(cli_loop *l, cli_timer *t, uint64_t delay_ms, cli_loop_timer_cb cb,
                        void *user)
{
    t->cb = cb;
    t->user = user;
    t->armed = 1;
    if (delay_ms > 7 * 24 * 3600 * 1000ull)
        delay_ms = 7 * 24 * 3600 * 1000ull;
    /* lws treats 0 as "unset"; the smallest real delay is 1 us. */
    lws_sul_schedule(l->ctx, 0, &t->sul, timer_fire,
                     delay_ms ? (lws_usec_t)delay_ms * 1000 : 1);
}

void cli_loop_timer_cancel(cli_timer *t)
{
    if (t->armed)
        lws_sul_cancel(&t->sul);
    t->armed = 0;
}

int cli_loop_run(cli_loop *l)
{
    while (!l->stop)
        if (lws_service(l->ctx, 0) < 0)
            return -1;
    return 0;
}

void cli_loop_stop(cli_loop *l)
{
    l->stop = 1;
    lws_cancel_service(l->ctx);
}
