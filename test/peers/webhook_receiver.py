#!/usr/bin/env python3
"""A webhook receiver peer: an HTTP/1.1 (optionally TLS) server on loopback
that verifies Standard Webhooks signatures (as the specification defines them), answers
as the request path says, and logs every request as one JSON line before
answering.  asyncio with keep-alive, so it keeps up with the deliverer.

Paths:
  /ok                      200
  /status/<code>           that status
  /fail/<n>                500 for the first n attempts of each webhook-id, then 200
  /gone                    410
  /slow/<seconds>          waits, then 200
  /redirect                302 to /ok on the same server (must not be followed)
  /retry-after/<seconds>   503 with Retry-After on the first attempt of each id, then 200

Usage: webhook_receiver.py --port-file F --log F [--tls CERT KEY]
                           [--secret S ...] [--secrets-file F] [--print]
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import ssl
import time

REASONS = {200: "OK", 302: "Found", 410: "Gone", 500: "Internal Server Error", 503: "Service Unavailable"}


def load_secrets(args):
    secrets = list(args.secret)
    if args.secrets_file:
        try:
            with open(args.secrets_file) as f:
                secrets += [l.strip() for l in f if l.strip()]
        except OSError:
            pass
    keys = []
    for s in secrets:
        try:
            keys.append(base64.b64decode(s[len("whsec_"):] if s.startswith("whsec_") else s))
        except ValueError:
            pass
    return keys


def signature_valid(keys, msg_id, ts, body, header):
    """True when any v1 entry of header signs msg_id.ts.body under any key, ts within 5 minutes."""
    if not (msg_id and ts and header):
        return False
    try:
        if abs(time.time() - int(ts)) > 300:
            return False
    except ValueError:
        return False
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    given = [e.split(",", 1)[1] for e in header.split(" ") if e.startswith("v1,")]
    for key in keys:
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, g) for g in given):
            return True
    return False


class Receiver:
    def __init__(self, args):
        self.args = args
        self.attempts = {}
        self.log = open(args.log, "a", buffering=1)

    async def handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for l in lines[1:]:
                    if ":" in l:
                        k, v = l.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, rbody, extra = self.respond(method, path, headers, body)
                if status == "slow":
                    await asyncio.sleep(float(rbody))
                    status, rbody = 200, b"ok"
                out = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", f"Content-Length: {len(rbody)}",
                       "Content-Type: text/plain"] + [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + rbody)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def respond(self, method, path, headers, body):
        msg_id = headers.get("webhook-id", "")
        ts = headers.get("webhook-timestamp", "")
        sig = headers.get("webhook-signature", "")
        key = (path, msg_id)
        attempt = self.attempts[key] = self.attempts.get(key, 0) + 1
        entry = {
            "t": time.time(), "path": path, "id": msg_id, "ts": ts, "attempt": attempt,
            "valid": signature_valid(load_secrets(self.args), msg_id, ts, body, sig),
            "x_wib_same": headers.get("x-wib-signature") == sig,
            "signatures": len(sig.split(" ")) if sig else 0,
            "content_type": headers.get("content-type"),
            "user_agent": headers.get("user-agent"),
            "body": body.decode("utf-8", "replace"),
        }
        self.log.write(json.dumps(entry) + "\n")
        if self.args.print:
            try:
                event = json.loads(body)
            except ValueError:
                event = {}
            mark = "verified" if entry["valid"] else "REJECTED (bad signature)"
            print(f"[receiver] {mark}  webhook-id={msg_id}  type={event.get('type')}  "
                  f"data={json.dumps(event.get('data'), sort_keys=True)}", flush=True)

        parts = path.strip("/").split("/")
        kind, arg = parts[0], (parts[1] if len(parts) > 1 else "0")
        if kind == "status":
            return int(arg), b"status", {}
        if kind == "fail":
            return (500, b"boom", {}) if attempt <= int(arg) else (200, b"ok", {})
        if kind == "gone":
            return 410, b"gone", {}
        if kind == "slow":
            return "slow", arg, {}
        if kind == "redirect":
            return 302, b"moved", {"Location": "/ok"}
        if kind == "retry-after" and attempt == 1:
            return 503, b"busy", {"Retry-After": arg}
        return 200, b"ok", {}


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--secret", action="append", default=[])
    ap.add_argument("--secrets-file")
    ap.add_argument("--print", action="store_true", help="print one line per event received")
    args = ap.parse_args()

    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
    rx = Receiver(args)
    server = await asyncio.start_server(rx.handle, "127.0.0.1", args.port, ssl=ctx, backlog=512)
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
