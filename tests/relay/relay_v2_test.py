#!/usr/bin/env python3
"""Integration tests of the relay's protocol v2 delivery service (subprotocol saltchat.v2,
docs/RELAY.md "Protocol v2 delivery service"): the real saltchat-relay binary on
127.0.0.1:0 with its own --data-dir, python3-websockets clients speaking the envelope of
sctest.envelope2 (written from the spec, not from the C codec), Ed25519 proofs from
python3-nacl, and MLS messages with real-looking clear headers (the relay reads those
headers and verifies no signature).

Cases: flags, create_auth, submit_resume, commit_race, key_rotation, kill_restart,
corrupt_store, retention, limits, store_full, big_groupinfo, cluster_refused, hostile_input, shutdown, slow_reader, soak. `relay_v2_test.py --relay PATH CASE|all`.
"""
import asyncio
import base64
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import nacl.signing  # noqa: E402
import websockets  # noqa: E402

from sctest import cases as sc_cases  # noqa: E402
from sctest import metrics as sc_metrics  # noqa: E402
from sctest import rawws  # noqa: E402
from sctest import relay as sc_relay  # noqa: E402
from sctest import envelope2 as e2  # noqa: E402
from sctest.errors import TestFailure, check  # noqa: E402
from sctest.wait import bounded, until  # noqa: E402

RELAY = None


OPEN = []  # every Conn of the running case, closed when it ends


def run(coro, seconds=60):
    async def steps():
        try:
            return await bounded(coro, seconds, f"the case's steps to finish ({seconds} s bound)")
        finally:
            conns, OPEN[:] = list(OPEN), []
            await asyncio.gather(*(c.ws.close() for c in conns), return_exceptions=True)
    return asyncio.run(steps())


def room_path(room_id):
    return base64.urlsafe_b64encode(room_id).rstrip(b"=").decode()


def new_room():
    return os.urandom(e2.ROOM_ID_LEN)


def gi_box(tag=b"gi"):
    return tag + os.urandom(60)


class Key:
    """A link's join key pair (the relay stores only pk)."""

    def __init__(self):
        self.sk = nacl.signing.SigningKey.generate()
        self.pk = self.sk.verify_key.encode()

    def proof(self, room_id, nonce):
        return e2.auth_sig(self.sk, room_id, nonce)


class Relay(sc_relay.Relay):
    def __init__(self, *args, data_dir=None):
        super().__init__(RELAY, "--log-level", "info", *args, data_dir=data_dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.running():
            rc, _ = self.stop()
            if exc[0] is None:
                check(rc == 0, f"relay exits 0 on SIGTERM, got {rc}: {self.stderr()[-800:]}")
        self.cleanup()


class Conn:
    """One saltchat.v2 connection: reads every envelope of every message, in order."""

    def __init__(self, ws, room_id):
        self.ws, self.room, self.pending = ws, room_id, []

    @classmethod
    async def open(cls, relay, room_id, path=None, challenge=True):
        url = "ws://%s/room/%s" % (relay.addr, path or room_path(room_id))
        ws = await bounded(websockets.connect(url, subprotocols=[e2.SUBPROTOCOL], max_size=None,
                                              ping_interval=None, close_timeout=2),
                           10, "the saltchat.v2 WebSocket handshake")
        check(ws.subprotocol == e2.SUBPROTOCOL, "subprotocol saltchat.v2 selected")
        c = cls(ws, room_id)
        OPEN.append(c)
        if not challenge:
            return c
        ch = await c.next("CHALLENGE")
        check(ch.type == e2.CHALLENGE, "CHALLENGE first, got %r" % ch)
        c.nonce, c.max_payload = ch.nonce, ch.max_payload
        c.challenge_len = len(ch.body)
        return c

    async def next(self, what, timeout=10):
        while not self.pending:
            msg = await bounded(self.ws.recv(), timeout, what)
            self.pending.extend(e2.parse_message(msg))
        return self.pending.pop(0)

    async def expect(self, etype, what, timeout=10):
        e = await self.next(what, timeout)
        check(e.type == etype, "%s: %s, got %r" % (what, e2.NAMES[etype], e))
        return e

    async def send(self, data):
        await self.ws.send(data)

    async def auth(self, key):
        await self.send(e2.auth(key.pk, key.proof(self.room, self.nonce)))

    async def create(self, key, box):
        await self.send(e2.create(key.pk, key.proof(self.room, self.nonce), box))

    async def closed_with(self, code, err, what):
        """The relay sends ERROR err (None: no ERROR) and closes with code."""
        if err is not None:
            e = await self.expect(e2.ERROR, what)
            check(e.code == err, "%s: ERROR %d, got %r" % (what, err, e))
        try:
            extra = await bounded(self.ws.recv(), 10, f"the close after {what}")
            raise TestFailure(f"{what}: nothing after the ERROR, got {extra!r}")
        except websockets.ConnectionClosed as c:
            check(c.code == code, "%s: close %d, got %s" % (what, code, c.code))

    async def close(self):
        await self.ws.close()


async def created(relay, key=None, box=None, room_id=None):
    """A fresh room made by CREATE; returns (room_id, key, box, the creator's Conn)."""
    room_id = room_id or new_room()
    key, box = key or Key(), box or gi_box()
    c = await Conn.open(relay, room_id)
    await c.create(key, box)
    await c.send(e2.get_gi())
    gi = await c.expect(e2.GI, "GI after CREATE (sent once the room is durable)")
    check(gi.seq == 0 and gi.gi_box == box, "GI of a new room: seq 0 and its gi_box")
    check(gi.log_hash == e2.log_genesis(room_id), "GI of a new room carries L_0")
    return room_id, key, box, c


async def submit(c, token, mls, box=None, join_pk=None):
    await c.send(e2.submit(token, mls, box, join_pk))


async def accepted(c, token, what):
    e = await c.expect(e2.ACCEPTED, what)
    check(e.token == token, "%s: ACCEPTED token %d, got %r" % (what, token, e))
    return e.seq


async def rejected(c, token, code, what):
    e = await c.expect(e2.REJECTED, what)
    check(e.token == token and e.code == code, "%s: REJECTED %d token %d, got %r" %
          (what, code, token, e))
    return e.epoch


async def read_log(c, what, limit=100000):
    """LOG entries until LIVE; returns (entries, LIVE's head_seq)."""
    out = []
    while True:
        e = await c.next(f"{what}: LOG or LIVE")
        if e.type == e2.LIVE:
            return out, e.seq
        check(e.type == e2.LOG, "%s: LOG or LIVE, got %r" % (what, e))
        check(len(out) < limit, f"{what}: at most {limit} entries")
        out.append(e)


async def no_more(c, what, seconds=0.5):
    """Nothing arrives on c for a while (and the connection stays open)."""
    if c.pending:
        raise TestFailure(f"{what}: nothing more expected, got {c.pending[0]!r}")
    try:
        msg = await asyncio.wait_for(c.ws.recv(), seconds)
    except asyncio.TimeoutError:
        return
    raise TestFailure(f"{what}: nothing more expected, got {e2.parse_message(msg)!r}")


# --- cases ------------------------------------------------------------------------------

def case_flags():
    def relay(*args):
        return subprocess.run([RELAY] + list(args), capture_output=True, text=True, timeout=10)

    r = relay("--help")
    for flag in ("--data-dir", "--retain-age", "--retain-entries", "--retain-bytes"):
        check(r.returncode == 0 and flag in r.stdout, f"--help documents {flag}")
    check("saltchat.v2" in relay("--version").stdout, "--version names saltchat.v2")
    for args, what in [(["--data-dir", ""], "--data-dir"), (["--retain-age", "soon"], "--retain-age"),
                       (["--retain-age", "5w"], "--retain-age"),
                       (["--retain-entries", "-1"], "--retain-entries"),
                       (["--retain-bytes", "1T"], "--retain-bytes")]:
        r = relay(*args)
        check(r.returncode == 2 and what in r.stderr and "usage:" in r.stderr,
              f"exit 2 naming {what} for {args}: {r.returncode} {r.stderr[:200]!r}")


def case_create_auth():
    async def body(relay):
        room_id, key, box, creator = await created(relay)
        # a second link holder authenticates and gets the same GroupInfo
        b = await Conn.open(relay, room_id)
        await b.auth(key)
        await b.send(e2.get_gi())
        gi = await b.expect(e2.GI, "GI after AUTH")
        check(gi.seq == 0 and gi.gi_box == box, "the stored GroupInfo is served to a holder")
        # nothing before AUTH
        c = await Conn.open(relay, room_id)
        await c.send(e2.get_gi())
        await c.closed_with(1008, e2.NOT_AUTHENTICATED, "GET_GI before AUTH")
        # a proof for another connection's nonce, an unknown key
        c = await Conn.open(relay, room_id)
        await c.send(e2.auth(key.pk, key.proof(room_id, b.nonce)))
        await c.closed_with(1008, e2.BAD_PROOF, "a replayed proof (another nonce)")
        c = await Conn.open(relay, room_id)
        await c.auth(Key())
        await c.closed_with(1008, e2.BAD_PROOF, "a key the room never had")
        # a room that does not exist; a room that does
        other = new_room()
        c = await Conn.open(relay, other)
        await c.auth(key)
        await c.closed_with(1008, e2.NO_ROOM, "AUTH to a room that does not exist")
        c = await Conn.open(relay, room_id)
        await c.create(Key(), gi_box())
        await c.closed_with(1008, e2.ROOM_EXISTS, "CREATE of an existing room")
        # CREATE under a key the creator does not hold
        c = await Conn.open(relay, other)
        k1, k2 = Key(), Key()
        await c.send(e2.create(k1.pk, k2.proof(other, c.nonce), gi_box()))
        await c.closed_with(1008, e2.BAD_PROOF, "CREATE with a proof by another key")
        await creator.send(e2.create(key.pk, key.proof(room_id, creator.nonce), gi_box()))
        await creator.closed_with(1008, e2.BAD_STATE, "CREATE on an authenticated connection")
        # a bad room path: refused at the handshake (404)
        host, port = relay.addr.rsplit(":", 1)
        for path in ("c2hvcnQ", room_path(room_id) + "A", room_path(room_id)[:-1] + "B",
                     "v1room"):
            raw = rawws.RawWS.connect(host, int(port), "/room/" + path,
                                      subprotocol=e2.SUBPROTOCOL, expect=404)
            raw.close()
        # the CHALLENGE tells nothing about the room before a proof (no head_seq): the
        # same for a room with entries as for one that does not exist
        c = await Conn.open(relay, room_id)
        check(c.max_payload >= 1024, "CHALLENGE max_payload is the frame limit")
        check(c.nonce != b.nonce, "every connection has its own nonce")
        # protocol v1 is gone: a v1 client is refused with 400 saying so
        for offer in ("saltchat.v1", "saltchat.v1, chat"):
            raw = rawws.RawWS.connect(host, int(port), "/room/" + room_path(room_id),
                                      subprotocol=offer, expect=400)
            body = raw.buf
            n = int(raw.headers.get("content-length", "0"))
            while len(body) < n:
                chunk = raw.sock.recv(4096)
                if not chunk:
                    break
                body += chunk
            check(b"saltchat.v1 is no longer served" in body and b"saltchat.v2" in body,
                  "the refusal of a v1 client says v1 is gone, got %r" % body)
            raw.close()
        m = sc_metrics.scrape(int(port))
        check(m['saltchat_relay_handshakes_refused_total{reason="subprotocol"}'] == 2 and
              m['saltchat_relay_handshakes_refused_total{reason="path"}'] == 4,
              "refusals counted: %r" % {k: v for k, v in m.items() if "refused" in k})

    with Relay() as relay:
        run(body(relay))


def case_submit_resume():
    async def body(relay):
        room_id, key, box, a = await created(relay)
        await submit(a, 1, e2.mls_private(room_id, 0))
        check(await accepted(a, 1, "application message at epoch 0") == 1, "seq 1")
        box1 = gi_box(b"e1")
        await submit(a, 2, e2.mls_public(room_id, 0, e2.COMMIT), box1)
        check(await accepted(a, 2, "commit at epoch 0") == 2, "seq 2")
        await submit(a, 3, e2.mls_private(room_id, 0))
        epoch = await rejected(a, 3, e2.STALE_EPOCH, "an application message of epoch 0")
        check(epoch == 1, "STALE_EPOCH names the room's epoch 1, got %r" % epoch)
        await submit(a, 4, e2.mls_private(room_id, 7))
        await rejected(a, 4, e2.STALE_EPOCH, "a future epoch")
        await submit(a, 5, e2.mls_public(room_id, 1, e2.COMMIT))
        await rejected(a, 5, e2.NO_GROUPINFO, "a commit without gi_box")
        await submit(a, 6, e2.mls_private(room_id, 1), gi_box())
        await rejected(a, 6, e2.NOT_COMMIT, "a gi_box on an application message")
        await submit(a, 7, e2.mls_private(new_room(), 1))
        await rejected(a, 7, e2.BAD_MLS, "group_id of another room")
        await submit(a, 8, b"\x00\x01\x00\x03" + b"\x10" * 40)
        await rejected(a, 8, e2.BAD_MLS, "a Welcome is not a log entry")
        await submit(a, 9, e2.mls_public(room_id, 1, e2.APPLICATION))
        await rejected(a, 9, e2.BAD_MLS, "application data in a PublicMessage")
        # an external commit by another link holder
        j = await Conn.open(relay, room_id)
        none = await Conn.open(relay, new_room())
        check(j.challenge_len == none.challenge_len == 36 and j.max_payload == none.max_payload,
              "CHALLENGE of a room with 2 entries and of no room: 36 bytes alike, got %r %r" %
              (j.challenge_len, none.challenge_len))
        await none.close()
        await j.auth(key)
        box2 = gi_box(b"e2")
        ext = e2.mls_public(room_id, 1, e2.COMMIT, sender=e2.NEW_MEMBER_COMMIT)
        await submit(j, 1, ext, box2)
        check(await accepted(j, 1, "external commit at epoch 1") == 3, "seq 3")
        # RESUME from 0: the whole log, then LIVE
        r = await Conn.open(relay, room_id)
        await r.auth(key)
        await r.send(e2.resume(0))
        log, head = await read_log(r, "RESUME 0")
        check(head == 3 and [e.seq for e in log] == [1, 2, 3], "LOG 1..3 then LIVE 3: %r" % log)
        check([e.flags for e in log] == [0, e2.LOG_F_COMMIT, e2.LOG_F_COMMIT], "commit flags")
        check(log[0].mls == e2.mls_private(room_id, 0) and log[2].mls == ext,
              "LOG carries the submitted bytes")
        chain = e2.log_genesis(room_id)
        for e in log:
            chain = e2.log_step(chain, e.seq, e.body)
        await r.send(e2.get_gi())
        gi = await r.expect(e2.GI, "GI after the external commit")
        check(gi.seq == 3 and gi.gi_box == box2, "GI of the latest commit (seq 3)")
        check(gi.log_hash == chain, "GI carries L_3 of the log as served")
        # live: the submitter gets ACCEPTED then its own LOG; the reader gets the LOG
        await a.send(e2.resume(3))
        _, head = await read_log(a, "RESUME at the head")
        check(head == 3, "LIVE 3 at once")
        msg = e2.mls_private(room_id, 2)
        await submit(a, 10, msg)
        check(await accepted(a, 10, "live application message") == 4, "seq 4")
        own = await a.expect(e2.LOG, "the submitter's own LOG after ACCEPTED")
        live = await r.expect(e2.LOG, "the live LOG on another connection")
        check(own.seq == live.seq == 4 and own.body == live.body and live.mls == msg,
              "the same LOG 4 to both")
        # replies come in the order of the SUBMITs, though REJECTED is known at once and
        # ACCEPTED only after the store's transaction
        await a.send(e2.submit(11, e2.mls_private(room_id, 2)))
        await a.send(e2.submit(12, e2.mls_private(room_id, 0)))
        await a.send(e2.submit(13, e2.mls_private(room_id, 2)))
        await a.send(e2.submit(14, e2.mls_private(room_id, 1)))
        got = []
        while len(got) < 4:
            e = await a.next("the verdicts of SUBMITs 11..14")
            if e.type != e2.LOG:
                got.append((e.name, e.token))
        check(got == [("ACCEPTED", 11), ("REJECTED", 12), ("ACCEPTED", 13), ("REJECTED", 14)],
              "verdicts in SUBMIT order: %r" % got)
        # RESUME from the middle
        m = await Conn.open(relay, room_id)
        await m.auth(key)
        await m.send(e2.resume(2))
        log, head = await read_log(m, "RESUME 2")
        check([e.seq for e in log] == [3, 4, 5, 6] and head == 6, "LOG 3..6 then LIVE 6: %r" % log)
        await m.send(e2.resume(0))
        await m.closed_with(1008, e2.BAD_STATE, "a second RESUME")
        m = await Conn.open(relay, room_id)
        await m.auth(key)
        await m.send(e2.resume(9))
        await m.closed_with(1008, e2.SEQ_AHEAD, "RESUME past the head")

    with Relay() as relay:
        run(body(relay))


def case_commit_race():
    async def body(relay):
        room_id, key, box, a = await created(relay)
        b = await Conn.open(relay, room_id)
        await b.auth(key)
        for c in (a, b):
            await c.send(e2.resume(0))
            await read_log(c, "RESUME 0")
        wins = {0: 0, 1: 0}
        for epoch in range(20):
            ca = e2.mls_public(room_id, epoch, e2.COMMIT, leaf=0)
            cb = e2.mls_public(room_id, epoch, e2.COMMIT, leaf=1)
            await asyncio.gather(submit(a, epoch, ca, gi_box()), submit(b, epoch, cb, gi_box()))
            results, logs = [], []
            for c in (a, b):  # each gets its verdict and the winner's LOG, in either order
                verdict = log = None
                while verdict is None or log is None:
                    e = await c.next(f"the verdict and the LOG of epoch {epoch}'s commit")
                    if e.type == e2.LOG:
                        check(log is None, "one LOG per epoch: %r" % e)
                        log = e
                    else:
                        check(verdict is None, "one verdict per SUBMIT: %r" % e)
                        verdict = e
                results.append(verdict)
                logs.append(log)
            kinds = sorted(e.type for e in results)
            check(kinds == [e2.ACCEPTED, e2.REJECTED], "one commit per epoch wins: %r" % results)
            loser = [e for e in results if e.type == e2.REJECTED][0]
            check(loser.code == e2.STALE_EPOCH and loser.epoch == epoch + 1,
                  "the loser gets STALE_EPOCH with the next epoch: %r" % loser)
            winner = 0 if results[0].type == e2.ACCEPTED else 1
            wins[winner] += 1
            for log in logs:  # both see only the winner's commit in the log
                check(log.seq == results[winner].seq and log.mls == (ca if winner == 0 else cb),
                      "the winning commit is the one logged")
        r = await Conn.open(relay, room_id)
        await r.auth(key)
        await r.send(e2.resume(20))
        check((await read_log(r, "RESUME at the head")) == ([], 20),
              "20 commits in the log, one per epoch")
        m = await asyncio.to_thread(sc_metrics.scrape, relay.port)
        for series, want in [("saltchat_relay_v2_accepted_total", 20),
                             ('saltchat_relay_v2_rejected_total{code="stale_epoch"}', 20),
                             ("saltchat_relay_v2_resumes_total", 3),
                             ("saltchat_relay_v2_store_rooms", 1),
                             ("saltchat_relay_v2_store_entries", 20),
                             ("saltchat_relay_v2_connections", 3)]:
            check(m.get(series) == want, f"/metrics {series} = {want}, got {m.get(series)}")
        check(m.get("saltchat_relay_v2_store_flushes_total", 0) >= 21,
              "at least one store transaction per accepted write")

    with Relay() as relay:
        run(body(relay))


def case_key_rotation():
    async def body(relay):
        room_id, key, box, a = await created(relay)
        old = await Conn.open(relay, room_id)
        await old.auth(key)
        # a reader live with the key the commit retires (the removed member, online)
        live = await Conn.open(relay, room_id)
        await live.auth(key)
        await live.send(e2.resume(0))
        check((await read_log(live, "RESUME before the rotation")) == ([], 0), "empty log")
        new = Key()
        await submit(a, 1, e2.mls_public(room_id, 0, e2.COMMIT), gi_box(b"rot"), new.pk)
        await accepted(a, 1, "a commit rotating the link")
        await submit(old, 2, e2.mls_private(room_id, 1))
        await rejected(old, 2, e2.KEY_RETIRED, "SUBMIT with the retired key")
        await submit(a, 3, e2.mls_private(room_id, 1))
        await rejected(a, 3, e2.KEY_RETIRED, "the committer too, until it AUTHs again")
        await a.auth(new)
        await submit(a, 4, e2.mls_private(room_id, 1))
        check(await accepted(a, 4, "SUBMIT after AUTH with the new key") == 2, "seq 2")
        # the live reader got the rotating commit, then OLD_KEY, and not entry 2
        e = await live.expect(e2.LOG, "the rotating commit, live")
        check(e.seq == 1 and e.join_pk == new.pk, "seq 1 with the new join_pk: %r" % e)
        e = await live.expect(e2.ERROR, "after the commit that retired the key")
        check(e.code == e2.OLD_KEY, "ERROR OLD_KEY, got %r" % e)
        await no_more(live, "a reader whose key was retired at seq 1")
        # an earlier key still resumes, and only resumes, and only up to its until_seq
        c = await Conn.open(relay, room_id)
        await c.auth(key)
        await c.send(e2.get_gi())
        e = await c.expect(e2.ERROR, "GET_GI with an earlier key")
        check(e.code == e2.OLD_KEY, "ERROR OLD_KEY, got %r" % e)
        await c.send(e2.resume(0))
        e = await c.expect(e2.LOG, "RESUME with an earlier key")
        check(e.seq == 1 and e.join_pk == new.pk and e.flags == 3,
              "the rotating commit's LOG carries the new join_pk: %r" % e)
        e = await c.expect(e2.ERROR, "RESUME with an earlier key, after its until_seq")
        check(e.code == e2.OLD_KEY, "ERROR OLD_KEY (the connection stays), got %r" % e)
        await no_more(c, "RESUME with an earlier key")
        # AUTH with the rotated key on the same connection: the rest, then LIVE
        await c.auth(new)
        log, head = await read_log(c, "after AUTH with the new key")
        check(head == 2 and [x.seq for x in log] == [2], "entry 2 then LIVE 2: %r" % log)
        # RESUME with an earlier key past its until_seq: nothing at all
        z = await Conn.open(relay, room_id)
        await z.auth(key)
        await z.send(e2.resume(1))
        e = await z.expect(e2.ERROR, "RESUME(until_seq) with an earlier key")
        check(e.code == e2.OLD_KEY, "ERROR OLD_KEY at once, got %r" % e)
        await no_more(z, "RESUME(until_seq) with an earlier key")
        d = await Conn.open(relay, room_id)
        await d.auth(new)
        await d.send(e2.get_gi())
        gi = await d.expect(e2.GI, "GI with the new key")
        check(gi.seq == 1, "GI of the rotating commit")

    with Relay() as relay:
        run(body(relay))


def case_kill_restart():
    tmp = tempfile.mkdtemp(prefix="relay-v2-kill-")
    data = os.path.join(tmp, "data")

    async def burst(relay):
        room_id, key, box, a = await created(relay)
        sent, acked, epoch = {}, {}, 0
        for t in range(1, 401):
            if t % 50 == 0:
                m = e2.mls_public(room_id, epoch, e2.COMMIT, body=struct.pack(">Q", t) * 10)
                epoch += 1
                sent[t] = (m, True)
            else:
                m = e2.mls_private(room_id, epoch, ciphertext=struct.pack(">Q", t) * 8)
                sent[t] = (m, False)
            await submit(a, t, m, gi_box() if sent[t][1] else None)
        while len(acked) < 150:
            e = await a.next("ACCEPTED of the burst")
            check(e.type == e2.ACCEPTED, "ACCEPTED only, got %r" % e)
            acked[e.token] = e.seq
        relay.proc.kill()  # SIGKILL right after the 150th ACCEPTED; more were in flight
        relay.proc.wait()
        return room_id, key, sent, acked

    async def after(relay, room_id, key, sent, acked):
        r = await Conn.open(relay, room_id)
        await r.auth(key)
        await r.send(e2.resume(0))
        log, head = await read_log(r, "RESUME 0 after the restart")
        check([e.seq for e in log] == list(range(1, head + 1)), "contiguous seqs 1..head")
        check(head >= max(acked.values()), f"head {head} covers every ACCEPTED seq")
        for token, seq in acked.items():
            check(log[seq - 1].mls == sent[token][0],
                  f"ACCEPTED token {token} is seq {seq} with its bytes after SIGKILL")
        # the epoch continues from the log: commits counted
        epoch = sum(1 for e in log if e.flags & e2.LOG_F_COMMIT)
        await r.auth(key)
        await submit(r, 1, e2.mls_private(room_id, epoch - 1 if epoch else 5))
        await rejected(r, 1, e2.STALE_EPOCH, "a message of an old epoch after the restart")
        await submit(r, 2, e2.mls_public(room_id, epoch, e2.COMMIT), gi_box())
        check(await accepted(r, 2, "a commit at the restored epoch") == head + 1,
              "the next seq after the restart")
        return len(log)

    try:
        relay = Relay(data_dir=data).start()
        try:
            room_id, key, sent, acked = run(burst(relay))
        finally:
            relay.kill()
        with Relay(data_dir=data) as relay2:
            n = run(after(relay2, room_id, key, sent, acked))
        print(f"kill_restart: {len(acked)} ACCEPTED before SIGKILL, {n} entries after restart")
        relay.cleanup()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_corrupt_store():
    tmp = tempfile.mkdtemp(prefix="relay-v2-corrupt-")
    try:
        www = os.path.join(tmp, "www")
        os.makedirs(www)

        def start(data):
            return subprocess.run([RELAY, "--listen", "127.0.0.1:0", "--www", www, "--data-dir",
                                   data], capture_output=True, text=True, timeout=30)

        def refused(r, what, needle):
            check(r.returncode == 1, f"{what}: exit 1, got {r.returncode}: {r.stderr[-400:]}")
            check(r.stdout == "", f"{what}: no address printed")
            check("error" in r.stderr and needle in r.stderr,
                  f"{what}: a clear error naming {needle!r}: {r.stderr[-400:]}")

        garbage = os.path.join(tmp, "garbage")
        os.makedirs(garbage)
        with open(os.path.join(garbage, "store.db"), "wb") as f:
            f.write(os.urandom(64 * 1024))
        refused(start(garbage), "a store.db of noise", os.path.join(garbage, "store.db"))
        # a real store, truncated
        real = os.path.join(tmp, "real")

        async def fill(relay):
            room_id, key, box, a = await created(relay)
            for t in range(1, 201):
                await submit(a, t, e2.mls_private(room_id, 0, ciphertext=os.urandom(900)))
            for t in range(1, 201):
                await accepted(a, t, "ACCEPTED while filling the store")

        with Relay(data_dir=real) as relay:
            run(fill(relay))
        db = os.path.join(real, "store.db")
        size = os.path.getsize(db)
        check(size > 100 * 1024, f"the store holds the entries ({size} bytes)")
        with open(db, "r+b") as f:
            f.truncate(size // 2)
        refused(start(real), "a truncated store.db", db)
        check(os.path.getsize(db) == size // 2, "the damaged file is left alone")
        # the data directory is a file
        notdir = os.path.join(tmp, "file")
        open(notdir, "w").close()
        refused(start(notdir), "--data-dir naming a file", notdir)
        # two relays on one data directory
        with Relay(data_dir=os.path.join(tmp, "shared")):
            refused(start(os.path.join(tmp, "shared")), "a store another relay has open",
                    "another process")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_retention():
    async def by_entries(relay):
        room_id, key, box, a = await created(relay)
        for t in range(1, 13):
            await submit(a, t, e2.mls_private(room_id, 0))
        for t in range(1, 13):
            await accepted(a, t, "ACCEPTED of 12 entries")
        r = await Conn.open(relay, room_id)
        await r.auth(key)
        await r.send(e2.resume(0))
        g = await r.expect(e2.GONE, "GONE for a position dropped by retention")
        check(g.seq == 8, "oldest retained seq 8 of 12 with --retain-entries 5, got %d" % g.seq)
        await r.send(e2.resume(g.seq - 1))  # rejoined: resume from the oldest entry
        log, head = await read_log(r, "RESUME from the oldest retained entry")
        check([e.seq for e in log] == [8, 9, 10, 11, 12] and head == 12, "LOG 8..12: %r" % log)
        await r.send(e2.get_gi())
        gi = await r.expect(e2.GI, "the GroupInfo survives retention")
        check(gi.seq == 0 and gi.gi_box == box, "the newest GroupInfo is kept")

    with Relay("--retain-entries", "5") as relay:
        run(by_entries(relay))

    async def by_bytes(relay):
        room_id, key, box, a = await created(relay)
        msgs = [e2.mls_private(room_id, 0, ciphertext=os.urandom(500)) for _ in range(10)]
        for t, m in enumerate(msgs, 1):
            await submit(a, t, m)
            await accepted(a, t, "ACCEPTED")
        size = len(msgs[0])
        keep = 2048 // size  # newest entries whose bytes fit in --retain-bytes 2K
        r = await Conn.open(relay, room_id)
        await r.auth(key)
        await r.send(e2.resume(0))
        g = await r.expect(e2.GONE, "GONE under --retain-bytes")
        check(g.seq == 10 - keep + 1, f"oldest seq {10 - keep + 1} ({keep} entries of {size} B "
              f"in 2 KiB), got {g.seq}")

    with Relay("--retain-bytes", "2K") as relay:
        run(by_bytes(relay))

    async def by_age(relay):
        room_id, key, box, a = await created(relay)
        for t in range(1, 4):
            await submit(a, t, e2.mls_private(room_id, 0))
            await accepted(a, t, "ACCEPTED")

        async def gone():
            r = await Conn.open(relay, room_id)
            await r.auth(key)
            await r.send(e2.resume(0))
            e = await r.next("GONE or LOG")
            await r.close()
            return e.type == e2.GONE and e.seq == 4

        await until(gone, "entries older than --retain-age 1s to be dropped (GONE, oldest 4)",
                    timeout=30, step=0.5)

    with Relay("--retain-age", "1s") as relay:
        run(by_age(relay))


def case_limits():
    async def body(relay):
        room_id, key, box, a = await created(relay)
        await submit(a, 1, e2.mls_private(room_id, 0, ciphertext=b"x" * 5000))
        await a.closed_with(1009, e2.TOO_LARGE, "a message over --max-frame")
        c = await Conn.open(relay, room_id)
        await c.send(b"\x02\x05\x00\x00\x00\x01\x00")
        await c.closed_with(1008, e2.MALFORMED, "a SUBMIT too short for its fields")
        c = await Conn.open(relay, room_id)
        await c.send(b"\x01\x01\x00\x00\x00\x00")
        await c.closed_with(1008, e2.MALFORMED, "a v1 envelope on a v2 connection")
        c = await Conn.open(relay, room_id)
        await c.ws.send("text")
        await c.closed_with(1003, e2.MALFORMED, "a text frame")
        c = await Conn.open(relay, room_id)
        await c.auth(key)
        for t in range(40):
            await submit(c, t, e2.mls_private(room_id, 0))
        n = 0
        while True:  # ACCEPTED for some of the burst (those durable before the cut), then ERROR
            e = await c.next("ACCEPTED or ERROR RATE_LIMITED")
            if e.type != e2.ACCEPTED:
                c.pending.insert(0, e)
                break
            n += 1
        check(n <= 22, f"at most the burst was accepted ({n})")
        await c.closed_with(1008, e2.RATE_LIMITED, "a connection over its rate limit")

    with Relay("--max-frame", "4K", "--rate-limit", "1",
               "--rate-burst", "22") as relay:
        run(body(relay))


def case_store_full():
    """--max-store caps the database: a write past it gets ERROR STORAGE (nothing of that
    transaction stored), the relay goes on, and what was ACCEPTED is all served."""
    async def body(relay):
        room_id, key, box, a = await created(relay)
        acked = []
        for t in range(1, 200):
            await submit(a, t, e2.mls_private(room_id, 0, ciphertext=os.urandom(50000)))
            e = await a.next("ACCEPTED or ERROR STORAGE")
            if e.type == e2.ERROR:
                check(e.code == e2.STORAGE, "ERROR STORAGE past --max-store, got %r" % e)
                break
            check(e.type == e2.ACCEPTED and e.token == t, "ACCEPTED %d, got %r" % (t, e))
            acked.append(e.seq)
        else:
            raise TestFailure("no ERROR STORAGE after 200 x 50 KB into a 1 MiB store")
        check(5 <= len(acked) <= 25, f"about 1 MiB stored first ({len(acked)} x 50 KB)")
        r = await Conn.open(relay, room_id)
        await r.auth(key)
        await r.send(e2.resume(0))
        log, head = await read_log(r, "RESUME after the store filled up")
        check([e.seq for e in log] == acked and head == acked[-1],
              "exactly the ACCEPTED entries are there")

    with Relay("--max-store", "1M") as relay:
        run(body(relay))
        check(relay.running(), "a full store does not stop the relay")


def case_big_groupinfo():
    """A GroupInfo box bigger than the relay's batch buffer (a large ratchet tree) arrives
    in pieces, is stored, and is served whole in a message of its own; large entries
    behind it in the log too."""
    async def body(relay):
        big = os.urandom(1536 * 1024)
        room_id, key, box, a = await created(relay, box=big)
        commit = e2.mls_public(room_id, 0, e2.COMMIT, body=os.urandom(700 * 1024))
        big2 = os.urandom(1200 * 1024)
        await submit(a, 1, commit, big2)
        await accepted(a, 1, "a 700 KiB commit with a 1.2 MiB GroupInfo")
        for t in range(2, 6):
            await submit(a, t, e2.mls_private(room_id, 1, ciphertext=os.urandom(300 * 1024)))
        for t in range(2, 6):
            await accepted(a, t, "300 KiB application messages")
        b = await Conn.open(relay, room_id)
        await b.auth(key)
        await b.send(e2.get_gi())
        await b.send(e2.resume(0))
        gi = await b.expect(e2.GI, "the 1.2 MiB GroupInfo")
        check(gi.seq == 1 and gi.gi_box == big2, "the big GroupInfo whole")
        log, head = await read_log(b, "RESUME behind a big GroupInfo")
        check([e.seq for e in log] == [1, 2, 3, 4, 5] and log[0].mls == commit,
              "the big entries whole and in order")
        await submit(a, 6, e2.mls_private(room_id, 1, ciphertext=os.urandom(1100 * 1024)))
        await a.closed_with(1009, e2.TOO_LARGE, "an MLS message over the 1 MiB entry limit")

    with Relay("--max-frame", "2M") as relay:
        run(body(relay))


def case_cluster_refused():
    """With --cluster on a broker without JetStream, v2 rooms would be private copies on
    each relay: refused (4003), clearly."""
    from sctest.nats import Nats
    nats_bin = shutil.which("nats-server") or "/usr/sbin/nats-server"
    broker = Nats(nats_bin).start()

    async def body(relay):
        c = await Conn.open(relay, new_room(), challenge=False)
        e = await c.expect(e2.ERROR, "ERROR on a v2 connection to a --cluster relay")
        check(e.code == e2.RELAY_FULL and "no JetStream" in e.reason,
              "ERROR RELAY_FULL saying why, got %r" % e)
        try:
            await bounded(c.ws.recv(), 10, "the close after the ERROR")
        except websockets.ConnectionClosed as cl:
            check(cl.code == 4003, "close 4003, got %s" % cl.code)

    try:
        with Relay("--cluster", broker.url) as relay:
            run(body(relay))
    finally:
        broker.kill()


def case_hostile_input():
    """Mutated envelopes (bit flips, truncations, extensions of valid ones of every client
    type, authenticated or not) on the real relay: each gets an answer or a close, never a
    crash or a hang, and the room works as before afterwards."""
    import random
    rnd = random.Random(14)

    async def body(relay):
        room_id, key, box, a = await created(relay)
        await submit(a, 1, e2.mls_public(room_id, 0, e2.COMMIT), gi_box())
        await accepted(a, 1, "a commit before the hostile input")
        answered = closed = 0
        keys = {key.pk: key}  # a mutation may leave a rotating commit valid: keep its key
        for i in range(150):
            c = await Conn.open(relay, room_id)
            rot = Key()
            keys[rot.pk] = rot
            if rnd.random() < 0.6:
                await c.auth(key)
            valid = [e2.auth(key.pk, key.proof(room_id, c.nonce)),
                     e2.create(key.pk, key.proof(room_id, c.nonce), gi_box()),
                     e2.get_gi(), e2.resume(rnd.randrange(0, 3)),
                     e2.submit(i, e2.mls_private(room_id, 1)),
                     e2.submit(i, e2.mls_public(room_id, 1, e2.COMMIT), gi_box(), rot.pk)]
            m = bytearray(rnd.choice(valid))
            how = rnd.randrange(3)
            if how == 0:
                for _ in range(rnd.randrange(1, 4)):
                    m[rnd.randrange(len(m))] ^= 1 << rnd.randrange(8)
            elif how == 1:
                m = m[:rnd.randrange(len(m))] or bytearray(b"\x02")
            else:
                m += os.urandom(rnd.randrange(1, 40))
            await c.send(bytes(m))
            await c.send(e2.get_gi())  # something that needs an answer, or a close
            try:
                while True:
                    e = await c.next(f"an answer or a close to mutated envelope {i}")
                    if e.type in (e2.GI, e2.ERROR):
                        answered += 1
                        break
            except websockets.ConnectionClosed:
                closed += 1
            await c.close()
        check(answered + closed == 150, f"every mutated input answered or closed "
              f"({answered} answered, {closed} closed)")
        # the room as before: the log, the epoch rule, the GroupInfo
        r = await Conn.open(relay, room_id)
        await r.auth(key)
        await r.send(e2.resume(0))
        # as a member that was away: each rotation ends the earlier key's read (OLD_KEY),
        # AUTH with the rotated key reads on (a flipped bit in a rotating commit's key
        # leaves nobody its holder: the read ends there)
        log, current = [], key
        while True:
            e = await r.next("RESUME after the hostile input: LOG, LIVE or OLD_KEY")
            if e.type == e2.LIVE:
                break
            if e.type == e2.ERROR and e.code == e2.OLD_KEY:
                if not current:
                    break
                await r.auth(current)
                continue
            check(e.type == e2.LOG, "LOG, LIVE or OLD_KEY, got %r" % e)
            log.append(e)
            if e.join_pk:
                current = keys.get(e.join_pk)
        check(log and log[0].seq == 1, "the log is intact")
        epoch = sum(1 for e in log if e.flags & e2.LOG_F_COMMIT)
        if current:
            await r.auth(current)
            await submit(r, 99, e2.mls_private(room_id, epoch))
            await accepted(r, 99, "a normal SUBMIT after the hostile input")
        room2, key2, box2, c2 = await created(relay)
        await submit(c2, 1, e2.mls_private(room2, 0))
        await accepted(c2, 1, "a new room after the hostile input")

    with Relay("--rate-limit", "0") as relay:
        run(body(relay), seconds=120)
        check(relay.running(), "the relay survived")


def case_shutdown():
    async def body(relay):
        room_id, key, box, a = await created(relay)
        await submit(a, 1, e2.mls_private(room_id, 0))
        relay.proc.send_signal(signal.SIGTERM)
        e = await a.next("ACCEPTED or ERROR SHUTDOWN")
        if e.type == e2.ACCEPTED:
            e = await a.next("ERROR SHUTDOWN")
        check(e.type == e2.ERROR and e.code == e2.SHUTDOWN, "ERROR SHUTDOWN, got %r" % e)
        try:
            await bounded(a.ws.recv(), 10, "the close after ERROR SHUTDOWN")
        except websockets.ConnectionClosed as c:
            check(c.code == 1001, "close 1001, got %s" % c.code)

    relay = Relay().start()
    try:
        run(body(relay))
        rc = relay.proc.wait(10)
        check(rc == 0, f"exit 0 after SIGTERM, got {rc}")
    finally:
        relay.cleanup()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise TestFailure(f"no VmRSS for pid {pid}")


def case_slow_reader():
    """A member that stops reading while its room takes 48 MB (1,600 entries of 30 KB): the
    relay sends LOG by reading the log when a socket is writable, so it keeps nothing per
    reader. Its resident memory grows by less than 32 MiB, a member of another room is
    served live meanwhile, the stalled member is not cut, and once it reads again it gets
    every entry byte for byte and in order, then LIVE."""
    n, size = 1600, 30000
    with Relay("--rate-limit", "0") as relay:
        async def go():
            room_id, key, _, a = await created(relay)
            host, port = relay.addr.rsplit(":", 1)
            stalled = rawws.RawWS.connect(host, int(port), "/room/" + room_path(room_id),
                                          subprotocol=e2.SUBPROTOCOL, rcvbuf=4096)
            op, msg = stalled.recv_message(10, "the stalled member's CHALLENGE")
            ch = e2.parse_message(msg)[0]
            check(ch.type == e2.CHALLENGE, f"CHALLENGE first, got {ch!r}")
            stalled.send_binary(e2.auth(key.pk, key.proof(room_id, ch.nonce)))
            stalled.send_binary(e2.resume(0))
            room2, key2, _, w2 = await created(relay)
            r2 = await Conn.open(relay, room2)
            await r2.auth(key2)
            await r2.send(e2.resume(0))
            await read_log(r2, "the other room's reader to go live")
            rss0 = rss_kib(relay.proc.pid)
            sent = []
            for t in range(1, n + 1):
                m = e2.mls_private(room_id, 0, ciphertext=os.urandom(size))
                sent.append(m)
                await submit(a, t, m)
                if t % 32 == 0:
                    for u in range(t - 31, t + 1):
                        await accepted(a, u, "ACCEPTED while a member is stalled")
                if t % 320 == 0:
                    await submit(w2, t, e2.mls_private(room2, 0))
                    await accepted(w2, t, "ACCEPTED in the other room")
                    e = await r2.expect(e2.LOG, "the other room's member served meanwhile")
                    check(e.seq == t // 320, f"the other room's entry {t // 320}, got {e.seq}")
            rss1 = rss_kib(relay.proc.pid)
            print(f"slow_reader: relay RSS {rss0} KiB before, {rss1} KiB after 48 MB to a "
                  "stalled member", flush=True)
            with open(RELAY, "rb") as f:
                asan = b"__asan_init" in f.read()  # its quarantine keeps freed memory
            check(asan or rss1 - rss0 < 32 * 1024, f"the relay's memory grew by {rss1 - rss0} KiB for "
                  "a stalled reader (bound 32 MiB): it buffers per reader")
            got, live = 0, None
            while got < n:
                op, msg = stalled.recv_message(60, f"the stalled member's entry {got + 1}")
                check(op == rawws.OP_BINARY, f"binary messages only (not cut), got opcode {op}: "
                      f"{msg[:80]!r}")
                for e in e2.parse_message(msg):
                    if e.type == e2.LIVE:
                        check(live is None and e.seq == got, f"one LIVE, at the entry it "
                              f"follows ({got}), got {e!r}")
                        live = e.seq
                        continue
                    check(e.type == e2.LOG and e.seq == got + 1 and e.mls == sent[got],
                          f"entry {got + 1} byte for byte next, got {e!r}")
                    got += 1
            check(live is not None, "LIVE once the member caught up")
            check(got == n, f"the stalled member got all {n} entries, got {got}")
            stalled.close()

        run(go(), seconds=180)


SOAK_S = 24.0          # traffic time; with --retain-age 2s that is 12 age windows
SOAK_AGE_MS = 2000
SOAK_ENTRIES = 300
SOAK_BYTES = 128 << 10
SOAK_FILE_BOUND = 16 << 20  # database + WAL: 4 rooms x 128 KiB of data, the WAL, slack


def data_files_size(data_dir):
    total = 0
    for root, _, files in os.walk(data_dir):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def case_soak():
    """A retention soak over the real relay binary, compressed in time: four rooms written
    for SOAK_S seconds with --retain-age 2s --retain-entries 300 --retain-bytes 128K (12 age
    windows: an hour-equivalent of a relay keeping 5 minutes). Room "entries" sends 100-byte
    messages (the entry bound binds), "bytes" 1,200-1,500-byte ones (the byte bound), "age"
    five per second (the age bound), "idle" stops at half time (it must age out to nothing
    but its GroupInfo). At three checkpoints the writers pause and every room is read from
    its oldest retained entry: seqs contiguous up to the head, every byte as submitted, within
    the entry and byte bounds, nothing older than the age bound once a sweep has run, the
    oldest position never moving back. The data directory must stop growing: at the end it
    is at most its size at the first checkpoint plus 2 MiB, and under SOAK_FILE_BOUND."""
    sizes = {"entries": (100, 100), "bytes": (1200, 1500), "age": (200, 400), "idle": (300, 600)}

    async def steps(relay):
        rooms, sent, oldest_seen = {}, {}, {}
        go = asyncio.Event()
        go.set()
        stop_at = {"idle": time.monotonic() + SOAK_S / 2}
        end = time.monotonic() + SOAK_S
        for name in sizes:
            rooms[name] = await created(relay)
            sent[name], oldest_seen[name] = {}, 1

        async def writer(name):
            room_id, _, _, c = rooms[name]
            lo, hi = sizes[name]
            token = 0
            while time.monotonic() < min(end, stop_at.get(name, end)):
                await go.wait()
                batch = []
                for _ in range(1 if name == "age" else 16):
                    token += 1
                    m = e2.mls_private(room_id, 0, ciphertext=os.urandom(
                        lo + int.from_bytes(os.urandom(2), "big") % (hi - lo + 1)))
                    batch.append((token, m))
                    await submit(c, token, m)
                for t, m in batch:
                    sent[name][await accepted(c, t, f"ACCEPTED in room {name}")] = m
                if name == "age":
                    await asyncio.sleep(0.2)

        async def read_room(name):
            room_id, key, box, _ = rooms[name]
            r = await Conn.open(relay, room_id)
            await r.auth(key)
            await r.send(e2.resume(0))
            e = await r.next(f"room {name}: GONE or LOG")
            first = 1
            if e.type == e2.GONE:
                first = e.seq
                await r.send(e2.resume(first - 1))
            else:
                r.pending.insert(0, e)
            log, head = await read_log(r, f"room {name} from its oldest entry")
            await r.send(e2.get_gi())
            gi = await r.expect(e2.GI, f"room {name}: the GroupInfo survives retention")
            check(gi.gi_box == box, f"room {name}: the GroupInfo is the one stored")
            await r.close()
            return first, log, head

        async def checkpoint(k):
            go.clear()
            await asyncio.sleep(0.3)  # writers finish the batch in flight
            for name in sizes:
                first, log, head = await read_room(name)
                last = max(sent[name]) if sent[name] else 0
                check(head == last, f"checkpoint {k}, room {name}: head {head}, last accepted "
                      f"{last}")
                check(first >= oldest_seen[name], f"checkpoint {k}, room {name}: oldest "
                      f"retained seq moved back from {oldest_seen[name]} to {first}")
                oldest_seen[name] = first
                seqs = [e.seq for e in log]
                check(seqs == list(range(first, head + 1)), f"checkpoint {k}, room {name}: "
                      f"contiguous {first}..{head}, got {seqs[:3]}..{seqs[-3:]}")
                check(all(e.mls == sent[name][e.seq] for e in log),
                      f"checkpoint {k}, room {name}: every entry byte for byte as submitted")
                check(len(log) <= SOAK_ENTRIES, f"checkpoint {k}, room {name}: {len(log)} "
                      f"entries over --retain-entries {SOAK_ENTRIES}")
                nbytes = sum(len(e.mls) for e in log)
                check(nbytes <= SOAK_BYTES, f"checkpoint {k}, room {name}: {nbytes} bytes of "
                      f"messages over --retain-bytes {SOAK_BYTES}")

            async def aged(name):
                first, log, head = await read_room(name)
                cutoff = time.time() * 1000 - SOAK_AGE_MS - 1000  # a sweep every second
                return all(e.time_ms >= cutoff for e in log) and (
                    name != "idle" or time.monotonic() < stop_at["idle"] + 3 or not log)
            for name in sizes:
                await until(lambda n=name: aged(n), f"checkpoint {k}, room {name}: entries "
                            f"older than --retain-age to be dropped", timeout=20, step=0.5)
            go.set()

        writers = [asyncio.create_task(writer(n)) for n in sizes]
        size_first = None
        for k in (1, 2, 3):
            await asyncio.sleep(max(0.0, end - SOAK_S * (3 - k) / 3 - time.monotonic()))
            if k == 3:
                await asyncio.gather(*writers)
            await checkpoint(k)
            if k == 3:
                await asyncio.sleep(3.5)  # the idle room and the rest age out fully
                await checkpoint(4)
            size = data_files_size(relay.data_dir)
            print(f"soak checkpoint {k}: {sum(len(v) for v in sent.values())} entries accepted, "
                  f"data dir {size} bytes, oldest {oldest_seen}", flush=True)
            if size_first is None:
                size_first = size
        check(sum(len(v) for v in sent.values()) > 4 * SOAK_ENTRIES,
              "the soak wrote more than the rooms can keep (else it tests nothing)")
        _, log, _ = await read_room("idle")
        check(not log, f"the idle room aged out to nothing, {len(log)} entries left")
        check(size <= size_first + (2 << 20) and size <= SOAK_FILE_BOUND,
              f"the data directory stopped growing: {size} bytes at the end, {size_first} at "
              f"the first checkpoint (bound {SOAK_FILE_BOUND})")

    with Relay("--retain-age", "2s", "--retain-entries", str(SOAK_ENTRIES), "--retain-bytes",
               "128K", "--rate-limit", "0") as relay:
        run(steps(relay), seconds=150)


CASES = sc_cases.cases_of(globals())


def setup(a):
    global RELAY
    RELAY = a.relay


if __name__ == "__main__":
    sys.exit(sc_cases.main(__doc__, CASES, setup=setup))
