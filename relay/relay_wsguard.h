/*
 * relay_wsguard: an incremental checker of the byte stream a client sends on one
 * TCP connection, for the RFC 6455 rules that libwebsockets 4.1.6 does not enforce
 * (docs/RELAY.md, "WebSocket conformance"). It reads the HTTP requests up to the
 * one that asks for an upgrade, then every WebSocket frame header, skipping the
 * payloads, and stops at the first violation with the close code to send:
 *
 *   1002 unmasked client frame, RSV bits set (no extension is ever negotiated),
 *        unknown opcode, fragmented control frame, control frame longer than 125
 *        bytes, close frame with a 1-byte payload, continuation without a message
 *        or a new message inside a fragmented one, a non-minimal length encoding,
 *        a 64-bit length with its top bit set;
 *   1009 a frame, or a fragmented message, announcing more than max_message bytes:
 *        decided as soon as the length field is complete, before any payload.
 *
 * It can also unmask the frames in place as they pass (relay_wsguard_feed_unmask),
 * which saves libwebsockets its own (byte-wise) unmasking: lws skips that for a
 * frame whose masking key is zero.
 *
 * Pure: no I/O, no allocation. The caller owns the struct.
 */
#ifndef RELAY_WSGUARD_H
#define RELAY_WSGUARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct relay_wsguard {
    uint64_t max_message;
    uint64_t remaining;   /* payload bytes of the current frame still to skip */
    uint64_t message_len; /* bytes announced so far by the open fragmented message */
    const char *why;      /* static text for the close reason, once failed */
    uint16_t code;        /* close code once failed (sticky); 0 while the stream is fine */
    uint8_t mode;         /* internal: HTTP headers, frame header, payload */
    uint8_t hdr[14];      /* the frame header being read */
    uint8_t hdr_len;
    uint8_t mask_idx;     /* payload bytes of the current frame seen so far, mod 4 */
    uint8_t in_message;   /* a fragmented data message is open (FIN not yet seen) */
    /* HTTP request scanning */
    uint8_t line_pos;     /* bytes of the current header line, capped */
    uint8_t line_match;   /* the line still reads as "upgrade:" so far */
    uint8_t saw_upgrade;  /* this request has an Upgrade header */
    uint8_t line_cr_only; /* the current line has held nothing but CR so far */
} relay_wsguard;

/* Starts g on a new connection: HTTP requests first. max_message: the largest
 * WebSocket message accepted (the relay's --max-frame). */
void relay_wsguard_init(relay_wsguard *g, uint64_t max_message);

/*
 * Feeds the next n bytes the client sent. Returns 0 while the stream is fine, else
 * the close code of the first violation (g->why says which rule); once failed, g
 * ignores further input and keeps returning that code.
 */
uint16_t relay_wsguard_feed(relay_wsguard *g, const uint8_t *p, size_t n);

/*
 * As relay_wsguard_feed, and rewrites the WebSocket frames in p[0..n) in place into
 * the same frames unmasked: each payload byte XORed with its frame's masking key,
 * the key's four bytes set to zero (a zero key masks nothing, so the result is an
 * equivalent masked frame that any parser reads as the original). HTTP bytes, frame
 * headers before the key, and everything from a violation on are left unchanged.
 */
uint16_t relay_wsguard_feed_unmask(relay_wsguard *g, uint8_t *p, size_t n);

/* Returns 1 once g has seen the end of a request with an Upgrade header (frames
 * follow), else 0. */
int relay_wsguard_in_ws(const relay_wsguard *g);

/*
 * Returns 1 if a close frame payload p[0..n) (unmasked) is acceptable: empty, or a
 * valid status code (1000-1003, 1007-1014, 3000-4999) and a UTF-8 reason. Else 0
 * and *code: the close code to answer with (1002 for the length or the status code,
 * 1007 for the reason).
 */
int relay_wsguard_close_ok(const uint8_t *p, size_t n, uint16_t *code);

/* Returns 1 if a piece p[0..n) of a text message can be valid UTF-8: with final, it
 * must be complete; without, up to 3 trailing bytes may be the start of a character
 * that the next piece completes. */
int relay_wsguard_text_ok(const uint8_t *p, size_t n, int final);

#endif
