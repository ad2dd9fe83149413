"""On-disk objects and multipart uploads of the S3 peer (test/peers/s3.py).

Layout under the data directory (names are hashes, so any UTF-8 key is safe):
  tmp/                         request bodies while they arrive
  objects/<bucket>/<h>.data    bytes of an object put whole (PutObject), h = sha256(key)
  objects/<bucket>/<h>.<v>.parts/<n>.part
                               bytes of an object assembled by CompleteMultipartUpload:
                               its listed parts, in order (v: a fresh name per upload)
  objects/<bucket>/<h>.json    {"key", "size", "etag", "mtime", "content_type"}, plus
                               "parts": [[file, size], ...] (files under objects/<bucket>/)
                               for an assembled object
  uploads/<u>/meta.json        {"bucket", "key", "upload_id", "initiated", "seq", "content_type"}
  uploads/<u>/<n>.part         part n, with <n>.json {"size", "md5"}; u = sha256(upload id)

Bodies are streamed to disk, so a 200 MB object never sits in memory.  An
assembled object keeps its part files as they arrived (moved, not copied, as
a store completes an upload without rewriting its bytes); a GET reads them
in order.  One lock guards the metadata; a store survives a restart of the
peer.

Limits, as the stores enforce them: every part of a completed upload but the
last at least min_part_size (S3 and R2: 5 MiB; 400 EntityTooSmall at
CompleteMultipartUpload), and, when quota_bytes is set, a bucket quota
counting its objects and the parts of its uploads in progress (a PutObject or
UploadPart that would pass it: 507 QuotaExceeded, as a full MinIO or Ceph
bucket answers).  Both can be changed while the peer runs.
"""
import base64
import hashlib
import json
import os
import secrets
import shutil
import threading
import time


class StoreError(Exception):
    """An S3 error answer: HTTP status, S3 code, message, extra XML elements."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _h(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def _write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


class _NoHash:
    """Stands in for the SHA-256 of a body signed UNSIGNED-PAYLOAD, which nothing compares."""

    def update(self, chunk):
        pass

    def hexdigest(self):
        return "UNSIGNED-PAYLOAD"


class Body:
    """A request body spooled to a file while its SHA-256 (unless unsigned) and MD5 are computed."""

    def __init__(self, tmp_dir, sha256=True):
        self.path = os.path.join(tmp_dir, secrets.token_hex(12))
        self.file = open(self.path, "wb")
        self.sha256 = hashlib.sha256() if sha256 else _NoHash()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, chunk):
        self.file.write(chunk)
        self.sha256.update(chunk)
        self.md5.update(chunk)
        self.size += len(chunk)

    def close(self):
        if not self.file.closed:
            self.file.close()

    def read_all(self, limit):
        self.close()
        if self.size > limit:
            return None
        with open(self.path, "rb") as f:
            return f.read()

    def discard(self):
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Store:
    def __init__(self, data_dir, min_part_size, quota_bytes=None):
        self.dir = data_dir
        self.min_part_size = min_part_size
        self.quota_bytes = quota_bytes
        self.lock = threading.RLock()
        self.uploads = {}       # upload id -> meta
        self.seq = 0
        for sub in ("tmp", "objects", "uploads"):
            os.makedirs(os.path.join(data_dir, sub), exist_ok=True)
        for name in os.listdir(os.path.join(data_dir, "tmp")):
            os.unlink(os.path.join(data_dir, "tmp", name))
        for name in os.listdir(os.path.join(data_dir, "uploads")):
            try:
                with open(os.path.join(data_dir, "uploads", name, "meta.json")) as f:
                    meta = json.load(f)
                self.uploads[meta["upload_id"]] = meta
                self.seq = max(self.seq, meta["seq"])
            except (OSError, ValueError, KeyError):
                pass

    def new_body(self, sha256=True):
        return Body(os.path.join(self.dir, "tmp"), sha256)

    # Objects.

    def _object_base(self, bucket, key):
        return os.path.join(self.dir, "objects", bucket, _h(key))

    def put_object(self, bucket, key, body, content_type):
        body.close()
        etag = '"%s"' % body.md5.hexdigest()
        with self.lock:
            old = self.head_object(bucket, key)
            self._check_quota(bucket, body.size - (old["size"] if old else 0))
            self._install(bucket, key, body.path, body.size, etag, content_type)
        return etag

    def used_bytes(self, bucket):
        """Bytes a bucket holds: its objects and the parts of its uploads in progress."""
        with self.lock:
            used = sum(m["size"] for m in self.list_objects(bucket))
            for u in self.uploads.values():
                if u["bucket"] == bucket:
                    used += sum(p["size"] for p in self.parts(u["upload_id"]).values())
        return used

    def _check_quota(self, bucket, more):
        """Refuses more bytes in a bucket that would pass its quota (the caller holds the lock)."""
        if self.quota_bytes is not None and more > 0 and self.used_bytes(bucket) + more > self.quota_bytes:
            raise StoreError(507, "QuotaExceeded", "Bucket quota exceeded.", BucketName=bucket,
                             QuotaBytes=str(self.quota_bytes))

    def _install(self, bucket, key, data_path, size, etag, content_type, parts=None):
        """Makes data_path (a file, or with parts the directory of the listed part files) the object's bytes."""
        base = self._object_base(bucket, key)
        with self.lock:
            os.makedirs(os.path.dirname(base), exist_ok=True)
            old = self._read_meta(base)
            meta = {"key": key, "size": size, "etag": etag, "mtime": time.time(), "content_type": content_type}
            if parts is None:
                os.replace(data_path, base + ".data")
            else:
                meta["parts"] = parts
            _write_json(base + ".json", meta)
            if old is not None:
                self._drop_data(base, old, keep_file=parts is None)

    @staticmethod
    def _read_meta(base):
        try:
            with open(base + ".json") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    @staticmethod
    def _drop_data(base, meta, keep_file=False):
        """Removes the bytes meta names (not the .json); keep_file leaves <h>.data (just replaced)."""
        if "parts" in meta:
            d = os.path.dirname(base)
            for name in {os.path.dirname(p) for p, _ in meta["parts"]}:
                shutil.rmtree(os.path.join(d, name), ignore_errors=True)
        elif not keep_file:
            try:
                os.unlink(base + ".data")
            except FileNotFoundError:
                pass

    def head_object(self, bucket, key):
        """Metadata of an object with "segments", the [path, size] pieces of its bytes in order; or None."""
        base = self._object_base(bucket, key)
        with self.lock:
            meta = self._read_meta(base)
        if meta is None:
            return None
        if "parts" in meta:
            d = os.path.dirname(base)
            meta["segments"] = [(os.path.join(d, p), n) for p, n in meta["parts"]]
        else:
            meta["segments"] = [(base + ".data", meta["size"])]
        return meta

    def delete_object(self, bucket, key):
        base = self._object_base(bucket, key)
        with self.lock:
            meta = self._read_meta(base)
            try:
                os.unlink(base + ".json")
            except FileNotFoundError:
                pass
            self._drop_data(base, meta or {})

    def list_objects(self, bucket, prefix=""):
        d = os.path.join(self.dir, "objects", bucket)
        out = []
        with self.lock:
            names = os.listdir(d) if os.path.isdir(d) else []
            for name in names:
                if name.endswith(".json"):
                    try:
                        with open(os.path.join(d, name)) as f:
                            meta = json.load(f)
                    except (OSError, ValueError):
                        continue
                    if meta["key"].startswith(prefix):
                        out.append(meta)
        return sorted(out, key=lambda m: m["key"].encode("utf-8"))

    def buckets(self):
        return sorted(os.listdir(os.path.join(self.dir, "objects")))

    def create_bucket(self, bucket):
        os.makedirs(os.path.join(self.dir, "objects", bucket), exist_ok=True)

    # Multipart uploads.

    def _upload_dir(self, upload_id):
        return os.path.join(self.dir, "uploads", _h(upload_id)[:32])

    def create_upload(self, bucket, key, content_type):
        # Standard base64 of 35 bytes: '+', '/' and a final '=' that a client must encode.
        upload_id = base64.b64encode(secrets.token_bytes(35)).decode()
        with self.lock:
            self.seq += 1
            meta = {"bucket": bucket, "key": key, "upload_id": upload_id, "initiated": _iso(time.time()),
                    "seq": self.seq, "content_type": content_type}
            os.makedirs(self._upload_dir(upload_id))
            _write_json(os.path.join(self._upload_dir(upload_id), "meta.json"), meta)
            self.uploads[upload_id] = meta
        return upload_id

    def _upload(self, bucket, key, upload_id):
        meta = self.uploads.get(upload_id)
        if meta is None or meta["bucket"] != bucket or meta["key"] != key:
            raise StoreError(404, "NoSuchUpload", "The specified multipart upload does not exist. "
                             "The upload ID may be invalid, or the upload may have been aborted or completed.",
                             UploadId=upload_id)
        return meta

    def put_part(self, bucket, key, upload_id, number, body):
        body.close()
        etag = '"%s"' % body.md5.hexdigest()
        with self.lock:
            d = self._upload_dir(self._upload(bucket, key, upload_id)["upload_id"])
            old = self.parts(upload_id).get(number)
            self._check_quota(bucket, body.size - (old["size"] if old else 0))
            os.replace(body.path, os.path.join(d, "%d.part" % number))
            _write_json(os.path.join(d, "%d.json" % number), {"size": body.size, "md5": body.md5.hexdigest()})
        return etag

    def parts(self, upload_id):
        d = self._upload_dir(upload_id)
        out = {}
        for name in os.listdir(d):
            if name.endswith(".json") and name != "meta.json":
                with open(os.path.join(d, name)) as f:
                    out[int(name[:-5])] = json.load(f)
        return out

    def complete(self, bucket, key, upload_id, listed):
        """Assembles the listed (number, etag) parts; S3's checks, in S3's order."""
        with self.lock:
            meta = self._upload(bucket, key, upload_id)
            if not listed:
                raise StoreError(400, "MalformedXML", "The XML you provided was not well-formed or did not "
                                 "validate against our published schema.")
            numbers = [n for n, _ in listed]
            if any(b <= a for a, b in zip(numbers, numbers[1:])):
                raise StoreError(400, "InvalidPartOrder", "The list of parts was not in ascending order. "
                                 "The parts list must be specified in order by part number.", UploadId=upload_id)
            have = self.parts(upload_id)
            for n, etag in listed:
                if n not in have or etag.strip('"') != have[n]["md5"]:
                    raise StoreError(400, "InvalidPart", "One or more of the specified parts could not be found. "
                                     "The part may not have been uploaded, or the specified entity tag may not "
                                     "match the part's entity tag.", UploadId=upload_id, PartNumber=str(n),
                                     ETag=etag)
            for n in numbers[:-1]:
                if have[n]["size"] < self.min_part_size:
                    raise StoreError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum "
                                     "allowed object size.", ProposedSize=str(have[n]["size"]),
                                     MinSizeAllowed=str(self.min_part_size), PartNumber=str(n))
            d = self._upload_dir(upload_id)
            digest = hashlib.md5(usedforsecurity=False)
            size = 0
            for n in numbers:
                digest.update(bytes.fromhex(have[n]["md5"]))
                size += have[n]["size"]
            etag = '"%s-%d"' % (digest.hexdigest(), len(numbers))
            # The listed parts become the object's bytes where they lie; the others go with the upload.
            base = self._object_base(bucket, key)
            os.makedirs(os.path.dirname(base), exist_ok=True)
            name = "%s.%s.parts" % (os.path.basename(base), secrets.token_hex(6))
            os.mkdir(os.path.join(os.path.dirname(base), name))
            parts = []
            for n in numbers:
                os.replace(os.path.join(d, "%d.part" % n), os.path.join(os.path.dirname(base), name, "%d.part" % n))
                parts.append([os.path.join(name, "%d.part" % n), have[n]["size"]])
            self._install(bucket, key, None, size, etag, meta["content_type"], parts)
            shutil.rmtree(d)
            del self.uploads[upload_id]
        return etag

    def abort(self, bucket, key, upload_id):
        with self.lock:
            self._upload(bucket, key, upload_id)
            shutil.rmtree(self._upload_dir(upload_id))
            del self.uploads[upload_id]

    def list_uploads(self, bucket, prefix="", key_marker="", upload_id_marker=""):
        with self.lock:
            ups = sorted((u for u in self.uploads.values()
                          if u["bucket"] == bucket and u["key"].startswith(prefix)),
                         key=lambda u: (u["key"].encode("utf-8"), u["seq"]))
        if key_marker:
            marker_seq = self.uploads.get(upload_id_marker, {}).get("seq", 0) if upload_id_marker else None
            km = key_marker.encode("utf-8")
            ups = [u for u in ups if u["key"].encode("utf-8") > km or
                   (marker_seq is not None and u["key"].encode("utf-8") == km and u["seq"] > marker_seq)]
        return ups

    def stats(self):
        with self.lock:
            uploads = []
            for u in self.uploads.values():
                parts = self.parts(u["upload_id"])
                uploads.append({"bucket": u["bucket"], "key": u["key"], "upload_id": u["upload_id"],
                                "initiated": u["initiated"], "parts": len(parts),
                                "bytes": sum(p["size"] for p in parts.values())})
            objects = []
            for bucket in self.buckets():
                for m in self.list_objects(bucket):
                    objects.append({"bucket": bucket, "key": m["key"], "size": m["size"], "etag": m["etag"]})
        return uploads, objects
