"""Salesforce part of the CRM peers' self-test (selftest_crm_peers.py runs it)."""
import base64
import calendar
import hashlib
import hmac
import http.server
import os
import re
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from selftest_harness import CLIENT_ID, CLIENT_SECRET, REDIRECT, check, qs

def soql(peer, token, q, version="v59.0", headers=None, kind="query"):
    return peer.call("GET", "/services/data/%s/%s?%s" % (version, kind, urllib.parse.urlencode({"q": q})),
                     token=token, headers=headers)


def pkce():
    verifier = base64.urlsafe_b64encode(os.urandom(48)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def sf_authorize(sf, challenge, state="s1", extra=None):
    p = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": state,
         "code_challenge": challenge, "code_challenge_method": "S256"}
    p.update(extra or {})
    p = {k: v for k, v in p.items() if v is not None}
    return sf.call("GET", "/services/oauth2/authorize?" + urllib.parse.urlencode(p))


def sf_token(sf, **form):
    f = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    f.update(form)
    return sf.call("POST", "/services/oauth2/token", form=f)


def oauth(sf):
    """OAuth web server flow with PKCE: codes, verifier, token response, refresh."""
    v, ch = pkce()
    s, h, _ = sf_authorize(sf, ch)
    loc = h.get("location", "")
    code = qs(loc).get("code", "")
    check("salesforce: authorize redirects with a code (ending '==', URL-encoded) and the state",
          s == 302 and loc.startswith(REDIRECT + "&code=") and "%3D%3D" in loc and code.endswith("==")
          and qs(loc).get("state") == "s1", loc)
    s, h, _ = sf_authorize(sf, None)
    check("salesforce: authorize without a code_challenge redirects with error=invalid_request",
          s == 302 and qs(h["location"]).get("error") == "invalid_request")
    s, _, e = sf_token(sf, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                       code_verifier=pkce()[0])
    check("salesforce: a wrong PKCE verifier is invalid_grant", s == 400 and e == {
        "error": "invalid_grant", "error_description": "invalid code verifier"}, e)
    s, _, e = sf_token(sf, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=v)
    check("salesforce: a code is spent by a failed attempt too", s == 400 and e.get("error") == "invalid_grant")

    v, ch = pkce()
    code = qs(sf_authorize(sf, ch)[1]["location"])["code"]
    s, _, t = sf_token(sf, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=v)
    sig = base64.b64encode(hmac.new(CLIENT_SECRET.encode(), (t.get("id", "") + t.get("issued_at", "")).encode(),
                                    hashlib.sha256).digest()).decode()
    check("salesforce: code + verifier give access/refresh tokens, instance_url, id, signature; no expires_in",
          s == 200 and t["token_type"] == "Bearer" and "expires_in" not in t
          and t["access_token"].startswith("00D000000000001!") and t["refresh_token"]
          and t["instance_url"] == sf.base and t["id"] == sf.base + "/id/00D000000000001AAA/005000000000001AAA"
          and t["signature"] == sig and t["scope"], t)
    s, _, e = sf_token(sf, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=v)
    check("salesforce: code reuse is invalid_grant", s == 400 and e.get("error") == "invalid_grant")
    access = t["access_token"]
    s, _, r = sf_token(sf, grant_type="refresh_token", refresh_token=t["refresh_token"])
    check("salesforce: refresh without rotation gives a new access token and no refresh_token",
          s == 200 and r["access_token"] != access and "refresh_token" not in r and r["instance_url"] == sf.base)
    s, _, e = sf_token(sf, grant_type="refresh_token", refresh_token=t["refresh_token"], client_secret="wrong")
    check("salesforce: a wrong client secret is invalid_client", s == 400 and e.get("error") == "invalid_client")
    s, _, idn = sf.call("GET", "/id/00D000000000001AAA/005000000000001AAA", token=access)
    check("salesforce: the identity URL answers for the token's user",
          s == 200 and idn.get("organization_id") == "00D000000000001AAA")

    return access


def rotation(sf2):
    """Rotation and grace, instance_url override, session expiry (second peer)."""
    v, ch = pkce()
    code = qs(sf_authorize(sf2, ch)[1]["location"])["code"]
    s, _, t2 = sf_token(sf2, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=v)
    check("salesforce: --instance-url is what the token endpoint hands out",
          s == 200 and t2["instance_url"] == "https://evil.example.com")
    rt0 = t2["refresh_token"]
    s, _, r1 = sf_token(sf2, grant_type="refresh_token", refresh_token=rt0)
    s2, _, r2 = sf_token(sf2, grant_type="refresh_token", refresh_token=rt0)
    check("salesforce: with rotation each refresh returns a new refresh token; the old one works in the grace period",
          s == 200 and r1.get("refresh_token") not in (None, rt0) and s2 == 200 and r2.get("refresh_token"))
    time.sleep(1.2)
    s, _, e = sf_token(sf2, grant_type="refresh_token", refresh_token=rt0)
    s2, _, r3 = sf_token(sf2, grant_type="refresh_token", refresh_token=r2["refresh_token"])
    check("salesforce: after the grace period the old refresh token is invalid_grant; the newest works",
          s == 400 and e == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
          and s2 == 200, (s, e, s2))
    s, h, e = sf2.call("GET", "/services/data/v59.0/limits", token=r3["access_token"])
    time.sleep(2.1)
    s2, h2, e2 = sf2.call("GET", "/services/data/v59.0/limits", token=r3["access_token"])
    check("salesforce: a session ends after --session-seconds with 401 INVALID_SESSION_ID",
          s == 200 and s2 == 401 and e2 == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
          and h2.get("www-authenticate") == "Token", (s, s2, e2))


def revocation(sf, access):
    """Revocation."""
    fam = sf.admin("token", {})
    s, _, r = sf_token(sf, grant_type="refresh_token", refresh_token=fam["refresh_token"])
    a1 = sf.call("POST", "/services/oauth2/revoke", form={"token": r["access_token"]})[0]
    after_a1 = sf.call("GET", "/services/data/v59.0/limits", token=r["access_token"])[0]
    still = sf.call("GET", "/services/data/v59.0/limits", token=fam["access_token"])[0]
    a2 = sf.call("POST", "/services/oauth2/revoke", form={"token": fam["refresh_token"]})[0]
    gone = sf.call("GET", "/services/data/v59.0/limits", token=fam["access_token"])[0]
    s, _, e = sf_token(sf, grant_type="refresh_token", refresh_token=fam["refresh_token"])
    s2, _, e2 = sf.call("POST", "/services/oauth2/revoke", form={"token": fam["refresh_token"]})
    check("salesforce: revoking an access token ends that session; revoking a refresh token ends its family",
          (a1, after_a1, still, a2, gone, s) == (200, 401, 200, 200, 401, 400) and e.get("error") == "invalid_grant"
          and s2 == 400 and e2.get("error") == "invalid_token", (a1, after_a1, still, a2, gone, s, s2))
    sf.admin("expire_sessions", {})
    s, _, e = sf.call("GET", "/services/data/v59.0/limits", token=access)
    check("salesforce: expire_sessions makes live tokens answer 401 INVALID_SESSION_ID",
          s == 401 and e[0]["errorCode"] == "INVALID_SESSION_ID")
    api = sf.admin("token", {})["access_token"]

    return api


def queries(sf, sf2, api):
    """Queries: delta, batches, cursors, composite cursor."""
    ids = sf.admin("contacts", {"count": 2500, "same_modstamp": 600})["ids"]
    sf.admin("contacts", {"count": 40, "object": "Lead"})
    fields = "Id, FirstName, LastName, Email, Phone, MobilePhone, Account.Name, SystemModstamp, LastModifiedDate, IsDeleted"
    delta = "SELECT %s FROM Contact WHERE SystemModstamp > 2020-01-01T00:00:00.000Z ORDER BY SystemModstamp, Id" % fields

    s, h, b = soql(sf, api, delta, headers={"Sforce-Query-Options": "batchSize=500"})
    recs, pages = list(b["records"]), 1
    while not b["done"]:
        s, h, b = sf.call("GET", b["nextRecordsUrl"], token=api)
        recs += b["records"]
        pages += 1
    keys = [(r["SystemModstamp"], r["Id"]) for r in recs]
    check("salesforce: a delta query with batchSize=500 follows nextRecordsUrl through 5 batches, ordered by "
          "(SystemModstamp, Id)", pages == 5 and len(recs) == 2500 and keys == sorted(keys)
          and sorted(r["Id"] for r in recs) == sorted(ids), (pages, len(recs)))
    r0 = recs[-1]
    check("salesforce: records carry attributes, Account as a nested object or null, datetimes as ...000+0000",
          r0["attributes"]["type"] == "Contact" and r0["attributes"]["url"].endswith("/sobjects/Contact/" + r0["Id"])
          and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000", r0["SystemModstamp"])
          and any(r["Account"] is None for r in recs) and any(r["Account"] and r["Account"]["Name"] for r in recs)
          and r0["IsDeleted"] is False and "Sforce-Limit-Info".lower() in h)
    check("salesforce: 600 records share one SystemModstamp (whole seconds)",
          max(sum(1 for k in keys if k[0] == m) for m in {k[0] for k in keys}) == 600)
    check("salesforce: a followed cursor is closed", sf.admin("stats")["open_cursors"] == 0)
    s, _, b = soql(sf, api, delta)
    check("salesforce: the default batch is 2,000", len(b["records"]) == 2000 and b["totalSize"] == 2500
          and re.fullmatch(r"/services/data/v59\.0/query/01g[0-9A-Za-z]{15}-2000", b["nextRecordsUrl"]))
    mid = recs[2100]
    lit = mid["SystemModstamp"].replace(".000+0000", "+00:00")
    cur = ("SELECT Id, SystemModstamp FROM Contact WHERE (SystemModstamp = %s AND Id > '%s') OR SystemModstamp > %s "
           "ORDER BY SystemModstamp, Id LIMIT 1000" % (lit, mid["Id"], lit))
    s, _, b = soql(sf, api, cur, version="v61.0")
    check("salesforce: a composite cursor (SystemModstamp = X AND Id > 'id') OR SystemModstamp > X, with a %2B "
          "offset, returns exactly the records after it", s == 200 and [r["Id"] for r in b["records"]]
          == [r["Id"] for r in recs[2101:]] and b["done"], (s, b if s != 200 else len(b["records"])))
    before = time.time()
    upd = sf.admin("update", {"ids": ids[:3], "fields": {"FirstName": "Changed"}})["updated"]
    stamps = {u["SystemModstamp"] for u in upd}
    check("salesforce: records modified together share one SystemModstamp, never before the change",
          len(upd) == 3 and len(stamps) == 1
          and calendar.timegm(time.strptime(stamps.pop()[:19], "%Y-%m-%dT%H:%M:%S")) >= int(before), upd)

    errs = [("quoted datetime", "SELECT Id FROM Contact WHERE SystemModstamp > '2026-11-29T10:15:00.000Z'", "INVALID_FIELD"),
            ("'+' arrived as a space", "SELECT Id FROM Contact WHERE SystemModstamp > 2026-11-29T10:15:00 00:00", "MALFORMED_QUERY"),
            ("datetime without a zone", "SELECT Id FROM Contact WHERE SystemModstamp > 2026-11-29T10:15:00", "MALFORMED_QUERY"),
            ("AND and OR mixed without parentheses", "SELECT Id FROM Contact WHERE SystemModstamp = 2026-11-29T10:15:00Z "
             "AND Id > '0038b000000000AAAQ' OR SystemModstamp > 2026-11-29T10:15:00Z", "MALFORMED_QUERY"),
            ("unknown object", "SELECT Id FROM Contactz", "INVALID_TYPE"),
            ("unknown field", "SELECT Id, Emial FROM Contact", "INVALID_FIELD"),
            ("bad id literal", "SELECT Id FROM Contact WHERE Id > 'x'", "INVALID_QUERY_FILTER_OPERATOR"),
            ("not SOQL", "DELETE FROM Contact", "MALFORMED_QUERY"),
            ("unsupported clause", "SELECT Id FROM Contact GROUP BY Id", "MALFORMED_QUERY")]
    got = []
    for name, q, code_ in errs:
        s, _, e = soql(sf, api, q)
        got.append((name, s, e[0]["errorCode"] if isinstance(e, list) else e))
    check("salesforce: SOQL errors are 400 arrays with Salesforce's codes",
          all(g[1] == 400 and g[2] == c for g, (_, _, c) in zip(got, errs)), got)

    many = []
    for _ in range(3):
        many.append(soql(sf2, sf2.admin("token", {})["access_token"], "SELECT Id FROM Contact",
                         headers={"Sforce-Query-Options": "batchSize=200"})[2])
    tok2 = sf2.admin("token", {})["access_token"]
    first = sf2.call("GET", many[0]["nextRecordsUrl"], token=tok2)
    last = sf2.call("GET", many[2]["nextRecordsUrl"], token=tok2)
    check("salesforce: past --max-cursors the oldest cursor is dropped: 400 INVALID_QUERY_LOCATOR",
          first[0] == 400 and first[2][0]["errorCode"] == "INVALID_QUERY_LOCATOR" and last[0] == 200
          and sf2.admin("stats")["cursors_dropped"] == 1, (first[0], last[0]))

    return ids


def deletions(sf, api, ids):
    """Deletions."""
    gone_ids = ids[:3]
    five_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 300))
    sf.admin("delete", {"ids": gone_ids, "deleted_at": five_ago})
    now_id = ids[3]
    deleted_at = time.time()
    sf.admin("delete", {"ids": [now_id]})
    s, _, b = soql(sf, api, "SELECT Id FROM Contact WHERE Id IN ('%s', '%s')" % (gone_ids[0], ids[10]))
    s2, _, b2 = soql(sf, api, "SELECT Id, IsDeleted FROM Contact WHERE Id = '%s'" % gone_ids[0], kind="queryAll")
    check("salesforce: deleted records leave query and stay in queryAll with IsDeleted true",
          [r["Id"] for r in b["records"]] == [ids[10]] and b2["records"] and b2["records"][0]["IsDeleted"] is True)
    fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
    path = "/services/data/v59.0/sobjects/Contact/deleted/?"
    s, h, d = sf.call("GET", path + urllib.parse.urlencode({"start": fmt(time.time() - 3600),
                                                            "end": fmt(time.time() + 600)}), token=api)
    now = time.time()
    expect = gone_ids + ([now_id] if int(now // 60) != int(deleted_at // 60) else [])
    check("salesforce: the deleted endpoint lists deletions up to latestDateCovered (whole minutes, not the current one)",
          s == 200 and sorted(x["id"] for x in d["deletedRecords"]) == sorted(expect)
          and d["latestDateCovered"].endswith(":00.000+0000") and "earliestDateAvailable" in d
          and all(x["deletedDate"].endswith(".000+0000") for x in d["deletedRecords"]), d)
    base = now - now % 3600 - 3600
    s1, _, e1 = sf.call("GET", path + urllib.parse.urlencode({"start": fmt(base), "end": fmt(base + 119)}), token=api)
    s2, _, _ = sf.call("GET", path + urllib.parse.urlencode({"start": fmt(base + 59), "end": fmt(base + 120)}), token=api)
    s3, _, e3 = sf.call("GET", path + urllib.parse.urlencode({"start": fmt(now - 16 * 86400), "end": fmt(now)}), token=api)
    s4, _, _ = sf.call("GET", path + urllib.parse.urlencode({"start": fmt(base)}), token=api)
    check("salesforce: deleted window rules: start must precede end by more than a minute (seconds ignored), "
          "and not before earliestDateAvailable",
          s1 == 400 and e1[0]["errorCode"] == "INVALID_REPLICATION_DATE" and s2 == 200
          and s3 == 400 and e3[0]["errorCode"] == "INVALID_REPLICATION_DATE" and s4 == 400, (s1, s2, s3, s4))

    return gone_ids


def tasks(sf, api, ids, gone_ids):
    """Tasks."""
    who = ids[20]
    task = {"WhoId": who, "Subject": "Call", "TaskSubtype": "Call", "CallType": "Inbound",
            "CallDurationInSeconds": 93, "Description": "Resolved", "ActivityDate": "2026-11-29", "Status": "Completed"}
    s, _, b = sf.call("POST", "/services/data/v59.0/sobjects/Task", task, token=api)
    tasks = sf.admin("tasks")["tasks"]
    check("salesforce: a Task for a call is created: 201 {id 00T..., success, errors []}",
          s == 201 and b["id"].startswith("00T") and len(b["id"]) == 18 and b["success"] is True
          and b["errors"] == [] and tasks[-1]["WhoId"] == who, b)
    variants = [("unknown WhoId", {"WhoId": "0038b0000000zzzAAA"}, "INVALID_CROSS_REFERENCE_KEY"),
                ("WhoId of an Account", {"WhoId": "0018b000000000AAAQ"}, "FIELD_INTEGRITY_EXCEPTION"),
                ("deleted WhoId", {"WhoId": gone_ids[0]}, "ENTITY_IS_DELETED"),
                ("Status null", {"Status": None}, "REQUIRED_FIELD_MISSING"),
                ("bad CallType", {"CallType": "Sideways"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
                ("bad ActivityDate", {"ActivityDate": "29/11/2026"}, "JSON_PARSER_ERROR"),
                ("unknown field", {"Mood": "good"}, "INVALID_FIELD")]
    got = []
    for name, change, want in variants:
        s, _, e = sf.call("POST", "/services/data/v59.0/sobjects/Task", dict(task, **change), token=api)
        got.append((name, s, e[0]["errorCode"] if isinstance(e, list) else e))
    check("salesforce: Task validation errors are 400 arrays with Salesforce's codes",
          all(g[1] == 400 and g[2] == w for g, (_, _, w) in zip(got, variants)), got)
    s, _, b2 = sf.call("POST", "/services/data/v59.0/sobjects/Task", dict(task, CallObject="call-7f3a"), token=api)
    s, _, found = soql(sf, api, "SELECT Id, WhoId FROM Task WHERE CallObject = 'call-7f3a' ORDER BY CreatedDate, Id LIMIT 1")
    check("salesforce: a Task is found by its CallObject with SOQL",
          s == 200 and [r["Id"] for r in found["records"]] == [b2["id"]] and found["records"][0]["WhoId"] == who, found)
    sf.admin("config", {"task_delay_ms": 300})
    t0 = time.time()
    sf.call("POST", "/services/data/v59.0/sobjects/Task", task, token=api)
    held = time.time() - t0
    sf.admin("config", {"task_delay_ms": 0})
    check("salesforce: a Task's answer is held back on request (admin config task_delay_ms)", held >= 0.3, held)


def limits(sf, sf2, api):
    """Limits, versions."""
    s, h, _ = soql(sf, api, "SELECT Id FROM Lead LIMIT 1")
    used = int(re.search(r"api-usage=(\d+)/100000", h.get("sforce-limit-info", "")).group(1))
    s2, h2, _ = soql(sf, api, "SELECT Id FROM Lead LIMIT 1")
    check("salesforce: Sforce-Limit-Info counts each data call", s == s2 == 200
          and h2["sforce-limit-info"] == "api-usage=%d/100000" % (used + 1))
    sf2.admin("usage", {"used": 50})
    s, h, e = soql(sf2, sf2.admin("token", {})["access_token"], "SELECT Id FROM Contact LIMIT 1")
    check("salesforce: past the daily limit, 403 REQUEST_LIMIT_EXCEEDED",
          s == 403 and e == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
          and h.get("sforce-limit-info") == "api-usage=50/50")
    st = sf.admin("stats")
    check("salesforce: stats record API versions, usage and counts per endpoint",
          st["versions"].get("v61.0") == 1 and st["versions"].get("v59.0", 0) > 10 and st["api_usage"] == used + 1
          and sum(sum(x.values()) for x in st["requests"].values()) == st["total"])


def outbound(sf, ids):
    """Outbound messages."""
    received = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), body))
            if self.path == "/sfdc/ok":
                out = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
                       '"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse '
                       'xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
                       '</soapenv:Body></soapenv:Envelope>').encode()
            else:
                out = b"<ok/>"
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    target = "http://127.0.0.1:%d" % srv.server_address[1]
    rep = sf.admin("outbound_message", {"target_url": target + "/sfdc/ok", "records": ids[30:32], "object": "Contact"})
    path_, headers, body = received[-1]
    ns = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "o": "http://soap.sforce.com/2005/09/outbound",
          "sf": "urn:sobject.enterprise.soap.sforce.com", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
    root = ET.fromstring(body)
    n = root.find("s:Body/o:notifications", ns)
    notes = n.findall("o:Notification", ns)
    check("salesforce: an outbound message is a SOAP notifications envelope, text/xml, SOAPAction \"\"",
          headers.get("Content-Type") == "text/xml; charset=utf-8" and headers.get("SOAPAction") == '""'
          and n.find("o:OrganizationId", ns).text == "00D000000000001AAA" and n.find("o:ActionId", ns).text
          and n.find("o:SessionId", ns).get("{%s}nil" % ns["xsi"]) == "true"
          and "/services/Soap/c/" in n.find("o:EnterpriseUrl", ns).text
          and "/services/Soap/u/" in n.find("o:PartnerUrl", ns).text and len(notes) == 2
          and notes[0].find("o:sObject", ns).get("{%s}type" % ns["xsi"]) == "sf:Contact"
          and notes[0].find("o:sObject/sf:Id", ns).text == ids[30] and notes[0].find("o:Id", ns).text)
    check("salesforce: the peer checks the listener's Ack", rep["ack"] is True and rep["status"] == 200, rep)
    rep2 = sf.admin("outbound_message", {"target_url": target + "/sfdc/wrong", "records": ids[30:31]})
    check("salesforce: an answer that is not the Ack envelope is reported", rep2["ack"] is False and rep2["sent"])
    s, h, xml = sf.call("POST", "/__admin/outbound_envelope", {"records": ids[40:43], "object": "Contact"})
    check("salesforce: outbound_envelope returns the XML without sending it",
          s == 200 and h["content-type"].startswith("text/xml")
          and len(ET.fromstring(xml.encode()).findall("s:Body/o:notifications/o:Notification", ns)) == 3)
    srv.shutdown()



def leads(sf, api):
    """Lead conversion; the recycle bin emptied."""
    lead_ids = sf.admin("contacts", {"count": 3, "object": "Lead"})["ids"]
    conv = sf.admin("convert", {"ids": lead_ids[:1]})["converted"]
    s, _, b = soql(sf, api, "SELECT Id, IsConverted, ConvertedContactId FROM Lead WHERE Id = '%s'" % lead_ids[0])
    s2, _, b2 = soql(sf, api, "SELECT Id, LastName FROM Contact WHERE Id = '%s'" % conv[0]["contact"])
    check("salesforce: a converted Lead has IsConverted and ConvertedContactId, and its Contact exists",
          s == 200 and b["records"][0]["IsConverted"] is True and b["records"][0]["ConvertedContactId"] == conv[0]["contact"]
          and s2 == 200 and len(b2["records"]) == 1, (b, b2))
    fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
    path = "/services/data/v59.0/sobjects/Lead/deleted/?"
    sf.admin("delete", {"object": "Lead", "ids": lead_ids[1:2],
                        "deleted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))})
    window = urllib.parse.urlencode({"start": fmt(time.time() - 3600), "end": fmt(time.time())})
    s1, _, d1 = sf.call("GET", path + window, token=api)
    purged = sf.admin("empty_recycle_bin", {"object": "Lead"})["purged"]
    s2, _, e2 = sf.call("GET", path + window, token=api)
    s3, _, b3 = soql(sf, api, "SELECT Id FROM Lead WHERE Id = '%s'" % lead_ids[1], kind="queryAll")
    check("salesforce: an emptied recycle bin: deleted records gone from queryAll, and the deleted endpoint refuses "
          "a start before it (INVALID_REPLICATION_DATE)",
          s1 == 200 and [x["id"] for x in d1["deletedRecords"]] == lead_ids[1:2] and purged == lead_ids[1:2]
          and s2 == 400 and e2[0]["errorCode"] == "INVALID_REPLICATION_DATE" and s3 == 200 and b3["records"] == [],
          (s1, s2, e2, b3))


def run(sf, sf2):
    access = oauth(sf)
    rotation(sf2)
    api = revocation(sf, access)
    ids = queries(sf, sf2, api)
    gone_ids = deletions(sf, api, ids)
    tasks(sf, api, ids, gone_ids)
    limits(sf, sf2, api)
    outbound(sf, ids)
    leads(sf, api)
