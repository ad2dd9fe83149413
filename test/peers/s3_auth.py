"""SigV4 verification for the S3 peer (test/peers/s3.py), done with botocore.

The signature a request carries is recomputed by botocore's own signers
(S3SigV4Auth for the Authorization header, S3SigV4QueryAuth for presigned
URLs), from the request as S3 sees it: the path and query are decoded and
re-encoded the canonical way, never taken as sent.  So a client that encodes
a key differently from S3 fails here as it would there, and nothing of the
client's own canonicalization is trusted.

verify_header() and verify_presigned() return None when the request is
authentic, else an AuthError naming S3's error code.
"""
import datetime
import hmac
import re

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import percent_encode

MAX_SKEW = 15 * 60
MAX_EXPIRES = 604800
AMZ_DATE = "%Y%m%dT%H%M%SZ"
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                  "X-Amz-SignedHeaders", "X-Amz-Signature")


class AuthError(Exception):
    """An S3 authentication failure: HTTP status, S3 code, message, extra XML elements."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class _HeaderSigner(S3SigV4Auth):
    """S3SigV4Auth signing exactly the headers the client named (botocore would drop a few)."""

    def __init__(self, credentials, region, names):
        super().__init__(credentials, "s3", region)
        self._names = names

    def headers_to_sign(self, request):
        picked = HTTPHeaders()
        for name in self._names:
            for value in request.headers.get_all(name) or []:
                picked[name] = value
        return picked


class Keys:
    """The one access key the peer knows, and its region."""

    def __init__(self, access_key, secret_key, region):
        self.access_key, self.region = access_key, region
        self.credentials = Credentials(access_key, secret_key)


def canonical_url(host, path):
    """https://host plus the path encoded as S3 encodes it (everything but unreserved and /)."""
    return "https://" + host + percent_encode(path, safe="/~")


def parse_amz_date(text):
    try:
        return datetime.datetime.strptime(text, AMZ_DATE).replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def _scope(keys, credential, amz_date, malformed):
    """Checks access-key/date/region/s3/aws4_request against the peer's key and the request date."""
    parts = credential.split("/")
    if len(parts) != 5:
        raise AuthError(400, malformed, "The credential is malformed; expecting "
                        "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
    if not hmac.compare_digest(parts[0].encode(), keys.access_key.encode()):
        raise AuthError(403, "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.",
                        AWSAccessKeyId=parts[0])
    if amz_date is not None and parts[1] != amz_date[:8]:
        raise AuthError(400, malformed, "Invalid credential date. Date is not the same as X-Amz-Date.")
    if parts[2] != keys.region:
        raise AuthError(400, malformed, "The authorization header is malformed; the region '%s' is wrong; "
                        "expecting '%s'" % (parts[2], keys.region), Region=keys.region)
    if parts[3] != "s3" or parts[4] != "aws4_request":
        raise AuthError(400, malformed, "The credential scope must end in s3/aws4_request.")


def _mismatch(canonical, sts, given):
    return AuthError(403, "SignatureDoesNotMatch",
                     "The request signature we calculated does not match the signature you provided. "
                     "Check your key and signing method.",
                     StringToSign=sts, SignatureProvided=given, CanonicalRequest=canonical)


def verify_header(keys, method, host, path, query, headers, now):
    """Checks the Authorization header of a request.

    path is the decoded path, query the decoded (name, value) pairs, headers
    an email.message.Message.  Returns the x-amz-content-sha256 value the
    body must then match (or UNSIGNED-PAYLOAD).
    """
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        raise AuthError(400, "AuthorizationHeaderMalformed",
                        "The authorization header is malformed; only AWS4-HMAC-SHA256 is supported.")
    fields = {}
    for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        name, eq, value = item.strip().partition("=")
        if not eq or name in fields:
            raise AuthError(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
        fields[name] = value
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise AuthError(400, "AuthorizationHeaderMalformed",
                        "The authorization header needs Credential, SignedHeaders and Signature.")
    amz_date = headers.get("x-amz-date", "")
    when = parse_amz_date(amz_date)
    _scope(keys, fields["Credential"], amz_date if when else None, "AuthorizationHeaderMalformed")
    if when is None:
        raise AuthError(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    if abs((now - when).total_seconds()) > MAX_SKEW:
        raise AuthError(403, "RequestTimeTooSkewed",
                        "The difference between the request time and the current time is too large.",
                        RequestTime=amz_date, ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        MaxAllowedSkewMilliseconds="900000")
    content = headers.get("x-amz-content-sha256")
    if content is None:
        raise AuthError(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    if content.startswith("STREAMING-"):
        raise AuthError(501, "NotImplemented", "Chunk-signed (aws-chunked) uploads are not supported here.")
    if content != "UNSIGNED-PAYLOAD" and not HASH_RE.match(content):
        raise AuthError(400, "InvalidArgument",
                        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, or a valid sha256 value.")
    names = fields["SignedHeaders"].split(";")
    if names != sorted(set(names)) or any(n != n.lower() or not n for n in names):
        raise AuthError(400, "AuthorizationHeaderMalformed", "SignedHeaders must be sorted, lower-case and distinct.")
    for required in ("host", "x-amz-content-sha256", "x-amz-date"):
        if required not in names:
            raise AuthError(403, "AccessDenied", "%s must be a signed header." % required)

    request = AWSRequest(method=method, url=canonical_url(host, path), params=list(query))
    for name in names:
        for value in headers.get_all(name) or []:
            request.headers[name] = value
    request.context["timestamp"] = amz_date
    signer = _HeaderSigner(keys.credentials, keys.region, names)
    canonical = signer.canonical_request(request)
    sts = signer.string_to_sign(request, canonical)
    expected = signer.signature(sts, request)
    if not hmac.compare_digest(expected.encode(), fields["Signature"].encode()):
        raise _mismatch(canonical, sts, fields["Signature"])
    return content


def verify_presigned(keys, method, host, path, query, headers, now):
    """Checks a presigned URL's X-Amz-* query parameters (signature first, then expiry)."""
    given = dict(query)
    missing = [p for p in PRESIGN_PARAMS if p not in given]
    if missing:
        raise AuthError(400, "AuthorizationQueryParametersError",
                        "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                        "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                        "and X-Amz-Expires parameters.")
    if given["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise AuthError(400, "AuthorizationQueryParametersError",
                        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
    amz_date = given["X-Amz-Date"]
    when = parse_amz_date(amz_date)
    _scope(keys, given["X-Amz-Credential"], amz_date if when else None, "AuthorizationQueryParametersError")
    if when is None:
        raise AuthError(400, "AuthorizationQueryParametersError",
                        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    try:
        expires = int(given["X-Amz-Expires"])
        if not given["X-Amz-Expires"].isdigit():
            raise ValueError
    except ValueError:
        expires = -1
    if expires < 1:
        raise AuthError(400, "AuthorizationQueryParametersError",
                        "X-Amz-Expires should be a number greater than 0")
    if expires > MAX_EXPIRES:
        raise AuthError(400, "AuthorizationQueryParametersError",
                        "X-Amz-Expires must be less than a week (in seconds) that is 604800")
    names = given["X-Amz-SignedHeaders"].split(";")
    if "host" not in names or names != sorted(set(names)):
        raise AuthError(400, "AuthorizationQueryParametersError", "X-Amz-SignedHeaders must include host.")

    operation = [(k, v) for k, v in query if k not in PRESIGN_PARAMS]
    request = AWSRequest(method=method, url=canonical_url(host, path), params=dict(operation))
    for name in names:
        for value in headers.get_all(name) or []:
            request.headers[name] = value
    request.context["timestamp"] = amz_date
    signer = S3SigV4QueryAuth(keys.credentials, "s3", keys.region, expires=given["X-Amz-Expires"])
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    sts = signer.string_to_sign(request, canonical)
    expected = signer.signature(sts, request)
    if not hmac.compare_digest(expected.encode(), given["X-Amz-Signature"].encode()):
        raise _mismatch(canonical, sts, given["X-Amz-Signature"])
    if (when - now).total_seconds() > MAX_SKEW:
        raise AuthError(403, "AccessDenied", "Request is not valid yet")
    if (now - when).total_seconds() > expires:
        raise AuthError(403, "AccessDenied", "Request has expired", **{
            "X-Amz-Expires": str(expires),
            "Expires": (when + datetime.timedelta(seconds=expires)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return "UNSIGNED-PAYLOAD"
