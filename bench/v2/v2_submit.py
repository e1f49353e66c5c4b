#!/usr/bin/env python3
"""Protocol v2 delivery service figures on the real relay (not a test: prints numbers).

One writer pipelines SUBMITs (application messages, PrivateMessage headers, --size bytes)
with at most --window unanswered; --readers connections RESUME and read every entry live.
Prints SUBMITs/s accepted, ACCEPTED latency (p50, p99: SUBMIT sent to ACCEPTED read, so it
includes the store's fsync per loop turn) and LOG entries/s delivered to the readers, and
the relay's store figures from /metrics.

  bench/v2/v2_submit.py --relay build/relay/saltchat-relay [--count 5000] [--window 64]
                        [--readers 4] [--size 256] [--cluster NATS_SERVER]

With --cluster (the nats-server binary): a nats-server -js of its own and two relays with
--cluster; the writer is on the first, the readers on the second, so every entry goes
through JetStream (docs/CLUSTER.md "Protocol v2 in a cluster"): ACCEPTED then waits for
JetStream's ack and the first relay's replica, LOG for the second relay's replica.
"""
import argparse
import asyncio
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "relay"))

import relay_v2_test as t  # noqa: E402
from sctest import envelope2 as e2  # noqa: E402
from sctest import metrics as sc_metrics  # noqa: E402


async def bench(relay, a, relay2=None):
    room_id, key, box, w = await t.created(relay)
    readers = []
    for _ in range(a.readers):
        r = await t.Conn.open(relay2 or relay, room_id)
        await r.auth(key)
        await r.send(e2.resume(0))
        await t.read_log(r, "reader RESUME")
        readers.append(r)

    async def read_all(r):
        n = 0
        while n < a.count:
            e = await r.next("LOG for a reader", timeout=60)
            if e.type == e2.LOG:
                n += 1
        return time.monotonic()

    tasks = [asyncio.create_task(read_all(r)) for r in readers]
    sent, lat, nxt = {}, [], 1
    t0 = time.monotonic()
    done = 0
    while done < a.count:
        while nxt <= a.count and nxt - done <= a.window:
            sent[nxt] = time.monotonic()
            await w.send(e2.submit(nxt, e2.mls_private(room_id, 0, ciphertext=os.urandom(a.size))))
            nxt += 1
        e = await w.next("ACCEPTED", timeout=60)
        if e.type == e2.ACCEPTED:
            lat.append(time.monotonic() - sent.pop(e.token))
            done += 1
    t1 = time.monotonic()
    ends = await asyncio.gather(*tasks)
    m = await asyncio.to_thread(sc_metrics.scrape, relay.port)
    lat.sort()
    if relay2:
        print("cluster: writer on relay 1, readers on relay 2, one nats-server -js (R1, file)")
    print(f"submits accepted: {a.count / (t1 - t0):,.0f}/s ({a.count} in {t1 - t0:.2f} s, "
          f"window {a.window}, {a.size} B ciphertext)")
    print(f"ACCEPTED latency: p50 {lat[len(lat) // 2] * 1e3:.2f} ms, "
          f"p99 {lat[int(len(lat) * 0.99)] * 1e3:.2f} ms")
    if ends:
        print(f"LOG to {a.readers} readers: {a.count * a.readers / (max(ends) - t0):,.0f} "
              f"entries/s delivered")
    fl = m.get("saltchat_relay_v2_store_flushes_total", 0)
    print(f"store: {fl} transactions ({a.count / fl:.1f} entries each), "
          f"{m.get('saltchat_relay_v2_store_flush_nanoseconds_total', 0) / max(fl, 1) / 1e3:.0f} "
          f"us mean, {m.get('saltchat_relay_v2_store_file_bytes', 0) / 1e6:.1f} MB on disk")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--cluster", metavar="NATS_SERVER")
    a = ap.parse_args()
    t.RELAY = os.path.abspath(a.relay)
    if not a.cluster:
        with t.Relay("--rate-limit", "0") as relay:
            t.run(bench(relay, a), seconds=600)
        return
    import tempfile
    from sctest.nats import Nats
    with tempfile.TemporaryDirectory(prefix="v2bench-") as tmp:
        nats = Nats(a.cluster, jetstream_dir=os.path.join(tmp, "js")).start()
        try:
            with t.Relay("--rate-limit", "0", "--cluster", nats.url) as r1, \
                    t.Relay("--rate-limit", "0", "--cluster", nats.url) as r2:
                t.run(bench(r1, a, r2), seconds=600)
        finally:
            nats.kill()


if __name__ == "__main__":
    main()
