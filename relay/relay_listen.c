#include "relay_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay_log.h"
#include "relay_rawrx.h"
#include "relay_server.h"

/* Connections accepted per readiness callback: the loop's other work gets its turn. */
#define ACCEPT_BATCH 64

socklen_t relay_listen_addr(const relay_config *cfg, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (cfg->listen_ipv6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)cfg->listen_port);
        inet_pton(AF_INET6, cfg->listen_host, &a->sin6_addr);
        return sizeof *a;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)cfg->listen_port);
    inet_pton(AF_INET, cfg->listen_host, &a->sin_addr);
    return sizeof *a;
}

int relay_listen_open(const relay_config *cfg, int *port, char *err, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = relay_listen_addr(cfg, &ss);
    int one = 1;

    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
        (cfg->listen_ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)) ||
        bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, SOMAXCONN))
        goto fail;
    sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl))
        goto fail;
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
fail:
    snprintf(err, cap, "cannot listen on %s%s%s:%u with --reuse-port: %s (a relay without "
                       "--reuse-port may hold the port)",
             cfg->listen_ipv6 ? "[" : "", cfg->listen_host, cfg->listen_ipv6 ? "]" : "",
             cfg->listen_port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int relay_listen_watch(struct relay *r, int fd)
{
    lws_adopt_desc_t ad;

    memset(&ad, 0, sizeof ad);
    ad.vh = r->vhost;
    ad.type = LWS_ADOPT_RAW_FILE_DESC;
    ad.fd.filefd = fd;
    ad.vh_prot_name = RELAY_LISTEN_PROTOCOL;
    return lws_adopt_descriptor_vhost_via_info(&ad) ? 0 : -1;
}

static void accept_some(struct relay *r, int lfd)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                relay_log(RELAY_LOG_WARN, "accept: %s", strerror(errno));
            return;
        }
        /* as relay_http's filter does for lws' own listener: keep descriptors spare */
        if ((unsigned)fd >= r->fd_limit) {
            r->metrics.refused[RELAY_REFUSE_FDS]++;
            close(fd);
            continue;
        }
        /* what lws does to the sockets its own listener accepts (else Nagle's
         * algorithm holds small batches back for the peer's delayed ACK, ~40 ms) */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        relay_rawrx_accept(fd);
        if (!lws_adopt_socket_vhost(r->vhost, fd)) /* it closed fd */
            relay_log(RELAY_LOG_WARN, "could not take over an accepted connection");
    }
}

int relay_listen_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    struct relay *r = wsi ? relay_of(wsi) : NULL;

    (void)user, (void)in, (void)len;
    if (r && reason == LWS_CALLBACK_RAW_RX_FILE)
        accept_some(r, lws_get_socket_fd(wsi));
    return 0;
}
