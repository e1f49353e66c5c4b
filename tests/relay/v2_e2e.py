#!/usr/bin/env python3
"""Protocol v2 end to end: real sc2_room clients (v2_e2e, C, libwebsockets) against the
real saltchat-relay with its own temporary --data-dir on a free loopback port.

The C program makes the assertions and asks this wrapper, by "CMD <what>" lines on its
stdout, to act on the outside world, answering "OK" on its stdin:
  cut      cut every connection through the TCP proxy (RST both ways)
  hold_down / hold_up  the proxy's current connections drop what the relay sends /
           what the client sends from now on (lost in the network) until the cut
  kill     SIGKILL the relay
  restart  start the relay again on the same --data-dir (a free port; the proxy follows)
  restart_empty  the same on a new, EMPTY --data-dir (a relay that lost its store)
  snapshot  SIGKILL the relay, copy its --data-dir aside, restart it on the original
  restore_snapshot  SIGKILL the relay, restart it on a copy of that snapshot (a relay
           restored from an older backup)

The h_* cases use the hostile relay path inside v2_e2e (hostile_deliver): the real relay's
messages, split into envelopes, dropped / doubled / swapped / altered / replaced before
sc2_room reads them.

Cases: create_join, cut, cut_sender, kill, race, remove, lost_store. `v2_e2e.py --relay PATH --client PATH CASE`.
"""
import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from sctest import relay as sc_relay  # noqa: E402
from sctest.driven import run_driven  # noqa: E402
from sctest.errors import TestFailure  # noqa: E402
from sctest.tcpproxy import TcpProxy  # noqa: E402

CASES = ["create_join", "cut", "cut_sender", "kill", "race", "remove", "rotations",
         "lost_store",
         "h_drop", "h_dup", "h_swap", "h_withhold", "h_fork", "h_forge", "h_stale_gi",
         "h_stale_gi_rejoin",
         "bad_commit", "retention", "restart", "seq_ahead", "remove_replay"]
# extra relay arguments per case
RELAY_ARGS = {"retention": ["--retain-entries", "10"],
              "h_stale_gi_rejoin": ["--retain-entries", "10"]}
BOUND_S = 150


def run_case(relay_bin, client_bin, case):
    tmp = tempfile.mkdtemp(prefix="v2e2e-")
    data = os.path.join(tmp, "data")
    extra = RELAY_ARGS.get(case, [])
    relay = sc_relay.Relay(relay_bin, *extra, data_dir=data).start()
    relays = [relay]
    proxy = TcpProxy(relay.port)
    def on_cmd(cmd):
        nonlocal data
        if cmd == "cut":
            n = proxy.cut()
            if n == 0:
                raise TestFailure("cut: the proxy carried no connection")
        elif cmd in ("hold_down", "hold_up"):
            if proxy.hold(cmd[5:]) == 0:
                raise TestFailure(f"{cmd}: the proxy carried no connection")
        elif cmd == "kill":
            relays[-1].proc.kill()
            relays[-1].proc.wait()
        elif cmd in ("restart", "restart_empty", "snapshot", "restore_snapshot"):
            if cmd in ("snapshot", "restore_snapshot"):
                relays[-1].proc.kill()
                relays[-1].proc.wait()
            if cmd == "restart_empty":
                data = os.path.join(tmp, f"empty{len(relays)}")
            elif cmd == "snapshot":
                shutil.copytree(data, os.path.join(tmp, "snap"))
            elif cmd == "restore_snapshot":
                data = os.path.join(tmp, f"restored{len(relays)}")
                shutil.copytree(os.path.join(tmp, "snap"), data)
            nr = sc_relay.Relay(relay_bin, *extra, data_dir=data)
            nr.start()
            relays.append(nr)
            proxy.upstream_port = nr.port
        else:
            raise TestFailure(f"v2_e2e asked for an unknown command {cmd!r}")

    try:
        rc, out = run_driven([client_bin, case, relay.addr, str(proxy.port)], "v2_e2e", on_cmd,
                             BOUND_S)
        if rc != 0:
            raise TestFailure(f"v2_e2e {case} exited {rc} (its stderr above says why)")
        if f"PASS {case}" not in out:
            raise TestFailure(f"v2_e2e {case} exited 0 without 'PASS {case}'")
        if not relays[-1].running():
            raise TestFailure("the relay died during the case")
        if case.startswith("cut") and proxy.cuts == 0:
            raise TestFailure("the proxy cut nothing")
        if case in ("kill", "lost_store") and len(relays) != 2:
            raise TestFailure("the relay was not restarted")
        rc, _ = relays[-1].stop()
        if rc != 0:
            raise TestFailure(f"relay exited {rc} on SIGTERM")
    except BaseException:
        for r in relays:
            sys.stderr.write(f"--- relay stderr ---\n{r.stderr()[-3000:]}\n")
        raise
    finally:
        proxy.close()
        for r in relays:
            r.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list or not a.case:
        print("\n".join(CASES))
        return 0
    if a.case not in CASES:
        print(f"unknown case {a.case!r}; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    try:
        run_case(a.relay, a.client, a.case)
    except TestFailure as e:
        print(f"FAIL {a.case}: {e}", file=sys.stderr)
        return 1
    print(f"ok {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
