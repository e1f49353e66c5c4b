#!/usr/bin/python3
"""Seconds-long smoke run of the benchmark harness (CTest label "bench").

Times nothing. It checks that the harness still measures what it claims to:
  - sc_load against the Python peer, with the peer fragmenting every message,
    packing envelopes into batches and pinging every 100 ms: every frame arrives
    complete and in order, and deliveries are counted;
  - the same peer dropping one DATA in 50: sc_load must fail and say frames were
    lost (a harness that cannot see loss would report nonsense);
  - a member that stops reading is cut off with close 4002 while the others
    still receive everything;
  - the same against the real saltchat-relay (--relay) and the Node ws peer when
    its node_modules are installed (bench/run installs them; tests do not);
  - protocol v2 against the real relay (sc_load --protocol 2): every LOG entry of the
    others complete and in order, every SUBMIT ACCEPTED;
  - the Bun peer (uWebSockets) when installed there too: flat out and at a fixed rate,
    every frame complete and in order (its slow-consumer cut is uWS' own, not 4002).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "peers")
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
from sctest.relay import AddressServer  # noqa: E402
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def Server(argv, name):
    """A server (saltchat-relay or a peer) that prints its bound address on stdout."""
    return AddressServer(argv, name)


def load(sc_load, server, *args):
    argv = [sc_load, "--server", server.addr, "--server-pid", str(server.proc.pid),
            "--label", server.name, "--settle", "0", "--timeout", "10", *map(str, args)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    res = None
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    if res is None:
        print(p.stderr, file=sys.stderr)
        raise RuntimeError(f"sc_load printed no RESULT (exit {p.returncode})")
    return p.returncode, res, p.stderr


def expect_clean(name, rc, r, stderr):
    check(rc == 0 and r["ok"], f"{name}: run passes (exit {rc}, first error: "
          f"{r['first_error'] or 'none'})")
    check(r["deliveries"] > 0 and r["deliveries_per_s"] > 0, f"{name}: deliveries counted "
          f"({r['deliveries']})")
    check(r["order_errors"] == 0 and r["missing_after_drain"] == 0 and r["bad_payload"] == 0,
          f"{name}: every frame complete and in order")
    if rc != 0:
        print(stderr, file=sys.stderr)


def suite(sc_load, server, stall_args):
    n = server.name
    rc, r, err = load(sc_load, server, "--conns", 30, "--room-size", 10, "--duration", 1,
                      "--warmup", 0.2)
    expect_clean(f"{n} flat out, 3 rooms of 10", rc, r, err)
    rc, r, err = load(sc_load, server, "--conns", 20, "--room-size", 5, "--duration", 1,
                      "--warmup", 0.2, "--rate", 2000, "--size", 1000)
    expect_clean(f"{n} fixed rate, 4 rooms of 5", rc, r, err)
    check(r["p50_us"] > 0 and r["p99_us"] >= r["p50_us"], f"{n}: latency percentiles "
          f"recorded (p50 {r['p50_us']:.0f} us, p99 {r['p99_us']:.0f} us)")
    rc, r, err = load(sc_load, server, "--conns", 12, "--room-size", 12, "--duration", 0.5,
                      "--warmup", 0.1, "--stall", 1, *stall_args)
    st = r.get("stall", {})
    check(r["delivery_ok"] and st.get("cut_off"),
          f"{n}: a member that stops reading is cut off (others heard LEFT after "
          f"{st.get('left_after_s')} s) and the others still got every frame in order")
    check(st.get("close_code") == 4002,
          f"{n}: the stalled member, reading again, finds an in-order prefix "
          f"({st.get('frames_before_cut')} frames) and then close 4002 (got "
          f"{st.get('close_code')}{', TCP closed inside a frame' if st.get('eof_midframe') else ''})")
    if rc != 0:
        print(err, file=sys.stderr)


def suite_v2(sc_load, server):
    """Protocol v2 (the relay only): CREATE/AUTH, RESUME, SUBMIT; LOG entries delivered."""
    n = server.name + " v2"
    rc, r, err = load(sc_load, server, "--protocol", 2, "--conns", 30, "--room-size", 10,
                      "--window", 8, "--duration", 1, "--warmup", 0.2)
    expect_clean(f"{n} flat out, 3 rooms of 10", rc, r, err)
    check(r.get("protocol") == 2 and r.get("accepted", 0) > 0 and r.get("rejected") == 0,
          f"{n}: SUBMITs accepted ({r.get('accepted')}), none rejected ({r.get('rejected')})")
    check(r.get("accepted_p50_us", 0) > 0 and r["accepted_p99_us"] >= r["accepted_p50_us"],
          f"{n}: ACCEPTED latency recorded (p50 {r.get('accepted_p50_us', 0):.0f} us)")
    rc, r, err = load(sc_load, server, "--protocol", 2, "--conns", 4, "--room-size", 2,
                      "--duration", 0.5, "--warmup", 0.1, "--rate", 500)
    expect_clean(f"{n} fixed rate, 2 rooms of 2", rc, r, err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sc-load", required=True)
    ap.add_argument("--relay", help="saltchat-relay binary")
    ap.add_argument("--relay-args", default="", help="extra relay flags, space separated")
    args = ap.parse_args()
    sc_load = args.sc_load
    py = "/usr/bin/python3"
    relay_script = os.path.join(PEERS, "py_relay.py")
    # the stalled member sees big frames so kernel socket buffers fill within seconds
    stall_args = ["--size", 16384, "--rate", 600, "--stall-max", 15]

    s = Server([py, relay_script, "--fragment", "3", "--batch", "--ping-interval", "0.1",
                "--ping-timeout", "1", "--max-queue", "65536"], "python-peer")
    try:
        suite(sc_load, s, stall_args)
    finally:
        s.stop()

    s = Server([py, relay_script, "--drop-every", "50"], "lossy-peer")
    try:
        rc, r, _ = load(sc_load, s, "--conns", 10, "--room-size", 5, "--duration", 0.5,
                        "--warmup", 0.1, "--rate", 500)
        check(rc != 0 and not r["ok"] and (r["gap_frames"] > 0 or r["missing_after_drain"] > 0),
              f"a relay that drops frames fails the run (exit {rc}, gaps {r['gap_frames']}, "
              f"missing {r['missing_after_drain']})")
    finally:
        s.stop()

    if args.relay:
        s = Server([args.relay, "--listen", "127.0.0.1:0", *args.relay_args.split()],
                   "saltchat-relay")
        try:
            suite(sc_load, s, stall_args)
            suite_v2(sc_load, s)
        finally:
            s.stop()
    else:
        print("note  saltchat-relay not built: relay part not run")

    node = shutil.which("node")
    if node and os.path.isdir(os.path.join(PEERS, "node_modules", "ws")):
        s = Server([node, os.path.join(PEERS, "node_relay.js"), "--max-queue", "65536"],
                   "node-peer")
        try:
            suite(sc_load, s, stall_args)
        finally:
            s.stop()
    else:
        print("note  bench/peers/node_modules absent (bench/run installs it): Node part not run")

    bun = os.path.join(PEERS, "node_modules", ".bin", "bun")
    if os.access(bun, os.X_OK) and subprocess.run([bun, "--version"], capture_output=True).returncode == 0:
        s = Server([bun, os.path.join(PEERS, "bun_relay.js")], "bun-peer")
        try:
            n = s.name
            rc, r, err = load(sc_load, s, "--conns", 30, "--room-size", 10, "--duration", 1,
                              "--warmup", 0.2)
            expect_clean(f"{n} flat out, 3 rooms of 10", rc, r, err)
            rc, r, err = load(sc_load, s, "--conns", 20, "--room-size", 2, "--duration", 1,
                              "--warmup", 0.2, "--rate", 2000, "--size", 1000)
            expect_clean(f"{n} fixed rate, 10 rooms of 2", rc, r, err)
        finally:
            s.stop()
    else:
        print("note  bench/peers/node_modules/.bin/bun absent or not runnable: Bun part not run")

    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    t0 = time.monotonic()
    rc = main()
    print(f"smoke took {time.monotonic() - t0:.1f} s")
    sys.exit(rc)
