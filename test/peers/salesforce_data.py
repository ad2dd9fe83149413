"""Salesforce records for the Salesforce peer (Salesforce REST API): ids with
their case-safe suffix, Contacts, Leads and Accounts, the recycle bin behind
sobjects/<Object>/deleted, Task validation, and the outbound-message SOAP
envelope with the check of the listener's acknowledgement.  No HTTP server
here; salesforce.py calls these with the peer's lock held.

Audit timestamps (CreatedDate, LastModifiedDate, SystemModstamp) have whole
seconds, as in Salesforce, so records modified together share a SystemModstamp
and only (SystemModstamp, Id) orders them.  JSON shows datetimes as
2026-11-29T10:15:00.000+0000, Salesforce's spelling.  A peer-made timestamp is
never earlier than the last one it made unless a test asks for a given time,
nor before the last query answered, so a cursor kept on data timestamps cannot
miss a change.  A modification is stamped with the second it happens in, as
Salesforce stamps a transaction; the records of one update share that stamp.
"""
import datetime
import http.client
import itertools
import json
import re
import ssl
import time
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from salesforce_soql import ID_RE, SCHEMA

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
PREFIX = {"Contact": "003", "Lead": "00Q", "Account": "001", "Task": "00T"}
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
         "Radia", "Niklaus", "Hedy", "Claude", "Sophie", None]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
        "Ritchie", "Perlman", "Wirth", "Lamarr", "Shannon", "O'Brien", "Müller"]
PHONES = ["(555) 123-{n:04d}", "+1 555-123-{n:04d} x9", "555123{n:04d}", "+44 20 7946 {n:04d}",
          "+49 (30) 1234-{n:04d}", "555.123.{n:04d}"]
TASK_FIELDS = {"WhoId", "WhatId", "Subject", "TaskSubtype", "CallType", "CallDurationInSeconds", "Description",
               "ActivityDate", "Status", "Priority", "CallObject", "CallDisposition", "OwnerId"}
TASK_SUBTYPES = ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"]
CALL_TYPES = ["Inbound", "Outbound", "Internal"]
TASK_STATUSES = ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"]
RECYCLE_DAYS = 15
NOTIFICATION_IDS = itertools.count(1)


def with_suffix(id15):
    """The 18-character id: each 5-character chunk's uppercase positions as one base-32 letter."""
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return id15 + out


def make_id(prefix, n):
    digits = ""
    while True:
        n, r = divmod(n, 62)
        digits = BASE62[r] + digits
        if n == 0:
            break
    return with_suffix(prefix + "8b0" + digits.rjust(9, "0"))


def sf_time(t):
    """Unix seconds -> 2026-11-29T10:15:00.000+0000 (Salesforce REST JSON)."""
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03d+0000" % (ms % 1000)


def parse_iso(text):
    d = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if d.tzinfo is None:
        raise ValueError("no zone")
    return d.timestamp()


def sf_error(code, message, fields=None):
    e = {"message": message, "errorCode": code}
    if fields is not None:
        e["fields"] = fields
    return [e]


class Store:
    def __init__(self):
        self.records = {"Contact": {}, "Lead": {}}
        self.accounts = {}
        self.tasks = []
        self.counter = {"Contact": 0, "Lead": 0, "Account": 0, "Task": 0}
        self.last_stamp = 0
        self.purged = {"Contact": 0.0, "Lead": 0.0}  # when the recycle bin was last emptied
        for name in ("Initech", "Globex Corporation", "Umbrella & Co", "Hooli"):
            aid = self.new_id("Account")
            self.accounts[aid] = name

    def new_id(self, obj):
        self.counter[obj] += 1
        return make_id(PREFIX[obj], self.counter[obj] * 3 + 7)  # spaced, not dense

    def stamp(self, candidate=None):
        """A whole-second timestamp, never before the previous one unless `candidate` is explicit."""
        if candidate is not None:
            return float(int(candidate))
        t = max(float(int(time.time())), self.last_stamp)
        self.last_stamp = t
        return t

    def read(self, now):
        """A client read the data: records created from now on are not dated before this second, so a
        client that has read past a time never finds records appearing behind it (Salesforce stamps a
        new record with the time it is created; only records made before any read may be dated back)."""
        self.last_stamp = max(self.last_stamp, float(int(now)))

    def find(self, rid):
        for obj, recs in self.records.items():
            if rid in recs:
                return obj, recs[rid]
        return None, None

    def create(self, obj, count, same_modstamp=0, modstamp=None, phone_formats=True):
        explicit = parse_iso(modstamp) if modstamp else None
        floor = self.last_stamp
        base = self.stamp(explicit)
        distinct = count - min(int(same_modstamp), count)
        ids = []
        for i in range(count):
            n = sum(len(r) for r in self.records.values())
            rid = self.new_id(obj)
            t = base - (distinct - i) if i < distinct else base
            if explicit is None:
                t = max(t, floor)
            first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
            rec = {"Id": rid, "FirstName": first, "LastName": last,
                   "Email": "%s.%s%d@example.com" % ((first or "x").lower(), re.sub(r"\W", "", last.lower()), n),
                   "Phone": PHONES[n % len(PHONES)].format(n=n % 10000) if phone_formats else "+1555%07d" % n,
                   "MobilePhone": PHONES[(n + 2) % len(PHONES)].format(n=(n * 7) % 10000) if n % 3 else None,
                   "Title": None if n % 4 else "Engineer", "CreatedDate": t, "LastModifiedDate": t,
                   "SystemModstamp": t, "IsDeleted": False, "DeletedDate": None}
            if obj == "Contact":
                accounts = sorted(self.accounts)
                rec["AccountId"] = accounts[n % len(accounts)] if n % 5 else None
            else:
                rec.update({"Company": "Company %d" % (n % 17), "Status": "Open - Not Contacted",
                            "IsConverted": False})
            self.records[obj][rid] = rec
            ids.append(rid)
        return ids

    def pick(self, obj, ids, count, deleted=False):
        recs = self.records[obj]
        if ids is not None:
            return [recs[i] for i in ids if i in recs]
        live = (r for r in recs.values() if r["IsDeleted"] == deleted)
        return [r for _, r in zip(range(int(count or 0)), live)]

    def update(self, obj, ids=None, count=None, system_only=False, fields=None):
        """Modifies records in one transaction: each gets the second it happens in as its SystemModstamp (never
        a time before the change, which would put a record modified during a sync behind that sync's cursor)."""
        chosen = self.pick(obj, ids, count)
        shared = self.stamp()
        out = []
        for r in chosen:
            t = max(shared, r["SystemModstamp"])
            self.last_stamp = max(self.last_stamp, t)
            r["SystemModstamp"] = t
            if not system_only:
                r["LastModifiedDate"] = t
                if fields:
                    r.update({k: v for k, v in fields.items() if k in SCHEMA[obj] and "." not in k
                              and SCHEMA[obj][k] == "string" and k != "Name"})
                else:
                    r["Title"] = "Updated %d" % int(t)
            out.append({"Id": r["Id"], "SystemModstamp": sf_time(t)})
        return out

    def delete(self, obj, ids=None, count=None, deleted_at=None):
        when = self.stamp(parse_iso(deleted_at) if deleted_at else None)
        out = []
        for r in self.pick(obj, ids, count):
            if not r["IsDeleted"]:
                r.update({"IsDeleted": True, "DeletedDate": when, "SystemModstamp": max(when, r["SystemModstamp"]),
                          "LastModifiedDate": max(when, r["LastModifiedDate"])})
                out.append(r["Id"])
        return out

    def empty_recycle_bin(self, obj, when):
        """The recycle bin emptied at `when` (by a user, or by Salesforce when it is full): records deleted
        before then are gone for good, and earliestDateAvailable, the time of the last physical deletion,
        moves up to it."""
        gone = [rid for rid, r in self.records[obj].items() if r["IsDeleted"] and r["DeletedDate"] <= when]
        for rid in gone:
            del self.records[obj][rid]
        self.purged[obj] = max(self.purged[obj], when)
        return gone

    def convert(self, ids):
        """Lead conversion: a Contact made from each Lead, the Lead IsConverted (both stamped now)."""
        out = []
        for r in self.pick("Lead", ids, None):
            if r["IsConverted"] or r["IsDeleted"]:
                continue
            t = self.stamp()
            cid = self.new_id("Contact")
            contact = {k: r[k] for k in ("FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title")}
            contact.update({"Id": cid, "AccountId": None, "CreatedDate": t, "LastModifiedDate": t,
                            "SystemModstamp": t, "IsDeleted": False, "DeletedDate": None})
            self.records["Contact"][cid] = contact
            r.update({"IsConverted": True, "ConvertedContactId": cid, "Status": "Closed - Converted",
                      "LastModifiedDate": t, "SystemModstamp": t})
            out.append({"lead": r["Id"], "contact": cid})
        return out

    def get(self, obj, rec, field):
        if field == "Name":
            return " ".join(p for p in (rec["FirstName"], rec["LastName"]) if p)
        if field == "Account.Name":
            return self.accounts.get(rec.get("AccountId"))
        return rec.get(field)

    def visible(self, obj, include_deleted, now):
        """Live records, plus those in the recycle bin (15 days) for queryAll; Tasks are never deleted here."""
        if obj == "Task":
            return list(self.tasks)
        cutoff = now - RECYCLE_DAYS * 86400
        return [r for r in self.records[obj].values()
                if not r["IsDeleted"] or include_deleted and r["DeletedDate"] >= cutoff]

    def render(self, obj, rec, fields, version):
        out = {"attributes": {"type": obj, "url": "/services/data/%s/sobjects/%s/%s" % (version, obj, rec["Id"])}}
        for f in fields:
            if f == "Account.Name":
                aid = rec.get("AccountId")
                out["Account"] = None if aid is None else {
                    "attributes": {"type": "Account", "url": "/services/data/%s/sobjects/Account/%s" % (version, aid)},
                    "Name": self.accounts[aid]}
                continue
            v = self.get(obj, rec, f)
            out[f] = sf_time(v) if SCHEMA[obj][f] == "datetime" and v is not None else v
        return out

    def deleted(self, obj, start, end, now):
        """sobjects/<obj>/deleted: (status, body)."""
        if not start or not end:
            return 400, sf_error("MISSING_ARGUMENT", "start and end are both required parameters")
        try:
            s, e = parse_iso(start), parse_iso(end)
        except ValueError:
            return 400, sf_error("INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times with a zone, "
                                 "e.g. 2026-11-29T10:15:00+00:00")
        s, e = s - s % 60, e - e % 60  # seconds are ignored
        earliest = max(now - RECYCLE_DAYS * 86400, self.purged.get(obj, 0.0))
        earliest -= earliest % 60
        if e - s <= 60:
            return 400, sf_error("INVALID_REPLICATION_DATE",
                                 "startDate must chronologically precede endDate by more than one minute")
        if s < earliest:
            return 400, sf_error("INVALID_REPLICATION_DATE", "startDate is before earliestDateAvailable (%s)"
                                 % sf_time(earliest))
        latest = min(e, now - now % 60)
        rows = sorted((r for r in self.records[obj].values()
                       if r["IsDeleted"] and s <= r["DeletedDate"] < latest and r["DeletedDate"] >= earliest),
                      key=lambda r: (r["DeletedDate"], r["Id"]))
        return 200, {"deletedRecords": [{"id": r["Id"], "deletedDate": sf_time(r["DeletedDate"])} for r in rows],
                     "earliestDateAvailable": sf_time(earliest), "latestDateCovered": sf_time(latest)}

    def create_task(self, raw):
        """POST sobjects/Task: (status, body)."""
        try:
            req = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 400, sf_error("JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON value "
                                 "at [line:1, column:1]")
        if not isinstance(req, dict):
            return 400, sf_error("JSON_PARSER_ERROR", "Cannot deserialize instance of Task from a non-object")
        for k in req:
            if k not in TASK_FIELDS:
                return 400, sf_error("INVALID_FIELD", "No such column '%s' on sobject of type Task" % k)
        dur = req.get("CallDurationInSeconds")
        if dur is not None and not (isinstance(dur, int) and not isinstance(dur, bool)
                                    or isinstance(dur, str) and re.fullmatch(r"-?\d+", dur)):
            return 400, sf_error("JSON_PARSER_ERROR", "Cannot deserialize instance of int from VALUE_STRING "
                                 "value %s or request may be missing a required field" % json.dumps(dur))
        ad = req.get("ActivityDate")
        if ad is not None:
            try:
                if not (isinstance(ad, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", ad)):
                    raise ValueError
                datetime.date.fromisoformat(ad)
            except ValueError:
                return 400, sf_error("JSON_PARSER_ERROR", "Cannot deserialize instance of date from VALUE_STRING "
                                     "value %s or value out of range" % json.dumps(ad))
        errors = []
        for f in ("Status", "Priority"):
            if f in req and req[f] in (None, ""):
                errors += sf_error("REQUIRED_FIELD_MISSING", "Required fields are missing: [%s]" % f, [f])
        for f, allowed, label in (("TaskSubtype", TASK_SUBTYPES, "Task Subtype"),
                                  ("CallType", CALL_TYPES, "Call Type")):
            if req.get(f) is not None and req[f] not in allowed:
                errors += sf_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                   "%s: bad value for restricted picklist field: %s" % (label, req[f]), [f])
        for f, size in (("Subject", 255), ("Description", 32000)):
            if isinstance(req.get(f), str) and len(req[f]) > size:
                errors += sf_error("STRING_TOO_LONG", "%s: data value too large: %s... (max length=%d)"
                                   % (f, req[f][:20], size), [f])
        if isinstance(dur, (int, str)) and int(dur) < 0:
            errors += sf_error("NUMBER_OUTSIDE_VALID_RANGE", "Call Duration: value outside of valid range on "
                               "numeric field: %s" % dur, ["CallDurationInSeconds"])
        who = req.get("WhoId")
        if who is not None:
            if not isinstance(who, str) or not ID_RE.fullmatch(who):
                errors += sf_error("MALFORMED_ID", "Name ID: id value of incorrect type: %s" % who, ["WhoId"])
            elif who[:3] not in ("003", "00Q"):
                errors += sf_error("FIELD_INTEGRITY_EXCEPTION", "Name ID: id value of incorrect type: %s" % who,
                                   ["WhoId"])
            else:
                _, rec = self.find(with_suffix(who[:15]))
                if rec is None:
                    errors += sf_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["WhoId"])
                elif rec["IsDeleted"]:
                    errors += sf_error("ENTITY_IS_DELETED", "entity is deleted", ["WhoId"])
        if errors:
            return 400, errors
        tid = self.new_id("Task")
        task = dict(req, Id=tid, CreatedDate=sf_time(time.time()))
        task.setdefault("Status", "Not Started")
        task.setdefault("Priority", "Normal")
        self.tasks.append(task)
        return 201, {"id": tid, "success": True, "errors": []}


def outbound_envelope(store, org_id, instance_url, obj, ids, version="59.0", action_id=None):
    """The SOAP body Salesforce POSTs for an outbound message on `obj` records."""
    org15 = org_id[:15]
    action_id = action_id or with_suffix("04k8b0000000001")
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<soapenv:Envelope xmlns:soapenv="%s" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' % SOAPENV,
             ' <soapenv:Body>',
             '  <notifications xmlns="%s">' % OUTBOUND_NS,
             '   <OrganizationId>%s</OrganizationId>' % org_id,
             '   <ActionId>%s</ActionId>' % action_id,
             '   <SessionId xsi:nil="true"/>',
             '   <EnterpriseUrl>%s/services/Soap/c/%s/%s</EnterpriseUrl>' % (escape(instance_url), version, org15),
             '   <PartnerUrl>%s/services/Soap/u/%s/%s</PartnerUrl>' % (escape(instance_url), version, org15)]
    for rid in ids:
        rec = store.records[obj].get(rid)
        if rec is None:
            raise KeyError(rid)
        parts.append('   <Notification>')
        parts.append('    <Id>%s</Id>' % with_suffix("04l8b%010d" % next(NOTIFICATION_IDS)))
        parts.append('    <sObject xsi:type="sf:%s" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">' % obj)
        for f in ("Id", "Email", "FirstName", "LastName", "MobilePhone", "Phone", "SystemModstamp"):
            v = store.get(obj, rec, f)
            if v is None:
                continue
            if f == "SystemModstamp":
                v = sf_time(v).replace("+0000", "Z")
            parts.append('     <sf:%s>%s</sf:%s>' % (f, escape(str(v)), f))
        parts.append('    </sObject>')
        parts.append('   </Notification>')
    parts += ['  </notifications>', ' </soapenv:Body>', '</soapenv:Envelope>']
    return "\n".join(parts)


def check_ack(status, body):
    """Whether an outbound-message response is Salesforce's expected acknowledgement; (ok, reason)."""
    if status != 200:
        return False, "HTTP status %d" % status
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        return False, "response is not XML: %s" % e
    if root.tag != "{%s}Envelope" % SOAPENV:
        return False, "root element is %s, not soapenv:Envelope" % root.tag
    b = root.find("{%s}Body" % SOAPENV)
    resp = b.find("{%s}notificationsResponse" % OUTBOUND_NS) if b is not None else None
    ack = resp.find("{%s}Ack" % OUTBOUND_NS) if resp is not None else None
    if ack is None:
        return False, "no notificationsResponse/Ack in the outbound namespace"
    if (ack.text or "").strip() != "true":
        return False, "Ack is %r" % ack.text
    return True, "acknowledged"


def send_outbound(target_url, envelope, ca_file=None, timeout=10):
    """POSTs the envelope as Salesforce does; returns a report dict."""
    u = urllib.parse.urlsplit(target_url)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    try:
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca_file)
            conn = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
        conn.request("POST", path, envelope.encode("utf-8"),
                     {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""',
                      "User-Agent": "Jakarta Commons-HttpClient/3.1"})
        r = conn.getresponse()
        body = r.read()
        conn.close()
    except (OSError, http.client.HTTPException) as e:
        return {"sent": False, "status": None, "ack": False, "reason": str(e), "response": None}
    ok, reason = check_ack(r.status, body)
    return {"sent": True, "status": r.status, "ack": ok, "reason": reason,
            "content_type": r.getheader("Content-Type"), "response": body.decode("utf-8", "replace")}
