#!/usr/bin/env python3
"""A webhook receiver peer: an HTTP(S) server on loopback that verifies
Standard Webhooks signatures (PROTOCOLS.md section 1) and answers as told by
the request path, logging every request as one JSON line.

Paths:
  /ok                      200
  /status/<code>           that status
  /fail/<n>                500 for the first n attempts of each webhook-id, then 200
  /gone                    410
  /slow/<seconds>          sleeps, then 200
  /redirect                302 to /ok on the same server (must not be followed)
  /retry-after/<seconds>   503 with Retry-After on the first attempt of each id, then 200

Usage: webhook_receiver.py --port-file F --log F [--tls CERT KEY] [--secret S ...]
"""
import argparse
import base64
import hashlib
import hmac
import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ATTEMPTS = {}


def signature_valid(secrets, msg_id, ts, body, header):
    """True when any v1 entry of header signs msg_id.ts.body under any secret."""
    if not (msg_id and ts and header):
        return False
    try:
        if abs(time.time() - int(ts)) > 300:
            return False
    except ValueError:
        return False
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    given = [e.split(",", 1)[1] for e in header.split(" ") if e.startswith("v1,")]
    for secret in secrets:
        try:
            key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
        except ValueError:
            continue
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, g) for g in given):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"ok", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        sig = self.headers.get("webhook-signature", "")
        with LOCK:
            ATTEMPTS[(self.path, msg_id)] = ATTEMPTS.get((self.path, msg_id), 0) + 1
            attempt = ATTEMPTS[(self.path, msg_id)]
        entry = {
            "t": time.time(), "path": self.path, "id": msg_id, "ts": ts, "attempt": attempt,
            "valid": signature_valid(self.server.secrets, msg_id, ts, body, sig),
            "x_wib_same": self.headers.get("X-WIB-Signature") == sig,
            "signatures": len(sig.split(" ")) if sig else 0,
            "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"),
            "body": body.decode("utf-8", "replace"),
        }
        with LOCK:
            self.server.log.write(json.dumps(entry) + "\n")
            self.server.log.flush()

        parts = self.path.strip("/").split("/")
        kind = parts[0]
        arg = parts[1] if len(parts) > 1 else "0"
        if kind == "status":
            self.reply(int(arg))
        elif kind == "fail":
            self.reply(500 if attempt <= int(arg) else 200, b"boom" if attempt <= int(arg) else b"ok")
        elif kind == "gone":
            self.reply(410, b"gone")
        elif kind == "slow":
            time.sleep(float(arg))
            self.reply(200)
        elif kind == "redirect":
            self.reply(302, b"moved", {"Location": "/ok"})
        elif kind == "retry-after":
            if attempt == 1:
                self.reply(503, b"busy", {"Retry-After": arg})
            else:
                self.reply(200)
        else:
            self.reply(200)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--secret", action="append", default=[])
    ap.add_argument("--secrets-file", help="file with one secret per line, re-read on each request")
    args = ap.parse_args()

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 256

        @property
        def secrets(self):
            extra = []
            if args.secrets_file:
                try:
                    with open(args.secrets_file) as f:
                        extra = [l.strip() for l in f if l.strip()]
                except OSError:
                    pass
            return args.secret + extra

    server = Server(("127.0.0.1", args.port), Handler)
    server.log = open(args.log, "a")
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
