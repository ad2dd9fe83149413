/*
 * sigv4_test.c
 *		AWS's published S3 Signature Version 4 examples (GET Object, PUT
 *		Object, GET Bucket lifecycle, GET Bucket with a query, the presigned
 *		URL), R2-style requests cross-checked with botocore, the encoding of
 *		awkward keys, the bounds of X-Amz-Expires and every refusal.
 *
 * Build: cc -I src -o sigv4_test test/kernels/sigv4_test.c src/export/sigv4.c src/export/sigv4_check.c src/core/utf8.c src/crypto/hmac.c src/crypto/codec.c -lcrypto
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/sigv4.h"

#define PLANNED 82

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* Compares strings, printing both when they differ. */
static int
same(const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 1;
	printf("# got:  \"%s\"\n# want: \"%s\"\n", got, want);
	return 0;
}

#define AWS_AK		"AKIAIOSFODNN7EXAMPLE"
#define AWS_SK		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AWS_HOST	"examplebucket.s3.amazonaws.com"
#define AWS_DATE	"20130524T000000Z"
#define R2_AK		"0123456789abcdef0123456789abcdef"
#define R2_SK		"f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
#define R2_HOST		"acc0unt1d.r2.cloudflarestorage.com"
#define R2_DATE		"20240229T235959Z"

/* The request of AWS's examples: examplebucket in us-east-1, 2013-05-24. */
static SigV4Request
aws_request(const char *method, const char *path)
{
	SigV4Request r = {0};

	r.method = method;
	r.host = AWS_HOST;
	r.path = path;
	r.payload_sha256 = SIGV4_EMPTY_SHA256;
	r.amz_date = AWS_DATE;
	r.region = "us-east-1";
	r.access_key_id = AWS_AK;
	r.secret_access_key = AWS_SK;
	return r;
}

/* An R2-style request: region auto, a 32-hex access key. */
static SigV4Request
r2_request(const char *method, const char *path)
{
	SigV4Request r = aws_request(method, path);

	r.host = R2_HOST;
	r.amz_date = R2_DATE;
	r.region = "auto";
	r.access_key_id = R2_AK;
	r.secret_access_key = R2_SK;
	return r;
}

static SigV4Signed s;
static char reason[SIGV4_REASON_LEN];

/* True when signing r fails with a reason containing want. */
static int
refused(const SigV4Request *r, const char *want)
{
	reason[0] = '\0';
	if (sigv4_sign(r, &s, reason))
	{
		printf("# signed, but should have been refused (%s)\n", want);
		return 0;
	}
	if (strstr(reason, want) == NULL)
	{
		printf("# reason \"%s\" does not say \"%s\"\n", reason, want);
		return 0;
	}
	return s.authorization[0] == '\0' && s.signature[0] == '\0';
}

/* True when presigning r for expires seconds fails with a reason containing want. */
static int
presign_refused(const SigV4Request *r, int expires, size_t cap, const char *want)
{
	char	   *url = malloc(cap ? cap : 1);
	int			ok;

	reason[0] = '\0';
	if (sigv4_presign(r, expires, url, cap, reason))
		ok = 0;
	else
		ok = strstr(reason, want) != NULL && (cap == 0 || url[0] == '\0');
	if (!ok)
		printf("# reason \"%s\", want \"%s\"\n", reason, want);
	free(url);
	return ok;
}

static void
test_aws_examples(void)
{
	SigV4Request r;
	SigV4Pair	range[] = {{"Range", "bytes=0-9"}};
	SigV4Pair	put_headers[] = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
	{"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
	SigV4Pair	lifecycle[] = {{"lifecycle", ""}};
	SigV4Pair	list[] = {{"prefix", "J"}, {"max-keys", "2"}};
	char		url[1024];

	/* GET Object: GET /test.txt with Range, empty payload. */
	r = aws_request("GET", "/test.txt");
	r.headers = range;
	r.nheaders = 1;
	check(sigv4_sign(&r, &s, reason), "AWS example GET Object signs");
	check(same(s.canonical_request,
			   "GET\n/test.txt\n\n"
			   "host:examplebucket.s3.amazonaws.com\n"
			   "range:bytes=0-9\n"
			   "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
			   "x-amz-date:20130524T000000Z\n\n"
			   "host;range;x-amz-content-sha256;x-amz-date\n"
			   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
		  "AWS example GET Object: canonical request");
	check(same(s.string_to_sign,
			   "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
			   "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"),
		  "AWS example GET Object: string to sign");
	check(same(s.authorization,
			   "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
			   "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
			   "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
		  "AWS example GET Object: Authorization header");
	check(same(s.amz_date, AWS_DATE) && same(s.content_sha256, SIGV4_EMPTY_SHA256) &&
		  same(s.target, "/test.txt"),
		  "GET Object: x-amz-date, x-amz-content-sha256 and target to send");

	/* PUT Object: "test$file.text", Date and storage class headers, a body. */
	r = aws_request("PUT", "/test$file.text");
	r.headers = put_headers;
	r.nheaders = 2;
	r.payload_sha256 = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
	check(sigv4_sign(&r, &s, reason), "AWS example PUT Object signs");
	check(same(s.canonical_request,
			   "PUT\n/test%24file.text\n\n"
			   "date:Fri, 24 May 2013 00:00:00 GMT\n"
			   "host:examplebucket.s3.amazonaws.com\n"
			   "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
			   "x-amz-date:20130524T000000Z\n"
			   "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
			   "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
			   "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
		  "AWS example PUT Object: canonical request ($ encoded as %24)");
	check(same(s.string_to_sign,
			   "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
			   "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"),
		  "AWS example PUT Object: string to sign");
	check(same(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
		  "AWS example PUT Object: signature");

	/* GET Bucket lifecycle: a query parameter without a value. */
	r = aws_request("GET", "/");
	r.query = lifecycle;
	r.nquery = 1;
	check(sigv4_sign(&r, &s, reason), "AWS example GET Bucket lifecycle signs");
	check(same(s.canonical_request,
			   "GET\n/\nlifecycle=\n"
			   "host:examplebucket.s3.amazonaws.com\n"
			   "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
			   "x-amz-date:20130524T000000Z\n\n"
			   "host;x-amz-content-sha256;x-amz-date\n"
			   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
		  && same(s.string_to_sign,
				  "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
				  "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca"),
		  "AWS example GET Bucket lifecycle: canonical request and string to sign");
	check(same(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") &&
		  same(s.target, "/?lifecycle="),
		  "AWS example GET Bucket lifecycle: signature and target");

	/* GET Bucket (list objects): parameters given out of order are sorted. */
	r = aws_request("GET", "");
	r.query = list;
	r.nquery = 2;
	check(sigv4_sign(&r, &s, reason), "AWS example GET Bucket signs (empty path is /)");
	check(same(s.string_to_sign,
			   "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
			   "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7") &&
		  same(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") &&
		  same(s.target, "/?max-keys=2&prefix=J"),
		  "AWS example GET Bucket: query sorted, string to sign and signature");

	/* The presigned URL example: GET /test.txt for 86400 seconds. */
	r = aws_request("GET", "/test.txt");
	check(sigv4_presign(&r, 86400, url, sizeof(url), reason) &&
		  same(url, "https://examplebucket.s3.amazonaws.com/test.txt"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
			   "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
		  "AWS example presigned URL, exactly");
	r.use_http = true;
	check(sigv4_presign(&r, 86400, url, sizeof(url), reason) &&
		  strncmp(url, "http://examplebucket.s3.amazonaws.com/test.txt?", 47) == 0 &&
		  strstr(url, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404") != NULL,
		  "presigned URL with http: same signature (the scheme is not signed)");
}

/* Requests with the shape of wib's exports to R2, signed independently by botocore 1.29.27. */
static void
test_r2_requests(void)
{
	SigV4Request r;
	SigV4Pair	part[] = {{"uploadId", "Ab+c/d=="}, {"partNumber", "3"}};
	SigV4Pair	uploads[] = {{"uploads", ""}};
	SigV4Pair	ctype[] = {{"Content-Type", "  text/csv;   charset=utf-8  "}};
	SigV4Pair	disposition[] = {{"response-content-disposition", "attachment; filename=\"export 1.csv\""}};
	char		url[2048];

	r = r2_request("PUT", "/wib-exports/tenant 7/calls+2024 100%~(a)*\xc3\xbcn\xc3\xaf/\xe6\x97\xa5\xe6\x9c\xac.csv");
	r.query = part;
	r.nquery = 2;
	r.payload_sha256 = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
	check(sigv4_sign(&r, &s, reason), "UploadPart to R2 with an awkward key signs");
	check(same(s.canonical_request,
			   "PUT\n/wib-exports/tenant%207/calls%2B2024%20100%25~%28a%29%2A%C3%BCn%C3%AF/%E6%97%A5%E6%9C%AC.csv\n"
			   "partNumber=3&uploadId=Ab%2Bc%2Fd%3D%3D\n"
			   "host:acc0unt1d.r2.cloudflarestorage.com\n"
			   "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
			   "x-amz-date:20240229T235959Z\n\n"
			   "host;x-amz-content-sha256;x-amz-date\n"
			   "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
		  "UploadPart: key encoded once (space, +, %, (, ), *, UTF-8), upload id encoded");
	check(same(s.string_to_sign,
			   "AWS4-HMAC-SHA256\n20240229T235959Z\n20240229/auto/s3/aws4_request\n"
			   "ceb1b8fd6c2ac2f02338900a8141954e5f9ec98283d9ecd8cd6b16bd5d5790e7") &&
		  same(s.signature, "553063868c86d6a55f668c0e1f0f689fbd2c67a129bd70636c2f7a8ba75edcc9"),
		  "UploadPart: region auto, same signature as botocore");
	check(same(s.target, "/wib-exports/tenant%207/calls%2B2024%20100%25~%28a%29%2A%C3%BCn%C3%AF/"
			   "%E6%97%A5%E6%9C%AC.csv?partNumber=3&uploadId=Ab%2Bc%2Fd%3D%3D"),
		  "UploadPart: the target to send is the signed path and query");

	r = r2_request("POST", "/wib-exports/a//b.csv");
	r.query = uploads;
	r.nquery = 1;
	r.headers = ctype;
	r.nheaders = 1;
	r.payload_sha256 = SIGV4_UNSIGNED_PAYLOAD;
	check(sigv4_sign(&r, &s, reason) &&
		  same(s.canonical_request,
			   "POST\n/wib-exports/a//b.csv\nuploads=\n"
			   "content-type:text/csv; charset=utf-8\n"
			   "host:acc0unt1d.r2.cloudflarestorage.com\n"
			   "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
			   "x-amz-date:20240229T235959Z\n\n"
			   "content-type;host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"),
		  "CreateMultipartUpload: // kept, header trimmed and spaces collapsed, UNSIGNED-PAYLOAD");
	check(same(s.signature, "7ba49ae094f4dfece073d1823cf7706b661cf743bd92de185ae137844f473a7f"),
		  "CreateMultipartUpload: same signature as botocore");

	r = r2_request("GET", "/wib-exports/tenant 7/export 1.csv");
	r.host = "127.0.0.1:9000";
	r.query = disposition;
	r.nquery = 1;
	check(sigv4_presign(&r, 604800, url, sizeof(url), reason) &&
		  same(url, "https://127.0.0.1:9000/wib-exports/tenant%207/export%201.csv"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=0123456789abcdef0123456789abcdef%2F20240229%2Fauto%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20240229T235959Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host"
			   "&response-content-disposition=attachment%3B%20filename%3D%22export%201.csv%22"
			   "&X-Amz-Signature=161c9a6adf03dbe7f6e5e578789fe1cbd910f4dc326026d0934eb83ab9a7e684"),
		  "presigned URL with a port, a response parameter and 7 days: same signature as botocore");

	/* Header values: tabs count as blanks; the signature moves with the date. */
	{
		SigV4Pair	tabbed[] = {{"X-Amz-Meta-Note", "\t a \t\t b  c\t"}};
		char		sig1[SIGV4_HASH_HEX_LEN + 1];

		r = r2_request("PUT", "/b/k");
		r.headers = tabbed;
		r.nheaders = 1;
		check(sigv4_sign(&r, &s, reason) && strstr(s.canonical_request, "\nx-amz-meta-note:a b c\n") != NULL,
			  "header value: tabs and spaces trimmed and collapsed, name lower-cased");
		memcpy(sig1, s.signature, sizeof(sig1));
		r.amz_date = "20240229T235958Z";
		check(sigv4_sign(&r, &s, reason) && strcmp(sig1, s.signature) != 0,
			  "a second's difference in x-amz-date changes the signature");
	}
}

/* Percent-encoding of keys and values, and its snprintf-like bounds. */
static void
test_uri_encode(void)
{
	char		out[256];
	const char	all[] = "AZaz09-._~ !\"#$%&'()*+,/:;<=>?@[\\]^`{|}";
	size_t		n;

	n = sigv4_uri_encode(all, strlen(all), false, out, sizeof(out));
	check(same(out, "AZaz09-._~%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D")
		  && n == strlen(out),
		  "every byte but A-Za-z0-9-._~ becomes %XX with upper-case hex");
	sigv4_uri_encode("a/b//c/", 7, true, out, sizeof(out));
	check(same(out, "a/b//c/"), "keep_slash keeps every /");
	sigv4_uri_encode("a/b", 3, false, out, sizeof(out));
	check(same(out, "a%2Fb"), "without keep_slash, / is %2F");
	sigv4_uri_encode("\xe2\x82\xac\x00\xff", 5, true, out, sizeof(out));
	check(same(out, "%E2%82%AC%00%FF"), "UTF-8, NUL and 0xFF bytes are encoded byte by byte");
	sigv4_uri_encode("%20", 3, true, out, sizeof(out));
	check(same(out, "%2520"), "an existing %XX is encoded again, never taken as encoded");
	n = sigv4_uri_encode("a b", 3, false, out, 6);
	check(n == 5 && same(out, "a%20b"), "fits in exactly length + 1 bytes");
	memset(out, 'x', sizeof(out));
	n = sigv4_uri_encode("a b", 3, false, out, 5);
	check(n == 5 && out[0] == '\0' && out[1] == 'x', "one byte short: returns the length needed, writes only NUL");
	check(sigv4_uri_encode("a b", 3, false, NULL, 0) == 5, "cap 0: only measures");
}

/* X-Amz-Expires bounds and the room for the URL. */
static void
test_expiry(void)
{
	SigV4Request r = aws_request("GET", "/test.txt");
	char		url[1024];

	check(presign_refused(&r, 0, 1024, "between 1 and 604800"), "expires 0 refused");
	check(presign_refused(&r, -5, 1024, "between 1 and 604800"), "negative expires refused");
	check(presign_refused(&r, 604801, 1024, "between 1 and 604800"), "expires 604801 (past seven days) refused");
	check(sigv4_presign(&r, 1, url, sizeof(url), reason) && strstr(url, "&X-Amz-Expires=1&") != NULL,
		  "expires 1 accepted");
	check(sigv4_presign(&r, 604800, url, sizeof(url), reason) && strstr(url, "&X-Amz-Expires=604800&") != NULL,
		  "expires 604800 accepted");
	check(presign_refused(&r, 604800, strlen(url), "does not fit"), "URL one byte too long for the buffer refused");
	check(sigv4_presign(&r, 604800, url, strlen(url) + 1, reason), "URL fitting exactly accepted");
	check(presign_refused(&r, 60, 0, "no room"), "no buffer refused");
}

/* Every refusal, each with its reason. */
static void
test_refusals(void)
{
	SigV4Request r;
	SigV4Pair	p[SIGV4_MAX_QUERY + 1];
	SigV4Pair	h[2];
	char	   *long_path;

	r = aws_request("get", "/k");
	check(refused(&r, "method"), "lower-case method refused");
	r = aws_request(NULL, "/k");
	check(refused(&r, "method"), "missing method refused");
	r = aws_request("GET", "/k");
	r.host = "";
	check(refused(&r, "host"), "empty host refused");
	r.host = "example.com\r\nX-Evil: 1";
	check(refused(&r, "host"), "host with CR LF refused");
	r.host = "user@example.com/path";
	check(refused(&r, "host"), "host with @ and / refused");
	r = aws_request("GET", "k");
	check(refused(&r, "start with '/'"), "path without leading / refused");
	r = aws_request("GET", "/b/\xc3\x28");
	check(refused(&r, "UTF-8"), "path with invalid UTF-8 refused");
	r = aws_request("GET", "/b/\xed\xa0\x80");
	check(refused(&r, "UTF-8"), "path with an encoded surrogate refused");
	r = aws_request("GET", "/b/exports/../secret");
	check(refused(&r, "segment"), "path with a .. segment refused");
	r = aws_request("GET", "/b/./k");
	check(refused(&r, "segment"), "path with a . segment refused");
	r = aws_request("GET", "/b/..k/.k/k..");
	check(sigv4_sign(&r, &s, reason), "dots inside segments accepted");
	r = aws_request("GET", "/k");
	r.amz_date = "20130524T000000";
	check(refused(&r, "amz_date"), "date without Z refused");
	r.amz_date = "20131324T000000Z";
	check(refused(&r, "amz_date"), "month 13 refused");
	r.amz_date = "2013-05-24T00:00:00Z";
	check(refused(&r, "amz_date"), "ISO 8601 extended date refused");
	r = aws_request("GET", "/k");
	r.region = "US-EAST-1";
	check(refused(&r, "region"), "upper-case region refused");
	r.region = "";
	check(refused(&r, "region"), "empty region refused");
	r.region = "us/east";
	check(refused(&r, "region"), "region with / refused");
	r = aws_request("GET", "/k");
	r.access_key_id = "AKIA/EVIL";
	check(refused(&r, "access key"), "access key id with / refused");
	r.access_key_id = "";
	check(refused(&r, "access key"), "empty access key id refused");
	r = aws_request("GET", "/k");
	r.secret_access_key = "";
	check(refused(&r, "secret"), "empty secret refused");
	{
		char		big[SIGV4_SECRET_MAX + 2];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		r.secret_access_key = big;
		check(refused(&r, "secret"), "secret longer than 256 bytes refused");
	}
	r = aws_request("GET", "/k");
	r.payload_sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
	check(refused(&r, "payload_sha256"), "upper-case payload hash refused");
	r.payload_sha256 = "e3b0c442";
	check(refused(&r, "payload_sha256"), "short payload hash refused");
	r.payload_sha256 = NULL;
	check(refused(&r, "payload_sha256"), "missing payload hash refused");

	for (int i = 0; i < SIGV4_MAX_QUERY + 1; i++)
		p[i].name = "a", p[i].value = "b";
	r = aws_request("GET", "/k");
	r.query = p;
	r.nquery = SIGV4_MAX_QUERY + 1;
	check(refused(&r, "too many query"), "too many query parameters refused");
	r.nquery = SIGV4_MAX_QUERY;
	check(sigv4_sign(&r, &s, reason), "the most query parameters accepted (repeated names allowed)");
	p[0].name = NULL;
	r.nquery = 1;
	check(refused(&r, "without a name"), "query parameter without a name refused");
	p[0].name = "k";
	p[0].value = "\xff";
	check(refused(&r, "UTF-8"), "query value with invalid UTF-8 refused");

	r = aws_request("GET", "/k");
	r.headers = h;
	r.nheaders = 1;
	h[0].name = "Bad Name";
	h[0].value = "v";
	check(refused(&r, "header name"), "header name with a space refused");
	h[0].name = "x-amz-meta-a";
	h[0].value = "v\r\nx-evil: 1";
	check(refused(&r, "control character"), "header value with CR LF refused");
	h[0].name = "Host";
	h[0].value = "other.example.com";
	check(refused(&r, "set by the signer"), "a second host header refused");
	h[0].name = "X-Amz-Date";
	check(refused(&r, "set by the signer"), "an x-amz-date header refused");
	h[0].name = "x-amz-meta-a";
	h[1].name = "X-AMZ-META-A";
	h[0].value = h[1].value = "v";
	r.nheaders = 2;
	check(refused(&r, "twice"), "the same header twice (in two cases) refused");
	r.nheaders = SIGV4_MAX_HEADERS + 1;
	check(refused(&r, "too many headers"), "too many headers refused");

	long_path = malloc(4000);
	memset(long_path, ' ', 3999);
	long_path[0] = '/';
	long_path[3999] = '\0';
	r = aws_request("GET", long_path);
	check(refused(&r, "too long"), "path whose encoding passes the target buffer refused");
	free(long_path);

	check(!sigv4_sign(NULL, &s, reason) && strstr(reason, "no request") != NULL, "no request refused");
	r = aws_request("GET", "/k");
	check(!sigv4_sign(&r, NULL, reason), "no output refused");
	check(!sigv4_sign(NULL, &s, NULL), "reason may be NULL");

	r = aws_request("GET", "/k");
	r.headers = h;
	r.nheaders = 1;
	check(presign_refused(&r, 60, 1024, "only the host"), "presigned URL with extra headers refused");
	r.nheaders = 0;
	p[0].name = "x-amz-signature";
	p[0].value = "0";
	r.query = p;
	r.nquery = 1;
	check(presign_refused(&r, 60, 1024, "X-Amz-*"), "presigned URL with an X-Amz-* parameter of its own refused");
	r.nquery = 0;
	r.payload_sha256 = "not a hash";
	{
		char		url[1024];

		check(sigv4_presign(&r, 60, url, sizeof(url), reason),
			  "presigning ignores the payload hash (always UNSIGNED-PAYLOAD)");
	}
}

int
main(void)
{
	printf("1..%d\n", PLANNED);
	test_aws_examples();
	test_r2_requests();
	test_uri_encode();
	test_expiry();
	test_refusals();
	if (test_no != PLANNED)
		printf("# ran %d tests, planned %d\n", test_no, PLANNED);
	return failures == 0 && test_no == PLANNED ? 0 : 1;
}
