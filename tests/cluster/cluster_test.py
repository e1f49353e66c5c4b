#!/usr/bin/python3
"""Integration scenarios of relays sharing rooms over NATS (docs/CLUSTER.md).

Each scenario starts a real nats-server on a free loopback port, real saltchat-relay
processes with --cluster, and real `saltchat join --batch` clients (or raw WebSocket
members speaking PROTOCOL.md section 2 where a scenario needs to see envelopes).

    cluster_test.py --saltchat BIN --relay BIN [--nats-server BIN] SCENARIO [--keep]

Run with Debian's /usr/bin/python3 (python3-websockets 10.4). The CLI test harness
(tests/cli/cli_harness.py) provides the processes and checks.
"""
import asyncio
import os
import secrets
import signal
import socket
import struct
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from cli_harness import (Member, Raw, Relay, log, new_link, relink,  # noqa: E402
                         room_id_of, scenario_main, start_members, wait_messages)
from sctest import metrics as sc_metrics  # noqa: E402
from sctest.envelope import (CLOSE_CLUSTER, ERROR, JOINED, LEFT, SEND_ALL,  # noqa: E402
                             SEND_TO, SYNC, SYNCED, envelope)
from sctest.errors import check  # noqa: E402
from sctest.nats import Nats as ScNats  # noqa: E402
from sctest.wait import bounded, until  # noqa: E402


def Nats(env, binary):
    """nats-server (sctest.nats.Nats) logging into the test's directory."""
    return ScNats(binary, log_path=env.path("nats.log"))


def metrics(relay):
    return sc_metrics.scrape(relay.port, timeout=5)


def free_ports(n):
    """n loopback ports free right now (each relay must know the others' before it starts)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


async def cluster(env, nats, n, *extra):
    """Starts n relays on nats, each listing the others with --peer-url; waits until every
    one is established (knows the n - 1 others)."""
    ports = free_ports(n)
    relays = []
    for p in ports:
        args = []
        for q in ports:
            if q != p:
                args += ["--peer-url", f"http://127.0.0.1:{q}"]
        relays.append(await Relay(env, "--cluster", nats.url, "--log-level", "info", *args,
                                  *extra, port=p).astart())
    for r in relays:
        await until(lambda r=r: metrics(r).get("saltchat_relay_cluster_established") == 1 and
                    metrics(r).get("saltchat_relay_cluster_peers") == n - 1,
                    f"relay :{r.port} established with {n - 1} peers")
    return relays


def sanitizer_clean(env, relays):
    for r in relays:
        with open(r.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        check("Sanitizer" not in text and "runtime error:" not in text,
              f"relay :{r.port}: sanitizer report: {text[-2000:]}")
        check("were not released" not in text, f"relay :{r.port} leaked NATS messages")


async def stop_all(env, relays, members=()):
    for m in members:
        if m.proc and m.proc.returncode is None:
            m.proc.kill()
            await m.proc.wait()
    for r in relays:
        await r.astop(strict=False)
    sanitizer_clean(env, relays)


def texts_from(receiver, sender_name):
    return [e["text"] for e in receiver.messages() if e["name"] == sender_name]


def check_exactly(receiver, sender_name, expected, what):
    got = texts_from(receiver, sender_name)
    check(got == expected, f"{what}: {receiver.name} got from {sender_name} {len(got)} messages "
                           f"{got[:3]}..., expected {len(expected)} {expected[:3]}...")


def no_undecryptable(members, what):
    """Nothing undecryptable but duplicates: a message sent but not yet confirmed when the
    connection dropped is sent again (PROTOCOL.md 7.4) and dropped by whoever had it."""
    for m in members:
        bad = m.find(lambda e: e["type"] == "undecryptable" and e["reason"] != "duplicate")
        check(not bad, f"{what}: {m.name} could not decrypt: {bad[:3]}")


def alternatives(relays, first):
    """--relay flags naming every relay but `first`, in order."""
    out = []
    for r in relays:
        if r is not first:
            out += ["--relay", f"ws://127.0.0.1:{r.port}"]
    return out


# ------------------------------------------------------------------------------ scenarios


async def scenario_chat(env, nats):
    """Three relays on one broker, one client on each: every message arrives exactly once
    and in each sender's order, and nobody sees an undecryptable message."""
    relays = await cluster(env, nats, 3)
    link = await new_link(env, relays[0].port)
    names = ("alice", "bob", "carol")
    members = [Member.saltchat(env, n, relink(link, r.port), *alternatives(relays, r))
               for n, r in zip(names, relays)]
    await start_members(members)
    for m in members:
        check(m.me()["room"] == room_id_of(link), "one room across relays")
    n = 30
    token = secrets.token_hex(6)
    sent = {m.name: [f"{m.name}-{i}-{token}" for i in range(n)] for m in members}
    for i in range(n):
        for m in members:
            m.send(sent[m.name][i])
    await wait_messages(members, {m.name: 2 * n for m in members}, "chat")
    for r in members:
        for s in members:
            if s is not r:
                check_exactly(r, s.name, sent[s.name], "chat")
    no_undecryptable(members, "chat")
    for m in members:
        await m.wait_for(lambda e: e["type"] == "confirmed", "confirmations", count=n)
    m0 = metrics(relays[0])
    check(m0["saltchat_relay_cluster_published_total"] > 0 and
          m0["saltchat_relay_cluster_received_total"] > 0, "bus traffic counted")
    check(m0["saltchat_relay_cluster_gaps_total"] == 0, "no gap")
    check(m0["saltchat_relay_cluster_remote_members"] == 2, "two remote members known")
    log("chat: 3 relays x", n, "messages, exactly once and in order")
    for m in members:
        await m.close_input()
    for m in members:
        check(await m.exit_code() == 0, f"{m.name} exits 0")
    await stop_all(env, relays)


async def scenario_presence(env, nats):
    """Raw members on two relays: WELCOME lists the other relay's members, JOINED and LEFT
    cross, a unicast reaches a member on another relay (and an unknown target is an ERROR),
    SYNC is answered; the page's failover list and CSP name the other relay."""
    relays = await cluster(env, nats, 2)
    room = "presence-" + secrets.token_hex(4)
    url = [f"ws://127.0.0.1:{r.port}/room/{room}" for r in relays]
    a = await Raw(url[0]).connect()
    aid = a.welcome.result()[0]
    b = await Raw(url[1]).connect()
    bid, blist = b.welcome.result()
    check(blist == [aid], f"b's WELCOME lists a (across relays): {blist}")
    await until(lambda: (JOINED, struct.pack(">Q", bid)) in a.envs, "a sees b join", 15)
    c = await Raw(url[1]).connect()
    cid, clist = c.welcome.result()
    check(sorted(clist) == sorted([aid, bid]), "c's WELCOME lists a and b")
    await until(lambda: (JOINED, struct.pack(">Q", cid)) in a.envs, "a sees c join", 15)
    check((cid >> 32) == (bid >> 32) and (aid >> 32) != (bid >> 32),
          "member ids carry their relay's instance")

    # unicast a -> c across relays: only c gets it, as mode 1
    await a.send(envelope(SEND_TO, struct.pack(">Q", cid) + b"for-c"))
    await until(lambda: c.data(sender=aid, mode=1), "c gets a's unicast", 15)
    check(c.data(sender=aid, mode=1)[0][2] == b"for-c", "unicast payload")
    # broadcast from c reaches a (other relay) and b (same relay)
    await c.send(envelope(SEND_ALL, b"from-c"))
    await until(lambda: a.data(sender=cid) and b.data(sender=cid), "c's broadcast", 15)
    check(not b.data(sender=aid), "b did not get a's unicast to c")
    # unknown target: ERROR no-such-member, connection stays
    await a.send(envelope(SEND_TO, struct.pack(">Q", (0x7 << 32) | 1) + b"x"))
    await until(lambda: any(t == ERROR for t, _ in a.envs), "ERROR for an unknown target", 15)
    # SYNC across the bus
    await a.send(envelope(SYNC, struct.pack(">Q", 42)))
    await until(lambda: (SYNCED, struct.pack(">Q", 42)) in a.envs, "SYNCED token 42 for a", 15)
    # leaving crosses relays
    await c.close()
    await until(lambda: (LEFT, struct.pack(">Q", cid)) in a.envs, "a sees c leave", 15)
    m = metrics(relays[0])
    check(m["saltchat_relay_cluster_peers"] == 1 and m["saltchat_relay_cluster_connected"] == 1,
          "one peer, connected")
    check(m["saltchat_relay_cluster_heartbeats_received_total"] > 0, "heartbeats counted")

    # the page learns the other relay, and may connect to it
    with urllib.request.urlopen(f"http://127.0.0.1:{relays[0].port}/cluster.json",
                                timeout=10) as r:
        body = r.read().decode()
        csp = r.headers["content-security-policy"]
    check(body.strip() == '{"relays":["http://127.0.0.1:%d/"]}' % relays[1].port,
          f"/cluster.json lists the other relay: {body}")
    check(f"connect-src 'self' ws://127.0.0.1:{relays[1].port}" in csp,
          f"the CSP lets the page connect to the other relay: {csp}")
    await a.close()
    await b.close()
    log("presence: WELCOME, JOINED, LEFT, unicast, ERROR, SYNCED across relays")
    await stop_all(env, relays)


async def scenario_failover(env, nats):
    """kill -9 of a relay mid-chat: its client reconnects to another relay by itself, the
    others see it leave and come back and rotate their keys, and what it typed during the
    failover arrives exactly once."""
    relays = await cluster(env, nats, 3)
    link = await new_link(env, relays[0].port)
    names = ("alice", "bob", "carol")
    members = [Member.saltchat(env, n, relink(link, r.port), *alternatives(relays, r))
               for n, r in zip(names, relays)]
    alice, bob, carol = members
    await start_members(members)
    old_alice = alice.me()["member"]
    token = secrets.token_hex(6)
    sent = {m.name: [f"{m.name}-pre-{i}-{token}" for i in range(5)] for m in members}
    for i in range(5):
        for m in members:
            m.send(sent[m.name][i])
    await wait_messages(members, {m.name: 10 for m in members}, "before the kill")
    for m in members:
        await m.wait_for(lambda e: e["type"] == "confirmed", "confirmations", count=5)

    t0 = time.monotonic()
    await relays[0].akill()
    log("failover: relay", relays[0].port, "killed")
    await alice.wait_for(lambda e: e["type"] == "disconnected", "alice disconnected")
    outage = [f"alice-outage-{i}-{token}" for i in range(4)]
    for t in outage:
        alice.send(t)
    sent["alice"] += outage
    rejoined = (await alice.wait_for(lambda e: e["type"] == "joined_room", "rejoin",
                                     timeout=20, count=2))[-1]
    new_alice = rejoined["member"]
    check(new_alice != old_alice, "alice has a new member id")
    check(alice.find(lambda e: e["type"] == "connecting")[-1]["url"] !=
          f"ws://127.0.0.1:{relays[0].port}/room/{room_id_of(link)}",
          "alice reconnected through another relay")
    for m in (bob, carol):
        await m.wait_for(lambda e: e["type"] == "member_left" and e["member"] == old_alice,
                         "old alice left", timeout=15)
        await m.wait_for(lambda e: e["type"] == "member_authenticated" and
                         e["member"] == new_alice, "new alice authenticated", timeout=20)
        await m.wait_for(lambda e: e["type"] == "keys_rotated", "keys rotated after the leave")
    log(f"failover: others saw alice leave and return in {time.monotonic() - t0:.1f} s")
    after = {m.name: [f"{m.name}-post-{i}-{token}" for i in range(5)] for m in members}
    for i in range(5):
        for m in members:
            m.send(after[m.name][i])
    await wait_messages([bob, carol], {"bob": 10 + 4 + 5 + 5, "carol": 10 + 4 + 5 + 5},
                        "after the failover", timeout=30)
    for r in (bob, carol):
        check_exactly(r, "alice", sent["alice"] + after["alice"], "failover")
    check_exactly(bob, "carol", sent["carol"] + after["carol"], "failover")
    check_exactly(carol, "bob", sent["bob"] + after["bob"], "failover")
    for s in ("bob", "carol"):
        await alice.wait_for(lambda e, s=s: e["type"] == "message" and
                             e["text"] == after[s][-1],
                             f"alice gets {s}'s messages after her return", timeout=20)
    for s in ("bob", "carol"):  # what was sent while she was connected: once, in order
        got = texts_from(alice, s)
        check(got[:5] == sent[s] and got[-5:] == after[s] and len(got) == len(set(got)),
              f"alice's messages from {s}: {got}")
    no_undecryptable([bob, carol], "failover")
    m = metrics(relays[1])
    check(m["saltchat_relay_cluster_peers_dead_total"] == 1, "relay 2 declared relay 1 dead")
    for x in members:
        await x.close_input()
    for x in members:
        check(await x.exit_code() == 0, f"{x.name} exits 0")
    await stop_all(env, relays[1:])


async def scenario_broker_restart(env, nats):
    """nats-server killed and restarted on its port mid-chat: the relays reconnect by
    themselves; the members were disconnected (4003) rather than left with gaps, reconnect,
    and every message arrives exactly once, in order."""
    relays = await cluster(env, nats, 2)
    link = await new_link(env, relays[0].port)
    members = [Member.saltchat(env, "alice", relink(link, relays[0].port)),
               Member.saltchat(env, "bob", relink(link, relays[1].port)),
               Member.saltchat(env, "carol", relink(link, relays[1].port))]
    await start_members(members)
    token = secrets.token_hex(6)
    sent = {m.name: [f"{m.name}-pre-{i}-{token}" for i in range(4)] for m in members}
    for i in range(4):
        for m in members:
            m.send(sent[m.name][i])
    await wait_messages(members, {m.name: 8 for m in members}, "before the broker restart")
    await nats.akill()
    log("broker_restart: nats-server killed")
    for m in members:
        ev = (await m.wait_for(lambda e: e["type"] == "disconnected", "disconnected"))[0]
        check(ev["close_code"] == CLOSE_CLUSTER, f"{m.name} closed with 4003: {ev}")
    for i in range(3):
        for m in members:
            t = f"{m.name}-outage-{i}-{token}"
            sent[m.name].append(t)
            m.send(t)
    await asyncio.sleep(1.0)
    await nats.astart()
    log("broker_restart: nats-server back on", nats.port)
    for r in relays:
        await until(lambda r=r: metrics(r)["saltchat_relay_cluster_connects_total"] == 2 and
                    metrics(r)["saltchat_relay_cluster_established"] == 1,
                    f"relay :{r.port} reconnected by itself", timeout=15)
    for m in members:
        await m.wait_for(lambda e: e["type"] == "joined_room", "rejoin", timeout=30, count=2)
    await wait_messages(members, {m.name: 14 for m in members}, "after the restart", timeout=40)
    for r in members:
        for s in members:
            if s is not r:
                check_exactly(r, s.name, sent[s.name], "broker restart")
    no_undecryptable(members, "broker restart")
    for r in relays:
        m = metrics(r)
        # noticed as the disconnection, or first as a failed publish or SYNC flush
        check(m['saltchat_relay_cluster_room_losses_total{cause="broker"}'] +
              m['saltchat_relay_cluster_room_losses_total{cause="publish"}'] >= 1,
              "room lost to the broker counted")
        check(m['saltchat_relay_closed_total{reason="cluster"}'] >= 1, "4003 closes counted")
        check(m["saltchat_relay_cluster_gaps_total"] == 0, "no gap")
    for m in members:
        await m.close_input()
    for m in members:
        check(await m.exit_code() == 0, f"{m.name} exits 0")
    await stop_all(env, relays)


async def scenario_stall(env, nats):
    """A relay stopped (SIGSTOP) past the heartbeat limit: the other relay announces its
    members as gone; when it resumes it notices, disconnects its members with 4003 rather
    than deliver a stale view, and they come back."""
    relays = await cluster(env, nats, 2)
    room = "stall-" + secrets.token_hex(4)
    url = [f"ws://127.0.0.1:{r.port}/room/{room}" for r in relays]
    a = await Raw(url[0]).connect()
    aid = a.welcome.result()[0]
    b = await Raw(url[1]).connect()
    bid = b.welcome.result()[0]
    await until(lambda: (JOINED, struct.pack(">Q", bid)) in a.envs, "a sees b", 15)
    relays[1].proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        await until(lambda: (LEFT, struct.pack(">Q", bid)) in a.envs, "a sees b leave", 8)
        took = time.monotonic() - t0
        check(2.5 < took < 6, f"the stalled relay's members left after {took:.1f} s")
        await asyncio.sleep(0.5)
    finally:
        relays[1].proc.send_signal(signal.SIGCONT)
    await bounded(asyncio.shield(b.closed), 10, "b's connection to close (4003)")
    check(b.close_code == CLOSE_CLUSTER, f"b closed with 4003, got {b.close_code}")
    check(not a.data(sender=bid), "nothing from b reached a")
    log(f"stall: b left after {took:.1f} s, then was disconnected with 4003")
    b2 = None
    deadline = time.monotonic() + 10
    while b2 is None:
        try:
            b2 = await Raw(url[1]).connect()
        except Exception:
            check(time.monotonic() < deadline, "b could not come back")
            await asyncio.sleep(0.3)
    b2id, b2list = b2.welcome.result()
    check(b2list == [aid], f"b2's WELCOME lists a: {b2list}")
    await until(lambda: (JOINED, struct.pack(">Q", b2id)) in a.envs, "a sees b come back", 15)
    await b2.send(envelope(SEND_ALL, b"back"))
    await until(lambda: a.data(sender=b2id), "a gets b2's frame", 15)
    m = metrics(relays[1])
    check(m['saltchat_relay_cluster_room_losses_total{cause="fence"}'] >= 1,
          "the stalled relay counted its fence")
    await a.close()
    await b2.close()
    await stop_all(env, relays)


async def scenario_reuse_port(env, nats):
    """Two relays of one cluster on one port (--reuse-port): the kernel spreads the
    connections over both, and every member sees every other in the one room."""
    port = free_ports(1)[0]
    relays = [await Relay(env, "--cluster", nats.url, "--reuse-port", port=port).astart()
              for _ in range(2)]
    # /metrics is answered by either process: ask until 8 answers in a row are ready
    await until(lambda: all(metrics(relays[0]).get("saltchat_relay_cluster_established") == 1 and
                            metrics(relays[0]).get("saltchat_relay_cluster_peers") == 1
                            for _ in range(8)), "both relays established")
    room = "shared-port-" + secrets.token_hex(4)
    members = []
    for _ in range(16):
        members.append(await Raw(f"ws://127.0.0.1:{port}/room/{room}").connect())
    ids = [m.welcome.result()[0] for m in members]

    def view(m):
        """Who m knows in the room: its WELCOME's list, then JOINED and LEFT. A member
        that joined another relay moments before m's WELCOME may come as JOINED
        instead: presence crosses the broker asynchronously (docs/CLUSTER.md)."""
        known = set(m.welcome.result()[1])
        for etype, body in m.envs:
            if etype in (JOINED, LEFT):
                (known.add if etype == JOINED else known.discard)(
                    struct.unpack_from(">Q", body)[0])
        return known

    for i, m in enumerate(members):
        await until(lambda i=i, m=m: view(m) == set(ids) - {ids[i]},
                    f"member {i} knows the 15 others (WELCOME + JOINED)", 15)
    instances = {i >> 32 for i in ids}
    check(len(instances) == 2, f"connections were spread over both relays: {len(instances)} "
                               "instance(s) among the member ids")
    await members[0].send(envelope(SEND_ALL, b"to-all"))
    for m in members[1:]:
        await until(lambda m=m: m.data(sender=ids[0]), "the broadcast reaches everyone", 15)
    for m in members:
        await m.close()
    log("reuse_port: 16 members over 2 relays on one port, each sees all")
    await stop_all(env, relays)


SCENARIOS = {
    "chat": scenario_chat,
    "presence": scenario_presence,
    "failover": scenario_failover,
    "broker_restart": scenario_broker_restart,
    "stall": scenario_stall,
    "reuse_port": scenario_reuse_port,
}


def main():
    def add_args(ap):
        ap.add_argument("--nats-server", default="/usr/sbin/nats-server")

    async def run(env, args, scenario):
        nats = Nats(env, args.nats_server)
        await nats.astart()
        await scenario(env, nats)

    return scenario_main(SCENARIOS, add_args, run)


if __name__ == "__main__":
    sys.exit(main())
