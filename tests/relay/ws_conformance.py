#!/usr/bin/python3
"""RFC 6455 conformance of saltchat-relay against hostile input (issue 11).

Each case starts the real relay binary on 127.0.0.1:0, does a real upgrade on a raw
socket (sctest.rawws), sends bytes that break a rule of RFC 6455 section 5 (framing)
or 4.2.1 (handshake), and asserts the exact answer: the close code of the relay's
close frame, or the HTTP status and headers. Then the relay must still be running
and serve a fresh client of protocol v2 (saltchat.v2: CHALLENGE, then CREATE and GET_GI
answered by GI). The rules and who
enforces them (lws 4.1.6 or the relay) are listed in docs/RELAY.md, "WebSocket
conformance".

No case sends the payload a bad header announces: a close that arrives while the
client sends nothing more was decided on the header alone.

    ws_conformance.py --relay PATH CASE     run one case (CTest runs one per test)
    ws_conformance.py --relay PATH all      run every case
    ws_conformance.py --list                list the cases
"""
import base64
import os
import shutil
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nacl.signing  # noqa: E402

from sctest import envelope2 as e2  # noqa: E402
from sctest.envelope2 import CHALLENGE, ERROR, GI, parse_message  # noqa: E402
from sctest.errors import TestFailure, check  # noqa: E402
from sctest.rawws import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,  # noqa: E402
                          OP_TEXT, RawWS, accept_key, encode_frame, handshake_request)
from sctest.relay import Relay  # noqa: E402
from sctest import cases as sc_cases, metrics, tls  # noqa: E402
from sctest.wait import until_sync  # noqa: E402

ERR_TOO_BIG = e2.TOO_LARGE

RELAY = None
MAX_FRAME = 4096      # --max-frame of the cases that test size limits
WAIT = 10.0           # bound of every read: a close must come while we send nothing


KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ROOM = "AAECAwQFBgcICQoLDA0ODw"    # base64url of the 16-byte room id 00 01 .. 0f


def sync(n):
    """A valid client envelope to carry in frames (RESUME after seq n)."""
    return e2.resume(n)


def fresh_room():
    return base64.urlsafe_b64encode(os.urandom(e2.ROOM_ID_LEN)).rstrip(b"=").decode()


def created(ws, room, what):
    """ws got its CHALLENGE in room (a fresh one): CREATE it and read the GroupInfo back."""
    env = ws.next_envelope(what=f"CHALLENGE for {what}")
    check(env.type == CHALLENGE, f"{what}: CHALLENGE first, got {env!r}")
    sk = nacl.signing.SigningKey.generate()
    room_id = base64.urlsafe_b64decode(room + "==")
    ws.send_binary(e2.create(sk.verify_key.encode(), e2.auth_sig(sk, room_id, env.nonce),
                             b"gi" + os.urandom(60)))
    ws.send_binary(e2.get_gi())
    gi = ws.wait_envelope(lambda e: e.type in (GI, ERROR), f"GI for {what}", timeout=WAIT)
    check(gi.type == GI and gi.seq == 0, f"{what}: GI of the new room, got {gi!r}")


def send_request(relay, req, status, what):
    """Sends req (bytes, with Sec-WebSocket-Key KEY, and maybe frames after it) on a new
    connection; asserts the response status (and, for 101, the accept key). Returns the
    RawWS, bytes after the head kept for reading."""
    s = socket.create_connection(("127.0.0.1", relay.port), timeout=WAIT)
    ws = RawWS(s)
    ws.timeout, ws.key = WAIT, KEY
    s.sendall(req)
    ws._read_head(f"the answer to {what}")
    check(ws.status == status, f"{what}: HTTP {status}, got {ws.status} {ws.reason}")
    if status == 101:
        check(ws.headers.get("sec-websocket-accept") == accept_key(KEY),
              f"{what}: Sec-WebSocket-Accept matches the key")
    return ws


def start(*args):
    return Relay(RELAY, *args).start()


def member(relay, room=ROOM):
    """A raw client past the upgrade and its CHALLENGE (so its session is established)."""
    ws = RawWS.connect("127.0.0.1", relay.port, "/room/" + room, timeout=WAIT)
    env = ws.next_envelope(what="CHALLENGE after the upgrade")
    check(env.type == CHALLENGE, f"CHALLENGE first, got {env!r}")
    return ws


def expect_close(ws, code, what, error=None):
    """Reads until the relay's close frame (answering pings); asserts its status code.
    error: the ERROR envelope code that must come before it (None: no envelope at all).
    Returns the close reason."""
    envs = []
    while True:
        m = ws.recv_message(timeout=WAIT, what=f"the close frame ({code}) after {what}")
        if m is None:
            raise TestFailure(f"{what}: the relay hung up without a close frame "
                              f"(expected {code}); envelopes before: {envs}")
        op, payload = m
        if op == OP_CLOSE:
            break
        check(op == OP_BINARY, f"{what}: binary messages only before the close, got {op}")
        envs.extend(parse_message(payload))
    got = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
    reason = payload[2:].decode("utf-8", "replace")
    check(got == code, f"{what}: close code {code}, got {got} ({reason!r})")
    errors = [e for e in envs if e.type == ERROR]
    if error is None:
        check(not errors, f"{what}: no ERROR envelope before the close, got {errors}")
    else:
        check([e.code for e in errors] == [error],
              f"{what}: one ERROR {error} before the close, got {errors}")
    ws.close()
    return reason


def still_serving(relay, what):
    """The relay runs and a fresh client creates a room and reads its GroupInfo."""
    check(relay.running(), f"the relay still runs after {what}")
    room = fresh_room()
    ws = RawWS.connect("127.0.0.1", relay.port, "/room/" + room, timeout=WAIT)
    created(ws, room, f"a fresh client after {what}")
    ws.close()


def frame_case(bad, code, what, *args, error=None):
    """One connection per item of bad (bytes, or a list of byte strings sent one
    after another), each answered with close code (None: 1002, or 1009 with ERROR
    too-big for a header announcing 2^62 bytes)."""
    with start(*args) as relay:
        for i, data in enumerate(bad):
            ws = member(relay)
            for piece in (data if isinstance(data, list) else [data]):
                ws.send_raw(piece)
            want, err = code, error
            if code is None:
                huge = data == header(0x82, 1 << 62)
                want, err = (1009, ERR_TOO_BIG) if huge else (1002, None)
            expect_close(ws, want, f"{what} #{i}", err)
        still_serving(relay, what)


def header(b0, length, mask=True, key=b"\x11\x22\x33\x44", form=None):
    """A frame header: byte 0, the length in the given form (7, 16 or 64 bits;
    default the shortest), the mask bit and key."""
    m = 0x80 if mask else 0
    form = form or (7 if length < 126 else 16 if length < 65536 else 64)
    if form == 7:
        h = bytes([b0, m | length])
    elif form == 16:
        h = bytes([b0, m | 126]) + struct.pack(">H", length)
    else:
        h = bytes([b0, m | 127]) + struct.pack(">Q", length)
    return h + (key if mask else b"")


# --- the three answers of the probe ---------------------------------------------------

def case_unmasked():
    frame_case([encode_frame(OP_BINARY, sync(1), mask=False),
                encode_frame(OP_PING, b"x", mask=False),
                header(0x82, 1 << 20, mask=False)],
               1002, "an unmasked client frame")


def case_huge_length():
    # 2^62 bytes announced, none sent: refused on the header (the probe waited 5 s)
    frame_case([header(0x82, 1 << 62), header(0x81, 1 << 62)], 1009,
               "a header announcing 2^62 bytes", error=ERR_TOO_BIG)


def case_version_8():
    with start() as relay:
        for extra, status in (("8", 426), ("12", 426), ("14", 426), ("", 400), (None, 400)):
            req = handshake_request(relay.addr, "/room/" + ROOM, KEY)
            if extra is None:
                req = req.replace(b"Sec-WebSocket-Version: 13\r\n", b"")
            else:
                req = req.replace(b"Sec-WebSocket-Version: 13",
                                  b"Sec-WebSocket-Version: " + extra.encode())
            ws = send_request(relay, req, status, f"Sec-WebSocket-Version {extra!r}")
            check(ws.headers.get("sec-websocket-version") == "13",
                  f"Sec-WebSocket-Version {extra!r}: the answer names version 13, got "
                  f"{ws.headers}")
            ws.close()
        still_serving(relay, "refused versions")


# --- framing: RFC 6455 section 5 ------------------------------------------------------

def case_rsv_bits():
    frame_case([encode_frame(OP_BINARY, sync(1), rsv=r) for r in (1, 2, 4, 7)] +
               [encode_frame(OP_PING, b"p", rsv=4)],
               1002, "RSV bits without an extension")


def case_unknown_opcode():
    frame_case([encode_frame(op, b"abc") for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF)],
               1002, "an unknown opcode")


def case_control_too_long():
    # 126 bytes need the 16-bit form, which no control frame may use
    frame_case([header(0x89, 126), header(0x88, 200), header(0x8A, 70000)],
               1002, "a control frame over 125 bytes")


def case_control_fragmented():
    frame_case([encode_frame(OP_PING, b"p", fin=False), encode_frame(OP_CLOSE, b"", fin=False),
                encode_frame(OP_PONG, b"", fin=False)],
               1002, "a control frame with FIN clear")


def case_continuation_alone():
    what = "a continuation frame without a started message"
    frame_case([encode_frame(OP_CONT, sync(1))], 1002, what)
    # after a complete message the relay answers (an authenticated member: GET_GI, GI)
    with start() as relay:
        room = fresh_room()
        ws = RawWS.connect("127.0.0.1", relay.port, "/room/" + room, timeout=WAIT)
        created(ws, room, what)
        ws.send_raw(encode_frame(OP_BINARY, e2.get_gi()) + encode_frame(OP_CONT, b"x"))
        expect_close(ws, 1002, what + " after a complete GET_GI")
        still_serving(relay, what)


def case_data_inside_fragmented():
    first = encode_frame(OP_BINARY, sync(1)[:4], fin=False)
    frame_case([[first, encode_frame(OP_BINARY, sync(2))],
                [first, encode_frame(OP_TEXT, b"hi")]],
               1002, "a new data frame while a fragmented message is open")


def case_control_inside_fragmented():
    """Control frames may come between fragments (5.4): the message still arrives."""
    with start() as relay:
        ws = member(relay)
        msg = e2.get_gi()  # answered before AUTH: ERROR NOT_AUTHENTICATED
        ws.send_raw(encode_frame(OP_BINARY, msg[:3], fin=False) +
                    encode_frame(OP_PING, b"between") +
                    encode_frame(OP_CONT, msg[3:]))
        pong = None
        deadline = time.monotonic() + WAIT
        while True:
            f = ws.recv_frame(timeout=max(0.1, deadline - time.monotonic()),
                              what="the pong and the answer to a fragmented GET_GI")
            check(f is not None, "the connection stays open")
            if f.opcode == OP_PONG and f.payload == b"between":
                pong = f
            elif f.opcode == OP_BINARY:
                envs = parse_message(f.payload)
                if any(e.type == ERROR and e.code == e2.NOT_AUTHENTICATED for e in envs):
                    break
            elif f.opcode == OP_CLOSE:
                raise TestFailure(f"closed: {f.close_code()}")
        if pong is None:  # the pong may follow the answer
            f = ws.recv_frame(timeout=WAIT, what="the pong to a ping between fragments")
            check(f is not None and f.opcode == OP_PONG and f.payload == b"between",
                  f"a pong with the ping's payload, got {f!r}")
        ws.close()
        still_serving(relay, "a ping between fragments")


def case_length_not_minimal():
    frame_case([header(0x82, 10, form=16), header(0x82, 125, form=16),
                header(0x82, 100, form=64), header(0x82, 65535, form=64)],
               1002, "a payload length not in its shortest form")


def case_length_top_bit():
    frame_case([header(0x82, (1 << 63) | 5, form=64), header(0x82, 1 << 63, form=64)],
               1002, "a 64-bit length with its top bit set")


def case_over_max_frame():
    """An announced length over --max-frame is refused on the header."""
    frame_case([header(0x82, MAX_FRAME + 1), header(0x82, 1 << 31)],
               1009, "a frame announcing more than --max-frame", "--max-frame", str(MAX_FRAME),
               error=ERR_TOO_BIG)


def case_fragments_over_max_frame():
    """The message's fragments together announce more than --max-frame: refused on
    the header of the fragment that goes over, before its payload."""
    part = b"\x01" * 3000
    frame_case([[encode_frame(OP_BINARY, part, fin=False), header(0x00, 2000)],
                [encode_frame(OP_BINARY, part, fin=False),
                 encode_frame(OP_CONT, b"\x01" * 1000, fin=False), header(0x80, 200)]],
               1009, "fragments adding up to more than --max-frame",
               "--max-frame", str(MAX_FRAME), error=ERR_TOO_BIG)


def case_text_invalid_utf8():
    frame_case([encode_frame(OP_TEXT, b"ok \xff\xfe"), encode_frame(OP_TEXT, b"\xc0\xaf"),
                encode_frame(OP_TEXT, b"\xed\xa0\x80")],  # overlong '/', a surrogate
               1007, "a text frame that is not UTF-8")


def case_text_valid():
    """Valid text is still refused, as data the relay does not accept (1003)."""
    frame_case([encode_frame(OP_TEXT, "héllo".encode())], 1003, "a valid text frame",
               error=e2.MALFORMED)


def case_close_one_byte():
    frame_case([encode_frame(OP_CLOSE, b"\x03")], 1002, "a close frame with 1 byte")


def case_close_bad_code():
    codes = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
    frame_case([encode_frame(OP_CLOSE, struct.pack(">H", c) + b"bye") for c in codes],
               1002, "a close frame with an invalid status code")


def case_close_bad_reason():
    frame_case([encode_frame(OP_CLOSE, struct.pack(">H", 1000) + b"bye \xff"),
                encode_frame(OP_CLOSE, struct.pack(">H", 1000) + b"\xe2\x82")],
               1007, "a close reason that is not UTF-8")


def case_close_valid():
    """A valid close is echoed: same code (1000, 1001, 3000, 4999), then EOF."""
    with start() as relay:
        for code in (1000, 1001, 3000, 4999):
            ws = member(relay)
            ws.send_close(code, "fin".encode())
            reason = expect_close(ws, code, f"a close with {code}")
            check(reason == "fin", f"the close reason echoed, got {reason!r}")
        ws = member(relay)
        ws.send_close(None)
        m = ws.recv_message(timeout=WAIT, what="the answer to an empty close")
        check(m is not None and m[0] == OP_CLOSE, f"a close frame, got {m!r}")
        still_serving(relay, "valid closes")


def case_ping_pong():
    with start() as relay:
        ws = member(relay)
        for payload in (b"", b"x", os.urandom(125)):
            ws.send_raw(encode_frame(OP_PING, payload))
            f = ws.recv_frame(timeout=WAIT, what="the pong to a %d-byte ping" % len(payload))
            while f is not None and f.opcode == OP_PING:  # the relay's own keepalive
                f = ws.recv_frame(timeout=WAIT, what="the pong")
            check(f is not None and f.opcode == OP_PONG and f.payload == payload,
                  "a pong with the ping's %d bytes, got %r" % (len(payload), f))
            check(not f.masked, "server frames are not masked")
        ws.close()
        still_serving(relay, "pings")


def case_with_handshake():
    """Bad frames in the same packet as the upgrade request are refused too."""
    with start("--max-frame", str(MAX_FRAME)) as relay:
        for data, code in ((encode_frame(OP_BINARY, sync(1), mask=False), 1002),
                           (header(0x82, 1 << 62), 1009),
                           (header(0x82, MAX_FRAME + 1), 1009),
                           (encode_frame(OP_BINARY, sync(1), rsv=1), 1002)):
            req = handshake_request(relay.addr, "/room/" + ROOM, KEY) + data
            ws = send_request(relay, req, 101, "an upgrade followed by a frame")
            expect_close(ws, code, f"{data[:2].hex()} sent with the handshake",
                         ERR_TOO_BIG if code == 1009 else None)
        still_serving(relay, "frames sent with the handshake")


def case_tls():
    """Over TLS the relay checks the decrypted stream the same way."""
    tmp = tempfile.mkdtemp(prefix="ws-conformance-tls-")
    try:
        cert, key, ctx = tls.self_signed(tmp)
        relay = Relay(RELAY, "--max-frame", str(MAX_FRAME), tls=(cert, key, ctx))
        with relay.start():
            def tls_member(room=ROOM, challenge=True):
                raw = socket.create_connection(("127.0.0.1", relay.port), timeout=WAIT)
                s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
                ws = RawWS(s)
                ws.timeout, ws.key = WAIT, KEY
                s.sendall(handshake_request(relay.addr, "/room/" + room, KEY))
                ws._read_head("the answer to an upgrade over TLS")
                check(ws.status == 101, f"101 over TLS, got {ws.status} {ws.reason}")
                if challenge:
                    env = ws.next_envelope(what="CHALLENGE over TLS")
                    check(env.type == CHALLENGE, f"CHALLENGE first over TLS, got {env!r}")
                return ws

            for data, code in ((encode_frame(OP_BINARY, sync(1), mask=False), 1002),
                               (header(0x82, 1 << 62), 1009),
                               (header(0x82, MAX_FRAME + 1), 1009),
                               (header(0x82, 10, form=16), 1002),
                               (encode_frame(OP_CLOSE, b"\x03"), 1002)):
                ws = tls_member()
                ws.send_raw(data)
                expect_close(ws, code, f"{data[:2].hex()} over TLS",
                             ERR_TOO_BIG if code == 1009 else None)
            check(relay.running(), "the relay still runs after bad frames over TLS")
            room = fresh_room()
            ws = tls_member(room, challenge=False)
            created(ws, room, "a fresh client over TLS")
            ws.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_metrics():
    """Protocol errors and refused handshakes are counted under their own reasons."""
    with start() as relay:
        for data, code in ((encode_frame(OP_BINARY, sync(1), mask=False), 1002),
                           (encode_frame(OP_CLOSE, b"\x03"), 1002),
                           (encode_frame(OP_CLOSE, b"\x03\xe8\xff"), 1007),
                           (encode_frame(OP_TEXT, b"\xff"), 1007)):
            ws = member(relay)
            ws.send_raw(data)
            expect_close(ws, code, f"{data[:2].hex()}")
        refused(relay, request(headers={"Sec-WebSocket-Version": "8"}), 426, "version 8",
                "speaks 13")
        refused(relay, request(headers={"Sec-WebSocket-Key": "short"}), 400, "a short key",
                "Sec-WebSocket-Key")
        closed = 'saltchat_relay_closed_total{reason="protocol"}'
        refusals = 'saltchat_relay_handshakes_refused_total{reason="handshake"}'
        until_sync(lambda: metrics.scrape(relay.port).get(closed) == 4,
                   f"{closed} to reach 4", timeout=WAIT,
                   detail=lambda: "it is %s" % metrics.scrape(relay.port).get(closed))
        m = metrics.scrape(relay.port)
        check(m.get(refusals) == 2, f"{refusals} is 2, got {m.get(refusals)}")
        check(m.get('saltchat_relay_closed_total{reason="peer"}') == 0,
              "no protocol error counted as a close by the peer")
        still_serving(relay, "counted violations")


def case_reuse_port():
    """Connections accepted by the relay's own --reuse-port listener are checked too."""
    frame_case([encode_frame(OP_BINARY, sync(1), mask=False), header(0x82, 1 << 62),
                header(0x82, 10, form=16)],
               None, "bad frames on a --reuse-port listener", "--reuse-port")


# --- the handshake: RFC 6455 section 4.2.1 ----------------------------------------------

def request(method="GET", version="HTTP/1.1", headers=None, drop=()):
    h = {"Host": "127.0.0.1", "Upgrade": "websocket", "Connection": "Upgrade",
         "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13",
         "Sec-WebSocket-Protocol": e2.SUBPROTOCOL}
    h.update(headers or {})
    lines = "".join("%s: %s\r\n" % (k, v) for k, v in h.items() if k not in drop)
    return ("%s /room/%s %s\r\n%s\r\n" % (method, ROOM, version, lines)).encode()


def refused(relay, req, status, what, says):
    """req is answered with status and a body that has the words says."""
    ws = send_request(relay, req, status, what)
    n = int(ws.headers.get("content-length", "-1"))
    check(n >= 0, f"{what}: the refusal has a content-length")
    body = ws.buf
    deadline = time.monotonic() + WAIT
    while len(body) < n:
        chunk = ws._recv(deadline, f"the body of the refusal of {what}")
        check(chunk, f"{what}: the refusal's body is complete")
        body += chunk
    text = body[:n].decode("utf-8", "replace")
    check(says in text, f"{what}: the refusal says {says!r}, got {text!r}")
    ws.close()


def case_handshake_key():
    with start() as relay:
        for key in (None, "", "not base64 at all!!!!!==", "AAAAAAAAAAAAAAAAAAAAAA=",
                    "AAAAAAAAAAAAAAAAAAAA",                 # 15 bytes
                    "AAAAAAAAAAAAAAAAAAAAAAAA",             # 18 bytes
                    "AAAAAAAAAAAAAAAAAAAAAB==",             # padding bits not zero
                    "AAAAAAAAAAAAAAAAAAAAAAA="):            # 17 bytes
            req = request(drop=("Sec-WebSocket-Key",)) if key is None else \
                request(headers={"Sec-WebSocket-Key": key})
            refused(relay, req, 400, f"Sec-WebSocket-Key {key!r}", "Sec-WebSocket-Key must be")
        send_request(relay, request(), 101, "a valid key").close()
        still_serving(relay, "bad keys")


def case_handshake_tokens():
    with start() as relay:
        conn = "the Connection header must name Upgrade"
        refused(relay, request(drop=("Connection",)), 400, "no Connection header", conn)
        refused(relay, request(headers={"Connection": "keep-alive"}), 400,
                "Connection without Upgrade", conn)
        refused(relay, request(headers={"Connection": "upgr"}), 400,
                "Connection: upgr (a prefix of upgrade)", conn)
        refused(relay, request(headers={"Upgrade": "h2c"}), 400, "Upgrade: h2c",
                "only WebSocket upgrades")
        refused(relay, request(drop=("Host",)), 400, "no Host header", "Host header is missing")
        # the tokens are case-insensitive and may be in a list
        send_request(relay, request(headers={"Connection": "keep-alive, UPGRADE",
                                             "Upgrade": "WebSocket"}),
                     101, "Connection: keep-alive, UPGRADE").close()
        still_serving(relay, "bad Connection/Upgrade headers")


def case_handshake_method():
    with start() as relay:
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            refused(relay, request(method=method), 400, f"an upgrade with {method}",
                    "a WebSocket handshake is a GET request")
        refused(relay, request(version="HTTP/1.0"), 400, "an upgrade over HTTP/1.0",
                "needs HTTP/1.1")
        still_serving(relay, "bad methods and versions")


CASES = sc_cases.cases_of(globals())


def main():
    def setup(a):
        global RELAY
        RELAY = a.relay

    return sc_cases.main(__doc__, CASES, setup=setup)


if __name__ == "__main__":
    sys.exit(main())
