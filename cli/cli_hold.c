#include "cli_hold.h"

#include <stdlib.h>
#include <string.h>

static size_t members(const sc_session *s, uint64_t ids[SC_SESSION_MAX_MEMBERS])
{
    size_t n = sc_session_members(s, ids, SC_SESSION_MAX_MEMBERS);
    return n > SC_SESSION_MAX_MEMBERS ? SC_SESSION_MAX_MEMBERS : n;
}

void cli_hold_begin(cli_hold *h, const sc_session *s)
{
    uint64_t ids[SC_SESSION_MAX_MEMBERS];
    size_t n = members(s, ids);
    h->active = 1;
    uint8_t(*p)[32] = realloc(h->peers, (h->n_peers + n + 1) * sizeof *p);
    if (!p)
        return; /* then only the time bound applies */
    h->peers = p;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *pk = sc_session_member_identity(s, ids[i]);
        int known = 0;
        for (size_t k = 0; pk && k < h->n_peers && !known; k++)
            known = memcmp(h->peers[k], pk, 32) == 0;
        if (pk && !known)
            memcpy(h->peers[h->n_peers++], pk, 32);
    }
}

int cli_hold_push(cli_hold *h, const char *text, size_t len)
{
    cli_buf *l = realloc(h->lines, (h->n + 1) * sizeof *l);
    if (!l)
        return -1;
    h->lines = l;
    memset(&l[h->n], 0, sizeof l[0]);
    if (cli_buf_append(&l[h->n], text, len) != 0)
        return -1;
    h->n++;
    return 0;
}

int cli_hold_peers_back(const cli_hold *h, const sc_session *s)
{
    uint64_t ids[SC_SESSION_MAX_MEMBERS];
    size_t n = members(s, ids);
    for (size_t k = 0; k < h->n_peers; k++) {
        int back = 0;
        for (size_t i = 0; i < n && !back; i++) {
            const uint8_t *pk = sc_session_member_identity(s, ids[i]);
            back = pk && memcmp(pk, h->peers[k], 32) == 0;
        }
        if (!back)
            return 0;
    }
    return 1;
}

void cli_hold_release(cli_hold *h, void (*fn)(void *user, const uint8_t *text, size_t len),
                      void *user)
{
    size_t n = h->n;
    cli_buf *lines = h->lines;
    h->lines = NULL;
    h->n = 0;
    h->n_peers = 0;
    h->active = 0;
    for (size_t i = 0; i < n; i++) {
        fn(user, lines[i].data, lines[i].len);
        cli_buf_free(&lines[i]);
    }
    free(lines);
}

void cli_hold_free(cli_hold *h)
{
    for (size_t i = 0; i < h->n; i++)
        cli_buf_free(&h->lines[i]);
    free(h->lines);
    free(h->peers);
    memset(h, 0, sizeof *h);
}
