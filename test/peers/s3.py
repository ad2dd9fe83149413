#!/usr/bin/env python3
"""An S3-compatible object store on loopback, for the export tests.

HTTPS (or HTTP) with keep-alive; path-style addressing /<bucket>/<key>
(virtual-hosted <bucket>.<suffix> with --vhost-suffix); buckets exist on
first use or by PUT /<bucket>.  Every request must be signed with SigV4
(Authorization header, or presigned query parameters), and every signature
is recomputed independently with botocore (s3_auth.py).  Objects and parts
live on disk (s3_store.py).

Operations: PutObject, GetObject (Range, response-content-* overrides),
HeadObject, DeleteObject, CreateMultipartUpload, UploadPart,
CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads,
ListObjectsV2, CreateBucket, HeadBucket, ListBuckets.  Errors are S3's XML
<Error> documents with S3's codes.

Test controls (no signature needed):
  POST   /__admin/faults   {"op": "UploadPart"|...|"*", "status": 503, "code": "SlowDown",
                            "message": "...", "times": n, "delay_ms": n, "retry_after": s}
                           (a JSON list adds several; status 200 with a code answers
                           200 OK with an <Error> body, as CompleteMultipartUpload may)
  GET    /__admin/faults   the pending faults;  DELETE /__admin/faults  drops them
  GET    /__admin/stats    counts per operation and status, uploads in progress, objects
  DELETE /__admin/stats    resets the counts
  GET    /__admin/object?bucket=B&key=K   the object's bytes
  POST   /__admin/limits   {"min_part_size": n, "quota_bytes": n or null} changes the store's
                           limits (s3_store.py); GET /__admin/limits shows them

Usage: s3.py --port-file F --data-dir D --access-key AK --secret-key SK
             [--tls CERT KEY] [--region auto] [--log F] [--min-part-size BYTES]
             [--vhost-suffix S] [--quota-bytes BYTES]
"""
import argparse
import datetime
import email.utils
import json
import os
import re
import secrets
import signal
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_auth import AuthError, Keys, verify_header, verify_presigned  # noqa: E402
from s3_store import Store, StoreError  # noqa: E402

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_PART = 5 * 1024 ** 3
MAX_XML_BODY = 1 << 20
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
XML_ESCAPES = {'"': "&quot;", "'": "&apos;"}


class S3Error(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def x(text):
    """Text escaped for XML content, quotes included (S3 writes ETags as &quot;...&quot;)."""
    return escape(str(text), XML_ESCAPES)


def xml_doc(root, inner):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<%s xmlns="%s">%s</%s>' % (root, NS, inner, root)).encode()


def error_doc(code, message, resource, request_id, extra):
    inner = "<Code>%s</Code><Message>%s</Message>" % (x(code), x(message))
    inner += "".join("<%s>%s</%s>" % (k, x(v), k) for k, v in extra.items())
    inner += "<Resource>%s</Resource><RequestId>%s</RequestId>" % (x(resource), request_id)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>%s</Error>' % inner).encode()


class Peer:
    """State shared by the request threads: keys, store, faults, counters, log."""

    def __init__(self, args):
        self.args = args
        self.keys = Keys(args.access_key, args.secret_key, args.region)
        self.store = Store(args.data_dir, args.min_part_size, args.quota_bytes)
        self.lock = threading.Lock()
        self.faults = []
        self.counts = {}
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def take_fault(self, op):
        with self.lock:
            for f in self.faults:
                if f.get("op", "*") in ("*", op) and f.get("times", 1) > 0:
                    f["times"] = f.get("times", 1) - 1
                    self.faults = [g for g in self.faults if g.get("times", 1) > 0]
                    return dict(f)
        return None

    def count(self, op, status):
        with self.lock:
            per = self.counts.setdefault(op, {})
            per[str(status)] = per.get(str(status), 0) + 1

    def write_log(self, entry):
        if self.log:
            with self.lock:
                self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")


def operation(method, bucket, key, q):
    """S3's name for the operation a request asks for."""
    if not bucket:
        return "ListBuckets" if method == "GET" else "Unknown"
    if not key:
        return {("PUT", False): "CreateBucket", ("HEAD", False): "HeadBucket", ("DELETE", False): "DeleteBucket",
                ("GET", True): "ListMultipartUploads", ("GET", False): "ListObjectsV2"
                }.get((method, "uploads" in q), "Unknown")
    if method == "PUT":
        return "UploadPart" if "uploadId" in q or "partNumber" in q else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in q else (
            "CompleteMultipartUpload" if "uploadId" in q else "Unknown")
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    if method == "GET":
        return "ListParts" if "uploadId" in q else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    return "Unknown"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wib-s3-peer"
    sys_version = ""
    peer = None

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self.serve()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    # Reading.

    def read_body(self, body):
        """Streams the request body (Content-Length or chunked) into body."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                    if size < 0:
                        raise ValueError
                except ValueError:
                    self.close_connection = True
                    raise S3Error(400, "IncompleteBody", "Malformed chunked encoding.")
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                self.copy(body, size)
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if length is None:
            if self.command == "PUT":
                self.close_connection = True
                raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
            return
        if not length.isdigit() or int(length) > MAX_PART:
            self.close_connection = True
            raise S3Error(400, "InvalidArgument", "Bad Content-Length.")
        self.copy(body, int(length))

    def copy(self, body, n):
        """Moves n bytes of the request into body, through one buffer of up to 1 MiB."""
        buf = memoryview(bytearray(min(n, 1 << 20)))
        while n > 0:
            got = self.rfile.readinto(buf[:min(n, len(buf))])
            if not got:
                self.close_connection = True
                raise S3Error(400, "IncompleteBody", "You did not provide the number of bytes specified "
                              "by the Content-Length HTTP header.")
            body.write(buf[:got])
            n -= got

    # Writing.

    def reply(self, status, body=b"", headers=None, ctype="application/xml"):
        self.send_response(status)
        self.send_header("x-amz-request-id", self.request_id)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.bytes_out = len(body)

    def reply_error(self, e, resource):
        doc = error_doc(e.code, e.message, resource, self.request_id, e.extra)
        self.error_code = e.code
        self.reply(e.status, b"" if self.command == "HEAD" else doc)

    def reply_file(self, status, segments, start, length, headers):
        """Sends length bytes from offset start of an object stored as segments ([path, size] in order)."""
        files = []
        if self.command != "HEAD":
            # Opened first, so a concurrent replace or delete of the object does not cut the answer.
            files = [(open(path, "rb"), size) for path, size in segments]
        self.send_response(status)
        self.send_header("x-amz-request-id", self.request_id)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.bytes_out = 0
        try:
            for f, size in files:
                if start >= size:
                    start -= size
                    continue
                f.seek(start)
                start = 0
                while length > 0:
                    chunk = f.read(min(length, 1 << 20))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    length -= len(chunk)
                    self.bytes_out += len(chunk)
                if length == 0:
                    break
        finally:
            for f, _ in files:
                f.close()

    # The request.

    def serve(self):
        self.request_id = secrets.token_hex(8).upper()
        self._status = 500
        self.error_code = None
        self.bytes_out = 0
        peer = self.peer
        raw_path, _, raw_query = self.path.partition("?")
        if raw_path.startswith("/__admin/"):
            return self.admin(raw_path, raw_query)
        # A body signed UNSIGNED-PAYLOAD is not hashed (S3 does not either); any other is.
        body = peer.store.new_body(sha256=self.headers.get("x-amz-content-sha256") != "UNSIGNED-PAYLOAD")
        op = "Unknown"
        try:
            try:
                try:
                    bucket, key, path, query = self.address(raw_path, raw_query)
                    q = dict(query)
                    op = operation(self.command, bucket, key, q)
                    bad_address = None
                except S3Error as e:
                    bad_address = e
                self.read_body(body)
                if bad_address:
                    raise bad_address
                fault = peer.take_fault(op)
                if fault:
                    time.sleep(fault.get("delay_ms", 0) / 1000.0)
                    if fault.get("status"):
                        return self.reply_fault(fault, raw_path)
                self.authenticate(path, query, body)
                self.dispatch(op, bucket, key, q, body)
            except (S3Error, AuthError, StoreError) as e:
                self.reply_error(e, urllib.parse.unquote(raw_path))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            try:
                self.reply_error(S3Error(500, "InternalError", "We encountered an internal error."), raw_path)
            except OSError:
                pass
        finally:
            body.discard()
            status = self._status
            peer.count(op, self._status)
            peer.write_log({"time": round(time.time(), 3), "method": self.command, "path": raw_path,
                            "query": raw_query, "op": op, "status": self._status, "code": self.error_code,
                            "bytes": body.size, "bytes_out": self.bytes_out})

    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def reply_fault(self, fault, resource):
        e = S3Error(fault["status"], fault.get("code", "InternalError"),
                    fault.get("message", "Injected fault."))
        headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
        self.error_code = e.code
        self.reply(e.status, b"" if self.command == "HEAD" else
                   error_doc(e.code, e.message, resource, self.request_id, {}), headers)

    def address(self, raw_path, raw_query):
        """(bucket, key, decoded path, decoded query pairs) of the request."""
        try:
            path = urllib.parse.unquote_to_bytes(raw_path).decode("utf-8")
            query = []
            for item in raw_query.split("&") if raw_query else []:
                k, _, v = item.partition("=")
                query.append((urllib.parse.unquote_to_bytes(k).decode("utf-8"),
                              urllib.parse.unquote_to_bytes(v).decode("utf-8")))
        except UnicodeDecodeError:
            raise S3Error(400, "InvalidURI", "Couldn't parse the specified URI.")
        host = self.headers.get("Host", "").rsplit(":", 1)[0] if self.headers.get("Host") else ""
        suffix = self.peer.args.vhost_suffix
        if suffix and host.endswith("." + suffix):
            bucket, key = host[:-len(suffix) - 1], path[1:]
        else:
            bucket, _, key = path[1:].partition("/")
        if bucket and not BUCKET_RE.match(bucket):
            raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=bucket)
        if len(key.encode("utf-8")) > 1024:
            raise S3Error(400, "KeyTooLongError", "Your key is too long.")
        return bucket, key, path, query

    def authenticate(self, path, query, body):
        now = datetime.datetime.now(datetime.timezone.utc)
        host = self.headers.get("Host", "")
        if any(k == "X-Amz-Algorithm" for k, _ in query):
            if "Authorization" in self.headers:
                raise S3Error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                              "query parameter or the Authorization header should be specified")
            verify_presigned(self.peer.keys, self.command, host, path, query, self.headers, now)
            return
        if "Authorization" not in self.headers:
            raise S3Error(403, "AccessDenied", "Access Denied")
        content = verify_header(self.peer.keys, self.command, host, path, query, self.headers, now)
        body.close()
        if content != "UNSIGNED-PAYLOAD" and content != body.sha256.hexdigest():
            raise S3Error(400, "XAmzContentSHA256Mismatch",
                          "The provided 'x-amz-content-sha256' header does not match what was computed.",
                          ClientComputedContentSHA256=content,
                          S3ComputedContentSHA256=body.sha256.hexdigest())

    # Operations.

    def dispatch(self, op, bucket, key, q, body):
        store = self.peer.store
        ctype = self.headers.get("Content-Type", "binary/octet-stream")
        if op == "PutObject":
            etag = store.put_object(bucket, key, body, ctype)
            self.reply(200, headers={"ETag": etag})
        elif op == "UploadPart":
            number = q.get("partNumber", "")
            if not number.isdigit() or not 1 <= int(number) <= 10000:
                raise S3Error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, "
                              "inclusive", ArgumentName="partNumber", ArgumentValue=number)
            etag = store.put_part(bucket, key, q.get("uploadId", ""), int(number), body)
            self.reply(200, headers={"ETag": etag})
        elif op == "CreateMultipartUpload":
            upload_id = store.create_upload(bucket, key, ctype)
            self.reply(200, xml_doc("InitiateMultipartUploadResult", "<Bucket>%s</Bucket><Key>%s</Key>"
                                    "<UploadId>%s</UploadId>" % (x(bucket), x(key), x(upload_id))))
        elif op == "CompleteMultipartUpload":
            etag = store.complete(bucket, key, q["uploadId"], self.parts_listed(body))
            location = "https://%s/%s/%s" % (self.headers.get("Host", ""), bucket, urllib.parse.quote(key))
            self.reply(200, xml_doc("CompleteMultipartUploadResult",
                                    "<Location>%s</Location><Bucket>%s</Bucket><Key>%s</Key><ETag>%s</ETag>"
                                    % (x(location), x(bucket), x(key), x(etag))))
        elif op == "AbortMultipartUpload":
            store.abort(bucket, key, q["uploadId"])
            self.reply(204)
        elif op in ("GetObject", "HeadObject"):
            self.get_object(bucket, key, q)
        elif op == "DeleteObject":
            store.delete_object(bucket, key)
            self.reply(204)
        elif op == "ListMultipartUploads":
            self.list_uploads(bucket, q)
        elif op == "ListObjectsV2":
            objs = store.list_objects(bucket, q.get("prefix", ""))
            inner = "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys>" \
                    "<IsTruncated>false</IsTruncated>" % (x(bucket), x(q.get("prefix", "")), len(objs))
            for m in objs:
                inner += "<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>%s</ETag><Size>%d</Size>" \
                         "<StorageClass>STANDARD</StorageClass></Contents>" % (
                             x(m["key"]), iso(m["mtime"]), x(m["etag"]), m["size"])
            self.reply(200, xml_doc("ListBucketResult", inner))
        elif op in ("CreateBucket", "HeadBucket"):
            store.create_bucket(bucket)
            self.reply(200, headers={"Location": "/" + bucket} if op == "CreateBucket" else {})
        elif op == "DeleteBucket":
            self.reply(204)
        elif op == "ListBuckets":
            inner = "".join("<Bucket><Name>%s</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket>"
                            % x(b) for b in store.buckets())
            self.reply(200, xml_doc("ListAllMyBucketsResult", "<Buckets>%s</Buckets>" % inner))
        else:
            raise S3Error(501, "NotImplemented", "A header or query you provided implies functionality "
                          "that is not implemented.")

    def parts_listed(self, body):
        data = body.read_all(MAX_XML_BODY)
        try:
            root = ET.fromstring(data or b"")
            if root.tag.split("}")[-1] != "CompleteMultipartUpload":
                raise ValueError
            listed = []
            for part in root:
                if part.tag.split("}")[-1] != "Part":
                    raise ValueError
                fields = {c.tag.split("}")[-1]: (c.text or "") for c in part}
                listed.append((int(fields["PartNumber"]), fields["ETag"]))
            return listed
        except (ET.ParseError, ValueError, KeyError, TypeError):
            raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                          "against our published schema.")

    def get_object(self, bucket, key, q):
        meta = self.peer.store.head_object(bucket, key)
        if meta is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        size = meta["size"]
        headers = {"ETag": meta["etag"], "Last-Modified": email.utils.formatdate(meta["mtime"], usegmt=True),
                   "Accept-Ranges": "bytes",
                   "Content-Type": q.get("response-content-type", meta["content_type"])}
        for param, header in (("response-content-disposition", "Content-Disposition"),
                              ("response-cache-control", "Cache-Control")):
            if param in q:
                headers[header] = q[param]
        start, length, status = 0, size, 200
        m = re.match(r"^bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:
                start, end = max(0, size - int(m.group(2))), size - 1
            if start >= size or end < start:
                raise S3Error(416, "InvalidRange", "The requested range is not satisfiable",
                              ActualObjectSize=str(size))
            length, status = end - start + 1, 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        self.reply_file(status, meta["segments"], start, length, headers)

    def list_uploads(self, bucket, q):
        try:
            max_uploads = max(0, min(1000, int(q.get("max-uploads", "1000"))))
        except ValueError:
            raise S3Error(400, "InvalidArgument", "max-uploads must be an integer.")
        ups = self.peer.store.list_uploads(bucket, q.get("prefix", ""), q.get("key-marker", ""),
                                           q.get("upload-id-marker", ""))
        page, truncated = ups[:max_uploads], len(ups) > max_uploads
        inner = "<Bucket>%s</Bucket><KeyMarker>%s</KeyMarker><UploadIdMarker>%s</UploadIdMarker>" % (
            x(bucket), x(q.get("key-marker", "")), x(q.get("upload-id-marker", "")))
        if truncated and page:
            inner += "<NextKeyMarker>%s</NextKeyMarker><NextUploadIdMarker>%s</NextUploadIdMarker>" % (
                x(page[-1]["key"]), x(page[-1]["upload_id"]))
        inner += "<Prefix>%s</Prefix><MaxUploads>%d</MaxUploads><IsTruncated>%s</IsTruncated>" % (
            x(q.get("prefix", "")), max_uploads, "true" if truncated else "false")
        for u in page:
            who = "<ID>%s</ID><DisplayName>wib</DisplayName>" % self.peer.keys.access_key
            inner += ("<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiator>%s</Initiator><Owner>%s</Owner>"
                      "<StorageClass>STANDARD</StorageClass><Initiated>%s</Initiated></Upload>"
                      % (x(u["key"]), x(u["upload_id"]), who, who, u["initiated"]))
        self.reply(200, xml_doc("ListMultipartUploadsResult", inner))

    # Test controls.

    def admin(self, raw_path, raw_query):
        peer = self.peer
        try:
            body = peer.store.new_body()
            try:
                self.read_body(body)
                data = body.read_all(MAX_XML_BODY) or b""
            finally:
                body.discard()
            q = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
            if raw_path == "/__admin/faults" and self.command == "POST":
                faults = json.loads(data or b"[]")
                with peer.lock:
                    peer.faults.extend(faults if isinstance(faults, list) else [faults])
                return self.reply_json(200, {"faults": peer.faults})
            if raw_path == "/__admin/faults" and self.command in ("GET", "DELETE"):
                with peer.lock:
                    if self.command == "DELETE":
                        peer.faults = []
                    return self.reply_json(200, {"faults": peer.faults})
            if raw_path == "/__admin/stats" and self.command in ("GET", "DELETE"):
                if self.command == "DELETE":
                    with peer.lock:
                        peer.counts = {}
                uploads, objects = peer.store.stats()
                with peer.lock:
                    counts = json.loads(json.dumps(peer.counts))
                return self.reply_json(200, {"operations": counts, "uploads": uploads, "objects": objects})
            if raw_path == "/__admin/limits" and self.command in ("GET", "POST"):
                store = peer.store
                if self.command == "POST":
                    limits = json.loads(data or b"{}")
                    if not isinstance(limits, dict) or set(limits) - {"min_part_size", "quota_bytes"}:
                        raise ValueError("limits are min_part_size and quota_bytes")
                    with store.lock:
                        if "min_part_size" in limits:
                            store.min_part_size = int(limits["min_part_size"])
                        if "quota_bytes" in limits:
                            q_bytes = limits["quota_bytes"]
                            store.quota_bytes = None if q_bytes is None else int(q_bytes)
                return self.reply_json(200, {"min_part_size": store.min_part_size,
                                             "quota_bytes": store.quota_bytes})
            if raw_path == "/__admin/object" and self.command in ("GET", "HEAD"):
                meta = peer.store.head_object(q.get("bucket", ""), q.get("key", ""))
                if meta is None:
                    return self.reply_json(404, {"error": "no such object"})
                return self.reply_file(200, meta["segments"], 0, meta["size"],
                                       {"Content-Type": "application/octet-stream", "ETag": meta["etag"]})
            return self.reply_json(404, {"error": "unknown admin path"})
        except (ValueError, S3Error) as e:
            return self.reply_json(400, {"error": str(e)})

    def reply_json(self, status, value):
        self.reply(status, json.dumps(value, ensure_ascii=False).encode(), ctype="application/json")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass                    # a client that hangs up or fails the TLS handshake is not news


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--region", default="auto")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--log")
    ap.add_argument("--min-part-size", type=int, default=5 * 1024 * 1024)
    ap.add_argument("--vhost-suffix")
    ap.add_argument("--quota-bytes", type=int)
    args = ap.parse_args()

    Handler.peer = Peer(args)
    server = Server(("127.0.0.1", 0), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        # Handshakes happen in the connection's thread, on first read.
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
