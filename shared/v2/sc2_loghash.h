/*
 * sc2_loghash: the hash chain over a room's log and the (seq, L_seq) that application
 * messages carry in MLS authenticated_data (docs/PROTOCOL.md section 7).
 *
 *   L_0   = BLAKE2b-256(no key, "saltchat/v2 log" || room_id(16))
 *   L_seq = BLAKE2b-256(no key, L_{seq-1} || u64(seq) || entry_seq)
 *
 * entry_seq is the whole body of the LOG envelope with that seq, exactly as the relay
 * sent it: seq:u64 time_ms:u64 flags:u8 [join_pk(32)] mls_message. It covers every byte
 * the relay asserts about the entry (position, time, commit flag, rotated key, message),
 * so two members hold the same L_seq only if the relay showed them the same log up to seq.
 * The relay computes the chain too (every input is relay-visible) and hands a joiner the
 * L of the GroupInfo's seq in GI; a wrong value makes the joiner's chain differ from every
 * member's, which the members' authenticated_data checks report as a fork.
 *
 * authenticated_data of every application message (41 bytes):
 *   format:u8 = 1 || seq:u64 || L_seq(32)      of the sender's last processed entry
 *
 * Sans-I/O; the state is a plain struct the caller owns (about 8 KiB), no allocation.
 * Prefix sc2_lh_. Functions return 0 or a negative SC2_LH_E_*; on error the state is
 * unchanged.
 */
#ifndef SC2_LOGHASH_H
#define SC2_LOGHASH_H

#include <stddef.h>
#include <stdint.h>

#define SC2_LH_BYTES 32u
#define SC2_LH_ROOM_ID_BYTES 16u
#define SC2_LH_AAD_BYTES 41u
#define SC2_LH_AAD_FORMAT 1u
/* How many of the latest L values a member keeps to check others' references. */
#define SC2_LH_WINDOW 256u
/* Smallest LOG body: seq, time_ms, flags, one byte of MLS message. */
#define SC2_LH_MIN_ENTRY 18u
/* Largest sc2_loghash_export output. */
#define SC2_LH_EXPORT_MAX (1u + 8u + 8u + SC2_LH_WINDOW * SC2_LH_BYTES)

#define SC2_LH_E_GAP (-1)     /* append: the entry's seq is not head + 1 (gap or repeat) */
#define SC2_LH_E_ENTRY (-2)   /* append: shorter than SC2_LH_MIN_ENTRY */
#define SC2_LH_E_FORK (-3)    /* check: we hold a different L for that seq: a fork */
#define SC2_LH_E_AHEAD (-4)   /* check: seq >= our head: a reference no honest sender
                                 makes (it must precede the message itself) */
#define SC2_LH_E_UNCHECKED (-5) /* check/lookup: seq is older than what we keep (before our
                                   anchor or out of the window): not a fork, not verified */
#define SC2_LH_E_AAD (-6)     /* aad_decode: not 41 bytes of format 1 */
#define SC2_LH_E_DECODE (-7)  /* import: not what sc2_loghash_export writes */
#define SC2_LH_E_SPACE (-8)   /* export: output buffer too small */

/* Returns a static description of an SC2_LH_E_* value. */
const char *sc2_lh_strerror(int err);

/* The chain of one member: the head (last processed seq and its L) and the latest
 * SC2_LH_WINDOW values. Treat as opaque; copy it freely. */
typedef struct sc2_loghash {
    uint64_t head_seq;
    uint64_t first_seq; /* oldest seq whose L is kept (the anchor, or head - WINDOW + 1) */
    uint8_t head[SC2_LH_BYTES];
    uint8_t ring[SC2_LH_WINDOW][SC2_LH_BYTES]; /* L of seq s at ring[s % SC2_LH_WINDOW] */
} sc2_loghash;

/* L_0 of room_id. */
void sc2_lh_genesis(const uint8_t room_id[SC2_LH_ROOM_ID_BYTES], uint8_t out[SC2_LH_BYTES]);

/* One step: out = H(prev || u64(seq) || entry). out may alias prev. For the relay and
 * vectors; members use sc2_lh_append. */
void sc2_lh_step(const uint8_t prev[SC2_LH_BYTES], uint64_t seq, const uint8_t *entry,
                 size_t entry_len, uint8_t out[SC2_LH_BYTES]);

/* The creator (and a member who has processed the room from its start): head 0, L_0. */
void sc2_lh_init_genesis(sc2_loghash *st, const uint8_t room_id[SC2_LH_ROOM_ID_BYTES]);

/* A joiner: head (seq, L) as the relay's GI gave it; entries after seq follow. */
void sc2_lh_init_anchor(sc2_loghash *st, uint64_t seq, const uint8_t l[SC2_LH_BYTES]);

/*
 * Appends the LOG body body[0..len) (sc2_env.body of a LOG), whose first 8 bytes are its
 * seq. Returns 0, SC2_LH_E_ENTRY, or SC2_LH_E_GAP if that seq is not head + 1 (the caller
 * reports the gap and RESUMEs from head_seq; a seq <= head is a duplicate to drop).
 */
int sc2_lh_append(sc2_loghash *st, const uint8_t *body, size_t len);

/* Last processed seq, and its L (l may be NULL). */
uint64_t sc2_lh_head(const sc2_loghash *st, uint8_t l[SC2_LH_BYTES]);

/* L of seq if kept (first_seq <= seq <= head). Returns 0, SC2_LH_E_AHEAD (seq > head) or
 * SC2_LH_E_UNCHECKED. */
int sc2_lh_lookup(const sc2_loghash *st, uint64_t seq, uint8_t l[SC2_LH_BYTES]);

/*
 * Checks a reference (seq, l) read from a received application message's
 * authenticated_data, called after that message's own entry was appended (so head is
 * the message's seq). Returns 0 (same log), SC2_LH_E_FORK (alert: the relay forked the
 * log), SC2_LH_E_AHEAD (seq >= head: the reference is impossible, treat the message as
 * invalid) or SC2_LH_E_UNCHECKED (too old to compare: not an alert). Constant time in l.
 */
int sc2_lh_check(const sc2_loghash *st, uint64_t seq, const uint8_t l[SC2_LH_BYTES]);

/* The authenticated_data for our next application message: our head. */
void sc2_lh_aad(const sc2_loghash *st, uint8_t out[SC2_LH_AAD_BYTES]);
/* Encoding of any (seq, l) as authenticated_data. */
void sc2_lh_aad_encode(uint64_t seq, const uint8_t l[SC2_LH_BYTES],
                       uint8_t out[SC2_LH_AAD_BYTES]);
/* Decodes authenticated_data. Returns 0 or SC2_LH_E_AAD (wrong length or format). */
int sc2_lh_aad_decode(const uint8_t *aad, size_t len, uint64_t *seq, uint8_t l[SC2_LH_BYTES]);

/*
 * The state as bytes for the caller's storage: format:u8 = 1, first_seq:u64, head_seq:u64,
 * then L of first_seq .. head_seq (at most SC2_LH_WINDOW, 32 bytes each). Returns the
 * length or SC2_LH_E_SPACE.
 */
int sc2_lh_export(const sc2_loghash *st, uint8_t *out, size_t cap);
/* Back from sc2_lh_export's bytes. Returns 0 or SC2_LH_E_DECODE. */
int sc2_lh_import(sc2_loghash *st, const uint8_t *in, size_t len);

#endif
