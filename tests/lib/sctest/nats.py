"""A real nats-server on 127.0.0.1: on a free port the first time (-p -1), on the same
port when started again (a broker restart)."""
import asyncio
import re
import subprocess
import threading
import time

from .errors import TestFailure
from .wait import timeout_message

LISTENING = re.compile(rb"Listening for client connections on 127\.0\.0\.1:(\d+)")


class Nats:
    """nats-server BINARY -a 127.0.0.1 -p PORT; its stderr is appended to log_path (or
    dropped). With jetstream_dir: JetStream on (-js), its store in that directory (kept
    across restarts). After start(): .port, .url ("nats://127.0.0.1:PORT"), .proc."""

    def __init__(self, binary, log_path=None, jetstream_dir=None):
        self.binary, self.log_path, self.jetstream_dir = binary, log_path, jetstream_dir
        self.proc, self.port, self.starts = None, None, 0

    def start(self, timeout=15.0):
        """Starts it and waits (at most timeout s) for "Server is ready"; returns self."""
        self.starts += 1
        js = ["-js", "-sd", self.jetstream_dir] if self.jetstream_dir else []
        self.proc = subprocess.Popen([self.binary, "-a", "127.0.0.1", "-p", str(self.port or -1)]
                                     + js,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        log = open(self.log_path, "ab") if self.log_path else None
        seen, ready = [], threading.Event()

        def pump(proc=self.proc):
            for line in proc.stderr:
                if log:
                    log.write(line)
                    log.flush()
                if not ready.is_set():
                    seen.append(line)
                    m = LISTENING.search(line)
                    if m:
                        self.port = int(m.group(1))
                    if b"Server is ready" in line:
                        ready.set()
            ready.set()
            if log:
                log.close()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if time.monotonic() > deadline:
                self.kill()
                raise TestFailure(timeout_message(timeout, "nats-server's 'Server is ready'",
                                                  b"".join(seen).decode(errors="replace")))
        if self.proc.poll() is not None or not self.port:
            raise TestFailure("nats-server did not start (exit %s): %s" % (
                self.proc.poll(), b"".join(seen).decode(errors="replace")[-1000:]))
        return self

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def kill(self):
        """SIGKILL and reap."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()

    async def astart(self, timeout=15.0):
        """start() from asyncio without blocking the loop; returns self."""
        await asyncio.get_running_loop().run_in_executor(None, self.start, timeout)
        return self

    async def akill(self):
        """kill() from asyncio."""
        await asyncio.get_running_loop().run_in_executor(None, self.kill)
