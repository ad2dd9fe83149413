#!/usr/bin/env bash
# The S3 peer (s3.py) against requests signed by wib's SigV4 kernel and sent
# with curl, and against botocore's own S3 client: what S3 accepts is
# accepted, and one changed byte of the signature, the date or the body is
# refused with S3's error.  Prints TAP; exits non-zero on any failure.
#
# Usage: test/peers/s3_selftest.sh        (S3_SELFTEST_BIG=1 adds a 200 MB multipart upload)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/s3-selftest.XXXXXX)
PEER_PID=
trap '[ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT

n=0
failed=0
ok() {	# ok CONDITION-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
is() {	# is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	local s=$?
	[ $s -ne 0 ] && printf '# got:  %s\n# want: %s\n' "$1" "$2"
	ok $s "$3"
}

cc_flags=(-std=gnu11 -O1 -Wall -Wextra -Werror -Wno-unused-parameter -I "$ROOT/src")
cc "${cc_flags[@]}" -o "$W/s3_sign" "$ROOT/test/peers/s3_sign.c" "$ROOT/src/export/sigv4.c" "$ROOT/src/export/sigv4_check.c" \
	"$ROOT/src/core/utf8.c" "$ROOT/src/crypto/hmac.c" "$ROOT/src/crypto/codec.c" -lcrypto || exit 1
cc "${cc_flags[@]}" -o "$W/s3_xml_tool" "$ROOT/test/peers/s3_xml_tool.c" "$ROOT/src/export/s3_xml.c" "$ROOT/src/export/s3_xml_scan.c" \
	"$ROOT/src/core/utf8.c" || exit 1
SIGN=$W/s3_sign
XML=$W/s3_xml_tool

# A CA and a certificate for 127.0.0.1, then the peer.
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' >"$W/ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=ca \
	-keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
	-keyout "$W/server.key" -out "$W/server.csr" 2>/dev/null &&
openssl x509 -req -in "$W/server.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 2 \
	-extfile "$W/ext" -out "$W/server.pem" 2>/dev/null || exit 1
export S3_ACCESS_KEY=0123456789abcdef0123456789abcdef
export S3_SECRET_KEY=f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed
MIN_PART=$((5 * 1024 * 1024))
/usr/bin/python3 "$ROOT/test/peers/s3.py" --port-file "$W/port" --data-dir "$W/data" --log "$W/log.jsonl" \
	--access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" --tls "$W/server.pem" "$W/server.key" 2>"$W/peer.err" &
PEER_PID=$!
for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
HOST=127.0.0.1:$(cat "$W/port")
CURL=(curl -sS --cacert "$W/ca.pem")

# send METHOD PATH [s3_sign options] [-- curl options]: signs with the kernel, sends with
# curl; MUTATE (sig|date) changes one byte of a header first.  Sets STATUS; the body is in $W/out.
send() {
	local method=$1 path=$2 out target
	shift 2
	local sign=() curl_opts=() hdrs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do sign+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	curl_opts=("$@")
	out=$("$SIGN" "${sign[@]}" "$method" "$HOST" "$path") || { STATUS=signfail; return; }
	target=$(sed -n 's/^target //p' <<<"$out")
	while IFS= read -r h; do
		case "${MUTATE:-}:$h" in
			sig:Authorization:*) h=$(flip_last "$h") ;;
			date:x-amz-date:*) h="$(flip_last "${h%Z}")Z" ;;
		esac
		hdrs+=(-H "$h")
	done < <(sed -n 's/^header //p' <<<"$out")
	STATUS=$("${CURL[@]}" -o "$W/out" -D "$W/headers" -w '%{http_code}' -X "$method" "${hdrs[@]}" \
		"${curl_opts[@]}" "https://$HOST$target")
}
flip_last() { [ "${1: -1}" = 0 ] && echo "${1%?}1" || echo "${1%?}0"; }	# a different last character
code() { "$XML" text Code <"$W/out"; }
etag_header() { sed -n 's/^[Ee][Tt]ag: *//p' "$W/headers" | tr -d '\r'; }
md5() { md5sum "$1" | cut -d' ' -f1; }

KEY='/wib-exports/tenant 7/calls+2024 100%~(a)*ünï/日本 (1).csv'
printf 'id,name\n1,Ada\n2,Grace\n' >"$W/small.csv"

# Signed by the kernel, accepted; the awkward key arrives intact.
send PUT "$KEY" --body "$W/small.csv" -- -T "$W/small.csv"
is "$STATUS" 200 "PutObject signed by the kernel accepted (key with space, +, %, ~, (), *, UTF-8)"
is "$(etag_header)" "\"$(md5 "$W/small.csv")\"" "PutObject ETag is the quoted MD5"
"${CURL[@]}" -o "$W/admin" -G "https://$HOST/__admin/object" --data-urlencode bucket=wib-exports \
	--data-urlencode "key=${KEY#/wib-exports/}"
cmp -s "$W/admin" "$W/small.csv"
ok $? "stored under the decoded key, bytes intact"
send GET "$KEY"
cmp -s "$W/out" "$W/small.csv" && [ "$STATUS" = 200 ]
ok $? "GetObject signed by the kernel returns the bytes"

# One byte changed: signature, date, body; and the other refusals.
MUTATE=sig send GET "$KEY"
is "$STATUS $(code)" "403 SignatureDoesNotMatch" "one byte of the signature changed: 403 SignatureDoesNotMatch"
MUTATE=date send GET "$KEY"
is "$STATUS $(code)" "403 SignatureDoesNotMatch" "one digit of x-amz-date changed: 403 SignatureDoesNotMatch"
cp "$W/small.csv" "$W/changed.csv" && printf 'X' | dd of="$W/changed.csv" bs=1 seek=3 conv=notrunc 2>/dev/null
send PUT "$KEY" --body "$W/small.csv" -- -T "$W/changed.csv"
is "$STATUS $(code)" "400 XAmzContentSHA256Mismatch" "one byte of the body changed: 400 XAmzContentSHA256Mismatch"
send PUT "/wib-exports/unsigned.csv" --unsigned -- -T "$W/changed.csv"
is "$STATUS" 200 "UNSIGNED-PAYLOAD body accepted"
send GET "$KEY" --date-offset -1200
is "$STATUS $(code)" "403 RequestTimeTooSkewed" "x-amz-date 20 minutes old: 403 RequestTimeTooSkewed"
send GET "$KEY" --date-offset 600
is "$STATUS" 200 "x-amz-date 10 minutes ahead: accepted"
S3_ACCESS_KEY=AKIAIOSFODNN7EXAMPLE send GET "$KEY"
is "$STATUS $(code)" "403 InvalidAccessKeyId" "unknown access key: 403 InvalidAccessKeyId"
S3_SECRET_KEY=wrong send GET "$KEY"
is "$STATUS $(code)" "403 SignatureDoesNotMatch" "wrong secret: 403 SignatureDoesNotMatch"
send GET "$KEY" --region us-east-1
is "$STATUS $(code)" "400 AuthorizationHeaderMalformed" "wrong region in the scope: 400 AuthorizationHeaderMalformed"
STATUS=$("${CURL[@]}" -o "$W/out" -w '%{http_code}' "https://$HOST/wib-exports/unsigned.csv")
is "$STATUS $(code)" "403 AccessDenied" "unsigned request: 403 AccessDenied"
send GET "$KEY" --header "x-amz-meta-note:  two   spaces " -- -H "x-amz-meta-note: two spaces"
is "$STATUS" 200 "signed extra header, value trimmed and collapsed by both sides"
send GET "$KEY" --header "x-amz-meta-note:signed" -- -H "x-amz-meta-note: sent"
is "$STATUS $(code)" "403 SignatureDoesNotMatch" "signed header sent with another value: 403"
send GET "/wib-exports/no such key"
is "$STATUS $(code)" "404 NoSuchKey" "missing key: 404 NoSuchKey"

# Presigned URLs.
url=$("$SIGN" --presign 300 --query 'response-content-disposition=attachment; filename="calls 1.csv"' GET "$HOST" "$KEY" |
	sed -n 's/^url //p')
STATUS=$("${CURL[@]}" -o "$W/out" -D "$W/headers" -w '%{http_code}' "$url")
cmp -s "$W/out" "$W/small.csv" && [ "$STATUS" = 200 ]
ok $? "presigned GET from the kernel accepted, bytes intact"
grep -qi '^content-disposition: attachment; filename="calls 1.csv"' "$W/headers"
ok $? "presigned response-content-disposition honoured"
STATUS=$("${CURL[@]}" -o "$W/out" -w '%{http_code}' "${url/X-Amz-Expires=300/X-Amz-Expires=301}")
is "$STATUS $(code)" "403 SignatureDoesNotMatch" "presigned X-Amz-Expires altered: 403 SignatureDoesNotMatch"
STATUS=$("${CURL[@]}" -o "$W/out" -w '%{http_code}' "${url/calls%201.csv/calls%202.csv}")
is "$STATUS $(code)" "403 SignatureDoesNotMatch" "presigned response parameter altered: 403"
STATUS=$("${CURL[@]}" -o "$W/out" -w '%{http_code}' "${url/tenant%207/tenant%208}")
is "$STATUS $(code)" "403 SignatureDoesNotMatch" "presigned key altered: 403"
STATUS=$("${CURL[@]}" -o "$W/out" -w '%{http_code}' "$(flip_last "$url")")
is "$STATUS $(code)" "403 SignatureDoesNotMatch" "presigned signature's last digit changed: 403"
url=$("$SIGN" --presign 60 --date-offset -120 GET "$HOST" "$KEY" | sed -n 's/^url //p')
STATUS=$("${CURL[@]}" -o "$W/out" -w '%{http_code}' "$url")
is "$STATUS $(code) $("$XML" text Message <"$W/out")" "403 AccessDenied Request has expired" \
	"presigned URL past its expiry: 403 AccessDenied, Request has expired"
"$SIGN" --presign 604801 GET "$HOST" "$KEY" >/dev/null 2>&1
is $? 1 "the kernel refuses to presign for more than 604800 seconds"
url=$("$SIGN" --presign 604800 GET "$HOST" "$KEY" | sed -n 's/^url //p')
STATUS=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$url")
is "$STATUS" 200 "presigned for exactly seven days accepted"
out=$("${CURL[@]}" -o /dev/null -o /dev/null -w '%{num_connects} ' "$url" "$url")
is "$out" "1 0 " "keep-alive: the second request reuses the connection"

# Multipart: create, parts, list, complete, all through the kernels.
MKEY="/wib-exports/exports/calls 2024.csv"
head -c $((MIN_PART + 4096)) /dev/urandom >"$W/p1"
head -c 12345 /dev/urandom >"$W/p2"
send POST "$MKEY" --query uploads --unsigned
UPLOAD=$("$XML" text UploadId <"$W/out")
[ "$STATUS" = 200 ] && [ -n "$UPLOAD" ]
ok $? "CreateMultipartUpload: UploadId read by the XML kernel"
send PUT "$MKEY" --query partNumber=1 --query "uploadId=$UPLOAD" --body "$W/p1" -- -T "$W/p1"
E1=$(etag_header)
is "$STATUS $E1" "200 \"$(md5 "$W/p1")\"" "UploadPart 1 (5 MiB + 4 KiB, upload id with + / = encoded): ETag is the MD5"
send PUT "$MKEY" --query partNumber=2 --query "uploadId=$UPLOAD" --body "$W/p2" -- -H "Transfer-Encoding: chunked" -T "$W/p2"
E2=$(etag_header)
is "$STATUS $E2" "200 \"$(md5 "$W/p2")\"" "UploadPart 2 sent chunked: ETag is the MD5"
send GET /wib-exports --query uploads
listed=$("$XML" uploads <"$W/out" | cut -f1,2)
is "$listed" "$(printf 'exports/calls 2024.csv\t%s' "$UPLOAD")" "ListMultipartUploads read by the XML kernel"
"$XML" complete "$E2" "$E1" >"$W/bad.xml"
send POST "$MKEY" --query "uploadId=$UPLOAD" --body "$W/bad.xml" -- --data-binary "@$W/bad.xml"
is "$STATUS $(code)" "400 InvalidPart" "ETags in the wrong parts: 400 InvalidPart"
printf '<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' \
	"$E2" "$E1" >"$W/order.xml"
send POST "$MKEY" --query "uploadId=$UPLOAD" --body "$W/order.xml" -- --data-binary "@$W/order.xml"
is "$STATUS $(code)" "400 InvalidPartOrder" "parts out of order: 400 InvalidPartOrder"
"$XML" complete "$E1" "$E2" >"$W/complete.xml"
send POST "$MKEY" --query "uploadId=$UPLOAD" --body "$W/complete.xml" -- --data-binary "@$W/complete.xml"
want=$(/usr/bin/python3 -c 'import hashlib,sys; print("\"%s-2\"" % hashlib.md5(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())' \
	"$(md5 "$W/p1")" "$(md5 "$W/p2")")
is "$STATUS $("$XML" root <"$W/out") $("$XML" text ETag <"$W/out")" "200 CompleteMultipartUploadResult $want" \
	"CompleteMultipartUpload written by the XML kernel: ETag is MD5 of part MD5s, -2"
cat "$W/p1" "$W/p2" >"$W/whole"
"${CURL[@]}" -o "$W/admin" -G "https://$HOST/__admin/object" --data-urlencode bucket=wib-exports \
	--data-urlencode "key=${MKEY#/wib-exports/}"
cmp -s "$W/admin" "$W/whole"
ok $? "the completed object is the parts concatenated"
send GET "$MKEY" -- -H "Range: bytes=$MIN_PART-"
is "$STATUS $(stat -c %s "$W/out")" "206 16441" "ranged GET of the tail"
send PUT "$MKEY" --query partNumber=3 --query "uploadId=$UPLOAD" --body "$W/p2" -- -T "$W/p2"
is "$STATUS $(code)" "404 NoSuchUpload" "UploadPart after completion: 404 NoSuchUpload"

send POST "$MKEY" --query uploads --unsigned
UPLOAD=$("$XML" text UploadId <"$W/out")
send PUT "$MKEY" --query partNumber=1 --query "uploadId=$UPLOAD" --body "$W/p2" -- -T "$W/p2"
E1=$(etag_header)
send PUT "$MKEY" --query partNumber=2 --query "uploadId=$UPLOAD" --body "$W/p2" -- -T "$W/p2"
"$XML" complete "$E1" "$(etag_header)" >"$W/complete.xml"
send POST "$MKEY" --query "uploadId=$UPLOAD" --body "$W/complete.xml" -- --data-binary "@$W/complete.xml"
is "$STATUS $(code)" "400 EntityTooSmall" "a part but the last under 5 MiB: 400 EntityTooSmall"
send DELETE "$MKEY" --query "uploadId=$UPLOAD"
is "$STATUS" 204 "AbortMultipartUpload: 204"
send GET /wib-exports --query uploads
is "$("$XML" uploads <"$W/out" | wc -l)" 0 "no uploads in progress after the abort"

# Faults.
admin() { "${CURL[@]}" -o /dev/null -w '%{http_code}' -X "$1" "https://$HOST/__admin/$2" ${3:+--data-binary "$3"}; }
send POST "$MKEY" --query uploads --unsigned
UPLOAD=$("$XML" text UploadId <"$W/out")
is "$(admin POST faults '{"op": "UploadPart", "status": 503, "code": "SlowDown", "times": 1, "retry_after": 2}')" 200 \
	"fault registered"
send PUT "$MKEY" --query partNumber=1 --query "uploadId=$UPLOAD" --body "$W/p2" -- -T "$W/p2"
is "$STATUS $(code) $(grep -i '^retry-after' "$W/headers" | tr -d '\r')" "503 SlowDown Retry-After: 2" \
	"injected 503 SlowDown with Retry-After"
send PUT "$MKEY" --query partNumber=1 --query "uploadId=$UPLOAD" --body "$W/p2" -- -T "$W/p2"
is "$STATUS" 200 "the fault fires once, then the part is accepted"
E1=$(etag_header)
admin POST faults '{"op": "CompleteMultipartUpload", "status": 200, "code": "InternalError", "times": 1}' >/dev/null
"$XML" complete "$E1" >"$W/complete.xml"
send POST "$MKEY" --query "uploadId=$UPLOAD" --body "$W/complete.xml" -- --data-binary "@$W/complete.xml"
is "$STATUS $("$XML" root <"$W/out") $(code)" "200 Error InternalError" "injected 200 OK with an Error body"
admin POST faults '{"op": "*", "delay_ms": 700, "times": 1}' >/dev/null
start=$(date +%s%N)
send POST "$MKEY" --query "uploadId=$UPLOAD" --body "$W/complete.xml" -- --data-binary "@$W/complete.xml"
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$STATUS" = 200 ] && [ "$elapsed" -ge 700 ]
ok $? "injected delay (700 ms, took $elapsed ms), then the request is served"
"${CURL[@]}" -o "$W/stats" "https://$HOST/__admin/stats"
is "$(/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); o=s["operations"]; print(o["UploadPart"]["503"], o["CompleteMultipartUpload"]["400"], len(s["uploads"]))' "$W/stats")" \
	"1 3 0" "stats count per operation and status, and uploads in progress"

# Limits changed while the peer runs: a full bucket answers 507 QuotaExceeded to
# a PutObject and to an UploadPart, and takes bytes again once there is room; a
# smaller minimum part size lets a small part but the last through.
is "$(admin POST limits '{"quota_bytes": 1}')" 200 "bucket quota set"
send PUT "/wib-exports/quota.csv" --body "$W/small.csv" -- -T "$W/small.csv"
is "$STATUS $(code)" "507 QuotaExceeded" "PutObject past the bucket quota: 507 QuotaExceeded"
send POST "$MKEY" --query uploads --unsigned
UPLOAD=$("$XML" text UploadId <"$W/out")
send PUT "$MKEY" --query partNumber=1 --query "uploadId=$UPLOAD" --body "$W/p2" -- -T "$W/p2"
is "$STATUS $(code)" "507 QuotaExceeded" "UploadPart past the bucket quota: 507 QuotaExceeded"
admin POST limits '{"quota_bytes": null, "min_part_size": 1024}' >/dev/null
send PUT "$MKEY" --query partNumber=1 --query "uploadId=$UPLOAD" --body "$W/p2" -- -T "$W/p2"
E1=$(etag_header)
send PUT "$MKEY" --query partNumber=2 --query "uploadId=$UPLOAD" --body "$W/small.csv" -- -T "$W/small.csv"
"$XML" complete "$E1" "$(etag_header)" >"$W/complete.xml"
send POST "$MKEY" --query "uploadId=$UPLOAD" --body "$W/complete.xml" -- --data-binary "@$W/complete.xml"
is "$STATUS $("$XML" root <"$W/out")" "200 CompleteMultipartUploadResult" \
	"quota lifted and minimum part size lowered: the parts are taken and completed"
is "$(admin POST limits "{\"min_part_size\": $MIN_PART}")" 200 "minimum part size back to 5 MiB"

# HEAD and DELETE.
send HEAD "$KEY" -- -I
is "$STATUS $(grep -i '^content-length' "$W/headers" | tr -d '\r')" "200 Content-Length: $(stat -c %s "$W/small.csv")" "HeadObject: 200 with the size"
send DELETE "$KEY"
is "$STATUS" 204 "DeleteObject: 204"
send HEAD "$KEY" -- -I
is "$STATUS" 404 "HeadObject after delete: 404"

# botocore's S3 client, a second and independent signer, against the same peer.
/usr/bin/python3 - "$HOST" "$W/ca.pem" "$MIN_PART" >"$W/boto.out" 2>&1 <<'EOF'
import sys, botocore.session
from botocore.config import Config
import urllib.request, ssl, os
host, ca, min_part = sys.argv[1], sys.argv[2], int(sys.argv[3])
s3 = botocore.session.get_session().create_client(
    "s3", endpoint_url="https://" + host, region_name="auto", verify=ca,
    aws_access_key_id=os.environ["S3_ACCESS_KEY"], aws_secret_access_key=os.environ["S3_SECRET_KEY"],
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
key = "botocore/ünï €/a+b%c.csv"
s3.put_object(Bucket="wib-exports", Key=key, Body=b"x" * 1000)
up = s3.create_multipart_upload(Bucket="wib-exports", Key=key + ".mp")["UploadId"]
e1 = s3.upload_part(Bucket="wib-exports", Key=key + ".mp", UploadId=up, PartNumber=1, Body=b"a" * min_part)["ETag"]
e2 = s3.upload_part(Bucket="wib-exports", Key=key + ".mp", UploadId=up, PartNumber=2, Body=b"b" * 10)["ETag"]
listed = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="wib-exports")["Uploads"]]
r = s3.complete_multipart_upload(Bucket="wib-exports", Key=key + ".mp", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
url = s3.generate_presigned_url("get_object", Params={"Bucket": "wib-exports", "Key": key}, ExpiresIn=60)
body = urllib.request.urlopen(url, context=ssl.create_default_context(cafile=ca)).read()
print(up in listed, r["ETag"].endswith('-2"'), body == b"x" * 1000,
      s3.get_object(Bucket="wib-exports", Key=key + ".mp")["ContentLength"] == min_part + 10)
EOF
is "$(tail -1 "$W/boto.out")" "True True True True" "botocore's client: put, multipart, list, complete, presigned GET"

if [ "${S3_SELFTEST_BIG:-}" = 1 ]; then
	BKEY=/wib-exports/big.csv
	head -c $((40 * MIN_PART)) /dev/urandom >"$W/big"
	split -b "$MIN_PART" -d -a 2 "$W/big" "$W/big.part."
	send POST "$BKEY" --query uploads --unsigned
	UPLOAD=$("$XML" text UploadId <"$W/out")
	etags=()
	for f in "$W"/big.part.*; do
		num=$((10#${f##*.} + 1))
		send PUT "$BKEY" --query "partNumber=$num" --query "uploadId=$UPLOAD" --body "$f" -- -T "$f"
		etags+=("$(etag_header)")
	done
	"$XML" complete "${etags[@]}" >"$W/complete.xml"
	send POST "$BKEY" --query "uploadId=$UPLOAD" --body "$W/complete.xml" -- --data-binary "@$W/complete.xml"
	"${CURL[@]}" -o "$W/admin" -G "https://$HOST/__admin/object" --data-urlencode bucket=wib-exports \
		--data-urlencode key=big.csv
	cmp -s "$W/admin" "$W/big" && [ "$STATUS" = 200 ]
	ok $? "200 MiB in 40 parts: completed and identical"
	rss=$(awk '/VmHWM/ {print $2}' "/proc/$PEER_PID/status")
	[ "$rss" -lt 200000 ]
	ok $? "peer's peak memory stays small ($((rss / 1024)) MiB)"
fi

kill -TERM "$PEER_PID"
for _ in $(seq 30); do kill -0 "$PEER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PEER_PID" 2>/dev/null
is $? 1 "the peer exits on SIGTERM"
wait "$PEER_PID" 2>/dev/null
PEER_PID=
[ -s "$W/peer.err" ] && sed 's/^/# peer: /' "$W/peer.err"
echo "1..$n"
[ "$failed" -eq 0 ]
