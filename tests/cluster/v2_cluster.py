#!/usr/bin/env python3
"""Protocol v2 under --cluster (docs/CLUSTER.md "Protocol v2 in a cluster"): a real
nats-server with JetStream (-js, its own store directory) on a free loopback port, real
saltchat-relay processes with --cluster and their own --data-dir, and real sc2_room
clients (tests/relay/v2_e2e.c, real MLS) on different relays.

    v2_cluster.py --relay BIN --client V2_E2E --nats-server BIN CASE

The C program runs `v2_e2e CASE 127.0.0.1:PORT1 PORT2 PORT3` (PORT3: a proxy to a third
relay that is started only on request) and asks, by "CMD <what>" lines, for:
  kill1   SIGKILL relay 1
  start3  start relay 3 (empty --data-dir) behind PORT3
  nats_kill, nats_restart  SIGKILL the broker / start it again (same port, same store)
answering "OK" on its stdin. Debugging: V2_CLUSTER_RELAY_ARGS="--log-level debug" adds
relay arguments; V2_CLUSTER_SHOW_LOGS=PREFIX writes each relay's whole stderr to
PREFIX.relayN (and fails the case, to show them). Cases: cluster_chat, cluster_race, cluster_kill, cluster_late,
cluster_retention, cluster_overtaken (relays with --retain-entries 10).
"""
import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from sctest import relay as sc_relay  # noqa: E402
from sctest import metrics as sc_metrics  # noqa: E402
from sctest.driven import run_driven  # noqa: E402
from sctest.errors import TestFailure  # noqa: E402
from sctest.nats import Nats  # noqa: E402
from sctest.tcpproxy import TcpProxy  # noqa: E402

CASES = ["cluster_chat", "cluster_race", "cluster_kill", "cluster_late", "cluster_retention",
         "cluster_overtaken", "cluster_broker"]
# extra relay arguments per case
RELAY_ARGS = {"cluster_retention": ["--retain-entries", "10"],
              "cluster_overtaken": ["--retain-entries", "10"]}
BOUND_S = 200


def run_case(relay_bin, client_bin, nats_bin, case):
    tmp = tempfile.mkdtemp(prefix="v2cluster-")
    nats = Nats(nats_bin, log_path=os.path.join(tmp, "nats.log"),
                jetstream_dir=os.path.join(tmp, "js")).start()
    relays, proxy3 = [], None

    def relay(i):
        r = sc_relay.Relay(relay_bin, "--cluster", nats.url, *RELAY_ARGS.get(case, []),
                           *os.environ.get("V2_CLUSTER_RELAY_ARGS", "").split(),
                           data_dir=os.path.join(tmp, f"data{i}")).start()
        relays.append(r)
        return r

    try:
        r1, r2 = relay(1), relay(2)
        proxy3 = TcpProxy(1)  # nothing behind it until start3

        def on_cmd(cmd):
            if cmd == "kill1":
                r1.proc.kill()
                r1.proc.wait()
            elif cmd == "nats_kill":
                nats.kill()
            elif cmd == "nats_restart":
                nats.start()
            elif cmd == "start3":
                proxy3.upstream_port = relay(3).port
            else:
                raise TestFailure(f"v2_e2e asked for an unknown command {cmd!r}")

        rc, out = run_driven([client_bin, case, r1.addr, str(r2.port), str(proxy3.port)],
                             "v2_e2e", on_cmd, BOUND_S)
        if rc != 0:
            raise TestFailure(f"v2_e2e {case} exited {rc} (its stderr above says why)")
        if f"PASS {case}" not in out:
            raise TestFailure(f"v2_e2e {case} exited 0 without 'PASS {case}'")
        if case in ("cluster_late", "cluster_retention") and len(relays) != 3:
            raise TestFailure("relay 3 was not started")
        # the relays' own account (saltchat_relay_v2_cluster_*): appended through JetStream,
        # replicated from it, no room given up
        total = {}
        for i, r in enumerate(relays):
            if not r.running():
                continue
            m = sc_metrics.scrape(r.port)
            figs = {k: m.get(f"saltchat_relay_v2_cluster_{k}_total", 0)
                    for k in ("batches", "appended", "conflicts", "unknown", "replicated",
                              "rooms_broken")}
            print(f"relay {i + 1}: {figs}", flush=True)
            for k, v in figs.items():
                total[k] = total.get(k, 0) + v
        if total.get("appended", 0) < 1 or total.get("replicated", 0) < total["appended"]:
            raise TestFailure(f"cluster figures: {total}")
        if total.get("rooms_broken", 0):
            raise TestFailure(f"a relay stopped serving the room: {total}")
        for r in relays:
            if r is r1 and case == "cluster_kill":
                continue
            if not r.running():
                raise TestFailure("a relay died during the case")
            rc, _ = r.stop()
            if rc != 0:
                raise TestFailure(f"relay exited {rc} on SIGTERM")
        if os.environ.get("V2_CLUSTER_SHOW_LOGS"):
            raise TestFailure("V2_CLUSTER_SHOW_LOGS: showing the relays' logs")
    except BaseException:
        for i, r in enumerate(relays):
            dump = os.environ.get("V2_CLUSTER_SHOW_LOGS")
            if dump:
                with open(f"{dump}.relay{i + 1}", "w") as f:
                    f.write(r.stderr())
            sys.stderr.write(f"--- relay {i + 1} stderr ---\n{r.stderr()[-4000:]}\n")
        raise
    finally:
        if proxy3:
            proxy3.close()
        for r in relays:
            r.cleanup()
        nats.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--nats-server", default=shutil.which("nats-server") or "/usr/sbin/nats-server")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.case not in CASES:
        print(f"cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    try:
        run_case(a.relay, a.client, a.nats_server, a.case)
    except TestFailure as e:
        print(f"FAIL {a.case}: {e}", file=sys.stderr)
        return 1
    print(f"ok {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
