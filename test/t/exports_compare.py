#!/usr/bin/env python3
"""Parses an export file with Python's csv or json module and compares every
value with the source rows (a JSON array written by PostgreSQL itself).

usage: exports_compare.py csv|json EXPORT_FILE SOURCE_JSON GUARD(0|1)

Only the columns of the source rows are compared (the export may have more).

For CSV, Python 3.11's csv module reads NULL and "" both as '', so a small
RFC 4180 tokenizer also reports whether each field was quoted: an empty
unquoted field is NULL, an empty quoted one the empty string.  Its values must
agree with the csv module's.  Prints "ok <rows>" or the first difference.
"""
import csv
import io
import json
import sys


def tokenize(data):
    """Yields rows of (value, quoted) per RFC 4180 (CRLF or LF line ends)."""
    row, field, quoted, i, n = [], [], False, 0, len(data)
    at_start = True
    while i < n:
        c = data[i]
        if at_start and c == '"':
            quoted, at_start, i = True, False, i + 1
            while True:
                c = data[i]
                if c == '"':
                    if i + 1 < n and data[i + 1] == '"':
                        field.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                field.append(c)
                i += 1
            continue
        if c == ',':
            row.append((''.join(field), quoted))
            field, quoted, at_start = [], False, True
            i += 1
        elif c == '\r' and i + 1 < n and data[i + 1] == '\n' or c == '\n':
            row.append((''.join(field), quoted))
            yield row
            row, field, quoted, at_start = [], [], False, True
            i += 2 if c == '\r' else 1
        else:
            field.append(c)
            at_start = False
            i += 1
    if row or field:
        row.append((''.join(field), quoted))
        yield row


def expect_text(value, guard):
    if value is None or not guard:
        return value
    if value[:1] in ('=', '+', '-', '@', '\t', '\r'):
        return "'" + value
    return value


def main():
    csv.field_size_limit(1 << 30)
    fmt, path, source_path, guard = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1'
    with open(source_path, encoding='utf-8') as f:
        source = json.load(f)
    columns = list(source[0].keys())
    if fmt == 'json':
        with open(path, encoding='utf-8', newline='') as f:
            got = [json.loads(line) for line in f.read().split('\n') if line != '']
        got = [{k: g.get(k, 'MISSING') for k in columns} for g in got]
        want = source
    else:
        with open(path, encoding='utf-8', newline='') as f:
            data = f.read()
        parsed = list(csv.reader(io.StringIO(data, newline='')))
        tokens = list(tokenize(data))
        if [[v for v, _ in r] for r in tokens] != parsed:
            print('tokenizer and csv module disagree')
            return 1
        header = parsed[0]
        if not set(columns) <= set(header):
            print('header lacks columns: %r' % header)
            return 1
        got = []
        for r in tokens[1:]:
            if len(r) != len(header):
                print('row of %d fields under a header of %d' % (len(r), len(header)))
                return 1
            row = {k: (None if v == '' and not q else v) for k, (v, q) in zip(header, r)}
            got.append({k: row[k] for k in columns})
        want = [{k: (v if k == 'id' else expect_text(v, guard)) for k, v in row.items()} for row in source]
    if len(got) != len(want):
        print('row count differs: %d != %d' % (len(got), len(want)))
        return 1
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            for k in w:
                if g.get(k) != w[k]:
                    print('row %d column %s differs: %r != %r' % (i, k, (g.get(k) or '')[:80], (w[k] or '')[:80]))
                    return 1
    print('ok %d' % len(got))
    return 0


if __name__ == '__main__':
    sys.exit(main())
