"""The real saltchat-relay binary on a loopback port (port 0 by default: the relay
binds a free one and prints the bound address, "127.0.0.1:PORT", as its first line on
stdout). Used synchronously (start/stop/kill, or `with`) or from asyncio
(astart/astop/akill, which never block the event loop)."""
import asyncio
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from .errors import TestFailure
from .wait import timeout_message

ADDRESS = re.compile(rb"(\d+\.\d+\.\d+\.\d+):(\d+)\r?\n")


def read_address(proc, timeout, what="its address", pattern=ADDRESS, stream=None):
    """Reads proc's stdout (or stream, a pipe) until a line matches pattern (bytes
    regex, default "A.B.C.D:PORT"); returns the match. Raises TestFailure when proc
    exits first, or after timeout seconds, saying what it waited for and what it read."""
    fd = (stream or proc.stdout).fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        m = pattern.search(buf)
        if m:
            return m
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure(timeout_message(timeout, f"{what} on stdout", f"read {buf!r}"))
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                proc.wait()
                raise TestFailure(f"process exited ({proc.returncode}) before printing {what};"
                                  f" read {buf!r}")
            buf += chunk


class AddressServer:
    """Any server that prints its bound address, "A.B.C.D:PORT", as a line on stdout
    (saltchat-relay, the benchmark peers): argv started, waited for at most timeout s.
    .proc, .addr ("A.B.C.D:PORT"), .port; stderr goes to a temporary file (.stderr())."""

    def __init__(self, argv, name, timeout=20.0, stop_signal=signal.SIGTERM):
        self.name, self.stop_signal = name, stop_signal
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.err,
                                     stdin=subprocess.DEVNULL)
        try:
            m = read_address(self.proc, timeout, f"{name}'s address")
        except TestFailure as e:
            err = self.stderr()
            self.stop()
            raise TestFailure(f"{e}; {name}'s stderr: {err[-1000:]}") from None
        self.addr = f"{m.group(1).decode()}:{m.group(2).decode()}"
        self.port = int(m.group(2))
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()

    def stderr(self):
        """What it wrote on stderr so far (text)."""
        self.err.seek(0)
        return self.err.read().decode("utf-8", "replace")

    def stop(self, timeout=5.0):
        """stop_signal, SIGKILL after timeout s; reaps it and drops its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def _drain(f):
    try:
        while f.read(65536):
            pass
    except (OSError, ValueError):
        pass


_KNOWS_DATA_DIR = {}


def knows_data_dir(binary):
    """Whether binary takes --data-dir (a baseline relay from before protocol v2 does not)."""
    if binary not in _KNOWS_DATA_DIR:
        try:
            out = subprocess.run([binary, "--help"], capture_output=True, text=True,
                                 timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        _KNOWS_DATA_DIR[binary] = "--data-dir" in out
    return _KNOWS_DATA_DIR[binary]


class Relay:
    """saltchat-relay started with `--listen HOST:PORT --www DIR [--data-dir DIR] ARGS...`.

    binary    path of saltchat-relay
    args      further flags
    www       web root (default: a temporary one with an index.html)
    listen    "127.0.0.1:0" (default), or a fixed "HOST:PORT" (a restart on the same port)
    tls       (cert, key, ssl_context) to start with --tls-cert/--tls-key; the context is
              what clients use to trust the certificate
    nofile    RLIMIT_NOFILE of the relay process
    log_path  where its stderr goes (default: a file in its temporary directory)
    env       environment of the process (default: inherited)
    data_dir  --data-dir (v2 room logs): default a fresh one in its temporary directory,
              so relays started side by side never share a store; pass the same one
              again to restart on the same logs. Not added if args has --data-dir or
              the binary predates it.

    After start(): .proc (subprocess.Popen), .addr "host:port", .host, .port."""

    def __init__(self, binary, *args, www=None, listen="127.0.0.1:0", tls=None, nofile=None,
                 log_path=None, env=None, data_dir=None):
        self.binary, self.args, self.listen = binary, list(args), listen
        self.tls, self.nofile, self.env = tls, nofile, env
        self.tmp = tempfile.mkdtemp(prefix="sctest-relay-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.www = www  # None: start() makes a minimal one in self.tmp
        self.log_path = log_path or os.path.join(self.tmp, "stderr")
        self.proc = None
        self.addr = self.host = self.port = None

    def argv(self):
        """The command line start() runs."""
        cmd = [self.binary, "--listen", self.listen, "--www", self.www]
        if "--data-dir" not in self.args and knows_data_dir(self.binary):
            cmd += ["--data-dir", self.data_dir]
        cmd += self.args
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        return cmd

    def start(self, timeout=15.0):
        """Starts the relay and waits (at most timeout s) for its address line; returns
        self. Raises TestFailure with its stderr if it exits or prints no address."""
        if self.www is None:
            self.www = os.path.join(self.tmp, "www")
            os.makedirs(self.www, exist_ok=True)
            with open(os.path.join(self.www, "index.html"), "w") as f:
                f.write("<!doctype html><title>sctest</title>\n")
        limit = None
        if self.nofile:
            import resource
            n = self.nofile
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))  # noqa: E731
        with open(self.log_path, "ab") as err:
            self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=err,
                                         stdin=subprocess.DEVNULL, preexec_fn=limit,
                                         env=self.env)
        try:
            m = read_address(self.proc, timeout, "the relay's address line")
        except TestFailure as e:
            self.kill()
            raise TestFailure(f"{e}; relay stderr:\n{self.stderr()[-2000:]}") from None
        self.host, self.port = m.group(1).decode(), int(m.group(2))
        self.addr = f"{self.host}:{self.port}"
        want = self.listen.rsplit(":", 1)[1]
        if want != "0" and int(want) != self.port:
            self.kill()
            raise TestFailure(f"relay asked to listen on {self.listen} bound {self.addr}")
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()
        return self

    def url(self, room="room1"):
        """ws:// (or wss:// with tls) URL of a room on this relay."""
        return "%s://%s/room/%s" % ("wss" if self.tls else "ws", self.addr, room)

    def http_url(self, path="/"):
        """http:// (or https://) URL of path on this relay."""
        return "%s://%s%s" % ("https" if self.tls else "http", self.addr, path)

    def stderr(self):
        """Everything the relay wrote on stderr so far (text)."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def running(self):
        """True while the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5.0, strict=True):
        """Sends sig and waits for the exit; returns (exit status, seconds it took).
        If it has not exited after timeout seconds it is killed, and with strict a
        TestFailure raised (without, the status is that of the kill)."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            if strict:
                raise TestFailure(f"relay exited within {timeout:g} s of signal {int(sig)}"
                                  ) from None
            rc = self.proc.returncode
        return rc, time.monotonic() - t0

    def kill(self):
        """SIGKILL (if still running) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def cleanup(self):
        """Kills the relay if it still runs and removes its temporary directory."""
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    async def astart(self, timeout=15.0):
        """start() from asyncio, without blocking the event loop; returns self."""
        await asyncio.get_running_loop().run_in_executor(None, self.start, timeout)
        return self

    async def astop(self, sig=signal.SIGTERM, timeout=5.0, strict=True):
        """stop() from asyncio, without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, self.stop, sig, timeout,
                                                                strict)

    async def akill(self):
        """kill() from asyncio."""
        await asyncio.get_running_loop().run_in_executor(None, self.kill)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        """Stops the relay with SIGTERM; it must exit 0 unless the block failed (then
        its stderr is printed)."""
        import sys
        failed = exc_type is not None
        try:
            if self.proc.poll() is None:
                rc, _ = self.stop()
                if rc != 0 and not failed:
                    raise TestFailure("relay exited 0 on SIGTERM, got %d; stderr:\n%s" %
                                      (rc, self.stderr()))
            if failed:
                sys.stderr.write("--- relay stderr ---\n%s" % self.stderr())
        finally:
            self.cleanup()
        return False
