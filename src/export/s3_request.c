/*
 * s3_request.c
 *		Endpoints, addressing and answer classes of S3 requests (s3_request.h).
 *
 * The endpoint is read strictly, because what is parsed here is what gets
 * signed: the Host header of SigV4's canonical request must be exactly the
 * one libcurl sends, which leaves a default port out.
 */
#include "export/s3_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Writes msg into reason (S3_REQUEST_REASON_LEN bytes, may be NULL) and returns false. */
static bool
fail(char *reason, const char *msg)
{
	if (reason != NULL)
		snprintf(reason, S3_REQUEST_REASON_LEN, "%s", msg);
	return false;
}

static bool
is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static char
to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

bool
s3_endpoint_parse(const char *endpoint, S3Endpoint *out, char *reason)
{
	const char *p;
	const char *host_end;
	char		host[S3_HOST_MAX + 1];
	size_t		hlen = 0;
	long		port = 0;
	int			n;

	if (out == NULL)
		return fail(reason, "no output");
	memset(out, 0, sizeof(*out));
	if (endpoint == NULL)
		return fail(reason, "no endpoint");
	if (strncasecmp(endpoint, "https://", 8) == 0)
	{
		out->https = true;
		p = endpoint + 8;
	}
	else if (strncasecmp(endpoint, "http://", 7) == 0)
		p = endpoint + 7;
	else
		return fail(reason, "the endpoint must start with https:// or http://");

	if (*p == '[')
	{
		/* An IPv6 literal: hex digits, colons and dots (an embedded IPv4). */
		host_end = strchr(p, ']');
		if (host_end == NULL || host_end == p + 1)
			return fail(reason, "the IPv6 address is not closed by ]");
		for (const char *q = p + 1; q < host_end; q++)
		{
			char		c = to_lower(*q);

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.'))
				return fail(reason, "the IPv6 address has a character that is not allowed");
		}
		host_end++;
	}
	else
	{
		host_end = p;
		while (*host_end != '\0' && *host_end != ':' && *host_end != '/')
		{
			char		c = to_lower(*host_end);

			if (!is_alnum_lower(c) && c != '.' && c != '-')
				return fail(reason, "the host has a character that is not allowed (user, query or fragment?)");
			host_end++;
		}
		if (host_end == p)
			return fail(reason, "the endpoint has no host");
		if (!is_alnum_lower(to_lower(*p)) || host_end[-1] == '.' || host_end[-1] == '-')
			return fail(reason, "the host must start and end with a letter or digit");
	}
	if ((size_t) (host_end - p) > 253)
		return fail(reason, "the host is too long");
	for (const char *q = p; q < host_end; q++)
		host[hlen++] = to_lower(*q);
	host[hlen] = '\0';

	p = host_end;
	if (*p == ':')
	{
		const char *digits = ++p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p == digits || p - digits > 5)
			return fail(reason, "the port must be 1 to 5 digits");
		port = strtol(digits, NULL, 10);
		if (port < 1 || port > 65535)
			return fail(reason, "the port must be between 1 and 65535");
	}
	if (*p == '/')
		p++;
	if (*p != '\0')
		return fail(reason, "the endpoint must not have a path, query or fragment");

	if (port == (out->https ? 443 : 80))
		port = 0;
	if (port > 0)
		n = snprintf(out->host, sizeof(out->host), "%s:%ld", host, port);
	else
		n = snprintf(out->host, sizeof(out->host), "%s", host);
	if (n < 0 || (size_t) n >= sizeof(out->host))
		return fail(reason, "the host is too long");
	return true;
}

bool
s3_bucket_valid(const char *bucket)
{
	size_t		len;

	if (bucket == NULL)
		return false;
	len = strlen(bucket);
	if (len < 3 || len > S3_BUCKET_MAX)
		return false;
	if (!is_alnum_lower(bucket[0]) || !is_alnum_lower(bucket[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = bucket[i];

		if (!is_alnum_lower(c) && c != '.' && c != '-')
			return false;
		if (c == '.' && bucket[i + 1] == '.')
			return false;
	}
	return true;
}

bool
s3_address(const S3Endpoint *endpoint, bool virtual_host, const char *bucket, const char *key,
		   char *host, size_t host_cap, char *path, size_t path_cap, char *reason)
{
	int			n;

	if (endpoint == NULL || bucket == NULL || key == NULL || host == NULL || path == NULL ||
		host_cap == 0 || path_cap == 0)
		return fail(reason, "missing argument");
	if (!s3_bucket_valid(bucket))
		return fail(reason, "invalid bucket name");
	if (virtual_host)
	{
		n = snprintf(host, host_cap, "%s.%s", bucket, endpoint->host);
		if (n < 0 || (size_t) n >= host_cap)
			return fail(reason, "the host does not fit");
		n = snprintf(path, path_cap, "/%s", key);
	}
	else
	{
		n = snprintf(host, host_cap, "%s", endpoint->host);
		if (n < 0 || (size_t) n >= host_cap)
			return fail(reason, "the host does not fit");
		n = key[0] ? snprintf(path, path_cap, "/%s/%s", bucket, key) : snprintf(path, path_cap, "/%s", bucket);
	}
	if (n < 0 || (size_t) n >= path_cap)
		return fail(reason, "the path does not fit");
	return true;
}

/* True when code is one of the NULL-terminated names. */
static bool
code_in(const char *code, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(code, names[i]) == 0)
			return true;
	return false;
}

S3Outcome
s3_classify(long status, const char *code)
{
	static const char *const retry_codes[] = {
		"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "OperationAborted",
		"ThrottlingException", "TooManyRequests", NULL
	};
	static const char *const credential_codes[] = {
		"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken",
		"InvalidToken", "TokenRefreshRequired", "RequestTimeTooSkewed", "AuthorizationHeaderMalformed",
		"Unauthorized", "InvalidSecurity", NULL
	};
	static const char *const full_codes[] = {
		"QuotaExceeded", "StorageFull", "XMinioStorageFull", "InsufficientStorage", NULL
	};

	if (code == NULL)
		code = "";
	if (status == 0)
		return S3_OUTCOME_RETRY;
	if (code_in(code, full_codes) || status == 507)
		return S3_OUTCOME_FULL;
	if (status >= 200 && status < 300)
	{
		if (code[0] == '\0')
			return S3_OUTCOME_OK;
		return code_in(code, retry_codes) ? S3_OUTCOME_RETRY : S3_OUTCOME_FAILED;
	}
	if (code_in(code, retry_codes))
		return S3_OUTCOME_RETRY;
	if (status == 401 || status == 403 || code_in(code, credential_codes))
		return S3_OUTCOME_CREDENTIALS;
	if (status == 404 && (strcmp(code, "NoSuchKey") == 0 || strcmp(code, "NoSuchUpload") == 0))
		return S3_OUTCOME_GONE;
	if (status == 408 || status == 429 || status >= 500)
		return S3_OUTCOME_RETRY;
	return S3_OUTCOME_FAILED;
}

const char *
s3_outcome_name(S3Outcome outcome)
{
	switch (outcome)
	{
		case S3_OUTCOME_OK:
			return "ok";
		case S3_OUTCOME_RETRY:
			return "retry";
		case S3_OUTCOME_CREDENTIALS:
			return "credentials";
		case S3_OUTCOME_FULL:
			return "full";
		case S3_OUTCOME_GONE:
			return "gone";
		case S3_OUTCOME_FAILED:
			return "failed";
	}
	return "failed";
}
