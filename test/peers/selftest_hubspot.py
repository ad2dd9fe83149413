"""HubSpot part of the CRM peers' self-test (selftest_crm_peers.py runs it)."""
import base64
import hashlib
import hmac
import json
import time
import urllib.parse

from selftest_harness import CLIENT_ID, CLIENT_SECRET, REDIRECT, check, qs

def oauth(hs):
    """OAuth: authorize, exchange, reuse, mismatch, credentials in the body only."""
    check("hubspot: peer listens over HTTPS, verified by the test CA", hs.call("GET", "/nothing")[0] == 404)

    s, h, _ = hs.call("GET", "/oauth/authorize?" + urllib.parse.urlencode(
        {"client_id": CLIENT_ID, "scope": "oauth crm.objects.contacts.read", "redirect_uri": REDIRECT,
         "state": "st-1"}))
    loc = h.get("location", "")
    p = qs(loc)
    check("hubspot: authorize redirects to redirect_uri with code and state",
          s == 302 and loc.startswith(REDIRECT + "&code=") and p.get("state") == "st-1" and p.get("tenant") == "7")
    code = p.get("code", "")
    s, h, _ = hs.call("GET", "/oauth/authorize?client_id=someone-else&scope=oauth&redirect_uri=" + REDIRECT)
    check("hubspot: authorize refuses an unknown client_id", s == 400 and "location" not in h)

    def exchange(c, redirect=REDIRECT, path="/oauth/v3/token", secret_in_body=True, chunked=False):
        form = {"grant_type": "authorization_code", "client_id": CLIENT_ID, "redirect_uri": redirect, "code": c}
        headers = {}
        if secret_in_body:
            form["client_secret"] = CLIENT_SECRET
        else:
            headers["Authorization"] = "Basic " + base64.b64encode(
                (CLIENT_ID + ":" + CLIENT_SECRET).encode()).decode()
        if chunked:
            return hs.call("POST", path, urllib.parse.urlencode(form), dict(
                headers, **{"Content-Type": "application/x-www-form-urlencoded"}), chunked=True)
        return hs.call("POST", path, form=form, headers=headers)

    s, h, tok = exchange(code, chunked=True)
    check("hubspot: code exchange (chunked form body) returns bearer tokens with expires_in 1800",
          s == 200 and tok.get("token_type") == "bearer" and tok.get("expires_in") == 1800
          and set(tok) == {"access_token", "refresh_token", "expires_in", "token_type"}
          and 200 < len(tok["access_token"]) <= 300, (s, tok))
    s, _, e = exchange(code)
    check("hubspot: an authorization code works once (reuse: invalid_grant BAD_AUTH_CODE)",
          s == 400 and e.get("error") == "invalid_grant" and e.get("status") == "BAD_AUTH_CODE"
          and "error_description" in e and "message" in e, e)

    def new_code(scope="oauth crm.objects.contacts.read"):
        _, h, _ = hs.call("GET", "/oauth/authorize?" + urllib.parse.urlencode(
            {"client_id": CLIENT_ID, "scope": scope, "redirect_uri": REDIRECT, "state": "x"}))
        return qs(h["location"])["code"]

    s, _, e = exchange(new_code(), redirect="https://app.example.com/other")
    check("hubspot: redirect_uri must match the authorize request",
          s == 400 and e.get("status") == "MISMATCH_REDIRECT_URI_AUTH_CODE", e)
    s, _, e = exchange(new_code(), secret_in_body=False)
    check("hubspot: client credentials outside the form body are refused",
          s == 400 and e.get("error") == "invalid_client", e)
    c2 = new_code()
    s, _, tok2 = exchange(c2, path="/oauth/2026-03/token")
    check("hubspot: date-versioned /oauth/2026-03/token exchanges codes too", s == 200 and "access_token" in tok2)

    s, _, r = hs.call("POST", "/oauth/2026-03/token", form={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": tok["refresh_token"]})
    check("hubspot: refresh gives a new access token and keeps the refresh token",
          s == 200 and r["access_token"] != tok["access_token"] and r["refresh_token"] == tok["refresh_token"])
    access = r["access_token"]
    s, _, i = hs.call("POST", "/oauth/v3/token/introspect", form={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": access, "token_type_hint": "access_token"})
    check("hubspot: introspection reports active, hub_id, client_id, scopes, expires_in",
          s == 200 and i.get("active") is True and i.get("hub_id") == 62515 and i.get("client_id") == CLIENT_ID
          and i.get("scopes") == ["oauth", "crm.objects.contacts.read"] and 0 < i.get("expires_in", 0) <= 1800
          and i.get("token_type") == "access", i)
    s, _, i = hs.call("POST", "/oauth/v3/token/introspect", form={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": "nonsense"})
    check("hubspot: introspection of an unknown token is inactive", s == 200 and i == {"active": False})
    check("hubspot: retired v1 token endpoints answer 404",
          hs.call("POST", "/oauth/v1/token", form={"grant_type": "refresh_token"})[0] == 404
          and hs.call("GET", "/oauth/v1/access-tokens/" + access)[0] == 404)

    hs.admin("refresh", {"refuse": True})
    s, _, e = hs.call("POST", "/oauth/v3/token", form={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": tok["refresh_token"]})
    hs.admin("refresh", {"refuse": False})
    check("hubspot: refused refresh is invalid_grant BAD_REFRESH_TOKEN",
          s == 400 and e.get("error") == "invalid_grant" and e.get("status") == "BAD_REFRESH_TOKEN", e)

    return tok, code, access


def tokens_at_the_api(hs, access):
    """Tokens at the API: scopes, expiry, revocation."""
    hs.admin("contacts", {"count": 30, "same_modified": 10, "phone_formats": True})
    s, h, b = hs.call("GET", "/crm/v3/objects/contacts?limit=5", token=access)
    check("hubspot: rate limit headers on API responses",
          s == 200 and h.get("x-hubspot-ratelimit-daily") and h.get("x-hubspot-ratelimit-daily-remaining")
          and h.get("x-hubspot-ratelimit-secondly") and h.get("x-hubspot-ratelimit-secondly-remaining") is not None
          and "retry-after" not in h, h)
    nocontacts = hs.admin("token", {"scopes": ["oauth"]})["access_token"]
    s, _, e = hs.call("GET", "/crm/v3/objects/contacts", token=nocontacts)
    check("hubspot: a token without crm.objects.contacts.read gets 403 MISSING_SCOPES",
          s == 403 and e.get("category") == "MISSING_SCOPES")
    hs.admin("expire_tokens", {})
    s, _, e = hs.call("GET", "/crm/v3/objects/contacts", token=access)
    check("hubspot: an expired token gets 401 EXPIRED_AUTHENTICATION",
          s == 401 and e.get("category") == "EXPIRED_AUTHENTICATION" and "expired" in e.get("message", ""), e)
    s, _, e = hs.call("GET", "/crm/v3/objects/contacts", token="made-up")
    check("hubspot: an unknown token gets 401 INVALID_AUTHENTICATION",
          s == 401 and e.get("category") == "INVALID_AUTHENTICATION" and e.get("status") == "error")
    fresh = hs.admin("token", {})
    s1 = hs.call("POST", "/oauth/v3/token/revoke", form={"token": fresh["refresh_token"]})[0]
    s2 = hs.call("POST", "/oauth/v3/token/revoke", form={"token": fresh["access_token"]})[0]
    s3 = hs.call("GET", "/crm/v3/objects/contacts", token=fresh["access_token"])[0]
    s4, _, e = hs.call("POST", "/oauth/v3/token", form={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": fresh["refresh_token"]})
    check("hubspot: revoke answers 200 and the tokens stop working",
          (s1, s2, s3, s4) == (200, 200, 401, 400) and e.get("error") == "invalid_grant")
    api = hs.admin("token", {})["access_token"]

    return api


def listing(hs, api):
    """Listing, archived listing."""
    hs.admin("reset_stats", {})
    hs.admin("archive", {"count": 4})
    seen, after, pages, only_props, link_ok = [], None, 0, True, True
    path = "/crm/v3/objects/contacts?limit=7&properties=email,phone,lastmodifieddate"
    while True:
        s, _, b = hs.call("GET", path + ("&after=" + after if after else ""), token=api)
        pages += 1
        seen += [r["id"] for r in b["results"]]
        only_props &= all(set(r["properties"]) == {"email", "phone", "lastmodifieddate"} for r in b["results"])
        nxt = b.get("paging", {}).get("next")
        if not nxt:
            break
        link_ok &= nxt["link"].startswith(hs.base + "/crm/v3/objects/contacts?") and "after=" + nxt["after"] in nxt["link"]
        after = nxt["after"]
    everyone = hs.admin("contacts")["results"]
    live = [c["id"] for c in everyone if not c["archived"]]
    check("hubspot: list pages through live contacts in id order with only the requested properties",
          seen == live and len(seen) == 26 and pages == 4 and only_props and link_ok, (len(seen), pages))
    check("hubspot: contact ids are integers beyond 2^32, with gaps",
          all(int(i) > 2 ** 32 for i in seen) and any(int(b) - int(a) > 1 for a, b in zip(seen, seen[1:])))
    s, _, e = hs.call("GET", "/crm/v3/objects/contacts?limit=101", token=api)
    check("hubspot: list limit above 100 is a 400", s == 400 and e.get("category") == "VALIDATION_ERROR")
    s, _, b = hs.call("GET", "/crm/v3/objects/contacts?archived=true&limit=100", token=api)
    check("hubspot: archived=true lists only archived contacts, with archivedAt",
          s == 200 and len(b["results"]) == 4 and all(r["archived"] and "archivedAt" in r for r in b["results"]))
    phones = {c["properties"]["phone"] for c in everyone}
    check("hubspot: seeded phones come in mixed human spellings",
          any(p.startswith("(555)") for p in phones) and any("ext." in p for p in phones)
          and any(p.startswith("+44") for p in phones) and any(p.isdigit() for p in phones))

    return everyone, live


def searching(hs, api, everyone, live):
    """Search: ties, composite cursor, validation, the 10,000 cap, lag."""
    last_search = [0.0]

    def search(body, token=api):
        wait = last_search[0] + 0.22 - time.monotonic()  # stay under 5 per second
        if wait > 0:
            time.sleep(wait)
        last_search[0] = time.monotonic()
        return hs.call("POST", "/crm/v3/objects/contacts/search", body, token=token)

    props = ["lastmodifieddate", "hs_object_id"]
    s, _, b = search({"sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                      "properties": props, "limit": 100})
    keys = [(r["properties"]["lastmodifieddate"], int(r["id"])) for r in b["results"]]
    tied = [k for k in keys if k[0] == keys[-1][0]]
    check("hubspot: search sorts by lastmodifieddate with ties in id order, archived contacts absent",
          s == 200 and b["total"] == 26 and keys == sorted(keys) and len(tied) >= 8
          and not {r["id"] for r in b["results"]} & {c["id"] for c in everyone if c["archived"]}, b.get("total"))
    s, _, b = search({"sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}],
                      "properties": props, "limit": 100})
    dkeys = [(r["properties"]["lastmodifieddate"], int(r["id"])) for r in b["results"]]
    check("hubspot: DESCENDING search puts the latest first, ties still in id order, archived contacts absent",
          s == 200 and b["total"] == 26 and [k[0] for k in dkeys] == sorted((k[0] for k in dkeys), reverse=True)
          and dkeys[:len(tied)] == tied, dkeys[:3])
    got, cursor = [], None
    while True:
        if cursor is None:
            groups = [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}]
        else:
            ms_, cid = cursor
            groups = [{"filters": [{"propertyName": "lastmodifieddate", "operator": "EQ", "value": ms_},
                                   {"propertyName": "hs_object_id", "operator": "GT", "value": cid}]},
                      {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": ms_}]}]
        s, _, b = search({"filterGroups": groups, "properties": props, "limit": 4,
                          "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]})
        if s != 200 or not b["results"]:
            break
        got += [r["id"] for r in b["results"]]
        last = b["results"][-1]
        cursor = (last["properties"]["lastmodifieddate"], last["id"])
    check("hubspot: a (lastmodifieddate, hs_object_id) cursor over OR'd filter groups reads every contact once",
          sorted(got, key=int) == sorted(live, key=int) and len(got) == len(set(got)), (len(got), len(live)))
    first_live = min((c for c in everyone if not c["archived"]), key=lambda c: c["properties"]["lastmodifieddate"])
    s, _, b = search({"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GT",
                                                     "value": first_live["properties"]["lastmodifieddate"]}]}],
                      "properties": props, "limit": 100})
    s2, _, b2 = search({"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "LTE",
                                                       "value": int(first_live["id"])}]}], "limit": 100})
    check("hubspot: search filter values may be ISO 8601 or numbers", s == 200 and b["total"] == 25
          and s2 == 200 and [r["id"] for r in b2["results"]] == [first_live["id"]], (b.get("total"), b2))

    bad = [("two sorts", {"sorts": [{"propertyName": "lastmodifieddate"}, {"propertyName": "hs_object_id"}]}),
           ("six filter groups", {"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT",
                                                                 "value": "1"}]}] * 6}),
           ("seven filters in a group", {"filterGroups": [{"filters": [{"propertyName": "hs_object_id",
                                                                        "operator": "GT", "value": "1"}] * 7}]}),
           ("nineteen filters", {"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT",
                                                                "value": "1"}] * 4}] * 4
                                 + [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "1"}] * 3}]}),
           ("limit 201", {"limit": 201}),
           ("a body over 3,000 characters", {"properties": ["email"] * 400}),
           ("an unknown operator", {"filterGroups": [{"filters": [{"propertyName": "hs_object_id",
                                                                   "operator": "ABOUT", "value": "1"}]}]})]
    results = []
    for name, body in bad:
        s, _, e = search(body)
        results.append((name, s, isinstance(e, dict) and e.get("category") == "VALIDATION_ERROR"
                        and e.get("status") == "error" and "correlationId" in e))
    check("hubspot: search refuses two sorts, >5 groups, >6 filters a group, >18 filters, limit >200, "
          "bodies >3,000 characters, unknown operators (400 VALIDATION_ERROR)",
          all(s == 400 and ok for _, s, ok in results), results)
    nineteen = bad[3][1]
    check("hubspot: (the 19-filter body is within the other limits)",
          len(nineteen["filterGroups"]) == 5 and max(len(g["filters"]) for g in nineteen["filterGroups"]) <= 6)

    hs.admin("contacts", {"count": 10100, "same_modified": 10100})
    s, _, b = search({"sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                      "properties": ["hs_object_id"], "limit": 100, "after": "9900"})
    s2, _, e = search({"sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                       "properties": ["hs_object_id"], "limit": 100, "after": b.get("paging", {}).get("next", {}).get("after", "x")})
    s3, _, _ = search({"properties": ["hs_object_id"], "limit": 200, "after": "9801"})
    check("hubspot: search pages to 10,000 results, then after+limit past 10,000 is a 400",
          s == 200 and b["total"] == 10126 and len(b["results"]) == 100 and b["paging"]["next"]["after"] == "10000"
          and s2 == 400 and e.get("category") == "VALIDATION_ERROR" and s3 == 400, (s, s2, s3))

    hs.admin("config", {"search_lag_ms": 1500})
    target = live[0]
    before = next(c for c in everyone if c["id"] == target)["properties"]["lastmodifieddate"]
    hs.admin("update", {"ids": [target]})
    newbie = hs.admin("contacts", {"count": 1})["ids"][0]
    one = lambda cid: {"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "EQ",
                                                      "value": cid}]}], "properties": ["lastmodifieddate"]}
    _, _, b1 = search(one(target))
    _, _, b2 = search(one(newbie))
    _, _, lst = hs.call("GET", "/crm/v3/objects/contacts/%s?properties=lastmodifieddate" % target, token=api)
    time.sleep(1.6)
    _, _, b3 = search(one(target))
    _, _, b4 = search(one(newbie))
    hs.admin("config", {"search_lag_ms": 0})
    check("hubspot: search lags writes: old version and no new contact until the lag passes; GET is current",
          b1["results"][0]["properties"]["lastmodifieddate"] == before and b2["total"] == 0
          and lst["properties"]["lastmodifieddate"] != before
          and b3["results"][0]["properties"]["lastmodifieddate"] == lst["properties"]["lastmodifieddate"]
          and b4["total"] == 1)


def rate_limits(hs, api):
    """Rate limits."""
    hs.admin("reset_stats", {})
    statuses, bodies, heads = [], [], []
    for _ in range(120):
        s, h, b = hs.call("GET", "/crm/v3/objects/contacts?limit=1", token=api)
        statuses.append(s)
        if s == 429:
            bodies.append(b)
            heads.append(h)
    st = hs.admin("stats")
    check("hubspot: a burst of 120 requests gets 110 answers then 429 TEN_SECONDLY_ROLLING",
          statuses[:110] == [200] * 110 and statuses[110:] == [429] * 10
          and all(b.get("errorType") == "RATE_LIMIT" and b.get("policyName") == "TEN_SECONDLY_ROLLING"
                  and b.get("status") == "error" for b in bodies), statuses.count(429))
    check("hubspot: 429s carry the rate limit headers and no Retry-After unless asked",
          all("x-hubspot-ratelimit-secondly" in h and "retry-after" not in h for h in heads))
    check("hubspot: stats count the over-limit arrivals and the rolling 10 s peak",
          st["over_limit"]["TEN_SECONDLY_ROLLING"] == 10 and st["max_in_10s"] == 120
          and st["requests"]["GET /crm/v3/objects/contacts"] == {"200": 110, "429": 10}, st)
    hs.admin("reset_stats", {})
    hs.admin("config", {"retry_after": True})
    ss = []
    for _ in range(8):
        s, h, b = hs.call("POST", "/crm/v3/objects/contacts/search", {"limit": 1}, token=api)
        ss.append((s, b.get("policyName"), h.get("retry-after")))
    hs.admin("config", {"retry_after": False})
    st = hs.admin("stats")
    check("hubspot: search allows 5 a second: 8 at once get 5 answers and 3 429 SECONDLY with Retry-After",
          [x[0] for x in ss] == [200] * 5 + [429] * 3 and all(x[1] == "SECONDLY" and x[2] == "1" for x in ss[5:])
          and st["over_limit"]["SECONDLY"] == 3 and st["max_search_in_1s"] == 8, ss)
    time.sleep(1.05)
    hs.admin("storm", {"count": 2, "retry_after": 3})
    storm = [hs.call("GET", "/crm/v3/objects/contacts?limit=1", token=api) for _ in range(3)]
    check("hubspot: a storm answers the next n requests 429 with the given Retry-After",
          [x[0] for x in storm] == [429, 429, 200] and storm[0][1].get("retry-after") == "3"
          and hs.admin("stats")["storm_answered"] == 2)
    s, _, _ = hs.call("POST", "/oauth/v3/token", form={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                       "client_secret": CLIENT_SECRET, "refresh_token": "x"})
    check("hubspot: OAuth calls are outside the API rate limit (stats api_requests unchanged)",
          s == 400 and hs.admin("stats")["api_requests"] == 11)


def calls(hs, api, live):
    """Calls."""
    contact = live[1]
    call = {"properties": {"hs_timestamp": "2026-11-29T10:15:00.000Z", "hs_call_title": "Support call",
                           "hs_call_body": "Resolved", "hs_call_direction": "INBOUND", "hs_call_duration": "93000",
                           "hs_call_from_number": "+15551230001", "hs_call_to_number": "+15551239999",
                           "hs_call_status": "COMPLETED", "hs_call_recording_url": "https://rec.example.com/1.mp3"},
            "associations": [{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                                "associationTypeId": 194}]}]}
    s, _, b = hs.call("POST", "/crm/v3/objects/calls", call, token=api)
    calls = hs.admin("calls")["results"]
    check("hubspot: logging a call answers 201 with the object; the call is associated to the contact",
          s == 201 and b["properties"]["hs_call_duration"] == "93000" and b["id"].isdigit()
          and b["properties"]["hs_timestamp"] == "2026-11-29T10:15:00.000Z" and "createdAt" in b
          and calls and calls[-1]["associations"]["contacts"] == [contact], b)

    def variant(props=None, assoc=None, drop=None):
        c = json.loads(json.dumps(call))
        c["properties"].update(props or {})
        if drop:
            del c["properties"][drop]
        if assoc is not None:
            c["associations"] = assoc
        return hs.call("POST", "/crm/v3/objects/calls", c, token=api)

    r1 = variant(drop="hs_timestamp")
    r2 = variant({"hs_call_direction": "SIDEWAYS"})
    r3 = variant({"hs_call_duration": "93.5 seconds"})
    r4 = variant({"hs_call_status": "DONE"})
    r5 = variant(assoc=[{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                           "associationTypeId": 193}]}])
    r6 = variant(assoc=[{"to": {"id": "12345"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                           "associationTypeId": 194}]}])
    check("hubspot: call validation: missing hs_timestamp, bad direction/duration/status, wrong association "
          "type are 400; an unknown contact is 404",
          [r[0] for r in (r1, r2, r3, r4, r5, r6)] == [400, 400, 400, 400, 400, 404]
          and "INVALID_OPTION" in r2[2]["message"] and "hs_timestamp" in r1[2]["message"],
          [r[0] for r in (r1, r2, r3, r4, r5, r6)])

    r7 = variant({"wib_call_id": "c-1"})
    prop = {"name": "wib_call_id", "label": "wib call id", "type": "string", "fieldType": "text",
            "groupName": "callinformation"}
    p1 = hs.call("POST", "/crm/v3/properties/calls", prop, token=api)
    p2 = hs.call("POST", "/crm/v3/properties/calls", prop, token=api)
    p3 = hs.call("GET", "/crm/v3/properties/calls/wib_call_id", token=api)
    p4 = hs.call("GET", "/crm/v3/properties/calls/nothing_here", token=api)
    check("hubspot: a custom call property is refused until created; created once (201), then 409; readable",
          r7[0] == 400 and "PROPERTY_DOESNT_EXIST" in r7[2]["message"] and p1[0] == 201 and p2[0] == 409
          and p2[2].get("category") == "OBJECT_ALREADY_EXISTS" and p3[0] == 200 and p4[0] == 404,
          [r7[0], p1[0], p2[0], p3[0], p4[0]])
    r8 = variant({"wib_call_id": "c-2"})
    q = {"filterGroups": [{"filters": [{"propertyName": "wib_call_id", "operator": "EQ", "value": "c-2"}]}],
         "properties": ["wib_call_id"], "limit": 5}
    s1, _, found = hs.call("POST", "/crm/v3/objects/calls/search", q, token=api)
    q["filterGroups"][0]["filters"][0]["value"] = "c-3"
    s2, _, none = hs.call("POST", "/crm/v3/objects/calls/search", q, token=api)
    check("hubspot: a call carries a custom property and is found by it with the calls search",
          r8[0] == 201 and s1 == 200 and found["total"] == 1 and found["results"][0]["id"] == r8[2]["id"]
          and found["results"][0]["properties"]["wib_call_id"] == "c-2" and s2 == 200 and none["total"] == 0,
          (found, none))
    hs.admin("config", {"call_delay_ms": 300})
    t0 = time.time()
    r9 = variant({"wib_call_id": "c-3"})
    slow = time.time() - t0
    hs.admin("config", {"call_delay_ms": 0})
    check("hubspot: call_delay_ms answers a created call that much later",
          r9[0] == 201 and slow >= 0.3, slow)

    return contact


def webhooks(hs, contact):
    """Webhook signatures."""
    body = '[{"eventId":1,"subscriptionType":"contact.creation","objectId":5}]'
    sig = hs.admin("sign_webhook", {"method": "POST", "uri": "https://wib.example.com/hooks/hubspot?x=1",
                                    "body": body, "timestamp_ms": 1764411300123})
    want = base64.b64encode(hmac.new(CLIENT_SECRET.encode(), ("POST" + "https://wib.example.com/hooks/hubspot?x=1"
                                                              + body + "1764411300123").encode(),
                                     hashlib.sha256).digest()).decode()
    check("hubspot: sign_webhook is base64(HMAC-SHA256(secret, method+uri+body+timestamp))", sig["signature"] == want)
    enc = hs.admin("sign_webhook", {"method": "POST", "uri": "https://wib.example.com/hooks/hubspot?x=a%3Ab%2fc%20d",
                                    "body": body, "timestamp_ms": 1764411300123})
    want = base64.b64encode(hmac.new(CLIENT_SECRET.encode(), ("POST" + "https://wib.example.com/hooks/hubspot?x=a:b/c%20d"
                                                              + body + "1764411300123").encode(),
                                     hashlib.sha256).digest()).decode()
    check("hubspot: sign_webhook decodes %3A, %2F (any case) but no other encoding in the URI, as HubSpot does",
          enc["signature"] == want)
    w = hs.admin("webhook_request", {"uri": "https://wib.example.com/h", "events": [
        {"subscriptionType": "contact.creation", "objectId": contact},
        {"subscriptionType": "contact.propertyChange", "objectId": contact, "propertyName": "phone",
         "propertyValue": "(555) 000-1111"},
        {"subscriptionType": "contact.deletion", "objectId": contact}]})
    ev = json.loads(w["body"])
    ts = w["headers"]["X-HubSpot-Request-Timestamp"]
    resig = base64.b64encode(hmac.new(CLIENT_SECRET.encode(), ("POST" + "https://wib.example.com/h" + w["body"] + ts)
                                      .encode(), hashlib.sha256).digest()).decode()
    check("hubspot: webhook_request builds a signed JSON array of events",
          [e["subscriptionType"] for e in ev] == ["contact.creation", "contact.propertyChange", "contact.deletion"]
          and all(e["portalId"] == 62515 and "eventId" in e and "occurredAt" in e for e in ev)
          and ev[1]["propertyName"] == "phone" and w["headers"]["X-HubSpot-Signature-v3"] == resig)


def log_and_stats(hs, tok, code, access):
    """Log and stats."""
    log = [json.loads(l) for l in open(hs.log)]
    text = open(hs.log).read()
    grants = [e.get("grant_type") for e in log if e["path"].endswith("/token")]
    issued = hs.admin("tokens")
    check("hubspot: admin tokens lists every access and refresh token issued",
          access in issued["access"] and tok["refresh_token"] in issued["refresh"])
    check("hubspot: the log has one JSON line per request, grant types, and no secret in full",
          len(log) >= 200 and "authorization_code" in grants and "refresh_token" in grants
          and tok["refresh_token"] not in text and code not in text and access not in text and CLIENT_SECRET not in text)
    st = hs.admin("stats")
    check("hubspot: stats count every request (sum by endpoint and status equals the total)",
          sum(sum(v.values()) for v in st["requests"].values()) == st["total"] and st["total"] > 0)


def hubspot_spelling(hs):
    tok = hs.admin("token", {})
    s, _, i = hs.call("POST", "/oauth/v3/token/introspect", form={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": tok["refresh_token"],
        "token_type_hint": "refresh_token"})
    check("hubspot: --introspect-spelling hubId spells the portal hubId (refresh token introspected)",
          s == 200 and i.get("hubId") == 4242 and "hub_id" not in i and i.get("token_type") == "refresh", i)


# ---------------------------------------------------------------- Salesforce

def run(hs, hs2):
    tok, code, access = oauth(hs)
    api = tokens_at_the_api(hs, access)
    everyone, live = listing(hs, api)
    searching(hs, api, everyone, live)
    rate_limits(hs, api)
    contact = calls(hs, api, live)
    webhooks(hs, contact)
    log_and_stats(hs, tok, code, access)
    hubspot_spelling(hs2)
