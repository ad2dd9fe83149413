#!/usr/bin/env python3
"""Subscriptions and verification for bench/mobile.sh, with the push service
peer's own code (test/peers/push_service.py), so that what the benchmark
counts was checked the way a push service and a browser check it.

  push_verify.py keys N ORIGIN OUT.json
      N subscriptions: a P-256 key pair and auth secret each (the browser's
      side), written with their private keys; "subscription" is the
      PushSubscription JSON (endpoint ORIGIN/push/<id>).
  push_verify.py check KEYS.json ORIGIN LOG FIRST COUNT
      checks lines FIRST..FIRST+COUNT-1 (1-based) of the sink's log: the
      VAPID token (ES256 under k, aud ORIGIN, exp, sub) and the body, which
      must decrypt (RFC 8291); prints {"checked", "titles": {title: n}} as
      JSON, exits 1 on the first failure.
"""
import base64
import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "peers"))
import push_service  # noqa: E402

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402


def make_keys(n, origin, out):
    subs = []
    for i in range(n):
        s = push_service.Subscription(origin)
        s.id = "s%05d" % i
        s.endpoint = "%s/push/%s" % (origin, s.id)
        d = s.private_key.private_numbers().private_value
        subs.append({"id": s.id, "private": push_service.b64url(d.to_bytes(32, "big")),
                     "subscription": {"endpoint": s.endpoint, "expirationTime": None,
                                      "keys": {"p256dh": push_service.b64url(s.p256dh),
                                               "auth": push_service.b64url(s.auth)}}})
    with open(out, "w") as f:
        json.dump(subs, f)


class Origin:
    def __init__(self, origin):
        self.origin = origin


def check(keys_path, origin, log_path, first, count):
    subs = {}
    for k in json.load(open(keys_path)):
        s = push_service.Subscription.__new__(push_service.Subscription)
        d = int.from_bytes(base64.urlsafe_b64decode(k["private"] + "=="), "big")
        s.private_key = ec.derive_private_key(d, ec.SECP256R1())
        s.p256dh = push_service.b64url_decode(k["subscription"]["keys"]["p256dh"])
        s.auth = push_service.b64url_decode(k["subscription"]["keys"]["auth"])
        s.application_server_key = None
        subs[k["id"]] = s
    service = Origin(origin)
    titles = collections.Counter()
    checked = 0
    with open(log_path) as f:
        for lineno, line in enumerate(f, 1):
            if lineno < first:
                continue
            if lineno >= first + count:
                break
            _, path, auth, body = line.rstrip("\n").split("\t")
            sub = subs[path.rsplit("/", 1)[1]]
            try:
                push_service.check_vapid(service, sub, auth)
                payload = json.loads(sub.decrypt(push_service.b64url_decode(body)))
            except (push_service.Reject, ValueError) as e:
                print("line %d: %s" % (lineno, getattr(e, "reason", e)), file=sys.stderr)
                return 1
            titles[payload["title"]] += 1
            checked += 1
    print(json.dumps({"checked": checked, "titles": titles}))
    return 0


def main():
    if sys.argv[1:2] == ["keys"] and len(sys.argv) == 5:
        make_keys(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        return 0
    if sys.argv[1:2] == ["check"] and len(sys.argv) == 7:
        return check(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
