"""HTTP plumbing shared by the CRM peers (hubspot.py, salesforce.py).

A threaded HTTP/1.1 server on 127.0.0.1 with keep-alive, optional TLS (the
handshake runs in the connection's own thread, so a slow client stalls
nobody), request bodies framed by Content-Length or chunked transfer coding,
one JSON log line per request (secrets masked), per-endpoint/status counts,
a port file written once listening, and a clean exit on SIGTERM.

A peer subclasses PeerApp, registers routes with route(), and handlers return
Response objects.  All peer state is guarded by PeerApp.lock (one lock).
"""
import argparse
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 32 << 20
# Parameters whose values are secrets: logged as their first 4 characters only.
SENSITIVE = {"code", "client_secret", "token", "refresh_token", "access_token", "code_verifier",
             "password", "assertion"}


def mask(value):
    return value[:4] + "..." if len(value) > 4 else "..."


def mask_query(raw):
    """The query string with the values of secret parameters cut short."""
    if not raw:
        return ""
    out = []
    for k, v in urllib.parse.parse_qsl(raw, keep_blank_values=True):
        out.append((k, mask(v) if k in SENSITIVE else v))
    return urllib.parse.urlencode(out)


def mask_path(path):
    """Path segments long enough to be tokens (v1 token paths) are cut short."""
    return "/".join(mask(s) if len(s) > 40 else s for s in path.split("/"))


def iso_ms(t):
    """Unix seconds -> 2026-11-29T10:15:00.123Z (UTC, milliseconds)."""
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def correlation_id():
    return str(uuid.uuid4())


class Request:
    def __init__(self, handler, body):
        self.method = handler.command
        self.target = handler.path
        parts = urllib.parse.urlsplit(handler.path)
        self.path = parts.path
        self.raw_query = parts.query
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.headers = handler.headers
        self.body = body
        self.client = handler.client_address[0]
        self.arrival = time.time()
        self.mono = time.monotonic()
        self.tls = handler.server.tls_ctx is not None
        self.port = handler.server.server_address[1]

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def form(self):
        """The application/x-www-form-urlencoded body as a dict (first value wins)."""
        out = {}
        for k, v in urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True):
            out.setdefault(k, v)
        return out

    def json(self):
        """The JSON body; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def base_url(self):
        """scheme://host:port as the client addressed this server."""
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.port
        return ("https" if self.tls else "http") + "://" + host


class Response:
    def __init__(self, status, body=b"", headers=None, log=None, endpoint=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.headers = list(headers or [])
        self.log = log or {}
        self.endpoint = endpoint


def json_response(status, obj, headers=None, **kw):
    h = [("Content-Type", "application/json;charset=UTF-8")] + list(headers or [])
    return Response(status, json.dumps(obj, separators=(",", ":")), h, **kw)


def text_response(status, text, ctype="text/plain;charset=UTF-8", headers=None, **kw):
    return Response(status, text, [("Content-Type", ctype)] + list(headers or []), **kw)


def redirect(location, **kw):
    return Response(302, b"", [("Location", location)], **kw)


class Window:
    """Arrivals in a rolling window of `span` seconds (monotonic clock), with the
    largest number ever seen inside one window."""

    def __init__(self, span):
        self.span = span
        self.times = deque()
        self.max_seen = 0

    def trim(self, now):
        while self.times and self.times[0] <= now - self.span:
            self.times.popleft()

    def count(self, now):
        self.trim(now)
        return len(self.times)

    def arrive(self, now):
        """Records one arrival; returns how many arrived in the window before it."""
        before = self.count(now)
        self.times.append(now)
        self.max_seen = max(self.max_seen, before + 1)
        return before

    def free_in(self, now, limit):
        """Seconds until fewer than `limit` arrivals remain in the window."""
        self.trim(now)
        if len(self.times) < limit:
            return 0.0
        return self.times[len(self.times) - limit] + self.span - now


class PeerApp:
    """Routing, stats and logging; subclasses add routes and state."""
    server_header = "peer"

    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.routes = []
        self.counts = {}
        self.total = 0
        self.logfile = open(args.log, "a", buffering=1) if getattr(args, "log", None) else None

    def route(self, method, pattern, endpoint, fn):
        self.routes.append((method, re.compile(pattern), endpoint, fn))

    def not_found(self, req):
        return text_response(404, "Not Found")

    def count(self, endpoint, status):
        with self.lock:
            per = self.counts.setdefault(endpoint, {})
            per[str(status)] = per.get(str(status), 0) + 1
            self.total += 1

    def reset_counts(self):
        with self.lock:
            self.counts = {}
            self.total = 0

    def dispatch(self, req):
        endpoint, resp = "unmatched", None
        allowed = []
        try:
            for method, rx, name, fn in self.routes:
                m = rx.fullmatch(req.path)
                if not m:
                    continue
                if method != req.method:
                    allowed.append(method)
                    continue
                endpoint = "%s %s" % (method, name)
                if name.startswith("/__admin/") and not (req.client.startswith("127.") or req.client == "::1"):
                    resp = text_response(403, "admin API is loopback only")
                else:
                    resp = fn(req, *m.groups())
                break
            if resp is None:
                resp = (text_response(405, "Method Not Allowed", headers=[("Allow", ", ".join(allowed))])
                        if allowed else self.not_found(req))
        except Exception:
            traceback.print_exc()
            resp = text_response(500, "internal error in peer")
        if resp.endpoint:
            endpoint = resp.endpoint
        self.count(endpoint, resp.status)
        self.write_log(req, resp, endpoint)
        return resp

    def write_log(self, req, resp, endpoint):
        if not self.logfile:
            return
        entry = {"t": round(req.arrival, 6), "method": req.method, "path": mask_path(req.path),
                 "query": mask_query(req.raw_query), "status": resp.status, "endpoint": endpoint}
        entry.update(resp.log)
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self.lock:
            self.logfile.write(line)

    def close(self):
        if self.logfile:
            self.logfile.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed after this
    wbufsize = 1 << 16  # head and body leave in one write (no Nagle/delayed-ACK stall)

    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = self.server.tls_ctx
        if ctx is not None:
            self.request.settimeout(30)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle_expect_100(self):
        ok = super().handle_expect_100()
        self.wfile.flush()  # the client waits for "100 Continue" before sending the body
        return ok

    def version_string(self):
        return self.server.app.server_header

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        """The request body, or raises ValueError for bad framing."""
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise ValueError("unsupported transfer coding")
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1026)
                if not line.endswith(b"\n"):
                    raise ValueError("bad chunk size line")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(8194) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                data = self.rfile.read(size)
                if len(data) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    raise ValueError("truncated chunk")
                chunks.append(data)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        if not cl.strip().isdigit() or int(cl) > MAX_BODY:
            raise ValueError("bad Content-Length")
        data = self.rfile.read(int(cl))
        if len(data) != int(cl):
            raise ValueError("truncated body")
        return data

    def serve(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.reply(Response(400, b"bad request framing", [("Content-Type", "text/plain")]))
            return
        resp = self.server.app.dispatch(Request(self, body))
        self.reply(resp)

    def reply(self, resp):
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError, BrokenPipeError)):
            return
        traceback.print_exc()


def common_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port-file", required=True, help="write the bound port here once listening")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with this certificate")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--client-id", default="wib-test-client")
    ap.add_argument("--client-secret", default="wib-test-secret")
    ap.add_argument("--redirect-uri", action="append", default=[],
                    help="allowed OAuth redirect URI (repeatable; none given: any)")
    return ap


def serve(app, args):
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.tls[0], args.tls[1])
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.app = app
    httpd.tls_ctx = ctx
    app.port = httpd.server_address[1]
    app.scheme = "https" if ctx else "http"

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(app.port))
    os.rename(tmp, args.port_file)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        app.close()
