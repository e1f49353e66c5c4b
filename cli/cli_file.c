#include "cli_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_parents(const char *dir, char *err, size_t cap)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p) {
        snprintf(err, cap, "config directory path is empty or too long");
        return CLI_FILE_ERROR;
    }
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            snprintf(err, cap, "cannot create directory %s: %s", p, strerror(errno));
            return CLI_FILE_ERROR;
        }
        p[i] = c;
    }
    return CLI_FILE_OK;
}

int cli_file_private_dir(const char *dir, char *err, size_t cap)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT) {
            snprintf(err, cap, "cannot use config directory %s: %s", dir, strerror(errno));
            return CLI_FILE_ERROR;
        }
        if (mkdir_parents(dir, err, cap))
            return CLI_FILE_ERROR;
        if (stat(dir, &st) != 0) {
            snprintf(err, cap, "cannot use config directory %s: %s", dir, strerror(errno));
            return CLI_FILE_ERROR;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, cap, "config path %s is not a directory: remove it or pass --config DIR",
                 dir);
        return CLI_FILE_ERROR;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, cap, "config directory %s belongs to another user (uid %u): use your own",
                 dir, (unsigned)st.st_uid);
        return CLI_FILE_ERROR;
    }
    if (st.st_mode & 022) {
        snprintf(err, cap,
                 "config directory %s is too open (mode %04o, others may replace your keys): "
                 "run chmod 700 %s",
                 dir, (unsigned)(st.st_mode & 07777), dir);
        return CLI_FILE_ERROR;
    }
    return CLI_FILE_OK;
}

int cli_file_read_private(const char *path, cli_buf *out, size_t max, char *err, size_t cap)
{
    cli_buf_clear(out);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return CLI_FILE_MISSING;
        if (errno == ELOOP)
            snprintf(err, cap, "%s is a symbolic link: replace it with the file itself", path);
        else
            snprintf(err, cap, "cannot read %s: %s (check its owner and mode 600)", path,
                     strerror(errno));
        return CLI_FILE_ERROR;
    }
    struct stat st;
    int rc = CLI_FILE_ERROR;
    if (fstat(fd, &st) != 0) {
        snprintf(err, cap, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, cap, "cannot read %s: not a regular file", path);
        goto fail;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, cap, "%s belongs to another user (uid %u): it must be yours", path,
                 (unsigned)st.st_uid);
        goto fail;
    }
    if (st.st_mode & 077) {
        snprintf(err, cap, "%s is too open (mode %04o): run chmod 600 %s", path,
                 (unsigned)(st.st_mode & 07777), path);
        goto fail;
    }
    for (;;) {
        size_t room = max + 1 - out->len;
        if (cli_buf_reserve(out, room < 4096 ? room : 4096, max + 1)) {
            snprintf(err, cap, "%s is malformed: larger than %zu bytes", path, max);
            goto fail;
        }
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, cap, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        if (out->len > max) {
            snprintf(err, cap, "%s is malformed: larger than %zu bytes", path, max);
            goto fail;
        }
    }
    rc = CLI_FILE_OK;
fail:
    if (rc != CLI_FILE_OK)
        cli_buf_clear(out);
    close(fd);
    return rc;
}

int cli_file_write_private(const char *path, const void *data, size_t n, int replace, char *err,
                           size_t cap)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        snprintf(err, cap, "path too long: %s", path);
        return CLI_FILE_ERROR;
    }
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, cap, "cannot create %s: %s", tmp, strerror(errno));
        return CLI_FILE_ERROR;
    }
    int rc = CLI_FILE_ERROR;
    const char *p = data;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, cap, "cannot write %s: %s", tmp, strerror(errno));
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
        snprintf(err, cap, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (replace) {
        if (rename(tmp, path) != 0) {
            snprintf(err, cap, "cannot replace %s: %s", path, strerror(errno));
            goto fail;
        }
    } else if (link(tmp, path) != 0) {
        if (errno == EEXIST)
            rc = CLI_FILE_EXISTS;
        else
            snprintf(err, cap, "cannot create %s: %s", path, strerror(errno));
        goto fail;
    } else {
        unlink(tmp);
    }
    rc = CLI_FILE_OK;
fail:
    close(fd);
    if (rc != CLI_FILE_OK)
        unlink(tmp);
    return rc;
}
