#!/usr/bin/env python3
"""Telnyx stand-in for the inbound IVR tests (PROTOCOLS.md section 3).

Telnyx calls the platform's IVR route with an application/x-www-form-urlencoded
body, signed with the account's Ed25519 key: header telnyx-signature-ed25519 is
base64(Ed25519(timestamp + "|" + raw_body)), header telnyx-timestamp is Unix
seconds.  This peer builds exactly those callbacks, signing with a real key
made by `openssl genpkey -algorithm ed25519` (signed with python3-cryptography,
or the openssl command when it is missing: the standard library has no
Ed25519), and reads the TeXML
answers the way Telnyx would, with an XML parser of its own (xml.etree).

Commands (JSON on stdout):
  pubkey KEY.pem
      {"public_key": base64 of the 32 raw bytes}
  callback KEY.pem KIND [name=value ...] [--ts-offset=S] [--tamper]
      {"body_hex", "signature", "timestamp", "kind", "headers"}; --tamper
      changes the body after signing, --ts-offset moves the timestamp.
  callbacks KEY.pem
      reads JSON [{"kind", "fields": {name: value}}, ...] on stdin and prints
      the list of signed callbacks, as callback does for each.
  parse
      reads JSON {"documents": [...]} on stdin, parses each TeXML document and
      prints {"ok": bool, "errors": [...], "documents": [[verb, attrs, text, children], ...]}.
  serve --port-file F --api-key KEY [--tls CERT KEY] [--log L] [--connection-id ID]
        [--pending-polls N]
      plays Telnyx's API v2 (api.telnyx.com) over HTTP(S) on 127.0.0.1, as
      described in telnyx_api.py.
"""
import sys

sys.dont_write_bytecode = True

import base64
import json
import os
import subprocess
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET

ACCOUNT_SID = "ACtelnyx-test-account"
TEXML_VERBS = {"Say", "Play", "Gather", "Dial", "Number", "Record", "Redirect", "Pause",
               "Hangup", "Reject"}


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def public_key(key_path):
    der = openssl("pkey", "-in", key_path, "-pubout", "-outform", "DER")
    return base64.b64encode(der[-32:]).decode()


_keys = {}


def sign(key_path, message):
    """base64(Ed25519(message)): with python3-cryptography when installed (many
    callbacks at once), else with the openssl command."""
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        return sign_openssl(key_path, message)
    if key_path not in _keys:
        with open(key_path, "rb") as f:
            _keys[key_path] = serialization.load_pem_private_key(f.read(), password=None)
    return base64.b64encode(_keys[key_path].sign(message)).decode()


def sign_openssl(key_path, message):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(message)
        path = f.name
    try:
        sig = openssl("pkeyutl", "-sign", "-inkey", key_path, "-rawin", "-in", path)
    finally:
        os.unlink(path)
    return base64.b64encode(sig).decode()


def callback(key_path, kind, pairs, ts_offset=0, tamper=False):
    fields = [("AccountSid", ACCOUNT_SID)]
    fields += pairs
    sid = dict(pairs).get("CallSid", "")
    fields.append(("CallSidLegacy", sid.replace("v3:", "")))
    body = urllib.parse.urlencode(fields).encode()
    ts = str(int(time.time()) + ts_offset)
    signature = sign(key_path, ts.encode() + b"|" + body)
    if tamper:
        body = body.replace(b"Digits=", b"Digits=9", 1) if b"Digits=" in body else body + b"&Digits=9"
    return {"kind": kind, "body_hex": body.hex(), "signature": signature, "timestamp": ts,
            "headers": {"Content-Type": "application/x-www-form-urlencoded",
                        "telnyx-signature-ed25519": signature, "telnyx-timestamp": ts}}


def describe(el):
    return [el.tag, dict(el.attrib), el.text or "", [describe(c) for c in el]]


def parse(documents):
    errors, parsed = [], []
    for i, doc in enumerate(documents):
        try:
            if not doc.startswith('<?xml version="1.0" encoding="UTF-8"?>'):
                raise ValueError("no XML declaration")
            root = ET.fromstring(doc.encode("utf-8"))
            if root.tag != "Response":
                raise ValueError("root is %s, not Response" % root.tag)
            for el in root.iter():
                if el is not root and el.tag not in TEXML_VERBS:
                    raise ValueError("unknown verb %s" % el.tag)
            verbs = [c.tag for c in root]
            if "Reject" in verbs and verbs[0] != "Reject":
                raise ValueError("Reject must be the first verb")
            parsed.append(describe(root)[3])
        except (ET.ParseError, ValueError) as e:
            errors.append("document %d: %s" % (i, e))
            parsed.append(None)
    return {"ok": not errors, "errors": errors, "documents": parsed}


def main(argv):
    cmd = argv[1]
    if cmd == "serve":
        import telnyx_api
        telnyx_api.serve(argv[2:])
        return
    if cmd == "pubkey":
        out = {"public_key": public_key(argv[2])}
    elif cmd == "callback":
        pairs, ts_offset, tamper = [], 0, False
        for a in argv[4:]:
            if a.startswith("--ts-offset="):
                ts_offset = int(a.split("=", 1)[1])
            elif a == "--tamper":
                tamper = True
            else:
                k, v = a.split("=", 1)
                pairs.append((k, v))
        out = callback(argv[2], argv[3], pairs, ts_offset, tamper)
    elif cmd == "callbacks":
        out = [callback(argv[2], c["kind"], sorted(c["fields"].items())) for c in json.load(sys.stdin)]
    elif cmd == "parse":
        out = parse(json.load(sys.stdin)["documents"])
    else:
        raise SystemExit("unknown command " + cmd)
    json.dump(out, sys.stdout, ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
