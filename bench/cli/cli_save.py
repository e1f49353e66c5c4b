#!/usr/bin/python3
"""What storing costs the receiving saltchat CLI: fsync-family calls and CPU time per
1,000 received messages, catch-up and live, for this build and for another one (by
default main's HEAD, built in a temporary directory). Prints a table of medians.

Each run starts the real relay (port 0, own --data-dir) and real saltchat processes in
batch mode: Alice (always this build) creates a room, Bob (the build measured) joins and
quits. Then
  catch-up: Alice sends N messages, all accepted; Bob `open`s the room and quits once he
            has all N (a `live` event after them);
  live:     Bob `open`s the room and is live; Alice sends N; Bob quits once he has all N.
Bob's process is measured from start to exit (so the figures include opening the room,
connecting and quitting, the same for both builds):
  fsyncs:   fsync + fdatasync + sync_file_range + syncfs calls, counted by
            `strace -f -c --seccomp-bpf` (in separate runs: strace is not timed);
  CPU:      user + system time of Bob's process (wait4 rusage), in runs without strace.
Medians of --runs runs (default 5). Nothing here is a test: it prints figures.

    bench/cli/cli_save.py --relay build/relay/saltchat-relay --saltchat build/cli/saltchat
        [--old PATH | --old-rev REV] [--messages 1000] [--runs 5]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from sctest.relay import Relay  # noqa: E402

SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "syncfs")
T = 120.0


class Client:
    """saltchat ARGS --batch (own --config/--data under home); counts events by type."""

    def __init__(self, binary, home, name, *args, strace_out=None):
        argv = [binary, *args, "--batch", "--name", name, "--config",
                os.path.join(home, "cfg"), "--data", os.path.join(home, "data")]
        if strace_out:
            argv = ["strace", "-f", "-qq", "--seccomp-bpf", "-c", "-o", strace_out,
                    "-e", "trace=" + ",".join(SYNC_CALLS), "--", *argv]
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.counts, self.first = {}, {}
        self.cond = threading.Condition()
        self.eof = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            with self.cond:
                t = ev.get("type")
                self.counts[t] = self.counts.get(t, 0) + 1
                self.first.setdefault(t, ev)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait(self, type_, count=1):
        deadline = time.monotonic() + T
        with self.cond:
            while self.counts.get(type_, 0) < count:
                if time.monotonic() > deadline or self.eof:
                    raise RuntimeError(f"{self.name}: waited for {count} {type_} events, "
                                       f"have {self.counts}")
                self.cond.wait(0.5)
        return self.first[type_]

    def send_lines(self, lines):
        self.proc.stdin.write("".join(x + "\n" for x in lines).encode())
        self.proc.stdin.flush()

    def quit(self):
        """Closes stdin, reaps the process. Returns its CPU seconds (user + system)."""
        self.proc.stdin.close()
        _, status, ru = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        if self.proc.returncode != 0:
            raise RuntimeError(f"{self.name} exited {self.proc.returncode}")
        return ru.ru_utime + ru.ru_stime


def sync_count(path):
    """Calls of SYNC_CALLS in a `strace -c` summary."""
    n = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts and parts[-1] in SYNC_CALLS and len(parts) >= 5:
                n += int(parts[3])
    return n


def one_run(relay_bin, new_bin, bob_bin, mode, n, traced):
    """One measurement: returns (fsyncs or None, cpu seconds or None)."""
    tmp = tempfile.mkdtemp(prefix="saltchat-bench-cli-")
    relay = Relay(relay_bin, data_dir=os.path.join(tmp, "relay")).start()
    clients = []
    try:
        a = Client(new_bin, os.path.join(tmp, "alice"), "alice", "new",
                   f"ws://127.0.0.1:{relay.port}")
        clients.append(a)
        link = a.wait("link")["link"]
        a.wait("live")
        lf = os.path.join(tmp, "link")
        with open(os.open(lf, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(link + "\n")
        b = Client(bob_bin, os.path.join(tmp, "bob"), "bob", "join", "--link-file", lf)
        clients.append(b)
        room = b.wait("room")["room"]
        b.wait("live")
        b.quit()
        texts = [f"message {i:05d} " + "x" * 60 for i in range(n)]
        out = os.path.join(tmp, "strace") if traced else None
        if mode == "catch-up":
            a.send_lines(texts)
            a.wait("accepted", n)
            b = Client(bob_bin, os.path.join(tmp, "bob"), "bob", "open", room, strace_out=out)
            clients.append(b)
            b.wait("message", n)
            b.wait("live")
        else:
            b = Client(bob_bin, os.path.join(tmp, "bob"), "bob", "open", room, strace_out=out)
            clients.append(b)
            b.wait("live")
            a.send_lines(texts)
            b.wait("message", n)
        cpu = b.quit()
        a.quit()
        return (sync_count(out), None) if traced else (None, cpu)
    finally:
        for c in clients:
            if c.proc.poll() is None and c.proc.returncode is None:
                c.proc.kill()
                try:
                    c.proc.wait(5)
                except (subprocess.TimeoutExpired, ChildProcessError):
                    pass
        relay.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def build_rev(rev):
    """Builds saltchat of git revision rev in a temporary directory; returns its path."""
    d = tempfile.mkdtemp(prefix="saltchat-bench-rev-")
    src = os.path.join(d, "src")
    os.makedirs(src)
    sha = subprocess.run(["git", "-C", ROOT, "rev-parse", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    git = subprocess.Popen(["git", "-C", ROOT, "archive", sha], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", src], stdin=git.stdout, check=True)
    git.wait()
    subprocess.run(["cmake", "-S", src, "-B", os.path.join(d, "build"),
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DSALTCHAT_WEB=OFF"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", os.path.join(d, "build"), "-j2", "--target", "saltchat"],
                   check=True, stdout=subprocess.DEVNULL)
    print(f"built {rev} ({sha[:12]}) in {d}", flush=True)
    return os.path.join(d, "build", "cli", "saltchat")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--saltchat", required=True, help="this build's saltchat ('new')")
    ap.add_argument("--old", help="the other build's saltchat (default: build --old-rev)")
    ap.add_argument("--old-rev", default="main", help="git revision to build for --old")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    if not shutil.which("strace"):
        sys.exit("cli_save.py: strace is needed (apt-get install strace)")
    builds = {"new": os.path.abspath(a.saltchat),
              "old": os.path.abspath(a.old) if a.old else build_rev(a.old_rev)}
    n = a.messages
    rows = []
    for mode in ("catch-up", "live"):
        for label in ("old", "new"):
            syncs, cpus = [], []
            for _ in range(a.runs):
                syncs.append(one_run(a.relay, builds["new"], builds[label], mode, n, True)[0])
                cpus.append(one_run(a.relay, builds["new"], builds[label], mode, n, False)[1])
            k = 1000.0 / n
            rows.append((mode, label, statistics.median(syncs) * k,
                         statistics.median(cpus) * k * 1000.0, min(syncs) * k, max(syncs) * k,
                         min(cpus) * k * 1000.0, max(cpus) * k * 1000.0))
            print(f"  {mode:8} {label}: fsyncs {syncs}, cpu s {[round(c, 3) for c in cpus]}",
                  flush=True)
    print()
    print(f"Bob's saltchat receiving {n} messages, per 1,000 messages, median of {a.runs} "
          f"(min..max); whole process (open, receive, quit)")
    print(f"{'mode':9} {'build':5} {'fsyncs':>8} {'(range)':>13} {'CPU ms':>8} {'(range)':>15}")
    for mode, label, s, c, s0, s1, c0, c1 in rows:
        print(f"{mode:9} {label:5} {s:8.0f} {f'{s0:.0f}..{s1:.0f}':>13} {c:8.0f} "
              f"{f'{c0:.0f}..{c1:.0f}':>15}")
    print(f"builds: new {builds['new']}, old {builds['old']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
