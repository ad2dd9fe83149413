#!/usr/bin/env python3
"""Reads the memcheck logs of make test-valgrind (one <pid>.log per server
process, tools/valgrind_postgres.sh) and says which errors are wib's.

An error is wib's when any frame of its stack is in wib.so: a function
wib.so defines (nm), a source file under the tree's src/, or the object
wib.so itself.  PostgreSQL's own false positives have no such frame; they
are suppressed in tools/valgrind.supp, and one that is not yet is listed
here, apart, with its ready-made suppression.  A suppression that names a
function of wib is refused, so wib's code can never be suppressed.

Usage: valgrind_report.py LOGDIR WIB_SO SUPPRESSIONS SRCDIR
Exit status: 0 when no error is wib's and no suppression names wib; 1 otherwise.
"""
import collections
import glob
import os
import re
import subprocess
import sys

FRAME = re.compile(r"^==\d+==\s+(?:at|by) 0x[0-9A-F]+: (\S+) \((.*)\)\s*$")


def wib_functions(so):
    out = subprocess.run(["nm", "--defined-only", so], capture_output=True, text=True, check=True).stdout
    return {line.split()[2] for line in out.splitlines() if len(line.split()) == 3 and line.split()[1] in "Tt"}


def errors_of(path):
    """(error text lines) for each error framed by the markers in one log."""
    errors, current = [], None
    with open(path, errors="replace") as f:
        for line in f:
            if "VALGRINDERROR-BEGIN" in line:
                current = []
            elif "VALGRINDERROR-END" in line:
                if current is not None:
                    errors.append(current)
                current = None
            elif current is not None:
                current.append(line.rstrip("\n"))
    return errors


def is_wib_frame(fn, where, wib_fns, srcdir):
    return fn in wib_fns or "/wib.so" in where or where.startswith(srcdir)


def main():
    logdir, so, supp, srcdir = sys.argv[1:5]
    srcdir = os.path.realpath(srcdir) + "/"
    wib_fns = wib_functions(so)
    status = 0

    # No suppression may name wib.
    with open(supp) as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if (s.startswith("fun:") and s[4:] in wib_fns) or (s.startswith("obj:") and "wib" in s):
                print(f"valgrind: {supp}:{n} suppresses wib's own code ({s}): not allowed")
                status = 1

    logs = sorted(glob.glob(os.path.join(logdir, "*.log")))
    wib_errors, other = [], collections.Counter()
    other_example = {}
    crashes = []
    for path in logs:
        for err in errors_of(path):
            frames = [m.groups() for m in map(FRAME.match, err) if m]
            kind = re.sub(r"^==\d+==\s*", "", err[0]) if err else "?"
            kind = re.sub(r"[\d,]+", "N", kind)  # sizes and loss record numbers vary
            if any(is_wib_frame(fn, where, wib_fns, srcdir) for fn, where in frames):
                wib_errors.append((path, err))
            else:
                sig = (kind, tuple(fn for fn, _ in frames[:6]))
                other[sig] += 1
                other_example.setdefault(sig, (path, err))
        with open(path, errors="replace") as f:
            for line in f:
                if "Process terminating with default action" in line:
                    crashes.append((path, line.strip()))

    print(f"valgrind: {len(logs)} server processes ran under memcheck")
    if other:
        print(f"valgrind: {sum(other.values())} unsuppressed reports outside wib's code "
              f"({len(other)} kinds), each with a suppression to check and add to {supp}:")
        for sig, count in other.most_common():
            path, err = other_example[sig]
            print(f"--- {count} x {sig[0]} (first in {os.path.basename(path)})")
            print("\n".join(re.sub(r"^==\d+==", "", l) for l in err))
    for path, line in crashes:
        print(f"valgrind: {os.path.basename(path)}: {re.sub(r'^==[0-9]+== *', '', line)}")
    if wib_errors:
        status = 1
        print(f"valgrind: {len(wib_errors)} errors in wib's code:")
        for path, err in wib_errors:
            print(f"--- {os.path.basename(path)}")
            print("\n".join(re.sub(r"^==\d+==", "", l) for l in err))
    print(f"valgrind: {len(wib_errors)} errors in wib's code, "
          f"{sum(other.values())} unsuppressed elsewhere, {len(crashes)} processes killed by a signal")
    return status


if __name__ == "__main__":
    sys.exit(main())
