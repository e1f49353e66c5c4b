#!/usr/bin/python3
"""Seconds-long smoke run of the benchmark harness (CTest label "bench").

Times nothing. It checks that the harness still measures what it claims to, in protocol v2
against the real saltchat-relay (sc_load --protocol 2): CREATE/AUTH, RESUME, SUBMIT, every
LOG entry of the others complete and in order, every SUBMIT ACCEPTED, latencies recorded;
--idle (every member LIVE, then the server's RSS read) works too.

The peers of bench/peers/ (Python, Node ws, Bun uWebSockets) are relays of the removed
protocol v1 (SEND_ALL fan-out from memory): they keep no log, so they cannot take part in
a v2 run, and sc_load no longer speaks v1. The checks that needed them (a peer that
fragments, batches and pings; a lossy peer the harness must catch; the 4002 slow-consumer
cut) went with v1.
"""
import argparse
import json
import os
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
    rc, r, err = load(sc_load, server, "--protocol", 2, "--conns", 20, "--room-size", 5,
                      "--duration", 1, "--warmup", 0.2, "--rate", 1000, "--size", 1000)
    expect_clean(f"{n} fixed rate, 4 rooms of 5", rc, r, err)
    check(r["p50_us"] > 0 and r["p99_us"] >= r["p50_us"], f"{n}: latency percentiles "
          f"recorded (p50 {r['p50_us']:.0f} us, p99 {r['p99_us']:.0f} us)")
    rc, r, err = load(sc_load, server, "--protocol", 2, "--conns", 20, "--room-size", 10,
                      "--idle", "--settle", 0.2)
    check(rc == 0 and r["ok"] and r.get("mode") == "idle" and r.get("rss_idle_kib", 0) > 0,
          f"{n} --idle: every member LIVE, the server's idle RSS read (exit {rc}, "
          f"{r.get('first_error') or 'no error'})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sc-load", required=True)
    ap.add_argument("--relay", help="saltchat-relay binary")
    ap.add_argument("--relay-args", default="", help="extra relay flags, space separated")
    args = ap.parse_args()
    sc_load = args.sc_load

    if args.relay:
        s = Server([args.relay, "--listen", "127.0.0.1:0", *args.relay_args.split()],
                   "saltchat-relay")
        try:
            suite_v2(sc_load, s)
            p = subprocess.run([sc_load, "--server", s.addr, "--protocol", "1"],
                               capture_output=True, text=True, timeout=30)
            check(p.returncode != 0 and "v1" in p.stderr,
                  f"sc_load --protocol 1 is refused, saying v1 was removed ({p.stderr.strip()!r})")
        finally:
            s.stop()
    else:
        print("note  saltchat-relay not built: relay part not run")
    print("note  bench/peers (Python, Node, Bun) relay only the removed protocol v1: "
          "they cannot take part in a v2 run")

    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    t0 = time.monotonic()
    rc = main()
    print(f"smoke took {time.monotonic() - t0:.1f} s")
    sys.exit(rc)
