#!/usr/bin/env python3
"""An HTTP/1.1 (optionally TLS) peer on loopback for the outbound HTTP engine's
tests: large and binary bodies, echoes, chosen response headers, slow answers.
Every request is logged as one JSON line (method, request target, headers in
order, body length and SHA-256) before it is answered.

Paths (any method unless said):
  /bytes/<n>[?chunked=1]   n deterministic pseudo-random bytes (SHA-256 counter
                           stream); X-Body-SHA256 is their hex digest; chunked
                           sends no Content-Length
  /text/<n>                n ASCII letters, "abc...z" repeated
  /echo                    the request body back; X-Method, X-Body-Length,
                           X-Body-SHA256 describe the request
  /headers                 fixed headers in a fixed order, with duplicates and a
                           Retry-After HTTP date two minutes ahead
  /early-hints             a 103 Early Hints (Link) before the final 200
  /retry-after-date/<s>    503 with Retry-After as an HTTP date s seconds ahead
  /sleep/<ms>              waits, then 200 "ok"

With --record it is no HTTP server at all: it accepts TCP connections, logs
each one (and the first bytes sent on it) and closes it; a stand-in for a
proxy that must never be used.

Usage: http_echo.py --port-file F --log F [--tls CERT KEY] [--record]
                    [--secrets-file F (ignored)]
"""
import argparse
import email.utils
import hashlib
import http.server
import json
import os
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse

FIXED_HEADERS = [
    ("X-Dup", "one"),
    ("x-lower-case", "lower"),
    ("X-Dup", "two"),
    ("Set-Cookie", "a=1; Path=/"),
    ("Set-Cookie", "b=2; Path=/"),
    ("X-MiXeD-Case", "Value With  Spaces"),
]


def stream_bytes(n):
    """n bytes of the SHA-256 counter stream: block i is sha256(i as 8 bytes big-endian)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:n])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "http_echo/1"

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def send(self, status, body=b"", headers=(), chunked=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if chunked:
            for off in range(0, len(body), 65536):
                part = body[off:off + 65536]
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def handle_any(self):
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        kind, arg = parts[0], (parts[1] if len(parts) > 1 else "0")
        entry = {
            "t": time.time(), "method": self.command, "target": self.path, "path": url.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "user_agent": self.headers.get("User-Agent"),
            "webhook_timestamp": self.headers.get("webhook-timestamp"),
            "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        self.server.log(entry)

        if kind == "bytes":
            data = stream_bytes(int(arg))
            self.send(200, data, [("Content-Type", "application/octet-stream"),
                                  ("X-Body-SHA256", hashlib.sha256(data).hexdigest())],
                      chunked=query.get("chunked") == ["1"])
        elif kind == "text":
            n = int(arg)
            alphabet = b"abcdefghijklmnopqrstuvwxyz"
            self.send(200, (alphabet * (n // 26 + 1))[:n], [("Content-Type", "text/plain")])
        elif kind == "echo":
            self.send(200, body, [("Content-Type", "application/octet-stream"), ("X-Method", self.command),
                                  ("X-Body-Length", str(len(body))),
                                  ("X-Body-SHA256", hashlib.sha256(body).hexdigest())])
        elif kind == "headers":
            when = email.utils.formatdate(time.time() + 120, usegmt=True)
            self.send(200, b"headers", FIXED_HEADERS + [("Retry-After", when)])
        elif kind == "early-hints":
            self.send_response_only(103)
            self.send_header("Link", "</style.css>; rel=preload")
            self.end_headers()
            self.send(200, b"final", [("X-Final", "yes")])
        elif kind == "retry-after-date":
            when = email.utils.formatdate(time.time() + int(arg), usegmt=True)
            self.send(503, b"busy", [("Retry-After", when)])
        elif kind == "sleep":
            time.sleep(int(arg) / 1000.0)
            self.send(200, b"ok")
        else:
            self.send(404, b"not found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, log_path, ctx):
        super().__init__(addr, Handler)
        self.ctx = ctx
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ctx is not None:
            # The handshake happens in the handler's thread, on first read.
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def log(self, entry):
        with self.log_lock:
            self.log_file.write(json.dumps(entry) + "\n")


def record(listener, log_path):
    """Logs every connection made to listener with its first bytes; never answers."""
    log = open(log_path, "a", buffering=1)
    while True:
        conn, addr = listener.accept()
        conn.settimeout(2)
        try:
            first = conn.recv(4096)
        except OSError:
            first = b""
        log.write(json.dumps({"t": time.time(), "from": addr[0], "first": first.decode("latin-1")}) + "\n")
        conn.close()


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--secrets-file")
    args = ap.parse_args()

    if args.record:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", args.port))
        listener.listen(16)
        write_port(args.port_file, listener.getsockname()[1])
        record(listener, args.log)
        return

    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
    server = Server(("127.0.0.1", args.port), args.log, ctx)
    write_port(args.port_file, server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
