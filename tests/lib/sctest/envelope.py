"""The envelope codec of docs/PROTOCOL.md section 2: the one codec of the tests.

An envelope is version (1 byte, 1), type (1 byte), body length (4 bytes, big endian),
body. The relay may pack several envelopes into one WebSocket message (a batch), so
a reader must always take every envelope of a message: parse_message() does.
"""
import struct

from .errors import check

VERSION = 1
HEADER = struct.Struct(">BBI")
HEADER_LEN = HEADER.size  # 6
SUBPROTOCOL = "saltchat.v1"

# Client to relay.
SEND_ALL, SEND_TO, SYNC = 0x01, 0x02, 0x03
# Relay to client.
WELCOME, JOINED, LEFT, DATA, SYNCED, ERROR = 0x81, 0x82, 0x83, 0x84, 0x85, 0x86
# ERROR codes.
ERR_MALFORMED, ERR_NO_SUCH_MEMBER, ERR_RATE_LIMITED, ERR_ROOM_FULL = 1, 2, 3, 4
ERR_RELAY_FULL, ERR_TOO_BIG, ERR_SLOW_CONSUMER, ERR_SHUTDOWN = 5, 6, 7, 8
# Close codes of the relay beyond RFC 6455's.
CLOSE_ROOM_FULL, CLOSE_SLOW_CONSUMER, CLOSE_CLUSTER = 4001, 4002, 4003

NAMES = {SEND_ALL: "SEND_ALL", SEND_TO: "SEND_TO", SYNC: "SYNC", WELCOME: "WELCOME",
         JOINED: "JOINED", LEFT: "LEFT", DATA: "DATA", SYNCED: "SYNCED", ERROR: "ERROR"}


def envelope(etype, body):
    """One envelope of type etype around body (bytes); returns bytes."""
    return HEADER.pack(VERSION, etype, len(body)) + body


def send_all(payload):
    """SEND_ALL: payload to every other member of the room."""
    return envelope(SEND_ALL, payload)


def send_to(to, payload):
    """SEND_TO: payload to member id `to` only."""
    return envelope(SEND_TO, struct.pack(">Q", to) + payload)


def sync(token):
    """SYNC with a 64-bit token; the relay answers SYNCED(token) in order."""
    return envelope(SYNC, struct.pack(">Q", token))


def member_body(member):
    """The body of JOINED/LEFT naming member (compare with Env.body)."""
    return struct.pack(">Q", member)


class Env:
    """One envelope from the relay, with the fields of its type decoded:
      .type .body (always)
      WELCOME  .you .max_payload .members     JOINED/LEFT  .member
      DATA     .sender .mode .payload         SYNCED       .token
      ERROR    .code .reason
    It also behaves as the pair (type, body): `t, body = env` unpacks it and it equals
    that tuple, so `(JOINED, member_body(x)) in envs` works. A body too short or too
    long for its type is a TestFailure."""

    def __init__(self, etype, body):
        self.type, self.body = etype, bytes(body)
        self._decode()

    def __iter__(self):
        return iter((self.type, self.body))

    def __eq__(self, other):
        if isinstance(other, Env):
            return (self.type, self.body) == (other.type, other.body)
        if isinstance(other, tuple):
            return (self.type, self.body) == other
        return NotImplemented

    def __hash__(self):
        return hash((self.type, self.body))

    def _decode(self):
        t, body = self.type, self.body
        if t == WELCOME:
            check(len(body) >= 16, f"WELCOME body of 16 bytes or more, got {len(body)}")
            self.you, self.max_payload, n = struct.unpack_from(">QII", body)
            check(len(body) == 16 + 8 * n, "WELCOME length matches its count")
            self.members = list(struct.unpack_from(">%dQ" % n, body, 16))
        elif t in (JOINED, LEFT):
            check(len(body) == 8, "JOINED/LEFT body is 8 bytes")
            (self.member,) = struct.unpack(">Q", body)
        elif t == DATA:
            check(len(body) >= 9, f"DATA body of 9 bytes or more, got {len(body)}")
            self.sender, self.mode = struct.unpack_from(">QB", body)
            self.payload = body[9:]
        elif t == SYNCED:
            check(len(body) == 8, f"SYNCED body is 8 bytes, got {len(body)}")
            (self.token,) = struct.unpack(">Q", body)
        elif t == ERROR:
            check(len(body) >= 2, f"ERROR body of 2 bytes or more, got {len(body)}")
            (self.code,) = struct.unpack_from(">H", body)
            self.reason = body[2:].decode("ascii", "replace")

    def __repr__(self):
        return "Env(%s, %r)" % (NAMES.get(self.type, "0x%02x" % self.type), self.body[:40])


def parse_message(msg):
    """Splits one WebSocket message from the relay (possibly a batch) into a list of
    Env, every envelope of it. A text message, a truncated header or body, or a version
    other than 1 is a TestFailure."""
    check(isinstance(msg, (bytes, bytearray)), "relay sends binary messages only")
    out, i = [], 0
    while i < len(msg):
        check(len(msg) - i >= HEADER_LEN, "no truncated envelope header in a batch")
        v, t, n = HEADER.unpack_from(msg, i)
        check(v == VERSION, "envelope version 1")
        check(len(msg) - i - HEADER_LEN >= n, "no truncated envelope body in a batch")
        out.append(Env(t, msg[i + HEADER_LEN:i + HEADER_LEN + n]))
        i += HEADER_LEN + n
    return out


def parse_messages(msgs):
    """Every envelope of every binary message in msgs (text messages are skipped)."""
    return [e for m in msgs if not isinstance(m, str) for e in parse_message(m)]
