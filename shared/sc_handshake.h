/*
 * sc_handshake: the pairwise handshake between two members (docs/PROTOCOL.md section 5).
 * The member with the smaller member id initiates. One sc_hs per peer; it ends DONE,
 * holding the channel keys, or FAILED.
 */
#ifndef SC_HANDSHAKE_H
#define SC_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "sc_rng.h"

#define SC_HS_NAME_MAX 64u
#define SC_HS_KEY_BYTES 32u
#define SC_HS1_BYTES 66u
/* HS2/HS3 carry identity (32) + signature (64) + name length (1) + name, boxed (16). */
#define SC_HS_IDBOX_MAX (16u + 32u + 64u + 1u + SC_HS_NAME_MAX)
#define SC_HS2_MAX_BYTES (2u + 32u + SC_HS_IDBOX_MAX)
#define SC_HS3_MAX_BYTES (2u + SC_HS_IDBOX_MAX)
#define SC_HS_MAX_BYTES SC_HS2_MAX_BYTES /* largest message sc_hs_* may write */

#define SC_HS_E_MALFORMED (-1) /* wrong length, version or kind */
#define SC_HS_E_STATE (-2)     /* message out of turn, or duplicate handshake */
#define SC_HS_E_ROOM (-3)      /* MAC or box failed: peer lacks the room secret, or tampering */
#define SC_HS_E_KEY (-4)       /* low-order or invalid ephemeral key */
#define SC_HS_E_SIGNATURE (-5) /* identity signature invalid */
#define SC_HS_E_SPACE (-6)     /* output buffer too small */
#define SC_HS_E_NAME (-7)      /* peer's name is not valid UTF-8 or too long */

enum sc_hs_state {
    SC_HS_WAIT_HS1 = 1, /* responder, nothing received yet */
    SC_HS_WAIT_HS2,     /* initiator, HS1 sent */
    SC_HS_WAIT_HS3,     /* responder, HS2 sent */
    SC_HS_DONE,
    SC_HS_FAILED
};

/* What a member brings to every handshake; owned by the caller (the session). */
typedef struct sc_hs_ctx {
    uint8_t room_id[32];
    uint8_t room_key[32];
    uint8_t ik_pk[32];
    uint8_t ik_sk[64];
    uint8_t name_len;
    char name[SC_HS_NAME_MAX];
} sc_hs_ctx;

typedef struct sc_hs {
    int initiator;
    enum sc_hs_state state;
    uint64_t self_id, peer_id;
    uint8_t ek_pk[32], ek_sk[32];
    uint8_t peer_ek[32];
    uint8_t th[32];
    uint8_t k_send[SC_HS_KEY_BYTES], k_recv[SC_HS_KEY_BYTES]; /* valid when DONE */
    uint8_t peer_ik[32];                                      /* valid when DONE */
    uint8_t peer_name_len;
    char peer_name[SC_HS_NAME_MAX + 1]; /* NUL-terminated, valid when DONE */
} sc_hs;

/*
 * Starts a handshake between self_id and peer_id (both nonzero, different). The
 * initiator draws its ephemeral and writes HS1 into out (*out_len = SC_HS1_BYTES); the
 * responder writes nothing (*out_len = 0) and waits for HS1. Returns 0 or SC_HS_E_SPACE
 * (hs untouched); or, with hs FAILED, SC_HS_E_STATE if the ids are zero or equal, or
 * SC_HS_E_NAME if ctx's name fails sc_hs_name_valid.
 */
int sc_hs_start(sc_hs *hs, const sc_hs_ctx *ctx, sc_rng *rng, uint64_t self_id,
                uint64_t peer_id, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Processes one handshake message (an inner message of kind HS1, HS2 or HS3) from the
 * peer. May write the reply into out (*out_len, 0 if none). Returns 0 while in progress,
 * 1 when the handshake has just completed (state DONE), or SC_HS_E_* (state FAILED,
 * secrets wiped), except two that change nothing: SC_HS_E_SPACE, and SC_HS_E_STATE for a
 * message of a kind the handshake is not waiting for (a duplicate HS1, a reordered or
 * replayed message, anything after DONE or FAILED), so a replayed frame can neither end a
 * running handshake nor undo a completed one. cap >= SC_HS_MAX_BYTES always suffices.
 */
int sc_hs_receive(sc_hs *hs, const sc_hs_ctx *ctx, sc_rng *rng, const uint8_t *msg,
                  size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Returns 1 if name[0..len) is acceptable as a display name: at most SC_HS_NAME_MAX bytes
 * of UTF-8 without control characters (U+0000..U+001F, U+007F..U+009F), else 0. */
int sc_hs_name_valid(const char *name, size_t len);

/* Returns a static description of an SC_HS_E_* value. */
const char *sc_hs_strerror(int err);

/* Wipes every secret in hs; state becomes FAILED unless it was DONE (keys still wiped). */
void sc_hs_wipe(sc_hs *hs);

size_t sc_hs_max_bytes(void);
size_t sc_hs1_bytes(void);
size_t sc_hs2_max_bytes(void);
size_t sc_hs3_max_bytes(void);
size_t sc_hs_name_max(void);
size_t sc_hs_key_bytes(void);

#endif
