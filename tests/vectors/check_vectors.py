#!/usr/bin/python3
"""Independent check of tests/vectors/*.txt against docs/PROTOCOL.md.

Written from the spec with PyNaCl and hashlib only (no code shared with the C core), so
a pass means the spec is complete enough to interoperate with. Recomputes every output
from the recorded seeds, opens every recorded message, and checks every rejection.
Usage: /usr/bin/python3 check_vectors.py <vectors-dir>
"""
import base64
import hashlib
import os
import struct
import sys

import nacl.bindings as nb
import nacl.exceptions


def H(n, msg, key=b""):
    return hashlib.blake2b(msg, digest_size=n, key=key).digest()


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def kdf(n, subkey_id, ctx, key):
    return hashlib.blake2b(b"", digest_size=n, key=key,
                           salt=subkey_id.to_bytes(8, "little") + bytes(8),
                           person=ctx + bytes(8)).digest()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def N(counter):
    return bytes(16) + u64(counter)


class Rng:
    """The C core's seeded rng (sc_rng.h): draw i = randombytes_buf_deterministic with
    seed H(32, key seed, u64(i))."""

    def __init__(self, seed):
        self.seed, self.i = seed, 0

    def bytes(self, n):
        s = H(32, u64(self.i), self.seed)
        self.i += 1
        return nb.randombytes_buf_deterministic(n, s)

    def nonzero_u32(self):
        while True:
            v = struct.unpack(">I", self.bytes(4))[0]
            if v:
                return v


class Reject(Exception):
    pass


# ---- section 3 ------------------------------------------------------------------------

def room(secret):
    return kdf(32, 1, b"saltroom", secret), kdf(32, 2, b"saltroom", secret)


def norm_base(b, ws=False):
    low = b.lower()
    for prefix, secure in (("https://", True), ("http://", False), ("wss://", True), ("ws://", False)):
        if low.startswith(prefix):
            break
    else:
        raise Reject("url")
    rest = b[len(prefix):]
    host = rest.split("/", 1)[0]
    if not host or "@" in host:
        raise Reject("url")
    if any(not (0x21 <= ord(c) <= 0x7e) or c in "#?\\" for c in rest):
        raise Reject("url")
    if not rest.endswith("/"):
        rest += "/"
    if len(("https://" if secure else "http://") + rest) > 970:
        raise Reject("url")
    return (("wss://" if secure else "ws://") if ws else ("https://" if secure else "http://")) + rest


def invite_check(secret):
    return H(4, b"saltchat/v1 invite" + secret)


def invite_link(base, secret):
    return norm_base(base) + "#sc1." + b64url(secret + invite_check(secret))


def invite_parse(link):
    link = link.strip(" \t\r\n\v\f")
    if "#" not in link:
        raise Reject("no_fragment")
    base, frag = link.split("#", 1)
    if not frag.startswith("sc1."):
        raise Reject("version")
    code = frag[4:]
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    if any(c not in alphabet for c in code):
        raise Reject("encoding")
    if len(code) != 48:
        raise Reject("length")
    raw = base64.urlsafe_b64decode(code)
    if invite_check(raw[:32]) != raw[32:]:
        raise Reject("check")
    return raw[:32], norm_base(base)


# ---- section 4 ------------------------------------------------------------------------

def fingerprint(pk):
    h = H(64, b"saltchat/v1 fingerprint" + pk)
    for _ in range(5199):
        h = H(64, h + pk)
    return "".join("%05d" % (int.from_bytes(h[5 * i:5 * i + 5], "big") % 100000) for i in range(6))


def safety(fa, fb):
    a, b = sorted([fa, fb])
    s = a + b
    return " ".join(s[5 * i:5 * i + 5] for i in range(12))


# ---- section 5 ------------------------------------------------------------------------

def sign(sk, m):
    return nb.crypto_sign(m, sk)[:64]


def verify(pk, sig, m):
    try:
        nb.crypto_sign_open(sig + m, pk)
        return True
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        return False


def box(k, n, m):
    return nb.crypto_secretbox(m, n, k)


def unbox(k, n, c):
    try:
        return nb.crypto_secretbox_open(c, n, k)
    except nacl.exceptions.CryptoError:
        return None


def name_valid(name):
    if len(name) > 64:
        return False
    try:
        s = name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(not (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f) for c in s)


class Party:
    def __init__(self, seed, secret, my_id, peer_id, name):
        self.rng = Rng(seed)
        self.ik_pk, self.ik_sk = nb.crypto_sign_seed_keypair(self.rng.bytes(32))
        self.room_id, self.room_key = room(secret)
        self.id, self.peer, self.name = my_id, peer_id, name
        self.initiator = my_id < peer_id
        self.state = "wait_hs2" if self.initiator else "wait_hs1"
        self.ek_pk = None

    def ids(self):
        return (self.id, self.peer) if self.initiator else (self.peer, self.id)

    def idbox(self, label, k, ik_r=b""):
        nbytes = bytes([len(self.name)]) + self.name
        sig = sign(self.ik_sk, label + self.th + ik_r + nbytes)
        return box(k, N(0), self.ik_pk + sig + nbytes)

    def open_idbox(self, label, c, ik_r=b""):
        pt = unbox(self.k_recv, N(0), c)
        if pt is None:
            raise Reject("room")
        ik, sig, nlen, name = pt[:32], pt[32:96], pt[96], pt[97:]
        if len(name) != nlen:
            raise Reject("malformed")
        if not name_valid(name):
            raise Reject("name")
        if not verify(ik, sig, label + self.th + ik_r + bytes([nlen]) + name):
            raise Reject("signature")
        self.peer_ik, self.peer_name = ik, name

    def start(self):
        if not self.initiator:
            return b""
        self.ek_pk, self.ek_sk = nb.crypto_kx_seed_keypair(self.rng.bytes(32))
        i, r = self.ids()
        mac = H(32, b"saltchat/v1 hs1" + self.room_id + u64(i) + u64(r) + self.ek_pk, self.room_key)
        return bytes([1, 1]) + self.ek_pk + mac

    def keys(self, tx_i, rx_i):
        i, r = self.ids()
        ek_i, ek_r = (self.ek_pk, self.peer_ek) if self.initiator else (self.peer_ek, self.ek_pk)
        self.th = H(32, b"saltchat/v1 hs" + self.room_id + u64(i) + u64(r) + ek_i + ek_r)
        k_i2r = H(32, b"saltchat/v1 i2r" + self.th + tx_i, self.room_key)
        k_r2i = H(32, b"saltchat/v1 r2i" + self.th + rx_i, self.room_key)
        self.k_send, self.k_recv = (k_i2r, k_r2i) if self.initiator else (k_r2i, k_i2r)

    def receive(self, m):
        if len(m) < 2 or m[0] != 1 or m[1] not in (1, 2, 3):
            raise Reject("malformed")
        if {"wait_hs1": 1, "wait_hs2": 2, "wait_hs3": 3}.get(self.state) != m[1]:
            raise Reject("state")
        if m[1] == 1:
            if len(m) != 66:
                raise Reject("malformed")
            i, r = self.ids()
            mac = H(32, b"saltchat/v1 hs1" + self.room_id + u64(i) + u64(r) + m[2:34], self.room_key)
            if mac != m[34:]:
                raise Reject("room")
            self.peer_ek = m[2:34]
            self.ek_pk, self.ek_sk = nb.crypto_kx_seed_keypair(self.rng.bytes(32))
            try:
                rx_r, tx_r = nb.crypto_kx_server_session_keys(self.ek_pk, self.ek_sk, self.peer_ek)
            except nacl.exceptions.CryptoError:
                raise Reject("key")
            self.keys(rx_r, tx_r)
            self.state = "wait_hs3"
            return bytes([1, 2]) + self.ek_pk + self.idbox(b"saltchat/v1 sig-r", self.k_send)
        if m[1] == 2:
            if not 147 <= len(m) <= 211:
                raise Reject("malformed")
            self.peer_ek = m[2:34]
            try:
                rx_i, tx_i = nb.crypto_kx_client_session_keys(self.ek_pk, self.ek_sk, self.peer_ek)
            except nacl.exceptions.CryptoError:
                raise Reject("key")
            self.keys(tx_i, rx_i)
            self.open_idbox(b"saltchat/v1 sig-r", m[34:])
            self.state = "done"
            return bytes([1, 3]) + self.idbox(b"saltchat/v1 sig-i", self.k_send, self.peer_ik)
        if not 115 <= len(m) <= 179:
            raise Reject("malformed")
        self.open_idbox(b"saltchat/v1 sig-i", m[2:], self.ik_pk)
        self.state = "done"
        return b""


def chan_seal(k, counter, ctype, body):
    return bytes([1, 4]) + u64(counter) + box(k, N(counter), bytes([ctype]) + body)


def chan_open(k, last, m):
    if len(m) < 27 or len(m) - 27 > 4096 or m[0] != 1 or m[1] != 4:
        raise Reject("malformed")
    ctr = struct.unpack(">Q", m[2:10])[0]
    if ctr <= last:
        raise Reject("replay")
    pt = unbox(k, N(ctr), m[10:])
    if pt is None:
        raise Reject("auth")
    return ctr, pt[0], pt[1:]


# ---- section 6 ------------------------------------------------------------------------

class ChainOut:
    def __init__(self, rng):
        self.id = rng.nonzero_u32()
        self.ck = rng.bytes(32)
        self.sign_pk, self.sign_sk = nb.crypto_sign_seed_keypair(rng.bytes(32))
        self.index = 0

    def skd(self):
        return u32(self.id) + u32(self.index) + self.ck + self.sign_pk

    def step(self):
        mk = H(56, b"\x01", self.ck)
        self.ck, i = H(32, b"\x02", self.ck), self.index
        self.index += 1
        return mk, i


class ChainIn:
    def __init__(self, skd):
        if len(skd) != 72:
            raise Reject("malformed")
        self.id, self.start = struct.unpack(">II", skd[:8])
        self.ck, self.sign_pk = skd[8:40], skd[40:72]
        if self.id == 0 or not nb.crypto_core_ed25519_is_valid_point(self.sign_pk):
            raise Reject("malformed")
        self.next, self.skipped = self.start, {}

    def key(self, index):
        if index < self.start:
            raise Reject("before_join")
        if index < self.next:
            if index in self.skipped:
                return self.skipped[index]
            raise Reject("replay")  # nothing evicted in these vectors
        if index - self.next > 1000 or index == 0xffffffff:
            raise Reject("too_far")
        ck = self.ck
        for _ in range(index - self.next):
            ck = H(32, b"\x02", ck)
        return H(56, b"\x01", ck)

    def commit(self, index):
        if index in self.skipped:
            del self.skipped[index]
            return
        for i in range(self.next, index):
            self.skipped[i] = H(56, b"\x01", self.ck)
            self.ck = H(32, b"\x02", self.ck)
        self.ck = H(32, b"\x02", self.ck)
        self.next = index + 1


def padme(plain_len):
    L = plain_len + 1
    if L <= 64:
        return 64
    E = L.bit_length() - 1
    S = E.bit_length()
    mask = (1 << (E - S)) - 1
    return (L + mask) & ~mask


def group_seal(chain, room_id, sender, plain):
    mk, i = chain.step()
    P = padme(len(plain))
    body = bytes([1, 5]) + u32(chain.id) + u32(i) + box(mk[:32], mk[32:56], nb.sodium_pad(plain, P))
    return body + sign(chain.sign_sk, b"saltchat/v1 group" + room_id + u64(sender) + body)


def group_open(chain, room_id, sender, m):
    if len(m) < 154 or len(m) > 90 + padme(1 << 20) or m[0] != 1 or m[1] != 5:
        raise Reject("malformed")
    cid, index = struct.unpack(">II", m[2:10])
    if cid != chain.id:
        raise Reject("malformed")
    if not verify(chain.sign_pk, m[-64:], b"saltchat/v1 group" + room_id + u64(sender) + m[:-64]):
        raise Reject("signature")
    mk = chain.key(index)
    P = len(m) - 90
    padded = unbox(mk[:32], mk[32:56], m[10:-64])
    if padded is None:
        raise Reject("ciphertext")
    try:
        plain = nb.sodium_unpad(padded, P)
    except Exception:
        raise Reject("ciphertext")
    if padme(len(plain)) != P:
        raise Reject("ciphertext")
    chain.commit(index)
    return plain


def text_plain(msg_id, time_ms, text):
    return b"\x01" + u64(msg_id) + u64(time_ms) + text


def text_decode(p):
    if len(p) <= 17 or len(p) - 17 > 32768 or p[0] != 1:
        raise Reject("malformed")
    text = p[17:]
    text.decode("utf-8")
    return struct.unpack(">QQ", p[1:17]) + (text,)


# ---- section 2 ------------------------------------------------------------------------

CLIENT_TYPES = {0x01: "SEND_ALL", 0x02: "SEND_TO", 0x03: "SYNC"}
RELAY_TYPES = {0x81: "WELCOME", 0x82: "JOINED", 0x83: "LEFT", 0x84: "DATA", 0x85: "SYNCED",
               0x86: "ERROR"}


def env_parse(b, direction):
    """Returns (consumed, name, fields) or raises Reject(partial|version|type|length|field)."""
    if len(b) < 1:
        raise Reject("partial")
    if b[0] != 1:
        raise Reject("version")
    if len(b) < 2:
        raise Reject("partial")
    types = CLIENT_TYPES if direction == "client" else RELAY_TYPES
    if b[1] not in types:
        raise Reject("type")
    if len(b) < 6:
        raise Reject("partial")
    L = struct.unpack(">I", b[2:6])[0]
    if L > 16 * 1024 * 1024:
        raise Reject("length")
    if len(b) - 6 < L:
        raise Reject("partial")
    body, name, f = b[6:6 + L], types[b[1]], {}
    if name == "SEND_ALL":
        if L < 1:
            raise Reject("length")
        f["payload"] = body
    elif name == "SEND_TO":
        if L < 9:
            raise Reject("length")
        f["member"], f["payload"] = body[:8], body[8:]
        if f["member"] == bytes(8):
            raise Reject("field")
    elif name in ("SYNC", "SYNCED"):
        if L != 8:
            raise Reject("length")
        f["token"] = body
    elif name == "WELCOME":
        if L < 16:
            raise Reject("length")
        n = struct.unpack(">I", body[12:16])[0]
        if n > 65535 or L != 16 + 8 * n:
            raise Reject("length")
        f["member"], f["max_payload"], f["members"] = body[:8], body[8:12], body[16:]
        ids = [body[16 + 8 * i:24 + 8 * i] for i in range(n)]
        if f["member"] == bytes(8) or f["max_payload"] == bytes(4) or any(
                x == bytes(8) or x == f["member"] for x in ids):
            raise Reject("field")
    elif name in ("JOINED", "LEFT"):
        if L != 8:
            raise Reject("length")
        f["member"] = body
        if body == bytes(8):
            raise Reject("field")
    elif name == "DATA":
        if L < 10:
            raise Reject("length")
        f["member"], f["mode"], f["payload"] = body[:8], body[8:9], body[9:]
        if f["member"] == bytes(8) or body[8] > 1:
            raise Reject("field")
    elif name == "ERROR":
        if L < 2 or L > 122:
            raise Reject("length")
        f["code"], f["reason"] = body[:2], body[2:]
        if f["code"] == bytes(2) or any(not 0x20 <= c <= 0x7e for c in body[2:]):
            raise Reject("field")
    return 6 + L, name, f


def env_encode(name, f):
    t = {v: k for k, v in list(CLIENT_TYPES.items()) + list(RELAY_TYPES.items())}[name]
    body = {
        "SEND_ALL": lambda: f["payload"],
        "SEND_TO": lambda: f["member"] + f["payload"],
        "SYNC": lambda: f["token"],
        "SYNCED": lambda: f["token"],
        "WELCOME": lambda: f["member"] + f["max_payload"] + u32(len(f["members"]) // 8) + f["members"],
        "JOINED": lambda: f["member"],
        "LEFT": lambda: f["member"],
        "DATA": lambda: f["member"] + f["mode"] + f["payload"],
        "ERROR": lambda: f["code"] + f["reason"],
    }[name]()
    return bytes([1, t]) + u32(len(body)) + body


# ---- the vector files -----------------------------------------------------------------

class Record(dict):
    def b(self, k):
        v = self[k]
        return v.encode() if isinstance(v, str) else v

    def t(self, k):
        v = self[k]
        assert isinstance(v, str), k + " is not text"
        return v

    def u64(self, k):
        return struct.unpack(">Q", self[k])[0]


def read_records(path):
    recs, cur = [], Record()
    with open(path, encoding="ascii") as fh:
        for line in fh.read().split("\n"):
            if not line.strip():
                if cur:
                    recs.append(cur)
                    cur = Record()
                continue
            if line.startswith("#"):
                continue
            name, _, value = line.partition(": ")
            cur[name] = value[1:-1] if value.startswith('"') else bytes.fromhex(value)
    if cur:
        recs.append(cur)
    return recs


def expect_reject(fn, reason):
    try:
        fn()
    except Reject as e:
        assert str(e) == reason, "rejected as %s, expected %s" % (e, reason)
        return
    raise AssertionError("accepted, expected rejection: " + reason)


def check(r):
    t = r.t("type")
    if t == "rng":
        rng = Rng(r["seed"])
        i = 0
        while "draw%d" % i in r:
            assert rng.bytes(len(r["draw%d" % i])) == r["draw%d" % i]
            i += 1
    elif t == "identity":
        pk, sk = nb.crypto_sign_seed_keypair(Rng(r["seed"]).bytes(32))
        assert (pk, sk) == (r["ik_pk"], r["ik_sk"])
        assert fingerprint(pk) == r.t("fingerprint")
    elif t == "safety":
        fa, fb = fingerprint(r["ik_a"]), fingerprint(r["ik_b"])
        assert (fa, fb) == (r.t("fingerprint_a"), r.t("fingerprint_b"))
        assert safety(fa, fb) == r.t("safety") == safety(fb, fa)
    elif t == "invite":
        secret = Rng(r["seed"]).bytes(32)
        rid, rk = room(secret)
        assert (secret, rid, rk) == (r["secret"], r["room_id"], r["room_key"])
        assert b64url(rid) == r.t("room_id_text")
        assert invite_link(r.t("base"), secret) == r.t("link")
        assert norm_base(r.t("base"), ws=True) + "room/" + b64url(rid) == r.t("ws_url")
        assert invite_parse(r.t("link")) == (secret, norm_base(r.t("base")))
    elif t == "invite-parse":
        if r.t("error") == "ok":
            assert invite_parse(r.t("link")) == (r["secret"], r.t("base"))
        else:
            expect_reject(lambda: invite_parse(r.t("link")), r.t("error"))
    elif t == "handshake":
        secret = r["room_secret"]
        assert room(secret) == (r["room_id"], r["room_key"])
        I = Party(r["seed_i"], secret, r.u64("id_i"), r.u64("id_r"), r.b("name_i"))
        R = Party(r["seed_r"], secret, r.u64("id_r"), r.u64("id_i"), r.b("name_r"))
        assert (I.ik_pk, R.ik_pk) == (r["ik_i"], r["ik_r"])
        assert I.start() == r["hs1"] and R.start() == b""
        assert R.receive(r["hs1"]) == r["hs2"]
        assert I.receive(r["hs2"]) == r["hs3"]
        assert R.receive(r["hs3"]) == b""
        assert (I.ek_pk, R.ek_pk) == (r["ek_i"], r["ek_r"])
        assert I.th == R.th == r["th"]
        assert (I.k_send, I.k_recv) == (r["k_i2r"], r["k_r2i"]) == (R.k_recv, R.k_send)
        assert (I.peer_ik, R.peer_ik, I.peer_name, R.peer_name) == (
            R.ik_pk, I.ik_pk, r.b("name_r"), r.b("name_i"))
        assert fingerprint(I.ik_pk) == r.t("fingerprint_i")
        assert fingerprint(R.ik_pk) == r.t("fingerprint_r")
        assert safety(r.t("fingerprint_i"), r.t("fingerprint_r")) == r.t("safety")
        for side, other, skd, chan in ((I, R, "skd_i", "chan_i2r_1"), (R, I, "skd_r", "chan_r2i_1")):
            c = ChainOut(side.rng)
            assert c.skd() == r[skd]
            assert chan_seal(side.k_send, 1, 1, c.skd()) == r[chan]
            assert chan_open(other.k_recv, 0, r[chan]) == (1, 1, r[skd])
            ChainIn(r[skd])
    elif t == "handshake-reject":
        p = Party(r["seed"], r["room_secret"], r.u64("id_self"), r.u64("id_peer"), r.b("self_name"))
        assert r.t("receiver") == ("i" if p.initiator else "r")
        p.start()
        if "prior" in r:
            p.receive(r["prior"])
        expect_reject(lambda: p.receive(r["msg"]), r.t("error"))
    elif t == "chain":
        c = ChainOut(Rng(r["seed"]))
        assert (u32(c.id), c.sign_pk, c.skd()) == (r["chain_id"], r["sign_pk"], r["skd0"])
        cin = ChainIn(r["skd0"])
        for i in range(3):
            mk, idx = c.step()
            assert idx == i and mk == r["mk%d" % i] == cin.key(i)
            cin.commit(i)
        assert c.ck == cin.ck == r["ck3"]
        assert c.skd() == r["skd3"]
    elif t == "skd-chan":
        ctr = r.u64("counter")
        assert chan_seal(r["key"], ctr, 1, r["skd"]) == r["chan"]
        assert chan_open(r["key"], ctr - 1, r["chan"]) == (ctr, 1, r["skd"])
        expect_reject(lambda: chan_open(r["key"], ctr, r["chan"]), "replay")
        ChainIn(r["skd"])
    elif t == "skd-reject":
        expect_reject(lambda: ChainIn(r["skd"]), "malformed")
    elif t == "group":
        assert room(r["room_secret"])[0] == r["room_id"]
        c = ChainOut(Rng(r["seed"]))
        index = struct.unpack(">I", r["index"])[0]
        while c.index < index:
            c.step()
        assert c.skd() == r["skd"]
        plain = text_plain(r.u64("msg_id"), r.u64("time_ms"), r["text"])
        assert plain == r["plain"]
        cin = ChainIn(r["skd"])
        assert cin.key(index) == r["mk"]
        assert group_seal(c, r["room_id"], r.u64("sender"), plain) == r["msg"]
        assert group_open(cin, r["room_id"], r.u64("sender"), r["msg"]) == plain
        assert text_decode(plain) == (r.u64("msg_id"), r.u64("time_ms"), r["text"])
        expect_reject(lambda: group_open(cin, r["room_id"], r.u64("sender"), r["msg"]), "replay")
    elif t == "group-reject":
        cin = ChainIn(r["skd"])
        if "prior" in r:
            group_open(cin, r["room_id"], r.u64("sender"), r["prior"])
        expect_reject(lambda: group_open(cin, r["room_id"], r.u64("sender"), r["msg"]), r.t("error"))
    elif t == "envelope":
        f = {k: r.b(k) for k in ("member", "token", "max_payload", "members", "mode", "code",
                                 "payload", "reason") if k in r}
        assert env_encode(r.t("name"), f) == r["bytes"]
        n, name, parsed = env_parse(r["bytes"], r.t("dir"))
        assert n == len(r["bytes"]) and name == r.t("name")
        assert all(parsed[k] == v for k, v in f.items()), parsed
        for i in range(len(r["bytes"])):
            expect_reject(lambda: env_parse(r["bytes"][:i], r.t("dir")), "partial")
    elif t == "envelope-batch":
        b, count = r["bytes"], 0
        while b:
            n, _, _ = env_parse(b, r.t("dir"))
            b, count = b[n:], count + 1
        assert count == int(r.t("count"))
    elif t == "envelope-reject":
        expect_reject(lambda: env_parse(r["bytes"], r.t("dir")), r.t("error"))
    else:
        raise AssertionError("unknown record type " + t)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_vectors.py <vectors-dir>")
    failures = total = 0
    for fname in ("rng.txt", "identity.txt", "invite.txt", "handshake.txt", "chain.txt",
                  "group.txt", "envelope.txt"):
        recs = read_records(os.path.join(sys.argv[1], fname))
        if not recs:
            print("%s: no records" % fname)
            failures += 1
        for r in recs:
            total += 1
            try:
                check(r)
            except Exception as e:  # report every failing record, not just the first
                failures += 1
                print("%s: %s: %s: %r" % (fname, r.get("type"), r.get("name"), e))
        print("%-14s %3d records" % (fname, len(recs)))
    if failures:
        sys.exit("check_vectors.py: %d of %d records failed" % (failures, total))
    print("check_vectors.py: all %d records match an independent implementation" % total)


if __name__ == "__main__":
    main()
