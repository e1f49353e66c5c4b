"""A script of test cases run one per CTest test: `script --relay PATH CASE`, `all`, or
`--list`. Each case is a function case_<name>() that raises on failure."""
import argparse
import os
import time


def cases_of(namespace, prefix="case_"):
    """{name: function} of every function named prefix+name in namespace (a globals()),
    sorted by name."""
    return {k[len(prefix):]: v for k, v in sorted(namespace.items())
            if k.startswith(prefix) and callable(v)}


def main(doc, cases, add_args=None, setup=None):
    """Parses `--relay PATH [--list] CASE|all` (plus what add_args(parser) adds), calls
    setup(args) (args.relay made absolute; it may return case names to leave out of
    `all`), runs the cases and prints PASS/FAIL with each one's time and error. Returns
    the exit status: 0 if every case passed, 1 otherwise."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relay", help="path to saltchat-relay")
    ap.add_argument("--list", action="store_true", help="list the cases")
    if add_args:
        add_args(ap)
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        print("\n".join(cases))
        return 0
    if not a.relay or not a.case or (a.case != "all" and a.case not in cases):
        ap.error("give --relay PATH and a case: all, " + ", ".join(cases))
    a.relay = os.path.abspath(a.relay)
    skip = (setup(a) if setup else None) or ()
    names = [n for n in cases if n not in skip] if a.case == "all" else [a.case]
    failed = 0
    for name in names:
        t0 = time.monotonic()
        try:
            cases[name]()
            print("PASS %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
        except Exception as e:  # report every kind of failure with its case
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
    return 1 if failed else 0
