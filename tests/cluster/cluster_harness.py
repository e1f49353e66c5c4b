"""The processes and members of the cluster scenarios (cluster_test.py, docs/CLUSTER.md).

Taken from the harness of the protocol v1 CLI tests (tests/cli/cli_harness.py, deleted
with the v1 CLI): Env, Relay, the scenario runner, and Raw, a raw v1 WebSocket member
(docs/PROTOCOL-v1.md section 2) that plays the part the v1 `saltchat` processes played.
Raw members see exactly what the relays forward, so the scenarios assert the relays'
and the bus's guarantees (delivery, order, presence, close codes) without a client in
between. Every wait is bounded and names what it waited for.

Run with Debian's /usr/bin/python3 (python3-websockets 10.4).
"""
import asyncio
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sctest import metrics as sc_metrics  # noqa: E402
from sctest import relay as sc_relay  # noqa: E402
from sctest.envelope import (DATA, JOINED, LEFT, SUBPROTOCOL, SYNCED, WELCOME,  # noqa: E402
                             parse_message, send_all, sync)
from sctest.errors import TestFailure, check  # noqa: E402
from sctest.nats import Nats as ScNats  # noqa: E402
from sctest.wait import bounded, until  # noqa: E402


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


# ---------------------------------------------------------------------------- processes


class Env:
    """Paths, a temporary directory, and every relay and broker started, to clean up."""

    def __init__(self, args):
        self.relay_bin = args.relay
        self.tmp = tempfile.mkdtemp(prefix="saltchat-cluster-test-")
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(self.www)
        with open(os.path.join(self.www, "index.html"), "w") as f:
            f.write("<!doctype html><title>test</title>\n")
        self.relays = []  # sctest.relay.Relay objects
        self.brokers = []  # sctest.nats.Nats objects
        self.keep = args.keep

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def cleanup(self):
        for r in self.relays:
            r.kill()
        for n in self.brokers:
            n.kill()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def Relay(env, *extra, port=0):
    """The relay binary (sctest.relay.Relay, not started: `await Relay(env).astart()`) on
    127.0.0.1:port (0: a free one), its stderr in the test's directory."""
    r = sc_relay.Relay(env.relay_bin, *extra, www=env.www, listen=f"127.0.0.1:{port}",
                       log_path=env.path(f"relay-{secrets.token_hex(3)}.log"))
    env.relays.append(r)
    return r


def Nats(env, binary):
    """nats-server (sctest.nats.Nats, not started) logging into the test's directory,
    killed at cleanup."""
    n = ScNats(binary, log_path=env.path("nats.log"))
    env.brokers.append(n)
    return n


def metrics(relay):
    """The relay's /metrics as a dict (sctest.metrics.scrape)."""
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
    one is established (knows the n - 1 others). Returns the relays."""
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
                    f"relay :{r.port} established with {n - 1} peers", 20)
    return relays


def sanitizer_clean(relays):
    """Fails if a relay's log holds a sanitizer report or unreleased NATS messages."""
    for r in relays:
        with open(r.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        check("Sanitizer" not in text and "runtime error:" not in text,
              f"relay :{r.port}: sanitizer report: {text[-2000:]}")
        check("were not released" not in text, f"relay :{r.port} leaked NATS messages")


async def stop_all(relays, members=()):
    """Closes the members, stops the relays (SIGTERM) and checks their logs."""
    for m in members:
        await m.close()
    for r in relays:
        await r.astop(strict=False)
    sanitizer_clean(relays)


def room_url(relay, room):
    return f"ws://127.0.0.1:{relay.port}/room/{room}"


# ---------------------------------------------------------------------------- members


class Raw:
    """A raw v1 WebSocket member of a room (PROTOCOL-v1.md section 2): keeps every
    envelope the relay sent, sends anything. After connect(): .id (its member id),
    .welcome_list (the ids WELCOME listed)."""

    def __init__(self, url, name=None):
        self.url, self.name = url, name or url
        self.frames, self.envs = [], []
        loop = asyncio.get_running_loop()
        self.welcome = loop.create_future()
        self.closed = loop.create_future()
        self.close_code = None
        self.ws = None
        self.next_token = 1

    async def connect(self, timeout=15):
        """Opens the WebSocket and waits for WELCOME (each at most timeout s); returns
        self. A close before WELCOME is a TestFailure naming the close code."""
        self.ws = await bounded(
            websockets.connect(self.url, subprotocols=[SUBPROTOCOL], max_size=None,
                               compression=None, ping_interval=None, open_timeout=None),
            timeout, f"the WebSocket handshake to {self.url}")
        self.task = asyncio.get_running_loop().create_task(self._read())
        done, _ = await asyncio.wait({self.welcome, self.closed}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if self.welcome in done:
            return self
        if self.closed in done:
            raise TestFailure(f"{self.name}: closed with {self.close_code} before WELCOME")
        raise TestFailure(f"{self.name}: timed out after {timeout:g} s waiting for WELCOME "
                          f"from {self.url}")

    async def _read(self):
        try:
            async for msg in self.ws:
                self.frames.append(msg)
                if isinstance(msg, str):
                    continue
                for e in parse_message(msg):
                    self.envs.append(e)
                    if e.type == WELCOME and not self.welcome.done():
                        self.welcome.set_result((e.you, e.members))
        except websockets.ConnectionClosed as e:
            self.close_code = e.code
        finally:
            if self.close_code is None and self.ws is not None:
                self.close_code = self.ws.close_code
            if not self.closed.done():
                self.closed.set_result(self.close_code)

    @property
    def id(self):
        return self.welcome.result()[0]

    @property
    def welcome_list(self):
        return self.welcome.result()[1]

    def data(self, sender=None, mode=None):
        """(from, mode, payload) of every DATA envelope received, optionally only from
        sender and of mode."""
        return [(e.sender, e.mode, e.payload) for e in self.envs if e.type == DATA and
                (sender is None or e.sender == sender) and (mode is None or e.mode == mode)]

    def payloads(self, sender):
        """The payloads of the broadcasts (mode 0) received from member id sender, in order."""
        return [p for _, _, p in self.data(sender=sender, mode=0)]

    def saw(self, etype, member):
        """Whether a JOINED or LEFT naming member was received."""
        return any(e.type == etype and e.member == member for e in self.envs
                   if e.type in (JOINED, LEFT))

    def view(self):
        """Who this member knows in the room: its WELCOME's list, then JOINED and LEFT."""
        known = set(self.welcome_list)
        for e in self.envs:
            if e.type == JOINED:
                known.add(e.member)
            elif e.type == LEFT:
                known.discard(e.member)
        return known

    async def send(self, data):
        await self.ws.send(data)

    async def broadcast(self, payloads):
        """SEND_ALL of each payload (bytes), in order."""
        for p in payloads:
            await self.ws.send(send_all(p))

    async def sync(self, what, timeout=20):
        """SYNC with a new token, then waits for its SYNCED: every frame sent before is
        accepted into the room (handed to the broker)."""
        token = self.next_token
        self.next_token += 1
        await self.ws.send(sync(token))
        await until(lambda: any(e.type == SYNCED and e.token == token for e in self.envs),
                    f"{self.name}: SYNCED {token} ({what})", timeout,
                    detail=lambda: f"closed {self.close_code}" if self.closed.done() else None)

    async def wait_payloads(self, sender, count, what, timeout=30):
        """Waits until count broadcasts from member id sender have arrived."""
        await until(lambda: len(self.payloads(sender)) >= count,
                    f"{self.name}: {count} frames from {sender:#x} ({what})", timeout,
                    detail=lambda: f"have {len(self.payloads(sender))}")

    async def wait_closed(self, what, timeout=20):
        """Waits until the relay closed the connection; returns the close code."""
        return await bounded(asyncio.shield(self.closed), timeout, f"{self.name}: {what}")

    async def close(self):
        if self.ws is not None and not self.closed.done():
            await bounded(self.ws.close(), 10, f"{self.name}: its close handshake")


async def connect_retrying(url, name, what, timeout=20):
    """A Raw member of url, connecting again (every 0.3 s, for at most timeout s) while the
    relay refuses (4003 before WELCOME, or a refused connection): what a client does when
    it comes back. Returns the member."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        m = Raw(url, name)
        try:
            return await m.connect(timeout=max(1.0, deadline - time.monotonic()))
        except (TestFailure, OSError, websockets.InvalidHandshake) as e:
            last = e
        if time.monotonic() >= deadline:
            raise TestFailure(f"timed out after {timeout:g} s waiting for {what}; last "
                              f"attempt: {last}")
        await asyncio.sleep(0.3)


def assert_delivery(receivers, senders, sent, what, also=()):
    """Every receiver got from every other sender (Raw) exactly the payloads sent[sender]
    (a list of bytes), in order, as broadcasts, and nothing from anyone else but the
    member ids in also (checked by the caller)."""
    ids = {s.id for s in senders} | set(also)
    for r in receivers:
        for s in senders:
            if s is r:
                continue
            got = r.payloads(s.id)
            exp = sent[s]
            check(got == exp,
                  f"{what}: {r.name} got from {s.name} {len(got)} frames (expected {len(exp)}); "
                  f"first difference at "
                  f"{next((i for i, (a, b) in enumerate(zip(got, exp)) if a != b), min(len(got), len(exp)))}")
        stray = [d for d in r.data() if d[0] not in ids or d[0] == r.id]
        check(not stray, f"{what}: {r.name} got frames from unexpected senders: {stray[:3]}")


# ---------------------------------------------------------------------------- runner


def run_scenario(env, name, scenario, timeout):
    """Runs scenario() (a coroutine function) within timeout seconds, then stops every
    relay and broker while the loop still runs. Prints PASS or FAIL; on failure keeps the
    temporary directory. Returns the exit status."""
    start = time.monotonic()
    failure = None

    async def run():
        try:
            await bounded(scenario(), timeout, f"scenario {name} to finish")
        finally:
            for r in env.relays:
                if r.running():
                    r.proc.send_signal(signal.SIGCONT)  # a test may have stopped it
                await r.akill()
            for n in env.brokers:
                await n.akill()

    try:
        asyncio.run(run())
    except (TestFailure, asyncio.TimeoutError) as e:
        failure = f"{type(e).__name__}: {e}"
    except BaseException as e:  # a bug in the test itself: still clean up processes
        failure = f"{type(e).__name__}: {e}"
        raise
    finally:
        if failure:
            env.keep = True
            print(f"FAIL {name}: {failure}", file=sys.stderr)
            print(f"logs kept in {env.tmp}", file=sys.stderr)
        env.cleanup()
    if failure:
        return 1
    print(f"PASS {name} in {time.monotonic() - start:.1f} s")
    return 0


def scenario_main(scenarios, add_args, run):
    """The command line of a scenario script: --relay BIN [--keep] [--timeout S] SCENARIO,
    plus what add_args(parser) adds. Runs run(env, args, scenarios[SCENARIO]) (a
    coroutine) under run_scenario; returns the exit status."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--timeout", type=float, default=100)
    add_args(ap)
    ap.add_argument("scenario", choices=sorted(scenarios))
    args = ap.parse_args()
    env = Env(args)
    return run_scenario(env, args.scenario,
                        lambda: run(env, args, scenarios[args.scenario]), args.timeout)
