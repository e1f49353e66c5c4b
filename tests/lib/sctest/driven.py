"""A test program driven through its output: it prints lines, some of them "CMD NAME",
which the test answers by doing something the program cannot do itself (kill or restart a
relay, cut a proxy) and then writing "OK" on its stdin (tests/relay/v2_e2e.c's protocol)."""
import os
import select
import subprocess
import time

from .errors import TestFailure


def run_driven(argv, name, on_cmd, bound_s):
    """Runs argv and echoes every line it prints as "NAME: line". For a line "CMD X" it
    calls on_cmd(X) (which raises TestFailure for a command it does not know) and answers
    "OK". Returns (exit status, the lines printed) once the program exits. Raises
    TestFailure if that takes more than bound_s seconds in all (the program is killed)."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, buf = [], b""
    deadline = time.monotonic() + bound_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"timed out after {bound_s} s waiting for {name} to finish; "
                                  f"it printed {out[-20:]!r}")
            r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
            if not r:
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.decode("utf-8", "replace")
                out.append(line)
                print(f"{name}:", line, flush=True)
                if line.startswith("CMD "):
                    on_cmd(line[4:])
                    proc.stdin.write(b"OK\n")
                    proc.stdin.flush()
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        return rc, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
