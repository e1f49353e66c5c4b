#include "relay_wsguard.h"

#include <string.h>

#include "sc_utf8.h"

enum { M_HTTP = 0, M_HEADER, M_PAYLOAD, M_FAILED };

static const char upgrade_name[] = "upgrade:";

void relay_wsguard_init(relay_wsguard *g, uint64_t max_message)
{
    memset(g, 0, sizeof *g);
    g->max_message = max_message;
    g->mode = M_HTTP;
    g->line_match = 1;
    g->line_cr_only = 1;
}

int relay_wsguard_in_ws(const relay_wsguard *g)
{
    return g->mode != M_HTTP;
}

static uint16_t fail(relay_wsguard *g, uint16_t code, const char *why)
{
    g->mode = M_FAILED;
    g->code = code;
    g->why = why;
    return code;
}

/* One byte of an HTTP request: finds the blank line that ends its headers and
 * whether one of them is Upgrade. */
static void http_byte(relay_wsguard *g, uint8_t c)
{
    if (c == '\n') {
        if (g->line_cr_only) { /* blank line: the request's headers end here */
            if (g->saw_upgrade) {
                g->mode = M_HEADER;
                g->hdr_len = 0;
            }
            g->saw_upgrade = 0;
        }
        g->line_pos = 0;
        g->line_match = 1;
        g->line_cr_only = 1;
        return;
    }
    if (c == '\r')
        return;
    g->line_cr_only = 0;
    if (g->line_pos >= sizeof upgrade_name - 1)
        return;
    uint8_t lc = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
    if (!g->line_match || lc != (uint8_t)upgrade_name[g->line_pos])
        g->line_match = 0;
    else if (g->line_pos == sizeof upgrade_name - 2)
        g->saw_upgrade = 1;
    g->line_pos++;
}

/* Bytes of the extended length field announced by the second header byte. */
static size_t len_bytes(const relay_wsguard *g)
{
    uint8_t len7 = g->hdr[1] & 0x7f;

    return len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
}

/* Where the header read so far needs checking next: after byte 0, byte 1, the
 * length field, and the mask key (the end). */
static size_t next_stop(const relay_wsguard *g)
{
    if (g->hdr_len < 1)
        return 1;
    if (g->hdr_len < 2)
        return 2;
    size_t lb = len_bytes(g);
    return g->hdr_len < 2 + lb ? 2 + lb : 2 + lb + 4;
}

/* Checks the header once hdr_len bytes of it are in (a stop of next_stop); returns
 * a close code, or 0. At the end, the frame's payload follows. */
static uint16_t check_header(relay_wsguard *g)
{
    const uint8_t *h = g->hdr;
    uint8_t op = h[0] & 0x0f, fin = h[0] & 0x80, ctl = op & 8;

    if (g->hdr_len == 1) {
        if (h[0] & 0x70)
            return fail(g, 1002, "RSV bits set, but no extension was negotiated");
        if ((op >= 3 && op <= 7) || op >= 0xb)
            return fail(g, 1002, "unknown opcode");
        if (ctl && !fin)
            return fail(g, 1002, "fragmented control frame");
        if (op == 0 && !g->in_message)
            return fail(g, 1002, "continuation frame without a message to continue");
        if ((op == 1 || op == 2) && g->in_message)
            return fail(g, 1002, "new data frame inside a fragmented message");
        return 0;
    }
    uint8_t len7 = h[1] & 0x7f;
    size_t lb = len_bytes(g);
    if (g->hdr_len == 2) {
        if (!(h[1] & 0x80))
            return fail(g, 1002, "unmasked client frame");
        if (ctl && len7 > 125)
            return fail(g, 1002, "control frame payload over 125 bytes");
        if (op == 8 && len7 == 1)
            return fail(g, 1002, "close frame with a 1-byte payload");
    }
    if (g->hdr_len == 2 + lb) { /* the length field is complete */
        uint64_t len = len7;
        if (lb) {
            len = 0;
            for (size_t i = 0; i < lb; i++)
                len = len << 8 | h[2 + i];
            if (lb == 8 && (h[2] & 0x80))
                return fail(g, 1002, "64-bit payload length with its top bit set");
            if (len < (lb == 2 ? 126u : 65536u))
                return fail(g, 1002, "payload length not in its shortest encoding");
        }
        if (!ctl) {
            uint64_t before = op == 0 ? g->message_len : 0;
            if (len > g->max_message || before > g->max_message - len)
                return fail(g, 1009, "message too big");
            g->message_len = before + len;
        }
        g->remaining = len;
        return 0;
    }
    if (g->hdr_len < 2 + lb + 4)
        return 0;
    /* the mask key is in: the header is complete */
    if (!ctl) {
        g->in_message = !fin;
        if (fin)
            g->message_len = 0;
    }
    g->hdr_len = 0;
    g->mask_idx = 0;
    g->mode = g->remaining ? M_PAYLOAD : M_HEADER;
    return 0;
}

/* XORs p[0..n) with the masking key, starting idx bytes into it. */
static void unmask(uint8_t *p, size_t n, const uint8_t key[4], unsigned idx)
{
    uint8_t k[8];
    uint64_t w, x;
    size_t j = 0;

    for (unsigned b = 0; b < 8; b++)
        k[b] = key[(idx + b) & 3];
    memcpy(&w, k, sizeof w);
    for (; j + 8 <= n; j += 8) {
        memcpy(&x, p + j, sizeof x);
        x ^= w;
        memcpy(p + j, &x, sizeof x);
    }
    for (; j < n; j++)
        p[j] ^= k[j & 7];
}

/* The checks on p[0..n); with out (== p), the rewrite of relay_wsguard_feed_unmask. */
static uint16_t feed(relay_wsguard *g, const uint8_t *p, uint8_t *out, size_t n)
{
    size_t i = 0;

    while (i < n) {
        switch (g->mode) {
        case M_HTTP:
            http_byte(g, p[i++]);
            break;
        case M_HEADER: {
            if (!g->hdr_len && n - i >= sizeof g->hdr) {
                /* the longest header is here in full: the same checks at the same
                 * stops, without a copy per stop */
                size_t stop;
                memcpy(g->hdr, p + i, sizeof g->hdr);
                do {
                    stop = next_stop(g);
                    g->hdr_len = (uint8_t)stop;
                    if (check_header(g))
                        return g->code;
                } while (g->hdr_len); /* check_header clears it once complete */
                if (out) /* a client frame that passed is masked: the key ends it */
                    memset(out + i + stop - 4, 0, 4);
                i += stop;
                break;
            }
            size_t stop = next_stop(g), take = stop - g->hdr_len;
            /* past the length field, the bytes up to this stop are the masking key */
            int key = g->hdr_len >= 2 && g->hdr_len >= 2 + len_bytes(g);
            if (take > n - i)
                take = n - i;
            memcpy(g->hdr + g->hdr_len, p + i, take);
            if (out && key)
                memset(out + i, 0, take);
            g->hdr_len = (uint8_t)(g->hdr_len + take);
            i += take;
            if (g->hdr_len == stop && check_header(g))
                return g->code;
            break;
        }
        case M_PAYLOAD: {
            size_t skip = n - i;
            if (skip > g->remaining)
                skip = (size_t)g->remaining;
            if (out) {
                unmask(out + i, skip, g->hdr + 2 + len_bytes(g), g->mask_idx);
                g->mask_idx = (uint8_t)((g->mask_idx + skip) & 3);
            }
            g->remaining -= skip;
            i += skip;
            if (!g->remaining)
                g->mode = M_HEADER;
            break;
        }
        default:
            return g->code;
        }
    }
    return g->code;
}

uint16_t relay_wsguard_feed(relay_wsguard *g, const uint8_t *p, size_t n)
{
    return feed(g, p, NULL, n);
}

uint16_t relay_wsguard_feed_unmask(relay_wsguard *g, uint8_t *p, size_t n)
{
    return feed(g, p, p, n);
}

int relay_wsguard_close_ok(const uint8_t *p, size_t n, uint16_t *code)
{
    *code = 1002;
    if (!n)
        return 1;
    if (n == 1)
        return 0;
    unsigned c = (unsigned)p[0] << 8 | p[1];
    if (!((c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)))
        return 0;
    if (!sc_utf8_valid(p + 2, n - 2)) {
        *code = 1007;
        return 0;
    }
    return 1;
}

int relay_wsguard_text_ok(const uint8_t *p, size_t n, int final)
{
    if (sc_utf8_valid(p, n))
        return 1;
    if (final)
        return 0;
    /* cut before the last lead byte within 3 bytes of the end: the rest may be an
     * incomplete character */
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        uint8_t b = p[n - k];
        if ((b & 0xc0) == 0xc0)
            return sc_utf8_valid(p, n - k) && k < (size_t)(b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2);
        if ((b & 0xc0) != 0x80)
            break;
    }
    return 0;
}
