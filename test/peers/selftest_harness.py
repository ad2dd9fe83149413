"""Harness of the CRM peers' self-test: TAP results, a throwaway CA made by
openssl, and peer processes with one keep-alive HTTP(S) connection each."""
import http.client
import json
import os
import secrets
import signal
import ssl
import subprocess
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_ID, CLIENT_SECRET = "selftest-client", "selftest-secret-" + secrets.token_hex(8)
REDIRECT = "https://app.example.com/oauth/callback?tenant=7"
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append((bool(ok), name, detail))
    return bool(ok)


def make_ca(d):
    def ssl_cmd(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n"
                "keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n")
    ssl_cmd("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=wib selftest CA", "-keyout", d + "/ca.key", "-out", d + "/ca.pem")
    ssl_cmd("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
            "-keyout", d + "/server.key", "-out", d + "/server.csr")
    ssl_cmd("x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", d + "/server.ext", "-out", d + "/server.pem")
    return d + "/ca.pem", d + "/server.pem", d + "/server.key"


class Peer:
    """A peer process and one keep-alive HTTPS (or HTTP) connection to it."""

    def __init__(self, d, name, script, args, tls=None, ca=None):
        self.name, self.dir = name, d
        self.port_file, self.log = "%s/%s.port" % (d, name), "%s/%s.log" % (d, name)
        cmd = ["/usr/bin/python3", os.path.join(HERE, script), "--port-file", self.port_file, "--log", self.log,
               "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET] + args
        if tls:
            cmd += ["--tls", tls[0], tls[1]]
        self.out = open("%s/%s.out" % (d, name), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(self.port_file):
                break
            time.sleep(0.05)
        self.port = int(open(self.port_file).read())
        self.ctx = ssl.create_default_context(cafile=ca) if tls else None
        self.base = "%s://localhost:%d" % ("https" if tls else "http", self.port)
        self.conn = None

    def connect(self):
        if self.ctx:
            return http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=20)
        return http.client.HTTPConnection("localhost", self.port, timeout=20)

    def call(self, method, path, body=None, headers=None, form=None, token=None, chunked=False):
        h = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        elif isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        data = body.encode() if isinstance(body, str) else body
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self.connect()
            try:
                if chunked:
                    parts = [data[i:i + 7] for i in range(0, len(data), 7)]
                    self.conn.request(method, path, iter(parts), h, encode_chunked=True)
                else:
                    self.conn.request(method, path, data, h)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, parsed

    def admin(self, path, body=None):
        s, _, b = self.call("POST" if body is not None else "GET", "/__admin/" + path, body)
        if s != 200:
            raise RuntimeError("admin %s -> %s %s" % (path, s, b))
        return b

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def qs(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


# ---------------------------------------------------------------- HubSpot
