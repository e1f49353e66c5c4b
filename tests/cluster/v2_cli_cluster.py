#!/usr/bin/env python3
"""The real CLI (`saltchat`, batch mode) on two relays sharing a room through JetStream
(docs/CLUSTER.md "Protocol v2 in a cluster"): a real nats-server -js, two real relays with
--cluster, alice on relay 1 (--relay relay 2 as her alternative), bob on relay 2 (relay 1
his alternative). They chat across the relays; relay 1 is SIGKILLed; alice fails over to
relay 2 by herself and goes on: every message once, in order, every one ACCEPTED.

    v2_cli_cluster.py --saltchat BIN --relay BIN [--nats-server BIN]
"""
import argparse
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from sctest import relay as sc_relay  # noqa: E402
from sctest.cli import Cli  # noqa: E402
from sctest.errors import TestFailure, check  # noqa: E402
from sctest.nats import Nats  # noqa: E402

T = 60.0


def say(c, *texts):
    n0 = len(c.of("queued"))
    for t in texts:
        c.send(t)
    c.wait_for("queued", f"{len(texts)} messages queued", T, count=n0 + len(texts))
    return [e["token"] for e in c.of("queued")[n0:n0 + len(texts)]]


def got_once_in_order(c, sender, texts, what):
    for t in texts:
        c.wait_for("message", f"{what}: {t!r}", T, text=t)
    got = [e["text"] for e in c.of("message") if e.get("name") == sender]
    for t in texts:
        check(got.count(t) == 1, f"{c.name} got {t!r} {got.count(t)} times: {got}")
    check(got[-len(texts):] == list(texts), f"{c.name}: {got} does not end with {texts}")


def run_case(saltchat, relay_bin, nats_bin):
    tmp = tempfile.mkdtemp(prefix="v2cli-cluster-")
    nats = Nats(nats_bin, jetstream_dir=os.path.join(tmp, "js")).start()
    relays, clis = [], []
    try:
        for i in (1, 2):
            relays.append(sc_relay.Relay(relay_bin, "--cluster", nats.url,
                                         data_dir=os.path.join(tmp, f"data{i}")).start())
        p1, p2 = relays[0].port, relays[1].port
        a = Cli(saltchat, os.path.join(tmp, "alice"), "alice", "new", f"ws://127.0.0.1:{p1}",
                "--relay", f"ws://127.0.0.1:{p2}")
        clis.append(a)
        link = a.wait_for("link", "the new room's link", T)["link"]
        a.wait_for("live", "alice's room to be live", T)
        os.makedirs(os.path.join(tmp, "bob"), mode=0o700)
        lf = os.path.join(tmp, "bob", "link")
        fd = os.open(lf, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (re.sub(r"^(http://127\.0\.0\.1:)\d+", rf"\g<1>{p2}", link) + "\n")
                 .encode())
        os.close(fd)
        b = Cli(saltchat, os.path.join(tmp, "bob"), "bob", "join", "--link-file", lf,
                "--relay", f"ws://127.0.0.1:{p1}")
        clis.append(b)
        b.wait_for("live", "bob (on relay 2) to be in the room", T)
        a.wait_for("member_joined", "alice to see bob join through relay 2", T)
        ta = say(a, "a1 via relay 1", "a2 via relay 1", "a3 via relay 1")
        tb = say(b, "b1 via relay 2", "b2 via relay 2")
        got_once_in_order(b, "alice", ["a1 via relay 1", "a2 via relay 1", "a3 via relay 1"],
                          "alice's messages at bob")
        got_once_in_order(a, "bob", ["b1 via relay 2", "b2 via relay 2"], "bob's at alice")
        for t in ta:
            a.wait_for("accepted", f"alice's token {t} accepted", T, token=t)
        for t in tb:
            b.wait_for("accepted", f"bob's token {t} accepted", T, token=t)
        n_conn = len(a.of("connected"))
        relays[0].proc.kill()
        relays[0].proc.wait()
        a.wait_for("disconnected", "alice to notice relay 1 died", T)
        tk = say(a, "k1 after the kill", "k2 after the kill", "k3 after the kill")
        for t in tk:
            a.wait_for("accepted", f"alice's token {t} accepted after the failover", T, token=t)
        check(len(a.of("connected")) > n_conn, "alice did not reconnect")
        got_once_in_order(b, "alice", ["a1 via relay 1", "a2 via relay 1", "a3 via relay 1",
                                       "k1 after the kill", "k2 after the kill",
                                       "k3 after the kill"], "alice's messages after failover")
        say(b, "b3 after the kill")
        got_once_in_order(a, "bob", ["b1 via relay 2", "b2 via relay 2", "b3 after the kill"],
                          "bob's after the failover")
        for c in (a, b):
            check(not c.of("alert"), f"{c.name} had alerts: {c.of('alert')}")
            c.close_input()
            rc = c.exit_code(T)
            check(rc == 0, f"{c.name} exited {rc}: {c.stderr()[-300:]}")
        rc, _ = relays[1].stop()
        check(rc == 0, f"relay 2 exited {rc} on SIGTERM")
    except BaseException:
        for c in clis:
            sys.stderr.write(f"--- {c.name} ---\n" + "\n".join(c.lines[-30:]) + "\n"
                             + c.stderr()[-1500:] + "\n")
        for i, r in enumerate(relays):
            sys.stderr.write(f"--- relay {i + 1} ---\n{r.stderr()[-2000:]}\n")
        raise
    finally:
        for c in clis:
            c.kill()
        for r in relays:
            r.cleanup()
        nats.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--saltchat", required=True)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--nats-server", default=shutil.which("nats-server") or "/usr/sbin/nats-server")
    a = ap.parse_args()
    try:
        run_case(a.saltchat, a.relay, a.nats_server)
    except TestFailure as e:
        print(f"FAIL cli_failover: {e}", file=sys.stderr)
        return 1
    print("ok cli_failover")
    return 0


if __name__ == "__main__":
    sys.exit(main())
