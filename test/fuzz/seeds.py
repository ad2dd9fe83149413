#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets whose inputs are structured
(texml, csv, jsonl, url_guard, form, webhook, telnyx, format) from the literals of
the regression tests (sql/10_webhooks.sql, sql/20_exports.sql,
sql/30_ivr.sql), each in its target's input format (see each target's
header).  Run from the repository root: test/fuzz/seeds.py
"""
import base64
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def run(b, limit=63):
    """A run of bytes as the targets read them: its length, then the bytes."""
    assert len(b) <= limit
    return bytes([len(b)]) + b


# ---- texml: raw bytes (escaped whole), also read as a program of writer calls
# ops: 0 open <name>, 1 attr <name> <run>, 2 attr_int <name> <v> <min> <max>, 3 text <run>, 4 close
NAMES = ["Say", "Gather", "Play", "Redirect", "Dial", "Number", "Record", "Hangup", "Reject",
         "voice", "language", "action", "method", "timeout", "numDigits", "input"]


def name(n):
    return bytes([NAMES.index(n)])


def texts(b):
    """Text calls for b, 63 bytes at a time."""
    return b"".join(b"\x03" + run(b[i:i + 63]) for i in range(0, len(b), 63))


for label, raw in [
    ("invalid_utf8", bytes.fromhex("41c328e282ff42")),
    ("emoji", bytes.fromhex("7475f09f9880")),
    ("truncated_emoji", bytes.fromhex("f09f98")),
    ("controls", bytes.fromhex("01090a0d1f7f")),
    ("markup", "a\"b'c<d>e&f".encode()),
    ("noncharacters", bytes.fromhex("efbfbeefbfbf")),
    ("surrogate", bytes.fromhex("eda080")),
]:
    write("texml", label, raw)
hostile = ("<Hangup/> & \"quotes\" 'single' ]]> \U0001F600 tab\there\x01bell\x07 del\x7f c1\x85 end").encode()
write("texml", "hostile_menu",
      b"\x00" + name("Say") + b"\x01" + name("voice") + run(b"Polly.Joanna-Neural")
      + b"\x01" + name("language") + run(b"en-US") + texts(hostile) + b"\x04"
      + b"\x00" + name("Gather") + b"\x01" + name("action") + run(b"https://app.example.com/api/telnyx/ivr/gather")
      + b"\x02" + name("timeout") + bytes([8, 1, 120]) + b"\x01" + name("numDigits") + run(b"1")
      + b"\x00" + name("Say") + b"\x03" + run("Press star ]]><![CDATA[ x".encode()) + b"\x04\x04"
      + b"\x00" + name("Redirect") + b"\x01" + name("method") + run(b"POST") + b"\x03" + run(b"gather") + b"\x04")
write("texml", "misuse",
      b"\x00" + name("Say") + b"\x03" + run(b"text") + b"\x01" + name("voice") + run(b"late"))

# ---- csv: (columns - 1) | 8 for the guard, then fields: 0xFF NULL, else length (6 bits) and bytes
def csv_table(ncols, guard, fields):
    out = bytes([(ncols - 1) | (8 if guard else 0)])
    for f in fields:
        out += b"\xff" if f is None else run(f.encode())
    return out


write("csv", "quoting", csv_table(6, True, ["a,b", 'say "hi"', "l1\nl2", "l1\rl2", "l1\r\nl2", '"']))
write("csv", "utf8_tab", csv_table(3, True, ["a\tb", "x;y", "héllo 😀"]))
write("csv", "null_empty", csv_table(4, True, [None, "", None, "x"]))
write("csv", "formula_guard", csv_table(7, True, ["=SUM(A1)", "+1555", "-x", "@cmd", "\tx", "\rx", "a=b"]))
write("csv", "guard_quoted", csv_table(2, True, ["=1,2", "=a\nb"]))
write("csv", "guard_off", csv_table(2, False, ["=SUM(A1)", "+1555"]))

# ---- jsonl: columns | rows-1 << 4; names as runs; per value a kind byte
# (0 null, 1 text, 2 int8 (8 bytes), 3 float8 (8 bytes), 4 numeric, 5 bool, 6-7 json) and its bytes
def jsonl(names, rows):
    out = bytes([len(names) | ((len(rows) - 1) << 4)])
    for n in names:
        out += run(n.encode(), 31)
    for row in rows:
        for kind, value in row:
            out += bytes([kind]) + value
    return out


write("jsonl", "escapes", jsonl(["s", "named", "ctl", "del", "utf8"], [[
    (1, run('q"b\\s/'.encode(), 31)), (1, run(b"\n\r\t\b\f", 31)), (1, run(b"\x01\x02\x1f", 31)),
    (1, run(b"\x7f", 31)), (1, run("é😀".encode(), 31))]]))
write("jsonl", "kinds", jsonl(["i", "num", "nan", "ninf", "jb", "b"], [[
    (2, struct.pack(">q", -5)), (4, bytes([0x40 | 2, 1, 5, 2, 5, 0])), (4, bytes([0x34])),
    (3, struct.pack(">d", float("-inf"))), (6, b"\x02"), (5, b"\x01")]]))
write("jsonl", "nulls_and_keys", jsonl(['k"ey', "back\\slash", "n"], [
    [(0, b""), (1, run(b"", 31)), (2, struct.pack(">q", 9223372036854775807))],
    [(1, run(b"text", 31)), (0, b""), (3, struct.pack(">d", 0.1))]]))

# ---- url_guard: kind byte (allow_http | kind << 1), address bytes, allow count, then URL text
def url_seed(kind, addr, url, allow_http=False):
    return bytes([int(allow_http) | (kind << 1)]) + addr + b"\x00" + url.encode()


def v4(s):
    return bytes(int(x) for x in s.split("."))


for i, u in enumerate(["https://0x7f.1/", "https://2130706433/", "https://0177.0.0.1/",
                       "https://127.0.0.1../", "https://good.com@127.0.0.1/", "https://127.0.0.1#@good.com/",
                       "https://169.254.169.254/latest/meta-data/", "https://0x100000000/",
                       "https://hooks.zapier.com:8443/x?y=1@2", "https://EXAMPLE.COM./"]):
    write("url_guard", "ipv4_%02d" % i, url_seed(0, v4("127.0.0.1"), u))
for i, (a, u) in enumerate([
        (b"\0" * 15 + b"\1", "https://[0:0:0:0:0:0:0:1]/"),
        (bytes.fromhex("fe800000000000000000000000000001"), "https://[fe80::1%25eth0]/"),
        (bytes.fromhex("00000000000000000000ffff7f000001"), "https://[::ffff:127.0.0.1]/"),
        (bytes.fromhex("0064ff9b000100000000000000007f00"), "https://[64:ff9b:1::7f00:1]/"),
        (bytes.fromhex("20027f00000100000000000000000001"), "https://[2002:7f00:1::1]/"),
        (bytes.fromhex("26064700470000000000000000001111"), "https://[2606:4700:4700::1111]/")]):
    write("url_guard", "ipv6_%02d" % i, url_seed(3, a, u))
write("url_guard", "localhost", url_seed(7, v4("127.0.0.1"), "https://api.localhost/"))
write("url_guard", "allow_http", url_seed(0, v4("10.0.0.1"), "http://127.0.0.1:8080/", True))
write("url_guard", "malformed", url_seed(0, v4("8.8.8.8"), "https://example.com\\@127.0.0.1/"))

# ---- form: name length byte, name, body
body = b"CallSid=v3%3Aabc&To=%2B15551230000&Digits=&SpeechResult=hello+world"
for n in [b"To", b"CallSid", b"Digits", b"SpeechResult", b"From"]:
    write("form", "callback_" + n.decode(), bytes([len(n)]) + n + body)
write("form", "bad_escape", b"\x02To" + b"To=%2")
write("form", "not_utf8", b"\x02To" + b"To=%ff")

# ---- webhook: secret (prefix flag, run), key length-1 and bytes, id run, body run, ts (8 bytes),
# tolerance (2 bytes), time offset, header layout, change
def webhook_seed(secret, msg_id, body, ts, change=0):
    key = base64.b64decode(secret)
    raw_ts = (ts + (1 << 61)) << 2
    return (b"\x01" + run(secret.encode(), 100) + bytes([len(key) - 1]) + key + run(msg_id.encode(), 64)
            + bytes([min(len(body), 255)]) + body[:255] + struct.pack(">Q", raw_ts)
            + struct.pack(">H", 300 + 8) + b"\x00" + b"\x00" + bytes([change]))


write("webhook", "standard_webhooks_example", webhook_seed(
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}', 1614265330))
write("webhook", "tampered_body", webhook_seed(
    "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg==", "msg_1", b'{"type":"call.completed"}', 1700000000, 1))
write("webhook", "bad_secret", b"\x01" + run(b"not base64!", 100))

# ---- telnyx: how, tolerance, timestamp offset, body
write("telnyx", "inbound_call", b"\x00\x2c\x00" + b"AccountSid=ACbench&CallSid=v3%3Abench-1&From=%2B15550000001&To=%2B15550100000&CallStatus=ringing")
write("telnyx", "changed_signature", b"\x20\x2c\x05" + b"CallSid=v3%3Aabc&Digits=1")
write("telnyx", "padding_bits", b"\x60\x2c\xfb" + b"CallSid=v3%3Aabc&Digits=")
write("telnyx", "empty_body", b"\x13\x2c\x00")

# ---- format: UUID (16 bytes), year (int32 LE), month-1, day-1, hour, minute, second,
# microseconds (uint32 LE), UTC flag; the values of sql/20_exports.sql and the ends of the range
def format_seed(uuid_hex, year, mon, day, h, mi, s, usec, utc):
    return (bytes.fromhex(uuid_hex) + struct.pack("<i", year) + bytes([mon - 1, day - 1, h, mi, s])
            + struct.pack("<I", usec) + bytes([utc, 0]))


write("format", "exports_literal", format_seed("a0eebc999c0b4ef8bb6d6bb9bd380a11", 2026, 3, 1, 6, 30, 0, 0, 1))
write("format", "bc_year", format_seed("00" * 16, -44, 3, 15, 12, 0, 0, 0, 0))
write("format", "expanded_year", format_seed("ff" * 16, 294276, 12, 31, 23, 59, 59, 999999, 1))
