#!/usr/bin/python3
"""HubSpot stand-in for wib's CRM tests and benchmarks (HubSpot CRM API v3 and OAuth).

One process plays app.hubspot.com (OAuth authorize) and api.hubapi.com:
  GET  /oauth/authorize                     302 to redirect_uri?code=...&state=...
  POST /oauth/v3/token, /oauth/2026-03/token  authorization_code | refresh_token (form body only)
  POST /oauth/v3/token/introspect           {"active", "hub_id"|"hubId", "client_id", "scopes", ...}
  POST /oauth/v3/token/revoke               200
  /oauth/v1/...                             404 (retired API)
  GET  /crm/v3/objects/contacts             list, limit <= 100, archived=true|false
  GET  /crm/v3/objects/contacts/{id}
  POST /crm/v3/objects/contacts/search      search (hubspot_crm.py has the rules)
  POST /crm/v3/objects/calls                log a call, associated to contacts (type 194)
  POST /crm/v3/objects/calls/search         search calls by property (counts as a search)
  POST /crm/v3/properties/calls             create a custom call property (409 when it exists)
  GET  /crm/v3/properties/calls/{name}      read a call property
Access tokens live --access-ttl seconds (default 1800); refresh tokens do not
expire and do not change on refresh.  Reading contacts needs the scope
crm.objects.contacts.read (403 MISSING_SCOPES otherwise).

Rate limits are counted per portal on arrival, 429 or not: --limit-10s (110)
API requests per rolling 10 s and --limit-search-1s (5) searches per rolling
second.  OAuth calls are not counted.  Every API response carries
X-HubSpot-RateLimit-{Daily,Daily-Remaining,Secondly,Secondly-Remaining,
Interval-Milliseconds,Max,Remaining}; real OAuth-authorized calls carry no
Daily headers, which --no-daily-headers reproduces.  Retry-After is sent only
with --retry-after.

Admin API (loopback, no auth), JSON in and out:
  POST /__admin/contacts {"count", "same_modified", "modified_at", "phone_formats", "spacing_ms"} -> {"ids"}
  GET  /__admin/contacts -> {"results": every contact, archived too, all properties}
  POST /__admin/update {"ids" | "count", "same_modified", "modified_at", "properties"} -> {"updated"}
  POST /__admin/archive {"ids" | "count"} -> {"archived"}
  GET  /__admin/calls -> {"results"}
  GET  /__admin/tokens -> {"access", "refresh"}  every token issued (for leak checks)
  POST /__admin/refresh {"refuse": bool}      every refresh fails with invalid_grant while set
  POST /__admin/expire_tokens                 every access token expires now
  POST /__admin/token {"scopes", "ttl"}       mints a token pair without the browser step
  POST /__admin/storm {"count", "retry_after"} the next count API requests get 429
  POST /__admin/config {"search_lag_ms", "limit_10s", "limit_search_1s", "retry_after", "call_delay_ms",
                        "page_delay_ms"}    call_delay_ms: a created call is answered that much later;
                                            page_delay_ms: each page of contacts (list or search) too
  GET  /__admin/stats[?arrivals=1]            counts per endpoint/status, limit evidence
  POST /__admin/reset_stats
  POST /__admin/sign_webhook {"method", "uri", "body", "timestamp_ms"} -> {"signature", "timestamp_ms"}
  POST /__admin/webhook_request {"uri", "events": [...], "timestamp_ms"} -> {"body", "headers"}

Inbound webhooks (HubSpot -> app) are a JSON array of up to 100 events, for example
  [{"eventId": 1993466817, "subscriptionId": 2811111, "portalId": 62515, "appId": 1160452,
    "occurredAt": 1764411300123, "subscriptionType": "contact.creation", "attemptNumber": 0,
    "objectId": 85000000001, "changeFlag": "CREATED", "changeSource": "CRM"},
   {"eventId": 1993466818, ..., "subscriptionType": "contact.propertyChange",
    "objectId": 85000000001, "propertyName": "phone", "propertyValue": "(555) 123-0042",
    "changeSource": "CRM"},
   {"eventId": 1993466819, ..., "subscriptionType": "contact.deletion",
    "objectId": 85000000002, "changeFlag": "DELETED", "changeSource": "CRM"}]
signed with v3: X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client_secret,
method + uri + body + timestamp)), X-HubSpot-Request-Timestamp = timestamp (ms),
where HubSpot first decodes %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B in
the URI (and no other encoding).
The same event can be delivered again (attemptNumber grows): dedupe on eventId.
"""
import sys

sys.dont_write_bytecode = True

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import time
import urllib.parse

import peer_http
from hubspot_crm import DEFAULT_PROPS, Store, error_body
from peer_http import Window, iso_ms, json_response, redirect, text_response

CONTACTS_READ = "crm.objects.contacts.read"
NO_CREDENTIALS = ("Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
                  "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")


def oauth_error(error, status_code, message, http=400):
    body = {"error": error, "error_description": message, "status": status_code, "message": message,
            "correlationId": peer_http.correlation_id()}
    return json_response(http, body, [("Cache-Control", "no-store")])


def ago(seconds):
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return "%d %s(s)" % (seconds // size, unit)
    return "%d second(s)" % seconds


class Portal:
    def __init__(self):
        self.w10 = Window(10.0)
        self.w1 = Window(1.0)
        self.search = Window(1.0)
        self.daily = 0


class HubSpot(peer_http.PeerApp):
    server_header = "cloudflare"

    def __init__(self, args):
        super().__init__(args)
        self.store = Store(args.first_id, args.search_lag_ms)
        self.codes, self.access, self.refresh = {}, {}, {}
        self.refuse_refresh = False
        self.portals = {}
        self.storm, self.storm_retry_after = 0, None
        self.over_limit = {"TEN_SECONDLY_ROLLING": 0, "SECONDLY": 0, "DAILY": 0}
        self.storm_answered = 0
        self.arrivals = []
        self.call_delay = 0.0
        self.page_delay = 0.0
        r = self.route
        r("GET", r"/oauth/authorize", "/oauth/authorize", self.authorize)
        r("POST", r"/oauth/v3/token", "/oauth/v3/token", self.token)
        r("POST", r"/oauth/2026-03/token", "/oauth/2026-03/token", self.token)
        r("POST", r"/oauth/v3/token/introspect", "/oauth/v3/token/introspect", self.introspect)
        r("POST", r"/oauth/v3/token/revoke", "/oauth/v3/token/revoke", self.revoke)
        for m in ("GET", "POST", "DELETE"):
            r(m, r"/oauth/v1/.*", "/oauth/v1/* (retired)", lambda req: text_response(404, "Not Found"))
        r("GET", r"/crm/v3/objects/contacts", "/crm/v3/objects/contacts", self.list_contacts)
        r("POST", r"/crm/v3/objects/contacts/search", "/crm/v3/objects/contacts/search", self.search)
        r("GET", r"/crm/v3/objects/contacts/([^/]+)", "/crm/v3/objects/contacts/{id}", self.get_contact)
        r("POST", r"/crm/v3/objects/calls", "/crm/v3/objects/calls", self.create_call)
        r("POST", r"/crm/v3/objects/calls/search", "/crm/v3/objects/calls/search", self.search_calls)
        r("POST", r"/crm/v3/properties/calls", "/crm/v3/properties/calls", self.create_call_property)
        r("GET", r"/crm/v3/properties/calls/([^/]+)", "/crm/v3/properties/calls/{name}", self.get_call_property)
        for method, name, fn in (
                ("POST", "contacts", self.a_create), ("GET", "contacts", self.a_contacts),
                ("POST", "update", self.a_update), ("POST", "archive", self.a_archive),
                ("GET", "calls", self.a_calls), ("GET", "tokens", self.a_tokens), ("POST", "refresh", self.a_refresh),
                ("POST", "expire_tokens", self.a_expire), ("POST", "token", self.a_token),
                ("POST", "storm", self.a_storm), ("POST", "config", self.a_config),
                ("GET", "stats", self.a_stats), ("POST", "reset_stats", self.a_reset),
                ("POST", "sign_webhook", self.a_sign), ("POST", "webhook_request", self.a_webhook)):
            r(method, r"/__admin/" + name, "/__admin/" + name, self.admin(fn))

    # ---- OAuth ----------------------------------------------------------
    def authorize(self, req):
        client_id, redirect_uri = req.q("client_id"), req.q("redirect_uri")
        scope, state = req.q("scope"), req.q("state")
        if client_id != self.args.client_id:
            return text_response(400, "Authorization failed: unknown client_id")
        if not redirect_uri or not redirect_uri.startswith(("http://", "https://")):
            return text_response(400, "Authorization failed: redirect_uri is missing or not absolute")
        if self.args.redirect_uri and redirect_uri not in self.args.redirect_uri:
            return text_response(400, "Authorization failed: redirect_uri does not match the app's redirect URLs")
        if not scope:
            return text_response(400, "Authorization failed: scope is required")
        code = secrets.token_urlsafe(27)
        with self.lock:
            self.codes[code] = {"redirect_uri": redirect_uri, "portal": self.args.portal_id,
                                "scopes": scope.split(), "client_id": client_id,
                                "expires": time.time() + 600, "used": False}
        params = [("code", code)] + ([("state", state)] if state is not None else [])
        sep = "&" if urllib.parse.urlsplit(redirect_uri).query else "?"
        return redirect(redirect_uri + sep + urllib.parse.urlencode(params))

    def mint(self, portal, scopes, ttl=None, refresh_token=None):
        """A new access token (and refresh token unless given); caller holds the lock."""
        access = secrets.token_urlsafe(200)  # ~267 characters: HubSpot tokens run up to 300
        if refresh_token is None:
            refresh_token = "na1-" + secrets.token_urlsafe(27)
            self.refresh[refresh_token] = {"portal": portal, "scopes": scopes, "client_id": self.args.client_id}
        ttl = self.args.access_ttl if ttl is None else ttl
        self.access[access] = {"portal": portal, "scopes": scopes, "expires": time.time() + ttl,
                               "refresh": refresh_token}
        return {"access_token": access, "refresh_token": refresh_token, "expires_in": int(ttl),
                "token_type": "bearer"}

    def token(self, req):
        form = req.form()
        grant = form.get("grant_type", "")
        log = {"grant_type": grant}
        if grant not in ("authorization_code", "refresh_token"):
            return self.logged(oauth_error("unsupported_grant_type", "BAD_GRANT_TYPE",
                                           "grant_type must be authorization_code or refresh_token"), log)
        if form.get("client_id") != self.args.client_id:
            return self.logged(oauth_error("invalid_client", "BAD_CLIENT_ID", "missing or unknown client id"), log)
        if not hmac.compare_digest(form.get("client_secret", "").encode(), self.args.client_secret.encode()):
            return self.logged(oauth_error("invalid_client", "BAD_CLIENT_SECRET", "missing or invalid client secret"), log)
        with self.lock:
            if grant == "authorization_code":
                code = self.codes.get(form.get("code", ""))
                if code is None or code["used"] or code["client_id"] != form["client_id"]:
                    return self.logged(oauth_error("invalid_grant", "BAD_AUTH_CODE", "missing or invalid auth code"), log)
                if code["expires"] <= time.time():
                    return self.logged(oauth_error("invalid_grant", "EXPIRED_AUTH_CODE", "auth code is expired"), log)
                if form.get("redirect_uri") != code["redirect_uri"]:
                    return self.logged(oauth_error("invalid_grant", "MISMATCH_REDIRECT_URI_AUTH_CODE",
                                                   "redirect URI does not match initial auth code URL"), log)
                code["used"] = True
                body = self.mint(code["portal"], code["scopes"])
            else:
                rt = self.refresh.get(form.get("refresh_token", ""))
                if self.refuse_refresh or rt is None:
                    return self.logged(oauth_error("invalid_grant", "BAD_REFRESH_TOKEN",
                                                   "missing or unknown refresh token"), log)
                body = self.mint(rt["portal"], rt["scopes"], refresh_token=form["refresh_token"])
        return json_response(200, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")], log=log)

    def logged(self, resp, log):
        resp.log = log
        return resp

    def introspect(self, req):
        form = req.form()
        if form.get("client_id") != self.args.client_id or not hmac.compare_digest(
                form.get("client_secret", "").encode(), self.args.client_secret.encode()):
            return oauth_error("invalid_client", "BAD_CLIENT_ID", "missing or unknown client credentials")
        token = form.get("token", "")  # token_type_hint is accepted; tokens are distinct anyway
        hub = self.args.introspect_spelling
        with self.lock:
            a, r = self.access.get(token), self.refresh.get(token)
            if a is not None:
                left = int(a["expires"] - time.time())
                if left <= 0:
                    return json_response(200, {"active": False})
                return json_response(200, {"active": True, hub: a["portal"], "client_id": self.args.client_id,
                                           "scopes": a["scopes"], "expires_in": left, "token_type": "access"})
            if r is not None:
                return json_response(200, {"active": True, hub: r["portal"], "client_id": self.args.client_id,
                                           "scopes": r["scopes"], "token_type": "refresh"})
        return json_response(200, {"active": False})

    def revoke(self, req):
        token = req.form().get("token")
        if not token:
            return oauth_error("invalid_request", "BAD_REQUEST", "token is required")
        with self.lock:
            self.access.pop(token, None)
            self.refresh.pop(token, None)
        return peer_http.Response(200)

    # ---- API gate: authentication, rate limits, scopes ------------------
    def gate(self, req, search=False, scope=None):
        """(portal, headers, None) when the request may proceed, else (None, None, error response)."""
        token = req.bearer()
        with self.lock:
            info = self.access.get(token) if token else None
            if info is None:
                return None, None, json_response(401, error_body(NO_CREDENTIALS, "INVALID_AUTHENTICATION"))
            now = time.time()
            if info["expires"] <= now:
                return None, None, json_response(401, error_body(
                    "The OAuth token used to make this call expired %s ago." % ago(int(now - info["expires"])),
                    "EXPIRED_AUTHENTICATION", context={"expire time": [iso_ms(info["expires"])]}))
            portal = info["portal"]
            st = self.portals.setdefault(portal, Portal())
            t = req.mono
            before10 = st.w10.arrive(t)
            st.w1.arrive(t)
            before_s = st.search.arrive(t) if search else 0
            st.daily += 1
            policy, retry_after, storm = None, None, False
            if self.storm > 0:
                self.storm -= 1
                self.storm_answered += 1
                policy, retry_after, storm = "TEN_SECONDLY_ROLLING", self.storm_retry_after, True
            elif self.args.limit_daily and st.daily > self.args.limit_daily:
                policy = "DAILY"
            elif before10 >= self.args.limit_10s:
                policy = "TEN_SECONDLY_ROLLING"
                retry_after = st.w10.free_in(t, self.args.limit_10s) if self.args.retry_after else None
            elif search and before_s >= self.args.limit_search_1s:
                policy = "SECONDLY"
                retry_after = st.search.free_in(t, self.args.limit_search_1s) if self.args.retry_after else None
            if policy and not storm:
                self.over_limit[policy] += 1
            if len(self.arrivals) < 200000:
                self.arrivals.append({"t": round(req.arrival, 6), "search": search, "limited": policy})
            headers = self.limit_headers(st, t, search)
            if policy:
                return None, None, self.too_many(policy, retry_after, headers)
            if scope and scope not in info["scopes"]:
                return None, None, json_response(403, error_body(
                    "This app hasn't been granted all required scopes to make this call. Read more about "
                    "required scopes here: https://developers.hubspot.com/scopes.", "MISSING_SCOPES",
                    errors=[{"message": "One or more of the following scopes are required.",
                             "context": {"requiredGranularScopes": [scope]}}],
                    links={"scopes": "https://developers.hubspot.com/scopes"}), headers)
            return portal, headers, None

    def limit_headers(self, st, t, search):
        secondly = self.args.limit_search_1s if search else int(math.ceil(self.args.limit_10s / 10.0))
        used_1s = st.search.count(t) if search else st.w1.count(t)
        h = [("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
             ("X-HubSpot-RateLimit-Max", str(self.args.limit_10s)),
             ("X-HubSpot-RateLimit-Remaining", str(max(0, self.args.limit_10s - st.w10.count(t)))),
             ("X-HubSpot-RateLimit-Secondly", str(secondly)),
             ("X-HubSpot-RateLimit-Secondly-Remaining", str(max(0, secondly - used_1s)))]
        if not self.args.no_daily_headers:
            h += [("X-HubSpot-RateLimit-Daily", str(self.args.limit_daily)),
                  ("X-HubSpot-RateLimit-Daily-Remaining", str(max(0, self.args.limit_daily - st.daily)))]
        return h

    def too_many(self, policy, retry_after, headers):
        names = {"TEN_SECONDLY_ROLLING": "ten_secondly_rolling", "SECONDLY": "secondly", "DAILY": "daily"}
        body = {"status": "error", "message": "You have reached your %s limit." % names[policy],
                "errorType": "RATE_LIMIT", "correlationId": peer_http.correlation_id(), "policyName": policy,
                "groupName": "publicapi:oauth-api-calls:%d" % self.args.portal_id}
        h = list(headers)
        if retry_after is not None:
            h.append(("Retry-After", str(max(0, int(math.ceil(float(retry_after)))))))
        return json_response(429, body, h, log={"limited": policy})

    # ---- CRM endpoints --------------------------------------------------
    def list_contacts(self, req):
        portal, headers, err = self.gate(req, scope=CONTACTS_READ)
        if err:
            return err
        wanted = self.wanted(req)
        archived = (req.q("archived") or "false").lower() == "true"
        base = req.base_url() + req.path

        def link(after):
            q = [(k, v) for k, vs in req.query.items() for v in vs if k != "after"] + [("after", after)]
            return base + "?" + urllib.parse.urlencode(q)

        with self.lock:
            status, body = self.store.list(req.q("limit"), req.q("after"), wanted, archived, link)
            delay = self.page_delay
        if delay > 0:
            time.sleep(delay)  # a slow page: the client waits with no answer yet
        return json_response(status, body, headers)

    def wanted(self, req):
        props = []
        for v in req.query.get("properties", []):
            props += [p.strip() for p in v.split(",") if p.strip()]
        return props or list(DEFAULT_PROPS)

    def get_contact(self, req, cid):
        portal, headers, err = self.gate(req, scope=CONTACTS_READ)
        if err:
            return err
        archived = (req.q("archived") or "false").lower() == "true"
        with self.lock:
            status, body = self.store.get(cid, self.wanted(req), archived)
        return json_response(status, body, headers)

    def search(self, req):
        portal, headers, err = self.gate(req, search=True, scope=CONTACTS_READ)
        if err:
            return err
        with self.lock:
            status, body = self.store.search(req.body, time.time())
            delay = self.page_delay
        if delay > 0:
            time.sleep(delay)
        return json_response(status, body, headers)

    def create_call(self, req):
        portal, headers, err = self.gate(req)
        if err:
            return err
        with self.lock:
            status, body = self.store.create_call(req.body)
            delay = self.call_delay
        if delay > 0 and status == 201:
            time.sleep(delay)  # created, but the client hears of it only later (or never)
        return json_response(status, body, headers)

    def search_calls(self, req):
        portal, headers, err = self.gate(req, search=True)
        if err:
            return err
        with self.lock:
            status, body = self.store.search_calls(req.body, time.time())
        return json_response(status, body, headers)

    def create_call_property(self, req):
        portal, headers, err = self.gate(req)
        if err:
            return err
        with self.lock:
            status, body = self.store.create_call_property(req.body)
        return json_response(status, body, headers)

    def get_call_property(self, req, name):
        portal, headers, err = self.gate(req)
        if err:
            return err
        with self.lock:
            status, body = self.store.get_call_property(name)
        return json_response(status, body, headers)

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

    def a_create(self, req, b):
        return {"ids": self.store.create(int(b.get("count", 1)), int(b.get("same_modified") or 0),
                                         b.get("modified_at"), bool(b.get("phone_formats")),
                                         float(b.get("spacing_ms", 1)))}

    def a_contacts(self, req, b):
        return {"results": self.store.dump()}

    def a_update(self, req, b):
        return {"updated": self.store.update(b.get("ids"), b.get("count"), bool(b.get("same_modified")),
                                             b.get("modified_at"), b.get("properties"))}

    def a_archive(self, req, b):
        return {"archived": self.store.archive(b.get("ids"), b.get("count"))}

    def a_calls(self, req, b):
        return {"results": [self.store.calls[k] for k in sorted(self.store.calls)]}

    def a_tokens(self, req, b):
        return {"access": sorted(self.access), "refresh": sorted(self.refresh)}

    def a_refresh(self, req, b):
        self.refuse_refresh = bool(b.get("refuse"))
        return {"refuse": self.refuse_refresh}

    def a_expire(self, req, b):
        now = time.time()
        for info in self.access.values():
            info["expires"] = min(info["expires"], now - 0.001)
        return {"expired": len(self.access)}

    def a_token(self, req, b):
        scopes = b.get("scopes") or ["oauth", CONTACTS_READ, "crm.objects.contacts.write"]
        return self.mint(self.args.portal_id, scopes, b.get("ttl"))

    def a_storm(self, req, b):
        self.storm = int(b.get("count", 0))
        self.storm_retry_after = b.get("retry_after")
        return {"storm": self.storm}

    def a_config(self, req, b):
        for k in ("limit_10s", "limit_search_1s"):
            if k in b:
                setattr(self.args, k, int(b[k]))
        if "retry_after" in b:
            self.args.retry_after = bool(b["retry_after"])
        if "search_lag_ms" in b:
            self.store.lag = float(b["search_lag_ms"]) / 1000.0
        if "call_delay_ms" in b:
            self.call_delay = float(b["call_delay_ms"]) / 1000.0
        if "page_delay_ms" in b:
            self.page_delay = float(b["page_delay_ms"]) / 1000.0
        return {"ok": True}

    def a_stats(self, req, b):
        out = {"requests": self.counts, "total": self.total, "over_limit": dict(self.over_limit),
               "over_limit_total": sum(self.over_limit.values()), "storm_answered": self.storm_answered,
               "max_in_10s": max([p.w10.max_seen for p in self.portals.values()] or [0]),
               "max_search_in_1s": max([p.search.max_seen for p in self.portals.values()] or [0]),
               "limits": {"10s": self.args.limit_10s, "search_1s": self.args.limit_search_1s,
                          "daily": self.args.limit_daily},
               "api_requests": len(self.arrivals), "contacts": len(self.store.order), "calls": len(self.store.calls)}
        if req.q("arrivals"):
            out["arrivals"] = self.arrivals
        return out

    def a_reset(self, req, b):
        self.reset_counts()
        self.portals = {}
        self.arrivals = []
        self.over_limit = dict.fromkeys(self.over_limit, 0)
        self.storm_answered = 0
        return {"ok": True}

    def sign(self, method, uri, body, ts):
        uri = re.sub(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", lambda m: chr(int(m.group(1), 16)), uri,
                     flags=re.IGNORECASE)
        msg = (method + uri + body + str(ts)).encode("utf-8")
        return base64.b64encode(hmac.new(self.args.client_secret.encode(), msg, hashlib.sha256).digest()).decode()

    def a_sign(self, req, b):
        ts = int(b.get("timestamp_ms") or time.time() * 1000)
        return {"signature": self.sign(b.get("method", "POST"), b["uri"], b.get("body", ""), ts),
                "timestamp_ms": ts}

    def a_webhook(self, req, b):
        ts = int(b.get("timestamp_ms") or time.time() * 1000)
        events = []
        for e in b.get("events", []):
            ev = {"eventId": e.get("eventId", secrets.randbelow(2 ** 31)), "subscriptionId": e.get("subscriptionId", 2811111),
                  "portalId": self.args.portal_id, "appId": e.get("appId", 1160452),
                  "occurredAt": e.get("occurredAt", ts), "subscriptionType": e["subscriptionType"],
                  "attemptNumber": e.get("attemptNumber", 0), "objectId": int(e["objectId"]),
                  "changeSource": e.get("changeSource", "CRM")}
            if e["subscriptionType"].endswith(".propertyChange"):
                ev["propertyName"], ev["propertyValue"] = e["propertyName"], e.get("propertyValue", "")
            else:
                ev["changeFlag"] = "DELETED" if e["subscriptionType"].endswith(".deletion") else "CREATED"
            events.append(ev)
        body = json.dumps(events, separators=(",", ":"))
        return {"body": body, "headers": {
            "Content-Type": "application/json", "X-HubSpot-Request-Timestamp": str(ts),
            "X-HubSpot-Signature-v3": self.sign("POST", b["uri"], body, ts),
            "X-HubSpot-Signature-Version": "v3"}}


def main():
    ap = peer_http.common_args("HubSpot stand-in (OAuth 2026 API, CRM v3 contacts, search, calls)")
    ap.add_argument("--portal-id", type=int, default=62515)
    ap.add_argument("--access-ttl", type=float, default=1800)
    ap.add_argument("--introspect-spelling", choices=["hub_id", "hubId"], default="hub_id")
    ap.add_argument("--search-lag-ms", type=float, default=0)
    ap.add_argument("--limit-10s", type=int, default=110)
    ap.add_argument("--limit-search-1s", type=int, default=5)
    ap.add_argument("--limit-daily", type=int, default=500000)
    ap.add_argument("--retry-after", action="store_true", help="send Retry-After with 429s")
    ap.add_argument("--no-daily-headers", action="store_true",
                    help="omit the Daily rate limit headers, as HubSpot does for OAuth calls")
    ap.add_argument("--first-id", type=int, default=85000000001, help="first contact id")
    args = ap.parse_args()
    peer_http.serve(HubSpot(args), args)


if __name__ == "__main__":
    main()
