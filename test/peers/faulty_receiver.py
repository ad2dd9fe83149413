#!/usr/bin/env python3
"""A misbehaving webhook receiver for the fault tests (test/t/07x_faults_*.pl):
an HTTP/1.1 server on loopback, optionally TLS, that fails the way real
receivers and the networks in front of them fail.  Every request is logged as
one JSON line ({"t", "path", "id", "attempt", "fault", "body"}) before it is
answered, so a test counts what arrived even when the answer never does.

Paths (n counts the attempts of each webhook-id on that path):
  /ok                 200
  /reset/<n>          the first n attempts: a response head and part of the
                      body, then the connection is reset (RST); after: 200
  /trickle/<n>        the first n attempts: the response one byte a second;
                      after: 200 at once
  /slow/<seconds>     the first attempt waits that long, then 200; after: 200 at once

TLS: --tls CERT KEY serves that certificate; SIGHUP reloads both files, so a
test can swap a bad certificate for a good one while the server runs.
--tls-garbage answers every connection with plain text instead of a TLS
handshake.

Usage: faulty_receiver.py --port-file F --log F [--tls CERT KEY | --tls-garbage]
"""
import argparse
import json
import os
import signal
import socket
import ssl
import struct
import threading
import time

TRICKLE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Receiver:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.attempts = {}
        self.log = open(args.log, "a", buffering=1)
        self.ctx = None
        if args.tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(args.tls[0], args.tls[1])

    def reload(self, signum, frame):
        """SIGHUP: a fresh TLS context from the (possibly replaced) certificate files."""
        if self.args.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.args.tls[0], self.args.tls[1])
            self.ctx = ctx

    def serve(self, conn):
        try:
            if self.args.tls_garbage:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            if self.ctx is not None:
                conn.settimeout(10)
                conn = self.ctx.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                while len(buf) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                if not self.answer(conn, path, headers.get("webhook-id", ""), body):
                    return
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def answer(self, conn, path, msg_id, body):
        """Answers one request; False when the connection is finished."""
        parts = path.strip("/").split("/")
        kind, arg = parts[0], (parts[1] if len(parts) > 1 else "0")
        with self.lock:
            key = (path, msg_id)
            attempt = self.attempts[key] = self.attempts.get(key, 0) + 1
        fault = None
        if kind == "reset" and attempt <= int(arg):
            fault = "reset"
        elif kind == "trickle" and attempt <= int(arg):
            fault = "trickle"
        entry = {"t": time.time(), "path": path, "id": msg_id, "attempt": attempt, "fault": fault,
                 "body": body.decode("utf-8", "replace")}
        with self.lock:
            self.log.write(json.dumps(entry) + "\n")

        if fault == "reset":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\npart")
            time.sleep(0.1)
            # SO_LINGER 0: close() sends RST, not FIN (nor a TLS close_notify).
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault == "trickle":
            for i in range(len(TRICKLE)):
                conn.sendall(TRICKLE[i:i + 1])
                time.sleep(1)
            return False
        if kind == "slow" and attempt == 1:
            time.sleep(float(arg))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--tls-garbage", action="store_true")
    ap.add_argument("--secrets-file", help="accepted for WibWebhooks.start_receiver; unused")
    args = ap.parse_args()

    rx = Receiver(args)
    signal.signal(signal.SIGHUP, rx.reload)
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(128)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    while True:
        try:
            conn, _ = srv.accept()
        except InterruptedError:
            continue
        threading.Thread(target=rx.serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
