#!/usr/bin/python3
"""Integration scenarios of the saltchat terminal client; see cli_harness.py.

    test_cli.py --saltchat BIN --relay BIN --peer BIN SCENARIO [--keep]

Each scenario is its own CTest test (tests/cli/CMakeLists.txt).
"""
import asyncio
import os
import secrets
import signal
import stat
import struct
import sys
import termios

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cli_harness import (EXIT_BAD_LINK, EXIT_IDENTITY, EXIT_INTERRUPTED, EXIT_OK,  # noqa: E402
                         EXIT_ROOM_FULL, EXIT_TLS, EXIT_UNDELIVERED, EXIT_UNREACHABLE,
                         EXIT_USAGE, Member, Raw, Relay, Tty, assert_delivery, leave_all, log,
                         new_link, relink, room_id_of, scenario_main, start_members, text_of,
                         wait_messages, ws_url_of)
from sctest.envelope import DATA, LEFT, SEND_ALL, SEND_TO, SYNCED, envelope, sync  # noqa: E402
from sctest.errors import check  # noqa: E402
from sctest.proxy import WsProxy as Mitm  # noqa: E402
from sctest.tls import self_signed  # noqa: E402
from sctest.wait import bounded, until  # noqa: E402

GROUP_KIND = b"\x01\x05"


def group_payloads(raw, sender):
    """Payloads of the GROUP messages a raw member saw broadcast by sender (member id)."""
    return [p for _, _, p in raw.data(sender=sender, mode=0) if p[:2] == GROUP_KIND]


def member_id(m):
    return int(m.me()["member"], 16)


async def scenario_chat(env):
    """Three clients: every message reaches every other member exactly once, in order, with
    the right name; a raw observer in the room sees no plaintext in any frame."""
    relay = await Relay(env).astart()
    link = await new_link(env, relay.port)
    # Long names: the observer check below looks for them in ciphertext, where a 3-letter
    # name could turn up by chance.
    members = [Member.saltchat(env, n, link) for n in ("alice-liddell", "bob-dylan-fan",
                                                        "carol-christmas")]
    await start_members(members)
    for m in members:
        check(m.me()["room"] == room_id_of(link), "room id differs from PROTOCOL.md section 3")
    observer = await Raw(ws_url_of(link)).connect()
    oid = f"{observer.welcome.result()[0]:016x}"
    for m in members:
        await m.wait_for(lambda e: e["type"] == "member_joined" and e["member"] == oid,
                         "the observer's arrival")

    n = 25
    sent, tokens = {m.name: [] for m in members}, []
    for i in range(n):
        for m in members:
            tokens.append(secrets.token_hex(8))
            text = text_of(m.name, i, tokens[-1])
            sent[m.name].append(text)
            m.send(text)
    await wait_messages(members, {m.name: 2 * n for m in members}, "chat")
    assert_delivery(members, members, sent, "chat")
    for m in members:
        check(not m.find(lambda e: e["type"] == "undecryptable"),
              f"{m.name} could not decrypt something: "
              f"{m.find(lambda e: e['type'] == 'undecryptable')[:2]}")
    log("chat: 3 x", n, "messages delivered exactly once, in order, with names")

    await until(lambda: all(len(group_payloads(observer, member_id(m))) >= n for m in members),
                f"the observer to see {n} group messages from each member", 10)
    frames = [f for f in observer.frames if isinstance(f, bytes)]
    for m in members:
        got = group_payloads(observer, member_id(m))
        check(len(got) >= n, f"observer saw only {len(got)} group messages from {m.name}")
    secrets_seen = [t.encode() for ts in sent.values() for t in ts]
    secrets_seen += [t.encode() for t in tokens] + [m.name.encode() for m in members]
    for f in frames:
        for s in secrets_seen:
            check(s not in f, f"plaintext {s[:40]!r} visible to the relay in a frame")
    check(not [f for f in observer.frames if isinstance(f, str)], "relay sent a text frame")
    log("chat: observer captured", len(frames), "frames, no plaintext, names or tokens in any")

    await leave_all(members, "chat")
    await until(lambda: {e.member for e in observer.envs if e.type == LEFT} >=
                {member_id(m) for m in members}, "the observer to see everyone leave", 10)
    left = [struct.unpack(">Q", b)[0] for t, b in observer.envs if t == LEFT]
    check(set(left) >= {member_id(m) for m in members}, "observer did not see everyone leave")
    await observer.close()
    await relay.astop(strict=False)


async def scenario_wrong_secret(env):
    """A member holding the room id but not the room key completes no handshake and reads
    nothing; its own messages are reported undecryptable, never shown."""
    relay = await Relay(env).astart()
    link = await new_link(env, relay.port)
    # The intruder joins first, so it initiates the handshakes (smaller member id) and the
    # honest members reject its HS1 at once instead of waiting out a timeout.
    mallory = await Member.peer(env, "mallory", link, "--wrong-secret").start()
    await mallory.joined()
    alice, bob = Member.saltchat(env, "alice", link), Member.saltchat(env, "bob", link)
    await start_members([alice, bob])
    mid = mallory.me()["member"]
    for m in (alice, bob):
        ev = (await m.wait_for(lambda e: e["type"] == "handshake_failed" and e["member"] == mid,
                               "handshake_failed for the intruder"))[0]
        check("secret" in ev["reason"], f"reason should name the room secret: {ev['reason']}")
    token = secrets.token_hex(8)
    mallory.send(f"send intruder-{token}")
    sent = {"alice": [f"alice-{i}-{token}" for i in range(5)]}
    for t in sent["alice"]:
        alice.send(t)
    await wait_messages([bob], {"bob": 5}, "wrong secret")
    # The intruder's handshakes time out (15 s); then what it held is reported.
    await mallory.wait_for(lambda e: e["type"] == "handshake_failed", "its handshakes to fail",
                           timeout=40, count=2)
    await mallory.wait_for(lambda e: e["type"] == "undecryptable" and
                           e["member"] == alice.me()["member"], "undecryptable from alice",
                           timeout=10, count=5)
    for m in (alice, bob):
        await m.wait_for(lambda e: e["type"] == "undecryptable" and e["member"] == mid,
                         "the intruder's message reported undecryptable", timeout=20)
    check(not mallory.messages(), f"intruder read something: {mallory.messages()[:2]}")
    check(not mallory.find(lambda e: e["type"] == "member_authenticated"),
          "intruder authenticated someone")
    for m in (alice, bob):
        check(not [e for e in m.messages() if e["member"] == mid], "intruder's text shown")
        check(not [e for e in m.find(lambda e: e["type"] == "member_authenticated")
                   if e["member"] == mid], "intruder authenticated")
    assert_delivery([bob], [alice], sent, "wrong secret")
    log("wrong secret: no handshake, nothing read, intruder's message reported undecryptable")
    mallory.send("quit")
    await leave_all([alice, bob], "wrong secret")
    await relay.astop(strict=False)


async def scenario_leave(env):
    """After a member leaves, the others rotate; frames sent afterwards, replayed into the
    leaver's saved state (cli_test_peer detach + inject), do not decrypt."""
    relay = await Relay(env).astart()
    link = await new_link(env, relay.port)
    alice, bob = Member.saltchat(env, "alice", link), Member.saltchat(env, "bob", link)
    leaver = Member.peer(env, "leaver", link)
    await start_members([alice, bob, leaver])
    observer = await Raw(ws_url_of(link)).connect()
    oid = f"{observer.welcome.result()[0]:016x}"
    for m in (alice, bob, leaver):
        await m.wait_for(lambda e: e["type"] == "member_joined" and e["member"] == oid,
                         "the observer's arrival")

    token = secrets.token_hex(8)
    before = {"alice": [f"before-{i}-{token}" for i in range(3)]}
    for t in before["alice"]:
        alice.send(t)
    await wait_messages([bob, leaver], {"bob": 3, "leaver": 3}, "before the leave")
    assert_delivery([leaver], [alice], before, "leaver decrypts while in the room")

    lid = leaver.me()["member"]
    leaver.send("detach")
    for m in (alice, bob):
        await m.wait_for(lambda e: e["type"] == "member_left" and e["member"] == lid,
                         "the leaver's departure")
        await m.wait_for(lambda e: e["type"] == "keys_rotated", "keys_rotated")
    after = {"alice": [f"after-a-{i}-{token}" for i in range(3)],
             "bob": [f"after-b-{i}-{token}" for i in range(3)]}
    for i in range(3):
        alice.send(after["alice"][i])
        bob.send(after["bob"][i])
    await wait_messages([alice, bob], {"alice": 3, "bob": 6}, "after the leave")
    assert_delivery([alice], [bob], {"bob": after["bob"]}, "after the leave")

    def split():
        """What the observer saw, split at the leaver's LEFT: (old, new) group DATA."""
        left_at = next(i for i, (t, b) in enumerate(observer.envs)
                       if t == LEFT and b == struct.pack(">Q", int(lid, 16)))
        old, new = [], []
        for i, (t, b) in enumerate(observer.envs):
            if t == DATA and b[8] == 0 and b[9:11] == GROUP_KIND:
                (old if i < left_at else new).append(b)
        return old, new

    await until(lambda: len(split()[1]) >= 6, "the observer to see the 6 messages sent after "
                "the leave", 10, ignore=(StopIteration,))
    old, new = split()
    check(len(old) >= 3 and len(new) >= 6, f"observer saw {len(old)} + {len(new)} frames")
    old_chains = {(b[:8], b[11:15]) for b in old}
    for b in new:
        check((b[:8], b[11:15]) not in old_chains, "a sender kept its chain after the leave")

    undec0 = len(leaver.find(lambda e: e["type"] == "undecryptable"))
    msgs0 = len(leaver.messages())
    for b in new:
        leaver.send("inject " + envelope(DATA, b).hex())
    await leaver.wait_for(lambda e: e["type"] == "injected", "injections", count=len(new))
    await leaver.wait_for(lambda e: e["type"] == "undecryptable", "undecryptable replays",
                          count=undec0 + len(new))
    check(len(leaver.messages()) == msgs0, "the leaver decrypted a frame sent after it left")
    reasons = [e["reason"] for e in leaver.find(lambda e: e["type"] == "undecryptable")]
    check(all("chain" in r for r in reasons[undec0:]),
          f"post-leave frames should fail for want of the new chain: {set(reasons[undec0:])}")
    # Control: the same path with frames from before the leave finds their chain.
    for b in old[:2]:
        leaver.send("inject " + envelope(DATA, b).hex())
    await leaver.wait_for(lambda e: e["type"] == "undecryptable", "undecryptable old frames",
                          count=undec0 + len(new) + 2)
    reasons = [e["reason"] for e in leaver.find(lambda e: e["type"] == "undecryptable")]
    check(all("chain" not in r for r in reasons[-2:]),
          f"old frames should be known (replay), got {reasons[-2:]}")
    log("leave: rotation on the wire; post-leave frames ->", sorted(set(reasons[undec0:-2])),
        "; pre-leave frames ->", sorted(set(reasons[-2:])))
    leaver.send("quit")
    await leave_all([alice, bob], "leave")
    await observer.close()
    await relay.astop(strict=False)


async def scenario_restart(env):
    """Relay killed and restarted on the same port mid-chat: clients reconnect by themselves
    and what was typed during the outage arrives afterwards, exactly once."""
    relay = await Relay(env).astart()
    port = relay.port
    link = await new_link(env, port)
    members = [Member.saltchat(env, n, link) for n in ("alice", "bob", "carol")]
    await start_members(members)
    token = secrets.token_hex(8)
    sent = {m.name: [f"{m.name}-pre-{i}-{token}" for i in range(3)] for m in members}
    for i in range(3):
        for m in members:
            m.send(sent[m.name][i])
    await wait_messages(members, {m.name: 6 for m in members}, "before the crash")
    for m in members:
        await m.wait_for(lambda e: e["type"] == "confirmed", "confirmations", count=3)

    await relay.akill()
    log("restart: relay killed")
    for m in members:
        await m.wait_for(lambda e: e["type"] == "disconnected", "disconnected")
    for i in range(4):
        for m in members:
            text = f"{m.name}-outage-{i}-{token}"
            sent[m.name].append(text)
            m.send(text)
    for m in members:
        await m.wait_for(lambda e: e["type"] == "held", "the offline lines to be held",
                         timeout=10)
    relay2 = await Relay(env, port=port).astart()
    log("restart: relay back on port", port)
    for m in members:
        await m.wait_for(lambda e: e["type"] == "joined_room", "rejoin", timeout=30, count=2)
    await wait_messages(members, {m.name: 2 * 7 for m in members}, "after the restart",
                        timeout=40)
    assert_delivery(members, members, sent, "restart")
    log("restart: outage messages arrived exactly once after reconnect")
    await leave_all(members, "restart")
    await relay2.astop(strict=False)


def forged_group(rng_len=120):
    return GROUP_KIND + secrets.token_bytes(8) + secrets.token_bytes(rng_len)


async def scenario_hostile(env):
    """A raw member injecting forged, tampered, replayed and truncated frames: the honest
    clients keep running, report what they rejected, and keep chatting."""
    relay = await Relay(env).astart()
    link = await new_link(env, relay.port)
    alice, bob = Member.saltchat(env, "alice", link), Member.saltchat(env, "bob", link)
    await start_members([alice, bob])
    evil = await Raw(ws_url_of(link)).connect()
    eid = f"{evil.welcome.result()[0]:016x}"
    for m in (alice, bob):
        await m.wait_for(lambda e: e["type"] == "member_joined" and e["member"] == eid,
                         "the hostile member's arrival")
    token = secrets.token_hex(8)
    sent = {"alice": [f"alice-{i}-{token}" for i in range(3)],
            "bob": [f"bob-{i}-{token}" for i in range(3)]}
    for t in sent["alice"]:
        alice.send(t)
    await wait_messages([bob], {"bob": 3}, "before the attack")
    await until(lambda: len(group_payloads(evil, member_id(alice))) >= 3,
                "the hostile member to capture 3 group messages", 10)
    captured = group_payloads(evil, member_id(alice))
    check(len(captured) >= 3, "hostile member captured no group messages")

    # Handshake garbage to each honest member first: their pending handshake with us fails,
    # so what follows is judged at once rather than held for our (never coming) keys.
    for m in (alice, bob):
        to = member_id(m)
        await evil.send(envelope(SEND_TO, struct.pack(">Q", to) + b"\x01\x02" +
                                 secrets.token_bytes(32) + secrets.token_bytes(150)))
        await evil.send(envelope(SEND_TO, struct.pack(">Q", to) + b"\x01\x01" +
                                 secrets.token_bytes(64)))
        await evil.send(envelope(SEND_TO, struct.pack(">Q", to) + b"\x01\x04" +
                                 secrets.token_bytes(40)))
        await evil.send(envelope(SEND_TO, struct.pack(">Q", to) + b"\x01\x03" +
                                 secrets.token_bytes(3)))
    tampered = bytearray(captured[0])
    tampered[30] ^= 0x40
    attacks = [
        forged_group(),                      # forged: random chain, ciphertext, signature
        bytes(tampered),                     # tampered copy of alice's message
        captured[1],                         # replayed verbatim
        captured[2][:20],                    # truncated inner message
        GROUP_KIND + b"\x00" * 4,            # truncated header
        b"\x01",                             # one byte
        b"\x02\x05" + captured[0][2:],       # unknown version
        b"\x01\x09" + secrets.token_bytes(30),  # unknown kind
        b"\x01\x01" + secrets.token_bytes(64),  # handshake kind in broadcast mode
    ]
    for a in attacks:
        await evil.send(envelope(SEND_ALL, a))
    # SYNC round trip: the relay has routed every attack before it cuts the member off
    await evil.send(sync(77))
    await until(lambda: (SYNCED, struct.pack(">Q", 77)) in evil.envs,
                "SYNCED token 77 for the hostile member", 10)
    # Truncated envelope: length field says more than follows. The relay rejects it and
    # cuts the hostile member off; honest members see it leave.
    await evil.send(struct.pack(">BBI", 1, SEND_ALL, 500) + b"x" * 10)
    code = await bounded(evil.closed, 10, "the relay to close the hostile member")
    log("hostile: relay closed the hostile member with", code)

    for m in (alice, bob):
        rejected = lambda e: e.get("member") == eid and e["type"] in (  # noqa: E731
            "undecryptable", "warning", "handshake_failed")
        # One report per injected frame: the 9 broadcasts and the 4 unicasts.
        await m.wait_for(rejected, "reports of rejected input", timeout=20,
                         count=len(attacks) + 4)
        check(m.proc.returncode is None, f"{m.name} died")
        check(not [e for e in m.messages() if e["member"] == eid], "forged text shown")
        reports = m.find(rejected)
        log(f"hostile: {m.name} reported {len(reports)} rejected inputs:",
            sorted({e['type'] + ': ' + e['reason'] for e in reports}))
    for i in range(3):
        text = f"alice-after-{i}-{token}"
        sent["alice"].append(text)
        alice.send(text)
        bob.send(sent["bob"][i])
    await wait_messages([alice, bob], {"alice": 3, "bob": 6}, "after the attack")
    assert_delivery([alice, bob], [alice, bob], sent, "after the attack")
    log("hostile: honest clients kept chatting")
    await leave_all([alice, bob], "hostile")
    await relay.astop(strict=False)


async def scenario_hostile_relay(env):
    """A hostile relay path (a proxy in front of bob) replays, tampers with, forges and
    truncates what the relay forwards in alice's name: bob reports each, never shows them,
    reconnects after the malformed envelope and keeps chatting, with nothing shown twice.
    The proxy also splits every message into 7-byte WebSocket fragments (bob must
    reassemble) and packs its injections into one batched message."""
    relay = await Relay(env).astart()
    link = await new_link(env, relay.port)
    mitm = await Mitm(relay.port, fragment=7).start()
    alice = Member.saltchat(env, "alice", link)
    bob = Member.saltchat(env, "bob", relink(link, mitm.port))
    await start_members([alice, bob])
    token = secrets.token_hex(8)
    sent = {"alice": [f"alice-{i}-{token}" for i in range(3)]}
    for t in sent["alice"]:
        alice.send(t)
    await wait_messages([bob], {"bob": 3}, "before the attack")
    aid = member_id(alice)
    frames = [b for b in mitm.data(aid) if b[8] == 0 and b[9:11] == GROUP_KIND]
    check(len(frames) >= 3, "proxy saw no group messages")

    tampered = bytearray(frames[1])
    tampered[9 + 12] ^= 0x01          # a ciphertext byte
    forged = bytearray(frames[2])
    forged[9 + 10:-64] = secrets.token_bytes(len(forged) - 9 - 10 - 64)
    last_index = struct.unpack_from(">I", frames[2], 9 + 6)[0]
    struct.pack_into(">I", forged, 9 + 6, last_index + 1)  # the next index, forged content
    sigless = bytearray(frames[0])
    sigless[-1] ^= 0x80               # signature byte
    await mitm.inject(b"".join(envelope(DATA, body) for body in
                               (frames[0], bytes(tampered), bytes(forged), bytes(sigless))))
    await bob.wait_for(lambda e: e["type"] == "undecryptable", "reports", count=4)
    reasons = [e["reason"] for e in bob.find(lambda e: e["type"] == "undecryptable")]
    check(any("replay" in r for r in reasons), f"no replay reported: {reasons}")
    check(sum("signature" in r for r in reasons) >= 3, f"bad signatures not reported: {reasons}")
    log("hostile relay: bob reported", reasons)

    await mitm.inject(struct.pack(">BBI", 1, DATA, 400) + bytes(20))  # truncated envelope
    await bob.wait_for(lambda e: e["type"] == "protocol_error", "protocol_error")
    await bob.wait_for(lambda e: e["type"] == "joined_room", "rejoin", count=2, timeout=20)
    await bob.authenticated(["alice"])
    await alice.wait_for(lambda e: e["type"] == "member_authenticated", "bob again", count=2)
    for i in range(3, 6):
        text = f"alice-{i}-{token}"
        sent["alice"].append(text)
        alice.send(text)
    await wait_messages([bob], {"bob": 6}, "after reconnecting")
    assert_delivery([bob], [alice], sent, "hostile relay")
    check(bob.proc.returncode is None, "bob died")
    log("hostile relay: bob reconnected and kept chatting; nothing forged or repeated shown")
    await leave_all([alice, bob], "hostile relay")
    await mitm.stop()
    await relay.astop(strict=False)


def groups(fp):
    return " ".join(fp[i:i + 5] for i in range(0, 30, 5)).encode()


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


async def scenario_tty(env):
    """Interactive mode on a pseudo-terminal: an incoming message does not garble the line
    being typed; names cannot inject escape sequences; /who; /verify shows the safety
    number and the verification is remembered across runs; Ctrl-Z suspends cleanly; Ctrl-C
    leaves."""
    relay = await Relay(env, "--ping-interval", "1", "--ping-timeout", "1").astart()
    link = await new_link(env, relay.port)
    bob = await Member.saltchat(env, "bob", link).start()
    await bob.joined()
    cfg = env.path("cfg-tina")
    tty = await Tty(env, "tina", link, cfg).start()
    await tty.expect(rb"in the room as tina", "the joined line")
    await bob.authenticated(["tina"])
    await tty.expect(rb"bob\x1b\[0m[^\n]*joined, fingerprint", "bob's arrival")
    check(b"\x1b[" in tty.out, "no colour on a terminal")

    tty.type("abc")
    await tty.expect(rb"> abc", "the typed text")
    mark = len(tty.out)
    bob.send("hello from bob")
    await tty.expect(rb"bob\x1b\[0m \x1b\[33m\?\x1b\[0m: hello from bob.*\n> abc", "the message "
                     "printed above the redrawn input line", start=mark)
    tty.type("def\r")
    await bob.wait_for(lambda e: e["type"] == "message" and e["text"] == "abcdef",
                       "the line typed around the incoming message, intact")

    # Untrusted text cannot drive the terminal: escape sequences in a message, a bidi
    # override in a name (names with control characters are refused by the core itself).
    eve = await Member.saltchat(env, "eve\u202egnp.exe", link).start()
    await eve.joined()
    await eve.authenticated(["tina"])
    mark = len(tty.out)
    eve.send("\x1b]0;pwned\x07\x1b[2J boom")
    await tty.expect(rb"eve\xef\xbf\xbdgnp.exe.*: \xef\xbf\xbd\]0;pwned\xef\xbf\xbd\xef\xbf\xbd\[2J boom",
                     "eve's message, sanitized", start=mark)
    check(b"\x1b]0;" not in tty.out and b"\x1b[2J" not in tty.out and
          "\u202e".encode() not in tty.out, "peer text reached the terminal as control codes")

    tty.type("/who\r")
    await tty.expect(rb"  bob  \(member [0-9a-f]{16}\)  [0-9 ]{35}  NOT verified", "/who")
    tina_fp = [e for e in bob.find(lambda e: e["type"] == "member_authenticated")
               if e["name"] == "tina"][0]["fingerprint"]
    bob_fp = bob.me()["fingerprint"]
    mark = len(tty.out)
    tty.type("/verify bob\r")
    m = await tty.expect(rb"Safety number with bob:\r*\n    ([0-9 ]{35})\r*\n    ([0-9 ]{35})",
                         "the safety number", start=mark)
    lo, hi = sorted([tina_fp, bob_fp])
    check(m.group(1) == groups(lo) and m.group(2) == groups(hi),
          f"safety number {m.group(1)} {m.group(2)} is not the sorted fingerprints")
    await tty.expect(rb"mark verified\? \[y/N\] ", "the question", start=mark)
    tty.type("y\r")
    await tty.expect(rb"bob is now marked verified", "the confirmation", start=mark)
    with open(os.path.join(cfg, "verified")) as f:
        check(bob_fp in f.read(), "verified file lacks bob")
    mark = len(tty.out)
    bob.send("second")
    await tty.expect("bob\x1b\[0m \x1b\[32m\u2713\x1b\[0m: second".encode(), "the verified mark",
                     start=mark)
    tty.type("/quit\r")
    rc = await tty.exit_code()
    check(rc == EXIT_OK, f"/quit exit code {rc}")

    # Remembered across runs; Ctrl-Z stops with the terminal restored and comes back with
    # the half-typed line; Ctrl-C leaves with 130.
    tty2 = await Tty(env, "tina", link, cfg, job_control=True).start()
    await tty2.expect("bob(\x1b\[0m)+ joined, fingerprint [0-9 ]{35} \x1b\[32m\u2713".encode(),
                      "bob shown verified in a new run")
    tty2.type("xyz")
    await tty2.expect(rb"> xyz", "the typed text")
    check(not termios.tcgetattr(tty2.fd)[3] & termios.ICANON, "libedit is not in raw mode")
    pid = tty2.saltchat_pid()

    async def stop_and_continue(seconds):
        tty2.type("\x1a")
        await until(lambda: proc_state(pid) == "T", "saltchat stopped by Ctrl-Z")
        lflag = termios.tcgetattr(tty2.fd)[3]
        check(lflag & termios.ICANON and lflag & termios.ECHO,
              "the terminal was left in raw mode while saltchat is stopped")
        bob.send(f"while stopped {seconds}")
        await asyncio.sleep(seconds)
        mark = len(tty2.out)
        os.kill(pid, signal.SIGCONT)
        await until(lambda: not termios.tcgetattr(tty2.fd)[3] & termios.ICANON,
                         "raw mode taken back after fg")
        return mark

    # A short stop: the connection stays, and what arrived meanwhile is shown on fg.
    mark = await stop_and_continue(0.2)
    await tty2.expect(rb"while stopped 0.2.*\n> xyz", "the message that came during a short "
                      "stop, above the redrawn prompt and typed text", start=mark)
    # Longer than the relay's ping interval + timeout (2 s here): told, reconnected, rejoined.
    mark = await stop_and_continue(3.5)
    await tty2.expect(rb"connection lost", "the lost connection after a long stop", start=mark)
    await tty2.expect(rb"in the room as tina.*\n> xyz", "the rejoin", start=mark)
    tty2.type("123\r")
    await bob.wait_for(lambda e: e["type"] == "message" and e["text"] == "xyz123",
                       "the line typed across the stops, intact")
    tty2.type("\x03")
    rc = await tty2.exit_code()
    check(rc == EXIT_INTERRUPTED, f"Ctrl-C exit code {rc}")
    await bob.wait_for(lambda e: e["type"] == "member_left", "tina leaving", count=2)
    log("tty: redraw, sanitizing, /who, /verify, remembered verification, Ctrl-Z, Ctrl-C "
        "all work")
    await leave_all([bob, eve], "tty")
    await relay.astop(strict=False)


async def run_cli(env, *argv, stdin=b"", timeout=30, extra_env=None):
    p = await asyncio.create_subprocess_exec(
        env.saltchat, *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=dict(os.environ, **(extra_env or {})))
    env.procs.append(p)
    out, err = await bounded(p.communicate(stdin), timeout, f"saltchat {' '.join(argv)[:60]} "
                             "to finish")
    err = err.decode("utf-8", "replace")
    check("Sanitizer" not in err and "runtime error:" not in err, f"sanitizer report: {err}")
    return p.returncode, out.decode("utf-8", "replace"), err


async def expect_exit(env, code, words, *argv, **kw):
    rc, out, err = await run_cli(env, *argv, **kw)
    check(rc == code, f"saltchat {' '.join(argv)[:80]} exited {rc}, expected {code}; "
                      f"stderr: {err.strip()[-300:]}")
    for w in words:
        check(w in err or w in out, f"message should mention '{w}': {err.strip()[-300:]}")
    log(f"errors: exit {rc}: {err.strip().splitlines()[-1] if err.strip() else out[-100:]}")
    return out, err


async def scenario_errors(env):
    """Every error the user can cause: message and exit code."""
    relay = await Relay(env, "--max-room-members", "2").astart()
    link = await new_link(env, relay.port)
    base, code = link.split("#sc1.")
    cfg = env.path("cfg-errors")

    # Bad links, each with its own explanation.
    await expect_exit(env, EXIT_BAD_LINK, ["link"], "join", base, "--batch", "--config", cfg)
    await expect_exit(env, EXIT_BAD_LINK, ["link"], "join", base + "#sc2." + code, "--batch",
                      "--config", cfg)
    await expect_exit(env, EXIT_BAD_LINK, ["link"], "join", base + "#sc1." + code[:30],
                      "--batch", "--config", cfg)
    flipped = code[:10] + ("A" if code[10] != "A" else "B") + code[11:]
    await expect_exit(env, EXIT_BAD_LINK, ["link"], "join", base + "#sc1." + flipped,
                      "--batch", "--config", cfg)
    await expect_exit(env, EXIT_BAD_LINK, ["link"], "join", base + "#sc1." + code[:47] + "*",
                      "--batch", "--config", cfg)
    await expect_exit(env, EXIT_BAD_LINK, ["URL"], "new", "ftp://example/")
    await expect_exit(env, EXIT_USAGE, ["--bogus"], "join", link, "--bogus")
    await expect_exit(env, EXIT_USAGE, ["name"], "join", link, "--batch", "--name", "x" * 65,
                      "--config", cfg)
    await expect_exit(env, EXIT_USAGE, ["control"], "join", link, "--batch", "--name",
                      "a\x1b[31mb", "--config", cfg)
    os.makedirs(env.path("notpem"))
    with open(env.path("notpem", "ca.pem"), "w") as f:
        f.write("hello\n")
    await expect_exit(env, EXIT_TLS, ["--ca"], "join", link, "--batch", "--ca",
                      env.path("notpem", "ca.pem"), "--config", cfg)

    # Relay unreachable: a port nobody listens on.
    dead = relink(link, 1)
    out, _ = await expect_exit(env, EXIT_UNREACHABLE, ["cannot reach"], "join", dead, "--batch",
                               "--retries", "2", "--config", cfg)
    check(out.count('"type":"disconnected"') == 3, "3 attempts expected with --retries 2")

    # Identity file problems (the unreachable run above created the identity).
    ident = os.path.join(cfg, "identity")
    check(stat.S_IMODE(os.stat(ident).st_mode) == 0o600, "identity file is not 0600")
    check(stat.S_IMODE(os.stat(cfg).st_mode) == 0o700, "config directory is not 0700")
    os.chmod(ident, 0o644)
    await expect_exit(env, EXIT_IDENTITY, ["too open", "chmod 600"], "join", link, "--batch",
                      "--config", cfg)
    os.chmod(ident, 0o600)
    os.chmod(cfg, 0o777)
    await expect_exit(env, EXIT_IDENTITY, ["too open", "chmod 700"], "join", link, "--batch",
                      "--config", cfg)
    os.chmod(cfg, 0o700)
    with open(ident) as f:
        good = f.read()
    with open(ident, "w") as f:
        f.write(good.replace(good[40], "0" if good[40] != "0" else "1", 1))
    await expect_exit(env, EXIT_IDENTITY, ["malformed"], "join", link, "--batch", "--config",
                      cfg)
    os.unlink(ident)
    os.mkdir(ident)  # root reads any file, so "unreadable" is a path that cannot be read
    await expect_exit(env, EXIT_IDENTITY, ["cannot read"], "join", link, "--batch", "--config",
                      cfg)
    os.rmdir(ident)
    with open(os.path.join(cfg, "verified"), "w") as f:
        f.write("garbage\n")
    os.chmod(os.path.join(cfg, "verified"), 0o600)
    await expect_exit(env, EXIT_IDENTITY, ["verified", "line 1"], "join", link, "--batch",
                      "--config", cfg)
    os.unlink(os.path.join(cfg, "verified"))
    # Default location: $XDG_CONFIG_HOME/saltchat.
    xdg = env.path("xdg")
    await expect_exit(env, EXIT_UNREACHABLE, [], "join", dead, "--batch", "--retries", "0",
                      extra_env={"XDG_CONFIG_HOME": xdg})
    check(os.path.exists(os.path.join(xdg, "saltchat", "identity")), "XDG_CONFIG_HOME ignored")

    # Room full (relay --max-room-members 2).
    a, b = Member.saltchat(env, "alice", link), Member.saltchat(env, "bob", link)
    await start_members([a, b])
    await expect_exit(env, EXIT_ROOM_FULL, ["full"], "join", link, "--batch", "--config",
                      env.path("cfg-carol"), "--name", "carol")

    # Input that cannot be sent is reported, not dropped silently; the client goes on.
    a.send("")
    a.proc.stdin.write(b"\xff\xfe not utf-8\n")
    a.send("x" * 40000)
    a.send(f"still-here-{secrets.token_hex(4)}")
    await a.wait_for(lambda e: e["type"] == "rejected_input", "rejected input", count=3)
    await b.wait_for(lambda e: e["type"] == "message" and e["text"].startswith("still-here"),
                     "the message after the rejected ones")

    # SIGINT: leaves cleanly (the other side sees it go), exit 130.
    a.proc.send_signal(signal.SIGINT)
    rc = await a.exit_code(10)
    check(rc == EXIT_INTERRUPTED, f"SIGINT exit code {rc}")
    await b.wait_for(lambda e: e["type"] == "member_left", "alice leaving on SIGINT")

    await relay.akill()
    b.proc.kill()
    await b.proc.wait()

    # End of input with a message the relay never confirms: bounded wait, then exit 7.
    relay2 = await Relay(env).astart()
    link2 = await new_link(env, relay2.port)
    c = await Member.saltchat(env, "carol", link2, "--wait", "2").start()
    await c.joined()
    await relay2.akill()
    await c.wait_for(lambda e: e["type"] == "disconnected", "disconnected")
    c.send("never confirmed")
    await c.close_input()
    rc = await c.exit_code(15)
    check(rc == EXIT_UNDELIVERED, f"exit {rc} with an unconfirmed message, expected 7")
    check("not confirmed" in c.stderr_text(), "no explanation on stderr")
    log("errors: undelivered ->", c.stderr_text().strip())


async def scenario_tls(env):
    """wss:// with a certificate generated now: trusted with --ca, refused without."""
    cert, key, _ = self_signed(env.tmp)
    relay = await Relay(env, "--tls-cert", cert, "--tls-key", key).astart()
    link = await new_link(env, relay.port, scheme="https")
    a = Member.saltchat(env, "alice", link, "--ca", cert)
    b = Member.saltchat(env, "bob", link, "--ca", cert)
    await start_members([a, b])
    check(a.me()["room"] == room_id_of(link), "room id")
    check(a.find(lambda e: e["type"] == "connecting")[0]["url"].startswith("wss://"), "wss URL")
    token = secrets.token_hex(6)
    a.send(f"over-tls-{token}")
    await b.wait_for(lambda e: e["type"] == "message" and e["text"] == f"over-tls-{token}",
                     "the message over wss")
    await expect_exit(env, EXIT_TLS, ["--ca"], "join", link, "--batch", "--config",
                      env.path("cfg-notrust"), "--retries", "1")
    await leave_all([a, b], "tls")
    await relay.astop(strict=False)
    # The host name is checked too: a trusted certificate for another name is refused.
    cert2, key2, _ = self_signed(env.tmp, "other", san="DNS:example.com")
    relay2 = await Relay(env, "--tls-cert", cert2, "--tls-key", key2).astart()
    link2 = await new_link(env, relay2.port, scheme="https")
    await expect_exit(env, EXIT_TLS, ["certificate"], "join", link2, "--batch", "--ca", cert2,
                      "--config", env.path("cfg-notrust"), "--retries", "1")
    await relay2.astop(strict=False)


SCENARIOS = {
    "chat": scenario_chat,
    "wrong_secret": scenario_wrong_secret,
    "leave": scenario_leave,
    "restart": scenario_restart,
    "hostile": scenario_hostile,
    "hostile_relay": scenario_hostile_relay,
    "errors": scenario_errors,
    "tls": scenario_tls,
    "tty": scenario_tty,
}


def main():
    def add_args(ap):
        ap.add_argument("--peer", required=True)

    return scenario_main(SCENARIOS, add_args, lambda env, args, scenario: scenario(env))


if __name__ == "__main__":
    sys.exit(main())
