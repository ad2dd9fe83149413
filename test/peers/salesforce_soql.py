"""The SOQL subset the Salesforce peer answers (SOQL, Salesforce REST API), parsed
properly and with Salesforce's error codes:

  SELECT f1, f2, Account.Name FROM Contact|Lead
    [WHERE <condition>] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n]

A condition is comparisons (=, !=, <>, <, <=, >, >=, [NOT] IN (...)) joined by
AND or OR, with NOT and parentheses; as in SOQL, AND and OR cannot be mixed at
one level without parentheses.  That covers the delta query
`WHERE SystemModstamp > X ORDER BY SystemModstamp, Id` and the composite cursor
`(SystemModstamp = X AND Id > '003...') OR SystemModstamp > X`.

Literals: 'strings' (backslash escapes), true/false/null, numbers, and
unquoted datetimes with a zone: 2026-11-29T10:15:00Z, 2026-11-29T10:15:00.000Z,
2026-11-29T10:15:00+00:00 (the '+' must arrive URL-encoded as %2B: a '+' that
became a space leaves a datetime without a zone, which is MALFORMED_QUERY).
A quoted datetime is the real INVALID_FIELD error ("must be of type dateTime
and should not be enclosed in quotes"); unknown fields are INVALID_FIELD,
unknown objects INVALID_TYPE, bad ids INVALID_QUERY_FILTER_OPERATOR, and
everything else this grammar does not cover MALFORMED_QUERY.
"""
import datetime
import operator
import re

SCHEMA = {
    "Contact": {"Id": "id", "FirstName": "string", "LastName": "string", "Name": "string", "Email": "string",
                "Phone": "string", "MobilePhone": "string", "Title": "string", "AccountId": "id",
                "Account.Name": "string", "CreatedDate": "datetime", "LastModifiedDate": "datetime",
                "SystemModstamp": "datetime", "IsDeleted": "boolean"},
    "Lead": {"Id": "id", "FirstName": "string", "LastName": "string", "Name": "string", "Email": "string",
             "Phone": "string", "MobilePhone": "string", "Title": "string", "Company": "string",
             "Status": "string", "CreatedDate": "datetime", "LastModifiedDate": "datetime",
             "SystemModstamp": "datetime", "IsDeleted": "boolean", "IsConverted": "boolean",
             "ConvertedContactId": "id"},
    # Tasks keep CreatedDate as the API renders it (ISO text, which sorts as time).
    "Task": {"Id": "id", "WhoId": "id", "Subject": "string", "TaskSubtype": "string", "CallType": "string",
             "CallObject": "string", "Status": "string", "CreatedDate": "string"},
}
KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST",
            "LAST", "LIMIT", "IN", "TRUE", "FALSE", "NULL", "OFFSET", "GROUP", "HAVING", "LIKE", "INCLUDES",
            "EXCLUDES", "WITH", "FOR", "USING", "TYPEOF"}
ID_RE = re.compile(r"[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?")
TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?(?:Z|[+-]\d{2}:\d{2}))(?![\w:.+-])
  | (?P<baddatetime>\d{4}-\d{2}-\d{2}T[\w:.+-]*)
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:.-])
  | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
""", re.VERBOSE)
COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
           ">=": operator.ge}
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\",
           "_": "\\_", "%": "\\%"}


class SoqlError(Exception):
    def __init__(self, code, message, col=None, query=""):
        if col is not None:
            message = "\n%s\n%s^\nERROR at Row:1:Column:%d\n%s" % (query, " " * (col - 1), col, message)
        super().__init__(message)
        self.code = code
        self.message = message


class Query:
    def __init__(self, obj, fields, where, order, limit):
        self.obj, self.fields, self.where, self.order, self.limit = obj, fields, where, order, limit


def parse_datetime(text):
    """A SOQL/ISO datetime with a zone -> Unix seconds; ValueError if invalid."""
    d = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if d.tzinfo is None:
        raise ValueError("no zone")
    return d.timestamp()


def tokenize(q):
    toks, pos = [], 0
    while pos < len(q):
        m = TOKEN_RE.match(q, pos)
        if not m:
            raise SoqlError("MALFORMED_QUERY", "line 1:%d no viable alternative at character '%s'" % (pos, q[pos]),
                            pos + 1, q)
        kind, text = m.lastgroup, m.group(m.lastgroup)
        if kind == "baddatetime":
            raise SoqlError("MALFORMED_QUERY", "line 1:%d no viable alternative at character '%s'"
                            % (m.end(), q[m.end()] if m.end() < len(q) else "<EOF>"), pos + 1, q)
        if kind != "ws":
            toks.append((kind, text, pos + 1))
        pos = m.end()
    toks.append(("eof", "", len(q) + 1))
    return toks


class Parser:
    def __init__(self, q):
        self.q = q
        self.toks = tokenize(q)
        self.i = 0

    def peek(self):
        return self.toks[self.i]

    def kw(self, word):
        kind, text, _ = self.peek()
        return kind == "ident" and text.upper() == word

    def take(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect_kw(self, word):
        if not self.kw(word):
            self.unexpected()
        return self.take()

    def unexpected(self):
        kind, text, col = self.peek()
        raise SoqlError("MALFORMED_QUERY", "unexpected token: %s" % ("<EOF>" if kind == "eof" else "'%s'" % text),
                        col, self.q)

    def field(self, obj):
        kind, text, col = self.peek()
        if kind != "ident" or text.upper() in KEYWORDS:
            self.unexpected()
        self.take()
        for name in SCHEMA[obj]:
            if name.lower() == text.lower():
                return name
        raise SoqlError("INVALID_FIELD", "No such column '%s' on entity '%s'. If you are attempting to use a custom "
                        "field, be sure to append the '__c' after the custom field name. Please reference your WSDL "
                        "or the describe call for the appropriate names." % (text, obj), col, self.q)

    def parse(self):
        self.expect_kw("SELECT")
        start = self.i
        while not self.kw("FROM"):  # fields are checked once the object is known
            if self.peek()[0] == "eof":
                self.unexpected()
            self.take()
        self.expect_kw("FROM")
        kind, text, col = self.take()
        if kind != "ident" or text.upper() in KEYWORDS:
            self.i -= 1
            self.unexpected()
        obj = next((o for o in SCHEMA if o.lower() == text.lower()), None)
        if obj is None:
            raise SoqlError("INVALID_TYPE", "sObject type '%s' is not supported. If you are attempting to use a "
                            "custom object, be sure to append the '__c' after the entity name. Please reference your "
                            "WSDL or the describe call for the appropriate names." % text, col, self.q)
        after_from = self.i
        self.i = start
        fields = [self.field(obj)]
        while self.peek()[1] == ",":
            self.take()
            fields.append(self.field(obj))
        if not self.kw("FROM"):
            self.unexpected()
        self.i = after_from
        where = order = limit = None
        if self.kw("WHERE"):
            self.take()
            where = self.expr(obj)
        if self.kw("ORDER"):
            self.take()
            self.expect_kw("BY")
            order = [self.order_item(obj)]
            while self.peek()[1] == ",":
                self.take()
                order.append(self.order_item(obj))
        if self.kw("LIMIT"):
            self.take()
            kind, text, col = self.take()
            if kind != "number" or not text.isdigit():
                self.i -= 1
                self.unexpected()
            limit = int(text)
        if self.peek()[0] != "eof":
            self.unexpected()
        return Query(obj, list(dict.fromkeys(fields)), where, order or [("Id", False, True)], limit)

    def order_item(self, obj):
        f = self.field(obj)
        desc = False
        if self.kw("ASC") or self.kw("DESC"):
            desc = self.take()[1].upper() == "DESC"
        nulls_first = not desc
        if self.kw("NULLS"):
            self.take()
            if not (self.kw("FIRST") or self.kw("LAST")):
                self.unexpected()
            nulls_first = self.take()[1].upper() == "FIRST"
        return (f, desc, nulls_first)

    def expr(self, obj):
        """cond (AND cond)* | cond (OR cond)*: one connective per level, as SOQL requires."""
        items = [self.cond(obj)]
        joiner = None
        while self.kw("AND") or self.kw("OR"):
            word = self.peek()[1].upper()
            if joiner and word != joiner:
                self.unexpected()
            joiner = word
            self.take()
            items.append(self.cond(obj))
        return items[0] if len(items) == 1 else (joiner.lower(), items)

    def cond(self, obj):
        if self.kw("NOT"):
            self.take()
            return ("not", self.cond(obj))
        if self.peek()[1] == "(":
            self.take()
            e = self.expr(obj)
            if self.peek()[1] != ")":
                self.unexpected()
            self.take()
            return e
        fcol = self.peek()[2]
        f = self.field(obj)
        ftype = SCHEMA[obj][f]
        negate = False
        if self.kw("NOT"):
            self.take()
            negate = True
            if not self.kw("IN"):
                self.unexpected()
        if self.kw("IN"):
            self.take()
            if self.peek()[1] != "(":
                self.unexpected()
            self.take()
            vals = [self.value(f, ftype, fcol)]
            while self.peek()[1] == ",":
                self.take()
                vals.append(self.value(f, ftype, fcol))
            if self.peek()[1] != ")":
                self.unexpected()
            self.take()
            return ("in", f, negate, vals)
        kind, op, _ = self.peek()
        if kind != "op":
            self.unexpected()
        self.take()
        return ("cmp", f, "!=" if op == "<>" else op, self.value(f, ftype, fcol))

    def value(self, f, ftype, fcol):
        kind, text, col = self.take()
        if kind == "ident" and text.upper() == "NULL":
            return None
        if ftype == "datetime":
            if kind == "datetime":
                try:
                    return parse_datetime(text)
                except ValueError:
                    raise SoqlError("MALFORMED_QUERY", "Invalid datetime: %s" % text, col, self.q)
            if kind in ("string", "date", "number") or kind == "ident" and text.upper() in ("TRUE", "FALSE"):
                raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of type dateTime "
                                "and should not be enclosed in quotes" % f, fcol, self.q)
        elif ftype == "boolean":
            if kind == "ident" and text.upper() in ("TRUE", "FALSE"):
                return text.upper() == "TRUE"
            if kind in ("string", "date", "number", "datetime"):
                raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of type boolean "
                                "and should not be enclosed in quotes" % f, fcol, self.q)
        else:
            if kind == "string":
                s = re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), text[1:-1])
                if ftype == "id":
                    if not ID_RE.fullmatch(s):
                        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: %s" % s, fcol, self.q)
                    return s[:15]
                return s.lower()
            if kind in ("date", "number", "datetime") or kind == "ident" and text.upper() in ("TRUE", "FALSE"):
                raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of type %s and "
                                "should be enclosed in quotes" % (f, "id" if ftype == "id" else "string"), fcol, self.q)
        self.i -= 1
        self.unexpected()


def parse(q):
    """SOQL text -> Query; raises SoqlError with Salesforce's error code."""
    if not q or not q.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string must be provided.")
    return Parser(q).parse()


def comparable(ftype, v):
    if v is None:
        return None
    if ftype == "id":
        return v[:15]
    if ftype == "string":
        return v.lower()
    return v


def compile_where(node, obj, get):
    """The WHERE tree as a function of one record; get(record, field) reads a field."""
    kind = node[0]
    if kind in ("and", "or"):
        parts = [compile_where(n, obj, get) for n in node[1]]
        if kind == "and":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    if kind == "not":
        inner = compile_where(node[1], obj, get)
        return lambda r: not inner(r)
    f = node[1]
    ftype = SCHEMA[obj][f]
    read = lambda r: comparable(ftype, get(r, f))
    if kind == "in":
        values, negate = set(node[3]), node[2]
        return lambda r: (read(r) in values) != negate
    op, want = node[2], node[3]
    if want is None:
        return (lambda r: read(r) is None) if op == "=" else (lambda r: read(r) is not None) if op == "!=" else \
            (lambda r: False)
    cmp = COMPARE[op]
    if op == "!=":
        return lambda r: read(r) is None or cmp(read(r), want)
    return lambda r: read(r) is not None and cmp(read(r), want)


def run(query, records, get):
    """The records matching query, sorted and limited; get(record, field) reads a field."""
    if query.where is not None:
        keep = compile_where(query.where, query.obj, get)
        rows = [r for r in records if keep(r)]
    else:
        rows = list(records)
    order = [(f, SCHEMA[query.obj][f], desc, nulls_first) for f, desc, nulls_first in query.order]
    if all(not desc and nulls_first for _, _, desc, nulls_first in order):
        def key(r):
            out = []
            for f, ftype, _, _ in order:
                v = comparable(ftype, get(r, f))
                out.append((0, "") if v is None else (1, v))
            return out
        rows.sort(key=key)
    else:
        for f, ftype, desc, nulls_first in reversed(order):
            nulls = [r for r in rows if get(r, f) is None]
            rest = [r for r in rows if get(r, f) is not None]
            rest.sort(key=lambda r: comparable(ftype, get(r, f)), reverse=desc)
            rows = nulls + rest if nulls_first else rest + nulls
    return rows if query.limit is None else rows[:query.limit]
