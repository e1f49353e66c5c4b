#include "relay_files.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".wasm", "application/wasm"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
};

const char *relay_files_mime(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');

    if (dot)
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (!strcasecmp(dot, mime_types[i].ext))
                return mime_types[i].type;
    return "application/octet-stream";
}

/* Returns 1 if some segment of path[0..) (split on '/') starts with '.'. */
static int has_hidden_segment(const char *path)
{
    for (const char *p = path; *p; p++)
        if (*p == '.' && (p == path || p[-1] == '/'))
            return 1;
    return 0;
}

/* Checks that resolved lies strictly inside root and has no hidden segment below it. */
static int inside(const char *root, const char *resolved)
{
    size_t n = strlen(root);

    if (strncmp(resolved, root, n))
        return 0;
    if (n == 1 && root[0] == '/')
        n = 0; /* root "/": everything is below it */
    if (resolved[n] != '/')
        return 0;
    return !has_hidden_segment(resolved + n + 1);
}

static int resolve_once(const char *root, const char *want, char *out, size_t cap,
                        struct stat *st)
{
    char resolved[PATH_MAX];

    if (!realpath(want, resolved))
        return -1;
    if (!inside(root, resolved))
        return -1;
    if (stat(resolved, st))
        return -1;
    if (strlen(resolved) >= cap)
        return -1;
    strcpy(out, resolved);
    return 0;
}

int relay_files_resolve(const char *root, const char *uri, char *out, size_t cap)
{
    char want[PATH_MAX];
    struct stat st;

    if (uri[0] != '/')
        return -1;
    for (const unsigned char *p = (const unsigned char *)uri; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            return -1;
    if (has_hidden_segment(uri + 1))
        return -1;
    size_t ulen = strlen(uri);
    int n = snprintf(want, sizeof want, "%s%s%s", root, uri,
                     uri[ulen - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof want)
        return -1;
    if (resolve_once(root, want, out, cap, &st))
        return -1;
    if (S_ISDIR(st.st_mode)) {
        n = snprintf(want, sizeof want, "%s/index.html", out);
        if (n < 0 || (size_t)n >= sizeof want)
            return -1;
        if (resolve_once(root, want, out, cap, &st))
            return -1;
    }
    return S_ISREG(st.st_mode) ? 0 : -1;
}
