/*
 * sigv4.h
 *		AWS Signature Version 4 for S3-compatible object storage (AWS S3,
 *		Cloudflare R2, MinIO): the Authorization header of a request and
 *		presigned GET URLs.
 *
 * Backend-free: libc and OpenSSL only, caller-provided buffers, never
 * raises; failure is a false return plus a short reason.  The service is
 * always "s3", so paths are encoded once and never normalized (S3 keeps
 * "a//b" and does not decode "%2F" twice).
 */
#ifndef WIB_SIGV4_H
#define WIB_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#define SIGV4_REASON_LEN		128
#define SIGV4_MAX_QUERY			24		/* query parameters of one request */
#define SIGV4_MAX_HEADERS		16		/* extra signed headers of one request */
#define SIGV4_TARGET_MAX		8192	/* encoded path and query */
#define SIGV4_CANONICAL_MAX		16384	/* canonical request */
#define SIGV4_AUTH_MAX			2048	/* Authorization header value */
#define SIGV4_STS_MAX			256		/* string to sign */
#define SIGV4_SECRET_MAX		256		/* longest secret access key */
#define SIGV4_EXPIRES_MAX		604800	/* seven days: S3's limit for presigned URLs */
#define SIGV4_DATE_LEN			16		/* YYYYMMDDTHHMMSSZ */
#define SIGV4_HASH_HEX_LEN		64

#define SIGV4_UNSIGNED_PAYLOAD	"UNSIGNED-PAYLOAD"
/* SHA-256 of the empty body, the payload hash of GET, HEAD and DELETE. */
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One query parameter or header, unencoded ("uploads" with value "" is "?uploads="). */
typedef struct SigV4Pair
{
	const char *name;
	const char *value;
} SigV4Pair;

/* A request to sign.  Strings are NUL-terminated; nothing here is kept. */
typedef struct SigV4Request
{
	const char *method;			/* "GET", "PUT", "POST", "DELETE", "HEAD" */
	bool		use_http;		/* presigned URL with http:// rather than https:// */
	const char *host;			/* Host header value, port included when not default */
	const char *path;			/* raw path, "/<bucket>/<key>" or "/<key>"; encoded here */
	const SigV4Pair *query;		/* raw query parameters, any order */
	int			nquery;
	const SigV4Pair *headers;	/* more headers to sign (not host, x-amz-*date, x-amz-content-sha256) */
	int			nheaders;
	const char *payload_sha256; /* lower-case hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
	const char *amz_date;		/* YYYYMMDDTHHMMSSZ, UTC */
	const char *region;			/* "auto" for R2, "us-east-1", ... */
	const char *access_key_id;
	const char *secret_access_key;
} SigV4Request;

/* What sigv4_sign gives: the headers to send and, for tests, what was signed. */
typedef struct SigV4Signed
{
	char		authorization[SIGV4_AUTH_MAX];	/* Authorization header value */
	char		amz_date[SIGV4_DATE_LEN + 1];	/* x-amz-date header value */
	char		content_sha256[SIGV4_HASH_HEX_LEN + 1]; /* x-amz-content-sha256 value */
	char		target[SIGV4_TARGET_MAX];	/* request target to send: path[?query] as signed */
	char		signature[SIGV4_HASH_HEX_LEN + 1];
	char		canonical_request[SIGV4_CANONICAL_MAX];
	char		string_to_sign[SIGV4_STS_MAX];
} SigV4Signed;

/*
 * Percent-encodes in[0..len) as SigV4 wants: every byte but A-Za-z0-9-._~
 * (and '/' when keep_slash) becomes %XX with upper-case hex.  Returns the
 * length of the encoding; writes it NUL-terminated only when it is shorter
 * than cap (like snprintf), otherwise writes just out[0] = '\0' (cap > 0).
 */
extern size_t sigv4_uri_encode(const char *in, size_t len, bool keep_slash,
							   char *out, size_t cap);

/*
 * Signs r for an Authorization header.  The request must then be sent with
 * target as its request target, and with the Host, x-amz-date,
 * x-amz-content-sha256 and extra headers exactly as given.  reason
 * (SIGV4_REASON_LEN bytes) says why on false.
 */
extern bool sigv4_sign(const SigV4Request *r, SigV4Signed *out, char *reason);

/*
 * Writes the presigned URL of r valid for expires_seconds (1..604800) into
 * url_out (cap bytes).  Only the host header is signed (r->headers must be
 * empty), the payload is UNSIGNED-PAYLOAD, and r->query must not hold
 * X-Amz-* parameters of its own.
 */
extern bool sigv4_presign(const SigV4Request *r, int expires_seconds,
						  char *url_out, size_t cap, char *reason);

#endif							/* WIB_SIGV4_H */
