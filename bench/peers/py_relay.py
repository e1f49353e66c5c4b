#!/usr/bin/python3
"""Reference relay on Python's websockets (Debian python3-websockets 10.4) for
bench/run: the routing semantics of docs/PROTOCOL.md section 2 (WELCOME, JOINED,
LEFT, DATA broadcast and unicast, SYNCED, ERROR) with one envelope per WebSocket
message, so sc_load drives it exactly like saltchat-relay.

usage: py_relay.py [--listen 127.0.0.1:0] [--max-queue BYTES] [--fragment N] [--batch]
                   [--ping-interval SEC] [--ping-timeout SEC] [--drop-every N]
Prints the bound address as one line on stdout.
--fragment and --batch exist to test the load generator's receive path: every
outgoing message is split into N fragments, or envelopes queued for one recipient
in one loop iteration are packed into one message. --drop-every N silently drops
every Nth broadcast DATA: a broken relay, to check that sc_load notices the loss.
"""
import argparse
import asyncio
import itertools
import os
import signal
import struct
import sys

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "lib"))
from sctest.envelope import (DATA, ERROR, HEADER as HDR, JOINED, LEFT,  # noqa: E402
                             SEND_ALL, SEND_TO, SUBPROTOCOL, SYNC, SYNCED, VERSION as V,
                             WELCOME, envelope as env)

MAX_PAYLOAD = 64 * 1024


class Relay:
    def __init__(self, args):
        self.args = args
        self.rooms = {}  # room id -> {member id: Member}
        self.ids = itertools.count(1)
        self.datas = 0

    def deliver(self, m, data):
        """Queues one envelope for member m; cuts m off if it cannot keep up."""
        if m.dead:
            return
        if self.args.batch:
            m.pending.append(data)
            if len(m.pending) == 1:
                asyncio.get_running_loop().call_soon(self.flush, m)
        else:
            self.write(m, data)

    def flush(self, m):
        if m.pending and not m.dead:
            data, m.pending = b"".join(m.pending), []
            self.write(m, data)

    def write(self, m, data):
        ws = m.ws
        if not ws.open:
            return
        if ws.transport.get_write_buffer_size() > self.args.max_queue:
            m.dead = True
            self.leave(m)
            ws.fail_connection(4002, "slow consumer")
            return
        n = self.args.fragment
        if n > 1 and len(data) >= n:
            step = (len(data) + n - 1) // n
            parts = [data[i:i + step] for i in range(0, len(data), step)]
            for i, part in enumerate(parts):
                ws.write_frame_sync(i == len(parts) - 1, 0x2 if i == 0 else 0x0, part)
        else:
            websockets.broadcast([ws], data)

    def leave(self, m):
        room = self.rooms.get(m.room)
        if room is None or room.get(m.id) is not m:
            return
        del room[m.id]
        if not room:
            del self.rooms[m.room]
        note = env(LEFT, struct.pack(">Q", m.id))
        for other in list(room.values()):
            self.deliver(other, note)

    async def handler(self, ws, path):
        if not path.startswith("/room/") or len(path) <= 6:
            await ws.close(1008, "path must be /room/<id>")
            return
        m = Member(ws, next(self.ids), path[6:])
        room = self.rooms.setdefault(m.room, {})
        others = list(room.values())
        body = struct.pack(">QII", m.id, MAX_PAYLOAD, len(others))
        body += b"".join(struct.pack(">Q", o.id) for o in others)
        self.deliver(m, env(WELCOME, body))
        note = env(JOINED, struct.pack(">Q", m.id))
        for o in others:
            self.deliver(o, note)
        room[m.id] = m
        try:
            async for msg in ws:
                if m.dead:
                    break
                if isinstance(msg, str):
                    await ws.close(1003, "text frames are not accepted")
                    break
                err = self.on_message(m, msg)
                if err:
                    self.deliver(m, env(ERROR, struct.pack(">H", 1) + err.encode()))
                    self.flush(m)
                    await ws.close(1008, err)
                    break
        except websockets.ConnectionClosed:
            pass
        finally:
            self.leave(m)

    def on_message(self, m, msg):
        if len(msg) < 6:
            return "truncated envelope"
        v, t, n = HDR.unpack_from(msg)
        if v != V or n != len(msg) - 6:
            return "bad version or length"
        room = self.rooms[m.room]
        if t == SEND_ALL and 1 <= n <= MAX_PAYLOAD:
            out = env(DATA, struct.pack(">QB", m.id, 0) + msg[6:])
            for o in list(room.values()):
                if o is not m:
                    self.datas += 1
                    if self.args.drop_every and self.datas % self.args.drop_every == 0:
                        continue
                    self.deliver(o, out)
        elif t == SEND_TO and 9 <= n <= MAX_PAYLOAD + 8:
            (to,) = struct.unpack_from(">Q", msg, 6)
            target = room.get(to)
            if target is None:
                self.deliver(m, env(ERROR, struct.pack(">H", 2) + b"no such member"))
            else:
                self.deliver(target, env(DATA, struct.pack(">QB", m.id, 1) + msg[14:]))
        elif t == SYNC and n == 8:
            self.deliver(m, env(SYNCED, msg[6:]))
        else:
            return "malformed envelope"
        return None


class Member:
    __slots__ = ("ws", "id", "room", "pending", "dead")

    def __init__(self, ws, mid, room):
        self.ws, self.id, self.room, self.pending, self.dead = ws, mid, room, [], False


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--max-queue", type=int, default=1 << 20,
                    help="bytes queued for one member before it is cut off")
    ap.add_argument("--fragment", type=int, default=1)
    ap.add_argument("--batch", action="store_true")
    ap.add_argument("--ping-interval", type=float, default=20.0)
    ap.add_argument("--ping-timeout", type=float, default=20.0)
    ap.add_argument("--drop-every", type=int, default=0)
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    relay = Relay(args)
    stop = asyncio.get_running_loop().create_future()
    for s in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(s, stop.set_result, None)
    async with websockets.serve(relay.handler, host, int(port), subprotocols=[SUBPROTOCOL],
                                compression=None, max_size=MAX_PAYLOAD + 64,
                                ping_interval=args.ping_interval,
                                ping_timeout=args.ping_timeout, backlog=4096,
                                max_queue=64) as server:
        addr = server.sockets[0].getsockname()
        print(f"{addr[0]}:{addr[1]}", flush=True)
        await stop


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except OSError as e:
        print(f"py_relay: {e}", file=sys.stderr)
        sys.exit(1)
