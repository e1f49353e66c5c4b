#include "sc_channel.h"

#include <sodium.h>
#include <string.h>

#include "sc_bytes.h"
#include "sc_wire.h"

static void counter_nonce(uint64_t counter, uint8_t nonce[crypto_secretbox_NONCEBYTES])
{
    memset(nonce, 0, crypto_secretbox_NONCEBYTES);
    sc_store64(nonce + 16, counter);
}

void sc_chan_init(sc_chan *c, const uint8_t k_send[32], const uint8_t k_recv[32])
{
    memcpy(c->k_send, k_send, 32);
    memcpy(c->k_recv, k_recv, 32);
    c->send_ctr = 0;
    c->recv_ctr = 0;
}

int sc_chan_seal(sc_chan *c, uint8_t ctype, const uint8_t *body, size_t body_len, uint8_t *out,
                 size_t cap, size_t *out_len)
{
    uint8_t nonce[crypto_secretbox_NONCEBYTES];
    *out_len = 0;
    if (body_len > SC_CHAN_MAX_BODY || c->send_ctr == UINT64_MAX)
        return SC_CHAN_E_MALFORMED;
    if (cap < SC_CHAN_OVERHEAD + body_len)
        return SC_CHAN_E_SPACE;
    uint64_t ctr = c->send_ctr + 1;
    uint8_t *pt = out + SC_CHAN_HEADER_BYTES + crypto_secretbox_MACBYTES;
    /* stage ctype || body in place (memmove: body may lie inside out), then seal there */
    if (body_len)
        memmove(pt + 1, body, body_len);
    pt[0] = ctype;
    out[0] = SC_WIRE_VERSION;
    out[1] = SC_KIND_CHAN;
    sc_store64(out + 2, ctr);
    counter_nonce(ctr, nonce);
    crypto_secretbox_easy(out + SC_CHAN_HEADER_BYTES, pt, 1 + body_len, nonce, c->k_send);
    c->send_ctr = ctr;
    *out_len = SC_CHAN_OVERHEAD + body_len;
    return 0;
}

int sc_chan_open(sc_chan *c, const uint8_t *msg, size_t len, uint8_t *ctype, uint8_t *body,
                 size_t cap, size_t *body_len, uint64_t *skipped)
{
    uint8_t nonce[crypto_secretbox_NONCEBYTES], pt[1 + SC_CHAN_MAX_BODY];
    int rc;
    *body_len = 0;
    *skipped = 0;
    if (len < SC_CHAN_OVERHEAD || len - SC_CHAN_OVERHEAD > SC_CHAN_MAX_BODY ||
        msg[0] != SC_WIRE_VERSION || msg[1] != SC_KIND_CHAN)
        return SC_CHAN_E_MALFORMED;
    uint64_t ctr = sc_load64(msg + 2);
    /* counter 0 is never sent: N(0) belongs to the handshake's identity boxes */
    if (ctr <= c->recv_ctr)
        return SC_CHAN_E_REPLAY;
    size_t n = len - SC_CHAN_OVERHEAD;
    if (cap < n)
        return SC_CHAN_E_SPACE;
    counter_nonce(ctr, nonce);
    if (crypto_secretbox_open_easy(pt, msg + SC_CHAN_HEADER_BYTES, len - SC_CHAN_HEADER_BYTES,
                                   nonce, c->k_recv) != 0) {
        rc = SC_CHAN_E_AUTH;
        goto fail;
    }
    *ctype = pt[0];
    if (n)
        memcpy(body, pt + 1, n);
    *body_len = n;
    *skipped = ctr - c->recv_ctr - 1;
    c->recv_ctr = ctr;
    rc = 0;
fail:
    sodium_memzero(pt, sizeof pt);
    return rc;
}

const char *sc_chan_strerror(int err)
{
    switch (err) {
    case SC_CHAN_E_MALFORMED:
        return "malformed channel message";
    case SC_CHAN_E_REPLAY:
        return "replayed channel message (counter not above the last one accepted)";
    case SC_CHAN_E_AUTH:
        return "channel message failed authentication (tampered, or not from this peer)";
    case SC_CHAN_E_SPACE:
        return "output buffer too small";
    default:
        return "unknown channel error";
    }
}

void sc_chan_wipe(sc_chan *c)
{
    sodium_memzero(c, sizeof *c);
}

size_t sc_chan_overhead(void)
{
    return SC_CHAN_OVERHEAD;
}

size_t sc_chan_max_body(void)
{
    return SC_CHAN_MAX_BODY;
}

size_t sc_chan_header_bytes(void)
{
    return SC_CHAN_HEADER_BYTES;
}
