/*
 * sc_chain: sender-key chains (docs/PROTOCOL.md section 6). A member's own sending chain
 * (sc_chain_out) and its copies of other members' chains (sc_chain_in).
 *   mk = H(56, key CK, 0x01)   CK' = H(32, key CK, 0x02)
 */
#ifndef SC_CHAIN_H
#define SC_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "sc_rng.h"

#define SC_CHAIN_KEY_BYTES 32u
#define SC_CHAIN_MK_BYTES 56u       /* secretbox key (32) || nonce (24) */
#define SC_CHAIN_SKD_BYTES 72u      /* chain_id u32, index u32, CK 32, sign_pk 32 */
#define SC_CHAIN_MAX_SKIP 1000u     /* how far ahead of the next index a message may be */
#define SC_CHAIN_MAX_STORED 2000u   /* skipped message keys kept per chain */

#define SC_CHAIN_E_BEFORE_START (-1) /* index below the chain's start: sent before we joined */
#define SC_CHAIN_E_REPLAY (-2)       /* index already used */
#define SC_CHAIN_E_TOO_FAR (-3)      /* index more than SC_CHAIN_MAX_SKIP ahead */
#define SC_CHAIN_E_TOO_OLD (-4)      /* skipped key was evicted */
#define SC_CHAIN_E_MALFORMED (-5)    /* bad SKD */
#define SC_CHAIN_E_NOMEM (-6)
#define SC_CHAIN_E_EXHAUSTED (-7)    /* index would overflow: rotate */

typedef struct sc_chain_out {
    uint32_t chain_id;
    uint32_t index; /* next message index */
    uint8_t ck[SC_CHAIN_KEY_BYTES];
    uint8_t sign_pk[32];
    uint8_t sign_sk[64];
} sc_chain_out;

typedef struct sc_chain_skipped {
    uint32_t index;
    uint8_t mk[SC_CHAIN_MK_BYTES];
} sc_chain_skipped;

typedef struct sc_chain_in {
    uint32_t chain_id;
    uint32_t start; /* index the chain was received at */
    uint32_t next;  /* next index derivable from ck */
    uint8_t ck[SC_CHAIN_KEY_BYTES];
    uint8_t sign_pk[32];
    sc_chain_skipped *skipped; /* heap, at most SC_CHAIN_MAX_STORED, oldest first */
    size_t n_skipped;
    uint32_t evicted_below; /* skipped keys below this index were evicted: "too old" */
} sc_chain_in;

/* Draws a new chain (random nonzero chain_id, CK and signing key; index 0). */
void sc_chain_out_new(sc_chain_out *c, sc_rng *rng);
/* Writes the SKD for the chain's current state. */
void sc_chain_out_skd(const sc_chain_out *c, uint8_t skd[SC_CHAIN_SKD_BYTES]);
/* Derives the key for the current index into mk, stores that index in *index, and
 * advances (old CK wiped). Returns 0 or SC_CHAIN_E_EXHAUSTED. */
int sc_chain_out_step(sc_chain_out *c, uint8_t mk[SC_CHAIN_MK_BYTES], uint32_t *index);
void sc_chain_out_wipe(sc_chain_out *c);

/* Initialises c from an SKD (c is overwritten, not freed). Returns 0 or
 * SC_CHAIN_E_MALFORMED (zero chain_id, or a sign_pk that is not a valid Ed25519 point),
 * leaving c untouched. Free with sc_chain_in_free. */
int sc_chain_in_init(sc_chain_in *c, const uint8_t skd[SC_CHAIN_SKD_BYTES]);

/* Computes the message key for index without changing c. Returns 0 or SC_CHAIN_E_*:
 * BEFORE_START (index < start), REPLAY (used), TOO_OLD (below evicted_below and not
 * stored, so possibly a replay too), TOO_FAR (more than SC_CHAIN_MAX_SKIP past next, or
 * UINT32_MAX, which no sender uses). */
int sc_chain_in_key(const sc_chain_in *c, uint32_t index, uint8_t mk[SC_CHAIN_MK_BYTES]);

/* Marks index used after its message was authenticated and opened: stores keys skipped
 * over (evicting the oldest beyond SC_CHAIN_MAX_STORED), deletes index's key, advances.
 * Returns 0 or SC_CHAIN_E_* (as sc_chain_in_key; SC_CHAIN_E_NOMEM leaves c unchanged). */
int sc_chain_in_commit(sc_chain_in *c, uint32_t index);

/* Wipes and frees. */
void sc_chain_in_free(sc_chain_in *c);

const char *sc_chain_strerror(int err);
size_t sc_chain_skdbytes(void);
size_t sc_chain_mk_bytes(void);
size_t sc_chain_key_bytes(void);

#endif
