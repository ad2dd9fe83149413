/*
 * s3_request_test.c
 *		Endpoints as operators write them for R2, AWS S3 and MinIO (and the
 *		ones that must be refused), path-style and virtual-hosted addresses,
 *		and the class of every answer the export runner acts on.
 *
 * Build: cc -I src -o s3_request_test test/kernels/s3_request_test.c src/export/s3_request.c
 */
#include <stdio.h>
#include <string.h>

#include "export/s3_request.h"

#define PLANNED 44

static int	test_no = 0;
static int	failures = 0;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, what);
	if (!ok)
		failures++;
}

/* True when endpoint parses to (https, host). */
static int
endpoint_is(const char *endpoint, int https, const char *host)
{
	S3Endpoint ep;
	char		reason[S3_REQUEST_REASON_LEN] = "";

	if (!s3_endpoint_parse(endpoint, &ep, reason))
	{
		printf("# %s refused: %s\n", endpoint, reason);
		return 0;
	}
	if (ep.https != (https != 0) || strcmp(ep.host, host) != 0)
	{
		printf("# %s parsed as %s %s\n", endpoint, ep.https ? "https" : "http", ep.host);
		return 0;
	}
	return 1;
}

/* True when endpoint is refused with a reason. */
static int
endpoint_refused(const char *endpoint)
{
	S3Endpoint ep;
	char		reason[S3_REQUEST_REASON_LEN] = "";

	if (s3_endpoint_parse(endpoint, &ep, reason))
	{
		printf("# %s accepted as %s\n", endpoint, ep.host);
		return 0;
	}
	return reason[0] != '\0';
}

/* True when the address of key in bucket is (host, path). */
static int
address_is(const char *endpoint, int virtual_host, const char *bucket, const char *key,
		   const char *want_host, const char *want_path)
{
	S3Endpoint ep;
	char		host[S3_HOST_MAX + 1];
	char		path[256];
	char		reason[S3_REQUEST_REASON_LEN] = "";

	if (!s3_endpoint_parse(endpoint, &ep, reason) ||
		!s3_address(&ep, virtual_host != 0, bucket, key, host, sizeof(host), path, sizeof(path), reason))
	{
		printf("# refused: %s\n", reason);
		return 0;
	}
	if (strcmp(host, want_host) != 0 || strcmp(path, want_path) != 0)
	{
		printf("# got %s %s\n", host, path);
		return 0;
	}
	return 1;
}

int
main(void)
{
	S3Endpoint ep;
	char		host[16];
	char		path[256];
	char		reason[S3_REQUEST_REASON_LEN];

	printf("1..%d\n", PLANNED);

	/* Endpoints operators write. */
	check(endpoint_is("https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com", 1,
					  "0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"), "an R2 account endpoint");
	check(endpoint_is("https://s3.eu-west-1.amazonaws.com/", 1, "s3.eu-west-1.amazonaws.com"),
		  "an AWS regional endpoint with a trailing slash");
	check(endpoint_is("http://minio.internal:9000", 0, "minio.internal:9000"), "MinIO over http on its port");
	check(endpoint_is("https://127.0.0.1:9443", 1, "127.0.0.1:9443"), "an IPv4 address with a port");
	check(endpoint_is("https://[::1]:9443", 1, "[::1]:9443"), "a bracketed IPv6 address with a port");
	check(endpoint_is("HTTPS://S3.Example.COM", 1, "s3.example.com"), "scheme and host are case-insensitive, kept lower-case");
	check(endpoint_is("https://s3.example.com:443", 1, "s3.example.com"), "the default https port is left out of Host");
	check(endpoint_is("http://s3.example.com:80", 0, "s3.example.com"), "the default http port is left out of Host");
	check(endpoint_is("http://s3.example.com:443", 0, "s3.example.com:443"), "443 over http is not a default port");

	check(endpoint_refused("s3.example.com"), "an endpoint without a scheme is refused");
	check(endpoint_refused("ftp://s3.example.com"), "a scheme other than http(s) is refused");
	check(endpoint_refused("https://"), "an endpoint without a host is refused");
	check(endpoint_refused("https://s3.example.com/bucket"), "an endpoint with a path is refused");
	check(endpoint_refused("https://s3.example.com?x=1"), "an endpoint with a query is refused");
	check(endpoint_refused("https://user:pw@s3.example.com"), "an endpoint with credentials is refused");
	check(endpoint_refused("https://s3.example.com:0"), "port 0 is refused");
	check(endpoint_refused("https://s3.example.com:65536"), "a port past 65535 is refused");
	check(endpoint_refused("https://s3.example.com:"), "an empty port is refused");
	check(endpoint_refused("https://-s3.example.com"), "a host starting with a hyphen is refused");
	check(endpoint_refused("https://[::1"), "an unclosed IPv6 literal is refused");
	check(endpoint_refused("https://s3 .example.com"), "a host with a space is refused");
	check(endpoint_refused(NULL), "no endpoint is refused");

	/* Bucket names (S3's rules). */
	check(s3_bucket_valid("wib-exports") && s3_bucket_valid("a.b-c") && s3_bucket_valid("abc"),
		  "ordinary bucket names are valid");
	check(!s3_bucket_valid("ab") && !s3_bucket_valid("Exports") && !s3_bucket_valid("-ab") &&
		  !s3_bucket_valid("ab-") && !s3_bucket_valid("a..b") && !s3_bucket_valid("a_b"),
		  "short, upper-case, edge-hyphen, double-dot and underscore bucket names are invalid");
	check(!s3_bucket_valid("0123456789012345678901234567890123456789012345678901234567890123"),
		  "a bucket name of 64 characters is invalid");

	/* Addresses. */
	check(address_is("https://acct.r2.cloudflarestorage.com", 0, "wib-exports", "exports/org/job.csv",
					 "acct.r2.cloudflarestorage.com", "/wib-exports/exports/org/job.csv"),
		  "path style puts the bucket in the path");
	check(address_is("https://s3.us-east-1.amazonaws.com", 1, "wib-exports", "exports/org/job.csv",
					 "wib-exports.s3.us-east-1.amazonaws.com", "/exports/org/job.csv"),
		  "virtual style puts the bucket in the host");
	check(address_is("http://127.0.0.1:9000", 0, "wib-exports", "", "127.0.0.1:9000", "/wib-exports"),
		  "a path-style bucket request has the bucket as its path");
	check(address_is("http://127.0.0.1:9000", 1, "wib-exports", "", "wib-exports.127.0.0.1:9000", "/"),
		  "a virtual-style bucket request has / as its path");
	s3_endpoint_parse("https://s3.example.com", &ep, reason);
	check(!s3_address(&ep, false, "Bad_Bucket", "k", host, sizeof(host), path, sizeof(path), reason),
		  "an invalid bucket has no address");
	check(!s3_address(&ep, true, "wib-exports", "k", host, sizeof(host), path, sizeof(path), reason) &&
		  strstr(reason, "host") != NULL, "a host that does not fit is refused, not cut");

	/* Answers. */
	check(s3_classify(200, "") == S3_OUTCOME_OK && s3_classify(204, "") == S3_OUTCOME_OK, "2xx is done");
	check(s3_classify(0, "") == S3_OUTCOME_RETRY, "no answer (connection error, timeout) is retried");
	check(s3_classify(503, "SlowDown") == S3_OUTCOME_RETRY && s3_classify(500, "InternalError") == S3_OUTCOME_RETRY &&
		  s3_classify(502, "") == S3_OUTCOME_RETRY && s3_classify(504, "") == S3_OUTCOME_RETRY,
		  "5xx and SlowDown are retried");
	check(s3_classify(429, "") == S3_OUTCOME_RETRY && s3_classify(400, "RequestTimeout") == S3_OUTCOME_RETRY,
		  "429 and S3's 400 RequestTimeout are retried");
	check(s3_classify(200, "InternalError") == S3_OUTCOME_RETRY,
		  "a 200 whose body is an InternalError <Error> (CompleteMultipartUpload) is retried");
	check(s3_classify(200, "InvalidPart") == S3_OUTCOME_FAILED,
		  "a 200 whose body is another <Error> is a failure, not a success");
	check(s3_classify(403, "InvalidAccessKeyId") == S3_OUTCOME_CREDENTIALS &&
		  s3_classify(403, "SignatureDoesNotMatch") == S3_OUTCOME_CREDENTIALS &&
		  s3_classify(403, "AccessDenied") == S3_OUTCOME_CREDENTIALS &&
		  s3_classify(401, "") == S3_OUTCOME_CREDENTIALS,
		  "unknown key, refused signature, denied access are credential errors");
	check(s3_classify(403, "RequestTimeTooSkewed") == S3_OUTCOME_CREDENTIALS,
		  "clock skew fails at once (retrying cannot fix the clock)");
	check(s3_classify(400, "AuthorizationHeaderMalformed") == S3_OUTCOME_CREDENTIALS,
		  "a malformed authorization (wrong region) is a credential error");
	check(s3_classify(507, "") == S3_OUTCOME_FULL && s3_classify(403, "QuotaExceeded") == S3_OUTCOME_FULL &&
		  s3_classify(507, "XMinioStorageFull") == S3_OUTCOME_FULL,
		  "507 and QuotaExceeded mean the store is full");
	check(s3_classify(404, "NoSuchKey") == S3_OUTCOME_GONE && s3_classify(404, "NoSuchUpload") == S3_OUTCOME_GONE,
		  "a missing key or upload is gone");
	check(s3_classify(404, "NoSuchBucket") == S3_OUTCOME_FAILED && s3_classify(400, "EntityTooSmall") == S3_OUTCOME_FAILED &&
		  s3_classify(400, "InvalidArgument") == S3_OUTCOME_FAILED,
		  "a missing bucket and refused requests fail without retries");
	check(strcmp(s3_outcome_name(S3_OUTCOME_FULL), "full") == 0 &&
		  strcmp(s3_outcome_name(S3_OUTCOME_CREDENTIALS), "credentials") == 0, "outcomes have names");

	return failures == 0 && test_no == PLANNED ? 0 : 1;
}
