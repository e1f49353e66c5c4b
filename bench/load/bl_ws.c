#include "bl_ws.h"

#include "bl_sha1.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

size_t bl_ws_request(char *out, size_t cap, const char *host, const char *path, const char *proto,
                     const uint8_t nonce[16], char key[BL_WS_KEY_CHARS + 1])
{
    if (bl_base64(nonce, 16, key, BL_WS_KEY_CHARS + 1) != BL_WS_KEY_CHARS)
        return 0;
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
                     path, host, key, proto);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

/* Finds header `name` in head[0..len); returns its trimmed value and length. */
static const char *header(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', len);
    const char *end = head + len;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            const char *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

static int value_is(const char *v, size_t vlen, const char *want)
{
    return v && vlen == strlen(want) && strncasecmp(v, want, vlen) == 0;
}

long bl_ws_response(const char *buf, size_t len, const char *key, const char *proto,
                    const char **err)
{
    const char *end = NULL;
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            end = buf + i + 1;
            break;
        }
    if (!end) {
        if (len > 8192) {
            *err = "handshake response head over 8 KiB";
            return -1;
        }
        return 0;
    }
    size_t hl = (size_t)(end - buf);
    if (hl < 12 || strncmp(buf, "HTTP/1.1 101", 12) != 0) {
        *err = "server did not answer 101 Switching Protocols";
        return -1;
    }
    size_t vl = 0;
    const char *v = header(buf, hl, "Upgrade", &vl);
    if (!value_is(v, vl, "websocket")) {
        *err = "response lacks Upgrade: websocket";
        return -1;
    }
    char cat[BL_WS_KEY_CHARS + sizeof GUID];
    snprintf(cat, sizeof cat, "%s%s", key, GUID);
    uint8_t d[BL_SHA1_BYTES];
    bl_sha1((const uint8_t *)cat, strlen(cat), d);
    char want[32];
    bl_base64(d, sizeof d, want, sizeof want);
    v = header(buf, hl, "Sec-WebSocket-Accept", &vl);
    if (!v || vl != strlen(want) || memcmp(v, want, vl) != 0) {
        *err = "wrong or missing Sec-WebSocket-Accept";
        return -1;
    }
    v = header(buf, hl, "Sec-WebSocket-Protocol", &vl);
    if (!v || vl != strlen(proto) || memcmp(v, proto, vl) != 0) {
        *err = "server did not select the subprotocol";
        return -1;
    }
    v = header(buf, hl, "Sec-WebSocket-Extensions", &vl);
    if (v && vl > 0) {
        *err = "server negotiated an extension nobody asked for";
        return -1;
    }
    return (long)hl;
}

int bl_ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_len, bl_ws_frame *f,
                      const char **err)
{
    if (len < 2)
        return 0;
    f->fin = buf[0] >> 7;
    f->opcode = buf[0] & 0x0f;
    if (buf[0] & 0x70) {
        *err = "reserved bits set in a server frame";
        return -1;
    }
    if (buf[1] & 0x80) {
        *err = "server frame is masked";
        return -1;
    }
    switch (f->opcode) {
    case BL_WS_CONT:
    case BL_WS_TEXT:
    case BL_WS_BINARY:
    case BL_WS_CLOSE:
    case BL_WS_PING:
    case BL_WS_PONG:
        break;
    default:
        *err = "unknown opcode in a server frame";
        return -1;
    }
    uint64_t l = buf[1] & 0x7f;
    size_t h = 2;
    if (l == 126) {
        if (len < 4)
            return 0;
        l = (uint64_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (l == 127) {
        if (len < 10)
            return 0;
        l = 0;
        for (int i = 0; i < 8; i++)
            l = l << 8 | buf[2 + i];
        h = 10;
    }
    if (f->opcode >= BL_WS_CLOSE && (!f->fin || l > 125)) {
        *err = "fragmented or oversized control frame";
        return -1;
    }
    if (l > max_len) {
        *err = "server frame longer than the generator accepts";
        return -1;
    }
    f->len = l;
    f->header = h;
    return 1;
}

size_t bl_ws_client_header(uint8_t *out, unsigned opcode, uint64_t len, uint32_t mask)
{
    size_t h;
    out[0] = (uint8_t)(0x80u | (opcode & 0x0fu));
    if (len < 126) {
        out[1] = (uint8_t)(0x80u | len);
        h = 2;
    } else if (len <= 0xffff) {
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        h = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        h = 10;
    }
    out[h] = (uint8_t)(mask >> 24);
    out[h + 1] = (uint8_t)(mask >> 16);
    out[h + 2] = (uint8_t)(mask >> 8);
    out[h + 3] = (uint8_t)mask;
    return h + 4;
}

void bl_ws_mask(uint8_t *p, size_t n, uint32_t mask)
{
    uint8_t m[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
                    (uint8_t)mask};
    uint32_t m32;
    memcpy(&m32, m, 4);
    uint64_t m64 = (uint64_t)m32 << 32 | m32;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= m64;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= m[i & 3];
}
