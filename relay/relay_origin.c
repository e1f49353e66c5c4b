#include "relay_origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct hostport {
    char host[256];
    long port; /* -1: none given */
};

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

/* Parses "host[:port]" or "[v6][:port]" from s[0..len). Returns 0 or -1. */
static int parse_hostport(const char *s, size_t len, struct hostport *hp)
{
    size_t hlen;
    const char *rest;

    if (!len)
        return -1;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        hlen = (size_t)(close - s) + 1;
        for (size_t i = 1; i + 1 < hlen; i++) {
            char c = s[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return -1;
        }
        if (hlen < 3)
            return -1;
    } else {
        const char *colon = memchr(s, ':', len);
        hlen = colon ? (size_t)(colon - s) : len;
        for (size_t i = 0; i < hlen; i++) {
            char c = s[i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (!host_char(c))
                return -1;
        }
        if (!hlen)
            return -1;
    }
    if (hlen >= sizeof hp->host)
        return -1;
    for (size_t i = 0; i < hlen; i++) {
        char c = s[i];
        hp->host[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    hp->host[hlen] = '\0';
    rest = s + hlen;
    len -= hlen;
    hp->port = -1;
    if (!len)
        return 0;
    if (rest[0] != ':' || len < 2 || len > 6)
        return -1;
    long port = 0;
    for (size_t i = 1; i < len; i++) {
        if (rest[i] < '0' || rest[i] > '9')
            return -1;
        port = port * 10 + (rest[i] - '0');
    }
    if (port < 1 || port > 65535)
        return -1;
    hp->port = port;
    return 0;
}

/* Parses an origin; *https gets its scheme. Returns 0 or -1. */
static int parse_origin(const char *url, int *https, struct hostport *hp)
{
    size_t skip;

    if (!strncasecmp(url, "http://", 7)) {
        *https = 0;
        skip = 7;
    } else if (!strncasecmp(url, "https://", 8)) {
        *https = 1;
        skip = 8;
    } else {
        return -1;
    }
    const char *s = url + skip;
    size_t len = strlen(s);
    if (len && s[len - 1] == '/')
        len--;
    if (memchr(s, '/', len) || memchr(s, '@', len) || memchr(s, '?', len) ||
        memchr(s, '#', len))
        return -1;
    if (parse_hostport(s, len, hp))
        return -1;
    if (hp->port < 0)
        hp->port = *https ? 443 : 80;
    return 0;
}

int relay_origin_normalize(const char *url, char *out, size_t cap)
{
    struct hostport hp;
    int https;

    if (parse_origin(url, &https, &hp))
        return -1;
    int n = snprintf(out, cap, "%s://%s:%ld", https ? "https" : "http", hp.host, hp.port);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

int relay_origin_allowed(const char *origin, const char *host, const char *const *allowed,
                         size_t n)
{
    struct hostport o, h;
    int https;
    char norm[RELAY_ORIGIN_MAX];

    if (!origin)
        return 1;
    if (parse_origin(origin, &https, &o))
        return 0;
    /* Same origin: the browser sends Host without a port exactly when it used the
     * default port of the page's scheme, so the origin's default applies to both. */
    if (host && !parse_hostport(host, strlen(host), &h)) {
        if (h.port < 0)
            h.port = https ? 443 : 80;
        if (!strcmp(o.host, h.host) && o.port == h.port)
            return 1;
    }
    if (relay_origin_normalize(origin, norm, sizeof norm))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(norm, allowed[i]))
            return 1;
    return 0;
}
