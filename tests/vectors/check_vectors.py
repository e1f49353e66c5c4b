#!/usr/bin/python3
"""Independent check of tests/vectors/envelope.txt (the relay's protocol v1 envelopes)
against docs/PROTOCOL.md section 2.

Written from the spec with the standard library only (no code shared with the C codec).
Encodes every recorded envelope from its fields, parses it back, parses every prefix
(partial), counts a batch, and checks every rejection. The v1 client core and its vectors
are gone (issue 14); protocol v2's are check_v2_vectors.py.
Usage: /usr/bin/python3 check_vectors.py <vectors-dir>
"""
import os
import struct
import sys


def u32(v):
    return struct.pack(">I", v)


class Reject(Exception):
    pass


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
    if t == "envelope":
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
    for fname in ("envelope.txt",):
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
