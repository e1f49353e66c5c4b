#!/usr/bin/python3
"""Integration tests of the saltchat terminal client (docs/CLI.md).

Every scenario starts the real relay binary on a free loopback port and real `saltchat
join --batch` processes (JSON events on stdout, one message per stdin line), plus, where a
scenario needs one, raw WebSocket clients speaking the envelope of docs/PROTOCOL.md section 2
and cli_test_peer (a member built from saltchat's own modules whose stdin takes commands).

    test_cli.py --saltchat BIN --relay BIN --peer BIN SCENARIO

Run with Debian's /usr/bin/python3 (python3-websockets 10.4).
"""
import asyncio
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import struct
import sys
import tempfile
import time

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sctest import relay as sc_relay  # noqa: E402
from sctest.envelope import DATA, SUBPROTOCOL, WELCOME, parse_message  # noqa: E402
from sctest.errors import TestFailure, check  # noqa: E402
from sctest.wait import bounded, timeout_message  # noqa: E402

# Exit codes (cli/cli_exit.h, docs/CLI.md).
EXIT_OK, EXIT_USAGE, EXIT_BAD_LINK, EXIT_IDENTITY = 0, 2, 3, 4
EXIT_UNREACHABLE, EXIT_ROOM_FULL, EXIT_UNDELIVERED, EXIT_TLS, EXIT_INTERRUPTED = 5, 6, 7, 8, 130


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


# ---------------------------------------------------------------------------- protocol


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def room_id_of(link):
    """The room id per PROTOCOL.md section 3 (crypto_kdf_derive_from_key, subkey 1)."""
    code = link.split("#sc1.", 1)[1]
    secret = b64url_decode(code)[:32]
    rid = hashlib.blake2b(b"", digest_size=32, key=secret,
                          salt=struct.pack("<Q", 1) + bytes(8), person=b"saltroom" + bytes(8))
    return b64url(rid.digest())


def ws_url_of(link, port=None):
    base = link.split("#", 1)[0]
    m = re.match(r"(https?)://([^/:]+):(\d+)/", base)
    scheme = "wss" if m.group(1) == "https" else "ws"
    return f"{scheme}://{m.group(2)}:{port or m.group(3)}/room/{room_id_of(link)}"


def relink(link, port):
    """The same invite (same secret) pointing at another port (a proxy)."""
    return re.sub(r"://([^/:]+):\d+/", lambda m: f"://{m.group(1)}:{port}/", link, count=1)


# ---------------------------------------------------------------------------- processes


class Env:
    """Paths, a temporary directory, and every process started, to clean up."""

    def __init__(self, args):
        self.saltchat = args.saltchat
        self.relay_bin = args.relay
        self.peer_bin = args.peer
        self.tmp = tempfile.mkdtemp(prefix="saltchat-cli-test-")
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(self.www)
        with open(os.path.join(self.www, "index.html"), "w") as f:
            f.write("<!doctype html><title>test</title>\n")
        self.procs = []
        self.relays = []  # sctest.relay.Relay objects
        self.pids = []  # children started without asyncio (pseudo-terminals)
        self.keep = args.keep

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def cleanup(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        for p in self.procs:
            if p.returncode is None:
                try:
                    p.kill()
                except ProcessLookupError:
                    pass
        for r in self.relays:
            r.kill()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def Relay(env, *extra, port=0):
    """The relay binary (sctest.relay.Relay, not started: `await Relay(env).astart()`) on
    127.0.0.1:port (0: a free one), its stderr in the test's directory."""
    r = sc_relay.Relay(env.relay_bin, *extra, www=env.www, listen=f"127.0.0.1:{port}",
                       log_path=env.path(f"relay-{secrets.token_hex(3)}.log"))
    env.relays.append(r)
    return r


class Member:
    """A saltchat (or cli_test_peer) process and the JSON events it printed."""

    def __init__(self, env, name, argv, config=None, extra_env=None):
        self.env, self.name, self.argv = env, name, argv
        self.config = config or env.path(f"config-{name}-{secrets.token_hex(2)}")
        self.extra_env = extra_env or {}
        self.events, self.bad_lines = [], []
        self.cond = asyncio.Condition()
        self.proc = None
        self.stderr_path = env.path(f"{name}-{secrets.token_hex(2)}.stderr")

    @classmethod
    def saltchat(cls, env, name, link, *extra, config=None):
        return cls(env, name, [env.saltchat, "join", link, "--batch", "--name", name,
                               "--config", None, *extra], config)

    @classmethod
    def peer(cls, env, name, link, *extra, config=None):
        return cls(env, name, [env.peer_bin, "--config", None, "--name", name, *extra, link],
                   config)

    async def start(self):
        argv = [self.config if a is None else a for a in self.argv]
        env = dict(os.environ, **self.extra_env)
        self.stderr = open(self.stderr_path, "wb")
        self.proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.stderr, env=env, limit=1 << 22)
        self.env.procs.append(self.proc)
        self.reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                ev = json.loads(line.decode("utf-8", errors="strict"))
                check(isinstance(ev, dict) and "type" in ev, "event without a type")
            except (ValueError, TestFailure) as e:
                self.bad_lines.append((line, str(e)))
                continue
            async with self.cond:
                self.events.append(ev)
                self.cond.notify_all()
        async with self.cond:
            self.cond.notify_all()

    def find(self, pred):
        return [e for e in self.events if pred(e)]

    async def wait_for(self, pred, what, timeout=20.0, count=1):
        """Waits until count events match pred; returns them."""
        deadline = time.monotonic() + timeout
        async with self.cond:
            while True:
                found = [e for e in self.events if pred(e)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self.reader.done():
                    why = (timeout_message(timeout, what) if left <= 0 else
                           f"output ended while waiting for {what}")
                    raise TestFailure(f"{self.name}: {why} "
                                      f"(have {len(found)} of {count}); last events: "
                                      f"{self.events[-5:]}; stderr: {self.stderr_text()[-500:]}")
                try:
                    await asyncio.wait_for(self.cond.wait(), left)
                except asyncio.TimeoutError:
                    pass

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")

    async def close_input(self):
        self.proc.stdin.close()

    async def exit_code(self, timeout=20.0):
        try:
            rc = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            raise TestFailure(f"{self.name}: {timeout_message(timeout, 'its exit')}; last "
                              f"events {self.events[-5:]}")
        await bounded(self.reader, timeout, f"{self.name}'s output to end")
        err = self.stderr_text()
        check("Sanitizer" not in err and "runtime error:" not in err,
              f"{self.name}: sanitizer report: {err[-1500:]}")
        check(not self.bad_lines, f"{self.name} printed lines that are not JSON objects in "
                                  f"valid UTF-8: {self.bad_lines[:3]}")
        return rc

    # Convenience queries.
    def me(self):
        return self.find(lambda e: e["type"] == "joined_room")[-1]

    async def joined(self, timeout=20.0):
        return (await self.wait_for(lambda e: e["type"] == "joined_room", "joined_room",
                                    timeout))[-1]

    async def authenticated(self, names, timeout=20.0):
        for n in names:
            await self.wait_for(lambda e, n=n: e["type"] == "member_authenticated" and
                                e["name"] == n, f"member_authenticated {n}", timeout)

    def messages(self):
        return self.find(lambda e: e["type"] == "message")


class Raw:
    """A raw WebSocket client in the room: sees what the relay forwards, sends anything."""

    def __init__(self, url):
        self.url, self.frames, self.envs = url, [], []
        self.welcome = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.close_code = None

    async def connect(self):
        self.ws = await bounded(
            websockets.connect(self.url, subprotocols=[SUBPROTOCOL], max_size=None,
                               compression=None, ping_interval=None),
            15, f"the WebSocket handshake to {self.url}")
        self.task = asyncio.get_running_loop().create_task(self._read())
        await bounded(asyncio.shield(self.welcome), 10, f"WELCOME from {self.url}")
        return self

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
            if not self.closed.done():
                self.closed.set_result(self.close_code)

    def data(self, sender=None, mode=None):
        """(from, mode, payload) of every DATA envelope received."""
        return [(e.sender, e.mode, e.payload) for e in self.envs if e.type == DATA and
                (sender is None or e.sender == sender) and (mode is None or e.mode == mode)]

    async def send(self, data):
        await self.ws.send(data)

    async def close(self):
        await self.ws.close()


async def new_link(env, port, scheme="http"):
    p = await asyncio.create_subprocess_exec(env.saltchat, "new", f"{scheme}://127.0.0.1:{port}",
                                             stdout=asyncio.subprocess.PIPE,
                                             stderr=asyncio.subprocess.PIPE)
    out, err = await bounded(p.communicate(), 30, "saltchat new to print a link")
    check(p.returncode == 0, f"saltchat new failed: {err!r}")
    lines = out.decode().splitlines()
    check(len(lines) == 1, f"saltchat new without a terminal prints only the link, got {lines}")
    link = lines[0]
    check(re.fullmatch(rf"{scheme}://127\.0\.0\.1:{port}/#sc1\.[A-Za-z0-9_-]{{48}}", link),
          f"unexpected link {link}")
    return link


async def start_members(members, others_of=None):
    """Starts members one by one (each joins before the next), then waits until each has
    authenticated every other."""
    for m in members:
        await m.start()
        await m.joined()
    for m in members:
        await m.authenticated([o.name for o in members if o is not m])


def text_of(sender, i, token):
    if i == 0:  # exercise JSON escaping and UTF-8 in every run
        return f'{sender}-0-{token} h\u00e9llo "quoted" back\\slash \u2713 \u00e7a'
    return f"{sender}-{i}-{token}"


def assert_delivery(receivers, senders, sent, what):
    """Every receiver got every other sender's texts exactly once, in order, under the
    sender's name, fingerprint and member id."""
    for r in receivers:
        got = r.messages()
        for s in senders:
            if s is r:
                continue
            me = s.me()
            texts = [e["text"] for e in got if e["name"] == s.name]
            check(texts == sent[s.name],
                  f"{what}: {r.name} got from {s.name} {len(texts)} messages "
                  f"(expected {len(sent[s.name])}); first difference at "
                  f"{next((i for i, (a, b) in enumerate(zip(texts, sent[s.name])) if a != b), min(len(texts), len(sent[s.name])))}")
            for e in got:
                if e["name"] == s.name:
                    check(e["fingerprint"] == me["fingerprint"],
                          f"{what}: {r.name} shows a wrong fingerprint for {s.name}")
                    check(re.fullmatch(r"[0-9a-f]{16}", e["member"]) and
                          re.fullmatch(r"[0-9a-f]{16}", e["msg_id"]), "ids are 16 hex digits")
                    check(isinstance(e["time"], int) and abs(e["time"] / 1000 - time.time()) < 600,
                          "message time is the sender's Unix ms")
        names = {s.name for s in senders if s is not r}
        stray = [e for e in got if e["name"] not in names]
        check(not stray, f"{what}: {r.name} got messages from unexpected senders: {stray[:3]}")


async def wait_messages(members, counts, what, timeout=30.0):
    for m in members:
        await m.wait_for(lambda e: e["type"] == "message", f"{what}: messages",
                         timeout=timeout, count=counts[m.name])


async def leave_all(members, what, timeout=20.0):
    for m in members:
        await m.close_input()
    for m in members:
        rc = await m.exit_code(timeout)
        check(rc == EXIT_OK, f"{what}: {m.name} exited {rc}, not 0; "
                             f"stderr {m.stderr_text()[-300:]}")
        queued = {e["msg_id"] for e in m.find(lambda e: e["type"] == "queued")}
        confirmed = {e["msg_id"] for e in m.find(lambda e: e["type"] == "confirmed")}
        check(queued <= confirmed, f"{what}: {m.name} exited 0 with unconfirmed messages")
        check(m.events[-1]["type"] == "exit" and m.events[-1]["code"] == 0,
              f"{what}: {m.name}'s last event is not exit 0")


def run_scenario(env, name, scenario, timeout):
    """Runs scenario() (a coroutine function) within timeout seconds, then stops every
    child process while the loop still runs (so their pipes close cleanly). Prints PASS
    or FAIL; on failure keeps the temporary directory. Returns the exit status."""
    start = time.monotonic()
    failure = None

    async def run():
        try:
            await bounded(scenario(), timeout, f"scenario {name} to finish")
        finally:
            for p in env.procs:
                if p.returncode is None:
                    try:
                        p.send_signal(signal.SIGCONT)  # a test may have stopped it
                        p.kill()
                    except ProcessLookupError:
                        pass
                    await p.wait()
            for r in env.relays:
                if r.running():
                    r.proc.send_signal(signal.SIGCONT)
                await r.akill()

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
    """The command line of a scenario script: --saltchat BIN --relay BIN [--keep]
    [--timeout S] SCENARIO, plus what add_args(parser) adds. Runs
    run(env, args, scenarios[SCENARIO]) (a coroutine) under run_scenario; returns the
    exit status."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--saltchat", required=True)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--timeout", type=float, default=100)
    add_args(ap)
    ap.add_argument("scenario", choices=sorted(scenarios))
    args = ap.parse_args()
    if not hasattr(args, "peer"):
        args.peer = None
    env = Env(args)
    return run_scenario(env, args.scenario,
                        lambda: run(env, args, scenarios[args.scenario]), args.timeout)


class Tty:
    """saltchat in interactive mode on a pseudo-terminal, typed at like a user."""

    def __init__(self, env, name, link, config, extra_env=None, job_control=False):
        """With job_control, a shell-like parent holds the session and saltchat runs as the
        foreground process group under it, so that Ctrl-Z really stops it (the kernel
        discards stop signals to an orphaned group, as saltchat alone would be)."""
        self.env, self.name, self.link, self.config = env, name, link, config
        self.extra_env = extra_env or {}
        self.job_control = job_control
        self.out = b""
        self.changed = asyncio.Event()

    async def start(self):
        import pty
        pid, fd = pty.fork()
        if pid == 0:  # child
            try:
                os.environ.update({"TERM": "xterm", "LC_ALL": "C.UTF-8", "COLUMNS": "100"})
                os.environ.pop("NO_COLOR", None)
                os.environ.update(self.extra_env)
                argv = ["saltchat", "join", self.link, "--name", self.name,
                        "--config", self.config]
                if not self.job_control:
                    os.execv(self.env.saltchat, argv)
                job = os.fork()
                if job == 0:  # what a shell does for a foreground job
                    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
                    os.setpgid(0, 0)
                    os.tcsetpgrp(0, os.getpid())
                    signal.signal(signal.SIGTTOU, signal.SIG_DFL)
                    os.execv(self.env.saltchat, argv)
                _, status = os.waitpid(job, 0)
                os._exit(os.waitstatus_to_exitcode(status) & 0xff)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.env.pids.append(pid)
        import fcntl
        import termios
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        asyncio.get_running_loop().add_reader(fd, self._readable)
        return self

    def _readable(self):
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.fd)
        self.out += data
        self.changed.set()

    async def expect(self, pattern, what, timeout=15.0, start=0):
        """Waits until the output from offset start matches the regex (bytes); returns the
        match."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.out[start:], re.S)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"tty {self.name}: {timeout_message(timeout, what)} on "
                                  f"screen; last output {self.out[-600:]!r}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    def saltchat_pid(self):
        """The saltchat process: the pty's child itself, or its child with job_control."""
        if not self.job_control:
            return self.pid
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError, ValueError):
                continue
            if int(fields[1]) == self.pid:
                return int(entry)
        raise TestFailure(f"tty {self.name}: saltchat process not found")

    def type(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    async def exit_code(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            await asyncio.sleep(0.05)
        os.kill(self.pid, 9)
        raise TestFailure(f"tty {self.name}: {timeout_message(timeout, 'its exit')}")
