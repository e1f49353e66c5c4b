#!/usr/bin/python3
"""Integration scenarios of relays sharing rooms over NATS (docs/CLUSTER.md).

Each scenario starts a real nats-server on a free loopback port, real saltchat-relay
processes with --cluster, and raw protocol v1 members (PROTOCOL-v1.md section 2,
cluster_harness.Raw): v1 is the protocol the relays cluster today (protocol v2 is
refused under --cluster, and today's clients speak only v2), and raw members see exactly
what the relays forward, so each scenario asserts what the relays and the bus guarantee.

    cluster_test.py --relay BIN [--nats-server BIN] SCENARIO [--keep]

Run with Debian's /usr/bin/python3 (python3-websockets 10.4).
"""
import asyncio
import os
import secrets
import signal
import struct
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cluster_harness import (Nats, Raw, Relay, assert_delivery, cluster,  # noqa: E402
                             connect_retrying, free_ports, log, metrics, room_url,
                             scenario_main, stop_all)
from sctest.envelope import (CLOSE_CLUSTER, ERROR, JOINED, LEFT, SEND_ALL,  # noqa: E402
                             SEND_TO, SYNC, SYNCED, envelope)
from sctest.errors import TestFailure, check  # noqa: E402
from websockets.exceptions import InvalidHandshake  # noqa: E402
from sctest.wait import bounded, until  # noqa: E402


def frames(name, phase, n, token):
    """n distinct payloads of member name in phase (bytes)."""
    return [f"{name}-{phase}-{i}-{token}".encode() for i in range(n)]


async def members_of(relays, names, room):
    """One Raw member per (name, relay), joined in turn; waits until each knows every
    other (its WELCOME, then JOINED: presence crosses the broker asynchronously)."""
    out = []
    for name, r in zip(names, relays):
        out.append(await Raw(room_url(r, room), name).connect())
    await everyone_knows(out, "every member knows the others")
    return out


async def everyone_knows(members, what, timeout=20):
    ids = {m.id for m in members}
    for m in members:
        await until(lambda m=m: m.view() == ids - {m.id}, f"{m.name}: {what}", timeout,
                    detail=lambda m=m: f"knows {sorted(m.view())}, expected "
                                       f"{sorted(ids - {m.id})}")


# ------------------------------------------------------------------------------ scenarios


async def scenario_chat(env, nats):
    """Three relays on one broker, one member on each: every frame arrives exactly once
    and in each sender's order, SYNCED confirms every sender's frames, no gap."""
    relays = await cluster(env, nats, 3)
    room = "chat-" + secrets.token_hex(4)
    members = await members_of(relays, ("alice", "bob", "carol"), room)
    check(len({m.id >> 32 for m in members}) == 3, "each member on its own relay's instance")
    n = 30
    token = secrets.token_hex(6)
    sent = {m: frames(m.name, "chat", n, token) for m in members}
    for i in range(n):  # interleaved, as three people typing
        for m in members:
            await m.broadcast([sent[m][i]])
    for m in members:
        await m.sync("chat: all 30 frames accepted")
    for r in members:
        for s in members:
            if s is not r:
                await r.wait_payloads(s.id, n, f"chat from {s.name}")
    assert_delivery(members, members, sent, "chat")
    m0 = metrics(relays[0])
    check(m0["saltchat_relay_cluster_published_total"] > 0 and
          m0["saltchat_relay_cluster_received_total"] > 0, "bus traffic counted")
    check(m0["saltchat_relay_cluster_gaps_total"] == 0, "no gap")
    check(m0["saltchat_relay_cluster_remote_members"] == 2, "two remote members known")
    log("chat: 3 relays x", n, "frames, exactly once and in order")
    await stop_all(relays, members)


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
    await stop_all(relays)


async def scenario_failover(env, nats):
    """kill -9 of a relay mid-chat: its member's connection drops, it comes back through
    another relay (what a client with --relay alternatives does) with a new id; the
    others see the old id leave (the dead relay's heartbeats stop) and the new one join;
    what every member sent before and after arrives exactly once, in order, and the
    returning member gets exactly what was sent after its WELCOME."""
    relays = await cluster(env, nats, 3)
    room = "failover-" + secrets.token_hex(4)
    alice, bob, carol = members = await members_of(relays, ("alice", "bob", "carol"), room)
    token = secrets.token_hex(6)
    pre = {m: frames(m.name, "pre", 5, token) for m in members}
    for i in range(5):
        for m in members:
            await m.broadcast([pre[m][i]])
    for m in members:
        await m.sync("before the kill")
    for r in members:
        for s in members:
            if s is not r:
                await r.wait_payloads(s.id, 5, f"before the kill, from {s.name}")
    assert_delivery(members, members, pre, "before the kill")

    t0 = time.monotonic()
    await relays[0].akill()
    log("failover: relay", relays[0].port, "killed")
    await alice.wait_closed("the connection to drop with its relay")
    alice2 = await connect_retrying(room_url(relays[1], room), "alice2",
                                    "alice to come back through relay 2")
    check(alice2.id != alice.id, "alice has a new member id")
    check(alice2.id >> 32 == bob.id >> 32, "alice's new id is relay 2's")
    # her old id may still be listed: relay 2 has not yet declared relay 1 dead
    check({bob.id, carol.id} <= set(alice2.welcome_list) <= {bob.id, carol.id, alice.id},
          f"alice's new WELCOME lists bob and carol: {alice2.welcome_list}")
    for m in (alice2, bob, carol) if alice.id in alice2.welcome_list else (bob, carol):
        await until(lambda m=m: m.saw(LEFT, alice.id), f"{m.name} sees the old alice leave",
                    20)
    for m in (bob, carol):
        await until(lambda m=m: m.saw(JOINED, alice2.id), f"{m.name} sees alice return", 20)
    log(f"failover: others saw alice leave and return in {time.monotonic() - t0:.1f} s")
    took = time.monotonic() - t0
    members = [alice2, bob, carol]
    post = {m: frames(m.name, "post", 5, token) for m in members}
    post[alice2] = frames("alice", "outage", 4, token) + post[alice2]  # her outbox first
    for i in range(max(len(v) for v in post.values())):
        for m in members:
            if i < len(post[m]):
                await m.broadcast([post[m][i]])
    for m in members:
        await m.sync("after the failover")
    for r in members:
        for s in members:
            if s is not r:
                await r.wait_payloads(s.id, len(post[s]), f"after the failover, from {s.name}")
    # bob and carol: the old alice's frames, then exactly the new alice's, once, in order
    for r in (bob, carol):
        check(r.payloads(alice.id) == pre[alice], f"{r.name}: old alice's frames intact")
    # all the others sent since her new WELCOME, and nothing from before
    assert_delivery([alice2], members, post, "alice after her return")
    whole = {alice2: post[alice2], bob: pre[bob] + post[bob], carol: pre[carol] + post[carol]}
    assert_delivery([bob, carol], members, whole, "failover", also=(alice.id,))
    m = metrics(relays[1])
    check(m["saltchat_relay_cluster_peers_dead_total"] == 1, "relay 2 declared relay 1 dead")
    log(f"failover: done ({took:.1f} s to rejoin)")
    await stop_all(relays[1:], members)


async def scenario_broker_restart(env, nats):
    """nats-server killed and restarted on its port mid-chat: every member is disconnected
    with 4003 (rather than left with a gap), newcomers are refused with 4003 while the
    broker is away, the relays reconnect by themselves, the members come back, and every
    frame arrives exactly once, in order."""
    relays = await cluster(env, nats, 2)
    room = "broker-" + secrets.token_hex(4)
    members = await members_of([relays[0], relays[1], relays[1]], ("alice", "bob", "carol"),
                               room)
    token = secrets.token_hex(6)
    pre = {m: frames(m.name, "pre", 4, token) for m in members}
    for i in range(4):
        for m in members:
            await m.broadcast([pre[m][i]])
    for m in members:
        await m.sync("before the broker restart")
    for r in members:
        for s in members:
            if s is not r:
                await r.wait_payloads(s.id, 4, f"before the restart, from {s.name}")
    assert_delivery(members, members, pre, "before the broker restart")
    await nats.akill()
    log("broker_restart: nats-server killed")
    for m in members:
        code = await m.wait_closed("its 4003 after the broker went")
        check(code == CLOSE_CLUSTER, f"{m.name} closed with 4003, got {code}")
    for r in relays:  # refused while the broker is away
        late, why = Raw(room_url(r, room), "late"), None
        try:
            await late.connect(timeout=10)
        except (TestFailure, OSError, InvalidHandshake) as e:
            why = e
        check(not late.welcome.done(), f"relay :{r.port} welcomed a member without its broker")
        check(late.closed.done() and late.close_code == CLOSE_CLUSTER,
              f"relay :{r.port} refuses newcomers with 4003 without its broker: {why}")
    await asyncio.sleep(1.0)
    await nats.astart()
    log("broker_restart: nats-server back on", nats.port)
    for r in relays:
        await until(lambda r=r: metrics(r)["saltchat_relay_cluster_connects_total"] == 2 and
                    metrics(r)["saltchat_relay_cluster_established"] == 1,
                    f"relay :{r.port} reconnected by itself", timeout=20)
    back = []
    for m, r in zip(members, (relays[0], relays[1], relays[1])):
        back.append(await connect_retrying(room_url(r, room), m.name + "2",
                                           f"{m.name} to come back", 30))
    await everyone_knows(back, "every member knows the others after the restart")
    post = {m: frames(m.name, "post", 6, token) for m in back}
    for i in range(6):
        for m in back:
            await m.broadcast([post[m][i]])
    for m in back:
        await m.sync("after the broker restart")
    for r in back:
        for s in back:
            if s is not r:
                await r.wait_payloads(s.id, 6, f"after the restart, from {s.name}")
    assert_delivery(back, back, post, "after the broker restart")
    assert_delivery(members, members, pre, "the old connections, unchanged")
    for r in relays:
        m = metrics(r)
        # noticed as the disconnection, or first as a failed publish or SYNC flush
        check(m['saltchat_relay_cluster_room_losses_total{cause="broker"}'] +
              m['saltchat_relay_cluster_room_losses_total{cause="publish"}'] >= 1,
              "room lost to the broker counted")
        check(m['saltchat_relay_closed_total{reason="cluster"}'] >= 1, "4003 closes counted")
        check(m["saltchat_relay_cluster_gaps_total"] == 0, "no gap")
    await stop_all(relays, back)


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
    await stop_all(relays)


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
    await stop_all(relays)


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
