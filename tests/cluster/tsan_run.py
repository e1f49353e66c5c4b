#!/usr/bin/python3
"""Runs a test command with ThreadSanitizer reporting into files, and fails it if any
process of the test (relays, clients) reported anything.

usage: tsan_run.py LOGDIR -- COMMAND [ARG...]

Every process started by the command inherits TSAN_OPTIONS: halt_on_error=1 (the first
report ends that process, so the scenario fails too) and log_path=LOGDIR/tsan (reports
go to LOGDIR/tsan.PID, which this script prints). Address randomization is off for
the command and its children (setarch -R). The exit status is the command's, or
1 if there are reports.
"""
import glob
import os
import platform
import shutil
import subprocess
import sys


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    logdir, cmd = sys.argv[1], sys.argv[3:]
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    env = dict(os.environ)
    env["TSAN_OPTIONS"] = (f"halt_on_error=1 second_deadlock_stack=1 "
                           f"log_path={os.path.join(logdir, 'tsan')}")
    if shutil.which("setarch"):
        # without address randomization: clang 14's TSan cannot map its shadow memory on
        # kernels with more randomization bits (vm.mmap_rnd_bits > 28); inherited by
        # every process the test starts
        cmd = ["setarch", platform.machine(), "-R"] + cmd
    rc = subprocess.call(cmd, env=env)
    reports = sorted(glob.glob(os.path.join(logdir, "tsan.*")))
    for path in reports:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
        print(f"--- ThreadSanitizer report {path} ({len(lines)} lines) ---", file=sys.stderr)
        print("\n".join(lines[:120]), file=sys.stderr)
    if reports:
        print(f"FAIL: ThreadSanitizer reported in {len(reports)} process(es); see {logdir}",
              file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
