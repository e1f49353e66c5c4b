/*
 * sc_channel: the authenticated pairwise channel a completed handshake yields
 * (docs/PROTOCOL.md section 5, CHAN messages). Counters are per direction, from 1.
 */
#ifndef SC_CHANNEL_H
#define SC_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#define SC_CHAN_HEADER_BYTES 10u   /* version, kind, counter */
#define SC_CHAN_OVERHEAD (SC_CHAN_HEADER_BYTES + 16u + 1u) /* + tag + ctype */
#define SC_CHAN_MAX_BODY 4096u

#define SC_CHAN_E_MALFORMED (-1)
#define SC_CHAN_E_REPLAY (-2)  /* counter not above the last accepted one */
#define SC_CHAN_E_AUTH (-3)    /* box failed to open */
#define SC_CHAN_E_SPACE (-4)

typedef struct sc_chan {
    uint8_t k_send[32], k_recv[32];
    uint64_t send_ctr; /* last counter sent */
    uint64_t recv_ctr; /* last counter accepted */
} sc_chan;

/* Sets up a channel from a DONE handshake's keys (copied). */
void sc_chan_init(sc_chan *c, const uint8_t k_send[32], const uint8_t k_recv[32]);

/* Seals ctype||body (body_len <= SC_CHAN_MAX_BODY) into out (SC_CHAN_OVERHEAD + body_len
 * bytes; body may lie inside out). Returns 0, or SC_CHAN_E_SPACE / SC_CHAN_E_MALFORMED
 * (body too long), with the channel unchanged. */
int sc_chan_seal(sc_chan *c, uint8_t ctype, const uint8_t *body, size_t body_len, uint8_t *out,
                 size_t cap, size_t *out_len);

/* Opens a CHAN message. On success returns 0, sets *ctype, copies the body into
 * body[cap] and sets *body_len, and *skipped to the number of counters jumped over
 * (0 normally; > 0 means messages were lost). Returns SC_CHAN_E_* otherwise, with the
 * channel unchanged. */
int sc_chan_open(sc_chan *c, const uint8_t *msg, size_t len, uint8_t *ctype, uint8_t *body,
                 size_t cap, size_t *body_len, uint64_t *skipped);

const char *sc_chan_strerror(int err);
void sc_chan_wipe(sc_chan *c);

size_t sc_chan_overhead(void);
size_t sc_chan_max_body(void);
size_t sc_chan_header_bytes(void);

#endif
