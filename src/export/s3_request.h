/*
 * s3_request.h
 *		Where an S3 request goes and what its answer means: the endpoint an
 *		operator configured, the host and path of an object under path-style
 *		or virtual-hosted addressing, and the class of an answer (done, retry,
 *		credentials refused, store full, gone, failed).
 *
 * Backend-free (libc only), caller-provided buffers, never raises; failure
 * is a false return plus a short reason.
 */
#ifndef WIB_S3_REQUEST_H
#define WIB_S3_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#define S3_REQUEST_REASON_LEN	128
#define S3_HOST_MAX				300		/* host[:port] of an endpoint, bucket included */
#define S3_BUCKET_MAX			63

/* An endpoint: scheme and the Host header value (lower-case, default port left out). */
typedef struct S3Endpoint
{
	bool		https;
	char		host[S3_HOST_MAX + 1];
} S3Endpoint;

/* What an answer of the store means for the request that got it. */
typedef enum S3Outcome
{
	S3_OUTCOME_OK,				/* 2xx, no <Error> */
	S3_OUTCOME_RETRY,			/* no answer, 5xx, 408, 429, SlowDown, InternalError, RequestTimeout */
	S3_OUTCOME_CREDENTIALS,		/* 401/403: key unknown, signature refused, access denied, clock skew */
	S3_OUTCOME_FULL,			/* 507, QuotaExceeded, storage full */
	S3_OUTCOME_GONE,			/* 404 NoSuchKey / NoSuchUpload: what a delete or abort wanted */
	S3_OUTCOME_FAILED			/* anything else: a request the store will never accept */
} S3Outcome;

/*
 * Parses "https://host[:port]" (or http), with at most a trailing "/": no
 * user, path, query or fragment.  The host is a DNS name or an IPv4 or
 * bracketed IPv6 address; it is lower-cased, and a port equal to the
 * scheme's default is dropped (so the Host header signed is the one sent).
 */
extern bool s3_endpoint_parse(const char *endpoint, S3Endpoint *out, char *reason);

/* True for an S3 bucket name: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit, no "..". */
extern bool s3_bucket_valid(const char *bucket);

/*
 * The Host header and the raw (unencoded) path of a request for key in
 * bucket: path style "/<bucket>/<key>" at the endpoint's host, or virtual
 * style "/<key>" at "<bucket>.<host>".  key may be "" (a bucket request:
 * "/<bucket>" or "/").  False when a result does not fit.
 */
extern bool s3_address(const S3Endpoint *endpoint, bool virtual_host, const char *bucket,
					   const char *key, char *host, size_t host_cap, char *path, size_t path_cap,
					   char *reason);

/*
 * The class of an answer: status 0 is no answer at all (connection error,
 * timeout); code is the <Code> of an <Error> body, "" when none (a 200 with
 * an <Error> body is judged by its code).
 */
extern S3Outcome s3_classify(long status, const char *code);

/* "ok", "retry", "credentials", "full", "gone", "failed". */
extern const char *s3_outcome_name(S3Outcome outcome);

#endif							/* WIB_S3_REQUEST_H */
