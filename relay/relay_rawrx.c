#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#undef _FORTIFY_SOURCE /* recv() is defined here, not as glibc's inline wrapper */
#include "relay_rawrx.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "relay_wsguard.h"

struct entry {
    relay_wsguard g;
    struct lws *wsi;     /* once bound */
    uint8_t reported;    /* the violation went to the callback */
};

typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef int (*ssl_read_fn)(SSL *, void *, int);

/* Written by init before any other thread exists, read by every recv(). */
static struct entry **table;
static unsigned table_cap;
static uint64_t guard_max;
static relay_rawrx_violation_fn on_violation;
static pthread_t service_thread;
static recv_fn real_recv;
static ssl_read_fn real_ssl_read;

/* A sanitizer's recv (its runtime may be linked into this executable, where the
 * recv below takes precedence over it): calling it keeps its checks and, for
 * ThreadSanitizer, its synchronisation on file descriptors. NULL without one. */
extern ssize_t __interceptor_recv(int, void *, size_t, int) __attribute__((weak));

static recv_fn next_recv(void)
{
    recv_fn f = __atomic_load_n(&real_recv, __ATOMIC_ACQUIRE);

    if (!f) {
        f = __interceptor_recv ? __interceptor_recv : (recv_fn)dlsym(RTLD_NEXT, "recv");
        __atomic_store_n(&real_recv, f, __ATOMIC_RELEASE);
    }
    return f;
}

static ssl_read_fn next_ssl_read(void)
{
    ssl_read_fn f = __atomic_load_n(&real_ssl_read, __ATOMIC_ACQUIRE);

    if (!f) {
        f = (ssl_read_fn)dlsym(RTLD_NEXT, "SSL_read");
        __atomic_store_n(&real_ssl_read, f, __ATOMIC_RELEASE);
    }
    return f;
}

int relay_rawrx_init(unsigned max_fds, uint64_t max_message, relay_rawrx_violation_fn fn)
{
    if (!next_recv() || !next_ssl_read())
        return -1;
    table = calloc(max_fds ? max_fds : 1, sizeof *table);
    if (!table)
        return -1;
    table_cap = max_fds;
    guard_max = max_message;
    on_violation = fn;
    service_thread = pthread_self();
    return 0;
}

void relay_rawrx_free(void)
{
    for (unsigned i = 0; table && i < table_cap; i++)
        free(table[i]);
    free(table);
    table = NULL;
    table_cap = 0;
}

static struct entry *lookup(int fd)
{
    if (!table || fd < 0 || (unsigned)fd >= table_cap)
        return NULL;
    return table[fd];
}

void relay_rawrx_accept(int fd)
{
    if (!table || fd < 0 || (unsigned)fd >= table_cap)
        return;
    struct entry *e = table[fd];
    if (!e) {
        e = malloc(sizeof *e);
        if (!e)
            return; /* unwatched: lws' own checks still apply */
        table[fd] = e;
    }
    relay_wsguard_init(&e->g, guard_max);
    e->wsi = NULL;
    e->reported = 0;
}

uint16_t relay_rawrx_bind(int fd, struct lws *wsi, const char **why)
{
    struct entry *e = lookup(fd);

    if (!e || !relay_wsguard_in_ws(&e->g))
        return 0;
    e->wsi = wsi;
    if (!e->g.code)
        return 0;
    e->reported = 1;
    *why = e->g.why;
    return e->g.code;
}

void relay_rawrx_release(int fd)
{
    if (!table || fd < 0 || (unsigned)fd >= table_cap)
        return;
    free(table[fd]);
    table[fd] = NULL;
}

/* n bytes the client on fd sent, as lws is about to parse them: checked, and the
 * frames unmasked in place (relay_wsguard_feed_unmask; lws then skips its own
 * unmasking, about a tenth of the instructions per delivery in rooms of 2). */
static void observe(int fd, void *buf, size_t n)
{
    if (!pthread_equal(pthread_self(), service_thread) || !table)
        return;
    struct entry *e = lookup(fd);
    if (!e || e->reported)
        return;
    if (relay_wsguard_feed_unmask(&e->g, buf, n) && e->wsi) {
        e->reported = 1;
        on_violation(e->wsi, e->g.code, e->g.why);
    }
}

/* libc's recv, seen by lws through the executable's symbol table: plain connections. */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    recv_fn f = next_recv();
    ssize_t n = f ? f(fd, buf, len, flags) : -1;

    if (n > 0 && !(flags & MSG_PEEK))
        observe(fd, buf, (size_t)n);
    return n;
}

/* libssl's SSL_read, the same way: the plaintext of TLS connections (OpenSSL itself
 * reads the socket with read(), which is not watched). */
int SSL_read(SSL *ssl, void *buf, int num)
{
    ssl_read_fn f = next_ssl_read();
    int n = f ? f(ssl, buf, num) : -1;

    if (n > 0)
        observe(SSL_get_fd(ssl), buf, (size_t)n);
    return n;
}
