"""Protocol v2's relay-visible framing (shared/v2/sc2_envelope.h, docs/V2-DESIGN.md),
written here from the spec independently of the C codec, so that the tests check the
relay against the text rather than against its own code. Also the auth proof, the log
hash chain and MLS messages with real-looking clear headers (RFC 9420 section 6) for a
relay that reads those headers but verifies no signature.

An envelope is version (1 byte, 2), type (1 byte), body length (4 bytes, big endian),
body. The relay may pack several envelopes into one WebSocket message; a client sends one
per message. parse_message() takes every envelope of a message and checks each body's
layout strictly.
"""
import hashlib
import struct

from .errors import check

VERSION = 2
HEADER = struct.Struct(">BBI")
HEADER_LEN = HEADER.size  # 6
SUBPROTOCOL = "saltchat.v2"

# Client to relay.
AUTH, CREATE, GET_GI, RESUME, SUBMIT = 0x01, 0x02, 0x03, 0x04, 0x05
# Relay to client.
CHALLENGE, GI, LOG, LIVE, GONE, ACCEPTED, REJECTED, ERROR = range(0x81, 0x89)
NAMES = {AUTH: "AUTH", CREATE: "CREATE", GET_GI: "GET_GI", RESUME: "RESUME", SUBMIT: "SUBMIT",
         CHALLENGE: "CHALLENGE", GI: "GI", LOG: "LOG", LIVE: "LIVE", GONE: "GONE",
         ACCEPTED: "ACCEPTED", REJECTED: "REJECTED", ERROR: "ERROR"}

# ERROR codes (the relay closes after them unless noted) and REJECTED codes.
MALFORMED, TOO_LARGE, RATE_LIMITED, NOT_AUTHENTICATED, BAD_PROOF, NO_ROOM = 1, 2, 3, 4, 5, 6
ROOM_EXISTS, BAD_STATE, SEQ_AHEAD, OLD_KEY, RELAY_FULL, SLOW_CONSUMER = 7, 8, 9, 10, 11, 12
STORAGE, SHUTDOWN = 13, 14
STALE_EPOCH, NO_GROUPINFO, NOT_COMMIT, BAD_MLS, KEY_RETIRED = 32, 33, 34, 35, 36

SUBMIT_F_GI, SUBMIT_F_JOIN_PK = 0x01, 0x02
LOG_F_COMMIT, LOG_F_JOIN_PK = 0x01, 0x02
GIBOX_MIN = 49
ROOM_ID_LEN = 16
AUTH_LABEL = b"saltchat/v2 auth"
LOG_LABEL = b"saltchat/v2 log"


def envelope(etype, body):
    return HEADER.pack(VERSION, etype, len(body)) + body


def auth(join_pk, sig):
    check(len(join_pk) == 32 and len(sig) == 64, "AUTH: 32-byte key, 64-byte signature")
    return envelope(AUTH, join_pk + sig)


def create(join_pk, sig, gi_box):
    return envelope(CREATE, join_pk + sig + gi_box)


def get_gi():
    return envelope(GET_GI, b"")


def resume(after_seq):
    return envelope(RESUME, struct.pack(">Q", after_seq))


def submit(token, mls, gi_box=None, join_pk=None):
    flags = (SUBMIT_F_GI if gi_box is not None else 0) | (SUBMIT_F_JOIN_PK if join_pk else 0)
    body = struct.pack(">QB", token, flags)
    if gi_box is not None:
        body += struct.pack(">I", len(gi_box)) + gi_box
    if join_pk:
        body += join_pk
    return envelope(SUBMIT, body + mls)


class Env:
    """One decoded relay envelope: .type, .name, .body and the fields of its type."""

    def __init__(self, etype, body):
        self.type, self.body = etype, body
        self.name = NAMES.get(etype, hex(etype))

    def __repr__(self):
        fields = {k: v for k, v in vars(self).items() if k not in ("body", "type")}
        for k, v in fields.items():
            if isinstance(v, bytes) and len(v) > 24:
                fields[k] = v[:12].hex() + "..(%d)" % len(v)
        return "Env(%r)" % fields


def _decode(etype, b):
    e = Env(etype, b)
    n = len(b)
    if etype == CHALLENGE:
        check(n == 36, "CHALLENGE body is 36 bytes (no head_seq), got %d" % n)
        e.nonce, (e.max_payload,) = b[:32], struct.unpack(">I", b[32:])
    elif etype == GI:
        check(n >= 40 + GIBOX_MIN, "GI body holds seq, log hash and a gi_box, got %d" % n)
        e.seq, e.log_hash, e.gi_box = struct.unpack(">Q", b[:8])[0], b[8:40], b[40:]
    elif etype == LOG:
        check(n >= 18, "LOG body holds seq, time, flags and a message, got %d" % n)
        e.seq, e.time_ms, e.flags = struct.unpack(">QQB", b[:17])
        check(e.seq >= 1 and not e.flags & ~3, "LOG seq >= 1 and known flags: %r" % e)
        check(e.flags & LOG_F_COMMIT or not e.flags & LOG_F_JOIN_PK,
              "LOG join_pk only on a commit")
        off = 17
        e.join_pk = None
        if e.flags & LOG_F_JOIN_PK:
            e.join_pk, off = b[17:49], 49
        e.mls = b[off:]
        check(len(e.mls) >= 1, "LOG carries a message")
    elif etype in (LIVE, GONE):
        check(n == 8, "%s body is 8 bytes, got %d" % (e.name, n))
        e.seq = struct.unpack(">Q", b)[0]
    elif etype == ACCEPTED:
        check(n == 16, "ACCEPTED body is 16 bytes, got %d" % n)
        e.token, e.seq = struct.unpack(">QQ", b)
        check(e.seq >= 1, "ACCEPTED seq >= 1")
    elif etype == REJECTED:
        check(n == 18, "REJECTED body is 18 bytes, got %d" % n)
        e.token, e.code, e.epoch = struct.unpack(">QHQ", b)
    elif etype == ERROR:
        check(n >= 2, "ERROR body holds a code")
        e.code, e.reason = struct.unpack(">H", b[:2])[0], b[2:].decode("ascii")
        check(all(0x20 <= c < 0x7f for c in b[2:]), "ERROR reason is printable ASCII")
    else:
        check(False, "a relay-to-client type, got 0x%02x" % etype)
    return e


def parse_message(data):
    """Every envelope of one WebSocket message from the relay, as Env objects."""
    check(isinstance(data, bytes) and len(data) > 0, "a non-empty binary message")
    out, off = [], 0
    while off < len(data):
        check(len(data) - off >= HEADER_LEN, "a whole envelope header at %d" % off)
        ver, etype, n = HEADER.unpack_from(data, off)
        check(ver == VERSION, "envelope version 2, got %d" % ver)
        off += HEADER_LEN
        check(len(data) - off >= n, "a whole body of %d bytes" % n)
        out.append(_decode(etype, data[off:off + n]))
        off += n
    return out


def auth_sig(signing_key, room_id, nonce):
    """sig = Ed25519(join_sk, "saltchat/v2 auth" || room_id || nonce); signing_key is a
    nacl.signing.SigningKey."""
    return signing_key.sign(AUTH_LABEL + room_id + nonce).signature


def log_genesis(room_id):
    return hashlib.blake2b(LOG_LABEL + room_id, digest_size=32).digest()


def log_step(prev, seq, log_body):
    """L_seq = BLAKE2b-256(L_{seq-1} || u64(seq) || the LOG body as sent)."""
    return hashlib.blake2b(prev + struct.pack(">Q", seq) + log_body, digest_size=32).digest()


# --- MLS messages with real-looking clear headers ------------------------------------

APPLICATION, PROPOSAL, COMMIT = 1, 2, 3
MEMBER, EXTERNAL, NEW_MEMBER_PROPOSAL, NEW_MEMBER_COMMIT = 1, 2, 3, 4


def _vec(b):
    n = len(b)
    if n < 64:
        return bytes([n]) + b
    if n < 16384:
        return struct.pack(">H", 0x4000 | n) + b
    return struct.pack(">I", 0x80000000 | n) + b


def mls_public(group_id, epoch, content_type, sender=MEMBER, leaf=0, body=b"\x00" * 80):
    """An MLSMessage(PublicMessage): version mls10, wire format 1, group_id, epoch, sender,
    empty authenticated_data, content type, then body standing for the content, signature
    and tags (the relay does not read them)."""
    s = bytes([sender]) + (struct.pack(">I", leaf) if sender in (MEMBER, EXTERNAL) else b"")
    return (struct.pack(">HH", 1, 1) + _vec(group_id) + struct.pack(">Q", epoch) + s +
            _vec(b"") + bytes([content_type]) + body)


def mls_private(group_id, epoch, content_type=APPLICATION, aad=b"", ciphertext=b"\x01" * 40):
    """An MLSMessage(PrivateMessage): group_id, epoch, content type, authenticated_data,
    encrypted_sender_data, ciphertext."""
    return (struct.pack(">HH", 1, 2) + _vec(group_id) + struct.pack(">Q", epoch) +
            bytes([content_type]) + _vec(aad) + _vec(b"\x02" * 24) + _vec(ciphertext))
