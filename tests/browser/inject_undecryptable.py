#!/usr/bin/python3
"""A raw member of a room for e2e.test.mjs: broadcasts a forged group message (no keys)
and a truncated one, then a SYNC, and waits for its SYNCED before leaving (so both were
routed to the room). The relay may batch several envelopes into one message
(PROTOCOL.md section 2): every envelope of every message is read.

usage: inject_undecryptable.py WS_URL [TIMEOUT_S]
"""
import os
import struct
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sctest.envelope import SYNCED, WELCOME, send_all, sync  # noqa: E402
from sctest.errors import TestFailure  # noqa: E402
from sctest.rawws import RawWS  # noqa: E402

TOKEN = 1


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    ws = RawWS.connect(url.hostname, url.port, url.path, timeout=timeout)
    me = ws.wait_envelope(lambda e: e.type == WELCOME, "WELCOME").you
    forged = bytes([1, 5]) + struct.pack(">II", 77, 0) + os.urandom(16 + 64 + 64)
    ws.send_binary(send_all(forged))
    ws.send_binary(send_all(bytes([1, 5, 0, 0])))
    ws.send_binary(sync(TOKEN))
    ws.wait_envelope(lambda e: e.type == SYNCED and e.token == TOKEN,
                     f"SYNCED token {TOKEN} for member {me:016x}")
    ws.send_close()
    ws.close()


if __name__ == "__main__":
    try:
        main()
    except TestFailure as e:
        sys.exit(f"inject_undecryptable: {e}")
