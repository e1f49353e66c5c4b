#!/usr/bin/python3
"""Crash test of relay_store: what flush confirmed survives SIGKILL.

usage: store_crash.py --writer PATH [--rounds N]

Each round starts store_crash_writer on the same data directory, lets it append in bursts
(1..50 entries per flush) and print "durable <seq>" after each flush that made <seq>
durable, kills it with SIGKILL at a random point (usually mid-burst, while a transaction
is being written), then runs `store_crash_writer verify`, which reopens the database and
checks every entry from 1 to the head (contiguous, bytes as written, epoch, GroupInfo and
key matching the log). The test asserts that every seq confirmed before the kill is there:
head >= the last confirmed seq, and the confirmed seqs of each round continue the log
exactly where the previous round's verified head left it. Self-contained; every wait is
bounded and says what it waited for.
"""
import argparse
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WAIT_S = 30  # bound for any single wait (generous: the machine may be loaded)


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def read_line(proc, buf, deadline, what):
    """Returns the next line of proc's stdout, or None at EOF; fails at the deadline."""
    while b"\n" not in buf[0]:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("timed out after %d s waiting for %s" % (WAIT_S, what))
        r, _, _ = select.select([proc.stdout], [], [], left)
        if not r:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            if buf[0]:
                line, buf[0] = buf[0], b""
                return line.decode()
            return None
        buf[0] += chunk
    line, buf[0] = buf[0].split(b"\n", 1)
    return line.decode()


def verify(writer, data_dir):
    try:
        out = subprocess.run([writer, "verify", data_dir], capture_output=True, timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        fail("timed out after %d s waiting for `store_crash_writer verify`" % WAIT_S)
    text = out.stdout.decode()
    if out.returncode != 0:
        fail("verify failed (exit %d): %s %s" % (out.returncode, text, out.stderr.decode()))
    for line in text.splitlines():
        if line.startswith("head "):
            return int(line.split()[1])
    fail("verify printed no head: %r" % text)


def one_round(writer, data_dir, rnd, head_before):
    want = rnd.randint(30, 600)  # confirmed entries to see before the kill
    proc = subprocess.Popen([writer, "write", data_dir, "50"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    buf = [b""]
    confirmed = []
    try:
        deadline = time.monotonic() + WAIT_S
        line = read_line(proc, buf, deadline, "the writer's \"ready\" line")
        if line is None or not line.startswith("ready "):
            fail("writer did not start: %r %s" % (line, proc.stderr.read().decode()))
        if int(line.split()[1]) != head_before:
            fail("writer resumed at %s, verify said head %d" % (line, head_before))
        deadline = time.monotonic() + WAIT_S
        while len(confirmed) < want:
            line = read_line(proc, buf, deadline,
                             "confirmed seq %d of %d" % (len(confirmed) + 1, want))
            if line is None:
                fail("writer exited early: %s" % proc.stderr.read().decode())
            confirmed.append(int(line.split()[1]))
        # Mid-burst: the writer is already staging or flushing the next batch.
        time.sleep(rnd.random() * 0.01)
        proc.send_signal(signal.SIGKILL)
        try:
            proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            fail("writer did not die within %d s of SIGKILL" % WAIT_S)
        # Lines printed before the kill are still in the pipe: they were confirmed too.
        deadline = time.monotonic() + WAIT_S
        while True:
            line = read_line(proc, buf, deadline, "the rest of the writer's output")
            if line is None:
                break
            if line.startswith("durable "):
                confirmed.append(int(line.split()[1]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if proc.returncode != -signal.SIGKILL:
        fail("writer ended with %s, not SIGKILL" % proc.returncode)
    expect = list(range(head_before + 1, head_before + 1 + len(confirmed)))
    if confirmed != expect:
        fail("confirmed seqs are not contiguous from %d" % (head_before + 1))
    head = verify(writer, data_dir)
    last = confirmed[-1]
    if head < last:
        fail("lost durable entries: the last confirmed seq was %d, the store has %d"
             % (last, head))
    print("round: %d confirmed (up to seq %d), head after SIGKILL %d (%d flushed but not yet "
          "reported)" % (len(confirmed), last, head, head - last), flush=True)
    return head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--writer", required=True)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    rnd = random.Random(int(os.environ.get("STORE_CRASH_SEED", "0")) or None)
    tmp = tempfile.mkdtemp(prefix="store-crash-")
    data_dir = os.path.join(tmp, "data")
    try:
        head = 0
        for _ in range(args.rounds):
            head = one_round(args.writer, data_dir, rnd, head)
        if not os.path.exists(os.path.join(data_dir, "store.db")):
            fail("no store.db in the data directory")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS: %d rounds, %d entries, every confirmed one survived SIGKILL" % (args.rounds, head))


if __name__ == "__main__":
    main()
