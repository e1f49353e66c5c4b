/*
 * sc_envelope: the relay-visible framing, shared by relay and clients.
 *
 * Every WebSocket binary message carries envelopes back to back. A client sends
 * exactly one envelope per message; the relay may pack several (a batch) for a
 * recipient whose queue is backlogged.
 *
 *   off  size  field
 *   0    1     version (SC_ENV_VERSION)
 *   1    1     type (SC_ENV_T_*)
 *   2    4     body length L, big-endian
 *   6    L     body, layout per type (all integers big-endian):
 *
 *   client -> relay
 *     SEND_ALL  payload[1..]                        to every other member
 *     SEND_TO   to:u64 payload[1..]                 to one member
 *     SYNC      token:u64                           relay answers SYNCED
 *   relay -> client
 *     WELCOME   you:u64 max_payload:u32 n:u32 member:u64 * n
 *     JOINED    member:u64
 *     LEFT      member:u64
 *     DATA      from:u64 mode:u8 payload[1..]       mode 0 broadcast, 1 to you
 *     SYNCED    token:u64
 *     ERROR     code:u16 reason[0..SC_ENV_MAX_REASON] (printable ASCII)
 *
 * Member ids are nonzero. docs/PROTOCOL.md is the normative description.
 */
#ifndef SC_ENVELOPE_H
#define SC_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define SC_ENV_VERSION 1u
#define SC_ENV_HEADER_BYTES 6u
/* Largest body the codec accepts at all; callers apply their own, smaller limits. */
#define SC_ENV_MAX_BODY (16u * 1024u * 1024u)
#define SC_ENV_MAX_REASON 120u
#define SC_ENV_MAX_WELCOME_MEMBERS 65535u
/* Header plus the fixed fields in front of a DATA payload. */
#define SC_ENV_DATA_OVERHEAD (SC_ENV_HEADER_BYTES + 8u + 1u)
/* Header plus the fixed fields in front of a SEND_TO payload. */
#define SC_ENV_SEND_TO_OVERHEAD (SC_ENV_HEADER_BYTES + 8u)

enum sc_env_type {
    SC_ENV_T_SEND_ALL = 0x01,
    SC_ENV_T_SEND_TO = 0x02,
    SC_ENV_T_SYNC = 0x03,
    SC_ENV_T_WELCOME = 0x81,
    SC_ENV_T_JOINED = 0x82,
    SC_ENV_T_LEFT = 0x83,
    SC_ENV_T_DATA = 0x84,
    SC_ENV_T_SYNCED = 0x85,
    SC_ENV_T_ERROR = 0x86
};

/* Who sent the bytes being parsed: each side accepts only the other's types. */
enum sc_env_dir { SC_ENV_FROM_CLIENT = 0, SC_ENV_FROM_RELAY = 1 };

enum sc_env_data_mode { SC_ENV_MODE_BROADCAST = 0, SC_ENV_MODE_UNICAST = 1 };

/* Codes carried in ERROR envelopes. */
enum sc_env_error_code {
    SC_ENV_ERR_MALFORMED = 1,    /* envelope failed to parse; connection closes */
    SC_ENV_ERR_NO_SUCH_MEMBER = 2, /* SEND_TO target is not in the room; not fatal */
    SC_ENV_ERR_RATE_LIMITED = 3, /* flood; connection closes */
    SC_ENV_ERR_ROOM_FULL = 4,    /* connection closes */
    SC_ENV_ERR_RELAY_FULL = 5,   /* too many connections; connection closes */
    SC_ENV_ERR_TOO_BIG = 6,      /* message over the relay's size limit; closes */
    SC_ENV_ERR_SLOW_CONSUMER = 7, /* queue over its bound; connection closes */
    SC_ENV_ERR_SHUTDOWN = 8      /* relay is stopping */
};

/* Parse results (negative) from sc_env_parse. */
#define SC_ENV_E_PARTIAL (-1) /* need more bytes: the envelope is truncated */
#define SC_ENV_E_VERSION (-2) /* unsupported version byte */
#define SC_ENV_E_TYPE (-3)    /* unknown type, or not allowed in this direction */
#define SC_ENV_E_LENGTH (-4)  /* body length impossible for the type or over the cap */
#define SC_ENV_E_FIELD (-5)   /* a field is invalid (zero member id, bad mode, ...) */

/* A parsed envelope. Pointers alias the parsed input buffer. */
typedef struct sc_env {
    uint8_t type;
    uint64_t member;   /* SEND_TO: to; WELCOME: you; JOINED/LEFT: member; DATA: from */
    uint64_t token;    /* SYNC, SYNCED */
    uint32_t max_payload; /* WELCOME */
    uint32_t n_members;   /* WELCOME: count of entries at members (8 bytes each) */
    const uint8_t *members; /* WELCOME: big-endian u64s; read with sc_env_welcome_member */
    uint8_t mode;      /* DATA */
    uint16_t code;     /* ERROR */
    const uint8_t *payload; /* SEND_ALL, SEND_TO, DATA payload; ERROR reason */
    size_t payload_len;
} sc_env;

/*
 * Parses one envelope from buf[0..len). Every field is checked against the type's
 * layout; trailing bytes beyond the envelope are left for the next call.
 * Returns the number of bytes consumed (> 0), or one of SC_ENV_E_*. On error *out
 * is unspecified. Nothing is copied: out's pointers alias buf.
 */
int sc_env_parse(const uint8_t *buf, size_t len, enum sc_env_dir dir, sc_env *out);

/* Returns member i (< env->n_members) of a parsed WELCOME. */
uint64_t sc_env_welcome_member(const sc_env *env, uint32_t i);

/* Returns a static, human-readable description of an SC_ENV_E_* value. */
const char *sc_env_strerror(int err);

/* Returns a static short name for an SC_ENV_ERR_* code ("unknown" if none). */
const char *sc_env_error_code_name(uint16_t code);

/*
 * Encoders. Each writes one complete envelope into out[0..cap) and returns the
 * number of bytes written, or 0 if cap is too small or an argument is invalid
 * (zero member id, empty payload, reason too long or not printable ASCII).
 */
size_t sc_env_encode_send_all(uint8_t *out, size_t cap, const uint8_t *payload, size_t len);
size_t sc_env_encode_send_to(uint8_t *out, size_t cap, uint64_t to, const uint8_t *payload,
                             size_t len);
size_t sc_env_encode_sync(uint8_t *out, size_t cap, uint64_t token);
size_t sc_env_encode_synced(uint8_t *out, size_t cap, uint64_t token);
size_t sc_env_encode_joined(uint8_t *out, size_t cap, uint64_t member);
size_t sc_env_encode_left(uint8_t *out, size_t cap, uint64_t member);
size_t sc_env_encode_data(uint8_t *out, size_t cap, uint64_t from, uint8_t mode,
                          const uint8_t *payload, size_t len);
size_t sc_env_encode_error(uint8_t *out, size_t cap, uint16_t code, const char *reason);

/* WELCOME is written in two steps so a relay can stream its member list. */
/* Returns the size of a WELCOME listing n members. */
size_t sc_env_welcome_size(uint32_t n);
/* Writes WELCOME with members[0..n). Returns bytes written or 0 as above. */
size_t sc_env_encode_welcome(uint8_t *out, size_t cap, uint64_t you, uint32_t max_payload,
                             const uint64_t *members, uint32_t n);

/*
 * Writes the SC_ENV_DATA_OVERHEAD bytes that precede a DATA payload of len bytes,
 * so a relay can place a payload after it without building it twice. Returns
 * SC_ENV_DATA_OVERHEAD, or 0 on invalid arguments (as for sc_env_encode_data).
 */
size_t sc_env_write_data_header(uint8_t out[SC_ENV_DATA_OVERHEAD], uint64_t from, uint8_t mode,
                                size_t len);

/* Sizes as functions, for callers that cannot see macros (WebAssembly). */
size_t sc_env_header_bytes(void);
size_t sc_env_data_overhead(void);
size_t sc_env_send_to_overhead(void);

#endif
