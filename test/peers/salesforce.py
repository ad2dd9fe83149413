#!/usr/bin/python3
"""Salesforce stand-in for wib's CRM tests and benchmarks (Salesforce REST API and OAuth 2.0 web server flow).

One process plays the login host and the instance (point wib's login_url at it):
  GET  /services/oauth2/authorize   response_type=code, PKCE S256 required -> 302 with code
  POST /services/oauth2/token       authorization_code (+ code_verifier) | refresh_token
  POST /services/oauth2/revoke      token=...: an access token, or a refresh token and its family
  GET  /id/<org>/<user>             identity of the token's user
  GET  /services/data/              API versions
  /services/data/vNN.N/...          (any version; counted in stats)
    GET  query?q=, queryAll?q=      SOQL (salesforce_soql.py), batches, cursors
    GET  query/<locator>-<offset>   the rest of a query
    GET  sobjects/Contact|Lead/deleted/?start=&end=
    POST sobjects/Task              a call logged as a Task
    GET  sobjects/<Object>/<id>     one record
    GET  limits
Token responses carry no expires_in; a session lasts --session-seconds (7200)
and then answers 401 INVALID_SESSION_ID.  With --rotate-refresh-tokens each
refresh returns a new refresh_token and the previous one works --refresh-grace
seconds longer (0: not at all).  --instance-url sets the instance_url handed
out (default: this server).  Every data response carries Sforce-Limit-Info;
past --daily-limit requests a day, 403 REQUEST_LIMIT_EXCEEDED.  Query cursors
left open count against --max-cursors (10): opening one more drops the oldest,
whose locator then answers 400 INVALID_QUERY_LOCATOR (so do locators idle
longer than --cursor-idle-seconds).

Admin API (loopback, no auth), JSON in and out:
  POST /__admin/contacts {"count", "same_modstamp", "modstamp", "object", "phone_formats"} -> {"ids"}
  POST /__admin/update {"ids" | "count", "object", "system_only", "fields"} -> {"updated"}  (one SystemModstamp: now)
  POST /__admin/delete {"ids" | "count", "object", "deleted_at"} -> {"deleted"}
  POST /__admin/empty_recycle_bin {"object", "at"} -> {"purged"}   records deleted before "at" (default now)
                                        gone for good; the deleted endpoint refuses a start before it
                                        (INVALID_REPLICATION_DATE)
  POST /__admin/convert {"ids"} -> {"converted": [{"lead", "contact"}]}   Leads converted to new Contacts
  GET  /__admin/records?object=Contact[&deleted=1] -> {"records"}   (all fields, Salesforce spelling)
  GET  /__admin/tasks -> {"tasks"}
  POST /__admin/usage {"used"}          sets today's API usage
  POST /__admin/expire_sessions         every access token expires now
  POST /__admin/config {"task_delay_ms", "token_delay_ms", "refresh_grace"}  a Task's (a refresh's)
                                        answer is held back that long after the Task is created (the
                                        refresh token rotated); the grace of rotated refresh tokens
  POST /__admin/token {}                mints a session and refresh token without the browser step
  POST /__admin/outbound_message {"target_url", "records", "object", "ca_file"} -> delivery report
  POST /__admin/outbound_envelope {"records", "object"} -> the SOAP XML (text/xml), not sent
  GET  /__admin/stats                   counts per endpoint/status, API usage, versions, cursors
  POST /__admin/reset_stats
"""
import sys

sys.dont_write_bytecode = True

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse

import peer_http
import salesforce_soql as soql
from peer_http import json_response, redirect, text_response
from salesforce_data import Store, outbound_envelope, parse_iso, send_outbound, sf_error, with_suffix

VERSION = r"(v\d+\.\d)"
B64URL43 = re.compile(r"[A-Za-z0-9_-]{43}")


def token_error(error, description):
    return json_response(400, {"error": error, "error_description": description})


class Salesforce(peer_http.PeerApp):
    server_header = "sfdcedge"

    def __init__(self, args):
        super().__init__(args)
        self.store = Store()
        self.codes, self.sessions, self.refresh, self.families = {}, {}, {}, {}
        self.used = 0
        self.versions = {}
        self.cursors = {}  # locator -> query snapshot (see query()); insertion order = age
        self.cursors_dropped = 0
        self.cursor_n = 0
        self.task_delay_ms = 0
        self.token_delay_ms = 0
        r = self.route
        r("GET", r"/services/oauth2/authorize", "/services/oauth2/authorize", self.authorize)
        r("POST", r"/services/oauth2/token", "/services/oauth2/token", self.token)
        r("POST", r"/services/oauth2/revoke", "/services/oauth2/revoke", self.revoke)
        r("GET", r"/services/oauth2/revoke", "/services/oauth2/revoke", self.revoke)
        r("GET", r"/id/([^/]+)/([^/]+)", "/id/{org}/{user}", self.identity)
        r("GET", r"/services/data/?", "/services/data/", self.versions_list)
        r("GET", r"/services/data/%s/(query|queryAll)/?" % VERSION, "/services/data/{v}/query", self.query)
        r("GET", r"/services/data/%s/(?:query|queryAll)/([0-9A-Za-z]+)-(\d+)" % VERSION,
          "/services/data/{v}/query/{locator}", self.query_more)
        r("GET", r"/services/data/%s/sobjects/(Contact|Lead)/deleted/?" % VERSION,
          "/services/data/{v}/sobjects/{object}/deleted", self.deleted)
        r("POST", r"/services/data/%s/sobjects/Task/?" % VERSION, "/services/data/{v}/sobjects/Task", self.task)
        r("GET", r"/services/data/%s/sobjects/(Contact|Lead|Task)/([0-9A-Za-z]{15,18})" % VERSION,
          "/services/data/{v}/sobjects/{object}/{id}", self.record)
        r("GET", r"/services/data/%s/limits/?" % VERSION, "/services/data/{v}/limits", self.limits)
        for method, name, fn in (
                ("POST", "contacts", self.a_create), ("POST", "update", self.a_update),
                ("POST", "delete", self.a_delete), ("GET", "records", self.a_records),
                ("GET", "tasks", self.a_tasks), ("POST", "usage", self.a_usage),
                ("POST", "expire_sessions", self.a_expire), ("POST", "token", self.a_token),
                ("POST", "config", self.a_config), ("POST", "empty_recycle_bin", self.a_empty_bin),
                ("POST", "convert", self.a_convert),
                ("POST", "outbound_envelope", self.a_envelope), ("GET", "stats", self.a_stats),
                ("POST", "reset_stats", self.a_reset)):
            r(method, r"/__admin/" + name, "/__admin/" + name, self.admin(fn))
        r("POST", r"/__admin/outbound_message", "/__admin/outbound_message", self.a_outbound)

    def not_found(self, req):
        m = re.match(r"/services/data/%s/" % VERSION, req.path)
        if m:
            headers, err = self.gate(req, m.group(1))
            return err or json_response(404, sf_error("NOT_FOUND", "The requested resource does not exist"), headers)
        return text_response(404, "Not Found")

    # ---- OAuth ----------------------------------------------------------
    def authorize(self, req):
        client_id, redirect_uri, state = req.q("client_id"), req.q("redirect_uri"), req.q("state")
        if client_id != self.args.client_id:
            return text_response(400, "error=invalid_client_id&error_description=client%20identifier%20invalid")
        if not redirect_uri:
            return text_response(400, "error=redirect_uri_missing&error_description=redirect_uri%20must%20not%20be%20empty")
        if self.args.redirect_uri and redirect_uri not in self.args.redirect_uri:
            return text_response(400, "error=redirect_uri_mismatch&error_description="
                                      "redirect_uri%20must%20match%20configuration")

        def back(params):
            params = params + ([("state", state)] if state is not None else [])
            sep = "&" if urllib.parse.urlsplit(redirect_uri).query else "?"
            return redirect(redirect_uri + sep + urllib.parse.urlencode(params))

        if req.q("response_type") != "code":
            return back([("error", "unsupported_response_type"), ("error_description", "response type not supported")])
        challenge, method = req.q("code_challenge"), req.q("code_challenge_method", "S256")
        if not challenge:
            return back([("error", "invalid_request"), ("error_description", "missing required code challenge")])
        if method != "S256" or not B64URL43.fullmatch(challenge):
            return back([("error", "invalid_request"), ("error_description", "invalid code challenge")])
        code = "aPrx" + base64.b64encode(secrets.token_bytes(61)).decode()  # ends in "==", may hold + and /
        with self.lock:
            self.codes[code] = {"redirect_uri": redirect_uri, "challenge": challenge,
                                "scope": req.q("scope") or "api refresh_token", "expires": time.time() + 900,
                                "used": False}
        return back([("code", code)])

    def id_url(self, base):
        return "%s/id/%s/%s" % (base, self.args.org_id, self.args.user_id)

    def session_body(self, req, family, refresh_token=None):
        """A new access token in `family`, as the token endpoint answers; caller holds the lock."""
        access = self.args.org_id[:15] + "!" + secrets.token_urlsafe(72)
        self.sessions[access] = {"family": family, "expires": time.time() + self.args.session_seconds,
                                 "revoked": False}
        issued = str(int(time.time() * 1000))
        ident = self.id_url(req.base_url())
        sig = base64.b64encode(hmac.new(self.args.client_secret.encode(), (ident + issued).encode(),
                                        hashlib.sha256).digest()).decode()
        body = {"access_token": access, "signature": sig, "scope": self.families[family]["scope"],
                "instance_url": self.args.instance_url or req.base_url(), "id": ident,
                "token_type": "Bearer", "issued_at": issued}
        if refresh_token:
            body["refresh_token"] = refresh_token
        return body

    def new_refresh(self, family):
        rt = "5Aep861" + secrets.token_urlsafe(64).replace("-", "").replace("_", "")
        self.refresh[rt] = {"family": family, "valid_until": None}
        return rt

    def token(self, req):
        form = req.form()
        grant = form.get("grant_type", "")
        log = {"grant_type": grant}

        def fail(error, description):
            r = token_error(error, description)
            r.log = log
            return r

        if grant not in ("authorization_code", "refresh_token"):
            return fail("unsupported_grant_type", "grant type not supported")
        if form.get("client_id") != self.args.client_id:
            return fail("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(form.get("client_secret", "").encode(), self.args.client_secret.encode()):
            return fail("invalid_client", "invalid client credentials")
        with self.lock:
            now = time.time()
            if grant == "authorization_code":
                code = self.codes.get(form.get("code", ""))
                if code is None:
                    return fail("invalid_grant", "invalid authorization code")
                if code["used"] or code["expires"] <= now:
                    return fail("invalid_grant", "expired authorization code")
                code["used"] = True  # one attempt per code, whatever its outcome
                if form.get("redirect_uri") != code["redirect_uri"]:
                    return fail("redirect_uri_mismatch", "redirect_uri must match configuration")
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not verifier or not hmac.compare_digest(digest, code["challenge"]):
                    return fail("invalid_grant", "invalid code verifier")
                family = secrets.token_hex(8)
                self.families[family] = {"revoked": False, "scope": code["scope"]}
                body = self.session_body(req, family, self.new_refresh(family))
            else:
                rt = self.refresh.get(form.get("refresh_token", ""))
                if rt is None or self.families[rt["family"]]["revoked"] or \
                        rt["valid_until"] is not None and rt["valid_until"] <= now:
                    return fail("invalid_grant", "expired access/refresh token")
                new_rt = None
                if self.args.rotate_refresh_tokens:
                    new_rt = self.new_refresh(rt["family"])
                    if rt["valid_until"] is None:
                        rt["valid_until"] = now + self.args.refresh_grace
                body = self.session_body(req, rt["family"], new_rt)
        if grant == "refresh_token" and self.token_delay_ms:
            time.sleep(self.token_delay_ms / 1000.0)  # rotated, but the client hears of it late (or never)
        return json_response(200, body, [("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")],
                             log=log)

    def revoke(self, req):
        token = req.form().get("token") if req.method == "POST" else req.q("token")
        with self.lock:
            s, rt = self.sessions.get(token or ""), self.refresh.get(token or "")
            if s is not None and not s["revoked"] and not self.families[s["family"]]["revoked"]:
                s["revoked"] = True
            elif rt is not None and not self.families[rt["family"]]["revoked"]:
                self.families[rt["family"]]["revoked"] = True
            else:
                return token_error("invalid_token", "invalid token")
        return peer_http.Response(200)

    # ---- data API gate ----------------------------------------------------
    def session(self, req):
        auth = req.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip() if scheme.lower() in ("bearer", "oauth") else ""
        with self.lock:
            s = self.sessions.get(token)
            if s is None or s["revoked"] or self.families[s["family"]]["revoked"] or s["expires"] <= time.time():
                return None
            return s

    def gate(self, req, version):
        """(headers, None) when a data request may proceed, else (None, error response)."""
        if self.session(req) is None:
            return None, json_response(401, sf_error("INVALID_SESSION_ID", "Session expired or invalid"),
                                       [("WWW-Authenticate", "Token")])
        with self.lock:
            self.versions[version] = self.versions.get(version, 0) + 1
            if self.used >= self.args.daily_limit:
                return None, json_response(403, sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
                                           self.usage_header())
            self.used += 1
            return self.usage_header(), None

    def usage_header(self):
        return [("Sforce-Limit-Info", "api-usage=%d/%d" % (self.used, self.args.daily_limit))]

    # ---- data API -------------------------------------------------------
    def identity(self, req, org, user):
        s = self.session(req)
        if s is None:
            return text_response(403, "Bad_OAuth_Token")
        if org != self.args.org_id or user != self.args.user_id:
            return text_response(404, "Bad_Id")
        return json_response(200, {"id": self.id_url(req.base_url()), "organization_id": self.args.org_id,
                                   "user_id": self.args.user_id, "username": "integration@example.com",
                                   "display_name": "Integration User", "active": True})

    def versions_list(self, req):
        return json_response(200, [{"label": label, "url": "/services/data/v%s" % v, "version": v}
                                   for label, v in (("Winter '24", "59.0"), ("Spring '24", "60.0"),
                                                    ("Summer '24", "61.0"), ("Winter '25", "62.0"))])

    def batch_size(self, req):
        m = re.search(r"batchSize\s*=\s*(\d+)", req.headers.get("Sforce-Query-Options", ""))
        return min(2000, max(200, int(m.group(1)))) if m else 2000

    def query(self, req, version, kind):
        headers, err = self.gate(req, version)
        if err:
            return err
        try:
            q = soql.parse(req.q("q", ""))
        except soql.SoqlError as e:
            return json_response(400, sf_error(e.code, e.message), headers)
        batch = self.batch_size(req)
        with self.lock:
            self.store.read(time.time())
            recs = self.store.visible(q.obj, kind == "queryAll", time.time())
            rows = [dict(r) for r in soql.run(q, recs, lambda r, f: self.store.get(q.obj, r, f))]  # the snapshot
            cur = {"obj": q.obj, "fields": q.fields, "version": version, "rows": rows, "batch": batch}
            body = self.batch(cur, 0)
            if not body["done"]:
                self.cursor_n += 1
                loc = with_suffix("01g8b%010d" % self.cursor_n)
                cur["last_used"] = time.monotonic()
                self.cursors[loc] = cur
                while len(self.cursors) > self.args.max_cursors:
                    del self.cursors[next(iter(self.cursors))]
                    self.cursors_dropped += 1
                body["nextRecordsUrl"] = "/services/data/%s/query/%s-%d" % (version, loc, batch)
        return json_response(200, body, headers)

    def batch(self, cur, offset):
        """One batch of a query's snapshot, rendered in the API version the query was made with."""
        rows = cur["rows"][offset:offset + cur["batch"]]
        return {"totalSize": len(cur["rows"]), "done": offset + cur["batch"] >= len(cur["rows"]),
                "records": [self.store.render(cur["obj"], r, cur["fields"], cur["version"]) for r in rows]}

    def query_more(self, req, version, loc, offset):
        headers, err = self.gate(req, version)
        if err:
            return err
        offset = int(offset)
        with self.lock:
            cur = self.cursors.get(loc)
            if cur is not None and time.monotonic() - cur["last_used"] > self.args.cursor_idle_seconds:
                del self.cursors[loc]
                cur = None
            if cur is None or offset <= 0 or offset >= len(cur["rows"]):
                return json_response(400, sf_error("INVALID_QUERY_LOCATOR", "invalid query locator"), headers)
            cur["last_used"] = time.monotonic()
            body = self.batch(cur, offset)
            if body["done"]:
                del self.cursors[loc]
            else:
                body["nextRecordsUrl"] = "/services/data/%s/query/%s-%d" % (version, loc, offset + cur["batch"])
        return json_response(200, body, headers)

    def deleted(self, req, version, obj):
        headers, err = self.gate(req, version)
        if err:
            return err
        with self.lock:
            status, body = self.store.deleted(obj, req.q("start"), req.q("end"), time.time())
        return json_response(status, body, headers)

    def task(self, req, version):
        headers, err = self.gate(req, version)
        if err:
            return err
        with self.lock:
            status, body = self.store.create_task(req.body)
            delay = self.task_delay_ms
        if delay:
            time.sleep(delay / 1000.0)  # created, but the client hears of it late (or never)
        return json_response(status, body, headers)

    def record(self, req, version, obj, rid):
        headers, err = self.gate(req, version)
        if err:
            return err
        rid = rid if len(rid) == 18 else with_suffix(rid)
        with self.lock:
            if obj == "Task":
                t = next((t for t in self.store.tasks if t["Id"] == rid), None)
                if t is not None:
                    return json_response(200, dict({"attributes": {"type": "Task", "url": req.path}}, **t), headers)
            else:
                rec = self.store.records[obj].get(rid)
                if rec is not None and not rec["IsDeleted"]:
                    wanted = [f for f in soql.SCHEMA[obj] if f != "Account.Name"]
                    return json_response(200, self.store.render(obj, rec, wanted, version), headers)
        return json_response(404, sf_error("NOT_FOUND", "The requested resource does not exist"), headers)

    def limits(self, req, version):
        headers, err = self.gate(req, version)
        if err:
            return err
        return json_response(200, {"DailyApiRequests": {"Max": self.args.daily_limit,
                                                        "Remaining": max(0, self.args.daily_limit - self.used)}},
                             headers)

    # ---- admin ----------------------------------------------------------
    def admin(self, fn):
        def wrapped(req):
            try:
                body = json.loads(req.body.decode("utf-8")) if req.body.strip() else {}
            except ValueError:
                return json_response(400, {"error": "admin body must be JSON"})
            try:
                with self.lock:
                    out = fn(req, body if isinstance(body, dict) else {})
            except (KeyError, ValueError, TypeError) as e:
                return json_response(400, {"error": "bad admin request: %r" % e})
            return out if isinstance(out, peer_http.Response) else json_response(200, out)
        return wrapped

    def obj(self, req, b):
        o = b.get("object") or req.q("object") or "Contact"
        if o not in ("Contact", "Lead"):
            raise ValueError("object must be Contact or Lead")
        return o

    def a_create(self, req, b):
        return {"ids": self.store.create(self.obj(req, b), int(b.get("count", 1)), int(b.get("same_modstamp") or 0),
                                         b.get("modstamp"), b.get("phone_formats", True))}

    def a_update(self, req, b):
        return {"updated": self.store.update(self.obj(req, b), b.get("ids"), b.get("count"),
                                             bool(b.get("system_only")), b.get("fields"))}

    def a_delete(self, req, b):
        return {"deleted": self.store.delete(self.obj(req, b), b.get("ids"), b.get("count"), b.get("deleted_at"))}

    def a_empty_bin(self, req, b):
        at = b.get("at")
        return {"purged": self.store.empty_recycle_bin(self.obj(req, b), parse_iso(at) if at else time.time())}

    def a_convert(self, req, b):
        return {"converted": self.store.convert(b.get("ids") or [])}

    def a_records(self, req, b):
        obj = self.obj(req, b)
        fields = [f for f in soql.SCHEMA[obj] if f != "Account.Name"] + (["Account.Name"] if obj == "Contact" else [])
        recs = [r for r in self.store.records[obj].values() if req.q("deleted") or not r["IsDeleted"]]
        recs.sort(key=lambda r: r["Id"])
        return {"records": [self.store.render(obj, r, fields, "v59.0") for r in recs]}

    def a_tasks(self, req, b):
        return {"tasks": self.store.tasks}

    def a_usage(self, req, b):
        self.used = int(b.get("used", 0))
        return {"used": self.used, "limit": self.args.daily_limit}

    def a_expire(self, req, b):
        now = time.time()
        for s in self.sessions.values():
            s["expires"] = min(s["expires"], now - 0.001)
        return {"expired": len(self.sessions)}

    def a_config(self, req, b):
        if "task_delay_ms" in b:
            self.task_delay_ms = max(0, int(b["task_delay_ms"]))
        if "token_delay_ms" in b:
            self.token_delay_ms = max(0, int(b["token_delay_ms"]))
        if "refresh_grace" in b:
            self.args.refresh_grace = max(0.0, float(b["refresh_grace"]))
        return {"task_delay_ms": self.task_delay_ms, "token_delay_ms": self.token_delay_ms,
                "refresh_grace": self.args.refresh_grace}

    def a_token(self, req, b):
        family = secrets.token_hex(8)
        self.families[family] = {"revoked": False, "scope": b.get("scope", "api refresh_token")}
        return self.session_body(req, family, self.new_refresh(family))

    def instance(self, req):
        return self.args.instance_url or req.base_url()

    def a_envelope(self, req, b):
        xml = outbound_envelope(self.store, self.args.org_id, self.instance(req), self.obj(req, b), b["records"])
        return text_response(200, xml, "text/xml; charset=utf-8")

    def a_outbound(self, req):
        try:
            b = json.loads(req.body.decode("utf-8"))
            with self.lock:
                xml = outbound_envelope(self.store, self.args.org_id, self.instance(req), self.obj(req, b),
                                        b["records"])
        except (ValueError, KeyError, TypeError) as e:
            return json_response(400, {"error": "bad admin request: %s" % e})
        report = send_outbound(b["target_url"], xml, b.get("ca_file"))  # outside the lock
        report["envelope"] = xml
        return json_response(200, report)

    def a_stats(self, req, b):
        return {"requests": self.counts, "total": self.total, "api_usage": self.used,
                "daily_limit": self.args.daily_limit, "versions": self.versions,
                "open_cursors": len(self.cursors), "cursors_dropped": self.cursors_dropped,
                "sessions": sum(1 for s in self.sessions.values() if not s["revoked"]),
                "tasks": len(self.store.tasks)}

    def a_reset(self, req, b):
        self.reset_counts()
        self.versions = {}
        return {"ok": True}


def main():
    ap = peer_http.common_args("Salesforce stand-in (OAuth web server flow with PKCE, REST data API)")
    ap.add_argument("--instance-url", help="instance_url handed out by the token endpoint")
    ap.add_argument("--org-id", default="00D000000000001AAA")
    ap.add_argument("--user-id", default="005000000000001AAA")
    ap.add_argument("--session-seconds", type=float, default=7200)
    ap.add_argument("--rotate-refresh-tokens", action="store_true")
    ap.add_argument("--refresh-grace", type=float, default=0)
    ap.add_argument("--daily-limit", type=int, default=100000)
    ap.add_argument("--max-cursors", type=int, default=10)
    ap.add_argument("--cursor-idle-seconds", type=float, default=900)
    args = ap.parse_args()
    if not re.fullmatch(r"00D[0-9A-Za-z]{15}", args.org_id):
        ap.error("--org-id must be an 18-character org id starting with 00D")
    peer_http.serve(Salesforce(args), args)


if __name__ == "__main__":
    main()
