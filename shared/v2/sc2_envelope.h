/*
 * sc2_envelope: the relay-visible framing of protocol v2 (docs/PROTOCOL.md sections 4-5).
 * Sans-I/O, no allocation: decoders alias the caller's buffer, encoders write into it.
 *
 * A WebSocket binary message (subprotocol "saltchat.v2") carries envelopes back to back:
 * the relay may pack several into one message, a client sends exactly one per message.
 *
 *   off  size  field
 *   0    1     version = SC2_ENV_VERSION (2)
 *   1    1     type (SC2_T_*)
 *   2    4     body length L, big-endian, <= SC2_ENV_MAX_BODY
 *   6    L     body, all integers big-endian:
 *
 *   client -> relay
 *     AUTH       join_pk(32) sig(64)                                   exactly 96
 *     CREATE     join_pk(32) sig(64) gi_box                            gi_box >= SC2_GIBOX_MIN
 *     GET_GI     (empty)                                               exactly 0
 *     RESUME     after_seq:u64                                         exactly 8
 *     SUBMIT     token:u64 flags:u8 [gi_len:u32 gi_box] [join_pk(32)] mls_message(1..)
 *                flags: SC2_SUBMIT_F_GI (gi_len and gi_box follow), SC2_SUBMIT_F_JOIN_PK;
 *                SC2_SUBMIT_F_JOIN_PK requires SC2_SUBMIT_F_GI (only commits rotate)
 *   relay -> client
 *     CHALLENGE  nonce(32) max_payload:u32                             exactly 36
 *                (no head_seq: nothing about the room before a valid proof)
 *     GI         seq:u64 log_hash(32) gi_box                           gi_box >= SC2_GIBOX_MIN
 *     LOG        seq:u64 time_ms:u64 flags:u8 [join_pk(32)] mls_message(1..)
 *                seq >= 1; flags: SC2_LOG_F_COMMIT, SC2_LOG_F_JOIN_PK (join_pk follows;
 *                requires SC2_LOG_F_COMMIT)
 *     LIVE       head_seq:u64                                          exactly 8
 *     GONE       oldest_seq:u64                                        exactly 8, >= 1
 *     ACCEPTED   token:u64 seq:u64                                     exactly 16, seq >= 1
 *     REJECTED   token:u64 code:u16 epoch:u64                          exactly 18, code != 0
 *     ERROR      code:u16 reason(0..SC2_ENV_MAX_REASON, printable ASCII)  code != 0
 *
 * Unknown flag bits are an error (SC2_ENV_E_FIELD), so a future flag cannot be ignored
 * by an old peer. gi_box is opaque here (sc2_link seals and opens it); its length is
 * checked against SC2_GIBOX_MIN only. The codes carried by REJECTED and ERROR are
 * SC2_C_* below; what a client does on each is in docs/PROTOCOL.md section 10.
 */
#ifndef SC2_ENVELOPE_H
#define SC2_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define SC2_ENV_VERSION 2u
#define SC2_ENV_HEADER_BYTES 6u
/* Largest body the codec accepts at all; the relay's max_payload (CHALLENGE) is smaller. */
#define SC2_ENV_MAX_BODY (16u * 1024u * 1024u)
#define SC2_ENV_MAX_REASON 120u
#define SC2_NONCE_BYTES 32u    /* CHALLENGE nonce */
#define SC2_JOIN_PK_BYTES 32u  /* Ed25519 public key */
#define SC2_SIG_BYTES 64u      /* Ed25519 signature */
#define SC2_LOG_HASH_BYTES 32u /* sc2_loghash value */
/* Smallest gi_box: secretbox nonce (24) + MAC (16) + epoch (8) + 1 byte of GroupInfo. */
#define SC2_GIBOX_MIN 49u
/* Largest LOG header (envelope header + seq + time_ms + flags + join_pk), see
 * sc2_env_log_header. */
#define SC2_ENV_LOG_HEADER_MAX (SC2_ENV_HEADER_BYTES + 8u + 8u + 1u + SC2_JOIN_PK_BYTES)

enum sc2_env_type {
    /* client -> relay */
    SC2_T_AUTH = 0x01,
    SC2_T_CREATE = 0x02,
    SC2_T_GET_GI = 0x03,
    SC2_T_RESUME = 0x04,
    SC2_T_SUBMIT = 0x05,
    /* relay -> client */
    SC2_T_CHALLENGE = 0x81,
    SC2_T_GI = 0x82,
    SC2_T_LOG = 0x83,
    SC2_T_LIVE = 0x84,
    SC2_T_GONE = 0x85,
    SC2_T_ACCEPTED = 0x86,
    SC2_T_REJECTED = 0x87,
    SC2_T_ERROR = 0x88
};

/* SUBMIT flags */
#define SC2_SUBMIT_F_GI 0x01u      /* a commit: gi_len:u32 gi_box follow */
#define SC2_SUBMIT_F_JOIN_PK 0x02u /* the commit rotates the link: join_pk follows */
/* LOG flags (the same values relay_store keeps) */
#define SC2_LOG_F_COMMIT 0x01u  /* the relay classified the entry as a commit */
#define SC2_LOG_F_JOIN_PK 0x02u /* the entry rotated the link: join_pk follows */

/* Who sent the bytes being decoded: each side accepts only the other's types. */
enum sc2_env_dir { SC2_FROM_CLIENT = 0, SC2_FROM_RELAY = 1 };

/*
 * Codes carried by REJECTED (answer to one SUBMIT; the connection stays) and ERROR (the
 * relay closes the connection after it unless marked "stays"). One number space, u16.
 * docs/PROTOCOL.md section 10 says what a client does on each.
 */
enum sc2_code {
    /* ERROR */
    SC2_C_MALFORMED = 1,         /* an envelope failed to decode; closes */
    SC2_C_TOO_LARGE = 2,         /* message over max_payload; closes */
    SC2_C_RATE_LIMITED = 3,      /* flood; closes */
    SC2_C_NOT_AUTHENTICATED = 4, /* GET_GI / RESUME / SUBMIT before AUTH or CREATE; closes */
    SC2_C_BAD_PROOF = 5,         /* AUTH/CREATE signature invalid, or join_pk is not a key
                                    of the room; closes */
    SC2_C_NO_ROOM = 6,           /* AUTH to a room that does not exist; closes */
    SC2_C_ROOM_EXISTS = 7,       /* CREATE of a room that exists; closes */
    SC2_C_BAD_STATE = 8,         /* a valid envelope at the wrong time (CREATE after AUTH,
                                    a second RESUME, ...); closes */
    SC2_C_SEQ_AHEAD = 9,         /* RESUME after_seq is past the relay's head: the relay
                                    lost entries it confirmed, or forked; closes */
    SC2_C_OLD_KEY = 10,          /* GET_GI after AUTH with an earlier key (resume only);
                                    stays */
    SC2_C_RELAY_FULL = 11,       /* too many connections or rooms; closes */
    SC2_C_SLOW_CONSUMER = 12,    /* send queue over its bound; closes */
    SC2_C_STORAGE = 13,          /* the relay's store failed; closes (retry later) */
    SC2_C_SHUTDOWN = 14,         /* the relay is stopping; closes */
    /* REJECTED */
    SC2_C_STALE_EPOCH = 32,      /* the message's epoch is not the room's (REJECTED.epoch):
                                    catch up, re-base, resend */
    SC2_C_NO_GROUPINFO = 33,     /* a commit without gi_box */
    SC2_C_NOT_COMMIT = 34,       /* gi_box or join_pk on a message that is not a commit */
    SC2_C_BAD_MLS = 35,          /* the relay's MLS header check failed (version, wire
                                    format, group_id != room_id, sender type) */
    SC2_C_KEY_RETIRED = 36       /* SUBMIT on a connection authenticated with an earlier
                                    key: catch up, then AUTH again with the current one */
};

/* Returns a static lower-case name for code ("stale_epoch"; "unknown" if not defined). */
const char *sc2_code_name(uint16_t code);

/* Decode results (negative), each a distinct failure. */
#define SC2_ENV_E_PARTIAL (-1)   /* header or body runs past the end of the input */
#define SC2_ENV_E_VERSION (-2)   /* version byte is not 2 (a v1 peer reads -2 as "old") */
#define SC2_ENV_E_TYPE (-3)      /* unknown type */
#define SC2_ENV_E_DIRECTION (-4) /* a known type that the other side never sends */
#define SC2_ENV_E_LENGTH (-5)    /* body length impossible for the type, or over the cap */
#define SC2_ENV_E_FIELD (-6)     /* a field's value is invalid (unknown flag bits, seq 0,
                                    code 0, reason not printable ASCII, ...) */
#define SC2_ENV_E_TRAILING (-7)  /* bytes after the one envelope sc2_env_decode expects */
#define SC2_ENV_E_EMPTY (-8)     /* a message with no envelope at all */

/* Returns a static description of an SC2_ENV_E_* value ("no error" for >= 0). */
const char *sc2_env_strerror(int err);

/* A decoded envelope. Pointers alias the decoded input; fields a type lacks are 0/NULL. */
typedef struct sc2_env {
    uint8_t type;          /* SC2_T_* */
    uint8_t flags;         /* SUBMIT, LOG */
    uint16_t code;         /* REJECTED, ERROR */
    uint32_t max_payload;  /* CHALLENGE */
    uint64_t seq;          /* GI seq, RESUME after_seq, LOG seq,
                              LIVE head_seq, GONE oldest_seq, ACCEPTED seq */
    uint64_t token;        /* SUBMIT, ACCEPTED, REJECTED */
    uint64_t time_ms;      /* LOG */
    uint64_t epoch;        /* REJECTED */
    const uint8_t *nonce;    /* CHALLENGE: SC2_NONCE_BYTES */
    const uint8_t *join_pk;  /* AUTH, CREATE; SUBMIT/LOG with the JOIN_PK flag */
    const uint8_t *sig;      /* AUTH, CREATE: SC2_SIG_BYTES */
    const uint8_t *log_hash; /* GI: SC2_LOG_HASH_BYTES */
    const uint8_t *gi_box;   /* CREATE, GI; SUBMIT with SC2_SUBMIT_F_GI */
    size_t gi_box_len;
    const uint8_t *mls;      /* SUBMIT, LOG: the MLSMessage */
    size_t mls_len;
    const char *reason;      /* ERROR: not NUL-terminated */
    size_t reason_len;
    const uint8_t *body;     /* every type: the body (for the log hash: a LOG's body) */
    size_t body_len;
} sc2_env;

/*
 * Decodes the one envelope that fills buf[0..len) exactly (what the relay does with a
 * client's message). Returns 0, or SC2_ENV_E_* (SC2_ENV_E_TRAILING if a valid envelope is
 * followed by more bytes; SC2_ENV_E_EMPTY for len 0). *out is zeroed on error.
 */
int sc2_env_decode(const uint8_t *buf, size_t len, enum sc2_env_dir dir, sc2_env *out);

/*
 * Decodes the first envelope of buf[0..len); bytes after it are left for the next call.
 * Returns the bytes consumed (> 0) or SC2_ENV_E_* (never TRAILING; EMPTY for len 0).
 */
int sc2_env_decode_prefix(const uint8_t *buf, size_t len, enum sc2_env_dir dir, sc2_env *out);

/* Iterator over the envelopes of one WebSocket message. Borrowed buffer; no cleanup. */
typedef struct sc2_env_iter {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    enum sc2_env_dir dir;
    int err; /* sticky: once an envelope failed, every later next returns it */
} sc2_env_iter;

void sc2_env_iter_init(sc2_env_iter *it, const uint8_t *msg, size_t len, enum sc2_env_dir dir);
/*
 * Returns 1 and fills *out with the next envelope, 0 once every envelope was returned,
 * or SC2_ENV_E_* (SC2_ENV_E_EMPTY if the message had no envelope at all). A message
 * whose envelopes decode only up to some point yields those, then the error: a receiver
 * must treat the whole message as malformed (ERROR MALFORMED / drop the connection), but
 * may have acted on the envelopes before it.
 */
int sc2_env_iter_next(sc2_env_iter *it, sc2_env *out);

/*
 * Encoders. Each writes one complete envelope into out[0..cap) and returns its size,
 * or 0 if an argument is invalid (the decoder would refuse the result: seq 0 where it
 * must be >= 1, code 0, unknown flags, a missing or short gi_box or mls_message, a
 * reason over SC2_ENV_MAX_REASON or not printable ASCII, a body over SC2_ENV_MAX_BODY)
 * or cap is too small. With out == NULL nothing is written and the size the envelope
 * needs is returned (0 for invalid arguments), so a caller can size its buffer.
 * Fixed-size inputs (join_pk, sig, nonce, log_hash) must not be NULL where required.
 */
size_t sc2_env_encode_auth(uint8_t *out, size_t cap, const uint8_t join_pk[SC2_JOIN_PK_BYTES],
                           const uint8_t sig[SC2_SIG_BYTES]);
size_t sc2_env_encode_create(uint8_t *out, size_t cap,
                             const uint8_t join_pk[SC2_JOIN_PK_BYTES],
                             const uint8_t sig[SC2_SIG_BYTES], const uint8_t *gi_box,
                             size_t gi_box_len);
size_t sc2_env_encode_get_gi(uint8_t *out, size_t cap);
size_t sc2_env_encode_resume(uint8_t *out, size_t cap, uint64_t after_seq);
/* gi_box NULL (gi_box_len 0): not a commit, and join_pk must be NULL. join_pk NULL: no
 * rotation. The flags byte follows from which are present. */
size_t sc2_env_encode_submit(uint8_t *out, size_t cap, uint64_t token, const uint8_t *gi_box,
                             size_t gi_box_len, const uint8_t *join_pk, const uint8_t *mls,
                             size_t mls_len);
size_t sc2_env_encode_challenge(uint8_t *out, size_t cap, const uint8_t nonce[SC2_NONCE_BYTES],
                                uint32_t max_payload);
size_t sc2_env_encode_gi(uint8_t *out, size_t cap, uint64_t seq,
                         const uint8_t log_hash[SC2_LOG_HASH_BYTES], const uint8_t *gi_box,
                         size_t gi_box_len);
/* flags: SC2_LOG_F_*; join_pk must be given exactly when SC2_LOG_F_JOIN_PK is set. */
size_t sc2_env_encode_log(uint8_t *out, size_t cap, uint64_t seq, uint64_t time_ms,
                          uint8_t flags, const uint8_t *join_pk, const uint8_t *mls,
                          size_t mls_len);
size_t sc2_env_encode_live(uint8_t *out, size_t cap, uint64_t head_seq);
size_t sc2_env_encode_gone(uint8_t *out, size_t cap, uint64_t oldest_seq);
size_t sc2_env_encode_accepted(uint8_t *out, size_t cap, uint64_t token, uint64_t seq);
size_t sc2_env_encode_rejected(uint8_t *out, size_t cap, uint64_t token, uint16_t code,
                               uint64_t epoch);
/* reason: NUL-terminated, may be NULL for none. */
size_t sc2_env_encode_error(uint8_t *out, size_t cap, uint16_t code, const char *reason);

/*
 * Writes the part of a LOG envelope in front of its mls_message (header, seq, time_ms,
 * flags, join_pk) for an mls_message of mls_len bytes, so a relay can send a stored
 * message without copying it. Returns the header size (SC2_ENV_LOG_HEADER_MAX or
 * SC2_ENV_LOG_HEADER_MAX - 32), or 0 for invalid arguments as sc2_env_encode_log.
 */
size_t sc2_env_log_header(uint8_t out[SC2_ENV_LOG_HEADER_MAX], uint64_t seq, uint64_t time_ms,
                          uint8_t flags, const uint8_t *join_pk, size_t mls_len);

/* Sizes as functions, for callers that cannot see macros (WebAssembly). */
size_t sc2_env_header_bytes(void);
size_t sc2_env_max_body(void);

#endif
