"""Cli: the native client (`saltchat`, protocol v2) as a real process in batch mode: one
JSON event per stdout line (docs/CLI.md), one message or command per stdin line. Each
instance has its own --config and --data directories unless given."""
import json
import os
import subprocess
import threading
import time

from .errors import TestFailure
from .wait import timeout_message


class Cli:
    """saltchat ARGS --batch --name NAME --config HOME/cfg --data HOME/data, started at
    construction. .events is every JSON event read so far (dicts, in order); .lines the
    raw stdout lines. stdin stays open until close_input()."""

    def __init__(self, binary, home, name, *args, stdin_text=None, env=None):
        self.name, self.home = name, home
        self.config, self.data = os.path.join(home, "cfg"), os.path.join(home, "data")
        self.argv = [binary, *args, "--batch", "--name", name, "--config", self.config,
                     "--data", self.data]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.events, self.lines, self.err = [], [], b""
        self.cond = threading.Condition()
        self.eof = self.err_eof = False
        threading.Thread(target=self._read, daemon=True).start()
        self._err_thread = threading.Thread(target=self._read_err, daemon=True)
        self._err_thread.start()
        if stdin_text is not None:
            self.proc.stdin.write(stdin_text.encode())
            self.proc.stdin.flush()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    self.events.append({"type": "<not json>", "line": line})
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _read_err(self):
        for raw in self.proc.stderr:
            self.err += raw
        with self.cond:
            self.err_eof = True
            self.cond.notify_all()

    def stderr(self):
        """What the client wrote on stderr so far (text); all of it once the process has
        exited (the reader thread may still be draining the pipe just after the exit)."""
        if self.proc.poll() is not None:
            self._err_thread.join(5.0)
        return self.err.decode("utf-8", "replace")

    def of(self, type_, where=None, **fields):
        """Events of this type whose fields equal the given ones (a list); where, a dict,
        adds fields whose names are not Python identifiers or clash (e.g. "self")."""
        fields.update(where or {})
        with self.cond:
            return [e for e in self.events if e.get("type") == type_ and
                    all(e.get(k) == v for k, v in fields.items())]

    def wait_for(self, type_, what, timeout=30.0, count=1, where=None, **fields):
        """Waits (at most timeout s) until `count` events of type_ with fields (and where,
        as in of()) exist; returns the count-th. Raises TestFailure naming `what` and the
        last events."""
        fields.update(where or {})
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [e for e in self.events if e.get("type") == type_ and
                       all(e.get(k) == v for k, v in fields.items())]
                if len(got) >= count:
                    return got[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.eof and self.proc.poll() is not None):
                    tail = "\n  ".join(self.lines[-12:])
                    why = ("it exited %s" % self.proc.poll()) if self.eof else None
                    raise TestFailure(timeout_message(
                        timeout, f"{self.name}: {what}",
                        f"{why or 'still running'}; last events:\n  {tail}\n"
                        f"stderr: {self.stderr()[-800:]}"))
                self.cond.wait(min(left, 0.5))

    def send(self, line):
        """Writes one input line (a message, or a /command)."""
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def close_input(self):
        """Ends stdin (the client quits once the relay accepted what it sent)."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def exit_code(self, timeout=30.0):
        """Waits (at most timeout s) for the process to exit and (5 s more) for its stdout
        and stderr to be read to the end; returns its status."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure(timeout_message(timeout, f"{self.name} to exit",
                                              "last events: " + " | ".join(self.lines[-8:])))
        deadline = time.monotonic() + 5
        with self.cond:
            while not (self.eof and self.err_eof) and time.monotonic() < deadline:
                self.cond.wait(0.2)
        return rc

    def kill(self):
        """SIGKILL and reap."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def texts(self, type_="message"):
        """The texts of this client's events of type_, in order."""
        return [e.get("text") for e in self.of(type_)]


def run(binary, home, name, *args, stdin_text="", timeout=30.0, env=None):
    """Runs saltchat to completion with --config/--data under home (no --batch/--name
    added: args are passed as given; env, if given, is its whole environment). Returns
    (status, stdout, stderr) as text."""
    argv = [binary, *args, "--config", os.path.join(home, "cfg"), "--data",
            os.path.join(home, "data")]
    try:
        p = subprocess.run(argv, input=stdin_text.encode(), capture_output=True, timeout=timeout,
                           env=env)
    except subprocess.TimeoutExpired:
        raise TestFailure(timeout_message(timeout, f"{name}: {' '.join(args[:2])} to exit"))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
