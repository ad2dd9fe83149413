#!/usr/bin/python3
"""Self-test of the CRM peers (hubspot.py, salesforce.py): starts them over
HTTPS with a throwaway CA made by openssl in a temporary directory, drives
their OAuth flows, data endpoints, limits and admin API as wib would, and
prints TAP.  Exit status 0 only when every test passes.

Run: /usr/bin/python3 test/peers/selftest_crm_peers.py   (about 20 seconds)
"""
import sys

sys.dont_write_bytecode = True

import shutil
import tempfile
import traceback

import selftest_hubspot
import selftest_salesforce
from selftest_harness import RESULTS, Peer, check, make_ca


def main():
    tmp = tempfile.mkdtemp(prefix="crm-peers-")
    peers = []
    try:
        ca, cert, key = make_ca(tmp)
        hs = Peer(tmp, "hubspot", "hubspot.py", [], tls=(cert, key), ca=ca)
        peers.append(hs)
        sf = Peer(tmp, "salesforce", "salesforce.py", [], tls=(cert, key), ca=ca)
        peers.append(sf)
        sf2 = Peer(tmp, "salesforce2", "salesforce.py", [
            "--rotate-refresh-tokens", "--refresh-grace", "1", "--instance-url", "https://evil.example.com",
            "--max-cursors", "2", "--daily-limit", "50", "--session-seconds", "2"])
        peers.append(sf2)
        sf2.admin("contacts", {"count": 500})
        hs2 = Peer(tmp, "hubspot2", "hubspot.py", ["--introspect-spelling", "hubId", "--portal-id", "4242"])
        peers.append(hs2)
        for name, fn in (("hubspot", lambda: selftest_hubspot.run(hs, hs2)),
                         ("salesforce", lambda: selftest_salesforce.run(sf, sf2))):
            try:
                fn()
            except Exception:
                check("%s: tests ran to the end" % name, False, traceback.format_exc())
        codes = [p.stop() for p in peers]
        check("peers exit 0 on SIGTERM", codes == [0] * len(peers), codes)
        errs = "".join(open("%s/%s.out" % (tmp, p.name)).read() for p in peers)
        check("peers wrote nothing to stderr", errs == "", errs[-2000:])
    finally:
        for p in peers:
            if p.proc.poll() is None:
                p.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(RESULTS))
    for i, (ok, name, detail) in enumerate(RESULTS, 1):
        print("%sok %d - %s" % ("" if ok else "not ", i, name))
        if not ok and detail != "":
            for line in str(detail).splitlines()[-40:]:
                print("#   " + line[:300])
    sys.exit(0 if all(r[0] for r in RESULTS) else 1)


if __name__ == "__main__":
    main()
