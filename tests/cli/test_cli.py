#!/usr/bin/python3
"""Integration tests of the saltchat terminal client on protocol v2 (docs/CLI.md).

Every case starts the real relay binary on a free loopback port with its own temporary
--data-dir, and real `saltchat` processes in batch mode (sctest.cli.Cli: JSON events on
stdout, one message or /command per stdin line), each with its own --config and --data.
Where a network fault is needed, the clients go through sctest.tcpproxy.TcpProxy.

  chat             Alice creates, Bob joins by --link-file; messages both ways exactly
                   once and in order, Alice's accepted; /members; no plaintext on disk
  cut              Bob's TCP connection is reset and the network refuses him ~3 s; Alice
                   sends two meanwhile (accepted); Bob reconnects by himself and gets both
                   exactly once, in order
  relay_kill       the same across a relay SIGKILL and restart on the same --data-dir
  restart          Bob types while offline, then his client is SIGKILLed; Alice sends 3;
                   `saltchat open` shows all 3 in order (and the stored history before
                   them) and sends what Bob had typed
  kill_burst       Alice sends an 800-message burst; Bob's client is SIGKILLed while it
                   receives it live, reopened, SIGKILLed again during the catch-up, reopened:
                   across the three runs every message is shown exactly once, in order
                   (the one being shown at a kill's instant may come back only among the
                   `history` lines of the next open), and the history holds each once
  history_bound    Bob keeps --history 1000 and receives 1300: the stored history stays
                   between 1000 and 1125 messages, /history returns the newest, `open`
                   shows the newest; a bad --history or $SALTCHAT_HISTORY is a usage error
  undelivered      Bob quits (--wait 2) with a message the relay never got: exit 7; `open`
                   sends it
  remove_same_name two members named bob: /remove bob is refused and says why; /remove bob
                   <fingerprint prefix> (digits, spaces optional) removes the right one
  lookalike        alice, a Cyrillic "аlice" and a bidi-override name: Carol sees the two
                   alices flagged lookalike with distinct fingerprints, the bidi control
                   escaped, the flag on messages; Alice is warned when the lookalike joins;
                   /remove alice is refused until a fingerprint says which
  remove           Alice /remove bob: Bob is told and exits 9; his old link is refused
                   (exit 11); the rotated link from Alice's link_rotated admits Carol
  needs_link       Bob is away while Carol is removed (the link rotates) and retention drops
                   his position: his rejoin with the old link is refused (exit 11), `rooms`
                   says needs_link and `open` refuses with a clear reason (exit 12)
  leave            Bob /leave: exit 0, Alice sees him go, `rooms` says left, open refuses
  lost             the relay comes back with an EMPTY store: both clients say room_lost and
                   exit 10 without retrying; the rooms stay stored; `open` against the
                   relay that has the room resumes
  tty              interactive mode on a pseudo-terminal: new with its link, a message each
                   way, a hostile name/text sanitized, /members, /room-code, /verify (of
                   oneself; of carol, marked verified with the safety number read off the
                   screen), /quit; a join whose link
                   is typed at a prompt that does not echo it; Ctrl-D
  no_secret_in_ps  `saltchat join --link-file F`: no part of the link in ps/cmdline/environ
  verify           /verify shows the fingerprint and the same safety number on both sides;
                   a malformed or wrong number is refused; the safety number --yes marks
                   Bob verified (/members), kept encrypted across `open`; /room-code equal
                   at both at the same epoch; another "bob" key raises verify_broken (and
                   key_changed); /unverify removes the mark
  bad_input        v1 link, mistyped link, no link, bad name, unknown/corrupt/too open
                   state files, corrupt storage key: clear error and exit code

    test_cli.py --saltchat BIN --relay BIN CASE|all
"""
import base64
import hashlib
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sctest import cases as sc_cases  # noqa: E402
from sctest.cli import Cli, run  # noqa: E402
from sctest.errors import TestFailure, check  # noqa: E402
from sctest.relay import Relay  # noqa: E402
from sctest.tcpproxy import TcpProxy  # noqa: E402

# Exit codes (cli/cli_exit.h, docs/CLI.md).
EXIT_OK, EXIT_USAGE, EXIT_BAD_LINK, EXIT_IDENTITY = 0, 2, 3, 4
EXIT_REMOVED, EXIT_ROOM_LOST, EXIT_JOIN_REFUSED, EXIT_STORE = 9, 10, 11, 12

SALTCHAT = None
RELAY = None
T = 60.0  # bound of each wait: generous, the tests run under load


class Env:
    """A temporary directory, the relay (own --data-dir) and the clients to clean up."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="saltchat-cli-")
        self.data = os.path.join(self.tmp, "relay-data")
        self.relays, self.clis, self.proxies, self.ttys = [], [], [], []

    def relay(self, data=None, *args):
        r = Relay(RELAY, *args, data_dir=data or self.data).start()
        self.relays.append(r)
        return r

    def home(self, name):
        h = os.path.join(self.tmp, name)
        os.makedirs(h, exist_ok=True)
        return h

    def cli(self, name, *args, home=None, **kw):
        c = Cli(SALTCHAT, self.home(home or name), name, *args, **kw)
        self.clis.append(c)
        return c

    def proxy(self, port):
        p = TcpProxy(port)
        self.proxies.append(p)
        return p

    def link_file(self, owner, link, name="link"):
        path = os.path.join(self.home(owner), name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (link + "\n").encode())
        os.close(fd)
        return path

    def close(self, failed):
        for c in self.clis:
            if failed:
                sys.stderr.write(f"--- {c.name} ({' '.join(c.argv[1:3])}) ---\n"
                                 + "\n".join(c.lines[-30:]) + "\n" + c.stderr()[-1500:] + "\n")
            c.kill()
        for t in self.ttys:
            if failed:
                sys.stderr.write(f"--- terminal ---\n{t.out[-3000:]!r}\n")
            t.kill()
        for p in self.proxies:
            p.close()
        for r in self.relays:
            if failed:
                sys.stderr.write(f"--- relay ---\n{r.stderr()[-2000:]}\n")
            r.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


def scenario(fn):
    """Runs fn(env) with an Env that is cleaned up (and dumped on failure)."""
    def run_case():
        env = Env()
        failed = True
        try:
            fn(env)
            failed = False
        finally:
            env.close(failed)
    run_case.__name__ = fn.__name__
    return run_case


def relink(link, port):
    """The same invite link with the relay's port replaced (to go through a proxy)."""
    return re.sub(r"^(https?://127\.0\.0\.1:)\d+", lambda m: m.group(1) + str(port), link)


def create(env, relay_port, name="alice"):
    """Alice creates a room (saltchat new): returns (client, link) once the room is live."""
    a = env.cli(name, "new", f"ws://127.0.0.1:{relay_port}")
    link = a.wait_for("link", "the new room's link")["link"]
    check(link.startswith(f"http://127.0.0.1:{relay_port}/#sc2."), f"unexpected link {link!r}")
    a.wait_for("created", "the relay to create the room", T)
    a.wait_for("live", "the room to be live", T)
    return a, link


def join(env, name, link, creator=None, home=None, *extra):
    """name joins by --link-file (in home, default name's); waits until it is live and
    (if given) the creator saw it join. Returns the client."""
    f = env.link_file(home or name, link)
    c = env.cli(name, "join", "--link-file", f, *extra, home=home)
    c.wait_for("joined", "our join to be accepted", T)
    c.wait_for("live", "catching up after the join", T)
    if creator:
        creator.wait_for("member_joined", f"{name} to join", T,
                         identity=c.of("room")[0]["identity"])
    return c


def say(sender, *texts):
    """Sends texts; returns their tokens (from the queued events)."""
    n0 = len(sender.of("queued"))
    for t in texts:
        sender.send(t)
    sender.wait_for("queued", f"{len(texts)} messages queued", T, count=n0 + len(texts))
    return [e["token"] for e in sender.of("queued")[n0:n0 + len(texts)]]


def wait_accepted(sender, tokens, what):
    for t in tokens:
        sender.wait_for("accepted", f"the relay to accept {what} (token {t})", T, token=t)


def wait_messages(receiver, sender_name, texts, what):
    """Waits until receiver has every text from sender_name, then checks that the
    messages from sender_name ending the stream are exactly texts, once each, in order."""
    for t in texts:
        receiver.wait_for("message", f"{what}: {t!r}", T, text=t)
    got = [e["text"] for e in receiver.of("message") if e.get("name") == sender_name]
    for t in texts:
        check(got.count(t) == 1, f"{receiver.name} got {t!r} {got.count(t)} times: {got}")
    check(got[-len(texts):] == list(texts), f"{receiver.name}: {got} does not end with "
                                            f"{list(texts)} in order")


def quit_ok(c, what):
    c.close_input()
    rc = c.exit_code(T)
    check(rc == EXIT_OK, f"{c.name} exited {rc} after {what}, expected 0; {c.stderr()[-300:]}")


def files_under(*dirs):
    for d in dirs:
        for root, _, names in os.walk(d):
            for n in names:
                yield os.path.join(root, n)


@scenario
def case_chat(env):
    r = env.relay()
    a, link = create(env, r.port)
    b = join(env, "bob", link, a)
    ta = say(a, "alpha-1 from alice", "alpha-2 from alice", "alpha-3 from alice")
    tb = say(b, "bravo-1 from bob", "bravo-2 from bob")
    wait_messages(b, "alice", ["alpha-1 from alice", "alpha-2 from alice",
                               "alpha-3 from alice"], "Alice's messages at Bob")
    wait_messages(a, "bob", ["bravo-1 from bob", "bravo-2 from bob"], "Bob's at Alice")
    wait_accepted(a, ta, "Alice's messages")
    wait_accepted(b, tb, "Bob's messages")
    check(not a.of("message", name="alice"), "Alice was shown her own message as received")
    # the link on stdin's first line (no argument, no --link-file), then messages
    c = env.cli("carol", "join", stdin_text=link + "\ncarol via stdin\n")
    c.wait_for("live", "Carol (link on stdin) to be in the room", T)
    wait_messages(a, "carol", ["carol via stdin"], "Carol's first line after the link")
    check(not c.of("rejected_input"), f"Carol's input was refused: {c.of('rejected_input')}")
    a.send("/members")
    a.wait_for("member", "the /members lines", T, count=3)
    names = sorted((e["name"], e["self"]) for e in a.of("member"))
    check(names == [("alice", True), ("bob", False), ("carol", False)],
          f"/members said {names}")
    fps = {e["name"]: e["fingerprint"] for e in a.of("member")}
    check(fps["bob"] == b.of("room")[0]["fingerprint"], "Bob's fingerprint differs at Alice")
    quit_ok(a, "end of input")
    quit_ok(b, "end of input")
    quit_ok(c, "end of input")
    # the room is stored, encrypted: no text, name or link in any file
    code = link.split("#sc2.")[1]
    for p in files_under(a.data, b.data, a.config, b.config, env.data):
        with open(p, "rb") as f:
            blob = f.read()
        for secret in (b"alpha-1", b"bravo-1", code.encode(), b"#sc2."):
            check(secret not in blob, f"{p} holds {secret!r} in clear")
        if p.startswith((a.data, b.data, a.config, b.config)):
            mode = os.stat(p).st_mode & 0o777
            check(mode == 0o600, f"{p} has mode {mode:o}, expected 600")
    rc, out, err = run(SALTCHAT, b.home, "bob", "rooms", "--batch")
    check(rc == EXIT_OK, f"rooms exited {rc}: {err}")
    check('"status":"active"' in out and '"members":3' in out, f"rooms said {out!r}")


@scenario
def case_cut(env):
    r = env.relay()
    proxy = env.proxy(r.port)
    a, link = create(env, r.port)
    b = join(env, "bob", relink(link, proxy.port), a)
    say(a, "before the cut")
    b.wait_for("message", "a message before the cut", T, text="before the cut")
    proxy.refuse = True
    check(proxy.cut() >= 1, "the proxy carried no connection of Bob's")
    b.wait_for("disconnected", "Bob to notice the cut", T)
    tokens = say(a, "gap message 1", "gap message 2")
    wait_accepted(a, tokens, "the messages sent during Bob's outage")
    time.sleep(3.0)  # the network stays down ~3 s: Bob's retries are refused meanwhile
    check(proxy.refused >= 1 or len(b.of("connecting")) >= 2,
          "Bob did not try to reconnect while the network was down")
    proxy.refuse = False
    wait_messages(b, "alice", ["gap message 1", "gap message 2"], "the gap messages at Bob")
    check(len(b.of("connected")) >= 2, "Bob did not reconnect by himself")
    say(b, "bob is back")
    a.wait_for("message", "Bob's message after his reconnect", T, text="bob is back")
    quit_ok(b, "the cut")
    quit_ok(a, "the cut")


@scenario
def case_relay_kill(env):
    r = env.relay()
    proxy = env.proxy(r.port)
    a, link = create(env, proxy.port)
    b = join(env, "bob", link, a)
    say(a, "before the kill")
    b.wait_for("message", "a message before the kill", T, text="before the kill")
    r.kill()
    a.wait_for("disconnected", "Alice to notice the relay died", T)
    b.wait_for("disconnected", "Bob to notice the relay died", T)
    tokens = say(a, "outage message 1", "outage message 2")
    check(not a.of("accepted", token=tokens[0]), "accepted while the relay was dead")
    r2 = env.relay()  # same --data-dir, a new port: the proxy follows
    proxy.upstream_port = r2.port
    wait_accepted(a, tokens, "the messages sent while the relay was down")
    wait_messages(b, "alice", ["outage message 1", "outage message 2"],
                  "the outage messages at Bob")
    quit_ok(a, "the relay restart")
    quit_ok(b, "the relay restart")


@scenario
def case_restart(env):
    r = env.relay()
    proxy = env.proxy(r.port)
    a, link = create(env, r.port)
    b = join(env, "bob", relink(link, proxy.port), a)
    say(a, "seen before the crash")
    b.wait_for("message", "a message before Bob's crash", T, text="seen before the crash")
    room = b.of("room")[0]["room"]
    # Bob types while his network is down: queued (stored), never accepted, then he dies
    proxy.refuse = True
    check(proxy.cut() >= 1, "the proxy carried no connection of Bob's")
    b.wait_for("disconnected", "Bob to notice the cut", T)
    tok = say(b, "typed by bob while offline")[0]
    check(not b.of("accepted", token=tok), "accepted although the network was down")
    b.kill()
    tokens = say(a, "while bob was away 1", "while bob was away 2", "while bob was away 3")
    wait_accepted(a, tokens, "the messages sent while Bob's client was dead")
    proxy.refuse = False
    b2 = env.cli("bob", "open", room[:6])
    b2.wait_for("live", "Bob's reopened room to catch up", T)
    wait_messages(b2, "alice", ["while bob was away 1", "while bob was away 2",
                                "while bob was away 3"], "the messages Bob missed")
    check(b2.texts("message") == ["while bob was away 1", "while bob was away 2",
                                  "while bob was away 3"],
          f"after open Bob was shown {b2.texts('message')}")
    check("seen before the crash" in b2.texts("history"),
          f"the stored history shown on open was {b2.texts('history')}")
    check(not b2.of("joined"), "open joined again instead of resuming")
    wait_messages(a, "bob", ["typed by bob while offline"],
                  "Bob's message typed before his crash, sent by the reopened client")
    tok2 = b2.wait_for("accepted", "Bob's stored message to be accepted", T)["token"]
    check(tok2 == tok, f"accepted token {tok2}, the message was queued as {tok}")
    n0 = len(b2.of("history"))
    b2.send("/history 2")
    last = b2.wait_for("history", "/history 2", T, count=n0 + 2)
    check(last["text"] == "typed by bob while offline" and last["self"],
          f"the history does not end with Bob's own message sent after the restart: {last}")
    quit_ok(b2, "reopening")
    quit_ok(a, "Bob's reopening")


def drained(c):
    """c after kill(): waits until its stdout is read to the end."""
    deadline = time.monotonic() + T
    with c.cond:
        while not c.eof and time.monotonic() < deadline:
            c.cond.wait(0.2)
    check(c.eof, f"{c.name}: stdout still open after the kill")
    return c


def by_seq(events):
    return [(e["seq"], e["text"]) for e in events]


@scenario
def case_kill_burst(env):
    n = 800
    r = env.relay()
    a, link = create(env, r.port)
    b = join(env, "bob", link, a)
    room = b.of("room")[0]["room"]
    texts = [f"burst {i:04d}" for i in range(n)]
    for t in texts:
        a.send(t)
    runs = [b]
    # a kill while the burst arrives live, then one during the catch-up of the reopened room
    b.wait_for("message", "Bob to be amid the burst", T, count=150, name="alice")
    b.kill()
    got1 = len(drained(b).of("message", name="alice"))
    check(got1 < n, f"Bob had all {n} messages before the kill: the burst was too quick")
    b2 = env.cli("bob", "open", room)
    runs.append(b2)
    want = min(100, n - got1 - 1)  # fewer if the first kill came late (a loaded machine)
    if want > 0:
        b2.wait_for("message", "Bob's reopened room amid the catch-up", T, count=want,
                    name="alice")
    else:
        b2.wait_for("live", "Bob's reopened room to catch up", T)
    b2.kill()
    got2 = len(drained(b2).of("message", name="alice"))
    print(f"kill_burst: run 1 showed {got1}, run 2 {got2} of {n}")
    b3 = env.cli("bob", "open", room)
    runs.append(b3)
    a.wait_for("accepted", "Alice's burst to be accepted", T, count=n)
    b3.wait_for("live", "Bob's third run to catch up", T)
    # every message once, in order: the message events of the three runs, plus at most one
    # per kill that is only among the next run's history lines (killed between recording
    # it and writing its line)
    shown = []
    for i, c in enumerate(runs):
        if i > 0:
            last = shown[-1][0] if shown else 0
            hist = [h for h in by_seq(c.of("history")) if h[0] > last]
            check(len(hist) <= 1, f"run {i + 1} of Bob shows {hist} as history only")
            shown += hist
        shown += by_seq(c.of("message", name="alice"))
    seqs = [q for q, _ in shown]
    bad = [i for i in range(1, len(seqs)) if seqs[i] <= seqs[i - 1]]
    check(not bad, f"Bob's messages are not once each in order: seq {seqs[bad[0]]} after "
                   f"{seqs[bad[0] - 1]} ({len(bad)} such)" if bad else "")
    check([t for _, t in shown] == texts,
          f"Bob was shown {len(shown)} messages, expected the {n} of the burst in order; "
          f"first differences: {[x for x in zip([t for _, t in shown], texts) if x[0] != x[1]][:3]}")
    # the history holds each once, in order
    n_open = len(b3.of("history"))
    b3.send(f"/history {n + 50}")
    b3.send("/members")
    b3.wait_for("member", "/members after /history", T)
    full = [e["text"] for e in b3.of("history")[n_open:]]
    check(full[-n:] == texts and texts[0] not in full[:-n],
          f"Bob's stored history is not the burst once each in order ({len(full)} lines, "
          f"{len(set(full))} distinct)")
    quit_ok(b3, "the burst")
    quit_ok(a, "the burst")


@scenario
def case_history_bound(env):
    r = env.relay()
    # a bound out of range, or not a number: a usage error that says the range
    for bad in ("999", "10000001", "lots", ""):
        rc, _, err = run(SALTCHAT, env.home("x"), "x", "new", f"ws://127.0.0.1:{r.port}",
                         "--batch", "--name", "x", "--history", bad)
        check(rc == EXIT_USAGE and "from 1000 to 10000000" in err,
              f"--history {bad!r}: exit {rc}, {err!r}")
    rc, _, err = run(SALTCHAT, env.home("x"), "x", "new", f"ws://127.0.0.1:{r.port}", "--batch",
                     "--name", "x", env={**os.environ, "SALTCHAT_HISTORY": "12"})
    check(rc == EXIT_USAGE and "$SALTCHAT_HISTORY" in err, f"$SALTCHAT_HISTORY=12: {rc} {err!r}")
    a, link = create(env, r.port)
    b = join(env, "bob", link, a, None, "--history", "1000")
    room = b.of("room")[0]["room"]
    texts = [f"bounded {i:04d}" for i in range(1300)]
    for lo in range(0, len(texts), 500):
        wait_accepted(a, say(a, *texts[lo:lo + 500])[-1:], f"messages {lo}..")
    b.wait_for("message", "the last message at Bob", T, text=texts[-1])
    b.send("/history 5")
    b.wait_for("history", "/history 5", T, count=5)
    check([e["text"] for e in b.of("history")] == texts[-5:],
          f"/history 5 said {[e['text'] for e in b.of('history')]}")
    quit_ok(b, "the bounded history")
    segs = [f for f in os.listdir(os.path.join(b.data, "rooms")) if ".history" in f]
    check(2 <= len(segs) <= 10, f"history segments on disk: {segs}")
    b2 = env.cli("bob", "open", room, "--history", "1000")
    b2.wait_for("live", "Bob's reopened room", T)
    check([e["text"] for e in b2.of("history")] == texts[-10:],
          f"open showed {[e['text'] for e in b2.of('history')]}")
    b2.send("/history 100000")
    b2.wait_for("history", "the whole stored history", T, count=10 + 1000)
    b2.send("/members")
    b2.wait_for("member", "/members after /history", T)
    full = [e["text"] for e in b2.of("history")[10:]]
    check(1000 <= len(full) <= 1125, f"the stored history holds {len(full)} messages")
    check(full == texts[-len(full):], "the stored history is not the newest messages in order")
    quit_ok(b2, "the bounded history")
    quit_ok(a, "the bounded history")


@scenario
def case_undelivered(env):
    r = env.relay()
    proxy = env.proxy(r.port)
    a, link = create(env, r.port)
    b = join(env, "bob", relink(link, proxy.port), a, None, "--wait", "2")
    proxy.refuse = True
    check(proxy.cut() >= 1, "the proxy carried no connection of Bob's")
    b.wait_for("disconnected", "Bob to notice the cut", T)
    say(b, "stuck in the outbox")
    b.close_input()
    rc = b.exit_code(T)
    check(rc == 7, f"Bob quit with an unaccepted message: exit {rc}, expected 7")
    check("stored" in b.of("error")[-1]["reason"], f"error: {b.of('error')[-1]}")
    proxy.refuse = False
    b2 = env.cli("bob", "open", b.of("room")[0]["room"])
    wait_messages(a, "bob", ["stuck in the outbox"], "the message Bob quit with")
    b2.wait_for("accepted", "Bob's stored message to be accepted", T)
    quit_ok(b2, "sending the stored message")
    quit_ok(a, "the undelivered case")


@scenario
def case_remove(env):
    r = env.relay()
    a, link = create(env, r.port)
    b = join(env, "bob", link, a)
    say(b, "hello, I am bob")
    a.wait_for("message", "Bob's message", T, text="hello, I am bob")
    a.send("/remove nobody")
    a.wait_for("rejected_input", "a /remove of nobody to be refused", T)
    a.send("/remove bob")
    a.wait_for("member_removed", "Bob's removal", T, name="bob")
    new_link = a.wait_for("link_rotated", "the rotated link", T)["link"]
    check(new_link != link and "#sc2." in new_link, f"rotated link {new_link!r}")
    b.wait_for("removed", "Bob to be told he was removed", T, by="alice")
    rc = b.exit_code(T)
    check(rc == EXIT_REMOVED, f"removed Bob exited {rc}, expected {EXIT_REMOVED}")
    rc, out, err = run(SALTCHAT, b.home, "bob", "rooms", "--batch")
    check('"status":"removed"' in out, f"rooms after the removal said {out!r} {err!r}")
    # Bob tries again with the link he kept: refused, clearly
    old = env.cli("bob", "join", "--link-file", os.path.join(b.home, "link"))
    old.wait_for("join_failed", "the old link to be refused", T)
    rc = old.exit_code(T)
    check(rc == EXIT_JOIN_REFUSED, f"join with the old link exited {rc}")
    check("revoked" in old.stderr(), f"no clear error: {old.stderr()!r}")
    a.send("/link")
    check(a.wait_for("link", "/link", T, count=2)["link"] == new_link,
          "/link does not give the rotated link")
    c = join(env, "carol", new_link, a)
    say(a, "welcome carol")
    wait_messages(c, "alice", ["welcome carol"], "Alice's message at Carol")
    c.send("/members")
    c.wait_for("member", "Carol's /members", T, count=2)
    check(sorted(e["name"] for e in c.of("member")) == ["alice", "carol"],
          f"Carol's members {[e['name'] for e in c.of('member')]}")
    quit_ok(c, "joining with the rotated link")
    quit_ok(a, "the removal")


@scenario
def case_remove_same_name(env):
    r = env.relay()
    a, link = create(env, r.port)
    b1 = join(env, "bob", link, a, "bob1")
    b2 = join(env, "bob", link, a, "bob2")
    a.wait_for("key_changed", "the ALERT that the name bob came back with another key", T)
    a.send("/remove bob")
    why = a.wait_for("rejected_input", "an ambiguous /remove to be refused", T)["reason"]
    check("2 members match" in why and "fingerprint" in why, f"refusal said {why!r}")
    target = b2.of("room")[0]["identity"]
    a.send("/remove bob " + b2.of("room")[0]["fingerprint"][:11])  # "12345 67890"
    gone = a.wait_for("member_removed", "the second bob's removal", T)
    check(gone["identity"] == target, f"removed {gone['identity']}, expected {target}")
    b2.wait_for("removed", "the second bob to be told", T)
    check(b2.exit_code(T) == EXIT_REMOVED, "the removed bob did not exit 9")
    say(a, "only one bob now")
    b1.wait_for("message", "the first bob still in the room", T, text="only one bob now")
    quit_ok(b1, "the same-name removal")
    quit_ok(a, "the same-name removal")


@scenario
def case_lookalike(env):
    r = env.relay()
    a, link = create(env, r.port)
    fake = join(env, "\u0430lice", link, a, "fakealice")
    bidi = join(env, "bob\u202eevil", link, a, "bidi")
    c = join(env, "carol", link, a)
    ident = lambda cl: cl.of("room")[0]["identity"]
    deadline = time.monotonic() + T
    while not any("looks like" in e.get("reason", "") for e in a.of("notice")):
        check(time.monotonic() < deadline, "Alice was not warned of the lookalike name")
        time.sleep(0.1)
    c.send("/members")
    c.wait_for("member", "Carol's /members (4 lines)", T, count=4)
    ms = {e["identity"]: e for e in c.of("member")}
    real, fk, bd, me = ms[ident(a)], ms[ident(fake)], ms[ident(bidi)], ms[ident(c)]
    check(real.get("lookalike") is True and fk.get("lookalike") is True,
          f"the two alices are not flagged: {real} {fk}")
    check(real["fingerprint"] != fk["fingerprint"], "the two alices share a fingerprint")
    check(not me.get("lookalike") and not bd.get("lookalike"), f"false lookalike: {me} {bd}")
    check("\u202e" not in bd["name_shown"] and "\\u{202E}" in bd["name_shown"],
          f"the bidi override is not escaped: {bd['name_shown']!r}")
    say(fake, "hi from the other alice")
    m = c.wait_for("message", "the lookalike's message", T, text="hi from the other alice")
    check(m.get("lookalike") is True, f"the lookalike's message is not flagged: {m}")
    c.send("/remove alice")
    why = c.wait_for("rejected_input", "/remove alice to be refused", T)["reason"]
    check("looks like" in why and "fingerprint" in why, f"refusal said {why!r}")
    c.send("/remove alice " + a.of("room")[0]["fingerprint"].replace(" ", "")[:8])
    c.wait_for("member_removed", "the real alice removed by fingerprint", T, identity=ident(a))
    for cl in (fake, bidi, c):
        quit_ok(cl, "the lookalike case")


@scenario
def case_needs_link(env):
    r = env.relay(None, "--retain-entries", "4")
    a, link = create(env, r.port)
    b = join(env, "bob", link, a)
    c = join(env, "carol", link, a)
    quit_ok(b, "Bob going away")
    a.send("/remove carol")
    a.wait_for("link_rotated", "the link to rotate after Carol's removal", T)
    wait_accepted(a, say(a, *[f"while bob is away {i}" for i in range(8)]), "8 messages")
    room = b.of("room")[0]["room"]
    back = env.cli("bob", "open", room)
    back.wait_for("join_failed", "Bob's rejoin with the old link to be refused", T)
    rc = back.exit_code(T)
    check(rc == EXIT_JOIN_REFUSED, f"the refused rejoin exited {rc}, expected 11")
    rc, out, err = run(SALTCHAT, b.home, "bob", "rooms", "--batch")
    check('"status":"needs_link"' in out, f"rooms after the refused rejoin said {out!r} {err!r}")
    rc, _, err = run(SALTCHAT, b.home, "bob", "open", room, "--batch", stdin_text="")
    check(rc == EXIT_STORE and "link changed" in err, f"open of a needs_link room: {rc} {err!r}")
    quit_ok(a, "the needs_link case")


@scenario
def case_leave(env):
    r = env.relay()
    a, link = create(env, r.port)
    b = join(env, "bob", link, a)
    b.send("/leave")
    b.wait_for("left", "Bob's leave to be in the log", T)
    rc = b.exit_code(T)
    check(rc == EXIT_OK, f"Bob exited {rc} after /leave")
    a.wait_for("member_removed", "Alice to see Bob leave", T, name="bob", where={"self": True})
    a.wait_for("link_rotated", "the link to rotate after Bob left", T)
    rc, out, _ = run(SALTCHAT, b.home, "bob", "rooms", "--batch")
    check('"status":"left"' in out, f"rooms after /leave said {out!r}")
    room = b.of("room")[0]["room"]
    rc, _, err = run(SALTCHAT, b.home, "bob", "open", room, "--batch", stdin_text="")
    check(rc == EXIT_STORE and "you left it" in err, f"open of a left room: {rc} {err!r}")
    a.send("/members")
    a.wait_for("member", "Alice's /members", T)
    check([e["name"] for e in a.of("member")] == ["alice"], "Bob is still listed")
    quit_ok(a, "Bob's leave")


@scenario
def case_no_secret_in_ps(env):
    r = env.relay()
    a, link = create(env, r.port)
    b = join(env, "bob", link, a)
    code = link.split("#sc2.")[1]
    with open(f"/proc/{b.proc.pid}/cmdline", "rb") as f:
        cmdline = f.read()
    with open(f"/proc/{b.proc.pid}/environ", "rb") as f:
        environ = f.read()
    ps = subprocess.run(["ps", "-eo", "pid,args", "ww"], capture_output=True).stdout
    check(b"--link-file" in cmdline, f"not the process expected: {cmdline!r}")
    for part in (code, code[:22], code[22:]):
        check(part.encode() not in cmdline, "the link is in Bob's command line")
        check(part.encode() not in environ, "the link is in Bob's environment")
        check(part.encode() not in ps, "the link shows in ps")
    b.proc.terminate()
    rc = b.exit_code(T)
    check(rc == 130, f"SIGTERM: exit {rc}, expected 130")
    quit_ok(a, "the ps check")


@scenario
def case_lost(env):
    r = env.relay()
    proxy = env.proxy(r.port)
    a, link = create(env, proxy.port)
    b = join(env, "bob", link, a)
    tokens = say(a, "kept on both sides")
    wait_accepted(a, tokens, "a message before the loss")
    b.wait_for("message", "a message before the loss", T, text="kept on both sides")
    r.kill()
    empty = env.relay(os.path.join(env.tmp, "empty-data"))
    proxy.upstream_port = empty.port
    for c in (a, b):
        c.wait_for("room_lost", "the relay to say it does not have the room", T)
        rc = c.exit_code(T)
        check(rc == EXIT_ROOM_LOST, f"{c.name} exited {rc} on room_lost, expected 10")
        connects = len(c.of("connecting"))
        check(len(c.of("room_lost")) == 1, f"{c.name}: room_lost {len(c.of('room_lost'))} times")
        check(c.of("error")[-1]["code"] == EXIT_ROOM_LOST, f"{c.name}: no error event")
        check(connects >= 2, f"{c.name} never reconnected to see the empty relay")
    room = b.of("room")[0]["room"]
    rc, out, err = run(SALTCHAT, b.home, "bob", "rooms", "--batch")
    check('"status":"active"' in out and room in out, f"rooms after the loss: {out!r}")
    empty.kill()
    r2 = env.relay()  # the store that has the room, behind the same address
    proxy.upstream_port = r2.port
    b2 = env.cli("bob", "open", room)
    b2.wait_for("live", "Bob's room to resume on the relay that has it", T)
    say(a2 := env.cli("alice", "open", a.of("room")[0]["room"]), "after the loss")
    a2.wait_for("live", "Alice's room to resume", T)
    wait_messages(b2, "alice", ["after the loss"], "a message after resuming")
    quit_ok(b2, "resuming")
    quit_ok(a2, "resuming")


class Tty:
    """saltchat on a pseudo-terminal (interactive mode); .out is everything it printed."""

    def __init__(self, env, name, *args):
        home = env.home(name)
        argv = [SALTCHAT, *args, "--name", name, "--config", os.path.join(home, "cfg"),
                "--data", os.path.join(home, "data")]
        e = dict(os.environ, TERM="dumb", LC_ALL="C.UTF-8")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(SALTCHAT, argv, e)
        self.out = b""
        env.ttys.append(self)

    def expect(self, pattern, what, timeout=T, start=0):
        """Waits until pattern (bytes regex) appears in the output after start; returns
        the match."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.out, start)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"timed out after {timeout:g} s waiting for {what} on the "
                                  f"terminal; it shows: {self.out[-1500:]!r}")
            r, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise TestFailure(f"the terminal closed while waiting for {what}; it "
                                      f"showed: {self.out[-1500:]!r}")
                self.out += chunk

    def type(self, text):
        os.write(self.fd, text.encode())

    def exit_code(self, timeout=T):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.2)
                if r:
                    self.out += os.read(self.fd, 65536)
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = 0
                return os.waitstatus_to_exitcode(status)
        raise TestFailure(f"timed out after {timeout:g} s waiting for the terminal client "
                          f"to exit; it shows {self.out[-800:]!r}")

    def kill(self):
        if self.pid:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = 0
        try:
            os.close(self.fd)
        except OSError:
            pass


FP_RE = re.compile(r"^[0-9]{5}( [0-9]{5}){5}$")


@scenario
def case_verify(env):
    r = env.relay()
    a, link = create(env, r.port)
    b = join(env, "bob", link, a)
    a_fp, b_fp = a.of("room")[0]["fingerprint"], b.of("room")[0]["fingerprint"]
    b_id = b.of("room")[0]["identity"]
    check(FP_RE.match(a_fp) and FP_RE.match(b_fp) and a_fp != b_fp, f"fingerprints {a_fp} {b_fp}")
    a.send("/verify bob")
    va = a.wait_for("verify", "Alice's /verify bob", T)
    b.send("/verify alice")
    vb = b.wait_for("verify", "Bob's /verify alice", T)
    check(va["fingerprint"] == b_fp and vb["fingerprint"] == a_fp, f"{va} {vb}")
    sn = va["safety_number"]
    check(sn == vb["safety_number"], f"safety numbers differ: {sn!r} {vb['safety_number']!r}")
    check(re.match(r"^[0-9]{5}( [0-9]{5}){11}$", sn), f"safety number {sn!r}")
    check(sn.replace(" ", "") == "".join(sorted([a_fp.replace(" ", ""), b_fp.replace(" ", "")])),
          "the safety number is not both fingerprints in order")
    check(va["verified"] is False and "--yes" in va["reason"], f"{va}")
    # refusals: not a number, the wrong number, --yes without a number, no such member
    for line, want in (("/verify bob 12345 --yes", "not a fingerprint"),
                       ("/verify bob " + a_fp + " --yes", "does not match"),
                       ("/verify bob 1234x --yes", "not a fingerprint"),
                       ("/verify bob --yes", "needs the number"),
                       ("/verify nobody", "no member"),
                       ("/unverify bob", "not marked verified")):
        n0 = len(a.of("rejected_input"))
        a.send(line)
        a.wait_for("rejected_input", f"{line!r} refused", T, count=n0 + 1)
        why = a.of("rejected_input")[n0]["reason"]
        check(want in why, f"{line!r} refused with {why!r}, expected {want!r}")
    check(not a.of("verified"), "a refused /verify marked someone verified")
    # the fingerprint without spaces and no --yes: matches, nothing marked
    n0 = len(a.of("notice"))
    a.send("/verify bob " + b_fp.replace(" ", ""))
    a.wait_for("notice", "the match without --yes", T, count=n0 + 1)
    check("add --yes" in a.of("notice")[n0]["reason"], f"{a.of('notice')[n0]}")
    check(not a.of("verified"), "marked verified without --yes")
    a.send("/verify bob " + sn + " --yes")
    ok = a.wait_for("verified", "Bob marked verified", T)
    check(ok["identity"] == b_id and ok["reason"] == "safety number compared", f"{ok}")
    a.send("/members")
    a.wait_for("member", "/members", T, count=2)
    ver = {e["name"]: e["verified"] for e in a.of("member")}
    check(ver == {"alice": False, "bob": True}, f"/members verified flags {ver}")
    # the room code: the same at the same epoch
    a.send("/room-code")
    b.send("/room-code")
    ca, cb = a.wait_for("room_code", "Alice's room code", T), b.wait_for("room_code", "Bob's", T)
    check(re.match(r"^[0-9]{5}( [0-9]{5}){3}$", ca["room_code"]), f"room code {ca}")
    check(ca["epoch"] == cb["epoch"] and ca["room_code"] == cb["room_code"],
          f"room codes differ at the same epoch: {ca} {cb}")
    # stored encrypted: a .verified file without the name or key in clear; kept across open
    room = a.of("room")[0]["room"]
    vf = [f for f in files_under(a.data) if f.endswith(room + ".verified")]
    check(len(vf) == 1, f"no {room}.verified under {a.data}: {list(files_under(a.data))}")
    with open(vf[0], "rb") as fh:
        raw = fh.read()
    check(raw[:4] == b"SCVF" and b"bob" not in raw and bytes.fromhex(b_id) not in raw,
          "the verified file is not encrypted")
    check(os.stat(vf[0]).st_mode & 0o777 == 0o600, "the verified file is not 0600")
    quit_ok(a, "marking Bob verified")
    a2 = env.cli("alice", "open", room)
    a2.wait_for("live", "Alice back in the room", T)
    a2.send("/members")
    a2.wait_for("member", "/members after open", T, count=2)
    check({e["name"]: e["verified"] for e in a2.of("member")} == {"alice": False, "bob": True},
          f"the mark did not survive open: {a2.of('member')}")
    # another key under the name bob: key_changed and the distinct verify_broken
    b2 = join(env, "bob", link, a2, "bob2")
    broken = a2.wait_for("verify_broken", "the verified bob showing up with another key", T)
    check(broken["identity"] == b2.of("room")[0]["identity"]
          and broken["verified_identity"] == b_id
          and broken["verified_fingerprint"] == b_fp and broken["fingerprint"] != b_fp,
          f"verify_broken {broken}")
    a2.wait_for("key_changed", "key_changed too", T)
    check(len(a2.of("verify_broken")) == 1, f"verify_broken repeated: {a2.of('verify_broken')}")
    n0 = len(a2.of("member"))
    a2.send("/members")
    a2.wait_for("member", "/members with two bobs", T, count=n0 + 3)
    flags = sorted((e["identity"] == b_id, e["verified"])
                   for e in a2.of("member")[n0:] if e["name"] == "bob")
    check(flags == [(False, False), (True, True)], f"two bobs' verified flags {flags}")
    a2.send("/unverify bob")
    gone = a2.wait_for("unverified", "the mark removed", T)
    check(gone["identity"] == b_id, f"{gone}")
    n0 = len(a2.of("member"))
    a2.send("/members")
    a2.wait_for("member", "/members after /unverify", T, count=n0 + 3)
    check(not any(e["verified"] for e in a2.of("member")[n0:]), "still verified after /unverify")
    for cl in (b, b2, a2):
        quit_ok(cl, "the verify case")


@scenario
def case_tty(env):
    r = env.relay()
    a = Tty(env, "alice", "new", f"ws://127.0.0.1:{r.port}", "--no-qr")
    m = a.expect(rb"(http://127\.0\.0\.1:\d+/#sc2\.[A-Za-z0-9_-]{70})", "the invite link")
    link = m.group(1).decode()
    a.expect(rb"up to date", "the room to be live")
    b = join(env, "bob\u202eevil", link)  # a bidi override in a name
    # shown as an escape (sc2_name_display), so it can neither reorder nor hide text
    a.expect(rb"bob\\u\{202E\}evil \[[0-9]{5}(?: [0-9]{5}){5}\] joined", "Bob's escaped join line")
    mark = len(a.out)
    a.type("hello from the terminal\r")
    b.wait_for("message", "the terminal's message", T, text="hello from the terminal")
    a.expect(rb"you: hello from the terminal", "the own message line", start=mark)
    mark = len(a.out)
    say(b, "red \x1b[31mtext\x07 here")
    seen = a.expect(rb"red [^\r\n]*here", "Bob's message", start=mark).group(0)
    check(b"\x1b" not in seen and b"\x07" not in seen, f"raw control bytes shown: {seen!r}")
    check(b"\xef\xbf\xbd[31mtext\xef\xbf\xbd" in seen, f"not sanitized as expected: {seen!r}")
    mark = len(a.out)
    a.type("/members\r")
    a.expect(rb"alice \[[0-9]{5}(?: [0-9]{5}){5}\] \(you\)", "/members: alice", start=mark)
    a.expect(rb"bob\\u\{202E\}evil \[[0-9]{5}(?: [0-9]{5}){5}\]", "/members: bob", start=mark)
    a.type("/room-code\r")
    a.expect(rb"room code \(epoch \d+\): [0-9]{5}(?: [0-9]{5}){3}", "/room-code", start=mark)
    a.type("/verify alice\r")
    a.expect(rb"alice \[[0-9]{5}(?: [0-9]{5}){5}\] \(not verified\)\s+fingerprint: +[0-9]{5}(?: [0-9]{5}){5}",
             "/verify of oneself", start=mark)
    a.type("/bogus\r")
    a.expect(rb"not done: unknown command", "an unknown command refused", start=mark)
    # a join whose link is typed at the prompt: not echoed
    c = Tty(env, "carol", "join")
    c.expect(rb"Invite link \(not echoed\): ", "the link prompt")
    c.type(link + "\r")
    c.expect(rb"up to date", "Carol (link typed at the prompt) to be in the room")
    code = link.split("#sc2.")[1].encode()
    check(code not in c.out, "the link typed at the prompt was echoed")
    c.type("carol typed this\r")
    b.wait_for("message", "Carol's message from the terminal", T, text="carol typed this")
    # /verify of another member: the safety number in two rows, then marked verified with it
    mark = len(a.out)
    a.type("/verify carol\r")
    m = a.expect(rb"safety number: ((?:[0-9]{5} ){5}[0-9]{5})\s+((?:[0-9]{5} ){5}[0-9]{5})",
                 "/verify carol's safety number", start=mark)
    a.type(f"/verify carol {m.group(1).decode()} {m.group(2).decode()} --yes\r")
    a.expect(rb"carol \[[0-9 ]{35}\] is marked verified \(safety number compared\)",
             "carol marked verified", start=mark)
    c.type("\x04")  # Ctrl-D: quit
    rc = c.exit_code()
    check(rc == EXIT_OK, f"Carol's terminal client exited {rc} after Ctrl-D")
    a.type("/quit\r")
    rc = a.exit_code()
    check(rc == EXIT_OK, f"the terminal client exited {rc} after /quit")
    quit_ok(b, "the terminal test")


def v2_link(port, room_id=b"\x01" * 16, secret=b"\x02" * 32):
    """A well-formed v2 link (PROTOCOL.md 3.2) for the relay at port."""
    check_ = hashlib.blake2b(b"saltchat/v2 invite" + room_id + secret, digest_size=4).digest()
    code = base64.urlsafe_b64encode(room_id + secret + check_).decode().rstrip("=")
    return f"http://127.0.0.1:{port}/#sc2.{code}"


@scenario
def case_bad_input(env):
    h = env.home("mallory")
    good = v2_link(9)

    def join_fails(link, want_rc, want_text, what):
        f = env.link_file("mallory", link, "badlink")
        rc, out, err = run(SALTCHAT, h, "mallory", "join", "--link-file", f, "--batch",
                           "--name", "m")
        check(rc == want_rc, f"{what}: exit {rc}, expected {want_rc}; {err!r}")
        check(want_text in err, f"{what}: stderr {err!r} lacks {want_text!r}")
    join_fails("http://127.0.0.1:9/#sc1." + "A" * 43, EXIT_BAD_LINK, "older saltchat",
               "a v1 link")
    i = good.index("#sc2.") + 10
    typo = good[:i] + ("B" if good[i] != "B" else "C") + good[i + 1:]
    join_fails(typo, EXIT_BAD_LINK, "mistyped", "a mistyped link")
    join_fails(good[:-3], EXIT_BAD_LINK, "wrong length", "a cut-off link")
    join_fails("http://127.0.0.1:9/", EXIT_BAD_LINK, "no '#sc2.' part", "a link without code")
    rc, _, err = run(SALTCHAT, h, "mallory", "join", "--batch", "--name", "m", stdin_text="")
    check(rc == EXIT_BAD_LINK and "no invite link" in err, f"no link: {rc} {err!r}")
    rc, _, err = run(SALTCHAT, h, "mallory", "join", "--batch", "--name", "a\x1bb",
                     "--link-file", "/nonexistent")
    check(rc == EXIT_USAGE and "--name" in err, f"bad name: {rc} {err!r}")
    rc, _, err = run(SALTCHAT, h, "mallory", "join", "--batch", "--name", "m",
                     "--link-file", "/nonexistent/link")
    check(rc == EXIT_BAD_LINK and "/nonexistent/link" in err, f"missing link file: {rc} {err!r}")
    rc, _, err = run(SALTCHAT, h, "mallory", "open", "nosuchroom", "--batch")
    check(rc == EXIT_STORE and "no stored room" in err, f"open unknown: {rc} {err!r}")
    rc, _, err = run(SALTCHAT, h, "mallory", "new", "ftp://x", "--batch", "--name", "m")
    check(rc == EXIT_BAD_LINK and "bad relay URL" in err, f"new ftp://: {rc} {err!r}")

    # a real stored room, then damaged in every way
    r = env.relay()
    a, link = create(env, r.port)
    b = join(env, "bob", link, a)
    room = b.of("room")[0]["room"]
    quit_ok(b, "joining")
    state = os.path.join(b.data, "rooms", room + ".state")
    with open(state, "rb") as f:
        blob = f.read()

    def open_fails(content, mode, want_text, what, want_rc=EXIT_STORE):
        with open(state, "wb") as f:
            f.write(content)
        os.chmod(state, mode)
        rc, out, err = run(SALTCHAT, b.home, "bob", "open", room, "--batch", stdin_text="")
        check(rc == want_rc, f"{what}: open exited {rc}, expected {want_rc}; {err!r}")
        check(want_text in err, f"{what}: stderr {err!r} lacks {want_text!r}")
        check("Traceback" not in err and "Segmentation" not in err, f"{what}: crashed")
    open_fails(blob[:-1] + bytes([blob[-1] ^ 1]), 0o600, "does not decrypt", "a flipped byte")
    open_fails(blob[:80], 0o600, "does not decrypt", "a truncated file")
    open_fails(b"", 0o600, "not a saltchat room state", "an empty file")
    open_fails(b"garbage" * 10, 0o600, "not a saltchat room state", "garbage")
    open_fails(blob, 0o644, "too open", "a state file readable by others")
    rc, out, err = run(SALTCHAT, b.home, "bob", "rooms", "--batch")
    check(rc == EXIT_STORE and '"room_error"' in out, f"rooms with a bad file: {rc} {out!r}")
    open_fails(blob, 0o600, "", "the original file", want_rc=EXIT_OK)
    key = os.path.join(b.config, "storage-key")
    with open(key, "w") as f:
        f.write("saltchat storage key v1\nnothex\n")
    rc, _, err = run(SALTCHAT, b.home, "bob", "open", room, "--batch", stdin_text="")
    check(rc == EXIT_IDENTITY and "storage key" in err, f"bad storage key: {rc} {err!r}")
    quit_ok(a, "the bad input checks")


CASES = sc_cases.cases_of(globals())


def main():
    def add_args(ap):
        ap.add_argument("--saltchat", required=True, help="path to saltchat")

    def setup(a):
        global SALTCHAT, RELAY
        SALTCHAT, RELAY = os.path.abspath(a.saltchat), a.relay

    return sc_cases.main(__doc__, CASES, add_args, setup)


if __name__ == "__main__":
    sys.exit(main())
