/*
 * bl_ws: the client side of RFC 6455, sans-I/O: the opening handshake, masked
 * frames out, unmasked frames in. The caller owns every buffer.
 */
#ifndef BL_WS_H
#define BL_WS_H

#include <stddef.h>
#include <stdint.h>

enum bl_ws_opcode {
    BL_WS_CONT = 0x0,
    BL_WS_TEXT = 0x1,
    BL_WS_BINARY = 0x2,
    BL_WS_CLOSE = 0x8,
    BL_WS_PING = 0x9,
    BL_WS_PONG = 0xA
};

/* Longest client frame header: 2 + 8 (length) + 4 (mask). */
#define BL_WS_MAX_CLIENT_HEADER 14u
#define BL_WS_KEY_CHARS 24u

typedef struct bl_ws_frame {
    unsigned fin;
    unsigned opcode;
    uint64_t len;  /* payload bytes */
    size_t header; /* header bytes; the payload starts there */
} bl_ws_frame;

/*
 * Writes a GET upgrade request for path with subprotocol proto and the key
 * derived from nonce into out[0..cap) (NUL-terminated) and the key itself into
 * key[BL_WS_KEY_CHARS + 1]. Returns the request length, or 0 if cap is too small.
 */
size_t bl_ws_request(char *out, size_t cap, const char *host, const char *path, const char *proto,
                     const uint8_t nonce[16], char key[BL_WS_KEY_CHARS + 1]);

/*
 * Parses the server's handshake response in buf[0..len). Returns the length of the
 * response head (> 0; frames start after it), 0 if the head is incomplete, or -1
 * with *err set to a static description if it is not a valid 101 answer for key
 * with subprotocol proto.
 */
long bl_ws_response(const char *buf, size_t len, const char *key, const char *proto,
                    const char **err);

/*
 * Parses a server frame header at buf[0..len). Returns 1 with *f filled, 0 if more
 * bytes are needed, or -1 with *err set: masked server frame, reserved bits set,
 * unknown opcode, fragmented or oversized control frame, length over max_len.
 */
int bl_ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_len, bl_ws_frame *f,
                      const char **err);

/*
 * Writes a final, masked client frame header for a payload of len bytes into
 * out[0..BL_WS_MAX_CLIENT_HEADER). Returns the header length.
 */
size_t bl_ws_client_header(uint8_t *out, unsigned opcode, uint64_t len, uint32_t mask);

/* XORs p[0..n) with the 4-byte mask (first mask byte = most significant byte). */
void bl_ws_mask(uint8_t *p, size_t n, uint32_t mask);

#endif
