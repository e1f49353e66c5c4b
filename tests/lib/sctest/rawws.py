"""A raw WebSocket client (RFC 6455) over a plain blocking socket, for tests that must
see the wire exactly or misbehave on purpose: it sends what it is told (masked or not,
any opcode, fragments, reserved bits) and parses what the server sends without judging
it. Timeouts on every read; a read that times out raises WaitTimeout naming what it
waited for.

    ws = RawWS.connect("127.0.0.1", port, "/room/" + room)    # 101 or TestFailure
    ws.send_binary(envelope2.get_gi())      # envelopes of protocol v2 (sctest.envelope2)
    env = ws.wait_envelope(lambda e: e.type == envelope2.ERROR, "ERROR NOT_AUTHENTICATED")
"""
import base64
import hashlib
import os
import socket
import struct
import time

from .envelope2 import SUBPROTOCOL, parse_message
from .errors import TestFailure, WaitTimeout, check
from .wait import timeout_message

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (str): the base64 SHA-1 of key+GUID."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def mask_bytes(data, key):
    """data XOR the 4-byte masking key repeated (masking and unmasking alike)."""
    n = len(data)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def encode_frame(opcode, payload, fin=True, mask=True, rsv=0, key=None, length=None):
    """One frame as bytes. mask=True masks with key (default random), as a client must;
    rsv sets the RSV1-3 bits (0-7); length overrides the announced payload length (to
    lie on purpose)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0x0F)])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = key or os.urandom(4)
    return head + key + mask_bytes(payload, key)


class Frame:
    """A parsed frame: .fin, .rsv (0-7), .opcode, .masked, .payload (unmasked)."""

    __slots__ = ("fin", "rsv", "opcode", "masked", "payload")

    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = \
            fin, rsv, opcode, masked, payload

    def __iter__(self):  # `op, payload = frame`
        return iter((self.opcode, self.payload))

    def close_code(self):
        """For a close frame: (code or None, reason bytes)."""
        if len(self.payload) < 2:
            return None, b""
        return struct.unpack(">H", self.payload[:2])[0], self.payload[2:]

    def __repr__(self):
        return "Frame(op=%d fin=%d rsv=%d masked=%d %r)" % (
            self.opcode, self.fin, self.rsv, self.masked, self.payload[:40])


def parse_frames(data, limit=None):
    """Parses frames from bytes: returns ([Frame], bytes used); stops at a partial frame
    (or after limit frames)."""
    out, i = [], 0
    while len(data) - i >= 2 and (limit is None or len(out) < limit):
        b0, b1 = data[i], data[i + 1]
        n, h = b1 & 0x7F, 2
        if n == 126:
            if len(data) - i < 4:
                break
            n, h = struct.unpack_from(">H", data, i + 2)[0], 4
        elif n == 127:
            if len(data) - i < 10:
                break
            n, h = struct.unpack_from(">Q", data, i + 2)[0], 10
        masked = bool(b1 & 0x80)
        key = b""
        if masked:
            if len(data) - i < h + 4:
                break
            key, h = data[i + h:i + h + 4], h + 4
        if len(data) - i - h < n:
            break
        payload = bytes(data[i + h:i + h + n])
        if masked:
            payload = mask_bytes(payload, key)
        out.append(Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, masked, payload))
        i += h + n
    return out, i


def handshake_request(host, path, key, subprotocol=SUBPROTOCOL, extra=""):
    """The client's upgrade request (bytes). subprotocol None: no protocol header.
    extra: further header lines, each ending in CRLF."""
    proto = f"Sec-WebSocket-Protocol: {subprotocol}\r\n" if subprotocol else ""
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{proto}{extra}\r\n").encode()


class RawWS:
    """A client connection. After connect(): .status (int), .reason, .headers (dict,
    lower-case names), .key (the Sec-WebSocket-Key sent), .sock; .buf holds bytes
    received after the response head and not yet parsed."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""
        self.status, self.reason, self.headers, self.key = None, "", {}, None
        self.pending = []       # envelopes parsed but not yet returned
        self.messages = 0       # binary messages received
        self.max_batch = 0      # most envelopes seen in one message
        self.closed = None      # the close Frame once received

    @classmethod
    def connect(cls, host, port, path, subprotocol=SUBPROTOCOL, extra="", rcvbuf=None,
                timeout=10.0, expect=101, nodelay=False, request=None):
        """Opens a TCP connection and sends the upgrade request (or `request`, bytes, as
        is); reads the response head. expect: the status the caller requires (TestFailure
        otherwise), None to accept any (look at .status). rcvbuf sets SO_RCVBUF before
        connecting (a client that reads slowly); every socket read waits at most timeout."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if nodelay:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(timeout)
        try:
            s.connect((host, port))
        except OSError as e:
            s.close()
            raise TestFailure(f"cannot connect to {host}:{port}: {e}") from None
        ws = cls(s)
        ws.timeout = timeout
        ws.key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(request if request is not None else
                  handshake_request(f"{host}:{port}", path, ws.key, subprotocol, extra))
        ws._read_head(f"the handshake response from {host}:{port}{path}")
        if expect is not None:
            check(ws.status == expect,
                  f"{expect} in answer to the upgrade of {path}, got {ws.status} {ws.reason}")
        if ws.status == 101:
            check(ws.headers.get("sec-websocket-accept") == accept_key(ws.key),
                  "Sec-WebSocket-Accept matches the key")
        return ws

    def _read_head(self, what):
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in self.buf:
            chunk = self._recv(deadline, what)
            if not chunk:
                raise TestFailure(f"connection closed before {what} was complete: "
                                  f"{self.buf[:200]!r}")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        check(len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit(),
              f"an HTTP status line, got {lines[0]!r}")
        self.status, self.reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def _recv(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout(timeout_message(self.timeout, what))
        self.sock.settimeout(left)
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            raise WaitTimeout(timeout_message(self.timeout, what)) from None
        except ConnectionResetError:
            return b""

    # --- sending -------------------------------------------------------------------

    def send_raw(self, data):
        """Sends bytes as they are."""
        self.sock.sendall(data)

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        """Sends one frame (see encode_frame)."""
        self.sock.sendall(encode_frame(opcode, payload, fin=fin, mask=mask, rsv=rsv))

    def send_binary(self, data):
        """Sends one binary message (one masked frame)."""
        self.send_frame(OP_BINARY, data)

    def send_close(self, code=1000, reason=b""):
        """Sends a close frame with code (None: empty body)."""
        body = b"" if code is None else struct.pack(">H", code) + reason
        self.send_frame(OP_CLOSE, body)

    # --- receiving ------------------------------------------------------------------

    def _span(self, timeout, span):
        """(deadline, seconds to report) of a read: inner reads of one wait share it."""
        if span is not None:
            return span
        timeout = self.timeout if timeout is None else timeout
        return time.monotonic() + timeout, timeout

    def recv_frame(self, timeout=None, what="a frame", _span=None):
        """The next frame from the server; None at EOF. Raises WaitTimeout naming what
        after timeout seconds (default: the connect timeout)."""
        deadline, total = self._span(timeout, _span)
        while True:
            frames, used = parse_frames(self.buf, 1)
            if frames:
                self.buf = self.buf[used:]
                return frames[0]
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeout(timeout_message(total, what))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise WaitTimeout(timeout_message(total, what)) from None
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk

    def recv_message(self, timeout=None, what="a message", pong=True, _span=None):
        """The next data message: (opcode, payload) with fragments joined; answers pings
        with pongs (unless pong=False); returns (OP_CLOSE, close payload) on a close
        frame and None at EOF. Raises WaitTimeout naming what."""
        span = self._span(timeout, _span)
        op, parts = None, []
        while True:
            f = self.recv_frame(what=what, _span=span)
            if f is None:
                return None
            if f.opcode == OP_PING:
                if pong:
                    self.send_frame(OP_PONG, f.payload)
                continue
            if f.opcode == OP_PONG:
                continue
            if f.opcode == OP_CLOSE:
                self.closed = f
                return OP_CLOSE, f.payload
            if op is None:
                op = f.opcode
            parts.append(f.payload)
            if f.fin:
                return op, b"".join(parts)

    def next_envelope(self, timeout=None, what="an envelope", _span=None):
        """The next envelope from the relay (an envelope.Env), taking EVERY envelope of
        each message in order. Raises TestFailure if the connection closes first, or
        WaitTimeout naming what."""
        span = self._span(timeout, _span)
        while not self.pending:
            m = self.recv_message(what=what, _span=span)
            if m is None or m[0] == OP_CLOSE:
                code = Frame(True, 0, OP_CLOSE, False, m[1]).close_code() if m else None
                raise TestFailure(f"connection closed (close {code}) while waiting for {what}")
            check(m[0] == OP_BINARY, f"binary messages only, got opcode {m[0]}")
            envs = parse_message(m[1])
            self.messages += 1
            self.max_batch = max(self.max_batch, len(envs))
            self.pending.extend(envs)
        return self.pending.pop(0)

    def wait_envelope(self, pred, what, timeout=None):
        """Reads envelopes until pred(env) holds and returns that one (the ones before
        it are dropped). Raises WaitTimeout naming what."""
        span = self._span(timeout, None)
        while True:
            e = self.next_envelope(what=what, _span=span)
            if pred(e):
                return e

    def read_until_eof(self, timeout):
        """Reads until EOF or timeout seconds; returns every byte not yet parsed."""
        deadline = time.monotonic() + timeout
        data, self.buf = self.buf, b""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, min(0.5, deadline - time.monotonic())))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        """Closes the socket (no close handshake)."""
        self.sock.close()

