#!/usr/bin/env python3
"""A Web Push service on loopback (RFC 8030, RFC 8291, RFC 8292): subscriptions with
their own P-256 keys, and a push endpoint that checks what a real push service
checks (RFC 8030 headers, RFC 8292 VAPID, RFC 8291 / RFC 8188 aes128gcm) and
decrypts every message with the subscription's private key, as the browser
would.  HTTPS (or plain HTTP without --tls), HTTP/1.1 keep-alive, one thread
per connection.

POST /push/<id>            a push message; checks, in order:
    unknown id 404, gone 410, body over 4096 bytes 413, TTL missing or not a
    non-negative integer 400, Urgency not very-low|low|normal|high 400, Topic
    not 1-32 base64url characters 400, Content-Encoding not aes128gcm (on a
    non-empty body) 415, Authorization not "vapid t=<jwt>, k=<key>" or the JWT
    not ES256-signed by k, aud not this server's origin, exp not in the next
    24 h, sub not a mailto: or https: URI 401, k not the subscription's
    application server key (when it has one) 403, body not decrypting 400;
    then any injected behaviour; then 201 with Location and TTL, and one JSON
    line in --log: {"id", "ts", "ttl", "urgency", "topic", "payload",
    "payload_b64url", "vapid_k", "jwt_claims", "message_id"}.
POST /__admin/subscriptions {"count": N, "application_server_key": k?}
    creates N subscriptions and answers them in PushSubscription JSON shape:
    [{"endpoint", "keys": {"p256dh", "auth"}}] (plus "id").
GET  /__admin/subscriptions     all subscriptions, with "gone".
POST /__admin/behaviour {"id": <id or "*">, "status": 404|410|413|429|500
    or null to clear, "retry_after": seconds or null, "times": n or null}
    answers the next n valid pushes (all, when null) to id (any, for "*"; a
    rule for the id comes first) with that status; 410 marks the
    subscription gone for good.
GET  /__admin/stats        {"requests", "accepted", "by_status": {code: n},
                            "rejections": the last 100 [{"id", "status", "reason"}]}
GET  /__admin/messages     the accepted messages, as logged
POST /__admin/reset        forgets messages, stats and behaviours

Usage: push_service.py --port-file F [--log F] [--tls CERT KEY]
                       [--subscriptions N] [--state F] [--port P]
--state F is rewritten with all subscriptions (public parts only) whenever
they change, before --port-file is written at start.  SIGTERM stops it.
"""
import argparse
import base64
import binascii
import collections
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAX_BODY = 4096
MAX_TTL = 2419200                       # four weeks, as services cap it
MAX_EXP_AHEAD = 86400                   # RFC 8292 section 2
URGENCIES = ("very-low", "low", "normal", "high")
INJECTABLE = (404, 410, 413, 429, 500)
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 410: "Gone",
           411: "Length Required", 413: "Payload Too Large", 415: "Unsupported Media Type",
           429: "Too Many Requests", 500: "Internal Server Error"}


class Reject(Exception):
    """A push refused with an HTTP status and a short reason."""

    def __init__(self, status, reason, headers=None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    """Strict unpadded base64url; ValueError otherwise."""
    if not B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as e:
        raise ValueError(str(e))


def p256_point(raw):
    """The public key of a 65-byte uncompressed P-256 point; ValueError otherwise."""
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def hmac256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


class Subscription:
    def __init__(self, origin, application_server_key=None):
        self.id = secrets.token_urlsafe(12)
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.p256dh = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint)
        self.auth = os.urandom(16)
        self.endpoint = "%s/push/%s" % (origin, self.id)
        self.application_server_key = application_server_key
        self.gone = False

    def public(self):
        return {"id": self.id, "endpoint": self.endpoint,
                "keys": {"p256dh": b64url(self.p256dh), "auth": b64url(self.auth)}}

    def decrypt(self, body):
        """RFC 8291 / RFC 8188: the plaintext of a one-record aes128gcm body."""
        if len(body) < 86 + 17:
            raise ValueError("body shorter than header, delimiter and tag")
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        if idlen != 65:
            raise ValueError("keyid is not a 65-byte P-256 point")
        keyid, record = body[21:86], body[86:]
        if rs < 18:
            raise ValueError("record size below 18")
        if len(record) > rs:
            raise ValueError("more than one record")
        ecdh_secret = self.private_key.exchange(ec.ECDH(), p256_point(keyid))
        prk_key = hmac256(self.auth, ecdh_secret)
        ikm = hmac256(prk_key, b"WebPush: info\0" + self.p256dh + keyid + b"\x01")
        prk = hmac256(salt, ikm)
        cek = hmac256(prk, b"Content-Encoding: aes128gcm\0\x01")[:16]
        nonce = hmac256(prk, b"Content-Encoding: nonce\0\x01")[:12]
        try:
            padded = AESGCM(cek).decrypt(nonce, record, None)
        except InvalidTag:
            raise ValueError("authentication tag does not match")
        text = padded.rstrip(b"\0")
        if not text or text[-1] != 2:
            raise ValueError("record does not end with the last-record delimiter 0x02")
        return text[:-1]


class Service:
    """Subscriptions, behaviours, statistics and the log, behind one lock."""

    def __init__(self, origin, log_path, state_path):
        self.origin = origin
        self.lock = threading.Lock()
        self.subs = {}
        self.behaviours = {}
        self.stats = collections.Counter()
        self.rejections = collections.deque(maxlen=100)
        self.messages = []
        self.accepted = 0
        self.requests = 0
        self.log = open(log_path, "a") if log_path else None
        self.state_path = state_path

    def create(self, count, application_server_key=None):
        with self.lock:
            made = [Subscription(self.origin, application_server_key) for _ in range(count)]
            for s in made:
                self.subs[s.id] = s
            self.write_state()
        return made

    def write_state(self):
        if not self.state_path:
            return
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump([s.public() for s in self.subs.values()], f, indent=1)
        os.rename(tmp, self.state_path)

    def injected(self, sub):
        """The status a behaviour rule gives this push, with its Retry-After, or None."""
        with self.lock:
            for key in (sub.id, "*"):
                rule = self.behaviours.get(key)
                if rule is None:
                    continue
                if rule["times"] is not None:
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        del self.behaviours[key]
                if rule["status"] == 410:
                    sub.gone = True
                return rule["status"], rule["retry_after"]
        return None

    def count(self, sub_id, status, reason=None):
        with self.lock:
            self.requests += 1
            self.stats[status] += 1
            if status == 201:
                self.accepted += 1
            else:
                self.rejections.append({"id": sub_id, "status": status, "reason": reason})

    def record(self, entry):
        with self.lock:
            self.messages.append(entry)
            if self.log:
                self.log.write(json.dumps(entry) + "\n")
                self.log.flush()


def parse_vapid(header):
    """(jwt, k) of an Authorization header "vapid t=<jwt>, k=<key>"."""
    scheme, _, rest = (header or "").strip().partition(" ")
    if scheme.lower() != "vapid":
        raise Reject(401, "Authorization must use the vapid scheme")
    params = {}
    for item in rest.split(","):
        name, eq, value = item.strip().partition("=")
        if not eq:
            raise Reject(401, "malformed vapid parameter")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        params[name.strip().lower()] = value
    if "t" not in params or "k" not in params:
        raise Reject(401, "vapid needs t and k")
    return params["t"], params["k"]


def check_vapid(service, sub, header):
    """Checks the VAPID token as RFC 8292 says; returns (k, claims)."""
    jwt, k = parse_vapid(header)
    try:
        key_raw = b64url_decode(k)
        key = p256_point(key_raw)
    except ValueError:
        raise Reject(401, "k is not a base64url uncompressed P-256 point")
    parts = jwt.split(".")
    if len(parts) != 3:
        raise Reject(401, "token is not three parts")
    try:
        header_json = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except ValueError:
        raise Reject(401, "token parts are not base64url JSON")
    if not isinstance(header_json, dict) or header_json.get("alg") != "ES256":
        raise Reject(401, "token alg is not ES256")
    if "typ" in header_json and str(header_json["typ"]).upper() != "JWT":
        raise Reject(401, "token typ is not JWT")
    if not isinstance(claims, dict):
        raise Reject(401, "token claims are not an object")
    if len(sig) != 64:
        raise Reject(401, "signature is not 64 bytes r||s")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, (parts[0] + "." + parts[1]).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Reject(401, "token signature does not verify with k")
    if claims.get("aud") != service.origin:
        raise Reject(401, "aud is not %s" % service.origin)
    exp = claims.get("exp")
    now = time.time()
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise Reject(401, "exp is not an integer")
    if exp <= now:
        raise Reject(401, "token expired")
    if exp > now + MAX_EXP_AHEAD:
        raise Reject(401, "exp more than 24 hours ahead")
    sub_claim = claims.get("sub")
    if not isinstance(sub_claim, str) or not sub_claim.lower().startswith(("mailto:", "https:")):
        raise Reject(401, "sub is not a mailto: or https: URI")
    if sub.application_server_key is not None and key_raw != sub.application_server_key:
        raise Reject(403, "k is not this subscription's application server key")
    return k, claims


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "push-service"
    timeout = 30

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=None, close=False):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        elif isinstance(body, str):
            body = body.encode()
            headers = dict(headers or {}, **{"Content-Type": "text/plain"})
        self.send_response(status, REASONS.get(status))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        if close or self.close_connection:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def read_body(self, limit):
        """The body, or None (after answering) when it cannot or should not be read."""
        if self.headers.get("Transfer-Encoding"):
            self.answer(411, "send Content-Length, not chunks", close=True)
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.answer(400, "bad Content-Length", close=True)
            return None
        if length > limit:
            self.close_connection = True    # the unread body would be taken for the next request
            return length
        return self.rfile.read(length)

    def read_json(self):
        body = self.read_body(1 << 20)
        if body is None:
            return None
        try:
            return json.loads(body or b"{}")
        except (ValueError, TypeError):
            self.answer(400, "body is not JSON")
            return None

    def do_GET(self):
        service = self.server.service
        if self.path == "/__admin/stats":
            with service.lock:
                self.answer(200, {"requests": service.requests, "accepted": service.accepted,
                                  "by_status": {str(k): v for k, v in sorted(service.stats.items())},
                                  "rejections": list(service.rejections)})
        elif self.path == "/__admin/messages":
            with service.lock:
                self.answer(200, list(service.messages))
        elif self.path == "/__admin/subscriptions":
            with service.lock:
                self.answer(200, [dict(s.public(), gone=s.gone) for s in service.subs.values()])
        else:
            self.answer(404, "no such resource")

    def do_POST(self):
        service = self.server.service
        if self.path.startswith("/push/"):
            self.push(service, self.path[len("/push/"):])
        elif self.path == "/__admin/subscriptions":
            req = self.read_json()
            if req is None:
                return
            count = req.get("count", 1) if isinstance(req, dict) else None
            ask = req.get("application_server_key") if isinstance(req, dict) else None
            try:
                if not isinstance(count, int) or not 0 <= count <= 10000:
                    raise ValueError("count")
                ask = b64url_decode(ask) if ask else None
                if ask is not None:
                    p256_point(ask)
            except ValueError:
                self.answer(400, "count must be 0-10000, application_server_key a P-256 point")
                return
            self.answer(200, [s.public() for s in service.create(count, ask)])
        elif self.path == "/__admin/behaviour":
            self.behaviour(service)
        elif self.path == "/__admin/reset":
            self.read_body(1 << 20)
            with service.lock:
                service.messages.clear()
                service.stats.clear()
                service.rejections.clear()
                service.behaviours.clear()
                service.accepted = service.requests = 0
            self.answer(200, {})
        else:
            self.read_body(1 << 20)
            self.answer(404, "no such resource")

    def do_PUT(self):
        self.read_body(1 << 20)
        self.answer(405, "POST only", headers={"Allow": "POST"})

    do_DELETE = do_PATCH = do_PUT

    def behaviour(self, service):
        req = self.read_json()
        if req is None:
            return
        if not isinstance(req, dict) or not isinstance(req.get("id"), str):
            self.answer(400, "id is required")
            return
        status, retry_after, times = req.get("status"), req.get("retry_after"), req.get("times")
        with service.lock:
            if status is None:
                service.behaviours.pop(req["id"], None)
            elif status in INJECTABLE and (retry_after is None or isinstance(retry_after, int)) \
                    and (times is None or (isinstance(times, int) and times > 0)):
                service.behaviours[req["id"]] = {"status": status, "retry_after": retry_after,
                                                 "times": times}
            else:
                self.answer(400, "status must be one of %s, retry_after and times integers or null"
                            % (INJECTABLE,))
                return
            rules = dict(service.behaviours)
        self.answer(200, rules)

    def push(self, service, sub_id):
        body = self.read_body(MAX_BODY)
        if body is None:
            return
        sub = service.subs.get(sub_id)
        try:
            if sub is None:
                raise Reject(404, "no such subscription")
            if sub.gone:
                raise Reject(410, "subscription expired")
            if isinstance(body, int):
                raise Reject(413, "body of %d bytes is over %d" % (body, MAX_BODY))
            ttl = self.headers.get("TTL")
            if ttl is None or not ttl.strip().isdigit():
                raise Reject(400, "TTL header is required (seconds)")
            ttl = min(int(ttl), MAX_TTL)
            urgency = self.headers.get("Urgency")
            if urgency is not None and urgency not in URGENCIES:
                raise Reject(400, "Urgency must be one of %s" % "|".join(URGENCIES))
            topic = self.headers.get("Topic")
            if topic is not None and not (len(topic) <= 32 and B64URL.match(topic)):
                raise Reject(400, "Topic must be 1-32 base64url characters")
            encoding = self.headers.get("Content-Encoding")
            if body and (encoding or "").strip().lower() != "aes128gcm":
                raise Reject(415, "Content-Encoding must be aes128gcm")
            k, claims = check_vapid(service, sub, self.headers.get("Authorization"))
            try:
                payload = sub.decrypt(body) if body else None
            except ValueError as e:
                raise Reject(400, "body does not decrypt: %s" % e)
            injected = service.injected(sub)
            if injected:
                status, retry_after = injected
                headers = {"Retry-After": retry_after} if retry_after is not None else {}
                raise Reject(status, "injected", headers)
        except Reject as e:
            service.count(sub_id, e.status, e.reason)
            self.answer(e.status, e.reason, headers=e.headers)
            return
        message_id = uuid.uuid4().hex
        try:
            text = payload.decode("utf-8") if payload is not None else None
        except UnicodeDecodeError:
            text = None
        entry = {"id": sub.id, "ts": time.time(), "ttl": ttl, "urgency": urgency or "normal",
                 "topic": topic, "payload": text,
                 "payload_b64url": b64url(payload) if payload is not None else None,
                 "vapid_k": k, "jwt_claims": claims, "message_id": message_id}
        service.record(entry)
        service.count(sub.id, 201)
        self.answer(201, b"", headers={"Location": "%s/message/%s" % (service.origin, message_id),
                                       "TTL": ttl})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass                            # failed handshakes and dropped connections


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--subscriptions", type=int, default=0)
    ap.add_argument("--state")
    args = ap.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*args.tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    port = server.server_address[1]
    origin = "%s://127.0.0.1:%d" % ("https" if args.tls else "http", port)
    server.service = Service(origin, args.log, args.state)
    server.service.create(args.subscriptions)
    server.service.write_state()

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if server.service.log:
            server.service.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
