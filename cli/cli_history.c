#include "cli_history.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_buf.h"
#include "cli_file.h"

#define NONCE crypto_secretbox_NONCEBYTES
#define MAC crypto_secretbox_MACBYTES
#define REC_FIXED (8u + 8u + 1u + 32u + 1u)
#define ROOM_CHARS 22u
/* A segment file larger than this is refused (a sealed one holds at most 8 MiB or
 * bound/8 records; an old unsegmented history may be larger). */
#define MAX_FILE (256u * 1024u * 1024u)

typedef struct seg {
    uint64_t index, count, last;
} seg;

struct cli_history {
    char dir[PATH_MAX];
    char room[ROOM_CHARS + 1];
    uint8_t key[32];
    unsigned long bound, seg_max;
    seg *sealed; /* oldest first */
    size_t n_sealed, cap_sealed;
    uint64_t next_index;
    uint64_t active_count, active_bytes;
    uint64_t active_last; /* the largest seq in the active segment (own messages are
                             recorded when accepted, which can be before older entries) */
    int fd;           /* the active segment, opened for appending on first use */
    int unsynced;     /* appends since the last fdatasync */
    int dir_unsynced; /* a segment was created or renamed since the last directory sync */
};

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8u * (n - 1u - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int cli_history_parse_bound(const char *s, const char *what, unsigned long *out, char *err,
                            size_t cap)
{
    char *end;
    errno = 0;
    unsigned long v = s && *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
    if (!s || errno || v == 0 || *end || v < CLI_HISTORY_MIN || v > CLI_HISTORY_MAX) {
        snprintf(err, cap, "%s wants a number of messages from %lu to %lu, not '%.40s'", what,
                 CLI_HISTORY_MIN, CLI_HISTORY_MAX, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

static int active_path(const cli_history *h, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap, "%s/%s.history", h->dir, h->room) < cap ? 0 : -1;
}

static int sealed_path(const cli_history *h, const seg *s, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap, "%s/%s.history.%010llu-%llu-%llu", h->dir, h->room,
                            (unsigned long long)s->index, (unsigned long long)s->count,
                            (unsigned long long)s->last) < cap
               ? 0
               : -1;
}

static int seg_cmp(const void *a, const void *b)
{
    const seg *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int sealed_push(cli_history *h, seg s)
{
    if (h->n_sealed == h->cap_sealed) {
        size_t nc = h->cap_sealed ? 2 * h->cap_sealed : 16;
        seg *ns = realloc(h->sealed, nc * sizeof *ns);
        if (!ns)
            return -1;
        h->sealed = ns;
        h->cap_sealed = nc;
    }
    h->sealed[h->n_sealed++] = s;
    if (s.index >= h->next_index)
        h->next_index = s.index + 1;
    return 0;
}

/* Sealed segments of the room in h->dir. */
static int list_sealed(cli_history *h, char *err, size_t cap)
{
    char prefix[ROOM_CHARS + 16];
    size_t pl = (size_t)snprintf(prefix, sizeof prefix, "%s.history.", h->room);
    DIR *d = opendir(h->dir);
    struct dirent *e;
    if (!d) {
        snprintf(err, cap, "cannot read %s: %s", h->dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        unsigned long long i, c, l;
        int used = 0;
        if (strncmp(e->d_name, prefix, pl) != 0 ||
            sscanf(e->d_name + pl, "%10llu-%llu-%llu%n", &i, &c, &l, &used) != 3 ||
            e->d_name[pl + (size_t)used] != '\0' || strlen(e->d_name + pl) < 10)
            continue; /* not a segment (e.g. a temporary file) */
        if (sealed_push(h, (seg){i, c, l}) != 0) {
            closedir(d);
            snprintf(err, cap, "out of memory");
            return -1;
        }
    }
    closedir(d);
    if (h->n_sealed)
        qsort(h->sealed, h->n_sealed, sizeof *h->sealed, seg_cmp);
    return 0;
}

/* Offsets of the whole records of f (a torn tail is not one). Returns the count and sets
 * *end to the end of the last whole record; *offs (may be NULL) gets the offsets (free). */
static long walk(const cli_buf *f, size_t **offs, size_t *end)
{
    size_t off = 0, count = 0, ncap = 0;
    if (offs)
        *offs = NULL;
    while (off + 4 <= f->len) {
        size_t len = (size_t)get_be(f->data + off, 4);
        if (len < NONCE + MAC + REC_FIXED || len > f->len - off - 4)
            break;
        if (offs) {
            if (count == ncap) {
                ncap = ncap ? 2 * ncap : 64;
                size_t *no = realloc(*offs, ncap * sizeof *no);
                if (!no) {
                    free(*offs);
                    *offs = NULL;
                    return -1;
                }
                *offs = no;
            }
            (*offs)[count] = off;
        }
        count++;
        off += 4 + len;
    }
    *end = off;
    return (long)count;
}

/* Decrypts the record at rec into p and fills *m (name into name[256]). Returns 0 or -1. */
static int decode(const cli_history *h, const uint8_t *rec, cli_buf *p, char name[256],
                  cli_history_msg *m)
{
    size_t len = (size_t)get_be(rec, 4);
    cli_buf_clear(p);
    if (cli_buf_reserve(p, len - NONCE - MAC + 1, 0) ||
        crypto_secretbox_open_easy(p->data, rec + 4 + NONCE, len - NONCE, rec + 4, h->key) != 0)
        return -1;
    p->len = len - NONCE - MAC;
    size_t nl = p->data[49];
    if (p->len < REC_FIXED + nl)
        return -1;
    memcpy(name, p->data + REC_FIXED, nl);
    name[nl] = '\0';
    *m = (cli_history_msg){get_be(p->data, 8), get_be(p->data + 8, 8), p->data[16],
                           p->data + 17, name, p->data + REC_FIXED + nl,
                           p->len - REC_FIXED - nl};
    return 0;
}

/* Reads the active segment: its count, size and last seq; cuts a torn tail. */
static int scan_active(cli_history *h, char *err, size_t cap)
{
    char path[PATH_MAX + 64], name[256];
    cli_buf f = {0}, p = {0};
    size_t *offs = NULL, end = 0;
    int rc = -1;
    if (active_path(h, path, sizeof path)) {
        snprintf(err, cap, "data directory path is too long");
        return -1;
    }
    int got = cli_file_read_private(path, &f, MAX_FILE, err, cap);
    if (got == CLI_FILE_MISSING)
        return 0;
    if (got != CLI_FILE_OK)
        goto fail;
    long n = walk(&f, &offs, &end);
    if (n < 0) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    if (end < f.len) { /* a torn last record: a crash during an append */
        if (truncate(path, (off_t)end) != 0) {
            snprintf(err, cap, "cannot cut the torn end of %s: %s", path, strerror(errno));
            goto fail;
        }
    }
    h->active_count = (uint64_t)n;
    h->active_bytes = end;
    for (long i = 0; i < n; i++) {
        cli_history_msg m;
        if (decode(h, f.data + offs[i], &p, name, &m) != 0) {
            snprintf(err, cap, "%s: record %ld does not decrypt (corrupt, or another storage "
                     "key)", path, i + 1);
            goto fail;
        }
        if (m.seq > h->active_last)
            h->active_last = m.seq;
    }
    rc = 0;
fail:
    sodium_memzero(name, sizeof name);
    free(offs);
    cli_buf_free(&f);
    cli_buf_free(&p);
    return rc;
}

cli_history *cli_history_open(const char *dir, const uint8_t key[32], const char *room,
                              unsigned long bound, char *err, size_t cap)
{
    cli_history *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    h->fd = -1;
    if (strlen(room) != ROOM_CHARS || strchr(room, '/') ||
        (size_t)snprintf(h->dir, sizeof h->dir, "%s", dir) >= sizeof h->dir) {
        snprintf(err, cap, "bad room id or data directory for the history");
        goto fail;
    }
    memcpy(h->room, room, ROOM_CHARS + 1);
    memcpy(h->key, key, sizeof h->key);
    if (bound < CLI_HISTORY_MIN)
        bound = CLI_HISTORY_MIN;
    h->bound = bound;
    h->seg_max = bound / 8 ? bound / 8 : 1;
    if (list_sealed(h, err, cap) != 0 || scan_active(h, err, cap) != 0)
        goto fail;
    return h;
fail:
    cli_history_close(h);
    return NULL;
}

uint64_t cli_history_last_seq(const cli_history *h)
{
    uint64_t m = h->active_last;
    for (size_t i = 0; i < h->n_sealed; i++)
        if (h->sealed[i].last > m)
            m = h->sealed[i].last;
    return m;
}

uint64_t cli_history_count(const cli_history *h)
{
    uint64_t n = h->active_count;
    for (size_t i = 0; i < h->n_sealed; i++)
        n += h->sealed[i].count;
    return n;
}

static int sync_dir(const cli_history *h, char *err, size_t cap)
{
    int dfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        snprintf(err, cap, "cannot sync directory %s: %s", h->dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    close(dfd);
    return 0;
}

/* Syncs, closes and renames the active segment to a sealed one. */
static int seal(cli_history *h, char *err, size_t cap)
{
    char from[PATH_MAX + 64], to[PATH_MAX + 64];
    seg s = {h->next_index, h->active_count, h->active_last};
    if (fdatasync(h->fd) != 0) {
        snprintf(err, cap, "cannot sync the history: %s", strerror(errno));
        return -1;
    }
    h->unsynced = 0;
    close(h->fd);
    h->fd = -1;
    if (active_path(h, from, sizeof from) || sealed_path(h, &s, to, sizeof to)) {
        snprintf(err, cap, "data directory path is too long");
        return -1;
    }
    if (rename(from, to) != 0) {
        snprintf(err, cap, "cannot rename %s: %s", from, strerror(errno));
        return -1;
    }
    h->dir_unsynced = 1;
    if (sealed_push(h, s) != 0) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    h->active_count = h->active_bytes = h->active_last = 0;
    return 0;
}

int cli_history_append(cli_history *h, const cli_history_msg *m, char *err, size_t cap)
{
    char path[PATH_MAX + 64];
    cli_buf r = {0}, f = {0};
    uint8_t fixed[REC_FIXED];
    int rc = -1;
    size_t nl = strlen(m->name ? m->name : "");
    if (nl > 255)
        nl = 255;
    put_be(fixed, m->seq, 8);
    put_be(fixed + 8, m->time_ms, 8);
    fixed[16] = (uint8_t)(m->self != 0);
    if (m->identity)
        memcpy(fixed + 17, m->identity, 32);
    else
        memset(fixed + 17, 0, 32);
    fixed[49] = (uint8_t)nl;
    if (cli_buf_append(&r, fixed, sizeof fixed) || cli_buf_append(&r, m->name ? m->name : "", nl) ||
        cli_buf_append(&r, m->text, m->text_len) ||
        cli_buf_reserve(&f, 4 + NONCE + MAC + r.len, 0)) {
        snprintf(err, cap, "cannot store the history: out of memory");
        goto fail;
    }
    put_be(f.data, NONCE + MAC + r.len, 4);
    randombytes_buf(f.data + 4, NONCE);
    crypto_secretbox_easy(f.data + 4 + NONCE, r.data, r.len, f.data + 4, h->key);
    f.len = 4 + NONCE + MAC + r.len;
    if (active_path(h, path, sizeof path)) {
        snprintf(err, cap, "data directory path is too long");
        goto fail;
    }
    if (h->fd < 0) {
        h->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (h->fd < 0) {
            snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
            goto fail;
        }
        if (h->active_count == 0)
            h->dir_unsynced = 1; /* possibly a new file */
    }
    size_t off = 0;
    while (off < f.len) {
        ssize_t w = write(h->fd, f.data + off, f.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, cap, "cannot write %s: %s", path, w < 0 ? strerror(errno) : "short write");
            if (off > 0 && ftruncate(h->fd, (off_t)h->active_bytes) != 0)
                snprintf(err, cap, "cannot write %s, and a torn record is left (cut at the "
                         "next start)", path);
            goto fail;
        }
        off += (size_t)w;
    }
    h->active_count++;
    h->active_bytes += f.len;
    if (m->seq > h->active_last)
        h->active_last = m->seq;
    h->unsynced = 1;
    if ((h->active_count >= h->seg_max || h->active_bytes >= CLI_HISTORY_SEGMENT_BYTES) &&
        seal(h, err, cap) != 0)
        goto fail;
    rc = 0;
fail:
    cli_buf_free(&r);
    cli_buf_free(&f);
    return rc;
}

int cli_history_sync(cli_history *h, char *err, size_t cap)
{
    if (h->unsynced && h->fd >= 0) {
        if (fdatasync(h->fd) != 0) {
            snprintf(err, cap, "cannot sync the history: %s", strerror(errno));
            return -1;
        }
        h->unsynced = 0;
    }
    if (h->dir_unsynced) {
        if (sync_dir(h, err, cap) != 0)
            return -1;
        h->dir_unsynced = 0;
    }
    return 0;
}

int cli_history_trim(cli_history *h, uint64_t saved_seq, char *err, size_t cap)
{
    char path[PATH_MAX + 64];
    uint64_t total = cli_history_count(h);
    int n = 0;
    while (h->n_sealed && total - h->sealed[0].count >= h->bound &&
           h->sealed[0].last <= saved_seq) {
        if (sealed_path(h, &h->sealed[0], path, sizeof path) ||
            (unlink(path) != 0 && errno != ENOENT)) {
            snprintf(err, cap, "cannot delete the old history segment %s: %s", path,
                     strerror(errno));
            return -1;
        }
        total -= h->sealed[0].count;
        memmove(h->sealed, h->sealed + 1, (h->n_sealed - 1) * sizeof *h->sealed);
        h->n_sealed--;
        n++;
    }
    return n;
}

/* Shows the last `take` records of the segment at path. Returns the number shown or -1. */
static long show_file(cli_history *h, const char *path, uint64_t take,
                      void (*fn)(void *user, const cli_history_msg *m), void *user, char *err,
                      size_t cap)
{
    cli_buf f = {0}, p = {0};
    size_t *offs = NULL, end;
    char name[256];
    long shown = -1;
    int got = cli_file_read_private(path, &f, MAX_FILE, err, cap);
    if (got == CLI_FILE_MISSING) {
        shown = 0;
        goto fail;
    }
    if (got != CLI_FILE_OK)
        goto fail;
    long n = walk(&f, &offs, &end);
    if (n < 0) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    shown = 0;
    for (long i = (uint64_t)n > take ? n - (long)take : 0; i < n; i++) {
        cli_history_msg m;
        if (decode(h, f.data + offs[i], &p, name, &m) != 0) {
            snprintf(err, cap, "%s: record %ld does not decrypt (corrupt, or another storage "
                     "key)", path, i + 1);
            shown = -1;
            goto fail;
        }
        fn(user, &m);
        shown++;
    }
fail:
    sodium_memzero(name, sizeof name);
    free(offs);
    cli_buf_free(&f);
    cli_buf_free(&p);
    return shown;
}

int cli_history_read(cli_history *h, size_t n, void (*fn)(void *user, const cli_history_msg *m),
                     void *user, char *err, size_t cap)
{
    char path[PATH_MAX + 64];
    size_t nseg = h->n_sealed + (h->active_count ? 1u : 0u), first = nseg;
    uint64_t need = n, take_first = 0;
    /* from the newest segment back until n records are covered */
    while (first > 0 && need > 0) {
        first--;
        uint64_t c = first < h->n_sealed ? h->sealed[first].count : h->active_count;
        take_first = c < need ? c : need;
        need -= take_first;
    }
    long total = 0;
    for (size_t i = first; i < nseg; i++) {
        uint64_t take = i == first ? take_first : UINT64_MAX;
        int bad = i < h->n_sealed ? sealed_path(h, &h->sealed[i], path, sizeof path)
                                  : active_path(h, path, sizeof path);
        if (bad) {
            snprintf(err, cap, "data directory path is too long");
            return -1;
        }
        long got = show_file(h, path, take, fn, user, err, cap);
        if (got < 0)
            return -1;
        total += got;
    }
    return (int)total;
}

void cli_history_close(cli_history *h)
{
    if (!h)
        return;
    if (h->fd >= 0)
        close(h->fd);
    free(h->sealed);
    sodium_memzero(h, sizeof *h);
    free(h);
}
