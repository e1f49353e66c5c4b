/*
 * relay_mlshdr: a strict parser of the clear header of an MLSMessage (RFC 9420 section 6),
 * the part the v2 delivery service needs (docs/V2-DESIGN.md "Delivery-service rules"):
 * version, wire_format, and for a PublicMessage or PrivateMessage the group_id, epoch and
 * content_type, and for a PublicMessage the sender. Pure: no allocation, no I/O.
 *
 * What is checked, every length before use:
 *   - version is mls10 (1); wire_format is public_message (1) or private_message (2); the
 *     other wire formats (welcome, group_info, key_package) are not group log entries;
 *   - variable-length vectors use the 1, 2 or 4-byte varint of RFC 9420 2.1.2, minimally
 *     encoded, and fit in the input;
 *   - group_id is 1..RELAY_MLSHDR_GROUP_ID_MAX bytes;
 *   - PublicMessage: the sender type is known, and combined with a content type as RFC 9420
 *     6.2 and 12.1.8 allow (member: proposal or commit; external and new_member_proposal:
 *     proposal; new_member_commit: commit; application data only in a PrivateMessage);
 *     the content after content_type (the proposal or commit, signature, tags) is not
 *     parsed: the members verify it, the relay holds no key to do so;
 *   - PrivateMessage: content_type is known, and the rest (authenticated_data,
 *     encrypted_sender_data, ciphertext) is parsed to the exact end of the input.
 */
#ifndef RELAY_MLSHDR_H
#define RELAY_MLSHDR_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_MLSHDR_GROUP_ID_MAX 255u

enum relay_mlshdr_wire {
    RELAY_MLSHDR_PUBLIC = 1,
    RELAY_MLSHDR_PRIVATE = 2
};

enum relay_mlshdr_content {
    RELAY_MLSHDR_APPLICATION = 1,
    RELAY_MLSHDR_PROPOSAL = 2,
    RELAY_MLSHDR_COMMIT = 3
};

enum relay_mlshdr_sender {
    RELAY_MLSHDR_SENDER_NONE = 0, /* PrivateMessage: the sender is encrypted */
    RELAY_MLSHDR_MEMBER = 1,
    RELAY_MLSHDR_EXTERNAL = 2,
    RELAY_MLSHDR_NEW_MEMBER_PROPOSAL = 3,
    RELAY_MLSHDR_NEW_MEMBER_COMMIT = 4
};

typedef enum relay_mlshdr_err {
    RELAY_MLSHDR_OK = 0,
    RELAY_MLSHDR_E_SHORT = -1,        /* input ends inside the header (or a vector) */
    RELAY_MLSHDR_E_VERSION = -2,      /* version is not mls10 */
    RELAY_MLSHDR_E_WIRE_FORMAT = -3,  /* not public_message or private_message */
    RELAY_MLSHDR_E_VARINT = -4,       /* a vector length with the 8-byte prefix or not minimal */
    RELAY_MLSHDR_E_GROUP_ID = -5,     /* empty or longer than RELAY_MLSHDR_GROUP_ID_MAX */
    RELAY_MLSHDR_E_SENDER = -6,       /* unknown sender type */
    RELAY_MLSHDR_E_CONTENT_TYPE = -7, /* unknown content type */
    RELAY_MLSHDR_E_COMBINATION = -8,  /* content type not allowed for this sender/format */
    RELAY_MLSHDR_E_TRAILING = -9      /* PrivateMessage: bytes after the ciphertext */
} relay_mlshdr_err;

typedef struct relay_mlshdr {
    uint16_t wire_format;     /* enum relay_mlshdr_wire */
    const uint8_t *group_id;  /* points into the parsed buffer */
    size_t group_id_len;
    uint64_t epoch;
    uint8_t content_type;     /* enum relay_mlshdr_content */
    uint8_t sender_type;      /* enum relay_mlshdr_sender; NONE for a PrivateMessage */
    uint32_t sender_index;    /* member: leaf index; external: sender index; else 0 */
} relay_mlshdr;

/*
 * Parses the MLSMessage buf[0..len) into *h (group_id points into buf). Returns
 * RELAY_MLSHDR_OK or one of the errors above; *h is zeroed on error.
 */
relay_mlshdr_err relay_mlshdr_parse(const uint8_t *buf, size_t len, relay_mlshdr *h);

/* 1 if h is a commit (PublicMessage or PrivateMessage). */
int relay_mlshdr_is_commit(const relay_mlshdr *h);

/* A short constant description of err ("truncated MLS header", ...). */
const char *relay_mlshdr_strerror(relay_mlshdr_err err);

#endif
