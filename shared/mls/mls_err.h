/*
 * mls_err: the error codes every mls_* function returns. 0 is success; every failure is
 * a distinct negative code with a short reason from mls_strerror. Codes are stable: they
 * are part of the API (tests and clients match on them). Add new codes at the end.
 */
#ifndef MLS_ERR_H
#define MLS_ERR_H

enum mls_err {
    MLS_OK = 0,
    MLS_E_NOMEM = -1,         /* the allocator failed */
    MLS_E_DECODE = -2,        /* malformed encoding: truncated, trailing bytes, non-minimal
                                 varint, length over a bound, bad enum/optional byte */
    MLS_E_INVALID = -3,       /* well-formed but a field's value is not allowed */
    MLS_E_CRYPTO = -4,        /* a primitive failed: low-order point, AEAD tag mismatch */
    MLS_E_SIGNATURE = -5,     /* a signature does not verify */
    MLS_E_UNSUPPORTED = -6,   /* version, cipher suite, credential or extension we lack */
    MLS_E_EPOCH = -7,         /* message for an epoch other than the group's */
    MLS_E_GROUP_ID = -8,      /* message for another group */
    MLS_E_SENDER = -9,        /* sender is not a member (or was removed), or wrong type */
    MLS_E_MEMBERSHIP_TAG = -10, /* PublicMessage membership tag does not verify */
    MLS_E_CONFIRMATION_TAG = -11, /* commit/GroupInfo confirmation tag mismatch */
    MLS_E_PARENT_HASH = -12,  /* parent-hash chain of the ratchet tree is broken */
    MLS_E_TREE_HASH = -13,    /* tree hash does not match the GroupContext */
    MLS_E_TREE = -14,         /* ratchet tree invalid in another way (see tree validation) */
    MLS_E_REPLAY = -15,       /* generation already consumed (replay) or its key deleted */
    MLS_E_TOO_FAR = -16,      /* generation beyond the allowed look-ahead */
    MLS_E_PROPOSAL = -17,     /* proposal list invalid for a commit (RFC 9420 12.2) */
    MLS_E_KEY_PACKAGE = -18,  /* key package invalid (signature, suite, init key, lifetime) */
    MLS_E_NOT_FOUND = -19,    /* a referenced thing is missing (proposal ref, key package,
                                 PSK, our leaf in a Welcome) */
    MLS_E_STATE = -20,        /* call not allowed in the current state (API misuse) */
    MLS_E_BUFFER = -21,       /* caller's output buffer is too small */
    MLS_E_PSK = -22,          /* a pre-shared key is missing or its nonce/id is invalid */
    MLS_E_CAPABILITIES = -23, /* a member lacks a required capability or extension */
    MLS_E_LIFETIME = -24,     /* leaf node or key package outside its lifetime */
    MLS_E_WRONG_KEY = -25,    /* could not decrypt with our keys (not for us) */
    MLS_E_LEAF_NODE = -26,    /* leaf node invalid: signature, source, duplicate key */
    MLS_E_PATH = -27,         /* UpdatePath invalid: length, keys, missing where required */
    MLS_E_REUSE_GUARD = -28,  /* sender data / reuse guard inconsistent */
    MLS_E_PADDING = -29,      /* PrivateMessage padding not all zero */
    MLS_E_WIRE_FORMAT = -30,  /* message wire format not allowed here */
    MLS_E_EXTERNAL = -31      /* external commit or external sender invalid */
};

/* A short English reason for code ("ok" for 0, "unknown error" for an unknown code).
 * The string is static. */
const char *mls_strerror(int code);

#endif
