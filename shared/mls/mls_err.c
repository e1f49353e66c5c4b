#include "mls_err.h"

const char *mls_strerror(int code)
{
    switch (code) {
    case MLS_OK: return "ok";
    case MLS_E_NOMEM: return "out of memory";
    case MLS_E_DECODE: return "malformed encoding";
    case MLS_E_INVALID: return "invalid field value";
    case MLS_E_CRYPTO: return "cryptographic operation failed";
    case MLS_E_SIGNATURE: return "signature does not verify";
    case MLS_E_UNSUPPORTED: return "unsupported version, cipher suite, credential or extension";
    case MLS_E_EPOCH: return "message for another epoch";
    case MLS_E_GROUP_ID: return "message for another group";
    case MLS_E_SENDER: return "sender is not a valid member";
    case MLS_E_MEMBERSHIP_TAG: return "membership tag does not verify";
    case MLS_E_CONFIRMATION_TAG: return "confirmation tag mismatch";
    case MLS_E_PARENT_HASH: return "parent hash chain broken";
    case MLS_E_TREE_HASH: return "tree hash mismatch";
    case MLS_E_TREE: return "invalid ratchet tree";
    case MLS_E_REPLAY: return "generation already used or its key deleted";
    case MLS_E_TOO_FAR: return "generation too far ahead";
    case MLS_E_PROPOSAL: return "invalid proposal list";
    case MLS_E_KEY_PACKAGE: return "invalid key package";
    case MLS_E_NOT_FOUND: return "referenced object not found";
    case MLS_E_STATE: return "call not allowed in this state";
    case MLS_E_BUFFER: return "output buffer too small";
    case MLS_E_PSK: return "pre-shared key missing or invalid";
    case MLS_E_CAPABILITIES: return "required capability missing";
    case MLS_E_LIFETIME: return "outside lifetime";
    case MLS_E_WRONG_KEY: return "cannot decrypt with our keys";
    case MLS_E_LEAF_NODE: return "invalid leaf node";
    case MLS_E_PATH: return "invalid update path";
    case MLS_E_REUSE_GUARD: return "sender data or reuse guard inconsistent";
    case MLS_E_PADDING: return "padding not all zero";
    case MLS_E_WIRE_FORMAT: return "wire format not allowed here";
    case MLS_E_EXTERNAL: return "invalid external commit or external sender";
    default: return "unknown error";
    }
}
