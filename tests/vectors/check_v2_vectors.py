#!/usr/bin/python3
"""Independent check of tests/vectors/v2_*.txt against docs/PROTOCOL.md (version 2).

Written from the spec with PyNaCl, hashlib and hmac only (no code shared with the C core):
recomputes links, derivations, auth proofs, gi_boxes, the link rotation (MLS-Exporter with
HKDF-SHA256, RFC 9420 section 8.5), envelopes and the log hash chain, and checks every
rejection for its recorded reason. For v2_room.txt (sc2_room): display-name rules and
the basic credential, a room's CREATE with its first GroupInfo parsed and both its
signatures (GroupInfo, creator's leaf) verified per RFC 9420, and application messages'
clear header, authenticated_data and padded size.
Usage: /usr/bin/python3 check_v2_vectors.py <vectors-dir>
"""
import base64
import hashlib
import hmac
import os
import struct
import sys

import nacl.bindings as nb
import nacl.exceptions


def H(n, msg, key=b""):
    return hashlib.blake2b(msg, digest_size=n, key=key).digest()


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def kdf(n, subkey_id, ctx, key):
    """crypto_kdf_derive_from_key: BLAKE2b keyed, salt u64le(id), personal ctx."""
    return hashlib.blake2b(b"", digest_size=n, key=key,
                           salt=subkey_id.to_bytes(8, "little") + bytes(8),
                           person=ctx + bytes(8)).digest()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Rng:
    """The vectors' rng: draw i = randombytes_buf_deterministic(n, H(32, key seed, u64(i)))."""

    def __init__(self, seed):
        self.seed, self.i = seed, 0

    def bytes(self, n):
        s = H(32, u64(self.i), self.seed)
        self.i += 1
        return nb.randombytes_buf_deterministic(n, s)


class Reject(Exception):
    pass


# ---- section 3: the link ----------------------------------------------------------------

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
    # the longest link (base + "#sc2." + 70) is 1023 characters
    if len(("https://" if secure else "http://") + rest) > 1023 - 75:
        raise Reject("url")
    return (("wss://" if secure else "ws://") if ws else ("https://" if secure else "http://")) + rest


def link_check(room_id, secret):
    return H(4, b"saltchat/v2 invite" + room_id + secret)


def link_format(base, room_id, secret):
    return norm_base(base) + "#sc2." + b64url(room_id + secret + link_check(room_id, secret))


def link_parse(link):
    link = link.strip(" \t\r\n\v\f")
    if "#" not in link:
        raise Reject("no_fragment")
    base, frag = link.split("#", 1)
    digits = ""
    if frag.startswith("sc"):
        for c in frag[2:8]:
            if not c.isdigit():
                break
            digits += c
    if not digits or not frag[2 + len(digits):].startswith(".") or \
            (digits[0] == "0") or int(digits) < 1:
        raise Reject("not_saltchat")
    if int(digits) != 2:
        raise Reject("old_version" if int(digits) < 2 else "new_version")
    code = frag[2 + len(digits) + 1:]
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    if any(c not in alphabet for c in code):
        raise Reject("encoding")
    if len(code) != 70:
        raise Reject("length")
    raw = base64.urlsafe_b64decode(code + "==")
    if b64url(raw) != code:  # non-zero padding bits
        raise Reject("encoding")
    room_id, secret, check = raw[:16], raw[16:48], raw[48:]
    if link_check(room_id, secret) != check:
        raise Reject("check")
    return room_id, secret, norm_base(base)


def ws_url(base, room_id):
    return norm_base(base, ws=True) + "room/" + b64url(room_id)


def join_keypair(secret):
    seed = kdf(32, 1, b"sclink02", secret)
    pk, sk = nb.crypto_sign_seed_keypair(seed)
    return seed, pk, sk


def gi_key(secret):
    return kdf(32, 2, b"sclink02", secret)


def auth_message(room_id, nonce):
    return b"saltchat/v2 auth" + room_id + nonce


def auth_sign(secret, room_id, nonce):
    _, pk, sk = join_keypair(secret)
    return pk, nb.crypto_sign(auth_message(room_id, nonce), sk)[:64]


def auth_verify(pk, room_id, nonce, sig):
    try:
        nb.crypto_sign_open(sig + auth_message(room_id, nonce), pk)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        raise Reject("proof")


def gibox_seal(secret, epoch, gi, nonce):
    return nonce + nb.crypto_secretbox(u64(epoch) + gi, nonce, gi_key(secret))


def mls_varint(b, off):
    """RFC 9420 section 2.1.2 variable-length integer: returns (value, new offset)."""
    if off >= len(b):
        raise Reject("groupinfo")
    prefix = b[off] >> 6
    if prefix == 3:
        raise Reject("groupinfo")
    n = 1 << prefix
    if off + n > len(b):
        raise Reject("groupinfo")
    v = int.from_bytes(b[off:off + n], "big") & ((1 << (8 * n - 2)) - 1)
    if n > 1 and v < (1 << (8 * (n // 2) - 2)):  # not minimal
        raise Reject("groupinfo")
    return v, off + n


def gi_header(gi, room_id):
    """MLSMessage(GroupInfo): version, wire_format, GroupContext version, suite, group_id,
    epoch."""
    if len(gi) < 8:
        raise Reject("groupinfo")
    version, wf, gc_version, suite = struct.unpack(">HHHH", gi[:8])
    if (version, wf, gc_version, suite) != (1, 4, 1, 3):
        raise Reject("groupinfo")
    glen, off = mls_varint(gi, 8)
    if gi[off:off + glen] != room_id or glen != 16:
        raise Reject("groupinfo")
    off += glen
    if off + 8 > len(gi):
        raise Reject("groupinfo")
    return struct.unpack(">Q", gi[off:off + 8])[0]


def gibox_open(secret, room_id, box):
    if len(box) <= 48:
        raise Reject("box")
    try:
        pt = nb.crypto_secretbox_open(box[24:], box[:24], gi_key(secret))
    except nacl.exceptions.CryptoError:
        raise Reject("box")
    epoch, gi = struct.unpack(">Q", pt[:8])[0], pt[8:]
    if gi_header(gi, room_id) != epoch:
        raise Reject("epoch")
    return epoch, gi


# RFC 9420 section 8: ExpandWithLabel, DeriveSecret, MLS-Exporter with HKDF-SHA256 (suite 3)
def hkdf_expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def mls_vec(b):
    n = len(b)
    if n < 64:
        return bytes([n]) + b
    if n < 16384:
        return u16(0x4000 | n) + b
    return u32(0x80000000 | n) + b


def expand_with_label(secret, label, context, n):
    return hkdf_expand(secret, u16(n) + mls_vec(b"MLS 1.0 " + label) + mls_vec(context), n)


def mls_exporter(exporter_secret, label, context, n):
    derived = expand_with_label(exporter_secret, label, b"", 32)
    return expand_with_label(derived, b"exported", hashlib.sha256(context).digest(), n)


# ---- section 2: envelopes ---------------------------------------------------------------

CLIENT_TYPES = {1: "AUTH", 2: "CREATE", 3: "GET_GI", 4: "RESUME", 5: "SUBMIT"}
RELAY_TYPES = {0x81: "CHALLENGE", 0x82: "GI", 0x83: "LOG", 0x84: "LIVE", 0x85: "GONE",
               0x86: "ACCEPTED", 0x87: "REJECTED", 0x88: "ERROR"}
CODES = {1: "malformed", 2: "too_large", 3: "rate_limited", 4: "not_authenticated",
         5: "bad_proof", 6: "no_room", 7: "room_exists", 8: "bad_state", 9: "seq_ahead",
         10: "old_key", 11: "relay_full", 12: "slow_consumer", 13: "storage", 14: "shutdown",
         32: "stale_epoch", 33: "no_groupinfo", 34: "not_commit", 35: "bad_mls",
         36: "key_retired"}
MAX_BODY = 16 * 1024 * 1024
GIBOX_MIN = 49


def be(b):
    return int.from_bytes(b, "big")


def env_body(name, b):
    f = {}
    L = len(b)
    if name == "AUTH":
        if L != 96:
            raise Reject("length")
        f["join_pk"], f["sig"] = b[:32], b[32:]
    elif name == "CREATE":
        if L < 96 + GIBOX_MIN:
            raise Reject("length")
        f["join_pk"], f["sig"], f["gi_box"] = b[:32], b[32:96], b[96:]
    elif name == "GET_GI":
        if L != 0:
            raise Reject("length")
    elif name in ("RESUME", "LIVE", "GONE"):
        if L != 8:
            raise Reject("length")
        key = {"RESUME": "after_seq", "LIVE": "head_seq", "GONE": "oldest_seq"}[name]
        f[key] = b
        if name == "GONE" and be(b) == 0:
            raise Reject("field")
    elif name == "SUBMIT":
        if L < 10:
            raise Reject("length")
        f["token"], f["flags"] = b[:8], b[8:9]
        flags, off = b[8], 9
        if flags & ~3 or (flags & 2 and not flags & 1):
            raise Reject("field")
        if flags & 1:
            if L - off < 4:
                raise Reject("length")
            gl = be(b[off:off + 4])
            off += 4
            if gl < GIBOX_MIN:
                raise Reject("field")
            if gl > L - off:
                raise Reject("length")
            f["gi_box"] = b[off:off + gl]
            off += gl
        if flags & 2:
            if L - off < 32:
                raise Reject("length")
            f["join_pk"] = b[off:off + 32]
            off += 32
        if L - off < 1:
            raise Reject("length")
        f["mls"] = b[off:]
    elif name == "CHALLENGE":
        if L != 36:
            raise Reject("length")
        f["nonce"], f["max_payload"] = b[:32], b[32:36]
        if be(b[32:36]) == 0:
            raise Reject("field")
    elif name == "GI":
        if L < 40 + GIBOX_MIN:
            raise Reject("length")
        f["seq"], f["log_hash"], f["gi_box"] = b[:8], b[8:40], b[40:]
    elif name == "LOG":
        if L < 18:
            raise Reject("length")
        f["seq"], f["time_ms"], f["flags"] = b[:8], b[8:16], b[16:17]
        flags, off = b[16], 17
        if be(b[:8]) == 0 or flags & ~3 or (flags & 2 and not flags & 1):
            raise Reject("field")
        if flags & 2:
            if L - off < 33:
                raise Reject("length")
            f["join_pk"] = b[off:off + 32]
            off += 32
        f["mls"] = b[off:]
    elif name == "ACCEPTED":
        if L != 16:
            raise Reject("length")
        f["token"], f["seq"] = b[:8], b[8:]
        if be(b[8:]) == 0:
            raise Reject("field")
    elif name == "REJECTED":
        if L != 18:
            raise Reject("length")
        f["token"], f["code"], f["epoch"] = b[:8], b[8:10], b[10:]
        if be(b[8:10]) == 0:
            raise Reject("field")
    elif name == "ERROR":
        if L < 2 or L > 122:
            raise Reject("length")
        f["code"], f["reason"] = b[:2], b[2:]
        if be(b[:2]) == 0 or any(c < 0x20 or c > 0x7e for c in b[2:]):
            raise Reject("field")
    return f


def env_parse(b, direction):
    """Returns (consumed, type name, fields) for the first envelope of b."""
    if not b:
        raise Reject("empty")
    if b[0] != 2:
        raise Reject("version")
    if len(b) < 2:
        raise Reject("partial")
    mine, other = (CLIENT_TYPES, RELAY_TYPES) if direction == "client" else (RELAY_TYPES, CLIENT_TYPES)
    if b[1] not in mine:
        raise Reject("direction" if b[1] in other else "type")
    if len(b) < 6:
        raise Reject("partial")
    L = be(b[2:6])
    if L > MAX_BODY:
        raise Reject("length")
    if len(b) - 6 < L:
        raise Reject("partial")
    return 6 + L, mine[b[1]], env_body(mine[b[1]], b[6:6 + L])


def env_decode(b, direction):
    n, name, f = env_parse(b, direction)
    if n != len(b):
        raise Reject("trailing")
    return name, f


def env_encode(name, f):
    types = {v: k for k, v in list(CLIENT_TYPES.items()) + list(RELAY_TYPES.items())}
    g = lambda k: f.get(k, b"")
    if name == "SUBMIT":
        body = g("token") + g("flags") + ((u32(len(f["gi_box"])) + f["gi_box"]) if "gi_box" in f else b"") \
            + g("join_pk") + g("mls")
    else:
        order = {"AUTH": "join_pk sig", "CREATE": "join_pk sig gi_box", "GET_GI": "",
                 "RESUME": "after_seq", "CHALLENGE": "nonce max_payload",
                 "GI": "seq log_hash gi_box", "LOG": "seq time_ms flags join_pk mls",
                 "LIVE": "head_seq", "GONE": "oldest_seq", "ACCEPTED": "token seq",
                 "REJECTED": "token code epoch", "ERROR": "code reason"}[name]
        body = b"".join(g(k) for k in order.split())
    return bytes([2, types[name]]) + u32(len(body)) + body


# ---- section 4: the log hash chain ------------------------------------------------------

def lh_genesis(room_id):
    return H(32, b"saltchat/v2 log" + room_id)


def lh_step(prev, seq, entry):
    return H(32, prev + u64(seq) + entry)


def aad_encode(seq, l):
    return b"\x01" + u64(seq) + l


def aad_decode(a):
    if len(a) != 41 or a[0] != 1:
        raise Reject("aad")
    return struct.unpack(">Q", a[1:9])[0], a[9:]


# ---- records ----------------------------------------------------------------------------

class Record(dict):
    def __init__(self):
        super().__init__()
        self.used = set()

    def __getitem__(self, k):
        self.used.add(k)
        return dict.__getitem__(self, k)

    def t(self, k):
        v = self[k]
        assert isinstance(v, str), k
        return v

    def b(self, k):
        v = self[k]
        return v.encode() if isinstance(v, str) else v

    def u(self, k):
        return be(self.b(k))


# ---- v2_room.txt: sc2_room (PROTOCOL.md sections 8.3-8.6) -------------------------------

def name_valid(b):
    if not 1 <= len(b) <= 64 or any(c < 0x20 or c == 0x7F for c in b):
        return False
    try:
        b.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    return True


def basic_credential(identity):
    return u16(1) + mls_vec(identity)


class Rd:
    """Strict reader of RFC 9420 TLS presentation (big-endian, varint vectors)."""

    def __init__(self, b):
        self.b, self.off = b, 0

    def take(self, n):
        assert self.off + n <= len(self.b), "short"
        v = self.b[self.off:self.off + n]
        self.off += n
        return v

    def u(self, n):
        return be(self.take(n))

    def vec(self):
        n, self.off = mls_varint(self.b, self.off)
        return self.take(n)

    def end(self):
        assert self.off == len(self.b), "trailing bytes"


def sign_content(label, content):
    return mls_vec(b"MLS 1.0 " + label) + mls_vec(content)


def ed_verify(pk, msg, sig):
    nb.crypto_sign_open(sig + msg, pk)  # raises on a bad signature


def u16_list(b):
    assert len(b) % 2 == 0
    return [be(b[i:i + 2]) for i in range(0, len(b), 2)]


def check_leaf(b, identity, name, now_s, source=1, leaf_index=0, group_id=b""):
    """A LeafNode saltchat made (section 8.4): returns its length in b."""
    rd = Rd(b)
    assert len(rd.vec()) == 32  # encryption_key (X25519)
    assert rd.vec() == identity  # signature_key: the identity key
    assert rd.u(2) == 1 and rd.vec() == name  # basic credential, identity = display name
    caps = [u16_list(rd.vec()) for _ in range(5)]
    assert caps == [[1], [3], [], [], [1]], caps  # versions, suites, exts, proposals, creds
    assert rd.u(1) == source
    if source == 1:  # key_package (the creator's first leaf): lifetime
        assert (rd.u(8), rd.u(8)) == (now_s - 3600, now_s + 90 * 24 * 3600)
    else:  # commit: parent_hash
        assert len(rd.vec()) == 32
    assert rd.vec() == b""  # no leaf extensions
    tbs = b[:rd.off]
    if source != 1:  # LeafNodeTBS of an update/commit leaf binds the group and the leaf
        tbs += mls_vec(group_id) + u32(leaf_index)
    sig = rd.vec()
    ed_verify(identity, sign_content(b"LeafNodeTBS", tbs), sig)
    return rd.off


def check_group_info(gi, room_id, epoch, signer, leaves):
    """A GroupInfo in a gi_box (sections 3.5, 8.4). leaves: per leaf index, None for a
    blank leaf, else (identity, name, now_s, source); parents must be present between
    leaves when there are two."""
    rd = Rd(gi)
    assert (rd.u(2), rd.u(2)) == (1, 4)  # MLSMessage mls10, mls_group_info
    start = rd.off
    assert (rd.u(2), rd.u(2)) == (1, 3)  # GroupContext version, suite 3
    assert rd.vec() == room_id and rd.u(8) == epoch  # group_id = room_id
    assert len(rd.vec()) == 32  # tree_hash
    cth = rd.vec()  # confirmed_transcript_hash: empty at epoch 0 (RFC 9420 section 11)
    assert len(cth) == (0 if epoch == 0 else 32)
    assert rd.vec() == b""  # no GroupContext extensions (no required_capabilities)
    exts, er = [], Rd(rd.vec())
    while er.off < len(er.b):
        exts.append((er.u(2), er.vec()))
    assert [t for t, _ in exts] == [4, 2], exts  # external_pub, ratchet_tree, nothing else
    assert len(rd.vec()) == 32  # confirmation_tag
    assert rd.u(4) == signer
    tbs = gi[start:rd.off]
    sig = rd.vec()
    rd.end()
    ed_verify(leaves[signer][0], sign_content(b"GroupInfoTBS", tbs), sig)
    tree = Rd(exts[1][1])
    nodes = Rd(tree.vec())
    tree.end()
    for i, leaf in enumerate(leaves):
        if i:  # the parent node between leaf i-1 and leaf i (a tree of two leaves)
            assert nodes.u(1) == 1 and nodes.u(1) == 2  # present, parent
            assert len(nodes.vec()) == 32  # encryption_key
            nodes.vec()  # parent_hash
            assert nodes.vec() == b""  # unmerged_leaves
        identity, name, now_s, source = leaf
        assert nodes.u(1) == 1 and nodes.u(1) == 1  # present, leaf
        nodes.off += check_leaf(nodes.b[nodes.off:], identity, name, now_s, source, i, room_id)
    nodes.end()
    ext_pub = Rd(exts[0][1])
    assert len(ext_pub.vec()) == 32
    ext_pub.end()


def check_app_submit(env, room_id, aad, pt):
    assert env[:2] == b"\x02\x05" and be(env[2:6]) == len(env) - 6
    rd = Rd(env[6:])
    rd.u(8)  # token
    assert rd.u(1) == 0  # flags: not a commit
    assert (rd.u(2), rd.u(2)) == (1, 2)  # mls10, private_message
    assert rd.vec() == room_id and rd.u(8) == 0  # group_id, epoch
    assert rd.u(1) == 1  # content_type application
    assert rd.vec() == aad  # authenticated_data in the clear
    assert len(rd.vec()) == 4 + 4 + 4 + 16  # sender data: leaf, generation, reuse guard, tag
    ct = rd.vec()
    rd.end()
    pad = (32 - len(pt) % 32) % 32
    # PrivateMessageContent: application_data<V>, signature<V> (64 bytes: a 2-byte varint),
    # zero padding to a multiple of 32 bytes of application_data; then the AEAD tag
    assert len(ct) == len(mls_vec(pt)) + len(mls_vec(bytes(64))) + pad + 16, len(ct)


def check_room(r, t):
    if t == "room-name":
        b = r.b("display_name")
        assert name_valid(b) == (r.u("valid") == 1)
        if name_valid(b):
            assert basic_credential(b) == r["credential"]
        return
    label = r.b("seed_label")
    name, text, now_ms = r.b("display_name"), r.b("text"), r.u("now_ms")
    assert name_valid(name)
    assert r["sig_seed"] == H(32, label + b" identity")
    identity = nb.crypto_sign_seed_keypair(r["sig_seed"])[0]
    assert identity == r["identity"]
    rng = Rng(H(32, label))  # sc2_room_create: room_id, then link_secret, first
    room_id, secret = rng.bytes(16), rng.bytes(32)
    assert (room_id, secret) == (r["room_id"], r["link_secret"])
    pk = join_keypair(secret)[1]
    assert pk == r["join_pk"]
    nonce = H(32, label + b" nonce")
    assert r["challenge"] == b"\x02\x81" + u32(36) + nonce + u32(1048576)
    c = r["create"]
    assert c[:2] == b"\x02\x02" and be(c[2:6]) == len(c) - 6 and c[6:38] == pk
    auth_verify(pk, room_id, nonce, c[38:102])
    assert gibox_open(secret, room_id, c[102:]) == (0, r["group_info"])
    creator = (identity, name, now_ms // 1000, 1)
    check_group_info(r["group_info"], room_id, 0, 0, [creator])
    assert r["resume"] == b"\x02\x04" + u32(8) + u64(0)
    assert r["live"] == b"\x02\x84" + u32(8) + u64(0)
    aad = aad_encode(0, lh_genesis(room_id))
    assert r["aad"] == aad
    assert r["plaintext_text"] == b"\x01" + text and r["plaintext_leave"] == b"\x02"
    check_app_submit(r["submit_text"], room_id, aad, r["plaintext_text"])
    check_app_submit(r["submit_leave"], room_id, aad, r["plaintext_leave"])
    # the joiner (section 8.8): AUTH, GET_GI, GI, external commit with the next GroupInfo
    assert r["joiner_seed"] == H(32, label + b" joiner")
    j_identity = nb.crypto_sign_seed_keypair(r["joiner_seed"])[0]
    assert j_identity == r["joiner_identity"]
    j_nonce = H(32, label + b" joiner nonce")
    assert r["joiner_challenge"] == b"\x02\x81" + u32(36) + j_nonce + u32(1048576)
    a = r["joiner_auth"]
    assert a[:6] == b"\x02\x01" + u32(96) and a[6:38] == pk and len(a) == 102
    auth_verify(pk, room_id, j_nonce, a[38:])
    assert r["joiner_get_gi"] == b"\x02\x03" + u32(0)
    box = c[102:]
    assert r["joiner_gi"] == b"\x02\x82" + u32(40 + len(box)) + u64(0) + lh_genesis(room_id) + box
    js = r["joiner_submit"]
    assert js[:2] == b"\x02\x05" and be(js[2:6]) == len(js) - 6
    rd = Rd(js[6:])
    rd.u(8)  # token
    assert rd.u(1) == 1  # flags: GI (a commit), no JOIN_PK (an external commit rotates nothing)
    jbox = rd.take(rd.u(4))
    assert gibox_open(secret, room_id, jbox) == (1, r["joiner_group_info"])
    assert (rd.u(2), rd.u(2)) == (1, 1)  # mls10, public_message
    assert rd.vec() == room_id and rd.u(8) == 0  # group_id, epoch of the GroupInfo
    assert rd.u(1) == 4  # sender_type new_member_commit
    assert rd.vec() == b""  # no authenticated_data on commits
    assert rd.u(1) == 3  # content_type commit
    joiner = (j_identity, b"joiner", 0, 3)
    check_group_info(r["joiner_group_info"], room_id, 1, 1, [creator, joiner])


FP_LABEL = b"saltchat/v2 fingerprint"
CODE_LABEL = b"saltchat/v2 room code"


def digit_groups(h, groups):
    return " ".join("%05d" % (int.from_bytes(h[5 * j:5 * j + 5], "big") % 100000)
                    for j in range(groups))


def fingerprint(identity):
    h = FP_LABEL
    for _ in range(5200):
        h = hashlib.blake2b(h + identity, digest_size=64).digest()
    return digit_groups(h, 6)


def safety_number(a, b):
    fa, fb = sorted(fingerprint(x).replace(" ", "") for x in (a, b))
    d = fa + fb
    return " ".join(d[i:i + 5] for i in range(0, 60, 5))


def room_code(room_id, epoch, ea):
    return digit_groups(H(64, CODE_LABEL + room_id + u64(epoch) + ea), 4)


def verify_input(fp, sn, typed):
    t = typed.replace(" ", "").replace("\t", "")
    if not t.isdigit() or not t.isascii() or len(t) not in (30, 60):
        return "format"
    want = fp if len(t) == 30 else sn
    if t != want.replace(" ", ""):
        return "mismatch"
    return "fingerprint" if len(t) == 30 else "safety_number"


def read_records(path):
    recs, cur = [], Record()
    with open(path) as f:
        for line in f.read().split("\n") + [""]:
            line = line.rstrip("\r")
            if not line:
                if cur:
                    recs.append(cur)
                    cur = Record()
                continue
            if line.startswith("#"):
                continue
            k, v = line.split(": ", 1)
            dict.__setitem__(cur, k, v[1:-1] if v.startswith('"') else bytes.fromhex(v))
    return recs


def expect_reject(fn, reason):
    try:
        fn()
    except Reject as e:
        assert str(e) == reason, "rejected for %s, expected %s" % (e, reason)
        return
    raise AssertionError("accepted, expected rejection: " + reason)


def check(r):
    t = r.t("type")
    r.t("name")
    if t == "link":
        assert H(32, r.b("seed_label")) == r["seed"]
        rng = Rng(r["seed"])
        room_id, secret = rng.bytes(16), rng.bytes(32)
        assert room_id == r["room_id"] and secret == r["link_secret"]
        link = link_format(r.t("base"), room_id, secret)
        assert link == r.t("link"), link
        assert link_parse(link)[:2] == (room_id, secret)
        assert ws_url(r.t("base"), room_id) == r.t("ws_url")
        assert b64url(room_id) == r.t("room_id_text")
        seed, pk, _ = join_keypair(secret)
        assert seed == r["join_seed"] and pk == r["join_pk"]
        assert gi_key(secret) == r["gi_key"]
    elif t == "link-parse":
        if r.t("error") == "ok":
            room_id, secret, base = link_parse(r.t("link"))
            assert (room_id, secret, base) == (r["room_id"], r["link_secret"], r.t("base"))
        else:
            expect_reject(lambda: link_parse(r.t("link")), r.t("error"))
    elif t == "auth":
        pk, sig = auth_sign(r["link_secret"], r["room_id"], r["nonce"])
        assert pk == r["join_pk"] and sig == r["sig"]
        auth_verify(pk, r["room_id"], r["nonce"], sig)
    elif t == "auth-reject":
        expect_reject(lambda: auth_verify(r["join_pk"], r["room_id"], r["nonce"], r["sig"]),
                      r.t("error"))
    elif t == "gibox":
        box = gibox_seal(r["link_secret"], r.u("epoch"), r["group_info"], r["nonce"])
        assert box == r["gi_box"]
        assert gibox_open(r["link_secret"], r["room_id"], box) == (r.u("epoch"), r["group_info"])
    elif t == "gibox-reject":
        expect_reject(lambda: gibox_open(r["link_secret"], r["room_id"], r["gi_box"]), r.t("error"))
    elif t == "rotate":
        assert r.t("label") == "saltchat v2 link"
        ns = mls_exporter(r["exporter_secret"], r.b("label"), r["room_id"], 32)
        assert ns == r["link_secret"]
        assert join_keypair(ns)[1] == r["join_pk"]
    elif t == "envelope":
        name, f = env_decode(r["bytes"], r.t("dir"))
        assert name == r.t("name"), name
        for k, v in f.items():
            assert r.b(k) == v, k
        if name in ("REJECTED", "ERROR"):
            assert CODES[be(f["code"])] == r.t("code_name")
        assert env_encode(name, {k: r.b(k) for k in f}) == r["bytes"]
        for i in range(len(r["bytes"])):
            expect_reject(lambda: env_parse(r["bytes"][:i], r.t("dir")), "partial" if i else "empty")
    elif t == "envelope-batch":
        b, count = r["bytes"], 0
        while b:
            n, _, _ = env_parse(b, r.t("dir"))
            b, count = b[n:], count + 1
        assert count == r.u("count")
    elif t == "envelope-reject":
        expect_reject(lambda: env_decode(r.b("bytes"), r.t("dir")), r.t("error"))
    elif t == "loghash-genesis":
        assert lh_genesis(r["room_id"]) == r["l0"]
    elif t == "loghash-chain":
        seq, prev, b, heads = r.u("first_seq"), r["prev"], r["log"], r["heads"]
        room_id = r["room_id"]
        if seq == 1:
            assert prev == lh_genesis(room_id)
        k = 0
        while b:
            n, name, f = env_parse(b, "relay")
            assert name == "LOG" and be(f["seq"]) == seq
            prev = lh_step(prev, seq, b[6:n])
            assert prev == heads[32 * k:32 * k + 32], "L_%d" % seq
            b, seq, k = b[n:], seq + 1, k + 1
        assert 32 * k == len(heads)
    elif t == "aad":
        assert aad_encode(r.u("seq"), r["l"]) == r["aad"]
        assert aad_decode(r["aad"]) == (r.u("seq"), r["l"])
    elif t == "aad-reject":
        expect_reject(lambda: aad_decode(r.b("aad")), r.t("error"))
    elif t == "fingerprint":
        assert fingerprint(r["identity"]) == r.t("fingerprint")
    elif t == "safety-number":
        sn = safety_number(r["identity_a"], r["identity_b"])
        assert sn == safety_number(r["identity_b"], r["identity_a"]) == r.t("safety_number")
    elif t == "room-code":
        assert room_code(r["room_id"], r.u("epoch"), r["epoch_authenticator"]) == r.t("room_code")
    elif t == "verify-input":
        got = verify_input(r.t("fingerprint"), r.t("safety_number"), r.t("input"))
        assert got == r.t("result"), got
    elif t in ("room-name", "room-create"):
        check_room(r, t)
    else:
        raise AssertionError("unknown record type " + t)
    unused = set(r.keys()) - r.used
    assert not unused, "fields never checked: %s" % sorted(unused)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_v2_vectors.py <vectors-dir>")
    failures = total = 0
    for fname in ("v2_link.txt", "v2_envelope.txt", "v2_loghash.txt", "v2_room.txt",
                  "v2_verify.txt"):
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
        print("%-16s %3d records" % (fname, len(recs)))
    if failures:
        sys.exit("check_v2_vectors.py: %d of %d records failed" % (failures, total))
    print("check_v2_vectors.py: all %d records match an independent implementation" % total)


if __name__ == "__main__":
    main()
