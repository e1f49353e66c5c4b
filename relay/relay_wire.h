/*
 * relay_wire: the messages relays of one cluster exchange over the bus, and the
 * subjects they use (docs/CLUSTER.md). Encoding and strict decoding only.
 *
 * Every message starts with a 16-byte header: version (1), type, flags (u16), and
 * the sending relay's node: instance, nonce, epoch (u32 each, big-endian like
 * everything here). Messages on a room's subject (type >= 0x10) carry the
 * sender's sequence number for that room (u64) next. The rest depends on the type:
 *
 *   HB      0x01  ctl    -                          flags bit 0: established
 *   HELLO   0x02  ctl    seq u64, room_len u8, room id: "send me your STATE of this
 *                        room"; seq is the last one the sender used in the room
 *   FENCE   0x03  relay  target instance, nonce, epoch: "you were declared dead"
 *   STATE   0x10  room   gen u32, n u32, member u64 * n   (seq 0: not in the room, n 0)
 *   JOINED  0x11  room   member u64, gen u32
 *   LEFT    0x12  room   member u64
 *   DATA    0x13  room   from u64, to u64 (0: everyone), payload (>= 1 byte)
 *   ACK     0x14  room   peer instance, peer nonce, gen u32: "I know your joins up to gen"
 *   BYE     0x15  room   -                          the sender left the room
 *
 * Member ids in JOINED, LEFT, STATE and DATA's `from` must belong to the sender
 * (high half = its instance); a unicast's `to` must not.
 *
 * On a room's subject a NATS message is a bundle: one or more messages, each
 * preceded by its length (u32). A relay collects what it publishes in a room while
 * its loop handles a batch of events and sends it as one bundle, so that the broker,
 * and every relay receiving, handle one message per room and batch, not per frame.
 */
#ifndef RELAY_WIRE_H
#define RELAY_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_WIRE_VERSION 1u
#define RELAY_WIRE_HEADER 16u      /* every message */
#define RELAY_WIRE_ROOM_HEADER 24u /* room messages: header + seq */
#define RELAY_WIRE_DATA_OVERHEAD (RELAY_WIRE_ROOM_HEADER + 16u)
#define RELAY_WIRE_MAX_STATE_MEMBERS 65536u
#define RELAY_WIRE_HB_ESTABLISHED 1u

/* Subjects: the cluster-wide control subject, one per room, one per relay. */
#define RELAY_WIRE_CTL_SUBJECT "saltchat.ctl"
#define RELAY_WIRE_ROOM_PREFIX "saltchat.room."
#define RELAY_WIRE_RELAY_PREFIX "saltchat.relay."
#define RELAY_WIRE_SUBJECT_MAX 160u /* with the NUL; room ids are at most 128 chars */

#define RELAY_WIRE_E_SHORT (-1)   /* shorter than its type needs, or trailing bytes */
#define RELAY_WIRE_E_VERSION (-2) /* unknown version */
#define RELAY_WIRE_E_TYPE (-3)    /* unknown type */
#define RELAY_WIRE_E_FIELD (-4)   /* a field out of range (zero id, foreign member, flags) */

enum relay_wire_type {
    RELAY_WIRE_HB = 0x01,
    RELAY_WIRE_HELLO = 0x02,
    RELAY_WIRE_FENCE = 0x03,
    RELAY_WIRE_STATE = 0x10,
    RELAY_WIRE_JOINED = 0x11,
    RELAY_WIRE_LEFT = 0x12,
    RELAY_WIRE_DATA = 0x13,
    RELAY_WIRE_ACK = 0x14,
    RELAY_WIRE_BYE = 0x15
};

/* One incarnation of a relay on the bus. */
typedef struct relay_wire_node {
    uint32_t instance; /* high half of its member ids; nonzero */
    uint32_t nonce;    /* drawn at process start; nonzero */
    uint32_t epoch;    /* counts its (re)connections and resets; nonzero */
} relay_wire_node;

/* A decoded (or to be encoded) message; which fields matter depends on type. */
typedef struct relay_wire_msg {
    uint8_t type;
    uint16_t flags;             /* HB */
    relay_wire_node from;
    uint64_t seq;               /* room messages; HELLO: the sender's last in the room */
    uint64_t member;            /* JOINED, LEFT; DATA: from */
    uint64_t to;                /* DATA */
    uint32_t gen;               /* STATE, JOINED, ACK */
    relay_wire_node target;     /* FENCE; ACK (instance and nonce) */
    const char *room;           /* HELLO: room id (not NUL-terminated) */
    size_t room_len;
    const uint8_t *ids;         /* STATE: n_ids big-endian u64 member ids */
    uint32_t n_ids;
    const uint8_t *payload;     /* DATA */
    size_t payload_len;
} relay_wire_msg;

#define RELAY_WIRE_BUNDLE_PREFIX 4u /* length of each message in a bundle */

/*
 * Steps through bundle buf[0..len): sets *msg and *msg_len to the message at *off and
 * advances *off. Returns 1, 0 at the end, or RELAY_WIRE_E_SHORT if the bundle is cut.
 */
int relay_wire_bundle_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **msg,
                           size_t *msg_len);

/* Writes a bundle entry's length prefix at p. */
void relay_wire_put_len(uint8_t *p, uint32_t len);

/* Returns 1 if type is sent on a room's subject. */
int relay_wire_is_room_type(uint8_t type);

/*
 * Decodes buf[0..len) into *m (pointers into buf). Returns 0 or a RELAY_WIRE_E_*
 * value. Every length and field is checked.
 */
int relay_wire_parse(const uint8_t *buf, size_t len, relay_wire_msg *m);

/* Returns the encoded size of m (room messages: with their seq). */
size_t relay_wire_size(const relay_wire_msg *m);

/* Encodes m into out[0..cap). Returns the length, or 0 if cap is too small. For STATE,
 * m->ids holds n_ids big-endian ids (relay_wire_put_id writes them). */
size_t relay_wire_encode(uint8_t *out, size_t cap, const relay_wire_msg *m);

/* STATE: the i-th member id. */
uint64_t relay_wire_state_id(const relay_wire_msg *m, uint32_t i);

/* Writes id big-endian at p (8 bytes). */
void relay_wire_put_id(uint8_t *p, uint64_t id);

/* Writes the subject of room id[0..len) (a valid room id) into out[RELAY_WIRE_SUBJECT_MAX]. */
void relay_wire_room_subject(char *out, const char *id, size_t len);

/* Writes the private subject of relay instance into out[RELAY_WIRE_SUBJECT_MAX]. */
void relay_wire_relay_subject(char *out, uint32_t instance);

/* If subject is a room subject, returns its room id and sets *len; else NULL. */
const char *relay_wire_subject_room(const char *subject, size_t *len);

#endif
