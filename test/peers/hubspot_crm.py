"""HubSpot CRM objects for the HubSpot peer (HubSpot CRM API v3, objects and search): the
contact store with list paging, the search endpoint's body rules, filters,
sorts, 10,000-result cap and indexing lag, and the calls object with its
property and association validation, custom call properties (created through
the properties API, as an integration does for its own ids) and call search.  No HTTP here: hubspot.py calls these
with the peer's lock held and turns (status, body) into responses.

Contact ids are integers (strings in JSON), increasing with creation, with
gaps, and by default beyond 2^32, as in newer HubSpot portals (a client must
not assume 32-bit ids).  Timestamps are Unix seconds with millisecond
precision, shown as ISO 8601 UTC with milliseconds; one the peer makes (no
explicit time asked) is never before an earlier one, so a cursor kept on data
timestamps cannot miss a change.  A contact keeps the versions search has not
caught up with yet, so with a lag a just-modified contact shows its previous
version (a new one is not found at all) until the lag has passed.

Search walks every contact (O(n)), except without lag and with an ascending
sort, where a cached (sort key, id) index starts at the smallest key the
filter groups allow: a delta search costs about the size of the delta.
"""
import bisect
import datetime
import json
import operator
import time

from peer_http import correlation_id, iso_ms

CONTACT_PROPS = ["email", "firstname", "lastname", "phone", "mobilephone", "company",
                 "lastmodifieddate", "createdate", "hs_object_id"]
DEFAULT_PROPS = ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"]
DATETIME_PROPS = {"lastmodifieddate", "createdate"}
NUMBER_PROPS = {"hs_object_id"}
STRING_PROPS = {"email", "firstname", "lastname", "phone", "mobilephone", "company"}
COMPARE = {"EQ": operator.eq, "NEQ": operator.ne, "GT": operator.gt, "GTE": operator.ge, "LT": operator.lt,
           "LTE": operator.le}
OPERATORS = set(COMPARE) | {"BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"}
SEARCH_MAX_CHARS = 3000
SEARCH_MAX_GROUPS = 5
SEARCH_MAX_FILTERS_PER_GROUP = 6
SEARCH_MAX_FILTERS = 18
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10000
LIST_MAX_LIMIT = 100

CALL_PROPS = ["hs_timestamp", "hs_call_title", "hs_call_body", "hs_call_direction", "hs_call_duration",
              "hs_call_from_number", "hs_call_to_number", "hs_call_status", "hs_call_recording_url"]
CALL_DIRECTIONS = ["INBOUND", "OUTBOUND"]
CALL_STATUSES = ["BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING", "FAILED",
                 "IN_PROGRESS", "MISSED", "NO_ANSWER", "QUEUED", "RINGING"]
CALL_TO_CONTACT = 194

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
         "Radia", "Niklaus", "Hedy", "Claude", "Sophie", "John", "Mary", "Tim", "Anita", "Linus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
        "Ritchie", "Perlman", "Wirth", "Lamarr", "Shannon", "Wilson", "McCarthy", "Jackson", "Berners-Lee",
        "Borg", "O'Neil"]
COMPANIES = ["Initech", "Globex", "Umbrella Ltd", "Stark & Sons", "Acme, Inc.", "Hooli", None]
# Phone numbers as people type them (HubSpot stores them unnormalized).
PHONES = ["(555) 123-{n:04d}", "+1 555-123-{n:04d} ext. 9", "555123{n:04d}", "+44 20 7946 {n:04d}",
          "+49 30 1234{n:04d}", "555.123.{n:04d}", "+33 1 42 68 {a:02d} {b:02d}", "1-800-555-{n:04d}"]


def error_body(message, category="VALIDATION_ERROR", **extra):
    body = {"status": "error", "message": message, "correlationId": correlation_id(), "category": category}
    body.update(extra)
    return body


def parse_time_value(v):
    """Epoch milliseconds (number or digit string) or ISO 8601 -> Unix seconds; None if neither."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v / 1000.0
    if not isinstance(v, str):
        return None
    s = v.strip()
    if s.lstrip("-").isdigit():
        return int(s) / 1000.0
    try:
        if len(s) == 10:
            d = datetime.datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
        else:
            d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
            if d.tzinfo is None:
                d = d.replace(tzinfo=datetime.timezone.utc)
        return d.timestamp()
    except ValueError:
        return None


def ms(t):
    return int(round(t * 1000))


class Store:
    def __init__(self, first_id, lag_ms):
        self.contacts = {}
        self.order = []
        self.next_id = first_id
        self.lag = lag_ms / 1000.0
        self.calls = {}
        self.next_call_id = first_id * 2 + 7
        self.last = 0.0  # latest lastmodifieddate made without an explicit time
        self.gen = 0  # bumped by every write; the search index is rebuilt when it moved
        self.index, self.index_gen = [], -1
        self.call_props = {}  # custom call properties: name -> definition

    # ---- contacts -------------------------------------------------------
    def new_id(self):
        cid = self.next_id
        self.next_id += 1 + (cid % 3 == 0)  # gaps, as real portals have
        return cid

    def create(self, count, same_modified=0, modified_at=None, phone_formats=False, spacing_ms=1):
        """Seeds contacts; without modified_at they end at now (never before an earlier peer-made time)."""
        explicit = parse_time_value(modified_at) if modified_at else None
        now = time.time()
        floor = self.last
        base = round(max(now, floor) if explicit is None else explicit, 3)
        distinct = count - min(same_modified, count)
        ids = []
        for i in range(count):
            cid = self.new_id()
            n = len(self.order)
            t = base - (distinct - i) * spacing_ms / 1000.0 if i < distinct else base
            if explicit is None:
                t = max(t, floor)  # new ids are larger, so a tie with an older time is still after it
                self.last = max(self.last, t)
            t = round(t, 3)
            first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
            if phone_formats:
                phone = PHONES[n % len(PHONES)].format(n=n % 10000, a=n % 100, b=(n // 100) % 100)
                mobile = PHONES[(n + 3) % len(PHONES)].format(n=(n * 7) % 10000, a=n % 97, b=n % 89)
            else:
                phone, mobile = "+1555%07d" % (n % 10000000), None
            props = {"email": "%s.%s%d@example.com" % (first.lower(), last.lower().replace("'", ""), n),
                     "firstname": first, "lastname": last, "phone": phone, "mobilephone": mobile,
                     "company": COMPANIES[n % len(COMPANIES)]}
            c = {"id": cid, "props": props, "created": t, "modified": t, "archived": False,
                 "archived_at": None, "versions": []}
            self.snapshot(c, now)
            self.contacts[cid] = c
            self.order.append(cid)
            ids.append(str(cid))
        return ids

    def snapshot(self, c, now):
        """Records the contact's current version for search, dropping versions search no longer needs."""
        self.gen += 1
        c["versions"].append((now, c["modified"], dict(c["props"]), ms(c["modified"])))
        cutoff = now - self.lag
        while len(c["versions"]) > 1 and c["versions"][1][0] <= cutoff:
            c["versions"].pop(0)

    def pick(self, ids, count):
        if ids is not None:
            return [self.contacts[int(i)] for i in ids if str(i).isdigit() and int(i) in self.contacts]
        live = (self.contacts[i] for i in self.order if not self.contacts[i]["archived"])
        return [c for _, c in zip(range(int(count or 0)), live)]

    def update(self, ids=None, count=None, same_modified=False, modified_at=None, properties=None):
        """Modifies contacts; without modified_at their new times are after every earlier peer-made time."""
        now = time.time()
        chosen = self.pick(ids, count)
        explicit = parse_time_value(modified_at) if modified_at else None
        floor = self.last + 0.001
        shared = max(now, floor) if explicit is None else explicit
        out = []
        for i, c in enumerate(chosen):
            if same_modified:
                t = shared
            elif explicit is not None:
                t = explicit + i / 1000.0
            else:
                t = max(now - (len(chosen) - 1 - i) / 1000.0, floor + i / 1000.0, c["modified"] + 0.001)
            if explicit is None:
                self.last = max(self.last, round(t, 3))
            c["modified"] = round(t, 3)
            if properties:
                c["props"].update({k: v for k, v in properties.items() if k in STRING_PROPS})
            else:
                c["props"]["firstname"] = c["props"]["firstname"].split(" ")[0] + " v%d" % len(c["versions"])
            self.snapshot(c, now)
            out.append({"id": str(c["id"]), "lastmodifieddate": iso_ms(c["modified"])})
        return out

    def archive(self, ids=None, count=None):
        now = time.time()
        out = []
        for c in self.pick(ids, count):
            if not c["archived"]:
                self.gen += 1
                c["archived"] = True
                c["archived_at"] = now
                out.append(str(c["id"]))
        return out

    def value(self, c, props, name, modified):
        if name == "hs_object_id":
            return str(c["id"])
        if name == "lastmodifieddate":
            return iso_ms(modified)
        if name == "createdate":
            return iso_ms(c["created"])
        return props.get(name)

    def render(self, c, wanted, version=None):
        modified, props = (version[1], version[2]) if version else (c["modified"], c["props"])
        out = {"id": str(c["id"]),
               "properties": {p: self.value(c, props, p, modified) for p in wanted if p in CONTACT_PROPS},
               "createdAt": iso_ms(c["created"]), "updatedAt": iso_ms(modified), "archived": c["archived"]}
        if c["archived"]:
            out["archivedAt"] = iso_ms(c["archived_at"])
        return out

    def dump(self):
        return [self.render(self.contacts[i], CONTACT_PROPS) for i in self.order]

    def get(self, cid, wanted, archived):
        c = self.contacts.get(int(cid)) if cid.isdigit() else None
        if c is None or c["archived"] != archived:
            return 404, error_body("Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
        return 200, self.render(c, wanted)

    def list(self, limit, after, wanted, archived, link_base):
        """GET /crm/v3/objects/contacts: (status, body)."""
        try:
            limit = 10 if limit is None else int(limit)
            start = 0 if after in (None, "") else int(after)
        except ValueError:
            return 400, error_body("limit and after must be integers")
        if limit < 1 or limit > LIST_MAX_LIMIT:
            return 400, error_body("limit must be between 1 and %d, got %d" % (LIST_MAX_LIMIT, limit))
        rows = []
        nxt = None
        for cid in self.order[bisect.bisect_left(self.order, start):]:
            if self.contacts[cid]["archived"] != archived:
                continue
            if len(rows) == limit:
                nxt = cid
                break
            rows.append(self.render(self.contacts[cid], wanted))
        body = {"results": rows}
        if nxt is not None:
            body["paging"] = {"next": {"after": str(nxt), "link": link_base(str(nxt))}}
        return 200, body

    # ---- search ---------------------------------------------------------
    def search(self, raw, now):
        """POST /crm/v3/objects/contacts/search: (status, body)."""
        text = raw.decode("utf-8", "replace")
        if len(text) > SEARCH_MAX_CHARS:
            return 400, error_body("Request body is %d characters; the limit is %d." % (len(text), SEARCH_MAX_CHARS))
        try:
            req = json.loads(text)
        except ValueError as e:
            return 400, error_body("Invalid input JSON on line 1: %s" % e)
        if not isinstance(req, dict):
            return 400, error_body("Invalid input JSON: expected an object")
        try:
            groups = self.check_groups(req.get("filterGroups") or [])
            sort = self.check_sorts(req.get("sorts") or [])
            limit = req.get("limit", 10)
            after = req.get("after") or 0
            if isinstance(limit, bool) or not isinstance(limit, int) and not (isinstance(limit, str) and limit.isdigit()):
                raise ValueError("limit must be an integer")
            if isinstance(after, bool) or not isinstance(after, int) and not (isinstance(after, str) and after.isdigit()):
                raise ValueError("after must be a non-negative integer string")
            limit, after = int(limit), int(after)
            if limit < 1 or limit > SEARCH_MAX_LIMIT:
                raise ValueError("limit must be between 1 and %d, got %d" % (SEARCH_MAX_LIMIT, limit))
            if after + limit > SEARCH_MAX_RESULTS:
                raise ValueError("Paging beyond %d results is not supported (after=%d, limit=%d)."
                                 % (SEARCH_MAX_RESULTS, after, limit))
            wanted = req.get("properties") or DEFAULT_PROPS
            if not isinstance(wanted, list) or not all(isinstance(p, str) for p in wanted):
                raise ValueError("properties must be a list of property names")
            query = req.get("query")
            if query is not None and not isinstance(query, str):
                raise ValueError("query must be a string")
        except ValueError as e:
            return 400, error_body(str(e))
        rows = self.matching(groups, sort, query.lower() if query else None, now)
        page = rows[after:after + limit]
        body = {"total": len(rows), "results": [self.render(c, wanted, v) for c, v in page]}
        if after + len(page) < len(rows):
            body["paging"] = {"next": {"after": str(after + len(page))}}
        return 200, body

    def matching(self, filters, sort, needle, now):
        """(contact, version) pairs search finds, in result order; filters as check_groups() returns them."""
        groups = [[self.predicate(f) for f in g] for g in filters]
        preds = [g[0] if len(g) == 1 else (lambda ps: lambda c, v: all(p(c, v) for p in ps))(g) for g in groups]
        pred = None if not preds else preds[0] if len(preds) == 1 else lambda c, v: any(p(c, v) for p in preds)
        if needle:
            inner = pred or (lambda c, v: True)
            pred = lambda c, v: inner(c, v) and any(needle in (v[2].get(p) or "").lower() for p in
                                                     ("email", "firstname", "lastname", "phone", "company"))
        if self.lag <= 0 and (sort is None or not sort[1]):
            return self.matching_indexed(pred, sort[0] if sort else "hs_object_id", filters)
        cutoff = now - self.lag
        rows = []
        for c in self.contacts.values():
            if c["archived"]:
                continue
            version = None
            for v in c["versions"]:
                if v[0] > cutoff and self.lag > 0:
                    break
                version = v
            if version is None or pred is not None and not pred(c, version):
                continue
            rows.append(((version[3] if sort and sort[0] == "lastmodifieddate" else
                          ms(c["created"]) if sort and sort[0] == "createdate" else c["id"])
                         * (-1 if sort and sort[1] else 1), c["id"], c, version))
        rows.sort(key=lambda r: (r[0], r[1]))
        return [(r[2], r[3]) for r in rows]

    def matching_indexed(self, pred, prop, filters):
        """matching() without lag, ascending: walks a cached (key, id) index from the smallest key any
        filter group allows, so a delta search costs the size of the delta."""
        if self.index_gen != (self.gen, prop):
            key = {"lastmodifieddate": lambda c: c["versions"][-1][3], "createdate": lambda c: ms(c["created"]),
                   "hs_object_id": lambda c: c["id"]}[prop]
            self.index = sorted((key(c), c["id"]) for c in self.contacts.values() if not c["archived"])
            self.index_gen = (self.gen, prop)
        lo = self.lower_bound(filters, prop)
        start = bisect.bisect_left(self.index, (lo, -1)) if lo is not None else 0
        rows = []
        for i in range(start, len(self.index)):
            c = self.contacts[self.index[i][1]]
            v = c["versions"][-1]
            if pred is None or pred(c, v):
                rows.append((c, v))
        return rows

    def lower_bound(self, filters, prop):
        """The smallest value of prop a match of the filter groups can have; None if unbounded."""
        lows = []
        for g in filters:
            lo = None
            for p, op, want in g:
                if p == prop and op in ("GT", "GTE", "EQ", "BETWEEN"):
                    v = want[0] if op == "BETWEEN" else want
                    lo = v if lo is None else max(lo, v)
            if lo is None:
                return None
            lows.append(lo)
        return min(lows) if lows else None

    def check_groups(self, groups):
        if not isinstance(groups, list):
            raise ValueError("filterGroups must be a list")
        if len(groups) > SEARCH_MAX_GROUPS:
            raise ValueError("Too many filter groups: %d (at most %d)" % (len(groups), SEARCH_MAX_GROUPS))
        total = 0
        out = []
        for g in groups:
            filters = g.get("filters") if isinstance(g, dict) else None
            if not isinstance(filters, list):
                raise ValueError("each filter group needs a list of filters")
            if len(filters) > SEARCH_MAX_FILTERS_PER_GROUP:
                raise ValueError("Too many filters in a group: %d (at most %d)"
                                 % (len(filters), SEARCH_MAX_FILTERS_PER_GROUP))
            total += len(filters)
            out.append([self.check_filter(f) for f in filters])
        if total > SEARCH_MAX_FILTERS:
            raise ValueError("Too many filters: %d (at most %d in total)" % (total, SEARCH_MAX_FILTERS))
        return out

    def check_filter(self, f):
        if not isinstance(f, dict) or "propertyName" not in f or "operator" not in f:
            raise ValueError("Cannot build Filter, some of required attributes are not set [propertyName, operator]")
        prop, op = f["propertyName"], f["operator"]
        if op not in OPERATORS:
            raise ValueError("Unsupported operator %r" % op)
        if prop not in CONTACT_PROPS:
            raise ValueError("There is no contact property named %r" % prop)
        if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            return (prop, op, None)
        if op in ("IN", "NOT_IN"):
            vals = f.get("values")
            if not isinstance(vals, list) or not vals:
                raise ValueError("operator %s needs a list of values" % op)
            return (prop, op, [self.operand(prop, v) for v in vals])
        if "value" not in f:
            raise ValueError("operator %s needs a value" % op)
        if op == "BETWEEN":
            if "highValue" not in f:
                raise ValueError("BETWEEN needs value and highValue")
            return (prop, op, (self.operand(prop, f["value"]), self.operand(prop, f["highValue"])))
        return (prop, op, self.operand(prop, f["value"]))

    def operand(self, prop, v):
        if prop in DATETIME_PROPS:
            t = parse_time_value(v)
            if t is None:
                raise ValueError("%r is not a valid datetime for %s (epoch milliseconds or ISO 8601)" % (v, prop))
            return ms(t)
        if prop in NUMBER_PROPS:
            try:
                return int(str(v))
            except ValueError:
                raise ValueError("%r is not a valid number for %s" % (v, prop))
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise ValueError("%r is not a valid value for %s" % (v, prop))
        return str(v).lower()

    def predicate(self, f):
        """A filter as a function of (contact, version): ties the property, operator and value once."""
        prop, op, want = f
        if prop == "lastmodifieddate":
            get = lambda c, v: v[3]
        elif prop == "createdate":
            get = lambda c, v: ms(c["created"])
        elif prop == "hs_object_id":
            get = lambda c, v: c["id"]
        else:
            get = lambda c, v: None if v[2].get(prop) is None else v[2][prop].lower()
        if op == "HAS_PROPERTY":
            return lambda c, v: get(c, v) is not None
        if op == "NOT_HAS_PROPERTY":
            return lambda c, v: get(c, v) is None
        if op in ("IN", "NOT_IN"):
            values, inside = set(want), op == "IN"
            return lambda c, v: (get(c, v) in values) == inside
        if op == "BETWEEN":
            lo, hi = want
            return lambda c, v: get(c, v) is not None and lo <= get(c, v) <= hi
        cmp = COMPARE[op]
        if op == "NEQ":
            return lambda c, v: get(c, v) is None or cmp(get(c, v), want)
        return lambda c, v: get(c, v) is not None and cmp(get(c, v), want)

    def check_sorts(self, sorts):
        if not isinstance(sorts, list):
            raise ValueError("sorts must be a list")
        if len(sorts) > 1:
            raise ValueError("Only one sort is allowed; got %d" % len(sorts))
        if not sorts:
            return None
        s = sorts[0]
        if isinstance(s, str):
            s = {"propertyName": s.lstrip("-"), "direction": "DESCENDING" if s.startswith("-") else "ASCENDING"}
        if not isinstance(s, dict) or s.get("propertyName") not in ("lastmodifieddate", "hs_object_id", "createdate"):
            raise ValueError("sort by lastmodifieddate, createdate or hs_object_id")
        direction = s.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise ValueError("direction must be ASCENDING or DESCENDING")
        return (s["propertyName"], direction == "DESCENDING")

    # ---- calls ----------------------------------------------------------
    def create_call(self, raw):
        """POST /crm/v3/objects/calls: (status, body)."""
        try:
            req = json.loads(raw.decode("utf-8"))
        except ValueError as e:
            return 400, error_body("Invalid input JSON: %s" % e)
        props = req.get("properties") if isinstance(req, dict) else None
        if not isinstance(props, dict):
            return 400, error_body("Invalid input JSON: properties must be an object")
        problems = []

        def bad(name, error, message):
            problems.append({"isValid": False, "message": message, "error": error, "name": name})

        for k, v in props.items():
            if k not in CALL_PROPS and k not in self.call_props:
                bad(k, "PROPERTY_DOESNT_EXIST", 'Property "%s" does not exist' % k)
            elif v is not None and not isinstance(v, (str, int, float)) or isinstance(v, bool):
                bad(k, "INVALID_VALUE", "%r is not a valid value for %s" % (v, k))
        ts = props.get("hs_timestamp")
        when = parse_time_value(ts) if ts not in (None, "") else None
        if ts in (None, ""):
            bad("hs_timestamp", "REQUIRED", "hs_timestamp is required")
        elif when is None:
            bad("hs_timestamp", "INVALID_DATE", "%r is not a valid datetime (epoch milliseconds or ISO 8601)" % ts)
        d = props.get("hs_call_direction")
        if d not in (None, "") and d not in CALL_DIRECTIONS:
            bad("hs_call_direction", "INVALID_OPTION",
                "%s was not one of the allowed options: %s" % (d, ", ".join(CALL_DIRECTIONS)))
        s = props.get("hs_call_status")
        if s not in (None, "") and s not in CALL_STATUSES:
            bad("hs_call_status", "INVALID_OPTION",
                "%s was not one of the allowed options: %s" % (s, ", ".join(CALL_STATUSES)))
        dur = props.get("hs_call_duration")
        if dur not in (None, "") and not (isinstance(dur, int) and not isinstance(dur, bool) and dur >= 0
                                          or isinstance(dur, str) and dur.isdigit()):
            bad("hs_call_duration", "INVALID_INTEGER", "%r was not a valid long (milliseconds)" % (dur,))
        if problems:
            return 400, error_body("Property values were not valid: " + json.dumps(problems), errors=[
                {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
                for p in problems])
        contacts = []
        for a in req.get("associations") or []:
            try:
                to = str(a["to"]["id"])
                types = a["types"]
                ok = types and all(t.get("associationCategory") == "HUBSPOT_DEFINED"
                                   and int(t.get("associationTypeId")) == CALL_TO_CONTACT for t in types)
            except (KeyError, TypeError, ValueError, AttributeError):
                return 400, error_body("Invalid association: needs to.id and types[]")
            if not ok:
                return 400, error_body("Association type is not valid for calls to contacts; "
                                       "use HUBSPOT_DEFINED %d" % CALL_TO_CONTACT)
            c = self.contacts.get(int(to)) if to.isdigit() else None
            if c is None or c["archived"]:
                return 404, error_body("No contact with id %s exists" % to, "OBJECT_NOT_FOUND")
            contacts.append(to)
        now = time.time()
        cid = self.next_call_id
        self.next_call_id += 1
        stored = {k: (None if v is None else str(v)) for k, v in props.items()}
        stored.update({"hs_timestamp": iso_ms(when), "hs_createdate": iso_ms(now),
                       "hs_lastmodifieddate": iso_ms(now), "hs_object_id": str(cid)})
        call = {"id": str(cid), "properties": stored, "createdAt": iso_ms(now), "updatedAt": iso_ms(now),
                "archived": False}
        self.calls[cid] = dict(call, associations={"contacts": contacts}, created=now)
        return 201, call

    def create_call_property(self, raw):
        """POST /crm/v3/properties/calls: (status, body); 409 when the name is taken."""
        try:
            req = json.loads(raw.decode("utf-8"))
        except ValueError as e:
            return 400, error_body("Invalid input JSON: %s" % e)
        if not isinstance(req, dict):
            return 400, error_body("Invalid input JSON: expected an object")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not isinstance(req.get(k), str)]
        if missing:
            return 400, error_body("Missing or invalid property attributes: %s" % ", ".join(missing))
        name = req["name"]
        if not name.islower() or not name.replace("_", "").isalnum() or name.startswith("hs_"):
            return 400, error_body("Property name %r is not valid (lower case letters, digits and _; not hs_)" % name)
        if name in self.call_props or name in CALL_PROPS:
            return 409, error_body("Property named '%s' already exists." % name, "OBJECT_ALREADY_EXISTS")
        prop = {"name": name, "label": req["label"], "type": req["type"], "fieldType": req["fieldType"],
                "groupName": req["groupName"], "hasUniqueValue": bool(req.get("hasUniqueValue")),
                "hidden": False, "calculated": False, "createdAt": iso_ms(time.time())}
        self.call_props[name] = prop
        return 201, prop

    def get_call_property(self, name):
        prop = self.call_props.get(name)
        if prop is None:
            return 404, error_body("Unable to find property %s for object type calls" % name, "OBJECT_NOT_FOUND")
        return 200, prop

    def search_calls(self, raw, now):
        """POST /crm/v3/objects/calls/search: EQ, NEQ, IN and HAS_PROPERTY on call properties; (status, body)."""
        text = raw.decode("utf-8", "replace")
        if len(text) > SEARCH_MAX_CHARS:
            return 400, error_body("Request body is %d characters; the limit is %d." % (len(text), SEARCH_MAX_CHARS))
        try:
            req = json.loads(text)
            if not isinstance(req, dict):
                raise ValueError("expected an object")
            groups = req.get("filterGroups") or []
            if not isinstance(groups, list) or len(groups) > SEARCH_MAX_GROUPS:
                raise ValueError("filterGroups must be a list of at most %d groups" % SEARCH_MAX_GROUPS)
            known = set(CALL_PROPS) | set(self.call_props) | {"hs_object_id"}
            preds = []
            for g in groups:
                filters = g.get("filters") if isinstance(g, dict) else None
                if not isinstance(filters, list) or len(filters) > SEARCH_MAX_FILTERS_PER_GROUP:
                    raise ValueError("each filter group needs a list of at most %d filters"
                                     % SEARCH_MAX_FILTERS_PER_GROUP)
                fs = []
                for f in filters:
                    prop, op = f.get("propertyName"), f.get("operator")
                    if prop not in known:
                        raise ValueError("There is no call property named %r" % prop)
                    if op in ("EQ", "NEQ"):
                        want = str(f.get("value"))
                        fs.append((prop, op, want))
                    elif op == "IN":
                        fs.append((prop, op, [str(v) for v in f.get("values") or []]))
                    elif op == "HAS_PROPERTY":
                        fs.append((prop, op, None))
                    else:
                        raise ValueError("Unsupported operator %r for calls in this peer" % op)
                preds.append(fs)
            limit = int(req.get("limit", 10))
            after = int(req.get("after") or 0)
            if limit < 1 or limit > SEARCH_MAX_LIMIT:
                raise ValueError("limit must be between 1 and %d" % SEARCH_MAX_LIMIT)
            if after + limit > SEARCH_MAX_RESULTS:
                raise ValueError("Paging beyond %d results is not supported." % SEARCH_MAX_RESULTS)
            wanted = req.get("properties") or ["hs_timestamp", "hs_createdate", "hs_lastmodifieddate"]
        except (ValueError, TypeError, AttributeError) as e:
            return 400, error_body(str(e))

        def holds(call, fs):
            for prop, op, want in fs:
                v = call["properties"].get(prop)
                if op == "EQ" and v != want or op == "NEQ" and v == want:
                    return False
                if op == "IN" and v not in want or op == "HAS_PROPERTY" and v in (None, ""):
                    return False
            return True

        rows = [c for k, c in sorted(self.calls.items())
                if c["created"] <= now - self.lag and (not preds or any(holds(c, fs) for fs in preds))]
        page = rows[after:after + limit]
        body = {"total": len(rows), "results": [
            {"id": c["id"], "properties": {p: c["properties"].get(p) for p in wanted if p in c["properties"]},
             "createdAt": c["createdAt"], "updatedAt": c["updatedAt"], "archived": False} for c in page]}
        if after + len(page) < len(rows):
            body["paging"] = {"next": {"after": str(after + len(page))}}
        return 200, body
